//! The rules every file sebulk writes follows, in one place.
//!
//! An output is private (0600: it holds personal data); it is never one of
//! the run's inputs or another output of the same run; an existing file is
//! replaced only with `--force`, and then *replaced* (a new private file
//! takes the name), never written through: a symbolic link at the path is
//! replaced, not followed, and a hard-linked file's other names keep their
//! content. A character device or FIFO (`/dev/null`, a named pipe) is
//! written in place, never replaced and never chmodded; a directory, socket
//! or block device is refused. A FIFO nobody reads is waited for, a
//! while and interruptibly ([`stop_waiting`], which whoever owns the
//! signals calls), never blocked on for ever.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output file cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path exists and `--force` was not given.
    #[error("{0} exists; pass --force to replace it")]
    Exists(String),
    /// The path is an input or another output of the same run.
    #[error("{0} is an input or another output of this run; choose another path")]
    IsInput(String),
    /// The path is something no output may be.
    #[error("{path} is {what}; sebulk will not write there")]
    NotAFile {
        /// The path.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// Reading an earlier output (results, a snapshot) failed, or it is
    /// not what it should be.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A directory for the run's records that others may write into.
    #[error(
        "{path} is writable by {who} (mode {mode:o}) without the sticky bit: whoever can write there can swap the results and snapshots that undo and restore trust; sebulk will not write its records there: chmod go-w {path}"
    )]
    OpenDirectory {
        /// The directory.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// "its group", "every user" or "its group and every user".
        who: &'static str,
    },
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

impl OutputError {
    /// Writing `path` failed with `source`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Reading `path` failed, or it is not what it should be.
    pub fn read(path: &Path, source: std::io::Error) -> Self {
        OutputError::Read {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Whether two paths name the same file (as written, when either does not exist yet).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// What stands at an output path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    /// A regular file, or a link (dangling or not): replaced with `--force`.
    Replaceable,
    /// A character device or FIFO: written in place.
    InPlace,
}

/// Set once a run is asked to stop: a wait for an output's reader gives up.
static STOP_WAITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long an output FIFO's reader is waited for.
const READER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Gives up any wait for an output's reader (a signal arrived).
pub fn stop_waiting() {
    STOP_WAITING.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Opens a device or FIFO in place. Opening a FIFO for writing blocks
/// until something reads it, beyond the reach of signals; so it is
/// opened without blocking, which fails while nobody reads, and tried
/// again until a reader comes, a signal arrives or [`READER_WAIT`] ends.
pub(crate) fn open_in_place(path: &Path) -> Result<File, OutputError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        if fifo {
            let deadline = std::time::Instant::now() + READER_WAIT;
            loop {
                let probe = OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(path);
                match probe {
                    // A reader is there: the blocking open returns at once.
                    Ok(_probe) => break,
                    Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
                        let stopped = STOP_WAITING.load(std::sync::atomic::Ordering::SeqCst);
                        if stopped || std::time::Instant::now() >= deadline {
                            return Err(OutputError::io(
                                path,
                                std::io::Error::other(format!(
                                    "nobody reads this FIFO ({}); start its reader first",
                                    if stopped {
                                        "stopped waiting at the signal"
                                    } else {
                                        "waited 30 s"
                                    }
                                )),
                            ));
                        }
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    Err(err) => return Err(OutputError::io(path, err)),
                }
            }
        }
    }
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| OutputError::io(path, e))
}

/// Checks `path` against the rules, before anything is written.
pub fn check_output(path: &Path, force: bool, taken: &[&Path]) -> Result<Existing, OutputError> {
    let shown = path.display().to_string();
    if taken.iter().any(|other| same_file(other, path)) {
        return Err(OutputError::IsInput(shown));
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(err) => return Err(OutputError::io(path, err)),
    };
    let kind = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_fifo() {
            return Ok(Existing::InPlace);
        }
        let what = if kind.is_dir() {
            Some("a directory")
        } else if kind.is_socket() {
            Some("a socket")
        } else if kind.is_block_device() {
            Some("a block device")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(OutputError::NotAFile { path: shown, what });
        }
    }
    if kind.is_dir() {
        return Err(OutputError::NotAFile {
            path: shown,
            what: "a directory",
        });
    }
    if !force {
        return Err(OutputError::Exists(shown));
    }
    Ok(Existing::Replaceable)
}

/// A new private (0600) file at `path`, which must not exist.
fn create_new(path: &Path) -> Result<File, OutputError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            OutputError::Exists(path.display().to_string())
        } else {
            OutputError::io(path, source)
        }
    })
}

/// Opens `path` for writing under the rules above: refuses any of
/// `taken`, and an existing file unless `force` (the tests' shorthand).
#[cfg(test)]
fn create_private(path: &Path, force: bool, taken: &[&Path]) -> Result<File, OutputError> {
    open_output(path, force, taken).map(|(file, _)| file)
}

/// Opens `path` for writing under the rules above (refusing any of
/// `taken`, and an existing file unless `force`), also saying whether
/// the file was opened in place (a device or FIFO: not to be synced).
fn open_output(path: &Path, force: bool, taken: &[&Path]) -> Result<(File, bool), OutputError> {
    match check_output(path, force, taken)? {
        Existing::InPlace => open_in_place(path).map(|file| (file, true)),
        Existing::Replaceable => {
            std::fs::remove_file(path).map_err(|e| OutputError::io(path, e))?;
            create_new(path).map(|file| (file, false))
        }
        Existing::Nothing => create_new(path).map(|file| (file, false)),
    }
}

/// An output written as it goes: a private file, a device or FIFO written
/// in place, or standard output (`-`).
pub enum Stream {
    /// A regular file.
    File(File),
    /// A device or FIFO, written in place.
    Device(File),
    /// Standard output.
    Stdout(std::io::Stdout),
}

impl Stream {
    /// Opens `path` under the rules above, or standard output for `-`.
    pub fn create(path: &Path, force: bool, taken: &[&Path]) -> Result<Self, OutputError> {
        if path == Path::new("-") {
            return Ok(Stream::Stdout(std::io::stdout()));
        }
        let (file, in_place) = open_output(path, force, taken)?;
        Ok(if in_place {
            Stream::Device(file)
        } else {
            Stream::File(file)
        })
    }

    /// Makes what was written durable (a regular file is synced).
    pub fn sync(&mut self) -> std::io::Result<()> {
        match self {
            Stream::File(file) => file.sync_all(),
            Stream::Device(file) => file.flush(),
            Stream::Stdout(out) => out.flush(),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::File(file) | Stream::Device(file) => file.write(buf),
            Stream::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::File(file) | Stream::Device(file) => file.flush(),
            Stream::Stdout(out) => out.flush(),
        }
    }
}

/// Refuses a directory for a run's records (results, plans, snapshots,
/// exports) that its group or other users may write into, unless it has
/// the sticky bit (as `/tmp`: nobody may then replace another's file),
/// as ssh refuses such a home; and so each directory above it, since
/// whoever may write into a parent can move the directory aside and put
/// their own in its place. A directory not there yet is fine (it is
/// created 0700: its parents are checked); `""` is the current directory.
pub fn check_directory(dir: &Path) -> Result<(), OutputError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let whole = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let whole = std::fs::canonicalize(&whole).unwrap_or(whole);
    for each in whole.ancestors() {
        check_one_directory(each)?;
    }
    Ok(())
}

/// [`check_directory`] for `dir` alone.
fn check_one_directory(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(dir) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            _ if sticky => None,
            (true, true) => Some("its group and every user"),
            (true, false) => Some("its group"),
            (false, true) => Some("every user"),
            (false, false) => None,
        };
        if let Some(who) = who {
            return Err(OutputError::OpenDirectory {
                path: dir.display().to_string(),
                mode,
                who,
            });
        }
    }
    Ok(())
}

/// Refuses the directory a record file (results, a plan) goes into,
/// as [`check_directory`] does; its snapshots go beside it. Standard
/// output, devices and FIFOs are not records kept in a directory.
pub fn check_record_directory(path: &Path) -> Result<(), OutputError> {
    if path == Path::new("-") || matches!(check_output(path, true, &[]), Ok(Existing::InPlace)) {
        return Ok(());
    }
    check_directory(path.parent().unwrap_or(Path::new("")))
}

/// `<input stem>.<suffix>` beside the input.
pub fn beside(input: &Path, suffix: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}.{suffix}"))
}

/// A new file in `dir` for one run's record: `<input stem>.<what>.<UTC
/// time>-<process id>.csv` (`-2`, `-3`, ... should that exist), so a
/// nightly job keeps every run and never needs `--force`. The process id
/// keeps two runs started in the same second apart: both may look before
/// either writes, so "the name is free" alone cannot. The directory is
/// created (0700) when missing, and refused when others may write into
/// it ([`check_directory`]).
pub fn timestamped(dir: &Path, input: &Path, what: &str) -> Result<PathBuf, OutputError> {
    let stem = match input.file_stem() {
        Some(stem) if input != Path::new("-") => stem.to_string_lossy().into_owned(),
        _ => "stdin".to_string(),
    };
    timestamped_as(dir, (&stem, what), "csv")
}

/// A new file in `dir` named `<stem>.<what>.<time>-<process>.<extension>`,
/// as [`timestamped`] names results (`users.export.….jsonl`).
pub fn timestamped_as(
    dir: &Path,
    (stem, what): (&str, &str),
    extension: &str,
) -> Result<PathBuf, OutputError> {
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| OutputError::io(dir, e))?;
    }
    check_directory(dir)?;
    let time = crate::formats::utc_now().replace([':', '-'], "");
    let run = std::process::id();
    let name = |n: u32| match n {
        1 => format!("{stem}.{what}.{time}-{run}.{extension}"),
        n => format!("{stem}.{what}.{time}-{run}-{n}.{extension}"),
    };
    let mut n = 1;
    while dir.join(name(n)).exists() {
        n += 1;
    }
    Ok(dir.join(name(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamped_names_never_meet_an_earlier_run() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("history");
        let input = Path::new("/srv/hr/new-hires.xlsx");
        let first = timestamped(&history, input, "results").unwrap();
        let name = first.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("new-hires.results.20"), "{name}");
        assert!(
            name.ends_with(&format!("Z-{}.csv", std::process::id())),
            "{name}"
        );
        std::fs::write(&first, "").unwrap();
        let second = timestamped(&history, input, "results").unwrap();
        assert_ne!(first, second);
        assert!(second.parent() == Some(history.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&history).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let piped = timestamped(&history, Path::new("-"), "plan").unwrap();
        assert!(
            piped
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("stdin.plan.")
        );
    }

    #[cfg(unix)]
    #[test]
    fn directories_others_may_write_into_are_refused_unless_sticky() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir(&records).unwrap();
        let chmod = |mode: u32| {
            std::fs::set_permissions(&records, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        for (mode, refused) in [
            (0o777, true),
            (0o775, true),
            (0o757, true),
            (0o755, false),
            (0o700, false),
            (0o1777, false),
        ] {
            chmod(mode);
            let result = timestamped(&records, Path::new("roster.csv"), "sync");
            assert_eq!(result.is_err(), refused, "{mode:o}");
            if let Err(err) = result {
                let said = err.to_string();
                assert!(
                    said.contains(&format!("chmod go-w {}", records.display()))
                        && said.contains(&format!("mode {mode:o}")),
                    "{said}"
                );
            }
        }
        chmod(0o777);
        assert!(check_record_directory(&records.join("results.csv")).is_err());
        assert!(check_record_directory(Path::new("-")).is_ok());
        assert!(check_record_directory(Path::new("/dev/null")).is_ok());
        // A private directory inside one anyone may write into: the
        // directory can be moved aside and replaced, so it is refused too,
        // naming the parent; and so is one not made yet.
        chmod(0o777);
        let private = records.join("private");
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let said = check_directory(&private).unwrap_err().to_string();
        assert!(
            said.contains(&format!("chmod go-w {}", records.display())),
            "{said}"
        );
        assert!(check_directory(&private.join("not-yet")).is_err());
        chmod(0o1777);
        assert!(check_directory(&private).is_ok(), "a sticky parent is safe");
    }

    #[test]
    fn outputs_are_private_and_careful() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("hires.csv");
        std::fs::write(&input, "username\n").unwrap();
        assert!(matches!(
            create_private(&input, true, &[&input]),
            Err(OutputError::IsInput(_))
        ));
        let out = beside(&input, "results.csv");
        assert_eq!(out.file_name().unwrap(), "hires.results.csv");
        create_private(&out, false, &[&input]).unwrap();
        assert!(matches!(
            create_private(&out, false, &[&input]),
            Err(OutputError::Exists(_))
        ));
        create_private(&out, true, &[&input]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_replaced_not_followed_and_devices_written_in_place() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // A link to someone else's file: refused without --force, replaced with it.
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("out.csv");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(matches!(
            create_private(&link, false, &[]),
            Err(OutputError::Exists(_))
        ));
        create_private(&link, true, &[])
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(mode(&victim), 0o644, "the target keeps its mode");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A dangling link counts as existing too.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            create_private(&dangling, false, &[]),
            Err(OutputError::Exists(_))
        ));
        assert!(!dir.path().join("nowhere").exists());
        // A hard link's other name keeps its content.
        let other = dir.path().join("other.csv");
        std::fs::hard_link(&victim, &other).unwrap();
        create_private(&other, true, &[])
            .unwrap()
            .write_all(b"x")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // A device is written in place: never replaced, never chmodded.
        let before = mode(Path::new("/dev/null"));
        let mut null = Stream::create(Path::new("/dev/null"), true, &[]).unwrap();
        null.write_all(b"gone").unwrap();
        null.sync().unwrap();
        assert_eq!(mode(Path::new("/dev/null")), before);
        assert!(matches!(
            create_private(dir.path(), true, &[]),
            Err(OutputError::NotAFile { .. })
        ));
    }
}
