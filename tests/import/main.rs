//! Import, plan and validate end to end against the in-process sandbox.

#[path = "../support/mod.rs"]
mod support;

mod faults;
mod pacing;
mod resume;
mod rows;
mod variants;
