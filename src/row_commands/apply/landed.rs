//! Rows a killed apply was sending when it died: the intents of the run
//! resumed from name them, and their users changed — maybe by that very
//! write. Such a row is not drift when the tenant shows the plan's write
//! landed: an update's every new value is there, a create's username is
//! held, an offboarding's disable, lock or delete is done. It is then
//! finished (its memberships) and recorded as the killed run's, so undo
//! reverses it (with that run's snapshot); otherwise it stays drifted.

use std::collections::HashMap;

use serde_json::Value;

use super::drift;
use crate::api::{ApiError, Client};
use crate::engine::leavers::Step;
use crate::engine::plan_rows::{Delta, PlannedWrites};
use crate::model::{Field, FieldChange, FieldValue, User};
use crate::output::plan_file::PlanLine;
use crate::output::{Outcome, RowResult};

/// Takes out of `found.drifted` each row in flight at a kill (`in_flight`:
/// row → the run that was sending it) whose write the tenant shows
/// landed; what that run did, by row, for the rows to be finished.
pub async fn settle(
    client: &Client,
    found: &mut drift::Found,
    plan: (&[PlanLine], &[Option<PlannedWrites>]),
    in_flight: &HashMap<u64, String>,
) -> Result<HashMap<u64, RowResult>, ApiError> {
    let mut landed = HashMap::new();
    for (line, exact) in plan.0.iter().zip(plan.1) {
        let (Some(run_id), Some(exact)) = (in_flight.get(&line.row), exact) else {
            continue;
        };
        if !found.drifted.contains_key(&line.row) {
            continue;
        }
        let did = match exact {
            PlannedWrites::Update {
                user_id,
                changes,
                groups,
                applications,
                ..
            } => {
                let fields = changes.iter().any(|c| c.field != "password");
                let shown = match found.users.get(user_id) {
                    Some(user) if fields => updated(user, changes),
                    Some(_) => memberships_shown(client, user_id, (groups, applications)).await?,
                    None => false,
                };
                shown.then(|| (Outcome::Updated, user_id.clone(), changes.clone()))
            }
            PlannedWrites::Create { user, .. } => created(client, user).await?,
            PlannedWrites::Offboard { user_id, steps } => {
                offboarded(found.users.get(user_id), steps)
                    .map(|outcome| (outcome, user_id.clone(), offboard_changes(steps, outcome)))
            }
        };
        if let Some((outcome, user_id, changes)) = did {
            found.drifted.remove(&line.row);
            let mut prior = RowResult::new(line.row, &line.username, outcome, line.cells.clone());
            prior.user_id = user_id;
            prior.changes = changes;
            prior.done_by = run_id.clone();
            landed.insert(line.row, prior);
        }
    }
    Ok(landed)
}

/// The rows a resumed results file says are done that the tenant agrees
/// are: a row the plan sends nothing for, or whose write shows (as for
/// [`settle`]; drift that is this write is no drift). A row it claims
/// but the tenant does not show is done again, as a row never sent (a
/// results file from another run or plan proves nothing).
pub async fn confirm_done(
    client: &Client,
    found: &mut drift::Found,
    plan: (&[PlanLine], &[Option<PlannedWrites>]),
    claimed: HashMap<u64, RowResult>,
) -> Result<HashMap<u64, RowResult>, ApiError> {
    let by: HashMap<u64, String> = claimed
        .iter()
        .map(|(row, result)| (*row, result.done_by.clone()))
        .collect();
    let shown = settle(client, found, plan, &by).await?;
    let sends: std::collections::HashSet<u64> = plan
        .0
        .iter()
        .zip(plan.1)
        .filter(|(_, exact)| exact.as_ref().is_some_and(shows))
        .map(|(line, _)| line.row)
        .collect();
    Ok(claimed
        .into_iter()
        .filter(|(row, _)| !sends.contains(row) || shown.contains_key(row))
        .collect())
}

/// Whether the tenant can show that `exact` was sent: anything but an
/// update that only sets a password (never read back; such a row is
/// taken at the results' word, or its password would be set twice).
fn shows(exact: &PlannedWrites) -> bool {
    match exact {
        PlannedWrites::Update {
            changes,
            groups,
            applications,
            ..
        } => {
            changes.iter().any(|c| c.field != "password")
                || !(groups.add.is_empty()
                    && groups.remove.is_empty()
                    && applications.add.is_empty()
                    && applications.remove.is_empty())
        }
        PlannedWrites::Create { .. } | PlannedWrites::Offboard { .. } => true,
    }
}

/// Whether `user` holds every new value of `changes` (a password set
/// cannot be read back, so it is taken as landed with the rest).
fn updated(user: &User, changes: &[FieldChange]) -> bool {
    !changes.is_empty()
        && changes.iter().all(|change| {
            if change.field == "password" {
                return true;
            }
            let Some(field) = Field::from_wire(&change.field) else {
                return false;
            };
            match user.fields.get(field) {
                FieldValue::Text(text) => text.unwrap_or_default() == change.new,
                FieldValue::Bool(flag) => {
                    flag.map(|f| f.to_string()).unwrap_or_default() == change.new
                }
                _ => false,
            }
        })
}

/// Whether the user holds every membership the plan adds and none it
/// removes (an update that changes memberships alone).
async fn memberships_shown(
    client: &Client,
    user_id: &str,
    (groups, applications): (&Delta, &Delta),
) -> Result<bool, ApiError> {
    if groups.add.is_empty()
        && groups.remove.is_empty()
        && applications.add.is_empty()
        && applications.remove.is_empty()
    {
        return Ok(false);
    }
    for (kind, delta) in [
        (crate::model::TargetKind::Group, groups),
        (crate::model::TargetKind::Application, applications),
    ] {
        if delta.add.is_empty() && delta.remove.is_empty() {
            continue;
        }
        let held: std::collections::HashSet<String> = client
            .memberships_of(kind, user_id)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let added = delta.add.iter().all(|t| held.contains(&t.id));
        let removed = delta.remove.iter().all(|t| !held.contains(&t.id));
        if !(added && removed) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The create the plan sent, when its username is held now by a user
/// with its email too: outcome, id, and the values it was created with.
async fn created(
    client: &Client,
    body: &Value,
) -> Result<Option<(Outcome, String, Vec<FieldChange>)>, ApiError> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    let username = text("username");
    if username.is_empty() {
        return Ok(None);
    }
    let Some(user) = client.find_user_by_username(username).await? else {
        return Ok(None);
    };
    let email = user.fields.email.as_deref().unwrap_or_default();
    if !email.eq_ignore_ascii_case(text("email")) {
        return Ok(None);
    }
    let changes = body
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|(field, value)| {
                    let new = match value {
                        Value::String(text) => text.clone(),
                        Value::Bool(flag) => flag.to_string(),
                        Value::Number(number) => number.to_string(),
                        _ => return None,
                    };
                    Some(FieldChange {
                        field: field.clone(),
                        old: String::new(),
                        new,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some((Outcome::Created, user.id, changes)))
}

/// The changes an offboarding's disable and lock made, as the leave
/// action records them (the plan took them from an enabled, unlocked
/// user, or it would not have made them): what undo puts back.
fn offboard_changes(steps: &[Step], outcome: Outcome) -> Vec<FieldChange> {
    if outcome != Outcome::Disabled {
        return Vec::new();
    }
    let change = |field: &str, old: bool| FieldChange {
        field: field.to_string(),
        old: old.to_string(),
        new: (!old).to_string(),
    };
    let mut changes = Vec::new();
    if steps.contains(&Step::Disable) {
        changes.push(change("isEnabled", true));
    }
    if steps.contains(&Step::Lock) {
        changes.push(change("isLocked", false));
    }
    changes
}

/// What an offboarding did, when the tenant shows its steps done: a
/// delete when the user is gone, else a disable or lock in place.
fn offboarded(user: Option<&User>, steps: &[Step]) -> Option<Outcome> {
    if steps.contains(&Step::Delete) {
        return user.is_none().then_some(Outcome::Deleted);
    }
    let user = user?;
    let disabled = !steps.contains(&Step::Disable) || user.fields.is_enabled == Some(false);
    let locked = !steps.contains(&Step::Lock) || user.fields.is_locked == Some(true);
    let simple = steps
        .iter()
        .all(|s| matches!(s, Step::Disable | Step::Lock));
    (simple && disabled && locked).then_some(Outcome::Disabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(enabled: bool, locked: bool) -> User {
        let mut user = User::default();
        user.fields.is_enabled = Some(enabled);
        user.fields.is_locked = Some(locked);
        user
    }

    #[test]
    fn an_offboarding_landed_when_the_tenant_shows_its_steps() {
        let both = [Step::Disable, Step::Lock];
        let done = offboarded(Some(&user(false, true)), &both);
        assert_eq!(done, Some(Outcome::Disabled));
        let changes = offboard_changes(&both, Outcome::Disabled);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            (changes[0].old.as_str(), changes[0].new.as_str()),
            ("true", "false")
        );
        assert_eq!(
            offboarded(Some(&user(false, false)), &both),
            None,
            "not locked"
        );
        assert_eq!(
            offboarded(Some(&user(true, true)), &both),
            None,
            "not disabled"
        );
        assert_eq!(offboarded(None, &[Step::Delete]), Some(Outcome::Deleted));
        assert_eq!(offboarded(Some(&user(false, true)), &[Step::Delete]), None);
        let revoke = [Step::Disable, Step::RevokeAccess];
        assert_eq!(
            offboarded(Some(&user(false, false)), &revoke),
            None,
            "unknowable"
        );
    }

    #[test]
    fn an_update_landed_when_every_new_value_is_there() {
        let mut moved = User::default();
        moved.fields.department = Some("Ops".into());
        let change = |field: &str, old: &str, new: &str| FieldChange {
            field: field.into(),
            old: old.into(),
            new: new.into(),
        };
        assert!(updated(&moved, &[change("department", "Sales", "Ops")]));
        assert!(!updated(&moved, &[change("department", "Ops", "Sales")]));
        assert!(!updated(&moved, &[]), "nothing to tell by");
        let both = [
            change("department", "Sales", "Ops"),
            change("title", "", "Lead"),
        ];
        assert!(!updated(&moved, &both), "half there is not landed");
    }
}
