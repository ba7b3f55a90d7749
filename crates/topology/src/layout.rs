//! The plan of a topology (which node replicates which), the files `up` writes for each node
//! and `DIR/topology.conf`, the record `status` and `down` read.
//!
//! ```text
//! DIR/topology.conf        what was started: dir, bind, server binary, one `node` line each
//! DIR/<port>/redis.conf    the node's config (plain redis.conf)
//! DIR/<port>/redis.pid     written by the server, removed when it exits
//! DIR/<port>/server.log    the server's log
//! DIR/<port>/startup.out   what the server printed before it daemonized (errors)
//! DIR/<port>/dump.rdb      the node's snapshot (replicas save; the master does not)
//! ```

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Name of the record of a topology inside its directory.
pub const STATE_FILE: &str = "topology.conf";
/// Redis 7.0's default save points, written on replicas.
pub const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";

/// One server of the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its TCP port, also the name of its directory.
    pub port: u16,
    /// The port of the node it replicates (`None` for the master).
    pub master_port: Option<u16>,
}

impl Node {
    /// `master` or `replica`.
    pub fn kind(&self) -> &'static str {
        if self.master_port.is_some() {
            "replica"
        } else {
            "master"
        }
    }
}

/// A master and its replicas, as planned by `up` or read back from `topology.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Absolute directory holding everything.
    pub dir: PathBuf,
    /// The `bind` address(es) written into every config.
    pub bind: String,
    /// The server program.
    pub server_bin: PathBuf,
    /// The master first, then replicas in start order.
    pub nodes: Vec<Node>,
}

/// Makes `dir` absolute (servers `chdir` to their own directory, so relative paths break).
pub fn absolute(dir: &Path) -> Result<PathBuf> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(cwd.join(dir))
}

/// Quotes a redis.conf argument when it needs it (spaces, quotes, backslashes, empty).
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\');
    if plain {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Topology {
    /// Plans a master on `base_port` and `replicas` replicas on the next ports, each
    /// replicating the master, or the previous node when `chain` is set.
    pub fn plan(
        dir: &Path,
        bind: &str,
        server_bin: &Path,
        base_port: u16,
        replicas: u16,
        chain: bool,
    ) -> Result<Topology> {
        if base_port == 0 {
            bail!("--port 0 is not a usable base port: give a port such as 6379");
        }
        if bind.split_whitespace().next().is_none() {
            bail!("--bind needs an address such as 127.0.0.1");
        }
        let last = u32::from(base_port) + u32::from(replicas);
        if last > u32::from(u16::MAX) {
            bail!(
                "--port {base_port} with --replicas {replicas} would need port {last}, above 65535"
            );
        }
        let mut nodes = Vec::new();
        for k in 0..=replicas {
            let port = base_port + k;
            let master_port = match k {
                0 => None,
                _ if chain => Some(port - 1),
                _ => Some(base_port),
            };
            nodes.push(Node { port, master_port });
        }
        Ok(Topology {
            dir: absolute(dir)?,
            bind: bind.split_whitespace().collect::<Vec<_>>().join(" "),
            server_bin: server_bin.to_path_buf(),
            nodes,
        })
    }

    /// The address other nodes (and this tool) use to reach a node: the first `bind`
    /// address, or 127.0.0.1 when that is a wildcard.
    pub fn connect_host(&self) -> String {
        let first = self
            .bind
            .split_whitespace()
            .next()
            .unwrap_or("127.0.0.1")
            .trim_start_matches('-');
        match first {
            "0.0.0.0" | "*" | "" => "127.0.0.1".to_string(),
            "::" | "::*" | "-::*" => "::1".to_string(),
            a => a.to_string(),
        }
    }

    pub fn master(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.master_port.is_none())
    }

    pub fn node_dir(&self, node: &Node) -> PathBuf {
        self.dir.join(node.port.to_string())
    }

    pub fn conf_path(&self, node: &Node) -> PathBuf {
        self.node_dir(node).join("redis.conf")
    }

    pub fn pidfile(&self, node: &Node) -> PathBuf {
        self.node_dir(node).join("redis.pid")
    }

    pub fn logfile(&self, node: &Node) -> PathBuf {
        self.node_dir(node).join("server.log")
    }

    pub fn startup_out(&self, node: &Node) -> PathBuf {
        self.node_dir(node).join("startup.out")
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The node's `redis.conf`.
    pub fn config_text(&self, node: &Node) -> String {
        let dir = self.node_dir(node);
        let mut s = String::new();
        let what = match node.master_port {
            None => "master".to_string(),
            Some(m) => format!("replica of {m}"),
        };
        let _ = writeln!(s, "# Written by `ferrodis-topology up`: {what}.");
        let _ = writeln!(
            s,
            "# Start by hand with: <server> {}",
            self.conf_path(node).display()
        );
        let _ = writeln!(s, "port {}", node.port);
        let bind: Vec<String> = self.bind.split_whitespace().map(quote).collect();
        let _ = writeln!(s, "bind {}", bind.join(" "));
        let _ = writeln!(s, "daemonize yes");
        let _ = writeln!(
            s,
            "pidfile {}",
            quote(&self.pidfile(node).display().to_string())
        );
        let _ = writeln!(
            s,
            "logfile {}",
            quote(&self.logfile(node).display().to_string())
        );
        let _ = writeln!(s, "dir {}", quote(&dir.display().to_string()));
        let _ = writeln!(s, "dbfilename dump.rdb");
        match node.master_port {
            None => {
                let _ = writeln!(s, "# The master keeps no snapshots; its replicas do.");
                let _ = writeln!(s, "save \"\"");
            }
            Some(m) => {
                let _ = writeln!(s, "save {DEFAULT_SAVE}");
                let _ = writeln!(s, "replicaof {} {m}", self.connect_host());
            }
        }
        s
    }

    /// The text of `topology.conf`.
    pub fn state_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Written by `ferrodis-topology up`; read by `status` and `down`."
        );
        let _ = writeln!(s, "# node <port> master | node <port> replicaof <port>");
        let _ = writeln!(s, "dir {}", self.dir.display());
        let _ = writeln!(s, "bind {}", self.bind);
        let _ = writeln!(s, "server-bin {}", self.server_bin.display());
        for n in &self.nodes {
            match n.master_port {
                None => {
                    let _ = writeln!(s, "node {} master", n.port);
                }
                Some(m) => {
                    let _ = writeln!(s, "node {} replicaof {m}", n.port);
                }
            }
        }
        s
    }

    /// Parses `topology.conf` text; `path` is only for messages.
    pub fn parse_state(text: &str, path: &Path) -> Result<Topology> {
        let mut dir = None;
        let mut bind = None;
        let mut server_bin = None;
        let mut nodes = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let value = value.trim();
            match key {
                "dir" => dir = Some(PathBuf::from(value)),
                "bind" => bind = Some(value.to_string()),
                "server-bin" => server_bin = Some(PathBuf::from(value)),
                "node" => {
                    let words: Vec<&str> = value.split_whitespace().collect();
                    let port = |w: &str| {
                        w.parse::<u16>()
                            .with_context(|| format!("{}: bad port {w:?}", at()))
                    };
                    let node = match words.as_slice() {
                        [p, "master"] => Node {
                            port: port(p)?,
                            master_port: None,
                        },
                        [p, "replicaof", m] => Node {
                            port: port(p)?,
                            master_port: Some(port(m)?),
                        },
                        _ => bail!(
                            "{}: expected `node <port> master` or `node <port> replicaof <port>`, got {line:?}",
                            at()
                        ),
                    };
                    nodes.push(node);
                }
                _ => bail!("{}: unknown line {line:?}", at()),
            }
        }
        let missing = |what: &str| format!("{}: no `{what}` line", path.display());
        let topo = Topology {
            dir: dir.with_context(|| missing("dir"))?,
            bind: bind.with_context(|| missing("bind"))?,
            server_bin: server_bin.with_context(|| missing("server-bin"))?,
            nodes,
        };
        if topo.nodes.is_empty() {
            bail!("{}: no `node` lines", path.display());
        }
        Ok(topo)
    }

    /// Reads `DIR/topology.conf`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Topology>> {
        let path = absolute(dir)?.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(Topology::parse_state(&text, &path)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Reads `DIR/topology.conf`, failing with a hint when there is none.
    pub fn load_existing(dir: &Path) -> Result<Topology> {
        match Topology::load(dir)? {
            Some(t) => Ok(t),
            None => bail!(
                "no topology in {}: {} does not exist (start one with `ferrodis-topology up --dir {}`)",
                absolute(dir)?.display(),
                absolute(dir)?.join(STATE_FILE).display(),
                dir.display()
            ),
        }
    }

    /// Depth of a node in the replication tree (master 0, its replicas 1, ...).
    pub fn depth(&self, node: &Node) -> usize {
        let mut depth = 0;
        let mut cur = node.master_port;
        while let Some(m) = cur {
            depth += 1;
            if depth > self.nodes.len() {
                break; // a cycle in a hand-edited file: stop counting
            }
            cur = self
                .nodes
                .iter()
                .find(|n| n.port == m)
                .and_then(|n| n.master_port);
        }
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(chain: bool) -> Topology {
        Topology::plan(
            Path::new("/tmp/topo"),
            "127.0.0.1",
            Path::new("/usr/bin/redis-server"),
            7000,
            2,
            chain,
        )
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    #[test]
    fn star_and_chain_plans() {
        let star = plan(false);
        let masters: Vec<_> = star.nodes.iter().map(|n| n.master_port).collect();
        assert_eq!(masters, vec![None, Some(7000), Some(7000)]);
        let chain = plan(true);
        let masters: Vec<_> = chain.nodes.iter().map(|n| n.master_port).collect();
        assert_eq!(masters, vec![None, Some(7000), Some(7001)]);
        assert_eq!(chain.depth(&chain.nodes[2]), 2);
    }

    #[test]
    fn configs_have_the_redis_directives() {
        let t = plan(false);
        let m = t.config_text(&t.nodes[0]);
        assert!(m.contains("\nport 7000\n"), "{m}");
        assert!(m.contains("\npidfile /tmp/topo/7000/redis.pid\n"), "{m}");
        assert!(m.contains("\nsave \"\"\n"), "{m}");
        assert!(!m.contains("replicaof"), "{m}");
        let r = t.config_text(&t.nodes[2]);
        assert!(r.contains("\nreplicaof 127.0.0.1 7000\n"), "{r}");
        assert!(r.contains("\nsave 3600 1 300 100 60 10000\n"), "{r}");
        assert!(r.contains("\ndir /tmp/topo/7002\n"), "{r}");
    }

    #[test]
    fn state_round_trips_and_bad_lines_are_named() {
        let t = plan(true);
        let path = Path::new("/tmp/topo/topology.conf");
        let back = Topology::parse_state(&t.state_text(), path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(back, t);
        let err = Topology::parse_state("dir /x\nnode 1 slave\n", path)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("topology.conf:2"), "{err}");
    }

    #[test]
    fn port_overflow_and_quoting() {
        let e = Topology::plan(
            Path::new("/t"),
            "127.0.0.1",
            Path::new("x"),
            65535,
            1,
            false,
        );
        assert!(e.is_err());
        assert_eq!(quote("/a b/c"), "\"/a b/c\"");
        assert_eq!(quote("/a/b"), "/a/b");
    }
}
