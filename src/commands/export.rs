//! `sebulk export` and `sebulk diff`.

use std::path::{Path, PathBuf};

use super::{CommandError, Completion, Connection, signals, write_json};
use crate::config::Config;
use crate::diff::{self, DiffOptions};
use crate::export::{self as job, ExportOptions};
use crate::ui::Ui;

/// An export, resolved.
#[derive(Debug, Clone)]
pub struct ExportJob {
    pub options: ExportOptions,
    pub summary_json: Option<PathBuf>,
    pub json: bool,
}

/// `sebulk export`.
pub async fn export(config: &Config, job: &ExportJob, ui: &Ui) -> Result<Completion, CommandError> {
    let options = &job.options;
    job::check_filters(options.entity, &options.filters).map_err(CommandError::usage)?;
    if (options.include_groups || options.include_applications)
        && options.entity != job::Entity::Users
    {
        return Err(CommandError::usage("--include goes with `export users`"));
    }
    super::distinct_files(&[
        ("export", Some(options.output.as_path())),
        ("summary", job.summary_json.as_deref()),
    ])?;
    if let Some(path) = &job.summary_json {
        crate::output::files::check_output(path, true, &[])?;
    }
    let to_stdout = options.output == Path::new("-");
    if !to_stdout {
        // Refused before the tenant is read, not after.
        crate::output::files::check_output(&options.output, options.force, &[])?;
    }
    if to_stdout && (job.json || job.summary_json.as_deref() == Some(Path::new("-"))) {
        return Err(CommandError::usage(
            "the export (-o -) and the JSON summary cannot both go to standard output",
        ));
    }
    let connection = Connection::open(config).await?;
    // An interrupt drops the export: its temporary file goes, the old file stays.
    let (stop, _watch) = signals::first_signal();
    let outcome = tokio::select! {
        result = job::run(&connection.client, options, ui) => Some(result),
        () = stop.cancelled() => None,
    };
    connection.close().await?;
    let Some(summary) = outcome else {
        return Err(CommandError::Interrupted);
    };
    let summary = summary?;
    if !ui.is_quiet() || !summary.warnings.is_empty() {
        ui.export_summary(&summary);
    }
    ui.keep_summary(&summary);
    if let Some(path) = &job.summary_json {
        write_json(path, &summary, &[options.output.as_path()])?;
    }
    if job.json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    Ok(Completion::Clean)
}

/// A diff, resolved.
#[derive(Debug, Clone)]
pub struct DiffJob {
    pub options: DiffOptions,
    /// Keep a private copy of the changes for `--report` (they go to
    /// standard output).
    pub copy_for_report: bool,
    /// Exit 1 when there are differences.
    pub exit_code: bool,
    pub json: bool,
    /// `--summary-json FILE` (`-` for standard output).
    pub summary_json: Option<std::path::PathBuf>,
}

/// `sebulk diff`.
pub fn diff(job: &DiffJob, ui: &Ui) -> Result<Completion, CommandError> {
    let options = &job.options;
    if options.old == Path::new("-") && options.new == Path::new("-") {
        return Err(CommandError::usage(
            "only one of the two files can be standard input",
        ));
    }
    if job.json && options.output == Path::new("-") {
        return Err(CommandError::usage(
            "the changes (-o -) and the JSON summary cannot both go to standard output; give -o FILE",
        ));
    }
    if let Some(path) = &job.summary_json {
        // (The two exports may be one file: comparing it with itself.)
        for (what, other) in [
            ("earlier export", &options.old),
            ("later export", &options.new),
            ("changes", &options.output),
        ] {
            super::distinct_files(&[
                (what, Some(other.as_path())),
                ("summary", Some(path.as_path())),
            ])?;
        }
    }
    let copy = if job.copy_for_report {
        let copy = tempfile::NamedTempFile::new()
            .map_err(|e| CommandError::io("cannot keep the changes for the report", e))?
            .into_temp_path();
        Some(copy)
    } else {
        None
    };
    let options = &DiffOptions {
        copy: copy.as_ref().map(|c| c.to_path_buf()),
        ..options.clone()
    };
    let summary = diff::run(options)?;
    if let Some(copy) = copy {
        ui.keep_rows_copy(copy);
    }
    ui.diff_summary(&summary);
    ui.keep_summary(&summary);
    if let Some(path) = &job.summary_json {
        let taken = [
            options.old.as_path(),
            options.new.as_path(),
            options.output.as_path(),
        ];
        super::write_json(path, &summary, &taken)?;
    }
    if job.json {
        ui.json(&summary)
            .map_err(|e| CommandError::io("cannot write the summary", e))?;
    }
    let differs = summary.differs();
    Ok(if job.exit_code && differs {
        Completion::Differences
    } else {
        Completion::Clean
    })
}
