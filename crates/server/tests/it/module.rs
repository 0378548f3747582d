//! A module is only a `kernel::Module` value: this test defines one ("notes": device notes)
//! with a migration, a catalog in both languages, a JSON route, a page with a navigation entry,
//! a policy sheet, an MQTT route, demo data and a command-line subcommand, adds it to
//! `server::modules()` — no kernel, server or machi edit — and shows each part working.
//!
//! It runs in the same process as every other test app: its catalog and templates join the
//! process's, while its navigation shows only on the pages of its own app.

use axum::extract::State;
use axum::response::{Json, Response};
use axum::routing::get;
use kernel::http::extract::Auth;
use kernel::model::policy::{Actor, Policy, Sheet};
use kernel::module::clap::{ArgMatches, Command};
use kernel::module::{Cli, DeviceRoute, Handling, Loading, Running};
use kernel::store::migrate::Migration;
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::{Db, Kernel, Module, Result};

use crate::common;
use reqwest::StatusCode;
use serde_json::{Value, json};

// ---- the module: model and store ----

const MIGRATIONS: &[Migration] = &[Migration {
    name: "0001_notes",
    sqlite: "CREATE TABLE notes (id TEXT PRIMARY KEY, device TEXT NOT NULL, body TEXT NOT NULL, at BIGINT NOT NULL);",
    postgres: "CREATE TABLE notes (id TEXT PRIMARY KEY, device TEXT NOT NULL, body TEXT NOT NULL, at BIGINT NOT NULL);",
}];

async fn add_note(k: &Kernel, device: &str, body: &str) -> Result<()> {
    let (id, at) = (k.new_id(), k.now());
    let q = "INSERT INTO notes (id, device, body, at) VALUES ($1, $2, $3, $4)";
    match &k.db {
        Db::Sqlite(p) => sqlx::query(q)
            .bind(id)
            .bind(device)
            .bind(body)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())?,
        Db::Postgres(p) => sqlx::query(q)
            .bind(id)
            .bind(device)
            .bind(body)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ())?,
    };
    Ok(())
}

async fn notes(db: &Db) -> Result<Vec<(String, String)>> {
    let q = "SELECT device, body FROM notes ORDER BY device, body";
    Ok(match db {
        Db::Sqlite(p) => sqlx::query_as(q).fetch_all(p).await?,
        Db::Postgres(p) => sqlx::query_as(q).fetch_all(p).await?,
    })
}

// ---- policy ----

kernel::policy_actions! {
    ReadNotes = "notes.read",
}

impl Policy for Action {
    type Resource = ();

    fn may(actor: &Actor, _: Action, _: &()) -> bool {
        actor.person_id.is_some()
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

fn sheet() -> Sheet {
    Sheet {
        actions: || Action::ALL.iter().map(|a| a.as_str()).collect(),
        table: "
            actor          read
            anonymous      .
            self           Y
            representative Y
            neighbour      Y
            officer_d1     Y
            officer_d2     Y
            staff          Y
            alerts_staff   Y
            welfare_staff  Y
            admin          Y
            auditor        Y
            medic          Y
            care_manager   Y
            supporter      Y
            shop_owner     Y
            aid_npo        Y
            npo_staff      Y
        ",
        answers: |who| {
            Action::ALL
                .iter()
                .map(|a| kernel::model::policy::may(who, *a, &()))
                .collect()
        },
    }
}

fn sees_nav(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::ReadNotes, &())
}

// ---- http: a JSON route and a page ----

/// The device notes.
#[utoipa::path(get, path = "/notes", responses((status = 200, description = "The device notes")))]
async fn list(State(k): State<Kernel>, auth: Auth) -> Result<Json<Value>> {
    auth.require(Action::ReadNotes, &())?;
    let notes: Vec<Value> = notes(&k.db)
        .await?
        .into_iter()
        .map(|(device, body)| json!({ "device": device, "body": body }))
        .collect();
    Ok(Json(json!({ "notes": notes })))
}

async fn page(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    v.require_login()?;
    let notes: Vec<_> = notes(&k.db)
        .await?
        .into_iter()
        .map(|(device, body)| context! { device, body })
        .collect();
    kernel::web::page(&v, "notes/notes.html", "notes-title", context! { notes })
}

fn api() -> utoipa_axum::router::OpenApiRouter<Kernel> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list))
}

fn pages() -> axum::Router<Kernel> {
    axum::Router::new().route("/notes", get(page))
}

// ---- devices, demo data, command line ----

/// `machi/acks/<device>` with `note:<text>`: more specific than alerts' acknowledgements.
fn device_note(k: Kernel, device: String, payload: String) -> Handling {
    Box::pin(async move { add_note(&k, &device, payload.trim_start_matches("note:")).await })
}

fn demo(k: Kernel) -> Loading {
    Box::pin(async move {
        add_note(&k, "bulb-0001", "welcome").await?;
        Ok(Some("demo notes loaded".to_string()))
    })
}

fn command() -> Command {
    Command::new("notes")
        .about("Device notes")
        .subcommand_required(true)
        .subcommand(Command::new("count").about("Print how many notes there are"))
}

fn run(k: Kernel, m: ArgMatches) -> Running {
    Box::pin(async move {
        match m.subcommand() {
            Some(("count", _)) => Ok(notes(&k.db).await?.len().to_string()),
            _ => Ok(String::new()),
        }
    })
}

/// `[notes]` in machi.toml: the module's own section, typed here, unknown keys refused.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct NotesConfig {
    keep: u32,
}

fn check_notes(c: &kernel::config::Config) -> Result<(), kernel::config::ConfigError> {
    c.section::<NotesConfig>("notes").map(|_| ())
}

fn notes_module() -> Module {
    Module {
        name: "notes",
        migrations: MIGRATIONS,
        messages_ja: include_str!("module/ja.txt"),
        messages_en: include_str!("module/en.txt"),
        api,
        pages,
        nav: &[("/notes", "nav-notes", sees_nav)],
        templates: &[("notes/notes.html", include_str!("module/notes.html"))],
        jobs: kernel::module::no_jobs,
        stop: kernel::module::nothing_to_stop,
        home: kernel::module::no_home,
        policy: sheet,
        mqtt: &[DeviceRoute {
            topic: "acks",
            prefix: "note:",
            concurrent: false,
            handle: device_note,
        }],
        demo,
        cli: Some(Cli { command, run }),
        config: Some(kernel::config::Section {
            name: "notes",
            check: check_notes,
        }),
        page_context: &[],
    }
}

/// machi's modules and this one: the one line a new module adds to `server::modules()`.
fn modules() -> Vec<Module> {
    let mut all = server::modules();
    all.push(notes_module());
    all
}

// ---- the tests ----

// The checks every module passes: migrations, catalogs, policy sheet, config section.
kernel::assert_module!(notes_module());

#[tokio::test]
async fn a_module_is_one_value_added_to_the_list() {
    // Policy: its action's access-log sentence (`assert_module!` checks the catalogs have it).
    assert_eq!(kernel::web::sentences::action_key("notes.read"), "audit-notes-read");

    // Config: `[notes]` is this module's section; without the module no one claims it, and a
    // typo in it is refused with the key named.
    let config = kernel::config::Config::from_toml("machi.toml", "[notes]\nkeep = 3\n").unwrap();
    let e = server::check_config(&config).unwrap_err().to_string();
    assert!(e.contains("[notes]"), "{e}");
    let typo = kernel::config::Config::from_toml("machi.toml", "[notes]\nkep = 3\n").unwrap();
    assert!(check_notes(&typo).unwrap_err().to_string().contains("kep"));

    // Migration: the app starts with the module's table (and its config section).
    let app = server::testing::spawn_app_of(config, true, modules).await;
    let k = &app.kernel;
    assert_eq!(kernel::config::cached::<NotesConfig>(k, "notes").keep, 3);
    // Demo data: loaded after the kernel's town, in module order (watch's circle first).
    let said = server::load_module_demos(k, &modules()).await.unwrap();
    assert_eq!(said.last().map(String::as_str), Some("demo notes loaded"), "{said:?}");

    // MQTT: `note:` on the acknowledgement topic is this module's, not an alert acknowledgement.
    let routes = server::channels::device_routes(&modules());
    assert!(server::channels::mqtt::topics(&routes).contains(&"machi/acks/+".to_string()));
    assert!(server::channels::dispatch(k, &routes, "acks", "bulb-0002", "note:light is on").await);
    assert!(!server::channels::dispatch(k, &routes, "nobody", "bulb-0002", "note:x").await);

    // JSON route: the policy refuses anonymous visitors, and a resident reads the notes.
    let (status, _) = common::get(&app, "no-token", "/notes").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = reqwest::get(app.url("/api/v1/notes")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let person = kernel::store::accounts::person_by_login(&k.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    let (_, token) = kernel::store::accounts::create_token(k, &person, "test").await.unwrap();
    let (status, body) = common::get(&app, &token, "/notes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "notes": [
            { "device": "bulb-0001", "body": "welcome" },
            { "device": "bulb-0002", "body": "light is on" },
        ] })
    );
    // …documented in the OpenAPI document.
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/notes"]["get"].is_object(), "{}", doc["paths"]);

    // Page and catalog: in both languages, with the module's navigation entry.
    let cookie = common::session_cookie(&app, "tanaka").await;
    for (lang, title, nav) in [("ja", "機器のメモ", "メモ"), ("en", "Device notes", "Notes")] {
        let res = reqwest::Client::new()
            .get(app.url("/notes"))
            .header("Cookie", format!("{cookie}; machi_lang={lang}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
        assert!(html.contains("bulb-0002: light is on"), "{html}");
        assert!(
            html.contains(&format!(">{nav}<")),
            "the navigation names the module: {html}"
        );
        assert_eq!(
            kernel::i18n::t(kernel::i18n::Lang::En, "audit-notes-read", &[]),
            "Read the device notes"
        );
    }

    // Command line: `machi notes count` as machi would run it.
    let cli = notes_module().cli.unwrap();
    let matches = (cli.command)().try_get_matches_from(["notes", "count"]).unwrap();
    assert_eq!((cli.run)(k.clone(), matches).await.unwrap(), "2");
}

/// Apps of other module lists run in the same process: the notes app's navigation and page show
/// on its own pages only, and preparing it again installs nothing twice.
#[tokio::test]
async fn a_module_shows_only_in_its_own_app() {
    let notes = server::testing::spawn_app_of(kernel::config::Config::default(), true, modules).await;
    let again = server::testing::spawn_app_of(kernel::config::Config::default(), true, modules).await;
    let plain = server::testing::spawn_demo_app().await;
    for (app, has_notes) in [(&notes, true), (&again, true), (&plain, false)] {
        let cookie = common::session_cookie(app, "tanaka").await;
        let page = |path: &'static str| {
            reqwest::Client::new()
                .get(app.url(path))
                .header("Cookie", format!("{cookie}; machi_lang=en"))
                .send()
        };
        let home = page("/").await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let html = home.text().await.unwrap();
        let me = kernel::i18n::t(kernel::i18n::Lang::En, "nav-me", &[]);
        assert!(html.contains(&format!(">{me}<")), "the navigation is there: {html}");
        assert_eq!(html.contains(">Notes<"), has_notes, "{html}");
        let status = page("/notes").await.unwrap().status();
        assert_eq!(
            status,
            if has_notes {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            }
        );
    }
}
