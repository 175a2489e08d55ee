//! The conventions a Unix user expects, on the real binary: `-q` quiet on
//! success, `-` for standard input and output everywhere, `--json`,
//! `diff --exit-code`, a closed pipe ending quietly, usage errors exit 2.

use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

use super::{KEY, sebulk, text};

const HIRES: &str = "username,email,firstName,lastName,department,groups\n\
    ana.lima,ana.lima@example.com,Ana,Lima,Sales,All Staff;Sales\n\
    bo.berg,bo.berg@example.com,Bo,Berg,Finance,All Staff\n";

/// Runs sebulk with `args`, the test key, `stdin` on standard input.
async fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = sebulk()
        .args(args)
        .env("SEBULK_API_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn files() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let hires = dir.path().join("hires.csv");
    std::fs::write(&hires, HIRES).unwrap();
    let hires = hires.display().to_string();
    (dir, hires)
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_says_nothing_on_success_and_only_the_problems_on_failure() {
    let (dir, hires) = files();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let (plan, results, users, old, changes) = (
        out("plan.csv"),
        out("results.csv"),
        out("users.csv"),
        out("old.csv"),
        out("changes.csv"),
    );
    std::fs::write(&old, "username,email\nana.lima,ana.lima@example.com\n").unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["-q", "validate", &hires],
        vec!["-q", "plan", "--sandbox", &hires, "-o", &plan],
        vec!["-q", "import", "--sandbox", &hires, "-o", &results],
        vec!["-q", "export", "users", "--sandbox", "-o", &users],
        vec!["-q", "diff", &old, &hires, "-o", &changes],
        vec!["-q", "check", "--sandbox"],
    ];
    for args in runs {
        let output = run(&args, None).await;
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
        assert!(output.stderr.is_empty(), "{args:?} said: {}", text(&output));
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed: {}",
            text(&output)
        );
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "username,email,userType\nana,not-an-email,user\nbo,bo@example.com,Helpdesk\n",
    )
    .unwrap();
    let output = run(&["-q", "validate", bad.to_str().unwrap()], None).await;
    assert_eq!(output.status.code(), Some(3));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("not-an-email"), "{said}");
    assert!(!said.contains("Helpdesk"), "warnings stay quiet: {said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dash_means_standard_input_and_output_everywhere() {
    let (dir, hires) = files();
    // validate - reads standard input (in one pass).
    let output = run(&["validate", "-", "--json"], Some(HIRES)).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["rows"], 2);
    // validate -o - writes the report to standard output.
    let output = run(
        &["validate", "-", "-o", "-"],
        Some("username,email\nana,nope\n"),
    )
    .await;
    assert_eq!(output.status.code(), Some(3));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.starts_with("row,line,column,value,problem,severity"),
        "{report}"
    );
    assert!(report.contains("nope"));
    // plan -o - and import -o - write CSV to standard output.
    for command in ["plan", "import"] {
        let output = run(&[command, "--sandbox", "-", "-o", "-"], Some(HIRES)).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command}: {}",
            text(&output)
        );
        let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        // A plan ends with its seal, for apply.
        let sealed = usize::from(command == "plan");
        assert_eq!(lines.len(), 3 + sealed, "{command}: {lines:?}");
        assert!(lines[1].contains("ana.lima"));
    }
    // export -o - and --summary-json - write to standard output.
    let output = run(&["export", "groups", "--sandbox", "-o", "-"], None).await;
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("id,name,"));
    let summary = dir.path().join("s.json");
    let output = run(
        &[
            "export",
            "groups",
            "--sandbox",
            "-o",
            summary.to_str().unwrap(),
            "--summary-json",
            "-",
        ],
        None,
    )
    .await;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["entity"], "groups");
    // diff reads one side from standard input and writes to standard output.
    let output = run(
        &["diff", "-", &hires, "-o", "-"],
        Some("username,email\nana.lima,ana.lima@example.com\n"),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let changes = String::from_utf8_lossy(&output.stdout);
    assert!(
        changes.starts_with("change,key,username,field,old,new"),
        "{changes}"
    );
    assert!(changes.contains("joiner"), "{changes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_summaries_and_diff_exit_code() {
    let (dir, hires) = files();
    let results = dir.path().join("r.csv").display().to_string();
    for args in [
        vec!["validate", hires.as_str(), "--json"],
        vec![
            "plan",
            "--sandbox",
            hires.as_str(),
            "-o",
            "/dev/null",
            "--force",
            "--json",
        ],
        vec![
            "import",
            "--sandbox",
            hires.as_str(),
            "-o",
            results.as_str(),
            "--json",
        ],
        vec![
            "export",
            "groups",
            "--sandbox",
            "-o",
            "/dev/null",
            "--force",
            "--json",
        ],
    ] {
        let output = run(&args, None).await;
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&output)));
        assert!(json.is_object(), "{args:?}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let null = std::fs::metadata("/dev/null").unwrap();
        assert!(
            null.file_type().is_char_device(),
            "written in place, not replaced"
        );
        assert_eq!(null.permissions().mode() & 0o777, 0o666, "and not chmodded");
    }
    let out = dir.path().join("d.csv").display().to_string();
    let same = run(
        &["diff", &hires, &hires, "-o", &out, "--exit-code", "--json"],
        None,
    )
    .await;
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    let summary: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(summary["unchanged"], 2);
    let older = dir.path().join("old.csv");
    std::fs::write(&older, "username,email\nana.lima,ana.lima@example.com\n").unwrap();
    let differs = run(
        &[
            "diff",
            older.to_str().unwrap(),
            &hires,
            "-o",
            &out,
            "--force",
            "--exit-code",
        ],
        None,
    )
    .await;
    assert_eq!(differs.status.code(), Some(1), "{}", text(&differs));
    let missing = dir.path().join("missing.csv").display().to_string();
    let trouble = run(
        &[
            "diff",
            &hires,
            &missing,
            "-o",
            &out,
            "--force",
            "--exit-code",
        ],
        None,
    )
    .await;
    assert_eq!(
        trouble.status.code(),
        Some(2),
        "trouble is not a difference: {}",
        text(&trouble)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_without_a_file_shows_each_row_and_dry_run_takes_a_file() {
    let (dir, hires) = files();
    let output = run(&["plan", "--sandbox", &hires], None).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("+ create row 1 ana.lima"), "{said}");
    assert!(said.contains("groups + All Staff;Sales"), "{said}");
    assert!(said.contains("built-in sandbox"), "{said}");
    let plan = dir.path().join("plan.csv");
    let output = run(
        &[
            "import",
            "--sandbox",
            "--dry-run",
            &hires,
            "-o",
            plan.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(std::fs::read_to_string(&plan).unwrap().contains("create"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pipe_ends_quietly() {
    for args in [
        vec!["completions", "bash"],
        vec!["export", "users", "--sandbox", "-o", "-"],
    ] {
        let mut child = sebulk()
            .args(&args)
            .env("SEBULK_API_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before a byte is written: every write is EPIPE.
        drop(child.stdout.take());
        let output = child.wait_with_output().await.unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            !said.contains("error") && !said.contains("panicked"),
            "{args:?}: {said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_found_after_parsing_exit_2() {
    let (_dir, hires) = files();
    for args in [
        vec!["import", "--sandbox", hires.as_str(), "--rate", "0"],
        vec!["import", "--sandbox", hires.as_str(), "--timeout", "1e300"],
        vec!["import", hires.as_str(), "--sandbox-state", "x.json"],
        vec!["import", "--sandbox", "-"],
        vec!["export", "memberships", "--sandbox", "--filter", "name=x"],
        vec!["export", "groups", "--sandbox", "--json"],
    ] {
        let output = run(&args, None).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
    }
    let help = run(&["validate", "--help"], None).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        !help.contains("--rate") && !help.contains("--base-url"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_mappings_and_configs_are_one_readable_line_and_exit_1() {
    let (dir, hires) = files();
    let mapping = dir.path().join("bad.toml");
    std::fs::write(&mapping, "[fields\nusername = 1\n").unwrap();
    let output = run(
        &[
            "validate",
            hires.as_str(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        None,
    )
    .await;
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("line 1, column 8: unclosed table"), "{said}");
    assert!(
        !said.contains("\\n"),
        "real lines, not escaped ones: {said}"
    );
    assert!(said.contains("hint: fix the mapping"), "{said}");

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[profiles.p]\nrate = \n").unwrap();
    let mut command = crate::support::process();
    let output = command
        .env("SEBULK_CONFIG", &config)
        .args(["plan", "--sandbox", hires.as_str()])
        .output()
        .await
        .unwrap();
    let said = text(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the same code as a mapping: {said}"
    );
    assert!(said.contains("line 2, column 8"), "{said}");
    assert!(!said.contains("\\n"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_json_is_written_whatever_happens() {
    let (dir, hires) = files();
    let summary = dir.path().join("summary.json");
    let summary_text = summary.to_str().unwrap().to_string();
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap()
    };
    // Rows with problems: refused before anything is sent, exit 3.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "username,email\nana,not-an-email\n").unwrap();
    let output = run(
        &[
            "import",
            "--sandbox",
            bad.to_str().unwrap(),
            "--summary-json",
            &summary_text,
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let said = read();
    assert_eq!(said["status"], "refused", "{said}");
    assert_eq!(said["exit_code"], 3);
    assert!(
        said["error"].as_str().unwrap().contains("1 of 1 rows"),
        "{said}"
    );
    // The tenant unreachable: the run fails, exit 1, and says so.
    let output = run(
        &[
            "import",
            "--base-url",
            "http://127.0.0.1:9",
            "--max-retries",
            "0",
            hires.as_str(),
            "--summary-json",
            &summary_text,
            "--force",
            "-o",
            dir.path().join("r.csv").to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = read();
    assert_eq!(said["status"], "failed", "{said}");
    assert_eq!(said["exit_code"], 1);
    assert!(
        said["hint"]
            .as_str()
            .is_some_and(|h| h.contains("reachable")),
        "{said}"
    );
    // Refused by the guard: exit 1, status refused.
    let leavers = dir.path().join("leavers.csv");
    std::fs::write(&leavers, "username\nana.lima\n").unwrap();
    let output = run(
        &[
            "offboard",
            "--sandbox",
            "--roster",
            leavers.to_str().unwrap(),
            "--action",
            "delete",
            "--summary-json",
            &summary_text,
            "--force",
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = read();
    assert_eq!(said["status"], "refused", "{said}");
    assert!(
        said["error"]
            .as_str()
            .unwrap()
            .contains("refused before any change"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_shows_the_valid_rows_and_lists_the_invalid_ones() {
    let (dir, _) = files();
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(
        &mixed,
        "username,email\nana,ana@example.com\nbob,not-an-email\n",
    )
    .unwrap();
    let plan = dir.path().join("plan.csv");
    let output = run(
        &[
            "plan",
            "--sandbox",
            mixed.to_str().unwrap(),
            "-o",
            plan.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let lines = crate::support::read_csv(&plan);
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str()).collect();
    assert_eq!(actions, ["create", "invalid"]);
    assert!(lines[1]["notes"].contains("not a valid email"), "{lines:?}");
    // The import of the same file still refuses it whole.
    let output = run(&["import", "--sandbox", mixed.to_str().unwrap()], None).await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        text(&output).contains("nothing was sent"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_and_diff_write_a_summary_json_too() {
    let (dir, hires) = files();
    let summary = dir.path().join("validate.json");
    let output = run(
        &[
            "validate",
            hires.as_str(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        (said["rows"].as_u64(), said["clean"].as_bool()),
        (Some(2), Some(true))
    );

    let summary = dir.path().join("diff.json");
    let out = dir.path().join("changes.csv");
    let output = run(
        &[
            "diff",
            hires.as_str(),
            hires.as_str(),
            "-o",
            out.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(said["unchanged"], 2, "{said}");
    // The summary never goes over one of the files compared.
    let output = run(
        &[
            "diff",
            hires.as_str(),
            hires.as_str(),
            "-o",
            out.to_str().unwrap(),
            "--force",
            "--summary-json",
            hires.as_str(),
        ],
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_eq!(std::fs::read_to_string(&hires).unwrap(), HIRES);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_output_dir_keeps_every_nights_file() {
    let dir = tempfile::tempdir().unwrap();
    let audits = dir.path().join("audits");
    let state = dir.path().join("tenant.json");
    for _ in 0..2 {
        let output = run(
            &[
                "export",
                "users",
                "--sandbox",
                "--sandbox-state",
                state.to_str().unwrap(),
                "--output-dir",
                audits.to_str().unwrap(),
            ],
            None,
        )
        .await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
    let mut names: Vec<String> = std::fs::read_dir(&audits)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("users.export.") && n.ends_with(".csv")),
        "{names:?}"
    );
    let first = crate::support::read_csv(&audits.join(&names[0]));
    assert!(!first.is_empty());
}
