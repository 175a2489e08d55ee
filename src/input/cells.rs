//! Turns one row's cells into what it asks of the tenant.
//!
//! Surrounding whitespace is trimmed. An empty cell leaves a field as it is;
//! the sentinel [`CLEAR`] clears it explicitly. Booleans accept
//! true/false, yes/no, y/n, 1/0 in any case; countries accept the API's
//! names, ISO alpha-2/alpha-3 codes and common aliases, and are sent as
//! the API's name; lists are `;`-separated.

use crate::model::country;
use crate::model::rules::{self, MIN_PASSWORD_LENGTH, USER_TYPES};
use crate::model::{Password, PasswordOptions, UserFields};

use super::columns::{Column, Header, display_name};

/// The cell value that clears a field.
pub const CLEAR: &str = "<clear>";
/// What a secret cell shows in reports and results.
pub const MASK: &str = "********";

/// What one row asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowInput {
    /// Fields the row sets (non-empty cells), already normalized.
    pub set: UserFields,
    /// Wire names of fields the row clears with [`CLEAR`].
    pub clear: Vec<&'static str>,
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
}

/// A problem with one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub column: String,
    /// The offending value, masked when secret.
    pub value: String,
    pub message: String,
}

/// Undoes the apostrophe sebulk's own files put before cells a spreadsheet
/// would run as formulas (see `output::sanitize`), so its results and
/// exports can be fed back in unchanged.
pub fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
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
pub fn parse_row(header: &Header, cells: &[String]) -> (RowInput, Vec<CellProblem>) {
    let mut row = RowInput::default();
    let mut problems = Vec::new();
    for (index, column) in header.columns.iter().enumerate() {
        let raw = unneutralize(cells.get(index).map(|c| c.trim()).unwrap_or(""));
        if raw.is_empty() || *column == Column::Extra {
            continue;
        }
        let mut problem = |message: String| {
            problems.push(CellProblem {
                column: display_name(column),
                value: if column.is_secret() {
                    MASK.to_string()
                } else {
                    raw.to_string()
                },
                message,
            })
        };
        let clearing = raw.eq_ignore_ascii_case(CLEAR);
        match column {
            Column::Text(name) if clearing => {
                if matches!(*name, "username" | "email") {
                    problem(format!("{name} cannot be cleared"));
                } else {
                    row.clear.push(name);
                }
            }
            Column::Text(name) => match normalize_text(name, raw) {
                Ok(value) => {
                    if let Some(slot) = row.set.text_mut(name) {
                        *slot = Some(value);
                    }
                }
                Err(message) => problem(message),
            },
            Column::Bool(name) if clearing => row.clear.push(name),
            Column::Bool(name) => match parse_bool(raw) {
                Some(value) => {
                    if let Some(slot) = row.set.bool_mut(name) {
                        *slot = Some(value);
                    }
                }
                None => problem(format!(
                    "'{raw}' is not a boolean (true/false, yes/no, y/n, 1/0)"
                )),
            },
            Column::Aliases => {
                row.aliases = Some(if clearing {
                    Vec::new()
                } else {
                    parse_list(raw)
                })
            }
            Column::Groups => {
                row.groups = Some(if clearing {
                    Vec::new()
                } else {
                    parse_list(raw)
                })
            }
            Column::Applications => {
                row.applications = Some(if clearing {
                    Vec::new()
                } else {
                    parse_list(raw)
                })
            }
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
            Column::AutoGeneratePassword
            | Column::MustChangePasswordOnLogon
            | Column::SendEmail => match parse_bool(raw) {
                Some(value) => {
                    let slot = match column {
                        Column::AutoGeneratePassword => &mut row.password.auto_generate_password,
                        Column::MustChangePasswordOnLogon => {
                            &mut row.password.must_change_password_on_logon
                        }
                        _ => &mut row.password.send_email,
                    };
                    *slot = Some(value);
                }
                None => problem(format!(
                    "'{raw}' is not a boolean (true/false, yes/no, y/n, 1/0)"
                )),
            },
            Column::UserId => row.user_id = Some(raw.to_string()),
            Column::Extra => {}
        }
    }
    if row.password.password.is_some() && row.password.auto_generate_password == Some(true) {
        problems.push(CellProblem {
            column: "password".to_string(),
            value: MASK.to_string(),
            message: "a password and autoGeneratePassword=true cannot both be given".to_string(),
        });
    }
    (row, problems)
}

/// Canonical form of a text cell, or why it is not acceptable.
fn normalize_text(name: &str, raw: &str) -> Result<String, String> {
    let value = match name {
        "country" => country::resolve(raw)
            .map(str::to_string)
            .ok_or_else(|| format!("'{raw}' is not a country name or ISO 3166 code"))?,
        "userType" => USER_TYPES
            .iter()
            .find(|t| t.eq_ignore_ascii_case(raw))
            .map(|t| t.to_string())
            .ok_or_else(|| format!("'{raw}' is not a user type ({})", USER_TYPES.join(", ")))?,
        _ => raw.to_string(),
    };
    match rules::text_problem(name, &value) {
        Some(problem) => Err(problem),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::columns::map_header;

    fn parse(headers: &[&str], cells: &[&str]) -> (RowInput, Vec<CellProblem>) {
        let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let (header, _) = map_header(&names, &[]);
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        parse_row(&header, &cells)
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
        assert_eq!(row.clear, vec!["mobile"]);
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
