//! The guard judges the change, not the command: columns that flip
//! everyone, privilege raised through a column, a reused username, the
//! roster's own `Enabled = FALSE`, and a reviewed plan applied with its
//! promises (`--protect`, its day) kept — each through the CLI against
//! the sandbox, with the tenant checked after.

use std::path::Path;

use sebulk::Completion;

use super::sync::{TENANT, enabled, outcomes, sync, tenant, users, write};
use crate::support::{against, read_csv};

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// Creates the group `name` in the tenant (as an admin would in the
/// console), its id.
async fn new_group(api: &sebulk::api::Client, name: &str) -> String {
    let group = sebulk::model::GroupWrite {
        name: name.into(),
        description: None,
        enforce_second_factor: None,
    };
    api.create_group(&group).await.unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enabled_column_false_on_every_row_is_refused_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // HR's export with an Enabled column gone wrong: everyone FALSE.
    let roster = write(
        dir.path(),
        "roster.csv",
        "username,email,firstName,lastName,employeeNumber,department,Enabled\n\
         ana,ana@example.com,Ana,Ant,1001,Sales,FALSE\n\
         bob,bob@example.com,Bob,Bee,1002,Sales,FALSE\n\
         cara,cara@example.com,Cara,Cat,1003,Ops,FALSE\n\
         dan,dan@example.com,Dan,Dog,1004,Ops,FALSE\n\
         eve,eve@example.com,Eve,Eel,1005,Ops,FALSE\n",
    );
    let writes = sandbox.counters().writes;
    let out = dir.path().join("sync.csv");
    let args = ["sync", &roster, "--as-of", "2026-12-03", "-o", &text(&out)];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("everyone disabled");
    let message = refused.to_string();
    assert!(
        message.contains("take access away") && message.contains("--max-affected 4"),
        "{message}"
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing was written");
    for name in ["ana", "bob", "cara", "dan"] {
        assert_eq!(enabled(&users(&sandbox), name), Some(true), "{name}");
    }
    // The same through import: refused whole, nothing written.
    let import_out = dir.path().join("import.csv");
    let args = ["import", &roster, "-o", &text(&import_out)];
    let refused = against(&sandbox, &args).await.expect_err("import too");
    assert!(
        refused.to_string().contains("--max-affected 4"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes);
    // Said with the count, it is done; and the roster's own FALSE keeps
    // Eve (disabled in the tenant) disabled rather than rehired.
    let done = sync(&sandbox, (&roster, "2026-12-03", "4"), &out, &[])
        .await
        .unwrap();
    assert_eq!(done, Completion::Clean);
    let after = users(&sandbox);
    assert_eq!(enabled(&after, "ana"), Some(false));
    assert_eq!(enabled(&after, "eve"), Some(false), "not rehired");
    assert_ne!(outcomes(&out)["eve"], "rehired");
    // Who lost access through an update was saved first, as a leaver
    // would be: restore gives it back.
    let snapshot = crate::support::file_in(dir.path(), ".snapshot-sync-").expect("a snapshot");
    let recorded = &read_csv(&out)[0]["snapshot"];
    assert_eq!(recorded.len(), 64, "the results record its digest");
    let restored = crate::support::restore(&sandbox, &snapshot, dir.path())
        .await
        .unwrap();
    assert_eq!(restored, Completion::Clean);
    let back = users(&sandbox);
    for name in ["ana", "bob", "cara", "dan"] {
        assert_eq!(enabled(&back, name), Some(true), "{name} given back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_type_column_never_makes_an_admin_unless_the_run_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "promote.csv",
        "username,email,userType,groups\n\
         ana,ana@example.com,admin,\n\
         bob,bob@example.com,,IT Admins\n",
    );
    let out = dir.path().join("promote.results.csv");
    let args = [
        "import",
        &file,
        "--create-missing-groups",
        "-o",
        &text(&out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "protected", "{:?}", lines[0]);
    assert!(lines[0]["error"].contains("--allow-privileged"));
    assert_eq!(lines[1]["outcome"], "protected", "{:?}", lines[1]);
    let after = users(&sandbox);
    assert_eq!(after["ana"].fields.user_type.as_deref(), Some("user"));
    // Named, the change is made.
    let named = dir.path().join("named.csv");
    let args = [
        "import",
        &file,
        "--create-missing-groups",
        "--allow-privileged",
        "ana,bob",
        "-o",
        &text(&named),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let after = users(&sandbox);
    assert_eq!(after["ana"].fields.user_type.as_deref(), Some("admin"));
    // The tenant's existing admin is never changed by a row unasked.
    let root = write(
        dir.path(),
        "root.csv",
        "username,email,department\nroot,root@example.com,Finance\n",
    );
    let out = dir.path().join("root.results.csv");
    let args = ["import", &root, "-o", &text(&out)];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(read_csv(&out)[0]["outcome"], "protected");
    assert_eq!(
        users(&sandbox)["root"].fields.department.as_deref(),
        Some("IT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_username_is_another_person_not_a_takeover() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // A new hire given Eve's username (Eve left): different name, email
    // and employee number.
    let file = write(
        dir.path(),
        "hire.csv",
        "username,email,firstName,lastName,employeeNumber\n\
         eve,eve.new@example.com,Evelyn,Stone,3001\n",
    );
    let out = dir.path().join("hire.results.csv");
    let args = ["import", &file, "--match-by", "username", "-o", &text(&out)];
    assert_ne!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let line = &read_csv(&out)[0];
    assert!(line["error"].contains("conflict"), "{line:?}");
    let eve = &users(&sandbox)["eve"];
    assert_eq!(eve.fields.email.as_deref(), Some("eve@example.com"));
    assert_eq!(eve.fields.is_enabled, Some(false), "her account stays hers");
    // Without an employee number, the name and email disagreeing say it.
    let file = write(
        dir.path(),
        "hire2.csv",
        "username,email,firstName,lastName
eve,eve.new@example.com,Evelyn,Stone
",
    );
    let out = dir.path().join("hire2.results.csv");
    let args = ["import", &file, "-o", &text(&out)];
    assert_ne!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let line = &read_csv(&out)[0];
    assert!(line["error"].contains("another person"), "{line:?}");
    assert_eq!(
        users(&sandbox)["eve"].fields.email.as_deref(),
        Some("eve@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_keeps_the_protect_list_and_the_plans_day() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // Bob is absent from the roster: the plan disables him.
    let roster = write(
        dir.path(),
        "roster.csv",
        &TENANT
            .lines()
            .filter(|l| {
                !["bob,", "root,", "svc-backup,"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let plan = dir.path().join("plan.csv");
    let done = sync(
        &sandbox,
        (&roster, "2026-12-03", "5"),
        &plan,
        &["--dry-run"],
    )
    .await
    .unwrap();
    assert_eq!(done, Completion::Clean);
    let writes = sandbox.counters().writes;
    // Another day than the plan's is refused.
    let applied = dir.path().join("applied.csv");
    let args = ["apply", &text(&plan), "-o", &text(&applied)];
    let refused = against(&sandbox, &args).await.expect_err("another day");
    assert!(
        refused.to_string().contains("--as-of 2026-12-03"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes);
    // The protect list holds in apply as it does in sync.
    let protect = write(dir.path(), "protect.txt", "bob\n");
    let args = [
        "apply",
        &text(&plan),
        "--as-of",
        "2026-12-03",
        "--protect",
        &protect,
        "-o",
        &text(&applied),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&users(&sandbox), "bob"), Some(true), "protected");
    let bob = read_csv(&applied)
        .into_iter()
        .find(|l| l["username"] == "bob")
        .unwrap();
    assert_eq!(bob["outcome"], "protected", "{bob:?}");
}

/// The other way round: the tenant holds `mаrk` (a Cyrillic а, made
/// there by hand), and a plain `mark` joins: no second account beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_username_the_tenant_holds_only_as_a_lookalike_is_no_second_account() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    crate::support::create_mark_imitation(&sandbox).await;
    let before = users(&sandbox).len();
    // An employeeNumber column: the tenant is listed, not asked row by row.
    let file = write(
        dir.path(),
        "mark.csv",
        "username,email,firstName,lastName,employeeNumber\n\
         mark,mark9@example.com,Mark,Other,4200\n",
    );
    let out = dir.path().join("mark.results.csv");
    let args = ["import", &file, "-o", &text(&out)];
    assert_ne!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let line = &read_csv(&out)[0];
    assert!(
        line["error"].contains("only looks like 'm\u{430}rk'"),
        "{line:?}"
    );
    assert_eq!(users(&sandbox).len(), before, "nothing created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookalike_username_is_never_a_second_account() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // `аna` with a Cyrillic а, a new email and number: it only looks
    // like Ana's username.
    let file = write(
        dir.path(),
        "joiner.csv",
        "username,email,firstName,lastName,employeeNumber\n\
         \u{430}na,ana.k@example.com,Ana,Kova,4001\n",
    );
    let out = dir.path().join("joiner.results.csv");
    let args = ["import", &file, "-o", &text(&out)];
    assert_ne!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let line = &read_csv(&out)[0];
    assert!(line["error"].contains("only looks like 'ana'"), "{line:?}");
    assert_eq!(users(&sandbox).len(), 7, "nothing created");
    // A name with an m (which TS #39's skeleton folds to rn) is caught too.
    let setup = write(
        dir.path(),
        "tom.csv",
        "username,email,employeeNumber\ntom.miller,tom@example.com,4100\n",
    );
    let out = dir.path().join("tom.results.csv");
    against(&sandbox, &["import", &setup, "-o", &text(&out)])
        .await
        .unwrap();
    let joiner = write(
        dir.path(),
        "tom2.csv",
        "username,email,employeeNumber\nt\u{43e}m.miller,tom.m@example.com,4101\n",
    );
    let out = dir.path().join("tom2.results.csv");
    let args = ["import", &joiner, "-o", &text(&out)];
    assert_ne!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let line = &read_csv(&out)[0];
    assert!(
        line["error"].contains("only looks like 'tom.miller'"),
        "{line:?}"
    );
    assert_eq!(users(&sandbox).len(), 8, "nothing created");
    // The same joiner in a sync, keyed on employee numbers.
    let roster = write(
        dir.path(),
        "roster.csv",
        &format!(
            "{}\n\u{430}na,ana.k@example.com,Ana,Kova,4001,Ops,true,user\n",
            TENANT
                .lines()
                .filter(|l| !l.starts_with("root,") && !l.starts_with("svc-backup,"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    let out = dir.path().join("sync.csv");
    let done = sync(&sandbox, (&roster, "2026-12-03", "5"), &out, &[])
        .await
        .unwrap();
    assert_ne!(done, Completion::Clean);
    assert_eq!(outcomes(&out)["\u{430}na"], "conflict");
    assert_eq!(users(&sandbox).len(), 8, "nothing created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_that_lost_letters_to_its_encoding_keeps_the_tenants_value() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let setup = write(
        dir.path(),
        "setup.csv",
        "username,firstName\nana,\u{141}ucja\n",
    );
    let out = dir.path().join("setup.results.csv");
    let args = ["import", &setup, "-o", &text(&out)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    // A Windows-1252 export wrote Ł as '?'; the department did change.
    let file = write(
        dir.path(),
        "lossy.csv",
        "username,firstName,department\nana,?ucja,Legal\n",
    );
    let out = dir.path().join("lossy.results.csv");
    let args = ["import", &file, "-o", &text(&out)];
    against(&sandbox, &args).await.unwrap();
    let line = &read_csv(&out)[0];
    assert_eq!(line["outcome"], "updated", "{line:?}");
    assert!(line["error"].contains("lost letters"), "{line:?}");
    let ana = &users(&sandbox)["ana"];
    assert_eq!(ana.fields.first_name.as_deref(), Some("\u{141}ucja"));
    assert_eq!(ana.fields.department.as_deref(), Some("Legal"));

    // With nothing to compare with: a new hire named '?ukasz' is not
    // created, Bob's city is not made 'Gda?sk', and a U+FFFD cell is
    // never written over what the tenant holds.
    let file = write(
        dir.path(),
        "lossy2.csv",
        "username,email,firstName,lastName,city,department\n\
         lukasz,lukasz@example.com,?ukasz,Nowak,,Sales\n\
         bob,bob@example.com,Bob,Bee,Gda?sk,Legal\n\
         cara,cara@example.com,Cara,Cat,,Le\u{FFFD}al\n\
         ?ukasz,lukasz2@example.com,Lukasz,Nowak,,Sales\n\
         zofia,zofia@example.com,Zofia,\u{AF}\u{F3}\u{B3}\u{E6},,Sales\n",
    );
    let out = dir.path().join("lossy2.results.csv");
    let args = [
        "import",
        "--auto-password",
        "--skip-invalid",
        &file,
        "-o",
        &text(&out),
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert!(
        lines[0]["error"].contains("firstName '?ukasz'"),
        "{lines:?}"
    );
    assert_eq!(lines[1]["outcome"], "updated", "{lines:?}");
    assert!(lines[1]["error"].contains("city kept as ''"), "{lines:?}");
    assert_eq!(lines[2]["outcome"], "unchanged", "{lines:?}");
    assert!(
        lines[2]["error"].contains("department kept as 'Ops'"),
        "{lines:?}"
    );
    // A username with a '?' for a letter, and a Windows-1250 name read
    // as Windows-1252 (Żółć as ¯ó³æ), are not created either.
    assert_eq!(lines[3]["outcome"], "failed", "{lines:?}");
    assert_eq!(lines[4]["outcome"], "failed", "{lines:?}");
    let now = users(&sandbox);
    assert!(!now.contains_key("lukasz"));
    assert!(!now.contains_key("?ukasz") && !now.contains_key("zofia"));
    assert_eq!(now["bob"].fields.city, None);
    assert_eq!(now["bob"].fields.department.as_deref(), Some("Legal"));
    assert_eq!(now["cara"].fields.department.as_deref(), Some("Ops"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_a_batch_into_a_mid_sized_tenant_needs_no_flag() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::support::start_empty().await;
    let people = |from: usize, to: usize| {
        let mut text = String::from("username,email,firstName,lastName,groups\n");
        for i in from..to {
            text.push_str(&format!(
                "p{i:04},p{i:04}@example.com,P{i},Person,All Staff\n"
            ));
        }
        text
    };
    let tenant = write(dir.path(), "tenant.csv", &people(0, 600));
    let out = dir.path().join("tenant.results.csv");
    let args = [
        "import",
        &tenant,
        "--create-missing-groups",
        "-o",
        &text(&out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    // Fifty starters with default flags: onboarding is never refused.
    let batch = write(dir.path(), "starters.csv", &people(600, 650));
    let out = dir.path().join("starters.results.csv");
    let args = ["import", &batch, "-o", &text(&out)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(read_csv(&out).iter().all(|l| l["outcome"] == "created"));
    assert_eq!(users(&sandbox).len(), 650);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_keeps_a_created_user_someone_has_changed_since() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "hires.csv",
        "username,email,firstName,lastName,employeeNumber\n\
         nia,nia@example.com,Nia,Okoro,5001\n\
         ola,ola@example.com,Ola,Berg,5002\n\
         pat,pat@example.com,Pat,Chen,5003\n",
    );
    let results = dir.path().join("hires.results.csv");
    let args = ["import", &file, "-o", &text(&results)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    // Since the run: Nia got a phone number, Ola a group; Pat is as made.
    let api = crate::support::client(&sandbox);
    let by_name = |name: &str| users(&sandbox)[name].clone();
    let nia = by_name("nia");
    let mut body = sebulk::model::UserWrite::from_user(&nia);
    body.fields.mobile = Some("+44 7700 900123".into());
    api.update_user(&nia.id, &body).await.unwrap();
    let group = new_group(&api, "IT Admins").await;
    api.assign_groups(&by_name("ola").id, std::slice::from_ref(&group))
        .await
        .unwrap();
    let undone = dir.path().join("undo.csv");
    let (undone_text, results_text) = (text(&undone), text(&results));
    let args = [
        "undo",
        "--max-affected",
        "3",
        "-o",
        &undone_text,
        &results_text,
    ];
    let ended = against(&sandbox, &args).await.unwrap();
    assert_ne!(ended, Completion::Clean, "conflicts are problems");
    let after = users(&sandbox);
    assert!(after.contains_key("nia"), "changed since: kept");
    assert!(after.contains_key("ola"), "added to a group since: kept");
    assert!(!after.contains_key("pat"), "as made: deleted");
    let lines = read_csv(&undone);
    let row = |name: &str| lines.iter().find(|l| l["username"] == name).unwrap();
    assert!(row("nia")["error"].contains("mobile"), "{:?}", row("nia"));
    assert!(
        row("ola")["error"].contains("IT Admins"),
        "{:?}",
        row("ola")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_leaves_undo_every_user_it_created() {
    use crate::support::{config, sebulk, start, wait_for_writes};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.seed = sebulk::sandbox::Seed::Empty;
    slow.faults.latency = std::time::Duration::from_millis(30);
    let sandbox = start(slow).await;
    let tenant = write(
        dir.path(),
        "tenant.csv",
        "username,email,employeeNumber,groups\nana,ana@example.com,1,Staff\n",
    );
    let seeded = dir.path().join("tenant.results.csv");
    let args = [
        "import",
        &tenant,
        "--create-missing-groups",
        "-o",
        &text(&seeded),
    ];
    against(&sandbox, &args).await.unwrap();
    let before = sandbox.tenant().users().count();
    // Forty joiners, each into a group: their memberships wait for the
    // batch while their users are already created.
    let mut roster =
        String::from("username,email,employeeNumber,groups\nana,ana@example.com,1,Staff\n");
    for n in 2..=41 {
        roster.push_str(&format!("j{n:02},j{n:02}@example.com,{n},Staff\n"));
    }
    let roster = write(dir.path(), "roster.csv", &roster);
    let killed = dir.path().join("killed.csv");
    let writes = sandbox.counters().writes;
    let args = ["sync", &roster, "--max-joiners", "40", "-o", &text(&killed)];
    let mut child = sebulk(sandbox.base_url().as_str(), &args).spawn().unwrap();
    wait_for_writes(&sandbox, writes + 15).await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let created = sandbox.tenant().users().count() - before;
    assert!(
        (15..40).contains(&created),
        "killed midway: {created} created"
    );
    // Undo reads the killed run's journal: every user whose create was
    // answered is in it, memberships pending or not.
    let undone = dir.path().join("undo.csv");
    let args = [
        "undo",
        "--max-affected",
        "100",
        "--max-irreversible",
        "100",
        "-o",
        &text(&undone),
        &text(&killed),
    ];
    let _ = against(&sandbox, &args).await.unwrap();
    let left = sandbox.tenant().users().count() - before;
    assert!(
        left <= 16 && left < created,
        "{left} of {created} created users left after undo: only creates in flight at the kill may be"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_judges_a_plans_updates_as_the_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "disable.csv",
        "username,email,Enabled\n\
         ana,ana@example.com,FALSE\n\
         bob,bob@example.com,FALSE\n\
         cara,cara@example.com,FALSE\n\
         dan,dan@example.com,FALSE\n",
    );
    let plan = dir.path().join("plan.csv");
    // The plan is written whole, and says a real run would be refused:
    // the run ends refused, and its summary says so and why.
    let summary = dir.path().join("plan.json");
    let args = ["plan", &file, "-o", &text(&plan), "--summary-json"];
    let planned = against(&sandbox, &[&args[..], &[&text(&summary)]].concat()).await;
    assert!(planned.is_err(), "{planned:?}");
    assert!(plan.exists());
    let said: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let why = said["error"].as_str().unwrap_or_default();
    assert!(why.contains("--max-affected 4"), "{said}");
    assert_eq!(said["status"], "refused", "{said}");
    let writes = sandbox.counters().writes;
    let applied = dir.path().join("applied.csv");
    let args = ["apply", &text(&plan), "-o", &text(&applied)];
    let refused = against(&sandbox, &args).await.expect_err("over the guard");
    assert!(
        refused.to_string().contains("--max-affected 4"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing written");
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(true));
    // Named, it is applied, the four saved first.
    let args = [
        "apply",
        &text(&plan),
        "--max-affected",
        "4",
        "-o",
        &text(&applied),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(false));
    let snapshot = crate::support::file_in(dir.path(), ".snapshot-apply-").expect("a snapshot");
    crate::support::restore(&sandbox, &snapshot, dir.path())
        .await
        .unwrap();
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(true), "given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_never_hand_out_privilege_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let api = crate::support::client(&sandbox);
    for name in ["IT Admins", "Staff"] {
        new_group(&api, name).await;
    }
    let file = write(
        dir.path(),
        "members.csv",
        "user,type,target,action\n\
         ana,group,IT Admins,add\n\
         root,group,Staff,add\n\
         bob,group,Staff,add\n",
    );
    let out = dir.path().join("members.results.csv");
    let args = ["memberships", "import", &file, "-o", &text(&out)];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "protected", "{:?}", lines[0]);
    assert!(
        lines[0]["error"].contains("privileged group"),
        "{:?}",
        lines[0]
    );
    assert_eq!(
        lines[1]["outcome"], "protected",
        "the admin: {:?}",
        lines[1]
    );
    assert_eq!(lines[2]["outcome"], "updated", "{:?}", lines[2]);
    let ana = users(&sandbox)["ana"].id.clone();
    let groups = api
        .memberships_of(sebulk::model::TargetKind::Group, &ana)
        .await
        .unwrap();
    assert!(groups.is_empty(), "ana is in no group: {groups:?}");
    // Named, the addition is made.
    let named = dir.path().join("named.csv");
    let args = [
        "memberships",
        "import",
        &file,
        "--allow-privileged",
        "ana",
        "-o",
        &text(&named),
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(read_csv(&named)[0]["outcome"], "updated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_gives_a_privileged_group_back_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let api = crate::support::client(&sandbox);
    let admins = new_group(&api, "IT Admins").await;
    let ana = users(&sandbox)["ana"].id.clone();
    api.assign_groups(&ana, std::slice::from_ref(&admins))
        .await
        .unwrap();
    let leavers = write(dir.path(), "leavers.csv", "username\nana\n");
    let out = dir.path().join("off.csv");
    // A member of IT Admins is privileged: the offboarding names it so.
    let args = [
        "offboard",
        &leavers,
        "--action",
        "disable,revoke-access",
        "--include-privileged",
        "-o",
        &text(&out),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let groups = |sandbox: &sebulk::sandbox::SandboxHandle| {
        let api = crate::support::client(sandbox);
        let ana = ana.clone();
        async move {
            api.memberships_of(sebulk::model::TargetKind::Group, &ana)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
        }
    };
    assert!(groups(&sandbox).await.is_empty());
    let snapshot = crate::support::file_in(dir.path(), ".snapshot-offboard-").unwrap();
    let restored = dir.path().join("restored.csv");
    let args = ["restore", &text(&snapshot), "-o", &text(&restored)];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(
        enabled(&users(&sandbox), "ana"),
        Some(true),
        "enabled again"
    );
    assert!(groups(&sandbox).await.is_empty(), "IT Admins withheld");
    assert!(read_csv(&restored)[0]["error"].contains("IT Admins not given back"));
    let again = dir.path().join("again.csv");
    let args = [
        "restore",
        &text(&snapshot),
        "--include-privileged",
        "-o",
        &text(&again),
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(groups(&sandbox).await, ["IT Admins"]);
}

/// A password set hands the account to whoever knows it: a passwords file
/// naming the admin, a member of IT Admins and a protected service account
/// sets none of theirs unasked; the plain users' are set; naming the admin
/// with --allow-privileged sets its password too.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_of_privileged_or_protected_users_are_not_set_unasked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let api = crate::support::client(&sandbox);
    let admins = new_group(&api, "IT Admins").await;
    api.assign_groups(&users(&sandbox)["cara"].id, std::slice::from_ref(&admins))
        .await
        .unwrap();
    let file = write(
        dir.path(),
        "resets.csv",
        "username,password\n\
         root,Root-Taken-0ver!\n\
         cara,Cara-Taken-0ver!\n\
         svc-backup,Svc-Taken-0ver!\n\
         ana,Ana-New-Passw0rd!\n",
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let protect = write(dir.path(), "protect.txt", "svc-*  # service accounts\n");
    let times_set = |name: &str| crate::support::times_password_set(&sandbox, name);
    let before: Vec<u32> = ["root", "cara", "svc-backup", "ana"]
        .iter()
        .map(|n| times_set(n))
        .collect();
    let results = dir.path().join("resets.results.csv");
    let args = [
        "passwords",
        &file,
        "--protect",
        &protect,
        "-o",
        &text(&results),
    ];
    against(&sandbox, &args).await.unwrap();
    let lines = read_csv(&results);
    let row = |name: &str| lines.iter().find(|l| l["username"] == name).unwrap();
    for name in ["root", "cara", "svc-backup"] {
        assert_eq!(row(name)["outcome"], "protected", "{:?}", row(name));
    }
    assert!(row("root")["error"].contains("userType admin"));
    assert!(row("cara")["error"].contains("IT Admins"));
    assert!(row("svc-backup")["error"].contains("protected list"));
    assert_eq!(row("ana")["outcome"], "updated");
    assert_eq!(times_set("root"), before[0]);
    assert_eq!(times_set("cara"), before[1]);
    assert_eq!(times_set("svc-backup"), before[2]);
    assert_eq!(times_set("ana"), before[3] + 1);

    // Named, the admin's password is set.
    let again = dir.path().join("again.results.csv");
    let args = [
        "passwords",
        &file,
        "--protect",
        &protect,
        "--allow-privileged",
        "root",
        "-o",
        &text(&again),
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(times_set("root"), before[0] + 1);
    assert_eq!(times_set("cara"), before[1], "cara is not named");
}

/// `--create-missing-groups` creates nothing before the guard has judged
/// the run: a file the guard refuses leaves no new group behind, in
/// import and in sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_run_creates_none_of_its_missing_groups() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let roster = write(
        dir.path(),
        "roster.csv",
        "username,email,firstName,lastName,employeeNumber,department,Enabled,Groups\n\
         ana,ana@example.com,Ana,Ant,1001,Sales,FALSE,Brand New\n\
         bob,bob@example.com,Bob,Bee,1002,Sales,FALSE,Brand New\n\
         cara,cara@example.com,Cara,Cat,1003,Ops,FALSE,Brand New\n\
         dan,dan@example.com,Dan,Dog,1004,Ops,FALSE,Brand New\n\
         eve,eve@example.com,Eve,Eel,1005,Ops,FALSE,Brand New\n",
    );
    let writes = sandbox.counters().writes;
    let out = dir.path().join("import.csv");
    let args = [
        "import",
        "--create-missing-groups",
        &roster,
        "-o",
        &text(&out),
    ];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("everyone disabled");
    assert!(
        refused.to_string().contains("--max-affected 4"),
        "{refused}"
    );
    let sync_out = dir.path().join("sync.csv");
    let args = [
        "sync",
        "--create-missing-groups",
        &roster,
        "--as-of",
        "2026-12-03",
        "-o",
        &text(&sync_out),
    ];
    against(&sandbox, &args)
        .await
        .expect_err("everyone disabled");
    assert_eq!(sandbox.counters().writes, writes, "nothing was written");
    let api = crate::support::client(&sandbox);
    assert!(api.find_group_by_name("Brand New").await.unwrap().is_none());
    // Allowed, the group is made and the rows join it.
    let args = [
        "import",
        "--create-missing-groups",
        "--max-affected",
        "5",
        &roster,
        "-o",
        &text(&out),
    ];
    against(&sandbox, &args).await.unwrap();
    let group = api.find_group_by_name("Brand New").await.unwrap().unwrap();
    assert_eq!(api.group_users(&group.id).await.unwrap().len(), 5);
}

/// A privileged group is neither pruned nor given back unasked: `groups
/// import --prune` leaves IT Admins (protected) while it deletes the other
/// unlisted group, and undo of a memberships run that took someone out of
/// IT Admins does not put them back without --include-privileged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_groups_are_neither_pruned_nor_given_back_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let api = crate::support::client(&sandbox);
    let admins = new_group(&api, "IT Admins").await;
    new_group(&api, "Sales").await;
    new_group(&api, "Temp").await;
    api.assign_groups(&users(&sandbox)["ana"].id, std::slice::from_ref(&admins))
        .await
        .unwrap();

    // Ana leaves IT Admins (named), then the run is undone unasked.
    let change = write(
        dir.path(),
        "change.csv",
        "username,group,action\nana,IT Admins,remove\n",
    );
    let changed = dir.path().join("change.results.csv");
    let args = [
        "memberships",
        "import",
        &change,
        "--allow-privileged",
        "ana",
        "-o",
        &text(&changed),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let in_admins = || async {
        let members = api.group_users(&admins).await.unwrap();
        members
            .iter()
            .any(|u| u.fields.username.as_deref() == Some("ana"))
    };
    assert!(!in_admins().await);
    let undone = dir.path().join("undone.csv");
    let args = ["undo", "-o", &text(&undone), &text(&changed)];
    let ended = against(&sandbox, &args).await.unwrap();
    assert_ne!(ended, Completion::Clean, "withheld is said");
    assert!(!in_admins().await, "not put back unasked");
    assert!(read_csv(&undone)[0]["error"].contains("--include-privileged"));

    // A prune of every group but Sales: Temp goes, IT Admins stays.
    let groups = write(dir.path(), "groups.csv", "name\nSales\n");
    let pruned = dir.path().join("groups.results.csv");
    let args = [
        "groups",
        "import",
        &groups,
        "--prune",
        "--max-affected",
        "100%",
        "-o",
        &text(&pruned),
    ];
    against(&sandbox, &args).await.unwrap();
    assert!(api.find_group_by_name("Temp").await.unwrap().is_none());
    assert!(api.find_group_by_name("IT Admins").await.unwrap().is_some());
    let lines = read_csv(&pruned);
    let admins_line = lines.iter().find(|l| l["username"] == "IT Admins").unwrap();
    assert_eq!(admins_line["outcome"], "protected", "{admins_line:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_a_code_page_turned_into_question_marks_are_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let before = users(&sandbox);
    // 王伟 and a surname in Chinese, saved as Windows-1252: question marks.
    let file = write(
        dir.path(),
        "cjk.csv",
        "username,email,firstName,lastName,city,department\n\
         wei.wang,wei.wang@example.com,??,?,??,Sales\n\
         ana,ana@example.com,???,???,London,Sales\n",
    );
    let out = dir.path().join("cjk.results.csv");
    let args = ["import", "--auto-password", &file, "-o", &text(&out)];
    let done = against(&sandbox, &args).await.unwrap();
    assert_ne!(done, Completion::Clean);
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    let now = users(&sandbox);
    assert!(!now.contains_key("wei.wang"), "not created");
    assert_eq!(
        now["ana"].fields.first_name,
        before["ana"].fields.first_name
    );
    assert_eq!(now["ana"].fields.last_name, before["ana"].fields.last_name);
    assert_eq!(now["ana"].fields.city.as_deref(), Some("London"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_that_clears_or_repoints_everyones_key_name_type_or_phone_is_refused_before_any_write()
 {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let people = ["ana", "bob", "cara", "dan", "eve"];
    let cases = [
        (
            "employeeNumber",
            "<clear>",
            "re-key",
            "--max-identity-changes 5",
        ),
        (
            "lastName",
            "<clear>",
            "a name cleared",
            "--max-identity-changes 5",
        ),
        (
            "userType",
            "<clear>",
            "take access away",
            "--max-affected 5",
        ),
        // Where everyone's SMS codes would go: one phone.
        (
            "mobile",
            "+44 7700 900999",
            "mobile",
            "--max-identity-changes 5",
        ),
    ];
    for (column, value, class, flag) in cases {
        let mut file = format!("username,{column}\n");
        for name in people {
            file += &format!("{name},{value}\n");
        }
        let file = write(dir.path(), &format!("clear-{column}.csv"), &file);
        let writes = sandbox.counters().writes;
        let out = dir.path().join(format!("clear-{column}.results.csv"));
        let args = ["import", &file, "-o", &text(&out)];
        let refused = against(&sandbox, &args).await.expect_err(column);
        let message = refused.to_string();
        assert!(
            message.contains(class) && message.contains(flag),
            "{column}: {message}"
        );
        assert_eq!(
            sandbox.counters().writes,
            writes,
            "{column}: nothing written"
        );
    }
    let after = users(&sandbox);
    assert_eq!(after["ana"].fields.employee_number.as_deref(), Some("1001"));
    assert_eq!(after["ana"].fields.last_name.as_deref(), Some("Ant"));
}
