//! The report's row sections, read from the file the run wrote: a
//! results or plan file (every row, filterable by outcome, and the
//! problems grouped by kind), a diff's changes, or a factors export
//! (coverage by type, and who has no second factor).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::changes;
use super::html::{bars, escape};
use super::{ROW_LIMIT, RowsKind};

/// Outcomes (and planned actions) that need nobody's attention.
const CLEAN: [&str; 12] = [
    "created",
    "updated",
    "unchanged",
    "deleted",
    "disabled",
    "rehired",
    "create",
    "update",
    "filtered",
    "pending",
    "skipped",
    "protected",
];

/// Outcomes (and planned actions) by the change they make to people, in
/// the order a sync's or an apply's page shows them.
const CHANGES: [(&str, &[&str]); 4] = [
    ("Joiners", &["created", "create", "pending"]),
    ("Movers", &["updated", "update"]),
    (
        "Leavers",
        &["disabled", "disable", "deleted", "delete", "locked", "lock"],
    ),
    ("Rehires", &["rehired", "rehire"]),
];

/// The section for `file`, of `kind`. `shown` names the file in the note
/// on rows not shown; `by_change` opens on what changed (joiners, movers,
/// leavers, rehires), the rest after it, collapsed.
pub fn section(
    file: &Path,
    kind: RowsKind,
    shown: &str,
    by_change: bool,
) -> Result<String, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .map_err(|e| e.to_string())?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let at = |names: &[&str]| column_at(&header, names);
    let records = reader
        .records()
        .filter_map(Result::ok)
        .filter(|r| r.get(0) != Some(crate::output::plan_file::SEAL_MARK));
    let get = cell_at;
    match kind {
        RowsKind::Factors => {
            let (user, second) = (at(&["username"]), at(&["second_factor"]));
            let rows: Vec<(String, String)> =
                records.map(|r| (get(&r, user), get(&r, second))).collect();
            Ok(factors(&rows, shown))
        }
        RowsKind::Diff | RowsKind::Problems => {
            let (title, columns, outcome): (&str, &[&str], usize) = match kind {
                RowsKind::Diff => (
                    "Changes",
                    &["change", "key", "username", "field", "old", "new"],
                    0,
                ),
                _ => (
                    "Problems",
                    &["row", "line", "column", "value", "problem", "severity"],
                    5,
                ),
            };
            let picks: Vec<Option<usize>> = columns.iter().map(|c| at(&[c])).collect();
            let rows = records.map(|r| picks.iter().map(|p| get(&r, *p)).collect());
            Ok(table(title, columns, rows, outcome, shown, true))
        }
        RowsKind::Results => Ok(results(&header, records, shown, by_change)),
    }
}

/// The rows of a results file (or a plan): outcome, changes and
/// memberships (+ added, − removed) per row, problems grouped above them;
/// `by_change` opens on what changed.
fn results(
    header: &[String],
    records: impl Iterator<Item = csv::StringRecord>,
    shown: &str,
    by_change: bool,
) -> String {
    let at = |names: &[&str]| column_at(header, names);
    let get = cell_at;
    let wanted: [(&str, &[&str]); 8] = [
        ("row", &["row"]),
        ("username", &["username"]),
        ("outcome", &["outcome", "action"]),
        ("user_id", &["user_id"]),
        ("changes", &["changes"]),
        ("groups", &["groups_added", "groups_add"]),
        ("applications", &["applications_added", "applications_add"]),
        ("problem or note", &["error", "notes"]),
    ];
    let removed = [
        at(&["groups_removed", "groups_remove"]),
        at(&["applications_removed", "applications_remove"]),
    ];
    let picks: Vec<Option<usize>> = wanted.iter().map(|(_, n)| at(n)).collect();
    let mut problems: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let rows: Vec<Vec<String>> = records
        .map(|r| {
            let mut cells: Vec<String> = picks.iter().map(|p| get(&r, *p)).collect();
            // Memberships: + added, − removed, one line each.
            for (slot, removed) in [(5, removed[0]), (6, removed[1])] {
                let mut lines: Vec<String> =
                    split(&cells[slot]).map(|t| format!("+ {t}")).collect();
                lines.extend(split(&get(&r, removed)).map(|t| format!("− {t}")));
                cells[slot] = lines.join("\n");
            }
            let created = matches!(cells[2].as_str(), "created" | "create" | "pending");
            cells[4] = changes::shown(&cells[4], created);
            if !CLEAN.contains(&cells[2].as_str()) && !cells[2].is_empty() {
                problems
                    .entry((cells[2].clone(), kind_of(&cells[7])))
                    .or_default()
                    .push(cells[0].clone());
            }
            cells
        })
        .collect();
    let columns: Vec<&str> = wanted.iter().map(|(n, _)| *n).collect();
    if by_change {
        return changes_first(&columns, rows, &grouped(&problems), shown);
    }
    let mut page = grouped(&problems);
    page.push_str(&table("Rows", &columns, rows.into_iter(), 2, shown, true));
    page
}

/// The first of `names` the header has, by position.
fn column_at(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| header.iter().position(|h| h == n))
}

/// The cell at `at` as written (a neutralised formula given back); empty
/// when the column or the cell is missing.
fn cell_at(record: &csv::StringRecord, at: Option<usize>) -> String {
    at.and_then(|i| record.get(i))
        .map(|c| crate::formats::unneutralize(c).to_string())
        .unwrap_or_default()
}

fn split(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|t| !t.is_empty())
}

/// A problem's kind: its text with the row's own values taken out.
fn kind_of(problem: &str) -> String {
    let mut kind = String::new();
    let mut quoted: Option<char> = None;
    for c in problem.chars() {
        match (quoted, c) {
            (Some(q), c) if c == q => {
                quoted = None;
                kind.push('…');
                kind.push(c);
            }
            (Some(_), _) => {}
            (None, '\'' | '"') => {
                quoted = Some(c);
                kind.push(c);
            }
            (None, c) if c.is_ascii_digit() => {
                if !kind.ends_with('#') {
                    kind.push('#');
                }
            }
            (None, c) => kind.push(c),
        }
    }
    kind
}

/// A sync's or an apply's rows: what changed first, a section for each
/// kind of change, then the problems and the rows to look at, then every
/// other row (unchanged, left alone) collapsed.
fn changes_first(columns: &[&str], rows: Vec<Vec<String>>, problems: &str, shown: &str) -> String {
    let mut sections: Vec<Vec<Vec<String>>> = vec![Vec::new(); CHANGES.len()];
    let (mut troubled, mut rest) = (Vec::new(), Vec::new());
    for row in rows {
        let outcome = row.get(2).map(String::as_str).unwrap_or_default();
        match CHANGES.iter().position(|(_, o)| o.contains(&outcome)) {
            Some(i) => sections[i].push(row),
            None if !outcome.is_empty() && !CLEAN.contains(&outcome) => troubled.push(row),
            None => rest.push(row),
        }
    }
    let mut page = String::from("<h2>What changed</h2>\n");
    if sections.iter().all(Vec::is_empty) {
        page.push_str("<p>Nothing changed.</p>\n");
    }
    for ((title, _), rows) in CHANGES.iter().zip(sections) {
        if !rows.is_empty() {
            let title = format!("{title} ({})", rows.len());
            page.push_str(
                &table(&title, columns, rows.into_iter(), 2, shown, false)
                    .replace("<h2>", "<h3>")
                    .replace("</h2>", "</h3>"),
            );
        }
    }
    page.push_str(problems);
    if !troubled.is_empty() {
        let title = format!("Rows to look at ({})", troubled.len());
        page.push_str(&table(
            &title,
            columns,
            troubled.into_iter(),
            2,
            shown,
            false,
        ));
    }
    if !rest.is_empty() {
        let _ = writeln!(
            page,
            "<details class=\"rest\"><summary>{} rows unchanged or left alone</summary>",
            rest.len()
        );
        page.push_str(&table(
            "Unchanged and left alone",
            columns,
            rest.into_iter(),
            2,
            shown,
            true,
        ));
        page.push_str("</details>\n");
    }
    page
}

/// The problems, grouped by outcome and kind, with the rows they hit.
fn grouped(problems: &BTreeMap<(String, String), Vec<String>>) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let mut page = String::from(
        "<h2>Problems by kind</h2>\n<table class=\"problems\"><thead><tr><th>outcome</th><th>kind</th><th>rows</th><th>which</th></tr></thead><tbody>",
    );
    for ((outcome, kind), rows) in problems {
        let shown: Vec<&str> = rows.iter().take(12).map(String::as_str).collect();
        let more = if rows.len() > 12 { ", …" } else { "" };
        let _ = write!(
            page,
            "<tr><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}{more}</td></tr>",
            escape(outcome),
            escape(kind),
            rows.len(),
            escape(&shown.join(", "))
        );
    }
    page.push_str("</tbody></table>\n");
    page
}

/// A table of `rows` (at most [`ROW_LIMIT`]); the page's one
/// `filterable` table can be filtered by the column at `outcome`.
fn table(
    title: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
    outcome: usize,
    shown: &str,
    filterable: bool,
) -> String {
    let mut body = String::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0usize;
    for cells in rows {
        total += 1;
        let value = cells.get(outcome).cloned().unwrap_or_default();
        *seen.entry(value.clone()).or_default() += 1;
        if total > ROW_LIMIT {
            continue;
        }
        let _ = write!(body, "<tr data-outcome=\"{}\">", escape(&value));
        for (i, cell) in cells.iter().enumerate() {
            let class = match (i == outcome, columns.get(i)) {
                (true, _) => format!(" class=\"outcome-{}\"", escape(cell)),
                (_, Some(&"changes")) => " class=\"changes\"".to_string(),
                _ => String::new(),
            };
            let _ = write!(
                body,
                "<td{class}>{}</td>",
                escape(cell).replace('\n', "<br>")
            );
        }
        body.push_str("</tr>\n");
    }
    let mut page = format!("<h2>{}</h2>\n", escape(title));
    if filterable {
        page.push_str(&filter(
            columns.get(outcome).copied().unwrap_or("row"),
            &seen,
        ));
        page.push_str("<table id=\"rows\"><thead><tr>");
    } else {
        page.push_str("<table><thead><tr>");
    }
    for column in columns {
        let _ = write!(page, "<th>{}</th>", escape(column));
    }
    page.push_str("</tr></thead><tbody>\n");
    page.push_str(&body);
    page.push_str("</tbody></table>\n");
    if total > ROW_LIMIT {
        let _ = writeln!(
            page,
            "<p class=\"note\">The first {ROW_LIMIT} of {total} rows are shown; every row is in {}.</p>",
            escape(shown)
        );
    }
    page
}

/// The outcome filter over the page's one filterable table (hidden until
/// the script shows it).
fn filter(column: &str, seen: &BTreeMap<String, u64>) -> String {
    let mut out =
        String::from("<label><select id=\"outcome-filter\" hidden><option value=\"\">every ");
    out.push_str(&escape(column));
    out.push_str("</option>");
    for (value, count) in seen {
        let _ = write!(
            out,
            "<option value=\"{0}\">{0} ({count})</option>",
            escape(value)
        );
    }
    out.push_str("</select></label>\n");
    out
}

/// Second-factor coverage by type, and the users without one.
fn factors(rows: &[(String, String)], shown: &str) -> String {
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut without = Vec::new();
    for (user, second) in rows {
        let kind = match second.trim() {
            "" | "none" => {
                without.push(vec![user.clone()]);
                "none".to_string()
            }
            kind => kind.to_string(),
        };
        *by_type.entry(kind).or_default() += 1;
    }
    let counts: Vec<(String, u64)> = by_type.into_iter().collect();
    let covered = rows.len() - without.len();
    let mut page = format!(
        "<h2>Second factors</h2>\n<p>{covered} of {} users have a second factor.</p>\n",
        rows.len()
    );
    page.push_str(&bars(&counts));
    page.push_str(&table(
        "Users without a second factor",
        &["username"],
        without.into_iter(),
        usize::MAX,
        shown,
        true,
    ));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_leave_out_the_rows_own_values() {
        assert_eq!(
            kind_of("no user with username 'ana', and row 12 needs 'x'"),
            kind_of("no user with username 'bo', and row 7 needs 'y'")
        );
        let long = "the email domain is not one the tenant uses ".repeat(6) + "departmental";
        assert!(
            kind_of(&long).ends_with("departmental"),
            "whole, never cut mid-word"
        );
    }
}
