//! The arguments of `sebulk sandbox`: where it listens, what it holds,
//! and the faults and variants it can play.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::settings::KeyArgs;
use crate::sandbox::{ListShape, UnknownFields};
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct SandboxArgs {
    /// Loopback address to listen on
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Seed-data JSON (groups, applications, users) [default: the demo tenant]
    #[arg(long, value_name = "FILE", conflicts_with = "empty")]
    pub seed_data: Option<PathBuf>,

    /// Start with no users, groups or applications
    #[arg(long)]
    pub empty: bool,

    /// Load the tenant from FILE if it exists; save it there while running and on exit
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub key: KeyArgs,

    /// Delay every request by this many milliseconds
    #[arg(long, default_value_t = 0, help_heading = "Faults")]
    pub latency_ms: u64,

    /// Answer 429 with Retry-After beyond N requests per second
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub rate_limit: Option<u32>,

    /// Share of requests answered 503 (0..1)
    #[arg(long, default_value_t = 0.0, value_parser = probability, help_heading = "Faults")]
    pub fail_rate: f64,

    /// Share of creates that commit and then drop the connection (0..1)
    #[arg(long, default_value_t = 0.0, value_parser = probability, help_heading = "Faults")]
    pub drop_rate: f64,

    /// Silently cap pageSize to N
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub max_page_size: Option<u32>,

    /// Seed for fault decisions and generated ids
    #[arg(long, default_value_t = 1, help_heading = "Faults")]
    pub seed: u64,

    /// Shape of list responses
    #[arg(long, value_enum, default_value_t = ListShape::Items, help_heading = "Variant")]
    pub list_shape: ListShape,

    /// Page membership lists like the main lists (the reference gives them no paging: by default they send everything)
    #[arg(long, help_heading = "Variant")]
    pub members_paged: bool,

    /// Number the first list page 0 instead of 1
    #[arg(long = "zero-based-pages", help_heading = "Variant")]
    pub zero_based_pages: bool,

    /// Users carry server-managed fields (createdAt, lastLogon)
    #[arg(long, help_heading = "Variant")]
    pub server_fields: bool,

    /// What creates and updates do with fields beyond the reference
    #[arg(long, value_enum, default_value_t = UnknownFields::Refuse, help_heading = "Variant")]
    pub unknown_fields: UnknownFields,

    /// Users created or updated without isEnabled are disabled
    #[arg(long, help_heading = "Variant")]
    pub disabled_by_default: bool,

    /// Refuse (403) every change to this user (repeatable)
    #[arg(long = "forbid", value_name = "USERNAME", help_heading = "Variant")]
    pub forbidden: Vec<String>,

    /// GET /credentials/{id} of a user with no factor answers 404 instead of an empty record
    #[arg(long, help_heading = "Variant")]
    pub credentials_404: bool,

    /// userType travels as a number (1 user, 2 admin, 3 helpdesk), read and written
    #[arg(long, help_heading = "Variant")]
    pub numbered_user_types: bool,
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("'{text}' is not a probability between 0 and 1")),
    }
}
