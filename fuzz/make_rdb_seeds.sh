#!/usr/bin/env bash
# Regenerate the rdb_reader seed corpus (fuzz/seeds/rdb_reader/) from a real redis-server:
# small dumps that together hold every encoding Redis 7.0 writes (int/embstr/raw/LZF strings,
# listpack and quicklist lists, intset and hashtable sets, listpack and hashtable hashes,
# listpack and skiplist zsets, streams with groups, expiries, several databases).
# The files have no .rdb suffix because *.rdb is gitignored.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/seeds/rdb_reader"
WORK="$(mktemp -d)"
PID=""
cleanup() {
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID"
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

start() { # extra redis-server args...
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
        --dbfilename dump.rdb --list-max-listpack-size 4 "$@" >"$WORK/log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        [[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == PONG ]] && return 0
        sleep 0.1
    done
    cat "$WORK/log" >&2
    exit 1
}
stop() { redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; wait "$PID" 2>/dev/null || true; PID=""; rm -f "$WORK/dump.rdb"; }
r() { redis-cli -p "$PORT" "$@" >/dev/null; }
save_as() { r save; cp "$WORK/dump.rdb" "$OUT/$1"; r flushall; }

small_types() {
    r set int 12345
    r set neg -42
    r set emb hello
    r set raw "$(printf 'x%.0s' {1..100})"
    r set compressible "$(printf 'abcabcabc%.0s' {1..50})"
    r rpush list a b c 1 2 3 d e f g h i j
    r rpush smalllist x y
    r sadd iset 1 2 3 100000
    r sadd hset a b c
    r hset hlp f1 v1 f2 2
    r zadd zlp 1 a 2.5 b -3 c
    r set withttl v PX 100000000
    r xadd stream 1-1 field value
    r xadd stream 2-1 f2 v2
    r xgroup create stream g1 0
    r xreadgroup group g1 c1 count 1 streams stream '>'
    r select 3
    r set indb3 v
    r select 0
}

start
small_types
save_as redis70-small-types
# Past the listpack/intset thresholds: hashtable sets and hashes, skiplist zsets.
for i in $(seq 0 149); do echo "HSET bighash f$i v$i"; echo "ZADD bigzset $i m$i"; echo "SADD bigset s$i"; echo "SADD bigintset $i"; done | redis-cli -p "$PORT" >/dev/null
r sadd bigintset 1 # stays intset under 512
for i in $(seq 0 599); do echo "SADD hugeintset $i"; done | redis-cli -p "$PORT" >/dev/null
save_as redis70-big-encodings
stop

start --rdbcompression no
small_types
save_as redis70-uncompressed
stop
ls -l "$OUT"
