//! The one gate every API request passes: a bounded number in flight, a
//! shared requests-per-second budget, a pool-wide pause after a 429, and a
//! run-wide stop after a fatal error.
//!
//! Invariants:
//! - one token stream: grants are handed out one at a time, in arrival
//!   order, by whichever request is at the head of a FIFO gate; a rate
//!   change alters when the next grant falls due, never adds capacity;
//! - never more than `floor(rate)` grants in any window of one second (plus
//!   [`PACING_HEADROOM`]), counting grants made before a rate change against
//!   the rate after it;
//! - no request starts while the pool is paused or stopped, and a request
//!   whose row was cut (first interrupt) never starts;
//! - after a 429 the rate drops multiplicatively and recovers slowly towards
//!   the configured rate, so a too-high `--rate` converges on what the
//!   server allows;
//! - by default the number in flight follows rate × latency, so the rate,
//!   not the pool, is the bound whatever the tenant's latency.

pub mod retry;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use retry::RetryPolicy;

/// Windows are this much wider than a second, so jitter between our clock
/// and the server's never lets one of its windows count more than `rate`.
pub const PACING_HEADROOM: f64 = 0.02;
/// Multiplicative decrease applied to the rate on a 429.
const DECREASE_FACTOR: f64 = 0.75;
/// Without a 429 for this long, the rate climbs one step.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(2);
/// One recovery step, as a share of the configured rate.
const RECOVERY_STEP: f64 = 0.05;
/// 429s within this long of a decrease belong to the same episode.
const EPISODE: Duration = Duration::from_secs(1);
/// The pause after a 429 that gave no Retry-After.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// The rate never adapts below this share of the configured rate.
const FLOOR_SHARE: f64 = 0.05;
/// Latency assumed before the first answer tells it: generous, since the
/// rate gate spaces requests anyway and too few slots would stall the start.
const INITIAL_LATENCY: Duration = Duration::from_millis(300);
/// ...but no more slots than this before an answer has told the latency:
/// each is a connection and a page in memory.
const INITIAL_SLOTS_MAX: usize = 64;
/// A grant that is late by less than this is caught up (the next ones go
/// at once until the spacing is met again): timers wake a millisecond late
/// at best, which at thousands of requests per second would otherwise cap
/// the rate. The one-second window still bounds every burst.
const CATCH_UP: Duration = Duration::from_millis(5);
/// In flight per (rate × latency): room for latency that varies.
const SLOT_MARGIN: f64 = 2.0;
/// Weight of a new latency sample in the running average.
const LATENCY_WEIGHT: f64 = 0.2;

/// Why a request may not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(pub String);

/// How many requests may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Exactly this many (`--concurrency N`).
    Fixed(usize),
    /// Rate × observed latency × a margin, up to this many (the default).
    /// Rate × observed latency × a margin, up to `max`.
    Adaptive {
        /// The most requests in flight.
        max: usize,
    },
}

impl InFlight {
    /// The most requests that can ever be in flight.
    pub fn max(self) -> usize {
        match self {
            InFlight::Fixed(n) | InFlight::Adaptive { max: n } => n.max(1),
        }
    }
}

/// A shared gate for all requests of one run.
#[derive(Debug)]
pub struct Throttle {
    slots: Semaphore,
    in_flight: InFlight,
    /// How many slots are offered, and how many of those in use are to be
    /// forgotten as they come back: one lock, so a resize and a returning
    /// permit never both pay the same debt.
    slot_book: Mutex<SlotBook>,
    max_rate: f64,
    gate: tokio::sync::Mutex<()>,
    state: Mutex<RateState>,
    stop: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    counters: Counters,
}

#[derive(Debug)]
struct RateState {
    rate: f64,
    /// The most recent grants, at most `floor(max_rate)` of them.
    grants: VecDeque<Instant>,
    /// When the next grant is due on an even spacing (catches up a late
    /// wake-up instead of losing it; the window keeps it honest).
    due: Option<Instant>,
    paused_until: Option<Instant>,
    /// The server's own wait, when the pause came from a Retry-After.
    pause_asked: Option<Duration>,
    last_decrease: Option<Instant>,
    last_change: Instant,
    latency_ms: Option<f64>,
    first_grant: Option<Instant>,
    last_grant: Option<Instant>,
}

/// What the throttle saw, for the summary's "what bounded the run".
#[derive(Debug, Default)]
struct Counters {
    grants: AtomicU64,
    /// Requests that found every slot taken and had to wait for one.
    slot_waits: AtomicU64,
    /// Time the head of the queue spent waiting for the rate, in µs.
    rate_wait_us: AtomicU64,
}

/// A copy of what the throttle saw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PacingReport {
    /// Requests let through.
    pub grants: u64,
    /// Requests that had to wait for a slot.
    pub slot_waits: u64,
    /// Seconds the queue's head waited for the rate: the rate was the bound.
    pub rate_wait_seconds: f64,
    /// Slots offered at the end.
    pub slots: usize,
    /// How the slots were set.
    pub in_flight: Option<InFlight>,
    /// The running average latency, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Requests per second between the first and the last grant, when
    /// they were at least [`MIN_ACTIVE`] apart (a shorter run has no
    /// meaningful rate).
    pub active_rate: Option<f64>,
}

/// The shortest span of requests whose rate is worth reporting.
pub const MIN_ACTIVE: Duration = Duration::from_secs(3);

/// A pause the server asked for, as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pause {
    /// How long the pause still lasts.
    pub remaining: Duration,
    /// The server's Retry-After, when it gave one.
    pub asked: Option<Duration>,
}

/// The slots' accounts: permits offered (free or held) minus `debt`
/// equals `limit` at every moment the lock is free.
#[derive(Debug)]
struct SlotBook {
    limit: usize,
    /// Held permits to forget as they come back (the limit shrank below
    /// what was in use).
    debt: usize,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub struct Permit<'a> {
    throttle: &'a Throttle,
    slot: Option<SemaphorePermit<'a>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut book = self.throttle.slot_book();
            if book.debt > 0 {
                book.debt -= 1;
                slot.forget();
            } else {
                // Given back under the lock, so a resize counts it.
                drop(slot);
            }
        }
    }
}

impl Throttle {
    /// A gate for `rate` requests per second with `in_flight` requests at once.
    pub fn new(rate: f64, in_flight: InFlight) -> Arc<Self> {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let slots = match in_flight {
            InFlight::Fixed(n) => n.max(1),
            InFlight::Adaptive { max } => ((rate * INITIAL_LATENCY.as_secs_f64()).ceil() as usize)
                .clamp(1, max.clamp(1, INITIAL_SLOTS_MAX)),
        };
        Arc::new(Throttle {
            slots: Semaphore::new(slots),
            in_flight,
            slot_book: Mutex::new(SlotBook {
                limit: slots,
                debt: 0,
            }),
            max_rate: rate,
            gate: tokio::sync::Mutex::new(()),
            state: Mutex::new(RateState {
                rate,
                grants: VecDeque::new(),
                due: None,
                paused_until: None,
                pause_asked: None,
                last_decrease: None,
                last_change: Instant::now(),
                latency_ms: None,
                first_grant: None,
                last_grant: None,
            }),
            stop: CancellationToken::new(),
            stop_reason: Mutex::new(None),
            counters: Counters::default(),
        })
    }

    fn slot_book(&self) -> MutexGuard<'_, SlotBook> {
        // Two counts changed together under the lock; never left torn.
        self.slot_book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, RateState> {
        // The state holds plain numbers; a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot, the end of any pause, and a share of the rate.
    /// `cut` withdraws this one request (its row was interrupted before it
    /// sent anything); a stop withdraws every request.
    pub async fn acquire(&self, cut: Option<&CancellationToken>) -> Result<Permit<'_>, Stopped> {
        let never = CancellationToken::new();
        let cut = cut.unwrap_or(&never);
        let slot = match self.slots.try_acquire() {
            Ok(slot) => slot,
            Err(_) => {
                self.counters.slot_waits.fetch_add(1, Ordering::Relaxed);
                tokio::select! {
                    biased;
                    () = self.stop.cancelled() => return Err(self.stopped()),
                    () = cut.cancelled() => return Err(cut_off()),
                    slot = self.slots.acquire() => slot.map_err(|_| self.stopped())?,
                }
            }
        };
        let permit = Permit {
            throttle: self,
            slot: Some(slot),
        };
        let _head = tokio::select! {
            biased;
            () = self.stop.cancelled() => return Err(self.stopped()),
            () = cut.cancelled() => return Err(cut_off()),
            head = self.gate.lock() => head,
        };
        loop {
            let now = Instant::now();
            let when = self.state().next_grant(now);
            if when <= now {
                if self.stop.is_cancelled() {
                    return Err(self.stopped());
                }
                if cut.is_cancelled() {
                    return Err(cut_off());
                }
                self.state().record_grant(now, self.window_capacity());
                self.counters.grants.fetch_add(1, Ordering::Relaxed);
                return Ok(permit);
            }
            let waited_from = Instant::now();
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return Err(self.stopped()),
                () = cut.cancelled() => return Err(cut_off()),
                () = tokio::time::sleep_until(when) => {}
            }
            let waited = u64::try_from(waited_from.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.counters
                .rate_wait_us
                .fetch_add(waited, Ordering::Relaxed);
        }
    }

    /// How many grants the window remembers: enough for the configured rate.
    fn window_capacity(&self) -> usize {
        (self.max_rate.floor() as usize).max(1)
    }

    /// A 429 (or 503 with Retry-After) was met: pause the whole pool for the
    /// server's wait, and lower the rate once per episode (429 only).
    pub fn on_throttled(&self, retry_after: Option<Duration>, lower_rate: bool) {
        let now = Instant::now();
        let pause = retry_after.unwrap_or(DEFAULT_PAUSE);
        let until = now.checked_add(pause).unwrap_or(now + RECOVERY_INTERVAL);
        let mut state = self.state();
        if state.paused_until.is_none_or(|old| until > old) {
            state.paused_until = Some(until);
            state.pause_asked = retry_after;
        }
        if !lower_rate {
            return;
        }
        let same_episode = state.last_decrease.is_some_and(|at| now - at < EPISODE);
        if !same_episode {
            let lowered = (state.rate * DECREASE_FACTOR).max(self.max_rate * FLOOR_SHARE);
            state.rate = lowered;
            state.last_change = now;
            state.last_decrease = Some(now);
            tracing::debug!(rate = lowered, "rate lowered after 429");
        }
        drop(state);
        self.adapt_slots();
    }

    /// A request was answered (any status) after `latency` on the wire.
    pub fn on_answer(&self, latency: Duration, success: bool) {
        let now = Instant::now();
        {
            let mut state = self.state();
            let sample = latency.as_secs_f64() * 1000.0;
            state.latency_ms = Some(match state.latency_ms {
                None => sample,
                Some(avg) => avg + LATENCY_WEIGHT * (sample - avg),
            });
            if success && state.rate < self.max_rate && now - state.last_change >= RECOVERY_INTERVAL
            {
                state.rate = (state.rate + self.max_rate * RECOVERY_STEP).min(self.max_rate);
                state.last_change = now;
            }
        }
        self.adapt_slots();
    }

    /// Forgets the latency observed so far (adaptive mode only): the
    /// calls that come next are of another kind (a run's writes after the
    /// listing's whole pages, which take far longer each), so the slots
    /// go back to where a run starts and follow the next answers. Else the
    /// pages' latency would open as many connections, and start as many
    /// rows, as a slow tenant needs, each holding its buffers.
    pub fn forget_latency(&self) {
        let InFlight::Adaptive { max } = self.in_flight else {
            return;
        };
        let rate = {
            let mut state = self.state();
            state.latency_ms = None;
            state.rate
        };
        let initial = ((rate * INITIAL_LATENCY.as_secs_f64()).ceil() as usize)
            .clamp(1, max.clamp(1, INITIAL_SLOTS_MAX));
        self.set_slots(initial);
    }

    /// Sets the slots to rate × latency × margin (adaptive mode only).
    fn adapt_slots(&self) {
        let InFlight::Adaptive { max } = self.in_flight else {
            return;
        };
        let (rate, latency_ms) = {
            let state = self.state();
            (state.rate, state.latency_ms)
        };
        let Some(latency_ms) = latency_ms else {
            return;
        };
        let wanted = (rate * latency_ms / 1000.0 * SLOT_MARGIN).ceil() as usize + 1;
        self.set_slots(wanted.clamp(1, max.max(1)));
    }

    /// Makes `wanted` slots the limit: more are added at once, fewer are
    /// taken back as they come free.
    fn set_slots(&self, wanted: usize) {
        let mut book = self.slot_book();
        let current = std::mem::replace(&mut book.limit, wanted);
        if wanted > current {
            // Pay back debt first: those slots were never taken away.
            let more = wanted - current;
            let forgiven = book.debt.min(more);
            book.debt -= forgiven;
            self.slots.add_permits(more - forgiven);
        } else if wanted < current {
            let fewer = current - wanted;
            let taken = self.slots.forget_permits(fewer);
            book.debt += fewer - taken;
        }
    }

    /// Stops every waiting and future request of this run.
    pub fn stop(&self, reason: impl Into<String>) {
        let mut slot = self
            .stop_reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert_with(|| reason.into());
        self.stop.cancel();
    }

    /// Whether the run was stopped.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once the run has been stopped.
    pub async fn stopped_signal(&self) {
        self.stop.cancelled().await
    }

    fn stopped(&self) -> Stopped {
        let reason = self
            .stop_reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Stopped(reason.unwrap_or_else(|| "the run was stopped".to_string()))
    }

    /// The pause in force, if the pool is waiting for the server.
    pub fn pause(&self) -> Option<Pause> {
        let state = self.state();
        let until = state.paused_until?;
        let remaining = until
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())?;
        Some(Pause {
            remaining,
            asked: state.pause_asked,
        })
    }

    /// How many independent requests callers should keep under way.
    pub fn parallelism(&self) -> usize {
        self.slot_book().limit.max(1)
    }

    /// The most requests that can ever be in flight.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.max()
    }

    /// The rate currently in force, in requests per second.
    pub fn current_rate(&self) -> f64 {
        self.state().rate
    }

    /// The rate the run was configured with.
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    /// What the throttle saw, for the summary.
    pub fn report(&self) -> PacingReport {
        let grants = self.counters.grants.load(Ordering::Relaxed);
        let active_rate = {
            let state = self.state();
            match (state.first_grant, state.last_grant) {
                (Some(first), Some(last)) if last - first >= MIN_ACTIVE => {
                    Some(grants.saturating_sub(1) as f64 / (last - first).as_secs_f64())
                }
                _ => None,
            }
        };
        PacingReport {
            active_rate,
            grants,
            slot_waits: self.counters.slot_waits.load(Ordering::Relaxed),
            rate_wait_seconds: self.counters.rate_wait_us.load(Ordering::Relaxed) as f64 / 1e6,
            slots: self.parallelism(),
            in_flight: Some(self.in_flight),
            latency_ms: self.state().latency_ms,
        }
    }
}

/// What held a run below its rate, in one line with the flag that would
/// help; `None` when the rate was the bound or the run was too short to tell.
pub fn what_bounded(report: &PacingReport, rate: f64) -> Option<String> {
    let achieved = report.active_rate?;
    if achieved >= rate * 0.9 {
        return None;
    }
    let latency = report
        .latency_ms
        .map(|ms| format!(" at {ms:.0} ms per request"))
        .unwrap_or_default();
    let share = |part: u64| part as f64 / report.grants.max(1) as f64;
    Some(match report.in_flight {
        Some(InFlight::Fixed(n)) if share(report.slot_waits) > 0.1 => format!(
            "{achieved:.1} requests/s of {rate}: bounded by --concurrency {n}{latency}; leave --concurrency out to let it follow latency"
        ),
        Some(InFlight::Adaptive { max })
            if report.slots >= max && share(report.slot_waits) > 0.1 =>
        {
            format!(
                "{achieved:.1} requests/s of {rate}: bounded by --max-concurrency {max}{latency}; raise it"
            )
        }
        _ => format!(
            "{achieved:.1} requests/s of {rate}: requests were not ready faster (rows wait on their own earlier calls{latency}, or on the membership batch); the limiter was not the bound"
        ),
    })
}

fn cut_off() -> Stopped {
    Stopped("interrupted before this request was sent".to_string())
}

impl RateState {
    /// The grants allowed per window and the window, at the current rate:
    /// `floor(rate)` per second (one per `1/rate` below one per second).
    fn window(&self) -> (usize, Duration) {
        let headroom = 1.0 + PACING_HEADROOM;
        if self.rate >= 1.0 {
            (
                self.rate.floor() as usize,
                Duration::from_secs_f64(headroom),
            )
        } else {
            let seconds = (headroom / self.rate.max(1e-6)).min(86_400.0);
            (1, Duration::from_secs_f64(seconds))
        }
    }

    /// The earliest moment the next grant may go.
    fn next_grant(&self, now: Instant) -> Instant {
        let mut when = now;
        if let Some(until) = self.paused_until {
            when = when.max(until);
        }
        let (per_window, window) = self.window();
        if self.grants.len() >= per_window
            && let Some(nth) = self.grants.get(self.grants.len() - per_window)
        {
            when = when.max(*nth + window);
        }
        if let Some(due) = self.due {
            when = when.max(due);
        }
        when
    }

    fn record_grant(&mut self, now: Instant, capacity: usize) {
        let (per_window, window) = self.window();
        let spacing = window.div_f64(per_window as f64);
        // On an even spacing from when this grant was due, not from now, so
        // a late timer is caught up; but never bank more than the tolerance.
        let tolerance = (spacing * 2).max(CATCH_UP);
        let base = match self.due {
            Some(due) if now.saturating_duration_since(due) < tolerance => due,
            _ => now,
        };
        self.due = Some(base + spacing);
        self.first_grant.get_or_insert(now);
        self.last_grant = Some(now);
        self.grants.push_back(now);
        while self.grants.len() > capacity {
            self.grants.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    //! On paused time: the clock moves only when every task waits, so the
    //! windows measured are the limiter's own, whatever the machine's load.
    use super::*;

    /// Never more than `floor(rate)` grants within one second.
    fn assert_windows(times: &[Instant], rate: f64) {
        let n = rate.floor() as usize;
        for window in times.windows(n + 1) {
            let span = window[n] - window[0];
            assert!(
                span >= Duration::from_secs(1),
                "rate {rate}: {} grants within {span:?}",
                n + 1
            );
        }
    }

    async fn grants(throttle: &Throttle, count: usize) -> Vec<Instant> {
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            drop(throttle.acquire(None).await.unwrap());
            times.push(Instant::now());
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn paces_at_the_rate_and_never_over_it() {
        for rate in [10.0, 60.0] {
            let throttle = Throttle::new(rate, InFlight::Fixed(4));
            let count = (rate * 1.3) as usize;
            let times = grants(&throttle, count).await;
            assert_windows(&times, rate);
            let total = times[count - 1] - times[0];
            let achieved = (count - 1) as f64 / total.as_secs_f64();
            assert!(achieved >= rate * 0.97, "rate {rate}: only {achieved:.1}/s");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lowered_rate_counts_the_grants_made_before_it() {
        let throttle = Throttle::new(20.0, InFlight::Fixed(4));
        let mut times = grants(&throttle, 10).await;
        throttle.on_throttled(Some(Duration::ZERO), true);
        assert_eq!(throttle.current_rate(), 15.0);
        times.extend(grants(&throttle, 20).await);
        // After the decrease no one-second window holds more than 20, and
        // none that starts after it more than 15.
        assert_windows(&times, 20.0);
        let after: Vec<_> = times[10..].to_vec();
        assert_windows(&after, 15.0);
    }

    #[tokio::test]
    async fn throttling_lowers_the_rate_once_per_episode() {
        let throttle = Throttle::new(40.0, InFlight::Fixed(4));
        throttle.on_throttled(Some(Duration::ZERO), true);
        throttle.on_throttled(Some(Duration::ZERO), true);
        assert_eq!(throttle.current_rate(), 30.0);
        throttle.on_throttled(Some(Duration::ZERO), false);
        assert_eq!(
            throttle.current_rate(),
            30.0,
            "a 503 pauses without lowering"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_acquirer_and_is_visible() {
        let throttle = Throttle::new(1000.0, InFlight::Fixed(4));
        throttle.on_throttled(Some(Duration::from_millis(150)), true);
        let pause = throttle.pause().unwrap();
        assert_eq!(pause.asked, Some(Duration::from_millis(150)));
        let started = Instant::now();
        drop(throttle.acquire(None).await.unwrap());
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(throttle.pause().is_none());
    }

    #[tokio::test]
    async fn an_absurd_pause_does_not_overflow() {
        let throttle = Throttle::new(10.0, InFlight::Fixed(1));
        throttle.on_throttled(Some(Duration::from_secs(u64::MAX)), true);
        assert!(throttle.pause().is_some());
    }

    #[tokio::test]
    async fn stop_and_cut_release_waiters() {
        let throttle = Throttle::new(1000.0, InFlight::Fixed(1));
        let held = throttle.acquire(None).await.unwrap();
        let cut = CancellationToken::new();
        let cut_waiter = {
            let (throttle, cut) = (throttle.clone(), cut.clone());
            tokio::spawn(async move { throttle.acquire(Some(&cut)).await.map(|_| ()) })
        };
        let waiter = {
            let throttle = throttle.clone();
            tokio::spawn(async move { throttle.acquire(None).await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        cut.cancel();
        assert!(
            cut_waiter
                .await
                .unwrap()
                .unwrap_err()
                .0
                .contains("interrupted")
        );
        throttle.stop("key refused");
        assert_eq!(waiter.await.unwrap().unwrap_err().0, "key refused");
        drop(held);
    }

    #[test]
    fn the_summary_names_what_bounded_a_run() {
        let mut report = PacingReport {
            grants: 1000,
            active_rate: Some(97.0),
            latency_ms: Some(300.0),
            in_flight: Some(InFlight::Fixed(8)),
            slots: 8,
            slot_waits: 900,
            ..Default::default()
        };
        assert_eq!(what_bounded(&report, 100.0), None, "the rate was the bound");
        report.active_rate = Some(26.0);
        let line = what_bounded(&report, 100.0).unwrap();
        assert!(line.contains("--concurrency 8"), "{line}");
        report.in_flight = Some(InFlight::Adaptive { max: 8 });
        assert!(
            what_bounded(&report, 100.0)
                .unwrap()
                .contains("--max-concurrency")
        );
        report.slot_waits = 0;
        let line = what_bounded(&report, 100.0).unwrap();
        assert!(line.contains("not the bound"), "{line}");
        report.active_rate = None;
        assert_eq!(what_bounded(&report, 100.0), None, "too short to tell");
    }

    #[tokio::test]
    async fn slots_follow_rate_times_latency() {
        let throttle = Throttle::new(100.0, InFlight::Adaptive { max: 64 });
        assert_eq!(
            throttle.parallelism(),
            30,
            "rate × 300 ms before any answer"
        );
        throttle.on_answer(Duration::from_millis(300), true);
        // 100/s × 0.3 s × 2 + 1
        assert_eq!(throttle.parallelism(), 61);
        throttle.on_answer(Duration::from_secs(5), true);
        assert_eq!(throttle.parallelism(), 64, "capped at the maximum");
        let fixed = Throttle::new(100.0, InFlight::Fixed(3));
        fixed.on_answer(Duration::from_millis(300), true);
        assert_eq!(fixed.parallelism(), 3);
        // Shrinking takes slots back, even those in use when it shrank.
        let small = Throttle::new(30.0, InFlight::Adaptive { max: 64 });
        assert_eq!(small.parallelism(), 9);
        let held: Vec<_> = futures::future::join_all((0..8).map(|_| small.acquire(None)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        small.on_answer(Duration::from_millis(10), true);
        // 30/s × 0.01 s × 2, rounded up, + 1
        assert_eq!(small.parallelism(), 2);
        drop(held);
        assert_eq!(small.slots.available_permits(), 2);
    }

    /// Slots resized while permits come and go, from several threads at
    /// once (answers arrive on every worker): once every permit is back,
    /// exactly the last limit is offered. A bench sync once hung with
    /// every row waiting for a slot: a resize and a returning permit had
    /// both paid the same debt, the debt wrapped below zero, and from then
    /// on every returning permit was forgotten.
    #[test]
    fn slots_resized_from_every_thread_are_never_lost() {
        let throttle = Throttle::new(1000.0, InFlight::Adaptive { max: 16 });
        std::thread::scope(|scope| {
            for worker in 0..4u64 {
                let throttle = &throttle;
                scope.spawn(move || {
                    let mut held = std::collections::VecDeque::new();
                    for round in 0..200_000u64 {
                        let wanted = ((round * 7 + worker * 3) % 16 + 1) as usize;
                        throttle.set_slots(wanted);
                        if let Ok(slot) = throttle.slots.try_acquire() {
                            held.push_back(Permit {
                                throttle,
                                slot: Some(slot),
                            });
                        }
                        if held.len() > 2 || round % 3 == 0 {
                            held.pop_front();
                        }
                    }
                });
            }
        });
        let limit = throttle.parallelism();
        assert_eq!(throttle.slots.available_permits(), limit);
    }
}
