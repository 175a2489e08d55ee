//! One pass over an input: open it, map its header, check every row. Used
//! by validate, plan and import alike, from a plain [`InputSpec`].

use std::path::PathBuf;
use std::sync::Arc;

use super::cells::{RowInput, Severity};
use super::columns::{Column, HeaderIssue, HeaderRules, map_header};
use super::reader::{CsvSource, InputError, ReadOptions, Record};
use super::validate::{Problem, Rules, Validator};
use super::vocabulary::Vocabulary;
use crate::model::Field;

/// Everything needed to read and check an input, resolved from the
/// command line and the profile.
#[derive(Debug, Clone, Default)]
pub struct InputSpec {
    /// The file (`-` for standard input).
    pub file: PathBuf,
    pub read: ReadOptions,
    /// How the header is read (ignored columns, strictness).
    pub header: HeaderRules,
    pub rules: Rules,
    pub vocabulary: Arc<Vocabulary>,
}

/// What a pass found.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    pub rows: u64,
    /// Rows with at least one error.
    pub rows_with_errors: u64,
    pub errors: u64,
    pub warnings: u64,
    pub header_issues: Vec<HeaderIssue>,
    /// Rows that will give a new user a generated password nobody is told.
    pub untold_passwords: u64,
}

impl Scan {
    pub fn header_errors(&self) -> usize {
        self.header_issues.iter().filter(|i| i.is_error).count()
    }

    pub fn is_clean(&self) -> bool {
        self.errors == 0 && self.header_errors() == 0
    }
}

/// The warning for generated passwords that nobody is told.
pub fn untold_passwords(rows: u64) -> String {
    format!(
        "{rows} new user(s) would get a generated password that nobody is told (no --send-email and no sendEmail column)"
    )
}

/// Opens the input and maps its header.
pub fn open(spec: &InputSpec) -> Result<(CsvSource, Validator, Vec<HeaderIssue>), InputError> {
    open_with(spec, spec.vocabulary.clone())
}

/// Opens the input, checking rows against `vocabulary` (which may know
/// more than the spec's, once the tenant has been read).
pub fn open_with(
    spec: &InputSpec,
    vocabulary: Arc<Vocabulary>,
) -> Result<(CsvSource, Validator, Vec<HeaderIssue>), InputError> {
    let source = CsvSource::open(&spec.file, &spec.read)?;
    let (header, mut issues) = map_header(source.header(), &spec.header);
    if spec.rules.needs_username() && !header.columns.contains(&Column::Text(Field::Username)) {
        issues.push(HeaderIssue {
            column: "username".to_string(),
            message: "there is no username column (an update feed matched on email or employeeNumber needs none; --username-from email|local-part derives one)".to_string(),
            is_error: true,
        });
    }
    if let Some(note) = &source.encoding_note {
        issues.insert(
            0,
            HeaderIssue {
                column: String::new(),
                message: note.clone(),
                is_error: false,
            },
        );
    }
    Ok((
        source,
        Validator::new(header, spec.rules, vocabulary),
        issues,
    ))
}

/// Reads the input once: hands the header's issues to `on_header`, then
/// checks every row and hands each to `on_row`. One pass, so standard
/// input works.
pub fn scan<E: From<InputError>>(
    spec: &InputSpec,
    on_header: impl FnOnce(&[HeaderIssue]) -> Result<(), E>,
    mut on_row: impl FnMut(&Record, RowInput, &[Problem]) -> Result<(), E>,
) -> Result<Scan, E> {
    let (mut source, mut validator, header_issues) = open(spec)?;
    on_header(&header_issues)?;
    let mut scan = Scan {
        header_issues,
        ..Default::default()
    };
    while let Some(record) = source.next_record() {
        let record = record?;
        let (input, problems) = validator.check(&record);
        scan.rows += 1;
        let errors = problems.iter().filter(|p| p.is_error()).count() as u64;
        scan.errors += errors;
        scan.warnings += problems.len() as u64 - errors;
        scan.rows_with_errors += u64::from(errors > 0);
        if errors == 0 && spec.rules.untold_password(&input) {
            scan.untold_passwords += 1;
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
        severity: if issue.is_error {
            Severity::Error
        } else {
            Severity::Warning
        },
    })
}
