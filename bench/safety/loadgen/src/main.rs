//! Load generator for the safety benchmark: every household answers a safety round through
//! the HTTP API, over keep-alive HTTP/1.1 connections on loopback (a minimal client, so the
//! generator costs little of the machine's two cores). Also measures a trivial endpoint
//! (`/healthz`) the same way, as the ceiling.
//!
//! answers ADDR ROUND TOKENS CONNECTIONS [OK_LOG]   — one answer per line of TOKENS (household<TAB>token)
//! healthz ADDR REQUESTS CONNECTIONS

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Outcome {
    ok: Vec<(String, u32)>,
    latencies_us: Vec<u32>,
    errors: u64,
    statuses: Vec<u16>,
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

async fn worker(addr: String, jobs: Vec<(String, Vec<u8>)>) -> Outcome {
    let mut out = Outcome {
        ok: Vec::new(),
        latencies_us: Vec::with_capacity(jobs.len()),
        errors: 0,
        statuses: Vec::new(),
    };
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(8192);
    for (label, request) in jobs {
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
        let started = Instant::now();
        let result = match stream.as_mut() {
            Some(s) => tokio::time::timeout(Duration::from_secs(30), exchange(s, &request, &mut buf)).await,
            None => continue,
        };
        let us = started.elapsed().as_micros() as u32;
        match result {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                out.latencies_us.push(us);
                out.ok.push((label, us));
            }
            Ok(Ok(status)) => {
                out.latencies_us.push(us);
                out.statuses.push(status);
                out.errors += 1;
            }
            _ => {
                // The server went away (the kill -9 part of the benchmark): reconnect next time.
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

async fn run(addr: &str, jobs: Vec<(String, Vec<u8>)>, connections: usize) -> (Outcome, f64) {
    let connections = connections.max(1);
    let mut shares: Vec<Vec<(String, Vec<u8>)>> = (0..connections).map(|_| Vec::new()).collect();
    for (i, j) in jobs.into_iter().enumerate() {
        shares[i % connections].push(j);
    }
    let started = Instant::now();
    let handles: Vec<_> = shares
        .into_iter()
        .map(|s| tokio::spawn(worker(addr.to_string(), s)))
        .collect();
    let mut all = Outcome {
        ok: Vec::new(),
        latencies_us: Vec::new(),
        errors: 0,
        statuses: Vec::new(),
    };
    for h in handles {
        let o = h.await.expect("worker");
        all.ok.extend(o.ok);
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
        o.ok.len(),
        o.errors,
        o.ok.len() as f64 / secs,
        percentile(&o.latencies_us, 0.50),
        percentile(&o.latencies_us, 0.99),
        percentile(&o.latencies_us, 1.0),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("answers") => {
            let (addr, round, tokens, connections) = (&args[2], &args[3], &args[4], args[5].parse().unwrap_or(64));
            let text = tokio::fs::read_to_string(tokens).await.expect("read tokens");
            let body = br#"{"status":"safe"}"#;
            let jobs: Vec<(String, Vec<u8>)> = text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(household, token)| {
                    let mut req = format!(
                        "POST /api/v1/safety/rounds/{round}/households/{household}/answers HTTP/1.1\r\nHost: {addr}\r\n\
                         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    req.extend_from_slice(body);
                    (household.to_string(), req)
                })
                .collect();
            let (mut o, secs) = run(addr, jobs, connections).await;
            report("answers", &mut o, secs);
            if let Some(log) = args.get(6) {
                let lines: String = o.ok.iter().map(|(h, _)| format!("{h}\n")).collect();
                tokio::fs::write(log, lines).await.expect("write the log of acknowledged answers");
            }
        }
        Some("healthz") => {
            let (addr, n, connections): (&String, usize, usize) =
                (&args[2], args[3].parse().unwrap_or(100_000), args[4].parse().unwrap_or(64));
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
            let jobs = (0..n).map(|i| (i.to_string(), req.clone())).collect();
            let (mut o, secs) = run(addr, jobs, connections).await;
            report("healthz", &mut o, secs);
        }
        _ => {
            eprintln!("usage: safety-loadgen answers ADDR ROUND TOKENS CONNECTIONS [OK_LOG] | healthz ADDR REQUESTS CONNECTIONS");
            std::process::exit(2);
        }
    }
}
