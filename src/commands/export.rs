//! `sebulk export` and `sebulk diff`.

use std::io::Write;

use super::{CommandError, Completion, Connection, signals};
use crate::cli::config::{Config, ConfigError};
use crate::cli::{DiffArgs, ExportArgs};
use crate::export::diff::{self, DiffOptions};
use crate::export::{self as job, Entity, ExportOptions, ExportSummary};
use crate::output::create_private;

/// `sebulk export`.
pub async fn export(config: &Config, args: &ExportArgs) -> Result<Completion, CommandError> {
    job::check_filters(args.what, &args.filter).map_err(ConfigError::BadValue)?;
    if !args.include.is_empty() && args.what != Entity::Users {
        return Err(ConfigError::BadValue("--include goes with `export users`".to_string()).into());
    }
    let options = ExportOptions {
        entity: args.what,
        output: args.output.clone(),
        format: args.format,
        filters: args.filter.clone(),
        sort: args.sort.clone(),
        order: args.order,
        page_size: None,
        include_groups: args.include.iter().any(|i| i == "groups"),
        include_applications: args.include.iter().any(|i| i == "applications"),
        sanitize: !args.no_sanitize,
        excel: args.excel,
        force: args.force,
        allow_incomplete: args.allow_incomplete,
        progress: config.output.progress && args.output != std::path::Path::new("-"),
    };
    let connection = Connection::open(config).await?;
    // An interrupt drops the export: its temporary file goes, the old file stays.
    let outcome = tokio::select! {
        result = job::run(&connection.client, &options) => Some(result),
        () = signals::terminated() => None,
    };
    connection.close().await?;
    let Some(summary) = outcome else {
        return Err(CommandError::Interrupted);
    };
    let summary = summary?;
    if !config.output.quiet || !summary.warnings.is_empty() {
        print_summary(&summary);
    }
    if let Some(path) = &args.summary_json {
        write_json(path, &summary)?;
    }
    Ok(Completion::Clean)
}

fn print_summary(summary: &ExportSummary) {
    let target = summary.output.as_deref().unwrap_or("standard output");
    eprintln!(
        "exported {} {} to {target}: {} pages, {} API calls, {:.1} s ({:.1} requests/s){}",
        summary.records,
        summary.entity.name(),
        summary.pages,
        summary.api_calls,
        summary.elapsed_seconds,
        summary.requests_per_second,
        if summary.duplicates_dropped > 0 {
            format!(
                ", {} records seen twice while paging were written once",
                summary.duplicates_dropped
            )
        } else {
            String::new()
        }
    );
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), CommandError> {
    let mut file = create_private(path, true, &[])?;
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CommandError::io("cannot encode the summary", e.into()))?;
    writeln!(file, "{text}")
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))
}

/// `sebulk diff`.
pub fn diff(args: &DiffArgs, quiet: bool) -> Result<Completion, CommandError> {
    let summary = diff::run(&DiffOptions {
        old: args.old.clone(),
        new: args.new.clone(),
        output: args.output.clone(),
        force: args.force,
        key: args.key,
    })?;
    if !quiet {
        eprintln!(
            "diff on {}: {} joiners, {} leavers, {} movers ({} field changes), {} unchanged ({} → {} users)",
            summary.key,
            summary.joiners,
            summary.leavers,
            summary.movers,
            summary.field_changes,
            summary.unchanged,
            summary.old_users,
            summary.new_users
        );
    }
    Ok(Completion::Clean)
}
