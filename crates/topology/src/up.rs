//! `ferrodis-topology up`: write each node's directory and config, start the servers, wait
//! until each answers PING.

use crate::client::Client;
use crate::layout::{Node, Topology};
use crate::process;
use anyhow::{bail, Context, Result};
use ferrodis_resp::Frame;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `up` was asked for.
pub struct UpOptions {
    pub dir: PathBuf,
    pub replicas: u16,
    pub chain: bool,
    pub port: u16,
    pub server_bin: Option<PathBuf>,
    pub bind: String,
    /// Bound on each node's start-up.
    pub wait: Duration,
}

/// One started node, as `up` reports it.
pub struct Started {
    pub node: Node,
    pub pid: u32,
}

/// Finds the server program: `--server-bin` (a path, or a name looked up on PATH), else
/// `ferrodis-server` next to this executable, else `ferrodis-server` on PATH.
pub fn resolve_server_bin(given: Option<&Path>) -> Result<PathBuf> {
    let on_path = |name: &Path| -> Option<PathBuf> {
        let paths = std::env::var_os("PATH")?;
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    match given {
        Some(p) if p.components().count() > 1 || p.is_absolute() => {
            if !p.is_file() {
                bail!("--server-bin {}: no such file", p.display());
            }
            crate::layout::absolute(p)
        }
        Some(name) => on_path(name).with_context(|| {
            format!(
                "--server-bin {}: not found on PATH (give the full path)",
                name.display()
            )
        }),
        None => {
            let next_to_me = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.join("ferrodis-server")))
                .filter(|p| p.is_file());
            match next_to_me.or_else(|| on_path(Path::new("ferrodis-server"))) {
                Some(p) => Ok(p),
                None => bail!(
                    "ferrodis-server not found next to this program nor on PATH: build it \
                     (`cargo build -p ferrodis-server`) or pass --server-bin PATH"
                ),
            }
        }
    }
}

/// Refuses when any node of `topo` (or of the topology recorded in its directory) runs, or
/// when one of the planned ports is taken.
fn preflight(topo: &Topology) -> Result<()> {
    let mut recorded: Vec<(PathBuf, u16)> = Vec::new();
    if let Some(old) = Topology::load(&topo.dir)? {
        recorded.extend(old.nodes.iter().map(|n| (old.pidfile(n), n.port)));
    }
    recorded.extend(topo.nodes.iter().map(|n| (topo.pidfile(n), n.port)));
    for (pidfile, port) in &recorded {
        if let Some(pid) = process::read_pidfile(pidfile)? {
            if process::alive(pid) {
                bail!(
                    "the topology in {} is already up: node {port} runs as pid {pid} ({}). \
                     Stop it first with `ferrodis-topology down --dir {}`",
                    topo.dir.display(),
                    pidfile.display(),
                    topo.dir.display()
                );
            }
        }
    }
    let host = topo.connect_host();
    // The addresses the servers will bind (a `-` prefix marks an optional one in redis.conf).
    let mut addrs: Vec<String> = topo
        .bind
        .split_whitespace()
        .map(|a| match a.trim_start_matches('-') {
            "*" => "0.0.0.0".to_string(),
            "::*" => "::".to_string(),
            a => a.to_string(),
        })
        .collect();
    if !addrs.contains(&host) {
        addrs.push(host.clone());
    }
    for node in &topo.nodes {
        for addr in &addrs {
            if let Err(e) = TcpListener::bind((addr.as_str(), node.port)) {
                bail!(
                    "port {} for the {} is not free on {addr}: {e}. Choose another base with --port",
                    node.port,
                    node.kind()
                );
            }
        }
        if Client::connect(&host, node.port, Duration::from_millis(200)).is_ok() {
            bail!(
                "port {} for the {}: something already accepts connections on {host}:{}. \
                 Choose another base with --port",
                node.port,
                node.kind(),
                node.port
            );
        }
    }
    Ok(())
}

/// Writes every node's directory and config, and `topology.conf`.
fn write_files(topo: &Topology) -> Result<()> {
    for node in &topo.nodes {
        let dir = topo.node_dir(node);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let conf = topo.conf_path(node);
        std::fs::write(&conf, topo.config_text(node))
            .with_context(|| format!("cannot write {}", conf.display()))?;
    }
    let state = topo.state_path();
    std::fs::write(&state, topo.state_text())
        .with_context(|| format!("cannot write {}", state.display()))?;
    Ok(())
}

/// Describes why a node failed to start, with the end of its log and start-up output.
fn failure(topo: &Topology, node: &Node, why: String) -> anyhow::Error {
    let mut msg = format!(
        "{} {} ({}) did not start: {why}",
        node.kind(),
        node.port,
        topo.conf_path(node).display()
    );
    for path in [topo.startup_out(node), topo.logfile(node)] {
        let tail = process::tail(&path, 15);
        if !tail.trim().is_empty() {
            msg.push_str(&format!(
                "\n--- last lines of {} ---\n{tail}",
                path.display()
            ));
        }
    }
    anyhow::anyhow!(msg)
}

/// Starts one node (the config file is the only argument) and waits until its pidfile names
/// a live process that answers PING on the node's port.
fn start_node(topo: &Topology, node: &Node, wait: Duration) -> Result<u32> {
    let pidfile = topo.pidfile(node);
    // A pidfile left by a crash would make us wait for the wrong process.
    if pidfile.exists() {
        std::fs::remove_file(&pidfile)
            .with_context(|| format!("cannot remove stale pidfile {}", pidfile.display()))?;
    }
    let out_path = topo.startup_out(node);
    let out = std::fs::File::create(&out_path)
        .with_context(|| format!("cannot create {}", out_path.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("cannot reopen {}", out_path.display()))?;
    let mut child = Command::new(&topo.server_bin)
        .arg(topo.conf_path(node))
        .current_dir(topo.node_dir(node))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .with_context(|| format!("cannot run {}", topo.server_bin.display()))?;
    let deadline = Instant::now() + wait;
    let host = topo.connect_host();
    let mut parent_done = false;
    let mut last = String::from("no pidfile yet");
    loop {
        if !parent_done {
            match child.try_wait() {
                // With `daemonize yes` the process we ran exits once the daemon is forked.
                Ok(Some(st)) if st.success() => parent_done = true,
                Ok(Some(st)) => {
                    return Err(failure(topo, node, format!("the server exited with {st}")))
                }
                Ok(None) => {}
                Err(e) => return Err(failure(topo, node, format!("waiting for it: {e}"))),
            }
        }
        match process::read_pidfile(&pidfile) {
            Ok(Some(pid)) if process::alive(pid) => match ping(&host, node.port) {
                Ok(Some(answering)) if answering == pid => return Ok(pid),
                Ok(Some(other)) => {
                    return Err(failure(
                        topo,
                        node,
                        format!(
                        "port {} is answered by pid {other}, not by the server started (pid {pid})",
                        node.port
                    ),
                    ))
                }
                Ok(None) => last = format!("pid {pid} is up but not ready (LOADING)"),
                Err(e) => {
                    last = format!(
                        "pid {pid} does not answer PING on {host}:{}: {e}",
                        node.port
                    )
                }
            },
            Ok(Some(pid)) => {
                if parent_done {
                    return Err(failure(
                        topo,
                        node,
                        format!(
                            "it wrote pidfile {} (pid {pid}) and exited",
                            pidfile.display()
                        ),
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() >= deadline {
            if !parent_done {
                let _ = child.kill();
                let _ = child.wait();
                last = format!(
                    "{last}; the server did not daemonize (is `daemonize yes` supported by {}?)",
                    topo.server_bin.display()
                );
            }
            return Err(failure(
                topo,
                node,
                format!("not ready after {wait:?}: {last}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// PING, then the pid from INFO server. `Ok(None)` while the server is loading.
fn ping(host: &str, port: u16) -> Result<Option<u32>> {
    let mut c = Client::connect(host, port, Duration::from_secs(2))?;
    match c.cmd(&["PING"])? {
        Frame::Simple(s) if &s[..] == b"PONG" => {}
        Frame::Error(e) if e.starts_with(b"LOADING") => return Ok(None),
        other => bail!("unexpected reply to PING: {}", other.to_text()),
    }
    let info = c.info("server")?;
    let pid = info
        .get("process_id")
        .and_then(|p| p.parse::<u32>().ok())
        .context("INFO server has no process_id")?;
    Ok(Some(pid))
}

/// Stops nodes started by a failed `up`, newest first (best effort).
fn undo(started: &[Started]) {
    for s in started.iter().rev() {
        if process::signal(s.pid, "TERM").is_ok() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while process::alive(s.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let what = if process::alive(s.pid) {
            "could NOT stop"
        } else {
            "stopped"
        };
        eprintln!(
            "{what} {} {} (pid {}) started by this failed `up`",
            s.node.kind(),
            s.node.port,
            s.pid
        );
    }
}

/// Runs `up`: returns the started nodes (the caller prints them).
pub fn up(opts: &UpOptions) -> Result<(Topology, Vec<Started>)> {
    let server_bin = resolve_server_bin(opts.server_bin.as_deref())?;
    let topo = Topology::plan(
        &opts.dir,
        &opts.bind,
        &server_bin,
        opts.port,
        opts.replicas,
        opts.chain,
    )?;
    preflight(&topo)?;
    write_files(&topo)?;
    let mut started = Vec::new();
    for node in &topo.nodes {
        match start_node(&topo, node, opts.wait) {
            Ok(pid) => started.push(Started {
                node: node.clone(),
                pid,
            }),
            Err(e) => {
                undo(&started);
                return Err(e);
            }
        }
    }
    Ok((topo, started))
}
