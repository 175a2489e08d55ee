//! Where import's and plan's rows end: a results file, a plan file, or
//! (plan without a file) the screen; always the counts for the summary.
//! The file, the journal, its intents and the tally are the engine's one
//! [`Recorder`]; what is import's own is the plan (its lines, the calls
//! it would make, its rows shown in order) and when a written user must
//! be journaled (while its line waits: for earlier rows, or held back
//! until the next line says whether it ends the file).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decision::{Action, PlanAction, RowPlan};
use crate::engine::batcher;
use crate::engine::results_sink::{Recorder, Tallied, Tally};
use crate::engine::runner::{RowSink, RunError};
use crate::formats::neutralize;
use crate::model::{FieldChange, Target, TargetKind};
use crate::output::results_file::reader::{Journal, Recorded};
use crate::output::results_file::writer::RunStamp;
use crate::output::{OrderedCsv, Outcome, RowResult};

/// The plan file's columns, before the input's own.
pub const PLAN_COLUMNS: [&str; 10] = [
    "row",
    "username",
    "action",
    "user_id",
    "changes",
    "groups_add",
    "groups_remove",
    "applications_add",
    "applications_remove",
    "notes",
];

/// What a summary counts: a row's outcome, or (in a plan) its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Counted {
    Outcome(Outcome),
    Planned(PlanAction),
}

impl Tallied for Counted {
    fn as_str(self) -> &'static str {
        match self {
            Counted::Outcome(outcome) => outcome.as_str(),
            Counted::Planned(action) => action.as_str(),
        }
    }

    fn is_clean(self) -> bool {
        match self {
            Counted::Outcome(outcome) => outcome.is_clean(),
            Counted::Planned(action) => action.is_clean(),
        }
    }
}

/// A row's plan, as the screen shows it.
#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub row: u64,
    pub username: String,
    pub action: PlanAction,
    /// Field by field (`field: 'old' → 'new'`), memberships, the reason.
    pub details: Vec<String>,
}

/// Shows one planned row (on the screen).
pub type ShowPlan<'a> = dyn Fn(&PlannedRow) + Sync + 'a;

/// Plans on the screen: the printer, the rows waiting for earlier ones,
/// and the next row to show.
type PlanScreen<'a> = (&'a ShowPlan<'a>, BTreeMap<u64, Option<PlannedRow>>, u64);

/// The rows' destination.
pub struct Sink<'a> {
    /// The file (results or plan), the journal of users written whose
    /// lines the results file does not have yet, the stamp and the tally.
    recorder: Recorder<Counted>,
    dry_run: bool,
    membership_calls: HashMap<(TargetKind, bool, String), u64>,
    own_writes: u64,
    /// Plans shown on the screen instead of a file, in row order.
    show: Option<PlanScreen<'a>>,
}

/// What the sink writes for: the run's shape and stamp.
pub struct SinkSetup<'a> {
    pub dry_run: bool,
    pub rules: crate::output::results_file::writer::FileRules,
    /// Files that must not be written over.
    pub inputs: &'a [&'a Path],
    pub input_header: &'a [String],
    pub stamp: RunStamp,
    /// The results file the journal belongs to (none: no journal).
    pub journal_for: Option<&'a Path>,
    /// What an earlier run's journal and intents hold that no results
    /// settle: users written, and writes that were about to be sent.
    pub carried: (
        &'a [&'a Recorded],
        &'a [crate::output::results_file::intents::Intent],
    ),
    /// What the plan was made from, to seal it with.
    pub seal: crate::output::plan_file::PlanSeal,
}

impl<'a> Sink<'a> {
    /// Opens the results (or plan) file at `path`, if any. `show` prints
    /// plans on the screen when there is no file. A results file on disk
    /// gets a journal beside `journal_for` (the file the results will
    /// finally be), started with `carried`.
    pub fn open(
        path: Option<&Path>,
        target: SinkSetup<'_>,
        show: Option<&'a ShowPlan<'a>>,
    ) -> Result<Self, RunError> {
        let SinkSetup {
            dry_run,
            rules,
            inputs,
            input_header,
            stamp,
            journal_for,
            carried,
            seal,
        } = target;
        let file = match path {
            None => None,
            Some(path) if dry_run => {
                let header = crate::output::plan_file::plan_header(&PLAN_COLUMNS, input_header);
                Some(OrderedCsv::plan(path, rules, inputs, &header, seal)?)
            }
            Some(path) => Some(OrderedCsv::results(
                path,
                rules,
                (inputs, input_header),
                (stamp.key.as_ref(), journal_for),
            )?),
        };
        let journal = match (&file, journal_for) {
            (Some(_), Some(results)) if !dry_run && results != Path::new("-") => {
                Some(Journal::create(results, input_header, carried, &stamp)?)
            }
            _ => None,
        };
        Ok(Sink {
            show: match (&file, show) {
                (None, Some(show)) => Some((show, BTreeMap::new(), 1)),
                _ => None,
            },
            recorder: Recorder::new(file, journal, stamp),
            dry_run,
            membership_calls: HashMap::new(),
            own_writes: 0,
        })
    }

    pub fn tally(&self) -> &Tally<Counted> {
        self.recorder.tally()
    }

    /// The writes an import of the plan would make: own writes plus
    /// coalesced membership calls.
    pub fn estimated_writes(&self) -> u64 {
        let chunk = batcher::CHUNK_SIZE as u64;
        self.own_writes
            + self
                .membership_calls
                .values()
                .map(|n| n.div_ceil(chunk))
                .sum::<u64>()
    }

    fn count_calls(&mut self, plan: &RowPlan) {
        self.own_writes += plan.own_writes();
        for (kind, delta) in [
            (TargetKind::Group, &plan.groups),
            (TargetKind::Application, &plan.applications),
        ] {
            for (add, targets) in [(true, &delta.add), (false, &delta.remove)] {
                for target in targets {
                    *self
                        .membership_calls
                        .entry((kind, add, target.id.clone()))
                        .or_default() += 1;
                }
            }
        }
    }

    /// Flushes and syncs the file; returns where it was written. The
    /// journal goes only once the file is complete.
    pub fn finish(self) -> Result<Option<PathBuf>, RunError> {
        self.recorder.finish()
    }

    /// Records a written user in the journal (when its line must wait).
    fn journal(&mut self, result: &RowResult) -> Result<(), RunError> {
        self.recorder.note(result)
    }

    fn show_in_order(&mut self, row: u64, planned: Option<PlannedRow>) {
        let Some((show, waiting, next)) = &mut self.show else {
            return;
        };
        waiting.insert(row, planned);
        while let Some(planned) = waiting.remove(next) {
            if let Some(planned) = planned {
                show(&planned);
            }
            *next += 1;
        }
    }
}

impl RowSink<RowPlan> for Sink<'_> {
    fn intents(&self) -> Option<std::sync::Arc<crate::output::results_file::intents::Intents>> {
        self.recorder.intents()
    }

    fn keep_what_was_on_the_wire(&mut self) {
        self.recorder.keep_journal();
    }

    fn push(&mut self, result: RowResult, plan: Option<RowPlan>) -> Result<(), RunError> {
        if !self.recorder.take(result.row) {
            return Ok(());
        }
        // Lines are only made for a file or the screen (a rehearsal's
        // rows go nowhere, 100,000 of them for nothing).
        let writing = self.recorder.has_file();
        let (counted, record) = if self.dry_run {
            let action = plan_action(&result, plan.as_ref());
            if let Some(plan) = &plan {
                self.count_calls(plan);
            }
            if self.show.is_some() {
                let planned = (!matches!(action, PlanAction::Unchanged | PlanAction::Filtered))
                    .then(|| PlannedRow {
                        row: result.row,
                        username: result.username.clone(),
                        action,
                        details: details(&result, plan.as_ref()),
                    });
                self.show_in_order(result.row, planned);
            }
            (
                Counted::Planned(action),
                writing.then(|| plan_record(&result, plan.as_ref(), action)),
            )
        } else {
            let waits = self.recorder.waits(result.row);
            if waits && matches!(result.outcome, Outcome::Created | Outcome::Updated) {
                self.journal(&result)?;
            }
            (
                Counted::Outcome(result.outcome),
                writing.then(|| result.record(self.recorder.stamp())),
            )
        };
        self.recorder.count(&result, counted);
        match record {
            Some(record) => self.recorder.write(result.row, record),
            None => Ok(()),
        }
    }

    fn contains(&self, row: u64) -> bool {
        self.recorder.contains(row)
    }

    fn count(&self) -> u64 {
        self.recorder.len()
    }

    fn note_written(&mut self, result: &RowResult) -> Result<(), RunError> {
        self.journal(result)
    }
}

/// What a plan says of a row.
fn plan_action(result: &RowResult, plan: Option<&RowPlan>) -> PlanAction {
    match (result.outcome, plan) {
        (Outcome::Invalid, _) => PlanAction::Invalid,
        (Outcome::Filtered, _) => PlanAction::Filtered,
        (_, Some(plan)) => plan.action.planned(),
        (Outcome::NotAttempted, None) => PlanAction::NotAttempted,
        _ => PlanAction::Fail,
    }
}

fn names(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| t.name.clone())
        .collect::<Vec<_>>()
        .join(";")
}

/// The plan's reason and notes for a row.
fn notes(result: &RowResult, plan: Option<&RowPlan>) -> Vec<String> {
    let Some(plan) = plan else {
        return vec![result.error.clone()]
            .into_iter()
            .filter(|e| !e.is_empty())
            .collect();
    };
    let mut notes = plan.notes.clone();
    notes.extend(plan.kept.iter().cloned());
    if let Action::Refuse { reason, .. } | Action::Skip { reason, .. } = &plan.action {
        notes.insert(0, reason.clone());
    }
    notes
}

/// The lines the screen shows under a planned row.
fn details(result: &RowResult, plan: Option<&RowPlan>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(plan) = plan {
        lines.extend(
            plan.changes
                .iter()
                .map(|c| FieldChange::format(std::slice::from_ref(c))),
        );
        for (what, delta) in [
            ("groups", &plan.groups),
            ("applications", &plan.applications),
        ] {
            if !delta.add.is_empty() {
                lines.push(format!("{what} + {}", names(&delta.add)));
            }
            if !delta.remove.is_empty() {
                lines.push(format!("{what} - {}", names(&delta.remove)));
            }
        }
    }
    lines.extend(notes(result, plan));
    lines
}

fn plan_record(result: &RowResult, plan: Option<&RowPlan>, action: PlanAction) -> Vec<String> {
    let mut record = vec![
        result.row.to_string(),
        result.username.clone(),
        action.as_str().to_string(),
        result.user_id.clone(),
    ];
    match plan {
        Some(plan) => {
            record.extend([
                FieldChange::format(&plan.changes),
                names(&plan.groups.add),
                names(&plan.groups.remove),
                names(&plan.applications.add),
                names(&plan.applications.remove),
                notes(result, Some(plan)).join("; "),
            ]);
        }
        None => {
            record.extend(std::iter::repeat_n(String::new(), 5));
            record.push(result.error.clone());
        }
    }
    record.extend(result.planned_cells());
    record.extend(result.cells.iter().cloned());
    record
        .into_iter()
        .map(|cell| neutralize(&cell).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Refusal;
    use crate::decision::decide::MembershipDelta;

    fn plan(action: Action) -> RowPlan {
        RowPlan {
            action,
            changes: vec![FieldChange {
                field: "department".into(),
                old: "Sales".into(),
                new: "=Ops".into(),
            }],
            groups: MembershipDelta {
                add: vec![Target::new("g1", "Sales")],
                remove: Vec::new(),
            },
            applications: MembershipDelta::default(),
            notes: vec!["a note".into()],
            kept: Vec::new(),
        }
    }

    #[test]
    fn plan_actions_and_records() {
        let result = RowResult::new(3, "ana", Outcome::NotAttempted, vec!["ana".into()]);
        let conflict = RowPlan::refuse(None, Refusal::Conflict, "conflict: x".into());
        assert_eq!(plan_action(&result, Some(&conflict)), PlanAction::Conflict);
        let unknown = RowPlan::refuse(None, Refusal::UnknownTarget, "unknown group".into());
        assert_eq!(plan_action(&result, Some(&unknown)), PlanAction::Fail);
        assert_eq!(plan_action(&result, None), PlanAction::NotAttempted);
        let mut invalid = result.clone();
        invalid.outcome = Outcome::Invalid;
        assert_eq!(plan_action(&invalid, None), PlanAction::Invalid);

        let update = plan(Action::Update {
            user_id: "u1".into(),
            body: None,
            reset_password: None,
        });
        let record = plan_record(&result, Some(&update), PlanAction::Update);
        assert_eq!(record.len(), PLAN_COLUMNS.len() + 3);
        assert_eq!(record[2], "update");
        assert_eq!(record[4], "department: \"Sales\" → \"=Ops\"");
        assert_eq!(record[5], "Sales");
        assert_eq!(record[9], "a note");
        let lines = details(&result, Some(&update));
        assert_eq!(lines[0], "department: \"Sales\" → \"=Ops\"");
        assert_eq!(lines[1], "groups + Sales");
    }
}
