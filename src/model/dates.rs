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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// Day first (31/12/2026), as most of the world writes it.
    Dmy,
    /// Month first (12/31/2026), as the US writes it.
    Mdy,
}

fn valid(year: i64, month: u32, day: u32) -> Option<i64> {
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

/// A date cell: ISO (`2026-12-31`, with or without a time), `31.12.2026`,
/// or with slashes (read by `order`, or unambiguous by itself).
pub fn parse_date(text: &str, order: Option<DateOrder>) -> Result<i64, String> {
    let shown: String = text.chars().take(40).collect();
    let not_date = || format!("'{shown}' is not a date");
    let date = text.split(['T', ' ']).next().unwrap_or(text);
    let numbers = |sep: char| -> Option<Vec<i64>> {
        let parts: Vec<&str> = date.split(sep).collect();
        (parts.len() == 3).then(|| parts.iter().map(|p| p.parse::<i64>().ok()).collect())?
    };
    let ymd = |y: i64, m: i64, d: i64| -> Option<i64> {
        let (m, d) = (u32::try_from(m).ok()?, u32::try_from(d).ok()?);
        valid(y, m, d)
    };
    if let Some(n) = numbers('-').filter(|n| n[0] > 999) {
        return ymd(n[0], n[1], n[2]).ok_or_else(not_date);
    }
    if let Some(n) = numbers('.') {
        return ymd(n[2], n[1], n[0]).ok_or_else(not_date);
    }
    if let Some(n) = numbers('/') {
        if n[0] > 999 {
            return ymd(n[0], n[1], n[2]).ok_or_else(not_date);
        }
        let order = match order {
            Some(order) => order,
            None if n[0] > 12 => DateOrder::Dmy,
            None if n[1] > 12 => DateOrder::Mdy,
            None if n[0] == n[1] => DateOrder::Dmy,
            None => {
                return Err(format!(
                    "'{date}' could be day/month or month/day: set date_order = \"dmy\" or \"mdy\" on the filter"
                ));
            }
        };
        let (d, m) = match order {
            DateOrder::Dmy => (n[0], n[1]),
            DateOrder::Mdy => (n[1], n[0]),
        };
        return ymd(n[2], m, d).ok_or_else(not_date);
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
}
