//! The sandbox answers malformed requests with a 4xx and a message, never a
//! panic or a hang.

use std::time::Duration;

use serde_json::Value;

use crate::support::{KEY, config, start};

/// A bare HTTP client, as another program would send with (sebulk's TLS
/// provider installed first: reqwest is built without one of its own).
fn raw_http() -> reqwest::Client {
    sebulk::api::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn send(
    method: reqwest::Method,
    url: String,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let http = raw_http();
    let mut request = http
        .request(method, url)
        .header("authorization", format!("Bearer {KEY}"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("an answer, not a hang");
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_with_a_message() {
    let sandbox = start(config()).await;
    let root = sandbox.base_url().to_string();
    let json = Some("application/json");
    let post = reqwest::Method::POST;
    type Case<'a> = (
        reqwest::Method,
        String,
        Option<&'a str>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            post.clone(),
            format!("{root}/users"),
            json,
            b"{\"username\": ".to_vec(),
            400,
            "malformed JSON",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            json,
            b"[1,2]".to_vec(),
            400,
            "JSON object",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            json,
            br#"{"username":"a","email":"a@b.co","isLocked":"no"}"#.to_vec(),
            400,
            "isLocked",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            json,
            br#"{"username":7,"email":"a@b.co"}"#.to_vec(),
            400,
            "username",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            json,
            br#"{"username":"a","email":"a@b.co","country":"Narnia"}"#.to_vec(),
            400,
            "country",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            Some("text/plain"),
            br#"{"username":"a","email":"a@b.co"}"#.to_vec(),
            415,
            "Content-Type",
        ),
        (
            post.clone(),
            format!("{root}/users"),
            json,
            vec![b' '; 2 * 1024 * 1024],
            413,
            "body",
        ),
        (
            post.clone(),
            format!("{root}/groups"),
            json,
            br#"{"name": null}"#.to_vec(),
            400,
            "name",
        ),
        (
            post.clone(),
            format!("{root}/credentials/setpassword/x"),
            json,
            b"{}".to_vec(),
            404,
            "not found",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/users?pageSize=abc"),
            None,
            vec![],
            400,
            "pageSize",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/users?page=0"),
            None,
            vec![],
            400,
            "page",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/users?sort=password"),
            None,
            vec![],
            400,
            "sort",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/users?sortOrder=up"),
            None,
            vec![],
            400,
            "sortOrder",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/nothing/here"),
            None,
            vec![],
            404,
            "endpoint",
        ),
    ];
    for (method, url, content_type, body, want_status, want_text) in cases {
        let (status, answer) = send(method.clone(), url.clone(), content_type, body).await;
        assert_eq!(status, want_status, "{method} {url}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(want_text),
            "{method} {url}: '{message}' should mention '{want_text}'"
        );
    }
    // Still serving after all of that.
    let (status, _) = send(reqwest::Method::GET, format!("{root}/users"), None, vec![]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn requests_without_the_key_are_refused() {
    let sandbox = start(config()).await;
    let http = raw_http();
    let response = http
        .get(format!("{}/users", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = http
        .get(format!("{}/users", sandbox.base_url()))
        .header("authorization", "Bearer not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}
