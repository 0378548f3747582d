//! Forms on pages: a refusal the person can act on (bad input, a clash, a reason to refuse) is
//! shown next to what they typed, in their language, with the error's status; anything else
//! goes up to the error page. Modules' pages use this instead of each keeping a copy.

use axum::http::StatusCode;

use super::Viewer;
use crate::Error;

/// A refusal shown on the form it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refusal {
    /// The sentence, in the viewer's language.
    pub message: String,
    /// The form field it is about (`""` for the whole form).
    pub field: String,
    /// The status the page is answered with (400, 409, …).
    #[serde(skip)]
    pub status: StatusCode,
}

/// The refusal for the form, or `None` when the error is not one the person can act on (it
/// then goes up to the error page).
pub fn refusal(v: &Viewer, e: &Error) -> Option<Refusal> {
    Some(Refusal {
        message: v.refusal_text(e)?,
        field: field_of(e),
        status: e.status(),
    })
}

/// The form field an error names (`field` among its arguments), or `""`.
pub fn field_of(e: &Error) -> String {
    match e {
        Error::Invalid { args, .. } | Error::Conflict { args, .. } | Error::Refused { args, .. } => args
            .iter()
            .find(|(k, _)| *k == "field")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
