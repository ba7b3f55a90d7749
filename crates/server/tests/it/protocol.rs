//! Raw RESP bytes over TCP: malformed input, inline commands, pipelining and limits.

use crate::start;
use ferrodis_test_support::{show, Conn};
use std::io::Write;
use std::time::Duration;

const CLOSE: Duration = Duration::from_secs(10);

fn protocol_error(input: &[u8], expected: &str) {
    let s = start(&[]);
    let mut c = s.conn();
    c.send_raw(input);
    assert_eq!(show(&c.read_frame()), expected, "input {input:?}");
    assert!(c.closed_within(CLOSE), "connection closes after {input:?}");
    assert_eq!(s.conn().run("PING"), "+PONG", "the server stays up");
}

#[test]
fn malformed_requests() {
    protocol_error(b"*abc\r\n", "-ERR Protocol error: invalid multibulk length");
    protocol_error(b"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length");
    protocol_error(
        b"*2\r\n$3\r\nGET\r\n:1\r\n",
        "-ERR Protocol error: expected '$', got ':'",
    );
    protocol_error(b"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length");
    protocol_error(
        b"SET \"unterminated\r\n",
        "-ERR Protocol error: unbalanced quotes in request",
    );
    // 70 KB of inline command without a newline: over Redis's 64 KB inline limit.
    let huge_inline = vec![b'a'; 70 * 1024];
    protocol_error(&huge_inline, "-ERR Protocol error: too big inline request");
}

#[test]
fn bulk_over_proto_max_bulk_len() {
    let s = start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.conn();
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    assert_eq!(
        show(&c.read_frame()),
        "-ERR Protocol error: invalid bulk length"
    );
    assert!(c.closed_within(CLOSE));
    let mut c = s.conn();
    let ok = "x".repeat(1024 * 1024);
    assert_eq!(show(&c.cmd(&["SET", "k", &ok])), "+OK");
    assert_eq!(
        c.run("SETRANGE k 2000000 x"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = start(&["--client-query-buffer-limit", "1mb"]);
    let mut c = s.conn();
    // A bulk argument announced as 4 MB (allowed by proto-max-bulk-len) whose bytes keep
    // coming: the query buffer passes 1 MB and the server drops the client.
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut stream = c.stream().try_clone().expect("clone");
    let mut sent = 0;
    while sent < 3_000_000 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(
        c.closed_within(CLOSE),
        "client over the query buffer limit is closed"
    );
    let mut d = s.conn();
    assert_eq!(d.run("EXISTS k"), ":0");
}

#[test]
fn inline_commands() {
    let s = start(&[]);
    let mut c = s.conn();
    c.send_raw(b"SET k \"hello world\"\r\nGET k\r\nPING\n\r\n  \r\nECHO 'a b'\r\n");
    assert_eq!(show(&c.read_frame()), "+OK");
    assert_eq!(show(&c.read_frame()), "$hello world");
    assert_eq!(show(&c.read_frame()), "+PONG");
    assert_eq!(show(&c.read_frame()), "$a b");
    // A command split across many writes still parses.
    for b in b"*2\r\n$4\r\nECHO\r\n$5\r\nsplit\r\n" {
        c.send_raw(&[*b]);
    }
    assert_eq!(show(&c.read_frame()), "$split");
}

#[test]
fn pipelining_1000_commands_in_one_write() {
    let s = start(&[]);
    let mut c = s.conn();
    let mut buf = bytes::BytesMut::new();
    for i in 0..1000 {
        ferrodis_resp::encode_command(&["SET", &format!("k{i}"), &i.to_string()], &mut buf);
        ferrodis_resp::encode_command(&["INCR", &format!("k{i}")], &mut buf);
    }
    c.send_raw(&buf);
    for i in 0..1000 {
        assert_eq!(show(&c.read_frame()), "+OK");
        assert_eq!(show(&c.read_frame()), format!(":{}", i + 1));
    }
    assert_eq!(c.run("DBSIZE"), ":1000");
}

#[test]
fn arity_and_unknown_commands() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.run("GET"),
        "-ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        c.run("get a b"),
        "-ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        c.run("NOSUCH a b"),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    );
    assert_eq!(c.run("PING"), "+PONG", "errors do not close the connection");
}

#[test]
fn maxclients() {
    let s = start(&["--maxclients", "3"]);
    // The start-up probe's connection closes asynchronously: wait until only ours is left.
    let mut first = s.conn();
    ferrodis_test_support::wait_until(
        Duration::from_secs(10),
        || {
            first
                .run("INFO clients")
                .contains("connected_clients:1\r\n")
        },
        "only this test's connection remains",
    );
    let mut held: Vec<Conn> = vec![first];
    held.extend((0..2).map(|_| s.conn()));
    for c in &mut held {
        assert_eq!(c.run("PING"), "+PONG");
    }
    let mut extra = s.conn();
    assert_eq!(
        show(&extra.read_frame()),
        "-ERR max number of clients reached"
    );
    assert!(extra.closed_within(CLOSE));
    drop(held.pop());
    ferrodis_test_support::wait_until(
        Duration::from_secs(10),
        || {
            let mut c = s.conn();
            c.set_timeout(Duration::from_secs(5));
            c.send(&["PING"]);
            c.try_read_frame().map(|f| show(&f)).ok().as_deref() == Some("+PONG")
        },
        "a slot frees after a client disconnects",
    );
}
