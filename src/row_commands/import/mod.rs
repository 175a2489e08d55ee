//! `import` and `plan` on the row runner, in named phases:
//! **preflight** reads and checks every row offline (nothing is sent if any
//! row is bad, unless `--skip-invalid`); **prepare** reads the tenant's
//! catalog, finds how rows will meet their users, learns the values the
//! tenant uses and creates missing groups; **run** hands the rows to the
//! runner; **finish** totals the summary.

mod missing;
pub mod sink;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::api::{Client, MembershipSide};
use crate::decision::Catalog;
use crate::decision::lookup::{self, Lookups, UserStrategy};
use crate::engine::decided_rows::{self, ResultsPlace};
use crate::engine::results_sink::{RunClock, RunShape, RunTotals};
use crate::engine::roster::{FirstPass, RosterKeys};
use crate::engine::runner::{Disposition, Job, JobSource, RunError, Runner, Stops};
use crate::engine::upsert::{
    MissingGroups, Refused, UpsertAction, UpsertOptions, groups_before_rows, learn_tenant_values,
    plan_missing_groups, read_input,
};
use crate::engine::{RunEnd, guard, rehearsal};
use crate::events::{Event, Events};
use crate::formats::same_cells;
use crate::input::scan::open_with;
use crate::input::{InputSpec, Vocabulary};
use crate::output::results_file::reader::{Recorded, Resumed, SealedFor};
use crate::output::results_file::writer::RunKind;
use missing::MissingUsers;
pub use sink::{Counted, PlannedRow, ShowPlan, Sink, SinkSetup};

/// What a run did, for the screen and `--summary-json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    /// What every run reports (counted by outcome, or in a plan by action).
    #[serde(flatten)]
    pub totals: RunTotals<Counted>,
    pub input: String,
    pub calls_per_row: f64,
    /// Dry run: the calls the import would make.
    pub estimated_import_calls: Option<u64>,
    pub throttled_429: u64,
    pub retries: u64,
    /// Requests per second while requests were being made (none for runs
    /// too short to tell).
    pub requests_per_second: Option<f64>,
    pub rate_limit: f64,
    /// What held the run below `--rate`, with the flag that would help.
    pub bound: Option<String>,
    pub user_lookup: Option<UserStrategy>,
    pub group_reads: Option<MembershipSide>,
    pub application_reads: Option<MembershipSide>,
    pub tenant_users: Option<u64>,
    /// Bytes held to find the tenant's users (bulk lookups only).
    pub tenant_index_bytes: Option<u64>,
    /// Seconds and calls spent reading the tenant before the first row.
    pub lookup_seconds: f64,
    pub lookup_calls: u64,
    pub created_groups: Vec<String>,
    /// `--report-missing`: tenant users the file does not name, and where
    /// they were written.
    pub missing_from_file: Option<u64>,
    pub missing_report: Option<String>,
    /// How slashed dates were read (`dmy`, `mdy`), when an order was declared.
    pub date_order: Option<crate::model::dates::DateOrder>,
    /// The snapshot of the users the rows take access from, written
    /// before the first write.
    pub snapshot: Option<String>,
}

impl Summary {
    /// What is known once the tenant has been read: the input, the rate,
    /// how users are found and what reading the tenant cost.
    fn before_run(
        options: &UpsertOptions,
        client: &Client,
        lookups: &Lookups,
        prepared_from: (Instant, u64),
    ) -> Self {
        Summary {
            input: crate::input::reader::shown(&options.input.file),
            rate_limit: client.throttle().max_rate(),
            user_lookup: Some(lookups.users),
            group_reads: Some(lookups.groups),
            application_reads: Some(lookups.applications),
            tenant_users: lookups.tenant_users,
            tenant_index_bytes: lookups.index_bytes,
            lookup_seconds: prepared_from.0.elapsed().as_secs_f64(),
            lookup_calls: client.stats().requests - prepared_from.1,
            missing_report: options
                .report_missing
                .as_ref()
                .map(|p| p.display().to_string()),
            date_order: options.input.vocabulary.date_order,
            ..Default::default()
        }
    }

    /// How the run was paced: calls per row, 429s and retries, the rate
    /// reached and what bounded it.
    fn pacing(&mut self, client: &Client, rows: u64) {
        let stats = client.stats();
        self.throttled_429 = stats.throttled;
        self.retries = stats.retries;
        let pacing = client.throttle().report();
        self.requests_per_second = pacing.active_rate;
        self.bound = crate::limiter::what_bounded(&pacing, client.throttle().max_rate());
        self.calls_per_row = stats.requests as f64 / rows.max(1) as f64;
    }
}

/// The results a resumed run carries over: none (with a warning) when
/// they were written to another tenant.
/// The results resumed from (`--resume`), their lines verified under the
/// tenant's key, with the membership calls their intents name (see
/// [`Resumed::read`]).
fn read_resumed(
    options: &UpsertOptions,
    client: &Client,
) -> Result<Resumed, crate::output::OutputError> {
    match &options.run.resume {
        Some(path) => Resumed::read(
            path,
            Some(SealedFor {
                key: client.seal_key(),
                tenant: client.tenant(),
            }),
        ),
        None => Ok(Resumed::default()),
    }
}

fn resumed_here(resumed: Resumed, tenant: &str, events: &dyn Events) -> Resumed {
    let other_tenants = resumed.other_tenants(tenant);
    if other_tenants.is_empty() {
        return resumed;
    }
    let note = format!(
        "the resumed results were written to another tenant ({}): none of their rows is taken as done, every row is run against {tenant}",
        other_tenants.join(", "),
    );
    events.on(Event::Warning(&note));
    Resumed::default()
}

/// How an import ended; refused when the input has problems or the
/// guard refuses what its rows would change (nothing was sent).
pub type ImportEnded = RunEnd<Summary, Refused>;

/// Runs an import (or a dry run) against `client`. `show` prints each
/// planned row when a dry run has no plan file.
pub async fn run(
    client: Client,
    options: &UpsertOptions,
    stops: Stops,
    events: &dyn Events,
    show: Option<&ShowPlan<'_>>,
) -> Result<ImportEnded, RunError> {
    let clock = RunClock::start();
    // ---- preflight ----
    let roster = RosterKeys::all_if(options.report_missing.is_some());
    let mut first = match read_input(options, roster, events).await? {
        Ok(first) => first,
        Err(refused) => return Ok(RunEnd::Refused(Refused::Rows(Box::new(refused)))),
    };
    let resumed = read_resumed(options, &client)?;

    // ---- prepare ----
    let prepared_from = (Instant::now(), client.stats().requests);
    let (mut catalog, lookups, missing_from_file) =
        look_up(&client, options, &mut first, events).await?;
    let vocabulary = learn_tenant_values(&client, &lookups, &mut first, options).await?;
    if first.refuses(options.past_invalid()) {
        return Ok(RunEnd::Refused(Refused::Rows(Box::new(first))));
    }
    warn_invalid(&first, options, events);
    let created_groups = plan_missing_groups(&mut catalog, &first, options);
    let mut stamp = decided_rows::stamp(RunKind::Import, options.run.dry_run, &client);
    let resumed = resumed_here(resumed, &stamp.tenant, events);
    let mut summary = Summary::before_run(options, &client, &lookups, prepared_from);
    summary.created_groups = created_groups;
    summary.missing_from_file = missing_from_file;
    // ---- run ----
    let input_header = first.scan.echo_header.clone();
    let place = options.results_place();
    let tenant_users = lookups.tenant_users;
    let action = Arc::new(
        UpsertAction::new(
            catalog,
            lookups,
            options.policy.clone(),
            options.run.dry_run,
        )
        .with_writes_in_flight(&resumed.in_flight, client.seal_key()),
    );
    let resumed = Arc::new(resumed);
    let jobs = job_source(
        options.input.clone(),
        vocabulary,
        first.invalid.clone(),
        Confirm {
            resumed: resumed.clone(),
            action: action.clone(),
        },
    );
    let rehearsed = Rehearse {
        client: &client,
        action: &action,
        jobs: &jobs,
        rows: first.scan.rows,
        input_header: &input_header,
        new_groups: !summary.created_groups.is_empty(),
    };
    let saved = rehearsed
        .guard(options, (&mut stamp, tenant_users), &stops, events)
        .await?;
    summary.snapshot = match saved {
        Ok(snapshot) => snapshot,
        Err(refusal) => return Ok(RunEnd::Refused(Refused::Guard(refusal.into()))),
    };
    if !options.run.dry_run {
        let missing = std::mem::take(&mut summary.created_groups);
        let run = (stamp.run_id.as_str(), Some(resumed.as_ref()));
        let missing = MissingGroups::rehearsed(&missing);
        summary.created_groups =
            groups_before_rows(&client, &action, options, missing, run).await?;
    }
    let tenant = (&stamp, tenant_users, client.seal_key());
    let mut sink = open_sink(options, &place, (&input_header, tenant, &resumed), show)?;
    let phase = ["applying rows", "planning rows"][usize::from(options.run.dry_run)];
    events.on(Event::Phase(phase));
    let runner = Runner {
        client: client.clone(),
        action: action.clone(),
        source: jobs,
        rows: first.scan.rows,
        stops,
        events,
        apply_memberships: !options.run.dry_run,
    };
    let outcome = runner.run(&mut sink).await?;
    if options.run.dry_run {
        summary.created_groups = action.new_groups_wanted(&summary.created_groups);
    }
    let refused = would_refuse(options, (&action, &client), tenant_users, events);
    // ---- finish ----
    let (ran, ended) = ((&stamp, &clock), (first.scan.rows, &outcome));
    count_totals(&mut summary, &sink, (&client, options), ran, ended);
    if sink.finish()?.is_some() {
        place.settle()?;
    }
    Ok(RunEnd::planned(summary, outcome.interrupted, refused))
}

/// The summary's totals once the rows are done (what the sink counted,
/// what the client sent), the pacing seen, and for a dry run the calls a
/// real import would make.
fn count_totals(
    summary: &mut Summary,
    sink: &Sink<'_>,
    (client, options): (&Client, &UpsertOptions),
    (stamp, clock): (&crate::output::results_file::writer::RunStamp, &RunClock),
    (rows, outcome): (u64, &crate::engine::runner::RunOutcome),
) {
    let ended = RunShape {
        rows,
        dry_run: options.run.dry_run,
        interrupted: outcome.interrupted,
    };
    summary.totals = RunTotals::of(
        stamp,
        clock,
        sink.tally(),
        client,
        options.run.output.as_deref(),
        ended,
    );
    summary.pacing(client, rows);
    if options.run.dry_run {
        summary.estimated_import_calls = Some(client.stats().requests + sink.estimated_writes());
    }
}

/// A plan's would-be refusal: what a real run's guard would say of the
/// rows it decided (only when the tenant's size is known).
fn would_refuse(
    options: &UpsertOptions,
    (action, client): (&UpsertAction, &Client),
    tenant_users: Option<u64>,
    events: &dyn Events,
) -> Option<String> {
    let tenant = tenant_users.filter(|_| options.run.dry_run)?;
    let changed = action.take_changed();
    let limits = (options.limits, false);
    rehearsal::judge(&changed, tenant, limits, (true, client), events).unwrap_or_default()
}

/// The rows of a real run decided once before its first write, nothing
/// sent, so the guard judges what they would change (see
/// [`rehearsal`]); the rehearsal's rows go nowhere.
struct Rehearse<'a> {
    client: &'a Client,
    action: &'a Arc<UpsertAction>,
    jobs: &'a JobSource<crate::input::RowInput>,
    rows: u64,
    input_header: &'a [String],
    /// Groups are to be created: the rows are rehearsed however few, so
    /// that only the groups a kept row adds to are made.
    new_groups: bool,
}

impl Rehearse<'_> {
    /// The one guard over what a real run's rows would change, before its
    /// first write: the rows rehearsed and judged (`Err` inside refuses
    /// the run), then whoever they take access from saved first, as an
    /// offboarding's leavers are (the snapshot's path). Not rehearsed: a
    /// run of no more rows than the smallest limit (cleared as such). A
    /// run whose users are looked up one by one is rehearsed as well: its
    /// lookups are made twice, the price of judging before the first write.
    async fn guard(
        &self,
        options: &UpsertOptions,
        (stamp, tenant_users): (
            &mut crate::output::results_file::writer::RunStamp,
            Option<u64>,
        ),
        stops: &Stops,
        events: &dyn Events,
    ) -> Result<Result<Option<String>, String>, RunError> {
        let (dry_run, limits) = (options.run.dry_run, options.limits);
        let tenant = tenant_users.unwrap_or(0);
        // Groups to create are created only for rows the rehearsal keeps.
        if dry_run
            || (!self.new_groups
                && guard::clear_few_rows(self.rows, (tenant, &limits), dry_run, self.client))
        {
            return Ok(Ok(None));
        }
        events.on(Event::Phase("checking what the rows change"));
        self.run(options, stamp, stops, events).await?;
        let changed = self.action.take_changed();
        let judged = (tenant, (limits, false));
        let people = match rehearsal::verdict(self.client, changed, judged, &[], events).await? {
            Ok(people) => people,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if people.is_empty() {
            return Ok(Ok(None));
        }
        let anchor = options.run.files_beside(&options.input.file);
        let purpose = "import: access taken by updates";
        let path = crate::engine::leavers::snapshot_of(
            anchor,
            stamp,
            (&people, purpose),
            self.client.seal_key(),
        )?;
        Ok(Ok(Some(path.display().to_string())))
    }

    async fn run(
        &self,
        options: &UpsertOptions,
        stamp: &crate::output::results_file::writer::RunStamp,
        stops: &Stops,
        events: &dyn Events,
    ) -> Result<(), RunError> {
        if self.action.lookups.decides_without_calls() {
            self.action.rehearse(true);
            let quiet = rehearsal::Quiet(events);
            let run = (&self.client.rehearsing(), self.action);
            let rows = (self.jobs.clone(), self.rows);
            let rehearsed = rehearsal::decide_offline(run, rows, stops, &quiet).await;
            self.action.rehearse(false);
            return rehearsed;
        }
        let inputs = [options.input.file.as_path()];
        let run_spec = SinkSetup {
            dry_run: true,
            rules: Default::default(),
            inputs: &inputs,
            input_header: self.input_header,
            stamp: stamp.clone(),
            journal_for: None,
            carried: (&[], &[]),
            seal: crate::output::plan_file::PlanSeal::new("import"),
        };
        let mut nowhere = Sink::open(None, run_spec, None)?;
        self.action.rehearse(true);
        let runner = Runner {
            client: self.client.rehearsing(),
            action: self.action.clone(),
            source: self.jobs.clone(),
            rows: self.rows,
            stops: stops.clone(),
            events: &rehearsal::Quiet(events),
            apply_memberships: false,
        };
        let rehearsed = runner.run(&mut nowhere).await;
        self.action.rehearse(false);
        rehearsed.map(|_| ())
    }
}

/// Opens where the rows end: the results (or plan) file at `place`,
/// with the journal an earlier run left carried over, or the screen.
fn open_sink<'a>(
    options: &UpsertOptions,
    place: &ResultsPlace<'_>,
    (input_header, (stamp, tenant_users, key), resumed): (
        &[String],
        (
            &crate::output::results_file::writer::RunStamp,
            Option<u64>,
            &crate::model::SealKey,
        ),
        &Resumed,
    ),
    show: Option<&'a ShowPlan<'a>>,
) -> Result<Sink<'a>, RunError> {
    let file = (&options.input, &options.policy, &options.run);
    let seal =
        crate::engine::plan_rows::seal_for("import", stamp, file, (tenant_users, Vec::new()), key)?;
    let carried: Vec<&Recorded> = resumed.journaled.values().collect();
    Sink::open(
        place.writing_to(),
        SinkSetup {
            dry_run: options.run.dry_run,
            rules: place.rules(),
            inputs: &[options.input.file.as_path()],
            input_header,
            stamp: stamp.clone(),
            journal_for: options.run.output.as_deref(),
            carried: (&carried, &resumed.in_flight),
            seal,
        },
        show,
    )
}

/// Says what becomes of the invalid rows a run goes on past.
fn warn_invalid(first: &FirstPass, options: &UpsertOptions, events: &dyn Events) {
    if !first.invalid.is_empty() {
        let note = if options.run.dry_run && !options.skip_invalid {
            format!(
                "{} invalid rows are in the plan as invalid, with their problems: a real run refuses the file (--skip-invalid runs the rest)",
                first.invalid.len()
            )
        } else if options.run.dry_run {
            format!(
                "{} invalid rows are in the plan as invalid, with their problems: a real run with --skip-invalid skips them and runs the rest",
                first.invalid.len()
            )
        } else {
            format!(
                "{} invalid rows are skipped and recorded as invalid (--skip-invalid)",
                first.invalid.len()
            )
        };
        events.on(Event::Warning(&note));
    }
}

/// Reads what the rows are decided against, the catalog and the users
/// (page 1 of users beside the catalog: run_spec is latency-bound), and
/// writes `--report-missing` from that listing; how many it names.
async fn look_up(
    client: &Client,
    options: &UpsertOptions,
    first: &mut FirstPass,
    events: &dyn Events,
) -> Result<(Catalog, Lookups, Option<u64>), RunError> {
    // The catalog and page 1 of users at once: run_spec is latency-bound.
    let match_by = options.input.rules.match_by;
    let mut missing = first.roster.take().map(|roster| {
        let unkeyed = roster.unkeyed;
        if unkeyed > 0 {
            let note = format!(
                "{unkeyed} rows give no {}: they keep no one out of the missing-users report",
                match_by.field().wire()
            );
            events.on(Event::Warning(&note));
        }
        MissingUsers::new(roster, match_by)
    });
    let (catalog, probe) = futures::try_join!(Catalog::load(client), lookup::probe_users(client))?;
    let groups = catalog.groups.targets();
    options
        .policy
        .privilege
        .learn_members(client, Some(&groups))
        .await?;
    let mut watch = missing
        .as_mut()
        .map(|m| move |user: &crate::model::User| m.see(user));
    let lookups = Lookups::prepare(
        client,
        &catalog,
        probe,
        &first.shape,
        options.input.rules.match_by,
        [options.policy.sync_groups, options.policy.sync_applications],
        watch
            .as_mut()
            .map(|w| w as &mut (dyn FnMut(&crate::model::User) + Send)),
    )
    .await?;
    let mut missing_from_file = None;
    if let (Some(missing), Some(path)) = (&mut missing, &options.report_missing) {
        missing.write(path, options.run.force)?;
        missing_from_file = Some(missing.missing.len() as u64);
        if missing.unmatchable > 0 {
            let note = format!(
                "{} tenant users have no {} and cannot be matched to any row; they are not in {}",
                missing.unmatchable,
                options.input.rules.match_by.field().wire(),
                path.display()
            );
            events.on(Event::Warning(&note));
        }
        if missing.named_otherwise.count > 0 {
            let note = format!(
                "kept out of {} though no row has their {}: {} (a row carries their email or employee number under another key)",
                path.display(),
                options.input.rules.match_by.field().wire(),
                missing.named_otherwise.shown(),
            );
            events.on(Event::Warning(&note));
        }
    }
    Ok((catalog, lookups, missing_from_file))
}

/// What `--resume` brings, and what checks it against the tenant.
struct Confirm {
    resumed: Arc<Resumed>,
    action: Arc<UpsertAction>,
}

impl Confirm {
    /// What to do with row `row` (whose cells are now `cells`) given what
    /// earlier runs recorded: a recorded success the tenant confirms is
    /// done; one it cannot confirm, or a user only the journal knows of,
    /// is done again keeping what that run did.
    fn disposition(&self, row: u64, cells: &[String]) -> Disposition {
        if let Some(previous) = self.resumed.done.get(&row)
            && previous.outcome.succeeded()
            && same_cells(&previous.result.cells, cells)
        {
            let result = &previous.result;
            return match self.action.lookups.holds(&result.username, &result.user_id) {
                Some(true) => {
                    let mut result = result.clone();
                    result.done_by = previous.stamp.run_id.clone();
                    Disposition::Done(Box::new(result))
                }
                Some(false) => Disposition::Process,
                None => Disposition::Redo(Box::new(result.clone())),
            };
        }
        match self.resumed.journaled.get(&row) {
            Some(journaled) if same_cells(&journaled.result.cells, cells) => {
                let mut prior = journaled.result.clone();
                self.action.name_targets(&mut prior);
                Disposition::Redo(Box::new(prior))
            }
            _ => Disposition::Process,
        }
    }
}

/// The rows as jobs: the input read again with the learned vocabulary,
/// each row's disposition from the first pass and the resumed results.
fn job_source(
    input: InputSpec,
    vocabulary: Arc<Vocabulary>,
    invalid: BTreeMap<u64, String>,
    confirm: Confirm,
) -> JobSource<crate::input::RowInput> {
    Arc::new(move |emit| {
        let (mut source, mut validator, _) = open_with(&input, vocabulary.clone())?;
        let header = validator.header().clone();
        while let Some(record) = source.next_record() {
            let record = record?;
            let (row_input, _) = validator.check(&record);
            let (row, filtered) = (record.row, record.filtered.clone());
            let cells = source.echo_owned(record, &header);
            let disposition = if let Some(reason) = filtered {
                Disposition::Filtered(reason)
            } else if let Some(reason) = invalid.get(&row) {
                Disposition::Invalid(reason.clone())
            } else {
                confirm.disposition(row, &cells)
            };
            let job = Job {
                row,
                // A feed without usernames is known by its match key
                // until its user is found.
                label: row_input
                    .set
                    .username
                    .clone()
                    .or_else(|| {
                        row_input
                            .set
                            .text(input.rules.match_by.field())
                            .map(str::to_string)
                    })
                    .unwrap_or_default(),
                cells,
                disposition,
                input: row_input,
            };
            if !emit(job) {
                break;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_json_names_each_key_once() {
        // Import's own fields sit beside the shared totals (flattened):
        // a field in both would be written twice, the later one winning.
        let text = serde_json::to_string(&Summary::default()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = value.as_object().unwrap().len();
        assert_eq!(text.matches("\":").count(), keys, "{text}");
        assert!(value["elapsed_seconds"].is_number());
    }
}
