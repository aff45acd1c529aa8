#!/usr/bin/env python3
"""Generator round trip: afgw decode of a generated capture equals its ground truth.

usage: roundtrip.py AFGW_GEN AFGW [N] [extra afgw-gen flags...]

With --bad P among the flags, damaged messages (and those after damage on
the same connection) are not required; every undamaged one still is, and
the decoder must finish normally.

Generates N messages (default 100000) with TCP splits, reordering and
retransmissions, IPv4 fragments, VLAN tags, IPv6 and concatenated SMS,
decodes the capture with `afgw decode`, and compares every event with the
ground truth field by field (every field the truth line has, except the
generator's own "truth" labels).  Events are matched as multisets, so the
order of events from different flows does not matter; a missing, extra or
different event fails the test with the fields that differ.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile


def project(ev, keys):
    return json.dumps({k: ev.get(k, "<absent>") for k in keys}, sort_keys=True, ensure_ascii=False)


def main():
    gen, afgw = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    extra = sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="afgw-rt-") as tmp:
        pcap = os.path.join(tmp, "rt.pcap")
        truth = os.path.join(tmp, "rt.truth.jsonl")
        cmd = [gen, "-n", str(n), "--seed", "4242", "-o", pcap, "--truth", truth,
               "--tcp", "0.4", "--ipv6", "0.25", "--vlan", "0.2", "--sms", "0.5",
               "--tcp-reorder", "0.05", "--tcp-retrans", "0.03", "--fraud", "0.3"] + extra
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        dec = subprocess.run([afgw, "decode", pcap], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if dec.returncode != 0:
            sys.stderr.write(dec.stderr.decode())
            print(f"afgw decode exited {dec.returncode}")
            print("0 passed, 1 failed")
            return 1
        sys.stderr.write(dec.stderr.decode())
        events = [json.loads(l) for l in dec.stdout.decode("utf-8").splitlines()]
        truths = [json.loads(l) for l in open(truth, encoding="utf-8")]

    damaged_run = "--bad" in extra
    want = collections.Counter()
    keysets = {}
    skipped = 0
    for t in truths:
        label = t.pop("truth", None) or {}
        if damaged_run and label.get("bad"):
            # Damaged (or after damage on the same connection): the decoder may
            # drop it or flag it; only undamaged messages must come out exact.
            skipped += 1
            continue
        keys = tuple(sorted(t))
        kind = (t["proto"], "op" in t, "method" in t)
        keysets.setdefault(kind, keys)
        want[project(t, keys)] += 1
    got = collections.Counter()
    for e in events:
        kind = (e["proto"], "op" in e, "method" in e)
        keys = keysets.get(kind)
        if keys is None:
            got[json.dumps(e, sort_keys=True, ensure_ascii=False)] += 1
            continue
        got[project(e, keys)] += 1

    missing = want - got
    extra_ev = got - want
    if damaged_run:
        print(f"roundtrip: --bad run: {skipped} damaged truth lines not required; "
              f"{sum(extra_ev.values())} events from damaged traffic")
        extra_ev = collections.Counter()
    print(f"roundtrip: {len(truths)} truth lines, {len(events)} events, "
          f"{sum(missing.values())} missing, {sum(extra_ev.values())} extra")
    if not missing and not extra_ev:
        print("1 passed, 0 failed")
        return 0
    # Show a few differences field by field, pairing by call_id / text where possible.
    extras = [json.loads(x) for x in extra_ev.elements()]
    shown = 0
    for m in missing.elements():
        m = json.loads(m)
        best, score = None, -1
        for x in extras:
            s = sum(1 for k in m if m[k] == x.get(k))
            if s > score:
                best, score = x, s
        print("MISSING:", json.dumps(m, ensure_ascii=False)[:600])
        if best is not None:
            diffs = {k: (m[k], best.get(k)) for k in m if m[k] != best.get(k)}
            print("  closest decoded event differs in:", json.dumps(diffs, ensure_ascii=False)[:600])
        shown += 1
        if shown >= 8:
            break
    for x in extras[:4]:
        print("EXTRA:", json.dumps(x, ensure_ascii=False)[:600])
    print("0 passed, 1 failed")
    return 1


if __name__ == "__main__":
    sys.exit(main())
