//! Pacing as the tenant sees it: never above `--rate` in any second, also
//! after a 429; a Retry-After beyond `--max-wait` stops the run cleanly;
//! an interrupt stops new work at once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sebulk::sandbox::Seed;
use sebulk::{CommandError, Completion};

use crate::support::{KEY, config, read_csv, sebulk_in_process, start};

fn hires(dir: &Path, count: usize) -> PathBuf {
    let mut text = String::from("username,email,groups\n");
    for i in 0..count {
        text.push_str(&format!("hire{i:04},hire{i:04}@example.com,All Staff\n"));
    }
    let path = dir.join("hires.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Imports `input` into the sandbox at `url`, paced by `pacing` (given
/// before the command), with `extra` import options.
async fn import_paced(
    url: &str,
    pacing: &[&str],
    extra: &[&str],
    (input, results): (&Path, &Path),
) -> Result<Completion, CommandError> {
    let [i, r] = [input, results].map(|p| p.display().to_string());
    let mut args = vec!["--base-url", url];
    args.extend_from_slice(pacing);
    args.push("import");
    args.extend_from_slice(extra);
    args.extend(["--results", &r, &i]);
    sebulk_in_process(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_above_the_rate_in_any_second_also_after_a_429() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.faults.record_arrivals = true;
    config.faults.latency = Duration::from_millis(20);
    // One 429 without Retry-After, mid-run.
    config.faults.scripted_429 = vec![(15, None)];
    let sandbox = start(config).await;
    let input = hires(dir.path(), 40);
    let results = dir.path().join("r.csv");
    let url = sandbox.base_url().to_string();
    let paths = (input.as_path(), results.as_path());
    let completion = import_paced(&url, &["--rate", "10"], &[], paths)
        .await
        .unwrap();
    assert_eq!(completion, Completion::Clean);
    assert_eq!(sandbox.counters().throttled, 1, "the 429 was met");
    let busiest = sandbox.busiest_second();
    assert!(
        busiest <= 10,
        "{busiest} requests in one second at --rate 10"
    );
    assert!(busiest >= 8, "but close to it: {busiest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_max_wait_stops_with_every_row_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.seed = Seed::Empty;
    config.faults.scripted_429 = vec![(12, Some(600))];
    let sandbox = start(config).await;
    let input = hires(dir.path(), 30);
    let results = dir.path().join("r.csv");
    let url = sandbox.base_url().to_string();
    let started = Instant::now();
    let err = import_paced(
        &url,
        &["--rate", "100", "--max-wait", "5"],
        &["--create-missing-groups"],
        (&input, &results),
    )
    .await
    .expect_err("a 600 s wait is beyond --max-wait 5");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it did not wait"
    );
    assert!(matches!(
        err,
        CommandError::Api(sebulk::api::ApiError::WaitTooLong {
            asked_seconds: 600,
            max_seconds: 5,
            ..
        })
    ));
    let message = err.to_string();
    assert!(message.contains("600 s"), "{message}");
    assert_eq!(sebulk::exit_code(&err), 1);
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 30, "every row recorded");
    // Created users whose memberships the stop cut off say so.
    let created = lines
        .iter()
        .filter(|l| l["outcome"] == "created" || l["error"].starts_with("the user was created"))
        .count();
    assert_eq!(
        created,
        sandbox.tenant().user_count(),
        "results match the tenant"
    );
    assert!(lines.iter().any(|l| l["outcome"] == "not_attempted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_does_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.seed = Seed::Empty;
    config.faults.scripted_429 = vec![(3, Some(u64::MAX))];
    let sandbox = start(config).await;
    let input = hires(dir.path(), 5);
    let results = dir.path().join("r.csv");
    let url = sandbox.base_url().to_string();
    let paths = (input.as_path(), results.as_path());
    let err = import_paced(&url, &[], &["--create-missing-groups"], paths)
        .await
        .expect_err("stopped, not crashed");
    assert!(err.to_string().contains("wait"), "{err}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_stops_new_work_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.seed = Seed::Empty;
    config.faults.record_arrivals = true;
    config.faults.latency = Duration::from_millis(100);
    let sandbox = start(config).await;
    let input = hires(dir.path(), 200);
    let results = dir.path().join("r.csv");
    let child = crate::support::process()
        .env("SEBULK_API_KEY", KEY)
        .args(["--base-url", sandbox.base_url().as_str(), "--rate", "5"])
        .args(["import", "--create-missing-groups", "--results"])
        .arg(&results)
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it create a few users.
    for _ in 0..1000 {
        if sandbox.counters().writes >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled = Instant::now();
    crate::support::send_signal(&child, "-INT").await;
    let output = crate::support::ended_interrupted(child).await;
    let exit_time = signalled.elapsed();
    // At --rate 5 a request leaves every 200 ms and takes 100 ms: at most a
    // couple were on the wire. Their memberships may follow; no new user.
    let creates_after: usize = sandbox
        .arrivals()
        .iter()
        .filter(|(at, write)| *write && *at > std::time::Instant::now() - exit_time)
        .count();
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 200, "every row recorded");
    let created = lines.iter().filter(|l| l["outcome"] == "created").count();
    assert_eq!(
        created,
        sandbox.tenant().user_count(),
        "results match the tenant"
    );
    assert!(
        creates_after <= 3 + created.div_ceil(100),
        "{creates_after} writes arrived after the signal"
    );
    assert!(
        exit_time < Duration::from_secs(3),
        "exited after {exit_time:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not attempted"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
}
