//! The command line: clap types ([`args`]), their resolution into the
//! plain jobs the command layer runs ([`config`]), and the one place errors
//! become exit codes and hints ([`exit`]). The top of the crate: nothing
//! below imports it.

pub mod args;
pub mod config;
mod end;
pub mod exit;
mod jobs;
pub mod man;
mod offered;
pub mod only;
mod values;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

pub use args::{Cli, Command};

use crate::commands::{CommandError, Completion};
use crate::ui::Ui;
use args::{Connect, GroupsCommand, MappingCommand, MembershipsCommand};

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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = command().try_get_matches_from(args.clone())?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.argv = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Ok(cli)
}

/// The tenant options of a command, with those given before it.
fn connect(cli: &Cli, connect: &Connect) -> Connect {
    connect.or(&Connect {
        tenant: cli.early_tenant.clone(),
        pacing: cli.early_pacing.clone(),
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

/// Runs one parsed command line, printing through `ui`. A run that stops
/// with an error still writes its `--summary-json` (the error, the exit
/// code and its hint), so monitoring never reads an earlier run's file;
/// a usage error (nothing ran) writes none.
pub async fn dispatch(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let profile = config::ProfileSource::new(cli.global.config.clone(), cli.global.profile.clone());
    let receivers = end::receivers(cli, &profile, env)?;
    end::check_report(cli)?;
    let result = run_command(cli, &profile, env, ui).await;
    // A directory refused as open to others gets nothing, not even why.
    let refused_dir = refused_directory(&result);
    if let (Err(error), Some(path)) = (&result, end::failure_summary_path(&cli.command))
        && !end::goes_into(&path, refused_dir.as_deref())
    {
        write_failure(&path, error);
    }
    let ending = end::Ending::of(cli, &result, ui);
    end::report(cli, &ending, ui, refused_dir.as_deref(), env);
    if !receivers.is_empty() {
        ending.tell(&receivers, ui).await;
    }
    result
}

/// The directory a run was refused for, being open to others' writes.
fn refused_directory(result: &Result<Completion, CommandError>) -> Option<std::path::PathBuf> {
    match result {
        Err(CommandError::Output(crate::output::OutputError::OpenDirectory { path, .. })) => {
            Some(path.into())
        }
        _ => None,
    }
}

/// Writes why a run stopped as its summary; a summary that cannot be
/// written is said on stderr, never turned into another error.
fn write_failure(path: &std::path::Path, error: &CommandError) {
    let (code, hint) = exit::classify(error);
    if code == exit::USAGE {
        // Nothing ran, and the summary's own path may be what is wrong
        // (the input or the results): it is never written then.
        return;
    }
    let status = if matches!(error, CommandError::Refused(_)) {
        "refused"
    } else {
        "failed"
    };
    let value = crate::commands::stopped_summary(status, &error.to_string(), (code, hint));
    if let Err(err) = crate::commands::write_json(path, &value, &[]) {
        tracing::warn!("the summary could not be written: {err}");
    }
}

/// The table from each command to its job ([`jobs`]) and the code that runs it.
async fn run_command(
    cli: &Cli,
    profile: &config::ProfileSource,
    env: &dyn Fn(&str) -> Option<String>,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    use crate::commands::{check, export, import, lifecycle, mapping, validate};
    let resolve = |c: &Connect| crate::config::resolve(profile.get()?, &connect(cli, c), env);
    match &cli.command {
        Command::Completions { shell } => completions(*shell),
        Command::Man { output } => man::run(output.as_deref()),
        Command::Validate(args) => validate::run(&jobs::validate_job(profile, args)?, ui),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => {
            crate::commands::sandbox::run(jobs::sandbox_job(cli, args, env)?, ui).await
        }
        Command::Plan(args) => {
            import::run(&resolve(&args.connect)?, jobs::plan_job(profile, args)?, ui).await
        }
        Command::Import(args) => {
            import::run(
                &resolve(&args.connect)?,
                jobs::import_job(profile, args)?,
                ui,
            )
            .await
        }
        Command::Export(args) => {
            export::export(&resolve(&args.connect)?, &jobs::export_job(args)?, ui).await
        }
        Command::Diff(args) => export::diff(&jobs::diff_job(args), ui).map_err(|error| {
            if args.exit_code {
                CommandError::DiffTrouble(Box::new(error))
            } else {
                error
            }
        }),
        Command::Check(args) => {
            let privilege = crate::decision::access::PrivilegeRules {
                groups: profile.get()?.privileged_groups.clone(),
                ..Default::default()
            };
            check::run(&resolve(&args.connect)?, &privilege, args.json, ui).await
        }
        Command::Offboard(args) => {
            let job = jobs::offboard_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Approve(args) => {
            let job = jobs::approve_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Passwords(args) => {
            let job = jobs::passwords_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Sync(args) => {
            let job = jobs::sync_job(profile, args)?;
            crate::commands::sync::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Groups(GroupsCommand::Import(args)) => {
            let job = jobs::groups_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Memberships(MembershipsCommand::Import(args)) => {
            let job = jobs::memberships_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Restore(args) => {
            let job = jobs::restore_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Apply(args) => {
            let job = jobs::apply_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Undo(args) => {
            let job = jobs::undo_job(profile, args)?;
            lifecycle::run(&resolve(&args.connect)?, job, ui).await
        }
        Command::Mapping(command) => match command {
            MappingCommand::Init(args) => mapping::init(&jobs::mapping_init_job(args), ui),
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
