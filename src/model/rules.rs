//! Field rules the tenant enforces, shared by the sandbox (which enforces
//! them) and input validation (which checks them before any call is made).
//!
//! The reference gives no limits; the numbers here are our assumption
//! (docs/api-assumptions.md) and deliberately in one place.

use email_address::{EmailAddress, Options};

/// The `userType` values we assume the tenant accepts.
pub const USER_TYPES: [&str; 2] = ["user", "admin"];

/// The longest value we assume the tenant accepts for a text field.
pub fn max_length(wire_name: &str) -> usize {
    match wire_name {
        "username" | "email" | "streetAddress" => 256,
        "userType" | "country" => 64,
        "postalCode" | "poBox" => 32,
        _ => 128,
    }
}

/// The shortest password we assume the tenant's policy accepts.
pub const MIN_PASSWORD_LENGTH: usize = 8;

/// Why `email` is not a deliverable address, if it is not: a bare address
/// with a top-level domain and no display text.
pub fn email_problem(email: &str) -> Option<String> {
    let options = Options::default()
        .with_required_tld()
        .without_display_text();
    match EmailAddress::parse_with_options(email, options) {
        Ok(_) => None,
        Err(err) => Some(format!("not a valid email address ({err})")),
    }
}

/// Why `value` is too long for text field `wire_name`, if it is.
pub fn length_problem(wire_name: &str, value: &str) -> Option<String> {
    let limit = max_length(wire_name);
    let length = value.chars().count();
    (length > limit).then(|| format!("is {length} characters long; at most {limit} allowed"))
}

/// Whether `value` holds control characters other than a line break
/// (which addresses and notes legitimately hold: a tenant keeps them).
pub fn has_control(value: &str) -> bool {
    value.chars().any(|c| c.is_control() && c != '\n')
}

/// Whether a line break in text field `wire_name` is unusual enough to
/// mention (every field but the street address is normally one line).
pub fn is_single_line(wire_name: &str) -> bool {
    wire_name != "streetAddress"
}

/// Why `value` is not acceptable for text field `wire_name`, if it is not:
/// the strict reading the sandbox enforces.
pub fn text_problem(wire_name: &str, value: &str) -> Option<String> {
    if let Some(problem) = length_problem(wire_name, value) {
        return Some(problem);
    }
    if has_control(value) {
        return Some("contains control characters".to_string());
    }
    match wire_name {
        "email" => email_problem(value),
        "username" if value.contains('\n') => Some("must not hold a line break".to_string()),
        _ => None,
    }
}

/// Why `value` of a closed-vocabulary field (`userType`, `country`) is not
/// accepted, given the values `held` by the tenant already: ours or theirs.
pub fn vocabulary_problem(
    wire_name: &str,
    value: &str,
    held: impl Fn(&str) -> bool,
) -> Option<String> {
    match wire_name {
        "userType" if !USER_TYPES.contains(&value) && !held(value) => {
            Some(format!("must be one of {}", USER_TYPES.join(", ")))
        }
        "country" if !super::country::is_api_name(value) && !held(value) => {
            Some("is not one of the API's country names".to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_tld_and_no_display_text() {
        assert_eq!(email_problem("ana.lopez@example.com"), None);
        assert!(email_problem("ana@localhost").is_some());
        assert!(email_problem("Ana <ana@example.com>").is_some());
        assert!(email_problem("not-an-email").is_some());
    }

    #[test]
    fn text_rules() {
        assert!(text_problem("firstName", &"x".repeat(129)).is_some());
        assert_eq!(text_problem("firstName", "Zoë"), None);
        let none = |_: &str| false;
        assert!(vocabulary_problem("userType", "superuser", none).is_some());
        assert!(vocabulary_problem("country", "Atlantis", none).is_some());
        assert_eq!(vocabulary_problem("country", "Germany", none), None);
        assert_eq!(
            vocabulary_problem("country", "Atlantis", |v| v == "Atlantis"),
            None
        );
        assert!(text_problem("city", "a\u{0}b").is_some());
    }
}
