//! `sebulk validate FILE`: every problem of every row, offline.

use std::path::Path;

use super::{CommandError, Completion};
use crate::input::{InputSpec, Problem, Scan, header_problems, open, scan};
use crate::output::ProblemReport;

/// How many problems the human summary lists before pointing at the report.
const SHOWN_PROBLEMS: usize = 20;

/// Prints a problem on stderr the way people read them.
pub fn print_problem(problem: &Problem) {
    let place = if problem.row == 0 {
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
    eprintln!("  {place}{column}{value}: {warning}{}", problem.message);
}

/// The warning for generated passwords that nobody is told.
pub fn untold_passwords_warning(rows: u64) -> Option<String> {
    (rows > 0).then(|| {
        format!(
            "warning: {rows} new user(s) would get a generated password that nobody is told (no --send-email and no sendEmail column)"
        )
    })
}

pub fn run(
    spec: &InputSpec,
    report_path: Option<&Path>,
    force: bool,
    quiet: bool,
) -> Result<Completion, CommandError> {
    let mut report = match report_path {
        Some(path) => Some(ProblemReport::create(path, force, &[spec.file.as_path()])?),
        None => None,
    };
    let mut shown = 0usize;
    let mut show = |problem: &Problem| {
        if (!quiet || problem.is_error()) && shown < SHOWN_PROBLEMS {
            print_problem(problem);
        }
        shown += 1;
    };
    let (source, _, header_issues) = open(spec)?;
    drop(source);
    for problem in header_problems(&header_issues) {
        if let Some(report) = report.as_mut() {
            report.write(&problem)?;
        }
        show(&problem);
    }
    let scan = scan(spec, |_, _, problems| {
        for problem in problems {
            if let Some(report) = report.as_mut() {
                report.write(problem)?;
            }
            show(problem);
        }
        Ok::<_, CommandError>(())
    })?;
    if let Some(report) = report {
        report.finish()?;
    }
    summarize(&spec.file, &scan, report_path, shown, quiet);
    Ok(if scan.is_clean() {
        Completion::Clean
    } else {
        Completion::WithProblems
    })
}

fn summarize(file: &Path, scan: &Scan, report: Option<&Path>, shown: usize, quiet: bool) {
    if quiet && scan.is_clean() {
        return;
    }
    let name = crate::input::reader::shown(file);
    if shown > SHOWN_PROBLEMS {
        match report {
            Some(path) => eprintln!("  … {} more in {}", shown - SHOWN_PROBLEMS, path.display()),
            None => eprintln!(
                "  … {} more (--report FILE lists them all)",
                shown - SHOWN_PROBLEMS
            ),
        }
    }
    if !quiet && let Some(warning) = untold_passwords_warning(scan.untold_passwords) {
        eprintln!("{warning}");
    }
    let header_warnings = scan.header_issues.len() - scan.header_errors();
    eprintln!(
        "{name}: {} rows; {} with errors ({} errors, {} warnings); {} header errors, {} header warnings",
        scan.rows,
        scan.rows_with_errors,
        scan.errors,
        scan.warnings,
        scan.header_errors(),
        header_warnings
    );
}
