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
