#!/bin/sh
# `make bench`: cold-start and warm-invoke latency of examples/hello-c, and the
# cold starts of examples/hello-python and examples/hello-node, through the
# admin API, beside the floors measured in the same run (fork+exec of the same
# binary or interpreter, no sandbox, no platform). Prints the machine and commit.
set -eu
BUILD=${HEARTH_BUILD:-$(pwd)/build}
HEARTH="$BUILD/hearth"
BENCH="$BUILD/bench/invoke-bench"
HELLO="$BUILD/examples/hello-c"
WARM_N=${WARM_N:-5000}
COLD_N=${COLD_N:-200}
FLOOR_N=${FLOOR_N:-500}
RT_COLD_N=${RT_COLD_N:-50}

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

# The runtimes' cold starts: examples/hello-python and examples/hello-node, each
# deployed RT_COLD_N times so that every call starts a new instance.
EXAMPLES=$(cd "$(dirname "$0")/../examples" && pwd)
i=0
while [ $i -lt "$RT_COLD_N" ]; do
	"$HEARTH" deploy "pycold$i" --runtime python3 --handler lambda_function.lambda_handler \
		--code "$EXAMPLES/hello-python" --data "$DATA" >/dev/null
	"$HEARTH" deploy "nodecold$i" --runtime nodejs --handler index.handler \
		--code "$EXAMPLES/hello-node" --data "$DATA" >/dev/null
	i=$((i + 1))
done

printf '%-44s %10s %10s %10s %10s %6s\n' "measure (µs)" p50 p90 p99 max n
row() { printf '%-44s %10s %10s %10s %10s %6s\n' "$1" $2; }
row "floor: fork+exec of the bootstrap, no sandbox" "$("$BENCH" floor "$HELLO/bootstrap" "$FLOOR_N" 2>/dev/null)"
row "cold start, sandboxed (request to answer)" "$("$BENCH" cold "$HOST" "$PORT" "$TOKEN" cold "$COLD_N")"
row "warm invoke through the admin API" "$("$BENCH" warm "$HOST" "$PORT" "$TOKEN" hello "$WARM_N")"
row "floor: python3 -S -c pass, no sandbox" "$("$BENCH" floor /usr/bin/python3 "$RT_COLD_N" -S -c pass)"
row "cold start, python3 hello (no zygote)" "$("$BENCH" cold "$HOST" "$PORT" "$TOKEN" pycold "$RT_COLD_N")"
row "floor: node -e 0, no sandbox" "$("$BENCH" floor /usr/bin/node "$RT_COLD_N" -e 0)"
row "cold start, nodejs hello (no zygote)" "$("$BENCH" cold "$HOST" "$PORT" "$TOKEN" nodecold "$RT_COLD_N")"
echo
echo "targets (issue 2): cold start p50 <= 5000 µs; warm invoke p50 <= 500 µs"
echo "targets (issue 5): python3 cold p50 <= 15000 µs (<= 5000 with a zygote);"
echo "                   nodejs cold p50 <= 60000 µs (<= 10000 with a zygote); no zygote yet, see docs/sandbox.md"
