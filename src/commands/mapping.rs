//! `sebulk mapping init|show|list`: starting a mapping from a file's
//! header, and the built-in presets as text to copy and adapt.

use std::io::Write;
use std::path::PathBuf;

use super::{CommandError, Completion};
use crate::input::mapping::{Mapping, init, presets};
use crate::input::{CsvSource, ReadOptions};
use crate::output::atomic::AtomicOutput;
use crate::ui::Ui;

/// What `mapping init` is asked.
#[derive(Debug, Clone)]
pub struct InitJob {
    pub file: PathBuf,
    pub read: ReadOptions,
    pub output: Option<PathBuf>,
    pub force: bool,
}

/// Writes a starter mapping for the file's header.
pub fn init(job: &InitJob, ui: &Ui) -> Result<Completion, CommandError> {
    let source = CsvSource::open(&job.file, &job.read)?;
    let origin = crate::input::reader::shown(&job.file);
    let text = init::starter(source.header(), &origin, &job.read);
    // What we write must read back: a starter that does not is our bug.
    Mapping::parse(&text, "the starter mapping").map_err(|e| {
        CommandError::io("the starter mapping", std::io::Error::other(e.to_string()))
    })?;
    match &job.output {
        Some(path) if path != std::path::Path::new("-") => {
            let mut out = AtomicOutput::create(path, job.force, &[job.file.as_path()])?;
            out.write_all(text.as_bytes())
                .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
            out.commit()?;
            ui.say(format!(
                "wrote {}: check it, then: sebulk validate --mapping {} {origin}",
                path.display(),
                path.display()
            ));
        }
        _ => print(&text)?,
    }
    Ok(Completion::Clean)
}

/// Prints preset `name`.
pub fn show(name: &str) -> Result<Completion, CommandError> {
    let text = presets::text(name).ok_or_else(|| {
        CommandError::usage(format!(
            "there is no preset '{name}' (presets: {})",
            presets::NAMES.join(", ")
        ))
    })?;
    print(text)?;
    Ok(Completion::Clean)
}

/// Lists the presets with the first line of each one's description.
pub fn list() -> Result<Completion, CommandError> {
    let mut text = String::new();
    for name in presets::NAMES {
        let about = Mapping::preset(name)
            .ok()
            .and_then(|m| m.file.description)
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()).map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!("{name:<10} {about}\n"));
    }
    print(&text)?;
    Ok(Completion::Clean)
}

fn print(text: &str) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A reader that went away (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CommandError::io("cannot write to standard output", e)),
    }
}
