//! Notices to people (e-mails, screen and terminal notices) written from the message catalogs
//! in the **recipient's** language. A module says what to tell as a [`Notice`]: a catalog key
//! and its arguments. The catalog holds `<key>-subject` and `<key>-body` in every language
//! (`\n` in a catalog line is a line break); the notice is rendered for each person when it is
//! queued, in the language they chose ([`crate::i18n::Lang::from_tag`]; Japanese when they chose
//! none), so the outbox holds the words each person reads.
//!
//! ```
//! use kernel::notice::Notice;
//! let n = Notice::new("aid-notice-offered").text("supporter", "田中").text("link", "https://…");
//! assert_eq!(n.keys(), vec!["aid-notice-offered-subject".to_string(), "aid-notice-offered-body".into()]);
//! ```

use crate::i18n::{Catalog, Lang};

/// One argument of a notice: text as it is (a name, a link), or a catalog key whose text in the
/// recipient's language is put in (a kind of help, the reason for a call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Phrase(String),
}

/// What to tell people: a catalog key (`<key>-subject`, `<key>-body`) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub key: String,
    pub args: Vec<(&'static str, Arg)>,
}

impl Notice {
    pub fn new(key: impl Into<String>) -> Notice {
        Notice {
            key: key.into(),
            args: Vec::new(),
        }
    }

    /// `{name}` is replaced by `value` as it is.
    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Notice {
        self.args.push((name, Arg::Text(value.into())));
        self
    }

    /// `{name}` is replaced by the catalog's text for `key`, in the recipient's language.
    pub fn phrase(mut self, name: &'static str, key: impl Into<String>) -> Notice {
        self.args.push((name, Arg::Phrase(key.into())));
        self
    }

    /// The catalog keys this notice needs (subject, body and phrases), for tests.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![format!("{}-subject", self.key), format!("{}-body", self.key)];
        keys.extend(self.args.iter().filter_map(|(_, a)| match a {
            Arg::Phrase(k) => Some(k.clone()),
            Arg::Text(_) => None,
        }));
        keys
    }

    /// Subject and body in `lang`, from the installed catalog.
    pub fn render(&self, lang: Lang) -> (String, String) {
        self.render_with(|key: &str, args: &[(&str, String)]| crate::i18n::t(lang, key, args))
    }

    /// Subject and body in `lang` from a given catalog (unit tests, which install none).
    pub fn render_in(&self, catalog: &Catalog, lang: Lang) -> (String, String) {
        self.render_with(|key: &str, args: &[(&str, String)]| catalog.text(lang, key, args))
    }

    fn render_with<F>(&self, text: F) -> (String, String)
    where
        F: Fn(&str, &[(&str, String)]) -> String,
    {
        let args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(name, a)| {
                let value = match a {
                    Arg::Text(s) => s.clone(),
                    Arg::Phrase(k) => text(k, &[]),
                };
                (*name, value)
            })
            .collect();
        (
            text(&format!("{}-subject", self.key), &args),
            text(&format!("{}-body", self.key), &args),
        )
    }
}

/// For a module's tests: every notice in `notices` renders in Japanese and English from
/// `catalog` with every key known and every `{placeholder}` filled. Returns what is wrong.
pub fn check(catalog: &Catalog, notices: &[Notice]) -> Vec<String> {
    let mut wrong = Vec::new();
    for n in notices {
        for key in n.keys() {
            for lang in [Lang::Ja, Lang::En] {
                if catalog.text(lang, &key, &[]) == key || !catalog.has_in(lang, &key) {
                    wrong.push(format!("{key} ({}) is not in the catalog", lang.code()));
                }
            }
        }
        for lang in [Lang::Ja, Lang::En] {
            let (subject, body) = n.render_in(catalog, lang);
            for (part, s) in [("subject", &subject), ("body", &body)] {
                if let Some(i) = s.find('{') {
                    let rest = &s[i..];
                    if rest.contains('}') {
                        wrong.push(format!("{} {part} ({}) leaves {rest}", n.key, lang.code()));
                    }
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add(
            "n-subject = 【共助】{who}さん: {what}\nn-body = {who}さんが{what}。\\n\\n{link}\\n\nwhat-x = 買い物",
            "n-subject = [Aid] {who}: {what}\nn-body = {who} says {what}.\\n\\n{link}\\n\nwhat-x = Shopping",
        )
        .unwrap();
        c
    }

    #[test]
    fn renders_in_the_recipients_language_with_phrases_and_line_breaks() {
        let n = Notice::new("n")
            .text("who", "田中")
            .phrase("what", "what-x")
            .text("link", "https://m/x");
        let c = catalog();
        assert_eq!(
            n.render_in(&c, Lang::Ja),
            (
                "【共助】田中さん: 買い物".into(),
                "田中さんが買い物。\n\nhttps://m/x\n".into()
            )
        );
        assert_eq!(
            n.render_in(&c, Lang::En),
            (
                "[Aid] 田中: Shopping".into(),
                "田中 says Shopping.\n\nhttps://m/x\n".into()
            )
        );
        assert_eq!(check(&c, std::slice::from_ref(&n)), Vec::<String>::new());
        let unknown = Notice::new("nope").text("who", "x");
        assert!(!check(&c, &[unknown]).is_empty());
        let unfilled = Notice::new("n").text("who", "x");
        assert!(check(&c, &[unfilled]).iter().any(|w| w.contains("leaves {what}")));
    }
}
