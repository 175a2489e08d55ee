//! The arguments of the group and membership commands: groups import and
//! memberships import.

use std::path::PathBuf;

use super::shared::{GuardArgs, ReadArgs, RunArgs};
use crate::config::settings::Connect;
use clap::{Args, Subcommand};

/// `sebulk groups ...`
#[derive(Debug, Subcommand, Clone)]
pub enum GroupsCommand {
    /// Create or update groups from a file (name, description, enforceSecondFactor); unchanged groups make no call
    #[command(
        after_long_help = "Examples:\n  sebulk groups import groups.csv --dry-run\n  sebulk groups import groups.csv --prune --max-affected 3"
    )]
    Import(GroupsImportArgs),
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <file stem>.groups.csv beside the file]")))]
pub struct GroupsImportArgs {
    /// The groups: a name column, optionally description and enforceSecondFactor
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Delete the tenant's groups the file does not list (guard rails and a snapshot first)
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub connect: Connect,
}

/// `sebulk memberships ...`
#[derive(Debug, Subcommand, Clone)]
pub enum MembershipsCommand {
    /// Add and remove memberships from a file (the file `export memberships` writes, too)
    #[command(
        after_long_help = "Examples:\n  sebulk memberships import members.csv --dry-run\n  sebulk memberships import members.csv --sync Sales   # Sales ends with exactly the file's members"
    )]
    Import(MembershipsImportArgs),
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <file stem>.memberships.csv beside the file]")))]
pub struct MembershipsImportArgs {
    /// Rows of user (username or user_id), type (group or application), target (name or id) and action (add or remove; default add)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Make these groups' or applications' members exactly the file's (repeatable, or comma-separated); removals go through the guard rails
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub sync: Vec<String>,

    /// Users this run may add to a privileged group (or change although privileged): usernames, emails, employee numbers or patterns, comma-separated or repeated (also allow_privileged in the profile)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub allow_privileged: Vec<String>,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub connect: Connect,
}
