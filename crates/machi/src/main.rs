//! The `machi` command line: serve the platform, migrate, load the demo town, import areas,
//! verify the audit chain, create API tokens, back up — and each module's own subcommands
//! (`machi aid …`, `machi watch …`), declared by the module (`Module.cli`).

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use kernel::config::Config;
use kernel::{Error, Kernel, Module};

#[derive(Parser)]
#[command(
    name = "machi",
    version,
    about = "machi — the town's common platform (まちの共通プラットフォーム)"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// SQLite file path or postgres:// URL [default: ./machi.db] [env: DATABASE_URL]
    #[arg(long, global = true)]
    database: Option<String>,
    /// Configuration file [default: ./machi.toml when present]
    #[arg(long, global = true, env = "MACHI_CONFIG")]
    config: Option<String>,
    /// Log format: text or json [env: MACHI_LOG_FORMAT]
    #[arg(long, global = true)]
    log_format: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrates the database first)
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080] [env: MACHI_BIND]
        #[arg(long)]
        bind: Option<String>,
        /// Load the demo town みどり市 first (if the database is empty) and print the logins
        #[arg(long)]
        demo: bool,
        /// The URL people reach machi at (https makes cookies Secure) [env: MACHI_PUBLIC_URL]
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Create or update the database schema, then exit
    Migrate,
    /// Load the demo town みどり市 into an empty database
    Demo {
        /// Number of residents (60 is the hand-made town; larger towns are generated for benchmarks)
        #[arg(long, default_value_t = 60)]
        residents: usize,
    },
    /// Areas of the town
    Areas {
        #[command(subcommand)]
        command: AreasCommand,
    },
    /// The hash-chained audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Personal API tokens
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Back up the database to FILE (SQLite online backup; for PostgreSQL prints the pg_dump command)
    Backup {
        /// Where to write the backup
        file: String,
    },
}

#[derive(Subcommand)]
enum AreasCommand {
    /// Import areas (町丁目 etc.) from a GeoJSON FeatureCollection; all or nothing
    Import {
        /// GeoJSON file: each feature has properties code, name, and optionally level, parent_code, kana
        file: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every link of the audit chain; report the first broken one
    Verify,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for the account LOGIN and print it (shown only once)
    Create {
        /// The account's login name
        login: String,
        /// What the token is for
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Provision one API token per household (for its home terminal or device), written to FILE
    /// as `household_id<TAB>token` lines; the tokens act for the household's representative
    /// (or its first member)
    Provision {
        /// Where to write the tokens (created with mode 600)
        #[arg(long)]
        out: String,
        /// What the tokens are for
        #[arg(long, default_value = "terminal")]
        name: String,
    },
}

fn main() -> ExitCode {
    let modules = server::modules();
    let matches = command(&modules).get_matches();
    let common = Common::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // A module's subcommand goes to the module; the rest are machi's own.
    let module_command = matches.subcommand().and_then(|(name, m)| {
        let cli = modules
            .iter()
            .filter_map(|module| module.cli)
            .find(|c| (c.command)().get_name() == name)?;
        Some((cli, m.clone()))
    });
    let command = match &module_command {
        Some(_) => None,
        None => Some(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()).command),
    };
    let config = match load_config(&common, command.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("machi: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(&config.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers())
        .enable_all()
        .build()
        .expect("tokio runtime");
    let done = match (command, module_command) {
        (Some(command), _) => rt.block_on(run(command, config)),
        (None, Some((cli, matches))) => rt.block_on(run_module(cli, matches, config)),
        (None, None) => unreachable!("a subcommand is required"),
    };
    match done {
        Ok(code) => code,
        Err(e) => {
            eprintln!("machi: {}", describe(&e));
            ExitCode::from(match e {
                Error::Unavailable(_) => 3,
                _ => 1,
            })
        }
    }
}

/// machi's own commands, and each module's.
fn command(modules: &[Module]) -> clap::Command {
    modules
        .iter()
        .filter_map(|m| m.cli)
        .fold(Cli::command(), |c, cli| c.subcommand((cli.command)()))
}

/// A module's subcommand, once the database is ready; it prints what the module returns.
async fn run_module(cli: kernel::module::Cli, matches: clap::ArgMatches, config: Config) -> Result<ExitCode, Error> {
    let k = server::prepare(config).await?;
    let out = (cli.run)(k, matches).await?;
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(e: &Error) -> String {
    match e {
        Error::Invalid { key, args } | Error::Conflict { key, args } => kernel::i18n::t(
            kernel::i18n::Lang::En,
            key,
            &args.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
        ),
        Error::NotFound { key } | Error::Unauthorized { key } => kernel::i18n::t(kernel::i18n::Lang::En, key, &[]),
        other => other.to_string(),
    }
}

fn load_config(common: &Common, command: Option<&Command>) -> Result<Config, String> {
    let mut c = Config::load(common.config.as_deref()).map_err(|e| e.to_string())?;
    c.apply_env(std::env::vars()).map_err(|e| e.to_string())?;
    if let Some(d) = &common.database {
        c.database = d.clone();
    }
    if let Some(f) = &common.log_format {
        c.log_format = f.clone();
    }
    if let Some(Command::Serve { bind, public_url, .. }) = command {
        if let Some(b) = bind {
            c.bind = b.clone();
        }
        if let Some(u) = public_url {
            c.public_url = Some(u.clone());
        }
    }
    c.check().map_err(|e| e.to_string())?;
    server::check_config(&c).map_err(|e| e.to_string())?;
    Ok(c)
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MACHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error"));
    // Colours only for a person at a terminal: a log file or a collector gets plain lines.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(command: Command, config: Config) -> Result<ExitCode, Error> {
    match command {
        Command::Serve { demo, .. } => serve(config, demo).await?,
        Command::Migrate => {
            server::prepare(config).await?;
            eprintln!("machi: database is up to date");
        }
        Command::Demo { residents } => {
            let k = server::prepare(config).await?;
            load_demo(&k, residents).await?;
        }
        Command::Areas {
            command: AreasCommand::Import { file },
        } => import_areas(config, &file).await?,
        Command::Audit {
            command: AuditCommand::Verify,
        } => return verify_audit(config).await,
        Command::Token {
            command: TokenCommand::Create { login, name },
        } => create_token(config, &login, &name).await?,
        Command::Token {
            command: TokenCommand::Provision { out, name },
        } => provision_tokens(config, &out, &name).await?,
        Command::Backup { file } => backup(&config, &file).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `machi serve`: migrate, load the demo town if asked, and serve until a signal.
async fn serve(config: Config, demo: bool) -> Result<(), Error> {
    let bind = config.bind.clone();
    let k = server::prepare(config).await?;
    if demo {
        load_demo(&k, kernel::demo::MIN_RESIDENTS).await?;
        print_logins(&bind);
    }
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot listen on {bind}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    tracing::info!(%addr, database = k.db.backend(), "machi is serving");
    eprintln!("machi: serving on http://{addr}/ ({} database)", k.db.backend());
    server::serve(k, listener, server::shutdown_signal())
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

/// `machi areas import FILE`: all the file's areas or none, audited.
async fn import_areas(config: Config, file: &str) -> Result<(), Error> {
    let k = server::prepare(config).await?;
    let text = std::fs::read_to_string(file).map_err(|e| Error::Unavailable(format!("cannot read {file}: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid_with("areas-import-invalid", vec![("detail", format!("{file}: {e}"))]))?;
    // The areas and the entry that records their import commit together.
    let mut tx = k.db.begin().await?;
    let n = kernel::store::areas::import_in(&mut tx, &k, &doc, |done, total| {
        if done % 500 == 0 || done == total {
            eprintln!("machi: areas {done}/{total}");
        }
    })
    .await?;
    kernel::store::audit::append_in(
        &mut tx,
        k.now(),
        vec![
            kernel::model::audit::AuditRecord::new(None, "areas.import", format!("file:{file}"))
                .reason(&format!("{n} areas")),
        ],
    )
    .await?;
    tx.commit().await?;
    eprintln!("machi: imported {n} areas from {file}");
    Ok(())
}

/// `machi audit verify`: exit 4 when a link of the chain is broken.
async fn verify_audit(config: Config) -> Result<ExitCode, Error> {
    let k = server::prepare(config).await?;
    match kernel::store::audit::verify(&k.db).await? {
        Ok(n) => println!("audit chain intact: {n} entries verified"),
        Err(broken) => {
            println!("audit chain BROKEN: {broken}");
            return Ok(ExitCode::from(4));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `machi token create LOGIN`: the secret on standard output, once.
async fn create_token(config: Config, login: &str, name: &str) -> Result<(), Error> {
    let k = server::prepare(config).await?;
    let person = kernel::store::accounts::person_by_login(&k.db, login)
        .await?
        .ok_or_else(|| Error::Unavailable(format!("no account with login {login}")))?;
    let (token, secret) = kernel::service::create_token(&k, None, &person, name).await?;
    println!("{secret}");
    eprintln!(
        "machi: token {} for {login} ({name}); it is shown only this once",
        token.hint
    );
    Ok(())
}

/// `machi token provision --out FILE`: one token per household, written to a private file.
async fn provision_tokens(config: Config, out: &str, name: &str) -> Result<(), Error> {
    let k = server::prepare(config).await?;
    // Each batch of tokens commits with its entry; the file is written once all stand.
    let issued = kernel::service::provision_household_tokens(&k, name).await?;
    let mut text = String::with_capacity(issued.len() * 100);
    for (household, secret) in &issued {
        text.push_str(household);
        text.push('\t');
        text.push_str(secret);
        text.push('\n');
    }
    write_private(out, &text).map_err(|e| Error::Unavailable(format!("{out}: {e}")))?;
    eprintln!("machi: {} household tokens written to {out}", issued.len());
    Ok(())
}

/// Write a file only its owner can read (it holds secrets).
fn write_private(path: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut file = opts.open(path)?;
    // An existing file keeps its mode on open: make sure it is the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())
}

async fn load_demo(k: &Kernel, residents: usize) -> Result<(), Error> {
    if kernel::store::demo::is_loaded(&k.db).await? {
        eprintln!("machi: the database already holds people; the demo town is not loaded again");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let town = kernel::demo::generate(residents);
    let total = town.person_count();
    eprintln!("machi: loading the demo town みどり市 with {total} residents");
    let step = (total / 10).max(1);
    let mut next = step;
    let loaded = kernel::store::demo::load(k, &town, |what, done, all| {
        if what == "people" && (done >= next || done == all) {
            eprintln!("machi: {what} {done}/{all}");
            next = done + step;
        }
    })
    .await?;
    // Each module's part of the town (watch-over: tanaka's circle with her family, care manager
    // and supporter), in module order.
    for said in server::load_module_demos(k, &server::modules()).await? {
        eprintln!("machi: {said}");
    }
    eprintln!(
        "machi: demo town loaded in {:.1} s: {} areas, {} organisations, {} households, {} people, {} logins",
        started.elapsed().as_secs_f64(),
        loaded.areas,
        loaded.organisations,
        loaded.households,
        loaded.people,
        loaded.logins
    );
    Ok(())
}

fn print_logins(bind: &str) {
    eprintln!("machi: demo town みどり市 — open http://{bind}/");
    eprintln!(
        "machi: demo logins (password for all: {}):",
        kernel::demo::DEMO_PASSWORD
    );
    eprintln!("machi:   {}", kernel::demo::DEMO_LOGINS.join(", "));
}

async fn backup(config: &Config, file: &str) -> Result<(), Error> {
    if config.is_postgres() {
        println!("pg_dump --format=custom --file '{file}' '{}'", config.database);
        eprintln!("machi: PostgreSQL is backed up with pg_dump; run the command above");
        return Ok(());
    }
    if std::path::Path::new(file).exists() {
        return Err(Error::Unavailable(format!("{file} exists already; choose a new file")));
    }
    let db = kernel::Db::connect(&config.database).await?;
    if let kernel::Db::Sqlite(p) = &db {
        // VACUUM INTO writes a consistent snapshot while others keep reading and writing.
        kernel::store::vacuum_into(p, file).await?;
    }
    eprintln!("machi: backed up {} to {file}", config.database);
    Ok(())
}
