//! The checks every module passes, run by [`crate::assert_module!`] from the module's own tests:
//! its migrations, its catalogs, its policy sheet and its config section. Each returns the
//! problems found, one line each, so that a failing test names all of them at once.

use std::path::Path;

use super::Module;
use crate::config::Config;
use crate::i18n::{Catalog, Lang};
use crate::store::migrate::Migration;
use crate::store::{ConnectOptions, Db};

/// Migrations are numbered `0001_name`, `0002_name`, … in the order they are listed, with a
/// statement for each backend; `dir` (the crate's `migrations` folder, when it has one) holds the
/// same names for SQLite and PostgreSQL and nothing unlisted.
pub fn migration_problems(m: &Module, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, mig) in m.migrations.iter().enumerate() {
        let expected = format!("{:04}_", i + 1);
        if !mig.name.starts_with(&expected) || mig.name.len() == expected.len() {
            problems.push(format!(
                "{}: migration {} should be named {expected}…",
                m.name, mig.name
            ));
        }
        if mig.sqlite.trim().is_empty() || mig.postgres.trim().is_empty() {
            problems.push(format!("{}: migration {} is empty for a backend", m.name, mig.name));
        }
    }
    if dir.is_dir() {
        problems.extend(crate::store::migrate::parity_problems(dir, m.migrations));
    }
    problems
}

/// The kernel's migrations and then the module's apply to an empty database, and applying them
/// again changes nothing: on SQLite, and on PostgreSQL too when `MACHI_TEST_DATABASE` names one
/// (a schema of its own).
pub async fn apply_problems(m: &Module) -> Vec<String> {
    let mut problems = Vec::new();
    let mut targets = vec![(
        "sqlite::memory:".to_string(),
        ConnectOptions {
            max_connections: Some(1),
            ..Default::default()
        },
    )];
    if let Ok(url) = std::env::var("MACHI_TEST_DATABASE")
        && crate::store::is_postgres_url(&url)
    {
        match fresh_schema(&url).await {
            Ok(schema) => targets.push((
                url,
                ConnectOptions {
                    pg_schema: Some(schema),
                    max_connections: Some(2),
                },
            )),
            Err(e) => problems.push(format!("MACHI_TEST_DATABASE: {e}")),
        }
    }
    let mut lists: Vec<(&str, &[Migration])> = Vec::new();
    if m.name != "kernel" {
        lists.push(("kernel", crate::store::migrate::KERNEL));
    }
    lists.push((m.name, m.migrations));
    for (url, opts) in targets {
        let db = match Db::connect_with(&url, opts).await {
            Ok(db) => db,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let backend = db.backend();
        match crate::store::migrate::run(&db, &lists).await {
            Err(e) => problems.push(format!("{}: on {backend}: {e}", m.name)),
            Ok(_) => match crate::store::migrate::run(&db, &lists).await {
                Ok(again) if again.is_empty() => {}
                Ok(again) => problems.push(format!("{}: on {backend}, applied twice: {again:?}", m.name)),
                Err(e) => problems.push(format!("{}: on {backend}, the second run: {e}", m.name)),
            },
        }
        db.close().await;
    }
    problems
}

/// A new, empty schema in the PostgreSQL database at `url`, for one test's tables.
pub async fn fresh_schema(url: &str) -> crate::Result<String> {
    let schema = format!("t_{}", crate::RandomIds.new_id_lower());
    let admin = Db::connect_with(
        url,
        ConnectOptions {
            max_connections: Some(1),
            ..Default::default()
        },
    )
    .await?;
    if let Db::Postgres(p) = &admin {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(p)
            .await?;
    }
    admin.close().await;
    Ok(schema)
}

/// Every key of the module's catalog is there in Japanese and in English, and every key it uses
/// is in the kernel's catalog or its own, in both: the `t("…")` of its templates, its
/// navigation labels, the access-log sentence of each of its policy actions, and `keys` (those
/// its Rust builds or names, see [`keys_in`]).
pub fn catalog_problems(m: &Module, keys: &[String]) -> Vec<String> {
    let mut own = Catalog::default();
    if let Err(e) = own.add(m.messages_ja, m.messages_en) {
        return vec![format!("{} catalog: {e}", m.name)];
    }
    let mut problems: Vec<String> = own
        .missing_keys()
        .into_iter()
        .map(|p| format!("{}: {p}", m.name))
        .collect();
    let mut all = Catalog::default();
    if m.name != "kernel" {
        all.add(crate::i18n::KERNEL_JA, crate::i18n::KERNEL_EN)
            .expect("the kernel's catalog parses");
    }
    all.add(m.messages_ja, m.messages_en).expect("parsed above");
    problems.extend(all.keys_missing_for(m.templates, &[]));
    let used = m
        .nav
        .iter()
        .map(|(_, label, _)| label.to_string())
        .chain(
            ((m.policy)().actions)()
                .into_iter()
                .map(crate::web::sentences::action_key),
        )
        .chain(keys.iter().cloned());
    for key in used {
        for lang in [Lang::Ja, Lang::En] {
            if !all.has_in(lang, &key) {
                problems.push(format!("{}: {key} ({})", m.name, lang.code()));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The catalog keys named in Rust sources: every string literal that starts with `prefix`
/// (`"watch-"`), leaving out prefixes of built keys (`"watch-role-"`), formats and sentences.
pub fn keys_in(prefix: &str, sources: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = sources
        .iter()
        .flat_map(|src| src.split('"').skip(1).step_by(2))
        .filter(|s| s.starts_with(prefix) && !s.ends_with('-') && !s.contains(['{', ' ', ':', '\\']))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The module's policy sheet (its rows of the role × action matrix) agrees with its rules.
pub fn policy_problems(m: &Module) -> Vec<String> {
    (m.policy)().check(m.name)
}

/// The module's section of machi.toml, if it has one: absent or empty, it takes its defaults;
/// an unknown key in it is refused, named.
pub fn config_problems(m: &Module) -> Vec<String> {
    let Some(section) = m.config else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let name = section.name;
    let parse = |text: &str| Config::from_toml("machi.toml", text).expect("a bare table parses");
    if let Err(e) = (section.check)(&Config::default()) {
        problems.push(format!("[{name}] absent: {e}"));
    }
    if let Err(e) = (section.check)(&parse(&format!("[{name}]\n"))) {
        problems.push(format!("[{name}] empty: {e}"));
    }
    match (section.check)(&parse(&format!("[{name}]\nno_such_key_at_all = 1\n"))) {
        Ok(()) => problems.push(format!("[{name}]: an unknown key is accepted")),
        Err(e) if !e.to_string().contains("no_such_key_at_all") => {
            problems.push(format!("[{name}]: an unknown key is refused without its name: {e}"))
        }
        Err(_) => {}
    }
    problems
}

/// Run a check that needs a database, from a plain `#[test]`.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
        .block_on(f)
}

/// Fail with every problem, one a line.
pub fn assert_none(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

/// The checks every module passes, as tests of the crate that calls it:
///
/// ```ignore
/// #[cfg(test)]
/// mod module_tests {
///     kernel::assert_module!(crate::module(), keys: kernel::module::check::keys_in("watch-", &[include_str!("http/mod.rs")]));
/// }
/// ```
///
/// Four tests: `module_migrations` (numbered, both backends, the crate's `migrations` folder
/// matches the list, they apply to an empty database twice over), `module_catalogs` (ja and en
/// twins; every key of its templates, navigation, policy actions' access-log sentences and
/// `keys` exists), `module_policy` (its sheet agrees with its rules), `module_config` (its
/// machi.toml section parses empty and refuses unknown keys). `keys` is a `Vec<String>` of the
/// keys the module's Rust builds at run time or names (omitted: none).
#[macro_export]
macro_rules! assert_module {
    ($module:expr) => {
        $crate::assert_module!($module, keys: ::std::vec::Vec::<::std::string::String>::new());
    };
    ($module:expr, keys: $keys:expr $(,)?) => {
        #[test]
        fn module_migrations() {
            let m = $module;
            // The calling crate's folder: `env!` expands where the macro is used.
            let dir = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
            let mut problems = $crate::module::check::migration_problems(&m, &dir);
            problems.extend($crate::module::check::block_on($crate::module::check::apply_problems(&m)));
            $crate::module::check::assert_none("migrations", problems);
        }

        #[test]
        fn module_catalogs() {
            let keys: ::std::vec::Vec<::std::string::String> = $keys;
            $crate::module::check::assert_none(
                "catalogs",
                $crate::module::check::catalog_problems(&$module, &keys),
            );
        }

        #[test]
        fn module_policy() {
            $crate::module::check::assert_none(
                "the policy differs from its sheet",
                $crate::module::check::policy_problems(&$module),
            );
        }

        #[test]
        fn module_config() {
            $crate::module::check::assert_none("config", $crate::module::check::config_problems(&$module));
        }
    };
}
