//! Row commands: a reusable row runner (reader thread, bounded workers,
//! coalesced memberships, ordered resumable results, two-stage interrupts,
//! `not_attempted` fill, progress events) and the actions plugged into it:
//! import (which reads its rows as it goes) and the lifecycle commands
//! (offboard, restore, passwords, groups, memberships, undo), which decide
//! their rows up front and run them through `prepared`.

pub mod batcher;
pub mod groups;
pub mod guard;
pub mod import;
pub mod memberships;
pub mod offboard;
pub mod passwords;
pub mod prepared;
pub mod restore;
pub mod results_sink;
pub mod runner;
pub mod undo;
pub mod users;

pub use runner::{RunError, Stops};

/// A run's id: the command (and `plan-` for a dry run), when it started
/// and a random part, so two runs in the same second differ. It names the
/// run in results, summaries and snapshots, and tells undo what the run
/// did.
pub fn new_run_id(kind: crate::output::results::RunKind, dry_run: bool) -> String {
    let stamp = crate::formats::utc_now().replace([':', '-'], "");
    format!(
        "{}{}-{}-{:08x}",
        if dry_run { "plan-" } else { "" },
        kind.name(),
        stamp.trim_end_matches('Z'),
        rand::random::<u32>()
    )
}
