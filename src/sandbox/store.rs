//! The sandbox tenant's state: users, groups, applications and the
//! memberships between them, with the tenant's invariants.
//!
//! Invariants: usernames are unique ignoring case; group names are unique;
//! memberships only ever name existing users, groups and applications (a
//! delete removes them); passwords are never stored, only the fact and
//! count of their setting, so no state file ever holds one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::validate::Rejection;
use crate::model::{
    Application, Credentials, Factor, Group, GroupWrite, PasswordOptions, User, UserFields,
};

/// What the tenant remembers of a user's password: never the password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordState {
    /// How many times a password has been set (create or setpassword).
    pub times_set: u32,
    pub auto_generated: bool,
    pub must_change_on_logon: bool,
    pub emails_sent: u32,
}

/// A user and what the tenant keeps beside the readable fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredUser {
    #[serde(default)]
    pub id: String,
    #[serde(flatten)]
    pub fields: UserFields,
    #[serde(default)]
    pub password: PasswordState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_factor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
    /// A server-managed field, only on tenants that have them (`Variant::server_fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Group and application names or ids; only in seed and state files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
}

/// A borrowed view of a user as the API returns it, for serializing pages
/// without copying every user.
#[derive(Serialize)]
pub struct PublicView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub fields: &'a UserFields,
    #[serde(flatten)]
    pub server: Option<ServerView<'a>>,
}

/// Server-managed fields a tenant may add to every user it returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerView<'a> {
    pub created_at: &'a str,
    pub last_logon: Option<&'a str>,
}

impl StoredUser {
    /// The user as the API returns it, borrowed.
    pub fn view(&self) -> PublicView<'_> {
        PublicView {
            id: &self.id,
            fields: &self.fields,
            server: self.created_at.as_deref().map(|created_at| ServerView {
                created_at,
                last_logon: None,
            }),
        }
    }

    /// The user as the API returns it.
    pub fn public(&self) -> User {
        serde_json::to_value(self.view())
            .and_then(serde_json::from_value)
            .unwrap_or_else(|_| User {
                id: self.id.clone(),
                fields: self.fields.clone(),
                extra: Default::default(),
            })
    }
}

/// The on-disk form of a tenant: seed files and `--state` files alike.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub applications: Vec<Application>,
    #[serde(default)]
    pub users: Vec<StoredUser>,
    /// Continues id generation where the saved tenant left off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_id: Option<u64>,
}

/// Why a tenant file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TenantFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid tenant file: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The whole tenant.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    users: BTreeMap<String, StoredUser>,
    by_username: HashMap<String, String>,
    groups: BTreeMap<String, Group>,
    applications: BTreeMap<String, Application>,
    group_members: BTreeMap<String, BTreeSet<String>>,
    app_members: BTreeMap<String, BTreeSet<String>>,
    next_id: u64,
    id_seed: u64,
    /// A user whose create or update leaves `isEnabled` out is disabled.
    disabled_by_default: bool,
    /// Users get server-managed fields.
    server_fields: bool,
    /// Country and userType values some user holds (or held): the tenant
    /// accepts them whatever the built-in lists say.
    held_values: std::collections::HashSet<(String, String)>,
    /// User ids in order, built on first need after a change, so paging a
    /// large tenant does not walk it from the start for every page.
    user_order: std::sync::OnceLock<Vec<String>>,
}

/// A deterministic GUID-shaped id from a seed and a counter.
fn make_id(seed: u64, counter: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(seed ^ counter.rotate_left(17));
    let b = mix(a ^ counter);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn key(username: &str) -> String {
    username.to_lowercase()
}

impl Tenant {
    /// Builds a tenant from a seed or state file, checking it like the API would.
    pub fn from_file(file: TenantFile, id_seed: u64) -> Result<Self, String> {
        let mut tenant = Tenant {
            next_id: file.next_id.unwrap_or(1),
            id_seed,
            ..Default::default()
        };
        for mut group in file.groups {
            if group.id.is_empty() {
                group.id = tenant.fresh_id();
            }
            let body = GroupWrite {
                name: group.name.clone(),
                description: group.description.clone(),
                enforce_second_factor: group.enforce_second_factor,
            };
            tenant
                .check_group_name(&body.name, None)
                .map_err(|r| r.message)?;
            tenant
                .group_members
                .insert(group.id.clone(), BTreeSet::new());
            tenant.groups.insert(group.id.clone(), group);
        }
        for mut app in file.applications {
            if app.id.is_empty() {
                app.id = tenant.fresh_id();
            }
            tenant.app_members.insert(app.id.clone(), BTreeSet::new());
            tenant.applications.insert(app.id.clone(), app);
        }
        for mut user in file.users {
            if user.id.is_empty() {
                user.id = tenant.fresh_id();
            }
            let username = user.fields.username.clone().unwrap_or_default();
            if username.is_empty() {
                return Err(format!("user {} has no username", user.id));
            }
            if tenant
                .by_username
                .insert(key(&username), user.id.clone())
                .is_some()
            {
                return Err(format!("username '{username}' appears twice"));
            }
            for group in std::mem::take(&mut user.groups) {
                let id = tenant
                    .resolve_group(&group)
                    .ok_or_else(|| format!("user '{username}' names unknown group '{group}'"))?;
                tenant
                    .group_members
                    .entry(id)
                    .or_default()
                    .insert(user.id.clone());
            }
            for app in std::mem::take(&mut user.applications) {
                let id = tenant.resolve_application(&app).ok_or_else(|| {
                    format!("user '{username}' names unknown application '{app}'")
                })?;
                tenant
                    .app_members
                    .entry(id)
                    .or_default()
                    .insert(user.id.clone());
            }
            tenant.hold_values(&user.fields);
            tenant.users.insert(user.id.clone(), user);
        }
        Ok(tenant)
    }

    /// Plays a tenant variant: the default for a missing `isEnabled`, and
    /// server-managed fields on every user (given to existing users too).
    pub fn configure(&mut self, enabled_by_default: bool, server_fields: bool) {
        self.disabled_by_default = !enabled_by_default;
        self.server_fields = server_fields;
        if server_fields {
            let ids: Vec<String> = self.users.keys().cloned().collect();
            for id in ids {
                let stamp = self.timestamp();
                if let Some(user) = self.users.get_mut(&id) {
                    user.created_at.get_or_insert(stamp);
                }
            }
        }
    }

    /// A deterministic creation time: the id counter as seconds into 2026.
    fn timestamp(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        let (day, rest) = (n / 86_400 % 365, n % 86_400);
        let (month, day) = (day / 28 % 12 + 1, day % 28 + 1);
        format!(
            "2026-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        )
    }

    /// Reads a tenant file from disk.
    pub fn load(path: &Path, id_seed: u64) -> Result<Self, TenantFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TenantFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: TenantFile =
            serde_json::from_str(&text).map_err(|err| TenantFileError::Invalid {
                path: shown.clone(),
                message: err.to_string(),
            })?;
        Tenant::from_file(file, id_seed).map_err(|message| TenantFileError::Invalid {
            path: shown,
            message,
        })
    }

    /// The tenant as a file, memberships recorded by id.
    pub fn to_file(&self) -> TenantFile {
        let mut users: Vec<StoredUser> = self.users.values().cloned().collect();
        for user in &mut users {
            user.groups = self.groups_of(&user.id).into_iter().map(|g| g.id).collect();
            user.applications = self
                .applications_of(&user.id)
                .into_iter()
                .map(|a| a.id)
                .collect();
        }
        TenantFile {
            groups: self.groups.values().cloned().collect(),
            applications: self.applications.values().cloned().collect(),
            users,
            next_id: Some(self.next_id),
        }
    }

    /// Writes the tenant atomically (temporary file, then rename), 0600.
    pub fn save(&self, path: &Path) -> Result<(), TenantFileError> {
        let shown = path.display().to_string();
        let write_error = |source| TenantFileError::Write {
            path: shown.clone(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        serde_json::to_writer_pretty(&mut temp, &self.to_file())
            .map_err(|err| write_error(std::io::Error::other(err)))?;
        temp.persist(path).map_err(|err| write_error(err.error))?;
        Ok(())
    }

    fn fresh_id(&mut self) -> String {
        loop {
            let id = make_id(self.id_seed, self.next_id);
            self.next_id += 1;
            let taken = self.users.contains_key(&id)
                || self.groups.contains_key(&id)
                || self.applications.contains_key(&id);
            if !taken {
                return id;
            }
        }
    }

    fn resolve_group(&self, name_or_id: &str) -> Option<String> {
        if self.groups.contains_key(name_or_id) {
            return Some(name_or_id.to_string());
        }
        self.groups
            .values()
            .find(|g| g.name == name_or_id)
            .map(|g| g.id.clone())
    }

    fn resolve_application(&self, name_or_id: &str) -> Option<String> {
        if self.applications.contains_key(name_or_id) {
            return Some(name_or_id.to_string());
        }
        self.applications
            .values()
            .find(|a| a.name == name_or_id)
            .map(|a| a.id.clone())
    }

    // ---- reading ----

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Up to `len` users from position `start` in id order.
    pub fn users_at(&self, start: usize, len: usize) -> impl Iterator<Item = &StoredUser> {
        let order = self
            .user_order
            .get_or_init(|| self.users.keys().cloned().collect());
        order
            .iter()
            .skip(start)
            .take(len)
            .filter_map(|id| self.users.get(id))
    }

    pub fn users(&self) -> impl Iterator<Item = &StoredUser> {
        self.users.values()
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    pub fn applications(&self) -> impl Iterator<Item = &Application> {
        self.applications.values()
    }

    pub fn user(&self, id: &str) -> Result<&StoredUser, Rejection> {
        self.users
            .get(id)
            .ok_or_else(|| Rejection::not_found(format!("user '{id}' not found")))
    }

    pub fn user_by_username(&self, username: &str) -> Result<&StoredUser, Rejection> {
        self.by_username
            .get(&key(username))
            .and_then(|id| self.users.get(id))
            .ok_or_else(|| Rejection::not_found(format!("user '{username}' not found")))
    }

    pub fn group(&self, id: &str) -> Result<&Group, Rejection> {
        self.groups
            .get(id)
            .ok_or_else(|| Rejection::not_found(format!("group '{id}' not found")))
    }

    pub fn application(&self, id: &str) -> Result<&Application, Rejection> {
        self.applications
            .get(id)
            .ok_or_else(|| Rejection::not_found(format!("application '{id}' not found")))
    }

    pub fn groups_of(&self, user_id: &str) -> Vec<Group> {
        self.group_members
            .iter()
            .filter(|(_, members)| members.contains(user_id))
            .filter_map(|(id, _)| self.groups.get(id).cloned())
            .collect()
    }

    pub fn applications_of(&self, user_id: &str) -> Vec<Application> {
        self.app_members
            .iter()
            .filter(|(_, members)| members.contains(user_id))
            .filter_map(|(id, _)| self.applications.get(id).cloned())
            .collect()
    }

    pub fn members_of_group(&self, group_id: &str) -> Result<Vec<User>, Rejection> {
        self.group(group_id)?;
        Ok(self.members(self.group_members.get(group_id)))
    }

    pub fn users_of_application(&self, app_id: &str) -> Result<Vec<User>, Rejection> {
        self.application(app_id)?;
        Ok(self.members(self.app_members.get(app_id)))
    }

    fn members(&self, ids: Option<&BTreeSet<String>>) -> Vec<User> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.users.get(id))
            .map(StoredUser::public)
            .collect()
    }

    pub fn credentials(&self, user_id: &str) -> Result<Credentials, Rejection> {
        let user = self.user(user_id)?;
        let factor = |kind: &Option<String>| {
            kind.as_ref().map(|kind| Factor {
                kind: kind.clone(),
                data: Default::default(),
                remove: None,
            })
        };
        let first = user
            .first_factor
            .clone()
            .or_else(|| (user.password.times_set > 0).then(|| "password".to_string()));
        Ok(Credentials {
            id: user.id.clone(),
            first_factor: factor(&first),
            second_factor: factor(&user.second_factor),
        })
    }

    // ---- writing ----

    fn hold_values(&mut self, fields: &UserFields) {
        for (name, value) in [
            ("country", &fields.country),
            ("userType", &fields.user_type),
        ] {
            if let Some(value) = value {
                self.held_values.insert((name.to_string(), value.clone()));
            }
        }
    }

    /// Refuses a country or userType that is neither ours nor held already.
    fn check_vocabulary(&self, fields: &UserFields) -> Result<(), Rejection> {
        for (name, value) in [
            ("country", &fields.country),
            ("userType", &fields.user_type),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                let held = |v: &str| {
                    self.held_values
                        .contains(&(name.to_string(), v.to_string()))
                };
                if let Some(problem) = crate::model::rules::vocabulary_problem(name, value, held) {
                    return Err(Rejection::bad_request(format!("{name}: {problem}")));
                }
            }
        }
        Ok(())
    }

    fn check_username_free(&self, username: &str, except: Option<&str>) -> Result<(), Rejection> {
        match self.by_username.get(&key(username)) {
            Some(id) if Some(id.as_str()) != except => Err(Rejection::conflict(format!(
                "username: '{username}' is already taken"
            ))),
            _ => Ok(()),
        }
    }

    fn check_group_name(&self, name: &str, except: Option<&str>) -> Result<(), Rejection> {
        let taken = self
            .groups
            .values()
            .any(|g| g.name.eq_ignore_ascii_case(name) && Some(g.id.as_str()) != except);
        if taken {
            return Err(Rejection::conflict(format!(
                "name: group '{name}' already exists"
            )));
        }
        Ok(())
    }

    fn apply_password(state: &mut PasswordState, options: &PasswordOptions) {
        if options.password.is_some() || options.auto_generate_password == Some(true) {
            state.times_set += 1;
            state.auto_generated = options.password.is_none();
            state.must_change_on_logon = options.must_change_password_on_logon.unwrap_or(false);
            if options.send_email == Some(true) {
                state.emails_sent += 1;
            }
        }
    }

    /// Creates a user from a validated body.
    pub fn create_user(
        &mut self,
        fields: UserFields,
        password: &PasswordOptions,
    ) -> Result<User, Rejection> {
        let username = fields.username.clone().unwrap_or_default();
        self.check_username_free(&username, None)?;
        self.check_vocabulary(&fields)?;
        let id = self.fresh_id();
        let mut state = PasswordState::default();
        Self::apply_password(&mut state, password);
        let mut fields = fields;
        fields.is_enabled.get_or_insert(!self.disabled_by_default);
        let created_at = self.server_fields.then(|| self.timestamp());
        let stored = StoredUser {
            id: id.clone(),
            fields,
            password: state,
            first_factor: None,
            second_factor: None,
            created_at,
            groups: Vec::new(),
            applications: Vec::new(),
        };
        let public = stored.public();
        self.by_username.insert(key(&username), id.clone());
        self.hold_values(&stored.fields);
        self.users.insert(id, stored);
        self.user_order = Default::default();
        Ok(public)
    }

    /// Replaces a user's fields: what the body leaves out is cleared.
    pub fn replace_user(
        &mut self,
        id: &str,
        fields: UserFields,
        password: &PasswordOptions,
    ) -> Result<User, Rejection> {
        let old_username = self.user(id)?.fields.username.clone().unwrap_or_default();
        let new_username = fields.username.clone().unwrap_or_default();
        self.check_username_free(&new_username, Some(id))?;
        self.check_vocabulary(&fields)?;
        self.hold_values(&fields);
        let mut fields = fields;
        fields.is_enabled.get_or_insert(!self.disabled_by_default);
        let user = self
            .users
            .get_mut(id)
            .ok_or_else(|| Rejection::not_found(format!("user '{id}' not found")))?;
        user.fields = fields;
        Self::apply_password(&mut user.password, password);
        let public = user.public();
        self.by_username.remove(&key(&old_username));
        self.by_username.insert(key(&new_username), id.to_string());
        Ok(public)
    }

    pub fn delete_user(&mut self, id: &str) -> Result<(), Rejection> {
        let user = self
            .users
            .remove(id)
            .ok_or_else(|| Rejection::not_found(format!("user '{id}' not found")))?;
        if let Some(username) = user.fields.username {
            self.by_username.remove(&key(&username));
        }
        self.user_order = Default::default();
        for members in self
            .group_members
            .values_mut()
            .chain(self.app_members.values_mut())
        {
            members.remove(id);
        }
        Ok(())
    }

    pub fn set_password(&mut self, id: &str, options: &PasswordOptions) -> Result<(), Rejection> {
        let user = self
            .users
            .get_mut(id)
            .ok_or_else(|| Rejection::not_found(format!("user '{id}' not found")))?;
        Self::apply_password(&mut user.password, options);
        Ok(())
    }

    pub fn set_credentials(
        &mut self,
        id: &str,
        credentials: &Credentials,
    ) -> Result<(), Rejection> {
        if !credentials.id.is_empty() && credentials.id != id {
            return Err(Rejection::bad_request(
                "id: does not match the user id in the path",
            ));
        }
        let user = self
            .users
            .get_mut(id)
            .ok_or_else(|| Rejection::not_found(format!("user '{id}' not found")))?;
        if let Some(first) = &credentials.first_factor {
            user.first_factor = Some(first.kind.clone());
        }
        if let Some(second) = &credentials.second_factor {
            user.second_factor = (second.remove != Some(true)).then(|| second.kind.clone());
        }
        Ok(())
    }

    pub fn create_group(&mut self, body: GroupWrite) -> Result<Group, Rejection> {
        self.check_group_name(&body.name, None)?;
        let id = self.fresh_id();
        let group = Group {
            id: id.clone(),
            name: body.name,
            description: body.description,
            enforce_second_factor: body.enforce_second_factor,
            extra: Default::default(),
        };
        self.groups.insert(id.clone(), group.clone());
        self.group_members.insert(id, BTreeSet::new());
        Ok(group)
    }

    pub fn replace_group(&mut self, id: &str, body: GroupWrite) -> Result<Group, Rejection> {
        self.group(id)?;
        self.check_group_name(&body.name, Some(id))?;
        let group = Group {
            id: id.to_string(),
            name: body.name,
            description: body.description,
            enforce_second_factor: body.enforce_second_factor,
            extra: Default::default(),
        };
        self.groups.insert(id.to_string(), group.clone());
        Ok(group)
    }

    pub fn delete_group(&mut self, id: &str) -> Result<(), Rejection> {
        self.groups
            .remove(id)
            .ok_or_else(|| Rejection::not_found(format!("group '{id}' not found")))?;
        self.group_members.remove(id);
        Ok(())
    }

    /// Adds or removes memberships; all ids are checked before anything changes.
    pub fn change_memberships(&mut self, change: Membership<'_>) -> Result<(), Rejection> {
        let (owner_ids, user_ids) = (change.owners(), change.users());
        let what = change.kind.name();
        for owner in &owner_ids {
            let exists = match change.kind {
                MembershipKind::Group => self.groups.contains_key(*owner),
                MembershipKind::Application => self.applications.contains_key(*owner),
            };
            if !exists {
                return Err(change.missing(format!("{what} '{owner}' not found")));
            }
        }
        for user in &user_ids {
            if !self.users.contains_key(*user) {
                return Err(change.missing_user(format!("user '{user}' not found")));
            }
        }
        let members = match change.kind {
            MembershipKind::Group => &mut self.group_members,
            MembershipKind::Application => &mut self.app_members,
        };
        for owner in owner_ids {
            let set = members.entry(owner.clone()).or_default();
            for user in &user_ids {
                if change.add {
                    set.insert((*user).clone());
                } else {
                    set.remove(*user);
                }
            }
        }
        Ok(())
    }
}

/// Groups or applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipKind {
    Group,
    Application,
}

impl MembershipKind {
    pub fn name(self) -> &'static str {
        match self {
            MembershipKind::Group => "group",
            MembershipKind::Application => "application",
        }
    }
}

/// One membership request, from either side: one user and many groups, or
/// one group and many users. Ids in the path are 404 when unknown; ids in
/// the body are 400, naming the id.
#[derive(Debug)]
pub struct Membership<'a> {
    pub kind: MembershipKind,
    pub add: bool,
    /// The id in the path.
    pub path_id: &'a String,
    /// The ids in the body.
    pub body_ids: &'a [String],
    /// Whether the path names the user (`/users/{id}/assigngroups`).
    pub path_is_user: bool,
}

impl Membership<'_> {
    fn owners(&self) -> Vec<&String> {
        if self.path_is_user {
            self.body_ids.iter().collect()
        } else {
            vec![self.path_id]
        }
    }

    fn users(&self) -> Vec<&String> {
        if self.path_is_user {
            vec![self.path_id]
        } else {
            self.body_ids.iter().collect()
        }
    }

    fn missing(&self, message: String) -> Rejection {
        if self.path_is_user {
            Rejection::bad_request(message)
        } else {
            Rejection::not_found(message)
        }
    }

    fn missing_user(&self, message: String) -> Rejection {
        if self.path_is_user {
            Rejection::not_found(message)
        } else {
            Rejection::bad_request(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(username: &str) -> UserFields {
        UserFields {
            username: Some(username.to_string()),
            email: Some(format!("{username}@example.com")),
            ..Default::default()
        }
    }

    #[test]
    fn usernames_are_unique_ignoring_case() {
        let mut tenant = Tenant::default();
        tenant
            .create_user(fields("ana"), &PasswordOptions::default())
            .unwrap();
        let err = tenant
            .create_user(fields("ANA"), &PasswordOptions::default())
            .unwrap_err();
        assert_eq!(err.status, 409);
    }

    #[test]
    fn countries_and_user_types_are_ours_or_already_held() {
        let mut tenant = Tenant::from_file(
            serde_json::from_value(serde_json::json!({"users": [
                {"username": "old", "email": "old@example.com", "country": "Kosovo", "userType": "helpdesk"}
            ]}))
            .unwrap(),
            1,
        )
        .unwrap();
        let with = |country: &str, user_type: &str| UserFields {
            country: Some(country.to_string()),
            user_type: Some(user_type.to_string()),
            ..fields(&format!("u-{country}-{user_type}"))
        };
        let none = PasswordOptions::default();
        assert_eq!(
            tenant
                .create_user(with("DE", "user"), &none)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            tenant
                .create_user(with("Germany", "root"), &none)
                .unwrap_err()
                .status,
            400
        );
        tenant.create_user(with("Germany", "admin"), &none).unwrap();
        tenant
            .create_user(with("Kosovo", "helpdesk"), &none)
            .unwrap();
    }

    #[test]
    fn renames_free_the_old_username() {
        let mut tenant = Tenant::default();
        let ana = tenant
            .create_user(fields("ana"), &PasswordOptions::default())
            .unwrap();
        tenant
            .replace_user(&ana.id, fields("ana.lopez"), &PasswordOptions::default())
            .unwrap();
        assert!(tenant.user_by_username("ana").is_err());
        assert!(tenant.user_by_username("Ana.Lopez").is_ok());
        tenant
            .create_user(fields("ana"), &PasswordOptions::default())
            .unwrap();
    }

    #[test]
    fn deleting_a_user_removes_memberships_and_files_round_trip() {
        let mut tenant = Tenant::default();
        let group = tenant
            .create_group(GroupWrite {
                name: "Sales".into(),
                ..Default::default()
            })
            .unwrap();
        let ana = tenant
            .create_user(fields("ana"), &PasswordOptions::default())
            .unwrap();
        let bo = tenant
            .create_user(fields("bo"), &PasswordOptions::default())
            .unwrap();
        tenant
            .change_memberships(Membership {
                kind: MembershipKind::Group,
                add: true,
                path_id: &group.id,
                body_ids: &[ana.id.clone(), bo.id.clone()],
                path_is_user: false,
            })
            .unwrap();
        let copy = Tenant::from_file(tenant.to_file(), 9).unwrap();
        assert_eq!(copy.members_of_group(&group.id).unwrap().len(), 2);
        tenant.delete_user(&ana.id).unwrap();
        assert_eq!(tenant.members_of_group(&group.id).unwrap(), vec![bo]);
    }

    #[test]
    fn unknown_ids_change_nothing() {
        let mut tenant = Tenant::default();
        let group = tenant
            .create_group(GroupWrite {
                name: "Sales".into(),
                ..Default::default()
            })
            .unwrap();
        let ana = tenant
            .create_user(fields("ana"), &PasswordOptions::default())
            .unwrap();
        let err = tenant
            .change_memberships(Membership {
                kind: MembershipKind::Group,
                add: true,
                path_id: &ana.id,
                body_ids: &[group.id.clone(), "nope".to_string()],
                path_is_user: true,
            })
            .unwrap_err();
        assert_eq!((err.status, err.message.contains("nope")), (400, true));
        assert!(tenant.groups_of(&ana.id).is_empty());
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        assert_eq!(make_id(1, 5), make_id(1, 5));
        assert_ne!(make_id(1, 5), make_id(1, 6));
        assert_ne!(make_id(1, 5), make_id(2, 5));
        assert_eq!(make_id(3, 3).len(), 36);
    }
}
