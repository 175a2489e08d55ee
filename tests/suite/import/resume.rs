use std::process::Stdio;
use std::time::Duration;

use sebulk::sandbox::{SandboxHandle, Tenant};

use super::faults::batch;
use super::rows::write_input;
use crate::support::{against, config, read_csv, sebulk, start, wait_for_writes};

/// The tenant's users as comparable facts: username → (fields, group names, application names).
fn facts(tenant: &Tenant) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let mut facts: Vec<_> = tenant
        .users()
        .map(|u| {
            let (groups, apps) = crate::support::memberships_of(tenant, &u.id);
            (
                u.fields.username.clone().unwrap(),
                serde_json::to_string(&u.fields).unwrap(),
                groups,
                apps,
            )
        })
        .collect();
    facts.sort();
    facts
}

/// Runs the import again with `--resume` into the same results file; it must succeed.
async fn resume(sandbox: &sebulk::sandbox::SandboxHandle, results: &str, input: &str) {
    let args = [
        "import",
        "--auto-password",
        "--resume",
        results,
        "--results",
        results,
        input,
    ];
    let status = sebulk(sandbox.base_url().as_str(), &args)
        .status()
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Waits until the sandbox has taken `at_least` writes.

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_with_sigkill_resumes_to_the_same_tenant_as_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", &batch());
    let input_text = input.display().to_string();

    let clean = start(config()).await;
    let clean_results = dir.path().join("clean.csv").display().to_string();
    let status = sebulk(
        clean.base_url().as_str(),
        &[
            "import",
            "--auto-password",
            "--results",
            &clean_results,
            &input_text,
        ],
    )
    .status()
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));

    let mut slow = config();
    slow.faults.latency = Duration::from_millis(30);
    let crashed = start(slow).await;
    let results = dir.path().join("crashed.csv");
    let results_text = results.display().to_string();
    let mut child = sebulk(
        crashed.base_url().as_str(),
        &[
            "import",
            "--auto-password",
            "--results",
            &results_text,
            &input_text,
        ],
    )
    .spawn()
    .unwrap();
    wait_for_writes(&crashed, 30).await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let partial = read_csv(&results);
    assert!(
        partial.len() < 122,
        "killed mid-run ({} rows recorded)",
        partial.len()
    );
    assert!(
        crashed.tenant().users().count() < 8 + 120,
        "killed before every user was created"
    );

    let journal = dir.path().join("crashed.csv.journal");
    let journaled = read_csv(&journal);
    assert!(
        journaled.iter().any(|l| l["outcome"] == "created"),
        "users written before the kill are journaled at once"
    );

    resume(&crashed, &results_text, &input_text).await;
    let resumed = read_csv(&results);
    assert_eq!(resumed.len(), 122, "the resumed results cover every row");
    assert!(
        resumed
            .iter()
            .all(|l| ["created", "updated", "unchanged"].contains(&l["outcome"].as_str()))
    );
    assert_eq!(facts(&crashed.tenant()), facts(&clean.tenant()));
    // A user the killed run created is still `created`, not `unchanged`:
    // only rows whose create was on the wire at the kill can be unknown.
    let clean_lines = read_csv(std::path::Path::new(&clean_results));
    let differing = clean_lines
        .iter()
        .zip(&resumed)
        .filter(|(a, b)| a["outcome"] != b["outcome"])
        .count();
    assert!(differing <= 4, "{differing} rows lost their outcome");
    assert!(
        !journal.exists(),
        "the journal goes with a complete results file"
    );
}

/// Imports `input` into `sandbox` with results at `results`.
async fn import_into(sandbox: &sebulk::sandbox::SandboxHandle, results: &str, input: &str) {
    let done = against(
        sandbox,
        &["import", "--auto-password", "--results", results, input],
    )
    .await;
    assert!(done.is_ok(), "{done:?}");
}

/// A sandbox the batch of `rows` was imported into: (the directory, the
/// input's path, the sandbox, the first run's results).
async fn imported(
    rows: &[String],
) -> (
    tempfile::TempDir,
    String,
    sebulk::sandbox::SandboxHandle,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", rows);
    let input_text = input.display().to_string();
    let sandbox = start(config()).await;
    let first = dir.path().join("first.csv").display().to_string();
    import_into(&sandbox, &first, &input_text).await;
    (dir, input_text, sandbox, first)
}

/// Imports `input` into `sandbox` resuming from `resumed`, results at `results`.
async fn import_into_resuming(
    sandbox: &sebulk::sandbox::SandboxHandle,
    results: &str,
    resumed: &str,
    input: &str,
) {
    let args = [
        "import",
        "--auto-password",
        "--resume",
        resumed,
        "--results",
        results,
        input,
    ];
    let done = against(sandbox, &args).await;
    assert!(done.is_ok(), "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_confirms_recorded_successes_against_the_tenant() {
    let (dir, input_text, sandbox, first) = imported(&batch()).await;

    // Someone deletes two of the new users: their recorded `created` no longer holds.
    let client = crate::support::client(&sandbox);
    for name in ["hire005", "hire077"] {
        let id = sandbox.tenant().user_by_username(name).unwrap().id.clone();
        client.delete_user(&id).await.unwrap();
    }
    let writes_before = sandbox.counters().writes;
    let second = dir.path().join("second.csv").display().to_string();
    import_into_resuming(&sandbox, &second, &first, &input_text).await;
    super::faults::assert_batch_applied(&sandbox.tenant());
    let lines = read_csv(std::path::Path::new(&second));
    let first_lines = read_csv(std::path::Path::new(&first));
    let redone: Vec<&str> = lines
        .iter()
        .zip(&first_lines)
        .filter(|(now, before)| now["run_id"] != before["run_id"])
        .map(|(now, _)| now["username"].as_str())
        .collect();
    assert_eq!(
        redone,
        ["hire005", "hire077"],
        "only rows that no longer hold are run again"
    );
    for name in ["hire005", "hire077"] {
        let line = lines.iter().find(|l| l["username"] == name).unwrap();
        assert_eq!(line["outcome"], "created");
        assert_eq!(
            line["user_id"],
            sandbox.tenant().user_by_username(name).unwrap().id
        );
    }
    // Two creates and their memberships (two groups and an application each, coalesced).
    assert!(sandbox.counters().writes - writes_before <= 2 * 4);

    // The summary tells this run's work from the work it carried over.
    let third = dir.path().join("third.csv").display().to_string();
    let summary = dir.path().join("third.json");
    let args = [
        "import",
        "--auto-password",
        "--resume",
        &second,
        "--results",
        &third,
        "--summary-json",
        summary.to_str().unwrap(),
        &input_text,
    ];
    assert!(against(&sandbox, &args).await.is_ok());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["carried_over"], summary["rows"], "{summary}");
    assert_eq!(summary["write_calls"], 0);
}

/// A results file edited by hand (an unchanged row made a create) is not
/// resumed from: its line would come out sealed afresh in the new file,
/// and undo would then delete a user who was there before the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_a_results_file_edited_by_hand_is_refused_and_sends_nothing() {
    let (dir, input_text, sandbox, _) = imported(&batch()).await;
    let again = dir.path().join("again.csv");
    import_into(&sandbox, &again.display().to_string(), &input_text).await;
    let text = std::fs::read_to_string(&again).unwrap();
    assert!(text.contains(",unchanged,"), "{text}");
    let edited = dir.path().join("edited.csv");
    std::fs::write(&edited, text.replacen(",unchanged,", ",created,", 1)).unwrap();

    let writes = sandbox.counters().writes;
    let resumed = dir.path().join("resumed.csv");
    let args = [
        "import",
        "--auto-password",
        "--resume",
        &edited.display().to_string(),
        "--results",
        &resumed.display().to_string(),
        &input_text,
    ];
    let refused = against(&sandbox, &args).await.expect_err("an edited file");
    assert!(
        refused.to_string().contains("nothing was sent"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing sent");
    assert!(!resumed.exists(), "no results file laundered from it");
    // The file as its run left it still resumes.
    import_into_resuming(
        &sandbox,
        &resumed.display().to_string(),
        &again.display().to_string(),
        &input_text,
    )
    .await;
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_another_tenants_results_copies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", &batch());
    let input_text = input.display().to_string();
    let first_tenant = start(config()).await;
    let first = dir.path().join("first.csv").display().to_string();
    import_into(&first_tenant, &first, &input_text).await;
    assert!(
        read_csv(std::path::Path::new(&first))
            .iter()
            .all(|l| l["tenant"] == first_tenant.base_url().as_str())
    );

    let other = start(config()).await;
    let second = dir.path().join("second.csv").display().to_string();
    import_into_resuming(&other, &second, &first, &input_text).await;
    super::faults::assert_batch_applied(&other.tenant());
    let lines = read_csv(std::path::Path::new(&second));
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert_eq!(
        created, 120,
        "every hire is really created in the other tenant"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["tenant"] == other.base_url().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_of_a_small_file_looks_each_recorded_user_up() {
    let dir = tempfile::tempdir().unwrap();
    let rows = batch()[..3].to_vec();
    let input = write_input(dir.path(), "three.csv", &rows);
    let input_text = input.display().to_string();
    let sandbox = start(config()).await;
    let first = dir.path().join("first.csv").display().to_string();
    import_into(&sandbox, &first, &input_text).await;
    let old_id = sandbox
        .tenant()
        .user_by_username("hire001")
        .unwrap()
        .id
        .clone();
    crate::support::client(&sandbox)
        .delete_user(&old_id)
        .await
        .unwrap();

    let second = dir.path().join("second.csv").display().to_string();
    import_into_resuming(&sandbox, &second, &first, &input_text).await;
    let lines = read_csv(std::path::Path::new(&second));
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(
        outcomes, ["created"; 3],
        "confirmed rows keep the outcome the first run had"
    );
    let recreated = &lines[1];
    assert_ne!(
        recreated["user_id"], old_id,
        "the deleted user was created again"
    );
    assert_eq!(sandbox.tenant().users().count(), 8 + 3);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_starting_rows_and_records_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", &batch());
    let mut slow = config();
    slow.faults.latency = Duration::from_millis(40);
    let sandbox = start(slow).await;
    let results = dir.path().join("results.csv");
    let (results_text, input_text) = (results.display().to_string(), input.display().to_string());
    let child = sebulk(
        sandbox.base_url().as_str(),
        &["import", "--results", &results_text, &input_text],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_writes(&sandbox, 20).await;
    crate::support::send_signal(&child, "-TERM").await;
    crate::support::ended_interrupted(child).await;
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 122, "every row has an outcome");
    let not_attempted = lines
        .iter()
        .filter(|l| l["outcome"] == "not_attempted")
        .count();
    assert!(not_attempted > 0);
    assert!(
        lines.iter().all(|l| l["outcome"] != "failed"),
        "requests in flight were finished, not cut"
    );
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert_eq!(sandbox.tenant().users().count(), 8 + created);
}

/// The batch imported until a second interrupt aborts it at once:
/// the sandbox, the results file and the input.
async fn aborted_import(dir: &std::path::Path) -> (SandboxHandle, String, String) {
    let input = write_input(dir, "batch.csv", &batch());
    let mut slow = config();
    slow.faults.latency = Duration::from_millis(300);
    let sandbox = start(slow).await;
    let results = dir.join("results.csv");
    let (results_text, input_text) = (results.display().to_string(), input.display().to_string());
    let child = sebulk(
        sandbox.base_url().as_str(),
        &[
            "import",
            "--auto-password",
            "--results",
            &results_text,
            &input_text,
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_writes(&sandbox, 10).await;
    crate::support::send_signal(&child, "-TERM").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    crate::support::send_signal(&child, "-TERM").await;
    let started = std::time::Instant::now();
    crate::support::ended_interrupted(child).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the second interrupt does not wait for the run"
    );
    (sandbox, results_text, input_text)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_aborts_at_once_and_resume_settles_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, results_text, input_text) = aborted_import(dir.path()).await;
    let results = std::path::PathBuf::from(&results_text);
    let lines = read_csv(&results);
    assert_eq!(
        lines.len(),
        122,
        "every row has an outcome even after an abort"
    );
    assert!(lines.iter().any(|l| l["outcome"] == "not_attempted"));
    // A row that wrote before the abort failed part-way: not "not attempted".
    assert!(
        lines
            .iter()
            .filter(|l| l["outcome"] == "failed")
            .all(|l| !l["error"].starts_with("not attempted")),
        "{lines:?}"
    );

    resume(&sandbox, &results_text, &input_text).await;
    super::faults::assert_batch_applied(&sandbox.tenant());
    // Users created before the abort are still reported as created; only
    // creates cut on the wire (at most one per connection) are unknown.
    let lines = read_csv(&results);
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert!(created >= 116, "only {created} of 120 hires say created");
}

/// Undo of an aborted import, not resumed: one line per row, a row cut
/// on the wire named once (as uncertain), never also as "recorded failed".
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_import_is_undone_with_one_line_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, results, _) = aborted_import(dir.path()).await;
    let undone = dir.path().join("undo.csv");
    let u = undone.display().to_string();
    let args = ["undo", "--max-affected", "100%", "-o", &u, &results];
    let _ = against(&sandbox, &args).await;
    let lines = read_csv(&undone);
    // Undo numbers its own rows: a row of the import is its user.
    let mut users: Vec<&str> = lines.iter().map(|l| l["username"].as_str()).collect();
    assert_eq!(users.len(), 122, "{lines:?}");
    users.sort_unstable();
    users.dedup();
    assert_eq!(users.len(), 122, "a row named twice: {lines:?}");
}
