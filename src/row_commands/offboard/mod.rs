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

mod find;

use std::path::PathBuf;

use serde::Serialize;

use crate::api::Client;
use crate::engine::RunEnd;
use crate::engine::decided_rows::{self, DecidedRow, RunSpec};
use crate::engine::guard::{self, Limits, Protection};
use crate::engine::results_sink::{ResumedRows, RunClock, RunTotals};
use crate::engine::runner::{RunError, Stops};
use crate::events::{Event, Events};
use crate::input::InputSpec;
use crate::output::held;
use crate::output::results_file::writer::RunKind;

use crate::engine::leavers::{self, Found, Leaver, OffboardAction, Step};

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
    pub run: crate::engine::decided_rows::ResultsOptions,
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
) -> Result<RunEnd<OffboardSummary>, RunError> {
    let clock = RunClock::start();
    // A plain user in a privileged group is as privileged as an admin.
    options.protection.learn_members(&client, None).await?;
    // ---- who ----
    events.on(Event::Phase("reading"));
    let who = options.who.clone();
    let key = client.seal_key().clone();
    let read = crate::engine::read_blocking(move || find::read_who(&who, &key)).await?;
    for problem in &read.problems {
        events.on(Event::Warning(problem));
    }
    let options = match approving(options, &read, client.tenant())? {
        Ok(options) => options,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    let options = &options;
    // ---- resume ----
    let tenant = client.tenant().to_string();
    let resumed = ResumedRows::open(
        options.run.resume.as_deref(),
        (&tenant, client.seal_key()),
        events,
    )?;
    // ---- find ----
    events.on(Event::Phase("finding users"));
    let mut found = find::find(&client, &read, options).await?;
    carry_done(&client, &mut found.leavers, &resumed).await?;
    if let Some(resumed_from) = options.run.resume.as_deref() {
        let on_wire = (resumed_from, &resumed.on_wire()[..]);
        let steps = &options.steps;
        if let Err(refusal) = leavers::recall(&client, &mut found.leavers, on_wire, steps).await? {
            return Ok(RunEnd::Refused(refusal.into()));
        }
    }
    one_decision_per_person(&mut found.leavers);
    if let Some(refusal) = warn_unmatched(&found, &read, options, events) {
        return Ok(RunEnd::Refused(refusal.into()));
    }
    // ---- guard ----
    let (refused, affected) = match guarded(&mut found, &read, options, &client, events)? {
        Ok(passed) => passed,
        Err(refusal) => return Ok(RunEnd::Refused(refusal.into())),
    };
    // A plan's id says so: it is never taken for a run's results (by resume or undo).
    let mut stamp = decided_rows::stamp(RunKind::Offboard, options.run.dry_run, &client);
    // ---- snapshot ----
    events.on(Event::Phase("reading what leavers have"));
    leavers::read_holdings(&client, &mut found.leavers, &options.steps).await?;
    let anchor = options.run.files_beside(&read.file);
    // A row a killed run was writing is given back as that run found it.
    let recalled = found.leavers.iter().any(|l| l.before.is_some());
    let snapshot = if !options.run.dry_run && (affected > 0 || recalled) {
        Some(leavers::write_snapshot(
            anchor,
            &mut stamp,
            (&found.leavers, &options.steps),
            client.seal_key(),
        )?)
    } else {
        None
    };
    // ---- run ----
    let rows: Vec<DecidedRow<Leaver>> = std::mem::take(&mut found.leavers)
        .into_iter()
        .map(Leaver::prepared)
        .collect();
    let inputs = read.inputs();
    let run_spec = RunSpec::of(
        &options.run,
        (&stamp, &clock),
        (&inputs, &read.header),
        "offboarding",
    );
    let action = OffboardAction {
        steps: options.steps.clone(),
        dry_run: options.run.dry_run,
    };
    let totals = decided_rows::run(&client, run_spec, action, rows, stops, events).await?;
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
    Ok(RunEnd::planned(summary, interrupted, refused))
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
    let taken = leavers::taken_by(&found.leavers, &options.steps);
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

/// Carries over the rows a resumed run did already, where the tenant
/// still shows what it did (`leavers::still_shows`): a row an undo has
/// reversed since is decided again, never recorded as done on its line's
/// word.
async fn carry_done(
    client: &Client,
    leavers: &mut [Leaver],
    resumed: &ResumedRows,
) -> Result<(), RunError> {
    for leaver in leavers {
        let Some(result) = resumed.done(leaver.row, &leaver.cells) else {
            continue;
        };
        if leavers::still_shows(client, &result, &leaver.found).await? {
            leaver.label = result.username.clone();
            leaver.found = Found::Done(Box::new(result));
        }
    }
    Ok(())
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
    let stamp = decided_rows::stamp(RunKind::Offboard, false, client);
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
