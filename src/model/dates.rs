//! Civil dates as days since 1970-01-01: enough for ISO timestamps in
//! results and date filters in mappings. "Today" is the date where the
//! machine is (its time zone, as `TZ` or the system sets it), since an
//! admin's "hired by today" means their today, not UTC's.

/// Today's date where this machine is, as days since 1970-01-01.
pub fn today() -> i64 {
    today_in(&jiff::tz::TimeZone::system(), jiff::Timestamp::now())
}

/// The date `now` falls on in `zone`, as days since 1970-01-01.
pub fn today_in(zone: &jiff::tz::TimeZone, now: jiff::Timestamp) -> i64 {
    let date = now.to_zoned(zone.clone()).date();
    days_from_civil(
        i64::from(date.year()),
        date.month().unsigned_abs().into(),
        date.day().unsigned_abs().into(),
    )
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// How slashed dates are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day first (31/12/2026), as most of the world writes it.
    Dmy,
    /// Month first (12/31/2026), as the US writes it.
    Mdy,
}

impl DateOrder {
    /// As it is written in flags and files: `dmy` or `mdy`.
    pub fn name(self) -> &'static str {
        match self {
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
        }
    }

    /// For people: `day-first (dmy)`.
    pub fn describe(self) -> String {
        match self {
            DateOrder::Dmy => "day-first (dmy)".to_string(),
            DateOrder::Mdy => "month-first (mdy)".to_string(),
        }
    }
}

impl std::str::FromStr for DateOrder {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            _ => Err(format!("the date order is dmy or mdy, not '{text}'")),
        }
    }
}

/// Why a cell is not read as a date. Each names the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// No form sebulk reads, or no such day (`2026-02-30`).
    #[error("'{0}' is not a date")]
    NotADate(String),
    /// `31/12/26`: the century is a guess, and a wrong guess disables
    /// people or enables them early.
    #[error("'{0}' has a year of fewer than four digits: write the year in full (e.g. 2026)")]
    ShortYear(String),
    /// `03/04/2026` with no order declared.
    #[error(
        "'{0}' could be day/month or month/day: declare the order (--date-order dmy|mdy, or date_order in the profile, the mapping or its filter) or write YYYY-MM-DD"
    )]
    Ambiguous(String),
}

/// The years a start or end date can fall in: anything else is a typo
/// (`20026`), never a date to act on.
const YEARS: std::ops::RangeInclusive<i64> = 1900..=2999;

fn valid(year: i64, month: u32, day: u32) -> Option<i64> {
    if !YEARS.contains(&year) {
        return None;
    }
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then(|| days_from_civil(year, month, day))
}

/// The three all-digit parts of `date` split by `separator`, if it has them.
fn three_parts(date: &str, separator: char) -> Option<[&str; 3]> {
    let parts: Vec<&str> = date.split(separator).collect();
    let digits = |p: &&str| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [a, b, c] if [a, b, c].iter().all(|p| digits(p)) => Some([a, b, c]),
        _ => None,
    }
}

/// A year written in full: four digits (or more), never a guessed century
/// (`0026` is the year 26 padded, not written in full).
fn full_year(part: &str) -> bool {
    part.len() >= 4 && !part.starts_with('0')
}

/// Day `days` as `YYYY-MM-DD`.
pub fn iso(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A date cell: ISO (`2026-12-31`, with or without a time), `31.12.2026`
/// (always day first), or with slashes: `2026/12/31`, else read by
/// `order`, or unambiguous by itself (`31/12/2026`). A year must be
/// written in full: `31/12/26` is an error, never the year 26 or 2026.
pub fn parse_date(text: &str, order: Option<DateOrder>) -> Result<i64, DateError> {
    let shown: String = text.trim().chars().take(40).collect();
    let not_date = || DateError::NotADate(shown.clone());
    let short_year = || DateError::ShortYear(shown.clone());
    let date = text.trim().split(['T', ' ']).next().unwrap_or(text);
    let ymd = |y: &str, m: &str, d: &str| -> Option<i64> {
        valid(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    };
    if let Some([a, b, c]) = three_parts(date, '-') {
        return match (full_year(a), full_year(c)) {
            (true, _) => ymd(a, b, c).ok_or_else(not_date),
            (false, false) => Err(short_year()),
            (false, true) => Err(not_date()),
        };
    }
    if let Some([d, m, y]) = three_parts(date, '.') {
        if !full_year(y) {
            return Err(if full_year(d) {
                not_date()
            } else {
                short_year()
            });
        }
        return ymd(y, m, d).ok_or_else(not_date);
    }
    if let Some([a, b, c]) = three_parts(date, '/') {
        if full_year(a) {
            return ymd(a, b, c).ok_or_else(not_date);
        }
        if !full_year(c) {
            return Err(short_year());
        }
        let (first, second) = (a.parse::<u32>().ok(), b.parse::<u32>().ok());
        let order = match order {
            Some(order) => order,
            None if first > Some(12) => DateOrder::Dmy,
            None if second > Some(12) => DateOrder::Mdy,
            None if first == second => DateOrder::Dmy,
            None => return Err(DateError::Ambiguous(shown)),
        };
        let (d, m) = match order {
            DateOrder::Dmy => (a, b),
            DateOrder::Mdy => (b, a),
        };
        return ymd(c, m, d).ok_or_else(not_date);
    }
    Err(not_date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::{Offset, TimeZone};

    #[test]
    fn today_is_the_local_date() {
        // 23:30 UTC on 1 December is already 2 December in UTC+1 and
        // still 1 December in UTC-5.
        let now: jiff::Timestamp = "2026-12-01T23:30:00Z".parse().unwrap();
        let plus_one = TimeZone::fixed(Offset::constant(1));
        let minus_five = TimeZone::fixed(Offset::constant(-5));
        assert_eq!(today_in(&plus_one, now), days_from_civil(2026, 12, 2));
        assert_eq!(today_in(&TimeZone::UTC, now), days_from_civil(2026, 12, 1));
        assert_eq!(today_in(&minus_five, now), days_from_civil(2026, 12, 1));
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1, 0, 59, 365, 20_000, 20_789] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
    #[test]
    fn a_year_not_written_in_full_is_an_error_naming_the_cell() {
        for text in [
            "31/12/26",
            "12/31/26",
            "31.12.26",
            "26-12-31",
            "31-12-26",
            "15/01/027",
            "31/12/0026",
            "0026-12-31",
        ] {
            for order in [None, Some(DateOrder::Dmy), Some(DateOrder::Mdy)] {
                let error = parse_date(text, order).unwrap_err();
                assert_eq!(error, DateError::ShortYear(text.to_string()), "{text}");
                let message = error.to_string();
                assert!(message.contains(text), "{message}");
                assert!(message.contains("write the year in full"), "{message}");
            }
        }
    }

    #[test]
    fn a_declared_order_reads_slashed_dates_that_way() {
        assert_eq!(
            parse_date("03/01/2027", Some(DateOrder::Dmy)),
            Ok(days_from_civil(2027, 1, 3))
        );
        assert_eq!(
            parse_date("03/01/2027", Some(DateOrder::Mdy)),
            Ok(days_from_civil(2027, 3, 1))
        );
        assert_eq!(
            parse_date("12/31/2026", Some(DateOrder::Dmy)),
            Err(DateError::NotADate("12/31/2026".to_string())),
            "a declared order is not second-guessed"
        );
    }

    #[test]
    fn dotted_and_iso_dates_ignore_the_order() {
        let day = days_from_civil(2027, 1, 3);
        for order in [None, Some(DateOrder::Dmy), Some(DateOrder::Mdy)] {
            assert_eq!(parse_date("03.01.2027", order), Ok(day));
            assert_eq!(parse_date("2027-01-03", order), Ok(day));
            assert_eq!(parse_date("2027/01/03", order), Ok(day));
            assert_eq!(parse_date(" 2027-01-03T23:59:00Z ", order), Ok(day));
        }
    }

    #[test]
    fn an_ambiguous_slashed_date_without_an_order_is_an_error() {
        let error = parse_date("03/01/2027", None).unwrap_err();
        assert_eq!(error, DateError::Ambiguous("03/01/2027".to_string()));
        assert!(
            error.to_string().contains("--date-order dmy|mdy"),
            "{error}"
        );
        // Unambiguous by themselves.
        assert_eq!(
            parse_date("31/12/2026", None),
            Ok(days_from_civil(2026, 12, 31))
        );
        assert_eq!(
            parse_date("12/31/2026", None),
            Ok(days_from_civil(2026, 12, 31))
        );
        assert_eq!(
            parse_date("05/05/2026", None),
            Ok(days_from_civil(2026, 5, 5))
        );
    }

    #[test]
    fn what_is_not_a_date_says_so() {
        for text in [
            "soon",
            "2026-02-30",
            "31-12-2026",
            "2026.12.31",
            "1/2",
            "+1/+2/2026",
            "",
        ] {
            assert!(
                matches!(
                    parse_date(text, Some(DateOrder::Dmy)),
                    Err(DateError::NotADate(_))
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn orders_are_named_as_written() {
        assert_eq!("DMY".parse(), Ok(DateOrder::Dmy));
        assert_eq!("mdy".parse(), Ok(DateOrder::Mdy));
        assert!("ymd".parse::<DateOrder>().is_err());
        assert_eq!(DateOrder::Dmy.describe(), "day-first (dmy)");
    }
}
