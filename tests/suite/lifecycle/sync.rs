//! `sync ROSTER`: joiners on their start dates (created ahead, disabled,
//! enabled when they start; pending beyond the window), movers, leavers
//! by absence and by end date, rehires, the users it does not own left
//! alone, one guard, a same-day re-run that sends nothing, and undo.

use std::collections::BTreeMap;
use std::path::Path;

use sebulk::Completion;
use sebulk::model::User;
use sebulk::sandbox::SandboxHandle;

use crate::support::{against, read_csv, start_empty};

pub(super) fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The tenant: five people HR knows, an admin and a service account.
pub(super) const TENANT: &str = "\
username,email,firstName,lastName,employeeNumber,department,isEnabled,userType
ana,ana@example.com,Ana,Ant,1001,Sales,true,user
bob,bob@example.com,Bob,Bee,1002,Sales,true,user
cara,cara@example.com,Cara,Cat,1003,Ops,true,user
dan,dan@example.com,Dan,Dog,1004,Ops,true,user
eve,eve@example.com,Eve,Eel,1005,Ops,false,user
root,root@example.com,Root,Admin,1006,IT,true,admin
svc-backup,svc@example.com,Svc,Backup,,IT,true,user
";

/// HR's roster as of 2026-12-03: Ana moved to Ops, Bob is gone, Cara's
/// last day has passed, Dan leaves later, Eve is back, and three joiners.
pub(super) const ROSTER: &str = "\
username,email,firstName,lastName,employeeNumber,department,Start Date,Termination Date
ana,ana@example.com,Ana,Ant,1001,Ops,2020-01-06,
cara,cara@example.com,Cara,Cat,1003,Ops,2019-03-01,2026-12-01
dan,dan@example.com,Dan,Dog,1004,Ops,2018-05-01,2026-12-20
eve,eve@example.com,Eve,Eel,1005,Ops,2021-02-01,
fay,fay@example.com,Fay,Fox,2001,Sales,2026-11-20,
gus,gus@example.com,Gus,Gnu,2002,Sales,2026-12-08,
hal,hal@example.com,Hal,Hen,2003,Sales,2027-01-15,
";

pub(super) async fn tenant(dir: &Path) -> SandboxHandle {
    seeded(dir, start_empty().await).await
}

/// `sandbox` (started empty) with the [`TENANT`] users in it.
pub(super) async fn seeded(dir: &Path, sandbox: SandboxHandle) -> SandboxHandle {
    let file = write(dir, "tenant.csv", TENANT);
    let results = dir.join("tenant.results.csv");
    // The tenant's admin is named: a privileged user is never made unasked.
    let args = [
        "import",
        "--allow-privileged",
        "root",
        &file,
        "-o",
        results.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    sandbox
}

pub(super) fn users(sandbox: &SandboxHandle) -> BTreeMap<String, User> {
    sandbox
        .tenant()
        .users()
        .map(|u| u.public())
        .map(|u| (u.fields.username.clone().unwrap_or_default(), u))
        .collect()
}

pub(super) fn enabled(users: &BTreeMap<String, User>, name: &str) -> Option<bool> {
    users[name].fields.is_enabled
}

/// A sync of `roster` as of 2026-12-03 allowing 5 affected, with `extra`
/// arguments.
pub(super) async fn sync_roster(
    sandbox: &SandboxHandle,
    roster: &str,
    extra: &[&str],
) -> Result<Completion, sebulk::CommandError> {
    let mut args = vec!["sync", roster];
    args.extend(["--as-of", "2026-12-03", "--max-affected", "5"]);
    args.extend_from_slice(extra);
    against(sandbox, &args).await
}

/// Syncs `roster` as of `as_of`, allowing `max_affected`, results in
/// `out`, with `extra` arguments.
pub(super) async fn sync(
    sandbox: &SandboxHandle,
    (roster, as_of, max_affected): (&str, &str, &str),
    out: &Path,
    extra: &[&str],
) -> Result<Completion, sebulk::CommandError> {
    let mut args = vec![
        "sync",
        roster,
        "--as-of",
        as_of,
        "--max-affected",
        max_affected,
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    against(sandbox, &args).await
}

pub(super) fn outcomes(path: &Path) -> BTreeMap<String, String> {
    read_csv(path)
        .into_iter()
        .map(|l| (l["username"].clone(), l["outcome"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_does_joiners_movers_leavers_and_rehires_on_their_dates() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let results = dir.path().join("sync.csv");
    let sync = |as_of: &'static str, out: &Path| {
        [
            "sync".to_string(),
            roster.clone(),
            "--as-of".into(),
            as_of.into(),
            "--max-affected".into(),
            "5".into(),
            "-o".into(),
            out.to_str().unwrap().into(),
            "--force".into(),
        ]
    };
    let refs = |args: &[String; 9]| -> Vec<String> { args.to_vec() };
    let run = |args: Vec<String>| {
        let sandbox = &sandbox;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            against(sandbox, &args).await
        }
    };

    // A dry run sends nothing and says what would happen.
    let plan = dir.path().join("plan.csv");
    let mut dry = refs(&sync("2026-12-03", &plan)).to_vec();
    dry.push("--dry-run".into());
    let writes = sandbox.counters().writes;
    assert_eq!(run(dry).await.unwrap(), Completion::Clean);
    assert_eq!(
        sandbox.counters().writes,
        writes,
        "a dry run writes nothing"
    );
    assert_eq!(outcomes(&plan)["gus"], "created");

    assert_eq!(
        run(refs(&sync("2026-12-03", &results))).await.unwrap(),
        Completion::Clean
    );
    let seen = outcomes(&results);
    let expected: BTreeMap<String, String> = [
        ("ana", "updated"),
        ("bob", "disabled"),
        ("cara", "disabled"),
        ("dan", "unchanged"),
        ("eve", "rehired"),
        ("fay", "created"),
        ("gus", "created"),
        ("hal", "pending"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, expected);
    let after = users(&sandbox);
    assert_eq!(after["ana"].fields.department.as_deref(), Some("Ops"));
    assert_eq!(enabled(&after, "bob"), Some(false), "absent: a leaver");
    assert_eq!(
        enabled(&after, "cara"),
        Some(false),
        "her last day has passed"
    );
    assert_eq!(
        enabled(&after, "dan"),
        Some(true),
        "a later end date is still current"
    );
    assert_eq!(
        enabled(&after, "eve"),
        Some(true),
        "rehired, not created again"
    );
    assert_eq!(enabled(&after, "fay"), Some(true), "started: enabled");
    assert_eq!(
        enabled(&after, "gus"),
        Some(false),
        "created ahead, disabled"
    );
    assert!(!after.contains_key("hal"), "beyond the window: pending");
    assert_eq!(
        enabled(&after, "root"),
        Some(true),
        "an admin is not the sync's"
    );
    assert_eq!(
        enabled(&after, "svc-backup"),
        Some(true),
        "no employee number: not the sync's"
    );
    assert_eq!(
        after
            .values()
            .filter(|u| u.fields.username.as_deref() == Some("eve"))
            .count(),
        1
    );
    assert!(
        crate::support::file_in(dir.path(), ".snapshot-").is_some(),
        "the leavers were saved first"
    );

    // The same day again: nothing to send.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv");
    assert_eq!(
        run(refs(&sync("2026-12-03", &again))).await.unwrap(),
        Completion::Clean
    );
    assert_eq!(
        sandbox.counters().writes,
        writes,
        "a same-day re-run writes nothing"
    );
    assert_eq!(outcomes(&again)["gus"], "unchanged");

    // Undo gives the tenant back as it was.
    let undone = dir.path().join("undo.csv");
    let args = [
        "undo",
        results.to_str().unwrap(),
        "-o",
        undone.to_str().unwrap(),
    ];
    let undo_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    assert_eq!(run(undo_args).await.unwrap(), Completion::Clean);
    let back = users(&sandbox);
    assert_eq!(back["ana"].fields.department.as_deref(), Some("Sales"));
    assert_eq!(enabled(&back, "bob"), Some(true));
    assert_eq!(enabled(&back, "cara"), Some(true));
    assert_eq!(enabled(&back, "eve"), Some(false));
    assert!(!back.contains_key("fay") && !back.contains_key("gus"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiners_created_ahead_are_enabled_when_they_start() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    for (as_of, gus, hal) in [
        ("2026-12-03", Some(false), None),
        ("2026-12-08", Some(true), None),
        ("2027-01-09", Some(true), Some(false)),
        ("2027-01-15", Some(true), Some(true)),
    ] {
        let out = dir.path().join(format!("sync-{as_of}.csv"));
        assert_eq!(
            sync(&sandbox, (&roster, as_of, "5"), &out, &[])
                .await
                .unwrap(),
            Completion::Clean,
            "{as_of}"
        );
        let now = users(&sandbox);
        assert_eq!(enabled(&now, "gus"), gus, "gus as of {as_of}");
        assert_eq!(
            now.get("hal").and_then(|u| u.fields.is_enabled),
            hal,
            "hal as of {as_of}"
        );
        if as_of == "2026-12-08" {
            assert_eq!(
                outcomes(&out)["gus"],
                "updated",
                "enabled on his start date, not a rehire"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_roster_is_refused_before_any_change() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(
        dir.path(),
        "roster.csv",
        &ROSTER.lines().take(2).collect::<Vec<_>>().join("\n"),
    );
    let writes = sandbox.counters().writes;
    let args = ["sync", &roster, "--as-of", "2026-12-03", "--dry-run"];
    let refused = against(&sandbox, &args).await.expect_err("refused");
    assert!(
        refused.to_string().contains("the roster looks truncated"),
        "{refused}"
    );
    let args = ["sync", &roster, "--as-of", "2026-12-03"];
    let refused = against(&sandbox, &args).await.expect_err("refused");
    assert!(refused.to_string().contains("--max-affected"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes, "nothing was changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_john_smith_gets_a_free_name_and_one_person_keeps_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    crate::support::seed_tenant(
        &sandbox,
        dir.path(),
        "username,email,firstName,lastName,employeeNumber\n\
         john.smith,john.smith@example.com,John,Smith,3001\n\
         john.smith2,jsmith@example.com,Jon,Smith,3009\n\
         ana,ana@example.com,Ana,Ant,1001\n",
    )
    .await;
    // Two more John Smiths join; Ana is listed under a new number (HR
    // re-keyed her): no second account is made, and her own is kept (the
    // roster still names her, by email) until someone settles the key.
    let roster = write(
        dir.path(),
        "roster.csv",
        "username,email,firstName,lastName,employeeNumber,startDate\n\
         john.smith,john.smith@example.com,John,Smith,3001,2020-01-01\n\
         john.smith2,jsmith@example.com,Jon,Smith,3009,2020-01-01\n\
         john.smith,john.smith.b@example.com,John,Smith,3002,2026-12-01\n\
         john.smith,john.smith.c@example.com,John,Smith,3003,2026-12-01\n\
         ana.ant,ana@example.com,Ana,Ant,3004,2026-12-01\n",
    );
    let failing = dir.path().join("fail.csv");
    let fail = ["--on-collision", "fail", "--dry-run"];
    assert_eq!(
        sync(&sandbox, (&roster, "2026-12-03", "1"), &failing, &fail)
            .await
            .unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&failing);
    assert_eq!(lines[2]["outcome"], "invalid", "{:?}", lines[2]);
    assert!(lines[2]["error"].contains("--on-collision fail"));

    let out = dir.path().join("sync.csv");
    assert_eq!(
        sync(&sandbox, (&roster, "2026-12-03", "1"), &out, &[])
            .await
            .unwrap(),
        Completion::WithProblems,
        "a conflict is a problem to look at"
    );
    let lines = read_csv(&out);
    // (The roster's own username column follows the results' columns.)
    let seen: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["employeeNumber"].as_str(), l["outcome"].as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("3001", "unchanged"),
            ("3009", "unchanged"),
            ("3002", "created"),
            ("3003", "created"),
            ("3004", "conflict"),
        ],
        "Ana's account (1001) is not a leaver: the roster names her by email"
    );
    assert_eq!(users(&sandbox)["ana"].fields.is_enabled, Some(true));
    assert!(
        lines[2]["error"].contains("created as 'john.smith3'"),
        "{:?}",
        lines[2]
    );
    assert!(
        lines[3]["error"].contains("created as 'john.smith4'"),
        "{:?}",
        lines[3]
    );
    let now = users(&sandbox);
    assert_eq!(
        now["john.smith3"].fields.employee_number.as_deref(),
        Some("3002")
    );
    assert_eq!(
        now["john.smith4"].fields.employee_number.as_deref(),
        Some("3003")
    );
    assert!(!now.contains_key("ana.ant"), "one person, one account");

    // Matched by employee number from now on: nothing to do the next day.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv");
    sync(&sandbox, (&roster, "2026-12-04", "1"), &again, &[])
        .await
        .unwrap();
    assert_eq!(sandbox.counters().writes, writes);
    assert_eq!(outcomes(&again)["john.smith"], "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_narrows_whom_the_sync_owns() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let out = dir.path().join("sync.csv");
    let scope = ["--scope", r#"column = "department", not_in = ["Ops"]"#];
    assert_eq!(
        sync(&sandbox, (&roster, "2026-12-03", "5"), &out, &scope)
            .await
            .unwrap(),
        Completion::Clean
    );
    let seen = outcomes(&out);
    assert_eq!(seen["bob"], "disabled", "Sales, absent: a leaver");
    assert_eq!(
        seen["cara"], "protected",
        "Ops is outside the scope: {seen:?}"
    );
    assert_eq!(seen["eve"], "protected");
    let now = users(&sandbox);
    assert_eq!(enabled(&now, "bob"), Some(false));
    assert_eq!(enabled(&now, "cara"), Some(true), "never touched");
    assert_eq!(enabled(&now, "eve"), Some(false), "never touched");

    let args = ["sync", &roster, "--scope", "column = nonsense"];
    let refused = against(&sandbox, &args).await.expect_err("a bad filter");
    assert!(refused.to_string().contains("--scope"), "{refused}");
}

/// HR's keys as a messy export spells them: a zero-width space after
/// Ana's number, Cara's in full-width digits, a no-break space inside
/// Dan's (a different number, though his email is his), Bob's as it is.
const LOOKALIKE_ROSTER: &str = "\
username,email,firstName,lastName,employeeNumber,department
ana,ana@example.com,Ana,Ant,1001\u{200B},Sales
bob,bob@example.com,Bob,Bee,1002,Sales
cara,cara@example.com,Cara,Cat,\u{FF11}\u{FF10}\u{FF10}\u{FF13},Ops
dan,dan@example.com,Dan,Dog,10\u{A0}04,Ops
eve,eve@example.com,Eve,Eel,1005,Ops
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_only_look_alike_never_make_a_leaver_nor_reach_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", LOOKALIKE_ROSTER);
    let out = dir.path().join("sync.csv");
    let summary = dir.path().join("summary.json");
    let extra = ["--summary-json", summary.to_str().unwrap()];
    let done = sync(&sandbox, (&roster, "2026-12-03", "10"), &out, &extra).await;
    assert!(done.is_ok(), "{done:?}");
    let outcomes = outcomes(&out);
    // The same people: nobody is let go, nothing is rewritten.
    assert_eq!(outcomes["ana"], "unchanged");
    assert_eq!(outcomes["cara"], "unchanged");
    assert_eq!(outcomes["bob"], "unchanged");
    // Dan's row names another number: no second account for him, and he
    // is not absent either, since his email is on the roster.
    assert_eq!(outcomes["dan"], "conflict");
    assert_eq!(outcomes.len(), 5, "no leaver rows: {outcomes:?}");
    let users = users(&sandbox);
    for name in ["ana", "bob", "cara", "dan"] {
        assert_eq!(enabled(&users, name), Some(true), "{name}");
    }
    assert_eq!(users["ana"].fields.employee_number.as_deref(), Some("1001"));
    assert_eq!(
        users["cara"].fields.employee_number.as_deref(),
        Some("1003")
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["named_otherwise"], 1, "{summary}");
    assert_eq!(summary["named_otherwise_users"][0], "dan", "{summary}");
    assert_eq!(summary["leavers_by_absence"], 0, "{summary}");
    // The missing-users report of an import keeps Dan out the same way.
    let missing = dir.path().join("missing.csv");
    let args = [
        "import",
        &roster,
        "--match-by",
        "employeeNumber",
        "--dry-run",
        "--report-missing",
        missing.to_str().unwrap(),
    ];
    against(&sandbox, &args).await.unwrap();
    let named: Vec<String> = read_csv(&missing)
        .into_iter()
        .map(|l| l["username"].clone())
        .collect();
    assert!(!named.contains(&"dan".to_string()), "{named:?}");
}

/// A sync killed (SIGKILL) in the middle is run again: it is declarative,
/// so the rows the killed run finished are unchanged, the rest are done,
/// nobody is created twice, and the next run sends nothing. The killed
/// run's results and journal stay beside the new ones, for undo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_midway_is_finished_by_running_it_again() {
    use crate::support::{config, sebulk, start, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.seed = sebulk::sandbox::Seed::Empty;
    slow.faults.latency = std::time::Duration::from_millis(30);
    let sandbox = start(slow).await;
    let people = |department: &str| {
        (1..=60).fold(
            "username,email,firstName,lastName,employeeNumber,department\n".to_string(),
            |mut all, n| {
                all.push_str(&format!(
                    "p{n:02},p{n:02}@example.com,P,L{n},N{n:02},{department}\n"
                ));
                all
            },
        )
    };
    let tenant = write(dir.path(), "tenant.csv", &people("Sales"));
    let seeded = dir.path().join("tenant.results.csv");
    let args = ["import", &tenant, "-o", seeded.to_str().unwrap()];
    against(&sandbox, &args).await.unwrap();
    let before = sandbox.tenant().users().count();
    let mut roster = people("Ops");
    for n in 1..=10 {
        roster.push_str(&format!("j{n:02},j{n:02}@example.com,J,K{n},J{n:02},Ops\n"));
    }
    let roster = write(dir.path(), "roster.csv", &roster);
    let killed = dir.path().join("killed.csv");
    let writes = sandbox.counters().writes;
    let args = [
        "sync",
        &roster,
        "--max-affected",
        "100",
        "-o",
        killed.to_str().unwrap(),
    ];
    let mut child = sebulk(sandbox.base_url().as_str(), &args).spawn().unwrap();
    wait_for_writes(&sandbox, writes + 15).await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    assert!(
        sandbox.counters().writes < writes + 70,
        "killed before the end"
    );

    // (The people have no dates: any as-of day does.)
    let again = dir.path().join("again.csv");
    let run = (roster.as_str(), "2026-12-03", "100");
    assert_eq!(
        sync(&sandbox, run, &again, &[]).await.unwrap(),
        Completion::Clean
    );
    let outcomes: Vec<String> = read_csv(&again)
        .into_iter()
        .map(|l| l["outcome"].clone())
        .collect();
    assert_eq!(outcomes.len(), 70);
    assert!(
        outcomes.iter().any(|o| o == "unchanged"),
        "the killed run's rows stand"
    );
    let users = users(&sandbox);
    assert_eq!(users.len(), before + 10, "every joiner once");
    assert!(
        users
            .values()
            .all(|u| u.fields.department.as_deref() == Some("Ops")),
        "every mover moved"
    );
    assert!(killed.exists(), "the killed run's results stay, for undo");

    let writes = sandbox.counters().writes;
    let third = dir.path().join("third.csv");
    assert_eq!(
        sync(&sandbox, run, &third, &[]).await.unwrap(),
        Completion::Clean
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing left to do");
}
