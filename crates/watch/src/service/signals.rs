//! Signals: from devices over MQTT, the person's own (「元気です」, using the terminal), and the
//! state of the MQTT broker devices rely on.

use kernel::{Error, Kernel, Result};

use crate::model::signal::{self, SignalInput};
use crate::store;
use crate::store::signals::{Incoming, Ingested, Sender};

fn checked(k: &Kernel, input: &SignalInput) -> Result<(String, i64)> {
    let cfg = &*crate::config::of(k);
    signal::check(
        input,
        k.now(),
        cfg.future_tolerance_secs as i64 * 1000,
        cfg.max_signal_age_days as i64 * 86_400_000,
    )
    .map_err(|e| Error::invalid_with(e.key(), vec![("field", e.field().into())]))
}

/// A signal from a device over HTTP, sent with its token: kept, or refused as from an unknown
/// device or for a person not (yet) watched.
pub(crate) async fn token_signal(k: &Kernel, token: &str, input: &SignalInput) -> Result<()> {
    let (value, at) = checked(k, input)?;
    let r = store::signals::writer(k)
        .submit(Incoming {
            sender: Sender::TokenHash(store::hash_token(token)),
            value,
            at,
        })
        .await?;
    match r {
        Ingested::Stored { .. } => Ok(()),
        Ingested::Unknown => Err(Error::unauthorized("watch-device-unknown")),
        Ingested::NotWatched => Err(Error::conflict("watch-not-watched", vec![])),
    }
}

/// A signal from a device over MQTT (`machi/signals/<device-id>`); returns whether it was kept.
pub async fn mqtt_signal(k: &Kernel, device: &str, payload: &str) -> Result<bool> {
    let Some(input) = signal::parse_payload(payload) else {
        tracing::warn!(%device, "MQTT signal with an unreadable payload");
        return Ok(false);
    };
    let (value, at) = match checked(k, &input) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%device, error = %e, "MQTT signal refused");
            return Ok(false);
        }
    };
    let token = input.token.as_deref().unwrap_or_default();
    let r = store::signals::writer(k)
        .submit(Incoming {
            sender: Sender::DeviceToken {
                device: device.to_string(),
                hash: store::hash_token(token),
            },
            value,
            at,
        })
        .await?;
    if r == Ingested::Unknown {
        tracing::warn!(%device, "MQTT signal with a token that is not this device's; ignored");
    }
    Ok(matches!(r, Ingested::Stored { .. }))
}

/// The person's own signal: 「元気です」 (`checkin`) or using the terminal (`terminal`).
pub(crate) async fn own_signal(k: &Kernel, person_id: &str, source: &'static str) -> Result<bool> {
    let r = store::signals::writer(k)
        .submit(Incoming {
            sender: Sender::Person {
                person_id: person_id.to_string(),
                source,
            },
            value: if source == "checkin" {
                "genki".into()
            } else {
                "use".into()
            },
            at: k.now(),
        })
        .await?;
    Ok(matches!(r, Ingested::Stored { .. }))
}

pub(crate) fn broker_state(k: &Kernel) -> &'static str {
    match &k.config.mqtt {
        None => "not_configured",
        Some(_) if k.health.is_reachable("mqtt") => "connected",
        Some(_) => "unreachable",
    }
}
