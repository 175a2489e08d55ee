//! The `sebulk` binary as a user runs it: exit codes, messages, and no
//! secret in any output.

use std::process::Output;

use base64::Engine;
use sebulk::model::AuthScheme;
use tokio::process::Command;

use crate::support::{KEY, config, start};

mod arrival;
mod conventions;
mod first_week;
mod hostile;
mod manual;
mod notify;
mod report;
mod secrets;

fn sebulk() -> Command {
    crate::support::process()
}

/// Runs sebulk with `args` and the test key in the environment.
pub(super) async fn with_key(args: &[&str]) -> Output {
    sebulk()
        .args(args)
        .env("SEBULK_API_KEY", KEY)
        .output()
        .await
        .unwrap()
}

/// Runs sebulk with `args` and no key.
async fn without_key(args: &[&str]) -> Output {
    sebulk().args(args).output().await.unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_never_appears_in_any_output() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(KEY);
    for server_scheme in AuthScheme::ALL {
        let mut config = config();
        config.auth_scheme = server_scheme;
        let sandbox = start(config).await;
        for client_scheme in AuthScheme::ALL {
            let output = sebulk()
                .args([
                    "--base-url",
                    sandbox.base_url().as_str(),
                    "--auth-scheme",
                    client_scheme.name(),
                    "-vv",
                    "check",
                ])
                .env("SEBULK_API_KEY", KEY)
                .env("SEBULK_LOG", "trace")
                .output()
                .await
                .unwrap();
            let all = text(&output);
            assert!(all.len() > 200, "trace logging produced output");
            assert!(
                !all.contains(KEY) && !all.contains(&encoded),
                "key leaked ({server_scheme}/{client_scheme}):\n{all}"
            );
            let expected = if server_scheme == client_scheme { 0 } else { 1 };
            assert_eq!(output.status.code(), Some(expected), "{all}");
        }
    }
    let output = sebulk()
        .args(["--sandbox", "-vv", "check", "--json"])
        .env("SEBULK_API_KEY", KEY)
        .env("SEBULK_LOG", "trace")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!text(&output).contains(KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_scheme_that_works() {
    let mut config = config();
    config.auth_scheme = AuthScheme::XApiKey;
    let sandbox = start(config).await;
    let output = with_key(&["--base-url", sandbox.base_url().as_str(), "check", "--json"]).await;
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["key_accepted"], false);
    assert_eq!(report["working_scheme"], "x-api-key");
    assert_eq!(report["usable"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_shape_counts_and_rate_limit_headers() {
    let mut config = config();
    config.faults.rate_limit = Some(50);
    let sandbox = start(config).await;
    let output = with_key(&["--base-url", sandbox.base_url().as_str(), "check", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lists = report["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 3);
    let users = sandbox.tenant().users().count() as u64;
    assert_eq!(lists[0]["total"], users);
    assert!(lists[0]["shape"].as_str().unwrap().contains("items"));
    let headers = report["rate_limit_headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "x-ratelimit-limit" && h[1] == "50"),
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_exit_1_with_a_hint_and_usage_errors_exit_2() {
    let no_key = without_key(&[
        "--base-url",
        "https://acme.uk.securenvoy.directory",
        "check",
    ])
    .await;
    assert_eq!(no_key.status.code(), Some(1));
    assert!(
        text(&no_key).contains("SEBULK_API_KEY"),
        "{}",
        text(&no_key)
    );

    let plain_http =
        with_key(&["--base-url", "http://acme.uk.securenvoy.directory", "check"]).await;
    assert_eq!(plain_http.status.code(), Some(1));
    assert!(text(&plain_http).contains("unencrypted"));

    let no_tenant = with_key(&["check"]).await;
    assert_eq!(no_tenant.status.code(), Some(1));
    assert!(text(&no_tenant).contains("--sandbox"));

    let unreachable = with_key(&[
        "--base-url",
        "http://127.0.0.1:9/api/user/restapi",
        "--max-retries",
        "0",
        "check",
    ])
    .await;
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        text(&unreachable).contains("unreachable"),
        "{}",
        text(&unreachable)
    );

    let usage = without_key(&["check", "--no-such-flag"]).await;
    assert_eq!(usage.status.code(), Some(2));
    let help = without_key(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help).contains("Exit codes"));
    let completions = without_key(&["completions", "bash"]).await;
    assert_eq!(completions.status.code(), Some(0));
    assert!(text(&completions).contains("sebulk"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_command_serves_until_sigterm_and_saves_its_state() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = sebulk()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .env("SEBULK_API_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base_url = lines
        .next_line()
        .await
        .unwrap()
        .expect("the base URL is printed first");
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/api/user/restapi"),
        "{base_url}"
    );

    let check = with_key(&["--base-url", &base_url, "check"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    crate::support::send_signal(&child, "-TERM").await;
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("sandbox stopped"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        saved["users"].as_array().unwrap().len() >= 5,
        "the demo tenant was saved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_to_listen_beyond_loopback() {
    let output = without_key(&["sandbox", "--listen", "0.0.0.0:0"]).await;
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(text(&output).contains("loopback"));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_reads_standard_input_when_given_a_results_file() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.csv");
    let mut child = sebulk()
        .args(["--sandbox", "--rate", "200", "import", "-", "--results"])
        .arg(&results)
        .env("SEBULK_API_KEY", KEY)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"username,email\nstdin.user,stdin.user@example.com\n")
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("import of standard input"));
    let lines = crate::support::read_csv(&results);
    assert_eq!(lines[0]["outcome"], "created");

    let refused = without_key(&["--sandbox", "import", "-"]).await;
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    assert!(text(&refused).contains("--results"));
}
