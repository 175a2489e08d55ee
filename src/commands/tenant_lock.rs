//! One writing run per tenant at a time. Every run that may write to a
//! tenant (every row command but a dry run or `plan`) takes the tenant's
//! lock before it connects, in the shell every row command passes
//! ([`super::shell`]), so no writing command runs beside another on the
//! same tenant: two overlapping cron jobs, or an admin's import during
//! the nightly sync.
//!
//! The lock is a file in the user's state directory (`SEBULK_STATE_DIR`,
//! else the platform's, e.g. `~/.local/state/sebulk`), named by a hash of
//! the tenant's base URL, locked with `flock(2)`: the kernel lets one
//! process hold it and releases it when that process ends, however it
//! ends, so two racing runs can never both win and a killed run never
//! leaves it held. The holder writes who it is (command, process id,
//! start time) into the file, for the message a second run gives; it
//! empties the file when done. A file that still names a run when the
//! lock is free was left by a run that died: it is taken over, with a
//! warning naming that run. (The lock is Unix's flock: elsewhere runs
//! are not kept apart.)

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CommandError;
use crate::config::{Config, Target};
use crate::ui::Ui;

/// How often a waiting run tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// What a run that writes asks of the lock: who it is, and how long it
/// waits for another run on the same tenant.
#[derive(Debug, Clone, Copy)]
pub struct LockRequest {
    /// The command, as typed (`sync`, `groups import`).
    pub command: &'static str,
    /// `--wait SECONDS` (zero: not at all).
    pub wait: Duration,
}

/// Who holds a tenant's lock, as written into its file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Holder {
    command: String,
    pid: u32,
    started_at: String,
    tenant: String,
}

impl Holder {
    fn described(&self) -> String {
        format!(
            "sebulk {} (process {}, started {})",
            self.command, self.pid, self.started_at
        )
    }
}

/// A tenant's lock, held until dropped.
#[derive(Debug)]
pub struct TenantLock {
    file: File,
}

impl Drop for TenantLock {
    fn drop(&mut self) {
        // Emptied first: the next holder then finds no run named. The
        // kernel releases the lock when the file closes.
        let _ = self.file.set_len(0);
    }
}

/// The name a tenant's lock goes by: its base URL (a kept sandbox by its
/// state file); none for a throwaway sandbox, which no other run can reach.
pub fn tenant_key(config: &Config) -> Option<String> {
    match &config.target {
        Target::Tenant { base_url, .. } => Some(canonical(base_url)),
        #[cfg(feature = "sandbox")]
        Target::Sandbox {
            state: Some(path), ..
        } => {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            Some(format!("sandbox:{}", path.display()))
        }
        #[cfg(feature = "sandbox")]
        Target::Sandbox { state: None, .. } => None,
    }
}

/// A base URL as one tenant is named however it is spelt: the host as
/// the URL parser lowers it, `localhost` and every loopback address as
/// one, no default port, no trailing slashes or trailing dot.
fn canonical(base_url: &url::Url) -> String {
    let host = match base_url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            if name.eq_ignore_ascii_case("localhost") {
                "loopback".to_string()
            } else {
                name.to_ascii_lowercase()
            }
        }
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => "loopback".to_string(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => "loopback".to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let port = base_url
        .port_or_known_default()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let path = base_url.path().trim_end_matches('/').to_ascii_lowercase();
    format!("{}://{host}:{port}{path}", base_url.scheme())
}

/// The lock file for `tenant` in `dir`: a hash of its name, so the file
/// name says nothing of the tenant and any URL makes a valid name.
fn lock_path(dir: &Path, tenant: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(tenant.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("tenant-{hex}.lock"))
}

/// Takes the lock of the run's tenant, if the run has one: at once, or
/// within `request.wait`, or the error names the run that holds it.
pub async fn take(
    config: &Config,
    request: &LockRequest,
    ui: &Ui,
) -> Result<Option<TenantLock>, CommandError> {
    let Some(tenant) = tenant_key(config) else {
        return Ok(None);
    };
    let Some(dir) = &config.state_dir else {
        return Err(CommandError::usage(
            "no state directory for the tenant lock (no home directory?): set SEBULK_STATE_DIR to a private directory",
        ));
    };
    create_private_dir(dir)?;
    let path = lock_path(dir, &tenant);
    let mut file = open_lock_file(&path)?;
    let deadline = Instant::now() + request.wait;
    let mut said_waiting = false;
    while !try_lock(&file, &path)? {
        let holder = read_holder(&mut file);
        let holder = holder.map_or_else(|| "another sebulk run".to_string(), |h| h.described());
        if Instant::now() >= deadline {
            return Err(CommandError::Locked(format!(
                "{holder} is writing to {tenant}; one run at a time per tenant"
            )));
        }
        if !said_waiting {
            ui.say(format!(
                "waiting up to {} s for {holder} to finish with {tenant}",
                request.wait.as_secs()
            ));
            said_waiting = true;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
    if let Some(left) = read_holder(&mut file) {
        let why = if process_alive(left.pid) {
            "which no longer holds it"
        } else {
            "whose process is gone"
        };
        ui.warn(format!(
            "the lock on {tenant} still named {} {why}: taken over",
            left.described()
        ));
    }
    write_holder(&mut file, &path, &tenant, request.command)?;
    Ok(Some(TenantLock { file }))
}

/// Creates the state directory (0700) when missing; one that others may
/// write into is refused, as a results directory is.
fn create_private_dir(dir: &Path) -> Result<(), CommandError> {
    if !dir.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| CommandError::io(format!("cannot create {}", dir.display()), e))?;
    }
    crate::output::files::check_directory(dir)?;
    Ok(())
}

/// Opens (creating, 0600) the lock file, never through a link.
fn open_lock_file(path: &Path) -> Result<File, CommandError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options
        .open(path)
        .map_err(|e| CommandError::io(format!("cannot open the lock {}", path.display()), e))
}

/// Tries to lock `file` without waiting: whether it is now ours.
#[cfg(unix)]
fn try_lock(file: &File, path: &Path) -> Result<bool, CommandError> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this File owns and keeps open.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if status == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(code) if code == libc::EWOULDBLOCK => return Ok(false),
            _ => {
                return Err(CommandError::io(
                    format!("cannot lock {}", path.display()),
                    error,
                ));
            }
        }
    }
}

/// Without flock(2) runs are not kept apart (sebulk's lock is Unix's).
#[cfg(not(unix))]
fn try_lock(_: &File, _: &Path) -> Result<bool, CommandError> {
    Ok(true)
}

/// The run named in the lock file, if any (an empty or unreadable file names none).
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// Writes this run into the lock file, replacing what was there.
fn write_holder(
    file: &mut File,
    path: &Path,
    tenant: &str,
    command: &str,
) -> Result<(), CommandError> {
    let holder = Holder {
        command: command.to_string(),
        pid: std::process::id(),
        started_at: crate::formats::utc_now(),
        tenant: tenant.to_string(),
    };
    let text = serde_json::to_string(&holder)
        .map_err(|e| CommandError::io("cannot describe this run", e.into()))?;
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{text}"))
        .and_then(|()| file.flush())
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))
}

/// Whether process `pid` exists (signal 0 checks without sending one).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks the process.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether process `pid` exists: unknown without Unix's signal 0, so
/// the run named is taken for gone.
#[cfg(not(unix))]
fn process_alive(_: u32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tenant_is_one_lock_however_its_url_is_spelt() {
        let key = |text: &str| canonical(&url::Url::parse(text).unwrap());
        let a = key("http://127.0.0.1:18032/api/user/restapi");
        assert_eq!(a, key("http://localhost:18032/api/user/restapi/"));
        assert_eq!(a, key("http://[::1]:18032/api/user/restapi"));
        assert_ne!(a, key("http://127.0.0.1:18033/api/user/restapi"));
        let b = key("https://Acme.EU.securenvoy.directory/api/user/restapi");
        assert_eq!(
            b,
            key("https://acme.eu.securenvoy.directory.:443/api/user/restapi/")
        );
    }

    #[test]
    fn one_file_per_tenant_named_by_a_hash() {
        let dir = Path::new("/state");
        let a = lock_path(dir, "https://acme.uk.securenvoy.directory/api/user/restapi");
        let b = lock_path(dir, "https://beta.uk.securenvoy.directory/api/user/restapi");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("tenant-") && !name.contains("acme"),
            "{name}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_locked_file_cannot_be_locked_again_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(dir.path(), "t");
        let first = open_lock_file(&path).unwrap();
        let second = open_lock_file(&path).unwrap();
        assert!(try_lock(&first, &path).unwrap());
        assert!(!try_lock(&second, &path).unwrap());
        drop(first);
        assert!(try_lock(&second, &path).unwrap());
        assert!(process_alive(std::process::id()));
    }
}
