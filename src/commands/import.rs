//! `sebulk import FILE` and `sebulk plan FILE`: the main job and its dry run.

use std::io::Write;
use std::path::Path;

use super::{CommandError, Completion, Connection};
use crate::cli::config::Config;
use crate::cli::{ImportArgs, PlanArgs, PolicyArgs};
use crate::input::InputSpec;
use crate::output::{beside, create_private};
use crate::pipeline::{self, Ended, ImportOptions, Summary};
use crate::plan::Policy;

fn policy(spec: &InputSpec, args: &PolicyArgs) -> Policy {
    Policy {
        mode: spec.rules.mode,
        match_by: spec.rules.match_by,
        sync_groups: args.sync_groups,
        sync_applications: args.sync_applications,
        create_missing_groups: args.create_missing_groups,
        reset_passwords: args.reset_passwords,
        auto_password: args.passwords.auto_password,
        must_change_password: args.passwords.must_change_password,
        send_email: args.passwords.send_email,
    }
}

/// `sebulk import`.
pub async fn import(
    config: &Config,
    spec: InputSpec,
    args: &ImportArgs,
) -> Result<Completion, CommandError> {
    if args.dry_run {
        let plan = PlanArgs {
            input: args.input.clone(),
            policy: args.policy.clone(),
            output: None,
            force: args.force,
            skip_invalid: args.skip_invalid,
            summary_json: args.summary_json.clone(),
        };
        return run_plan(config, spec, &plan).await;
    }
    let results = match (&args.results, spec.file == Path::new("-")) {
        (Some(path), _) => path.clone(),
        (None, false) => beside(&spec.file, "results.csv"),
        (None, true) => {
            return Err(crate::cli::config::ConfigError::BadValue(
                "reading standard input, import needs --results FILE".to_string(),
            )
            .into());
        }
    };
    let options = ImportOptions {
        policy: policy(&spec, &args.policy),
        input: spec,
        skip_invalid: args.skip_invalid,
        output: Some(results),
        force: args.force,
        resume: args.resume.clone(),
        dry_run: false,
        progress: config.output.progress,
    };
    execute(config, &options, args.summary_json.as_deref()).await
}

/// `sebulk plan`.
pub async fn plan(
    config: &Config,
    spec: InputSpec,
    args: &PlanArgs,
) -> Result<Completion, CommandError> {
    run_plan(config, spec, args).await
}

async fn run_plan(
    config: &Config,
    spec: InputSpec,
    args: &PlanArgs,
) -> Result<Completion, CommandError> {
    let options = ImportOptions {
        policy: policy(&spec, &args.policy),
        input: spec,
        skip_invalid: args.skip_invalid,
        output: args.output.clone(),
        force: args.force,
        resume: None,
        dry_run: true,
        progress: config.output.progress,
    };
    execute(config, &options, args.summary_json.as_deref()).await
}

async fn execute(
    config: &Config,
    options: &ImportOptions,
    summary_json: Option<&Path>,
) -> Result<Completion, CommandError> {
    // The input is read twice (check everything, then apply), so standard
    // input is first copied to a private temporary file.
    let mut options = options.clone();
    let spooled = if options.input.file == Path::new("-") {
        let spooled = spool_stdin()?;
        options.input.file = spooled.path().to_path_buf();
        Some(spooled)
    } else {
        None
    };
    let options = &options;
    if let Some(path) = summary_json
        && path.exists()
        && path.is_dir()
    {
        return Err(CommandError::io(
            format!("{} is a folder", path.display()),
            std::io::Error::other("not a file"),
        ));
    }
    let connection = Connection::open(config).await?;
    let ended = pipeline::run(connection.client.clone(), options).await;
    let fatal = connection.client.fatal_error();
    connection.close().await?;
    let (mut summary, interrupted) = match ended? {
        Ended::Refused => return Ok(Completion::WithProblems),
        Ended::Finished(summary) => (summary, false),
        Ended::Interrupted(summary) => (summary, true),
    };
    if spooled.is_some() {
        summary.input = "standard input".to_string();
    }
    if !config.output.quiet || !summary.all_succeeded() {
        print_summary(&summary);
    }
    if let Some(path) = summary_json {
        write_summary(path, &summary, &options.input.file)?;
    }
    if let Some(error) = fatal {
        // Every row has its outcome in the results; the run itself failed.
        return Err(error.into());
    }
    Ok(if interrupted {
        Completion::Interrupted
    } else if summary.all_succeeded() {
        Completion::Clean
    } else {
        Completion::WithProblems
    })
}

/// Copies standard input to a private temporary file (deleted on drop).
fn spool_stdin() -> Result<tempfile::NamedTempFile, CommandError> {
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| CommandError::io("cannot create a temporary file", e))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .map_err(|e| CommandError::io("cannot read standard input", e))?;
    Ok(file)
}

fn write_summary(path: &Path, summary: &Summary, input: &Path) -> Result<(), CommandError> {
    let mut file = create_private(path, true, &[input])?;
    let text = serde_json::to_string_pretty(summary)
        .map_err(|e| CommandError::io("cannot encode the summary", std::io::Error::other(e)))?;
    writeln!(file, "{text}")
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))
}

fn print_summary(summary: &Summary) {
    let what = if summary.dry_run { "plan" } else { "import" };
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    eprintln!(
        "{what} of {}: {} rows: {}",
        summary.input,
        summary.rows,
        counts.join(", ")
    );
    if let Some(path) = &summary.output {
        let kind = if summary.dry_run { "plan" } else { "results" };
        eprintln!("  {kind} in {path}");
    }
    let lookup = match summary.user_lookup {
        Some(crate::plan::lookup::UserStrategy::Bulk) => {
            "users found through one listing of the tenant"
        }
        Some(crate::plan::lookup::UserStrategy::PerRow) => "users looked up one by one",
        None => "",
    };
    let tenant = summary
        .tenant_users
        .map_or_else(String::new, |n| format!(" ({n} users in the tenant)"));
    eprintln!("  {lookup}{tenant}");
    let rate = summary
        .requests_per_second
        .map(|r| format!("{r:.1} requests/s (limit {})", summary.rate_limit))
        .unwrap_or_else(|| format!("limit {} requests/s", summary.rate_limit));
    eprintln!(
        "  {} API calls ({} writes, {:.2} per row), {} answered 429, {} retries, {:.1} s, {rate}",
        summary.api_calls,
        summary.write_calls,
        summary.calls_per_row,
        summary.throttled_429,
        summary.retries,
        summary.elapsed_seconds,
    );
    if let Some(bound) = &summary.bound {
        eprintln!("  {bound}");
    }
    if let Some(estimate) = summary.estimated_import_calls {
        eprintln!("  the import would make about {estimate} API calls");
    }
    if !summary.created_groups.is_empty() {
        let verb = if summary.dry_run {
            "would create"
        } else {
            "created"
        };
        eprintln!("  {verb} groups: {}", summary.created_groups.join(", "));
    }
    let cut = summary.counts.get("not_attempted").copied().unwrap_or(0);
    if summary.interrupted || cut > 0 {
        eprintln!(
            "  {cut} rows were not attempted and are marked so; --resume RESULTS goes on from the results file"
        );
    }
}
