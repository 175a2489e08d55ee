//! Finding the users a file names: one lookup per name when that takes
//! fewer calls than listing the tenant, else one listing, indexed by the
//! match key (lower case). Shared by the lifecycle commands.

use std::collections::HashMap;

use futures::StreamExt;

use crate::api::{ApiError, Client, UserQuery};
use crate::decision::lookup::probe_users;
use crate::input::MatchBy;
use crate::model::User;
use crate::model::text::match_key;

/// A set of keys held compactly: every key once in one text, found by a
/// 64-bit fingerprint and always compared whole (a fingerprint alone never
/// decides). About 40 bytes a key (with 20-byte keys) against a
/// `HashSet<String>`'s 60 to 70.
#[derive(Debug, Default)]
pub struct KeySet {
    text: String,
    /// Where each key ends in `text` (it starts where the one before ends).
    ends: Vec<u32>,
    /// Fingerprint → the first key with it.
    by_print: HashMap<u64, u32>,
    /// The rare fingerprints two keys share: every key with it.
    shared: HashMap<u64, Vec<u32>>,
}

impl KeySet {
    fn print(key: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        hasher.finish()
    }

    fn key(&self, at: u32) -> &str {
        let at = at as usize;
        let end = self.ends.get(at).map_or(0, |e| *e as usize);
        let start = match at {
            0 => 0,
            _ => self.ends.get(at - 1).map_or(0, |e| *e as usize),
        };
        self.text.get(start..end).unwrap_or_default()
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &str) -> bool {
        let print = Self::print(key);
        match (self.shared.get(&print), self.by_print.get(&print)) {
            (Some(all), _) => all.iter().any(|at| self.key(*at) == key),
            (None, Some(at)) => self.key(*at) == key,
            (None, None) => false,
        }
    }

    /// Adds `key`; `false` when it was there already.
    pub fn insert(&mut self, key: String) -> bool {
        if self.contains(&key) {
            return false;
        }
        let (Ok(at), Ok(end)) = (
            u32::try_from(self.ends.len()),
            u32::try_from(self.text.len() + key.len()),
        ) else {
            return false;
        };
        self.text.push_str(&key);
        self.ends.push(end);
        let print = Self::print(&key);
        match self.by_print.get(&print) {
            Some(first) => self
                .shared
                .entry(print)
                .or_insert_with(|| vec![*first])
                .push(at),
            None => {
                self.by_print.insert(print, at);
            }
        }
        true
    }

    /// Every key, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|at| self.key(at))
    }

    /// Keeps only the keys `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let mut kept = KeySet::default();
        for key in self.iter().filter(|key| keep(key)) {
            kept.insert(key.to_string());
        }
        *self = kept;
    }
}

impl Extend<String> for KeySet {
    fn extend<I: IntoIterator<Item = String>>(&mut self, keys: I) {
        for key in keys {
            self.insert(key);
        }
    }
}

/// The people a roster names: their match keys (as [`match_key`] reads
/// them) and, so that a person the roster names under another key is never
/// let go as absent, the emails and employee numbers of its current rows.
#[derive(Debug, Default)]
pub struct Roster {
    /// Keys of rows that are current: no end date, or one after the as-of date.
    pub current: KeySet,
    /// Keys of rows whose end date has passed, and no current row's.
    pub ended: KeySet,
    /// Rows the filters keep that give no key.
    pub unkeyed: u64,
    /// The emails and employee numbers of current rows, and their
    /// namesake keys (see [`namesake`]).
    pub identities: Fingerprints,
}

/// A set of keys held by 64-bit fingerprint alone (about 10 bytes a key):
/// for a set whose rare false "yes" errs the safe way (a roster's
/// identities: a user wrongly seen as named is kept, never let go).
#[derive(Debug, Default)]
pub struct Fingerprints(std::collections::HashSet<u64>);

impl Fingerprints {
    pub fn insert(&mut self, key: &str) {
        self.0.insert(KeySet::print(key));
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains(&KeySet::print(key))
    }
}

impl Roster {
    /// Takes a current row's email and employee number as identities,
    /// and, keyed otherwise than by username, its username with its first
    /// and last name (a namesake: see [`namesake`]).
    pub fn note_identities(&mut self, row: &crate::input::RowInput, match_by: MatchBy) {
        // The match key itself names a current row already (`current`).
        let fields = &row.set;
        let values = [
            (MatchBy::Email, &fields.email),
            (MatchBy::EmployeeNumber, &fields.employee_number),
        ];
        for (by, value) in values {
            let key = value.as_deref().map(match_key).filter(|k| !k.is_empty());
            if let Some(key) = key.filter(|_| by != match_by) {
                self.identities.insert(&key);
            }
        }
        if match_by != MatchBy::Username
            && let Some(name) = namesake(&row.set)
        {
            // One key a row: whether it gives an employee number.
            let numbered = row
                .set
                .employee_number
                .as_deref()
                .is_some_and(|n| !match_key(n).is_empty());
            let mark = if numbered { "*" } else { "" };
            self.identities.insert(&format!("{name}\u{1}{mark}"));
        }
    }

    /// Notes the person one row names. A row whose end date is on or
    /// before the as-of day (`sync`; `None`: dates are not read) has
    /// ended; any other is current. An
    /// `invalid` row is never ended (its dates are not trusted) and names
    /// its person even by a key cell it could not read: that person is
    /// neither changed nor let go as absent.
    pub fn note_row(
        &mut self,
        row: &crate::input::RowInput,
        match_by: MatchBy,
        (as_of, invalid): (Option<i64>, bool),
    ) {
        let ended = match (as_of, row.end_date) {
            (Some(as_of), Some(end)) => end <= as_of && !invalid,
            _ => false,
        };
        let field = match_by.field();
        let unread = |wanted: crate::model::Field| {
            row.unread
                .iter()
                .filter(move |(f, _)| *f == wanted)
                .map(|(_, raw)| match_key(raw))
                .filter(|key| !key.is_empty())
        };
        let key = crate::decision::lookup::row_key(row, match_by)
            .map(match_key)
            .or_else(|| unread(field).next().filter(|_| invalid));
        match key {
            Some(key) if ended => {
                self.ended.insert(key);
            }
            Some(key) => {
                self.current.insert(key);
            }
            None => self.unkeyed += 1,
        }
        if !ended {
            self.note_identities(row, match_by);
            if invalid {
                let others = [
                    crate::model::Field::Email,
                    crate::model::Field::EmployeeNumber,
                ];
                for other in others {
                    for key in unread(other) {
                        self.identities.insert(&key);
                    }
                }
            }
        }
    }

    /// Whether a current row carries `user`'s email or employee number:
    /// the roster names that person under another key (a typo, a changed
    /// number), so it is not absent.
    pub fn names_otherwise(&self, user: &User) -> bool {
        if identity_keys(&user.fields).any(|key| self.identities.contains(&key)) {
            return true;
        }
        // A row with the user's username, first and last name and no
        // employee number that contradicts the user's: most likely the
        // same person under a new key (their row is a conflict).
        let Some(name) = namesake(&user.fields) else {
            return false;
        };
        // A row with the same number is named by the number already.
        let unnumbered = self.identities.contains(&format!("{name}\u{1}"));
        match user.fields.employee_number.as_deref().map(match_key) {
            Some(number) if !number.is_empty() => unnumbered,
            _ => unnumbered || self.identities.contains(&format!("{name}\u{1}*")),
        }
    }
}

/// Username, first and last name as one key, when all three are given:
/// how a person is recognised under another key.
fn namesake(fields: &crate::model::UserFields) -> Option<String> {
    let parts = [&fields.username, &fields.first_name, &fields.last_name]
        .map(|f| f.as_deref().map(match_key).filter(|k| !k.is_empty()));
    let [Some(username), Some(first), Some(last)] = parts else {
        return None;
    };
    Some(format!("\u{2}{username}\u{1}{first}\u{1}{last}"))
}

/// The email and employee number of `fields`, as [`match_key`] reads them.
fn identity_keys(fields: &crate::model::UserFields) -> impl Iterator<Item = String> + '_ {
    [&fields.email, &fields.employee_number]
        .into_iter()
        .flatten()
        .map(|value| match_key(value))
        .filter(|key| !key.is_empty())
}

/// The users a roster keeps only through their email or employee number:
/// counted, the first few named for the warning and the summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NamedOtherwise {
    #[serde(rename = "named_otherwise")]
    pub count: u64,
    /// The first of them, by username.
    #[serde(rename = "named_otherwise_users")]
    pub usernames: Vec<String>,
}

impl NamedOtherwise {
    /// How many are named; the rest are counted.
    const NAMED: usize = 10;

    pub fn note(&mut self, user: &User) {
        self.count += 1;
        if self.usernames.len() < Self::NAMED {
            let name = user
                .fields
                .username
                .clone()
                .unwrap_or_else(|| user.id.clone());
            self.usernames.push(name);
        }
    }

    /// `ana, bob and 3 more`.
    pub fn shown(&self) -> String {
        let more = self.count.saturating_sub(self.usernames.len() as u64);
        let names = self.usernames.join(", ");
        if more > 0 {
            format!("{names} and {more} more")
        } else {
            names
        }
    }
}

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
        .map(match_key)
        .filter(|k| !k.is_empty())
}

/// The users holding `keys` (all users when `keys` is `None`).
pub async fn tenant_users(
    client: &Client,
    keys: Option<&[String]>,
    match_by: MatchBy,
) -> Result<TenantUsers, ApiError> {
    let probe = probe_users(client).await?;
    // The guard's denominator: the server's own total, or else the count
    // of a complete listing; never the length of one (perhaps capped) page.
    let known_total = probe.total;
    let received = (probe.keys.len() as u64).max(1);
    let pages =
        known_total.map(|total| total.div_ceil(received.min(u64::from(client.page_size())).max(1)));
    let mut by_key: HashMap<String, Vec<User>> = HashMap::new();
    let mut listed = Vec::new();
    let total;
    match keys {
        Some(keys)
            if match_by == MatchBy::Username && pages.is_some_and(|p| (keys.len() as u64) < p) =>
        {
            total = known_total.unwrap_or_default();
            let answers: Vec<(String, Result<Option<User>, ApiError>)> =
                futures::stream::iter(keys)
                    .map(|key| async move {
                        (
                            match_key(key),
                            client.find_user_by_username(key.trim()).await,
                        )
                    })
                    .buffer_unordered(16)
                    .collect()
                    .await;
            // Two rows naming one user (`staff041`, `STAFF041`) find it
            // twice: it is still one user.
            for (key, answer) in answers {
                let held = by_key.entry(key).or_default();
                if let Some(user) = answer?
                    && !held.iter().any(|h| h.id == user.id)
                {
                    held.push(user);
                }
            }
        }
        _ => {
            client
                .each_user(Some(probe), |user| listed.push(user))
                .await?;
            total = listed.len() as u64;
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

/// How many users the tenant has, for the guard: the server's own total,
/// or else a complete listing counted (the pager's end rules), never the
/// length of one page a server may have capped.
pub async fn tenant_size(client: &Client) -> Result<u64, ApiError> {
    let probe = probe_users(client).await?;
    if let Some(total) = probe.total {
        return Ok(total);
    }
    let mut count = 0u64;
    let stats = client
        .read_listing_from(
            &UserQuery::default().to_request(),
            Some(probe),
            |_| {},
            |_: User| {
                count += 1;
                Ok::<_, ApiError>(())
            },
        )
        .await?;
    if let Some(message) = stats.incomplete("GET /users") {
        return Err(ApiError::Incomplete(message));
    }
    Ok(count)
}

/// Which of `ids` the tenant (of `tenant` users) still holds: one GET
/// each when that is fewer calls than a listing, else one listing. A
/// killed run run again finds some of its users gone already, and a
/// change to a user who is gone is no change, for the guard.
pub async fn still_held(
    client: &Client,
    ids: &std::collections::BTreeSet<String>,
    tenant: u64,
) -> Result<std::collections::BTreeSet<String>, ApiError> {
    let mut held = std::collections::BTreeSet::new();
    let pages = tenant.div_ceil(u64::from(client.page_size()).max(1)).max(1);
    if ids.len() as u64 <= pages {
        let mut gets = futures::stream::iter(ids)
            .map(|id| async move { (client.get_user(id).await, id) })
            .buffer_unordered(client.parallelism().max(1));
        while let Some((found, id)) = gets.next().await {
            match found {
                Ok(_) => {
                    held.insert(id.clone());
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
        }
        return Ok(held);
    }
    let stats = client
        .read_listing_from(
            &UserQuery::default().to_request(),
            None,
            |_| {},
            |user: User| {
                if ids.contains(&user.id) {
                    held.insert(user.id);
                }
                Ok::<_, ApiError>(())
            },
        )
        .await?;
    if let Some(message) = stats.incomplete("GET /users") {
        return Err(ApiError::Incomplete(message));
    }
    Ok(held)
}

/// What a key finds: one user, or why not.
pub fn one_user<'a>(
    by_key: &'a HashMap<String, Vec<User>>,
    key: &str,
    field: &str,
) -> Result<&'a User, String> {
    match by_key.get(&match_key(key)).map(Vec::as_slice) {
        None | Some([]) => Err(format!("no user with {field} '{key}' in the tenant")),
        Some([user]) => Ok(user),
        Some(many) => Err(format!(
            "{} users share the {field} '{key}': the row cannot be matched safely",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_finds_its_keys_whole_and_keeps_what_it_is_told() {
        let mut keys = KeySet::default();
        assert!(keys.insert("ana".to_string()));
        assert!(keys.insert("bo".to_string()));
        assert!(!keys.insert("ana".to_string()), "once each");
        keys.extend(["cy".to_string(), String::new()]);
        assert!(keys.contains("ana") && keys.contains("bo") && keys.contains(""));
        assert!(!keys.contains("an") && !keys.contains("ANA"));
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["ana", "bo", "cy", ""]);
        keys.retain(|key| key != "bo");
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["ana", "cy", ""]);
        assert!(!keys.contains("bo"));
    }
}
