//! The drill report (受信訓練の結果): who acknowledged, how fast, per area and channel, and the
//! acknowledgement curve as a server-rendered SVG chart.

use serde::Serialize;

/// One acknowledgement: when (ms after the alert was issued), on which channel, in which area.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub after_ms: i64,
    pub channel: String,
    pub area_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaRow {
    pub area_id: String,
    pub code: String,
    pub name: String,
    pub targeted: i64,
    pub acknowledged: i64,
    /// Percent of targeted people who acknowledged, rounded down.
    pub rate: i64,
    pub median_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelRow {
    pub channel: String,
    pub acknowledged: i64,
    pub median_seconds: Option<i64>,
}

/// One channel in one area: how many it was queued for (known for e-mail and devices; screens
/// reach whoever is looking), delivered (sent, or shown on a logged-in screen), acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaChannelRow {
    pub area_id: String,
    pub name: String,
    pub channel: String,
    pub queued: Option<i64>,
    pub delivered: i64,
    pub acknowledged: i64,
    pub median_seconds: Option<i64>,
}

/// Rows per area and channel, areas in the given order, channels by name. `deliveries` are
/// (area id, channel, queued, delivered); screens have queued == delivered.
pub fn area_channel_rows(
    areas: &[(String, String, String, i64)],
    acks: &[Ack],
    deliveries: &[(String, String, i64, i64)],
) -> Vec<AreaChannelRow> {
    let screens = ["terminal", "web"];
    let mut out = Vec::new();
    for (id, _, name, _) in areas {
        let mut channels: Vec<&str> = deliveries
            .iter()
            .filter(|d| &d.0 == id)
            .map(|d| d.1.as_str())
            .chain(
                acks.iter()
                    .filter(|a| a.area_id.as_deref() == Some(id))
                    .map(|a| a.channel.as_str()),
            )
            .collect();
        channels.sort_unstable();
        channels.dedup();
        for c in channels {
            let (queued, delivered) = deliveries
                .iter()
                .filter(|d| &d.0 == id && d.1 == c)
                .fold((0, 0), |(q, s), d| (q + d.2, s + d.3));
            let times: Vec<i64> = acks
                .iter()
                .filter(|a| a.area_id.as_deref() == Some(id) && a.channel == c)
                .map(|a| a.after_ms)
                .collect();
            out.push(AreaChannelRow {
                area_id: id.clone(),
                name: name.clone(),
                channel: c.to_string(),
                queued: (!screens.contains(&c)).then_some(queued),
                delivered,
                acknowledged: times.len() as i64,
                median_seconds: median_seconds(times),
            });
        }
    }
    out
}

/// Median of a list of durations in ms, as whole seconds.
pub fn median_seconds(mut ms: Vec<i64>) -> Option<i64> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_unstable();
    let n = ms.len();
    let m = if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2
    };
    Some(m / 1000)
}

pub fn area_rows(areas: &[(String, String, String, i64)], acks: &[Ack]) -> Vec<AreaRow> {
    areas
        .iter()
        .map(|(id, code, name, targeted)| {
            let times: Vec<i64> = acks
                .iter()
                .filter(|a| a.area_id.as_deref() == Some(id))
                .map(|a| a.after_ms)
                .collect();
            let acknowledged = times.len() as i64;
            AreaRow {
                area_id: id.clone(),
                code: code.clone(),
                name: name.clone(),
                targeted: *targeted,
                acknowledged,
                rate: if *targeted > 0 {
                    acknowledged * 100 / targeted
                } else {
                    0
                },
                median_seconds: median_seconds(times),
            }
        })
        .collect()
}

pub fn channel_rows(acks: &[Ack]) -> Vec<ChannelRow> {
    let mut channels: Vec<&str> = acks.iter().map(|a| a.channel.as_str()).collect();
    channels.sort_unstable();
    channels.dedup();
    channels
        .into_iter()
        .map(|c| {
            let times: Vec<i64> = acks.iter().filter(|a| a.channel == c).map(|a| a.after_ms).collect();
            ChannelRow {
                channel: c.to_string(),
                acknowledged: times.len() as i64,
                median_seconds: median_seconds(times),
            }
        })
        .collect()
}

/// Cumulative acknowledgements over time as an SVG line chart. `title` and `desc` make it
/// readable to screen readers; axis labels are given by the caller in the viewer's language.
pub fn curve_svg(acks: &[Ack], targeted: i64, title: &str, desc: &str, x_label: &str, y_label: &str) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 280.0, 56.0, 40.0, 16.0, 16.0);
    let mut times: Vec<i64> = acks.iter().map(|a| a.after_ms.max(0)).collect();
    times.sort_unstable();
    let span_min = (times.last().copied().unwrap_or(0) as f64 / 60_000.0).max(1.0).ceil();
    let max_y = targeted.max(times.len() as i64).max(1) as f64;
    let x = |min: f64| left + (w - left - right) * (min / span_min);
    let y = |n: f64| h - bottom - (h - bottom - top) * (n / max_y);
    let mut points = vec![format!("{:.1},{:.1}", x(0.0), y(0.0))];
    for (i, t) in times.iter().enumerate() {
        let m = *t as f64 / 60_000.0;
        points.push(format!("{:.1},{:.1}", x(m), y(i as f64)));
        points.push(format!("{:.1},{:.1}", x(m), y(i as f64 + 1.0)));
    }
    points.push(format!("{:.1},{:.1}", x(span_min), y(times.len() as f64)));
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="curve-title curve-desc" class="chart">"##,
            r##"<title id="curve-title">{title}</title><desc id="curve-desc">{desc}</desc>"##,
            r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#1a1a1a"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#1a1a1a"/>"##,
            r##"<line x1="{l}" y1="{ty}" x2="{r}" y2="{ty}" stroke="#595959" stroke-dasharray="4 4"/>"##,
            r##"<polyline fill="none" stroke="#1d5f3a" stroke-width="3" points="{pts}"/>"##,
            r##"<text x="{l}" y="{xl}" font-size="14" fill="#1a1a1a">0</text><text x="{r}" y="{xl}" font-size="14" fill="#1a1a1a" text-anchor="end">{span} {xlabel}</text>"##,
            r##"<text x="{lm}" y="{ty}" font-size="14" fill="#1a1a1a" text-anchor="end" dominant-baseline="middle">{max}</text>"##,
            r##"<text x="{lp}" y="{yl}" font-size="14" fill="#1a1a1a">{ylabel}</text></svg>"##
        ),
        w = w,
        h = h,
        title = esc(title),
        desc = esc(desc),
        l = left,
        r = w - right,
        t = top,
        b = h - bottom,
        ty = y(max_y),
        pts = points.join(" "),
        xl = h - bottom + 24.0,
        span = span_min,
        xlabel = esc(x_label),
        max = max_y,
        yl = top + 20.0,
        lm = left - 8.0,
        lp = left + 8.0,
        ylabel = esc(y_label),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_per_area_and_channel_count_deliveries_and_acks() {
        let areas = vec![
            ("a1".to_string(), "1".to_string(), "一丁目".to_string(), 10),
            ("a2".to_string(), "2".to_string(), "二丁目".to_string(), 5),
        ];
        let ack = |ms: i64, c: &str, a: &str| super::Ack {
            after_ms: ms,
            channel: c.into(),
            area_id: Some(a.into()),
        };
        let acks = vec![
            ack(2000, "terminal", "a1"),
            ack(4000, "terminal", "a1"),
            ack(9000, "mqtt", "a2"),
        ];
        let deliveries = vec![
            ("a1".to_string(), "email".to_string(), 4, 3),
            ("a1".to_string(), "terminal".to_string(), 6, 6),
            ("a2".to_string(), "mqtt".to_string(), 2, 1),
        ];
        let rows = super::area_channel_rows(&areas, &acks, &deliveries);
        let view: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.area_id.as_str(),
                    r.channel.as_str(),
                    r.queued,
                    r.delivered,
                    r.acknowledged,
                    r.median_seconds,
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("a1", "email", Some(4), 3, 0, None),
                ("a1", "terminal", None, 6, 2, Some(3)),
                ("a2", "mqtt", Some(2), 1, 1, Some(9)),
            ]
        );
    }

    use super::*;
    use proptest::prelude::*;

    fn ack(after_s: i64, channel: &str, area: &str) -> Ack {
        Ack {
            after_ms: after_s * 1000,
            channel: channel.into(),
            area_id: Some(area.into()),
        }
    }

    #[test]
    fn medians_and_rows() {
        assert_eq!(median_seconds(vec![]), None);
        assert_eq!(median_seconds(vec![3000, 1000, 2000]), Some(2));
        assert_eq!(median_seconds(vec![1000, 2000, 3000, 5000]), Some(2));
        let acks = vec![ack(30, "terminal", "A"), ack(90, "web", "A"), ack(60, "terminal", "B")];
        let rows = area_rows(
            &[
                ("A".into(), "1".into(), "一丁目".into(), 4),
                ("C".into(), "3".into(), "三丁目".into(), 0),
            ],
            &acks,
        );
        assert_eq!(
            (rows[0].acknowledged, rows[0].rate, rows[0].median_seconds),
            (2, 50, Some(60))
        );
        assert_eq!(
            (rows[1].acknowledged, rows[1].rate, rows[1].median_seconds),
            (0, 0, None)
        );
        let ch = channel_rows(&acks);
        assert_eq!(
            ch.iter()
                .map(|c| (c.channel.as_str(), c.acknowledged))
                .collect::<Vec<_>>(),
            vec![("terminal", 2), ("web", 1)]
        );
    }

    #[test]
    fn the_chart_is_labelled_svg() {
        let svg = curve_svg(
            &[ack(30, "terminal", "A")],
            10,
            "応答の推移 <訓練>",
            "10人中1人",
            "分",
            "人",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"curve-title\">応答の推移 &lt;訓練&gt;</title>"));
        assert!(svg.contains("role=\"img\""));
    }

    proptest! {
        #[test]
        fn rates_stay_within_0_and_100(targeted in 0i64..500, n in 0usize..50) {
            let acks: Vec<Ack> = (0..n.min(targeted as usize)).map(|i| ack(i as i64, "terminal", "A")).collect();
            let rows = area_rows(&[("A".into(), "1".into(), "x".into(), targeted)], &acks);
            prop_assert!((0..=100).contains(&rows[0].rate));
            let svg = curve_svg(&acks, targeted, "t", "d", "m", "n");
            prop_assert!(svg.contains("<polyline"));
        }
    }
}
