//! Giving back what a snapshot holds, one entry at a time: the row
//! action `restore` runs over a snapshot and `undo` uses for a row its
//! run deleted. A user that still exists gets back what offboarding
//! takes away, and nothing else: re-enabled, unlocked, and the
//! memberships it lost (its other fields are never written). A deleted
//! user is created again (a new id; a generated password, told only if
//! asked) with its memberships. What already matches is not sent again.
//! Identity, not names: the user is found by its recorded id and must
//! still be the person the snapshot holds; a user that is gone while
//! another person holds its username is a conflict, reported and left
//! alone. Protected and privileged users are never touched.

use std::collections::BTreeSet;

use crate::api::{ApiError, Client, found};
use crate::decision::decide::describe;
use crate::engine::guard::Protection;
use crate::engine::runner::{ProcessedRow, RowAction, settle};
use crate::model::text::match_key;
use crate::model::{Field, PasswordOptions, Target, TargetKind, User, UserFields, UserWrite};
use crate::output::snapshot::{SnapshotEntry, SnapshotGroup, SnapshotItem};
use crate::output::{Outcome, RowResult};

/// Gives back one snapshot entry.
pub struct GiveBack {
    pub send_email: bool,
    pub dry_run: bool,
    /// Who is never touched.
    pub protection: Protection,
}

/// Why the user found by id is not the person a snapshot holds, if it
/// is not: its username or employee number changed since (a renamed
/// user is for a person to look at, not for a snapshot to overwrite).
fn other_person(now: &User, was: &User) -> Option<String> {
    [Field::Username, Field::EmployeeNumber]
        .into_iter()
        .find_map(|field| {
            let now_value = now.fields.text(field).unwrap_or_default();
            let was_value = was.fields.text(field).unwrap_or_default();
            (match_key(now_value) != match_key(was_value)).then(|| {
                format!(
                    "user {} is no longer the person the snapshot holds ({field} was '{was_value}', now '{now_value}')",
                    now.id
                )
            })
        })
}

impl RowAction for GiveBack {
    type Input = SnapshotItem;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        item: SnapshotItem,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        let done = match &item {
            SnapshotItem::User(entry) => self.restore(&client, entry, &mut result).await,
            SnapshotItem::Group(entry) => self.restore_group(&client, entry, &mut result).await,
        };
        settle(result, done, &tally)
    }
}

/// Whether the user `user_id` holds a second factor now (a delete that
/// never landed left it; a removal that did, not).
async fn has_second_factor(client: &Client, user_id: &str) -> Result<bool, ApiError> {
    let credentials = client.credentials_or_empty(user_id).await?;
    Ok(credentials
        .second_factor
        .is_some_and(|factor| !factor.kind.is_empty()))
}

/// The user a snapshot entry is given back to, as the tenant holds it.
enum Holder {
    /// The same user (by id), or the same person re-created.
    Current(Box<User>),
    /// Gone, and nobody else holds its username: re-created.
    Gone,
    /// Someone else holds the name: the row is settled as a conflict.
    Settled,
}

/// Memberships a user holds now, groups and applications, by id.
type Held = (BTreeSet<String>, BTreeSet<String>);

impl GiveBack {
    pub(crate) async fn restore(
        &self,
        client: &Client,
        entry: &SnapshotEntry,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let was = &entry.user;
        let mut client = client.clone();
        let holder = holder(&client, was, result).await?;
        let recreated = matches!(holder, Holder::Gone);
        let given = match holder {
            Holder::Settled => return Ok(()),
            Holder::Current(current) => {
                self.give_back_flags(&mut client, *current, was, result)
                    .await?
            }
            Holder::Gone => self.recreate(&mut client, was, result).await?,
        };
        let Some((user_id, (held_groups, held_applications))) = given else {
            return Ok(());
        };
        for (kind, wanted, held) in [
            (TargetKind::Group, &entry.groups, &held_groups),
            (
                TargetKind::Application,
                &entry.applications,
                &held_applications,
            ),
        ] {
            self.give_back_memberships(&client, &user_id, (kind, wanted, held), result)
                .await?;
        }
        if let Some(kind) = &entry.second_factor
            && (recreated || !has_second_factor(&client, &user_id).await?)
        {
            result.add_error(format!(
                "its second factor ({kind}) was removed and cannot be given back: enrol it again"
            ));
        }
        Ok(())
    }

    /// Gives the user back only what offboarding takes away (enabled,
    /// unlocked); its id and memberships now, or `None` when the row is
    /// settled (another person, protected).
    async fn give_back_flags(
        &self,
        client: &mut Client,
        current: User,
        was: &User,
        result: &mut RowResult,
    ) -> Result<Option<(String, Held)>, ApiError> {
        result.user_id = current.id.clone();
        if let Some(why) = (current.id == was.id)
            .then(|| other_person(&current, was))
            .flatten()
        {
            conflict(result, why);
            return Ok(None);
        }
        if let Some(why) = self.protection.protects(&current) {
            result.outcome = Outcome::Protected;
            result.error = why;
            return Ok(None);
        }
        let mut body = UserWrite::from_user(&current);
        for field in [Field::IsEnabled, Field::IsLocked] {
            if let (Some(slot), Some(value)) = (body.fields.flag_mut(field), was.fields.flag(field))
            {
                *slot = Some(value);
            }
        }
        let changes = describe(&current.fields, &body.fields);
        if !changes.is_empty() {
            if !self.dry_run {
                client.update_user(&current.id, &body).await?;
                *client = client.uncut();
            }
            result.changes = changes;
            result.outcome = Outcome::Updated;
        } else {
            result.outcome = Outcome::Unchanged;
        }
        let (groups, applications) = futures::try_join!(
            client.memberships_of(TargetKind::Group, &current.id),
            client.memberships_of(TargetKind::Application, &current.id)
        )?;
        Ok(Some((current.id, (ids(&groups), ids(&applications)))))
    }

    /// Re-creates a deleted user as it was (a generated password); `None`
    /// when it is protected.
    async fn recreate(
        &self,
        client: &mut Client,
        was: &User,
        result: &mut RowResult,
    ) -> Result<Option<(String, Held)>, ApiError> {
        if let Some(why) = self.protection.protects(was) {
            result.outcome = Outcome::Protected;
            result.error = format!("not re-created: {why}");
            return Ok(None);
        }
        let body = UserWrite {
            fields: was.fields.clone(),
            extra: Default::default(),
            password: PasswordOptions {
                auto_generate_password: Some(true),
                password: None,
                must_change_password_on_logon: Some(true),
                send_email: Some(self.send_email),
            },
        };
        let id = if self.dry_run {
            String::new()
        } else {
            let created = client.create_user(&body).await?;
            *client = client.uncut();
            created.user.id
        };
        result.user_id = id.clone();
        result.outcome = Outcome::Created;
        result.changes = describe(&UserFields::default(), &was.fields);
        if !self.send_email {
            result.add_error("re-created with a generated password nobody was told: set one (sebulk passwords) before the user signs in");
        }
        Ok(Some((id, Held::default())))
    }

    /// Gives back the memberships of one kind the user had and lacks now.
    async fn give_back_memberships(
        &self,
        client: &Client,
        user_id: &str,
        (kind, wanted, held): (TargetKind, &[Target], &BTreeSet<String>),
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let mut missing: Vec<&Target> = wanted.iter().filter(|t| !held.contains(&t.id)).collect();
        // A privileged group is handed out only when privileged are included.
        missing.retain(|target| {
            let withheld = (kind == TargetKind::Group)
                .then(|| self.protection.withholds_group(&target.name))
                .flatten();
            if let Some(why) = &withheld {
                result.add_error(format!(
                    "{} not given back: {why}; --include-privileged gives it back",
                    target.name
                ));
            }
            withheld.is_none()
        });
        if missing.is_empty() {
            return Ok(());
        }
        let missing_ids: Vec<String> = missing.iter().map(|t| t.id.clone()).collect();
        if !self.dry_run {
            client
                .change_targets((kind, true), user_id, &missing_ids)
                .await?;
        }
        let names = missing.iter().map(|t| t.name.clone());
        result.targets_mut(kind, true).extend(names);
        if result.outcome == Outcome::Unchanged {
            result.outcome = Outcome::Updated;
        }
        Ok(())
    }
}

/// Who holds what the snapshot's user was: the same user by its recorded
/// id; else the holder of its username only when that is the same person
/// re-created (same email and employee number), never someone else who
/// holds the name now (a conflict).
async fn holder(client: &Client, was: &User, result: &mut RowResult) -> Result<Holder, ApiError> {
    if let Some(user) = found(client.get_user(&was.id).await)? {
        return Ok(Holder::Current(Box::new(user)));
    }
    let username = was.fields.username.clone().unwrap_or_default();
    Ok(match client.find_user_by_username(&username).await? {
        Some(holder) if same_person(&holder, was) => Holder::Current(Box::new(holder)),
        Some(holder) => {
            result.user_id = holder.id.clone();
            let why = format!(
                "user {} is gone and its username '{username}' now belongs to another person (user {}, email '{}'): not overwritten, not re-created",
                was.id,
                holder.id,
                holder.fields.email.as_deref().unwrap_or_default()
            );
            conflict(result, why);
            Holder::Settled
        }
        None => Holder::Gone,
    })
}

impl GiveBack {
    pub(crate) async fn restore_group(
        &self,
        client: &Client,
        entry: &SnapshotGroup,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let was = &entry.group;
        // A privileged group (and its members) is given back only when
        // privileged are included, as a user's privileged group is.
        if let Some(why) = self.protection.withholds_group(&was.name) {
            result.user_id = was.id.clone();
            result.outcome = Outcome::Protected;
            result.error = format!(
                "{} not given back: {why}; --include-privileged gives it back",
                was.name
            );
            return Ok(());
        }
        let current = match found(client.get_group(&was.id).await)? {
            Some(group) => Some(group),
            None => client.find_group_by_name(&was.name).await?,
        };
        let body = was.as_write();
        let mut client = client.clone();
        let (group_id, held) = match current {
            Some(current) => {
                result.outcome = Outcome::Unchanged;
                if !same_group(&current, was) {
                    if !self.dry_run {
                        client.update_group(&current.id, &body).await?;
                        client = client.uncut();
                    }
                    result.outcome = Outcome::Updated;
                }
                let members = client.members(TargetKind::Group, &current.id).await?;
                let held: BTreeSet<String> = members.into_iter().map(|u| u.id).collect();
                (current.id, held)
            }
            None => {
                let id = if self.dry_run {
                    String::new()
                } else {
                    let created = client.create_group(&body).await?;
                    client = client.uncut();
                    created.id
                };
                result.outcome = Outcome::Created;
                (id, BTreeSet::new())
            }
        };
        result.user_id = group_id.clone();
        let missing: Vec<&Target> = entry
            .members
            .iter()
            .filter(|m| !held.contains(&m.id))
            .collect();
        if !missing.is_empty() {
            let ids: Vec<String> = missing.iter().map(|m| m.id.clone()).collect();
            if !self.dry_run {
                client.group_assign_users(&group_id, &ids).await?;
            }
            // Members are users: the row lists them where a user row lists groups.
            result.groups_added = missing.iter().map(|m| m.name.clone()).collect();
            if result.outcome == Outcome::Unchanged {
                result.outcome = Outcome::Updated;
            }
        }
        Ok(())
    }
}

/// Whether `holder` of a gone user's username is that person, re-created
/// (by an earlier restore or undo): the same email and employee number.
fn same_person(holder: &User, was: &User) -> bool {
    [Field::Username, Field::Email, Field::EmployeeNumber]
        .into_iter()
        .all(|field| {
            match_key(holder.fields.text(field).unwrap_or_default())
                == match_key(was.fields.text(field).unwrap_or_default())
        })
}

/// A row left alone because the tenant changed in a way the snapshot
/// cannot speak for: skipped, said, and the run ends with problems.
fn conflict(result: &mut RowResult, why: String) {
    result.outcome = Outcome::Skipped;
    result.error = format!("conflict: {why}; left alone");
}

/// Whether a group is as a snapshot holds it (absent and empty alike).
pub fn same_group(current: &crate::model::Group, was: &crate::model::Group) -> bool {
    current.name == was.name
        && current.description.as_deref().unwrap_or("") == was.description.as_deref().unwrap_or("")
        && current.enforce_second_factor.unwrap_or(false)
            == was.enforce_second_factor.unwrap_or(false)
}

fn ids(targets: &[Target]) -> BTreeSet<String> {
    targets.iter().map(|t| t.id.clone()).collect()
}
