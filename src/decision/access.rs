//! What a decided change does to access, whatever command or column it
//! came from: every row's plan is classed here, once, as access taken
//! away (disable, lock, removal from a group or application, a lower user
//! type), handed out (create, enable, unlock, addition), an identity
//! change (username or email), or a privilege change (a higher user type,
//! an addition to a privileged group, any change to a privileged user).
//!
//! Invariants: only what would really change is classed (an already
//! disabled user is not disabled again; a row that changes nothing has no
//! class); privilege fails closed — a user type other than the plain
//! `user` is privileged, and so is a group named privileged by the
//! profile or whose name says admin — and a privilege change is refused
//! in [`crate::decision::decide`] unless the run names the user.

use crate::model::text::{glob, match_key};
use crate::model::{Field, FieldChange, Target, User, UserFields};
use std::collections::HashMap;

/// A decided write as the classes read it: a create or an update, its
/// field changes (old → new) and its membership changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change<'a> {
    pub creates: bool,
    pub fields: &'a [FieldChange],
    pub groups_added: &'a [Target],
    pub groups_removed: &'a [Target],
    pub applications_added: &'a [Target],
    pub applications_removed: &'a [Target],
}

/// The userType of the plain user; every other value is privileged.
const PLAIN_USER: &str = "user";

/// Whether `user` is privileged, and as what. Fails closed: any userType
/// but exactly the plain `user` (any case) is privileged, numbers and
/// unknown words (`2`, `Administrator`) included, and so is a userType
/// the tenant sent in a shape this model does not read (kept raw in
/// `extra`). Only a user whose type is absent or empty counts as plain,
/// the reference's default.
pub fn privileged_type(user: &User) -> Option<String> {
    if let Some(raw) = user.extra.get("userType").filter(|v| !v.is_null()) {
        return Some(raw.to_string());
    }
    privileged_kind(user.fields.user_type.as_deref())
}

/// Whether a userType value is privileged (see [`privileged_type`]).
pub fn privileged_kind(kind: Option<&str>) -> Option<String> {
    match kind.map(str::trim) {
        None | Some("") => None,
        Some(kind) if kind.eq_ignore_ascii_case(PLAIN_USER) => None,
        Some(kind) => Some(kind.to_string()),
    }
}

/// Words in a group's name that make it privileged when the profile
/// names none: such a group is assumed to grant administration.
/// The words that make a group privileged when the profile names none.
pub const PRIVILEGED_WORDS: [&str; 4] = ["admin", "privileged", "superuser", "root"];

/// Which groups are privileged and which users a run may raise or touch
/// although privileged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrivilegeRules {
    /// Group names (or patterns) the profile names privileged; when
    /// empty, any group whose name holds an admin word.
    pub groups: Vec<String>,
    /// Users the run names (`--allow-privileged`, or the profile):
    /// usernames, emails, employee numbers or patterns.
    pub allowed: Vec<String>,
    /// The members of the tenant's privileged groups (user id → group),
    /// once the run has read them ([`PrivilegeRules::learn_members`]): a
    /// plain user in IT Admins is as privileged as an admin.
    pub members: PrivilegedMembers,
}

/// The members of a tenant's privileged groups, read once a run and
/// shared by every copy of the rules that hold them.
pub type PrivilegedMembers = std::sync::Arc<std::sync::OnceLock<HashMap<String, String>>>;

/// Reads who is in the privileged groups among `groups` (every group of
/// the tenant when `None`): one call for the groups, one for each
/// privileged group's members.
pub async fn privileged_members(
    client: &crate::api::Client,
    rules: &PrivilegeRules,
    groups: Option<&[crate::model::Target]>,
) -> Result<HashMap<String, String>, crate::api::ApiError> {
    use crate::model::TargetKind;
    let listed;
    let groups = match groups {
        Some(groups) => groups,
        None => {
            listed = client.targets(TargetKind::Group).await?;
            &listed[..]
        }
    };
    let mut members = HashMap::new();
    for group in groups {
        if rules.privileged_group(&group.name).is_none() {
            continue;
        }
        for user in client.members(TargetKind::Group, &group.id).await? {
            members.entry(user.id).or_insert_with(|| group.name.clone());
        }
    }
    Ok(members)
}

impl PrivilegeRules {
    /// Reads (once a run) who is in the privileged groups among `groups`
    /// (the tenant's, when `None`).
    pub async fn learn_members(
        &self,
        client: &crate::api::Client,
        groups: Option<&[crate::model::Target]>,
    ) -> Result<(), crate::api::ApiError> {
        if self.members.get().is_none() {
            let members = privileged_members(client, self, groups).await?;
            let _ = self.members.set(members);
        }
        Ok(())
    }

    /// Takes the members `other` has read (the same tenant's), if any:
    /// one read a run serves both a run's rules and its protection.
    pub fn share_members(&self, other: &PrivilegeRules) {
        if let Some(members) = other.members.get() {
            let _ = self.members.set(members.clone());
        }
    }

    /// The privileged group `user_id` belongs to, if the run knows one.
    pub fn member_of(&self, user_id: &str) -> Option<&str> {
        self.members.get()?.get(user_id).map(String::as_str)
    }

    /// Why the group `name` is privileged, if it is.
    pub fn privileged_group(&self, name: &str) -> Option<String> {
        let key = match_key(name);
        if self.groups.is_empty() {
            return PRIVILEGED_WORDS
                .iter()
                .find(|word| key.contains(*word))
                .map(|word| {
                    format!("its name holds '{word}' (no privileged_groups in the profile)")
                });
        }
        self.groups
            .iter()
            .find(|pattern| glob(&match_key(pattern), &key))
            .map(|pattern| format!("the profile's privileged_groups names '{pattern}'"))
    }

    /// Why a change with `effect` is not made, if it is not: it changes
    /// privilege, and none of `keys` (the user's username, email and
    /// employee number, as the row and the tenant have them) is named.
    pub fn refusal<'a>(
        &self,
        effect: &AccessEffect,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        if effect.privilege.is_empty() || self.allows(keys.into_iter().collect::<Vec<_>>()) {
            return None;
        }
        Some(format!(
            "a privilege change, not made unless the run names the user (--allow-privileged USER, or allow_privileged in the profile): {}",
            effect.privilege.join("; ")
        ))
    }

    /// Whether the run names a user known by `keys` (username, email,
    /// employee number).
    pub fn allows<'a>(&self, keys: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        self.allowed.iter().any(|pattern| {
            let pattern = match_key(pattern);
            keys.clone()
                .into_iter()
                .map(match_key)
                .any(|key| !key.is_empty() && glob(&pattern, &key))
        })
    }
}

/// What names a user to `--allow-privileged`: its username, email and
/// employee number, as `fields` hold them.
pub fn keys_of(fields: &UserFields) -> impl Iterator<Item = &str> {
    [Field::Username, Field::Email, Field::EmployeeNumber]
        .into_iter()
        .filter_map(|field| fields.text(field))
}

/// What one row's plan does to access.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessEffect {
    /// Access taken away: `disabled`, `locked`, `removed from Sales`, ...
    pub takes: Vec<String>,
    /// Access handed out: `created`, `enabled`, `added to Sales`, ...
    pub hands: Vec<String>,
    /// A new user.
    pub creates: bool,
    /// A re-enable (or unlock) of an existing user.
    pub reenables: bool,
    /// Identity changed: `username ana → ana.m`, `email ...`.
    pub identity: Vec<String>,
    /// Privilege changed or touched: `userType user → admin`, ...
    pub privilege: Vec<String>,
}

impl AccessEffect {
    /// Whether the row changes access at all.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.takes.is_empty()
            && self.hands.is_empty()
            && self.identity.is_empty()
            && self.privilege.is_empty()
    }
}

fn flag(change: &FieldChange) -> (Option<bool>, Option<bool>) {
    let read = |text: &str| match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    (read(&change.old), read(&change.new))
}

/// Classes the field changes of a create or update.
fn field_effects(changes: &[FieldChange], existing: Option<&User>, effect: &mut AccessEffect) {
    for change in changes {
        let old = || format!("'{}'", change.old);
        match change.field.as_str() {
            "isEnabled" => match flag(change) {
                (Some(true) | None, Some(false)) if existing.is_some() => {
                    effect.takes.push("disabled".into())
                }
                (Some(false), Some(true)) => {
                    effect.hands.push("enabled".into());
                    effect.reenables = true;
                }
                _ => {}
            },
            "isLocked" => match flag(change) {
                (Some(false) | None, Some(true)) if existing.is_some() => {
                    effect.takes.push("locked".into())
                }
                (Some(true), Some(false)) => {
                    effect.hands.push("unlocked".into());
                    effect.reenables = true;
                }
                _ => {}
            },
            // Who the account is: its login, its address, HR's key for
            // the person (a sync finds leavers by it), its name; and where
            // its one-time codes go (SMS to the mobile, calls to the phone).
            "username" | "email" | "employeeNumber" | "mobile" | "phone" if existing.is_some() => {
                effect
                    .identity
                    .push(format!("{} {} → '{}'", change.field, old(), change.new))
            }
            "firstName" | "lastName" if existing.is_some() && change.new.is_empty() => effect
                .identity
                .push(format!("{} {} cleared", change.field, old())),
            "userType" => {
                let was = privileged_kind(Some(&change.old));
                let becomes = privileged_kind(Some(&change.new));
                match (was, becomes) {
                    (_, Some(kind)) => effect
                        .privilege
                        .push(format!("userType {} → '{kind}'", old())),
                    (Some(_), None) if existing.is_some() => {
                        effect
                            .takes
                            .push(format!("userType {} → '{}'", old(), change.new))
                    }
                    // Cleared, the tenant gives its default type, which
                    // may be less than the user had.
                    (None, None) if existing.is_some() && change.new.is_empty() => {
                        effect.takes.push(format!("userType {} cleared", old()))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// What `change` (decided against `existing`) does to access, with
/// `rules` saying which groups are privileged.
pub fn effect_of(
    change: Change<'_>,
    existing: Option<&User>,
    rules: &PrivilegeRules,
) -> AccessEffect {
    let mut effect = AccessEffect::default();
    if change.creates {
        effect.creates = true;
        effect.hands.push("created".into());
    }
    field_effects(change.fields, existing, &mut effect);
    let memberships = [
        (change.groups_added, change.groups_removed, "group"),
        (
            change.applications_added,
            change.applications_removed,
            "application",
        ),
    ];
    for (added, removed, noun) in memberships {
        for target in added {
            effect
                .hands
                .push(format!("added to {noun} {}", target.name));
            if noun == "group"
                && let Some(why) = rules.privileged_group(&target.name)
            {
                effect.privilege.push(format!(
                    "added to the privileged group {} ({why})",
                    target.name
                ));
            }
        }
        for target in removed {
            effect
                .takes
                .push(format!("removed from {noun} {}", target.name));
        }
    }
    if let Some(kind) = existing.and_then(privileged_type) {
        effect
            .privilege
            .push(format!("changes a privileged user (userType {kind})"));
    }
    if let Some(group) = existing.and_then(|user| rules.member_of(&user.id)) {
        effect
            .privilege
            .push(format!("changes a member of the privileged group {group}"));
    }
    effect
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(changes: &[(&str, &str, &str)]) -> Vec<FieldChange> {
        changes
            .iter()
            .map(|(field, old, new)| FieldChange {
                field: field.to_string(),
                old: old.to_string(),
                new: new.to_string(),
            })
            .collect()
    }

    fn effect(fields: &[(&str, &str, &str)], user: &User) -> AccessEffect {
        let fields = changes(fields);
        let change = Change {
            fields: &fields,
            ..Change::default()
        };
        effect_of(change, Some(user), &PrivilegeRules::default())
    }

    fn user(kind: Option<&str>) -> User {
        let mut user = User::default();
        user.fields.username = Some("ana".into());
        user.fields.user_type = kind.map(str::to_string);
        user
    }

    #[test]
    fn each_change_is_classed_by_what_it_does() {
        let ana = user(Some("user"));
        let taken = effect(
            &[
                ("isEnabled", "true", "false"),
                ("isLocked", "false", "true"),
                ("email", "a@x.io", "a@y.io"),
                ("department", "Sales", "Ops"),
            ],
            &ana,
        );
        assert_eq!(taken.takes, ["disabled", "locked"]);
        assert_eq!(taken.identity.len(), 1);
        assert!(taken.privilege.is_empty() && taken.hands.is_empty());

        let back = effect(&[("isEnabled", "false", "true")], &ana);
        assert!(back.reenables && back.hands == ["enabled"]);

        let raised = effect(&[("userType", "user", "admin")], &ana);
        assert_eq!(raised.privilege.len(), 1, "{raised:?}");
        let lowered = effect(&[("userType", "admin", "user")], &user(Some("admin")));
        assert_eq!(lowered.takes.len(), 1);
        assert!(
            lowered.privilege[0].contains("privileged user"),
            "touching an admin is a privilege change: {lowered:?}"
        );
        assert!(effect(&[], &ana).is_empty());
    }

    #[test]
    fn privileged_groups_by_profile_or_by_name() {
        let rules = PrivilegeRules::default();
        assert!(rules.privileged_group("IT Admins").is_some());
        assert!(rules.privileged_group("Domain Administrators").is_some());
        assert!(rules.privileged_group("All Staff").is_none());
        let named = PrivilegeRules {
            groups: vec!["Break Glass".into(), "ops-*".into()],
            allowed: Vec::new(),
            ..Default::default()
        };
        assert!(named.privileged_group("break glass").is_some());
        assert!(named.privileged_group("ops-root").is_some());
        assert!(
            named.privileged_group("IT Admins").is_none(),
            "the profile's list is the list"
        );

        let added = [Target::new("g1", "IT Admins")];
        let removed = [Target::new("g2", "Sales")];
        let change = Change {
            groups_added: &added,
            groups_removed: &removed,
            ..Change::default()
        };
        let effect = effect_of(change, Some(&user(None)), &rules);
        assert_eq!(effect.privilege.len(), 1);
        assert_eq!(effect.takes, ["removed from group Sales"]);
    }

    #[test]
    fn a_run_names_the_users_it_may_raise() {
        let rules = PrivilegeRules {
            groups: Vec::new(),
            allowed: vec!["olu".into(), "svc-*".into()],
            ..Default::default()
        };
        assert!(rules.allows(["OLU", "olu@x.io"]));
        assert!(rules.allows(["svc-backup"]));
        assert!(!rules.allows(["ana", ""]));
    }
}
