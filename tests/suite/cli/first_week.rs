//! The rough edges a newcomer met in the first week, each as they met it.

use std::path::Path;

use sebulk::Completion;

use crate::support::{against, read_csv, start_empty};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_needs_an_email_only_for_a_user_it_creates() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let first = write(
        dir.path(),
        "first.csv",
        "username,email,department\nana,ana@example.com,Sales\n",
    );
    let out = dir.path().join("first.results.csv");
    let args = ["import", &first, "-o", out.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);

    // A change feed of usernames and departments: Ana exists, Ben does not.
    let feed = write(
        dir.path(),
        "feed.csv",
        "username,department\nana,Ops\nben,Ops\n",
    );
    let out = dir.path().join("feed.results.csv");
    let args = ["import", &feed, "-o", out.to_str().unwrap()];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "updated");
    assert_eq!(lines[1]["outcome"], "failed");
    assert!(
        lines[1]["error"].contains("a new user needs email"),
        "{:?}",
        lines[1]
    );
    let tenant = sandbox.tenant();
    let ana = tenant.user_by_username("ana").unwrap().public();
    assert_eq!(ana.fields.department.as_deref(), Some("Ops"));
    assert!(tenant.user_by_username("ben").is_err());
    drop(tenant);
    // --mode create still wants every row's email offline.
    let args = ["validate", &feed, "--mode", "create"];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_runs_results_repeat_the_files_own_columns_and_mask_its_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let file = write(
        dir.path(),
        "hr.csv",
        "Login,Mail,Start Date,Office,Pwd\nana,ana@example.com,2026-12-01,Leeds,Sup3r-Secret-99!\n",
    );
    let mapping = write(
        dir.path(),
        "hr.toml",
        "[options]\nauto = false\n\n[fields]\nusername = \"Login\"\nemail = \"Mail\"\npassword = \"Pwd\"\n",
    );
    let out = dir.path().join("hr.results.csv");
    let args = [
        "import",
        &file,
        "--mapping",
        &mapping,
        "-o",
        out.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("Sup3r-Secret"), "{text}");
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(",Login,Mail,Start Date,Office,Pwd"),
        "the file's own columns, once: {header}"
    );
    let lines = read_csv(&out);
    assert_eq!(lines[0]["outcome"], "created");
    assert_eq!(lines[0]["username"], "ana");
    assert_eq!(lines[0]["Office"], "Leeds");
    assert_eq!(lines[0]["Start Date"], "2026-12-01");
    assert_eq!(lines[0]["Pwd"], "********");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_names_the_earlier_snapshot_that_gives_back_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let first = write(
        dir.path(),
        "first.csv",
        "username,email,groups\nana,ana@example.com,Staff\nbob,bob@example.com,Staff\n",
    );
    let out = dir.path().join("first.results.csv");
    let args = [
        "import",
        &first,
        "--create-missing-groups",
        "-o",
        out.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let leaver = write(dir.path(), "leaver.csv", "username\nana\n");
    let disabled = dir.path().join("disable.csv");
    let args = [
        "offboard",
        &leaver,
        "--action",
        "disable,revoke-access",
        "--max-affected",
        "1",
        "-o",
        disabled.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let deleted = dir.path().join("delete.csv");
    let args = [
        "offboard",
        &leaver,
        "--action",
        "delete",
        "--max-affected",
        "1",
        "-o",
        deleted.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let snapshot =
        |stem: &str| crate::support::file_in(dir.path(), &format!("{stem}.snapshot-")).unwrap();
    let (first_snapshot, second_snapshot) = (snapshot("disable"), snapshot("delete"));

    let summary = dir.path().join("restore.json");
    let restored = dir.path().join("restore.csv");
    let args = [
        "restore",
        second_snapshot.to_str().unwrap(),
        "-o",
        restored.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let earlier = &summary["earlier_snapshots"];
    assert_eq!(earlier.as_array().map(Vec::len), Some(1), "{summary}");
    assert_eq!(earlier[0]["path"], first_snapshot.display().to_string());
    assert_eq!(earlier[0]["users"], 1);
    assert!(
        earlier[0]["purpose"]
            .as_str()
            .unwrap()
            .contains("disable,revoke-access")
    );
    let ana = sandbox.tenant().user_by_username("ana").unwrap().public();
    assert_eq!(
        ana.fields.is_enabled,
        Some(false),
        "back as the delete found her"
    );

    // The earlier snapshot, restored next, gives back the rest.
    let again = dir.path().join("restore-first.csv");
    let args = [
        "restore",
        first_snapshot.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let tenant = sandbox.tenant();
    let ana = tenant.user_by_username("ana").unwrap().public();
    assert_eq!(ana.fields.is_enabled, Some(true));
    let groups: Vec<String> = tenant
        .groups_of(&ana.id)
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, ["Staff"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_knows_membership_and_group_exports() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::support::start(crate::support::config()).await;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let export = |what: &'static str, out: String| {
        let sandbox = &sandbox;
        async move {
            let args = ["export", what, "-o", &out];
            against(sandbox, &args).await.unwrap()
        }
    };
    export("memberships", path("m1.csv")).await;
    export("groups", path("g1.csv")).await;
    // One membership added.
    let feed = write(
        dir.path(),
        "add.csv",
        "username,email,groups\nnew.hire,new.hire@example.com,Staff\n",
    );
    let out = path("add.results.csv");
    let args = ["import", &feed, "--create-missing-groups", "-o", &out];
    against(&sandbox, &args).await.unwrap();
    export("memberships", path("m2.csv")).await;
    export("groups", path("g2.csv")).await;

    let summary = path("diff.json");
    let changes = path("m.diff.csv");
    let args = [
        "diff",
        &path("m1.csv"),
        &path("m2.csv"),
        "-o",
        &changes,
        "--summary-json",
        &summary,
        "--exit-code",
    ];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::Differences,
        "1: differences"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["compared"], "memberships");
    assert_eq!(
        (json["added"].as_u64(), json["removed"].as_u64()),
        (Some(1), Some(0))
    );
    let lines = read_csv(Path::new(&changes));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["change"], "added");
    assert_eq!(lines[0]["username"], "new.hire");
    assert_eq!(lines[0]["new"], "Staff");

    let args = [
        "diff",
        &path("g1.csv"),
        &path("g2.csv"),
        "-o",
        &path("g.diff.csv"),
        "--force",
        "--summary-json",
        &summary,
    ];
    against(&sandbox, &args).await.unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["compared"], "groups");
    assert!(
        json["added"].as_u64().unwrap() + json["changed"].as_u64().unwrap() >= 1,
        "{json}"
    );

    // A users export against a groups export is refused, naming both.
    export("users", path("u.csv")).await;
    let args = [
        "diff",
        &path("u.csv"),
        &path("g2.csv"),
        "-o",
        &path("x.csv"),
    ];
    let refused = against(&sandbox, &args).await.expect_err("two kinds");
    assert!(refused.to_string().contains("groups export"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_report_with_title_lines_is_read_from_its_header_with_true_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let report = write(
        dir.path(),
        "report.csv",
        "Employee report,,\nRun on 2026-11-29,,\nusername,email,department\nana,ana@example.com,Sales\nbo,not-an-email,Ops\n",
    );
    let out = dir.path().join("problems.csv");
    let args = ["validate", &report, "-o", out.to_str().unwrap()];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let problems = read_csv(&out);
    assert!(
        problems[0]["problem"].contains("below 2 title line(s)"),
        "{problems:?}"
    );
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{problems:?}");
    assert_eq!(errors[0]["line"], "5", "the line in the file");

    // mapping init starts from the real header.
    let mapping = dir.path().join("m.toml");
    let args = ["mapping", "init", &report, "-o", mapping.to_str().unwrap()];
    against(&sandbox, &args).await.unwrap();
    let text = std::fs::read_to_string(&mapping).unwrap();
    assert!(text.contains("department"), "{text}");
    assert!(!text.contains("Employee report"), "{text}");

    // A header nobody can find is pointed at --header-row.
    let odd = write(
        dir.path(),
        "odd.csv",
        "Kennung,Postfach\nana,ana@example.com\n",
    );
    let out = dir.path().join("odd.problems.csv");
    let args = ["validate", &odd, "-o", out.to_str().unwrap()];
    assert_eq!(
        against(&sandbox, &args).await.unwrap(),
        Completion::WithProblems
    );
    let problems = std::fs::read_to_string(&out).unwrap();
    assert!(problems.contains("--header-row"), "{problems}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_examples_and_a_manual_page() {
    let mut command = sebulk::command_line();
    command.build();
    let mut missing = Vec::new();
    let mut stack: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .cloned()
        .collect();
    while let Some(mut sub) = stack.pop() {
        stack.extend(
            sub.get_subcommands()
                .filter(|c| c.get_name() != "help")
                .cloned(),
        );
        if sub.has_subcommands() {
            continue;
        }
        let help = sub.render_long_help().to_string();
        if !help.contains("Examples:\n  sebulk ") {
            missing.push(format!(
                "{}: {}",
                sub.get_name(),
                &help[help.len().saturating_sub(120)..]
            ));
        }
    }
    assert!(missing.is_empty(), "no examples in: {missing:?}");

    let dir = tempfile::tempdir().unwrap();
    crate::support::write_man_pages(dir.path()).await;
    for page in [
        "sebulk.1",
        "sebulk-import.1",
        "sebulk-sync.1",
        "sebulk-groups-import.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let output = crate::support::process().arg("man").output().await.unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains(".TH SEBULK 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_offer_every_value_list() {
    let output = crate::support::process()
        .args(["completions", "bash"])
        .output()
        .await
        .unwrap();
    let script = String::from_utf8_lossy(&output.stdout);
    for list in [
        "entra google okta jumpcloud ad bamboohr",
        "disable lock revoke-access remove-second-factor delete",
        "username email employeeNumber",
        "upsert create update",
        "csv jsonl",
        "utf-8 utf-16le utf-16be windows-1252",
        "suffix fail",
    ] {
        assert!(script.contains(list), "no '{list}' in the bash completions");
    }
    // A value not offered but valid still passes; a wrong one is a usage error.
    let output = crate::support::process()
        .args(["validate", "--encoding", "koi8-r", "/nonexistent.csv"])
        .output()
        .await
        .unwrap();
    assert_ne!(output.status.code(), Some(2), "koi8-r is an encoding");
    let output = crate::support::process()
        .args(["plan", "--preset", "oktaa", "x.csv"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("okta"));
}
