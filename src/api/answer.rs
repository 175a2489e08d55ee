//! What one HTTP answer means for the call that got it, decided from the
//! answer and the run's standing alone: no I/O, no counters, so every rule
//! (which statuses are retried, when a 403 stops the run, when a wait is
//! too long) is one `match` a test can read. The client's loop carries the
//! verdict out.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use super::error::ApiError;
use super::wire;
use crate::limiter::retry::is_retryable_status;

/// 403s in a row (with no success between) after which a 403 stops the run.
pub const FORBIDDEN_IN_A_ROW: u32 = 5;

/// What the loop does with an answer.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// A success: hand the reply back.
    Done,
    /// This call fails; the run goes on.
    Fails(ApiError),
    /// The whole run stops for this error.
    StopsRun(ApiError),
    /// Send it again: after our own backoff, or (`backoff: false`) as
    /// soon as the pool's pause, which a Retry-After or 429 set, allows.
    Again { backoff: bool },
}

/// What the verdict depends on besides the answer itself.
pub(crate) struct Standing<'a> {
    /// 403s in a row, this one included (0 when it is no 403).
    pub forbidden_in_a_row: u32,
    /// No request of the run has succeeded yet.
    pub nothing_worked: bool,
    /// The longest Retry-After honoured.
    pub max_wait: Duration,
    /// The call may be sent again even when the server may have acted.
    pub replay_if_maybe_sent: bool,
    /// The retry policy allows another attempt.
    pub another_allowed: bool,
    pub attempts: u32,
    /// How the key was sent, for the hint on a refused key.
    pub scheme: &'a str,
}

/// The Retry-After an answer asks for, if it asks one we can read.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::limiter::retry::parse_retry_after(v, std::time::SystemTime::now()))
}

/// The verdict on an answer with `status`, `headers` and `body`.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    standing: &Standing<'_>,
) -> Verdict {
    if status.is_success() {
        return Verdict::Done;
    }
    let code = status.as_u16();
    let message = wire::error_message(body);
    // One user the key may not touch fails one row; a key that may do
    // nothing at all (no success yet, or 403 after 403) stops the run.
    if code == 403 && !standing.nothing_worked && standing.forbidden_in_a_row < FORBIDDEN_IN_A_ROW {
        return Verdict::Fails(ApiError::Forbidden { message });
    }
    if matches!(code, 401 | 403) {
        return Verdict::StopsRun(ApiError::Unauthorized {
            status: code,
            message,
            scheme: standing.scheme.to_string(),
        });
    }
    if status.is_redirection() {
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(no Location header)")
            .to_string();
        return Verdict::Fails(ApiError::Redirect {
            status: code,
            location,
        });
    }
    let asked = retry_after(headers);
    if let Some(asked) = asked.filter(|wait| *wait > standing.max_wait)
        && matches!(code, 429 | 503)
    {
        // Waiting that long is not pacing: stop the run, as an interrupt would.
        return Verdict::StopsRun(ApiError::WaitTooLong {
            status: code,
            asked_seconds: asked.as_secs(),
            max_seconds: standing.max_wait.as_secs(),
        });
    }
    let gateway_may_have_acted = matches!(code, 502 | 504) && !standing.replay_if_maybe_sent;
    if is_retryable_status(code) && !gateway_may_have_acted && standing.another_allowed {
        // A Retry-After (or a 429) paused the pool already; others back off alone.
        return Verdict::Again {
            backoff: asked.is_none() && code != 429,
        };
    }
    Verdict::Fails(ApiError::Status {
        status: code,
        message,
        attempts: standing.attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing() -> Standing<'static> {
        Standing {
            forbidden_in_a_row: 0,
            nothing_worked: false,
            max_wait: Duration::from_secs(300),
            replay_if_maybe_sent: true,
            another_allowed: true,
            attempts: 1,
            scheme: "bearer",
        }
    }

    fn with_retry_after(seconds: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, seconds.to_string().parse().unwrap());
        headers
    }

    fn verdict(code: u16, headers: &HeaderMap, standing: &Standing<'_>) -> Verdict {
        classify(StatusCode::from_u16(code).unwrap(), headers, b"", standing)
    }

    #[test]
    fn a_forbidden_user_fails_its_row_and_a_forbidden_key_stops_the_run() {
        let none = HeaderMap::new();
        let one = Standing {
            forbidden_in_a_row: 1,
            ..standing()
        };
        assert!(matches!(
            verdict(403, &none, &one),
            Verdict::Fails(ApiError::Forbidden { .. })
        ));
        let first = Standing {
            nothing_worked: true,
            ..one
        };
        assert!(matches!(
            verdict(403, &none, &first),
            Verdict::StopsRun(ApiError::Unauthorized { status: 403, .. })
        ));
        let many = Standing {
            forbidden_in_a_row: FORBIDDEN_IN_A_ROW,
            ..standing()
        };
        assert!(matches!(verdict(403, &none, &many), Verdict::StopsRun(_)));
        assert!(matches!(
            verdict(401, &none, &standing()),
            Verdict::StopsRun(_)
        ));
    }

    #[test]
    fn waits_are_honoured_up_to_the_maximum() {
        assert!(matches!(
            verdict(429, &with_retry_after(5), &standing()),
            Verdict::Again { backoff: false }
        ));
        assert!(matches!(
            verdict(503, &with_retry_after(5), &standing()),
            Verdict::Again { backoff: false }
        ));
        assert!(matches!(
            verdict(503, &HeaderMap::new(), &standing()),
            Verdict::Again { backoff: true }
        ));
        assert!(matches!(
            verdict(429, &with_retry_after(301), &standing()),
            Verdict::StopsRun(ApiError::WaitTooLong {
                asked_seconds: 301,
                ..
            })
        ));
    }

    #[test]
    fn a_write_a_gateway_may_have_passed_on_is_not_sent_again() {
        let write = Standing {
            replay_if_maybe_sent: false,
            ..standing()
        };
        let none = HeaderMap::new();
        assert!(matches!(
            verdict(502, &none, &write),
            Verdict::Fails(ApiError::Status { status: 502, .. })
        ));
        assert!(matches!(
            verdict(502, &none, &standing()),
            Verdict::Again { backoff: true }
        ));
        assert!(matches!(
            verdict(503, &none, &write),
            Verdict::Again { backoff: true }
        ));
        let spent = Standing {
            another_allowed: false,
            ..standing()
        };
        assert!(matches!(verdict(503, &none, &spent), Verdict::Fails(_)));
        assert!(matches!(
            verdict(404, &none, &standing()),
            Verdict::Fails(_)
        ));
        assert!(matches!(verdict(204, &none, &standing()), Verdict::Done));
    }

    #[test]
    fn a_redirect_names_where_it_points() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, "https://elsewhere/".parse().unwrap());
        assert!(matches!(
            verdict(302, &headers, &standing()),
            Verdict::Fails(ApiError::Redirect { location, .. }) if location == "https://elsewhere/"
        ));
    }
}
