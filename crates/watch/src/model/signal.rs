//! Signals: what a device or the terminal says, and whether its time can be believed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Device kinds a circle may register.
pub const DEVICE_KINDS: &[&str] = &["bulb", "door", "kettle", "motion", "terminal"];

/// A signal as a device sends it (HTTP body, or MQTT payload as JSON).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalInput {
    /// What the device saw: `on`, `off`, `open`, `close`, `motion`, `press`… (1–32 characters).
    #[serde(default)]
    pub value: Option<String>,
    /// When, in milliseconds since the epoch; now when absent.
    #[serde(default)]
    pub at: Option<i64>,
    /// Over MQTT only: the device's token (over HTTP it is the `Authorization` header).
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SignalError {
    /// Stamped further ahead than the tolerance.
    Future,
    /// Older than the device may replay.
    TooOld,
    BadValue,
}

impl SignalError {
    pub fn key(&self) -> &'static str {
        match self {
            SignalError::Future => "watch-signal-future",
            SignalError::TooOld => "watch-signal-too-old",
            SignalError::BadValue => "watch-signal-value-invalid",
        }
    }
    pub fn field(&self) -> &'static str {
        match self {
            SignalError::BadValue => "value",
            _ => "at",
        }
    }
}

/// Check a signal's value and time against the server's clock.
pub fn check(
    input: &SignalInput,
    now: i64,
    future_tolerance_ms: i64,
    max_age_ms: i64,
) -> Result<(String, i64), SignalError> {
    let value = input.value.as_deref().map(str::trim).unwrap_or("signal");
    let value_ok = !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !value_ok {
        return Err(SignalError::BadValue);
    }
    let at = input.at.unwrap_or(now);
    if at > now + future_tolerance_ms {
        return Err(SignalError::Future);
    }
    if at < now - max_age_ms {
        return Err(SignalError::TooOld);
    }
    Ok((value.to_ascii_lowercase(), at))
}

/// An MQTT payload: JSON with the device's token, `{"token":"mdev_…","value":"on"}`, or
/// `<token> <value>`. None without a token: anyone can publish on a topic.
pub fn parse_payload(payload: &str) -> Option<SignalInput> {
    let p = payload.trim();
    let input: SignalInput = if p.starts_with('{') {
        serde_json::from_str(p).ok()?
    } else {
        let (token, value) = p.split_once(' ').unwrap_or((p, ""));
        let value = value.trim();
        SignalInput {
            value: (!value.is_empty()).then(|| value.to_string()),
            at: None,
            token: Some(token.to_string()),
        }
    };
    input
        .token
        .as_deref()
        .is_some_and(|t| t.starts_with("mdev_"))
        .then_some(input)
}

/// Does this value turn a device on (a bulb, a kettle) or off? None: neither (a door, motion).
pub fn switches(value: &str) -> Option<bool> {
    match value {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn times_and_values() {
        let now = 1_000_000_000;
        let i = |v: Option<&str>, at: Option<i64>| SignalInput {
            value: v.map(Into::into),
            at,
            token: None,
        };
        assert_eq!(
            check(&i(Some("ON"), None), now, 300_000, 86_400_000),
            Ok(("on".into(), now))
        );
        assert_eq!(
            check(&i(None, Some(now - 5)), now, 300_000, 86_400_000),
            Ok(("signal".into(), now - 5))
        );
        assert_eq!(
            check(&i(Some("on"), Some(now + 300_001)), now, 300_000, 86_400_000),
            Err(SignalError::Future)
        );
        assert_eq!(
            check(&i(Some("on"), Some(now - 86_400_001)), now, 300_000, 86_400_000),
            Err(SignalError::TooOld)
        );
        assert_eq!(
            check(&i(Some("<script>"), None), now, 300_000, 86_400_000),
            Err(SignalError::BadValue)
        );
        assert!(parse_payload("on").is_none(), "no token, no signal");
        let p = parse_payload("mdev_abc on").unwrap();
        assert_eq!((p.value.as_deref(), p.token.as_deref()), (Some("on"), Some("mdev_abc")));
        assert_eq!(
            parse_payload(r#"{"token":"mdev_x","value":"off","at":5}"#).unwrap().at,
            Some(5)
        );
        assert!(parse_payload(r#"{"value":"off","at":5}"#).is_none());
        assert!(parse_payload(r#"{"token":"mdev_x","value":"off","bogus":1}"#).is_none());
        assert_eq!(switches("on"), Some(true));
        assert_eq!(switches("open"), None);
    }

    proptest! {
        #[test]
        fn accepted_times_are_within_bounds(at in -2_000_000i64..4_000_000, tol in 0i64..1_000_000) {
            let now = 1_000_000;
            if let Ok((_, t)) = check(&SignalInput { value: None, at: Some(at), token: None }, now, tol, 500_000) {
                prop_assert!(t <= now + tol && t >= now - 500_000);
            }
        }
    }
}
