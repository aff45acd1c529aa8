#!/usr/bin/env python3
"""fleet_redis.py - behaviour counted across a fleet of gateways through Redis.

usage: fleet_redis.py AFGW

Two gateways, A and B, each see half of the traffic (two captures replayed
one after the other against one throwaway redis-server, as two gateways
of a fleet would see them at the same time).  Neither half alone reaches a
behaviour threshold; together they do.  Checks, with the default config
(mass calling: 15 distinct callees in 60 s; SMS fan-out: 20 recipients in
600 s; call + SMS within 1800 s; fleet rounds every 1000 ms of message
time):

  - gateway A alone flags nothing;
  - gateway B, after A, flags the mass caller from exactly the INVITE at
    which A's 10 callees plus B's own counted reach 15 (rounds are every
    second of message time, and a replay takes a round's answers in at the
    next round), and never the ordinary caller;
  - the same for the text sent to 12 + 12 recipients (fan-out at 20);
  - a number that called a subscriber through A and texts them through B
    is flagged call + SMS on its second SMS;
  - the summary counts these as flags only the fleet's counts gave;
  - B on a fresh Redis (no fleet history) flags none of it;
  - Redis gone: B still finishes, every verdict is scored, the outage is
    counted and the notes are counted as dropped;
  - the Redis keys hold hashes only: no number appears in any key.

Exits 77 (skipped) when redis-server is not installed.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_redis import Redis, check, FAILS, udp_frame, sip_message, load_events, \
    reasons, summary_counts  # noqa: E402

T0 = 1800000000  # a multiple of 60: the mass-calling window [T0, T0 + 60) is aligned
MASS = "13912340000"
PLAIN = "13955550000"
TEXTER = "13766660000"
PAIR = "13577770000"
SUBSCRIBER = "13800138000"
FANOUT_TEXT = "Your parcel is waiting at the locker, code 8812, reply N to stop"


def invite(frm, to, n):
    # INVITE sip:TO SIP/2.0 with From FROM, no To tag: an initial INVITE
    return ("INVITE sip:%s@ims.example.cn SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 10.9.0.1:5060;branch=z9hG4bK-fl%d\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%s@ims.example.cn>;tag=f%d\r\n"
            "To: <sip:%s@ims.example.cn>\r\n"
            "Call-ID: fleet-%d@10.9.0.1\r\n"
            "CSeq: 1 INVITE\r\n"
            "Content-Length: 0\r\n\r\n" % (to, n, frm, n, to, n)).encode()


def write_pcap(path, frames):
    """frames: (unix time, frame bytes), written in time order."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for t, fr in sorted(frames, key=lambda x: x[0]):
            f.write(struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)), len(fr), len(fr)))
            f.write(fr)


def sip(payload):
    return udp_frame("10.9.0.1", "10.9.0.2", 5060, 5060, payload)


def capture(path, base, second):
    """One gateway's half.  base: first callee index; second: B's half."""
    fr = []
    n = 1000 * (2 if second else 1)
    t = T0 + (20 if second else 0)
    for i in range(10):  # the mass caller: 10 distinct callees, one a second
        fr.append((t + i, sip(invite(MASS, "1390000%04d" % (base + i), n + i))))
    for i in range(3):  # an ordinary caller, 3 callees
        fr.append((t + i + 0.5, sip(invite(PLAIN, "1380000%04d" % (base + i), n + 100 + i))))
    for i in range(12):  # the same text to 12 recipients, one a second
        fr.append((t + i + 0.25, sip(sip_message(TEXTER, "1370000%04d" % (3 * base + i),
                                                  FANOUT_TEXT, n + 200 + i))))
    if not second:
        fr.append((t + 3.75, sip(invite(PAIR, SUBSCRIBER, n + 300))))
    else:
        for i in range(2):  # two SMS to the subscriber A saw called, 5 s apart
            fr.append((t + 2.75 + 5 * i, sip(sip_message(PAIR, SUBSCRIBER, "see you at 6",
                                                         n + 300 + i))))
    write_pcap(path, fr)


# Content rules play no part here: one rule keeps each replay's start-up short.
RULES = """version: 1
rules:
  - id: t.safe_account
    kind: text
    pattern: '安全账户'
    weight: 60
    category: police_impersonation
    desc_zh: 安全账户
    desc_en: safe account
    match: ['转到安全账户']
    nomatch: ['see you at 6']
"""


def run_replay(afgw, cap, url, out):
    rules = os.path.join(os.path.dirname(out), "rules")
    if not os.path.isdir(rules):
        os.mkdir(rules)
        with open(os.path.join(rules, "t.yaml"), "w") as f:
            f.write(RULES)
    p = subprocess.run([afgw, "replay", "--redis", url, "--rules", rules, "-o", out, cap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stderr, load_events(out) if os.path.exists(out) else []


def flagged(evs, who, rid):
    """[(index among who's messages, flagged by rid?)] in time order."""
    mine = [e for e in evs if e.get("from") == "+86" + who]
    return [bool(reasons(e, "behaviour", rid)) for e in mine]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    afgw = sys.argv[1]
    if not shutil.which("redis-server"):
        print("redis-server not installed")
        return 77
    work = tempfile.mkdtemp(prefix="afgw-fleet-")
    try:
        return run(afgw, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(afgw, work):
    cap_a, cap_b = os.path.join(work, "a.pcap"), os.path.join(work, "b.pcap")
    capture(cap_a, 0, False)
    capture(cap_b, 10, True)

    # ---- A then B on one Redis ---------------------------------------------
    rdir = os.path.join(work, "r1")
    os.mkdir(rdir)
    redis = Redis(rdir)
    redis.start()
    try:
        rc, err, ea = run_replay(afgw, cap_a, redis.url, os.path.join(work, "a.jsonl"))
        check(rc == 0, "gateway A replay exit 0 (%d): %s" % (rc, err[-500:]))
        check(len(ea) == 10 + 3 + 12 + 1, "A: every message has an event (%d)" % len(ea))
        check(not any(reasons(e, "behaviour") for e in ea),
              "A alone flags nothing: %s" % [reasons(e, "behaviour") for e in ea if
                                             reasons(e, "behaviour")])
        ca = summary_counts(err)
        check(ca.get("fleet_rounds", 0) >= 1 and ca.get("fleet_round_errors", 0) == 0,
              "A: fleet rounds done without errors (%s)" % ca)

        rc, err, eb = run_replay(afgw, cap_b, redis.url, os.path.join(work, "b.jsonl"))
        check(rc == 0, "gateway B replay exit 0 (%d): %s" % (rc, err[-500:]))
        cb = summary_counts(err)
        mc = flagged(eb, MASS, "mass_calling")
        # INVITE k of B (at second k) is scored with the answers of the round
        # started a second earlier, which held B's first k - 1 INVITEs: 10 + k - 1 >= 15
        check(mc == [k >= 6 for k in range(10)], "B: mass caller flagged from its 7th "
              "INVITE on, by the fleet's count: %s" % mc)
        check(not any(flagged(eb, PLAIN, "mass_calling")), "B: the ordinary caller is not "
              "flagged")
        fo = flagged(eb, TEXTER, "sms_fanout")
        # SMS k of B: 12 recipients from A + k - 1 of B's >= 20 from k = 9
        check(fo == [k >= 9 for k in range(12)], "B: fan-out text flagged once A's 12 and "
              "B's recipients reach 20: %s" % fo)
        cs = flagged(eb, PAIR, "call_and_sms")
        check(cs == [False, True], "B: call through A + SMS through B flags the second SMS: "
              "%s" % cs)
        check(cb.get("fleet_counts_only") == 4 + 3 + 1,
              "B: summary counts 8 verdicts flagged only by the fleet (%s)" %
              cb.get("fleet_counts_only"))
        check(cb.get("fleet_flagged", 0) == 3, "B: 3 keys newly flagged fleet-wide (%s)" %
              cb.get("fleet_flagged"))

        keys = subprocess.run(["redis-cli", "-s", redis.sock, "--scan", "--pattern",
                               "afgw:bh:*"], stdout=subprocess.PIPE, text=True).stdout.split()
        check(len(keys) > 0 and all(k.count(":") == 4 for k in keys),
              "fleet keys are afgw:bh:KIND:HASH:WINDOW (%d keys)" % len(keys))
        check(not any(x in k for k in keys for x in (MASS, TEXTER, PAIR, SUBSCRIBER)),
              "no number in clear in a fleet key")
        ttls = [int(subprocess.run(["redis-cli", "-s", redis.sock, "TTL", k],
                                   stdout=subprocess.PIPE, text=True).stdout) for k in keys]
        check(all(0 < t <= 1800 + 60 for t in ttls), "every fleet key has a TTL (%s)" %
              sorted(set(ttls)))
    finally:
        redis.kill()

    # ---- B alone, on a fresh Redis: nothing ---------------------------------
    rdir = os.path.join(work, "r2")
    os.mkdir(rdir)
    redis = Redis(rdir)
    redis.start()
    try:
        rc, err, eb = run_replay(afgw, cap_b, redis.url, os.path.join(work, "b2.jsonl"))
        check(rc == 0, "B alone exit 0")
        check(not any(reasons(e, "behaviour") for e in eb), "B without the fleet's history "
              "flags nothing")
    finally:
        redis.kill()

    # ---- B with Redis gone ----------------------------------------------------
    rc, err, eb = run_replay(afgw, cap_b, redis.url, os.path.join(work, "b3.jsonl"))
    cb = summary_counts(err)
    check(rc == 0, "B without Redis finishes (exit %d)" % rc)
    check(len(eb) == 10 + 3 + 12 + 2 and all("verdict" in e for e in eb),
          "B without Redis: every message scored (%d)" % len(eb))
    check(cb.get("fleet_redis_outages") == 1, "the outage is counted once (%s)" %
          cb.get("fleet_redis_outages"))
    check(cb.get("fleet_notes_dropped", 0) > 0 and cb.get("fleet_rounds", 0) == 0,
          "notes of failed rounds counted as dropped (%s)" % cb)

    print("fleet: %d checks failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
