#!/usr/bin/env python3
"""Turn the raw measurements of compare.sh into one comparison table.

    report.py THROUGHPUT_TSV MEMORY_TSV

THROUGHPUT_TSV rows: variant round client_threads pipeline test rps cpu_us_per_req client_cores
MEMORY_TSV rows:     server scenario items rss_before_kb rss_after_kb used_before used_after
                     dbsize expected_dbsize status (used_* are '-' when INFO has no used_memory;
                     status is "ok" or why loading failed, in which case the values are n/a)

The baseline is "redis"; every other variant (in order of appearance: "ferrodis",
"ferrodis_mt", ...) gets a ratio column variant/redis. Figures are medians over rounds; the last
columns say which direction is better and how noisy the rounds were.
"""

import statistics
import sys
from collections import OrderedDict

BASE = "redis"


def read_tsv(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fmt(v, kind):
    if v is None:
        return "-"
    if kind in ("rps", "int"):
        return f"{v:,.0f}"
    if kind == "us":
        return f"{v:.3f}"
    if kind == "cores":
        return f"{v:.2f}"
    if kind in ("mb", "bytes"):
        return f"{v:,.1f}"
    return str(v)


def med(xs):
    return statistics.median(xs) if xs else None


def spread(d):
    """Largest (max - min) / median over the servers' rounds, as a noise hint."""
    s = [(max(x) - min(x)) / statistics.median(x) for x in d.values() if len(x) > 1 and statistics.median(x)]
    return f"{max(s) * 100:.0f}%" if s else ""


def main():
    tput = read_tsv(sys.argv[1])
    mem = read_tsv(sys.argv[2])

    variants = [BASE]
    for row in tput:
        if row[0] not in variants:
            variants.append(row[0])
    for row in mem:
        if row[0] not in variants:
            variants.append(row[0])

    # (client_threads, pipeline, test) -> variant -> [values...]
    rps, cpu, cores = OrderedDict(), OrderedDict(), OrderedDict()
    for variant, _rnd, ct, pipeline, test, r, c, cc in tput:
        key = (int(ct), int(pipeline), test)
        rps.setdefault(key, {}).setdefault(variant, []).append(float(r))
        if c != "-":
            cpu.setdefault(key, {}).setdefault(variant, []).append(float(c))
        if cc != "-":
            cores.setdefault(key, {}).setdefault(variant, []).append(float(cc))

    rows = []  # (label, {variant: value}, kind, better, spread)
    order = sorted(rps, key=lambda k: (k[0], k[1], list(rps).index(k)))
    for what, src, kind, better in (
        ("req/s", rps, "rps", "higher"),
        ("cpu us/req", cpu, "us", "lower"),
        ("client cores", cores, "cores", "-"),
    ):
        for ct, p, t in order:
            d = src.get((ct, p, t), {})
            vals = {v: med(xs) for v, xs in d.items()}
            rows.append((f"{t} P{p} c{ct} {what}", vals, kind, better, spread(d) if better != "-" else ""))

    mems = OrderedDict()
    warnings = []
    for row in mem:
        server, scen = row[0], row[1]
        if len(row) > 9 and row[9] != "ok":
            warnings.append(f"WARNING: {server} {scen}: {row[9]}")
            mems.setdefault(scen, {})
            continue
        mems.setdefault(scen, {})[server] = row

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

    for scen, d in mems.items():
        for label, f, kind, better in (
            ("RSS (MB)", rss_mb, "mb", "lower"),
            ("RSS bytes/item", rss_per, "bytes", "lower"),
            ("used_memory (MB)", used_mb, "mb", "lower"),
            ("used_memory bytes/item", used_per, "bytes", "lower"),
            ("DBSIZE", dbsize, "int", "check"),
        ):
            rows.append((f"{scen}: {label}", {v: f(row) for v, row in d.items()}, kind, better, ""))
        for server, row in d.items():
            if row[7] != row[8]:
                warnings.append(f"WARNING: {server} {scen}: DBSIZE {row[7]} != expected {row[8]}")

    others = [v for v in variants if v != BASE]
    header = ("metric", *variants, *(f"{v}/{BASE}" for v in others), "better", "spread")
    table = [header]
    for label, vals, kind, better, spr in rows:
        base = vals.get(BASE)
        ratios = []
        for v in others:
            x = vals.get(v)
            if better == "check":
                ratios.append("-" if x is None else ("ok" if base is not None and x == base else "DIFF"))
            elif base is None or x is None or base == 0 or better == "-":
                ratios.append("-")
            else:
                ratios.append(f"{x / base:.2f}")
        table.append((label, *(fmt(vals.get(v), kind) for v in variants), *ratios,
                      "-" if better == "check" else better, spr))
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
