#!/bin/sh
# bench/bench_decode.sh - decode speed on a generated 1M-message mixed capture,
# beside tshark and tcpdump reading the same file.
#
# usage: bench/bench_decode.sh [BUILD_DIR] [MESSAGES]
# BUILD_DIR should be a release build (default build-release, made if missing).
# AFGW_BENCH_RUNS (default 3): rounds; each runs every tool once, in turn
# (the in-memory decodes twice), and the best of each is reported (the
# machine may be shared: the best run is the one least disturbed).
# Figures printed:
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

# Rounds: in each, the in-memory decode, the same with JSON, afgw decode
# end to end and tshark run once, one after the other; every figure is the
# best of its runs.  Taking them in turn rather than all runs of one tool
# and then all of the next keeps a drift in the machine's speed (a shared
# VM's can be 30 % over minutes) from landing on one side of a ratio.
python3 - "$build" "$cap" "$runs" <<'PY'
import re, shutil, subprocess, sys, time
build, cap, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
best = {}
msgs = None

def keep(name, t):
    best[name] = min(t, best.get(name, t))

def bench(json):
    global msgs
    args = [build + "/bench/bench-decode", cap, "--repeat", "2"] + (["--json"] if json else [])
    out = subprocess.run(args, stdout=subprocess.PIPE, check=True).stdout.decode()
    m = re.search(r"best of \d+: ([0-9.]+) s", out)
    msgs = int(re.search(r"MB, (\d+) messages", out).group(1))
    return float(m.group(1)), out

def wall(args):
    t = time.monotonic()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t

has_tshark = shutil.which("tshark") is not None
has_tcpdump = shutil.which("tcpdump") is not None
for r in range(runs):
    t, out = bench(False)
    if r == 0:
        print(out.splitlines()[0])
    keep("decode", t)
    keep("decode+json", bench(True)[0])
    keep("afgw", wall([build + "/gateway/afgw", "decode", "-q", cap]))
    if has_tcpdump:
        keep("tcpdump", wall(["tcpdump", "-r", cap, "-w", "/dev/null"]))
    if has_tshark:
        keep("tshark", wall(["tshark", "-r", cap, "-d", "tcp.port==2775,smpp"]))

def rate(t):
    return f"{msgs / t:.0f} messages/s, {t * 1e9 / msgs:.0f} ns/message"

print(f"best of {runs} rounds (each tool once a round, in turn):")
print(f"  decode (in memory, no JSON):       {best['decode']:.3f} s, {rate(best['decode'])}")
print(f"  decode+json (in memory):           {best['decode+json']:.3f} s, {rate(best['decode+json'])}")
print(f"  afgw decode (JSON to /dev/null):   {best['afgw']:.3f} s, {rate(best['afgw'])}")
if has_tcpdump:
    print(f"  tcpdump -r -w /dev/null:           {best['tcpdump']:.3f} s")
if has_tshark:
    s = best["tshark"]
    print(f"  tshark -r (SIP+SMPP dissection):   {s:.3f} s, {rate(s)}")
    print(f"times faster than tshark: afgw decode {s / best['afgw']:.1f}x, "
          f"in-memory decode {s / best['decode']:.1f}x, "
          f"in-memory decode+json {s / best['decode+json']:.1f}x")
PY
