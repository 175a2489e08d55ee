//! Probing a tenant the way a careful admin would before a big run:
//! reachable, the key accepted (and with which scheme, if not the one
//! configured), the list shapes and totals, page numbering, rate-limit
//! headers, the user types and countries in use. Read-only: it lists one
//! record of each kind. `sebulk check` runs it and prints the report.

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
    /// User types and countries seen on the first page of users: values
    /// the tenant uses are valid input whatever sebulk's own lists say.
    pub user_types_seen: Vec<String>,
    /// Countries seen on that page.
    pub countries_seen: Vec<String>,
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
        match page_base(&client).await {
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
        tenant_values(&client, &mut report).await;
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

/// The user types and countries on the first page of users: values the
/// tenant uses are valid input whatever sebulk's own lists say.
async fn tenant_values(client: &Client, report: &mut CheckReport) {
    match client
        .fetch_page::<crate::model::User>(&super::UserQuery::default().to_request(), 1)
        .await
    {
        Ok(page) => {
            let mut types: Vec<String> = page
                .items
                .iter()
                .filter_map(|u| u.fields.user_type.clone())
                .collect();
            let mut countries: Vec<String> = page
                .items
                .iter()
                .filter_map(|u| u.fields.country.clone())
                .collect();
            for list in [&mut types, &mut countries] {
                list.sort();
                list.dedup();
            }
            report.user_types_seen = types;
            report.countries_seen = countries;
        }
        Err(err) => report.problems.push(format!("GET /users: {err}")),
    }
}

/// The tenant's first page number: page 0 and page 1 of one record each
/// hold different users on a 0-based tenant; a 1-based one refuses page 0
/// or answers it as page 1. `None` when there are too few users to tell.
async fn page_base(client: &Client) -> Result<Option<u64>, ApiError> {
    let first_of = |page: u64| {
        let client = client.clone();
        async move {
            let reply = client
                .get_raw(
                    &["users"],
                    &[("page", page.to_string()), ("pageSize", "1".to_string())],
                )
                .await;
            match reply {
                Ok(reply) => Ok(wire::parse_list(&reply.body)
                    .ok()
                    .and_then(|page| page.items.into_iter().next())
                    .map(|record| super::paging::record_key(&record))),
                Err(err) if err.status().is_some_and(|s| (400..500).contains(&s)) => Ok(None),
                Err(err) => Err(err),
            }
        }
    };
    let zero = first_of(0).await?;
    let one = first_of(1).await?;
    Ok(match (zero, one) {
        (None, Some(_)) => Some(1),
        (Some(a), Some(b)) if a == b => Some(1),
        (Some(_), Some(_)) => Some(0),
        _ => None,
    })
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
