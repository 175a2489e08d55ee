//! One person, one account, on updates as on creates, whichever way the
//! rows are looked up (one by one for a single row, the tenant listed for
//! three): an update never gives one person's email or employee number to
//! another account, a username in full-width letters finds the account it
//! means, a row under another key whose username a same-named user holds
//! is that person (a conflict, never a second account), and groups are
//! created only for rows that are carried out. A tenant numbering its
//! pages from 0 without totals is caught before a listing loses a page.

use std::path::Path;

use sebulk::Completion;
use sebulk::sandbox::ListShape;

use super::sync::{tenant, users, write};
use crate::support::{against, config, read_csv, seed_tenant, start};

/// The server shapes the identity rules must hold on: the literal one,
/// pages capped below what was asked without totals (bare arrays), and
/// paged member lists on capped pages.
const SHAPES: [&str; 3] = [
    "literal",
    "capped pages without totals",
    "paged member lists",
];

/// The [`super::sync::TENANT`] users on a server of `shape`.
async fn shaped(dir: &Path, shape: &str) -> sebulk::sandbox::SandboxHandle {
    let mut config = config();
    config.seed = sebulk::sandbox::Seed::Empty;
    match shape {
        "capped pages without totals" => {
            config.variant.list_shape = ListShape::Array;
            config.faults.max_page_size = Some(3);
        }
        "paged member lists" => {
            config.variant.members_paged = true;
            config.faults.max_page_size = Some(3);
        }
        _ => {}
    }
    super::sync::seeded(dir, start(config).await).await
}

/// Rows that make the tenant be listed when added to a single row.
const LISTED: &str =
    "cara,cara@example.com,Cara,Cat,1003,Ops\ndan,dan@example.com,Dan,Dog,1004,Ops\n";

const HEADER: &str = "username,email,firstName,lastName,employeeNumber,department\n";

/// Imports `rows` (after [`HEADER`]) with `extra` arguments; the results.
async fn import(
    sandbox: &sebulk::sandbox::SandboxHandle,
    dir: &Path,
    rows: &str,
    extra: &[&str],
) -> (Completion, Vec<std::collections::BTreeMap<String, String>>) {
    let file = write(dir, "rows.csv", &format!("{HEADER}{rows}"));
    let results = dir.join("rows.results.csv");
    let mut args = vec!["import", "--auto-password", "--force", "-o"];
    args.push(results.to_str().unwrap());
    args.extend_from_slice(extra);
    args.push(&file);
    let done = against(sandbox, &args).await.unwrap();
    (done, read_csv(&results))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_never_gives_one_persons_email_or_number_to_another_account() {
    for (shape, listed) in SHAPES.iter().flat_map(|s| [(s, ""), (s, LISTED)]) {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = shaped(dir.path(), shape).await;
        let rows = format!("ana,bob@example.com,Ana,Ant,1001,Ops\n{listed}");
        let (done, lines) = import(&sandbox, dir.path(), &rows, &[]).await;
        assert_eq!(done, Completion::WithProblems, "{lines:?}");
        assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
        assert!(
            lines[0]["error"].contains("one person, one account")
                && lines[0]["error"].contains("'bob'"),
            "{lines:?}"
        );
        let now = users(&sandbox);
        assert_eq!(now["ana"].fields.email.as_deref(), Some("ana@example.com"));
        assert_eq!(now["ana"].fields.department.as_deref(), Some("Sales"));
    }
    // With the tenant listed, an employee number is seen too: the service
    // account (no number) is not given Ana's.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let rows = format!("svc-backup,svc@example.com,Svc,Backup,1001,IT\n{LISTED}");
    let (_, lines) = import(&sandbox, dir.path(), &rows, &[]).await;
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert_eq!(users(&sandbox)["svc-backup"].fields.employee_number, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_width_username_finds_the_account_it_means() {
    for listed in ["", LISTED] {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = tenant(dir.path()).await;
        let before = sandbox.tenant().users().count();
        let rows = format!("ｂｏｂ,bob@example.com,Bob,Bee,1002,Legal\n{listed}");
        let (done, lines) = import(&sandbox, dir.path(), &rows, &[]).await;
        assert_eq!(done, Completion::Clean, "{lines:?}");
        assert_eq!(lines[0]["outcome"], "updated", "{lines:?}");
        assert_eq!(
            sandbox.tenant().users().count(),
            before,
            "no second account"
        );
        assert_eq!(
            users(&sandbox)["bob"].fields.department.as_deref(),
            Some("Legal")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_under_another_key_whose_username_a_namesake_holds_is_that_person() {
    for (shape, listed) in SHAPES.iter().flat_map(|s| [(s, ""), (s, LISTED)]) {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = shaped(dir.path(), shape).await;
        let before = sandbox.tenant().users().count();
        // Ana under a new email and no number: most likely Ana.
        // Someone else given Bob's username: another person's account.
        let rows = format!(
            "ana,ana.ant@example.org,Ana,Ant,,Ops\nbob,zoe@example.org,Zoe,Zed,4001,Ops\n{listed}"
        );
        let (done, lines) = import(&sandbox, dir.path(), &rows, &["--match-by", "email"]).await;
        assert_eq!(done, Completion::WithProblems, "{lines:?}");
        assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
        assert!(
            lines[0]["error"].contains("most likely this person"),
            "{lines:?}"
        );
        assert_eq!(lines[1]["outcome"], "failed", "{lines:?}");
        assert!(
            lines[1]["error"].contains("belongs to another person"),
            "{lines:?}"
        );
        assert_eq!(sandbox.tenant().users().count(), before, "nothing created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_row_reusing_anyones_employee_number_is_not_a_second_account() {
    // A single row, by a namesake or by anyone: a row with a number has
    // the tenant listed (no filter finds users by number).
    let rows = [
        "cara.cat,cara.cat@example.org,Cara,Cat,1003,Ops\n",
        "newguy,x@example.org,New,Guy,1003,Ops\n",
    ];
    for (shape, row) in SHAPES.iter().flat_map(|s| rows.map(|r| (s, r))) {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = shaped(dir.path(), shape).await;
        let before = sandbox.tenant().users().count();
        let (_, lines) = import(&sandbox, dir.path(), row, &[]).await;
        assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
        assert!(
            lines[0]["error"].contains("employeeNumber '1003'"),
            "{lines:?}"
        );
        assert_eq!(sandbox.tenant().users().count(), before);
        // The plan says so too, rather than a create apply then refuses.
        let file = write(dir.path(), "one.csv", &format!("{HEADER}{row}"));
        let plan = dir.path().join("one.plan.csv");
        let args = ["plan", &file, "-o", plan.to_str().unwrap()];
        against(&sandbox, &args).await.unwrap();
        assert_eq!(read_csv(&plan)[0]["action"], "conflict");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_width_email_is_the_email_it_reads_as() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let before = sandbox.tenant().users().count();
    // Looked up one by one: Bob's email in full-width letters is Bob's.
    let rows = "new.bee,\u{FF42}ob@example.com,New,Bee,,Ops\n";
    let (_, lines) = import(&sandbox, dir.path(), rows, &[]).await;
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert!(
        lines[0]["error"].contains("one person, one account"),
        "{lines:?}"
    );
    let rows = "ana,\u{FF42}ob@example.com,Ana,Ant,,Ops\n";
    let (_, lines) = import(&sandbox, dir.path(), rows, &[]).await;
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert_eq!(sandbox.tenant().users().count(), before);
    assert_eq!(
        users(&sandbox)["ana"].fields.email.as_deref(),
        Some("ana@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_matched_by_email_naming_someone_else_takes_no_account_over() {
    for (shape, listed) in SHAPES.iter().flat_map(|s| [(s, ""), (s, LISTED)]) {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = shaped(dir.path(), shape).await;
        let rows = format!("mary.x,ana@example.com,Mary,Xu,,Ops\n{listed}");
        let (_, lines) = import(&sandbox, dir.path(), &rows, &["--match-by", "email"]).await;
        assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
        assert!(lines[0]["error"].contains("another person"), "{lines:?}");
        let now = users(&sandbox);
        assert_eq!(now["ana"].fields.first_name.as_deref(), Some("Ana"));
        assert!(!now.contains_key("mary.x"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_rows_carried_out_have_their_missing_groups_created() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "rows.csv",
        "username,email,groups\n\
         ana,bob@example.com,Phantom\n\
         cara,cara@example.com,Real\n",
    );
    let results = dir.path().join("rows.results.csv");
    let args = [
        "import",
        "--create-missing-groups",
        "-o",
        results.to_str().unwrap(),
        &file,
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&results);
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert_eq!(lines[1]["outcome"], "updated", "{lines:?}");
    let groups: Vec<String> = sandbox.tenant().groups().map(|g| g.name.clone()).collect();
    assert!(groups.contains(&"Real".to_string()), "{groups:?}");
    assert!(
        !groups.contains(&"Phantom".to_string()),
        "a refused row's group is not made: {groups:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_numbering_pages_from_zero_without_totals_is_caught_before_a_page_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.seed = sebulk::sandbox::Seed::Empty;
    config.variant.page_base = 0;
    config.variant.list_shape = ListShape::Array;
    let sandbox = start(config).await;
    // The tenant without its admin (made only when named).
    let people: Vec<&str> = super::sync::TENANT
        .lines()
        .filter(|l| !l.starts_with("root,"))
        .collect();
    seed_tenant(&sandbox, dir.path(), &people.join("\n")).await;
    let out = dir.path().join("users.csv");
    let out_text = out.to_str().unwrap().to_string();
    let export = |base: &'static str| -> Vec<String> {
        let args = [
            "--page-size",
            "2",
            "--page-base",
            base,
            "export",
            "users",
            "-o",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(out_text.clone());
        args
    };
    let refused = against(&sandbox, &refs(&export("1")))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("--page-base 0"), "{refused}");
    assert!(!out.exists(), "no export written");
    // With pages larger than the tenant, page "1" is empty: caught too.
    let args = ["export", "users", "-o", out.to_str().unwrap()];
    let refused = against(&sandbox, &args).await.unwrap_err().to_string();
    assert!(refused.contains("--page-base 0"), "{refused}");

    // A sync would have taken the first page's people for joiners.
    let writes = sandbox.counters().writes;
    let roster = write(dir.path(), "roster.csv", super::sync::ROSTER);
    let args = [
        "--page-size",
        "2",
        "sync",
        &roster,
        "--as-of",
        "2026-12-03",
        "--max-affected",
        "5",
    ];
    let refused = against(&sandbox, &args).await.unwrap_err().to_string();
    assert!(refused.contains("--page-base 0"), "{refused}");
    assert_eq!(sandbox.counters().writes, writes, "nothing sent");

    against(&sandbox, &refs(&export("0"))).await.unwrap();
    assert_eq!(read_csv(&out).len(), 6, "every user with the right base");
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_keyed_by_email_keeps_a_person_whose_email_changed() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let before = sandbox.tenant().users().count();
    // HR changed Ana's email and gives no number: the roster names her
    // under a key the tenant does not know.
    let roster = super::sync::ROSTER.replace(
        "ana,ana@example.com,Ana,Ant,1001,",
        "ana,ana.ant@example.org,Ana,Ant,,",
    );
    let roster = write(dir.path(), "roster.csv", &roster);
    let out = dir.path().join("sync.csv");
    let args = ["--match-by", "email"];
    let done = super::sync::sync(&sandbox, (&roster, "2026-12-03", "5"), &out, &args)
        .await
        .unwrap();
    assert_eq!(done, Completion::WithProblems);
    let outcomes = super::sync::outcomes(&out);
    assert_eq!(outcomes["ana"], "conflict", "{outcomes:?}");
    let now = users(&sandbox);
    assert_eq!(
        now["ana"].fields.is_enabled,
        Some(true),
        "not let go as absent"
    );
    assert_eq!(now["ana"].fields.email.as_deref(), Some("ana@example.com"));
    assert!(!now.contains_key("ana2"), "no second account");
    // The roster's joiners within the window (Fay, Gus) are made; nobody else.
    assert_eq!(sandbox.tenant().users().count(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_user_in_a_privileged_group_is_privileged_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let admins = sandbox
        .tenant()
        .groups()
        .find(|g| g.name == "IT Admins")
        .unwrap()
        .id
        .clone();
    let yuki = crate::support::user_named(&sandbox, "yuki.tanaka")
        .id
        .clone();
    crate::support::client(&sandbox)
        .assign_groups(&yuki, &[admins])
        .await
        .unwrap();
    let email = |sandbox: &sebulk::sandbox::SandboxHandle| {
        crate::support::user_named(sandbox, "yuki.tanaka")
            .fields
            .email
            .clone()
    };
    let before = email(&sandbox);
    // An import re-pointing her email: not made unless she is named.
    let file = write(
        dir.path(),
        "moved.csv",
        "username,email\nyuki.tanaka,attacker@evil.example\n",
    );
    let out = dir.path().join("moved.results.csv");
    let args = ["import", &file, "-o", out.to_str().unwrap()];
    against(&sandbox, &args).await.unwrap();
    let line = &read_csv(&out)[0];
    assert_eq!(line["outcome"], "protected", "{line:?}");
    assert!(line["error"].contains("IT Admins"), "{line:?}");
    assert_eq!(email(&sandbox), before);
    // Nor does an offboarding disable her.
    let leavers = write(dir.path(), "leavers.csv", "username\nyuki.tanaka\n");
    let out = dir.path().join("leavers.results.csv");
    let args = [
        "offboard",
        "--action",
        "disable",
        &leavers,
        "-o",
        out.to_str().unwrap(),
    ];
    let _ = against(&sandbox, &args).await;
    assert_eq!(
        crate::support::user_named(&sandbox, "yuki.tanaka")
            .fields
            .is_enabled,
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_letters_never_reach_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let before = sandbox.tenant().users().count();
    // A new user whose email hides a Cyrillic а; Ana renamed (matched by
    // email) to a username with one; Bob's city in a mixed-up encoding.
    let rows = "ann.x,\u{430}nn.x@example.com,Ann,Xu,,Ops\n\
                \u{430}na,ana@example.com,Ana,Ant,,Ops\n\
                bob,bob@example.com,Bob,M\u{413}\u{458}ller,,Ops\n";
    let (_, lines) = import(&sandbox, dir.path(), rows, &["--match-by", "email"]).await;
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert!(lines[0]["error"].contains("looks garbled"), "{lines:?}");
    assert!(
        lines[1]["error"].contains("username kept as 'ana'"),
        "{lines:?}"
    );
    assert!(
        lines[2]["error"].contains("lastName kept as 'Bee'"),
        "{lines:?}"
    );
    let now = users(&sandbox);
    assert_eq!(sandbox.tenant().users().count(), before);
    assert!(now.contains_key("ana"));
    assert_eq!(now["bob"].fields.last_name.as_deref(), Some("Bee"));
    // A group named with a Greek Ε beside no such group is never made.
    let file = write(
        dir.path(),
        "groups.csv",
        "username,groups\ncara,\u{395}ngineering\n",
    );
    let out = dir.path().join("groups.results.csv");
    let args = [
        "import",
        "--create-missing-groups",
        "-o",
        out.to_str().unwrap(),
        &file,
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(read_csv(&out)[0]["outcome"], "failed");
    assert_eq!(sandbox.tenant().groups().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_naming_only_a_username_and_two_other_names_takes_no_account_over() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let file = write(
        dir.path(),
        "names.csv",
        "username,firstName,lastName\nana,Totally,Different\nbob,Bob,Bee-Married\n",
    );
    let out = dir.path().join("names.results.csv");
    let args = ["import", &file, "-o", out.to_str().unwrap()];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    assert!(lines[0]["error"].contains("another person"), "{lines:?}");
    assert_eq!(
        lines[1]["outcome"], "updated",
        "one name changed: {lines:?}"
    );
    let now = users(&sandbox);
    assert_eq!(now["ana"].fields.first_name.as_deref(), Some("Ana"));
    assert_eq!(now["bob"].fields.last_name.as_deref(), Some("Bee-Married"));
}
