//! Reading HR exports: the file, its header, its cells, and their checks.
//! Nothing here talks to the tenant.

pub mod cells;
pub mod columns;
pub mod footer;
pub mod mapping;
pub mod reader;
pub mod scan;
pub mod sheet;
pub mod sniff;
pub mod validate;
pub mod vocabulary;

pub use cells::RowInput;
pub use cells::Severity;
pub use reader::{CsvSource, InputError, ReadOptions};
pub use scan::{InputSpec, Scan, header_problems, scan};
pub use validate::{MatchBy, Mode, Problem, Rules, UsernameFrom};
pub use vocabulary::Vocabulary;
