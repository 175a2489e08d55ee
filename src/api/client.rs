//! The HTTP core of the client: one shared connection pool, one throttle,
//! and the retry loop every endpoint goes through.
//!
//! Invariants: every attempt (first or retry) waits for the throttle; a
//! request the server may have acted on is never replayed blindly (callers
//! that can check, like user creation, decide); the API key is only ever in
//! a header marked sensitive and never in a log line, error or URL.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::answer::{self, Verdict};
use super::error::ApiError;
use super::wire;
use crate::limiter::{InFlight, RetryPolicy, Throttle};
use crate::model::AuthScheme;

/// Whether update bodies carry back fields the tenant sent that the
/// reference does not list (docs/api-assumptions.md, A17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownFieldPolicy {
    /// Send them; if the tenant refuses an update that carried them (400),
    /// send it again without them and leave them out for the rest of the run.
    #[default]
    Auto,
    /// Always send them back.
    Always,
    /// Never send them back.
    Never,
}

/// The most requests in flight by default: enough for 1,000 requests per
/// second at 500 ms of latency, with the throttle's margin.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// The longest Retry-After honoured by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(300);

pub use super::answer::FORBIDDEN_IN_A_ROW;

/// Everything needed to talk to one tenant.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The API root, e.g. `https://acme.uk.securenvoy.directory/api/user/restapi`.
    pub base_url: Url,
    /// The key; never logged, only ever in a header marked sensitive.
    pub api_key: SecretString,
    /// How the key is sent.
    pub auth_scheme: AuthScheme,
    /// Requests per second across the whole run.
    pub rate: f64,
    /// Requests in flight at once.
    pub in_flight: InFlight,
    /// The longest pause a server's Retry-After may impose before the run
    /// stops instead of waiting.
    pub max_wait: Duration,
    /// The largest response body read.
    pub max_body: u64,
    /// When and how often failed requests are tried again.
    pub retry: RetryPolicy,
    /// How long a connection may take to open.
    pub connect_timeout: Duration,
    /// How long a request may take, answer included.
    pub request_timeout: Duration,
    /// Records asked for per list page.
    pub page_size: u32,
    /// The number the tenant gives its first page (the reference: 1).
    pub page_base: u64,
    /// Whether update bodies carry back fields beyond the reference.
    pub unknown_fields: UnknownFieldPolicy,
    /// How results and snapshots name the tenant when its address does
    /// not (the built-in sandbox answers on a new port each run).
    pub tenant_label: Option<String>,
    /// Writes wait until the guard clears the run ([`Client::clear_writes`]):
    /// how every command's client is built.
    pub guarded_writes: bool,
}

impl ClientSettings {
    /// Settings with our defaults for everything but the tenant and key.
    pub fn new(base_url: Url, api_key: SecretString) -> Self {
        ClientSettings {
            base_url,
            api_key,
            auth_scheme: AuthScheme::default(),
            rate: 10.0,
            in_flight: InFlight::Adaptive {
                max: DEFAULT_MAX_IN_FLIGHT,
            },
            max_wait: DEFAULT_MAX_WAIT,
            max_body: DEFAULT_MAX_BODY,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            page_size: 100,
            page_base: 1,
            unknown_fields: UnknownFieldPolicy::default(),
            tenant_label: None,
            guarded_writes: false,
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error(
        "refusing plain http:// to {0}: the API key would travel unencrypted (only loopback addresses may use http)"
    )]
    /// The host that would get the key in clear text.
    InsecureUrl(String),
    #[error("base URL {0} must start with https:// (or http:// for loopback)")]
    /// The URL whose scheme is not https.
    UnsupportedScheme(String),
    #[error("the API key contains characters that cannot go in an HTTP header")]
    /// (The key contains a newline or another byte no header may hold.)
    BadKey,
    #[error("could not set up HTTP: {0}")]
    /// What the HTTP library said.
    Http(String),
}

/// Whether `url` points at this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses URLs that would send the key in clear text.
pub fn check_url_is_safe(url: &Url) -> Result<(), ClientBuildError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(ClientBuildError::InsecureUrl(
            url.host_str().unwrap_or("?").to_string(),
        )),
        _ => Err(ClientBuildError::UnsupportedScheme(url.to_string())),
    }
}

/// Counters for the whole run, shared by all clones of a client.
#[derive(Debug, Default)]
pub struct ApiStats {
    /// Requests sent, retries included.
    pub requests: AtomicU64,
    /// Successful writes (not GETs).
    pub writes: AtomicU64,
    /// Retries of a request already sent once.
    pub retries: AtomicU64,
    /// Answers with 429.
    pub throttled: AtomicU64,
    /// Answers with a 5xx status.
    pub server_errors: AtomicU64,
    /// Requests that got no answer (timeouts, dropped connections).
    pub transport_errors: AtomicU64,
    /// Creates whose lost answer a lookup settled.
    pub ambiguous_recovered: AtomicU64,
    /// Answers with a 2xx status.
    pub successes: AtomicU64,
    /// 403s since the last success.
    pub forbidden_in_a_row: AtomicU32,
}

/// A point-in-time copy of [`ApiStats`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Successful writes (not GETs).
    pub writes: u64,
    /// Retries of a request already sent once.
    pub retries: u64,
    /// Answers with 429.
    pub throttled: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests that got no answer.
    pub transport_errors: u64,
    /// Creates whose lost answer a lookup settled.
    pub ambiguous_recovered: u64,
}

impl ApiStats {
    /// A copy of the counters as they are now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: get(&self.requests),
            writes: get(&self.writes),
            retries: get(&self.retries),
            throttled: get(&self.throttled),
            server_errors: get(&self.server_errors),
            transport_errors: get(&self.transport_errors),
            ambiguous_recovered: get(&self.ambiguous_recovered),
        }
    }
}

/// Per-task counts (one row's calls), so a results line can say how many
/// attempts its work took and what the server last answered.
#[derive(Debug, Default)]
pub struct Tally {
    attempts: AtomicU32,
    writes_sent: AtomicU32,
    last_status: AtomicU16,
}

impl Tally {
    /// How many requests were sent (retries included).
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// How many writes (not GETs) were sent, answered or not.
    pub fn writes_sent(&self) -> u32 {
        self.writes_sent.load(Ordering::Relaxed)
    }

    /// The last HTTP status seen, if any request got an answer.
    pub fn last_status(&self) -> Option<u16> {
        Some(self.last_status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }
}

/// Why one attempt got no usable answer.
enum SendError {
    Http(reqwest::Error),
    /// The body was larger than `max_body`.
    TooLarge,
}

impl From<reqwest::Error> for SendError {
    fn from(err: reqwest::Error) -> Self {
        SendError::Http(err)
    }
}

/// The largest response body read by default: far above any real page.
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

/// An answer with a 2xx status.
#[derive(Debug)]
pub struct Reply {
    /// Time on the wire for the answering attempt, without any throttle wait.
    pub elapsed: Duration,
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The answer's body, whole.
    pub body: Bytes,
}

/// One API call, described once and sent as many times as retries allow.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a [&'a str],
    pub query: &'a [(&'a str, String)],
    pub body: Option<Vec<u8>>,
    /// May this be sent again after a timeout or dropped connection, when
    /// the server may already have acted on it?
    pub replay_if_maybe_sent: bool,
}

struct Inner {
    http: reqwest::Client,
    seal_key: crate::model::SealKey,
    base: Url,
    tenant: String,
    scheme: AuthScheme,
    throttle: Arc<Throttle>,
    retry: RetryPolicy,
    stats: ApiStats,
    page_size: u32,
    page_base: u64,
    max_wait: Duration,
    max_body: u64,
    unknown_fields: UnknownFieldPolicy,
    /// Learned in `Auto`: the tenant refuses fields beyond the reference.
    omit_unknown_fields: std::sync::atomic::AtomicBool,
    /// The error that stopped the run, when one did.
    fatal: std::sync::Mutex<Option<ApiError>>,
    /// Writes wait for the guard (a command's client).
    guarded: bool,
    /// The guard has cleared the run's writes.
    cleared: std::sync::atomic::AtomicBool,
    /// The tenant's page numbering was seen to be the configured one.
    page_base_confirmed: std::sync::atomic::AtomicBool,
}

/// Records a write before it is sent: what a run's journal of intents
/// does, so a run killed with the write on the wire still names it.
pub trait BeforeWrite: Send + Sync {
    /// Called once before each write (not before its retries), with
    /// what it changes (the results' `changes` cell; empty: not told);
    /// `Err` keeps the write from being sent, with why.
    fn before_write(&self, endpoint: &str, changes: &str) -> Result<(), String>;
}

/// Proof that the guard judged a run before its first write. Only
/// `engine::guard` makes one (a test holds it to that), and a guarded
/// client sends no write until it has been shown one
/// ([`Client::clear_writes`]).
#[derive(Debug)]
pub struct Cleared(());

impl Cleared {
    /// For the guard alone, once it has judged a run and let it go.
    pub(crate) fn by_the_guard() -> Self {
        Cleared(())
    }
}

/// A SecurEnvoy REST API client. Cheap to clone; clones share the pool,
/// the throttle and the stats.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    tally: Option<Arc<Tally>>,
    /// Withdraws this clone's requests that have not been sent yet.
    cut: Option<tokio_util::sync::CancellationToken>,
    /// Records each write of this clone's before it is sent.
    recorder: Option<Arc<dyn BeforeWrite>>,
    /// What this clone's writes change, for the recorder
    /// ([`Client::describing`]).
    changes: Option<Arc<str>>,
    /// This clone rehearses a run: it reads, and never writes.
    rehearsal: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("scheme", &self.inner.scheme)
            .finish_non_exhaustive()
    }
}

/// Makes rustls's ring provider the process's (once; later calls and a
/// provider installed before are left as they are): reqwest is built
/// without a provider of its own (see Cargo.toml), and every client,
/// the API's and `--notify`'s, calls this before it is built.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    /// A client with its own throttle.
    pub fn new(settings: &ClientSettings) -> Result<Self, ClientBuildError> {
        let throttle = Throttle::new(settings.rate, settings.in_flight);
        Self::with_throttle(settings, throttle)
    }

    /// A client sharing `throttle` with other clients of the same run.
    pub fn with_throttle(
        settings: &ClientSettings,
        throttle: Arc<Throttle>,
    ) -> Result<Self, ClientBuildError> {
        check_url_is_safe(&settings.base_url)?;
        let scheme = settings.auth_scheme;
        let mut auth =
            HeaderValue::from_str(&scheme.header_value(settings.api_key.expose_secret()))
                .map_err(|_| ClientBuildError::BadKey)?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(scheme.header_name(), auth);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("sebulk/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .pool_max_idle_per_host(settings.in_flight.max().min(256));
        if is_loopback(&settings.base_url) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|err| ClientBuildError::Http(err.to_string()))?;
        let mut base = settings.base_url.clone();
        // Segments are appended to the root; a trailing slash would add an empty one.
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty();
        }
        // Keyed to the tenant as results name it: a kept sandbox answers
        // on a new port each run but is the same tenant.
        let tenant = settings
            .tenant_label
            .clone()
            .unwrap_or_else(|| base.to_string());
        let seal_key = crate::model::SealKey::derive(settings.api_key.expose_secret(), &tenant);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                seal_key,
                tenant,
                base,
                scheme,
                throttle,
                retry: settings.retry,
                stats: ApiStats::default(),
                page_size: settings.page_size.max(1),
                page_base: settings.page_base,
                max_wait: settings.max_wait,
                max_body: settings.max_body.max(1024),
                unknown_fields: settings.unknown_fields,
                omit_unknown_fields: Default::default(),
                fatal: Default::default(),
                guarded: settings.guarded_writes,
                cleared: Default::default(),
                page_base_confirmed: Default::default(),
            }),
            tally: None,
            cut: None,
            recorder: None,
            changes: None,
            rehearsal: false,
        })
    }

    /// A clone that also counts its own attempts into a fresh [`Tally`].
    pub fn tallied(&self) -> (Client, Arc<Tally>) {
        let tally = Arc::new(Tally::default());
        let client = Client {
            inner: self.inner.clone(),
            tally: Some(tally.clone()),
            cut: self.cut.clone(),
            recorder: self.recorder.clone(),
            changes: self.changes.clone(),
            rehearsal: self.rehearsal,
        };
        (client, tally)
    }

    /// A clone whose requests not yet sent are withdrawn once `cut` is
    /// cancelled (a row the first interrupt reaches before it wrote).
    pub fn with_cut(&self, cut: tokio_util::sync::CancellationToken) -> Client {
        Client {
            inner: self.inner.clone(),
            tally: self.tally.clone(),
            cut: Some(cut),
            recorder: self.recorder.clone(),
            changes: self.changes.clone(),
            rehearsal: self.rehearsal,
        }
    }

    /// The same client without a cut: for work that must finish once begun.
    pub fn uncut(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            tally: self.tally.clone(),
            cut: None,
            recorder: self.recorder.clone(),
            changes: self.changes.clone(),
            rehearsal: self.rehearsal,
        }
    }

    /// The same client, recording each write with `recorder` before it
    /// is sent (a run's intents: see `output::intents`).
    pub fn recording(&self, recorder: Arc<dyn BeforeWrite>) -> Client {
        Client {
            inner: self.inner.clone(),
            tally: self.tally.clone(),
            cut: self.cut.clone(),
            recorder: Some(recorder),
            changes: self.changes.clone(),
            rehearsal: self.rehearsal,
        }
    }

    /// The same client, telling its recorder that its writes change
    /// `changes` (the results' cell): a user's update recorded with its
    /// old values before it is sent.
    pub fn describing(&self, changes: String) -> Client {
        Client {
            changes: Some(changes.into()),
            ..self.clone()
        }
    }

    /// The same client for a rehearsal: it reads as the run would, and
    /// any write is refused unsent, whatever the guard has cleared.
    pub fn rehearsing(&self) -> Client {
        Client {
            rehearsal: true,
            ..self.clone()
        }
    }

    /// Lets this client (and every clone of it) write: the guard has
    /// judged the run and let it go.
    pub fn clear_writes(&self, _cleared: Cleared) {
        self.inner.cleared.store(true, Ordering::SeqCst);
    }

    /// Whether a write would be refused unsent: the client is guarded
    /// and the guard has not cleared the run.
    pub fn writes_held(&self) -> bool {
        self.inner.guarded && !self.inner.cleared.load(Ordering::SeqCst)
    }

    /// The run's counters, as they are now.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    pub(crate) fn raw_stats(&self) -> &ApiStats {
        &self.inner.stats
    }

    /// The key that seals and verifies this tenant's plans, held changes
    /// and snapshots, derived from its API key and base URL.
    pub fn seal_key(&self) -> &crate::model::SealKey {
        &self.inner.seal_key
    }

    /// The gate every request of the run passes.
    pub fn throttle(&self) -> &Arc<Throttle> {
        &self.inner.throttle
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The tenant as results, snapshots and resume name it: its API root,
    /// or the label it was given (the built-in sandbox's state file).
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The run's retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Records asked for per list page.
    pub fn page_size(&self) -> u32 {
        self.inner.page_size
    }

    /// The number the tenant gives its first page.
    pub fn page_base(&self) -> u64 {
        self.inner.page_base
    }

    /// Whether the tenant's page numbering was already seen to match.
    pub(super) fn page_base_confirmed(&self) -> &std::sync::atomic::AtomicBool {
        &self.inner.page_base_confirmed
    }

    /// The error that stopped the whole run (a refused key, a wait beyond
    /// `--max-wait`), if one did.
    pub fn fatal_error(&self) -> Option<ApiError> {
        self.inner
            .fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops every request of the run for `error`, remembering it.
    pub(crate) fn stop_run(&self, error: &ApiError) {
        self.inner
            .fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| error.clone());
        self.inner.throttle.stop(error.to_string());
    }

    /// Whether update bodies should leave out fields beyond the reference.
    pub(crate) fn omits_unknown_fields(&self) -> bool {
        match self.inner.unknown_fields {
            UnknownFieldPolicy::Always => false,
            UnknownFieldPolicy::Never => true,
            UnknownFieldPolicy::Auto => self.inner.omit_unknown_fields.load(Ordering::Relaxed),
        }
    }

    /// Whether a refused update that carried fields beyond the reference
    /// is worth sending again without them (`--send-unknown-fields auto`).
    pub(crate) fn may_omit_unknown_fields(&self) -> bool {
        self.inner.unknown_fields == UnknownFieldPolicy::Auto
    }

    /// Leaves the fields beyond the reference out from now on; whether
    /// this call learnt it (updates sent at the same time as the first
    /// refused one are refused too, and each is sent again, but the
    /// lesson is told once).
    pub(crate) fn learn_to_omit_unknown_fields(&self) -> bool {
        !self.inner.omit_unknown_fields.swap(true, Ordering::Relaxed)
    }

    /// How many independent requests (pages, member lists) are worth
    /// keeping under way so the throttle, not the caller, sets the pace.
    pub fn parallelism(&self) -> usize {
        self.inner.throttle.parallelism()
    }

    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(path);
        }
        url
    }

    /// Sends `call`, retrying what can safely be retried: each attempt
    /// waits for the throttle, and [`answer::classify`] says what its
    /// answer means.
    pub(crate) async fn execute(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let inner = &*self.inner;
        let mut url = self.url(call.path);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(call.query);
        }
        let endpoint = format!("{} /{}", call.method, call.path.join("/"));
        let write = call.method != Method::GET;
        if write && self.writes_held() {
            return Err(ApiError::Unwritten {
                endpoint,
                why: "the guard has not cleared this run's writes (a bug: every run is judged before its first write)".to_string(),
            });
        }
        let mut attempts = 0u32;
        loop {
            let permit = inner
                .throttle
                .acquire(self.cut.as_ref())
                .await
                .map_err(|stopped| ApiError::Stopped(stopped.0))?;
            // Recorded once its slot is won, just before it goes out: a
            // write still waiting for the throttle is not in flight.
            if write && attempts == 0 {
                self.before_write(&endpoint)?;
            }
            attempts += 1;
            self.count_attempt(call, attempts);
            let sent_at = std::time::Instant::now();
            let result = self.send_once(call, url.clone()).await;
            let elapsed = sent_at.elapsed();
            let (status, headers, body) = match result {
                Ok(answer) => answer,
                Err(error) => {
                    drop(permit);
                    self.on_send_error(call, &endpoint, error, attempts)?;
                    tokio::time::sleep(inner.retry.backoff(attempts)).await;
                    continue;
                }
            };
            inner.throttle.on_answer(elapsed, status.is_success());
            let verdict = self.judge(call, status, &headers, &body, attempts);
            tracing::debug!(%endpoint, status = status.as_u16(), attempts, "answer");
            // The slot is held until the pool has heard of this answer (a
            // stop or a pause), so no waiting request slips out in between.
            match verdict {
                Verdict::Done => {
                    return Ok(Reply {
                        elapsed,
                        status,
                        headers,
                        body,
                    });
                }
                Verdict::Fails(error) => return Err(error),
                Verdict::StopsRun(error) => {
                    self.stop_run(&error);
                    return Err(error);
                }
                Verdict::Again { backoff } => {
                    drop(permit);
                    if backoff {
                        tokio::time::sleep(inner.retry.backoff(attempts)).await;
                    }
                }
            }
        }
    }

    /// Whether a write may be sent: refused while a guarded client's run
    /// has not been cleared, recorded first on a recording clone.
    fn before_write(&self, endpoint: &str) -> Result<(), ApiError> {
        let unwritten = |why: String| ApiError::Unwritten {
            endpoint: endpoint.to_string(),
            why,
        };
        if self.rehearsal {
            return Err(unwritten(
                "a rehearsal never writes (a bug: the rehearsed row was to decide, not send)"
                    .to_string(),
            ));
        }
        match &self.recorder {
            None => Ok(()),
            Some(record) => record
                .before_write(endpoint, self.changes.as_deref().unwrap_or_default())
                .map_err(|why| unwritten(format!("it could not be recorded first: {why}"))),
        }
    }

    /// Counts an attempt in the run's and the row's tallies.
    fn count_attempt(&self, call: &Call<'_>, attempts: u32) {
        let stats = &self.inner.stats;
        if attempts > 1 {
            stats.retries.fetch_add(1, Ordering::Relaxed);
        }
        stats.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(tally) = &self.tally {
            tally.attempts.fetch_add(1, Ordering::Relaxed);
            if call.method != Method::GET {
                tally.writes_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether a request that got no answer is sent again (`Ok`, after a
    /// backoff): a body over the limit fails; a transport error is tried
    /// again when the request cannot have reached the server (or may be
    /// replayed) and retries are left.
    fn on_send_error(
        &self,
        call: &Call<'_>,
        endpoint: &str,
        error: SendError,
        attempts: u32,
    ) -> Result<(), ApiError> {
        let inner = &*self.inner;
        let err = match error {
            SendError::TooLarge => {
                return Err(ApiError::TooLarge {
                    endpoint: endpoint.to_string(),
                    limit: inner.max_body,
                });
            }
            SendError::Http(err) => err,
        };
        inner.stats.transport_errors.fetch_add(1, Ordering::Relaxed);
        let maybe_sent = !err.is_connect();
        let message = describe_transport_error(endpoint, &err);
        tracing::debug!(%endpoint, attempts, maybe_sent, "transport error: {message}");
        let replayable = !maybe_sent || call.replay_if_maybe_sent;
        if replayable && inner.retry.allows_another(attempts) {
            return Ok(());
        }
        Err(ApiError::Transport {
            message,
            maybe_sent,
            attempts,
        })
    }

    /// The verdict on an answer, with the run's counters and the pool's
    /// pace brought up to date by it.
    fn judge(
        &self,
        call: &Call<'_>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        attempts: u32,
    ) -> Verdict {
        let inner = &*self.inner;
        let stats = &inner.stats;
        let code = status.as_u16();
        if let Some(tally) = &self.tally {
            tally.last_status.store(code, Ordering::Relaxed);
        }
        let forbidden_in_a_row = if code == 403 {
            stats.forbidden_in_a_row.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        let standing = answer::Standing {
            forbidden_in_a_row,
            nothing_worked: stats.successes.load(Ordering::Relaxed) == 0,
            max_wait: inner.max_wait,
            replay_if_maybe_sent: call.replay_if_maybe_sent,
            another_allowed: inner.retry.allows_another(attempts),
            attempts,
            scheme: &inner.scheme.to_string(),
        };
        let verdict = answer::classify(status, headers, body, &standing);
        if status.is_success() {
            stats.successes.fetch_add(1, Ordering::Relaxed);
            stats.forbidden_in_a_row.store(0, Ordering::Relaxed);
            if call.method != Method::GET {
                stats.writes.fetch_add(1, Ordering::Relaxed);
            }
        } else if !matches!(verdict, Verdict::StopsRun(_)) {
            self.pace_after(code, answer::retry_after(headers));
        }
        verdict
    }

    /// A 429 slows and pauses the pool; a 503 that says when pauses it;
    /// other server errors are only counted.
    fn pace_after(&self, code: u16, retry_after: Option<Duration>) {
        let inner = &*self.inner;
        if let Some(wait) = retry_after.filter(|w| *w >= Duration::from_secs(2))
            && inner
                .throttle
                .pause()
                .is_none_or(|p| p.remaining + Duration::from_secs(1) < wait)
        {
            tracing::warn!(
                "the tenant asked us to wait {} s (HTTP {code}); every request pauses until then",
                wait.as_secs()
            );
        }
        if code == 429 {
            inner.stats.throttled.fetch_add(1, Ordering::Relaxed);
            inner.throttle.on_throttled(retry_after, true);
        } else if code >= 500 {
            inner.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            if code == 503 && retry_after.is_some() {
                // The server said when it can take more: nobody asks before then.
                inner.throttle.on_throttled(retry_after, false);
            }
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        url: Url,
    ) -> Result<(StatusCode, HeaderMap, Bytes), SendError> {
        let mut request = self.inner.http.request(call.method.clone(), url);
        if let Some(body) = &call.body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        // Read no more than the limit, whatever the server says or sends.
        let limit = self.inner.max_body;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(SendError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(SendError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, Bytes::from(body)))
    }

    /// `GET path` decoded as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let reply = self.get_raw(path, query).await?;
        decode(path, &reply.body)
    }

    /// `GET path` answered as it came, for probes that want headers and raw bodies.
    pub async fn get_raw(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<Reply, ApiError> {
        self.execute(&Call {
            method: Method::GET,
            path,
            query,
            body: None,
            replay_if_maybe_sent: true,
        })
        .await
    }

    /// A write (`POST`/`PUT`/`DELETE`) whose repetition is harmless.
    pub(crate) async fn write_idempotent<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
    ) -> Result<Reply, ApiError> {
        let body = body.map(encode).transpose()?;
        self.execute(&Call {
            method,
            path,
            query: &[],
            body,
            replay_if_maybe_sent: true,
        })
        .await
    }
}

/// Serializes a request body.
pub(crate) fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|err| ApiError::Decode {
        endpoint: "request body".to_string(),
        message: err.to_string(),
    })
}

/// Decodes a 2xx body as `T`, naming the endpoint on failure.
pub(crate) fn decode<T: DeserializeOwned>(path: &[&str], body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| ApiError::Decode {
        endpoint: format!("/{}", path.join("/")),
        message: format!("{err}: {}", wire::snippet(body)),
    })
}

fn describe_transport_error(endpoint: &str, err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        format!("{endpoint}: {kind}")
    } else {
        format!("{endpoint}: {kind} ({detail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_use_http() {
        for ok in [
            "https://acme.uk.securenvoy.directory/api",
            "http://127.0.0.1:8080/api",
            "http://[::1]:9/api",
            "http://localhost/api",
        ] {
            assert!(check_url_is_safe(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.securenvoy.directory/api",
            "http://10.0.0.1/api",
            "ftp://x/",
        ] {
            assert!(
                check_url_is_safe(&Url::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_client_for_an_https_tenant_builds_on_rings_provider() {
        install_tls_provider();
        let settings = ClientSettings::new(
            Url::parse("https://acme.uk.securenvoy.directory/api/user/restapi/").unwrap(),
            SecretString::from("k"),
        );
        assert!(Client::new(&settings).is_ok());
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed");
        assert!(
            provider
                .cipher_suites
                .iter()
                .any(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "ring's TLS 1.3 suites"
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        let settings = ClientSettings::new(
            Url::parse("http://127.0.0.1:1/api/user/restapi/").unwrap(),
            SecretString::from("k"),
        );
        let client = Client::new(&settings).unwrap();
        let url = client.url(&["users", "username", "ana/../maría lópez?x"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/api/user/restapi/users/username/ana%2F..%2Fmar%C3%ADa%20l%C3%B3pez%3Fx"
        );
    }
}
