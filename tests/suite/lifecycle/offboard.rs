//! `offboard` and `restore` end to end against the in-process sandbox.

use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::model::{Credentials, Factor};
use sebulk::sandbox::SandboxHandle;

use crate::support::{against, client, config, read_csv, start};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `offboard` with `args` and the leavers file; (completion, results lines).
async fn offboard(
    sandbox: &SandboxHandle,
    dir: &Path,
    args: &[&str],
) -> (
    Result<Completion, sebulk::CommandError>,
    Vec<std::collections::BTreeMap<String, String>>,
) {
    let results = dir.join("leavers.offboard.csv");
    let _ = std::fs::remove_file(&results);
    let results_text = results.display().to_string();
    let mut argv = vec!["offboard", "-o", &results_text];
    argv.extend_from_slice(args);
    let done = against(sandbox, &argv).await;
    let lines = if results.exists() {
        read_csv(&results)
    } else {
        Vec::new()
    };
    (done, lines)
}

fn groups(sandbox: &SandboxHandle, username: &str) -> usize {
    let tenant = sandbox.tenant();
    let user = tenant.user_by_username(username).unwrap();
    tenant.groups_of(&user.id).len() + tenant.applications_of(&user.id).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_does_what_it_says_and_a_second_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\nPriya.Raman\nnobody.here\n",
    );
    let leavers = leavers.to_str().unwrap();
    let sandbox = start(config()).await;
    let api = client(&sandbox);
    let priya = crate::support::user_named(&sandbox, "priya.raman");
    let factor = Factor {
        kind: "sms".into(),
        ..Factor::default()
    };
    api.set_credentials(
        &priya.id,
        &Credentials {
            id: priya.id.clone(),
            first_factor: None,
            second_factor: Some(factor),
        },
    )
    .await
    .unwrap();
    assert!(groups(&sandbox, "jonas.becker") > 0);

    let actions = "disable,lock,revoke-access,remove-second-factor";
    let args = ["--action", actions, "--max-affected", "2", leavers];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(
        done.unwrap(),
        Completion::WithProblems,
        "nobody.here is reported"
    );
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["updated", "updated", "failed"]);
    assert!(lines[2]["error"].contains("no user with username 'nobody.here'"));
    assert!(
        lines[0]["changes"].contains("isEnabled: \"true\" → \"false\""),
        "{}",
        lines[0]["changes"]
    );
    assert!(lines[0]["changes"].contains("isLocked"));
    assert!(
        lines[1]["changes"].contains("secondFactor: \"sms\" → \"\""),
        "{}",
        lines[1]["changes"]
    );
    assert!(!lines[0]["groups_removed"].is_empty());
    let tenant = sandbox.tenant();
    for name in ["jonas.becker", "priya.raman"] {
        let user = tenant.user_by_username(name).unwrap();
        assert_eq!(user.fields.is_enabled, Some(false), "{name}");
        assert_eq!(user.fields.is_locked, Some(true), "{name}");
        assert_eq!(groups(&sandbox, name), 0, "{name} lost every membership");
        assert_eq!(
            user.fields.email,
            sandbox
                .tenant()
                .user_by_username(name)
                .unwrap()
                .fields
                .email
        );
    }
    let priya_now = tenant.user_by_username("priya.raman").unwrap();
    assert_eq!(
        priya_now.fields.department, priya.fields.department,
        "no field lost"
    );
    assert!(
        api.get_credentials(&priya.id)
            .await
            .unwrap()
            .second_factor
            .is_none()
    );

    // Again: nothing left to do, nothing sent.
    let writes = sandbox.counters().writes;
    let (_, lines) = offboard(&sandbox, dir.path(), &args).await;
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["unchanged", "unchanged", "failed"]);
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_rails_refuse_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let everyone =
        "username\namelia.hughes\njonas.becker\npriya.raman\nmateo.garcia\nyuki.tanaka\n";
    let leavers = write(dir.path(), "leavers.csv", everyone);
    let leavers = leavers.to_str().unwrap();
    // 5 of 8 users: over the default 5%, and over an explicit 4.
    for limit in [None, Some("4"), Some("50%")] {
        let mut args = vec!["--action", "delete", leavers];
        if let Some(limit) = limit {
            args.extend(["--max-affected", limit]);
        }
        let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
        let err = done.expect_err("refused");
        assert!(
            err.to_string()
                .contains("would make changes to 5 of the tenant's 8 users"),
            "{err}"
        );
        assert!(lines.is_empty(), "no results: nothing was done");
        assert_eq!(
            sandbox.counters().writes,
            0,
            "refused before any change ({limit:?})"
        );
    }
    assert_eq!(
        sebulk::exit_code(&sebulk::CommandError::Refused(String::new())),
        1
    );

    // Protected by pattern and by privilege: never touched, said so.
    let protect = write(dir.path(), "protect.txt", "# never\nMATEO.*\n");
    let with_admin = write(
        dir.path(),
        "two.csv",
        "username\nmateo.garcia\nolu.adeyemi\nyuki.tanaka\n",
    );
    let args = [
        "--action",
        "disable",
        "--protect",
        protect.to_str().unwrap(),
        "--max-affected",
        "1",
        with_admin.to_str().unwrap(),
    ];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["protected", "protected", "updated"]);
    assert!(lines[0]["error"].contains("mateo.*"));
    assert!(lines[1]["error"].contains("privileged"));
    let tenant = sandbox.tenant();
    assert_ne!(
        tenant
            .user_by_username("mateo.garcia")
            .unwrap()
            .fields
            .is_enabled,
        Some(false)
    );
    assert_ne!(
        tenant
            .user_by_username("olu.adeyemi")
            .unwrap()
            .fields
            .is_enabled,
        Some(false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_makes_leavers_of_the_missing_and_a_truncated_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // Everyone but yuki.tanaka (and the admin, who is protected anyway).
    let roster = "employeeNumber,Status\nE1001,Active\nE1002,Active\nE1003,Active\nE1004,Active\nE1005,Terminated\nE1007,Active\nC2001,Active\n";
    let roster = write(dir.path(), "roster.csv", roster);
    let mapping = write(
        dir.path(),
        "roster.toml",
        "[[filter]]\ncolumn = \"Status\"\nin = [\"Active\"]\n",
    );
    let args = [
        "--action",
        "disable",
        "--match-by",
        "employeeNumber",
        "--mapping",
        mapping.to_str().unwrap(),
        "--max-affected",
        "2",
        "--roster",
        roster.to_str().unwrap(),
    ];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    let who = crate::support::outcome_by_user(&lines);
    assert_eq!(
        who,
        [("olu.adeyemi", "protected"), ("yuki.tanaka", "updated")],
        "E1005 is terminated, E1006 absent"
    );
    assert_eq!(
        sandbox
            .tenant()
            .user_by_username("yuki.tanaka")
            .unwrap()
            .fields
            .is_enabled,
        Some(false)
    );

    // A roster cut short after two rows: refused, with the numbers.
    let short = write(dir.path(), "short.csv", "employeeNumber\nE1001\nE1002\n");
    let writes = sandbox.counters().writes;
    let args = [
        "--action",
        "disable",
        "--match-by",
        "employeeNumber",
        "--roster",
        short.to_str().unwrap(),
    ];
    let (done, _) = offboard(&sandbox, dir.path(), &args).await;
    let err = done.expect_err("truncated").to_string();
    assert!(
        err.contains("looks truncated: it has 2 rows against the tenant's 8 users"),
        "{err}"
    );
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_then_restore_gives_the_tenant_back() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // Jonas signs in with a soft token: a delete takes it too.
    let jonas = crate::support::user_named(&sandbox, "jonas.becker");
    let token = Credentials {
        id: jonas.id.clone(),
        first_factor: None,
        second_factor: Some(Factor {
            kind: "softtoken".into(),
            ..Factor::default()
        }),
    };
    client(&sandbox)
        .set_credentials(&jonas.id, &token)
        .await
        .unwrap();
    let before = dir.path().join("before.csv").display().to_string();
    let after = dir.path().join("after.csv").display().to_string();
    let include = ["export", "users", "--include", "groups,applications", "-o"];
    against(&sandbox, &[&include[..], &[before.as_str()]].concat())
        .await
        .unwrap();

    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\npriya.raman\nsofia.rossi\n",
    );
    let args = [
        "--action",
        "disable,delete",
        "--max-affected",
        "3",
        leavers.to_str().unwrap(),
    ];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert!(lines.iter().all(|l| l["outcome"] == "deleted"));
    assert_eq!(sandbox.tenant().users().count(), 5);
    let snapshot =
        crate::support::file_in(dir.path(), ".snapshot-").expect("a snapshot beside the results");
    let text = std::fs::read_to_string(&snapshot).unwrap();
    assert!(text.contains("jonas.becker") && text.contains("Berlin Office"));

    let restored = dir.path().join("restore.csv");
    let args = [
        "restore",
        snapshot.to_str().unwrap(),
        "-o",
        restored.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let lines = read_csv(&restored);
    assert!(lines.iter().all(|l| l["outcome"] == "created"), "{lines:?}");
    assert!(
        lines[0]["error"].contains("generated password"),
        "the admin is told to set one"
    );
    // The snapshot said which factor went; the admin is told to enrol it.
    let told = |name: &str| {
        lines
            .iter()
            .any(|l| l["username"] == name && l["error"].contains("second factor (softtoken)"))
    };
    assert!(told("jonas.becker") && !told("priya.raman"), "{lines:?}");

    against(&sandbox, &[&include[..], &[after.as_str()]].concat())
        .await
        .unwrap();
    let diff = dir.path().join("diff.csv").display().to_string();
    let args = ["diff", &before, &after, "--key", "username", "-o", &diff];
    crate::support::sebulk_in_process(&args).await.unwrap();
    let changes = read_csv(Path::new(&diff));
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|c| c["change"] == "mover" && c["field"] == "user_id"),
        "only ids differ: {changes:?}"
    );

    // Restoring again finds everything as it was: nothing sent.
    let writes = sandbox.counters().writes;
    let args = [
        "restore",
        snapshot.to_str().unwrap(),
        "-o",
        restored.to_str().unwrap(),
        "--force",
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(
        read_csv(&restored)
            .iter()
            .all(|l| l["outcome"] == "unchanged")
    );
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_missing_lists_the_leavers_of_a_joiners_run_for_offboard() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // The roster: one joiner, everyone else but yuki.tanaka (absent),
    // lars.nilsson (filtered out as a contractor) and the admin.
    let roster = "username,email,firstName,lastName,Type\n\
        amelia.hughes,amelia.hughes@northwind.example,Amelia,Hughes,Staff\n\
        Jonas.Becker,jonas.becker@northwind.example,Jonas,Becker,Staff\n\
        priya.raman,priya.raman@northwind.example,Priya,Raman,Staff\n\
        mateo.garcia,mateo.garcia@northwind.example,Mateo,García,Staff\n\
        sofia.rossi,sofia.rossi@northwind.example,Sofia,Rossi,Staff\n\
        lars.nilsson,lars.nilsson@northwind.example,Lars,Nilsson,Contractor\n\
        new.hire,new.hire@northwind.example,New,Hire,Staff\n";
    let roster = write(dir.path(), "roster.csv", roster);
    let mapping = write(
        dir.path(),
        "roster.toml",
        "[[filter]]\ncolumn = \"Type\"\nin = [\"Staff\"]\n",
    );
    let missing = dir.path().join("missing.csv");
    let [r, m, out] = [roster.clone(), missing.clone(), dir.path().join("plan.csv")]
        .map(|p| p.display().to_string());
    let mapping = mapping.display().to_string();
    let before = sandbox.counters();
    let plan = [
        "plan",
        "--mapping",
        &mapping,
        "--report-missing",
        &m,
        "-o",
        &out,
        &r,
    ];
    assert_eq!(against(&sandbox, &plan).await.unwrap(), Completion::Clean);
    assert_eq!(
        sandbox.counters().writes,
        before.writes,
        "a plan writes nothing"
    );
    let listed: Vec<String> = read_csv(&missing)
        .iter()
        .map(|row| row["username"].clone())
        .collect();
    assert_eq!(listed, ["lars.nilsson", "olu.adeyemi", "yuki.tanaka"]);
    let yuki = sandbox
        .tenant()
        .user_by_username("yuki.tanaka")
        .unwrap()
        .clone();
    let yuki_row = read_csv(&missing).into_iter().nth(2).unwrap();
    assert_eq!(yuki_row["user_id"], yuki.id);
    assert_eq!(yuki_row["employeeNumber"], "E1005");

    // The same report from a real import (never overwritten without --force).
    let results = dir.path().join("results.csv").display().to_string();
    let import = [
        "import",
        "--mapping",
        &mapping,
        "--report-missing",
        &m,
        "-o",
        &results,
        &r,
    ];
    let refused = against(&sandbox, &import).await.expect_err("exists");
    assert!(refused.to_string().contains("missing.csv"), "{refused}");
    assert!(sandbox.tenant().user_by_username("new.hire").is_err());
    let mut forced = import.to_vec();
    forced.insert(1, "--force");
    assert_eq!(against(&sandbox, &forced).await.unwrap(), Completion::Clean);
    assert!(sandbox.tenant().user_by_username("new.hire").is_ok());
    assert_eq!(read_csv(&missing).len(), 3);

    // The report is a leavers file: offboard takes it as it is (and
    // protects the administrator).
    let args = ["--action", "disable", "--dry-run", &m];
    let (done, _) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    let args = ["--action", "disable", "--max-affected", "2", &m];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    let who = crate::support::outcome_by_user(&lines);
    assert_eq!(
        who,
        [
            ("lars.nilsson", "updated"),
            ("olu.adeyemi", "protected"),
            ("yuki.tanaka", "updated")
        ]
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_offboarding_resumes_without_redoing_a_row() {
    use crate::support::{new_user, sebulk};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(40);
    let sandbox = start(slow).await;
    let api = client(&sandbox);
    let mut text = String::from("username\n");
    for i in 0..40 {
        let name = format!("leaver{i:02}");
        api.create_user(&new_user(&name)).await.unwrap();
        text.push_str(&format!("{name}\n"));
    }
    let leavers = write(dir.path(), "leavers.csv", &text);
    let results = dir.path().join("leavers.offboard.csv");
    let [l, r] = [&leavers, &results].map(|p| p.display().to_string());
    let base = sandbox.base_url().to_string();
    let args = ["offboard", "--action", "delete", "--max-affected", "40", &l];
    crate::support::interrupted_run(&sandbox, &args, 8).await;
    let first = read_csv(&results);
    assert_eq!(first.len(), 40, "every row recorded");
    let deleted = first.iter().filter(|l| l["outcome"] == "deleted").count();
    let cut = first
        .iter()
        .filter(|l| l["outcome"] == "not_attempted")
        .count();
    assert!(deleted >= 8 && cut > 0 && deleted + cut == 40, "{first:?}");
    assert_eq!(sandbox.tenant().users().count(), 8 + 40 - deleted);

    // Resumed into the same file: the deleted rows are carried over (they
    // would fail as "no such user" if run again), the rest are deleted.
    let writes = sandbox.counters().writes;
    let args = [
        "offboard",
        "--action",
        "delete",
        "--max-affected",
        "40",
        "--resume",
        &r,
        "-o",
        &r,
        &l,
    ];
    let status = sebulk(&base, &args).status().await.unwrap();
    assert!(status.success());
    let second = read_csv(&results);
    assert_eq!(second.len(), 40);
    assert!(
        second.iter().all(|l| l["outcome"] == "deleted"),
        "{second:?}"
    );
    // A carried row keeps the run that did it.
    let first_run = &first[0]["run_id"];
    let carried = second.iter().filter(|l| &l["run_id"] == first_run).count();
    assert_eq!(carried, deleted);
    assert_eq!(
        sandbox.counters().writes - writes,
        (40 - deleted) as u64,
        "one delete per remaining row, none for the carried ones"
    );
    assert_eq!(sandbox.tenant().users().count(), 8);
    let snapshots = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("snapshot"))
        .count();
    assert_eq!(snapshots, 2, "each run keeps its own snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_runs_file_is_never_taken_for_work_done() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let leavers = write(dir.path(), "leavers.csv", "username\nsofia.rossi\n");
    let plan = dir.path().join("plan.csv");
    let [l, p] = [&leavers, &plan].map(|p| p.display().to_string());
    let args = [
        "offboard",
        "--action",
        "lock",
        "--max-affected",
        "1",
        "--dry-run",
        "-o",
        &p,
        &l,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(read_csv(&plan)[0]["outcome"], "updated", "what it would do");
    let args = [
        "--action",
        "lock",
        "--max-affected",
        "1",
        "--resume",
        &p,
        &l,
    ];
    let (done, lines) = offboard(&sandbox, dir.path(), &args).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert!(!lines[0]["run_id"].starts_with("plan-"), "{lines:?}");
    let sofia = sandbox
        .tenant()
        .user_by_username("sofia.rossi")
        .unwrap()
        .clone();
    assert_eq!(
        sofia.fields.is_locked,
        Some(true),
        "the resumed run did the work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leavers_file_of_emails_is_told_to_match_on_email() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "leavers.csv", "email\nana@example.com\n");
    let file = file.to_str().unwrap();
    let args = ["offboard", file, "--action", "disable", "--dry-run"];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("no username column");
    assert!(
        refused.to_string().contains("--match-by email"),
        "{refused}"
    );
    let args = [
        "offboard",
        file,
        "--match-by",
        "email",
        "--action",
        "disable",
        "--dry-run",
    ];
    against(&sandbox, &args).await.expect("read by email");
}
