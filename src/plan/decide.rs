//! What one row means for the tenant, decided without any I/O: create,
//! update (with exactly which fields change), leave alone, skip, or refuse.
//!
//! Invariants: an update body is always the current user merged with the
//! row's non-empty cells, so no field is lost; a row that changes nothing
//! produces no body; secrets never appear in a change description.

use std::collections::BTreeSet;

use serde_json::Value;

use super::access::keys_of;
use super::catalog::{Catalog, Directory, Target};
use crate::input::{MatchBy, Mode, RowInput};
use crate::model::{
    CustomAttribute, Field, FieldChange, FieldKind, PasswordOptions, User, UserFields, UserWrite,
};

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
    /// row's username, if it is not the matched user.
    pub username_holder: Option<&'a User>,
    /// When no user matches: a user who already holds the row's email or
    /// employee number. Creating would make a second account for one person.
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
        if let Some(other) = current.lookalike {
            return RowPlan::refuse(
                None,
                Refusal::Conflict,
                format!(
                    "conflict: username '{}' only looks like '{}' (user {}): its letters come from another script (confusable, Unicode TS #39); nothing created — check the row's spelling",
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

/// Whether `cell` is `have` with letters lost to a lossy encoding: the
/// same length, and every place they differ is a `?` or U+FFFD in the
/// cell where the tenant holds a letter outside ASCII (`?ukasz` for
/// `Łukasz`). Such a cell is never written over the tenant's value.
fn lost_letters(cell: &str, have: &str) -> bool {
    let (cell, have): (Vec<char>, Vec<char>) = (cell.chars().collect(), have.chars().collect());
    if cell.len() != have.len() || cell == have {
        return false;
    }
    cell.iter().zip(&have).all(|(mine, theirs)| {
        mine == theirs || (matches!(mine, '?' | '\u{FFFD}') && !theirs.is_ascii())
    })
}

/// Removals are known by id (the user's current memberships); they are
/// named as additions are, so results, plans and the guard say which
/// group a person leaves, not its id.
fn name_removals(plan: &mut RowPlan, catalog: &Catalog) {
    for (delta, directory) in [
        (&mut plan.groups, &catalog.groups),
        (&mut plan.applications, &catalog.applications),
    ] {
        for target in &mut delta.remove {
            if let Some(known) = directory.resolve(&target.id) {
                target.name = known.name.clone();
            }
        }
    }
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

/// Why a row matched by its key is another person: every other thing it
/// says of who they are (email, employee number, first and last name),
/// at least two of them, disagrees with the matched user. Such a row is
/// a reused name (a new hire given a departed colleague's username), not
/// an update: writing it would hand that account to someone else.
fn another_person(row: &RowInput, existing: &User, policy: &Policy) -> Option<String> {
    use crate::model::text::match_key;
    let key = policy.match_by.field();
    let compared: Vec<(Field, bool)> = [
        Field::Email,
        Field::EmployeeNumber,
        Field::FirstName,
        Field::LastName,
    ]
    .into_iter()
    .filter(|field| *field != key)
    .filter_map(|field| {
        let (mine, theirs) = (row.set.text(field)?, existing.fields.text(field)?);
        let (mine, theirs) = (match_key(mine), match_key(theirs));
        (!mine.is_empty() && !theirs.is_empty()).then_some((field, mine == theirs))
    })
    .collect();
    let names_disagree = compared
        .iter()
        .filter(|(f, _)| matches!(f, Field::FirstName | Field::LastName))
        .all(|(_, same)| !same);
    let others: Vec<&(Field, bool)> = compared
        .iter()
        .filter(|(f, _)| matches!(f, Field::Email | Field::EmployeeNumber))
        .collect();
    let identities = others.len() + usize::from(compared.len() > others.len());
    if identities < 2 || !names_disagree || others.iter().any(|(_, same)| *same) {
        return None;
    }
    let fields: Vec<&str> = compared.iter().map(|(f, _)| f.wire()).collect();
    Some(format!(
        "conflict: {key} '{}' is held by user {} ({} {}), but everything else the row says of the person disagrees ({}): another person, not an update; nothing sent (give them their own {key})",
        existing.fields.text(key).unwrap_or_default(),
        existing.id,
        existing.fields.first_name.as_deref().unwrap_or_default(),
        existing.fields.last_name.as_deref().unwrap_or_default(),
        fields.join(", ")
    ))
}

/// Why a row that matches nobody is still not a new person: another
/// account holds its email or employee number.
fn same_person(row: &RowInput, holder: &User, policy: &Policy) -> String {
    let field = [Field::Email, Field::EmployeeNumber]
        .into_iter()
        .find(|f| {
            let (mine, theirs) = (row.set.text(*f), holder.fields.text(*f));
            mine.zip(theirs).is_some_and(|(a, b)| {
                crate::model::text::match_key(a) == crate::model::text::match_key(b)
            })
        })
        .unwrap_or(Field::Email);
    format!(
        "no user has this {}, but user '{}' (id {}) already has its {field} '{}': one person, one account (match by {field} to update that user)",
        policy.match_by.field(),
        holder.fields.username.as_deref().unwrap_or_default(),
        holder.id,
        row.set.text(field).unwrap_or_default()
    )
}

fn resolve(names: Option<&[String]>, directory: &Directory) -> (Option<Vec<Target>>, Vec<String>) {
    let Some(names) = names else {
        return (None, Vec::new());
    };
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match directory.resolve(name) {
            Some(target) if !found.contains(target) => found.push(target.clone()),
            Some(_) => {}
            None => unknown.push(name.clone()),
        }
    }
    (Some(found), unknown)
}

fn conflict(
    row: &RowInput,
    existing: &User,
    holder: Option<&User>,
    policy: &Policy,
) -> Option<String> {
    if let (Some(wanted), Some(have)) = (
        row.set.employee_number.as_deref(),
        existing.fields.employee_number.as_deref(),
    ) && !have.is_empty()
        && have != wanted
        && policy.match_by != MatchBy::EmployeeNumber
    {
        let key = existing
            .fields
            .text(policy.match_by.field())
            .unwrap_or_default();
        return Some(format!(
            "conflict: {} '{key}' belongs to employee {have}, but the row is for employee {wanted}",
            policy.match_by.field()
        ));
    }
    if let Some(other) = holder.filter(|other| other.id != existing.id) {
        return Some(format!(
            "conflict: the row renames the user to '{}', which belongs to another user ({})",
            row.set.username.as_deref().unwrap_or_default(),
            other.id
        ));
    }
    if let (Some(given), Some(id)) = (row.user_id.as_deref(), Some(existing.id.as_str()))
        && given != id
    {
        return Some(format!(
            "conflict: the row's user_id {given} is not the matched user ({id})"
        ));
    }
    None
}

/// The row's write-only fields, with the command-line defaults filled in.
fn password_options(row: &RowInput, policy: &Policy) -> PasswordOptions {
    let mut options = row.password.clone();
    if options.password.is_none()
        && options.auto_generate_password.is_none()
        && policy.auto_password
    {
        options.auto_generate_password = Some(true);
    }
    // Never left to an undocumented server default: always said.
    options
        .must_change_password_on_logon
        .get_or_insert(policy.must_change_password);
    options.send_email.get_or_insert(policy.send_email);
    options
}

fn sets_password(options: &PasswordOptions) -> bool {
    options.password.is_some() || options.auto_generate_password == Some(true)
}

fn custom_attributes(row: &RowInput, existing: Option<&[CustomAttribute]>) -> Vec<CustomAttribute> {
    let mut attributes: Vec<CustomAttribute> = existing.map(<[_]>::to_vec).unwrap_or_default();
    for (name, value) in &row.custom {
        let position = attributes
            .iter()
            .position(|a| a.name().eq_ignore_ascii_case(name));
        match (position, value) {
            (Some(i), Some(value)) => attributes[i].value = Some(value.clone()),
            (Some(i), None) => {
                attributes.remove(i);
            }
            (None, Some(value)) => attributes.push(CustomAttribute::new(name, value)),
            (None, None) => {}
        }
    }
    attributes
}

fn plan_create(
    row: &RowInput,
    groups: Option<Vec<Target>>,
    applications: Option<Vec<Target>>,
    policy: &Policy,
) -> RowPlan {
    if policy.mode == Mode::Update {
        return RowPlan::refuse(
            None,
            Refusal::NoSuchUser,
            format!(
                "no user with {} '{}' (--mode update does not create users)",
                policy.match_by.field(),
                row.set.text(policy.match_by.field()).unwrap_or_default()
            ),
        );
    }
    // Offline, a row of an upsert may leave out what only a new user
    // needs (its user may exist); the row that would create one may not.
    let missing: Vec<&str> = [Field::Username, Field::Email]
        .into_iter()
        .filter(|field| row.set.text(*field).is_none())
        .map(|field| field.wire())
        .collect();
    if !missing.is_empty() {
        return RowPlan::refuse(
            None,
            Refusal::NoSuchUser,
            format!(
                "no user with {} '{}', and a new user needs {}, which the row leaves empty",
                policy.match_by.field(),
                row.set.text(policy.match_by.field()).unwrap_or_default(),
                missing.join(" and ")
            ),
        );
    }
    let mut fields = row.set.clone();
    // A new hire never depends on an undocumented server default.
    fields.is_enabled.get_or_insert(true);
    if let Some(aliases) = &row.aliases {
        fields.aliases = Some(aliases.clone());
    }
    if !row.custom.is_empty() {
        fields.custom_attributes = Some(custom_attributes(row, None));
    }
    let changes = describe(&UserFields::default(), &fields);
    let password = password_options(row, policy);
    let mut notes = Vec::new();
    if !sets_password(&password) {
        notes.push(
            "created without a password (give --auto-password or a password column)".to_string(),
        );
    }
    RowPlan {
        action: Action::Create(Box::new(UserWrite {
            fields,
            extra: Default::default(),
            password,
        })),
        changes,
        groups: MembershipDelta {
            add: groups.unwrap_or_default(),
            remove: Vec::new(),
        },
        applications: MembershipDelta {
            add: applications.unwrap_or_default(),
            remove: Vec::new(),
        },
        notes,
        kept: Vec::new(),
    }
}

fn plan_update(
    row: &RowInput,
    existing: &User,
    current: Current<'_>,
    groups: Option<Vec<Target>>,
    applications: Option<Vec<Target>>,
    policy: &Policy,
) -> RowPlan {
    let (merged, lossy) = merged_with(row, existing, policy);
    let changes = describe(&existing.fields, &merged.fields);
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
    let body = (!changes.is_empty()).then(|| Box::new(merged));
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

/// The user as it is, with the row's non-empty cells (and clears, aliases
/// and custom attributes) laid over it: no field the row leaves out is
/// lost. A cell that lost letters to its file's encoding is not laid over
/// the tenant's value; why is handed back.
fn merged_with(row: &RowInput, existing: &User, policy: &Policy) -> (UserWrite, Vec<String>) {
    let mut merged = UserWrite::from_user(existing);
    let mut lossy = Vec::new();
    let match_field = policy.match_by.field();
    for &field in Field::ALL {
        match field.kind() {
            // The key the row matched on is the tenant's, spelt its way
            // (case, full-width forms): rewriting it would churn, not change.
            FieldKind::Text
                if field == match_field
                    && row
                        .set
                        .text(field)
                        .zip(existing.fields.text(field))
                        .is_some_and(|(mine, theirs)| {
                            crate::model::text::match_key(mine)
                                == crate::model::text::match_key(theirs)
                        }) => {}
            FieldKind::Text => {
                let have = existing.fields.text(field);
                if let Some(value) = row.set.text(field)
                    && let Some(have) = have.filter(|have| lost_letters(value, have))
                {
                    lossy.push(format!(
                        "{field} kept as '{have}': the file's '{value}' lost letters its encoding cannot hold (a legacy encoding such as Windows-1252 writes them as '?'); save the file as UTF-8"
                    ));
                    continue;
                }
                if let (Some(value), Some(slot)) =
                    (row.set.text(field), merged.fields.text_mut(field))
                {
                    *slot = Some(value.to_string());
                }
            }
            FieldKind::Bool => {
                if let (Some(value), Some(slot)) =
                    (row.set.flag(field), merged.fields.flag_mut(field))
                {
                    *slot = Some(value);
                }
            }
            // Lists and attributes come from their own columns, below.
            FieldKind::List | FieldKind::Attributes => {}
        }
    }
    for &field in &row.clear {
        if let Some(slot) = merged.fields.text_mut(field) {
            *slot = None;
        }
        // Sent as an explicit null, so a server that merges also clears it.
        merged.extra.insert(field.wire().to_string(), Value::Null);
    }
    if let Some(aliases) = &row.aliases {
        merged.fields.aliases = Some(aliases.clone());
    }
    if !row.custom.is_empty() {
        merged.fields.custom_attributes = Some(custom_attributes(
            row,
            existing.fields.custom_attributes.as_deref(),
        ));
    }
    (merged, lossy)
}

/// Adds (and, when syncing, removes) against what the user has now.
fn delta(
    wanted: Option<Vec<Target>>,
    current: Option<&BTreeSet<String>>,
    sync: bool,
) -> MembershipDelta {
    let Some(wanted) = wanted else {
        return MembershipDelta::default();
    };
    let empty = BTreeSet::new();
    let current = current.unwrap_or(&empty);
    let add = wanted
        .iter()
        .filter(|t| !current.contains(&t.id))
        .cloned()
        .collect();
    let remove = if sync {
        current
            .iter()
            .filter(|id| !wanted.iter().any(|t| &t.id == *id))
            .map(|id| Target {
                id: id.clone(),
                name: id.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    MembershipDelta { add, remove }
}

/// The fields that differ between `old` and `new`; empty and absent are the same.
pub fn describe(old: &UserFields, new: &UserFields) -> Vec<FieldChange> {
    Field::ALL
        .iter()
        .filter_map(|&field| {
            let (before, after) = (old.get(field), new.get(field));
            (before.display() != after.display()).then(|| FieldChange {
                field: field.wire().to_string(),
                old: before.exact(),
                new: after.exact(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_lost_to_an_encoding_are_told_apart_from_changes() {
        assert!(lost_letters("?ukasz", "Łukasz"));
        assert!(lost_letters("Zo\u{FFFD}", "Zoë"));
        assert!(!lost_letters("Lukasz", "Łukasz"), "a real change");
        assert!(!lost_letters("?ukasz", "?ukasz"), "unchanged");
        assert!(
            !lost_letters("what?", "whatx"),
            "a question mark where the tenant has ASCII"
        );
        assert!(!lost_letters("?uk", "Łukasz"));
    }
    use crate::input::cells::parse_row;
    use crate::input::columns::map_header;

    fn row(headers: &[&str], cells: &[&str]) -> RowInput {
        let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let (header, _) = map_header(&names, &Default::default());
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        let (input, problems) = parse_row(&header, &cells, &Default::default());
        assert!(problems.is_empty(), "{problems:?}");
        input
    }

    fn catalog() -> Catalog {
        Catalog {
            groups: Directory::new([
                Target {
                    id: "g1".into(),
                    name: "Sales".into(),
                },
                Target {
                    id: "g2".into(),
                    name: "Ops".into(),
                },
            ]),
            applications: Directory::new([Target {
                id: "a1".into(),
                name: "Slack".into(),
            }]),
        }
    }

    fn existing() -> User {
        serde_json::from_value(serde_json::json!({
            "id": "u1", "username": "ana", "email": "ana@example.com", "firstName": "Ana",
            "department": "Sales", "mobile": "+44 1", "employeeNumber": "E1", "lastLogin": "kept"
        }))
        .unwrap()
    }

    #[test]
    fn new_users_are_created_with_their_groups() {
        let input = row(
            &["username", "email", "groups"],
            &["bo", "bo@example.com", "sales;OPS"],
        );
        let policy = Policy {
            auto_password: true,
            ..Default::default()
        };
        let plan = decide(&input, Current::default(), &catalog(), &policy);
        let Action::Create(body) = &plan.action else {
            panic!("{plan:?}")
        };
        assert_eq!(body.password.auto_generate_password, Some(true));
        let added: Vec<&str> = plan.groups.add.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(added, vec!["g1", "g2"]);
    }

    #[test]
    fn updates_merge_and_never_lose_fields() {
        let user = existing();
        let input = row(
            &["username", "department", "mobile", "firstName"],
            &["ana", "Marketing", "<clear>", ""],
        );
        let plan = decide(
            &input,
            Current {
                user: Some(&user),
                ..Default::default()
            },
            &catalog(),
            &Policy::default(),
        );
        let Action::Update {
            body: Some(body), ..
        } = &plan.action
        else {
            panic!("{plan:?}")
        };
        assert_eq!(
            body.fields.first_name.as_deref(),
            Some("Ana"),
            "empty cell keeps the field"
        );
        assert_eq!(body.fields.department.as_deref(), Some("Marketing"));
        assert_eq!(body.fields.mobile, None);
        let json = serde_json::to_value(body.as_ref()).unwrap();
        assert_eq!(json["mobile"], Value::Null, "a clear is sent explicitly");
        assert_eq!(json["lastLogin"], "kept", "unknown fields travel back");
        let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["mobile", "department"]);
        assert_eq!(plan.changes[1].old, "Sales");
    }

    #[test]
    fn a_row_that_changes_nothing_is_unchanged() {
        let user = existing();
        let groups: BTreeSet<String> = ["g1".to_string()].into();
        let input = row(
            &["username", "email", "department", "groups"],
            &["ana", "ana@example.com", "Sales", "Sales"],
        );
        let current = Current {
            user: Some(&user),
            groups: Some(&groups),
            ..Default::default()
        };
        let plan = decide(&input, current, &catalog(), &Policy::default());
        assert_eq!(
            plan.action,
            Action::Unchanged {
                user_id: "u1".into()
            }
        );
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn the_key_a_row_matched_on_keeps_the_tenants_spelling() {
        let user = existing();
        let current = Current {
            user: Some(&user),
            ..Default::default()
        };
        // Case only: the same key, nothing to write.
        let input = row(&["username", "email"], &["ANA", "ana@example.com"]);
        let plan = decide(&input, current, &catalog(), &Policy::default());
        assert!(matches!(plan.action, Action::Unchanged { .. }), "{plan:?}");
        // A field that is not the key is HR's to set, case and all.
        let input = row(&["username", "email"], &["ana", "Ana@Example.com"]);
        let plan = decide(&input, current, &catalog(), &Policy::default());
        let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["email"]);
    }

    #[test]
    fn passwords_of_existing_users_are_left_alone_unless_reset() {
        let user = existing();
        let input = row(&["username", "password"], &["ana", "new-password-1"]);
        let current = Current {
            user: Some(&user),
            ..Default::default()
        };
        let plan = decide(&input, current, &catalog(), &Policy::default());
        assert!(matches!(plan.action, Action::Unchanged { .. }));
        assert!(plan.notes[0].contains("--reset-passwords"));
        let reset = Policy {
            reset_passwords: true,
            ..Default::default()
        };
        let plan = decide(&input, current, &catalog(), &reset);
        let Action::Update {
            body: None,
            reset_password: Some(options),
            ..
        } = &plan.action
        else {
            panic!("{plan:?}")
        };
        assert_eq!(
            options.password.as_ref().unwrap().expose(),
            "new-password-1"
        );
        assert!(!format!("{:?}", plan.changes).contains("new-password-1"));
    }

    #[test]
    fn sync_removes_what_is_not_listed() {
        let user = existing();
        let groups: BTreeSet<String> = ["g1".to_string(), "g2".to_string()].into();
        let input = row(&["username", "groups"], &["ana", "Sales"]);
        let current = Current {
            user: Some(&user),
            groups: Some(&groups),
            ..Default::default()
        };
        let additive = decide(&input, current, &catalog(), &Policy::default());
        assert!(matches!(additive.action, Action::Unchanged { .. }));
        let sync = Policy {
            sync_groups: true,
            ..Default::default()
        };
        let plan = decide(&input, current, &catalog(), &sync);
        assert_eq!(
            plan.groups
                .remove
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            vec!["g2"]
        );
    }

    #[test]
    fn refusals_and_skips() {
        let user = existing();
        let current = Current {
            user: Some(&user),
            ..Default::default()
        };
        let unknown = row(&["username", "groups"], &["ana", "Sales;Nope"]);
        let plan = decide(&unknown, current, &catalog(), &Policy::default());
        assert!(matches!(&plan.action, Action::Refuse { reason, .. } if reason.contains("Nope")));

        let other_employee = row(&["username", "employeeNumber"], &["ana", "E9"]);
        let plan = decide(&other_employee, current, &catalog(), &Policy::default());
        assert!(matches!(&plan.action, Action::Refuse { reason, .. } if reason.contains("E1")));

        let create_only = Policy {
            mode: Mode::Create,
            ..Default::default()
        };
        let plan = decide(
            &row(&["username"], &["ana"]),
            current,
            &catalog(),
            &create_only,
        );
        assert!(matches!(plan.action, Action::Skip { .. }));

        let update_only = Policy {
            mode: Mode::Update,
            ..Default::default()
        };
        let plan = decide(
            &row(&["username"], &["zed"]),
            Current::default(),
            &catalog(),
            &update_only,
        );
        assert!(matches!(plan.action, Action::Refuse { .. }));
    }
}
