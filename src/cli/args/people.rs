//! The arguments of the commands that move people from a file to the
//! tenant (or check that they would): validate, plan, import, sync,
//! offboard and passwords.

use std::path::PathBuf;

use super::shared::{
    ChangeLimitArgs, EndArgs, GuardArgs, InputArgs, InputRuleArgs, PasswordArgs, PolicyArgs,
    RecordArgs, RunArgs, SummaryArgs,
};
use crate::config::settings::Connect;
use clap::Args;

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
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_affected: Option<crate::engine::guard::MaxAffected>,

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
    #[arg(long, value_name = "ACTIONS", default_value = "disable", value_parser = crate::cli::offered::actions(), hide_possible_values = true)]
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
    #[arg(long, value_name = "ACTIONS", required = true, value_parser = crate::cli::offered::actions(), hide_possible_values = true)]
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

    /// The most passwords this run may set: a count (60) or a share (10%) [default: 10% of the tenant, at least 10, at most 500]
    #[arg(long, value_name = "N|N%", value_parser = crate::engine::guard::MaxAffected::parse)]
    pub max_passwords: Option<crate::engine::guard::MaxAffected>,

    /// Privileged users (a userType other than user, or a member of a privileged group) whose password this run may set: usernames, emails, employee numbers or patterns, comma-separated or repeated (also allow_privileged in the profile)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub allow_privileged: Vec<String>,

    #[command(flatten)]
    pub connect: Connect,
}
