//! The arguments of the commands that act on what an earlier run left:
//! restore a snapshot, approve held changes, apply a plan, undo a run.

use std::path::PathBuf;

use super::shared::{GuardArgs, ProtectArgs, RunArgs};
use crate::config::settings::Connect;
use clap::Args;

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <snapshot stem>.restore.<time>.csv beside it, a new name each run]")))]
#[command(mut_arg("dry_run", |a| a.help("Only show what would be given back")))]
pub struct RestoreArgs {
    /// The snapshot an offboarding (or undo) run wrote
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,

    /// Email re-created users their new password
    #[arg(long)]
    pub send_email: bool,

    /// Restore from a snapshot sealed the old way (a plain digest, before keyed seals), trusting the file as it stands
    #[arg(long)]
    pub accept_old_seal: bool,

    #[command(flatten)]
    pub only: crate::cli::only::OnlyArgs,

    #[command(flatten)]
    pub protect: ProtectArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <held stem>.approve.csv beside it]")))]
#[command(mut_arg("dry_run", |a| a.help("Only show what would be done")))]
pub struct ApproveArgs {
    /// The held file a refused offboarding wrote (*.held-<run id>.jsonl)
    #[arg(value_name = "HELD")]
    pub held: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub protect: ProtectArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <plan stem>.apply.csv beside it]")))]
#[command(mut_arg("dry_run", |a| a.help("Only check the plan against the tenant and show what would be applied")))]
#[command(
    after_long_help = "Examples:\n  sebulk sync roster.csv --dry-run -o tonight.plan.csv   # review this file\n  sebulk apply tonight.plan.csv                          # exactly that, or refused if users changed\n  sebulk apply tonight.plan.csv --skip-drifted           # apply the rows that did not change"
)]
pub struct ApplyArgs {
    /// The plan to apply, as `sebulk plan -o` or `sebulk sync --dry-run -o` wrote it (unchanged)
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,

    /// Apply the rows whose users did not change since the plan, skipping the ones that did
    #[arg(long)]
    pub skip_drifted: bool,

    /// Go on from an interrupted apply's results: rows it finished are not checked or sent again
    #[arg(long, value_name = "APPLY_RESULTS")]
    pub resume: Option<PathBuf>,

    /// The day this apply is for, YYYY-MM-DD [default: today]: a sync's plan decided for another day is refused unless this names that day
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Users a row may raise (userType, a privileged group) or change although privileged, comma-separated or repeated (also allow_privileged in the profile)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub allow_privileged: Vec<String>,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The undo's own results file [default: <results stem>.undo.<time>.csv beside it]")))]
#[command(mut_arg("force", |a| a.help("Replace an existing -o file (moved aside, never lost); conflicts are --include-conflicts")))]
#[command(mut_arg("dry_run", |a| a.help("Only show what would be undone, conflicts included")))]
pub struct UndoArgs {
    /// The results file of the run to undo (import, offboard, groups import or memberships import)
    #[arg(value_name = "RESULTS")]
    pub results: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,

    /// Go on from an interrupted undo's results: rows it finished are not sent again
    #[arg(long, value_name = "UNDO_RESULTS")]
    pub resume: Option<PathBuf>,

    /// Email users re-created from a snapshot (deleted by an offboarding) their new password
    #[arg(long)]
    pub send_email: bool,

    /// Undo what has changed since the run too (conflicts), and delete created users changed since
    #[arg(long)]
    pub include_conflicts: bool,

    /// Give back from snapshots sealed the old way (a plain digest, before keyed seals), trusting them as they stand
    #[arg(long)]
    pub accept_old_seal: bool,

    #[command(flatten)]
    pub only: crate::cli::only::OnlyArgs,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub connect: Connect,
}
