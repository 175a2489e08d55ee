//! The lifecycle commands: `offboard` (leavers taken out under guard rails,
//! with a snapshot first), `restore` (given back from that snapshot) and
//! `passwords` (set or reset in bulk).

use std::path::PathBuf;

use super::config::Config;
use super::{CommandError, Completion, Connection, signals, write_json};
use crate::pipeline::groups::{self, GroupsOptions};
use crate::pipeline::offboard::{self, Ended, OffboardOptions};
use crate::pipeline::passwords::{self, PasswordsOptions};
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
    Ok(completion(interrupted, summary.totals.all_succeeded()))
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
    ui.lifecycle_summary(
        format!(
            "restore of {} into {}",
            summary.snapshot, summary.totals.tenant
        ),
        &summary.totals,
        Vec::new(),
    );
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
    Ok(completion(interrupted, summary.totals.all_succeeded()))
}

/// A password run, resolved.
#[derive(Debug, Clone)]
pub struct PasswordsJob {
    pub options: PasswordsOptions,
    pub summary_json: Option<PathBuf>,
    pub json: bool,
}

/// Refuses a file holding passwords that others on this machine can read.
fn check_private(options: &PasswordsOptions) -> Result<(), CommandError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = &options.input.file;
        if file.as_os_str() == "-" {
            return Ok(());
        }
        let header = crate::input::CsvSource::open(file, &options.input.read)?
            .header()
            .to_vec();
        let holds_passwords = header
            .iter()
            .any(|name| crate::input::columns::column_for(name).is_some_and(|c| c.is_secret()));
        let mode = std::fs::metadata(file)
            .map_err(|e| CommandError::io(format!("cannot read {}", file.display()), e))?
            .permissions()
            .mode();
        if holds_passwords && mode & 0o004 != 0 {
            return Err(CommandError::usage(format!(
                "{} holds passwords and every user of this machine can read it (mode {:o}): chmod 600 it first, and delete it when done",
                file.display(),
                mode & 0o777
            )));
        }
    }
    let _ = options;
    Ok(())
}

/// Runs a password run (or its dry run).
pub async fn passwords(
    config: &Config,
    job: PasswordsJob,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let PasswordsJob {
        options,
        summary_json,
        json,
    } = job;
    super::distinct_files(&[
        ("input", Some(options.input.file.as_path())),
        ("results", options.output.as_deref()),
        ("summary", summary_json.as_deref()),
    ])?;
    check_private(&options)?;
    if options.dry_run {
        ui.show_rows();
    }
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let ended = passwords::run(connection.client.clone(), &options, stops, ui).await;
    let fatal = connection.client.fatal_error();
    connection.close().await?;
    let (summary, interrupted) = ended?;
    ui.lifecycle_summary(
        format!(
            "passwords from {} in {}",
            summary.input, summary.totals.tenant
        ),
        &summary.totals,
        Vec::new(),
    );
    let mut taken = vec![options.input.file.as_path()];
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
    Ok(completion(interrupted, summary.totals.all_succeeded()))
}

/// A groups import, resolved.
#[derive(Debug, Clone)]
pub struct GroupsJob {
    pub options: GroupsOptions,
    pub summary_json: Option<PathBuf>,
    pub json: bool,
}

/// Runs a groups import (or its dry run).
pub async fn groups(config: &Config, job: GroupsJob, ui: &Ui) -> Result<Completion, CommandError> {
    let GroupsJob {
        options,
        summary_json,
        json,
    } = job;
    super::distinct_files(&[
        ("input", Some(options.file.as_path())),
        ("results", options.output.as_deref()),
        ("summary", summary_json.as_deref()),
    ])?;
    if options.dry_run {
        ui.show_rows();
    }
    let connection = Connection::open(config).await?;
    let client = connection.client.clone();
    let (stops, _watch) = signals::watch(move || client.throttle().stop("interrupted"));
    let ended = groups::run(connection.client.clone(), &options, stops, ui).await;
    let fatal = connection.client.fatal_error();
    connection.close().await?;
    let (summary, interrupted) = ended?.map_err(|refusal| {
        ui.finish_progress();
        CommandError::Refused(refusal)
    })?;
    let mut notes = Vec::new();
    if let Some(path) = &summary.snapshot {
        notes.push(format!(
            "every group pruned was saved first: sebulk restore {path} gives them back"
        ));
    }
    ui.lifecycle_summary(
        format!("groups from {} in {}", summary.input, summary.totals.tenant),
        &summary.totals,
        notes,
    );
    let mut taken = vec![options.file.as_path()];
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
    Ok(completion(interrupted, summary.totals.all_succeeded()))
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
