//! How rows find their users and the users' current memberships, with the
//! fewest calls for this batch and this tenant.
//!
//! Users are found either through one listing of the whole tenant (bulk,
//! read concurrently once page 1 gives the total) or one lookup per row,
//! whichever needs fewer calls; page 1 of users, fetched alongside the
//! groups and applications, decides and is not fetched twice. Memberships
//! are read from the target side or the user side by `api::members`'
//! single cost rule.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::catalog::Catalog;
pub use super::index::Found;
use super::index::TenantIndex;
use crate::api::{
    ApiError, Client, MembershipIndex, MembershipSide, Page, UserQuery, cheaper_side,
};
use crate::input::{MatchBy, RowInput};
use crate::model::text::{ascii_lookalike, match_key};
use crate::model::{Field, TargetKind, User};

/// How users are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserStrategy {
    /// The whole tenant listed once.
    Bulk,
    /// One lookup per row.
    PerRow,
}

/// What the first pass over the input learned, for choosing strategies.
#[derive(Debug, Clone, Default)]
pub struct BatchShape {
    pub rows: u64,
    /// Distinct group and application names or ids the rows give.
    pub groups: BTreeSet<String>,
    pub applications: BTreeSet<String>,
    /// Fingerprints of the match keys of rows with a groups / applications cell.
    pub keys_with_groups: Vec<u64>,
    pub keys_with_applications: Vec<u64>,
    /// Some row gives an employee number: the tenant is listed, since the
    /// API filters users by none and one person, one account needs to
    /// know who holds it.
    pub employee_numbers: bool,
}

impl BatchShape {
    fn names(&self, kind: TargetKind) -> &BTreeSet<String> {
        match kind {
            TargetKind::Group => &self.groups,
            TargetKind::Application => &self.applications,
        }
    }

    fn keys(&self, kind: TargetKind) -> &[u64] {
        match kind {
            TargetKind::Group => &self.keys_with_groups,
            TargetKind::Application => &self.keys_with_applications,
        }
    }
}

pub use crate::model::text::fingerprint as key_fingerprint;

/// The match key of a row.
pub fn row_key(row: &RowInput, match_by: MatchBy) -> Option<&str> {
    row.set.text(match_by.field()).filter(|k| !k.is_empty())
}

/// Page 1 of the tenant's users: enough to choose how to find users.
pub async fn probe_users(client: &Client) -> Result<Page<User>, ApiError> {
    client
        .fetch_page::<User>(&UserQuery::default().to_request(), 1)
        .await
}

/// Everything the import needs to find users and their memberships.
pub struct Lookups {
    pub users: UserStrategy,
    pub groups: MembershipSide,
    pub applications: MembershipSide,
    /// Users in the tenant when the run started, when known.
    pub tenant_users: Option<u64>,
    /// (country, userType) of every tenant user, when the tenant was listed.
    pub seen_values: Option<Vec<(Option<String>, Option<String>)>>,
    /// Bytes the tenant index holds (with the memberships read from the
    /// target side), when the tenant was listed.
    pub index_bytes: Option<u64>,
    match_by: MatchBy,
    index: Option<TenantIndex>,
    memberships: MembershipIndex,
    read_ahead: ReadAhead,
}

impl Lookups {
    /// Whether rows are decided without a second call when rehearsed:
    /// the tenant was listed (memberships read user by user are kept for
    /// the real run, see [`Lookups::read_ahead`]).
    pub fn decides_offline(&self) -> bool {
        self.users == UserStrategy::Bulk
    }

    /// Whether a row is decided without any call at all: the tenant was
    /// listed and every membership in scope read up front.
    pub fn decides_without_calls(&self) -> bool {
        self.decides_offline()
            && ![self.groups, self.applications].contains(&MembershipSide::UserSide)
    }

    /// Picks the strategies for `shape` and loads what they need up front.
    /// `probe` is page 1 of the tenant's users ([`probe_users`]). A `watch`
    /// sees every tenant user, which makes the tenant be listed (one
    /// listing serves both: `--report-missing` costs no extra calls then).
    pub async fn prepare(
        client: &Client,
        catalog: &Catalog,
        probe: Page<User>,
        shape: &BatchShape,
        match_by: MatchBy,
        sync: [bool; 2],
        watch: Option<&mut (dyn FnMut(&User) + Send)>,
    ) -> Result<Self, ApiError> {
        let tenant_users = probe.total;
        let page_size = u64::from(client.page_size());
        let received = probe.keys.len() as u64;
        let bulk = match (match_by, tenant_users) {
            _ if watch.is_some() || shape.employee_numbers => true,
            (MatchBy::EmployeeNumber, _) => true,
            (_, Some(total)) => {
                // A server that capped the first page will cap them all.
                let per_page = if total > received {
                    received.max(1)
                } else {
                    page_size
                };
                total.div_ceil(per_page) < shape.rows
            }
            (_, None) => shape.rows > page_size,
        };
        let targets_of = |i: usize, kind: TargetKind| targets_of(catalog, shape, sync[i], kind);
        let pages = tenant_users.map_or(0, |total| total.div_ceil(page_size.max(1)));
        // Not while a watch holds what it learns of every user (a sync's
        // roster keys): memory, not time, binds such a run.
        let likely = match bulk && watch.is_none() {
            true => read_alongside(shape, pages, targets_of),
            false => Vec::new(),
        };
        let listing = async {
            match bulk {
                true => list_tenant(client, probe, (match_by, tenant_users), watch)
                    .await
                    .map(Some),
                false => Ok(None),
            }
        };
        let ahead = async {
            if likely.is_empty() {
                return Ok(None);
            }
            MembershipIndex::read_ahead(client, likely, TenantIndex::id_print)
                .await
                .map(Some)
        };
        let (index, ahead) = futures::try_join!(listing, ahead)?;
        let seen_values = index.as_ref().map(TenantIndex::seen_values);
        let mut sides = [MembershipSide::NotNeeded; 2];
        let mut scope: Vec<(TargetKind, String)> = Vec::new();
        for (i, kind) in TargetKind::ALL.into_iter().enumerate() {
            let targets = targets_of(i, kind);
            sides[i] = side(index.as_ref(), shape.keys(kind), targets.len());
            if sides[i] == MembershipSide::TargetSide {
                scope.extend(targets.into_iter().map(|id| (kind, id)));
            }
        }
        let by_print = |print: u64| index.as_ref().and_then(|i| i.position_of_print(print));
        let memberships = match ahead.and_then(|ahead| ahead.placed(&scope, by_print)) {
            Some(read) => read,
            None => {
                let place = |id: &str| index.as_ref().and_then(|i| i.position_of_id(id));
                MembershipIndex::read(client, &scope, place, |_, _, _| {}).await?
            }
        };
        // The rows' calls are not whole pages: their slots are learnt afresh.
        client.throttle().forget_latency();
        Ok(Lookups {
            users: if bulk {
                UserStrategy::Bulk
            } else {
                UserStrategy::PerRow
            },
            groups: sides[0],
            applications: sides[1],
            tenant_users: tenant_users.or(index.as_ref().map(|i| i.len() as u64)),
            seen_values,
            index_bytes: index
                .as_ref()
                .map(|i| (i.approximate_bytes() + memberships.approximate_bytes()) as u64),
            match_by,
            index,
            memberships,
            read_ahead: ReadAhead::default(),
        })
    }

    /// The distinct (country, userType) pairs the tenant's users hold: one
    /// listing, for rows whose values only the tenant can vouch for.
    pub async fn tenant_values(
        client: &Client,
    ) -> Result<Vec<(Option<String>, Option<String>)>, ApiError> {
        let mut seen = BTreeSet::new();
        client
            .read_listing(
                &UserQuery::default().to_request(),
                |_| {},
                |user: User| {
                    seen.insert((user.fields.country, user.fields.user_type));
                    Ok::<_, ApiError>(())
                },
            )
            .await?;
        Ok(seen.into_iter().collect())
    }

    /// The user `row` matches in the tenant as listed (no call); `None`
    /// when the tenant was not listed.
    pub fn listed(&self, row: &RowInput) -> Option<Found> {
        let index = self.index.as_ref()?;
        Some(match row_key(row, self.match_by) {
            Some(key) => index.find(key),
            None => Found::None,
        })
    }

    /// Who holds `username` in the tenant as listed (`None` as well when
    /// the tenant was not listed).
    pub fn username_holder(&self, username: &str) -> Option<User> {
        self.index.as_ref()?.holder(username)
    }

    /// Whether the tenant, as listed, has user `user_id` under `username`;
    /// `None` when the tenant was not listed (the row must be looked up).
    pub fn holds(&self, username: &str, user_id: &str) -> Option<bool> {
        let index = self.index.as_ref()?;
        Some(
            !user_id.is_empty()
                && index
                    .holder(username)
                    .is_some_and(|user| user.id == user_id),
        )
    }

    /// The user a row matches; when the row renames, who holds its
    /// username; when it matches nobody, who already holds its email or
    /// employee number (one person, one account).
    pub async fn find(&self, client: &Client, row: &RowInput) -> Result<Met, ApiError> {
        let Some(key) = row_key(row, self.match_by) else {
            return Ok(Met {
                found: Found::None,
                username_holder: None,
                identity_holder: None,
                lookalike: None,
            });
        };
        let found = match &self.index {
            Some(index) => index.find(key),
            None => match self.match_by {
                MatchBy::Username => match self.find_by_username(client, key).await? {
                    Some(user) => Found::One(Box::new(user)),
                    None => Found::None,
                },
                MatchBy::Email | MatchBy::EmployeeNumber => {
                    let query = UserQuery {
                        email: Some(
                            crate::model::text::plain_form(key).unwrap_or_else(|| key.to_string()),
                        ),
                        ..Default::default()
                    };
                    let mut hits: Vec<User> = client.list_all(query.to_request()).await?;
                    hits.retain(|u| {
                        u.fields
                            .email
                            .as_deref()
                            .is_some_and(|e| match_key(e) == match_key(key))
                    });
                    match hits.len() {
                        0 => Found::None,
                        1 => Found::One(Box::new(hits.remove(0))),
                        n => Found::Ambiguous(n),
                    }
                }
            },
        };
        let holder = match (&found, self.match_by, row.set.username.as_deref()) {
            (Found::One(user), MatchBy::Email | MatchBy::EmployeeNumber, Some(wanted))
                if !user
                    .fields
                    .username
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(wanted)) =>
            {
                match &self.index {
                    Some(index) => index.holder(wanted),
                    None => client.find_user_by_username(wanted).await?,
                }
            }
            _ => None,
        };
        let identity_holder = match &found {
            Found::None => self.identity_holder(client, row, None).await?,
            Found::One(user) => self.identity_holder(client, row, Some(user)).await?,
            Found::Ambiguous(_) => None,
        };
        // A row matched by another key that matches nobody, whose
        // username another account holds (one call when looked up alone).
        let holder = match (&found, &self.index, row.set.username.as_deref()) {
            (Found::None, Some(index), Some(username)) => index.holder(username),
            (Found::None, None, Some(username)) if self.match_by != MatchBy::Username => {
                self.find_by_username(client, username).await?
            }
            _ => holder,
        };
        // A new user whose username only looks like a tenant user's: with
        // the tenant listed, either way round; looked up one by one, a
        // username with letters outside ASCII is asked for by its skeleton
        // (one call, only for such a row).
        let lookalike = match (&found, &self.index, row.set.username.as_deref()) {
            (Found::None, Some(index), Some(username)) => index.lookalike(username),
            (Found::None, None, Some(username)) => match ascii_lookalike(username) {
                Some(shape) => client.find_user_by_username(&shape).await?.filter(|user| {
                    user.fields
                        .username
                        .as_deref()
                        .is_some_and(|have| match_key(have) != match_key(username))
                }),
                None => None,
            },
            _ => None,
        };
        Ok(Met {
            found,
            username_holder: holder,
            identity_holder,
            lookalike,
        })
    }

    /// The user `username` names, asked for one by one: as given, then,
    /// for a name written in compatibility forms (full-width `ｊｏｈｎ`),
    /// as the plain name it reads as, so that it finds the account it
    /// means rather than making a second one.
    async fn find_by_username(
        &self,
        client: &Client,
        username: &str,
    ) -> Result<Option<User>, ApiError> {
        if let Some(user) = client.find_user_by_username(username).await? {
            return Ok(Some(user));
        }
        let Some(plain) = crate::model::text::plain_form(username) else {
            return Ok(None);
        };
        Ok(client.find_user_by_username(&plain).await?.filter(|user| {
            user.fields.username.as_deref().map(match_key) == Some(match_key(username))
        }))
    }

    /// Another user who already holds the email or employee number the
    /// row gives: for a row that matches nobody (`matched` is `None`),
    /// creating would make a second account for one person; for a row
    /// matched to `matched` and changing one of them, writing would give
    /// one person's identity to a second account. With the tenant listed,
    /// both are looked up in the index; else the email through the list
    /// filter, and the employee number through the name filter (one call
    /// each, only for rows about to be created or changing that value).
    async fn identity_holder(
        &self,
        client: &Client,
        row: &RowInput,
        matched: Option<&User>,
    ) -> Result<Option<User>, ApiError> {
        for field in [Field::Email, Field::EmployeeNumber] {
            let Some(value) = row.set.text(field).filter(|v| !match_key(v).is_empty()) else {
                continue;
            };
            let unchanged = matched.is_some_and(|user| {
                user.fields.text(field).map(match_key) == Some(match_key(value))
            });
            if field == self.match_by.field() || unchanged {
                continue;
            }
            let holder = match &self.index {
                Some(index) => index.identity_holder(field, value),
                None => self.ask_identity_holder(client, row, field, value).await?,
            };
            let holder = holder.filter(|h| matched.is_none_or(|user| user.id != h.id));
            if holder.is_some() {
                return Ok(holder);
            }
        }
        Ok(None)
    }

    /// [`Lookups::identity_holder`] without an index: the email through
    /// the list's email filter (as it reads: full-width letters plain);
    /// the employee number, which no filter offers, among the users with
    /// the row's first and last name. (A batch with employee numbers has
    /// the tenant listed: see [`BatchShape::employee_numbers`].)
    async fn ask_identity_holder(
        &self,
        client: &Client,
        row: &RowInput,
        field: Field,
        value: &str,
    ) -> Result<Option<User>, ApiError> {
        let query = match field {
            Field::Email => UserQuery {
                email: Some(
                    crate::model::text::plain_form(value.trim())
                        .unwrap_or_else(|| value.trim().to_string()),
                ),
                ..Default::default()
            },
            _ => match (row.set.first_name.as_deref(), row.set.last_name.as_deref()) {
                (Some(first), Some(last))
                    if !first.trim().is_empty() && !last.trim().is_empty() =>
                {
                    UserQuery {
                        first_name: Some(first.trim().to_string()),
                        last_name: Some(last.trim().to_string()),
                        ..Default::default()
                    }
                }
                _ => return Ok(None),
            },
        };
        let hits: Vec<User> = client.list_all(query.to_request()).await?;
        Ok(hits.into_iter().find(|u| {
            u.fields
                .text(field)
                .is_some_and(|have| match_key(have) == match_key(value))
        }))
    }

    /// The ids of the `kind` targets `user_id` belongs to (reading them
    /// if the strategy says so).
    pub async fn current(
        &self,
        client: &Client,
        kind: TargetKind,
        user_id: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        let side = match kind {
            TargetKind::Group => self.groups,
            TargetKind::Application => self.applications,
        };
        match side {
            MembershipSide::UserSide => {
                let cached = (kind, user_id.to_string());
                if let Some(ids) = self.read_ahead.take(&cached) {
                    return Ok(ids);
                }
                let ids: BTreeSet<String> = client
                    .memberships_of(kind, user_id)
                    .await?
                    .into_iter()
                    .map(|t| t.id)
                    .collect();
                self.read_ahead.keep(cached, &ids);
                Ok(ids)
            }
            // Read from the target side: only with the tenant listed.
            _ => Ok(self
                .index
                .as_ref()
                .and_then(|index| index.position_of_id(user_id))
                .map(|at| self.memberships.of(kind, at))
                .unwrap_or_default()),
        }
    }

    /// Keeps what rows read user by user while they are rehearsed, so the
    /// real run decides on the same memberships without reading them again
    /// (`false`: stop keeping; what was kept is still used, once each).
    pub fn read_ahead(&self, keep: bool) {
        self.read_ahead
            .keeping
            .store(keep, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Memberships read user by user during a rehearsal, each handed once to
/// the real run's decision of the same row: deciding every row twice
/// costs no second read. Only existing users' memberships are kept (never
/// a lookup that found nobody: an earlier row may create that user).
#[derive(Debug, Default)]
struct ReadAhead {
    keeping: std::sync::atomic::AtomicBool,
    kept: std::sync::Mutex<HashMap<(TargetKind, String), BTreeSet<String>>>,
}

impl ReadAhead {
    fn keep(&self, key: (TargetKind, String), ids: &BTreeSet<String>) {
        if self.keeping.load(std::sync::atomic::Ordering::SeqCst)
            && let Ok(mut kept) = self.kept.lock()
        {
            kept.insert(key, ids.clone());
        }
    }

    fn take(&self, key: &(TargetKind, String)) -> Option<BTreeSet<String>> {
        if self.keeping.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.kept.lock().ok()?.remove(key)
    }
}

/// The ids of the `kind` targets a run reads memberships of: every one
/// when it syncs them, else those the rows name.
fn targets_of(catalog: &Catalog, shape: &BatchShape, sync: bool, kind: TargetKind) -> Vec<String> {
    let directory = catalog.of(kind);
    if sync {
        return directory.ids().cloned().collect();
    }
    shape
        .names(kind)
        .iter()
        .filter_map(|name| directory.resolve(name))
        .map(|t| t.id.clone())
        .collect()
}

/// The targets whose members the target side would read should the rows'
/// users exist (no more targets than rows that name them): read alongside
/// a listing of `pages` pages rather than after it. Should the rows prove
/// new, the reads were wasted: only with at least two pages of users for
/// each target, so they stay a small share of the lookup.
fn read_alongside(
    shape: &BatchShape,
    pages: u64,
    targets_of: impl Fn(usize, TargetKind) -> Vec<String>,
) -> Vec<(TargetKind, String)> {
    let mut likely = Vec::new();
    for (i, kind) in TargetKind::ALL.into_iter().enumerate() {
        let targets = targets_of(i, kind);
        let keys = shape.keys(kind).len();
        if keys > 0 && targets.len() <= keys && pages >= 2 * targets.len() as u64 {
            likely.extend(targets.into_iter().map(|id| (kind, id)));
        }
    }
    likely
}

/// The tenant listed once into an index (each user added as it arrives:
/// the listing is never held whole), `watch` seeing every user; page 1 is
/// `probe`, already read.
async fn list_tenant(
    client: &Client,
    probe: Page<User>,
    (match_by, tenant_users): (MatchBy, Option<u64>),
    mut watch: Option<&mut (dyn FnMut(&User) + Send)>,
) -> Result<TenantIndex, ApiError> {
    let mut index = TenantIndex::new(match_by.field(), tenant_users);
    client
        .each_user(Some(probe), |user| {
            index.add(&user);
            if let Some(watch) = watch.as_mut() {
                watch(&user);
            }
        })
        .await?;
    Ok(index)
}

/// What a row met in the tenant.
pub struct Met {
    /// The user its match key finds.
    pub found: Found,
    /// When matching by email or employee number: who holds its username,
    /// if not the user found.
    pub username_holder: Option<User>,
    /// When it matches nobody: who already holds its email or employee number.
    pub identity_holder: Option<User>,
    /// When it matches nobody: a user whose username only looks like the
    /// row's (confusable characters).
    pub lookalike: Option<User>,
}

/// Where to read one kind of membership from. With the tenant indexed,
/// the user-side cost is the rows whose keys existing users have; without
/// an index every row with the cell may.
fn side(index: Option<&TenantIndex>, keys: &[u64], targets: usize) -> MembershipSide {
    if keys.is_empty() {
        return MembershipSide::NotNeeded;
    }
    let existing = match index {
        Some(index) => keys.iter().filter(|k| index.may_have_key(**k)).count(),
        // Per-row lookups: reading the target side up front would be a
        // guess about who exists; the user side reads only what is needed.
        None => return MembershipSide::UserSide,
    };
    if existing == 0 {
        return MembershipSide::NotNeeded;
    }
    cheaper_side(targets as u64, existing as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Field;

    #[test]
    fn the_membership_side_follows_the_existing_users() {
        let mut index = TenantIndex::new(Field::Username, None);
        for name in ["ana", "bo", "cy"] {
            let user: User =
                serde_json::from_value(serde_json::json!({"id": name, "username": name})).unwrap();
            index.add(&user);
        }
        let known = &index;
        let keys: Vec<u64> = ["ANA", "bo", "new"]
            .iter()
            .map(|k| key_fingerprint(k))
            .collect();
        assert_eq!(side(Some(known), &[], 5), MembershipSide::NotNeeded);
        assert_eq!(side(Some(known), &keys, 1), MembershipSide::TargetSide);
        assert_eq!(side(Some(known), &keys, 5), MembershipSide::UserSide);
        assert_eq!(side(None, &keys, 1), MembershipSide::UserSide);
        let new_only: Vec<u64> = vec![key_fingerprint("new")];
        assert_eq!(side(Some(known), &new_only, 1), MembershipSide::NotNeeded);
    }
}
