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

/// One entry of a user's `customAttributes`. Name and value may come back
/// null from a tenant; they are kept as they came so a user read and
/// written back is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomAttribute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

impl CustomAttribute {
    /// An attribute set by sebulk: a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        CustomAttribute {
            id: None,
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    /// The name, empty when the tenant gave none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The value, empty when the tenant gave none.
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

/// The readable fields of a user, all optional so absence is distinguishable
/// from an empty value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_box: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Vec<CustomAttribute>>,
}

/// Declares the text fields once: the wire-name list and both accessors.
macro_rules! text_fields {
    ($($wire:literal => $field:ident),* $(,)?) => {
        /// The wire names of the text fields of [`UserFields`], in reference order.
        pub const TEXT_FIELDS: [&str; 19] = [$($wire),*];

        impl UserFields {
            /// The value of a text field by its wire name.
            pub fn text(&self, wire_name: &str) -> Option<&str> {
                match wire_name {
                    $($wire => self.$field.as_deref(),)*
                    _ => None,
                }
            }

            /// Mutable access to a text field by its wire name.
            pub fn text_mut(&mut self, wire_name: &str) -> Option<&mut Option<String>> {
                match wire_name {
                    $($wire => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

text_fields! {
    "username" => username,
    "email" => email,
    "firstName" => first_name,
    "middleName" => middle_name,
    "lastName" => last_name,
    "userType" => user_type,
    "phone" => phone,
    "mobile" => mobile,
    "fax" => fax,
    "streetAddress" => street_address,
    "city" => city,
    "postalCode" => postal_code,
    "poBox" => po_box,
    "state" => state,
    "employeeNumber" => employee_number,
    "department" => department,
    "jobTitle" => job_title,
    "employmentType" => employment_type,
    "country" => country,
}

/// The wire names of the boolean fields of [`UserFields`].
pub const BOOL_FIELDS: [&str; 2] = ["isLocked", "isEnabled"];

/// The write-only fields accepted by create, update and setpassword.
pub const PASSWORD_FIELDS: [&str; 4] = [
    "autoGeneratePassword",
    "password",
    "mustChangePasswordOnLogon",
    "sendEmail",
];

impl UserFields {
    /// Mutable access to a boolean field by its wire name.
    pub fn bool_mut(&mut self, wire_name: &str) -> Option<&mut Option<bool>> {
        match wire_name {
            "isLocked" => Some(&mut self.is_locked),
            "isEnabled" => Some(&mut self.is_enabled),
            _ => None,
        }
    }
}

/// A user as the tenant returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    pub id: String,
    #[serde(flatten)]
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
    pub fn new(plain: impl Into<String>) -> Self {
        Password(SecretString::from(plain.into()))
    }

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
    pub auto_generate_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_change_password_on_logon: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_email: Option<bool>,
}

impl PasswordOptions {
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
    pub fields: UserFields,
    pub extra: Map<String, Value>,
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
    TEXT_FIELDS.contains(&name)
        || BOOL_FIELDS.contains(&name)
        || matches!(name, "aliases" | "customAttributes")
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

    #[test]
    fn field_accessors_cover_every_text_field() {
        let mut fields = UserFields::default();
        for name in TEXT_FIELDS {
            *fields.text_mut(name).unwrap() = Some(name.to_string());
        }
        let json = serde_json::to_value(&fields).unwrap();
        for name in TEXT_FIELDS {
            assert_eq!(json[name], name, "{name} maps to its own wire name");
            assert_eq!(fields.text(name), Some(name));
        }
    }
}
