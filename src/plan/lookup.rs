//! How rows find their users and the users' current memberships, with the
//! fewest calls for this batch and this tenant.
//!
//! Users are found either through one paginated listing of the whole
//! tenant (bulk) or one lookup per row, whichever needs fewer calls.
//! Memberships are read from the group side (one listing per group) or the
//! user side (one call per existing user), again whichever is cheaper.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::TryStreamExt;
use serde::Serialize;

use super::catalog::Catalog;
use crate::api::{ApiError, Client, ListRequest, UserQuery};
use crate::input::{MatchBy, RowInput};
use crate::model::{Application, Group, User};

/// How users are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserStrategy {
    /// The whole tenant listed once.
    Bulk,
    /// One lookup per row.
    PerRow,
}

/// How current memberships are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipStrategy {
    /// Nothing to read: no row names groups (or applications).
    NotNeeded,
    /// `/groups/{id}/users` for each group in scope, up front.
    GroupSide,
    /// `/users/{id}/groups` for each existing user that needs it.
    UserSide,
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
}

/// A case-insensitive fingerprint of a match key.
pub fn key_fingerprint(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.to_lowercase().hash(&mut hasher);
    hasher.finish()
}

/// The match key of a row.
pub fn row_key(row: &RowInput, match_by: MatchBy) -> Option<&str> {
    row.set.text(match_by.field()).filter(|k| !k.is_empty())
}

/// The whole tenant's users, indexed for matching.
#[derive(Debug, Default)]
pub struct UserIndex {
    users: Vec<User>,
    by_key: HashMap<String, Vec<usize>>,
    by_username: HashMap<String, usize>,
}

impl UserIndex {
    fn build(users: Vec<User>, match_by: MatchBy) -> Self {
        let mut index = UserIndex::default();
        for (i, user) in users.iter().enumerate() {
            if let Some(key) = user.fields.text(match_by.field()).filter(|k| !k.is_empty()) {
                index.by_key.entry(key.to_lowercase()).or_default().push(i);
            }
            if let Some(username) = user.fields.username.as_deref() {
                index.by_username.insert(username.to_lowercase(), i);
            }
        }
        index.users = users;
        index
    }

    fn find(&self, key: &str) -> Found {
        match self.by_key.get(&key.to_lowercase()).map(Vec::as_slice) {
            None | Some([]) => Found::None,
            Some([one]) => Found::One(Box::new(self.users[*one].clone())),
            Some(many) => Found::Ambiguous(many.len()),
        }
    }

    fn holder(&self, username: &str) -> Option<User> {
        self.by_username
            .get(&username.to_lowercase())
            .map(|i| self.users[*i].clone())
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The result of matching a row.
#[derive(Debug, Clone)]
pub enum Found {
    None,
    One(Box<User>),
    /// Several users share the key: the row cannot be matched safely.
    Ambiguous(usize),
}

/// Everything the import needs to find users and their memberships.
pub struct Lookups {
    pub users: UserStrategy,
    pub groups: MembershipStrategy,
    pub applications: MembershipStrategy,
    /// Users in the tenant when the run started, when known.
    pub tenant_users: Option<u64>,
    /// (country, userType) of every tenant user, when the tenant was listed.
    pub seen_values: Option<Vec<(Option<String>, Option<String>)>>,
    match_by: MatchBy,
    index: Option<UserIndex>,
    group_members: HashMap<String, BTreeSet<String>>,
    app_members: HashMap<String, BTreeSet<String>>,
}

impl Lookups {
    /// Picks the strategies for `shape` and loads what they need up front.
    pub async fn prepare(
        client: &Client,
        catalog: &Catalog,
        shape: &BatchShape,
        match_by: MatchBy,
        sync_groups: bool,
        sync_applications: bool,
    ) -> Result<Self, ApiError> {
        let probe = client
            .fetch_page::<User>(&UserQuery::default().to_request(), 1)
            .await?;
        let tenant_users = probe.total;
        let page_size = u64::from(client.page_size());
        let received = probe.items.len() as u64;
        let bulk = match (match_by, tenant_users) {
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
        let (index, seen_values) = if bulk {
            let users: Vec<User> = client.list_all(UserQuery::default().to_request()).await?;
            let seen = values_of(&users);
            (Some(UserIndex::build(users, match_by)), Some(seen))
        } else {
            (None, None)
        };
        let mut lookups = Lookups {
            users: if bulk {
                UserStrategy::Bulk
            } else {
                UserStrategy::PerRow
            },
            groups: MembershipStrategy::NotNeeded,
            applications: MembershipStrategy::NotNeeded,
            tenant_users: tenant_users.or(index.as_ref().map(|i| i.len() as u64)),
            seen_values,
            match_by,
            index,
            group_members: HashMap::new(),
            app_members: HashMap::new(),
        };
        let group_scope: Vec<String> = if sync_groups {
            catalog.groups.ids().cloned().collect()
        } else {
            shape
                .groups
                .iter()
                .filter_map(|name| catalog.groups.resolve(name))
                .map(|t| t.id.clone())
                .collect()
        };
        let app_scope: Vec<String> = if sync_applications {
            catalog.applications.ids().cloned().collect()
        } else {
            shape
                .applications
                .iter()
                .filter_map(|name| catalog.applications.resolve(name))
                .map(|t| t.id.clone())
                .collect()
        };
        // The tenant's match keys, fingerprinted once for both choices.
        let known: Option<HashSet<u64>> = lookups
            .index
            .as_ref()
            .map(|index| index.by_key.keys().map(|k| key_fingerprint(k)).collect());
        lookups.groups = choose(known.as_ref(), &shape.keys_with_groups, group_scope.len());
        lookups.applications = choose(
            known.as_ref(),
            &shape.keys_with_applications,
            app_scope.len(),
        );
        if lookups.groups == MembershipStrategy::GroupSide {
            lookups.group_members = members_by_user(client, &group_scope, "groups").await?;
        }
        if lookups.applications == MembershipStrategy::GroupSide {
            lookups.app_members = members_by_user(client, &app_scope, "applications").await?;
        }
        Ok(lookups)
    }

    /// The distinct (country, userType) pairs the tenant's users hold: one
    /// listing, for rows whose values only the tenant can vouch for.
    pub async fn tenant_values(
        client: &Client,
    ) -> Result<Vec<(Option<String>, Option<String>)>, ApiError> {
        let users: Vec<User> = client.list_all(UserQuery::default().to_request()).await?;
        Ok(values_of(&users))
    }

    /// The user a row matches, and (when the row renames) who holds its username.
    pub async fn find(
        &self,
        client: &Client,
        row: &RowInput,
    ) -> Result<(Found, Option<User>), ApiError> {
        let Some(key) = row_key(row, self.match_by) else {
            return Ok((Found::None, None));
        };
        let found = match &self.index {
            Some(index) => index.find(key),
            None => match self.match_by {
                MatchBy::Username => match client.find_user_by_username(key).await? {
                    Some(user) => Found::One(Box::new(user)),
                    None => Found::None,
                },
                MatchBy::Email | MatchBy::EmployeeNumber => {
                    let query = UserQuery {
                        email: Some(key.to_string()),
                        ..Default::default()
                    };
                    let mut hits: Vec<User> = client.list_users(&query).try_collect().await?;
                    hits.retain(|u| {
                        u.fields
                            .email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(key))
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
        Ok((found, holder))
    }

    /// The ids of `user_id`'s groups (reading them if the strategy says so).
    pub async fn current_groups(
        &self,
        client: &Client,
        user_id: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        match self.groups {
            MembershipStrategy::UserSide => {
                let groups: Vec<Group> = client.user_groups(user_id).await?;
                Ok(groups.into_iter().map(|g| g.id).collect())
            }
            _ => Ok(self.group_members.get(user_id).cloned().unwrap_or_default()),
        }
    }

    /// The ids of `user_id`'s applications.
    pub async fn current_applications(
        &self,
        client: &Client,
        user_id: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        match self.applications {
            MembershipStrategy::UserSide => {
                let apps: Vec<Application> = client.user_applications(user_id).await?;
                Ok(apps.into_iter().map(|a| a.id).collect())
            }
            _ => Ok(self.app_members.get(user_id).cloned().unwrap_or_default()),
        }
    }
}

fn values_of(users: &[User]) -> Vec<(Option<String>, Option<String>)> {
    let distinct: BTreeSet<(Option<String>, Option<String>)> = users
        .iter()
        .map(|u| (u.fields.country.clone(), u.fields.user_type.clone()))
        .collect();
    distinct.into_iter().collect()
}

/// Group side when it takes fewer calls than one per existing user. `known`
/// holds the fingerprints of the tenant's match keys (with a bulk index).
fn choose(known: Option<&HashSet<u64>>, keys: &[u64], scope: usize) -> MembershipStrategy {
    if keys.is_empty() {
        return MembershipStrategy::NotNeeded;
    }
    let Some(known) = known else {
        return MembershipStrategy::UserSide;
    };
    let existing = keys.iter().filter(|k| known.contains(k)).count();
    if existing == 0 {
        MembershipStrategy::NotNeeded
    } else if scope < existing {
        MembershipStrategy::GroupSide
    } else {
        MembershipStrategy::UserSide
    }
}

/// Reads the members of each group (or application) and inverts it: user id → ids.
async fn members_by_user(
    client: &Client,
    ids: &[String],
    kind: &str,
) -> Result<HashMap<String, BTreeSet<String>>, ApiError> {
    let mut by_user: HashMap<String, BTreeSet<String>> = HashMap::new();
    let reads = ids.iter().map(|id| {
        let request = ListRequest::new(&[kind, id, "users"]);
        async move {
            let members: Vec<User> = client.list_all(request).await?;
            Ok::<_, ApiError>((id.clone(), members))
        }
    });
    let results = futures::future::try_join_all(reads).await?;
    for (id, members) in results {
        for member in members {
            by_user.entry(member.id).or_default().insert(id.clone());
        }
    }
    Ok(by_user)
}
