#!/bin/sh
# `make bench`: cold-start and warm-invoke latency of examples/hello-c through
# the admin API, beside the floor measured in the same run (fork+exec of the
# same binary, no sandbox, no platform). Prints the machine and commit.
set -eu
BUILD=${HEARTH_BUILD:-$(pwd)/build}
HEARTH="$BUILD/hearth"
BENCH="$BUILD/bench/invoke-bench"
HELLO="$BUILD/examples/hello-c"
WARM_N=${WARM_N:-5000}
COLD_N=${COLD_N:-200}
FLOOR_N=${FLOOR_N:-500}
SBX_N=${SBX_N:-500}
SBX_BENCH="$BUILD/bench/sandbox-bench"

DATA=$(mktemp -d /tmp/hearth-bench.XXXXXX)
"$HEARTH" serve --data "$DATA" --listen 127.0.0.1:0 2>"$DATA.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
i=0
while [ ! -s "$DATA/address" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$DATA.log"; exit 1; }; sleep 0.05
done
ADDR=$(cat "$DATA/address"); HOST=${ADDR%:*}; PORT=${ADDR##*:}
TOKEN=$(cat "$DATA/token")
export HEARTH_API="http://$ADDR"

echo "hearth bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo

"$HEARTH" deploy hello --runtime provided --handler hello --code "$HELLO" --data "$DATA" >/dev/null
i=0
while [ $i -lt "$COLD_N" ]; do
	"$HEARTH" deploy "cold$i" --runtime provided --handler hello --code "$HELLO" --data "$DATA" >/dev/null
	i=$((i + 1))
done

printf '%-44s %10s %10s %10s %10s %6s\n' "measure (µs)" p50 p90 p99 max n
row() { printf '%-44s %10s %10s %10s %10s %6s\n' "$1" $2; }
row "floor: fork+exec of the bootstrap, no sandbox" "$("$BENCH" floor "$HELLO/bootstrap" "$FLOOR_N" 2>/dev/null)"
row "cold start, sandboxed (request to answer)" "$("$BENCH" cold "$HOST" "$PORT" "$TOKEN" cold "$COLD_N")"
row "warm invoke through the admin API" "$("$BENCH" warm "$HOST" "$PORT" "$TOKEN" hello "$WARM_N")"
# Sandbox set-up alone (issue 3), with its floor from the same run: a bare
# userns + read-only pivot_root + exec, no cgroups, seccomp or masks.
row "floor: userns+mount+pid ns, ro pivot_root, exec" "$("$SBX_BENCH" floor "$SBX_N")"
row "sandbox set-up: spawn request to /init exec" "$("$SBX_BENCH" hearth "$BUILD/hearth-init" "$HELLO" "$SBX_N")"
echo
echo "targets (issue 2): cold start p50 <= 5000 µs; warm invoke p50 <= 500 µs"
echo "targets (issue 3): sandbox set-up p50 <= 1500 µs, p99 <= 4000 µs"
