//! A worker pool whose width follows a limit read afresh at every refill:
//! `buffer_unordered` with a moving bound. The throttle's slots adapt to
//! the latency it observes, so a width fixed when the run starts is either
//! too narrow later (rows cannot fill the slots) or too wide (every row
//! taken holds its state, kilobytes each, while it waits for a slot).
//!
//! Invariants: at most `width()` futures run at once when one is taken
//! (a narrowing width lets the running ones finish, never cuts them); the
//! stream ends once the source has ended and every future has finished.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, FuturesUnordered, Stream, StreamExt};

/// Items of `source`, each turned into a future by `start`, run with at
/// most `width()` under way; yields their outputs as they finish.
pub struct Pool<S, F, W, M> {
    source: S,
    source_done: bool,
    start: M,
    width: W,
    running: FuturesUnordered<F>,
}

impl<S, F, W, M> Pool<S, F, W, M>
where
    S: Stream + Unpin,
    F: Future,
    W: Fn() -> usize,
    M: FnMut(S::Item) -> F,
{
    pub fn new(source: S, width: W, start: M) -> Self {
        Pool {
            source,
            source_done: false,
            start,
            width,
            running: FuturesUnordered::new(),
        }
    }
}

impl<S, F, W, M> Stream for Pool<S, F, W, M>
where
    S: Stream + Unpin,
    F: Future,
    W: Fn() -> usize + Unpin,
    M: FnMut(S::Item) -> F + Unpin,
{
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.get_mut();
        let width = (this.width)().max(1);
        while !this.source_done && this.running.len() < width {
            match this.source.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => this.running.push((this.start)(item)),
                Poll::Ready(None) => this.source_done = true,
                Poll::Pending => break,
            }
        }
        match this.running.poll_next_unpin(cx) {
            Poll::Ready(Some(output)) => Poll::Ready(Some(output)),
            // Nothing running: done if the source is, else its waker is set.
            Poll::Ready(None) if this.source_done => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

impl<S, F, W, M> FusedStream for Pool<S, F, W, M>
where
    Self: Stream,
{
    fn is_terminated(&self) -> bool {
        self.source_done && self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn never_more_under_way_than_the_width_read_at_each_refill() {
        let width = Arc::new(AtomicUsize::new(2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let pool = {
            let width = width.clone();
            let (running, most) = (running.clone(), most.clone());
            Pool::new(
                futures::stream::iter(0..40u32),
                move || width.load(Ordering::SeqCst),
                move |n| {
                    let (running, most) = (running.clone(), most.clone());
                    async move {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        n
                    }
                },
            )
        };
        tokio::pin!(pool);
        let mut seen = Vec::new();
        while let Some(n) = pool.next().await {
            seen.push(n);
            if seen.len() == 10 {
                assert_eq!(most.swap(0, Ordering::SeqCst), 2);
                width.store(5, Ordering::SeqCst);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..40).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn an_empty_source_ends_at_once() {
        let mut pool = Pool::new(
            futures::stream::iter(Vec::<u32>::new()),
            || 4,
            |n| async move { n },
        );
        assert_eq!(pool.next().await, None);
        assert!(pool.is_terminated());
    }
}
