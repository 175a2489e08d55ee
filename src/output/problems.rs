//! The problem report: one CSV line per problem, secrets already masked.

use std::path::Path;

use super::files::{OutputError, Stream};

/// One line of the report, as the validator found it.
pub struct ProblemLine<'a> {
    pub row: u64,
    pub line: u64,
    pub column: &'a str,
    /// Already masked when it is a secret.
    pub value: &'a str,
    pub message: &'a str,
    pub is_error: bool,
}

/// Writes problems as `row,line,column,value,problem,severity`.
pub struct ProblemReport {
    writer: csv::Writer<Stream>,
    path: std::path::PathBuf,
}

impl ProblemReport {
    /// Creates the report at `path` (`-` for standard output).
    pub fn create(path: &Path, force: bool, inputs: &[&Path]) -> Result<Self, OutputError> {
        let file = Stream::create(path, force, inputs)?;
        let mut writer = csv::Writer::from_writer(file);
        writer
            .write_record(["row", "line", "column", "value", "problem", "severity"])
            .map_err(|e| OutputError::io(path, e.into()))?;
        Ok(ProblemReport {
            writer,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, problem: &ProblemLine<'_>) -> Result<(), OutputError> {
        let row = problem.row.to_string();
        let line = problem.line.to_string();
        self.writer
            .write_record([
                row.as_str(),
                line.as_str(),
                problem.column,
                &crate::formats::neutralize(problem.value),
                problem.message,
                if problem.is_error { "error" } else { "warning" },
            ])
            .map_err(|e| OutputError::io(&self.path, e.into()))
    }

    pub fn finish(self) -> Result<(), OutputError> {
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| OutputError::io(&self.path, e.into_error()))?;
        file.sync().map_err(|e| OutputError::io(&self.path, e))
    }
}
