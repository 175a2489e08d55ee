//! `--notify URL`: a loopback receiver is told how every run ended (done,
//! refused, failed, interrupted); a receiver that hangs or fails never
//! holds the exit beyond the bound nor changes its code; the URL is in no
//! output.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use sebulk::Completion;

use crate::support::{KEY, against, config, process, start, start_empty};

/// A receiver on 127.0.0.1:0 answering `status` after `delay` (and
/// redirecting `/moved` to its hook); the bodies it got.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn receiver(status: StatusCode, delay: Duration) -> Receiver {
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = bodies.clone();
    let app = Router::new()
        .route(
            "/hooks/T000/SECRET-TOKEN-42",
            post(move |body: String| {
                let seen = seen.clone();
                async move {
                    if let Ok(value) = serde_json::from_str(&body) {
                        seen.lock().unwrap().push(value);
                    }
                    tokio::time::sleep(delay).await;
                    status
                }
            }),
        )
        // The hook's old address: a redirect within the same origin.
        .route(
            "/moved",
            post(|| async {
                (
                    StatusCode::PERMANENT_REDIRECT,
                    [(axum::http::header::LOCATION, "/hooks/T000/SECRET-TOKEN-42")],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{address}/hooks/T000/SECRET-TOKEN-42"),
        bodies,
    }
}

impl Receiver {
    fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_a_run_and_a_refusal_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let hook = receiver(StatusCode::OK, Duration::ZERO).await;
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email\nana,ana@example.com\nbo,bo@example.com\n",
    );
    let out = dir.path().join("hires.results.csv");
    let args = [
        "import",
        &hires,
        "-o",
        out.to_str().unwrap(),
        "--notify",
        &hook.url,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let told = hook.bodies();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["command"], "import");
    assert_eq!(told[0]["exit_code"], 0);
    assert_eq!(told[0]["counts"]["created"], 2);
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("sebulk import of") && text.contains("2 created"),
        "{text}"
    );

    // A guard refusal is told, with why.
    let leavers = write(dir.path(), "leavers.csv", "username\nana\nbo\n");
    let args = [
        "offboard", &leavers, "--action", "delete", "--notify", &hook.url,
    ];
    let refused = against(&sandbox, &args).await.expect_err("guarded");
    assert!(matches!(refused, sebulk::CommandError::Refused(_)));
    let told = hook.bodies();
    assert_eq!(told.len(), 2);
    assert_eq!(told[1]["status"], "refused");
    assert_eq!(told[1]["exit_code"], 1);
    let text = told[1]["text"].as_str().unwrap();
    assert!(text.starts_with("sebulk offboard: refused: "), "{text}");
    assert!(text.contains(".held-"), "the held file is named: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_told_and_the_url_is_in_no_output() {
    let hook = receiver(StatusCode::OK, Duration::ZERO).await;
    let output = process()
        .env("SEBULK_API_KEY", KEY)
        .args([
            "--base-url",
            "http://127.0.0.1:9/api/user/restapi",
            "--max-retries",
            "0",
            "-vv",
            "export",
            "users",
            "--notify",
            &hook.url,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let told = hook.bodies();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["status"], "failed");
    assert_eq!(told[0]["command"], "export");
    assert!(told[0]["text"].as_str().unwrap().contains("failed"));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all.contains("SECRET-TOKEN"), "{all}");

    // Plain HTTP beyond loopback is refused before anything runs, the URL unsaid.
    let output = process()
        .args([
            "--sandbox",
            "export",
            "users",
            "--notify",
            "http://hooks.example.com/x/SECRET-TOKEN-42",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("not HTTPS") && !said.contains("SECRET-TOKEN"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_or_failing_receiver_never_holds_the_exit_or_changes_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let hanging = receiver(StatusCode::OK, Duration::from_secs(60)).await;
    let failing = receiver(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email\nana,ana@example.com\n",
    );
    let out = dir.path().join("hires.results.csv");
    let started = Instant::now();
    let args = [
        "import",
        &hires,
        "-o",
        out.to_str().unwrap(),
        "--notify",
        &hanging.url,
        "--notify",
        &failing.url,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        failing.bodies().len(),
        3,
        "a failed delivery is tried three times"
    );
    assert!(!hanging.bodies().is_empty());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_is_told() {
    use crate::support::{client, new_user};
    let dir = tempfile::tempdir().unwrap();
    let mut slow = config();
    slow.faults.latency = Duration::from_millis(40);
    let sandbox = start(slow).await;
    let api = client(&sandbox);
    let mut text = String::from("username\n");
    for i in 0..30 {
        let name = format!("leaver{i:02}");
        api.create_user(&new_user(&name)).await.unwrap();
        text.push_str(&format!("{name}\n"));
    }
    let leavers = write(dir.path(), "leavers.csv", &text);
    let hook = receiver(StatusCode::OK, Duration::ZERO).await;
    let args = [
        "offboard",
        "--action",
        "lock",
        "--max-affected",
        "30",
        &leavers,
        "--notify",
        &hook.url,
    ];
    let output = crate::support::interrupted_run(&sandbox, &args, 5).await;
    assert_eq!(output.status.code(), Some(130));
    let told = hook.bodies();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["exit_code"], 130);
    assert!(
        told[0]["text"].as_str().unwrap().contains("interrupted"),
        "{told:?}"
    );
    assert_eq!(told[0]["interrupted"], true);
}

/// A receiver whose hook answers 307 to `target`; whether it was asked.
async fn redirecting(target: String) -> (String, Arc<Mutex<u32>>) {
    let asked: Arc<Mutex<u32>> = Arc::default();
    let seen = asked.clone();
    let app = Router::new().route(
        "/hooks/T000/SECRET-TOKEN-42",
        post(move || {
            let (seen, target) = (seen.clone(), target.clone());
            async move {
                *seen.lock().unwrap() += 1;
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, target)],
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{address}/hooks/T000/SECRET-TOKEN-42"),
        asked,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    // Another port is another origin: the summary must never reach it.
    let elsewhere = receiver(StatusCode::OK, Duration::ZERO).await;
    let (hook, asked) = redirecting(elsewhere.url.clone()).await;
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email\nana,ana@example.com\n",
    );
    let out = dir.path().join("hires.results.csv");
    let base = sandbox.base_url().to_string();
    let args = [
        "-vv",
        "import",
        &hires,
        "-o",
        out.to_str().unwrap(),
        "--notify",
        &hook,
    ];
    let output = crate::support::sebulk(&base, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "the exit code is the run's: {said}"
    );
    assert!(
        said.contains("notification 1 not delivered: redirected to another origin; not followed"),
        "{said}"
    );
    assert!(!said.contains("SECRET-TOKEN"), "{said}");
    assert_eq!(*asked.lock().unwrap(), 1, "told once, not tried again");
    assert!(
        elsewhere.bodies().is_empty(),
        "the other origin got nothing"
    );

    // Within the receiver's own origin a redirect is followed.
    let moved = receiver(StatusCode::OK, Duration::ZERO).await;
    let hires = write(
        dir.path(),
        "more.csv",
        "username,email\nbo,bo@example.com\n",
    );
    let out = dir.path().join("more.results.csv");
    let same_origin = moved.url.replace("/hooks/T000/SECRET-TOKEN-42", "/moved");
    let args = [
        "import",
        &hires,
        "-o",
        out.to_str().unwrap(),
        "--notify",
        &same_origin,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let told = moved.bodies();
    assert_eq!(told.len(), 1, "followed to the hook: {told:?}");
    assert_eq!(told[0]["counts"]["created"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_come_from_the_environment_and_from_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_empty().await;
    let base = sandbox.base_url().to_string();
    let (first, second, third) = (
        receiver(StatusCode::OK, Duration::ZERO).await,
        receiver(StatusCode::OK, Duration::ZERO).await,
        receiver(StatusCode::OK, Duration::ZERO).await,
    );
    let hires = write(
        dir.path(),
        "hires.csv",
        "username,email\nana,ana@example.com\n",
    );
    let hooks = dir.path().join("hooks");
    std::fs::write(&hooks, format!("# the team's channel\n\n{}\n", third.url)).unwrap();
    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = dir.path().join("hires.results.csv");
    let args = [
        "-vv",
        "import",
        &hires,
        "-o",
        out.to_str().unwrap(),
        "--notify-file",
        hooks.to_str().unwrap(),
    ];
    let output = crate::support::sebulk(&base, &args)
        .env("SEBULK_NOTIFY", format!("{}\n {}", first.url, second.url))
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{said}");
    for receiver in [&first, &second, &third] {
        assert_eq!(receiver.bodies().len(), 1, "{said}");
    }
    assert!(!said.contains("SECRET-TOKEN"), "{said}");
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(!report.contains("SECRET-TOKEN"));

    // A file others may read is refused, before anything runs.
    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o644)).unwrap();
    let writes = sandbox.counters().writes;
    let hires = write(
        dir.path(),
        "more.csv",
        "username,email\nbo,bo@example.com\n",
    );
    let args = ["import", &hires, "--notify-file", hooks.to_str().unwrap()];
    let output = crate::support::sebulk(&base, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("chmod 600 {}", hooks.display())) && !said.contains("SECRET-TOKEN"),
        "{said}"
    );
    assert_eq!(sandbox.counters().writes, writes, "nothing ran");
    assert_eq!(third.bodies().len(), 1);
}
