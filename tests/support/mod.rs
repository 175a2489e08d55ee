//! Helpers shared by the integration tests: an in-process sandbox on
//! 127.0.0.1:0 and clients pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use sebulk::api::{Client, ClientSettings};
use sebulk::limiter::RetryPolicy;
use sebulk::model::{UserFields, UserWrite};
use sebulk::sandbox::{self, Faults, SandboxConfig, SandboxHandle, Seed};
use secrecy::SecretString;

pub const KEY: &str = "test-key-7f3a9c1e5b";

pub fn config() -> SandboxConfig {
    SandboxConfig::local(SecretString::from(KEY))
}

pub fn faults(f: impl FnOnce(&mut Faults)) -> SandboxConfig {
    let mut config = config();
    f(&mut config.faults);
    config
}

pub async fn start(config: SandboxConfig) -> SandboxHandle {
    sandbox::start(config).await.expect("sandbox starts")
}

pub async fn start_empty() -> SandboxHandle {
    let mut config = config();
    config.seed = Seed::Empty;
    start(config).await
}

/// Fast settings: high rate, short backoff, so tests spend their time on behaviour.
pub fn settings(sandbox: &SandboxHandle) -> ClientSettings {
    let mut settings = ClientSettings::new(sandbox.base_url().clone(), SecretString::from(KEY));
    settings.rate = 1000.0;
    settings.concurrency = 8;
    settings.retry = RetryPolicy {
        max_retries: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    settings.request_timeout = Duration::from_secs(5);
    settings
}

pub fn client(sandbox: &SandboxHandle) -> Client {
    Client::new(&settings(sandbox)).expect("client builds")
}

pub fn new_user(username: &str) -> UserWrite {
    UserWrite {
        fields: UserFields {
            username: Some(username.to_string()),
            email: Some(format!("{}@example.com", username.replace(['/', ' '], "_"))),
            first_name: Some("Test".to_string()),
            last_name: Some("User".to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}
