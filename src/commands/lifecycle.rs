//! The lifecycle commands: `offboard` (and `approve`: leavers taken out
//! under guard rails, with a snapshot first), `restore` (given back from
//! that snapshot), `passwords` (set or reset in bulk), `groups import`,
//! `memberships import` and `undo`. Each is a [`Lifecycle`]: the file it
//! reads, its run, and how its summary is shown; [`run`] takes any of
//! them through the one shell every row command takes.

use std::path::Path;

use super::shell::{RowJob, RunFiles, run_rows};
use super::{CommandError, Completion};
use crate::api::Client;
use crate::config::Config;
use crate::engine::decided_rows::ResultsOptions;
use crate::engine::results_sink::RunTotals;
use crate::engine::{RunEnd, RunError, Stops};
use crate::events::Events;
use crate::row_commands::apply::{self, ApplyOptions, ApplySummary};
use crate::row_commands::groups::{self, GroupsOptions, GroupsSummary};
use crate::row_commands::memberships::{self, MembershipsOptions, MembershipsSummary};
use crate::row_commands::offboard::{self, OffboardOptions, OffboardSummary};
use crate::row_commands::passwords::{self, PasswordsOptions, PasswordsSummary};
use crate::row_commands::restore::{self, RestoreOptions, RestoreSummary};
use crate::row_commands::undo::{self, UndoOptions, UndoSummary};
use crate::ui::Ui;

/// A lifecycle command, resolved: its options and where its summary goes.
pub type LifecycleJob<O> = RowJob<O>;

/// A lifecycle command as the shell runs it.
pub(crate) trait Lifecycle {
    type Summary: serde::Serialize;

    /// The file the run reads (never written over).
    fn input(&self) -> &Path;

    /// Where its results go.
    fn recording(&self) -> &ResultsOptions;

    /// What must hold before anything is sent.
    fn check(&self) -> Result<(), CommandError> {
        Ok(())
    }

    /// The run (or its dry run).
    async fn run(
        &self,
        client: Client,
        stops: Stops,
        events: &dyn Events,
    ) -> Result<RunEnd<Self::Summary>, RunError>;

    /// Shows the summary.
    fn show(summary: &Self::Summary, ui: &Ui);

    /// The totals every run shares.
    fn totals(summary: &Self::Summary) -> &RunTotals;
}

/// Runs a lifecycle command (or its dry run).
pub async fn run<O: Lifecycle>(
    config: &Config,
    job: LifecycleJob<O>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let options = &job.options;
    options.check()?;
    if options.recording().dry_run {
        ui.show_rows();
    }
    let input = options.input();
    let files = RunFiles {
        input,
        shown: crate::input::reader::shown(input),
        recording: options.recording(),
        // Offboarding, apply, groups --prune and undo save snapshots or held changes.
        keeps_records: true,
    };
    run_rows(
        config,
        ui,
        (&job, files),
        async |client, stops| options.run(client, stops, ui).await,
        |summary| {
            O::show(summary, ui);
            O::totals(summary)
        },
    )
    .await
}

/// Implements [`Lifecycle`] for a command's options: the file it reads
/// (`|options| ...`), its run on the engine, and how its summary is
/// shown (`|summary, ui| ...`); `check` when something must hold first.
macro_rules! lifecycle {
    ($options:ty => $summary:ty, input: |$o:ident| $input:expr, run: $run:path,
     show: |$s:ident, $ui:ident| $show:expr $(, check: $check:path)?) => {
        impl Lifecycle for $options {
            type Summary = $summary;

            fn input(&self) -> &Path {
                let $o = self;
                $input
            }

            fn recording(&self) -> &ResultsOptions {
                &self.run
            }

            $(fn check(&self) -> Result<(), CommandError> {
                $check(self)
            })?

            async fn run(
                &self,
                client: Client,
                stops: Stops,
                events: &dyn Events,
            ) -> Result<RunEnd<$summary>, RunError> {
                $run(client, self, stops, events).await
            }

            fn show(summary: &$summary, ui: &Ui) {
                let ($s, $ui) = (summary, ui);
                $show
            }

            fn totals(summary: &$summary) -> &RunTotals {
                &summary.totals
            }
        }
    };
}

/// A summary that is its title, its counts and `notes`.
fn titled(ui: &Ui, title: String, totals: &RunTotals, notes: Vec<String>) {
    ui.lifecycle_summary(title, totals, notes);
}

lifecycle!(OffboardOptions => OffboardSummary,
    input: |o| o.who.file(),
    run: offboard::run,
    show: |s, ui| ui.offboard_summary(s));

lifecycle!(RestoreOptions => RestoreSummary,
input: |o| &o.snapshot,
run: restore::run,
show: |s, ui| {
    let notes = s
        .earlier_snapshots
        .iter()
        .map(|e| {
            format!(
                "{} of these users had been offboarded before this snapshot was taken ({}, at {}): they come back as that left them; then sebulk restore {} gives back what they had before it",
                e.users, e.purpose, e.taken_at, e.path
            )
        })
        .collect();
    let title = format!("restore of {} into {}", s.snapshot, s.totals.tenant);
    titled(ui, title, &s.totals, notes)
});

lifecycle!(PasswordsOptions => PasswordsSummary,
    input: |o| &o.input.file,
    run: passwords::run,
    show: |s, ui| {
        let title = format!("passwords from {} in {}", s.input, s.totals.tenant);
        titled(ui, title, &s.totals, Vec::new())
    },
    check: check_private);

lifecycle!(GroupsOptions => GroupsSummary,
input: |o| &o.file,
run: groups::run,
show: |s, ui| {
    let notes = s
        .snapshot
        .iter()
        .map(|path| format!("every group pruned was saved first: sebulk restore {path} gives them back"))
        .collect();
    let title = format!("groups from {} in {}", s.input, s.totals.tenant);
    titled(ui, title, &s.totals, notes)
});

lifecycle!(MembershipsOptions => MembershipsSummary,
input: |o| &o.file,
run: memberships::run,
show: |s, ui| {
    let notes = vec![format!("members of {} groups and applications read", s.targets_read)];
    let title = format!("memberships from {} in {}", s.input, s.totals.tenant);
    titled(ui, title, &s.totals, notes)
});

lifecycle!(ApplyOptions => ApplySummary,
input: |o| &o.plan,
run: apply::run,
show: |s, ui| {
    let mut notes = Vec::new();
    if s.drifted > 0 {
        notes.push(format!("{} rows drifted since the plan and were skipped", s.drifted));
    }
    if let Some(path) = &s.snapshot {
        notes.push(format!("leavers were saved first: sebulk restore {path} gives them back"));
    }
    let title = format!("plan {} ({} of {}) applied to {}", s.plan, s.command, s.input, s.totals.tenant);
    titled(ui, title, &s.totals, notes)
});

lifecycle!(UndoOptions => UndoSummary,
    input: |o| &o.results,
    run: undo::run,
    show: |s, ui| ui.undo_summary(s));

/// Refuses a file holding passwords that others on this machine can read.
fn check_private(options: &PasswordsOptions) -> Result<(), CommandError> {
    match super::readable_secrets(&options.input.file, &options.input.read)? {
        Some(why) => Err(CommandError::usage(format!(
            "{why}: chmod 600 it first, and delete it when done"
        ))),
        None => Ok(()),
    }
}
