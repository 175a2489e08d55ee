//! `undo RESULTS`: the reverse of a recorded run, planned and applied with
//! the same care as the run itself.
//!
//! The results file is the record: created users (and groups) are deleted,
//! changed fields get their old values, memberships added are removed and
//! those removed are added back, deleted users and pruned groups come back
//! from the run's snapshot. Import, offboard, groups and memberships runs
//! can be undone; the rows are read offline first, so a file that cannot
//! be undone, or that was written to another tenant, is refused before any
//! call, and the guard rails count what the undo would take away before any
//! write. Undoing twice changes nothing the second time. `--only` undoes
//! the rows of some users alone (see [`crate::engine::only`]).

mod action;
mod created;
mod reverse;

use std::path::PathBuf;

use serde::Serialize;

use crate::api::Client;
use crate::decision::Catalog;
use crate::engine::RunEnd;
use crate::engine::decided_rows::{self, DecidedRow, RunSpec};
use crate::engine::guard::{self, Limits, Protection, Taken};
use crate::engine::results_sink::{ResumedRows, RunClock, RunTotals};
use crate::engine::runner::{Disposition, RunError, Stops};
use crate::events::{Event, Events};
use crate::output::results_file::created_groups::CreatedGroup;
use crate::output::results_file::writer::RunKind;
use action::UndoAction;
use reverse::UndoRow;

/// What an undo is asked to do.
#[derive(Debug, Clone)]
pub struct UndoOptions {
    /// The results file of the run to undo.
    pub results: PathBuf,
    pub limits: Limits,
    pub protection: Protection,
    /// Email users re-created from a snapshot their new password.
    pub send_email: bool,
    /// Undo conflicts too (`--include-conflicts`).
    pub include_conflicts: bool,
    /// Whether snapshots sealed the old way are read (`--accept-old-seal`).
    pub old_seals: crate::output::snapshot::OldSeals,
    /// `--only`: the users whose rows are undone (usernames, emails or
    /// employee numbers); every row when empty.
    pub only: Vec<String>,
    /// Where the results go and how.
    pub run: crate::engine::decided_rows::ResultsOptions,
}

/// The rows of the users `--only` names, or why the run is refused (a
/// name that picks nobody). A row is known by its username and user id,
/// the identity values it changed (old and new), its snapshot entry and
/// the input's username, email and employee number cells.
fn only_these(rows: Vec<UndoRow>, options: &UndoOptions) -> Result<Vec<UndoRow>, String> {
    use crate::input::columns::{Column, column_for};
    use crate::model::Field;
    let Some(mut only) = crate::engine::only::Only::new(&options.only) else {
        return Ok(rows);
    };
    let identity = |name: &str| {
        matches!(
            column_for(name),
            Some(Column::Text(
                Field::Username | Field::Email | Field::EmployeeNumber
            ))
        )
    };
    let header = input_header(&options.results);
    let kept = rows
        .into_iter()
        .filter(|row| {
            let recorded = &row.recorded;
            let mut keys: Vec<&str> = vec![&recorded.username, &recorded.user_id];
            for change in recorded.changes.iter().filter(|c| identity(&c.field)) {
                keys.extend([change.old.as_str(), change.new.as_str()]);
            }
            let cells = header.iter().zip(&recorded.cells);
            keys.extend(
                cells
                    .filter(|(name, _)| identity(name))
                    .map(|(_, v)| v.as_str()),
            );
            if let reverse::Reverse::FromSnapshot(item) = &row.reverse
                && let crate::output::snapshot::SnapshotItem::User(entry) = item.as_ref()
            {
                let fields = &entry.user.fields;
                let more = [&fields.username, &fields.email, &fields.employee_number];
                keys.extend(more.into_iter().flatten().map(String::as_str));
            }
            only.picks(keys)
        })
        .collect();
    match only.unmatched(&options.results.display().to_string()) {
        Some(why) => Err(why),
        None => Ok(kept),
    }
}

/// The input's columns a results file repeats after its own (empty when
/// the header cannot be read: the rows were, just before).
fn input_header(results: &std::path::Path) -> Vec<String> {
    let Ok(mut reader) = csv::Reader::from_path(results) else {
        return Vec::new();
    };
    let Ok(header) = reader.headers() else {
        return Vec::new();
    };
    let header: Vec<String> = header.iter().map(str::to_string).collect();
    let fixed = crate::output::results_file::writer::result_columns(&header).map_or(0, |c| c.len());
    header.into_iter().skip(fixed).collect()
}

/// What an undo did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct UndoSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    /// The results file undone, and the runs it records.
    pub undone: String,
    pub runs: Vec<String>,
    /// Rows whose undo takes something away (deletes, removals).
    pub affected: u64,
    /// Users to be re-created from a snapshot (with a generated password).
    pub recreated_users: u64,
    pub send_email: bool,
    /// The groups the run created because its rows named them.
    #[serde(flatten)]
    pub groups: created::GroupsUndone,
}

/// The columns an undo's results repeat for each row undone.
const UNDONE_COLUMNS: [&str; 4] = [
    "undone_row",
    "undone_username",
    "undone_outcome",
    "undone_run",
];

/// What an undo takes away, for the guard. Deleting what the run created
/// cannot be given back by another undo; removing memberships it added can.
/// A user the protect list names, or a privileged member, is passed over
/// by the undo and counts for nothing.
fn taken_by(rows: &[UndoRow], protection: &Protection) -> Taken {
    let mut taken = Taken::users();
    let passed_over = |row: &UndoRow| {
        let mut user = crate::model::User {
            id: row.recorded.user_id.clone(),
            ..Default::default()
        };
        user.fields.username = Some(row.recorded.username.clone());
        !matches!(row.reverse, reverse::Reverse::DeleteGroup(_))
            && protection.protects(&user).is_some()
    };
    for row in rows
        .iter()
        .filter(|r| r.reverse.takes_away(&r.recorded) && !passed_over(r))
    {
        let id = row.recorded.user_id.clone();
        match row.reverse {
            reverse::Reverse::DeleteUser(_) | reverse::Reverse::DeleteGroup(_) => {
                taken.irreversible.insert(id)
            }
            _ => taken.reversible.insert(id),
        };
    }
    taken
}

/// Leaves out of `taken` the users to be deleted or set back that the
/// tenant (of `tenant` users) no longer holds. Users to be re-created from
/// a snapshot are absent by nature, and groups are not users: both stay.
async fn still_there(
    client: &Client,
    rows: &[UndoRow],
    taken: &mut Taken,
    tenant: u64,
) -> Result<(), crate::api::ApiError> {
    let users: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|row| {
            matches!(
                row.reverse,
                reverse::Reverse::DeleteUser(_) | reverse::Reverse::RevertUser
            ) && !row.recorded.user_id.is_empty()
        })
        .map(|row| row.recorded.user_id.clone())
        .collect();
    let held = crate::engine::users::still_held(client, &users, tenant).await?;
    let gone = |id: &String| users.contains(id) && !held.contains(id);
    taken.reversible.retain(|id| !gone(id));
    taken.irreversible.retain(|id| !gone(id));
    Ok(())
}

impl UndoRow {
    /// Whether undoing it re-creates a user a run deleted.
    /// Whether undoing it puts memberships back (then group and
    /// application names must be resolved).
    fn reverts_memberships(&self) -> bool {
        let r = &self.recorded;
        matches!(self.reverse, reverse::Reverse::RevertUser)
            && !(r.groups_added.is_empty()
                && r.groups_removed.is_empty()
                && r.applications_added.is_empty()
                && r.applications_removed.is_empty())
    }

    /// The row as the undo's row `number` (done already when a resumed
    /// undo did it).
    fn prepared(self, number: u64, resumed: &ResumedRows) -> DecidedRow<UndoRow> {
        let cells = vec![
            self.recorded.row.to_string(),
            self.recorded.username.clone(),
            self.recorded.outcome.as_str().to_string(),
            self.run_id.clone(),
        ];
        let disposition = match resumed.done(number, &cells) {
            Some(done) => Disposition::Done(Box::new(done)),
            None => Disposition::Process,
        };
        DecidedRow {
            row: number,
            label: self.recorded.username.clone(),
            cells,
            disposition,
            input: self,
        }
    }
}

/// Runs an undo (or its dry run).
pub async fn run(
    client: Client,
    options: &UndoOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunEnd<UndoSummary>, RunError> {
    let clock = RunClock::start();
    let (read, created_groups) = match read_run(&client, options, events).await? {
        Ok(read) => read,
        Err(why) => return Ok(RunEnd::Refused(why.into())),
    };
    // Once the file is known good (it is refused before any call).
    options.protection.learn_members(&client, None).await?;
    let mut taken = taken_by(&read.rows, &options.protection);
    let memberships = read.rows.iter().any(UndoRow::reverts_memberships);
    let (catalog, tenant_users) = futures::try_join!(
        async {
            if memberships {
                Catalog::load(&client).await
            } else {
                Ok(Catalog::default())
            }
        },
        async {
            if taken.affected() == 0 {
                return Ok(0);
            }
            crate::engine::users::tenant_size(&client).await
        }
    )?;
    let mut verdict = guard::check(&taken, tenant_users, options.limits);
    if verdict.is_err() {
        // An undo killed and run again finds users it deleted gone, and
        // what is gone is no change: the guard counts what is still there.
        still_there(&client, &read.rows, &mut taken, tenant_users).await?;
        verdict = guard::check(&taken, tenant_users, options.limits);
    }
    let affected = taken.affected();
    let refused = match guard::enforce(verdict, (options.run.dry_run, &client), events) {
        Ok(refused) => refused,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    let stamp = decided_rows::stamp(RunKind::Undo, options.run.dry_run, &client);
    let resumed = ResumedRows::open(
        options.run.resume.as_deref(),
        (client.tenant(), client.seal_key()),
        events,
    )?;
    let rows: Vec<DecidedRow<UndoRow>> = read
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| row.prepared(index as u64 + 1, &resumed))
        .collect();
    let header: Vec<String> = UNDONE_COLUMNS.iter().map(|c| c.to_string()).collect();
    let inputs = [options.results.as_path()];
    let run_spec = RunSpec::of(
        &options.run,
        (&stamp, &clock),
        (&inputs, &header),
        "undoing",
    );
    let action = UndoAction {
        catalog,
        protection: options.protection.clone(),
        force: options.include_conflicts,
        dry_run: options.run.dry_run,
        send_email: options.send_email,
    };
    let totals = decided_rows::run(&client, run_spec, action, rows, stops, events).await?;
    // Once their members are out (an interrupted undo leaves them).
    let groups = match totals.interrupted || refused.is_some() {
        true => created::GroupsUndone::default(),
        false => {
            let rules = (&options.protection, options.run.dry_run);
            created::delete_created(&client, &created_groups, rules, events).await?
        }
    };
    // Those given back by creating them again (a user that still exists
    // gets back its state and memberships, not a new password).
    let recreated_users = totals.count(crate::output::Outcome::Created);
    let summary = UndoSummary {
        totals,
        undone: options.results.display().to_string(),
        runs: read.run_ids,
        affected,
        recreated_users,
        send_email: options.send_email,
        groups,
    };
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::planned(summary, interrupted, refused))
}

/// The run to undo, read and checked offline (its lines' seals, its
/// tenant, `--only`), with the groups it created; `Err` inside refuses
/// the undo (why).
async fn read_run(
    client: &Client,
    options: &UndoOptions,
    events: &dyn Events,
) -> Result<Result<(reverse::ReadRun, Vec<CreatedGroup>), String>, RunError> {
    events.on(Event::Phase("reading"));
    let path = options.results.clone();
    let seals = (client.seal_key().clone(), options.old_seals);
    let read = tokio::task::spawn_blocking(move || reverse::read(&path, seals))
        .await
        .map_err(|e| RunError::Reader(e.to_string()))?;
    let read = match read {
        Ok(read) => read,
        Err(why) => return Ok(Err(why)),
    };
    for snapshot in &read.unkeyed_snapshots {
        events.on(Event::Warning(&format!(
            "{snapshot} is sealed the old way (a plain digest, or none): read as it stands, as --accept-old-seal says; a change made to it by hand cannot be told"
        )));
    }
    if read.killed {
        events.on(Event::Warning(
            "the run was killed (its journal is still there): every user it recorded or journaled is undone, and each write that was on the wire when it died is named as uncertain (the undo then exits 3), unless the run was an offboarding, whose snapshot gives those leavers back",
        ));
    }
    let tenant = client.tenant().to_string();
    if let Some(other) = read.tenants.iter().find(|t| **t != tenant) {
        return Ok(Err(format!(
            "{} was written to {other}, not {tenant}: undo runs against the tenant the run changed (--base-url {other})",
            options.results.display()
        )));
    }
    let mut read = read;
    // `--only` undoes some users' rows: the groups stay.
    let created_groups = match options.only.is_empty() {
        true => std::mem::take(&mut read.created_groups),
        false => Vec::new(),
    };
    read.rows = match only_these(std::mem::take(&mut read.rows), options) {
        Ok(rows) => rows,
        Err(why) => return Ok(Err(why)),
    };
    Ok(Ok((read, created_groups)))
}
