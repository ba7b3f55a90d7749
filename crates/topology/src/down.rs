//! `ferrodis-topology down`: SIGTERM every node (deepest replicas first, the master last) and
//! wait until each has exited and removed its pidfile.

use crate::layout::{Node, Topology};
use crate::process;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// What happened to one node.
pub enum Outcome {
    /// It was running and has stopped (its pid).
    Stopped(u32),
    /// It was not running; `Some(pid)` when a stale pidfile naming `pid` was removed.
    NotRunning(Option<u32>),
    /// It could not be stopped: why.
    Failed(String),
}

/// Stops one node.
fn stop_node(topo: &Topology, node: &Node, wait: Duration) -> Outcome {
    let pidfile = topo.pidfile(node);
    let pid = match process::read_pidfile(&pidfile) {
        Ok(Some(pid)) => pid,
        Ok(None) => return Outcome::NotRunning(None),
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    if !process::alive(pid) {
        return match std::fs::remove_file(&pidfile) {
            Ok(()) => Outcome::NotRunning(Some(pid)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::NotRunning(None),
            Err(e) => Outcome::Failed(format!(
                "pid {pid} is gone but its pidfile {} cannot be removed: {e}",
                pidfile.display()
            )),
        };
    }
    if let Err(e) = process::signal(pid, "TERM") {
        // It may have exited between the check and the signal.
        if process::alive(pid) {
            return Outcome::Failed(format!("{e:#}"));
        }
    }
    let deadline = Instant::now() + wait;
    loop {
        let gone = !process::alive(pid);
        if gone && !pidfile.exists() {
            return Outcome::Stopped(pid);
        }
        if Instant::now() >= deadline {
            if gone {
                // Exited without removing its pidfile (a crash during shutdown?): clean up.
                return match std::fs::remove_file(&pidfile) {
                    Ok(()) => Outcome::Stopped(pid),
                    Err(e) => Outcome::Failed(format!(
                        "pid {pid} exited but left {} which cannot be removed: {e}",
                        pidfile.display()
                    )),
                };
            }
            return Outcome::Failed(format!(
                "pid {pid} still runs {wait:?} after SIGTERM (a long save? see {}); \
                 run `ferrodis-topology down` again or `kill -9 {pid}`",
                topo.logfile(node).display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops every node, printing one line per node. Fails when some node could not be stopped.
pub fn down(topo: &Topology, wait: Duration) -> Result<()> {
    let mut order: Vec<&Node> = topo.nodes.iter().collect();
    // Deepest first; among equals, the later-started first. The master is last.
    order.reverse();
    order.sort_by_key(|n| std::cmp::Reverse(topo.depth(n)));
    let mut failed = Vec::new();
    for node in order {
        let name = format!("{:<7} {}", node.kind(), node.port);
        match stop_node(topo, node, wait) {
            Outcome::Stopped(pid) => println!("{name}: stopped (pid {pid})"),
            Outcome::NotRunning(None) => println!("{name}: not running"),
            Outcome::NotRunning(Some(pid)) => {
                println!("{name}: not running (removed stale pidfile naming pid {pid})")
            }
            Outcome::Failed(why) => {
                println!("{name}: NOT stopped: {why}");
                failed.push(node.port);
            }
        }
    }
    if !failed.is_empty() {
        bail!("could not stop node(s) {failed:?}");
    }
    Ok(())
}
