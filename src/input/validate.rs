//! Row-by-row checks of an input file, offline: every problem of every
//! row, plus duplicates across rows.
//!
//! Duplicate detection keeps one 64-bit hash per distinct username and
//! email, not the values, so a million-row file stays within tens of MB.

use std::collections::HashSet;

use std::sync::Arc;

use super::cells::{RowInput, Severity, parse_row};
use super::columns::Header;
use super::reader::Record;
use super::vocabulary::Vocabulary;
use crate::model::Field;
use crate::model::text::fingerprint;

/// How rows are matched to existing users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchBy {
    #[default]
    Username,
    Email,
    EmployeeNumber,
}

impl MatchBy {
    /// The matching field.
    pub fn field(self) -> Field {
        match self {
            MatchBy::Username => Field::Username,
            MatchBy::Email => Field::Email,
            MatchBy::EmployeeNumber => Field::EmployeeNumber,
        }
    }
}

/// What import will do with rows that match, or do not match, a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Create missing users, update existing ones.
    #[default]
    Upsert,
    /// Create missing users; existing ones are skipped.
    Create,
    /// Update existing users; missing ones fail.
    Update,
}

/// Where a row without a username gets one (`--username-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsernameFrom {
    /// The whole email address.
    Email,
    /// The email address before the `@`.
    LocalPart,
}

impl UsernameFrom {
    /// The username `email` gives.
    pub fn derive(self, email: &str) -> String {
        match self {
            UsernameFrom::Email => email.to_string(),
            UsernameFrom::LocalPart => email.split('@').next().unwrap_or(email).to_string(),
        }
    }
}

/// The rules a row is checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    pub mode: Mode,
    pub match_by: MatchBy,
    /// Rows without a username take one from their email.
    pub username_from: Option<UsernameFrom>,
    /// New users without a password get a generated one (`--auto-password`).
    pub auto_password: bool,
    /// New users are emailed their password unless the row says otherwise.
    pub send_email: bool,
    /// Rows of different people may give one username (`sync`, keyed on
    /// something else, gives a joiner a free one).
    pub usernames_may_repeat: bool,
    /// Only joiners need a username, given them when the run knows who
    /// they are (`sync` keyed on something else): no row needs one offline.
    pub usernames_for_joiners: bool,
}

impl Rules {
    /// Whether every row must give its username: not when it can be
    /// derived, nor in an update feed matched on something else (the
    /// user keeps the username it has), nor when only joiners need one.
    pub fn needs_username(&self) -> bool {
        self.username_from.is_none()
            && !self.usernames_for_joiners
            && !(self.mode == Mode::Update && self.match_by != MatchBy::Username)
    }

    /// Whether a new user from `row` gets a generated password that
    /// nobody is told (no email sent).
    pub fn untold_password(&self, row: &RowInput) -> bool {
        let options = &row.password;
        let generated = options.auto_generate_password == Some(true)
            || (self.auto_password
                && options.password.is_none()
                && options.auto_generate_password.is_none());
        generated && !options.send_email.unwrap_or(self.send_email)
    }
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1 = first data row; 0 for the header.
    pub row: u64,
    /// The physical line the row starts on.
    pub line: u64,
    pub column: String,
    /// The offending value (secrets masked).
    pub value: String,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    /// Whether the problem keeps the row from being sent (as far as is
    /// known offline: see [`Severity::UnlessTenantUses`]).
    pub fn is_error(&self) -> bool {
        self.severity != Severity::Warning
    }
}

/// Checks rows one at a time, remembering what duplicates need.
pub struct Validator {
    header: Header,
    rules: Rules,
    vocabulary: Arc<Vocabulary>,
    usernames: HashSet<u64>,
    emails: HashSet<u64>,
    employee_numbers: HashSet<u64>,
}

impl Validator {
    pub fn new(header: Header, rules: Rules, vocabulary: Arc<Vocabulary>) -> Self {
        Validator {
            header,
            rules,
            vocabulary,
            usernames: HashSet::new(),
            emails: HashSet::new(),
            employee_numbers: HashSet::new(),
        }
    }

    /// The fields every row must have, offline. An upsert's row may
    /// update a user that exists: only a row that creates one needs an
    /// email, and that is known once it is looked up.
    fn required(&self) -> Vec<Field> {
        let mut required = Vec::new();
        let joiners_only = self.rules.usernames_for_joiners;
        if !joiners_only && (self.rules.needs_username() || self.rules.mode != Mode::Update) {
            required.push(Field::Username);
        }
        if self.rules.mode == Mode::Create {
            required.push(Field::Email);
        }
        if !required.contains(&self.rules.match_by.field()) {
            required.push(self.rules.match_by.field());
        }
        required
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Why a required field is empty: what it is made from when that is
    /// what is empty (a template's column, the email `--username-from`
    /// reads), else that it is required.
    fn why_missing(&self, record: &Record, input: &RowInput, name: &str) -> String {
        let empty_source = |field: &str| {
            record
                .empty_sources
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, from)| from.clone())
        };
        if let Some(from) = empty_source(name) {
            return format!(
                "{name} is required: it is made from {from}, which is empty on this row"
            );
        }
        if name == "username"
            && input.set.email.is_none()
            && let Some(how) = self.rules.username_from
        {
            let email = match empty_source("email") {
                Some(from) => format!("the email, made from {from}"),
                None => "the email".to_string(),
            };
            let flag = match how {
                UsernameFrom::Email => "email",
                UsernameFrom::LocalPart => "local-part",
            };
            return format!(
                "username is required: it is derived from {email} (--username-from {flag}), which is empty on this row"
            );
        }
        format!("{name} is required")
    }

    /// A row with cells out of place may carry a secret in any column:
    /// where a file has one, such a row is not read at all (its cells
    /// would be quoted back in problems), only said to be out of shape.
    fn unread_shifted(&self, record: &Record) -> Option<(RowInput, Vec<Problem>)> {
        let width = self.header.columns.len();
        if !self.header.columns.iter().any(|c| c.is_secret()) {
            return None;
        }
        let why = record.shape_problem(width)?;
        let problem = Problem {
            row: record.row,
            line: record.line,
            column: String::new(),
            value: String::new(),
            message: why,
            severity: Severity::Error,
        };
        Some((RowInput::default(), vec![problem]))
    }

    /// Parses and checks one record.
    pub fn check(&mut self, record: &Record) -> (RowInput, Vec<Problem>) {
        if let Some(unread) = self.unread_shifted(record) {
            return unread;
        }
        let (mut input, mut cell_problems) =
            parse_row(&self.header, &record.cells, &self.vocabulary);
        // `--username-from local-part`: usernames are local parts, also
        // when the file (or a preset) gives a sign-in name like a@b.com.
        if self.rules.username_from == Some(UsernameFrom::LocalPart)
            && let Some(username) = &mut input.set.username
            && let Some((local, _)) = username.split_once('@')
        {
            *username = local.to_string();
        }
        if let (None, Some(from), Some(email)) = (
            &input.set.username,
            self.rules.username_from,
            input.set.email.as_deref(),
        ) {
            let username = from.derive(email);
            match crate::model::rules::text_problem("username", &username) {
                None => input.set.username = Some(username),
                Some(message) => cell_problems.push(super::cells::CellProblem {
                    column: "username".to_string(),
                    value: super::cells::shorten(&username).into_owned(),
                    message: format!("the username taken from the email {message}"),
                    severity: Severity::Error,
                }),
            }
        }
        let problem = |column: &str, value: &str, message: String| Problem {
            row: record.row,
            line: record.line,
            column: column.to_string(),
            value: value.to_string(),
            message,
            severity: Severity::Error,
        };
        let mut problems: Vec<Problem> = cell_problems
            .into_iter()
            .map(|p| Problem {
                severity: p.severity,
                ..problem(&p.column, &p.value, p.message)
            })
            .collect();
        problems.extend(
            record
                .mapping_problems
                .iter()
                .map(|(column, value, message)| problem(column, value, message.clone())),
        );
        if let Some(why) = record.shape_problem(self.header.columns.len()) {
            problems.push(problem("", "", why));
        }
        let failed_column = |name: &str| problems.iter().any(|p| p.column == name);
        let mut missing = Vec::new();
        for field in self.required() {
            let name = field.wire();
            if input.set.text(field).is_none() && !failed_column(name) {
                missing.push(problem(name, "", self.why_missing(record, &input, name)));
            }
        }
        problems.extend(missing);
        let unique = [
            (
                "username",
                input.set.username.as_deref(),
                &mut self.usernames,
            ),
            ("email", input.set.email.as_deref(), &mut self.emails),
            (
                "employeeNumber",
                input.set.employee_number.as_deref(),
                &mut self.employee_numbers,
            ),
        ];
        for (field, value, seen) in unique {
            // An employee number names one person: two rows with one are
            // two accounts for them (a roster that lists a rehire twice,
            // keyed otherwise, may repeat it, as it may a username).
            let must_be_unique = match field {
                "employeeNumber" => {
                    self.rules.match_by == MatchBy::EmployeeNumber
                        || !self.rules.usernames_may_repeat
                }
                "username" => !self.rules.usernames_may_repeat,
                _ => true,
            };
            if let Some(value) = value.filter(|_| must_be_unique)
                && !seen.insert(fingerprint(value))
            {
                let value = super::cells::shorten(value);
                problems.push(problem(
                    field,
                    &value,
                    format!("duplicate {field} '{value}': an earlier row of this file has it too"),
                ));
            }
        }
        (input, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::columns::map_header;

    fn validator(headers: &[&str], rules: Rules) -> Validator {
        let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        Validator::new(
            map_header(&names, &Default::default()).0,
            rules,
            Default::default(),
        )
    }

    fn record(row: u64, cells: &[&str]) -> Record {
        Record {
            filtered: None,
            mapping_problems: Vec::new(),
            source_cells: None,
            empty_sources: Vec::new(),
            row,
            line: row + 1,
            cells: cells.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn required_fields_depend_on_mode_and_matching() {
        // An upsert's row may name a user that exists: no email needed yet.
        let mut v = validator(&["username", "email", "employeeNumber"], Rules::default());
        assert!(v.check(&record(1, &["ana", "", ""])).1.is_empty());

        let create = Rules {
            mode: Mode::Create,
            ..Default::default()
        };
        let mut v = validator(&["username", "email", "employeeNumber"], create);
        let (_, problems) = v.check(&record(1, &["ana", "", ""]));
        assert_eq!(problems.len(), 1);
        assert_eq!(
            (problems[0].column.as_str(), problems[0].line),
            ("email", 2)
        );

        let rules = Rules {
            mode: Mode::Update,
            match_by: MatchBy::EmployeeNumber,
            ..Default::default()
        };
        let mut v = validator(&["username", "email", "employeeNumber"], rules);
        let (_, problems) = v.check(&record(1, &["ana", "", ""]));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].column, "employeeNumber");
    }

    #[test]
    fn duplicates_are_found_ignoring_case() {
        let mut v = validator(&["username", "email"], Rules::default());
        assert!(
            v.check(&record(1, &["ana", "ana@example.com"]))
                .1
                .is_empty()
        );
        let (_, problems) = v.check(&record(2, &["ANA", "Ana@Example.com"]));
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, vec!["username", "email"]);
    }

    #[test]
    fn ragged_rows_are_reported() {
        let mut v = validator(&["username", "email"], Rules::default());
        let (_, problems) = v.check(&record(1, &["ana", "ana@example.com", "extra"]));
        assert!(problems[0].message.contains("3 cells"));
    }
}
