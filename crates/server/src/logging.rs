//! Redis-style log lines: `pid:M 25 Nov 2026 17:13:48.123 * message`, to stdout or `logfile`.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `25 Nov 2026 17:13:48.123` for a Unix time in ms (UTC).
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// Whether log lines carry Redis's replica mark (`S`) instead of the master's (`M`).
static REPLICA_ROLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets the role letter of the following log lines (`pid:S` on a replica, as Redis).
pub fn set_replica_role(replica: bool) {
    REPLICA_ROLE.store(replica, std::sync::atomic::Ordering::Relaxed);
}

struct RedisFormat;

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mark = match *event.metadata().level() {
            Level::TRACE | Level::DEBUG => '.',
            Level::INFO => '*',
            Level::WARN | Level::ERROR => '#',
        };
        write!(
            w,
            "{}:{} {} {} ",
            std::process::id(),
            if REPLICA_ROLE.load(std::sync::atomic::Ordering::Relaxed) {
                'S'
            } else {
                'M'
            },
            timestamp(crate::util::now_ms()),
            mark
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

struct FileWriter(Mutex<std::fs::File>);

impl Write for &FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut f) => f.write(buf),
            Err(_) => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global logger. `logfile` empty means stdout. Returns an error text when the
/// log file cannot be opened (Redis refuses to start then).
pub fn init(logfile: &str, level: ferrodis_config::LogLevel) -> Result<(), String> {
    use ferrodis_config::LogLevel;
    let max = match level {
        LogLevel::Debug => Level::TRACE,
        LogLevel::Verbose => Level::DEBUG,
        LogLevel::Notice => Level::INFO,
        LogLevel::Warning => Level::WARN,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(max)
        .event_format(RedisFormat);
    if logfile.is_empty() {
        let _ = builder.with_writer(std::io::stdout).try_init();
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        let fw: &'static FileWriter = Box::leak(Box::new(FileWriter(Mutex::new(f))));
        let _ = builder.with_writer(move || fw).try_init();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::timestamp(1_795_626_828_123),
            "25 Nov 2026 17:13:48.123"
        );
    }
}
