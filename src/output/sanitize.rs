//! Keeps spreadsheet programs from running a cell as a formula.
//!
//! A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading apostrophe, which Excel and LibreOffice treat as "text".
//! Applied to values echoed from input into reports, and to exports unless
//! `--no-sanitize`.

/// The cell, made inert if a spreadsheet would read it as a formula.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("+44 20"), "'+44 20");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("Zoë"), "Zoë");
        assert_eq!(neutralize(""), "");
    }
}
