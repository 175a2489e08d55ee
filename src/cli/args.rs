//! The clap types: every flag, once. Nothing outside `cli` sees them; they
//! are resolved into plain specs (`cli::resolve`) before anything runs.
//!
//! Tenant and pacing options belong to the commands that talk to a tenant,
//! so offline commands' help does not list them. They are also accepted
//! before the subcommand, as earlier versions took them (hidden there).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::config::settings::{Connect, KeyArgs, PacingArgs, TenantArgs};

use crate::api::SortOrder;
use crate::diff::DiffKey;
use crate::export::{Entity, Format};
use crate::input::{MatchBy, Mode, UsernameFrom};
use crate::sandbox::{ListShape, UnknownFields};

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

    #[command(flatten)]
    pub key: KeyArgs,

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

    /// GET /credentials/{id} of a user with no factor answers 404 instead of an empty record
    #[arg(long, help_heading = "Variant")]
    pub credentials_404: bool,

    /// userType travels as a number (1 user, 2 admin, 3 helpdesk), read and written
    #[arg(long, help_heading = "Variant")]
    pub numbered_user_types: bool,
}

/// How a file's text is read: encoding, delimiter, sheet, header row.
#[derive(Debug, Args, Clone, Default)]
pub struct ReadArgs {
    /// The file's encoding when it is not UTF-8 (e.g. windows-1252) [default: told from the bytes]
    #[arg(long, value_parser = super::offered::encoding(), hide_possible_values = true)]
    pub encoding: Option<String>,

    /// The delimiter: , ; | or tab [default: detected from the header]
    #[arg(long, value_parser = delimiter)]
    pub delimiter: Option<u8>,

    /// For .xlsx/.xls/.ods input: the sheet to read [default: the first]
    #[arg(long)]
    pub sheet: Option<String>,

    /// The line (CSV) or row (spreadsheet) holding the header [default: the first; in spreadsheets, the first below any title rows]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub header_row: Option<u32>,
}

impl ReadArgs {
    /// The options as the reader takes them.
    pub fn options(&self) -> crate::input::ReadOptions {
        crate::input::ReadOptions {
            encoding: self.encoding.clone(),
            delimiter: self.delimiter,
            sheet: self.sheet.clone(),
            header_row: self.header_row,
        }
    }
}

/// An HR export and how to read it.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// The HR export: CSV (or .xlsx/.xls/.ods) with a header row (`-` for standard input)
    pub file: PathBuf,

    #[command(flatten)]
    pub rules: InputRuleArgs,
}

/// How to read an HR export and match its rows.
#[derive(Debug, Args, Clone)]
pub struct InputRuleArgs {
    /// upsert: create or update; create: existing users are skipped; update: missing users fail [default: upsert]
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// The field that matches a row to an existing user [default: username]
    #[arg(long, value_enum)]
    pub match_by: Option<MatchBy>,

    /// A mapping file (TOML) from the file's columns to sebulk's: columns, templates, value maps, filters, options (docs/mapping.md)
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub mapping: Option<PathBuf>,

    /// A built-in mapping for an export from another system: entra, google, okta, jumpcloud, ad, bamboohr (`sebulk mapping show NAME`)
    #[arg(long, value_name = "NAME", value_parser = super::offered::preset(), hide_possible_values = true)]
    pub preset: Option<String>,

    /// Columns to ignore without a warning (repeatable, or comma-separated)
    #[arg(long = "ignore-column", value_name = "NAME")]
    pub ignore_columns: Vec<String>,

    /// Drop every column that is not a user field, without a warning
    #[arg(long)]
    pub ignore_unknown_columns: bool,

    /// Rows without a username take one from their email: the whole address or the part before @
    #[arg(long, value_enum, value_name = "FROM")]
    pub username_from: Option<UsernameFrom>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// How slashed dates read: dmy (03/01/2027 is 3 January) or mdy (1 March) [default: the mapping's or the profile's date_order, else only unambiguous ones]
    #[arg(long, value_enum, value_name = "ORDER")]
    pub date_order: Option<crate::model::dates::DateOrder>,

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
#[command(mut_arg("report", |a| a.help("Write one self-contained HTML page about the run to FILE (0600), replacing the previous run's")))]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub passwords: PasswordArgs,

    /// Write every problem as CSV (row,line,column,value,problem,severity); `-` for standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite an existing report
    #[arg(long)]
    pub force: bool,

    /// Print the summary as JSON on standard output
    #[arg(long)]
    pub json: bool,

    /// Write the summary as JSON to FILE (`-` for standard output), whatever happens, replacing the previous run's
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    #[command(flatten)]
    pub end: EndArgs,
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

    /// Users this run may raise (userType, a privileged group) or change although privileged: usernames, emails, employee numbers or patterns, comma-separated or repeated (also allow_privileged in the profile)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub allow_privileged: Vec<String>,

    #[command(flatten)]
    pub passwords: PasswordArgs,
}

/// How new users get their passwords.
#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// New users without a password column get a generated one
    #[arg(long, alias = "auto-generate")]
    pub auto_password: bool,

    /// Users must change the password at first logon (unless the row says otherwise)
    #[arg(long, alias = "must-change")]
    pub must_change_password: bool,

    /// Email new users their password (unless the row says otherwise)
    #[arg(long)]
    pub send_email: bool,
}

/// How a run's results (or plan) file is kept.
#[derive(Debug, Args, Clone, Default)]
pub struct RecordArgs {
    /// Write the results (or plan) under a new timestamped name in DIR, keeping every earlier run's, and the summary and report as DIR/last.json and DIR/last.html unless --summary-json or --report name others: for nightly jobs (created 0700 if missing; refused when others may write into it)
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub results_dir: Option<PathBuf>,

    /// Start the results (or plan) file with a UTF-8 byte-order mark so Excel shows accents right (sebulk reads it back either way)
    #[arg(long)]
    pub excel: bool,
}

/// What every command that writes a results file shares: where the
/// results go, whether an earlier file is replaced, a dry run, and the
/// summary. Each command words `--output`, `--force` and `--dry-run` for
/// itself (`mut_arg` on its struct).
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The results file (`-` for standard output)
    #[arg(long, short, value_name = "FILE", visible_alias = "results")]
    pub output: Option<PathBuf>,

    /// Overwrite an existing results file
    #[arg(long)]
    pub force: bool,

    /// Only show what would change
    #[arg(long)]
    pub dry_run: bool,

    /// Wait up to SECONDS for another run writing to the same tenant to end (one writing run per tenant at a time; without it such a run exits 1, naming the other)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,

    #[command(flatten)]
    pub record: RecordArgs,

    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// Where a run's summary goes, besides the screen.
#[derive(Debug, Args, Clone, Default)]
pub struct SummaryArgs {
    /// Write the summary as JSON to FILE (`-` for standard output), whatever happens, replacing the previous run's (whole or not at all; --results-dir puts it in DIR/last.json)
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Print the summary as JSON on standard output
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub end: EndArgs,
}

/// What happens when a run ends: who is told, and the page about it.
#[derive(Debug, Args, Clone, Default)]
pub struct EndArgs {
    /// Write one self-contained HTML page about the run (outcomes, pace, every row, problems by kind) to FILE (0600), replacing the previous run's (--results-dir puts it in DIR/last.html)
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// POST the summary (with a one-line `text` for Slack or Teams) to URL when the run ends, however it ends (repeatable; also env SEBULK_NOTIFY, whitespace between URLs, `--notify-file` and `notify = [...]` in a profile). HTTPS but for loopback; never printed; a redirect to another host is not followed
    #[arg(long = "notify", value_name = "URL")]
    pub urls: Vec<String>,

    /// Read --notify URLs from FILE: one a line, `#` comments; refused when others may read it (chmod 600), as it keeps the webhook tokens off the command line
    #[arg(long, value_name = "FILE")]
    pub notify_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Write the plan as CSV, one line per row (`-` for standard output) [default: a readable plan on the terminal]
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite an existing output file
    #[arg(long)]
    pub force: bool,

    /// Plan the valid rows even when others are invalid
    #[arg(long)]
    pub skip_invalid: bool,

    /// Also list the tenant users the file does not name (possible leavers) in FILE, which `sebulk offboard` takes as it is; give the complete roster
    #[arg(long, value_name = "FILE")]
    pub report_missing: Option<PathBuf>,

    #[command(flatten)]
    pub record: RecordArgs,

    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file (`-` for standard output) [default: <input stem>.results.csv beside the input]; with --dry-run, the plan")))]
#[command(mut_arg("dry_run", |a| a.help("Only show what would happen (the same as `sebulk plan`)")))]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub run: RunArgs,

    /// Go on from an earlier run's results: rows that succeeded are not sent again
    #[arg(long, value_name = "RESULTS")]
    pub resume: Option<PathBuf>,

    /// Import the valid rows even when others are invalid (those get outcome invalid)
    #[arg(long)]
    pub skip_invalid: bool,

    /// Also list the tenant users the file does not name (possible leavers) in FILE, which `sebulk offboard` takes as it is; give the complete roster
    #[arg(long, value_name = "FILE")]
    pub report_missing: Option<PathBuf>,

    /// The most users this import's updates may take access from (disable, lock, remove from a group or application, lower the user type): a count (60) or a share (10%) [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_affected: Option<crate::pipeline::guard::MaxAffected>,

    #[command(flatten)]
    pub changes: ChangeLimitArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file (`-` for standard output) [default: <roster stem>.sync.csv beside the roster]; with --dry-run, the plan")))]
#[command(mut_arg("dry_run", |a| a.help("Only show what the sync would do, row by row (nothing is sent)")))]
pub struct SyncArgs {
    /// HR's complete roster: past and future starters, and people with a termination date (startDate, endDate: gone from that day, lastDay: gone the day after; or Hire Date, Termination Date, Last Working Day...)
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The day everything is decided by, YYYY-MM-DD [default: today, local time]
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Joiners are created this many days before their start date (disabled until it comes); later ones are pending
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub create_ahead: u32,

    /// What happens to leavers, comma-separated: disable, lock, revoke-access, remove-second-factor, delete
    #[arg(long, value_name = "ACTIONS", default_value = "disable", value_parser = super::offered::actions(), hide_possible_values = true)]
    pub leavers: String,

    /// Go on past any number of invalid rows (without it a sync already records invalid rows and runs the rest, unless more than 10% of the rows, at least 5, are invalid)
    #[arg(long)]
    pub skip_invalid: bool,

    /// Narrow the users the sync owns: a mapping filter on a user field, as an inline table (repeatable), e.g. 'column = "department", not_in = ["Contractors"]'
    #[arg(long, value_name = "FILTER")]
    pub scope: Vec<String>,

    /// A joiner whose username belongs to another person: `suffix` takes the lowest free number (john.smith2), in file order; `fail` creates nothing
    #[arg(long, value_name = "HOW", default_value = "suffix", value_parser = ["suffix", "fail"])]
    pub on_collision: String,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file (`-` for standard output) [default: <file stem>.offboard.csv beside the file]; with --dry-run, the plan")))]
#[command(mut_arg("dry_run", |a| a.help("Only show who would be affected and how")))]
#[command(group(clap::ArgGroup::new("who").required(true).args(["names", "roster"])))]
// Only the match key of a leaver's row is read: the import's field rules do not apply.
#[command(mut_arg("mode", |a| a.hide(true)), mut_arg("strict", |a| a.hide(true)))]
#[command(mut_arg("countries", |a| a.hide(true)), mut_arg("countries_only", |a| a.hide(true)))]
pub struct OffboardArgs {
    /// A file naming the leavers: a username, email or employeeNumber column (see --match-by)
    #[arg(value_name = "FILE")]
    pub names: Option<PathBuf>,

    /// With --roster: how many roster rows may match no tenant user before the run is refused (keys that only look alike) [default: 1% of the rows, at least 5]
    #[arg(long, value_name = "N", requires = "roster")]
    pub max_unmatched: Option<u64>,

    /// Today's complete HR roster: every tenant user absent from it is a leaver
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,

    /// What to do, comma-separated: disable, lock, revoke-access, remove-second-factor, delete
    #[arg(long, value_name = "ACTIONS", required = true, value_parser = super::offered::actions(), hide_possible_values = true)]
    pub action: String,

    #[command(flatten)]
    pub rules: InputRuleArgs,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub run: RunArgs,

    /// Go on from an interrupted run's results: rows it finished are carried over, not sent again (a leavers file; a roster run resumes by running again)
    #[arg(long, value_name = "RESULTS", conflicts_with = "roster")]
    pub resume: Option<PathBuf>,

    #[command(flatten)]
    pub connect: Connect,
}

/// The guard rails of every run that takes something away.
#[derive(Debug, Args, Clone, Default)]
pub struct GuardArgs {
    /// The most users (or a group's members) this run may change: a count (60) or a share (10%) [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_affected: Option<crate::pipeline::guard::MaxAffected>,

    /// The most users this run may delete or strip of their second factor [default: --max-affected, else 2%, at least 3, at most 20]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_irreversible: Option<crate::pipeline::guard::MaxAffected>,

    #[command(flatten)]
    pub changes: ChangeLimitArgs,

    #[command(flatten)]
    pub protect: ProtectArgs,
}

/// The limits on what a run's updates may change, beside what it takes
/// away: identities, re-enables and (in a sync) joiners.
#[derive(Debug, Args, Clone, Default)]
pub struct ChangeLimitArgs {
    /// The most users this run may rename or give another email [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_identity_changes: Option<crate::pipeline::guard::MaxAffected>,

    /// The most users this run may re-enable or unlock, rehires included [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_reenabled: Option<crate::pipeline::guard::MaxAffected>,

    /// A sync: the most joiners it may create [default: 10% of the tenant, at least 10, at most 500]
    #[arg(long, value_name = "N|N%", value_parser = crate::pipeline::guard::MaxAffected::parse)]
    pub max_joiners: Option<crate::pipeline::guard::MaxAffected>,
}

/// Who a run that changes existing users never touches.
#[derive(Debug, Args, Clone, Default)]
pub struct ProtectArgs {
    /// Users never touched: usernames, emails, employee numbers or patterns (svc-*), one per line, # comments
    #[arg(long, value_name = "FILE")]
    pub protect: Option<PathBuf>,

    /// Also touch users whose userType is not the plain user (administrators, helpdesk)
    #[arg(long)]
    pub include_privileged: bool,
}

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

#[derive(Debug, Args, Clone)]
#[command(mut_arg("output", |a| a.help("The results file [default: <file stem>.passwords.csv beside the file]")))]
#[command(mut_arg("dry_run", |a| a.help("Only show whose password would be set")))]
#[command(mut_arg("mode", |a| a.hide(true)), mut_arg("strict", |a| a.hide(true)))]
#[command(mut_arg("countries", |a| a.hide(true)), mut_arg("countries_only", |a| a.hide(true)))]
#[command(mut_arg("date_order", |a| a.hide(true)))]
pub struct PasswordsArgs {
    /// Users (a username, email or employeeNumber column) and, unless --auto-password, a password column
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Rows without a password get one the tenant generates
    #[arg(long = "auto-password", alias = "auto-generate")]
    pub auto_generate: bool,

    /// Email users their password (unless the row says otherwise)
    #[arg(long)]
    pub send_email: bool,

    /// Users must change the password at their next logon (unless the row says otherwise)
    #[arg(long = "must-change-password", alias = "must-change")]
    pub must_change: bool,

    #[command(flatten)]
    pub rules: InputRuleArgs,

    #[command(flatten)]
    pub run: RunArgs,

    /// Go on from an interrupted run's results: users it set are not set again (no second password, no second email)
    #[arg(long, value_name = "RESULTS")]
    pub resume: Option<PathBuf>,

    /// Users never touched: usernames, emails, employee numbers or patterns (svc-*), one per line, # comments
    #[arg(long, value_name = "FILE")]
    pub protect: Option<PathBuf>,

    /// Privileged users (a userType other than user, or a member of a privileged group) whose password this run may set: usernames, emails, employee numbers or patterns, comma-separated or repeated (also allow_privileged in the profile)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub allow_privileged: Vec<String>,

    #[command(flatten)]
    pub connect: Connect,
}

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
    pub only: super::only::OnlyArgs,

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
    pub only: super::only::OnlyArgs,

    #[command(flatten)]
    pub guard: GuardArgs,

    #[command(flatten)]
    pub connect: Connect,
}

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

pub(crate) fn delimiter(text: &str) -> Result<u8, String> {
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
