//! Leavers, as every command that offboards sees them (offboard, sync,
//! apply; rehearsal reads their holdings): the steps offboarding takes,
//! a leaver and what its row found in the tenant, what the guard is told
//! they would lose, the row action that takes it (`OffboardAction`), the
//! reading of their holdings and the snapshot written before any change.
//! A leaver who is not processed (protected, missing, the same as an
//! earlier row) gets a result saying so, never silence.

mod action;
mod holdings;
mod landed;
mod snapshot;

use serde::Serialize;

use crate::engine::decided_rows::DecidedRow;
use crate::engine::guard::Taken;
use crate::engine::runner::Disposition;
use crate::model::{Target, User};
use crate::output::{Outcome, RowResult};

pub use action::OffboardAction;
pub use holdings::read_holdings;
pub use landed::{recall, still_shows};
pub use snapshot::{snapshot_of, write_snapshot};

/// One thing offboarding does to a leaver.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// isEnabled = false, through the lossless read-merge-write update.
    Disable,
    /// isLocked = true.
    Lock,
    /// Every group and application membership removed; the account stays.
    RevokeAccess,
    /// The second factor removed through the credentials endpoint.
    RemoveSecondFactor,
    /// The user deleted (after the snapshot).
    Delete,
}

impl Step {
    pub const ALL: [(&'static str, Step); 5] = [
        ("disable", Step::Disable),
        ("lock", Step::Lock),
        ("revoke-access", Step::RevokeAccess),
        ("remove-second-factor", Step::RemoveSecondFactor),
        ("delete", Step::Delete),
    ];

    pub fn name(self) -> &'static str {
        Step::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(n, _)| n)
    }

    /// Reads `disable,revoke-access`.
    pub fn parse_list(text: &str) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let step = Step::ALL
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    let known: Vec<&str> = Step::ALL.iter().map(|(n, _)| *n).collect();
                    format!(
                        "'{name}' is not an offboarding action ({})",
                        known.join(", ")
                    )
                })?;
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
        if steps.is_empty() {
            return Err("--action names at least one of disable, lock, revoke-access, remove-second-factor, delete".into());
        }
        steps.sort();
        Ok(steps)
    }
}

/// A leaver as found: the row, and the user it names (if any).
#[derive(Debug, Clone)]
pub struct Leaver {
    pub row: u64,
    pub label: String,
    pub cells: Vec<String>,
    pub found: Found,
    /// Read for the snapshot (and for revoke-access): what the user had.
    pub groups: Vec<Target>,
    pub applications: Vec<Target>,
    pub second_factor: Option<String>,
    /// What a killed run resumed from saw before its write on the wire
    /// (its snapshot's entry): the row is recorded against it.
    pub before: Option<Box<crate::output::snapshot::SnapshotEntry>>,
    /// A leaver, not a user saved because an update takes some of its
    /// access (the snapshot tells them apart, for undo).
    pub leaving: bool,
    /// The key of the roster row that ends this leaver (sync: an end
    /// date passed), or none when no row names them (found by absence).
    pub ended_by: Option<String>,
}

impl Leaver {
    /// A leaver as found, before its holdings are read.
    pub fn new(row: u64, label: String, cells: Vec<String>, found: Found) -> Self {
        Leaver {
            row,
            label,
            cells,
            found,
            groups: Vec::new(),
            applications: Vec::new(),
            second_factor: None,
            before: None,
            leaving: true,
            ended_by: None,
        }
    }

    /// A leaver the tenant's listing found before the roster's rows are
    /// read again (sync): ended by the row keyed `ended_by`, or absent
    /// from the roster; its row, label and cells are given when the
    /// roster is replayed.
    pub fn listed(user: User, ended_by: Option<String>) -> Self {
        Leaver {
            ended_by,
            ..Leaver::new(0, String::new(), Vec::new(), Found::User(Box::new(user)))
        }
    }

    /// The leaver as a row for the runner (a row a resumed run did is done).
    pub fn prepared(self) -> DecidedRow<Leaver> {
        DecidedRow {
            row: self.row,
            label: self.label.clone(),
            cells: self.cells.clone(),
            disposition: match &self.found {
                Found::Done(result) => Disposition::Done(result.clone()),
                _ => Disposition::Process,
            },
            input: self,
        }
    }
}

/// What a leaver's row found in the tenant.
#[derive(Debug, Clone)]
pub enum Found {
    User(Box<User>),
    /// Left alone on purpose (the reason).
    Protected(Box<User>, String),
    /// Not a user of the tenant, or not one user (the reason).
    Missing(String),
    /// Finished by the run resumed from (`--resume`): carried over.
    Done(Box<RowResult>),
    /// The same user as an earlier row (its number): one decision, made there.
    Same(u64, Box<User>),
    /// Deleted by the killed run resumed from, its delete on the wire at
    /// the kill (the user as its snapshot holds them).
    Deleted(Box<User>),
}

impl Found {
    pub(crate) fn user(&self) -> Option<&User> {
        match self {
            Found::User(user) => Some(user),
            _ => None,
        }
    }
}

/// What the leavers would lose, as far as is known before reading their
/// memberships and factors: an already disabled (or locked) user is not
/// counted for that step; memberships and second factors are counted as
/// there (reading them first would cost two calls per leaver of a run
/// that may be refused).
pub fn taken_by(leavers: &[Leaver], steps: &[Step]) -> Taken {
    let mut taken = Taken::users();
    for user in leavers.iter().filter_map(|l| l.found.user()) {
        let fields = &user.fields;
        let (mut reversible, mut irreversible) = (false, false);
        for step in steps {
            match step {
                Step::Delete | Step::RemoveSecondFactor => irreversible = true,
                Step::Disable => reversible |= fields.is_enabled != Some(false),
                Step::Lock => reversible |= fields.is_locked != Some(true),
                Step::RevokeAccess => reversible = true,
            }
        }
        if irreversible {
            taken.irreversible.insert(user.id.clone());
        } else if reversible {
            taken.reversible.insert(user.id.clone());
        }
    }
    taken
}

/// A result for a leaver who is not processed.
pub fn unprocessed(result: &mut RowResult, found: &Found) -> bool {
    match found {
        Found::Protected(user, reason) => {
            result.outcome = Outcome::Protected;
            result.user_id = user.id.clone();
            result.error = reason.clone();
            true
        }
        Found::Missing(reason) => {
            result.outcome = Outcome::Failed;
            result.error = reason.clone();
            true
        }
        Found::Same(first, user) => {
            result.outcome = Outcome::Unchanged;
            result.user_id = user.id.clone();
            result.error = format!("the same user as row {first}: done there, once");
            true
        }
        Found::Deleted(user) => {
            result.outcome = Outcome::Deleted;
            result.user_id = user.id.clone();
            true
        }
        Found::User(_) | Found::Done(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_in_order() {
        assert_eq!(
            Step::parse_list("revoke-access, disable,disable").unwrap(),
            vec![Step::Disable, Step::RevokeAccess]
        );
        assert!(
            Step::parse_list("vaporise")
                .unwrap_err()
                .contains("disable, lock")
        );
        assert!(Step::parse_list("").is_err());
    }
}
