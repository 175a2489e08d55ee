use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::sandbox::SandboxHandle;

use crate::support::{against, config, read_csv, sebulk_in_process, start};

pub const HEADER: &str =
    "username,email,firstName,lastName,department,mobile,country,groups,applications,password";

pub fn write_input(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from(HEADER);
    text.push('\n');
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

pub async fn import(
    sandbox: &SandboxHandle,
    input: &Path,
    extra: &[&str],
) -> (Completion, PathBuf) {
    let results = input.with_extension("results.csv");
    let mut args = vec!["import"];
    args.extend_from_slice(extra);
    let (input_text, results_text) = (input.display().to_string(), results.display().to_string());
    args.extend([
        "--results",
        results_text.as_str(),
        "--force",
        input_text.as_str(),
    ]);
    let completion = against(sandbox, &args).await.expect("the import runs");
    (completion, results)
}

#[tokio::test]
async fn an_import_creates_updates_and_reports_every_row() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(
        dir.path(),
        "hires.csv",
        &[
            "nia.okoro,nia.okoro@northwind.example,Nia,Okoro,Sales,,NG,All Staff;Sales,Salesforce,Secret-pass-1".to_string(),
            "jonas.becker,jonas.becker@northwind.example,,,Platform,<clear>,DE,IT Admins,,".to_string(),
            "ben.ng,ben.ng@northwind.example,Ben,Ng,Finance,+65 5555 0000,SGP,Finance,NetSuite;Slack,".to_string(),
        ],
    );
    let before = sandbox
        .tenant()
        .users()
        .find(|u| u.fields.username.as_deref() == Some("jonas.becker"))
        .cloned()
        .unwrap();
    // IT Admins is a privileged group: without naming jonas the row is
    // left alone, nothing of it sent.
    let (completion, results) = import(&sandbox, &input, &["--auto-password", "--dry-run"]).await;
    assert_eq!(completion, Completion::Clean);
    assert_eq!(read_csv(&results)[1]["action"], "protected");
    let named = ["--auto-password", "--allow-privileged", "jonas.becker"];
    let (completion, results) = import(&sandbox, &input, &named).await;
    assert_eq!(completion, Completion::Clean);
    let lines = read_csv(&results);
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, vec!["created", "updated", "created"]);
    assert_eq!(lines[0]["groups_added"], "All Staff;Sales");
    assert_eq!(lines[0]["applications_added"], "Salesforce");
    assert_eq!(lines[0]["password"], "********", "passwords are masked");
    assert_eq!(lines[1]["groups_added"], "IT Admins");
    assert_eq!(
        lines[2]["mobile"], "+65 5555 0000",
        "a phone number is not a formula: written as it is"
    );
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(!text.contains("Secret-pass-1"));
    // Each line is an audit record: exact old and new values, run, tenant, time.
    let old_department = before.fields.department.clone().unwrap_or_default();
    let old_mobile = before.fields.mobile.clone().unwrap_or_default();
    let mut expected = format!(
        "department: {} → \"Platform\"",
        serde_json::to_string(&old_department).unwrap()
    );
    if !old_mobile.is_empty() {
        expected += &format!(
            "; mobile: {} → \"\"",
            serde_json::to_string(&old_mobile).unwrap()
        );
    }
    assert_eq!(lines[1]["changes"], expected);
    assert!(
        lines[0]["changes"].starts_with(
            "username: \"\" → \"nia.okoro\"; email: \"\" → \"nia.okoro@northwind.example\""
        ),
        "a created user records what it was created with: {}",
        lines[0]["changes"]
    );
    assert!(!lines[0]["changes"].contains("Secret-pass-1"));
    assert!(
        lines
            .iter()
            .all(|l| l["tenant"] == sandbox.base_url().as_str())
    );
    let run_id = &lines[0]["run_id"];
    assert!(!run_id.is_empty() && lines.iter().all(|l| &l["run_id"] == run_id));
    assert!(
        lines
            .iter()
            .all(|l| l["finished_at"].len() == 20 && l["finished_at"].ends_with('Z'))
    );

    let tenant = sandbox.tenant();
    let jonas = tenant.users().find(|u| u.id == before.id).unwrap();
    assert_eq!(jonas.fields.department.as_deref(), Some("Platform"));
    assert_eq!(jonas.fields.mobile, None, "<clear> cleared the mobile");
    assert_eq!(
        jonas.fields.job_title, before.fields.job_title,
        "fields not in the file are kept"
    );
    assert_eq!(
        jonas.fields.first_name, before.fields.first_name,
        "empty cells keep the field"
    );
    assert_eq!(tenant.groups_of(&jonas.id).len(), 4, "groups are additive");
    let nia = tenant
        .users()
        .find(|u| u.fields.username.as_deref() == Some("nia.okoro"))
        .unwrap();
    assert_eq!(nia.fields.country.as_deref(), Some("Nigeria"));
    assert_eq!(nia.password.times_set, 1);
    assert!(
        !nia.password.auto_generated,
        "the row's own password wins over --auto-password"
    );
    let ben = tenant
        .users()
        .find(|u| u.fields.username.as_deref() == Some("ben.ng"))
        .unwrap();
    assert!(ben.password.auto_generated);
    assert_eq!(ben.fields.mobile.as_deref(), Some("+65 5555 0000"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&results).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The same file again: nothing to do, and not one write.
    let writes = sandbox.counters().writes;
    let (completion, results) = import(&sandbox, &input, &["--auto-password"]).await;
    assert_eq!(completion, Completion::Clean);
    assert!(
        read_csv(&results)
            .iter()
            .all(|l| l["outcome"] == "unchanged")
    );
    assert_eq!(sandbox.counters().writes, writes, "a re-run writes nothing");
    assert_eq!(
        sandbox
            .tenant()
            .users()
            .find(|u| u.id == nia.id)
            .unwrap()
            .password
            .times_set,
        1,
        "no password reset"
    );

    // The results file goes back in as input.
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv");
    std::fs::copy(&results, &again).unwrap();
    let (completion, results) = import(&sandbox, &again, &[]).await;
    assert_eq!(completion, Completion::Clean, "{:?}", read_csv(&results));
    assert!(
        read_csv(&results)
            .iter()
            .all(|l| l["outcome"] == "unchanged")
    );
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test]
async fn invalid_rows_stop_the_import_unless_skipped() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(
        dir.path(),
        "bad.csv",
        &[
            "ok.user,ok.user@example.com,Ok,User,,,,,,".to_string(),
            "bad.email,not-an-email,Bad,Email,,,,,,".to_string(),
        ],
    );
    let (completion, results) = import(&sandbox, &input, &[]).await;
    assert_eq!(completion, Completion::WithProblems);
    assert_eq!(sandbox.counters().writes, 0, "nothing was written");
    assert!(!results.exists());

    let (completion, results) = import(&sandbox, &input, &["--skip-invalid"]).await;
    assert_eq!(completion, Completion::WithProblems);
    let lines = read_csv(&results);
    assert_eq!(
        (lines[0]["outcome"].as_str(), lines[1]["outcome"].as_str()),
        ("created", "invalid")
    );
    assert!(lines[1]["error"].contains("email"));
}

#[tokio::test]
async fn modes_sync_and_unknown_groups() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let existing =
        "amelia.hughes,amelia.hughes@northwind.example,,,,,,Human Resources,,".to_string();
    let new = "new.person,new.person@example.com,New,Person,,,,,,".to_string();
    let input = write_input(dir.path(), "modes.csv", &[existing.clone(), new.clone()]);

    let (completion, results) = import(&sandbox, &input, &["--mode", "update"]).await;
    assert_eq!(completion, Completion::WithProblems);
    let lines = read_csv(&results);
    assert_eq!(
        (lines[0]["outcome"].as_str(), lines[1]["outcome"].as_str()),
        ("unchanged", "failed")
    );
    assert!(lines[1]["error"].contains("--mode update"));

    let (_, results) = import(&sandbox, &input, &["--mode", "create"]).await;
    let lines = read_csv(&results);
    assert_eq!(
        (lines[0]["outcome"].as_str(), lines[1]["outcome"].as_str()),
        ("skipped", "created")
    );

    // --sync-groups: Amelia keeps only Human Resources.
    let (completion, results) = import(&sandbox, &input, &["--sync-groups"]).await;
    assert_eq!(completion, Completion::Clean);
    let lines = read_csv(&results);
    assert_eq!(lines[0]["outcome"], "updated");
    assert_eq!(
        lines[0]["groups_removed"].split(';').count(),
        2,
        "{lines:?}"
    );
    let tenant = sandbox.tenant();
    let amelia = tenant
        .users()
        .find(|u| u.fields.username.as_deref() == Some("amelia.hughes"))
        .unwrap();
    let groups: Vec<String> = tenant
        .groups_of(&amelia.id)
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, vec!["Human Resources"]);

    let unknown = write_input(
        dir.path(),
        "unknown.csv",
        &["zed.q,zed.q@example.com,Zed,Q,,,,Skunkworks,,".to_string()],
    );
    let (completion, results) = import(&sandbox, &unknown, &[]).await;
    assert_eq!(completion, Completion::WithProblems);
    assert!(read_csv(&results)[0]["error"].contains("Skunkworks"));
    assert!(
        sandbox
            .tenant()
            .users()
            .all(|u| u.fields.username.as_deref() != Some("zed.q")),
        "a failed row writes nothing"
    );
    let (completion, results) = import(&sandbox, &unknown, &["--create-missing-groups"]).await;
    assert_eq!(completion, Completion::Clean);
    assert_eq!(read_csv(&results)[0]["groups_added"], "Skunkworks");
}

#[tokio::test]
async fn plan_shows_changes_and_writes_nothing() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(
        dir.path(),
        "plan.csv",
        &[
            "jonas.becker,jonas.becker@northwind.example,,,Platform,,,IT Admins,,New-password-9"
                .to_string(),
            "fresh.face,fresh.face@example.com,Fresh,Face,,,,Sales,Slack,".to_string(),
        ],
    );
    let plan = dir.path().join("plan.out.csv");
    let url = sandbox.base_url().to_string();
    let plan_text = plan.display().to_string();
    let input_text = input.display().to_string();
    let completion = sebulk_in_process(&[
        "--base-url",
        &url,
        "plan",
        "--allow-privileged",
        "jonas.becker",
        "-o",
        &plan_text,
        &input_text,
    ])
    .await
    .unwrap();
    assert_eq!(completion, Completion::Clean);
    assert_eq!(sandbox.counters().writes, 0);
    let lines = read_csv(&plan);
    assert_eq!(lines[0]["action"], "update");
    assert!(
        lines[0]["changes"].contains("department: \"Engineering\" → \"Platform\""),
        "{}",
        lines[0]["changes"]
    );
    assert!(lines[0]["notes"].contains("password ignored"));
    assert_eq!(lines[0]["groups_add"], "IT Admins");
    assert_eq!(lines[1]["action"], "create");
    assert_eq!(lines[1]["groups_add"], "Sales");
    assert!(
        !std::fs::read_to_string(&plan)
            .unwrap()
            .contains("New-password-9")
    );
}

#[tokio::test]
async fn a_spreadsheet_imports_like_a_csv() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hires.xlsx");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hires.xlsx"),
        &input,
    )
    .unwrap();
    let (completion, results) = import(&sandbox, &input, &[]).await;
    assert_eq!(completion, Completion::Clean);
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["outcome"] == "created"));
    let tenant = sandbox.tenant();
    let zoe = tenant.user_by_username("zoe.muller").unwrap();
    assert_eq!(zoe.fields.first_name.as_deref(), Some("Zoë"));
    assert_eq!(zoe.fields.employee_number.as_deref(), Some("1234"));
    assert_eq!(zoe.fields.country.as_deref(), Some("Germany"));
    assert_eq!(tenant.groups_of(&zoe.id).len(), 2);
    let raj = tenant.user_by_username("raj.patel").unwrap();
    assert_eq!(raj.fields.is_enabled, Some(false));
}

/// Rows a rehearsal found unchanged are not decided again by the real
/// run (it reads the same listing): each is still recorded exactly as a
/// full decision records it — its user found by email alone, named and
/// identified — and rows that change anything are decided in full. On
/// every server shape: whether a row is settled follows how the tenant
/// and its memberships were read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_rehearsal_settled_are_recorded_as_a_full_decision_records_them() {
    use crate::import::variants::{PEOPLE, cases, run, sandbox_config};
    // The variants' people, by email: every tenth moves department, and
    // another tenth (all in Engineering) joins Sales; the rest as they are.
    let mut feed = String::from("email,department,groups\n");
    for i in 0..PEOPLE {
        let department = match i % 10 {
            3 => "Moved".to_string(),
            _ => format!("Dept {}", i % 7),
        };
        let groups = match (i % 2, i % 10) {
            (0, _) => "All Staff;Sales",
            (_, 7) => "All Staff;Engineering;Sales",
            _ => "All Staff;Engineering",
        };
        feed.push_str(&format!("person{i:04}@example.com,{department},{groups}\n"));
    }
    let by_email = ["--match-by", "email", "--mode", "update"];
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(sandbox_config(dir.path(), &case)).await;
        let feed_path = dir.path().join("feed.csv");
        std::fs::write(&feed_path, &feed).unwrap();
        let [plan, results] = ["plan.csv", "results.csv"].map(|f| dir.path().join(f));
        let [f, p, r] = [&feed_path, &plan, &results].map(|p| p.display().to_string());
        // The plan first, then the import it foretells.
        for (command, out) in [("plan", &p), ("import", &r)] {
            let args = [&[command, &f, "-o", out][..], &by_email].concat();
            let completion = run(&sandbox, &case, &args).await;
            assert_eq!(completion, Completion::Clean, "{}: {command}", case.name);
        }
        let (planned, lines) = (read_csv(&plan), read_csv(&results));
        assert_eq!(lines.len(), PEOPLE, "{}", case.name);
        for (line, planned) in lines.iter().zip(&planned) {
            let user = crate::support::user_named(&sandbox, &line["username"]);
            assert_eq!(line["user_id"], user.public().id, "{}: {line:?}", case.name);
            assert_eq!(
                line["username"], planned["username"],
                "{}: {line:?}",
                case.name
            );
            let expected = match planned["action"].as_str() {
                "unchanged" => "unchanged",
                "update" => "updated",
                other => panic!("{}: planned {other}: {planned:?}", case.name),
            };
            assert_eq!(line["outcome"], expected, "{}: {line:?}", case.name);
            assert_eq!(line["error"], "", "{}: {line:?}", case.name);
        }
        let outcomes = crate::support::column(&lines, "outcome");
        let count = |outcome: &str| outcomes.iter().filter(|o| **o == outcome).count();
        assert_eq!(count("unchanged"), PEOPLE - PEOPLE / 5, "{}", case.name);
        assert_eq!(count("updated"), PEOPLE / 5, "{}", case.name);
        let moved = crate::support::user_named(&sandbox, "person0003").public();
        assert_eq!(
            moved.fields.department.as_deref(),
            Some("Moved"),
            "{}",
            case.name
        );
    }
}
