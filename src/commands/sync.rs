//! `sebulk sync ROSTER`: the nightly HR sync, on the one shell every row
//! command takes.

use super::shell::{RowJob, RunFiles, run_rows};
use super::{CommandError, Completion};
use crate::config::Config;
use crate::row_commands::sync::{self, SyncOptions};
use crate::ui::Ui;

/// Runs a sync (or its dry run).
pub async fn run(
    config: &Config,
    job: RowJob<SyncOptions>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    if options.import.run.dry_run {
        ui.show_rows();
    }
    let input = options.import.input.file.as_path();
    let files = RunFiles {
        input,
        shown: crate::input::reader::shown(input),
        recording: &options.import.run,
        // Leavers are saved to a snapshot first.
        keeps_records: true,
    };
    run_rows(
        config,
        ui,
        (&job, files),
        async |client, stops| sync::run(client, options, stops, ui).await,
        |summary| {
            ui.sync_summary(summary);
            &summary.totals
        },
    )
    .await
}
