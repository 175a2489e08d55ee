//! The command line: clap types only. Everything here is resolved into a
//! [`config::Config`] before any work starts.

pub mod config;
pub mod exit;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::{MatchBy, Mode};
use crate::model::AuthScheme;
use crate::sandbox::{ListShape, UnknownFields};

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    fatal: configuration, authentication, unreachable tenant, I/O
  2    usage: bad arguments
  3    some rows or checks had problems (see the report)
  130  interrupted (Ctrl-C or SIGTERM)";

/// Move people between HR spreadsheets and SecurEnvoy Access Management.
#[derive(Debug, Parser)]
#[command(name = "sebulk", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes: where the tenant is and how hard to push it.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Full API root, e.g. https://acme.uk.securenvoy.directory/api/user/restapi
    #[arg(
        long,
        global = true,
        env = "SEBULK_BASE_URL",
        value_name = "URL",
        help_heading = "Tenant"
    )]
    pub base_url: Option<String>,

    /// Tenant name; with --region builds the base URL
    #[arg(long, global = true, env = "SEBULK_TENANT", help_heading = "Tenant")]
    pub tenant: Option<String>,

    /// Region part of the host (uk, us, ...; uk2 has none)
    #[arg(long, global = true, env = "SEBULK_REGION", help_heading = "Tenant")]
    pub region: Option<String>,

    /// File holding the API key (else env SEBULK_API_KEY); never pass the key itself
    #[arg(
        long,
        global = true,
        env = "SEBULK_API_KEY_FILE",
        value_name = "PATH",
        help_heading = "Tenant"
    )]
    pub api_key_file: Option<PathBuf>,

    /// How the key is sent [default: bearer]
    #[arg(
        long,
        global = true,
        env = "SEBULK_AUTH_SCHEME",
        value_enum,
        help_heading = "Tenant"
    )]
    pub auth_scheme: Option<AuthScheme>,

    /// Named profile from the config file
    #[arg(long, global = true, env = "SEBULK_PROFILE", help_heading = "Tenant")]
    pub profile: Option<String>,

    /// Config file [default: the platform config dir's sebulk/config.toml]
    #[arg(
        long,
        global = true,
        env = "SEBULK_CONFIG",
        value_name = "PATH",
        help_heading = "Tenant"
    )]
    pub config: Option<PathBuf>,

    /// Run against a built-in sandbox tenant instead of a real one
    #[arg(long, global = true, help_heading = "Tenant")]
    pub sandbox: bool,

    /// With --sandbox: load and save the sandbox tenant in this file
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        requires = "sandbox",
        help_heading = "Tenant"
    )]
    pub sandbox_state: Option<PathBuf>,

    /// Requests per second across all workers [default: 10]
    #[arg(long, global = true, env = "SEBULK_RATE", help_heading = "Pacing")]
    pub rate: Option<f64>,

    /// Requests in flight at once, fixed [default: adapts to rate × latency]
    #[arg(
        long,
        global = true,
        env = "SEBULK_CONCURRENCY",
        help_heading = "Pacing"
    )]
    pub concurrency: Option<usize>,

    /// The most requests in flight when concurrency adapts [default: 1024]
    #[arg(long, global = true, help_heading = "Pacing")]
    pub max_concurrency: Option<usize>,

    /// The longest Retry-After to wait, in seconds; a longer one stops the run [default: 300]
    #[arg(long, global = true, value_name = "SECONDS", help_heading = "Pacing")]
    pub max_wait: Option<f64>,

    /// Retries of a failed request (429, 502-504, network) [default: 5]
    #[arg(long, global = true, help_heading = "Pacing")]
    pub max_retries: Option<u32>,

    /// Seconds before a request counts as timed out [default: 30]
    #[arg(long, global = true, value_name = "SECONDS", help_heading = "Pacing")]
    pub timeout: Option<f64>,

    /// Records per list page [default: 100]
    #[arg(long, global = true, help_heading = "Pacing")]
    pub page_size: Option<u32>,

    /// Send back fields the tenant returned beyond the reference: auto (yes, until an update is refused for them) [default: auto]
    #[arg(long, global = true, value_enum, help_heading = "Tenant")]
    pub send_unknown_fields: Option<SendUnknownFields>,

    /// The number the tenant gives its first list page: 1 (the reference) or 0 [default: 1]
    #[arg(long, global = true, value_parser = clap::value_parser!(u64).range(0..=1), help_heading = "Tenant")]
    pub page_base: Option<u64>,

    /// Only errors on stderr; no progress bar
    #[arg(short, long, global = true, help_heading = "Output")]
    pub quiet: bool,

    /// More detail on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// No progress bar, even on a terminal
    #[arg(long, global = true, help_heading = "Output")]
    pub no_progress: bool,
}

/// `--send-unknown-fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendUnknownFields {
    Auto,
    Always,
    Never,
}

impl From<SendUnknownFields> for crate::api::UnknownFieldPolicy {
    fn from(value: SendUnknownFields) -> Self {
        match value {
            SendUnknownFields::Auto => Self::Auto,
            SendUnknownFields::Always => Self::Always,
            SendUnknownFields::Never => Self::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an HR export offline: every problem of every row (no network)
    Validate(ValidateArgs),
    /// Show what import would do, row by row, without writing anything
    Plan(PlanArgs),
    /// Create and update users from an HR export, with their groups and applications
    Import(ImportArgs),
    /// Export users, groups, applications or memberships (complete, atomic, 0600)
    Export(ExportArgs),
    /// Compare two user exports: joiners, leavers and movers
    Diff(DiffArgs),
    /// Probe a tenant before a big run: reachability, key and scheme, list shape, latency, rate-limit headers
    Check(CheckArgs),
    /// Run a local sandbox tenant in the foreground
    Sandbox(SandboxArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SandboxArgs {
    /// Loopback address to listen on
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Seed-data JSON (groups, applications, users) [default: the demo tenant]
    #[arg(long, value_name = "FILE", conflicts_with = "empty")]
    pub seed_data: Option<PathBuf>,

    /// Start with no users, groups or applications
    #[arg(long)]
    pub empty: bool,

    /// Load the tenant from FILE if it exists; save it there while running and on exit
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Delay every request by this many milliseconds
    #[arg(long, default_value_t = 0, help_heading = "Faults")]
    pub latency_ms: u64,

    /// Answer 429 with Retry-After beyond N requests per second
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub rate_limit: Option<u32>,

    /// Share of requests answered 503 (0..1)
    #[arg(long, default_value_t = 0.0, value_parser = probability, help_heading = "Faults")]
    pub fail_rate: f64,

    /// Share of creates that commit and then drop the connection (0..1)
    #[arg(long, default_value_t = 0.0, value_parser = probability, help_heading = "Faults")]
    pub drop_rate: f64,

    /// Silently cap pageSize to N
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub max_page_size: Option<u32>,

    /// Seed for fault decisions and generated ids
    #[arg(long, default_value_t = 1, help_heading = "Faults")]
    pub seed: u64,

    /// Shape of list responses
    #[arg(long, value_enum, default_value_t = ListShape::Items, help_heading = "Variant")]
    pub list_shape: ListShape,

    /// Page membership lists like the main lists (the reference gives them no paging: by default they send everything)
    #[arg(long, help_heading = "Variant")]
    pub members_paged: bool,

    /// Number the first list page 0 instead of 1
    #[arg(long = "zero-based-pages", help_heading = "Variant")]
    pub zero_based_pages: bool,

    /// Users carry server-managed fields (createdAt, lastLogon)
    #[arg(long, help_heading = "Variant")]
    pub server_fields: bool,

    /// What creates and updates do with fields beyond the reference
    #[arg(long, value_enum, default_value_t = UnknownFields::Refuse, help_heading = "Variant")]
    pub unknown_fields: UnknownFields,

    /// Users created or updated without isEnabled are disabled
    #[arg(long, help_heading = "Variant")]
    pub disabled_by_default: bool,

    /// Refuse (403) every change to this user (repeatable)
    #[arg(long = "forbid", value_name = "USERNAME", help_heading = "Variant")]
    pub forbidden: Vec<String>,
}

/// How to read an HR export and match its rows.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// The HR export: CSV (or .xlsx/.xls/.ods) with a header row (`-` for standard input; import then needs --results)
    pub file: PathBuf,

    /// upsert: create or update; create: existing users are skipped; update: missing users fail
    #[arg(long, value_enum, default_value_t = Mode::Upsert)]
    pub mode: Mode,

    /// The field that matches a row to an existing user
    #[arg(long, value_enum, default_value_t = MatchBy::Username)]
    pub match_by: MatchBy,

    /// A column to ignore without a warning (repeatable)
    #[arg(long = "ignore-column", value_name = "NAME")]
    pub ignore_columns: Vec<String>,

    /// The file's encoding when it is not UTF-8 (e.g. windows-1252)
    #[arg(long)]
    pub encoding: Option<String>,

    /// The delimiter: , ; or tab [default: detected from the header]
    #[arg(long, value_parser = delimiter)]
    pub delimiter: Option<u8>,

    /// For .xlsx/.xls/.ods input: the sheet to read [default: the first]
    #[arg(long)]
    pub sheet: Option<String>,

    /// Guessed rules (field lengths, unknown user types) are errors, not warnings
    #[arg(long)]
    pub strict: bool,

    /// More country names: one per line, `Name[,spelling...]` (the name is what the tenant gets)
    #[arg(long, value_name = "FILE")]
    pub countries: Option<PathBuf>,

    /// With --countries: accept only the file's countries, not the built-in list
    #[arg(long, requires = "countries")]
    pub countries_only: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub passwords: PasswordArgs,

    /// Write every problem as CSV (row,line,column,value,problem)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Overwrite an existing report
    #[arg(long)]
    pub force: bool,
}

/// What an import may change beyond the rows' own fields.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// Also remove users from groups their row does not list
    #[arg(long)]
    pub sync_groups: bool,

    /// Also remove users from applications their row does not list
    #[arg(long)]
    pub sync_applications: bool,

    /// Create groups that rows name but the tenant lacks (else those rows fail)
    #[arg(long)]
    pub create_missing_groups: bool,

    /// Set passwords of existing users too (by default a password only applies on create)
    #[arg(long)]
    pub reset_passwords: bool,

    #[command(flatten)]
    pub passwords: PasswordArgs,
}

/// How new users get their passwords.
#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// New users without a password column get a generated one
    #[arg(long)]
    pub auto_password: bool,

    /// Users must change the password at first logon (unless the row says otherwise)
    #[arg(long)]
    pub must_change_password: bool,

    /// Email new users their password (unless the row says otherwise)
    #[arg(long)]
    pub send_email: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Write the plan as CSV, one line per row
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite an existing output file
    #[arg(long)]
    pub force: bool,

    /// Plan the valid rows even when others are invalid
    #[arg(long)]
    pub skip_invalid: bool,

    /// Write the summary as JSON
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The results file [default: <input stem>.results.csv beside the input]
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// Overwrite an existing results file
    #[arg(long)]
    pub force: bool,

    /// Go on from an earlier run's results: rows that succeeded are not sent again
    #[arg(long, value_name = "RESULTS")]
    pub resume: Option<PathBuf>,

    /// Import the valid rows even when others are invalid (those get outcome invalid)
    #[arg(long)]
    pub skip_invalid: bool,

    /// Only show what would happen (the same as `sebulk plan`)
    #[arg(long)]
    pub dry_run: bool,

    /// Write the summary as JSON
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// What to export
    #[arg(value_enum)]
    pub what: crate::export::Entity,

    /// Where to write (`-` for standard output)
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,

    #[arg(long, value_enum, default_value_t = crate::export::Format::Csv)]
    pub format: crate::export::Format,

    /// Only records whose FIELD contains VALUE (users: username, email, firstName, lastName; groups: name, description; applications: name, label)
    #[arg(long, value_name = "FIELD=VALUE", value_parser = field_value)]
    pub filter: Vec<(String, String)>,

    /// Field to sort by (the API's sort; default id)
    #[arg(long)]
    pub sort: Option<String>,

    #[arg(long, value_enum)]
    pub order: Option<crate::api::SortOrder>,

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

    /// Write the summary as JSON
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// The earlier user export
    pub old: PathBuf,
    /// The later user export
    pub new: PathBuf,

    /// Where to write `change,key,username,field,old,new` (`-` for standard output)
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,

    /// How rows are paired
    #[arg(long, value_enum, default_value_t = crate::export::diff::DiffKey::Auto)]
    pub key: crate::export::diff::DiffKey,

    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}

fn field_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("'{text}' is not FIELD=VALUE")),
    }
}

fn delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "'{text}' is not a delimiter sebulk reads (comma, semicolon, tab, pipe)"
        )),
    }
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("'{text}' is not a probability between 0 and 1")),
    }
}
