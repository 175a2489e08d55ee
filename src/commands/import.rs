//! `sebulk import FILE` and `sebulk plan FILE`: the main job and its dry run.

use std::path::Path;

use super::shell::{RowJob, RunFiles, run_rows};
use super::{CommandError, Completion};
use crate::config::Config;
use crate::engine::upsert::UpsertOptions;
use crate::row_commands::import::{self, PlannedRow, ShowPlan};
use crate::ui::Ui;

/// An import or plan, resolved.
pub type ImportJob = RowJob<UpsertOptions>;

/// Runs an import or plan.
pub async fn run(config: &Config, mut job: ImportJob, ui: &Ui) -> Result<Completion, CommandError> {
    check_report_missing(&job)?;
    // The input is read twice (check everything, then apply), so standard
    // input is first copied to a private temporary file.
    let from_stdin = job.options.input.file == Path::new("-");
    let spooled = if from_stdin {
        let spooled = spool_stdin()?;
        job.options.input.file = spooled.path().to_path_buf();
        Some(spooled)
    } else {
        None
    };
    let options = &job.options;
    if let Some(why) = super::readable_secrets(&options.input.file, &options.input.read)? {
        ui.warn(format!("{why}: chmod 600 it, and delete it when done"));
    }
    let shown = if from_stdin {
        "standard input".to_string()
    } else {
        crate::input::reader::shown(&options.input.file)
    };
    let files = RunFiles {
        input: &options.input.file,
        shown: shown.clone(),
        recording: &options.run,
        // An import keeps no snapshot.
        keeps_records: false,
    };
    let show_plan = |planned: &PlannedRow| ui.planned_row(planned);
    let show_plan: Option<&ShowPlan<'_>> = (options.run.dry_run && options.run.output.is_none())
        .then_some(&show_plan as &ShowPlan<'_>);
    let completion = run_rows(
        config,
        ui,
        (&job, files),
        async |client, stops| {
            let ended = import::run(client, options, stops, ui, show_plan).await?;
            Ok(ended.map(|mut summary| {
                summary.input = shown.clone();
                summary
            }))
        },
        |summary| {
            ui.import_summary(summary);
            &summary.totals
        },
    )
    .await;
    drop(spooled);
    completion
}

/// Refuses a missing-users report that would collide with the run's
/// other files, go to standard output, or replace a file without `--force`.
fn check_report_missing(job: &ImportJob) -> Result<(), CommandError> {
    let options = &job.options;
    let Some(path) = &options.report_missing else {
        return Ok(());
    };
    super::distinct_files(&[
        ("input", Some(options.input.file.as_path())),
        ("results", options.run.output.as_deref()),
        ("summary", job.summary_json.as_deref()),
        ("missing-users report", Some(path.as_path())),
    ])?;
    if path == Path::new("-") {
        return Err(CommandError::usage(
            "--report-missing needs a file (it is a leavers file for `sebulk offboard`)",
        ));
    }
    crate::output::files::check_output(path, options.run.force, &[])?;
    Ok(())
}

/// Copies standard input to a private temporary file (deleted on drop).
fn spool_stdin() -> Result<tempfile::NamedTempFile, CommandError> {
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| CommandError::io("cannot create a temporary file", e))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .map_err(|e| CommandError::io("cannot read standard input", e))?;
    Ok(file)
}
