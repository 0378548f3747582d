//! Fan-out across nodes: with PostgreSQL, several `machi serve` processes share the store, and
//! every event one of them publishes reaches the screens connected to the others through
//! LISTEN/NOTIFY. Each node tags what it sends and ignores its own echo.

use kernel::Kernel;
use kernel::events::Event;
use kernel::store::Db;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;

const CHANNEL: &str = "machi_events";
/// NOTIFY payloads must stay under 8000 bytes; larger events go out without their data and
/// screens fetch the rest (an alert's catch-up reads the store).
const MAX_PAYLOAD: usize = 7_500;

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    event: Event,
}

/// Start relaying when the store is PostgreSQL; nothing to do on SQLite (one node).
pub fn spawn(k: &Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    let Db::Postgres(pool) = &k.db else { return Vec::new() };
    let Some(mut outgoing) = k.hub.relay() else {
        return Vec::new();
    };
    let node = k.new_id();
    let (send_pool, listen_pool) = (pool.clone(), pool.clone());
    let send_node = node.clone();
    let sender = tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            let mut env = Envelope {
                node: send_node.clone(),
                event: (*event).clone(),
            };
            let mut payload = serde_json::to_string(&env).unwrap_or_default();
            if payload.len() > MAX_PAYLOAD {
                env.event.data = serde_json::json!({"id": env.event.id, "truncated": true});
                payload = serde_json::to_string(&env).unwrap_or_default();
            }
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&payload)
                .execute(&send_pool)
                .await
            {
                tracing::warn!(error = %e, "could not pass an event to the other nodes");
            }
        }
    });
    let hub = k.hub.clone();
    let listener = tokio::spawn(async move {
        loop {
            match listen(&listen_pool, &node, &hub).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    vec![sender, listener]
}

async fn listen(pool: &sqlx::PgPool, node: &str, hub: &kernel::events::Hub) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let n = listener.recv().await?;
        match serde_json::from_str::<Envelope>(n.payload()) {
            Ok(env) if env.node != node => hub.deliver_local(env.event),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "unreadable event from another node"),
        }
    }
}
