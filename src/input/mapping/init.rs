//! `sebulk mapping init`: a starter mapping from a file's header, with
//! every column sebulk can place already placed and the others listed.

use super::super::columns::{Column, column_for, display_name};

/// Quotes `text` as a one-line TOML basic string: every quote, backslash
/// and control character escaped, so no header cell (a line break in it,
/// say) can end a comment or a value and become live TOML.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be.
fn key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        quoted(name)
    }
}

/// The starter mapping for a file called `origin` with `header`, read
/// with `read` (whose options it keeps).
pub fn starter(header: &[String], origin: &str, read: &crate::input::ReadOptions) -> String {
    let mut placed: Vec<(String, String)> = Vec::new();
    let mut unplaced: Vec<&str> = Vec::new();
    for name in header.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match column_for(name) {
            Some(Column::Extra | Column::UserId) | None => unplaced.push(name),
            Some(column) => {
                let field = display_name(&column);
                if placed.iter().any(|(f, _)| *f == field) {
                    unplaced.push(name);
                } else {
                    placed.push((field, name.to_string()));
                }
            }
        }
    }
    let mut out = String::new();
    // The file's name stands in a comment: no control character may end it.
    let origin: String = origin
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    out.push_str(&format!(
        "# A mapping for {origin}, written by `sebulk mapping init`.\n\
         # Each field names the column that feeds it. Templates, value maps,\n\
         # defaults and row filters are described in docs/mapping.md.\n\
         # Check it with: sebulk validate --mapping THIS_FILE {origin}\n\n\
         [options]\n\
         # Only the fields below are imported; other columns are not read.\n\
         auto = false\n"
    ));
    if let Some(encoding) = &read.encoding {
        out.push_str(&format!("encoding = {}\n", quoted(encoding)));
    }
    if let Some(delimiter) = read.delimiter {
        let shown = if delimiter == b'\t' {
            "tab".to_string()
        } else {
            char::from(delimiter).to_string()
        };
        out.push_str(&format!("delimiter = {}\n", quoted(&shown)));
    }
    if let Some(sheet) = &read.sheet {
        out.push_str(&format!("sheet = {}\n", quoted(sheet)));
    }
    if let Some(row) = read.header_row {
        out.push_str(&format!("header_row = {row}\n"));
    }
    out.push_str("\n[fields]\n");
    for (field, column) in &placed {
        out.push_str(&format!("{} = {}\n", key(field), quoted(column)));
    }
    let has = |field: &str| placed.iter().any(|(f, _)| f == field);
    if !has("username") {
        let from = placed
            .iter()
            .find(|(f, _)| f == "email")
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| "Email".to_string());
        out.push_str(&format!(
            "# No username column: take it from the email (or build it from names).\n\
             username = {{ template = {} }}\n",
            quoted(&format!("{{{from}|local-part|lower}}"))
        ));
    }
    if !has("email") {
        out.push_str("# No email column: new users need one.\n# email = { template = \"{username}@example.com\" }\n");
    }
    if !unplaced.is_empty() {
        out.push_str("\n# Columns not placed. Use them in a template, a value map, a custom\n# attribute (\"custom.NAME\" = \"Column\") or a filter, for example:\n");
        for name in &unplaced {
            out.push_str(&format!("#   {}\n", quoted(name)));
        }
        out.push_str(&format!(
            "#\n# [[filter]]\n# column = {}\n# in = [\"Active\"]\n",
            quoted(unplaced[0])
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_places_what_it_can_and_lists_the_rest() {
        let header: Vec<String> = [
            "Given name",
            "Surname",
            "Work Email",
            "Status",
            "Cost \"Centre\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let read = crate::input::ReadOptions {
            header_row: Some(2),
            delimiter: Some(b';'),
            ..Default::default()
        };
        let text = starter(&header, "hr.csv", &read);
        assert!(
            text.contains("header_row = 2") && text.contains("delimiter = \";\""),
            "{text}"
        );
        let mapping = super::super::Mapping::parse(&text, "starter").unwrap();
        let fields: Vec<&String> = mapping.file.fields.keys().collect();
        assert_eq!(fields, ["email", "firstName", "lastName", "username"]);
        assert!(text.contains("#   \"Status\""), "{text}");
        // A crafted header cell stays text: nothing it holds becomes TOML.
        let crafted: Vec<String> = [
            "Email",
            "Notes\"\nuserType = \"admin\"\n#",
            "x\n[options]\nauto = true",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let evil = starter(&crafted, "evil\nuserType = 1.csv", &read);
        let parsed = super::super::Mapping::parse(&evil, "starter").unwrap();
        let fields: Vec<&String> = parsed.file.fields.keys().collect();
        assert_eq!(fields, ["email", "username"], "{evil}");
        assert!(evil.lines().all(|l| !l.starts_with("userType")), "{evil}");
        assert!(text.contains(r#""Cost \"Centre\"""#), "{text}");
        let (mapper, issues) = mapping.bind(&header).unwrap();
        assert!(issues.is_empty(), "{issues:?}");
        let row: Vec<String> = ["Ana", "Lima", "Ana.Lima@x.com", "Active", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mapped = mapper.apply(&row);
        let username = mapper
            .header()
            .iter()
            .position(|h| h == "username")
            .unwrap();
        assert_eq!(mapped.cells[username], "ana.lima");
    }
}
