//! Where a writing run may keep its records, and one writing run per
//! tenant at a time: a results or snapshot directory others may write
//! into (without the sticky bit) is refused before any request; a second
//! run on a tenant another run is writing to exits 1 naming it, or waits
//! with `--wait`; a lock a dead run left is taken over with a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use sebulk::Completion;
use sebulk::sandbox::{SandboxHandle, Seed};

use super::sync::{ROSTER, sync_roster as sync, tenant, write};
use crate::support::{against, config, sebulk, start, wait_for_writes};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_others_may_write_into_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let shown = open.to_str().unwrap();
    let before = sandbox.counters();

    let refused = sync(&sandbox, &roster, &["--results-dir", shown])
        .await
        .expect_err("an open results directory");
    let said = refused.to_string();
    assert!(
        said.contains(shown)
            && said.contains("mode 777")
            && said.contains(&format!("chmod go-w {shown}")),
        "{said}"
    );
    // Results named with -o go there too, and their snapshot beside them.
    let results = open.join("sync.csv");
    let refused = sync(&sandbox, &roster, &["-o", results.to_str().unwrap()])
        .await
        .expect_err("results into an open directory");
    assert!(refused.to_string().contains("chmod go-w"), "{refused}");
    let refused = against(&sandbox, &["export", "users", "--output-dir", shown])
        .await
        .expect_err("an export into an open directory");
    assert!(refused.to_string().contains("chmod go-w"), "{refused}");
    assert_eq!(
        sandbox.counters().requests,
        before.requests,
        "no request sent"
    );
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        0,
        "nothing written"
    );

    // Sticky, as /tmp: nobody may replace another's file there. Then 0755.
    chmod(&open, 0o1777);
    let done = sync(&sandbox, &roster, &["--results-dir", shown]).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert!(sandbox.counters().writes > before.writes, "the sync wrote");
    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    chmod(&kept, 0o755);
    let done = sync(
        &sandbox,
        &roster,
        &["--results-dir", kept.to_str().unwrap()],
    )
    .await;
    assert_eq!(done.unwrap(), Completion::Clean);
    let mut names: Vec<String> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names[0] == "last.html" && names[1] == "last.json",
        "{names:?}"
    );
    assert!(
        names[2].starts_with("roster.sync."),
        "its results: {names:?}"
    );
}

/// `count` new hires, one a line.
fn hires(dir: &Path, name: &str, count: usize) -> String {
    let mut text = String::from("username,email\n");
    for i in 0..count {
        text.push_str(&format!("{name}{i:03},{name}{i:03}@example.com\n"));
    }
    write(dir, &format!("{name}.csv"), &text)
}

/// The binary against `sandbox` with its own state directory.
fn binary(sandbox: &SandboxHandle, state: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = sebulk(sandbox.base_url().as_str(), args);
    command
        .env("SEBULK_STATE_DIR", state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// Imports two new hires named `prefix`NN through the binary, results in
/// `out`, the tenants' locks in `state`.
async fn import_two(
    sandbox: &SandboxHandle,
    state: &Path,
    dir: &Path,
    (prefix, out): (&str, &str),
) -> std::process::Output {
    let file = hires(dir, prefix, 2);
    let out = dir.join(out);
    binary(
        sandbox,
        state,
        &["import", &file, "-o", out.to_str().unwrap()],
    )
    .output()
    .await
    .unwrap()
}

fn said(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writing_run_on_a_tenant_exits_1_naming_the_first_or_waits() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut slow = config();
    slow.seed = Seed::Empty;
    slow.faults.latency = Duration::from_millis(30);
    let sandbox = start(slow).await;
    let first_file = hires(dir.path(), "first", 100);
    let first_out = dir.path().join("first.results.csv");
    // 100 creates at 40 requests a second: the first holds the tenant for seconds.
    let args = ["import", &first_file, "-o", first_out.to_str().unwrap()];
    let first = binary(&sandbox, &state, &args).spawn().unwrap();
    let first_pid = first.id().unwrap();
    wait_for_writes(&sandbox, 2).await;

    // A second writing run: refused at once, naming the first; nothing written.
    let second_file = hires(dir.path(), "second", 3);
    let second_out = dir.path().join("second.results.csv");
    let second = ["import", &second_file, "-o", second_out.to_str().unwrap()];
    let output = binary(&sandbox, &state, &second).output().await.unwrap();
    let text = said(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("sebulk import (process {first_pid}, started 20")),
        "{text}"
    );
    assert!(text.contains("--wait"), "the hint: {text}");
    assert!(!second_out.exists(), "refused before its results");

    // Reading is never held up: a plan takes no lock.
    let output = binary(&sandbox, &state, &["plan", &second_file])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));

    // With --wait it runs once the first has ended.
    let mut waiting = second.to_vec();
    waiting.extend(["--wait", "60"]);
    let output = binary(&sandbox, &state, &waiting).output().await.unwrap();
    let text = said(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("waiting up to 60 s for sebulk import"),
        "{text}"
    );
    let first = first.wait_with_output().await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", said(&first));
    let created = crate::support::read_csv(&first_out);
    assert!(created.iter().all(|row| row["outcome"] == "created"));
    assert_eq!(sandbox.tenant().users().count(), 103, "both ran, whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_dead_run_is_taken_over_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut empty = config();
    empty.seed = Seed::Empty;
    let sandbox = start(empty).await;
    let output = import_two(&sandbox, &state, dir.path(), ("hire", "a.csv")).await;
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let locks: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(locks.len(), 1, "one lock file for the tenant: {locks:?}");
    assert_eq!(
        std::fs::read_to_string(&locks[0]).unwrap(),
        "",
        "a run that ended names nobody"
    );
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the state directory is private: {mode:o}");

    // A run killed without a word leaves its name behind: its process is gone.
    let dead = tokio::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id().unwrap();
    dead.wait_with_output().await.unwrap();
    let left = format!(
        r#"{{"command":"sync","pid":{dead_pid},"started_at":"2026-12-06T02:30:00Z","tenant":"{}"}}"#,
        sandbox.base_url()
    );
    std::fs::write(&locks[0], left).unwrap();
    let output = import_two(&sandbox, &state, dir.path(), ("later", "b.csv")).await;
    let text = said(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "sebulk sync (process {dead_pid}, started 2026-12-06T02:30:00Z)"
        )) && text.contains("gone: taken over"),
        "{text}"
    );
    assert_eq!(sandbox.tenant().users().count(), 4);
}
