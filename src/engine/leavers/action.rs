//! Offboarding's work on one leaver: the steps asked for, in a fixed
//! order (update, memberships, second factor; or delete), each recorded
//! in the row's result. A step that has nothing to do is not sent: a
//! second run over the same leavers changes nothing. `leave` is the
//! same work as sync and apply record it (a leaver only disabled ends
//! `disabled`; a dry run plans it exactly).

use super::{Found, Leaver, Step, unprocessed};
use crate::api::{ApiError, Client};
use crate::engine::runner::{ProcessedRow, RowAction, settle};
use crate::model::{Credentials, Factor, FieldChange, TargetKind, UserWrite};
use crate::output::{Outcome, RowResult};

/// What every leaver of a run shares.
pub struct OffboardAction {
    pub steps: Vec<Step>,
    /// Decide and record, send nothing.
    pub dry_run: bool,
}

impl RowAction for OffboardAction {
    type Input = Leaver;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        leaver: Leaver,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        let done = if unprocessed(&mut result, &leaver.found) {
            Ok(())
        } else {
            self.offboard(&client, &leaver, &mut result).await
        };
        if done.is_ok() {
            super::landed::record_landed(&mut result, &leaver, &self.steps);
        }
        settle(result, done, &tally)
    }
}

impl OffboardAction {
    /// A leaver offboarded (in a dry run: decided, and planned exactly for
    /// `apply`); a leaver who was only disabled ends `disabled`.
    pub async fn leave(
        &self,
        client: &Client,
        leaver: &Leaver,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let done = self.offboard(client, leaver, result).await;
        let disabled = result.changes.iter().any(|c| c.field == "isEnabled");
        if result.outcome == Outcome::Updated && disabled {
            result.outcome = Outcome::Disabled;
        }
        if self.dry_run
            && matches!(
                result.outcome,
                Outcome::Disabled | Outcome::Updated | Outcome::Deleted
            )
            && let Found::User(user) = &leaver.found
        {
            let exact = crate::engine::plan_rows::PlannedWrites::Offboard {
                user_id: user.id.clone(),
                steps: self.steps.clone(),
            };
            result.planned = Some(Box::new(exact.cells(Some(user), &[])));
        }
        done
    }

    pub(crate) async fn offboard(
        &self,
        client: &Client,
        leaver: &Leaver,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let Found::User(user) = &leaver.found else {
            return Ok(());
        };
        result.user_id = user.id.clone();
        let mut client = client.clone();
        if self.steps.contains(&Step::Delete) {
            // Everything else would be undone by the delete: the snapshot
            // holds the user whole.
            if !self.dry_run {
                client.delete_user(&user.id).await?;
            }
            result.outcome = Outcome::Deleted;
            return Ok(());
        }
        let mut changed = false;
        let mut body = UserWrite::from_user(user);
        let mut change = |field: &str, old: Option<bool>, new: bool| {
            result.changes.push(FieldChange {
                field: field.to_string(),
                old: old.map(|b| b.to_string()).unwrap_or_default(),
                new: new.to_string(),
            });
        };
        if self.steps.contains(&Step::Disable) && user.fields.is_enabled != Some(false) {
            change("isEnabled", user.fields.is_enabled, false);
            body.fields.is_enabled = Some(false);
        }
        if self.steps.contains(&Step::Lock) && user.fields.is_locked != Some(true) {
            change("isLocked", user.fields.is_locked, true);
            body.fields.is_locked = Some(true);
        }
        if !result.changes.is_empty() {
            changed = true;
            if !self.dry_run {
                client.update_user(&user.id, &body).await?;
                // Written: the rest of the row finishes whatever happens.
                client = client.uncut();
            }
        }
        if self.steps.contains(&Step::RevokeAccess) {
            for (kind, targets) in [
                (TargetKind::Group, &leaver.groups),
                (TargetKind::Application, &leaver.applications),
            ] {
                if targets.is_empty() {
                    continue;
                }
                let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
                if !self.dry_run {
                    client.change_targets((kind, false), &user.id, &ids).await?;
                    client = client.uncut();
                }
                let names = targets.iter().map(|t| t.name.clone());
                result.targets_mut(kind, false).extend(names);
                changed = true;
            }
        }
        if self.steps.contains(&Step::RemoveSecondFactor)
            && let Some(kind) = &leaver.second_factor
        {
            if !self.dry_run {
                // The reference's body: the factor's type with `remove`
                // (docs/api-assumptions.md).
                let body = Credentials {
                    id: user.id.clone(),
                    first_factor: None,
                    second_factor: Some(Factor {
                        kind: kind.clone(),
                        data: serde_json::Map::new(),
                        remove: Some(true),
                    }),
                };
                client.set_credentials(&user.id, &body).await?;
            }
            result.changes.push(FieldChange {
                field: "secondFactor".to_string(),
                old: kind.clone(),
                new: String::new(),
            });
            changed = true;
        }
        result.outcome = if changed {
            Outcome::Updated
        } else {
            Outcome::Unchanged
        };
        Ok(())
    }
}
