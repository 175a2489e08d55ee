//! The one path every row command (import, plan, offboard, approve,
//! restore, passwords, groups, memberships, undo) takes from resolved
//! options to a [`Completion`]: its files checked before anything is read
//! or sent, the tenant's lock taken unless it is a dry run (one writing
//! run per tenant: [`tenant_lock`]), the tenant connected, signals watched, the run driven, its
//! summary shown and written as JSON, and its end turned into the exit
//! code. A command brings only its run (a closure over the client and the
//! stop tokens) and how its summary is shown.

use std::path::Path;

use super::tenant_lock::{self, LockRequest};
use super::{CommandError, Completion, Connection, signals, write_json};
use crate::api::Client;
use crate::engine::decided_rows::ResultsOptions;
use crate::engine::results_sink::{RunTotals, Tallied};
use crate::engine::roster::FirstPass;
use crate::engine::{RunEnd, RunError, Stops};
use crate::ui::Ui;

/// A row command, resolved: its options and where its summary goes.
#[derive(Debug, Clone)]
pub struct RowJob<O> {
    pub options: O,
    /// `--summary-json FILE` (`-` for standard output).
    pub summary_json: Option<std::path::PathBuf>,
    /// `--json`: the summary on standard output.
    pub json: bool,
    /// Who the run is and how long it waits for the tenant's lock (taken
    /// unless it is a dry run).
    pub lock: LockRequest,
}

/// What a run was refused for, and how that ends the command.
pub trait Refusal {
    /// Why, in a sentence (for the summary JSON).
    fn reason(&self) -> String;

    fn end(self, ui: &Ui, input: &str) -> Result<Completion, CommandError>;
}

/// A guard rail's refusal: an error (exit 1), nothing changed.
impl Refusal for crate::engine::GuardRefusal {
    fn reason(&self) -> String {
        self.0.clone()
    }

    fn end(self, ui: &Ui, _input: &str) -> Result<Completion, CommandError> {
        ui.finish_progress();
        Err(CommandError::Refused(self.0))
    }
}

/// The file's invalid rows end listed (exit 3); the guard's refusal as
/// every guard's (exit 1).
impl Refusal for crate::engine::upsert::Refused {
    fn reason(&self) -> String {
        match self {
            Self::Rows(first) => first.reason(),
            Self::Guard(why) => why.reason(),
        }
    }

    fn end(self, ui: &Ui, input: &str) -> Result<Completion, CommandError> {
        match self {
            Self::Rows(first) => first.end(ui, input),
            Self::Guard(why) => why.end(ui, input),
        }
    }
}

/// Import's invalid rows: listed, nothing sent (exit 3).
impl Refusal for Box<FirstPass> {
    fn reason(&self) -> String {
        (**self).reason()
    }

    fn end(self, ui: &Ui, input: &str) -> Result<Completion, CommandError> {
        (*self).end(ui, input)
    }
}

/// Import's invalid rows: listed, nothing sent (exit 3).
impl Refusal for FirstPass {
    fn reason(&self) -> String {
        match &self.broken {
            Some(why) => why.clone(),
            None => format!(
                "{} of {} rows have problems; nothing was sent",
                self.scan.rows_with_errors, self.scan.rows
            ),
        }
    }

    fn end(self, ui: &Ui, input: &str) -> Result<Completion, CommandError> {
        ui.refused(&self, input);
        Ok(Completion::WithProblems)
    }
}

/// The files a row command reads and writes, for the checks before it runs.
pub struct RunFiles<'a> {
    pub input: &'a Path,
    /// The input as the summary names it ("standard input" for `-`).
    pub shown: String,
    pub recording: &'a ResultsOptions,
    /// Whether the run may write snapshots or held changes beside its
    /// results (beside the input when they go to standard output).
    pub keeps_records: bool,
}

/// Runs `job` on `files` through `run`; `show` prints the summary and
/// says where its totals are.
pub async fn run_rows<O, S, R, K>(
    config: &crate::config::Config,
    ui: &Ui,
    (job, files): (&RowJob<O>, RunFiles<'_>),
    run: impl AsyncFnOnce(Client, Stops) -> Result<RunEnd<S, R>, RunError>,
    show: impl FnOnce(&S) -> &RunTotals<K>,
) -> Result<Completion, CommandError>
where
    S: serde::Serialize,
    R: Refusal,
    K: Tallied,
{
    let recording = files.recording;
    let summary_json = job.summary_json.as_deref();
    check_files(&files, summary_json, job.json)?;
    // One writing run per tenant: held until this function returns.
    let _lock = match recording.dry_run {
        true => None,
        false => tenant_lock::take(config, &job.lock, ui).await?,
    };
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let pace = Pace::sample(connection.client.clone());
    let ended = run(connection.client.clone(), stops).await;
    ui.keep_pace(pace.stop());
    let fatal = connection.client.fatal_error();
    let sandbox = connection.sandbox_note();
    connection.close().await?;
    let (summary, interrupted) = match ended? {
        RunEnd::Refused(refusal) => {
            let reason = refusal.reason();
            let ended = refusal.end(ui, &files.shown)?;
            // Refused for its rows, exit 3 (an error is written by the caller).
            let value = super::stopped_summary("refused", &reason, (3, None));
            ui.keep_summary(&value);
            if let Some(path) = summary_json {
                write_json(path, &value, &[files.input])?;
            }
            return Ok(ended);
        }
        RunEnd::Completed(summary) => (Shown::of(summary, None), false),
        RunEnd::Interrupted(summary) => (Shown::of(summary, None), true),
        RunEnd::WouldBeRefused(summary, why) => (Shown::of(summary, Some(why)), false),
    };
    let totals = show(&summary.summary);
    let (clean, refused) = (totals.all_succeeded(), summary.refused.clone());
    if let Some(state) = sandbox
        && !ui.is_quiet()
    {
        ui.say(format!("  this ran against the built-in sandbox, {state}"));
    }
    let mut taken = vec![files.input];
    taken.extend(recording.output.as_deref());
    ui.keep_summary(&summary);
    if let Some(path) = summary_json {
        write_json(path, &summary, &taken)?;
    }
    if job.json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    if let Some(error) = fatal {
        // Every row has its outcome in the results; the run itself failed.
        return Err(error.into());
    }
    if let Some(refusal) = refused {
        // A dry run ends as the real run would: refused.
        return Err(CommandError::Refused(refusal));
    }
    Ok(if interrupted {
        Completion::Interrupted
    } else if clean {
        Completion::Clean
    } else {
        Completion::WithProblems
    })
}

/// A run's summary as it is shown and kept: a dry run's would-be
/// refusal beside its totals (`"refused"`), as the run ends with it.
#[derive(serde::Serialize)]
struct Shown<S> {
    #[serde(flatten)]
    summary: S,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

impl<S> Shown<S> {
    fn of(summary: S, refused: Option<String>) -> Self {
        Shown { summary, refused }
    }
}

/// The run's pace, sampled once a second from the client's counters
/// while it runs: requests and 429s per second, for the report.
struct Pace {
    task: tokio::task::JoinHandle<()>,
    points: std::sync::Arc<std::sync::Mutex<Vec<crate::output::report::PacePoint>>>,
}

impl Pace {
    fn sample(client: Client) -> Self {
        let points: std::sync::Arc<std::sync::Mutex<Vec<_>>> = Default::default();
        let kept = points.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            let mut last = client.stats();
            for second in 0u64.. {
                tick.tick().await;
                let now = client.stats();
                if let Ok(mut points) = kept.lock() {
                    points.push((
                        second,
                        now.requests.saturating_sub(last.requests),
                        now.throttled.saturating_sub(last.throttled),
                    ));
                }
                last = now;
            }
        });
        Pace { task, points }
    }

    fn stop(self) -> Vec<crate::output::report::PacePoint> {
        self.task.abort();
        self.points.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Refuses, before anything is read or sent, files that would collide
/// (the results over the input, two outputs on standard output) or be
/// replaced without `--force` (the results or plan; the summary is the
/// run's to replace), and directories others may write into where the
/// run's records and snapshots go.
fn check_files(
    files: &RunFiles<'_>,
    summary_json: Option<&Path>,
    json: bool,
) -> Result<(), CommandError> {
    let recording = files.recording;
    let mut named = vec![
        ("input", Some(files.input)),
        ("results", recording.output.as_deref()),
        ("summary", summary_json),
    ];
    // Resuming into the results resumed from is allowed (written beside, swapped).
    let in_place = matches!(
        (&recording.resume, &recording.output),
        (Some(resume), Some(output)) if crate::output::files::same_file(resume, output)
    );
    if !in_place {
        named.push(("resumed results", recording.resume.as_deref()));
    }
    super::distinct_files(&named)?;
    if let Some(output) = &recording.output
        && output.as_path() != Path::new("-")
        && !in_place
    {
        // An existing results file or plan is refused now, not after the
        // tenant was read (with --force it is moved aside when written).
        crate::output::files::check_output(output, recording.force, &[files.input])?;
    }
    if let Some(output) = &recording.output {
        // Its snapshots go beside it: a directory others write into is refused.
        crate::output::files::check_record_directory(output)?;
    }
    if files.keeps_records && !recording.dry_run {
        // Snapshots and held changes go beside the input when the results
        // go to standard output: that directory is checked as well.
        crate::output::files::check_record_directory(recording.files_beside(files.input))?;
    }
    if let Some(path) = summary_json {
        // The run's own status: replaced every run, so only checked for
        // being something a file can replace.
        crate::output::files::check_output(path, true, &[])?;
    }
    let stdout_taken = recording.output.as_deref() == Some(Path::new("-"));
    if stdout_taken && (json || summary_json == Some(Path::new("-"))) {
        return Err(CommandError::usage(
            "the results (-o -) and the JSON summary cannot both go to standard output",
        ));
    }
    Ok(())
}
