//! The one gate every API request passes: a bounded number in flight, a
//! shared requests-per-second budget, a pool-wide pause after a 429, and a
//! run-wide stop after an authentication failure.
//!
//! Invariants: no request starts while the pool is paused or stopped; the
//! pacing never exceeds the configured rate (minus a small headroom, see
//! [`PACING_HEADROOM`]); after a 429 the rate drops multiplicatively and
//! recovers slowly towards the configured rate, so a too-high `--rate`
//! converges on what the server allows.

pub mod retry;

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use retry::RetryPolicy;

/// Requests are spaced this much wider than `1/rate`, so jitter between our
/// clock and the server's never lets one window count more than `rate`.
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

/// Why a request may not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(pub String);

/// A shared gate for all requests of one run.
#[derive(Debug)]
pub struct Throttle {
    in_flight: Semaphore,
    concurrency: usize,
    max_rate: f64,
    state: Mutex<RateState>,
    stop: CancellationToken,
    stop_reason: Mutex<Option<String>>,
}

#[derive(Debug)]
struct RateState {
    rate: f64,
    limiter: Arc<DefaultDirectRateLimiter>,
    paused_until: Option<Instant>,
    last_decrease: Option<Instant>,
    last_change: Instant,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub struct Permit<'a> {
    _slot: SemaphorePermit<'a>,
}

impl Throttle {
    /// A gate for `rate` requests per second with at most `concurrency` in flight.
    pub fn new(rate: f64, concurrency: usize) -> Arc<Self> {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Arc::new(Throttle {
            in_flight: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
            max_rate: rate,
            state: Mutex::new(RateState {
                rate,
                limiter: Arc::new(limiter_for(rate)),
                paused_until: None,
                last_decrease: None,
                last_change: Instant::now(),
            }),
            stop: CancellationToken::new(),
            stop_reason: Mutex::new(None),
        })
    }

    fn state(&self) -> MutexGuard<'_, RateState> {
        // The state holds plain numbers; a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot, the end of any pause, and a share of the rate.
    pub async fn acquire(&self) -> Result<Permit<'_>, Stopped> {
        let slot = tokio::select! {
            slot = self.in_flight.acquire() => slot.map_err(|_| self.stopped())?,
            () = self.stop.cancelled() => return Err(self.stopped()),
        };
        loop {
            let (pause, limiter) = {
                let state = self.state();
                (state.paused_until, state.limiter.clone())
            };
            if let Some(until) = pause.filter(|until| *until > Instant::now()) {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = self.stop.cancelled() => return Err(self.stopped()),
                }
                continue;
            }
            tokio::select! {
                _ = limiter.until_ready() => {}
                () = self.stop.cancelled() => return Err(self.stopped()),
            }
            // Both may have become ready together; a stop wins.
            if self.stop.is_cancelled() {
                return Err(self.stopped());
            }
            // A 429 may have paused the pool while we waited for the rate.
            let paused = self
                .state()
                .paused_until
                .is_some_and(|until| until > Instant::now());
            if !paused {
                return Ok(Permit { _slot: slot });
            }
        }
    }

    /// A 429 was met: pause the whole pool and lower the rate once per episode.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let until = now + retry_after.unwrap_or(DEFAULT_PAUSE);
        let mut state = self.state();
        state.paused_until = Some(state.paused_until.map_or(until, |old| old.max(until)));
        let same_episode = state.last_decrease.is_some_and(|at| now - at < EPISODE);
        if !same_episode {
            let lowered = (state.rate * DECREASE_FACTOR).max(self.max_rate * FLOOR_SHARE);
            set_rate(&mut state, lowered, now);
            state.last_decrease = Some(now);
            tracing::debug!(rate = lowered, "rate lowered after 429");
        }
    }

    /// A request succeeded: let the rate climb back if it has been quiet long enough.
    pub fn on_success(&self) {
        let now = Instant::now();
        let mut state = self.state();
        if state.rate < self.max_rate && now - state.last_change >= RECOVERY_INTERVAL {
            let raised = (state.rate + self.max_rate * RECOVERY_STEP).min(self.max_rate);
            set_rate(&mut state, raised, now);
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

    /// How many independent requests callers should keep under way.
    pub fn parallelism(&self) -> usize {
        self.concurrency
    }

    /// The rate currently in force, in requests per second.
    pub fn current_rate(&self) -> f64 {
        self.state().rate
    }

    /// The rate the run was configured with.
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }
}

fn set_rate(state: &mut RateState, rate: f64, now: Instant) {
    state.rate = rate;
    state.limiter = Arc::new(limiter_for(rate));
    state.last_change = now;
}

/// Rates from which a burst of two paces better than a burst of one.
const BURST_TWO_FROM: f64 = 40.0;

/// A limiter that never lets more than `rate` requests into any one-second
/// window, with [`PACING_HEADROOM`] to spare for clock jitter.
///
/// With a burst of one, every late timer wake-up is lost for good, which
/// costs a few percent at high rates. With a burst of two a late grant is
/// caught up, but N+1 grants then span only (N-1) periods, so the period
/// must be `(1 + headroom) / (rate - 1)`: better from [`BURST_TWO_FROM`] up.
fn limiter_for(rate: f64) -> DefaultDirectRateLimiter {
    let (period, burst) = if rate >= BURST_TWO_FROM {
        ((1.0 + PACING_HEADROOM) / (rate - 1.0), NonZeroU32::new(2))
    } else {
        (
            (1.0 + PACING_HEADROOM) / rate.max(0.001),
            NonZeroU32::new(1),
        )
    };
    let quota = Quota::with_period(Duration::from_secs_f64(period).max(Duration::from_micros(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst.unwrap_or(NonZeroU32::MIN));
    RateLimiter::direct(quota)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No one-second window may see more than `rate` grants, at either burst size.
    async fn check_window(rate: f64, grants: usize) {
        let throttle = Throttle::new(rate, 4);
        let mut times = Vec::with_capacity(grants);
        for _ in 0..grants {
            drop(throttle.acquire().await.unwrap());
            times.push(std::time::Instant::now());
        }
        let n = rate as usize;
        for window in times.windows(n + 1) {
            let span = window[n] - window[0];
            assert!(
                span >= Duration::from_secs(1),
                "rate {rate}: {} grants within {span:?}",
                n + 1
            );
        }
        let total = times[grants - 1] - times[0];
        let achieved = (grants - 1) as f64 / total.as_secs_f64();
        assert!(achieved >= rate * 0.9, "rate {rate}: only {achieved:.1}/s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paces_at_the_rate_and_never_over_it() {
        tokio::join!(check_window(10.0, 14), check_window(60.0, 75));
    }

    #[tokio::test]
    async fn throttling_lowers_the_rate_once_per_episode() {
        let throttle = Throttle::new(40.0, 4);
        throttle.on_throttled(Some(Duration::ZERO));
        throttle.on_throttled(Some(Duration::ZERO));
        assert_eq!(throttle.current_rate(), 30.0);
    }

    #[tokio::test]
    async fn a_pause_holds_every_acquirer() {
        let throttle = Throttle::new(1000.0, 4);
        throttle.on_throttled(Some(Duration::from_millis(150)));
        let started = std::time::Instant::now();
        drop(throttle.acquire().await.unwrap());
        assert!(started.elapsed() >= Duration::from_millis(140));
    }

    #[tokio::test]
    async fn stop_releases_waiters_with_the_reason() {
        let throttle = Throttle::new(1000.0, 1);
        let held = throttle.acquire().await.unwrap();
        let waiter = {
            let throttle = throttle.clone();
            tokio::spawn(async move { throttle.acquire().await.map(|_| ()) })
        };
        throttle.stop("key refused");
        let result = waiter.await.unwrap();
        assert_eq!(result.unwrap_err().0, "key refused");
        drop(held);
    }
}
