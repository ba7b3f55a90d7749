//! Real clients against ferrodis: redis-py, redis-benchmark, redis-cli. They fail (not skip)
//! when the tool is missing.

use crate::start;
use ferrodis_test_support::require_program;
use std::process::Command;

const PY_SCRIPT: &str = r#"
import sys, time
import redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.ping() is True
assert r.set("k", "v") is True
assert r.get("k") == "v"
assert r.get("missing") is None
assert r.incr("n") == 1
assert r.incrby("n", 41) == 42
assert r.expire("k", 100) is True
assert 99 <= r.ttl("k") <= 100
assert r.set("nx", "1", nx=True) is True
assert r.set("nx", "2", nx=True) is None
assert r.mset({"a": "1", "b": "2"}) is True
assert r.mget(["a", "b", "zz"]) == ["1", "2", None]
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"p{i}", i)
    p.incr(f"p{i}")
res = p.execute()
assert res == [x for i in range(100) for x in (True, i + 1)], res[:6]
assert r.dbsize() == 105, r.dbsize()
assert sorted(r.keys("p1?")) == sorted(f"p{i}" for i in range(10, 20))
assert len(list(r.scan_iter(match="p*", count=7))) == 100
assert r.delete("a", "b") == 2
info = r.info()
assert info["redis_version"] == "7.0.15"
r3 = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), protocol=3, decode_responses=True) if int(redis.__version__.split(".")[0]) >= 5 else r
assert r3.get("k") == "v"
assert r.set("short", "v", px=50) is True
deadline = time.time() + 10
while r.exists("short") and time.time() < deadline:
    time.sleep(0.01)
assert r.exists("short") == 0
print("redis-py OK")
"#;

#[test]
fn redis_py_client() {
    let ok = Command::new("python3")
        .args(["-c", "import redis"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with the `redis` package is required (apt-get install -y python3-redis, or pip install redis)"
    );
    let s = start(&[]);
    let out = Command::new("python3")
        .args(["-c", PY_SCRIPT, &s.port().to_string()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py script failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("redis-py OK"));
}

#[test]
fn redis_benchmark_smoke() {
    require_program("redis-benchmark", "apt-get install -y redis-tools");
    let s = start(&[]);
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &s.port().to_string(),
            "-t",
            "set,get",
            "-n",
            "2000",
            "-q",
        ])
        .output()
        .expect("run redis-benchmark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "redis-benchmark failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("SET:") && stdout.contains("GET:"),
        "{stdout}"
    );
}

#[test]
fn redis_cli_session() {
    require_program("redis-cli", "apt-get install -y redis-tools");
    let s = start(&[]);
    let port = s.port().to_string();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(cli(&["set", "key1", "val1"]), "OK\n");
    assert_eq!(cli(&["get", "key1"]), "val1\n");
    assert_eq!(cli(&["incr", "c"]), "1\n");
    assert_eq!(cli(&["get", "nosuch"]), "\n");
}
