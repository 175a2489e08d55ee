//! The lifecycle commands: `offboard` (leavers taken out under guard
//! rails, with a snapshot first), `restore` (given back from that
//! snapshot), `passwords` (set or reset in bulk), `groups import` and
//! `memberships import`. They share one shape: check the files, connect,
//! watch for signals, run, print the summary, write it as JSON if asked,
//! turn the outcome into an exit code.

use std::path::Path;

use super::shell::{RowJob, RunFiles, run_rows};
use super::{CommandError, Completion};
use crate::api::Client;
use crate::config::Config;
use crate::pipeline::groups::{self, GroupsOptions};
use crate::pipeline::memberships::{self, MembershipsOptions};
use crate::pipeline::offboard::{self, OffboardOptions};
use crate::pipeline::passwords::{self, PasswordsOptions};
use crate::pipeline::prepared::Recording;
use crate::pipeline::restore::{self, RestoreOptions};
use crate::pipeline::results_sink::RunTotals;
use crate::pipeline::undo::{self, UndoOptions};
use crate::pipeline::{Ended, RunError, Stops};
use crate::ui::Ui;

/// A lifecycle command, resolved: its options and where its summary goes.
pub type LifecycleJob<O> = RowJob<O>;

/// Runs `job` (reading `input`) through the row commands' shell, showing its summary with `show`.
async fn run_lifecycle<O, S: serde::Serialize>(
    config: &Config,
    ui: &Ui,
    (job, input, recording): (&LifecycleJob<O>, &Path, &Recording),
    run: impl AsyncFnOnce(Client, Stops) -> Result<Ended<S>, RunError>,
    show: impl FnOnce(&S) -> &RunTotals,
) -> Result<Completion, CommandError> {
    if recording.dry_run {
        ui.show_rows();
    }
    let files = RunFiles {
        input,
        shown: crate::input::reader::shown(input),
        recording,
    };
    run_rows(config, ui, (job, files), run, show).await
}

/// Runs an offboarding (or its dry run).
pub async fn offboard(
    config: &Config,
    job: LifecycleJob<OffboardOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    let input = options.who.file();
    run_lifecycle(
        config,
        ui,
        (&job, input, &job.options.run),
        async |client, stops| offboard::run(client, options, stops, ui).await,
        |summary| {
            ui.offboard_summary(summary);
            &summary.totals
        },
    )
    .await
}

/// Runs a restore (or its dry run).
pub async fn restore(
    config: &Config,
    job: LifecycleJob<RestoreOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    run_lifecycle(
        config,
        ui,
        (&job, &options.snapshot, &options.run),
        async |client, stops| restore::run(client, options, stops, ui).await,
        |summary| {
            let title = format!(
                "restore of {} into {}",
                summary.snapshot, summary.totals.tenant
            );
            ui.lifecycle_summary(title, &summary.totals, Vec::new());
            &summary.totals
        },
    )
    .await
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
    job: LifecycleJob<PasswordsOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    check_private(options)?;
    run_lifecycle(
        config,
        ui,
        (&job, &options.input.file, &options.run),
        async |client, stops| passwords::run(client, options, stops, ui).await,
        |summary| {
            let title = format!(
                "passwords from {} in {}",
                summary.input, summary.totals.tenant
            );
            ui.lifecycle_summary(title, &summary.totals, Vec::new());
            &summary.totals
        },
    )
    .await
}

/// Runs a groups import (or its dry run).
pub async fn groups(
    config: &Config,
    job: LifecycleJob<GroupsOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    run_lifecycle(
        config,
        ui,
        (&job, &options.file, &options.run),
        async |client, stops| groups::run(client, options, stops, ui).await,
        |summary| {
            let mut notes = Vec::new();
            if let Some(path) = &summary.snapshot {
                notes.push(format!(
                    "every group pruned was saved first: sebulk restore {path} gives them back"
                ));
            }
            let title = format!("groups from {} in {}", summary.input, summary.totals.tenant);
            ui.lifecycle_summary(title, &summary.totals, notes);
            &summary.totals
        },
    )
    .await
}

/// Runs a memberships import (or its dry run).
pub async fn memberships(
    config: &Config,
    job: LifecycleJob<MembershipsOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    run_lifecycle(
        config,
        ui,
        (&job, &options.file, &options.run),
        async |client, stops| memberships::run(client, options, stops, ui).await,
        |summary| {
            let notes = vec![format!(
                "members of {} groups and applications read",
                summary.targets_read
            )];
            let title = format!(
                "memberships from {} in {}",
                summary.input, summary.totals.tenant
            );
            ui.lifecycle_summary(title, &summary.totals, notes);
            &summary.totals
        },
    )
    .await
}

/// Runs an undo (or its dry run).
pub async fn undo(
    config: &Config,
    job: LifecycleJob<UndoOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    run_lifecycle(
        config,
        ui,
        (&job, &options.results, &options.run),
        async |client, stops| undo::run(client, options, stops, ui).await,
        |summary| {
            ui.undo_summary(summary);
            &summary.totals
        },
    )
    .await
}
