//! One person at a time: `restore SNAPSHOT --only USER…` and `undo
//! RESULTS --only USER…` act on those users alone (by username, email or
//! employee number), a name that picks nobody refuses the run, and each
//! restore's results get a new name, so a second one needs no `--force`.

use std::path::Path;

use sebulk::Completion;

use super::sync::{enabled, tenant, users, write};
use crate::support::{against, read_csv};

/// The files in `dir` whose names hold `part`.
fn files_with(dir: &Path, part: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(part))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_undo_give_back_one_person_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let leavers = write(dir.path(), "leavers.csv", "username\nana\nbob\ncara\n");
    let results = dir.path().join("leavers.offboard.csv");
    let args = [
        "offboard",
        "--action",
        "disable",
        "--max-affected",
        "5",
        &leavers,
        "-o",
        results.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let snapshot = crate::support::file_in(dir.path(), ".snapshot-").expect("a snapshot");
    let snapshot = snapshot.to_str().unwrap();

    // Bob by his username, then Cara by her employee number: two restores
    // of one snapshot, each its own results, no --force.
    for (only, back) in [("bob", "bob"), ("1003", "cara")] {
        let args = ["restore", snapshot, "--only", only];
        assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
        assert_eq!(enabled(&users(&sandbox), back), Some(true), "{back}");
    }
    let restores = files_with(dir.path(), ".restore.");
    assert_eq!(restores.len(), 2, "{restores:?}");
    let rows: Vec<String> = restores
        .iter()
        .flat_map(|p| read_csv(p))
        .map(|r| r["username"].clone())
        .collect();
    assert_eq!(rows.len(), 2, "one row each: {rows:?}");
    assert_eq!(
        enabled(&users(&sandbox), "ana"),
        Some(false),
        "ana stays out"
    );

    // A name that picks nobody refuses the run: nothing sent.
    let writes = sandbox.counters().writes;
    let args = ["restore", snapshot, "--only", "zed,ana"];
    let refused = against(&sandbox, &args).await.unwrap_err().to_string();
    assert!(refused.contains("--only zed"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(false));

    // Undo of the offboarding for Ana alone.
    let args = ["undo", results.to_str().unwrap(), "--only", "ANA"];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(true));

    // Undo of an import for Bob alone, named by his email.
    let moved = write(
        dir.path(),
        "moved.csv",
        "username,email,department\nana,ana@example.com,Legal\nbob,bob@example.com,Legal\n",
    );
    let imported = dir.path().join("moved.results.csv");
    let args = ["import", &moved, "-o", imported.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let args = [
        "undo",
        imported.to_str().unwrap(),
        "--only",
        "bob@example.com",
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let now = users(&sandbox);
    assert_eq!(now["bob"].fields.department.as_deref(), Some("Sales"));
    assert_eq!(now["ana"].fields.department.as_deref(), Some("Legal"));
    let undone = files_with(dir.path(), "moved.results.undo.");
    assert_eq!(read_csv(&undone[0]).len(), 1, "only Bob's row");
}
