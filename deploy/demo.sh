#!/bin/sh
# deploy/demo.sh - the main job, end to end, on a fresh Debian machine.
#
# Today (decode stage): installs what is missing, builds afgw, generates a
# realistic capture of SIP calls and SMPP / SIP MESSAGE SMS (Chinese and
# English, fraud and legitimate), decodes it with `afgw decode`, and shows
# a few decoded calls and SMS and the decoder's counters.  Screening
# verdicts and residents' warnings join this demo as those stages land.
#
# Output goes to demo-out/ (capture, ground truth, events).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${AFGW_DEMO_BUILD:-$here/build-release}
out=$here/demo-out
n=${AFGW_DEMO_MESSAGES:-20000}

pkgs="meson ninja-build pkg-config gcc libc6-dev libpcap-dev libhyperscan-dev
libhiredis-dev libsodium-dev libutf8proc-dev opencc libopencc-data libyaml-dev python3"
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
echo "== 1. generate $n messages of SIP and SMPP signalling (seed 7)"
"$build/bench/afgw-gen" -n "$n" --seed 7 --fraud 0.2 --sms 0.5 --tcp 0.3 --ipv6 0.2 --vlan 0.1 \
	-o "$out/demo.pcap" --truth "$out/demo.truth.jsonl"

echo "== 2. decode it: afgw decode demo-out/demo.pcap > demo-out/demo.events.jsonl"
"$build/gateway/afgw" decode "$out/demo.pcap" > "$out/demo.events.jsonl"

echo "== 3. a few decoded messages"
python3 - "$out/demo.events.jsonl" <<'PY'
import json, sys
calls = sms_zh = sms_en = 0
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["proto"] == "sip" and e.get("method") == "INVITE" and calls < 3:
        calls += 1
        print(f"  call   {e['ts']}  {e['from']} -> {e['to']}  pai={e['pai']}  ua={e['user_agent']}  ({e['transport']})")
    elif e.get("text"):
        zh = any('\u4e00' <= ch <= '\u9fff' for ch in e["text"])
        if (zh and sms_zh < 3) or (not zh and sms_en < 2):
            if zh: sms_zh += 1
            else: sms_en += 1
            text = e["text"].replace("\n", " ")
            print(f"  sms    {e['op']:<11} {e['from']} -> {e['to']}  dc={e['data_coding']} parts={e['parts']}  {text[:60]}")
PY
echo "== 4. events: $out/demo.events.jsonl ($(wc -l < "$out/demo.events.jsonl") lines)"

echo "== 5. a preview of screening: the default rules on six decoded SMS (afgwctl rules test)"
python3 - "$out/demo.events.jsonl" "$out/demo.sms.txt" <<'PY'
import json, sys
fraud_words = ("安全账户", "刷单", "VIP", "验证码", "parcel", "加V", "+v", "征信")
picked = []
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    t = e.get("text")
    if t and len(picked) < 6 and (len(picked) % 2 == 0 or any(w in t for w in fraud_words)):
        picked.append(t.replace("\\", "\\\\").replace("\n", "\\n"))
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(picked) + "\n")
PY
"$build/gateway/afgwctl" rules test --file "$out/demo.sms.txt" | grep -E "^message|score:"
echo "(full verdicts with reputation and behaviour come with 'afgw replay', not in this build yet)"
