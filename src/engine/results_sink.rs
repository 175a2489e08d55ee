//! Where every run's rows are recorded. One [`Recorder`] holds what all
//! sinks share: the ordered file (results or a plan), the journal of
//! users written and the intents of writes about to be sent, the run's
//! stamp, and the tally (each row counted once whatever order it
//! finishes in, the first failures named for the summary). The
//! [`ResultsSink`] of the commands that decide their rows up front
//! (offboard, restore, passwords, groups, memberships, apply, sync,
//! undo) is a recorder writing one line per row, counted by outcome;
//! import's sink, which also writes plans and shows them, is another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::runner::{RowSink, RunError};
use crate::output::results_file::reader::Journal;
use crate::output::results_file::writer::RunStamp;
use crate::output::{OrderedCsv, Outcome, RowResult};

/// Row numbers seen, kept small: rows arrive nearly in order, so only the
/// ones ahead of the contiguous prefix are stored.
#[derive(Debug, Default)]
struct RowSet {
    done_through: u64,
    ahead: std::collections::BTreeSet<u64>,
}

impl RowSet {
    /// Adds `row`; false if it was there already.
    fn insert(&mut self, row: u64) -> bool {
        if self.contains(row) {
            return false;
        }
        self.ahead.insert(row);
        while self.ahead.remove(&(self.done_through + 1)) {
            self.done_through += 1;
        }
        true
    }

    fn contains(&self, row: u64) -> bool {
        row <= self.done_through || self.ahead.contains(&row)
    }

    fn len(&self) -> u64 {
        self.done_through + self.ahead.len() as u64
    }
}

/// What a row is counted as: its outcome, or in a plan its planned action.
pub trait Tallied: Copy + Ord + serde::Serialize {
    /// Whether a row counted so went as asked.
    fn is_clean(self) -> bool;
    fn as_str(self) -> &'static str;
}

impl Tallied for Outcome {
    fn is_clean(self) -> bool {
        Outcome::is_clean(self)
    }

    fn as_str(self) -> &'static str {
        Outcome::as_str(self)
    }
}

/// How many failed rows the summary names.
pub const NAMED_FAILURES: usize = 20;

/// What every sink keeps for the summary: each row once, counted by what
/// it came to, and the first failed rows named.
#[derive(Debug)]
pub struct Tally<K> {
    pushed: RowSet,
    pub counts: BTreeMap<K, u64>,
    /// The first failed rows: (row, label, reason).
    pub failures: Vec<(u64, String, String)>,
    /// Rows the run resumed from did (counted by their outcome too).
    pub carried: u64,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            pushed: RowSet::default(),
            counts: BTreeMap::new(),
            failures: Vec::new(),
            carried: 0,
        }
    }
}

impl<K: Tallied> Tally<K> {
    /// Takes `row` for the first time (false: it was counted already).
    pub fn take(&mut self, row: u64) -> bool {
        self.pushed.insert(row)
    }

    /// Counts `result` as `counted`, naming it among the failures if it
    /// is one of the first.
    pub fn count(&mut self, result: &RowResult, counted: K) {
        if !result.done_by.is_empty() {
            self.carried += 1;
        }
        if !counted.is_clean() && self.failures.len() < NAMED_FAILURES {
            let reason = if result.error.is_empty() {
                counted.as_str().to_string()
            } else {
                result.error.clone()
            };
            self.failures
                .push((result.row, result.username.clone(), reason));
        }
        *self.counts.entry(counted).or_default() += 1;
    }

    pub fn contains(&self, row: u64) -> bool {
        self.pushed.contains(row)
    }

    pub fn len(&self) -> u64 {
        self.pushed.len()
    }
}

/// What every sink records into: the ordered file (or none), the
/// journal (or none), the run's stamp and the tally. Its owner decides
/// what a row's line is and which written users are noted.
pub struct Recorder<K> {
    file: Option<OrderedCsv>,
    /// Users written, the moment it is known: a kill loses no record of
    /// what was done (rows finished out of order wait in memory for the
    /// ordered file); and, through its intents, writes about to be sent.
    journal: Option<Journal>,
    stamp: RunStamp,
    tally: Tally<K>,
    /// A row ended without success after the journal saw its user
    /// written: only the journal says how (`created`, the id), so it
    /// stays beside the finished file, for undo and `--resume`.
    journal_needed: bool,
}

impl<K: Tallied> Recorder<K> {
    pub fn new(file: Option<OrderedCsv>, journal: Option<Journal>, stamp: RunStamp) -> Self {
        Recorder {
            file,
            journal,
            stamp,
            tally: Tally::default(),
            journal_needed: false,
        }
    }

    pub fn stamp(&self) -> &RunStamp {
        &self.stamp
    }

    pub fn tally(&self) -> &Tally<K> {
        &self.tally
    }

    /// Takes `row` for the first time (false: it was recorded already).
    pub fn take(&mut self, row: u64) -> bool {
        self.tally.take(row)
    }

    /// Counts `result` as `counted`.
    pub fn count(&mut self, result: &RowResult, counted: K) {
        if !result.outcome.succeeded() && self.journal.as_ref().is_some_and(|j| j.holds(result.row))
        {
            self.journal_needed = true;
        }
        self.tally.count(result, counted);
    }

    /// Whether there is a file and row `row`'s line will wait in memory
    /// (an earlier row's has not come, or the file holds its last line
    /// back until it knows whether it ends the file).
    pub fn waits(&self, row: u64) -> bool {
        self.file
            .as_ref()
            .is_some_and(|f| f.next_row() != row || f.holds_back())
    }

    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Keeps the journal (and its intents) beside the finished file.
    pub fn keep_journal(&mut self) {
        self.journal_needed = true;
    }

    /// Notes a written user in the journal (when there is one).
    pub fn note(&mut self, result: &RowResult) -> Result<(), RunError> {
        if let Some(journal) = &mut self.journal {
            journal.note(result, &self.stamp)?;
        }
        Ok(())
    }

    /// Where rows record each write before it is sent (with a journal).
    pub fn intents(&self) -> Option<std::sync::Arc<crate::output::results_file::intents::Intents>> {
        self.journal.as_ref().map(|journal| journal.intents())
    }

    /// Writes row `row`'s line (in row order; nothing without a file).
    pub fn write(&mut self, row: u64, record: Vec<String>) -> Result<(), RunError> {
        if let Some(file) = &mut self.file {
            file.push(row, record)?;
        }
        Ok(())
    }

    /// Whether row `row` has been taken.
    pub fn contains(&self, row: u64) -> bool {
        self.tally.contains(row)
    }

    /// How many rows have been taken.
    pub fn len(&self) -> u64 {
        self.tally.len()
    }

    /// Flushes and syncs the file; where it was written. The journal
    /// goes once the file holds every row, unless it alone says how some
    /// row's user was written.
    pub fn finish(self) -> Result<Option<PathBuf>, RunError> {
        let keep_journal = self.journal_needed;
        let written = match self.file {
            Some(file) => Some(file.finish()?),
            None => None,
        };
        if let Some(journal) = self.journal
            && !keep_journal
        {
            journal.close()?;
        }
        Ok(written)
    }
}

/// A results file (or none) and the counts, for the commands that decide
/// their rows up front.
pub struct ResultsSink {
    recorder: Recorder<Outcome>,
    /// A plan `apply` can carry out: lines with their machine cells.
    sealed: bool,
}

/// What every run reports, for the screen and `--summary-json`: rows are
/// counted by outcome (`K`: or, in a plan, by planned action).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunTotals<K: Tallied = Outcome> {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub tenant: String,
    pub output: Option<String>,
    pub dry_run: bool,
    pub rows: u64,
    pub counts: BTreeMap<K, u64>,
    /// Of the rows counted, those the run resumed from had done
    /// (`--resume`): this run only carried them over.
    pub carried_over: u64,
    /// The first failed rows: (row, label, reason).
    pub failed_rows: Vec<(u64, String, String)>,
    pub api_calls: u64,
    pub write_calls: u64,
    pub elapsed_seconds: f64,
    pub interrupted: bool,
}

impl<K: Tallied> Default for RunTotals<K> {
    fn default() -> Self {
        RunTotals {
            run_id: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            tenant: String::new(),
            output: None,
            dry_run: false,
            rows: 0,
            counts: BTreeMap::new(),
            carried_over: 0,
            failed_rows: Vec::new(),
            api_calls: 0,
            write_calls: 0,
            elapsed_seconds: 0.0,
            interrupted: false,
        }
    }
}

impl<K: Tallied> RunTotals<K> {
    /// Whether every row went as asked.
    pub fn all_succeeded(&self) -> bool {
        self.counts.keys().all(|o| o.is_clean())
    }

    /// How many rows were counted as `counted`.
    pub fn count(&self, counted: K) -> u64 {
        self.counts.get(&counted).copied().unwrap_or(0)
    }

    /// The totals of a finished run: its stamp, what its sink counted and
    /// what the client sent.
    pub fn of(
        stamp: &RunStamp,
        clock: &RunClock,
        tally: &Tally<K>,
        client: &crate::api::Client,
        output: Option<&Path>,
        ended: RunShape,
    ) -> Self {
        let stats = client.stats();
        let RunShape {
            rows,
            dry_run,
            interrupted,
        } = ended;
        RunTotals {
            run_id: stamp.run_id.clone(),
            started_at: clock.started_at.clone(),
            finished_at: crate::formats::utc_now(),
            tenant: stamp.tenant.clone(),
            output: output.map(|p| p.display().to_string()),
            dry_run,
            rows,
            counts: tally.counts.clone(),
            carried_over: tally.carried,
            failed_rows: tally.failures.clone(),
            api_calls: stats.requests,
            write_calls: stats.writes,
            elapsed_seconds: clock.started.elapsed().as_secs_f64(),
            interrupted,
        }
    }
}

/// When a run began: the time its results and summary name, and the
/// instant its elapsed time counts from.
#[derive(Debug, Clone)]
pub struct RunClock {
    pub started_at: String,
    pub started: std::time::Instant,
}

impl RunClock {
    /// A clock started now.
    pub fn start() -> Self {
        RunClock {
            started_at: crate::formats::utc_now(),
            started: std::time::Instant::now(),
        }
    }
}

/// What a finished run was: how many rows it had, whether it only
/// planned, and whether an interrupt cut it short.
#[derive(Debug, Clone, Copy)]
pub struct RunShape {
    pub rows: u64,
    pub dry_run: bool,
    pub interrupted: bool,
}

impl ResultsSink {
    /// Opens the results file at `path` (none: counts only); with
    /// `journal_for`, a journal beside that file (the results' final name).
    pub fn open(
        path: Option<&Path>,
        rules: crate::output::results_file::writer::FileRules,
        (inputs, input_header): (&[&Path], &[String]),
        (journal_for, carried): (
            Option<&Path>,
            (
                &[&crate::output::results_file::reader::Recorded],
                &[crate::output::results_file::intents::Intent],
            ),
        ),
        (stamp, seal): (RunStamp, Option<crate::output::plan_file::PlanSeal>),
    ) -> Result<Self, RunError> {
        let sealed = seal.is_some();
        let file = match (path, seal) {
            (Some(path), Some(seal)) => {
                let own = &crate::output::results_file::writer::RESULT_COLUMNS;
                let header = crate::output::plan_file::plan_header(own, input_header);
                Some(OrderedCsv::plan(path, rules, inputs, &header, seal)?)
            }
            (Some(path), None) => Some(OrderedCsv::results(
                path,
                rules,
                (inputs, input_header),
                (stamp.key.as_ref(), journal_for),
            )?),
            (None, _) => None,
        };
        let journal = match journal_for {
            Some(results) if file.is_some() => {
                Some(Journal::create(results, input_header, carried, &stamp)?)
            }
            _ => None,
        };
        Ok(ResultsSink {
            recorder: Recorder::new(file, journal, stamp),
            sealed,
        })
    }

    pub fn tally(&self) -> &Tally<Outcome> {
        self.recorder.tally()
    }

    /// Flushes and syncs the file; where it was written. The journal
    /// goes once the file holds every row.
    pub fn finish(self) -> Result<Option<PathBuf>, RunError> {
        self.recorder.finish()
    }
}

impl<D> RowSink<D> for ResultsSink {
    /// A user written whose memberships still wait: in the journal now,
    /// before the row's line (a kill in between must not forget it, as
    /// import's sink never has).
    fn note_written(&mut self, result: &RowResult) -> Result<(), RunError> {
        self.recorder.note(result)
    }

    fn intents(&self) -> Option<std::sync::Arc<crate::output::results_file::intents::Intents>> {
        self.recorder.intents()
    }

    fn keep_what_was_on_the_wire(&mut self) {
        self.recorder.keep_journal();
    }

    fn push(&mut self, result: RowResult, _detail: Option<D>) -> Result<(), RunError> {
        if !self.recorder.take(result.row) {
            return Ok(());
        }
        self.recorder.count(&result, result.outcome);
        if matches!(
            result.outcome,
            Outcome::Created
                | Outcome::Updated
                | Outcome::Rehired
                | Outcome::Disabled
                | Outcome::Deleted
        ) {
            self.recorder.note(&result)?;
        }
        if self.recorder.has_file() {
            let record = if self.sealed {
                result.plan_record(self.recorder.stamp())
            } else {
                result.record(self.recorder.stamp())
            };
            self.recorder.write(result.row, record)?;
        }
        Ok(())
    }

    fn contains(&self, row: u64) -> bool {
        self.recorder.contains(row)
    }

    fn count(&self) -> u64 {
        self.recorder.len()
    }
}

/// The rows a resumed lifecycle run takes as done: the recorded successes
/// of this tenant whose input cells are the row's cells now. Those rows
/// are carried over, keeping the run that did them.
pub struct ResumedRows {
    /// None when the run is not resumed.
    resumed: Option<crate::output::results_file::reader::Resumed>,
    tenant: String,
}

impl ResumedRows {
    /// Reads `path` when the run resumes from one; rows of another tenant
    /// are named in a warning and none is taken as done.
    pub fn open(
        path: Option<&Path>,
        (tenant, key): (&str, &crate::model::SealKey),
        events: &dyn crate::events::Events,
    ) -> Result<Self, crate::output::OutputError> {
        let resumed = match path {
            Some(path) => Some(crate::output::results_file::reader::Resumed::read(
                path,
                Some(crate::output::results_file::reader::SealedFor { key, tenant }),
            )?),
            None => None,
        };
        if let Some(resumed) = &resumed {
            let others = resumed.other_tenants(tenant);
            if !others.is_empty() {
                let warning = format!(
                    "the resumed results were written to another tenant ({}): none of their rows is taken as done",
                    others.join(", ")
                );
                events.on(crate::events::Event::Warning(&warning));
            }
        }
        Ok(ResumedRows {
            resumed,
            tenant: tenant.to_string(),
        })
    }

    /// The recorded result of `row`, when it is done and is this row: its
    /// results line, or its journal entry when a kill left no line.
    pub fn done(&self, row: u64, cells: &[String]) -> Option<RowResult> {
        let resumed = self.resumed.as_ref()?;
        let recorded = resumed
            .done
            .get(&row)
            .filter(|r| r.outcome.succeeded())
            .or_else(|| resumed.journaled.get(&row))?;
        self.same_row(recorded, cells)
    }

    /// The rows whose writes the run resumed from was sending when it was
    /// killed (no record settles them): row → the run that sent them.
    pub fn in_flight(&self) -> std::collections::HashMap<u64, String> {
        self.resumed
            .iter()
            .flat_map(|resumed| &resumed.in_flight)
            .map(|intent| (intent.row, intent.run_id.clone()))
            .collect()
    }

    /// The writes the run resumed from had on the wire when it was
    /// killed: its intents that no record settles.
    pub fn on_wire(&self) -> Vec<&crate::output::results_file::intents::Intent> {
        self.resumed
            .iter()
            .flat_map(|resumed| &resumed.in_flight)
            .filter(|intent| !intent.is_run_mark())
            .collect()
    }

    /// The journal's entry for `row` when only the journal knows it was
    /// written (a kill came before its line): its user was written, but
    /// what came after (its memberships) may not have been.
    pub fn unfinished(&self, row: u64, cells: &[String]) -> Option<RowResult> {
        let resumed = self.resumed.as_ref()?;
        if resumed
            .done
            .get(&row)
            .is_some_and(|r| r.outcome.succeeded())
        {
            return None;
        }
        self.same_row(resumed.journaled.get(&row)?, cells)
    }

    /// `recorded`, when it succeeded in this tenant on a row whose cells
    /// are `cells` now (not in a plan: a plan did nothing).
    fn same_row(
        &self,
        recorded: &crate::output::results_file::reader::Recorded,
        cells: &[String],
    ) -> Option<RowResult> {
        // A dry run's rows say what would be done: nothing was.
        let planned = crate::output::results_file::writer::RunKind::of(&recorded.stamp.run_id).1;
        let same = !planned
            && recorded.outcome.succeeded()
            && recorded.stamp.tenant == self.tenant
            && crate::formats::same_cells(&recorded.result.cells, cells);
        same.then(|| {
            let mut result = recorded.result.clone();
            result.done_by = recorded.stamp.run_id.clone();
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_runs_journal_starts_with_what_the_earlier_one_held() {
        use crate::output::results_file::reader::{Journal, Recorded, Resumed};
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("apply.csv");
        let stamp = RunStamp {
            run_id: "apply-1".into(),
            tenant: "https://t/api".into(),
            snapshot: String::new(),
            key: None,
        };
        let mut written = RowResult::new(7, "ana", Outcome::Updated, vec!["ana".into()]);
        written.user_id = "u7".into();
        let carried = Recorded {
            outcome: Outcome::Updated,
            result: written,
            stamp: stamp.clone(),
        };
        let header = ["username".to_string()];
        let sink = ResultsSink::open(
            Some(&results),
            Default::default(),
            (&[], &header),
            (Some(&results), (&[&carried], &[])),
            (stamp, None),
        )
        .unwrap();
        // Killed now: the journal already holds the earlier run's row.
        std::mem::forget(sink);
        let journal = Journal::path_for(&results);
        assert!(journal.exists());
        let read = Resumed::read(&results, None).unwrap();
        assert_eq!(
            read.journaled.get(&7).map(|r| r.result.user_id.as_str()),
            Some("u7")
        );
    }

    #[test]
    fn rows_are_counted_once_in_any_order() {
        let mut set = RowSet::default();
        assert!(set.insert(2));
        assert!(set.insert(1));
        assert!(!set.insert(2));
        assert!(set.contains(1) && set.contains(2) && !set.contains(3));
        assert_eq!(set.len(), 2);
    }
}
