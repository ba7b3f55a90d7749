//! Networking: the listener, one task per connection, and server start-up/shutdown.
//!
//! A connection task owns its read and write buffers. Each wake-up it reads what the socket
//! has, runs every complete command in the buffer (pipelining), and writes all replies with
//! one write. Nothing is handed to another thread per command.

use crate::client::Client;
use crate::dispatch::{self, LocalStats};
use crate::stats::Stats;
use crate::Server;
use bytes::BytesMut;
use ferrodis_resp::{Limits, RequestParser};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Binds the configured addresses. `bind` entries prefixed with `-` are optional (Redis's
/// `-::*`): failing to bind them is not an error.
pub async fn bind_all(server: &Server) -> std::io::Result<Vec<TcpListener>> {
    let (binds, port) = {
        let c = server.config.read();
        (c.bind.clone(), c.port)
    };
    let mut out = Vec::new();
    let mut last_err = None;
    for b in binds {
        let (optional, addr) = match b.strip_prefix('-') {
            Some(a) => (true, a.to_string()),
            None => (false, b.clone()),
        };
        let host = match addr.as_str() {
            "*" => "0.0.0.0".to_string(),
            "::*" => "::".to_string(),
            a => a.to_string(),
        };
        let sa = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let sock: SocketAddr = match sa.parse() {
            Ok(s) => s,
            Err(_) => {
                if optional {
                    continue;
                }
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("Invalid bind address '{addr}'"),
                ));
            }
        };
        match bind_one(sock) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                tracing::debug!("optional bind {sa} failed: {e}");
            }
            Err(e) => {
                tracing::warn!("Warning: Could not create server TCP listening socket {sa}: {e}");
                last_err = Some(e);
            }
        }
    }
    if let Some(e) = last_err {
        return Err(e);
    }
    if out.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "no listening socket could be bound",
        ));
    }
    Ok(out)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(511)
}

/// Accepts connections on `listener` until shutdown.
pub async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    let mut shutdown = server.shutdown.subscribe();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((sock, peer)) => dispatch_connection(&server, sock, peer),
                Err(e) => {
                    tracing::warn!("Accepting client connection: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Hands a new connection to a worker thread (round robin), or serves it on the current
/// runtime when there are no workers. Each worker runs its own single-threaded runtime, so a
/// connection's task, its socket's readiness events and its wake-ups all stay on one thread:
/// no work stealing and no cross-thread wake-ups per request.
fn dispatch_connection(server: &Arc<Server>, sock: TcpStream, peer: SocketAddr) {
    let workers = server.workers.get().filter(|w| !w.is_empty());
    let server = server.clone();
    let Some(workers) = workers else {
        tokio::spawn(async move {
            handle_connection(server, sock, peer).await;
        });
        return;
    };
    let n = server.next_worker.fetch_add(1, Ordering::Relaxed) % workers.len();
    let std_sock = match sock.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("Accepting client connection: {e}");
            return;
        }
    };
    workers[n].spawn(async move {
        match TcpStream::from_std(std_sock) {
            Ok(sock) => handle_connection(server, sock, peer).await,
            Err(e) => tracing::warn!("Accepting client connection: {e}"),
        }
    });
}

fn is_loopback(peer: &SocketAddr) -> bool {
    match peer {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn fmt_addr(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => format!("{}:{}", v4, a.port()),
            None => format!("{}:{}", a.ip(), a.port()),
        },
    }
}

async fn handle_connection(server: Arc<Server>, mut sock: TcpStream, peer: SocketAddr) {
    let _ = sock.set_nodelay(true);
    Stats::add(&server.stats.connections, 1);
    let (maxclients, protected, keepalive) = {
        let c = server.config.read();
        (c.maxclients as usize, c.protected_mode, c.tcp_keepalive)
    };
    let _ = keepalive;
    let nopass = server.requirepass.read().is_none();
    if protected && nopass && !is_loopback(&peer) {
        let _ = sock.write_all(DENIED.as_bytes()).await;
        Stats::add(&server.stats.rejected_connections, 1);
        return;
    }
    if server.clients.count() >= maxclients {
        let _ = sock
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        Stats::add(&server.stats.rejected_connections, 1);
        return;
    }
    let laddr = sock.local_addr().map(|a| fmt_addr(&a)).unwrap_or_default();
    let fd = fd_of(&sock);
    let handle = server.clients.register(fmt_addr(&peer), laddr, fd);
    let mut client = Client::new(handle.clone(), nopass);
    let span = tracing::debug_span!("client", id = client.id, addr = %handle.addr);
    let _enter = span.enter();
    serve(&server, &mut client, &mut sock).await;
    crate::multi::discard(&server, &mut client);
    crate::pubsub::unsubscribe_all(&server, &mut client);
    server.clients.unregister(client.id);
    if client.monitor {
        server.monitors.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(unix)]
fn fd_of(sock: &TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    sock.as_raw_fd() as i64
}

#[cfg(not(unix))]
fn fd_of(_: &TcpStream) -> i64 {
    -1
}

/// The connection loop: read, run every complete command, write replies once.
async fn serve(server: &Arc<Server>, client: &mut Client, sock: &mut TcpStream) {
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    let mut parser = RequestParser::new();
    let mut args: Vec<bytes::Bytes> = Vec::with_capacity(8);
    let clock = quanta::Clock::new();
    let shutdown = server.shutdown.subscribe();
    let mut monitor_rx: Option<tokio::sync::broadcast::Receiver<bytes::Bytes>> = None;
    let handle = client.handle.clone();
    // One long-lived wait for CLIENT KILL / shutdown (both go through `ClientHandle::kill`),
    // rather than a new registration per read. Idle timeouts are enforced by `idle_sweep`.
    let killed = handle.kill_notify.notified();
    tokio::pin!(killed);
    loop {
        if handle.killed.load(Ordering::Acquire) || *shutdown.borrow() {
            return;
        }
        let (max_bulk, qbuf_limit, slow_threshold) = {
            let c = server.config.read();
            (
                c.proto_max_bulk_len,
                c.client_query_buffer_limit,
                c.slowlog_log_slower_than,
            )
        };
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(16 * 1024);
        }
        let n = tokio::select! {
            r = sock.read_buf(&mut rbuf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = &mut killed => return,
            m = recv_monitor(&mut monitor_rx) => {
                if let Some(line) = m {
                    wbuf.extend_from_slice(b"+");
                    wbuf.extend_from_slice(&line);
                    wbuf.extend_from_slice(b"\r\n");
                    if sock.write_all(&wbuf).await.is_err() {
                        return;
                    }
                    wbuf.clear();
                }
                continue;
            }
            m = crate::pubsub::next_message(client) => {
                let mut m = m;
                while let Some(msg) = m {
                    msg.frame().encode(&mut wbuf, client.resp3);
                    m = crate::pubsub::try_next(client);
                }
                if sock.write_all(&wbuf).await.is_err() {
                    return;
                }
                wbuf.clear();
                continue;
            }
        };
        Stats::add(&server.stats.net_input_bytes, n as u64);
        let now = crate::util::now_ms();
        client.now_ms = now;
        handle.last_interaction_ms.store(now, Ordering::Relaxed);
        let limits = Limits {
            max_bulk_len: max_bulk,
            auth_required: !client.authenticated,
            from_master: client.is_master,
        };
        let mut stats = LocalStats::default();
        let mut close = false;
        let mut t_start = clock.raw();
        loop {
            match parser.parse_into(&mut rbuf, &limits, &mut args) {
                Ok(true) => {
                    if args.is_empty() {
                        continue;
                    }
                    // SHUTDOWN or FAILOVER holds writes: one relaxed load when nothing does.
                    if server.admin.writes_paused()
                        && crate::replication::admin::postpone(client, &args)
                        && !crate::replication::admin::wait_unpaused(
                            server, client, sock, &mut wbuf,
                        )
                        .await
                    {
                        return;
                    }
                    dispatch::execute(server, client, &args, &mut wbuf, &mut stats);
                    if client.admin_wait.is_some()
                        && !crate::replication::admin::after_command(
                            server, client, sock, &mut wbuf,
                        )
                        .await
                    {
                        return;
                    }
                    if client.repl.as_ref().is_some_and(|r| r.action.is_some()) {
                        // PSYNC/SYNC (the connection becomes a replica link), WAIT, or a
                        // REPLCONF without reply.
                        let master = crate::replication::master::after_command(
                            server, client, sock, &mut rbuf, &mut wbuf,
                        );
                        if !master.await {
                            return;
                        }
                    }
                    if client.block.is_some() {
                        // A blocking command must wait: send what is pending, then park.
                        if !wbuf.is_empty() {
                            if sock.write_all(&wbuf).await.is_err() {
                                return;
                            }
                            wbuf.clear();
                        }
                        let parked = crate::blocking::park(
                            server, client, &args, sock, &mut rbuf, &mut wbuf, &mut stats,
                        );
                        if !parked.await {
                            return;
                        }
                    }
                    if let Some(job) = client.script_job.take() {
                        // EVAL runs on the script thread (scripting::defer); other clients
                        // of this thread keep being served (and get -BUSY if it is long).
                        if !wbuf.is_empty() {
                            if sock.write_all(&wbuf).await.is_err() {
                                return;
                            }
                            wbuf.clear();
                        }
                        crate::scripting::finish(server, client, job.await, &mut wbuf, &mut stats);
                    }
                    if slow_threshold >= 0 {
                        // One cheap (TSC) clock read per command: this command's end is the
                        // next one's start.
                        let end = clock.raw();
                        let us = clock.delta(t_start, end).as_micros() as u64;
                        t_start = end;
                        if us >= slow_threshold as u64 {
                            record_slow(server, client, &args, us);
                        }
                    }
                    if client.close_after_reply {
                        close = true;
                        break;
                    }
                    if client.monitor && monitor_rx.is_none() {
                        monitor_rx = Some(server.monitor_tx.subscribe());
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    tracing::debug!("Protocol error ({e}) from client: {}", handle.addr);
                    wbuf.extend_from_slice(format!("-ERR Protocol error: {e}\r\n").as_bytes());
                    stats.errors += 1;
                    server.note_error("ERR");
                    close = true;
                    break;
                }
            }
        }
        // Drop the last command's argument slices so the read buffer can be reused in place.
        args.clear();
        if !close && rbuf.len() as u64 > qbuf_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: {} (qbuf={})",
                handle.addr,
                rbuf.len()
            );
            return;
        }
        handle.qbuf.store(rbuf.len() as u64, Ordering::Relaxed);
        Stats::add(&server.stats.commands, stats.commands);
        Stats::add(&server.stats.hits, stats.hits);
        Stats::add(&server.stats.misses, stats.misses);
        if !wbuf.is_empty() {
            Stats::add(&server.stats.net_output_bytes, wbuf.len() as u64);
            if sock.write_all(&wbuf).await.is_err() {
                return;
            }
            wbuf.clear();
            if wbuf.capacity() > 1024 * 1024 {
                wbuf = BytesMut::with_capacity(16 * 1024);
            }
        }
        if close {
            let _ = sock.shutdown().await;
            return;
        }
    }
}

/// Closes clients idle for longer than `timeout` seconds, once a second (Redis's
/// clientsCron rule: masters, replicas, blocked, MONITOR and Pub/Sub clients are exempt).
/// Also closes every client at shutdown.
async fn idle_sweep(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {
                for h in server.clients.all() {
                    h.kill();
                }
                return;
            }
        }
        let timeout = server.config.read().timeout;
        if timeout == 0 {
            continue;
        }
        let now = crate::util::now_ms();
        for h in server.clients.all() {
            let exempt = {
                let f = h.flags.lock();
                f.contains(['M', 'S', 'O', 'P', 'b'])
            };
            let idle = now - h.last_interaction_ms.load(Ordering::Relaxed);
            if !exempt && idle > (timeout as i64) * 1000 {
                tracing::debug!("Closing idle client {}", h.addr);
                h.kill();
            }
        }
    }
}

async fn recv_monitor(
    rx: &mut Option<tokio::sync::broadcast::Receiver<bytes::Bytes>>,
) -> Option<bytes::Bytes> {
    match rx {
        Some(r) => match r.recv().await {
            Ok(b) => Some(b),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn record_slow(server: &Server, client: &Client, args: &[bytes::Bytes], us: u64) {
    let max_len = server.config.read().slowlog_max_len as usize;
    let name = client
        .handle
        .name
        .lock()
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    server
        .slowlog
        .lock()
        .push(args, us, client.handle.addr.clone(), name, max_len);
}

/// Starts the server: binds, spawns the accept loops and background jobs, and waits for
/// shutdown. Returns after connections were asked to close.
pub async fn run(server: Arc<Server>) -> std::io::Result<()> {
    let listeners = bind_all(&server).await?;
    if let Some(l) = listeners.first() {
        if let Ok(a) = l.local_addr() {
            server
                .bound_port
                .store(a.port() as usize, Ordering::Relaxed);
        }
    }
    for l in listeners {
        tokio::spawn(accept_loop(server.clone(), l));
    }
    tokio::spawn(crate::expire::active_expire_loop(server.clone()));
    tokio::spawn(idle_sweep(server.clone()));
    tokio::spawn(crate::evict::cron(server.clone()));
    tokio::spawn(crate::replication::master::cron(server.clone()));
    tokio::spawn(crate::replication::admin::cron(server.clone()));
    // A SHUTDOWN or signal during the load stops the server without waiting for it (the
    // loader notices and gives up; Redis processes events while loading for the same end).
    let mut stop = server.shutdown.subscribe();
    let loaded = tokio::select! {
        r = crate::load_at_startup(&server) => Some(r),
        _ = async {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        } => None,
    };
    match loaded {
        None => return Ok(()),
        Some(Err(e)) => {
            tracing::warn!("{e}");
            server.request_shutdown();
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
        Some(Ok(())) => {}
    }
    tokio::spawn(crate::persistence::cron(server.clone()));
    tracing::info!("Ready to accept connections tcp");
    crate::replication::replica::start(&server);
    let mut rx = server.shutdown.subscribe();
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            break;
        }
    }
    Ok(())
}
