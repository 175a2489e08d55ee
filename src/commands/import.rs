//! `sebulk import FILE` and `sebulk plan FILE`: the main job and its dry run.

use std::path::{Path, PathBuf};

use super::config::Config;
use super::{CommandError, Completion, Connection, signals, write_json};
use crate::pipeline::import::{self, Ended, ImportOptions, PlannedRow, ShowPlan};
use crate::ui::Ui;

/// An import or plan, resolved.
#[derive(Debug, Clone)]
pub struct ImportJob {
    pub options: ImportOptions,
    /// `--summary-json FILE` (`-` for standard output).
    pub summary_json: Option<PathBuf>,
    /// `--json`: the summary on standard output.
    pub json: bool,
}

/// Runs an import or plan.
pub async fn run(config: &Config, job: ImportJob, ui: &Ui) -> Result<Completion, CommandError> {
    let ImportJob {
        mut options,
        summary_json,
        json,
    } = job;
    check_files(&options, summary_json.as_deref(), json)?;
    // The input is read twice (check everything, then apply), so standard
    // input is first copied to a private temporary file.
    let spooled = if options.input.file == Path::new("-") {
        let spooled = spool_stdin()?;
        options.input.file = spooled.path().to_path_buf();
        Some(spooled)
    } else {
        None
    };
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let show = |planned: &PlannedRow| ui.planned_row(planned);
    let show: Option<&ShowPlan<'_>> =
        (options.run.dry_run && options.run.output.is_none()).then_some(&show as &ShowPlan<'_>);
    let ended = import::run(connection.client.clone(), &options, stops, ui, show).await;
    let fatal = connection.client.fatal_error();
    let sandbox = connection.sandbox_note();
    connection.close().await?;
    let input_name = if spooled.is_some() {
        "standard input".to_string()
    } else {
        crate::input::reader::shown(&options.input.file)
    };
    let (mut summary, interrupted) = match ended? {
        Ended::Refused(first) => {
            ui.refused(&first, &input_name);
            return Ok(Completion::WithProblems);
        }
        Ended::Finished(summary) => (summary, false),
        Ended::Interrupted(summary) => (summary, true),
    };
    summary.input = input_name;
    ui.import_summary(&summary, sandbox.as_deref());
    let mut taken = vec![options.input.file.as_path()];
    taken.extend(options.run.output.as_deref());
    if let Some(path) = &summary_json {
        write_json(path, &summary, options.run.force, &taken)?;
    }
    if json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    if let Some(error) = fatal {
        // Every row has its outcome in the results; the run itself failed.
        return Err(error.into());
    }
    Ok(if interrupted {
        Completion::Interrupted
    } else if summary.all_succeeded() {
        Completion::Clean
    } else {
        Completion::WithProblems
    })
}

/// Refuses, before anything is read or sent, files that would collide
/// (the results over the input, two outputs on standard output) or be
/// replaced without `--force`.
fn check_files(
    options: &crate::pipeline::import::ImportOptions,
    summary_json: Option<&Path>,
    json: bool,
) -> Result<(), CommandError> {
    super::distinct_files(&[
        ("input", Some(options.input.file.as_path())),
        ("results", options.run.output.as_deref()),
        ("summary", summary_json),
        ("resumed results", options.run.resume.as_deref()),
    ])
    .or_else(|err| match (&options.run.resume, &options.run.output) {
        // Resuming into the results resumed from is allowed (written beside, swapped).
        (Some(resume), Some(output)) if crate::output::files::same_file(resume, output) => {
            super::distinct_files(&[
                ("input", Some(options.input.file.as_path())),
                ("results", options.run.output.as_deref()),
                ("summary", summary_json),
            ])
        }
        _ => Err(err),
    })?;
    if let Some(path) = summary_json {
        crate::output::files::check_output(path, options.run.force, &[])?;
    }
    if let Some(path) = &options.report_missing {
        let others = [
            ("input", Some(options.input.file.as_path())),
            ("results", options.run.output.as_deref()),
            ("summary", summary_json),
            ("missing-users report", Some(path.as_path())),
        ];
        super::distinct_files(&others)?;
        if path == Path::new("-") {
            return Err(CommandError::usage(
                "--report-missing needs a file (it is a leavers file for `sebulk offboard`)",
            ));
        }
        crate::output::files::check_output(path, options.run.force, &[])?;
    }
    let stdout_taken = options.run.output.as_deref() == Some(Path::new("-"));
    if stdout_taken && (json || summary_json == Some(Path::new("-"))) {
        return Err(CommandError::usage(
            "the results (-o -) and the JSON summary cannot both go to standard output",
        ));
    }
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
