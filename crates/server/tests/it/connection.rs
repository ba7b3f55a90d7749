//! Connection commands over TCP.

use crate::start;
use ferrodis_test_support::{show, text, Conn, Frame};
use std::time::Duration;

#[test]
fn ping_echo_quit() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("PING"), "+PONG");
    assert_eq!(c.run("PING hi"), "$hi");
    assert_eq!(c.run("ECHO hello"), "$hello");
    assert_eq!(c.run("QUIT"), "+OK");
    assert!(c.closed_within(Duration::from_secs(10)), "QUIT closes");
    assert_eq!(s.conn().run("PING"), "+PONG");
}

#[test]
fn select_is_per_connection() {
    let s = start(&["--databases", "4"]);
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(a.run("SELECT 3"), "+OK");
    assert_eq!(a.run("SET k in3"), "+OK");
    assert_eq!(b.run("GET k"), "nil");
    assert_eq!(a.run("SELECT 4"), "-ERR DB index is out of range");
    assert_eq!(a.run("GET k"), "$in3");
}

#[test]
fn requirepass_and_auth() {
    let s = start(&["--requirepass", "s3cret"]);
    let mut c = s.conn();
    assert_eq!(c.run("GET k"), "-NOAUTH Authentication required.");
    assert_eq!(c.run("PING"), "-NOAUTH Authentication required.");
    assert_eq!(
        c.run("AUTH wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        c.run("AUTH nobody s3cret"),
        "-WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(c.run("AUTH s3cret"), "+OK");
    assert_eq!(c.run("SET k v"), "+OK");
    let mut d = s.conn();
    assert_eq!(d.run("AUTH default s3cret"), "+OK");
    assert_eq!(d.run("GET k"), "$v");
    // RESET drops authentication.
    assert_eq!(d.run("RESET"), "+RESET");
    assert_eq!(d.run("GET k"), "-NOAUTH Authentication required.");
    // HELLO with AUTH authenticates and switches protocol in one step.
    let mut e = s.conn();
    assert!(e.run("HELLO 3").starts_with("-NOAUTH HELLO must be called"));
    let r = e.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(matches!(r, Frame::Map(_)), "{}", show(&r));
    assert_eq!(e.run("GET k"), "$v");
    // Without requirepass AUTH is an error.
    let t = start(&[]);
    assert_eq!(
        t.conn().run("AUTH x"),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn hello_2_and_3() {
    let s = start(&[]);
    let mut c = s.conn();
    let id = match c.cmd(&["CLIENT", "ID"]) {
        Frame::Integer(n) => n,
        f => panic!("CLIENT ID: {}", show(&f)),
    };
    let r = c.cmd(&["HELLO", "3"]);
    let Frame::Map(kv) = &r else {
        panic!("HELLO 3 must reply with a RESP3 map: {}", show(&r));
    };
    let get = |k: &str| {
        kv.iter()
            .find(|(a, _)| a.as_bytes() == Some(k.as_bytes()))
            .map(|(_, v)| show(v))
            .unwrap_or_else(|| panic!("HELLO lacks {k}"))
    };
    assert_eq!(get("server"), "$redis");
    assert_eq!(get("version"), "$7.0.15");
    assert_eq!(get("proto"), ":3");
    assert_eq!(get("id"), format!(":{id}"));
    assert_eq!(get("mode"), "$standalone");
    assert_eq!(get("role"), "$master");
    assert_eq!(get("modules"), "[]");
    assert_eq!(c.run("GET nosuch"), "nil");
    assert_eq!(c.last_raw(), b"_\r\n");
    // Back to RESP2: a flat array.
    let r = c.cmd(&["HELLO", "2"]);
    assert!(
        matches!(&r, Frame::Array(v) if v.len() == 14),
        "{}",
        show(&r)
    );
    assert_eq!(c.run("GET nosuch"), "nil");
    assert_eq!(c.last_raw(), b"$-1\r\n");
    assert_eq!(c.run("HELLO 1"), "-NOPROTO unsupported protocol version");
    assert_eq!(c.run("HELLO 3 SETNAME conn1").chars().next(), Some('{'));
    assert_eq!(c.run("CLIENT GETNAME"), "$conn1");
}

#[test]
fn reset_restores_defaults() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("SELECT 2");
    c.run("CLIENT SETNAME x");
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.run("RESET"), "+RESET");
    assert_eq!(c.run("CLIENT GETNAME"), "nil");
    assert_eq!(c.last_raw(), b"$-1\r\n", "RESET goes back to RESP2");
    c.run("SET k db0");
    let mut d = s.conn();
    assert_eq!(d.run("GET k"), "$db0", "RESET selects db 0");
}

#[test]
fn client_subcommands() {
    let s = start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(a.run("CLIENT SETNAME alpha"), "+OK");
    assert_eq!(a.run("CLIENT GETNAME"), "$alpha");
    let a_id = show(&a.cmd(&["CLIENT", "ID"]));
    let b_id = show(&b.cmd(&["CLIENT", "ID"]));
    assert_ne!(a_id, b_id);
    let list = text(&b.cmd(&["CLIENT", "LIST"]));
    assert_eq!(list.lines().count(), 2, "{list}");
    let a_line = list
        .lines()
        .find(|l| l.contains(" name=alpha "))
        .unwrap_or_else(|| panic!("alpha not listed: {list}"));
    assert!(a_line.starts_with(&format!("id={} addr=127.0.0.1:", &a_id[1..])));
    for field in [
        " laddr=",
        " fd=",
        " age=",
        " idle=",
        " flags=N ",
        " db=0 ",
        " cmd=",
    ] {
        assert!(a_line.contains(field), "{field} missing in {a_line}");
    }
    let info = text(&a.cmd(&["CLIENT", "INFO"]));
    assert!(info.starts_with(&format!("id={} ", &a_id[1..])), "{info}");
    let only = text(&b.cmd(&["CLIENT", "LIST", "ID", &a_id[1..]]));
    assert_eq!(only.lines().count(), 1);
    assert_eq!(a.run("CLIENT NO-EVICT on"), "+OK");
    assert_eq!(a.run("CLIENT NO-EVICT off"), "+OK");
    // KILL by id closes that connection only.
    assert_eq!(b.run(&format!("CLIENT KILL ID {}", &a_id[1..])), ":1");
    assert!(a.closed_within(Duration::from_secs(10)));
    assert_eq!(b.run("PING"), "+PONG");
    // Old form: CLIENT KILL addr.
    let mut c = s.conn();
    assert_eq!(
        c.run("PING"),
        "+PONG",
        "registered before CLIENT KILL looks for it"
    );
    let addr = c.stream().local_addr().expect("local addr").to_string();
    assert_eq!(b.run(&format!("CLIENT KILL {addr}")), "+OK");
    assert!(c.closed_within(Duration::from_secs(10)));
    assert_eq!(b.run("CLIENT KILL 127.0.0.1:1"), "-ERR No such client");
    // SKIPME yes (default) spares the caller.
    assert_eq!(b.run("CLIENT KILL TYPE normal"), ":0");
    assert_eq!(b.run("CLIENT KILL TYPE normal SKIPME no"), ":1");
    assert!(b.closed_within(Duration::from_secs(10)));
}

#[test]
fn client_reply_modes() {
    let s = start(&[]);
    let mut c = s.conn();
    // OFF: no replies until ON (whose +OK is sent).
    c.send(&["CLIENT", "REPLY", "OFF"]);
    c.send(&["SET", "a", "1"]);
    c.send(&["GET", "a"]);
    c.send(&["CLIENT", "REPLY", "ON"]);
    assert_eq!(show(&c.read_frame()), "+OK");
    // SKIP: the next command's reply is dropped.
    c.send(&["CLIENT", "REPLY", "SKIP"]);
    c.send(&["SET", "b", "2"]);
    c.send(&["GET", "b"]);
    assert_eq!(show(&c.read_frame()), "$2");
    assert_eq!(c.run("GET a"), "$1");
}

#[test]
fn many_connections_are_independent() {
    let s = start(&[]);
    let conns: Vec<Conn> = (0..50).map(|_| s.conn()).collect();
    for (i, mut c) in conns.into_iter().enumerate() {
        assert_eq!(c.run(&format!("SET k{i} {i}")), "+OK");
    }
    assert_eq!(s.conn().run("DBSIZE"), ":50");
}
