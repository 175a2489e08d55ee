//! Import, plan and validate end to end against the in-process sandbox.

mod arrival;
mod encodings;
mod faults;
mod history;
mod inputs;
mod pacing;
mod presets;
mod resume;
mod rows;
pub mod variants;
