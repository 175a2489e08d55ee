//! Exports of other systems, imported through the built-in presets, a
//! mapping file, every encoding and delimiter Excel writes, and
//! report-style spreadsheets.

use std::path::{Path, PathBuf};

use sebulk::Completion;
use sebulk::sandbox::SandboxHandle;

use crate::support::{against, config, read_csv, start};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/presets")
        .join(name)
}

/// Imports `input` into `sandbox` with `extra` flags; the results' lines.
async fn import(
    sandbox: &SandboxHandle,
    input: &Path,
    extra: &[&str],
) -> (Completion, Vec<std::collections::BTreeMap<String, String>>) {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.csv");
    let (input, results_text) = (input.display().to_string(), results.display().to_string());
    let mut args = vec!["import", "--auto-password", "--results", &results_text];
    args.extend_from_slice(extra);
    args.push(&input);
    let done = against(sandbox, &args).await.expect("the import runs");
    (done, read_csv(&results))
}

fn outcomes(lines: &[std::collections::BTreeMap<String, String>]) -> Vec<&str> {
    lines.iter().map(|l| l["outcome"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_download_users() {
    let sandbox = start(config()).await;
    let (done, lines) = import(&sandbox, &sample("entra.csv"), &["--preset", "entra"]).await;
    assert_eq!(done, Completion::Clean);
    // Guests (userType Guest, or #EXT# in the name) are another
    // organisation's people: left out.
    assert_eq!(
        outcomes(&lines),
        ["created", "created", "filtered", "filtered"]
    );
    let tenant = sandbox.tenant();
    let grace = tenant
        .user_by_username("grace.hopper@northwind.example")
        .unwrap();
    assert_eq!(grace.fields.country.as_deref(), Some("United States"));
    assert_eq!(grace.fields.job_title.as_deref(), Some("Rear Admiral"));
    assert_eq!(
        grace.fields.user_type, None,
        "Entra's Member is not our user type"
    );
    let alan = tenant
        .user_by_username("alan.turing@northwind.example")
        .unwrap();
    assert_eq!(
        alan.fields.email.as_deref(),
        Some("alan.turing@northwind.example"),
        "no mail: the sign-in name"
    );
    assert_eq!(
        alan.fields.country.as_deref(),
        Some("United Kingdom"),
        "usageLocation GB"
    );
    assert!(
        tenant
            .users()
            .all(|u| !matches!(u.fields.first_name.as_deref(), Some("Pat" | "Sam"))),
        "no guest comes in"
    );

    // The same download with local-part usernames, into a fresh tenant.
    let other = start(config()).await;
    let (done, _) = import(
        &other,
        &sample("entra.csv"),
        &["--preset", "entra", "--username-from", "local-part"],
    )
    .await;
    assert_eq!(done, Completion::Clean);
    assert!(other.tenant().user_by_username("grace.hopper").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_user_download() {
    let sandbox = start(config()).await;
    let (done, lines) = import(&sandbox, &sample("google.csv"), &["--preset", "google"]).await;
    assert_eq!(done, Completion::Clean);
    assert_eq!(outcomes(&lines), ["created", "created"]);
    let tenant = sandbox.tenant();
    let ada = tenant
        .user_by_username("ada.lovelace@northwind.example")
        .unwrap();
    assert_eq!(ada.fields.employee_number.as_deref(), Some("G-1001"));
    assert_eq!(ada.fields.is_enabled, Some(true));
    assert!(
        !ada.password.auto_generated || ada.password.times_set == 1,
        "the masked **** is never a password"
    );
    let comma = tenant
        .user_by_username("comma.user@northwind.example")
        .unwrap();
    assert_eq!(comma.fields.first_name.as_deref(), Some("Comma, Name"));
    assert_eq!(comma.fields.job_title.as_deref(), Some("Sales, EMEA"));
    assert_eq!(
        comma.fields.is_enabled,
        Some(false),
        "Suspended comes in disabled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_export_leaves_out_deprovisioned_users() {
    let sandbox = start(config()).await;
    let (done, lines) = import(&sandbox, &sample("okta.csv"), &["--preset", "okta"]).await;
    assert_eq!(done, Completion::Clean, "filtered rows are not problems");
    // Every spelling Okta writes: the API's and the console's.
    assert_eq!(
        outcomes(&lines),
        [
            "created", "created", "filtered", "filtered", "created", "created"
        ]
    );
    assert!(
        lines[2]["error"].to_lowercase().contains("deprovisioned"),
        "{}",
        lines[2]["error"]
    );
    let tenant = sandbox.tenant();
    assert!(
        tenant
            .user_by_username("annie.easley@northwind.example")
            .is_err(),
        "Deactivated is never created"
    );
    let christine = tenant
        .user_by_username("christine.darden@northwind.example")
        .unwrap();
    assert_eq!(christine.fields.is_locked, Some(true));
    assert_eq!(
        tenant
            .user_by_username("melba.roy@northwind.example")
            .unwrap()
            .fields
            .is_enabled,
        Some(true)
    );
    assert!(
        tenant
            .user_by_username("mary.jackson@northwind.example")
            .is_err()
    );
    let dorothy = tenant
        .user_by_username("dorothy.vaughan@northwind.example")
        .unwrap();
    assert_eq!(dorothy.fields.is_enabled, Some(false));
    let katherine = tenant
        .user_by_username("katherine.johnson@northwind.example")
        .unwrap();
    assert_eq!(katherine.fields.country.as_deref(), Some("United States"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpcloud_export() {
    let sandbox = start(config()).await;
    let (done, lines) = import(
        &sandbox,
        &sample("jumpcloud.csv"),
        &["--preset", "jumpcloud"],
    )
    .await;
    assert_eq!(done, Completion::Clean);
    assert_eq!(outcomes(&lines), ["created", "created"]);
    let tenant = sandbox.tenant();
    assert_eq!(
        tenant
            .user_by_username("hedy.lamarr")
            .unwrap()
            .fields
            .is_enabled,
        Some(true)
    );
    assert_eq!(
        tenant
            .user_by_username("barbara.liskov")
            .unwrap()
            .fields
            .is_enabled,
        Some(false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_directory_export_csv() {
    let sandbox = start(config()).await;
    let (done, lines) = import(&sandbox, &sample("ad.csv"), &["--preset", "ad"]).await;
    assert_eq!(
        done,
        Completion::Clean,
        "PowerShell's #TYPE line is skipped"
    );
    assert_eq!(outcomes(&lines), ["created", "created"]);
    let tenant = sandbox.tenant();
    let john = tenant.user_by_username("jvn").unwrap();
    assert_eq!(john.fields.last_name.as_deref(), Some("von Neumann"));
    let claude = tenant.user_by_username("cshannon").unwrap();
    assert_eq!(claude.fields.is_enabled, Some(false));
    assert_eq!(
        claude.fields.email.as_deref(),
        Some("claude.shannon@northwind.example"),
        "UPN when no mail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bamboohr_report_keeps_active_staff_starting_soon() {
    let sandbox = start(config()).await;
    let (done, lines) = import(&sandbox, &sample("bamboohr.csv"), &["--preset", "bamboohr"]).await;
    assert_eq!(done, Completion::Clean);
    assert_eq!(
        outcomes(&lines),
        ["created", "created", "filtered", "filtered"]
    );
    let tenant = sandbox.tenant();
    let maggie = tenant
        .user_by_username("margaret.hamilton@northwind.example")
        .unwrap();
    assert_eq!(
        maggie.fields.first_name.as_deref(),
        Some("Maggie"),
        "the preferred name wins"
    );
    assert_eq!(maggie.fields.employee_number.as_deref(), Some("B-101"));

    // The nightly run again: matched on employee number, nothing to do.
    let writes = sandbox.counters().writes;
    let (done, lines) = import(&sandbox, &sample("bamboohr.csv"), &["--preset", "bamboohr"]).await;
    assert_eq!(done, Completion::Clean);
    assert_eq!(
        outcomes(&lines),
        ["unchanged", "unchanged", "filtered", "filtered"]
    );
    assert_eq!(sandbox.counters().writes, writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_file_with_templates_value_maps_and_a_filter() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("feed.toml");
    std::fs::write(
        &mapping,
        r#"
        [options]
        delimiter = ";"
        header_row = 3
        match_by = "employeeNumber"

        [fields]
        employeeNumber = "Pers.-Nr."
        username = { template = "{Vorname|ascii|lower}.{Nachname|ascii|lower}" }
        email = { template = "{username}@northwind.example" }
        firstName = "Vorname"
        lastName = "Nachname"
        employmentType = { column = "Art", map = { VZ = "Full-time", TZ = "Part-time" }, unmapped = "error" }
        department = { column = "Abteilung", default = "Unassigned" }
        groups = { template = "All Staff;{Abteilung?}" }

        [[filter]]
        column = "Status"
        in = ["aktiv"]
        "#,
    )
    .unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(
        &input,
        "Personalbericht\nStand 29.11.2026\nPers.-Nr.;Vorname;Nachname;Art;Abteilung;Status\n\
         P1;Jürgen;Großmann;VZ;Sales;aktiv\n\
         P2;Zoë;Ørsted;TZ;;aktiv\n\
         P3;Ex;Mitarbeiter;VZ;Sales;ausgeschieden\n",
    )
    .unwrap();
    let mapping_text = mapping.display().to_string();
    let (done, lines) = import(&sandbox, &input, &["--mapping", &mapping_text]).await;
    assert_eq!(done, Completion::Clean);
    assert_eq!(outcomes(&lines), ["created", "created", "filtered"]);
    let tenant = sandbox.tenant();
    let jurgen = tenant.user_by_username("jurgen.grossmann").unwrap();
    assert_eq!(
        jurgen.fields.email.as_deref(),
        Some("jurgen.grossmann@northwind.example")
    );
    assert_eq!(jurgen.fields.first_name.as_deref(), Some("Jürgen"));
    assert_eq!(jurgen.fields.employment_type.as_deref(), Some("Full-time"));
    let groups: Vec<String> = tenant
        .groups_of(&jurgen.id)
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert!(groups.contains(&"All Staff".to_string()) && groups.contains(&"Sales".to_string()));
    let zoe = tenant.user_by_username("zoe.orsted").unwrap();
    assert_eq!(zoe.fields.department.as_deref(), Some("Unassigned"));
    assert_eq!(zoe.fields.employment_type.as_deref(), Some("Part-time"));
}
