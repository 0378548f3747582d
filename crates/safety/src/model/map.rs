//! The area map: each area's polygon, coloured by how many of its households answered,
//! rendered on the server as SVG (no map tiles, works offline and in every browser).

use kernel::model::geometry::MultiPolygon;

/// An area to draw: its shape, its name and its response rate (percent), None = not in the round.
pub struct MapArea<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub shape: &'a MultiPolygon,
    pub rate: Option<i64>,
    pub help: i64,
}

/// The colour steps as answer-rate ranges (percent, both ends included), lowest first.
pub const STEPS: [(i64, i64); 5] = [(0, 24), (25, 49), (50, 74), (75, 99), (100, 100)];

/// A colour-blind-safe sequential scale from light (few answered) to dark green (all answered);
/// text stays readable on each (dark text on light steps, white on dark).
pub fn colour(rate: Option<i64>) -> (&'static str, &'static str) {
    match rate {
        None => ("#f2f2f2", "#1a1a1a"),
        Some(r) if r < 25 => ("#fde0c5", "#1a1a1a"),
        Some(r) if r < 50 => ("#f6c37a", "#1a1a1a"),
        Some(r) if r < 75 => ("#a8d5a2", "#1a1a1a"),
        Some(r) if r < 100 => ("#4f9d69", "#ffffff"),
        Some(_) => ("#1d5e3a", "#ffffff"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The map as an SVG document. Longitude is scaled by cos(latitude) so shapes keep their form.
pub fn svg(areas: &[MapArea], title: &str, desc: &str, help_label: &str) -> String {
    let points = areas
        .iter()
        .flat_map(|a| a.shape.0.iter())
        .flat_map(|p| p.0.iter())
        .flat_map(|ring| ring.iter());
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let (lat_sum, n) = points.clone().fold((0.0, 0.0), |(s, n), p| (s + p.lat, n + 1.0));
    let k = if n > 0.0 { (lat_sum / n).to_radians().cos() } else { 1.0 };
    for p in points {
        let x = p.lon * k;
        min_x = min_x.min(x);
        max_x = max_x.max(x);
        min_y = min_y.min(p.lat);
        max_y = max_y.max(p.lat);
    }
    let (w, pad) = (640.0, 8.0);
    let span_x = (max_x - min_x).max(1e-9);
    let span_y = (max_y - min_y).max(1e-9);
    let scale = (w - 2.0 * pad) / span_x;
    let h = (span_y * scale + 2.0 * pad).clamp(120.0, 900.0);
    let scale = scale.min((h - 2.0 * pad) / span_y);
    let px = |lon: f64| pad + (lon * k - min_x) * scale;
    let py = |lat: f64| pad + (max_y - lat) * scale;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h:.0}" role="img" aria-labelledby="map-title map-desc" class="chart map"><title id="map-title">{}</title><desc id="map-desc">{}</desc>"##,
        esc(title),
        esc(desc)
    );
    for a in areas {
        let (fill, ink) = colour(a.rate);
        let mut d = String::new();
        for poly in &a.shape.0 {
            for ring in &poly.0 {
                for (i, p) in ring.iter().enumerate() {
                    d.push_str(&format!(
                        "{}{:.1},{:.1}",
                        if i == 0 { "M" } else { "L" },
                        px(p.lon),
                        py(p.lat)
                    ));
                }
                d.push('Z');
            }
        }
        let label = match a.rate {
            Some(r) if a.help > 0 => format!("{} {r}% ({help_label} {})", a.name, a.help),
            Some(r) => format!("{} {r}%", a.name),
            None => a.name.to_string(),
        };
        out.push_str(&format!(
            r##"<g data-area="{code}"><title>{label}</title><path d="{d}" fill="{fill}" stroke="#1a1a1a" stroke-width="1.5" fill-rule="evenodd"/>"##,
            code = esc(a.code),
            label = esc(&label),
        ));
        // The area's name and figure written on it, so the map reads without hovering.
        if let Some(c) = a.shape.label_point() {
            let (x, y) = (px(c.lon), py(c.lat));
            out.push_str(&format!(
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{ink}"><tspan x="{x:.1}">{}</tspan>"##,
                y - 4.0,
                esc(a.name)
            ));
            if let Some(r) = a.rate {
                out.push_str(&format!(
                    r##"<tspan x="{x:.1}" dy="17" font-size="15" font-weight="bold" class="rate">{r}%</tspan>"##
                ));
            }
            out.push_str("</text>");
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::model::geometry::parse_geometry;
    use serde_json::json;

    #[test]
    fn an_area_is_drawn_in_its_own_shape_with_its_holes() {
        // An L-shaped 町丁目 with a courtyard (a hole) and a detached island: every vertex is drawn.
        let shape = parse_geometry(&json!({"type": "MultiPolygon", "coordinates": [
            [[[139.0, 35.0], [139.02, 35.0], [139.02, 35.01], [139.01, 35.01], [139.01, 35.02], [139.0, 35.02], [139.0, 35.0]],
             [[139.002, 35.002], [139.004, 35.002], [139.004, 35.004], [139.002, 35.004], [139.002, 35.002]]],
            [[[139.03, 35.0], [139.035, 35.0], [139.032, 35.005], [139.03, 35.0]]]
        ]}))
        .unwrap();
        let out = svg(
            &[MapArea {
                code: "L",
                name: "かぎ町",
                shape: &shape,
                rate: Some(60),
                help: 0,
            }],
            "t",
            "d",
            "h",
        );
        let d = out.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 3, "outer ring, hole and island: {d}");
        assert_eq!(d.matches('L').count(), 6 + 4 + 3, "{d}");
        assert!(out.contains("fill-rule=\"evenodd\""), "the hole stays a hole");
        assert!(out.contains(">かぎ町</tspan>"));
    }

    #[test]
    fn the_legend_steps_match_the_colours() {
        for (from, to) in STEPS {
            assert_eq!(colour(Some(from)), colour(Some(to)), "{from}-{to} is one colour");
        }
        for w in STEPS.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0, "no gap between steps");
            assert_ne!(colour(Some(w[0].1)), colour(Some(w[1].0)));
        }
    }

    #[test]
    fn every_area_is_drawn_with_its_colour_and_label() {
        let sq = |x: f64| {
            parse_geometry(
                &json!({"type":"Polygon","coordinates":[[[x,35.0],[x+0.01,35.0],[x+0.01,35.01],[x,35.01],[x,35.0]]]}),
            )
            .unwrap()
        };
        let (a, b) = (sq(139.0), sq(139.01));
        let svg = svg(
            &[
                MapArea {
                    code: "1",
                    name: "一丁目",
                    shape: &a,
                    rate: Some(100),
                    help: 0,
                },
                MapArea {
                    code: "2",
                    name: "二丁目<",
                    shape: &b,
                    rate: Some(10),
                    help: 2,
                },
            ],
            "回答率の地図",
            "地域ごとの回答率",
            "助けが必要",
        );
        assert!(svg.contains("data-area=\"1\"") && svg.contains("#1d5e3a"));
        assert!(svg.contains("二丁目&lt; 10% (助けが必要 2)"), "{svg}");
        assert!(
            svg.contains(">一丁目</tspan>") && svg.contains("class=\"rate\">100%</tspan>"),
            "names and figures are written on the map"
        );
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(!svg.contains("NaN"));
    }
}
