//! The clap types: every flag, once. Nothing outside `cli` sees them; they
//! are resolved into plain specs (`cli::resolve`) before anything runs.
//!
//! Tenant and pacing options belong to the commands that talk to a tenant,
//! so offline commands' help does not list them. They are also accepted
//! before the subcommand, as earlier versions took them (hidden there).
//!
//! The file is split by command: [`people`] (validate, plan, import, sync,
//! offboard, passwords), [`recovery`] (restore, approve, apply, undo),
//! [`directory`] (groups, memberships), [`reading`] (export, diff),
//! [`tools`] (mapping, check), [`sandbox`], and [`shared`] for the groups
//! several commands flatten in. Every type is re-exported here, so
//! `cli::args::ImportArgs` is where it always was.

mod directory;
mod people;
mod reading;
mod recovery;
#[cfg(feature = "sandbox")]
mod sandbox;
mod shared;
mod tools;

pub use directory::*;
pub use people::*;
pub use reading::*;
pub use recovery::*;
#[cfg(feature = "sandbox")]
pub use sandbox::*;
pub use shared::*;
pub use tools::*;

pub use crate::config::settings::{Connect, PacingArgs, TenantArgs};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0    success (diff --exit-code: no differences)
  1    fatal: configuration, authentication, unreachable tenant, I/O
       (diff --exit-code: there are differences)
  2    usage: bad arguments (diff --exit-code: trouble, a file missing
       or unreadable)
  3    some rows or checks had problems (see the report)
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP)";

/// Move people between HR spreadsheets and SecurEnvoy Access Management.
#[derive(Debug, Parser)]
#[command(name = "sebulk", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Tenant options given before the subcommand (hidden: see each command's help).
    #[command(flatten)]
    pub early_tenant: TenantArgs,

    /// Pacing options given before the subcommand (hidden).
    #[command(flatten)]
    pub early_pacing: PacingArgs,

    #[command(subcommand)]
    pub command: Command,

    /// The command line as given (the report shows it, webhooks left out).
    #[arg(skip)]
    pub argv: Vec<String>,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Named profile from the config file
    #[arg(long, global = true, env = "SEBULK_PROFILE", help_heading = "Config")]
    pub profile: Option<String>,

    /// Config file [default: the platform config dir's sebulk/config.toml]
    #[arg(
        long,
        global = true,
        env = "SEBULK_CONFIG",
        value_name = "PATH",
        help_heading = "Config"
    )]
    pub config: Option<PathBuf>,

    /// Only errors and problems on stderr; no progress bar
    #[arg(short, long, global = true, help_heading = "Output")]
    pub quiet: bool,

    /// More detail on stderr: -v one line per row, -vv HTTP traces
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// No progress bar, even on a terminal
    #[arg(long, global = true, help_heading = "Output")]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an HR export offline: every problem of every row (no network)
    #[command(
        after_long_help = "Examples:\n  sebulk validate new-starters.xlsx                 # every problem of every row, offline\n  sebulk validate hr.csv -o problems.csv --summary-json v.json"
    )]
    Validate(ValidateArgs),
    /// Show what import would do, row by row, without writing anything
    #[command(
        after_long_help = "Examples:\n  sebulk plan new-starters.csv                      # each row's change on the screen\n  sebulk plan new-starters.csv -o plan.csv          # a plan to review, then: sebulk apply plan.csv"
    )]
    Plan(PlanArgs),
    /// Create and update users from an HR export, with their groups and applications
    #[command(
        after_long_help = "Examples:\n  sebulk import new-starters.csv --auto-password --send-email\n  sebulk import hr.csv --mapping hr.toml --results-dir /var/log/sebulk\n  sebulk import hr.csv --resume hr.results.csv      # after an interruption"
    )]
    Import(ImportArgs),
    /// Make the directory match HR's complete roster: joiners on their start dates, movers, leavers, rehires, in one guarded run
    #[command(
        after_long_help = "Examples:\n  sebulk sync roster.csv --dry-run -o tonight.plan.csv\n  sebulk sync roster.csv --leavers disable,revoke-access --results-dir /var/log/sebulk"
    )]
    Sync(SyncArgs),
    /// Carry out a reviewed plan (from plan -o or sync --dry-run -o) exactly; refused if its users changed since
    Apply(ApplyArgs),
    /// Export users, groups, applications or memberships (complete, atomic, 0600)
    #[command(
        after_long_help = "Examples:\n  sebulk export users --include groups,applications -o users.csv\n  sebulk export factors --filter second_factor=none -o no-mfa.csv"
    )]
    Export(ExportArgs),
    /// Compare two user exports: joiners, leavers and movers (offline)
    #[command(
        after_long_help = "Examples:\n  sebulk diff monday.csv tuesday.csv -o changes.csv\n  sebulk diff members-mon.csv members-tue.csv --exit-code   # 0 same, 1 differ, 2 trouble"
    )]
    Diff(DiffArgs),
    /// Probe a tenant before a big run: reachability, key and scheme, list shape, page numbering, latency, rate-limit headers
    #[command(after_long_help = "Examples:\n  sebulk --profile prod check\n  sebulk check --json")]
    Check(CheckArgs),
    /// Take leavers out (named in a file, or missing from a roster): disable, lock, revoke access, remove second factors, delete
    #[command(
        after_long_help = "Examples:\n  sebulk offboard leavers.csv --action disable,revoke-access --dry-run\n  sebulk offboard --roster today.csv --match-by employeeNumber --action disable"
    )]
    Offboard(OffboardArgs),
    /// Release the changes a refused offboarding held: exactly those users (by id, still the same people), exactly the held actions
    #[command(
        after_long_help = "Examples:\n  sebulk approve --dry-run leavers.held-<run>.jsonl\n  sebulk approve leavers.held-<run>.jsonl"
    )]
    Approve(ApproveArgs),
    /// Give back the users an offboarding snapshot holds: re-create, re-enable, unlock, re-add memberships
    #[command(
        after_long_help = "Examples:\n  sebulk restore leavers.offboard.snapshot-<run>.jsonl --dry-run\n  sebulk restore leavers.offboard.snapshot-<run>.jsonl"
    )]
    Restore(RestoreArgs),
    /// Reverse a recorded run from its results file: delete what it created, put back what it changed, re-add what it removed
    #[command(
        after_long_help = "Examples:\n  sebulk undo hires.results.csv --dry-run\n  sebulk undo roster.sync.csv --include-conflicts"
    )]
    Undo(UndoArgs),
    /// Set or reset passwords in bulk: from a password column, or generated (--auto-password)
    #[command(
        after_long_help = "Examples:\n  sebulk passwords resets.csv --auto-password --must-change-password --send-email\n  sebulk passwords new-passwords.csv                # a password column (chmod 600 the file)"
    )]
    Passwords(PasswordsArgs),
    /// Groups from a file: create and update (upsert by name), --prune the rest
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Memberships from a file (user, group or application, add or remove), coalesced into the fewest calls
    #[command(subcommand)]
    Memberships(MembershipsCommand),
    /// Column mappings: start one from a file's header, or show a built-in preset
    #[command(subcommand)]
    Mapping(MappingCommand),
    #[cfg(feature = "sandbox")]
    /// Run a local sandbox tenant in the foreground
    #[command(
        after_long_help = "Examples:\n  sebulk sandbox --state tenant.json              # serves until Ctrl-C, saves on exit\n  sebulk sandbox --seed-data tenant.json --latency-ms 10 --rate-limit 3000   # a slow, busy tenant"
    )]
    Sandbox(SandboxArgs),
    /// Print a shell completion script
    #[command(
        after_long_help = "Examples:\n  sebulk completions bash > /etc/bash_completion.d/sebulk\n  sebulk completions zsh > \"${fpath[1]}/_sebulk\""
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one per command into a directory
    #[command(
        after_long_help = "Examples:\n  sebulk man | man -l -\n  sebulk man -o /usr/local/share/man/man1   # sebulk.1, sebulk-import.1, ..."
    )]
    Man {
        /// Write sebulk.1 and a page per command (sebulk-import.1, ...) into DIR
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}
