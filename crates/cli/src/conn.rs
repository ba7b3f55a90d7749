//! A blocking connection to the server: send a command, read one reply frame, or read raw
//! bytes (the RDB payload of `SYNC`). Errors carry hiredis's wording, because redis-cli prints
//! them as they are (`Error: Server closed the connection`).

use bytes::{Buf, BytesMut};
use ferrodis_resp::{decode, encode_command, Frame};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;

/// Why a read or write on the connection failed.
#[derive(Debug)]
pub enum ConnError {
    /// The server closed the connection.
    Eof,
    /// A socket error.
    Io(io::Error),
    /// The server sent bytes that are not RESP.
    Protocol(String),
}

impl ConnError {
    /// True when an interactive session should just reconnect (redis-cli's rule: EOF,
    /// connection reset, broken pipe).
    pub fn is_disconnect(&self) -> bool {
        match self {
            ConnError::Eof => true,
            ConnError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            ConnError::Protocol(_) => false,
        }
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Eof => f.write_str("Server closed the connection"),
            ConnError::Io(e) => f.write_str(&strerror(e)),
            ConnError::Protocol(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConnError {}

impl From<io::Error> for ConnError {
    fn from(e: io::Error) -> Self {
        ConnError::Io(e)
    }
}

/// An OS error's text without Rust's ` (os error N)` suffix, as C's `strerror` prints it.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

pub struct Conn {
    stream: Box<dyn Stream>,
    buf: BytesMut,
}

impl Conn {
    /// Connects over TCP, trying every address `host` resolves to.
    pub fn connect_tcp(host: &str, port: u16) -> io::Result<Conn> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "Name or service not known");
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect(addr) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(Conn::wrap(Box::new(s)));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn connect_unix(path: &str) -> io::Result<Conn> {
        Ok(Conn::wrap(Box::new(UnixStream::connect(path)?)))
    }

    fn wrap(stream: Box<dyn Stream>) -> Conn {
        Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
        }
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ConnError> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out)?;
        Ok(())
    }

    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    fn fill(&mut self) -> Result<(), ConnError> {
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Err(ConnError::Eof);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Reads one whole reply frame.
    pub fn read_frame(&mut self) -> Result<Frame, ConnError> {
        loop {
            match decode(&mut self.buf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => self.fill()?,
                Err(e) => {
                    let ty = self.buf.first().map(|&b| b as char).unwrap_or('?');
                    return Err(ConnError::Protocol(format!(
                        "Protocol error, got \"{ty}\" as reply type byte ({e})"
                    )));
                }
            }
        }
    }

    /// Sends a command and reads its reply (RESP3 push frames in between are skipped).
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, ConnError> {
        self.send(args)?;
        loop {
            match self.read_frame()? {
                Frame::Push(_) => continue,
                f => return Ok(f),
            }
        }
    }

    /// Reads one byte, bypassing the RESP decoder (for the `SYNC` preamble).
    pub fn read_byte(&mut self) -> Result<u8, ConnError> {
        if self.buf.is_empty() {
            self.fill()?;
        }
        let b = self.buf[0];
        self.buf.advance(1);
        Ok(b)
    }

    /// Reads up to `max` raw bytes (at least one), buffered bytes first.
    pub fn read_some(&mut self, max: usize) -> Result<Vec<u8>, ConnError> {
        if self.buf.is_empty() {
            self.fill()?;
        }
        let n = max.min(self.buf.len());
        Ok(self.buf.split_to(n).to_vec())
    }
}
