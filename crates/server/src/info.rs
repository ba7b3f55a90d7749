//! INFO: renders the sections with Redis 7.0's field names.

use crate::stats::Stats;
use crate::Server;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

/// Calls the given closure with every shard, in index order (see [`render_with`]).
pub type ShardVisit<'v> = &'v mut dyn FnMut(&mut dyn FnMut(&crate::keyspace::Shard));

/// Renders INFO for the requested sections (empty = default), locking each shard in turn
/// for the keyspace figures. A caller that already holds shard locks (INFO inside EXEC or a
/// script) must use [`render_with`]: the mutexes are not reentrant.
pub fn render(server: &Server, sections: &[String]) -> String {
    render_with(server, sections, &mut |f| {
        for i in 0..crate::keyspace::SHARDS {
            f(&server.keyspace.lock(i));
        }
    })
}

/// [`render`] with the caller's way of reaching every shard.
pub fn render_with(server: &Server, sections: &[String], shards: ShardVisit<'_>) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    if sections.is_empty() {
        wanted.extend(DEFAULT);
    }
    for s in sections {
        match s.as_str() {
            "default" => wanted.extend(DEFAULT),
            "all" | "everything" => {
                wanted.extend(DEFAULT);
                wanted.extend(ALL_EXTRA);
            }
            other => wanted.push(other),
        }
    }
    let mut out = String::new();
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "cluster",
        "keyspace",
    ];
    for name in order {
        if !wanted.contains(&name) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(server, name, &mut out, &mut *shards);
    }
    out
}

/// Resident set size in bytes, from /proc.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// (user, system) CPU seconds of this process.
pub fn cpu_times() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0;
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (get(11), get(12))
}

/// Bytes as Redis's "human" form (`1.50M`).
pub fn human(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    }
}

fn section(server: &Server, name: &str, out: &mut String, shards: ShardVisit<'_>) {
    let cfg = server.config.read();
    let st = &server.stats;
    let uptime = server.started.elapsed().as_secs();
    match name {
        "server" => {
            let _ = write!(
                out,
                "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n{}ferrodis_version:{}\r\n",
                crate::REDIS_VERSION,
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                server.run_id,
                server.bound_port.load(Ordering::Relaxed),
                crate::util::now_us(),
                uptime,
                uptime / 86400,
                cfg.hz,
                cfg.hz,
                crate::keyspace::access::lru_clock(),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                server.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                crate::replication::admin::info_shutdown_line(server),
                crate::FERRODIS_VERSION,
            );
        }
        "clients" => {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                server
                    .clients
                    .count()
                    .saturating_sub(server.repl_master.count()),
                cfg.maxclients,
                server.blocking.blocked_clients()
                    + crate::replication::admin::blocked_clients(server),
            );
        }
        "memory" => {
            let rss = rss_bytes();
            let used = crate::alloc::allocated() as u64;
            let peak = (crate::alloc::peak() as u64).max(used);
            let total = std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("MemTotal:"))
                        .and_then(|l| {
                            l.split_whitespace()
                                .nth(1)
                                .and_then(|v| v.parse::<u64>().ok())
                        })
                })
                .unwrap_or(0)
                * 1024;
            let startup = server.startup_memory as u64;
            let backlog = server.log.lock().len() as u64;
            // Overhead as Redis counts it: start-up memory, the backlog, and the keyspace's
            // own structures (tables and indexes); the dataset is the rest.
            let mut tables: u64 = 0;
            shards(&mut |g| {
                tables += g.dbs.iter().map(|t| t.overhead_bytes() as u64).sum::<u64>();
            });
            let overhead = (startup + backlog + tables).min(used);
            let dataset = used - overhead;
            let pct = |a: u64, b: u64| {
                if b == 0 {
                    0.0
                } else {
                    a as f64 * 100.0 / b as f64
                }
            };
            let frag = if used == 0 {
                0.0
            } else {
                rss as f64 / used as f64
            };
            let lua = server.scripts.lua_memory() as u64;
            let lua_h = human(lua);
            let scripts_b = server.scripts.body_bytes() as u64;
            let scripts_h = human(scripts_b);
            let scripts_n = server.scripts.count();
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{lua_h}\r\nused_memory_scripts_eval:{scripts_b}\r\nnumber_of_cached_scripts:{scripts_n}\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{lua_h}\r\nused_memory_functions:0\r\nused_memory_scripts:{scripts_b}\r\nused_memory_scripts_human:{scripts_h}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:{backlog}\r\nmem_total_replication_buffers:{backlog}\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:mimalloc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                human(used),
                human(rss),
                human(peak),
                pct(used, peak),
                pct(dataset, used.saturating_sub(startup)),
                human(total),
                cfg.maxmemory,
                human(cfg.maxmemory),
                cfg.maxmemory_policy.as_str(),
                rss as i64 - used as i64,
            );
        }
        "persistence" => {
            let _ = write!(
                out,
                "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                server.loading.load(Ordering::Relaxed) as u8,
                server.dirty.load(Ordering::Relaxed),
                server.persist.bgsave_in_progress.load(Ordering::Relaxed) as u8,
                server.lastsave.load(Ordering::Relaxed),
                if server.persist.last_bgsave_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
                server.persist.last_bgsave_secs.load(Ordering::Relaxed),
                match server.persist.bgsave_started.load(Ordering::Relaxed) {
                    0 => -1,
                    t => crate::util::now_ms() / 1000 - t,
                },
                server.persist.saves.load(Ordering::Relaxed),
                server.persist.last_load_expired.load(Ordering::Relaxed),
                server.persist.last_load_keys.load(Ordering::Relaxed),
            );
        }
        "stats" => {
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:{}\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                Stats::get(&st.connections),
                Stats::get(&st.commands),
                Stats::get(&st.net_input_bytes),
                Stats::get(&st.net_output_bytes),
                server.repl_master.output_bytes(),
                Stats::get(&st.rejected_connections),
                Stats::get(&server.repl_master.sync_full),
                Stats::get(&server.repl_master.sync_partial_ok),
                Stats::get(&server.repl_master.sync_partial_err),
                Stats::get(&st.expired_keys),
                Stats::get(&st.evicted_keys),
                Stats::get(&st.hits),
                Stats::get(&st.misses),
                server.pubsub.channel_count(),
                server.pubsub.pattern_count(),
                Stats::get(&st.error_replies),
            );
        }
        "replication" => {
            let (replid, replid2, second) = server.replids.lock().clone();
            let (offset, start, len, cap, active) = {
                let l = server.log.lock();
                (l.end(), l.start(), l.len(), l.capacity(), l.active())
            };
            out.push_str("# Replication\r\n");
            match &cfg.replicaof {
                // The role:slave block belongs to the replica side.
                Some(_) => crate::replication::replica::info_block(server, &cfg, out),
                None => out.push_str("role:master\r\n"),
            }
            crate::replication::master::info_lines(server, out);
            let _ = write!(
                out,
                "master_failover_state:{}\r\nmaster_replid:{replid}\r\nmaster_replid2:{replid2}\r\nmaster_repl_offset:{offset}\r\nsecond_repl_offset:{second}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{cap}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{len}\r\n",
                crate::replication::admin::failover_state_name(server),
                active as u8,
                // Redis reports 0 while no backlog exists.
                if active { start + 1 } else { 0 },
            );
        }
        "cpu" => {
            let (u, s) = cpu_times();
            let _ = write!(
                out,
                "# CPU\r\nused_cpu_sys:{s:.6}\r\nused_cpu_user:{u:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{s:.6}\r\nused_cpu_user_main_thread:{u:.6}\r\n"
            );
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for (name, calls, usec, rejected, failed) in crate::dispatch::command_stats() {
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    out,
                    "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n"
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            let errs = server.errors.lock();
            let mut v: Vec<_> = errs.iter().collect();
            v.sort();
            for (k, n) in v {
                let _ = write!(out, "errorstat_{k}:count={n}\r\n");
            }
        }
        "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            let dbs = server.keyspace.databases();
            let mut keys = vec![0usize; dbs];
            let mut expires = vec![0usize; dbs];
            shards(&mut |g| {
                for (db, t) in g.dbs.iter().enumerate() {
                    keys[db] += t.len();
                    expires[db] += t.expires();
                }
            });
            for db in 0..dbs {
                if keys[db] > 0 {
                    let _ = write!(
                        out,
                        "db{db}:keys={},expires={},avg_ttl=0\r\n",
                        keys[db], expires[db]
                    );
                }
            }
        }
        _ => {}
    }
}
