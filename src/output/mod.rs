//! Everything sebulk writes for people to read later: problem reports,
//! plans and results, always private and never over the input.

pub mod atomic;
pub mod digested;
pub mod files;
pub mod held;
pub mod plan_file;
pub mod problems;
pub mod records;
pub mod report;
pub mod results_file;
pub mod snapshot;

pub use files::{OutputError, beside};
pub use problems::{ProblemLine, ProblemReport};
pub use results_file::writer::{OrderedCsv, Outcome, RowResult};
