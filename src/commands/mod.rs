//! The jobs sebulk runs, each from a resolved [`Config`], and the typed
//! error every job returns.

pub mod check;
pub mod export;
pub mod import;
pub mod sandbox;
pub mod signals;
pub mod validate;

use std::path::PathBuf;

use secrecy::SecretString;

use crate::api::{ApiError, Client, ClientBuildError};
use crate::cli::config::{Config, ConfigError, Target};
use crate::sandbox::{SandboxConfig, SandboxError, SandboxHandle, Seed};

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Client(#[from] ClientBuildError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("interrupted")]
    Interrupted,
    /// A probe found the tenant unusable; the report says why.
    #[error("the tenant is not usable: {0}")]
    Unusable(String),
}

impl CommandError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CommandError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Everything succeeded.
    Clean,
    /// It ran, but some rows or checks had problems (exit 3).
    WithProblems,
    /// It stopped early on Ctrl-C or SIGTERM, having recorded every row (exit 130).
    Interrupted,
}

/// A client, and the in-process sandbox behind it when `--sandbox` was given.
pub struct Connection {
    pub client: Client,
    sandbox: Option<SandboxHandle>,
}

impl Connection {
    /// Connects to the configured tenant, starting the sandbox if asked.
    pub async fn open(config: &Config) -> Result<Self, CommandError> {
        match &config.target {
            Target::Tenant { base_url, api_key } => {
                let client =
                    Client::new(&config.client_settings(base_url.clone(), api_key.clone()))?;
                Ok(Connection {
                    client,
                    sandbox: None,
                })
            }
            Target::Sandbox { state, api_key } => {
                Self::in_process(config, state.clone(), api_key.clone()).await
            }
        }
    }

    async fn in_process(
        config: &Config,
        state: Option<PathBuf>,
        api_key: SecretString,
    ) -> Result<Self, CommandError> {
        let mut sandbox_config = SandboxConfig::local(api_key.clone());
        sandbox_config.auth_scheme = config.auth_scheme;
        sandbox_config.state_file = state;
        sandbox_config.seed = Seed::Demo;
        let handle = crate::sandbox::start(sandbox_config).await?;
        tracing::info!("using the built-in sandbox at {}", handle.base_url());
        let client = Client::new(&config.client_settings(handle.base_url().clone(), api_key))?;
        Ok(Connection {
            client,
            sandbox: Some(handle),
        })
    }

    /// Whether this is the built-in sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Stops the sandbox (saving its state), if there is one.
    pub async fn close(self) -> Result<(), CommandError> {
        if let Some(handle) = self.sandbox {
            handle.shutdown().await?;
        }
        Ok(())
    }
}
