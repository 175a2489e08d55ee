//! Log lines in the UI's own form: `warning: …`, `error: …`, plain
//! information, `debug: …` with `-vv` — the same as the lines the UI
//! prints itself, with the same escaping, so a cron mail reads as one
//! voice (no timestamps or level columns in between).

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format every log line takes; `colour` marks the level on a
/// terminal.
pub struct LogLines {
    pub colour: bool,
}

impl<S, N> FormatEvent<S, N> for LogLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let (prefix, ansi) = match *event.metadata().level() {
            Level::ERROR => ("error", "31"),
            Level::WARN => ("warning", "33"),
            Level::INFO => ("", ""),
            Level::DEBUG => ("debug", "2"),
            Level::TRACE => ("trace", "2"),
        };
        let mut message = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut message), event)?;
        match (prefix, self.colour) {
            ("", _) => {}
            (prefix, true) => write!(writer, "\x1b[{ansi}m{prefix}\x1b[0m: ")?,
            (prefix, false) => write!(writer, "{prefix}: ")?,
        }
        writeln!(writer, "{}", super::escape(&message))
    }
}
