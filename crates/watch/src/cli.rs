//! `machi watch …`: the watch-over subcommands of the command line.

use kernel::module::clap::{ArgMatches, Command};
use kernel::module::{Cli, Running};
use kernel::{Kernel, Result};

pub const CLI: Cli = Cli { command, run };

fn command() -> Command {
    Command::new("watch")
        .about("Watch-over (見守り)")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(Command::new("sweep").about(
            "Run one pass of the watch job now (close answered calls, flag missed check-ins, call the next step of \
             each ladder) and print what it did, with the sweep's time, as JSON",
        ))
}

fn run(k: Kernel, matches: ArgMatches) -> Running {
    Box::pin(async move {
        match matches.subcommand() {
            Some(("sweep", _)) => sweep(&k).await,
            _ => Ok(String::new()),
        }
    })
}

/// `machi watch sweep`: one pass of the watch job, as JSON.
async fn sweep(k: &Kernel) -> Result<String> {
    let t = crate::jobs::tick(k).await?;
    Ok(serde_json::json!({
        "sweep_ms": t.sweep_ms,
        "settle_ms": t.settle_ms,
        "opened": t.opened,
        "calls": t.calls,
        "resumed": t.resumed,
        "forgotten": t.forgotten,
    })
    .to_string())
}
