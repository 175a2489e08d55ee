//! Turns one row's cells into what it asks of the tenant.
//!
//! Surrounding whitespace is trimmed. An empty cell leaves a field as it is;
//! the sentinel [`CLEAR`] clears it explicitly. Booleans accept
//! true/false, yes/no, y/n, 1/0 in any case; countries accept the API's
//! names, ISO alpha-2/alpha-3 codes and common aliases, and are sent as
//! the API's name; lists are `;`-separated.

use crate::model::rules::{self, MIN_PASSWORD_LENGTH};
use crate::model::text;
use crate::model::{Field, Password, PasswordOptions, UserFields};

use super::columns::{Column, Header, display_name};
use super::vocabulary::Vocabulary;
use crate::formats::{MASK, unneutralize};
use crate::model::dates::{DateOrder, parse_date};

/// The cell value that clears a field.
pub const CLEAR: &str = "<clear>";

/// What one row asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowInput {
    /// Fields the row sets (non-empty cells), already normalized.
    pub set: UserFields,
    /// Fields the row clears with [`CLEAR`].
    pub clear: Vec<Field>,
    /// `Some` when the row gives aliases (`Some(empty)` clears them).
    pub aliases: Option<Vec<String>>,
    /// Custom attributes by name; `None` clears the attribute.
    pub custom: Vec<(String, Option<String>)>,
    /// Group names or ids; `None` when the cell is empty (no change).
    pub groups: Option<Vec<String>>,
    pub applications: Option<Vec<String>>,
    /// Write-only fields given by the row itself.
    pub password: PasswordOptions,
    pub user_id: Option<String>,
    /// The person's first day (days since 1970-01-01), for `sync`.
    pub start_date: Option<i64>,
    /// The first day the person is gone (days since 1970-01-01), for
    /// `sync`: an end-date cell as written, a last-day-worked cell plus one.
    pub end_date: Option<i64>,
    /// Identity cells (username, email, employee number) given but not
    /// readable, as written: an invalid row still names its person, so a
    /// `sync` neither changes them nor lets them go as absent.
    pub unread: Vec<(Field, String)>,
}

/// How much a problem weighs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row cannot be sent.
    Error,
    /// Reported; the row is sent and the tenant decides.
    Warning,
    /// An error unless the tenant is seen to use this value of `field`.
    UnlessTenantUses { field: &'static str, value: String },
}

/// A problem with one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub column: String,
    /// The offending value, masked when secret.
    pub value: String,
    pub message: String,
    pub severity: Severity,
}

/// How much of a value problem messages and reports repeat.
pub const SHOWN_CHARS: usize = 80;

/// `text`, cut to [`SHOWN_CHARS`] characters with an ellipsis: a 10 MB cell
/// is not echoed back whole.
pub fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.into(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()).into(),
    }
}

/// Parses a boolean cell.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Splits a `;`-separated list, dropping empty items and repeats (ignoring case).
pub fn parse_list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        if !items.iter().any(|seen| seen.eq_ignore_ascii_case(item)) {
            items.push(item.to_string());
        }
    }
    items
}

/// Reads the cells of one record against `header`.
pub fn parse_row(
    header: &Header,
    cells: &[String],
    vocabulary: &Vocabulary,
) -> (RowInput, Vec<CellProblem>) {
    let mut row = RowInput::default();
    let mut problems = Vec::new();
    for (index, column) in header.columns.iter().enumerate() {
        let raw = unneutralize(cells.get(index).map(|c| c.trim()).unwrap_or(""));
        if raw.is_empty() || *column == Column::Extra {
            continue;
        }
        let shown = if column.is_secret() {
            MASK.to_string()
        } else {
            shorten(raw).into_owned()
        };
        for (message, severity) in read_cell(&mut row, column, raw, vocabulary) {
            problems.push(CellProblem {
                column: display_name(column),
                value: shown.clone(),
                message,
                severity,
            });
        }
    }
    if let (Some(start), Some(end)) = (row.start_date, row.end_date)
        && end < start
    {
        // Which is current cannot be told: a rehire whose old end date was
        // kept, or a start date in the wrong year. Neither is acted on.
        let (start, end) = (
            crate::model::dates::iso(start),
            crate::model::dates::iso(end),
        );
        problems.push(CellProblem {
            column: "end date".to_string(),
            value: end.clone(),
            message: format!(
                "access would end ({end}) before the start date ({start}): clear a rehire's old end date, or correct the start"
            ),
            severity: Severity::Error,
        });
        row.start_date = None;
        row.end_date = None;
    }
    if row.password.password.is_some() && row.password.auto_generate_password == Some(true) {
        problems.push(CellProblem {
            column: "password".to_string(),
            value: MASK.to_string(),
            message: "a password and autoGeneratePassword=true cannot both be given".to_string(),
            severity: Severity::Error,
        });
    }
    (row, problems)
}

/// A start or end date into `row`, read in the declared order; why the
/// cell is not one. A last day worked is kept as the end date of the day
/// after: access ends once that day is over.
fn read_date(
    row: &mut RowInput,
    column: &Column,
    raw: &str,
    order: Option<DateOrder>,
) -> Result<(), String> {
    let day = parse_date(raw, order).map_err(|why| why.to_string())?;
    match column {
        Column::StartDate => row.start_date = Some(day),
        Column::LastDay => row.end_date = Some(day + 1),
        _ => row.end_date = Some(day),
    }
    Ok(())
}

/// Reads one non-empty cell of `column` into `row`; what is wrong with it.
fn read_cell(row: &mut RowInput, column: &Column, raw: &str, vocabulary: &Vocabulary) -> Found {
    let mut found = Vec::new();
    let mut weighed = |message: String, severity: Severity| found.push((message, severity));
    let mut problem = |message: String| weighed(message, Severity::Error);
    let clearing = raw.eq_ignore_ascii_case(CLEAR);
    let list = || {
        if clearing {
            Vec::new()
        } else {
            parse_list(raw)
        }
    };
    match column {
        Column::Text(field) if clearing => {
            if matches!(field, Field::Username | Field::Email) {
                problem(format!("{} cannot be cleared", field.wire()));
            } else {
                row.clear.push(*field);
            }
        }
        Column::Text(field) => {
            for (message, severity) in read_text(row, *field, raw, vocabulary) {
                weighed(message, severity);
            }
        }
        Column::Bool(field) if clearing => problem(format!(
            "{} is true or false and cannot be cleared (leave the cell empty to keep it)",
            field.wire()
        )),
        Column::Bool(field) => match parse_bool(raw) {
            Some(value) => {
                if let Some(slot) = row.set.flag_mut(*field) {
                    *slot = Some(value);
                }
            }
            None => problem(format!(
                "'{}' is not a boolean (true/false, yes/no, y/n, 1/0)",
                shorten(raw)
            )),
        },
        Column::Aliases => row.aliases = Some(list()),
        Column::Groups => row.groups = Some(list()),
        Column::Applications => row.applications = Some(list()),
        Column::Custom(name) => row
            .custom
            .push((name.clone(), (!clearing).then(|| raw.to_string()))),
        Column::Password => {
            if raw.chars().count() < MIN_PASSWORD_LENGTH {
                problem(format!(
                    "the password must be at least {MIN_PASSWORD_LENGTH} characters"
                ));
            } else {
                row.password.password = Some(Password::new(raw));
            }
        }
        Column::AutoGeneratePassword | Column::MustChangePasswordOnLogon | Column::SendEmail => {
            match parse_bool(raw) {
                Some(value) => *password_flag(&mut row.password, column) = Some(value),
                None => problem(format!(
                    "'{}' is not a boolean (true/false, yes/no, y/n, 1/0)",
                    shorten(raw)
                )),
            }
        }
        Column::UserId => row.user_id = Some(raw.to_string()),
        Column::StartDate | Column::EndDate | Column::LastDay => {
            if let Err(why) = read_date(row, column, raw, vocabulary.date_order) {
                problem(why);
            }
        }
        Column::Extra => {}
    }
    found
}

/// Reads a text cell into `row` when nothing certain is wrong with it; an
/// identifier that cannot be read is kept aside (`unread`) so the row is
/// still known by it. What is wrong with the cell.
fn read_text(row: &mut RowInput, field: Field, raw: &str, vocabulary: &Vocabulary) -> Found {
    let (value, found) = normalize_text(field, raw, vocabulary);
    let accepted = found
        .iter()
        .all(|(_, severity)| *severity == Severity::Warning);
    if accepted
        && !value.is_empty()
        && let Some(slot) = row.set.text_mut(field)
    {
        *slot = Some(value);
    } else if !accepted
        && matches!(
            field,
            Field::Username | Field::Email | Field::EmployeeNumber
        )
    {
        row.unread.push((field, raw.to_string()));
    }
    found
}

/// The password option a flag column sets (auto-generate, must change on
/// logon, send email).
fn password_flag<'a>(password: &'a mut PasswordOptions, column: &Column) -> &'a mut Option<bool> {
    match column {
        Column::AutoGeneratePassword => &mut password.auto_generate_password,
        Column::MustChangePasswordOnLogon => &mut password.must_change_password_on_logon,
        _ => &mut password.send_email,
    }
}

use crate::model::text::looks_mis_decoded;

/// A cell's problems, each with how much it weighs.
type Found = Vec<(String, Severity)>;

/// The form of a text cell the tenant gets, and what is wrong with it.
/// What we know for certain (a valid email, one line for a username) is an
/// error; what we guessed (lengths, user types, control characters) is a
/// warning unless strict;
/// an unknown country is an error unless the tenant is seen to use it.
fn normalize_text(field: Field, raw: &str, vocabulary: &Vocabulary) -> (String, Found) {
    let guessed = if vocabulary.strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut found = Vec::new();
    let cleaned = without_invisible_characters(field, raw, &mut found);
    let value = known_value(field, &cleaned, vocabulary, &guessed, &mut found);
    found.extend(value_problems(field, &value, guessed));
    (value, found)
}

/// `raw` without stray invisible characters (identifiers keep only their
/// own form), saying so when any were dropped; an identifier with
/// full-width or other compatibility characters is noted too.
fn without_invisible_characters<'a>(
    field: Field,
    raw: &'a str,
    found: &mut Found,
) -> std::borrow::Cow<'a, str> {
    let identifier = matches!(
        field,
        Field::Username | Field::Email | Field::EmployeeNumber
    );
    let cleaned = if identifier {
        text::identifier_form(raw)
    } else {
        text::without_strays(raw)
    };
    if cleaned != raw {
        found.push((
            format!(
                "held invisible characters ({}): written as '{}'",
                text::unusual_characters(raw),
                shorten(&cleaned)
            ),
            Severity::Warning,
        ));
    }
    if identifier && text::has_compatibility_forms(&cleaned) {
        found.push((
            format!(
                "holds full-width or other compatibility characters ({}): written as given, matched as '{}'",
                text::unusual_characters(&cleaned),
                shorten(&text::match_key(&cleaned))
            ),
            Severity::Warning,
        ));
    }
    cleaned
}

/// The value the tenant knows for a country or user type (names and codes
/// resolved to its spelling); an unknown one is kept as given and said.
fn known_value(
    field: Field,
    raw: &str,
    vocabulary: &Vocabulary,
    guessed: &Severity,
    found: &mut Found,
) -> String {
    match field {
        Field::Country => match vocabulary.countries.resolve(raw) {
            Some(known) => known.to_string(),
            None => {
                let hint = vocabulary
                    .countries
                    .suggest(raw)
                    .map(|meant| format!(": did you mean '{meant}'?"))
                    .unwrap_or_else(|| {
                        " (names, ISO codes and --countries FILE are accepted)".to_string()
                    });
                found.push((
                    format!("'{}' is not a country sebulk knows{hint}", shorten(raw)),
                    Severity::UnlessTenantUses {
                        field: "country",
                        value: raw.to_string(),
                    },
                ));
                raw.to_string()
            }
        },
        // Entra's "User type" column (Member/Guest) lands here by name:
        // it is not SecurEnvoy's user type, and sending it fails the row.
        Field::UserType
            if raw.eq_ignore_ascii_case("member") || raw.eq_ignore_ascii_case("guest") =>
        {
            found.push((
                format!(
                    "'{raw}' is Entra ID's member/guest flag, not a SecurEnvoy user type: ignored (--preset entra reads Entra downloads)"
                ),
                Severity::Warning,
            ));
            String::new()
        }
        Field::UserType => match vocabulary.user_type(raw) {
            Some(known) => known.to_string(),
            None => {
                found.push((
                    format!(
                        "'{}' is not a user type sebulk knows ({}); the tenant decides",
                        shorten(raw),
                        vocabulary.user_types.join(", ")
                    ),
                    guessed.clone(),
                ));
                raw.to_string()
            }
        },
        _ => raw.to_string(),
    }
}

/// What is wrong with the value itself: its length, signs of a wrong
/// encoding, control characters or line breaks, an invalid email.
fn value_problems(field: Field, value: &str, guessed: Severity) -> Found {
    let mut found = Vec::new();
    if let Some(problem) = rules::length_problem(field.wire(), value) {
        found.push((problem, guessed.clone()));
    }
    if value.contains('\u{FFFD}') {
        // A name so marked is not created (see plan::decide); a copy of a
        // tenant that already holds one must still arrive exact.
        found.push((
            "holds U+FFFD (\u{FFFD}), the mark of a character an encoding could not read: a letter was lost somewhere; save the file as UTF-8".to_string(),
            Severity::Warning,
        ));
    }
    if looks_mis_decoded(value) {
        found.push((
            "looks mis-decoded (as Ã© or MĂĽ stand where é or Mü were meant): the text went through the wrong encoding before it reached this file".to_string(),
            Severity::Warning,
        ));
    }
    if rules::has_control(value) {
        // The reference states no such rule, and a tenant may hold such a
        // value (a tab pasted into a title): what it holds must come back.
        found.push((
            "contains control characters (a tab, say): kept as they are; --strict refuses them"
                .to_string(),
            guessed,
        ));
    } else if value.contains('\n') && matches!(field, Field::Username | Field::Email) {
        found.push(("must not hold a line break".to_string(), Severity::Error));
    } else if value.contains('\n') && rules::is_single_line(field.wire()) {
        found.push((
            "holds a line break (kept as it is; fields like this are normally one line)"
                .to_string(),
            Severity::Warning,
        ));
    }
    if field == Field::Email
        && let Some(problem) = rules::email_problem(value)
    {
        found.push((problem, Severity::Error));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::columns::map_header;

    fn parse(headers: &[&str], cells: &[&str]) -> (RowInput, Vec<CellProblem>) {
        let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let (header, _) = map_header(&names, &Default::default());
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        parse_row(&header, &cells, &Vocabulary::default())
    }

    #[test]
    fn an_end_before_the_start_is_acted_on_neither_way() {
        let (row, problems) = parse(
            &["username", "Start Date", "Termination Date"],
            &["ana", "2026-01-05", "2020-03-31"],
        );
        assert!(
            problems.iter().any(|p| p.severity == Severity::Error
                && p.message.contains("before the start date (2026-01-05)")),
            "{problems:?}"
        );
        assert_eq!((row.start_date, row.end_date), (None, None));
    }

    #[test]
    fn a_replacement_character_is_said_in_any_cell() {
        let (_, problems) = parse(&["username", "department"], &["zoe", "Zo\u{FFFD}"]);
        assert!(
            problems
                .iter()
                .any(|p| p.severity == Severity::Warning && p.message.contains("U+FFFD")),
            "{problems:?}"
        );
    }

    #[test]
    fn cells_are_normalized() {
        let (row, problems) = parse(
            &[
                "username",
                "email",
                "country",
                "isEnabled",
                "userType",
                "groups",
                "custom.Cost Centre",
                "department",
            ],
            &[
                " ana ",
                "ana@example.com",
                "de",
                "Yes",
                "USER",
                "Sales; sales ;Ops;",
                "CC-17",
                "",
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(row.set.username.as_deref(), Some("ana"));
        assert_eq!(row.set.country.as_deref(), Some("Germany"));
        assert_eq!(row.set.is_enabled, Some(true));
        assert_eq!(row.set.user_type.as_deref(), Some("user"));
        assert_eq!(
            row.groups,
            Some(vec!["Sales".to_string(), "Ops".to_string()])
        );
        assert_eq!(
            row.custom,
            vec![("Cost Centre".to_string(), Some("CC-17".to_string()))]
        );
        assert_eq!(
            row.set.department, None,
            "an empty cell leaves the field alone"
        );
    }

    #[test]
    fn the_sentinel_clears() {
        let (row, problems) = parse(
            &["username", "mobile", "groups", "custom.X"],
            &["ana", "<clear>", "<CLEAR>", "<clear>"],
        );
        assert!(problems.is_empty());
        assert_eq!(row.clear, vec![Field::Mobile]);
        assert_eq!(row.groups, Some(vec![]));
        assert_eq!(row.custom, vec![("X".to_string(), None)]);
        let (_, problems) = parse(&["username", "email"], &["ana", "<clear>"]);
        assert_eq!(problems[0].message, "email cannot be cleared");
    }

    #[test]
    fn bad_cells_are_reported_with_secrets_masked() {
        let (_, problems) = parse(
            &[
                "username",
                "email",
                "isLocked",
                "country",
                "password",
                "autoGeneratePassword",
            ],
            &["ana", "not-an-email", "maybe", "Atlantis", "short", "y"],
        );
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, vec!["email", "isLocked", "country", "password"]);
        assert_eq!(problems[3].value, MASK);
        let (_, problems) = parse(
            &["username", "password", "autoGeneratePassword"],
            &["ana", "long-enough-pw", "true"],
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("cannot both"));
        assert!(!format!("{problems:?}").contains("long-enough-pw"));
    }

    #[test]
    fn neutralized_cells_read_back_as_written() {
        let (row, _) = parse(
            &["username", "mobile", "city"],
            &["ana", "'+44 20 7946 0000", "'s-Hertogenbosch"],
        );
        assert_eq!(row.set.mobile.as_deref(), Some("+44 20 7946 0000"));
        assert_eq!(
            row.set.city.as_deref(),
            Some("'s-Hertogenbosch"),
            "a real apostrophe stays"
        );
    }

    fn parse_with(
        vocabulary: &Vocabulary,
        headers: &[&str],
        cells: &[&str],
    ) -> (RowInput, Vec<CellProblem>) {
        let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let (header, _) = map_header(&names, &Default::default());
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        parse_row(&header, &cells, vocabulary)
    }

    #[test]
    fn guessed_rules_warn_and_known_rules_refuse() {
        let lenient = Vocabulary::default();
        let (row, problems) = parse_with(
            &lenient,
            &["username", "userType", "jobTitle", "country"],
            &["ana", "Helpdesk", &"x".repeat(200), "Deutschland"],
        );
        assert_eq!(
            row.set.user_type.as_deref(),
            Some("Helpdesk"),
            "the tenant decides"
        );
        assert_eq!(row.set.country.as_deref(), Some("Germany"));
        assert_eq!(row.set.job_title.as_ref().map(String::len), Some(200));
        assert!(
            problems.iter().all(|p| p.severity == Severity::Warning),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 2);

        let strict = Vocabulary {
            strict: true,
            ..Vocabulary::default()
        };
        let (row, problems) = parse_with(&strict, &["username", "userType"], &["ana", "Helpdesk"]);
        assert_eq!(row.set.user_type, None);
        assert_eq!(problems[0].severity, Severity::Error);

        let (_, problems) = parse_with(&lenient, &["username", "country"], &["ana", "Germny"]);
        assert!(
            problems[0].message.contains("did you mean 'Germany'"),
            "{problems:?}"
        );
        assert_eq!(
            problems[0].severity,
            Severity::UnlessTenantUses {
                field: "country",
                value: "Germny".to_string()
            }
        );
        let (row, problems) = parse_with(
            &lenient,
            &["username", "country"],
            &[
                "ana",
                "United Kingdom of Great Britain and Northern Ireland",
            ],
        );
        assert!(problems.is_empty());
        assert_eq!(row.set.country.as_deref(), Some("United Kingdom"));
    }

    #[test]
    fn dates_read_in_the_declared_order_and_a_last_day_ends_after_it() {
        use crate::model::dates::days_from_civil;
        let day_first = Vocabulary {
            date_order: Some(DateOrder::Dmy),
            ..Vocabulary::default()
        };
        let (row, problems) = parse_with(
            &day_first,
            &["username", "Start Date", "Termination Date"],
            &["ana", "03/01/2027", "31.12.2027"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(row.start_date, Some(days_from_civil(2027, 1, 3)));
        assert_eq!(row.end_date, Some(days_from_civil(2027, 12, 31)));
        let (row, _) = parse(&["username", "Last Working Day"], &["ana", "2027-12-31"]);
        assert_eq!(row.end_date, Some(days_from_civil(2028, 1, 1)));
        let (row, problems) = parse(&["username", "Termination Date"], &["ana", "31/12/26"]);
        assert_eq!(row.end_date, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Error);
        assert_eq!(problems[0].column, "endDate");
        assert!(problems[0].message.contains("'31/12/26'"), "{problems:?}");
        let (_, problems) = parse(&["username", "Start Date"], &["ana", "03/01/2027"]);
        assert!(problems[0].message.contains("--date-order"), "{problems:?}");
    }

    #[test]
    fn a_boolean_is_never_cleared() {
        let (row, problems) = parse(&["username", "isEnabled"], &["ana", "<clear>"]);
        assert_eq!(row.set.is_enabled, None);
        assert!(row.clear.is_empty());
        assert!(
            problems[0].message.contains("cannot be cleared"),
            "{problems:?}"
        );
        assert_eq!(problems[0].severity, Severity::Error);
    }

    #[test]
    fn entra_user_types_are_not_ours() {
        let (row, problems) = parse(&["username", "User type"], &["ana", "Member"]);
        assert_eq!(row.set.user_type, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Warning);
        assert!(problems[0].message.contains("member/guest"));
    }

    #[test]
    fn mis_decoded_text_is_noticed() {
        assert!(looks_mis_decoded("JosÃ© MÃ¼ller"));
        assert!(looks_mis_decoded("Oâ€™Brien"));
        assert!(!looks_mis_decoded("José Müller"));
        assert!(
            !looks_mis_decoded("ÃLVARO"),
            "a capital Ã followed by a letter is a name"
        );
    }

    #[test]
    fn booleans() {
        for yes in ["true", "TRUE", "yes", "Y", "1"] {
            assert_eq!(parse_bool(yes), Some(true));
        }
        for no in ["false", "No", "n", "0"] {
            assert_eq!(parse_bool(no), Some(false));
        }
        assert_eq!(parse_bool("maybe"), None);
    }
}
