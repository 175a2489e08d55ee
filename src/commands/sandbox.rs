//! `sebulk sandbox`: a local tenant in the foreground until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::config::API_KEY_ENV;
use super::{CommandError, Completion, signals};
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
    let dir = tempfile::Builder::new()
        .prefix("sebulk-sandbox-")
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
    println!("{}", handle.base_url());
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
