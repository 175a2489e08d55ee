//! Running rows decided up front: what every lifecycle command (offboard
//! and approve, restore, passwords, groups, memberships, apply, undo)
//! does once it knows its rows, and sync through [`run_source`]. The results file is opened, the rows go through the row runner
//! in order (interrupts, progress, `not_attempted` fill), and the run is
//! totalled. Refusals and snapshots happen before this, so nothing here
//! decides whether to write.
//!
//! A new row command runs on this shell (options carrying a
//! [`ResultsOptions`], a decision step making [`DecidedRow`] rows, a
//! [`RowAction`], a `run` that hands both to [`run`]); every step of
//! adding one, from the clap struct to the tests, is the one recipe in the
//! docs of [`crate::commands`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::Client;
use crate::engine::results_sink::{ResultsSink, RunClock, RunShape, RunTotals};
use crate::engine::runner::{Disposition, Job, JobSource, RowAction, RunError, Runner, Stops};
use crate::events::{Event, Events};
use crate::output::results_file::writer::{FileRules, RunKind, RunStamp};

/// One row, decided.
#[derive(Debug, Clone)]
pub struct DecidedRow<I> {
    pub row: u64,
    pub label: String,
    /// The cells the results repeat.
    pub cells: Vec<String>,
    pub disposition: Disposition,
    pub input: I,
}

impl<I> From<(u64, String, Vec<String>, Disposition, I)> for DecidedRow<I> {
    fn from(
        (row, label, cells, disposition, input): (u64, String, Vec<String>, Disposition, I),
    ) -> Self {
        DecidedRow {
            row,
            label,
            cells,
            disposition,
            input,
        }
    }
}

/// A run's stamp: its id (naming the command) and the tenant.
pub fn stamp(kind: RunKind, dry_run: bool, client: &Client) -> RunStamp {
    RunStamp {
        run_id: super::new_run_id(kind, dry_run),
        tenant: client.tenant().to_string(),
        snapshot: String::new(),
        key: Some(client.seal_key().clone()),
    }
}

/// Everything a run of decided rows needs besides its rows (as
/// [`crate::input::InputSpec`] is for reading a file): where the results
/// go and under which rules, and how the run is shown.
pub struct RunSpec<'a> {
    pub stamp: &'a RunStamp,
    pub clock: &'a RunClock,
    pub dry_run: bool,
    pub output: Option<&'a Path>,
    pub rules: FileRules,
    /// Files the results must not replace.
    pub inputs: &'a [&'a Path],
    /// The input columns the results repeat after their own.
    pub header: &'a [String],
    /// The progress bar's name for the work ("offboarding").
    pub phase: &'static str,
    /// Coalesce the rows' pending membership changes (memberships import).
    pub apply_memberships: bool,
    /// The results file the run resumes from, if any.
    pub resume: Option<&'a Path>,
    /// A dry run that writes a plan `apply` can carry out: its seal.
    pub seal: Option<crate::output::plan_file::PlanSeal>,
}

/// Where a run's results go and how: every row command's options carry
/// one, so the shell around the runner reads them in one place.
#[derive(Debug, Clone, Default)]
pub struct ResultsOptions {
    /// The results (or, in a dry run, the plan) file; `None` for the screen.
    pub output: Option<PathBuf>,
    /// Replace an existing results file (moved aside, never lost).
    pub force: bool,
    /// `--excel`: a byte-order mark first.
    pub excel: bool,
    pub dry_run: bool,
    /// `--resume RESULTS`, for commands that resume.
    pub resume: Option<PathBuf>,
}

/// Where a run's results are written. Resuming into the file resumed
/// from, they are written beside it and swapped in at the end, so a kill
/// never leaves the earlier record half-replaced.
pub struct ResultsPlace<'a> {
    output: Option<&'a Path>,
    beside: Option<PathBuf>,
    rules: FileRules,
}

impl<'a> ResultsPlace<'a> {
    pub fn of(output: Option<&'a Path>, resume: Option<&Path>, rules: FileRules) -> Self {
        let beside = match (output, resume) {
            (Some(output), Some(resume))
                if output != Path::new("-") && crate::output::files::same_file(output, resume) =>
            {
                Some(output.with_extension("resuming.csv"))
            }
            _ => None,
        };
        ResultsPlace {
            output,
            beside,
            rules,
        }
    }

    /// The file written while the run goes on.
    pub fn writing_to(&self) -> Option<&Path> {
        self.beside.as_deref().or(self.output)
    }

    /// The output rules (the file beside is always replaced).
    pub fn rules(&self) -> FileRules {
        FileRules {
            force: self.rules.force || self.beside.is_some(),
            ..self.rules
        }
    }

    /// Once the file written is complete: swaps it in.
    pub fn settle(&self) -> Result<(), crate::output::OutputError> {
        if let (Some(beside), Some(output)) = (&self.beside, self.output) {
            std::fs::rename(beside, output)
                .map_err(|e| crate::output::OutputError::io(output, e))?;
        }
        Ok(())
    }
}

impl ResultsOptions {
    /// With `--force`, moves an earlier record at the results path aside
    /// (with its journal, intents and created groups) before the run's
    /// first write of its own: the groups its rows need and its mark come
    /// before its results file is opened, and must not land in that
    /// record's files. (Resuming into the file resumed from replaces it
    /// at the end instead; a dry run writes a plan.)
    pub fn set_aside_earlier(&self, inputs: &[&Path]) -> Result<(), crate::output::OutputError> {
        let Some(output) = self.output.as_deref() else {
            return Ok(());
        };
        let resumed_here = self
            .resume
            .as_deref()
            .is_some_and(|resume| crate::output::files::same_file(output, resume));
        if self.dry_run || output == Path::new("-") || resumed_here {
            return Ok(());
        }
        if !self.force && crate::output::results_file::writer::killed_before_results(output) {
            // Its intents would be replaced, and what it created lost.
            return Err(crate::output::OutputError::io(
                output,
                std::io::Error::other(
                    "a run killed before it wrote its first line left its record here (its .intents file): resume it (--resume with this path) or undo it, or --force to set it aside",
                ),
            ));
        }
        if !self.force {
            return Ok(());
        }
        crate::output::results_file::writer::set_aside(output, inputs)
    }

    /// Where a run's own files (snapshot, held changes) go, wherever its
    /// results go: beside the results file, else (results on the screen
    /// or standard output) beside `input`. The way back is always on disk.
    pub fn files_beside<'a>(&'a self, input: &'a Path) -> &'a Path {
        match &self.output {
            Some(output) if output.as_os_str() != "-" => output,
            _ => input,
        }
    }
}

impl<'a> RunSpec<'a> {
    /// The spec of a run recorded as `recording` says, stamped under `stamp`, its rows
    /// repeating `header` of `inputs`; the bar calls the work `phase`.
    pub fn of(
        recording: &'a ResultsOptions,
        (stamp, clock): (&'a RunStamp, &'a RunClock),
        (inputs, header): (&'a [&'a Path], &'a [String]),
        phase: &'static str,
    ) -> Self {
        RunSpec {
            stamp,
            clock,
            dry_run: recording.dry_run,
            output: recording.output.as_deref(),
            rules: FileRules {
                force: recording.force,
                excel: recording.excel,
            },
            inputs,
            header,
            phase,
            apply_memberships: false,
            resume: recording.resume.as_deref(),
            seal: None,
        }
    }
}

/// Runs `rows` through `action`; the run's totals (interrupted or not).
pub async fn run<A>(
    client: &Client,
    run_spec: RunSpec<'_>,
    action: A,
    rows: Vec<DecidedRow<A::Input>>,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunTotals, RunError>
where
    A: RowAction,
    A::Input: Clone + Send + Sync,
{
    let count = rows.len() as u64;
    let rows = Arc::new(rows);
    let source: JobSource<A::Input> = Arc::new(move |emit| {
        for prepared in rows.iter() {
            let job = Job {
                row: prepared.row,
                label: prepared.label.clone(),
                cells: prepared.cells.clone(),
                disposition: prepared.disposition.clone(),
                input: prepared.input.clone(),
            };
            if !emit(job) {
                break;
            }
        }
        Ok(())
    });
    run_source(client, run_spec, action, (source, count), stops, events).await
}

/// Runs the `count` rows `source` reads (as they are read, never all held)
/// through `action`; the run's totals (interrupted or not).
pub async fn run_source<A>(
    client: &Client,
    run_spec: RunSpec<'_>,
    action: A,
    (source, count): (JobSource<A::Input>, u64),
    stops: Stops,
    events: &dyn Events,
) -> Result<RunTotals, RunError>
where
    A: RowAction,
{
    let place = ResultsPlace::of(run_spec.output, run_spec.resume, run_spec.rules);
    let journal_for = run_spec
        .output
        .filter(|o| !run_spec.dry_run && *o != Path::new("-"));
    // A resumed run's journal starts with what the earlier run's journal
    // held (users written, their lines never written): a second kill must
    // not lose them, whichever file the run now writes.
    let resumed = match (run_spec.resume, journal_for) {
        (Some(resume), Some(_)) => {
            let sealed = run_spec.stamp.key.as_ref().map(|key| {
                crate::output::results_file::reader::SealedFor {
                    key,
                    tenant: &run_spec.stamp.tenant,
                }
            });
            crate::output::results_file::reader::Resumed::read(resume, sealed)?
        }
        _ => Default::default(),
    };
    let carried: Vec<&crate::output::results_file::reader::Recorded> = resumed
        .journaled
        .values()
        .filter(|r| r.stamp.tenant == run_spec.stamp.tenant)
        .collect();
    let mut sink = ResultsSink::open(
        place.writing_to(),
        place.rules(),
        (run_spec.inputs, run_spec.header),
        (journal_for, (&carried, &resumed.in_flight)),
        (
            run_spec.stamp.clone(),
            run_spec.seal.filter(|_| run_spec.dry_run),
        ),
    )?;
    events.on(Event::Phase(if run_spec.dry_run {
        "planning"
    } else {
        run_spec.phase
    }));
    let runner = Runner {
        client: client.clone(),
        action: Arc::new(action),
        source,
        rows: count,
        stops,
        events,
        apply_memberships: run_spec.apply_memberships && !run_spec.dry_run,
    };
    let outcome = runner.run(&mut sink).await?;
    let totals = RunTotals::of(
        run_spec.stamp,
        run_spec.clock,
        sink.tally(),
        client,
        run_spec.output,
        RunShape {
            rows: count,
            dry_run: run_spec.dry_run,
            interrupted: outcome.interrupted,
        },
    );
    sink.finish()?;
    place.settle()?;
    Ok(totals)
}
