#!/usr/bin/env python3
"""Replication benchmark driver: redis-server vs ferrodis-server on 127.0.0.1 (see repl.sh).

For each server kind, a master holds DEBUG POPULATE <keys> key <size> (persistence off, as the
users' masters run) and a client writes to it steadily (SET of existing random keys at RATE/s,
one connection, per-request latency). Then, each round:
  * full sync: REPLICAS fresh replicas of the same kind are started together with `replicaof`
    (`repl-diskless-sync-delay 1` on the master, so that they can share a snapshot); measured: time until every replica reports
    `master_link_status:up` with the master's offset, how many snapshots the master took for
    them (`sync_full` vs. RDB saves), the master's peak extra memory during the sync (ferrodis:
    VmRSS; redis: Pss of the master plus its fork child, i.e. copy-on-write included) and the
    writer's p50/p99 during the sync vs. the same writer without a sync;
  * partial resync: `CLIENT KILL TYPE master` on every replica; time until all are back in sync,
    and whether each reconnection was a partial one (`sync_partial_ok` on the master);
  * steady state: after a burst of PIPELINE SETs, the time until every replica has the master's
    offset (replication delay under load).
Medians over ROUNDS; one table (redis | ferrodis | ratio) to stdout and OUT_DIR/repl-*.txt.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import persist as P  # noqa: E402  (Conn, Server, Writer, percentiles, /proc readers)

REPLICAS = int(os.environ.get("REPLICAS", "2"))
BURST = int(os.environ.get("BURST", "100000"))


class Node(P.Server):
    """A persist.Server with extra directives (replicaof, sync delay)."""

    def __init__(self, name, kind, workdir, extra):
        super().__init__(kind, workdir)
        self.label, self.extra = name, extra

    def argv(self, port):
        return super().argv(port) + self.extra


def wait_for(what, cond, timeout=P.WAIT_SECS, step=0.005):
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            P.die("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)
    return time.perf_counter() - t0


def in_sync(master_conn, replica_conns):
    """Every replica is up and has applied at least what the master had when asked (the
    writer keeps going, so equality would depend on sampling luck)."""
    mo = int(master_conn.info("replication")["master_repl_offset"])
    for c in replica_conns:
        inf = c.info("replication")
        if inf.get("master_link_status") != "up" or int(inf.get("master_repl_offset", -1)) < mo:
            return False
    return True


def measure(kind, root):
    d = os.path.join(root, kind)
    os.makedirs(d)
    # A 1 s delay lets the replicas that start together share one snapshot (both servers).
    master = Node("master", kind, d, ["--repl-diskless-sync-delay", "1",
                                      "--repl-backlog-size", "64mb"])
    res = {k: [] for k in ("sync_secs", "syncs", "snapshots", "extra_mb", "p50_sync", "p99_sync",
                           "p50_base", "p99_base", "psync_secs", "partial_ok", "burst_lag_ms")}
    nodes = [master]
    try:
        master.start()
        master.wait_ready()
        mc = P.Conn(master.port)
        pid = master.proc.pid
        rss_empty = P.status_kb(pid, "VmRSS")
        P.log("%s: DEBUG POPULATE %d key %d" % (kind, P.KEYS, P.SIZE))
        mc.cmd("DEBUG", "POPULATE", str(P.KEYS), "key", str(P.SIZE))
        res["dataset_mb"] = (P.status_kb(pid, "VmRSS") - rss_empty) / 1024.0
        for rnd in range(P.ROUNDS):
            w = P.Writer(master.port)
            w.start()
            time.sleep(0.5)
            t_a = time.perf_counter()
            time.sleep(P.BASELINE_SECS)
            t_b = time.perf_counter()
            stats0 = mc.info("stats")
            snaps0 = snapshots_taken(master)
            before_rss = P.status_kb(pid, "VmRSS")
            before_pss = P.rollup_kb(pid, "Pss")
            peak = [before_rss, before_pss]
            sampling = threading.Event()

            def sampler():
                while not sampling.is_set():
                    peak[0] = max(peak[0], P.status_kb(pid, "VmRSS"))
                    if kind == "redis":
                        total = P.rollup_kb(pid, "Pss") + sum(
                            P.rollup_kb(k, "Pss") for k in P.children(pid))
                        peak[1] = max(peak[1], total)
                    time.sleep(0.01)

            st = threading.Thread(target=sampler, daemon=True)
            st.start()
            reps = []
            t_s = time.perf_counter()
            for i in range(REPLICAS):
                rd = os.path.join(d, "r%d-%d" % (rnd, i))
                os.makedirs(rd)
                r = Node("replica", kind, rd, ["--replicaof", "127.0.0.1", str(master.port)])
                r.start()
                reps.append(r)
                nodes.append(r)
            rcs = [P.Conn(r.port) for r in reps]
            wait_for("replicas in sync", lambda: in_sync(mc, rcs))
            t_e = time.perf_counter()
            sampling.set()
            st.join()
            w.finish()
            stats1 = mc.info("stats")
            res["sync_secs"].append(t_e - t_s)
            res["syncs"].append(int(stats1["sync_full"]) - int(stats0["sync_full"]))
            res["snapshots"].append(snapshots_taken(master) - snaps0)
            if kind == "redis":
                res["extra_mb"].append((peak[1] - before_pss) / 1024.0)
            else:
                res["extra_mb"].append((peak[0] - before_rss) / 1024.0)
            base, during = w.latencies(t_a, t_b), w.latencies(t_s, t_e)
            res["p50_base"].append(P.pct(base, 50) * 1e3)
            res["p99_base"].append(P.pct(base, 99) * 1e3)
            res["p50_sync"].append(P.pct(during, 50) * 1e3)
            res["p99_sync"].append(P.pct(during, 99) * 1e3)
            # Partial resync after every link is cut.
            ok0 = int(mc.info("stats")["sync_partial_ok"])
            for c in rcs:
                c.cmd("CLIENT", "KILL", "TYPE", "master")
            t0 = time.perf_counter()
            wait_for("partial resyncs", lambda: int(mc.info("stats")["sync_partial_ok"]) - ok0
                     >= REPLICAS and in_sync(mc, rcs))
            res["psync_secs"].append(time.perf_counter() - t0)
            res["partial_ok"].append(int(mc.info("stats")["sync_partial_ok"]) - ok0)
            # Replication delay after a pipelined burst.
            val = b"b" * P.SIZE
            batch = b"".join(P.enc("SET", "burst:%d" % (i % 10000), val) for i in range(1000))
            for _ in range(BURST // 1000):
                mc.s.sendall(batch)
                for _ in range(1000):
                    mc.read()
            t0 = time.perf_counter()
            wait_for("replicas caught up after the burst", lambda: in_sync(mc, rcs), step=0.001)
            res["burst_lag_ms"].append((time.perf_counter() - t0) * 1e3)
            P.log("%s round %d: full sync of %d replicas %.2fs (%d snapshot(s) for %d syncs), "
                  "extra %.1f MB, write p99 %.2f ms (baseline %.2f), psync %.3fs, burst lag %.1f ms"
                  % (kind, rnd + 1, REPLICAS, res["sync_secs"][-1],
                     res["snapshots"][-1], res["syncs"][-1], res["extra_mb"][-1],
                     res["p99_sync"][-1], res["p99_base"][-1], res["psync_secs"][-1],
                     res["burst_lag_ms"][-1]))
            for c in rcs:
                c.close()
            for r in reps:
                r.kill()
        mc.close()
    finally:
        for n in nodes:
            n.kill()
    return res


def snapshots_taken(master):
    """How many 'Starting BGSAVE for SYNC' lines the master logged so far (both servers log it)."""
    return master.log_text().count("Starting BGSAVE for SYNC")


def main():
    root = tempfile.mkdtemp(prefix="ferrodis-repl-bench.")
    try:
        results = {}
        for kind in ("redis", "ferrodis"):
            results[kind] = measure(kind, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    r, f = results["redis"], results["ferrodis"]
    rows = []

    def row(label, a, b, fmt="%.2f", better="lower"):
        ma = P.med(a) if isinstance(a, list) else a
        mb = P.med(b) if isinstance(b, list) else b
        ratio = (mb / ma) if ma not in (0, None) and ma == ma else float("nan")
        sp = max(P.spread(a) if isinstance(a, list) else 0,
                 P.spread(b) if isinstance(b, list) else 0)
        rows.append((label, fmt % ma if ma == ma else "-", fmt % mb if mb == mb else "-",
                     "%.2f" % ratio if ratio == ratio else "-", better, "%.0f%%" % (sp * 100)))

    row("master dataset (RSS - empty RSS) (MB)", r["dataset_mb"], f["dataset_mb"], "%.0f")
    row("full sync of %d replicas, until in sync (s)" % REPLICAS, r["sync_secs"], f["sync_secs"])
    row("full syncs served (sync_full)", r["syncs"], f["syncs"], "%.0f", "-")
    row("snapshots taken for them", r["snapshots"], f["snapshots"], "%.0f")
    row("master peak extra memory in sync (MB)", r["extra_mb"], f["extra_mb"], "%.1f")
    row("  as % of the dataset", [x / r["dataset_mb"] * 100 for x in r["extra_mb"]],
        [x / f["dataset_mb"] * 100 for x in f["extra_mb"]], "%.2f")
    row("write p50, no sync (ms)", r["p50_base"], f["p50_base"], "%.3f")
    row("write p99, no sync (ms)", r["p99_base"], f["p99_base"], "%.3f")
    row("write p50, during full sync (ms)", r["p50_sync"], f["p50_sync"], "%.3f")
    row("write p99, during full sync (ms)", r["p99_sync"], f["p99_sync"], "%.3f")
    row("partial resyncs after CLIENT KILL (of %d)" % REPLICAS, r["partial_ok"], f["partial_ok"],
        "%.0f", "higher")
    row("reconnect + partial resync, all in sync (s)", r["psync_secs"], f["psync_secs"], "%.3f")
    row("replicas in sync after %d pipelined SETs (ms)" % BURST, r["burst_lag_ms"],
        f["burst_lag_ms"], "%.1f")
    width = max(len(x[0]) for x in rows) + 2
    lines = [P.HEADER,
             "keys=%d size=%d rate=%d/s replicas=%d rounds=%d (medians; spread = (max-min)/median,"
             " worse of the two)" % (P.KEYS, P.SIZE, P.RATE, REPLICAS, P.ROUNDS), ""]
    lines.append("%-*s %12s %12s %8s %7s %7s" % (width, "metric", "redis", "ferrodis", "ratio",
                                                "better", "spread"))
    for label, a, b, ratio, better, sp in rows:
        lines.append("%-*s %12s %12s %8s %7s %7s" % (width, label, a, b, ratio, better, sp))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(P.OUT_DIR, exist_ok=True)
    out = os.path.join(P.OUT_DIR, "repl-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as fh:
        fh.write(text)
    P.log("saved to %s" % out)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
