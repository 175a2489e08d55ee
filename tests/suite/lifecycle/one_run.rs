//! Where a writing run may keep its records: a results or snapshot
//! directory others may write into (without the sticky bit) is refused
//! before any request.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sebulk::Completion;
use sebulk::sandbox::SandboxHandle;

use super::sync::{ROSTER, tenant, write};
use crate::support::against;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A sync of the shared roster as of 2026-12-03 with `extra` arguments.
async fn sync(
    sandbox: &SandboxHandle,
    roster: &str,
    extra: &[&str],
) -> Result<Completion, sebulk::CommandError> {
    let mut args = vec![
        "sync",
        roster,
        "--as-of",
        "2026-12-03",
        "--max-affected",
        "5",
    ];
    args.extend_from_slice(extra);
    against(sandbox, &args).await
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
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1, "its results");
}
