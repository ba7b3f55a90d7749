#!/usr/bin/env bash
# Replication benchmark: redis-server vs ferrodis-server on 127.0.0.1. A master with
# DEBUG POPULATE <KEYS> keys of <SIZE> bytes (persistence off) takes a steady writer at RATE/s;
# REPLICAS fresh replicas full-sync from it together, then every link is cut and must come back
# by partial resync, then a pipelined burst measures how long replicas take to catch up.
# Measured for each server kind (details in bench/repl.py and docs/benchmarks.md): full sync
# time, snapshots taken per batch of syncs, the master's peak extra memory during the sync
# (redis: fork copy-on-write, as Pss of master + child), write p50/p99 during the sync vs. none,
# partial resync time, catch-up time after a burst. One table (ratio = ferrodis/redis), also
# saved to bench/out/repl-<timestamp>.txt.
#
# Usage: bench/repl.sh          (knobs: KEYS SIZE RATE ROUNDS REPLICAS BURST BASELINE_SECS)
#   KEYS=100000 ROUNDS=1 bench/repl.sh     # a quick smoke run
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

export KEYS="${KEYS:-1000000}"
export SIZE="${SIZE:-100}"
export RATE="${RATE:-5000}"
export ROUNDS="${ROUNDS:-3}"
export REPLICAS="${REPLICAS:-2}"
export BURST="${BURST:-100000}"
export BASELINE_SECS="${BASELINE_SECS:-2}"
export WAIT_SECS="${WAIT_SECS:-300}"
export OUT_DIR="${OUT_DIR:-$HERE/out}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || true)}"
PYTHON="${PYTHON:-$(command -v python3 || true)}"

die() { echo "repl.sh: $*" >&2; exit 1; }

[[ -n "$REDIS_BIN" && -x "$REDIS_BIN" ]] || die "redis-server not found (set REDIS_BIN=/path)"
[[ -n "$PYTHON" && -x "$PYTHON" ]] || die "python3 not found (set PYTHON=/path)"
for v in KEYS SIZE RATE ROUNDS REPLICAS BURST; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done

if [[ -z "${FERRODIS_BIN:-}" ]]; then
    echo "building ferrodis-server (release)" >&2
    (cd "$ROOT" && cargo build --release -p ferrodis-server) || die "cargo build failed"
    FERRODIS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrodis-server"
fi
FERRODIS_BIN="$(cd "$(dirname "$FERRODIS_BIN")" && pwd)/$(basename "$FERRODIS_BIN")"
[[ -x "$FERRODIS_BIN" ]] || die "ferrodis binary not found or not executable: $FERRODIS_BIN"
export FERRODIS_BIN

export HEADER="repl.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(hostname) cpus=$(nproc) \
redis=$("$REDIS_BIN" --version | grep -o 'v=[^ ]*') ferrodis=$("$FERRODIS_BIN" --version | grep -o 'v=[^ ]*')"
exec "$PYTHON" "$HERE/repl.py"
