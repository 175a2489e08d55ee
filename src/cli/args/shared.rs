//! Argument groups several commands flatten in: how a file is read, the
//! input rules, policy and password defaults, run and record options, the
//! end-of-run outputs, and the guard. Declared once here; each command's
//! own struct says which groups it takes.

use std::path::PathBuf;

use crate::input::{MatchBy, Mode, UsernameFrom};
use clap::Args;

/// How a file's text is read: encoding, delimiter, sheet, header row.
#[derive(Debug, Args, Clone, Default)]
pub struct ReadArgs {
    /// The file's encoding when it is not UTF-8 (e.g. windows-1252) [default: told from the bytes]
    #[arg(long, value_parser = crate::cli::offered::encoding(), hide_possible_values = true)]
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
            ..Default::default()
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
    #[arg(long, value_name = "NAME", value_parser = crate::cli::offered::preset(), hide_possible_values = true)]
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

/// The guard rails of every run that takes something away.
#[derive(Debug, Args, Clone, Default)]
pub struct GuardArgs {
    /// The most users (or a group's members) this run may change: a count (60) or a share (10%) [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_affected: Option<crate::engine::guard::MaxAffected>,

    /// The most users this run may delete or strip of their second factor [default: --max-affected, else 2%, at least 3, at most 20]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_irreversible: Option<crate::engine::guard::MaxAffected>,

    #[command(flatten)]
    pub changes: ChangeLimitArgs,

    #[command(flatten)]
    pub protect: ProtectArgs,
}

/// The limits on what a run's updates may change, beside what it takes
/// away: identities, re-enables and (in a sync) joiners.
#[derive(Debug, Args, Clone, Default)]
pub struct ChangeLimitArgs {
    /// The most users this run may rename, give another email, employee number, mobile or phone, or clear a name of [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_identity_changes: Option<crate::engine::guard::MaxAffected>,

    /// The most users this run may re-enable or unlock, rehires included [default: 5%, at least 10, at most 50]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_reenabled: Option<crate::engine::guard::MaxAffected>,

    /// A sync: the most joiners it may create [default: 10% of the tenant, at least 10, at most 500]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_joiners: Option<crate::engine::guard::MaxAffected>,
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
