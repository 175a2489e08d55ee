//! Files that appear whole or not at all: written to a private temporary
//! file in the destination folder and renamed into place only when
//! complete; standard output is spooled to an unnamed temporary file and
//! copied out only when complete (a listing that fails half-way prints
//! nothing a pipe would take for the whole). A failed or interrupted
//! write leaves the previous file as it was and no temporary file behind;
//! one killed outright (SIGKILL, power loss) leaves
//! `.NAME.PID.XXXXXX.partial`, which the next write of the same file
//! removes once process PID is gone.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::files::{Existing, OutputError, check_output};

/// Where an export goes.
pub enum Destination {
    /// A file, replaced atomically on [`AtomicOutput::commit`].
    File {
        /// The temporary file beside the target.
        temp: BufWriter<NamedTempFile>,
        /// The target.
        path: PathBuf,
        /// Whether an existing file may be replaced.
        replace: bool,
    },
    /// A device or FIFO, written in place.
    InPlace(BufWriter<File>),
    /// Standard output: spooled, copied out on commit.
    Stdout(BufWriter<File>),
}

/// An output being written.
pub struct AtomicOutput {
    destination: Destination,
}

impl AtomicOutput {
    /// Opens `path` (`-` for standard output) under the rules of
    /// [`super::files`]: an existing file (or link) is replaced only with
    /// `force`, a device or FIFO is written in place, and none of `taken`.
    pub fn create(path: &Path, force: bool, taken: &[&Path]) -> Result<Self, OutputError> {
        if path == Path::new("-") {
            let spool = tempfile::tempfile().map_err(|e| OutputError::io(path, e))?;
            return Ok(AtomicOutput {
                destination: Destination::Stdout(BufWriter::with_capacity(256 * 1024, spool)),
            });
        }
        let existing = check_output(path, force, taken)?;
        if existing == Existing::InPlace {
            let file = super::files::open_in_place(path)?;
            return Ok(AtomicOutput {
                destination: Destination::InPlace(BufWriter::new(file)),
            });
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        // NamedTempFile is created 0600 on Unix.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(PARTIAL)
            .tempfile_in(dir)
            .map_err(|e| OutputError::io(path, e))?;
        remove_stale_partials(dir, &name, temp.path());
        Ok(AtomicOutput {
            destination: Destination::File {
                temp: BufWriter::with_capacity(256 * 1024, temp),
                path: path.to_path_buf(),
                replace: existing == Existing::Replaceable,
            },
        })
    }

    /// Makes the file appear at its path, complete and synced.
    pub fn commit(self) -> Result<Option<PathBuf>, OutputError> {
        match self.destination {
            Destination::Stdout(spool) => {
                let stdout = Path::new("-");
                let mut spool = spool
                    .into_inner()
                    .map_err(|e| OutputError::io(stdout, e.into_error()))?;
                std::io::Seek::rewind(&mut spool).map_err(|e| OutputError::io(stdout, e))?;
                let mut out = std::io::stdout().lock();
                std::io::copy(&mut spool, &mut out).map_err(|e| OutputError::io(stdout, e))?;
                out.flush().map_err(|e| OutputError::io(stdout, e))?;
                Ok(None)
            }
            Destination::InPlace(mut out) => {
                out.flush()
                    .map_err(|e| OutputError::io(Path::new("-"), e))?;
                Ok(None)
            }
            Destination::File {
                temp,
                path,
                replace,
            } => {
                let temp = temp
                    .into_inner()
                    .map_err(|e| OutputError::io(&path, e.into_error()))?;
                temp.as_file()
                    .sync_all()
                    .map_err(|e| OutputError::io(&path, e))?;
                // The rename replaces a link itself, never what it points to;
                // without --force nothing that appeared meanwhile is replaced.
                let persisted = if replace {
                    temp.persist(&path)
                } else {
                    temp.persist_noclobber(&path)
                };
                persisted.map_err(|e| match e.error.kind() {
                    std::io::ErrorKind::AlreadyExists => {
                        OutputError::Exists(path.display().to_string())
                    }
                    _ => OutputError::io(&path, e.error),
                })?;
                Ok(Some(path))
            }
        }
    }
}

impl Write for AtomicOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.destination {
            Destination::File { temp, .. } => temp.write(buf),
            Destination::InPlace(out) => out.write(buf),
            Destination::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.destination {
            Destination::File { temp, .. } => temp.flush(),
            Destination::InPlace(out) => out.flush(),
            Destination::Stdout(out) => out.flush(),
        }
    }
}

const PARTIAL: &str = ".partial";

/// How old a partial file of unknown owner must be to count as stale.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes `.NAME.PID.XXXXXX.partial` files in `dir` left by sebulk runs
/// that are gone: regular files only, owned by whoever owns `ours` (the
/// temporary file just made), whose process no longer runs (or, where
/// that cannot be known, a day old). Best effort: what cannot be removed
/// stays.
fn remove_stale_partials(dir: &Path, name: &str, ours: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let Ok(own) = std::fs::symlink_metadata(ours) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(middle) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(PARTIAL))
        else {
            continue;
        };
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if path == ours || !meta.is_file() || !same_owner(&meta, &own) {
            continue;
        }
        let pid = middle
            .split_once('.')
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let stale = match pid.map(process_gone) {
            Some(Some(gone)) => gone,
            // No pid in the name (older versions) or no way to ask: by age.
            _ => meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= STALE_AFTER),
        };
        if stale && std::fs::remove_file(&path).is_ok() {
            tracing::info!("removed {}, left by an interrupted run", path.display());
        }
    }
}

#[cfg(unix)]
fn same_owner(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.uid() == b.uid()
}

#[cfg(not(unix))]
fn same_owner(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Whether process `pid` has ended; `None` where that cannot be told.
fn process_gone(pid: u32) -> Option<bool> {
    if pid == std::process::id() {
        return Some(false);
    }
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| !proc.join(pid.to_string()).exists())
}

/// A scratch file for spooling records that will not fit in memory; it
/// disappears when dropped.
pub fn spool() -> std::io::Result<File> {
    tempfile::tempfile()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_dropped_output_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, "old").unwrap();
        assert!(matches!(
            AtomicOutput::create(&path, false, &[]),
            Err(OutputError::Exists(_))
        ));
        let mut output = AtomicOutput::create(&path, true, &[]).unwrap();
        output.write_all(b"half").unwrap();
        drop(output);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(entries(dir.path()), vec!["users.csv"]);

        let mut output = AtomicOutput::create(&path, true, &[]).unwrap();
        output.write_all(b"new").unwrap();
        output.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(entries(dir.path()), vec!["users.csv"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn partial_files_of_runs_that_are_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        // A pid that cannot be running (beyond the kernel's maximum).
        let dead = dir.path().join(".users.csv.4999999.AbCdEf.partial");
        let alive = dir
            .path()
            .join(format!(".users.csv.{}.XyZ123.partial", std::process::id()));
        let unknown_fresh = dir.path().join(".users.csv.QwErTy.partial");
        let other_file = dir.path().join(".other.csv.4999999.AbCdEf.partial");
        for file in [&dead, &alive, &unknown_fresh, &other_file] {
            std::fs::write(file, "half").unwrap();
        }
        let mut output = AtomicOutput::create(&path, false, &[]).unwrap();
        output.write_all(b"new").unwrap();
        output.commit().unwrap();
        assert!(
            !dead.exists() || !Path::new("/proc/self").exists(),
            "a dead run's file goes"
        );
        assert!(alive.exists(), "a running process's file stays");
        assert!(
            unknown_fresh.exists(),
            "a fresh file of unknown owner stays"
        );
        assert!(other_file.exists(), "another output's file stays");
    }
}
