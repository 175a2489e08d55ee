//! Finding the users a file names: one lookup per name when that takes
//! fewer calls than listing the tenant, else one listing, indexed by the
//! match key (lower case). Shared by the lifecycle commands.

use std::collections::HashMap;

use futures::StreamExt;

use crate::api::{ApiError, Client, UserQuery};
use crate::input::MatchBy;
use crate::model::User;
use crate::plan::lookup::probe_users;

/// The tenant's users as a file needs them.
pub struct TenantUsers {
    /// Match key (lower case) → the users holding it.
    pub by_key: HashMap<String, Vec<User>>,
    /// Every user, when the tenant was listed (empty after lookups).
    pub listed: Vec<User>,
    /// Users in the tenant.
    pub total: u64,
}

/// The key of `user` in `match_by` (lower case).
pub fn key_of(user: &User, match_by: MatchBy) -> Option<String> {
    user.fields
        .text(match_by.field())
        .filter(|k| !k.is_empty())
        .map(str::to_lowercase)
}

/// The users holding `keys` (all users when `keys` is `None`).
pub async fn tenant_users(
    client: &Client,
    keys: Option<&[String]>,
    match_by: MatchBy,
) -> Result<TenantUsers, ApiError> {
    let probe = probe_users(client).await?;
    let total = probe.total.unwrap_or(probe.keys.len() as u64);
    let pages = total.div_ceil(u64::from(client.page_size()).max(1));
    let mut by_key: HashMap<String, Vec<User>> = HashMap::new();
    let mut listed = Vec::new();
    match keys {
        Some(keys) if match_by == MatchBy::Username && (keys.len() as u64) < pages => {
            let answers: Vec<(String, Result<Option<User>, ApiError>)> =
                futures::stream::iter(keys)
                    .map(|key| async move {
                        (key.to_lowercase(), client.find_user_by_username(key).await)
                    })
                    .buffer_unordered(16)
                    .collect()
                    .await;
            for (key, answer) in answers {
                by_key.entry(key).or_default().extend(answer?);
            }
        }
        _ => {
            let request = UserQuery::default().to_request();
            client
                .read_listing_from(
                    &request,
                    Some(probe),
                    |_| {},
                    |user: User| {
                        listed.push(user);
                        Ok::<_, ApiError>(())
                    },
                )
                .await?;
            for user in &listed {
                if let Some(key) = key_of(user, match_by) {
                    by_key.entry(key).or_default().push(user.clone());
                }
            }
        }
    }
    Ok(TenantUsers {
        by_key,
        listed,
        total,
    })
}

/// What a key finds: one user, or why not.
pub fn one_user<'a>(
    by_key: &'a HashMap<String, Vec<User>>,
    key: &str,
    field: &str,
) -> Result<&'a User, String> {
    match by_key.get(&key.to_lowercase()).map(Vec::as_slice) {
        None | Some([]) => Err(format!("no user with {field} '{key}' in the tenant")),
        Some([user]) => Ok(user),
        Some(many) => Err(format!(
            "{} users share the {field} '{key}': the row cannot be matched safely",
            many.len()
        )),
    }
}
