//! `sebulk validate FILE`: every problem of every row, offline.

use std::path::PathBuf;

use super::{CommandError, Completion};
use crate::input::{InputSpec, Problem, Scan, header_problems, scan};
use crate::output::{ProblemLine, ProblemReport};
use crate::ui::Ui;

/// A validation, resolved.
#[derive(Debug, Clone)]
pub struct ValidateJob {
    pub spec: InputSpec,
    /// The problem report (`-` for standard output).
    pub report: Option<PathBuf>,
    pub force: bool,
    /// `--json`: the summary on standard output.
    pub json: bool,
    /// `--summary-json FILE` (`-` for standard output).
    pub summary_json: Option<PathBuf>,
}

/// What `validate --json` prints.
#[derive(Debug, serde::Serialize)]
struct ValidateSummary<'a> {
    input: String,
    rows: u64,
    rows_with_errors: u64,
    errors: u64,
    warnings: u64,
    header_errors: usize,
    header_warnings: usize,
    untold_passwords: u64,
    report: Option<&'a str>,
    clean: bool,
}

pub fn run(job: &ValidateJob, ui: &Ui) -> Result<Completion, CommandError> {
    if job.json && job.report.as_deref() == Some(std::path::Path::new("-")) {
        return Err(CommandError::usage(
            "the report (-o -) and the JSON summary cannot both go to standard output",
        ));
    }
    let spec = &job.spec;
    let report = match &job.report {
        Some(path) => Some(ProblemReport::create(
            path,
            job.force,
            &[spec.file.as_path()],
        )?),
        None => None,
    };
    let report = std::cell::RefCell::new(report);
    let note = |problem: &Problem| {
        ui.problem(problem);
        match report.borrow_mut().as_mut() {
            Some(report) => report.write(&ProblemLine {
                row: problem.row,
                line: problem.line,
                column: &problem.column,
                value: &problem.value,
                message: &problem.message,
                is_error: problem.is_error(),
            }),
            None => Ok(()),
        }
    };
    // One pass over the input, so standard input works.
    let scan: Scan = scan(
        spec,
        |issues| {
            for problem in header_problems(issues) {
                note(&problem)?;
            }
            Ok::<_, CommandError>(())
        },
        |_, _, problems| {
            for problem in problems {
                note(problem)?;
            }
            Ok(())
        },
    )?;
    for footer in &scan.footers {
        note(footer)?;
    }
    if let Some(report) = report.into_inner() {
        report.finish()?;
    }
    let input = crate::input::reader::shown(&spec.file);
    let shown_report = job.report.as_ref().map(|p| p.display().to_string());
    ui.validate_summary(&input, &scan, shown_report.as_deref());
    let header_errors = scan.header_errors();
    let summary = ValidateSummary {
        input,
        rows: scan.rows,
        rows_with_errors: scan.rows_with_errors,
        errors: scan.errors,
        warnings: scan.warnings,
        header_errors,
        header_warnings: scan.header_issues.len() - header_errors,
        untold_passwords: scan.untold_passwords,
        report: shown_report.as_deref(),
        clean: scan.is_clean(),
    };
    ui.keep_summary(&summary);
    if let Some(path) = &job.summary_json {
        let mut taken = vec![spec.file.as_path()];
        taken.extend(job.report.as_deref());
        super::write_json(path, &summary, &taken)?;
    }
    if job.json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    Ok(if scan.is_clean() {
        Completion::Clean
    } else {
        Completion::WithProblems
    })
}
