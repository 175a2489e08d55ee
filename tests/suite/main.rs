//! The integration tests, in one binary: every command end to end
//! against in-process sandboxes on 127.0.0.1:0 (and real processes where
//! signals or the environment matter). Nothing here reaches the network.

mod support;

mod api;
mod cli;
mod export;
pub mod import;
mod lifecycle;
mod properties;
