//! Memberships, for groups and applications alike: the member calls, the
//! one rule that picks the side to read them from, and the index built by
//! reading the target side.
//!
//! The reference gives the same calls for both kinds of target
//! (`/{kind}/{id}/users`, `assignusers`, `removeusers`) and the reverse
//! listing per user (`/users/{id}/{kind}`). Reading every member of the
//! targets in scope costs one listing per target; reading per user costs
//! one call per user and kind. [`cheaper_side`] is the only place that
//! weighs the two, so import and export never disagree.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::client::Client;
use super::error::ApiError;
use super::paging::ListRequest;
use crate::model::{Application, Group, Target, TargetKind, User};

/// Where memberships are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipSide {
    /// Nothing to read.
    NotNeeded,
    /// `/{kind}/{id}/users` for each target in scope, up front.
    TargetSide,
    /// `/users/{id}/{kind}` for each user that needs it.
    UserSide,
}

/// The side with fewer calls: `targets` listings against `user_calls`
/// per-user calls (users × kinds). Ties go to the target side, whose calls
/// are made up front and concurrently.
pub fn cheaper_side(targets: u64, user_calls: u64) -> MembershipSide {
    if user_calls == 0 && targets > 0 {
        MembershipSide::UserSide
    } else if targets <= user_calls {
        MembershipSide::TargetSide
    } else {
        MembershipSide::UserSide
    }
}

impl Client {
    /// `GET /{kind}/{id}/users`: every member of a group or application.
    pub async fn members(&self, kind: TargetKind, target_id: &str) -> Result<Vec<User>, ApiError> {
        self.list_all(ListRequest::new(&[kind.path(), target_id, "users"]))
            .await
    }

    /// How many members a target has: the listing's total when it gives
    /// one, else the members counted.
    pub async fn count_members(&self, kind: TargetKind, target_id: &str) -> Result<u64, ApiError> {
        let request = ListRequest::new(&[kind.path(), target_id, "users"]);
        match self.count(&request).await? {
            Some(total) => Ok(total),
            None => Ok(self.members(kind, target_id).await?.len() as u64),
        }
    }

    /// `GET /users/{id}/groups` or `/users/{id}/applications`, as targets.
    pub async fn memberships_of(
        &self,
        kind: TargetKind,
        user_id: &str,
    ) -> Result<Vec<Target>, ApiError> {
        self.list_targets(kind, ListRequest::new(&["users", user_id, kind.path()]))
            .await
    }

    /// `POST /{kind}/{id}/assignusers` (`add`) or `removeusers`.
    pub async fn change_members(
        &self,
        kind: TargetKind,
        target_id: &str,
        add: bool,
        user_ids: &[String],
    ) -> Result<(), ApiError> {
        let verb = if add { "assignusers" } else { "removeusers" };
        self.post_ids(&[kind.path(), target_id, verb], user_ids)
            .await
    }

    /// Every group (or application) of the tenant, as targets.
    pub async fn targets(&self, kind: TargetKind) -> Result<Vec<Target>, ApiError> {
        self.list_targets(kind, ListRequest::new(&[kind.path()]))
            .await
    }

    /// Groups or applications listed by `request`, as targets.
    async fn list_targets(
        &self,
        kind: TargetKind,
        request: ListRequest,
    ) -> Result<Vec<Target>, ApiError> {
        Ok(match kind {
            TargetKind::Group => self
                .list_all::<Group>(request)
                .await?
                .into_iter()
                .map(|g| Target::new(g.id, g.name))
                .collect(),
            TargetKind::Application => self
                .list_all::<Application>(request)
                .await?
                .into_iter()
                .map(|a| Target::new(a.id, a.name))
                .collect(),
        })
    }
}

/// Who is in what, read from the target side: user id → the targets the
/// user belongs to (positions in `targets`, so each target id is held once).
#[derive(Debug, Default, Clone)]
pub struct MembershipIndex {
    targets: Vec<(TargetKind, String)>,
    by_user: HashMap<String, Vec<u32>>,
}

impl MembershipIndex {
    /// Reads the members of every target in `targets`, concurrently
    /// through the shared throttle; `on_target` is told of each target read.
    pub async fn read(
        client: &Client,
        targets: &[(TargetKind, String)],
        mut on_target: impl FnMut(TargetKind, &str, &[User]),
    ) -> Result<Self, ApiError> {
        let mut index = MembershipIndex {
            targets: targets.to_vec(),
            by_user: HashMap::new(),
        };
        let mut reads = stream::iter(targets.iter().cloned().enumerate())
            .map(|(position, (kind, id))| {
                let client = client.clone();
                async move {
                    let members = client.members(kind, &id).await?;
                    Ok::<_, ApiError>((position, kind, id, members))
                }
            })
            .buffer_unordered(client.parallelism());
        while let Some((position, kind, id, members)) = reads.try_next().await? {
            on_target(kind, &id, &members);
            let Ok(position) = u32::try_from(position) else {
                continue;
            };
            for member in members {
                index.by_user.entry(member.id).or_default().push(position);
            }
        }
        Ok(index)
    }

    /// The ids of the `kind` targets `user_id` belongs to.
    pub fn of(&self, kind: TargetKind, user_id: &str) -> BTreeSet<String> {
        self.by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|position| self.targets.get(*position as usize))
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheaper_side_wins_and_ties_go_to_targets() {
        assert_eq!(cheaper_side(3, 10), MembershipSide::TargetSide);
        assert_eq!(cheaper_side(10, 10), MembershipSide::TargetSide);
        assert_eq!(cheaper_side(50, 4), MembershipSide::UserSide);
        assert_eq!(cheaper_side(5, 0), MembershipSide::UserSide);
    }
}
