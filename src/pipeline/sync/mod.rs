//! `sync ROSTER`: the directory made to match HR's complete roster in one
//! guarded run, on the roster's dates, as of one day (`--as-of`; nothing
//! else reads the clock).
//!
//! The roster is read and checked whole first (as import does); the one
//! listing of the tenant the lookups make anyway finds the leavers: users
//! the sync owns (a value in the match field, not protected, not
//! privileged) whom no current row names — absent, or named only by rows
//! whose end date has passed. Every destructive change passes one guard
//! before the first write, and a snapshot of the leavers is written
//! first. Then each row is a joiner (created, disabled until its start
//! date; pending beyond `--create-ahead`), a mover (import's update), a
//! rehire (a disabled user re-enabled and updated, never created again) or
//! a leaver (the `--leavers` actions); the leavers found by absence follow
//! as rows of their own. Results record every row, so `undo` reverses a
//! sync, and a second run the same day sends nothing.

pub mod action;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

pub use action::{Dates, Scope, SyncAction, SyncJob};

use crate::api::Client;
use crate::events::{Event, Events};
use crate::input::columns::{Column, column_for};
use crate::input::scan::open_with;
use crate::input::{MatchBy, Vocabulary};
use crate::model::User;
use crate::model::text::match_key;
use crate::output::results::RunKind;
use crate::pipeline::guard::{self, Limits};
use crate::pipeline::import::{self, FirstPass, ImportAction, ImportOptions, Roster, RosterKeys};
use crate::pipeline::offboard::{self, Found, Leaver, OffboardAction, Step};
use crate::pipeline::prepared::{self, Prepared, Setup};
use crate::pipeline::results_sink::RunTotals;
use crate::pipeline::runner::{Disposition, RunError, Stops};
use crate::pipeline::users::key_of;
use crate::plan::Catalog;
use crate::plan::lookup::{self, Lookups, row_key};

/// What a sync is asked to do.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The roster as import reads a file (mapping, match key, policy),
    /// and where the results go.
    pub import: ImportOptions,
    pub dates: Dates,
    /// What happens to leavers (the offboard actions).
    pub leavers: Vec<Step>,
    pub limits: Limits,
    /// The users the sync owns: never protected or privileged ones
    /// (unless included), and only those every `--scope` filter keeps.
    pub scope: Scope,
    /// What a joiner gets when its username belongs to another person.
    pub on_collision: OnCollision,
}

/// What a joiner gets when its username belongs to another person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCollision {
    /// The lowest free numeric suffix (`john.smith` → `john.smith2`),
    /// given in file order.
    #[default]
    Suffix,
    /// The row fails; nothing is created.
    Fail,
}

/// Why a sync was refused before any change.
#[derive(Debug)]
pub enum Refused {
    /// The roster has invalid rows (or a header that cannot be read).
    Rows(Box<FirstPass>),
    /// The guard: more would be taken away than allowed.
    Guard(String),
}

/// What a sync did, for the screen and `--summary-json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SyncSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub input: String,
    /// The day everything was decided by (YYYY-MM-DD).
    pub as_of: String,
    pub leaver_actions: Vec<Step>,
    pub tenant_users: u64,
    /// Tenant users the sync does not own: no value in the match field,
    /// protected or privileged. Never touched.
    pub out_of_scope: u64,
    pub leavers_by_absence: u64,
    pub leavers_by_end_date: u64,
    pub snapshot: Option<String>,
}

/// The tenant users a roster lets go, seen as the tenant is listed.
struct LeaverWatch<'a> {
    roster: &'a Roster,
    match_by: MatchBy,
    scope: &'a Scope,
    /// Leavers named by an ended row, by match key.
    ended: HashMap<String, User>,
    /// Leavers no row names.
    absent: Vec<User>,
    out_of_scope: u64,
}

impl LeaverWatch<'_> {
    fn see(&mut self, user: &User) {
        let Some(key) = key_of(user, self.match_by) else {
            self.out_of_scope += 1;
            return;
        };
        if self.roster.current.contains(&key) {
            return;
        }
        if self.scope.excludes(user).is_some() {
            self.out_of_scope += 1;
            return;
        }
        if self.roster.ended.contains(&key) {
            self.ended.insert(key, user.clone());
        } else {
            self.absent.push(user.clone());
        }
    }
}

/// `YYYY-MM-DD` of a day count.
pub fn day_text(day: i64) -> String {
    let (y, m, d) = crate::model::dates::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Runs a sync (or its dry run) against `client`.
pub async fn run(
    client: Client,
    options: &SyncOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<crate::pipeline::Ended<SyncSummary, Refused>, RunError> {
    use crate::pipeline::Ended;
    let started = (crate::formats::utc_now(), std::time::Instant::now());
    let import = &options.import;
    let roster_keys = RosterKeys::AsOf(options.dates.as_of);
    let mut first = match import::read_input(import, roster_keys, events).await? {
        Ok((first, _)) => first,
        Err(first) => return Ok(Ended::Refused(Refused::Rows(Box::new(first)))),
    };
    let roster = first.roster.take().unwrap_or_default();
    let match_by = import.input.rules.match_by;
    let (mut catalog, probe) =
        futures::try_join!(Catalog::load(&client), lookup::probe_users(&client))?;
    let mut watch = LeaverWatch {
        roster: &roster,
        match_by,
        scope: &options.scope,
        ended: HashMap::new(),
        absent: Vec::new(),
        out_of_scope: 0,
    };
    events.on(Event::Phase("reading the tenant"));
    let lookups = Lookups::prepare(
        &client,
        &catalog,
        probe,
        &first.shape,
        match_by,
        [import.policy.sync_groups, import.policy.sync_applications],
        Some(&mut |user: &User| watch.see(user)),
    )
    .await?;
    let LeaverWatch {
        ended,
        mut absent,
        out_of_scope,
        ..
    } = watch;
    let vocabulary = import::learn_tenant_values(&client, &lookups, &mut first, import).await?;
    if first.refuses(import.skip_invalid) {
        return Ok(Ended::Refused(Refused::Rows(Box::new(first))));
    }
    absent.sort_by_key(|u| u.fields.username.clone().unwrap_or_default().to_lowercase());
    let tenant_users = lookups.tenant_users.unwrap_or_default();
    let mut summary = SyncSummary {
        input: crate::input::reader::shown(&import.input.file),
        as_of: day_text(options.dates.as_of),
        leaver_actions: options.leavers.clone(),
        tenant_users,
        out_of_scope,
        leavers_by_absence: absent.len() as u64,
        leavers_by_end_date: ended.len() as u64,
        ..Default::default()
    };
    // ---- guard ----
    // Each leaver with the key of its ended row (none: found by absence).
    let (keys, mut leavers): (Vec<Option<String>>, Vec<Leaver>) = ended
        .into_iter()
        .map(|(key, user)| (Some(key), user))
        .chain(absent.into_iter().map(|user| (None, user)))
        .map(|(key, user)| {
            (
                key,
                Leaver::new(0, String::new(), Vec::new(), Found::User(Box::new(user))),
            )
        })
        .unzip();
    let taken = offboard::taken_by(&leavers, &options.leavers);
    let verdict = guard::check(&taken, tenant_users, options.limits).map_err(|refusal| {
        // Far fewer people than the tenant holds: most likely a cut file.
        let rows = first.scan.rows;
        if rows.saturating_mul(2) < tenant_users.saturating_sub(out_of_scope) {
            format!("the roster looks truncated: it has {rows} rows against the tenant's {tenant_users} users; {refusal}")
        } else {
            refusal
        }
    });
    let refused = match guard::enforce(verdict, import.run.dry_run, events) {
        Ok(refused) => refused,
        Err(refusal) => return Ok(Ended::Refused(Refused::Guard(refusal))),
    };
    summary.totals.refused = refused;
    let mut stamp = prepared::stamp(RunKind::Sync, import.run.dry_run, &client);
    events.on(Event::Phase("reading what leavers have"));
    offboard::read_holdings(&client, &mut leavers, &options.leavers).await?;
    if !import.run.dry_run && taken.affected() > 0 {
        let anchor = match &import.run.output {
            Some(output) if output.as_os_str() != "-" => output.as_path(),
            _ => import.input.file.as_path(),
        };
        let path = offboard::write_snapshot(anchor, &mut stamp, &leavers, &options.leavers)?;
        summary.snapshot = Some(path.display().to_string());
    }
    // ---- rows ----
    let created_groups = import::missing_groups(&client, &mut catalog, &first, import).await?;
    if !created_groups.is_empty() {
        let note = format!("groups created: {}", created_groups.join(", "));
        events.on(Event::Warning(&note));
    }
    let options_for_read = options.clone();
    let first_invalid = first.invalid.clone();
    let (header, mut rows) = crate::pipeline::read_blocking(move || {
        rows_of(
            &options_for_read,
            vocabulary,
            &first_invalid,
            (keys, leavers),
        )
    })
    .await?;
    name_joiners(&mut rows, &lookups, &client, options).await?;
    let action = SyncAction {
        import: Arc::new(ImportAction {
            catalog,
            lookups,
            policy: import.policy.clone(),
            dry_run: import.run.dry_run,
        }),
        offboard: OffboardAction {
            steps: options.leavers.clone(),
            dry_run: import.run.dry_run,
        },
        scope: options.scope.clone(),
        dates: options.dates,
    };
    let inputs = [import.input.file.as_path()];
    let setup = Setup {
        apply_memberships: true,
        ..Setup::of(
            &import.run,
            (&stamp, (&started.0, started.1)),
            (&inputs, &header),
            "syncing",
        )
    };
    let refused = summary.totals.refused.take();
    summary.totals = prepared::run(&client, setup, action, rows, stops, events).await?;
    summary.totals.refused = refused;
    let interrupted = summary.totals.interrupted;
    Ok(Ended::of(summary, interrupted))
}

/// The rows of the run, in order: the roster's rows (read again, with the
/// tenant's values learned), each a person or, when its end date has
/// passed and its user was found, a leaver; then the leavers no row
/// names, as rows of their own. Returns the input header with them.
fn rows_of(
    options: &SyncOptions,
    vocabulary: Arc<Vocabulary>,
    invalid: &std::collections::BTreeMap<u64, String>,
    (keys, leavers): (Vec<Option<String>>, Vec<Leaver>),
) -> Result<(Vec<String>, Vec<Prepared<SyncJob>>), RunError> {
    let input = &options.import.input;
    let match_by = input.rules.match_by;
    let mut ended: HashMap<String, Leaver> = HashMap::new();
    let mut absent: Vec<Leaver> = Vec::new();
    for (key, leaver) in keys.into_iter().zip(leavers) {
        match key {
            Some(key) => {
                ended.insert(key, leaver);
            }
            None => absent.push(leaver),
        }
    }
    let (mut source, mut validator, _) = open_with(input, vocabulary)?;
    let header = source.header().to_vec();
    let masked = validator.header().clone();
    let mut rows = Vec::new();
    let mut last_row = 0;
    while let Some(record) = source.next_record() {
        let record = record?;
        last_row = record.row;
        let (row_input, _) = validator.check(&record);
        let cells = masked.masked(&record.cells);
        let key = row_key(&row_input, match_by).map(match_key);
        let label = row_input
            .set
            .username
            .clone()
            .or_else(|| key.clone())
            .unwrap_or_default();
        let disposition = if let Some(reason) = &record.filtered {
            Disposition::Filtered(reason.clone())
        } else if let Some(reason) = invalid.get(&record.row) {
            Disposition::Invalid(reason.clone())
        } else {
            Disposition::Process
        };
        // The first ended row of a leaver is theirs; a second one finds
        // them as a person, already as the first left them.
        let leaver = match &disposition {
            Disposition::Process => key.as_ref().and_then(|k| ended.remove(k)),
            _ => None,
        };
        let job = match leaver {
            Some(mut leaver) => {
                leaver.row = record.row;
                leaver.label = label.clone();
                leaver.cells = cells.clone();
                SyncJob::Leaver(Box::new(leaver))
            }
            None => SyncJob::Person(Box::new(row_input), None),
        };
        rows.push(Prepared {
            row: record.row,
            label,
            cells,
            disposition,
            input: job,
        });
    }
    for (row, mut leaver) in (last_row + 1..).zip(absent) {
        let Found::User(user) = &leaver.found else {
            continue;
        };
        leaver.row = row;
        leaver.label = user.fields.username.clone().unwrap_or_default();
        leaver.cells = cells_of(&header, user);
        rows.push(Prepared {
            row,
            label: leaver.label.clone(),
            cells: leaver.cells.clone(),
            disposition: Disposition::Process,
            input: SyncJob::Leaver(Box::new(leaver)),
        });
    }
    Ok((header, rows))
}

/// Gives each joiner about to be created a username nobody else holds:
/// one held by another person (or given to an earlier joiner of this run)
/// gets the lowest free numeric suffix, in file order, or fails the row
/// with `--on-collision fail`. The holder being the same person (the
/// same email) is not a collision: that row is a conflict, decided later.
async fn name_joiners(
    rows: &mut [Prepared<SyncJob>],
    lookups: &Lookups,
    client: &Client,
    options: &SyncOptions,
) -> Result<(), RunError> {
    let mut claimed: std::collections::HashSet<String> = Default::default();
    for prepared in rows.iter_mut() {
        if !matches!(prepared.disposition, Disposition::Process) {
            continue;
        }
        let SyncJob::Person(input, note) = &mut prepared.input else {
            continue;
        };
        let Some(name) = input.set.username.clone() else {
            continue;
        };
        let met = lookups.find(client, input).await?;
        let joiner = matches!(met.found, lookup::Found::None)
            && matches!(
                action::decide(input, None, options.dates, &options.scope),
                action::Decision::Apply { .. }
            );
        if !joiner {
            continue;
        }
        let email = input.set.email.as_deref().map(match_key);
        let taken = |candidate: &str| {
            claimed.contains(&match_key(candidate))
                || lookups.username_holder(candidate).is_some_and(|holder| {
                    holder.fields.email.is_none()
                        || holder.fields.email.as_deref().map(match_key) != email
                })
        };
        if !taken(&name) {
            claimed.insert(match_key(&name));
            continue;
        }
        let free = (2..10_000u32)
            .map(|n| format!("{name}{n}"))
            .find(|candidate| !taken(candidate));
        match (options.on_collision, free) {
            (OnCollision::Suffix, Some(free)) => {
                *note = Some(format!(
                    "username '{name}' belongs to another person: created as '{free}'"
                ));
                claimed.insert(match_key(&free));
                input.set.username = Some(free.clone());
                prepared.label = free;
            }
            _ => {
                prepared.disposition = Disposition::Invalid(format!(
                    "username '{name}' belongs to another person (--on-collision fail): nothing created"
                ));
            }
        }
    }
    Ok(())
}

/// A leaver found by absence, in the roster's columns: the user's own
/// value wherever a column names one of its fields.
fn cells_of(header: &[String], user: &User) -> Vec<String> {
    header
        .iter()
        .map(|name| match column_for(name) {
            Some(Column::Text(field)) => user.fields.text(field).unwrap_or_default().to_string(),
            Some(Column::UserId) => user.id.clone(),
            _ => String::new(),
        })
        .collect()
}
