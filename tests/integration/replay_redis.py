#!/usr/bin/env python3
"""replay_redis.py - the full pipeline against a real redis-server.

usage: replay_redis.py AFGW_GEN AFGW AFGWCTL

Starts a throwaway redis-server on a unix socket in a private directory,
fills the reputation table with afgwctl (a police blacklist imported in
bulk, an allow-listed sender, resident reports), generates a capture with
afgw-gen (blacklisted callers and senders, Wangiri bursts, mass calling,
fraud SMS) plus a few hand-made SIP MESSAGEs, runs `afgw replay` and checks:

  - every INVITE and SMS from a blacklisted number is blocked, with a
    reputation reason;
  - an allow-listed sender and the emergency number 110 are allowed even
    with fraud text (the same text from another number is not);
  - resident reports raise a number's score;
  - Wangiri and mass calling flag those callers and no ordinary caller;
  - --workers 1 and --workers 2 give the same verdicts, and so does a
    replay with the match cache off (memcap.match_cache: 0);
  - the summary's counters add up;
  - Redis killed in the middle of a replay: the replay finishes, verdicts
    keep using the replica, the outage is counted.

Exits 77 (skipped) when redis-server is not installed.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)
    return cond


class Redis:
    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "redis.sock")
        self.url = "unix://" + self.sock
        self.proc = None

    def start(self, aof=False):
        """aof: every write on disk before the reply, so a restart keeps everything."""
        persist = ["--appendonly", "yes", "--appendfsync", "always"] if aof else \
            ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
             "--save", "", "--dir", self.dir, "--hash-max-listpack-entries", "512"] + persist,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # ready when it answers PING (while it loads a dataset it says LOADING)
        for _ in range(3000):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(self.sock)
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.01)
        raise SystemExit("redis-server did not start")

    def kill(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None


# ---- a tiny pcap writer for hand-made SIP MESSAGEs -------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def udp_frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + udp


def sip_message(frm, to, text, n):
    body = text.encode()
    # MESSAGE sip:TO@ims.example SIP/2.0 ... Content-Type: text/plain
    msg = ("MESSAGE sip:%s@ims.example.cn SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.9.0.1:5060;branch=z9hG4bK-hand%d\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:%s@ims.example.cn>;tag=h%d\r\n"
           "To: <sip:%s@ims.example.cn>\r\n"
           "Call-ID: hand-%d@10.9.0.1\r\n"
           "CSeq: 1 MESSAGE\r\n"
           "Content-Type: text/plain;charset=UTF-8\r\n"
           "Content-Length: %d\r\n\r\n" % (to, n, frm, n, to, n, len(body))).encode() + body
    return msg


def write_pcap(path, frames, t0):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            t = t0 + i * 0.01
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(fr), len(fr)))
            f.write(fr)


# ---- running afgw ------------------------------------------------------------

def fleet_reset(url):
    """Forget the fleet-wide behaviour counts (afgw:bh:*) earlier replays left:
    each replay here plays the first gateway of a fleet, so that runs compare."""
    if not url.startswith("unix://") or not os.path.exists(url[7:]):
        return
    keys = subprocess.run(["redis-cli", "-s", url[7:], "--scan", "--pattern", "afgw:bh:*"],
                          stdout=subprocess.PIPE, text=True).stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-s", url[7:], "DEL"] + keys[i:i + 500],
                       stdout=subprocess.DEVNULL)


def replay(afgw, files, url, workers, out_path, extra=()):
    fleet_reset(url)
    cmd = [afgw, "replay", "--redis", url, "--workers", str(workers), "-o", out_path] + \
        list(extra) + list(files)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=900)
    return p.returncode, p.stderr


def load_events(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def caller_of(ev):
    if ev.get("op"):
        return ev.get("from")
    return ev.get("pai") or ev.get("from")


def reasons(ev, source=None, rid=None):
    v = ev.get("verdict") or {}
    return [r for r in v.get("reasons", [])
            if (source is None or r["source"] == source) and (rid is None or r["id"] == rid)]


def summary_counts(stderr):
    """The figures of the summary lines, by name."""
    c = {}
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("messages:"):
            nums = [int(x) for x in line.replace("(", " ").split() if x.isdigit()]
            c["sip"], c["smpp_sms"], c["sms"] = nums
        elif line.startswith("verdicts:"):
            # verdicts: S scanned (allow A, warn W, block B), U unscanned
            nums = [int(x) for x in
                    line.replace("(", " ").replace(")", " ").replace(",", " ").split()
                    if x.isdigit()]
            c["scanned"], c["allow"], c["warn"], c["block"], c["unscanned"] = nums
        elif line.startswith("match cache:"):
            # match cache: C of S scanned messages matched from it
            c["match_cached"] = int(line.split()[2])
        elif line.startswith("afgw replay:") and "messages from" in line:
            c["messages"] = int(line.split()[2])
        else:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                c[parts[0]] = int(parts[1])
    return c


def ctl(afgwctl, url, *args):
    p = subprocess.run([afgwctl, *args, "--redis", url], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit("afgwctl %s failed: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    gen, afgw, afgwctl = sys.argv[1:]
    if not shutil.which("redis-server"):
        print("redis-server not installed")
        return 77
    work = tempfile.mkdtemp(prefix="afgw-replay-")
    redis = Redis(work)
    try:
        redis.start()
        return run(gen, afgw, afgwctl, work, redis)
    finally:
        redis.kill()
        shutil.rmtree(work, ignore_errors=True)


def run(gen, afgw, afgwctl, work, redis):
    url = redis.url
    cap = os.path.join(work, "a.pcap")
    truth_path = os.path.join(work, "a.truth.jsonl")
    black_path = os.path.join(work, "black.txt")
    subprocess.run([gen, "-n", "40000", "--seed", "11", "--sms", "0.35", "--fraud", "0.3",
                    "--blacklisted", "0.03", "--wangiri", "0.04", "--mass-call", "0.04",
                    "-o", cap, "--truth", truth_path, "--blacklist-out", black_path],
                   check=True, stdout=subprocess.DEVNULL)
    truth = load_events(truth_path)
    black = set(open(black_path).read().split())

    # afgwctl number: canonical keys, validation with one line and exit 2
    out = ctl(afgwctl, url, "number", "add", "+86 170-0000-1111", "--list", "gray", "--score",
              "40", "--category", "loan", "--expires", "2d")
    check(out.startswith("+8617000001111\tgray\tscore 40"), "number add canonicalises: " + out)
    out = ctl(afgwctl, url, "number", "show", "17000001111")
    check("category loan" in out and "source operator" in out, "number show: " + out)
    ctl(afgwctl, url, "number", "del", "008617000001111")
    for bad in (["number", "add", "17000001111", "--list", "purple"],
                ["number", "add", "17000001111", "--list", "black", "--score", "101"],
                ["number", "add", "17000001111", "--list", "black", "--category", "Bad Cat"],
                ["number", "add", "17000001111", "--list", "black", "--expires", "forever"],
                ["number", "add", "12\x01", "--list", "black"],
                ["report", "17000001111", "--reporter", "a b", "--category", "loan"],
                ["number", "frobnicate"]):
        p = subprocess.run([afgwctl, *bad, "--redis", url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        check(p.returncode == 2 and p.stderr.count("\n") == 1 and p.stdout == "",
              "afgwctl %s: exit 2 with one line (%d, %r)" % (" ".join(bad), p.returncode, p.stderr))
    p = subprocess.run([afgwctl, "number", "show", "17000001111", "--redis", url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 1 and "not in the reputation table" in p.stderr,
          "a deleted number is gone: %r" % p.stderr)
    p = subprocess.run([afgwctl, "number", "list", "--redis", "unix://" + work + "/nothing.sock"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 1 and "cannot connect" in p.stderr, "no Redis: exit 1, one line")

    # the police blacklist, in bulk
    out = ctl(afgwctl, url, "number", "import", black_path, "--list", "black", "--source",
              "police", "--category", "blacklisted", "--score", "95")
    check("imported %d" % len(black) in out, "import reports its count: " + out.strip())

    # an allow-listed sender of fraud text (not blacklisted)
    fraud_senders = [caller_of(e) for e in truth
                     if e.get("op") and e["truth"]["label"] == "fraud"
                     and e["truth"]["pattern"] == "normal" and caller_of(e)
                     and caller_of(e).startswith("+86")]
    allowed = fraud_senders[0]
    ctl(afgwctl, url, "number", "add", allowed, "--list", "allow", "--category", "bank")

    # resident reports against an ordinary caller
    normal_callers = [caller_of(e) for e in truth
                      if e.get("method") == "INVITE" and e["truth"]["pattern"] == "normal"
                      and caller_of(e) not in black and caller_of(e)]
    reported = normal_callers[len(normal_callers) // 2]
    for acct in ("app:1001", "app:1002", "app:1003", "app:1002"):
        out = ctl(afgwctl, url, "report", reported, "--reporter", acct, "--category", "police")
    check(out.strip().endswith("3 distinct reporters"), "reports counted once each: " + out)

    # hand-made: fraud text from 110, from the allow-listed number, and from a stranger
    fraud_text = "【公安局】您的银行账户涉嫌洗钱，请立即将资金转入安全账户配合调查，否则将冻结。"
    frames = []
    for n, frm in enumerate(["110", allowed.replace("+86", ""), "17012345678"]):
        frames.append(udp_frame("10.9.0.1", "10.9.0.2", 5060, 5060,
                                sip_message(frm, "13800138000", fraud_text, n)))
    hand = os.path.join(work, "hand.pcap")
    write_pcap(hand, frames, 1795000000)

    out1 = os.path.join(work, "w1.jsonl")
    out2 = os.path.join(work, "w2.jsonl")
    rc1, err1 = replay(afgw, [cap, hand], url, 1, out1)
    check(rc1 == 0, "replay --workers 1 exit 0 (%d): %s" % (rc1, err1[-2000:]))
    rc2, err2 = replay(afgw, [cap, hand], url, 2, out2)
    check(rc2 == 0, "replay --workers 2 exit 0 (%d): %s" % (rc2, err2[-2000:]))
    ev1 = load_events(out1)
    ev2 = load_events(out2)

    # events: the generator's truth plus the three hand-made ones
    check(len(ev1) == len(truth) + 3, "one event per message: %d vs %d" % (len(ev1), len(truth) + 3))
    check(all("verdict" in e for e in ev1), "every event has a verdict")

    # --workers 1 and 2: the same verdicts
    check(sorted(open(out1).read().splitlines()) == sorted(open(out2).read().splitlines()),
          "--workers 1 and --workers 2 give the same lines")
    same_order = sum(1 for a, b in zip(ev1, ev2) if a == b)
    check(same_order == len(ev1), "and in the same order (%d of %d)" % (same_order, len(ev1)))

    # the CPU line: one thread's figure with one worker, the capture thread's (which runs
    # the first worker) and the other worker's with two (both did some work)
    def cpu_line(err):
        for line in err.splitlines():
            if line.strip().startswith("CPU:"):
                return [float(x) for x in line.replace(",", " ").split() if x.replace(".", "").isdigit()]
        return None
    cpu1, cpu2 = cpu_line(err1), cpu_line(err2)
    check(cpu1 is not None and len(cpu1) == 1 and cpu1[0] > 0, "1 worker: a CPU figure (%s)" % cpu1)
    check(cpu2 is not None and len(cpu2) == 2 and all(x > 0 for x in cpu2),
          "2 workers: CPU of the capture thread and of the worker thread (%s)" % cpu2)

    # the match cache changes nothing but the work: off, the same lines
    nocache = os.path.join(work, "nocache.yaml")
    with open(nocache, "w") as f:
        f.write("memcap:\n  match_cache: 0\n")
    out0 = os.path.join(work, "w1-nocache.jsonl")
    rc0, err0 = replay(afgw, [cap, hand], url, 1, out0, ["-c", nocache])
    check(rc0 == 0, "replay with the match cache off exit 0 (%d): %s" % (rc0, err0[-2000:]))
    check(open(out0).read() == open(out1).read(),
          "the match cache off gives the same lines in the same order")
    sms = sum(1 for e in ev1 if "text" in e)
    cached1, cached0 = summary_counts(err1).get("match_cached"), summary_counts(err0).get("match_cached")
    check(cached0 == 0, "cache off: nothing from it (%s)" % cached0)
    check(cached1 is not None and sms // 2 < cached1 < sms,
          "cache on: most SMS texts repeat one seen before (%s of %d)" % (cached1, sms))

    # counters add up
    c = summary_counts(err1)
    check(c.get("messages") == len(ev1), "summary messages = events (%s)" % c.get("messages"))
    check(c.get("scanned", -1) + c.get("unscanned", -1) == c.get("messages"),
          "scanned + unscanned = messages: %s" % c)
    check(c.get("allow", 0) + c.get("warn", 0) + c.get("block", 0) == c.get("scanned"),
          "allow + warn + block = scanned: %s" % c)
    check(c.get("sip", -1) + c.get("smpp_sms", -1) == c.get("messages"),
          "SIP messages + SMPP SMS = messages: %s" % c)
    # (the parts of a concatenated 3GPP SMS in SIP MESSAGEs come out as one SIP event)
    sip_events = c.get("sip_messages", 0) - c.get("sip_sms_parts", 0) + c.get("sip_sms_joined", 0)
    check(c.get("sip") == sip_events and c.get("sms") == c.get("sms_messages"),
          "and they agree with the decoder's counters: %s" % c)
    check(c.get("smpp_pdus") == c.get("smpp_control", 0) + c.get("sms_parts", 0) +
          c.get("smpp_invalid", 0), "SMPP PDUs = control + SMS parts + invalid: %s" % c)

    # blacklisted: every INVITE and SMS blocked with a reputation reason
    n_inv = n_sms = 0
    for e in ev1:
        if caller_of(e) not in black:
            continue
        is_invite = e.get("method") == "INVITE"
        if not (is_invite or e.get("op")):
            continue
        n_inv += is_invite
        n_sms += bool(e.get("op"))
        ok = e["verdict"]["action"] == "block" and reasons(e, "reputation", "blacklist")
        check(ok, "blacklisted %s blocked: %s" % ("INVITE" if is_invite else "SMS",
                                                  json.dumps(e["verdict"])))
    check(n_inv > 0 and n_sms > 0, "blacklisted INVITEs (%d) and SMS (%d) seen" % (n_inv, n_sms))

    # allow list and emergency numbers: allowed even with fraud text
    hand_ev = [e for e in ev1 if (e.get("call_id") or "").startswith("hand-")]
    check(len(hand_ev) == 3, "three hand-made messages decoded")
    by_from = {e["from"]: e for e in hand_ev}
    e110 = by_from.get("110")
    check(e110 and e110["verdict"]["action"] == "allow" and reasons(e110, "allowlist", "emergency")
          and reasons(e110, "rule"), "110 with fraud text allowed, rule hits listed")
    ea = by_from.get(allowed)
    check(ea and ea["verdict"]["action"] == "allow" and reasons(ea, "allowlist"),
          "allow-listed sender allowed")
    es = by_from.get("+8617012345678")
    check(es and es["verdict"]["action"] in ("warn", "block"),
          "the same text from a stranger is flagged: %s" % (es and es["verdict"]))
    for e in ev1:
        if caller_of(e) == allowed and e.get("op"):
            check(e["verdict"]["action"] == "allow", "allow-listed sender's SMS allowed")

    # resident reports raise the score
    rep_ev = [e for e in ev1 if caller_of(e) == reported and e.get("method") == "INVITE"]
    check(rep_ev, "the reported caller makes calls")
    for e in rep_ev:
        r = reasons(e, "reputation", "reports")
        check(r and r[0]["weight"] == 60 and e["verdict"]["score"] >= 60
              and e["verdict"]["action"] == "warn",
              "reported caller: reports reason 60 -> warn: %s" % json.dumps(e["verdict"]))

    # behaviour: Wangiri and mass calling flag those callers and nobody else
    pattern = {}
    rung = {}
    for t in truth:
        if t.get("method") == "INVITE":
            pattern.setdefault(caller_of(t), set()).add(t["truth"]["pattern"])
            if t["truth"]["pattern"] == "wangiri":
                rung.setdefault(caller_of(t), set()).add(t.get("to"))
    wangiri = {k for k, v in pattern.items() if "wangiri" in v}
    # a burst cut short by the end of the generator's budget may ring too few
    # numbers to be a pattern; the default threshold is 5 distinct callees
    big_wangiri = {k for k, v in rung.items() if len(v) >= 5}
    mass = {k for k, v in pattern.items() if "mass_call" in v}
    flagged_w = {caller_of(e) for e in ev1 if reasons(e, "behaviour", "wangiri")}
    flagged_m = {caller_of(e) for e in ev1 if reasons(e, "behaviour", "mass_calling")}
    check(big_wangiri and big_wangiri <= flagged_w <= wangiri,
          "Wangiri: flagged %d, generated %d (%d ringing >= 5), wrongly %s, missed %s" %
          (len(flagged_w), len(wangiri), len(big_wangiri), sorted(flagged_w - wangiri)[:5],
           sorted(big_wangiri - flagged_w)[:5]))
    callees = {}
    for t in truth:
        if t.get("method") == "INVITE" and caller_of(t) in mass:
            callees.setdefault(caller_of(t), set()).add(t.get("to"))
    big_mass = {k for k, v in callees.items() if len(v) >= 15}
    check(mass and big_mass <= flagged_m and flagged_m <= (mass | wangiri),
          "mass calling: flagged %d, generated %d (%d with >= 15 callees), wrongly %s" %
          (len(flagged_m), len(mass), len(big_mass), sorted(flagged_m - mass - wangiri)[:5]))

    # Redis killed in the middle of a replay
    big = os.path.join(work, "b.pcap")
    big_black = os.path.join(work, "b.black.txt")
    subprocess.run([gen, "-n", "150000", "--seed", "12", "--blacklisted", "0.03", "-o", big,
                    "--blacklist-out", big_black], check=True, stdout=subprocess.DEVNULL)
    out3 = os.path.join(work, "kill.jsonl")
    proc = subprocess.Popen([afgw, "replay", "--redis", url, "--workers", "2", "-o", out3, big],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(out3) and os.path.getsize(out3) > 0:
            break
        time.sleep(0.005)
    killed_while_running = proc.poll() is None
    redis.kill()
    err3 = proc.communicate(timeout=600)[1]
    check(killed_while_running, "Redis was killed while the replay ran")
    check(proc.returncode == 0, "the replay finished normally after losing Redis: %s" % err3[-1000:])
    c3 = summary_counts(err3)
    check(c3.get("reputation_redis_outages") == 1, "the outage is counted once: %s" % c3)
    # one line per module that talks to Redis: the reputation replica, the
    # subscriber replica, the fleet counters
    lines = err3.splitlines()
    down = [x for x in lines if "lost Redis" in x or "cannot connect" in x or "unavailable" in x]
    per = {m: len([x for x in down if m in x]) for m in ("reputation:", "subscribers:",
                                                          "fleet counters:")}
    check(per["reputation:"] == 1 and per["subscribers:"] <= 1 and per["fleet counters:"] <= 1
          and sum(per.values()) == len(down),
          "the outage is logged once per module: %s" % down)
    ev3 = load_events(out3)
    black_b = set(open(big_black).read().split())
    check(black_b <= black, "the second capture's blacklist was imported")
    bl = [e for e in ev3 if caller_of(e) in black_b and (e.get("method") == "INVITE" or e.get("op"))]
    check(len(bl) > 100 and all(e["verdict"]["action"] == "block" for e in bl),
          "after the kill blacklisted callers are still blocked (%d)" % len(bl))

    if FAILS:
        print("%d checks failed" % len(FAILS))
        return 1
    print("all checks passed (%d events; flagged Wangiri %d, mass calling %d)" %
          (len(ev1), len(flagged_w), len(flagged_m)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
