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
//! and, as for the tenant, plain HTTP goes to loopback only. A redirect
//! is followed only within the receiver's own origin (scheme, host and
//! port): one to anywhere else is not followed and the delivery fails,
//! so the summary never reaches a host nobody named.
//!
//! The URLs come from `--notify`, from `SEBULK_NOTIFY` (several separated
//! by whitespace), from `--notify-file FILE` (one a line, `#` comments;
//! refused when others may read it, like a key file) and from the
//! profile's `notify`.

use std::time::Duration;

use serde_json::Value;

use super::CommandError;

/// How long one POST may take.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Tries per receiver.
const ATTEMPTS: u32 = 3;
/// The most notifications hold the exit.
const DEADLINE: Duration = Duration::from_secs(5);

/// The most redirects followed within a receiver's origin.
const MAX_REDIRECTS: usize = 5;

/// The variable that may hold receivers' URLs (whitespace between them).
pub const NOTIFY_ENV: &str = "SEBULK_NOTIFY";

/// A receiver's URL and where it was given (`--notify URL 2`,
/// `SEBULK_NOTIFY URL 1`, `FILE line 3`), for messages that must not
/// repeat the URL.
pub struct Given {
    pub source: String,
    pub url: String,
}

/// The URLs `SEBULK_NOTIFY` holds: separated by whitespace (a comma may
/// be part of a URL, so it separates nothing).
pub fn from_env(value: &str) -> Vec<Given> {
    value
        .split_whitespace()
        .enumerate()
        .map(|(number, url)| Given {
            source: format!("{NOTIFY_ENV} URL {}", number + 1),
            url: url.to_string(),
        })
        .collect()
}

/// The URLs of a `--notify-file`: one a line; blank lines and lines
/// starting with `#` are skipped. The file must be its owner's alone.
pub fn from_file(path: &std::path::Path) -> Result<Vec<Given>, CommandError> {
    crate::config::check_private_file(path, "notify file")?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CommandError::io(format!("cannot read {}", path.display()), e))?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(number, line)| (number + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, url)| Given {
            source: format!("{} line {number}", path.display()),
            url: url.to_string(),
        })
        .collect())
}

/// Why a redirect was not followed (no URL in it: it may hold a token).
#[derive(Debug, thiserror::Error)]
#[error("redirected to another origin; not followed")]
struct ElsewhereRedirect;

/// Whether two URLs share an origin: scheme, host and port.
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Follows a redirect within the first URL's origin, up to [`MAX_REDIRECTS`].
fn within_origin(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let stays = attempt
        .previous()
        .first()
        .is_some_and(|first| same_origin(first, attempt.url()));
    if !stays {
        attempt.error(ElsewhereRedirect)
    } else if attempt.previous().len() > MAX_REDIRECTS {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

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
    /// The receivers given: each a URL, HTTPS but for loopback. The
    /// error names where the URL was given, never the URL (it may hold a
    /// token).
    pub fn parse(given: &[Given]) -> Result<Self, CommandError> {
        let mut parsed = Vec::new();
        for Given { source, url } in given {
            let url = reqwest::Url::parse(url.trim())
                .map_err(|_| CommandError::usage(format!("{source} is not a URL")))?;
            crate::api::client::check_url_is_safe(&url).map_err(|_| {
                CommandError::usage(format!(
                    "{source} is not HTTPS: a webhook's URL carries its token, so plain HTTP goes to loopback only"
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
        crate::api::install_tls_provider();
        let Ok(client) = reqwest::Client::builder()
            .timeout(ATTEMPT)
            .user_agent(concat!("sebulk/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::custom(within_origin))
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
            // Never tried again: the receiver would only send it away again.
            Err(err) if err.is_redirect() => return Err(ElsewhereRedirect.to_string()),
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

    fn given(url: &str) -> Vec<Given> {
        vec![Given {
            source: "--notify URL 1".into(),
            url: url.into(),
        }]
    }

    #[test]
    fn plain_http_goes_to_loopback_only_and_errors_never_repeat_the_url() {
        assert!(Receivers::parse(&given("http://127.0.0.1:9/hook")).is_ok());
        assert!(Receivers::parse(&given("https://hooks.example.com/T0/B0/secret")).is_ok());
        let err = Receivers::parse(&given("http://hooks.example.com/T0/B0/secret-token"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--notify URL 1 is not HTTPS") && !err.contains("secret-token"),
            "{err}"
        );
        let err = Receivers::parse(&given("not a url secret-token"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret-token"), "{err}");
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let url = |text: &str| reqwest::Url::parse(text).unwrap();
        let hook = url("https://hooks.example.com/T0/secret");
        assert!(same_origin(
            &hook,
            &url("https://hooks.example.com:443/elsewhere")
        ));
        assert!(!same_origin(
            &hook,
            &url("https://hooks.example.com:8443/T0/secret")
        ));
        assert!(!same_origin(
            &hook,
            &url("http://hooks.example.com/T0/secret")
        ));
        assert!(!same_origin(
            &hook,
            &url("https://evil.example.com/T0/secret")
        ));
    }

    #[test]
    fn urls_come_from_the_environment_and_from_a_private_file() {
        let urls: Vec<String> = from_env(" https://a.example/1\nhttps://b.example/2,x\t")
            .into_iter()
            .map(|g| g.url)
            .collect();
        assert_eq!(urls, ["https://a.example/1", "https://b.example/2,x"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hooks");
        std::fs::write(
            &path,
            "# chat\n\nhttps://a.example/1\n  https://b.example/2  \n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let given = from_file(&path).unwrap();
            assert_eq!(given.len(), 2);
            assert_eq!(given[1].url, "https://b.example/2");
            assert!(
                given[1].source.ends_with("hooks line 4"),
                "{}",
                given[1].source
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = from_file(&path).err().expect("refused").to_string();
            assert!(
                err.contains("chmod 600") && !err.contains("a.example"),
                "{err}"
            );
        }
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
