//! Load generator for bench/alerts/run. Modes:
//!   free-port                      print a free TCP port on 127.0.0.1
//!   sse  --addr A --n N --area X --token T --cap FILE [--pid P] [--src-ips K] [--timeout-s S]
//!   mqtt --addr A --n N --topic T --payload-bytes B [--timeout-s S]
//!   post --addr A --token T --cap FILE            print `id=… t0_ms=…`
//!   smtp-sink --count-file F [--port P]           print `port=P`, then serve forever
//! Progress goes to stderr; each measuring mode ends with one key=value line on stdout.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut opts = HashMap::new();
    while let Some(k) = args.next() {
        let k = k.trim_start_matches("--").to_string();
        opts.insert(k, args.next().unwrap_or_default());
    }
    let o = Opts(opts);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match mode.as_str() {
            "free-port" => {
                let l = std::net::TcpListener::bind("127.0.0.1:0")?;
                println!("{}", l.local_addr()?.port());
                Ok(())
            }
            "sse" => sse(o).await,
            "mqtt" => mqtt(o).await,
            "post" => {
                let (id, t0) = post_alert(&o.s("addr"), &o.s("token"), &std::fs::read(o.s("cap"))?).await?;
                println!("id={id} t0_ms={t0}");
                Ok(())
            }
            "smtp-sink" => smtp_sink(o).await,
            m => Err(format!("unknown mode {m:?}").into()),
        }
    })
}

struct Opts(HashMap<String, String>);
impl Opts {
    fn s(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| panic!("--{k} is required"))
    }
    fn n(&self, k: &str, default: u64) -> u64 {
        self.0.get(k).map(|v| v.parse().expect("a number")).unwrap_or(default)
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

fn rss_kb(pid: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// p50 / p99 / max in milliseconds (nearest-rank).
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (rank(0.50), rank(0.99), v[v.len() - 1])
}

/// Incremental HTTP/1.1 chunked-transfer decoder.
#[derive(Default)]
struct Dechunk {
    data_left: usize,
    crlf_left: usize,
    done: bool,
}
impl Dechunk {
    /// Move decoded bytes from `raw` to `out`; leaves incomplete input in `raw`.
    fn feed(&mut self, raw: &mut Vec<u8>, out: &mut Vec<u8>) {
        let mut pos = 0;
        loop {
            if self.crlf_left > 0 {
                let take = self.crlf_left.min(raw.len() - pos);
                pos += take;
                self.crlf_left -= take;
                if self.crlf_left > 0 {
                    break;
                }
            }
            if self.data_left > 0 {
                let take = self.data_left.min(raw.len() - pos);
                out.extend_from_slice(&raw[pos..pos + take]);
                pos += take;
                self.data_left -= take;
                if self.data_left > 0 {
                    break;
                }
                self.crlf_left = 2;
                continue;
            }
            let Some(nl) = raw[pos..].windows(2).position(|w| w == b"\r\n") else { break };
            let line = std::str::from_utf8(&raw[pos..pos + nl]).unwrap_or("");
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
            pos += nl + 2;
            if size == 0 {
                self.done = true;
                break;
            }
            self.data_left = size;
        }
        raw.drain(..pos);
    }
}

// ---------------------------------------------------------------- SSE

async fn connect_from(addr: SocketAddr, src: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let sock = TcpSocket::new_v4()?;
    if let Some(ip) = src {
        sock.bind(SocketAddr::new(ip, 0))?;
    }
    sock.connect(addr).await
}

struct SseConn {
    stream: TcpStream,
    raw: Vec<u8>,
    chunked: bool,
}

async fn sse_open(addr: SocketAddr, host: &str, area: &str, src: Option<IpAddr>) -> Res<SseConn> {
    let mut stream = connect_from(addr, src).await?;
    let req = format!("GET /alerts/events?area={area} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let head_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("closed before the response head".into());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(format!("unexpected response: {}", head.lines().next().unwrap_or("")).into());
    }
    let chunked = head.contains("transfer-encoding: chunked");
    raw.drain(..head_end + 4);
    Ok(SseConn { stream, raw, chunked })
}

/// Read events until the stream ends; report every `alert` event's data id with its receipt time.
async fn sse_read(mut c: SseConn, tx: mpsc::UnboundedSender<(String, Instant, usize)>) {
    let mut dc = Dechunk::default();
    let mut body = Vec::new();
    let (mut event, mut data) = (String::new(), String::new());
    let mut buf = [0u8; 2048];
    loop {
        if c.chunked {
            dc.feed(&mut c.raw, &mut body);
        } else {
            body.append(&mut c.raw);
        }
        while let Some(nl) = body.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&body[..nl]).trim_end_matches('\r').to_string();
            body.drain(..=nl);
            if line.is_empty() {
                if event == "alert" {
                    let now = Instant::now();
                    let id = serde_json::from_str::<serde_json::Value>(&data)
                        .ok()
                        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
                        .unwrap_or_default();
                    let _ = tx.send((id, now, data.len()));
                }
                event.clear();
                data.clear();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if dc.done {
            return;
        }
        match c.stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => c.raw.extend_from_slice(&buf[..n]),
        }
    }
}

async fn sse(o: Opts) -> Res<()> {
    let addr: SocketAddr = o.s("addr").parse()?;
    let host = o.s("addr");
    let n = o.n("n", 10_000) as usize;
    let area = o.s("area");
    let token = o.s("token");
    let cap = std::fs::read(o.s("cap"))?;
    let pid = o.0.get("pid").cloned();
    let src_ips = o.n("src-ips", 1).max(1) as u8;
    let timeout = Duration::from_secs(o.n("timeout-s", 60));
    let gate = Arc::new(Semaphore::new(o.n("connect-concurrency", 256) as usize));
    let connected = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant, usize)>();
    let rss_before = pid.as_deref().map(rss_kb).unwrap_or(0);
    eprintln!("sse: opening {n} connections to {addr} (server RSS before: {rss_before} kB)");
    let started = Instant::now();
    for i in 0..n {
        let (gate, connected, failed, tx, host, area) =
            (gate.clone(), connected.clone(), failed.clone(), tx.clone(), host.clone(), area.clone());
        let src = (src_ips > 1).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % src_ips as usize) as u8)));
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let mut last = String::new();
            for attempt in 0..5 {
                match sse_open(addr, &host, &area, src).await {
                    Ok(c) => {
                        drop(permit);
                        connected.fetch_add(1, Ordering::Relaxed);
                        sse_read(c, tx).await;
                        return;
                    }
                    Err(e) => {
                        last = e.to_string();
                        tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
                    }
                }
            }
            if failed.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("sse: connection {i} failed: {last}");
            }
        });
    }
    drop(tx);
    // Wait until every connection is open or has given up.
    let mut last_report = Instant::now();
    loop {
        let (c, f) = (connected.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        if c + f >= n {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("sse: {c} connected, {f} failed ({:.1} s)", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        if started.elapsed() > Duration::from_secs(300) {
            eprintln!("sse: giving up waiting for connections after 300 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected_n = connected.load(Ordering::Relaxed);
    eprintln!(
        "sse: {connected_n} connected, {} failed in {:.1} s; settling 2 s",
        failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Discard catch-up events of alerts that were already active.
    while rx.try_recv().is_ok() {}
    let rss_after = pid.as_deref().map(rss_kb).unwrap_or(0);
    let kb_per_conn = rss_after.saturating_sub(rss_before) as f64 / connected_n.max(1) as f64;
    eprintln!("sse: server RSS after: {rss_after} kB ({kb_per_conn:.1} kB per connection); publishing");

    let t0 = Instant::now();
    let (id, _) = post_alert(&host, &token, &cap).await?;
    let post_ms = t0.elapsed().as_secs_f64() * 1e3;
    eprintln!("sse: alert {id} stored; POST answered in {post_ms:.1} ms");
    let mut lat = Vec::with_capacity(connected_n);
    let mut data_bytes = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    while lat.len() < connected_n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((got, at, bytes))) => {
                if got == id {
                    data_bytes = bytes;
                    lat.push(at.duration_since(t0).as_secs_f64() * 1e3);
                }
            }
            Ok(None) => break,
            Err(_) => {
                eprintln!("sse: timed out after {} s with {} of {connected_n} receipts", timeout.as_secs(), lat.len());
                break;
            }
        }
    }
    let received = lat.len();
    let (p50, p99, max) = stats(lat);
    println!(
        "sse_connected={connected_n} sse_received={received} sse_p50_ms={p50:.1} sse_p99_ms={p99:.1} \
         sse_max_ms={max:.1} sse_post_ms={post_ms:.1} sse_kb_per_conn={kb_per_conn:.1} sse_data_bytes={data_bytes} alert_id={id}"
    );
    std::io::stdout().flush()?;
    std::process::exit(0); // drop 10k connections without waiting on their tasks
}

/// POST a CAP document; returns the stored alert's id and the epoch-ms time just before sending.
async fn post_alert(addr: &str, token: &str, cap: &[u8]) -> Res<(String, u128)> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut req = format!(
        "POST /api/v1/alerts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/cap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        cap.len()
    )
    .into_bytes();
    req.extend_from_slice(cap);
    let t0 = epoch_ms();
    s.write_all(&req).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        Dechunk::default().feed(&mut body, &mut out);
        body = out;
    }
    let status = head.lines().next().unwrap_or("").to_string();
    if !(status.starts_with("http/1.1 201") || status.starts_with("http/1.1 200")) {
        return Err(format!("POST /api/v1/alerts: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let id = v.get("id").and_then(|i| i.as_str()).ok_or("no id in the POST response")?;
    Ok((id.to_string(), t0))
}

// ---------------------------------------------------------------- MQTT

async fn mqtt(o: Opts) -> Res<()> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let addr: SocketAddr = o.s("addr").parse()?;
    let n = o.n("n", 10_000) as usize;
    let topic = o.s("topic");
    let payload = vec![b'x'; o.n("payload-bytes", 600) as usize];
    let timeout = Duration::from_secs(o.n("timeout-s", 60));
    let run = topic.replace('/', "-");
    let gate = Arc::new(Semaphore::new(o.n("connect-concurrency", 256) as usize));
    let subacked = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    eprintln!("mqtt: connecting {n} subscribers to {addr}, topic {topic}");
    let started = Instant::now();
    for i in 0..n {
        let (gate, subacked, failed, tx, topic) = (gate.clone(), subacked.clone(), failed.clone(), tx.clone(), topic.clone());
        let id = format!("{run}-s{i}");
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let mut mo = MqttOptions::new(id, addr.ip().to_string(), addr.port());
            mo.set_keep_alive(Duration::from_secs(120)).set_clean_session(true);
            let (client, mut el) = AsyncClient::new(mo, 10);
            let mut permit = Some(permit);
            let mut errors = 0;
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.try_subscribe(topic.clone(), QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        permit.take();
                        subacked.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Incoming(Packet::Publish(_))) => {
                        let _ = tx.send(Instant::now());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        if permit.is_none() || errors >= 5 {
                            if permit.is_some() && failed.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("mqtt: subscriber {i} failed: {e}");
                            }
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(200 * errors)).await;
                    }
                }
            }
        });
    }
    drop(tx);
    let mut last_report = Instant::now();
    loop {
        let (c, f) = (subacked.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        if c + f >= n || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("mqtt: {c} subscribed, {f} failed ({:.1} s)", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subscribed = subacked.load(Ordering::Relaxed);
    eprintln!(
        "mqtt: {subscribed} subscribed, {} failed in {:.1} s; settling 2 s",
        failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The publisher: connect, then publish once with QoS 1.
    let mut mo = MqttOptions::new(format!("{run}-pub"), addr.ip().to_string(), addr.port());
    mo.set_keep_alive(Duration::from_secs(60)).set_max_packet_size(1 << 20, 1 << 20);
    let (pubc, mut pel) = AsyncClient::new(mo, 10);
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = pel.poll().await? {
            break;
        }
    }
    let t0 = Instant::now();
    pubc.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await?;
    tokio::spawn(async move { while pel.poll().await.is_ok() {} });
    let mut lat = Vec::with_capacity(subscribed);
    let deadline = tokio::time::Instant::now() + timeout;
    while lat.len() < subscribed {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(at)) => lat.push(at.duration_since(t0).as_secs_f64() * 1e3),
            Ok(None) => break,
            Err(_) => {
                eprintln!("mqtt: timed out with {} of {subscribed} receipts", lat.len());
                break;
            }
        }
    }
    let received = lat.len();
    let (p50, p99, max) = stats(lat);
    println!(
        "mqtt_subscribed={subscribed} mqtt_received={received} mosquitto_p50_ms={p50:.1} \
         mosquitto_p99_ms={p99:.1} mosquitto_max_ms={max:.1}"
    );
    std::io::stdout().flush()?;
    std::process::exit(0);
}

// ---------------------------------------------------------------- SMTP sink

async fn smtp_sink(o: Opts) -> Res<()> {
    let l = TcpListener::bind(("127.0.0.1", o.n("port", 0) as u16)).await?;
    println!("port={}", l.local_addr()?.port());
    std::io::stdout().flush()?;
    let count = Arc::new(AtomicU64::new(0));
    let last_ms = Arc::new(AtomicU64::new(0));
    let file = o.s("count-file");
    {
        let (count, last_ms) = (count.clone(), last_ms.clone());
        tokio::spawn(async move {
            loop {
                let line = format!("{} {}\n", count.load(Ordering::Relaxed), last_ms.load(Ordering::Relaxed));
                let tmp = format!("{file}.tmp");
                if std::fs::write(&tmp, line).is_ok() {
                    let _ = std::fs::rename(&tmp, &file);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    loop {
        let (s, _) = l.accept().await?;
        let (count, last_ms) = (count.clone(), last_ms.clone());
        tokio::spawn(async move {
            let _ = smtp_session(s, count, last_ms).await;
        });
    }
}

async fn smtp_session(s: TcpStream, count: Arc<AtomicU64>, last_ms: Arc<AtomicU64>) -> std::io::Result<()> {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => w.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?,
            "DATA" => {
                w.write_all(b"354 go ahead\r\n").await?;
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line.trim_end_matches(['\r', '\n']) == "." {
                        break;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                last_ms.store(epoch_ms() as u64, Ordering::Relaxed);
                w.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => w.write_all(b"250 ok\r\n").await?,
        }
    }
}
