//! The tenant's users, held compactly for a run: each user's JSON bytes in
//! one arena, found through 64-bit fingerprints of the match key and the
//! username, and parsed back into a [`User`] only for the rows that meet
//! it. A few hundred bytes per user instead of kilobytes, so a million-user
//! tenant fits where a hundred thousand did not.
//!
//! Fingerprints never decide a match alone: every candidate is parsed and
//! its key compared, so a collision cannot pair a row with the wrong user.

use std::collections::{BTreeSet, HashMap};

use crate::model::text::fingerprint;
use crate::model::{Field, User};

/// Where one user's bytes are in the arena.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// Users by key, compactly.
#[derive(Debug, Default)]
pub struct TenantIndex {
    key: Option<Field>,
    arena: Vec<u8>,
    spans: Vec<Span>,
    /// Fingerprint of the match key → the users (by position) with it.
    by_key: HashMap<u64, Positions>,
    /// Fingerprint of the username → the users with it.
    by_username: HashMap<u64, Positions>,
    /// (country, userType) pairs the users hold.
    seen: BTreeSet<(Option<String>, Option<String>)>,
}

/// Positions sharing a fingerprint: almost always one.
#[derive(Debug, Clone)]
enum Positions {
    One(u32),
    Many(Vec<u32>),
}

impl Positions {
    fn push(&mut self, position: u32) {
        match self {
            Positions::One(first) => *self = Positions::Many(vec![*first, position]),
            Positions::Many(all) => all.push(position),
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Positions::One(one) => std::slice::from_ref(one),
            Positions::Many(all) => all,
        }
    }
}

/// The users a key finds.
#[derive(Debug, Clone)]
pub enum Found {
    None,
    One(Box<User>),
    /// Several users share the key: the row cannot be matched safely.
    Ambiguous(usize),
}

impl TenantIndex {
    /// An empty index of users matched by `key`.
    pub fn new(key: Field) -> Self {
        TenantIndex {
            key: Some(key),
            ..Default::default()
        }
    }

    /// Adds a user as the tenant listed it.
    pub fn add(&mut self, user: &User) {
        let Ok(bytes) = serde_json::to_vec(user) else {
            return;
        };
        let (Ok(start), Ok(len), Ok(position)) = (
            u32::try_from(self.arena.len()),
            u32::try_from(bytes.len()),
            u32::try_from(self.spans.len()),
        ) else {
            return;
        };
        self.arena.extend_from_slice(&bytes);
        self.spans.push(Span { start, len });
        let key = self.key.and_then(|field| user.fields.text(field));
        for (map, value) in [
            (&mut self.by_key, key),
            (&mut self.by_username, user.fields.username.as_deref()),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                map.entry(fingerprint(value))
                    .and_modify(|p| p.push(position))
                    .or_insert(Positions::One(position));
            }
        }
        self.seen
            .insert((user.fields.country.clone(), user.fields.user_type.clone()));
    }

    fn user_at(&self, position: u32) -> Option<User> {
        let span = self.spans.get(position as usize)?;
        let start = span.start as usize;
        let bytes = self.arena.get(start..start + span.len as usize)?;
        serde_json::from_slice(bytes).ok()
    }

    /// The users whose `field` is `value` (ignoring case).
    fn exact(&self, map: &HashMap<u64, Positions>, field: Field, value: &str) -> Vec<User> {
        map.get(&fingerprint(value))
            .map(Positions::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| self.user_at(*p))
            .filter(|u| {
                u.fields
                    .text(field)
                    .is_some_and(|have| have.to_lowercase() == value.to_lowercase())
            })
            .collect()
    }

    /// The user whose match key is `key`.
    pub fn find(&self, key: &str) -> Found {
        let Some(field) = self.key else {
            return Found::None;
        };
        let mut users = self.exact(&self.by_key, field, key);
        match users.len() {
            0 => Found::None,
            1 => Found::One(Box::new(users.remove(0))),
            n => Found::Ambiguous(n),
        }
    }

    /// The user who holds `username`.
    pub fn holder(&self, username: &str) -> Option<User> {
        self.exact(&self.by_username, Field::Username, username)
            .into_iter()
            .next()
    }

    /// Whether some user may have the match key with this fingerprint.
    pub fn may_have_key(&self, key_fingerprint: u64) -> bool {
        self.by_key.contains_key(&key_fingerprint)
    }

    /// How many users the index holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The distinct (country, userType) pairs the users hold.
    pub fn seen_values(&self) -> Vec<(Option<String>, Option<String>)> {
        self.seen.iter().cloned().collect()
    }

    /// Bytes held, roughly: for the summary and the benchmark.
    pub fn approximate_bytes(&self) -> usize {
        self.arena.capacity()
            + self.spans.capacity() * std::mem::size_of::<Span>()
            + (self.by_key.capacity() + self.by_username.capacity()) * 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, username: &str, email: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": id, "username": username, "email": email, "country": "Germany",
            "lastLogon": "2026-01-01"
        }))
        .unwrap()
    }

    #[test]
    fn users_are_found_by_key_and_username_and_come_back_whole() {
        let mut index = TenantIndex::new(Field::Email);
        index.add(&user("1", "ana", "ana@example.com"));
        index.add(&user("2", "bo", "shared@example.com"));
        index.add(&user("3", "cy", "SHARED@example.com"));
        let Found::One(ana) = index.find("ANA@example.com") else {
            panic!("ana")
        };
        assert_eq!(ana.id, "1");
        assert_eq!(ana.extra["lastLogon"], "2026-01-01", "unknown fields kept");
        assert!(matches!(
            index.find("shared@example.com"),
            Found::Ambiguous(2)
        ));
        assert!(matches!(index.find("nobody@example.com"), Found::None));
        assert_eq!(index.holder("BO").map(|u| u.id), Some("2".to_string()));
        assert_eq!(index.len(), 3);
        assert_eq!(index.seen_values().len(), 1);
        assert!(index.may_have_key(fingerprint("ana@example.com")));
        assert!(index.approximate_bytes() < 3 * 1024);
    }
}
