//! Unit tests over the public API. Expected strings were checked against redis-server 7.0.15.

use crate::*;
use std::path::PathBuf;

fn load(text: &str) -> Result<Config, ConfigError> {
    let mut c = Config::default();
    c.load_str(text)?;
    Ok(c)
}

fn reason(text: &str) -> String {
    load(text)
        .err()
        .map(|e| e.reason().to_string())
        .unwrap_or_default()
}

fn get1(c: &Config, name: &str) -> String {
    let v = c.get(name.as_bytes());
    assert_eq!(v.len(), 1, "{name}: {v:?}");
    v[0].1.clone()
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let p: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
        .collect();
    c.set(&p)
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrodis-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn table_invariants_and_defaults() {
    let c = Config::default();
    let mut seen = std::collections::HashSet::new();
    for d in DIRECTIVES {
        for n in std::iter::once(&d.name).chain(d.aliases) {
            assert!(seen.insert(*n), "duplicate name {n}");
            assert_eq!(n.to_ascii_lowercase(), *n);
        }
        if d.name != "dir" {
            assert_eq!(d.get(&c), d.default, "default of {}", d.name);
        }
        // The default must itself be accepted (round trip through the parser).
        if !matches!(d.kind, Kind::Special(_)) && d.name != "dir" {
            let mut c2 = Config::default();
            c2.load_str(&format!("{} {}", d.name, values_repr(d.default)))
                .unwrap();
            assert_eq!(c2, c, "{}", d.name);
        }
    }
}

fn values_repr(s: &str) -> String {
    crate::values::repr(s.as_bytes())
}

#[test]
fn redis_defaults() {
    let c = Config::default();
    assert_eq!(get1(&c, "bind"), "* -::*");
    assert_eq!(get1(&c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(get1(&c, "port"), "6379");
    assert_eq!(get1(&c, "protected-mode"), "yes");
    assert_eq!(get1(&c, "enable-debug-command"), "no");
    assert_eq!(
        get1(&c, "dir"),
        std::env::current_dir().unwrap().display().to_string()
    );
    assert_eq!(get1(&c, "replicaof"), "");
    assert_eq!(get1(&c, "maxmemory-policy"), "noeviction");
}

#[test]
fn parses_file_syntax() {
    let c = load(
        "# comment\n\n   PORT 6380  \r\nbind 127.0.0.1 ::1\n\tmaxmemory 1gb\nrequirepass \"a b\\\"c\"\n\
         slaveof 10.0.0.1 6379\nSLAVE-READ-ONLY no\nhash-max-ziplist-entries 10\nlua-time-limit 100\n\
         loglevel VERBOSE\nappendonly yes\nrename-command FLUSHALL \"\"\nuser alice on >pw ~* +@all\n\
         client-output-buffer-limit replica 1mb 2kb 3 pubsub 0 0 0\nnotify-keyspace-events Ex\n",
    )
    .unwrap();
    assert_eq!(c.port, 6380);
    assert_eq!(c.bind, ["127.0.0.1", "::1"]);
    assert_eq!(c.maxmemory, 1 << 30);
    assert_eq!(c.requirepass.as_deref(), Some("a b\"c"));
    assert_eq!(
        c.replicaof,
        Some(ReplicaOf {
            host: "10.0.0.1".into(),
            port: 6379
        })
    );
    assert!(!c.replica_read_only);
    assert_eq!(c.hash_max_listpack_entries, 10);
    assert_eq!(c.busy_reply_threshold, 100);
    assert_eq!(c.loglevel, LogLevel::Verbose);
    assert!(c.appendonly);
    assert_eq!(c.rename_commands, [("FLUSHALL".to_string(), String::new())]);
    assert_eq!(
        c.users,
        [vec![
            "alice".to_string(),
            "on".into(),
            ">pw".into(),
            "~*".into(),
            "+@all".into()
        ]]
    );
    assert_eq!(
        c.client_output_buffer_limit.replica,
        BufferLimit {
            hard: 1 << 20,
            soft: 2048,
            soft_seconds: 3
        }
    );
    assert_eq!(c.client_output_buffer_limit.pubsub, BufferLimit::default());
    assert_eq!(c.notify_keyspace_events, notify::KEYEVENT | notify::EXPIRED);
    assert_eq!(get1(&c, "notify-keyspace-events"), "xE");
    assert_eq!(get1(&c, "slaveof"), "10.0.0.1 6379");
    assert_eq!(
        load("replicaof a 1\nreplicaof no one\n").unwrap().replicaof,
        None
    );
}

#[test]
fn memory_units() {
    for (v, n) in [
        ("1k", 1000),
        ("1kb", 1024),
        ("1K", 1000),
        ("1KB", 1024),
        ("1m", 1_000_000),
        ("1mb", 1 << 20),
        ("1g", 1_000_000_000),
        ("1Gb", 1 << 30),
        ("12", 12),
    ] {
        assert_eq!(load(&format!("maxmemory {v}")).unwrap().maxmemory, n, "{v}");
    }
}

#[test]
fn save_lines() {
    let c = load("save 900 1\nsave 300 10\n").unwrap();
    assert_eq!(get1(&c, "save"), "900 1 300 10");
    assert_eq!(load("save 3600 1 300 100\n").unwrap().save.len(), 2);
    assert!(load("save \"\"\n").unwrap().save.is_empty());
    assert_eq!(
        get1(&load("save 900 1\nsave \"\"\nsave 5 5\n").unwrap(), "save"),
        "5 5"
    );
    assert_eq!(reason("save 10"), "Invalid save parameters");
    assert_eq!(reason("save abc 1"), "Invalid save parameters");
    assert_eq!(reason("save 0 1"), "Invalid save parameters");
}

#[test]
fn error_reasons_match_redis() {
    assert_eq!(
        reason("foo bar"),
        "Bad directive or wrong number of arguments"
    );
    assert_eq!(
        reason("port \"abc\""),
        "argument couldn't be parsed into an integer"
    );
    assert_eq!(
        reason("port 70000"),
        "argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(reason("port"), "wrong number of arguments");
    assert_eq!(reason("port 1 2"), "wrong number of arguments");
    assert_eq!(reason("daemonize maybe"), "argument must be 'yes' or 'no'");
    assert_eq!(
        reason("loglevel loud"),
        "argument(s) must be one of the following: debug, verbose, notice, warning"
    );
    assert_eq!(
        reason("maxmemory-policy foo"),
        "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
    );
    assert_eq!(reason("maxmemory 10q"), "argument must be a memory value");
    assert_eq!(reason("maxmemory -1"), "argument must be a memory value");
    assert_eq!(
        reason("port \"abc"),
        "Unbalanced quotes in configuration line"
    );
    assert_eq!(
        reason("set-max-listpack-entries 5"),
        "Bad directive or wrong number of arguments"
    );
    assert_eq!(reason("replicaof a"), "wrong number of arguments");
    assert_eq!(reason("replicaof a 70000"), "Invalid master port");
    assert_eq!(
        reason("rename-command a"),
        "Bad directive or wrong number of arguments"
    );
    assert_eq!(
        reason("include"),
        "Bad directive or wrong number of arguments"
    );
    assert_eq!(
        reason("sentinel foo"),
        "sentinel directive while not in sentinel mode"
    );
    assert_eq!(
        reason("notify-keyspace-events Q"),
        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
    assert_eq!(
        reason("unixsocketperm 8"),
        "argument couldn't be parsed as an octal number"
    );
    assert_eq!(
        reason("client-query-buffer-limit 1"),
        "argument must be between 1048576 and 9223372036854775807 inclusive"
    );
    assert_eq!(
        reason("cluster-enabled yes"),
        "cluster mode is not supported by ferrodis"
    );
    assert_eq!(
        reason("dir /nonexistent-ferrodis-dir"),
        "No such file or directory"
    );
    assert!(load("cluster-enabled no\nbind\nclient-output-buffer-limit\n").is_ok());
}

#[test]
fn error_display_block() {
    let err = load("port 6379\nport \"abc\"\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "*** FATAL CONFIG FILE ERROR (ferrodis {}) ***\nReading the configuration, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer",
            env!("CARGO_PKG_VERSION")
        )
    );
    let d = tmpdir("errfile");
    let f = d.join("x.conf");
    std::fs::write(&f, "# hi\n  foo bar  \n").unwrap();
    let err = Config::from_file(&f).unwrap_err();
    let s = err.to_string();
    assert!(
        s.contains(&format!(
            "Reading the configuration file {}, at line 2\n>>> 'foo bar'\nBad directive",
            f.display()
        )),
        "{s}"
    );
    let err = Config::from_file(d.join("missing.conf")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Fatal error, can't open config file '"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("': No such file or directory"),
        "{err}"
    );
}

#[test]
fn include_is_recursive_and_loops_fail() {
    let d = tmpdir("include");
    std::fs::write(
        d.join("a.conf"),
        format!("port 7000\ninclude {}\n", d.join("b.conf").display()),
    )
    .unwrap();
    std::fs::write(d.join("b.conf"), "timeout 5\ninclude c.conf\n").unwrap();
    std::fs::write(d.join("c.conf"), "hz 20\n").unwrap();
    let mut c = Config::default();
    c.load_str(&format!("dir {}\ninclude a.conf\n", d.display()))
        .unwrap();
    assert_eq!((c.port, c.timeout, c.hz), (7000, 5, 20));
    std::fs::write(
        d.join("loop.conf"),
        format!("include {}\n", d.join("loop.conf").display()),
    )
    .unwrap();
    let err = Config::from_file(d.join("loop.conf")).unwrap_err();
    assert!(err.reason().contains("include nesting too deep"), "{err}");
    std::fs::write(d.join("bad.conf"), "include b.conf\nport x\n").unwrap();
    // Errors in an included file name that file.
    std::fs::write(d.join("b2.conf"), "port x\n").unwrap();
    let err = load(&format!("include {}", d.join("b2.conf").display())).unwrap_err();
    assert!(
        matches!(err, ConfigError::Line { source: Source::File(ref p), line: 1, .. } if p.ends_with("b2.conf")),
        "{err:?}"
    );
}

fn run(args: &[&str], stdin: &str) -> Result<Config, ConfigError> {
    match Config::from_args_with_stdin(args, &mut stdin.as_bytes())? {
        Invocation::Run(c) => Ok(*c),
        other => panic!("{other:?}"),
    }
}

#[test]
fn command_line() {
    assert!(matches!(
        Config::from_args(["-v"]).unwrap(),
        Invocation::Version
    ));
    assert!(matches!(
        Config::from_args(["--version"]).unwrap(),
        Invocation::Version
    ));
    assert!(matches!(
        Config::from_args(["-h"]).unwrap(),
        Invocation::Help
    ));
    assert!(matches!(
        Config::from_args(["--help"]).unwrap(),
        Invocation::Help
    ));
    assert_eq!(run(&[], "").unwrap(), Config::default());

    let c = run(
        &["--port", "6380", "--save", "", "--bind", "127.0.0.1", "::1"],
        "",
    )
    .unwrap();
    assert_eq!((c.port, c.save.len(), c.bind.len()), (6380, 0, 2));
    assert!(run(&["--port", "1", "--save"], "").unwrap().save.is_empty());
    assert!(run(&["--save", "--port", "1"], "").unwrap().save.is_empty());
    assert_eq!(
        run(&["--save", "10", "1", "--save", "20", "2"], "")
            .unwrap()
            .save
            .len(),
        2
    );
    assert_eq!(run(&["--port 7001"], "").unwrap().port, 7001);
    assert_eq!(
        run(&["--requirepass", "--x"], "")
            .unwrap()
            .requirepass
            .as_deref(),
        Some("--x")
    );
    assert_eq!(
        run(&["--maxmemory-policy", "allkeys-lru", "-"], "port 7002\n")
            .unwrap()
            .port,
        7002
    );
    let c = run(&["-", "--port", "7003"], "port 7002\nhz 33\n").unwrap();
    assert_eq!((c.port, c.hz), (7003, 33));

    let d = tmpdir("cmdline");
    let f = d.join("c.conf");
    std::fs::write(&f, "port 7000\nsave 1 1\n").unwrap();
    let c = run(
        &[f.to_str().unwrap(), "--port", "7005", "--save", "2", "2"],
        "",
    )
    .unwrap();
    assert_eq!(c.port, 7005);
    assert_eq!(get1(&c, "save"), "1 1 2 2");
    // One quoted argument is split, as redis-server 7.0 does (`--save "1 1"`).
    let split = run(&["--save", "3 3 4 4"], "").unwrap();
    assert_eq!(get1(&split, "save"), "3 3 4 4");
    assert!(run(&["--save", ""], "").unwrap().save.is_empty());
    assert_eq!(c.config_file.as_deref(), Some(f.as_path()));

    let err = run(&["--port", "abc"], "").unwrap_err();
    assert!(
        err.to_string().contains(
            "Reading the command line options, at option 1\n>>> 'port \"abc\"'\nargument couldn't"
        ),
        "{err}"
    );
    let err = run(&["--port", "1", "--foo", "bar"], "").unwrap_err();
    assert!(
        err.to_string()
            .contains(">>> 'foo \"bar\"'\nBad directive or wrong number of arguments"),
        "{err}"
    );
    assert_eq!(
        run(&["--port", "1", "2"], "").unwrap_err().reason(),
        "wrong number of arguments"
    );
    assert_eq!(
        run(&["--save", "10"], "").unwrap_err().reason(),
        "Invalid save parameters"
    );
}

#[test]
fn config_get_formatting_and_globs() {
    let mut c = Config::default();
    c.load_str("maxmemory 1gb\nsave 100 1 200 2\nappendfsync always\nunixsocketperm 700\nhz 0\n")
        .unwrap();
    assert_eq!(get1(&c, "maxmemory"), "1073741824");
    assert_eq!(get1(&c, "save"), "100 1 200 2");
    assert_eq!(get1(&c, "unixsocketperm"), "700");
    assert_eq!(get1(&c, "hz"), "1");
    assert_eq!(c.get(b"PORT"), [("PORT".to_string(), "6379".to_string())]);
    assert!(c.get(b"nosuch").is_empty());
    let names: Vec<String> = c.get(b"slave*").into_iter().map(|p| p.0).collect();
    for n in [
        "slaveof",
        "slave-read-only",
        "slave-serve-stale-data",
        "slave-priority",
        "slave-announce-ip",
        "slave-announce-port",
        "slave-lazy-flush",
        "slave-ignore-maxmemory",
    ] {
        assert!(names.contains(&n.to_string()), "{n} in {names:?}");
    }
    let all = c.get(b"*");
    assert_eq!(
        all.len(),
        192,
        "redis-server 7.0.15 returns 192 pairs for CONFIG GET *"
    );
    let names: Vec<String> = c.get(b"*[ab]ind*").into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["bind", "bind-source-addr"]);
}

#[test]
fn notify_events_format() {
    for (input, shown) in [
        ("KEA", "AKE"),
        ("Ex", "xE"),
        ("nmdtexzhsl$gKE", "AKEm"),
        ("ndtexzhsl$", "$lshzxetdn"),
        ("Adn", "A"),
        ("mEK", "KEm"),
        ("", ""),
    ] {
        assert_eq!(
            fmt_notify(parse_notify(input.as_bytes()).unwrap()),
            shown,
            "{input}"
        );
    }
}

#[test]
fn config_set_semantics() {
    let mut c = Config::default();
    assert_eq!(
        set(&mut c, &[("foo", "bar")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set(&mut c, &[("port", "abc")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set(&mut c, &[("PORT", "70000")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(
        set(&mut c, &[("daemonize", "yes")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        set(&mut c, &[("slaveof", "no one")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config"
    );
    assert_eq!(
        set(&mut c, &[("dir", "/tmp")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    assert_eq!(
        set(&mut c, &[("Hz", "10"), ("hZ", "11")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'hZ') - duplicate parameter"
    );
    assert_eq!(
        set(&mut c, &[("Slave-Read-Only", "x")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"
    );
    assert_eq!(
        set(&mut c, &[("hz", "5"), ("foo", "1")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    // Atomic: a failure leaves every value untouched.
    let before = c.clone();
    assert_eq!(
        set(&mut c, &[("hz", "5"), ("maxmemory", "bad")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(c, before);
    // Aliases are distinct entries, as in Redis: not a duplicate.
    assert_eq!(
        set(
            &mut c,
            &[("slave-read-only", "yes"), ("replica-read-only", "no")]
        )
        .unwrap(),
        ["replica-read-only"]
    );
    assert!(!c.replica_read_only);
    assert_eq!(
        set(&mut c, &[("maxmemory", "1GB"), ("hz", "10")]).unwrap(),
        ["maxmemory"]
    );
    assert_eq!(c.maxmemory, 1 << 30);
    set(&mut c, &[("save", "100 1 200 2")]).unwrap();
    assert_eq!(get1(&c, "save"), "100 1 200 2");
    set(&mut c, &[("save", "")]).unwrap();
    assert_eq!(get1(&c, "save"), "");
    assert!(set(&mut c, &[("save", "100  1")])
        .unwrap_err()
        .ends_with("- Invalid save parameters"));
    set(
        &mut c,
        &[(
            "client-output-buffer-limit",
            "normal 1 2 3 replica 10mb 5mb 30",
        )],
    )
    .unwrap();
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 1 2 3 slave 10485760 5242880 30 pubsub 33554432 8388608 60"
    );
    assert!(set(&mut c, &[("client-output-buffer-limit", "foo 1 2 3")])
        .unwrap_err()
        .ends_with("- Invalid client class specified in buffer limit configuration."));
    assert!(set(&mut c, &[("client-output-buffer-limit", "normal 1 2")])
        .unwrap_err()
        .ends_with("- Wrong number of arguments in buffer limit configuration."));
    set(&mut c, &[("bind", "127.0.0.1 ::1")]).unwrap();
    assert_eq!(get1(&c, "bind"), "127.0.0.1 ::1");
    set(&mut c, &[("hz", "1000")]).unwrap();
    assert_eq!(get1(&c, "hz"), "500");
    set(&mut c, &[("maxmemory-policy", "ALLKEYS-LRU")]).unwrap();
    assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::AllkeysLru);
    set(&mut c, &[("maxmemory-clients", "10%")]).unwrap();
    assert_eq!(get1(&c, "maxmemory-clients"), "10%");
    set(&mut c, &[("activedefrag", "yes")]).unwrap();
    assert_eq!(c.other.get("activedefrag").map(String::as_str), Some("yes"));

    let mut p = Config {
        enable_protected_configs: EnableOption::Local,
        ..Config::default()
    };
    assert!(p.set_as(&[(b"dir", b"/tmp")], false).is_err());
    p.set_as(&[(b"dir", b"/tmp")], true).unwrap();
    assert_eq!(p.dir, std::fs::canonicalize("/tmp").unwrap());
}

#[test]
fn rewrite_in_place() {
    let d = tmpdir("rewrite");
    let f = d.join("r.conf");
    let orig = "# top comment\nport 17003\n\n  # indented comment\nsave 900 1\nsave 300 10\nSLAVEOF 127.0.0.1 1\n\
                rename-command FLUSHALL \"\"\nmaxmemory 1mb\nhz 10\nbogus-directive 1\n\ndbfilename dump.rdb\n\n\nloglevel notice\n";
    std::fs::write(&f, orig).unwrap();
    // `bogus-directive` cannot load, so build the config from the loadable part instead.
    assert!(Config::from_file(&f).is_err());
    let mut c = Config::default();
    c.load_str(&orig.replace("bogus-directive 1\n", ""))
        .unwrap();
    c.config_file = Some(f.clone());
    set(
        &mut c,
        &[
            ("maxmemory", "3gb"),
            ("hz", "20"),
            ("save", "100 1"),
            ("requirepass", "a b\"c"),
            ("bind", "127.0.0.1 ::1"),
        ],
    )
    .unwrap();
    set(
        &mut c,
        &[
            ("client-output-buffer-limit", "pubsub 1mb 2 3"),
            ("appendfsync", "always"),
            ("proto-max-bulk-len", "1048577"),
        ],
    )
    .unwrap();
    c.rewrite().unwrap();
    let got = std::fs::read_to_string(&f).unwrap();
    let expected = format!(
        "# top comment\nport 17003\n\n# indented comment\nsave 100 1\n\nreplicaof 127.0.0.1 1\nrename-command FLUSHALL \"\"\n\
         maxmemory 3gb\nhz 20\n# ??? bogus-directive 1\n\ndbfilename \"dump.rdb\"\n\nloglevel notice\n\n# Generated by CONFIG REWRITE\n\
         bind 127.0.0.1 ::1\nproto-max-bulk-len 1048577\nclient-output-buffer-limit pubsub 1mb 2 3\ndir {}\nappendfsync always\n\
         requirepass \"a b\\\"c\"\n",
        crate::values::repr(c.dir.display().to_string().as_bytes())
    );
    assert_eq!(got, expected);
    // Like Redis, the empty string after the final newline is a (blank) line, so a second
    // rewrite ends with one blank line; from then on the output is stable.
    c.rewrite().unwrap();
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{expected}\n")
    );
    c.rewrite().unwrap();
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{expected}\n")
    );
    let mut back = Config::from_file(&f).unwrap();
    back.config_file = c.config_file.clone();
    assert_eq!(back, c);
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);

    assert_eq!(
        Config::default().rewrite().unwrap_err(),
        "ERR The server is running without a config file"
    );
    let mut n = Config::default();
    n.save.clear();
    n.replicaof = None;
    assert_eq!(
        n.rewrite_content(b"port 1\nsave 1 1\nsave 2 2\nreplicaof a 1\n"),
        format!(
            "port 6379\nsave \"\"\n\n# Generated by CONFIG REWRITE\ndir {}\n",
            crate::values::repr(n.dir.display().to_string().as_bytes())
        )
    );
}

/// Markdown rows for docs/configuration.md:
/// `cargo test -p ferrodis-config print_docs_table -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_docs_table() {
    for d in DIRECTIVES {
        let kind = match d.kind {
            Kind::Bool => "bool".to_string(),
            Kind::Int { min, max } => format!("integer {min}..{max}"),
            Kind::Memory { min, max } => format!("memory {min}..{max}"),
            Kind::MemoryOrPercent => "memory or percent".to_string(),
            Kind::Enum(n) => format!("enum: {}", n.join(" ")),
            Kind::String => "string".to_string(),
            Kind::Special(s) => s.replace('|', "\\|"),
        };
        let aliases = d
            .aliases
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let default = if d.name == "dir" {
            "(current directory)".to_string()
        } else {
            format!("`{}`", d.default)
        };
        let mu = match d.mutability {
            Mutability::Runtime => "yes",
            Mutability::Immutable => "no",
            Mutability::Protected => "protected",
        };
        let typed = if d.is_typed() {
            "typed field"
        } else {
            "stored only"
        };
        println!(
            "| `{}` | {aliases} | {kind} | {default} | {mu} | {typed} |",
            d.name
        );
    }
}

#[test]
fn docs_list_every_directive() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    for d in DIRECTIVES {
        assert!(
            docs.contains(&format!("| `{}` |", d.name)),
            "docs/configuration.md lacks {}",
            d.name
        );
    }
}
