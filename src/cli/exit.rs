//! Exit codes, and the one place errors become messages with hints.

use crate::api::ApiError;
use crate::cli::config::ConfigError;
use crate::commands::{CommandError, Completion};

pub const SUCCESS: i32 = 0;
pub const FATAL: i32 = 1;
pub const USAGE: i32 = 2;
pub const PROBLEMS: i32 = 3;
pub const INTERRUPTED: i32 = 130;

/// The exit code of a command that ran to its end.
pub fn code_for(completion: Completion) -> i32 {
    match completion {
        Completion::Clean => SUCCESS,
        Completion::WithProblems => PROBLEMS,
        Completion::Interrupted => INTERRUPTED,
    }
}

/// The exit code of a command that stopped, and a hint for the user, if any.
pub fn classify(error: &CommandError) -> (i32, Option<&'static str>) {
    match error {
        CommandError::Interrupted => (INTERRUPTED, None),
        CommandError::Config(ConfigError::BadValue(_)) => (USAGE, None),
        CommandError::Config(ConfigError::NoKey) => (
            FATAL,
            Some(
                "put the key in a file readable only by you and pass --api-key-file, or export SEBULK_API_KEY",
            ),
        ),
        CommandError::Config(ConfigError::NoTenant) => (
            FATAL,
            Some("try `sebulk --sandbox check` to see sebulk work against the built-in sandbox"),
        ),
        CommandError::Api(ApiError::WaitTooLong { .. }) => (
            FATAL,
            Some(
                "rows not done are recorded as not_attempted; run again later with --resume RESULTS, or raise --max-wait",
            ),
        ),
        CommandError::Api(ApiError::Unauthorized { .. }) => (
            FATAL,
            Some("`sebulk check` tries every auth scheme and says which one the key works with"),
        ),
        CommandError::Api(ApiError::Transport { .. }) => (
            FATAL,
            Some("is the tenant reachable from here? `sebulk check` probes it"),
        ),
        _ => (FATAL, None),
    }
}

/// Prints `error` (and its hint) to stderr and returns the exit code.
pub fn report(error: &CommandError) -> i32 {
    let (code, hint) = classify(error);
    if code == INTERRUPTED {
        eprintln!("sebulk: interrupted");
    } else {
        eprintln!("sebulk: error: {error}");
    }
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    code
}
