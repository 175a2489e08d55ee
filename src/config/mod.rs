//! What a command runs with, and where it comes from: the tenant and
//! pacing settings defined once ([`settings`]: flags and profile keys
//! alike), the config file's profiles ([`profile`]), and their resolution
//! into one checked [`Config`] ([`resolve`]). Commands take the plain
//! `Config`; only `cli` sees the flags.

pub mod profile;
mod resolve;
pub mod settings;

pub use resolve::{check_private_file, resolve};
#[cfg(feature = "sandbox")]
pub use resolve::{clean_key, read_key_file};

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::api::ClientSettings;
use crate::api::client::ClientBuildError;
use crate::limiter::{InFlight, RetryPolicy};
use crate::model::AuthScheme;

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "SEBULK_API_KEY";

/// The variable naming the state directory (the tenants' run locks).
pub const STATE_DIR_ENV: &str = "SEBULK_STATE_DIR";

/// The variable systemd sets to the directory of a service's credentials.
pub const CREDENTIALS_DIRECTORY_ENV: &str = "CREDENTIALS_DIRECTORY";

/// The credential holding the API key under a systemd service
/// (`LoadCredential=sebulk-api-key:/etc/sebulk/api-key`).
pub const CREDENTIAL_NAME: &str = "sebulk-api-key";

/// Which tenant a command talks to.
#[derive(Debug, Clone)]
pub enum Target {
    Tenant {
        base_url: Url,
        api_key: SecretString,
    },
    /// An in-process sandbox, optionally kept in a state file (only in a
    /// build with the `sandbox` feature).
    #[cfg(feature = "sandbox")]
    Sandbox {
        state: Option<PathBuf>,
        api_key: SecretString,
    },
}

impl Target {
    pub fn api_key(&self) -> &SecretString {
        match self {
            Target::Tenant { api_key, .. } => api_key,
            #[cfg(feature = "sandbox")]
            Target::Sandbox { api_key, .. } => api_key,
        }
    }
}

/// How hard a run may push the tenant.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub rate: f64,
    pub in_flight: InFlight,
    /// The longest Retry-After honoured before the run stops.
    pub max_wait: Duration,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub page_size: u32,
    /// The largest answer read, in bytes.
    pub max_body: u64,
    pub page_base: u64,
    pub unknown_fields: crate::api::UnknownFieldPolicy,
}

/// Everything a command needs, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub auth_scheme: AuthScheme,
    pub pacing: Pacing,
    /// This user's state directory (`SEBULK_STATE_DIR`, else the
    /// platform's), where the tenants' run locks live; none without a home.
    pub state_dir: Option<PathBuf>,
}

impl Config {
    /// Client settings for `base_url`, with this run's key and pacing.
    pub fn client_settings(&self, base_url: Url, api_key: SecretString) -> ClientSettings {
        let mut settings = ClientSettings::new(base_url, api_key);
        settings.auth_scheme = self.auth_scheme;
        settings.rate = self.pacing.rate;
        settings.in_flight = self.pacing.in_flight;
        settings.max_wait = self.pacing.max_wait;
        settings.retry = self.pacing.retry;
        settings.request_timeout = self.pacing.timeout;
        settings.page_size = self.pacing.page_size;
        settings.max_body = self.pacing.max_body;
        settings.page_base = self.pacing.page_base;
        settings.unknown_fields = self.pacing.unknown_fields;
        // A command's writes wait for the guard to judge its run.
        settings.guarded_writes = true;
        settings
    }
}

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no tenant given: use --base-url, --tenant with --region, a --profile, or --sandbox")]
    NoTenant,
    #[error("--tenant needs --region (use uk2 for tenants whose host has no region part)")]
    NoRegion,
    #[error("'{0}' is not a valid tenant or region name (letters, digits and hyphens only)")]
    BadHostPart(String),
    #[error("'{url}' is not a valid base URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    UnsafeUrl(#[from] ClientBuildError),
    #[error(
        "no API key: use --api-key-file (or SEBULK_API_KEY_FILE), set {API_KEY_ENV}, or give a systemd service the credential {CREDENTIAL_NAME} (the key is never taken from the command line)"
    )]
    NoKey,
    /// A file of secrets others may read or write.
    #[error(
        "the {what} {path} can be read or written by other users (mode {mode:o}); sebulk will not use it: chmod 600 {path}"
    )]
    NotPrivate {
        what: &'static str,
        path: String,
        mode: u32,
    },
    #[error("cannot read the API key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the API key file {0} is empty")]
    EmptyKey(String),
    #[error("cannot read the config file {path}: {source}")]
    ConfigRead {
        path: String,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    ConfigInvalid { path: String, message: String },
    /// The mapping file (or preset) cannot be used.
    #[error("{0}")]
    Mapping(String),
    #[error(
        "the config file {path} holds an API key under '{key}'; keep keys in a file named by api_key_file"
    )]
    KeyInConfig { path: String, key: String },
    #[error("profile '{name}' is not in the config file {path} ({known})")]
    NoProfile {
        name: String,
        path: String,
        /// The profiles the file has, said for the message.
        known: String,
    },
    #[error(
        "profile '{name}' was asked for, but the config file {path} does not exist ({which}; --config PATH or SEBULK_CONFIG names another)"
    )]
    NoConfigFile {
        name: String,
        path: String,
        /// Whether it is the default file or the one named.
        which: &'static str,
    },
    #[error("{0}")]
    BadValue(String),
    #[error(transparent)]
    Countries(#[from] crate::model::country::CountriesFileError),
}
