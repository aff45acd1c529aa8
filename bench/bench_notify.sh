#!/bin/sh
# bench/bench_notify.sh - warnings per second end to end (sign + seal + XADD,
# pipelined, through the notifier thread) beside sign + seal alone, against a
# throwaway redis-server on a private unix socket.
#
# usage: bench/bench_notify.sh [BUILD_DIR] [WARNINGS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-release}
n=${2:-20000}
[ -f "$build/build.ninja" ] || meson setup "$build" "$here" -Dbuildtype=release >/dev/null
ninja -C "$build" bench/bench-notify >/dev/null
dir=$(mktemp -d /tmp/afgw-bench-redis-XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" \
	--appendonly no --dir "$dir" >/dev/null &
pid=$!
i=0
until redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 500 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.01
done
"$build/bench/bench-notify" --redis "unix://$dir/redis.sock" --warnings "$n"
echo "stream length: $(redis-cli -s "$dir/redis.sock" xlen afgw:warn)"
