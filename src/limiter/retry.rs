//! When to try a request again, and how long to wait first.
//!
//! Backoff is exponential with full jitter (a random wait between zero and
//! the exponential bound), so workers that failed together do not retry
//! together. A server's Retry-After always wins over our own guess.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The retry budget and backoff bounds of one run.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// The backoff bound of the first retry.
    pub base_delay: Duration,
    /// No single backoff waits longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Whether a request that has been tried `attempts` times may go again.
    pub fn allows_another(&self, attempts: u32) -> bool {
        attempts <= self.max_retries
    }

    /// The wait before retry number `retry` (1-based): uniform in
    /// `[0, min(max_delay, base_delay * 2^(retry-1))]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let bound = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// HTTP statuses that say "not now" rather than "no".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// The longest wait a Retry-After is read as: anything longer is the same
/// "too long" (and can never overflow a clock).
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(365 * 86_400);

/// The wait a `Retry-After` header value asks for: delta-seconds or an
/// HTTP-date, measured from `now`. A date in the past means "now"; any
/// wait is read as at most [`RETRY_AFTER_CEILING`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(RETRY_AFTER_CEILING));
    }
    if value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() {
        // More digits than a u64 holds.
        return Some(RETRY_AFTER_CEILING);
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some(Duration::from_secs_f64(
            seconds.min(RETRY_AFTER_CEILING.as_secs_f64()),
        ));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(RETRY_AFTER_CEILING),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(RETRY_AFTER_CEILING)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(RETRY_AFTER_CEILING)
        );
        assert_eq!(parse_retry_after("1e300", now), Some(RETRY_AFTER_CEILING));
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let policy = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(3) <= Duration::from_millis(350));
            assert!(policy.backoff(60) <= Duration::from_millis(350));
        }
        assert!(policy.allows_another(3));
        assert!(!policy.allows_another(4));
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 502, 503, 504] {
            assert!(is_retryable_status(status));
        }
        for status in [400, 401, 404, 409, 500] {
            assert!(!is_retryable_status(status));
        }
    }
}
