//! Lazy and active expiry.

use crate::start;
use ferrodis_test_support::{info_fields, wait_until};
use std::time::Duration;

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let s = start(&[]);
    let mut c = s.conn();
    for i in 0..200 {
        c.run(&format!("SET tmp:{i} v PX 100"));
    }
    for i in 0..10 {
        c.run(&format!("SET keep:{i} v"));
    }
    assert_eq!(c.run("DBSIZE"), ":210");
    // Nothing touches the keys: only the active cycle can remove them.
    wait_until(
        Duration::from_secs(30),
        || c.run("DBSIZE") == ":10",
        "the active expiry cycle removes 200 expired keys",
    );
    let f = info_fields(&c.cmd(&["INFO", "stats"]));
    assert_eq!(f["expired_keys"], "200");
}

#[test]
fn lazy_expiry_when_active_is_off() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK");
    c.run("SET k v PX 50");
    c.run("SET other v PX 50");
    // Touching k or other would delete them; a third key set last tells the time.
    c.run("SET clock v PX 50");
    wait_until(
        Duration::from_secs(10),
        || c.run("EXISTS clock") == ":0",
        "the keys are logically expired",
    );
    // Still counted: nobody deleted it yet (Redis's DBSIZE counts it too).
    assert_eq!(c.run("DBSIZE"), ":2");
    assert_eq!(c.run("GET other"), "nil");
    assert_eq!(c.run("EXISTS k"), ":0");
    assert_eq!(c.run("DBSIZE"), ":0", "access deleted both keys lazily");
    c.run("SET later v PX 50");
    assert_eq!(c.run("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK");
    wait_until(
        Duration::from_secs(30),
        || c.run("DBSIZE") == ":0",
        "active expiry resumes",
    );
}

#[test]
fn ttl_countdown() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("SET k v EX 2");
    assert_eq!(c.run("TTL k"), ":2");
    wait_until(
        Duration::from_secs(15),
        || c.run("EXISTS k") == ":0",
        "a 2 second key expires",
    );
    assert_eq!(c.run("TTL k"), ":-2");
}
