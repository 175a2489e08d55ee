//! `sebulk sandbox`: a local tenant in the foreground until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{CommandError, Completion, signals};
use crate::cli::GlobalArgs;
use crate::cli::SandboxArgs;
use crate::cli::config::{API_KEY_ENV, read_key_file};
use crate::sandbox::{self, Faults, SandboxConfig, Seed};

/// The key the sandbox demands, and where the user can find it.
fn sandbox_key(
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(SecretString, Option<String>), CommandError> {
    if let Some(path) = &global.api_key_file {
        return Ok((read_key_file(path)?, Some(path.display().to_string())));
    }
    if let Some(key) = env(API_KEY_ENV).filter(|k| !k.trim().is_empty()) {
        return Ok((
            SecretString::from(key.trim().to_string()),
            Some(format!("${API_KEY_ENV}")),
        ));
    }
    Ok((sandbox::random_key(), None))
}

/// Writes a made-up key to a private file, so the user can hand it to a client.
fn write_key_file(key: &SecretString, port: u16) -> Result<PathBuf, CommandError> {
    let path = std::env::temp_dir().join(format!("sebulk-sandbox-{port}.key"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    writeln!(file, "{}", key.expose_secret())
        .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// Runs the sandbox until interrupted.
pub async fn run(
    global: &GlobalArgs,
    args: &SandboxArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Completion, CommandError> {
    if !args.listen.ip().is_loopback() {
        return Err(crate::cli::config::ConfigError::BadValue(format!(
            "the sandbox serves plain http and listens on loopback addresses only, not {}",
            args.listen
        ))
        .into());
    }
    let (api_key, key_source) = sandbox_key(global, env)?;
    let seed = match (&args.seed_data, args.empty) {
        (Some(path), _) => Seed::File(path.clone()),
        (None, true) => Seed::Empty,
        (None, false) => Seed::Demo,
    };
    let config = SandboxConfig {
        listen: args.listen,
        api_key: api_key.clone(),
        auth_scheme: global.auth_scheme.unwrap_or_default(),
        seed,
        state_file: args.state.clone(),
        faults: Faults {
            latency: Duration::from_millis(args.latency_ms),
            rate_limit: args.rate_limit,
            fail_rate: args.fail_rate,
            drop_rate: args.drop_rate,
            max_page_size: args.max_page_size,
            seed: args.seed,
            ..Faults::default()
        },
        variant: sandbox::Variant {
            list_shape: args.list_shape,
            members_paged: args.members_paged,
            page_base: if args.zero_based_pages { 0 } else { 1 },
            server_fields: args.server_fields,
            unknown_fields: args.unknown_fields,
            enabled_by_default: !args.disabled_by_default,
            forbidden: args.forbidden.clone(),
        },
    };
    let scheme = config.auth_scheme;
    let handle = sandbox::start(config).await?;
    let key_hint = match key_source {
        Some(source) => format!("the key in {source}"),
        None => {
            let path = write_key_file(&api_key, handle.base_url().port().unwrap_or(0))?;
            format!(
                "the key in {} (export {API_KEY_ENV}=$(cat {}))",
                path.display(),
                path.display()
            )
        }
    };
    let tenant = handle.tenant();
    println!("{}", handle.base_url());
    eprintln!(
        "sandbox tenant with {} users, {} groups, {} applications; auth scheme {scheme}, {key_hint}",
        tenant.users().count(),
        tenant.groups().count(),
        tenant.applications().count(),
    );
    eprintln!(
        "stop with Ctrl-C{}",
        if args.state.is_some() {
            " (the state file is saved)"
        } else {
            ""
        }
    );
    tokio::select! {
        () = signals::terminated() => {}
        () = handle.wait_stopped() => {}
    }
    let counters = handle.counters();
    handle.shutdown().await?;
    eprintln!(
        "sandbox stopped: {} requests, {} writes, {} answered 429, {} answered 503, {} connections dropped",
        counters.requests, counters.writes, counters.throttled, counters.failed, counters.dropped
    );
    Ok(Completion::Clean)
}
