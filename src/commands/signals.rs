//! Ctrl-C, SIGTERM (what cron and systemd send) and SIGHUP (a closed
//! terminal, a cron shell ending), as the two stops a run understands.

use tokio_util::sync::CancellationToken;

use crate::pipeline::Stops;

/// Resolves on the next SIGINT, SIGTERM or SIGHUP.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut term), Ok(mut hup)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Listens for signals for the life of the returned guard: the first
/// cancels `first` (no new work), the second `abort` (stop at once) and
/// `on_abort` is called.
pub fn watch(on_abort: impl FnOnce() + Send + 'static) -> (Stops, Watch) {
    let stops = Stops::default();
    let task = {
        let (first, abort) = (stops.first.clone(), stops.abort.clone());
        tokio::spawn(async move {
            terminated().await;
            first.cancel();
            tracing::warn!(
                "interrupted: finishing the requests in flight (interrupt again to abort at once)"
            );
            terminated().await;
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
