//! Loading an RDB stream into the keyspace (start-up, DEBUG RELOAD, and later full syncs).

use crate::keyspace::types::{Hash, List, Set, ZSet};
use crate::keyspace::{Entry, SmallBytes, Value};
use crate::Server;
use bytes::Bytes;
use ferrodis_rdb::{Item, Reader};
use std::io::Read;
use std::sync::atomic::Ordering;

/// What a load found.
#[derive(Debug, Default, Clone)]
pub struct LoadInfo {
    /// Keys loaded.
    pub keys: u64,
    /// Keys skipped because they had expired (masters only).
    pub expired: u64,
    /// `repl-id` AUX field, if any.
    pub replid: Option<String>,
    /// `repl-offset` AUX field, if any.
    pub repl_offset: Option<i64>,
    /// `repl-stream-db` AUX field, if any.
    pub repl_stream_db: Option<usize>,
}

/// Converts a decoded RDB value into the keyspace's representation. `None` for empty
/// collections (Redis skips them).
pub fn convert(v: ferrodis_rdb::Value, cfg: &ferrodis_config::Config) -> Option<Value> {
    use crate::keyspace::types::Limits;
    use ferrodis_rdb::Value as R;
    Some(match v {
        R::String(s) => Value::Str(SmallBytes::from_vec(s)),
        R::List(items) if items.is_empty() => return None,
        R::List(items) => Value::List(Box::new(List::from_items(items))),
        R::Set(m) if m.is_empty() => return None,
        R::Set(m) => Value::Set(Box::new(Set::from_members_with(m, &Limits::set(cfg)))),
        R::Hash(p) if p.is_empty() => return None,
        R::Hash(p) => Value::Hash(Box::new(Hash::from_pairs_with(p, &Limits::hash(cfg)))),
        R::ZSet(p) if p.is_empty() => return None,
        R::ZSet(p) => Value::ZSet(Box::new(ZSet::from_pairs_with(p, &Limits::zset(cfg)))),
        R::Stream(s) => Value::Stream(s),
    })
}

/// Reads a whole RDB stream into the (normally empty) keyspace. Errors name the byte offset.
pub fn load_from<R: Read>(server: &Server, input: R) -> Result<LoadInfo, String> {
    load_inner(server, input, false)
}

/// Like [`load_from`]; with `feed_repl` (a master loading at start-up, Redis's
/// `RDBFLAGS_FEED_REPL`) every key skipped because it expired is logged as `DEL`, so
/// replicas that continue the saved history by partial resync drop it too.
fn load_inner<R: Read>(server: &Server, input: R, feed_repl: bool) -> Result<LoadInfo, String> {
    let mut reader = Reader::new(input).map_err(|e| e.to_string())?;
    let is_replica = server.is_replica();
    let dbs = server.keyspace.databases() as u64;
    let now = crate::util::now_ms();
    let mut db = 0u64;
    let mut info = LoadInfo::default();
    let cfg = server.config.read().clone();
    // `key-load-delay` (tests): a slow load, to observe LOADING and interrupted transfers.
    let mut delay = super::delay::KeyDelay::from_config(server, "key-load-delay");
    loop {
        let item = reader.next_item().map_err(|e| e.to_string())?;
        match item {
            Item::End => break,
            Item::SelectDb(n) => {
                if n >= dbs {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {dbs} databases. Exiting"
                    ));
                }
                db = n;
            }
            Item::Aux { key, value } => match key.as_slice() {
                b"repl-id" => info.replid = Some(String::from_utf8_lossy(&value).into_owned()),
                b"repl-stream-db" => {
                    info.repl_stream_db = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .filter(|&d: &usize| (d as u64) < dbs)
                }
                b"repl-offset" => {
                    info.repl_offset = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                }
                _ => {}
            },
            Item::ResizeDb { .. } | Item::Function(_) => {}
            Item::Entry(e) => {
                if let Some(d) = delay.as_mut() {
                    d.keys(1, || *server.shutdown.borrow());
                }
                // Every 1024 keys: give up if the server is shutting down (SHUTDOWN or a
                // signal during a long load).
                if (delay.is_some() || info.keys % 1024 == 1023) && *server.shutdown.borrow() {
                    return Err("loading interrupted by shutdown".to_string());
                }
                let expire_at = e.expire_ms.unwrap_or(0);
                if expire_at != 0 && expire_at <= now && !is_replica {
                    info.expired += 1;
                    if feed_repl {
                        let argv = vec![Bytes::from_static(b"DEL"), Bytes::from(e.key)];
                        server.log.append(&[(db as usize, argv)], false);
                    }
                    continue;
                }
                let Some(value) = convert(e.value, &cfg) else {
                    continue;
                };
                let shard = server.keyspace.shard_of(&e.key);
                let mut g = server.keyspace.lock(shard);
                let access = crate::keyspace::access::from_rdb(e.idle, e.freq);
                g.dbs[db as usize].insert(Entry {
                    key: SmallBytes::from_vec(e.key),
                    value,
                    expire_at,
                    access,
                });
                info.keys += 1;
            }
        }
    }
    server
        .persist
        .last_load_keys
        .store(info.keys, Ordering::Relaxed);
    server
        .persist
        .last_load_expired
        .store(info.expired, Ordering::Relaxed);
    Ok(info)
}

/// Loads `path` if it exists. `Ok(None)` when there is no file.
pub fn load_file(server: &Server, path: &std::path::Path) -> Result<Option<LoadInfo>, String> {
    load_file_with(server, path, false)
}

/// [`load_file`] at start-up: a master logs DELs for the keys that expired (see
/// [`load_inner`]).
pub fn load_file_at_startup(
    server: &Server,
    path: &std::path::Path,
) -> Result<Option<LoadInfo>, String> {
    load_file_with(server, path, !server.is_replica())
}

fn load_file_with(
    server: &Server,
    path: &std::path::Path,
    feed_repl: bool,
) -> Result<Option<LoadInfo>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let r = std::io::BufReader::with_capacity(1 << 20, f);
    load_inner(server, r, feed_repl).map(Some)
}
