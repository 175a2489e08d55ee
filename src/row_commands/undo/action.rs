//! Undoing one recorded row against the tenant as it is now.
//!
//! Every reverse reads first and writes only what still differs, so a
//! second undo sends nothing. A value that is neither what the run wrote
//! nor what it replaced has changed since: a conflict, left alone (the
//! row says so and the run ends with problems) unless `--include-conflicts`. A created
//! user or group that has changed since is deleted only with `--include-conflicts`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::reverse::{Reverse, UndoRow};
use crate::api::{ApiError, Client, found};
use crate::decision::Catalog;
use crate::engine::give_back::GiveBack;
use crate::engine::guard::Protection;
use crate::engine::runner::{ProcessedRow, RowAction, settle};
use crate::model::{Field, FieldChange, FieldValue, TargetKind, UserWrite};
use crate::output::{Outcome, RowResult};

/// What every row of an undo shares.
pub struct UndoAction {
    pub catalog: Catalog,
    pub protection: Protection,
    /// Undo what changed since the run too.
    pub force: bool,
    pub dry_run: bool,
    /// Email users re-created from a snapshot their new password.
    pub send_email: bool,
}

/// What one row's undo found and did.
#[derive(Default)]
struct Undone {
    /// Things changed since the run, left alone.
    conflicts: Vec<String>,
    /// Things that cannot be given back, said in the row.
    notes: Vec<String>,
    /// Anything written (or, in a dry run, to be written).
    wrote: bool,
}

impl RowAction for UndoAction {
    type Input = UndoRow;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        row: UndoRow,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        result.user_id = row.recorded.user_id.clone();
        let mut undone = Undone::default();
        let done = self.undo(&client, &row, &mut result, &mut undone).await;
        if done.is_ok() {
            if !undone.conflicts.is_empty() {
                result.outcome = Outcome::Skipped;
                let rest = if undone.wrote {
                    "; the rest was undone"
                } else {
                    ""
                };
                result.add_error(format!(
                    "conflict: changed since the run, left alone (--include-conflicts undoes it anyway): {}{rest}",
                    undone.conflicts.join("; ")
                ));
            }
            for note in &undone.notes {
                result.add_error(note);
            }
        }
        settle(result, done, &tally)
    }
}

impl Undone {
    fn deleted(&mut self, result: &mut RowResult) {
        self.wrote = true;
        result.outcome = Outcome::Deleted;
    }
}

impl UndoAction {
    /// Whether a deletion goes ahead: not when something changed since
    /// the run, unless forced (then those changes are no conflict).
    /// Deletes what the run created, when nothing stands in the way: the
    /// `delete` request is sent only then, and never in a dry run.
    async fn delete_created(
        &self,
        undone: &mut Undone,
        result: &mut RowResult,
        delete: impl std::future::Future<Output = Result<(), ApiError>>,
    ) -> Result<(), ApiError> {
        if !self.goes_ahead(undone) {
            return Ok(());
        }
        if !self.dry_run {
            delete.await?;
        }
        undone.deleted(result);
        Ok(())
    }

    fn goes_ahead(&self, undone: &mut Undone) -> bool {
        if self.force {
            undone.conflicts.clear();
        }
        undone.conflicts.is_empty()
    }
}

/// The fields of a created user that someone set since the run: any the
/// run did not write that now holds a value (a phone number, a higher
/// user type), a server's defaults aside (`isLocked` false, the plain
/// `user` type). A user changed since is a conflict, never deleted.
fn set_since(user: &crate::model::User, created: &[FieldChange]) -> Vec<String> {
    Field::ALL
        .iter()
        .filter(|field| !created.iter().any(|c| c.field == field.wire()))
        .filter_map(|field| {
            let now = user.fields.get(*field);
            let set = match now {
                FieldValue::Text(Some(text)) => {
                    let text = text.trim();
                    let default_type =
                        *field == Field::UserType && text.eq_ignore_ascii_case("user");
                    !(text.is_empty() || default_type)
                }
                FieldValue::Bool(Some(flag)) => flag && *field != Field::IsEnabled,
                FieldValue::List(Some(items)) => !items.is_empty(),
                FieldValue::Attributes(Some(items)) => !items.is_empty(),
                _ => false,
            };
            set.then(|| format!("{}: set to {:?} since the run", field.wire(), now.exact()))
        })
        .collect()
}

/// One row being undone: what its run recorded, its result now, and what
/// the undo found on the way.
struct Undoing<'a> {
    recorded: &'a RowResult,
    result: &'a mut RowResult,
    undone: &'a mut Undone,
}

impl UndoAction {
    async fn undo(
        &self,
        client: &Client,
        row: &UndoRow,
        result: &mut RowResult,
        undone: &mut Undone,
    ) -> Result<(), ApiError> {
        let recorded = &row.recorded;
        result.outcome = Outcome::Unchanged;
        match &row.reverse {
            Reverse::Nothing(why) => {
                result.error = why.clone();
                Ok(())
            }
            Reverse::Uncertain { why, creates_only } => {
                // A create that never landed left nothing to undo.
                if *creates_only
                    && client
                        .find_user_by_username(recorded.username.trim())
                        .await?
                        .is_none()
                {
                    result.error = "the create on the wire when the run was killed did not land: nothing to undo".to_string();
                    return Ok(());
                }
                result.outcome = Outcome::Failed;
                result.error = why.clone();
                Ok(())
            }
            Reverse::NoSnapshot(why) => {
                result.outcome = Outcome::Failed;
                result.error = why.clone();
                Ok(())
            }
            Reverse::FromSnapshot(item) => self.give_back(client, item, result).await,
            reverse => {
                let row = Undoing {
                    recorded,
                    result,
                    undone,
                };
                match reverse {
                    Reverse::DeleteUser(created) => self.delete_user(client, created, row).await,
                    Reverse::DeleteGroup(created) => self.delete_group(client, created, row).await,
                    Reverse::RevertGroup => self.revert_group(client, row).await,
                    // RevertUser: the others are settled above.
                    _ => self.revert_user(client, row).await,
                }
            }
        }
    }

    /// Gives back what the run deleted, from its snapshot.
    async fn give_back(
        &self,
        client: &Client,
        item: &crate::output::snapshot::SnapshotItem,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let restore = GiveBack {
            send_email: self.send_email,
            dry_run: self.dry_run,
            protection: self.protection.clone(),
        };
        match item {
            crate::output::snapshot::SnapshotItem::User(entry) => {
                restore.restore(client, entry, result).await
            }
            crate::output::snapshot::SnapshotItem::Group(entry) => {
                restore.restore_group(client, entry, result).await
            }
        }
    }

    /// Deletes a user the run created, unless it changed since.
    async fn delete_user(
        &self,
        client: &Client,
        created: &[FieldChange],
        row: Undoing<'_>,
    ) -> Result<(), ApiError> {
        let Some(user) = found(client.get_user(&row.recorded.user_id).await)? else {
            row.result.error = "already gone".into();
            return Ok(());
        };
        if let Some(why) = self.protection.protects(&user) {
            row.result.outcome = Outcome::Protected;
            row.result.error = why;
            return Ok(());
        }
        for change in created {
            let Some(field) = Field::from_wire(&change.field) else {
                continue;
            };
            let now = user.fields.get(field).exact();
            if now != change.new {
                row.undone.conflicts.push(format!(
                    "{}: created as {:?}, now {:?}",
                    change.field, change.new, now
                ));
            }
        }
        row.undone.conflicts.extend(set_since(&user, created));
        let added = [
            (TargetKind::Group, &row.recorded.groups_added),
            (TargetKind::Application, &row.recorded.applications_added),
        ];
        for (kind, added) in added {
            for target in client.memberships_of(kind, &user.id).await? {
                let ours = added
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(&target.name) || *name == target.id);
                if !ours {
                    row.undone.conflicts.push(format!(
                        "added to {} {} since the run",
                        kind.name(),
                        target.name
                    ));
                }
            }
        }
        self.delete_created(row.undone, row.result, client.delete_user(&user.id))
            .await
    }

    /// Deletes a group the run created, unless it changed or has members.
    async fn delete_group(
        &self,
        client: &Client,
        created: &[FieldChange],
        row: Undoing<'_>,
    ) -> Result<(), ApiError> {
        let Some(group) = found(client.get_group(&row.recorded.user_id).await)? else {
            row.result.error = "already gone".into();
            return Ok(());
        };
        if let Some(why) = self.protection.protects_name(&group.name) {
            row.result.outcome = Outcome::Protected;
            row.result.error = why;
            return Ok(());
        }
        for change in created {
            let now = group.recorded(&change.field);
            if now.as_deref().is_some_and(|now| now != change.new) {
                row.undone.conflicts.push(format!(
                    "{}: created as {:?}, now {:?}",
                    change.field,
                    change.new,
                    now.unwrap_or_default()
                ));
            }
        }
        let members = client.members(TargetKind::Group, &group.id).await?;
        if !members.is_empty() {
            row.undone
                .conflicts
                .push(format!("the group has {} members now", members.len()));
        }
        self.delete_created(row.undone, row.result, client.delete_group(&group.id))
            .await
    }

    /// Puts back a group's changed fields.
    async fn revert_group(&self, client: &Client, row: Undoing<'_>) -> Result<(), ApiError> {
        let Some(group) = found(client.get_group(&row.recorded.user_id).await)? else {
            row.undone
                .conflicts
                .push("the group was deleted since".to_string());
            return Ok(());
        };
        let mut body = group.as_write();
        for change in &row.recorded.changes {
            let now = group.recorded(&change.field).unwrap_or_default();
            if now == change.old {
                continue;
            }
            if now != change.new && !self.force {
                row.undone.conflicts.push(format!(
                    "{}: set to {:?} by the run, now {:?}",
                    change.field, change.new, now
                ));
                continue;
            }
            if let Err(why) = body.set_recorded(&change.field, &change.old) {
                row.undone.notes.push(why);
                continue;
            }
            row.result.changes.push(FieldChange {
                field: change.field.clone(),
                old: now,
                new: change.old.clone(),
            });
        }
        if !row.result.changes.is_empty() {
            if !self.dry_run {
                client.update_group(&group.id, &body).await?;
            }
            row.undone.wrote = true;
            row.result.outcome = Outcome::Updated;
        }
        Ok(())
    }

    /// Puts back a user's changed fields, then its memberships.
    async fn revert_user(&self, client: &Client, row: Undoing<'_>) -> Result<(), ApiError> {
        let Some(user) = found(client.get_user(&row.recorded.user_id).await)? else {
            row.undone
                .conflicts
                .push("the user was deleted since".to_string());
            return Ok(());
        };
        if let Some(why) = self.protection.protects(&user) {
            row.result.outcome = Outcome::Protected;
            row.result.error = why;
            return Ok(());
        }
        let mut client = client.clone();
        let body = self.reverted_fields(&user, row.recorded, row.result, row.undone);
        if !row.result.changes.is_empty() {
            if !self.dry_run {
                client.update_user(&user.id, &body).await?;
                client = client.uncut();
            }
            row.undone.wrote = true;
        }
        for (kind, added, removed) in [
            (
                TargetKind::Group,
                &row.recorded.groups_added,
                &row.recorded.groups_removed,
            ),
            (
                TargetKind::Application,
                &row.recorded.applications_added,
                &row.recorded.applications_removed,
            ),
        ] {
            self.revert_targets(
                &mut client,
                &user.id,
                (kind, added, removed),
                row.result,
                row.undone,
            )
            .await?;
        }
        if row.undone.wrote {
            row.result.outcome = Outcome::Updated;
        }
        Ok(())
    }

    /// The user's write with the run's field changes taken back (those
    /// changed since are conflicts, unless `--include-conflicts`); each one put back
    /// is recorded in `result`.
    fn reverted_fields(
        &self,
        user: &crate::model::User,
        recorded: &RowResult,
        result: &mut RowResult,
        undone: &mut Undone,
    ) -> UserWrite {
        let mut body = UserWrite::from_user(user);
        for change in &recorded.changes {
            let Some(field) = Field::from_wire(&change.field) else {
                undone.notes.push(match change.field.as_str() {
                    "password" => "a password set cannot be taken back".to_string(),
                    "secondFactor" => format!(
                        "its second factor ({}) was removed and cannot be given back: enrol it again",
                        change.old
                    ),
                    other => format!("{other} cannot be put back by undo"),
                });
                continue;
            };
            // A boolean that had no value was, before the run, not what
            // the run made it.
            let old = match (field.kind(), change.old.as_str()) {
                (crate::model::FieldKind::Bool, "") => (change.new != "true").to_string(),
                _ => change.old.clone(),
            };
            let now = user.fields.get(field).exact();
            if now == old {
                continue;
            }
            // Putting back a privileged user type raises privilege: only
            // when privileged are included, whatever the record says.
            if field == Field::UserType
                && !self.protection.include_privileged
                && let Some(kind) = crate::decision::access::privileged_kind(Some(&old))
            {
                undone.conflicts.push(format!(
                    "userType: not put back to the privileged {kind:?} unless --include-privileged"
                ));
                continue;
            }
            if now != change.new && !self.force {
                undone.conflicts.push(format!(
                    "{}: set to {:?} by the run, now {:?}",
                    change.field, change.new, now
                ));
                continue;
            }
            if let Err(why) = body.fields.set_exact(field, &old) {
                undone.notes.push(why);
                continue;
            }
            if old.is_empty() {
                // Sent as an explicit null, so a server that merges clears it too.
                body.extra.insert(field.wire().to_string(), Value::Null);
            }
            result.changes.push(FieldChange {
                field: change.field.clone(),
                old: now,
                new: old,
            });
        }
        body
    }

    /// Takes back the memberships of one kind the run added and gives
    /// back those it removed, as the user holds them now.
    async fn revert_targets(
        &self,
        client: &mut Client,
        user_id: &str,
        (kind, added, removed): (TargetKind, &[String], &[String]),
        result: &mut RowResult,
        undone: &mut Undone,
    ) -> Result<(), ApiError> {
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        let held: BTreeSet<String> = client
            .memberships_of(kind, user_id)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let directory = self.catalog.of(kind);
        let mut take: Vec<(String, String)> = Vec::new();
        let mut give: Vec<(String, String)> = Vec::new();
        for name in added {
            // A row's record may name a target twice: by name, and by the
            // id of a membership call its run had on the wire.
            if let Some(target) = directory.resolve(name)
                && held.contains(&target.id)
                && !take.iter().any(|(id, _)| *id == target.id)
            {
                take.push((target.id.clone(), target.name.clone()));
            }
        }
        for name in removed {
            let withheld = (kind == TargetKind::Group)
                .then(|| self.protection.withholds_group(name))
                .flatten();
            match directory.resolve(name) {
                Some(target) if !held.contains(&target.id) && withheld.is_some() => {
                    undone.conflicts.push(format!(
                        "{} not given back: {}; --include-privileged gives it back",
                        target.name,
                        withheld.unwrap_or_default()
                    ));
                }
                Some(target)
                    if !held.contains(&target.id)
                        && !give.iter().any(|(id, _)| *id == target.id) =>
                {
                    give.push((target.id.clone(), target.name.clone()));
                }
                Some(_) => {}
                None => undone
                    .conflicts
                    .push(format!("{} {name} no longer exists", kind.name())),
            }
        }
        undone.wrote |= !take.is_empty() || !give.is_empty();
        for (add, pairs) in [(false, take), (true, give)] {
            if pairs.is_empty() {
                continue;
            }
            if !self.dry_run {
                let ids: Vec<String> = pairs.iter().map(|(id, _)| id.clone()).collect();
                client.change_targets((kind, add), user_id, &ids).await?;
                *client = client.uncut();
            }
            let names = pairs.into_iter().map(|(_, name)| name);
            result.targets_mut(kind, add).extend(names);
        }
        Ok(())
    }
}
