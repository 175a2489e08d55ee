//! `restore SNAPSHOT`: the users a snapshot holds, given back. A user
//! that still exists gets back what offboarding takes away, and nothing
//! else: re-enabled, unlocked, and the memberships it lost (its other
//! fields are never written, so a snapshot cannot put values on a user
//! the run did not change). A deleted user is created again (a new id; a
//! generated password, told only if asked) with its memberships. What
//! already matches is not sent again, so a second restore changes
//! nothing. A removed second factor cannot be given back (its secret was
//! never recorded): the row says so.
//!
//! Identity, not names: the user is found by its recorded id, and must
//! still be the person the snapshot holds (username and employee number
//! alike). A user that is gone while another person now holds its
//! username is a conflict, reported and left alone, never overwritten.
//! Protected and privileged users (as they are now, and as the snapshot
//! would re-create them) are never touched. A snapshot changed after its
//! run wrote it is refused whole (its digest). `--only` gives back some
//! users alone (see [`crate::engine::only`]).

use std::path::PathBuf;

use serde::Serialize;

use crate::api::Client;
use crate::engine::RunEnd;
use crate::engine::decided_rows::{self, DecidedRow, RunSpec};
use crate::engine::give_back::GiveBack;
use crate::engine::guard::Protection;
use crate::engine::results_sink::{RunClock, RunTotals};
use crate::engine::runner::{Disposition, RunError, Stops};
use crate::events::{Event, Events};
use crate::output::results_file::writer::RunKind;
use crate::output::snapshot::{self, SnapshotItem};

/// What a restore is asked to do.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub snapshot: PathBuf,
    /// Email re-created users their new password.
    pub send_email: bool,
    /// Whether a snapshot sealed the old way is read (`--accept-old-seal`).
    pub old_seals: snapshot::OldSeals,
    /// Who is never touched (privileged users unless included).
    pub protection: Protection,
    /// `--only`: the users given back (usernames, emails or employee
    /// numbers); everyone the snapshot holds when empty.
    pub only: Vec<String>,
    /// Where the results go and how.
    pub run: crate::engine::decided_rows::ResultsOptions,
}

/// The entries `--only` names (groups are left out), or why the run is
/// refused: a name that picks nobody.
fn only_these(
    entries: Vec<SnapshotItem>,
    options: &RestoreOptions,
) -> Result<Vec<SnapshotItem>, String> {
    let Some(mut only) = crate::engine::only::Only::new(&options.only) else {
        return Ok(entries);
    };
    let kept = entries
        .into_iter()
        .filter(|item| match item {
            SnapshotItem::User(entry) => {
                let fields = &entry.user.fields;
                let keys = [&fields.username, &fields.email, &fields.employee_number];
                only.picks(keys.into_iter().flatten().map(String::as_str))
            }
            SnapshotItem::Group(_) => false,
        })
        .collect();
    match only.unmatched(&options.snapshot.display().to_string()) {
        Some(why) => Err(why),
        None => Ok(kept),
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RestoreSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub snapshot: String,
    /// The run the snapshot was taken for.
    pub snapshot_of: String,
    /// Earlier snapshots beside it holding some of the same users: a
    /// restore gives users back as the run before it left them, so what
    /// they had before *that* run is in these (newest first).
    pub earlier_snapshots: Vec<EarlierSnapshot>,
}

/// An earlier snapshot of some of the users restored.
#[derive(Debug, Clone, Serialize)]
pub struct EarlierSnapshot {
    pub path: String,
    /// What its run was about to do (`offboard disable,revoke-access`).
    pub purpose: String,
    pub taken_at: String,
    /// How many of the restored users it holds.
    pub users: u64,
}

/// The snapshots beside `path` of the same tenant, taken before it, that
/// hold some of `ids`: the chain a restore is one link of.
fn earlier_snapshots(
    path: &std::path::Path,
    header: &snapshot::SnapshotHeader,
    ids: &std::collections::HashSet<String>,
    key: &crate::model::SealKey,
) -> Vec<EarlierSnapshot> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<EarlierSnapshot> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|other| {
            let name = other.file_name().unwrap_or_default().to_string_lossy();
            name.contains(".snapshot-") && name.ends_with(".jsonl")
        })
        .filter(|other| !crate::output::files::same_file(other, path))
        .filter_map(|other| {
            let snapshot::ReadSnapshot {
                header: earlier,
                items,
                ..
            } = snapshot::read(&other, key, snapshot::OldSeals::Accept).ok()?;
            if earlier.tenant != header.tenant || earlier.taken_at > header.taken_at {
                return None;
            }
            let users = items
                .iter()
                .filter(|item| matches!(item, SnapshotItem::User(e) if ids.contains(&e.user.id)))
                .count() as u64;
            (users > 0).then(|| EarlierSnapshot {
                path: other.display().to_string(),
                purpose: earlier.purpose,
                taken_at: earlier.taken_at,
                users,
            })
        })
        .collect();
    found.sort_by(|a, b| b.taken_at.cmp(&a.taken_at));
    found
}

/// Runs a restore (or its dry run).
pub async fn run(
    client: Client,
    options: &RestoreOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunEnd<RestoreSummary>, RunError> {
    let clock = RunClock::start();
    let snapshot::ReadSnapshot {
        header,
        items: entries,
        unkeyed,
    } = snapshot::read(&options.snapshot, client.seal_key(), options.old_seals)?;
    if unkeyed {
        events.on(Event::Warning(&format!(
            "{} is sealed the old way (a plain digest): restoring it as it stands, as --accept-old-seal says; a change made to it by hand cannot be told",
            options.snapshot.display()
        )));
    }
    let tenant = client.tenant().to_string();
    if header.tenant != tenant {
        // A snapshot is bound to the tenant its run changed: ids mean
        // nothing elsewhere, and names there may be other people.
        return Ok(RunEnd::Refused(format!(
            "{} was taken of {}, not {tenant}: restore gives users back to the tenant they were taken from (--base-url {})",
            options.snapshot.display(),
            header.tenant,
            header.tenant
        )
        .into()));
    }
    let entries = match only_these(entries, options) {
        Ok(entries) => entries,
        Err(why) => return Ok(RunEnd::Refused(why.into())),
    };
    // Once the snapshot is known good (it is refused before any call).
    options.protection.learn_members(&client, None).await?;
    let ids: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|item| match item {
            SnapshotItem::User(e) => Some(e.user.id.clone()),
            SnapshotItem::Group(_) => None,
        })
        .collect();
    let earlier = earlier_snapshots(&options.snapshot, &header, &ids, client.seal_key());
    let stamp = decided_rows::stamp(RunKind::Restore, options.run.dry_run, &client);
    let input_header = vec![
        "kind".to_string(),
        "name".to_string(),
        "email".to_string(),
        "snapshot_id".to_string(),
    ];
    let rows: Vec<DecidedRow<SnapshotItem>> = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let text = |f: &Option<String>| f.clone().unwrap_or_default();
            let cells = match &entry {
                SnapshotItem::User(e) => vec![
                    "user".to_string(),
                    text(&e.user.fields.username),
                    text(&e.user.fields.email),
                    e.user.id.clone(),
                ],
                SnapshotItem::Group(g) => vec![
                    "group".to_string(),
                    g.group.name.clone(),
                    String::new(),
                    g.group.id.clone(),
                ],
            };
            DecidedRow {
                row: index as u64 + 1,
                label: cells[1].clone(),
                cells,
                disposition: Disposition::Process,
                input: entry,
            }
        })
        .collect();
    let inputs = [options.snapshot.as_path()];
    // Each entry is judged as it is restored: protected and privileged
    // users, and privileged groups, are left unless included.
    crate::engine::guard::clear_rows_judged(options.run.dry_run, &client);
    let run_spec = RunSpec::of(
        &options.run,
        (&stamp, &clock),
        (&inputs, &input_header),
        "restoring",
    );
    let action = GiveBack {
        send_email: options.send_email,
        dry_run: options.run.dry_run,
        protection: options.protection.clone(),
    };
    let summary = RestoreSummary {
        totals: decided_rows::run(&client, run_spec, action, rows, stops, events).await?,
        snapshot: options.snapshot.display().to_string(),
        snapshot_of: header.run_id,
        earlier_snapshots: earlier,
    };
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::of(summary, interrupted))
}
