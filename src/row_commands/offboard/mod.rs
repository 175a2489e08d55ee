//! `offboard`: leavers, named in a file or found missing from today's
//! complete roster, disabled, locked, cut off from their groups and
//! applications, stripped of their second factor, or deleted.
//!
//! In named phases: **who** reads the file (or the roster) offline;
//! **find** matches it to the tenant; **guard** refuses the run before any
//! change when it would touch too many users, and leaves protected and
//! privileged users alone; **snapshot** writes every user about to be
//! touched, whole, for `sebulk restore`; **run** hands the leavers to the
//! row runner. A user named but not found is reported, never skipped
//! silently.

mod action;
mod find;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::api::Client;
use crate::events::{Event, Events};
use crate::formats::utc_now;
use crate::input::InputSpec;
use crate::model::{Target, User};
use crate::output::held;
use crate::output::results::RunKind;
use crate::output::snapshot::{self, SnapshotEntry, SnapshotItem};
use crate::output::{Outcome, RowResult};
use crate::engine::Ended;
use crate::engine::guard::{self, Limits, Protection, Taken};
use crate::engine::prepared::{self, Prepared, Setup};
use crate::engine::results_sink::{ResumedRows, RunTotals};
use crate::engine::runner::{Disposition, RunError, Stops};

pub use action::OffboardAction;
pub(crate) use find::read_holdings;

/// One thing offboarding does to a leaver.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// isEnabled = false, through the lossless read-merge-write update.
    Disable,
    /// isLocked = true.
    Lock,
    /// Every group and application membership removed; the account stays.
    RevokeAccess,
    /// The second factor removed through the credentials endpoint.
    RemoveSecondFactor,
    /// The user deleted (after the snapshot).
    Delete,
}

impl Step {
    pub const ALL: [(&'static str, Step); 5] = [
        ("disable", Step::Disable),
        ("lock", Step::Lock),
        ("revoke-access", Step::RevokeAccess),
        ("remove-second-factor", Step::RemoveSecondFactor),
        ("delete", Step::Delete),
    ];

    pub fn name(self) -> &'static str {
        Step::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(n, _)| n)
    }

    /// Reads `disable,revoke-access`.
    pub fn parse_list(text: &str) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let step = Step::ALL
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    let known: Vec<&str> = Step::ALL.iter().map(|(n, _)| *n).collect();
                    format!(
                        "'{name}' is not an offboarding action ({})",
                        known.join(", ")
                    )
                })?;
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
        if steps.is_empty() {
            return Err("--action names at least one of disable, lock, revoke-access, remove-second-factor, delete".into());
        }
        steps.sort();
        Ok(steps)
    }
}

/// Who leaves.
#[derive(Debug, Clone)]
pub enum Who {
    /// A file naming the leavers (one per row).
    Named(InputSpec),
    /// Today's complete roster: every tenant user absent from it leaves.
    Roster(InputSpec),
    /// The changes a refused run held (`sebulk approve HELD`): exactly
    /// those users, found by id, with exactly the held actions.
    Held(PathBuf),
}

impl Who {
    /// The file the run reads.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Who::Named(spec) | Who::Roster(spec) => &spec.file,
            Who::Held(path) => path,
        }
    }
}

/// Everything an offboarding run is asked to do.
#[derive(Debug, Clone)]
pub struct OffboardOptions {
    pub who: Who,
    pub steps: Vec<Step>,
    pub limits: Limits,
    /// Roster rows that may match no tenant user (default: 1%, at least 5).
    pub max_unmatched: Option<u64>,
    pub protection: Protection,
    /// Where the results go and how.
    pub run: crate::engine::prepared::Recording,
}

/// A leaver as found: the row, and the user it names (if any).
#[derive(Debug, Clone)]
pub struct Leaver {
    pub row: u64,
    pub label: String,
    pub cells: Vec<String>,
    pub found: Found,
    /// Read for the snapshot (and for revoke-access): what the user had.
    pub groups: Vec<Target>,
    pub applications: Vec<Target>,
    pub second_factor: Option<String>,
}

impl Leaver {
    /// A leaver as found, before its holdings are read.
    pub fn new(row: u64, label: String, cells: Vec<String>, found: Found) -> Self {
        Leaver {
            row,
            label,
            cells,
            found,
            groups: Vec::new(),
            applications: Vec::new(),
            second_factor: None,
        }
    }

    /// The leaver as a row for the runner (a row a resumed run did is done).
    fn prepared(self) -> Prepared<Leaver> {
        Prepared {
            row: self.row,
            label: self.label.clone(),
            cells: self.cells.clone(),
            disposition: match &self.found {
                Found::Done(result) => Disposition::Done(result.clone()),
                _ => Disposition::Process,
            },
            input: self,
        }
    }
}

/// What a leaver's row found in the tenant.
#[derive(Debug, Clone)]
pub enum Found {
    User(Box<User>),
    /// Left alone on purpose (the reason).
    Protected(Box<User>, String),
    /// Not a user of the tenant, or not one user (the reason).
    Missing(String),
    /// Finished by the run resumed from (`--resume`): carried over.
    Done(Box<RowResult>),
    /// The same user as an earlier row (its number): one decision, made there.
    Same(u64, Box<User>),
}

impl Found {
    pub(crate) fn user(&self) -> Option<&User> {
        match self {
            Found::User(user) => Some(user),
            _ => None,
        }
    }
}

/// What a run did, for the screen and `--summary-json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct OffboardSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub input: String,
    /// The snapshot of every user touched, for `sebulk restore`.
    pub snapshot: Option<String>,
    pub actions: Vec<Step>,
    pub tenant_users: u64,
    /// With a roster: its rows, and the tenant users it could not be
    /// matched against (no value in the match field: never leavers).
    pub roster_rows: Option<u64>,
    pub unmatchable: u64,
    /// With a roster: users no row has the match key of but one carries
    /// the email or employee number of: the roster names them under
    /// another key, so they are kept.
    #[serde(flatten)]
    pub named_otherwise: crate::engine::users::NamedOtherwise,
    /// Users the run would change (found, not protected).
    pub affected: u64,
}

/// Runs an offboarding (or its dry run) against `client`.
pub async fn run(
    client: Client,
    options: &OffboardOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<Ended<OffboardSummary>, RunError> {
    let started = Instant::now();
    let started_at = utc_now();
    // ---- who ----
    events.on(Event::Phase("reading"));
    let who = options.who.clone();
    let key = client.seal_key().clone();
    let mut read = crate::engine::read_blocking(move || find::read_who(&who, &key)).await?;
    for problem in &read.problems {
        events.on(Event::Warning(problem));
    }
    let options = match approving(options, &read, client.tenant())? {
        Ok(options) => options,
        Err(refusal) => return Ok(Ended::Refused(refusal)),
    };
    let options = &options;
    // ---- resume ----
    let tenant = client.tenant().to_string();
    let resumed = ResumedRows::open(options.run.resume.as_deref(), &tenant, events)?;
    let carried = carry_done(&mut read, &resumed);
    // ---- find ----
    events.on(Event::Phase("finding users"));
    let mut found = find::find(&client, &read, options).await?;
    found.leavers.extend(carried);
    found.leavers.sort_by_key(|l| l.row);
    one_decision_per_person(&mut found.leavers);
    if let Some(refusal) = warn_unmatched(&found, &read, options, events) {
        return Ok(Ended::Refused(refusal));
    }
    // ---- guard ----
    let (refused, affected) = match guarded(&mut found, &read, options, &client, events)? {
        Ok(passed) => passed,
        Err(refusal) => return Ok(Ended::Refused(refusal)),
    };
    // A plan's id says so: it is never taken for a run's results (by resume or undo).
    let mut stamp = prepared::stamp(RunKind::Offboard, options.run.dry_run, &client);
    // ---- snapshot ----
    events.on(Event::Phase("reading what leavers have"));
    find::read_holdings(&client, &mut found.leavers, &options.steps).await?;
    let anchor = options.run.files_beside(&read.file);
    let snapshot = match (options.run.dry_run, affected) {
        (false, 1..) => Some(write_snapshot(
            anchor,
            &mut stamp,
            (&found.leavers, &options.steps),
            client.seal_key(),
        )?),
        _ => None,
    };
    // ---- run ----
    let rows: Vec<Prepared<Leaver>> = std::mem::take(&mut found.leavers)
        .into_iter()
        .map(Leaver::prepared)
        .collect();
    let inputs = read.inputs();
    let setup = Setup::of(
        &options.run,
        (&stamp, (&started_at, started)),
        (&inputs, &read.header),
        "offboarding",
    );
    let action = OffboardAction {
        steps: options.steps.clone(),
        dry_run: options.run.dry_run,
    };
    let mut totals = prepared::run(&client, setup, action, rows, stops, events).await?;
    totals.refused = refused;
    let summary = OffboardSummary {
        totals,
        input: read.shown.clone(),
        snapshot: snapshot.map(|p| p.display().to_string()),
        actions: options.steps.clone(),
        tenant_users: found.tenant_users,
        roster_rows: read.roster_rows,
        unmatchable: found.unmatchable,
        named_otherwise: found.named_otherwise.clone(),
        affected,
    };
    let interrupted = summary.totals.interrupted;
    Ok(Ended::of(summary, interrupted))
}

/// Marks protected leavers and puts what the run takes under the guard:
/// `Err(refusal)` inside (the held changes written) when it refuses,
/// else a dry run's would-be refusal and how many users are affected.
fn guarded(
    found: &mut find::FoundAll,
    read: &find::ReadWho,
    options: &OffboardOptions,
    client: &Client,
    events: &dyn Events,
) -> Result<Result<(Option<String>, u64), String>, RunError> {
    for leaver in &mut found.leavers {
        if let Found::User(user) = &leaver.found
            && let Some(reason) = options.protection.protects(user)
        {
            leaver.found = Found::Protected(user.clone(), reason);
        }
    }
    let taken = taken_by(&found.leavers, &options.steps);
    let affected = taken.affected();
    let verdict = guard::check(&taken, found.tenant_users, options.limits).map_err(|refusal| {
        match read.roster_rows {
            Some(rows) => format!(
                "the roster looks truncated: it has {rows} rows against the tenant's {} users; {refusal}",
                found.tenant_users
            ),
            None => refusal,
        }
    });
    let refused = match guard::enforce(verdict, (options.run.dry_run, client), events) {
        Ok(refused) => refused,
        Err(refusal) => {
            return Ok(Err(hold(&found.leavers, options, read, client, refusal)?));
        }
    };
    Ok(Ok((refused, affected)))
}

/// With a held file: the options of its approval (exactly the held
/// actions, and the held count as the acknowledgement the guard asks
/// for); `Err(refusal)` inside when it was held for another tenant.
fn approving(
    options: &OffboardOptions,
    read: &find::ReadWho,
    tenant: &str,
) -> Result<Result<OffboardOptions, String>, RunError> {
    let mut options = options.clone();
    let Some((header, users)) = &read.held else {
        return Ok(Ok(options));
    };
    if header.tenant != tenant {
        return Ok(Err(format!(
            "{} was held for {}, not {tenant}: approve it against the tenant it was refused for",
            read.shown, header.tenant,
        )));
    }
    options.steps = Step::parse_list(&header.actions.join(","))
        .map_err(|why| RunError::Reader(format!("{}: {why}", read.shown)))?;
    let held = Some(guard::MaxAffected::Count(users.len() as u64));
    options.limits = Limits {
        max_affected: held,
        max_irreversible: held,
        ..Limits::default()
    };
    Ok(Ok(options))
}

/// Takes the rows a resumed run did already out of `read`, as leavers
/// whose result is carried over.
fn carry_done(read: &mut find::ReadWho, resumed: &ResumedRows) -> Vec<Leaver> {
    let mut carried = Vec::new();
    read.named
        .retain(|(row, _, cells)| match resumed.done(*row, cells) {
            Some(result) => {
                carried.push(Leaver::new(
                    result.row,
                    result.username.clone(),
                    result.cells.clone(),
                    Found::Done(Box::new(result)),
                ));
                false
            }
            None => true,
        });
    carried
}

/// Rows naming one person (by any key, any case) are one decision: the
/// first row's; the others say which row that is.
fn one_decision_per_person(leavers: &mut [Leaver]) {
    let mut first_row: std::collections::HashMap<String, u64> = Default::default();
    for leaver in leavers {
        if let Found::User(user) = &leaver.found {
            match first_row.get(&user.id) {
                Some(first) => leaver.found = Found::Same(*first, user.clone()),
                None => {
                    first_row.insert(user.id.clone(), leaver.row);
                }
            }
        }
    }
}

/// Warns of protect patterns and roster rows that match nobody, and of
/// users the roster cannot match; the refusal when more roster rows
/// match nobody than `--max-unmatched` allows (a dry run only warns).
fn warn_unmatched(
    found: &find::FoundAll,
    read: &find::ReadWho,
    options: &OffboardOptions,
    events: &dyn Events,
) -> Option<String> {
    for pattern in &found.protect_unmatched {
        events.on(Event::Warning(&format!(
            "the protected list's '{pattern}' names none of the tenant's users: check its spelling"
        )));
    }
    if let Some(rows) = read.roster_rows
        && !found.roster_unmatched.is_empty()
    {
        let count = found.roster_unmatched.len() as u64;
        let shown: Vec<&str> = found
            .roster_unmatched
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        let note = format!(
            "{count} roster rows match no tenant user by {}: {}{}",
            read.match_by.field().wire(),
            shown.join(", "),
            if count > 10 { ", ..." } else { "" }
        );
        events.on(Event::Warning(&note));
        let allowed = options.max_unmatched.unwrap_or((rows / 100).max(5));
        if count > allowed {
            let refusal = format!(
                "refused before any change: {note}. Keys that only look alike (invisible characters, another spelling) would make their holders leavers; if these are people not yet in the tenant, say so with --max-unmatched {count}"
            );
            if !options.run.dry_run {
                return Some(refusal);
            }
            events.on(Event::Warning(&refusal));
        }
    }
    if found.unmatchable > 0 {
        let note = format!(
            "{} tenant users have no {} and cannot be matched to the roster: they are left alone",
            found.unmatchable,
            read.match_by.field().wire()
        );
        events.on(Event::Warning(&note));
    }
    if found.named_otherwise.count > 0 {
        let note = format!(
            "kept though no roster row has their {}: {} (a row carries their email or employee number under another key; fix the key in HR's data or in the tenant)",
            read.match_by.field().wire(),
            found.named_otherwise.shown(),
        );
        events.on(Event::Warning(&note));
    }
    None
}

/// Writes the snapshot of what the leavers have before any change, and
/// records its digest in the run's stamp.
pub(crate) fn write_snapshot(
    anchor: &std::path::Path,
    stamp: &mut crate::output::results::RunStamp,
    (leavers, steps): (&[Leaver], &[Step]),
    key: &crate::model::SealKey,
) -> Result<std::path::PathBuf, RunError> {
    let names: Vec<&str> = steps.iter().map(|s| s.name()).collect();
    let purpose = format!("offboard {}", names.join(","));
    snapshot_of(anchor, stamp, (leavers, &purpose), key)
}

/// Writes the snapshot of `people` (what they have, as read) for a run
/// about to take something from them, and records its digest in the
/// run's stamp.
pub(crate) fn snapshot_of(
    anchor: &std::path::Path,
    stamp: &mut crate::output::results::RunStamp,
    (leavers, purpose): (&[Leaver], &str),
    key: &crate::model::SealKey,
) -> Result<std::path::PathBuf, RunError> {
    let path = snapshot::path_beside(anchor, &stamp.run_id);
    let entries: Vec<SnapshotItem> = leavers
        .iter()
        .filter_map(|l| {
            l.found.user().map(|user| {
                SnapshotItem::User(Box::new(SnapshotEntry {
                    user: user.clone(),
                    groups: l.groups.clone(),
                    applications: l.applications.clone(),
                    second_factor: l.second_factor.clone(),
                }))
            })
        })
        .collect();
    let header = snapshot::header(&stamp.run_id, &stamp.tenant, purpose, entries.len() as u64);
    stamp.snapshot = snapshot::write(&path, &header, &entries, key)?;
    Ok(path)
}

/// Writes what a refused run would have done to a held file beside its
/// results (or its input), and says how to release it.
fn hold(
    leavers: &[Leaver],
    options: &OffboardOptions,
    read: &find::ReadWho,
    client: &Client,
    refusal: String,
) -> Result<String, RunError> {
    let users: Vec<held::HeldUser> = leavers
        .iter()
        .filter_map(|l| l.found.user().map(|u| (l.row, u)))
        .map(|(row, user)| {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            held::HeldUser {
                row,
                user_id: user.id.clone(),
                username: text(&user.fields.username),
                email: text(&user.fields.email),
                employee_number: text(&user.fields.employee_number),
            }
        })
        .collect();
    if users.is_empty() || read.held.is_some() {
        return Ok(refusal);
    }
    let stamp = prepared::stamp(RunKind::Offboard, false, client);
    let path = held::path_beside(options.run.files_beside(&read.file), &stamp.run_id);
    let header = held::HeldHeader {
        kind: String::new(),
        run_id: stamp.run_id.clone(),
        tenant: stamp.tenant.clone(),
        actions: options.steps.iter().map(|s| s.name().to_string()).collect(),
        users: users.len() as u64,
        refusal: refusal.clone(),
        digest: String::new(),
        seal: String::new(),
    };
    held::write(&path, &header, &users, client.seal_key())?;
    Ok(format!(
        "{refusal}. The {} changes are held in {}: look at them (sebulk approve --dry-run FILE) and release exactly those with sebulk approve FILE",
        users.len(),
        path.display()
    ))
}

/// What the leavers would lose, as far as is known before reading their
/// memberships and factors: an already disabled (or locked) user is not
/// counted for that step; memberships and second factors are counted as
/// there (reading them first would cost two calls per leaver of a run
/// that may be refused).
pub(crate) fn taken_by(leavers: &[Leaver], steps: &[Step]) -> Taken {
    let mut taken = Taken::users();
    for user in leavers.iter().filter_map(|l| l.found.user()) {
        let fields = &user.fields;
        let (mut reversible, mut irreversible) = (false, false);
        for step in steps {
            match step {
                Step::Delete | Step::RemoveSecondFactor => irreversible = true,
                Step::Disable => reversible |= fields.is_enabled != Some(false),
                Step::Lock => reversible |= fields.is_locked != Some(true),
                Step::RevokeAccess => reversible = true,
            }
        }
        if irreversible {
            taken.irreversible.insert(user.id.clone());
        } else if reversible {
            taken.reversible.insert(user.id.clone());
        }
    }
    taken
}

/// A result for a leaver who is not processed.
pub(crate) fn unprocessed(result: &mut RowResult, found: &Found) -> bool {
    match found {
        Found::Protected(user, reason) => {
            result.outcome = Outcome::Protected;
            result.user_id = user.id.clone();
            result.error = reason.clone();
            true
        }
        Found::Missing(reason) => {
            result.outcome = Outcome::Failed;
            result.error = reason.clone();
            true
        }
        Found::Same(first, user) => {
            result.outcome = Outcome::Unchanged;
            result.user_id = user.id.clone();
            result.error = format!("the same user as row {first}: done there, once");
            true
        }
        Found::User(_) | Found::Done(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_in_order() {
        assert_eq!(
            Step::parse_list("revoke-access, disable,disable").unwrap(),
            vec![Step::Disable, Step::RevokeAccess]
        );
        assert!(
            Step::parse_list("vaporise")
                .unwrap_err()
                .contains("disable, lock")
        );
        assert!(Step::parse_list("").is_err());
    }
}
