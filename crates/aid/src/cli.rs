//! `machi aid …`: the mutual-aid subcommands of the command line.

use kernel::module::clap::{Arg, ArgMatches, Command, value_parser};
use kernel::module::{Cli, Running};
use kernel::{Kernel, Result};

pub const CLI: Cli = Cli { command, run };

fn command() -> Command {
    Command::new("aid")
        .about("Mutual aid (共助)")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("match")
                .about(
                    "Rank the top suggestions for every open request (trust lookups and the index, as a request's \
                     page does) and print the time per request as JSON: p50/p99/max in ms",
                )
                .arg(
                    Arg::new("top")
                        .long("top")
                        .help("Suggestions per request")
                        .value_parser(value_parser!(usize))
                        .default_value("10"),
                ),
        )
}

fn run(k: Kernel, matches: ArgMatches) -> Running {
    Box::pin(async move {
        match matches.subcommand() {
            Some(("match", m)) => timed_match(&k, m.get_one::<usize>("top").copied().unwrap_or(10)).await,
            _ => Ok(String::new()),
        }
    })
}

/// `machi aid match`: the time to rank suggestions for each open request, as JSON.
async fn timed_match(k: &Kernel, top: usize) -> Result<String> {
    let built = std::time::Instant::now();
    let index = crate::store::index::current(k).await?;
    let build_ms = built.elapsed().as_secs_f64() * 1000.0;
    let requests = crate::store::open_requests(&k.db, k.now(), 100_000).await?;
    // Per request: the whole, and its two parts (database lookups; ranking in memory).
    let (mut times, mut lookups, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
    let mut found = 0usize;
    for r in &requests {
        let t0 = std::time::Instant::now();
        let index = crate::store::index::current(k).await?;
        let trust = crate::store::index::trust_of(&k.db, &r.requester_id).await?;
        let t1 = std::time::Instant::now();
        let list = crate::store::index::suggest(&index, &crate::service::requests::want_of(k, r), &trust, top);
        let t2 = std::time::Instant::now();
        times.push((t2 - t0).as_secs_f64() * 1000.0);
        lookups.push((t1 - t0).as_secs_f64() * 1000.0);
        ranks.push((t2 - t1).as_secs_f64() * 1000.0);
        found += list.len();
    }
    for v in [&mut times, &mut lookups, &mut ranks] {
        v.sort_by(f64::total_cmp);
    }
    let at = |v: &[f64], p: f64| {
        v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    let pct = |p: f64| at(&times, p);
    Ok(serde_json::json!({
        "supporters": index.len(),
        "requests": requests.len(),
        "index_build_ms": build_ms,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": times.last().copied().unwrap_or(0.0),
        "lookup_p50_ms": at(&lookups, 0.50),
        "lookup_p99_ms": at(&lookups, 0.99),
        "rank_p50_ms": at(&ranks, 0.50),
        "rank_p99_ms": at(&ranks, 0.99),
        "suggested": found,
    })
    .to_string())
}
