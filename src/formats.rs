//! Formats shared by reading and writing, so neither side depends on the
//! other: how a cell is kept from running as a formula and read back
//! (both ways, exactly), the results file's own columns, the mask for
//! secrets, and timestamps as results and file names carry them. A leaf:
//! it uses nothing of sebulk but civil-date arithmetic.
//!
//! A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading apostrophe, which Excel and LibreOffice treat as "text";
//! a value that already begins with apostrophes and then one of those gets
//! one more, so reading the cell back (which drops one) gives the value
//! exactly. Applied to values echoed from input into reports, and to
//! exports unless `--no-sanitize`.

/// What a secret cell shows in reports and results.
pub const MASK: &str = "********";

/// The first characters that make a spreadsheet run a cell.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell` carries the apostrophe sebulk adds: one or more `'`, then
/// a formula start. (A value that itself begins so gets one more, so every
/// value survives the way out and back.)
pub fn is_marked(cell: &str) -> bool {
    cell.starts_with('\'') && cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A phone number in international form: `+`, then only digits and
/// spaces (`+44 20 7946 0958`). Nothing in it can call a function or
/// name a cell, so it is written as it is.
fn is_phone_number(cell: &str) -> bool {
    cell.strip_prefix('+').is_some_and(|rest| {
        rest.chars().any(|c| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_digit() || c == ' ')
    })
}

/// The cell, made inert if a spreadsheet would read it as a formula.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if (cell.starts_with(FORMULA_STARTS) && !is_phone_number(cell)) || is_marked(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// [`neutralize`] of a cell already owned: the same string back when it
/// needs no mark (no copy made).
pub fn neutralize_owned(cell: String) -> String {
    match neutralize(&cell) {
        std::borrow::Cow::Borrowed(_) => cell,
        std::borrow::Cow::Owned(marked) => marked,
    }
}

/// Undoes the apostrophe sebulk's own files put before cells a spreadsheet
/// would run as formulas, so its results and
/// exports can be fed back in unchanged.
pub fn unneutralize(cell: &str) -> &str {
    if is_marked(cell) { &cell[1..] } else { cell }
}

/// Whether a recorded row is the row read now (cells as sanitised on write).
pub fn same_cells(recorded: &[String], now: &[String]) -> bool {
    recorded.len() == now.len() && recorded.iter().zip(now).all(|(a, b)| *a == neutralize(b))
}

/// The fixed first columns of sebulk's own results files, which input
/// reading recognises and skips, so results can be fed straight back in.
pub const RESULT_COLUMNS: [&str; 17] = [
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
    "snapshot",
    "line_seal",
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

/// Now, as `2026-11-29T06:15:00Z`.
pub fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_timestamp(seconds)
}

/// `seconds` since the Unix epoch as an RFC 3339 UTC timestamp.
pub fn utc_timestamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = crate::model::dates::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A TOML error as one line a person reads: where (line and column, 1-based)
/// and what, without the source excerpt the parser draws over lines.
pub fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_are_one_line() {
        let text = "[fields]\nusername = \n";
        let Err(error) = toml::from_str::<toml::Table>(text) else {
            panic!("not TOML");
        };
        let line = toml_error(text, &error);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("line 2, column 12: "), "{line}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_932_900), "2026-11-29T06:15:00Z");
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(
            neutralize("+44 20 7946 0958"),
            "+44 20 7946 0958",
            "a phone number"
        );
        assert_eq!(neutralize("+44+1"), "'+44+1");
        assert_eq!(neutralize("+A1"), "'+A1");
        assert_eq!(neutralize("+ "), "'+ ");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("Zoë"), "Zoë");
        assert_eq!(neutralize("'+"), "''+");
        assert_eq!(neutralize("'quoted"), "'quoted");
        for value in [
            "+44", "'+44", "''=x", "'plain", "plain", "", "'", "+44 20", "'+44 20", "+1-2",
        ] {
            assert_eq!(unneutralize(&neutralize(value)), value, "{value} survives");
        }
        assert_eq!(neutralize(""), "");
    }
}
