//! A local, stateful stand-in for a SecurEnvoy tenant, for tests, demos
//! and rehearsals.
//!
//! It serves every endpoint of the reference under `/api/user/restapi`,
//! checks the API key in the configured scheme, validates bodies strictly,
//! and can inject latency, 429s, 503s, dropped connections after a commit
//! and capped page sizes, all from one seed. It shares the wire models with
//! the client and nothing else, so it cannot agree with a client bug.

mod conn;
pub mod faults;
mod numbered;
mod routes;
pub mod store;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::SeedableRng;
use rand::rngs::StdRng;
use secrecy::SecretString;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use faults::Faults;
pub use store::{Tenant, TenantFile, TenantFileError};

use crate::model::AuthScheme;

/// Where every route lives, as on a real tenant.
pub const API_ROOT: &str = "/api/user/restapi";
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The demo tenant served when no seed file is given.
pub const DEMO_TENANT: &str = include_str!("../../samples/sandbox-tenant.json");

/// How list responses are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListShape {
    /// `{"items": [...], "totalCount": N, "page": P, "pageSize": S}`
    #[default]
    Items,
    /// `{"data": [...], "totalCount": N, ...}`
    Data,
    /// `{"results": [...], "totalCount": N, ...}`
    Results,
    /// `{"value": [...], "totalCount": N, ...}`
    Value,
    /// A bare JSON array, no total count.
    Array,
}

/// What the sandbox does with fields a user body carries beyond the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownFields {
    /// 400, naming the field (a strict server).
    #[default]
    Refuse,
    /// Ignored (what ASP.NET model binding does by default).
    Accept,
}

/// How the sandbox reads what the reference leaves open. The default is the
/// literal reading; each switch plays another tenant a real one may be, so
/// tests can run the client against every guess (docs/api-assumptions.md).
#[derive(Debug, Clone)]
pub struct Variant {
    /// How list responses are shaped.
    pub list_shape: ListShape,
    /// Whether membership lists honour `page`/`pageSize` (the reference
    /// gives them no paging parameters: by default they send everything).
    pub members_paged: bool,
    /// The number of the first page: 1 (the reference) or 0.
    pub page_base: u64,
    /// Users also carry server-managed fields (`createdAt`, `lastLogon`).
    pub server_fields: bool,
    /// What a create or update does with fields it does not know.
    pub unknown_fields: UnknownFields,
    /// `isEnabled` of a user whose create or update leaves it out.
    pub enabled_by_default: bool,
    /// Usernames (any case) whose changes are refused with 403.
    pub forbidden: Vec<String>,
    /// `GET /credentials/{id}` of a user with no factor set answers 404
    /// instead of an empty record.
    pub credentials_404: bool,
    /// `userType` travels as a number (1 user, 2 admin, 3 helpdesk).
    pub numbered_user_types: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            list_shape: ListShape::default(),
            members_paged: false,
            page_base: 1,
            server_fields: false,
            unknown_fields: UnknownFields::default(),
            enabled_by_default: true,
            forbidden: Vec::new(),
            credentials_404: false,
            numbered_user_types: false,
        }
    }
}

impl Variant {
    /// Whether changes to `username` are refused.
    pub fn forbids(&self, username: &str) -> bool {
        self.forbidden
            .iter()
            .any(|f| f.eq_ignore_ascii_case(username))
    }
}

/// Where the tenant's first state comes from.
#[derive(Debug, Clone, Default)]
pub enum Seed {
    /// The demo tenant shipped in samples/sandbox-tenant.json.
    #[default]
    Demo,
    /// A seed-data file in the same format.
    File(PathBuf),
    /// An empty tenant: no users, groups or applications.
    Empty,
}

/// Everything a sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen (loopback only).
    pub listen: SocketAddr,
    /// The key requests must carry.
    pub api_key: SecretString,
    /// How they must carry it.
    pub auth_scheme: AuthScheme,
    /// The tenant to start from.
    pub seed: Seed,
    /// Loaded at start when it exists (instead of the seed), saved while running and at shutdown.
    pub state_file: Option<PathBuf>,
    /// Faults to inject.
    pub faults: Faults,
    /// How it reads what the reference leaves open.
    pub variant: Variant,
    /// Connections with nothing moving for this long are closed (a
    /// client that sends half a request cannot hold one for ever).
    pub idle_timeout: Duration,
}

impl SandboxConfig {
    /// A sandbox on 127.0.0.1 at a free port, serving the demo tenant.
    pub fn local(api_key: SecretString) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key,
            auth_scheme: AuthScheme::default(),
            seed: Seed::Demo,
            state_file: None,
            faults: Faults::default(),
            variant: Variant::default(),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a sandbox could not start or save.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    /// The address cannot be listened on.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why not.
        source: std::io::Error,
    },
    #[error(transparent)]
    /// A seed or state file cannot be used.
    TenantFile(#[from] TenantFileError),
    #[error("the demo tenant is broken: {0}")]
    /// The built-in demo tenant does not load.
    Demo(String),
}

/// What the sandbox has seen, for tests and the shutdown report.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests received.
    pub requests: AtomicU64,
    /// Successful changes.
    pub writes: AtomicU64,
    /// Requests answered 429.
    pub throttled: AtomicU64,
    /// Requests answered 503 by fault injection.
    pub failed: AtomicU64,
    /// Connections dropped after a commit.
    pub dropped: AtomicU64,
}

/// A copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Requests received.
    pub requests: u64,
    /// Successful changes to the tenant.
    pub writes: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Requests answered 503 by fault injection.
    pub failed: u64,
    /// Connections dropped after a commit.
    pub dropped: u64,
}

pub(crate) struct Shared {
    /// Read by many requests at once (pages of a large tenant), changed by one.
    tenant: RwLock<Tenant>,
    config: SandboxConfig,
    rng: Mutex<StdRng>,
    window: Mutex<faults::RateWindow>,
    counters: Counters,
    dirty: AtomicBool,
    /// The key was revoked: every request is refused with 401 from now on.
    revoked: AtomicBool,
    /// When each request arrived, and whether it was a write (with `record_arrivals`).
    arrivals: Mutex<Vec<(std::time::Instant, bool)>>,
}

/// A JSON error body: `{"status": N, "message": "..."}`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "status": status.as_u16(), "message": message });
    (status, axum::Json(body)).into_response()
}

/// A running sandbox.
pub struct SandboxHandle {
    base_url: Url,
    shared: Arc<Shared>,
    stop: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    saver: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// The API root to give the client, e.g. `http://127.0.0.1:PORT/api/user/restapi`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A copy of the tenant as it is now.
    pub fn tenant(&self) -> Tenant {
        self.shared
            .tenant
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What the sandbox has counted so far.
    pub fn counters(&self) -> CounterSnapshot {
        let c = &self.shared.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CounterSnapshot {
            requests: get(&c.requests),
            writes: get(&c.writes),
            throttled: get(&c.throttled),
            failed: get(&c.failed),
            dropped: get(&c.dropped),
        }
    }

    /// When each request arrived and whether it was a write, in arrival
    /// order (only with `Faults::record_arrivals`).
    pub fn arrivals(&self) -> Vec<(std::time::Instant, bool)> {
        self.shared
            .arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The most requests that arrived within any one second.
    pub fn busiest_second(&self) -> usize {
        let times: Vec<std::time::Instant> = self.arrivals().into_iter().map(|(t, _)| t).collect();
        let mut busiest = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= Duration::from_secs(1) {
                start += 1;
            }
            busiest = busiest.max(end - start + 1);
        }
        busiest
    }

    /// Revokes the API key mid-run, as an administrator might: every later
    /// request is answered 401.
    pub fn revoke_key(&self) {
        self.shared.revoked.store(true, Ordering::SeqCst);
    }

    /// Stops serving, waits for requests in flight, and saves the state file.
    pub async fn shutdown(self) -> Result<(), SandboxError> {
        self.stop.cancel();
        let _ = self.server.await;
        if let Some(saver) = self.saver {
            let _ = saver.await;
        }
        save_if_dirty(&self.shared)?;
        Ok(())
    }

    /// Resolves when the server stops by itself (it only does on error).
    pub async fn wait_stopped(&self) {
        self.stop.cancelled().await
    }
}

fn initial_tenant(config: &SandboxConfig) -> Result<Tenant, SandboxError> {
    let id_seed = config.faults.seed;
    if let Some(path) = config.state_file.as_ref().filter(|p| p.exists()) {
        return Ok(Tenant::load(path, id_seed)?);
    }
    match &config.seed {
        Seed::Demo => {
            let file: TenantFile =
                serde_json::from_str(DEMO_TENANT).map_err(|e| SandboxError::Demo(e.to_string()))?;
            Tenant::from_file(file, id_seed).map_err(SandboxError::Demo)
        }
        Seed::File(path) => Ok(Tenant::load(path, id_seed)?),
        Seed::Empty => {
            Tenant::from_file(TenantFile::default(), id_seed).map_err(SandboxError::Demo)
        }
    }
}

fn save_if_dirty(shared: &Shared) -> Result<(), TenantFileError> {
    let Some(path) = &shared.config.state_file else {
        return Ok(());
    };
    if shared.dirty.swap(false, Ordering::AcqRel) || !path.exists() {
        let tenant = shared
            .tenant
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Err(err) = tenant.save(path) {
            shared.dirty.store(true, Ordering::Release);
            return Err(err);
        }
    }
    Ok(())
}

/// Starts a sandbox in the background of the current tokio runtime.
pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
    let mut tenant = initial_tenant(&config)?;
    tenant.configure(
        config.variant.enabled_by_default,
        config.variant.server_fields,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: config.listen,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: config.listen,
        source,
    })?;
    let base_url = Url::parse(&format!("http://{local}{API_ROOT}"))
        .map_err(|e| SandboxError::Demo(e.to_string()))?;
    let shared = Arc::new(Shared {
        tenant: RwLock::new(tenant),
        rng: Mutex::new(StdRng::seed_from_u64(config.faults.seed)),
        window: Mutex::new(faults::RateWindow::default()),
        counters: Counters::default(),
        dirty: AtomicBool::new(false),
        revoked: AtomicBool::new(false),
        arrivals: Mutex::new(Vec::new()),
        config,
    });
    let app = Router::new()
        .nest(API_ROOT, routes::router())
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            numbered::numbered_user_types,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::gate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared.clone());
    let stop = CancellationToken::new();
    let server = {
        let stop = stop.clone();
        let listener = conn::CuttableListener::new(listener, shared.config.idle_timeout);
        let service = app.into_make_service_with_connect_info::<conn::ConnTag>();
        tokio::spawn(async move {
            let result = axum::serve(listener, service)
                .with_graceful_shutdown(stop.clone().cancelled_owned())
                .await;
            stop.cancel();
            result
        })
    };
    let saver = shared.config.state_file.is_some().then(|| {
        let shared = shared.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(err) = save_if_dirty(&shared) {
                            tracing::warn!("sandbox state not saved: {err}");
                        }
                    }
                    () = stop.cancelled() => break,
                }
            }
        })
    });
    Ok(SandboxHandle {
        base_url,
        shared,
        stop,
        server,
        saver,
    })
}

/// A fresh random key for a sandbox that was given none.
pub fn random_key() -> SecretString {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let key: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    SecretString::from(format!("sandbox-{key}"))
}
