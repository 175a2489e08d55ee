//! The import and export suites against every sandbox variant: each guess
//! the reference leaves open, played both ways (docs/api-assumptions.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sebulk::sandbox::{ListShape, SandboxConfig, SandboxHandle, Seed, UnknownFields, Variant};
use sebulk::{CommandError, Completion};

use crate::support::{against, config, read_csv, start};

/// Users in the seeded tenant: "All Staff" holds them all, more than a page.
pub const PEOPLE: usize = 320;

/// A seed of `PEOPLE` users in the demo groups and applications.
fn seed(dir: &Path) -> PathBuf {
    let people: Vec<serde_json::Value> = (0..PEOPLE)
        .map(|i| {
            serde_json::json!({
                "username": format!("person{i:04}"),
                "email": format!("person{i:04}@example.com"),
                "firstName": format!("First{i}"),
                "lastName": "Person",
                "department": format!("Dept {}", i % 7),
                "country": if i % 4 == 0 { "Germany" } else { "United Kingdom" },
                "isEnabled": true,
                "customAttributes": if i % 2 == 0 {
                    serde_json::json!([{"name": "Cost Centre", "value": format!("CC{}", i % 3)}])
                } else {
                    serde_json::json!([])
                },
                "groups": ["All Staff", if i % 2 == 0 { "Sales" } else { "Engineering" }],
                "applications": if i % 3 == 0 { serde_json::json!(["Slack"]) } else { serde_json::json!([]) },
            })
        })
        .collect();
    crate::support::demo_seed_with(dir, people)
}

/// A named variant, and the client flags that go with it.
pub struct Case {
    pub name: &'static str,
    variant: Variant,
    max_page_size: Option<u32>,
    pub flags: Vec<&'static str>,
}

pub fn cases() -> Vec<Case> {
    let v = Variant::default;
    vec![
        Case {
            name: "literal (unpaged member lists, totals)",
            variant: v(),
            max_page_size: None,
            flags: vec![],
        },
        Case {
            name: "bare arrays, no totals",
            variant: Variant {
                list_shape: ListShape::Array,
                ..v()
            },
            max_page_size: None,
            flags: vec![],
        },
        Case {
            name: "paged member lists, capped pages",
            variant: Variant {
                members_paged: true,
                ..v()
            },
            max_page_size: Some(40),
            flags: vec![],
        },
        Case {
            name: "paged member lists, bare arrays",
            variant: Variant {
                members_paged: true,
                list_shape: ListShape::Array,
                ..v()
            },
            max_page_size: None,
            flags: vec![],
        },
        Case {
            name: "pages from 0",
            variant: Variant {
                page_base: 0,
                members_paged: true,
                ..v()
            },
            max_page_size: None,
            flags: vec!["--page-base", "0"],
        },
        Case {
            name: "server fields, unknown fields refused",
            variant: Variant {
                server_fields: true,
                unknown_fields: UnknownFields::Refuse,
                ..v()
            },
            max_page_size: None,
            flags: vec![],
        },
        Case {
            name: "server fields, unknown fields accepted",
            variant: Variant {
                server_fields: true,
                unknown_fields: UnknownFields::Accept,
                ..v()
            },
            max_page_size: None,
            flags: vec![],
        },
        Case {
            name: "disabled by default",
            variant: Variant {
                enabled_by_default: false,
                ..v()
            },
            max_page_size: None,
            flags: vec![],
        },
    ]
}

pub fn sandbox_config(dir: &Path, case: &Case) -> SandboxConfig {
    let mut config = config();
    config.seed = Seed::File(seed(dir));
    config.variant = case.variant.clone();
    config.faults.max_page_size = case.max_page_size;
    config
}

pub async fn run(sandbox: &SandboxHandle, case: &Case, args: &[&str]) -> Completion {
    let mut argv: Vec<&str> = case.flags.clone();
    argv.extend_from_slice(args);
    match against(sandbox, &argv).await {
        Ok(completion) => completion,
        Err(err) => panic!("{}: {args:?} failed: {err}", case.name),
    }
}

/// The tenant's truth: username → (group names, application names).
pub fn truth(sandbox: &SandboxHandle) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let tenant = &sandbox.tenant();
    tenant
        .users()
        .map(|u| {
            let (groups, apps) = crate::support::memberships_of(tenant, &u.id);
            (
                u.fields.username.clone().unwrap_or_default(),
                (groups, apps),
            )
        })
        .collect()
}

fn split(cell: &str) -> Vec<String> {
    let mut items: Vec<String> = cell
        .split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    items.sort();
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_export_work_against_every_variant() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let name = case.name;

        // Import: two new hires, one mover whose groups are synced.
        let input = dir.path().join("hires.csv");
        std::fs::write(
            &input,
            "username,email,firstName,lastName,department,groups,applications\n\
             new.one,new.one@example.com,New,One,Sales,All Staff;Sales,Slack\n\
             new.two,new.two@example.com,New,Two,Finance,All Staff;Finance,\n\
             person0001,person0001@example.com,,,Dept 9,All Staff;Marketing,\n",
        )
        .unwrap();
        let results = dir.path().join("hires.results.csv");
        let completion = run(
            &sandbox,
            &case,
            &[
                "import",
                "--sync-groups",
                "--auto-password",
                "--send-email",
                "--results",
                results.to_str().unwrap(),
                input.to_str().unwrap(),
            ],
        )
        .await;
        let lines = read_csv(&results);
        let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
        assert_eq!(
            outcomes,
            vec!["created", "created", "updated"],
            "{name}: {lines:?}"
        );
        assert_eq!(completion, Completion::Clean, "{name}");
        let state = truth(&sandbox);
        assert_eq!(state.len(), PEOPLE + 2, "{name}");
        assert_eq!(state["new.one"].0, vec!["All Staff", "Sales"], "{name}");
        assert_eq!(state["new.one"].1, vec!["Slack"], "{name}");
        assert_eq!(
            state["person0001"].0,
            vec!["All Staff", "Marketing"],
            "{name}: --sync-groups removed Engineering, read from a list of {PEOPLE}+ members"
        );
        let tenant = sandbox.tenant();
        let mover = tenant
            .users()
            .find(|u| u.fields.username.as_deref() == Some("person0001"))
            .unwrap();
        assert_eq!(
            mover.fields.first_name.as_deref(),
            Some("First1"),
            "{name}: kept"
        );
        assert_eq!(mover.fields.is_enabled, Some(true), "{name}: still enabled");
        for new in ["new.one", "new.two"] {
            let user = tenant
                .users()
                .find(|u| u.fields.username.as_deref() == Some(new))
                .unwrap();
            assert_eq!(user.fields.is_enabled, Some(true), "{name}: {new} enabled");
        }

        // Export users with their memberships: complete and correct.
        let users_csv = dir.path().join("users.csv");
        let completion = run(
            &sandbox,
            &case,
            &[
                "export",
                "users",
                "--include",
                "groups,applications",
                "-o",
                users_csv.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(completion, Completion::Clean, "{name}");
        let rows = read_csv(&users_csv);
        assert_eq!(rows.len(), PEOPLE + 2, "{name}: every user once");
        for row in &rows {
            let (groups, apps) = &state[&row["username"]];
            assert_eq!(
                &split(&row["groups"]),
                groups,
                "{name}: {}",
                row["username"]
            );
            assert_eq!(
                &split(&row["applications"]),
                apps,
                "{name}: {}",
                row["username"]
            );
        }

        // Memberships: every pair once.
        let members_csv = dir.path().join("members.csv");
        run(
            &sandbox,
            &case,
            &["export", "memberships", "-o", members_csv.to_str().unwrap()],
        )
        .await;
        let pairs: BTreeSet<(String, String)> = read_csv(&members_csv)
            .into_iter()
            .map(|r| (r["username"].clone(), r["target_name"].clone()))
            .collect();
        let expected: usize = state.values().map(|(g, a)| g.len() + a.len()).sum();
        assert_eq!(pairs.len(), expected, "{name}: membership pairs");

        // Groups with their member counts.
        let groups_csv = dir.path().join("groups.csv");
        run(
            &sandbox,
            &case,
            &["export", "groups", "-o", groups_csv.to_str().unwrap()],
        )
        .await;
        let all_staff = read_csv(&groups_csv)
            .into_iter()
            .find(|r| r["name"] == "All Staff")
            .unwrap();
        assert_eq!(all_staff["members"], (PEOPLE + 2).to_string(), "{name}");

        // The export imports back unchanged, without one write.
        let writes = sandbox.counters().writes;
        let again = dir.path().join("again.results.csv");
        let completion = run(
            &sandbox,
            &case,
            &[
                "import",
                "--results",
                again.to_str().unwrap(),
                users_csv.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(completion, Completion::Clean, "{name}");
        assert!(
            read_csv(&again).iter().all(|l| l["outcome"] == "unchanged"),
            "{name}"
        );
        assert_eq!(sandbox.counters().writes, writes, "{name}: zero writes");
        sandbox.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undetected_zero_based_tenant_fails_the_export_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case {
        name: "pages from 0, not told",
        variant: Variant {
            page_base: 0,
            ..Variant::default()
        },
        max_page_size: None,
        flags: vec![],
    };
    let sandbox = start(sandbox_config(dir.path(), &case)).await;
    let out = dir.path().join("users.csv");
    std::fs::write(&out, "yesterday's export\n").unwrap();
    let result = against(
        &sandbox,
        &["export", "users", "--force", "-o", out.to_str().unwrap()],
    )
    .await;
    let err = result.expect_err("an export short of the total fails");
    let message = err.to_string();
    assert!(message.contains("--page-base 0"), "{message}");
    assert!(message.contains(&PEOPLE.to_string()), "{message}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "yesterday's export\n"
    );
    let partials = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
        .count();
    assert_eq!(partials, 0);

    // --allow-incomplete writes it anyway, marked in the summary.
    let summary = dir.path().join("summary.json");
    let completion = against(
        &sandbox,
        &[
            "export",
            "users",
            "--force",
            "--allow-incomplete",
            "--summary-json",
            summary.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(completion, Completion::Clean);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["incomplete"], true);

    // `--page-base 0` reads it whole.
    let completion = against(
        &sandbox,
        &[
            "--page-base",
            "0",
            "export",
            "users",
            "--force",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(completion, Completion::Clean);
    assert_eq!(read_csv(&out).len(), PEOPLE);
}

#[tokio::test]
async fn check_tells_the_page_base() {
    let dir = tempfile::tempdir().unwrap();
    for (base, flags) in [(0u64, vec![]), (1, vec![]), (0, vec!["--page-base", "0"])] {
        let case = Case {
            name: "check",
            variant: Variant {
                page_base: base,
                ..Variant::default()
            },
            max_page_size: None,
            flags,
        };
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let mut args = case.flags.clone();
        args.extend(["check", "--json"]);
        let result = against(&sandbox, &args).await;
        let told_right = case.flags.is_empty() == (base == 1);
        assert_eq!(
            result.is_ok(),
            told_right,
            "base {base} flags {:?}: {result:?}",
            case.flags
        );
        if let Err(err) = result {
            assert!(err.to_string().contains("--page-base 0"), "{err}");
        }
    }
}

#[tokio::test]
async fn null_custom_attribute_values_export() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"users": [
            {"username": "ana", "email": "ana@example.com", "firstName": null,
             "customAttributes": [{"name": "Cost Centre", "value": null}, {"name": "Badge", "value": "B7"}]},
            {"username": "bo", "email": "bo@example.com", "customAttributes": null}
        ]}"#,
    )
    .unwrap();
    let mut config = config();
    config.seed = Seed::File(seed);
    let sandbox = start(config).await;
    let out = dir.path().join("users.csv");
    let completion = against(&sandbox, &["export", "users", "-o", out.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(completion, Completion::Clean);
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["custom.Cost Centre"], "");
    assert_eq!(rows[0]["custom.Badge"], "B7");
    // And it imports back unchanged.
    let results = dir.path().join("r.csv");
    let completion = crate::support::import_file(&sandbox, &out, &results, &[])
        .await
        .unwrap();
    assert_eq!(completion, Completion::Clean);
    assert!(
        read_csv(&results)
            .iter()
            .all(|r| r["outcome"] == "unchanged")
    );
}

fn people_file(dir: &Path, count: usize, department: &str) -> PathBuf {
    let mut text = String::from("username,email,department\n");
    for i in 0..count {
        text.push_str(&format!(
            "person{i:04},person{i:04}@example.com,{department}\n"
        ));
    }
    let path = dir.join("movers.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_on_one_user_fails_only_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case {
        name: "forbidden",
        variant: Variant {
            forbidden: vec!["person0007".to_string()],
            ..Variant::default()
        },
        max_page_size: None,
        flags: vec![],
    };
    let sandbox = start(sandbox_config(dir.path(), &case)).await;
    let input = people_file(dir.path(), 20, "Moved");
    let results = dir.path().join("r.csv");
    let completion = crate::support::import_file(&sandbox, &input, &results, &[])
        .await
        .expect("the run goes on");
    assert_eq!(completion, Completion::WithProblems);
    let lines = read_csv(&results);
    for line in &lines {
        if line["username"] == "person0007" {
            assert_eq!(line["outcome"], "failed");
            assert_eq!(line["http_status"], "403");
            assert!(line["error"].contains("forbidden"), "{}", line["error"]);
        } else {
            assert_eq!(line["outcome"], "updated", "{line:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_refused_for_everything_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let forbidden: Vec<String> = (0..PEOPLE).map(|i| format!("person{i:04}")).collect();
    let case = Case {
        name: "read-only key",
        variant: Variant {
            forbidden,
            ..Variant::default()
        },
        max_page_size: None,
        flags: vec![],
    };
    let sandbox = start(sandbox_config(dir.path(), &case)).await;
    let input = people_file(dir.path(), 60, "Moved");
    let results = dir.path().join("r.csv");
    let err = crate::support::import_file(&sandbox, &input, &results, &[])
        .await
        .expect_err("403 after 403 stops the run");
    assert!(
        matches!(
            err,
            CommandError::Api(sebulk::api::ApiError::Unauthorized { status: 403, .. })
        ),
        "{err}"
    );
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 60, "every row recorded");
    let failed = lines.iter().filter(|l| l["outcome"] == "failed").count();
    assert!(failed < 20, "stopped early: {failed} rows tried");
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "failed" || l["outcome"] == "not_attempted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_mid_run_stops_it_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.seed = Seed::Empty;
    config.faults.latency = Duration::from_millis(5);
    let sandbox = std::sync::Arc::new(start(config).await);
    let mut text = String::from("username,email\n");
    for i in 0..300 {
        text.push_str(&format!("hire{i:03},hire{i:03}@example.com\n"));
    }
    let input = dir.path().join("hires.csv");
    std::fs::write(&input, text).unwrap();
    let results = dir.path().join("r.csv");
    let revoker = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            while sandbox.counters().writes < 20 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            sandbox.revoke_key();
        })
    };
    let argv = [
        "--base-url".to_string(),
        sandbox.base_url().to_string(),
        "--rate".into(),
        "200".into(),
        "import".into(),
        "--results".into(),
        results.display().to_string(),
        input.display().to_string(),
    ];
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let err = crate::support::sebulk_in_process(&argv)
        .await
        .expect_err("a revoked key stops the run");
    revoker.await.unwrap();
    assert!(
        matches!(
            err,
            CommandError::Api(sebulk::api::ApiError::Unauthorized { status: 401, .. })
        ),
        "{err}"
    );
    let code = sebulk::exit_code(&err);
    assert_eq!(code, 1);
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 300, "every row recorded");
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert_eq!(
        created as u64,
        sandbox.counters().writes,
        "results match the tenant"
    );
    assert!(lines.iter().any(|l| l["outcome"] == "not_attempted"));
}

#[tokio::test]
async fn a_country_the_tenant_uses_is_valid_and_an_unknown_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"users": [{"username": "old", "email": "old@example.com", "country": "Kosovo", "userType": "helpdesk"}]}"#,
    )
    .unwrap();
    let mut config = config();
    config.seed = Seed::File(seed);
    let sandbox = start(config).await;
    let input = dir.path().join("hires.csv");
    std::fs::write(
        &input,
        "username,email,country,userType\n\
         ana,ana@example.com,Kosovo,Helpdesk\n\
         bo,bo@example.com,Atlantis,user\n\
         cy,cy@example.com,Deutschland,user\n",
    )
    .unwrap();
    let results = dir.path().join("r.csv");
    let refused = crate::support::import_file(&sandbox, &input, &results, &[])
        .await
        .unwrap();
    assert_eq!(refused, Completion::WithProblems);
    assert_eq!(
        sandbox.counters().writes,
        0,
        "an unknown country stops the import"
    );
    let completion = against(
        &sandbox,
        &[
            "import",
            "--skip-invalid",
            // Helpdesk is a privileged type: the run names who gets it.
            "--allow-privileged",
            "ana",
            "--results",
            results.to_str().unwrap(),
            "--force",
            input.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(completion, Completion::WithProblems);
    let lines = read_csv(&results);
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, vec!["created", "invalid", "created"]);
    assert!(
        lines[1]["error"].contains("Atlantis"),
        "{}",
        lines[1]["error"]
    );
    let tenant = sandbox.tenant();
    let ana = tenant
        .users()
        .find(|u| u.fields.username.as_deref() == Some("ana"))
        .unwrap();
    assert_eq!(ana.fields.country.as_deref(), Some("Kosovo"));
    assert_eq!(
        ana.fields.user_type.as_deref(),
        Some("helpdesk"),
        "the tenant's spelling"
    );
}
