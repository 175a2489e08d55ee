//! The rough edges a newcomer met in the first week, each as they met it.

use std::path::Path;

use sebulk::Completion;

use crate::support::{against, read_csv, start_empty};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_needs_an_email_only_for_a_user_it_creates() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let first = write(dir.path(), "first.csv", "username,email,department\nana,ana@example.com,Sales\n");
    let out = dir.path().join("first.results.csv");
    let args = ["import", &first, "-o", out.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    // A change feed of usernames and departments: Ana exists, Ben does not.
    let feed = write(dir.path(), "feed.csv", "username,department\nana,Ops\nben,Ops\n");
    let out = dir.path().join("feed.results.csv");
    let args = ["import", &feed, "-o", out.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::WithProblems);
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "updated");
    assert_eq!(lines[1]["outcome"], "failed");
    assert!(lines[1]["error"].contains("a new user needs email"), "{:?}", lines[1]);
    let tenant = sandbox.tenant();
    let ana = tenant.user_by_username("ana").unwrap().public();
    assert_eq!(ana.fields.department.as_deref(), Some("Ops"));
    assert!(tenant.user_by_username("ben").is_err());
    drop(tenant);
    // --mode create still wants every row's email offline.
    let args = ["validate", &feed, "--mode", "create"];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::WithProblems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_runs_results_repeat_the_files_own_columns_and_mask_its_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let file = write(
        dir.path(),
        "hr.csv",
        "Login,Mail,Start Date,Office,Pwd\nana,ana@example.com,2026-12-01,Leeds,Sup3r-Secret-99!\n",
    );
    let mapping = write(
        dir.path(),
        "hr.toml",
        "[options]\nauto = false\n\n[fields]\nusername = \"Login\"\nemail = \"Mail\"\npassword = \"Pwd\"\n",
    );
    let out = dir.path().join("hr.results.csv");
    let args = ["import", &file, "--mapping", &mapping, "-o", out.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("Sup3r-Secret"), "{text}");
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(",Login,Mail,Start Date,Office,Pwd"),
        "the file's own columns, once: {header}"
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "created");
    assert_eq!(lines[0]["username"], "ana");
    assert_eq!(lines[0]["Office"], "Leeds");
    assert_eq!(lines[0]["Start Date"], "2026-12-01");
    assert_eq!(lines[0]["Pwd"], "********");
}
