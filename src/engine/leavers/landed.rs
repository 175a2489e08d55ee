//! Leavers a killed run was offboarding when it died: its intents name
//! their rows, and its writes may have landed before the kill (the
//! disable answered, the memberships not yet removed). Such a row is
//! decided against the tenant as it is now, so nothing is sent twice,
//! but it is recorded against what the killed run saw — its snapshot,
//! sealed before its first change — so its result says everything the
//! row took and undo gives all of it back. Without this, the disable
//! that landed is in no record: the resumed run finds the user disabled
//! already and records only what it still had to do.
//!
//! Invariants: only a snapshot sealed under the tenant's key, written by
//! the run that was sending, of this tenant, is believed; what it says
//! is only ever credited in the direction of the run's steps (enabled
//! then, disabled now, under `disable`); a snapshot that cannot be read
//! (gone, edited, another run's) refuses the resume before any change:
//! what the write on the wire did could not be put on record.

use std::collections::HashMap;
use std::path::Path;

use super::{Found, Leaver, Step};
use crate::api::{ApiError, Client};
use crate::model::{FieldChange, SealKey, TargetKind};
use crate::output::results_file::intents::Intent;
use crate::output::snapshot::{self, OldSeals, SnapshotEntry, SnapshotItem};
use crate::output::{Outcome, RowResult};

/// Gives each leaver a killed run was writing (`on_wire`: its intents
/// that no record settles, beside the results file `resumed_from`) what that run's snapshot says it had,
/// and marks as deleted one that run's delete took. `Err` inside: the
/// refusal, when a row's earlier state cannot be known.
pub async fn recall(
    client: &Client,
    leavers: &mut [Leaver],
    (resumed_from, on_wire): (&Path, &[&Intent]),
    steps: &[Step],
) -> Result<Result<(), String>, ApiError> {
    let mut snapshots: HashMap<&str, Result<HashMap<String, SnapshotEntry>, String>> =
        HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for wire in on_wire
        .iter()
        .filter(|i| !i.is_run_mark() && seen.insert(i.row))
    {
        let Some(leaver) = leavers.iter_mut().find(|l| l.row == wire.row) else {
            continue;
        };
        let read = snapshots.entry(&wire.run_id).or_insert_with(|| {
            read_snapshot(
                resumed_from,
                &wire.run_id,
                (client.seal_key(), client.tenant()),
            )
        });
        let entries = match read {
            Ok(entries) => entries,
            Err(why) => {
                return Ok(Err(format!(
                    "row {} ({}): run {} was writing it when it was killed, and {why}: what that write changed could not be recorded, so the resume is refused before any change. Put back the snapshot that run wrote; without it, `sebulk restore` cannot give those users back either, and a run without --resume records only what it does itself",
                    wire.row, wire.label, wire.run_id
                )));
            }
        };
        match &leaver.found {
            Found::User(user) => {
                leaver.before = entries.get(&user.id).cloned().map(Box::new);
            }
            Found::Missing(_) if steps.contains(&Step::Delete) => {
                let Some(entry) = entries.values().find(|e| {
                    e.user
                        .fields
                        .username
                        .as_deref()
                        .is_some_and(|name| name.eq_ignore_ascii_case(&wire.label))
                }) else {
                    continue;
                };
                let gone = crate::api::found(client.get_user(&entry.user.id).await)?.is_none();
                if gone {
                    leaver.label = wire.label.clone();
                    leaver.found = Found::Deleted(Box::new(entry.user.clone()));
                    leaver.before = Some(Box::new(entry.clone()));
                }
            }
            _ => {}
        }
    }
    Ok(Ok(()))
}

/// Whether the tenant still shows what `result` (a recorded success of
/// an earlier run, `found` its row's user now) says was done: a delete
/// by the user's absence, a disable or lock by the flag, removed
/// memberships by their absence. A row an undo has reversed since is not
/// done, whatever its line says; a second factor's removal cannot be
/// read back and is taken at its word.
pub async fn still_shows(
    client: &Client,
    result: &RowResult,
    found: &Found,
) -> Result<bool, ApiError> {
    let user = match (result.outcome, found) {
        (Outcome::Deleted, found) => return Ok(found.user().is_none()),
        (Outcome::Updated | Outcome::Disabled, Found::User(user)) if user.id == result.user_id => {
            user
        }
        (Outcome::Updated | Outcome::Disabled, _) => return Ok(false),
        _ => return Ok(true),
    };
    let flags_hold = result.changes.iter().all(|change| {
        let flag = match change.field.as_str() {
            "isEnabled" => user.fields.is_enabled,
            "isLocked" => user.fields.is_locked,
            _ => return true,
        };
        flag.map(|f| f.to_string()).as_deref() == Some(change.new.as_str())
    });
    if !flags_hold {
        return Ok(false);
    }
    for kind in TargetKind::ALL {
        let removed = result.targets(kind, false);
        if removed.is_empty() {
            continue;
        }
        let held = client.memberships_of(kind, &user.id).await?;
        if held
            .iter()
            .any(|t| removed.iter().any(|r| r.eq_ignore_ascii_case(&t.name)))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Run `run_id`'s snapshot beside `results`, by user id, when it is the
/// one that run wrote of this tenant and sealed under its key.
fn read_snapshot(
    results: &Path,
    run_id: &str,
    (key, tenant): (&SealKey, &str),
) -> Result<HashMap<String, SnapshotEntry>, String> {
    let (path, read) = snapshot::read_of_run(results, run_id, (key, OldSeals::Refuse))?
        .ok_or_else(|| {
            format!(
                "no snapshot of it is beside {} (*.snapshot-{run_id}.jsonl)",
                results.display()
            )
        })?;
    if read.header.tenant != tenant {
        return Err(format!(
            "{} is not that run's snapshot of this tenant",
            path.display()
        ));
    }
    Ok(read
        .items
        .into_iter()
        .filter_map(|item| match item {
            SnapshotItem::User(entry) => Some((entry.user.id.clone(), *entry)),
            SnapshotItem::Group(_) => None,
        })
        .collect())
}

/// Adds to `result` what the killed run's write took from `leaver`
/// before the kill (its snapshot against the tenant now, in the
/// direction of `steps`) that this run did not do again.
pub fn record_landed(result: &mut RowResult, leaver: &Leaver, steps: &[Step]) {
    let (Some(before), Found::User(now)) = (&leaver.before, &leaver.found) else {
        return;
    };
    let mut landed = false;
    let mut field = |result: &mut RowResult, name: &str, was: Option<bool>, new: bool| {
        if !result.changes.iter().any(|c| c.field == name) {
            result.changes.push(FieldChange {
                field: name.to_string(),
                old: was.map(|b| b.to_string()).unwrap_or_default(),
                new: new.to_string(),
            });
            landed = true;
        }
    };
    let (then, is) = (&before.user.fields, &now.fields);
    if steps.contains(&Step::Disable)
        && then.is_enabled != Some(false)
        && is.is_enabled == Some(false)
    {
        field(result, "isEnabled", then.is_enabled, false);
    }
    if steps.contains(&Step::Lock) && then.is_locked != Some(true) && is.is_locked == Some(true) {
        field(result, "isLocked", then.is_locked, true);
    }
    if steps.contains(&Step::RevokeAccess) {
        for (kind, had, has) in [
            (TargetKind::Group, &before.groups, &leaver.groups),
            (
                TargetKind::Application,
                &before.applications,
                &leaver.applications,
            ),
        ] {
            let removed = result.targets_mut(kind, false);
            for target in had.iter().filter(|t| !has.iter().any(|h| h.id == t.id)) {
                if !removed.contains(&target.name) {
                    removed.push(target.name.clone());
                    landed = true;
                }
            }
        }
    }
    if steps.contains(&Step::RemoveSecondFactor)
        && let Some(kind) = &before.second_factor
        && leaver.second_factor.is_none()
        && !result.changes.iter().any(|c| c.field == "secondFactor")
    {
        result.changes.push(FieldChange {
            field: "secondFactor".to_string(),
            old: kind.clone(),
            new: String::new(),
        });
        landed = true;
    }
    const ORDER: [&str; 3] = ["isEnabled", "isLocked", "secondFactor"];
    result
        .changes
        .sort_by_key(|c| ORDER.iter().position(|f| *f == c.field));
    if landed && result.outcome == Outcome::Unchanged {
        result.outcome = Outcome::Updated;
        result.user_id = now.id.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Target, User};

    fn user(enabled: bool) -> User {
        let mut user = User {
            id: "u1".into(),
            ..User::default()
        };
        user.fields.username = Some("ann".into());
        user.fields.is_enabled = Some(enabled);
        user
    }

    fn group(id: &str) -> Target {
        Target {
            id: id.into(),
            name: format!("G-{id}"),
        }
    }

    fn leaver_between(then: SnapshotEntry, now: User, groups: Vec<Target>) -> Leaver {
        let mut leaver = Leaver::new(3, "ann".into(), vec![], Found::User(Box::new(now)));
        leaver.groups = groups;
        leaver.before = Some(Box::new(then));
        leaver
    }

    #[test]
    fn a_disable_and_removals_that_landed_before_the_kill_are_recorded() {
        let then = SnapshotEntry {
            user: user(true),
            groups: vec![group("a"), group("b")],
            applications: vec![],
            second_factor: None,
            leaving: true,
        };
        // The disable landed and group a went; this run removes b.
        let leaver = leaver_between(then, user(false), vec![group("b")]);
        let mut result = RowResult::new(3, "ann", Outcome::Updated, vec![]);
        result.groups_removed.push("G-b".into());
        record_landed(&mut result, &leaver, &[Step::Disable, Step::RevokeAccess]);
        assert_eq!(result.changes.len(), 1);
        assert_eq!(
            (
                result.changes[0].field.as_str(),
                result.changes[0].old.as_str()
            ),
            ("isEnabled", "true")
        );
        assert_eq!(result.groups_removed, vec!["G-b", "G-a"]);
    }

    #[test]
    fn a_row_with_nothing_left_to_do_is_updated_by_what_landed() {
        let then = SnapshotEntry {
            user: user(true),
            groups: vec![],
            applications: vec![],
            second_factor: Some("totp".into()),
            leaving: true,
        };
        let leaver = leaver_between(then, user(false), vec![]);
        let mut result = RowResult::new(3, "ann", Outcome::Unchanged, vec![]);
        let steps = [Step::Disable, Step::RemoveSecondFactor];
        record_landed(&mut result, &leaver, &steps);
        assert_eq!(result.outcome, Outcome::Updated);
        let fields: Vec<&str> = result.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["isEnabled", "secondFactor"]);
    }

    #[test]
    fn only_changes_in_the_direction_of_the_steps_are_credited() {
        // Disabled then, enabled now: not this run's doing.
        let then = SnapshotEntry {
            user: user(false),
            groups: vec![],
            applications: vec![],
            second_factor: None,
            leaving: true,
        };
        let leaver = leaver_between(then, user(true), vec![]);
        let mut result = RowResult::new(3, "ann", Outcome::Unchanged, vec![]);
        record_landed(&mut result, &leaver, &[Step::Disable, Step::RevokeAccess]);
        assert_eq!(result.outcome, Outcome::Unchanged);
        assert!(result.changes.is_empty());
        // And nothing without the step.
        let then = SnapshotEntry {
            user: user(true),
            groups: vec![group("a")],
            applications: vec![],
            second_factor: None,
            leaving: true,
        };
        let leaver = leaver_between(then, user(false), vec![]);
        let mut result = RowResult::new(3, "ann", Outcome::Unchanged, vec![]);
        record_landed(&mut result, &leaver, &[Step::Lock]);
        assert_eq!(result.outcome, Outcome::Unchanged);
    }
}
