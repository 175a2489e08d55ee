//! Drift: whether the users a plan was decided on are still as they were.
//! Before any write, the users the plan touches are read again — one by
//! one when they are few and nothing is created, else in one listing of
//! the tenant (which also finds who holds the names a create would take)
//! — with their memberships in the targets a row adds to or removes from
//! (however the plan read them), and each row's fingerprint is made
//! again ([`PlannedWrites::decided_on`]). A row whose user changed, went, or whose
//! new user's name is now held has drifted. A plan already applied is all
//! drift.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::StreamExt;

use crate::api::{ApiError, Client, UserQuery};
use crate::engine::plan_rows::{NEW, PlannedWrites};
use crate::model::User;
use crate::model::text::{fingerprint as key_print, match_key};

/// Users read one by one up to this many (and no creates); beyond it the
/// tenant is listed, which costs a page per hundred users.
const READ_ONE_BY_ONE: usize = 50;

/// One row to check: its line, what it was decided on, its writes.
pub struct Checked<'a> {
    pub row: u64,
    pub decided_on: &'a str,
    pub exact: &'a PlannedWrites,
}

/// What reading the tenant again found.
#[derive(Default)]
pub struct Found {
    /// The touched users as they are now, by id.
    pub users: HashMap<String, User>,
    /// Why rows drifted, by row.
    pub drifted: HashMap<u64, String>,
    /// The tenant's users, when it was listed whole.
    pub tenant_users: Option<u64>,
}

/// Reads the touched users again and tells which rows drifted.
pub async fn check(client: &Client, rows: &[Checked<'_>]) -> Result<Found, ApiError> {
    let touched: BTreeSet<&str> = rows.iter().filter_map(|r| r.exact.user_id()).collect();
    let creates: Vec<&PlannedWrites> = rows
        .iter()
        .map(|r| r.exact)
        .filter(|e| matches!(e, PlannedWrites::Create { .. }))
        .collect();
    let mut found = Found::default();
    let mut held = HashSet::new();
    if creates.is_empty() && touched.len() <= READ_ONE_BY_ONE {
        let reads = futures::stream::iter(touched.iter().map(|id| async move {
            match client.get_user(id).await {
                Ok(user) => Ok(Some(user)),
                Err(e) if e.status() == Some(404) => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .buffer_unordered(client.parallelism().max(1))
        .collect::<Vec<_>>()
        .await;
        for user in reads {
            if let Some(user) = user? {
                found.users.insert(user.id.clone(), user);
            }
        }
    } else {
        let request = UserQuery::default().to_request();
        let mut count = 0u64;
        let stats = client
            .read_listing(
                &request,
                |_| {},
                |user: User| {
                    count += 1;
                    for name in [
                        &user.fields.username,
                        &user.fields.email,
                        &user.fields.employee_number,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        held.insert(key_print(&match_key(name)));
                    }
                    if touched.contains(user.id.as_str()) {
                        found.users.insert(user.id.clone(), user);
                    }
                    Ok::<_, ApiError>(())
                },
            )
            .await?;
        if let Some(message) = stats.incomplete(&request.endpoint()) {
            return Err(ApiError::Incomplete(message));
        }
        found.tenant_users = Some(count);
    }
    let memberships = read_memberships(client, rows, &found.users).await?;
    for row in rows {
        if let Some(why) = drift(row, &found.users, &memberships, &held) {
            found.drifted.insert(row.row, why);
        }
    }
    Ok(found)
}

/// The current memberships of the kinds each row changes, by row.
async fn read_memberships(
    client: &Client,
    rows: &[Checked<'_>],
    users: &HashMap<String, User>,
) -> Result<HashMap<u64, Vec<(crate::model::TargetKind, BTreeSet<String>)>>, ApiError> {
    let wanted = rows.iter().filter_map(|row| {
        let id = row.exact.user_id()?;
        let kinds = row.exact.membership_kinds();
        (users.contains_key(id) && !kinds.is_empty()).then_some((row.row, id, kinds))
    });
    let reads = futures::stream::iter(wanted.map(|(row, id, kinds)| async move {
        let mut read = Vec::new();
        for kind in kinds {
            let ids = client
                .memberships_of(kind, id)
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect();
            read.push((kind, ids));
        }
        Ok::<_, ApiError>((row, read))
    }))
    .buffer_unordered(client.parallelism().max(1))
    .collect::<Vec<_>>()
    .await;
    reads.into_iter().collect()
}

/// Why a row drifted, if it did.
fn drift(
    row: &Checked<'_>,
    users: &HashMap<String, User>,
    memberships: &HashMap<u64, Vec<(crate::model::TargetKind, BTreeSet<String>)>>,
    held: &HashSet<u64>,
) -> Option<String> {
    match row.exact {
        PlannedWrites::Create { user, .. } => {
            let taken = ["username", "email", "employeeNumber"]
                .into_iter()
                .filter_map(|name| user.get(name)?.as_str().map(|v| (name, v)))
                .find(|(_, value)| held.contains(&key_print(&match_key(value))));
            match (row.decided_on, taken) {
                (NEW, None) => None,
                (NEW, Some((name, value))) => Some(format!(
                    "it creates a user, but {name} '{value}' is now held by a user of the tenant"
                )),
                _ => Some("its decided_on cell is not a create's".into()),
            }
        }
        exact => {
            let id = exact.user_id().unwrap_or_default();
            let Some(user) = users.get(id) else {
                return Some(format!("user {id} is no longer in the tenant"));
            };
            let read = memberships.get(&row.row).map_or(&[][..], Vec::as_slice);
            let now = exact.decided_on(user, read);
            (now != row.decided_on).then(|| {
                let name = user.fields.username.as_deref().unwrap_or(id);
                format!("user '{name}' changed since the plan was made")
            })
        }
    }
}
