//! The plan for a row that matches no user: refused when the run does not
//! create (`--mode update`) or the row lacks what a new user needs,
//! otherwise a create with every field said (enabled unless the row says
//! not) and the row's memberships as additions.

use super::fields::{
    GARBLED, custom_attributes, describe, looks_garbled, password_options, sets_password,
};
use super::{Action, MembershipDelta, Policy, Refusal, RowPlan};
use crate::decision::catalog::Target;
use crate::input::{Mode, RowInput};
use crate::model::{Field, UserFields, UserWrite};

pub(super) fn plan_create(
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
    let lost: Vec<String> = Field::ALL
        .iter()
        .filter_map(|field| {
            let value = row.set.text(*field)?;
            looks_garbled(*field, value).then(|| format!("{field} '{value}'"))
        })
        .collect();
    if !lost.is_empty() {
        return RowPlan::refuse(
            None,
            Refusal::LostLetters,
            format!("{} {GARBLED}: nothing created", lost.join(", ")),
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
