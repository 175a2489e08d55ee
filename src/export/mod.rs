//! `sebulk export`: users, groups, applications, memberships and factors, complete
//! and consistent, written atomically.
//!
//! Every listing goes through the crate's one pager (`api::paging`), so an
//! export either holds every record the server's total promised or fails
//! (`--allow-incomplete` writes it anyway, marked in the summary). Users
//! are spooled to a private temporary file while the listing runs (memory
//! stays flat, and the custom-attribute columns are known before the
//! header is written), then written in the server's order in exactly the
//! import format. Memberships come from whichever side `api::members`
//! says is cheaper.

mod factors;
pub mod filters;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::PathBuf;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde_json::Value;

use crate::api::{
    ApiError, Client, ListRequest, ListingStats, MembershipIndex, MembershipSide, NamedQuery,
    SortOrder, UserQuery, cheaper_side,
};
use crate::events::{Event, Events};
use crate::model::{Field, FieldKind, Target, TargetKind, User};
use crate::output::OutputError;
use crate::output::atomic::spool;
pub use crate::output::records::{Format, RecordWriter};

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A listing ended short of the server's own total.
    #[error("{0}; nothing was written (--allow-incomplete writes what arrived)")]
    Incomplete(String),
}

impl ExportError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ExportError::Io {
            context: context.into(),
            source,
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Users,
    Groups,
    Applications,
    Memberships,
    Factors,
}

impl Entity {
    pub fn name(self) -> &'static str {
        match self {
            Entity::Users => "users",
            Entity::Groups => "groups",
            Entity::Applications => "applications",
            Entity::Memberships => "memberships",
            Entity::Factors => "factors",
        }
    }
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
    /// Write what arrived even when a listing ended short of its total.
    pub allow_incomplete: bool,
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
    pub membership_reads: Option<MembershipSide>,
    /// The listing ended short of the server's total and was written anyway.
    pub incomplete: bool,
    /// `export factors`: users with no second factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_second_factor: Option<u64>,
    pub warnings: Vec<String>,
}

/// The fields that are columns of their own, in import order (see
/// docs/csv-format.md); custom attributes get a column each.
fn column_fields() -> impl Iterator<Item = Field> {
    Field::ALL
        .iter()
        .copied()
        .filter(|f| f.kind() != FieldKind::Attributes)
}

/// The user columns, in import order.
pub fn user_columns() -> Vec<&'static str> {
    column_fields().map(Field::wire).collect()
}

fn filter_value<'a>(options: &'a ExportOptions, field: &str) -> Option<&'a String> {
    options
        .filters
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

/// Checks `--filter` names against what the entity can be filtered on.
pub fn check_filters(entity: Entity, filters: &[(String, String)]) -> Result<(), String> {
    filters::check(entity, filters)
}

/// Runs an export.
pub async fn run(
    client: &Client,
    options: &ExportOptions,
    events: &dyn Events,
) -> Result<ExportSummary, ExportError> {
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
        incomplete: false,
        without_second_factor: None,
        warnings: Vec::new(),
    };
    let writer = RecordWriter::create(
        &options.output,
        options.format,
        options.force,
        options.excel,
        options.sanitize,
    )?;
    events.on(Event::Phase("reading"));
    let (writer, stats) = match options.entity {
        Entity::Users => export_users(client, options, writer, &mut summary, events).await?,
        Entity::Groups | Entity::Applications => {
            export_targets(client, options, writer, events).await?
        }
        Entity::Memberships => export_memberships(client, writer, &mut summary).await?,
        Entity::Factors => {
            factors::export_factors(client, options, writer, &mut summary, events).await?
        }
    };
    if !matches!(options.entity, Entity::Users | Entity::Factors) {
        summary.records = stats.records;
    }
    summary.pages = stats.pages;
    summary.duplicates_dropped = stats.duplicates;
    let what = match options.entity {
        Entity::Users | Entity::Memberships | Entity::Factors => "user",
        Entity::Groups => "group",
        Entity::Applications => "application",
    };
    summary.warnings.extend(stats.count_change(what));
    summary.warnings.extend(stats.warnings.iter().cloned());
    summary
        .warnings
        .extend(stats.notes.iter().map(|note| match &note.id {
            Some(id) => format!("record {id}: {}", note.message),
            None => note.message.clone(),
        }));
    if let Some(message) = stats.incomplete(&format!("GET /{}", options.entity.name())) {
        if !options.allow_incomplete {
            return Err(ExportError::Incomplete(message));
        }
        summary.incomplete = true;
        summary.warnings.push(message);
    }
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
    let mut cells: Vec<String> = column_fields()
        .map(|field| fields.get(field).display())
        .collect();
    let attributes = fields.custom_attributes.as_deref().unwrap_or_default();
    for name in custom_names {
        let value = attributes
            .iter()
            .find(|a| a.name() == name)
            .map(|a| a.value().to_string());
        cells.push(value.unwrap_or_default());
    }
    cells
}

/// The kinds of membership an export includes.
fn included_kinds(options: &ExportOptions) -> Vec<TargetKind> {
    TargetKind::ALL
        .into_iter()
        .filter(|kind| match kind {
            TargetKind::Group => options.include_groups,
            TargetKind::Application => options.include_applications,
        })
        .collect()
}

async fn export_users(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    summary: &mut ExportSummary,
    events: &dyn Events,
) -> Result<Exported, ExportError> {
    let mut spooled = spool().map_err(|e| ExportError::io("cannot create a spool file", e))?;
    let mut custom_names: BTreeSet<String> = BTreeSet::new();
    let kinds = included_kinds(options);
    let mut ids: Vec<String> = Vec::new();
    let mut kept = 0u64;
    let stats = {
        let mut out = std::io::BufWriter::new(&mut spooled);
        let stats = client
            .read_listing(
                &user_request(options),
                |total| events.on(Event::Total(total)),
                |user: User| {
                    events.on(Event::Advanced {
                        items: 1,
                        failed: 0,
                    });
                    if !filters::keeps_user(options.entity, &options.filters, &user) {
                        return Ok(());
                    }
                    kept += 1;
                    for attribute in user.fields.custom_attributes.iter().flatten() {
                        if !attribute.name().is_empty() && !custom_names.contains(attribute.name())
                        {
                            custom_names.insert(attribute.name().to_string());
                        }
                    }
                    if !kinds.is_empty() {
                        ids.push(user.id.clone());
                    }
                    serde_json::to_writer(&mut out, &user)
                        .map_err(|e| ExportError::io("cannot spool", e.into()))?;
                    out.write_all(b"\n")
                        .map_err(|e| ExportError::io("cannot spool", e))
                },
            )
            .await?;
        out.flush()
            .map_err(|e| ExportError::io("cannot spool", e))?;
        stats
    };
    // The records written (the listing's own count stays the server's,
    // for telling whether the listing was complete).
    summary.records = kept;
    let memberships = if kinds.is_empty() {
        None
    } else {
        let (names, side) = membership_names(client, &kinds, &ids).await?;
        summary.membership_reads = Some(side);
        Some(names)
    };
    let custom_names: Vec<String> = custom_names.into_iter().collect();
    let mut header: Vec<String> = user_columns().iter().map(|c| c.to_string()).collect();
    header.extend(custom_names.iter().map(|n| format!("custom.{n}")));
    header.extend(kinds.iter().map(|kind| kind.path().to_string()));
    header.push("user_id".into());
    writer.header(&header)?;
    spooled
        .rewind()
        .map_err(|e| ExportError::io("cannot read the spool", e))?;
    let none: Vec<String> = Vec::new();
    for line in BufReader::new(spooled).lines() {
        let line = line.map_err(|e| ExportError::io("cannot read the spool", e))?;
        let user: User = serde_json::from_str(&line)
            .map_err(|e| ExportError::io("cannot read the spool", e.into()))?;
        let mut cells = user_cells(&user, &custom_names);
        let of = |kind: TargetKind| {
            memberships
                .as_ref()
                .and_then(|m| m.get(&(kind, user.id.clone())))
                .unwrap_or(&none)
        };
        for kind in &kinds {
            cells.push(of(*kind).join(";"));
        }
        cells.push(user.id.clone());
        writer.record(&cells, || {
            let mut json = serde_json::to_value(&user).unwrap_or(Value::Null);
            for kind in &kinds {
                json[kind.path()] = Value::from(of(*kind).as_slice());
            }
            json
        })?;
    }
    Ok((writer, stats))
}

/// (kind, user id) → the sorted names of the user's targets of that kind.
type NamesByUser = HashMap<(TargetKind, String), Vec<String>>;

/// What every entity's export hands back: the writer, to be finished by
/// [`run`] (atomically), and how the listing went.
type Exported = (RecordWriter, ListingStats);

/// Every listed user's memberships by name, from the cheaper side.
async fn membership_names(
    client: &Client,
    kinds: &[TargetKind],
    user_ids: &[String],
) -> Result<(NamesByUser, MembershipSide), ExportError> {
    let mut targets: Vec<(TargetKind, Target)> = Vec::new();
    for kind in kinds {
        targets.extend(client.targets(*kind).await?.into_iter().map(|t| (*kind, t)));
    }
    let user_calls = (user_ids.len() * kinds.len()) as u64;
    let side = cheaper_side(targets.len() as u64, user_calls);
    let mut names: NamesByUser = HashMap::new();
    if side == MembershipSide::TargetSide {
        let by_id: HashMap<(TargetKind, String), String> = targets
            .iter()
            .map(|(kind, t)| ((*kind, t.id.clone()), t.name.clone()))
            .collect();
        let scope: Vec<(TargetKind, String)> =
            targets.iter().map(|(k, t)| (*k, t.id.clone())).collect();
        MembershipIndex::read(
            client,
            &scope,
            |_| None,
            |kind, id, member| {
                let name = by_id
                    .get(&(kind, id.to_string()))
                    .cloned()
                    .unwrap_or_default();
                names
                    .entry((kind, member.to_string()))
                    .or_default()
                    .push(name);
            },
        )
        .await?;
    } else {
        let reads = user_ids
            .iter()
            .flat_map(|id| kinds.iter().map(move |kind| (*kind, id.clone())));
        let mut answers = stream::iter(reads)
            .map(|(kind, id)| {
                let client = client.clone();
                async move {
                    let of = client.memberships_of(kind, &id).await?;
                    Ok::<_, ApiError>(((kind, id), of))
                }
            })
            .buffer_unordered(client.parallelism());
        while let Some((key, of)) = answers.try_next().await? {
            names.insert(key, of.into_iter().map(|t| t.name).collect());
        }
    }
    for list in names.values_mut() {
        list.sort();
    }
    Ok((names, side))
}

async fn export_targets(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    events: &dyn Events,
) -> Result<Exported, ExportError> {
    let kind = if options.entity == Entity::Groups {
        TargetKind::Group
    } else {
        TargetKind::Application
    };
    let query = NamedQuery {
        sort: options.sort.clone(),
        sort_order: options.order,
        name: filter_value(options, "name").cloned(),
        detail: filter_value(
            options,
            match kind {
                TargetKind::Group => "description",
                TargetKind::Application => "label",
            },
        )
        .cloned(),
        page_size: options.page_size,
    };
    let (request, fields, count_column) = match kind {
        TargetKind::Group => (
            query.to_groups(),
            ["id", "name", "description", "enforceSecondFactor"].as_slice(),
            "members",
        ),
        TargetKind::Application => (
            query.to_applications(),
            ["id", "name", "label"].as_slice(),
            "users",
        ),
    };
    let mut header: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    header.push(count_column.to_string());
    writer.header(&header)?;
    let mut records: Vec<Value> = Vec::new();
    let stats = client
        .read_listing(
            &request,
            |total| events.on(Event::Total(total)),
            |record: Value| {
                events.on(Event::Advanced {
                    items: 1,
                    failed: 0,
                });
                records.push(record);
                Ok::<_, ExportError>(())
            },
        )
        .await?;
    let counts: Vec<u64> = stream::iter(records.iter().map(|r| match &r["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }))
    .map(|id| {
        let client = client.clone();
        async move { client.count_members(kind, &id).await }
    })
    .buffered(client.parallelism())
    .try_collect()
    .await?;
    for (mut record, count) in records.into_iter().zip(counts) {
        let text = |key: &str| match &record[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let mut cells: Vec<String> = fields.iter().map(|k| text(k)).collect();
        cells.push(count.to_string());
        record[count_column] = Value::from(count);
        writer.record(&cells, || record)?;
    }
    Ok((writer, stats))
}

async fn export_memberships(
    client: &Client,
    mut writer: RecordWriter,
    summary: &mut ExportSummary,
) -> Result<Exported, ExportError> {
    let header: Vec<String> = ["user_id", "username", "type", "target_id", "target_name"]
        .map(String::from)
        .to_vec();
    writer.header(&header)?;
    let mut targets: Vec<(TargetKind, Target)> = Vec::new();
    for kind in TargetKind::ALL {
        targets.extend(client.targets(kind).await?.into_iter().map(|t| (kind, t)));
    }
    let users = client.count(&UserQuery::default().to_request()).await?;
    let side = match users {
        Some(users) => cheaper_side(targets.len() as u64, users.saturating_mul(2)),
        None => MembershipSide::TargetSide,
    };
    summary.membership_reads = Some(side);
    let mut stats = ListingStats::default();
    let mut write = |writer: &mut RecordWriter, kind: TargetKind, target: &Target, user: &User| {
        let username = user.fields.username.clone().unwrap_or_default();
        let cells = [
            user.id.clone(),
            username,
            kind.name().to_string(),
            target.id.clone(),
            target.name.clone(),
        ];
        stats.records += 1;
        writer.record(&cells, || {
            serde_json::json!({"user_id": cells[0], "username": cells[1], "type": kind.name(),
                    "target_id": target.id, "target_name": target.name})
        })
    };
    if side == MembershipSide::TargetSide {
        // Targets in (type, name, id) order, members by (username, id): streamed
        // one target at a time, the same bytes every run.
        targets.sort_by(|(ka, a), (kb, b)| (ka, &a.name, &a.id).cmp(&(kb, &b.name, &b.id)));
        let mut reads = stream::iter(targets)
            .map(|(kind, target)| {
                let client = client.clone();
                async move {
                    let members = client.members(kind, &target.id).await?;
                    Ok::<_, ApiError>((kind, target, members))
                }
            })
            .buffered(client.parallelism());
        while let Some((kind, target, mut members)) = reads.try_next().await? {
            stats.pages += 1;
            members.sort_by(|a, b| (&a.fields.username, &a.id).cmp(&(&b.fields.username, &b.id)));
            for member in &members {
                write(&mut writer, kind, &target, member)?;
            }
        }
    } else {
        // Users in the listing's order, each user's groups then applications by name.
        let users: Vec<User> = client.list_all(UserQuery::default().to_request()).await?;
        let mut reads = stream::iter(users)
            .map(|user| {
                let client = client.clone();
                async move {
                    let mut of = Vec::new();
                    for kind in TargetKind::ALL {
                        let mut targets = client.memberships_of(kind, &user.id).await?;
                        targets.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
                        of.extend(targets.into_iter().map(|t| (kind, t)));
                    }
                    Ok::<_, ApiError>((user, of))
                }
            })
            .buffered(client.parallelism());
        while let Some((user, of)) = reads.try_next().await? {
            for (kind, target) in &of {
                write(&mut writer, *kind, target, &user)?;
            }
        }
    }
    Ok((writer, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CustomAttribute;

    #[test]
    fn a_user_becomes_import_format_cells() {
        let mut user = User {
            id: "u1".into(),
            ..Default::default()
        };
        user.fields.username = Some("ana".into());
        user.fields.is_enabled = Some(false);
        user.fields.aliases = Some(vec!["a1".into(), "a2".into()]);
        user.fields.custom_attributes = Some(vec![CustomAttribute::new("Badge", "B7")]);
        let columns = user_columns();
        let cells = user_cells(&user, &["Badge".to_string(), "Missing".to_string()]);
        assert_eq!(cells.len(), columns.len() + 2);
        let at = |name: &str| &cells[columns.iter().position(|c| *c == name).unwrap()];
        assert_eq!(at("username"), "ana");
        assert_eq!(at("isEnabled"), "false");
        assert_eq!(at("isLocked"), "");
        assert_eq!(at("aliases"), "a1;a2");
        assert_eq!(&cells[columns.len()..], ["B7", ""]);
        assert!(!columns.contains(&"customAttributes"));
    }
}
