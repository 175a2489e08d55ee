//! The progress bar on stderr, and a log writer that never tears it.
//!
//! The bar shows only on a terminal and not with `--quiet`/`--no-progress`.
//! Log lines go through [`LogWriter`], which lifts the bar while it writes.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A bar over `total` items, or nothing when bars are off.
pub struct Progress {
    bar: Option<ProgressBar>,
    failures: u64,
    /// The server's pause being shown, if any.
    pausing: bool,
}

/// Below this much elapsed time the bar shows no rate: a few early items
/// over a fraction of a second say nothing about the pace.
const RATE_AFTER: Duration = Duration::from_secs(3);

impl Progress {
    pub fn new(total: u64, unit: &str, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                failures: 0,
                pausing: false,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template =
            format!("{{spinner}} {{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{rate}} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            let style = style
                .with_key(
                    "rate",
                    |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                        if state.elapsed() >= RATE_AFTER {
                            let _ = write!(
                                out,
                                "{:.1}/s ETA {}s",
                                state.per_sec(),
                                state.eta().as_secs()
                            );
                        }
                    },
                )
                .progress_chars("=> ");
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
        Progress {
            bar: Some(bar),
            failures: 0,
            pausing: false,
        }
    }

    /// Names the phase the run is in ("reading", "applying rows", ...).
    pub fn set_phase(&self, phase: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(phase.to_string());
        }
    }

    /// Shows (or clears) a pause the tenant asked for.
    pub fn show_pause(&mut self, pause: Option<crate::limiter::Pause>) {
        let Some(bar) = &self.bar else { return };
        match pause {
            Some(pause) if pause.remaining >= Duration::from_secs(1) => {
                let asked = pause
                    .asked
                    .map(|a| format!(": the tenant asked us to wait {} s", a.as_secs()))
                    .unwrap_or_default();
                bar.set_message(format!("paused {} s{asked}", pause.remaining.as_secs()));
                self.pausing = true;
            }
            _ if self.pausing => {
                self.pausing = false;
                bar.set_message(if self.failures > 0 {
                    format!("failures: {}", self.failures)
                } else {
                    String::new()
                });
            }
            _ => {}
        }
    }

    /// Several more items done (a page of records, say).
    pub fn inc_by(&self, count: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(count);
        }
    }

    /// The total, once it is known.
    pub fn set_length(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// An item already counted turned out to have failed.
    pub fn failure(&mut self) {
        self.failures += 1;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("failures: {}", self.failures));
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Writes one line to stderr, lifting the active bar while it does.
pub fn write_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = LogWriter.write_all(text.as_bytes());
}

/// Writes to stderr around the active bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().ok().and_then(|active| active.clone());
        match bar {
            Some(bar) => bar
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}
