//! `sebulk export`: users, groups, applications and memberships, complete
//! and consistent, written atomically.
//!
//! Users are spooled to a private temporary file while the listing runs
//! (so memory stays flat and the custom-attribute columns are known before
//! the header is written), then written in the server's order, one line
//! per user, in exactly the import format. Memberships come from the group
//! side or the user side, whichever needs fewer calls.

pub mod diff;
pub mod pages;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::PathBuf;
use std::time::Instant;

use futures::{StreamExt, stream};
use serde::Serialize;
use serde_json::Value;

use crate::api::{ApiError, Client, ListRequest, NamedQuery, SortOrder, UserQuery};
use crate::commands::CommandError;
use crate::model::user::{BOOL_FIELDS, TEXT_FIELDS};
use crate::model::{Application, Group, User};
use crate::output::atomic::{AtomicOutput, spool};
use crate::output::sanitize::neutralize;
use crate::pipeline::progress::Progress;
use crate::plan::lookup::MembershipStrategy;
use pages::{ListingStats, read_all};

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Users,
    Groups,
    Applications,
    Memberships,
}

impl Entity {
    pub fn name(self) -> &'static str {
        match self {
            Entity::Users => "users",
            Entity::Groups => "groups",
            Entity::Applications => "applications",
            Entity::Memberships => "memberships",
        }
    }
}

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Everything an export is asked to do.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub entity: Entity,
    pub output: PathBuf,
    pub format: Format,
    /// `field=value` filters the API offers for the entity.
    pub filters: Vec<(String, String)>,
    pub sort: Option<String>,
    pub order: Option<SortOrder>,
    pub page_size: Option<u32>,
    pub include_groups: bool,
    pub include_applications: bool,
    pub sanitize: bool,
    pub excel: bool,
    pub force: bool,
    pub concurrency: usize,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub entity: Entity,
    pub output: Option<String>,
    pub records: u64,
    pub pages: u64,
    pub duplicates_dropped: u64,
    pub api_calls: u64,
    pub elapsed_seconds: f64,
    pub requests_per_second: f64,
    pub membership_reads: Option<MembershipStrategy>,
    pub warnings: Vec<String>,
}

/// The user columns, in import order (see docs/csv-format.md).
pub fn user_columns() -> Vec<&'static str> {
    let mut columns: Vec<&'static str> = TEXT_FIELDS.to_vec();
    columns.extend(BOOL_FIELDS);
    columns.push("aliases");
    columns
}

fn filter_value<'a>(options: &'a ExportOptions, field: &str) -> Option<&'a String> {
    options
        .filters
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

/// Checks `--filter` names against what the entity's listing offers.
pub fn check_filters(entity: Entity, filters: &[(String, String)]) -> Result<(), String> {
    let allowed: &[&str] = match entity {
        Entity::Users => &["username", "email", "firstName", "lastName"],
        Entity::Groups => &["name", "description"],
        Entity::Applications => &["name", "label"],
        Entity::Memberships => &[],
    };
    for (name, _) in filters {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            return Err(if allowed.is_empty() {
                "memberships exports take no --filter".to_string()
            } else {
                format!(
                    "--filter {name}=...: {:?} exports filter on {}",
                    entity,
                    allowed.join(", ")
                )
            });
        }
    }
    Ok(())
}

/// A CSV or JSONL writer over the atomic output.
struct RecordWriter {
    csv: Option<csv::Writer<AtomicOutput>>,
    jsonl: Option<AtomicOutput>,
    sanitize: bool,
}

impl RecordWriter {
    fn new(output: &ExportOptions) -> Result<Self, CommandError> {
        let mut file = AtomicOutput::create(&output.output, output.force, &[])?;
        let io = |e| CommandError::io(format!("cannot write {}", output.output.display()), e);
        match output.format {
            Format::Csv => {
                if output.excel {
                    file.write_all("\u{feff}".as_bytes()).map_err(io)?;
                }
                Ok(RecordWriter {
                    csv: Some(csv::WriterBuilder::new().from_writer(file)),
                    jsonl: None,
                    sanitize: output.sanitize,
                })
            }
            Format::Jsonl => Ok(RecordWriter {
                csv: None,
                jsonl: Some(file),
                sanitize: false,
            }),
        }
    }

    fn header(&mut self, names: &[String]) -> Result<(), CommandError> {
        if let Some(csv) = &mut self.csv {
            csv.write_record(names).map_err(csv_error)?;
        }
        Ok(())
    }

    /// Writes one record: `cells` for CSV, `json` for JSONL.
    /// `json` is only built for JSONL output.
    fn record(
        &mut self,
        cells: &[String],
        json: impl FnOnce() -> Value,
    ) -> Result<(), CommandError> {
        if let Some(csv) = &mut self.csv {
            if self.sanitize {
                csv.write_record(cells.iter().map(|c| neutralize(c).into_owned()))
                    .map_err(csv_error)?;
            } else {
                csv.write_record(cells).map_err(csv_error)?;
            }
        }
        if let Some(out) = &mut self.jsonl {
            serde_json::to_writer(&mut *out, &json())
                .map_err(|e| CommandError::io("cannot write JSON", e.into()))?;
            out.write_all(b"\n")
                .map_err(|e| CommandError::io("cannot write JSON", e))?;
        }
        Ok(())
    }

    fn commit(self) -> Result<Option<PathBuf>, CommandError> {
        let output = match (self.csv, self.jsonl) {
            (Some(csv), _) => csv
                .into_inner()
                .map_err(|e| CommandError::io("cannot flush the export", e.into_error()))?,
            (None, Some(out)) => out,
            (None, None) => return Ok(None),
        };
        Ok(output.commit()?)
    }
}

fn csv_error(err: csv::Error) -> CommandError {
    CommandError::io("cannot write the export", err.into())
}

/// Runs an export.
pub async fn run(client: &Client, options: &ExportOptions) -> Result<ExportSummary, CommandError> {
    let started = Instant::now();
    let mut summary = ExportSummary {
        entity: options.entity,
        output: None,
        records: 0,
        pages: 0,
        duplicates_dropped: 0,
        api_calls: 0,
        elapsed_seconds: 0.0,
        requests_per_second: 0.0,
        membership_reads: None,
        warnings: Vec::new(),
    };
    let writer = RecordWriter::new(options)?;
    let mut progress = Progress::new(0, "records", options.progress);
    let (writer, stats) = match options.entity {
        Entity::Users => export_users(client, options, writer, &mut summary, &progress).await?,
        Entity::Groups | Entity::Applications => {
            export_targets(client, options, writer, &progress).await?
        }
        Entity::Memberships => export_memberships(client, options, writer, &mut summary).await?,
    };
    progress.finish();
    summary.records = stats.records;
    summary.pages = stats.pages;
    summary.duplicates_dropped = stats.duplicates;
    let what = match options.entity {
        Entity::Users | Entity::Memberships => "user",
        Entity::Groups => "group",
        Entity::Applications => "application",
    };
    summary.warnings.extend(stats.count_change(what));
    summary.output = writer.commit()?.map(|p| p.display().to_string());
    let calls = client.stats().requests;
    summary.api_calls = calls;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.requests_per_second = calls as f64 / summary.elapsed_seconds.max(0.001);
    Ok(summary)
}

fn user_request(options: &ExportOptions) -> ListRequest {
    UserQuery {
        sort: options.sort.clone(),
        sort_order: options.order,
        username: filter_value(options, "username").cloned(),
        email: filter_value(options, "email").cloned(),
        first_name: filter_value(options, "firstName").cloned(),
        last_name: filter_value(options, "lastName").cloned(),
        page_size: options.page_size,
    }
    .to_request()
}

/// The import-format cells of a user.
fn user_cells(user: &User, custom_names: &[String]) -> Vec<String> {
    let fields = &user.fields;
    let mut cells: Vec<String> = TEXT_FIELDS
        .iter()
        .map(|name| fields.text(name).unwrap_or_default().to_string())
        .collect();
    for value in [fields.is_locked, fields.is_enabled] {
        cells.push(value.map(|b| b.to_string()).unwrap_or_default());
    }
    cells.push(
        fields
            .aliases
            .as_ref()
            .map(|a| a.join(";"))
            .unwrap_or_default(),
    );
    let attributes = fields.custom_attributes.as_deref().unwrap_or_default();
    for name in custom_names {
        let value = attributes
            .iter()
            .find(|a| a.name == *name)
            .map(|a| a.value.clone());
        cells.push(value.unwrap_or_default());
    }
    cells
}

async fn export_users(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    summary: &mut ExportSummary,
    progress: &Progress,
) -> Result<(RecordWriter, ListingStats), CommandError> {
    let mut spooled = spool().map_err(|e| CommandError::io("cannot create a spool file", e))?;
    let mut custom_names: BTreeSet<String> = BTreeSet::new();
    let stats = {
        let mut out = std::io::BufWriter::new(&mut spooled);
        let stats = read_all(
            client,
            &user_request(options),
            options.concurrency,
            progress,
            |user: User| {
                for attribute in user.fields.custom_attributes.iter().flatten() {
                    if !custom_names.contains(&attribute.name) {
                        custom_names.insert(attribute.name.clone());
                    }
                }
                serde_json::to_writer(&mut out, &user)
                    .map_err(|e| CommandError::io("cannot spool", e.into()))?;
                out.write_all(b"\n")
                    .map_err(|e| CommandError::io("cannot spool", e))
            },
        )
        .await?;
        out.flush()
            .map_err(|e| CommandError::io("cannot spool", e))?;
        stats
    };
    let memberships = if options.include_groups || options.include_applications {
        let (map, strategy) = membership_names(client, options, stats.records).await?;
        summary.membership_reads = Some(strategy);
        Some(map)
    } else {
        None
    };
    let custom_names: Vec<String> = custom_names.into_iter().collect();
    let mut header: Vec<String> = user_columns().iter().map(|c| c.to_string()).collect();
    header.extend(custom_names.iter().map(|n| format!("custom.{n}")));
    if options.include_groups {
        header.push("groups".into());
    }
    if options.include_applications {
        header.push("applications".into());
    }
    header.push("user_id".into());
    writer.header(&header)?;
    spooled
        .rewind()
        .map_err(|e| CommandError::io("cannot read the spool", e))?;
    for line in BufReader::new(spooled).lines() {
        let line = line.map_err(|e| CommandError::io("cannot read the spool", e))?;
        let user: User = serde_json::from_str(&line)
            .map_err(|e| CommandError::io("cannot read the spool", e.into()))?;
        let mut cells = user_cells(&user, &custom_names);
        let names = memberships.as_ref().and_then(|m| m.get(&user.id));
        let (groups, apps) = names
            .map(|n| (n.groups.as_slice(), n.applications.as_slice()))
            .unwrap_or_default();
        if options.include_groups {
            cells.push(groups.join(";"));
        }
        if options.include_applications {
            cells.push(apps.join(";"));
        }
        cells.push(user.id.clone());
        writer.record(&cells, || {
            let mut json = serde_json::to_value(&user).unwrap_or(Value::Null);
            if options.include_groups {
                json["groups"] = Value::from(groups);
            }
            if options.include_applications {
                json["applications"] = Value::from(apps);
            }
            json
        })?;
    }
    Ok((writer, stats))
}

/// A user's group and application names, sorted.
#[derive(Debug, Clone, Default)]
struct Names {
    groups: Vec<String>,
    applications: Vec<String>,
}

/// Every user's memberships by name, from whichever side needs fewer calls.
async fn membership_names(
    client: &Client,
    options: &ExportOptions,
    users: u64,
) -> Result<(HashMap<String, Names>, MembershipStrategy), CommandError> {
    let groups: Vec<Group> = if options.include_groups {
        client.list_all(NamedQuery::default().to_groups()).await?
    } else {
        Vec::new()
    };
    let apps: Vec<Application> = if options.include_applications {
        client
            .list_all(NamedQuery::default().to_applications())
            .await?
    } else {
        Vec::new()
    };
    let mut names: HashMap<String, Names> = HashMap::new();
    let group_side = (groups.len() + apps.len()) as u64 <= users;
    if group_side {
        let reads = groups
            .iter()
            .map(|g| (true, g.id.clone(), g.name.clone()))
            .chain(apps.iter().map(|a| (false, a.id.clone(), a.name.clone())));
        let mut members = stream::iter(reads)
            .map(|(is_group, id, name)| {
                let client = client.clone();
                async move {
                    let kind = if is_group { "groups" } else { "applications" };
                    let users: Vec<User> = client
                        .list_all(ListRequest::new(&[kind, &id, "users"]))
                        .await?;
                    Ok::<_, ApiError>((is_group, name, users))
                }
            })
            .buffer_unordered(options.concurrency.max(1));
        while let Some(result) = members.next().await {
            let (is_group, name, users) = result?;
            for user in users {
                let entry = names.entry(user.id).or_default();
                if is_group {
                    entry.groups.push(name.clone())
                } else {
                    entry.applications.push(name.clone())
                }
            }
        }
    } else {
        let ids: Vec<String> = client
            .list_all::<User>(user_request(options))
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let mut reads = stream::iter(ids)
            .map(|id| {
                let client = client.clone();
                let (want_groups, want_apps) =
                    (options.include_groups, options.include_applications);
                async move {
                    let groups = if want_groups {
                        client
                            .user_groups(&id)
                            .await?
                            .into_iter()
                            .map(|g| g.name)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let apps = if want_apps {
                        client
                            .user_applications(&id)
                            .await?
                            .into_iter()
                            .map(|a| a.name)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    Ok::<_, ApiError>((
                        id,
                        Names {
                            groups,
                            applications: apps,
                        },
                    ))
                }
            })
            .buffer_unordered(options.concurrency.max(1));
        while let Some(result) = reads.next().await {
            let (id, entry) = result?;
            names.insert(id, entry);
        }
    }
    for entry in names.values_mut() {
        entry.groups.sort();
        entry.applications.sort();
    }
    let strategy = if group_side {
        MembershipStrategy::GroupSide
    } else {
        MembershipStrategy::UserSide
    };
    Ok((names, strategy))
}

/// The number of records a list endpoint holds: its total when it gives
/// one, else by reading it whole.
async fn count_members(client: &Client, path: &[&str]) -> Result<u64, ApiError> {
    let mut probe = ListRequest::new(path);
    probe.page_size = Some(1);
    let first = client.fetch_page::<User>(&probe, 1).await?;
    match first.total {
        Some(total) => Ok(total),
        None => Ok(client.list_all::<User>(ListRequest::new(path)).await?.len() as u64),
    }
}

async fn export_targets(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    progress: &Progress,
) -> Result<(RecordWriter, ListingStats), CommandError> {
    let groups = options.entity == Entity::Groups;
    let query = NamedQuery {
        sort: options.sort.clone(),
        sort_order: options.order,
        name: filter_value(options, "name").cloned(),
        detail: filter_value(options, if groups { "description" } else { "label" }).cloned(),
        page_size: options.page_size,
    };
    let kind = if groups { "groups" } else { "applications" };
    let header: Vec<String> = if groups {
        [
            "id",
            "name",
            "description",
            "enforceSecondFactor",
            "members",
        ]
        .map(String::from)
        .to_vec()
    } else {
        ["id", "name", "label", "users"].map(String::from).to_vec()
    };
    writer.header(&header)?;
    let mut records: Vec<Value> = Vec::new();
    let stats = if groups {
        read_all(
            client,
            &query.to_groups(),
            options.concurrency,
            progress,
            |g: Group| {
                records.push(serde_json::to_value(g).unwrap_or(Value::Null));
                Ok::<_, CommandError>(())
            },
        )
        .await?
    } else {
        read_all(
            client,
            &query.to_applications(),
            options.concurrency,
            progress,
            |a: Application| {
                records.push(serde_json::to_value(a).unwrap_or(Value::Null));
                Ok::<_, CommandError>(())
            },
        )
        .await?
    };
    let counts: Vec<u64> = stream::iter(
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_string()),
    )
    .map(|id| {
        let client = client.clone();
        async move { count_members(&client, &[kind, &id, "users"]).await }
    })
    .buffered(options.concurrency.max(1))
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<_, _>>()?;
    for (mut record, count) in records.into_iter().zip(counts) {
        let text = |key: &str| match &record[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let mut cells: Vec<String> = header[..header.len() - 1].iter().map(|k| text(k)).collect();
        cells.push(count.to_string());
        record[header[header.len() - 1].as_str()] = Value::from(count);
        writer.record(&cells, || record)?;
    }
    Ok((writer, stats))
}

async fn export_memberships(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    summary: &mut ExportSummary,
) -> Result<(RecordWriter, ListingStats), CommandError> {
    let header: Vec<String> = ["user_id", "username", "type", "target_id", "target_name"]
        .map(String::from)
        .to_vec();
    writer.header(&header)?;
    let groups: Vec<Group> = client.list_all(NamedQuery::default().to_groups()).await?;
    let apps: Vec<Application> = client
        .list_all(NamedQuery::default().to_applications())
        .await?;
    let mut probe = UserQuery::default().to_request();
    probe.page_size = Some(1);
    let users = client.fetch_page::<User>(&probe, 1).await?.total;
    let group_side =
        users.is_none_or(|n| (groups.len() + apps.len()) as u64 <= n.saturating_mul(2));
    summary.membership_reads = Some(if group_side {
        MembershipStrategy::GroupSide
    } else {
        MembershipStrategy::UserSide
    });
    let mut stats = ListingStats::default();
    let mut write = |writer: &mut RecordWriter, kind: &str, id: &str, name: &str, user: &User| {
        let username = user.fields.username.clone().unwrap_or_default();
        let cells = [
            user.id.clone(),
            username,
            kind.to_string(),
            id.to_string(),
            name.to_string(),
        ];
        stats.records += 1;
        writer.record(&cells, || {
            serde_json::json!({"user_id": cells[0], "username": cells[1], "type": kind, "target_id": id, "target_name": name})
        })
    };
    if group_side {
        // Targets in (type, name, id) order, members by (username, id): streamed
        // one target at a time, the same bytes every run.
        let mut targets: Vec<(&str, String, String)> = groups
            .iter()
            .map(|g| ("group", g.name.clone(), g.id.clone()))
            .chain(
                apps.iter()
                    .map(|a| ("application", a.name.clone(), a.id.clone())),
            )
            .collect();
        targets.sort();
        let mut reads = stream::iter(targets)
            .map(|(kind, name, id)| {
                let client = client.clone();
                async move {
                    let path = if kind == "group" {
                        "groups"
                    } else {
                        "applications"
                    };
                    let members: Vec<User> = client
                        .list_all(ListRequest::new(&[path, &id, "users"]))
                        .await?;
                    Ok::<_, ApiError>((kind, name, id, members))
                }
            })
            .buffered(options.concurrency.max(1));
        while let Some(result) = reads.next().await {
            let (kind, name, id, mut members) = result?;
            stats.pages += 1;
            members.sort_by(|a, b| (&a.fields.username, &a.id).cmp(&(&b.fields.username, &b.id)));
            for member in &members {
                write(&mut writer, kind, &id, &name, member)?;
            }
        }
    } else {
        // Users in the listing's order, each user's groups then applications by name.
        let users: Vec<User> = client.list_all(UserQuery::default().to_request()).await?;
        stats.pages += 1;
        let mut reads = stream::iter(users)
            .map(|user| {
                let client = client.clone();
                async move {
                    let mut groups = client.user_groups(&user.id).await?;
                    let mut apps = client.user_applications(&user.id).await?;
                    groups.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
                    apps.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
                    Ok::<_, ApiError>((user, groups, apps))
                }
            })
            .buffered(options.concurrency.max(1));
        while let Some(result) = reads.next().await {
            let (user, groups, apps) = result?;
            for g in &groups {
                write(&mut writer, "group", &g.id, &g.name, &user)?;
            }
            for a in &apps {
                write(&mut writer, "application", &a.id, &a.name, &user)?;
            }
        }
    }
    Ok((writer, stats))
}
