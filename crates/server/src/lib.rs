//! The server composes machi's modules into one axum app: it runs their migrations, installs
//! their message catalogs, mounts their routes under `/api/v1` with one OpenAPI document,
//! wraps them in the envelope every request passes through (request IDs, logs, metrics, body
//! limit, CSRF, error rendering, strict headers),
//! and serves with graceful shutdown. Channels (SSE hub, SMTP, MQTT) will live here too.

pub mod channels;
pub mod envelope;
pub mod fanout;
pub mod metrics;
pub mod testing;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use kernel::config::Config;
use kernel::{Error, Kernel, Module};
use tower::Layer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every module of machi, in the order their migrations run. A new module adds one line here.
pub fn modules() -> Vec<Module> {
    vec![
        kernel::http::api::module(),
        alerts::module(),
        safety::module(),
        watch::module(),
        aid::module(),
    ]
}

/// Connect, migrate and install the catalogs: everything before serving.
pub async fn prepare(config: Config) -> Result<Kernel, Error> {
    let db = kernel::Db::connect(&config.database).await?;
    prepare_with(db, config).await
}

/// Every module section of the configuration is claimed by a module and passes its check.
pub fn check_config(config: &Config) -> Result<(), kernel::config::ConfigError> {
    check_sections(config, &modules())
}

fn check_sections(config: &Config, modules: &[Module]) -> Result<(), kernel::config::ConfigError> {
    let sections: Vec<kernel::config::Section> = modules.iter().filter_map(|m| m.config).collect();
    if let Some(name) = config
        .sections
        .keys()
        .find(|name| !sections.iter().any(|s| s.name == name.as_str()))
    {
        let known: Vec<&str> = sections.iter().map(|s| s.name).collect();
        return Err(kernel::config::ConfigError::Parse {
            path: format!("[{name}]"),
            message: format!("no module has this section (known: {})", known.join(", ")),
        });
    }
    sections.iter().try_for_each(|s| (s.check)(config))
}

pub async fn prepare_with(db: kernel::Db, config: Config) -> Result<Kernel, Error> {
    prepare_modules(db, config, &modules()).await
}

/// [`prepare_with`] for a list of modules other than [`modules`] (a test adding a module of its
/// own). Catalogs and templates are added to the process's once per module; navigation, page
/// context and home cards are this kernel's, so each app shows its own modules only.
pub async fn prepare_modules(db: kernel::Db, config: Config, modules: &[Module]) -> Result<Kernel, Error> {
    check_sections(&config, modules).map_err(|e| Error::Internal(e.to_string()))?;
    let migrations: Vec<(&str, &[kernel::store::migrate::Migration])> =
        modules.iter().map(|m| (m.name, m.migrations)).collect();
    kernel::store::migrate::run(&db, &migrations).await?;
    let k = Kernel::new(db, config);
    kernel::module::install(&k, modules).map_err(Error::Internal)?;
    Ok(k)
}

/// Load each module's part of the demo town, in module order, after the kernel's town; the
/// lines tell what was loaded.
pub async fn load_module_demos(k: &Kernel, modules: &[Module]) -> Result<Vec<String>, Error> {
    let mut said = Vec::new();
    for m in modules {
        said.extend((m.demo)(k.clone()).await?);
    }
    Ok(said)
}

#[derive(OpenApi)]
#[openapi(info(title = "machi", description = "The town's common platform: JSON API"))]
struct ApiDoc;

/// The routes and the OpenAPI document describing them.
pub fn api() -> (Router<Kernel>, utoipa::openapi::OpenApi) {
    api_of(&modules())
}

/// The routes of these modules and the OpenAPI document describing them.
pub fn api_of(modules: &[Module]) -> (Router<Kernel>, utoipa::openapi::OpenApi) {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    for m in modules {
        router = router.nest("/api/v1", (m.api)());
    }
    router.split_for_parts()
}

/// The whole app for a prepared kernel.
pub fn app(k: Kernel) -> Router {
    app_with(k, &modules())
}

/// The whole app of these modules (see [`prepare_modules`]).
pub fn app_with(k: Kernel, modules: &[Module]) -> Router {
    let (api, mut openapi) = api_of(modules);
    openapi.info.version = env!("CARGO_PKG_VERSION").to_string();
    let openapi = std::sync::Arc::new(openapi);
    let max_body = k.config.max_body_bytes;
    let metrics = metrics::Metrics::default();
    let secure_cookies = kernel::web::csrf::SecureCookies(k.config.secure_cookies());
    let kernel = k.clone();
    let pages = modules.iter().fold(Router::new(), |r, m| r.merge((m.pages)()));

    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .merge(api)
        .merge(pages)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(k)
        // Inside the router, around each route: the metrics need the route matched.
        .layer(envelope::GuardLayer {
            metrics: metrics.clone(),
            max_body,
        });
    let around = envelope::Envelope::new(
        // The limit the body extractors read (an extension of the request).
        DefaultBodyLimit::max(max_body).layer(routes),
        kernel,
        metrics,
        max_body,
        secure_cookies,
    );
    Router::new().fallback_service(around)
}

async fn readyz(State(k): State<Kernel>) -> impl IntoResponse {
    match k.db.ping().await {
        Ok(()) => (StatusCode::OK, format!("ok {}", k.db.backend())),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable".to_string())
        }
    }
}

/// Serve until `shutdown` resolves, then let in-flight requests finish (at most `grace`).
pub async fn serve(
    k: Kernel,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(k, modules(), listener, shutdown).await
}

/// [`serve`] these modules (see [`prepare_modules`]).
pub async fn serve_with(
    k: Kernel,
    modules: Vec<Module>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(k.config.shutdown_grace_secs);
    let mut jobs: Vec<_> = modules.iter().flat_map(|m| (m.jobs)(k.clone())).collect();
    jobs.extend(channels::spawn(&k, &modules));
    jobs.extend(fanout::spawn(&k));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let app = app_with(k.clone(), &modules);
    // Each connection is served by hyper's HTTP/1 connection directly rather than through `axum::serve`, whose
    // builder first sniffs for HTTP/2 and then hands hyper the sniffed bytes apart from the rest: hyper's read
    // buffer then grows from 8 to 16 KiB on every connection, which thousands of idle SSE screens pay for.
    let stop = rx.clone();
    let server = async move {
        let mut shutdown = std::pin::pin!(shutdown);
        // Every connection task holds a clone of `open`; `closed()` resolves when the last one has finished.
        let (all_done, open) = tokio::sync::watch::channel(());
        loop {
            let (io, remote) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                    ) => continue,
                    // Likely out of file descriptors: wait for some connections to close.
                    Err(e) => {
                        tracing::error!("accept error: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                },
            };
            let (app, stop_streams) = (app.clone(), stop.clone());
            let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                let answer = tower::ServiceExt::oneshot(app.clone(), req);
                let stop = stop_streams.clone();
                async move { Ok::<_, std::convert::Infallible>(ends_on_stop(stop, answer.await?)) }
            });
            let (mut stop, still_open) = (stop.clone(), open.clone());
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(io), service);
                let mut conn = std::pin::pin!(conn);
                let stopping = async move {
                    let _ = stop.wait_for(|v| *v).await;
                };
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = stopping => {
                        // Finish the request in flight (if any), then close.
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
                drop(still_open);
            });
        }
        // Stop accepting, tell the connections, and wait for them to finish.
        let _ = tx.send(true);
        drop(listener);
        drop(open);
        all_done.closed().await;
        Ok::<(), std::io::Error>(())
    };
    let mut rx2 = rx.clone();
    let result = tokio::select! {
        r = server => r,
        _ = async move {
            let _ = rx2.wait_for(|v| *v).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("in-flight requests did not finish within {grace:?}; stopping anyway");
            Ok(())
        }
    };
    for j in jobs {
        j.abort();
    }
    for m in &modules {
        (m.stop)(k.clone()).await;
    }
    k.db.close().await;
    result
}

/// An event stream (SSE) never ends by itself, so a connection serving one would hold the
/// shutdown for the whole grace period: on stop it ends, and the screen reconnects (to another
/// node, or to this one once it is back) from its last event id.
fn ends_on_stop(
    mut stop: tokio::sync::watch::Receiver<bool>,
    res: axum::response::Response,
) -> axum::response::Response {
    let stream = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !stream {
        return res;
    }
    res.map(|body| {
        let stopped = async move {
            let _ = stop.wait_for(|v| *v).await;
        };
        axum::body::Body::from_stream(futures_util::StreamExt::take_until(body.into_data_stream(), stopped))
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one role × action matrix: each module checks its own sheet (`kernel::assert_module!`);
    /// together they name every action once, so a permission cannot mean two things.
    #[test]
    fn the_modules_name_each_action_once() {
        let names: Vec<&str> = modules().iter().flat_map(|m| ((m.policy)().actions)()).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "two policies name the same action");
        for expected in [
            "person.read",
            "alerts.publish",
            "safety.answer",
            "watch.view",
            "aid.ask",
        ] {
            assert!(names.contains(&expected), "{expected} is in the matrix");
        }
    }

    /// Each module checks its own section of machi.toml; a section no module claims, or an unknown
    /// key in a module's section, stops the start with the name.
    #[test]
    fn module_sections_are_checked_by_their_modules() {
        let ok = Config::from_toml("machi.toml", "[watch]\nladder_minutes = 5\n[aid]\nsuggestions = 3\n").unwrap();
        check_config(&ok).unwrap();
        let e = check_config(&Config::from_toml("machi.toml", "[wach]\nladder_minutes = 5\n").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[wach]") && e.contains("watch"), "{e}");
        let e = check_config(&Config::from_toml("machi.toml", "[aid]\nsugestions = 3\n").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[aid]") && e.contains("sugestions"), "{e}");
        let e = check_config(&Config::from_toml("machi.toml", "[watch]\ncheckpoint_frames = 5\n").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoint_frames"), "{e}");
    }

    /// The rooms of every crate call downwards only: `model` (pure) ← `store` ← `service` ←
    /// `http` / `jobs`, and `http` and `jobs` never call each other (both go through the
    /// service). In the kernel, `web` (pages) never reaches into `http`.
    #[test]
    fn rooms_call_downwards_only() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let forbidden: &[(&str, &[&str])] = &[
            ("model", &["store", "service", "http", "jobs", "web"]),
            ("store", &["service", "http", "jobs", "web"]),
            ("service", &["http", "jobs", "web"]),
            ("http", &["jobs"]),
            ("jobs", &["http"]),
            ("web", &["http"]),
        ];
        let mut found = Vec::new();
        for krate in std::fs::read_dir(&crates).unwrap().flatten() {
            let src = krate.path().join("src");
            for (room, not) in forbidden {
                let mut files = Vec::new();
                let dir = src.join(room);
                if dir.is_dir() {
                    collect_rs(&dir, &mut files);
                }
                let single = src.join(format!("{room}.rs"));
                if single.is_file() {
                    files.push(single);
                }
                for f in files {
                    let text = std::fs::read_to_string(&f).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        let code = line.split("//").next().unwrap_or_default();
                        for other in *not {
                            if code.contains(&format!("crate::{other}::"))
                                || code.contains(&format!("crate::{other}}}"))
                                || code.contains(&format!("crate::{{{other}"))
                            {
                                found.push(format!("{}:{}: {room} → {other}", f.display(), n + 1));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "rooms calling upwards or sideways:\n{}",
            found.join("\n")
        );
    }

    /// A change and the audit entry recording it commit in one transaction
    /// (`audit::append_in`): no code appends entries in a transaction of their own any more,
    /// where a crash between the change and the entry would lose the entry. (The log's own
    /// tests, under `tests/`, still call `append` to exercise the chain.)
    #[test]
    fn audit_entries_are_appended_in_the_changes_transaction() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let own = std::path::Path::new("kernel/src/store/audit.rs");
        let mut found = Vec::new();
        let mut scanned = 0;
        for krate in std::fs::read_dir(&crates).unwrap().flatten() {
            let src = krate.path().join("src");
            if !src.is_dir() {
                continue;
            }
            let mut files = Vec::new();
            collect_rs(&src, &mut files);
            for f in files {
                if f.ends_with(own) {
                    continue;
                }
                scanned += 1;
                let text = std::fs::read_to_string(&f).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    // Spelt in pieces, so that this test does not find itself.
                    let calls = [concat!("audit::", "append("), concat!("append", "_many(")];
                    if calls.iter().any(|c| code.contains(c)) {
                        found.push(format!("{}:{}", f.display(), n + 1));
                    }
                }
            }
        }
        assert!(scanned > 50, "only {scanned} files scanned: wrong directory?");
        assert!(
            found.is_empty(),
            "audit entries appended outside the transaction of their change:\n{}",
            found.join("\n")
        );
    }

    fn collect_rs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                collect_rs(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
}
