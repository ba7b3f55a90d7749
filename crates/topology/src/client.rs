//! A tiny blocking RESP client: enough for PING and INFO, with connect and read timeouts.

use bytes::BytesMut;
use ferrodis_resp::Frame;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One connection to a node.
pub struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

fn io_err(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl Client {
    /// Connects to `host:port`, giving up after `timeout` (also the read/write timeout).
    pub fn connect(host: &str, port: u16, timeout: Duration) -> std::io::Result<Client> {
        let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
        let mut last = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        );
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_write_timeout(Some(timeout))?;
                    let _ = stream.set_nodelay(true);
                    return Ok(Client {
                        stream,
                        buf: BytesMut::with_capacity(4096),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Sends one command and reads its reply (an error reply is returned as a frame).
    pub fn cmd(&mut self, args: &[&str]) -> std::io::Result<Frame> {
        let mut out = BytesMut::new();
        ferrodis_resp::encode_command(args, &mut out);
        self.stream.write_all(&out)?;
        loop {
            match ferrodis_resp::decode(&mut self.buf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(io_err(format!("malformed reply: {e}"))),
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `INFO <section>` parsed into `field -> value`; an error reply becomes an `Err`.
    pub fn info(&mut self, section: &str) -> std::io::Result<HashMap<String, String>> {
        match self.cmd(&["INFO", section])? {
            Frame::Error(e) => Err(io_err(format!(
                "INFO {section}: {}",
                String::from_utf8_lossy(&e)
            ))),
            f => match f.as_bytes() {
                Some(b) => Ok(parse_info(&String::from_utf8_lossy(b))),
                None => Err(io_err(format!("INFO {section}: unexpected reply {f:?}"))),
            },
        }
    }
}

/// Parses INFO text (`# Section` headers, `field:value` lines) into a map.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// One `slaveN:ip=...,port=...,state=...,offset=...,lag=...` line of a master's INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLine {
    pub ip: String,
    pub port: Option<u16>,
    pub state: String,
    pub offset: Option<u64>,
    pub lag: Option<u64>,
}

/// The `slave0`, `slave1`... lines of an INFO replication map, in order.
pub fn replica_lines(info: &HashMap<String, String>) -> Vec<ReplicaLine> {
    let mut out = Vec::new();
    for i in 0.. {
        let Some(line) = info.get(&format!("slave{i}")) else {
            break;
        };
        let mut r = ReplicaLine {
            ip: String::new(),
            port: None,
            state: String::new(),
            offset: None,
            lag: None,
        };
        for part in line.split(',') {
            match part.split_once('=') {
                Some(("ip", v)) => r.ip = v.to_string(),
                Some(("port", v)) => r.port = v.parse().ok(),
                Some(("state", v)) => r.state = v.to_string(),
                Some(("offset", v)) => r.offset = v.parse().ok(),
                Some(("lag", v)) => r.lag = v.parse().ok(),
                _ => {}
            }
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_and_replica_lines() {
        let text = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
                    slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0\r\n\
                    slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=3\r\n\
                    master_repl_offset:42\r\n";
        let info = parse_info(text);
        assert_eq!(info.get("role").map(String::as_str), Some("master"));
        let lines = replica_lines(&info);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].port, Some(7001));
        assert_eq!(lines[0].offset, Some(42));
        assert_eq!(lines[1].state, "wait_bgsave");
        assert_eq!(lines[1].lag, Some(3));
    }
}
