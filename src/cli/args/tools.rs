//! The arguments of the helper commands: mapping (init, show) and check.

use std::path::PathBuf;

use super::shared::ReadArgs;
use crate::config::settings::Connect;
use clap::{Args, Subcommand};

/// `sebulk mapping ...`
#[derive(Debug, Subcommand, Clone)]
pub enum MappingCommand {
    /// Write a starter mapping for a file: its columns placed where they can be, the rest listed
    #[command(
        after_long_help = "Examples:\n  sebulk mapping init hr-report.csv -o hr.toml\n  sebulk validate --mapping hr.toml hr-report.csv"
    )]
    Init(MappingInitArgs),
    /// Print a built-in preset (entra, google, okta, jumpcloud, ad, bamboohr), to copy and adapt
    #[command(after_long_help = "Examples:\n  sebulk mapping show entra > entra.toml")]
    Show {
        /// The preset
        name: String,
    },
    /// List the built-in presets
    #[command(
        after_long_help = "Examples:\n  sebulk mapping list\n  sebulk plan --preset okta okta-users.csv"
    )]
    List,
}

#[derive(Debug, Args, Clone)]
pub struct MappingInitArgs {
    /// The HR export whose header to read (CSV or spreadsheet)
    pub file: PathBuf,

    /// Where to write the mapping [default: standard output]
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite an existing mapping file
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub connect: Connect,
}
