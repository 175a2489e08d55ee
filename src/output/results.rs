//! The results file: one line per input row, in input order, written and
//! flushed as rows finish, so it is valid CSV at every moment and a crashed
//! run can be resumed from it.
//!
//! Rows finish out of order; a reorder window holds the early finishers
//! until the rows before them are done. The caller bounds the window.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::files::{OutputError, Stream};
use super::sanitize::neutralize;

pub use crate::input::columns::RESULT_COLUMNS;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Invalid,
    Failed,
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Skipped,
        Outcome::Invalid,
        Outcome::Failed,
        Outcome::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::NotAttempted => "not_attempted",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether the row's work is done and need not be sent again.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            Outcome::Created | Outcome::Updated | Outcome::Unchanged
        )
    }
}

/// One line of the results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub row: u64,
    pub username: String,
    pub outcome: Outcome,
    pub user_id: String,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
    pub applications_added: Vec<String>,
    pub applications_removed: Vec<String>,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub error: String,
    /// The row's input cells, secrets masked.
    pub cells: Vec<String>,
}

impl RowResult {
    pub fn new(row: u64, username: &str, outcome: Outcome, cells: Vec<String>) -> Self {
        RowResult {
            row,
            username: username.to_string(),
            outcome,
            user_id: String::new(),
            groups_added: Vec::new(),
            groups_removed: Vec::new(),
            applications_added: Vec::new(),
            applications_removed: Vec::new(),
            http_status: None,
            attempts: 0,
            error: String::new(),
            cells,
        }
    }

    /// Adds a reason, keeping earlier ones.
    pub fn add_error(&mut self, message: impl AsRef<str>) {
        if !self.error.is_empty() {
            self.error.push_str("; ");
        }
        self.error.push_str(message.as_ref());
    }

    /// The CSV line, formula-safe.
    pub fn record(&self) -> Vec<String> {
        let mut record = vec![
            self.row.to_string(),
            self.username.clone(),
            self.outcome.as_str().to_string(),
            self.user_id.clone(),
            self.groups_added.join(";"),
            self.groups_removed.join(";"),
            self.applications_added.join(";"),
            self.applications_removed.join(";"),
            self.http_status.map(|s| s.to_string()).unwrap_or_default(),
            self.attempts.to_string(),
            self.error.clone(),
        ];
        record.extend(self.cells.iter().cloned());
        record
            .into_iter()
            .map(|cell| neutralize(&cell).into_owned())
            .collect()
    }
}

/// A CSV file whose lines are numbered rows written in row order as they
/// finish (results and plans alike).
pub struct OrderedCsv {
    writer: csv::Writer<Stream>,
    path: PathBuf,
    pending: BTreeMap<u64, Vec<String>>,
    next_row: u64,
    written: u64,
}

impl OrderedCsv {
    /// Creates the file (0600; `-` for standard output) with `header`.
    pub fn create(
        path: &Path,
        force: bool,
        inputs: &[&Path],
        header: &[String],
    ) -> Result<Self, OutputError> {
        let file = Stream::create(path, force, inputs)?;
        let mut writer = csv::WriterBuilder::new().flexible(false).from_writer(file);
        writer
            .write_record(header)
            .map_err(|e| OutputError::io(path, e.into()))?;
        writer.flush().map_err(|e| OutputError::io(path, e))?;
        Ok(OrderedCsv {
            writer,
            path: path.to_path_buf(),
            pending: BTreeMap::new(),
            next_row: 1,
            written: 0,
        })
    }

    /// A results file: the fixed columns, then the input's own header.
    pub fn results(
        path: &Path,
        force: bool,
        inputs: &[&Path],
        input_header: &[String],
    ) -> Result<Self, OutputError> {
        let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|c| c.to_string()).collect();
        header.extend(input_header.iter().cloned());
        Self::create(path, force, inputs, &header)
    }

    /// Accepts row `row`'s line and writes every line that is now in order.
    pub fn push(&mut self, row: u64, record: Vec<String>) -> Result<(), OutputError> {
        self.pending.insert(row, record);
        let mut wrote = false;
        while let Some(record) = self.pending.remove(&self.next_row) {
            self.writer
                .write_record(&record)
                .map_err(|e| OutputError::io(&self.path, e.into()))?;
            self.next_row += 1;
            self.written += 1;
            wrote = true;
        }
        if wrote {
            self.writer
                .flush()
                .map_err(|e| OutputError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Flushes and syncs; every row must have been pushed.
    pub fn finish(mut self) -> Result<PathBuf, OutputError> {
        if let Some(row) = self.pending.keys().next() {
            return Err(OutputError::io(
                &self.path,
                std::io::Error::other(format!(
                    "row {} finished but row {} never did",
                    row, self.next_row
                )),
            ));
        }
        self.writer
            .flush()
            .map_err(|e| OutputError::io(&self.path, e))?;
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| OutputError::io(&self.path, e.into_error()))?;
        file.sync().map_err(|e| OutputError::io(&self.path, e))?;
        Ok(self.path)
    }
}

/// What an earlier run recorded for one row.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub outcome: Outcome,
    pub result: RowResult,
}

/// Reads an earlier results file: row number → what it recorded. A line
/// cut short by a crash is ignored (that row is simply done again).
pub fn read_results(path: &Path) -> Result<BTreeMap<u64, Recorded>, OutputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| OutputError::io(path, e.into()))?;
    let header = reader
        .headers()
        .map_err(|e| OutputError::io(path, e.into()))?
        .clone();
    let fixed = RESULT_COLUMNS.len();
    if header.len() < fixed || header.iter().take(fixed).ne(RESULT_COLUMNS.iter().copied()) {
        return Err(OutputError::io(
            path,
            std::io::Error::other("this is not a sebulk results file (its first columns differ)"),
        ));
    }
    let width = header.len();
    let mut recorded = BTreeMap::new();
    for record in reader.records() {
        let Ok(record) = record else { continue };
        if record.len() != width {
            continue;
        }
        let get = |i: usize| record.get(i).unwrap_or_default().to_string();
        let (Ok(row), Some(outcome)) = (get(0).parse::<u64>(), Outcome::parse(&get(2))) else {
            continue;
        };
        let list = |i: usize| {
            get(i)
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let result = RowResult {
            row,
            username: get(1),
            outcome,
            user_id: get(3),
            groups_added: list(4),
            groups_removed: list(5),
            applications_added: list(6),
            applications_removed: list(7),
            http_status: get(8).parse().ok(),
            attempts: get(9).parse().unwrap_or(0),
            error: get(10),
            cells: record.iter().skip(fixed).map(str::to_string).collect(),
        };
        recorded.insert(row, Recorded { outcome, result });
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_order_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let header = vec!["username".to_string(), "note".to_string()];
        let mut writer = OrderedCsv::results(&path, false, &[], &header).unwrap();
        let mut second =
            RowResult::new(2, "bo", Outcome::Failed, vec!["bo".into(), "=cmd()".into()]);
        second.add_error("HTTP 400: email");
        writer.push(2, second.record()).unwrap();
        assert_eq!((writer.written, writer.pending.len()), (0, 1));
        let mut first = RowResult::new(1, "ana", Outcome::Created, vec!["ana".into(), "".into()]);
        first.groups_added = vec!["Sales".into(), "Ops".into()];
        writer.push(1, first.record()).unwrap();
        assert_eq!(writer.written, 2);
        writer.finish().unwrap();

        let recorded = read_results(&path).unwrap();
        assert_eq!(recorded[&1].outcome, Outcome::Created);
        assert_eq!(recorded[&1].result.groups_added, vec!["Sales", "Ops"]);
        assert_eq!(
            recorded[&2].result.cells[1], "'=cmd()",
            "formulas are neutralized"
        );
        assert_eq!(recorded[&2].result.error, "HTTP 400: email");
    }

    #[test]
    fn a_cut_line_is_ignored_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut text = RESULT_COLUMNS.join(",");
        text.push_str(",username\n1,ana,created,u1,,,,,201,1,,ana\n2,bo,crea");
        std::fs::write(&path, text).unwrap();
        let recorded = read_results(&path).unwrap();
        assert_eq!(recorded.len(), 1);
        std::fs::write(&path, "row,user\n").unwrap();
        assert!(read_results(&path).is_err());
    }
}
