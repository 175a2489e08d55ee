//! HR files as they really arrive: their wording, no username column,
//! line breaks in cells, unrelated columns.

use std::path::Path;

use sebulk::Completion;

use crate::support::{against, config, read_csv, start};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hr_report_in_its_own_words_imports() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "report.csv",
        "Login,Given name,Surname,Work Email,Mobile phone,Employee #,Title,Status,Cost Centre,Badge,Desk,Parking\n\
         nia.okoro,Nia,Okoro,nia.okoro@northwind.example,+234 1 555 0000,E2001,Analyst,Active,CC-1,B1,D1,P1\n",
    );
    let results = dir.path().join("r.csv").display().to_string();
    let done = against(
        &sandbox,
        &["import", "--auto-password", "--results", &results, &input],
    )
    .await
    .expect("an unrelated Status column and friends do not stop the file");
    assert_eq!(done, Completion::Clean);
    let tenant = sandbox.tenant();
    let nia = tenant.user_by_username("nia.okoro").unwrap();
    assert_eq!(nia.fields.last_name.as_deref(), Some("Okoro"));
    assert_eq!(nia.fields.first_name.as_deref(), Some("Nia"));
    assert_eq!(nia.fields.mobile.as_deref(), Some("+234 1 555 0000"));
    assert_eq!(nia.fields.employee_number.as_deref(), Some("E2001"));
    assert_eq!(nia.fields.job_title.as_deref(), Some("Analyst"));
    assert_eq!(nia.fields.state, None, "Status is not the state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_feed_keyed_on_employee_number_needs_no_username() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "feed.csv",
        "employeeNumber,department\nE1002,Platform\nE1004,Field Sales\nE9999,Nowhere\n",
    );
    let results = dir.path().join("r.csv");
    let results_text = results.display().to_string();
    let args = [
        "import",
        "--match-by",
        "employeeNumber",
        "--mode",
        "update",
        "--results",
        &results_text,
        &input,
    ];
    let done = against(&sandbox, &args).await.expect("the feed runs");
    assert_eq!(done, Completion::WithProblems, "E9999 matches nobody");
    let lines = read_csv(&results);
    assert_eq!(lines[0]["outcome"], "updated");
    assert_eq!(
        lines[0]["username"], "jonas.becker",
        "the user found names the row"
    );
    assert_eq!(lines[1]["username"], "mateo.garcia");
    assert_eq!(lines[2]["outcome"], "failed");
    assert_eq!(lines[2]["username"], "E9999");
    let tenant = sandbox.tenant();
    let jonas = tenant.user_by_username("jonas.becker").unwrap();
    assert_eq!(jonas.fields.department.as_deref(), Some("Platform"));
    assert_eq!(
        jonas.fields.email.as_deref(),
        Some("jonas.becker@northwind.example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_can_come_from_the_email() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "google.csv",
        "First Name [Required],Last Name [Required],Email Address [Required],Org Unit Path [Required]\n\
         Ana,Lima,ana.lima@northwind.example,/\n",
    );
    let refused = against(&sandbox, &["validate", &input]).await;
    assert!(
        matches!(refused, Err(_) | Ok(Completion::WithProblems)),
        "without a username column or --username-from the file is refused"
    );
    let results = dir.path().join("r.csv").display().to_string();
    let args = [
        "import",
        "--username-from",
        "local-part",
        "--ignore-unknown-columns",
        "--auto-password",
        "--results",
        &results,
        &input,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let ana = sandbox
        .tenant()
        .user_by_username("ana.lima")
        .cloned()
        .unwrap();
    assert_eq!(ana.fields.first_name.as_deref(), Some("Ana"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_break_in_a_cell_is_data_and_round_trips() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "hires.csv",
        "username,email,streetAddress,department\n\
         ben.ng,ben.ng@northwind.example,\"1 Main St\nFlat 2\",\"Ops\nNight shift\"\n",
    );
    let results = dir.path().join("r.csv").display().to_string();
    let done = against(
        &sandbox,
        &["import", "--auto-password", "--results", &results, &input],
    )
    .await;
    assert_eq!(
        done.unwrap(),
        Completion::Clean,
        "a line break never makes a row invalid"
    );
    let ben = sandbox
        .tenant()
        .user_by_username("ben.ng")
        .cloned()
        .unwrap();
    assert_eq!(
        ben.fields.street_address.as_deref(),
        Some("1 Main St\nFlat 2")
    );
    assert_eq!(ben.fields.department.as_deref(), Some("Ops\nNight shift"));

    // Exported and imported again: nothing to change.
    let export = dir.path().join("users.csv").display().to_string();
    against(&sandbox, &["export", "users", "-o", &export])
        .await
        .unwrap();
    let writes = sandbox.counters().writes;
    let again = dir.path().join("again.csv").display().to_string();
    against(&sandbox, &["import", "--results", &again, &export])
        .await
        .unwrap();
    assert_eq!(sandbox.counters().writes, writes);
}
