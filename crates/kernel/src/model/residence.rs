//! Where a resident lives and how to reach them: an address typed as people write it matched
//! to a 町丁目, a household's join code, a phone number's shape, and the town map drawn from the
//! 町丁目 shapes. Pure, so every rule is unit-tested.

use super::geometry::{MultiPolygon, Point};

/// One 町丁目 as the matcher needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaName {
    pub id: String,
    pub name: String,
    pub kana: Option<String>,
}

/// What an address typed by a person matched.
#[derive(Debug, Clone, PartialEq)]
pub enum AddressMatch {
    /// Exactly one 町丁目.
    One(String),
    /// Several 町丁目 fit equally well (「みどり町」 without the 丁目): the person chooses.
    Several(Vec<String>),
    None,
}

const KANJI_DIGITS: [&str; 11] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// Full-width letters and digits to half-width, katakana to hiragana, no spaces, and a 丁目
/// written in Arabic digits (「1丁目」) in kanji, so that what people type meets the names.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            // Katakana → hiragana (ァ..ヶ).
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            'ー' | '−' | '‐' | '―' => '-',
            _ => c,
        };
        if !c.is_whitespace() && c != '\u{3000}' {
            out.push(c);
        }
    }
    // 「1丁目」→「一丁目」 (1–10 are the 丁目 a town has).
    let mut s = out;
    for n in (1..=10).rev() {
        s = s.replace(&format!("{n}丁目"), &format!("{}丁目", KANJI_DIGITS[n]));
    }
    s
}

/// The ways people write one area: its name, its kana, and for 「X町一丁目」 also 「X町1-」
/// (「みどり町1-3-5」 is 一丁目3番5号).
fn spellings(a: &AreaName) -> Vec<String> {
    let mut out = vec![normalize(&a.name)];
    if let Some(k) = &a.kana {
        out.push(normalize(k));
    }
    let name = normalize(&a.name);
    if let Some(base) = name.strip_suffix("丁目") {
        for n in (1..=10).rev() {
            if let Some(town) = base.strip_suffix(KANJI_DIGITS[n]) {
                out.push(format!("{town}{n}-"));
                out.push(format!("{town}{n}丁目"));
                break;
            }
        }
    }
    out
}

/// Match a typed address to the 町丁目 whose name (or kana) it contains; the longest name wins.
/// With no 丁目 in the text, the areas whose name starts with what was typed are offered.
pub fn match_address(text: &str, areas: &[AreaName]) -> AddressMatch {
    let t = normalize(text);
    if t.is_empty() {
        return AddressMatch::None;
    }
    // A trailing number after the town name (「みどり町1」) reads as its 丁目.
    let t_dash = format!("{t}-");
    let mut best: Vec<(usize, &str)> = Vec::new();
    for a in areas {
        let len = spellings(a)
            .iter()
            .filter(|s| !s.is_empty() && (t.contains(s.as_str()) || t_dash.contains(s.as_str())))
            .map(|s| s.chars().count())
            .max();
        if let Some(len) = len {
            match best.first() {
                Some((l, _)) if len < *l => {}
                Some((l, _)) if len == *l => best.push((len, &a.id)),
                _ => best = vec![(len, &a.id)],
            }
        }
    }
    match best.as_slice() {
        [(_, id)] => return AddressMatch::One(id.to_string()),
        [] => {}
        several => return AddressMatch::Several(several.iter().map(|(_, id)| id.to_string()).collect()),
    }
    // 「みどり町」 alone: every 丁目 of it.
    let starting: Vec<String> = areas
        .iter()
        .filter(|a| t.chars().count() >= 2 && spellings(a).iter().any(|s| s.starts_with(&t)))
        .map(|a| a.id.clone())
        .collect();
    match starting.len() {
        0 => AddressMatch::None,
        1 => AddressMatch::One(starting[0].clone()),
        _ => AddressMatch::Several(starting),
    }
}

/// A household's join code from a fresh id: 8 letters and digits people can read aloud,
/// shown as 「ABCD-2345」.
pub fn join_code_from(id: &str) -> String {
    let chars: Vec<char> = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let tail: String = chars[chars.len().saturating_sub(8)..].iter().collect();
    let tail = format!("{tail:0>8}");
    format!("{}-{}", &tail[..4], &tail[4..])
}

/// A join code as typed (lower case, full width, without or with the hyphen) → its stored form.
pub fn normalize_join_code(typed: &str) -> Option<String> {
    let plain: String = normalize(typed)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (plain.len() == 8).then(|| format!("{}-{}", &plain[..4], &plain[4..]))
}

/// A phone number as people write it: digits with hyphens, spaces, brackets or a leading +,
/// 6 to 15 digits. Returns it trimmed and half-width.
pub fn normalize_phone(typed: &str) -> Option<String> {
    let s: String = typed
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            'ー' | '−' | '‐' | '―' => '-',
            _ => c,
        })
        .collect();
    let ok_chars = s
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')') || (c == '+' && i == 0));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (ok_chars && (6..=15).contains(&digits)).then_some(s)
}

/// One 町丁目 drawn on the town map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MapShape {
    pub id: String,
    pub code: String,
    pub name: String,
    /// SVG path data in the map's coordinates.
    pub d: String,
    pub label_x: f64,
    pub label_y: f64,
}

/// The map's size in SVG units (the width; the height follows the town's shape).
pub const MAP_WIDTH: f64 = 600.0;

/// Project the shapes onto an SVG canvas `MAP_WIDTH` wide, north up, longitude shrunk by the
/// cosine of the latitude so the town keeps its proportions. Returns the shapes and the height.
pub fn map_shapes(areas: &[(String, String, String, MultiPolygon)]) -> (Vec<MapShape>, f64) {
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (_, _, _, shape) in areas {
        let b = shape.bbox();
        w = w.min(b.min_lon);
        s = s.min(b.min_lat);
        e = e.max(b.max_lon);
        n = n.max(b.max_lat);
    }
    if areas.is_empty() || e <= w || n <= s {
        return (Vec::new(), 0.0);
    }
    let k = ((s + n) / 2.0).to_radians().cos();
    let scale = MAP_WIDTH / ((e - w) * k);
    let height = ((n - s) * scale).round();
    let xy = |p: &Point| ((p.lon - w) * k * scale, (n - p.lat) * scale);
    let shapes = areas
        .iter()
        .map(|(id, code, name, shape)| {
            let mut d = String::new();
            for ring in shape.0.iter().flat_map(|poly| poly.0.iter()) {
                for (i, p) in ring.iter().enumerate() {
                    let (x, y) = xy(p);
                    d.push_str(&format!("{}{x:.1},{y:.1} ", if i == 0 { 'M' } else { 'L' }));
                }
                d.push('Z');
            }
            let (label_x, label_y) = shape.label_point().map(|p| xy(&p)).unwrap_or((0.0, 0.0));
            MapShape {
                id: id.clone(),
                code: code.clone(),
                name: name.clone(),
                d,
                label_x: (label_x * 10.0).round() / 10.0,
                label_y: (label_y * 10.0).round() / 10.0,
            }
        })
        .collect();
    (shapes, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town() -> Vec<AreaName> {
        let a = |id: &str, name: &str, kana: &str| AreaName {
            id: id.into(),
            name: name.into(),
            kana: Some(kana.into()),
        };
        vec![
            a("m1", "みどり町一丁目", "みどりちょういっちょうめ"),
            a("m2", "みどり町二丁目", "みどりちょうにちょうめ"),
            a("h1", "本町一丁目", "ほんちょういっちょうめ"),
            a("s1", "南町一丁目", "みなみまちいっちょうめ"),
        ]
    }

    #[test]
    fn addresses_as_people_write_them() {
        let t = town();
        for typed in [
            "みどり町一丁目3-5",
            "みどり市みどり町一丁目3番5号",
            "みどり町1丁目3-5",
            "みどり町１丁目３－５",
            "みどり町1-3-5",
            "ミドリチョウイッチョウメ",
            " みどり町 一丁目 ",
        ] {
            assert_eq!(match_address(typed, &t), AddressMatch::One("m1".into()), "{typed}");
        }
        assert_eq!(match_address("みどり町2-1", &t), AddressMatch::One("m2".into()));
        // 本町一丁目 is inside 南町一丁目? No: the longest spelling decides, and each is distinct.
        assert_eq!(match_address("本町一丁目4", &t), AddressMatch::One("h1".into()));
        assert_eq!(match_address("南町一丁目", &t), AddressMatch::One("s1".into()));
    }

    #[test]
    fn a_town_without_its_chome_offers_the_choice() {
        assert_eq!(
            match_address("みどり町", &town()),
            AddressMatch::Several(vec!["m1".into(), "m2".into()])
        );
        assert_eq!(match_address("東京都千代田区", &town()), AddressMatch::None);
        assert_eq!(match_address("", &town()), AddressMatch::None);
    }

    #[test]
    fn join_codes_read_aloud_and_typed_back() {
        let code = join_code_from("01JF3K9X2QABCDEFGH7WXYZ123");
        assert_eq!(code, "7WXY-Z123");
        assert_eq!(normalize_join_code("7wxy z123").as_deref(), Some("7WXY-Z123"));
        assert_eq!(normalize_join_code("７ＷＸＹ－Ｚ１２３").as_deref(), Some("7WXY-Z123"));
        assert_eq!(normalize_join_code("7WXY"), None);
        assert_eq!(join_code_from("t00000012"), "0000-0012");
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(normalize_phone(" 042-555-0101 ").as_deref(), Some("042-555-0101"));
        assert_eq!(
            normalize_phone("０４２－５５５－０１０１").as_deref(),
            Some("042-555-0101")
        );
        assert_eq!(normalize_phone("+81 42 555 0101").as_deref(), Some("+81 42 555 0101"));
        assert_eq!(normalize_phone("call me"), None);
        assert_eq!(normalize_phone("123"), None);
    }

    #[test]
    fn the_map_keeps_north_up_and_fits_the_width() {
        let sq = |w: f64, s: f64| {
            let ring = vec![
                Point { lon: w, lat: s },
                Point { lon: w + 1.0, lat: s },
                Point {
                    lon: w + 1.0,
                    lat: s + 1.0,
                },
                Point { lon: w, lat: s + 1.0 },
                Point { lon: w, lat: s },
            ];
            MultiPolygon(vec![super::super::geometry::Polygon(vec![ring])])
        };
        let (shapes, h) = map_shapes(&[
            ("a".into(), "1".into(), "A".into(), sq(0.0, 0.0)),
            ("b".into(), "2".into(), "B".into(), sq(1.0, 0.0)),
        ]);
        assert_eq!(shapes.len(), 2);
        assert!(shapes[0].d.starts_with("M0.0,300.0 "), "{}", shapes[0].d);
        assert!(shapes[1].label_x > shapes[0].label_x);
        assert!((h - 300.0).abs() < 1.0, "{h}");
    }
}
