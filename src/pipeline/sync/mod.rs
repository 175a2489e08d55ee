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
use crate::input::{MatchBy, RowInput, Vocabulary};
use crate::model::User;
use crate::model::text::match_key;
use crate::output::results::RunKind;
use crate::pipeline::guard::{self, Limits};
use crate::pipeline::import::{self, FirstPass, ImportAction, ImportOptions, Roster, RosterKeys};
use crate::pipeline::offboard::{self, Found, Leaver, Step};
use crate::pipeline::prepared::{self, Setup};
use crate::pipeline::rehearsal;
use crate::pipeline::results_sink::RunTotals;
use crate::pipeline::runner::{Disposition, Job, JobSource, RunError, Stops};
use crate::pipeline::users::{NamedOtherwise, key_of};
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

pub use crate::pipeline::import::Refused;

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
    /// Users whose match key no current row carries but whose email or
    /// employee number one does: the roster names them under another key
    /// (a typo, a changed number), so they are kept, never let go; that
    /// row's outcome says `conflict`.
    #[serde(flatten)]
    pub named_otherwise: NamedOtherwise,
    pub leavers_by_absence: u64,
    pub leavers_by_end_date: u64,
    pub snapshot: Option<String>,
    /// How slashed dates were read (`dmy`, `mdy`), when an order was declared.
    pub date_order: Option<crate::model::dates::DateOrder>,
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
    named_otherwise: NamedOtherwise,
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
        if self.roster.names_otherwise(user) {
            self.named_otherwise.note(user);
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
    let (mut catalog, lookups, found) =
        read_tenant(&client, options, &first, &roster, events).await?;
    let vocabulary = import::learn_tenant_values(&client, &lookups, &mut first, import).await?;
    if first.refuses(import.past_invalid()) {
        return Ok(Ended::Refused(Refused::Rows(Box::new(first))));
    }
    let tenant_users = lookups.tenant_users.unwrap_or_default();
    let out_of_scope = found.out_of_scope;
    let mut summary = SyncSummary {
        input: crate::input::reader::shown(&import.input.file),
        as_of: day_text(options.dates.as_of),
        leaver_actions: options.leavers.clone(),
        tenant_users,
        out_of_scope,
        named_otherwise: found.named_otherwise.clone(),
        leavers_by_absence: found.keys.iter().filter(|k| k.is_none()).count() as u64,
        leavers_by_end_date: found.keys.iter().filter(|k| k.is_some()).count() as u64,
        date_order: import.input.vocabulary.date_order,
        ..Default::default()
    };
    // ---- guard ----
    let FoundLeavers {
        keys, mut leavers, ..
    } = found;
    let taken = offboard::taken_by(&leavers, &options.leavers);
    let refused = match guard_leavers(&taken, (first.scan.rows, &summary), options, events) {
        Ok(refused) => refused,
        Err(refusal) => return Ok(Ended::Refused(Refused::Guard(refusal))),
    };
    let mut stamp = prepared::stamp(RunKind::Sync, import.run.dry_run, &client);
    events.on(Event::Phase("reading what leavers have"));
    offboard::read_holdings(&client, &mut leavers, &options.leavers).await?;
    // Saved before the first write, with the movers the rows take access
    // from once the rehearsal has found them.
    let mut saved: Vec<Leaver> = match (import.run.dry_run, taken.affected()) {
        (false, 1..) => leavers.clone(),
        _ => Vec::new(),
    };
    // ---- rows ----
    let created_groups = import::missing_groups(&client, &mut catalog, &first, import).await?;
    if !created_groups.is_empty() {
        let note = format!("groups created: {}", created_groups.join(", "));
        events.on(Event::Warning(&note));
    }
    let importer = Arc::new(ImportAction::new(
        catalog,
        lookups,
        import.policy.clone(),
        import.run.dry_run,
    ));
    let (ended, absent) = split_leavers(keys, leavers);
    let count = first.scan.rows + absent.len() as u64;
    let roster = Arc::new(RosterRows {
        options: options.clone(),
        vocabulary,
        invalid: first.invalid.clone(),
        ended,
        absent,
        importer: importer.clone(),
    });
    let header = roster.header()?;
    let source: JobSource<SyncJob> = {
        let roster = roster.clone();
        Arc::new(move |emit| roster.read(emit))
    };
    let inputs = [import.input.file.as_path()];
    let offline = importer.lookups.decides_offline();
    if !import.run.dry_run && offline && rehearsal::needed(count, tenant_users, &options.limits) {
        let rehearsal = Setup {
            dry_run: true,
            output: None,
            ..Setup::of(
                &import.run,
                (&stamp, (&started.0, started.1)),
                (&inputs, &header),
                "",
            )
        };
        events.on(Event::Phase("checking what the rows change"));
        let action = SyncAction::new(importer.clone(), options);
        importer.rehearse(true);
        let quiet = rehearsal::Quiet(events);
        let rehearsed = (source.clone(), count);
        let rehearsed =
            prepared::run_source(&client, rehearsal, action, rehearsed, stops.clone(), &quiet)
                .await;
        importer.rehearse(false);
        rehearsed?;
        let mut changed = importer.take_changed();
        let limits = (options.limits, true);
        if let Err(refusal) = rehearsal::judge(&changed, tenant_users, limits, false, events) {
            return Ok(Ended::Refused(Refused::Guard(refusal)));
        }
        let movers = rehearsal::people_taken(&client, &mut changed, &saved).await?;
        saved.extend(movers);
    }
    if !saved.is_empty() {
        let anchor = import.run.files_beside(&import.input.file);
        let steps: Vec<&str> = options.leavers.iter().map(|s| s.name()).collect();
        let purpose = format!(
            "sync: leavers ({}) and access taken by updates",
            steps.join(",")
        );
        let people = (saved.as_slice(), purpose.as_str());
        let path = offboard::snapshot_of(anchor, &mut stamp, people, client.seal_key())?;
        summary.snapshot = Some(path.display().to_string());
    }
    let action = SyncAction::new(importer.clone(), options);
    let seal = plan_seal(options, &stamp, tenant_users, client.seal_key())?;
    let setup = Setup {
        apply_memberships: true,
        seal: Some(seal),
        ..Setup::of(
            &import.run,
            (&stamp, (&started.0, started.1)),
            (&inputs, &header),
            "syncing",
        )
    };
    summary.totals =
        prepared::run_source(&client, setup, action, (source, count), stops, events).await?;
    summary.totals.refused = refused.or(match import.run.dry_run {
        true => {
            let changed = importer.take_changed();
            let limits = (options.limits, true);
            rehearsal::judge(&changed, tenant_users, limits, true, events).unwrap_or_default()
        }
        false => None,
    });
    let interrupted = summary.totals.interrupted;
    Ok(Ended::of(summary, interrupted))
}

/// The seal of the plan a dry run writes: what it was made from, the
/// sync's own options and the day it was decided for.
fn plan_seal(
    options: &SyncOptions,
    stamp: &crate::output::results::RunStamp,
    tenant_users: u64,
    key: &crate::model::SealKey,
) -> Result<crate::output::plan_file::PlanSeal, RunError> {
    let import = &options.import;
    let extra = vec![
        format!("create-ahead={}", options.dates.create_ahead),
        format!(
            "leavers={}",
            options
                .leavers
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(",")
        ),
        format!("on-collision={:?}", options.on_collision).to_lowercase(),
    ];
    let mut seal = crate::pipeline::planned::seal_for(
        "sync",
        stamp,
        (&import.input, &import.policy, &import.run),
        (Some(tenant_users), extra),
        key,
    )?;
    seal.as_of = Some(day_text(options.dates.as_of));
    Ok(seal)
}

/// The one guard over what the run takes away: `Err` when a real run is
/// refused, a dry run's would-be refusal otherwise. A roster far shorter
/// than the users the sync owns is said to look truncated.
fn guard_leavers(
    taken: &guard::Taken,
    (rows, summary): (u64, &SyncSummary),
    options: &SyncOptions,
    events: &dyn Events,
) -> Result<Option<String>, String> {
    let tenant_users = summary.tenant_users;
    let verdict = guard::check(taken, tenant_users, options.limits).map_err(|refusal| {
        if rows.saturating_mul(2) < tenant_users.saturating_sub(summary.out_of_scope) {
            format!(
                "the roster looks truncated: it has {rows} rows against the tenant's {tenant_users} users; {refusal}"
            )
        } else {
            refusal
        }
    });
    guard::enforce(verdict, options.import.run.dry_run, events)
}

/// The leavers the tenant's listing found, each with the key of its ended
/// row (none: found by absence), and the users outside the scope.
struct FoundLeavers {
    keys: Vec<Option<String>>,
    leavers: Vec<Leaver>,
    out_of_scope: u64,
    named_otherwise: NamedOtherwise,
}

/// Reads what the rows are decided against, the catalog and the users
/// (one listing, page 1 beside the catalog), finding the leavers as the
/// users go by.
async fn read_tenant(
    client: &Client,
    options: &SyncOptions,
    first: &FirstPass,
    roster: &Roster,
    events: &dyn Events,
) -> Result<(Catalog, Lookups, FoundLeavers), RunError> {
    let import = &options.import;
    let match_by = import.input.rules.match_by;
    let (catalog, probe) = futures::try_join!(Catalog::load(client), lookup::probe_users(client))?;
    let mut watch = LeaverWatch {
        roster,
        match_by,
        scope: &options.scope,
        ended: HashMap::new(),
        absent: Vec::new(),
        out_of_scope: 0,
        named_otherwise: NamedOtherwise::default(),
    };
    events.on(Event::Phase("reading the tenant"));
    let lookups = Lookups::prepare(
        client,
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
        named_otherwise,
        ..
    } = watch;
    absent.sort_by_key(|u| u.fields.username.clone().unwrap_or_default().to_lowercase());
    let (keys, leavers) = ended
        .into_iter()
        .map(|(key, user)| (Some(key), user))
        .chain(absent.into_iter().map(|user| (None, user)))
        .map(|(key, user)| {
            let found = Found::User(Box::new(user));
            (key, Leaver::new(0, String::new(), Vec::new(), found))
        })
        .unzip();
    let found = FoundLeavers {
        keys,
        leavers,
        out_of_scope,
        named_otherwise,
    };
    Ok((catalog, lookups, found))
}

/// Each leaver by the key of its ended row, and the leavers found by absence.
fn split_leavers(
    keys: Vec<Option<String>>,
    leavers: Vec<Leaver>,
) -> (HashMap<String, Leaver>, Vec<Leaver>) {
    let mut ended = HashMap::new();
    let mut absent = Vec::new();
    for (key, leaver) in keys.into_iter().zip(leavers) {
        match key {
            Some(key) => {
                ended.insert(key, leaver);
            }
            None => absent.push(leaver),
        }
    }
    (ended, absent)
}

/// The rows of the run, read as they are run (never all held): the
/// roster's rows, read again with the tenant's values learned, each a
/// person or, when its end date has passed and its user was found, a
/// leaver; then the leavers no row names, as rows of their own. Read the
/// same every time (the runner reads again for rows an interrupt cut).
struct RosterRows {
    options: SyncOptions,
    vocabulary: Arc<Vocabulary>,
    invalid: std::collections::BTreeMap<u64, String>,
    ended: HashMap<String, Leaver>,
    absent: Vec<Leaver>,
    /// For the joiners' usernames: the tenant as listed.
    importer: Arc<ImportAction>,
}

impl RosterRows {
    /// The roster's header, as the results repeat it.
    fn header(&self) -> Result<Vec<String>, RunError> {
        let (source, _, _) = open_with(&self.options.import.input, self.vocabulary.clone())?;
        Ok(source.echo_header().to_vec())
    }

    fn read(&self, emit: &mut dyn FnMut(Job<SyncJob>) -> bool) -> Result<(), RunError> {
        let input = &self.options.import.input;
        let match_by = input.rules.match_by;
        let (mut source, mut validator, _) = open_with(input, self.vocabulary.clone())?;
        let header = source.echo_header().to_vec();
        let masked = validator.header().clone();
        let mut last_row = 0;
        let mut taken_leavers: std::collections::HashSet<String> = Default::default();
        let mut claimed: std::collections::HashSet<String> = Default::default();
        while let Some(record) = source.next_record() {
            let record = record?;
            last_row = record.row;
            let (row_input, _) = validator.check(&record);
            let cells = source.echo(&record, &masked);
            let key = row_key(&row_input, match_by).map(match_key);
            let mut label = row_input
                .set
                .username
                .clone()
                .or_else(|| key.clone())
                .unwrap_or_default();
            let mut disposition = if let Some(reason) = &record.filtered {
                Disposition::Filtered(reason.clone())
            } else if let Some(reason) = self.invalid.get(&record.row) {
                Disposition::Invalid(reason.clone())
            } else {
                Disposition::Process
            };
            // The first ended row of a leaver is theirs; a second one finds
            // them as a person, already as the first left them.
            let leaver = match (&disposition, &key) {
                (Disposition::Process, Some(key)) if !taken_leavers.contains(key) => {
                    self.ended.get(key).cloned()
                }
                _ => None,
            };
            let job = match leaver {
                Some(mut leaver) => {
                    taken_leavers.extend(key.clone());
                    leaver.row = record.row;
                    leaver.label = label.clone();
                    leaver.cells = cells.clone();
                    SyncJob::Leaver(Box::new(leaver))
                }
                None => {
                    let mut row_input = row_input;
                    let mut note = None;
                    if matches!(disposition, Disposition::Process) {
                        match self.name_joiner(&mut row_input, &mut claimed) {
                            Ok(Some((name, why))) => {
                                label = name;
                                note = Some(why);
                            }
                            Ok(None) => {}
                            Err(why) => disposition = Disposition::Invalid(why),
                        }
                    }
                    SyncJob::Person(Box::new(row_input), note)
                }
            };
            let job = Job {
                row: record.row,
                label,
                cells,
                disposition,
                input: job,
            };
            if !emit(job) {
                return Ok(());
            }
        }
        for (row, leaver) in (last_row + 1..).zip(&self.absent) {
            let Found::User(user) = &leaver.found else {
                continue;
            };
            let mut leaver = leaver.clone();
            leaver.row = row;
            leaver.label = user.fields.username.clone().unwrap_or_default();
            leaver.cells = cells_of(&header, user);
            let job = Job {
                row,
                label: leaver.label.clone(),
                cells: leaver.cells.clone(),
                disposition: Disposition::Process,
                input: SyncJob::Leaver(Box::new(leaver)),
            };
            if !emit(job) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Gives a joiner about to be created a username nobody else holds:
    /// one held by another person (or given to an earlier joiner of this
    /// run) gets the lowest free numeric suffix, in file order —
    /// `Ok(Some((name, note)))` — or, with `--on-collision fail`, fails
    /// the row (`Err`). The holder being the same person (the same email)
    /// is not a collision: that row is a conflict, decided when it runs.
    fn name_joiner(
        &self,
        input: &mut RowInput,
        claimed: &mut std::collections::HashSet<String>,
    ) -> Result<Option<(String, String)>, String> {
        let options = &self.options;
        let Some(name) = input.set.username.clone() else {
            return Ok(None);
        };
        let lookups = &self.importer.lookups;
        let joiner = matches!(lookups.listed(input), Some(lookup::Found::None))
            && matches!(
                action::decide(input, None, options.dates, &options.scope),
                action::Decision::Apply { .. }
            );
        if !joiner {
            return Ok(None);
        }
        let email = input.set.email.as_deref().map(match_key);
        let taken = |candidate: &str, claimed: &std::collections::HashSet<String>| {
            claimed.contains(&match_key(candidate))
                || lookups.username_holder(candidate).is_some_and(|holder| {
                    holder.fields.email.is_none()
                        || holder.fields.email.as_deref().map(match_key) != email
                })
        };
        if !taken(&name, claimed) {
            claimed.insert(match_key(&name));
            return Ok(None);
        }
        let free = (2..10_000u32)
            .map(|n| format!("{name}{n}"))
            .find(|candidate| !taken(candidate, claimed));
        match (options.on_collision, free) {
            (OnCollision::Suffix, Some(free)) => {
                claimed.insert(match_key(&free));
                input.set.username = Some(free.clone());
                let note =
                    format!("username '{name}' belongs to another person: created as '{free}'");
                Ok(Some((free, note)))
            }
            _ => Err(format!(
                "username '{name}' belongs to another person (--on-collision fail): nothing created"
            )),
        }
    }
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
