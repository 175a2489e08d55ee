//! `sebulk sync ROSTER`: the nightly HR sync, on the one shell every row
//! command takes.

use super::shell::{Refusal, RowJob, RunFiles, run_rows};
use super::{CommandError, Completion};
use crate::config::Config;
use crate::pipeline::sync::{self, Refused, SyncOptions};
use crate::ui::Ui;

/// The roster's invalid rows end as an import's do (listed, exit 3); the
/// guard's refusal as every guard's (exit 1).
impl Refusal for Refused {
    fn reason(&self) -> String {
        match self {
            Refused::Rows(first) => first.reason(),
            Refused::Guard(why) => why.reason(),
        }
    }

    fn end(self, ui: &Ui, input: &str) -> Result<Completion, CommandError> {
        match self {
            Refused::Rows(first) => first.end(ui, input),
            Refused::Guard(why) => why.end(ui, input),
        }
    }
}

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
