//! `sebulk validate FILE`: every problem of every row, offline.

use std::path::Path;

use super::{CommandError, Completion};
use crate::cli::{InputArgs, ValidateArgs};
use crate::input::{
    CsvSource, HeaderIssue, Problem, ReadOptions, Record, RowInput, Rules, Validator, map_header,
};
use crate::output::ProblemReport;

/// How many problems the human summary lists before pointing at the report.
const SHOWN_PROBLEMS: usize = 20;

/// What a validation pass found.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    pub rows: u64,
    pub rows_with_problems: u64,
    pub problems: u64,
    pub header_issues: Vec<HeaderIssue>,
}

impl Scan {
    pub fn header_errors(&self) -> usize {
        self.header_issues.iter().filter(|i| i.is_error).count()
    }

    pub fn is_clean(&self) -> bool {
        self.problems == 0 && self.header_errors() == 0
    }
}

/// Opens the input and maps its header.
pub fn open(args: &InputArgs) -> Result<(CsvSource, Validator, Vec<HeaderIssue>), CommandError> {
    let options = ReadOptions {
        encoding: args.encoding.clone(),
        delimiter: args.delimiter,
        sheet: args.sheet.clone(),
    };
    let source = CsvSource::open(&args.file, &options)?;
    let (header, issues) = map_header(source.header(), &args.ignore_columns);
    let rules = Rules {
        mode: args.mode,
        match_by: args.match_by,
    };
    Ok((source, Validator::new(header, rules), issues))
}

/// Reads every row, checking it, and hands each to `on_row`.
pub fn scan(
    args: &InputArgs,
    mut on_row: impl FnMut(&Record, RowInput, &[Problem]) -> Result<(), CommandError>,
) -> Result<Scan, CommandError> {
    let (mut source, mut validator, header_issues) = open(args)?;
    let mut scan = Scan {
        header_issues,
        ..Default::default()
    };
    while let Some(record) = source.next_record() {
        let record = record?;
        let (input, problems) = validator.check(&record);
        scan.rows += 1;
        if !problems.is_empty() {
            scan.rows_with_problems += 1;
            scan.problems += problems.len() as u64;
        }
        on_row(&record, input, &problems)?;
    }
    Ok(scan)
}

/// Problems of the header, as report lines (row 0, line 1).
pub fn header_problems(issues: &[HeaderIssue]) -> impl Iterator<Item = Problem> + '_ {
    issues.iter().map(|issue| Problem {
        row: 0,
        line: 1,
        column: issue.column.clone(),
        value: String::new(),
        message: issue.message.clone(),
    })
}

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
    eprintln!("  {place}{column}{value}: {}", problem.message);
}

pub fn run(args: &ValidateArgs, quiet: bool) -> Result<Completion, CommandError> {
    let input = &args.input;
    let mut report = match &args.report {
        Some(path) => Some(ProblemReport::create(
            path,
            args.force,
            &[input.file.as_path()],
        )?),
        None => None,
    };
    let mut shown = 0usize;
    let mut show = |problem: &Problem| {
        if !quiet && shown < SHOWN_PROBLEMS {
            print_problem(problem);
        }
        shown += 1;
    };
    let (source, _, header_issues) = open(input)?;
    drop(source);
    for problem in header_problems(&header_issues) {
        if let Some(report) = report.as_mut() {
            report.write(&problem)?;
        }
        let is_error = header_issues
            .iter()
            .any(|i| i.is_error && i.message == problem.message);
        if is_error || !quiet {
            show(&problem);
        }
    }
    let scan = scan(input, |_, _, problems| {
        for problem in problems {
            if let Some(report) = report.as_mut() {
                report.write(problem)?;
            }
            show(problem);
        }
        Ok(())
    })?;
    if let Some(report) = report {
        report.finish()?;
    }
    summarize(&input.file, &scan, args.report.as_deref(), shown, quiet);
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
    let warnings = scan.header_issues.len() - scan.header_errors();
    eprintln!(
        "{name}: {} rows; {} with problems ({} problems); {} header errors, {} warnings",
        scan.rows,
        scan.rows_with_problems,
        scan.problems,
        scan.header_errors(),
        warnings
    );
}
