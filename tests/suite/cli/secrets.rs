//! Secrets from files, through the binary: a key file (`--api-key-file`,
//! `SEBULK_API_KEY_FILE`) or systemd's credential that others may read is
//! refused with the fix; the credential is read when no key is given
//! otherwise, and an explicit key wins over it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{sebulk, text};
use crate::support::{KEY, config, start};

/// Writes `body` to `dir/name` with `mode`.
fn write_with_mode(dir: &Path, name: &str, body: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_is_refused_with_the_fix() {
    let sandbox = start(config()).await;
    let base = sandbox.base_url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let open = write_with_mode(dir.path(), "open.key", &format!("{KEY}\n"), 0o644);
    let shown = open.display().to_string();
    let by_flag = sebulk()
        .args(["--base-url", &base, "--api-key-file", &shown, "check"])
        .output()
        .await
        .unwrap();
    let by_env = sebulk()
        .env("SEBULK_API_KEY_FILE", &open)
        .args(["--base-url", &base, "check"])
        .output()
        .await
        .unwrap();
    for output in [by_flag, by_env] {
        let said = text(&output);
        assert_eq!(output.status.code(), Some(1), "{said}");
        assert!(said.contains(&format!("chmod 600 {shown}")), "{said}");
        assert!(said.contains("mode 644"), "{said}");
        assert!(!said.contains(KEY), "{said}");
    }
    assert_eq!(sandbox.counters().requests, 0, "refused before any request");

    // The same file made private is used.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = sebulk()
        .env("SEBULK_API_KEY_FILE", &open)
        .args(["--base-url", &base, "check"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

/// `sebulk check` with systemd's credentials in `credentials` (and the
/// key `key` given besides, if any): its exit code and what it said.
async fn check_with_credentials(
    base: &str,
    credentials: &Path,
    key: Option<&str>,
) -> (Option<i32>, String) {
    let mut command = sebulk();
    command.env("CREDENTIALS_DIRECTORY", credentials);
    if let Some(key) = key {
        command.env("SEBULK_API_KEY", key);
    }
    let output = command
        .args(["--base-url", base, "check"])
        .output()
        .await
        .unwrap();
    (output.status.code(), text(&output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_s_credential_is_the_key_when_none_is_given_otherwise() {
    let sandbox = start(config()).await;
    let base = sandbox.base_url().to_string();
    let credentials = tempfile::tempdir().unwrap();
    let credential = write_with_mode(
        credentials.path(),
        "sebulk-api-key",
        &format!("{KEY}\n"),
        0o400,
    );
    let (code, said) = check_with_credentials(&base, credentials.path(), None).await;
    assert_eq!(code, Some(0), "{said}");

    // An explicit key wins over the credential: a wrong one is refused by the tenant.
    let wrong = Some("not-the-key");
    let (code, said) = check_with_credentials(&base, credentials.path(), wrong).await;
    assert_eq!(code, Some(1), "{said}");

    // A credential others can read is refused like a key file.
    std::fs::set_permissions(&credential, std::fs::Permissions::from_mode(0o444)).unwrap();
    let (code, said) = check_with_credentials(&base, credentials.path(), None).await;
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!("chmod 600 {}", credential.display())),
        "{said}"
    );
    assert!(!said.contains(KEY), "{said}");

    // No credential there: no key at all, and the message names the ways to give one.
    std::fs::remove_file(&credential).unwrap();
    let (code, said) = check_with_credentials(&base, credentials.path(), None).await;
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("sebulk-api-key"), "{said}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_says_when_its_password_file_is_readable_by_everyone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::support::start(crate::support::config()).await;
    let file = dir.path().join("hires.csv");
    std::fs::write(
        &file,
        "username,email,password\nnew.one,new.one@northwind.example,Very-Long-Secret-42\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.path().join("hires.results.csv");
    let url = sandbox.base_url().to_string();
    let args = [
        "import",
        file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let output = crate::support::sebulk(&url, &args).output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("holds passwords and every user"), "{said}");
    assert!(said.contains("chmod 600"), "{said}");
    assert!(!said.contains("Very-Long-Secret-42"), "{said}");
}
