#!/usr/bin/env bash
# Persistence benchmark: redis-server vs ferrodis-server on 127.0.0.1, one dataset made with
# DEBUG POPULATE (1M keys x 1000 bytes, about 1 GiB, by default).
#
# Measures, for each server (details in bench/persist.py and docs/benchmarks.md):
#   * BGSAVE while a client SETs existing random keys at RATE/s: peak extra memory during the
#     save (ferrodis: VmRSS every 10 ms; redis: the fork's copy-on-write, from INFO and from
#     Pss of parent + child in /proc/PID/smaps_rollup), in MB and as % of the dataset;
#   * write latency p50/p99 during the save vs. the same writer without a save;
#   * time to SAVE, time to load (restart until PING stops answering -LOADING; and the
#     server's "DB loaded from disk" line).
# Prints one table (ratio = ferrodis/redis) and saves it to bench/out/persist-<timestamp>.txt.
#
# Usage: bench/persist.sh                      (knobs: KEYS SIZE RATE ROUNDS BASELINE_SECS)
#   KEYS=100000 ROUNDS=1 bench/persist.sh     # a quick smoke run
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

export KEYS="${KEYS:-1000000}"                # DEBUG POPULATE count
export SIZE="${SIZE:-1000}"                   # value size in bytes
export RATE="${RATE:-5000}"                   # writer SETs per second
export ROUNDS="${ROUNDS:-3}"                  # repetitions of each measurement (medians)
export BASELINE_SECS="${BASELINE_SECS:-3}"    # writer-only window per round
export WAIT_SECS="${WAIT_SECS:-300}"          # bound on every wait (start, load, save)
export OUT_DIR="${OUT_DIR:-$HERE/out}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || true)}"
PYTHON="${PYTHON:-$(command -v python3 || true)}"

die() { echo "persist.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

[[ -n "$REDIS_BIN" && -x "$REDIS_BIN" ]] || die "redis-server not found (set REDIS_BIN=/path)"
[[ -n "$PYTHON" && -x "$PYTHON" ]] || die "python3 not found (set PYTHON=/path)"
for v in KEYS SIZE RATE ROUNDS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done

if [[ -z "${FERRODIS_BIN:-}" ]]; then
    log "building ferrodis-server (release)"
    (cd "$ROOT" && cargo build --release -p ferrodis-server) || die "cargo build failed"
    FERRODIS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrodis-server"
fi
[[ -x "$FERRODIS_BIN" ]] || die "ferrodis binary not found or not executable: $FERRODIS_BIN"
export FERRODIS_BIN

# Servers are children of the python driver, which stops them on exit (normal, error, or
# SIGTERM/SIGINT); the driver's temp directory is removed likewise.
export HEADER="persist.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(hostname) cpus=$(nproc) \
redis=$("$REDIS_BIN" --version | grep -o 'v=[^ ]*') ferrodis=$("$FERRODIS_BIN" --version | grep -o 'v=[^ ]*')"
exec "$PYTHON" "$HERE/persist.py"
