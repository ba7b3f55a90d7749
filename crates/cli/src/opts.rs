//! Command-line options, parsed the way redis-cli parses them: options come first, the first
//! word that is not an option starts the command, and an unknown `-x`-like word (or an option
//! missing its value) is an error.

use crate::format::OutputMode;
use std::io::IsTerminal;

/// Everything the command line and the environment decide.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// `-s`: a Unix socket path, which overrides host and port.
    pub socket: Option<String>,
    pub user: Option<Vec<u8>>,
    pub auth: Option<Vec<u8>>,
    /// Database asked for with `-n`, `-u .../db` or `SELECT`; reselected after a reconnect.
    pub input_db: i64,
    pub repeat: i64,
    /// Pause between repeats, in seconds.
    pub interval: f64,
    pub resp3: bool,
    pub resp2: bool,
    pub output: OutputMode,
    pub mb_delim: Vec<u8>,
    pub cmd_delim: Vec<u8>,
    pub stdin_lastarg: bool,
    pub stdin_tag: Option<String>,
    pub set_errcode: bool,
    pub quoted_input: bool,
    pub push_output: bool,
    pub no_auth_warning: bool,
    pub rdb_file: Option<String>,
    pub replica: bool,
    /// The command words given on the command line (empty: interactive or stdin mode).
    pub command: Vec<String>,
}

/// What `main` should do after parsing.
pub enum Parsed {
    Run(Box<Config>),
    /// Print this to stdout and exit 0 (`--version`, `--help`).
    Print(String),
}

pub const VERSION_LINE: &str = concat!("ferrodis-cli ", env!("CARGO_PKG_VERSION"));

const AUTH_WARNING: &str =
    "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.";

pub fn usage() -> String {
    format!(
        "{VERSION_LINE} (a redis-cli 7.0 work-alike)

Usage: ferrodis-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Server socket (overrides hostname and port).
  -a <password>      Password to use when connecting to the server.
                     You can also use the REDISCLI_AUTH environment
                     variable to pass this password more safely
                     (if both are used, this argument takes precedence).
  --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
  --pass <password>  Alias of -a for consistency with the new --user option.
  -u <uri>           Server URI (redis://[user:password@]host[:port][/db]).
  -r <repeat>        Execute specified command N times (-1: forever).
  -i <interval>      When -r is used, waits <interval> seconds per command.
  -n <db>            Database number.
  -2                 Start session in RESP2 protocol mode.
  -3                 Start session in RESP3 protocol mode.
  -x                 Read last argument from STDIN.
  -X <tag>           Read <tag> argument from STDIN.
  -d <delimiter>     Delimiter between response bulks for raw formatting (default: \\n).
  -D <delimiter>     Delimiter between responses for raw formatting (default: \\n).
  -c                 Accepted and ignored (no cluster redirections).
  -e                 Return exit error code when command execution fails.
  --raw              Use raw formatting for replies (default when STDOUT is not a tty).
  --no-raw           Force formatted output even when STDOUT is not a tty.
  --quoted-input     Force input to be handled as quoted strings.
  --csv              Output in CSV format.
  --show-pushes <yn> Whether to print RESP3 PUSH messages (default: yes on a tty).
  --replica          Simulate a replica showing commands received from the master.
  --rdb <filename>   Transfer an RDB dump from remote server to local file.
                     Use filename of \"-\" to write to stdout.
  --no-auth-warning  Don't show warning message when using password on command
                     line interface.
  --help             Output this help and exit.
  --version          Output version and exit.

When no command is given, ferrodis-cli starts in interactive mode (or reads one
command per line from STDIN when STDIN is not a tty).
"
    )
}

/// Turns `\n`, `\t`... in a `-d`/`-D` argument into the bytes, as redis-cli does.
fn unescape_delim(s: &str) -> Vec<u8> {
    match ferrodis_resp::split_args(format!("\"{s}\"").as_bytes()) {
        Some(mut v) if v.len() == 1 => v.remove(0),
        _ => s.as_bytes().to_vec(),
    }
}

/// C `atoi`: leading digits with an optional sign, 0 when there are none.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Applies `redis://[[user]:password@]host[:port][/db]` to `cfg`.
fn parse_uri(uri: &str, cfg: &mut Config) -> Result<(), String> {
    let lower = uri.to_ascii_lowercase();
    let mut rest = if lower.starts_with("redis://") {
        &uri["redis://".len()..]
    } else if lower.starts_with("rediss://") {
        return Err("TLS URIs (rediss://) are not supported".into());
    } else {
        return Err("Invalid URI scheme".into());
    };
    if rest.is_empty() {
        return Ok(());
    }
    if let Some(at) = rest.find('@') {
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => {
                cfg.user = Some(percent_decode(&userinfo[..colon]));
                cfg.auth = Some(percent_decode(&userinfo[colon + 1..]));
            }
            None => cfg.auth = Some(percent_decode(userinfo)),
        }
        rest = &rest[at + 1..];
    }
    if rest.is_empty() {
        return Ok(());
    }
    let (hostport, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], Some(&rest[slash + 1..])),
        None => (rest, None),
    };
    if !hostport.is_empty() {
        if let Some(inner) = hostport.strip_prefix('[') {
            match inner.find(']') {
                Some(close) => {
                    cfg.host = inner[..close].to_string();
                    if let Some(port) = inner[close + 1..].strip_prefix(':') {
                        cfg.port = atoi(port) as u16;
                    }
                }
                None => cfg.host = hostport.to_string(),
            }
        } else {
            match hostport.find(':') {
                Some(colon) => {
                    cfg.port = atoi(&hostport[colon + 1..]) as u16;
                    cfg.host = hostport[..colon].to_string();
                }
                None => cfg.host = hostport.to_string(),
            }
        }
    }
    if let Some(db) = path {
        if !db.is_empty() {
            cfg.input_db = atoi(db);
        }
    }
    Ok(())
}

/// Parses `args` (without the program name). Warnings go to stderr here, as redis-cli does.
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let tty = std::io::stdout().is_terminal() || std::env::var_os("FAKETTY").is_some();
    let mut cfg = Config {
        host: "127.0.0.1".into(),
        port: 6379,
        socket: None,
        user: None,
        auth: None,
        input_db: 0,
        repeat: 1,
        interval: 0.0,
        resp3: false,
        resp2: false,
        output: if tty {
            OutputMode::Standard
        } else {
            OutputMode::Raw
        },
        mb_delim: b"\n".to_vec(),
        cmd_delim: b"\n".to_vec(),
        stdin_lastarg: false,
        stdin_tag: None,
        set_errcode: false,
        quoted_input: false,
        push_output: tty,
        no_auth_warning: false,
        rdb_file: None,
        replica: false,
        command: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let has_value = i + 1 < args.len();
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        let mut takes = true;
        match a {
            "-h" if has_value => cfg.host = value(),
            "-p" if has_value => cfg.port = atoi(&value()) as u16,
            "-s" if has_value => cfg.socket = Some(value()),
            "-a" | "--pass" if has_value => cfg.auth = Some(value().into_bytes()),
            "--user" if has_value => cfg.user = Some(value().into_bytes()),
            "-u" if has_value => parse_uri(&value(), &mut cfg)?,
            "-n" if has_value => cfg.input_db = atoi(&value()),
            "-r" if has_value => cfg.repeat = atoi(&value()),
            "-i" if has_value => cfg.interval = value().trim().parse::<f64>().unwrap_or(0.0),
            "-d" if has_value => cfg.mb_delim = unescape_delim(&value()),
            "-D" if has_value => cfg.cmd_delim = unescape_delim(&value()),
            "-X" if has_value => cfg.stdin_tag = Some(value()),
            "--rdb" if has_value => cfg.rdb_file = Some(value()),
            "--show-pushes" if has_value => {
                let v = value().to_ascii_lowercase();
                cfg.push_output = matches!(v.as_str(), "y" | "yes");
            }
            _ => {
                takes = false;
                match a {
                    "-2" => cfg.resp2 = true,
                    "-3" => cfg.resp3 = true,
                    "-x" => cfg.stdin_lastarg = true,
                    "-c" => {}
                    "-e" => cfg.set_errcode = true,
                    "--raw" => cfg.output = OutputMode::Raw,
                    "--no-raw" => cfg.output = OutputMode::Standard,
                    "--csv" => cfg.output = OutputMode::Csv,
                    "--quoted-input" => cfg.quoted_input = true,
                    "--replica" | "--slave" => cfg.replica = true,
                    "--no-auth-warning" => cfg.no_auth_warning = true,
                    "--version" | "-v" => return Ok(Parsed::Print(format!("{VERSION_LINE}\n"))),
                    "--help" => return Ok(Parsed::Print(usage())),
                    _ if a.starts_with('-') => {
                        return Err(format!(
                            "Unrecognized option or bad number of args for: '{a}'"
                        ))
                    }
                    _ => break,
                }
            }
        }
        i += if takes { 2 } else { 1 };
    }
    cfg.command = args[i..].to_vec();
    if !cfg.no_auth_warning && cfg.auth.is_some() {
        eprintln!("{AUTH_WARNING}");
    }
    if cfg.auth.is_none() {
        if let Some(pass) = std::env::var_os("REDISCLI_AUTH") {
            cfg.auth = Some(pass.into_encoded_bytes());
        }
    }
    Ok(Parsed::Run(Box::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_of(args: &[&str]) -> Config {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args).unwrap() {
            Parsed::Run(c) => *c,
            Parsed::Print(_) => panic!("expected a config"),
        }
    }

    #[test]
    fn options_then_command() {
        let c = cfg_of(&["-h", "example", "-p", "7000", "-n", "3", "get", "-x"]);
        assert_eq!((c.host.as_str(), c.port, c.input_db), ("example", 7000, 3));
        assert_eq!(c.command, vec!["get", "-x"]);
        assert!(!c.stdin_lastarg);
    }

    #[test]
    fn uri_forms() {
        let c = cfg_of(&[
            "--no-auth-warning",
            "-u",
            "redis://bob:p%40ss@10.0.0.1:7001/4",
        ]);
        assert_eq!(c.user.as_deref(), Some(&b"bob"[..]));
        assert_eq!(c.auth.as_deref(), Some(&b"p@ss"[..]));
        assert_eq!((c.host.as_str(), c.port, c.input_db), ("10.0.0.1", 7001, 4));
        let c = cfg_of(&["-u", "redis://[::1]:7002"]);
        assert_eq!((c.host.as_str(), c.port), ("::1", 7002));
        let args = vec!["-u".to_string(), "http://x".to_string()];
        assert!(parse(&args).is_err());
    }

    #[test]
    fn bad_option() {
        let args = vec!["-z".to_string()];
        assert_eq!(
            parse(&args).err().unwrap(),
            "Unrecognized option or bad number of args for: '-z'"
        );
        let args = vec!["-p".to_string()];
        assert!(parse(&args).is_err());
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi("x"), 0);
    }
}
