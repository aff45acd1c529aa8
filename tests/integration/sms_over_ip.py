#!/usr/bin/env python3
"""SMS over IP screened end to end: `afgw replay` of tests/golden/sip_3gpp_sms.pcap.

The capture (built and explained in tests/golden/make_pcaps.py) has SIP
MESSAGEs whose bodies are 3GPP RP-DATA / TPDUs (TS 24.341): a phone
submitting a police-impersonation text, a bank code from the alphanumeric
sender ICBC, a parcel-fee scam delivered in two parts with its URL split
across them, an RP-ACK and a truncated body.  The verdicts must follow the
SMS layer: the fraud texts flagged by content rules (the split one only as
a whole), the sender taken from TP-OA (a 170 virtual-operator number), the
bank code and the signalling allowed, the broken body counted, not crashed on.

usage: sms_over_ip.py AFGW GOLDEN_DIR
"""
import json
import os
import subprocess
import sys

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def main():
    afgw, gdir = sys.argv[1], sys.argv[2]
    cap = os.path.join(gdir, "sip_3gpp_sms.pcap")
    r = subprocess.run([afgw, "replay", "--workers", "1", cap], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    check(r.returncode == 0, "afgw replay exits 0" +
          ("" if r.returncode == 0 else " (%d: %s)" % (r.returncode, r.stderr.decode()[-300:])))
    ev = [json.loads(l) for l in r.stdout.decode().splitlines()]
    check(len(ev) == 5, "5 events from 6 SIP MESSAGEs (two parts joined): %d" % len(ev))
    if len(ev) != 5:
        return

    def ids(e):
        return {x["id"] for x in e["verdict"]["reasons"]}

    def cats(e):
        return {x["category"] for x in e["verdict"]["reasons"]}

    mo, bank, parcel, ack, broken = ev
    check(mo["to"] == "+8613800138000" and mo["verdict"]["action"] == "block" and
          "impersonate_police" in cats(mo),
          "submitted police-impersonation text to TP-DA +8613800138000 blocked: %s %s" %
          (mo["to"], mo["verdict"]["action"]))
    check(bank["from"] == "ICBC" and bank["verdict"]["action"] == "allow",
          "bank code from alphanumeric TP-OA ICBC allowed: %s %s" %
          (bank["from"], bank["verdict"]["action"]))
    check(parcel["parts"] == 2 and parcel["from"] == "+8617012345678" and
          parcel["verdict"]["action"] in ("warn", "block"),
          "two-part parcel-fee scam joined, sender from TP-OA, flagged: %s %s %s" %
          (parcel["parts"], parcel["from"], parcel["verdict"]["action"]))
    check("url.cheap_tld" in ids(parcel),
          "its URL, split across the parts, matched only as a whole: %s" % sorted(ids(parcel)))
    check("num.sender_virtual_operator" in ids(parcel),
          "number rules see the TP-OA, not the SMSC in SIP From: %s" % sorted(ids(parcel)))
    check(ack.get("op") is None and ack["verdict"]["action"] == "allow",
          "RP-ACK is signalling, not an SMS")
    check(broken["valid"] is False and "sms_pdu_truncated" in broken["anomalies"],
          "truncated RP-DATA flagged: %s" % broken["anomalies"])
    counts = dict(l.split() for l in r.stderr.decode().splitlines()
                  if len(l.split()) == 2 and l.split()[1].isdigit())
    keys = ("sip_sms_parts", "sip_sms_joined", "sms_over_ip")
    check([counts.get(k) for k in keys] == ["2", "1", "4"],
          "the summary counts 2 parts held, 1 message joined, 4 SMS over IP: %s" %
          {k: counts.get(k) for k in keys})


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)
