//! Row commands: a reusable row runner (reader thread, bounded workers,
//! coalesced memberships, ordered resumable results, two-stage interrupts,
//! `not_attempted` fill, progress events) and the actions plugged into it.

pub mod batcher;
pub mod groups;
pub mod guard;
pub mod import;
pub mod memberships;
pub mod offboard;
pub mod passwords;
pub mod restore;
pub mod results_sink;
pub mod runner;
pub mod users;

pub use runner::{RunError, Stops};

/// A run's id: when it started and a random part, so two runs in the
/// same second differ. It names the run in results, summaries and
/// snapshots.
pub fn new_run_id() -> String {
    let stamp = crate::output::results::utc_now().replace([':', '-'], "");
    format!(
        "{}-{:08x}",
        stamp.trim_end_matches('Z'),
        rand::random::<u32>()
    )
}
