//! The numbered-user-type variant: a tenant that sends `userType` as a
//! number (1 the plain user, 2 an administrator, 3 helpdesk) and takes it
//! back as one. Played as a translation around the routes, so the store
//! and its checks stay those of the reference's text types.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::Shared;

/// The numbers, and the text types they stand for.
const NUMBERED: [(u64, &str); 3] = [(1, "user"), (2, "admin"), (3, "helpdesk")];

/// Rewrites every `userType` in `value` (any depth) with `map`.
fn rewrite(value: &mut Value, map: fn(&Value) -> Option<Value>) {
    match value {
        Value::Object(fields) => {
            if let Some(kind) = fields.get_mut("userType")
                && let Some(new) = map(kind)
            {
                *kind = new;
            }
            fields.values_mut().for_each(|v| rewrite(v, map));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, map)),
        _ => {}
    }
}

fn to_number(kind: &Value) -> Option<Value> {
    let text = kind.as_str()?;
    NUMBERED
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text))
        .map(|(n, _)| Value::from(*n))
}

fn to_text(kind: &Value) -> Option<Value> {
    let number = kind.as_u64()?;
    NUMBERED
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| Value::from(*name))
}

/// Reads a body whole and rewrites it when it is JSON.
async fn translated(body: Body, map: fn(&Value) -> Option<Value>) -> Body {
    let Ok(bytes) = to_bytes(body, super::MAX_BODY_BYTES).await else {
        return Body::empty();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut value) => {
            rewrite(&mut value, map);
            Body::from(value.to_string())
        }
        Err(_) => Body::from(bytes),
    }
}

/// The middleware: numbers in, text to the routes; text out, numbers back.
pub(crate) async fn numbered_user_types(
    State(shared): State<std::sync::Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if !shared.config.variant.numbered_user_types {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = translated(body, to_text).await;
    let response = next.run(Request::from_parts(parts, body)).await;
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = translated(body, to_number).await;
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_numbers_and_back() {
        let mut page = serde_json::json!({"items": [{"userType": "admin"}, {"userType": "user"}, {"userType": "robot"}]});
        rewrite(&mut page, to_number);
        assert_eq!(page["items"][0]["userType"], 2);
        assert_eq!(page["items"][1]["userType"], 1);
        assert_eq!(page["items"][2]["userType"], "robot");
        rewrite(&mut page, to_text);
        assert_eq!(page["items"][0]["userType"], "admin");
    }
}
