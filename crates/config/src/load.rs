//! Loading: redis.conf text, files with `include`, and the redis-server command line.
//!
//! Like redis-server, the configuration file is applied first, then standard input (`-`),
//! then the `--directive value` options, all in one pass so that the first `save` line of any of
//! them replaces the built-in save points and later ones add to them.

use crate::error::{ConfigError, Source};
use crate::model::Config;
use crate::special::os_reason;
use crate::table::{lookup, ApplyCtx};
use crate::values::{repr, text};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};

/// `include` nesting limit, to stop include loops.
const MAX_INCLUDE_DEPTH: usize = 16;

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Run the server with this configuration.
    Run(Box<Config>),
    /// `-v` / `--version`: print the version and exit.
    Version,
    /// `-h` / `--help`: print usage and exit.
    Help,
}

/// Usage text for `-h`, in the spirit of redis-server's.
pub const USAGE: &str = "\
Usage: ./ferrodis-server [/path/to/redis.conf] [options] [-]
       ./ferrodis-server - (read config from stdin)
       ./ferrodis-server -v or --version
       ./ferrodis-server -h or --help

Examples:
       ./ferrodis-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./ferrodis-server -
       ./ferrodis-server /etc/redis/6379.conf
       ./ferrodis-server --port 7777
       ./ferrodis-server --port 7777 --replicaof 127.0.0.1 8888
       ./ferrodis-server /etc/myredis.conf --loglevel verbose -
       ./ferrodis-server /etc/myredis.conf --loglevel verbose
";

fn trim(mut s: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(ws) {
        s = &s[1..];
    }
    while s.last().is_some_and(ws) {
        s = &s[..s.len() - 1];
    }
    s
}

pub(crate) struct Loader<'a> {
    pub(crate) cfg: &'a mut Config,
    pub(crate) ctx: ApplyCtx,
    depth: usize,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(cfg: &'a mut Config) -> Self {
        Loader {
            cfg,
            ctx: ApplyCtx {
                from_file: true,
                save_loaded: false,
            },
            depth: 0,
        }
    }

    /// Applies one line; `Ok(())` for comments and blank lines.
    fn line(&mut self, raw: &[u8], source: &Source, lineno: usize) -> Result<(), ConfigError> {
        let line = trim(raw);
        if line.is_empty() || line[0] == b'#' {
            return Ok(());
        }
        let err = |reason: &str| ConfigError::Line {
            source: source.clone(),
            line: lineno,
            text: text(line),
            reason: reason.to_string(),
        };
        let argv = ferrodis_resp::split_args(line)
            .ok_or_else(|| err("Unbalanced quotes in configuration line"))?;
        let Some((name, args)) = argv.split_first() else {
            return Ok(());
        };
        let lname = name.to_ascii_lowercase();
        match (lname.as_slice(), args.len()) {
            (b"include", 1) => {
                if self.depth >= MAX_INCLUDE_DEPTH {
                    return Err(err("include nesting too deep (include loop?)"));
                }
                let p = PathBuf::from(text(&args[0]));
                let p = if p.is_absolute() {
                    p
                } else {
                    self.cfg.dir.join(p)
                };
                self.depth += 1;
                let r = self.file(&p);
                self.depth -= 1;
                r
            }
            (b"rename-command", 2) => {
                self.cfg
                    .rename_commands
                    .push((text(&args[0]), text(&args[1])));
                Ok(())
            }
            (b"user", n) if n >= 1 => {
                self.cfg.users.push(args.iter().map(|a| text(a)).collect());
                Ok(())
            }
            (b"loadmodule", n) if n >= 1 => {
                Err(err("ferrodis does not support modules (loadmodule)"))
            }
            (b"sentinel", _) => Err(err("sentinel directive while not in sentinel mode")),
            _ => match lookup(&lname) {
                Some(d) => {
                    // Redis 7.0: a multi-argument directive given one non-empty argument is
                    // split like a config line, so `--save "900 1 300 10"` works.
                    let split;
                    let args = if args.len() == 1
                        && !args[0].is_empty()
                        && crate::runtime::MULTI_ARG.contains(&d.name)
                    {
                        split = ferrodis_resp::split_args(&args[0])
                            .ok_or_else(|| err("Unbalanced quotes in configuration line"))?;
                        &split[..]
                    } else {
                        args
                    };
                    d.apply(self.cfg, args, &mut self.ctx).map_err(|r| err(&r))
                }
                None => Err(err("Bad directive or wrong number of arguments")),
            },
        }
    }

    pub(crate) fn text(&mut self, content: &[u8], source: &Source) -> Result<(), ConfigError> {
        for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
            self.line(raw, source, i + 1)?;
        }
        Ok(())
    }

    pub(crate) fn file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let content = std::fs::read(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            reason: os_reason(&e),
        })?;
        self.text(&content, &Source::File(path.to_path_buf()))
    }
}

impl Config {
    /// The defaults overlaid with the configuration file at `path` (which is remembered for
    /// CONFIG REWRITE).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let path = absolute(path.as_ref());
        Loader::new(&mut cfg).file(&path)?;
        cfg.config_file = Some(path);
        Ok(cfg)
    }

    /// Applies redis.conf-format text on top of the current values (errors name
    /// [`Source::Text`]). `include` paths are relative to `dir`.
    pub fn load_str(&mut self, content: &str) -> Result<(), ConfigError> {
        Loader::new(self).text(content.as_bytes(), &Source::Text)
    }

    /// Parses a redis-server command line (without the program name):
    /// `[configfile|-] [--directive value ...] [-]`, or `-v`/`--version`, `-h`/`--help` as the
    /// first argument. `-` reads the configuration from standard input.
    pub fn from_args<I, S>(args: I) -> Result<Invocation, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::from_args_with_stdin(args, &mut std::io::stdin())
    }

    /// [`Config::from_args`] reading `-` from `stdin` (for tests).
    pub fn from_args_with_stdin<I, S>(
        args: I,
        stdin: &mut dyn Read,
    ) -> Result<Invocation, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<Vec<u8>> = args
            .into_iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned().into_bytes())
            .collect();
        let Some(first) = args.first() else {
            return Ok(Invocation::Run(Box::default()));
        };
        match first.as_slice() {
            b"-v" | b"--version" => return Ok(Invocation::Version),
            b"-h" | b"--help" => return Ok(Invocation::Help),
            _ => {}
        }
        let mut j = 0;
        let mut config_file = None;
        if first.first() != Some(&b'-') {
            config_file = Some(absolute(Path::new(&text(first))));
            j = 1;
        }
        let n = args.len();
        let mut from_stdin = false;
        // Options become lines `name "value" ...`, exactly as redis-server builds them.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut handled_last = true;
        while j < n {
            let a = &args[j];
            if a.as_slice() == b"-" && (j == 0 || j == n - 1) {
                from_stdin = true;
            } else if handled_last && a.starts_with(b"--") {
                let mut line = a[2..].to_vec();
                line.push(b' ');
                let words = ferrodis_resp::split_args(a).map_or(0, |w| w.len());
                if words == 1 {
                    handled_last = false;
                    if a.eq_ignore_ascii_case(b"--save") {
                        // `--save` followed by another option, or last: `save ""`.
                        if j + 1 < n && args[j + 1].starts_with(b"--") {
                            line.extend_from_slice(b"\"\"");
                            handled_last = true;
                        } else if j + 1 == n {
                            line.extend_from_slice(b"\"\"");
                        }
                    }
                } else {
                    handled_last = true;
                }
                lines.push(line);
            } else {
                if lines.is_empty() {
                    lines.push(Vec::new());
                }
                if let Some(line) = lines.last_mut() {
                    line.extend_from_slice(repr(a).as_bytes());
                    line.push(b' ');
                }
                handled_last = true;
            }
            j += 1;
        }

        let mut cfg = Config::default();
        let mut loader = Loader::new(&mut cfg);
        if let Some(path) = &config_file {
            loader.file(path)?;
        }
        if from_stdin {
            let mut buf = Vec::new();
            stdin.read_to_end(&mut buf).map_err(|e| ConfigError::Io {
                path: PathBuf::from("-"),
                reason: os_reason(&e),
            })?;
            loader.text(&buf, &Source::Stdin)?;
        }
        for (i, line) in lines.iter().enumerate() {
            loader.line(line, &Source::CommandLine, i + 1)?;
        }
        cfg.config_file = config_file;
        Ok(Invocation::Run(Box::new(cfg)))
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
