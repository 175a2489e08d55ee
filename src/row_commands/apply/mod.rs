//! `apply PLAN`: a reviewed plan carried out exactly — the same rows, the
//! same writes, nothing decided again from the input. The plan is read
//! whole and checked against its seal (a plan changed after it was
//! written is refused), must be for this tenant, and must not need a
//! password only the input held. Before any write, the users it touches
//! are read again ([`drift`]): if any changed, the whole apply is refused
//! with the drifted rows listed, or with `--skip-drifted` those rows are
//! skipped. Leavers pass the guard, with a snapshot written first. The
//! results are an import's (or a sync's), so `undo` reverses an apply.

mod drift;
mod landed;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

pub use crate::engine::plan_rows::PlannedWrites;

use crate::api::{ApiError, Client};
use crate::decision::PlanAction;
use crate::engine::decided_rows::{self, DecidedRow, ResultsOptions, RunSpec};
use crate::engine::guard::{self, Limits};
use crate::engine::leavers::{self, Found, Leaver, OffboardAction, Step};
use crate::engine::results_sink::{ResumedRows, RunTotals};
use crate::engine::runner::{Disposition, ProcessedRow, RowAction, RunError, Stops, finish_with};
use crate::engine::{RunEnd, batcher::Pending};
use crate::events::{Event, Events};
use crate::output::plan_file::{self, PlanLine, ReadPlan};
use crate::output::results_file::writer::RunKind;
use crate::output::{Outcome, RowResult};

/// What an apply is asked to do.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub plan: PathBuf,
    /// Skip the rows whose users changed since the plan, apply the rest.
    pub skip_drifted: bool,
    pub limits: Limits,
    /// Who is never touched (`--protect`, privileged users unless included).
    pub protection: guard::Protection,
    /// Users a row may raise or change although privileged.
    pub privilege: crate::decision::access::PrivilegeRules,
    /// The day the apply is for (`--as-of`, else today): a plan decided
    /// for another day is refused.
    pub as_of: String,
    pub run: ResultsOptions,
}

/// What an apply did, for the screen and `--summary-json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ApplySummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub plan: String,
    /// The dry run that wrote the plan, and what it planned.
    pub planned_by: String,
    pub command: String,
    pub input: String,
    pub as_of: Option<String>,
    /// Rows whose users changed since the plan (skipped with `--skip-drifted`).
    pub drifted: u64,
    pub snapshot: Option<String>,
}

/// One row of an apply.
#[derive(Debug, Clone)]
pub enum ApplyJob {
    /// A create or update, as import runs it; with the outcome the plan
    /// named it by (a sync's `rehired`).
    Write(Box<crate::decision::RowPlan>, Outcome),
    /// A leaver offboarded with the plan's steps.
    Leave(Box<Leaver>, Vec<Step>),
    /// Nothing is sent: the outcome the plan gave the row, and why.
    Carry(Outcome, String),
    /// A row a killed apply wrote the user of (only its journal says so):
    /// its memberships are finished, those not made yet.
    Finish(Box<Unfinished>),
}

/// What finishing a row a killed apply left takes: what it recorded, and
/// the memberships the plan changes.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub prior: RowResult,
    pub groups: crate::engine::plan_rows::Delta,
    pub applications: crate::engine::plan_rows::Delta,
}

/// Rows an interrupted apply finished (done: not checked, not sent),
/// rows whose user only its journal knows was written (unfinished), and
/// rows whose write was on the wire at a kill (row → the run sending it).
type Resumed = (
    HashMap<u64, RowResult>,
    HashMap<u64, RowResult>,
    HashMap<u64, String>,
);

/// What the guard and the rehearsal make of the plan: a dry run's
/// would-be refusal, every leaver step, what the leavers lose and what
/// the plan's writes change.
type Judged = (Option<String>, Vec<Step>, guard::Taken, guard::Changed);

/// A leaver of the plan, with its own row's steps.
type Leaving = (Leaver, Vec<Step>);

/// The plan's leavers (read before the run), every step they take, and
/// whether any of them is affected (then they are snapshotted).
type Taking = (Vec<Leaving>, Vec<Step>, bool);

/// Applies the plan `options` names.
pub async fn run(
    client: Client,
    options: &ApplyOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<RunEnd<ApplySummary>, RunError> {
    let started = crate::engine::results_sink::RunClock::start();
    // A plain user in a privileged group is as privileged as an admin.
    options.privilege.learn_members(&client, None).await?;
    options.protection.share_members(&options.privilege);
    events.on(Event::Phase("reading the plan"));
    let path = options.plan.clone();
    let key = client.seal_key().clone();
    let plan = crate::engine::read_blocking(move || plan_file::read(&path, &key)).await?;
    let exacts = match exacts_of(&plan, (client.tenant(), &options.as_of)) {
        Ok(exacts) => exacts,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    if let Some(refusal) = groups_to_create(&exacts) {
        return Ok(RunEnd::Refused(refusal.into()));
    }
    let (claimed, mut unfinished, in_flight) = resumed_rows(&plan, &client, options, events)?;
    events.on(Event::Phase("checking the plan against the tenant"));
    // Rows the resumed results say are done are read again with the rest:
    // a results file is taken at its word only where the tenant agrees.
    let mut found = check_drift(&client, &plan, &exacts, (&HashMap::new(), &unfinished)).await?;
    let plan_rows = (plan.lines.as_slice(), exacts.as_slice());
    let done = landed::confirm_done(&client, &mut found, plan_rows, claimed).await?;
    // A row whose write was on the wire at a kill, and landed, is not drift.
    if !in_flight.is_empty() {
        unfinished.extend(landed::settle(&client, &mut found, plan_rows, &in_flight).await?);
    }
    let mut summary = ApplySummary {
        plan: options.plan.display().to_string(),
        planned_by: plan.seal.run_id.clone(),
        command: plan.seal.command.clone(),
        input: plan.seal.input.clone(),
        as_of: plan.seal.as_of.clone(),
        drifted: found.drifted.len() as u64,
        ..Default::default()
    };
    if let Some(refusal) = refuse_drifted(&plan, &found, options, events) {
        return Ok(RunEnd::Refused(refusal.into()));
    }
    let (mut rows, leavers) = jobs(&plan, exacts, (&found, options), (done, unfinished));
    let tenant_users = found.tenant_users.or(plan.seal.tenant_users).unwrap_or(0);
    let (refused, steps, taken, mut changed) = match judge(
        &plan,
        (&rows, &leavers),
        (&found, tenant_users),
        &client,
        options,
        events,
    ) {
        Ok(judged) => judged,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    let mut stamp = decided_rows::stamp(RunKind::Apply, options.run.dry_run, &client);
    let taking = (leavers, steps, taken.affected() > 0);
    summary.snapshot = snapshot_first(
        &client,
        (&mut rows, taking),
        &mut changed,
        &mut stamp,
        options,
        events,
    )
    .await?;
    let inputs = [options.plan.as_path()];
    let run_spec = RunSpec {
        apply_memberships: true,
        ..RunSpec::of(
            &options.run,
            (&stamp, &started),
            (&inputs, &plan.input_header),
            "applying",
        )
    };
    let action = ApplyAction {
        dry_run: options.run.dry_run,
    };
    summary.totals = decided_rows::run(&client, run_spec, action, rows, stops, events).await?;
    let interrupted = summary.totals.interrupted;
    Ok(RunEnd::planned(summary, interrupted, refused))
}

/// The plan's rows a resumed apply does not send again: those it
/// finished (done), and those whose user only its journal knows was
/// written (unfinished: their memberships are finished, their user not
/// taken as done nor checked for drift, since it changed by this plan's
/// own write).
fn resumed_rows(
    plan: &ReadPlan,
    client: &Client,
    options: &ApplyOptions,
    events: &dyn Events,
) -> Result<Resumed, RunError> {
    let resumed = ResumedRows::open(
        options.run.resume.as_deref(),
        (client.tenant(), client.seal_key()),
        events,
    )?;
    let mut done: HashMap<u64, RowResult> = plan
        .lines
        .iter()
        .filter_map(|line| Some((line.row, resumed.done(line.row, &line.cells)?)))
        .collect();
    let unfinished: HashMap<u64, RowResult> = plan
        .lines
        .iter()
        .filter_map(|line| Some((line.row, resumed.unfinished(line.row, &line.cells)?)))
        .collect();
    done.retain(|row, _| !unfinished.contains_key(row));
    Ok((done, unfinished, resumed.in_flight()))
}

/// Reads again the users the rows still to send touch ([`drift`]).
async fn check_drift(
    client: &Client,
    plan: &ReadPlan,
    exacts: &[Option<PlannedWrites>],
    (done, unfinished): (&HashMap<u64, RowResult>, &HashMap<u64, RowResult>),
) -> Result<drift::Found, ApiError> {
    let checked: Vec<drift::Checked<'_>> = plan
        .lines
        .iter()
        .zip(exacts)
        .filter(|(line, _)| !done.contains_key(&line.row) && !unfinished.contains_key(&line.row))
        .filter_map(|(line, exact)| {
            exact.as_ref().map(|exact| drift::Checked {
                row: line.row,
                decided_on: &line.machine.decided_on,
                exact,
            })
        })
        .collect();
    drift::check(client, &checked).await
}

/// The refusal when rows drifted and `--skip-drifted` was not given;
/// with it, a warning that they are skipped.
fn refuse_drifted(
    plan: &ReadPlan,
    found: &drift::Found,
    options: &ApplyOptions,
    events: &dyn Events,
) -> Option<String> {
    if found.drifted.is_empty() {
        return None;
    }
    let drifted = drifted_rows(plan, &found.drifted);
    if !options.skip_drifted {
        return Some(format!(
            "{drifted}, so nothing was applied. Make a new plan, or apply the rest with --skip-drifted"
        ));
    }
    events.on(Event::Warning(&format!("{drifted}: they are skipped")));
    None
}

/// The guard on what the leavers lose, then the plan's updates judged as
/// the run that made it judged them; `Err(refusal)` when either refuses.
fn judge(
    plan: &ReadPlan,
    (rows, leavers): (&[DecidedRow<ApplyJob>], &[Leaving]),
    (found, tenant_users): (&drift::Found, u64),
    client: &Client,
    options: &ApplyOptions,
    events: &dyn Events,
) -> Result<Judged, String> {
    let (steps, taken) = taken_by_rows(leavers);
    let verdict = guard::check(&taken, tenant_users, options.limits);
    let refused = guard::enforce(verdict, (options.run.dry_run, client), events)?;
    let changed = changed_by_rows(rows, &found.users, options);
    let joiners_count = plan.seal.command == "sync";
    let limits = (options.limits, joiners_count);
    let would = crate::engine::rehearsal::judge(
        &changed,
        tenant_users,
        limits,
        (options.run.dry_run, client),
        events,
    )?;
    Ok((refused.or(would), steps, taken, changed))
}

/// Reads what the leavers have and places them among the rows; before a
/// real run, the snapshot of the leavers (when any is affected) and of
/// the people the updates take access from, written first. Its path.
async fn snapshot_first(
    client: &Client,
    (rows, (mut leavers, steps, affected)): (&mut Vec<DecidedRow<ApplyJob>>, Taking),
    changed: &mut guard::Changed,
    stamp: &mut crate::output::results_file::writer::RunStamp,
    options: &ApplyOptions,
    events: &dyn Events,
) -> Result<Option<String>, RunError> {
    let mut saved: Vec<Leaver> = Vec::new();
    if !leavers.is_empty() {
        events.on(Event::Phase("reading what leavers have"));
        let mut people: Vec<Leaver> = leavers.iter().map(|l| l.0.clone()).collect();
        leavers::read_holdings(client, &mut people, &steps).await?;
        if affected {
            saved = people.clone();
        }
        for (slot, person) in leavers.iter_mut().zip(people) {
            slot.0 = person;
        }
        place_leavers(rows, leavers);
    }
    if options.run.dry_run {
        return Ok(None);
    }
    let movers = crate::engine::rehearsal::people_taken(client, changed, &saved).await?;
    saved.extend(movers);
    if saved.is_empty() {
        return Ok(None);
    }
    let anchor = options.run.files_beside(&options.plan);
    let purpose = "apply: leavers and access taken by updates";
    let path = leavers::snapshot_of(anchor, stamp, (&saved, purpose), client.seal_key())?;
    Ok(Some(path.display().to_string()))
}

/// What the plan's writes do to access, counted as the run that made the
/// plan counted them (each against the user as it is now).
fn changed_by_rows(
    rows: &[DecidedRow<ApplyJob>],
    users: &HashMap<String, crate::model::User>,
    options: &ApplyOptions,
) -> guard::Changed {
    let mut changed = guard::Changed::default();
    for row in rows {
        let ApplyJob::Write(plan, _) = &row.input else {
            continue;
        };
        let user = plan.action.user_id().and_then(|id| users.get(id));
        changed.add_row(user, &row.label, &plan.effect(user, &options.privilege));
    }
    changed
}

/// What the plan's leavers would lose, each counted with its own row's
/// steps (never the first row's), and every step any of them takes.
fn taken_by_rows(leavers: &[(Leaver, Vec<Step>)]) -> (Vec<Step>, guard::Taken) {
    let mut steps: Vec<Step> = Vec::new();
    let mut taken = guard::Taken::users();
    for (leaver, own) in leavers {
        for step in own {
            if !steps.contains(step) {
                steps.push(*step);
            }
        }
        let one = leavers::taken_by(std::slice::from_ref(leaver), own);
        taken.reversible.extend(one.reversible);
        taken.irreversible.extend(one.irreversible);
        taken.from_targets.extend(one.from_targets);
    }
    (steps, taken)
}

/// Why a plan whose rows add people to groups that did not exist when
/// it was made is refused: apply creates no group (its users would be
/// created, then fail at the group), so it says so before any write.
fn groups_to_create(exacts: &[Option<PlannedWrites>]) -> Option<String> {
    let mut names: Vec<&str> = exacts
        .iter()
        .flatten()
        .flat_map(PlannedWrites::groups_to_create)
        .collect();
    names.sort_unstable();
    names.dedup();
    let first = names.first()?;
    Some(format!(
        "the plan adds people to {} group(s) that did not exist when it was made ({first}{}); apply creates no group, so nothing was applied: create them (sebulk groups import) and make the plan again, or run the import itself with --create-missing-groups",
        names.len(),
        if names.len() > 1 { ", ..." } else { "" }
    ))
}

/// Each line's writes (none for a line that sends nothing); `Err` with
/// the refusal when the plan cannot be applied as written.
fn exacts_of(
    plan: &ReadPlan,
    (tenant, as_of): (&str, &str),
) -> Result<Vec<Option<PlannedWrites>>, String> {
    if plan.seal.tenant != tenant {
        return Err(format!(
            "the plan was made for {}, not {tenant}: apply it against the tenant it was made for",
            plan.seal.tenant
        ));
    }
    if let Some(day) = plan.seal.as_of.as_deref().filter(|day| *day != as_of) {
        return Err(format!(
            "the plan was decided for {day}, not {as_of}: its joiners, leavers and rehires are that day's; apply it on that day, or say --as-of {day} if that is meant"
        ));
    }
    let mut exacts = Vec::with_capacity(plan.lines.len());
    let mut with_passwords = Vec::new();
    for line in &plan.lines {
        if line.machine.exact.is_empty() {
            exacts.push(None);
            continue;
        }
        let exact: PlannedWrites = serde_json::from_str(&line.machine.exact)
            .map_err(|e| format!("row {}: its exact change cannot be read ({e})", line.row))?;
        if exact.needs_file_password() {
            with_passwords.push(line.row.to_string());
        }
        exacts.push(Some(exact));
    }
    if !with_passwords.is_empty() {
        return Err(format!(
            "rows {} set passwords from the input file, which a plan never holds: run the import itself for them (nothing was applied)",
            with_passwords.join(", ")
        ));
    }
    Ok(exacts)
}

/// The rows whose users changed since the plan, named.
fn drifted_rows(plan: &ReadPlan, drifted: &HashMap<u64, String>) -> String {
    let mut shown: Vec<String> = plan
        .lines
        .iter()
        .filter_map(|line| {
            drifted
                .get(&line.row)
                .map(|why| format!("row {} ({}): {why}", line.row, line.username))
        })
        .collect();
    let count = shown.len();
    if count > 20 {
        shown.truncate(20);
        shown.push(format!("and {} more", count - 20));
    }
    format!(
        "{count} of the plan's rows drifted since it was made ({})",
        shown.join("; ")
    )
}

/// The runner's rows, and the leavers (with their steps) to read before
/// they are placed among them.
type Jobs = (Vec<DecidedRow<ApplyJob>>, Vec<Leaving>);

/// The plan's lines as rows to run: drifted ones skipped, leavers taken
/// out to be read first, the rest written or carried as the plan says.
fn jobs(
    plan: &ReadPlan,
    exacts: Vec<Option<PlannedWrites>>,
    (found, options): (&drift::Found, &ApplyOptions),
    (mut done, mut unfinished): (HashMap<u64, RowResult>, HashMap<u64, RowResult>),
) -> Jobs {
    let mut rows = Vec::with_capacity(plan.lines.len());
    let mut leavers = Vec::new();
    for (line, exact) in plan.lines.iter().zip(exacts) {
        if let Some(prior) = unfinished.remove(&line.row) {
            let (groups, applications) = match &exact {
                Some(PlannedWrites::Create {
                    groups,
                    applications,
                    ..
                }) => (
                    crate::engine::plan_rows::Delta {
                        add: groups.clone(),
                        remove: Vec::new(),
                    },
                    crate::engine::plan_rows::Delta {
                        add: applications.clone(),
                        remove: Vec::new(),
                    },
                ),
                Some(PlannedWrites::Update {
                    groups,
                    applications,
                    ..
                }) => (groups.clone(), applications.clone()),
                // An offboarding's steps were all made with its write.
                _ => {
                    let mut row = prepared_row(line, ApplyJob::Carry(prior.outcome, String::new()));
                    row.disposition = Disposition::Done(Box::new(prior));
                    rows.push(row);
                    continue;
                }
            };
            let unfinished = Unfinished {
                prior,
                groups,
                applications,
            };
            rows.push(prepared_row(line, ApplyJob::Finish(Box::new(unfinished))));
            continue;
        }
        if let Some(result) = done.remove(&line.row) {
            let mut row = prepared_row(line, ApplyJob::Carry(result.outcome, String::new()));
            row.disposition = Disposition::Done(Box::new(result));
            rows.push(row);
            continue;
        }
        let planned = planned_outcome(&line.planned);
        let input = match (found.drifted.get(&line.row), exact) {
            (Some(why), _) => {
                ApplyJob::Carry(Outcome::Skipped, format!("drifted since the plan: {why}"))
            }
            (None, None) => ApplyJob::Carry(planned, line.note.clone()),
            (None, Some(PlannedWrites::Offboard { user_id, steps })) => {
                let user = found.users.get(&user_id).cloned().unwrap_or_default();
                if let Some(why) = options.protection.protects(&user) {
                    let why = format!("protected: {why}");
                    rows.push(prepared_row(line, ApplyJob::Carry(Outcome::Protected, why)));
                    continue;
                }
                let leaver = leaver_of(line, user);
                leavers.push((leaver, steps));
                continue;
            }
            (None, Some(exact)) => match exact.to_row_plan() {
                Ok(mut plan) => {
                    keep_fresh_extra(&mut plan, &found.users);
                    match refused_write(&plan, &found.users, options) {
                        Some(why) => ApplyJob::Carry(Outcome::Protected, why),
                        None => ApplyJob::Write(Box::new(plan), planned),
                    }
                }
                Err(why) => ApplyJob::Carry(Outcome::Failed, why),
            },
        };
        rows.push(prepared_row(line, input));
    }
    (rows, leavers)
}

/// Why a reviewed write is not made, if it is not: its user is protected
/// (`--protect`), or it changes privilege for a user the run does not
/// name (`--allow-privileged`). apply keeps every promise the reviewed
/// run made, whatever the plan file says.
fn refused_write(
    plan: &crate::decision::RowPlan,
    users: &HashMap<String, crate::model::User>,
    options: &ApplyOptions,
) -> Option<String> {
    let user = plan.action.user_id().and_then(|id| users.get(id));
    if let Some(why) = user.and_then(|user| options.protection.protects_by_name(user)) {
        return Some(format!("protected: {why}"));
    }
    let effect = plan.effect(user, &options.privilege);
    let created = match &plan.action {
        crate::decision::Action::Create(body) => Some(&body.fields),
        _ => None,
    };
    // A name the protect list holds is not HR's to make either.
    if let Some(fields) = created {
        let new = crate::model::User {
            fields: fields.clone(),
            ..Default::default()
        };
        if let Some(why) = options.protection.protects_by_name(&new) {
            return Some(format!("protected: {why}; not created"));
        }
    }
    let fields = user.map(|u| &u.fields).into_iter().chain(created);
    let keys = fields.flat_map(crate::decision::access::keys_of);
    options.privilege.refusal(&effect, keys)
}

/// An update writes back the fields this version does not know as they
/// are now, not as they were when the plan was made: they are not part of
/// the fingerprint, and someone may have set them since.
fn keep_fresh_extra(
    plan: &mut crate::decision::RowPlan,
    users: &HashMap<String, crate::model::User>,
) {
    if let crate::decision::Action::Update {
        user_id,
        body: Some(body),
        ..
    } = &mut plan.action
        && let Some(user) = users.get(user_id.as_str())
    {
        body.extra = user.extra.clone();
    }
}

fn leaver_of(line: &PlanLine, user: crate::model::User) -> Leaver {
    let found = Found::User(Box::new(user));
    Leaver::new(line.row, line.username.clone(), line.cells.clone(), found)
}

fn prepared_row(line: &PlanLine, input: ApplyJob) -> DecidedRow<ApplyJob> {
    DecidedRow {
        row: line.row,
        label: line.username.clone(),
        cells: line.cells.clone(),
        disposition: Disposition::Process,
        input,
    }
}

/// Puts the leavers, read, back among the rows in row order.
fn place_leavers(rows: &mut Vec<DecidedRow<ApplyJob>>, leavers: Vec<(Leaver, Vec<Step>)>) {
    for (leaver, steps) in leavers {
        let line = PlanLine {
            row: leaver.row,
            username: leaver.label.clone(),
            cells: leaver.cells.clone(),
            ..Default::default()
        };
        rows.push(prepared_row(
            &line,
            ApplyJob::Leave(Box::new(leaver), steps),
        ));
    }
    rows.sort_by_key(|r| r.row);
}

/// The outcome a plan's line names: a sync's plan says it as results do,
/// an import's plan as an action.
fn planned_outcome(planned: &str) -> Outcome {
    if let Some(outcome) = Outcome::parse(planned) {
        return outcome;
    }
    let action = [
        (PlanAction::Create, Outcome::Created),
        (PlanAction::Update, Outcome::Updated),
        (PlanAction::Unchanged, Outcome::Unchanged),
        (PlanAction::Skip, Outcome::Skipped),
        (PlanAction::Conflict, Outcome::Conflict),
        (PlanAction::Fail, Outcome::Failed),
        (PlanAction::Invalid, Outcome::Invalid),
        (PlanAction::NotAttempted, Outcome::NotAttempted),
        (PlanAction::Filtered, Outcome::Filtered),
    ];
    action
        .into_iter()
        .find(|(a, _)| a.as_str() == planned)
        .map_or(Outcome::Skipped, |(_, o)| o)
}

/// What every row of an apply shares.
struct ApplyAction {
    dry_run: bool,
}

impl RowAction for ApplyAction {
    type Input = ApplyJob;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        job: ApplyJob,
        mut result: RowResult,
    ) -> ProcessedRow<()> {
        let (client, tally) = client.tallied();
        let done: Result<Vec<Pending>, ApiError> = match job {
            ApplyJob::Carry(outcome, note) => {
                result.outcome = outcome;
                result.add_error(note);
                Ok(Vec::new())
            }
            ApplyJob::Write(plan, planned) => {
                result.user_id = plan.action.user_id().unwrap_or_default().to_string();
                self.write(&client, &plan, planned, &mut result).await
            }
            ApplyJob::Finish(unfinished) => {
                if self.dry_run {
                    result.outcome = unfinished.prior.outcome;
                    Ok(Vec::new())
                } else {
                    finish(&client, *unfinished, &mut result).await
                }
            }
            ApplyJob::Leave(leaver, steps) => {
                let offboard = OffboardAction {
                    steps,
                    dry_run: self.dry_run,
                };
                offboard
                    .leave(&client, &leaver, &mut result)
                    .await
                    .map(|()| Vec::new())
            }
        };
        finish_with(result, done.map(|pending| (None, pending)), &tally)
    }
}

/// Finishes a row a killed apply wrote the user of: the result it
/// recorded, and the plan's membership changes the tenant does not have
/// yet (read now: some may have been made before the kill).
async fn finish(
    client: &Client,
    unfinished: Unfinished,
    result: &mut RowResult,
) -> Result<Vec<Pending>, ApiError> {
    let Unfinished {
        prior,
        groups,
        applications,
    } = unfinished;
    let user_id = prior.user_id.clone();
    result.user_id = user_id.clone();
    result.outcome = prior.outcome;
    result.changes = prior.changes.clone();
    result.add_error(format!(
        "{} by {} before it was killed; finished now",
        prior.outcome.as_str(),
        prior.done_by
    ));
    let mut pending = Vec::new();
    for (kind, delta) in [
        (crate::model::TargetKind::Group, groups),
        (crate::model::TargetKind::Application, applications),
    ] {
        if delta.add.is_empty() && delta.remove.is_empty() {
            continue;
        }
        let held: std::collections::HashSet<String> = match kind {
            crate::model::TargetKind::Group => client
                .user_groups(&user_id)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect(),
            crate::model::TargetKind::Application => client
                .user_applications(&user_id)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        };
        let additions = delta.add.into_iter().map(|t| (true, t));
        let removals = delta.remove.into_iter().map(|t| (false, t));
        for (add, target) in additions.chain(removals) {
            if held.contains(&target.id) != add {
                pending.push(Pending {
                    kind,
                    add,
                    target,
                    user_id: user_id.clone(),
                });
            } else {
                // Already as the plan wants: the killed run's own call
                // landed before its line was written. Recorded as this
                // row's, so undo reverses it.
                result.targets_mut(kind, add).push(target.name);
            }
        }
    }
    Ok(pending)
}

impl ApplyAction {
    async fn write(
        &self,
        client: &Client,
        plan: &crate::decision::RowPlan,
        planned: Outcome,
        result: &mut RowResult,
    ) -> Result<Vec<Pending>, ApiError> {
        let pending = if self.dry_run {
            result.outcome = planned;
            result.changes = plan.changes.clone();
            Vec::new()
        } else {
            crate::engine::upsert::write_plan(client, plan, result)
                .await?
                .unwrap_or_default()
        };
        if result.outcome == Outcome::Updated && planned == Outcome::Rehired {
            result.outcome = Outcome::Rehired;
        }
        Ok(pending)
    }
}
