//! Probing a tenant the way a careful admin would before a big run:
//! reachable, the key accepted (and with which scheme, if not the one
//! configured), the list shapes and totals, page numbering, rate-limit
//! headers; then it reads the tenant's users whole (within a budget) to
//! count them and see every user type and country in use, and its groups'
//! names. Read-only. `sebulk check` runs it and prints the report.

use serde::Serialize;

use super::client::ClientBuildError;
use super::{ApiError, Client, ClientSettings, wire};
use crate::limiter::RetryPolicy;
use crate::model::AuthScheme;

/// One list endpoint's answer.
#[derive(Debug, Serialize)]
pub struct ListProbe {
    /// `GET /users` and the like.
    pub endpoint: String,
    /// The list shape the answer had (see `docs/api-assumptions.md`).
    pub shape: String,
    /// The total the answer gave, if any.
    pub total: Option<u64>,
    /// How long the answer took.
    pub latency_ms: u64,
}

/// A group taken as privileged, and why.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct PrivilegedGroup {
    /// The group's name.
    pub name: String,
    /// Why it is taken as privileged.
    pub why: String,
}

/// What `check` found.
#[derive(Debug, Serialize, Default)]
pub struct CheckReport {
    /// The API root probed.
    pub base_url: String,
    /// How the key was sent.
    pub auth_scheme: String,
    /// Whether anything answered.
    pub reachable: bool,
    /// Whether the key was accepted with the configured scheme.
    pub key_accepted: bool,
    /// Another scheme the key works with, when the configured one was refused.
    pub working_scheme: Option<String>,
    /// Each list endpoint's answer.
    pub lists: Vec<ListProbe>,
    /// Rate-limit headers seen (name, value).
    pub rate_limit_headers: Vec<(String, String)>,
    /// The page number of the tenant's first page, when it could be told.
    pub page_base: Option<u64>,
    /// The tenant's users, counted by a complete listing; `None` when
    /// the listing stopped (see `users_listing`).
    pub users: Option<u64>,
    /// Users read, whether or not the listing was complete.
    pub users_read: u64,
    /// `complete`, or why the listing stopped and where.
    pub users_listing: String,
    /// User types seen on every user read: values the tenant uses are
    /// valid input whatever sebulk's own lists say.
    pub user_types_seen: Vec<String>,
    /// Countries seen on every user read.
    pub countries_seen: Vec<String>,
    /// The tenant's group names (for `check` to class), when listed.
    #[serde(skip)]
    pub group_names: Vec<String>,
    /// The groups taken as privileged, each with why (filled by `check`).
    pub privileged_groups: Vec<PrivilegedGroup>,
    /// The rule groups were classed by (filled by `check`).
    pub privileged_rule: String,
    /// What is wrong, each with what to do.
    pub problems: Vec<String>,
    /// Reachable, the key accepted, and no problem.
    pub usable: bool,
}

/// A client for `scheme` that gives up quickly: a probe should answer fast.
fn probe_client(settings: &ClientSettings, scheme: AuthScheme) -> Result<Client, ClientBuildError> {
    let mut settings = settings.clone();
    settings.auth_scheme = scheme;
    settings.retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::default()
    };
    Client::new(&settings)
}

async fn probe_list(
    client: &Client,
    endpoint: &str,
) -> Result<(ListProbe, Vec<(String, String)>), ApiError> {
    let reply = client
        .get_raw(
            &[endpoint],
            &[("page", "1".to_string()), ("pageSize", "1".to_string())],
        )
        .await?;
    let latency = reply.elapsed;
    let page = wire::parse_list(&reply.body).map_err(|message| ApiError::Decode {
        endpoint: format!("/{endpoint}"),
        message,
    })?;
    Ok((
        ListProbe {
            endpoint: format!("GET /{endpoint}"),
            shape: page.shape.to_string(),
            total: page.total,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        },
        wire::rate_limit_headers(&reply.headers),
    ))
}

/// Probes the tenant; never fails, every finding goes into the report.
pub async fn probe(settings: &ClientSettings) -> CheckReport {
    let mut report = CheckReport {
        base_url: settings.base_url.to_string(),
        auth_scheme: settings.auth_scheme.to_string(),
        ..Default::default()
    };
    let client = match probe_client(settings, settings.auth_scheme) {
        Ok(client) => client,
        Err(err) => {
            report.problems.push(err.to_string());
            return report;
        }
    };
    probe_lists(&client, settings, &mut report).await;
    if report.key_accepted {
        match client.detect_page_base().await {
            Ok(Some(base)) => {
                report.page_base = Some(base);
                if base != settings.page_base {
                    report.problems.push(format!(
                        "the tenant numbers list pages from {base}: pass --page-base {base} (or set page_base in the profile), else listings lose records"
                    ));
                }
            }
            Ok(None) => {}
            Err(err) => report.problems.push(format!("page numbering: {err}")),
        }
        tenant_users(&client, &mut report).await;
        match client
            .list_all::<crate::model::Group>(super::ListRequest::new(&["groups"]))
            .await
        {
            Ok(groups) => report.group_names = groups.into_iter().map(|g| g.name).collect(),
            Err(err) => report.problems.push(format!("GET /groups: {err}")),
        }
    }
    report.usable = report.key_accepted && report.problems.is_empty();
    report
}

/// Lists one record of users, groups and applications: reachability,
/// the key, shapes, totals and rate-limit headers go into `report`.
async fn probe_lists(client: &Client, settings: &ClientSettings, report: &mut CheckReport) {
    for endpoint in ["users", "groups", "applications"] {
        match probe_list(client, endpoint).await {
            Ok((list, headers)) => {
                report.reachable = true;
                report.key_accepted = true;
                for header in headers {
                    if !report
                        .rate_limit_headers
                        .iter()
                        .any(|(name, _)| *name == header.0)
                    {
                        report.rate_limit_headers.push(header);
                    }
                }
                report.lists.push(list);
            }
            Err(ApiError::Unauthorized { status, .. }) => {
                report.reachable = true;
                report.problems.push(format!(
                    "the key was refused (HTTP {status}) with --auth-scheme {}",
                    settings.auth_scheme
                ));
                report.working_scheme = other_working_scheme(settings).await.map(|s| s.to_string());
                if let Some(scheme) = &report.working_scheme {
                    report.problems.push(format!(
                        "the key IS accepted with --auth-scheme {scheme}: use that"
                    ));
                }
                break;
            }
            Err(ApiError::Transport { message, .. }) => {
                report.problems.push(format!("unreachable: {message}"));
                break;
            }
            Err(err) => {
                report.reachable = true;
                let hint = if err.is_not_found() {
                    " (is the base URL the API root, ending in /api/user/restapi?)"
                } else {
                    ""
                };
                report
                    .problems
                    .push(format!("GET /{endpoint}: {err}{hint}"));
            }
        }
    }
}

/// How long `check` reads users before it stops and says so.
const USERS_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);
/// How many users `check` reads at most.
const USERS_CAP: u64 = 1_000_000;

/// Why a listing of users stopped early.
enum Stop {
    Api(ApiError),
    Cap,
}

impl From<ApiError> for Stop {
    fn from(err: ApiError) -> Self {
        Stop::Api(err)
    }
}

/// Reads the tenant's users whole, as an export does (within
/// [`USERS_BUDGET`] and [`USERS_CAP`]): their count, and every user type
/// and country in use. A listing that stops says where and why.
async fn tenant_users(client: &Client, report: &mut CheckReport) {
    let mut types = std::collections::BTreeSet::new();
    let mut countries = std::collections::BTreeSet::new();
    let mut read = 0u64;
    let request = super::UserQuery::default().to_request();
    let listing = client.read_listing::<crate::model::User, Stop>(
        &request,
        |_| {},
        |user| {
            read += 1;
            types.extend(user.fields.user_type);
            countries.extend(user.fields.country);
            if read >= USERS_CAP {
                Err(Stop::Cap)
            } else {
                Ok(())
            }
        },
    );
    let outcome = tokio::time::timeout(USERS_BUDGET, listing).await;
    let stopped = |why: String| format!("stopped after {read} users: {why}");
    report.users_listing = match outcome {
        Ok(Ok(stats)) => match stats.incomplete("GET /users") {
            Some(why) => stopped(why),
            None => {
                report.users = Some(read);
                "complete".to_string()
            }
        },
        Ok(Err(Stop::Cap)) => stopped(format!("check reads at most {USERS_CAP}")),
        Ok(Err(Stop::Api(err))) => {
            report.problems.push(format!("GET /users: {err}"));
            stopped(err.to_string())
        }
        Err(_) => stopped(format!(
            "reading them all would take longer than check's {} s (`sebulk export users` reads them all)",
            USERS_BUDGET.as_secs()
        )),
    };
    report.users_read = read;
    report.user_types_seen = types.into_iter().collect();
    report.countries_seen = countries.into_iter().collect();
}

/// Another scheme the tenant accepts the key with, if any.
async fn other_working_scheme(settings: &ClientSettings) -> Option<AuthScheme> {
    for scheme in AuthScheme::ALL
        .into_iter()
        .filter(|s| *s != settings.auth_scheme)
    {
        let Ok(client) = probe_client(settings, scheme) else {
            continue;
        };
        if probe_list(&client, "users").await.is_ok() {
            return Some(scheme);
        }
    }
    None
}
