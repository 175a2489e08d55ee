//! Groups, applications and credential bodies as they travel on the wire.
//!
//! Like [`crate::model::User`], readable records keep unknown fields in
//! `extra` so nothing the tenant sent is dropped on the way back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::user::id_from_string_or_number;

/// What a membership is of: a group or an application. Both have the same
/// member calls (`/{kind}/{id}/users`, `assignusers`, `removeusers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A group (`/groups`).
    Group,
    /// An application (`/applications`).
    Application,
}

impl TargetKind {
    /// Both kinds, groups first.
    pub const ALL: [TargetKind; 2] = [TargetKind::Group, TargetKind::Application];

    /// The path segment of its endpoints: `groups` or `applications`.
    pub fn path(self) -> &'static str {
        match self {
            TargetKind::Group => "groups",
            TargetKind::Application => "applications",
        }
    }

    /// The word for one of them: `group` or `application`.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Group => "group",
            TargetKind::Application => "application",
        }
    }
}

/// A group or an application, as far as memberships care.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Target {
    /// The tenant's id.
    pub id: String,
    /// The name people use.
    pub name: String,
}

impl Target {
    /// A target with this id and name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Target {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// A group as the tenant returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    /// The tenant's id.
    pub id: String,
    #[serde(default)]
    /// The group's name (unique).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What the group is for.
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether members must use a second factor.
    pub enforce_second_factor: Option<bool>,
    #[serde(flatten)]
    /// Fields this model does not name, kept as they came.
    pub extra: Map<String, Value>,
}

/// A group's fields as results record them (`name`, `description`,
/// `enforceSecondFactor`), declared here once: read from a group, written
/// back into a body, compared. Audit records and undo go through these.
impl Group {
    /// The value of `field` as results record it (booleans as
    /// `true`/`false`, absent as empty); `None` for a field groups lack.
    pub fn recorded(&self, field: &str) -> Option<String> {
        let flag = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
        match field {
            "name" => Some(self.name.clone()),
            "description" => Some(self.description.clone().unwrap_or_default()),
            "enforceSecondFactor" => Some(flag(self.enforce_second_factor)),
            _ => None,
        }
    }

    /// The body that writes the group as it is.
    pub fn as_write(&self) -> GroupWrite {
        GroupWrite {
            name: self.name.clone(),
            description: self.description.clone(),
            enforce_second_factor: self.enforce_second_factor,
        }
    }

    /// What differs from `self` to `new`, field by field.
    pub fn changes_to(&self, new: &Group) -> Vec<super::FieldChange> {
        GroupWrite::FIELDS
            .iter()
            .filter_map(|field| {
                let (old, new) = (self.recorded(field)?, new.recorded(field)?);
                (old != new).then(|| super::FieldChange {
                    field: field.to_string(),
                    old,
                    new,
                })
            })
            .collect()
    }
}

impl GroupWrite {
    /// The fields a group body sets, as results name them.
    pub const FIELDS: [&str; 3] = ["name", "description", "enforceSecondFactor"];

    /// Sets `field` from its recorded text (empty means absent); `Err`
    /// for a field groups lack or a value that is not one.
    pub fn set_recorded(&mut self, field: &str, text: &str) -> Result<(), String> {
        match field {
            "name" => self.name = text.to_string(),
            "description" => self.description = (!text.is_empty()).then(|| text.to_string()),
            "enforceSecondFactor" => {
                self.enforce_second_factor = match text {
                    "" => None,
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => return Err(format!("{field}: '{text}' is not true or false")),
                }
            }
            _ => return Err(format!("{field}: groups have no such field")),
        }
        Ok(())
    }
}

/// The body of `POST /groups` and `PUT /groups/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroupWrite {
    /// The group's name (unique).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What the group is for.
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Whether members must use a second factor.
    pub enforce_second_factor: Option<bool>,
}

/// An application as the tenant returns it. Applications are configured in
/// the tenant's console; the API only lists them and manages their users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    /// The tenant's id.
    pub id: String,
    #[serde(default)]
    /// The application's name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The name shown to users.
    pub label: Option<String>,
    #[serde(flatten)]
    /// Fields this model does not name, kept as they came.
    pub extra: Map<String, Value>,
}

/// One factor of a user's credentials. `data` is factor-specific and
/// undocumented, so it is carried as raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    #[serde(rename = "type", default)]
    /// The factor's type (`password`, `sms`, ...).
    pub kind: String,
    #[serde(default)]
    /// Factor-specific data, opaque.
    pub data: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// On a set: remove the second factor.
    pub remove: Option<bool>,
}

/// The body of `GET` and `POST /credentials/{userId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    /// The user's id.
    pub id: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "factor_leniently"
    )]
    /// The first factor, if set.
    pub first_factor: Option<Factor>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "factor_leniently"
    )]
    /// The second factor, if set.
    pub second_factor: Option<Factor>,
}

/// A factor as a tenant may answer it: the reference's object, just its
/// type as a string, or nothing (null, an empty string or object, type
/// `none`): the answer of `GET /credentials/{id}` is undocumented
/// (docs/api-assumptions.md A19).
fn factor_leniently<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Factor>, D::Error> {
    let factor = match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(kind) => Some(Factor {
            kind,
            ..Factor::default()
        }),
        object @ Value::Object(_) => {
            Some(serde_json::from_value::<Factor>(object).map_err(serde::de::Error::custom)?)
        }
        other => {
            return Err(serde::de::Error::custom(format!(
                "a factor is an object or its type, not {other}"
            )));
        }
    };
    Ok(factor.filter(|f| !f.kind.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_fields_round_trip_through_their_records() {
        let group = Group {
            id: "7".into(),
            name: "Sales".into(),
            description: Some("Everyone who sells".into()),
            enforce_second_factor: Some(true),
            ..Default::default()
        };
        let mut body = GroupWrite::default();
        for field in GroupWrite::FIELDS {
            body.set_recorded(field, &group.recorded(field).unwrap())
                .unwrap();
        }
        assert_eq!(body, group.as_write());
        let changes = Group::default().changes_to(&group);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(body.set_recorded("enforceSecondFactor", "maybe").is_err());
        assert!(body.set_recorded("members", "x").is_err());
        assert_eq!(group.recorded("members"), None);
    }

    #[test]
    fn credentials_are_read_in_any_shape_a_tenant_may_send() {
        let read = |text: &str| serde_json::from_str::<Credentials>(text).unwrap();
        let full = read(
            r#"{"id":"7","firstFactor":{"type":"password","data":{}},"secondFactor":{"type":"sms","data":{"mobile":"+44"},"remove":false}}"#,
        );
        assert_eq!(full.second_factor.unwrap().kind, "sms");
        let bare = read(r#"{"id":7,"firstFactor":"password","secondFactor":"softtoken"}"#);
        assert_eq!(bare.first_factor.unwrap().kind, "password");
        assert_eq!(bare.second_factor.unwrap().kind, "softtoken");
        let empty = read(r#"{"id":"7","firstFactor":{},"secondFactor":""}"#);
        assert_eq!((empty.first_factor, empty.second_factor), (None, None));
        assert!(serde_json::from_str::<Credentials>(r#"{"secondFactor":[1]}"#).is_err());
    }
}
