//! Message catalogs, Japanese first and English second. Each module ships `messages/ja.txt`
//! and `messages/en.txt` with lines `key = text`, where `{name}` is replaced by an argument
//! and `\n` is a line break (for the bodies of notices, [`crate::notice`]).
//! Catalogs are installed at start-up through [`crate::module::install`], once per module.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, PoisonError, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language a person chose (a BCP 47 tag such as `en` or `en-GB`); Japanese when they
    /// chose none or one machi does not speak.
    pub fn from_tag(tag: Option<&str>) -> Lang {
        match tag.map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "en" || t.starts_with("en-") => Lang::En,
            _ => Lang::Ja,
        }
    }

    /// Pick from an Accept-Language header: the first of ja/en by quality, Japanese if neither.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(h) = header else { return Lang::Ja };
        let mut best: Option<(f32, Lang)> = None;
        for part in h.split(',') {
            let mut it = part.trim().split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Ja)
    }
}

/// One language's key → text table, parsed from a catalog file.
pub fn parse_catalog(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = text`", n + 1))?;
        if out
            .insert(k.trim().to_string(), v.trim().replace("\\n", "\n"))
            .is_some()
        {
            return Err(format!("line {}: key {} appears twice", n + 1, k.trim()));
        }
    }
    Ok(out)
}

#[derive(Default)]
pub struct Catalog {
    ja: HashMap<String, String>,
    en: HashMap<String, String>,
}

impl Catalog {
    pub fn add(&mut self, ja: &str, en: &str) -> Result<(), String> {
        self.ja.extend(parse_catalog(ja)?);
        self.en.extend(parse_catalog(en)?);
        Ok(())
    }

    /// Keys present in one language and not the other.
    pub fn missing_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .ja
            .keys()
            .filter(|k| !self.en.contains_key(*k))
            .map(|k| format!("en lacks {k}"))
            .chain(
                self.en
                    .keys()
                    .filter(|k| !self.ja.contains_key(*k))
                    .map(|k| format!("ja lacks {k}")),
            )
            .collect();
        out.sort();
        out
    }

    /// Keys that templates use (`t("key")`), plus `dynamic` ones built at run time (a prefix
    /// and a value), that are missing in either language: "template: key (lang)". For tests.
    pub fn keys_missing_for(&self, templates: &[(&str, &str)], dynamic: &[String]) -> Vec<String> {
        let mut missing = Vec::new();
        for (name, src) in templates {
            let used = src
                .split("t(\"")
                .skip(1)
                .map(|piece| piece.split('"').next().unwrap_or_default().to_string());
            // `t("role-" ~ r.role)` leaves a bare prefix: its keys come in through `dynamic`.
            for key in used.filter(|k| !k.ends_with('-')).chain(dynamic.iter().cloned()) {
                for lang in [Lang::Ja, Lang::En] {
                    if self.text(lang, &key, &[]) == key {
                        missing.push(format!("{name}: {key} ({})", lang.code()));
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        missing
    }

    pub fn has(&self, key: &str) -> bool {
        self.ja.contains_key(key)
    }

    /// Whether `lang` itself (not the Japanese fallback) has `key`.
    pub fn has_in(&self, lang: Lang, key: &str) -> bool {
        match lang {
            Lang::Ja => self.ja.contains_key(key),
            Lang::En => self.en.contains_key(key),
        }
    }

    pub fn text(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        let table = match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        };
        let Some(template) = table.get(key).or_else(|| self.ja.get(key)) else {
            return key.to_string();
        };
        let mut s = template.clone();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

/// The process's catalog: every installed module's keys, and which modules they came from.
#[derive(Default)]
struct Installed {
    modules: HashSet<String>,
    catalog: Catalog,
}

static CATALOG: LazyLock<RwLock<Installed>> = LazyLock::new(RwLock::default);

/// Add one module's catalog to the process's, once per module name (another app prepared in
/// the same process, a test's, adds only the modules it brings). Pages only ask for their own
/// modules' keys, so a key of a module another app installed shows nowhere else.
pub fn install_module(name: &str, ja: &str, en: &str) -> Result<(), String> {
    if CATALOG
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .modules
        .contains(name)
    {
        return Ok(());
    }
    let mut one = Catalog::default();
    one.add(ja, en).map_err(|e| format!("{name} catalog: {e}"))?;
    let mut installed = CATALOG.write().unwrap_or_else(PoisonError::into_inner);
    if installed.modules.insert(name.to_string()) {
        installed.catalog.ja.extend(one.ja);
        installed.catalog.en.extend(one.en);
    }
    Ok(())
}

/// Text for `key` in `lang`; the key itself if no catalog knows it (a test forbids that).
pub fn t(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    CATALOG
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .catalog
        .text(lang, key, args)
}

/// Whether the installed catalog knows `key` (for text chosen at run time, with a fallback).
pub fn has(key: &str) -> bool {
    CATALOG.read().unwrap_or_else(PoisonError::into_inner).catalog.has(key)
}

pub const KERNEL_JA: &str = include_str!("../messages/ja.txt");
pub const KERNEL_EN: &str = include_str!("../messages/en.txt");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_quality_and_defaults_to_japanese() {
        assert_eq!(Lang::from_accept_language(None), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5, ja;q=0.8")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Ja);
        assert_eq!(Lang::from_tag(Some("en-GB")), Lang::En);
        assert_eq!(Lang::from_tag(Some("en")), Lang::En);
        assert_eq!(Lang::from_tag(Some("ja")), Lang::Ja);
        assert_eq!(Lang::from_tag(Some("fr")), Lang::Ja);
        assert_eq!(Lang::from_tag(None), Lang::Ja);
    }

    #[test]
    fn a_backslash_n_in_a_catalog_line_is_a_line_break() {
        let c = parse_catalog("a = one\\ntwo\\n").unwrap();
        assert_eq!(c["a"], "one\ntwo\n");
    }

    #[test]
    fn an_argument_fills_its_place() {
        let mut c = Catalog::default();
        c.add(KERNEL_JA, KERNEL_EN).unwrap();
        assert_eq!(
            c.text(Lang::En, "identifier-taken", &[("kind", "ic_card".into())]),
            "An identifier of kind ic_card with this value is already linked to someone"
        );
    }
}
