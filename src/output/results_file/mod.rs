//! The results file and what stands beside it: everything a row command
//! records of its rows, and what reads it back. A newcomer's map:
//!
//! - [`writer`]: a row's result ([`writer::RowResult`]), its outcome, the
//!   run's stamp, and the ordered, sealed file they are written to (plans
//!   are written through the same [`writer::OrderedCsv`]);
//! - [`reader`]: results files read back (for `--resume` and undo) and the
//!   journal beside a results file, which records each user written the
//!   moment it is known, so a killed run forgets none;
//! - [`intents`]: the writes a run is about to send, so a kill mid-call
//!   leaves a record of what may have landed;
//! - [`line_chain`]: the keyed seals that chain a file's lines;
//! - [`created_groups`]: the groups a run created because its rows named
//!   them, recorded beside the file for undo.

pub mod created_groups;
pub mod intents;
pub mod line_chain;
pub mod reader;
pub mod writer;
