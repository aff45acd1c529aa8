#!/usr/bin/env python3
"""bench/bench_run.py - `afgw run` live, in network namespaces made here.

usage: bench/bench_run.py [BUILD_DIR] [--messages N] [--rates LIST] [--step-s S]
                          [--round-trips N] [--iperf-s S]

1. Tap mode: namespaces T1 and T2 joined by a veth pair; `afgw run` (mode
   tap, 1 then 2 workers, a throwaway redis-server holding the generator's
   blacklist, events on tmpfs) captures on T2's end while tcpreplay replays
   a UDP-only capture from bench/afgw-gen (SIP calls and SIP MESSAGE SMS)
   onto T1's end, at increasing packet rates (10k to 150k packets/s) then
   --topspeed, STEP_S seconds each (a rate that loses more than half stops
   the climb).  For each rate: packets sent (tcpreplay's own figure),
   packets the capture saw, messages screened (afgw_messages_total delta),
   kernel drops (afgw_capture_dropped_total{where="kernel"} delta).  The
   figure to quote is the highest rate without drops.
2. Bridge mode: namespaces A - M - B (veth A-M and M-B, checksums computed
   by A and B: `ethtool -K tx off`).  `afgw run` in bridge mode in M, then
   a plain kernel bridge (br0) in M on the same veths, twice over (latency
   is the better of the two rounds; iperf3 runs in the first).  For each:
   round-trip time of 64-byte UDP datagrams A -> B -> A (a Python echo in
   B, sequential), round-trip time of a SIP INVITE from an allowed caller
   to a Python UAS in B that answers 100 Trying (afgw holds each INVITE for
   its verdict), UDP packets/s delivered (iperf3 -u -l 64 at 20k, 40k, 80k
   and 160k packets/s offered, then as fast as iperf3 sends) and TCP
   throughput (iperf3); then the ratios.

Installs what it lacks (tcpreplay, iperf3, redis-server, ethtool) with
apt-get, builds the three programs it needs in BUILD_DIR (a release build,
default build-release), keeps the capture in $AFGW_BENCH_DIR (default
/tmp/afgw-bench), and removes its namespaces, processes and files at the
end, also on failure or Ctrl-C.  Every loop is bounded; the whole run
takes about 3 minutes (it gives up after 7).  Needs root.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PID = os.getpid()
NS_T1, NS_T2 = "afgwbr-t1-%d" % PID, "afgwbr-t2-%d" % PID
NS_A, NS_M, NS_B = "afgwbr-a-%d" % PID, "afgwbr-m-%d" % PID, "afgwbr-b-%d" % PID
METRICS_PORT = 19499
DEADLINE_S = 420                 # the whole run, whatever happens

PROCS = []                       # every process started here, killed at the end
NAMESPACES = []


def sh(*cmd, check=True, timeout=60, ns=None):
    """Run cmd (in namespace ns), return its CompletedProcess."""
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(full), p.returncode,
                                                p.stderr.strip()[-500:]))
    return p


def spawn(*cmd, ns=None, **kw):
    """Start cmd (in namespace ns) in the background; it is killed at the end."""
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    p = subprocess.Popen(full, **kw)
    PROCS.append(p)
    return p


def stop(p, timeout=10):
    """SIGTERM p, SIGKILL it if it is still there after timeout s; its exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    for n in NAMESPACES:
        subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


def on_signal(sig, _frame):
    raise SystemExit("stopped by signal %d" % sig)


# ---- set-up -------------------------------------------------------------

def install():
    need = {"tcpreplay": "tcpreplay", "iperf3": "iperf3", "redis-server": "redis-server",
            "ethtool": "ethtool", "ip": "iproute2", "meson": "meson", "ninja": "ninja-build"}
    missing = sorted({pkg for tool, pkg in need.items() if not shutil.which(tool)})
    if missing:
        print("installing %s..." % " ".join(missing), flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, env=env, check=True,
                       stdout=subprocess.DEVNULL)


def build(bdir):
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        sh("meson", "setup", bdir, HERE, "-Dbuildtype=release", timeout=300)
    sh("ninja", "-C", bdir, "gateway/afgw", "gateway/afgwctl", "bench/afgw-gen", timeout=900)


def capture(bdir, n):
    """The UDP-only capture and the generator's blacklist, made once and kept."""
    d = os.environ.get("AFGW_BENCH_DIR", "/tmp/afgw-bench")
    os.makedirs(d, exist_ok=True)
    cap = os.path.join(d, "udp-%d.pcap" % n)
    bl = os.path.join(d, "udp-%d.blacklist" % n)
    if not (os.path.exists(cap) and os.path.exists(bl)):
        print("generating %d messages..." % n, flush=True)
        sh(os.path.join(bdir, "bench/afgw-gen"), "-n", n, "--seed", "1", "--tcp", "0",
           "--sip-sms", "1", "--ipv6", "0", "--vlan", "0", "-q", "-o", cap + ".tmp",
           "--blacklist-out", bl, timeout=300)
        os.rename(cap + ".tmp", cap)
    return cap, bl


def count_frames(cap):
    """Frames in a classic pcap (walking the record headers)."""
    n = 0
    with open(cap, "rb") as f:
        hdr = f.read(24)
        le = hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return n
            incl = int.from_bytes(rec[8:12], "little" if le else "big")
            f.seek(incl, 1)
            n += 1


def start_redis(work):
    sock = os.path.join(work, "redis.sock")
    spawn("redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "777",
          "--save", "", "--appendonly", "no", "--dir", work,
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.close()
            return "unix://" + sock
        except OSError:
            time.sleep(0.01)
    raise SystemExit("redis-server did not start")


def netns_add(*names):
    for n in names:
        sh("ip", "netns", "add", n)
        NAMESPACES.append(n)
        sh("ip", "link", "set", "lo", "up", ns=n)


def veth(a, ns_a, b, ns_b):
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    sh("ip", "link", "set", a, "netns", ns_a)
    sh("ip", "link", "set", b, "netns", ns_b)
    for dev, n in ((a, ns_a), (b, ns_b)):
        sh("ip", "link", "set", dev, "up", ns=n)


# ---- afgw ---------------------------------------------------------------

def afgw_start(afgw, work, ns, mode, ifaces, workers, redis, tag):
    cfg = os.path.join(work, "afgw-%s.yaml" % tag)
    with open(cfg, "w") as f:
        f.write("mode: %s\nworkers: %d\n" % (mode, workers))
        f.write("redis:\n  url: %s\n" % redis)
        f.write("behaviour:\n  fleet_sync_ms: 0\n")
        f.write("output:\n  events: %s\n" % os.path.join(work, "events-%s.jsonl" % tag))
        f.write("run:\n  interfaces: %s\n  metrics: 127.0.0.1:%d\n" % (ifaces, METRICS_PORT))
    log = open(os.path.join(work, "afgw-%s.log" % tag), "w")
    p = spawn(afgw, "run", "-c", cfg, ns=ns, stdout=log, stderr=log)
    p.log = log.name
    p.ns = ns
    for _ in range(300):
        if p.poll() is not None:
            break
        if metrics(p, "/healthz", quiet=True) is not None:
            return p
        time.sleep(0.1)
    raise SystemExit("afgw run did not start: %s" % open(log.name).read()[-800:])


def metrics(p, path="/metrics", quiet=False):
    """GET path from the daemon's endpoint, inside its namespace: the body or None."""
    code = ("import urllib.request, sys\n"
            "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:%d%s', timeout=5)"
            ".read().decode())\n" % (METRICS_PORT, path))
    r = sh(sys.executable, "-c", code, ns=p.ns, check=False, timeout=30)
    if r.returncode != 0:
        if not quiet:
            print("metrics: %s" % r.stderr.strip()[-300:])
        return None
    return r.stdout


def metric(body, name, **labels):
    """Sum of name's samples whose labels include labels."""
    total = 0.0
    for line in (body or "").splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all('%s="%s"' % kv in head for kv in labels.items()):
            total += float(value)
    return total


def tap_counters(p):
    b = metrics(p)
    return {"recv": metric(b, "afgw_capture_received_total"),
            "kdrop": metric(b, "afgw_capture_dropped_total", where="kernel"),
            "idrop": metric(b, "afgw_capture_dropped_total", where="interface"),
            "msgs": metric(b, "afgw_messages_total"),
            "verdicts": metric(b, "afgw_verdicts_total"),
            "block": metric(b, "afgw_verdicts_total", action="block"),
            "unscanned": metric(b, "afgw_unscanned_total")}


def settle(p, before_recv, expect, limit_s=20):
    """Counters once the daemon has caught up: the capture count reached
    expect, or stayed put over two of its 1 s snapshots; at most limit_s."""
    end = time.monotonic() + limit_s
    last, same_since = None, time.monotonic()
    while True:
        c = tap_counters(p)
        now = time.monotonic()
        key = (c["recv"], c["msgs"], c["kdrop"])
        if key != last:
            last, same_since = key, now
        done_recv = c["recv"] - before_recv >= expect
        if (done_recv and now - same_since >= 1.1) or now - same_since >= 2.5 or now > end:
            return c
        time.sleep(0.3)


# ---- 1. tap mode ------------------------------------------------------------

def tcpreplay(cap, dev, rate, n, ns):
    """Replay the first n frames of cap onto dev at rate packets/s (0: top speed):
    (frames sent, seconds, packets/s, failed)."""
    speed = ["--topspeed"] if rate == 0 else ["--pps=%d" % rate]
    r = sh("tcpreplay", "-q", "-i", dev, "-K", "--limit=%d" % n, *speed, cap, ns=ns,
           check=False, timeout=120)
    sent = secs = pps = failed = 0.0
    for line in (r.stdout + r.stderr).splitlines():
        w = line.split()
        if line.strip().startswith("Actual:") and "packets" in line:
            sent = float(w[1])
            secs = float(w[w.index("sent") + 2]) if "sent" in w else 0.0
        elif line.strip().startswith("Rated:") and "pps" in line:
            pps = float(w[w.index("pps") - 1].rstrip(","))
        elif line.strip().startswith("Failed packets:"):
            failed = float(w[2])
    if not sent:
        raise SystemExit("tcpreplay failed: %s" % (r.stdout + r.stderr)[-600:])
    return sent, secs, pps, failed


def bench_tap(afgw, work, redis, cap, frames, rates, step_s):
    netns_add(NS_T1, NS_T2)
    veth("afgwbr-t1", NS_T1, "afgwbr-t2", NS_T2)
    rows = []
    for workers in (1, 2):
        p = afgw_start(afgw, work, NS_T2, "tap", "afgwbr-t2", workers, redis, "tap%d" % workers)
        # warm-up: ARP-free (the frames are the capture's), rule set and replica loaded
        tcpreplay(cap, "afgwbr-t1", 2000, 500, NS_T1)
        prev = settle(p, 0, 500)
        for rate in rates:
            n = min(frames, int(rate * step_s) if rate else frames)
            sent, secs, pps, failed = tcpreplay(cap, "afgwbr-t1", rate, n, NS_T1)
            c = settle(p, prev["recv"], sent)
            d = {k: c[k] - prev[k] for k in c}
            prev = c
            row = {"workers": workers, "rate": rate, "sent": sent, "secs": secs, "pps": pps,
                   "failed": failed, **d}
            rows.append(row)
            print("  tap, %d worker%s, %s: sent %d in %.2f s (%.0f pps), captured %d, "
                  "messages %d, kernel drops %d" %
                  (workers, "" if workers == 1 else "s",
                   "top speed" if not rate else "%d pps" % rate, sent, secs, pps,
                   d["recv"], d["msgs"], d["kdrop"]), flush=True)
            if rate and d["kdrop"] > 0.5 * sent:
                break            # far past the limit: higher rates tell nothing more
        rc = stop(p, 30)
        summary = [x for x in open(p.log).read().splitlines() if "stopped:" in x]
        print("  afgw: exit %s, %s" % (rc, summary[-1].strip() if summary else "no summary"),
              flush=True)
    for n in (NS_T1, NS_T2):
        subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)
        NAMESPACES.remove(n)
    return rows


# ---- 2. bridge mode ---------------------------------------------------------

ECHO = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.79.0.2", 7))
s.settimeout(1)
end = time.monotonic() + float(sys.argv[1])
print("ready", flush=True)
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(2048)
    except socket.timeout:
        continue
    s.sendto(d, a)
"""

UAS = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.79.0.2", 5060))
s.settimeout(1)
end = time.monotonic() + float(sys.argv[1])
print("ready", flush=True)
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    head = d.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower()
            in (b"via", b"from", b"to", b"call-id", b"cseq")]
    s.sendto(b"SIP/2.0 100 Trying\r\n" + b"\r\n".join(keep) +
             b"\r\nContent-Length: 0\r\n\r\n", a)
"""

# Sequential round trips; argv: kind (udp | invite), count, time limit.
CLIENT = r"""
import json, socket, sys, time
kind, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.79.0.1", 5070 if kind == "invite" else 0))
s.settimeout(0.5)
dst = ("10.79.0.2", 5060 if kind == "invite" else 7)
INV = ("INVITE sip:13800000001@10.79.0.2:5060 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 10.79.0.1:5070;branch=z9hG4bK-%(i)d\r\n"
       "From: <sip:13700000002@10.79.0.1:5070>;tag=t%(i)d\r\n"
       "To: <sip:13800000001@10.79.0.2:5060>\r\n"
       "Call-ID: bench-%(i)d@10.79.0.1\r\n"
       "CSeq: 1 INVITE\r\n"
       "Contact: <sip:13700000002@10.79.0.1:5070>\r\n"
       "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
rtt, lost, warm = [], 0, 50
end = time.monotonic() + limit
for i in range(n + warm):
    if time.monotonic() > end:
        break
    if kind == "invite":
        msg = (INV % {"i": i}).encode()
        want = ("bench-%d@" % i).encode()
    else:
        msg = b"%08d" % i + b"x" * 56
        want = msg[:8]
    t = time.perf_counter()
    s.sendto(msg, dst)
    while True:
        try:
            d = s.recv(65535)
        except socket.timeout:
            lost += i >= warm
            break
        if want in d:
            if i >= warm:
                rtt.append((time.perf_counter() - t) * 1e6)
            break
rtt.sort()
q = lambda f: rtt[min(len(rtt) - 1, int(f * len(rtt)))] if rtt else 0
print(json.dumps({"n": len(rtt), "lost": lost, "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
                  "max": rtt[-1] if rtt else 0, "mean": sum(rtt) / len(rtt) if rtt else 0}))
"""


def rtt(kind, n):
    """Round trips A -> B -> A of kind: the client's JSON figures."""
    srv = spawn(sys.executable, "-c", ECHO if kind == "udp" else UAS, "60", ns=NS_B,
                stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    r = sh(sys.executable, "-c", CLIENT, kind, n, 30, ns=NS_A, timeout=60)
    stop(srv, 5)
    return json.loads(r.stdout)


def iperf(secs, pps=None):
    """iperf3 A -> B.  pps given: UDP, 64-byte datagrams at pps packets/s (0: as
    fast as the sender goes): (sent pps, delivered pps, loss %).  None: TCP,
    (Mbit/s received,)."""
    srv = spawn("iperf3", "-s", "-1", "-B", "10.79.0.2", ns=NS_B,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if "5201" in sh("ss", "-ltn", "sport = :5201", ns=NS_B).stdout:
            break
        time.sleep(0.1)
    args = [] if pps is None else ["-u", "-l", "64", "-b", str(pps * 64 * 8)]
    r = sh("iperf3", "-c", "10.79.0.2", "-t", secs, "-J", *args, ns=NS_A, check=False,
           timeout=secs + 30)
    stop(srv, 5)
    try:
        end = json.loads(r.stdout)["end"]
    except (ValueError, KeyError):
        raise SystemExit("iperf3 failed: %s" % (r.stdout + r.stderr)[-600:])
    if pps is None:
        return (end["sum_received"]["bits_per_second"] / 1e6,)
    s = end.get("sum_received") or end["sum"]
    sent = end.get("sum_sent") or end["sum"]
    total = s["packets"]
    got = total - s["lost_packets"]
    return (sent["packets"] / sent["seconds"], got / s["seconds"],
            100.0 * s["lost_packets"] / total if total else 0.0)


UDP_LADDER = (20000, 40000, 80000, 160000, 0)  # iperf3 UDP offered packets/s, 0: unlimited
LOSS_OK = 0.1                          # % loss still counted as "without loss"


def measure_link(label, n_rtt, iperf_s, res):
    """Round trips into res["udp"] and res["invite"] (lists, one entry a
    round); with iperf_s, the iperf3 UDP ladder and TCP too."""
    print("  %s: round trips..." % label, flush=True)
    ping = sh("ping", "-c", "3", "-W", "2", "10.79.0.2", ns=NS_A, check=False)
    if ping.returncode != 0:
        raise SystemExit("%s: A cannot reach B" % label)
    res.setdefault("udp", []).append(rtt("udp", n_rtt))
    res.setdefault("invite", []).append(rtt("invite", n_rtt))
    if not iperf_s:
        return
    res["ladder"] = []
    for pps in UDP_LADDER:
        res["ladder"].append((pps,) + iperf(iperf_s, pps))
        print("  %s: UDP %s: sent %.0f pps, delivered %.0f pps, loss %.2f %%" %
              ((label, "as fast as iperf3 goes" if not pps else "%d pps" % pps) +
               res["ladder"][-1][1:]), flush=True)
    res["tcp"] = iperf(iperf_s)


def bench_bridge(afgw, work, redis, n_rtt, iperf_s):
    """afgw then the kernel bridge, twice (round trips each time, iperf3 the
    first time): each configuration's latency is the better of its two rounds."""
    netns_add(NS_A, NS_M, NS_B)
    veth("afgwbr-a0", NS_A, "afgwbr-ma", NS_M)
    veth("afgwbr-b0", NS_B, "afgwbr-mb", NS_M)
    for dev, n, addr in (("afgwbr-a0", NS_A, "10.79.0.1/24"), ("afgwbr-b0", NS_B, "10.79.0.2/24")):
        sh("ip", "addr", "add", addr, "dev", dev, ns=n)
        # frames are forwarded as read: the endpoints fill in their own checksums
        sh("ethtool", "-K", dev, "tx", "off", ns=n)
    out = {"afgw": {}, "kernel": {}, "afgw_rc": [], "afgw_kdrop": 0.0,
           "afgw_frames": dict.fromkeys(("forwarded", "held", "released", "blocked",
                                         "deadline", "unscanned", "overload",
                                         "inject_errors"), 0.0)}
    for rnd in (0, 1):
        p = afgw_start(afgw, work, NS_M, "bridge", "afgwbr-ma,afgwbr-mb", 1, redis,
                       "bridge%d" % rnd)
        measure_link("afgw bridge", n_rtt, 0 if rnd else iperf_s, out["afgw"])
        b = metrics(p)
        for w in out["afgw_frames"]:
            out["afgw_frames"][w] += metric(b, "afgw_bridge_frames_total", what=w)
        out["afgw_kdrop"] += metric(b, "afgw_capture_dropped_total", where="kernel")
        out["afgw_rc"].append(stop(p, 30))
        sh("ip", "link", "add", "br0", "type", "bridge", ns=NS_M)
        for dev in ("afgwbr-ma", "afgwbr-mb"):
            sh("ip", "link", "set", dev, "master", "br0", ns=NS_M)
        sh("ip", "link", "set", "br0", "up", ns=NS_M)
        time.sleep(0.5)
        measure_link("kernel bridge", n_rtt, 0 if rnd else iperf_s, out["kernel"])
        sh("ip", "link", "del", "br0", ns=NS_M)
    return out


# ---- report -------------------------------------------------------------

def report(tap, br, frames, args):
    print()
    print("afgw run benchmark (%s; a shared, loaded 2-core VM: the load generators, the "
          "kernel's veth work and afgw share the two cores)" % time.strftime("%Y-%m-%d"))
    print()
    print("1. Tap mode: tcpreplay -> veth -> afgw run (run.buffer 64 MiB default, "
          "%d-frame UDP capture: SIP calls and SIP MESSAGE, ~617 bytes/frame), "
          "%.0f s steps" % (frames, args.step_s))
    print("%-8s %-10s %9s %10s %9s %9s %10s %9s" % ("workers", "asked", "sent", "sent pps",
                                                   "captured", "messages", "msgs/s",
                                                   "k.drops"))
    best, near = {}, {}
    for r in tap:
        mps = r["msgs"] / r["secs"] if r["secs"] else 0
        whole = r["kdrop"] + r["idrop"] == 0 and r["recv"] >= r["sent"]
        print("%-8d %-10s %9d %10.0f %9d %9d %10s %9d" %
              (r["workers"], "top" if not r["rate"] else "%d" % r["rate"], r["sent"], r["pps"],
               r["recv"], r["msgs"], "%.0f" % mps if whole else "-", r["kdrop"]))
        if r["kdrop"] == 0 and r["idrop"] == 0 and r["recv"] >= r["sent"] and r["failed"] == 0:
            if r["pps"] > best.get(r["workers"], (0, 0))[0]:
                best[r["workers"]] = (r["pps"], mps)
        if r["kdrop"] + r["idrop"] < 0.001 * r["sent"] and r["recv"] >= r["sent"]:
            if r["pps"] > near.get(r["workers"], (0, 0))[0]:
                near[r["workers"]] = (r["pps"], mps)
    print("(msgs/s: messages screened / seconds of sending, shown where nothing was dropped)")
    for w in (1, 2):
        if w in best:
            print("highest rate without drops, %d worker%s: %.0f packets/s, %.0f messages/s "
                  "screened" % (w, "" if w == 1 else "s", best[w][0], best[w][1]))
        else:
            print("highest rate without drops, %d worker%s: none of the rates tried" %
                  (w, "" if w == 1 else "s"))
        if w in near and near[w] != best.get(w):
            print("  (with under 0.1 %% dropped: %.0f packets/s, %.0f messages/s)" % near[w])
    print()
    a, k = br["afgw"], br["kernel"]
    print("2. Bridge mode: A - M - B, afgw run (1 worker) in M vs a kernel bridge (br0) in M; "
          "ratio afgw / kernel")
    print("%-38s %14s %14s %8s" % ("", "afgw bridge", "kernel bridge", "ratio"))

    def line(name, x, y, unit, fmt="%.0f"):
        ratio = x / y if y else float("nan")
        print("%-38s %14s %14s %7.2fx" % (name, (fmt % x) + unit, (fmt % y) + unit, ratio))
    lat = {}
    for cfg in ("afgw", "kernel"):
        for kind in ("udp", "invite"):
            runs = br[cfg][kind]
            lat[cfg, kind] = {q: min(r[q] for r in runs) for q in ("p50", "p99")}
            lat[cfg, kind]["n"] = sum(r["n"] for r in runs)
            lat[cfg, kind]["lost"] = sum(r["lost"] for r in runs)
    for kind, name in (("udp", "UDP 64 B round trip"), ("invite", "SIP INVITE -> 100 Trying")):
        for q in ("p50", "p99"):
            line("%s %s" % (name, q), lat["afgw", kind][q], lat["kernel", kind][q], " us")
    for kind, name in (("udp", "UDP"), ("invite", "INVITE")):
        print("%-38s %14s %14s" % (name + " round trips (lost)",
                                   "%d (%d)" % (lat["afgw", kind]["n"], lat["afgw", kind]["lost"]),
                                   "%d (%d)" % (lat["kernel", kind]["n"],
                                                lat["kernel", kind]["lost"])))
    for kind, name in (("udp", "UDP"), ("invite", "INVITE")):
        print("%-38s %14s" % ("added by afgw, p50 / p99: " + name, "%.0f / %.0f us" %
                              (lat["afgw", kind]["p50"] - lat["kernel", kind]["p50"],
                               lat["afgw", kind]["p99"] - lat["kernel", kind]["p99"])))
    for (pps, sa, da, la), (_, sk, dk, lk) in zip(a["ladder"], k["ladder"]):
        what = "%d pps offered" % pps if pps else "no limit"
        if not pps:
            line("UDP 64 B sent by iperf3, no limit", sa, sk, "")
        print("%-38s %14s %14s %7.2fx" % ("UDP 64 B delivered, " + what,
                                          "%.0f (%.1f%%)" % (da, la), "%.0f (%.1f%%)" % (dk, lk),
                                          da / dk if dk else float("nan")))

    def lossless(ladder):
        ok = [sent for pps, sent, got, loss in ladder if pps and loss < LOSS_OK]
        return max(ok) if ok else 0
    line("UDP 64 B pps, loss < %.1f%% (of tried)" % LOSS_OK, lossless(a["ladder"]),
         lossless(k["ladder"]), "")
    line("TCP (iperf3, Mbit/s)", a["tcp"][0], k["tcp"][0], "")
    f = br["afgw_frames"]
    print("(latency: the better of two rounds of %d round trips each, afgw and kernel bridge "
          "alternating; iperf3 %d s a run, once)" % (args.round_trips, args.iperf_s))
    print("afgw bridge counters: %d frames forwarded at once, %d INVITEs held, %d released, "
          "%d past the deadline, %d overload, %d inject errors, %d kernel drops; exit %s" %
          (f["forwarded"], f["held"], f["released"], f["deadline"], f["overload"],
           f["inject_errors"], br["afgw_kdrop"], " ".join(str(x) for x in br["afgw_rc"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default=os.path.join(HERE, "build-release"))
    ap.add_argument("--messages", type=int, default=300000,
                    help="messages in the generated capture (default 300000)")
    ap.add_argument("--rates", default="10000,20000,40000,60000,80000,100000,120000,150000,0",
                    help="packets/s to offer in tap mode, 0 for top speed")
    ap.add_argument("--step-s", type=float, default=3.0, help="seconds per rate (default 3)")
    ap.add_argument("--round-trips", type=int, default=5000,
                    help="UDP and INVITE round trips a round (default 5000)")
    ap.add_argument("--iperf-s", type=int, default=2, help="seconds per iperf3 run (default 2)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_run.py: needs root (network namespaces, live capture)")
    rates = [int(x) for x in args.rates.split(",") if x.strip()]
    bdir = os.path.abspath(args.build)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(DEADLINE_S)
    work = tempfile.mkdtemp(prefix="afgw-benchrun-", dir="/dev/shm")
    os.chmod(work, 0o755)
    t0 = time.monotonic()
    try:
        install()
        build(bdir)
        afgw = os.path.join(bdir, "gateway/afgw")
        cap, bl = capture(bdir, args.messages)
        frames = count_frames(cap)
        redis = start_redis(work)
        sh(os.path.join(bdir, "gateway/afgwctl"), "number", "import", bl, "--list", "black",
           "--source", "police", "--redis", redis)
        print("1. tap mode", flush=True)
        tap = bench_tap(afgw, work, redis, cap, frames, rates, args.step_s)
        print("2. bridge mode", flush=True)
        br = bench_bridge(afgw, work, redis, args.round_trips, args.iperf_s)
        report(tap, br, frames, args)
        print("\n(total %.0f s)" % (time.monotonic() - t0))
    finally:
        signal.alarm(0)
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
