//! Tallies per area — 答えた / 無事 / 助けが必要 / 未回答 — and the progress curve over time.

use serde::Serialize;
use utoipa::ToSchema;

/// One area's counts of households.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AreaTally {
    pub area_id: String,
    pub code: String,
    pub name: String,
    pub households: i64,
    pub answered: i64,
    pub safe: i64,
    pub help: i64,
    pub silent: i64,
    /// Percent of households that answered, rounded down.
    pub rate: i64,
}

impl AreaTally {
    pub fn new(area_id: String, code: String, name: String, households: i64, safe: i64, help: i64) -> AreaTally {
        let answered = safe + help;
        AreaTally {
            area_id,
            code,
            name,
            households,
            answered,
            safe,
            help,
            silent: (households - answered).max(0),
            rate: if households > 0 { answered * 100 / households } else { 0 },
        }
    }
}

/// The sum over areas.
pub fn total(rows: &[AreaTally]) -> AreaTally {
    let (h, s, p) = rows
        .iter()
        .fold((0, 0, 0), |(h, s, p), r| (h + r.households, s + r.safe, p + r.help));
    AreaTally::new(String::new(), String::new(), String::new(), h, s, p)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Households answered over time (first answers, ms after the start) as an SVG step line.
pub fn progress_svg(first_answers_ms: &[i64], households: i64, title: &str, desc: &str, x_label: &str) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 240.0, 56.0, 36.0, 16.0, 16.0);
    let mut times: Vec<i64> = first_answers_ms.iter().map(|t| (*t).max(0)).collect();
    times.sort_unstable();
    let span = (times.last().copied().unwrap_or(0) as f64 / 60_000.0).max(1.0).ceil();
    let max_y = households.max(times.len() as i64).max(1) as f64;
    let x = |m: f64| left + (w - left - right) * (m / span);
    let y = |n: f64| h - bottom - (h - bottom - top) * (n / max_y);
    let mut pts = vec![format!("{:.1},{:.1}", x(0.0), y(0.0))];
    for (i, t) in times.iter().enumerate() {
        let m = *t as f64 / 60_000.0;
        pts.push(format!("{:.1},{:.1}", x(m), y(i as f64)));
        pts.push(format!("{:.1},{:.1}", x(m), y(i as f64 + 1.0)));
    }
    pts.push(format!("{:.1},{:.1}", x(span), y(times.len() as f64)));
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="progress-title progress-desc" class="chart">"##,
            r##"<title id="progress-title">{title}</title><desc id="progress-desc">{desc}</desc>"##,
            r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#1a1a1a"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#1a1a1a"/>"##,
            r##"<line x1="{l}" y1="{t}" x2="{r}" y2="{t}" stroke="#595959" stroke-dasharray="4 4"/>"##,
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="14">{max}</text>"##,
            r##"<text x="{lx}" y="{by}" text-anchor="end" font-size="14">0</text>"##,
            r##"<text x="{r}" y="{xl}" text-anchor="end" font-size="14">{span} {xlabel}</text>"##,
            r##"<polyline fill="none" stroke="#1d5e3a" stroke-width="3" points="{pts}"/></svg>"##
        ),
        w = w,
        h = h,
        l = left,
        r = w - right,
        t = top,
        b = h - bottom,
        lx = left - 6.0,
        ty = top + 5.0,
        by = h - bottom,
        xl = h - 8.0,
        max = max_y as i64,
        span = span as i64,
        xlabel = esc(x_label),
        title = esc(title),
        desc = esc(desc),
        pts = pts.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let a = AreaTally::new("a".into(), "1".into(), "一丁目".into(), 10, 6, 1);
        assert_eq!((a.answered, a.silent, a.rate), (7, 3, 70));
        let empty = AreaTally::new("b".into(), "2".into(), "二丁目".into(), 0, 0, 0);
        assert_eq!(empty.rate, 0);
        let t = total(&[a, empty]);
        assert_eq!((t.households, t.answered, t.safe, t.help, t.silent), (10, 7, 6, 1, 3));
    }

    #[test]
    fn the_curve_is_accessible_svg() {
        let svg = progress_svg(&[1_000, 90_000, 30_000], 5, "回答の推移", "5世帯中3世帯 <回答>", "分");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"progress-title\">回答の推移</title>"));
        assert!(svg.contains("&lt;回答&gt;"));
        assert!(svg.contains(">2 分<"), "{svg}");
    }
}
