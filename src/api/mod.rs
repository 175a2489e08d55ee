//! The SecurEnvoy REST API client: typed endpoints over one retrying,
//! throttled HTTP core, with every wire-format guess kept in [`wire`].

pub(crate) mod answer;
pub mod client;
pub mod endpoints;
pub mod error;
pub mod members;
pub mod paging;
pub mod probe;
pub mod wire;

pub use client::{
    BeforeWrite, Cleared, Client, ClientBuildError, ClientSettings, DEFAULT_MAX_BODY,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_WAIT, StatsSnapshot, Tally, UnknownFieldPolicy,
    install_tls_provider,
};
pub use endpoints::{Created, NamedQuery, SortOrder, UserQuery};
pub use error::{ApiError, found};
pub use members::{MembershipIndex, MembershipSide, cheaper_side};
pub use paging::{ListRequest, Listed, ListingStats, Page, RecordNote};
