//! Plans `apply` can carry out: the seal a dry run's plan file closes
//! with, and the exact change a plan row stands for, as `plan` and `sync --dry-run`
//! write it and `apply` carries it out: nothing is decided again from the
//! input. Each writing row also records what it was decided on — the
//! user's id and a fingerprint of what the decision read (the user's
//! fields, and the memberships of the kinds it changes) — so that `apply`
//! can tell a user that changed since the plan was made (drift).
//!
//! A plan never holds a password: a row whose password came from the
//! input says so (`password_from_file`) and cannot be applied.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::{Action, RowPlan};
use crate::engine::decided_rows::ResultsOptions;
use crate::engine::leavers::Step;
use crate::engine::runner::RunError;
use crate::model::{FieldChange, Target, TargetKind, User, UserWrite};
use crate::output::plan_file::PlanSeal;
use crate::output::plan_file::PlannedCells;

/// What a create was decided on: nobody holding its names.
pub const NEW: &str = "new";

/// One row's writes, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum PlannedWrites {
    /// A user created with `user` (the body as sent, password left out),
    /// then added to the groups and applications.
    Create {
        user: Value,
        #[serde(default)]
        password_from_file: bool,
        #[serde(default)]
        groups: Vec<Target>,
        #[serde(default)]
        applications: Vec<Target>,
    },
    /// The user `user_id` written with `user` (none: only memberships or
    /// the password), its memberships changed.
    Update {
        user_id: String,
        user: Option<Value>,
        /// Reset the password with these options (never the password).
        reset_password: Option<crate::model::PasswordOptions>,
        #[serde(default)]
        password_from_file: bool,
        #[serde(default)]
        changes: Vec<FieldChange>,
        #[serde(default)]
        groups: Delta,
        #[serde(default)]
        applications: Delta,
    },
    /// The leaver `user_id` offboarded with `steps`.
    Offboard { user_id: String, steps: Vec<Step> },
}

/// Memberships added and removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub add: Vec<Target>,
    #[serde(default)]
    pub remove: Vec<Target>,
}

impl Delta {
    fn of(delta: &crate::decision::decide::MembershipDelta) -> Self {
        Delta {
            add: delta.add.clone(),
            remove: delta.remove.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// A body as a plan holds it: without the password.
fn body_value(write: &UserWrite) -> (Value, bool) {
    let mut write = write.clone();
    let from_file = write.password.password.take().is_some();
    (
        serde_json::to_value(&write).unwrap_or(Value::Null),
        from_file,
    )
}

/// A body back from a plan: the fields it names (unknown ones kept as
/// they were read), the password options it carries.
pub fn body_of(value: &Value) -> Result<UserWrite, String> {
    let mut object = value
        .as_object()
        .cloned()
        .ok_or_else(|| "the user body is not a JSON object".to_string())?;
    let mut password = serde_json::Map::new();
    for name in crate::model::user::PASSWORD_FIELDS {
        if let Some(v) = object.remove(name) {
            password.insert(name.to_string(), v);
        }
    }
    let user: User = serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())?;
    let mut write = UserWrite::from_user(&user);
    write.password = serde_json::from_value(Value::Object(password)).map_err(|e| e.to_string())?;
    if write.password.password.is_some() {
        return Err("the plan holds a password, which sebulk never writes into one".into());
    }
    Ok(write)
}

impl PlannedWrites {
    /// The writes of an import row's plan (none for a row that sends nothing).
    pub fn of(plan: &RowPlan) -> Option<PlannedWrites> {
        match &plan.action {
            Action::Create(body) => {
                let (user, password_from_file) = body_value(body);
                Some(PlannedWrites::Create {
                    user,
                    password_from_file,
                    groups: plan.groups.add.clone(),
                    applications: plan.applications.add.clone(),
                })
            }
            Action::Update {
                user_id,
                body,
                reset_password,
            } => {
                let body = body.as_deref().map(body_value);
                let mut reset = reset_password.clone();
                let reset_from_file = reset
                    .as_mut()
                    .is_some_and(|options| options.password.take().is_some());
                Some(PlannedWrites::Update {
                    user_id: user_id.clone(),
                    password_from_file: reset_from_file || body.as_ref().is_some_and(|b| b.1),
                    user: body.map(|b| b.0),
                    reset_password: reset,
                    changes: plan.changes.clone(),
                    groups: Delta::of(&plan.groups),
                    applications: Delta::of(&plan.applications),
                })
            }
            _ => None,
        }
    }

    /// The user the row was decided on (none for a create).
    pub fn user_id(&self) -> Option<&str> {
        match self {
            PlannedWrites::Create { .. } => None,
            PlannedWrites::Update { user_id, .. } | PlannedWrites::Offboard { user_id, .. } => {
                Some(user_id)
            }
        }
    }

    /// Whether it carries a password only the input held.
    pub fn needs_file_password(&self) -> bool {
        match self {
            PlannedWrites::Create {
                password_from_file, ..
            }
            | PlannedWrites::Update {
                password_from_file, ..
            } => *password_from_file,
            PlannedWrites::Offboard { .. } => false,
        }
    }

    /// The membership kinds whose current state the row was decided on.
    pub fn membership_kinds(&self) -> Vec<TargetKind> {
        match self {
            PlannedWrites::Update {
                groups,
                applications,
                ..
            } => [
                (TargetKind::Group, groups),
                (TargetKind::Application, applications),
            ]
            .into_iter()
            .filter(|(_, delta)| !delta.is_empty())
            .map(|(kind, _)| kind)
            .collect(),
            _ => Vec::new(),
        }
    }

    /// The groups the row adds its user to that did not exist when the
    /// plan was made (`--create-missing-groups`), by name.
    pub fn groups_to_create(&self) -> Vec<&str> {
        let added: Vec<&Target> = match self {
            PlannedWrites::Create { groups, .. } => groups.iter().collect(),
            PlannedWrites::Update { groups, .. } => groups.add.iter().collect(),
            PlannedWrites::Offboard { .. } => Vec::new(),
        };
        added
            .into_iter()
            .filter(|target| target.id.starts_with(crate::engine::upsert::NEW_GROUP))
            .map(|target| target.name.as_str())
            .collect()
    }

    /// Of the memberships `read` (all the user's, or those of the targets
    /// a run read from the target side), the ones the row's writes touch:
    /// for each kind the row changes, whether the user is in each target
    /// it adds to or removes from. Plan and apply see these alike however
    /// each read memberships (a plan reading 20 groups' members knows
    /// nothing of a 21st, which apply reading the user's own list sees).
    pub fn touched_memberships(
        &self,
        read: &[(TargetKind, BTreeSet<String>)],
    ) -> Vec<(TargetKind, BTreeSet<String>)> {
        let PlannedWrites::Update {
            groups,
            applications,
            ..
        } = self
        else {
            return Vec::new();
        };
        [
            (TargetKind::Group, groups),
            (TargetKind::Application, applications),
        ]
        .into_iter()
        .filter(|(_, delta)| !delta.is_empty())
        .map(|(kind, delta)| {
            let touched: BTreeSet<&str> = delta
                .add
                .iter()
                .chain(&delta.remove)
                .map(|target| target.id.as_str())
                .collect();
            let member_of = read
                .iter()
                .filter(|(k, _)| *k == kind)
                .flat_map(|(_, ids)| ids)
                .filter(|id| touched.contains(id.as_str()))
                .cloned()
                .collect();
            (kind, member_of)
        })
        .collect()
    }

    /// What the row is decided on when its user is `user` with the
    /// memberships `read`: the user's id and the fingerprint of its fields
    /// and of the memberships its writes touch. The plan writes it; apply
    /// makes it again to tell drift.
    pub fn decided_on(&self, user: &User, read: &[(TargetKind, BTreeSet<String>)]) -> String {
        let touched = self.touched_memberships(read);
        let touched: Vec<(TargetKind, &BTreeSet<String>)> =
            touched.iter().map(|(kind, ids)| (*kind, ids)).collect();
        format!("{}:{}", user.id, fingerprint(user, &touched))
    }

    /// The plan line's machine cells: what the row was decided on (`new`
    /// for a create; else the user's id and the fingerprint of its fields
    /// and of the memberships its writes touch, [`PlannedWrites::touched_memberships`]),
    /// and the writes.
    pub fn cells(
        &self,
        user: Option<&User>,
        read: &[(TargetKind, BTreeSet<String>)],
    ) -> PlannedCells {
        let decided_on = match user {
            Some(user) => self.decided_on(user, read),
            None => NEW.to_string(),
        };
        PlannedCells {
            decided_on,
            exact: serde_json::to_string(self).unwrap_or_default(),
        }
    }

    /// The row as import runs it.
    pub fn to_row_plan(&self) -> Result<RowPlan, String> {
        use crate::decision::decide::MembershipDelta;
        let delta = |d: &Delta| MembershipDelta {
            add: d.add.clone(),
            remove: d.remove.clone(),
        };
        let (action, changes, groups, applications) = match self {
            PlannedWrites::Create {
                user,
                groups,
                applications,
                ..
            } => {
                let body = body_of(user)?;
                let changes = crate::decision::decide::describe(&Default::default(), &body.fields);
                let added = |targets: &Vec<Target>| MembershipDelta {
                    add: targets.clone(),
                    remove: Vec::new(),
                };
                (
                    Action::Create(Box::new(body)),
                    changes,
                    added(groups),
                    added(applications),
                )
            }
            PlannedWrites::Update {
                user_id,
                user,
                reset_password,
                changes,
                groups,
                applications,
                ..
            } => (
                Action::Update {
                    user_id: user_id.clone(),
                    body: user.as_ref().map(body_of).transpose()?.map(Box::new),
                    reset_password: reset_password.clone(),
                },
                changes.clone(),
                delta(groups),
                delta(applications),
            ),
            PlannedWrites::Offboard { .. } => {
                return Err("an offboarding is not an import row".into());
            }
        };
        Ok(RowPlan {
            action,
            changes,
            groups,
            applications,
            notes: Vec::new(),
            kept: Vec::new(),
        })
    }
}

/// The seal of a plan a dry run of `command` writes: what it was made
/// from (the input and its digest, the as-of date and options), for the
/// tenant of `stamp`. Empty unless the dry run writes a file.
pub fn seal_for(
    command: &str,
    stamp: &crate::output::results_file::writer::RunStamp,
    (input, policy, recording): (
        &crate::input::InputSpec,
        &crate::decision::Policy,
        &ResultsOptions,
    ),
    (tenant_users, extra): (Option<u64>, Vec<String>),
    key: &crate::model::SealKey,
) -> Result<PlanSeal, RunError> {
    let mut seal = PlanSeal::new(command);
    seal.key = Some(key.clone());
    if !recording.dry_run || recording.output.is_none() {
        return Ok(seal);
    }
    seal.run_id = stamp.run_id.clone();
    seal.tenant = stamp.tenant.clone();
    seal.input = crate::input::reader::shown(&input.file);
    seal.input_sha256 = crate::output::plan_file::file_digest(&input.file)?;
    seal.tenant_users = tenant_users;
    seal.options = vec![
        format!("match-by={}", policy.match_by.field().wire()),
        format!("mode={:?}", policy.mode).to_lowercase(),
        format!("sync-groups={}", policy.sync_groups),
        format!("sync-applications={}", policy.sync_applications),
    ];
    if let Some(order) = input.vocabulary.date_order {
        seal.options.push(format!("date-order={}", order.name()));
    }
    seal.options.extend(extra);
    Ok(seal)
}

/// What a decision read of a user, as a short digest: its fields (not
/// fields this version does not know, which a listing and a read may
/// differ in) and, for each kind given, the ids of its current targets.
fn fingerprint(user: &User, memberships: &[(TargetKind, &BTreeSet<String>)]) -> String {
    let mut lines = vec![
        user.id.clone(),
        serde_json::to_string(&user.fields).unwrap_or_default(),
    ];
    for (kind, ids) in memberships {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        lines.push(format!("{}:{}", kind.path(), ids.join(",")));
    }
    let digest = crate::output::digested::digest(lines.iter().map(String::as_str));
    digest[..24].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Password, PasswordOptions};

    #[test]
    fn a_plan_never_holds_a_password() {
        let mut body = UserWrite::default();
        body.fields.username = Some("ana".into());
        body.password = PasswordOptions {
            password: Some(Password::new("Secret-123")),
            must_change_password_on_logon: Some(true),
            ..Default::default()
        };
        let plan = RowPlan {
            action: Action::Create(Box::new(body)),
            changes: Vec::new(),
            groups: Default::default(),
            applications: Default::default(),
            notes: Vec::new(),
            kept: Vec::new(),
        };
        let exact = PlannedWrites::of(&plan).unwrap();
        let text = serde_json::to_string(&exact).unwrap();
        assert!(!text.contains("Secret-123"));
        assert!(exact.needs_file_password());
        let back: PlannedWrites = serde_json::from_str(&text).unwrap();
        let Action::Create(body) = back.to_row_plan().unwrap().action else {
            panic!("not a create");
        };
        assert_eq!(body.fields.username.as_deref(), Some("ana"));
        assert_eq!(body.password.must_change_password_on_logon, Some(true));
        assert!(body.password.password.is_none());
    }

    #[test]
    fn fingerprints_change_with_fields_and_memberships() {
        let mut user = User {
            id: "7".into(),
            ..Default::default()
        };
        user.fields.department = Some("Sales".into());
        let none = BTreeSet::new();
        let one: BTreeSet<String> = ["g1".to_string()].into();
        let base = fingerprint(&user, &[]);
        assert_eq!(base, fingerprint(&user, &[]));
        assert_ne!(base, fingerprint(&user, &[(TargetKind::Group, &none)]));
        assert_ne!(
            fingerprint(&user, &[(TargetKind::Group, &none)]),
            fingerprint(&user, &[(TargetKind::Group, &one)])
        );
        user.extra.insert("lastLogin".into(), Value::from("today"));
        assert_eq!(base, fingerprint(&user, &[]), "unknown fields do not count");
        user.fields.department = Some("Ops".into());
        assert_ne!(base, fingerprint(&user, &[]));
    }
}
