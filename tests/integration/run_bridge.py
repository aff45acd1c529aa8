#!/usr/bin/env python3
"""run_bridge.py - `afgw run` in bridge mode, inline between two network namespaces.

usage: run_bridge.py AFGW AFGWCTL

Three namespaces made here and removed afterwards: the caller's (A), the
gateway's (M, with two veth ends and no addresses: a bump in the wire) and
the callee's (B).  Checks:

  - ping and a 2 MB TCP transfer from A to B pass through, byte-identical;
  - calls (sipp, Debian's sip-tester) from an ordinary caller complete end
    to end (INVITE, 200, ACK, BYE);
  - calls from a caller the police blacklisted get 607 Unwanted from afgw
    and their INVITE never reaches the callee;
  - the metrics count the held, released and blocked INVITEs; SIGTERM
    stops the gateway cleanly;
  - without any rule set (rules: none and no acceptable police bundle)
    calls keep flowing, unscanned and counted (fail-open).

Exits 77 (skipped, with the reason) when not root, when network
namespaces cannot be made, or when sipp or redis-server is missing.
"""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_redis import check, FAILS  # noqa: E402
from run_tap import http as http_in, in_namespaces, metric, sh, start_daemon, \
    stop_daemon  # noqa: E402

PID = os.getpid()
NS = {"a": "afgw-br-a-%d" % PID, "m": "afgw-br-m-%d" % PID, "b": "afgw-br-b-%d" % PID}
BAD = "17000000001"
GOOD = "13700000002"
TO = "13800000001"
PORT = 19478

UAC = """<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="afgw call">
  <send retrans="500">
    <![CDATA[
INVITE sip:%(to)s@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:%(frm)s@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:%(to)s@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:%(frm)s@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
%(rest)s
</scenario>
"""

# A request of the call after the INVITE (ACK, BYE), as sipp sends it.
IN_DIALOG = """  <send%(retrans)s>
    <![CDATA[
%(method)s sip:%%(to)s@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:%%(frm)s@[local_ip]:[local_port]>;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: %(cseq)d %(method)s
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>"""
ACK = IN_DIALOG % {"method": "ACK", "cseq": 1, "retrans": ""}
BYE = IN_DIALOG % {"method": "BYE", "cseq": 2, "retrans": ' retrans="500"'}

ANSWERED = ("""  <recv response="200" rtd="true"/>\n""" + ACK +
            """\n  <pause milliseconds="100"/>\n""" + BYE +
            """\n  <recv response="200" crlf="true"/>""")

REFUSED = """  <recv response="607"/>\n""" + ACK

COUNTER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.78.0.2", 5062))
s.settimeout(0.5)
n, end = 0, time.time() + float(sys.argv[1])
print("ready", flush=True)
while time.time() < end:
    try:
        d, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    if d.startswith(b"INVITE "):
        n += 1
print(n, flush=True)
"""

SINK = r"""
import hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 9000))
s.listen(1)
s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept()
h = hashlib.sha256()
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
print(h.hexdigest(), flush=True)
"""


def ns(name, *cmd):
    return ["ip", "netns", "exec", NS[name]] + list(cmd)


def setup():
    for n in NS.values():
        sh("ip", "netns", "add", n)
    for side in ("a", "b"):
        sh("ip", "link", "add", "afgwb%s0" % side, "type", "veth", "peer", "name",
           "afgwbm%s" % side)
        sh("ip", "link", "set", "afgwb%s0" % side, "netns", NS[side])
        sh("ip", "link", "set", "afgwbm%s" % side, "netns", NS["m"])
        sh(*ns("m", "ip", "link", "set", "afgwbm%s" % side, "up"))
    for side, addr in (("a", "10.78.0.1/24"), ("b", "10.78.0.2/24")):
        sh(*ns(side, "ip", "addr", "add", addr, "dev", "afgwb%s0" % side))
        sh(*ns(side, "ip", "link", "set", "afgwb%s0" % side, "up"))
        # A veth hands frames to a packet socket with their checksums still to
        # be filled in (transmit offload); frames from a real wire are whole.
        # The bump in the wire forwards bytes as read, so the endpoints must
        # compute their checksums themselves.
        sh(*ns(side, "ethtool", "-K", "afgwb%s0" % side, "tx", "off"))
    for n in NS:
        sh(*ns(n, "ip", "link", "set", "lo", "up"))


def teardown():
    for n in NS.values():
        subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


def http(path):
    return http_in(path, NS["m"], PORT)


def uac(work, frm, rest, port, n):
    path = os.path.join(work, "uac-%s.xml" % frm)
    with open(path, "w") as f:
        f.write(UAC % {"frm": frm, "to": TO, "rest": rest % {"frm": frm, "to": TO}})
    return subprocess.run(ns("a", "sipp", "10.78.0.2:%d" % port, "-sf", path, "-m", str(n),
                             "-r", "10", "-i", "10.78.0.1", "-p", "5070", "-timeout", "30",
                             "-nostdin"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=90)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    afgw, ctl = sys.argv[1:]
    return in_namespaces(("sipp", "redis-server", "ip", "ping", "ethtool"), setup, teardown,
                         lambda work, redis, procs: body(afgw, ctl, work, redis, procs),
                         "afgw-bridge-")


def body(afgw, ctl, work, redis, procs):
    sh(ctl, "number", "add", BAD, "--list", "black", "--score", "95", "--category",
       "impersonate_police", "--source", "police", "--redis", redis.url)
    cfg = os.path.join(work, "afgw.yaml")
    with open(cfg, "w") as f:
        f.write("mode: bridge\n")
        f.write("redis:\n  url: %s\n" % redis.url)
        f.write("behaviour:\n  fleet_sync_ms: 0\n")
        f.write("output:\n  events: %s\n" % os.path.join(work, "events.jsonl"))
        f.write("run:\n  interfaces: afgwbma,afgwbmb\n  metrics: 127.0.0.1:%d\n" % PORT)
        f.write("  verdict_deadline_ms: 2000\n")   # sanitizer builds are slow
    daemon = start_daemon(afgw, cfg, NS["m"], PORT, os.path.join(work, "afgw.log"), procs)
    if not daemon:
        return

    p = subprocess.run(ns("a", "ping", "-c", "3", "-W", "3", "10.78.0.2"),
                       stdout=subprocess.PIPE, text=True)
    check(p.returncode == 0, "ping passes through the bridge")

    sink = subprocess.Popen(ns("b", sys.executable, "-c", SINK), stdout=subprocess.PIPE,
                            text=True)
    procs.append(sink)
    sink.stdout.readline()
    data = os.urandom(2 << 20)
    send = ("import socket, sys\n"
            "s = socket.create_connection(('10.78.0.2', 9000), timeout=30)\n"
            "s.sendall(sys.stdin.buffer.read())\n"
            "s.close()\n")
    subprocess.run(ns("a", sys.executable, "-c", send), input=data, timeout=60)
    got = sink.stdout.readline().strip()
    check(got == hashlib.sha256(data).hexdigest(), "a 2 MB TCP transfer arrives byte-identical")

    answer = subprocess.Popen(ns("b", "sipp", "-sn", "uas", "-i", "10.78.0.2", "-p", "5060",
                                 "-nostdin", "-timeout", "120"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(answer)
    counter = subprocess.Popen(ns("b", sys.executable, "-c", COUNTER, "25"),
                               stdout=subprocess.PIPE, text=True)
    procs.append(counter)
    counter.stdout.readline()
    time.sleep(0.5)
    good = uac(work, GOOD, ANSWERED, 5060, 5)
    check(good.returncode == 0, "5 calls from an ordinary caller complete end to end (%s)" %
          good.stderr[-300:])
    bad = uac(work, BAD, REFUSED, 5062, 5)
    check(bad.returncode == 0, "5 calls from the blacklisted caller get 607 Unwanted (%s)" %
          bad.stderr[-300:])
    counter.wait(timeout=60)
    reached = counter.stdout.readline().strip()
    check(reached == "0", "no INVITE of the blacklisted caller reached the callee (%s)" %
          reached)

    status, text = http("/metrics")
    blocked = metric(text, "afgw_bridge_frames_total", what="blocked")
    released = metric(text, "afgw_bridge_frames_total", what="released")
    forwarded = metric(text, "afgw_bridge_frames_total", what="forwarded")
    print("bridge: %d frames forwarded at once, %d INVITEs released, %d blocked, %d deadline" %
          (forwarded, released, blocked,
           metric(text, "afgw_bridge_frames_total", what="deadline")))
    check(blocked == 5 and released == 5, "metrics: 5 INVITEs blocked, 5 released")
    check(metric(text, "afgw_bridge_frames_total", what="inject_errors") == 0,
          "metrics: no inject errors")
    stop_daemon(daemon, "bridge")
    no_ruleset(afgw, ctl, work, redis, procs)


def no_ruleset(afgw, ctl, work, redis, procs):
    """No local rules, a keyring, no bundle: calls flow unscanned and counted."""
    sh(ctl, "keygen", "police", "-o", os.path.join(work, "police"))
    cfg = os.path.join(work, "norules.yaml")
    with open(cfg, "w") as f:
        f.write("mode: bridge\nrules: none\n")
        f.write("redis:\n  url: %s\n" % redis.url)
        f.write("behaviour:\n  fleet_sync_ms: 0\n")
        f.write("bundle:\n  trust: %s\n  state_dir: %s\n" %
                (os.path.join(work, "police.pub"), os.path.join(work, "state")))
        f.write("output:\n  events: none\n")
        f.write("run:\n  interfaces: afgwbma,afgwbmb\n  metrics: 127.0.0.1:%d\n" % PORT)
        f.write("  verdict_deadline_ms: 2000\n")
    daemon = start_daemon(afgw, cfg, NS["m"], PORT, os.path.join(work, "afgw2.log"), procs)
    if not daemon:
        return
    counter = subprocess.Popen(ns("b", sys.executable, "-c", COUNTER, "15"),
                               stdout=subprocess.PIPE, text=True)
    procs.append(counter)
    counter.stdout.readline()
    uac(work, BAD, REFUSED, 5062, 3)   # nobody answers: the INVITEs only need to get there
    counter.wait(timeout=60)
    reached = counter.stdout.readline().strip()
    check(reached not in ("", "0"), "no rule set: the blacklisted caller's INVITEs are "
          "forwarded unscanned (%s reached the callee)" % reached)
    status, text = http("/metrics")
    check(metric(text, "afgw_unscanned_total", reason="no_ruleset") >= 3 and
          metric(text, "afgw_bridge_frames_total", what="unscanned") >= 3,
          "no rule set: counted as unscanned (no_ruleset)")
    stop_daemon(daemon, "bridge without rules")


if __name__ == "__main__":
    sys.exit(main())
