//! The command line: clap types ([`args`]), their resolution into the
//! plain jobs the command layer runs ([`config`]), and the one place errors
//! become exit codes and hints ([`exit`]). The top of the crate: nothing
//! below imports it.

pub mod args;
pub mod config;
pub mod exit;
mod values;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches};

pub use args::{Cli, Command};

use crate::commands::export::{DiffJob, ExportJob};
use crate::commands::import::ImportJob;
use crate::commands::sandbox::SandboxJob;
use crate::commands::validate::ValidateJob;
use crate::commands::{CommandError, Completion, config::API_KEY_ENV};
use crate::diff::DiffOptions;
use crate::export::ExportOptions;
use crate::pipeline::import::ImportOptions;
use crate::pipeline::prepared::Recording;
use crate::plan::Policy;
use crate::sandbox::{Faults, SandboxConfig, Seed, Variant};
use crate::ui::Ui;
use args::{
    Connect, GroupsCommand, ImportArgs, MappingCommand, MembershipsCommand, PlanArgs, PolicyArgs,
};

/// The ids of the options that belong after the subcommand but are also
/// taken before it (hidden there).
const EARLY_OPTIONS: [&str; 17] = [
    "base_url",
    "tenant",
    "region",
    "api_key_file",
    "auth_scheme",
    "sandbox",
    "sandbox_state",
    "page_base",
    "send_unknown_fields",
    "rate",
    "concurrency",
    "max_concurrency",
    "max_wait",
    "max_retries",
    "timeout",
    "page_size",
    "max_body",
];

/// The command line's definition, with the early tenant options hidden.
pub fn command() -> clap::Command {
    Cli::command().mut_args(|arg| {
        if EARLY_OPTIONS.contains(&arg.get_id().as_str()) {
            arg.hide(true)
        } else {
            arg
        }
    })
}

/// Parses a command line (program name first).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The tenant options of a command, with those given before it.
fn connect(cli: &Cli, connect: &Connect) -> Connect {
    Connect {
        tenant: connect.tenant.or(&cli.early_tenant),
        pacing: connect.pacing.or(&cli.early_pacing),
    }
}

/// The import policy: the command line, or else the mapping's options.
fn policy(spec: &crate::input::InputSpec, args: &PolicyArgs) -> Policy {
    let options = spec.mapping.as_ref().map(|m| &m.file.options);
    let set =
        |flag: bool, option: fn(&crate::input::mapping::file::MappingOptions) -> Option<bool>| {
            flag || options.and_then(option).unwrap_or(false)
        };
    Policy {
        mode: spec.rules.mode,
        match_by: spec.rules.match_by,
        sync_groups: set(args.sync_groups, |o| o.sync_groups),
        sync_applications: set(args.sync_applications, |o| o.sync_applications),
        create_missing_groups: set(args.create_missing_groups, |o| o.create_missing_groups),
        reset_passwords: args.reset_passwords,
        auto_password: spec.rules.auto_password,
        must_change_password: set(args.passwords.must_change_password, |o| {
            o.must_change_password
        }),
        send_email: spec.rules.send_email,
    }
}

/// A lifecycle command's job: its options and where its summary goes.
fn lifecycle_job<O>(
    options: O,
    summary: &args::SummaryArgs,
) -> crate::commands::lifecycle::LifecycleJob<O> {
    crate::commands::lifecycle::LifecycleJob {
        options,
        summary_json: summary.summary_json.clone(),
        json: summary.json,
    }
}

/// How a run records, from its shared options, the results path and
/// the file it resumes.
fn recording(run: &args::RunArgs, output: Option<PathBuf>, resume: Option<PathBuf>) -> Recording {
    Recording {
        output,
        force: run.force,
        excel: run.record.excel,
        dry_run: run.dry_run,
        resume,
    }
}

/// Where a command's results go, from its shared run options.
fn results_of(
    run: &args::RunArgs,
    input: &Path,
    what: &str,
) -> Result<Option<PathBuf>, CommandError> {
    record_path(&run.output, &run.record, run.dry_run, input, what)
}

/// Where a run's results (or plan) go: `-o FILE`; a new timestamped file in
/// `--results-dir`; nothing for a dry run (the screen shows it); else
/// `<input stem>.<what>.csv` beside the input.
fn record_path(
    output: &Option<PathBuf>,
    record: &args::RecordArgs,
    dry_run: bool,
    input: &Path,
    what: &str,
) -> Result<Option<PathBuf>, CommandError> {
    match (output, &record.results_dir) {
        (Some(path), _) => Ok(Some(path.clone())),
        (None, Some(dir)) => Ok(Some(crate::output::files::timestamped(dir, input, what)?)),
        (None, None) if dry_run => Ok(None),
        (None, None) if input == Path::new("-") => Err(CommandError::usage(
            "reading standard input, the results need -o/--results FILE or --results-dir DIR",
        )),
        (None, None) => Ok(Some(crate::output::beside(input, &format!("{what}.csv")))),
    }
}

fn plan_job(profile: &config::ProfileSource, args: &PlanArgs) -> Result<ImportJob, CommandError> {
    let spec = config::input_spec(
        profile.get()?,
        &args.input.file,
        &args.input.rules,
        &args.policy.passwords,
    )?;
    let spec_file = spec.file.clone();
    Ok(ImportJob {
        options: ImportOptions {
            policy: policy(&spec, &args.policy),
            input: spec,
            skip_invalid: args.skip_invalid,
            run: Recording {
                output: record_path(&args.output, &args.record, true, &spec_file, "plan")?,
                force: args.force,
                excel: args.record.excel,
                dry_run: true,
                resume: None,
            },
            report_missing: args.report_missing.clone(),
        },
        summary_json: args.summary.summary_json.clone(),
        json: args.summary.json,
    })
}

fn import_job(
    profile: &config::ProfileSource,
    args: &ImportArgs,
) -> Result<ImportJob, CommandError> {
    let spec = config::input_spec(
        profile.get()?,
        &args.input.file,
        &args.input.rules,
        &args.policy.passwords,
    )?;
    let output = record_path(
        &args.run.output,
        &args.run.record,
        args.run.dry_run,
        &spec.file,
        if args.run.dry_run { "plan" } else { "results" },
    )?;
    Ok(ImportJob {
        options: ImportOptions {
            policy: policy(&spec, &args.policy),
            input: spec,
            skip_invalid: args.skip_invalid,
            run: recording(&args.run, output, args.resume.clone()),
            report_missing: args.report_missing.clone(),
        },
        summary_json: args.run.summary.summary_json.clone(),
        json: args.run.summary.json,
    })
}

fn offboard_job(
    profile: &config::ProfileSource,
    args: &args::OffboardArgs,
) -> Result<
    crate::commands::lifecycle::LifecycleJob<crate::pipeline::offboard::OffboardOptions>,
    CommandError,
> {
    use crate::pipeline::offboard::{OffboardOptions, Step, Who};
    let file = args
        .names
        .as_ref()
        .or(args.roster.as_ref())
        .cloned()
        .unwrap_or_default();
    let spec = config::input_spec(profile.get()?, &file, &args.rules, &Default::default())?;
    let steps = Step::parse_list(&args.action).map_err(CommandError::usage)?;
    let output = results_of(&args.run, &file, "offboard")?;
    let guard = config::guard(profile.get()?, &args.guard)?;
    Ok(lifecycle_job(
        OffboardOptions {
            who: if args.roster.is_some() {
                Who::Roster(spec)
            } else {
                Who::Named(spec)
            },
            steps,
            max_unmatched: args.max_unmatched,
            limits: guard.1,
            protection: guard.0,
            run: recording(&args.run, output, args.resume.clone()),
        },
        &args.run.summary,
    ))
}

fn sandbox_job(
    cli: &Cli,
    args: &args::SandboxArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SandboxJob, CommandError> {
    let key = args.key.or(&cli.early_tenant.key);
    let (api_key, key_source) = match (&key.api_key_file, env(API_KEY_ENV)) {
        (Some(path), _) => (
            config::read_key_file(path)?,
            Some(path.display().to_string()),
        ),
        (None, Some(key)) if config::clean_key(&key).is_some() => (
            secrecy::SecretString::from(config::clean_key(&key).unwrap_or_default()),
            Some(format!("${API_KEY_ENV}")),
        ),
        _ => (crate::sandbox::random_key(), None),
    };
    let seed = match (&args.seed_data, args.empty) {
        (Some(path), _) => Seed::File(path.clone()),
        (None, true) => Seed::Empty,
        (None, false) => Seed::Demo,
    };
    Ok(SandboxJob {
        config: SandboxConfig {
            listen: args.listen,
            api_key,
            auth_scheme: key.auth_scheme.unwrap_or_default(),
            seed,
            state_file: args.state.clone(),
            faults: Faults {
                latency: std::time::Duration::from_millis(args.latency_ms),
                rate_limit: args.rate_limit,
                fail_rate: args.fail_rate,
                drop_rate: args.drop_rate,
                max_page_size: args.max_page_size,
                seed: args.seed,
                ..Faults::default()
            },
            variant: Variant {
                list_shape: args.list_shape,
                members_paged: args.members_paged,
                page_base: if args.zero_based_pages { 0 } else { 1 },
                server_fields: args.server_fields,
                unknown_fields: args.unknown_fields,
                enabled_by_default: !args.disabled_by_default,
                forbidden: args.forbidden.clone(),
                credentials_404: args.credentials_404,
                numbered_user_types: args.numbered_user_types,
            },
            idle_timeout: std::time::Duration::from_secs(60),
        },
        key_source,
    })
}

/// Writes a completion script, ending quietly if the reader goes away.
fn completions(shell: clap_complete::Shell) -> Result<Completion, CommandError> {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "sebulk", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| CommandError::io("cannot write the completion script", e))?;
    Ok(Completion::Clean)
}

/// Runs one parsed command line, printing through `ui`.
pub async fn dispatch(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    use crate::commands::{check, export, import, lifecycle, mapping, sandbox, validate};
    let profile = config::ProfileSource::new(&cli.global);
    let resolve = |c: &Connect| config::resolve(profile.get()?, &connect(cli, c), env);
    match &cli.command {
        Command::Completions { shell } => completions(*shell),
        Command::Validate(args) => {
            let job = ValidateJob {
                spec: config::input_spec(
                    profile.get()?,
                    &args.input.file,
                    &args.input.rules,
                    &args.passwords,
                )?,
                report: args.output.clone(),
                force: args.force,
                json: args.json,
            };
            validate::run(&job, ui)
        }
        Command::Sandbox(args) => sandbox::run(sandbox_job(cli, args, env)?, ui).await,
        Command::Plan(args) => {
            import::run(&resolve(&args.connect)?, plan_job(&profile, args)?, ui).await
        }
        Command::Import(args) => {
            import::run(&resolve(&args.connect)?, import_job(&profile, args)?, ui).await
        }
        Command::Export(args) => {
            let job = ExportJob {
                options: ExportOptions {
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
                },
                summary_json: args.summary.summary_json.clone(),
                json: args.summary.json,
            };
            export::export(&resolve(&args.connect)?, &job, ui).await
        }
        Command::Diff(args) => export::diff(
            &DiffJob {
                options: DiffOptions {
                    old: args.old.clone(),
                    new: args.new.clone(),
                    output: args.output.clone(),
                    force: args.force,
                    key: args.key,
                },
                exit_code: args.exit_code,
                json: args.json,
            },
            ui,
        ),
        Command::Check(args) => check::run(&resolve(&args.connect)?, args.json, ui).await,
        Command::Offboard(args) => {
            let job = offboard_job(&profile, args)?;
            lifecycle::offboard(&resolve(&args.connect)?, job, ui).await
        }
        Command::Approve(args) => {
            let output = results_of(&args.run, &args.held, "approve")?;
            let protection = config::protection(profile.get()?, &args.protect)?;
            let job = lifecycle_job(
                crate::pipeline::offboard::OffboardOptions {
                    who: crate::pipeline::offboard::Who::Held(args.held.clone()),
                    // The held file says which; read with it.
                    steps: Vec::new(),
                    max_unmatched: None,
                    // The held count is the acknowledgement (set on reading it).
                    limits: Default::default(),
                    protection,
                    run: recording(&args.run, output, None),
                },
                &args.run.summary,
            );
            lifecycle::offboard(&resolve(&args.connect)?, job, ui).await
        }
        Command::Passwords(args) => {
            let spec =
                config::input_spec(profile.get()?, &args.file, &args.rules, &Default::default())?;
            let output = results_of(&args.run, &args.file, "passwords")?;
            let job = lifecycle_job(
                crate::pipeline::passwords::PasswordsOptions {
                    input: spec,
                    auto_generate: args.auto_generate,
                    send_email: args.send_email,
                    must_change: args.must_change,
                    run: recording(&args.run, output, args.resume.clone()),
                },
                &args.run.summary,
            );
            lifecycle::passwords(&resolve(&args.connect)?, job, ui).await
        }
        Command::Groups(GroupsCommand::Import(args)) => {
            let output = results_of(&args.run, &args.file, "groups")?;
            let guard = config::guard(profile.get()?, &args.guard)?;
            let job = lifecycle_job(
                crate::pipeline::groups::GroupsOptions {
                    file: args.file.clone(),
                    read: args.read.options(),
                    prune: args.prune,
                    limits: guard.1,
                    protection: guard.0,
                    run: recording(&args.run, output, None),
                },
                &args.run.summary,
            );
            lifecycle::groups(&resolve(&args.connect)?, job, ui).await
        }
        Command::Memberships(MembershipsCommand::Import(args)) => {
            let output = results_of(&args.run, &args.file, "memberships")?;
            let guard = config::guard(profile.get()?, &args.guard)?;
            let job = lifecycle_job(
                crate::pipeline::memberships::MembershipsOptions {
                    file: args.file.clone(),
                    read: args.read.options(),
                    sync: args
                        .sync
                        .iter()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    limits: guard.1,
                    protection: guard.0,
                    run: recording(&args.run, output, None),
                },
                &args.run.summary,
            );
            lifecycle::memberships(&resolve(&args.connect)?, job, ui).await
        }
        Command::Restore(args) => {
            let output = results_of(&args.run, &args.snapshot, "restore")?;
            let job = lifecycle_job(
                crate::pipeline::restore::RestoreOptions {
                    snapshot: args.snapshot.clone(),
                    send_email: args.send_email,
                    run: recording(&args.run, output, None),
                    protection: config::protection(profile.get()?, &args.protect)?,
                },
                &args.run.summary,
            );
            lifecycle::restore(&resolve(&args.connect)?, job, ui).await
        }
        Command::Undo(args) => {
            // Each undo keeps its own record beside the run it reverses.
            let output = match (
                &args.run.output,
                &args.run.record.results_dir,
                args.run.dry_run,
            ) {
                (Some(path), _, _) => Some(path.clone()),
                (None, Some(dir), _) => Some(crate::output::files::timestamped(
                    dir,
                    &args.results,
                    "undo",
                )?),
                (None, None, true) => None,
                (None, None, false) => {
                    let dir = args.results.parent().unwrap_or(Path::new(""));
                    Some(crate::output::files::timestamped(
                        dir,
                        &args.results,
                        "undo",
                    )?)
                }
            };
            let guard = config::guard(profile.get()?, &args.guard)?;
            let job = lifecycle_job(
                crate::pipeline::undo::UndoOptions {
                    results: args.results.clone(),
                    run: recording(&args.run, output, args.resume.clone()),
                    limits: guard.1,
                    protection: guard.0,
                    send_email: args.send_email,
                },
                &args.run.summary,
            );
            lifecycle::undo(&resolve(&args.connect)?, job, ui).await
        }
        Command::Mapping(command) => match command {
            MappingCommand::Init(args) => mapping::init(
                &mapping::InitJob {
                    file: args.file.clone(),
                    read: args.read.options(),
                    output: args.output.clone(),
                    force: args.force,
                },
                ui,
            ),
            MappingCommand::Show { name } => mapping::show(name),
            MappingCommand::List => mapping::list(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn tenant_options_go_before_or_after_the_subcommand() {
        let early = parse(["sebulk", "--rate", "7", "--sandbox", "check"]).unwrap();
        let late = parse(["sebulk", "check", "--rate", "7", "--sandbox"]).unwrap();
        for cli in [early, late] {
            let Command::Check(args) = &cli.command else {
                panic!("check")
            };
            let merged = connect(&cli, &args.connect);
            assert_eq!(merged.pacing.rate, Some(7.0));
            assert!(merged.tenant.sandbox);
        }
        assert!(parse(["sebulk", "validate", "x.csv", "--rate", "7"]).is_err());
    }

    #[test]
    fn offline_help_lists_no_tenant_options() {
        let mut command = command();
        let validate = command.find_subcommand_mut("validate").unwrap();
        let help = validate.render_long_help().to_string();
        assert!(!help.contains("--rate"), "{help}");
        assert!(!help.contains("--base-url"), "{help}");
        let import = command.find_subcommand_mut("import").unwrap();
        let help = import.render_long_help().to_string();
        assert!(help.contains("--rate") && help.contains("--base-url"));
        let top = command.render_long_help().to_string();
        assert!(!top.contains("--base-url"), "hidden before the subcommand");
    }
}
