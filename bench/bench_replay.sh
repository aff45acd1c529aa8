#!/bin/sh
# bench/bench_replay.sh - the full pipeline (afgw replay: decode, normalize,
# match, reputation, behaviour, score, Event JSON with verdicts) on a
# generated 1M-message capture, with 1 and 2 workers, beside decode only
# (afgw decode: the same capture, Event JSON without verdicts).  A throwaway
# redis-server holds the generator's blacklist.
#
# Two set-ups.  One gateway: the fleet's shared behaviour counts off, so
# the figures are the gateway's own.  Fleet counts on: every second the
# gateway sends Redis the behaviour keys it saw (PFADD / PFCOUNT for each,
# see gateway/fleet.c), and Redis, here on the same two cores, uses about
# as much CPU as a worker: in production it runs on its own host.  The
# script prints Redis's CPU seconds beside those runs.
#
# The generator draws its SMS texts from tests/data/sms_corpus.tsv (about
# 1,900 texts), so nearly every SMS repeats a text seen before and is
# matched from the workers' match cache (memcap.match_cache), as a
# campaign sent to many people would be.  The 1-worker run is also made
# with the cache off: every SMS matched in full, as if every text were new.
#
# usage: bench/bench_replay.sh [BUILD_DIR] [MESSAGES]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-release}
n=${2:-1000000}
work=${AFGW_BENCH_DIR:-/tmp/afgw-bench}
mkdir -p "$work"
[ -f "$build/build.ninja" ] || meson setup "$build" "$here" -Dbuildtype=release >/dev/null
ninja -C "$build" >/dev/null

cap=$work/mixed-$n.pcap
if [ ! -f "$cap" ]; then
	echo "generating $n messages..."
	"$build/bench/afgw-gen" -n "$n" --seed 1 --tcp 0.3 --ipv6 0.2 --vlan 0.1 --sms 0.4 \
		-o "$cap" --truth "$work/mixed-$n.truth.jsonl"
fi
"$build/bench/afgw-gen" -n 10 -o "$work/tiny.pcap" --blacklist-out "$work/blacklist.txt" >/dev/null

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
url=unix://$dir/redis.sock
"$build/gateway/afgwctl" number import "$work/blacklist.txt" --list black --source police \
	--redis "$url" >/dev/null

t_of() { # seconds a command takes, output discarded
	python3 -c 'import subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if r.returncode: sys.exit("failed: " + " ".join(sys.argv[1:]))
print(f"{time.monotonic() - t:.3f}")' "$@"
}
best() { # best of 3
	a=$(t_of "$@"); b=$(t_of "$@"); c=$(t_of "$@")
	python3 -c "print(min($a, $b, $c))"
}
pipeline_s() { # the replay's own figure: seconds from the first frame to the last verdict
	"$build/gateway/afgw" replay --redis "$url" -o /dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' | head -1
}
# A single gateway: the fleet's shared counts off (behaviour.fleet_sync_ms 0),
# Redis only holds the blacklist.  With the fleet on (the default whenever
# Redis is configured) Redis also counts every message's behaviour keys,
# and on a 2-core machine that Redis competes with the gateway for the
# cores: its CPU seconds are printed beside those runs.
printf 'behaviour:\n  fleet_sync_ms: 0\n' >"$dir/single.yaml"
printf 'behaviour:\n  fleet_sync_ms: 0\nmemcap:\n  match_cache: 0\n' >"$dir/nocache.yaml"
best_pipeline() {
	a=$(pipeline_s "$@"); b=$(pipeline_s "$@"); c=$(pipeline_s "$@")
	python3 -c "print(min($a, $b, $c))"
}
redis_cpu() { # CPU seconds redis-server has used so far
	awk '{ printf "%.2f\n", ($14 + $15) / 100 }' /proc/$pid/stat
}
msgs=$("$build/gateway/afgw" decode "$cap" 2>/dev/null | wc -l)
# The ratios compare runs of decode only, 1 worker and 2 workers: they are
# made in turn, three rounds, and each keeps its best, so a drift in the
# machine's speed (a shared VM's can be 30 % over minutes) touches all three
# alike instead of whichever ran during the slow minute.
t_dec= p_w1= p_w2=
for round in 1 2 3; do
	a=$(t_of "$build/gateway/afgw" decode -q "$cap")
	b=$(pipeline_s --workers 1 -c "$dir/single.yaml" "$cap")
	c=$(pipeline_s --workers 2 -c "$dir/single.yaml" "$cap")
	t_dec=$(python3 -c "print(min(x for x in ($a, ${t_dec:-1e9})))")
	p_w1=$(python3 -c "print(min(x for x in ($b, ${p_w1:-1e9})))")
	p_w2=$(python3 -c "print(min(x for x in ($c, ${p_w2:-1e9})))")
done
p_w1_off=$(best_pipeline --workers 1 -c "$dir/nocache.yaml" "$cap")
r0=$(redis_cpu)
p_w1_fleet=$(best_pipeline --workers 1 "$cap")
r1=$(redis_cpu)
p_w2_fleet=$(best_pipeline --workers 2 "$cap")
r2=$(redis_cpu)
cpu_w2=$("$build/gateway/afgw" replay --redis "$url" -c "$dir/single.yaml" --workers 2 -o /dev/null \
	"$cap" 2>&1 >/dev/null | sed -n 's/^ *CPU: //p')
cached=$("$build/gateway/afgw" replay --redis "$url" -o /dev/null "$cap" 2>&1 >/dev/null |
	sed -n 's/.*match cache: \([0-9]*\) of.*/\1/p')
sms=$("$build/gateway/afgw" replay --redis "$url" -o /dev/null "$cap" 2>&1 >/dev/null |
	sed -n 's/.*(\([0-9]*\) SMS in all).*/\1/p')
t_start=$(best "$build/gateway/afgw" replay -q --redis "$url" -o /dev/null "$work/tiny.pcap")
python3 - "$msgs" "$t_dec" "$p_w1" "$p_w2" "$p_w1_off" "$p_w1_fleet" "$p_w2_fleet" "$t_start" \
	"$cached" "$sms" "$r0" "$r1" "$r2" "$cpu_w2" <<'PY'
import sys
a = sys.argv[1:]
n = int(a[0])
dec, w1, w2, w1off, f1, f2, start = map(float, a[1:8])
cached, sms = int(a[8]), int(a[9])
r0, r1, r2 = map(float, a[10:13])
cpu_w2 = a[13]
print(f"messages:                  {n}")
print(f"afgw decode (decode only): {dec:7.3f} s  {n/dec:10,.0f} messages/s")
print(f"afgw replay start-up (rules compiled, replica loaded, a 10-message capture): {start:.3f} s")
print("afgw replay, one gateway (fleet counts off), seconds from the first frame to the last verdict:")
print(f"  1 worker:   {w1:7.3f} s  {n/w1:10,.0f} messages/s  ({dec/w1:.2f}x decode only)")
print(f"  2 workers:  {w2:7.3f} s  {n/w2:10,.0f} messages/s  ({dec/w2:.2f}x decode only, {w1/w2:.2f}x 1 worker)")
print(f"    (CPU: {cpu_w2})")
print(f"  1 worker, match cache off: {w1off:.3f} s  {n/w1off:10,.0f} messages/s  ({dec/w1off:.2f}x decode only; every SMS matched in full)")
print(f"  (match cache: {cached:,} of {sms:,} SMS matched from it, {100*cached/max(sms,1):.1f} %)")
print("afgw replay, fleet counts on (the same Redis, on the same cores, counts every message's keys):")
print(f"  1 worker:   {f1:7.3f} s  {n/f1:10,.0f} messages/s  ({dec/f1:.2f}x decode only); redis-server used {(r1-r0)/3:.2f} CPU s a run")
print(f"  2 workers:  {f2:7.3f} s  {n/f2:10,.0f} messages/s  ({dec/f2:.2f}x decode only, {f1/f2:.2f}x 1 worker); redis-server used {(r2-r1)/3:.2f} CPU s a run")
PY
