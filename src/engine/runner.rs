//! The row runner: what every row command shares. Rows come from a
//! blocking reader thread, go through a bounded pool of workers running the
//! command's [`RowAction`] (each row a task of its own, so rows are decided
//! on every core), hand their membership changes to the batcher, and end
//! in one sink that owns the results, in input order: the run's own task
//! is the only one that records.
//!
//! Invariants: every row gets exactly one result; every request goes
//! through the client's throttle; at most a bounded number of rows are in
//! the workers and the batcher, so memory stays flat whatever the input's
//! size. On the first interrupt, rows that have not written withdraw their
//! requests and become `not_attempted` while requests on the wire finish
//! (and rows already written get their memberships); on the second,
//! everything stops at once (each row's task ends at its next wait, and
//! the run waits for every one before it names the rows cut off): a row
//! cut before any write of its own is `not_attempted`; one cut after a
//! write went out is `failed` and says so, and the run's journal and
//! intents stay beside its results, for undo and `--resume`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt, future::BoxFuture};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::batcher::{self, Batcher, ChunkOutcome, HOLD_LIMIT, OnTheWire, Pending};
use crate::api::{ApiError, Client, Tally};
use crate::events::{Event, Events};
use crate::input::InputError;
use crate::output::results_file::intents::Intents;
use crate::output::{Outcome, OutputError, RowResult};

/// Why a row command stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("the input reader stopped: {0}")]
    Reader(String),
}

/// The two stages of an interrupt, owned by the command that listens for
/// signals: `first` stops new work, `abort` stops everything.
#[derive(Debug, Clone, Default)]
pub struct Stops {
    pub first: CancellationToken,
    pub abort: CancellationToken,
}

/// One row as the reader hands it over.
#[derive(Debug)]
pub struct Job<I> {
    pub row: u64,
    /// What the results call the row (the username).
    pub label: String,
    /// The row's cells as the results repeat them (secrets masked).
    pub cells: Vec<String>,
    pub disposition: Disposition,
    pub input: I,
}

/// Whether a row is to be processed at all.
#[derive(Debug, Clone)]
pub enum Disposition {
    Process,
    /// The row failed validation (with `--skip-invalid`).
    Invalid(String),
    /// The mapping's filters leave the row out (the reason).
    Filtered(String),
    /// An earlier run already did it (with `--resume`), as the tenant
    /// confirms.
    Done(Box<RowResult>),
    /// An earlier run wrote the row's user but its result could not be
    /// confirmed: the row is done again and keeps what that run did.
    Redo(Box<RowResult>),
}

/// A processed row: its result so far, what the sink may want besides,
/// and the membership changes still to send.
#[derive(Debug)]
pub struct ProcessedRow<D> {
    pub result: RowResult,
    pub detail: Option<D>,
    pub pending: Vec<Pending>,
}

/// A row command's work on one row.
pub trait RowAction: Send + Sync + 'static {
    type Input: Send + 'static;
    type Detail: Send + 'static;

    /// Processes one row. `client`'s requests not yet sent are withdrawn
    /// by the first interrupt (use `client.uncut()` once the row has
    /// written); `result` is the row's result, to be filled in.
    fn process(
        &self,
        client: Client,
        input: Self::Input,
        result: RowResult,
    ) -> impl Future<Output = ProcessedRow<Self::Detail>> + Send;
}

/// Where finished rows go.
pub trait RowSink<D>: Send {
    fn push(&mut self, result: RowResult, detail: Option<D>) -> Result<(), RunError>;
    /// Whether row `row` has been pushed.
    fn contains(&self, row: u64) -> bool;
    /// How many rows have been pushed.
    fn count(&self) -> u64;
    /// A row's user was written and its memberships are still to come:
    /// a sink that must not fall behind the tenant records it now.
    fn note_written(&mut self, _result: &RowResult) -> Result<(), RunError> {
        Ok(())
    }
    /// Where rows record each write before it is sent (a run that keeps a
    /// journal): none, and writes are sent unrecorded.
    fn intents(&self) -> Option<Arc<Intents>> {
        None
    }
    /// An abort cut rows with writes on the wire: what those did is
    /// unknown, so the records that name them (journal and intents) stay
    /// beside the finished file, for undo and `--resume` to settle.
    fn keep_what_was_on_the_wire(&mut self) {}
}

/// Records one row's (or one membership call's rows') writes in the
/// run's intents before they are sent.
struct RowsAboutToWrite {
    intents: Arc<Intents>,
    rows: Vec<(u64, String)>,
    /// Set once a write goes out (a membership call's, for an abort).
    out: Option<Arc<AtomicBool>>,
}

impl crate::api::BeforeWrite for RowsAboutToWrite {
    fn before_write(&self, endpoint: &str, changes: &str) -> Result<(), String> {
        self.rows
            .iter()
            .try_for_each(|(row, label)| self.intents.note(*row, label, endpoint, changes))?;
        if let Some(out) = &self.out {
            out.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// `client`, recording the writes of `rows` first when the run keeps
/// intents, and setting `out` as one goes out (without intents it is set
/// at once: whether the write went out cannot be told).
fn recording_for(
    client: &Client,
    (intents, out): (&Option<Arc<Intents>>, Option<Arc<AtomicBool>>),
    rows: impl FnOnce() -> Vec<(u64, String)>,
) -> Client {
    match intents {
        Some(intents) => client.recording(Arc::new(RowsAboutToWrite {
            intents: intents.clone(),
            rows: rows(),
            out,
        })),
        None => {
            if let Some(out) = out {
                out.store(true, Ordering::SeqCst);
            }
            client.clone()
        }
    }
}

/// The rows of a run, read on a blocking thread: calls `emit` for each row
/// in order and stops when it returns false. Called a second time to
/// record the rows an abort left without a result.
pub type JobSource<I> = Arc<ReadRows<I>>;

/// Reads the rows, calling `emit` for each (see [`JobSource`]).
pub type ReadRows<I> = dyn Fn(&mut dyn FnMut(Job<I>) -> bool) -> Result<(), RunError> + Send + Sync;

/// How a run ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOutcome {
    /// An interrupt came.
    pub interrupted: bool,
}

/// The runner of one row command.
pub struct Runner<'a, A: RowAction> {
    pub client: Client,
    pub action: Arc<A>,
    pub source: JobSource<A::Input>,
    /// Rows in the input, for the progress bar.
    pub rows: u64,
    pub stops: Stops,
    pub events: &'a dyn Events,
    /// Send membership changes (not in a dry run).
    pub apply_memberships: bool,
}

/// Rows inside the workers: row → (label, cells), so an abort can say
/// which rows it cut off mid-request.
type InFlight = Arc<RowsUnderWay>;

/// How far a row may start ahead of the oldest row still under way. Rows
/// finish in any order but are recorded in row order, so every row
/// finished past a slow one waits in memory until it is done: a row held
/// for minutes (a tenant answering 429 to it alone) would otherwise let
/// the whole file pile up behind it. This bounds that (a waiting line is
/// kept packed, a few hundred bytes, so some 5 MB) and is far
/// enough ahead not to hold back the pool:
/// measured at 100,000 rows, 2,048 cost a fifth of the speed and 16,384
/// nothing.
const LEAD: u64 = 16_384;

/// The rows under way (label and cells, for an abort to name them, and
/// whether a write of theirs went out), and a wake-up for rows waiting
/// to start when the oldest one finishes.
#[derive(Default)]
pub struct RowsUnderWay {
    rows: Mutex<std::collections::BTreeMap<u64, RowUnderWay>>,
    finished: tokio::sync::Notify,
}

/// A row under way: its label and cells, and whether a write of its own
/// has gone out (set as it goes, by the row's recording client).
type RowUnderWay = (String, Vec<String>, Arc<AtomicBool>);

impl RowsUnderWay {
    /// Waits until `row` is within [`LEAD`] of the oldest row under way,
    /// then counts it as under way.
    async fn start(&self, row: u64, (label, cells): (&str, &[String]), wrote: Arc<AtomicBool>) {
        loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if let Ok(mut rows) = self.rows.lock() {
                let oldest = rows.keys().next().copied().unwrap_or(row);
                if row < oldest + LEAD {
                    rows.insert(row, (label.to_string(), cells.to_vec(), wrote));
                    return;
                }
            } else {
                return;
            }
            finished.await;
        }
    }

    /// Counts `row` as done; rows waiting are woken only when it was the
    /// oldest (nothing else moves the window).
    fn finish(&self, row: u64) {
        let was_oldest = match self.rows.lock() {
            Ok(mut rows) => {
                let oldest = rows.keys().next() == Some(&row);
                rows.remove(&row);
                oldest
            }
            Err(_) => true,
        };
        if was_oldest {
            self.finished.notify_waiters();
        }
    }

    fn drain(&self) -> Vec<(u64, RowUnderWay)> {
        self.rows
            .lock()
            .map(|mut m| std::mem::take(&mut *m).into_iter().collect())
            .unwrap_or_default()
    }
}

impl<A: RowAction> Runner<'_, A> {
    /// Runs every row into `sink`.
    pub async fn run(self, sink: &mut dyn RowSink<A::Detail>) -> Result<RunOutcome, RunError> {
        let Runner {
            client,
            action,
            source,
            rows,
            stops,
            events,
            apply_memberships,
        } = self;
        events.on(Event::Total(rows));
        release_freed_memory();
        let (jobs_rx, reader, _) = read_in_batches(source.clone());
        let in_flight: InFlight = Arc::default();
        let intents = sink.intents();
        let mut work = worked(jobs_rx, (&action, &client, &stops), (&in_flight, &intents));
        let mut batcher = Batcher::new(HOLD_LIMIT);
        let mut flushes: FuturesUnordered<BoxFuture<'static, ChunkOutcome>> =
            FuturesUnordered::new();
        let mut on_wire = OnTheWire::default();
        let flush = |chunks: Vec<batcher::Chunk>,
                     flushes: &mut FuturesUnordered<BoxFuture<'static, ChunkOutcome>>,
                     on_wire: &mut OnTheWire| {
            for chunk in chunks {
                let out = Some(on_wire.under_way(&chunk));
                // Its rows' users are in the journal already; the call
                // names them by id.
                let client = recording_for(&client, (&intents, out), || chunk.members.clone());
                flushes.push(Box::pin(batcher::apply(client, chunk)));
            }
        };
        let mut work_done = false;
        let mut drained_on_stop = false;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while !(work_done && flushes.is_empty()) {
            tokio::select! {
                biased;
                () = stops.abort.cancelled() => break,
                () = stops.first.cancelled(), if !drained_on_stop => {
                    // Rows already written get their memberships now, not at the end.
                    drained_on_stop = true;
                    flush(batcher.drain(), &mut flushes, &mut on_wire);
                }
                _ = tick.tick() => {
                    events.on(Event::Pause(client.throttle().pause()));
                    if batcher.oldest_wait() >= batcher::MAX_HOLD {
                        flush(batcher.drain(), &mut flushes, &mut on_wire);
                    }
                }
                Some(outcome) = flushes.next(), if !flushes.is_empty() => {
                    settle_chunk(outcome, (&mut batcher, &mut on_wire), sink, events)?;
                }
                next = work.next(), if !work_done => match next {
                    // A row the abort stopped: the abort arm settles it.
                    Some(None) => {}
                    Some(Some(ProcessedRow { result, detail, pending })) => {
                        let failed = matches!(result.outcome, Outcome::Failed | Outcome::Invalid);
                        events.on(Event::Advanced { items: 1, failed: u64::from(failed) });
                        if pending.is_empty() || !apply_memberships {
                            events.on(Event::Row(&result));
                            sink.push(result, detail)?;
                        } else {
                            sink.note_written(&result)?;
                            flush(batcher.add(result, pending), &mut flushes, &mut on_wire);
                        }
                    }
                    None => {
                        work_done = true;
                        events.on(Event::Phase("applying group memberships"));
                        flush(batcher.drain(), &mut flushes, &mut on_wire);
                    }
                },
            }
        }
        let aborted = stops.abort.is_cancelled();
        if aborted {
            let late = (&mut batcher, apply_memberships);
            record_late_rows(&mut work, late, sink, events).await?;
            // Membership calls answered before the abort are settled as
            // they went, not given up as never sent.
            while let Some(Some(outcome)) = flushes.next().now_or_never() {
                settle_chunk(outcome, (&mut batcher, &mut on_wire), sink, events)?;
            }
            settle_aborted((&mut batcher, &on_wire), &in_flight, sink, events)?;
        }
        drop(work);
        let read = reader.await.map_err(|e| RunError::Reader(e.to_string()))?;
        if !aborted {
            read?;
        }
        if aborted || sink.count() < rows {
            fill_not_attempted(&*source, sink, events)?;
        }
        Ok(RunOutcome {
            interrupted: stops.first.is_cancelled(),
        })
    }
}

/// The rows as they finish, in any order (`None`: a row the abort
/// stopped): enough of them under way to keep every slot busy. Each row
/// runs as its own task, so rows are decided on every core while the
/// run's own task keeps the results and the memberships (measured at
/// 100,000 rows: one task for every row held one core at its limit and
/// left the others idle); an abort ends the rows still under way, and no
/// row starts after it. The throttle bounds what is actually in flight,
/// and rows waiting for it are cut at once by an interrupt. The slots
/// follow rate × latency (with their own margin) and the pool follows the
/// slots as they adapt: twice as many rows as slots keeps each slot's next
/// request ready, and no more rows hold their state while they wait
/// (measured at 100,000 rows: eight times cost 10 MB and no speed).
fn worked<A: RowAction>(
    jobs: Batches<A::Input>,
    (action, client, stops): (&Arc<A>, &Client, &Stops),
    (in_flight, intents): (&InFlight, &Option<Arc<Intents>>),
) -> impl futures::Stream<Item = Option<ProcessedRow<A::Detail>>> + use<A> {
    let throttle = client.throttle().clone();
    let width = move || {
        (throttle.parallelism() * ROWS_PER_SLOT).clamp(
            MIN_ROWS,
            (throttle.max_in_flight() * 2).clamp(MIN_ROWS, MAX_ROWS),
        )
    };
    let (action, client, stops, in_flight, intents) = (
        action.clone(),
        client.clone(),
        stops.clone(),
        in_flight.clone(),
        intents.clone(),
    );
    let jobs = receiver_stream(jobs)
        .flat_map(futures::stream::iter)
        .take_until(Box::pin(stops.abort.clone().cancelled_owned()));
    super::pool::Pool::new(jobs, width, move |job: Job<A::Input>| {
        let wrote = Arc::new(AtomicBool::new(false));
        let client = recording_for(&client, (&intents, Some(wrote.clone())), || {
            vec![(job.row, job.label.clone())]
        });
        let (action, stops, in_flight) = (action.clone(), stops.clone(), in_flight.clone());
        let abort = stops.abort.clone();
        spawned(
            async move { tracked(&*action, (client, wrote), &stops, job, &in_flight).await },
            abort,
        )
    })
}

/// Runs `work` as a task of its own, started at once: its output, or
/// `None` when `abort` came first (a row cut off mid-request stays under
/// way in the lead, for the abort to name). A panic in the row is the
/// run's, as if the row had run on the run's own task; and the task is
/// cancelled when its output is no longer awaited (a run that stopped on
/// an error leaves no row running behind it).
pub(crate) fn spawned<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    abort: CancellationToken,
) -> impl Future<Output = Option<T>> {
    let task = tokio::spawn(async move {
        tokio::select! {
            biased;
            () = abort.cancelled() => None,
            done = work => Some(done),
        }
    });
    let cancel_on_drop = CancelOnDrop(task.abort_handle());
    async move {
        let _cancel_on_drop = cancel_on_drop;
        match task.await {
            Ok(done) => done,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => None,
        }
    }
}

/// Cancels a task when dropped (a finished one is left as it is).
struct CancelOnDrop(tokio::task::AbortHandle);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the rows on a blocking thread, handing them over in batches (a
/// wake-up a row cost a tenth of a 100,000-row run's CPU): the batches,
/// the reader's end, and where the pool may hand the rows' cells back to
/// be freed on the reader's thread ([`CellsBack`]).
pub(crate) fn read_in_batches<I: Send + 'static>(
    source: JobSource<I>,
) -> (Batches<I>, ReaderEnd, CellsBack) {
    let (jobs_tx, jobs_rx) = mpsc::channel::<Vec<Job<I>>>(JOB_BATCHES);
    let (cells_tx, cells_rx) = std::sync::mpsc::channel::<Vec<Vec<String>>>();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(JOBS_PER_BATCH);
        let read = source(&mut |job| {
            batch.push(job);
            if batch.len() == JOBS_PER_BATCH {
                // Freed here, into this thread's own arena.
                while let Ok(cells) = cells_rx.try_recv() {
                    drop(cells);
                }
            }
            batch.len() < JOBS_PER_BATCH
                || jobs_tx
                    .blocking_send(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(JOBS_PER_BATCH),
                    ))
                    .is_ok()
        });
        if !batch.is_empty() {
            let _ = jobs_tx.blocking_send(batch);
        }
        read
    });
    (jobs_rx, reader, cells_tx)
}

/// The rows' batches as the pool receives them.
pub(crate) type Batches<I> = mpsc::Receiver<Vec<Job<I>>>;
/// A batch's cells, handed back to the reader's thread to be freed there.
/// glibc frees a block into the arena of the thread that made it, under
/// that arena's lock: pool threads freeing the reader's cells fought the
/// reader for its lock. Measured in a 100,000-row rehearsal, which
/// frees every row's cells as soon as it is decided: a third of its
/// threads' time went to waiting on that lock, and handing the cells
/// back took it from 0.78 s to 0.57 s. The real run's cells go on to
/// the results file and are freed by its writer, as before.
pub(crate) type CellsBack = std::sync::mpsc::Sender<Vec<Vec<String>>>;
/// How the reading of the rows ended.
pub(crate) type ReaderEnd = tokio::task::JoinHandle<Result<(), RunError>>;

/// Rows read ahead of the pool: batches of rows, and how many may wait.
const JOBS_PER_BATCH: usize = 64;
const JOB_BATCHES: usize = 4;

/// Hands the memory freed so far (the lookup's pages, a rehearsal's rows)
/// back to the system before the rows start. glibc keeps freed memory in
/// each thread's arena, and the rows' churn of small strings then grows
/// new memory beside it: measured at 100,000 rows, the real run's peak
/// rose 5–6 MB above the lookup's without this, and not at all with one
/// arena (which cost a third of the speed).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it
    // takes no pointer and leaves every live allocation where it is.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Rows under way per throttle slot (see [`worked`]).
const ROWS_PER_SLOT: usize = 2;
/// Rows under way at most, whatever the slots: each holds its state
/// (a sync's row some 10 KB), and on a loaded machine the latency, and
/// with it the slots, climb as the rows pile up (measured at 100,000
/// rows on a loaded machine: the rows under way held 16 MB). 512 keep
/// 3,000 requests/s fed up to 85 ms of latency.
const MAX_ROWS: usize = 512;
/// Rows under way at least, whatever the slots: rows that make no call
/// finish at once and should not wait for a slot to grow.
const MIN_ROWS: usize = 64;

/// Runs one job, known as in flight while it runs (so an abort can say
/// which rows it cut off mid-request).
async fn tracked<A: RowAction>(
    action: &A,
    (client, wrote): (Client, Arc<AtomicBool>),
    stops: &Stops,
    job: Job<A::Input>,
    in_flight: &InFlight,
) -> ProcessedRow<A::Detail> {
    in_flight
        .start(job.row, (&job.label, &job.cells), wrote)
        .await;
    let row = job.row;
    // The row's own state (some kilobytes) is allocated when it starts,
    // not while it waits in the pool's queue.
    let done = Box::pin(start(action, client, stops, job)).await;
    in_flight.finish(row);
    done
}

/// A membership call answered: its rows end as it went.
fn settle_chunk<D>(
    outcome: ChunkOutcome,
    (batcher, on_wire): (&mut Batcher, &mut OnTheWire),
    sink: &mut dyn RowSink<D>,
    events: &dyn Events,
) -> Result<(), RunError> {
    on_wire.answered(&outcome.chunk);
    for result in batcher.settle(outcome) {
        if result.outcome == Outcome::Failed {
            events.on(Event::Failed);
        }
        events.on(Event::Row(&result));
        sink.push(result, None)?;
    }
    Ok(())
}

/// After an abort: rows run as their own tasks, so each is let end (at
/// once, by the abort) before the rows cut off are named; a row that
/// finished meanwhile is recorded as it ended, its memberships left to
/// [`settle_aborted`] to give up on.
async fn record_late_rows<D>(
    work: &mut (impl futures::Stream<Item = Option<ProcessedRow<D>>> + Unpin),
    (batcher, apply_memberships): (&mut Batcher, bool),
    sink: &mut dyn RowSink<D>,
    events: &dyn Events,
) -> Result<(), RunError> {
    while let Some(next) = work.next().await {
        let Some(ProcessedRow {
            result,
            detail,
            pending,
        }) = next
        else {
            continue;
        };
        if pending.is_empty() || !apply_memberships {
            events.on(Event::Row(&result));
            sink.push(result, detail)?;
        } else {
            sink.note_written(&result)?;
            drop(batcher.add(result, pending));
        }
    }
    Ok(())
}

/// After an abort: rows whose memberships were never sent or were cut on
/// the wire (`on_wire`: the journal and the intents keep those, so undo
/// takes back what landed), and rows cut off mid-request, each recorded
/// as failed with why.
fn settle_aborted<D>(
    (batcher, on_wire): (&mut Batcher, &OnTheWire),
    in_flight: &InFlight,
    sink: &mut dyn RowSink<D>,
    events: &dyn Events,
) -> Result<(), RunError> {
    let why = |row| match on_wire.holds(row) {
        true => MEMBERSHIPS_CUT,
        false => "interrupted before its group and application changes were sent",
    };
    for result in batcher.abandon(why) {
        events.on(Event::Failed);
        sink.push(result, None)?;
    }
    let stranded = in_flight.drain();
    if stranded
        .iter()
        .any(|(_, (_, _, wrote))| wrote.load(Ordering::SeqCst))
    {
        sink.keep_what_was_on_the_wire();
    }
    for (row, (label, cells, wrote)) in stranded {
        // A row that had sent no write changed nothing.
        let (outcome, error) = match wrote.load(Ordering::SeqCst) {
            true => (
                Outcome::Failed,
                "interrupted part-way, after some of its writes went out (the last may have been on the wire): undo takes back what landed, --resume finishes the row",
            ),
            false => (
                Outcome::NotAttempted,
                "not attempted: interrupted before it sent a write",
            ),
        };
        let mut result = RowResult::new(row, &label, outcome, cells);
        result.error = error.to_string();
        events.on(Event::Advanced {
            items: 1,
            failed: u64::from(outcome == Outcome::Failed),
        });
        sink.push(result, None)?;
    }
    Ok(())
}

/// Why a row whose membership call an abort cut on the wire failed.
pub const MEMBERSHIPS_CUT: &str = "interrupted while its group and application changes were being sent: some may have landed (undo takes back what did; --resume settles the row)";

/// Turns a job into a finished row: its disposition, or the action.
async fn start<A: RowAction>(
    action: &A,
    client: Client,
    stops: &Stops,
    job: Job<A::Input>,
) -> ProcessedRow<A::Detail> {
    let mut result = RowResult::new(job.row, &job.label, Outcome::NotAttempted, job.cells);
    let finished = |result| ProcessedRow {
        result,
        detail: None,
        pending: Vec::new(),
    };
    match job.disposition {
        Disposition::Invalid(message) => {
            result.outcome = Outcome::Invalid;
            result.error = message;
            finished(result)
        }
        Disposition::Filtered(reason) => {
            result.outcome = Outcome::Filtered;
            result.error = reason;
            finished(result)
        }
        Disposition::Done(previous) => finished(*previous),
        Disposition::Process if stops.first.is_cancelled() => {
            result.error = NOT_STARTED.to_string();
            finished(result)
        }
        Disposition::Redo(prior) if stops.first.is_cancelled() => {
            // Not confirmed, but not to be forgotten either.
            let mut prior = *prior;
            prior.error = format!(
                "{} by an earlier run (id {}), then interrupted before it was confirmed: {NOT_STARTED}",
                prior.outcome.as_str(),
                prior.user_id
            );
            prior.outcome = Outcome::Failed;
            finished(prior)
        }
        Disposition::Process => {
            action
                .process(client.with_cut(stops.first.clone()), job.input, result)
                .await
        }
        Disposition::Redo(prior) => {
            let mut done = action
                .process(client.with_cut(stops.first.clone()), job.input, result)
                .await;
            done.result.carry_over(&prior);
            done
        }
    }
}

/// Records a row's failed call: `failed`, or `not_attempted` when an
/// interrupt stopped the row before it wrote anything (it changed
/// nothing), with the call's status and message.
pub fn record_failure(result: &mut RowResult, tally: &Tally, err: &ApiError) {
    result.outcome = match err {
        ApiError::Stopped(_) if tally.writes_sent() == 0 => Outcome::NotAttempted,
        _ => Outcome::Failed,
    };
    result.http_status = err.status().or(tally.last_status());
    match err {
        // Not "not attempted": the row wrote before the interrupt.
        ApiError::Stopped(_) if tally.writes_sent() > 0 => result.add_error(format!(
            "interrupted part-way: {} of its writes went out, the rest were not sent (--resume finishes the row)",
            tally.writes_sent()
        )),
        _ => result.add_error(err.to_string()),
    }
}

/// A row whose work is done and that hands memberships on: its detail
/// and pending changes, or its failure recorded; the attempts counted.
pub fn finish_with<D>(
    mut result: RowResult,
    done: Result<(Option<D>, Vec<Pending>), ApiError>,
    tally: &Tally,
) -> ProcessedRow<D> {
    result.attempts = tally.attempts();
    result.http_status = tally.last_status();
    match done {
        Ok((detail, pending)) => ProcessedRow {
            result,
            detail,
            pending,
        },
        Err(err) => {
            record_failure(&mut result, tally, &err);
            ProcessedRow {
                result,
                detail: None,
                pending: Vec::new(),
            }
        }
    }
}

/// A row whose work is done (`done`): its failure recorded, if any, and
/// the attempts it made counted.
pub fn settle(
    mut result: RowResult,
    done: Result<(), ApiError>,
    tally: &Tally,
) -> ProcessedRow<()> {
    if let Err(err) = done {
        record_failure(&mut result, tally, &err);
    }
    result.attempts = tally.attempts();
    if result.http_status.is_none() {
        result.http_status = tally.last_status();
    }
    ProcessedRow {
        result,
        detail: None,
        pending: Vec::new(),
    }
}

/// Why a row the run never reached has no other outcome.
pub const NOT_STARTED: &str = "interrupted before this row was started";

/// Writes `not_attempted` for every row that got no result (reading the
/// rows again, on this thread: it is the end of the run).
fn fill_not_attempted<I: Send + 'static, D>(
    source: &ReadRows<I>,
    sink: &mut dyn RowSink<D>,
    events: &dyn Events,
) -> Result<(), RunError> {
    let mut failure: Option<RunError> = None;
    source(&mut |job| {
        if sink.contains(job.row) {
            return true;
        }
        let mut result = RowResult::new(job.row, &job.label, Outcome::NotAttempted, job.cells);
        result.error = NOT_STARTED.to_string();
        events.on(Event::Advanced {
            items: 1,
            failed: 0,
        });
        match sink.push(result, None) {
            Ok(()) => true,
            Err(err) => {
                failure = Some(err);
                false
            }
        }
    })?;
    failure.map_or(Ok(()), Err)
}

pub(crate) fn receiver_stream<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Unpin {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_row_task_ends_with_the_abort_and_when_no_one_awaits_it() {
        use std::sync::atomic::AtomicUsize;
        let done = Arc::new(AtomicUsize::new(0));
        let slow = |done: Arc<AtomicUsize>| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            done.fetch_add(1, Ordering::SeqCst);
            7
        };
        // Awaited: its output.
        let abort = CancellationToken::new();
        assert_eq!(spawned(slow(done.clone()), abort.clone()).await, Some(7));
        // The abort comes first: no output, and the work never ends.
        let cut = spawned(slow(done.clone()), abort.clone());
        abort.cancel();
        assert_eq!(cut.await, None);
        // No longer awaited (the run stopped on an error): cancelled too.
        drop(spawned(slow(done.clone()), CancellationToken::new()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            done.load(Ordering::SeqCst),
            1,
            "only the awaited row ran to its end"
        );
    }

    #[tokio::test]
    async fn a_row_far_ahead_of_the_oldest_waits_for_it() {
        let lead = Arc::new(RowsUnderWay::default());
        lead.start(1, ("a", &[]), Arc::default()).await;
        lead.start(2, ("b", &[]), Arc::default()).await;
        // Within the lead: starts at once.
        lead.start(LEAD, ("c", &[]), Arc::default()).await;
        let far = {
            let lead = lead.clone();
            tokio::spawn(async move { lead.start(1 + LEAD, ("d", &[]), Arc::default()).await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!far.is_finished(), "row 1 is still under way");
        lead.finish(2);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!far.is_finished(), "a younger row finishing moves nothing");
        lead.finish(1);
        tokio::time::timeout(Duration::from_secs(1), far)
            .await
            .expect("the oldest finished: it starts")
            .unwrap();
        assert_eq!(lead.drain().len(), 2, "rows LEAD and 1 + LEAD under way");
    }
}
