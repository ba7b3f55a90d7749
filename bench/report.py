#!/usr/bin/env python3
"""Turn the raw measurements of compare.sh into one comparison table.

    report.py THROUGHPUT_TSV MEMORY_TSV

THROUGHPUT_TSV rows: server round pipeline test rps cpu_us_per_req
MEMORY_TSV rows:     server scenario items rss_before_kb rss_after_kb used_before used_after
                     dbsize expected_dbsize status (used_* are '-' when INFO has no used_memory;
                     status is "ok" or why loading failed, in which case the values are n/a)

The servers are called "redis" and "ferrodis". Throughput and CPU are the median over rounds.
Ratio is always ferrodis/redis; the last column says which direction is better.
"""

import statistics
import sys
from collections import OrderedDict

A, B = "redis", "ferrodis"


def read_tsv(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "rps":
        return f"{v:,.0f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "us":
        return f"{v:.3f}"
    if kind == "mb":
        return f"{v:,.1f}"
    if kind == "bytes":
        return f"{v:,.1f}"
    return str(v)


def main():
    tput = read_tsv(sys.argv[1])
    mem = read_tsv(sys.argv[2])

    # (pipeline, test) -> server -> [rps...], [cpu...]
    rps = OrderedDict()
    cpu = OrderedDict()
    for server, _rnd, pipeline, test, r, c in tput:
        key = (int(pipeline), test)
        rps.setdefault(key, {A: [], B: []})[server].append(float(r))
        if c != "-":
            cpu.setdefault(key, {A: [], B: []})[server].append(float(c))

    rows = []  # (label, redis, ferrodis, kind, better, spread)

    def med(xs):
        return statistics.median(xs) if xs else None

    def spread(d):
        """Largest (max - min) / median over the two servers' rounds, as a noise hint."""
        s = [(max(x) - min(x)) / statistics.median(x) for x in d.values() if len(x) > 1 and statistics.median(x)]
        return f"{max(s) * 100:.0f}%" if s else ""

    order = sorted(rps, key=lambda k: (k[0], list(rps).index(k)))
    for p, t in order:
        d = rps[(p, t)]
        rows.append((f"{t} P{p} (req/s)", med(d[A]), med(d[B]), "rps", "higher", spread(d)))
    for p, t in order:
        d = cpu.get((p, t), {A: [], B: []})
        rows.append((f"{t} P{p} cpu (us/req)", med(d[A]), med(d[B]), "us", "lower", spread(d)))

    mems = OrderedDict()
    warnings = []
    for row in mem:
        server, scen = row[0], row[1]
        if len(row) > 9 and row[9] != "ok":
            warnings.append(f"WARNING: {server} {scen}: {row[9]}")
            mems.setdefault(scen, {})
            continue
        mems.setdefault(scen, {})[server] = row
    for scen, d in mems.items():
        def get(server, f):
            row = d.get(server)
            return f(row) if row else None

        def rss_mb(row):
            return int(row[4]) / 1024

        def rss_per(row):
            return (int(row[4]) - int(row[3])) * 1024 / int(row[2])

        def used_mb(row):
            return None if row[6] == "-" else int(row[6]) / (1024 * 1024)

        def used_per(row):
            if row[5] == "-" or row[6] == "-":
                return None
            return (int(row[6]) - int(row[5])) / int(row[2])

        def dbsize(row):
            return None if row[7] == "-" else int(row[7])

        rows.append((f"{scen}: RSS (MB)", get(A, rss_mb), get(B, rss_mb), "mb", "lower", ""))
        rows.append((f"{scen}: RSS bytes/item", get(A, rss_per), get(B, rss_per), "bytes", "lower", ""))
        rows.append((f"{scen}: used_memory (MB)", get(A, used_mb), get(B, used_mb), "mb", "lower", ""))
        rows.append((f"{scen}: used_memory bytes/item", get(A, used_per), get(B, used_per), "bytes", "lower", ""))
        rows.append((f"{scen}: DBSIZE", get(A, dbsize), get(B, dbsize), "int", "check", ""))
        for server, row in d.items():
            if row[7] != row[8]:
                warnings.append(f"WARNING: {server} {scen}: DBSIZE {row[7]} != expected {row[8]}")

    header = ("metric", A, B, "ratio f/r", "better", "spread")
    table = [header]
    for label, a, b, kind, better, spr in rows:
        ratio = "n/a" if (a is None or b is None or a == 0 or better == "check") else f"{b / a:.2f}"
        if better == "check":
            ratio = "ok" if (a is not None and a == b) else "DIFF"
            better = "-"
        table.append((label, fmt(a, kind), fmt(b, kind), ratio, better, spr))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for n, r in enumerate(table):
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, len(r))]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for w in warnings:
        print(w)


if __name__ == "__main__":
    main()
