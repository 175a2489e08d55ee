//! A typed method for every endpoint of the reference.
//!
//! Paths are given as segments, so ids and usernames are percent-encoded
//! by construction. User creation is the one write that is not idempotent:
//! it checks by username before it ever sends a create twice.

use futures::Stream;
use reqwest::Method;

use super::client::{Call, Client, decode, encode};
use super::error::ApiError;
use super::paging::ListRequest;
use super::wire::{self, CreatedBody};
use crate::model::{
    Application, Credentials, Group, GroupWrite, PasswordOptions, TargetKind, User, UserWrite,
};

/// Sort order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortOrder {
    /// The value of the `sortOrder` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// Filters and order of `GET /users`.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// The field to sort by (the API's default: id).
    pub sort: Option<String>,
    /// The order to sort in.
    pub sort_order: Option<SortOrder>,
    /// Only users whose username contains this.
    pub username: Option<String>,
    /// Only users whose email contains this.
    pub email: Option<String>,
    /// Only users whose first name contains this.
    pub first_name: Option<String>,
    /// Only users whose last name contains this.
    pub last_name: Option<String>,
    /// Records per page, instead of the client's.
    pub page_size: Option<u32>,
}

impl UserQuery {
    /// The `GET /users` request.
    pub fn to_request(&self) -> ListRequest {
        let mut request = ListRequest::new(&["users"])
            .param("sort", self.sort.as_ref())
            .param("sortOrder", self.sort_order.map(SortOrder::as_str))
            .param("username", self.username.as_ref())
            .param("email", self.email.as_ref())
            .param("firstName", self.first_name.as_ref())
            .param("lastName", self.last_name.as_ref());
        request.page_size = self.page_size;
        request
    }
}

/// Filters and order of `GET /groups` and `GET /applications`: `name` and
/// `description` for groups, `name` and `label` for applications.
#[derive(Debug, Clone, Default)]
pub struct NamedQuery {
    /// The field to sort by (the API's default: id).
    pub sort: Option<String>,
    /// The order to sort in.
    pub sort_order: Option<SortOrder>,
    /// Only records whose name contains this.
    pub name: Option<String>,
    /// `description` for groups, `label` for applications.
    pub detail: Option<String>,
    /// Records per page, instead of the client's.
    pub page_size: Option<u32>,
}

impl NamedQuery {
    /// The `GET /groups` request.
    pub fn to_groups(&self) -> ListRequest {
        self.to_request("groups", "description")
    }

    /// The `GET /applications` request.
    pub fn to_applications(&self) -> ListRequest {
        self.to_request("applications", "label")
    }

    fn to_request(&self, path: &str, detail_param: &'static str) -> ListRequest {
        let mut request = ListRequest::new(&[path])
            .param("sort", self.sort.as_ref())
            .param("sortOrder", self.sort_order.map(SortOrder::as_str))
            .param("name", self.name.as_ref())
            .param(detail_param, self.detail.as_ref());
        request.page_size = self.page_size;
        request
    }
}

/// The result of a create that may have needed a lookup to confirm.
#[derive(Debug, Clone)]
pub struct Created {
    /// The user as the tenant holds it.
    pub user: User,
    /// The create's answer was lost, and the user was found to exist by a
    /// lookup afterwards: created once, confirmed by reading.
    pub confirmed_by_lookup: bool,
}

impl Client {
    // ---- users ----

    /// `GET /users`, every page.
    pub fn list_users(
        &self,
        query: &UserQuery,
    ) -> impl Stream<Item = Result<User, ApiError>> + Send + 'static {
        self.list(query.to_request())
    }

    /// Every user of the tenant (`GET /users`, every page), each handed to
    /// `each` as its page arrives, going on from page 1 (`probe`) when it
    /// was read already; a listing that cannot be shown whole is an error.
    pub async fn each_user(
        &self,
        probe: Option<super::paging::Page<User>>,
        mut each: impl FnMut(User),
    ) -> Result<(), ApiError> {
        let request = UserQuery::default().to_request();
        let stats = self
            .read_listing_from(
                &request,
                probe,
                |_| {},
                |user: User| {
                    each(user);
                    Ok::<_, ApiError>(())
                },
            )
            .await?;
        match stats.incomplete("GET /users") {
            Some(message) => Err(ApiError::Incomplete(message)),
            None => Ok(()),
        }
    }

    /// `GET /users/{userId}`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, ApiError> {
        self.user_at(&["users", user_id]).await
    }

    /// `GET /users/username/{username}`; `None` on 404.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, ApiError> {
        super::found(self.user_at(&["users", "username", username]).await)
    }

    /// One user read from `path`, leniently as a listed one is (A17): a
    /// field of an unexpected type (a numbered `userType`) is kept raw,
    /// never a failed read of a user that exists.
    async fn user_at(&self, path: &[&str]) -> Result<User, ApiError> {
        let reply = self.get_raw(path, &[]).await?;
        decode_user(path, &reply.body)
    }

    /// `GET /users/{userId}/groups`.
    pub async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>, ApiError> {
        self.list_all(ListRequest::new(&["users", user_id, "groups"]))
            .await
    }

    /// `GET /users/{userId}/applications`.
    pub async fn user_applications(&self, user_id: &str) -> Result<Vec<Application>, ApiError> {
        self.list_all(ListRequest::new(&["users", user_id, "applications"]))
            .await
    }

    /// `POST /users`. Never creates the same username twice: when an attempt's
    /// outcome is unknown, the username is looked up before trying again.
    pub async fn create_user(&self, body: &UserWrite) -> Result<Created, ApiError> {
        let username = body.fields.username.clone().unwrap_or_default();
        let encoded = encode(body)?;
        let retry = self.retry_policy();
        let mut ambiguous_attempts = 0u32;
        let mut client = self.clone();
        loop {
            let result = client
                .execute(&Call {
                    method: Method::POST,
                    path: &["users"],
                    query: &[],
                    body: Some(encoded.clone()),
                    replay_if_maybe_sent: false,
                })
                .await;
            if !matches!(result, Err(ApiError::Stopped(_))) {
                // Sent: settling it (lookups, retries) is not withdrawn by an interrupt.
                client = client.uncut();
            }
            match result {
                Ok(reply) => {
                    let user = client.created_user(&username, &reply.body).await?;
                    return Ok(Created {
                        user,
                        confirmed_by_lookup: false,
                    });
                }
                Err(err) if err.is_ambiguous() || (err.is_conflict() && ambiguous_attempts > 0) => {
                    ambiguous_attempts += 1;
                    tracing::debug!(%username, "create outcome unknown ({err}); looking the user up");
                    if let Some(user) = client.find_user_by_username(&username).await? {
                        client
                            .raw_stats()
                            .ambiguous_recovered
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        return Ok(Created {
                            user,
                            confirmed_by_lookup: true,
                        });
                    }
                    if err.is_conflict() || !retry.allows_another(ambiguous_attempts) {
                        return Err(err);
                    }
                    tokio::time::sleep(retry.backoff(ambiguous_attempts)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Reads the user a successful create answered with, looking it up when
    /// the answer did not carry it.
    async fn created_user(&self, username: &str, body: &[u8]) -> Result<User, ApiError> {
        match wire::parse_created(body) {
            CreatedBody::Record(value) => decode_user(&["users"], value.to_string().as_bytes()),
            CreatedBody::Id(id) => self.get_user(&id).await,
            CreatedBody::Nothing => {
                self.find_user_by_username(username)
                    .await?
                    .ok_or_else(|| ApiError::Decode {
                        endpoint: "POST /users".to_string(),
                        message: format!(
                            "the create succeeded but user '{username}' cannot be found by username"
                        ),
                    })
            }
        }
    }

    /// `PUT /users/{userId}`. The body replaces the user: send every field
    /// that should stay (see [`UserWrite::from_user`]).
    pub async fn update_user(&self, user_id: &str, body: &UserWrite) -> Result<User, ApiError> {
        let lean = body.without_extra();
        let carries_unknown = lean != *body;
        let first = if carries_unknown && self.omits_unknown_fields() {
            &lean
        } else {
            body
        };
        let reply = match self
            .write_idempotent(Method::PUT, &["users", user_id], Some(first))
            .await
        {
            Err(err)
                if err.status() == Some(400)
                    && first == body
                    && carries_unknown
                    && self.may_omit_unknown_fields() =>
            {
                if self.learn_to_omit_unknown_fields() {
                    tracing::info!(
                        "the tenant refused an update carrying fields beyond the reference ({err}); sending updates without them from now on"
                    );
                }
                self.write_idempotent(Method::PUT, &["users", user_id], Some(&lean))
                    .await?
            }
            other => other?,
        };
        match wire::parse_created(&reply.body) {
            CreatedBody::Record(value) => {
                decode_user(&["users", user_id], value.to_string().as_bytes())
            }
            _ => self.get_user(user_id).await,
        }
    }

    /// `DELETE /users/{userId}`.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), ApiError> {
        self.write_idempotent::<()>(Method::DELETE, &["users", user_id], None)
            .await
            .map(drop)
    }

    /// `DELETE /users/username/{username}`.
    pub async fn delete_user_by_username(&self, username: &str) -> Result<(), ApiError> {
        self.write_idempotent::<()>(Method::DELETE, &["users", "username", username], None)
            .await
            .map(drop)
    }

    /// `POST /users/{userId}/assigngroups`.
    pub async fn assign_groups(&self, user_id: &str, group_ids: &[String]) -> Result<(), ApiError> {
        self.post_ids(&["users", user_id, "assigngroups"], group_ids)
            .await
    }

    /// `POST /users/{userId}/removegroups`.
    pub async fn remove_groups(&self, user_id: &str, group_ids: &[String]) -> Result<(), ApiError> {
        self.post_ids(&["users", user_id, "removegroups"], group_ids)
            .await
    }

    /// `POST /users/{userId}/assignapplications`.
    pub async fn assign_applications(
        &self,
        user_id: &str,
        app_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["users", user_id, "assignapplications"], app_ids)
            .await
    }

    /// `POST /users/{userId}/removeapplications`.
    pub async fn remove_applications(
        &self,
        user_id: &str,
        app_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["users", user_id, "removeapplications"], app_ids)
            .await
    }

    /// Assigns (`add`) or removes a user's groups or applications.
    pub async fn change_targets(
        &self,
        (kind, add): (TargetKind, bool),
        user_id: &str,
        ids: &[String],
    ) -> Result<(), ApiError> {
        match (kind, add) {
            (TargetKind::Group, true) => self.assign_groups(user_id, ids).await,
            (TargetKind::Group, false) => self.remove_groups(user_id, ids).await,
            (TargetKind::Application, true) => self.assign_applications(user_id, ids).await,
            (TargetKind::Application, false) => self.remove_applications(user_id, ids).await,
        }
    }

    // ---- credentials ----

    /// `GET /credentials/{userId}`.
    pub async fn get_credentials(&self, user_id: &str) -> Result<Credentials, ApiError> {
        self.get_json(&["credentials", user_id], &[]).await
    }

    /// A user's credentials, empty when none are set. A tenant may answer
    /// 404 for a user without credentials (docs/api-assumptions.md A19d):
    /// the user is then read to tell that from a user that is gone, whose
    /// 404 is returned.
    pub async fn credentials_or_empty(&self, user_id: &str) -> Result<Credentials, ApiError> {
        match super::found(self.get_credentials(user_id).await)? {
            Some(credentials) => Ok(credentials),
            None => {
                self.get_user(user_id).await?;
                Ok(Credentials {
                    id: user_id.to_string(),
                    ..Credentials::default()
                })
            }
        }
    }

    /// `POST /credentials/{userId}`.
    pub async fn set_credentials(&self, user_id: &str, body: &Credentials) -> Result<(), ApiError> {
        self.write_idempotent(Method::POST, &["credentials", user_id], Some(body))
            .await
            .map(drop)
    }

    /// `POST /credentials/setpassword/{userId}`.
    pub async fn set_password(
        &self,
        user_id: &str,
        body: &PasswordOptions,
    ) -> Result<(), ApiError> {
        self.write_idempotent(
            Method::POST,
            &["credentials", "setpassword", user_id],
            Some(body),
        )
        .await
        .map(drop)
    }

    // ---- groups ----

    /// `GET /groups`, every page.
    pub fn list_groups(
        &self,
        query: &NamedQuery,
    ) -> impl Stream<Item = Result<Group, ApiError>> + Send + 'static {
        self.list(query.to_request("groups", "description"))
    }

    /// `GET /groups/{groupId}`.
    pub async fn get_group(&self, group_id: &str) -> Result<Group, ApiError> {
        self.get_json(&["groups", group_id], &[]).await
    }

    /// `POST /groups`. Group names are unique, so a lost answer is settled
    /// by looking the name up, as for users, within the same retry budget.
    pub async fn create_group(&self, body: &GroupWrite) -> Result<Group, ApiError> {
        let encoded = encode(body)?;
        let retry = self.retry_policy();
        let mut ambiguous_attempts = 0u32;
        loop {
            let result = self
                .execute(&Call {
                    method: Method::POST,
                    path: &["groups"],
                    query: &[],
                    body: Some(encoded.clone()),
                    replay_if_maybe_sent: false,
                })
                .await;
            match result {
                Ok(reply) => {
                    return match wire::parse_created(&reply.body) {
                        CreatedBody::Record(value) => {
                            decode(&["groups"], value.to_string().as_bytes())
                        }
                        CreatedBody::Id(id) => self.get_group(&id).await,
                        CreatedBody::Nothing => self.group_named(&body.name).await,
                    };
                }
                Err(err) if err.is_ambiguous() || (err.is_conflict() && ambiguous_attempts > 0) => {
                    ambiguous_attempts += 1;
                    if let Some(group) = self.find_group_by_name(&body.name).await? {
                        return Ok(group);
                    }
                    if err.is_conflict() || !retry.allows_another(ambiguous_attempts) {
                        return Err(err);
                    }
                    tokio::time::sleep(retry.backoff(ambiguous_attempts)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn group_named(&self, name: &str) -> Result<Group, ApiError> {
        self.find_group_by_name(name)
            .await?
            .ok_or_else(|| ApiError::Decode {
                endpoint: "POST /groups".to_string(),
                message: format!("the create succeeded but group '{name}' cannot be found"),
            })
    }

    /// The group whose name is exactly `name` (the server's filter may match loosely).
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>, ApiError> {
        let query = NamedQuery {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let groups: Vec<Group> = self
            .list_all(query.to_request("groups", "description"))
            .await?;
        Ok(groups.into_iter().find(|group| group.name == name))
    }

    /// `PUT /groups/{groupId}`.
    pub async fn update_group(&self, group_id: &str, body: &GroupWrite) -> Result<Group, ApiError> {
        let reply = self
            .write_idempotent(Method::PUT, &["groups", group_id], Some(body))
            .await?;
        match wire::parse_created(&reply.body) {
            CreatedBody::Record(value) => {
                decode(&["groups", group_id], value.to_string().as_bytes())
            }
            _ => self.get_group(group_id).await,
        }
    }

    /// `DELETE /groups/{groupId}`.
    pub async fn delete_group(&self, group_id: &str) -> Result<(), ApiError> {
        self.write_idempotent::<()>(Method::DELETE, &["groups", group_id], None)
            .await
            .map(drop)
    }

    /// `GET /groups/{groupId}/users`.
    pub async fn group_users(&self, group_id: &str) -> Result<Vec<User>, ApiError> {
        self.list_all(ListRequest::new(&["groups", group_id, "users"]))
            .await
    }

    /// `POST /groups/{groupId}/assignusers`.
    pub async fn group_assign_users(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["groups", group_id, "assignusers"], user_ids)
            .await
    }

    /// `POST /groups/{groupId}/removeusers`.
    pub async fn group_remove_users(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["groups", group_id, "removeusers"], user_ids)
            .await
    }

    // ---- applications ----

    /// `GET /applications`, every page.
    pub fn list_applications(
        &self,
        query: &NamedQuery,
    ) -> impl Stream<Item = Result<Application, ApiError>> + Send + 'static {
        self.list(query.to_request("applications", "label"))
    }

    /// `GET /applications/{applicationId}/users`.
    pub async fn application_users(&self, app_id: &str) -> Result<Vec<User>, ApiError> {
        self.list_all(ListRequest::new(&["applications", app_id, "users"]))
            .await
    }

    /// `POST /applications/{applicationId}/assignusers`.
    pub async fn application_assign_users(
        &self,
        app_id: &str,
        user_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["applications", app_id, "assignusers"], user_ids)
            .await
    }

    /// `POST /applications/{applicationId}/removeusers`.
    pub async fn application_remove_users(
        &self,
        app_id: &str,
        user_ids: &[String],
    ) -> Result<(), ApiError> {
        self.post_ids(&["applications", app_id, "removeusers"], user_ids)
            .await
    }

    /// Membership changes are idempotent: assigning twice leaves one membership.
    pub(crate) async fn post_ids(&self, path: &[&str], ids: &[String]) -> Result<(), ApiError> {
        self.write_idempotent(Method::POST, path, Some(ids))
            .await
            .map(drop)
    }
}

/// A user body decoded leniently (see [`super::paging::decode_lenient`]).
fn decode_user(path: &[&str], body: &[u8]) -> Result<User, ApiError> {
    let value: serde_json::Value = decode(path, body)?;
    super::paging::decode_lenient::<User>(value)
        .map(|(user, _)| user)
        .map_err(|note| ApiError::Decode {
            endpoint: format!("/{}", path.join("/")),
            message: note.message,
        })
}
