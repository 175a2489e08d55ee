//! Results kept as history: `--results-dir` and `--excel`.

use sebulk::Completion;

use super::rows::write_input;
use crate::support::{against, config, read_csv, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nightly_runs_keep_every_results_file_and_excel_ones_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..3)
        .map(|i| format!("night{i},night{i}@northwind.example,Ni,Ght{i},Ops,,GB,Sales,,"))
        .collect();
    let input = write_input(dir.path(), "hires.csv", &lines);
    let history = dir.path().join("history");
    let [i, h] = [&input, &history].map(|p| p.display().to_string());
    let sandbox = start(config()).await;
    let run = [
        "import",
        "--auto-password",
        "--results-dir",
        &h,
        "--excel",
        &i,
    ];
    assert_eq!(against(&sandbox, &run).await.unwrap(), Completion::Clean);
    assert_eq!(against(&sandbox, &run).await.unwrap(), Completion::Clean);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&history)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    // Beside the dated results, the last run's summary and report.
    let status = [history.join("last.html"), history.join("last.json")];
    let (status_files, files): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|f| status.contains(f));
    assert_eq!(status_files, status);
    assert_eq!(files.len(), 2, "{files:?}: no --force, nothing overwritten");
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("hires.results.") && name.ends_with(".csv"),
            "{name}"
        );
        let bytes = std::fs::read(file).unwrap();
        assert!(
            bytes.starts_with("\u{feff}row,username,outcome".as_bytes()),
            "{name}"
        );
    }
    let outcomes = |path: &std::path::Path| -> Vec<String> {
        // The byte-order mark is Excel's; the CSV under it is plain.
        let text = std::fs::read_to_string(path).unwrap();
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, text.trim_start_matches('\u{feff}')).unwrap();
        read_csv(&plain)
            .into_iter()
            .map(|r| r["outcome"].clone())
            .collect()
    };
    let first = &files[0];
    let second = &files[1];
    let runs = [outcomes(first), outcomes(second)];
    let created = ["created"; 3].map(String::from);
    let unchanged = ["unchanged"; 3].map(String::from);
    assert!(
        runs.contains(&created.to_vec()) && runs.contains(&unchanged.to_vec()),
        "{runs:?}"
    );

    // Both readers take the marked file: --resume, and import itself.
    let writes = sandbox.counters().writes;
    let resumed = [
        "import",
        "--resume",
        &first.display().to_string(),
        "--results-dir",
        &h,
        &i,
    ];
    assert_eq!(
        against(&sandbox, &resumed).await.unwrap(),
        Completion::Clean
    );
    let plan = dir.path().join("plan.csv");
    let p = plan.display().to_string();
    let again = ["plan", "-o", &p, &second.display().to_string()];
    assert_eq!(against(&sandbox, &again).await.unwrap(), Completion::Clean);
    assert_eq!(read_csv(&plan).len(), 3);
    assert!(read_csv(&plan).iter().all(|r| r["action"] == "unchanged"));
    assert_eq!(sandbox.counters().writes, writes);
    assert_eq!(
        std::fs::read_dir(&history).unwrap().count(),
        5,
        "3 results, last.json, last.html"
    );

    // -o and --results-dir say two different things.
    let both = ["import", "-o", &p, "--results-dir", &h, &i];
    let refused = against(&sandbox, &both).await.expect_err("usage");
    assert_eq!(sebulk::exit_code(&refused), 2, "{refused}");
}
