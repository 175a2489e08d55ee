//! `--report FILE.html`: one self-contained page about a run, for HR and
//! auditors — what ran, against which tenant, when and how; the outcome
//! counts as a chart; the pace over time and what bounded it; every row
//! with its outcome, field changes and memberships (filterable by
//! outcome); the problems grouped by kind. For a diff: the joiners,
//! leavers, rehires and movers; for `export factors`: second-factor coverage and
//! the users without one.
//!
//! Self-contained and safe: inline CSS and SVG, a few lines of inline
//! script for sorting and filtering (the page reads the same with scripts
//! off), nothing fetched from anywhere, every value escaped (a hostile
//! cell is text, never markup). Written whole and private (0600). Large
//! runs stay usable: beyond [`ROW_LIMIT`] rows the table stops and names
//! the file that holds the rest.

mod html;
mod rows;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::atomic::AtomicOutput;
use super::files::OutputError;
use html::{bars, escape, pace_chart};

/// Rows shown in the table; the rest are named by file.
pub const ROW_LIMIT: usize = 2000;

/// What the rows file of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    /// A results or plan file (one row per input row).
    Results,
    /// A diff's changes file.
    Diff,
    /// An `export factors` file.
    Factors,
    /// `validate`'s problems file.
    Problems,
}

/// One second of a run's pace: seconds from the start, requests and
/// 429s in that second.
pub type PacePoint = (u64, u64, u64);

/// What a report is made of.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The command as typed (`groups import`).
    pub command: String,
    /// The command line, secrets left out.
    pub command_line: String,
    /// How it ended: `done`, `done, with rows to look at`, `refused`, ...
    pub ended: String,
    pub exit_code: u8,
    /// The summary (as `--summary-json` writes it).
    pub summary: Value,
    pub pace: Vec<PacePoint>,
    /// The rows, and what kind of file holds them.
    pub rows: Option<(PathBuf, RowsKind)>,
    /// How a note names where every row is, when not by the rows file
    /// (a copy kept while they went to standard output).
    pub rows_shown: Option<String>,
}

/// Writes the report for `data` at `path` (0600, whole or not at all).
pub fn write(
    path: &Path,
    force: bool,
    taken: &[&Path],
    data: &ReportData,
) -> Result<(), OutputError> {
    let page = render(data);
    let mut out = AtomicOutput::create(path, force, taken)?;
    std::io::Write::write_all(&mut out, page.as_bytes()).map_err(|e| OutputError::io(path, e))?;
    out.commit().map(|_| ())
}

/// The page.
pub fn render(data: &ReportData) -> String {
    let summary = &data.summary;
    let text = |key: &str| summary.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("sebulk {} — {}", data.command, data.ended);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>{}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        html::STYLE,
        escape(&title)
    );
    let mut facts: Vec<(&str, String)> = vec![
        ("Command", data.command_line.clone()),
        ("Tenant", text("tenant").to_string()),
        ("Started", text("started_at").to_string()),
        ("Finished", text("finished_at").to_string()),
        ("Exit code", data.exit_code.to_string()),
    ];
    for (label, key) in [
        ("Input", "input"),
        ("Results", "output"),
        ("Run", "run_id"),
        ("Why", "error"),
        ("What to do", "hint"),
        ("Snapshot", "snapshot"),
        ("What bounded the pace", "bound"),
    ] {
        if !text(key).is_empty() {
            facts.push((label, text(key).to_string()));
        }
    }
    page.push_str("<dl class=\"facts\">");
    for (label, value) in facts.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
    }
    page.push_str("</dl>\n");
    let counts = counts(summary);
    if !counts.is_empty() {
        page.push_str("<h2>Outcomes</h2>\n");
        page.push_str(&bars(&counts));
    }
    if data.pace.len() > 1 {
        page.push_str("<h2>Pace</h2>\n");
        page.push_str(&pace_chart(&data.pace));
    }
    if let Some((file, kind)) = &data.rows {
        let shown = data
            .rows_shown
            .clone()
            .unwrap_or_else(|| file.display().to_string());
        match rows::section(file, *kind, &shown) {
            Ok(section) => page.push_str(&section),
            Err(why) => {
                let _ = write!(
                    page,
                    "<p class=\"note\">The rows could not be read: {}</p>",
                    escape(&why)
                );
            }
        }
    }
    page.push_str(html::SCRIPT);
    page.push_str("</body></html>\n");
    page
}

/// The summary's counts (outcomes, or for a diff its kinds of change),
/// in a fixed order.
fn counts(summary: &Value) -> Vec<(String, u64)> {
    if let Some(counts) = summary.get("counts").and_then(Value::as_object) {
        return counts
            .iter()
            .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
            .collect();
    }
    let keys = [
        "joiners",
        "leavers",
        "rehires",
        "movers",
        "added",
        "removed",
        "changed",
        "unchanged",
        "without_second_factor",
        "records",
    ];
    keys.iter()
        .filter_map(|k| {
            summary
                .get(*k)
                .and_then(Value::as_u64)
                .map(|n| (k.to_string(), n))
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_runs_name_the_file_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.csv");
        let mut text = String::from("row,username,outcome,user_id,changes,error\n");
        for i in 1..=ROW_LIMIT + 5 {
            text.push_str(&format!("{i},user{i},created,{i},,\n"));
        }
        std::fs::write(&file, text).unwrap();
        let data = ReportData {
            command: "import".into(),
            command_line: "sebulk import x.csv".into(),
            ended: "done".into(),
            exit_code: 0,
            summary: serde_json::json!({"counts": {"created": ROW_LIMIT + 5}}),
            pace: vec![(0, 0, 0), (1, 40, 2), (2, 35, 0)],
            rows: Some((file.clone(), RowsKind::Results)),
            rows_shown: None,
        };
        let page = render(&data);
        assert!(page.contains(&format!("The first {ROW_LIMIT} of {} rows", ROW_LIMIT + 5)));
        assert_eq!(page.matches("<tr data-outcome").count(), ROW_LIMIT);
        assert!(page.contains("answers 429 (2 in all)"));
    }
}
