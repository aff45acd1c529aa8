#!/bin/sh
# bench/bench_reputation.sh - the reputation replica with a 10 million number
# blacklist: bulk import, full load time and memory of a gateway's replica,
# lookup ns.  Starts its own redis-server on a private unix socket.
#
# usage: bench/bench_reputation.sh [BUILD_DIR] [NUMBERS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-release}
n=${2:-10000000}
[ -f "$build/build.ninja" ] || meson setup "$build" "$here" -Dbuildtype=release >/dev/null
ninja -C "$build" bench/bench-rep >/dev/null
dir=$(mktemp -d /tmp/afgw-bench-redis-XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" \
	--appendonly no --dir "$dir" --hash-max-listpack-entries 512 >/dev/null &
pid=$!
i=0
until redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 500 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.01
done
"$build/bench/bench-rep" --redis "unix://$dir/redis.sock" --numbers "$n"
echo "redis-server memory: $(redis-cli -s "$dir/redis.sock" info memory | grep '^used_memory_human' | cut -d: -f2 | tr -d '\r')"
