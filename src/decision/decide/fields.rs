//! What a row writes into a user: its cells laid over the tenant's record
//! (nothing the row leaves out is lost, a cell that lost letters to its
//! encoding is kept back), custom attributes, the password options with
//! the run's defaults, and the list of fields that differ.

use serde_json::Value;

use super::Policy;
use crate::input::RowInput;
use crate::model::{
    CustomAttribute, Field, FieldChange, FieldKind, PasswordOptions, User, UserFields, UserWrite,
};

/// The row's write-only fields, with the command-line defaults filled in.
pub(super) fn password_options(row: &RowInput, policy: &Policy) -> PasswordOptions {
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

pub(super) fn sets_password(options: &PasswordOptions) -> bool {
    options.password.is_some() || options.auto_generate_password == Some(true)
}

pub(super) fn custom_attributes(
    row: &RowInput,
    existing: Option<&[CustomAttribute]>,
) -> Vec<CustomAttribute> {
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

/// The user as it is, with the row's non-empty cells (and clears, aliases
/// and custom attributes) laid over it: no field the row leaves out is
/// lost. A cell that lost letters to its file's encoding is not laid over
/// the tenant's value; why is handed back. `None`: nothing the row lays
/// over differs from the tenant's (the user is not copied at all, as it
/// is not for most rows of a nightly file).
pub(super) fn merged_with(
    row: &RowInput,
    existing: &User,
    policy: &Policy,
) -> (Option<UserWrite>, Vec<String>) {
    let mut merged: Option<UserWrite> = None;
    // The user, copied at the first value that differs.
    fn write<'m>(merged: &'m mut Option<UserWrite>, existing: &User) -> &'m mut UserWrite {
        merged.get_or_insert_with(|| UserWrite::from_user(existing))
    }
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
                            mine == theirs
                                || crate::model::text::match_key(mine)
                                    == crate::model::text::match_key(theirs)
                        }) => {}
            FieldKind::Text => {
                let have = existing.fields.text(field);
                let Some(value) = row.set.text(field) else {
                    continue;
                };
                if have == Some(value) {
                    continue;
                }
                if let Some(have) = have.filter(|have| lost_letters(value, have)) {
                    lossy.push(format!(
                        "{field} kept as '{have}': the file's '{value}' lost letters its encoding cannot hold (a legacy encoding such as Windows-1252 writes them as '?'); save the file as UTF-8"
                    ));
                    continue;
                }
                if looks_garbled(field, value) {
                    lossy.push(format!(
                        "{field} kept as '{}': the file's '{value}' {GARBLED}",
                        have.unwrap_or_default()
                    ));
                    continue;
                }
                if let Some(slot) = write(&mut merged, existing).fields.text_mut(field) {
                    *slot = Some(value.to_string());
                }
            }
            FieldKind::Bool => {
                if let Some(value) = row.set.flag(field)
                    && existing.fields.flag(field) != Some(value)
                    && let Some(slot) = write(&mut merged, existing).fields.flag_mut(field)
                {
                    *slot = Some(value);
                }
            }
            // Lists and attributes come from their own columns, below.
            FieldKind::List | FieldKind::Attributes => {}
        }
    }
    for &field in &row.clear {
        if existing.fields.text(field).is_some()
            && let Some(slot) = write(&mut merged, existing).fields.text_mut(field)
        {
            *slot = None;
        }
    }
    if let Some(aliases) = &row.aliases
        && existing.fields.aliases.as_ref() != Some(aliases)
    {
        write(&mut merged, existing).fields.aliases = Some(aliases.clone());
    }
    if !row.custom.is_empty() {
        let attributes = custom_attributes(row, existing.fields.custom_attributes.as_deref());
        if existing.fields.custom_attributes.as_ref() != Some(&attributes) {
            write(&mut merged, existing).fields.custom_attributes = Some(attributes);
        }
    }
    if let Some(merged) = &mut merged {
        for &field in &row.clear {
            // Sent as an explicit null, so a server that merges also clears it.
            merged.extra.insert(field.wire().to_string(), Value::Null);
        }
    }
    (merged, lossy)
}

/// What a cell [`looks_garbled`] is told.
pub(super) const GARBLED: &str = "looks garbled: a '?', U+FFFD or stray symbol (£, ³, ├) where a letter was, or letters of two scripts in one word (a lookalike such as a Cyrillic а, or text read in the wrong encoding); save the file as UTF-8 or name its --encoding, and check the spelling";

pub(super) use crate::model::text::looks_garbled;

/// Whether `cell` is `have` with letters lost to a lossy encoding: the
/// same length, and every place they differ is a `?` or U+FFFD in the
/// cell where the tenant holds a letter outside ASCII (`?ukasz` for
/// `Łukasz`). Such a cell is never written over the tenant's value.
pub(super) fn lost_letters(cell: &str, have: &str) -> bool {
    if cell == have {
        return false;
    }
    // Char by char, without collecting either (every cell of every row
    // of a run comes here).
    let (mut cell, mut have) = (cell.chars(), have.chars());
    loop {
        match (cell.next(), have.next()) {
            (None, None) => return true,
            (Some(mine), Some(theirs)) => {
                let lost = matches!(mine, '?' | '\u{FFFD}') && !theirs.is_ascii();
                if mine != theirs && !lost {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The fields that differ between `old` and `new`; empty and absent are the same.
pub fn describe(old: &UserFields, new: &UserFields) -> Vec<FieldChange> {
    Field::ALL
        .iter()
        .filter_map(|&field| {
            let (before, after) = (old.get(field), new.get(field));
            (!before.shows_as(&after)).then(|| FieldChange {
                field: field.wire().to_string(),
                old: before.exact(),
                new: after.exact(),
            })
        })
        .collect()
}
