//! Whether a row and the tenant disagree about who the person is: another
//! employee behind the matched key, a rename onto someone else's username,
//! a reused name, or a second account for one person. Each answer is the
//! reason a row is refused as a conflict; `None` means no disagreement.

use super::Policy;
use crate::input::{MatchBy, RowInput};
use crate::model::{Field, User};

/// Why a row matched by its key is another person: every other thing it
/// says of who they are (email, employee number, username, first and
/// last name), at least two of them (the two names count as two),
/// disagrees with the matched user.
/// Such a row is a reused name (a new hire given a departed colleague's
/// username, or her old email), not an update: writing it would hand
/// that account to someone else.
pub(super) fn another_person(row: &RowInput, existing: &User, policy: &Policy) -> Option<String> {
    use crate::model::text::match_key;
    let key = policy.match_by.field();
    let compared: Vec<(Field, bool)> = [
        Field::Email,
        Field::EmployeeNumber,
        Field::Username,
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
        .filter(|(f, _)| matches!(f, Field::Email | Field::EmployeeNumber | Field::Username))
        .collect();
    // Both names differing is a person on its own: no one changes first
    // and last name at once (a row with nothing else reuses the username).
    let names = compared.len() - others.len();
    let identities = others.len() + names.min(1) + usize::from(names == 2);
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

/// Which of the row's email and employee number `holder` also holds.
fn shared_identity(row: &RowInput, holder: &User) -> Field {
    [Field::Email, Field::EmployeeNumber]
        .into_iter()
        .find(|f| {
            let (mine, theirs) = (row.set.text(*f), holder.fields.text(*f));
            mine.zip(theirs).is_some_and(|(a, b)| {
                crate::model::text::match_key(a) == crate::model::text::match_key(b)
            })
        })
        .unwrap_or(Field::Email)
}

/// Why a row that matches nobody is still not a new person: another
/// account holds its email or employee number.
pub(super) fn same_person(row: &RowInput, holder: &User, policy: &Policy) -> String {
    let field = shared_identity(row, holder);
    format!(
        "no user has this {}, but user '{}' (id {}) already has its {field} '{}': one person, one account (match by {field} to update that user)",
        policy.match_by.field(),
        holder.fields.username.as_deref().unwrap_or_default(),
        holder.id,
        row.set.text(field).unwrap_or_default()
    )
}

pub(super) fn conflict(
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

/// Why a row may not give its matched user an email or employee number
/// that `other` holds: one person, one account — the write would leave
/// two accounts claiming one person (or move an identity between people).
pub(super) fn identity_taken(row: &RowInput, existing: &User, other: &User) -> String {
    let field = shared_identity(row, other);
    format!(
        "conflict: the row gives user '{}' (id {}) the {field} '{}', which user '{}' (id {}) already holds: one person, one account; nothing sent (change or free the other account first)",
        existing.fields.username.as_deref().unwrap_or_default(),
        existing.id,
        row.set.text(field).unwrap_or_default(),
        other.fields.username.as_deref().unwrap_or_default(),
        other.id
    )
}

/// Why a row that matches nobody by its key may not create a user whose
/// username `holder` holds: the same first and last name with no
/// contradicting employee number is most likely that person under
/// another key; anyone else is another person's account.
pub(super) fn username_taken(row: &RowInput, holder: &User) -> String {
    let username = row.set.username.as_deref().unwrap_or_default();
    let who = format!(
        "user {} ({} {})",
        holder.id,
        holder.fields.first_name.as_deref().unwrap_or_default(),
        holder.fields.last_name.as_deref().unwrap_or_default()
    );
    if probably_same_person(row, holder) {
        format!(
            "conflict: username '{username}' is held by {who}, most likely this person under another key: nothing created (match by username, or give the row the user's email or employee number)"
        )
    } else {
        format!(
            "conflict: username '{username}' belongs to another person ({who}): nothing created (give the row its own username)"
        )
    }
}

/// Whether `holder` is most likely the person the row describes: the
/// same first and last name, and no employee number on both sides that
/// differs (an email may have changed; a number does not).
pub fn probably_same_person(row: &RowInput, holder: &User) -> bool {
    use crate::model::text::match_key;
    let same = |field: Field| {
        row.set
            .text(field)
            .zip(holder.fields.text(field))
            .is_some_and(|(a, b)| !match_key(a).is_empty() && match_key(a) == match_key(b))
    };
    let contradicts = row
        .set
        .text(Field::EmployeeNumber)
        .zip(holder.fields.text(Field::EmployeeNumber))
        .is_some_and(|(a, b)| {
            !match_key(a).is_empty() && !match_key(b).is_empty() && match_key(a) != match_key(b)
        });
    same(Field::FirstName) && same(Field::LastName) && !contradicts
}
