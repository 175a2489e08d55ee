//! The endpoints of the reference, at the same paths and with the same
//! query parameters, answering from the in-memory tenant.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;

use super::conn::ConnTag;
use super::faults::chance;
use super::store::{Membership, StoredUser, Tenant};
use super::validate::{self, Rejection};
use super::{ListShape, Shared, error_response};
use crate::model::TargetKind;
use crate::model::{Field, FieldKind};

type Answer = Result<Response, Rejection>;
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;
type Body = Result<Bytes, BytesRejection>;

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        error_response(status, &self.message)
    }
}

/// Every route of the reference under its root.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/username/{username}",
            get(get_user_by_username).delete(delete_user_by_username),
        )
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/users/{id}/groups", get(user_groups))
        .route("/users/{id}/applications", get(user_applications))
        .route(
            "/users/{id}/assigngroups",
            membership_route(TargetKind::Group, true, true),
        )
        .route(
            "/users/{id}/removegroups",
            membership_route(TargetKind::Group, false, true),
        )
        .route(
            "/users/{id}/assignapplications",
            membership_route(TargetKind::Application, true, true),
        )
        .route(
            "/users/{id}/removeapplications",
            membership_route(TargetKind::Application, false, true),
        )
        .route("/credentials/setpassword/{id}", post(set_password))
        .route(
            "/credentials/{id}",
            get(get_credentials).post(set_credentials),
        )
        .route("/groups", get(list_groups).post(create_group))
        .route(
            "/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route("/groups/{id}/users", get(group_users))
        .route(
            "/groups/{id}/assignusers",
            membership_route(TargetKind::Group, true, false),
        )
        .route(
            "/groups/{id}/removeusers",
            membership_route(TargetKind::Group, false, false),
        )
        .route("/applications", get(list_applications))
        .route("/applications/{id}/users", get(application_users))
        .route(
            "/applications/{id}/assignusers",
            membership_route(TargetKind::Application, true, false),
        )
        .route(
            "/applications/{id}/removeusers",
            membership_route(TargetKind::Application, false, false),
        )
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(err) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// Parses a JSON request body, refusing other content types.
fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, Rejection> {
    let body = body.map_err(|err| Rejection {
        status: err.status().as_u16(),
        message: format!("request body: {}", err.body_text()),
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(Rejection {
            status: 415,
            message: "Content-Type must be application/json".to_string(),
        });
    }
    serde_json::from_slice(&body)
        .map_err(|err| Rejection::bad_request(format!("malformed JSON: {err}")))
}

fn params(query: Params) -> Result<HashMap<String, String>, Rejection> {
    query
        .map(|Query(map)| map)
        .map_err(|err| Rejection::bad_request(format!("query: {}", err.body_text())))
}

impl Shared {
    /// 403 when the variant forbids changes to any of these users.
    fn check_allowed<'a>(
        &self,
        usernames: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Rejection> {
        for username in usernames {
            if self.config.variant.forbids(username) {
                return Err(Rejection {
                    status: 403,
                    message: format!("forbidden: this key may not change user '{username}'"),
                });
            }
        }
        Ok(())
    }

    /// 403 when the variant forbids changes to any of the users with these ids.
    fn check_allowed_ids(&self, ids: &[&String]) -> Result<(), Rejection> {
        if self.config.variant.forbidden.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.read(|t| {
            ids.iter()
                .filter_map(|id| t.user(id).ok())
                .filter_map(|u| u.fields.username.clone())
                .collect()
        });
        self.check_allowed(names.iter().map(String::as_str))
    }

    fn read<T>(&self, f: impl FnOnce(&Tenant) -> T) -> T {
        f(&self.tenant.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs a change; a successful one counts as a write and marks the state dirty.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Tenant) -> Result<T, Rejection>,
    ) -> Result<T, Rejection> {
        let result = f(&mut self.tenant.write().unwrap_or_else(|p| p.into_inner()));
        if result.is_ok() {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

// ---- paging ----

/// Paging and sorting parameters of a list request.
struct ListParams {
    sort: String,
    descending: bool,
    page: usize,
    page_size: usize,
}

impl ListParams {
    fn parse(
        shared: &Shared,
        query: &HashMap<String, String>,
        sort_fields: &[&str],
    ) -> Result<Self, Rejection> {
        let number = |name: &str, default: usize| -> Result<usize, Rejection> {
            match query.get(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(Rejection::bad_request(format!(
                        "{name}: must be a whole number of at least 1"
                    ))),
                },
            }
        };
        let sort = query
            .get("sort")
            .cloned()
            .unwrap_or_else(|| "id".to_string());
        if !sort_fields.iter().any(|f| f.eq_ignore_ascii_case(&sort)) {
            return Err(Rejection::bad_request(format!(
                "sort: unknown field '{sort}' (one of {})",
                sort_fields.join(", ")
            )));
        }
        let descending = match query.get("sortOrder").map(|s| s.to_ascii_lowercase()) {
            None => false,
            Some(order) if order == "asc" => false,
            Some(order) if order == "desc" => true,
            Some(_) => return Err(Rejection::bad_request("sortOrder: must be asc or desc")),
        };
        let mut page_size = number("pageSize", 50)?;
        if let Some(cap) = shared.config.faults.max_page_size {
            page_size = page_size.min(cap.max(1) as usize);
        }
        // Pages count from the variant's base (1 in the reference, or 0).
        let base = shared.config.variant.page_base as usize;
        let page = match query.get("page") {
            None => 1,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if n >= base => n - base + 1,
                _ => {
                    return Err(Rejection::bad_request(format!(
                        "page: must be a whole number of at least {base}"
                    )));
                }
            },
        };
        Ok(ListParams {
            sort,
            descending,
            page,
            page_size,
        })
    }

    /// Sorts `records` (given in id order) by the sort field, stable with
    /// the id breaking ties, and cuts the page. Only the page's records are
    /// turned into JSON, so large tenants page quickly.
    fn page_of<'a, T: 'a, V>(
        &self,
        records: impl Iterator<Item = (&'a str, &'a T)>,
        key: impl Fn(&T, &str) -> String,
        to_json: impl Fn(&T) -> Option<V>,
    ) -> (Vec<V>, usize) {
        let start = (self.page - 1).saturating_mul(self.page_size);
        let end = start.saturating_add(self.page_size);
        if self.sort == "id" && !self.descending {
            // Already in id order: one pass, nothing collected but the page.
            let mut total = 0;
            let mut items = Vec::new();
            for (_, record) in records {
                if (start..end).contains(&total)
                    && let Some(value) = to_json(record)
                {
                    items.push(value);
                }
                total += 1;
            }
            return (items, total);
        }
        let mut records: Vec<(&str, &T)> = records.collect();
        if self.sort != "id" {
            records.sort_by_cached_key(|(id, record)| (key(record, &self.sort), id.to_string()));
        }
        if self.descending {
            records.reverse();
        }
        let total = records.len();
        let items = records
            .into_iter()
            .skip(start)
            .take(self.page_size)
            .filter_map(|(_, record)| to_json(record))
            .collect();
        (items, total)
    }
}

/// A list answer in the configured shape.
fn list_answer<T: Serialize>(
    shared: &Shared,
    items: &[T],
    total: usize,
    paging: Option<&ListParams>,
) -> Response {
    let body = ListBody {
        key: shared.config.variant.list_shape.items_key(),
        items,
        total,
        paging: paging.map(|p| (p.page, p.page_size)),
    };
    json(StatusCode::OK, &body)
}

/// A list's body, its records written straight from the store (a page of
/// a 100,000-user tenant is never built as a JSON tree first): a bare
/// array, or the envelope with its total and the page asked for.
struct ListBody<'a, T> {
    key: Option<&'static str>,
    items: &'a [T],
    total: usize,
    paging: Option<(usize, usize)>,
}

impl<T: Serialize> Serialize for ListBody<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(key) = self.key else {
            return serializer.collect_seq(self.items);
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(key, self.items)?;
        if let Some((page, page_size)) = self.paging {
            map.serialize_entry("page", &page)?;
            map.serialize_entry("pageSize", &page_size)?;
        }
        map.serialize_entry("totalCount", &self.total)?;
        map.end()
    }
}

/// The filters a list request asks for: (field, lowercased wanted text).
/// Parsed once per request, so scanning a large tenant stays cheap.
struct Filters(Vec<(&'static str, String)>);

impl Filters {
    fn new(query: &HashMap<String, String>, names: &[&'static str]) -> Self {
        Filters(
            names
                .iter()
                .filter_map(|name| {
                    let wanted = query.get(*name).filter(|v| !v.is_empty())?;
                    Some((*name, wanted.to_lowercase()))
                })
                .collect(),
        )
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Case-insensitive "contains" on each filter.
    fn matches<'a>(&self, value_of: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|(name, wanted)| {
            value_of(name).is_some_and(|have| have.to_lowercase().contains(wanted.as_str()))
        })
    }
}

/// The sort key of a small record (group, application) by its JSON field.
fn json_sort_key<T: Serialize>(record: &T, field: &str) -> String {
    match serde_json::to_value(record)
        .ok()
        .as_ref()
        .and_then(|v| v.get(field))
    {
        Some(Value::String(s)) => s.to_lowercase(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

// ---- users ----

fn user_sort_key(user: &StoredUser, field: &str) -> String {
    Field::ALL
        .iter()
        .find(|f| f.wire().eq_ignore_ascii_case(field))
        .map(|f| user.fields.get(*f).display().to_lowercase())
        .unwrap_or_default()
}

async fn list_users(State(shared): State<Arc<Shared>>, query: Params) -> Answer {
    let query = params(query)?;
    let mut sort_fields: Vec<&str> = vec!["id"];
    sort_fields.extend(
        Field::ALL
            .iter()
            .filter(|f| matches!(f.kind(), FieldKind::Text | FieldKind::Bool))
            .map(|f| f.wire()),
    );
    let paging = ListParams::parse(&shared, &query, &sort_fields)?;
    let filters = Filters::new(&query, &["username", "email", "firstName", "lastName"]);
    let (items, total) = shared.read(|tenant| {
        if filters.is_empty() && paging.sort == "id" && !paging.descending {
            let start = (paging.page - 1).saturating_mul(paging.page_size);
            let items = tenant
                .users_at(start, paging.page_size)
                .filter_map(|user| serde_json::value::to_raw_value(&user.view()).ok())
                .collect();
            return (items, tenant.user_count());
        }
        let records = tenant
            .users()
            .filter(|user| {
                filters.matches(|name| Field::from_wire(name).and_then(|f| user.fields.text(f)))
            })
            .map(|user| (user.id.as_str(), user));
        paging.page_of(records, user_sort_key, |user| {
            serde_json::value::to_raw_value(&user.view()).ok()
        })
    });
    Ok(list_answer(&shared, &items, total, Some(&paging)))
}

async fn get_user(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let user = shared.read(|t| t.user(&id).map(StoredUser::public))?;
    Ok(json(StatusCode::OK, &user))
}

async fn get_user_by_username(
    State(shared): State<Arc<Shared>>,
    Path(username): Path<String>,
) -> Answer {
    let user = shared.read(|t| t.user_by_username(&username).map(StoredUser::public))?;
    Ok(json(StatusCode::OK, &user))
}

async fn create_user(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnTag>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let body = json_body(&headers, body)?;
    let (fields, password) = validate::user_body(&body, shared.config.variant.unknown_fields)?;
    shared.check_allowed(fields.username.as_deref())?;
    let user = shared.write(|t| t.create_user(fields, &password))?;
    if chance(&shared, shared.config.faults.drop_rate) {
        shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
        conn.drop_connection();
    }
    let mut response = json(StatusCode::CREATED, &user);
    if let Ok(location) = format!("users/{}", user.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn update_user(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    shared.read(|t| t.user(&id).map(drop))?;
    shared.check_allowed_ids(&[&id])?;
    let body = json_body(&headers, body)?;
    let (fields, password) = validate::user_body(&body, shared.config.variant.unknown_fields)?;
    let user = shared.write(|t| t.replace_user(&id, fields, &password))?;
    Ok(json(StatusCode::OK, &user))
}

async fn delete_user(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    shared.check_allowed_ids(&[&id])?;
    shared.write(|t| t.delete_user(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user_by_username(
    State(shared): State<Arc<Shared>>,
    Path(username): Path<String>,
) -> Answer {
    shared.check_allowed([username.as_str()])?;
    shared.write(|t| {
        let id = t.user_by_username(&username)?.id.clone();
        t.delete_user(&id)
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A membership list: the whole list, as the reference reads (it gives
/// these endpoints no paging parameters), or paged like the main lists
/// when the variant says so.
fn member_list<T: Serialize>(shared: &Shared, query: Params, records: &[T]) -> Answer {
    let query = params(query)?;
    if !shared.config.variant.members_paged {
        return Ok(list_answer(shared, records, records.len(), None));
    }
    let paging = ListParams::parse(shared, &query, &["id"])?;
    let start = (paging.page - 1).saturating_mul(paging.page_size);
    let items = records
        .get(start.min(records.len())..)
        .unwrap_or_default()
        .iter()
        .take(paging.page_size)
        .collect::<Vec<_>>();
    Ok(list_answer(shared, &items, records.len(), Some(&paging)))
}

async fn user_groups(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: Params,
) -> Answer {
    let groups = shared.read(|t| t.user(&id).map(|_| t.groups_of(&id)))?;
    member_list(&shared, query, &groups)
}

async fn user_applications(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: Params,
) -> Answer {
    let apps = shared.read(|t| t.user(&id).map(|_| t.applications_of(&id)))?;
    member_list(&shared, query, &apps)
}

/// One membership change, from either side.
fn membership(
    shared: &Shared,
    kind: TargetKind,
    add: bool,
    path_is_user: bool,
    id: &String,
    headers: &HeaderMap,
    body: Body,
) -> Answer {
    // An unknown id in the path is a 404 before the body is even read.
    shared.read(|t| {
        if path_is_user {
            t.user(id).map(drop)
        } else {
            match kind {
                TargetKind::Group => t.group(id).map(drop),
                TargetKind::Application => t.application(id).map(drop),
            }
        }
    })?;
    let ids = validate::id_list(&json_body(headers, body)?)?;
    let users: Vec<&String> = if path_is_user {
        vec![id]
    } else {
        ids.iter().collect()
    };
    shared.check_allowed_ids(&users)?;
    shared.write(|t| {
        t.change_memberships(Membership {
            kind,
            add,
            path_id: id,
            body_ids: &ids,
            path_is_user,
        })
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The handler of one membership route: `POST /users/{id}/assigngroups`
/// and its seven siblings differ only in the kind, the direction and
/// which side the path names.
fn membership_route(
    kind: TargetKind,
    add: bool,
    path_is_user: bool,
) -> axum::routing::MethodRouter<Arc<Shared>> {
    post(
        move |State(s): State<Arc<Shared>>, Path(id): Path<String>, h: HeaderMap, b: Body| async move {
            membership(&s, kind, add, path_is_user, &id, &h, b)
        },
    )
}

// ---- credentials ----

async fn get_credentials(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let credentials = shared.read(|t| t.credentials(&id))?;
    if shared.config.variant.credentials_404
        && credentials.first_factor.is_none()
        && credentials.second_factor.is_none()
    {
        return Err(Rejection::not_found(format!(
            "user '{id}' has no credentials"
        )));
    }
    Ok(json(StatusCode::OK, &credentials))
}

async fn set_credentials(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    shared.read(|t| t.user(&id).map(drop))?;
    shared.check_allowed_ids(&[&id])?;
    let credentials = validate::credentials_body(&json_body(&headers, body)?)?;
    shared.write(|t| t.set_credentials(&id, &credentials))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_password(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    shared.read(|t| t.user(&id).map(drop))?;
    shared.check_allowed_ids(&[&id])?;
    let options = validate::set_password_body(&json_body(&headers, body)?)?;
    shared.write(|t| t.set_password(&id, &options))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- groups ----

async fn list_groups(State(shared): State<Arc<Shared>>, query: Params) -> Answer {
    let query = params(query)?;
    let paging = ListParams::parse(
        &shared,
        &query,
        &["id", "name", "description", "enforceSecondFactor"],
    )?;
    let filters = Filters::new(&query, &["name", "description"]);
    let (items, total) = shared.read(|tenant| {
        let records = tenant
            .groups()
            .filter(|g| {
                filters.matches(|field| match field {
                    "name" => Some(g.name.as_str()),
                    _ => g.description.as_deref(),
                })
            })
            .map(|g| (g.id.as_str(), g));
        paging.page_of(records, json_sort_key, |g| serde_json::to_value(g).ok())
    });
    Ok(list_answer(&shared, &items, total, Some(&paging)))
}

async fn get_group(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let group = shared.read(|t| t.group(&id).cloned())?;
    Ok(json(StatusCode::OK, &group))
}

async fn create_group(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnTag>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let group = validate::group_body(&json_body(&headers, body)?)?;
    let group = shared.write(|t| t.create_group(group))?;
    if chance(&shared, shared.config.faults.drop_rate) {
        shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
        conn.drop_connection();
    }
    Ok(json(StatusCode::CREATED, &group))
}

async fn update_group(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    shared.read(|t| t.group(&id).map(drop))?;
    let group = validate::group_body(&json_body(&headers, body)?)?;
    let group = shared.write(|t| t.replace_group(&id, group))?;
    Ok(json(StatusCode::OK, &group))
}

async fn delete_group(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    shared.write(|t| t.delete_group(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_users(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: Params,
) -> Answer {
    // Written while the tenant is read (shared with other reads): its
    // members are borrowed, never copied.
    shared.read(|t| member_list(&shared, query, &t.members_of_group(&id)?))
}

// ---- applications ----

async fn list_applications(State(shared): State<Arc<Shared>>, query: Params) -> Answer {
    let query = params(query)?;
    let paging = ListParams::parse(&shared, &query, &["id", "name", "label"])?;
    let filters = Filters::new(&query, &["name", "label"]);
    let (items, total) = shared.read(|tenant| {
        let records = tenant
            .applications()
            .filter(|a| {
                filters.matches(|field| match field {
                    "name" => Some(a.name.as_str()),
                    _ => a.label.as_deref(),
                })
            })
            .map(|a| (a.id.as_str(), a));
        paging.page_of(records, json_sort_key, |a| serde_json::to_value(a).ok())
    });
    Ok(list_answer(&shared, &items, total, Some(&paging)))
}

async fn application_users(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: Params,
) -> Answer {
    shared.read(|t| member_list(&shared, query, &t.users_of_application(&id)?))
}

impl ListShape {
    /// The envelope key, or `None` for a bare array.
    pub fn items_key(self) -> Option<&'static str> {
        match self {
            ListShape::Items => Some("items"),
            ListShape::Data => Some("data"),
            ListShape::Results => Some("results"),
            ListShape::Value => Some("value"),
            ListShape::Array => None,
        }
    }
}
