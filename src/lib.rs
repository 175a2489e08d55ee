//! sebulk: bulk provisioning between HR spreadsheets and SecurEnvoy Access
//! Management.
//!
//! Layers, top to bottom (dependencies point down only): `cli` and
//! `commands` resolve arguments and run jobs; `api` is the client, built on
//! `limiter`; `model` is the wire data shared by the client and `sandbox`,
//! which knows nothing of the client.

pub mod api;
pub mod cli;
pub mod commands;
pub mod export;
pub mod input;
pub mod limiter;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod sandbox;

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, exit};
use commands::CommandError;

/// Runs sebulk with `args` (program name first) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
        }
    };
    init_logging(cli.global.quiet, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sebulk: error: cannot start the async runtime: {err}");
            return exit::FATAL;
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    match runtime.block_on(dispatch(&cli, &env)) {
        Ok(completion) => exit::code_for(completion),
        Err(err) => exit::report(&err),
    }
}

/// Runs one parsed command line.
pub async fn dispatch(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<commands::Completion, CommandError> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "sebulk", &mut std::io::stdout());
            Ok(commands::Completion::Clean)
        }
        Command::Validate(args) => {
            let spec = cli::config::input_spec(&cli.global, &args.input, &args.passwords)?;
            commands::validate::run(&spec, args.report.as_deref(), args.force, cli.global.quiet)
        }
        Command::Sandbox(args) => commands::sandbox::run(&cli.global, args, env).await,
        Command::Plan(args) => {
            let config = cli::config::resolve(&cli.global, env)?;
            let spec = cli::config::input_spec(&cli.global, &args.input, &args.policy.passwords)?;
            commands::import::plan(&config, spec, args).await
        }
        Command::Import(args) => {
            let config = cli::config::resolve(&cli.global, env)?;
            let spec = cli::config::input_spec(&cli.global, &args.input, &args.policy.passwords)?;
            commands::import::import(&config, spec, args).await
        }
        Command::Export(args) => {
            let config = cli::config::resolve(&cli.global, env)?;
            commands::export::export(&config, args).await
        }
        Command::Diff(args) => commands::export::diff(args, cli.global.quiet),
        Command::Check(args) => {
            let config = cli::config::resolve(&cli.global, env)?;
            commands::check::run(&config, args).await
        }
    }
}

/// Logs go to stderr; `-v` raises the level, `SEBULK_LOG` overrides it.
fn init_logging(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,sebulk=debug",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEBULK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(pipeline::progress::LogWriter)
        .with_target(false)
        .try_init();
}
