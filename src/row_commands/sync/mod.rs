//! `sync ROSTER`: the directory made to match HR's complete roster in one
//! guarded run, on the roster's dates, as of one day (`--as-of`; nothing
//! else reads the clock).
//!
//! The roster is read and checked whole first (as import does; an
//! invalid row stops only itself unless the roster looks broken: see
//! [`invalid`]); the one
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
pub mod invalid;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

pub use action::{Dates, Scope, SyncAction, SyncJob};

use crate::api::Client;
use crate::decision::Catalog;
use crate::decision::lookup::{self, Lookups, row_key};
use crate::engine::RunEnd;
use crate::engine::decided_rows::{self, RunSpec};
use crate::engine::guard::{self, Limits};
use crate::engine::leavers::{self, Found, Leaver, Step};
use crate::engine::rehearsal;
use crate::engine::results_sink::RunTotals;
use crate::engine::roster::{FirstPass, RosterKeys};
use crate::engine::runner::{Disposition, Job, JobSource, RunError, Stops};
use crate::engine::upsert::{self, UpsertAction, UpsertOptions};
use crate::engine::users::Roster;
use crate::engine::users::{NamedOtherwise, key_of};
use crate::events::{Event, Events};
use crate::input::columns::{Column, column_for};
use crate::input::scan::open_with;
use crate::input::{MatchBy, RowInput, Vocabulary};
use crate::model::User;
use crate::model::text::match_key;
use crate::output::results_file::writer::RunKind;

/// What a sync is asked to do.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The roster as import reads a file (mapping, match key, policy),
    /// and where the results go.
    pub import: UpsertOptions,
    pub dates: Dates,
    /// What happens to leavers (the offboard actions).
    pub leavers: Vec<Step>,
    pub limits: Limits,
    /// The users the sync owns: never protected or privileged ones
    /// (unless included), and only those every `--scope` filter keeps.
    pub scope: Scope,
    /// What a joiner gets when its username belongs to another person.
    pub on_collision: OnCollision,
    /// `--skip-invalid`: go on past any number of invalid rows (without
    /// it, a roster that looks broken is refused: see [`invalid`]).
    pub any_invalid: bool,
    /// The roster's usernames are made (`--username-from`, a mapping's
    /// template), not read: they name joiners only, and a user matched by
    /// another key keeps the username it has.
    pub derived_usernames: bool,
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

pub use crate::engine::upsert::Refused;

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
    /// The roster's invalid rows and the rule that would refuse them.
    #[serde(flatten)]
    pub invalid: invalid::InvalidRows,
}

impl SyncSummary {
    /// What is known once the roster and the tenant are read: the day,
    /// the leavers found, the users outside the scope, the invalid rows.
    fn before_run(
        options: &SyncOptions,
        (first, found): (&FirstPass, &FoundLeavers),
        tenant_users: u64,
    ) -> Self {
        let input = &options.import.input;
        SyncSummary {
            input: crate::input::reader::shown(&input.file),
            as_of: day_text(options.dates.as_of),
            leaver_actions: options.leavers.clone(),
            tenant_users,
            out_of_scope: found.out_of_scope,
            named_otherwise: found.named_otherwise.clone(),
            leavers_by_absence: found
                .leavers
                .iter()
                .filter(|l| l.ended_by.is_none())
                .count() as u64,
            leavers_by_end_date: found
                .leavers
                .iter()
                .filter(|l| l.ended_by.is_some())
                .count() as u64,
            date_order: input.vocabulary.date_order,
            invalid: invalid_rows(first, options),
            ..Default::default()
        }
    }
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

/// The roster's invalid rows under the rule of [`invalid`].
fn invalid_rows(first: &FirstPass, options: &SyncOptions) -> invalid::InvalidRows {
    let rows = first.scan.rows.saturating_sub(first.scan.filtered);
    invalid::InvalidRows::of(first.invalid.len() as u64, rows, options.any_invalid)
}

/// The run refused when its roster looks broken (too many invalid rows:
/// see [`invalid`]); a dry run plans it all and says a real run would
/// be refused (once `settled`: the tenant's values known).
fn broken_roster(
    first: &mut FirstPass,
    options: &SyncOptions,
    (events, settled): (&dyn Events, bool),
) -> Option<Refused> {
    let rows = first.scan.rows.saturating_sub(first.scan.filtered);
    let refusal = invalid_rows(first, options).refusal(rows)?;
    if options.import.run.dry_run {
        if settled {
            let note = format!("a real run would be refused: {refusal}");
            events.on(Event::Warning(&note));
        }
        return None;
    }
    first.broken = Some(refusal);
    Some(Refused::Rows(Box::new(std::mem::take(first))))
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
) -> Result<RunEnd<SyncSummary, Refused>, RunError> {
    let started = crate::engine::results_sink::RunClock::start();
    let import = &options.import;
    let (first, (mut catalog, lookups, found), vocabulary) =
        match read_roster_and_tenant(&client, options, events).await? {
            Ok(read) => read,
            Err(refused) => return Ok(RunEnd::Refused(refused)),
        };
    let tenant_users = lookups.tenant_users.unwrap_or_default();
    let mut summary = SyncSummary::before_run(options, (&first, &found), tenant_users);
    // ---- guard ----
    let FoundLeavers { mut leavers, .. } = found;
    let guarded = (&mut leavers, &mut summary);
    let (refused, mut stamp, mut saved) =
        match leavers_first(&client, options, guarded, first.scan.rows, events).await? {
            Ok(guarded) => guarded,
            Err(refusal) => return Ok(RunEnd::Refused(Refused::Guard(refusal.into()))),
        };
    // ---- rows ----
    let created = upsert::plan_missing_groups(&mut catalog, &first, import);
    let importer = Arc::new(UpsertAction::new(
        catalog,
        lookups,
        import.policy.clone(),
        import.run.dry_run,
    ));
    let (ended, absent) = split_leavers(leavers);
    let count = first.scan.rows + absent.len() as u64;
    let roster = Arc::new(RosterRows {
        options: options.clone(),
        vocabulary,
        invalid: first.invalid.clone(),
        ended,
        absent,
        importer: importer.clone(),
    });
    let header = first.scan.echo_header.clone();
    let source: JobSource<SyncJob> = Arc::new(move |emit| roster.read(emit));
    let inputs = [import.input.file.as_path()];
    let offline = importer.lookups.decides_offline();
    // Groups to create are created only for rows the rehearsal keeps.
    let needed = rehearsal::needed(count, tenant_users, &options.limits) || !created.is_empty();
    let rehearsed = !import.run.dry_run && offline && needed;
    if rehearsed {
        let rehearsal = RunSpec {
            dry_run: true,
            output: None,
            ..RunSpec::of(&import.run, (&stamp, &started), (&inputs, &header), "")
        };
        let rows = (source.clone(), count);
        let rehearsed = Rehearsal {
            client: &client,
            importer: &importer,
            options,
            tenant_users,
        };
        match rehearsed
            .judge(rehearsal, rows, (stops.clone(), &saved), events)
            .await?
        {
            Ok(movers) => saved.extend(movers),
            Err(refusal) => return Ok(RunEnd::Refused(Refused::Guard(refusal.into()))),
        }
    }
    // Groups the rows name are created only once the run is cleared.
    let run = (stamp.run_id.as_str(), None);
    let created = upsert::groups_before_rows(
        &client,
        &importer,
        import,
        upsert::MissingGroups {
            names: &created,
            rehearsed,
        },
        run,
    )
    .await?;
    warn_created(&created, events);
    if let Some(path) = save_first(&client, options, &mut stamp, &saved)? {
        summary.snapshot = Some(path);
    }
    let action = SyncAction::new(importer.clone(), options);
    let seal = plan_seal(options, &stamp, tenant_users, client.seal_key())?;
    let run_spec = RunSpec {
        apply_memberships: true,
        seal: Some(seal),
        ..RunSpec::of(
            &import.run,
            (&stamp, &started),
            (&inputs, &header),
            "syncing",
        )
    };
    summary.totals =
        decided_rows::run_source(&client, run_spec, action, (source, count), stops, events).await?;
    let refused =
        refused.or_else(|| dry_run_refusal((options, &client), &importer, tenant_users, events));
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::planned(summary, interrupted, refused))
}

/// Says which groups the run created because the roster names them.
fn warn_created(created: &[String], events: &dyn Events) {
    if !created.is_empty() {
        events.on(Event::Warning(&format!(
            "groups created: {}",
            created.join(", ")
        )));
    }
}

/// Why the real run would be refused by the rows' guard, for a dry run
/// (which ends as the real run would); `None` for a real run.
fn dry_run_refusal(
    (options, client): (&SyncOptions, &Client),
    importer: &UpsertAction,
    tenant_users: u64,
    events: &dyn Events,
) -> Option<String> {
    let changed = options
        .import
        .run
        .dry_run
        .then(|| importer.take_changed())?;
    let limits = (options.limits, true);
    rehearsal::judge(&changed, tenant_users, limits, (true, client), events).unwrap_or_default()
}

/// What the rows are decided on: the roster read and checked whole, the
/// tenant read (the leavers found as it is listed), and the values it
/// uses learned; `Err` inside when the roster's rows refuse the run.
async fn read_roster_and_tenant(
    client: &Client,
    options: &SyncOptions,
    events: &dyn Events,
) -> Result<Result<(FirstPass, (Catalog, Lookups, FoundLeavers), Arc<Vocabulary>), Refused>, RunError>
{
    let import = &options.import;
    let roster_keys = RosterKeys::AsOf(options.dates.as_of);
    let mut first = match upsert::read_input(import, roster_keys, events).await? {
        Ok(first) => first,
        Err(first) => return Ok(Err(Refused::Rows(Box::new(first)))),
    };
    // Checked before the tenant is read, and again once its values settle
    // the rows only it could vouch for.
    if let Some(broken) = broken_roster(&mut first, options, (events, false)) {
        return Ok(Err(broken));
    }
    let roster = first.roster.take().unwrap_or_default();
    let (catalog, lookups, found) = read_tenant(client, options, &first, &roster, events).await?;
    let vocabulary = upsert::learn_tenant_values(client, &lookups, &mut first, import).await?;
    if first.refuses(import.past_invalid()) {
        return Ok(Err(Refused::Rows(Box::new(first))));
    }
    if let Some(broken) = broken_roster(&mut first, options, (events, true)) {
        return Ok(Err(broken));
    }
    Ok(Ok((first, (catalog, lookups, found), vocabulary)))
}

/// The one guard over what the leavers lose (`Err` inside: refused),
/// then what they hold read and, for a real run that takes something
/// away, the snapshot written: a dry run's would-be refusal and the
/// run's stamp.
async fn leavers_first(
    client: &Client,
    options: &SyncOptions,
    (leavers, summary): (&mut Vec<Leaver>, &mut SyncSummary),
    rows: u64,
    events: &dyn Events,
) -> Result<Result<LeaversFirst, String>, RunError> {
    let run = &options.import.run;
    let taken = leavers::taken_by(leavers, &options.leavers);
    let refused = match guard_leavers(&taken, (rows, summary), (options, client), events) {
        Ok(refused) => refused,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let stamp = decided_rows::stamp(RunKind::Sync, run.dry_run, client);
    events.on(Event::Phase("reading what leavers have"));
    leavers::read_holdings(client, leavers, &options.leavers).await?;
    // Saved before the first write, with the movers the rows take access
    // from once the rehearsal has found them.
    let saved = match (run.dry_run, taken.affected()) {
        (false, 1..) => leavers.clone(),
        _ => Vec::new(),
    };
    Ok(Ok((refused, stamp, saved)))
}

/// What the leavers' guard hands on: a dry run's would-be refusal, the
/// run's stamp, and the leavers to save before the first write.
type LeaversFirst = (
    Option<String>,
    crate::output::results_file::writer::RunStamp,
    Vec<Leaver>,
);

/// The snapshot of the leavers and of the movers the rows take access
/// from, written before the first write (its path; none when nobody
/// loses anything).
fn save_first(
    client: &Client,
    options: &SyncOptions,
    stamp: &mut crate::output::results_file::writer::RunStamp,
    saved: &[Leaver],
) -> Result<Option<String>, RunError> {
    if saved.is_empty() {
        return Ok(None);
    }
    let import = &options.import;
    let anchor = import.run.files_beside(&import.input.file);
    let steps: Vec<&str> = options.leavers.iter().map(|s| s.name()).collect();
    let purpose = format!(
        "sync: leavers ({}) and access taken by updates",
        steps.join(",")
    );
    let people = (saved, purpose.as_str());
    let path = leavers::snapshot_of(anchor, stamp, people, client.seal_key())?;
    Ok(Some(path.display().to_string()))
}

/// A real run's rows decided once before its first write, nothing sent,
/// so the guard judges what they would change (see [`rehearsal`]).
struct Rehearsal<'a> {
    client: &'a Client,
    importer: &'a Arc<UpsertAction>,
    options: &'a SyncOptions,
    tenant_users: u64,
}

impl Rehearsal<'_> {
    /// The guard's verdict on what the rows would change: `Err` inside
    /// when it refuses the run, else the movers they take access from
    /// (none of the leavers already `saved`), their holdings read.
    async fn judge(
        &self,
        run_spec: RunSpec<'_>,
        rows: (JobSource<SyncJob>, u64),
        (stops, saved): (Stops, &[Leaver]),
        events: &dyn Events,
    ) -> Result<Result<Vec<Leaver>, String>, RunError> {
        events.on(Event::Phase("checking what the rows change"));
        let action = SyncAction::new(self.importer.clone(), self.options);
        self.importer.rehearse(true);
        let quiet = rehearsal::Quiet(events);
        let client = self.client.rehearsing();
        let rehearsed =
            decided_rows::run_source(&client, run_spec, action, rows, stops, &quiet).await;
        self.importer.rehearse(false);
        rehearsed?;
        let changed = self.importer.take_changed();
        let judged = (self.tenant_users, (self.options.limits, true));
        rehearsal::verdict(self.client, changed, judged, saved, events).await
    }
}

/// The seal of the plan a dry run writes: what it was made from, the
/// sync's own options and the day it was decided for.
fn plan_seal(
    options: &SyncOptions,
    stamp: &crate::output::results_file::writer::RunStamp,
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
    let mut seal = crate::engine::plan_rows::seal_for(
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
    (options, client): (&SyncOptions, &Client),
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
    guard::enforce(verdict, (options.import.run.dry_run, client), events)
}

/// The leavers the tenant's listing found, each with the key of its ended
/// row (none: found by absence), and the users outside the scope.
struct FoundLeavers {
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
    let groups = catalog.groups.targets();
    import
        .policy
        .privilege
        .learn_members(client, Some(&groups))
        .await?;
    options
        .scope
        .protection
        .share_members(&import.policy.privilege);
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
    let leavers = ended
        .into_iter()
        .map(|(key, user)| Leaver::listed(user, Some(key)))
        .chain(absent.into_iter().map(|user| Leaver::listed(user, None)))
        .collect();
    let found = FoundLeavers {
        leavers,
        out_of_scope,
        named_otherwise,
    };
    Ok((catalog, lookups, found))
}

/// Each leaver by the key of its ended row, and the leavers found by absence.
fn split_leavers(leavers: Vec<Leaver>) -> (HashMap<String, Leaver>, Vec<Leaver>) {
    let mut ended = HashMap::new();
    let mut absent = Vec::new();
    for leaver in leavers {
        match leaver.ended_by.clone() {
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
    importer: Arc<UpsertAction>,
}

impl RosterRows {
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
                                note = why;
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
    /// the roster's (or the one `--username-from` or the mapping's template
    /// made), else, keyed on something else, the email's local part. One
    /// held by another person (or given to an earlier joiner of this run)
    /// gets the lowest free numeric suffix, in file order —
    /// `Ok(Some((name, note)))` — or, with `--on-collision fail`, fails
    /// the row (`Err`). The holder being the same person (the same email)
    /// is not a collision, nor is one with the same first and last name
    /// and no contradicting employee number (most likely the same person
    /// under another key): that row is a conflict, decided when it runs.
    /// A row that is no joiner keeps no made-up username: its user keeps
    /// its own (`Ok(Some((its username, None)))`, for the row's label).
    fn name_joiner(
        &self,
        input: &mut RowInput,
        claimed: &mut std::collections::HashSet<String>,
    ) -> Result<Option<(String, Option<String>)>, String> {
        let options = &self.options;
        let lookups = &self.importer.lookups;
        let listed = lookups.listed(input);
        let joiner = matches!(listed, Some(lookup::Found::None))
            && matches!(
                action::decide(input, None, options.dates, &options.scope),
                action::Decision::Apply { .. }
            );
        let keyed_otherwise = options.import.input.rules.match_by != MatchBy::Username;
        if !joiner {
            // A username made for joiners never renames a user matched by
            // another key: it keeps the one it has.
            if keyed_otherwise && options.derived_usernames {
                input.set.username = None;
                if let Some(lookup::Found::One(user)) = listed {
                    return Ok(user.fields.username.clone().map(|name| (name, None)));
                }
            }
            return Ok(None);
        }
        let mut said = None;
        let name = match input.set.username.clone() {
            Some(name) => name,
            None if keyed_otherwise => {
                let name = joiner_username(input)?;
                said = Some(format!(
                    "username '{name}' is the email's local part (the roster gives none)"
                ));
                input.set.username = Some(name.clone());
                name
            }
            None => return Ok(None),
        };
        let email = input.set.email.as_deref().map(match_key);
        let person = input.clone();
        let taken = |candidate: &str, claimed: &std::collections::HashSet<String>| {
            claimed.contains(&match_key(candidate))
                || lookups.username_holder(candidate).is_some_and(|holder| {
                    let same_email = holder.fields.email.is_some()
                        && holder.fields.email.as_deref().map(match_key) == email;
                    !same_email && !crate::decision::decide::probably_same_person(&person, &holder)
                })
        };
        if !taken(&name, claimed) {
            claimed.insert(match_key(&name));
            return Ok(said.map(|note| (name, Some(note))));
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
                Ok(Some((free, Some(note))))
            }
            _ => Err(format!(
                "username '{name}' belongs to another person (--on-collision fail): nothing created"
            )),
        }
    }
}

/// The username a joiner of a roster without one gets by default: its
/// email's local part (`--username-from` or a mapping's `username`
/// template say otherwise); why not, when it has none to give.
fn joiner_username(input: &RowInput) -> Result<String, String> {
    let Some(email) = input.set.email.as_deref() else {
        return Err("a joiner needs a username: the roster gives none and this row has no email to take one from (add a username column, or a mapping template)".to_string());
    };
    let name = crate::input::UsernameFrom::LocalPart.derive(email);
    match crate::model::rules::text_problem("username", &name) {
        None => Ok(name),
        Some(why) => Err(format!("the username taken from the email {why}")),
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
