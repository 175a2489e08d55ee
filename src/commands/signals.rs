//! Ctrl-C, SIGTERM (what cron and systemd send) and SIGHUP (a closed
//! terminal, a cron shell ending), as the two stops a run understands.

use tokio_util::sync::CancellationToken;

use crate::engine::Stops;

/// SIGINT, SIGTERM and SIGHUP, listened for from its creation on: a
/// signal that arrives between two waits is not lost (the streams are
/// made once, not per wait).
pub struct Listener {
    #[cfg(unix)]
    streams: Option<[tokio::signal::unix::Signal; 3]>,
}

impl Listener {
    /// Starts listening.
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(int), Ok(term), Ok(hup)) => Some([int, term, hup]),
                _ => None,
            };
            Listener { streams }
        }
        #[cfg(not(unix))]
        Listener {}
    }

    /// Resolves on the next signal.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some([int, term, hup]) = &mut self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Default for Listener {
    fn default() -> Self {
        Listener::new()
    }
}

/// Resolves on the next SIGINT, SIGTERM or SIGHUP.
#[cfg(feature = "sandbox")]
pub async fn terminated() {
    Listener::new().next().await;
}

/// Listens for signals for the life of the returned guard: the first
/// cancels `first` (no new work), the second `abort` (stop at once) and
/// `on_abort` is called.
pub fn watch(on_abort: impl FnOnce() + Send + 'static) -> (Stops, Watch) {
    let stops = Stops::default();
    let task = {
        let (first, abort) = (stops.first.clone(), stops.abort.clone());
        let mut listener = Listener::new();
        tokio::spawn(async move {
            listener.next().await;
            crate::output::files::stop_waiting();
            first.cancel();
            tracing::warn!(
                "interrupted: finishing the requests in flight (interrupt again to abort at once)"
            );
            listener.next().await;
            abort.cancel();
            on_abort();
        })
    };
    (stops, Watch { task })
}

/// Stops listening when dropped.
pub struct Watch {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A token cancelled by the first signal, for jobs with one stage.
pub fn first_signal() -> (CancellationToken, Watch) {
    let (stops, watch) = watch(|| {});
    (stops.first, watch)
}
