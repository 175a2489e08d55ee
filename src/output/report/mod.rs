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

mod changes;
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
    /// Who ran it: `user@host`, as far as known.
    pub operator: Option<String>,
}

/// A run's pace is charted only when a chart says something: this many
/// seconds of it at least, and this many points.
pub const PACE_CHART_SECONDS: u64 = 10;
pub const PACE_CHART_POINTS: usize = 5;

/// Who runs this process: `user@host` from the login name given (`$USER`,
/// else `$LOGNAME`) and the machine's host name; `None` when neither is known.
pub fn operator(user: Option<String>) -> Option<String> {
    let user = user.filter(|u| !u.trim().is_empty());
    match (user, hostname()) {
        (Some(user), Some(host)) => Some(format!("{user}@{host}")),
        (Some(user), None) => Some(user),
        (None, Some(host)) => Some(format!("(user unknown)@{host}")),
        (None, None) => None,
    }
}

/// The host name (gethostname(2)), `None` when it cannot be read.
fn hostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes and we read up to the first NUL only.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// An RFC 3339 time as the reader's local time with its offset
/// (`2026-12-08 03:30:00 +01:00`); a text that is no time is shown as it is.
pub fn local_time(text: &str) -> String {
    match text.parse::<jiff::Timestamp>() {
        Ok(time) => time
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => text.to_string(),
    }
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
        ("Run by", data.operator.clone().unwrap_or_default()),
        ("Started", local_time(text("started_at"))),
        ("Finished", local_time(text("finished_at"))),
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
    page.push_str(&pace(&data.pace));
    if let Some((file, kind)) = &data.rows {
        let shown = data
            .rows_shown
            .clone()
            .unwrap_or_else(|| file.display().to_string());
        let by_change = matches!(data.command.as_str(), "sync" | "apply");
        match rows::section(file, *kind, &shown, by_change) {
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

/// The pace section: a chart when the run was long enough and paced
/// often enough to show something, else one line of what it did.
fn pace(pace: &[PacePoint]) -> String {
    let seconds = pace.last().map_or(0, |p| p.0);
    if seconds >= PACE_CHART_SECONDS && pace.len() >= PACE_CHART_POINTS {
        return format!("<h2>Pace</h2>\n{}", pace_chart(pace));
    }
    let requests: u64 = pace.iter().map(|p| p.1).sum();
    if requests == 0 {
        return String::new();
    }
    let throttled: u64 = pace.iter().map(|p| p.2).sum();
    format!(
        "<p class=\"note\">{requests} requests in {} s ({throttled} answered 429): too short a run for a pace chart.</p>\n",
        seconds.max(1)
    )
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
            pace: (0..=12).map(|s| (s, 40, u64::from(s == 1) * 2)).collect(),
            rows: Some((file.clone(), RowsKind::Results)),
            rows_shown: None,
            operator: Some("ana@hr-box".into()),
        };
        let page = render(&data);
        assert!(page.contains(&format!("The first {ROW_LIMIT} of {} rows", ROW_LIMIT + 5)));
        assert_eq!(page.matches("<tr data-outcome").count(), ROW_LIMIT);
        assert!(page.contains("answers 429 (2 in all)"));
        assert!(page.contains("<dt>Run by</dt><dd>ana@hr-box</dd>"));
    }

    #[test]
    fn a_short_run_gets_a_line_not_a_chart() {
        let data = ReportData {
            command: "import".into(),
            command_line: "sebulk import x.csv".into(),
            ended: "done".into(),
            exit_code: 0,
            summary: serde_json::json!({"started_at": "2026-12-08T02:30:00Z"}),
            pace: vec![(0, 3, 0), (1, 4, 1), (2, 2, 0)],
            rows: None,
            rows_shown: None,
            operator: None,
        };
        let page = render(&data);
        assert!(!page.contains("<h2>Pace</h2>") && !page.contains("<polyline"));
        assert!(page.contains("9 requests in 2 s (1 answered 429)"));
        // Local time, with its offset (whatever this machine's zone).
        let started = local_time("2026-12-08T02:30:00Z");
        assert!(page.contains(&started));
        let offset = started.rsplit(' ').next().unwrap();
        assert!(
            offset.starts_with('+') || offset.starts_with('-'),
            "{started}"
        );
        assert_eq!(local_time("not a time"), "not a time");
    }

    #[test]
    fn the_operator_is_user_at_host() {
        let named = operator(Some("ana".into())).unwrap();
        assert!(named.starts_with("ana@") || named == "ana", "{named}");
        assert_ne!(operator(Some(" ".into())).as_deref(), Some(" "));
    }
}
