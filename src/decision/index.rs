//! The tenant's users, held compactly for a run: each user's JSON bytes in
//! one arena, found through 64-bit fingerprints of the match key and the
//! username, and parsed back into a [`User`] only for the rows that meet
//! it. A few hundred bytes per user instead of kilobytes, so a million-user
//! tenant fits where a hundred thousand did not.
//!
//! Fingerprints never decide a match alone: every candidate is parsed and
//! its key compared, so a collision cannot pair a row with the wrong user.

use std::collections::{BTreeSet, HashMap};

use crate::model::text::{ascii_lookalike, fingerprint, has_match_key, match_key, skeleton};
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
    /// Fingerprint of the match key → the user (by position) with it.
    by_key: HashMap<u64, u32>,
    /// Fingerprint of the username → the user with it (empty when the
    /// username is the match key: `by_key` is the same map then).
    by_username: HashMap<u64, u32>,
    /// Fingerprints of the email and employee number (those that are not
    /// the match key) → the user with them: one person, one account.
    by_identity: HashMap<u64, u32>,
    /// The rare fingerprints more than one user shares: all their users
    /// (the first is also in the map above).
    shared: HashMap<u64, Vec<u32>>,
    /// (country, userType) pairs the users hold.
    seen: BTreeSet<(Option<String>, Option<String>)>,
    /// Fingerprint of the id (exact) → the user with it: memberships read
    /// from the target side name users by id.
    by_id: HashMap<u64, u32>,
    /// Fingerprint of the confusable skeleton → the user, for the few
    /// usernames with letters outside ASCII (see [`skeleton`]).
    by_skeleton: HashMap<u64, Vec<u32>>,
    /// Usernames with letters outside ASCII by the plain name they
    /// imitate (`mаrk`, Cyrillic а, under `mark`): a plain row meets them
    /// there. Only such names are kept (few in any tenant).
    by_imitated: HashMap<u64, Vec<u32>>,
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
    /// An empty index of users matched by `key`, with room for about
    /// `users` of them when the count is known.
    pub fn new(key: Field, users: Option<u64>) -> Self {
        let users = users.map_or(0, |n| usize::try_from(n).unwrap_or(0).min(10_000_000));
        TenantIndex {
            key: Some(key),
            spans: Vec::with_capacity(users),
            by_key: HashMap::with_capacity(users),
            by_id: HashMap::with_capacity(users),
            by_username: HashMap::with_capacity(if key == Field::Username { 0 } else { users }),
            ..Default::default()
        }
    }

    /// Adds a user as the tenant listed it.
    pub fn add(&mut self, user: &User) {
        let bytes = codec::encode(user);
        let (Ok(start), Ok(len), Ok(position)) = (
            u32::try_from(self.arena.len()),
            u32::try_from(bytes.len()),
            u32::try_from(self.spans.len()),
        ) else {
            return;
        };
        if self.arena.capacity() - self.arena.len() < bytes.len() {
            // Grow by what the users so far average, not by doubling.
            let average = self.arena.len() / self.spans.len().max(1) + 1;
            let expected = self.spans.capacity().max(self.spans.len() + 1);
            let more = (expected - self.spans.len()) * average;
            self.arena
                .reserve_exact(more.max(bytes.len()).max(64 * 1024));
        }
        self.arena.extend_from_slice(&bytes);
        self.spans.push(Span { start, len });
        let key = self.key.and_then(|field| user.fields.text(field));
        let identity = |field: Field| {
            (self.key != Some(field))
                .then(|| user.fields.text(field))
                .flatten()
        };
        let (email, employee) = (identity(Field::Email), identity(Field::EmployeeNumber));
        let shared = &mut self.shared;
        if !user.id.is_empty() {
            let print = id_fingerprint(&user.id);
            match self.by_id.get(&print) {
                Some(first) => {
                    let all = shared.entry(print).or_insert_with(|| vec![*first]);
                    all.push(position);
                }
                None => {
                    self.by_id.insert(print, position);
                }
            }
        }
        note(&mut self.by_key, shared, key, position);
        if self.key != Some(Field::Username) {
            note(
                &mut self.by_username,
                shared,
                user.fields.username.as_deref(),
                position,
            );
        }
        note(&mut self.by_identity, shared, email, position);
        note(&mut self.by_identity, shared, employee, position);
        // A plain ASCII name has neither (its match key stays ASCII).
        if let Some(name) = user.fields.username.as_deref().filter(|n| !n.is_ascii()) {
            if let Some(imitated) = ascii_lookalike(name) {
                self.by_imitated
                    .entry(fingerprint(&imitated))
                    .or_default()
                    .push(position);
            }
            if let Some(shape) = skeleton(name) {
                self.by_skeleton
                    .entry(fingerprint(&shape))
                    .or_default()
                    .push(position);
            }
        }
        self.seen
            .insert((user.fields.country.clone(), user.fields.user_type.clone()));
    }

    fn user_at(&self, position: u32) -> Option<User> {
        codec::decode(self.bytes_at(position)?)
    }

    /// The encoded user at `position`.
    fn bytes_at(&self, position: u32) -> Option<&[u8]> {
        let span = self.spans.get(position as usize)?;
        let start = span.start as usize;
        self.arena.get(start..start + span.len as usize)
    }

    /// The position of the user whose id is `id` (exactly), if listed.
    pub fn position_of_id(&self, id: &str) -> Option<u32> {
        let print = id_fingerprint(id);
        let positions: &[u32] = match (self.shared.get(&print), self.by_id.get(&print)) {
            (Some(all), _) => all,
            (None, Some(one)) => std::slice::from_ref(one),
            (None, None) => &[],
        };
        positions
            .iter()
            .copied()
            .find(|p| self.id_at(*p) == Some(id))
    }

    /// The fingerprint [`TenantIndex::position_of_print`] finds an id by.
    pub fn id_print(id: &str) -> u64 {
        id_fingerprint(id)
    }

    /// The position of the user whose id has the fingerprint `print` (the
    /// first listed, in the vanishing case of two ids sharing one).
    pub fn position_of_print(&self, print: u64) -> Option<u32> {
        self.by_id.get(&print).copied()
    }

    /// The id of the user at `position`, read without the rest of it.
    fn id_at(&self, position: u32) -> Option<&str> {
        codec::id(self.bytes_at(position)?)
    }

    /// The users whose `field` is `value` (ignoring case).
    fn exact(&self, map: &HashMap<u64, u32>, field: Field, value: &str) -> Vec<User> {
        let print = fingerprint(value);
        let positions: &[u32] = match (self.shared.get(&print), map.get(&print)) {
            (Some(all), _) => all,
            (None, Some(one)) => std::slice::from_ref(one),
            (None, None) => &[],
        };
        let wanted = match_key(value);
        // Each candidate's one field is compared first; only the users that
        // match are built whole (a lookup of 100,000 rows reads one each).
        positions
            .iter()
            .filter(|p| {
                self.bytes_at(**p)
                    .and_then(|bytes| codec::text(bytes, field))
                    .is_some_and(|have| has_match_key(have, &wanted))
            })
            .filter_map(|p| self.user_at(*p))
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

    /// A user whose username only looks like `username` (the same
    /// confusable skeleton, another match key): `јohn.smith` (Cyrillic ј)
    /// beside `john.smith`, either way round.
    pub fn lookalike(&self, username: &str) -> Option<User> {
        let key = match_key(username);
        let shape = skeleton(username).unwrap_or_else(|| key.clone());
        let differs = |user: &User| {
            user.fields
                .username
                .as_deref()
                .is_some_and(|have| !has_match_key(have, &key))
        };
        if let Some(plain) = ascii_lookalike(username)
            .and_then(|imitated| self.holder(&imitated))
            .filter(|u| differs(u))
        {
            return Some(plain);
        }
        // The other way round: a plain name the tenant holds only as an
        // imitation (`mark` against the tenant's `mаrk`).
        if let Some(imitation) = self
            .by_imitated
            .get(&fingerprint(&key))
            .into_iter()
            .flatten()
            .filter_map(|p| self.user_at(*p))
            .find(|user| {
                differs(user)
                    && user
                        .fields
                        .username
                        .as_deref()
                        .and_then(ascii_lookalike)
                        .as_deref()
                        == Some(key.as_str())
            })
        {
            return Some(imitation);
        }
        self.by_skeleton
            .get(&fingerprint(&shape))?
            .iter()
            .filter_map(|p| self.user_at(*p))
            .find(|user| {
                differs(user)
                    && user.fields.username.as_deref().and_then(skeleton) == Some(shape.clone())
            })
    }

    /// The user who holds `username`.
    pub fn holder(&self, username: &str) -> Option<User> {
        let map = match self.key {
            Some(Field::Username) => &self.by_key,
            _ => &self.by_username,
        };
        self.exact(map, Field::Username, username)
            .into_iter()
            .next()
    }

    /// The user who holds `value` as its email or employee number (`field`),
    /// when that is not the match key.
    pub fn identity_holder(&self, field: Field, value: &str) -> Option<User> {
        self.exact(&self.by_identity, field, value)
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
            + (self.by_key.capacity()
                + self.by_username.capacity()
                + self.by_identity.capacity()
                + self.by_id.capacity())
                * 17
    }
}

/// An id's fingerprint: exact, unlike a match key's (ids are compared as
/// the server gives them).
fn id_fingerprint(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ("id", id).hash(&mut hasher);
    hasher.finish()
}

/// Files the user at `position` under `value`'s fingerprint in `map`; a
/// fingerprint already there lists every user sharing it in `shared`.
fn note(
    map: &mut HashMap<u64, u32>,
    shared: &mut HashMap<u64, Vec<u32>>,
    value: Option<&str>,
    position: u32,
) {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return;
    };
    let print = fingerprint(value);
    if let Some(first) = map.get(&print) {
        let all = shared.entry(print).or_insert_with(|| vec![*first]);
        if !all.contains(&position) {
            all.push(position);
        }
    } else {
        map.insert(print, position);
    }
}

/// A user in few bytes: the id, then each field present as its position
/// in [`Field::ALL`] and its value (lengths as varints), then any fields
/// beyond the reference as JSON. About half the size of the JSON.
pub(crate) mod codec {
    use serde_json::{Map, Value};

    use crate::model::{CustomAttribute, Field, FieldKind, FieldValue, User};

    const EXTRA: u8 = 0xFF;

    fn put_len(out: &mut Vec<u8>, mut len: usize) {
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
    }

    fn put_str(out: &mut Vec<u8>, text: &str) {
        put_len(out, text.len());
        out.extend_from_slice(text.as_bytes());
    }

    pub fn encode(user: &User) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        put_str(&mut out, &user.id);
        for (tag, &field) in Field::ALL.iter().enumerate() {
            let tag = tag as u8;
            match user.fields.get(field) {
                FieldValue::Text(Some(text)) => {
                    out.push(tag);
                    put_str(&mut out, text);
                }
                FieldValue::Bool(Some(flag)) => {
                    out.push(tag);
                    out.push(u8::from(flag));
                }
                FieldValue::List(Some(items)) => {
                    out.push(tag);
                    put_len(&mut out, items.len());
                    for item in items {
                        put_str(&mut out, item);
                    }
                }
                FieldValue::Attributes(Some(attributes)) => {
                    out.push(tag);
                    put_str(
                        &mut out,
                        &serde_json::to_string(attributes).unwrap_or_default(),
                    );
                }
                _ => {}
            }
        }
        if !user.extra.is_empty() {
            out.push(EXTRA);
            put_str(
                &mut out,
                &serde_json::to_string(&user.extra).unwrap_or_default(),
            );
        }
        out
    }

    struct Reader<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn byte(&mut self) -> Option<u8> {
            let (first, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            Some(*first)
        }

        fn len(&mut self) -> Option<usize> {
            let mut len = 0usize;
            for shift in (0..64).step_by(7) {
                let byte = self.byte()?;
                len |= usize::from(byte & 0x7F) << shift;
                if byte & 0x80 == 0 {
                    return Some(len);
                }
            }
            None
        }

        fn str(&mut self) -> Option<&'a str> {
            let len = self.len()?;
            let (text, rest) = (self.bytes.get(..len)?, self.bytes.get(len..)?);
            self.bytes = rest;
            std::str::from_utf8(text).ok()
        }
    }

    /// The id of an encoded user (it comes first).
    pub fn id(bytes: &[u8]) -> Option<&str> {
        Reader { bytes }.str()
    }

    /// The text field `field` of an encoded user, read without building
    /// the rest of it (`None`: not set, or not a text field).
    pub fn text(bytes: &[u8], field: Field) -> Option<&str> {
        let mut reader = Reader { bytes };
        reader.str()?;
        let wanted = Field::ALL.iter().position(|f| *f == field)?;
        while let Some(tag) = reader.byte() {
            if tag == EXTRA {
                reader.str()?;
                continue;
            }
            match Field::ALL.get(usize::from(tag))?.kind() {
                FieldKind::Text if usize::from(tag) == wanted => return reader.str(),
                FieldKind::Text | FieldKind::Attributes => {
                    reader.str()?;
                }
                FieldKind::Bool => {
                    reader.byte()?;
                }
                FieldKind::List => {
                    for _ in 0..reader.len()? {
                        reader.str()?;
                    }
                }
            }
        }
        None
    }

    pub fn decode(bytes: &[u8]) -> Option<User> {
        let mut reader = Reader { bytes };
        let mut user = User {
            id: reader.str()?.to_string(),
            ..User::default()
        };
        while let Some(tag) = reader.byte() {
            if tag == EXTRA {
                user.extra = serde_json::from_str::<Map<String, Value>>(reader.str()?).ok()?;
                continue;
            }
            let field = *Field::ALL.get(usize::from(tag))?;
            match user.fields.get(field) {
                FieldValue::Text(_) => {
                    *user.fields.text_mut(field)? = Some(reader.str()?.to_string())
                }
                FieldValue::Bool(_) => *user.fields.flag_mut(field)? = Some(reader.byte()? != 0),
                FieldValue::List(_) => {
                    let count = reader.len()?;
                    let mut items = Vec::with_capacity(count.min(1024));
                    for _ in 0..count {
                        items.push(reader.str()?.to_string());
                    }
                    user.fields.aliases = Some(items);
                }
                FieldValue::Attributes(_) => {
                    user.fields.custom_attributes =
                        Some(serde_json::from_str::<Vec<CustomAttribute>>(reader.str()?).ok()?);
                }
            }
        }
        Some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldKind;

    fn user(id: &str, username: &str, email: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": id, "username": username, "email": email, "country": "Germany",
            "lastLogon": "2026-01-01"
        }))
        .unwrap()
    }

    #[test]
    fn users_are_found_by_key_and_username_and_come_back_whole() {
        let mut index = TenantIndex::new(Field::Email, None);
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
        assert_eq!(index.position_of_id("2"), Some(1));
        assert_eq!(index.position_of_id("4"), None);
        assert!(
            index.approximate_bytes() < 80 * 1024,
            "the arena grows in 64 KiB steps"
        );
    }

    #[test]
    fn the_codec_keeps_every_field_and_what_it_does_not_know() {
        let user: User = serde_json::from_value(serde_json::json!({
            "id": "9f1c", "username": "zoë", "email": "z@example.com", "firstName": "",
            "isEnabled": false, "isLocked": true, "aliases": ["a", "b"],
            "customAttributes": [{"name": "Cost Centre", "value": null}],
            "createdAt": "2026-01-01", "weird": {"nested": [1, 2]}
        }))
        .unwrap();
        let bytes = codec::encode(&user);
        assert!(bytes.len() < serde_json::to_vec(&user).unwrap().len());
        assert_eq!(codec::decode(&bytes), Some(user));
        assert_eq!(codec::decode(&bytes[..bytes.len() - 1]), None);
        // Each text field read alone, past lists, flags and attributes.
        for field in Field::ALL {
            let whole = codec::decode(&bytes).unwrap();
            let expected = match field.kind() {
                FieldKind::Text => whole.fields.text(*field),
                _ => None,
            };
            assert_eq!(codec::text(&bytes, *field), expected, "{field:?}");
        }
    }

    #[test]
    fn a_plain_name_meets_the_tenant_s_imitation_of_it() {
        let mut index = TenantIndex::new(Field::Username, None);
        index.add(&user("1", "m\u{430}rk", "m@example.com"));
        index.add(&user("2", "tom.miller", "t@example.com"));
        let found = index.lookalike("Mark").map(|u| u.id);
        assert_eq!(
            found.as_deref(),
            Some("1"),
            "mаrk (Cyrillic а) imitates mark"
        );
        assert_eq!(
            index.lookalike("t\u{43e}m.miller").map(|u| u.id).as_deref(),
            Some("2"),
            "and the first way round still holds"
        );
        assert!(index.lookalike("marks").is_none());
        assert!(
            index.lookalike("m\u{430}rk").is_none(),
            "itself is no lookalike"
        );
    }
}
