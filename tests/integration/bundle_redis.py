#!/usr/bin/env python3
"""bundle_redis.py - police bundles end to end, against a real redis-server.

usage: bundle_redis.py AFGW AFGWCTL

Police keys with afgwctl keygen, bundles with afgwctl bundle build / sign /
push, gateways as afgw replay runs with a keyring and a state directory.
Checks:

  - a valid bundle's new rule changes verdicts, every verdict carries its
    serial, its numbers are listed with source police@SERIAL and trigger
    look-back warnings to the subscribers they contacted;
  - a gateway started later picks up the current bundle, and re-applies
    it from its state directory when Redis has none;
  - refused, with the reason in the audit log and the old rules still in
    force: an older serial (after a restart: each replay is a new
    process), the same serial with other content (equivocation), a
    signature by an unknown key, a bundle whose rules do not compile, an
    expired bundle;
  - a reload storm: dozens of bundles pushed while a replay runs with two
    workers: every message scanned, every verdict tagged with a serial,
    serials never going back, many reloads applied.

Exits 77 (skipped) when redis-server is not installed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_redis import Redis, check, FAILS, udp_frame, sip_message  # noqa: E402
from fleet_redis import write_pcap  # noqa: E402

STORM = 40                   # bundles pushed during the storm replay
T0 = int(time.time()) - 600  # message times near now: listed numbers are in force
SCAMMER = "13912340001"      # texts the new scam wording
CALLER = "17012345678"       # contacts alice; blacklisted by bundle 1: look-back
ALICE = "13800000001"
BASE_RULE = """version: 1
rules:
  - id: local.base
    kind: text
    pattern: local-base-word
    weight: 60
    category: test
    desc_zh: 测试
    desc_en: test
"""


def rule(word, rid="police.new"):
    return BASE_RULE.replace("local.base", rid).replace("local-base-word", word) \
        .replace("weight: 60", "weight: 90")


def run(cmd, timeout=600, check_rc=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check_rc and p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def rcli(redis, *args):
    return subprocess.run(["redis-cli", "-s", redis.sock] + list(args), stdout=subprocess.PIPE,
                          text=True).stdout


class Env:
    def __init__(self, afgw, ctl, work, redis):
        self.afgw, self.ctl, self.work, self.redis = afgw, ctl, work, redis
        self.n = 0

    def bundle(self, serial, files, signers, extra=()):
        """Build and sign a bundle of files {name: text}; returns its path."""
        self.n += 1
        d = os.path.join(self.work, "src%d" % self.n)
        os.mkdir(d)
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        out = os.path.join(self.work, "b%d.bundle" % self.n)
        run([self.ctl, "bundle", "build", d, "--serial", str(serial), "-o", out] + list(extra))
        for k in signers:
            run([self.ctl, "bundle", "sign", out, "--key", k + ".key"])
        return out

    def push(self, path, force=False):
        return run([self.ctl, "bundle", "push", path, "--redis", self.redis.url] +
                   (["--force"] if force else []), check_rc=False)

    def replay(self, cfg, cap, extra=(), workers=1, timeout=600):
        p = run([self.afgw, "replay", "-c", cfg, "--redis", self.redis.url, "--workers",
                 str(workers), cap] + list(extra), timeout=timeout, check_rc=False)
        events = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        return p, events


def audit_lines(state):
    with open(os.path.join(state, "audit.log")) as f:
        return [json.loads(x) for x in f if x.strip()]


def verdict_of(events, text_start):
    for e in events:
        if e.get("text", "").startswith(text_start):
            return e["verdict"]
    return None


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    afgw, ctl = sys.argv[1:]
    if not shutil.which("redis-server"):
        print("redis-server not installed")
        return 77
    work = tempfile.mkdtemp(prefix="afgw-bundle-")
    redis = Redis(work)
    try:
        redis.start()
        body(Env(afgw, ctl, work, redis))
    finally:
        redis.kill()
        shutil.rmtree(work, ignore_errors=True)
    if FAILS:
        print("%d checks failed" % len(FAILS))
        return 1
    print("all checks passed")
    return 0


def body(env):
    work, ctl = env.work, env.ctl
    for k in ("p1", "p2", "mallory", "gw", "alice"):
        who = "app" if k == "alice" else "gateway" if k == "gw" else "police"
        run([ctl, "keygen", who, "-o", os.path.join(work, k)])
    keys = {k: os.path.join(work, k) for k in ("p1", "p2", "mallory")}
    ring = os.path.join(work, "trust.keyring")
    with open(ring, "w") as f:
        for k in ("p1", "p2"):
            f.write(open(keys[k] + ".pub").read())
    base = os.path.join(work, "rules")
    os.mkdir(base)
    with open(os.path.join(base, "base.yaml"), "w") as f:
        f.write(BASE_RULE)
    state = os.path.join(work, "state")
    cfg = os.path.join(work, "afgw.yaml")
    with open(cfg, "w") as f:
        f.write("rules: %s\nbehaviour:\n  fleet_sync_ms: 0\n" % base)
        f.write("notify:\n  gateway_key: %s\n" % os.path.join(work, "gw.key"))
        f.write("bundle:\n  trust: %s\n  state_dir: %s\n  poll_ms: 200\n" % (ring, state))
    run([ctl, "sub", "add", ALICE, "--account", "alice", "--pubkey",
         os.path.join(work, "alice.pub"), "--prefs", "csl", "--redis", env.redis.url])

    # the capture: the new scam wording, the local rule's word, and a caller
    # who texts alice an ordinary message (the contact look-back needs)
    fr = []
    texts = [(SCAMMER, "13800000009", "newscam-xyz offer: click now"),
             ("13700000002", "13800000009", "local-base-word here"),
             (CALLER, ALICE, "hello, parcel at the door")]
    for i, (a, b, t) in enumerate(texts):
        fr.append((T0 + i, udp_frame("10.9.0.1", "10.9.0.2", 5060, 5060,
                                     sip_message(a, b, t, i + 1))))
    cap = os.path.join(work, "one.pcap")
    write_pcap(cap, fr)
    # the same without the contact with alice, and the caller texting someone else
    texts[2] = (CALLER, "13800000009", texts[2][2])
    fr2 = [(T0 + 60 + i, udp_frame("10.9.0.1", "10.9.0.2", 5060, 5060,
                                   sip_message(a, b, t, 10 + i)))
           for i, (a, b, t) in enumerate(texts)]
    cap2 = os.path.join(work, "two.pcap")
    write_pcap(cap2, fr2)

    # 1. no bundle yet: only the local rule; serial 0
    p, ev = env.replay(cfg, cap)
    check(p.returncode == 0, "replay without a bundle: exit 0 (%s)" % p.stderr[-300:])
    v = verdict_of(ev, "newscam")
    check(v and v["action"] == "allow" and v["ruleset"] == 0, "no bundle: new scam allowed, "
          "serial 0 (%s)" % v)
    v = verdict_of(ev, "local-base")
    check(v and v["action"] == "warn", "local rule in force (%s)" % v)

    # 2. bundle 1 (two signers): a rule and numbers; pushed; a new gateway picks it up
    numbers = "# police list\n%s black 95 impersonate_police\n" % CALLER
    b1 = env.bundle(1, {"new.yaml": rule("newscam-xyz"), "list.numbers": numbers},
                    [keys["p1"], keys["p2"]])
    pp = env.push(b1)
    check(pp.returncode == 0, "push bundle 1 (%s)" % pp.stderr)
    p, ev = env.replay(cfg, cap2)
    check(p.returncode == 0, "replay with bundle 1: exit 0 (%s)" % p.stderr[-500:])
    v = verdict_of(ev, "newscam")
    check(v and v["action"] == "block" and v["ruleset"] == 1,
          "bundle 1's rule blocks the new scam, verdict serial 1 (%s)" % v)
    v = verdict_of(ev, "local-base")
    check(v and v["action"] == "warn" and v["ruleset"] == 1, "local rule still in force")
    v = verdict_of(ev, "hello")
    check(v and any(r.get("source") == "reputation" for r in v["reasons"]),
          "bundle 1's number listed: reputation reason (%s)" % v)
    check(all("verdict" in e and e["verdict"]["ruleset"] == 1 for e in ev),
          "every verdict tagged with serial 1")
    rec = rcli(env.redis, "--raw", "HGET", "afgw:rep:b:%04x" % bucket("+86" + CALLER),
               "+86" + CALLER)
    check(";police@1;" in rec, "number stored with source police@1 (%r)" % rec)
    a = audit_lines(state)
    check(a and a[-1]["result"] == "accept" and a[-1]["serial"] == 1 and
          len(a[-1]["keys"]) == 2, "audit: accept of serial 1 by two keys (%s)" % a[-1:])

    # look-back: the caller texted alice in the first replay (contact log); bundle 1
    # listed it, so alice gets a look-back warning
    ib = run([ctl, "inbox", "--account", "alice", "--key", os.path.join(work, "alice.key"),
              "--gateway-key", os.path.join(work, "gw.pub"), "--json", "--redis",
              env.redis.url], check_rc=False)
    ws = [json.loads(x) for x in ib.stdout.splitlines() if x.strip()]
    check(any(w.get("channel") == "lookback" and w.get("other") == "+86" + CALLER
              for w in ws) and len(ws) == 1,
          "one look-back warning to alice for the number bundle 1 listed (%s)" % ws)

    b2 = env.bundle(2, {"new.yaml": rule("newscam-xyz"),
                        "list.numbers": numbers.replace(" 95 ", " 96 ")}, [keys["p1"]])
    check(env.push(b2).returncode == 0, "push bundle 2")
    p, ev = env.replay(cfg, cap2, timeout=300)
    check(p.returncode == 0 and verdict_of(ev, "newscam")["ruleset"] == 2,
          "bundle 2 in force (%s)" % p.stderr[-300:])

    # 3. rejections: the old rules (serial 2) stay in force
    older = env.bundle(1, {"x.yaml": rule("other-word", "police.x")}, [keys["p1"]])
    check(env.push(older).returncode != 0, "push of an older serial refused without --force")
    check(env.push(older, force=True).returncode == 0, "push --force of an older serial")
    p, ev = env.replay(cfg, cap2)
    v = verdict_of(ev, "newscam")
    check(v and v["ruleset"] == 2 and v["action"] == "block", "rollback refused: serial 2 "
          "runs (%s)" % v)
    check(audit_lines(state)[-1]["reason"] == "rollback", "audit: rollback")

    equiv = env.bundle(2, {"x.yaml": rule("other-word", "police.x")}, [keys["p1"]])
    env.push(equiv, force=True)
    p, ev = env.replay(cfg, cap2)
    check(verdict_of(ev, "newscam")["ruleset"] == 2, "equivocation: serial 2 still runs")
    check(audit_lines(state)[-1]["reason"] == "equivocation", "audit: equivocation")

    evil = env.bundle(3, {"x.yaml": rule("hello", "police.evil")}, [keys["mallory"]])
    env.push(evil)
    p, ev = env.replay(cfg, cap2)
    v = verdict_of(ev, "hello")
    check(v and v["ruleset"] == 2, "unknown key: serial 2 still runs (%s)" % v)
    check(audit_lines(state)[-1]["reason"] == "unknown_key", "audit: unknown_key")

    bad = env.bundle(4, {"x.yaml": rule("a(?=b)", "police.bad").replace(
        "pattern: a(?=b)", "pattern: 'a(?=b)'\n    flags: [regex]")}, [keys["p1"]])
    env.push(bad)
    p, ev = env.replay(cfg, cap2)
    check(verdict_of(ev, "newscam")["ruleset"] == 2, "rules that do not compile: serial 2 "
          "still runs")
    last = audit_lines(state)[-1]
    check(last["reason"] in ("compile", "part_format"), "audit: compile (%s)" % last)

    expired = env.bundle(5, {"x.yaml": rule("zzz", "police.z")}, [keys["p1"]],
                         ["--issued", "1700000000", "--expires", "1700086400"])
    p, ev = env.replay(cfg, cap2, ["--bundle", expired])
    check(verdict_of(ev, "newscam")["ruleset"] == 2, "expired: serial 2 still runs")
    check(any(x["reason"] == "expired" and x["serial"] == 5 and x["source"] == "file:" + expired
              for x in audit_lines(state)), "audit: expired")

    # 4. Redis loses the bundle: the gateway runs the state's copy
    rcli(env.redis, "DEL", "afgw:bundle:current", "afgw:bundle:serial")
    p, ev = env.replay(cfg, cap2)
    check(verdict_of(ev, "newscam")["ruleset"] == 2, "state copy applied without Redis's")

    storm(env, cfg, keys, state)


def bucket(canon):
    h = 0x811c9dc5
    for c in canon.encode():
        h ^= c
        h = (h * 0x01000193) & 0xffffffff
    return h & 0xffff


def storm(env, cfg, keys, state):
    """Dozens of bundles pushed while a two-worker replay runs."""
    fr = []
    n = 30000
    for i in range(n):
        t = "newscam-xyz %d" % i if i % 2 else "local-base-word %d" % i
        fr.append((T0 + 100 + i * 0.001,
                   udp_frame("10.9.%d.1" % (i % 200), "10.9.0.2", 5060 + i % 50, 5060,
                             sip_message("1391234%04d" % (i % 9999), "13800000009", t,
                                         1000 + i))))
    cap = os.path.join(env.work, "storm.pcap")
    write_pcap(cap, fr)
    bundles = [(10 + k, env.bundle(10 + k, {"new.yaml": rule("newscam-xyz") if k % 2 else
                                            rule("local-base-word", "police.lb")},
                                   [keys["p2"]]))
               for k in range(STORM)]
    base_serial = 9
    b = env.bundle(base_serial, {"new.yaml": rule("newscam-xyz")}, [keys["p1"]])
    env.push(b, force=True)
    caps = [cap] * 60            # the same capture again and again: long enough
    proc = subprocess.Popen([env.afgw, "replay", "-c", cfg, "--redis", env.redis.url,
                             "--workers", "2", "-o", os.path.join(env.work, "storm.jsonl")] +
                            caps, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    # push one, wait until the running replay has applied it (its audit line),
    # push the next: every push is a reload while messages flow, whatever the
    # machine's speed (bounded: 15 s a bundle, and the replay's own end)
    pushed = applied = 0
    for serial, path in bundles:
        if proc.poll() is not None:
            break
        if env.push(path).returncode != 0:
            continue
        pushed += 1
        end = time.time() + 15
        while time.time() < end and proc.poll() is None:
            if any(x["serial"] == serial and x["result"] == "accept"
                   for x in audit_lines(state)):
                applied += 1
                break
            time.sleep(0.05)
    out, err = proc.communicate(timeout=900)
    check(proc.returncode == 0, "storm replay: exit 0 (%s)" % err[-500:])
    reloads = 0
    for line in err.splitlines():
        if line.strip().startswith("ruleset_reloads"):
            reloads = int(line.split()[-1])
    serials = []
    unscanned = 0
    with open(os.path.join(env.work, "storm.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            if "verdict" not in e:
                unscanned += 1
                continue
            serials.append(e["verdict"]["ruleset"])
    print("storm: %d bundles pushed, %d applied, %d reloads, %d messages, serials %s..%s" %
          (pushed, applied, reloads, len(serials), serials[0] if serials else "-",
           serials[-1] if serials else "-"))
    check(len(serials) == n * len(caps), "storm: every message has a verdict (%d)" %
          len(serials))
    check(unscanned == 0, "storm: nothing unscanned")
    check(all(s >= base_serial for s in serials), "storm: every verdict tagged with a serial")
    check(all(serials[i] <= serials[i + 1] for i in range(len(serials) - 1)),
          "storm: serials never go back")
    # (an offer the capture thread has not installed yet is replaced by the
    # next one, so reloads can be fewer than bundles applied)
    check(applied >= 24 and reloads >= 20,
          "storm: dozens of bundles applied while messages flowed (%d of %d pushed, %d reloads)" %
          (applied, pushed, reloads))


if __name__ == "__main__":
    sys.exit(main())
