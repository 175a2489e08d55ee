//! `sebulk check`: probes a tenant the way a careful admin would before a
//! big run (the probing is `api::probe`), and prints what it found.

use std::io::Write;
use std::time::Duration;

use super::{CommandError, Completion, Connection};
use crate::api::probe::{CheckReport, PrivilegedGroup, probe};
use crate::config::Config;
use crate::decision::access::PrivilegeRules;
use crate::ui::Ui;

/// Which of the tenant's groups the guard takes as privileged, and by
/// which rule: the profile's `privileged_groups`, else admin words.
fn class_groups(report: &mut CheckReport, privilege: &PrivilegeRules) {
    report.privileged_rule = if privilege.groups.is_empty() {
        format!(
            "names holding {} (no privileged_groups in the profile)",
            crate::decision::access::PRIVILEGED_WORDS.join(", ")
        )
    } else {
        format!(
            "the profile's privileged_groups: {}",
            privilege.groups.join(", ")
        )
    };
    report.privileged_groups = report
        .group_names
        .iter()
        .filter_map(|name| {
            privilege.privileged_group(name).map(|why| PrivilegedGroup {
                name: name.clone(),
                why,
            })
        })
        .collect();
}

/// Probes the tenant and prints the report (on standard output: it is the
/// command's answer; with `-q`, only when the tenant is not usable).
pub async fn run(
    config: &Config,
    privilege: &PrivilegeRules,
    json: bool,
    ui: &Ui,
) -> Result<Completion, CommandError> {
    let connection = Connection::open(config).await?;
    let base_url = connection.client.base_url().clone();
    let settings = config.client_settings(base_url, config.target.api_key().clone());
    let mut report = probe(&settings).await;
    class_groups(&mut report, privilege);
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

fn print_report(out: &mut impl Write, report: &CheckReport) -> std::io::Result<()> {
    writeln!(out, "tenant       {}", report.base_url)?;
    writeln!(out, "auth scheme  {}", report.auth_scheme)?;
    writeln!(out, "reachable    {}", yes_no(report.reachable))?;
    writeln!(out, "key accepted {}", yes_no(report.key_accepted))?;
    for list in &report.lists {
        let total = list.total.map_or_else(
            || "no total in the answer".to_string(),
            |n| format!("{n} records"),
        );
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
    print_tenant(out, report)?;
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

/// The users counted, the values seen on them, the privileged groups.
fn print_tenant(out: &mut impl Write, report: &CheckReport) -> std::io::Result<()> {
    if !report.key_accepted {
        return Ok(());
    }
    let of_read = match report.users {
        Some(count) => {
            writeln!(out, "users        {count} (counted by a complete listing)")?;
            String::new()
        }
        None => {
            writeln!(
                out,
                "users        {} read; the listing {}",
                report.users_read, report.users_listing
            )?;
            format!(" (of the {} users read)", report.users_read)
        }
    };
    if !report.user_types_seen.is_empty() {
        writeln!(
            out,
            "user types   {}{of_read}",
            report.user_types_seen.join(", ")
        )?;
    }
    if !report.countries_seen.is_empty() {
        writeln!(
            out,
            "countries    {}{of_read}",
            report.countries_seen.join(", ")
        )?;
    }
    writeln!(out, "privileged   groups by {}", report.privileged_rule)?;
    if report.privileged_groups.is_empty() {
        writeln!(
            out,
            "             none of the tenant's {} groups",
            report.group_names.len()
        )?;
    }
    for group in &report.privileged_groups {
        writeln!(out, "             {}: {}", group.name, group.why)?;
    }
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
