#!/usr/bin/env python3
"""run_tap.py - `afgw run` in tap mode on live traffic, in network namespaces.

usage: run_tap.py AFGW AFGWCTL

Two namespaces made here and removed afterwards, joined by a veth pair:
sipp (Debian's sip-tester) sends SIP MESSAGEs from a caller the police
blacklisted, and ordinary ones, from namespace A to a sipp answering in
namespace B, where `afgw run` taps the veth.  A throwaway redis-server
holds the blacklist and a registered subscriber.  Checks:

  - every MESSAGE gets a verdict: the blacklisted caller's block (with a
    reputation reason), the others allow; events are written for warn and
    block only (output.allow_events off), with numbers as keyed pseudonyms
    and no SMS text or URIs (output.clear_numbers off);
  - the registered subscriber gets sealed warnings (afgwctl inbox);
  - the metrics endpoint answers in Prometheus text and its counters add
    up (messages = verdicts + unscanned); /healthz says ok;
  - SIGHUP reopens the events file (a rotated file keeps the old lines,
    the new one gets the new ones), reads the config again (a raised
    score.block turns the blacklisted caller's blocks into warnings) and
    reloads the rules (a rule added to the local directory flags the next
    messages); SIGTERM stops within
    seconds, exit 0;
  - run.user: the daemon drops root after opening the capture.

Exits 77 (skipped, with the reason) when not root, when network
namespaces cannot be made, or when sipp or redis-server is missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_redis import Redis, check, FAILS  # noqa: E402

NS_A = "afgw-tap-a-%d" % os.getpid()
NS_B = "afgw-tap-b-%d" % os.getpid()
BAD = "17000000001"          # blacklisted caller
GOOD = "13700000002"
TO = "13800000001"           # registered subscriber
PORT = 19477

RULE = """version: 1
rules:
  - id: %s
    kind: text
    pattern: %s
    weight: 90
    category: test
    desc_zh: 测试
    desc_en: test
"""

UAC = """<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="afgw message">
  <send retrans="500">
    <![CDATA[
MESSAGE sip:%(to)s@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:%(frm)s@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:%(to)s@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 MESSAGE
Max-Forwards: 70
Content-Type: text/plain;charset=UTF-8
Content-Length: [len]

%(text)s
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""

UAS = """<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="afgw message answer">
  <recv request="MESSAGE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]-[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def sh(*cmd, check_rc=True, timeout=60):
    p = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check_rc and p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def in_b(*cmd):
    return ["ip", "netns", "exec", NS_B] + list(cmd)


def http(path, netns=NS_B, port=PORT):
    """GET on the loopback of a namespace: (status, body)."""
    code = ("import urllib.request, urllib.error, sys\n"
            "try:\n"
            "    r = urllib.request.urlopen('http://127.0.0.1:%d%s', timeout=5)\n"
            "    print(r.status); sys.stdout.write(r.read().decode())\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(e.code); sys.stdout.write(e.read().decode())\n" % (port, path))
    p = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", code],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    if p.returncode != 0 or not p.stdout:
        return 0, p.stderr
    status, _, body = p.stdout.partition("\n")
    return int(status), body


def metric(body, name, **labels):
    total = 0.0
    for line in body.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all('%s="%s"' % kv in head for kv in labels.items()):
            total += float(value)
    return total


def start_daemon(afgw, cfg, netns, port, log_path, procs):
    """afgw run -c cfg in netns; returns the process once /healthz says 200, or None."""
    log = open(log_path, "w")
    daemon = subprocess.Popen(["ip", "netns", "exec", netns, afgw, "run", "-c", cfg],
                              stdout=log, stderr=log)
    procs.append(daemon)
    for _ in range(300):
        if daemon.poll() is not None:
            break
        if http("/healthz", netns, port)[0] == 200:
            return daemon
        time.sleep(0.1)
    check(False, "afgw run starts and /healthz answers 200 (%s)" % open(log_path).read()[-800:])
    return None


def stop_daemon(daemon, what):
    daemon.send_signal(signal.SIGTERM)
    try:
        rc = daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "SIGTERM: clean stop, exit 0 (%s, %s)" % (what, rc))


def in_namespaces(tools, setup, teardown, body, prefix):
    """The frame of a namespace test: skips, a work dir and a redis, cleanup."""
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    for tool in tools:
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return 77
    work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(work, 0o755)
    redis = Redis(work)
    procs = []
    try:
        try:
            setup()
        except SystemExit as e:
            print("SKIP: cannot make network namespaces here: %s" % e)
            return 77
        redis.start()
        os.chmod(redis.sock, 0o777)
        body(work, redis, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        redis.kill()
        teardown()
        shutil.rmtree(work, ignore_errors=True)
    if FAILS:
        print("%d checks failed" % len(FAILS))
        return 1
    print("all checks passed")
    return 0


def netns_setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", "afgwta", "type", "veth", "peer", "name", "afgwtb")
    sh("ip", "link", "set", "afgwta", "netns", NS_A)
    sh("ip", "link", "set", "afgwtb", "netns", NS_B)
    for ns, dev, addr in ((NS_A, "afgwta", "10.77.0.1/24"), (NS_B, "afgwtb", "10.77.0.2/24")):
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", dev)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")


def netns_teardown():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def sipp_uac(work, frm, text, n):
    path = os.path.join(work, "uac-%s.xml" % frm)
    with open(path, "w") as f:
        f.write(UAC % {"frm": frm, "to": TO, "text": text})
    return sh("ip", "netns", "exec", NS_A, "sipp", "10.77.0.2:5060", "-sf", path, "-m", str(n),
              "-r", "20", "-i", "10.77.0.1", "-p", "5070", "-timeout", "20", "-nostdin",
              check_rc=False, timeout=60)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    afgw, ctl = sys.argv[1:]
    return in_namespaces(("sipp", "redis-server", "ip"), netns_setup, netns_teardown,
                         lambda work, redis, procs: body(afgw, ctl, work, redis, procs),
                         "afgw-tap-")


def body(afgw, ctl, work, redis, procs):
    sh(ctl, "number", "add", BAD, "--list", "black", "--score", "95", "--category",
       "impersonate_police", "--source", "police", "--redis", redis.url)
    sh(ctl, "keygen", "gateway", "-o", os.path.join(work, "gw"))
    sh(ctl, "keygen", "app", "-o", os.path.join(work, "alice"))
    sh(ctl, "sub", "add", TO, "--account", "alice", "--pubkey",
       os.path.join(work, "alice.pub"), "--prefs", "csl", "--redis", redis.url)
    events = os.path.join(work, "events.jsonl")
    user = "nobody" if sh("id", "nobody", check_rc=False).returncode == 0 else None
    rules = os.path.join(work, "rules")
    os.mkdir(rules)
    with open(os.path.join(rules, "base.yaml"), "w") as f:
        f.write(RULE % ("local.base", "some-other-words"))
    cfg = os.path.join(work, "afgw.yaml")
    with open(cfg, "w") as f:
        f.write("mode: tap\nworkers: 2\nrules: %s\n" % rules)
        f.write("redis:\n  url: %s\n" % redis.url)
        f.write("behaviour:\n  fleet_sync_ms: 0\n")
        f.write("notify:\n  gateway_key: %s\n" % os.path.join(work, "gw.key"))
        f.write("output:\n  events: %s\n" % events)
        f.write("run:\n  interfaces: afgwtb\n  filter: udp port 5060\n")
        f.write("  metrics: 127.0.0.1:%d\n" % PORT)
        if user:
            f.write("  user: %s\n" % user)
    os.chmod(os.path.join(work, "gw.key"), 0o600)
    if user:
        shutil.chown(os.path.join(work, "gw.key"), user)
    os.chmod(work, 0o777)

    daemon = start_daemon(afgw, cfg, NS_B, PORT, os.path.join(work, "afgw.log"), procs)
    if not daemon:
        return
    if user:
        st = sh("ps", "-o", "user=", "-p", str(find_afgw_pid(daemon)), check_rc=False).stdout
        check(st.strip() == user, "runs as %s after opening the capture (%r)" % (user, st))

    uas = os.path.join(work, "uas.xml")
    with open(uas, "w") as f:
        f.write(UAS)
    answer = subprocess.Popen(in_b("sipp", "-sf", uas, "-i", "10.77.0.2", "-p", "5060",
                                   "-nostdin", "-timeout", "60"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(answer)
    time.sleep(0.5)
    sipp_uac(work, BAD, "您好，这里是公安局，请配合调查", 10)
    sipp_uac(work, GOOD, "晚上一起吃饭吗", 10)
    time.sleep(2)

    status, text = http("/metrics")
    check(status == 200 and "# TYPE afgw_verdicts_total counter" in text,
          "metrics in Prometheus text (%d)" % status)
    msgs = metric(text, "afgw_messages_total")
    verdicts = metric(text, "afgw_verdicts_total")
    unscanned = metric(text, "afgw_unscanned_total")
    check(msgs >= 40, "metrics: at least 40 messages (20 MESSAGE + 20 answers): %s" % msgs)
    check(msgs == verdicts + unscanned, "metrics add up: %s = %s + %s" %
          (msgs, verdicts, unscanned))
    check(metric(text, "afgw_verdicts_total", action="block") >= 10,
          "metrics: 10 blocks or more")
    check(metric(text, "afgw_capture_received_total", interface="afgwtb") >= 40,
          "metrics: capture counts")
    lag = metric(text, "afgw_reputation_lag_seconds")
    check("afgw_reputation_lag_seconds" in text and 0 <= lag < 30,
          "metrics: the replica follows the feed (lag %.1f s)" % lag)
    # The kernel counts a frame when it lands in the capture ring and the workers when the
    # loop has read it: a stray frame on the veth (IPv6 neighbour discovery, MLD) can sit
    # between the two at the moment of the snapshot, so look again for a few seconds.
    frames_text = text
    for _ in range(10):
        if metric(frames_text, "afgw_worker_frames_total") == \
                metric(frames_text, "afgw_capture_received_total"):
            break
        time.sleep(0.5)
        frames_text = http("/metrics")[1]
    check(metric(frames_text, "afgw_worker_frames_total") ==
          metric(frames_text, "afgw_capture_received_total"),
          "metrics: the workers' frames add up to the frames captured (%d, %d)" %
          (metric(frames_text, "afgw_worker_frames_total"),
           metric(frames_text, "afgw_capture_received_total")))
    check(metric(text, "afgw_thread_cpu_seconds_total", thread="capture") > 0,
          "metrics: the capture thread's CPU time")
    print("tap: metrics say %d messages, %d verdicts (%d block), %d unscanned, %d frames "
          "captured" % (msgs, verdicts, metric(text, "afgw_verdicts_total", action="block"),
                        unscanned, metric(text, "afgw_capture_received_total")))

    # SIGHUP: logrotate moves the file, the daemon reopens its name
    # SIGHUP: the events file reopened, and the rules reloaded with a new
    # rule that catches the ordinary caller's text
    os.rename(events, events + ".1")
    with open(os.path.join(rules, "new.yaml"), "w") as f:
        f.write(RULE % ("local.dinner", "一起吃饭"))
    # and the config read again: a block threshold above the blacklisted
    # caller's score (95) makes its next messages warn, not block
    with open(cfg, "a") as f:
        f.write("score:\n  block: 96\n")
    daemon.send_signal(signal.SIGHUP)
    reloads = 0
    for _ in range(600):
        reloads = metric(http("/metrics")[1], "afgw_ruleset_reloads_total")
        if reloads >= 1:
            break
        time.sleep(0.1)
    check(reloads >= 1, "SIGHUP: the rules reloaded")
    sipp_uac(work, BAD, "您的账户涉嫌洗钱，请转入安全账户", 5)
    sipp_uac(work, GOOD, "晚上一起吃饭吗", 5)
    time.sleep(2)
    stop_daemon(daemon, "tap")
    answer.kill()

    old = [json.loads(x) for x in open(events + ".1") if x.strip()]
    new = [json.loads(x) for x in open(events) if x.strip()] if os.path.exists(events) else []
    check(len(old) >= 10 and len(new) >= 5, "events before (%d) and after (%d) SIGHUP" %
          (len(old), len(new)))
    allv = old + new
    check(all(e["verdict"]["action"] != "allow" for e in allv),
          "only warn / block events without output.allow_events")
    messages = [e for e in allv if e.get("method") == "MESSAGE"]
    by_rule = [e for e in messages if any(r["id"] == "local.dinner"
                                           for r in e["verdict"]["reasons"])]
    check(len(by_rule) == 5 and all(e["verdict"]["action"] == "warn" for e in by_rule) and
          all(e in new for e in by_rule),
          "after the reload the new rule flags the 5 new messages (warn: score 90 is below "
          "the new block threshold), only those (%d)" % len(by_rule))
    msgs_bad = [e for e in messages if e not in by_rule]
    check(len(msgs_bad) >= 15 and all(any(r["source"] == "reputation"
                                           for r in e["verdict"]["reasons"])
                                       for e in msgs_bad),
          "the blacklisted caller's MESSAGEs flagged with a reputation reason (%d)" %
          len(msgs_bad))
    check(all(e["verdict"]["action"] == ("warn" if e in new else "block") for e in msgs_bad),
          "blocked before SIGHUP, warned after it raised score.block above their score")
    # privacy: numbers are keyed pseudonyms (one per number), no SMS text, no URI
    pseud = {e["from"] for e in msgs_bad}
    check(len(pseud) == 1 and pseud.pop().startswith("p:"), "the caller as one pseudonym")
    check(all(e.get("text") is None and e.get("from_uri") is None and e.get("ruri") is None
              and e["call_id"].startswith("p:") for e in allv),
          "no SMS text, no URIs, Call-IDs as pseudonyms in the events")
    raw = open(events + ".1").read() + (open(events).read() if os.path.exists(events) else "")
    check(BAD not in raw and TO not in raw, "no subscriber number in clear in the events")
    ib = sh(ctl, "inbox", "--account", "alice", "--key", os.path.join(work, "alice.key"),
            "--gateway-key", os.path.join(work, "gw.pub"), "--json", "--redis", redis.url,
            check_rc=False)
    ws = [json.loads(x) for x in ib.stdout.splitlines() if x.strip()]
    print("tap: %d events before SIGHUP, %d after, %d warnings in the inbox" %
          (len(old), len(new), len(ws)))
    check({w["other"] for w in ws} == {"+86" + BAD, "+86" + GOOD},
          "the subscriber got sealed warnings about both callers once blocked (%d)" %
          len(ws))


def find_afgw_pid(daemon):
    """ip netns exec execs afgw in place, so the child's pid is afgw's."""
    return daemon.pid


if __name__ == "__main__":
    sys.exit(main())
