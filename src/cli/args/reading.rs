//! The arguments of the commands that read without writing to the tenant:
//! export and diff.

use std::path::PathBuf;

use super::shared::{EndArgs, SummaryArgs};
use crate::api::SortOrder;
use crate::config::settings::Connect;
use crate::diff::DiffKey;
use crate::export::{Entity, Format};
use clap::Args;

#[derive(Debug, Args, Clone)]
#[command(mut_arg("report", |a| a.help("Write one self-contained HTML page about the run to FILE (0600), replacing the previous run's")))]
#[command(mut_arg("summary_json", |a| a.help("Write the summary as JSON to FILE (`-` for standard output), whatever happens, replacing the previous run's")))]
pub struct ExportArgs {
    /// What to export
    #[arg(value_enum)]
    pub what: Entity,

    /// Where to write (`-` for standard output)
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,

    /// Write a new dated file in DIR instead (users.export.<time>-<process>.csv): a nightly audit keeps every night's, never needing --force
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,

    /// Only records whose FIELD contains VALUE, ignoring case (true/false fields equal it; `none` or empty: the field is empty). Users: any user field; factors: second_factor, first_factor and any user field; groups: name, description; applications: name, label
    #[arg(long, value_name = "FIELD=VALUE", value_parser = field_value)]
    pub filter: Vec<(String, String)>,

    /// Field to sort by (the API's sort; default id)
    #[arg(long)]
    pub sort: Option<String>,

    #[arg(long, value_enum)]
    pub order: Option<SortOrder>,

    /// Users: add `groups` and/or `applications` columns (names, `;`-separated)
    #[arg(long, value_delimiter = ',', value_parser = ["groups", "applications"])]
    pub include: Vec<String>,

    /// Write cells as they are, even those a spreadsheet would run as formulas
    #[arg(long)]
    pub no_sanitize: bool,

    /// Start the file with a UTF-8 byte-order mark so Excel shows accents right
    #[arg(long)]
    pub excel: bool,

    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,

    /// Write the file even when a listing ended short of the server's own total (marked in the summary)
    #[arg(long)]
    pub allow_incomplete: bool,

    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("report", |a| a.help("Write one self-contained HTML page about the run to FILE (0600), replacing the previous run's")))]
pub struct DiffArgs {
    /// The earlier user export (`-` for standard input)
    pub old: PathBuf,
    /// The later user export (`-` for standard input)
    pub new: PathBuf,

    /// Where to write `change,key,username,field,old,new` (`-` for standard output)
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,

    /// How rows are paired
    #[arg(long, value_enum, default_value_t = DiffKey::Auto)]
    pub key: DiffKey,

    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,

    /// Exit 1 when there are differences, 0 when there are none, 2 when the files cannot be compared (as diff(1))
    #[arg(long)]
    pub exit_code: bool,

    /// Print the summary as JSON on standard output
    #[arg(long)]
    pub json: bool,

    /// Write the summary as JSON to FILE (`-` for standard output), whatever happens, replacing the previous run's
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    #[command(flatten)]
    pub end: EndArgs,
}

fn field_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("'{text}' is not FIELD=VALUE")),
    }
}
