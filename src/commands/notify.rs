//! `--notify URL`: when a run ends — done, with problems, refused, failed
//! or interrupted — its summary (what `--summary-json` writes) is POSTed
//! to each URL with a one-line `text` that Slack and Teams incoming
//! webhooks display, and the `command` and `exit_code`.
//!
//! Bounded: every receiver is tried at once, each attempt waits at most
//! [`ATTEMPT`], a failed one is tried again up to [`ATTEMPTS`] times, and
//! the whole is cut at [`DEADLINE`]; a receiver that hangs or fails never
//! holds the exit longer, and never changes the exit code — it is said in
//! a warning. Webhook URLs carry tokens in their paths: a URL is never
//! printed, logged or written anywhere (the warnings number receivers),
//! and, as for the tenant, plain HTTP goes to loopback only.

use std::time::Duration;

use serde_json::Value;

use super::CommandError;

/// How long one POST may take.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Tries per receiver.
const ATTEMPTS: u32 = 3;
/// The most notifications hold the exit.
const DEADLINE: Duration = Duration::from_secs(5);

/// Where a run's end is told: URLs checked before the run starts.
#[derive(Clone, Default)]
pub struct Receivers {
    urls: Vec<reqwest::Url>,
}

impl std::fmt::Debug for Receivers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Receivers({} URLs)", self.urls.len())
    }
}

impl Receivers {
    /// The receivers `urls` name: each a URL, HTTPS but for loopback.
    /// The error never repeats a URL (it may hold a token).
    pub fn parse(urls: &[String]) -> Result<Self, CommandError> {
        let mut parsed = Vec::new();
        for (number, url) in urls.iter().enumerate() {
            let which = number + 1;
            let url = reqwest::Url::parse(url.trim())
                .map_err(|_| CommandError::usage(format!("--notify URL {which} is not a URL")))?;
            crate::api::client::check_url_is_safe(&url).map_err(|_| {
                CommandError::usage(format!(
                    "--notify URL {which} is not HTTPS: a webhook's URL carries its token, so plain HTTP goes to loopback only"
                ))
            })?;
            parsed.push(url);
        }
        Ok(Receivers { urls: parsed })
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// Tells every receiver `summary` (the text added); what could not be
    /// delivered comes back as warnings naming the receiver by number.
    pub async fn tell(&self, command: &str, mut summary: Value, exit_code: u8) -> Vec<String> {
        if let Value::Object(map) = &mut summary {
            map.insert("command".into(), Value::from(command));
            map.entry("exit_code").or_insert(Value::from(exit_code));
            let text = one_line(command, map, exit_code);
            map.insert("text".into(), Value::from(text));
        }
        let Ok(client) = reqwest::Client::builder()
            .timeout(ATTEMPT)
            .user_agent(concat!("sebulk/", env!("CARGO_PKG_VERSION")))
            .build()
        else {
            return vec!["notifications could not be sent: no HTTP client".into()];
        };
        let sends = self.urls.iter().enumerate().map(|(number, url)| {
            let (client, summary) = (client.clone(), &summary);
            async move {
                deliver(&client, url, summary)
                    .await
                    .err()
                    .map(|why| (number + 1, why))
            }
        });
        let all = futures::future::join_all(sends);
        match tokio::time::timeout(DEADLINE, all).await {
            Ok(results) => results
                .into_iter()
                .flatten()
                .map(|(number, why)| format!("notification {number} not delivered: {why}"))
                .collect(),
            Err(_) => vec![format!(
                "notifications cut after {} s: a receiver did not answer in time",
                DEADLINE.as_secs()
            )],
        }
    }
}

/// One receiver, tried up to [`ATTEMPTS`] times; why not, if never.
async fn deliver(client: &reqwest::Client, url: &reqwest::Url, body: &Value) -> Result<(), String> {
    let mut why = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
        }
        let request = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        match request.send().await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => why = format!("answered {}", answer.status().as_u16()),
            // Without the URL: it may hold a token.
            Err(err) => why = err.without_url().to_string(),
        }
    }
    Err(why)
}

/// The one line chat webhooks show: what ran, how it ended, the counts.
fn one_line(command: &str, summary: &serde_json::Map<String, Value>, exit_code: u8) -> String {
    let text = |key: &str| summary.get(key).and_then(Value::as_str).unwrap_or_default();
    let what = match text("input") {
        "" => format!("sebulk {command}"),
        input => format!("sebulk {command} of {input}"),
    };
    let counts: Vec<String> = summary
        .get("counts")
        .and_then(Value::as_object)
        .map(|counts| {
            counts
                .iter()
                .map(|(outcome, n)| format!("{n} {outcome}"))
                .collect()
        })
        .unwrap_or_default();
    let ended = match (text("status"), exit_code) {
        ("refused", _) => format!("refused: {}", text("error")),
        ("failed", _) => format!("failed: {}", text("error")),
        (_, 130) => "interrupted".to_string(),
        (_, 0) => "done".to_string(),
        (_, code) => format!("done, with rows to look at (exit {code})"),
    };
    match counts.is_empty() {
        true => format!("{what}: {ended}"),
        false => format!("{what}: {ended}; {}", counts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_goes_to_loopback_only_and_errors_never_repeat_the_url() {
        assert!(Receivers::parse(&["http://127.0.0.1:9/hook".into()]).is_ok());
        assert!(Receivers::parse(&["https://hooks.example.com/T0/B0/secret".into()]).is_ok());
        let err = Receivers::parse(&["http://hooks.example.com/T0/B0/secret-token".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not HTTPS") && !err.contains("secret-token"),
            "{err}"
        );
        let err = Receivers::parse(&["not a url secret-token".into()])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret-token"), "{err}");
    }

    #[test]
    fn the_line_says_what_ran_how_it_ended_and_the_counts() {
        let summary =
            serde_json::json!({"input": "hires.csv", "counts": {"created": 6, "failed": 2}});
        let map = summary.as_object().unwrap();
        assert_eq!(
            one_line("import", map, 3),
            "sebulk import of hires.csv: done, with rows to look at (exit 3); 6 created, 2 failed"
        );
        let refused = serde_json::json!({"status": "refused", "error": "too many"});
        assert_eq!(
            one_line("offboard", refused.as_object().unwrap(), 1),
            "sebulk offboard: refused: too many"
        );
    }
}
