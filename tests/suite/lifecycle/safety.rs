//! The lifecycle commands tried the way a careless admin, a messy HR file
//! or someone with write access to a file would: the wrong person is
//! never changed, no more is taken than the guard allows, and the way
//! back is never a way to damage the directory.

use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::sandbox::{ListShape, SandboxHandle};

use crate::support::{against, client, config, new_user, read_csv, start};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// The snapshot an offboarding wrote into `dir`.
fn snapshot_in(dir: &Path) -> PathBuf {
    crate::support::file_in(dir, ".snapshot-").expect("a snapshot beside the results")
}

/// Offboards the leavers `file_text` names with `action`, cleanly; the results.
async fn offboarded(sandbox: &SandboxHandle, dir: &Path, action: &str, file_text: &str) -> PathBuf {
    let leavers = write(dir, "leavers.csv", file_text);
    let results = dir.join("leavers.offboard.csv");
    let args = [
        "offboard",
        "--action",
        action,
        "-o",
        &text(&results),
        &text(&leavers),
    ];
    assert_eq!(against(sandbox, &args).await.unwrap(), Completion::Clean);
    results
}

fn enabled(sandbox: &SandboxHandle, username: &str) -> Option<bool> {
    sandbox
        .tenant()
        .user_by_username(username)
        .unwrap()
        .fields
        .is_enabled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_given_to_another_person_is_never_overwritten_by_restore_or_undo() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let results = offboarded(&sandbox, dir.path(), "delete", "username\njonas.becker\n").await;
    let snapshot = snapshot_in(dir.path());

    // The username goes to someone else: a new administrator.
    let mut newcomer = new_user("jonas.becker");
    newcomer.fields.email = Some("j.becker.admin@northwind.example".into());
    newcomer.fields.employee_number = Some("E9999".into());
    newcomer.fields.user_type = Some("admin".into());
    client(&sandbox).create_user(&newcomer).await.unwrap();
    let before = sandbox
        .tenant()
        .user_by_username("jonas.becker")
        .unwrap()
        .clone();
    let writes = sandbox.counters().writes;

    for command in ["restore", "undo"] {
        let out = dir.path().join(format!("{command}.csv"));
        let input = if command == "restore" {
            &snapshot
        } else {
            &results
        };
        let args = [command, "-o", &text(&out), &text(input)];
        assert_eq!(
            against(&sandbox, &args).await.unwrap(),
            Completion::WithProblems,
            "{command}: a conflict is a problem"
        );
        let lines = read_csv(&out);
        assert_eq!(lines[0]["outcome"], "skipped", "{command}: {lines:?}");
        assert!(
            lines[0]["error"].contains("now belongs to another person"),
            "{command}: {}",
            lines[0]["error"]
        );
        assert_eq!(sandbox.counters().writes, writes, "{command} wrote nothing");
        let after = sandbox
            .tenant()
            .user_by_username("jonas.becker")
            .unwrap()
            .clone();
        assert_eq!(
            after.fields, before.fields,
            "{command}: the newcomer is untouched"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_snapshot_is_refused_and_restore_gives_back_only_what_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    offboarded(
        &sandbox,
        dir.path(),
        "disable,revoke-access",
        "username\npriya.raman\n",
    )
    .await;
    assert_eq!(enabled(&sandbox, "priya.raman"), Some(false));
    let snapshot = snapshot_in(dir.path());
    let original = std::fs::read_to_string(&snapshot).unwrap();

    // An attacker's edit: admin rights and another email.
    let edited = original
        .replace("\"Finance\"", "\"IT Admins\"")
        .replace("priya.raman@northwind.example", "attacker@evil.example");
    std::fs::write(&snapshot, edited).unwrap();
    let writes = sandbox.counters().writes;
    let out = dir.path().join("restore.csv");
    let args = ["restore", "-o", &text(&out), &text(&snapshot)];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("an edited snapshot");
    assert!(
        refused
            .to_string()
            .contains("changed after its run wrote it"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes);

    // The snapshot as written: priya comes back, with her groups, and no
    // field the run did not take is written (her email changed since stays).
    std::fs::write(&snapshot, &original).unwrap();
    let api = client(&sandbox);
    let priya = crate::support::user_named(&sandbox, "priya.raman");
    let mut body = sebulk::model::UserWrite::from_user(&priya.public());
    body.fields.email = Some("priya.r@northwind.example".into());
    api.update_user(&priya.id, &body).await.unwrap();
    let args = ["restore", "-o", &text(&out), "--force", &text(&snapshot)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let now = sandbox
        .tenant()
        .user_by_username("priya.raman")
        .unwrap()
        .clone();
    assert_eq!(now.fields.is_enabled, Some(true));
    assert_eq!(
        now.fields.email.as_deref(),
        Some("priya.r@northwind.example")
    );
    let groups: Vec<String> = sandbox
        .tenant()
        .groups_of(&now.id)
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert!(groups.contains(&"Finance".to_string()), "{groups:?}");
    assert!(!groups.contains(&"IT Admins".to_string()), "{groups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_differ_invisibly_are_the_same_person() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // A tenant value with composed accents.
    let mut zoe = new_user("zoë.müller");
    zoe.fields.email = Some("zoe.mueller@northwind.example".into());
    client(&sandbox).create_user(&zoe).await.unwrap();
    // The roster, as a macOS export with pasted names would have it.
    let roster = "username\n\
        amelia.hughes\u{200B}\n\
        Jonas.Becker \n\
        priya.raman\u{00A0}\n\
        \u{2060}mateo.garcia\n\
        yuki.tanaka\n\
        olu.adeyemi\n\
        sofia.rossi\n\
        lars.nilsson\n\
        zoe\u{0308}.mu\u{0308}ller\n";
    let roster = write(dir.path(), "roster.csv", roster);
    let out = dir.path().join("roster.offboard.csv");
    let writes = sandbox.counters().writes;
    let args = [
        "offboard",
        "--action",
        "disable",
        "--roster",
        &text(&roster),
        "-o",
        &text(&out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes, "nobody is a leaver");
    assert!(read_csv(&out).is_empty());
    for username in [
        "amelia.hughes",
        "jonas.becker",
        "priya.raman",
        "mateo.garcia",
    ] {
        assert_eq!(enabled(&sandbox, username), Some(true), "{username}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_naming_someone_under_a_mistyped_key_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // Lars's username mistyped, his email right; Yuki's in full-width
    // letters, as an East Asian HR system exports it.
    let roster = "username,email\n\
        amelia.hughes,amelia.hughes@northwind.example\n\
        jonas.becker,jonas.becker@northwind.example\n\
        priya.raman,priya.raman@northwind.example\n\
        mateo.garcia,mateo.garcia@northwind.example\n\
        \u{FF59}\u{FF55}\u{FF4B}\u{FF49}.tanaka,yuki.tanaka@northwind.example\n\
        olu.adeyemi,olu.adeyemi@northwind.example\n\
        sofia.rossi,sofia.rossi@northwind.example\n\
        lars.nillson,lars.nilsson@northwind.example\n";
    let roster = write(dir.path(), "roster.csv", roster);
    let summary = dir.path().join("summary.json");
    let writes = sandbox.counters().writes;
    let args = [
        "offboard",
        "--action",
        "disable",
        "--max-unmatched",
        "1",
        "--roster",
        &text(&roster),
        "-o",
        &text(&dir.path().join("out.csv")),
        "--summary-json",
        &text(&summary),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes, "nobody is a leaver");
    for username in ["lars.nilsson", "yuki.tanaka"] {
        assert_eq!(enabled(&sandbox, username), Some(true), "{username}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["named_otherwise"], 1, "{summary}");
    assert_eq!(
        summary["named_otherwise_users"][0], "lars.nilsson",
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_whose_rows_match_nobody_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // Employee numbers exported with another prefix: nobody matches.
    let roster: String = (1..=8).fold("employeeNumber\n".to_string(), |mut all, n| {
        all.push_str(&format!("EMP-100{n}\n"));
        all
    });
    let roster = write(dir.path(), "roster.csv", &roster);
    let args = [
        "offboard",
        "--action",
        "disable",
        "--match-by",
        "employeeNumber",
        "--max-affected",
        "100%",
        "--roster",
        &text(&roster),
        "-o",
        &text(&dir.path().join("out.csv")),
    ];
    let refused = against(&sandbox, &args).await.expect_err("nobody matched");
    let refused = refused.to_string();
    assert!(
        refused.contains("8 roster rows match no tenant user")
            && refused.contains("--max-unmatched 8"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_files_as_people_write_them_and_privileged_users_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let api = client(&sandbox);
    let mut odd = new_user("svc.backup");
    odd.fields.user_type = Some("admin".into());
    api.create_user(&odd).await.unwrap();
    let protect = write(
        dir.path(),
        "protect.txt",
        "\u{FEFF}jonas.becker  # the CTO\n\n# finance\npriya.raman@northwind.example\nE1004\n",
    );
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\npriya.raman\nmateo.garcia\nyuki.tanaka\nsvc.backup\n",
    );
    let out = dir.path().join("out.csv");
    let args = [
        "offboard",
        "--action",
        "disable",
        "--protect",
        &text(&protect),
        "-o",
        &text(&out),
        &text(&leavers),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let outcomes: Vec<(String, String)> = read_csv(&out)
        .into_iter()
        .map(|l| (l["username"].clone(), l["outcome"].clone()))
        .collect();
    let outcome = |name: &str| {
        outcomes
            .iter()
            .find(|(u, _)| u == name)
            .map(|(_, o)| o.as_str())
            .unwrap_or("missing")
            .to_string()
    };
    for protected in ["jonas.becker", "priya.raman", "mateo.garcia", "svc.backup"] {
        assert_eq!(outcome(protected), "protected", "{protected}: {outcomes:?}");
        assert_eq!(enabled(&sandbox, protected), Some(true));
    }
    assert_eq!(outcome("yuki.tanaka"), "updated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_whose_keys_name_different_people_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username,email,employeeNumber\njonas.becker,priya.raman@northwind.example,E1003\n",
    );
    let out = dir.path().join("out.csv");
    let args = [
        "offboard",
        "--action",
        "delete",
        "-o",
        &text(&out),
        &text(&leavers),
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "failed");
    assert!(
        lines[0]["error"].contains("name different people"),
        "{lines:?}"
    );
    assert_eq!(sandbox.counters().writes, 0);

    let priya = sandbox
        .tenant()
        .user_by_username("priya.raman")
        .unwrap()
        .id
        .clone();
    let members = write(
        dir.path(),
        "members.csv",
        &format!("user_id,username,target,action\n{priya},jonas.becker,Sales,add\n"),
    );
    let args = [
        "memberships",
        "import",
        "-o",
        &text(&dir.path().join("members.out.csv")),
        &text(&members),
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&dir.path().join("members.out.csv"));
    assert_eq!(lines[0]["outcome"], "invalid");
    assert!(
        lines[0]["error"].contains("name different users"),
        "{lines:?}"
    );
    assert_eq!(sandbox.counters().writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_removals_pass_the_guard_and_never_touch_the_protected() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let everyone = [
        "amelia.hughes",
        "jonas.becker",
        "priya.raman",
        "mateo.garcia",
        "yuki.tanaka",
        "olu.adeyemi",
        "sofia.rossi",
    ];
    let rows: String =
        everyone
            .iter()
            .fold("username,target,action\n".to_string(), |mut all, u| {
                all.push_str(&format!("{u},All Staff,remove\n"));
                all
            });
    let file = write(dir.path(), "remove.csv", &rows);
    let out = dir.path().join("out.csv");
    let args = ["memberships", "import", "-o", &text(&out), &text(&file)];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("too many removals");
    assert!(
        refused.to_string().contains("refused before any change")
            && refused.to_string().contains("--max-affected 6"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, 0);

    // Two removals, one of them the administrator: only the other goes.
    let file = write(
        dir.path(),
        "two.csv",
        "username,target,action\nolu.adeyemi,IT Admins,remove\nsofia.rossi,All Staff,remove\n",
    );
    let args = [
        "memberships",
        "import",
        "-o",
        &text(&out),
        "--force",
        &text(&file),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let outcomes: Vec<String> = read_csv(&out)
        .into_iter()
        .map(|l| l["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["protected", "updated"]);
    let olu = sandbox
        .tenant()
        .user_by_username("olu.adeyemi")
        .unwrap()
        .id
        .clone();
    let groups: Vec<String> = sandbox
        .tenant()
        .groups_of(&olu)
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert!(groups.contains(&"IT Admins".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_person_twice_is_one_decision_whichever_lookup_runs() {
    for page_size in ["2", "50"] {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(config()).await;
        let leavers = write(
            dir.path(),
            "leavers.csv",
            "username\npriya.raman\nPRIYA.RAMAN\n",
        );
        let out = dir.path().join("out.csv");
        let args = [
            "--page-size",
            page_size,
            "offboard",
            "--action",
            "disable",
            "-o",
            &text(&out),
            &text(&leavers),
        ];
        let writes = sandbox.counters().writes;
        let done = against(&sandbox, &args).await.unwrap();
        let lines = read_csv(&out);
        assert_eq!(
            lines[0]["outcome"], "updated",
            "page size {page_size}: {lines:?}"
        );
        assert_eq!(
            lines[1]["outcome"], "unchanged",
            "page size {page_size}: {lines:?}"
        );
        assert!(
            lines[1]["error"].contains("same user as row 1"),
            "{lines:?}"
        );
        assert_eq!(done, Completion::Clean);
        assert_eq!(sandbox.counters().writes - writes, 1, "applied once");
        assert_eq!(enabled(&sandbox, "priya.raman"), Some(false));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_counts_a_capped_tenant_without_totals_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.variant.list_shape = ListShape::Array;
    config.faults.max_page_size = Some(3);
    let sandbox = start(config).await;
    // Everyone but yuki: one leaver of eight, not one of a three-user page.
    let roster = "username\namelia.hughes\njonas.becker\npriya.raman\nmateo.garcia\nolu.adeyemi\nsofia.rossi\nlars.nilsson\n";
    let roster = write(dir.path(), "roster.csv", roster);
    let summary = dir.path().join("summary.json");
    let args = [
        "offboard",
        "--action",
        "disable",
        "--roster",
        &text(&roster),
        "-o",
        &text(&dir.path().join("out.csv")),
        "--summary-json",
        &text(&summary),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&sandbox, "yuki.tanaka"), Some(false));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["tenant_users"], 8, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_tenant_keeps_its_handful_and_a_dry_run_ends_as_the_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let out = dir.path().join("out.csv");
    let run = |leavers: &'static str, extra: &'static [&'static str]| {
        let leavers = write(dir.path(), "leavers.csv", leavers);
        let out = text(&out);
        let sandbox = &sandbox;
        async move {
            let mut args = vec!["offboard", "--action", "disable", "-o", &out, "--force"];
            args.extend_from_slice(extra);
            let file = text(&leavers);
            args.push(&file);
            against(sandbox, &args).await
        }
    };
    // One leaver of eight users (12.5%): never refused.
    assert_eq!(
        run("username\nyuki.tanaka\n", &[]).await.unwrap(),
        Completion::Clean
    );
    // Yuki is already disabled: she is not counted again, so two is the change.
    let three = "username\nyuki.tanaka\njonas.becker\npriya.raman\n";
    let writes = sandbox.counters().writes;
    let planned = run(three, &["--dry-run"]).await.unwrap();
    assert_eq!(planned, Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes);
    // Four of eight would be over: the dry run says so, and fails like the run.
    let four = "username\njonas.becker\npriya.raman\nmateo.garcia\nsofia.rossi\n";
    let refused = run(four, &["--dry-run"])
        .await
        .expect_err("refused as the run");
    assert!(
        refused.to_string().contains("--max-affected 4"),
        "{refused}"
    );
    assert_eq!(read_csv(&out).len(), 4, "the plan is still written");
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_to_standard_output_still_writes_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let leavers = write(dir.path(), "leavers.csv", "username\nyuki.tanaka\n");
    let args = ["offboard", "--action", "delete", "-o", "-", &text(&leavers)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let snapshot = snapshot_in(dir.path());
    assert!(
        snapshot
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("leavers.snapshot-"),
        "{snapshot:?}"
    );
    let out = dir.path().join("restore.csv");
    let args = ["restore", "-o", &text(&out), &text(&snapshot)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(sandbox.tenant().user_by_username("yuki.tanaka").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_results_that_name_no_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email,firstName,lastName\nnew.one,new.one@northwind.example,New,One\n",
    );
    let results = dir.path().join("hires.results.csv");
    let args = [
        "import",
        "--auto-password",
        "--results",
        &text(&results),
        &text(&hires),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    // Blank the tenant column, as a hand edit or another tool would: the
    // line's seal no longer verifies.
    crate::support::edit_column(&results, "tenant", |_| String::new());
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &["undo", &text(&results)])
        .await
        .expect_err("edited");
    assert!(
        refused.to_string().contains("seal does not verify"),
        "{refused}"
    );
    // Blanked seals are no older file: refused even with --accept-old-seal.
    crate::support::edit_column(&results, "line_seal", |_| String::new());
    let args = ["undo", "--accept-old-seal", &text(&results)];
    let refused = against(&sandbox, &args).await.expect_err("blanked");
    assert!(refused.to_string().contains("seal is missing"), "{refused}");
    // Read as an unsealed (older) file, the row still names no tenant.
    crate::support::as_written_unsealed(&results);
    let args = ["undo", "--accept-old-seal", &text(&results)];
    let refused = against(&sandbox, &args).await.expect_err("no tenant");
    assert!(refused.to_string().contains("names no tenant"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
    assert!(sandbox.tenant().user_by_username("new.one").is_ok());
    // Resume refuses it too: a row of no known tenant is never taken as done.
    let again = dir.path().join("again.csv");
    let args = [
        "import",
        "--auto-password",
        "--resume",
        &text(&results),
        "--results",
        &text(&again),
        &text(&hires),
    ];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("resume refuses it");
    assert!(refused.to_string().contains("names no tenant"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_results_of_a_command_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let (results, _) = imported(&sandbox, dir.path()).await;
    // A newer sebulk's command, or a hand edit: the run's kind says `rename`.
    crate::support::edit_column(&results, "run_id", |id| {
        id.replacen("import-", "rename-", 1)
    });
    // (As an unsealed file would be read: a sealed one edited so fails its seal.)
    crate::support::as_written_unsealed(&results);
    assert!(
        read_csv(&results)
            .iter()
            .all(|l| l["run_id"].starts_with("rename-"))
    );
    let writes = sandbox.counters().writes;
    let url = sandbox.base_url().to_string();
    let args = ["undo", "--accept-old-seal", &text(&results)];
    let output = crate::support::sebulk(&url, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("'rename', a command this sebulk does not know"),
        "{said}"
    );
    assert!(said.contains("nothing is undone"), "{said}");
    // Never read as an import: nothing deleted, nothing sent.
    assert_eq!(sandbox.counters().writes, writes);
    assert!(sandbox.tenant().user_by_username("new.one").is_ok());
    assert!(sandbox.tenant().user_by_username("new.two").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_row_whose_email_belongs_to_someone_is_not_a_second_account() {
    // One row is looked up alone; three rows list the tenant: both ways.
    for extra in [
        "",
        "third.person,third.person@northwind.example,Third,Person\nfourth.person,fourth.person@northwind.example,Fourth,Person\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(config()).await;
        let hires = format!(
            "username,email,firstName,lastName\nPriya.R,Priya.Raman@northwind.example,Priya,Raman\n{extra}"
        );
        let hires = write(dir.path(), "hires.csv", &hires);
        let results = dir.path().join("hires.results.csv");
        let args = [
            "import",
            "--auto-password",
            "--results",
            &text(&results),
            &text(&hires),
        ];
        let users = sandbox.tenant().users().count();
        assert_eq!(
            against(&sandbox, &args).await.unwrap(),
            Completion::WithProblems
        );
        let lines = read_csv(&results);
        assert_ne!(lines[0]["outcome"], "created", "{lines:?}");
        assert!(
            lines[0]["error"].contains("one person, one account"),
            "{lines:?}"
        );
        let created = lines.iter().filter(|l| l["outcome"] == "created").count();
        assert_eq!(sandbox.tenant().users().count(), users + created);
        assert!(sandbox.tenant().user_by_username("Priya.R").is_err());
    }
}

/// Imports two new hires and one change; (results path, results text).
async fn imported(sandbox: &SandboxHandle, dir: &Path) -> (PathBuf, String) {
    let hires = write(
        dir,
        "hires.csv",
        "username,email,firstName,lastName,department\n\
         new.one,new.one@northwind.example,New,One,Sales\n\
         new.two,new.two@northwind.example,New,Two,Sales\n\
         priya.raman,priya.raman@northwind.example,Priya,Raman,Audit\n",
    );
    let results = dir.join("hires.results.csv");
    let args = [
        "import",
        "--auto-password",
        "--results",
        &text(&results),
        &text(&hires),
    ];
    assert_eq!(against(sandbox, &args).await.unwrap(), Completion::Clean);
    let content = std::fs::read_to_string(&results).unwrap();
    (results, content)
}

/// A results file's lines as written: header, then each line.
fn lines_of(content: &str) -> (String, Vec<String>) {
    let mut lines = content.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_results_with_a_line_taken_out_spliced_in_or_cut_off_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let (results, content) = imported(&sandbox, dir.path()).await;
    // A second run of the same tenant, whose lines are sealed alike.
    let other = write(
        dir.path(),
        "more.csv",
        "username,email,firstName,lastName,department\n\
         new.three,new.three@northwind.example,New,Three,Sales\n\
         new.four,new.four@northwind.example,New,Four,Sales\n",
    );
    let other_results = dir.path().join("more.results.csv");
    let args = [
        "import",
        "--auto-password",
        "--results",
        &text(&other_results),
        &text(&other),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let (header, lines) = lines_of(&content);
    let (_, other_lines) = lines_of(&std::fs::read_to_string(&other_results).unwrap());
    assert_eq!(lines.len(), 3);
    let writes = sandbox.counters().writes;
    let cases: [(&str, Vec<&String>, &str); 5] = [
        ("a line taken out", vec![&lines[0], &lines[2]], "taken out"),
        (
            "the last line taken off",
            vec![&lines[0], &lines[1]],
            "taken off its end",
        ),
        (
            "every line but the first taken off",
            vec![&lines[0]],
            "taken off its end",
        ),
        ("every line taken off", vec![], "records no row"),
        (
            "another run's line spliced in",
            vec![&lines[0], &other_lines[0], &lines[1], &lines[2]],
            "added",
        ),
    ];
    for (case, kept, why) in cases {
        let mut text_of = header.clone() + "\n";
        for line in kept {
            text_of += line;
            text_of += "\n";
        }
        std::fs::write(&results, text_of).unwrap();
        let refused = against(&sandbox, &["undo", "--max-affected", "9", &text(&results)])
            .await
            .expect_err(case);
        assert!(refused.to_string().contains(why), "{case}: {refused}");
        assert_eq!(sandbox.counters().writes, writes, "{case}: nothing undone");
    }
    // As written, both files undo whole.
    std::fs::write(&results, &content).unwrap();
    let args = ["undo", "--max-affected", "9", &text(&results)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(sandbox.tenant().user_by_username("new.one").is_err());
    assert!(sandbox.tenant().user_by_username("new.three").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_a_results_file_cut_short_and_never_deletes_on_an_edited_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let (results, content) = imported(&sandbox, dir.path()).await;
    let writes = sandbox.counters().writes;

    // Cut in the middle of the last line.
    let cut = &content[..content.trim_end().len() - 12];
    std::fs::write(&results, cut).unwrap();
    let refused = against(&sandbox, &["undo", &text(&results)])
        .await
        .expect_err("a cut file");
    assert!(
        refused.to_string().contains("cannot be trusted"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes);

    // priya's line edited from updated to created: she is not deleted.
    let mut reader = csv::Reader::from_reader(content.as_bytes());
    let header = reader.headers().unwrap().clone();
    let at = header.iter().position(|h| h == "outcome").unwrap();
    let mut writer = csv::Writer::from_path(&results).unwrap();
    writer.write_record(&header).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        let cells: Vec<&str> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == at && c == "updated" {
                    "created"
                } else {
                    c
                }
            })
            .collect();
        writer.write_record(cells).unwrap();
    }
    writer.flush().unwrap();
    // Its seal refuses the file whole: nothing is undone on its word.
    let refused = against(&sandbox, &["undo", "--max-affected", "3", &text(&results)])
        .await
        .expect_err("an edited line");
    assert!(
        refused.to_string().contains("seal does not verify"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes);
    // Read as an unsealed (older) file, the edited line is still no create.
    crate::support::as_written_unsealed(&results);
    let out = dir.path().join("undo.csv");
    let args = [
        "undo",
        "--accept-old-seal",
        "--max-affected",
        "3",
        "-o",
        &text(&out),
        &text(&results),
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    let priya = lines
        .iter()
        .find(|l| l["username"] == "priya.raman")
        .unwrap();
    assert_eq!(priya["outcome"], "failed", "{lines:?}");
    assert!(priya["error"].contains("not the record of a create"));
    assert!(sandbox.tenant().user_by_username("priya.raman").is_ok());
    assert!(
        sandbox.tenant().user_by_username("new.one").is_err(),
        "the real creates are undone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_that_numbers_its_user_types_is_protected_until_told() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.variant.numbered_user_types = true;
    let sandbox = start(config).await;
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\nolu.adeyemi\nyuki.tanaka\n",
    );
    let out = dir.path().join("out.csv");
    let args = [
        "offboard",
        "--action",
        "disable",
        "-o",
        &text(&out),
        &text(&leavers),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let lines = read_csv(&out);
    assert!(
        lines.iter().all(|l| l["outcome"] == "protected"),
        "{lines:?}"
    );
    assert!(lines[0]["error"].contains("userType 2"), "{lines:?}");
    assert_eq!(
        sandbox.counters().writes,
        0,
        "a number is never taken for the plain user"
    );

    let args = [
        "offboard",
        "--action",
        "disable",
        "--include-privileged",
        "--force",
        "-o",
        &text(&out),
        &text(&leavers),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let olu = sandbox
        .tenant()
        .user_by_username("olu.adeyemi")
        .unwrap()
        .clone();
    assert_eq!(olu.fields.is_enabled, Some(false));
    assert_eq!(
        olu.fields.user_type.as_deref(),
        Some("admin"),
        "its type is kept"
    );
}

/// The held file a refused run wrote into `dir`.
fn held_in(dir: &Path) -> PathBuf {
    crate::support::file_in(dir, ".held-").expect("a held file beside the results")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_run_holds_its_changes_and_approve_releases_exactly_those() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\npriya.raman\nmateo.garcia\nsofia.rossi\n",
    );
    let results = dir.path().join("leavers.offboard.csv");
    let args = [
        "offboard",
        "--action",
        "disable",
        "-o",
        &text(&results),
        &text(&leavers),
    ];
    let refused = against(&sandbox, &args).await.expect_err("over the guard");
    let held = held_in(dir.path());
    assert!(
        refused.to_string().contains("sebulk approve")
            && refused.to_string().contains(&text(&held)),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, 0);

    // A hand edit of the held file is refused.
    let original = std::fs::read_to_string(&held).unwrap();
    std::fs::write(&held, original.replace("sofia.rossi", "olu.adeyemi")).unwrap();
    let out = dir.path().join("approve.csv");
    let refused = against(&sandbox, &["approve", "-o", &text(&out), &text(&held)])
        .await
        .expect_err("an edited held file");
    assert!(refused.to_string().contains("digest"), "{refused}");
    std::fs::write(&held, &original).unwrap();

    // A look first: nothing written, every held user shown.
    let plan = dir.path().join("approve-plan.csv");
    let args = ["approve", "--dry-run", "-o", &text(&plan), &text(&held)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(read_csv(&plan).len(), 4);
    assert_eq!(sandbox.counters().writes, 0);

    // Mateo is renamed since: his row fails, the other three go.
    let api = client(&sandbox);
    let mateo = sandbox
        .tenant()
        .user_by_username("mateo.garcia")
        .unwrap()
        .clone();
    let mut body = sebulk::model::UserWrite::from_user(&mateo.public());
    body.fields.username = Some("mateo.garcia2".into());
    api.update_user(&mateo.id, &body).await.unwrap();
    let args = ["approve", "-o", &text(&out), &text(&held)];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    let outcome = |name: &str| {
        lines
            .iter()
            .find(|l| l["username"] == name)
            .map(|l| l["outcome"].clone())
            .unwrap_or_default()
    };
    assert_eq!(outcome("mateo.garcia"), "failed", "{lines:?}");
    for name in ["jonas.becker", "priya.raman", "sofia.rossi"] {
        assert_eq!(outcome(name), "updated", "{name}: {lines:?}");
        assert_eq!(enabled(&sandbox, name), Some(false));
    }
    assert_eq!(enabled(&sandbox, "mateo.garcia2"), Some(true));
    assert!(
        snapshot_in(dir.path()).exists(),
        "the way back is written first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_replaced_with_force_are_kept_and_still_undo() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let results = dir.path().join("leavers.offboard.csv");
    let first = write(dir.path(), "first.csv", "username\nyuki.tanaka\n");
    let args = [
        "offboard",
        "--action",
        "disable",
        "-o",
        &text(&results),
        &text(&first),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let second = write(dir.path(), "second.csv", "username\nsofia.rossi\n");
    let args = [
        "offboard",
        "--action",
        "disable",
        "--force",
        "-o",
        &text(&results),
        &text(&second),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let kept: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".replaced-offboard-"))
        .collect();
    assert_eq!(kept.len(), 1, "the first run's record is kept: {kept:?}");
    assert_eq!(read_csv(&kept[0])[0]["username"], "yuki.tanaka");
    // Both runs can still be undone.
    for record in [&kept[0], &results] {
        let out = dir.path().join(format!(
            "undo-{}.csv",
            record.file_name().unwrap().to_string_lossy()
        ));
        let args = ["undo", "-o", &text(&out), &text(record)];
        assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    }
    assert_eq!(enabled(&sandbox, "yuki.tanaka"), Some(true));
    assert_eq!(enabled(&sandbox, "sofia.rossi"), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_another_tenant_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    offboarded(&sandbox, dir.path(), "delete", "username\nyuki.tanaka\n").await;
    let snapshot = snapshot_in(dir.path());
    let other = start(config()).await;
    let out = dir.path().join("restore.csv");
    let args = ["restore", "-o", &text(&out), &text(&snapshot)];
    let refused = against(&other, &args).await.expect_err("another tenant");
    // Its seal is the other tenant's: it does not verify here.
    assert!(
        refused.to_string().contains("taken of another tenant"),
        "{refused}"
    );
    assert_eq!(other.counters().writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_sets_the_guard_limits() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let profile = write(
        dir.path(),
        "config.toml",
        "default_profile = \"p\"\n[profiles.p]\nmax_affected = \"4\"\n",
    );
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\npriya.raman\nmateo.garcia\nsofia.rossi\n",
    );
    let out = dir.path().join("out.csv");
    let url = sandbox.base_url().to_string();
    let argv = [
        "sebulk",
        "--config",
        &text(&profile),
        "--base-url",
        &url,
        "offboard",
        "--action",
        "disable",
        "-o",
        &text(&out),
        &text(&leavers),
    ];
    let env = |name: &str| match name {
        "SEBULK_API_KEY" => Some(crate::support::KEY.to_string()),
        "SEBULK_STATE_DIR" => Some(crate::support::STATE_DIR.to_string()),
        _ => None,
    };
    let done = sebulk::dispatch(argv.to_vec(), &env).await.unwrap();
    assert_eq!(
        done,
        Completion::Clean,
        "four of eight, as the profile allows"
    );
    assert_eq!(enabled(&sandbox, "sofia.rossi"), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_gives_back_only_from_the_snapshot_its_results_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let results = offboarded(&sandbox, dir.path(), "delete", "username\npriya.raman\n").await;
    assert!(sandbox.tenant().user_by_username("priya.raman").is_err());
    let recorded = &read_csv(&results)[0]["snapshot"];
    assert_eq!(
        recorded.len(),
        64,
        "the digest in the results: {recorded:?}"
    );

    // Someone with write access replaces the snapshot by one that reads
    // cleanly (its own digest recomputed): priya would come back an admin.
    let path = snapshot_in(dir.path());
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines = original.lines();
    let mut header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["digest"], recorded.as_str());
    let entries: Vec<String> = lines
        .map(|l| {
            l.replace("priya.raman@northwind.example", "attacker@evil.example")
                .replace("\"userType\":\"user\"", "\"userType\":\"admin\"")
        })
        .collect();
    assert!(entries[0].contains("attacker@evil.example"));
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for line in &entries {
        hasher.update(format!("{line}\n"));
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    header["digest"] = digest.into();
    let replaced = std::iter::once(header.to_string())
        .chain(entries)
        .map(|l| l + "\n")
        .collect::<String>();
    std::fs::write(&path, replaced).unwrap();
    // Its digest reads cleanly, but its keyed seal does not: restore
    // refuses it too (a plain digest was all an attacker had to redo),
    // and so does --accept-old-seal, which takes only unkeyed snapshots.
    let check = dir.path().join("check.csv");
    for accept in [false, true] {
        let mut args = vec!["restore", "--dry-run"];
        if accept {
            args.push("--accept-old-seal");
        }
        let (check, path) = (text(&check), text(&path));
        args.extend(["-o", &check, &path]);
        let refused = against(&sandbox, &args)
            .await
            .expect_err("a resealed snapshot");
        assert!(refused.to_string().contains("does not verify"), "{refused}");
    }

    let undone = dir.path().join("undo.csv");
    let args = ["undo", "-o", &text(&undone), &text(&results)];
    let ended = against(&sandbox, &args).await.unwrap();
    assert_ne!(ended, Completion::Clean);
    assert!(sandbox.tenant().user_by_username("priya.raman").is_err());
    let row = &read_csv(&undone)[0];
    assert!(row["error"].contains("does not verify"), "{row:?}");
}
