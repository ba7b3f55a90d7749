//! Interoperability with a real Redis 7.0: files it writes are read correctly, files
//! we write pass `redis-check-rdb` and load with the right contents, and DUMP payloads
//! travel both ways. These tests FAIL (never skip) when redis-server is missing.

// Test helpers unwrap freely, as #[test] functions may.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::Command;

use common::*;
use ferrodis_rdb::{
    dump_payload, parse_dump_payload, Entry, ErrorKind, Item, Reader, StreamId, Value,
    WriteOptions, Writer,
};

type Keyspace = HashMap<(u64, Vec<u8>), Entry>;
/// What each (db, key) must hold: value and absolute expire.
type Expected = HashMap<(u64, Vec<u8>), (Value, Option<i64>)>;

struct Loaded {
    aux: HashMap<Vec<u8>, Vec<u8>>,
    functions: Vec<Vec<u8>>,
    keys: Keyspace,
    types: BTreeSet<u8>,
    version: u32,
}

fn read_file(path: &Path) -> Loaded {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut r = Reader::new(BufReader::new(f)).unwrap();
    let mut out = Loaded {
        aux: HashMap::new(),
        functions: vec![],
        keys: HashMap::new(),
        types: BTreeSet::new(),
        version: r.version(),
    };
    let mut db = 0;
    loop {
        match r
            .next_item()
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        {
            Item::Aux { key, value } => {
                out.aux.insert(key, value);
            }
            Item::SelectDb(n) => db = n,
            Item::ResizeDb { .. } => {}
            Item::Function(f) => out.functions.push(f),
            Item::Entry(e) => {
                out.types.insert(r.last_object_type().unwrap());
                assert!(
                    out.keys.insert((db, e.key.clone()), e).is_none(),
                    "duplicate key"
                );
            }
            Item::End => break,
        }
    }
    out
}

fn s(x: &str) -> Vec<u8> {
    x.as_bytes().to_vec()
}

fn save(c: &mut Client, srv: &RedisServer, name: &str) -> std::path::PathBuf {
    c.ok(&["CONFIG", "SET", "dbfilename", name]);
    c.ok(&["SAVE"]);
    srv.dir.join(name)
}

/// Populate a real server so that its SAVE uses every encoding 7.0 writes, and return
/// what each key must contain.
fn populate(c: &mut Client) -> Expected {
    let mut exp = HashMap::new();
    let mut put = |db: u64, k: &str, v: Value, ttl: Option<i64>| {
        exp.insert((db, s(k)), (v, ttl));
    };
    // Strings: INT8/16/32 encodings, raw text, LZF (rdbcompression yes is the default).
    for (k, v) in [
        ("s:int8", "-5"),
        ("s:int16", "1000"),
        ("s:int32", "100000"),
        ("s:bigint", "12345678901234"),
        ("s:short", "hello"),
        ("s:empty", ""),
    ] {
        c.ok(&["SET", k, v]);
        put(0, k, Value::String(s(v)), None);
    }
    let lzf = "abcdefgh".repeat(100);
    c.ok(&["SET", "s:lzf", &lzf]);
    c.ok(&["PEXPIREAT", "s:lzf", &FAR_EXPIRE_MS.to_string()]);
    put(0, "s:lzf", Value::String(s(&lzf)), Some(FAR_EXPIRE_MS));
    let big: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    c.ok(&[&b"SET"[..], b"s:big", &big]);
    put(0, "s:big", Value::String(big), None);

    // Hash: listpack (16) under defaults, hash table (4) with a zero threshold.
    c.ok(&[
        "HSET",
        "h:lp",
        "f1",
        "v1",
        "n",
        "42",
        "neg",
        "-7000",
        "big",
        "123456789012",
    ]);
    put(
        0,
        "h:lp",
        Value::Hash(vec![
            (s("f1"), s("v1")),
            (s("n"), s("42")),
            (s("neg"), s("-7000")),
            (s("big"), s("123456789012")),
        ]),
        None,
    );
    c.ok(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    let mut h = vec![];
    for i in 0..20 {
        c.ok(&["HSET", "h:ht", &format!("field{i}"), &format!("value{i}")]);
        h.push((
            format!("field{i}").into_bytes(),
            format!("value{i}").into_bytes(),
        ));
    }
    put(0, "h:ht", Value::Hash(h), None);
    c.ok(&["CONFIG", "SET", "hash-max-listpack-entries", "128"]);

    // Zset: listpack (17) with integer, fractional and infinite scores; skiplist (5).
    c.ok(&[
        "ZADD", "z:lp", "1", "a", "2.5", "b", "-3", "c", "+inf", "d", "-inf", "e", "0.1", "f",
    ]);
    put(
        0,
        "z:lp",
        Value::ZSet(vec![
            (s("a"), 1.0),
            (s("b"), 2.5),
            (s("c"), -3.0),
            (s("d"), f64::INFINITY),
            (s("e"), f64::NEG_INFINITY),
            (s("f"), 0.1),
        ]),
        None,
    );
    c.ok(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    let mut z = vec![];
    for i in 0..30 {
        let score = f64::from(i) * 1.5 - 7.25;
        c.ok(&["ZADD", "z:sl", &score.to_string(), &format!("m{i}")]);
        z.push((format!("m{i}").into_bytes(), score));
    }
    put(0, "z:sl", Value::ZSet(z), None);
    c.ok(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);

    // Set: intset (11, with 64-bit members), hash table of integers and of strings (2).
    c.ok(&[
        "SADD",
        "set:int",
        "1",
        "2",
        "3",
        "-100",
        "70000",
        "5000000000",
    ]);
    put(
        0,
        "set:int",
        Value::Set(
            ["1", "2", "3", "-100", "70000", "5000000000"]
                .map(s)
                .to_vec(),
        ),
        None,
    );
    c.ok(&["SADD", "set:int16", "1", "2", "300"]);
    put(
        0,
        "set:int16",
        Value::Set(["1", "2", "300"].map(s).to_vec()),
        None,
    );
    c.ok(&["CONFIG", "SET", "set-max-intset-entries", "0"]);
    c.ok(&["SADD", "set:intht", "1", "2", "3"]);
    put(
        0,
        "set:intht",
        Value::Set(["1", "2", "3"].map(s).to_vec()),
        None,
    );
    c.ok(&["CONFIG", "SET", "set-max-intset-entries", "512"]);
    c.ok(&["SADD", "set:str", "a", "b", "c"]);
    put(
        0,
        "set:str",
        Value::Set(["a", "b", "c"].map(s).to_vec()),
        None,
    );

    // Lists: quicklist 2 (18) single packed node; many small nodes with LZF-compressed
    // inner nodes; a PLAIN node for a large element.
    c.ok(&["RPUSH", "l:small", "a", "b", "1", "-2", "65536"]);
    put(
        0,
        "l:small",
        Value::List(["a", "b", "1", "-2", "65536"].map(s).to_vec()),
        None,
    );
    c.ok(&["CONFIG", "SET", "list-max-listpack-size", "4"]);
    c.ok(&["CONFIG", "SET", "list-compress-depth", "1"]);
    let mut l = vec![];
    for i in 0..40 {
        let v = format!("element-{i:03}-aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        c.ok(&["RPUSH", "l:multi", &v]);
        l.push(v.into_bytes());
    }
    put(0, "l:multi", Value::List(l), None);
    c.ok(&["CONFIG", "SET", "list-compress-depth", "0"]);
    c.ok(&["CONFIG", "SET", "list-max-listpack-size", "-2"]);
    c.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    let plain = "p".repeat(500);
    c.ok(&["RPUSH", "l:plain", "small", &plain, "tail"]);
    put(
        0,
        "l:plain",
        Value::List(vec![s("small"), s(&plain), s("tail")]),
        None,
    );
    c.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824"]);

    // Streams (19): checked separately in detail.
    c.ok(&["XADD", "st", "1-1", "name", "a", "n", "1"]);
    c.ok(&["XADD", "st", "1-2", "name", "b", "n", "2"]);
    c.ok(&["XADD", "st", "2-0", "other", "x"]);
    c.ok(&["XADD", "st", "3-5", "name", "c", "n", "3"]);
    c.ok(&["XDEL", "st", "1-2"]);
    c.ok(&["XGROUP", "CREATE", "st", "g1", "0"]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "2",
        "STREAMS",
        "st",
        ">",
    ]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "1",
        "STREAMS",
        "st",
        ">",
    ]);
    c.ok(&["XGROUP", "CREATE", "st", "g2", "$"]);
    c.ok(&["XGROUP", "CREATECONSUMER", "st", "g2", "carol"]);
    for i in 1..=250 {
        c.ok(&[
            "XADD",
            "st:big",
            &format!("{i}-0"),
            "k",
            &format!("v{i}"),
            "num",
            &i.to_string(),
        ]);
    }

    // Other databases.
    c.ok(&["SELECT", "3"]);
    c.ok(&["SET", "db3:key", "x"]);
    put(3, "db3:key", Value::String(s("x")), None);
    c.ok(&["SELECT", "15"]);
    c.ok(&["SET", "last", "y"]);
    c.ok(&["PEXPIREAT", "last", &(FAR_EXPIRE_MS + 7).to_string()]);
    put(15, "last", Value::String(s("y")), Some(FAR_EXPIRE_MS + 7));
    c.ok(&["SELECT", "0"]);

    c.ok(&["FUNCTION", "LOAD", LIBRARY]);
    exp
}

fn check_stream(v: &Value, c: &mut Client) {
    let Value::Stream(st) = v else {
        panic!("st is not a stream: {v:?}")
    };
    let ids: Vec<StreamId> = st.entries.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        vec![
            StreamId::new(1, 1),
            StreamId::new(2, 0),
            StreamId::new(3, 5)
        ]
    );
    assert_eq!(
        st.entries[0].fields,
        vec![(s("name"), s("a")), (s("n"), s("1"))]
    );
    assert_eq!(st.entries[1].fields, vec![(s("other"), s("x"))]);
    assert_eq!(
        st.entries[2].fields,
        vec![(s("name"), s("c")), (s("n"), s("3"))]
    );
    assert_eq!(st.length, 3);
    assert_eq!(st.last_id, StreamId::new(3, 5));
    assert_eq!(st.first_id, StreamId::new(1, 1));
    assert_eq!(st.max_deleted_id, StreamId::new(1, 2));
    assert_eq!(st.entries_added, 4);
    assert_eq!(st.groups.len(), 2);
    let g1 = st
        .groups
        .iter()
        .find(|g| g.name == b"g1")
        .expect("group g1");
    assert_eq!(g1.last_id, StreamId::new(3, 5));
    // The read counter must be what XINFO GROUPS reports.
    let info = c.ok(&["XINFO", "GROUPS", "st"]).array();
    let g1_info = info
        .iter()
        .map(|g| g.array())
        .find(|g| g[1].bulk() == Some(s("g1")))
        .expect("g1 info");
    let pos = g1_info
        .iter()
        .position(|r| r == &Reply::Bulk(Some(s("entries-read"))))
        .expect("entries-read");
    assert_eq!(g1.entries_read, Some(g1_info[pos + 1].int() as u64));
    let pel: Vec<(StreamId, u64)> = g1.pel.iter().map(|p| (p.id, p.delivery_count)).collect();
    assert_eq!(
        pel,
        vec![
            (StreamId::new(1, 1), 1),
            (StreamId::new(2, 0), 1),
            (StreamId::new(3, 5), 1)
        ]
    );
    assert!(g1
        .pel
        .iter()
        .all(|p| p.delivery_time_ms > 1_600_000_000_000));
    let mut cons: Vec<(Vec<u8>, Vec<StreamId>)> = g1
        .consumers
        .iter()
        .map(|c| (c.name.clone(), c.pending.clone()))
        .collect();
    cons.sort();
    assert_eq!(
        cons,
        vec![
            (s("alice"), vec![StreamId::new(1, 1), StreamId::new(2, 0)]),
            (s("bob"), vec![StreamId::new(3, 5)])
        ]
    );
    let g2 = st
        .groups
        .iter()
        .find(|g| g.name == b"g2")
        .expect("group g2");
    assert!(g2.pel.is_empty());
    assert_eq!(g2.consumers.len(), 1);
    assert_eq!(g2.consumers[0].name, s("carol"));
    assert!(g2.consumers[0].pending.is_empty());
}

fn check_big_stream(v: &Value) {
    let Value::Stream(st) = v else {
        panic!("st:big is not a stream")
    };
    assert_eq!(st.entries.len(), 250);
    for (i, e) in st.entries.iter().enumerate() {
        let i = i as u64 + 1;
        assert_eq!(e.id, StreamId::new(i, 0));
        assert_eq!(
            e.fields,
            vec![
                (s("k"), format!("v{i}").into_bytes()),
                (s("num"), i.to_string().into_bytes())
            ]
        );
    }
    assert_eq!(st.length, 250);
    assert_eq!(st.entries_added, 250);
    assert_eq!(st.last_id, StreamId::new(250, 0));
}

fn check_contents(loaded: &Loaded, expected: &Expected, c: &mut Client) {
    for ((db, key), (value, ttl)) in expected {
        let got = loaded.keys.get(&(*db, key.clone())).unwrap_or_else(|| {
            panic!(
                "key {:?} missing from db {db}",
                String::from_utf8_lossy(key)
            )
        });
        assert_eq!(
            normalize(&got.value),
            normalize(value),
            "value of {:?}",
            String::from_utf8_lossy(key)
        );
        assert_eq!(
            got.expire_ms,
            *ttl,
            "expire of {:?}",
            String::from_utf8_lossy(key)
        );
    }
    check_stream(&loaded.keys[&(0, s("st"))].value, c);
    check_big_stream(&loaded.keys[&(0, s("st:big"))].value);
    assert_eq!(
        loaded.keys.len(),
        expected.len() + 2,
        "unexpected extra keys"
    );
}

#[test]
fn reads_every_encoding_redis_7_writes() {
    let dir = TempDir::new("fixture");
    let srv = RedisServer::start(dir.path(), &[]);
    let mut c = srv.client();
    let expected = populate(&mut c);

    let path = save(&mut c, &srv, "dump.rdb");
    let loaded = read_file(&path);
    assert_eq!(loaded.version, 10);
    assert_eq!(
        loaded.aux.get(&s("redis-ver")),
        Some(&s("7.0.15")),
        "aux: {:?}",
        loaded.aux
    );
    assert_eq!(loaded.aux.get(&s("redis-bits")), Some(&s("64")));
    assert_eq!(loaded.functions, vec![s(LIBRARY)]);
    check_contents(&loaded, &expected, &mut c);
    for t in [0u8, 2, 4, 5, 11, 16, 17, 18, 19] {
        assert!(
            loaded.types.contains(&t),
            "no key of type {t} in the fixture (types seen: {:?})",
            loaded.types
        );
    }
    let raw = std::fs::read(&path).unwrap();
    assert_ne!(
        raw[raw.len() - 8..],
        [0u8; 8],
        "expected a real CRC trailer"
    );

    // LFU policy writes FREQ before every key, LRU writes IDLE.
    c.ok(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    let lfu = read_file(&save(&mut c, &srv, "lfu.rdb"));
    assert!(lfu
        .keys
        .values()
        .all(|e| e.freq.is_some() && e.idle.is_none()));
    check_contents(&lfu, &expected, &mut c);
    c.ok(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    let lru = read_file(&save(&mut c, &srv, "lru.rdb"));
    assert!(lru
        .keys
        .values()
        .all(|e| e.idle.is_some() && e.freq.is_none()));
    c.ok(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);

    // No compression, and no checksum (eight zero bytes; rdbchecksum is immutable, so a
    // second server loads the first file and saves it again).
    let dir2 = TempDir::new("fixture-nocrc");
    std::fs::copy(&path, dir2.path().join("dump.rdb")).unwrap();
    {
        let srv2 = RedisServer::start(
            dir2.path(),
            &["--rdbchecksum", "no", "--rdbcompression", "no"],
        );
        let mut c2 = srv2.client();
        let path = save(&mut c2, &srv2, "plain.rdb");
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw[raw.len() - 8..], [0u8; 8]);
        check_contents(&read_file(&path), &expected, &mut c2);
    }

    // DUMP payloads from Redis parse to the same values as the RDB.
    for ((db, key), entry) in &loaded.keys {
        c.ok(&["SELECT", &db.to_string()]);
        let payload = c
            .ok(&[&b"DUMP"[..], key])
            .bulk()
            .expect("DUMP of an existing key");
        let v = parse_dump_payload(&payload)
            .unwrap_or_else(|e| panic!("DUMP of {:?}: {e}", String::from_utf8_lossy(key)));
        assert_eq!(normalize(&v), normalize(&entry.value));
        let mut bad = payload.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(matches!(
            parse_dump_payload(&bad).unwrap_err().kind,
            ErrorKind::DumpVersionOrChecksum
        ));
    }
}

/// Write `data` with our writer into `path`.
fn write_dataset(path: &Path, data: &[(u64, Entry)], opts: WriteOptions) {
    let f = std::io::BufWriter::new(File::create(path).unwrap());
    let mut w = Writer::new(f, opts).unwrap();
    w.aux(b"redis-ver", b"7.0.15").unwrap();
    w.aux(b"redis-bits", b"64").unwrap();
    w.aux(b"ctime", b"1700000000").unwrap();
    w.aux(b"aof-base", b"0").unwrap();
    w.function(LIBRARY.as_bytes()).unwrap();
    let mut dbs: Vec<u64> = data.iter().map(|(d, _)| *d).collect();
    dbs.dedup();
    for db in dbs {
        let keys: Vec<&Entry> = data
            .iter()
            .filter(|(d, _)| *d == db)
            .map(|(_, e)| e)
            .collect();
        w.select_db(db).unwrap();
        w.resize_db(
            keys.len() as u64,
            keys.iter().filter(|e| e.expire_ms.is_some()).count() as u64,
        )
        .unwrap();
        for e in keys {
            // Exercise the borrowed API for some types, the convenience API for others.
            match &e.value {
                Value::List(l) => w
                    .write_list(&e.key, l.len(), l.iter().map(Vec::as_slice), e.expire_ms)
                    .unwrap(),
                Value::Hash(h) => w
                    .write_hash(
                        &e.key,
                        h.len(),
                        h.iter().map(|(f, v)| (f.as_slice(), v.as_slice())),
                        e.expire_ms,
                    )
                    .unwrap(),
                Value::ZSet(z) => {
                    // Highest score first, as Redis writes it.
                    let mut z: Vec<_> = z.iter().map(|(m, sc)| (m.as_slice(), *sc)).collect();
                    z.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(a.0)));
                    w.write_zset(&e.key, z.len(), z, e.expire_ms).unwrap()
                }
                _ => w.write_entry(e).unwrap(),
            }
        }
    }
    w.finish().unwrap();
}

fn check_rdb(path: &Path) {
    let bin = require_binary("redis-check-rdb");
    let out = Command::new(bin)
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb rejected {}:\n{text}",
        path.display()
    );
}

#[test]
fn redis_loads_what_we_write() {
    let data = sample_dataset();
    for (i, opts) in [
        WriteOptions {
            compress: true,
            checksum: true,
        },
        WriteOptions {
            compress: false,
            checksum: false,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let dir = TempDir::new("writer");
        let path = dir.path().join("ours.rdb");
        write_dataset(&path, &data, opts);
        check_rdb(&path);

        let srv = RedisServer::start(dir.path(), &["--dbfilename", "ours.rdb"]);
        let mut c = srv.client();
        // Spot checks through commands.
        assert_eq!(c.ok(&["GET", "s:int32"]).bulk(), Some(s("-100000")));
        assert_eq!(
            c.ok(&["GET", "s:lzf"]).bulk(),
            Some(s(&"abcdefgh".repeat(100)))
        );
        let pttl = c.ok(&["PTTL", "s:lzf"]).int();
        assert!(pttl > 1_000_000_000, "PTTL {pttl}");
        assert_eq!(c.ok(&["TTL", "s:int8"]).int(), -1);
        let l = c.ok(&["LRANGE", "l:big", "0", "-1"]).strings();
        assert_eq!(l.len(), 1000);
        assert_eq!(l[999], s("element-999"));
        assert_eq!(
            c.ok(&["LINDEX", "l:huge-elem", "1"]).bulk(),
            Some(vec![b'y'; 100_000])
        );
        let mut members = c.ok(&["SMEMBERS", "set:int"]).strings();
        members.sort();
        assert_eq!(members, ["-3", "1", "5000000000", "70000"].map(s).to_vec());
        assert_eq!(
            c.ok(&["OBJECT", "ENCODING", "set:int"]).bulk(),
            Some(s("intset"))
        );
        assert_eq!(
            c.ok(&["HGET", "h:big", "field599"]).bulk(),
            Some(s("value599"))
        );
        assert_eq!(c.ok(&["HLEN", "h:big"]).int(), 600);
        assert_eq!(
            c.ok(&["OBJECT", "ENCODING", "h:small"]).bulk(),
            Some(s("listpack"))
        );
        let z = c
            .ok(&["ZRANGE", "z:small", "0", "-1", "WITHSCORES"])
            .strings();
        assert_eq!(
            z,
            ["e", "-inf", "c", "-3", "f", "0.5", "a", "1", "b", "2.5", "d", "inf"]
                .map(s)
                .to_vec()
        );
        let x = c.ok(&["XRANGE", "st:big", "-", "+", "COUNT", "1"]).array();
        assert_eq!(x[0].array()[0].bulk(), Some(s("1700000000000-0")));
        assert_eq!(c.ok(&["XLEN", "st:big"]).int(), 250);
        let pending = c.ok(&["XPENDING", "st:big", "g1"]).array();
        assert_eq!(pending[0].int(), 3);
        let funcs = c.ok(&["FUNCTION", "LIST"]).array();
        assert_eq!(funcs.len(), 1);
        assert_eq!(c.ok(&["FCALL", "myfunc", "0"]).int(), 1);
        assert_eq!(
            c.ok(&["DBSIZE"]).int(),
            data.iter().filter(|(d, _)| *d == 0).count() as i64
        );
        c.ok(&["SELECT", "1"]);
        assert_eq!(c.ok(&["GET", "db1:s"]).bulk(), Some(s("in db one")));
        c.ok(&["SELECT", "15"]);
        assert_eq!(
            c.ok(&["LRANGE", "db15:l", "0", "-1"]).strings(),
            vec![s("only")]
        );
        assert_eq!(c.ok(&["XLEN", "st:empty"]).int(), 0);

        // Full comparison: have Redis save what it loaded and read that back.
        let resaved = read_file(&save(&mut c, &srv, &format!("resaved{i}.rdb")));
        for (db, e) in &data {
            let got = resaved
                .keys
                .get(&(*db, e.key.clone()))
                .unwrap_or_else(|| panic!("{:?} lost", String::from_utf8_lossy(&e.key)));
            assert_eq!(
                normalize(&got.value),
                normalize(&e.value),
                "value of {:?}",
                String::from_utf8_lossy(&e.key)
            );
            assert_eq!(got.expire_ms, e.expire_ms);
        }
        assert_eq!(resaved.keys.len(), data.len());
        assert_eq!(resaved.functions, vec![s(LIBRARY)]);
    }
}

#[test]
fn dump_payloads_restore_into_redis() {
    let dir = TempDir::new("dump");
    let srv = RedisServer::start(dir.path(), &["--sanitize-dump-payload", "yes"]);
    let mut c = srv.client();
    for (_, e) in sample_dataset() {
        let payload = dump_payload(&e.value);
        assert_eq!(
            normalize(&parse_dump_payload(&payload).unwrap()),
            normalize(&e.value)
        );
        let mut key = b"r:".to_vec();
        key.extend_from_slice(&e.key);
        let r = c.cmd(&[&b"RESTORE"[..], &key, b"0", &payload]);
        assert_eq!(
            r,
            Reply::Simple("OK".into()),
            "RESTORE {:?}",
            String::from_utf8_lossy(&e.key)
        );
        let back = c
            .ok(&[&b"DUMP"[..], &key])
            .bulk()
            .expect("restored key exists");
        assert_eq!(
            normalize(&parse_dump_payload(&back).unwrap()),
            normalize(&e.value),
            "{:?}",
            String::from_utf8_lossy(&e.key)
        );
    }
    // A payload with a wrong checksum is refused by Redis, and by us with the mappable kind.
    let mut bad = dump_payload(&Value::String(s("x")));
    let n = bad.len();
    bad[n - 3] ^= 0x10;
    match c.cmd(&[&b"RESTORE"[..], b"bad", b"0", &bad]) {
        Reply::Error(e) => assert!(
            e.contains("DUMP payload version or checksum are wrong"),
            "{e}"
        ),
        other => panic!("RESTORE of a corrupt payload answered {other:?}"),
    }
    assert!(matches!(
        parse_dump_payload(&bad).unwrap_err().kind,
        ErrorKind::DumpVersionOrChecksum
    ));
}
