//! Helpers shared by the integration tests: an in-process sandbox on
//! 127.0.0.1:0 and clients pointed at it.

use std::time::Duration;

use sebulk::api::{Client, ClientSettings};
use sebulk::limiter::RetryPolicy;
use sebulk::model::{UserFields, UserWrite};
use sebulk::sandbox::{self, Faults, SandboxConfig, SandboxHandle, Seed};
use secrecy::SecretString;

pub const KEY: &str = "test-key-7f3a9c1e5b";

pub fn config() -> SandboxConfig {
    SandboxConfig::local(SecretString::from(KEY))
}

pub fn faults(f: impl FnOnce(&mut Faults)) -> SandboxConfig {
    let mut config = config();
    f(&mut config.faults);
    config
}

pub async fn start(config: SandboxConfig) -> SandboxHandle {
    sandbox::start(config).await.expect("sandbox starts")
}

pub async fn start_empty() -> SandboxHandle {
    let mut config = config();
    config.seed = Seed::Empty;
    start(config).await
}

/// Fast settings: high rate, short backoff, so tests spend their time on behaviour.
pub fn settings(sandbox: &SandboxHandle) -> ClientSettings {
    let mut settings = ClientSettings::new(sandbox.base_url().clone(), SecretString::from(KEY));
    settings.rate = 1000.0;
    settings.in_flight = sebulk::limiter::InFlight::Fixed(8);
    settings.retry = RetryPolicy {
        max_retries: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    settings.request_timeout = Duration::from_secs(5);
    settings
}

pub fn client(sandbox: &SandboxHandle) -> Client {
    Client::new(&settings(sandbox)).expect("client builds")
}

pub fn new_user(username: &str) -> UserWrite {
    UserWrite {
        fields: UserFields {
            username: Some(username.to_string()),
            email: Some(format!("{}@example.com", username.replace(['/', ' '], "_"))),
            first_name: Some("Test".to_string()),
            last_name: Some("User".to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The state directory (the tenants' run locks) of every run the tests
/// start, never the user's own: under the build's scratch directory.
pub const STATE_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/sebulk-state");

/// Runs a sebulk command line in-process (program name first is added),
/// with the test key and state directory in the environment.
pub async fn sebulk_in_process(args: &[&str]) -> Result<sebulk::Completion, sebulk::CommandError> {
    let mut argv = vec!["sebulk", "--config", "/dev/null"];
    argv.extend_from_slice(args);
    let env = |name: &str| match name {
        "SEBULK_API_KEY" => Some(KEY.to_string()),
        "SEBULK_STATE_DIR" => Some(STATE_DIR.to_string()),
        _ => None,
    };
    sebulk::dispatch(argv, &env).await
}

/// A results or plan file as parsed records: header → value maps.
pub fn read_csv(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let headers = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|record| record.expect("a well-formed line"))
        // A plan's seal is for apply, not a row.
        .filter(|record| record.get(0) != Some("plan-seal"))
        .map(|record| {
            headers
                .iter()
                .map(str::to_string)
                .zip(record.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Rewrites one column of a CSV file in place (`edit` of each cell), as a
/// hand edit or another tool would.
pub fn edit_column(path: &std::path::Path, column: &str, edit: impl Fn(&str) -> String) {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let header = reader.headers().expect("a header").clone();
    let at = header
        .iter()
        .position(|h| h == column)
        .expect("the column is there");
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("a well-formed line"))
        .collect();
    let mut writer = csv::Writer::from_path(path).expect("writable CSV");
    writer.write_record(&header).expect("written");
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| if i == at { edit(c) } else { c.to_string() })
            .collect();
        writer.write_record(cells).expect("written");
    }
    writer.flush().expect("written");
}

/// The file in `dir` whose name holds `part` (`.snapshot-`, `.held-`), if any.
pub fn file_in(dir: &std::path::Path, part: &str) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|e| e.expect("an entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(part))
        })
}

/// Restores `snapshot` into `sandbox`, the results in `dir`.
pub async fn restore(
    sandbox: &SandboxHandle,
    snapshot: &std::path::Path,
    dir: &std::path::Path,
) -> Result<sebulk::Completion, sebulk::CommandError> {
    let restored = dir.join("restored.csv");
    let args = [
        "restore",
        snapshot.to_str().expect("a UTF-8 path"),
        "-o",
        restored.to_str().expect("a UTF-8 path"),
    ];
    against(sandbox, &args).await
}

/// Runs a sebulk command in-process against `sandbox`, fast-paced.
pub async fn against(
    sandbox: &SandboxHandle,
    args: &[&str],
) -> Result<sebulk::Completion, sebulk::CommandError> {
    let url = sandbox.base_url().to_string();
    let mut argv = vec![
        "--base-url",
        url.as_str(),
        "--rate",
        "500",
        "--max-retries",
        "8",
    ];
    argv.extend_from_slice(args);
    sebulk_in_process(&argv).await
}

/// The sebulk binary in a clean environment: no key, no tenant, no
/// developer profile, killed if the test ends first.
pub fn process() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sebulk"));
    for var in [
        "SEBULK_BASE_URL",
        "SEBULK_TENANT",
        "SEBULK_REGION",
        "SEBULK_API_KEY",
        "SEBULK_API_KEY_FILE",
        "SEBULK_AUTH_SCHEME",
        "SEBULK_PROFILE",
        "SEBULK_LOG",
        "SEBULK_RATE",
        "SEBULK_CONCURRENCY",
        "SEBULK_NOTIFY",
        "CREDENTIALS_DIRECTORY",
    ] {
        command.env_remove(var);
    }
    command.env("SEBULK_CONFIG", "/dev/null");
    command.env("SEBULK_STATE_DIR", STATE_DIR);
    command.stdin(std::process::Stdio::null());
    command.kill_on_drop(true);
    command
}

/// The sebulk binary against `base_url` at a pace a test can interrupt.
pub fn sebulk(base_url: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = process();
    command
        .env("SEBULK_API_KEY", KEY)
        .args(["--base-url", base_url, "--rate", "40", "--concurrency", "4"])
        .args(args);
    command
}

/// Waits until the sandbox has taken `at_least` writes.
pub async fn wait_for_writes(sandbox: &SandboxHandle, at_least: u64) {
    for _ in 0..1500 {
        if sandbox.counters().writes >= at_least {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the run never got going");
}
