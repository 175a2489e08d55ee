//! `sebulk sandbox`: a local tenant in the foreground until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::{CommandError, Completion, signals};
use crate::config::API_KEY_ENV;
use crate::sandbox::{self, SandboxConfig};
use crate::ui::Ui;

/// A sandbox to run, resolved: its configuration, and where its key came
/// from (`None`: made up here, to be written where the user can find it).
#[derive(Debug, Clone)]
pub struct SandboxJob {
    pub config: SandboxConfig,
    pub key_source: Option<String>,
}

/// Writes a made-up key to a new file (0600) in a new private directory
/// (0700), so the user can hand it to a client; both go when the returned
/// directory is dropped (when the sandbox stops). Nothing is followed or
/// overwritten: the directory's name is unpredictable and the file new.
fn write_key_file(key: &SecretString) -> Result<(tempfile::TempDir, PathBuf), CommandError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("sebulk-sandbox-");
    #[cfg(unix)]
    {
        // Not left to the umask: others must not even list it.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder
        .tempdir()
        .map_err(|e| CommandError::io("cannot create a private directory for the key", e))?;
    let path = dir.path().join("api.key");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    writeln!(file, "{}", key.expose_secret())
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    Ok((dir, path))
}

/// Runs the sandbox until interrupted.
pub async fn run(job: SandboxJob, ui: &Ui) -> Result<Completion, CommandError> {
    let SandboxJob { config, key_source } = job;
    if !config.listen.ip().is_loopback() {
        return Err(CommandError::usage(format!(
            "the sandbox serves plain http and listens on loopback addresses only, not {}",
            config.listen
        )));
    }
    let scheme = config.auth_scheme;
    let state = config.state_file.is_some();
    let api_key = config.api_key.clone();
    let handle = sandbox::start(config).await?;
    let mut _key_dir = None;
    let key_hint = match key_source {
        Some(source) => format!("the key in {source}"),
        None => {
            let (dir, path) = write_key_file(&api_key)?;
            _key_dir = Some(dir);
            format!(
                "the key in {} (export {API_KEY_ENV}=$(cat {}))",
                path.display(),
                path.display()
            )
        }
    };
    let tenant = handle.tenant();
    // The URL, for scripts; a reader gone already is no reason to stop.
    let _ = writeln!(std::io::stdout(), "{}", handle.base_url());
    ui.say(format!(
        "sandbox tenant with {} users, {} groups, {} applications; auth scheme {scheme}, {key_hint}",
        tenant.users().count(),
        tenant.groups().count(),
        tenant.applications().count(),
    ));
    ui.say(format!(
        "stop with Ctrl-C{}",
        if state {
            " (the state file is saved)"
        } else {
            ""
        }
    ));
    tokio::select! {
        () = signals::terminated() => {}
        () = handle.wait_stopped() => {}
    }
    let counters = handle.counters();
    handle.shutdown().await?;
    ui.say(format!(
        "sandbox stopped: {} requests, {} writes, {} answered 429, {} answered 503, {} connections dropped",
        counters.requests, counters.writes, counters.throttled, counters.failed, counters.dropped
    ));
    Ok(Completion::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_made_up_key_is_private_and_new() {
        let key = SecretString::from("k-123");
        let (dir, path) = write_key_file(&key).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "k-123\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| {
                std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
            };
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(dir.path()), 0o700);
        }
        // Two sandboxes never share (or predict) a key file.
        let (other, other_path) = write_key_file(&key).unwrap();
        assert_ne!(dir.path(), other.path());
        let gone = dir.path().to_path_buf();
        drop(dir);
        assert!(!gone.exists(), "the key goes with the sandbox");
        assert!(other_path.exists());
    }
}
