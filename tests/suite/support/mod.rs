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

/// Makes `mаrk` (a Cyrillic а) in the tenant by hand, as an admin might:
/// a user who only imitates the plain name `mark`.
pub async fn create_mark_imitation(sandbox: &SandboxHandle) {
    let imitation = UserWrite {
        fields: UserFields {
            username: Some("m\u{430}rk".into()),
            email: Some("mark.w@example.com".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    client(sandbox).create_user(&imitation).await.unwrap();
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

/// Rewrites a results file as an older sebulk wrote it: without its
/// `line_seal` column, its runs dated before sebulk sealed every line.
pub fn as_written_unsealed(path: &std::path::Path) {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let header = reader.headers().expect("a header").clone();
    let at = header
        .iter()
        .position(|h| h == "line_seal")
        .expect("sealed");
    let run_at = header.iter().position(|h| h == "run_id");
    let keep = |row: &csv::StringRecord| -> Vec<String> {
        row.iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(i, c)| match Some(i) == run_at {
                true => c.replacen("-2026", "-2025", 1),
                false => c.to_string(),
            })
            .collect()
    };
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| keep(&r.expect("a well-formed line")))
        .collect();
    let mut writer = csv::Writer::from_path(path).expect("writable CSV");
    writer.write_record(keep(&header)).expect("written");
    for row in rows {
        writer.write_record(row).expect("written");
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

/// Waits until the sandbox has taken `at_least` writes (up to a minute:
/// a loaded machine starts a process slowly).
pub async fn wait_for_writes(sandbox: &SandboxHandle, at_least: u64) {
    for _ in 0..6000 {
        if sandbox.counters().writes >= at_least {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the run never got going");
}

/// Sends `signal` (`-INT`, `-TERM`) to a running sebulk, as a terminal's
/// Ctrl-C or a service manager would.
pub async fn send_signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the process is running").to_string();
    let sent = tokio::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(sent.success(), "kill {signal} {pid}");
}

/// Waits for a signalled sebulk, which must end as interrupted (130).
pub async fn ended_interrupted(child: tokio::process::Child) -> std::process::Output {
    let output = child.wait_with_output().await.expect("the process ends");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The sebulk binary against `sandbox`, started with its stderr kept.
pub fn spawned(sandbox: &SandboxHandle, args: &[&str]) -> tokio::process::Child {
    sebulk(sandbox.base_url().as_str(), args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Runs sebulk against `sandbox` and interrupts it (SIGINT) once the
/// sandbox has taken `writes` more writes; it must end as interrupted.
pub async fn interrupted_run(
    sandbox: &SandboxHandle,
    args: &[&str],
    writes: u64,
) -> std::process::Output {
    let child = spawned(sandbox, args);
    let from = sandbox.counters().writes;
    wait_for_writes(sandbox, from + writes).await;
    send_signal(&child, "-INT").await;
    ended_interrupted(child).await
}

/// The names of the groups and of the applications a user is in, sorted:
/// what the tenant holds, to judge a run by.
pub fn memberships_of(tenant: &sandbox::Tenant, user_id: &str) -> (Vec<String>, Vec<String>) {
    let mut groups: Vec<String> = tenant
        .groups_of(user_id)
        .into_iter()
        .map(|g| g.name)
        .collect();
    let mut apps: Vec<String> = tenant
        .applications_of(user_id)
        .into_iter()
        .map(|a| a.name)
        .collect();
    groups.sort();
    apps.sort();
    (groups, apps)
}

/// The differences `sebulk diff` finds between two user exports, by
/// username: (change, username, field).
pub async fn export_differences(
    dir: &std::path::Path,
    before: &str,
    after: &str,
) -> Vec<(String, String, String)> {
    let out = dir.join("diff.csv");
    let o = out.display().to_string();
    let args = [
        "diff", before, after, "--key", "username", "--force", "-o", &o,
    ];
    sebulk_in_process(&args).await.expect("diff runs");
    read_csv(&out)
        .into_iter()
        .map(|c| {
            (
                c["change"].clone(),
                c["username"].clone(),
                c["field"].clone(),
            )
        })
        .collect()
}

/// The user the sandbox holds under `username`, as it is now.
pub fn user_named(sandbox: &SandboxHandle, username: &str) -> sandbox::store::StoredUser {
    sandbox
        .tenant()
        .user_by_username(username)
        .expect("the user is in the tenant")
        .clone()
}

/// Starts the tenant from the users CSV `text` (written as `tenant.csv` in
/// `dir`), imported cleanly; the file's path.
pub async fn seed_tenant(sandbox: &SandboxHandle, dir: &std::path::Path, text: &str) -> String {
    let tenant = dir.join("tenant.csv");
    std::fs::write(&tenant, text).expect("written");
    let results = dir.join("tenant.results.csv");
    let [t, r] = [&tenant, &results].map(|p| p.display().to_string());
    let args = ["import", &t, "-o", &r];
    assert_eq!(
        against(sandbox, &args)
            .await
            .expect("the tenant is imported"),
        sebulk::Completion::Clean
    );
    t
}

/// Runs `args` against the sandbox and reads the results file they name:
/// how the run completed, and its rows.
pub async fn run_and_read(
    sandbox: &SandboxHandle,
    args: &[&str],
    results: &std::path::Path,
) -> (
    sebulk::Completion,
    Vec<std::collections::BTreeMap<String, String>>,
) {
    let completion = against(sandbox, args).await.expect("the run completes");
    (completion, read_csv(results))
}

/// One column of a results file's rows, in order.
pub fn column<'a>(
    lines: &'a [std::collections::BTreeMap<String, String>],
    name: &str,
) -> Vec<&'a str> {
    lines.iter().map(|l| l[name].as_str()).collect()
}

/// `import [extra] --results RESULTS INPUT` against the sandbox.
pub async fn import_file(
    sandbox: &SandboxHandle,
    input: &std::path::Path,
    results: &std::path::Path,
    extra: &[&str],
) -> Result<sebulk::Completion, sebulk::CommandError> {
    let [i, r] = [input, results].map(|p| p.display().to_string());
    let mut args = vec!["import"];
    args.extend_from_slice(extra);
    args.extend(["--results", &r, &i]);
    against(sandbox, &args).await
}

/// Writes every man page into `dir` through the binary, which must succeed.
pub async fn write_man_pages(dir: &std::path::Path) {
    let output = process()
        .args(["man", "-o"])
        .arg(dir)
        .output()
        .await
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(0));
}

/// Writes a seed file into `dir`: the demo tenant (its groups and
/// applications) with `people` as its users.
pub fn demo_seed_with(dir: &std::path::Path, people: Vec<serde_json::Value>) -> std::path::PathBuf {
    let mut tenant: serde_json::Value =
        serde_json::from_str(sandbox::DEMO_TENANT).expect("the demo tenant is JSON");
    tenant["users"] = serde_json::Value::from(people);
    let path = dir.join("seed.json");
    std::fs::write(&path, tenant.to_string()).expect("written");
    path
}

/// Each row's (username, outcome), in order.
pub fn outcome_by_user(lines: &[std::collections::BTreeMap<String, String>]) -> Vec<(&str, &str)> {
    lines
        .iter()
        .map(|l| (l["username"].as_str(), l["outcome"].as_str()))
        .collect()
}

/// How many times `name`'s password has been set in the sandbox.
pub fn times_password_set(sandbox: &SandboxHandle, name: &str) -> u32 {
    sandbox
        .tenant()
        .user_by_username(name)
        .expect("the user is in the tenant")
        .password
        .times_set
}
