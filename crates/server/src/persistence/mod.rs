//! Persistence: RDB snapshots without fork (`snapshot.rs`), loading at start-up (`load.rs`),
//! and the save triggers (SAVE, BGSAVE, save points, shutdown, DEBUG RELOAD, FLUSHALL).
//!
//! Files are written to `temp-<pid>.rdb` in `dir`, fsynced, renamed over `dbfilename`, and the
//! directory is fsynced, so a crash at any moment leaves either the old dump or the new one.

pub mod delay;
pub mod load;
pub mod snapshot;

use crate::Server;
use ferrodis_rdb::WriteOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

pub use snapshot::Snapshots;

/// Persistence state for INFO persistence and the save triggers.
#[derive(Default)]
pub struct PersistState {
    /// A background save is running.
    pub bgsave_in_progress: AtomicBool,
    /// A BGSAVE SCHEDULE is pending.
    pub bgsave_scheduled: AtomicBool,
    /// Last background save succeeded (starts true, as Redis).
    pub last_bgsave_ok: AtomicBool,
    /// Duration of the last background save in seconds (-1 before the first).
    pub last_bgsave_secs: AtomicI64,
    /// Start of the running background save (Unix seconds), 0 when none.
    pub bgsave_started: AtomicI64,
    /// Unix seconds of the last failed attempt (save points retry after 5 s).
    pub last_bgsave_try: AtomicI64,
    /// Number of successful saves.
    pub saves: AtomicU64,
    /// Keys loaded / expired-and-skipped by the last load.
    pub last_load_keys: AtomicU64,
    /// See `last_load_keys`.
    pub last_load_expired: AtomicU64,
    /// Bumped by FLUSHALL: a snapshot started under an older generation is discarded
    /// instead of being renamed over the (newer, empty) dump, as Redis kills its child.
    pub abort_generation: AtomicU64,
    /// Held while checking `abort_generation` and renaming a temp file over the dump.
    pub rename_lock: parking_lot::Mutex<()>,
}

/// The dump file path (`dir` is the working directory, as in Redis).
pub fn dump_path(server: &Server) -> PathBuf {
    PathBuf::from(&server.config.read().dbfilename)
}

fn write_options(server: &Server) -> WriteOptions {
    let c = server.config.read();
    WriteOptions {
        compress: c.rdbcompression,
        checksum: c.rdbchecksum,
    }
}

/// Saves the dataset to `path` atomically (temp file, fsync, rename, fsync dir). Runs in the
/// calling thread; clients keep being served (only a brief barrier stops writers).
pub fn save_to_file(server: &Server, path: &Path) -> std::io::Result<()> {
    save_to_file_notify(server, path, || {})
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Writes `tmp` (via `fill`), fsyncs it, and renames it over `path` unless the abort
/// generation moved away from `generation` (then the temp file is removed).
fn commit_file(
    path: &Path,
    tmp: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
    still_valid: impl FnOnce() -> bool,
    rename_lock: &parking_lot::Mutex<()>,
) -> std::io::Result<()> {
    let f = std::fs::File::create(tmp)?;
    let mut bw = std::io::BufWriter::with_capacity(1 << 20, f);
    fill(&mut bw)?;
    bw.flush()?;
    let f = bw.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    drop(f);
    {
        let _g = rename_lock.lock();
        if !still_valid() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "snapshot aborted (FLUSHALL)",
            ));
        }
        std::fs::rename(tmp, path)?;
    }
    if let Ok(d) = std::fs::File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// [`save_to_file`], calling `on_barrier` once the snapshot's point in time is fixed.
pub fn save_to_file_notify(
    server: &Server,
    path: &Path,
    on_barrier: impl FnOnce(),
) -> std::io::Result<()> {
    let tmp = dir_of(path).join(format!("temp-{}.rdb", std::process::id()));
    let info = std::cell::RefCell::new(None);
    let result = commit_file(
        path,
        &tmp,
        |bw| {
            *info.borrow_mut() = Some(snapshot::snapshot_to_notify(
                server,
                bw,
                write_options(server),
                on_barrier,
            )?);
            Ok(())
        },
        || {
            server.persist.abort_generation.load(Ordering::Acquire)
                == info.borrow().as_ref().map_or(u64::MAX, |i| i.generation)
        },
        &server.persist.rename_lock,
    );
    let dirty_before = info.borrow().as_ref().map_or(0, |i| i.dirty);
    match &result {
        Ok(()) => {
            // Changes made while saving stay counted (Redis: dirty -= dirty_before_bgsave).
            let _ = server
                .dirty
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                    Some(d.saturating_sub(dirty_before))
                });
            server
                .lastsave
                .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
            server.persist.saves.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            tracing::warn!("Background saving aborted: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
        Err(e) => {
            tracing::warn!("Failed saving the DB: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
    }
    result
}

/// FLUSHALL with save points: called with every shard locked and empty. Aborts a running
/// snapshot (Redis kills its child with SIGUSR1, which is not an error) and writes an empty
/// dump. The dirty counter is left alone (Redis restores it around this save).
pub fn save_empty_after_flushall(server: &Server) -> std::io::Result<()> {
    server
        .persist
        .abort_generation
        .fetch_add(1, Ordering::AcqRel);
    let path = dump_path(server);
    // A different temp name than a running background save's.
    let tmp = dir_of(&path).join(format!("temp-flushall-{}.rdb", std::process::id()));
    let opts = write_options(server);
    let replid = server.replids.lock().0.clone();
    let offset = server.log.offset();
    let result = commit_file(
        &path,
        &tmp,
        |bw| {
            let mut w = ferrodis_rdb::Writer::new(bw, opts)?;
            let db = crate::replication::replica::stream_db(server);
            snapshot::write_aux(&mut w, &replid, offset, db)?;
            w.finish()?;
            Ok(())
        },
        || true,
        &server.persist.rename_lock,
    );
    match &result {
        Ok(()) => {
            server
                .lastsave
                .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
            // As rdbSave; Redis 7.0 does not count this save in rdb_saves.
            server.persist.last_bgsave_ok.store(true, Ordering::Relaxed);
            tracing::info!("DB saved on disk");
        }
        Err(e) => {
            tracing::warn!("Failed saving the DB: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
    }
    result
}

/// SAVE: a foreground save. Errors when a background save is running.
pub fn save(server: &Server) -> Result<(), String> {
    if server.persist.bgsave_in_progress.load(Ordering::Acquire) {
        return Err("ERR Background save already in progress".into());
    }
    let path = dump_path(server);
    match save_to_file(server, &path) {
        Ok(()) => {
            tracing::info!("DB saved on disk");
            Ok(())
        }
        Err(e) => Err(format!("ERR {e}")),
    }
}

/// BGSAVE: starts a background save. `Err` when one is already running.
pub fn bgsave(server: &Arc<Server>) -> Result<(), &'static str> {
    if server
        .persist
        .bgsave_in_progress
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err("ERR Background save already in progress");
    }
    let started = crate::util::now_ms();
    server
        .persist
        .bgsave_started
        .store(started / 1000, Ordering::Relaxed);
    tracing::info!("Background saving started");
    let s = server.clone();
    let (barrier_tx, barrier_rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("ferrodis-bgsave".into())
        .spawn(move || {
            let path = dump_path(&s);
            let res = save_to_file_notify(&s, &path, move || {
                let _ = barrier_tx.send(());
            });
            let secs = (crate::util::now_ms() - started) / 1000;
            s.persist.last_bgsave_secs.store(secs, Ordering::Relaxed);
            let aborted = matches!(&res, Err(e) if e.kind() == std::io::ErrorKind::Interrupted);
            if !aborted {
                s.persist
                    .last_bgsave_ok
                    .store(res.is_ok(), Ordering::Relaxed);
            }
            s.persist.bgsave_started.store(0, Ordering::Relaxed);
            if res.is_ok() {
                tracing::info!("Background saving terminated with success");
            } else if aborted {
                tracing::warn!("Background saving terminated by FLUSHALL");
            } else {
                s.persist
                    .last_bgsave_try
                    .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
                tracing::warn!("Background saving error");
            }
            s.persist.bgsave_in_progress.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        server
            .persist
            .bgsave_in_progress
            .store(false, Ordering::Release);
        return Err("ERR could not start a background save thread");
    }
    // Reply only once the point in time is fixed (an error before it drops the sender).
    let _ = barrier_rx.recv();
    Ok(())
}

/// Periodic job: save points and scheduled BGSAVEs. Runs until shutdown.
pub async fn cron(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
        if server.loading.load(Ordering::Relaxed)
            || server.persist.bgsave_in_progress.load(Ordering::Relaxed)
        {
            continue;
        }
        if server
            .persist
            .bgsave_scheduled
            .swap(false, Ordering::AcqRel)
        {
            let _ = bgsave(&server);
            continue;
        }
        let now = crate::util::now_ms() / 1000;
        let dirty = server.dirty.load(Ordering::Relaxed);
        let last = server.lastsave.load(Ordering::Relaxed);
        let ok = server.persist.last_bgsave_ok.load(Ordering::Relaxed);
        let last_try = server.persist.last_bgsave_try.load(Ordering::Relaxed);
        let points = server.config.read().save.clone();
        for p in points {
            if dirty >= p.changes && now - last > p.seconds as i64 && (ok || now - last_try > 5) {
                tracing::info!("{} changes in {} seconds. Saving...", p.changes, p.seconds);
                let _ = bgsave(&server);
                break;
            }
        }
    }
}

/// True when writes must be refused because the last background save failed
/// (`stop-writes-on-bgsave-error` with save points configured).
pub fn writes_refused(server: &Server) -> bool {
    if server.persist.last_bgsave_ok.load(Ordering::Relaxed) {
        return false;
    }
    let c = server.config.read();
    c.stop_writes_on_bgsave_error && !c.save.is_empty()
}
