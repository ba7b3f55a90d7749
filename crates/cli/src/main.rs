//! `ferrodis-cli`: a drop-in for `redis-cli` 7.0.
//!
//! * [`opts`] parses the command line (redis-cli's options and rules).
//! * [`conn`] is the blocking connection (send a command, read a frame, read raw bytes).
//! * [`format`] prints replies exactly as redis-cli does (standard, raw, CSV).
//! * [`session`] is the client state redis-cli keeps (db, MULTI, prompt) and command sending,
//!   [`repl`] the interactive/stdin loop, [`sync`] the `--rdb` and `--replica` modes.
//!
//! See `docs/cli.md` for what differs from redis-cli.

mod conn;
mod format;
mod opts;
mod repl;
mod session;
mod sync;

use anyhow::Context;
use opts::Parsed;
use session::Session;
use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match opts::parse(&args) {
        Ok(Parsed::Run(cfg)) => cfg,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    match run(*cfg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cfg: opts::Config) -> anyhow::Result<ExitCode> {
    let mut s = Session::new(cfg);
    if s.cfg.rdb_file.is_some() {
        if !s.connect(false) {
            return Ok(ExitCode::FAILURE);
        }
        sync::get_rdb(&mut s)?;
        return Ok(ExitCode::SUCCESS);
    }
    if s.cfg.replica {
        if !s.connect(false) {
            return Ok(ExitCode::FAILURE);
        }
        sync::send_replconf(&mut s, "capa", "eof")?;
        sync::send_replconf(&mut s, "rdb-filter-only", "")?;
        sync::replica_mode(&mut s)?;
        return Ok(ExitCode::SUCCESS);
    }
    if s.cfg.command.is_empty() {
        s.interactive = true;
        // As redis-cli: a failed first connection is not fatal here; every command retries.
        s.connect(false);
        repl::run(&mut s)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !s.connect(false) {
        return Ok(ExitCode::FAILURE);
    }
    let Some(mut argv) = command_args(&s.cfg) else {
        println!("Invalid quoted string");
        return Ok(ExitCode::FAILURE);
    };
    if s.cfg.stdin_lastarg || s.cfg.stdin_tag.is_some() {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .context("read the last argument from stdin")?;
        match &s.cfg.stdin_tag {
            Some(tag) => match argv.iter().position(|a| a == tag.as_bytes()) {
                Some(p) => argv[p] = input,
                None => {
                    eprintln!("Redis command must include the -X tag argument '{tag}'");
                    return Ok(ExitCode::FAILURE);
                }
            },
            None => argv.push(input),
        }
    }
    let repeat = s.cfg.repeat;
    let ok = s.issue_command_repeat(&argv, repeat)?;
    std::io::stdout().flush().context("flush stdout")?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The command words from the command line, unquoted when `--quoted-input` is given.
fn command_args(cfg: &opts::Config) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(cfg.command.len());
    for word in &cfg.command {
        if cfg.quoted_input {
            let mut parts = ferrodis_resp::split_args(word.as_bytes())?;
            if parts.len() != 1 {
                return None;
            }
            out.push(parts.remove(0));
        } else {
            out.push(word.as_bytes().to_vec());
        }
    }
    Some(out)
}
