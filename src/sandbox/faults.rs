//! What stands between a request and the tenant: request counting, injected
//! latency, the rate limit (429 with Retry-After), injected 503s, and the
//! API-key check (401). All randomness comes from one seeded generator, so
//! a run's faults can be reproduced.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use secrecy::ExposeSecret;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

use super::{Shared, error_response};

/// Faults to inject, all off by default.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every request before it is handled.
    pub latency: Duration,
    /// Requests per second beyond which the sandbox answers 429.
    pub rate_limit: Option<u32>,
    /// Share of requests answered 503 without being handled.
    pub fail_rate: f64,
    /// Share of user/group creates that commit and then lose the connection.
    pub drop_rate: f64,
    /// A page size the server silently caps `pageSize` to.
    pub max_page_size: Option<u32>,
    /// Requests (by arrival number, from 1) answered 429, with the
    /// Retry-After seconds to send, if any.
    pub scripted_429: Vec<(u64, Option<u64>)>,
    /// Remember when each request arrived (see `SandboxHandle::arrivals`).
    pub record_arrivals: bool,
    /// Seed of the generator behind fail and drop decisions.
    pub seed: u64,
}

/// The sliding one-second window behind `rate_limit`.
#[derive(Debug, Default)]
pub struct RateWindow {
    accepted: VecDeque<Instant>,
}

impl RateWindow {
    /// Admits a request, or says how long until one would be admitted.
    fn admit(&mut self, limit: u32, now: Instant) -> Result<u32, Duration> {
        let window = Duration::from_secs(1);
        while self
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= limit as usize {
            let oldest = self.accepted.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        self.accepted.push_back(now);
        Ok(limit - self.accepted.len() as u32)
    }
}

/// Draws from the shared seeded generator.
pub(crate) fn chance(shared: &Shared, probability: f64) -> bool {
    if probability <= 0.0 {
        return false;
    }
    let mut rng = shared.rng.lock().unwrap_or_else(|p| p.into_inner());
    rng.random_bool(probability.min(1.0))
}

/// The middleware in front of every route.
pub(crate) async fn gate(
    State(shared): State<std::sync::Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let number = shared.counters.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let faults = &shared.config.faults;
    if faults.record_arrivals {
        let mut arrivals = shared.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        arrivals.push((
            std::time::Instant::now(),
            request.method() != axum::http::Method::GET,
        ));
    }
    if let Some((_, retry_after)) = faults.scripted_429.iter().find(|(n, _)| *n == number) {
        shared.counters.throttled.fetch_add(1, Ordering::Relaxed);
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded (scripted)",
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(*seconds));
        }
        return response;
    }
    // The limit counts requests as they arrive, as a gateway does; the
    // latency then delays every answer, a 429 too. (Counting after the
    // latency's sleep would count the timer's jitter: two requests a
    // second apart on arrival can wake closer together.)
    let verdict = faults.rate_limit.map(|limit| {
        let verdict = shared
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(limit, Instant::now());
        (limit, verdict)
    });
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let mut remaining = None;
    if let Some((limit, verdict)) = verdict {
        match verdict {
            Ok(left) => remaining = Some((limit, left)),
            Err(wait) => {
                shared.counters.throttled.fetch_add(1, Ordering::Relaxed);
                // Retry-After is whole seconds (RFC 9110), rounded up.
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut response = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("rate limit of {limit} requests per second exceeded"),
                );
                let headers = response.headers_mut();
                headers.insert("retry-after", HeaderValue::from(seconds.max(1)));
                headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
                headers.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
                return response;
            }
        }
    }
    if chance(&shared, faults.fail_rate) {
        shared.counters.failed.fetch_add(1, Ordering::Relaxed);
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "service temporarily unavailable",
        );
    }
    if !authorized(&shared, &request) {
        return error_response(StatusCode::UNAUTHORIZED, "missing or invalid API key");
    }
    let mut response = next.run(request).await.into_response();
    if let Some((limit, left)) = remaining {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(left));
    }
    response
}

fn authorized(shared: &Shared, request: &Request) -> bool {
    if shared.revoked.load(Ordering::SeqCst) {
        return false;
    }
    let scheme = shared.config.auth_scheme;
    let expected = shared.config.api_key.expose_secret().as_bytes();
    request
        .headers()
        .get_all(scheme.header_name())
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| scheme.extract_key(scheme.header_name(), value))
        .any(|key| constant_time_eq(key.as_bytes(), expected))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_admits_the_limit_per_second() {
        let mut window = RateWindow::default();
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(window.admit(3, start), Ok(2 - i));
        }
        let wait = window
            .admit(3, start + Duration::from_millis(400))
            .unwrap_err();
        assert_eq!(wait, Duration::from_millis(600));
        assert!(window.admit(3, start + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn keys_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
