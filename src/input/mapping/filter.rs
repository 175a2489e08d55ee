//! Row filters: which rows of an HR file are people to import (only
//! `Status = Active`, hire dates no later than next week). A row that
//! fails a filter is recorded as `filtered` with the reason, never
//! dropped silently; a value a filter cannot read (a date that is not a
//! date) is a row error, never a guess.

pub use crate::model::dates::{DateOrder, parse_date};
use serde::Deserialize;

use super::MappingError;
pub use crate::model::dates::{civil_from_days, today};

/// One condition of `[[filter]]`, as written in the mapping file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// The source column (or mapped field) tested.
    pub column: String,
    /// Keep rows whose value is one of these (any case).
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<String>>,
    /// Keep rows whose value is none of these (any case).
    #[serde(default)]
    pub not_in: Option<Vec<String>>,
    /// Keep rows whose value matches this pattern (`*` and `?`, any case).
    #[serde(default)]
    pub matches: Option<String>,
    /// Keep rows whose value does not match this pattern (`*#EXT#*`).
    #[serde(default)]
    pub not_matches: Option<String>,
    /// `false`: keep rows where the column has a value; `true`: where it is empty.
    #[serde(default)]
    pub empty: Option<bool>,
    /// Keep rows whose date is on or before this (`2026-12-31`, `today`, `today+7`).
    #[serde(default)]
    pub on_or_before: Option<String>,
    /// Keep rows whose date is on or after this.
    #[serde(default)]
    pub on_or_after: Option<String>,
    /// How dates with slashes read: `dmy` (31/12/2026) or `mdy`
    /// (12/31/2026); else the run's declared order, if any.
    #[serde(default)]
    pub date_order: Option<String>,
    /// A file without the column is not refused: the filter is skipped,
    /// with a warning.
    #[serde(default)]
    pub optional: bool,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Filter {
    pub column: String,
    test: Test,
    date_order: Option<DateOrder>,
}

#[derive(Debug, Clone)]
enum Test {
    OneOf(Vec<String>),
    NotIn(Vec<String>),
    Matches(String),
    NotMatches(String),
    Empty(bool),
    /// Days since 1970-01-01, inclusive bounds.
    Dates {
        not_after: Option<i64>,
        not_before: Option<i64>,
    },
}

impl Filter {
    /// Compiles `spec`; `today` is days since 1970-01-01, `run_order` how
    /// the run reads slashed dates (the filter's own `date_order` wins).
    pub fn compile(
        spec: &FilterSpec,
        today: i64,
        run_order: Option<DateOrder>,
    ) -> Result<Filter, MappingError> {
        let bad =
            |why: String| MappingError::Invalid(format!("filter on '{}': {why}", spec.column));
        let date_order = match spec.date_order.as_deref() {
            None => run_order,
            Some(order) => Some(order.parse::<DateOrder>().map_err(bad)?),
        };
        let bound = |text: &Option<String>| -> Result<Option<i64>, MappingError> {
            text.as_deref()
                .map(|t| {
                    relative_day(t, today, date_order).ok_or_else(|| {
                        bad(format!("'{t}' is not a date (2026-12-31, today, today+7)"))
                    })
                })
                .transpose()
        };
        let mut tests = Vec::new();
        // Values are matched in any case: each kept once
        // (`Deactivated` and `DEACTIVATED` are one value).
        let once = |values: &[String]| {
            let mut kept: Vec<String> = Vec::new();
            for value in values.iter().map(|v| v.trim().to_lowercase()) {
                if !kept.contains(&value) {
                    kept.push(value);
                }
            }
            kept
        };
        if let Some(values) = &spec.one_of {
            tests.push(Test::OneOf(once(values)));
        }
        if let Some(values) = &spec.not_in {
            tests.push(Test::NotIn(once(values)));
        }
        if let Some(pattern) = &spec.matches {
            tests.push(Test::Matches(pattern.to_lowercase()));
        }
        if let Some(pattern) = &spec.not_matches {
            tests.push(Test::NotMatches(pattern.to_lowercase()));
        }
        if let Some(empty) = spec.empty {
            tests.push(Test::Empty(empty));
        }
        let (not_after, not_before) = (bound(&spec.on_or_before)?, bound(&spec.on_or_after)?);
        if not_after.is_some() || not_before.is_some() {
            tests.push(Test::Dates {
                not_after,
                not_before,
            });
        }
        match tests.len() {
            1 => Ok(Filter {
                column: spec.column.clone(),
                test: tests.remove(0),
                date_order,
            }),
            0 => Err(bad(
                "it tests nothing (in, not_in, matches, not_matches, empty, on_or_before, on_or_after)".into(),
            )),
            _ => Err(bad(
                "one test per [[filter]]; add another [[filter]] for the next".into(),
            )),
        }
    }

    /// The condition, for people: `Status is one of active, pre-hire`.
    pub fn describe(&self) -> String {
        let test = match &self.test {
            Test::OneOf(values) => format!("is one of {}", values.join(", ")),
            Test::NotIn(values) => format!("is none of {}", values.join(", ")),
            Test::Matches(pattern) => format!("matches '{pattern}'"),
            Test::NotMatches(pattern) => format!("does not match '{pattern}'"),
            Test::Empty(true) => "is empty".to_string(),
            Test::Empty(false) => "has a value".to_string(),
            Test::Dates {
                not_after,
                not_before,
            } => {
                let day = |d: &i64| {
                    let (y, m, d) = civil_from_days(*d);
                    format!("{y:04}-{m:02}-{d:02}")
                };
                match (not_before, not_after) {
                    (Some(a), Some(b)) => format!("is a date from {} to {}", day(a), day(b)),
                    (Some(a), None) => format!("is a date on or after {}", day(a)),
                    (None, Some(b)) => format!("is a date on or before {}", day(b)),
                    (None, None) => "is a date".to_string(),
                }
            }
        };
        format!("{} {test}", self.column)
    }

    /// `Ok(None)` keeps the row; `Ok(Some(reason))` filters it out;
    /// `Err` when the value cannot be tested (a date that is not one).
    pub fn check(&self, value: &str) -> Result<Option<String>, String> {
        let value = value.trim();
        let lower = value.to_lowercase();
        let shown = super::super::cells::shorten(value);
        let keep = match &self.test {
            Test::OneOf(values) => values.contains(&lower),
            Test::NotIn(values) => !values.contains(&lower),
            Test::Matches(pattern) => crate::model::text::glob(pattern, &lower),
            Test::NotMatches(pattern) => !crate::model::text::glob(pattern, &lower),
            Test::Empty(empty) => value.is_empty() == *empty,
            Test::Dates {
                not_after,
                not_before,
            } => {
                if value.is_empty() {
                    return Ok(Some(format!("{} is empty, not a date", self.column)));
                }
                let day = parse_date(value, self.date_order).map_err(|e| e.to_string())?;
                not_after.is_none_or(|limit| day <= limit)
                    && not_before.is_none_or(|limit| day >= limit)
            }
        };
        Ok((!keep).then(|| {
            let why = match &self.test {
                Test::OneOf(values) => format!("not one of {}", values.join(", ")),
                Test::NotIn(_) => "excluded".to_string(),
                Test::Matches(pattern) => format!("does not match '{pattern}'"),
                Test::NotMatches(pattern) => format!("matches '{pattern}'"),
                Test::Empty(true) => "not empty".to_string(),
                Test::Empty(false) => "empty".to_string(),
                Test::Dates { .. } => "outside the dates kept".to_string(),
            };
            format!("filtered out: {} is '{shown}' ({why})", self.column)
        }))
    }
}

/// `today`, `today+N`, `today-N` or a date, as days since 1970-01-01.
fn relative_day(text: &str, today: i64, order: Option<DateOrder>) -> Option<i64> {
    let text = text.trim();
    match text.strip_prefix("today") {
        Some("") => Some(today),
        Some(offset) => {
            let offset = offset.replace(' ', "");
            let (sign, digits) = offset.split_at(1);
            let days: i64 = digits.parse().ok()?;
            match sign {
                "+" => Some(today + days),
                "-" => Some(today - days),
                _ => None,
            }
        }
        None => parse_date(text, order).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dates::days_from_civil;

    fn filter(spec: FilterSpec) -> Filter {
        Filter::compile(&spec, days_from_civil(2026, 11, 29), None).unwrap()
    }

    #[test]
    fn dates_are_read_strictly() {
        let day = days_from_civil(2026, 12, 31);
        assert_eq!(parse_date("2026-12-31", None), Ok(day));
        assert_eq!(parse_date("2026-12-31T09:00:00Z", None), Ok(day));
        assert_eq!(parse_date("31.12.2026", None), Ok(day));
        assert_eq!(parse_date("31/12/2026", None), Ok(day));
        assert_eq!(parse_date("12/31/2026", None), Ok(day));
        assert!(
            parse_date("03/04/2026", None)
                .unwrap_err()
                .to_string()
                .contains("date_order")
        );
        assert_eq!(
            parse_date("03/04/2026", Some(DateOrder::Mdy)),
            Ok(days_from_civil(2026, 3, 4))
        );
        assert!(parse_date("2026-02-30", None).is_err());
        assert!(parse_date("soon", None).is_err());
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-1000, 0, 11_017, 20_786, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn the_run_order_reads_a_filter_unless_the_filter_says_its_own() {
        let hired = |own: Option<&str>, run| {
            let spec = FilterSpec {
                column: "Hire Date".into(),
                on_or_before: Some("today".into()),
                date_order: own.map(str::to_string),
                ..Default::default()
            };
            Filter::compile(&spec, days_from_civil(2026, 11, 29), run).unwrap()
        };
        // 03/12/2026: 3 December (after today) day-first, 12 March month-first.
        let kept = |filter: Filter| filter.check("03/12/2026").map(|out| out.is_none());
        assert_eq!(kept(hired(None, Some(DateOrder::Dmy))), Ok(false));
        assert_eq!(kept(hired(None, Some(DateOrder::Mdy))), Ok(true));
        assert_eq!(kept(hired(Some("mdy"), Some(DateOrder::Dmy))), Ok(true));
        assert!(
            kept(hired(None, None)).is_err(),
            "ambiguous without an order"
        );
        let spec = FilterSpec {
            column: "x".into(),
            empty: Some(true),
            date_order: Some("ymd".into()),
            ..Default::default()
        };
        assert!(Filter::compile(&spec, 0, None).is_err());
    }

    #[test]
    fn filters_keep_or_say_why_not() {
        let active = filter(FilterSpec {
            column: "Status".into(),
            one_of: Some(vec!["Active".into(), "Pre-hire".into()]),
            ..Default::default()
        });
        assert_eq!(active.check("active"), Ok(None));
        let out = active.check("Terminated").unwrap().unwrap();
        assert!(out.contains("Status is 'Terminated'"), "{out}");
        let soon = filter(FilterSpec {
            column: "Hire Date".into(),
            on_or_before: Some("today+7".into()),
            ..Default::default()
        });
        assert_eq!(soon.check("2026-12-06"), Ok(None));
        assert!(soon.check("2026-12-07").unwrap().is_some());
        assert!(soon.check("next week").is_err());
        let pattern = filter(FilterSpec {
            column: "Employee ID".into(),
            matches: Some("E*".into()),
            ..Default::default()
        });
        assert_eq!(pattern.check("e1001"), Ok(None));
        assert!(pattern.check("C2001").unwrap().is_some());
        assert!(
            Filter::compile(
                &FilterSpec {
                    column: "x".into(),
                    ..Default::default()
                },
                0,
                None
            )
            .is_err(),
            "a filter must test something"
        );
    }
}
