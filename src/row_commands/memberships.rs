//! `memberships import FILE`: rows of (user, group or application, add or
//! remove), including the file `export memberships` writes. Each target's
//! members are read once; a row already true makes no call, and the
//! changes are coalesced into the fewest `assignusers`/`removeusers`
//! calls by the batcher. `--sync TARGET` makes a target's members exactly
//! the file's: the removals it implies go through the guard rails.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use futures::StreamExt;
use serde::Serialize;

use crate::api::{ApiError, Client};
use crate::decision::Catalog;
use crate::engine::RunEnd;
use crate::engine::batcher::Pending;
use crate::engine::decided_rows::{self, DecidedRow, RunSpec};
use crate::engine::guard::{self, Limits, Protection, Taken};
use crate::engine::results_sink::RunTotals;
use crate::engine::runner::{Disposition, ProcessedRow, RowAction, RunError, Stops};
use crate::engine::users::{TenantUsers, one_user, tenant_size, tenant_users};
use crate::events::{Event, Events};
use crate::input::columns::position_of;
use crate::input::{CsvSource, MatchBy, ReadOptions};
use crate::model::{Target, TargetKind, User};
use crate::output::results_file::writer::RunKind;
use crate::output::{Outcome, RowResult};

/// What a memberships import is asked to do.
#[derive(Debug, Clone)]
pub struct MembershipsOptions {
    pub file: PathBuf,
    pub read: ReadOptions,
    /// Groups or applications (names or ids) whose members become exactly the file's.
    pub sync: Vec<String>,
    pub limits: Limits,
    pub protection: Protection,
    /// Which groups are privileged, and whom the run may add to them.
    pub privilege: crate::decision::access::PrivilegeRules,
    /// Where the results go and how.
    pub run: crate::engine::decided_rows::ResultsOptions,
}

/// What a memberships import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MembershipsSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub input: String,
    /// Targets whose members were read.
    pub targets_read: u64,
}

/// One row's change, decided: nothing, or one membership to change.
#[derive(Debug, Clone)]
pub struct MemberJob {
    pub user_id: String,
    pub change: Option<Pending>,
    /// Why nothing is sent (already so, protected).
    pub settled: Option<(Outcome, String)>,
}

/// Hands each row's change to the batcher.
pub struct MembershipsAction {
    pub dry_run: bool,
}

impl RowAction for MembershipsAction {
    type Input = MemberJob;
    type Detail = ();

    async fn process(
        &self,
        _client: Client,
        job: MemberJob,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        result.user_id = job.user_id;
        if let Some((outcome, why)) = job.settled {
            result.outcome = outcome;
            result.error = why;
            return ProcessedRow {
                result,
                detail: None,
                pending: Vec::new(),
            };
        }
        result.outcome = Outcome::Updated;
        let pending: Vec<Pending> = job.change.into_iter().collect();
        if self.dry_run {
            for change in &pending {
                result
                    .targets_mut(change.kind, change.add)
                    .push(change.target.name.clone());
            }
        }
        ProcessedRow {
            result,
            detail: None,
            pending,
        }
    }
}

/// A row as read.
struct MemberRow {
    row: u64,
    user_id: Option<String>,
    username: Option<String>,
    kind: TargetKind,
    target_id: Option<String>,
    target_name: Option<String>,
    add: bool,
    cells: Vec<String>,
    invalid: Option<String>,
}

/// Where each column is.
struct Columns {
    header: Vec<String>,
    user_id: Option<usize>,
    username: Option<usize>,
    kind: Option<usize>,
    target_id: Option<usize>,
    target_name: Option<usize>,
    action: Option<usize>,
}

impl Columns {
    /// The cells of a row removing `user` from `target`, in the file's columns.
    fn cells_of(&self, user: &User, kind: TargetKind, target: &Target) -> Vec<String> {
        let mut cells = vec![String::new(); self.header.len()];
        for (at, value) in [
            (self.user_id, user.id.clone()),
            (
                self.username,
                user.fields.username.clone().unwrap_or_default(),
            ),
            (self.kind, kind.name().to_string()),
            (self.target_id, target.id.clone()),
            (self.target_name, target.name.clone()),
            (self.action, "remove".to_string()),
        ] {
            if let Some(at) = at {
                cells[at] = value;
            }
        }
        cells
    }
}

fn read_rows(options: &MembershipsOptions) -> Result<(Columns, Vec<MemberRow>), RunError> {
    let mut source = CsvSource::open(&options.file, &options.read)?;
    let header = source.header().to_vec();
    let find = |names: &[&str]| position_of(&header, names);
    let columns = Columns {
        user_id: find(&["userid"]),
        username: find(&["username", "user", "login"]),
        kind: find(&["type", "kind"]),
        target_id: find(&["targetid", "groupid", "applicationid"]),
        target_name: find(&[
            "targetname",
            "target",
            "group",
            "groupname",
            "application",
            "applicationname",
        ]),
        action: find(&["action", "change"]),
        header: header.clone(),
    };
    let shown = crate::input::reader::shown(&options.file);
    if columns.user_id.is_none() && columns.username.is_none() {
        return Err(RunError::Reader(format!(
            "{shown}: there is no user column (username or user_id)"
        )));
    }
    if columns.target_id.is_none() && columns.target_name.is_none() {
        return Err(RunError::Reader(format!(
            "{shown}: there is no group or application column (target_name, group, application or target_id)"
        )));
    }
    let mut rows = Vec::new();
    while let Some(record) = source.next_record() {
        let record = record?;
        let cell = |at: Option<usize>| record.cell(at);
        let mut invalid = record.shape_problem(header.len());
        let kind = match cell(columns.kind).map(|k| k.to_lowercase()).as_deref() {
            None | Some("group") => TargetKind::Group,
            Some("application" | "app") => TargetKind::Application,
            Some(other) => {
                invalid = Some(format!("type '{other}' is group or application"));
                TargetKind::Group
            }
        };
        let add = match cell(columns.action).map(|a| a.to_lowercase()).as_deref() {
            None | Some("add") => true,
            Some("remove") => false,
            Some(other) => {
                invalid = Some(format!("action '{other}' is add or remove"));
                true
            }
        };
        let (user_id, username) = (cell(columns.user_id), cell(columns.username));
        let (target_id, target_name) = (cell(columns.target_id), cell(columns.target_name));
        if user_id.is_none() && username.is_none() {
            invalid = Some("the row names no user".to_string());
        } else if target_id.is_none() && target_name.is_none() {
            invalid = Some(format!("the row names no {}", kind.name()));
        }
        let mut cells = record.cells.clone();
        cells.resize(header.len(), String::new());
        rows.push(MemberRow {
            row: record.row,
            user_id,
            username,
            kind,
            target_id,
            target_name,
            add,
            cells,
            invalid,
        });
    }
    Ok((columns, rows))
}

type JobLine = (u64, String, Vec<String>, Disposition, MemberJob);

/// A target (its kind and id).
type TargetKey = (TargetKind, String);

/// The targets a run touches, and their members as the tenant has them.
struct Scope {
    /// `--sync` targets, resolved.
    sync: Vec<(TargetKind, Target)>,
    /// Every target a valid row or `--sync` names.
    targets: HashMap<TargetKey, Target>,
    members: HashMap<TargetKey, Vec<User>>,
}

/// The group or application a row names: by id, else by name.
fn resolve(
    catalog: &Catalog,
    kind: TargetKind,
    id: &Option<String>,
    name: &Option<String>,
) -> Option<Target> {
    let directory = catalog.of(kind);
    id.as_deref()
        .and_then(|id| directory.resolve(id))
        .or_else(|| name.as_deref().and_then(|n| directory.resolve(n)))
        .cloned()
}

impl Scope {
    /// Resolves the targets and reads each one's members once (eight at a
    /// time); `Err(refusal)` inside for a `--sync` target that does not exist.
    async fn read(
        client: &Client,
        catalog: &Catalog,
        rows: &[MemberRow],
        sync_names: &[String],
    ) -> Result<Result<Scope, String>, RunError> {
        let mut sync: Vec<(TargetKind, Target)> = Vec::new();
        for name in sync_names {
            let found = [TargetKind::Group, TargetKind::Application]
                .into_iter()
                .find_map(|kind| catalog.of(kind).resolve(name).map(|t| (kind, t.clone())));
            match found {
                Some(found) => sync.push(found),
                None => {
                    return Ok(Err(format!(
                        "--sync {name}: there is no group or application of that name"
                    )));
                }
            }
        }
        let mut targets: HashMap<TargetKey, Target> = HashMap::new();
        for row in rows.iter().filter(|r| r.invalid.is_none()) {
            if let Some(target) = resolve(catalog, row.kind, &row.target_id, &row.target_name) {
                targets.insert((row.kind, target.id.clone()), target);
            }
        }
        for (kind, target) in &sync {
            targets.insert((*kind, target.id.clone()), target.clone());
        }
        let read: Vec<Result<(TargetKey, Vec<User>), ApiError>> =
            futures::stream::iter(targets.keys().cloned())
                .map(|(kind, id)| {
                    let client = client.clone();
                    async move { client.members(kind, &id).await.map(|m| ((kind, id), m)) }
                })
                .buffer_unordered(8)
                .collect()
                .await;
        let mut members: HashMap<TargetKey, Vec<User>> = HashMap::new();
        for entry in read {
            let (key, users) = entry?;
            members.insert(key, users);
        }
        Ok(Ok(Scope {
            sync,
            targets,
            members,
        }))
    }

    /// `user` among the members of `target`, as the tenant has them now.
    fn member(&self, kind: TargetKind, target: &str, user: &str) -> Option<&User> {
        self.members
            .get(&(kind, target.to_string()))
            .and_then(|m| m.iter().find(|u| u.id == user))
    }
}

/// Whom a row means.
enum Whom {
    User(String),
    /// The user cannot be found (the row fails).
    NotFound(String),
    /// The row's own cells disagree (the row is invalid).
    Ambiguous(String),
}

/// Whom `row` means: its `user_id`, or its username looked up; both
/// given, they must name the same user.
fn whom(row: &MemberRow, users: Option<&TenantUsers>) -> Whom {
    match (&row.user_id, &row.username, users) {
        (Some(id), Some(name), Some(users)) => match one_user(&users.by_key, name, "username") {
            Ok(user) if user.id == *id => Whom::User(id.clone()),
            Ok(user) => Whom::Ambiguous(format!(
                "user_id '{id}' and username '{name}' name different users ('{name}' is user {}): the row cannot say whom it means",
                user.id
            )),
            Err(why) => Whom::NotFound(why),
        },
        (Some(id), _, _) => Whom::User(id.clone()),
        (None, Some(name), Some(users)) => match one_user(&users.by_key, name, "username") {
            Ok(user) => Whom::User(user.id.clone()),
            Err(why) => Whom::NotFound(why),
        },
        _ => Whom::NotFound("the row names no user".to_string()),
    }
}

/// The run's decisions so far: each row's job, and what removals take.
struct Decisions<'a> {
    scope: &'a Scope,
    protection: &'a Protection,
    privilege: &'a crate::decision::access::PrivilegeRules,
    taken: Taken,
    removed: HashMap<TargetKey, u64>,
    /// `--sync`: the members each target keeps.
    wanted: HashMap<TargetKey, HashSet<String>>,
    jobs: Vec<JobLine>,
}

impl<'a> Decisions<'a> {
    fn new(
        scope: &'a Scope,
        (protection, privilege): (&'a Protection, &'a crate::decision::access::PrivilegeRules),
    ) -> Self {
        Decisions {
            scope,
            protection,
            privilege,
            taken: Taken::users(),
            removed: HashMap::new(),
            wanted: HashMap::new(),
            jobs: Vec::new(),
        }
    }

    /// Decides one row of the file.
    fn row(&mut self, row: &MemberRow, catalog: &Catalog, users: Option<&TenantUsers>) {
        let label = row
            .username
            .clone()
            .or(row.user_id.clone())
            .unwrap_or_default();
        if let Some(why) = &row.invalid {
            self.jobs.push(invalid(row, label, why.clone()));
            return;
        }
        let Some(target) = resolve(catalog, row.kind, &row.target_id, &row.target_name) else {
            let name = row
                .target_name
                .clone()
                .or(row.target_id.clone())
                .unwrap_or_default();
            let why = format!("unknown {} '{name}'", row.kind.name());
            self.jobs.push(invalid(row, label, why));
            return;
        };
        let user_id = match whom(row, users) {
            Whom::User(id) => id,
            Whom::Ambiguous(why) => return self.jobs.push(invalid(row, label, why)),
            Whom::NotFound(why) => {
                let job = settled(String::new(), (Outcome::Failed, why));
                return self.push(row.row, label, row.cells.clone(), job);
            }
        };
        if row.add {
            self.wanted
                .entry((row.kind, target.id.clone()))
                .or_default()
                .insert(user_id.clone());
        }
        let member = self.scope.member(row.kind, &target.id, &user_id);
        let already = member.is_some() == row.add;
        let job = if already {
            settled(user_id, (Outcome::Unchanged, String::new()))
        } else if row.add {
            match self.unprivileged(row, (&target, &user_id), users) {
                Some(why) => settled(user_id, (Outcome::Protected, why)),
                None => change(row.kind, true, &target, user_id),
            }
        } else {
            self.removal(row.kind, &target, member, user_id)
        };
        self.push(row.row, label, row.cells.clone(), job);
    }

    /// Why an addition is not made, if it is not: it hands a privileged
    /// group out, or changes a privileged user, and the run does not name
    /// the user (privilege fails closed, as in import and sync).
    fn unprivileged(
        &self,
        row: &MemberRow,
        (target, user_id): (&Target, &str),
        users: Option<&TenantUsers>,
    ) -> Option<String> {
        let user = users.and_then(|users| {
            let key = row.username.as_deref().map(crate::model::text::match_key);
            key.and_then(|key| users.by_key.get(&key))
                .into_iter()
                .flatten()
                .chain(users.listed.iter())
                .find(|u| u.id == user_id)
        });
        let why = match row.kind {
            TargetKind::Group => self
                .privilege
                .privileged_group(&target.name)
                .map(|why| format!("{} is a privileged group ({why})", target.name)),
            TargetKind::Application => None,
        }
        .or_else(|| {
            user.and_then(crate::decision::access::privileged_type)
                .map(|kind| format!("the user is privileged (userType {kind})"))
        })?;
        let mut keys: Vec<&str> = vec![user_id];
        keys.extend(row.username.as_deref());
        keys.extend(
            user.into_iter()
                .flat_map(|u| crate::decision::access::keys_of(&u.fields)),
        );
        (!self.privilege.allows(keys)).then(|| {
            format!("{why}: not changed unless the run names the user (--allow-privileged USER)")
        })
    }

    /// A removal: a destructive change, guarded, and never of a protected
    /// or privileged user (as the tenant holds it now).
    fn removal(
        &mut self,
        kind: TargetKind,
        target: &Target,
        member: Option<&User>,
        user_id: String,
    ) -> MemberJob {
        // The protected list always holds; privilege (an admin, a member
        // of a privileged group) yields to the run naming the user.
        let protected = member.and_then(|u| {
            let keys: Vec<&str> = crate::decision::access::keys_of(&u.fields).collect();
            let named = self.privilege.allows(keys);
            self.protection
                .protects_by_name(u)
                .or_else(|| (!named).then(|| self.protection.protects(u)).flatten())
        });
        if let Some(why) = protected {
            return settled(user_id, (Outcome::Protected, why));
        }
        self.taken.reversible.insert(user_id.clone());
        *self.removed.entry((kind, target.id.clone())).or_default() += 1;
        change(kind, false, target, user_id)
    }

    fn push(&mut self, row: u64, label: String, cells: Vec<String>, job: MemberJob) {
        self.jobs
            .push((row, label, cells, Disposition::Process, job));
    }

    /// `--sync`: every member the file does not keep is removed, as rows
    /// numbered after the file's (`last_row`), in username order.
    fn sync_removals(&mut self, columns: &Columns, mut row: u64) {
        let scope = self.scope;
        for (kind, target) in &scope.sync {
            let key = (*kind, target.id.clone());
            let keep = self.wanted.get(&key).cloned().unwrap_or_default();
            let mut gone: Vec<&User> = scope
                .members
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|u| !keep.contains(&u.id))
                .collect();
            gone.sort_by_key(|u| u.fields.username.clone().unwrap_or_default().to_lowercase());
            for user in gone {
                row += 1;
                let username = user.fields.username.clone().unwrap_or_default();
                let cells = columns.cells_of(user, *kind, target);
                let job = self.removal(*kind, target, Some(user), user.id.clone());
                self.push(row, username, cells, job);
            }
        }
    }

    /// What the removals take from each target, for the guard.
    fn taken_from_targets(mut self) -> (Taken, Vec<JobLine>) {
        for ((kind, id), count) in &self.removed {
            let had = self
                .scope
                .members
                .get(&(*kind, id.clone()))
                .map_or(0, Vec::len) as u64;
            let name = self
                .scope
                .targets
                .get(&(*kind, id.clone()))
                .map_or(id.clone(), |t| format!("{} {}", kind.name(), t.name));
            self.taken.from_targets.push((name, had, *count));
        }
        self.taken.from_targets.sort();
        (self.taken, self.jobs)
    }
}

/// A row settled without a call.
fn settled(user_id: String, outcome: (Outcome, String)) -> MemberJob {
    MemberJob {
        user_id,
        change: None,
        settled: Some(outcome),
    }
}

/// A row that changes one membership.
fn change(kind: TargetKind, add: bool, target: &Target, user_id: String) -> MemberJob {
    MemberJob {
        user_id: user_id.clone(),
        change: Some(Pending {
            kind,
            add,
            target: target.clone(),
            user_id,
        }),
        settled: None,
    }
}

/// Runs a memberships import (or its dry run); refused when a guard rail
/// refuses it.
pub async fn run(
    client: Client,
    options: &MembershipsOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunEnd<MembershipsSummary>, RunError> {
    let (started, (columns, rows)) = crate::engine::read_file(options, events, read_rows).await?;
    events.on(Event::Phase("reading the tenant"));
    let catalog = Catalog::load(&client).await?;
    let groups = catalog.groups.targets();
    options
        .protection
        .learn_members(&client, Some(&groups))
        .await?;
    // Usernames are looked up (also beside an id: the two must agree).
    let usernames: Vec<String> = rows
        .iter()
        .filter(|r| r.invalid.is_none())
        .filter_map(|r| r.username.clone())
        .collect();
    let users = if usernames.is_empty() && options.sync.is_empty() {
        None
    } else {
        Some(tenant_users(&client, Some(&usernames), MatchBy::Username).await?)
    };
    let scope = match Scope::read(&client, &catalog, &rows, &options.sync).await? {
        Ok(scope) => scope,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    let mut decisions = Decisions::new(&scope, (&options.protection, &options.privilege));
    for row in &rows {
        decisions.row(row, &catalog, users.as_ref());
    }
    decisions.sync_removals(&columns, rows.iter().map(|r| r.row).max().unwrap_or(0));
    let (taken, jobs) = decisions.taken_from_targets();
    let mut refused = None;
    if taken.reversible.is_empty() {
        // Additions only: each was judged by the privilege rule above.
        guard::clear_rows_judged(options.run.dry_run, &client);
    } else {
        let tenant = match &users {
            Some(users) => users.total,
            None => tenant_size(&client).await?,
        };
        let verdict = guard::check(&taken, tenant, options.limits);
        refused = match guard::enforce(verdict, (options.run.dry_run, &client), events) {
            Ok(refused) => refused,
            Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
        };
    }
    let stamp = decided_rows::stamp(RunKind::Memberships, options.run.dry_run, &client);
    let rows: Vec<DecidedRow<MemberJob>> = jobs.into_iter().map(DecidedRow::from).collect();
    let inputs = [options.file.as_path()];
    let run_spec = RunSpec {
        apply_memberships: true,
        ..RunSpec::of(
            &options.run,
            (&stamp, &started),
            (&inputs, &columns.header),
            "applying memberships",
        )
    };
    let action = MembershipsAction {
        dry_run: options.run.dry_run,
    };
    let totals = decided_rows::run(&client, run_spec, action, rows, stops, events).await?;
    let summary = MembershipsSummary {
        totals,
        input: crate::input::reader::shown(&options.file),
        targets_read: scope.members.len() as u64,
    };
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::planned(summary, interrupted, refused))
}

/// The line of a row that cannot be applied as it stands (why).
fn invalid(row: &MemberRow, label: String, why: String) -> JobLine {
    (
        row.row,
        label,
        row.cells.clone(),
        Disposition::Invalid(why),
        empty_job(),
    )
}

fn empty_job() -> MemberJob {
    MemberJob {
        user_id: String::new(),
        change: None,
        settled: None,
    }
}
