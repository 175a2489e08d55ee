//! The jobs sebulk runs. Each takes plain, resolved options (never clap
//! types), owns the signals of its run, drives the engine, and hands what
//! happened to the [`Ui`](crate::ui::Ui). Every job returns a
//! [`Completion`] or a typed [`CommandError`]; `cli::exit` turns either
//! into the exit code. Every row command takes one path from its options
//! to that end ([`shell`]).
//!
//! # Adding a command
//!
//! The one recipe (`cli/jobs.rs`, `engine/decided_rows.rs` and the README
//! point here). The row commands today: import, plan (import's dry run),
//! sync, apply, offboard, approve, restore, passwords, groups import,
//! memberships import and undo. Steps marked (compiler) are exhaustive
//! matches with no fallback arm: leaving them out does not build.
//!
//! 1. `src/cli/args/<group>.rs` (people, recovery, directory, ...): the
//!    clap struct, with `RunArgs` flattened (results, `--dry-run`,
//!    `--resume`, `--summary-json`, `--report`, `--notify`,
//!    `--results-dir`), `GuardArgs` if it takes or changes people, and
//!    `Connect` if it talks to a tenant.
//! 2. `src/cli/args/mod.rs`: its `Command` variant, whose doc line is its
//!    help.
//! 3. `src/cli/end.rs` (compiler): its arm in `ends` (`Ends::Run` for a
//!    row command: summary, report, notify and the failure summary follow)
//!    and in `command_name`.
//! 4. `src/cli/jobs.rs`: its job function (results path with
//!    `results_of`, guard with `config::guard`, `recording`, and
//!    `lifecycle_job` with the name its tenant lock shows).
//! 5. `src/cli/mod.rs` (compiler): its arm in `run_command`, the job to
//!    its runner.
//! 6. `src/output/results_file/writer.rs`: a line in `run_kinds!` (the first word of
//!    its run ids; what undo reads).
//! 7. `src/row_commands/undo/reverse.rs` (compiler): whether undo reverses it
//!    (`not_undone`); its outcomes reverse by what they are
//!    (`created` deleted, `updated` put back from the row's old values,
//!    `deleted` given back from its snapshot).
//! 8. `src/row_commands/<command>.rs` (a folder `<command>/` once it
//!    needs more than one file) and `pub mod` in `src/row_commands/mod.rs`:
//!    its options (with a `ResultsOptions`), its summary (with `totals:
//!    RunTotals`), a decision step that reads the file
//!    (`engine::read_file`), finds each row's user (`engine::users`) and
//!    makes `engine::decided_rows::DecidedRow` rows, counted by
//!    `engine::guard::check` before anything is sent, a `RowAction` for
//!    one row, and `run` on `engine::decided_rows::run`, stamped with its
//!    `RunKind`. It uses the engine and no other command (a test in
//!    `lib.rs` refuses it): a piece another command already has moves
//!    down into `src/engine/`, named for what it is, and both use it.
//! 9. `src/commands/lifecycle.rs`: one `lifecycle!` line (its input file,
//!    its run, how its summary shows); the shell ([`shell`]) does files,
//!    the tenant lock, signals, summary JSON and the exit code.
//! 10. `src/cli/man.rs`: optionally a `RELATED` line (the page itself is
//!     made from clap).
//! 11. `README.md`: what it does, under the commands it sits with.
//! 12. `tests/suite/<area>/<command>.rs` and its `mod` line: a run, a
//!     dry run, the guard's refusal, and undo.
//!
//! Worked on paper for a guarded, undoable `rename` (usernames from a
//! file of `old,new`; each row an `updated` user with its old username in
//! `changes`, so undo needs no new code): 14 files (the 12 steps, plus
//! `src/row_commands/mod.rs` and the tests' `mod.rs`), about 400 lines —
//! clap struct ~25, variant 2, `ends` and `command_name` 2, job ~20,
//! `run_command` 4, `run_kinds!` 1, `not_undone` 1, the command module
//! ~180 (passwords' is 236), `lifecycle!` ~6, `RELATED` 1, README ~10,
//! tests ~150. Steps 3, 5 and 7 the compiler asks for; 6 and 9 it asks
//! for through 8 (`RunKind::Rename` to stamp its runs) and 5 (the
//! `Lifecycle` bound of `lifecycle::run`).

pub mod check;
pub mod export;
pub mod import;
pub mod lifecycle;
pub mod mapping;
pub mod notify;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod shell;
pub mod signals;
pub mod sync;
pub mod tenant_lock;
pub mod validate;

use std::io::Write;
use std::path::Path;
#[cfg(feature = "sandbox")]
use std::path::PathBuf;

#[cfg(feature = "sandbox")]
use secrecy::SecretString;

use crate::api::{ApiError, Client, ClientBuildError};
use crate::config::{Config, ConfigError, Target};
use crate::engine::RunError;
use crate::output::OutputError;
#[cfg(feature = "sandbox")]
use crate::sandbox::{SandboxConfig, SandboxError, SandboxHandle, Seed};

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    /// The configuration is wrong (or a usage error found after parsing).
    Config(#[from] ConfigError),
    #[error(transparent)]
    /// The HTTP client could not be built.
    Client(#[from] ClientBuildError),
    #[error(transparent)]
    /// The tenant said no, or could not be reached.
    Api(#[from] ApiError),
    #[error(transparent)]
    /// The built-in sandbox could not start or save.
    #[cfg(feature = "sandbox")]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    /// The input cannot be read.
    Input(#[from] crate::input::InputError),
    #[error(transparent)]
    /// An output cannot be written.
    Output(#[from] OutputError),
    #[error(transparent)]
    /// An export could not be completed.
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    /// A diff could not be made.
    Diff(#[from] crate::diff::DiffError),
    #[error("{context}: {source}")]
    /// Some other input or output failed.
    Io {
        /// What was being done.
        context: String,
        /// What went wrong.
        source: std::io::Error,
    },
    #[error("interrupted")]
    /// Ctrl-C, SIGTERM or SIGHUP stopped a command that records nothing per row.
    Interrupted,
    /// A probe found the tenant unusable; the report says why.
    #[error("the tenant is not usable: {0}")]
    Unusable(String),
    /// A guard rail refused the run before any change.
    #[error("{0}")]
    Refused(String),
    /// Another run holds the tenant's lock (and `--wait` ran out).
    #[error("{0}")]
    Locked(String),
    /// `diff --exit-code` could not compare (a file missing or unreadable):
    /// exit 2, as diff(1) says trouble, apart from 1 for differences.
    #[error("{0}")]
    DiffTrouble(Box<CommandError>),
}

impl From<RunError> for CommandError {
    fn from(err: RunError) -> Self {
        match err {
            RunError::Api(err) => CommandError::Api(err),
            RunError::Input(err) => CommandError::Input(err),
            RunError::Output(err) => CommandError::Output(err),
            RunError::Reader(message) => {
                CommandError::io("the input reader stopped", std::io::Error::other(message))
            }
        }
    }
}

impl CommandError {
    /// An I/O error while doing `context`.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CommandError::Io {
            context: context.into(),
            source,
        }
    }

    /// A usage error found after parsing.
    pub fn usage(message: impl Into<String>) -> Self {
        CommandError::Config(ConfigError::BadValue(message.into()))
    }
}

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Everything succeeded.
    Clean,
    /// It ran, but some rows or checks had problems (exit 3).
    WithProblems,
    /// It stopped early on Ctrl-C, SIGTERM or SIGHUP, having recorded every row (exit 130).
    Interrupted,
    /// `diff --exit-code` found differences (exit 1).
    Differences,
}

/// A client, and the in-process sandbox behind it when `--sandbox` was given.
pub struct Connection {
    pub client: Client,
    #[cfg(feature = "sandbox")]
    sandbox: Option<(SandboxHandle, Option<PathBuf>)>,
}

impl Connection {
    /// Connects to the configured tenant, starting the sandbox if asked.
    pub async fn open(config: &Config) -> Result<Self, CommandError> {
        match &config.target {
            Target::Tenant { base_url, api_key } => {
                let client =
                    Client::new(&config.client_settings(base_url.clone(), api_key.clone()))?;
                Ok(Connection {
                    client,
                    #[cfg(feature = "sandbox")]
                    sandbox: None,
                })
            }
            #[cfg(feature = "sandbox")]
            Target::Sandbox { state, api_key } => {
                Self::in_process(config, state.clone(), api_key.clone()).await
            }
        }
    }

    #[cfg(feature = "sandbox")]
    async fn in_process(
        config: &Config,
        state: Option<PathBuf>,
        api_key: SecretString,
    ) -> Result<Self, CommandError> {
        let mut sandbox_config = SandboxConfig::local(api_key.clone());
        sandbox_config.auth_scheme = config.auth_scheme;
        sandbox_config.state_file = state.clone();
        sandbox_config.seed = Seed::Demo;
        let handle = crate::sandbox::start(sandbox_config).await?;
        tracing::info!("using the built-in sandbox at {}", handle.base_url());
        let mut settings = config.client_settings(handle.base_url().clone(), api_key);
        // A kept sandbox is the same tenant on every run, whatever its port.
        settings.tenant_label = state.as_ref().map(|path| {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("sandbox:{}", path.display())
        });
        let client = Client::new(&settings)?;
        Ok(Connection {
            client,
            sandbox: Some((handle, state)),
        })
    }

    /// For a run against the built-in sandbox: what became of its tenant.
    #[cfg(feature = "sandbox")]
    pub fn sandbox_note(&self) -> Option<String> {
        let (_, state) = self.sandbox.as_ref()?;
        Some(match state {
            Some(path) => format!("whose tenant is kept in {}", path.display()),
            None => "a throwaway tenant that is gone now (keep it with --sandbox-state FILE)"
                .to_string(),
        })
    }

    /// A build without the sandbox never runs against one.
    #[cfg(not(feature = "sandbox"))]
    pub fn sandbox_note(&self) -> Option<String> {
        None
    }

    /// Stops the sandbox (saving its state), if there is one.
    pub async fn close(self) -> Result<(), CommandError> {
        #[cfg(feature = "sandbox")]
        if let Some((handle, _)) = self.sandbox {
            handle.shutdown().await?;
        }
        Ok(())
    }
}

/// Checks, before anything runs, that no two of a run's files are the
/// same (an output over an input, or the summary over the results).
pub fn distinct_files(files: &[(&str, Option<&Path>)]) -> Result<(), CommandError> {
    let named: Vec<(&str, &Path)> = files
        .iter()
        .filter_map(|(what, path)| path.map(|p| (*what, p)))
        .filter(|(_, path)| *path != Path::new("-"))
        .collect();
    for (i, (first, a)) in named.iter().enumerate() {
        for (second, b) in &named[i + 1..] {
            if crate::output::files::same_file(a, b) {
                return Err(CommandError::usage(format!(
                    "{} is both the {first} and the {second}; give each its own file",
                    a.display()
                )));
            }
        }
    }
    Ok(())
}

/// The summary of a run that did not get to its end (`refused` or
/// `failed`): why, the exit code and its hint, so that a monitor never
/// reads an earlier run's summary as this one's.
pub fn stopped_summary(
    status: &str,
    error: &str,
    (exit_code, hint): (u8, Option<&str>),
) -> serde_json::Value {
    serde_json::json!({
        "status": status,
        "error": error,
        "exit_code": exit_code,
        "hint": hint,
        "finished_at": crate::formats::utc_now(),
    })
}

/// Writes `value` as JSON to `path` (`-` for standard output): a status
/// file, the run's to replace, so an earlier run's is replaced (whole or
/// not at all, 0600, a link replaced and never followed), never one of
/// `taken` (the run's input and records).
pub fn write_json(
    path: &Path,
    value: &impl serde::Serialize,
    taken: &[&Path],
) -> Result<(), CommandError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CommandError::io("cannot encode the summary", e.into()))?;
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| CommandError::io("cannot write the summary", e));
    }
    let mut file = crate::output::atomic::AtomicOutput::create(path, true, taken)?;
    writeln!(file, "{text}")
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    file.commit()?;
    Ok(())
}

/// Why `file` is a risk to leave as it is, if it is: it holds passwords (a
/// column of secrets) and every user of this machine can read it.
/// `passwords` refuses such a file; `import` says so.
pub(crate) fn readable_secrets(
    file: &std::path::Path,
    read: &crate::input::ReadOptions,
) -> Result<Option<String>, CommandError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.as_os_str() == "-" {
            return Ok(None);
        }
        let header = crate::input::CsvSource::open(file, read)?.header().to_vec();
        let holds_passwords = header
            .iter()
            .any(|name| crate::input::columns::column_for(name).is_some_and(|c| c.is_secret()));
        let mode = std::fs::metadata(file)
            .map_err(|e| CommandError::io(format!("cannot read {}", file.display()), e))?
            .permissions()
            .mode();
        if holds_passwords && mode & 0o004 != 0 {
            return Ok(Some(format!(
                "{} holds passwords and every user of this machine can read it (mode {:o})",
                file.display(),
                mode & 0o777
            )));
        }
    }
    let _ = (file, read);
    Ok(None)
}
