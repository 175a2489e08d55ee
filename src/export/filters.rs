//! `--filter FIELD=VALUE` for exports. The fields the API's listing
//! filters on are sent with the request (fewer pages); any other user
//! field is tested on each record as it is read, by the same rule — the
//! value contains VALUE, ignoring case; `true`/`false` fields equal it; an
//! empty VALUE (or `none`) means the field is empty. `export factors` also
//! filters on `first_factor` and `second_factor` (`second_factor=none`:
//! the users without one).

use crate::model::{Field, FieldKind, User};

use super::Entity;

/// The filters the API's listing takes, per entity.
fn server_side(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Users | Entity::Factors => &["username", "email", "firstName", "lastName"],
        Entity::Groups => &["name", "description"],
        Entity::Applications => &["name", "label"],
        Entity::Memberships => &[],
    }
}

/// The factor columns `export factors` filters on.
pub const FACTOR_COLUMNS: [&str; 2] = ["first_factor", "second_factor"];

/// Whether `name` is sent to the API rather than tested here.
pub fn is_server_side(entity: Entity, name: &str) -> bool {
    server_side(entity)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// The user field a filter names, when it is one.
fn user_field(name: &str) -> Option<Field> {
    Field::ALL
        .iter()
        .copied()
        .filter(|f| f.kind() != FieldKind::Attributes)
        .find(|f| f.wire().eq_ignore_ascii_case(name))
}

/// Checks `--filter` names against what the entity can be filtered on.
pub fn check(entity: Entity, filters: &[(String, String)]) -> Result<(), String> {
    for (name, _) in filters {
        let known = is_server_side(entity, name)
            || match entity {
                Entity::Users => user_field(name).is_some(),
                Entity::Factors => {
                    user_field(name).is_some()
                        || FACTOR_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name))
                }
                _ => false,
            };
        if known {
            continue;
        }
        return Err(match entity {
            Entity::Memberships => "memberships exports take no --filter".to_string(),
            Entity::Users => format!(
                "--filter {name}=...: users exports filter on any user field (username, email, department, employeeNumber, isEnabled, userType, ...)"
            ),
            Entity::Factors => format!(
                "--filter {name}=...: factors exports filter on second_factor, first_factor and any user field"
            ),
            other => format!(
                "--filter {name}=...: {} exports filter on {}",
                other.name(),
                server_side(other).join(", ")
            ),
        });
    }
    Ok(())
}

/// Whether a cell's value passes a filter's VALUE.
pub fn passes(cell: &str, wanted: &str) -> bool {
    let cell = cell.trim();
    let wanted = wanted.trim();
    if wanted.is_empty() || wanted.eq_ignore_ascii_case("none") {
        return cell.is_empty() || cell.eq_ignore_ascii_case("none");
    }
    if ["true", "false"]
        .iter()
        .any(|b| wanted.eq_ignore_ascii_case(b))
    {
        return cell.eq_ignore_ascii_case(wanted);
    }
    cell.to_lowercase().contains(&wanted.to_lowercase())
}

/// Whether `user` passes every filter tested here (not the API's).
pub fn keeps_user(entity: Entity, filters: &[(String, String)], user: &User) -> bool {
    filters
        .iter()
        .filter(|(name, _)| !is_server_side(entity, name))
        .all(|(name, wanted)| match user_field(name) {
            Some(field) => passes(&user.fields.get(field).display(), wanted),
            None => true,
        })
}

/// Whether a factors row passes the factor filters.
pub fn keeps_factors(filters: &[(String, String)], first: &str, second: &str) -> bool {
    filters.iter().all(|(name, wanted)| {
        if name.eq_ignore_ascii_case("first_factor") {
            passes(first, wanted)
        } else if name.eq_ignore_ascii_case("second_factor") {
            passes(second, wanted)
        } else {
            true
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_against_what_can_be_filtered() {
        let filter = |name: &str| vec![(name.to_string(), "x".to_string())];
        assert!(check(Entity::Users, &filter("EMAIL")).is_ok());
        assert!(check(Entity::Users, &filter("department")).is_ok());
        assert!(check(Entity::Users, &filter("isEnabled")).is_ok());
        assert!(check(Entity::Users, &filter("shoeSize")).is_err());
        assert!(check(Entity::Factors, &filter("second_factor")).is_ok());
        assert!(check(Entity::Users, &filter("second_factor")).is_err());
        assert!(check(Entity::Groups, &filter("description")).is_ok());
        assert!(check(Entity::Applications, &filter("label")).is_ok());
        assert!(check(Entity::Applications, &filter("description")).is_err());
        let err = check(Entity::Memberships, &filter("name")).unwrap_err();
        assert!(err.contains("no --filter"), "{err}");
    }

    #[test]
    fn values_contain_booleans_equal_and_none_is_empty() {
        assert!(passes("Sales EMEA", "sales"));
        assert!(!passes("Ops", "sales"));
        assert!(passes("true", "TRUE") && !passes("false", "true"));
        assert!(passes("", "none") && passes("none", "none") && passes("", ""));
        assert!(!passes("sms", "none"));
        assert!(keeps_factors(
            &[("second_factor".into(), "none".into())],
            "password",
            ""
        ));
        assert!(!keeps_factors(
            &[("second_factor".into(), "none".into())],
            "password",
            "totp"
        ));
    }
}
