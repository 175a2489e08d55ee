//! The import pipeline: rows flow from a reader thread through a bounded
//! pool of row workers (lookups and user writes), then through the
//! membership batcher, to one collector that owns the results file and the
//! progress bar.
//!
//! Invariants: every input row gets exactly one result line, in input
//! order; every API call goes through the client's shared throttle; at most
//! `concurrency * 4` rows are in the workers and `HOLD_LIMIT` rows in the
//! batcher, so memory stays flat whatever the file size. On the first
//! interrupt no new row starts and the rest are `not_attempted`; on the
//! second, requests stop at once and rows whose outcome is unknown say so.

pub mod batcher;
pub mod prepare;
pub mod progress;
pub mod row;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::stream::FuturesUnordered;
use futures::{StreamExt, future::BoxFuture};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::api::MembershipSide;
use crate::commands::{CommandError, signals};
use crate::input::scan::open_with;
use crate::input::{InputSpec, open};
use crate::output::results::{Recorded, read_results};
use crate::output::{OrderedCsv, Outcome, RowResult};
use crate::plan::lookup::{self, Lookups, UserStrategy};
use crate::plan::{Catalog, Policy, RowPlan, Target};
use batcher::{Batcher, ChunkOutcome, HOLD_LIMIT};
use progress::Progress;
use row::{Context, Disposition, Job, RowWork};

/// Everything an import (or its dry run) is asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub input: InputSpec,
    pub policy: Policy,
    pub skip_invalid: bool,
    /// Where results (or, in a dry run, the plan) go; `None` for no file.
    pub output: Option<PathBuf>,
    pub force: bool,
    pub resume: Option<PathBuf>,
    pub dry_run: bool,
    pub progress: bool,
}

/// What a run did, for the screen and `--summary-json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub input: String,
    pub output: Option<String>,
    pub dry_run: bool,
    pub rows: u64,
    /// Import: outcomes. Dry run: planned actions.
    pub counts: BTreeMap<String, u64>,
    pub api_calls: u64,
    pub write_calls: u64,
    pub calls_per_row: f64,
    /// Dry run: the calls the import would make.
    pub estimated_import_calls: Option<u64>,
    pub throttled_429: u64,
    pub retries: u64,
    pub elapsed_seconds: f64,
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
    pub created_groups: Vec<String>,
    pub interrupted: bool,
}

impl Summary {
    /// Whether every row succeeded (or, in a dry run, can be applied).
    pub fn all_succeeded(&self) -> bool {
        let bad = if self.dry_run {
            ["invalid", "conflict", "fail", "skip", "not_attempted"].as_slice()
        } else {
            ["skipped", "invalid", "failed", "not_attempted"].as_slice()
        };
        bad.iter()
            .all(|key| self.counts.get(*key).copied().unwrap_or(0) == 0)
    }
}

/// How the run ended.
#[derive(Debug)]
pub enum Ended {
    Finished(Summary),
    Interrupted(Summary),
    /// The input has problems; nothing was sent.
    Refused,
}

/// The plan file's columns.
pub const PLAN_COLUMNS: [&str; 10] = [
    "row",
    "username",
    "action",
    "user_id",
    "changes",
    "groups_add",
    "groups_remove",
    "applications_add",
    "applications_remove",
    "notes",
];

/// Rows inside the workers: row → (username, masked cells), so an abort can
/// say which rows it cut off mid-request.
type InFlight = Arc<Mutex<HashMap<u64, (String, Vec<String>)>>>;

/// Runs an import (or a dry run) against `client`.
pub async fn run(client: Client, options: &ImportOptions) -> Result<Ended, CommandError> {
    let started = Instant::now();
    let input = options.input.clone();
    let first = tokio::task::spawn_blocking(move || prepare::first_pass(&input))
        .await
        .map_err(|e| CommandError::io("the input reader stopped", std::io::Error::other(e)))??;
    let mut first = first;
    for issue in &first.scan.header_issues {
        eprintln!("  header {}: {}", issue.column, issue.message);
    }
    if refuse(&first, options) {
        return Ok(Ended::Refused);
    }
    if let Some(warning) =
        crate::commands::validate::untold_passwords_warning(first.scan.untold_passwords)
    {
        eprintln!("{warning}");
    }
    let resumed = match &options.resume {
        Some(path) => read_results(path)?,
        None => BTreeMap::new(),
    };

    // The catalog and page 1 of users at once: the run's setup is latency-bound.
    let (mut catalog, probe) =
        futures::try_join!(Catalog::load(&client), lookup::probe_users(&client))?;
    let lookups = Lookups::prepare(
        &client,
        &catalog,
        probe,
        &first.shape,
        options.input.rules.match_by,
        [options.policy.sync_groups, options.policy.sync_applications],
    )
    .await?;
    // Values the tenant uses are valid input: learn them before the rows are read again.
    let mut vocabulary = (*options.input.vocabulary).clone();
    let seen = match &lookups.seen_values {
        Some(seen) => seen.clone(),
        None if !first.pending.is_empty() => Lookups::tenant_values(&client).await?,
        None => Vec::new(),
    };
    for (country, user_type) in &seen {
        vocabulary.learn(country.as_deref(), user_type.as_deref());
    }
    if !first.pending.is_empty() {
        let newly_invalid = first.settle(|field, value| match field {
            "country" => vocabulary.countries.resolve(value).is_some(),
            _ => vocabulary.user_type(value).is_some(),
        });
        if newly_invalid > 0 && refuse(&first, options) {
            return Ok(Ended::Refused);
        }
    }
    if !first.invalid.is_empty() {
        for problem in &first.shown {
            crate::commands::validate::print_problem(problem);
        }
        eprintln!(
            "{} invalid rows are skipped and recorded as invalid (--skip-invalid)",
            first.invalid.len()
        );
    }
    let created_groups =
        missing_groups(&client, &mut catalog, &first.shape.groups, options).await?;
    let mut summary = Summary {
        input: crate::input::reader::shown(&options.input.file),
        dry_run: options.dry_run,
        rows: first.scan.rows,
        rate_limit: client.throttle().max_rate(),
        user_lookup: Some(lookups.users),
        group_reads: Some(lookups.groups),
        application_reads: Some(lookups.applications),
        tenant_users: lookups.tenant_users,
        created_groups,
        ..Default::default()
    };
    let (source, validator, _) = open_with(&options.input, Arc::new(vocabulary))?;
    let input_header = source.header().to_vec();
    drop(source);
    let (mut sink, final_path) = open_sink(options, &input_header)?;
    summary.output = final_path.as_ref().map(|p| p.display().to_string());

    let stop_starting = CancellationToken::new();
    let abort = CancellationToken::new();
    let context = Arc::new(Context {
        client: client.clone(),
        catalog,
        lookups,
        policy: options.policy.clone(),
        stop_starting: stop_starting.clone(),
        dry_run: options.dry_run,
    });
    let watcher = {
        let (stop_starting, abort, throttle) = (
            stop_starting.clone(),
            abort.clone(),
            client.throttle().clone(),
        );
        tokio::spawn(async move {
            signals::terminated().await;
            stop_starting.cancel();
            tracing::warn!(
                "interrupted: finishing the requests in flight (interrupt again to abort at once)"
            );
            signals::terminated().await;
            abort.cancel();
            throttle.stop("interrupted");
        })
    };

    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(256);
    let reader = {
        let input = options.input.clone();
        let header = validator.header().clone();
        let invalid = first.invalid.clone();
        tokio::task::spawn_blocking(move || {
            read_jobs(&input, validator, &header, &invalid, &resumed, jobs_tx)
        })
    };
    let in_flight: InFlight = Arc::default();
    // Enough rows under way to keep every slot busy; the throttle bounds
    // what is actually in flight, and rows waiting for it are cut at once
    // by an interrupt.
    let workers = (client.throttle().max_in_flight() * 2).clamp(8, 4096);
    let mut work = tokio_stream_from(jobs_rx)
        .map(|job: Job| {
            let context = context.clone();
            let in_flight = in_flight.clone();
            async move {
                if let Ok(mut map) = in_flight.lock() {
                    map.insert(job.row, (job.username.clone(), job.cells.clone()));
                }
                let row = job.row;
                let done = row::process(context, job).await;
                if let Ok(mut map) = in_flight.lock() {
                    map.remove(&row);
                }
                done
            }
        })
        .buffer_unordered(workers);
    let mut batcher = Batcher::new(HOLD_LIMIT);
    let mut flushes: FuturesUnordered<BoxFuture<'static, ChunkOutcome>> = FuturesUnordered::new();
    let mut progress = Progress::new(first.scan.rows, "rows", options.progress);
    progress.set_phase(if options.dry_run {
        "planning rows"
    } else {
        "applying rows"
    });
    let mut work_done = false;
    let mut drained_on_stop = false;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    while !(work_done && flushes.is_empty()) {
        tokio::select! {
            biased;
            () = abort.cancelled() => break,
            () = stop_starting.cancelled(), if !drained_on_stop => {
                // Rows already written get their memberships now, not at the end.
                drained_on_stop = true;
                for chunk in batcher.drain() {
                    flushes.push(Box::pin(batcher::apply(client.clone(), chunk)));
                }
            }
            _ = tick.tick() => {
                progress.show_pause(client.throttle().pause());
                if batcher.oldest_wait() >= batcher::MAX_HOLD {
                    for chunk in batcher.drain() {
                        flushes.push(Box::pin(batcher::apply(client.clone(), chunk)));
                    }
                }
            }
            Some(outcome) = flushes.next(), if !flushes.is_empty() => {
                for result in batcher.settle(outcome) {
                    if result.outcome == Outcome::Failed {
                        progress.failure();
                    }
                    sink.push_result(result, None, &mut summary)?;
                }
            }
            next = work.next(), if !work_done => match next {
                Some(done) => {
                    let RowWork { result, plan, pending } = done;
                    progress.inc(matches!(result.outcome, Outcome::Failed | Outcome::Invalid));
                    if pending.is_empty() || options.dry_run {
                        sink.push_result(result, plan.as_ref(), &mut summary)?;
                    } else {
                        for chunk in batcher.add(RowWork { result, plan: None, pending }) {
                            flushes.push(Box::pin(batcher::apply(client.clone(), chunk)));
                        }
                    }
                }
                None => {
                    work_done = true;
                    progress.set_phase("applying group memberships");
                    for chunk in batcher.drain() {
                        flushes.push(Box::pin(batcher::apply(client.clone(), chunk)));
                    }
                }
            },
        }
    }
    let aborted = abort.is_cancelled();
    drop(work);
    if aborted {
        let unknown = "interrupted while its requests were in flight: the outcome is unknown (run again with --resume to settle it)";
        for result in
            batcher.abandon("interrupted before its group and application changes were sent")
        {
            progress.failure();
            sink.push_result(result, None, &mut summary)?;
        }
        let stranded: Vec<(u64, (String, Vec<String>))> = in_flight
            .lock()
            .map(|mut m| m.drain().collect())
            .unwrap_or_default();
        for (row, (username, cells)) in stranded {
            let mut result = RowResult::new(row, &username, Outcome::Failed, cells);
            result.error = unknown.to_string();
            progress.inc(true);
            sink.push_result(result, None, &mut summary)?;
        }
    }
    let _ = reader.await;
    if aborted || sink.missing_rows(first.scan.rows) {
        fill_not_attempted(options, &mut sink, &mut progress, &mut summary)?;
    }
    watcher.abort();
    progress.finish();
    let stats = client.stats();
    summary.api_calls = stats.requests;
    summary.write_calls = stats.writes;
    summary.throttled_429 = stats.throttled;
    summary.retries = stats.retries;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let pacing = client.throttle().report();
    summary.requests_per_second = pacing.active_rate;
    summary.bound = crate::limiter::what_bounded(&pacing, client.throttle().max_rate());
    summary.calls_per_row = stats.requests as f64 / (first.scan.rows.max(1)) as f64;
    if options.dry_run {
        summary.estimated_import_calls = Some(stats.requests + sink.estimated_writes());
    }
    sink.finish(final_path.as_deref())?;
    summary.interrupted = stop_starting.is_cancelled();
    Ok(if summary.interrupted {
        Ended::Interrupted(summary)
    } else {
        Ended::Finished(summary)
    })
}

/// Whether the input's problems stop the run before anything is sent
/// (printing them if so): header errors, or invalid rows without
/// `--skip-invalid`.
fn refuse(first: &prepare::FirstPass, options: &ImportOptions) -> bool {
    let header_errors = first.scan.header_errors();
    if header_errors == 0 && (first.invalid.is_empty() || options.skip_invalid) {
        return false;
    }
    for problem in &first.shown {
        crate::commands::validate::print_problem(problem);
    }
    for (row, reason) in first
        .invalid
        .iter()
        .filter(|(row, _)| !first.shown.iter().any(|p| p.row == **row))
        .take(prepare::SHOWN.saturating_sub(first.shown.len()))
    {
        eprintln!("  row {row}: {reason}");
    }
    eprintln!(
        "{}: {} of {} rows have problems{}; nothing was sent to the tenant (fix them, or pass --skip-invalid to import the rest)",
        crate::input::reader::shown(&options.input.file),
        first.invalid.len(),
        first.scan.rows,
        if header_errors == 0 {
            String::new()
        } else {
            format!(" and the header has {header_errors} errors")
        },
    );
    true
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Creates the groups rows name that do not exist (`--create-missing-groups`).
async fn missing_groups(
    client: &Client,
    catalog: &mut Catalog,
    names: &std::collections::BTreeSet<String>,
    options: &ImportOptions,
) -> Result<Vec<String>, CommandError> {
    if !options.policy.create_missing_groups {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for name in names {
        if catalog.groups.resolve(name).is_some() {
            continue;
        }
        let target = if options.dry_run {
            Target {
                id: format!("(new) {name}"),
                name: name.clone(),
            }
        } else {
            let group = client
                .create_group(&crate::model::GroupWrite {
                    name: name.clone(),
                    description: Some("created by sebulk import".to_string()),
                    enforce_second_factor: None,
                })
                .await?;
            Target {
                id: group.id,
                name: group.name,
            }
        };
        created.push(target.name.clone());
        catalog.groups.insert(target);
    }
    Ok(created)
}

/// Reads the input again, turning rows into jobs.
fn read_jobs(
    input: &InputSpec,
    mut validator: crate::input::Validator,
    header: &crate::input::Header,
    invalid: &BTreeMap<u64, String>,
    resumed: &BTreeMap<u64, Recorded>,
    jobs: mpsc::Sender<Job>,
) -> Result<(), CommandError> {
    let (mut source, _, _) = open(input)?;
    while let Some(record) = source.next_record() {
        let record = record?;
        let (row_input, _) = validator.check(&record);
        let cells = prepare::masked_cells(header, &record.cells);
        let username = row_input.set.username.clone().unwrap_or_default();
        let disposition = if let Some(reason) = invalid.get(&record.row) {
            Disposition::Invalid(reason.clone())
        } else {
            match resumed.get(&record.row) {
                Some(previous)
                    if previous.outcome.succeeded()
                        && same_cells(&previous.result.cells, &cells) =>
                {
                    Disposition::Done(Box::new(previous.result.clone()))
                }
                _ => Disposition::Process,
            }
        };
        let job = Job {
            row: record.row,
            username,
            input: row_input,
            cells,
            disposition,
        };
        if jobs.blocking_send(job).is_err() {
            break;
        }
    }
    Ok(())
}

/// Whether a resumed row's recorded cells are the row as it is now.
fn same_cells(recorded: &[String], now: &[String]) -> bool {
    recorded.len() == now.len()
        && recorded
            .iter()
            .zip(now)
            .all(|(a, b)| *a == crate::output::sanitize::neutralize(b))
}

/// Writes `not_attempted` for every row that got no result.
fn fill_not_attempted(
    options: &ImportOptions,
    sink: &mut Sink,
    progress: &mut Progress,
    summary: &mut Summary,
) -> Result<(), CommandError> {
    let (mut source, validator, _) = open(&options.input)?;
    while let Some(record) = source.next_record() {
        let record = record?;
        if sink.has(record.row) {
            continue;
        }
        let cells = prepare::masked_cells(validator.header(), &record.cells);
        let username = record.cells.first().cloned().unwrap_or_default();
        let mut result = RowResult::new(record.row, &username, Outcome::NotAttempted, cells);
        result.error = "interrupted before this row was started".to_string();
        progress.inc(false);
        sink.push_result(result, None, summary)?;
    }
    Ok(())
}

/// Row numbers seen, kept small: rows arrive nearly in order, so only the
/// ones ahead of the contiguous prefix are stored.
#[derive(Debug, Default)]
struct RowSet {
    done_through: u64,
    ahead: std::collections::BTreeSet<u64>,
}

impl RowSet {
    /// Adds `row`; false if it was there already.
    fn insert(&mut self, row: u64) -> bool {
        if self.contains(row) {
            return false;
        }
        self.ahead.insert(row);
        while self.ahead.remove(&(self.done_through + 1)) {
            self.done_through += 1;
        }
        true
    }

    fn contains(&self, row: u64) -> bool {
        row <= self.done_through || self.ahead.contains(&row)
    }

    fn len(&self) -> u64 {
        self.done_through + self.ahead.len() as u64
    }
}

/// Where finished rows go: a results file, a plan file, or only the counts.
struct Sink {
    file: Option<OrderedCsv>,
    dry_run: bool,
    pushed: RowSet,
    membership_calls: HashMap<(bool, bool, String), u64>,
    own_writes: u64,
}

fn open_sink(
    options: &ImportOptions,
    input_header: &[String],
) -> Result<(Sink, Option<PathBuf>), CommandError> {
    let inputs: Vec<&Path> = [Some(options.input.file.as_path())]
        .into_iter()
        .flatten()
        .collect();
    let file = match &options.output {
        None => None,
        Some(path) => {
            // Resuming into the file being resumed from: write beside it, swap at the end.
            let resuming_in_place = options
                .resume
                .as_ref()
                .is_some_and(|r| crate::output::files::same_file(r, path));
            let target = if resuming_in_place {
                path.with_extension("resuming.csv")
            } else {
                path.clone()
            };
            let force = options.force || resuming_in_place;
            Some(if options.dry_run {
                let header: Vec<String> = PLAN_COLUMNS
                    .iter()
                    .map(|c| c.to_string())
                    .chain(input_header.iter().cloned())
                    .collect();
                OrderedCsv::create(&target, force, &inputs, &header)?
            } else {
                OrderedCsv::results(&target, force, &inputs, input_header)?
            })
        }
    };
    Ok((
        Sink {
            file,
            dry_run: options.dry_run,
            pushed: Default::default(),
            membership_calls: HashMap::new(),
            own_writes: 0,
        },
        options.output.clone(),
    ))
}

impl Sink {
    fn push_result(
        &mut self,
        result: RowResult,
        plan: Option<&RowPlan>,
        summary: &mut Summary,
    ) -> Result<(), CommandError> {
        if !self.pushed.insert(result.row) {
            return Ok(());
        }
        let (key, record) = if self.dry_run {
            let action = plan_action(&result, plan);
            if let Some(plan) = plan {
                self.count_calls(plan);
            }
            (action.to_string(), plan_record(&result, plan, action))
        } else {
            (result.outcome.as_str().to_string(), result.record())
        };
        *summary.counts.entry(key).or_default() += 1;
        if let Some(file) = &mut self.file {
            file.push(result.row, record)?;
        }
        Ok(())
    }

    fn count_calls(&mut self, plan: &RowPlan) {
        self.own_writes += plan.own_writes();
        for (is_group, delta) in [(true, &plan.groups), (false, &plan.applications)] {
            for (add, targets) in [(true, &delta.add), (false, &delta.remove)] {
                for target in targets {
                    *self
                        .membership_calls
                        .entry((is_group, add, target.id.clone()))
                        .or_default() += 1;
                }
            }
        }
    }

    /// The writes an import of the plan would make: own writes plus coalesced membership calls.
    fn estimated_writes(&self) -> u64 {
        let chunk = batcher::CHUNK_SIZE as u64;
        self.own_writes
            + self
                .membership_calls
                .values()
                .map(|n| n.div_ceil(chunk))
                .sum::<u64>()
    }

    fn has(&self, row: u64) -> bool {
        self.pushed.contains(row)
    }

    fn missing_rows(&self, rows: u64) -> bool {
        self.pushed.len() < rows
    }

    fn finish(self, final_path: Option<&Path>) -> Result<(), CommandError> {
        if let Some(file) = self.file {
            let written = file.finish()?;
            if let Some(final_path) = final_path
                && written != final_path
            {
                std::fs::rename(&written, final_path).map_err(|e| {
                    CommandError::io(format!("cannot replace {}", final_path.display()), e)
                })?;
            }
        }
        Ok(())
    }
}

fn plan_action(result: &RowResult, plan: Option<&RowPlan>) -> &'static str {
    match (result.outcome, plan.map(|p| &p.action)) {
        (Outcome::Invalid, _) => "invalid",
        (_, Some(crate::plan::Action::Refuse { reason, .. })) if reason.starts_with("conflict") => {
            "conflict"
        }
        (_, Some(action)) => match action.verb() {
            "refuse" => "fail",
            verb => verb,
        },
        (Outcome::NotAttempted, None) => "not_attempted",
        _ => "fail",
    }
}

fn plan_record(result: &RowResult, plan: Option<&RowPlan>, action: &str) -> Vec<String> {
    let names = |targets: &[Target]| {
        targets
            .iter()
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join(";")
    };
    let mut record = vec![
        result.row.to_string(),
        result.username.clone(),
        action.to_string(),
        result.user_id.clone(),
    ];
    match plan {
        Some(plan) => {
            let changes: Vec<String> = plan
                .changes
                .iter()
                .map(|c| format!("{}: '{}' → '{}'", c.field, c.old, c.new))
                .collect();
            let mut notes = plan.notes.clone();
            if let crate::plan::Action::Refuse { reason, .. }
            | crate::plan::Action::Skip { reason, .. } = &plan.action
            {
                notes.insert(0, reason.clone());
            }
            record.extend([
                changes.join("; "),
                names(&plan.groups.add),
                names(&plan.groups.remove),
                names(&plan.applications.add),
                names(&plan.applications.remove),
                notes.join("; "),
            ]);
        }
        None => {
            record.extend([
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                result.error.clone(),
            ]);
        }
    }
    record.extend(result.cells.iter().cloned());
    record
        .into_iter()
        .map(|cell| crate::output::sanitize::neutralize(&cell).into_owned())
        .collect()
}
