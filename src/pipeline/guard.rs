//! Guard rails for runs that take something away (disable, delete,
//! remove memberships): how many users one run may touch, and who may
//! never be touched. Checked before the first call that changes the
//! tenant, so a truncated roster or a wrong file is refused whole, never
//! half-applied.

use crate::model::User;
use crate::model::text::glob;

/// How many users a destructive run may affect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxAffected {
    /// At most this many users.
    Count(u64),
    /// At most this share of the tenant, in percent.
    Percent(f64),
}

/// The limit when none is given: more than this many users...
pub const DEFAULT_MAX_USERS: u64 = 50;
/// ...or more than this share of the tenant is refused.
pub const DEFAULT_MAX_PERCENT: f64 = 5.0;

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

/// Why a run is refused before it starts.
pub fn check_limit(
    affected: u64,
    tenant_users: u64,
    limit: Option<MaxAffected>,
) -> Result<(), String> {
    let share = |n: u64| 100.0 * n as f64 / tenant_users.max(1) as f64;
    let over = match limit {
        Some(MaxAffected::Count(max)) => {
            (affected > max).then(|| format!("more than --max-affected {max}"))
        }
        Some(MaxAffected::Percent(max)) => (share(affected) > max)
            .then(|| format!("more than --max-affected {max}% of the tenant")),
        None if affected > DEFAULT_MAX_USERS => Some(format!(
            "more than {DEFAULT_MAX_USERS} users, the limit when --max-affected is not given"
        )),
        None if share(affected) > DEFAULT_MAX_PERCENT => Some(format!(
            "more than {DEFAULT_MAX_PERCENT}% of the tenant, the limit when --max-affected is not given"
        )),
        None => None,
    };
    match over {
        None => Ok(()),
        Some(why) => Err(format!(
            "refused before any change: this run would affect {affected} of the tenant's {tenant_users} users ({:.1}%), {why}; if that is meant, say so with --max-affected {affected} (or a percentage)",
            share(affected)
        )),
    }
}

/// Who is never touched: usernames or glob patterns (`svc-*`), any case,
/// and (unless included) every user whose type is not the plain `user`.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    patterns: Vec<String>,
    pub include_privileged: bool,
}

impl Protection {
    /// Patterns from a `--protect` file's text: one per line, `#` comments.
    pub fn new(patterns: impl IntoIterator<Item = String>, include_privileged: bool) -> Self {
        Protection {
            patterns: patterns
                .into_iter()
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty() && !p.starts_with('#'))
                .collect(),
            include_privileged,
        }
    }

    /// Why a group (or anything else known by name) is protected, if it
    /// is: the protected list's patterns.
    pub fn protects_name(&self, name: &str) -> Option<String> {
        let name = name.to_lowercase();
        self.patterns
            .iter()
            .find(|p| glob(p, &name))
            .map(|pattern| format!("matches '{pattern}' in the protected list"))
    }

    /// Why `user` is protected, if it is.
    pub fn protects(&self, user: &User) -> Option<String> {
        let username = user.fields.username.as_deref().unwrap_or("").to_lowercase();
        if let Some(pattern) = self.patterns.iter().find(|p| glob(p, &username)) {
            return Some(format!(
                "protected: matches '{pattern}' in the protected list"
            ));
        }
        match user.fields.user_type.as_deref() {
            Some(kind) if !self.include_privileged && !kind.eq_ignore_ascii_case("user") => {
                Some(format!(
                    "protected: a privileged user (userType {kind}); --include-privileged to include it"
                ))
            }
            _ => None,
        }
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
    fn limits_refuse_with_the_numbers() {
        assert_eq!(MaxAffected::parse("10%"), Ok(MaxAffected::Percent(10.0)));
        assert_eq!(MaxAffected::parse("7"), Ok(MaxAffected::Count(7)));
        assert!(MaxAffected::parse("lots").is_err());
        assert!(MaxAffected::parse("150%").is_err());
        assert!(check_limit(50, 10_000, None).is_ok());
        let refused = check_limit(51, 10_000, None).unwrap_err();
        assert!(
            refused.contains("51 of the tenant's 10000") && refused.contains("--max-affected 51"),
            "{refused}"
        );
        assert!(check_limit(6, 100, None).is_err(), "6% of the tenant");
        assert!(check_limit(6, 100, Some(MaxAffected::Count(6))).is_ok());
        assert!(check_limit(60, 100, Some(MaxAffected::Percent(50.0))).is_err());
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
}
