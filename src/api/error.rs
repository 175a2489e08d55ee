//! Typed errors of the API client.

use crate::limiter::retry::is_retryable_status;

/// What went wrong with a call, after any retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a status we do not retry, or retries ran out.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The key was refused: every further call would fail the same way.
    #[error(
        "the tenant refused the API key (HTTP {status}: {message}); is the key right, and does the tenant expect --auth-scheme other than {scheme}? `sebulk check` tries each scheme"
    )]
    Unauthorized {
        /// 401, or 403 when nothing else worked.
        status: u16,
        /// The server's message.
        message: String,
        /// The scheme the key was sent in.
        scheme: String,
    },
    /// The key may not do this one thing (403 after other calls succeeded):
    /// the row fails, the run goes on.
    #[error("forbidden: the key may not change this user (HTTP 403: {message})")]
    Forbidden {
        /// The server's message.
        message: String,
    },
    /// The request did not complete. `maybe_sent` is set when the server may
    /// have received and acted on it (a timeout or a dropped connection).
    #[error("{message}")]
    Transport {
        /// What happened, with the endpoint.
        message: String,
        /// Whether the server may have received (and acted on) it.
        maybe_sent: bool,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The server redirected; we never follow with the key attached.
    #[error(
        "the server redirected (HTTP {status}) to {location}; redirects are not followed with the API key, so use the final address as --base-url"
    )]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// Where the server pointed.
        location: String,
    },
    /// A 2xx answer we could not read.
    #[error("unexpected response from {endpoint}: {message}")]
    Decode {
        /// The endpoint that answered.
        endpoint: String,
        /// What could not be read.
        message: String,
    },
    /// The server asked for a pause longer than `--max-wait`.
    #[error(
        "the tenant asked us to wait {asked_seconds} s (HTTP {status} with Retry-After), more than --max-wait {max_seconds} s; the run stopped"
    )]
    WaitTooLong {
        /// 429 or 503.
        status: u16,
        /// The server's Retry-After, in seconds.
        asked_seconds: u64,
        /// `--max-wait`, in seconds.
        max_seconds: u64,
    },
    /// An answer was larger than `--max-body`.
    #[error(
        "{endpoint}: the answer is larger than {limit} bytes, far beyond any real page; the listing stops (raise --max-body MB if the tenant truly sends such pages)"
    )]
    TooLarge {
        /// The endpoint.
        endpoint: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A listing ended with fewer records than the server's own total.
    #[error("{0}")]
    Incomplete(String),
    /// The run was stopped (authentication failure elsewhere, or interrupt).
    #[error("not attempted: {0}")]
    Stopped(String),
    /// A write was refused before it was sent: the client was not cleared
    /// to write (the guard has not judged the run), or the write could not
    /// be recorded first.
    #[error("not sent: {endpoint}: {why}")]
    Unwritten {
        /// The write's endpoint.
        endpoint: String,
        /// Why it was not sent.
        why: String,
    },
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. }
            | ApiError::Unauthorized { status, .. }
            | ApiError::Redirect { status, .. } => Some(*status),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::WaitTooLong { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How many times the request was sent.
    pub fn attempts(&self) -> u32 {
        match self {
            ApiError::Status { attempts, .. } | ApiError::Transport { attempts, .. } => *attempts,
            ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::WaitTooLong { .. }
            | ApiError::TooLarge { .. }
            | ApiError::Redirect { .. }
            | ApiError::Decode { .. }
            | ApiError::Incomplete(_) => 1,
            ApiError::Stopped(_) | ApiError::Unwritten { .. } => 0,
        }
    }

    /// Whether trying again later could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => is_retryable_status(*status),
            ApiError::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the server may have acted on a request we got no answer to.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { maybe_sent, .. } => *maybe_sent,
            // A gateway error may hide an upstream that did the work.
            ApiError::Status { status, .. } => matches!(status, 502 | 504),
            _ => false,
        }
    }

    /// Whether the server said the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the server said it exists already.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether this error ends the whole run rather than one row.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized { .. }
                | ApiError::Redirect { .. }
                | ApiError::WaitTooLong { .. }
        )
    }
}

/// An answer with a 404 read as "not there" (`None`).
pub fn found<T>(answer: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}
