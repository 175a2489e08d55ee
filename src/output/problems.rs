//! The problem report: one CSV line per problem, secrets already masked.

use std::fs::File;
use std::path::Path;

use super::files::{OutputError, create_private};
use crate::input::Problem;

/// Writes problems as `row,line,column,value,problem`.
pub struct ProblemReport {
    writer: csv::Writer<File>,
    path: std::path::PathBuf,
}

impl ProblemReport {
    pub fn create(path: &Path, force: bool, inputs: &[&Path]) -> Result<Self, OutputError> {
        let file = create_private(path, force, inputs)?;
        let mut writer = csv::Writer::from_writer(file);
        writer
            .write_record(["row", "line", "column", "value", "problem"])
            .map_err(|e| OutputError::io(path, e.into()))?;
        Ok(ProblemReport {
            writer,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, problem: &Problem) -> Result<(), OutputError> {
        let row = problem.row.to_string();
        let line = problem.line.to_string();
        self.writer
            .write_record([
                row.as_str(),
                line.as_str(),
                &problem.column,
                &crate::output::sanitize::neutralize(&problem.value),
                &problem.message,
            ])
            .map_err(|e| OutputError::io(&self.path, e.into()))
    }

    pub fn finish(self) -> Result<(), OutputError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| OutputError::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| OutputError::io(&self.path, e))
    }
}
