//! Every guess about the real API's wire format that the reference leaves
//! open, in one place: list envelopes, created-resource bodies, error
//! bodies and rate-limit headers. docs/api-assumptions.md lists each one
//! with the flag or detection that covers it.

use std::fmt;

use reqwest::header::HeaderMap;
use serde_json::Value;
use serde_json::value::RawValue;

/// Keys under which a list envelope may carry its records, tried in order.
pub const ITEM_KEYS: [&str; 9] = [
    "items",
    "data",
    "results",
    "users",
    "groups",
    "applications",
    "value",
    "records",
    "content",
];
/// Keys under which a list envelope may carry the total record count.
pub const TOTAL_KEYS: [&str; 7] = [
    "totalCount",
    "total",
    "count",
    "totalItems",
    "totalRecords",
    "totalElements",
    "@odata.count",
];
/// Keys an error body may carry its message under, tried in order.
const MESSAGE_KEYS: [&str; 5] = ["message", "detail", "title", "error_description", "error"];

/// Which list shape a response had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListShape {
    /// A bare JSON array: no total count.
    Array,
    /// An object carrying the records under `items_key`, and maybe a total.
    Envelope {
        /// The key holding the records.
        items_key: String,
        /// The key holding the total, if any.
        total_key: Option<String>,
    },
}

impl fmt::Display for ListShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListShape::Array => f.write_str("bare JSON array (no total count)"),
            ListShape::Envelope {
                items_key,
                total_key: Some(total),
            } => write!(f, "envelope {{\"{items_key}\": [...], \"{total}\": N}}"),
            ListShape::Envelope {
                items_key,
                total_key: None,
            } => write!(f, "envelope {{\"{items_key}\": [...]}} (no total count)"),
        }
    }
}

/// One page of a list response, records still as raw JSON.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// The records, still raw.
    pub items: Vec<Value>,
    /// The server's total, when it gave one.
    pub total: Option<u64>,
    /// How the response was shaped.
    pub shape: ListShape,
}

/// One page of a list response, each record still its own JSON text
/// (borrowed from the body): nothing is built for a record until it is
/// decoded, so a page of thousands costs its body and no more.
#[derive(Debug)]
pub struct RawTexts<'a> {
    /// The records, as they came.
    pub items: Vec<&'a RawValue>,
    /// The server's total, when it gave one.
    pub total: Option<u64>,
    /// How the response was shaped.
    pub shape: ListShape,
}

/// [`parse_list`] without building the records: the same shapes, keys and
/// totals, found the same way. `None` for anything it does not take apart
/// as plainly (then [`parse_list`] reads it, and says what is wrong).
pub fn parse_list_texts(body: &[u8]) -> Option<RawTexts<'_>> {
    let is_array = |raw: &RawValue| raw.get().starts_with('[');
    match body.iter().find(|b| !b.is_ascii_whitespace())? {
        b'[' => Some(RawTexts {
            items: serde_json::from_slice(body).ok()?,
            total: None,
            shape: ListShape::Array,
        }),
        b'{' => {
            let map: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_slice(body).ok()?;
            let items_key = ITEM_KEYS
                .iter()
                .find(|key| map.get(**key).is_some_and(|v| is_array(v)))
                .map(|key| key.to_string())
                .or_else(|| {
                    let arrays: Vec<&String> = map
                        .iter()
                        .filter(|(_, v)| is_array(v))
                        .map(|(k, _)| k)
                        .collect();
                    (arrays.len() == 1).then(|| arrays[0].clone())
                })?;
            let count = |key: &str| {
                map.get(key)
                    .and_then(|v| serde_json::from_str::<u64>(v.get()).ok())
            };
            let total_key = TOTAL_KEYS
                .iter()
                .find(|key| count(key).is_some())
                .map(|key| key.to_string());
            let total = total_key.as_deref().and_then(count);
            let items = serde_json::from_str(map.get(&items_key)?.get()).ok()?;
            Some(RawTexts {
                items,
                total,
                shape: ListShape::Envelope {
                    items_key,
                    total_key,
                },
            })
        }
        _ => None,
    }
}

/// Detects the shape of a list response and takes it apart.
pub fn parse_list(body: &[u8]) -> Result<RawPage, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| format!("list response is not JSON ({err}): {}", snippet(body)))?;
    match value {
        Value::Array(items) => Ok(RawPage {
            items,
            total: None,
            shape: ListShape::Array,
        }),
        Value::Object(mut map) => {
            let items_key = ITEM_KEYS
                .iter()
                .find(|key| map.get(**key).is_some_and(Value::is_array))
                .map(|key| key.to_string())
                .or_else(|| {
                    // An envelope with one array under a key we did not foresee.
                    let arrays: Vec<&String> = map
                        .iter()
                        .filter(|(_, v)| v.is_array())
                        .map(|(k, _)| k)
                        .collect();
                    (arrays.len() == 1).then(|| arrays[0].clone())
                })
                .ok_or_else(|| {
                    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                    format!(
                        "list response is an object without a record array (keys: {})",
                        keys.join(", ")
                    )
                })?;
            let total_key = TOTAL_KEYS
                .iter()
                .find(|key| map.get(**key).is_some_and(|v| v.as_u64().is_some()))
                .map(|key| key.to_string());
            let total = total_key
                .as_ref()
                .and_then(|key| map.get(key))
                .and_then(Value::as_u64);
            let items = match map.remove(&items_key) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            Ok(RawPage {
                items,
                total,
                shape: ListShape::Envelope {
                    items_key,
                    total_key,
                },
            })
        }
        other => Err(format!(
            "list response is neither an array nor an object: {}",
            snippet(other.to_string().as_bytes())
        )),
    }
}

/// What a successful create answered with.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatedBody {
    /// The created record, with its id.
    Record(Value),
    /// Only the new id (a bare string or number, or `{"id": ...}` alone).
    Id(String),
    /// Nothing usable: the record must be looked up.
    Nothing,
}

/// Reads the body of a 2xx create response.
pub fn parse_created(body: &[u8]) -> CreatedBody {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim().trim_matches('"');
        let looks_like_id = !text.is_empty()
            && text.len() <= 128
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        return if looks_like_id {
            CreatedBody::Id(text.to_string())
        } else {
            CreatedBody::Nothing
        };
    };
    match value {
        Value::String(id) if !id.is_empty() => CreatedBody::Id(id),
        Value::Number(n) => CreatedBody::Id(n.to_string()),
        Value::Object(ref map) => match map.get("id") {
            Some(Value::String(id)) if map.len() == 1 => CreatedBody::Id(id.clone()),
            Some(Value::Number(n)) if map.len() == 1 => CreatedBody::Id(n.to_string()),
            Some(Value::String(_) | Value::Number(_)) => CreatedBody::Record(value),
            _ => ITEM_KEYS
                .iter()
                .chain(["user", "group", "result"].iter())
                .find_map(|key| map.get(*key).filter(|v| v.get("id").is_some()))
                .map_or(CreatedBody::Nothing, |inner| {
                    CreatedBody::Record(inner.clone())
                }),
        },
        _ => CreatedBody::Nothing,
    }
}

/// The human message in an error body: a JSON field when there is one
/// (including ASP.NET validation `errors`), else the text itself.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        let mut parts: Vec<String> = MESSAGE_KEYS
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str))
            .map(|message| vec![message.to_string()])
            .unwrap_or_default();
        if let Some(Value::Object(errors)) = map.get("errors") {
            for (field, messages) in errors {
                let text = match messages {
                    Value::Array(list) => list
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; "),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                parts.push(format!("{field}: {text}"));
            }
        }
        if !parts.is_empty() {
            // A server's message is shown and recorded: never at any length.
            return snippet(parts.join(" — ").as_bytes());
        }
    }
    snippet(body)
}

/// At most 300 characters of a body, on one line, for messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        let cut: String = flat.chars().take(300).collect();
        format!("{cut}…")
    } else if flat.is_empty() {
        "(empty body)".to_string()
    } else {
        flat
    }
}

/// Rate-limit headers a server may send, as `(name, value)` pairs.
pub fn rate_limit_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "retry-after" || name.contains("ratelimit") || name.contains("rate-limit")
        })
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or("(not text)").to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_read_from_their_text_come_in_the_shapes_a_tree_finds() {
        let bodies = [
            r#"[{"id": "1"}, {"id": 2}]"#,
            r#" {"items": [{"id": "1"}], "totalCount": 7}"#,
            r#"{"data": [], "total": 0, "page": 1}"#,
            r#"{"members": [{"id": "a"}], "count": 3.5}"#,
            r#"{"users": [{"id": "a"}], "groups": [], "total": -1}"#,
        ];
        for body in bodies {
            let tree = parse_list(body.as_bytes()).unwrap();
            let texts = parse_list_texts(body.as_bytes()).unwrap();
            assert_eq!(texts.shape, tree.shape, "{body}");
            assert_eq!(texts.total, tree.total, "{body}");
            let items: Vec<Value> = texts
                .items
                .iter()
                .map(|t| serde_json::from_str(t.get()).unwrap())
                .collect();
            assert_eq!(items, tree.items, "{body}");
        }
        for odd in [r#""text""#, r#"{"a": [], "b": []}"#, "{", r#"{"total": 3}"#] {
            assert!(parse_list_texts(odd.as_bytes()).is_none(), "{odd}");
        }
    }

    fn page(value: Value) -> RawPage {
        parse_list(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn detects_arrays_and_envelopes() {
        let p = page(json!([{"id": "1"}, {"id": "2"}]));
        assert_eq!(
            (p.items.len(), p.total, p.shape),
            (2, None, ListShape::Array)
        );

        for key in ["items", "data", "results", "users", "value"] {
            let p = page(json!({ key: [{"id": "1"}], "totalCount": 9 }));
            assert_eq!(p.items.len(), 1, "{key}");
            assert_eq!(p.total, Some(9));
        }
        let p = page(json!({"data": [], "total": 0}));
        assert_eq!(p.total, Some(0));
        let p = page(json!({"page": 1, "members": [{"id": "1"}]}));
        assert_eq!(p.items.len(), 1);
        assert!(parse_list(br#"{"page": 1}"#).is_err());
        assert!(parse_list(b"<html>").is_err());
    }

    #[test]
    fn created_bodies() {
        assert_eq!(
            parse_created(br#"{"id":"a1","username":"x"}"#),
            CreatedBody::Record(json!({"id":"a1","username":"x"}))
        );
        assert_eq!(
            parse_created(br#"{"id":"a1"}"#),
            CreatedBody::Id("a1".into())
        );
        assert_eq!(parse_created(br#""a1""#), CreatedBody::Id("a1".into()));
        assert_eq!(parse_created(b"a1-b2"), CreatedBody::Id("a1-b2".into()));
        assert_eq!(parse_created(b""), CreatedBody::Nothing);
        assert_eq!(
            parse_created(br#"{"data":{"id":7,"username":"x"}}"#),
            CreatedBody::Record(json!({"id":7,"username":"x"}))
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(br#"{"message":"email: invalid"}"#),
            "email: invalid"
        );
        let problem = br#"{"title":"One or more validation errors occurred.","errors":{"Email":["The Email field is required."]}}"#;
        assert_eq!(
            error_message(problem),
            "One or more validation errors occurred. — Email: The Email field is required."
        );
        assert_eq!(error_message(b"  Bad\n gateway "), "Bad gateway");
        let huge = format!("{{\"message\":\"{}\"}}", "x".repeat(1_000_000));
        assert!(error_message(huge.as_bytes()).chars().count() <= 301);
    }
}
