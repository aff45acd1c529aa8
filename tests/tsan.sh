#!/bin/sh
# tests/tsan.sh - the threaded parts under ThreadSanitizer.
#
# The ASan+UBSan build (tests/run.sh) cannot see data races; this builds
# the gateway and the unit tests of the modules that start threads
# (worker.c's pipeline and hot reload, the reputation replica's feed
# thread, the subscriber registry's, the fleet's sync thread, the
# metrics server) with -fsanitize=thread and runs:
#   - those unit tests (each starts its own redis-server where it needs one);
#   - afgw replay of a generated capture with 2 and 3 workers, whose output
#     must equal the 1-worker run's line for line; also with the smallest
#     queues and half the flows on the capture thread's own worker (its
#     output queue runs full: it scores while the other worker's records
#     must go first), and with every flow on it.
# Any race report fails the run (TSAN_OPTIONS halt_on_error, exit code 66).
#
# usage: tests/tsan.sh [REFERENCE_AFGW]   (called by tests/run.sh with the
# ASan build's afgw, which makes the 1-worker reference faster; build folder
# build-tsan/ or $AFGW_TSAN_BUILD).  Prints "tsan: N passed, N failed", and
# writes "N N" to $AFGW_TSAN_COUNTS if that is set.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${AFGW_TSAN_BUILD:-$here/build-tsan}
ref=${1:-$build/gateway/afgw}
tests="test_reload test_reputation test_subscriber test_fleet test_metrics"

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$here" \
		-Db_sanitize=thread \
		-Dbuildtype=debugoptimized \
		-Dwerror=true >/dev/null
fi
targets="gateway/afgw bench/afgw-gen"
for t in $tests; do
	targets="$targets tests/unit/$t"
done
# shellcheck disable=SC2086
ninja -C "$build" $targets >/dev/null

export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1}
work=$(mktemp -d /tmp/afgw-tsan-XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
result() { # NAME RC
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
		echo "tsan: $1 OK"
	else
		failed=$((failed + 1))
		echo "tsan: $1 FAIL (exit $2)"
	fi
}

for t in $tests; do
	rc=0
	(cd "$work" && timeout 600 "$build/tests/unit/$t") >"$work/$t.log" 2>&1 || rc=$?
	[ $rc = 0 ] || tail -n 40 "$work/$t.log"
	result "$t" $rc
done

"$build/bench/afgw-gen" -n 20000 --seed 7 --tcp 0.3 --ipv6 0.2 --vlan 0.1 --sms 0.4 \
	-o "$work/cap.pcap" >/dev/null 2>&1
printf 'memcap:\n  queue_bytes: 64 KiB\ncapture_share: 50\n' >"$work/small.yaml"
printf 'capture_share: 100\n' >"$work/all0.yaml"
for run in "1" "2" "3" "2 small" "3 all0"; do
	set -- $run
	w=$1 name=w$1${2:-} cfg=
	[ -z "${2:-}" ] || cfg="-c $work/$2.yaml"
	rc=0
	afgw=$build/gateway/afgw
	[ $w != 1 ] || afgw=$ref
	# shellcheck disable=SC2086
	timeout 900 "$afgw" replay -q --workers $w $cfg -o "$work/$name.jsonl" \
		"$work/cap.pcap" 2>"$work/$name.err" || rc=$?
	if [ $rc = 0 ] && [ $w != 1 ] && ! cmp -s "$work/w1.jsonl" "$work/$name.jsonl"; then
		echo "tsan: --workers $run output differs from --workers 1"
		rc=1
	fi
	[ $rc = 0 ] || tail -n 40 "$work/$name.err"
	result "replay --workers $run" $rc
done

echo "tsan: $passed passed, $failed failed"
[ -z "${AFGW_TSAN_COUNTS:-}" ] || echo "$passed $failed" >"$AFGW_TSAN_COUNTS"
[ $failed = 0 ]
