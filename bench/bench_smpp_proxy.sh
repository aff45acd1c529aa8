#!/bin/sh
# bench/bench_smpp_proxy.sh - SMS throughput and added latency of `afgw run`
# in smpp-proxy mode.  smpp_load (bench/smpp_load.c) plays both ends: a sink
# SMSC that answers everything at once, and ESMEs that bind_transmitter and
# keep a window of submit_sm (UCS-2 Chinese SMS, every 50th a fraud text)
# outstanding.  Four targets for the same traffic, one table line each:
#
#   a  ESMEs straight to the sink SMSC (no proxy): the baseline
#   b  through afgw, smpp.screening false (relay only)
#   c  through afgw, screening on, workers 1
#   d  through afgw, screening on, workers 2
#
# with messages/s, p50 / p99 latency from submit_sm to its resp, the rate
# against (a) and the latency added to (a).  Under that load the latency is
# mostly queueing (window / rate), so each target also gets a run of one
# session with a window of 1: the latency one SMS sees on a quiet link.
# The three afgw run side by side (idle when not measured) and the runs go
# a b c d, a b c d ... so that other load on the machine falls on all of
# them alike; each afgw's CPU time per SMS is printed too, the figure that
# depends least on that load.  In (c) and (d) every fraud text must come
# back ESME_RSUBMITFAIL (0x45) and nothing else may: a WARNING line says
# when not (a verdict came too late and the proxy failed open, or a rule
# changed).  No Redis (an empty reputation replica), no root; loopback
# ports picked free; everything bounded in time.
#
# usage: bench/bench_smpp_proxy.sh BUILD_DIR [MESSAGES[,MESSAGES...]]
#   MESSAGES  submit_sm per run (default 200000); a comma list sweeps them
#   env: SMPP_LOAD=path of a smpp_load binary (else BUILD_DIR/bench/smpp-load,
#        else compiled from bench/smpp_load.c into the scratch directory);
#        SESSIONS (4), WINDOW (32), FRAUD_EVERY (50); REPEAT (3): rounds,
#        the run with the median rate shown; LAT_MESSAGES (5000): the
#        unloaded latency run; AFGW_BENCH_KEEP=1 keeps the scratch
#        directory (configs, afgw logs, metrics, result lines)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [MESSAGES[,MESSAGES...]]" >&2; exit 2; }
build=$(cd "$1" && pwd)
sweep=$(echo "${2:-200000}" | tr ',' ' ')
sessions=${SESSIONS:-4}
window=${WINDOW:-32}
fraud_every=${FRAUD_EVERY:-50}
repeat=${REPEAT:-3}
lat_n=${LAT_MESSAGES:-5000}
for m in $sweep $sessions $window $fraud_every $repeat $lat_n; do
	case $m in '' | *[!0-9]*) echo "$0: not a number: $m" >&2; exit 2 ;; esac
done

dir=$(mktemp -d /tmp/afgw-bench-smpp-XXXXXX)
pids=''
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	if [ -n "${AFGW_BENCH_KEEP:-}" ]; then echo "# scratch kept: $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ninja -C "$build" gateway/afgw >/dev/null
afgw=$build/gateway/afgw
if [ -n "${SMPP_LOAD:-}" ]; then
	load=$SMPP_LOAD
elif ninja -C "$build" bench/smpp-load >/dev/null 2>&1; then
	load=$build/bench/smpp-load
else
	${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -o "$dir/smpp_load" "$here/bench/smpp_load.c"
	load=$dir/smpp_load
fi
mkdir "$dir/res" "$dir/med"

# Seven free loopback ports: the sink SMSC, then listen and metrics of b, c, d.
# shellcheck disable=SC2046 # seven numbers, split on purpose
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
echo "$1" >"$dir/a.port"
echo "$2" >"$dir/b.port"; echo "$3" >"$dir/b.mport"
echo "$4" >"$dir/c.port"; echo "$5" >"$dir/c.mport"
echo "$6" >"$dir/d.port"; echo "$7" >"$dir/d.mport"
smsc_port=$1

# Wait until something listens on 127.0.0.1:$1 (at most $2 seconds), as
# long as process $3 lives.
wait_port() {
	python3 - "$@" <<'PY'
import os, socket, sys, time
port, limit, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + limit
while time.monotonic() < end:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"process {pid} exited before listening on port {port}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(f"nothing listens on port {port} after {limit} s")
PY
}

# SIGTERM $1 and wait for it, at most 15 s, then SIGKILL.
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

# CPU ticks (user + sys, all threads) used so far by the afgw of target $1.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$(cat "$dir/$1.pid")/stat" 2>/dev/null || echo 0
}

# start_proxy TAG SCREENING WORKERS: an afgw in smpp-proxy mode, listening.
start_proxy() {
	cat >"$dir/$1.yaml" <<EOF
mode: smpp-proxy
workers: $3
rules: ~
smpp_ports: [$(cat "$dir/$1.port"), $smsc_port]
output:
  events: none
smpp:
  listen: 127.0.0.1:$(cat "$dir/$1.port")
  upstream: 127.0.0.1:$smsc_port
  accounts: $dir/accounts
  screening: $2
  window: 64
run:
  metrics: 127.0.0.1:$(cat "$dir/$1.mport")
EOF
	"$afgw" run -c "$dir/$1.yaml" >"$dir/$1.afgw.log" 2>&1 &
	echo $! >"$dir/$1.pid"
	pids="$pids $!"
	if ! wait_port "$(cat "$dir/$1.port")" 60 "$!"; then
		echo "afgw run ($1) did not come up; its output:" >&2
		tail -n 20 "$dir/$1.afgw.log" >&2
		exit 1
	fi
}

# run_esme TAG N NAME [SESSIONS WINDOW]: one smpp_load esme run against
# target TAG, its result line into $dir/res/NAME; a WARNING unless every
# fraud text (targets c, d) or none (a, b) was answered 0x45 and everything
# else ok.
run_esme() {
	rc=0
	"$load" esme --connect "127.0.0.1:$(cat "$dir/$1.port")" --system-id bench \
		--password benchpw --sessions "${4:-$sessions}" --messages "$2" \
		--window "${5:-$window}" --fraud-every "$fraud_every" --max-seconds "$esme_max_s" \
		>"$dir/res/$3" 2>"$dir/res/$3.err" || rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$dir/res/$3" ]; then
		echo "WARNING: run $3: smpp_load esme exited $rc: $(tail -n 3 "$dir/res/$3.err" | tr '\n' ' ')"
		[ -s "$dir/res/$3" ] || echo "messages=0 seconds=0 rate=0 p50_us=0 p99_us=0 ok=0" \
			"status_45=0 status_58=0 other=0 errors=$2 fraud=0 fraud_45=0" >"$dir/res/$3"
	fi
	blocking=0
	case $1 in c | d) blocking=1 ;; esac
	awk -v name="$3" -v blocking=$blocking '{
		for (i = 1; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] }
		want = blocking ? v["fraud"] : 0
		if (v["status_45"] != want || v["fraud_45"] != want)
			printf "WARNING: run %s: %d status_45 (%d of them to fraud texts), expected %d\n",
			       name, v["status_45"], v["fraud_45"], want
		if (v["errors"] + v["status_58"] + v["other"] > 0)
			printf "WARNING: run %s: %d unanswered, %d throttled (0x58), %d other statuses\n",
			       name, v["errors"], v["status_58"], v["other"]
	}' "$dir/res/$3"
}

# The sum of field $1 over the result lines in files $2... (not *.err).
sum_field() {
	f=$1
	shift
	for x in "$@"; do case $x in *.err) ;; *) cat "$x" ;; esac; done |
		tr ' ' '\n' | sed -n "s/^$f=//p" | awk '{ s += $1 } END { print s + 0 }'
}

max_n=0
for n in $sweep $((lat_n * 4)); do [ "$n" -gt "$max_n" ] && max_n=$n; done
esme_max_s=$((60 + max_n / 2000)) # 2,000 msg/s at the very least
runs=$(((repeat * $(echo "$sweep" | wc -w) + 2) * 4))
"$load" smsc --listen "127.0.0.1:$smsc_port" --max-seconds $((esme_max_s * runs + 600)) \
	2>"$dir/smsc.log" &
echo $! >"$dir/a.pid"
smsc_pid=$!
pids="$pids $!"
wait_port "$smsc_port" 10 "$smsc_pid"
printf 'bench benchpw\n' >"$dir/accounts"

echo "# afgw smpp-proxy benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "# CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores" \
	"(shared by the SMSC, the ESMEs and afgw); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# afgw: $afgw ($(git -C "$here" describe --always --dirty 2>/dev/null || echo '?'))"
echo "# traffic: $sessions sessions, window $window, every ${fraud_every}th message a fraud text" \
	"(all targets); afgw smpp.window 64, no Redis"

start_proxy b false 1
start_proxy c true 1
start_proxy d true 2
for t in a b c d; do
	run_esme $t 2000 "$t-warmup"
	cpu_ticks $t >"$dir/$t.t0" # start-up (rule compilation) and warm-up not counted
done
for n in $sweep; do
	r=1
	while [ $r -le "$repeat" ]; do
		for t in a b c d; do run_esme $t "$n" "$t-$n-$r"; done
		r=$((r + 1))
	done
	for t in a b c d; do # the run with the median rate
		r=1
		while [ $r -le "$repeat" ]; do
			echo "$(sed -n 's/.* rate=\([0-9]*\) .*/\1/p' "$dir/res/$t-$n-$r") $r"
			r=$((r + 1))
		done | sort -n | sed -n "$(((repeat + 1) / 2))p" >"$dir/med/pick"
		read -r _ r <"$dir/med/pick"
		cp "$dir/res/$t-$n-$r" "$dir/med/$t-$n"
	done
done
for t in a b c d; do
	run_esme $t "$lat_n" "$t-lat" 1 1
	cp "$dir/res/$t-lat" "$dir/med/$t-lat"
done

# afgw's CPU per SMS over the measured runs, its idle CPU, its counters.
for t in b c d; do cpu_ticks $t >"$dir/$t.t1"; done
sleep 1.2 # afgw publishes its counters once a second
for t in b c d; do
	t2=$(cpu_ticks $t)
	python3 - "$(cat "$dir/$t.mport")" >"$dir/$t.metrics" 2>/dev/null <<'PY' || :
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
PY
	sms=$(sum_field messages "$dir"/res/$t-[0-9]* "$dir/res/$t-lat")
	awk -v t="$t" -v t0="$(cat "$dir/$t.t0")" -v t1="$(cat "$dir/$t.t1")" -v t2="$t2" \
		-v hz="$(getconf CLK_TCK)" -v n="$sms" 'BEGIN {
		printf "# %s: afgw CPU (user + sys, all threads, warm-up excluded) %.2f s for %d SMS" \
		       " = %.2f us per SMS; idle afterwards %.0f %% of a core\n", t, (t1 - t0) / hz, n,
		       n ? (t1 - t0) / hz * 1e6 / n : 0, (t2 - t1) / hz / 1.2 * 100 }'
	echo "# $t: afgw counters (warm-up included): $(sed -n -E \
		's/^afgw_smpp_(screened|relayed|blocked|unscreened_[a-z_]+|throttled)_total ([0-9]+).*/\1=\2/p' \
		"$dir/$t.metrics" | tr '\n' ' ')"
	unscreened=$(grep -E '^afgw_smpp_unscreened_[a-z_]+_total' "$dir/$t.metrics" |
		grep -v '^afgw_smpp_unscreened_off_total' | awk '{ s += $2 } END { print s + 0 }')
	if [ "$unscreened" != 0 ]; then
		echo "WARNING: $t: afgw relayed $unscreened SMS unscreened with screening on" \
			"(verdict deadline, hold_bytes or no verdict)"
	fi
done
for t in b c d; do stop "$(cat "$dir/$t.pid")"; done
stop "$smsc_pid"

for n in $sweep lat; do
	echo
	if [ "$n" = lat ]; then
		echo "## unloaded: $lat_n messages, 1 session, window 1"
	else
		echo "## $n messages per run (of $repeat rounds, the run with the median rate)"
	fi
	awk -v n="$n" -v dir="$dir" '
	function load(tag,   line, i, kv, f) {
		getline line < (dir "/med/" tag "-" n)
		close(dir "/med/" tag "-" n)
		f = split(line, kv, " ")
		for (i = 1; i <= f; i++) {
			split(kv[i], p, "=")
			v[tag, p[1]] = p[2]
		}
	}
	BEGIN {
		split("a b c d", tags, " ")
		name["a"] = "a  no proxy (baseline)"
		name["b"] = "b  afgw, screening off"
		name["c"] = "c  afgw, screening, 1 worker"
		name["d"] = "d  afgw, screening, 2 workers"
		printf "%-31s %9s %6s %7s %7s %8s %8s %7s %6s %6s %6s %6s\n", "run", "msg/s",
		       "ratio", "p50 us", "p99 us", "+p50 us", "+p99 us", "ok", "0x45", "0x58",
		       "other", "errors"
		for (i = 1; i <= 4; i++) {
			t = tags[i]
			load(t)
			ratio = v["a", "rate"] > 0 ? v[t, "rate"] / v["a", "rate"] : 0
			printf "%-31s %9d %6.2f %7d %7d %8s %8s %7d %6d %6d %6d %6d\n", name[t],
			       v[t, "rate"], ratio, v[t, "p50_us"], v[t, "p99_us"],
			       t == "a" ? "-" : sprintf("%+d", v[t, "p50_us"] - v["a", "p50_us"]),
			       t == "a" ? "-" : sprintf("%+d", v[t, "p99_us"] - v["a", "p99_us"]),
			       v[t, "ok"], v[t, "status_45"], v[t, "status_58"], v[t, "other"],
			       v[t, "errors"]
		}
	}'
done

# The sink must have received exactly the submit_sm that came back ok.
ok_sum=$(sum_field ok "$dir"/res/*)
got=$(sed -n 's/^smsc: \([0-9]*\) submit_sm.*/\1/p' "$dir/smsc.log")
echo
echo "# $(head -1 "$dir/smsc.log") (ok responses over all runs, warm-ups included: $ok_sum)"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$got" != "$ok_sum" ]; then
	echo "WARNING: the sink SMSC received ${got:-?} submit_sm, the ESMEs had $ok_sum answered ok"
fi
