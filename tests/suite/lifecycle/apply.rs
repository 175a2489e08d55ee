//! `apply PLAN`: a reviewed plan carried out exactly (nothing recomputed
//! from the input), refused whole when its users drifted (or the drifted
//! rows skipped), refused when edited by hand, written nothing when
//! already applied, and undone like the run it stands for.

use std::collections::BTreeMap;
use std::path::Path;

use sebulk::Completion;

use super::sync::{ROSTER, enabled, outcomes, tenant, users, write};
use crate::support::{against, read_csv, start_empty};

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sync --dry-run -o plan` as of 2026-12-03.
async fn sync_plan(sandbox: &sebulk::sandbox::SandboxHandle, roster: &str, plan: &Path) {
    let args = ["--dry-run", "-o", path(plan)];
    let planned = super::sync::sync_roster(sandbox, roster, &args).await;
    assert_eq!(planned.unwrap(), Completion::Clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewed_sync_plan_is_applied_exactly_once_and_undone() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let plan = dir.path().join("plan.csv");
    sync_plan(&sandbox, &roster, &plan).await;
    // The roster changes after the review: the plan, not the file, is applied.
    write(
        dir.path(),
        "roster.csv",
        &ROSTER.replace("Ana,Ant,1001,Ops", "Ana,Ant,1001,Finance"),
    );

    // The guard holds for an apply as for the run it stands for.
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &["apply", "--as-of", "2026-12-03", path(&plan)])
        .await
        .expect_err("guarded");
    assert!(refused.to_string().contains("--max-affected"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
    // A plan is not a record of work done.
    let refused = against(&sandbox, &["undo", path(&plan)])
        .await
        .expect_err("a plan");
    assert!(refused.to_string().contains("is a plan"), "{refused}");

    let applied = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--max-affected",
        "5",
        "-o",
        path(&applied),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
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
    assert_eq!(outcomes(&applied), expected);
    assert_eq!(outcomes(&plan), expected, "what was reviewed");
    let after = users(&sandbox);
    assert_eq!(
        after["ana"].fields.department.as_deref(),
        Some("Ops"),
        "the plan's change, not the edited roster's"
    );
    assert_eq!(enabled(&after, "bob"), Some(false));
    assert_eq!(enabled(&after, "eve"), Some(true));
    assert_eq!(
        enabled(&after, "gus"),
        Some(false),
        "created ahead, disabled"
    );
    assert_eq!(enabled(&after, "root"), Some(true));
    assert!(!after.contains_key("hal"));
    assert!(crate::support::file_in(dir.path(), "applied.snapshot-").is_some());

    // Applied once: every writing row has drifted, so nothing is written.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "-o",
        path(&again),
    ];
    let refused = against(&sandbox, &args).await.expect_err("all drift");
    assert!(refused.to_string().contains("drifted"), "{refused}");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--skip-drifted",
        "-o",
        path(&again),
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(
        sandbox.counters().writes,
        writes,
        "a second apply writes nothing"
    );
    assert_eq!(outcomes(&again)["ana"], "skipped");

    // The apply's results undo like the sync's.
    let undone = dir.path().join("undo.csv");
    let args = ["undo", path(&applied), "-o", path(&undone)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let back = users(&sandbox);
    assert_eq!(back["ana"].fields.department.as_deref(), Some("Sales"));
    assert_eq!(enabled(&back, "bob"), Some(true));
    assert_eq!(enabled(&back, "eve"), Some(false));
    assert!(!back.contains_key("fay") && !back.contains_key("gus"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_plan_is_refused_whole_or_applied_without_the_drifted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let plan = dir.path().join("plan.csv");
    sync_plan(&sandbox, &roster, &plan).await;
    // Someone changes Ana and takes the name a joiner would get.
    let change = write(
        dir.path(),
        "change.csv",
        "username,email,department\nana,ana@example.com,Legal\ngus,gus.other@example.com,\n",
    );
    let changed = dir.path().join("change.results.csv");
    let args = ["import", &change, "-o", path(&changed)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    let writes = sandbox.counters().writes;
    let out = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--max-affected",
        "5",
        "-o",
        path(&out),
    ];
    let refused = against(&sandbox, &args).await.expect_err("drift");
    let text = refused.to_string();
    assert!(text.contains("2 of the plan's rows drifted"), "{text}");
    assert!(text.contains("(ana)") && text.contains("(gus)"), "{text}");
    assert!(text.contains("--skip-drifted"), "{text}");
    assert_eq!(sandbox.counters().writes, writes, "nothing was applied");

    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--max-affected",
        "5",
        "--skip-drifted",
        "-o",
        path(&out),
    ];
    against(&sandbox, &args).await.unwrap();
    let seen = outcomes(&out);
    assert_eq!(seen["ana"], "skipped");
    assert_eq!(seen["gus"], "skipped");
    assert_eq!(seen["bob"], "disabled");
    assert_eq!(seen["fay"], "created");
    let now = users(&sandbox);
    assert_eq!(
        now["ana"].fields.department.as_deref(),
        Some("Legal"),
        "a drifted row is left as someone else made it"
    );
    assert_eq!(
        now["gus"].fields.email.as_deref(),
        Some("gus.other@example.com")
    );
    let lines = read_csv(&out);
    let ana = lines.iter().find(|l| l["username"] == "ana").unwrap();
    assert!(ana["error"].contains("changed since the plan"), "{ana:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_or_foreign_plan_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let plan = dir.path().join("plan.csv");
    sync_plan(&sandbox, &roster, &plan).await;
    let text = std::fs::read_to_string(&plan).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.last().unwrap().starts_with("plan-seal,"), "sealed");

    let writes = sandbox.counters().writes;
    for (name, edited) in [
        ("changed", text.replacen("Ops", "Finance", 1)),
        ("cut", lines[..lines.len() - 1].join("\n")),
        ("dropped", {
            let mut kept = lines.clone();
            kept.remove(2);
            kept.join("\n")
        }),
    ] {
        let file = write(dir.path(), &format!("{name}.csv"), &edited);
        let args = ["apply", &file, "--max-affected", "5"];
        let refused = against(&sandbox, &args).await.expect_err(name);
        assert!(refused.to_string().contains("plan"), "{name}: {refused}");
    }
    let not_a_plan = write(dir.path(), "results.csv", "row,username\n1,ana\n");
    let refused = against(&sandbox, &["apply", &not_a_plan])
        .await
        .expect_err("no plan");
    assert!(refused.to_string().contains("not a plan"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);

    // Made for this tenant only.
    let other = start_empty().await;
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--max-affected",
        "5",
    ];
    let refused = against(&other, &args).await.expect_err("another tenant");
    assert!(refused.to_string().contains("made for"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_plan_is_applied_with_its_memberships_and_never_holds_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let first = write(
        dir.path(),
        "first.csv",
        "username,email,department,groups\nana,ana@example.com,Sales,Staff\n",
    );
    let out = dir.path().join("first.results.csv");
    let args = [
        "import",
        &first,
        "--create-missing-groups",
        "-o",
        path(&out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email,department,groups\n\
         ana,ana@example.com,Ops,Staff;Ops\n\
         ben,ben@example.com,Ops,Ops\n",
    );
    let setup = write(
        dir.path(),
        "ops.csv",
        "username,email,groups\nzed,zed@example.com,Ops\n",
    );
    let setup_out = dir.path().join("ops.results.csv");
    let args = [
        "import",
        &setup,
        "--create-missing-groups",
        "-o",
        path(&setup_out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    let plan = dir.path().join("plan.csv");
    let args = ["plan", &hires, "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let writes = sandbox.counters().writes;
    assert!(!std::fs::read_to_string(&plan).unwrap().contains("Secret"));

    let applied = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "-o",
        path(&applied),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(sandbox.counters().writes > writes);
    let seen = outcomes(&applied);
    assert_eq!(seen["ana"], "updated");
    assert_eq!(seen["ben"], "created");
    let lines = read_csv(&applied);
    assert_eq!(lines[0]["groups_added"], "Ops");
    assert_eq!(lines[1]["groups_added"], "Ops");
    let tenant = sandbox.tenant();
    let ops = tenant
        .groups()
        .find(|g| g.name == "Ops")
        .cloned()
        .expect("the Ops group");
    let members = tenant.members_of_group(&ops.id).unwrap();
    assert_eq!(members.len(), 3, "zed, ana and ben");
    drop(tenant);

    // Undo takes the apply back.
    let undone = dir.path().join("undo.csv");
    let args = [
        "undo",
        path(&applied),
        "--max-affected",
        "2",
        "-o",
        path(&undone),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(!users(&sandbox).contains_key("ben"));

    // A password from the file never goes into a plan, so such a plan
    // is not applied.
    let secret = write(
        dir.path(),
        "secret.csv",
        "username,email,password\ncyd,cyd@example.com,Secret-Pass-123!\n",
    );
    let plan = dir.path().join("secret.plan.csv");
    let args = ["plan", &secret, "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(
        !std::fs::read_to_string(&plan)
            .unwrap()
            .contains("Secret-Pass")
    );
    let refused = against(&sandbox, &["apply", "--as-of", "2026-12-03", path(&plan)])
        .await
        .expect_err("a password only the file held");
    assert!(
        refused.to_string().contains("passwords from the input"),
        "{refused}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_resumes_without_redoing_a_row() {
    use crate::support::{client, config, new_user, start};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(40);
    let sandbox = start(slow).await;
    let api = client(&sandbox);
    let mut text = String::from("username,department\n");
    for i in 0..40 {
        let name = format!("mover{i:02}");
        api.create_user(&new_user(&name)).await.unwrap();
        text.push_str(&format!("{name},Research\n"));
    }
    let movers = write(dir.path(), "movers.csv", &text);
    let plan = dir.path().join("plan.csv");
    let args = ["plan", &movers, "--mode", "update", "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    let results = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "-o",
        path(&results),
    ];
    crate::support::interrupted_run(&sandbox, &args, 8).await;
    let first = read_csv(&results);
    assert_eq!(first.len(), 40, "every row recorded");
    let updated = first.iter().filter(|l| l["outcome"] == "updated").count();
    assert!((8..40).contains(&updated), "{first:?}");

    // Run again as it was: the rows done have drifted, so it is refused.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "-o",
        path(&again),
    ];
    let refused = against(&sandbox, &args).await.expect_err("drifted");
    assert!(
        refused
            .to_string()
            .contains(&format!("{updated} of the plan's rows drifted"))
    );
    // Resumed: the rows done are carried, the rest applied, none twice.
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--resume",
        path(&results),
        "-o",
        path(&results),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let second = read_csv(&results);
    assert!(
        second.iter().all(|l| l["outcome"] == "updated"),
        "{second:?}"
    );
    assert_eq!(
        sandbox.counters().writes - writes,
        (40 - updated) as u64,
        "one update per remaining row"
    );
    let research = sandbox
        .tenant()
        .users()
        .filter(|u| u.public().fields.department.as_deref() == Some("Research"))
        .count();
    assert_eq!(research, 40);
}

/// A plan of joiners in a group, its apply SIGKILLed, resumed and killed
/// again, then resumed to the end: every joiner exists once and is in
/// its group. Rows only the journal knew were written are finished (their
/// memberships made), not skipped as drifted.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_twice_reaches_the_plans_end_state() {
    use crate::support::{client, config, sebulk, start, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.seed = sebulk::sandbox::Seed::Empty;
    slow.faults.latency = std::time::Duration::from_millis(30);
    let sandbox = start(slow).await;
    let api = client(&sandbox);
    let staff = api
        .create_group(&sebulk::model::GroupWrite {
            name: "Staff".into(),
            description: None,
            enforce_second_factor: None,
        })
        .await
        .unwrap()
        .id;
    let mut text = String::from("username,email,department,groups\n");
    for i in 0..60 {
        text.push_str(&format!("j{i:02},j{i:02}@example.com,Ops,Staff\n"));
    }
    let hires = write(dir.path(), "hires.csv", &text);
    let plan = dir.path().join("plan.csv");
    let args = ["plan", &hires, "--auto-password", "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let base = sandbox.base_url().to_string();
    let mut resume_from: Option<std::path::PathBuf> = None;
    for (attempt, writes) in [(1, 12u64), (2, 40)] {
        let out = dir.path().join(format!("applied{attempt}.csv"));
        let mut args = vec![
            "apply",
            "--as-of",
            "2026-12-03",
            path(&plan),
            "-o",
            path(&out),
        ];
        if let Some(earlier) = &resume_from {
            args.extend(["--resume", path(earlier)]);
        }
        let mut child = sebulk(&base, &args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for_writes(&sandbox, writes).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        resume_from = Some(out);
    }
    let last = dir.path().join("applied3.csv");
    let earlier = resume_from.unwrap();
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        path(&plan),
        "--resume",
        path(&earlier),
        "-o",
        path(&last),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let people: Vec<_> = sandbox.tenant().users().map(|u| u.public()).collect();
    assert_eq!(people.len(), 60, "each joiner once");
    let members = api.group_users(&staff).await.unwrap();
    assert_eq!(members.len(), 60, "each joiner in Staff");
    let lines = read_csv(&last);
    let finished = lines
        .iter()
        .filter(|l| l["error"].contains("finished now"))
        .count();
    eprintln!("rows finished after a kill: {finished}");
    assert!(
        lines.iter().all(|l| l["outcome"] == "created"),
        "{:?}",
        lines
            .iter()
            .filter(|l| l["outcome"] != "created")
            .collect::<Vec<_>>()
    );
}

/// A plan made against a kept sandbox is applied by the next process:
/// the sandbox keeps its key beside its state (private), and seals are
/// keyed to the tenant, not to the port it answered on.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_made_against_a_kept_sandbox_is_applied_by_the_next_run() {
    use std::os::unix::fs::PermissionsExt;
    // As an admin trying the sandbox runs it: no key given.
    async fn sebulk_in_process(args: &[&str]) -> Result<Completion, sebulk::CommandError> {
        let mut argv = vec!["sebulk", "--config", "/dev/null"];
        argv.extend_from_slice(args);
        let env = |name: &str| {
            (name == "SEBULK_STATE_DIR").then(|| crate::support::STATE_DIR.to_string())
        };
        sebulk::dispatch(argv, &env).await
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let movers = write(
        dir.path(),
        "movers.csv",
        "username,department\njonas.becker,Research\n",
    );
    let plan = dir.path().join("plan.csv");
    let applied = dir.path().join("applied.csv");
    let kept = ["--sandbox", "--sandbox-state", path(&state)];
    let make = [
        &kept[..],
        &["plan", &movers, "--mode", "update", "-o", path(&plan)],
    ]
    .concat();
    assert_eq!(sebulk_in_process(&make).await.unwrap(), Completion::Clean);
    let key = dir.path().join("state.json.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the kept key is private: {mode:o}");
    let apply = [
        &kept[..],
        &[
            "apply",
            "--as-of",
            "2026-12-03",
            path(&plan),
            "-o",
            path(&applied),
        ],
    ]
    .concat();
    assert_eq!(sebulk_in_process(&apply).await.unwrap(), Completion::Clean);
    assert_eq!(read_csv(&applied)[0]["outcome"], "updated");
}

/// A results file is taken at its word only where the tenant agrees: an
/// apply resumed from another run's results (applied, then undone, so
/// the tenant is as before) does the work again instead of claiming it
/// done and writing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_resumed_from_results_the_tenant_contradicts_does_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let first = dir.path().join("first.plan.csv");
    sync_plan(&sandbox, &roster, &first).await;
    let applied = dir.path().join("applied.csv");
    let apply = |plan: &Path, out: &Path, resume: Option<&Path>| {
        let mut args = vec![
            "apply".to_string(),
            "--as-of".into(),
            "2026-12-03".into(),
            path(plan).into(),
            "--max-affected".into(),
            "5".into(),
            "-o".into(),
            path(out).into(),
        ];
        if let Some(resume) = resume {
            args.extend(["--resume".to_string(), path(resume).into()]);
        }
        args
    };
    let args = apply(&first, &applied, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let undone = dir.path().join("undone.csv");
    let args = [
        "undo",
        "--max-affected",
        "100%",
        "-o",
        path(&undone),
        path(&applied),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&users(&sandbox), "bob"), Some(true), "given back");

    let second = dir.path().join("second.plan.csv");
    sync_plan(&sandbox, &roster, &second).await;
    let out = dir.path().join("second.csv");
    let args = apply(&second, &out, Some(&applied));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let after = users(&sandbox);
    assert_eq!(
        enabled(&after, "bob"),
        Some(false),
        "the leaver is gone again"
    );
    assert!(
        after.contains_key("fay") && after.contains_key("gus"),
        "joiners made"
    );
    assert_eq!(after["ana"].fields.department.as_deref(), Some("Ops"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_never_creates_a_user_the_protect_list_names() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email,department\nsvc-reports,svc-reports@example.com,IT\nben,ben@example.com,Ops\n",
    );
    let plan = dir.path().join("plan.csv");
    let args = ["plan", &hires, "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let protect = write(dir.path(), "protect.txt", "svc-*\n");
    let applied = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--protect",
        &protect,
        "-o",
        path(&applied),
        path(&plan),
    ];
    against(&sandbox, &args).await.unwrap();
    let lines = read_csv(&applied);
    assert_eq!(lines[0]["outcome"], "protected", "{lines:?}");
    assert!(sandbox.tenant().user_by_username("svc-reports").is_err());
    assert!(sandbox.tenant().user_by_username("ben").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_read_from_the_groups_side_is_not_drift_to_an_apply_reading_each_user() {
    use sebulk::model::GroupWrite;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let api = crate::support::client(&sandbox);
    // Everyone is in Staff, a group the roster never names; Night is new.
    let group = |name: &str| GroupWrite {
        name: name.into(),
        description: None,
        enforce_second_factor: None,
    };
    let staff = api.create_group(&group("Staff")).await.unwrap().id;
    api.create_group(&group("Night")).await.unwrap();
    for name in ["ana", "bob", "cara", "dan", "eve"] {
        let id = sandbox.tenant().user_by_username(name).unwrap().id.clone();
        api.assign_groups(&id, std::slice::from_ref(&staff))
            .await
            .unwrap();
    }
    let mut roster = String::new();
    // (The service account has no employee number: it is outside the
    // sync's scope and not on the roster.)
    let lines = super::sync::TENANT
        .lines()
        .filter(|l| !l.starts_with("svc-"));
    for (at, line) in lines.enumerate() {
        let groups = match at {
            0 => "groups",
            _ if line.starts_with("root,") => "",
            _ => "Night",
        };
        roster += &format!("{line},{groups}\n");
    }
    let roster = write(dir.path(), "roster.csv", &roster);
    let plan = dir.path().join("plan.csv");
    let args = ["--dry-run", "-o", path(&plan)];
    let planned = super::sync::sync_roster(&sandbox, &roster, &args).await;
    let lines = read_csv(&plan);
    assert!(planned.is_ok(), "{planned:?} {lines:?}");
    let applied = dir.path().join("applied.csv");
    let args = [
        "apply",
        "--as-of",
        "2026-12-03",
        "-o",
        path(&applied),
        path(&plan),
    ];
    let done = against(&sandbox, &args).await;
    let outcomes: Vec<(String, String, String)> = read_csv(&applied)
        .into_iter()
        .map(|l| {
            (
                l["username"].clone(),
                l["outcome"].clone(),
                l["error"].clone(),
            )
        })
        .collect();
    assert!(
        matches!(done, Ok(Completion::Clean)),
        "no drift: {done:?} {outcomes:?}"
    );
    let ana = sandbox.tenant().user_by_username("ana").unwrap().id.clone();
    let (groups, _) = crate::support::memberships_of(&sandbox.tenant(), &ana);
    assert!(groups.contains(&"Night".to_string()) && groups.contains(&"Staff".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_no_group_and_a_user_created_before_a_failed_group_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let api = crate::support::client(&sandbox);
    // A plan made with --create-missing-groups: apply refuses it whole.
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email,groups\nnew.a,new.a@example.com,Brand New\n",
    );
    let plan = dir.path().join("plan.csv");
    let args = ["plan", "--create-missing-groups", &hires, "-o", path(&plan)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &["apply", path(&plan)])
        .await
        .expect_err("new groups");
    assert!(
        refused.to_string().contains("creates no group"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing applied");

    // A group deleted after the review: the user is created, the group
    // fails, and undo of the record still deletes the user.
    let temp = sebulk::model::GroupWrite {
        name: "Temp".into(),
        description: None,
        enforce_second_factor: None,
    };
    let temp = api.create_group(&temp).await.unwrap().id;
    let staff = sebulk::model::GroupWrite {
        name: "Staff".into(),
        description: None,
        enforce_second_factor: None,
    };
    api.create_group(&staff).await.unwrap();
    // (Staff is joined by the run itself: undo knows it is the run's.)
    let hires = write(
        dir.path(),
        "hires2.csv",
        "username,email,groups\nnew.b,new.b@example.com,Temp;Staff\n",
    );
    let args = ["plan", &hires, "-o", path(&plan), "--force"];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    api.delete_group(&temp).await.unwrap();
    let applied = dir.path().join("applied.csv");
    let args = ["apply", "-o", path(&applied), path(&plan)];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    assert!(sandbox.tenant().user_by_username("new.b").is_ok());
    let lines = read_csv(&applied);
    assert!(lines[0]["groups_added"].contains("Staff"), "{lines:?}");
    let undone = dir.path().join("undone.csv");
    let args = ["undo", "-o", path(&undone), path(&applied)];
    let done = against(&sandbox, &args).await;
    assert!(
        sandbox.tenant().user_by_username("new.b").is_err(),
        "a user the run created is undone though its row failed after: {done:?} {:?}",
        read_csv(&undone)
    );
}
