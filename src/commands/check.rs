//! `sebulk check`: probes a tenant the way a careful admin would before a
//! big run. Read-only: it only lists one record of each kind.

use std::io::Write;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use super::{CommandError, Completion, Connection};
use crate::api::{ApiError, Client, wire};
use crate::config::Config;
use crate::limiter::RetryPolicy;
use crate::model::AuthScheme;
use crate::ui::Ui;

/// One list endpoint's answer.
#[derive(Debug, Serialize)]
pub struct ListProbe {
    pub endpoint: String,
    pub shape: String,
    pub total: Option<u64>,
    pub latency_ms: u64,
}

/// What `check` found.
#[derive(Debug, Serialize, Default)]
pub struct CheckReport {
    pub base_url: String,
    pub auth_scheme: String,
    pub reachable: bool,
    pub key_accepted: bool,
    /// Another scheme the key works with, when the configured one was refused.
    pub working_scheme: Option<String>,
    pub lists: Vec<ListProbe>,
    pub rate_limit_headers: Vec<(String, String)>,
    /// The page number of the tenant's first page, when it could be told.
    pub page_base: Option<u64>,
    /// User types and countries seen on the first page of users: values
    /// the tenant uses are valid input whatever sebulk's own lists say.
    pub user_types_seen: Vec<String>,
    pub countries_seen: Vec<String>,
    pub problems: Vec<String>,
    pub usable: bool,
}

/// Runs the probe and prints the report.
/// Probes the tenant and prints the report (on standard output: it is the
/// command's answer; with `-q`, only when the tenant is not usable).
pub async fn run(config: &Config, json: bool, ui: &Ui) -> Result<Completion, CommandError> {
    let connection = Connection::open(config).await?;
    let base_url = connection.client.base_url().clone();
    let report = probe(config, base_url, config.target.api_key().clone()).await;
    connection.close().await?;
    if !ui.is_quiet() || !report.usable {
        let written = if json {
            ui.json(&report)
        } else {
            let mut out = std::io::stdout().lock();
            print_report(&mut out, &report).and_then(|()| out.flush())
        };
        written.map_err(|e| CommandError::io("cannot write the report", e))?;
    }
    if report.usable {
        Ok(Completion::Clean)
    } else {
        Err(CommandError::Unusable(report.problems.join("; ")))
    }
}

/// A client for `scheme` that gives up quickly: a probe should answer fast.
fn probe_client(
    config: &Config,
    base_url: &Url,
    api_key: &SecretString,
    scheme: AuthScheme,
) -> Result<Client, CommandError> {
    let mut settings = config.client_settings(base_url.clone(), api_key.clone());
    settings.auth_scheme = scheme;
    settings.retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::default()
    };
    Ok(Client::new(&settings)?)
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
pub async fn probe(config: &Config, base_url: Url, api_key: SecretString) -> CheckReport {
    let mut report = CheckReport {
        base_url: base_url.to_string(),
        auth_scheme: config.auth_scheme.to_string(),
        ..Default::default()
    };
    let client = match probe_client(config, &base_url, &api_key, config.auth_scheme) {
        Ok(client) => client,
        Err(err) => {
            report.problems.push(err.to_string());
            return report;
        }
    };
    for endpoint in ["users", "groups", "applications"] {
        match probe_list(&client, endpoint).await {
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
                    config.auth_scheme
                ));
                report.working_scheme = other_working_scheme(config, &base_url, &api_key)
                    .await
                    .map(|s| s.to_string());
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
    if report.key_accepted {
        match page_base(&client).await {
            Ok(Some(base)) => {
                report.page_base = Some(base);
                if base != config.pacing.page_base {
                    report.problems.push(format!(
                        "the tenant numbers list pages from {base}: pass --page-base {base} (or set page_base in the profile), else listings lose records"
                    ));
                }
            }
            Ok(None) => {}
            Err(err) => report.problems.push(format!("page numbering: {err}")),
        }
        match client
            .fetch_page::<crate::model::User>(&crate::api::UserQuery::default().to_request(), 1)
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
    report.usable = report.key_accepted && report.problems.is_empty();
    report
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
                    .map(|record| crate::api::paging::record_key(&record))),
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

async fn other_working_scheme(
    config: &Config,
    base_url: &Url,
    api_key: &SecretString,
) -> Option<AuthScheme> {
    for scheme in AuthScheme::ALL
        .into_iter()
        .filter(|s| *s != config.auth_scheme)
    {
        let Ok(client) = probe_client(config, base_url, api_key, scheme) else {
            continue;
        };
        if probe_list(&client, "users").await.is_ok() {
            return Some(scheme);
        }
    }
    None
}

fn print_report(out: &mut impl Write, report: &CheckReport) -> std::io::Result<()> {
    writeln!(out, "tenant       {}", report.base_url)?;
    writeln!(out, "auth scheme  {}", report.auth_scheme)?;
    writeln!(out, "reachable    {}", yes_no(report.reachable))?;
    writeln!(out, "key accepted {}", yes_no(report.key_accepted))?;
    for list in &report.lists {
        let total = list
            .total
            .map_or_else(|| "count not given".to_string(), |n| format!("{n} records"));
        writeln!(
            out,
            "  {:<22} {} ms  {}; {}",
            list.endpoint, list.latency_ms, list.shape, total
        )?;
    }
    if !report.lists.is_empty() {
        let latencies: Vec<u64> = report.lists.iter().map(|l| l.latency_ms).collect();
        let min = latencies.iter().min().copied().unwrap_or_default();
        let max = latencies.iter().max().copied().unwrap_or_default();
        let avg = Duration::from_millis(latencies.iter().sum::<u64>() / latencies.len() as u64);
        writeln!(
            out,
            "latency      min {min} ms, avg {} ms, max {max} ms",
            avg.as_millis()
        )?;
    }
    match report.page_base {
        Some(base) => writeln!(out, "pages        numbered from {base}")?,
        None => writeln!(out, "pages        numbering not told (too few users)")?,
    }
    if !report.user_types_seen.is_empty() {
        writeln!(out, "user types   {}", report.user_types_seen.join(", "))?;
    }
    if !report.countries_seen.is_empty() {
        writeln!(out, "countries    {}", report.countries_seen.join(", "))?;
    }
    if report.rate_limit_headers.is_empty() {
        writeln!(out, "rate limits  no rate-limit headers seen")?;
    } else {
        for (name, value) in &report.rate_limit_headers {
            writeln!(out, "rate limits  {name}: {value}")?;
        }
    }
    for problem in &report.problems {
        writeln!(out, "problem      {problem}")?;
    }
    writeln!(
        out,
        "verdict      {}",
        if report.usable {
            "usable"
        } else {
            "NOT usable"
        }
    )
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
