#!/usr/bin/env bash
# Build and run the fuzz targets, each for a fixed time.
#
#   fuzz/run.sh                    # every target, 30 s each
#   fuzz/run.sh -t 300 resp_request
#   FUZZ_SANITIZER=none fuzz/run.sh  # faster, no ASan (the crates are safe Rust)
#
# Corpora grow in fuzz/corpus/<target>/ (gitignored); fuzz/seeds/<target>/ is read as extra
# seeds. Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a <target> fuzz/artifacts/<target>/crash-...
# Exit status: 0 when every target built and ran without a finding.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
SANITIZER="${FUZZ_SANITIZER:-address}"
ALL_TARGETS=(resp_request resp_decode rdb_reader)

while getopts "t:h" opt; do
    case "$opt" in
    t) SECONDS_PER_TARGET="$OPTARG" ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }
# cargo-fuzz passes -Z flags; on a stable toolchain this lets rustc accept them.
rustc --version | grep -q nightly || export RUSTC_BOOTSTRAP=1

declare -A result
for t in "${targets[@]}"; do
    args=(-O -a -s "$SANITIZER")
    lf=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    case "$t" in
    resp_request) lf+=(-dict=dict/resp.dict -max_len=131072) ;;
    resp_decode) lf+=(-dict=dict/resp.dict -max_len=65536) ;;
    rdb_reader) args+=(--features rdb); lf+=(-max_len=1048576) ;;
    *) echo "unknown target $t (have: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
    echo "=== $t: build" >&2
    if ! cargo fuzz build "${args[@]}" "$t"; then
        result[$t]="BUILD FAILED"
        continue
    fi
    mkdir -p "corpus/$t" "seeds/$t"
    echo "=== $t: run ${SECONDS_PER_TARGET}s" >&2
    if cargo fuzz run "${args[@]}" "$t" "corpus/$t" "seeds/$t" -- "${lf[@]}"; then
        result[$t]="ok ($(find "corpus/$t" -type f | wc -l) corpus entries)"
    else
        result[$t]="FINDING (see artifacts/$t/)"
    fi
done

status=0
echo
echo "fuzz summary (${SECONDS_PER_TARGET}s per target, sanitizer: $SANITIZER):"
for t in "${targets[@]}"; do
    printf '  %-14s %s\n' "$t" "${result[$t]}"
    [[ "${result[$t]}" == ok* ]] || status=1
done
exit $status
