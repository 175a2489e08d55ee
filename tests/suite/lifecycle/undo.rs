//! `undo`: a recorded run reversed, checked by exporting the tenant before
//! the run and after the undo and diffing the two.

use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::model::UserWrite;
use sebulk::sandbox::SandboxHandle;

use crate::support::{against, client, config, read_csv, sebulk_in_process, start};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `undo` of `results` by the binary, the guard letting every row go,
/// its results in `undo.csv` in `dir`: how the process ended.
async fn undo_everything(base: &str, dir: &Path, results: &str) -> std::process::Output {
    let undone = dir.join("undo.csv").display().to_string();
    let args = [
        "undo",
        "--max-affected",
        "100%",
        "--max-irreversible",
        "100%",
        "-o",
        &undone,
        results,
    ];
    crate::support::sebulk(base, &args).output().await.unwrap()
}

/// Exports every user with memberships to `name` in `dir`.
async fn export(sandbox: &SandboxHandle, dir: &Path, name: &str) -> String {
    let path = dir.join(name).display().to_string();
    let args = [
        "export",
        "users",
        "--include",
        "groups,applications",
        "-o",
        &path,
        "--force",
    ];
    assert_eq!(against(sandbox, &args).await.unwrap(), Completion::Clean);
    path
}

/// The differences between two exports, by username.
async fn differences(dir: &Path, before: &str, after: &str) -> Vec<(String, String, String)> {
    crate::support::export_differences(dir, before, after).await
}

/// Sets one field of a user through the API, as someone else would.
async fn set_field(sandbox: &SandboxHandle, username: &str, set: impl FnOnce(&mut UserWrite)) {
    let api = client(sandbox);
    let user = sandbox.tenant().user_by_username(username).unwrap().clone();
    let user = api.get_user(&user.id).await.unwrap();
    let mut body = UserWrite::from_user(&user);
    set(&mut body);
    api.update_user(&user.id, &body).await.unwrap();
}

/// A batch with creates, field updates (one old value formula-like, one
/// cleared) and membership changes both ways.
const BATCH: &str = "username,email,firstName,lastName,department,mobile,groups,applications\n\
    new.one,new.one@northwind.example,New,One,Sales,+44 7700 900001,Sales;All Staff,Slack\n\
    new.two,new.two@northwind.example,New,Two,,,Engineering,\n\
    amelia.hughes,amelia.hughes@northwind.example,,,+Growth,,Engineering,Slack\n\
    jonas.becker,jonas.becker@northwind.example,,,,,All Staff,\n\
    priya.raman,priya.raman@northwind.example,,,,<clear>,Sales,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_then_undo_leaves_the_tenant_as_it_was_and_a_second_undo_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    // An old value a spreadsheet would run as a formula.
    set_field(&sandbox, "amelia.hughes", |b| {
        b.fields.department = Some("=Legacy".into())
    })
    .await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    let input = write(dir.path(), "batch.csv", BATCH);
    let results = dir.path().join("batch.results.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    // Three of eight users lose memberships under --sync-groups: more than
    // a tiny tenant's default allows, so the run names the count.
    let args = ["import", "--auto-password", "--sync-groups", "-o", &r, &i];
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &args).await.expect_err("over the guard");
    assert!(
        refused.to_string().contains("--max-affected 3"),
        "{refused}"
    );
    assert_eq!(
        sandbox.counters().writes,
        writes,
        "refused before any write"
    );
    let args = [
        "import",
        "--auto-password",
        "--sync-groups",
        "--max-affected",
        "3",
        "-o",
        &r,
        &i,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let lines = read_csv(&results);
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        ["created", "created", "updated", "updated", "updated"]
    );
    assert!(lines[2]["changes"].contains(r#"department: "=Legacy" → "+Growth""#));
    assert_ne!(
        differences(
            dir.path(),
            &before,
            &export(&sandbox, dir.path(), "mid.csv").await
        )
        .await,
        []
    );

    // Plan it first: nothing is written, every row says what it would do.
    let writes = sandbox.counters().writes;
    let plan = dir.path().join("undo-plan.csv").display().to_string();
    let args = ["undo", "--dry-run", "-o", &plan, &r];
    // The plan is written whole, and ends refused as the real run would be.
    let refused = against(&sandbox, &args)
        .await
        .expect_err("refused as the run");
    assert!(refused.to_string().contains("--max-affected"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
    let planned: Vec<String> = read_csv(Path::new(&plan))
        .iter()
        .map(|l| l["outcome"].clone())
        .collect();
    assert_eq!(
        planned,
        ["deleted", "deleted", "updated", "updated", "updated"]
    );

    // Deleting two created users and removing added memberships is over
    // the default limit of a tenant this small: refused before any write.
    let undo = ["undo", &r];
    let refused = against(&sandbox, &undo).await.expect_err("guard rail");
    assert!(refused.to_string().contains("--max-affected"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);

    let undone = dir.path().join("undo.csv").display().to_string();
    let args = ["undo", "--max-affected", "5", "-o", &undone, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let after = export(&sandbox, dir.path(), "after.csv").await;
    assert_eq!(differences(dir.path(), &before, &after).await, []);
    let amelia = sandbox
        .tenant()
        .user_by_username("amelia.hughes")
        .unwrap()
        .clone();
    assert_eq!(amelia.fields.department.as_deref(), Some("=Legacy"));

    // Again: everything is as it was, nothing is sent.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("undo2.csv").display().to_string();
    let args = ["undo", "--max-affected", "5", "-o", &again, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes);
    assert!(
        read_csv(Path::new(&again))
            .iter()
            .all(|l| l["outcome"] == "unchanged"),
        "{:?}",
        read_csv(Path::new(&again))
    );

    // The results, sanitised for Excel, still read as an import input.
    let replan = dir.path().join("replan.csv").display().to_string();
    let args = ["plan", "-o", &replan, &r];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::Clean,
        "the import reader takes a results file"
    );
    let raw = std::fs::read_to_string(&results).unwrap();
    assert!(
        raw.contains(",+44 7700 900001") && !raw.contains("'+44 7700 900001"),
        "a phone number is written as it is, and read back the same"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_changed_since_the_run_is_a_conflict_left_alone_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let input = write(
        dir.path(),
        "batch.csv",
        "username,email,department\njonas.becker,jonas.becker@northwind.example,Audit\n\
         priya.raman,priya.raman@northwind.example,Audit\n",
    );
    let results = dir.path().join("r.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let was = |name: &str| {
        sandbox
            .tenant()
            .user_by_username(name)
            .unwrap()
            .fields
            .department
            .clone()
    };
    let (jonas_was, priya_was) = (was("jonas.becker"), was("priya.raman"));
    let args = ["import", "-o", &r, &i];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    // Someone moves Jonas again after the run.
    set_field(&sandbox, "jonas.becker", |b| {
        b.fields.department = Some("Legal".into())
    })
    .await;

    let undone = dir.path().join("undo.csv");
    let u = undone.display().to_string();
    let args = ["undo", "-o", &u, &r];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&undone);
    assert_eq!(lines[0]["outcome"], "skipped");
    assert!(lines[0]["error"].contains("conflict"), "{lines:?}");
    assert!(lines[0]["error"].contains("Legal"), "{lines:?}");
    assert_eq!(lines[1]["outcome"], "updated");
    assert_eq!(was("jonas.becker").as_deref(), Some("Legal"), "left alone");
    assert_eq!(was("priya.raman"), priya_was);

    // --force only replaces the file: the conflict is still left alone.
    let args = ["undo", "--force", "-o", &u, &r];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    assert_eq!(
        was("jonas.becker").as_deref(),
        Some("Legal"),
        "still left alone"
    );
    let args = ["undo", "--include-conflicts", "--force", "-o", &u, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(
        was("jonas.becker"),
        jonas_was,
        "--include-conflicts puts it back"
    );

    // Resumed from its own results, an undo carries every finished row over.
    let writes = sandbox.counters().writes;
    let resumed = dir.path().join("resumed.csv");
    let rs = resumed.display().to_string();
    let args = ["undo", "--resume", &u, "-o", &rs, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes);
    let first_run = &read_csv(&undone)[0]["run_id"];
    assert!(read_csv(&resumed).iter().all(|l| &l["run_id"] == first_run));

    // Results written to another tenant are refused before any call.
    let text = std::fs::read_to_string(&results).unwrap();
    let elsewhere = dir.path().join("elsewhere.csv");
    let tenant = sandbox.base_url().to_string();
    let tenant = tenant.trim_end_matches('/');
    assert!(text.contains(tenant));
    std::fs::write(
        &elsewhere,
        text.replace(tenant, "https://other.example/api"),
    )
    .unwrap();
    let requests = sandbox.counters().requests;
    let e = elsewhere.display().to_string();
    let refused = against(&sandbox, &["undo", &e]).await.expect_err("tenant");
    // Its lines were sealed under this tenant's key, not another's: the
    // seal refuses it (a real other tenant's file names that tenant).
    let said = refused.to_string();
    assert!(
        said.contains("https://other.example/api") || said.contains("another tenant"),
        "{said}"
    );
    assert_eq!(sandbox.counters().requests, requests);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_import_is_undone_as_far_as_it_went() {
    use crate::support::{sebulk, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(40);
    let sandbox = start(slow).await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    let mut text = String::from("username,email,department,groups\n");
    for i in 0..60 {
        text.push_str(&format!(
            "hire{i:02},hire{i:02}@northwind.example,Ops,Sales\n"
        ));
    }
    text.push_str("sofia.rossi,sofia.rossi@northwind.example,Ops,Sales\n");
    let input = write(dir.path(), "hires.csv", &text);
    let results = dir.path().join("hires.results.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let base = sandbox.base_url().to_string();
    let args = ["import", "--auto-password", "-o", &r, &i];
    let child = crate::support::spawned(&sandbox, &args);
    wait_for_writes(&sandbox, 10).await;
    crate::support::send_signal(&child, "-INT").await;
    let output = crate::support::ended_interrupted(child).await;
    assert_eq!(output.status.code(), Some(130));
    let lines = read_csv(&results);
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert!(
        created > 0 && created < 60,
        "interrupted part way: {created}"
    );

    let undone = dir.path().join("undo.csv").display().to_string();
    let args = ["undo", "--max-affected", "100%", "-o", &undone, &r];
    let status = sebulk(&base, &args).status().await.unwrap();
    assert!(status.success());
    let after = export(&sandbox, dir.path(), "after.csv").await;
    assert_eq!(differences(dir.path(), &before, &after).await, []);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_in_flight_at_a_kill_are_undone_after_the_documented_resume() {
    // Resumed into another file, and into the killed run's own.
    for in_place in [false, true] {
        killed_resumed_and_undone(in_place).await;
    }
}

async fn killed_resumed_and_undone(in_place: bool) {
    use crate::support::{sebulk, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(150);
    // Half the creates commit, then lose their answer: at the kill, some
    // are still waiting to be told apart from a create that failed.
    slow.faults.drop_rate = 0.5;
    let sandbox = start(slow).await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    let mut text = String::from("username,email,department,groups\n");
    for i in 0..40 {
        text.push_str(&format!(
            "hire{i:02},hire{i:02}@northwind.example,Ops,Sales;Night Crew\n"
        ));
    }
    let input = write(dir.path(), "hires.csv", &text);
    let results = dir.path().join("hires.results.csv");
    let resumed = match in_place {
        true => results.clone(),
        false => dir.path().join("hires.resumed.csv"),
    };
    let [i, r, r2] = [&input, &results, &resumed].map(|p| p.display().to_string());
    let base = sandbox.base_url().to_string();
    let args = [
        "import",
        "--auto-password",
        "--create-missing-groups",
        "-o",
        &r,
        &i,
    ];
    let mut child = crate::support::spawned(&sandbox, &args);
    wait_for_writes(&sandbox, 8).await;
    crate::support::send_signal(&child, "-KILL").await;
    let _ = child.wait().await;
    // Let the writes on the wire land, as a server finishing them would.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    let args = [
        "import",
        "--auto-password",
        "--create-missing-groups",
        "--resume",
        &r,
        "-o",
        &r2,
        &i,
    ];
    let status = sebulk(&base, &args).status().await.unwrap();
    assert!(
        status.success(),
        "the resume finishes (in place: {in_place})"
    );
    let lines = read_csv(&resumed);
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert_eq!(created, 40, "every hire recorded as created: {lines:?}");
    // Memberships carried from the killed run are named, as every line
    // names them (its intents know them by id).
    let named = |cell: &str| {
        cell.split(';')
            .all(|group| ["", "Sales", "Night Crew"].contains(&group))
    };
    assert!(lines.iter().all(|l| named(&l["groups_added"])), "{lines:?}");

    let output = undo_everything(&base, dir.path(), &r2).await;
    assert!(
        output.status.success(),
        "in place: {in_place}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = export(&sandbox, dir.path(), "after.csv").await;
    assert_eq!(differences(dir.path(), &before, &after).await, []);
    // The group the killed run created goes with the resumed results.
    let groups: Vec<String> = sandbox.tenant().groups().map(|g| g.name.clone()).collect();
    assert!(!groups.contains(&"Night Crew".to_string()), "{groups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_groups_and_memberships_runs_are_undone_too() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    let groups_before = dir.path().join("groups-before.csv").display().to_string();
    let args = ["export", "groups", "-o", &groups_before];
    against(&sandbox, &args).await.unwrap();

    // Offboarding: disabled and stripped, and one deleted (snapshot).
    let leavers = write(
        dir.path(),
        "leavers.csv",
        "username\njonas.becker\nsofia.rossi\n",
    );
    let off = dir.path().join("leavers.offboard.csv");
    let [l, o] = [&leavers, &off].map(|p| p.display().to_string());
    let args = [
        "offboard",
        "--action",
        "disable,revoke-access",
        "--max-affected",
        "2",
        "-o",
        &o,
        &l,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let gone = write(dir.path(), "gone.csv", "username\npriya.raman\n");
    let gone_results = dir.path().join("gone.offboard.csv");
    let [g, gr] = [&gone, &gone_results].map(|p| p.display().to_string());
    let args = [
        "offboard",
        "--action",
        "delete",
        "--max-affected",
        "1",
        "-o",
        &gr,
        &g,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    // Groups: one created, one changed.
    let groups = write(
        dir.path(),
        "groups.csv",
        "name,description\nAuditors,Internal audit\nSales,Everyone who sells\n",
    );
    let groups_results = dir.path().join("groups.results.csv");
    let [gf, gres] = [&groups, &groups_results].map(|p| p.display().to_string());
    let args = ["groups", "import", "-o", &gres, &gf];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    // Memberships: one added, one removed.
    let members = write(
        dir.path(),
        "members.csv",
        "user,type,target,action\namelia.hughes,group,Finance,add\nmateo.garcia,group,All Staff,remove\n",
    );
    let members_results = dir.path().join("members.results.csv");
    let [mf, mres] = [&members, &members_results].map(|p| p.display().to_string());
    let args = ["memberships", "import", "-o", &mres, &mf];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    // Undone in reverse order.
    for results in [&mres, &gres, &gr, &o] {
        let undone = format!("{results}.undo.csv");
        let mut args = vec!["undo", "--max-affected", "5", "-o", &undone, results];
        if results == &gr {
            args.insert(1, "--send-email");
        }
        assert_eq!(
            against(&sandbox, &args).await.unwrap(),
            Completion::Clean,
            "{results}: {:?}",
            read_csv(Path::new(&undone))
        );
    }
    let priya = sandbox
        .tenant()
        .user_by_username("priya.raman")
        .unwrap()
        .clone();
    assert_eq!(
        (priya.password.times_set, priya.password.emails_sent),
        (1, 1),
        "re-created with a generated password, told by email"
    );
    let after = export(&sandbox, dir.path(), "after.csv").await;
    let changes = differences(dir.path(), &before, &after).await;
    assert!(
        changes.iter().all(|(change, user, field)| change == "mover"
            && user == "priya.raman"
            && field == "user_id"),
        "only the re-created user's id differs: {changes:?}"
    );
    let groups_after = dir.path().join("groups-after.csv").display().to_string();
    let args = ["export", "groups", "-o", &groups_after];
    against(&sandbox, &args).await.unwrap();
    let strip = |path: &str| -> Vec<(String, String, String)> {
        read_csv(Path::new(path))
            .into_iter()
            .map(|g| {
                (
                    g["name"].clone(),
                    g["description"].clone(),
                    g["members"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&groups_before), strip(&groups_after));

    // Undoing the offboarding again finds nothing left to do.
    let writes = sandbox.counters().writes;
    let again = format!("{o}.again.csv");
    let args = ["undo", "--max-affected", "5", "-o", &again, &o];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes);

    // What cannot be undone is refused before any call, saying why.
    let users = write(
        dir.path(),
        "users.csv",
        "username
amelia.hughes
",
    );
    let pw = dir.path().join("pw.results.csv");
    let [u, p] = [&users, &pw].map(|p| p.display().to_string());
    let args = ["passwords", "--auto-generate", "-o", &p, &u];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let refused = against(&sandbox, &["undo", &p])
        .await
        .expect_err("passwords");
    assert!(
        refused.to_string().contains("cannot be taken back"),
        "{refused}"
    );
    let plan = dir.path().join("plan.offboard.csv").display().to_string();
    let args = ["offboard", "--action", "lock", "--dry-run", "-o", &plan, &l];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let refused = against(&sandbox, &["undo", &plan])
        .await
        .expect_err("a plan");
    assert!(
        refused.to_string().contains("nothing was done"),
        "{refused}"
    );
    assert_eq!(sebulk::exit_code(&refused), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_that_had_no_value_is_put_back_as_the_opposite_once() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let api = client(&sandbox);
    api.create_user(&crate::support::new_user("no.flags"))
        .await
        .unwrap();
    let flag = || {
        sandbox
            .tenant()
            .user_by_username("no.flags")
            .unwrap()
            .fields
            .is_locked
    };
    assert_eq!(flag(), None);
    let leavers = write(dir.path(), "leavers.csv", "username\nno.flags\n");
    let results = dir.path().join("leavers.offboard.csv");
    let [l, r] = [&leavers, &results].map(|p| p.display().to_string());
    let args = [
        "offboard",
        "--action",
        "lock",
        "--max-affected",
        "1",
        "-o",
        &r,
        &l,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(flag(), Some(true));
    let first = dir.path().join("u1.csv").display().to_string();
    let args = ["undo", "-o", &first, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(flag(), Some(false), "unlocked, said explicitly");
    let writes = sandbox.counters().writes;
    let second = dir.path().join("u2.csv").display().to_string();
    let args = ["undo", "-o", &second, &r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes, "nothing the second time");
    assert_eq!(read_csv(Path::new(&second))[0]["outcome"], "unchanged");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_is_undone_from_its_journal_too() {
    use crate::support::{sebulk, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(30);
    let sandbox = start(slow).await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    let mut text = String::from("username,email,department,groups\n");
    for i in 0..80 {
        text.push_str(&format!(
            "kill{i:02},kill{i:02}@northwind.example,Ops,Sales\n"
        ));
    }
    let input = write(dir.path(), "hires.csv", &text);
    let results = dir.path().join("hires.results.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let base = sandbox.base_url().to_string();
    let args = ["import", "--auto-password", "-o", &r, &i];
    let mut child = sebulk(&base, &args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_writes(&sandbox, 15).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let created = sandbox.tenant().users().count() - 8;
    assert!(created > 0 && created < 80, "killed part way: {created}");
    let journal = dir.path().join("hires.results.csv.journal");
    assert!(journal.exists(), "a killed run leaves its journal");
    let recorded = read_csv(&results)
        .iter()
        .filter(|l| l["outcome"] == "created")
        .count();
    assert!(
        recorded < created,
        "rows wait for their group changes, so only the journal knows them all ({recorded} < {created})"
    );

    let undone = dir.path().join("undo.csv").display().to_string();
    let args = ["undo", "--max-affected", "100%", "-o", &undone, &r];
    let ended = against(&sandbox, &args).await.unwrap();
    let known: Vec<String> = read_csv(&results)
        .into_iter()
        .chain(read_csv(&journal))
        .filter(|l| l["outcome"] == "created")
        .map(|l| l["username"].clone())
        .collect();
    let after = export(&sandbox, dir.path(), "after.csv").await;
    let left: Vec<String> = differences(dir.path(), &before, &after)
        .await
        .into_iter()
        .map(|(change, user, _)| {
            assert_eq!(change, "joiner");
            user
        })
        .collect();
    // Every user the run recorded or journaled is gone. A create on the
    // wire when the process died (at most one per request in flight) has
    // no answer on record, but its intent was written before it was sent:
    // undo names each such user as uncertain and ends with problems.
    assert!(left.iter().all(|u| !known.contains(u)), "{left:?}");
    let lines = read_csv(Path::new(&undone));
    let uncertain: Vec<&str> = lines
        .iter()
        .filter(|l| l["error"].starts_with("uncertain"))
        .map(|l| l["username"].as_str())
        .collect();
    for user in &left {
        assert!(
            uncertain.contains(&user.as_str()),
            "{user} is not named: {uncertain:?}"
        );
    }
    assert_eq!(
        ended == Completion::Clean,
        uncertain.is_empty(),
        "uncertain rows are problems: {uncertain:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_sandbox_is_the_same_tenant_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let input = write(dir.path(), "batch.csv", BATCH);
    let results = dir.path().join("batch.results.csv");
    let [s, i, r] = [&state, &input, &results].map(|p| p.display().to_string());
    let kept = ["--sandbox", "--sandbox-state", &s];
    let import = [&kept[..], &["import", "--auto-password", "-o", &r, &i]].concat();
    assert_eq!(sebulk_in_process(&import).await.unwrap(), Completion::Clean);
    let tenant = &read_csv(&results)[0]["tenant"];
    assert!(
        tenant.starts_with("sandbox:") && tenant.ends_with("state.json"),
        "{tenant}"
    );
    // A new process, a new port: still the tenant the run changed.
    let undo = [&kept[..], &["undo", "--max-affected", "5", &r]].concat();
    assert_eq!(sebulk_in_process(&undo).await.unwrap(), Completion::Clean);
    let undone: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".undo."))
        .collect();
    assert_eq!(
        undone.len(),
        1,
        "timestamped beside the results: {undone:?}"
    );
    let outcomes: Vec<String> = read_csv(&undone[0])
        .iter()
        .map(|l| l["outcome"].clone())
        .collect();
    let expected: Vec<String> = read_csv(&results)
        .iter()
        .map(|l| match l["outcome"].as_str() {
            "created" => "deleted".to_string(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(outcomes, expected);
    assert!(outcomes.contains(&"updated".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_deletes_the_groups_an_import_created_once_their_members_are_out() {
    for joined_since in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = super::sync::tenant(dir.path()).await;
        let groups_before = sandbox.tenant().groups().count();
        let file = write(
            dir.path(),
            "rows.csv",
            "username,email,firstName,lastName,groups\n\
             cara,cara@example.com,Cara,Cat,Night Shift\n\
             zed,zed@example.com,Zed,Zebra,Night Shift;Weekend\n",
        );
        let results = dir.path().join("rows.results.csv");
        let args = importing_with_new_groups(results.to_str().unwrap(), file.to_str().unwrap());
        assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
        assert_eq!(sandbox.tenant().groups().count(), groups_before + 2);
        if joined_since {
            // Someone puts Dan into Night Shift by hand: it is kept.
            let api = client(&sandbox);
            let night = sandbox
                .tenant()
                .groups()
                .find(|g| g.name == "Night Shift")
                .unwrap()
                .id
                .clone();
            let dan = crate::support::user_named(&sandbox, "dan").id.clone();
            api.assign_groups(&dan, &[night]).await.unwrap();
        }
        let summary = dir.path().join("undo.json");
        let args = [
            "undo",
            "--summary-json",
            summary.to_str().unwrap(),
            results.to_str().unwrap(),
        ];
        against(&sandbox, &args).await.unwrap();
        let names: Vec<String> = sandbox.tenant().groups().map(|g| g.name.clone()).collect();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert!(!names.contains(&"Weekend".to_string()), "{names:?}");
        assert_eq!(
            names.contains(&"Night Shift".to_string()),
            joined_since,
            "{names:?} {summary}"
        );
        assert!(sandbox.tenant().user_by_username("zed").is_err());
        if joined_since {
            assert!(
                summary["groups_kept"][0]
                    .as_str()
                    .unwrap()
                    .contains("1 members"),
                "{summary}"
            );
        } else {
            assert_eq!(sandbox.tenant().groups().count(), groups_before);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_run_again_counts_only_the_users_still_there_against_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, names, r) = five_joiners(dir.path()).await;
    // Five deletes are more than a small tenant's default allows.
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &["undo", &r]).await.expect_err("five");
    assert!(refused.to_string().contains("of the tenant's"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes);
    // An undo killed after three deletes: two users are left to undo.
    let api = client(&sandbox);
    for name in &names[..3] {
        let id = sandbox.tenant().user_by_username(name).unwrap().id.clone();
        api.delete_user(&id).await.unwrap();
    }
    let out = dir.path().join("undo.csv").display().to_string();
    let done = against(&sandbox, &["undo", "-o", &out, &r]).await;
    assert!(done.is_ok(), "two deletes are within the default: {done:?}");
    for name in &names {
        assert!(sandbox.tenant().user_by_username(name).is_err(), "{name}");
    }
    let lines = read_csv(std::path::Path::new(&out));
    let deleted = lines.iter().filter(|l| l["outcome"] == "deleted").count();
    assert_eq!(deleted, 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_create_was_on_the_wire_at_a_kill_is_found_by_name_and_undone() {
    for mode in ["resumed", "someone else's", "run again with --force"] {
        let someone_elses = mode == "someone else's";
        let dir = tempfile::tempdir().unwrap();
        let mut slow = config();
        slow.seed = sebulk::sandbox::Seed::Empty;
        slow.faults.latency = std::time::Duration::from_millis(400);
        let sandbox = super::sync::seeded(dir.path(), start(slow).await).await;
        let groups_before = sandbox.tenant().groups().count();
        let file = write(
            dir.path(),
            "rows.csv",
            "username,email,firstName,lastName,groups\nzed,zed@example.com,Zed,Zebra,Weekend\n",
        );
        let results = dir.path().join("rows.results.csv");
        let r = results.to_str().unwrap();
        let args = importing_with_new_groups(r, file.to_str().unwrap());
        // Killed once the group's create is sent (its line written first),
        // before its answer is recorded: only that line is there.
        let mut child = crate::support::spawned(&sandbox, &args);
        let groups_file = dir.path().join("rows.results.csv.groups");
        while !std::fs::read_to_string(&groups_file).is_ok_and(|t| t.starts_with(',')) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        crate::support::send_signal(&child, "-KILL").await;
        let _ = child.wait().await;
        // The server finishes the create the dead run sent.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let kept = std::fs::read_to_string(&groups_file).unwrap();
        assert_eq!(
            kept.lines().count(),
            1,
            "only the line written before sending: {kept}"
        );
        let weekend = || {
            sandbox
                .tenant()
                .groups()
                .find(|g| g.name == "Weekend")
                .map(|g| g.id.clone())
        };
        // Whether the dead run's create landed depends on the server (this
        // one drops a request whose client went away): it landed here, as
        // sebulk sends it, or someone else made a group of that name.
        let description = match someone_elses {
            false => "created by sebulk import",
            true => "rota, run by Facilities",
        };
        let body = sebulk::model::GroupWrite {
            name: "Weekend".into(),
            description: Some(description.into()),
            enforce_second_factor: None,
        };
        let api = client(&sandbox);
        match weekend() {
            Some(id) => api.update_group(&id, &body).await.map(|_| ()).unwrap(),
            None => api.create_group(&body).await.map(|_| ()).unwrap(),
        }
        if mode == "resumed" {
            // Resumed as the README says: the run goes on (Zed is created)
            // and its results carry the group the killed run sent.
            let mut resume = args.to_vec();
            resume.extend(["--resume", r]);
            let done = against(&sandbox, &resume).await.unwrap();
            assert_eq!(done, Completion::Clean);
            assert!(sandbox.tenant().user_by_username("zed").is_ok());
        }
        if mode == "run again with --force" {
            // Run again over the killed run's record: refused unless told,
            // then that record is set aside whole and undone on its own.
            let refused = against(&sandbox, &args).await.expect_err("a killed record");
            assert!(refused.to_string().contains("--force"), "{refused}");
            let mut again = args.to_vec();
            again.push("--force");
            assert_eq!(against(&sandbox, &again).await.unwrap(), Completion::Clean);
            let kept = crate::support::file_in(dir.path(), ".replaced-").unwrap();
            let kept = kept.display().to_string();
            let kept = kept.split(".csv").next().unwrap().to_string() + ".csv";
            // Newest first: the new run took Zed into the group it found.
            against(&sandbox, &["undo", r]).await.unwrap();
            assert!(weekend().is_some(), "not the new run's to delete");
            against(&sandbox, &["undo", &kept]).await.unwrap();
            assert!(
                weekend().is_none(),
                "the killed run's, undone with its record"
            );
        }
        let summary = dir.path().join("undo.json");
        let args = ["undo", "--summary-json", summary.to_str().unwrap(), r];
        against(&sandbox, &args).await.unwrap();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert!(sandbox.tenant().user_by_username("zed").is_err());
        assert_eq!(weekend().is_some(), someone_elses, "{summary}");
        if someone_elses {
            assert!(
                summary["groups_kept"][0]
                    .as_str()
                    .unwrap()
                    .contains("someone else"),
                "{summary}"
            );
        } else {
            assert_eq!(
                sandbox.tenant().groups().count(),
                groups_before,
                "{summary}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_an_undo_passes_over_as_protected_count_for_nothing_against_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, names, r) = five_joiners(dir.path()).await;
    let protect = write(dir.path(), "protect.txt", "joiner.1\njoiner.2\njoiner.3\n");
    let p = protect.display().to_string();
    let summary = dir.path().join("undo.json");
    let s = summary.display().to_string();
    let args = ["undo", "--protect", &p, "--summary-json", &s, &r];
    let done = against(&sandbox, &args).await;
    assert!(done.is_ok(), "two deletes are within the default: {done:?}");
    for (at, name) in names.iter().enumerate() {
        let kept = sandbox.tenant().user_by_username(name).is_ok();
        assert_eq!(kept, at < 3, "{name}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["affected"], 2, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_refuses_results_whose_created_groups_lost_lines_or_their_list() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = super::sync::tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "rows.csv",
        "username,email,firstName,lastName,groups\n\
         cara,cara@example.com,Cara,Cat,Night Shift\n\
         zed,zed@example.com,Zed,Zebra,Night Shift;Weekend;Late Crew\n",
    );
    let results = dir.path().join("rows.results.csv");
    let r = results.to_str().unwrap();
    let args = importing_with_new_groups(r, file.to_str().unwrap());
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let groups_file = dir.path().join("rows.results.csv.groups");
    let lines: Vec<String> = std::fs::read_to_string(&groups_file)
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(lines.len(), 6, "each group sent, then answered: {lines:?}");
    let writes = sandbox.counters().writes;
    let cases: [(&str, Option<String>); 3] = [
        ("the list taken away", None),
        (
            "its last group's lines taken out",
            Some(lines[..4].concat()),
        ),
        (
            "a middle line taken out",
            Some([&lines[..2], &lines[3..]].concat().concat()),
        ),
    ];
    for (case, kept) in cases {
        match &kept {
            Some(text) => std::fs::write(&groups_file, text).unwrap(),
            None => std::fs::remove_file(&groups_file).unwrap(),
        }
        let refused = against(&sandbox, &["undo", "--max-affected", "9", r])
            .await
            .expect_err(case);
        assert!(refused.to_string().contains("groups"), "{case}: {refused}");
        assert_eq!(sandbox.counters().writes, writes, "{case}: nothing undone");
    }
    std::fs::write(&groups_file, lines.concat()).unwrap();
    let args = ["undo", "--max-affected", "9", r];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let names: Vec<String> = sandbox.tenant().groups().map(|g| g.name.clone()).collect();
    for gone in ["Night Shift", "Weekend", "Late Crew"] {
        assert!(!names.contains(&gone.to_string()), "{gone}: {names:?}");
    }
}

/// A sandbox into which five joiners were imported: it, their names, and
/// the results file.
async fn five_joiners(dir: &Path) -> (SandboxHandle, Vec<String>, String) {
    let sandbox = start(config()).await;
    let names: Vec<String> = (1..=5).map(|n| format!("joiner.{n}")).collect();
    let mut text = "username,email,firstName,lastName\n".to_string();
    for name in &names {
        text += &format!("{name},{name}@northwind.example,Joiner,Number\n");
    }
    let input = write(dir, "joiners.csv", &text);
    let results = dir.join("joiners.results.csv");
    let [i, r] = [&input, &results].map(|p| p.display().to_string());
    let args = ["import", "--auto-password", "-o", &r, &i];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    (sandbox, names, r)
}

/// The arguments of an import of `file` into `results` that creates the
/// groups its rows name.
fn importing_with_new_groups<'a>(results: &'a str, file: &'a str) -> [&'a str; 6] {
    [
        "import",
        "--auto-password",
        "--create-missing-groups",
        "-o",
        results,
        file,
    ]
}

/// Leavers SIGKILLed mid-offboarding (disables answered, their memberships
/// still to go), resumed, then undone: every leaver is back as before.
/// The resumed run finds the killed run's disables done already; it
/// records them from that run's snapshot, or undo would leave them off.
/// Then the same with deletes that were on the wire at the kill.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_offboarding_resumed_is_undone_whole() {
    for action in ["disable,revoke-access", "delete"] {
        killed_offboarding_undone(action, true, "-KILL").await;
    }
}

/// A killed offboarding undone as the kill left it, not resumed: the
/// leavers whose writes were on the wire are given back from the run's
/// snapshot, not left "uncertain" for someone to put right by hand.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_offboarding_is_undone_whole_without_a_resume() {
    for action in ["disable,revoke-access", "delete"] {
        killed_offboarding_undone(action, false, "-KILL").await;
    }
}

/// Two quick Ctrl-Cs cut leavers between their disable (answered) and
/// their memberships: their rows end failed, "in flight", yet the run's
/// record of what was on the wire stays beside the finished file, so
/// undo (or a resume, then undo) gives them back whole rather than
/// leave them disabled with exit 0.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offboarding_aborted_by_two_interrupts_is_undone_whole() {
    for resume in [false, true] {
        killed_offboarding_undone("disable,revoke-access", resume, "-INT").await;
    }
}

/// An offboarding of 24 leavers in two groups each, stopped with
/// `signal` (a second SIGINT 5 ms after the first aborts) after nine
/// writes: what a test needs to go on from there.
struct Stopped {
    sandbox: SandboxHandle,
    dir: tempfile::TempDir,
    /// The tenant exported before the offboarding.
    before: String,
    leavers: String,
    /// The stopped run's results.
    killed: String,
}

async fn stopped_offboarding(action: &str, signal: &str) -> Stopped {
    let (sandbox, dir, before) = two_dozen_in_two_groups().await;
    let input = leavers_file(dir.path(), 24);
    let killed = dir.path().join("killed.csv");
    let [l, k] = [&input, &killed].map(|p| p.display().to_string());
    let args = offboard_args(action, &l, &["-o", &k]);
    stop_after_nine_writes(&sandbox, &args, signal).await;
    Stopped {
        sandbox,
        dir,
        before,
        leavers: l,
        killed: k,
    }
}

/// A slow sandbox holding `left00`..`left23` (department Ops), each in
/// Sales and All Staff: the sandbox, its folder, the tenant exported.
async fn two_dozen_in_two_groups() -> (SandboxHandle, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = std::time::Duration::from_millis(60);
    let sandbox = start(slow).await;
    let mut people = String::from("username,email,department,groups\n");
    for i in 0..24 {
        people.push_str(&format!(
            "left{i:02},left{i:02}@northwind.example,Ops,Sales;All Staff\n"
        ));
    }
    crate::support::seed_tenant(&sandbox, dir.path(), &people).await;
    let before = export(&sandbox, dir.path(), "before.csv").await;
    (sandbox, dir, before)
}

/// `leavers.csv` in `dir`, naming `left00` and the next `count - 1`.
fn leavers_file(dir: &Path, count: usize) -> PathBuf {
    let mut leavers = String::from("username\n");
    for i in 0..count {
        leavers.push_str(&format!("left{i:02}\n"));
    }
    write(dir, "leavers.csv", &leavers)
}

/// Runs sebulk with `args` against `sandbox` and stops it with `signal`
/// once it has sent nine writes (a second SIGINT 5 ms after the first
/// aborts); waits until what was on the wire has landed.
async fn stop_after_nine_writes(sandbox: &SandboxHandle, args: &[&str], signal: &str) {
    let child = crate::support::spawned(sandbox, args);
    let from = sandbox.counters().writes;
    crate::support::wait_for_writes(sandbox, from + 9).await;
    crate::support::send_signal(&child, signal).await;
    if signal == "-INT" {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        crate::support::send_signal(&child, signal).await;
    }
    let _ = child.wait_with_output().await;
    // The writes on the wire land, as a server finishing them would.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// A nightly sync whose leavers two quick Ctrl-Cs cut between their
/// disable and their memberships, undone as left: its snapshot marks
/// them as leavers, so they are given back whole, not left uncertain.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_aborted_among_its_leavers_is_undone_whole() {
    let (sandbox, dir, before) = two_dozen_in_two_groups().await;
    let mut roster = String::from("username,email,department\n");
    for i in 0..4 {
        roster.push_str(&format!("left{i:02},left{i:02}@northwind.example,Ops\n"));
    }
    let roster = write(dir.path(), "roster.csv", &roster);
    let killed = dir.path().join("killed.csv");
    let [ro, k] = [&roster, &killed].map(|p| p.display().to_string());
    let args = [
        "sync",
        &ro,
        "--leavers",
        "disable,revoke-access",
        "--scope",
        r#"column = "department", in = ["Ops"]"#,
        "--max-affected",
        "100%",
        "--rate",
        "20",
        "-o",
        &k,
    ];
    stop_after_nine_writes(&sandbox, &args, "-INT").await;
    let output = undo_everything(sandbox.base_url().as_str(), dir.path(), &k).await;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    let after = export(&sandbox, dir.path(), "after.csv").await;
    assert_eq!(differences(dir.path(), &before, &after).await, [], "{said}");
}

/// `offboard --action ACTION` of the leavers file `leavers`, slowly, the
/// guard told to let every leaver go, with `more` (results, resume).
fn offboard_args<'a>(action: &'a str, leavers: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let run = ["offboard", "--action", action, "--max-affected", "100%"];
    let rate = ["--rate", "20", "--max-irreversible", "100%", leavers];
    [&run[..], more, &rate[..]].concat()
}

/// Offboards 24 leavers slowly, stops the run with `signal`, optionally
/// resumes it, undoes the last results, and requires the tenant exactly
/// as before.
async fn killed_offboarding_undone(action: &str, resume: bool, signal: &str) {
    use crate::support::sebulk;
    let Stopped {
        sandbox,
        dir,
        before,
        leavers: l,
        killed: k,
    } = stopped_offboarding(action, signal).await;
    let resumed = dir.path().join("resumed.csv");
    let r = resumed.display().to_string();
    let base = sandbox.base_url().to_string();
    if resume {
        let args = offboard_args(action, &l, &["--resume", &k, "-o", &r]);
        let output = sebulk(&base, &args).output().await.unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{action}: {said}");
        let lines = read_csv(&resumed);
        assert_eq!(lines.len(), 24, "{action}");
        let done = if action == "delete" {
            "deleted"
        } else {
            "updated"
        };
        assert!(
            lines.iter().all(|l| l["outcome"] == done),
            "{action}: {lines:?}"
        );
        if action != "delete" {
            // Each row says it disabled its user, whichever run sent it.
            assert!(
                lines.iter().all(|l| l["changes"].contains("isEnabled")),
                "{lines:?}"
            );
        }
    }
    let r = if resume { r } else { k };

    let output = undo_everything(&base, dir.path(), &r).await;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{action}: {said}");
    let after = export(&sandbox, dir.path(), "after.csv").await;
    let left: Vec<_> = differences(dir.path(), &before, &after)
        .await
        .into_iter()
        .filter(|(_, _, field)| field != "user_id")
        .collect();
    assert_eq!(left, [], "{action}: {said}");
}

/// A killed offboarding's snapshot edited (a leaver's enabled flag
/// turned, as if they had been disabled already): the resume cannot
/// record what that run's writes on the wire did, and refuses before any
/// change; the untouched snapshot resumes.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_past_an_edited_snapshot_is_refused() {
    use crate::support::sebulk;
    let stopped = stopped_offboarding("disable,revoke-access", "-KILL").await;
    let snapshot = crate::support::file_in(stopped.dir.path(), "snapshot").expect("written");
    let kept = std::fs::read_to_string(&snapshot).unwrap();
    assert!(kept.contains("\"isEnabled\":true"), "{kept}");
    std::fs::write(
        &snapshot,
        kept.replacen("\"isEnabled\":true", "\"isEnabled\":false", 1),
    )
    .unwrap();
    let resumed = stopped.dir.path().join("resumed.csv");
    let r = resumed.display().to_string();
    let args = offboard_args(
        "disable,revoke-access",
        &stopped.leavers,
        &["--resume", &stopped.killed, "-o", &r],
    );
    let base = stopped.sandbox.base_url().to_string();
    let writes = stopped.sandbox.counters().writes;
    let output = sebulk(&base, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("the resume is refused"), "{said}");
    assert_eq!(stopped.sandbox.counters().writes, writes, "nothing written");
    std::fs::write(&snapshot, kept).unwrap();
    let output = sebulk(&base, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
}

/// An offboarding undone, then "resumed" from its own results: the lines
/// say every leaver was done, but the tenant shows them back, so each is
/// offboarded again, not carried over on its line's word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_after_an_undo_does_the_rows_the_undo_reversed() {
    let (sandbox, dir, _) = two_dozen_in_two_groups().await;
    let input = leavers_file(dir.path(), 6);
    let [first, again] = ["first.csv", "again.csv"].map(|n| dir.path().join(n));
    let [l, f, a] = [&input, &first, &again].map(|p| p.display().to_string());
    let offboard = |more: Vec<&'static str>| {
        let run = [
            "offboard",
            "--action",
            "disable,revoke-access",
            "--max-affected",
            "6",
        ];
        [&run[..], &more[..]].concat()
    };
    let mut args = offboard(vec![]);
    args.extend(["-o", &f, &l]);
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let base = sandbox.base_url().to_string();
    let output = undo_everything(&base, dir.path(), &f).await;
    assert!(output.status.success());
    let enabled = |sandbox: &SandboxHandle| {
        (0..6)
            .filter(|i| {
                let user = crate::support::user_named(sandbox, &format!("left{i:02}"));
                user.public().fields.is_enabled == Some(true)
            })
            .count()
    };
    assert_eq!(enabled(&sandbox), 6, "the undo gave them back");

    let mut args = offboard(vec![]);
    args.extend(["--resume", &f, "-o", &a, &l]);
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&sandbox), 0, "offboarded again");
    let lines = read_csv(&again);
    let first_run = &read_csv(&first)[0]["run_id"];
    assert!(
        lines
            .iter()
            .all(|l| &l["run_id"] != first_run && l["changes"].contains("isEnabled")),
        "{lines:?}"
    );
}

/// Another offboarding's snapshot put in place of a killed one's (copied
/// over its name): it is sealed as well as the killed run's own, but it
/// is another run's, so undo gives nobody back from it; the writes that
/// were on the wire stay uncertain (exit 3) instead of being "given
/// back" to what that other run saw.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_gives_nobody_back_from_another_runs_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let input = leavers_file(dir.path(), 24).display().to_string();
    let action = "disable,revoke-access";
    gives_nobody_back_from_another_runs_snapshot(dir, |out| {
        offboard_args(action, &input, &["-o", out])
            .into_iter()
            .map(str::to_string)
            .collect()
    })
    .await;
}

/// The same for a nightly sync's leavers: a killed sync's snapshot
/// replaced by an earlier sync's gives nobody back either.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_of_a_sync_gives_nobody_back_from_another_runs_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut roster = String::from("username,email,department\n");
    for i in 0..4 {
        roster.push_str(&format!("left{i:02},left{i:02}@northwind.example,Ops\n"));
    }
    let roster = write(dir.path(), "roster.csv", &roster)
        .display()
        .to_string();
    gives_nobody_back_from_another_runs_snapshot(dir, |out| {
        let scope = r#"column = "department", in = ["Ops"]"#;
        let leavers = ["--leavers", "disable,revoke-access", "--scope", scope];
        let guard = ["--max-affected", "100%", "--rate", "20", "-o", out];
        ["sync", roster.as_str()]
            .into_iter()
            .chain(leavers)
            .chain(guard)
            .map(str::to_string)
            .collect()
    })
    .await;
}

/// Runs `run` (its arguments, given the results file) to the end and
/// undoes it, runs it again killed after nine writes, puts the first
/// run's snapshot in the killed one's place, and holds undo to leaving
/// the killed run's writes uncertain (exit 3).
async fn gives_nobody_back_from_another_runs_snapshot(
    dir: tempfile::TempDir,
    run: impl Fn(&str) -> Vec<String>,
) {
    let (sandbox, seeded, _) = two_dozen_in_two_groups().await;
    drop(seeded);
    let [earlier, killed] = ["earlier.csv", "killed.csv"].map(|n| dir.path().join(n));
    let [e, k] = [&earlier, &killed].map(|p| p.display().to_string());
    let args = run(&e);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let base = sandbox.base_url().to_string();
    assert!(
        undo_everything(&base, dir.path(), &e)
            .await
            .status
            .success()
    );
    let theirs = crate::support::file_in(dir.path(), "earlier.snapshot-").expect("written");
    std::fs::remove_file(dir.path().join("undo.csv")).unwrap();

    let args = run(&k);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stop_after_nine_writes(&sandbox, &args, "-KILL").await;
    let ours = crate::support::file_in(dir.path(), "killed.snapshot-").expect("written");
    std::fs::copy(&theirs, &ours).unwrap();
    let output = undo_everything(&base, dir.path(), &k).await;
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{said}");
    let lines = read_csv(&dir.path().join("undo.csv"));
    assert!(
        lines.iter().any(|l| l["error"].starts_with("uncertain")),
        "{lines:?}"
    );
}
