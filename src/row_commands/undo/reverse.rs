//! What undoing each recorded row means, decided offline from the results
//! file (and the snapshots beside it) before anything is read or written.
//!
//! A row's record is the row's line, or its journal entry when the line
//! says the row failed or is missing but the journal saw its user written
//! (a killed run). Runs that cannot be reversed are refused whole: a plan
//! did nothing, a password set cannot be taken back, an undo is not undone
//! (its own results name what it did; run the command again instead).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::model::{FieldChange, SealKey};
use crate::output::results_file::intents::{Intent, Intents};
use crate::output::results_file::reader::{Recorded, Resumed};
use crate::output::results_file::writer::RunKind;
use crate::output::snapshot::{self, SnapshotItem};
use crate::output::{Outcome, RowResult};

/// The reverse of one recorded row.
#[derive(Debug, Clone)]
pub enum Reverse {
    /// Nothing to undo (why).
    Nothing(String),
    /// Delete a user the run created (the values it was created with).
    DeleteUser(Vec<FieldChange>),
    /// Put back changed fields and memberships.
    RevertUser,
    /// Give back what the run deleted, from its snapshot.
    FromSnapshot(Box<SnapshotItem>),
    /// Cannot be undone as recorded (why): deleted with no snapshot that
    /// holds it, or a `created` line whose record is not a creation's.
    NoSnapshot(String),
    /// Delete a group the run created (the values it was created with).
    DeleteGroup(Vec<FieldChange>),
    /// Put back a group's changed fields.
    RevertGroup,
    /// A write was on the wire when the run was killed and nothing says
    /// whether it landed (why): named, never guessed at. `creates_only`:
    /// every such write was a create, so a tenant without the user shows
    /// it did not land.
    Uncertain { why: String, creates_only: bool },
}

impl Reverse {
    /// Whether undoing it takes something away (under the guard rails).
    pub fn takes_away(&self, recorded: &RowResult) -> bool {
        match self {
            Reverse::DeleteUser(_) | Reverse::DeleteGroup(_) => true,
            Reverse::RevertUser => {
                !recorded.groups_added.is_empty() || !recorded.applications_added.is_empty()
            }
            _ => false,
        }
    }
}

/// One row of the undo: the recorded row and its reverse.
#[derive(Debug, Clone)]
pub struct UndoRow {
    pub recorded: RowResult,
    pub run_id: String,
    pub reverse: Reverse,
}

/// A results file read for undo.
pub struct ReadRun {
    pub rows: Vec<UndoRow>,
    /// The runs whose rows it holds.
    pub run_ids: Vec<String>,
    /// The tenants they were written to.
    pub tenants: Vec<String>,
    /// The run was killed (its journal is still there).
    pub killed: bool,
    /// Snapshots given back from although sealed the old way (accepted).
    pub unkeyed_snapshots: Vec<String>,
    /// Groups the runs created because their rows named them.
    pub created_groups: Vec<crate::output::results_file::created_groups::CreatedGroup>,
}

/// Reads `results` and decides each row's reverse; `Err` refuses the
/// whole undo (why).
pub fn read(
    results: &Path,
    (key, old_seals): (SealKey, snapshot::OldSeals),
) -> Result<ReadRun, String> {
    if crate::output::results_file::writer::killed_before_results(results) {
        return marked_run_only(results, &key);
    }
    let (unsealed, ended) = sealed_lines(results, &key, old_seals)?;
    let groups_key = key.clone();
    let resumed = Resumed::read_checked(results, Some(&key)).map_err(|e| e.to_string())?;
    let records = merged_records(&resumed);
    // A journal left beside a finished file holds rows that failed after
    // their user was written; beside an unfinished one, a killed run's.
    let killed = crate::output::results_file::reader::Journal::path_for(results).exists() && !ended;
    if records.is_empty() && resumed.in_flight.is_empty() && !killed {
        // Every run records a line per row; lines all taken out of a file
        // leave no chain to break, so an empty record is not undone as done.
        return Err(format!(
            "{} records no row: there is nothing to undo, and whether lines were taken out of it cannot be told; undo the run from the results file it wrote",
            results.display()
        ));
    }
    let mut run_ids: Vec<String> = Vec::new();
    let mut tenants: Vec<String> = Vec::new();
    let mut snapshots = Snapshots::new(results, key, old_seals);
    let mut rows = Vec::new();
    for recorded in records.values() {
        let run_id = recorded.stamp.run_id.clone();
        let (kind, plan) = RunKind::of(&run_id);
        if plan {
            return Err(format!(
                "{} is a plan (run {run_id}): nothing was done, so there is nothing to undo",
                results.display()
            ));
        }
        let kind = kind.map_err(|unknown| {
            format!(
                "{}: {unknown}, so what its rows did cannot be told: nothing is undone (undo it with the sebulk that wrote it)",
                results.display()
            )
        })?;
        let refusal = not_undone(kind);
        if let Some(why) = refusal {
            return Err(format!(
                "{} was written by {}: {why}",
                results.display(),
                kind.name()
            ));
        }
        if !run_ids.contains(&run_id) && !run_id.is_empty() {
            run_ids.push(run_id.clone());
        }
        let tenant = &recorded.stamp.tenant;
        if tenant.trim().is_empty() {
            return Err(format!(
                "{}: row {} names no tenant, so it cannot be told which directory it changed: refused (a results file sebulk writes always names one)",
                results.display(),
                recorded.result.row
            ));
        }
        if !tenants.contains(tenant) {
            tenants.push(tenant.clone());
        }
        rows.push(UndoRow {
            recorded: recorded.result.clone(),
            reverse: reverse_of(kind, recorded, &mut snapshots),
            run_id,
        });
    }
    // The digest of each run's snapshot, as its lines recorded it.
    let digests: HashMap<&str, &str> = records
        .values()
        .filter(|r| !r.stamp.snapshot.is_empty())
        .map(|r| (r.stamp.run_id.as_str(), r.stamp.snapshot.as_str()))
        .collect();
    for mut row in uncertain(&resumed.in_flight, run_ids.first()) {
        let digest = digests
            .get(row.run_id.as_str())
            .copied()
            .unwrap_or_default();
        given_back_if_offboarded(&mut row, (&mut snapshots, digest));
        // A line that says the row failed (a double Ctrl-C records one)
        // is the same row: the write on the wire is what may be undone.
        match rows.iter_mut().find(|r| r.recorded.row == row.recorded.row) {
            Some(recorded) if matches!(recorded.reverse, Reverse::Nothing(_)) => {
                recorded.reverse = row.reverse;
            }
            Some(_) => {}
            None => rows.push(row),
        }
    }
    // A run killed before any row of its own is named by its mark alone.
    for intent in &resumed.in_flight {
        if intent.verifies(&groups_key) && !run_ids.contains(&intent.run_id) {
            run_ids.push(intent.run_id.clone());
        }
    }
    let created_groups =
        crate::output::results_file::created_groups::read(results, &groups_key, &run_ids)?;
    Ok(ReadRun {
        created_groups,
        rows,
        run_ids,
        tenants,
        killed,
        unkeyed_snapshots: unsealed.into_iter().chain(snapshots.unkeyed).collect(),
    })
}

/// Each row as its run recorded it: its results line, or where the
/// journal saw its user written although the line does not say so (a
/// kill, or a step that failed after the write), the journal's entry,
/// with what the line says the row did after that write (the groups and
/// applications it went on to change are the run's, not someone's since).
fn merged_records(resumed: &Resumed) -> BTreeMap<u64, Recorded> {
    let mut records: BTreeMap<u64, Recorded> = resumed.done.clone();
    for (row, journaled) in &resumed.journaled {
        let mut entry = journaled.clone();
        if let Some(line) = resumed.done.get(row)
            && !line.result.user_id.is_empty()
            && line.result.user_id == journaled.result.user_id
        {
            entry.result.add_memberships_of(&line.result);
        }
        records.insert(*row, entry);
    }
    records
}

/// How the row `recorded` (of a `kind` run) is undone.
fn reverse_of(kind: RunKind, recorded: &Recorded, snapshots: &mut Snapshots) -> Reverse {
    let result = &recorded.result;
    match (kind, recorded.outcome) {
        (RunKind::Groups, Outcome::Created) => Reverse::DeleteGroup(result.changes.clone()),
        (RunKind::Groups, Outcome::Updated) => Reverse::RevertGroup,
        (_, Outcome::Created) => match creation_record(result) {
            Ok(()) => Reverse::DeleteUser(result.changes.clone()),
            Err(why) => Reverse::NoSnapshot(why),
        },
        (_, Outcome::Updated | Outcome::Rehired | Outcome::Disabled) => Reverse::RevertUser,
        (_, Outcome::Deleted) => {
            let stamp = &recorded.stamp;
            match snapshots.entry(&stamp.run_id, &stamp.snapshot, &result.user_id) {
                Ok(item) => Reverse::FromSnapshot(Box::new(item)),
                Err(why) => Reverse::NoSnapshot(why),
            }
        }
        (_, outcome) => Reverse::Nothing(format!(
            "nothing to undo: the run recorded {}",
            outcome.as_str()
        )),
    }
}

/// A run killed before it opened its results file (it was creating the
/// groups its rows need): its mark beside the file names it, and what it
/// created is all there is to undo.
fn marked_run_only(results: &Path, key: &SealKey) -> Result<ReadRun, String> {
    let marks = Intents::read(results).map_err(|e| e.to_string())?;
    let run_ids: Vec<String> = marks
        .iter()
        .filter(|mark| mark.is_run_mark() && mark.verifies(key))
        .map(|mark| mark.run_id.clone())
        .collect();
    if run_ids.is_empty() {
        return Err(format!(
            "cannot read {}: there is no such results file, and nothing beside it names a run sebulk wrote for this tenant",
            results.display()
        ));
    }
    let created_groups = crate::output::results_file::created_groups::read(results, key, &run_ids)?;
    Ok(ReadRun {
        rows: Vec::new(),
        run_ids,
        tenants: Vec::new(),
        killed: true,
        unkeyed_snapshots: Vec::new(),
        created_groups,
    })
}

/// Holds `results` and its journal to their line seals: a line changed
/// since it was written refuses the undo; files whose lines carry none
/// (an older sebulk) are read only when old seals are accepted, and
/// named for the warning. With them, whether `results` ends with the line
/// its run sealed last (the run finished).
fn sealed_lines(
    results: &Path,
    key: &SealKey,
    old_seals: snapshot::OldSeals,
) -> Result<(Vec<String>, bool), String> {
    // A plan is sealed whole (and refused below: it did nothing).
    if crate::output::plan_file::is_plan(results) {
        return Ok((Vec::new(), false));
    }
    let (checks, ended) = crate::output::results_file::reader::check_record_seals(results, key)
        .map_err(|e| e.to_string())?;
    let mut unsealed = Vec::new();
    for (file, check) in checks {
        match (check, old_seals) {
            (crate::model::SealCheck::Unkeyed, snapshot::OldSeals::Refuse) => {
                return Err(format!(
                    "{}: its lines carry no seal (written by an older sebulk, or edited): undo trusts a results file only as sealed; --accept-old-seal reads it as it stands",
                    file.display()
                ));
            }
            (crate::model::SealCheck::Unkeyed, snapshot::OldSeals::Accept) => {
                unsealed.push(format!("{} (its lines)", file.display()));
            }
            _ => {}
        }
    }
    Ok((unsealed, ended))
}

/// The rows whose writes were about to be sent when the run was killed
/// and that neither the results nor the journal settle: one each, naming
/// what was being sent.
fn uncertain(in_flight: &[Intent], run_id: Option<&String>) -> Vec<UndoRow> {
    let mut by_row: BTreeMap<u64, (String, &str, Vec<&str>)> = BTreeMap::new();
    for intent in in_flight.iter().filter(|i| !i.is_run_mark()) {
        let (_, _, endpoints) = by_row
            .entry(intent.row)
            .or_insert_with(|| (intent.label.clone(), &intent.run_id, Vec::new()));
        if !endpoints.contains(&intent.endpoint.as_str()) {
            endpoints.push(&intent.endpoint);
        }
    }
    by_row
        .into_iter()
        .map(|(row, (label, sent_by, endpoints))| UndoRow {
            recorded: RowResult::new(row, &label, Outcome::Failed, Vec::new()),
            run_id: Some(sent_by)
                .filter(|run| !run.is_empty())
                .map(str::to_string)
                .or_else(|| run_id.cloned())
                .unwrap_or_default(),
            reverse: Reverse::Uncertain {
                creates_only: endpoints.iter().all(|e| *e == "POST /users"),
                why: format!(
                    "uncertain: the run was killed while {} for {label} was being sent, and no record says whether it landed; check {label} in the tenant (sebulk export users) before anything else",
                    endpoints.join(", ")
                ),
            },
        })
        .collect()
}

/// A write an offboarding had on the wire at its kill (or a sync, for
/// one of its leavers) takes only what that run's snapshot holds (state
/// and access), so the user is given back from it as offboarding's undo
/// gives back a deleted one; any other row stays uncertain. Found by the
/// user's name, as the row labels it; an entry not found leaves the row
/// as it was.
fn given_back_if_offboarded(row: &mut UndoRow, (snapshots, digest): (&mut Snapshots, &str)) {
    let kind = RunKind::of(&row.run_id).0;
    if kind != Ok(RunKind::Offboard) && kind != Ok(RunKind::Sync) {
        return;
    }
    let name = row.recorded.username.trim();
    let entry = snapshots
        .named(&row.run_id, name, digest)
        .filter(|entry| kind == Ok(RunKind::Offboard) || entry.leaving);
    if let Some(entry) = entry {
        row.recorded.user_id = entry.user.id.clone();
        row.recorded.outcome = Outcome::Updated;
        row.reverse = Reverse::FromSnapshot(Box::new(SnapshotItem::User(Box::new(entry))));
    }
}

/// Why a run of `kind` is not undone; `None` when it is.
fn not_undone(kind: RunKind) -> Option<&'static str> {
    match kind {
        RunKind::Passwords => Some(
            "a password set cannot be taken back (the old one was never read); set new ones with sebulk passwords",
        ),
        RunKind::Undo => Some(
            "an undo is not undone: run the command it reversed again (its results file is the record)",
        ),
        RunKind::Restore => {
            Some("a restore is not undone: offboard those users again if that is meant")
        }
        RunKind::Import
        | RunKind::Offboard
        | RunKind::Groups
        | RunKind::Memberships
        | RunKind::Sync
        | RunKind::Apply => None,
    }
}

/// Whether a `created` line records a creation: every value new (nothing
/// replaced) and its username among them, as sebulk writes a create. A
/// line edited from `updated` to `created` is not one, and undo never
/// deletes a user on its word.
fn creation_record(result: &RowResult) -> Result<(), String> {
    let username = result
        .changes
        .iter()
        .find(|c| c.field == "username")
        .map(|c| c.new.as_str());
    let replaced = result.changes.iter().any(|c| !c.old.is_empty());
    if replaced || username.is_none_or(|u| !u.eq_ignore_ascii_case(result.username.trim())) {
        return Err(
            "the line says created, but its changes are not the record of a create (a create records every value it set, username included, and replaces none): not deleted; check the results file"
                .to_string(),
        );
    }
    Ok(())
}

/// A snapshot's digest and its entries by id.
type ReadSnapshot = (String, HashMap<String, SnapshotItem>);

/// The snapshots of the runs a results file holds, found beside it and
/// read once each.
struct Snapshots {
    results: PathBuf,
    key: SealKey,
    old_seals: snapshot::OldSeals,
    /// Those read although sealed the old way.
    unkeyed: Vec<String>,
    /// run id → its snapshot as read, or why there is none.
    read: HashMap<String, Result<ReadSnapshot, String>>,
}

impl Snapshots {
    fn new(results: &Path, key: SealKey, old_seals: snapshot::OldSeals) -> Self {
        Snapshots {
            results: results.to_path_buf(),
            key,
            old_seals,
            unkeyed: Vec::new(),
            read: HashMap::new(),
        }
    }

    /// The user entry named `username` (any case) in run `run_id`'s
    /// snapshot, when it can be read.
    /// (`digest`: the one the run's lines recorded, if any line did).
    fn named(
        &mut self,
        run_id: &str,
        username: &str,
        digest: &str,
    ) -> Option<snapshot::SnapshotEntry> {
        let Ok((found, items)) = self.load(run_id) else {
            return None;
        };
        if !digest.is_empty() && digest != found {
            return None;
        }
        items.values().find_map(|item| match item {
            SnapshotItem::User(entry)
                if entry
                    .user
                    .fields
                    .username
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(username)) =>
            {
                Some((**entry).clone())
            }
            _ => None,
        })
    }

    /// The entry for `id` in run `run_id`'s snapshot, when that snapshot
    /// is the one whose digest the results recorded (`digest`; results of
    /// older sebulk record none).
    fn entry(&mut self, run_id: &str, digest: &str, id: &str) -> Result<SnapshotItem, String> {
        match self.load(run_id) {
            Ok((found, _)) if !digest.is_empty() && digest != found => Err(format!(
                "the snapshot of run {run_id} is not the one the run wrote (its digest differs from the one the results recorded): refused, nothing is given back from it"
            )),
            Ok((_, items)) => items
                .get(id)
                .cloned()
                .ok_or_else(|| format!("the snapshot of run {run_id} does not hold {id}")),
            Err(why) => Err(why.clone()),
        }
    }

    /// Run `run_id`'s snapshot, read the first time it is asked for.
    fn load(&mut self, run_id: &str) -> &Result<ReadSnapshot, String> {
        if !self.read.contains_key(run_id) {
            let found = snapshot::read_of_run(&self.results, run_id, (&self.key, self.old_seals));
            let loaded = match found {
                Ok(None) => Err(format!(
                    "no snapshot of run {run_id} beside {} (*.snapshot-{run_id}.jsonl): it cannot be given back",
                    self.results.display()
                )),
                Ok(Some((path, read))) => {
                    if read.unkeyed {
                        self.unkeyed.push(path.display().to_string());
                    }
                    let items = read
                        .items
                        .into_iter()
                        .map(|item| {
                            let id = match &item {
                                SnapshotItem::User(entry) => entry.user.id.clone(),
                                SnapshotItem::Group(entry) => entry.group.id.clone(),
                            };
                            (id, item)
                        })
                        .collect();
                    Ok((read.header.digest.unwrap_or_default(), items))
                }
                Err(why) => Err(why),
            };
            self.read.insert(run_id.to_string(), loaded);
        }
        self.read
            .entry(run_id.to_string())
            .or_insert_with(|| Err(format!("no snapshot of run {run_id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_kinds_come_from_run_ids() {
        assert_eq!(
            RunKind::of("import-20261129T081500-0a1b2c3d"),
            (Ok(RunKind::Import), false)
        );
        assert_eq!(
            RunKind::of("plan-offboard-20261129T081500-0a1b2c3d"),
            (Ok(RunKind::Offboard), true)
        );
        assert_eq!(
            RunKind::of("20261129T081500-0a1b2c3d"),
            (Ok(RunKind::Import), false)
        );
        assert_eq!(RunKind::of("groups-2026"), (Ok(RunKind::Groups), false));
        assert_eq!(RunKind::of(""), (Ok(RunKind::Import), false));
        // A kind this build does not know is never taken for an import.
        let (unknown, plan) = RunKind::of("rename-20261129T081500-0a1b2c3d");
        assert!(!plan);
        let unknown = unknown.expect_err("rename is no kind sebulk knows");
        assert_eq!(unknown.kind, "rename");
        assert!(unknown.to_string().contains("does not know"), "{unknown}");
        for kind in RunKind::ALL {
            let id = crate::engine::new_run_id(kind, true);
            assert_eq!(RunKind::of(&id), (Ok(kind), true), "{id}");
        }
    }
}
