//! `ferrodis-topology status`: one row per node from its pidfile and `INFO replication`.

use crate::client::{replica_lines, Client};
use crate::layout::{Node, Topology};
use crate::process;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

/// What was learnt about one node.
pub struct NodeStatus {
    pub node: Node,
    /// The pid in its pidfile, if any.
    pub pid: Option<u32>,
    /// Whether that pid is a live process.
    pub pid_alive: bool,
    /// `INFO replication`, when the node answered.
    pub info: Option<HashMap<String, String>>,
    /// Why the node is considered down (no answer, pidfile problem).
    pub problem: Option<String>,
}

impl NodeStatus {
    pub fn is_up(&self) -> bool {
        self.info.is_some()
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.info.as_ref()?.get(name).map(String::as_str)
    }

    /// The node's replication offset: `slave_repl_offset` on a replica, else
    /// `master_repl_offset`.
    pub fn offset(&self) -> Option<u64> {
        self.field("slave_repl_offset")
            .or_else(|| self.field("master_repl_offset"))
            .and_then(|v| v.parse().ok())
    }
}

/// Queries every node (bounded by `timeout` per node).
pub fn collect(topo: &Topology, timeout: Duration) -> Vec<NodeStatus> {
    let host = topo.connect_host();
    topo.nodes
        .iter()
        .map(|node| {
            let pidfile = topo.pidfile(node);
            let (pid, mut problem) = match process::read_pidfile(&pidfile) {
                Ok(pid) => (pid, None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            let pid_alive = pid.is_some_and(process::alive);
            let info = match Client::connect(&host, node.port, timeout)
                .and_then(|mut c| c.info("replication"))
            {
                Ok(info) => Some(info),
                Err(e) => {
                    problem
                        .get_or_insert_with(|| format!("no answer on {host}:{}: {e}", node.port));
                    None
                }
            };
            NodeStatus {
                node: node.clone(),
                pid,
                pid_alive,
                info,
                problem,
            }
        })
        .collect()
}

/// Renders the table (and, below it, why each down node is down).
pub fn render(topo: &Topology, nodes: &[NodeStatus]) -> String {
    let headers = [
        "PORT", "PID", "ROLE", "MASTER", "LINK", "OFFSET", "BEHIND", "LAG", "REPLICAS",
    ];
    let by_port: HashMap<u16, &NodeStatus> = nodes.iter().map(|n| (n.node.port, n)).collect();
    let dash = || "-".to_string();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for st in nodes {
        let pid = match (st.pid, st.pid_alive) {
            (Some(p), true) => p.to_string(),
            (Some(p), false) => format!("{p}(dead)"),
            (None, _) => dash(),
        };
        if !st.is_up() {
            let mut row = vec![st.node.port.to_string(), pid, "down".to_string()];
            row.resize(headers.len(), dash());
            rows.push(row);
            continue;
        }
        let role = st.field("role").unwrap_or("?").to_string();
        let master_port: Option<u16> = st.field("master_port").and_then(|p| p.parse().ok());
        let master = match (st.field("master_host"), master_port) {
            (Some(h), Some(p)) if h == topo.connect_host() || h == "127.0.0.1" => p.to_string(),
            (Some(h), Some(p)) => format!("{h}:{p}"),
            _ => dash(),
        };
        let link = st
            .field("master_link_status")
            .map_or_else(dash, str::to_string);
        let offset = st.offset().map_or_else(dash, |o| o.to_string());
        // What the upstream node says about this replica, and how far behind it is.
        let upstream = master_port
            .and_then(|p| by_port.get(&p))
            .filter(|u| u.is_up());
        let (behind, lag) = match upstream {
            Some(up) if role != "master" => {
                let line = up.info.as_ref().and_then(|i| {
                    replica_lines(i)
                        .into_iter()
                        .find(|l| l.port == Some(st.node.port))
                });
                let behind = match (up.offset(), st.offset()) {
                    (Some(m), Some(r)) => m.saturating_sub(r).to_string(),
                    _ => dash(),
                };
                // Seconds since the replica's last ACK once it is online; before that, the
                // upstream's view of the sync (wait_bgsave, send_bulk...).
                let lag = match line {
                    Some(l) if l.state != "online" && !l.state.is_empty() => l.state,
                    Some(l) => l.lag.map_or_else(dash, |l| format!("{l}s")),
                    None => dash(),
                };
                (behind, lag)
            }
            _ => (dash(), dash()),
        };
        let replicas = st.field("connected_slaves").unwrap_or("-").to_string();
        rows.push(vec![
            st.node.port.to_string(),
            pid,
            role,
            master,
            link,
            offset,
            behind,
            lag,
            replicas,
        ]);
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&headers.map(str::to_string));
    for row in &rows {
        line(row);
    }
    for st in nodes.iter().filter(|s| !s.is_up()) {
        let why = st.problem.clone().unwrap_or_else(|| "no answer".into());
        let pidinfo = match (st.pid, st.pid_alive) {
            (Some(p), true) => format!("pid {p} is running but does not answer"),
            (Some(p), false) => {
                format!("pid {p} from {} is gone", topo.pidfile(&st.node).display())
            }
            (None, _) => format!("no pidfile {}", topo.pidfile(&st.node).display()),
        };
        let _ = writeln!(
            out,
            "node {} is down: {pidinfo}; {why}. Log: {}",
            st.node.port,
            topo.logfile(&st.node).display()
        );
    }
    out
}
