//! The watch module's background work, every `sweep_secs` on the kernel's clock: close
//! escalations whose person has signalled since, flag missed check-ins (one escalation per
//! miss), and walk each open escalation up its ladder — first contact, the next after the
//! circle's minutes without 「今から訪問します」, finally the welfare desk — and forget signals
//! older than `keep_signals_days`. Notices go through the durable outbox (web and terminal
//! screens, e-mail). Safe with two nodes: the database decides.

use std::time::{Duration, Instant};

use kernel::{Kernel, Result};

use crate::model::ladder::{self, Step};
use crate::model::rule::{self, RuleKind};
use crate::service::notices::{called_people, circle_link, desk, notify, person_name};
use crate::store::{self, signals};

pub fn spawn(k: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(async move {
        let mut broker: Option<bool> = None;
        loop {
            match tick(&k).await {
                Ok(_) => {
                    // The broker's state is reported when it changes; the HTTP path works either way.
                    // As the MQTT channel saw it last, and not before it has tried: the first pass
                    // runs at start, before the channel connects.
                    let seen = k.config.mqtt.as_ref().and_then(|_| k.health.seen("mqtt"));
                    if seen.is_some() && seen != broker {
                        match seen {
                            Some(true) => tracing::info!("watch: MQTT broker reachable; device signals flow"),
                            _ => tracing::warn!("watch: MQTT broker unreachable; devices must use the HTTP API"),
                        }
                        broker = seen;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "watch job failed; trying again"),
            }
            tokio::time::sleep(Duration::from_secs(crate::config::of(&k).sweep_secs.max(1))).await;
        }
    })]
}

/// Once serving has stopped: the signal writer applies what it holds, so the next start has
/// nothing to catch up on (it would, after a stop without warning).
pub fn stop(k: Kernel) -> kernel::module::Stopping {
    Box::pin(async move {
        if let Some(writer) = k.extensions.get::<signals::Writer>()
            && let Err(e) = writer.settle().await
        {
            tracing::warn!(error = %e, "watch: the signal writer could not apply what it held");
        }
    })
}

/// What one pass did.
#[derive(Debug, Default, PartialEq)]
pub struct Tick {
    pub resumed: usize,
    pub opened: usize,
    pub calls: usize,
    /// Milliseconds the missed-check-in sweep took.
    pub sweep_ms: f64,
    /// Milliseconds spent waiting for the signal writer to apply what it held, first.
    pub settle_ms: f64,
    /// Whether the MQTT broker can be reached (None: not configured).
    pub broker: Option<bool>,
    /// Signals forgotten, older than `keep_signals_days`.
    pub forgotten: u64,
}

pub async fn tick(k: &Kernel) -> Result<Tick> {
    let mut t = Tick {
        broker: k.config.mqtt.as_ref().map(|_| k.health.is_reachable("mqtt")),
        ..Tick::default()
    };
    // Under load the SQLite writer applies signals to `watch_state` a moment after writing
    // them: a person whose signal is written is not flagged for want of it.
    let settling = Instant::now();
    signals::settle(k).await?;
    t.settle_ms = settling.elapsed().as_secs_f64() * 1000.0;
    resume(k, &mut t).await?;
    let started = Instant::now();
    detect(k, &mut t).await?;
    t.sweep_ms = started.elapsed().as_secs_f64() * 1000.0;
    call(k, &mut t).await?;
    forget(k, &mut t).await?;
    Ok(t)
}

/// Signals forgotten per chunk, and chunks per pass: up to 20,000 every `sweep_secs` (10), well
/// above the 333 a second that 100,000 devices reporting every 5 minutes send.
const FORGET_CHUNK: i64 = 2_000;
const FORGET_CHUNKS: usize = 10;

/// Forget the signals older than `keep_signals_days`, a chunk at a time.
async fn forget(k: &Kernel, t: &mut Tick) -> Result<()> {
    let before = k.now() - crate::config::of(k).keep_signals_days as i64 * 86_400_000;
    for _ in 0..FORGET_CHUNKS {
        let n = signals::forget_before(&k.db, before, FORGET_CHUNK).await?;
        t.forgotten += n;
        if n < FORGET_CHUNK as u64 {
            break;
        }
    }
    Ok(())
}

/// The person signalled before anyone went: close, and tell whoever was called.
async fn resume(k: &Kernel, t: &mut Tick) -> Result<()> {
    for (id, circle_id) in signals::resumed(&k.db).await? {
        let mut tx = k.db.begin().await?;
        if !store::close_escalation(&mut tx, k, &id, "signal", None, "signal").await? {
            continue;
        }
        tx.commit().await?;
        t.resumed += 1;
        let circle = store::require(&k.db, &circle_id).await?;
        let name = person_name(k, &circle.person_id).await?;
        let called = called_people(k, &id).await?;
        let notice = crate::model::resumed_notice(&name, &circle_link(k, &circle));
        notify(k, &called, &notice, &format!("watch:{id}:resumed")).await?;
    }
    Ok(())
}

/// Flag missed check-ins: the SQL finds candidates, the model confirms, the database opens one
/// escalation per miss (all of this pass's in one transaction).
pub async fn detect(k: &Kernel, t: &mut Tick) -> Result<()> {
    let now = k.now();
    let started = Instant::now();
    let candidates = signals::candidates(&k.db, now).await?;
    let found = started.elapsed();
    let mut misses = Vec::new();
    for c in candidates {
        let r = c.rule();
        let basis = match r.kind {
            RuleKind::Period => c.last.filter(|&last| rule::period_missed(&r, last, now)),
            RuleKind::Daily => rule::daily_missed(&r, c.last, now),
            RuleKind::OnTooLong => c.last.filter(|&since| rule::on_too_long(&r, since, now)),
        };
        let Some(basis) = basis else { continue };
        misses.push(store::Miss {
            rule_id: c.rule_id,
            circle_id: c.circle_id,
            reason: r.kind.as_str(),
            basis,
        });
    }
    t.opened += store::open_for_misses(k, &misses).await?;
    tracing::debug!(
        candidates_ms = found.as_secs_f64() * 1000.0,
        open_ms = (started.elapsed() - found).as_secs_f64() * 1000.0,
        misses = misses.len(),
        "watch sweep"
    );
    Ok(())
}

/// A visit acknowledged this long ago without an outcome brings the welfare desk in.
const VISIT_REPORT_MS: i64 = 2 * 3_600_000;

/// Call the next step of every escalation that is due.
async fn call(k: &Kernel, t: &mut Tick) -> Result<()> {
    let now = k.now();
    for e in store::stale_visits(k, now - VISIT_REPORT_MS).await? {
        let circle = store::require(&k.db, &e.circle_id).await?;
        let name = person_name(k, &circle.person_id).await?;
        let visitor = person_name(k, e.acknowledged_by.as_deref().unwrap_or_default()).await?;
        let notice = crate::model::stale_visit_notice(&name, &visitor, &circle_link(k, &circle));
        let to: Vec<String> = e.acknowledged_by.iter().cloned().collect();
        notify(
            k,
            &to,
            &notice,
            &format!("watch:{}:stale:{}", e.id, e.acknowledged_at.unwrap_or(0)),
        )
        .await?;
    }
    for e in store::due_calls(&k.db, now).await? {
        let circle = store::require(&k.db, &e.circle_id).await?;
        let quiet = circle
            .quiet_start
            .zip(circle.quiet_end)
            .map(|(a, b)| (a as u32, b as u32));
        let kind = RuleKind::parse(&e.reason).unwrap_or(RuleKind::Period);
        // Nobody is woken for a missed check-in in the quiet hours; the first call waits for their end.
        if e.step < 0 && !rule::call_now(kind, quiet, now) {
            continue;
        }
        // Supporters and volunteers whose training lapsed are skipped (they could not go).
        let mut ladder = Vec::new();
        for (person, role) in store::ladder_with_roles(&k.db, &circle.id).await? {
            if crate::service::require_training(k, &person, Some(&role)).await.is_ok() {
                ladder.push(person);
            }
        }
        // The ladder may have shrunk since the last step: the desk comes next, once.
        if e.step >= ladder.len() as i64 {
            store::stop_ladder(&k.db, &e.id).await?;
            continue;
        }
        let to = e.step + 1;
        let called: Vec<String> = match ladder::step(&ladder, to as usize) {
            Step::Member(p) => vec![p.to_string()],
            Step::WelfareDesk => desk(k).await?,
            Step::Done => {
                store::stop_ladder(&k.db, &e.id).await?;
                continue;
            }
        };
        let next_at = ladder::next_step_at(ladder.len(), to as usize, now, circle.ladder_minutes as u32);
        let name = person_name(k, &circle.person_id).await?;
        let notice =
            crate::model::missed_notice(&name, &e.reason, to as usize >= ladder.len(), &circle_link(k, &circle));
        // Queued before the step is recorded, so a crash in between sends rather than loses the
        // call; the keys make a second attempt (or another node) send nothing twice.
        let attempt = e.next_step_at.unwrap_or(e.opened_at);
        notify(k, &called, &notice, &format!("watch:{}:step{to}:{attempt}", e.id)).await?;
        if store::advance(k, &e, to, next_at, &called).await? {
            t.calls += 1;
        }
    }
    Ok(())
}
