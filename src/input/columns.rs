//! Maps a header row onto the API's user fields.
//!
//! Header names match ignoring case, spaces, underscores, hyphens and dots,
//! so `First Name`, `first_name` and `FIRSTNAME` are all `firstName`.
//! Nothing is dropped silently: a near miss of a field name is an error
//! with a suggestion, any other extra column a warning.

use std::collections::HashMap;

use crate::model::text::edit_distance;
use crate::model::{Field, FieldKind};

/// The fixed first columns of sebulk's own results files, which input
/// reading recognises and skips, so results can be fed straight back in.
pub const RESULT_COLUMNS: [&str; 15] = [
    "row",
    "username",
    "outcome",
    "user_id",
    "changes",
    "groups_added",
    "groups_removed",
    "applications_added",
    "applications_removed",
    "http_status",
    "attempts",
    "error",
    "finished_at",
    "run_id",
    "tenant",
];

/// How many leading columns of `names` are a results file's own (0 when
/// it is not a results file): a results file starts `row,username,
/// outcome,user_id` and its own columns run, in the order of
/// [`RESULT_COLUMNS`], until the input's own header starts. Older results files, with fewer, count too.
pub fn results_prefix(names: &[String]) -> usize {
    let starts = ["row", "username", "outcome", "user_id"];
    if names.len() < starts.len() || names.iter().zip(starts).any(|(n, s)| n != s) {
        return 0;
    }
    // The own columns come in RESULT_COLUMNS order; the input's own
    // header (which starts again, often at `username`) breaks that order.
    let mut last = None;
    names
        .iter()
        .take_while(|name| {
            let position = RESULT_COLUMNS.iter().position(|c| *c == name.as_str());
            let in_order = matches!((position, last), (Some(p), Some(l)) if p > l)
                || (position.is_some() && last.is_none());
            if in_order {
                last = position;
            }
            in_order
        })
        .count()
}

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

/// A problem with the header itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderIssue {
    pub column: String,
    pub message: String,
    /// Errors stop the run; warnings are reported.
    pub is_error: bool,
}

/// A header name as it is matched: no case, spaces, underscores,
/// hyphens or dots.
pub fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

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
    ];
    for (name, column) in special {
        known.insert(normalize(name), column);
    }
    known
}

/// The field a mistyped column name most likely meant.
fn suggestion(normalized: &str, known: &HashMap<String, Column>) -> Option<String> {
    let limit = if normalized.chars().count() >= 6 {
        2
    } else {
        1
    };
    known
        .iter()
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
        Column::Extra => String::new(),
    }
}

/// Maps `names` and reports what is wrong with them. `ignored` columns are
/// dropped without a warning.
pub fn map_header(names: &[String], ignored: &[String]) -> (Header, Vec<HeaderIssue>) {
    let known = known_columns();
    let ignored: Vec<String> = ignored.iter().map(|n| normalize(n)).collect();
    let mut issues = Vec::new();
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
        } else if ignored.contains(&normalized) {
            Column::Extra
        } else {
            match suggestion(&normalized, &known) {
                Some(meant) => issues.push(HeaderIssue {
                    column: name.clone(),
                    message: format!("unknown column '{trimmed}': did you mean '{meant}'?"),
                    is_error: true,
                }),
                None if trimmed.is_empty() => issues.push(HeaderIssue {
                    column: name.clone(),
                    message: "a column has no name; its cells are ignored".to_string(),
                    is_error: false,
                }),
                None => issues.push(HeaderIssue {
                    column: name.clone(),
                    message: format!(
                        "column '{trimmed}' is not a user field and is ignored (--ignore-column '{trimmed}' quiets this)"
                    ),
                    is_error: false,
                }),
            }
            Column::Extra
        };
        if column != Column::Extra {
            if let Some(first) = seen.insert(column.clone(), name.clone()) {
                issues.push(HeaderIssue {
                    column: name.clone(),
                    message: format!(
                        "columns '{first}' and '{name}' both give {}",
                        display_name(&column)
                    ),
                    is_error: true,
                });
            }
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Text(Field::Username)) {
        issues.push(HeaderIssue {
            column: "username".to_string(),
            message: "there is no username column".to_string(),
            is_error: true,
        });
    }
    (Header { columns }, issues)
}

fn custom_attribute_name(header: &str) -> Option<String> {
    let (prefix, rest) = header.split_once('.')?;
    let name = rest.trim();
    (prefix.trim().eq_ignore_ascii_case("custom") && !name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
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
            &[],
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
    fn near_misses_are_errors_with_a_hint_and_extras_are_warnings() {
        let (_, issues) = map_header(
            &names(&["username", "fristName", "Badge Colour", "emial"]),
            &[],
        );
        assert_eq!(issues.len(), 3);
        assert!(issues[0].is_error && issues[0].message.contains("did you mean 'firstName'"));
        assert!(!issues[1].is_error && issues[1].message.contains("--ignore-column"));
        assert!(issues[2].is_error && issues[2].message.contains("'email'"));
        let (_, quiet) = map_header(
            &names(&["username", "Badge Colour"]),
            &["badge colour".to_string()],
        );
        assert!(quiet.is_empty());
    }

    #[test]
    fn a_results_file_can_be_fed_back_in() {
        let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|s| s.to_string()).collect();
        header.extend(names(&["Username", "Email"]));
        let (mapped, issues) = map_header(&header, &[]);
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
    fn a_username_column_is_required() {
        let (_, issues) = map_header(&names(&["email"]), &[]);
        assert!(
            issues
                .iter()
                .any(|i| i.is_error && i.message.contains("no username"))
        );
    }
}
