//! Everything sebulk writes for people to read later: problem reports,
//! plans and results, always private and never over the input.

pub mod atomic;
pub mod created_groups;
pub mod digested;
pub mod files;
pub mod held;
pub mod intents;
pub mod line_chain;
pub mod plan_file;
pub mod problems;
pub mod recorded;
pub mod records;
pub mod report;
pub mod results;
pub mod snapshot;

pub use files::{OutputError, beside};
pub use problems::{ProblemLine, ProblemReport};
pub use results::{OrderedCsv, Outcome, RowResult};
