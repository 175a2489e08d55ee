//! Groups, applications and credential bodies as they travel on the wire.
//!
//! Like [`crate::model::User`], readable records keep unknown fields in
//! `extra` so nothing the tenant sent is dropped on the way back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::user::id_from_string_or_number;

/// A group as the tenant returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_second_factor: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /groups` and `PUT /groups/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroupWrite {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_second_factor: Option<bool>,
}

/// An application as the tenant returns it. Applications are configured in
/// the tenant's console; the API only lists them and manages their users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One factor of a user's credentials. `data` is factor-specific and
/// undocumented, so it is carried as raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub data: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<bool>,
}

/// The body of `GET` and `POST /credentials/{userId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    #[serde(default, deserialize_with = "id_from_string_or_number")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_factor: Option<Factor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<Factor>,
}
