//! `groups import FILE`: groups created or updated from a file (name,
//! description, enforceSecondFactor), upserted by name (any case). A group
//! that already matches makes no call; an empty cell keeps the group's
//! value. `--prune` deletes the groups the file does not list, under the
//! guard rails of every destructive run, after a snapshot of each (with
//! its members) that `sebulk restore` gives back.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use futures::StreamExt;
use serde::Serialize;

use crate::api::{ApiError, Client};
use crate::engine::RunEnd;
use crate::engine::decided_rows::{self, DecidedRow, RunSpec};
use crate::engine::give_back::same_group;
use crate::engine::guard::{self, Limits, Protection, Taken};
use crate::engine::results_sink::RunTotals;
use crate::engine::runner::{Disposition, ProcessedRow, RowAction, RunError, Stops, settle};
use crate::events::{Event, Events};
use crate::input::cells::parse_bool;
use crate::input::columns::position_of;
use crate::input::{CsvSource, ReadOptions};
use crate::model::{Group, GroupWrite, Target, TargetKind};
use crate::output::results_file::writer::RunKind;
use crate::output::snapshot::{self, SnapshotGroup, SnapshotItem};
use crate::output::{Outcome, RowResult};

/// What a groups import is asked to do.
#[derive(Debug, Clone)]
pub struct GroupsOptions {
    pub file: PathBuf,
    pub read: ReadOptions,
    /// Delete the tenant's groups the file does not list.
    pub prune: bool,
    pub limits: Limits,
    pub protection: Protection,
    /// Where the results go and how.
    pub run: crate::engine::decided_rows::ResultsOptions,
}

/// What a groups import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct GroupsSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub input: String,
    pub tenant_groups: u64,
    pub snapshot: Option<String>,
}

/// What one row asks.
#[derive(Debug, Clone)]
pub enum GroupJob {
    /// The group as the file wants it; what the file left empty is `None`.
    Upsert {
        name: String,
        description: Option<String>,
        enforce_second_factor: Option<bool>,
        existing: Option<Box<Group>>,
    },
    /// A group the file does not list, to delete (`--prune`).
    Prune(Box<Group>),
    /// A group `--prune` would delete but may not touch (the reason).
    Protected(Box<Group>, String),
    /// Nothing to do (an invalid row).
    Nothing,
}

/// Creates, updates or deletes one group.
pub struct GroupsAction {
    pub dry_run: bool,
    /// Privileged groups are changed only when privileged are included
    /// (a second factor no longer enforced on IT Admins is a privilege
    /// change).
    pub protection: crate::engine::guard::Protection,
}

impl RowAction for GroupsAction {
    type Input = GroupJob;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        job: GroupJob,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        let done = self.apply(&client, job, &mut result).await;
        settle(result, done, &tally)
    }
}

impl GroupsAction {
    async fn apply(
        &self,
        client: &Client,
        job: GroupJob,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        match job {
            GroupJob::Nothing => Ok(()),
            GroupJob::Protected(group, why) => {
                result.user_id = group.id.clone();
                result.outcome = Outcome::Protected;
                result.error = why;
                Ok(())
            }
            GroupJob::Prune(group) => {
                result.user_id = group.id.clone();
                if !self.dry_run {
                    client.delete_group(&group.id).await?;
                }
                result.outcome = Outcome::Deleted;
                Ok(())
            }
            GroupJob::Upsert {
                name,
                description,
                enforce_second_factor,
                existing,
            } => match existing {
                Some(existing) => {
                    result.user_id = existing.id.clone();
                    let wanted = Group {
                        // Matched ignoring case: a file's `sales` does not rename `Sales`.
                        name: if existing.name.eq_ignore_ascii_case(&name) {
                            existing.name.clone()
                        } else {
                            name.clone()
                        },
                        description: description.clone().or(existing.description.clone()),
                        enforce_second_factor: enforce_second_factor
                            .or(existing.enforce_second_factor),
                        ..(*existing).clone()
                    };
                    if same_group(&existing, &wanted) {
                        result.outcome = Outcome::Unchanged;
                        return Ok(());
                    }
                    result.changes = existing.changes_to(&wanted);
                    if let Some(why) = self.protection.withholds_group(&existing.name) {
                        result.outcome = Outcome::Protected;
                        result.error = format!(
                            "a privileged group ({why}): not changed unless privileged are included (--include-privileged)"
                        );
                        return Ok(());
                    }
                    if !self.dry_run {
                        let body = GroupWrite {
                            name: wanted.name.clone(),
                            description: wanted.description.clone(),
                            enforce_second_factor: wanted.enforce_second_factor,
                        };
                        client.update_group(&existing.id, &body).await?;
                    }
                    result.outcome = Outcome::Updated;
                    Ok(())
                }
                None => {
                    let body = GroupWrite {
                        name,
                        description,
                        enforce_second_factor,
                    };
                    // What it was created with, for the audit trail and undo.
                    let created = Group {
                        name: body.name.clone(),
                        description: body.description.clone(),
                        enforce_second_factor: body.enforce_second_factor,
                        ..Group::default()
                    };
                    result.changes = Group::default().changes_to(&created);
                    if !self.dry_run {
                        result.user_id = client.create_group(&body).await?.id;
                    }
                    result.outcome = Outcome::Created;
                    Ok(())
                }
            },
        }
    }
}

/// A row of the file: (row, name, description, enforce, cells, why invalid).
type GroupRow = (
    u64,
    String,
    Option<String>,
    Option<bool>,
    Vec<String>,
    Option<String>,
);

/// The file as read: its header, where the name and description are, its rows.
struct GroupFile {
    header: Vec<String>,
    name_at: usize,
    description_at: Option<usize>,
    rows: Vec<GroupRow>,
}

/// Reads the file: a name column (`name`, `group`, `group name`), and
/// optionally `description` and `enforceSecondFactor`.
fn read_rows(options: &GroupsOptions) -> Result<GroupFile, RunError> {
    let mut source = CsvSource::open(&options.file, &options.read)?;
    let header = source.header().to_vec();
    let find = |names: &[&str]| position_of(&header, names);
    let name_at = find(&["name", "group", "groupname"]).ok_or_else(|| {
        RunError::Reader(format!(
            "{}: there is no name column (name, group or group name)",
            crate::input::reader::shown(&options.file)
        ))
    })?;
    let description_at = find(&["description", "desc"]);
    let enforce_at = find(&["enforcesecondfactor", "enforce2fa", "enforcemfa", "mfa"]);
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    while let Some(record) = source.next_record() {
        let record = record?;
        let cell = |at: Option<usize>| record.cell(at);
        let name = cell(Some(name_at)).unwrap_or_default();
        let mut invalid = record.shape_problem(header.len());
        let enforce = match cell(enforce_at) {
            None => None,
            Some(text) => match parse_bool(&text) {
                Some(value) => Some(value),
                None => {
                    invalid = Some(format!(
                        "enforceSecondFactor: '{text}' is not true or false"
                    ));
                    None
                }
            },
        };
        if name.is_empty() {
            invalid = Some("the row has no group name".to_string());
        } else if !seen.insert(name.to_lowercase()) {
            invalid = Some(format!(
                "duplicate group '{name}': an earlier row has it too"
            ));
        }
        let mut cells = record.cells.clone();
        cells.resize(header.len(), String::new());
        rows.push((
            record.row,
            name,
            cell(description_at),
            enforce,
            cells,
            invalid,
        ));
    }
    Ok(GroupFile {
        header,
        name_at,
        description_at,
        rows,
    })
}

/// The tenant's groups the file does not list, as rows after the file's
/// (by name): protected ones left alone, the others pruned (returned).
fn unlisted(
    jobs: &mut Vec<JobLine>,
    groups: &[Group],
    listed: &BTreeSet<String>,
    (header, name_at, description_at): (&[String], usize, Option<usize>),
    protection: &Protection,
) -> Vec<Group> {
    let mut pruned = Vec::new();
    let mut unlisted: Vec<&Group> = groups
        .iter()
        .filter(|g| !listed.contains(&g.name.to_lowercase()))
        .collect();
    unlisted.sort_by_key(|g| g.name.to_lowercase());
    let first_row = jobs.len() as u64 + 1;
    for (row, group) in (first_row..).zip(unlisted) {
        let mut cells = vec![String::new(); header.len()];
        cells[name_at] = group.name.clone();
        if let Some(at) = description_at {
            cells[at] = group.description.clone().unwrap_or_default();
        }
        // A privileged group is deleted only when privileged are included.
        let withheld = protection.withholds_group(&group.name).map(|why| {
            format!("a privileged group ({why}): not deleted unless privileged are included (--include-privileged)")
        });
        let job = match protection.protects_name(&group.name).or(withheld) {
            Some(why) => GroupJob::Protected(Box::new(group.clone()), why),
            None => {
                pruned.push(group.clone());
                GroupJob::Prune(Box::new(group.clone()))
            }
        };
        jobs.push((row, group.name.clone(), cells, Disposition::Process, job));
    }
    pruned
}

/// Each group to prune with its members (eight groups at a time).
async fn with_members(client: &Client, pruned: Vec<Group>) -> Result<Vec<SnapshotItem>, ApiError> {
    let read: Vec<Result<SnapshotItem, ApiError>> = futures::stream::iter(pruned)
        .map(|group| async {
            let members = client.members(TargetKind::Group, &group.id).await?;
            let members = members
                .into_iter()
                .map(|u| Target::new(u.id.clone(), u.fields.username.clone().unwrap_or_default()))
                .collect();
            Ok(SnapshotItem::Group(SnapshotGroup { group, members }))
        })
        .buffer_unordered(8)
        .collect()
        .await;
    read.into_iter().collect()
}

/// The guard over a prune: the groups deleted out of the tenant's
/// `tenant_groups`, and the people who lose a membership with them out
/// of the tenant's users. `Err(refusal)` inside when a real run is
/// refused; a dry run's would-be refusal otherwise.
async fn guard_prune(
    client: &Client,
    items: &[SnapshotItem],
    tenant_groups: u64,
    options: &GroupsOptions,
    events: &dyn Events,
) -> Result<Result<Option<String>, String>, RunError> {
    let mut groups = Taken {
        noun: "groups",
        ..Taken::default()
    };
    let mut members = Taken::users();
    for item in items {
        if let SnapshotItem::Group(pruned) = item {
            groups.reversible.insert(pruned.group.id.clone());
            members
                .reversible
                .extend(pruned.members.iter().map(|m| m.id.clone()));
        }
    }
    let mut verdict = guard::check(&groups, tenant_groups, options.limits);
    if verdict.is_ok() && !members.reversible.is_empty() {
        let tenant_users = crate::engine::users::tenant_size(client).await?;
        verdict = guard::check(&members, tenant_users, options.limits).map_err(|refusal| {
            format!("{refusal} (the members of the groups pruned lose that membership)")
        });
    }
    Ok(guard::enforce(
        verdict,
        (options.run.dry_run, client),
        events,
    ))
}

/// Writes the snapshot of the groups to prune (with their members)
/// before any change, wherever the results go (standard output too):
/// beside the results, else beside the input. Its digest goes in `stamp`.
fn write_snapshot(
    options: &GroupsOptions,
    stamp: &mut crate::output::results_file::writer::RunStamp,
    items: &[SnapshotItem],
    key: &crate::model::SealKey,
) -> Result<PathBuf, RunError> {
    let path = snapshot::path_beside(options.run.files_beside(&options.file), &stamp.run_id);
    let header = snapshot::header(
        &stamp.run_id,
        &stamp.tenant,
        "groups import --prune",
        items.len() as u64,
    );
    stamp.snapshot = snapshot::write(&path, &header, items, key)?;
    Ok(path)
}

/// A decided row: (row, label, cells, disposition, job).
type JobLine = (u64, String, Vec<String>, Disposition, GroupJob);

/// Runs a groups import (or its dry run).
pub async fn run(
    client: Client,
    options: &GroupsOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunEnd<GroupsSummary>, RunError> {
    let (
        started,
        GroupFile {
            header,
            name_at,
            description_at,
            rows,
        },
    ) = crate::engine::read_file(options, events, read_rows).await?;
    events.on(Event::Phase("reading the tenant's groups"));
    let groups: Vec<Group> = client
        .list_all(crate::api::ListRequest::new(&["groups"]))
        .await?;
    let by_name: HashMap<String, Group> = groups
        .iter()
        .map(|g| (g.name.to_lowercase(), g.clone()))
        .collect();
    let listed: BTreeSet<String> = rows.iter().map(|r| r.1.to_lowercase()).collect();
    let mut jobs: Vec<JobLine> = rows
        .into_iter()
        .map(
            |(row, name, description, enforce, cells, invalid)| match invalid {
                Some(why) => (
                    row,
                    name,
                    cells,
                    Disposition::Invalid(why),
                    GroupJob::Nothing,
                ),
                None => {
                    let existing = by_name.get(&name.to_lowercase()).cloned().map(Box::new);
                    let job = GroupJob::Upsert {
                        name: name.clone(),
                        description,
                        enforce_second_factor: enforce,
                        existing,
                    };
                    (row, name, cells, Disposition::Process, job)
                }
            },
        )
        .collect();
    let mut stamp = decided_rows::stamp(RunKind::Groups, options.run.dry_run, &client);
    let mut snapshot_path = None;
    let mut refused = None;
    if !options.prune {
        // Groups created or updated take nothing from anyone; a privileged
        // group is judged row by row (left unless privileged are included).
        guard::clear_rows_judged(options.run.dry_run, &client);
    }
    if options.prune {
        let file = (header.as_slice(), name_at, description_at);
        let pruned = unlisted(&mut jobs, &groups, &listed, file, &options.protection);
        // What goes with a group: its members, read before the guard
        // (they count as users changed) and kept in the snapshot.
        events.on(Event::Phase("reading the members of the groups to prune"));
        let items = with_members(&client, pruned).await?;
        refused = match guard_prune(&client, &items, groups.len() as u64, options, events).await? {
            Ok(refused) => refused,
            Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
        };
        if !options.run.dry_run && !items.is_empty() {
            snapshot_path = Some(write_snapshot(
                options,
                &mut stamp,
                &items,
                client.seal_key(),
            )?);
        }
    }
    let inputs = [options.file.as_path()];
    let run_spec = RunSpec::of(
        &options.run,
        (&stamp, &started),
        (&inputs, &header),
        "applying groups",
    );
    let action = GroupsAction {
        dry_run: options.run.dry_run,
        protection: options.protection.clone(),
    };
    let rows: Vec<DecidedRow<GroupJob>> = jobs.into_iter().map(DecidedRow::from).collect();
    let totals = decided_rows::run(&client, run_spec, action, rows, stops, events).await?;
    let summary = GroupsSummary {
        totals,
        input: crate::input::reader::shown(&options.file),
        tenant_groups: groups.len() as u64,
        snapshot: snapshot_path.map(|p| p.display().to_string()),
    };
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::planned(summary, interrupted, refused))
}
