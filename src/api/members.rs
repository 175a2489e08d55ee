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

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::client::Client;
use super::error::ApiError;
use super::paging::{ListRequest, Listed};
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

/// Targets whose members are read at once.
const MEMBER_READS: usize = 4;

/// A member as the target side lists it: only its id is read (the rest of
/// each record is skipped, never built).
#[derive(Debug, Default, serde::Deserialize)]
struct Member {
    #[serde(
        default,
        deserialize_with = "crate::model::user::id_from_string_or_number"
    )]
    id: String,
}

impl Listed for Member {
    fn id(&self) -> &str {
        &self.id
    }
    fn keep_raw(&mut self, _: Vec<(String, serde_json::Value)>) {}
}

/// Who is in what, read from the target side: (member, target) pairs,
/// each member by its position in the run's tenant index and each target
/// by its position in `targets` (every id held once, elsewhere). Eight
/// bytes a membership; members the tenant index does not hold are not
/// kept (no row can meet them).
#[derive(Debug, Default, Clone)]
pub struct MembershipIndex {
    targets: Vec<(TargetKind, String)>,
    /// (member, target) pairs, sorted once everything is read.
    pairs: Vec<(u32, u32)>,
}

impl MembershipIndex {
    /// Reads the members of every target in `targets`, a few targets at a
    /// time through the shared throttle, each member noted as its page
    /// arrives (a target's members are never held whole): `place` gives
    /// a member's position in the tenant index (`None`: not kept), and
    /// `on_member` is told of each (kind, target id, member id).
    pub async fn read(
        client: &Client,
        targets: &[(TargetKind, String)],
        place: impl Fn(&str) -> Option<u32>,
        mut on_member: impl FnMut(TargetKind, &str, &str),
    ) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        read_members(
            client,
            targets,
            MEMBER_READS,
            |target, (kind, id), member| {
                on_member(kind, id, member);
                if let Some(at) = place(member) {
                    pairs.push((at, target));
                }
            },
        )
        .await?;
        Ok(MembershipIndex::from_pairs(targets, pairs))
    }

    /// Reads `targets`' members before the tenant index that places them
    /// is complete (alongside its listing): each member is kept by the
    /// fingerprint `print` gives its id, placed once the index is whole
    /// ([`MembersByPrint::placed`]). Twelve bytes a membership meanwhile.
    pub async fn read_ahead(
        client: &Client,
        targets: Vec<(TargetKind, String)>,
        print: fn(&str) -> u64,
    ) -> Result<MembersByPrint, ApiError> {
        let mut pairs = Vec::new();
        read_members(client, &targets, MEMBER_READS, |target, _, member| {
            pairs.push((print(member), target));
        })
        .await?;
        pairs.shrink_to_fit();
        Ok(MembersByPrint { targets, pairs })
    }

    fn from_pairs(targets: &[(TargetKind, String)], mut pairs: Vec<(u32, u32)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        pairs.shrink_to_fit();
        MembershipIndex {
            targets: targets.to_vec(),
            pairs,
        }
    }

    /// The ids of the `kind` targets the member at `member` (its position
    /// in the tenant index) belongs to.
    pub fn of(&self, kind: TargetKind, member: u32) -> BTreeSet<String> {
        let from = self.pairs.partition_point(|(m, _)| *m < member);
        self.pairs[from..]
            .iter()
            .take_while(|(m, _)| *m == member)
            .filter_map(|(_, position)| self.targets.get(*position as usize))
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Bytes held, roughly: for the summary and the benchmark.
    pub fn approximate_bytes(&self) -> usize {
        self.pairs.capacity() * 8
    }
}

/// Memberships read ahead of the tenant index ([`MembershipIndex::read_ahead`]).
#[derive(Debug, Default)]
pub struct MembersByPrint {
    targets: Vec<(TargetKind, String)>,
    pairs: Vec<(u64, u32)>,
}

impl MembersByPrint {
    /// The memberships of `scope`, each member placed by `place` (its id's
    /// fingerprint → its position in the index; `None`: not kept), when
    /// the read covered every target of `scope`; `None` else.
    pub fn placed(
        self,
        scope: &[(TargetKind, String)],
        place: impl Fn(u64) -> Option<u32>,
    ) -> Option<MembershipIndex> {
        let position: Vec<Option<u32>> = self
            .targets
            .iter()
            .map(|target| {
                scope
                    .iter()
                    .position(|t| t == target)
                    .and_then(|at| u32::try_from(at).ok())
            })
            .collect();
        if scope.iter().any(|target| !self.targets.contains(target)) {
            return None;
        }
        let pairs = self
            .pairs
            .into_iter()
            .filter_map(|(print, target)| {
                let target = (*position.get(target as usize)?)?;
                Some((place(print)?, target))
            })
            .collect();
        Some(MembershipIndex::from_pairs(scope, pairs))
    }
}

/// Reads the members of every target in `targets`, `at_once` targets at
/// a time through the shared throttle, telling `each` of every member as
/// its page arrives: (the target's position, the target, the member id).
async fn read_members(
    client: &Client,
    targets: &[(TargetKind, String)],
    at_once: usize,
    each: impl FnMut(u32, (TargetKind, &str), &str),
) -> Result<(), ApiError> {
    let each = std::sync::Mutex::new(each);
    let reads = stream::iter(targets.iter().enumerate()).map(|(position, (kind, id))| {
        let each = &each;
        async move {
            let request = ListRequest::new(&[kind.path(), id, "users"]);
            let target = u32::try_from(position).unwrap_or(u32::MAX);
            let stats = client
                .read_listing(
                    &request,
                    |_| {},
                    |member: Member| {
                        if let Ok(mut each) = each.lock() {
                            each(target, (*kind, id), &member.id);
                        }
                        Ok::<_, ApiError>(())
                    },
                )
                .await?;
            match stats.incomplete(&request.endpoint()) {
                Some(message) => Err(ApiError::Incomplete(message)),
                None => Ok(()),
            }
        }
    });
    // A few targets at a time: a target's members come in one answer
    // (the reference pages none of them), and every connection that
    // reads one keeps a buffer its size for the rest of the run.
    reads
        .buffer_unordered(client.parallelism().min(at_once).max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
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
