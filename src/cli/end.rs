//! The end of every run, whatever the command: how it ended (the summary
//! it wrote, or why it stopped, and its exit code), the `--report` page
//! about it, and the `--notify` receivers told. Neither ever changes the
//! exit code: what fails is a warning. The summary and the report are
//! the run's status, replaced every run; with `--results-dir` they go to
//! `last.json` and `last.html` there unless named.

use std::path::{Path, PathBuf};

use super::args::{
    Cli, Command, DiffArgs, EndArgs, ExportArgs, GroupsCommand, MembershipsCommand, PlanArgs,
    RecordArgs, RunArgs, SummaryArgs, ValidateArgs,
};
use super::{config, exit};
use crate::commands::notify::{self, Given, Receivers};
use crate::commands::{CommandError, Completion};
use crate::output::report::{ReportData, RowsKind};
use crate::ui::Ui;

/// Which options of a command say how its run ends (`--summary-json`,
/// `--report`, `--notify`, `--results-dir`), declared once for every
/// command by [`ends`]. Everything about the end of a run is read from it.
pub(crate) enum Ends<'a> {
    /// A row command: its run options carry all of them, and a run that
    /// fails still writes its summary.
    Run(&'a RunArgs),
    Plan(&'a PlanArgs),
    Validate(&'a ValidateArgs),
    Diff(&'a DiffArgs),
    /// Export writes its own summary, whatever happens.
    Export(&'a ExportArgs),
    /// Commands that end no run: no summary, report or notification.
    Nothing,
}

/// How each command's run ends. One arm per command and no fallback: a
/// new command does not compile until it says which it is, so it cannot
/// silently lose `--report`, `--notify` or its failure summary.
pub(crate) fn ends(command: &Command) -> Ends<'_> {
    match command {
        Command::Import(args) => Ends::Run(&args.run),
        Command::Sync(args) => Ends::Run(&args.run),
        Command::Offboard(args) => Ends::Run(&args.run),
        Command::Approve(args) => Ends::Run(&args.run),
        Command::Passwords(args) => Ends::Run(&args.run),
        Command::Groups(GroupsCommand::Import(args)) => Ends::Run(&args.run),
        Command::Memberships(MembershipsCommand::Import(args)) => Ends::Run(&args.run),
        Command::Restore(args) => Ends::Run(&args.run),
        Command::Undo(args) => Ends::Run(&args.run),
        Command::Apply(args) => Ends::Run(&args.run),
        Command::Plan(args) => Ends::Plan(args),
        Command::Validate(args) => Ends::Validate(args),
        Command::Diff(args) => Ends::Diff(args),
        Command::Export(args) => Ends::Export(args),
        Command::Check(_)
        | Command::Mapping(_)
        | Command::Completions { .. }
        | Command::Man { .. } => Ends::Nothing,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(_) => Ends::Nothing,
    }
}

/// The end options of a command (none for those that do not run).
fn end_args(command: &Command) -> Option<&EndArgs> {
    Some(match ends(command) {
        Ends::Run(run) => &run.summary.end,
        Ends::Plan(args) => &args.summary.end,
        Ends::Validate(args) => &args.end,
        Ends::Diff(args) => &args.end,
        Ends::Export(args) => &args.summary.end,
        Ends::Nothing => return None,
    })
}

/// Where a command's summary goes when its run stops with an error:
/// `--summary-json`, else (a row command or plan with `--results-dir`)
/// `last.json` there. None for export, which writes its own.
pub(crate) fn failure_summary_path(command: &Command) -> Option<PathBuf> {
    match ends(command) {
        Ends::Run(run) => summary_path(&run.summary, &run.record),
        Ends::Plan(args) => summary_path(&args.summary, &args.record),
        Ends::Validate(args) => args.summary_json.clone(),
        Ends::Diff(args) => args.summary_json.clone(),
        Ends::Export(_) | Ends::Nothing => None,
    }
}

/// Who is told of the run's end: `--notify`, `SEBULK_NOTIFY`,
/// `--notify-file` and the profile's `notify` (a profile that cannot be
/// read is the run's own error, said there).
pub fn receivers(
    cli: &Cli,
    profile: &config::ProfileSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Receivers, CommandError> {
    let Some(end) = end_args(&cli.command) else {
        return Ok(Receivers::default());
    };
    let numbered = |what: &str, urls: &[String]| -> Vec<Given> {
        urls.iter()
            .enumerate()
            .map(|(number, url)| Given {
                source: format!("{what} URL {}", number + 1),
                url: url.clone(),
            })
            .collect()
    };
    let mut given = numbered("--notify", &end.urls);
    if let Some(value) = env(notify::NOTIFY_ENV) {
        given.extend(notify::from_env(&value));
    }
    if let Some(path) = &end.notify_file {
        given.extend(notify::from_file(path)?);
    }
    if let Ok(profile) = profile.get() {
        given.extend(numbered("the profile's notify", &profile.notify));
    }
    Receivers::parse(&given)
}

/// The summary's name in `--results-dir` when `--summary-json` names none.
pub const LAST_SUMMARY: &str = "last.json";
/// The report's name in `--results-dir` when `--report` names none.
pub const LAST_REPORT: &str = "last.html";

/// Where the summary goes: `--summary-json`, else `last.json` in
/// `--results-dir` (the run's status beside its dated records).
pub fn summary_path(summary: &SummaryArgs, record: &RecordArgs) -> Option<PathBuf> {
    let last = || {
        record
            .results_dir
            .as_ref()
            .map(|dir| dir.join(LAST_SUMMARY))
    };
    summary.summary_json.clone().or_else(last)
}

/// Where the `--report` page goes: `--report`, else (a row command or
/// plan with `--results-dir`) `last.html` there.
fn report_path(command: &Command) -> Option<PathBuf> {
    let (summary, record) = match ends(command) {
        Ends::Plan(args) => (&args.summary, &args.record),
        Ends::Run(run) => (&run.summary, &run.record),
        Ends::Validate(_) | Ends::Diff(_) | Ends::Export(_) | Ends::Nothing => {
            return end_args(command)?.report.clone();
        }
    };
    let last = || record.results_dir.as_ref().map(|dir| dir.join(LAST_REPORT));
    summary.end.report.clone().or_else(last)
}

/// Refuses a report path that cannot be a file or is standard output,
/// before anything runs. An earlier run's page is replaced: it is the
/// run's status, not a record.
pub fn check_report(cli: &Cli) -> Result<(), CommandError> {
    let Some(path) = report_path(&cli.command) else {
        return Ok(());
    };
    if path == Path::new("-") {
        return Err(CommandError::usage(
            "--report writes a file: name one (FILE.html)",
        ));
    }
    crate::output::files::check_output(&path, true, &[])?;
    Ok(())
}

/// How a run ended.
pub struct Ending {
    command: String,
    summary: serde_json::Value,
    code: u8,
}

impl Ending {
    pub fn of(cli: &Cli, result: &Result<Completion, CommandError>, ui: &Ui) -> Self {
        let (summary, code) = match result {
            Ok(completion) => {
                let code = exit::code_for(*completion);
                let summary = ui.kept_summary().unwrap_or_else(|| serde_json::json!({}));
                (summary, code)
            }
            Err(error) => {
                let (code, hint) = exit::classify(error);
                let status = match error {
                    CommandError::Refused(_) => "refused",
                    CommandError::Interrupted => "interrupted",
                    _ => "failed",
                };
                let value =
                    crate::commands::stopped_summary(status, &error.to_string(), (code, hint));
                (value, code)
            }
        };
        Ending {
            command: command_name(&cli.command).to_string(),
            summary,
            code,
        }
    }

    /// Tells the receivers; what could not be delivered is a warning.
    pub async fn tell(&self, receivers: &Receivers, ui: &Ui) {
        for warning in receivers
            .tell(&self.command, self.summary.clone(), self.code)
            .await
        {
            ui.warn(warning);
        }
    }

    /// How it ended, in words.
    fn ended(&self) -> String {
        let status = self.summary.get("status").and_then(|s| s.as_str());
        match (status, self.code) {
            (Some("refused"), _) => "refused".into(),
            (Some("failed"), _) => "failed".into(),
            (_, 130) => "interrupted".into(),
            (_, 0) => "done".into(),
            (_, 1) if self.command == "diff" => "differences found".into(),
            (_, code) => format!("done, with rows to look at (exit {code})"),
        }
    }
}

/// Whether `path` is a file in `dir` (a directory the run was refused for).
pub fn goes_into(path: &Path, dir: Option<&Path>) -> bool {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    dir.is_some_and(|dir| crate::output::files::same_file(parent, dir))
}

/// Writes the `--report` page, if asked for, unless into `refused_dir`;
/// a page that cannot be written is a warning.
pub fn report(
    cli: &Cli,
    ending: &Ending,
    ui: &Ui,
    refused_dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) {
    let Some(path) = report_path(&cli.command) else {
        return;
    };
    if goes_into(&path, refused_dir) {
        return;
    }
    let data = ReportData {
        command: ending.command.clone(),
        command_line: shown_command_line(&cli.argv),
        ended: ending.ended(),
        exit_code: ending.code,
        summary: ending.summary.clone(),
        pace: ui.kept_pace(),
        rows: rows_file(cli, &ending.summary, ui),
        rows_shown: match &cli.command {
            Command::Diff(args) if args.output == Path::new("-") => {
                Some("the changes written to standard output".to_string())
            }
            _ => None,
        },
        operator: crate::output::report::operator(env("USER").or_else(|| env("LOGNAME"))),
    };
    let mut taken: Vec<PathBuf> = Vec::new();
    taken.extend(data.rows.as_ref().map(|(p, _)| p.clone()));
    let taken: Vec<&Path> = taken.iter().map(PathBuf::as_path).collect();
    match crate::output::report::write(&path, true, &taken, &data) {
        Ok(()) => {
            if !ui.is_quiet() {
                ui.say(format!("  report in {}", path.display()));
            }
        }
        Err(err) => ui.warn(format!("the report could not be written: {err}")),
    }
}

/// The file holding the run's rows, and what it is.
fn rows_file(cli: &Cli, summary: &serde_json::Value, ui: &Ui) -> Option<(PathBuf, RowsKind)> {
    let usable =
        |path: &Path| (path != Path::new("-") && path.is_file()).then(|| path.to_path_buf());
    let from_summary = || {
        summary
            .get("output")
            .and_then(|o| o.as_str())
            .and_then(|o| usable(Path::new(o)))
    };
    match ends(&cli.command) {
        Ends::Validate(args) => Some((usable(args.output.as_deref()?)?, RowsKind::Problems)),
        // Without -o the changes went to standard output; a copy was kept.
        Ends::Diff(args) => Some((
            usable(&args.output).or_else(|| ui.kept_rows_copy())?,
            RowsKind::Diff,
        )),
        Ends::Export(args) if args.what == crate::export::Entity::Factors => {
            Some((from_summary()?, RowsKind::Factors))
        }
        Ends::Export(_) => None,
        Ends::Run(_) | Ends::Plan(_) | Ends::Nothing => Some((from_summary()?, RowsKind::Results)),
    }
}

/// The command line as the report shows it: webhook URLs left out.
fn shown_command_line(argv: &[String]) -> String {
    let mut shown = Vec::new();
    let mut hide_next = false;
    for (i, arg) in argv.iter().enumerate() {
        if i == 0 {
            // The program as people call it, not where it was installed.
            shown.push("sebulk".to_string());
        } else if hide_next {
            shown.push("(webhook)".to_string());
            hide_next = false;
        } else if arg == "--notify" {
            shown.push(arg.clone());
            hide_next = true;
        } else if arg.starts_with("--notify=") {
            shown.push("--notify=(webhook)".to_string());
        } else {
            shown.push(arg.clone());
        }
    }
    shown.join(" ")
}

/// The command as a person typed it (`groups import`).
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Import(_) => "import",
        Command::Sync(_) => "sync",
        Command::Apply(_) => "apply",
        Command::Export(_) => "export",
        Command::Diff(_) => "diff",
        Command::Check(_) => "check",
        Command::Offboard(_) => "offboard",
        Command::Approve(_) => "approve",
        Command::Restore(_) => "restore",
        Command::Undo(_) => "undo",
        Command::Passwords(_) => "passwords",
        Command::Groups(GroupsCommand::Import(_)) => "groups import",
        Command::Memberships(MembershipsCommand::Import(_)) => "memberships import",
        Command::Mapping(_) => "mapping",
        #[cfg(feature = "sandbox")]
        Command::Sandbox(_) => "sandbox",
        Command::Completions { .. } => "completions",
        Command::Man { .. } => "man",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_left_out_of_the_command_line() {
        let argv: Vec<String> = [
            "sebulk",
            "import",
            "x.csv",
            "--notify",
            "https://h/T/SECRET",
            "--notify=https://h/SECRET2",
        ]
        .map(String::from)
        .to_vec();
        let shown = shown_command_line(&argv);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("import x.csv"));
    }
}
