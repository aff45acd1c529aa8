#!/bin/sh
# deploy/demo.sh - the main job, end to end, on a fresh Debian machine.
#
# Installs what is missing, builds afgw, generates a realistic capture of
# SIP calls and SMPP / SIP MESSAGE SMS (Chinese and English, fraud and
# legitimate, blacklisted callers, Wangiri and mass calling), starts a
# private redis-server, fills the reputation table the way police and
# residents do (afgwctl number import, afgwctl report), screens the capture
# with `afgw replay` and shows the summary and the calls and SMS that would
# be warned about or blocked, with their reasons, the residents' sealed
# warnings, a police bundle with look-back warnings, and finally afgw
# inline on an SMPP link (smpp-proxy mode) refusing fraud SMS.
#
# Output goes to demo-out/ (capture, ground truth, events with verdicts).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${AFGW_DEMO_BUILD:-$here/build-release}
out=$here/demo-out
n=${AFGW_DEMO_MESSAGES:-20000}

pkgs="meson ninja-build pkg-config gcc libc6-dev redis-server redis-tools libpcap-dev libhyperscan-dev
libhiredis-dev libsodium-dev libutf8proc-dev opencc libopencc-data libyaml-dev libjansson-dev libmicrohttpd-dev python3"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "demo: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi

[ -f "$build/build.ninja" ] || meson setup "$build" "$here" -Dbuildtype=release >/dev/null
ninja -C "$build" >/dev/null

mkdir -p "$out"
echo "== 1. generate $n messages of SIP and SMPP signalling (seed 7): calls, SMS in Chinese and"
echo "      English, fraud texts, blacklisted callers, Wangiri bursts, mass calling"
"$build/bench/afgw-gen" -n "$n" --seed 7 --fraud 0.2 --sms 0.5 --tcp 0.3 --ipv6 0.2 --vlan 0.1 \
	--blacklisted 0.03 --wangiri 0.03 --mass-call 0.03 \
	-o "$out/demo.pcap" --truth "$out/demo.truth.jsonl" --blacklist-out "$out/blacklist.txt" \
	>/dev/null

echo "== 2. a private redis-server on $out/redis/redis.sock (stopped at the end)"
mkdir -p "$out/redis"
redis-server --port 0 --unixsocket "$out/redis/redis.sock" --unixsocketperm 700 --save "" \
	--appendonly no --dir "$out/redis" --hash-max-listpack-entries 512 >/dev/null &
redis_pid=$!
afgw_pid= smsc_pid=
trap 'kill $afgw_pid $smsc_pid $redis_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$out/redis"' EXIT
i=0
until redis-cli -s "$out/redis/redis.sock" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 500 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.01
done
redis=unix://$out/redis/redis.sock

echo "== 3. the police import their blacklist; residents report a number"
"$build/gateway/afgwctl" number import "$out/blacklist.txt" --list black --source police \
	--category blacklisted --redis "$redis"
reported=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("method") == "INVITE" and e["truth"]["pattern"] == "normal" and e.get("from"):
        print(e["from"]); break' "$out/demo.truth.jsonl")
for acct in app:2001 app:2002 app:2003; do
	"$build/gateway/afgwctl" report "$reported" --reporter $acct --category impersonation \
		--redis "$redis"
done

echo "== 4. keys: the gateway's signing key and six residents' app keys; the residents"
echo "      register their phone numbers (the ones this capture's fraudsters target most)"
rm -rf "$out/keys" && mkdir -p "$out/keys"
"$build/gateway/afgwctl" keygen gateway -o "$out/keys/gateway" | sed 's/^/  /'
residents=$(python3 -c '
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    t = e["truth"]
    first = e.get("op") or (e.get("method") == "INVITE" and "to_tag" not in e)
    if first and (t.get("label") == "fraud" or t.get("pattern") == "blacklisted"):
        if (e.get("to") or "").startswith("+86"):
            c[e["to"]] += 1
print(" ".join(n for n, _ in c.most_common(6)))' "$out/demo.truth.jsonl")
i=0
for msisdn in $residents; do
	i=$((i + 1))
	"$build/gateway/afgwctl" keygen app -o "$out/keys/resident$i" >/dev/null
	"$build/gateway/afgwctl" sub add "$msisdn" --account "resident$i" \
		--pubkey "$out/keys/resident$i.pub" --prefs csl --redis "$redis" | sed 's/^/  /'
done

echo "== 5. screen the capture: afgw replay --redis $redis --gateway-key ... demo-out/demo.pcap"
"$build/gateway/afgw" replay --redis "$redis" --workers 2 --gateway-key "$out/keys/gateway.key" \
	-o "$out/demo.events.jsonl" "$out/demo.pcap" 2>&1 | sed -n '/^  decode:/q;p'

echo "== 6. verdicts: calls and SMS that score warn or block, and why"
python3 - "$out/demo.events.jsonl" <<'PY'
import json, sys
shown = {}
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    v = e["verdict"]
    if v["action"] == "allow":
        continue
    lead = max(v["reasons"], key=lambda r: r["weight"])
    kind = lead["source"] + ":" + lead["id"].split(".")[1] if lead["source"] == "rule" else lead["source"] + ":" + lead["id"]
    if shown.get(kind, 0) >= 1 or len(shown) >= 10:
        continue
    shown[kind] = shown.get(kind, 0) + 1
    what = (e.get("text") or "").replace("\n", " ")[:46] if e.get("op") else e.get("method") or e.get("status")
    top = sorted(v["reasons"], key=lambda r: -abs(r["weight"]))[:3]
    why = ", ".join("%s %s %+d" % (r["source"], r["id"], r["weight"]) for r in top)
    print(f"  {v['action']:<5} {v['score']:>3}  {e.get('from') or '?'} -> {e.get('to') or '?'}  {what}")
    print(f"             because: {why}")
PY
echo "== 7. each resident's app: afgwctl inbox (reads the warnings stream, checks the gateway's"
echo "      signature, decrypts with the resident's own key)"
i=0
for msisdn in $residents; do
	i=$((i + 1))
	echo "-- resident$i:"
	"$build/gateway/afgwctl" inbox --account "resident$i" --key "$out/keys/resident$i.key" \
		--gateway-key "$out/keys/gateway.pub" --redis "$redis" 2>&1 | head -n 9 | sed 's/^/  /'
done
echo "== 8. the police anti-fraud centre lists the numbers that defrauded these residents"
echo "      unnoticed, signs the list as a bundle and pushes it to the fleet (afgwctl bundle);"
echo "      the gateway verifies it, applies it, and warns whom those numbers contacted"
rm -rf "$out/police" && mkdir -p "$out/police/src"
"$build/gateway/afgwctl" keygen police -o "$out/police/police" | sed 's/^/  /'
cp "$out/police/police.pub" "$out/police/trust.keyring"
python3 - "$out/demo.events.jsonl" "$out/demo.truth.jsonl" "$residents" \
	> "$out/police/src/list.numbers" <<'PY'
import json, sys
allowed = set()
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["verdict"]["action"] == "allow" and e.get("from"):
        allowed.add((e["from"], e.get("to")))
residents = set(sys.argv[3].split())
listed = set()
print("# fraud numbers that reached registered residents without a warning")
for line in open(sys.argv[2], encoding="utf-8"):
    e = json.loads(line)
    key = (e.get("from"), e.get("to"))
    if e["truth"].get("label") == "fraud" and e.get("to") in residents and key in allowed \
            and e["from"].startswith("+") and e["from"] not in listed and len(listed) < 20:
        listed.add(e["from"])
        print("%s black 90 police_list" % e["from"])
PY
echo "  $(grep -c black "$out/police/src/list.numbers") numbers listed"
rm -f "$out/police/b1.bundle"
"$build/gateway/afgwctl" bundle build "$out/police/src" --serial "$(date +%s)" --expires +7d \
	-o "$out/police/b1.bundle" >/dev/null
"$build/gateway/afgwctl" bundle sign "$out/police/b1.bundle" --key "$out/police/police.key" >/dev/null
"$build/gateway/afgwctl" bundle push "$out/police/b1.bundle" --redis "$redis" | sed 's/^/  /'
cat > "$out/police/afgw.yaml" <<YAML
bundle:
  trust: $out/police/trust.keyring
  state_dir: $out/police/state
YAML
rm -rf "$out/police/state"
"$build/gateway/afgw" replay -c "$out/police/afgw.yaml" --redis "$redis" --workers 2 \
	--gateway-key "$out/keys/gateway.key" -o none "$out/demo.pcap" 2>&1 \
	| grep -E 'bundle|lookback|^afgw replay' | sed 's/^/  /'
echo "  audit: $(tail -n 1 "$out/police/state/audit.log")"
i=0
for msisdn in $residents; do
	i=$((i + 1))
	echo "-- resident$i, new warnings:"
	"$build/gateway/afgwctl" inbox --account "resident$i" --key "$out/keys/resident$i.key" \
		--gateway-key "$out/keys/gateway.pub" --redis "$redis" 2>&1 | head -n 6 | sed 's/^/  /'
done
echo "== 9. inline on an SMPP link: afgw run in smpp-proxy mode between a bulk-SMS sender (an"
echo "      ESME, 2 sessions) and the SMSC, both played by bench/smpp-load; every 5th SMS is a"
echo "      fraud text: the gateway refuses it (submit_sm_resp 0x45) and relays the rest"
# shellcheck disable=SC2046
set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
echo "bulk1 demo-pw" > "$out/esme.accounts"
chmod 600 "$out/esme.accounts"
cat > "$out/smpp-proxy.yaml" <<YAML
mode: smpp-proxy
workers: 2
redis:
  url: $redis
notify:
  gateway_key: $out/keys/gateway.key
output:
  events: $out/smpp.events.jsonl
smpp:
  listen: 127.0.0.1:$1
  upstream: 127.0.0.1:$2
  accounts: $out/esme.accounts
YAML
"$build/bench/smpp-load" smsc --listen "127.0.0.1:$2" --max-seconds 120 2> "$out/smsc.log" &
smsc_pid=$!
"$build/gateway/afgw" run -c "$out/smpp-proxy.yaml" 2> "$out/smpp-proxy.log" &
afgw_pid=$!
i=0
until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$1" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "afgw run (smpp-proxy) did not start" >&2; exit 1; }
	sleep 0.1
done
"$build/bench/smpp-load" esme --connect "127.0.0.1:$1" --system-id bulk1 --password demo-pw \
	--sessions 2 --messages 1000 --window 10 --fraud-every 5 --max-seconds 60 | sed 's/^/  ESME: /'
kill -TERM "$afgw_pid"; wait "$afgw_pid" || true
kill -TERM "$smsc_pid"; wait "$smsc_pid" || true
afgw_pid= smsc_pid=
sed 's/^/  /' "$out/smsc.log"
grep -E 'stopped' "$out/smpp-proxy.log" | sed 's/^/  /'
echo "  $(wc -l < "$out/smpp.events.jsonl") events (warn and block) in $out/smpp.events.jsonl"
echo "== events with verdicts: $out/demo.events.jsonl ($(wc -l < "$out/demo.events.jsonl") lines)"
