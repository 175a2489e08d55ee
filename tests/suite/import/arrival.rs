//! Files as they arrive from HR: a spreadsheet under a `.csv` name, a
//! report's footer rows, a username made from an empty email, a required
//! column misspelled. Each through `validate -o` (the problems as a file,
//! parsed) or a plan against the sandbox.

use std::collections::BTreeMap;
use std::path::Path;

use sebulk::Completion;

use crate::support::{against, config, read_csv, sebulk_in_process, start};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `validate FILE -o problems.csv --summary-json s.json` with `extra`
/// flags: how it ended, the problems as records, the summary.
async fn validate(
    dir: &Path,
    file: &str,
    extra: &[&str],
) -> (
    Result<Completion, sebulk::CommandError>,
    Vec<BTreeMap<String, String>>,
    serde_json::Value,
) {
    let problems = dir.join("problems.csv");
    let summary = dir.join("summary.json");
    let mut args = vec![
        "validate",
        "-o",
        problems.to_str().unwrap(),
        "--force",
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(file);
    let done = sebulk_in_process(&args).await;
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (done, read_csv(&problems), summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spreadsheet_named_csv_is_read_as_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hires.xlsx");
    let renamed = dir.path().join("hires.csv");
    std::fs::copy(&fixture, &renamed).unwrap();
    let renamed = renamed.to_str().unwrap();
    let (done, problems, summary) = validate(dir.path(), renamed, &[]).await;
    assert_eq!(done.unwrap(), Completion::Clean, "{problems:?}");
    assert_eq!(summary["rows"], 2, "the sheet's two people, not binary");
    assert!(
        problems
            .iter()
            .any(|p| p["problem"].contains("is a spreadsheet") && p["severity"] == "warning"),
        "it is said: {problems:?}"
    );
    // Planned against a tenant, the people are the sheet's.
    let sandbox = start(config()).await;
    let plan = dir.path().join("plan.csv");
    against(
        &sandbox,
        &[
            "plan",
            "--auto-password",
            "-o",
            plan.to_str().unwrap(),
            renamed,
        ],
    )
    .await
    .unwrap();
    let usernames: Vec<String> = read_csv(&plan)
        .iter()
        .map(|r| r["username"].clone())
        .collect();
    assert_eq!(usernames, ["zoe.muller", "raj.patel"]);
    // A ZIP that is no spreadsheet is refused as what it is, not read as text.
    let zip = write(
        dir.path(),
        "export.csv",
        "PK\u{3}\u{4}not a workbook at all",
    );
    let refused = sebulk_in_process(&["validate", &zip]).await.unwrap_err();
    let said = refused.to_string();
    assert!(said.contains("ZIP") && said.contains("not text"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footer_rows_at_the_end_are_skipped_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "starters.csv",
        "username,email,department,salary\n\
         ana,ana@example.com,Sales,40000\n\
         bo,bo@example.com,Ops,42000\n\
         cy,cy@example.com,Legal,45000\n\
         ,,,127000\n\
         Total: 3 starters,,,\n\
         ,,,\n\
         Generated on 2026-11-29 09:14,,,\n\
         Page 1 of 1,,,\n",
    );
    let (done, problems, summary) = validate(dir.path(), &input, &[]).await;
    assert_eq!(summary["rows"], 3, "{problems:?}");
    assert_eq!(summary["rows_with_errors"], 0);
    let footers: Vec<(&str, &str)> = problems
        .iter()
        .filter(|p| p["problem"].contains("footer"))
        .map(|p| (p["line"].as_str(), p["severity"].as_str()))
        .collect();
    assert_eq!(
        footers,
        [
            ("5", "warning"),
            ("6", "warning"),
            ("8", "warning"),
            ("9", "warning")
        ],
        "each named by its line: {problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["problem"].contains("Total: 3 starters"))
    );
    assert_eq!(done.unwrap(), Completion::Clean, "warnings stop nothing");
    // Only at the end: a row that looks like a total with people after it
    // is a row, checked like any, never skipped in silence.
    let middle = write(
        dir.path(),
        "middle.csv",
        "username,email,department,salary\n\
         ana,ana@example.com,Sales,40000\n\
         Total: 1,,,\n\
         bo,bo@example.com,Ops,42000\n",
    );
    let (_, problems, summary) = validate(dir.path(), &middle, &[]).await;
    assert_eq!(summary["rows"], 3);
    assert!(!problems.iter().any(|p| p["problem"].contains("footer")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_made_from_an_empty_email_names_the_email() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = write(
        dir.path(),
        "hr.toml",
        "[fields]\n\
         username = { template = \"{Work Email|local-part|lower}\" }\n\
         email = \"Work Email\"\n\
         firstName = \"Given\"\n",
    );
    let input = write(
        dir.path(),
        "hr.csv",
        "Given,Work Email\nAna,Ana.Lima@example.com\nBo,\n",
    );
    let (_, problems, _) = validate(dir.path(), &input, &["--mapping", &mapping]).await;
    let row2: Vec<&str> = problems
        .iter()
        .filter(|p| p["row"] == "2" && p["column"] == "username")
        .map(|p| p["problem"].as_str())
        .collect();
    assert_eq!(row2.len(), 1, "{problems:?}");
    assert!(
        row2[0].contains("column 'Work Email'") && row2[0].contains("empty"),
        "{}",
        row2[0]
    );
    // --username-from says the same of the email column.
    let plain = write(
        dir.path(),
        "plain.csv",
        "email,firstName\nana@example.com,Ana\n,Bo\n",
    );
    let (_, problems, _) = validate(dir.path(), &plain, &["--username-from", "local-part"]).await;
    let said = problems
        .iter()
        .find(|p| p["row"] == "2" && p["column"] == "username")
        .map(|p| p["problem"].clone())
        .unwrap_or_default();
    assert!(
        said.contains("--username-from local-part") && said.contains("the email"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_required_column_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "typo.csv",
        "username,Emial,firstName\nana,ana@example.com,Ana\n",
    );
    let (done, problems, summary) = validate(dir.path(), &input, &[]).await;
    assert_eq!(done.unwrap(), Completion::WithProblems);
    assert_eq!(summary["header_errors"], 1, "{problems:?}");
    let header: Vec<&BTreeMap<String, String>> =
        problems.iter().filter(|p| p["row"] == "0").collect();
    assert_eq!(header.len(), 1, "one line, the error: {problems:?}");
    assert_eq!(header[0]["severity"], "error");
    assert_eq!(header[0]["column"], "Emial");
    assert!(header[0]["problem"].contains("rename it 'email'"));
    // An update feed needs no email: the near miss stays a warning.
    let (_, problems, summary) = validate(dir.path(), &input, &["--mode", "update"]).await;
    assert_eq!(summary["header_errors"], 0, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p["problem"].contains("did you mean 'email'"))
    );
}
