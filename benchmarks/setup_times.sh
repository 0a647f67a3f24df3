#!/usr/bin/env bash
# Wall time and peak memory of the two set-up commands, `make reproduce` and `make test`, each in
# its own fresh clone of HEAD (so each includes creating .venv and installing) with its own empty
# cache ($DLN_THEORY_CACHE), pinned to 2 cores when the machine has more. Prints the line the
# README states. Slow (both commands from scratch); run it on a machine that is otherwise idle.
#
#     bash benchmarks/setup_times.sh            (or: make setup-times)
#
# Peak memory is GNU time's "Maximum resident set size": the largest single process (pytest or
# dln-theory), not the sum over processes.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dln-setup-times.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
PIN=()
if [ "$(nproc)" -gt 2 ] && command -v taskset >/dev/null; then
    PIN=(taskset -c 0,1)
fi

measure() {  # measure NAME: fresh clone, `make NAME` under GNU time; prints "minutes peak_GiB status"
    local name="$1" clone="$WORK/$1"
    git clone --quiet "$REPO" "$clone"
    local status=0
    (cd "$clone" && DLN_THEORY_CACHE="$WORK/cache-$name" "${PIN[@]}" /usr/bin/time -v \
        -o "$WORK/$name.time" make "$name" >"$WORK/$name.log" 2>&1) || status=$?
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.time")
    # wall is [h:]mm:ss(.ss); rss is in KiB
    python3 -c "import sys
parts = [float(p) for p in sys.argv[1].split(':')]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f'{seconds / 60:.1f} {int(sys.argv[2]) / 2**20:.1f} {sys.argv[3]}')" "$wall" "$rss" "$status"
    if [ "$status" -ne 0 ]; then
        echo "make $name failed (exit $status); last lines of its log:" >&2
        tail -n 20 "$WORK/$name.log" >&2
    fi
}

read -r rep_min rep_gib rep_status < <(measure reproduce)
read -r test_min test_gib test_status < <(measure test)
load=$(cut -d' ' -f1-3 /proc/loadavg)
cores=${#PIN[@]}
cores=$([ "$cores" -gt 0 ] && echo 2 || nproc)
echo "Measured on $(date -u +%Y-%m-%d) in fresh clones (installation included), $cores cores," \
     "load average after the runs $load: \`make reproduce\` took $rep_min min and peaked at" \
     "$rep_gib GiB resident memory; \`make test\` took $test_min min and peaked at $test_gib GiB" \
     "(largest single process)."
[ "$rep_status" = 0 ] && [ "$test_status" = 0 ]
