//! Guard rails for runs that take something away (disable, lock, revoke,
//! delete, remove a second factor or a membership, prune a group, and the
//! same changes made by restore and undo): how much one run may take, and
//! who may never be touched. Checked before the first call that changes
//! the tenant, so a truncated roster or a wrong file is refused whole,
//! never half-applied.
//!
//! Invariants: what is counted is what would really change (an already
//! disabled user is not counted); the tenant's size is a complete count,
//! never one page; reversible and irreversible changes have their own
//! default limits, each `share`% of the tenant but never below a floor (a
//! handful is never refused in a small tenant) nor above a cap; a
//! group's losses are counted against its own members; privileged users
//! fail closed (any userType but exactly `user`).

use std::collections::BTreeSet;

use crate::model::User;
use crate::model::text::{glob, match_key};

/// How many users a destructive run may affect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxAffected {
    /// At most this many users.
    Count(u64),
    /// At most this share of the tenant, in percent.
    Percent(f64),
}

impl MaxAffected {
    /// Reads `50` or `5%`.
    pub fn parse(text: &str) -> Result<MaxAffected, String> {
        let text = text.trim();
        let bad = || {
            format!("--max-affected is a count (50) or a share of the tenant (5%), not '{text}'")
        };
        match text.strip_suffix('%') {
            Some(percent) => {
                let value: f64 = percent.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&value) {
                    return Err(bad());
                }
                Ok(MaxAffected::Percent(value))
            }
            None => text.parse().map(MaxAffected::Count).map_err(|_| bad()),
        }
    }
}

/// How far a default limit reaches: `share` percent of what is counted
/// against (the tenant's users, a group's members), never fewer than
/// `floor` (a handful is never refused in a small tenant; in a tiny one,
/// a quarter of it) and never more than `cap` (a large tenant is not
/// emptied by a percentage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefaultLimit {
    pub floor: u64,
    pub share: f64,
    pub cap: u64,
}

impl DefaultLimit {
    /// The most this limit allows out of `of`.
    pub fn allows(self, of: u64) -> u64 {
        let share = (self.share / 100.0 * of as f64).floor() as u64;
        let floor = self.floor.min((of / 4).max(1));
        share.max(floor).min(self.cap)
    }

    fn rule(self) -> String {
        format!(
            "{}% of them, at least {} (or a quarter of them) and at most {}",
            self.share, self.floor, self.cap
        )
    }
}

/// Reversible changes (disable, lock, revoke access, membership removal):
/// what a snapshot and `restore` or `undo` give back whole.
pub const REVERSIBLE: DefaultLimit = DefaultLimit {
    floor: 10,
    share: 5.0,
    cap: 50,
};

/// Irreversible changes (delete, second factor removal): a re-created
/// user has a new id and password, a removed factor must be enrolled again.
pub const IRREVERSIBLE: DefaultLimit = DefaultLimit {
    floor: 3,
    share: 2.0,
    cap: 20,
};

/// Passwords set in one run: more than an onboarding wave means a file
/// meant for a few users names everyone (a password set hands the
/// account to whoever knows it, and cannot be taken back).
pub const PASSWORDS: DefaultLimit = DefaultLimit {
    floor: 10,
    share: 10.0,
    cap: 500,
};

/// Why a run that would set `count` passwords in a tenant of `tenant`
/// users is refused before its first write, if it is (`--max-passwords`,
/// else [`PASSWORDS`]).
pub fn check_passwords(count: u64, tenant: u64, given: Option<MaxAffected>) -> Result<(), String> {
    // Never refused for being few: a small tenant resets passwords too.
    let given = given.or(Some(MaxAffected::Count(
        PASSWORDS.allows(tenant).max(PASSWORDS.floor),
    )));
    match over(count, tenant, given, PASSWORDS) {
        None => Ok(()),
        Some(why) => Err(format!(
            "refused before any change: this run would set the passwords of {count} of the tenant's {tenant} users, {why}; a password set cannot be taken back; if that is meant, say so with --max-passwords {count}"
        )),
    }
}

/// What a run may take away: `--max-affected` (for every change) and
/// `--max-irreversible` (for deletes and second-factor removals, when it
/// should differ), else the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub max_affected: Option<MaxAffected>,
    pub max_irreversible: Option<MaxAffected>,
    /// Renames and email changes (`--max-identity-changes`).
    pub max_identity: Option<MaxAffected>,
    /// Re-enables, unlocks and rehires (`--max-reenabled`).
    pub max_reenabled: Option<MaxAffected>,
    /// A sync's joiners (`--max-joiners`).
    pub max_joiners: Option<MaxAffected>,
}

/// A sync's joiners: many more than a hiring wave means the roster's key
/// does not match the tenant's (200 joiners into a 200-user tenant).
pub const JOINERS: DefaultLimit = DefaultLimit {
    floor: 10,
    share: 10.0,
    cap: 500,
};

/// What the updates of a run would do to access, counted before its
/// first write on what would really change (a row that changes nothing
/// counts nothing): the users each class reaches, by id, with the first
/// few named for the refusal.
#[derive(Debug, Clone, Default)]
pub struct Changed {
    /// Disabled, locked, removed from a group or application, lowered.
    pub takes: BTreeSet<String>,
    /// Renamed or given another email.
    pub identity: BTreeSet<String>,
    /// Re-enabled or unlocked (rehires among them).
    pub reenabled: BTreeSet<String>,
    /// New users (counted against the tenant only in a sync).
    pub joiners: u64,
    /// `username: what` of the first users counted, for the refusal.
    pub named: Vec<String>,
    /// The users access is taken from, as decided on: snapshotted before
    /// the first write, so `restore` gives back what the run took.
    pub taken_users: Vec<User>,
}

impl Changed {
    /// How many users `named` keeps.
    const NAMED: usize = 5;

    /// Counts one row's effect on `user` (none for a new one; `label`:
    /// who to name), keeping the user when access is taken from them.
    pub fn add_row(
        &mut self,
        user: Option<&User>,
        label: &str,
        effect: &crate::decision::access::AccessEffect,
    ) {
        self.add(user.map_or("", |u| u.id.as_str()), label, effect);
        if let Some(user) = user.filter(|_| !effect.takes.is_empty()) {
            self.taken_users.push(user.clone());
        }
    }

    /// Counts one row's effect on the user `id` (`label`: who to name).
    pub fn add(&mut self, id: &str, label: &str, effect: &crate::decision::access::AccessEffect) {
        let mut counted = Vec::new();
        if effect.creates {
            self.joiners += 1;
        }
        if !id.is_empty() {
            if !effect.takes.is_empty() {
                self.takes.insert(id.to_string());
                counted.extend(effect.takes.iter().cloned());
            }
            if !effect.identity.is_empty() {
                self.identity.insert(id.to_string());
                counted.extend(effect.identity.iter().cloned());
            }
            if effect.reenables {
                self.reenabled.insert(id.to_string());
                counted.push("re-enabled".into());
            }
        }
        if !counted.is_empty() && self.named.len() < Self::NAMED {
            self.named.push(format!("{label}: {}", counted.join(", ")));
        }
    }
}

/// Why a run's updates are refused before its first write, if they are:
/// each class against its own limit out of `tenant` (a complete count);
/// joiners only when `joiners_count` (a sync, where a flood of them means
/// a key mismatch; an import's onboarding batch is never refused).
pub fn check_changes(
    changed: &Changed,
    tenant: u64,
    limits: Limits,
    joiners_count: bool,
) -> Result<(), String> {
    let checks = [
        (
            "take access away from (disable, lock, remove from a group or application, lower the user type)",
            changed.takes.len() as u64,
            limits.max_affected,
            "--max-affected",
        ),
        (
            "rename, re-address or re-key (username, email, employee number, mobile, phone; a name cleared)",
            changed.identity.len() as u64,
            limits.max_identity,
            "--max-identity-changes",
        ),
        (
            "re-enable or unlock",
            changed.reenabled.len() as u64,
            limits.max_reenabled,
            "--max-reenabled",
        ),
    ];
    for (what, count, given, flag) in checks {
        if let Some(why) = over(count, tenant, given, REVERSIBLE) {
            return Err(refusal(what, count, tenant, &why, flag, &changed.named));
        }
    }
    // Joiners are never refused for being few: a small tenant hires too.
    let joiners = match limits.max_joiners {
        None => Some(MaxAffected::Count(
            JOINERS.allows(tenant).max(JOINERS.floor),
        )),
        given => given,
    };
    if joiners_count && let Some(why) = over(changed.joiners, tenant, joiners, JOINERS) {
        return Err(format!(
            "refused before any change: this run would create {} users in a tenant of {tenant}, {why}: that many joiners usually means the roster's key does not match the tenant's (check --match-by); if it is meant, say so with --max-joiners {}",
            changed.joiners, changed.joiners
        ));
    }
    Ok(())
}

fn refusal(what: &str, count: u64, tenant: u64, why: &str, flag: &str, named: &[String]) -> String {
    let share = 100.0 * count as f64 / tenant.max(1) as f64;
    format!(
        "refused before any change: this run's rows would {what} {count} of the tenant's {tenant} users ({share:.1}%), {why} (for example {}); if that is meant, say so with {flag} {count}",
        named.join("; ")
    )
}

impl Limits {
    /// The fewest users any class may reach in a tenant of `tenant`: a
    /// run of no more rows than this cannot be over a limit, and needs no
    /// count before its first write.
    pub fn fewest_allowed(&self, tenant: u64) -> u64 {
        [
            self.max_affected,
            self.max_identity,
            self.max_reenabled,
            self.max_joiners,
        ]
        .into_iter()
        .map(|given| match given {
            Some(MaxAffected::Count(max)) => max,
            Some(MaxAffected::Percent(share)) => (share / 100.0 * tenant as f64).floor() as u64,
            None => REVERSIBLE.allows(tenant),
        })
        .min()
        .unwrap_or(0)
    }
}

/// What a run would take away, counted before its first write on what
/// would really change (an already disabled user is not disabled again).
#[derive(Debug, Clone, Default)]
pub struct Taken {
    /// Users (or groups) whose changes can be given back, by id.
    pub reversible: BTreeSet<String>,
    /// Users deleted or stripped of their second factor (groups deleted), by id.
    pub irreversible: BTreeSet<String>,
    /// Memberships taken from one target: (target, its members now, removed).
    pub from_targets: Vec<(String, u64, u64)>,
    /// What is counted: `users` or `groups`.
    pub noun: &'static str,
}

impl Taken {
    /// Counting users.
    pub fn users() -> Self {
        Taken {
            noun: "users",
            ..Taken::default()
        }
    }

    /// Everyone affected, once.
    pub fn affected(&self) -> u64 {
        self.reversible.union(&self.irreversible).count() as u64
    }
}

/// Why a run is refused before its first write, if it is: each kind of
/// change against its own limit, out of `tenant` (a complete count).
pub fn check(taken: &Taken, tenant: u64, limits: Limits) -> Result<(), String> {
    let noun = if taken.noun.is_empty() {
        "users"
    } else {
        taken.noun
    };
    let checks = [
        (
            "changes",
            taken.affected(),
            limits.max_affected,
            REVERSIBLE,
            "--max-affected",
        ),
        (
            "irreversible changes (delete, remove-second-factor)",
            taken.irreversible.len() as u64,
            limits.max_irreversible.or(limits.max_affected),
            IRREVERSIBLE,
            "--max-irreversible",
        ),
    ];
    for (what, count, given, default, flag) in checks {
        if let Some(why) = over(count, tenant, given, default) {
            let share = 100.0 * count as f64 / tenant.max(1) as f64;
            return Err(format!(
                "refused before any change: this run would make {what} to {count} of the tenant's {tenant} {noun} ({share:.1}%), {why}; if that is meant, say so with {flag} {count}"
            ));
        }
    }
    for (target, members, removed) in &taken.from_targets {
        if let Some(why) = over(*removed, *members, limits.max_affected, REVERSIBLE) {
            let share = 100.0 * *removed as f64 / (*members).max(1) as f64;
            return Err(format!(
                "refused before any change: this run would remove {removed} of the {members} members of {target} ({share:.1}%), {why}; if that is meant, say so with --max-affected {removed}"
            ));
        }
    }
    Ok(())
}

/// What a refusal means for this run: a real run stops (`Err`) before its
/// first write; a dry run goes on to show everything, says it, and
/// carries the refusal to its end (`Ok(Some)`), where it ends refused.
/// A real run let go has its client's writes cleared: a command's client
/// sends no write until the guard has judged its run here (or in
/// [`clear_rows_judged`] or [`clear_few_rows`]).
pub fn enforce(
    verdict: Result<(), String>,
    (dry_run, client): (bool, &crate::api::Client),
    events: &dyn crate::events::Events,
) -> Result<Option<String>, String> {
    match verdict {
        Ok(()) => {
            if !dry_run {
                client.clear_writes(crate::api::Cleared::by_the_guard());
            }
            Ok(None)
        }
        Err(refusal) if !dry_run => Err(refusal),
        Err(refusal) => {
            events.on(crate::events::Event::Warning(&format!(
                "a real run would be refused: {refusal}"
            )));
            Ok(Some(refusal))
        }
    }
}

/// Clears a real run whose every row is judged on its own before it
/// writes, and which counts nothing in bulk: `passwords` (privileged and
/// protected users are left, row by row) and `restore` (it gives back
/// what a sealed snapshot of this tenant recorded, privileged groups
/// withheld unless included).
pub fn clear_rows_judged(dry_run: bool, client: &crate::api::Client) {
    if !dry_run {
        client.clear_writes(crate::api::Cleared::by_the_guard());
    }
}

/// Clears a real run of `rows` rows that no limit can refuse in a tenant
/// of `tenant` (no more rows than the smallest limit allows): it needs no
/// count before its first write. `false` (nothing cleared) otherwise.
pub fn clear_few_rows(
    rows: u64,
    (tenant, limits): (u64, &Limits),
    dry_run: bool,
    client: &crate::api::Client,
) -> bool {
    let few = rows <= limits.fewest_allowed(tenant);
    if few && !dry_run {
        client.clear_writes(crate::api::Cleared::by_the_guard());
    }
    few
}

/// Why `count` out of `of` is over the limit, if it is.
fn over(count: u64, of: u64, given: Option<MaxAffected>, default: DefaultLimit) -> Option<String> {
    let share = 100.0 * count as f64 / of.max(1) as f64;
    match given {
        Some(MaxAffected::Count(max)) => {
            (count > max).then(|| format!("more than the {max} allowed"))
        }
        Some(MaxAffected::Percent(max)) => {
            (share > max).then(|| format!("more than the {max}% allowed"))
        }
        None => {
            let allowed = default.allows(of);
            (count > allowed).then(|| {
                format!(
                    "more than the {allowed} the default allows ({})",
                    default.rule()
                )
            })
        }
    }
}

/// Who is never touched: usernames, emails or employee numbers, or glob
/// patterns over them (`svc-*`), compared as [`match_key`] reads keys,
/// and (unless included) every privileged user.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    patterns: Vec<String>,
    /// The patterns that are plain names (no `*`, `?` or `[`), each to
    /// its first place in `patterns`: a user is looked up, not globbed
    /// against each (a 600-name list made a 100,000-row sync take two
    /// minutes, every row against every name).
    names: std::collections::HashMap<String, usize>,
    /// The other patterns, with their places in `patterns`.
    wildcards: Vec<(usize, String)>,
    pub include_privileged: bool,
    /// The profile's privileged groups (else groups named admin): what a
    /// restore or undo never gives back unless privileged are included;
    /// and their members, once the run has read them
    /// ([`Protection::learn_members`]).
    privilege: crate::decision::access::PrivilegeRules,
}

/// What names a user to a protect pattern: its username, email and
/// employee number, as [`match_key`] reads them.
fn identity_keys(user: &User) -> Vec<String> {
    [
        &user.fields.username,
        &user.fields.email,
        &user.fields.employee_number,
    ]
    .into_iter()
    .flatten()
    .map(|v| match_key(v))
    .filter(|k| !k.is_empty())
    .collect()
}

pub use crate::decision::access::privileged_type;

impl Protection {
    /// Patterns from a `--protect` file's lines or a profile's list: a
    /// byte-order mark, blank lines and comments (a line starting with
    /// `#`, or `#` after a space: `jdoe  # CFO`) are not patterns.
    pub fn new(patterns: impl IntoIterator<Item = String>, include_privileged: bool) -> Self {
        let patterns: Vec<String> = patterns
            .into_iter()
            .map(|line| {
                let line = line.trim_start_matches('\u{FEFF}');
                let line = match line.find('#') {
                    Some(0) => "",
                    Some(at) if line[..at].ends_with(char::is_whitespace) => &line[..at],
                    _ => line,
                };
                match_key(line)
            })
            .filter(|p| !p.is_empty())
            .collect();
        let (mut names, mut wildcards) = (std::collections::HashMap::new(), Vec::new());
        for (at, pattern) in patterns.iter().enumerate() {
            if pattern.contains(['*', '?', '[']) {
                wildcards.push((at, pattern.clone()));
            } else {
                names.entry(pattern.clone()).or_insert(at);
            }
        }
        Protection {
            privilege: Default::default(),
            patterns,
            names,
            wildcards,
            include_privileged,
        }
    }

    /// Why a protect line cannot be one pattern, if it cannot: it would
    /// silently protect nobody (two names on a line, a quoted or
    /// separated name, a `[` never closed).
    pub fn unreadable_line(line: &str) -> Option<String> {
        let line = line.trim_start_matches('\u{FEFF}');
        let pattern = match line.find('#') {
            Some(0) => "",
            Some(at) if line[..at].ends_with(char::is_whitespace) => &line[..at],
            _ => line,
        }
        .trim();
        if pattern.is_empty() {
            return None;
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| matches!(c, '"' | '\'' | ',' | ';'))
        {
            return Some(format!(
                "'{pattern}' holds {c:?}: one name or pattern per line, unquoted"
            ));
        }
        if pattern.contains(char::is_whitespace) {
            return Some(format!(
                "'{pattern}' holds a space: one name or pattern per line (write ? for a space inside a name)"
            ));
        }
        let opened = pattern.matches('[').count();
        if opened > pattern.matches(']').count() {
            return Some(format!("'{pattern}' opens a [ class it never closes"));
        }
        None
    }

    /// With the profile's privileged groups (see [`crate::decision::access`]).
    pub fn with_privileged_groups(mut self, groups: Vec<String>) -> Self {
        self.privilege.groups = groups;
        self
    }

    /// Reads (once a run) who is in the tenant's privileged groups: such
    /// a member is as privileged as an admin (protected unless included).
    /// `groups`: the tenant's, when the run has read them already.
    pub async fn learn_members(
        &self,
        client: &crate::api::Client,
        groups: Option<&[crate::model::Target]>,
    ) -> Result<(), crate::api::ApiError> {
        if self.include_privileged {
            return Ok(());
        }
        self.privilege.learn_members(client, groups).await
    }

    /// Takes the privileged groups' members the run's rules have read
    /// already (no second read of the same groups).
    pub fn share_members(&self, rules: &crate::decision::access::PrivilegeRules) {
        self.privilege.share_members(rules);
    }

    /// Why handing out the group `name` needs `--include-privileged`, if
    /// it does: a privileged group, unless privileged are included.
    pub fn withholds_group(&self, name: &str) -> Option<String> {
        if self.include_privileged {
            return None;
        }
        self.privilege.privileged_group(name)
    }

    /// The patterns, as compared.
    #[cfg(test)]
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Why a group (or anything else known by name) is protected, if it
    /// is: the protected list's patterns.
    pub fn protects_name(&self, name: &str) -> Option<String> {
        let name = match_key(name);
        self.patterns
            .iter()
            .find(|p| glob(p, &name))
            .map(|pattern| format!("matches '{pattern}' in the protected list"))
    }

    /// The pattern that names `user` (by username, email or employee
    /// number), if one does.
    fn pattern_for(&self, user: &User) -> Option<&str> {
        let keys = identity_keys(user);
        // The first pattern in the list that names the user, as a scan
        // of the whole list in order would find it.
        let named = keys.iter().filter_map(|k| self.names.get(k)).min().copied();
        let globbed = self
            .wildcards
            .iter()
            .take_while(|(at, _)| named.is_none_or(|n| *at < n))
            .find(|(_, p)| keys.iter().any(|k| glob(p, k)))
            .map(|(at, _)| *at);
        let at = globbed.or(named)?;
        self.patterns.get(at).map(String::as_str)
    }

    /// Why `user` is protected by the list (not for being privileged:
    /// that is the privilege rules' to judge), if it is.
    pub fn protects_by_name(&self, user: &User) -> Option<String> {
        self.pattern_for(user)
            .map(|pattern| format!("matches '{pattern}' in the protected list"))
    }

    /// Why `user` is protected, if it is (said without a `protected:`
    /// prefix: the outcome says that).
    pub fn protects(&self, user: &User) -> Option<String> {
        if let Some(pattern) = self.pattern_for(user) {
            return Some(format!("matches '{pattern}' in the protected list"));
        }
        if self.include_privileged {
            return None;
        }
        if let Some(kind) = privileged_type(user) {
            return Some(format!(
                "a privileged user (userType {kind}); --include-privileged to include it"
            ));
        }
        let group = self.privilege.member_of(&user.id)?;
        Some(format!(
            "a privileged user (a member of {group}); --include-privileged to include it"
        ))
    }

    /// The patterns that name none of `users`: a protect file that
    /// protects nobody is said, not trusted.
    pub fn unmatched<'a>(&self, users: impl IntoIterator<Item = &'a User>) -> Vec<String> {
        let mut unused_names: std::collections::HashSet<&String> = self.names.keys().collect();
        let mut unused_wildcards: Vec<&String> = self.wildcards.iter().map(|(_, p)| p).collect();
        for user in users {
            if unused_names.is_empty() && unused_wildcards.is_empty() {
                break;
            }
            let keys = identity_keys(user);
            for key in &keys {
                unused_names.remove(key);
            }
            unused_wildcards.retain(|p| !keys.iter().any(|k| glob(p, k)));
        }
        // In the list's order, each once.
        let mut seen = std::collections::HashSet::new();
        self.patterns
            .iter()
            .filter(|p| unused_names.contains(p) || unused_wildcards.contains(p))
            .filter(|p| seen.insert(*p))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(username: &str, kind: Option<&str>) -> User {
        let mut user = User::default();
        user.fields.username = Some(username.into());
        user.fields.user_type = kind.map(str::to_string);
        user
    }

    #[test]
    fn protect_lines_that_would_name_nobody_are_said() {
        for line in [
            "user00[3",
            "\"user003\"",
            "user003,",
            "user003;user005",
            "user003 user005",
        ] {
            assert!(Protection::unreadable_line(line).is_some(), "{line}");
        }
        for line in [
            "",
            "# CFO",
            "jdoe  # CFO",
            "\u{FEFF}svc-*",
            "admin[12]",
            "E1004",
            "a@b.example",
        ] {
            assert_eq!(Protection::unreadable_line(line), None, "{line}");
        }
    }

    #[test]
    fn protect_patterns_take_character_classes() {
        let protection = Protection::new(["admin[12]".to_string(), "svc-[a-c]*".into()], false);
        assert!(protection.protects(&user("Admin2", Some("user"))).is_some());
        assert!(protection.protects(&user("admin3", Some("user"))).is_none());
        assert!(
            protection
                .protects(&user("svc-backup", Some("user")))
                .is_some()
        );
        assert!(protection.protects(&user("svc-x", Some("user"))).is_none());
    }

    /// Plain names are looked up and patterns globbed, but the pattern a
    /// user is protected by, and the ones that name nobody, are what a
    /// scan of the whole list in its order finds.
    #[test]
    fn protection_finds_what_a_scan_of_the_list_finds() {
        let lines = [
            "svc-*",
            "jdoe",
            "E1004",
            "admin[12]",
            "jdoe",
            "j?doe",
            "a@b.example",
            "ghost",
            "ghost*",
        ];
        let protection = Protection::new(lines.map(String::from), true);
        let scan = |user: &User| {
            let keys = identity_keys(user);
            lines
                .iter()
                .map(|l| match_key(l))
                .find(|p| keys.iter().any(|k| glob(p, k)))
        };
        let mut people = vec![
            user("svc-jdoe", None),
            user("jdoe", None),
            user("JDoe", None),
            user("j.doe", None),
            user("admin2", None),
            user("nobody", None),
        ];
        people[5].fields.employee_number = Some("e1004".into());
        people[4].fields.email = Some("A@B.example".into());
        for person in &people {
            assert_eq!(
                protection.pattern_for(person).map(str::to_string),
                scan(person),
                "{:?}",
                person.fields.username
            );
        }
        assert_eq!(protection.unmatched(&people), ["ghost", "ghost*"]);
    }

    fn taking(reversible: u64, irreversible: u64) -> Taken {
        let mut taken = Taken::users();
        taken.reversible = (0..reversible).map(|i| format!("r{i}")).collect();
        taken.irreversible = (0..irreversible).map(|i| format!("i{i}")).collect();
        taken
    }

    #[test]
    fn limits_refuse_with_the_numbers() {
        assert_eq!(MaxAffected::parse("10%"), Ok(MaxAffected::Percent(10.0)));
        assert_eq!(MaxAffected::parse("7"), Ok(MaxAffected::Count(7)));
        assert!(MaxAffected::parse("lots").is_err());
        assert!(MaxAffected::parse("150%").is_err());
        let none = Limits::default();
        assert!(check(&taking(50, 0), 10_000, none).is_ok());
        let refused = check(&taking(51, 0), 10_000, none).unwrap_err();
        assert!(
            refused.contains("51 of the tenant's 10000") && refused.contains("--max-affected 51"),
            "{refused}"
        );
        // A handful is never refused in a small tenant, and a tiny one
        // is not emptied.
        assert!(check(&taking(1, 0), 17, none).is_ok());
        assert!(check(&taking(4, 0), 17, none).is_ok());
        assert!(check(&taking(5, 0), 17, none).is_err());
        assert!(check(&taking(10, 0), 200, none).is_ok());
        assert!(check(&taking(11, 0), 200, none).is_err());
        assert!(check(&taking(2, 0), 8, none).is_ok());
        assert!(check(&taking(6, 0), 8, none).is_err());
        assert!(check(&taking(0, 3), 17, none).is_ok());
        let deletes = check(&taking(0, 4), 17, none).unwrap_err();
        assert!(deletes.contains("--max-irreversible 4"), "{deletes}");
        assert!(check(&taking(0, 20), 1_000, none).is_ok());
        assert!(check(&taking(0, 21), 10_000, none).is_err());
        let count = Limits {
            max_affected: Some(MaxAffected::Count(30)),
            ..Limits::default()
        };
        assert!(
            check(&taking(0, 30), 100, count).is_ok(),
            "covers deletes too"
        );
        let half = Limits {
            max_affected: Some(MaxAffected::Percent(50.0)),
            ..Limits::default()
        };
        assert!(check(&taking(60, 0), 100, half).is_err());
    }

    #[test]
    fn a_group_is_counted_by_what_it_loses() {
        let mut taken = taking(43, 0);
        taken.from_targets.push(("Sales".into(), 195, 43));
        let refused = check(&taken, 1_000, Limits::default()).unwrap_err();
        assert!(
            refused.contains("43 of the 195 members of Sales"),
            "{refused}"
        );
        let mut taken = taking(9, 0);
        taken.from_targets.push(("Sales".into(), 195, 9));
        assert!(check(&taken, 1_000, Limits::default()).is_ok());
    }

    #[test]
    fn protection_by_pattern_and_privilege() {
        let protection = Protection::new(
            ["svc-*".to_string(), "# a comment".into(), "CEO".into()],
            false,
        );
        assert!(protection.protects(&user("SVC-backup", None)).is_some());
        assert!(protection.protects(&user("ceo", Some("user"))).is_some());
        assert!(
            protection
                .protects(&user("olu", Some("admin")))
                .unwrap()
                .contains("privileged")
        );
        assert!(protection.protects(&user("ana", Some("user"))).is_none());
        assert!(protection.protects(&user("ana", None)).is_none());
        let all = Protection::new(Vec::new(), true);
        assert!(all.protects(&user("olu", Some("admin"))).is_none());
    }

    #[test]
    fn privileged_fails_closed() {
        let none = Protection::new(Vec::new(), false);
        for kind in ["admin", "Administrator", "2", "helpdesk", "users", " "] {
            let verdict = none.protects(&user("x", Some(kind)));
            assert_eq!(verdict.is_some(), kind.trim() != "", "{kind:?}");
        }
        assert!(none.protects(&user("x", Some("USER"))).is_none());
        let mut numbered = user("x", None);
        numbered
            .extra
            .insert("userType".into(), serde_json::json!(2));
        assert!(none.protects(&numbered).unwrap().contains("userType 2"));
    }

    #[test]
    fn protect_files_as_people_write_them() {
        let lines = "\u{FEFF}jdoe\n\n  # staff we never touch\ncfo  # the CFO\nana@example.com\nE-1001\nsvc-*\nghost\n";
        let protection = Protection::new(lines.lines().map(str::to_string), false);
        assert_eq!(
            protection.patterns(),
            ["jdoe", "cfo", "ana@example.com", "e-1001", "svc-*", "ghost"]
        );
        assert!(protection.protects(&user("JDoe\u{200B}", None)).is_some());
        assert!(protection.protects(&user("cfo", None)).is_some());
        let mut ana = user("ana.m", None);
        ana.fields.email = Some("Ana@Example.com".into());
        assert!(protection.protects(&ana).is_some(), "by email");
        let mut emp = user("emp", None);
        emp.fields.employee_number = Some("e-1001".into());
        assert!(protection.protects(&emp).is_some(), "by employee number");
        let users = [
            user("jdoe", None),
            user("cfo", None),
            ana,
            emp,
            user("svc-a", None),
        ];
        assert_eq!(protection.unmatched(&users), ["ghost"]);
    }
}
