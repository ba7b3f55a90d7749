#!/usr/bin/env bash
# Side-by-side benchmark: redis-server vs ferrodis-server on 127.0.0.1.
#
# Measures, for each server variant (VARIANTS: redis-server as packaged, ferrodis with
# io-threads 1, ferrodis with io-threads = number of CPUs):
#   * throughput of redis-benchmark tests (TESTS) at pipeline 1 and 16, with the benchmark
#     client single-threaded and with `--threads 2` (CLIENT_THREADS), median over ROUNDS;
#     variants alternate A B C A B C so drift hits all alike,
#   * server CPU per request (utime+stime from /proc/PID/stat around each run),
#   * the benchmark client's own CPU use, in cores (shows when the client is the bottleneck),
#   * memory of a fresh instance after loading each scenario in MEM_SCENARIOS (VmRSS, INFO
#     used_memory, DBSIZE as a check).
# Prints one table (ratio = variant/redis) and saves it to bench/out/<timestamp>.txt.
#
# Usage: bench/compare.sh            (see docs/benchmarks.md for every knob)
#   FERRODIS_BIN=$(which redis-server) bench/compare.sh    # redis vs redis, sanity check
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

# ---- knobs -----------------------------------------------------------------------------------
ROUNDS="${ROUNDS:-3}"                 # rounds of A B per (test, pipeline); median is reported
TESTS="${TESTS:-set,get}"             # redis-benchmark -t names, one invocation each
PIPELINES="${PIPELINES:-1 16}"        # -P values
CLIENT_THREADS="${CLIENT_THREADS:-1 2}"   # redis-benchmark --threads values
VARIANTS="${VARIANTS:-redis ferrodis ferrodis_mt}"   # servers in the throughput table
MT_THREADS="${MT_THREADS:-$(nproc)}"  # io-threads of the ferrodis_mt variant
CLIENTS="${CLIENTS:-50}"              # -c
N_P1="${N_P1:-200000}"                # -n at pipeline 1
N_PIPE="${N_PIPE:-4000000}"           # -n at pipeline > 1
DATASIZE="${DATASIZE:-3}"             # -d
KEYSPACE="${KEYSPACE:-}"              # -r (empty: redis-benchmark's default, a single key)
MEM_SCENARIOS="${MEM_SCENARIOS-strings_1m}"   # see mem_* functions below; "" to skip
SKIP_THROUGHPUT="${SKIP_THROUGHPUT:-0}"
WAIT_SECS="${WAIT_SECS:-15}"          # how long a server may take to answer PING
REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || true)}"
REDIS_CLI="${REDIS_CLI:-$(command -v redis-cli || true)}"
REDIS_BENCHMARK="${REDIS_BENCHMARK:-$(command -v redis-benchmark || true)}"
PYTHON="${PYTHON:-$(command -v python3 || true)}"
OUT_DIR="${OUT_DIR:-$HERE/out}"

die() { echo "compare.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for tool in REDIS_BIN REDIS_CLI REDIS_BENCHMARK PYTHON; do
    [[ -n "${!tool}" && -x "${!tool}" ]] || die "$tool not found (set $tool=/path)"
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"

CLK_TCK="$(getconf CLK_TCK)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferrodis-bench.XXXXXX")"
declare -a PIDS=()

# ---- cleanup: never leave a server behind ----------------------------------------------------
stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the ferrodis binary ---------------------------------------------------------------------
if [[ -z "${FERRODIS_BIN:-}" ]]; then
    log "building ferrodis-server (release)"
    (cd "$ROOT" && cargo build --release -p ferrodis-server) || die "cargo build failed"
    FERRODIS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrodis-server"
fi
[[ -x "$FERRODIS_BIN" ]] || die "ferrodis binary not found or not executable: $FERRODIS_BIN"
# Servers start in their own directories: make a relative path absolute.
[[ "$FERRODIS_BIN" == /* ]] || FERRODIS_BIN="$PWD/$FERRODIS_BIN"

# ---- servers ---------------------------------------------------------------------------------
free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

server_cmd() { # name port -> argv on stdout, one per line
    local name="$1" port="$2"
    case "$name" in
    redis) printf '%s\n' "$REDIS_BIN" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no ;;
    ferrodis) printf '%s\n' "$FERRODIS_BIN" --port "$port" --bind 127.0.0.1 --save '' --io-threads 1 ;;
    ferrodis_mt) printf '%s\n' "$FERRODIS_BIN" --port "$port" --bind 127.0.0.1 --save '' --io-threads "$MT_THREADS" ;;
    *) die "unknown server $name" ;;
    esac
}

# start_server NAME TAG: starts NAME in its own directory, waits for PING.
# Sets globals PORT_<TAG> and PID_<TAG>.
start_server() {
    local name="$1" tag="$2" attempt port pid dir deadline
    for attempt in 1 2 3; do
        port="$(free_port)"
        dir="$WORK/$tag.$attempt"
        mkdir -p "$dir"
        local -a argv
        mapfile -t argv < <(server_cmd "$name" "$port")
        (cd "$dir" && exec "${argv[@]}") >"$dir/server.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        deadline=$((SECONDS + WAIT_SECS))
        while ((SECONDS < deadline)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if [[ "$(timeout 2 "$REDIS_CLI" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == "PONG" ]]; then
                printf -v "PORT_$tag" '%s' "$port"
                printf -v "PID_$tag" '%s' "$pid"
                log "$name ($tag) up: pid $pid port $port"
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            stop_pid "$pid"
            echo "---- $name log ($dir/server.log) ----" >&2
            tail -n 20 "$dir/server.log" >&2 || true
            die "$name did not answer PING on port $port within ${WAIT_SECS}s"
        fi
        local rc=0
        wait "$pid" 2>/dev/null || rc=$?
        echo "---- $name exited with status $rc during startup; log: ----" >&2
        tail -n 20 "$dir/server.log" >&2 || true
        # Retry only when the port was taken between free_port and bind.
        grep -qiE 'address already in use|addrinuse' "$dir/server.log" || break
    done
    die "$name failed to start (command:$(printf ' %q' "${argv[@]}"))"
}

stop_server() { # TAG
    local tag="$1" pid
    pid="$(eval echo "\${PID_$tag}")"
    stop_pid "$pid"
    local -a keep=()
    local p
    for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

cpu_ticks() { # PID -> utime+stime (all threads) in clock ticks
    local stat f
    stat="$(cat "/proc/$1/stat")" || die "process $1 is gone"
    # Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    read -r -a f <<<"${stat##*) }"
    echo $((f[11] + f[12]))
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

info_field() { # port field -> value or '-'
    local v
    v="$("$REDIS_CLI" -h 127.0.0.1 -p "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}')"
    echo "${v:--}"
}

# ---- throughput ------------------------------------------------------------------------------
TPUT="$WORK/throughput.tsv"
MEM="$WORK/memory.tsv"
: >"$TPUT"
: >"$MEM"

# bench_once SERVER TAG ROUND CLIENT_THREADS PIPELINE TEST N
bench_once() {
    local server="$1" tag="$2" round="$3" ct="$4" p="$5" test="$6" n="$7" port pid before after out
    port="$(eval echo "\${PORT_$tag}")"
    pid="$(eval echo "\${PID_$tag}")"
    local -a extra=()
    [[ -n "$KEYSPACE" ]] && extra+=(-r "$KEYSPACE")
    ((ct > 1)) && extra+=(--threads "$ct")
    before="$(cpu_ticks "$pid")"
    # timed.py runs redis-benchmark and writes its user+sys CPU seconds to a file.
    out="$("$PYTHON" "$HERE/timed.py" "$WORK/client.cpu" "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" \
        -c "$CLIENTS" -n "$n" -d "$DATASIZE" -P "$p" -t "$test" "${extra[@]+"${extra[@]}"}" --csv \
        2>"$WORK/bench.err")" ||
        { cat "$WORK/bench.err" >&2; die "redis-benchmark failed against $server"; }
    after="$(cpu_ticks "$pid")"
    # --csv: a header line, then one line per test: "NAME","rps",...
    local rows
    rows="$(printf '%s\n' "$out" | tr -d '\r' | grep -v '^"test"' | grep '^"' || true)"
    [[ -n "$rows" ]] || { printf '%s\n' "$out" >&2; die "no results from redis-benchmark -t $test against $server"; }
    local nrows
    nrows="$(printf '%s\n' "$rows" | wc -l)"
    # CPU covers the whole invocation; a -t name that expands to several tests shares it.
    local cpu_us client_s
    cpu_us="$("$PYTHON" -c "print(($after - $before) / $CLK_TCK * 1e6 / ($n * $nrows))")"
    client_s="$(cat "$WORK/client.cpu")"
    local name rps cores
    while IFS=, read -r name rps _; do
        name="${name//\"/}"
        rps="${rps//\"/}"
        name="$(tr 'A-Z ' 'a-z_' <<<"$name")"
        # Client cores = client CPU seconds / wall seconds of the run (n / rps).
        cores="$("$PYTHON" -c "print(round($client_s / ($n * $nrows / $rps), 3))")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$ct" "$p" "$name" "$rps" "$cpu_us" "$cores" >>"$TPUT"
        log "  $server c$ct P$p $name: $rps req/s, ${cpu_us:0:6} us cpu/req, client ${cores} cores"
    done <<<"$rows"
}

run_throughput() {
    local v i=0
    local -a tags=()
    for v in $VARIANTS; do
        start_server "$v" "T$i"
        tags+=("$v:T$i")
        i=$((i + 1))
    done
    local round p test n ct vt
    IFS=',' read -r -a tests <<<"$TESTS"
    for ((round = 1; round <= ROUNDS; round++)); do
        log "round $round/$ROUNDS"
        for ct in $CLIENT_THREADS; do
            for p in $PIPELINES; do
                if ((p == 1)); then n="$N_P1"; else n="$N_PIPE"; fi
                for test in "${tests[@]}"; do
                    for vt in "${tags[@]}"; do
                        bench_once "${vt%%:*}" "${vt##*:}" "$round" "$ct" "$p" "$test" "$n"
                    done
                done
            done
        done
    done
    for vt in "${tags[@]}"; do stop_server "${vt##*:}"; done
}

# ---- memory scenarios ------------------------------------------------------------------------
# A scenario NAME is a function mem_NAME that prints "generator N expected_dbsize":
# `gen.py generator N` writes the RESP stream, N is the item count used for bytes/item, and
# expected_dbsize is checked against DBSIZE. Add one by defining another mem_* function.
mem_strings_1m()      { echo "strings 1000000 1000000"; }      # 1M SET key:i val(i)
mem_zset_1m()         { echo "zset 1000000 1"; }               # one zset, 1M members
mem_hash_1m()         { echo "hash 1000000 1"; }               # one hash, 1M fields
mem_small_hashes_100k() { echo "small_hashes 100000 100000"; } # 100k hashes x 5 fields

run_memory_scenario() {
    local scen="$1" gen n expected file
    declare -F "mem_$scen" >/dev/null || die "unknown memory scenario '$scen' (define mem_$scen)"
    read -r gen n expected < <("mem_$scen")
    file="$WORK/mem_$scen.resp"
    log "memory scenario $scen: generating $gen x $n"
    "$PYTHON" "$HERE/gen.py" "$gen" "$n" >"$file"
    local server tag
    for server in redis ferrodis; do
        tag="M_$server"
        start_server "$server" "$tag"
        local port pid rss0 used0 rss1 used1 dbsize pipe_out
        port="$(eval echo "\${PORT_$tag}")"
        pid="$(eval echo "\${PID_$tag}")"
        rss0="$(rss_kb "$pid")"
        used0="$(info_field "$port" used_memory)"
        local status=ok rc=0
        pipe_out="$(timeout 600 "$REDIS_CLI" -h 127.0.0.1 -p "$port" --pipe --pipe-timeout 60 <"$file" 2>&1)" || rc=$?
        if ((rc != 0)) || ! grep -q "errors: 0," <<<"$pipe_out"; then
            # Report it in the table and go on with the other measurements.
            status="$(grep -m1 -E '^(ERR|WRONGTYPE|-)' <<<"$pipe_out" | cut -c1-80)"
            status="load failed (rc $rc, $(grep -m1 -o 'errors: [0-9]*' <<<"$pipe_out" || echo 'no summary')): ${status:-see log}"
            log "  WARNING: $server: $status"
            grep -v -E '^(ERR|WRONGTYPE)' <<<"$pipe_out" | tail -n 3 >&2 || true
        fi
        sleep 1 # let the allocator settle before sampling
        rss1="$(rss_kb "$pid")"
        used1="$(info_field "$port" used_memory)"
        dbsize="$("$REDIS_CLI" -h 127.0.0.1 -p "$port" dbsize 2>/dev/null | tr -d '\r')"
        [[ "$dbsize" =~ ^[0-9]+$ ]] || dbsize="-"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$scen" "$n" "$rss0" "$rss1" \
            "$used0" "$used1" "$dbsize" "$expected" "$status" >>"$MEM"
        log "  $server: RSS ${rss0}kB -> ${rss1}kB, used_memory $used0 -> $used1, DBSIZE $dbsize"
        stop_server "$tag"
    done
    rm -f "$file"
}

# ---- main ------------------------------------------------------------------------------------
START=$SECONDS
if [[ "$SKIP_THROUGHPUT" != 1 ]]; then
    run_throughput
fi
for scen in $MEM_SCENARIOS; do
    run_memory_scenario "$scen"
done

mkdir -p "$OUT_DIR"
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$OUT_DIR/$STAMP.txt"
# Raw per-round data first, so it survives a failing report.
cp "$TPUT" "$OUT_DIR/$STAMP.throughput.tsv"
cp "$MEM" "$OUT_DIR/$STAMP.memory.tsv"
{
    echo "ferrodis vs redis  $(date -Is)  host: $(nproc) cpus, $(uname -r)"
    echo "redis:    $REDIS_BIN ($("$REDIS_BIN" --version | awk '{print $3}'))"
    echo "ferrodis: $FERRODIS_BIN ($("$FERRODIS_BIN" --version 2>/dev/null | head -n1 | cut -c1-60); repo $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "redis-benchmark -c $CLIENTS -d $DATASIZE${KEYSPACE:+ -r $KEYSPACE} -n $N_P1 (P1) / $N_PIPE (P>1); client threads: $CLIENT_THREADS; tests: $TESTS; rounds: $ROUNDS (median); memory: ${MEM_SCENARIOS:-none}"
    echo "variants: $VARIANTS (ferrodis = --io-threads 1, ferrodis_mt = --io-threads $MT_THREADS; redis = packaged defaults)"
    echo
    "$PYTHON" "$HERE/report.py" "$TPUT" "$MEM"
    echo
    echo "ratio = variant/redis; cN = redis-benchmark --threads N; cpu = server utime+stime per request;"
    echo "client cores = redis-benchmark's CPU seconds / run time (near 1.0 per client thread: the client is the limit);"
    echo "bytes/item = (after - empty instance) / items"
    echo "spread = (max - min) / median over the rounds, worst of the servers: ratios inside it are noise"
    echo "elapsed: $((SECONDS - START))s"
} | tee "$OUT"
echo "saved: $OUT" >&2
