//! Row commands: a reusable row runner (reader thread, bounded workers,
//! coalesced memberships, ordered resumable results, two-stage interrupts,
//! `not_attempted` fill, progress events) and the actions plugged into it.

pub mod batcher;
pub mod guard;
pub mod import;
pub mod offboard;
pub mod restore;
pub mod results_sink;
pub mod runner;

pub use runner::{RunError, Stops};
