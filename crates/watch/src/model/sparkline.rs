//! The circle page's timeline: signals per hour over the last days as a server-rendered SVG
//! (bars), large enough to read, with hours along the bottom, the count up the side, and a
//! text alternative.

use super::LOCAL_OFFSET_MS;

/// Counts per hour bucket, oldest first, for `hours` hours ending at `now`.
pub fn buckets(signal_times: &[i64], now: i64, hours: usize) -> Vec<u32> {
    let mut b = vec![0u32; hours];
    let start = now - hours as i64 * 3_600_000;
    for &t in signal_times {
        if t >= start && t < now {
            let i = ((t - start) / 3_600_000) as usize;
            if let Some(x) = b.get_mut(i) {
                *x += 1;
            }
        }
    }
    b
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What a person reads on the timeline (all from the catalogs).
pub struct Words<'a> {
    /// The accessible name (title).
    pub title: &'a str,
    /// The accessible description: what the bars say, in a sentence.
    pub desc: &'a str,
    /// A tick on the time axis at this instant (ms): 「18時」, or the date at midnight.
    pub tick: &'a dyn Fn(i64) -> String,
}

/// Width of one hour's bar slot, and the margins around the plot (CSS px at 100%).
const SLOT: usize = 13;
const LEFT: usize = 34;
const TOP: usize = 12;
const PLOT_H: usize = 100;
const BOTTOM: usize = 40;

/// An SVG of the buckets (oldest first, the last one ending at `now`): one bar per hour, hours
/// without any signal marked below the axis in another colour so a silent night shows at a
/// glance; every six local hours a tick with its time (the date at midnight).
pub fn svg(counts: &[u32], now: i64, words: &Words) -> String {
    let n = counts.len().max(1);
    let (w, h) = (LEFT + n * SLOT + 8, TOP + PLOT_H + BOTTOM);
    let base = TOP + PLOT_H;
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg class=\"sparkline\" role=\"img\" aria-labelledby=\"spark-title spark-desc\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" style=\"max-width:100%;height:auto\" font-size=\"12\" fill=\"#1a1a1a\">\
         <title id=\"spark-title\">{}</title><desc id=\"spark-desc\">{}</desc>",
        esc(words.title),
        esc(words.desc)
    );
    // The count axis: 0 and the busiest hour's count.
    out.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\" stroke=\"#767676\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text><text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        LEFT - 4,
        TOP + 10,
        LEFT - 4
    ));
    out.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#767676\"/>",
        w - 8
    ));
    let start = now - counts.len() as i64 * 3_600_000;
    for (i, &c) in counts.iter().enumerate() {
        let x = LEFT + i * SLOT + 2;
        let bar = SLOT - 3;
        if c == 0 {
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"4\" fill=\"#d55e00\"/>",
                base + 3
            ));
        } else {
            let bh = ((c as f64 / max as f64) * (PLOT_H as f64 - 4.0)).max(3.0).round() as usize;
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{bh}\" fill=\"#0072b2\"><title>{c}</title></rect>",
                base - bh
            ));
        }
        // A tick where a local hour divisible by six begins inside this bucket.
        let at = start + i as i64 * 3_600_000;
        let local = at + LOCAL_OFFSET_MS;
        let boundary =
            local.div_euclid(3_600_000) * 3_600_000 + if local.rem_euclid(3_600_000) == 0 { 0 } else { 3_600_000 };
        if boundary.div_euclid(3_600_000).rem_euclid(24) % 6 == 0 {
            let tx = LEFT + i * SLOT + ((boundary - local) * SLOT as i64 / 3_600_000) as usize;
            out.push_str(&format!(
                "<line x1=\"{tx}\" y1=\"{base}\" x2=\"{tx}\" y2=\"{}\" stroke=\"#767676\"/>\
                 <text x=\"{tx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                base + 12,
                base + 26,
                esc(&(words.tick)(boundary - LOCAL_OFFSET_MS))
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// Is this instant a local midnight (for the axis: the date instead of the hour)?
pub fn is_midnight(ms: i64) -> bool {
    (ms + LOCAL_OFFSET_MS).rem_euclid(86_400_000) < 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_bars() {
        let now = 10 * 3_600_000;
        let b = buckets(&[now - 1, now - 2, now - 3_600_001, now + 5, 0], now, 4);
        assert_eq!(b, vec![0, 0, 1, 2]);
        let tick = |_: i64| "6時".to_string();
        let s = svg(
            &b,
            now,
            &Words {
                title: "48時間 <test>",
                desc: "説明",
                tick: &tick,
            },
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("<title id=\"spark-title\">48時間 &lt;test&gt;</title>"));
        assert!(s.contains("<desc id=\"spark-desc\">説明</desc>"));
        assert_eq!(s.matches("<rect").count(), 4);
        assert_eq!(s.matches("#d55e00").count(), 2, "silent hours are marked");
    }

    #[test]
    fn forty_eight_hours_are_large_enough_to_read_and_ticked_every_six_hours() {
        // 2026-11-23 09:00 JST.
        let now = 1_795_392_000_000;
        let b = buckets(&[], now, 48);
        let tick = |ms: i64| {
            if is_midnight(ms) {
                "日付".to_string()
            } else {
                "時".to_string()
            }
        };
        let s = svg(
            &b,
            now,
            &Words {
                title: "t",
                desc: "d",
                tick: &tick,
            },
        );
        let width: usize = s
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let height: usize = s
            .split("height=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(width >= 600 && height >= 120, "{width}×{height}");
        // 48 hours from 09:00 two days ago: 12, 18, 0, 6, 12, 18, 0, 6 — two midnights.
        assert_eq!(s.matches("<text").count(), 2 + 8, "{s}");
        assert_eq!(s.matches(">日付<").count(), 2);
    }
}
