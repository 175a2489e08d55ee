//! The one place that prints. Commands hand it their summaries and the
//! engine's [`Event`]s; it honours `-q` (only errors and problems),
//! `-v` (one line per row), shows a progress bar only on a terminal, uses
//! colour only on a terminal and never with `NO_COLOR`, and escapes control
//! characters in everything it prints, so nothing from a file or a server
//! can retitle a terminal or clear it.

mod log_lines;
pub mod progress;
pub mod summary;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::events::{Event, Events};
use crate::input::Problem;
use progress::Progress;

/// What the user wants to see on stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    pub quiet: bool,
    pub verbose: u8,
    pub progress: bool,
}

/// How many problems are listed on the screen before "… N more".
pub const SHOWN_PROBLEMS: u64 = 20;

/// The printer of one command run.
pub struct Ui {
    quiet: bool,
    verbose: u8,
    progress: bool,
    bar: Mutex<Option<Progress>>,
    problems_seen: AtomicU64,
    /// Every row with its details, not only with `-v` (dry runs of
    /// lifecycle commands: the screen is the plan).
    rows_shown: std::sync::atomic::AtomicBool,
    /// The summary the command ended with, for `--notify` and `--report`.
    kept: Mutex<Option<serde_json::Value>>,
    /// The run's pace, second by second, for `--report`.
    pace: Mutex<Vec<crate::output::report::PacePoint>>,
    /// A private copy of rows that went to standard output, for
    /// `--report`; removed with the printer.
    rows_copy: Mutex<Option<tempfile::TempPath>>,
}

impl Ui {
    /// Shows every row's outcome and details (a dry run's plan).
    pub fn show_rows(&self) {
        self.rows_shown
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn new(output: Output) -> Self {
        Ui {
            quiet: output.quiet,
            verbose: output.verbose,
            progress: output.progress,
            bar: Mutex::new(None),
            problems_seen: AtomicU64::new(0),
            rows_shown: std::sync::atomic::AtomicBool::new(false),
            kept: Mutex::new(None),
            pace: Mutex::new(Vec::new()),
            rows_copy: Mutex::new(None),
        }
    }

    /// Keeps `copy` (removed when the printer goes) for the report.
    pub fn keep_rows_copy(&self, copy: tempfile::TempPath) {
        if let Ok(mut kept) = self.rows_copy.lock() {
            *kept = Some(copy);
        }
    }

    /// The copy of the rows kept, if any.
    pub fn kept_rows_copy(&self) -> Option<std::path::PathBuf> {
        self.rows_copy
            .lock()
            .ok()
            .and_then(|kept| kept.as_ref().map(|p| p.to_path_buf()))
    }

    /// Keeps the run's pace (seconds from the start, requests and 429s
    /// in that second), for the report.
    pub fn keep_pace(&self, pace: Vec<crate::output::report::PacePoint>) {
        if let Ok(mut kept) = self.pace.lock() {
            *kept = pace;
        }
    }

    /// The pace kept.
    pub fn kept_pace(&self) -> Vec<crate::output::report::PacePoint> {
        self.pace.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Keeps the summary the command ends with (what `--summary-json`
    /// writes), for whoever is told of the run's end.
    pub fn keep_summary(&self, summary: &impl serde::Serialize) {
        if let (Ok(value), Ok(mut kept)) = (serde_json::to_value(summary), self.kept.lock()) {
            *kept = Some(value);
        }
    }

    /// The summary kept, if the command made one.
    pub fn kept_summary(&self) -> Option<serde_json::Value> {
        self.kept.lock().ok().and_then(|kept| kept.clone())
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Colour on stderr: only on a terminal, never with `NO_COLOR`.
    pub fn colour() -> bool {
        std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
    }

    /// Sends log lines to stderr around the bar: `-v` raises the level,
    /// `-vv` shows the HTTP traces, `SEBULK_LOG` overrides it.
    pub fn init_logging(&self) {
        let default = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0 | 1) => "warn",
            (false, _) => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("SEBULK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(progress::LogWriter)
            .event_format(log_lines::LogLines {
                colour: Self::colour(),
            })
            .try_init();
    }

    /// A line of information (not with `-q`).
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            progress::write_line(&escape(line.as_ref()));
        }
    }

    /// A warning (not with `-q`).
    pub fn warn(&self, line: impl AsRef<str>) {
        if !self.quiet {
            progress::write_line(&format!("warning: {}", escape(line.as_ref())));
        }
    }

    /// An error line: always shown.
    pub fn error(&self, line: impl AsRef<str>) {
        progress::write_line(&escape(line.as_ref()));
    }

    /// A problem with the input: errors always, warnings not with `-q`;
    /// at most [`SHOWN_PROBLEMS`] of them.
    pub fn problem(&self, problem: &Problem) {
        if self.quiet && !problem.is_error() {
            return;
        }
        if self.problems_seen.fetch_add(1, Ordering::Relaxed) < SHOWN_PROBLEMS {
            progress::write_line(&escape(&problem_line(problem)));
        }
    }

    /// Problems counted but not shown, for "… N more".
    pub fn problems_not_shown(&self) -> u64 {
        self.problems_seen
            .load(Ordering::Relaxed)
            .saturating_sub(SHOWN_PROBLEMS)
    }

    /// Writes `value` as pretty JSON on standard output.
    pub fn json(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::other)?;
        writeln!(out)?;
        out.flush()
    }

    fn with_bar(&self, f: impl FnOnce(&mut Progress)) {
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if bar.is_none() && self.progress {
            *bar = Some(Progress::new(0, "items", true));
        }
        if let Some(bar) = bar.as_mut() {
            f(bar);
        }
    }

    /// Clears the progress bar (before a summary is printed).
    pub fn finish_progress(&self) {
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut bar) = bar.take() {
            bar.finish();
        }
    }
}

impl Events for Ui {
    fn on(&self, event: Event<'_>) {
        match event {
            Event::Phase(phase) => self.with_bar(|bar| bar.set_phase(phase)),
            Event::Total(total) => self.with_bar(|bar| bar.set_length(total)),
            Event::Advanced { items, failed } => self.with_bar(|bar| {
                bar.inc_by(items);
                for _ in 0..failed {
                    bar.failure();
                }
            }),
            Event::Failed => self.with_bar(Progress::failure),
            Event::Pause(pause) => self.with_bar(|bar| bar.show_pause(pause)),
            Event::Problem(problem) => self.problem(problem),
            Event::Warning(text) => self.warn(text),
            Event::Mapped(scan) => self.mapping(scan),
            Event::Row(result) => {
                let plan = self.rows_shown.load(std::sync::atomic::Ordering::Relaxed);
                if (self.verbose >= 1 || plan) && !self.quiet {
                    let detail = if result.error.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", result.error)
                    };
                    progress::write_line(&escape(&format!(
                        "row {} {} {}{detail}",
                        result.row,
                        result.username,
                        result.outcome.as_str()
                    )));
                    if plan {
                        for line in row_details(result) {
                            progress::write_line(&escape(&format!("    {line}")));
                        }
                    }
                }
            }
        }
    }
}

/// What a row did (or would do): field changes and memberships.
fn row_details(result: &crate::output::RowResult) -> Vec<String> {
    let mut lines: Vec<String> = result
        .changes
        .iter()
        .map(|c| crate::model::FieldChange::format(std::slice::from_ref(c)))
        .collect();
    for (what, names) in [
        ("groups +", &result.groups_added),
        ("groups -", &result.groups_removed),
        ("applications +", &result.applications_added),
        ("applications -", &result.applications_removed),
    ] {
        if !names.is_empty() {
            lines.push(format!("{what} {}", names.join(";")));
        }
    }
    lines
}

/// A problem the way people read it.
pub fn problem_line(problem: &Problem) -> String {
    let place = if problem.row == 0 && problem.line > 1 {
        // Not a row and not the header: a footer left out.
        format!("line {}", problem.line)
    } else if problem.row == 0 {
        "header".to_string()
    } else {
        format!("row {} (line {})", problem.row, problem.line)
    };
    let value = if problem.value.is_empty() {
        String::new()
    } else {
        format!(" '{}'", problem.value)
    };
    let column = if problem.column.is_empty() {
        String::new()
    } else {
        format!(" {}", problem.column)
    };
    let warning = if problem.is_error() { "" } else { "warning: " };
    format!("  {place}{column}{value}: {warning}{}", problem.message)
}

/// `text` with every control character shown as an escape (`\u{1b}`,
/// `\n`, ...), so it cannot act on the terminal.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain 'text' é"), "plain 'text' é");
        assert_eq!(escape("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(escape("two\nlines\r"), "two\\nlines\\r");
    }
}
