//! [`ConfigError`]: a fatal error while loading the configuration at startup.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A configuration file (the main one or an `include`d one).
    File(PathBuf),
    /// The configuration read from standard input (`ferrodis-server -`).
    Stdin,
    /// `--directive value` options; `line` counts options from 1.
    CommandLine,
    /// Text handed to [`crate::Config::load_str`].
    Text,
}

/// A configuration error that stops the server at startup.
///
/// `Display` gives the block redis-server prints to stderr, with the source named:
///
/// ```text
/// *** FATAL CONFIG FILE ERROR (ferrodis 0.1.0) ***
/// Reading the configuration file /etc/ferrodis.conf, at line 2
/// >>> 'port "abc"'
/// argument couldn't be parsed into an integer
/// ```
///
/// redis-server prints an empty line before it; callers that want the same output write
/// `eprintln!("\n{err}")`. I/O failures (a missing file) use [`ConfigError::Io`], whose text
/// follows Redis's "Fatal error, can't open config file" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A line that could not be applied.
    Line {
        /// Where it was read.
        source: Source,
        /// 1-based line number within `source`.
        line: usize,
        /// The offending line, trimmed (command-line options are shown as `name "value"`).
        text: String,
        /// Redis's reason text, e.g. "Bad directive or wrong number of arguments".
        reason: String,
    },
    /// A configuration file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error text.
        reason: String,
    },
}

impl ConfigError {
    /// The reason text alone (what follows the `>>>` line).
    pub fn reason(&self) -> &str {
        match self {
            ConfigError::Line { reason, .. } | ConfigError::Io { reason, .. } => reason,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Line {
                source,
                line,
                text,
                reason,
            } => {
                writeln!(
                    f,
                    "*** FATAL CONFIG FILE ERROR (ferrodis {}) ***",
                    env!("CARGO_PKG_VERSION")
                )?;
                match source {
                    Source::File(p) => writeln!(
                        f,
                        "Reading the configuration file {}, at line {line}",
                        p.display()
                    )?,
                    Source::Stdin => {
                        writeln!(f, "Reading the configuration from stdin, at line {line}")?
                    }
                    Source::CommandLine => {
                        writeln!(f, "Reading the command line options, at option {line}")?
                    }
                    Source::Text => writeln!(f, "Reading the configuration, at line {line}")?,
                }
                writeln!(f, ">>> '{text}'")?;
                write!(f, "{reason}")
            }
            ConfigError::Io { path, reason } => {
                write!(
                    f,
                    "Fatal error, can't open config file '{}': {reason}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}
