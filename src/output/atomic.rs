//! Files that appear whole or not at all: written to a private temporary
//! file in the destination folder and renamed into place only when
//! complete. A failed or interrupted write leaves the previous file as it
//! was and no temporary file behind.

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
    /// Standard output, streamed.
    Stdout(BufWriter<std::io::Stdout>),
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
            return Ok(AtomicOutput {
                destination: Destination::Stdout(BufWriter::new(std::io::stdout())),
            });
        }
        let existing = check_output(path, force, taken)?;
        if existing == Existing::InPlace {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| OutputError::io(path, e))?;
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
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| OutputError::io(path, e))?;
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
            Destination::Stdout(mut out) => {
                out.flush()
                    .map_err(|e| OutputError::io(Path::new("-"), e))?;
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
}
