//! What one row means for the tenant, decided without any I/O: create,
//! update (with exactly which fields change), leave alone, skip, or refuse.
//!
//! Invariants: an update body is always the current user merged with the
//! row's non-empty cells, so no field is lost; a row that changes nothing
//! produces no body; secrets never appear in a change description.
//!
//! The parts: [`identity`] says when a row and the tenant disagree about
//! who the person is, [`memberships`] what groups and applications change,
//! [`fields`] what the row writes into a user (fields and password), and
//! [`create`] and [`update`] assemble the plan for a new or existing user.
//! This file holds the types and [`decide`], which calls them in order.

mod create;
mod fields;
mod identity;
mod memberships;
#[cfg(test)]
mod tests;
mod update;

use std::collections::BTreeSet;

use super::access::keys_of;
use super::catalog::{Catalog, Target};
use crate::input::{MatchBy, Mode, RowInput};
use crate::model::{FieldChange, PasswordOptions, User, UserWrite};

use create::plan_create;
pub use fields::describe;
pub use identity::probably_same_person;
use identity::{another_person, conflict, identity_taken, same_person, username_taken};
use memberships::{name_removals, resolve};
use update::plan_update;

/// Import options that shape decisions.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub mode: Mode,
    pub match_by: MatchBy,
    pub sync_groups: bool,
    pub sync_applications: bool,
    pub create_missing_groups: bool,
    pub reset_passwords: bool,
    /// Password defaults for rows that say nothing.
    pub auto_password: bool,
    pub must_change_password: bool,
    pub send_email: bool,
    /// Which groups are privileged, and which users the run may raise or
    /// change although privileged (none unless named).
    pub privilege: super::access::PrivilegeRules,
}

/// What will happen to the user record itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create(Box<UserWrite>),
    /// `body` is `None` when only memberships or the password change.
    Update {
        user_id: String,
        body: Option<Box<UserWrite>>,
        reset_password: Option<PasswordOptions>,
    },
    Unchanged {
        user_id: String,
    },
    /// `--mode create` and the user exists.
    Skip {
        user_id: String,
        reason: String,
    },
    /// The row cannot be applied; nothing is sent for it.
    Refuse {
        user_id: Option<String>,
        kind: Refusal,
        reason: String,
    },
}

/// Why a row is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The row and the tenant disagree about who the user is.
    Conflict,
    /// The row names groups or applications the tenant does not have.
    UnknownTarget,
    /// Several users share the row's match key.
    Ambiguous,
    /// No user matches, and none is created (`--mode update`, or the row
    /// lacks what a new user needs).
    NoSuchUser,
    /// The row would raise a user type, add to a privileged group or
    /// change a privileged user, and the run does not name that user.
    Privileged,
    /// A new user's name lost letters to its file's encoding.
    LostLetters,
}

/// What a plan says will happen to a row, as plans and summaries count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanAction {
    Create,
    Update,
    Unchanged,
    Skip,
    Conflict,
    Fail,
    Invalid,
    NotAttempted,
    /// Left out by the mapping's filters.
    Filtered,
    /// A privilege change the run does not name: nothing is sent.
    Protected,
}

impl PlanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Create => "create",
            PlanAction::Update => "update",
            PlanAction::Unchanged => "unchanged",
            PlanAction::Skip => "skip",
            PlanAction::Conflict => "conflict",
            PlanAction::Fail => "fail",
            PlanAction::Invalid => "invalid",
            PlanAction::NotAttempted => "not_attempted",
            PlanAction::Filtered => "filtered",
            PlanAction::Protected => "protected",
        }
    }

    /// Whether an import would carry the row out as asked.
    pub fn is_clean(self) -> bool {
        matches!(
            self,
            PlanAction::Create
                | PlanAction::Update
                | PlanAction::Unchanged
                | PlanAction::Filtered
                | PlanAction::Protected
        )
    }
}

impl Action {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Action::Create(_) => None,
            Action::Update { user_id, .. }
            | Action::Unchanged { user_id }
            | Action::Skip { user_id, .. } => Some(user_id),
            Action::Refuse { user_id, .. } => user_id.as_deref(),
        }
    }

    /// What a plan calls it.
    pub fn planned(&self) -> PlanAction {
        match self {
            Action::Create(_) => PlanAction::Create,
            Action::Update { .. } => PlanAction::Update,
            Action::Unchanged { .. } => PlanAction::Unchanged,
            Action::Skip { .. } => PlanAction::Skip,
            Action::Refuse {
                kind: Refusal::Conflict,
                ..
            } => PlanAction::Conflict,
            Action::Refuse {
                kind: Refusal::Privileged,
                ..
            } => PlanAction::Protected,
            Action::Refuse { .. } => PlanAction::Fail,
        }
    }
}

/// Membership changes of one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipDelta {
    pub add: Vec<Target>,
    pub remove: Vec<Target>,
}

impl MembershipDelta {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Everything decided about one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPlan {
    pub action: Action,
    pub changes: Vec<FieldChange>,
    pub groups: MembershipDelta,
    pub applications: MembershipDelta,
    /// Things the admin should know that do not stop the row.
    pub notes: Vec<String>,
    /// Fields the row gives but that are not written, and why (a cell
    /// that lost letters to its file's encoding): the results say so.
    pub kept: Vec<String>,
}

impl RowPlan {
    /// A plan that sends nothing for the row, for `reason`.
    pub fn refuse(user_id: Option<String>, kind: Refusal, reason: String) -> Self {
        Self::only(Action::Refuse {
            user_id,
            kind,
            reason,
        })
    }

    /// A plan that leaves the row's user (`user_id`) as it is, with
    /// nothing to say.
    pub fn unchanged(user_id: String) -> Self {
        Self::only(Action::Unchanged { user_id })
    }

    /// Whether the plan leaves its user as it is with nothing to say (no
    /// field kept back, no note): deciding it again gives the same.
    pub fn settles_quietly(&self) -> bool {
        matches!(self.action, Action::Unchanged { .. })
            && self.changes.is_empty()
            && self.groups.is_empty()
            && self.applications.is_empty()
            && self.kept.is_empty()
    }

    /// A plan with an action and nothing else.
    fn only(action: Action) -> Self {
        RowPlan {
            action,
            changes: Vec::new(),
            groups: MembershipDelta::default(),
            applications: MembershipDelta::default(),
            notes: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// The write as the access classes read it; `None` when nothing is sent.
    pub fn change(&self) -> Option<super::access::Change<'_>> {
        let creates = match &self.action {
            Action::Create(_) => true,
            Action::Update { .. } => false,
            _ => return None,
        };
        Some(super::access::Change {
            creates,
            fields: &self.changes,
            groups_added: &self.groups.add,
            groups_removed: &self.groups.remove,
            applications_added: &self.applications.add,
            applications_removed: &self.applications.remove,
        })
    }

    /// What the row does to access (nothing when it sends nothing).
    pub fn effect(
        &self,
        existing: Option<&User>,
        rules: &super::access::PrivilegeRules,
    ) -> super::access::AccessEffect {
        self.change()
            .map(|change| super::access::effect_of(change, existing, rules))
            .unwrap_or_default()
    }

    /// How many API writes this row needs on its own (memberships excluded).
    pub fn own_writes(&self) -> u64 {
        match &self.action {
            Action::Create(_) => 1,
            Action::Update {
                body,
                reset_password,
                ..
            } => u64::from(body.is_some()) + u64::from(reset_password.is_some()),
            _ => 0,
        }
    }
}

/// What the tenant holds for a row's user, as far as the decision needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Current<'a> {
    pub user: Option<&'a User>,
    /// Ids of the user's groups; `None` when not looked up.
    pub groups: Option<&'a BTreeSet<String>>,
    pub applications: Option<&'a BTreeSet<String>>,
    /// When matching by email or employee number: the user who holds the
    /// row's username, if it is not the matched user; when no user
    /// matches (and the tenant was listed), the user who holds it.
    pub username_holder: Option<&'a User>,
    /// A user other than the matched one who already holds the row's
    /// email or employee number: creating would make a second account for
    /// one person; updating would give one person's identity to two.
    pub identity_holder: Option<&'a User>,
    /// When no user matches: a user whose username only looks like the
    /// row's (`јohn.smith` beside `john.smith`).
    pub lookalike: Option<&'a User>,
}

/// Decides what `row` means, given what the tenant holds.
pub fn decide(row: &RowInput, current: Current<'_>, catalog: &Catalog, policy: &Policy) -> RowPlan {
    let (groups, unknown_groups) = resolve(row.groups.as_deref(), &catalog.groups);
    let (applications, unknown_apps) = resolve(row.applications.as_deref(), &catalog.applications);
    let mut unknown = Vec::new();
    if !unknown_groups.is_empty() {
        unknown.push(format!("unknown group(s): {}", unknown_groups.join(", ")));
    }
    if !unknown_apps.is_empty() {
        unknown.push(format!(
            "unknown application(s): {}",
            unknown_apps.join(", ")
        ));
    }
    let user_id = current.user.map(|u| u.id.clone());
    if !unknown.is_empty() {
        return RowPlan::refuse(user_id, Refusal::UnknownTarget, unknown.join("; "));
    }
    let Some(existing) = current.user else {
        if let Some(holder) = current.identity_holder {
            return RowPlan::refuse(None, Refusal::Conflict, same_person(row, holder, policy));
        }
        if let Some(holder) = current.username_holder {
            return RowPlan::refuse(None, Refusal::Conflict, username_taken(row, holder));
        }
        if let Some(other) = current.lookalike {
            return RowPlan::refuse(
                None,
                Refusal::Conflict,
                format!(
                    "conflict: username '{}' only looks like '{}' (user {}): one of the two is spelt with letters of another script (confusable, Unicode TS #39); nothing created — check the row's spelling and that user's",
                    row.set.username.as_deref().unwrap_or_default(),
                    other.fields.username.as_deref().unwrap_or_default(),
                    other.id
                ),
            );
        }
        return unprivileged(
            plan_create(row, groups, applications, policy),
            row,
            None,
            policy,
        );
    };
    if let Some(reason) = conflict(row, existing, current.username_holder, policy)
        .or_else(|| another_person(row, existing, policy))
        .or_else(|| {
            let other = current.identity_holder.filter(|o| o.id != existing.id)?;
            Some(identity_taken(row, existing, other))
        })
    {
        return RowPlan::refuse(user_id, Refusal::Conflict, reason);
    }
    if policy.mode == Mode::Create {
        return RowPlan::only(Action::Skip {
            user_id: existing.id.clone(),
            reason: "the user exists and --mode create leaves existing users alone".to_string(),
        });
    }
    let mut plan = plan_update(row, existing, current, groups, applications, policy);
    name_removals(&mut plan, catalog);
    unprivileged(plan, row, Some(existing), policy)
}

/// `plan`, or its refusal when it changes privilege (raises a user type,
/// adds to a privileged group, changes a privileged user) for a user the
/// run does not name: privilege fails closed.
fn unprivileged(
    plan: RowPlan,
    row: &RowInput,
    existing: Option<&User>,
    policy: &Policy,
) -> RowPlan {
    let effect = plan.effect(existing, &policy.privilege);
    let tenant_keys = existing.into_iter().flat_map(|user| keys_of(&user.fields));
    match policy
        .privilege
        .refusal(&effect, keys_of(&row.set).chain(tenant_keys))
    {
        None => plan,
        Some(why) => RowPlan::refuse(existing.map(|u| u.id.clone()), Refusal::Privileged, why),
    }
}
