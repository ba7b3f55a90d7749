//! `ferrodis-topology up | status | down`: see docs/topology.md.

use clap::{Args, Parser, Subcommand};
use ferrodis_topology::layout::Topology;
use ferrodis_topology::{down, status, up};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const AFTER_HELP: &str = "\
Every node gets DIR/<port>/ with redis.conf, redis.pid, server.log and its dump.rdb.
The master keeps no snapshots (save \"\"); replicas use Redis's default save points.
DIR/topology.conf records what was started; `status` and `down` read it.

Examples:
  ferrodis-topology up                          master 6379, replicas 6380 6381
  ferrodis-topology up --replicas 3 --chain     6379 <- 6380 <- 6381 <- 6382
  ferrodis-topology up --port 7000 --dir /srv/topo --server-bin /usr/bin/redis-server
  ferrodis-topology status                      roles, offsets, lag, link state
  ferrodis-topology down                        replicas first, then the master

Exit status: 0 on success; 1 when a command fails or `status` finds a node down.";

/// Local master/replica topologies for ferrodis-server (or redis-server).
#[derive(Parser)]
#[command(name = "ferrodis-topology", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the configs and start a master and its replicas; wait until each answers PING.
    Up(UpArgs),
    /// Show each node's pid, role, link state, replication offset and lag.
    Status(DirArgs),
    /// Stop every node (SIGTERM, replicas first, master last) and wait until they exit.
    Down(DownArgs),
}

#[derive(Args)]
struct DirArgs {
    /// The topology's directory (holds topology.conf and one directory per port).
    #[arg(long, value_name = "DIR", default_value = "./ferrodis-topology")]
    dir: PathBuf,
}

#[derive(Args)]
struct UpArgs {
    /// How many replicas to start besides the master.
    #[arg(long, value_name = "N", default_value_t = 2)]
    replicas: u16,
    /// Each replica replicates the previous node (6379 <- 6380 <- 6381) instead of the master.
    #[arg(long)]
    chain: bool,
    /// Port of the master; node k (k = 1..N) listens on BASE+k.
    #[arg(long, value_name = "BASE", default_value_t = 6379)]
    port: u16,
    #[command(flatten)]
    dir: DirArgs,
    /// Server program to run with each redis.conf [default: ferrodis-server next to this
    /// program, else on PATH]. /usr/bin/redis-server runs a real Redis topology.
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// Address every node binds (also the address replicas use to reach their master).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: String,
    /// Seconds to wait for each node to answer PING before giving up (and stopping the
    /// nodes already started).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    wait: u64,
}

#[derive(Args)]
struct DownArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Seconds to wait for each node to exit after SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    wait: u64,
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Up(a) => {
            let opts = up::UpOptions {
                dir: a.dir.dir,
                replicas: a.replicas,
                chain: a.chain,
                port: a.port,
                server_bin: a.server_bin,
                bind: a.bind,
                wait: Duration::from_secs(a.wait),
            };
            let (topo, started) = up::up(&opts)?;
            for s in &started {
                let role = match s.node.master_port {
                    None => "master ".to_string(),
                    Some(m) => format!("replica of {m}"),
                };
                println!(
                    "{:<15} port {:<5}  pid {:<7}  dir {}",
                    role,
                    s.node.port,
                    s.pid,
                    topo.node_dir(&s.node).display()
                );
            }
            let dir = opts.dir.display();
            println!(
                "up: {} node(s), server {}",
                started.len(),
                topo.server_bin.display()
            );
            println!("next: ferrodis-topology status --dir {dir}   |   ferrodis-topology down --dir {dir}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status(a) => {
            let topo = Topology::load_existing(&a.dir)?;
            let nodes = status::collect(&topo, Duration::from_secs(2));
            print!("{}", status::render(&topo, &nodes));
            if nodes.iter().all(|n| n.is_up()) {
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
        Cmd::Down(a) => {
            let topo = match Topology::load(&a.dir.dir)? {
                Some(t) => t,
                None => {
                    println!(
                        "nothing to stop: {} has no topology.conf",
                        a.dir.dir.display()
                    );
                    return Ok(ExitCode::SUCCESS);
                }
            };
            down::down(&topo, Duration::from_secs(a.wait))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferrodis-topology: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
