#!/usr/bin/env python3
"""warn_redis.py - warnings to residents, end to end, against a real redis-server.

usage: warn_redis.py AFGW_GEN AFGW AFGWCTL

Keys with afgwctl keygen, subscribers with afgwctl sub add, a police
blacklist with afgwctl number add, a hand-made capture, afgw replay with a
gateway key, and the residents' side with afgwctl inbox.  Checks:

  - warnings reach registered subscribers only, for the channels they
    asked for; each inbox decrypts its own and only its own;
  - a wrong key cannot open them; a tampered ciphertext, a signature by
    an unknown gateway key are rejected;
  - the dedupe window and the hourly cap hold (and are counted);
  - look-back: a number blacklisted while the gateway runs warns exactly
    the registered subscribers it contacted who want look-back;
  - Redis killed and restarted during a replay of a generated capture: the
    set of warning ids delivered equals that of a run without faults;
  - the spool survives kill -9 of afgw with a torn tail, and what it holds
    is delivered by the next run;
  - no SMS text and no subscriber number in clear in the stream or the logs.

Exits 77 (skipped) when redis-server is not installed.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_redis import Redis, check, FAILS, udp_frame, sip_message  # noqa: E402
from fleet_redis import invite, write_pcap  # noqa: E402

T0 = 1800000000
X = "13911110001"        # police blacklist, before the replay
Y = "13922220002"        # sends fraud text
Z = "13933330003"        # ordinary caller, blacklisted later: look-back
SUBS = {                  # name: (MSISDN, prefs)
    "alice": ("13800000001", "csl"),
    "bob": ("13800000002", "csl"),
    "carol": ("13800000003", "s"),     # SMS only, no look-back
}
DAVE = "13800000004"     # not registered
FRAUD_SMS = "【公安局】您的身份证涉嫌洗钱案，请立即将资金转入安全账户配合调查，否则将被冻结"
PLAIN_SMS = "晚上一起吃饭吗"


def sip(payload):
    return udp_frame("10.9.0.1", "10.9.0.2", 5060, 5060, payload)


def run(cmd, timeout=600, check_rc=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check_rc and p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def rcli(redis, *args):
    return subprocess.run(["redis-cli", "-s", redis.sock] + list(args), stdout=subprocess.PIPE,
                          text=True).stdout


def stream_ids(redis):
    """Warning ids in afgw:warn, in stream order."""
    p = subprocess.run(["redis-cli", "-s", redis.sock, "--raw", "XRANGE", "afgw:warn", "-", "+"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0 or p.stdout.startswith(("ERR", "LOADING", "Could not connect")):
        raise SystemExit("XRANGE afgw:warn failed: %s %s" % (p.stdout[:200], p.stderr[:200]))
    out = p.stdout.split("\n")
    return [out[i + 1] for i in range(len(out) - 1) if out[i] == "id"]


def inbox(ctl, redis, name, key, gws, extra=()):
    cmd = [ctl, "inbox", "--account", name, "--key", key, "--json", "--redis", redis.url]
    for g in gws:
        cmd += ["--gateway-key", g]
    p = run(cmd + list(extra), check_rc=False)
    warnings = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return p.returncode, warnings, p.stderr


class Fleet:
    """Keys, a Redis with subscribers and a blacklist, a config."""

    def __init__(self, work, ctl, name, aof=False):
        self.work, self.ctl = work, ctl
        self.dir = os.path.join(work, name)
        os.mkdir(self.dir)
        self.redis = Redis(self.dir)
        self.aof = aof

    def start(self):
        self.redis.start(self.aof)

    def setup(self, keys):
        for name, (msisdn, prefs) in SUBS.items():
            run([self.ctl, "sub", "add", msisdn, "--account", name, "--pubkey",
                 keys[name] + ".pub", "--prefs", prefs, "--redis", self.redis.url])
        run([self.ctl, "number", "add", X, "--list", "black", "--score", "95", "--category",
             "impersonate_police", "--source", "police", "--redis", self.redis.url])


def config(path, gw_key, spool=None, cap=10):
    with open(path, "w") as f:
        f.write("behaviour:\n  fleet_sync_ms: 0\n")
        f.write("notify:\n  gateway_key: %s\n  hourly_cap: %d\n" % (gw_key, cap))
        if spool:
            f.write("  spool_dir: %s\n" % spool)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    gen, afgw, ctl = sys.argv[1:]
    if not shutil.which("redis-server"):
        print("redis-server not installed")
        return 77
    work = tempfile.mkdtemp(prefix="afgw-warn-")
    fleets = []
    try:
        return body(gen, afgw, ctl, work, fleets)
    finally:
        for f in fleets:
            f.redis.kill()
        shutil.rmtree(work, ignore_errors=True)


def body(gen, afgw, ctl, work, fleets):
    keys = {}
    for name in ["gw", "gw2"]:
        keys[name] = os.path.join(work, name)
        run([ctl, "keygen", "gateway", "-o", keys[name]])
    for name in list(SUBS) + ["mallory"]:
        keys[name] = os.path.join(work, name)
        run([ctl, "keygen", "app", "-o", keys[name]])
    check(oct(os.stat(keys["gw"] + ".key").st_mode & 0o777) == "0o600", "secret key is 0600")
    p = run([ctl, "keygen", "gateway", "-o", keys["gw"]], check_rc=False)
    check(p.returncode != 0 and os.path.getsize(keys["gw"] + ".key") > 0,
          "keygen refuses to overwrite a key")

    # ---- the main scenario ---------------------------------------------------
    fl = Fleet(work, ctl, "main")
    fleets.append(fl)
    fl.start()
    fl.setup(keys)
    cfg = os.path.join(work, "afgw.yaml")
    config(cfg, keys["gw"] + ".key", cap=3)
    a, b, c = (SUBS[k][0] for k in ("alice", "bob", "carol"))
    fr, n = [], 0

    def add(t, payload):
        nonlocal n
        n += 1
        fr.append((T0 + t, sip(payload)))

    add(0, invite(X, a, 1))                       # blacklisted caller -> alice: warned
    for i in range(3):                            # again within the hour: deduplicated
        add(60 + i, invite(X, a, 10 + i))
    add(5, sip_message(X, b, PLAIN_SMS, 20))      # blacklisted sender -> bob: warned (sms)
    add(6, sip_message(Y, c, FRAUD_SMS, 21))      # fraud text -> carol: warned (sms)
    add(7, invite(X, c, 22))                      # call to carol: she wants SMS only
    add(8, invite(X, DAVE, 23))                   # not registered: nothing
    add(9, sip_message(Y, DAVE, FRAUD_SMS, 24))
    for i in range(5):                            # 5 fraud numbers call bob in one hour: cap 3
        add(100 + i, sip_message("1395555000%d" % i, b, FRAUD_SMS, 30 + i))
    add(200, invite(Z, a, 40))                    # Z contacts alice, bob, carol, dave: fine
    add(201, sip_message(Z, b, PLAIN_SMS, 41))
    add(202, sip_message(Z, c, PLAIN_SMS, 42))
    add(203, invite(Z, DAVE, 43))
    cap1 = os.path.join(work, "one.pcap")
    write_pcap(cap1, fr)
    out = os.path.join(work, "one.jsonl")
    p = run([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o", out, cap1])
    log1 = p.stderr
    evs = [json.loads(x) for x in open(out, encoding="utf-8")]
    check(len(evs) == n, "every message has an event (%d of %d)" % (len(evs), n))

    expect = {"alice": 1, "bob": 3, "carol": 1}   # bob: his cap of 3 in the hour
    got = {}
    for name in SUBS:
        rc, ws, err = inbox(ctl, fl.redis, name, keys[name] + ".key", [keys["gw"] + ".pub"])
        check(rc == 0, "inbox %s exit 0: %s" % (name, err))
        got[name] = ws
        check(len(ws) == expect[name], "%s got %d warnings (expected %d): %s" %
              (name, len(ws), expect[name], [(w["channel"], w["other"]) for w in ws]))
        check(all(w["account"] == name and w["gateway"] for w in ws),
              "%s: every warning is for her/him and names the gateway" % name)
        check("rejected" not in err or " 0 rejected" in err, "%s: nothing rejected (%s)" %
              (name, err.strip()))
    al = got["alice"]

    # afgwctl inbox -c: the Redis address, password and db of a gateway config
    icfg = os.path.join(fl.dir, "inbox.yaml")
    with open(icfg, "w") as f:
        f.write("redis:\n  url: %s\n" % fl.redis.url)
    base = [ctl, "inbox", "--account", "bob", "--key", keys["bob"] + ".key", "--json",
            "--gateway-key", keys["gw"] + ".pub", "--group", "from-config", "-c", icfg]
    env = dict(os.environ)
    env.pop("AFGW_REDIS", None)
    p = subprocess.run(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=env)
    check(p.returncode == 0 and len(p.stdout.splitlines()) == expect["bob"],
          "inbox -c CONFIG reads bob's warnings (%d, %d lines): %s" %
          (p.returncode, len(p.stdout.splitlines()), p.stderr.strip()))
    with open(icfg, "a") as f:
        f.write("  password: not-the-one\n")
    p = subprocess.run(base[:-1] + [icfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60, env=env)
    check(p.returncode == 1 and "afgwctl inbox:" in p.stderr and not p.stdout,
          "the config's password reaches Redis (refused: %d %s)" % (p.returncode, p.stderr.strip()))
    with open(icfg, "w") as f:
        f.write("redis:\n  url: [\n")
    p = subprocess.run(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=env)
    check(p.returncode == 2 and icfg + ":" in p.stderr, "a bad config: exit 2 with file:line (%s)"
          % p.stderr.strip())
    p = subprocess.run(base[:-2], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=env)
    check(p.returncode == 2 and "no Redis address" in p.stderr,
          "no --redis, -c or $AFGW_REDIS: exit 2 (%s)" % p.stderr.strip())
    check(al and al[0]["channel"] == "call" and al[0]["other"] == "+86" + X and
          al[0]["action"] == "block" and any(r["source"] == "reputation" for r in al[0]["reasons"])
          and "诈骗" in al[0]["advice"], "alice's warning: a call from X, blocked, reputation, "
          "advice in Chinese (%s)" % (al[:1],))
    check(all(w["channel"] == "sms" for w in got["carol"]), "carol is warned about SMS only")
    check(all(w["channel"] == "sms" for w in got["bob"]), "bob's warnings are about SMS")
    s = {}
    for line in log1.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            s[parts[0]] = int(parts[1])
    check(s.get("warnings_deduped") == 3, "3 warnings deduplicated (%s)" % s.get("warnings_deduped"))
    check(s.get("warnings_capped") == 3, "3 warnings over bob's hourly cap (%s)" %
          s.get("warnings_capped"))
    check(s.get("warnings_delivered") == 5, "5 warnings delivered (%s)" % s.get("warnings_delivered"))
    check(s.get("warnings_unwanted") == 1, "carol's unwanted call warning counted (%s)" %
          s.get("warnings_unwanted"))

    # a second run of the same capture: same ids (deterministic), the inbox shows none twice
    run([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o", "none", cap1])
    ids = stream_ids(fl.redis)
    check(len(ids) == 10 and len(set(ids)) == 5, "replaying again gives the same 5 ids "
          "(%d entries, %d distinct)" % (len(ids), len(set(ids))))
    rc, ws, err = inbox(ctl, fl.redis, "bob", keys["bob"] + ".key", [keys["gw"] + ".pub"])
    check(rc == 0 and len(ws) == 0 and "3 duplicates" in err,
          "bob's inbox drops the repeated ids as duplicates (%s)" % err.strip())

    # wrong keys, tampering, unknown gateway
    rc, ws, err = inbox(ctl, fl.redis, "alice", keys["mallory"] + ".key", [keys["gw"] + ".pub"],
                        ["--group", "mallory"])
    check(rc == 0 and not ws and "not_for_us" in err, "another key opens nothing (%s)" %
          err.strip())
    rc, ws, err = inbox(ctl, fl.redis, "alice", keys["alice"] + ".key", [keys["gw2"] + ".pub"],
                        ["--group", "other-gw"])
    check(rc == 0 and not ws and "unknown_key" in err, "a gateway key not trusted: rejected "
          "(%s)" % err.strip())
    raw = rcli(fl.redis, "--raw", "XRANGE", "afgw:warn", "-", "+").split("\n")
    w_alice = None
    for i in range(len(raw) - 5):
        if raw[i] == "a" and raw[i + 1] == "alice" and raw[i + 4] == "w":
            w_alice = raw[i + 5]
            break
    import base64
    blob = bytearray(base64.b64decode(w_alice))
    blob[len(blob) // 2] ^= 1
    rcli(fl.redis, "XADD", "afgw:warn", "*", "a", "alice", "id", "0" * 32, "w",
         base64.b64encode(bytes(blob)).decode())
    rc, ws, err = inbox(ctl, fl.redis, "alice", keys["alice"] + ".key", [keys["gw"] + ".pub"])
    check(rc == 0 and not ws and "rejected" in err and "1 rejected" in err,
          "a tampered warning is rejected (%s)" % err.strip())

    # privacy: no subscriber number and no SMS text in the stream or the log
    dump = rcli(fl.redis, "--raw", "XRANGE", "afgw:warn", "-", "+")
    for name, (msisdn, _) in SUBS.items():
        check(msisdn not in dump and msisdn not in log1, "%s's number not in clear in the "
              "stream or the log" % name)
    check(FRAUD_SMS[:8] not in dump and FRAUD_SMS[:8] not in log1 and PLAIN_SMS not in log1,
          "no SMS text in the stream or the log")

    # ---- look-back: Z blacklisted while a gateway runs ----------------------
    big = os.path.join(work, "big.pcap")
    run([gen, "-n", "150000", "--seed", "5", "-o", big])
    proc = subprocess.Popen([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o",
                             os.path.join(work, "big.jsonl"), big],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    bigout = os.path.join(work, "big.jsonl")
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(bigout) and os.path.getsize(bigout) > 0:
            break
        time.sleep(0.01)
    running = proc.poll() is None
    run([ctl, "number", "add", Z, "--list", "black", "--score", "90", "--category", "fake_cs",
         "--source", "police", "--redis", fl.redis.url])
    err = proc.communicate(timeout=600)[1]
    check(running and proc.returncode == 0, "the gateway ran while Z was blacklisted")
    lb = {}
    for name in SUBS:
        rc, ws, e = inbox(ctl, fl.redis, name, keys[name] + ".key", [keys["gw"] + ".pub"])
        lb[name] = [w for w in ws if w["channel"] == "lookback"]
    check(len(lb["alice"]) == 1 and len(lb["bob"]) == 1 and not lb["carol"],
          "look-back warns alice and bob (contacted, want it), not carol: %s" %
          {k: len(v) for k, v in lb.items()})
    check(all(w["other"] == "+86" + Z and w["category"] == "fake_cs" for w in
              lb["alice"] + lb["bob"]), "look-back warnings name Z and its category")

    # ---- Redis killed and restarted during a replay --------------------------
    faultfree = fault_run(gen, afgw, ctl, work, fleets, keys, "ff", kill=False)
    faulty = fault_run(gen, afgw, ctl, work, fleets, keys, "kill", kill=True)
    check(faultfree and faulty == faultfree, "Redis killed and restarted: the same %d warning "
          "ids as without faults (got %d, %d missing, %d extra)" %
          (len(faultfree), len(faulty), len(faultfree - faulty), len(faulty - faultfree)))

    # ---- the spool: kill -9 of afgw, a torn tail, delivered next time ---------
    spool_run(gen, afgw, ctl, work, fleets, keys)

    print("warn: %d checks failed" % len(FAILS))
    return 1 if FAILS else 0


def gen_fraud(gen, path, seed):
    truth = path + ".truth.jsonl"
    run([gen, "-n", "100000", "--seed", str(seed), "--sms", "0.4", "--fraud", "0.3",
         "-o", path, "--truth", truth])
    callees = {}
    with open(truth, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            to, t = ev.get("to"), ev["truth"]
            if to and to.startswith("+86") and (t.get("label") == "fraud" or
                                                t.get("pattern") not in (None, "normal")):
                callees[to] = callees.get(to, 0) + 1
    return sorted(callees, key=lambda k: -callees[k])[:300]


def fault_run(gen, afgw, ctl, work, fleets, keys, name, kill):
    cap = os.path.join(work, "fault.pcap")
    if not os.path.exists(cap):
        fault_run.subs = gen_fraud(gen, cap, 21)
    fl = Fleet(work, ctl, name, aof=True)
    fleets.append(fl)
    fl.start()
    for i, msisdn in enumerate(fault_run.subs):
        run([ctl, "sub", "add", msisdn[3:], "--account", "acct%d" % i, "--pubkey",
             keys["alice"] + ".pub", "--prefs", "csl", "--redis", fl.redis.url])
    cfg = os.path.join(work, name + ".yaml")
    config(cfg, keys["gw"] + ".key", spool=os.path.join(work, name + ".spool"))
    out = os.path.join(work, name + ".jsonl")
    proc = subprocess.Popen([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o", out, cap],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(out) and os.path.getsize(out) > 2000000:
                break
            time.sleep(0.01)
        check(proc.poll() is None, "Redis killed while the replay runs")
        # afgw is held (SIGSTOP) while Redis dies and comes back, so that the
        # replay cannot end before Redis is up again: afgw then finds its
        # connections broken, spools, reconnects and delivers within the run,
        # however fast or slow this machine is
        os.kill(proc.pid, signal.SIGSTOP)
        fl.redis.kill()
        fl.redis.start(True)
        os.kill(proc.pid, signal.SIGCONT)
    err = proc.communicate(timeout=900)[1]
    check(proc.returncode == 0, "%s: replay exit 0: %s" % (name, err[-800:]))
    if kill:
        check("warnings_spooled" in err, "%s: warnings went to the spool meanwhile" % name)
        check(re.search(r"notifier: Redis at \S+ is back", err) is not None,
              "%s: the notifier reconnected within the run" % name)
    ids = set(stream_ids(fl.redis))
    fl.redis.kill()
    return ids


def spool_run(gen, afgw, ctl, work, fleets, keys):
    cap = os.path.join(work, "fault.pcap")
    spool = os.path.join(work, "k9.spool")
    cfg = os.path.join(work, "k9.yaml")
    config(cfg, keys["gw"] + ".key", spool=spool)
    fl = Fleet(work, ctl, "k9", aof=False)
    fleets.append(fl)
    fl.start()
    for i, msisdn in enumerate(fault_run.subs):
        run([ctl, "sub", "add", msisdn[3:], "--account", "acct%d" % i, "--pubkey",
             keys["alice"] + ".pub", "--prefs", "csl", "--redis", fl.redis.url])
    # Redis stops answering (SIGSTOP): afgw loads the registry first, then spools
    proc = subprocess.Popen([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o", "none",
                             cap], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.1)
    deadline = time.time() + 300
    segs = []
    stopped = False
    while time.time() < deadline and proc.poll() is None:
        if not stopped and os.path.isdir(spool):
            os.kill(fl.redis.proc.pid, signal.SIGSTOP)
            stopped = True
        segs = [x for x in os.listdir(spool) if x.endswith(".seg")] if os.path.isdir(spool) else []
        if segs and os.path.getsize(os.path.join(spool, sorted(segs)[-1])) > 20000:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.kill(fl.redis.proc.pid, signal.SIGCONT)
    check(bool(segs), "afgw spooled warnings before kill -9")
    if not segs:
        return
    last = os.path.join(spool, sorted(segs)[-1])
    with open(last, "ab") as f:   # a torn tail: a record header and half a payload
        f.write(b"AFSR" + struct.pack("<I", 900) + b"\0\0\0\0" + b"x" * 300)
    before = set(stream_ids(fl.redis))
    empty = os.path.join(work, "empty.pcap")
    write_pcap(empty, [])
    p = run([afgw, "replay", "-c", cfg, "--redis", fl.redis.url, "-o", "none", empty],
            check_rc=False)
    after = set(stream_ids(fl.redis))
    s = {}
    for line in p.stderr.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            s[parts[0]] = int(parts[1])
    check(p.returncode == 0 and s.get("warnings_unspooled", 0) > 0 and
          len(after - before) > 0, "the next run delivers the spooled warnings "
          "(%d new ids, unspooled %s)" % (len(after - before), s.get("warnings_unspooled")))
    left = [x for x in os.listdir(spool) if x.endswith(".seg")]
    check(not left or all(os.path.getsize(os.path.join(spool, x)) == 0 for x in left),
          "the spool is empty afterwards (%s)" % left)
    rc, ws, err = inbox(ctl, fl.redis, "acct0", keys["alice"] + ".key", [keys["gw"] + ".pub"])
    check(rc == 0 and " 0 rejected" in err, "spooled warnings open and verify (%s)" %
          err.strip())


if __name__ == "__main__":
    sys.exit(main())
