//! The client state redis-cli keeps between commands (connection, current db, MULTI flag,
//! prompt) and the sending of one command with its special cases: SELECT/MULTI/EXEC/DISCARD/
//! RESET update the prompt, SUBSCRIBE and MONITOR stream replies, SYNC enters replica output
//! mode, SHUTDOWN tolerates the closed connection, `help` is answered locally.

use crate::conn::{strerror, Conn, ConnError};
use crate::format::{self, OutputMode};
use crate::opts::{Config, VERSION_LINE};
use ferrodis_resp::Frame;
use std::io::Write;
use std::time::Duration;

pub struct Session {
    pub cfg: Config,
    pub conn: Option<Conn>,
    /// The database the connection is in (the prompt shows it when not 0).
    pub dbnum: i64,
    pub in_multi: bool,
    pre_multi_dbnum: i64,
    /// Set for the interactive loop (also when reading commands from a pipe): a dropped
    /// connection is then reconnected instead of ending the program.
    pub interactive: bool,
    /// Set after SHUTDOWN: the server closing the connection is the expected outcome.
    shutdown: bool,
}

/// Writes `bytes` to stdout and flushes, as redis-cli does after every reply. A closed
/// stdout (a pipe to `head`) is not worth an error message.
pub fn out(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

impl Session {
    pub fn new(cfg: Config) -> Session {
        Session {
            cfg,
            conn: None,
            dbnum: 0,
            in_multi: false,
            pre_multi_dbnum: 0,
            interactive: false,
            shutdown: false,
        }
    }

    /// `127.0.0.1:6379[2](TX)> `
    pub fn prompt(&self) -> String {
        let mut p = match &self.cfg.socket {
            Some(path) => format!("redis {path}"),
            None if self.cfg.host.contains(':') => format!("[{}]:{}", self.cfg.host, self.cfg.port),
            None => format!("{}:{}", self.cfg.host, self.cfg.port),
        };
        if self.dbnum != 0 {
            p.push_str(&format!("[{}]", self.dbnum));
        }
        if self.in_multi {
            p.push_str("(TX)");
        }
        p.push_str("> ");
        p
    }

    /// Connects (again, when `force`), then AUTH, SELECT and HELLO 3 as configured. Failures
    /// of those three are reported on stderr and, as in redis-cli 7.0, do not fail the
    /// connection. Returns false when the server cannot be reached.
    pub fn connect(&mut self, force: bool) -> bool {
        if self.conn.is_some() && !force {
            return true;
        }
        if self.conn.take().is_some() {
            self.dbnum = 0;
            self.in_multi = false;
        }
        let res = match &self.cfg.socket {
            Some(path) => Conn::connect_unix(path),
            None => Conn::connect_tcp(&self.cfg.host, self.cfg.port),
        };
        let mut conn = match res {
            Ok(c) => c,
            Err(e) => {
                match &self.cfg.socket {
                    Some(path) => {
                        eprintln!("Could not connect to Redis at {path}: {}", strerror(&e))
                    }
                    None => eprintln!(
                        "Could not connect to Redis at {}:{}: {}",
                        self.cfg.host,
                        self.cfg.port,
                        strerror(&e)
                    ),
                }
                return false;
            }
        };
        if let Some(pass) = &self.cfg.auth {
            let mut cmd: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.cfg.user {
                cmd.push(user);
            }
            cmd.push(pass);
            match conn.call(&cmd) {
                Ok(Frame::Error(e)) => eprintln!("AUTH failed: {}", String::from_utf8_lossy(&e)),
                Ok(_) => {}
                Err(_) => {
                    eprintln!("\nI/O error");
                    return false;
                }
            }
        }
        if self.cfg.input_db != self.dbnum {
            let db = self.cfg.input_db.to_string();
            match conn.call(&["SELECT", db.as_str()]) {
                Ok(Frame::Error(e)) => {
                    eprintln!("SELECT {db} failed: {}", String::from_utf8_lossy(&e))
                }
                Ok(_) => self.dbnum = self.cfg.input_db,
                Err(_) => {
                    eprintln!("\nI/O error");
                    return false;
                }
            }
        }
        if self.cfg.resp3 && !self.cfg.resp2 {
            match conn.call(&["HELLO", "3"]) {
                Ok(Frame::Error(e)) => {
                    eprintln!("HELLO 3 failed: {}", String::from_utf8_lossy(&e));
                    return false;
                }
                Ok(_) => {}
                Err(_) => {
                    eprintln!("\nI/O error");
                    return false;
                }
            }
        }
        self.conn = Some(conn);
        true
    }

    fn print_reply(&self, frame: &Frame, verbatim: bool) {
        let text = if verbatim {
            let mut v = Vec::new();
            format::raw(frame, &self.cfg.mb_delim, &mut v);
            v
        } else {
            format::reply(
                frame,
                self.cfg.output,
                &self.cfg.mb_delim,
                &self.cfg.cmd_delim,
            )
        };
        out(&text);
    }

    /// Reads the next reply, printing RESP3 push messages that arrive first (unless they are
    /// the replies themselves, in subscribe mode).
    fn read_reply(&mut self, pushes_are_replies: bool) -> Result<Frame, ConnError> {
        loop {
            let conn = self.conn.as_mut().ok_or(ConnError::Eof)?;
            let frame = conn.read_frame()?;
            if let (Frame::Push(_), false) = (&frame, pushes_are_replies) {
                if self.cfg.push_output {
                    self.print_reply(&frame, false);
                }
                continue;
            }
            return Ok(frame);
        }
    }

    /// Reads and prints one reply. `Ok(None)`: the connection is gone in a way the caller
    /// recovers from (interactive reconnect, or the expected close after SHUTDOWN).
    fn read_and_print(&mut self, verbatim: bool, pubsub: bool) -> anyhow::Result<Option<Frame>> {
        match self.read_reply(pubsub) {
            Ok(frame) => {
                if let (Frame::Error(e), true) = (&frame, self.cfg.set_errcode && !self.interactive)
                {
                    eprintln!("{}", String::from_utf8_lossy(e));
                    std::process::exit(1);
                }
                self.print_reply(&frame, verbatim);
                Ok(Some(frame))
            }
            Err(_) if self.shutdown => {
                self.conn = None;
                Ok(None)
            }
            Err(e) if self.interactive && e.is_disconnect() => Err(e.into()),
            Err(e) => {
                eprintln!("Error: {e}");
                std::process::exit(1);
            }
        }
    }

    /// Sends `argv` `repeat` times (forever when negative) and prints the replies.
    fn send_command(&mut self, argv: &[Vec<u8>], mut repeat: i64) -> anyhow::Result<()> {
        let Some(name) = argv.first() else {
            return Ok(());
        };
        let sub = argv.get(1).map(|a| a.as_slice()).unwrap_or(b"");
        let verbatim = eq(name, "info")
            || eq(name, "lolwut")
            || (eq(name, "debug") && (eq(sub, "htstats") || eq(sub, "htstats-key")))
            || (eq(name, "memory") && (eq(sub, "malloc-stats") || eq(sub, "doctor")))
            || (eq(name, "cluster")
                && ["nodes", "info", "slaves", "replicas"]
                    .iter()
                    .any(|s| eq(sub, s)))
            || (eq(name, "client") && (eq(sub, "list") || eq(sub, "info")))
            || (argv.len() == 3 && eq(name, "latency") && eq(sub, "graph"))
            || (argv.len() == 2 && eq(name, "latency") && eq(sub, "doctor"));
        let pubsub = eq(name, "subscribe") || eq(name, "psubscribe") || eq(name, "ssubscribe");
        let monitor = eq(name, "monitor");
        if eq(name, "shutdown") {
            self.shutdown = true;
        }
        if eq(name, "sync") || eq(name, "psync") {
            out(b"Entering replica output mode...  (press Ctrl-C to quit)\n");
            crate::sync::replica_mode(self)?;
            return Err(ConnError::Eof.into());
        }
        while repeat != 0 {
            if repeat > 0 {
                repeat -= 1;
            }
            self.conn.as_mut().ok_or(ConnError::Eof)?.send(argv)?;
            if monitor || pubsub {
                if pubsub && self.cfg.output != OutputMode::Raw {
                    out(b"Reading messages... (press Ctrl-C to quit)\n");
                }
                loop {
                    match self.read_and_print(false, pubsub)? {
                        Some(Frame::Error(_)) => break,
                        Some(_) => {}
                        None => return Ok(()),
                    }
                }
                continue;
            }
            let Some(reply) = self.read_and_print(verbatim, false)? else {
                return Ok(());
            };
            let failed = reply.is_error();
            if eq(name, "select") && argv.len() == 2 && !failed {
                let db = crate::opts::atoi(&String::from_utf8_lossy(&argv[1]));
                self.cfg.input_db = db;
                self.dbnum = db;
            } else if eq(name, "auth") && (argv.len() == 2 || argv.len() == 3) {
                // A new identity may have a different default; keep our db.
            } else if eq(name, "multi") && argv.len() == 1 && !failed {
                self.in_multi = true;
                self.pre_multi_dbnum = self.dbnum;
            } else if eq(name, "exec") && argv.len() == 1 && self.in_multi {
                self.in_multi = false;
                if failed || matches!(reply, Frame::Null | Frame::NullArray) {
                    self.dbnum = self.pre_multi_dbnum;
                    self.cfg.input_db = self.dbnum;
                }
            } else if eq(name, "discard") && argv.len() == 1 && !failed {
                self.in_multi = false;
                self.dbnum = self.pre_multi_dbnum;
                self.cfg.input_db = self.dbnum;
            } else if eq(name, "reset") && argv.len() == 1 && !failed {
                self.in_multi = false;
                self.dbnum = 0;
                self.cfg.input_db = 0;
                self.cfg.resp3 = false;
            }
            if self.cfg.interval > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(self.cfg.interval));
            }
        }
        Ok(())
    }

    /// Runs a command with reconnection as redis-cli's `issueCommandRepeat` does. Returns
    /// false when it could not be sent or its connection was lost.
    pub fn issue_command_repeat(&mut self, argv: &[Vec<u8>], repeat: i64) -> anyhow::Result<bool> {
        if let Some(first) = argv.first() {
            if eq(first, "help") || eq(first, "?") {
                out(help_text().as_bytes());
                return Ok(true);
            }
        }
        if self.conn.is_none() && !self.connect(true) {
            return Ok(false);
        }
        match self.send_command(argv, repeat) {
            Ok(()) => Ok(true),
            Err(e) => match e.downcast_ref::<ConnError>() {
                Some(ce) => {
                    eprintln!("Error: {ce}");
                    self.conn = None;
                    self.dbnum = 0;
                    self.in_multi = false;
                    Ok(false)
                }
                None => Err(e),
            },
        }
    }
}

fn help_text() -> String {
    format!(
        "{VERSION_LINE}
To get help about Redis commands see https://redis.io/commands
      \"quit\" or \"exit\" to leave
      \"connect <host> <port>\" to connect to another server
      \"clear\" to clear the screen
      \"<N> <command>\" to run a command N times
"
    )
}
