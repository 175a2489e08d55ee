//! A row's field changes as the report's reader wants them: a created
//! user's fields once, `name = value`, on one compact line; an update's
//! `field: old → new`, one a line; custom attributes and lists read as
//! names and values, never as the escaped JSON the results file records.

use crate::model::{CustomAttribute, FieldChange};

/// The changes cell of a results or plan row, for the page (plain text:
/// the caller escapes it). `created` rows list their fields once. A cell
/// that is not a recorded change list is shown as it is.
pub fn shown(cell: &str, created: bool) -> String {
    let Some(changes) = FieldChange::parse(cell) else {
        return cell.replace("; ", "\n");
    };
    if created {
        return changes
            .iter()
            .filter(|c| c.field == "password" || !c.new.is_empty())
            .map(|c| match c.field.as_str() {
                "password" => crate::model::fields::PASSWORD_SET.to_string(),
                _ => assigned(&c.field, &c.new),
            })
            .collect::<Vec<_>>()
            .join(" · ");
    }
    changes
        .iter()
        .map(|c| match c.field.as_str() {
            "password" => crate::model::fields::PASSWORD_SET.to_string(),
            "customAttributes" => attribute_changes(&c.old, &c.new),
            _ => format!("{}: {} → {}", c.field, quoted(&c.old), quoted(&c.new)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `field = value`; custom attributes as their own `name = value`, lists
/// as their items.
fn assigned(field: &str, value: &str) -> String {
    if let Some(attributes) = attributes(value) {
        return attributes
            .iter()
            .map(|a| format!("{} = {}", a.name(), a.value()))
            .collect::<Vec<_>>()
            .join(" · ");
    }
    format!("{field} = {}", plain(value))
}

/// A recorded value as text: a JSON list as its items, else as it is.
fn plain(value: &str) -> String {
    match serde_json::from_str::<Vec<String>>(value) {
        Ok(items) if value.trim_start().starts_with('[') => items.join(", "),
        _ => value.to_string(),
    }
}

/// A value in quotes (an empty one shows as `""`).
fn quoted(value: &str) -> String {
    format!("\"{}\"", plain(value))
}

fn attributes(value: &str) -> Option<Vec<CustomAttribute>> {
    if !value.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<CustomAttribute>>(value)
        .ok()
        .filter(|list| list.iter().any(|a| a.name.is_some()))
}

/// Custom attributes changed: each name that changed, with its old and
/// new value (an added one as `name = value`, a removed one struck out).
fn attribute_changes(old: &str, new: &str) -> String {
    let (Some(old), Some(new)) = (
        attributes(old).or_else(|| old.is_empty().then(Vec::new)),
        attributes(new).or_else(|| new.is_empty().then(Vec::new)),
    ) else {
        return format!("customAttributes: {} → {}", quoted(old), quoted(new));
    };
    let find = |list: &[CustomAttribute], name: &str| {
        list.iter()
            .find(|a| a.name() == name)
            .map(|a| a.value().to_string())
    };
    let mut lines = Vec::new();
    for attribute in &new {
        match find(&old, attribute.name()) {
            None => lines.push(format!("{} = {}", attribute.name(), attribute.value())),
            Some(before) if before != attribute.value() => lines.push(format!(
                "{}: \"{before}\" → \"{}\"",
                attribute.name(),
                attribute.value()
            )),
            Some(_) => {}
        }
    }
    for attribute in old.iter().filter(|a| find(&new, a.name()).is_none()) {
        lines.push(format!(
            "{}: \"{}\" → removed",
            attribute.name(),
            attribute.value()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(changes: &[(&str, &str, &str)]) -> String {
        let changes: Vec<FieldChange> = changes
            .iter()
            .map(|(f, o, n)| FieldChange {
                field: f.to_string(),
                old: o.to_string(),
                new: n.to_string(),
            })
            .collect();
        FieldChange::format(&changes)
    }

    #[test]
    fn a_created_user_shows_its_fields_once_on_one_line() {
        let text = shown(
            &cell(&[
                ("username", "", "ana"),
                ("email", "", "ana@example.com"),
                ("phone", "", ""),
                (
                    "customAttributes",
                    "",
                    r#"[{"name":"Cost Centre","value":"C=1"}]"#,
                ),
                ("aliases", "", r#"["a1","a2"]"#),
            ]),
            true,
        );
        assert_eq!(
            text,
            "username = ana · email = ana@example.com · Cost Centre = C=1 · aliases = a1, a2"
        );
        assert!(!text.contains('→') && !text.contains('\\'));
    }

    #[test]
    fn an_update_shows_old_and_new_and_attributes_by_name() {
        let text = shown(
            &cell(&[
                ("department", "Sales", "Legal"),
                (
                    "customAttributes",
                    r#"[{"name":"Cost Centre","value":"C=1"},{"name":"Desk","value":"4"}]"#,
                    r#"[{"name":"Cost Centre","value":"C=2"},{"name":"Badge","value":"9"}]"#,
                ),
            ]),
            false,
        );
        assert_eq!(
            text,
            "department: \"Sales\" → \"Legal\"\nCost Centre: \"C=1\" → \"C=2\"\nBadge = 9\nDesk: \"4\" → removed"
        );
    }

    #[test]
    fn a_cell_that_is_no_change_list_is_shown_as_it_is() {
        assert_eq!(
            shown("disable; revoke-access", false),
            "disable\nrevoke-access"
        );
    }
}
