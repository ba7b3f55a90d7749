//! Geospatial commands against redis-server 7.0: identical replies (coordinates, distances,
//! hashes, unsorted result order included), identical stored scores, and GEOADD replicated
//! as ZADD in both directions.

use crate::differential::run_script;
use crate::BIN;
use ferrodis_test_support::{repl, TestServer};
use std::fmt::Write as _;
use std::time::Duration;

/// Points around a few centers (including the antimeridian, the equator and both latitude
/// limits), then a seeded mix of every query form with random radii, boxes, units and options.
fn random_script(seed: u64, queries: usize) -> String {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut uniform = move |lo: f64, hi: f64| lo + (next() % 1_000_000) as f64 / 1e6 * (hi - lo);
    let centers = [
        (13.36, 38.11),
        (-73.98, 40.75),
        (0.0, 0.0),
        (179.9, 0.0),
        (-179.9, 10.0),
        (10.0, 84.9),
        (10.0, -84.9),
        (139.69, 35.68),
    ];
    let mut s = String::new();
    let point = |uniform: &mut dyn FnMut(f64, f64) -> f64| {
        let (cx, cy) = centers[(uniform(0.0, 8.0) as usize).min(7)];
        let spread = [0.01, 0.5, 5.0, 40.0][(uniform(0.0, 4.0) as usize).min(3)];
        let lon = (cx + uniform(-spread, spread)).clamp(-180.0, 180.0);
        let lat = (cy + uniform(-spread, spread)).clamp(-85.05, 85.05);
        (lon, lat)
    };
    for k in 0..2 {
        let _ = write!(s, "GEOADD g{k}");
        for i in 0..150 {
            let (lon, lat) = point(&mut uniform);
            let _ = write!(s, " {lon:.6} {lat:.6} m{i}");
        }
        s.push('\n');
        let _ = writeln!(s, "ZRANGE g{k} 0 -1 WITHSCORES");
    }
    let units = ["m", "km", "mi", "ft", "KM"];
    let radii = ["1", "50", "500", "5000", "20000", "0", "123.4"];
    for _ in 0..queries {
        let k = (uniform(0.0, 2.0) as usize).min(1);
        let (lon, lat) = point(&mut uniform);
        let pick = |u: f64, n: usize| (u as usize).min(n - 1);
        let r = radii[pick(uniform(0.0, 7.0), 7)];
        let unit = units[pick(uniform(0.0, 5.0), 5)];
        let mut opts = String::new();
        for o in ["WITHDIST", "WITHCOORD", "WITHHASH"] {
            if uniform(0.0, 1.0) < 0.3 {
                opts.push(' ');
                opts.push_str(o);
            }
        }
        let order = ["", "", " ASC", " DESC"][pick(uniform(0.0, 4.0), 4)];
        let count = ["", "", " COUNT 5", " COUNT 3 ANY"][pick(uniform(0.0, 4.0), 4)];
        let member = pick(uniform(0.0, 150.0), 150);
        match pick(uniform(0.0, 6.0), 6) {
            0 => {
                let _ = writeln!(
                    s,
                    "GEORADIUS g{k} {lon:.6} {lat:.6} {r} {unit}{opts}{order}{count}"
                );
            }
            1 => {
                let _ = writeln!(
                    s,
                    "GEORADIUSBYMEMBER_RO g{k} m{member} {r} {unit}{opts}{order}{count}"
                );
            }
            2 => {
                let w = ["10", "400", "3000", "40000"][pick(uniform(0.0, 4.0), 4)];
                let h = ["10", "400", "3000", "40000"][pick(uniform(0.0, 4.0), 4)];
                let _ = writeln!(
                    s,
                    "GEOSEARCH g{k} FROMLONLAT {lon:.6} {lat:.6} BYBOX {w} {h} {unit}{opts}{order}{count}"
                );
            }
            3 => {
                let _ = writeln!(
                    s,
                    "GEOSEARCH g{k} FROMMEMBER m{member} BYRADIUS {r} {unit}{opts}{order}{count}"
                );
            }
            4 => {
                let dist = if uniform(0.0, 1.0) < 0.5 {
                    " STOREDIST"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "GEOSEARCHSTORE dst g{k} FROMLONLAT {lon:.6} {lat:.6} BYRADIUS {r} {unit}{order}{count}{dist}"
                );
                let _ = writeln!(s, "ZRANGE dst 0 -1 WITHSCORES");
            }
            _ => {
                let other = pick(uniform(0.0, 150.0), 150);
                let _ = writeln!(s, "GEODIST g{k} m{member} m{other} {unit}");
                let _ = writeln!(s, "GEOPOS g{k} m{member} nosuch");
                let _ = writeln!(s, "GEOHASH g{k} m{member} nosuch");
            }
        }
    }
    s
}

#[test]
fn random_geo_queries_match_redis() {
    run_script("geo_random_1", &random_script(0x1234_5678, 400));
    run_script("geo_random_2", &random_script(0xdead_beef, 400));
}

/// A regular grid has many points at equal distances: which ones COUNT keeps, and their
/// order, depend on Redis's exact sort algorithms (a stable full sort, a partial quicksort).
#[test]
fn equal_distances_sort_like_redis() {
    let mut s = String::from("GEOADD grid");
    for i in 0..15 {
        for j in 0..15 {
            let _ = write!(
                s,
                " {} {} p{i}_{j}",
                -3.5 + i as f64 * 0.5,
                -3.5 + j as f64 * 0.5
            );
        }
    }
    s.push('\n');
    for (lon, lat) in [(0.0, 0.0), (0.25, 0.25), (-1.0, 2.0)] {
        for count in [1, 3, 8, 9, 20, 41, 100, 300] {
            for order in ["ASC", "DESC"] {
                let _ = writeln!(
                    s,
                    "GEOSEARCH grid FROMLONLAT {lon} {lat} BYRADIUS 400 km {order} COUNT {count} WITHDIST"
                );
            }
        }
        let _ = writeln!(s, "GEORADIUS grid {lon} {lat} 300 km ASC");
        let _ = writeln!(s, "GEORADIUS grid {lon} {lat} 300 km DESC");
        let _ = writeln!(s, "GEOSEARCHSTORE dst grid FROMLONLAT {lon} {lat} BYBOX 500 500 km ASC COUNT 10 STOREDIST");
        let _ = writeln!(s, "ZRANGE dst 0 -1 WITHSCORES");
    }
    run_script("geo_ties", &s);
}

#[test]
fn geo_examples_errors_and_resp3() {
    run_script(
        "geo_edges",
        r#"
        GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania"
        ZRANGE Sicily 0 -1 WITHSCORES
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo Catania km
        GEODIST Sicily Palermo Catania mi
        GEODIST Sicily Foo Bar
        GEORADIUS Sicily 15 37 100 km
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST
        GEOPOS Sicily Palermo Catania NonExisting
        GEOHASH Sicily Palermo Catania x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 1 STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE dst2
        ZRANGE dst2 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 1 km STORE dst2
        EXISTS dst2
        GEOADD Sicily NX 13.361389 38.115556 Palermo 1 1 new
        GEOADD Sicily CH XX 13 38 Palermo 2 2 absent
        GEOADD x 200 10 a
        GEOADD x 10 86 a
        GEOADD x abc 10 a
        GEOADD x NX XX 1 1 a
        GEOADD x 1 1
        GEORADIUS Sicily 0 0 -1 km
        GEORADIUS Sicily 0 0 x km
        GEORADIUS Sicily 0 0 1 parsec
        GEORADIUS Sicily 0 0 1 km COUNT 0
        GEORADIUS Sicily 0 0 1 km COUNT x
        GEORADIUS Sicily 0 0 1 km ANY
        GEORADIUS Sicily 0 0 1 km STORE d WITHDIST
        GEORADIUS_RO Sicily 0 0 1 km STORE d
        GEORADIUS Sicily 0 0 1 km COUNT
        GEOSEARCH Sicily BYRADIUS 1 km
        geosearch Sicily FROMLONLAT 0 0 FROMMEMBER Palermo BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 0 0 BYRADIUS 1 km BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 0 0 WITHDIST WITHHASH
        geosearch Sicily WITHDIST WITHHASH BYRADIUS 1 km
        GEOSEARCH Sicily FROMMEMBER nomember BYRADIUS 1 km
        GEOSEARCH nokey FROMMEMBER nomember BYRADIUS 1 km
        GEOSEARCHSTORE d nokey FROMMEMBER nomember BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 0 0 BYBOX -1 1 km
        GEOSEARCH Sicily FROMLONLAT 0 0 BYBOX a 1 km
        GEOSEARCHSTORE d Sicily FROMLONLAT 0 0 BYRADIUS 1 km WITHDIST
        GEOSEARCHSTORE d Sicily FROMLONLAT 0 0 BYRADIUS 1 km STORE x
        GEORADIUSBYMEMBER nokey m abc km
        GEORADIUSBYMEMBER Sicily nom 1 km
        SET s x
        GEOPOS s a
        GEORADIUS s 0 0 1 km
        GEOADD s 1 1 a
        GEODIST Sicily a
        GEODIST Sicily a b km x
        GEODIST nokey a b
        GEOPOS nokey a b
        GEOHASH nokey a
        GEOADD edges 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin
        GEOPOS edges ne sw origin
        GEOHASH edges ne sw origin
        GEORADIUS edges 0 0 20000 km WITHDIST ASC
        any: HELLO 3
        GEOPOS Sicily Palermo nosuch
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        GEODIST Sicily Palermo Catania
        "#,
    );
}

/// GEOADD/GEOSEARCHSTORE/GEORADIUS STORE on `master`; `replica` must end identical.
fn geo_replicates(master: &TestServer, replica: &TestServer) {
    let mut m = master.conn();
    let mut r = replica.conn();
    repl::wait_link_up(replica, Duration::from_secs(60));
    let mut args = vec!["GEOADD".to_string(), "places".into()];
    for i in 0..300 {
        let lon = -10.0 + (i % 30) as f64 * 0.7;
        let lat = 35.0 + (i / 30) as f64 * 1.3;
        args.extend([format!("{lon}"), format!("{lat}"), format!("p{i}")]);
    }
    m.cmd(&args);
    m.run("GEOADD places XX CH 1 1 p1");
    m.run("GEOSEARCHSTORE near places FROMMEMBER p10 BYRADIUS 300 km ASC COUNT 20 STOREDIST");
    m.run("GEORADIUS places 0 40 500 km STORE within");
    repl::wait_in_sync(master, &[replica], Duration::from_secs(60));
    for k in ["places", "near", "within"] {
        assert_eq!(
            m.cmd(&["ZRANGE", k, "0", "-1", "WITHSCORES"]).to_text(),
            r.cmd(&["ZRANGE", k, "0", "-1", "WITHSCORES"]).to_text(),
            "{k}"
        );
    }
    assert_eq!(
        r.run("GEORADIUS_RO places 0 40 500 km COUNT 3"),
        m.run("GEORADIUS_RO places 0 40 500 km COUNT 3")
    );
}

#[test]
fn geo_replicates_from_redis_to_ferrodis() {
    let master = TestServer::redis(&["--repl-diskless-sync-delay", "0"]);
    let port = master.port().to_string();
    let replica = TestServer::start(BIN, &["--replicaof", "127.0.0.1", &port]);
    geo_replicates(&master, &replica);
}

#[test]
fn geo_replicates_from_ferrodis_to_redis() {
    let master = TestServer::start(BIN, &["--repl-diskless-sync-delay", "0"]);
    let port = master.port().to_string();
    let replica = TestServer::redis(&["--replicaof", "127.0.0.1", &port]);
    geo_replicates(&master, &replica);
}
