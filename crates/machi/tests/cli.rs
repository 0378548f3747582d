//! The `machi` command as a person or a script uses it, on the test run's database backend.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use server::testing::{TestDb, test_db};

fn machi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_machi"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("MACHI_LOG", "warn")
        .output()
        .expect("run machi")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn demo_db() -> TestDb {
    let t = test_db().await;
    let o = machi(&["--database", &t.url, "demo"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("60 people"), "{}", text(&o));
    t
}

#[test]
fn every_command_explains_itself() {
    for cmd in [
        vec![],
        vec!["serve"],
        vec!["migrate"],
        vec!["demo"],
        vec!["areas", "import"],
        vec!["audit", "verify"],
        vec!["token", "create"],
        vec!["backup"],
        // Declared by the modules (`Module.cli`).
        vec!["aid", "match"],
        vec!["watch", "sweep"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let o = machi(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).lines().count() > 3, "{args:?}");
    }
    let o = machi(&["--help"]);
    for sub in [
        "serve", "migrate", "demo", "areas", "audit", "token", "backup", "aid", "watch",
    ] {
        assert!(String::from_utf8_lossy(&o.stdout).contains(sub));
    }
}

#[test]
fn unknown_config_key_refuses_to_start_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("machi.toml");
    std::fs::write(&cfg, "bind = \"127.0.0.1:0\"\nmax_bdy_bytes = 10\n").unwrap();
    let o = machi(&["--config", cfg.to_str().unwrap(), "migrate"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("max_bdy_bytes"), "{}", text(&o));
}

#[test]
fn unreachable_database_is_a_clear_message_and_nonzero_exit() {
    let o = machi(&["--database", "postgres://machi@127.0.0.1:1/none", "migrate"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("cannot open database postgres://machi@127.0.0.1:1/none"),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    let o = machi(&["--database", "/nonexistent-dir/x/machi.db", "migrate"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[tokio::test]
async fn tokens_audit_verify_and_tampering() {
    let t = demo_db().await;
    let o = machi(&[
        "--database",
        &t.url,
        "token",
        "create",
        "admin",
        "--name",
        "integration",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(token.starts_with("machi_") && token.len() == 70, "{token}");
    let o = machi(&["--database", &t.url, "token", "create", "nobody"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no account with login nobody"));

    let o = machi(&["--database", &t.url, "audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact: 1 entries"), "{}", text(&o));

    kernel::on_db!(&t.db, |p| sqlx::query(
        "UPDATE audit_log SET actor_id = 'mallory' WHERE seq = 1"
    )
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let o = machi(&["--database", &t.url, "audit", "verify"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o).contains("entry 1 was altered"), "{}", text(&o));
}

#[tokio::test]
async fn areas_import_reports_the_bad_feature_and_imports_all_or_nothing() {
    let t = demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let feature = |code: &str, closed: bool| {
        let mut ring = vec![[139.0, 35.0], [139.1, 35.0], [139.1, 35.1], [139.0, 35.1]];
        if closed {
            ring.push([139.0, 35.0]);
        }
        serde_json::json!({"type":"Feature","properties":{"code":code,"name":"新区"},"geometry":{"type":"Polygon","coordinates":[ring]}})
    };
    let bad = dir.path().join("bad.geojson");
    let doc = serde_json::json!({"type":"FeatureCollection","features":[feature("x-1", true), feature("x-2", false)]});
    std::fs::write(&bad, doc.to_string()).unwrap();
    let o = machi(&["--database", &t.url, "areas", "import", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("feature 1: ring 0 is not closed"), "{}", text(&o));
    assert!(
        kernel::store::areas::get(&t.db, "x-1").await.unwrap().is_none(),
        "nothing half-imported"
    );

    let good = dir.path().join("good.geojson");
    let doc = serde_json::json!({"type":"FeatureCollection","features":[feature("x-1", true), feature("x-2", true)]});
    std::fs::write(&good, doc.to_string()).unwrap();
    let o = machi(&["--database", &t.url, "areas", "import", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("imported 2 areas"), "{}", text(&o));

    std::fs::write(&bad, "{not json").unwrap();
    let o = machi(&["--database", &t.url, "areas", "import", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("bad.geojson"), "{}", text(&o));
}

/// The areas of an import and the entry recording it commit together: with the entry impossible
/// (the log's head taken away) no area is imported; with it, both are there.
#[tokio::test]
async fn areas_are_imported_only_with_their_audit_entry() {
    let t = demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.geojson");
    let ring = [
        [139.0, 35.0],
        [139.1, 35.0],
        [139.1, 35.1],
        [139.0, 35.1],
        [139.0, 35.0],
    ];
    let doc = serde_json::json!({"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"code":"y-1","name":"新区"},"geometry":{"type":"Polygon","coordinates":[ring]}}]});
    std::fs::write(&file, doc.to_string()).unwrap();
    let head: (i64, String) = kernel::on_db!(&t.db, |p| async {
        let head = sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(p)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_head").execute(p).await.unwrap();
        head
    }
    .await);
    let o = machi(&["--database", &t.url, "areas", "import", file.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        kernel::store::areas::get(&t.db, "y-1").await.unwrap().is_none(),
        "imported without its entry"
    );
    kernel::on_db!(&t.db, |p| sqlx::query(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)"
    )
    .bind(head.0)
    .bind(&head.1)
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let o = machi(&["--database", &t.url, "areas", "import", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(kernel::store::areas::get(&t.db, "y-1").await.unwrap().is_some());
    let last = kernel::store::audit::page(&t.db, head.0, 10).await.unwrap();
    assert_eq!(
        last.iter()
            .map(|e| (e.action.as_str(), e.resource.as_str()))
            .collect::<Vec<_>>(),
        [("areas.import", format!("file:{}", file.display()).as_str())]
    );
    assert!(kernel::store::audit::verify(&t.db).await.unwrap().is_ok());
}

#[tokio::test]
async fn backup_writes_a_usable_copy() {
    let t = demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let o = machi(&["--database", &t.url, "backup", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    if t.db.backend() == "postgres" {
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with("pg_dump "),
            "{}",
            text(&o)
        );
        return;
    }
    let copy = kernel::Db::connect(file.to_str().unwrap()).await.unwrap();
    assert_eq!(kernel::store::people::count(&copy).await.unwrap(), 60);
    let o = machi(&["--database", &t.url, "backup", file.to_str().unwrap()]);
    assert!(!o.status.success(), "refuses to overwrite");
}

#[tokio::test]
async fn serve_demo_prints_logins_logs_json_and_stops_on_sigterm() {
    let t = test_db().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_machi"))
        .args([
            "--database",
            &t.url,
            "--log-format",
            "json",
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
        ])
        .env("MACHI_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines.next().expect("machi exited early").unwrap();
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("machi: serving on http://") {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let all = seen.join("\n");
    assert!(all.contains("password for all"), "{all}");
    assert!(
        all.contains("tanaka") && all.contains("bousai") && all.contains("auditor"),
        "{all}"
    );

    let body = reqwest::get(format!("http://{addr}/api/v1/organisations"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("危機管理課"));

    // The request is logged as JSON with its request id.
    let logged = loop {
        let line = lines.next().expect("log line").unwrap();
        if line.contains("/api/v1/organisations") && line.contains("finished processing request") {
            break line;
        }
    };
    let v: serde_json::Value = serde_json::from_str(&logged).expect("JSON log line");
    assert!(
        v["span"]["request_id"].as_str().is_some_and(|id| id.len() == 26),
        "{logged}"
    );

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "machi did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start `machi serve` on the test database with the given extra environment; returns the child
/// and the address it serves on.
fn serve(t: &TestDb, env: &[(&str, String)]) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_machi"));
    cmd.args(["--database", &t.url, "serve", "--bind", "127.0.0.1:0"])
        .env("MACHI_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("machi exited early").unwrap();
        if let Some(rest) = line.strip_prefix("machi: serving on http://") {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[tokio::test]
async fn killed_mid_send_and_started_again_every_recipient_still_gets_the_email() {
    use kernel::store::outbox::{NewDelivery, counts, enqueue};
    let t = demo_db().await;
    let k = kernel::Kernel::new(t.db.clone(), kernel::config::Config::default());
    let deliveries: Vec<NewDelivery> = (0..80)
        .map(|i| NewDelivery {
            channel: "email".into(),
            source: "test:kill".into(),
            person_id: None,
            address: format!("k{i}@example.jp"),
            subject: "安否確認の試験".into(),
            body: "本文".into(),
            dedupe_key: format!("kill:{i}"),
        })
        .collect();
    assert_eq!(enqueue(&k, &deliveries).await.unwrap(), 80);

    // A slow mail server, so the kill lands mid-send.
    let sink = server::testing::SmtpSink::start(std::time::Duration::from_millis(40)).await;
    // Four connections: at most four messages can be in flight when the process dies.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("machi.toml");
    std::fs::write(
        &config,
        format!(
            "outbox_lease_secs = 2\n[smtp]\nhost = \"{}\"\nport = {}\nfrom = \"alerts@city.midori.example.jp\"\nconnections = 4\n",
            sink.addr.ip(),
            sink.addr.port()
        ),
    )
    .unwrap();
    let env = [("MACHI_CONFIG", config.to_string_lossy().to_string())];
    let (mut first, _) = serve(&t, &env);
    let started = Instant::now();
    while sink.count() < 10 {
        assert!(started.elapsed() < Duration::from_secs(30), "no e-mail went out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: no chance to finish anything
    first.wait().unwrap();
    let before = sink.count();
    assert!(before < 80, "killed part-way: {before} sent");

    let (mut second, _) = serve(&t, &env);
    let started = Instant::now();
    loop {
        let c = counts(&t.db, "test:kill").await.unwrap();
        if c == vec![("email".to_string(), "sent".to_string(), 80)] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not all sent after the restart: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let ids = sink.message_ids();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 80, "every recipient got it");
    // A message the server accepted just before the kill (at most one per open connection)
    // is sent again with the same Message-ID, so mail clients show it once.
    assert!(
        ids.len() <= 80 + 4,
        "at most the in-flight messages repeat ({} received)",
        ids.len()
    );
}

#[tokio::test]
async fn answers_acknowledged_before_a_kill_9_are_all_there_after_the_restart() {
    let t = test_db().await;
    let o = machi(&["--database", &t.url, "demo", "--residents", "1500"]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    let o = machi(&[
        "--database",
        &t.url,
        "token",
        "provision",
        "--out",
        &tokens.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let households: Vec<(String, String)> = std::fs::read_to_string(&tokens)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(h, t)| (h.to_string(), t.to_string()))
        .collect();
    assert!(households.len() > 400, "{} households", households.len());
    let o = machi(&["--database", &t.url, "token", "create", "bousai"]);
    let staff = String::from_utf8_lossy(&o.stdout).trim().to_string();

    let (mut first, addr) = serve(&t, &[]);
    let client = reqwest::Client::new();
    let round: serde_json::Value = client
        .post(format!("http://{addr}/api/v1/safety/rounds"))
        .bearer_auth(&staff)
        .json(&serde_json::json!({"area": "13999", "title": "kill -9"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let round = round["id"].as_str().unwrap().to_string();

    // 32 clients answer for every household; the server is killed while they are at it.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let queue = std::sync::Arc::new(std::sync::Mutex::new(households.clone()));
    let mut clients = Vec::new();
    for _ in 0..32 {
        let (acked, queue, client, addr, round) = (
            acked.clone(),
            queue.clone(),
            client.clone(),
            addr.clone(),
            round.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let Some((household, token)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let res = client
                    .post(format!(
                        "http://{addr}/api/v1/safety/rounds/{round}/households/{household}/answers"
                    ))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"status": "safe"}))
                    .send()
                    .await;
                if res.is_ok_and(|r| r.status().is_success()) {
                    acked.lock().unwrap().push(household);
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 100 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "answers are not going through"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < households.len(),
        "the kill landed mid-burst ({} acknowledged)",
        acked.len()
    );

    // Started again: every acknowledged answer is there.
    let (mut second, _) = serve(&t, &[]);
    let rows = safety::store::export_rows(&t.db, &round).await.unwrap();
    let answered: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r.status.is_some())
        .map(|r| r.household_id.as_str())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|h| !answered.contains(h.as_str())).collect();
    assert!(lost.is_empty(), "{} acknowledged answers lost: {lost:?}", lost.len());
    second.kill().unwrap();
    second.wait().unwrap();
}

/// POST a JSON body with a bearer token; the status and the answer's JSON (Null if none).
async fn post_json(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// On SQLite, under load the watch signal writer keeps signals in a log a moment before moving
/// them into `watch_signals` and applying them to the person's state and the devices. Killed with
/// signals held, the next start applies them: every acknowledged signal is kept, and the circle
/// shows each device's newest.
#[tokio::test]
async fn device_signals_acknowledged_before_a_kill_9_are_all_applied_after_the_restart() {
    let t = demo_db().await;
    let token = |login: &str| {
        let o = machi(&["--database", &t.url, "token", "create", login]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let sato = token("sato");
    let (mut first, addr) = serve(&t, &[]);
    let client = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}/api/v1{path}");

    // The demo town ships sato's circle around her mother tanaka, consented; forty bulbs more.
    let circles: serde_json::Value = client
        .get(api("/watch/circles"))
        .bearer_auth(&sato)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let circle = circles
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["person_name"] == "田中 ハナ" && c["as_role"] == "family")
        .unwrap_or_else(|| panic!("sato is family in tanaka's demo circle: {circles}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut devices = Vec::new();
    for i in 0..40 {
        let id = format!("kill-bulb-{i:02}");
        let (s, d) = post_json(
            &client,
            api(&format!("/watch/circles/{circle}/devices")),
            &sato,
            serde_json::json!({"id": id, "kind": "bulb"}),
        )
        .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{d}");
        devices.push((id, d["token"].as_str().unwrap().to_string()));
    }

    // 32 senders, the devices in turn, each signal a millisecond after the one before.
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 600_000;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let devices = std::sync::Arc::new(devices);
    let mut senders = Vec::new();
    for _ in 0..32 {
        let (next, acked, devices, client, url) = (
            next.clone(),
            acked.clone(),
            devices.clone(),
            client.clone(),
            api("/watch/signals"),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (device, token) = &devices[n as usize % devices.len()];
                let at = base + n;
                let body = serde_json::json!({"value": if n % 2 == 0 { "on" } else { "off" }, "at": at});
                match client.post(&url).bearer_auth(token).json(&body).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
                        acked.lock().unwrap().push((device.clone(), at))
                    }
                    Ok(r) => panic!("signal refused: {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 2_000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "signals are not going through"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // On SQLite, kill it while signals are held in the log: stop the process, look, and let it
    // run a moment more if it had just applied everything.
    let sqlite = matches!(t.db, kernel::Db::Sqlite(_));
    let pid = first.id().to_string();
    let logged = || async {
        kernel::on_db!(&t.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM watch_signal_log"
        )
        .fetch_one(p)
        .await)
        .unwrap()
    };
    let mut held = 0;
    for _ in 0..100 {
        assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
        if !sqlite {
            break;
        }
        held = logged().await;
        if held > 0 {
            break;
        }
        assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    if sqlite {
        assert!(held > 0, "the writer held no signals under 32 senders");
    }
    let acked = acked.lock().unwrap().clone();

    // Started again: the circle (which waits for the writer) shows every device's newest signal.
    let (mut second, addr) = serve(&t, &[]);
    let view: serde_json::Value = client
        .get(format!("http://{addr}/api/v1/watch/circles/{circle}"))
        .bearer_auth(&sato)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let newest = |device: &str| acked.iter().filter(|(d, _)| d == device).map(|(_, at)| *at).max();
    for d in view["devices"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let last_at = d["last_at"].as_i64();
        // A signal written whose answer the kill cut off may be newer still.
        assert!(last_at >= newest(id), "{id}: {d} against {:?}", newest(id));
    }
    assert!(
        view["last_signal_at"].as_i64() >= acked.iter().map(|(_, at)| *at).max(),
        "{view}"
    );
    // And every acknowledged signal is on the timeline.
    let stored: Vec<(String, i64)> = kernel::on_db!(&t.db, |p| sqlx::query_as(
        "SELECT device_id, at FROM watch_signals WHERE device_id LIKE 'kill-bulb-%'"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    let stored: std::collections::HashSet<(String, i64)> = stored.into_iter().collect();
    let lost: Vec<&(String, i64)> = acked.iter().filter(|s| !stored.contains(*s)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged signals lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    if sqlite {
        assert_eq!(logged().await, 0, "the log was applied");
    }
    second.kill().unwrap();
    second.wait().unwrap();
}

/// A service manager may list a port before its host; `machi` starts all the same (it used to
/// exit 2 with "set MACHI_SMTP_HOST first"). `env` sets the variables in the order given.
#[test]
fn environment_order_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("machi.db");
    let o = Command::new("env")
        .args([
            "-u",
            "DATABASE_URL",
            "MACHI_LOG=warn",
            "MACHI_SMTP_PORT=2525",
            "MACHI_MQTT_PORT=1884",
            "MACHI_SMTP_HOST=127.0.0.1",
            "MACHI_MQTT_HOST=127.0.0.1",
            env!("CARGO_BIN_EXE_machi"),
            "--database",
            db.to_str().unwrap(),
            "migrate",
        ])
        .output()
        .expect("run machi through env");
    assert!(o.status.success(), "{:?}: {}", o.status, text(&o));
    // A port with no host anywhere is still refused, naming what is missing.
    let o = Command::new("env")
        .args([
            "-u",
            "DATABASE_URL",
            "MACHI_SMTP_PORT=2525",
            env!("CARGO_BIN_EXE_machi"),
        ])
        .args(["--database", db.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("needs MACHI_SMTP_HOST"), "{}", text(&o));
}

/// SIGTERM with a screen connected to the alerts' event stream: the stream ends and machi exits
/// at once, rather than waiting out the shutdown grace period for a stream that never ends.
#[tokio::test]
async fn sigterm_ends_event_streams_instead_of_waiting_out_the_grace() {
    let t = demo_db().await;
    let (mut child, addr) = serve(&t, &[("MACHI_SHUTDOWN_GRACE_SECS", "60".to_string())]);
    let mut screen = reqwest::get(format!("http://{addr}/alerts/events?area=13999-1"))
        .await
        .unwrap();
    assert_eq!(screen.status(), reqwest::StatusCode::OK);
    assert!(
        screen.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = Instant::now();
    // The stream ends (the screen then reconnects, to another node or to this one restarted).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = screen.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream was still open 10 s after SIGTERM");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "machi did not stop within 10 s of SIGTERM (grace 60 s)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
