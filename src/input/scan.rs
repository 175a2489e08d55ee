//! One pass over an input: open it, map its header, check every row. Used
//! by validate, plan and import alike, from a plain [`InputSpec`].

use std::path::PathBuf;
use std::sync::Arc;

use super::cells::{RowInput, Severity};
use super::columns::{Column, HeaderIssue, HeaderRules, map_header};
use super::mapping::{Mapper, Mapping};
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
    /// The mapping from the file's columns to ours, if any.
    pub mapping: Option<Arc<Mapping>>,
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
    /// Rows the mapping's filters leave out.
    pub filtered: u64,
    /// What feeds each mapped field, when there is a mapping.
    pub mapping: Vec<String>,
    /// With a mapping: the first rows as mapped, (column, value) pairs
    /// with secrets masked, so what the mapping did is seen before any write.
    pub samples: Vec<(u64, Vec<(String, String)>)>,
    /// Footer rows left out at the end of the file, as warnings naming
    /// their lines (counted in `warnings`).
    pub footers: Vec<Problem>,
    /// The header results and plans repeat ([`InputRows::echo_header`]),
    /// kept so no later pass opens the file only to read it again.
    pub echo_header: Vec<String>,
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

/// The input's rows, mapped when there is a mapping.
pub struct InputRows {
    source: CsvSource,
    mapper: Option<Mapper>,
    /// With a mapping: the file's columns a results file must mask.
    secret_sources: Vec<bool>,
}

impl InputRows {
    /// The header the rows are checked against (mapped, if mapping).
    pub fn header(&self) -> &[String] {
        match &self.mapper {
            Some(mapper) => mapper.header(),
            None => self.source.header(),
        }
    }

    /// The header results and plans repeat: the file's own, whatever a
    /// mapping made of it (its fields are the results' own columns).
    pub fn echo_header(&self) -> &[String] {
        self.source.header()
    }

    /// A row's cells as results and plans repeat them: the file's own,
    /// secrets masked — a column holding one by its name (`header` says)
    /// or, with a mapping, one feeding a secret field.
    pub fn echo(&self, record: &Record, header: &super::columns::Header) -> Vec<String> {
        match &record.source_cells {
            Some(cells) => self.echo_source_cells(cells.clone()),
            None => header.masked(&record.cells),
        }
    }

    /// As [`InputRows::echo`], taking the record (its last use): its
    /// cells are handed on, not copied.
    pub fn echo_owned(&self, record: Record, header: &super::columns::Header) -> Vec<String> {
        match record.source_cells {
            Some(cells) => self.echo_source_cells(cells),
            None => header.masked_owned(record.cells),
        }
    }

    /// A mapped file's own cells, secrets masked.
    fn echo_source_cells(&self, mut echoed: Vec<String>) -> Vec<String> {
        // Cells out of place may have moved a secret anywhere.
        let width = self.source.header().len();
        let shifted = echoed.len() != width && self.secret_sources.iter().any(|s| *s);
        echoed.resize(width, String::new());
        for (cell, secret) in echoed.iter_mut().zip(&self.secret_sources) {
            if (*secret || shifted) && !cell.trim().is_empty() {
                *cell = crate::formats::MASK.to_string();
            }
        }
        echoed
    }

    /// Footer rows left out, as warnings naming their lines; complete
    /// once [`Self::next_record`] has returned `None`.
    pub fn footers(&self) -> Vec<Problem> {
        self.source
            .footers()
            .iter()
            .map(|(line, what)| Problem {
                row: 0,
                line: *line,
                column: String::new(),
                value: String::new(),
                message: format!(
                    "{what} at the end of the file is a footer, not a person: skipped"
                ),
                severity: Severity::Warning,
            })
            .collect()
    }

    /// What feeds each mapped field (empty without a mapping).
    pub fn mapping_lines(&self) -> &[String] {
        self.mapper.as_ref().map_or(&[], |m| m.describe())
    }

    /// The next row, mapped.
    pub fn next_record(&mut self) -> Option<Result<Record, InputError>> {
        let record = self.source.next_record()?;
        Some(record.map(|mut record| {
            if let Some(mapper) = &self.mapper {
                let mapped = mapper.apply(&record.cells);
                record.source_cells = Some(std::mem::replace(&mut record.cells, mapped.cells));
                record.filtered = mapped.filtered;
                record.mapping_problems = mapped.problems;
                record.empty_sources = mapped.empty_sources;
            }
            record
        }))
    }
}

/// Opens the input and maps its header.
pub fn open(spec: &InputSpec) -> Result<(InputRows, Validator, Vec<HeaderIssue>), InputError> {
    open_with(spec, spec.vocabulary.clone())
}

/// Why a file without a username column cannot be read as it stands,
/// and the flag that reads it: a file naming people by email or
/// employee number is matched on that (`--match-by`).
fn no_username(columns: &[Column]) -> String {
    let key = [
        (Field::EmployeeNumber, "employeeNumber"),
        (Field::Email, "email"),
    ]
    .into_iter()
    .find(|(field, _)| columns.contains(&Column::Text(*field)));
    match key {
        Some((_, name)) => format!(
            "there is no username column: this file names people by {name}, so match on it with --match-by {name} (a new user needs a username: --username-from email|local-part derives one)"
        ),
        None if columns.iter().all(|c| *c == Column::Extra) => "none of its columns is one sebulk knows, so it has no username column: if the header is not the file's first line, --header-row N names the line it is on; if the columns have other names, a mapping names them (sebulk mapping init FILE starts one)".to_string(),
        None => "there is no username column (--username-from email|local-part derives one from the email)".to_string(),
    }
}

/// Opens the input, checking rows against `vocabulary` (which may know
/// more than the spec's, once the tenant has been read).
pub fn open_with(
    spec: &InputSpec,
    vocabulary: Arc<Vocabulary>,
) -> Result<(InputRows, Validator, Vec<HeaderIssue>), InputError> {
    let source = CsvSource::open(&spec.file, &spec.read)?;
    let mut issues = Vec::new();
    let mapper = match &spec.mapping {
        Some(mapping) => {
            let (mapper, mapping_issues) = mapping
                .bind(source.header())
                .map_err(|e| InputError::Mapping(e.to_string()))?;
            issues.extend(mapping_issues);
            Some(mapper)
        }
        None => None,
    };
    let is_secret = |name: &str| super::columns::column_for(name).is_some_and(|c| c.is_secret());
    let mut secret_sources: Vec<bool> = source.header().iter().map(|n| is_secret(n)).collect();
    if let Some(mapper) = &mapper {
        for i in mapper.secret_sources(is_secret) {
            if let Some(secret) = secret_sources.get_mut(i) {
                *secret = true;
            }
        }
    }
    let rows = InputRows {
        source,
        mapper,
        secret_sources,
    };
    let (header, header_issues) = map_header(rows.header(), &spec.header);
    issues.extend(header_issues);
    let source = rows;
    misspelled_required(&mut issues, &header.columns, source.header(), &spec.rules);
    if spec.rules.needs_username() && !header.columns.contains(&Column::Text(Field::Username)) {
        issues.push(HeaderIssue {
            column: "username".to_string(),
            message: no_username(&header.columns),
            is_error: true,
        });
    }
    if let Some(note) = &source.source.encoding_note {
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
        mapping: source.mapping_lines().to_vec(),
        echo_header: source.echo_header().to_vec(),
        ..Default::default()
    };
    while let Some(record) = source.next_record() {
        let record = record?;
        scan.rows += 1;
        if record.filtered.is_some() {
            // Left out by the mapping's filters: not checked, not imported.
            scan.filtered += 1;
            on_row(&record, RowInput::default(), &[])?;
            continue;
        }
        if !scan.mapping.is_empty() && scan.samples.len() < SAMPLES {
            let cells = validator.header().masked(&record.cells);
            let pairs = source
                .header()
                .iter()
                .zip(cells)
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), value))
                .collect();
            scan.samples.push((record.row, pairs));
        }
        let (input, problems) = validator.check(&record);
        let errors = problems.iter().filter(|p| p.is_error()).count() as u64;
        scan.errors += errors;
        scan.warnings += problems.len() as u64 - errors;
        scan.rows_with_errors += u64::from(errors > 0);
        if errors == 0 && spec.rules.untold_password(&input) {
            scan.untold_passwords += 1;
        }
        on_row(&record, input, &problems)?;
    }
    scan.footers = source.footers();
    scan.warnings += scan.footers.len() as u64;
    Ok(scan)
}

/// The columns a row of `rules` cannot do without: its match key, a
/// username unless derived, an email for a user created.
fn required_columns(rules: &Rules) -> Vec<Field> {
    let mut fields = vec![rules.match_by.field()];
    if rules.needs_username() {
        fields.push(Field::Username);
    }
    if rules.mode != super::Mode::Update {
        fields.push(Field::Email);
    }
    fields
}

/// A required column missing while a column named nearly like it is
/// there (`Emial`): the near miss is an error, not a did-you-mean.
fn misspelled_required(
    issues: &mut Vec<HeaderIssue>,
    columns: &[Column],
    names: &[String],
    rules: &Rules,
) {
    for field in required_columns(rules) {
        if columns.contains(&Column::Text(field)) {
            continue;
        }
        let wanted = field.wire();
        for (name, column) in names.iter().zip(columns) {
            if *column != Column::Extra
                || super::columns::near_miss(name).as_deref() != Some(wanted)
            {
                continue;
            }
            let message = format!(
                "there is no {wanted} column, which this run needs, and column '{}' looks like a misspelling of it: rename it '{wanted}' (or, if it is something else, --ignore-column '{}' and add the {wanted} column)",
                name.trim(),
                name.trim()
            );
            issues.retain(|issue| issue.column != *name);
            issues.push(HeaderIssue {
                column: name.clone(),
                message,
                is_error: true,
            });
        }
    }
}

/// How many mapped rows a scan keeps to show.
const SAMPLES: usize = 3;

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
