#!/bin/sh
# bench/bench_decode.sh - decode speed on a generated 1M-message mixed capture,
# beside tshark and tcpdump reading the same file.
#
# usage: bench/bench_decode.sh [BUILD_DIR] [MESSAGES]
# BUILD_DIR should be a release build (default build-release, made if missing).
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
	/usr/bin/time -f "afgw-gen: %e s, %M KiB max RSS" \
		"$build/bench/afgw-gen" -n "$n" --seed 1 --tcp 0.3 --ipv6 0.2 --vlan 0.1 --sms 0.4 \
		-o "$cap" --truth "$work/mixed-$n.truth.jsonl"
fi
ls -l "$cap"

"$build/bench/bench-decode" "$cap" --repeat 3
"$build/bench/bench-decode" "$cap" --repeat 1 --json

t_of() { # seconds a command takes, output discarded
	python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{time.monotonic() - t:.3f}")' "$@"
}
t_afgw=$(t_of "$build/gateway/afgw" decode -q "$cap")
echo "afgw decode (JSON to /dev/null): $t_afgw s"
if command -v tcpdump >/dev/null; then
	t_tcpdump=$(t_of tcpdump -r "$cap" -w /dev/null)
	echo "tcpdump -r -w /dev/null:         $t_tcpdump s"
fi
if command -v tshark >/dev/null; then
	t_tshark=$(t_of tshark -r "$cap" -d tcp.port==2775,smpp)
	echo "tshark -r (SIP+SMPP dissection): $t_tshark s"
	echo "ratio tshark / afgw decode:      $(python3 -c "print(f'{$t_tshark / $t_afgw:.1f}x')")"
fi
