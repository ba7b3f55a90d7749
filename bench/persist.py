#!/usr/bin/env python3
"""Persistence benchmark driver: redis-server vs ferrodis-server on 127.0.0.1 (see persist.sh).

For each server, on a dataset made with DEBUG POPULATE <keys> key <size>:
  * BGSAVE while a client writes steadily (SET of existing random keys at RATE/s, one
    connection, per-request latency): peak extra memory during the save. ferrodis: VmRSS
    sampled every 10 ms, peak minus before. redis: the fork's copy-on-write, as INFO reports it
    (rdb_last_cow_size, current_cow_peak sampled during the save) and as measured: the peak of
    Pss(parent) + Pss(child) from /proc/PID/smaps_rollup minus the parent's Pss before.
  * write latency p50/p99 during the save vs. the same writer with no save running;
  * time to SAVE (the SAVE command's duration) and time to load (restart on the dump until
    PING stops answering -LOADING; the server's own "DB loaded from disk: X seconds" too).
Each measurement is repeated ROUNDS times; medians are reported with the spread
((max - min) / median). One table (redis | ferrodis | ratio) goes to stdout and to OUT_DIR.
"""

import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

KEYS = int(os.environ.get("KEYS", "1000000"))
SIZE = int(os.environ.get("SIZE", "1000"))
RATE = int(os.environ.get("RATE", "5000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BASELINE_SECS = float(os.environ.get("BASELINE_SECS", "3"))
WAIT_SECS = float(os.environ.get("WAIT_SECS", "300"))
REDIS_BIN = os.environ["REDIS_BIN"]
FERRODIS_BIN = os.environ["FERRODIS_BIN"]
OUT_DIR = os.environ["OUT_DIR"]
HEADER = os.environ.get("HEADER", "")


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, file=sys.stderr, flush=True)


def die(msg):
    log("persist.py: " + msg)
    sys.exit(1)


# ---- RESP ------------------------------------------------------------------------------------
def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=WAIT_SECS):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("bad reply %r" % line)

    def cmd(self, *args):
        self.s.sendall(enc(*args))
        r = self.read()
        if isinstance(r, RuntimeError):
            raise r
        return r

    def info(self, section):
        text = self.cmd("INFO", section).decode()
        return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---- servers ---------------------------------------------------------------------------------
class Server:
    def __init__(self, name, workdir):
        self.name, self.dir = name, workdir
        self.proc, self.port = None, None

    def argv(self, port):
        common = ["--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir,
                  "--save", "", "--enable-debug-command", "yes"]
        if self.name == "redis":
            return [REDIS_BIN] + common + ["--appendonly", "no", "--daemonize", "no"]
        return [FERRODIS_BIN] + common

    def start(self):
        """Starts, retrying on port races; returns once the port accepts connections."""
        for attempt in range(3):
            port = free_port()
            logf = open(os.path.join(self.dir, "server.log"), "ab")
            self.proc = subprocess.Popen(self.argv(port), stdout=logf, stderr=logf,
                                         stdin=subprocess.DEVNULL)
            logf.close()
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.port = port
                    return
                except OSError:
                    time.sleep(0.01)
            self.stop()
            if "already in use" not in self.log_text().lower():
                break
        die("%s failed to start; log tail:\n%s" % (self.name, self.log_text()[-2000:]))

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_ready(self):
        """Waits until PING answers PONG; returns the seconds it took since now."""
        t0 = time.time()
        c = Conn(self.port)
        try:
            while True:
                try:
                    if c.cmd("PING") == "PONG":
                        return time.time() - t0
                except RuntimeError as e:
                    if not str(e).startswith("LOADING"):
                        raise
                if time.time() - t0 > WAIT_SECS:
                    die("%s still loading after %ss" % (self.name, WAIT_SECS))
                time.sleep(0.01)
        finally:
            c.close()

    def stop(self, save=False):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        try:
            c = Conn(self.port, timeout=10)
            c.s.sendall(enc("SHUTDOWN", "SAVE" if save else "NOSAVE"))
            c.close()
            self.proc.wait(timeout=WAIT_SECS)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rollup_kb(pid, field):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# ---- the writer ------------------------------------------------------------------------------
class Writer(threading.Thread):
    """SETs existing random keys at RATE/s on one connection; records (send time, latency)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = Conn(port)
        self.samples = []
        self.stop_flag = threading.Event()
        self.error = None
        self.value = b"w" * SIZE

    def run(self):
        try:
            interval = 1.0 / RATE
            nxt = time.perf_counter()
            rnd = random.Random(42)
            s, f = self.conn.s, self.conn.f
            while not self.stop_flag.is_set():
                now = time.perf_counter()
                if now < nxt:
                    time.sleep(min(nxt - now, 0.001)) if nxt - now > 0.0002 else None
                    continue
                nxt += interval
                if nxt < now - 1.0:  # fell far behind: do not burst to catch up
                    nxt = now
                req = enc("SET", "key:%d" % rnd.randrange(KEYS), self.value)
                t0 = time.perf_counter()
                s.sendall(req)
                line = f.readline()
                t1 = time.perf_counter()
                if not line.startswith(b"+OK"):
                    raise RuntimeError("SET failed: %r" % line)
                self.samples.append((t0, t1 - t0))
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e

    def finish(self):
        self.stop_flag.set()
        self.join(timeout=30)
        self.conn.close()
        if self.error:
            die("writer failed: %s" % self.error)

    def latencies(self, t_from, t_to):
        return sorted(l for (t, l) in self.samples if t_from <= t <= t_to)


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


# ---- one server's measurements ---------------------------------------------------------------
def measure(name, root):
    d = os.path.join(root, name)
    os.makedirs(d)
    srv = Server(name, d)
    res = {k: [] for k in ("bg_secs", "extra_mb", "cow_info_mb", "cow_peak_mb", "p50_save",
                           "p99_save", "p50_base", "p99_base", "n_save", "save_secs",
                           "load_secs", "load_log_secs")}
    try:
        srv.start()
        srv.wait_ready()
        c = Conn(srv.port)
        pid = srv.proc.pid
        rss_empty = status_kb(pid, "VmRSS")
        log("%s: DEBUG POPULATE %d key %d" % (name, KEYS, SIZE))
        c.cmd("DEBUG", "POPULATE", str(KEYS), "key", str(SIZE))
        if c.cmd("DBSIZE") != KEYS:
            die("%s: DBSIZE after populate is not %d" % (name, KEYS))
        res["rss_mb"] = status_kb(pid, "VmRSS") / 1024.0
        res["dataset_mb"] = (status_kb(pid, "VmRSS") - rss_empty) / 1024.0
        res["used_memory_mb"] = int(c.info("memory")["used_memory"]) / 1048576.0
        for rnd in range(ROUNDS):
            # Baseline: the writer alone.
            w = Writer(srv.port)
            w.start()
            time.sleep(0.5)  # warm-up, excluded
            t_a = time.perf_counter()
            time.sleep(BASELINE_SECS)
            t_b = time.perf_counter()
            # Now BGSAVE with the writer still running.
            before_rss = status_kb(pid, "VmRSS")
            before_pss = rollup_kb(pid, "Pss")
            peak = [before_rss, before_pss, 0]  # rss, pss sum, cow_peak bytes
            sampling = threading.Event()

            def sampler():
                while not sampling.is_set():
                    peak[0] = max(peak[0], status_kb(pid, "VmRSS"))
                    if name == "redis":
                        total = rollup_kb(pid, "Pss") + sum(rollup_kb(k, "Pss") for k in children(pid))
                        peak[1] = max(peak[1], total)
                    time.sleep(0.01)

            st = threading.Thread(target=sampler, daemon=True)
            st.start()
            ic = Conn(srv.port)
            t_s = time.perf_counter()
            ic.cmd("BGSAVE")
            while True:
                inf = ic.info("persistence")
                if name == "redis":
                    peak[2] = max(peak[2], int(inf.get("current_cow_peak", "0")))
                if inf["rdb_bgsave_in_progress"] == "0":
                    break
                if time.perf_counter() - t_s > WAIT_SECS:
                    die("%s: BGSAVE still running after %ss" % (name, WAIT_SECS))
                time.sleep(0.01)
            t_e = time.perf_counter()
            sampling.set()
            st.join()
            w.finish()
            if inf["rdb_last_bgsave_status"] != "ok":
                die("%s: BGSAVE failed" % name)
            base = w.latencies(t_a, t_b)
            during = w.latencies(t_s, t_e)
            res["bg_secs"].append(t_e - t_s)
            res["n_save"].append(len(during))
            res["p50_base"].append(pct(base, 50) * 1e3)
            res["p99_base"].append(pct(base, 99) * 1e3)
            res["p50_save"].append(pct(during, 50) * 1e3)
            res["p99_save"].append(pct(during, 99) * 1e3)
            if name == "redis":
                res["extra_mb"].append((peak[1] - before_pss) / 1024.0)
                res["cow_info_mb"].append(int(inf.get("rdb_last_cow_size", "0")) / 1048576.0)
                res["cow_peak_mb"].append(peak[2] / 1048576.0)
            else:
                res["extra_mb"].append((peak[0] - before_rss) / 1024.0)
            ic.close()
            log("%s round %d: BGSAVE %.2fs, extra %.1f MB, writes during save %d, p99 %.2f ms "
                "(baseline %.2f ms)" % (name, rnd + 1, res["bg_secs"][-1], res["extra_mb"][-1],
                                        len(during), res["p99_save"][-1], res["p99_base"][-1]))
        # SAVE (foreground), ROUNDS times.
        for rnd in range(ROUNDS):
            t0 = time.perf_counter()
            c.cmd("SAVE")
            res["save_secs"].append(time.perf_counter() - t0)
        res["dump_mb"] = os.path.getsize(os.path.join(d, "dump.rdb")) / 1048576.0
        c.close()
        srv.stop(save=False)
        # Load, ROUNDS times.
        for rnd in range(ROUNDS):
            srv.start()
            t0 = time.perf_counter()
            srv.wait_ready()
            res["load_secs"].append(time.perf_counter() - t0)
            c = Conn(srv.port)
            if c.cmd("DBSIZE") != KEYS:
                die("%s: DBSIZE after load is not %d" % (name, KEYS))
            c.close()
            loaded = [l for l in srv.log_text().splitlines() if "DB loaded from disk" in l]
            if loaded:
                res["load_log_secs"].append(float(loaded[-1].split(":")[-1].split()[0]))
            srv.stop(save=False)
        log("%s: SAVE %s s, load %s s" % (name, ["%.2f" % x for x in res["save_secs"]],
                                          ["%.2f" % x for x in res["load_secs"]]))
    finally:
        srv.kill()
    return res


def med(v):
    return statistics.median(v) if v else float("nan")


def spread(v):
    if len(v) < 2 or med(v) == 0:
        return 0.0
    return (max(v) - min(v)) / abs(med(v))


def main():
    root = tempfile.mkdtemp(prefix="ferrodis-persist-bench.")
    try:
        results = {}
        for name in ("redis", "ferrodis"):
            results[name] = measure(name, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    r, f = results["redis"], results["ferrodis"]
    rows = []

    def row(label, a, b, fmt="%.2f", better="lower"):
        ma = med(a) if isinstance(a, list) else a
        mb = med(b) if isinstance(b, list) else b
        ratio = (mb / ma) if ma not in (0, None) and ma == ma else float("nan")
        sp = max(spread(a) if isinstance(a, list) else 0, spread(b) if isinstance(b, list) else 0)
        rows.append((label, fmt % ma if ma == ma else "-", fmt % mb if mb == mb else "-",
                     "%.2f" % ratio if ratio == ratio else "-", better, "%.0f%%" % (sp * 100)))

    pct_r = [x / r["dataset_mb"] * 100 for x in r["extra_mb"]]
    pct_f = [x / f["dataset_mb"] * 100 for x in f["extra_mb"]]
    row("dataset RSS after populate (MB)", r["rss_mb"], f["rss_mb"], "%.0f")
    row("dataset (RSS - empty RSS) (MB)", r["dataset_mb"], f["dataset_mb"], "%.0f")
    row("BGSAVE duration (s)", r["bg_secs"], f["bg_secs"])
    row("BGSAVE peak extra memory (MB)", r["extra_mb"], f["extra_mb"], "%.1f")
    row("BGSAVE peak extra, % of dataset", pct_r, pct_f, "%.2f")
    rows.append(("  redis rdb_last_cow_size (MB)", "%.1f" % med(r["cow_info_mb"]), "-", "-", "",
                 "%.0f%%" % (spread(r["cow_info_mb"]) * 100)))
    rows.append(("  redis current_cow_peak (MB)", "%.1f" % med(r["cow_peak_mb"]), "-", "-", "",
                 "%.0f%%" % (spread(r["cow_peak_mb"]) * 100)))
    row("writes during BGSAVE (count)", r["n_save"], f["n_save"], "%.0f", "higher")
    row("write p50, no save (ms)", r["p50_base"], f["p50_base"], "%.3f")
    row("write p99, no save (ms)", r["p99_base"], f["p99_base"], "%.3f")
    row("write p50, during BGSAVE (ms)", r["p50_save"], f["p50_save"], "%.3f")
    row("write p99, during BGSAVE (ms)", r["p99_save"], f["p99_save"], "%.3f")
    row("p99 during / p99 without save", [a / b for a, b in zip(r["p99_save"], r["p99_base"])],
        [a / b for a, b in zip(f["p99_save"], f["p99_base"])], "%.2f")
    row("SAVE time (s)", r["save_secs"], f["save_secs"])
    row("dump size (MB)", r["dump_mb"], f["dump_mb"], "%.1f")
    row("load time, until PING answers (s)", r["load_secs"], f["load_secs"])
    row("load time, server log (s)", r["load_log_secs"], f["load_log_secs"], "%.3f")
    w = max(len(x[0]) for x in rows) + 2
    lines = [HEADER,
             "keys=%d size=%d rate=%d/s rounds=%d (medians; spread = (max-min)/median, worse of "
             "the two)" % (KEYS, SIZE, RATE, ROUNDS), ""]
    lines.append("%-*s %12s %12s %8s %7s %7s" % (w, "metric", "redis", "ferrodis", "ratio",
                                                "better", "spread"))
    for label, a, b, ratio, better, sp in rows:
        lines.append("%-*s %12s %12s %8s %7s %7s" % (w, label, a, b, ratio, better, sp))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(OUT_DIR, exist_ok=True)
    out = os.path.join(OUT_DIR, "persist-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as fh:
        fh.write(text)
    log("saved to %s" % out)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
