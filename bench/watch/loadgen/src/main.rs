//! Load generator for the watch benchmark: devices of watched persons send their signals to
//! `POST /api/v1/watch/signals` over keep-alive HTTP/1.1 connections on loopback (a minimal
//! client, so the generator costs little of the machine's two cores), or publish them to
//! `machi/signals/<device-id>` on the MQTT broker. Also measures a trivial endpoint (`/healthz`)
//! the same way, as the ceiling.
//!
//! signals ADDR TOKENS ROUNDS CONNECTIONS   — every token of TOKENS (one a line) sends ROUNDS signals
//!                                            (`on`, `off`, `on`, …; a device's rounds in order)
//! healthz ADDR REQUESTS CONNECTIONS
//! mqtt ADDR DEVICES N [INFLIGHT] [RATE] [PROGRESS WINDOW]
//!     N publishes (QoS 1) over the devices of DEVICES (`device-id<TAB>token` lines), round-robin,
//!     payload `<token> on|off`; RATE per second (0: as fast as acknowledged). With PROGRESS (a
//!     file holding how many signals the server has stored so far), at most WINDOW published and
//!     not yet stored: the broker drops what queues beyond its limit for a slow subscriber
//!     (Mosquitto: max_queued_messages 1000), so an unpaced burst would measure the broker's queue.
//! Each mode prints one line of key=value pairs on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Exchanges finished so far (answered or failed), for the watchdog.
static PROGRESS: AtomicU64 = AtomicU64::new(0);

struct Outcome {
    ok: u64,
    latencies_us: Vec<u32>,
    errors: u64,
    statuses: Vec<u16>,
}

impl Outcome {
    fn new(capacity: usize) -> Outcome {
        Outcome {
            ok: 0,
            latencies_us: Vec::with_capacity(capacity),
            errors: 0,
            statuses: Vec::new(),
        }
    }
}

/// Send one request and read its response; returns the status code.
async fn exchange(stream: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    let (head_end, status, length) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            break (end + 4, status, length);
        }
    };
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// One connection: requests number `first`, `first + step`, … below `total`, each built by `make`.
async fn worker<F>(addr: String, first: usize, step: usize, total: usize, make: Arc<F>) -> Outcome
where
    F: Fn(usize, &mut Vec<u8>) + Send + Sync + 'static,
{
    let mut out = Outcome::new(total / step + 1);
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(8192);
    let mut request = Vec::with_capacity(512);
    let mut i = first;
    while i < total {
        let job = i;
        i += step;
        if stream.is_none() {
            match TcpStream::connect(&addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    out.errors += 1;
                    continue;
                }
            }
        }
        request.clear();
        make(job, &mut request);
        let started = Instant::now();
        // No timer per request (it cost the generator a tenth of its time): the watchdog in
        // `run` ends a run that stops moving.
        let result = match stream.as_mut() {
            Some(s) => exchange(s, &request, &mut buf).await,
            None => continue,
        };
        let us = started.elapsed().as_micros() as u32;
        PROGRESS.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(status) if (200..300).contains(&status) => {
                out.latencies_us.push(us);
                out.ok += 1;
            }
            Ok(status) => {
                out.latencies_us.push(us);
                out.statuses.push(status);
                out.errors += 1;
            }
            _ => {
                out.errors += 1;
                stream = None;
            }
        }
    }
    out
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// `total` requests over `connections` keep-alive connections; request `i` goes on connection
/// `i % connections`, so requests close in number are in flight together.
async fn run<F>(addr: &str, total: usize, connections: usize, make: F) -> (Outcome, f64)
where
    F: Fn(usize, &mut Vec<u8>) + Send + Sync + 'static,
{
    let connections = connections.max(1);
    let make = Arc::new(make);
    let started = Instant::now();
    // Watchdog: a run in which no exchange finishes for 30 s has hung.
    tokio::spawn(async {
        let mut seen = PROGRESS.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            let now = PROGRESS.load(Ordering::Relaxed);
            if now == seen {
                eprintln!("loadgen: no response for 30 s; giving up");
                std::process::exit(1);
            }
            seen = now;
        }
    });
    let handles: Vec<_> = (0..connections)
        .map(|c| tokio::spawn(worker(addr.to_string(), c, connections, total, make.clone())))
        .collect();
    let mut all = Outcome::new(total);
    for h in handles {
        let o = h.await.expect("worker");
        all.ok += o.ok;
        all.latencies_us.extend(o.latencies_us);
        all.errors += o.errors;
        all.statuses.extend(o.statuses);
    }
    (all, started.elapsed().as_secs_f64())
}

fn report(kind: &str, o: &mut Outcome, secs: f64) {
    o.latencies_us.sort_unstable();
    let mut statuses = o.statuses.clone();
    statuses.sort_unstable();
    statuses.dedup();
    println!(
        "{kind}: ok={} errors={} seconds={secs:.2} per_s={:.0} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} other_statuses={statuses:?}",
        o.ok,
        o.errors,
        o.ok as f64 / secs,
        percentile(&o.latencies_us, 0.50),
        percentile(&o.latencies_us, 0.99),
        percentile(&o.latencies_us, 1.0),
    );
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

async fn read_lines(path: &str) -> Vec<String> {
    let text = tokio::fs::read_to_string(path).await.unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

/// Publish `n` signals at QoS 1 to `machi/signals/<device>` and wait for the broker's PUBACKs.
/// How many signals the server has stored, as the benchmark's counter last wrote it.
fn progress(path: &str) -> usize {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

async fn mqtt(
    addr: &str,
    devices: Vec<(String, String)>,
    n: usize,
    inflight: u16,
    rate: u64,
    window: Option<(String, usize)>,
) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let (host, port) = addr.rsplit_once(':').expect("ADDR is host:port");
    let mut mo = MqttOptions::new(format!("watch-bench-{}", std::process::id()), host, port.parse().expect("port"));
    mo.set_keep_alive(Duration::from_secs(30));
    mo.set_inflight(inflight.max(1));
    let (client, mut el) = AsyncClient::new(mo, 1024);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), el.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("MQTT broker at {addr}: {e}"),
            Err(_) => panic!("MQTT broker at {addr}: no CONNACK within 10 s"),
        }
    }
    let acked = Arc::new(AtomicU64::new(0));
    let last_ack_ms = Arc::new(AtomicU64::new(0));
    {
        let (acked, last_ack_ms) = (acked.clone(), last_ack_ms.clone());
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acked.fetch_add(1, Ordering::Relaxed);
                        last_ack_ms.store(now_ms() as u64, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("mqtt: connection error: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
    }
    let t0 = now_ms();
    let started = Instant::now();
    let mut stored = 0;
    for i in 0..n {
        if rate > 0 {
            // Keep to RATE per second: wait until publish i is due.
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            let elapsed = started.elapsed();
            if due > elapsed + Duration::from_millis(1) {
                tokio::time::sleep(due - elapsed).await;
            }
        }
        if let Some((path, w)) = &window {
            // Keep at most `w` signals between the publisher and the database.
            while i >= stored + w {
                stored = progress(path);
                if i >= stored + w {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
        let (device, token) = &devices[i % devices.len()];
        let value = if (i / devices.len()) % 2 == 0 { "on" } else { "off" };
        client
            .publish(format!("machi/signals/{device}"), QoS::AtLeastOnce, false, format!("{token} {value}"))
            .await
            .expect("publish");
    }
    let published_s = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (acked.load(Ordering::Relaxed) as usize) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let a = acked.load(Ordering::Relaxed);
    let _ = client.disconnect().await;
    println!(
        "mqtt: published={n} acked={a} seconds={:.2} per_s={:.0} t0_ms={t0} last_ack_ms={}",
        published_s,
        a as f64 / started.elapsed().as_secs_f64(),
        last_ack_ms.load(Ordering::Relaxed),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("signals") if args.len() >= 6 => {
            let addr = args[2].clone();
            let tokens = read_lines(&args[3]).await;
            let rounds: usize = args[4].parse().unwrap_or(3);
            let connections: usize = args[5].parse().unwrap_or(64);
            assert!(!tokens.is_empty(), "no tokens in {}", args[3]);
            let n = tokens.len();
            let head = format!("POST /api/v1/watch/signals HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer ");
            let make = move |i: usize, req: &mut Vec<u8>| {
                let (round, device) = (i / n, i % n);
                // Pieces copied, not formatted: the generator shares the machine with the server.
                let rest: &[u8] = if round % 2 == 0 {
                    b"\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"value\":\"on\"}"
                } else {
                    b"\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"value\":\"off\"}"
                };
                req.extend_from_slice(head.as_bytes());
                req.extend_from_slice(tokens[device].as_bytes());
                req.extend_from_slice(rest);
            };
            let (mut o, secs) = run(&addr, n * rounds, connections, make).await;
            report("signals", &mut o, secs);
        }
        Some("healthz") if args.len() >= 5 => {
            let (addr, n, connections): (&String, usize, usize) =
                (&args[2], args[3].parse().unwrap_or(100_000), args[4].parse().unwrap_or(64));
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
            let (mut o, secs) = run(addr, n, connections, move |_, r: &mut Vec<u8>| r.extend_from_slice(&req)).await;
            report("healthz", &mut o, secs);
        }
        Some("mqtt") if args.len() >= 5 => {
            let devices: Vec<(String, String)> = read_lines(&args[3])
                .await
                .iter()
                .filter_map(|l| l.split_once('\t'))
                .map(|(d, t)| (d.to_string(), t.to_string()))
                .collect();
            assert!(!devices.is_empty(), "no device<TAB>token lines in {}", args[3]);
            let n: usize = args[4].parse().unwrap_or(devices.len());
            let inflight: u16 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(100);
            let rate: u64 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(0);
            let window = args
                .get(7)
                .map(|p| (p.clone(), args.get(8).and_then(|s| s.parse().ok()).unwrap_or(800)));
            mqtt(&args[2], devices, n, inflight, rate, window).await;
        }
        _ => {
            eprintln!(
                "usage: watch-loadgen signals ADDR TOKENS ROUNDS CONNECTIONS | healthz ADDR REQUESTS CONNECTIONS \
                 | mqtt ADDR DEVICES N [INFLIGHT] [RATE] [PROGRESS WINDOW]"
            );
            std::process::exit(2);
        }
    }
}
