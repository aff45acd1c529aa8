#!/bin/sh
# bench/bench_decode.sh - decode speed on a generated 1M-message mixed capture,
# beside tshark and tcpdump reading the same file.
#
# usage: bench/bench_decode.sh [BUILD_DIR] [MESSAGES]
# BUILD_DIR should be a release build (default build-release, made if missing).
# AFGW_BENCH_RUNS (default 3): runs of `afgw decode`, tcpdump and tshark; the
# best is reported (the machine may be shared: the best run is the one least
# disturbed).  Figures printed:
#   decode       in-memory decode (bench-decode, frames loaded first, no JSON)
#   decode+json  the same with every event formatted as its JSON line
#   afgw decode  end to end: read the file, decode, JSON lines to /dev/null
# each as seconds, messages/s and ns/message (messages = SIP messages + SMPP
# PDUs), and tshark's time divided by each (how many times faster than tshark).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-release}
n=${2:-1000000}
runs=${AFGW_BENCH_RUNS:-3}
work=${AFGW_BENCH_DIR:-/tmp/afgw-bench}
mkdir -p "$work"
[ -f "$build/build.ninja" ] || meson setup "$build" "$here" -Dbuildtype=release >/dev/null
ninja -C "$build" gateway/afgw bench/bench-decode bench/afgw-gen >/dev/null

cap=$work/mixed-$n.pcap
if [ ! -f "$cap" ]; then
	echo "generating $n messages..."
	/usr/bin/time -f "afgw-gen: %e s, %M KiB max RSS" \
		"$build/bench/afgw-gen" -n "$n" --seed 1 --tcp 0.3 --ipv6 0.2 --vlan 0.1 --sms 0.4 \
		-o "$cap" --truth "$work/mixed-$n.truth.jsonl"
fi
ls -l "$cap"

out=$("$build/bench/bench-decode" "$cap" --repeat 3)
echo "$out"
t_dec=$(echo "$out" | sed -n 's/^decode: best of [0-9]*: \([0-9.]*\) s,.*/\1/p')
msgs=$(echo "$out" | sed -n 's/^decode: .* MB, \([0-9]*\) messages .*/\1/p')
out=$("$build/bench/bench-decode" "$cap" --repeat 3 --json)
echo "$out"
t_json=$(echo "$out" | sed -n 's/^decode+json: best of [0-9]*: \([0-9.]*\) s,.*/\1/p')

best_of() { # best wall time of $runs runs of a command, output discarded
	python3 -c 'import subprocess, sys, time
best = None
for _ in range(int(sys.argv[1])):
    t = time.monotonic()
    subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.monotonic() - t
    best = t if best is None or t < best else best
print(f"{best:.3f}")' "$runs" "$@"
}
rate() { # messages/s and ns/message for a time in seconds
	python3 -c "import sys; t = float(sys.argv[1]); m = int(sys.argv[2]); \
print(f'{m / t:.0f} messages/s, {t * 1e9 / m:.0f} ns/message')" "$1" "$msgs"
}

t_afgw=$(best_of "$build/gateway/afgw" decode -q "$cap")
echo "afgw decode (JSON to /dev/null), best of $runs: $t_afgw s, $(rate "$t_afgw")"
if command -v tcpdump >/dev/null; then
	t_tcpdump=$(best_of tcpdump -r "$cap" -w /dev/null)
	echo "tcpdump -r -w /dev/null, best of $runs:          $t_tcpdump s"
fi
if command -v tshark >/dev/null; then
	t_tshark=$(best_of tshark -r "$cap" -d tcp.port==2775,smpp)
	echo "tshark -r (SIP+SMPP dissection), best of $runs:  $t_tshark s, $(rate "$t_tshark")"
	python3 -c "import sys; s, a, d, j = map(float, sys.argv[1:]); \
print(f'times faster than tshark: afgw decode {s / a:.1f}x, in-memory decode {s / d:.1f}x, \
in-memory decode+json {s / j:.1f}x')" "$t_tshark" "$t_afgw" "$t_dec" "$t_json"
fi
