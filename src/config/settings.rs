//! The tenant and pacing settings, defined once: the same structs parse
//! from the command line (clap) and deserialize from a profile (serde),
//! so a new setting is one field here, and `or` says which wins.
//! (`--sandbox` and `--sandbox-state` are command-line only.)

use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use crate::model::AuthScheme;

/// How the API key is found and sent.
#[derive(Debug, Args, Clone, Default, Deserialize)]
#[serde(default)]
pub struct KeyArgs {
    /// File holding the API key (else env SEBULK_API_KEY); never pass the key itself
    #[arg(
        long,
        env = "SEBULK_API_KEY_FILE",
        value_name = "PATH",
        help_heading = "Tenant"
    )]
    pub api_key_file: Option<PathBuf>,

    /// How the key is sent [default: bearer]
    #[arg(long, env = "SEBULK_AUTH_SCHEME", value_enum, help_heading = "Tenant")]
    pub auth_scheme: Option<AuthScheme>,
}

/// Which tenant a command talks to, and how the tenant reads what the
/// reference leaves open.
#[derive(Debug, Args, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TenantArgs {
    /// Full API root, e.g. https://acme.uk.securenvoy.directory/api/user/restapi
    #[arg(
        long,
        env = "SEBULK_BASE_URL",
        value_name = "URL",
        help_heading = "Tenant"
    )]
    pub base_url: Option<String>,

    /// Tenant name; with --region builds the base URL
    #[arg(long, env = "SEBULK_TENANT", help_heading = "Tenant")]
    pub tenant: Option<String>,

    /// Region part of the host (uk, us, ...; uk2 has none)
    #[arg(long, env = "SEBULK_REGION", help_heading = "Tenant")]
    pub region: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub key: KeyArgs,

    /// Run against a built-in sandbox tenant instead of a real one
    #[arg(long, help_heading = "Tenant")]
    #[serde(skip)]
    pub sandbox: bool,

    /// With --sandbox: load and save the sandbox tenant in this file
    #[arg(long, value_name = "FILE", help_heading = "Tenant")]
    #[serde(skip)]
    pub sandbox_state: Option<PathBuf>,

    /// The number the tenant gives its first list page: 1 (the reference) or 0 [default: 1]
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=1), help_heading = "Tenant")]
    pub page_base: Option<u64>,

    /// Send back fields the tenant returned beyond the reference: auto (yes, until an update is refused for them) [default: auto]
    #[arg(long, value_enum, help_heading = "Tenant")]
    pub send_unknown_fields: Option<SendUnknownFields>,
}

impl TenantArgs {
    /// These options, filled in from `earlier` (given before the subcommand).
    pub fn or(&self, earlier: &TenantArgs) -> TenantArgs {
        TenantArgs {
            base_url: self.base_url.clone().or(earlier.base_url.clone()),
            tenant: self.tenant.clone().or(earlier.tenant.clone()),
            region: self.region.clone().or(earlier.region.clone()),
            key: self.key.or(&earlier.key),
            sandbox: self.sandbox || earlier.sandbox,
            sandbox_state: self.sandbox_state.clone().or(earlier.sandbox_state.clone()),
            page_base: self.page_base.or(earlier.page_base),
            send_unknown_fields: self.send_unknown_fields.or(earlier.send_unknown_fields),
        }
    }
}

impl KeyArgs {
    pub fn or(&self, earlier: &KeyArgs) -> KeyArgs {
        KeyArgs {
            api_key_file: self.api_key_file.clone().or(earlier.api_key_file.clone()),
            auth_scheme: self.auth_scheme.or(earlier.auth_scheme),
        }
    }
}

/// How hard a run may push the tenant.
#[derive(Debug, Args, Clone, Default, Deserialize)]
#[serde(default)]
#[command(next_help_heading = "Pacing")]
pub struct PacingArgs {
    /// Requests per second, never more in any second [default: 10]
    #[arg(long, env = "SEBULK_RATE")]
    pub rate: Option<f64>,

    /// Requests in flight at once, fixed [default: adapts to rate × latency]
    #[arg(long, env = "SEBULK_CONCURRENCY")]
    pub concurrency: Option<usize>,

    /// The most requests in flight when concurrency adapts [default: 1024]
    #[arg(long)]
    pub max_concurrency: Option<usize>,

    /// The longest Retry-After to wait, in seconds; a longer one stops the run [default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub max_wait: Option<f64>,

    /// Retries of a failed request (429, 502-504, network) [default: 5]
    #[arg(long)]
    pub max_retries: Option<u32>,

    /// Seconds before a request counts as timed out [default: 30]
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Records per list page [default: 100]
    #[arg(long)]
    pub page_size: Option<u32>,

    /// The largest answer to read, in MB; a larger one stops the listing [default: 16]
    #[arg(long, value_name = "MB")]
    pub max_body: Option<u64>,
}

impl PacingArgs {
    pub fn or(&self, earlier: &PacingArgs) -> PacingArgs {
        PacingArgs {
            rate: self.rate.or(earlier.rate),
            concurrency: self.concurrency.or(earlier.concurrency),
            max_concurrency: self.max_concurrency.or(earlier.max_concurrency),
            max_wait: self.max_wait.or(earlier.max_wait),
            max_retries: self.max_retries.or(earlier.max_retries),
            timeout: self.timeout.or(earlier.timeout),
            page_size: self.page_size.or(earlier.page_size),
            max_body: self.max_body.or(earlier.max_body),
        }
    }
}

/// A tenant command's connection options.
#[derive(Debug, Args, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Connect {
    #[command(flatten)]
    #[serde(flatten)]
    pub tenant: TenantArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub pacing: PacingArgs,
}

/// `--send-unknown-fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendUnknownFields {
    Auto,
    Always,
    Never,
}

impl From<SendUnknownFields> for crate::api::UnknownFieldPolicy {
    fn from(value: SendUnknownFields) -> Self {
        match value {
            SendUnknownFields::Auto => Self::Auto,
            SendUnknownFields::Always => Self::Always,
            SendUnknownFields::Never => Self::Never,
        }
    }
}

impl Connect {
    /// These settings, with `earlier`'s (given before the subcommand, or
    /// by the profile) where these have none.
    pub fn or(&self, earlier: &Connect) -> Connect {
        Connect {
            tenant: self.tenant.or(&earlier.tenant),
            pacing: self.pacing.or(&earlier.pacing),
        }
    }
}
