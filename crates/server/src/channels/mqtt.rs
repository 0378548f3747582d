//! MQTT to devices from the outbox (rumqttc, QoS 1): a delivery is marked sent only when the
//! broker acknowledges it (PUBACK), so a broker that is down or drops the connection leaves it
//! queued and it is sent again. Devices' messages come back on `machi/<topic>/<device-id>`, for
//! each topic a module routes (acknowledgements of alerts and answers to safety checks on `acks`,
//! watch-over signals on `signals`), and go to the module's handler.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use kernel::Kernel;
use kernel::config::MqttConfig;
use kernel::module::DeviceRoute;
use kernel::store::outbox;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::Mutex;

/// Messages of concurrent routes (signals, each waiting for its batch) handled at once; more wait
/// for a free place.
const CONCURRENT_IN_FLIGHT: usize = 4096;

/// The channel's name in the outbox and in [`kernel::health::ChannelHealth`].
pub const CHANNEL: &str = "mqtt";

/// The topics subscribed to: `machi/<topic>/+` for each topic the routes name.
pub fn topics(routes: &[DeviceRoute]) -> Vec<String> {
    let mut topics: Vec<String> = routes.iter().map(|r| format!("machi/{}/+", r.topic)).collect();
    topics.sort();
    topics.dedup();
    topics
}

pub fn spawn(k: Kernel, routes: Arc<Vec<DeviceRoute>>) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(cfg) = k.config.mqtt.clone() else {
        return Vec::new();
    };
    let mut opts = MqttOptions::new(format!("{}-{}", cfg.client_id, k.new_id()), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(20));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        opts.set_credentials(u.clone(), p.clone());
    }
    let (client, eventloop) = AsyncClient::new(opts, 1024);
    // Deliveries published but not yet acknowledged, in the order their packets went out.
    let in_flight: Arc<Mutex<Inflight>> = Arc::default();
    vec![
        tokio::spawn(poll(k.clone(), eventloop, client.clone(), in_flight.clone(), routes)),
        tokio::spawn(publish(k, client, in_flight, cfg)),
    ]
}

#[derive(Default)]
struct Inflight {
    /// Delivery ids in publish order, waiting for their packet id.
    queued: VecDeque<String>,
    /// Packet id → delivery id, waiting for PUBACK.
    by_pkid: HashMap<u16, String>,
}

async fn publish(k: Kernel, client: AsyncClient, in_flight: Arc<Mutex<Inflight>>, _cfg: MqttConfig) {
    if let Err(e) = outbox::requeue_after_restart(&k, "mqtt").await {
        tracing::warn!(error = %e, "could not requeue unfinished MQTT deliveries");
    }
    loop {
        if !k.health.is_reachable(CHANNEL) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let batch = match outbox::claim(&k, "mqtt", 200, k.config.outbox_lease_secs as i64 * 1000).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "MQTT outbox unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        for d in batch {
            in_flight.lock().await.queued.push_back(d.id.clone());
            if let Err(e) = client
                .publish(d.address.clone(), QoS::AtLeastOnce, false, d.body.clone().into_bytes())
                .await
            {
                tracing::warn!(delivery = %d.id, error = %e, "MQTT publish not queued");
                in_flight.lock().await.queued.retain(|x| x != &d.id);
                let _ = outbox::mark_failed(&k, &d, &e.to_string(), false).await;
            }
        }
    }
}

async fn poll(
    k: Kernel,
    mut eventloop: EventLoop,
    client: AsyncClient,
    in_flight: Arc<Mutex<Inflight>>,
    routes: Arc<Vec<DeviceRoute>>,
) {
    let concurrent_in_flight = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_IN_FLIGHT));
    let topics = topics(&routes);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                k.health.set(CHANNEL, true);
                tracing::info!("MQTT broker connected");
                for topic in &topics {
                    let _ = client.subscribe(topic, QoS::AtLeastOnce).await;
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let mut f = in_flight.lock().await;
                if let Some(id) = f.queued.pop_front() {
                    f.by_pkid.insert(pkid, id);
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                let id = in_flight.lock().await.by_pkid.remove(&ack.pkid);
                if let Some(id) = id
                    && let Err(e) = outbox::mark_sent(&k, &id).await
                {
                    tracing::error!(delivery = %id, error = %e, "could not record an MQTT delivery");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let payload = String::from_utf8_lossy(&p.payload).trim().to_string();
                let Some((topic, device)) = p.topic.strip_prefix("machi/").and_then(|t| t.split_once('/')) else {
                    continue;
                };
                let concurrent = kernel::module::route(routes.iter(), topic, &payload).is_some_and(|r| r.concurrent);
                if !concurrent {
                    super::dispatch(&k, &routes, topic, device, &payload).await;
                    continue;
                }
                // Signals are written in batches; waiting here for each batch would hold up the
                // connection's event loop, so each goes on its own task.
                // At most CONCURRENT_IN_FLIGHT at once: beyond that the broker's flow waits for the writer.
                let Ok(permit) = concurrent_in_flight.clone().acquire_owned().await else {
                    continue;
                };
                let (k, routes, topic, device) = (k.clone(), routes.clone(), topic.to_string(), device.to_string());
                tokio::spawn(async move {
                    super::dispatch(&k, &routes, &topic, &device, &payload).await;
                    drop(permit);
                });
            }
            Ok(_) => {}
            Err(e) => {
                if k.health.set(CHANNEL, false) != Some(false) {
                    tracing::warn!(error = %e, "MQTT broker connection lost; deliveries wait and retry");
                }
                // What was in flight comes back when its lease ends.
                let mut f = in_flight.lock().await;
                f.queued.clear();
                f.by_pkid.clear();
                drop(f);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
