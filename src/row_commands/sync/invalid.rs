//! A bad row stops only itself: the rule that decides when a sync's
//! invalid roster rows stop the whole night instead.
//!
//! An invalid row is recorded `invalid`; its person (found by the key it
//! gives, even a key cell that could not be read) is neither changed nor
//! let go as absent, and the rest of the roster runs (exit 3). Only a
//! roster that looks broken — at least [`AT_LEAST`] invalid rows and more
//! than [`SHARE_PERCENT`]% of its rows — refuses the run before anything
//! is sent: a mapping that misreads a column, a file cut or shifted, is
//! not one HR typo. `--skip-invalid` lifts the rule.

use serde::Serialize;

/// Invalid rows that may refuse a run: at least this many...
pub const AT_LEAST: u64 = 5;
/// ...and more than this share of the roster's rows, in percent.
pub const SHARE_PERCENT: u64 = 10;

/// What the summary says of the roster's invalid rows.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct InvalidRows {
    /// Rows recorded `invalid` (their people untouched, not leavers).
    pub invalid_rows: u64,
    /// The most invalid rows this roster may have before the run is
    /// refused as broken; `None` with `--skip-invalid` (no limit).
    pub invalid_limit: Option<u64>,
    /// The rule, in words.
    pub invalid_rule: String,
}

impl InvalidRows {
    /// The roster's `invalid` rows of `rows`, under the rule unless
    /// `unlimited` (`--skip-invalid`).
    pub fn of(invalid: u64, rows: u64, unlimited: bool) -> Self {
        InvalidRows {
            invalid_rows: invalid,
            invalid_limit: (!unlimited).then(|| limit(rows)),
            invalid_rule: rule(unlimited),
        }
    }

    /// Whether the roster looks broken: more invalid rows than the limit.
    pub fn looks_broken(&self) -> bool {
        self.invalid_limit
            .is_some_and(|limit| self.invalid_rows > limit)
    }

    /// Why the run is refused, when it is.
    pub fn refusal(&self, rows: u64) -> Option<String> {
        self.looks_broken().then(|| {
            format!(
                "the roster looks broken: {} of {rows} rows are invalid (a sync stops when at least {AT_LEAST} rows, and more than {SHARE_PERCENT}% of them, are invalid); nothing was sent: fix the roster (or its mapping), or pass --skip-invalid to run the valid rows",
                self.invalid_rows
            )
        })
    }
}

/// The most invalid rows a roster of `rows` may have and still run.
pub fn limit(rows: u64) -> u64 {
    (AT_LEAST - 1).max(rows.saturating_mul(SHARE_PERCENT) / 100)
}

/// The rule, as the summary states it.
fn rule(unlimited: bool) -> String {
    if unlimited {
        "invalid rows are recorded and skipped, however many (--skip-invalid)".to_string()
    } else {
        format!(
            "invalid rows are recorded and skipped; the run is refused when at least {AT_LEAST} rows, and more than {SHARE_PERCENT}% of them, are invalid"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_bad_rows_never_refuse_and_a_broken_roster_does() {
        // Fewer than five never refuse, whatever the share.
        assert!(!InvalidRows::of(3, 3, false).looks_broken());
        assert!(!InvalidRows::of(4, 10, false).looks_broken());
        // Five and more than 10%.
        assert!(InvalidRows::of(5, 20, false).looks_broken());
        assert!(InvalidRows::of(5, 49, false).looks_broken());
        assert!(!InvalidRows::of(5, 50, false).looks_broken());
        assert!(!InvalidRows::of(60, 600, false).looks_broken());
        assert!(InvalidRows::of(61, 600, false).looks_broken());
        // --skip-invalid lifts the rule.
        assert!(!InvalidRows::of(600, 600, true).looks_broken());
        assert_eq!(InvalidRows::of(61, 600, true).invalid_limit, None);
        let refusal = InvalidRows::of(61, 600, false).refusal(600).unwrap();
        assert!(refusal.contains("61 of 600 rows"), "{refusal}");
    }
}
