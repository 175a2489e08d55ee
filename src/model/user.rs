//! User bodies as they travel on the wire.
//!
//! `UserFields` is the readable part of a user; `User` adds the server's id and
//! keeps any field this version does not know in `extra`, so that a user read
//! and written back never loses data the tenant holds. Write-only password
//! fields live apart in [`PasswordOptions`] and are never part of a read body.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use super::fields::{CustomAttribute, Field, FieldKind, FieldValue, UserFields};

/// The write-only fields accepted by create, update and setpassword.
pub const PASSWORD_FIELDS: [&str; 4] = [
    "autoGeneratePassword",
    "password",
    "mustChangePasswordOnLogon",
    "sendEmail",
];

/// A user as the tenant returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    /// The tenant's id (empty when the record had none).
    pub id: String,
    #[serde(flatten)]
    /// The fields of the reference.
    pub fields: UserFields,
    /// Fields the tenant sent that this model does not name; sent back on
    /// update so they are not lost.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Ids are strings in the reference; accept numbers too, in case a tenant
/// uses integer keys.
pub fn id_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "id must be a string or number, got {other}"
        ))),
    }
}

/// A password that serializes to its plain text on the wire but never shows
/// in `Debug` output, logs or error messages.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// A password with this plain text.
    pub fn new(plain: impl Into<String>) -> Self {
        Password(SecretString::from(plain.into()))
    }

    /// The plain text, for the one place that sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Password::new)
    }
}

/// The write-only part of a create, update or setpassword body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PasswordOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Let the tenant generate the password.
    pub auto_generate_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The password to set.
    pub password: Option<Password>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The user must change it at the next logon.
    pub must_change_password_on_logon: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Email the user their password.
    pub send_email: Option<bool>,
}

impl PasswordOptions {
    /// Whether nothing is said about the password.
    pub fn is_empty(&self) -> bool {
        *self == PasswordOptions::default()
    }
}

/// The body of `POST /users` and `PUT /users/{id}`.
///
/// Serialized as one object: `extra` first, then the fields, then the
/// password options, so a known field always wins over a raw value of the
/// same name kept in `extra` (see lenient decoding in `api::paging`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserWrite {
    /// The fields to write.
    pub fields: UserFields,
    /// Fields beyond the reference, sent back as they were read.
    pub extra: Map<String, Value>,
    /// The write-only password fields.
    pub password: PasswordOptions,
}

impl Serialize for UserWrite {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut body = self.extra.clone();
        for part in [
            serde_json::to_value(&self.fields),
            serde_json::to_value(&self.password),
        ] {
            if let Value::Object(map) = part.map_err(serde::ser::Error::custom)? {
                body.extend(map);
            }
        }
        body.serialize(s)
    }
}

impl UserWrite {
    /// A body that writes `user` back exactly as it was read.
    pub fn from_user(user: &User) -> Self {
        UserWrite {
            fields: user.fields.clone(),
            extra: user.extra.clone(),
            password: PasswordOptions::default(),
        }
    }

    /// The same body without the fields this model does not know: for a
    /// tenant that refuses them on write (they are then read-only there,
    /// so leaving them out cannot clear them).
    pub fn without_extra(&self) -> Self {
        let extra = self
            .extra
            .iter()
            .filter(|(_, value)| value.is_null())
            .filter(|(name, _)| is_user_field(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        UserWrite {
            fields: self.fields.clone(),
            extra,
            password: self.password.clone(),
        }
    }
}

/// Whether `name` is a field of the reference's user body.
pub fn is_user_field(name: &str) -> bool {
    Field::from_wire(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = r#"{"id":"7","username":"ana","email":"ana@example.com","lastLogin":"2026-01-01","isEnabled":true}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.fields.username.as_deref(), Some("ana"));
        assert_eq!(
            user.extra.get("lastLogin"),
            Some(&Value::from("2026-01-01"))
        );
        let body = serde_json::to_value(UserWrite::from_user(&user)).unwrap();
        assert_eq!(body["lastLogin"], "2026-01-01");
        assert_eq!(body["isEnabled"], true);
        assert!(body.get("id").is_none(), "the id travels in the path");
    }

    #[test]
    fn numeric_ids_are_accepted() {
        let user: User = serde_json::from_str(r#"{"id":42,"username":"x"}"#).unwrap();
        assert_eq!(user.id, "42");
    }

    #[test]
    fn password_never_shows_in_debug() {
        let opts = PasswordOptions {
            password: Some(Password::new("hunter2-secret")),
            ..Default::default()
        };
        assert!(!format!("{opts:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_value(&opts).unwrap()["password"],
            "hunter2-secret"
        );
    }
}
