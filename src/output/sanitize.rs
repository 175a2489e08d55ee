//! Keeps spreadsheet programs from running a cell as a formula.
//!
//! A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading apostrophe, which Excel and LibreOffice treat as "text".
//! Applied to values echoed from input into reports, and to exports unless
//! `--no-sanitize`. A value that already begins with apostrophes and then
//! one of those gets one more, so reading the cell back (which drops one)
//! gives the value exactly.

use crate::input::cells::{FORMULA_STARTS, is_marked};

/// The cell, made inert if a spreadsheet would read it as a formula.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) || is_marked(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
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
        assert_eq!(neutralize("'+"), "''+");
        assert_eq!(neutralize("'quoted"), "'quoted");
        for value in ["+44", "'+44", "''=x", "'plain", "plain", "", "'"] {
            assert_eq!(
                crate::input::cells::unneutralize(&neutralize(value)),
                value,
                "{value} survives"
            );
        }
        assert_eq!(neutralize(""), "");
    }
}
