//! Property tests: random datasets survive write + read unchanged, and corrupted or
//! truncated files give errors with offsets, never panics.

// Test helpers unwrap freely, as #[test] functions may.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;

use ferrodis_rdb::{
    read_all, Consumer, ConsumerGroup, Entry, ErrorKind, Item, PendingEntry, Reader, Stream,
    StreamEntry, StreamId, Value, WriteOptions, Writer,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..40),
        any::<i64>().prop_map(|i| i.to_string().into_bytes()),
        (-200i64..200).prop_map(|i| i.to_string().into_bytes()),
        (any::<u8>(), 21usize..3000).prop_map(|(b, n)| vec![b; n]),
        vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'0')], 0..200),
        Just(b"007".to_vec()),
        Just(b"-0".to_vec()),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (-1000i32..1000).prop_map(f64::from)
    ]
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        vec((0u64..5, vec((bytes(), bytes()), 1..4)), 0..150),
        any::<u64>(),
        vec((bytes(), any::<bool>(), 0usize..5), 0..3),
    )
        .prop_map(|(raw, entries_added, groups)| {
            let mut id = StreamId::new(1_600_000_000_000, 0);
            let mut entries = Vec::new();
            for (step, fields) in raw {
                id = if step == 0 {
                    StreamId::new(id.ms, id.seq + 1)
                } else {
                    StreamId::new(id.ms + step, 0)
                };
                entries.push(StreamEntry { id, fields });
            }
            let mut names = std::collections::BTreeSet::new();
            let groups = groups
                .into_iter()
                .filter(|(n, _, _)| names.insert(n.clone()))
                .map(|(name, known, npel)| {
                    let pel: Vec<PendingEntry> = entries
                        .iter()
                        .take(npel)
                        .map(|e| PendingEntry {
                            id: e.id,
                            delivery_time_ms: e.id.ms as i64,
                            delivery_count: 1,
                        })
                        .collect();
                    let consumers = vec![
                        Consumer {
                            name: b"c1".to_vec(),
                            seen_time_ms: 5,
                            active_time_ms: None,
                            pending: pel.iter().step_by(2).map(|p| p.id).collect(),
                        },
                        Consumer {
                            name: b"c2".to_vec(),
                            seen_time_ms: 6,
                            active_time_ms: None,
                            pending: pel.iter().skip(1).step_by(2).map(|p| p.id).collect(),
                        },
                    ];
                    ConsumerGroup {
                        name,
                        last_id: id,
                        entries_read: known.then_some(entries.len() as u64),
                        pel,
                        consumers,
                    }
                })
                .collect();
            Stream {
                length: entries.len() as u64,
                first_id: entries.first().map(|e| e.id).unwrap_or_default(),
                last_id: id,
                max_deleted_id: StreamId::new(0, 0),
                entries_added,
                entries,
                groups,
                nodes: Vec::new(),
            }
        })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        bytes().prop_map(Value::String),
        vec(bytes(), 0..30).prop_map(Value::List),
        btree_set(bytes(), 0..30).prop_map(|s| Value::Set(s.into_iter().collect())),
        btree_map(bytes(), bytes(), 0..30).prop_map(|m| Value::Hash(m.into_iter().collect())),
        btree_map(bytes(), score(), 0..30).prop_map(|m| Value::ZSet(m.into_iter().collect())),
        stream().prop_map(|s| Value::Stream(Box::new(s))),
    ]
}

fn entry() -> impl Strategy<Value = (Vec<u8>, Value, Option<i64>, Option<u64>, Option<u8>)> {
    (
        bytes(),
        value(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u8>()),
    )
}

fn dataset() -> impl Strategy<Value = Vec<Item>> {
    (
        vec((bytes(), bytes()), 0..3),
        vec(bytes(), 0..2),
        vec((0u64..20_000, vec(entry(), 0..6), any::<bool>()), 0..4),
    )
        .prop_map(|(aux, funcs, dbs)| {
            let mut items: Vec<Item> = aux
                .into_iter()
                .map(|(key, value)| Item::Aux { key, value })
                .collect();
            items.extend(funcs.into_iter().map(Item::Function));
            for (db, entries, resize) in dbs {
                items.push(Item::SelectDb(db));
                if resize {
                    items.push(Item::ResizeDb {
                        db_size: entries.len() as u64,
                        expires_size: db * 1_000_000_007,
                    });
                }
                for (key, value, expire_ms, idle, freq) in entries {
                    items.push(Item::Entry(Entry {
                        key,
                        value,
                        expire_ms,
                        idle,
                        freq,
                    }));
                }
            }
            items.push(Item::End);
            items
        })
}

fn write(items: &[Item], opts: WriteOptions) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), opts).unwrap();
    for it in items {
        match it {
            Item::Aux { key, value } => w.aux(key, value).unwrap(),
            Item::SelectDb(db) => w.select_db(*db).unwrap(),
            Item::ResizeDb {
                db_size,
                expires_size,
            } => w.resize_db(*db_size, *expires_size).unwrap(),
            Item::Function(f) => w.function(f).unwrap(),
            Item::Entry(e) => w.write_entry(e).unwrap(),
            Item::End => {}
        }
    }
    let n = w.bytes_written();
    let out = w.finish().unwrap();
    assert_eq!(out.len() as u64, n + 9);
    out
}

/// A reader source that hands out one byte per `read` call.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[0];
        self.0 = &self.0[1..];
        Ok(1)
    }
}

/// A fixed file containing every value type, for the corruption tests.
fn sample_file() -> Vec<u8> {
    static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    FILE.get_or_init(build_sample_file).clone()
}

fn build_sample_file() -> Vec<u8> {
    let mut items = vec![
        Item::Aux {
            key: b"redis-ver".to_vec(),
            value: b"7.0.15".to_vec(),
        },
        Item::Function(common::LIBRARY.as_bytes().to_vec()),
    ];
    let mut db = u64::MAX;
    for (d, mut e) in common::sample_dataset() {
        if d != db {
            items.push(Item::SelectDb(d));
            db = d;
        }
        e.idle = Some(7);
        if let Value::String(s) = &mut e.value {
            s.truncate(300);
        }
        if let Value::List(l) = &mut e.value {
            l.truncate(20);
            for x in l.iter_mut() {
                x.truncate(300);
            }
        }
        items.push(Item::Entry(e));
    }
    items.push(Item::End);
    write(&items, WriteOptions::default())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_is_identity(items in dataset(), compress in any::<bool>(), checksum in any::<bool>()) {
        let file = write(&items, WriteOptions { compress, checksum });
        let back = read_all(&file).unwrap();
        prop_assert_eq!(&back, &items);
        // The streaming reader over a byte-at-a-time source agrees and stops exactly at the end.
        let mut r = Reader::new(Trickle(&file)).unwrap();
        let mut n = 0;
        while r.next_item().unwrap() != Item::End { n += 1; }
        prop_assert_eq!(n + 1, items.len());
        prop_assert_eq!(r.offset(), file.len() as u64);
    }

    #[test]
    fn truncated_files_are_errors(cut in 0usize..10_000) {
        let file = sample_file();
        let cut = cut % file.len();
        let err = read_all(&file[..cut]).unwrap_err();
        prop_assert!(err.offset <= cut as u64, "offset {} beyond cut {}", err.offset, cut);
        let shown = format!("at offset {}", err.offset);
        prop_assert!(err.to_string().contains(&shown), "{}", err);
    }

    #[test]
    fn flipped_bytes_are_errors(flips in vec((any::<usize>(), 1u8..=255), 1..4)) {
        let mut file = sample_file();
        for (pos, x) in &flips {
            let n = file.len();
            file[pos % n] ^= x;
        }
        // Every byte is covered by the CRC (or is the CRC), and the version digits only
        // move to unsupported versions, so a single flip is always detected. More flips
        // must simply never panic.
        match read_all(&file) {
            Ok(_) => prop_assert!(flips.len() > 1, "single flip not detected"),
            Err(e) => prop_assert!(e.offset <= file.len() as u64),
        }
    }

    #[test]
    fn garbage_after_header_never_panics(body in vec(any::<u8>(), 0..400), version in 1u32..=10) {
        let mut file = format!("REDIS{version:04}").into_bytes();
        file.extend_from_slice(&body);
        let _ = read_all(&file);
        let _ = ferrodis_rdb::parse_dump_payload(&body);
    }
}

#[test]
fn sample_file_reads_and_single_flips_at_every_position_fail() {
    let file = sample_file();
    assert!(read_all(&file).is_ok());
    let step = (file.len() / 600).max(1);
    for pos in (0..file.len()).step_by(step) {
        let mut f = file.clone();
        f[pos] ^= 0x5a;
        let err = read_all(&f).expect_err("flip must be detected");
        assert!(err.offset <= f.len() as u64);
    }
}

#[test]
fn checksum_mismatch_and_version_errors() {
    let mut file = sample_file();
    let n = file.len();
    file[n - 1] ^= 1;
    let err = read_all(&file).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.offset, n as u64 - 8);
    let err = read_all(b"REDIS0011\xff").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::UnsupportedVersion(11)));
    assert!(err.to_string().contains("11"), "{err}");
    assert!(matches!(
        read_all(b"RUDIS0010").unwrap_err().kind,
        ErrorKind::BadMagic
    ));
    assert!(matches!(
        read_all(b"REDIS0010\xf7").unwrap_err().kind,
        ErrorKind::Module(_)
    ));
    assert!(matches!(
        read_all(b"REDIS0010\x07\x01k").unwrap_err().kind,
        ErrorKind::Module(_)
    ));
    assert!(matches!(
        read_all(b"REDIS0010\x16\x01k").unwrap_err().kind,
        ErrorKind::UnknownType(22)
    ));
    let e = read_all(b"REDIS0010\x00\x05ab").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unexpected end of RDB data at offset 13: expected key"
    );
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    // A 64-bit string length, a list of 2^60 elements, an LZF string claiming 2^40 bytes.
    for f in [
        &b"REDIS0010\x00\x81\x10\x00\x00\x00\x00\x00\x00\x00"[..],
        b"REDIS0010\x01\x01k\x81\x10\x00\x00\x00\x00\x00\x00\x00\x01a",
        b"REDIS0010\x00\x01k\xc3\x05\x81\x00\x00\x01\x00\x00\x00\x00\x00abcde",
        b"REDIS0010\x13\x01k\x81\x10\x00\x00\x00\x00\x00\x00\x00",
    ] {
        assert!(read_all(f).is_err());
    }
}
