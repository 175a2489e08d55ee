//! `sebulk offboard` and `sebulk restore`: leavers taken out under guard
//! rails with a snapshot first, and given back from that snapshot.

use std::path::PathBuf;

use super::config::Config;
use super::{CommandError, Completion, Connection, signals, write_json};
use crate::pipeline::offboard::{self, Ended, OffboardOptions};
use crate::pipeline::restore::{self, RestoreOptions};
use crate::ui::Ui;

/// An offboarding, resolved.
#[derive(Debug, Clone)]
pub struct OffboardJob {
    pub options: OffboardOptions,
    pub summary_json: Option<PathBuf>,
    pub json: bool,
}

/// Runs an offboarding (or its dry run).
pub async fn offboard(
    config: &Config,
    job: OffboardJob,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let OffboardJob {
        options,
        summary_json,
        json,
    } = job;
    let input = match &options.who {
        offboard::Who::Named(spec) | offboard::Who::Roster(spec) => spec.file.clone(),
    };
    super::distinct_files(&[
        ("input", Some(input.as_path())),
        ("results", options.output.as_deref()),
        ("summary", summary_json.as_deref()),
    ])?;
    if let Some(path) = &summary_json {
        crate::output::files::check_output(path, options.force, &[])?;
    }
    if options.dry_run {
        ui.show_rows();
    }
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let ended = offboard::run(connection.client.clone(), &options, stops, ui).await;
    let fatal = connection.client.fatal_error();
    connection.close().await?;
    let (summary, interrupted) = match ended? {
        Ended::Refused(reason) => {
            ui.finish_progress();
            return Err(CommandError::Refused(reason));
        }
        Ended::Finished(summary) => (summary, false),
        Ended::Interrupted(summary) => (summary, true),
    };
    ui.offboard_summary(&summary);
    let mut taken = vec![input.as_path()];
    taken.extend(options.output.as_deref());
    if let Some(path) = &summary_json {
        write_json(path, &summary, options.force, &taken)?;
    }
    if json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    if let Some(error) = fatal {
        return Err(error.into());
    }
    Ok(completion(interrupted, summary.all_succeeded()))
}

/// A restore, resolved.
#[derive(Debug, Clone)]
pub struct RestoreJob {
    pub options: RestoreOptions,
    pub summary_json: Option<PathBuf>,
    pub json: bool,
}

/// Runs a restore (or its dry run).
pub async fn restore(
    config: &Config,
    job: RestoreJob,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let RestoreJob {
        options,
        summary_json,
        json,
    } = job;
    super::distinct_files(&[
        ("snapshot", Some(options.snapshot.as_path())),
        ("results", options.output.as_deref()),
        ("summary", summary_json.as_deref()),
    ])?;
    if options.dry_run {
        ui.show_rows();
    }
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let ended = restore::run(connection.client.clone(), &options, stops, ui).await;
    let fatal = connection.client.fatal_error();
    connection.close().await?;
    let (summary, interrupted) = ended?;
    ui.restore_summary(&summary);
    let mut taken = vec![options.snapshot.as_path()];
    taken.extend(options.output.as_deref());
    if let Some(path) = &summary_json {
        write_json(path, &summary, options.force, &taken)?;
    }
    if json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    if let Some(error) = fatal {
        return Err(error.into());
    }
    Ok(completion(interrupted, summary.all_succeeded()))
}

fn completion(interrupted: bool, clean: bool) -> Completion {
    if interrupted {
        Completion::Interrupted
    } else if clean {
        Completion::Clean
    } else {
        Completion::WithProblems
    }
}
