//! E-mail from the outbox over SMTP (lettre): pooled connections, a bounded number of sends
//! at once, and a Message-ID made from the delivery id, so a message re-sent after a crash
//! (accepted by the server but not yet marked sent) is recognised as the same message.

use std::time::Duration;

use futures_util::StreamExt;
use kernel::Kernel;
use kernel::config::SmtpConfig;
use kernel::store::outbox::{self, Delivery};
use lettre::message::header::ContentType;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

const BATCH: i64 = 200;
/// The channel's name in the outbox and in [`kernel::health::ChannelHealth`].
pub const CHANNEL: &str = "email";

pub fn spawn(k: Kernel) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = k.config.smtp.clone()?;
    Some(tokio::spawn(run(k, cfg)))
}

fn transport(cfg: &SmtpConfig) -> AsyncSmtpTransport<Tokio1Executor> {
    // Plain SMTP to the configured relay (a local MTA or the city's relay on a private network).
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
        .port(cfg.port)
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(cfg.connections.max(1)));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    b.build()
}

async fn run(k: Kernel, cfg: SmtpConfig) {
    let mailer = transport(&cfg);
    let parallel = cfg.connections.max(1) as usize;
    // How long a claimed batch is ours before another worker may take it over.
    let lease_ms = k.config.outbox_lease_secs as i64 * 1000;
    match outbox::requeue_after_restart(&k, CHANNEL).await {
        Ok(n) if n > 0 => tracing::info!(deliveries = n, "e-mail left unfinished by the last run is queued again"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not requeue unfinished e-mail"),
    }
    loop {
        let batch = match outbox::claim(&k, CHANNEL, BATCH, lease_ms).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "e-mail outbox unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        futures_util::stream::iter(batch)
            .for_each_concurrent(parallel, |d| {
                let (k, mailer, from) = (&k, &mailer, &cfg.from);
                async move { deliver(k, mailer, from, d).await }
            })
            .await;
    }
}

async fn deliver(k: &Kernel, mailer: &AsyncSmtpTransport<Tokio1Executor>, from: &str, d: Delivery) {
    let outcome = match build(from, &d) {
        Err(reason) => Err((reason, true)),
        Ok(message) => match mailer.send(message).await {
            Ok(_) => {
                k.health.set(CHANNEL, true);
                Ok(())
            }
            Err(e) => {
                // A refused recipient says nothing of the relay; anything else means it is unreachable.
                if !e.is_permanent() && k.health.set(CHANNEL, false) != Some(false) {
                    tracing::warn!(error = %e, "SMTP relay unreachable; e-mail waits and retries");
                }
                Err((e.to_string(), e.is_permanent()))
            }
        },
    };
    let recorded = match outcome {
        Ok(()) => outbox::mark_sent(k, &d.id).await,
        Err((reason, permanent)) => {
            tracing::warn!(delivery = %d.id, permanent, error = %reason, "e-mail not delivered");
            outbox::mark_failed(k, &d, &reason, permanent).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the delivery is tried again; its Message-ID stays the same.
        tracing::error!(delivery = %d.id, error = %e, "could not record the delivery outcome");
    }
}

fn build(from: &str, d: &Delivery) -> Result<Message, String> {
    Message::builder()
        .from(from.parse().map_err(|e| format!("from address: {e}"))?)
        .to(d.address.parse().map_err(|e| format!("recipient address: {e}"))?)
        .subject(d.subject.clone())
        .message_id(Some(format!("<{}@machi>", d.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(d.body.clone())
        .map_err(|e| e.to_string())
}
