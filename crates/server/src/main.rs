//! `ferrodis-server [configfile|-] [--directive value ...]`: see the library for everything.

use ferrodis_config::{Config, Invocation, USAGE};
use ferrodis_server::{logging, Server};
use std::sync::atomic::Ordering;

/// mimalloc, counting allocated bytes for `used_memory` and `maxmemory` (see `alloc.rs`).
#[global_allocator]
static GLOBAL: ferrodis_server::alloc::Counting = ferrodis_server::alloc::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_args(&args) {
        Ok(Invocation::Run(c)) => *c,
        Ok(Invocation::Version) => {
            println!(
                "ferrodis server v={} redis_compat={} bits=64",
                ferrodis_server::FERRODIS_VERSION,
                ferrodis_server::REDIS_VERSION
            );
            return;
        }
        Ok(Invocation::Help) => {
            eprint!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("\n{e}");
            std::process::exit(1);
        }
    };
    std::process::exit(run(config));
}

fn run(config: Config) -> i32 {
    // Like Redis, `dir` is the working directory: relative logfile, pidfile and dbfilename
    // paths resolve against it.
    if let Err(e) = std::env::set_current_dir(&config.dir) {
        eprintln!("Can't chdir to '{}': {e}", config.dir.display());
        return 1;
    }
    if config.daemonize {
        let d = daemonize::Daemonize::new().working_directory(&config.dir);
        if let Err(e) = d.start() {
            eprintln!("Can't daemonize: {e}");
            return 1;
        }
    }
    logging::set_replica_role(config.replicaof.is_some());
    if let Err(e) = logging::init(&config.logfile, config.loglevel) {
        eprintln!("{e}");
        return 1;
    }
    tracing::info!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "ferrodis version={} (Redis {} compatible), bits=64, pid={}, just started",
        ferrodis_server::FERRODIS_VERSION,
        ferrodis_server::REDIS_VERSION,
        std::process::id()
    );
    if config.config_file.is_none() {
        tracing::warn!("Warning: no config file specified, using the default config. In order to specify a config file use ferrodis-server /path/to/redis.conf");
    } else {
        tracing::info!("Configuration loaded");
    }
    let env_threads = std::env::var("FERRODIS_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    // `io-threads N` = N worker threads serving connections (default 1, as Redis's default;
    // each worker is a single-threaded event loop, so one worker costs no more CPU per request
    // than Redis; more workers add throughput when cores are free).
    let threads = env_threads.unwrap_or(config.io_threads.max(1) as usize);

    let pidfile = config.pidfile.clone().or_else(|| {
        config
            .daemonize
            .then(|| std::path::PathBuf::from("/var/run/redis.pid"))
    });
    // The main runtime accepts connections and runs background jobs; `threads` worker
    // threads, each with its own single-threaded runtime, serve the connections.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("Can't start the runtime: {e}");
            return 1;
        }
    };
    let server = Server::new(config);
    let mut worker_threads = Vec::new();
    let mut handles = Vec::new();
    for i in 0..threads {
        let (tx, rx) = std::sync::mpsc::channel();
        let s = server.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ferrodis-io-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("Can't start a worker runtime: {e}");
                        return;
                    }
                };
                let _ = tx.send(rt.handle().clone());
                let mut stop = s.shutdown.subscribe();
                rt.block_on(async move {
                    while !*stop.borrow() {
                        if stop.changed().await.is_err() {
                            break;
                        }
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_secs(1));
            });
        match spawned {
            Ok(t) => {
                worker_threads.push(t);
                if let Ok(h) = rx.recv() {
                    handles.push(h);
                }
            }
            Err(e) => tracing::warn!("Can't start worker thread {i}: {e}"),
        }
    }
    let _ = server.workers.set(handles);
    if let Some(p) = &pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file {}: {e}", p.display());
        }
    }
    let code = rt.block_on(async {
        let s2 = server.clone();
        tokio::spawn(async move { signals(s2).await });
        if let Err(e) = ferrodis_server::startup(&server) {
            tracing::error!("{e}");
            return 1;
        }
        match ferrodis_server::run(server.clone()).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!(
                    "Failed listening on port {} (tcp), aborting: {e}",
                    server.config.read().port
                );
                1
            }
        }
    });
    server.request_shutdown();
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    for t in worker_threads {
        let _ = t.join();
    }
    if let Some(p) = &pidfile {
        if code == 0 || server.shutdown.borrow().to_owned() {
            tracing::info!("Removing the pid file.");
        }
        let _ = std::fs::remove_file(p);
    }
    if code == 0 {
        tracing::info!("ferrodis is now ready to exit, bye bye...");
    }
    let _ = server.bound_port.load(Ordering::Relaxed);
    code
}

#[cfg(unix)]
async fn signals(server: std::sync::Arc<Server>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("Can't install signal handlers");
        return;
    };
    // As Redis's sigShutdownHandler: the handler only schedules the shutdown (the admin
    // cron runs it, waiting for lagging replicas per `shutdown-on-sig*`); a second SIGINT
    // while one is pending exits at once.
    loop {
        let (name, sig) = tokio::select! {
            _ = term.recv() => ("SIGTERM", ferrodis_server::replication::admin::SIG_TERM),
            _ = int.recv() => ("SIGINT", ferrodis_server::replication::admin::SIG_INT),
        };
        if !server.admin.signal(sig) {
            tracing::warn!("You insist... exiting now.");
            std::process::exit(1);
        }
        if server.loading.load(std::sync::atomic::Ordering::Acquire) {
            tracing::warn!("Received shutdown signal during loading, scheduling shutdown.");
        } else {
            tracing::warn!("Received {name} scheduling shutdown...");
        }
    }
}

#[cfg(not(unix))]
async fn signals(server: std::sync::Arc<Server>) {
    let _ = tokio::signal::ctrl_c().await;
    server.request_shutdown();
}
