//! Dates in a sync are read only when certain: a year not written in
//! full makes its row invalid (never a leaver, never an early joiner);
//! slashed dates read in the order declared once (`--date-order`, the
//! mapping's or the profile's `date_order`, in that precedence), shown in
//! the plan and the summary; a last day worked ends access after it, a
//! termination date on it.

use std::path::Path;

use sebulk::Completion;
use sebulk::sandbox::SandboxHandle;

use super::sync::{enabled, outcomes, sync, users, write};
use crate::support::{KEY, against, read_csv, start_empty};

/// Three people, all working.
const TENANT: &str = "\
username,email,firstName,lastName,employeeNumber,department,isEnabled
ana,ana@example.com,Ana,Ant,1001,Sales,true
bob,bob@example.com,Bob,Bee,1002,Sales,true
cara,cara@example.com,Cara,Cat,1003,Ops,true
";

async fn tenant(dir: &Path) -> SandboxHandle {
    let sandbox = start_empty().await;
    let file = write(dir, "tenant.csv", TENANT);
    let results = dir.join("tenant.results.csv");
    let args = ["import", &file, "-o", results.to_str().unwrap()];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    sandbox
}

/// The three of them, each row's last column `dates` (Ana, Bob, Cara),
/// then `joiner` rows; under a header ending in `date_column`.
fn roster(date_column: &str, dates: [&str; 3], joiners: &str) -> String {
    format!(
        "username,email,firstName,lastName,employeeNumber,department,{date_column}\n\
         ana,ana@example.com,Ana,Ant,1001,Sales,{}\n\
         bob,bob@example.com,Bob,Bee,1002,Sales,{}\n\
         cara,cara@example.com,Cara,Cat,1003,Ops,{}\n{joiners}",
        dates[0], dates[1], dates[2]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_not_written_in_full_is_never_read_as_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // Read as the year 26, each was "gone" two thousand years ago.
    let text = roster("Termination Date", ["31/12/26", "31.12.26", "12/31/26"], "");
    let file = write(dir.path(), "roster.csv", &text);
    let writes = sandbox.counters().writes;

    // A bad row stops only itself: each row is invalid, naming its cell,
    // and its person is neither changed nor a leaver (three invalid rows
    // are too few to call the roster broken); the night ends with exit 3.
    // --skip-invalid, the default now, is still accepted and says the same.
    for (name, extra) in [
        ("tonight.csv", &[][..]),
        ("skipped.csv", &["--skip-invalid"][..]),
    ] {
        let out = dir.path().join(name);
        let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, extra)
            .await
            .unwrap();
        assert_eq!(done, Completion::WithProblems);
        assert_eq!(sandbox.counters().writes, writes, "nothing was written");
        let rows = read_csv(&out);
        assert_eq!(rows.len(), 3, "no leaver rows: {rows:?}");
        for (row, cell) in rows.iter().zip(["31/12/26", "31.12.26", "12/31/26"]) {
            assert_eq!(row["outcome"], "invalid", "{row:?}");
            assert!(row["error"].contains(&format!("'{cell}'")), "{row:?}");
            assert!(row["error"].contains("write the year in full"), "{row:?}");
        }
    }
    let now = users(&sandbox);
    for name in ["ana", "bob", "cara"] {
        assert_eq!(enabled(&now, name), Some(true), "{name} still works");
    }
}

/// A joiner starting on 3 January 2027, written day-first.
const JOINER: &str = "dee,dee@example.com,Dee,Doe,2001,Ops,03/01/2027\n";

/// The plan's outcome for Dee and its seal's options, from a dry run of
/// `args` (a sync whose roster has a Start Date column) as of 2026-12-28.
fn dee_and_seal(plan: &Path) -> (String, Vec<String>) {
    let outcome = outcomes(plan)["dee"].clone();
    let text = std::fs::read_to_string(plan).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let exact = reader.headers().unwrap().iter().position(|h| h == "exact");
    let seal = reader
        .records()
        .map(Result::unwrap)
        .find(|r| r.get(0) == Some("plan-seal"))
        .expect("a sealed plan");
    let seal: serde_json::Value = serde_json::from_str(&seal[exact.unwrap()]).unwrap();
    let options = seal["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    (outcome, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_day_first_order_reads_03_01_2027_as_3_january() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let text = roster("Start Date", ["2020-01-06"; 3], JOINER);
    let file = write(dir.path(), "roster.csv", &text);
    let dry = |plan: &Path, order: Option<&'static str>| {
        let plan = plan.to_path_buf();
        let file = file.clone();
        let sandbox = &sandbox;
        async move {
            let mut extra = vec!["--dry-run"];
            extra.extend(order.map(|o| ["--date-order", o]).into_iter().flatten());
            sync(sandbox, (&file, "2026-12-28", "5"), &plan, &extra).await
        }
    };

    // No order: 03/01/2027 could be either, so the row is invalid.
    let plan = dir.path().join("none.plan.csv");
    dry(&plan, None).await.unwrap();
    let (dee, options) = dee_and_seal(&plan);
    assert_eq!(dee, "invalid");
    assert!(
        !options.iter().any(|o| o.starts_with("date-order")),
        "{options:?}"
    );
    // Month first: 1 March, beyond the creation window.
    let plan = dir.path().join("mdy.plan.csv");
    dry(&plan, Some("mdy")).await.unwrap();
    assert_eq!(
        dee_and_seal(&plan),
        ("pending".into(), with_order(&plan, "mdy"))
    );
    // Day first: 3 January, within it, so created ahead and disabled.
    let plan = dir.path().join("dmy.plan.csv");
    dry(&plan, Some("dmy")).await.unwrap();
    assert_eq!(
        dee_and_seal(&plan),
        ("created".into(), with_order(&plan, "dmy"))
    );

    let out = dir.path().join("sync.csv");
    let extra = ["--date-order", "dmy"];
    let done = sync(&sandbox, (&file, "2026-12-28", "5"), &out, &extra).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert_eq!(outcomes(&out)["dee"], "created");
    assert_eq!(
        enabled(&users(&sandbox), "dee"),
        Some(false),
        "until 3 January"
    );
    let out = dir.path().join("started.csv");
    let done = sync(&sandbox, (&file, "2027-01-03", "5"), &out, &extra).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert_eq!(enabled(&users(&sandbox), "dee"), Some(true), "on 3 January");
}

/// The seal options of `plan`, which must record `date-order=ORDER`.
fn with_order(plan: &Path, order: &str) -> Vec<String> {
    let (_, options) = dee_and_seal(plan);
    assert!(
        options.contains(&format!("date-order={order}")),
        "{options:?}"
    );
    options
}

/// Runs `args` in-process against `sandbox` with the config file `config`.
async fn with_config(
    sandbox: &SandboxHandle,
    config: &str,
    args: &[&str],
) -> Result<Completion, sebulk::CommandError> {
    let url = sandbox.base_url().to_string();
    let mut argv = vec![
        "sebulk",
        "--config",
        config,
        "--base-url",
        &url,
        "--rate",
        "500",
    ];
    argv.extend_from_slice(args);
    let env = |name: &str| (name == "SEBULK_API_KEY").then(|| KEY.to_string());
    sebulk::dispatch(argv, &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_is_declared_once_in_the_profile_or_the_mapping_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let text = roster("Start Date", ["2020-01-06"; 3], JOINER);
    let file = write(dir.path(), "roster.csv", &text);
    let profile = write(
        dir.path(),
        "config.toml",
        "default_profile = \"uk\"\n[profiles.uk]\ndate_order = \"dmy\"\n",
    );
    let mapping = |order: &str| {
        let name = format!("{order}.toml");
        write(
            dir.path(),
            &name,
            &format!("[options]\ndate_order = \"{order}\"\n"),
        )
    };
    let (mdy, dmy) = (mapping("mdy"), mapping("dmy"));
    let cases: [(&str, &str, &[&str], &str); 5] = [
        ("profile", &profile, &[], "created"),
        ("mapping", "/dev/null", &["--mapping", &dmy], "created"),
        (
            "mapping over profile",
            &profile,
            &["--mapping", &mdy],
            "pending",
        ),
        (
            "flag over mapping",
            "/dev/null",
            &["--mapping", &mdy, "--date-order", "dmy"],
            "created",
        ),
        (
            "flag over profile",
            &profile,
            &["--date-order", "mdy"],
            "pending",
        ),
    ];
    for (case, config, extra, dee) in cases {
        let plan = dir
            .path()
            .join(format!("{}.plan.csv", case.replace(' ', "-")));
        let mut args = vec![
            "sync",
            &file,
            "--as-of",
            "2026-12-28",
            "--max-affected",
            "5",
            "--dry-run",
            "-o",
        ];
        let plan_text = plan.to_str().unwrap().to_string();
        args.push(&plan_text);
        args.extend_from_slice(extra);
        let done = with_config(&sandbox, config, &args).await;
        assert_eq!(done.unwrap(), Completion::Clean, "{case}");
        assert_eq!(outcomes(&plan)["dee"], dee, "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_says_how_dates_were_read() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    let text = roster("Start Date", ["2020-01-06"; 3], JOINER);
    let file = write(dir.path(), "roster.csv", &text);
    let plan = dir.path().join("plan.csv");
    let summary = dir.path().join("summary.json");
    let url = sandbox.base_url().to_string();
    let args = [
        "sync",
        &file,
        "--as-of",
        "2026-12-28",
        "--date-order",
        "dmy",
        "--dry-run",
        "-o",
        plan.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let ran = crate::support::sebulk(&url, &args).output().await.unwrap();
    let screen = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(0), "{screen}");
    assert!(screen.contains("dates read day-first (dmy)"), "{screen}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["date_order"], "dmy");

    // A plan of an import says so too.
    let args = ["plan", &file, "--date-order", "mdy"];
    let ran = crate::support::sebulk(&url, &args).output().await.unwrap();
    let screen = String::from_utf8_lossy(&ran.stderr);
    assert!(screen.contains("dates read month-first (mdy)"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_working_day_ends_access_after_it_and_a_termination_date_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = tenant(dir.path()).await;
    // Bob works his last day on 3 December.
    let text = roster("Last Working Day", ["", "2026-12-03", ""], "");
    let file = write(dir.path(), "last-day.csv", &text);
    let out = dir.path().join("dec-03.csv");
    let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, &[]).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert_eq!(outcomes(&out)["bob"], "unchanged");
    assert_eq!(
        enabled(&users(&sandbox), "bob"),
        Some(true),
        "he works today"
    );
    let out = dir.path().join("dec-04.csv");
    let done = sync(&sandbox, (&file, "2026-12-04", "5"), &out, &[]).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert_eq!(outcomes(&out)["bob"], "disabled");
    assert_eq!(
        enabled(&users(&sandbox), "bob"),
        Some(false),
        "gone the day after"
    );

    // Cara's termination date is 3 December: she is gone from that day.
    let text = roster("Termination Date", ["", "2026-12-03", "2026-12-03"], "");
    let file = write(dir.path(), "termination.csv", &text);
    let out = dir.path().join("terminated.csv");
    let done = sync(&sandbox, (&file, "2026-12-03", "5"), &out, &[]).await;
    assert_eq!(done.unwrap(), Completion::Clean);
    assert_eq!(outcomes(&out)["cara"], "disabled");
    assert_eq!(
        enabled(&users(&sandbox), "cara"),
        Some(false),
        "gone on the day"
    );
    assert_eq!(enabled(&users(&sandbox), "ana"), Some(true));
}
