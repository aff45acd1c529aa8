#!/bin/sh
# tests/run.sh - install what the tests need, build with ASan+UBSan, run
# every meson test suite, then the threaded parts under ThreadSanitizer
# (tests/tsan.sh), print the summary, exit non-zero on any failure.
#
# Works on a fresh Debian machine as root.  Build folders: build-asan/ (or
# $AFGW_TEST_BUILD) and build-tsan/.  Extra arguments go to `meson test`
# (e.g. --suite unit) and skip the ThreadSanitizer part.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${AFGW_TEST_BUILD:-$here/build-asan}

# Packages: build tools, the four libraries, and the real peers the tests use.
pkgs="meson ninja-build pkg-config gcc libc6-dev redis-server redis-tools
libpcap-dev libhyperscan-dev libhiredis-dev libsodium-dev libutf8proc-dev opencc libopencc-data libyaml-dev libjansson-dev libmicrohttpd-dev libpcre2-dev
tshark python3 sip-tester iproute2 iputils-ping ethtool libnet-smpp-perl"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "tests/run.sh: installing:$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "tests/run.sh: need root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$here" \
		-Db_sanitize=address,undefined \
		-Db_lundef=false \
		-Dbuildtype=debugoptimized \
		-Dwerror=true
fi
ninja -C "$build"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || rc=$?

# The threaded parts again under ThreadSanitizer (a build of their own);
# skipped when only some suites were asked for.
counts=$(mktemp)
if [ $# = 0 ]; then
	AFGW_TSAN_COUNTS=$counts "$here/tests/tsan.sh" "$build/gateway/afgw" || rc=1
fi

# The plain closing line CI reads: "N passed, N failed".
python3 - "$build/meson-logs/testlog.json" "$counts" <<'PY' || true
import json, sys
ok = fail = skip = 0
tsan = open(sys.argv[2]).read().split()
if len(tsan) == 2:
    ok, fail = int(tsan[0]), int(tsan[1])
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r == "SKIP":
        skip += 1
    else:
        fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
PY
rm -f "$counts"
exit $rc
