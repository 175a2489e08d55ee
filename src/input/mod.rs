//! Reading HR exports: the file, its header, its cells, and their checks.
//! Nothing here talks to the tenant.

pub mod cells;
pub mod columns;
pub mod reader;
pub mod validate;

pub use cells::RowInput;
pub use columns::{Column, Header, HeaderIssue, map_header};
pub use reader::{CsvSource, InputError, ReadOptions, Record};
pub use validate::{MatchBy, Mode, Problem, Rules, Validator};
