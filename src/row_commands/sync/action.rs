//! Sync's work on one row: a roster row is a joiner, a mover or a rehire
//! (done as import does it, with `isEnabled` set by the dates), pending,
//! or out of scope; a leaver is offboarded with the run's leaver actions.

use std::sync::Arc;

use crate::api::{ApiError, Client};
use crate::decision::lookup::Found;
use crate::decision::{Action, Refusal, RowPlan};
use crate::engine::batcher::Pending;
use crate::engine::guard::Protection;
use crate::engine::leavers::{Leaver, OffboardAction, unprocessed};
use crate::engine::runner::{ProcessedRow, RowAction, finish_with};
use crate::engine::upsert::UpsertAction;
use crate::input::RowInput;
use crate::model::User;
use crate::output::{Outcome, RowResult};

/// One row of a sync, decided as far as it can be before its user is
/// looked at.
#[derive(Debug, Clone)]
pub enum SyncJob {
    /// A roster row: joiner, mover, rehire or pending; with a note for
    /// its result (a username taken by another person, and the one used).
    Person(Box<RowInput>, Option<String>),
    /// A leaver (by absence, or by an end date that has passed).
    Leaver(Box<Leaver>),
}

/// The dates a sync decides by, in days since 1970-01-01.
#[derive(Debug, Clone, Copy)]
pub struct Dates {
    pub as_of: i64,
    /// Joiners are created this many days before they start.
    pub create_ahead: i64,
}

/// The tenant users a sync owns: not protected or privileged, and kept
/// by every `--scope` filter (a user field tested as the mapping's
/// filters test a column).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub protection: Protection,
    pub filters: Vec<(crate::model::Field, crate::input::mapping::filter::Filter)>,
}

impl Scope {
    /// Why `user` is not the sync's to touch, if it is not.
    pub fn excludes(&self, user: &User) -> Option<String> {
        if let Some(why) = self.protection.protects(user) {
            return Some(why);
        }
        self.filters.iter().find_map(|(field, filter)| {
            let value = user.fields.get(*field).exact();
            match filter.check(&value) {
                Ok(None) => None,
                Ok(Some(why)) | Err(why) => Some(format!("--scope: {why}")),
            }
        })
    }
}

/// What every row of a sync shares.
pub struct SyncAction {
    pub import: Arc<UpsertAction>,
    pub offboard: OffboardAction,
    pub scope: Scope,
    pub dates: Dates,
}

/// What a roster row comes to once its user (or nobody) is found.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Outside the sync's scope (protected or privileged): never touched.
    OutOfScope(String),
    /// Starts beyond the creation window: nothing yet.
    Pending(i64),
    /// Left before anyone created them: nothing to do.
    LeftUncreated,
    /// Created (enabled once started) or updated, with `isEnabled` as the
    /// dates say; `rehire` when a disabled user comes back.
    Apply { enable: Option<bool>, rehire: bool },
}

/// Decides a roster row against its user (`None`: nobody holds its key).
pub fn decide(input: &RowInput, user: Option<&User>, dates: Dates, scope: &Scope) -> Decision {
    let started = input.start_date.is_none_or(|start| start <= dates.as_of);
    let ended = input.end_date.is_some_and(|end| end <= dates.as_of);
    match user {
        Some(user) => {
            if let Some(why) = scope.excludes(user) {
                return Decision::OutOfScope(why);
            }
            let disabled = user.fields.is_enabled == Some(false);
            if !disabled || !started || ended {
                return Decision::Apply {
                    enable: None,
                    rehire: false,
                };
            }
            // Disabled and started: the joiner created ahead of its start
            // (its start within the window), or a person coming back.
            let just_started = input
                .start_date
                .is_some_and(|start| dates.as_of - start <= dates.create_ahead);
            Decision::Apply {
                enable: Some(true),
                rehire: !just_started,
            }
        }
        None if ended => Decision::LeftUncreated,
        None => match input.start_date {
            Some(start) if start > dates.as_of + dates.create_ahead => Decision::Pending(start),
            _ => Decision::Apply {
                enable: Some(started),
                rehire: false,
            },
        },
    }
}

impl RowAction for SyncAction {
    type Input = SyncJob;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        job: SyncJob,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        let rehearsing = self
            .import
            .rehearsing
            .load(std::sync::atomic::Ordering::SeqCst);
        let done = match job {
            // Leavers have their own guard, judged before: a rehearsal of
            // the rows never offboards anyone.
            SyncJob::Leaver(_) if rehearsing => Ok(Vec::new()),
            SyncJob::Leaver(leaver) if unprocessed(&mut result, &leaver.found) => Ok(Vec::new()),
            SyncJob::Leaver(leaver) => self
                .offboard
                .leave(&client, &leaver, &mut result)
                .await
                .map(|()| Vec::new()),
            SyncJob::Person(input, note) => {
                if let Some(note) = note {
                    result.add_error(note);
                }
                self.person(&client, *input, &mut result).await
            }
        };
        finish_with(result, done.map(|pending| (None, pending)), &tally)
    }
}

impl SyncAction {
    /// The action of a sync with `options`, doing its people as `import` does.
    pub fn new(import: Arc<UpsertAction>, options: &super::SyncOptions) -> Self {
        SyncAction {
            import,
            offboard: OffboardAction {
                steps: options.leavers.clone(),
                dry_run: options.import.run.dry_run,
            },
            scope: options.scope.clone(),
            dates: options.dates,
        }
    }

    /// A roster row: found (in memory: the tenant was listed), decided,
    /// then done as import does it.
    async fn person(
        &self,
        client: &Client,
        mut input: RowInput,
        result: &mut RowResult,
    ) -> Result<Vec<Pending>, ApiError> {
        let met = self.import.lookups.find(client, &input).await?;
        let user = match &met.found {
            Found::One(user) => Some(user.as_ref()),
            _ => None,
        };
        if let Some(user) = user {
            result.user_id = user.id.clone();
            // A person whose roster username belongs to someone else (a
            // second John Smith, created as john.smith2) keeps the one
            // they have: they are matched by their key, not by name.
            if met
                .username_holder
                .as_ref()
                .is_some_and(|h| h.id != user.id)
            {
                input.set.username = user.fields.username.clone();
            }
        }
        let rehire = match decide(&input, user, self.dates, &self.scope) {
            Decision::OutOfScope(why) => {
                result.outcome = Outcome::Protected;
                result.error = format!("outside the sync's scope: {why}");
                return Ok(Vec::new());
            }
            Decision::Pending(start) => {
                let (y, m, d) = crate::model::dates::civil_from_days(start);
                result.outcome = Outcome::Pending;
                result.error = format!(
                    "starts on {y:04}-{m:02}-{d:02}, beyond --create-ahead: created when it comes within it"
                );
                return Ok(Vec::new());
            }
            Decision::LeftUncreated => {
                result.outcome = Outcome::Unchanged;
                result.error = "left before being created: nothing to do".to_string();
                return Ok(Vec::new());
            }
            // The roster's own words win: a row that says the person is
            // not active (Enabled = FALSE, an inactive status) keeps them
            // disabled, joiner or rehire alike.
            Decision::Apply { .. } if input.set.is_enabled == Some(false) => false,
            Decision::Apply { enable, rehire } => {
                if enable.is_some() {
                    input.set.is_enabled = enable;
                }
                rehire
            }
        };
        let (plan, pending) = self.import.run_row(client, &input, result).await?;
        if self.import.dry_run {
            planned(&plan, result);
        }
        if rehire && result.outcome == Outcome::Updated {
            result.outcome = Outcome::Rehired;
        }
        if let Action::Refuse {
            kind: Refusal::Conflict,
            ..
        } = &plan.action
        {
            result.outcome = Outcome::Conflict;
        }
        Ok(pending)
    }
}

/// A dry run's row: what the plan would do, as the outcome it would have.
fn planned(plan: &RowPlan, result: &mut RowResult) {
    result.changes = plan.changes.clone();
    for change in crate::engine::upsert::pending_changes(plan, &result.user_id) {
        result
            .targets_mut(change.kind, change.add)
            .push(change.target.name);
    }
    result.outcome = match &plan.action {
        Action::Create(_) => Outcome::Created,
        Action::Update { .. } => Outcome::Updated,
        Action::Unchanged { .. } => Outcome::Unchanged,
        Action::Skip { reason, .. } => {
            result.add_error(reason);
            Outcome::Skipped
        }
        Action::Refuse { reason, .. } => {
            result.add_error(reason);
            Outcome::Failed
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dates::days_from_civil;

    fn dates() -> Dates {
        Dates {
            as_of: days_from_civil(2026, 12, 3),
            create_ahead: 7,
        }
    }

    fn row(start: Option<(u32, u32)>, end: Option<(u32, u32)>) -> RowInput {
        RowInput {
            start_date: start.map(|(m, d)| days_from_civil(2026, m, d)),
            end_date: end.map(|(m, d)| days_from_civil(2026, m, d)),
            ..RowInput::default()
        }
    }

    fn user(enabled: Option<bool>, user_type: Option<&str>) -> User {
        let mut user = User::default();
        user.fields.username = Some("ana".into());
        user.fields.is_enabled = enabled;
        user.fields.user_type = user_type.map(str::to_string);
        user
    }

    #[test]
    fn joiners_by_their_start_date() {
        let none = Scope::default();
        let apply = |enable| Decision::Apply {
            enable: Some(enable),
            rehire: false,
        };
        assert_eq!(decide(&row(None, None), None, dates(), &none), apply(true));
        assert_eq!(
            decide(&row(Some((12, 1)), None), None, dates(), &none),
            apply(true)
        );
        assert_eq!(
            decide(&row(Some((12, 3)), None), None, dates(), &none),
            apply(true)
        );
        assert_eq!(
            decide(&row(Some((12, 10)), None), None, dates(), &none),
            apply(false)
        );
        assert_eq!(
            decide(&row(Some((12, 11)), None), None, dates(), &none),
            Decision::Pending(days_from_civil(2026, 12, 11))
        );
        assert_eq!(
            decide(&row(Some((1, 5)), Some((11, 30))), None, dates(), &none),
            Decision::LeftUncreated
        );
    }

    #[test]
    fn existing_users_movers_rehires_and_scope() {
        let none = Scope::default();
        let keep = Decision::Apply {
            enable: None,
            rehire: false,
        };
        let enabled = user(Some(true), None);
        let disabled = user(Some(false), Some("user"));
        assert_eq!(
            decide(&row(None, None), Some(&enabled), dates(), &none),
            keep
        );
        // Created ahead, not started yet: stays disabled.
        assert_eq!(
            decide(&row(Some((12, 8)), None), Some(&disabled), dates(), &none),
            keep
        );
        // Its start has come: enabled, not a rehire.
        assert_eq!(
            decide(&row(Some((12, 2)), None), Some(&disabled), dates(), &none),
            Decision::Apply {
                enable: Some(true),
                rehire: false
            }
        );
        // Started long ago (or no date) and disabled: a rehire.
        let rehire = Decision::Apply {
            enable: Some(true),
            rehire: true,
        };
        assert_eq!(
            decide(&row(Some((3, 1)), None), Some(&disabled), dates(), &none),
            rehire
        );
        assert_eq!(
            decide(&row(None, None), Some(&disabled), dates(), &none),
            rehire
        );
        // A later end date is still a current employee; a passed one is not re-enabled.
        assert_eq!(
            decide(&row(None, Some((12, 20))), Some(&disabled), dates(), &none),
            rehire
        );
        assert_eq!(
            decide(&row(None, Some((12, 1))), Some(&disabled), dates(), &none),
            keep
        );
        let admin = user(Some(true), Some("admin"));
        assert!(matches!(
            decide(&row(None, None), Some(&admin), dates(), &none),
            Decision::OutOfScope(_)
        ));
    }
}
