//! Maps a header row onto the API's user fields.
//!
//! Header names match ignoring case, spaces, underscores, hyphens and dots,
//! so `First Name`, `first_name` and `FIRSTNAME` are all `firstName`.
//! so are common HR and directory wordings (`Surname`, `Mail`, `Employee
//! ID`) and notes such as `[Required]`. Nothing is dropped silently, and
//! nothing unrelated is fatal: a likely misspelling of a field is a
//! warning with a suggestion (an error with `--strict`), any other extra
//! column a warning.

use std::collections::HashMap;

use crate::formats::results_prefix;
use crate::model::text::edit_distance;
use crate::model::{Field, FieldKind};

/// What one input column feeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// A text field of the user.
    Text(Field),
    /// A boolean field of the user.
    Bool(Field),
    Aliases,
    Groups,
    Applications,
    /// `custom.<Attribute Name>`: one custom attribute.
    Custom(String),
    Password,
    AutoGeneratePassword,
    MustChangePasswordOnLogon,
    SendEmail,
    /// The tenant's id for the user, as exports write it.
    UserId,
    /// When the person starts (HR's start or hire date): `sync` creates
    /// ahead of it, disabled until it comes.
    StartDate,
    /// The first day the person is gone (Termination Date, End Date,
    /// Leaving Date): `sync` makes them a leaver on that day.
    EndDate,
    /// The last day the person works (Last Day, Last Working Day): read
    /// as an end date of the day after, so access ends once it is over.
    LastDay,
    /// A column sebulk does not use (warned about unless told to ignore it).
    Extra,
}

impl Column {
    /// Whether the column holds a secret that must never be echoed.
    pub fn is_secret(&self) -> bool {
        matches!(self, Column::Password)
    }
}

/// The header's mapping, column by column.
#[derive(Debug, Clone)]
pub struct Header {
    /// What each column feeds, in order.
    pub columns: Vec<Column>,
}

impl Header {
    /// The cells as results, plans and samples repeat them: one per
    /// column, secrets masked.
    pub fn masked(&self, cells: &[String]) -> Vec<String> {
        self.masked_owned(cells.to_vec())
    }

    /// As [`Header::masked`], in place: a row read for its last use
    /// hands its cells on without copying them.
    pub fn masked_owned(&self, mut masked: Vec<String>) -> Vec<String> {
        // Cells out of place (too few or too many) may have moved a secret
        // into any column: then every cell is masked.
        let secret = self.columns.iter().any(Column::is_secret);
        let shifted = secret && masked.len() != self.columns.len();
        masked.resize(self.columns.len(), String::new());
        for (cell, column) in masked.iter_mut().zip(&self.columns) {
            if (shifted || column.is_secret()) && !cell.trim().is_empty() {
                *cell = crate::formats::MASK.to_string();
            }
        }
        masked
    }
}

/// A problem with the header itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderIssue {
    pub column: String,
    pub message: String,
    /// Errors stop the run; warnings are reported.
    pub is_error: bool,
}

/// Where the first column named any of `names` (normalised) is.
pub fn position_of(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.contains(&normalize(h).as_str()))
}

/// A header name as it is matched: no case, spaces, underscores,
/// hyphens or dots, and no bracketed note (`First Name [Required]`,
/// `Mobile (optional)`) or trailing `*`.
pub fn normalize(name: &str) -> String {
    let mut text = name.trim();
    loop {
        let before = text;
        text = text.trim_end_matches('*').trim_end();
        for (open, close) in [('[', ']'), ('(', ')')] {
            if text.ends_with(close)
                && let Some(start) = text.rfind(open)
                && start > 0
            {
                text = text[..start].trim_end();
            }
        }
        if text == before {
            break;
        }
    }
    text.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Common HR and directory wording for our fields, beyond their own
/// names (matched after [`normalize`]).
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "startDate",
        &[
            "start date",
            "hire date",
            "start",
            "date of hire",
            "hiredate",
            "start_date",
        ],
    ),
    (
        "endDate",
        &[
            "end date",
            "termination date",
            "leaving date",
            "leave date",
            "separation date",
            "exit date",
            "end_date",
            "terminationdate",
        ],
    ),
    (
        "lastDay",
        &[
            "last day",
            "last working day",
            "last day worked",
            "last date worked",
            "last working date",
            "last day of work",
            "last day of employment",
            "final day",
            "final working day",
            "final day worked",
        ],
    ),
    (
        "username",
        &[
            "login",
            "loginname",
            "logonname",
            "signinname",
            "accountname",
            "userlogin",
        ],
    ),
    (
        "email",
        &[
            "mail",
            "emailaddress",
            "workemail",
            "workemailaddress",
            "businessemail",
            "primaryemail",
            "emailid",
        ],
    ),
    (
        "firstName",
        &["givenname", "forename", "first", "fname", "legalfirstname"],
    ),
    ("middleName", &["middle", "middlenames", "middleinitial"]),
    (
        "lastName",
        &["surname", "familyname", "last", "lname", "legallastname"],
    ),
    (
        "mobile",
        &[
            "mobilephone",
            "mobilenumber",
            "mobileno",
            "mobilephonenumber",
            "cell",
            "cellphone",
            "cellnumber",
        ],
    ),
    (
        "phone",
        &[
            "telephone",
            "telephonenumber",
            "phonenumber",
            "workphone",
            "officephone",
            "businessphone",
        ],
    ),
    ("fax", &["faxnumber", "facsimile"]),
    (
        "employeeNumber",
        &[
            "employeeid",
            "employee#",
            "employeeno",
            "employeenum",
            "empid",
            "emp#",
            "empno",
            "staffid",
            "staffnumber",
            "personnelnumber",
            "workerid",
        ],
    ),
    (
        "jobTitle",
        &[
            "title",
            "position",
            "positiontitle",
            "designation",
            "businesstitle",
        ],
    ),
    ("department", &["dept", "departmentname"]),
    (
        "country",
        &[
            "countrycode",
            "countryorregion",
            "countryregion",
            "nation",
            "usagelocation",
        ],
    ),
    ("state", &["stateorprovince", "province", "stateprovince"]),
    ("city", &["town", "locality"]),
    (
        "postalCode",
        &["zip", "zipcode", "postcode", "ziporpostalcode"],
    ),
    (
        "streetAddress",
        &["street", "address", "addressline1", "streetaddress1"],
    ),
    ("poBox", &["postofficebox"]),
    (
        "employmentType",
        &["employeetype", "workertype", "contracttype"],
    ),
    ("isEnabled", &["enabled", "accountenabled"]),
    (
        "password",
        &[
            "newpassword",
            "initialpassword",
            "temporarypassword",
            "temppassword",
            "userpassword",
            "pwd",
            "passwd",
            "pass",
            "pw",
            "passwort",
            "kennwort",
            "neuespasswort",
            "neueskennwort",
            "initialpasswort",
            "motdepasse",
            "nouveaumotdepasse",
            "mdp",
            "contrasena",
            "contraseña",
            "nuevacontrasena",
            "nuevacontraseña",
            "clave",
        ],
    ),
    ("isLocked", &["locked"]),
];

/// Every name a column may carry, normalized, with what it maps to.
fn known_columns() -> HashMap<String, Column> {
    let mut known = HashMap::new();
    for field in Field::of_kind(FieldKind::Text) {
        known.insert(normalize(field.wire()), Column::Text(field));
    }
    for field in Field::of_kind(FieldKind::Bool) {
        known.insert(normalize(field.wire()), Column::Bool(field));
    }
    let special = [
        ("aliases", Column::Aliases),
        ("groups", Column::Groups),
        ("applications", Column::Applications),
        ("password", Column::Password),
        ("autoGeneratePassword", Column::AutoGeneratePassword),
        (
            "mustChangePasswordOnLogon",
            Column::MustChangePasswordOnLogon,
        ),
        ("sendEmail", Column::SendEmail),
        ("user_id", Column::UserId),
        ("startDate", Column::StartDate),
        ("endDate", Column::EndDate),
        ("lastDay", Column::LastDay),
    ];
    for (name, column) in special {
        known.insert(normalize(name), column);
    }
    for (wire, synonyms) in SYNONYMS {
        if let Some(column) = known.get(&normalize(wire)).cloned() {
            for synonym in *synonyms {
                known
                    .entry(normalize(synonym))
                    .or_insert_with(|| column.clone());
            }
        }
    }
    known
}

/// The column a header name feeds by itself (its own name, a synonym, or
/// `custom.NAME`), if any.
pub fn column_for(name: &str) -> Option<Column> {
    static KNOWN: std::sync::OnceLock<HashMap<String, Column>> = std::sync::OnceLock::new();
    let trimmed = name.trim();
    if let Some(attribute) = custom_attribute_name(trimmed) {
        return Some(Column::Custom(attribute));
    }
    KNOWN
        .get_or_init(known_columns)
        .get(&normalize(trimmed))
        .cloned()
}

/// The known column a header `name` sebulk does not read is likely a
/// misspelling of (`Emial` → `email`), by its canonical name.
pub fn near_miss(name: &str) -> Option<String> {
    let normalized = normalize(name.trim());
    if column_for(name).is_some() {
        return None;
    }
    suggestion(&normalized, &known_columns())
}

/// The column `name` names by its canonical spelling only (`lastName`,
/// `custom.NAME`; any case), as a mapping's targets must.
pub fn canonical_column(name: &str) -> Option<Column> {
    column_for(name).filter(|column| normalize(&display_name(column)) == normalize(name))
}

/// The field a mistyped column name most likely meant: one edit away
/// (two for long names), and never a different word that merely looks
/// alike (`Status` is not `state`).
fn suggestion(normalized: &str, known: &HashMap<String, Column>) -> Option<String> {
    let length = normalized.chars().count();
    let limit = match length {
        0..=4 => return None,
        5..=9 => 1,
        _ => 2,
    };
    known
        .iter()
        .filter(|(name, _)| name.chars().count() >= 5)
        .map(|(name, column)| (edit_distance(normalized, name), name, column))
        .filter(|(distance, _, _)| *distance > 0 && *distance <= limit)
        .min_by_key(|(distance, name, _)| (*distance, (*name).clone()))
        .map(|(_, _, column)| display_name(column))
}

/// The canonical spelling of a column, for messages and exports.
pub fn display_name(column: &Column) -> String {
    match column {
        Column::Text(field) | Column::Bool(field) => field.wire().to_string(),
        Column::Aliases => "aliases".into(),
        Column::Groups => "groups".into(),
        Column::Applications => "applications".into(),
        Column::Custom(name) => format!("custom.{name}"),
        Column::Password => "password".into(),
        Column::AutoGeneratePassword => "autoGeneratePassword".into(),
        Column::MustChangePasswordOnLogon => "mustChangePasswordOnLogon".into(),
        Column::SendEmail => "sendEmail".into(),
        Column::UserId => "user_id".into(),
        Column::StartDate => "startDate".into(),
        Column::EndDate => "endDate".into(),
        Column::LastDay => "lastDay".into(),
        Column::Extra => String::new(),
    }
}

/// The column whose value `column` gives: a last day worked gives the
/// end date, so a file may have one or the other, never both.
fn same_value_as(column: &Column) -> Column {
    match column {
        Column::LastDay => Column::EndDate,
        other => other.clone(),
    }
}

/// Two columns give one field: an error naming both. Which of two end
/// dates is meant cannot be told (a last day worked ends access the day
/// after, a termination date on it): the admin keeps one.
fn both_give(first: &str, name: &str, slot: &Column) -> HeaderIssue {
    let hint = match slot {
        Column::EndDate => format!(
            " (a last day worked ends access the day after it, a termination date on it): keep the one HR means, --ignore-column '{name}' or '{first}'"
        ),
        _ => String::new(),
    };
    HeaderIssue {
        column: name.to_string(),
        message: format!(
            "columns '{first}' and '{name}' both give {}{hint}",
            display_name(slot)
        ),
        is_error: true,
    }
}

/// How a header is read.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    /// Columns dropped without a word (normalized when compared).
    pub ignored: Vec<String>,
    /// Every column that is not a user field is dropped without a word.
    pub ignore_unknown: bool,
    /// A likely misspelling of a field stops the file instead of being
    /// ignored with a warning.
    pub strict: bool,
}

/// How many unknown columns are named one by one before they are
/// listed together.
const NAMED_UNKNOWN: usize = 3;

/// Maps `names` and reports what is wrong with them. Only two things
/// stop a file: two columns for one field and (with `strict`) a likely
/// misspelling; a column sebulk does not use is a warning.
pub fn map_header(names: &[String], rules: &HeaderRules) -> (Header, Vec<HeaderIssue>) {
    let known = known_columns();
    let ignored: Vec<String> = rules.ignored.iter().map(|n| normalize(n)).collect();
    let mut issues = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut columns = Vec::with_capacity(names.len());
    let mut seen: HashMap<Column, String> = HashMap::new();
    // A sebulk results file fed back in: its own leading columns are not input.
    let results_prefix = results_prefix(names);
    for (index, name) in names.iter().enumerate() {
        if index < results_prefix {
            let column = if name == "user_id" {
                Column::UserId
            } else {
                Column::Extra
            };
            if column != Column::Extra {
                seen.insert(column.clone(), name.clone());
            }
            columns.push(column);
            continue;
        }
        let trimmed = name.trim();
        let normalized = normalize(trimmed);
        let column = if let Some(attribute) = custom_attribute_name(trimmed) {
            Column::Custom(attribute)
        } else if let Some(column) = known.get(&normalized) {
            column.clone()
        } else if looks_like_password(&normalized) {
            // Its cells would be repeated in the results as they are.
            issues.push(HeaderIssue {
                column: name.clone(),
                message: format!(
                    "column '{trimmed}' looks like a password column but is not one sebulk reads: rename it 'password' if it holds the passwords to set, or remove it from the file (its cells would otherwise be copied into the results)"
                ),
                is_error: true,
            });
            Column::Extra
        } else if ignored.contains(&normalized) || rules.ignore_unknown {
            Column::Extra
        } else {
            match suggestion(&normalized, &known) {
                Some(meant) => issues.push(HeaderIssue {
                    column: name.clone(),
                    message: if rules.strict {
                        format!("unknown column '{trimmed}': did you mean '{meant}'? (--strict)")
                    } else {
                        format!(
                            "column '{trimmed}' is ignored: did you mean '{meant}'? (rename it, or --ignore-column '{trimmed}')"
                        )
                    },
                    is_error: rules.strict,
                }),
                None if trimmed.is_empty() => issues.push(HeaderIssue {
                    column: name.clone(),
                    message: "a column has no name; its cells are ignored".to_string(),
                    is_error: false,
                }),
                None => unknown.push(trimmed.to_string()),
            }
            Column::Extra
        };
        if column != Column::Extra {
            let slot = same_value_as(&column);
            if let Some(first) = seen.insert(slot.clone(), name.clone()) {
                issues.push(both_give(&first, name, &slot));
            }
        }
        columns.push(column);
    }
    if unknown.len() > NAMED_UNKNOWN {
        issues.push(HeaderIssue {
            column: unknown.join(", "),
            message: format!(
                "{} columns are not user fields and are ignored: {} (--ignore-unknown-columns quiets this; a mapping file can use them)",
                unknown.len(),
                unknown.join(", ")
            ),
            is_error: false,
        });
    } else {
        for name in unknown {
            issues.push(HeaderIssue {
                message: format!(
                    "column '{name}' is not a user field and is ignored (--ignore-column '{name}' quiets this)"
                ),
                column: name,
                is_error: false,
            });
        }
    }
    (Header { columns }, issues)
}

/// Whether a header name (normalized) that sebulk does not read looks
/// like it holds secrets: a password word in English, German, French or
/// Spanish, and no word that makes it a password's metadata instead
/// (`PasswordLastSet`, `Password Never Expires`, `passwordPolicy`).
fn looks_like_password(normalized: &str) -> bool {
    const SECRET: [&str; 8] = [
        "password",
        "passwort",
        "kennwort",
        "motdepasse",
        "contrasena",
        "contraseña",
        "passwd",
        "secret",
    ];
    const METADATA: [&str; 13] = [
        "last", "expir", "never", "change", "date", "time", "age", "policy", "required", "length",
        "hint", "reset", "status",
    ];
    SECRET.iter().any(|w| normalized.contains(w))
        && !METADATA.iter().any(|w| normalized.contains(w))
}

fn custom_attribute_name(header: &str) -> Option<String> {
    let (prefix, rest) = header.split_once('.')?;
    let name = rest.trim();
    (prefix.trim().eq_ignore_ascii_case("custom") && !name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::RESULT_COLUMNS;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn end_dates_are_told_from_last_days_worked() {
        for gone_from in [
            "Termination Date",
            "End Date",
            "Leaving Date",
            "Separation Date",
        ] {
            assert_eq!(column_for(gone_from), Some(Column::EndDate), "{gone_from}");
        }
        for last_day in [
            "Last Day",
            "Last Working Day",
            "Last Day Worked",
            "Final Day",
            "lastDay",
        ] {
            assert_eq!(column_for(last_day), Some(Column::LastDay), "{last_day}");
        }
        let (_, issues) = map_header(
            &names(&["username", "Termination Date", "Last Working Day"]),
            &HeaderRules::default(),
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(issues[0].is_error && issues[0].message.contains("both give endDate"));
    }

    #[test]
    fn spellings_of_a_field_all_match() {
        let (header, issues) = map_header(
            &names(&[
                "User Name",
                "first_name",
                "FIRSTNAME ",
                "E-Mail",
                "is_enabled",
                "Custom.Cost Centre",
                "Groups",
            ]),
            &HeaderRules::default(),
        );
        assert_eq!(header.columns[0], Column::Text(Field::Username));
        assert_eq!(header.columns[1], Column::Text(Field::FirstName));
        assert_eq!(header.columns[3], Column::Text(Field::Email));
        assert_eq!(header.columns[4], Column::Bool(Field::IsEnabled));
        assert_eq!(header.columns[5], Column::Custom("Cost Centre".into()));
        assert_eq!(header.columns[6], Column::Groups);
        // first_name and FIRSTNAME both give firstName.
        assert_eq!(issues.len(), 1);
        assert!(issues[0].is_error && issues[0].message.contains("both give firstName"));
    }

    #[test]
    fn password_columns_in_four_languages_and_lookalikes_refused() {
        for name in [
            "New Password",
            "pwd",
            "initialPassword",
            "Passwort",
            "Mot de passe",
            "Contraseña",
            "Kennwort",
        ] {
            let (header, issues) = map_header(&names(&["username", name]), &HeaderRules::default());
            assert_eq!(header.columns[1], Column::Password, "{name}");
            assert!(issues.is_empty(), "{name}: {issues:?}");
        }
        for name in [
            "Account Password Text",
            "Secret Password Value",
            "Passwort neu 2",
        ] {
            let (_, issues) = map_header(&names(&["username", name]), &HeaderRules::default());
            assert!(
                issues
                    .iter()
                    .any(|i| i.is_error && i.message.contains("looks like a password column")),
                "{name}: {issues:?}"
            );
        }
        for name in [
            "PasswordLastSet",
            "Password Never Expires",
            "passwordPolicy",
        ] {
            let (_, issues) = map_header(&names(&["username", name]), &HeaderRules::default());
            assert!(issues.iter().all(|i| !i.is_error), "{name}: {issues:?}");
        }
    }

    #[test]
    fn near_misses_are_warnings_with_a_hint_unless_strict() {
        let (_, issues) = map_header(
            &names(&["username", "fristName", "Badge Colour", "emial"]),
            &HeaderRules::default(),
        );
        assert_eq!(issues.len(), 3);
        assert!(!issues[0].is_error && issues[0].message.contains("did you mean 'firstName'"));
        assert!(!issues[1].is_error && issues[1].message.contains("did you mean 'email'"));
        assert!(!issues[2].is_error && issues[2].message.contains("--ignore-column"));
        let strict = HeaderRules {
            strict: true,
            ..HeaderRules::default()
        };
        let (_, issues) = map_header(&names(&["username", "fristName"]), &strict);
        assert!(issues[0].is_error, "--strict stops on a likely misspelling");
        let (_, quiet) = map_header(
            &names(&["username", "Badge Colour"]),
            &HeaderRules {
                ignored: vec!["badge colour".to_string()],
                ..HeaderRules::default()
            },
        );
        assert!(quiet.is_empty());
    }

    #[test]
    fn a_results_file_can_be_fed_back_in() {
        let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|s| s.to_string()).collect();
        header.extend(names(&["Username", "Email"]));
        let (mapped, issues) = map_header(&header, &HeaderRules::default());
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(mapped.columns[3], Column::UserId);
        assert_eq!(
            mapped.columns[RESULT_COLUMNS.len()],
            Column::Text(Field::Username)
        );
        assert_eq!(mapped.columns[1], Column::Extra);
        // An older results file (no audit columns) of an input whose own
        // header starts with `username`, lower case.
        let old = names(&[
            "row",
            "username",
            "outcome",
            "user_id",
            "groups_added",
            "error",
            "username",
            "email",
        ]);
        assert_eq!(results_prefix(&old), 6);
        assert_eq!(results_prefix(&names(&["username", "row"])), 0);
    }

    #[test]
    fn hr_wording_and_notes_in_headers_are_understood() {
        let (header, issues) = map_header(
            &names(&[
                "Login",
                "Surname",
                "Given name",
                "Mail",
                "Mobile phone",
                "mobilePhone ",
                "Employee ID",
                "First Name [Required]",
                "Status",
                "title",
                "Usage location",
            ]),
            &HeaderRules::default(),
        );
        let column = |i: usize| header.columns[i].clone();
        assert_eq!(column(0), Column::Text(Field::Username));
        assert_eq!(column(1), Column::Text(Field::LastName));
        assert_eq!(column(2), Column::Text(Field::FirstName));
        assert_eq!(column(3), Column::Text(Field::Email));
        assert_eq!(column(4), Column::Text(Field::Mobile));
        assert_eq!(column(6), Column::Text(Field::EmployeeNumber));
        assert_eq!(column(7), Column::Text(Field::FirstName));
        assert_eq!(column(8), Column::Extra, "Status is not state");
        assert_eq!(column(9), Column::Text(Field::JobTitle));
        assert_eq!(column(10), Column::Text(Field::Country));
        // Two mobiles and two first names: the only errors.
        let errors: Vec<_> = issues.iter().filter(|i| i.is_error).collect();
        assert_eq!(errors.len(), 2, "{issues:?}");
        assert!(
            issues
                .iter()
                .any(|i| !i.is_error && i.message.contains("'Status'"))
        );
        assert!(
            !issues.iter().any(|i| i.message.contains("did you mean")),
            "{issues:?}"
        );
    }

    #[test]
    fn many_unknown_columns_are_listed_once_or_ignored() {
        let header = names(&[
            "username",
            "Org Unit",
            "Last Sign In",
            "Licenses",
            "2sv Enrolled",
        ]);
        let (_, issues) = map_header(&header, &HeaderRules::default());
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .message
                .starts_with("4 columns are not user fields")
        );
        let rules = HeaderRules {
            ignore_unknown: true,
            ..HeaderRules::default()
        };
        assert!(map_header(&header, &rules).1.is_empty());
    }
}
