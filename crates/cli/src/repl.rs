//! The interactive loop. On a terminal: rustyline line editing, history in
//! `~/.ferrodiscli_history` (or `$REDISCLI_HISTFILE`), and the `127.0.0.1:6379> ` prompt. With
//! stdin from a pipe or file: one command per line, no prompt, no history (redis-cli's
//! linenoise behaves the same way).

use crate::format::OutputMode;
use crate::session::{out, Session};
use anyhow::Context;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

enum Flow {
    Continue,
    Quit,
}

fn history_file() -> Option<PathBuf> {
    match std::env::var_os("REDISCLI_HISTFILE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ferrodiscli_history")),
    }
}

pub fn run(s: &mut Session) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = lock
                .read_until(b'\n', &mut line)
                .context("read a command from stdin")?;
            if n == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if let Flow::Quit = handle_line(s, &line)? {
                return Ok(());
            }
        }
    }
    let mut ed: Editor<(), DefaultHistory> = Editor::new().context("start the line editor")?;
    let hist = history_file();
    if let Some(h) = &hist {
        // A missing history file is normal on first use.
        let _ = ed.load_history(h);
    }
    loop {
        let prompt = if s.conn.is_some() {
            s.prompt()
        } else {
            "not connected> ".to_string()
        };
        match ed.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = ed.add_history_entry(line.as_str());
                    if let Some(h) = &hist {
                        let _ = ed.save_history(h);
                    }
                }
                if let Flow::Quit = handle_line(s, line.as_bytes())? {
                    return Ok(());
                }
            }
            // Ctrl-C and Ctrl-D leave, as in redis-cli.
            Err(ReadlineError::Interrupted) | Err(ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e).context("read a line"),
        }
    }
}

fn handle_line(s: &mut Session, line: &[u8]) -> anyhow::Result<Flow> {
    if line.is_empty() {
        return Ok(Flow::Continue);
    }
    let Some(argv) = ferrodis_resp::split_args(line) else {
        out(b"Invalid argument(s)\n");
        return Ok(Flow::Continue);
    };
    if argv.is_empty() {
        return Ok(Flow::Continue);
    }
    // "<N> command" repeats the command N times (strtol rules: the whole word is a number).
    let mut repeat = 1i64;
    let mut skip = 0;
    if argv.len() > 1 {
        let word = String::from_utf8_lossy(&argv[0]);
        let parsed = if word.is_empty() {
            Some(0)
        } else {
            word.parse::<i64>().ok()
        };
        let looks_numeric = !word.is_empty()
            && word
                .trim_start_matches(['+', '-'])
                .bytes()
                .all(|b| b.is_ascii_digit());
        if let Some(n) = parsed.or(if looks_numeric { Some(-1) } else { None }) {
            if n <= 0 {
                out(b"Invalid redis-cli repeat command option value.\n");
                return Ok(Flow::Continue);
            }
            repeat = n;
            skip = 1;
        }
    }
    // As in redis-cli, these local commands are matched on the line's first word.
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"quit") || name.eq_ignore_ascii_case(b"exit") {
        return Ok(Flow::Quit);
    }
    if argv.len() == 3 && name.eq_ignore_ascii_case(b"connect") {
        s.cfg.host = String::from_utf8_lossy(&argv[1]).into_owned();
        s.cfg.port = crate::opts::atoi(&String::from_utf8_lossy(&argv[2])) as u16;
        s.connect(true);
        return Ok(Flow::Continue);
    }
    let cmd = &argv[skip..];
    if argv.len() == 1 && name.eq_ignore_ascii_case(b"clear") {
        out(b"\x1b[H\x1b[2J");
        return Ok(Flow::Continue);
    }
    let start = Instant::now();
    s.issue_command_repeat(cmd, repeat)?;
    let elapsed = start.elapsed().as_secs_f64();
    if elapsed >= 0.5 && s.cfg.output == OutputMode::Standard {
        out(format!("({elapsed:.2}s)\n").as_bytes());
    }
    Ok(Flow::Continue)
}
