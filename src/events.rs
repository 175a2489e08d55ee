//! What the engine tells the outside while it works. The engine never
//! prints and never reads a signal: it reports [`Event`]s to an [`Events`]
//! sink, and the UI layer (`crate::ui`) decides what to show.

use crate::input::Problem;
use crate::limiter::Pause;
use crate::output::RowResult;

/// One thing worth telling the user.
#[derive(Debug)]
pub enum Event<'a> {
    /// A named phase begins ("reading", "applying rows", ...).
    Phase(&'static str),
    /// How many items the current phase will count, when known.
    Total(u64),
    /// Items done in the current phase, and how many of them failed.
    Advanced { items: u64, failed: u64 },
    /// An item already counted turned out to have failed.
    Failed,
    /// The pool is waiting for the tenant (or no longer is).
    Pause(Option<Pause>),
    /// A problem with the input.
    Problem(&'a Problem),
    /// Something the user should know that does not stop the run.
    Warning(&'a str),
    /// What a mapping made of the input (told once, before any write).
    Mapped(&'a crate::input::Scan),
    /// A row finished, with its outcome (shown with `-v`).
    Row(&'a RowResult),
}

/// Where events go.
pub trait Events: Send + Sync {
    fn on(&self, event: Event<'_>);
}
