//! Exit codes, and the one place errors become messages with hints.

use std::error::Error;
use std::process::ExitCode;

use crate::api::ApiError;
use crate::commands::{CommandError, Completion};
use crate::config::ConfigError;
use crate::ui::escape;

pub const SUCCESS: u8 = 0;
pub const FATAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const PROBLEMS: u8 = 3;
pub const INTERRUPTED: u8 = 130;

/// The exit code of a command that ran to its end.
pub fn code_for(completion: Completion) -> u8 {
    match completion {
        Completion::Clean => SUCCESS,
        Completion::WithProblems => PROBLEMS,
        Completion::Interrupted => INTERRUPTED,
        Completion::Differences => FATAL,
    }
}

/// The exit code of a command that stopped, and a hint for the user, if any.
pub fn classify(error: &CommandError) -> (u8, Option<&'static str>) {
    match error {
        CommandError::Interrupted => (INTERRUPTED, None),
        CommandError::DiffTrouble(inner) => (USAGE, classify(inner).1),
        CommandError::Config(ConfigError::BadValue(_)) => (USAGE, None),
        CommandError::Config(ConfigError::NoKey) => (
            FATAL,
            Some(
                "put the key in a file readable only by you and pass --api-key-file, or export SEBULK_API_KEY",
            ),
        ),
        CommandError::Config(ConfigError::NotPrivate { .. }) => (
            FATAL,
            Some(
                "a file of secrets must be readable by its owner only (chmod 600; systemd's LoadCredential= makes its copy 0400)",
            ),
        ),
        CommandError::Locked(_) => (
            FATAL,
            Some("nothing was sent; run again when it ends, or pass --wait SECONDS to wait for it"),
        ),
        CommandError::Config(ConfigError::Mapping(_)) => (
            FATAL,
            Some("fix the mapping and run again; `sebulk mapping show MAPPING` shows how it reads"),
        ),
        CommandError::Config(ConfigError::ConfigInvalid { .. }) => (
            FATAL,
            Some(
                "the config file holds [profiles.NAME] tables of settings (see the README's Profiles)",
            ),
        ),
        CommandError::Config(ConfigError::NoTenant) => (
            FATAL,
            Some(if cfg!(feature = "sandbox") {
                "try `sebulk check --sandbox` to see sebulk work against the built-in sandbox"
            } else {
                "name one: --base-url URL, or --tenant NAME with --region REGION"
            }),
        ),
        CommandError::Api(ApiError::WaitTooLong { .. }) => (
            FATAL,
            Some(
                "rows not done are recorded as not_attempted; run again later with --resume RESULTS, or raise --max-wait",
            ),
        ),
        CommandError::Api(ApiError::Unauthorized { .. }) => (
            FATAL,
            Some(
                "`sebulk check` tries every auth scheme and says which one the key works with; rows not done are recorded, --resume RESULTS goes on",
            ),
        ),
        CommandError::Api(ApiError::Transport { .. }) => (
            FATAL,
            Some("is the tenant reachable from here? `sebulk check` probes it"),
        ),
        _ => (FATAL, None),
    }
}

/// Whether `error` is a write to a closed pipe (`sebulk ... | head`),
/// which ends a command quietly, as it ends ripgrep.
pub fn is_broken_pipe(error: &(dyn Error + 'static)) -> bool {
    let mut current: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// Prints `error` (and its hint) to stderr and returns the exit code.
pub fn report(error: &CommandError) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let (code, hint) = classify(error);
    // Standard error may be a closed pipe too (`2>&1 | head`): a line
    // that cannot be written is dropped, never a panic.
    let mut text = if code == INTERRUPTED {
        "sebulk: interrupted\n".to_string()
    } else {
        format!("sebulk: error: {}\n", escape(&error.to_string()))
    };
    if let Some(hint) = hint {
        text.push_str(&format!("hint: {hint}\n"));
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
    ExitCode::from(code)
}
