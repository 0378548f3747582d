//! The kernel's one error type. Each variant carries a message-catalog key (and arguments)
//! rather than text, so the HTTP layer can answer in the asker's language.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub type Args = Vec<(&'static str, String)>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the input breaks a rule; `key` names the rule in the catalog.
    #[error("invalid input: {key} {args:?}")]
    Invalid { key: Cow<'static, str>, args: Args },
    /// 401: no or bad credentials.
    #[error("unauthorized: {key}")]
    Unauthorized { key: Cow<'static, str> },
    /// 403: the policy said no.
    #[error("forbidden")]
    Forbidden,
    /// 403 with a reason the asker can act on (an uncertified supporter offering childcare, say).
    #[error("refused: {key} {args:?}")]
    Refused { key: Cow<'static, str>, args: Args },
    /// 403 on a form post whose CSRF field does not match the cookie.
    #[error("CSRF token missing or invalid")]
    CsrfRejected,
    /// A page that needs a logged-in person: redirect to the login page, then back to `next`.
    #[error("login required")]
    LoginRequired { next: String, expired: bool },
    /// 429 with Retry-After.
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    /// 404.
    #[error("not found: {key}")]
    NotFound { key: Cow<'static, str> },
    /// 409: the write clashes with what is stored.
    #[error("conflict: {key} {args:?}")]
    Conflict { key: Cow<'static, str>, args: Args },
    /// 413.
    #[error("payload too large")]
    TooLarge,
    /// 503: the database (or another service) cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected database failure. Details go to the log, not the client.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(key: impl Into<Cow<'static, str>>) -> Self {
        Error::Invalid {
            key: key.into(),
            args: Vec::new(),
        }
    }
    pub fn invalid_with(key: impl Into<Cow<'static, str>>, args: Args) -> Self {
        Error::Invalid { key: key.into(), args }
    }
    pub fn not_found(key: impl Into<Cow<'static, str>>) -> Self {
        Error::NotFound { key: key.into() }
    }
    pub fn conflict(key: impl Into<Cow<'static, str>>, args: Args) -> Self {
        Error::Conflict { key: key.into(), args }
    }
    pub fn refused(key: impl Into<Cow<'static, str>>, args: Args) -> Self {
        Error::Refused { key: key.into(), args }
    }
    pub fn unauthorized(key: impl Into<Cow<'static, str>>) -> Self {
        Error::Unauthorized { key: key.into() }
    }

    /// True for a unique-constraint violation (same on SQLite and PostgreSQL through sqlx).
    pub fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}
