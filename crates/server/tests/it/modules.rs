//! Modules keep to their own tables: no module's SQL names a table another module's migrations
//! create, no migration declares a foreign key into another module's tables, and so the order of
//! `server::modules()` does not matter to migrating. The kernel's tables (people, households,
//! areas, audit, …) are everyone's: every module builds on them, and the kernel migrates first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The kernel's module: its tables are shared, and it migrates first.
const KERNEL: &str = "kernel";

/// Table names a migration creates (`CREATE TABLE [IF NOT EXISTS] name`).
fn created(sql: &str) -> Vec<String> {
    let words: Vec<String> = words(&sql.to_lowercase());
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if w == "create" && words.get(i + 1).map(String::as_str) == Some("table") {
            let mut j = i + 2;
            if words.get(j).map(String::as_str) == Some("if") {
                j += 3; // if not exists
            }
            out.extend(words.get(j).cloned());
        }
    }
    out
}

/// Identifiers (`[a-z0-9_]+`) in order.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The string literals of Rust source, comments left out.
fn string_literals(src: &str) -> Vec<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            // A char literal ('"', '\'', 'x'); otherwise a lifetime.
            if chars.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c == 'r' && (chars.get(i + 1) == Some(&'"') || chars.get(i + 1) == Some(&'#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut k = start;
            loop {
                if k >= chars.len() {
                    break;
                }
                if chars[k] == '"' && (0..hashes).all(|h| chars.get(k + 1 + h) == Some(&'#')) {
                    break;
                }
                k += 1;
            }
            out.push(chars[start..k.min(chars.len())].iter().collect());
            i = k + 1 + hashes;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    s.push(ch);
                }
                i += 1;
            }
            out.push(s);
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            // An identifier (so the `r` of `for"` or `br"` is not taken for a raw string).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            if chars.get(i) == Some(&'"') && i > 0 && chars[i - 1] == 'b' {
                // b"…": a byte string, read as a string next round.
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Does this literal read like SQL?
fn is_sql(s: &str) -> bool {
    let l = s.to_lowercase();
    [
        "select ",
        "insert into",
        "update ",
        "delete from",
        " from ",
        " join ",
        "references ",
        "create table",
    ]
    .iter()
    .any(|k| l.contains(k))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Who creates which table, from every module's migrations.
fn owners() -> BTreeMap<String, &'static str> {
    let mut owners = BTreeMap::new();
    for m in server::modules() {
        for mig in m.migrations {
            for t in created(mig.sqlite).into_iter().chain(created(mig.postgres)) {
                let before = owners.insert(t.clone(), m.name);
                assert!(
                    before.is_none() || before == Some(m.name),
                    "{t} is created by both {before:?} and {}",
                    m.name
                );
            }
        }
    }
    owners
}

fn crate_dir(module: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(module)
}

/// Tables of another module (not the kernel) among the words of `text`.
fn foreign<'a>(owners: &'a BTreeMap<String, &'static str>, me: &str, text: &str) -> BTreeSet<(&'a str, String)> {
    words(text)
        .into_iter()
        .filter_map(|w| {
            let owner = *owners.get(&w)?;
            (owner != me && owner != KERNEL).then_some((owner, w))
        })
        .collect()
}

#[test]
fn no_module_names_another_modules_tables() {
    let owners = owners();
    assert!(owners.get("alerts") == Some(&"alerts") && owners.get("safety_rounds") == Some(&"safety"));
    let mut problems = Vec::new();
    let mut kernel_reads: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for m in server::modules() {
        // Migrations: no foreign key into another module's tables.
        for mig in m.migrations {
            for (backend, sql) in [("sqlite", mig.sqlite), ("postgres", mig.postgres)] {
                let lower = sql.to_lowercase();
                for part in lower.split("references").skip(1) {
                    if let Some(t) = words(part).first()
                        && let Some(owner) = owners.get(t)
                        && *owner != m.name
                        && *owner != KERNEL
                    {
                        problems.push(format!(
                            "{}: migration {} ({backend}) has a foreign key into {owner}'s table {t}",
                            m.name, mig.name
                        ));
                    }
                }
            }
        }
        if m.name == KERNEL {
            continue;
        }
        // The module's SQL, wherever it is in its crate.
        let mut files = Vec::new();
        rust_files(&crate_dir(m.name).join("src"), &mut files);
        assert!(!files.is_empty(), "no sources for module {}", m.name);
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap();
            for lit in string_literals(&src).iter().filter(|s| is_sql(s)) {
                for (owner, t) in foreign(&owners, m.name, lit) {
                    problems.push(format!(
                        "{}: {} names {owner}'s table {t}: {}",
                        m.name,
                        f.display(),
                        lit.chars().take(120).collect::<String>()
                    ));
                }
                for w in words(lit) {
                    if owners.get(&w) == Some(&KERNEL) {
                        kernel_reads.entry(m.name).or_default().insert(w);
                    }
                }
            }
        }
    }
    // The kernel's tables each module's SQL names (allowed; listed for the day modules ask the
    // kernel's functions instead).
    for (m, tables) in &kernel_reads {
        eprintln!(
            "{m} names kernel tables: {}",
            tables.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_finds_sql_in_strings_and_not_in_comments() {
    let src = "// FROM alerts a\nconst Q: &str = \"SELECT a.id FROM alerts a \\\n JOIN x\";\nlet c = '\"'; let s = r#\"DELETE FROM watch_state\"#;";
    let lits = string_literals(src);
    assert_eq!(lits.len(), 2, "{lits:?}");
    assert!(is_sql(&lits[0]) && words(&lits[0]).contains(&"alerts".to_string()));
    assert_eq!(lits[1], "DELETE FROM watch_state");
    assert_eq!(
        created("CREATE TABLE IF NOT EXISTS a_b (x INT); create table c (y)"),
        vec!["a_b", "c"]
    );
}

/// The kernel first (every module builds on its tables), then the modules in the reverse of
/// `server::modules()`: everything migrates, and migrating again in the usual order finds
/// nothing left to do.
#[tokio::test]
async fn modules_migrate_in_any_order() {
    let tdb = server::testing::test_db().await;
    let modules = server::modules();
    assert_eq!(modules[0].name, KERNEL);
    let mut reversed: Vec<(&str, &[kernel::store::migrate::Migration])> =
        modules.iter().map(|m| (m.name, m.migrations)).collect();
    reversed[1..].reverse();
    let applied = kernel::store::migrate::run(&tdb.db, &reversed).await.unwrap();
    let total: usize = modules.iter().map(|m| m.migrations.len()).sum();
    assert_eq!(applied.len(), total, "{applied:?}");
    // The app starts on it (migrations in the usual order: nothing left) and the demo town loads.
    let k = server::prepare_with(tdb.db.clone(), kernel::config::Config::default())
        .await
        .unwrap();
    kernel::store::demo::load(&k, &kernel::demo::generate(kernel::demo::MIN_RESIDENTS), |_, _, _| {})
        .await
        .unwrap();
    let again = kernel::store::migrate::run(&tdb.db, &reversed).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}
