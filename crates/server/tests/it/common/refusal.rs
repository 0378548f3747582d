//! Refusals: a refused request is checked by its status AND by what it says — the error code
//! of the JSON body (`{"error":{"code":…,"message":…}}`, written by the kernel's error envelope),
//! or, for a page, the catalog sentence of that code on the page — and a refused write by the
//! data it did not change ([`assert_unchanged!`]).

use reqwest::StatusCode;
use serde_json::Value;

use super::browser::{Page, unescape};

/// An answer a refusal can be read from.
pub trait Answer {
    fn status(&self) -> StatusCode;
    /// The body: JSON text, or a page.
    fn body_text(&self) -> String;
}

impl Answer for (StatusCode, Value) {
    fn status(&self) -> StatusCode {
        self.0
    }
    fn body_text(&self) -> String {
        self.1.to_string()
    }
}

impl Answer for (StatusCode, String) {
    fn status(&self) -> StatusCode {
        self.0
    }
    fn body_text(&self) -> String {
        self.1.clone()
    }
}

impl Answer for Page {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn body_text(&self) -> String {
        self.body.clone()
    }
}

impl Answer for (StatusCode, &Value) {
    fn status(&self) -> StatusCode {
        self.0
    }
    fn body_text(&self) -> String {
        self.1.to_string()
    }
}

impl Answer for (StatusCode, &String) {
    fn status(&self) -> StatusCode {
        self.0
    }
    fn body_text(&self) -> String {
        self.1.clone()
    }
}

impl Answer for (StatusCode, &str) {
    fn status(&self) -> StatusCode {
        self.0
    }
    fn body_text(&self) -> String {
        self.1.to_string()
    }
}

impl<A: Answer> Answer for &A {
    fn status(&self) -> StatusCode {
        (*self).status()
    }
    fn body_text(&self) -> String {
        (*self).body_text()
    }
}

/// The error code of a JSON error body ("" when there is none).
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

/// The longest literal part of a catalog sentence (the text between its `{placeholders}`).
fn literal(sentence: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = sentence;
    while let Some(open) = rest.find('{') {
        parts.push(&rest[..open]);
        rest = rest[open..].find('}').map_or("", |close| &rest[open + close + 1..]);
    }
    parts.push(rest);
    parts
        .into_iter()
        .map(str::trim)
        .max_by_key(|p| p.chars().count())
        .unwrap_or_default()
        .to_string()
}

/// Whether the page says the sentence of `code` (in Japanese or English). A sentence with too
/// little fixed text to look for (all placeholders) cannot be checked on a page: the test fails.
fn page_says(html: &str, code: &str) -> bool {
    let text = unescape(html);
    [kernel::i18n::Lang::Ja, kernel::i18n::Lang::En]
        .into_iter()
        .any(|lang| {
            let fixed = literal(&kernel::i18n::t(lang, code, &[]));
            assert!(
                fixed.chars().count() >= 3,
                "the sentence of {code} has too little fixed text to find on a page"
            );
            text.contains(&fixed)
        })
}

/// The request was refused with `status` and the error `code`: the `code` of a JSON error body,
/// or — for a page — the catalog sentence of `code` shown on it.
#[track_caller]
pub fn assert_refused(answer: &impl Answer, status: StatusCode, code: &str) {
    let body = answer.body_text();
    assert_eq!(answer.status(), status, "refused with {status} and {code}? {body}");
    assert!(
        kernel::i18n::has(code),
        "no catalog has the code {code} (a typo in the test?)"
    );
    let given = match serde_json::from_str::<Value>(&body) {
        Ok(v) => Some(self::code(&v).to_string()),
        Err(_) => None,
    };
    let ok = match &given {
        Some(c) => c == code,
        None => page_says(&body, code),
    };
    if ok {
        return;
    }
    match given {
        Some(c) => panic!("refused with the code {c}, not {code}: {body}"),
        None => panic!(
            "the page does not say {code} ({}): {body}",
            kernel::i18n::t(kernel::i18n::Lang::Ja, code, &[])
        ),
    }
}

/// Evaluate `$snapshot`, then `$act`, then `$snapshot` again, and check the two snapshots are
/// equal: a refused write changed nothing. Gives what `$act` gave.
///
/// ```ignore
/// let res = assert_unchanged!(tanaka.get("/aid/requests/1").await, sato.post("/aid/requests/1/accept", json!({})).await);
/// assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
/// ```
macro_rules! assert_unchanged {
    ($snapshot:expr, $act:expr $(,)?) => {{
        let before = $snapshot;
        let answer = $act;
        let after = $snapshot;
        assert_eq!(
            before,
            after,
            "a refused request changed what {} shows",
            stringify!($snapshot)
        );
        answer
    }};
}
