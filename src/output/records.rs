//! Records written as CSV (formula-safe unless told otherwise, with a
//! byte-order mark for Excel if asked) or as JSON lines, to a file that
//! appears whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::atomic::AtomicOutput;
use super::files::OutputError;
use crate::formats::neutralize;

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// A CSV or JSONL writer over the atomic output.
pub struct RecordWriter {
    csv: Option<csv::Writer<AtomicOutput>>,
    jsonl: Option<AtomicOutput>,
    sanitize: bool,
    path: PathBuf,
}

impl RecordWriter {
    /// Opens `path` (`-` for standard output) in `format`.
    pub fn create(
        path: &Path,
        format: Format,
        force: bool,
        excel: bool,
        sanitize: bool,
    ) -> Result<Self, OutputError> {
        let mut file = AtomicOutput::create(path, force, &[])?;
        let (csv, jsonl) = match format {
            Format::Csv => {
                if excel {
                    file.write_all("\u{feff}".as_bytes())
                        .map_err(|e| OutputError::io(path, e))?;
                }
                (Some(csv::WriterBuilder::new().from_writer(file)), None)
            }
            Format::Jsonl => (None, Some(file)),
        };
        Ok(RecordWriter {
            csv,
            jsonl,
            sanitize: sanitize && format == Format::Csv,
            path: path.to_path_buf(),
        })
    }

    /// Writes the CSV header (JSONL has none).
    pub fn header(&mut self, names: &[String]) -> Result<(), OutputError> {
        if let Some(csv) = &mut self.csv {
            csv.write_record(names)
                .map_err(|e| OutputError::io(&self.path, e.into()))?;
        }
        Ok(())
    }

    /// Writes one record: `cells` for CSV, `json` for JSONL (built only
    /// for JSONL).
    pub fn record(
        &mut self,
        cells: &[String],
        json: impl FnOnce() -> Value,
    ) -> Result<(), OutputError> {
        if let Some(csv) = &mut self.csv {
            let written = if self.sanitize {
                csv.write_record(cells.iter().map(|c| neutralize(c).into_owned()))
            } else {
                csv.write_record(cells)
            };
            written.map_err(|e| OutputError::io(&self.path, e.into()))?;
        }
        if let Some(out) = &mut self.jsonl {
            let line = serde_json::to_writer(&mut *out, &json())
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            line.map_err(|e| OutputError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Makes the file appear whole at its path.
    pub fn commit(self) -> Result<Option<PathBuf>, OutputError> {
        let output = match (self.csv, self.jsonl) {
            (Some(csv), _) => csv
                .into_inner()
                .map_err(|e| OutputError::io(&self.path, e.into_error()))?,
            (None, Some(out)) => out,
            (None, None) => return Ok(None),
        };
        output.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_formula_safe_and_jsonl_is_one_object_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut writer = RecordWriter::create(&path, Format::Csv, false, true, true).unwrap();
        writer.header(&["a".into(), "b".into()]).unwrap();
        writer
            .record(&["=1+1".into(), "x".into()], || Value::Null)
            .unwrap();
        writer.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\u{feff}a,b\n'=1+1,x\n"
        );
        let path = dir.path().join("out.jsonl");
        let mut writer = RecordWriter::create(&path, Format::Jsonl, false, true, true).unwrap();
        writer.header(&["a".into()]).unwrap();
        writer
            .record(&["=1".into()], || serde_json::json!({"a": "=1"}))
            .unwrap();
        writer.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":\"=1\"}\n");
    }
}
