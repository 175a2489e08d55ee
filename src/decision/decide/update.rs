//! The plan for a row that matches a user: the merged body when a field
//! changes, a password reset only with `--reset-passwords`, membership
//! deltas, and `Unchanged` when nothing at all would be sent.

use super::fields::{describe, merged_with, password_options, sets_password};
use super::memberships::delta;
use super::{Action, Current, Policy, RowPlan};
use crate::decision::catalog::Target;
use crate::input::RowInput;
use crate::model::{FieldChange, User};

pub(super) fn plan_update(
    row: &RowInput,
    existing: &User,
    current: Current<'_>,
    groups: Option<Vec<Target>>,
    applications: Option<Vec<Target>>,
    policy: &Policy,
) -> RowPlan {
    let (merged, lossy) = merged_with(row, existing, policy);
    let changes = merged
        .as_ref()
        .map(|merged| describe(&existing.fields, &merged.fields))
        .unwrap_or_default();
    let mut notes = Vec::new();
    let password = password_options(row, policy);
    let reset_password = if sets_password(&row.password)
        || (policy.reset_passwords && sets_password(&password))
    {
        if policy.reset_passwords {
            Some(password)
        } else {
            notes.push("password ignored: the user exists (--reset-passwords sets it)".to_string());
            None
        }
    } else {
        None
    };
    let group_delta = delta(groups, current.groups, policy.sync_groups);
    let app_delta = delta(applications, current.applications, policy.sync_applications);
    let body = merged.filter(|_| !changes.is_empty()).map(Box::new);
    let mut all_changes = changes;
    if reset_password.is_some() {
        all_changes.push(FieldChange::password());
    }
    let action = if body.is_none()
        && reset_password.is_none()
        && group_delta.is_empty()
        && app_delta.is_empty()
    {
        Action::Unchanged {
            user_id: existing.id.clone(),
        }
    } else {
        Action::Update {
            user_id: existing.id.clone(),
            body,
            reset_password,
        }
    };
    RowPlan {
        action,
        changes: all_changes,
        groups: group_delta,
        applications: app_delta,
        notes,
        kept: lossy,
    }
}
