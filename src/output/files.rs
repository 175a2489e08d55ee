//! Creating output files safely: private (0600, they hold personal data),
//! never over the input, never over an existing file unless forced.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output file cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0} exists; pass --force to overwrite it")]
    Exists(String),
    #[error("{0} is the input file; choose another output")]
    IsInput(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl OutputError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
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

/// Opens `path` for writing with mode 0600. Refuses to touch any of
/// `inputs`, and an existing file unless `force`.
pub fn create_private(path: &Path, force: bool, inputs: &[&Path]) -> Result<File, OutputError> {
    let shown = path.display().to_string();
    if inputs.iter().any(|input| same_file(input, path)) {
        return Err(OutputError::IsInput(shown));
    }
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            OutputError::Exists(shown.clone())
        } else {
            OutputError::io(path, source)
        }
    })?;
    #[cfg(unix)]
    {
        // A forced overwrite keeps the old file's mode; make it private too.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|source| OutputError::io(path, source))?;
    }
    Ok(file)
}

/// An output written as it goes: a private file, or standard output (`-`).
pub enum Stream {
    File(File),
    Stdout(std::io::Stdout),
}

impl Stream {
    /// Opens `path` like [`create_private`], or standard output for `-`.
    pub fn create(path: &Path, force: bool, inputs: &[&Path]) -> Result<Self, OutputError> {
        if path == Path::new("-") {
            return Ok(Stream::Stdout(std::io::stdout()));
        }
        create_private(path, force, inputs).map(Stream::File)
    }

    /// Makes what was written durable (a file is synced).
    pub fn sync(&mut self) -> std::io::Result<()> {
        match self {
            Stream::File(file) => file.sync_all(),
            Stream::Stdout(out) => out.flush(),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::File(file) => file.write(buf),
            Stream::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::File(file) => file.flush(),
            Stream::Stdout(out) => out.flush(),
        }
    }
}

/// `<input stem>.<suffix>` beside the input.
pub fn beside(input: &Path, suffix: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
