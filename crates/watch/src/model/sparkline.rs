//! The circle page's timeline: signals per hour over the last days as a server-rendered SVG
//! sparkline (bars), with a text alternative.

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

/// An SVG of the buckets: one bar per hour, hours without any signal marked below the axis so
/// a silent night shows at a glance. `label` is the accessible description.
pub fn svg(counts: &[u32], label: &str) -> String {
    let (w, h, bar) = (counts.len().max(1) * 6, 48usize, 5usize);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut out = format!(
        "<svg class=\"sparkline\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {}\" width=\"{w}\" height=\"{}\">",
        esc(label),
        h + 6,
        h + 6
    );
    out.push_str(&format!(
        "<line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#767676\" stroke-width=\"1\"/>"
    ));
    for (i, &c) in counts.iter().enumerate() {
        let x = i * 6;
        if c == 0 {
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"3\" fill=\"#d55e00\"/>",
                h + 2
            ));
        } else {
            let bh = ((c as f64 / max) * (h as f64 - 2.0)).max(2.0).round() as usize;
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{bh}\" fill=\"#0072b2\"><title>{c}</title></rect>",
                h - bh
            ));
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_bars() {
        let now = 10 * 3_600_000;
        let b = buckets(&[now - 1, now - 2, now - 3_600_001, now + 5, 0], now, 4);
        assert_eq!(b, vec![0, 0, 1, 2]);
        let s = svg(&b, "48時間 <test>");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("aria-label=\"48時間 &lt;test&gt;\""));
        assert_eq!(s.matches("<rect").count(), 4);
        assert_eq!(s.matches("#d55e00").count(), 2, "silent hours are marked");
    }
}
