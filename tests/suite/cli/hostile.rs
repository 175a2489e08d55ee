//! Hostile files, paths and servers: each defect of the hostile-input
//! audit, reproduced as the audit did, through the binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{sebulk, text, with_key};
use crate::support::{KEY, config, start};

const HEADER: &str = "username,email,firstName,lastName,department";

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn people(count: usize) -> String {
    let mut text = format!("{HEADER}\n");
    for i in 0..count {
        text += &format!("p{i:04},p{i:04}@northwind.example,Pat,Number{i},Ops\n");
    }
    text
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every output flag, given `link` (a symlink to a file that is not
/// ours): with `--force` the link is replaced by our file and its target
/// is untouched; without, the run is refused before it does anything.
/// The summary, replaced every run, replaces the link without `--force`.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_is_written_through_a_link() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let sandbox = start(config()).await;
    let url = sandbox.base_url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "people.csv", &people(3));
    let input = input.to_str().unwrap();
    let elsewhere = dir.path().join("elsewhere.csv");
    let elsewhere = elsewhere.to_str().unwrap();
    type Case<'a> = (&'static str, Box<dyn Fn(&str) -> Vec<String> + 'a>);
    let cases: Vec<Case> = vec![
        (
            "import --results",
            Box::new(|out| {
                vec![
                    "import".into(),
                    "--results".into(),
                    out.into(),
                    input.into(),
                ]
            }),
        ),
        (
            "validate -o",
            Box::new(|out| vec!["validate".into(), "-o".into(), out.into(), input.into()]),
        ),
        (
            "plan -o",
            Box::new(|out| vec!["plan".into(), "-o".into(), out.into(), input.into()]),
        ),
        (
            "export -o",
            Box::new(|out| vec!["export".into(), "users".into(), "-o".into(), out.into()]),
        ),
    ];
    for (name, args) in cases {
        let victim = write(dir.path(), "victim.txt", "precious\n");
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("out.csv");
        let dangling = dir.path().join("dangling.csv");
        for path in [&link, &dangling, Path::new(elsewhere)] {
            let _ = std::fs::remove_file(path);
        }
        symlink(&victim, &link).unwrap();
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let run = |out: &Path, force: bool| {
            let mut argv = vec!["--base-url".to_string(), url.clone()];
            argv.extend(args(out.to_str().unwrap()));
            if force {
                argv.push("--force".into());
            }
            async move {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                with_key(&argv).await
            }
        };
        for path in [&link, &dangling] {
            let writes = sandbox.counters().writes;
            let refused = run(path, false).await;
            assert_eq!(refused.status.code(), Some(1), "{name}: {}", text(&refused));
            assert!(
                text(&refused).contains("--force"),
                "{name}: {}",
                text(&refused)
            );
            assert_eq!(
                sandbox.counters().writes,
                writes,
                "{name}: refused before any write"
            );
            assert!(
                std::fs::symlink_metadata(path)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
        let _ = std::fs::remove_file(elsewhere);
        let forced = run(&link, true).await;
        assert!(
            matches!(forced.status.code(), Some(0 | 3)),
            "{name}: {}",
            text(&forced)
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious\n",
            "{name}"
        );
        assert_eq!(mode(&victim), 0o644, "{name}: the target keeps its mode");
        let written = std::fs::symlink_metadata(&link).unwrap();
        assert!(written.is_file(), "{name}: the link was replaced by a file");
        assert_eq!(mode(&link), 0o600, "{name}");
        assert!(!dir.path().join("nowhere").exists(), "{name}");
    }

    // The summary is the run's status, replaced every run without
    // --force: a link there is replaced too, never written through.
    let victim = write(dir.path(), "victim.txt", "precious\n");
    let link = dir.path().join("last.json");
    symlink(&victim, &link).unwrap();
    let _ = std::fs::remove_file(elsewhere);
    let args = [
        "--base-url",
        &url,
        "import",
        "--results",
        elsewhere,
        "--summary-json",
        link.to_str().unwrap(),
        input,
    ];
    let output = with_key(&args).await;
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{}",
        text(&output)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(mode(&link), 0o600);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&link).unwrap()).unwrap();
    assert!(summary["counts"].is_object(), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_never_replaces_the_results_or_the_input() {
    let sandbox = start(config()).await;
    let url = sandbox.base_url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "people.csv", &people(3));
    let results = dir.path().join("results.csv");
    let (input, results) = (input.to_str().unwrap(), results.to_str().unwrap());
    for summary in [results, input] {
        let output = with_key(&[
            "--base-url",
            &url,
            "import",
            "--force",
            "--results",
            results,
            "--summary-json",
            summary,
            input,
        ])
        .await;
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert_eq!(sandbox.counters().writes, 0);
    }
    assert_eq!(std::fs::read_to_string(input).unwrap(), people(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_quote_stops_the_file_even_with_skip_invalid() {
    let sandbox = start(config()).await;
    let url = sandbox.base_url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut body = people(1000);
    body = body.replacen("p0002,p0002@", "p0002,\"p0002@", 1);
    let input = write(dir.path(), "people.csv", &body);
    let input = input.to_str().unwrap();
    let validated = sebulk().args(["validate", input]).output().await.unwrap();
    let said = text(&validated);
    assert_ne!(validated.status.code(), Some(0), "{said}");
    assert!(said.contains("line 4"), "the line the quote opened: {said}");
    assert!(!said.contains("3 rows"), "{said}");
    let results = dir.path().join("results.csv");
    let imported = with_key(&[
        "--base-url",
        &url,
        "import",
        "--skip-invalid",
        "--results",
        results.to_str().unwrap(),
        input,
    ])
    .await;
    assert_ne!(imported.status.code(), Some(0), "{}", text(&imported));
    assert_eq!(
        sandbox.counters().writes,
        0,
        "nobody is created from half a file"
    );
}

#[tokio::test]
async fn what_reaches_the_terminal_is_escaped_and_short() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(20_000);
    let body =
        format!("{HEADER}\nana,\u{1b}]0;pwned\u{7}\u{1b}[2J@x,Ana,A,Ops\nbo,{huge},Bo,B,Ops\n");
    let input = write(dir.path(), "people.csv", &body);
    let report = dir.path().join("report.csv");
    let output = sebulk()
        .args(["validate", "-o"])
        .arg(&report)
        .arg(&input)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let printed = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert!(
        !printed.iter().any(|b| *b == 0x1b || *b == 0x07),
        "no raw control character is printed"
    );
    let said = String::from_utf8_lossy(&printed);
    assert!(said.contains("\\u{1b}"), "escaped, not hidden: {said}");
    assert!(
        said.len() < 5_000,
        "the long cell is shortened ({} bytes)",
        said.len()
    );
    let report_size = std::fs::metadata(&report).unwrap().len();
    assert!(
        report_size < 5_000,
        "the report is not a copy of the cell ({report_size} bytes)"
    );

    // A cell far beyond any field is a damaged file, said plainly.
    let body = format!("{HEADER}\nbo,{},Bo,B,Ops\n", "x".repeat(200_000));
    let input = write(dir.path(), "damaged.csv", &body);
    let output = sebulk().arg("validate").arg(&input).output().await.unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("far longer than any field allows"), "{said}");
    assert!(said.len() < 1_000, "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notepad_key_file_and_a_url_with_a_password() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = write(dir.path(), "api.key", &format!("\u{feff}{KEY}\r\n"));
    private(&key_file);
    let output = sebulk()
        .args(["--base-url", sandbox.base_url().as_str(), "--api-key-file"])
        .arg(&key_file)
        .arg("check")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));

    let output = with_key(&[
        "--base-url",
        "https://admin:hunter2@acme.example/api",
        "check",
    ])
    .await;
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        !said.contains("hunter2") && !said.contains("admin:"),
        "{said}"
    );
    assert!(said.contains("user name or password"), "{said}");
}

/// Makes `path` readable by its owner only, as a key file must be.
fn private(path: impl AsRef<std::path::Path>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test]
async fn utf16_without_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<u8> = people(3)
        .encode_utf16()
        .flat_map(|unit| unit.to_le_bytes())
        .collect();
    let input = dir.path().join("people.csv");
    std::fs::write(&input, body).unwrap();
    let output = sebulk().arg("validate").arg(&input).output().await.unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("3 rows"), "{said}");
    assert!(!said.contains('\0'), "{said}");
}

/// A server whose every answer is an endless JSON array.
async fn endless_server() -> String {
    use axum::body::{Body, Bytes};
    let app = axum::Router::new().fallback(|| async {
        let opening = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("[")) });
        let padding = futures::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(Bytes::from(
                r#"{"id":"x","userName":"padding"},"#.repeat(2000),
            ))
        });
        axum::response::Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(futures::StreamExt::chain(
                opening, padding,
            )))
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_off_and_leaves_no_file() {
    let url = endless_server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("users.csv");
    let started = std::time::Instant::now();
    let output = sebulk()
        .args([
            "--base-url",
            &url,
            "--max-body",
            "2",
            "export",
            "users",
            "-o",
        ])
        .arg(&out)
        .env("SEBULK_API_KEY", KEY)
        .output()
        .await
        .unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("larger than"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no partial"
    );
}

#[tokio::test]
async fn the_sandbox_closes_half_open_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut quick = config();
    quick.idle_timeout = Duration::from_millis(300);
    let sandbox = start(quick).await;
    let address = sandbox.base_url().socket_addrs(|| None).unwrap()[0];
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/user/restapi/users HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the connection is closed, not held open");
}

/// An output FIFO nobody reads: the run waits for a reader, and a
/// SIGTERM ends the wait with a clear error instead of hanging for ever.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_nobody_reads_is_given_up_at_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start(config()).await;
    let fifo = dir.path().join("results.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let leavers = write(dir.path(), "leavers.csv", "username\nyuki.tanaka\n");
    let child = crate::support::sebulk(
        sandbox.base_url().as_str(),
        &[
            "offboard",
            "--action",
            "disable",
            "-o",
            fifo.to_str().unwrap(),
            leavers.to_str().unwrap(),
        ],
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    crate::support::send_signal(&child, "-TERM").await;
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the signal ends the wait")
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nobody reads this FIFO"), "{stderr}");
    assert_eq!(sandbox.counters().writes, 0);
}
