//! Footer rows: what a report prints below its last person (`Total: 11
//! starters`, a line of sums, `Generated on 2026-11-29`, `Page 1 of 2`).
//! The reader holds rows that look like one and leaves them out only when
//! nothing but such rows follows them to the end of the file.
//!
//! Conservative on purpose: a footer row is mostly empty (at most half its
//! cells filled), holds no email address, and its text matches one of a
//! few fixed patterns or is nothing but numbers outside the columns that
//! name people. Anything else is a row, checked like every row.

use super::columns::{Column, column_for};
use crate::model::Field;

/// What `cells` looks like when it is a footer row of a file whose header
/// is `header`, if it looks like one.
pub fn footer(cells: &[String], header: &[String]) -> Option<String> {
    let filled: Vec<(usize, &str)> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.trim()))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let width = header.len().max(cells.len());
    if filled.is_empty() || filled.len() * 2 > width.max(2) {
        return None;
    }
    if filled.iter().any(|(_, c)| c.contains('@')) {
        return None;
    }
    let text: Vec<&str> = filled.iter().map(|(_, c)| *c).collect();
    let text = text.join(" ");
    if let Some(kind) = worded(&text.to_lowercase()) {
        return Some(format!("{kind} ('{}')", shorten(&text)));
    }
    let names_a_person = |i: usize| {
        header
            .get(i)
            .and_then(|name| column_for(name))
            .is_some_and(|c| {
                matches!(
                    c,
                    Column::Text(Field::Username | Field::Email | Field::EmployeeNumber)
                )
            })
    };
    let sums = width >= 2
        && filled
            .iter()
            .all(|(i, c)| is_number(c) && !names_a_person(*i));
    sums.then(|| format!("a line of sums ('{}')", shorten(&text)))
}

/// The kind of footer `text` (lower case) words, if it words one.
fn worded(text: &str) -> Option<&'static str> {
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    let first_word = |words: &[&str]| {
        words.iter().any(|w| {
            text.strip_prefix(w)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':', '=', '\t']))
        })
    };
    if first_word(&["total", "totals", "grand total", "subtotal", "sum", "count"])
        && (has_digit || text.contains(':'))
    {
        return Some("a total");
    }
    if first_word(&[
        "number of",
        "no. of",
        "records",
        "rows",
        "employees",
        "starters",
    ]) && has_digit
        && text.contains(':')
    {
        return Some("a count");
    }
    let generated = [
        "generated",
        "report generated",
        "printed",
        "exported",
        "extracted",
        "produced",
        "created on",
        "run on",
        "report run",
    ];
    if first_word(&generated) && has_digit {
        return Some("a 'generated on' line");
    }
    if let Some(rest) = text.strip_prefix("page ")
        && rest.starts_with(|c: char| c.is_ascii_digit())
    {
        return Some("a page number");
    }
    if first_word(&["end of report", "end of file", "end of list"]) {
        return Some("an end-of-report line");
    }
    None
}

/// Whether `cell` is a number as a sum is written (`1,234.50`, `€12`, `80%`).
fn is_number(cell: &str) -> bool {
    let digits = cell.chars().filter(char::is_ascii_digit).count();
    digits > 0
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || " .,'-+%$€£".contains(c))
}

fn shorten(text: &str) -> String {
    super::cells::shorten(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn footers_are_told_and_people_are_not() {
        let header = cells(&["username", "email", "department", "salary"]);
        let is_footer = |row: &[&str]| footer(&cells(row), &header).is_some();
        assert!(is_footer(&["Total: 11 starters", "", "", ""]));
        assert!(is_footer(&["Totals", "", "", "123,400"]));
        assert!(is_footer(&["", "", "", "123,400.00"]));
        assert!(is_footer(&["Generated on 2026-11-29 09:14", "", "", ""]));
        assert!(is_footer(&["Page 1 of 2", "", "", ""]));
        // People, however sparse.
        assert!(!is_footer(&["total", "", "", ""]), "a username alone");
        assert!(!is_footer(&["ana", "ana@example.com", "", ""]));
        assert!(!is_footer(&["Total: 3", "ops@example.com", "", ""]));
        assert!(!is_footer(&["1234", "", "", ""]), "a number as username");
        assert!(!is_footer(&["Total: 11", "x", "Sales", ""]), "mostly full");
        assert!(!is_footer(&["Pagett", "", "", ""]));
        let numbered = cells(&["employeeNumber", "department", "office"]);
        assert!(footer(&cells(&["00123", "", ""]), &numbered).is_none());
    }
}
