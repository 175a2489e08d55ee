//! The engine every row command runs on, and the pieces two commands
//! share, each named for what it is:
//!
//! - running rows: `runner` (reader thread, bounded workers on `pool`,
//!   memberships coalesced by `batcher`, ordered resumable results,
//!   two-stage interrupts, `not_attempted` fill, progress events) and
//!   `prepared` (rows decided up front, and the run's stamp and files);
//! - recording them: `results_sink` (one recorder of results, journal
//!   and intents; the tally and totals; resumed rows);
//! - judging them: `guard` (the one place a run is cleared to write),
//!   `rehearsal` (rows decided before the first write), `only`;
//! - the tenant and the file: `users` (the tenant lookup), `roster` (a
//!   roster read once, then replayed);
//! - what commands share: `upsert` (a row's user found, decided and
//!   written; import and sync), `leavers` (offboarding steps, holdings
//!   and snapshots; offboard, sync, apply), `give_back` (a snapshot
//!   entry given back; restore, undo), `planned` (plans `apply` carries
//!   out, and their seals).
//!
//! The commands themselves live in `crate::row_commands`, one module each;
//! the engine uses none of them, never prints and never reads signals.
//! Every command counts its rows with one tally (`results_sink::Tally`),
//! reports the same totals (`RunTotals`) and ends as an [`RunEnd`].

pub mod batcher;
pub mod decided_rows;
pub mod give_back;
pub mod guard;
pub mod leavers;
pub mod only;
pub mod plan_rows;
mod pool;
pub mod rehearsal;
pub mod results_sink;
pub mod roster;
pub mod runner;
pub mod upsert;
pub mod users;

pub use runner::{RunError, Stops};

/// How every row command ends: finished, cut short by an interrupt (its
/// summary says how far it got), or refused before any change (`R` says
/// why: a guard's refusal, or import's invalid rows).
#[derive(Debug)]
pub enum RunEnd<S, R = GuardRefusal> {
    Completed(S),
    Interrupted(S),
    /// A dry run that went through, whose real run a guard would refuse
    /// (why): its summary is shown, and it ends as the refusal would.
    WouldBeRefused(S, String),
    Refused(R),
}

impl<S, R> RunEnd<S, R> {
    /// A run that got to its end, or was interrupted on the way.
    pub fn of(summary: S, interrupted: bool) -> Self {
        if interrupted {
            RunEnd::Interrupted(summary)
        } else {
            RunEnd::Completed(summary)
        }
    }

    /// As [`RunEnd::of`], for a run that may be a dry run its real run's
    /// guard would refuse (`would_refuse`: why).
    pub fn planned(summary: S, interrupted: bool, would_refuse: Option<String>) -> Self {
        match would_refuse {
            Some(why) => RunEnd::WouldBeRefused(summary, why),
            None => RunEnd::of(summary, interrupted),
        }
    }

    /// The same end, its summary changed by `change`.
    pub fn map<T>(self, change: impl FnOnce(S) -> T) -> RunEnd<T, R> {
        match self {
            RunEnd::Completed(summary) => RunEnd::Completed(change(summary)),
            RunEnd::Interrupted(summary) => RunEnd::Interrupted(change(summary)),
            RunEnd::WouldBeRefused(summary, why) => RunEnd::WouldBeRefused(change(summary), why),
            RunEnd::Refused(why) => RunEnd::Refused(why),
        }
    }
}

/// Why a guard rail (or a check before any change) refused a run, in a
/// sentence: the run ends with it as an error, nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardRefusal(pub String);

impl From<String> for GuardRefusal {
    fn from(why: String) -> Self {
        GuardRefusal(why)
    }
}

impl std::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run's id: the command (and `plan-` for a dry run), when it started
/// and a random part, so two runs in the same second differ. It names the
/// run in results, summaries and snapshots, and tells undo what the run
/// did.
pub fn new_run_id(kind: crate::output::results_file::writer::RunKind, dry_run: bool) -> String {
    let stamp = crate::formats::utc_now().replace([':', '-'], "");
    format!(
        "{}{}-{}-{:08x}",
        if dry_run { "plan-" } else { "" },
        kind.name(),
        stamp.trim_end_matches('Z'),
        rand::random::<u32>()
    )
}

/// Runs `read` (file reading, which blocks) on the blocking pool, so the
/// runtime's workers go on pacing requests meanwhile.
pub async fn read_blocking<T, E>(
    read: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, runner::RunError>
where
    T: Send + 'static,
    E: Send + 'static,
    runner::RunError: From<E>,
{
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| runner::RunError::Reader(e.to_string()))?
        .map_err(runner::RunError::from)
}

/// A row command's start: when it began, and its file read by `read`
/// off the async workers.
pub async fn read_file<O, T, E>(
    options: &O,
    events: &dyn crate::events::Events,
    read: fn(&O) -> Result<T, E>,
) -> Result<(results_sink::RunClock, T), runner::RunError>
where
    O: Clone + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
    runner::RunError: From<E>,
{
    let started = results_sink::RunClock::start();
    events.on(crate::events::Event::Phase("reading"));
    let options = options.clone();
    let read = read_blocking(move || read(&options)).await?;
    Ok((started, read))
}
