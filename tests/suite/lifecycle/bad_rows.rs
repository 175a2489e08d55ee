//! A nightly sync that one bad row does not stop: invalid rows recorded
//! `invalid`, their people neither changed nor leavers, the rest of the
//! night done (exit 3), and only a roster that looks broken refused;
//! joiners of a roster without usernames named by the documented default
//! while users matched by their employee number keep theirs; and outputs
//! checked before the tenant is read.

use std::path::Path;

use sebulk::Completion;

use super::sync::{TENANT, enabled, outcomes, sync, tenant, users, write};
use crate::support::{against, read_csv, start_empty};

/// The summary a run wrote, parsed.
fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// HR's roster with three bad rows: Bob's email is not one, Cara's
/// termination date has no full year, Dan's email is broken and his
/// termination date has passed. Ana moved, Eve is absent, Fay joins.
const BAD_ROWS: &str = "\
username,email,firstName,lastName,employeeNumber,department,Termination Date
ana,ana@example.com,Ana,Ant,1001,Ops,
bob,bob@,Bob,Bee,1002,Sales,
cara,cara@example.com,Cara,Cat,1003,Ops,1/12/26
dan,dan@@example.com,Dan,Dog,1004,Ops,2026-12-01
fay,fay@example.com,Fay,Fox,2001,Sales,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_stops_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(dir.path(), "roster.csv", BAD_ROWS);
    let out = dir.path().join("tonight.csv");
    let json = dir.path().join("last.json");
    let extra = ["--summary-json", json.to_str().unwrap()];
    let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, &extra).await;
    assert_eq!(done.unwrap(), Completion::WithProblems, "exit 3");

    let seen = outcomes(&out);
    for name in ["bob", "cara", "dan"] {
        assert_eq!(seen[name], "invalid", "{seen:?}");
    }
    assert_eq!(seen["ana"], "updated", "{seen:?}");
    assert_eq!(seen["fay"], "created", "{seen:?}");
    assert_eq!(
        seen["eve"], "unchanged",
        "eve was disabled already: {seen:?}"
    );
    let now = users(&sandbox);
    for name in ["bob", "cara", "dan"] {
        assert_eq!(enabled(&now, name), Some(true), "{name} is no leaver");
    }
    assert_eq!(now["ana"].fields.department.as_deref(), Some("Ops"));
    assert_eq!(now["bob"].fields.email.as_deref(), Some("bob@example.com"));

    let said = summary(&json);
    assert_eq!(said["invalid_rows"], 3, "{said}");
    assert_eq!(said["invalid_limit"], 4, "{said}");
    assert!(said["invalid_rule"].as_str().unwrap().contains("10%"));
    assert_eq!(said["leavers_by_end_date"], 0, "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_that_looks_broken_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // Five of six rows without a readable email: a mapping gone wrong.
    let mut text = String::from("username,email,firstName,lastName,employeeNumber,department\n");
    for (name, number) in [
        ("ana", 1001),
        ("bob", 1002),
        ("cara", 1003),
        ("dan", 1004),
        ("eve", 1005),
    ] {
        text.push_str(&format!("{name},{name}-at-example,X,Y,{number},Ops\n"));
    }
    text.push_str("fay,fay@example.com,Fay,Fox,2001,Sales\n");
    let file = write(dir.path(), "roster.csv", &text);
    let writes = sandbox.counters().writes;
    let out = dir.path().join("tonight.csv");
    let json = dir.path().join("last.json");
    let extra = ["--summary-json", json.to_str().unwrap()];
    let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, &extra).await;
    assert_eq!(done.unwrap(), Completion::WithProblems);
    assert_eq!(sandbox.counters().writes, writes, "nothing was sent");
    assert!(!out.exists());
    let said = summary(&json);
    assert_eq!(said["status"], "refused", "{said}");
    let error = said["error"].as_str().unwrap();
    assert!(
        error.contains("looks broken") && error.contains("5 of 6"),
        "{error}"
    );

    // --skip-invalid goes on past any number: the valid row runs.
    let out = dir.path().join("anyway.csv");
    let done = sync(
        &sandbox,
        (&file, "2026-12-03", "5"),
        &out,
        &["--skip-invalid"],
    )
    .await;
    assert_eq!(done.unwrap(), Completion::WithProblems);
    assert_eq!(outcomes(&out)["fay"], "created");
}

/// The tenant as an HR system keyed on employee numbers names it:
/// usernames unlike the emails.
const NUMBERED: &str = "\
username,email,firstName,lastName,employeeNumber,department
u1001,ana.ant@example.com,Ana,Ant,1001,Sales
u1002,bob.bee@example.com,Bob,Bee,1002,Sales
";

/// The roster: no username column; Ana moved, Fay joins.
const NO_USERNAMES: &str = "\
email,firstName,lastName,employeeNumber,department
ana.ant@example.com,Ana,Ant,1001,Ops
bob.bee@example.com,Bob,Bee,1002,Sales
fay.fox@example.com,Fay,Fox,2001,Sales
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_get_a_username_and_matched_users_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let seed = write(dir.path(), "tenant.csv", NUMBERED);
    let seeded = dir.path().join("tenant.results.csv");
    let args = ["import", &seed, "-o", seeded.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let file = write(dir.path(), "roster.csv", NO_USERNAMES);

    // The plan shows the joiner's username, and why.
    let plan = dir.path().join("tonight.plan.csv");
    let done = sync(&sandbox, (&file, "2026-12-03", "5"), &plan, &["--dry-run"]).await;
    let planned = read_csv(&plan);
    assert_eq!(done.unwrap(), Completion::Clean, "{planned:?}");
    let fay = planned
        .iter()
        .find(|r| r["username"] == "fay.fox")
        .expect("fay.fox planned");
    assert!(fay["error"].contains("local part"), "{fay:?}");
    assert!(
        planned.iter().any(|r| r["username"] == "u1001"),
        "{planned:?}"
    );

    // With --username-from local-part, matched users are not renamed.
    for (name, extra) in [
        ("plain.csv", &[][..]),
        ("derived.csv", &["--username-from", "local-part"][..]),
    ] {
        let out = dir.path().join(name);
        let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, extra).await;
        assert_eq!(done.unwrap(), Completion::Clean, "{name}");
        let now = users(&sandbox);
        let names: Vec<&str> = now.keys().map(String::as_str).collect();
        assert_eq!(names, ["fay.fox", "u1001", "u1002"], "{name}");
        assert_eq!(now["u1001"].fields.department.as_deref(), Some("Ops"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_are_checked_before_the_tenant_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let file = write(dir.path(), "roster.csv", TENANT);
    for command in ["plan", "sync"] {
        let existing = dir.path().join(format!("{command}.csv"));
        std::fs::write(&existing, "kept\n").unwrap();
        let requests = sandbox.counters().requests;
        let args = [command, file.as_str(), "-o", existing.to_str().unwrap()];
        let refused = against(&sandbox, &args).await.unwrap_err().to_string();
        assert!(refused.contains("exists; pass --force"), "{refused}");
        assert_eq!(
            sandbox.counters().requests,
            requests,
            "{command}: no request"
        );
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "kept\n");
    }
    let existing = dir.path().join("users.csv");
    std::fs::write(&existing, "kept\n").unwrap();
    let requests = sandbox.counters().requests;
    let args = ["export", "users", "-o", existing.to_str().unwrap()];
    assert!(against(&sandbox, &args).await.is_err());
    assert_eq!(sandbox.counters().requests, requests, "export: no request");
}
