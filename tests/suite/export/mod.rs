//! Export and diff end to end against the in-process sandbox.

use std::path::Path;
use std::time::Duration;

use sebulk::Completion;
use sebulk::sandbox::{SandboxConfig, SandboxHandle, Seed};

use crate::support::{client, config, new_user, read_csv, sebulk_in_process, start};

/// A tenant of `users` users in the demo groups, seeded from a file.
fn seeded(dir: &Path, users: usize) -> SandboxConfig {
    let people: Vec<serde_json::Value> = (0..users)
        .map(|i| {
            serde_json::json!({
                "username": format!("person{i:04}"),
                "email": format!("person{i:04}@example.com"),
                "firstName": if i == 3 { "=HYPERLINK(\"http://evil\")".to_string() } else { format!("First{i}") },
                "department": format!("Dept {}", i % 7),
                "mobile": format!("+44 7700 {i:06}"),
                "isEnabled": i % 5 != 0,
                "customAttributes": if i % 2 == 0 { serde_json::json!([{"name": "Cost Centre", "value": format!("CC{}", i % 3)}]) } else { serde_json::json!([]) },
                "groups": ["All Staff", if i % 2 == 0 { "Sales" } else { "Engineering" }],
                "applications": if i % 3 == 0 { serde_json::json!(["Slack"]) } else { serde_json::json!([]) },
            })
        })
        .collect();
    let path = crate::support::demo_seed_with(dir, people);
    let mut config = config();
    config.seed = Seed::File(path);
    config
}

async fn export(sandbox: &SandboxHandle, args: &[&str]) -> Completion {
    let mut argv = vec!["export"];
    argv.extend_from_slice(args);
    crate::support::against(sandbox, &argv)
        .await
        .expect("the export runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_user_once_despite_capped_pages_latency_and_503s() {
    let dir = tempfile::tempdir().unwrap();
    let mut faulty = seeded(dir.path(), 230);
    faulty.faults.max_page_size = Some(7);
    faulty.faults.latency = Duration::from_millis(2);
    faulty.faults.fail_rate = 0.1;
    faulty.faults.seed = 5;
    let sandbox = start(faulty).await;
    let out = dir.path().join("users.csv");
    let out_text = out.display().to_string();
    assert_eq!(
        export(&sandbox, &["users", "-o", &out_text]).await,
        Completion::Clean
    );
    let rows = read_csv(&out);
    let mut names: Vec<String> = rows.iter().map(|r| r["username"].clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(rows.len(), 230);
    assert_eq!(names.len(), rows.len(), "each user exactly once");
    assert!(sandbox.counters().failed > 0, "503s were met");
    assert!(!rows[0].contains_key("password"));
    assert!(rows.iter().any(|r| r["custom.Cost Centre"] == "CC2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_back_unchanged_with_zero_writes() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 60)).await;
    let out = dir.path().join("users.csv");
    let out_text = out.display().to_string();
    assert_eq!(
        export(
            &sandbox,
            &["users", "--include", "groups,applications", "-o", &out_text]
        )
        .await,
        Completion::Clean
    );
    let rows = read_csv(&out);
    let evil = rows.iter().find(|r| r["username"] == "person0003").unwrap();
    assert_eq!(
        evil["firstName"], "'=HYPERLINK(\"http://evil\")",
        "formulas are neutralized"
    );
    assert_eq!(
        evil["mobile"], "+44 7700 000003",
        "a phone number is not a formula: written as it is"
    );
    assert_eq!(evil["groups"], "All Staff;Engineering");

    let writes = sandbox.counters().writes;
    let url = sandbox.base_url().to_string();
    let results = dir.path().join("results.csv").display().to_string();
    let completion = sebulk_in_process(&[
        "--base-url",
        &url,
        "--rate",
        "500",
        "import",
        "--results",
        &results,
        &out_text,
    ])
    .await
    .unwrap();
    assert_eq!(completion, Completion::Clean);
    assert!(
        read_csv(Path::new(&results))
            .iter()
            .all(|r| r["outcome"] == "unchanged")
    );
    assert_eq!(sandbox.counters().writes, writes, "zero write calls");

    let raw = dir.path().join("raw.csv");
    let raw_text = raw.display().to_string();
    export(
        &sandbox,
        &["users", "--no-sanitize", "--excel", "-o", &raw_text],
    )
    .await;
    let bytes = std::fs::read(&raw).unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "--excel writes a BOM"
    );
    assert!(
        String::from_utf8_lossy(&bytes).contains(",\"=HYPERLINK("),
        "--no-sanitize writes cells as they are"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_byte_identical_and_private_and_never_clobber() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 40)).await;
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    for path in [&a, &b] {
        let text = path.display().to_string();
        export(&sandbox, &["users", "--include", "groups", "-o", &text]).await;
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let url = sandbox.base_url().to_string();
    let a_text = a.display().to_string();
    let refused = sebulk_in_process(&["--base-url", &url, "export", "users", "-o", &a_text]).await;
    assert!(refused.is_err(), "an existing file needs --force");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_applications_and_memberships() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 30)).await;
    let tenant = sandbox.tenant();
    let (groups, apps, members) = (
        dir.path().join("g.csv"),
        dir.path().join("a.jsonl"),
        dir.path().join("m.csv"),
    );
    let [g, a, m] = [&groups, &apps, &members].map(|p| p.display().to_string());
    export(&sandbox, &["groups", "-o", &g]).await;
    export(&sandbox, &["applications", "--format", "jsonl", "-o", &a]).await;
    export(&sandbox, &["memberships", "-o", &m]).await;
    let group_rows = read_csv(&groups);
    assert_eq!(group_rows.len(), tenant.groups().count());
    for row in &group_rows {
        let expected = tenant.members_of_group(&row["id"]).unwrap().len();
        assert_eq!(row["members"], expected.to_string(), "{}", row["name"]);
    }
    let app_lines: Vec<serde_json::Value> = std::fs::read_to_string(&apps)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(app_lines.len(), tenant.applications().count());
    let slack = app_lines.iter().find(|a| a["name"] == "Slack").unwrap();
    assert_eq!(
        slack["users"].as_u64().unwrap() as usize,
        tenant
            .users_of_application(slack["id"].as_str().unwrap())
            .unwrap()
            .len()
    );
    let pairs = read_csv(&members);
    let expected: usize = tenant
        .users()
        .map(|u| tenant.groups_of(&u.id).len() + tenant.applications_of(&u.id).len())
        .sum();
    assert_eq!(pairs.len(), expected);
}

/// Starts a slow export over an existing `users.csv` in `dir`, sends it
/// `signal` once it is under way, and returns its exit code.
#[cfg(unix)]
/// `sebulk export users` against `sandbox`, ten users a page at 20
/// requests/s (the output still to name), killed with the test.
fn slow_export(sandbox: &SandboxHandle) -> tokio::process::Command {
    let mut command = crate::support::process();
    command
        .env("SEBULK_API_KEY", crate::support::KEY)
        .args(["--base-url", sandbox.base_url().as_str()])
        .args(["--page-size", "10", "--rate", "20", "export", "users"])
        .kill_on_drop(true);
    command
}

async fn interrupt_export(dir: &std::path::Path, signal: &str) -> Option<i32> {
    let mut slow = seeded(dir, 300);
    slow.faults.latency = Duration::from_millis(100);
    let sandbox = start(slow).await;
    let out = dir.join("users.csv");
    let mut child = slow_export(&sandbox)
        .args(["--force", "-o"])
        .arg(&out)
        .spawn()
        .unwrap();
    while sandbox.counters().requests < 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().unwrap().to_string();
    tokio::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .await
        .unwrap();
    child.wait().await.unwrap().code()
}

#[cfg(unix)]
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut entries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    entries
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_export_leaves_the_old_file_and_no_temporary() {
    for signal in ["TERM", "INT", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("users.csv");
        std::fs::write(&out, "yesterday's export\n").unwrap();
        assert_eq!(
            interrupt_export(dir.path(), signal).await,
            Some(130),
            "SIG{signal}"
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "yesterday's export\n"
        );
        assert_eq!(
            entries(dir.path()),
            vec!["seed.json", "users.csv"],
            "no partial file left behind after SIG{signal}"
        );
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_exports_partial_file_is_removed_by_the_next_export() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("users.csv");
    std::fs::write(&out, "yesterday's export\n").unwrap();
    assert_eq!(interrupt_export(dir.path(), "KILL").await, None);
    let left: Vec<String> = entries(dir.path())
        .into_iter()
        .filter(|e| e.ends_with(".partial"))
        .collect();
    assert_eq!(
        left.len(),
        1,
        "SIGKILL cannot be cleaned up after: {left:?}"
    );

    let sandbox = start(seeded(dir.path(), 30)).await;
    export(&sandbox, &["users", "--force", "-o", out.to_str().unwrap()]).await;
    assert_eq!(
        entries(dir.path()),
        vec!["seed.json", "users.csv"],
        "the next export into the folder removes the dead run's file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_finds_exactly_the_joiners_leavers_and_movers() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 25)).await;
    let (before, after, report) = (
        dir.path().join("before.csv"),
        dir.path().join("after.csv"),
        dir.path().join("diff.csv"),
    );
    let [b, a, r] = [&before, &after, &report].map(|p| p.display().to_string());
    export(&sandbox, &["users", "--include", "groups", "-o", &b]).await;

    let api = client(&sandbox);
    api.create_user(&new_user("joiner.one")).await.unwrap();
    let leaver = api
        .find_user_by_username("person0007")
        .await
        .unwrap()
        .unwrap();
    api.delete_user(&leaver.id).await.unwrap();
    let mover = api
        .find_user_by_username("person0010")
        .await
        .unwrap()
        .unwrap();
    let mut body = sebulk::model::UserWrite::from_user(&mover);
    body.fields.department = Some("Finance".into());
    api.update_user(&mover.id, &body).await.unwrap();
    let finance = api.find_group_by_name("Finance").await.unwrap().unwrap();
    api.assign_groups(&mover.id, std::slice::from_ref(&finance.id))
        .await
        .unwrap();
    export(&sandbox, &["users", "--include", "groups", "-o", &a]).await;

    let completion = sebulk_in_process(&["diff", &b, &a, "-o", &r])
        .await
        .unwrap();
    assert_eq!(completion, Completion::Clean);
    let lines = read_csv(&report);
    let mut summary: Vec<[&str; 5]> = lines
        .iter()
        .map(|l| {
            [
                l["change"].as_str(),
                l["username"].as_str(),
                l["field"].as_str(),
                l["old"].as_str(),
                l["new"].as_str(),
            ]
        })
        .collect();
    // Joiners and movers come in the new file's order, leavers last.
    assert_eq!(summary.last().unwrap()[0], "leaver");
    summary.sort();
    assert_eq!(
        summary,
        vec![
            ["joiner", "joiner.one", "", "", ""],
            ["leaver", "person0007", "", "", ""],
            ["mover", "person0010", "department", "Dept 3", "Finance"],
            [
                "mover",
                "person0010",
                "groups",
                "All Staff;Sales",
                "All Staff;Finance;Sales"
            ],
        ],
        "{lines:?}"
    );
    assert_eq!(lines[0]["key"].len(), 36, "matched on user_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_tells_leavers_and_rehires_by_is_enabled_and_reports_without_o() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 15)).await;
    let (before, after) = (dir.path().join("before.csv"), dir.path().join("after.csv"));
    let [b, a] = [&before, &after].map(|p| p.display().to_string());
    export(&sandbox, &["users", "-o", &b]).await;
    let api = client(&sandbox);
    // person0011 is disabled, person0005 (disabled in the seed) enabled
    // again, person0012 moves.
    for (name, change) in [("person0011", 0), ("person0005", 1), ("person0012", 2)] {
        let user = api.find_user_by_username(name).await.unwrap().unwrap();
        let mut body = sebulk::model::UserWrite::from_user(&user);
        match change {
            0 => body.fields.is_enabled = Some(false),
            1 => body.fields.is_enabled = Some(true),
            _ => body.fields.department = Some("Finance".into()),
        }
        api.update_user(&user.id, &body).await.unwrap();
    }
    export(&sandbox, &["users", "-o", &a]).await;
    // Without -o: the changes on standard output, the report lists them too.
    let (summary, report) = (dir.path().join("s.json"), dir.path().join("r.html"));
    let output = crate::support::process()
        .args(["diff", &b, &a, "--summary-json", summary.to_str().unwrap()])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(
        said.contains("0 joiners, 1 leavers, 1 rehires, 1 movers"),
        "the screen: {said}"
    );
    let mut changes: Vec<[String; 5]> = csv::Reader::from_reader(&output.stdout[..])
        .deserialize::<std::collections::BTreeMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            ["change", "username", "field", "old", "new"].map(|c| r[c].clone())
        })
        .collect();
    changes.sort();
    let line = |c: &str, u: &str, f: &str, o: &str, n: &str| [c, u, f, o, n].map(str::to_string);
    assert_eq!(
        changes,
        [
            line("leaver", "person0011", "isEnabled", "true", "false"),
            line("mover", "person0012", "department", "Dept 5", "Finance"),
            line("rehire", "person0005", "isEnabled", "false", "true"),
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        [&summary["leavers"], &summary["rehires"], &summary["movers"]],
        [1, 1, 1]
    );
    let page = std::fs::read_to_string(&report).unwrap();
    for (kind, user) in [
        ("leaver", "person0011"),
        ("rehire", "person0005"),
        ("mover", "person0012"),
    ] {
        let row = page
            .lines()
            .find(|l| l.contains(&format!("<tr data-outcome=\"{kind}\">")))
            .unwrap_or_else(|| panic!("no {kind} row in the report"));
        assert!(row.contains(user), "{row}");
    }
    assert!(page.contains("rehires"), "the count is charted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factors_name_each_users_factor_types_and_never_their_data() {
    use sebulk::model::{Credentials, Factor};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = seeded(dir.path(), 40);
    slow.faults.max_page_size = Some(9);
    slow.faults.fail_rate = 0.05;
    slow.faults.seed = 11;
    let sandbox = start(slow).await;
    let api = client(&sandbox);
    let ids: Vec<(String, String)> = sandbox
        .tenant()
        .users()
        .map(|u| (u.fields.username.clone().unwrap_or_default(), u.id.clone()))
        .collect();
    let second = |name: &str| match name {
        "person0001" | "person0007" => "sms",
        "person0020" => "softtoken",
        "person0030" => "none",
        _ => "",
    };
    for (name, id) in &ids {
        let kind = second(name);
        if !kind.is_empty() {
            let credentials = Credentials {
                id: id.clone(),
                first_factor: None,
                second_factor: Some(Factor {
                    kind: kind.into(),
                    ..Factor::default()
                }),
            };
            api.set_credentials(id, &credentials).await.unwrap();
        }
    }
    let out = dir.path().join("factors.csv");
    let summary = dir.path().join("summary.json");
    let [o, s] = [&out, &summary].map(|p| p.display().to_string());
    let args = ["factors", "-o", &o, "--summary-json", &s];
    assert_eq!(export(&sandbox, &args).await, Completion::Clean);
    let rows = read_csv(&out);
    assert_eq!(rows.len(), ids.len());
    for (name, id) in &ids {
        let row = rows.iter().find(|r| &r["username"] == name).unwrap();
        assert_eq!(&row["user_id"], id);
        // No second factor is written `none`, never left empty.
        let expected = match second(name) {
            "" => "none",
            kind => kind,
        };
        assert_eq!(row["second_factor"], expected, "{name}");
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("factor-secret"),
        "factor data leaked:\n{text}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["entity"], "factors");
    assert_eq!(summary["without_second_factor"], ids.len() as u64 - 3);
    assert_eq!(summary["records"], ids.len() as u64);

    let jsonl = dir.path().join("factors.jsonl");
    let j = jsonl.display().to_string();
    let args = [
        "factors",
        "--format",
        "jsonl",
        "-o",
        &j,
        "--filter",
        "username=person002",
    ];
    assert_eq!(export(&sandbox, &args).await, Completion::Clean);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "person0020..person0029");
    let totp = lines
        .iter()
        .find(|l| l["username"] == "person0020")
        .unwrap();
    assert_eq!(totp["second_factor"], "softtoken");

    // The audit's question: who has no second factor?
    let without = dir.path().join("without.csv");
    let w = without.display().to_string();
    let args = ["factors", "-o", &w, "--filter", "second_factor=none"];
    assert_eq!(export(&sandbox, &args).await, Completion::Clean);
    let rows = read_csv(&without);
    assert_eq!(
        rows.len(),
        ids.len() - 3,
        "everyone but the sms and softtoken users"
    );
    assert!(rows.iter().all(|r| r["second_factor"] == "none"));
    let sms = dir.path().join("sms.csv");
    let args = [
        "factors",
        "-o",
        sms.to_str().unwrap(),
        "--filter",
        "second_factor=SMS",
    ];
    assert_eq!(export(&sandbox, &args).await, Completion::Clean);
    let names: Vec<String> = read_csv(&sms)
        .into_iter()
        .map(|r| r["username"].clone())
        .collect();
    assert_eq!(names, ["person0001", "person0007"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_exports_filter_on_any_user_field() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(seeded(dir.path(), 30)).await;
    let users: Vec<sebulk::model::User> = sandbox.tenant().users().map(|u| u.public()).collect();
    let first_department = "Dept 3".to_string();
    let expected = users
        .iter()
        .filter(|u| {
            u.fields
                .department
                .as_deref()
                .is_some_and(|d| d.to_lowercase().contains("dept 3"))
        })
        .filter(|u| u.fields.is_enabled != Some(false))
        .count();
    assert!(expected > 0 && expected < users.len());
    let out = dir.path().join("users.csv");
    let summary = dir.path().join("summary.json");
    let args = [
        "users",
        "-o",
        out.to_str().unwrap(),
        "--filter",
        &format!("department={}", first_department.to_uppercase()),
        "--filter",
        "isEnabled=true",
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    assert_eq!(export(&sandbox, &args).await, Completion::Clean);
    let rows = read_csv(&out);
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|r| r["department"] == first_department));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["records"], expected as u64, "the records written");
    let args = ["export", "users", "--filter", "shoeSize=42"];
    let refused = crate::support::against(&sandbox, &args)
        .await
        .expect_err("no such field");
    assert!(refused.to_string().contains("any user field"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_answering_404_for_users_without_credentials_loses_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut variant = seeded(dir.path(), 12);
    variant.variant.credentials_404 = true;
    let sandbox = start(variant).await;
    let out = dir.path().join("factors.csv");
    let o = out.display().to_string();
    assert_eq!(
        export(&sandbox, &["factors", "-o", &o]).await,
        Completion::Clean
    );
    let rows = read_csv(&out);
    assert_eq!(rows.len(), sandbox.tenant().users().count());
    assert!(rows.iter().all(|r| r["second_factor"] == "none"));

    // Offboarding that removes second factors finds none to remove: no failure.
    let leavers = dir.path().join("leavers.csv");
    std::fs::write(&leavers, "username\nperson0001\n").unwrap();
    let results = dir.path().join("leavers.offboard.csv");
    let [l, r] = [&leavers, &results].map(|p| p.display().to_string());
    let args = [
        "offboard",
        "--action",
        "remove-second-factor",
        "--max-affected",
        "1",
        "-o",
        &r,
        &l,
    ];
    let done = crate::support::against(&sandbox, &args).await.unwrap();
    assert_eq!(done, Completion::Clean, "{:?}", read_csv(&results));
    assert_eq!(read_csv(&results)[0]["outcome"], "unchanged");
}

/// What the tenant holds, sebulk can hold: values with a tab (one that
/// starts a formula, too) export and import back with no change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_values_with_tabs_come_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut tenant: serde_json::Value = serde_json::from_str(sebulk::sandbox::DEMO_TENANT).unwrap();
    tenant["users"] = serde_json::json!([{
        "username": "tab.person",
        "email": "tab.person@example.com",
        "firstName": "Tab",
        "lastName": "Person",
        "jobTitle": "\t=1+1",
        "department": "Ops\tTeam",
    }]);
    let path = dir.path().join("seed.json");
    std::fs::write(&path, tenant.to_string()).unwrap();
    let mut config = config();
    config.seed = Seed::File(path);
    let sandbox = start(config).await;
    let out = dir.path().join("users.csv");
    let o = out.display().to_string();
    assert_eq!(
        export(&sandbox, &["users", "-o", &o]).await,
        Completion::Clean
    );
    let results = dir.path().join("back.results.csv").display().to_string();
    let writes = sandbox.counters().writes;
    let done = crate::support::against(&sandbox, &["import", "--results", &results, &o])
        .await
        .unwrap();
    assert_eq!(done, Completion::Clean);
    assert_eq!(sandbox.counters().writes, writes, "nothing to change");
    let lines = read_csv(Path::new(&results));
    assert!(
        lines.iter().all(|l| l["outcome"] == "unchanged"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_to_standard_output_that_fails_half_way_prints_no_part_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut slow = seeded(dir.path(), 300);
    slow.faults.latency = Duration::from_millis(50);
    let sandbox = start(slow).await;
    let child = slow_export(&sandbox)
        .args(["-o", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Some pages are read; then the key is revoked, and the next page fails.
    while sandbox.counters().requests < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sandbox.revoke_key();
    let output = child.wait_with_output().await.unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(
        output.stdout.is_empty(),
        "a pipe would take part of the tenant for the whole: {}",
        String::from_utf8_lossy(&output.stdout[..output.stdout.len().min(300)])
    );
}
