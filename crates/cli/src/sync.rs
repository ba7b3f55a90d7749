//! `--rdb FILE` and `--replica` (and the SYNC/PSYNC commands typed at the prompt): the CLI
//! poses as a replica, sends `SYNC`, and then either saves the RDB payload or discards it and
//! prints the master's command stream in CSV form.
//!
//! The payload arrives in one of two shapes after `SYNC`:
//!
//! ```text
//! \n\n...$<len>\r\n<len bytes of RDB>          (disk-based: length known up front)
//! \n\n...$EOF:<40-byte mark>\r\n<RDB><mark>   (diskless: ends with the 40-byte mark)
//! ```
//!
//! The leading newlines are keep-alives the master sends while it prepares the snapshot.

use crate::conn::{strerror, Conn, ConnError};
use crate::format;
use crate::session::{out, Session};
use anyhow::{bail, Context};
use ferrodis_resp::Frame;
use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

const EOF_MARK_LEN: usize = 40;

/// How the payload's end is known.
enum Payload {
    Len(u64),
    Mark(Vec<u8>),
}

fn conn(s: &mut Session) -> anyhow::Result<&mut Conn> {
    s.conn.as_mut().context("not connected")
}

/// Sends `REPLCONF a b`, reporting it on stderr as redis-cli does. An error reply is not
/// fatal (old servers lack some options).
pub fn send_replconf(s: &mut Session, a: &str, b: &str) -> anyhow::Result<bool> {
    eprintln!("sending REPLCONF {a} {b}");
    match conn(s)?.call(&["REPLCONF", a, b]) {
        Ok(Frame::Error(e)) => {
            eprintln!("REPLCONF {a} error: {}", String::from_utf8_lossy(&e));
            Ok(false)
        }
        Ok(_) => Ok(true),
        Err(_) => {
            eprintln!("\nI/O error");
            std::process::exit(1);
        }
    }
}

/// Sends `SYNC` and reads the payload header.
fn send_sync(c: &mut Conn) -> anyhow::Result<Payload> {
    if c.write_raw(b"SYNC\r\n").is_err() {
        eprintln!("Error writing to master");
        std::process::exit(1);
    }
    let mut line = Vec::new();
    loop {
        let b = match c.read_byte() {
            Ok(b) => b,
            Err(_) => {
                eprintln!("Error reading bulk length while SYNCing");
                std::process::exit(1);
            }
        };
        if b == b'\n' {
            if line.is_empty() {
                continue; // keep-alive
            }
            break;
        }
        line.push(b);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.first() == Some(&b'-') {
        eprintln!(
            "SYNC with master failed: {}",
            String::from_utf8_lossy(&line)
        );
        std::process::exit(1);
    }
    let body = line.get(1..).unwrap_or(&[]);
    if let Some(mark) = body.strip_prefix(b"EOF:") {
        if mark.len() >= EOF_MARK_LEN {
            return Ok(Payload::Mark(mark[..EOF_MARK_LEN].to_vec()));
        }
    }
    let len = std::str::from_utf8(body)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .with_context(|| {
            format!(
                "parse the SYNC payload header {:?}",
                String::from_utf8_lossy(&line)
            )
        })?;
    Ok(Payload::Len(len))
}

/// Streams the payload to `sink` (which may be `io::sink()`), returning its length. With an
/// EOF mark, the last 40 bytes are held back until it is clear they are not the mark.
fn copy_payload(c: &mut Conn, payload: &Payload, sink: &mut dyn Write) -> anyhow::Result<u64> {
    let read_err = || -> ! {
        eprintln!("I/O Error reading RDB payload from socket");
        std::process::exit(1);
    };
    let mut total = 0u64;
    match payload {
        Payload::Len(len) => {
            let mut left = *len;
            while left > 0 {
                let chunk = match c.read_some(left.min(64 * 1024) as usize) {
                    Ok(ch) => ch,
                    Err(_) => read_err(),
                };
                sink.write_all(&chunk).context("write the RDB payload")?;
                left -= chunk.len() as u64;
                total += chunk.len() as u64;
            }
        }
        Payload::Mark(mark) => {
            let mut pending: Vec<u8> = Vec::new();
            loop {
                let chunk = match c.read_some(64 * 1024) {
                    Ok(ch) => ch,
                    Err(_) => read_err(),
                };
                pending.extend_from_slice(&chunk);
                if pending.ends_with(mark) {
                    let data = &pending[..pending.len() - EOF_MARK_LEN];
                    sink.write_all(data).context("write the RDB payload")?;
                    total += data.len() as u64;
                    break;
                }
                if pending.len() > EOF_MARK_LEN {
                    let keep = pending.split_off(pending.len() - EOF_MARK_LEN);
                    sink.write_all(&pending).context("write the RDB payload")?;
                    total += pending.len() as u64;
                    pending = keep;
                }
            }
        }
    }
    Ok(total)
}

/// `--rdb FILE`: saves a snapshot of the server (`-` writes it to stdout).
pub fn get_rdb(s: &mut Session) -> anyhow::Result<()> {
    let filename = s.cfg.rdb_file.clone().unwrap_or_default();
    send_replconf(s, "capa", "eof")?;
    send_replconf(s, "rdb-only", "1")?;
    let c = conn(s)?;
    let payload = send_sync(c)?;
    match &payload {
        Payload::Len(n) => eprintln!("SYNC sent to master, writing {n} bytes to '{filename}'"),
        Payload::Mark(_) => eprintln!(
            "SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{filename}'"
        ),
    }
    let to_stdout = filename == "-";
    let mut file = None;
    if !to_stdout {
        match OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&filename)
        {
            Ok(f) => file = Some(f),
            Err(e) => {
                eprintln!("Error opening '{filename}': {}", strerror(&e));
                std::process::exit(1);
            }
        }
    }
    let total = {
        let stdout = std::io::stdout();
        let mut lock;
        let sink: &mut dyn Write = match file.as_mut() {
            Some(f) => f,
            None => {
                lock = stdout.lock();
                &mut lock
            }
        };
        let n = copy_payload(c, &payload, sink)?;
        sink.flush().context("flush the RDB payload")?;
        n
    };
    // Close the connection first: fsync may take a while.
    s.conn = None;
    if let Some(f) = &file {
        if let Err(e) = f.sync_all() {
            eprintln!("Fail to fsync '{filename}': {}", strerror(&e));
            std::process::exit(1);
        }
    }
    match payload {
        Payload::Len(_) => eprintln!("Transfer finished with success."),
        Payload::Mark(_) => eprintln!("Transfer finished with success after {total} bytes"),
    }
    Ok(())
}

/// Replica output mode: discard the snapshot, then print every command the master streams,
/// in CSV (`"set","a","1"`), until the connection ends.
pub fn replica_mode(s: &mut Session) -> anyhow::Result<()> {
    let c = conn(s)?;
    let payload = send_sync(c)?;
    match &payload {
        Payload::Len(n) => eprintln!("SYNC with master, discarding {n} bytes of bulk transfer..."),
        Payload::Mark(_) => {
            eprintln!("SYNC with master, discarding bytes of bulk transfer until EOF marker...")
        }
    }
    let total = copy_payload(c, &payload, &mut std::io::sink())?;
    match payload {
        Payload::Mark(_) => {
            eprintln!("SYNC done after {total} bytes. Logging commands from master.");
            // Give the master a moment to put us online, then acknowledge (no reply comes).
            std::thread::sleep(Duration::from_secs(1));
            eprintln!("sending REPLCONF ACK 0");
            if c.send(&["REPLCONF", "ACK", "0"]).is_err() {
                eprintln!("\nI/O error");
                std::process::exit(1);
            }
        }
        Payload::Len(_) => eprintln!("SYNC done. Logging commands from master."),
    }
    loop {
        match c.read_frame() {
            Ok(frame) => {
                let mut text = Vec::new();
                format::csv(&frame, &mut text);
                text.push(b'\n');
                out(&text);
            }
            Err(e) if s.interactive && e.is_disconnect() => {
                s.conn = None;
                bail!(ConnError::Eof);
            }
            Err(e) => {
                eprintln!("Error: {e}");
                std::process::exit(1);
            }
        }
    }
}
