#!/usr/bin/env python3
"""tshark_check.py - afgw-gen's captures, dissected by tshark, agree with its ground truth.

usage: tshark_check.py PATH/TO/afgw-gen [--keep DIR]

afgw-gen is the reference the decoders are tested against, so its own output
is checked here against an independent dissector, Wireshark's.

A. A capture of 3,000 messages: SIP over UDP and TCP, IPv4 and IPv6, 802.1Q
   and QinQ, IPv4 and IPv6 fragments, TCP cut at a small MSS and resent, SMPP
   sessions with concatenated SMS.  Checked: same seed and flags give
   byte-identical files (with or without --truth); capinfos agrees on format,
   link type and packet count; tshark finds
     - for every SIP Call-ID the truth's multiset of methods and statuses;
     - each SIP message in the frame whose timestamp is the truth's "ts",
       with the same src, dst, CSeq, Request-URI, From / To URI and user part,
       P-Asserted-Identity presence and User-Agent;
     - per (operation, source, destination, data_coding) as many submit_sm /
       deliver_sm / data_sm PDUs as the truth's parts, and the text of every
       single-part SMS;
     - SMS over IP (SIP MESSAGE, application/vnd.3gpp.sms) through Wireshark's
       gsm_a.rp and gsm_sms dissectors: for every single-part SMS the RP-MTI
       fits the TPDU (RP-DATA MS->network carries an SMS-SUBMIT, network->MS
       an SMS-DELIVER), the TP-DA / TP-OA digits or alphanumeric sender are
       the truth's to_raw / from_raw, TP-DCS is its data_coding and the text
       its text; a concatenated SMS is exactly one MESSAGE per part (with a
       202 line in the truth and none of its own) and its parts' texts, joined
       in UDH part order, are the truth's one line, whose src, dst and ts are
       its last part's; every RP-ACK answers an RP-DATA of the same RP-MR
       from the other side, with the RP-MTI of the opposite direction;
     - no malformed frame and no expert info of error severity;
   and the capture really holds each of those features.
B. A capture with TCP writes also cut at random offsets, adjacent segments
   swapped and segments resent.  Wireshark's reassembly does not follow all
   of that (see the notes below), so the TCP byte streams are rebuilt
   here from tshark's per-segment sequence numbers and payloads: resent
   bytes must be identical, no byte may be missing, the SIP messages and
   SMPP PDUs the streams hold must be exactly the truth's TCP messages (and
   one MESSAGE per part of each concatenated SMS over IP), and
   every SMS, its parts joined (UDH 8/16-bit reference or sar_* TLVs) and
   decoded (GSM 7-bit unpacked with escapes, Latin-1, UTF-16), must give the
   truth's text.
C. A capture with --bad: tshark must survive it, the truth must name the
   damage, and tshark must see some of it.
D. A capture of SMS over IP only, from a small corpus of texts at the
   encodings' edges (GSM escapes, one where an 8-bit-reference part would
   end, a surrogate pair there too, Latin-1 that goes as UCS-2, 7 spare
   bits after the last septet, text outside the BMP): the checks of A's
   SMS over IP, every case covered, nothing tolerated.

Limits of Wireshark 4.0 that the checks allow for, by name:
  - SIP over TCP: its reassembly frames a message by "Content-Length" only,
    not by the compact "l:" (RFC 3261 §7.3.3), so such a message spanning
    segments is shown before its body arrived and its body may be reported
    malformed.  Tolerated only for frames whose header uses "l:".
  - SMPP over TCP: packet-smpp.c's test_smpp() refuses a segment that starts
    a PDU with fewer than 16 bytes, so such PDUs are not dissected.  Only
    capture B cuts segments at random offsets, and B does not rely on it.
  - The first limit hides the body of such a SIP MESSAGE from gsm_sms: an SMS
    over IP message (or part) in a compact-"l:" frame over TCP that gsm_sms
    did not see is counted as tolerated, not compared.
Wireshark's gsm_sms reassembly is turned off, so each part shows its own
text and its UDH (and 4.0 warns "Trailing stray characters" on every SIP
message with an RP-DATA body, also on the hand-built golden capture: a
warning, not counted).

Exits 0 when everything agrees, 77 (meson's SKIP) when tshark is missing, 1
with one line per problem otherwise.
"""

import collections
import datetime
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

COMMON = [
    "-n", "3000", "--ipv6", "0.3", "--vlan", "0.3", "--big-sdp", "0.15",
    "--sms", "0.45", "--sip-sms", "0.2", "--wangiri", "0.1", "--mass-call", "0.05",
    "--blacklisted", "0.05", "--fraud", "0.3",
]
GEN_A = COMMON + ["--seed", "20261121", "--tcp", "0.5", "--mss", "536",
                  "--tcp-retrans", "0.03", "--tcp-split", "0"]
# (afgw-gen draws SMS texts from tests/data/sms_corpus.tsv: when the corpus
# grows, a seed may stop drawing a kind the coverage check below needs, which
# it then says; 4242 did after batch 9, 4243 after batch 12, 4245 and 4246
# after batch 14, 4247 covers everything)
GEN_B = COMMON + ["--seed", "4247", "--tcp", "0.6", "--mss", "300",
                  "--tcp-split", "0.4", "--tcp-reorder", "0.15", "--tcp-retrans", "0.05"]
GEN_C = COMMON + ["--seed", "7", "--tcp", "0.4", "--bad", "0.1"]
# D: only SMS over IP, from a corpus of texts at the encodings' edges (an
# escape or a surrogate pair where a part would end, Latin-1 that TP-DCS
# cannot name, 7 spare bits at the end), no TCP write cut
GEN_D = ["-n", "600", "--seed", "11", "--sms", "1", "--sip-sms", "1", "--sms-3gpp", "1",
         "--tcp", "0.3", "--tcp-split", "0", "--ipv6", "0.3", "--vlan", "0.2", "--fraud", "0.3",
         "--blacklisted", "0.05"]
CORPUS_D = [
    ("d01", "legit", "greeting", "en",
     "Dinner at 7 {usual place} ~ bring the [photos] & 20€ for the cake ^_^ | a\\b"),
    # 152 septets, then an escape pair where an 8-bit-reference part would end
    ("d02", "fraud", "phishing", "en",
     ("Your account is on hold until you verify it. " * 4)[:152] + "€" +
     "100 fee due today, pay at http://verify-acct.top/x or lose access."),
    # 66 UTF-16 units, then a surrogate pair where a part would end
    ("d03", "legit", "family", "zh", "周末回家吃饭，" * 9 + "妈妈做" + "😀" +
     "了你爱吃的菜，记得带伞，路上注意安全。"),
    ("d04", "legit", "greeting", "fr",
     "Bonne fête ! Rendez-vous au café à côté, naïve idée : crêpes maison, ça te dit ? "
     "Réponds-moi vite, à ce soir."),
    ("d05", "legit", "chat", "en", "Call me"),
    ("d06", "fraud", "冒充公检法", "zh", "您的身份证涉嫌洗钱，请立即转入安全账户𠀀配合调查💰"),
    ("d07", "legit", "notice", "en", "ok @ 8pm, gate B@"),
]

TSHARK_OPTS = [
    "-d", "tcp.port==2775,smpp",
    "-o", "tcp.desegment_tcp_streams:TRUE",
    "-o", "tcp.reassemble_out_of_order:TRUE",
    "-o", "smpp.decode_sms_over_smpp:GSM 7-bit",
    "-o", "smpp.gsm7_unpacked:TRUE",
    "-o", "gsm_sms.reassemble:FALSE",
]

FIELDS = [
    "frame.number", "frame.time_epoch",
    "eth.type", "vlan.id", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
    "ip.flags.mf", "ipv6.fraghdr.ident", "ipv6.fragment.count",
    "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
    "tcp.analysis.retransmission", "tcp.analysis.out_of_order", "tcp.reassembled.length",
    "sip.Method", "sip.Status-Code", "sip.Call-ID", "sip.CSeq.seq", "sip.r-uri",
    "sip.from.addr", "sip.from.user", "sip.to.addr", "sip.to.user", "sip.pai.addr",
    "sip.User-Agent", "sip.msg_hdr",
    "smpp.command_id", "smpp.source_addr", "smpp.destination_addr",
    "smpp.data_coding", "smpp.message_text",
    "gsm_a.rp.msg_type", "gsm_a.rp.rp_message_reference", "gsm_sms.tp-mti", "gsm_sms.tp-oa",
    "gsm_sms.tp-da", "gsm_sms.tp-dcs", "gsm_sms.sms_text", "gsm_sms.ie_identifier",
    "gsm_sms.dis_field_addr.num_type",
    "gsm_sms.udh.mm.msg_id", "gsm_sms.udh.mm.msg_parts", "gsm_sms.udh.mm.msg_part",
    "_ws.malformed", "_ws.expert.severity", "_ws.expert.message",
]
STREAM_FIELDS = [
    "frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
    "tcp.flags.syn", "tcp.payload", "ip.src", "ipv6.src", "tcp.analysis.out_of_order",
    "_ws.malformed", "_ws.expert.severity", "_ws.expert.message", "sip.msg_hdr",
]

PI_ERROR = 0x00800000
SMPP_OPS = {0x00000004: "submit_sm", 0x00000005: "deliver_sm", 0x00000103: "data_sm"}
COMPACT_L = re.compile(r"(^|\r\n)l[ \t]*:", re.I)

problems = []


def problem(msg):
    problems.append(msg)


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def generate(gen, args, out, truth=None):
    cmd = [gen, *args, "-o", out] + (["--truth", truth] if truth else [])
    r = run(cmd)
    if r.returncode != 0:
        sys.exit("tshark_check: %s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                       r.stderr.decode(errors="replace")))
    m = re.search(r"packets=(\d+)", r.stderr.decode())
    if not m:
        sys.exit("tshark_check: no packet count in afgw-gen's summary: " + r.stderr.decode())
    return int(m.group(1))


def load_truth(path):
    lines = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                lines.append(json.loads(line))
            except ValueError as e:
                sys.exit("tshark_check: %s:%d: not JSON: %s" % (path, n, e))
    return lines


def dissect(tshark, pcap, fields):
    cmd = [tshark, "-r", pcap, *TSHARK_OPTS, "-T", "json"]
    for f in fields:
        cmd += ["-e", f]
    r = run(cmd)
    if r.returncode != 0:
        sys.exit("tshark_check: tshark failed on %s (%d): %s" %
                 (pcap, r.returncode, r.stderr.decode(errors="replace")[:2000]))
    return [p["_source"]["layers"] for p in json.loads(r.stdout.decode("utf-8", "replace"))]


def ts_us(rfc3339):
    d = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond


def epoch_us(s):
    sec, _, frac = s.partition(".")
    return int(sec) * 1000000 + int((frac + "000000")[:6])


def one(fr, key, default=None):
    v = fr.get(key)
    return v[0] if v else default


def endpoint(fr, side):
    ip = one(fr, "ip." + side) or one(fr, "ipv6." + side)
    port = one(fr, "tcp.%sport" % side) or one(fr, "udp.%sport" % side)
    if ip is None or port is None:
        return None
    return ("[%s]:%s" if ":" in ip else "%s:%s") % (ip, port)


def compact_l(fr):
    return any(COMPACT_L.search(h) for h in fr.get("sip.msg_hdr", []))


def hurt(fr):
    return "_ws.malformed" in fr or any(int(s) >= PI_ERROR
                                        for s in fr.get("_ws.expert.severity", []))


def check_clean(frames, name):
    bad = [fr for fr in frames if hurt(fr)]
    # Wireshark's own framing of a compact "l:" message over TCP cuts the body
    tolerated = [fr for fr in bad if compact_l(fr) and one(fr, "tcp.srcport")]
    bad = [fr for fr in bad if fr not in tolerated]
    if bad:
        problem("%s: %d frames malformed or with expert errors, e.g. %s" % (
            name, len(bad), ["%s %s" % (one(fr, "frame.number"), fr.get("_ws.expert.message",
                                                                         [])[:2])
                             for fr in bad[:5]]))
    return len(tolerated)


def check_capinfos(capinfos, pcap, packets):
    r = run([capinfos, "-M", "-t", "-E", "-c", pcap])
    if r.returncode != 0:
        problem("capinfos failed on %s: %s" % (pcap, r.stderr.decode(errors="replace")))
        return
    seen = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        k, _, v = line.partition(":")
        seen[k.strip()] = v.strip()
    want = {
        "File type": lambda v: "pcap" in v and "pcapng" not in v,
        "File encapsulation": lambda v: v in ("Ethernet", "ether"),
        "Number of packets": lambda v: v.isdigit() and int(v) == packets,
    }
    for k, ok in want.items():
        if not ok(seen.get(k, "")):
            problem("capinfos: %s is %r (afgw-gen wrote %d packets, classic pcap, Ethernet)"
                    % (k, seen.get(k), packets))
    with open(pcap, "rb") as f:
        magic = f.read(4)
    if magic != b"\xd4\xc3\xb2\xa1":
        problem("pcap magic is %s, want d4c3b2a1 (classic, microseconds)" % magic.hex())


# ---- capture A: field by field ------------------------------------------

def sip_items(fr):
    items = [("M", m) for m in fr.get("sip.Method", [])]
    return items + [("S", int(s)) for s in fr.get("sip.Status-Code", [])]


def sip_key(t):
    return ("M", t["method"]) if "method" in t else ("S", t["status"])


def sip_line(t):
    """A truth line of one SIP message (a concatenated SMS over IP's has no SIP field)."""
    return t["proto"] == "sip" and "call_id" in t


def sms3gpp(t):
    """A line of SMS over IP: text/plain MESSAGE has no data_coding."""
    return t.get("op") == "sip_message" and t.get("data_coding") is not None


def joined_lines(truth, transport=None):
    return [t for t in truth if t["proto"] == "sip" and not sip_line(t) and
            (transport is None or t["transport"] == transport)]


def part_requests(truth, transport=None):
    """The MESSAGE of each part of a concatenated SMS over IP has no truth line,
    its 202 Accepted has: such Call-IDs, as the SIP items tshark must see."""
    reqs, answered = set(), set()
    for t in truth:
        if not sip_line(t) or (transport and t["transport"] != transport):
            continue
        if "method" in t:
            reqs.add(t["call_id"])
        elif t["status"] == 202:
            answered.add(t["call_id"])
    parts = collections.Counter({(cid, ("M", "MESSAGE")): 1 for cid in answered - reqs})
    want = sum(t["parts"] for t in joined_lines(truth, transport))
    if sum(parts.values()) != want:
        problem("%d MESSAGEs are parts of a concatenated SMS over IP (a 202 line and no line "
                "of their own), the truth's joined lines have %d parts" % (
                    sum(parts.values()), want))
    return parts


def check_sip(truth, frames, by_ts):
    want = collections.Counter((t["call_id"], sip_key(t)) for t in truth if sip_line(t))
    want += part_requests(truth)
    got = collections.Counter()
    by_cid = collections.defaultdict(list)
    for fr in frames:
        items = sip_items(fr)
        if not items:
            continue
        cids = set(fr.get("sip.Call-ID", []))
        if len(cids) != 1:
            problem("frame %s: SIP messages with Call-IDs %r (one dialog per write expected)"
                    % (one(fr, "frame.number"), sorted(cids)))
            continue
        cid = cids.pop()
        by_cid[cid].append(fr)
        for it in items:
            got[(cid, it)] += 1
    for k in sorted(set(want) | set(got), key=str):
        if want[k] != got[k]:
            problem("SIP Call-ID %s %s: truth has %d, tshark saw %d" % (k[0], k[1][1], want[k],
                                                                         got[k]))
    checked = early = 0
    singles = []
    for t in truth:
        if not sip_line(t):
            continue
        key = sip_key(t)
        at = ts_us(t["ts"])
        cands = [fr for fr in by_ts.get(at, [])
                 if t["call_id"] in fr.get("sip.Call-ID", []) and key in sip_items(fr)]
        if not cands and t["transport"] == "tcp":
            # Wireshark frames a compact "l:" message by its header alone
            cands = [fr for fr in by_cid.get(t["call_id"], [])
                     if key in sip_items(fr) and compact_l(fr) and
                     epoch_us(one(fr, "frame.time_epoch")) <= at and
                     endpoint(fr, "src") == t["src"]]
            early += bool(cands)
        if not cands:
            problem("SIP %s %s (CSeq %s) at %s: no frame with that timestamp carries it"
                    % (t["call_id"], key[1], t["cseq"], t["ts"]))
            continue
        fr = cands[-1]
        where = "frame %s (%s %s)" % (one(fr, "frame.number"), t["call_id"], key[1])
        # SMS over IP: one side's number is the TPDU's, compared in check_sms3gpp
        tpdu_side = {"from", "to"}
        if sms3gpp(t):
            if len(sip_items(fr)) == 1:
                singles.append((t, fr))
            view = sms_view(fr)
            tpdu_side = {view[0]} if view else tpdu_side
        else:
            tpdu_side = set()
        if (endpoint(fr, "src"), endpoint(fr, "dst")) != (t["src"], t["dst"]):
            problem("%s: %s -> %s, truth %s -> %s" % (where, endpoint(fr, "src"),
                                                      endpoint(fr, "dst"), t["src"], t["dst"]))
        if len(sip_items(fr)) != 1:
            continue  # several messages in one frame: the field lists cannot be paired
        checked += 1
        exp = {
            "sip.CSeq.seq": str(t["cseq"]),
            "sip.from.addr": t["from_uri"],
            "sip.to.addr": t["to_uri"],
            "sip.User-Agent": t["user_agent"],
        }
        if "method" in t:
            exp["sip.r-uri"] = t["ruri"]
        if t["from_uri"].startswith("sip:") and "from" not in tpdu_side:
            exp["sip.from.user"] = t["from_raw"]
        if t["to_uri"].startswith("sip:") and "to" not in tpdu_side:
            exp["sip.to.user"] = t["to_raw"]
        for k, v in exp.items():
            if one(fr, k) != v:
                problem("%s: %s is %r, truth %r" % (where, k, one(fr, k), v))
        if (one(fr, "sip.pai.addr") is None) != (t["pai"] is None):
            problem("%s: P-Asserted-Identity %r, truth pai %r" % (where, one(fr, "sip.pai.addr"),
                                                                  t["pai"]))
    return checked, early, singles


# RP-MTI (24.011 §8.2.2) as tshark shows it
RP_DATA_MO, RP_DATA_MT, RP_ACK_MO, RP_ACK_MT = "0x00", "0x01", "0x02", "0x03"


def sms_view(fr):
    """What gsm_sms shows of a frame's SMS-DELIVER / SMS-SUBMIT: (event side of the
    TPDU's party, its digits or text, TP-DCS, text), or None."""
    mti = one(fr, "gsm_sms.tp-mti")
    if mti not in ("0", "1") or one(fr, "gsm_a.rp.msg_type") not in (RP_DATA_MO, RP_DATA_MT):
        return None
    side = "from" if mti == "0" else "to"
    party = one(fr, "gsm_sms.tp-oa" if side == "from" else "gsm_sms.tp-da")
    dcs = one(fr, "gsm_sms.tp-dcs")
    return side, party, int(dcs, 0) if dcs is not None else None, one(fr, "gsm_sms.sms_text")


def tcp_compact_l(fr):
    return bool(one(fr, "tcp.srcport")) and compact_l(fr)


def check_sms3gpp(truth, frames, singles, name, needs):
    """SMS over IP against gsm_sms: single SMS, concatenated ones, RP-ACKs."""
    c = collections.Counter()
    for t, fr in singles:
        where = "SMS over IP %s (frame %s)" % (t["call_id"], one(fr, "frame.number"))
        view = sms_view(fr)
        if view is None:
            if tcp_compact_l(fr):
                c["tolerated"] += 1  # Wireshark framed it without its body
            else:
                problem("%s: gsm_sms shows no SMS-SUBMIT / SMS-DELIVER" % where)
            continue
        side, party, dcs, text = view
        rp = one(fr, "gsm_a.rp.msg_type")
        if one(fr, "gsm_sms.dis_field_addr.num_type") == "5":
            c["alphanumeric TP-OA"] += 1
            c["alphanumeric digits"] += (party or "").isdigit()
        if rp != (RP_DATA_MT if side == "from" else RP_DATA_MO):
            problem("%s: RP-MTI %s carries TP-MTI %s" % (where, rp, one(fr, "gsm_sms.tp-mti")))
        if one(fr, "gsm_sms.udh.mm.msg_parts") is not None:
            problem("%s: a single SMS with a concatenation UDH" % where)
        for field, mine, theirs in ((side + "_raw", t[side + "_raw"], party),
                                    ("data_coding", t["data_coding"], dcs),
                                    ("text", t["text"], text)):
            if mine != theirs:
                problem("%s: %s %r, gsm_sms shows %r" % (where, field, mine, theirs))
        c["single"] += 1
        c["deliver" if side == "from" else "submit"] += 1

    # concatenated: the parts gsm_sms shows, grouped by flow direction, party and UDH
    groups = collections.defaultdict(dict)
    blind = set()  # (src, dst) with a compact-l: MESSAGE whose body Wireshark did not see
    for fr in frames:
        view = sms_view(fr)
        if view is None:
            if tcp_compact_l(fr) and "MESSAGE" in fr.get("sip.Method", []):
                blind.add((endpoint(fr, "src"), endpoint(fr, "dst")))
            continue
        total = one(fr, "gsm_sms.udh.mm.msg_parts")
        if total is None:
            continue
        side, party, dcs, text = view
        ie = one(fr, "gsm_sms.ie_identifier")
        c["udh 16-bit ref" if ie == "0x08" else "udh 8-bit ref"] += 1
        key = (endpoint(fr, "src"), endpoint(fr, "dst"), side, party, dcs,
               one(fr, "gsm_sms.udh.mm.msg_id"), int(total))
        seq, ts = int(one(fr, "gsm_sms.udh.mm.msg_part")), epoch_us(one(fr, "frame.time_epoch"))
        g = groups[key]
        if seq not in g or ts < g[seq][0]:  # a resent segment shows it again, later
            g[seq] = (ts, text or "")
    whole = collections.defaultdict(list)
    for key, g in groups.items():
        if sorted(g) != list(range(1, key[-1] + 1)):
            continue
        last = max(ts for ts, _ in g.values())
        text = "".join(g[i][1] for i in range(1, key[-1] + 1))
        whole[(key[0], key[1], last)].append((key[2], key[3], key[4], text, key[-1]))
    for t in joined_lines(truth):
        where = "concatenated SMS over IP %s -> %s at %s" % (t["src"], t["dst"], t["ts"])
        cands = whole.get((t["src"], t["dst"], ts_us(t["ts"])), [])
        hit = [x for x in cands if x[1] == t[x[0] + "_raw"] and x[2:] == (
            t["data_coding"], t["text"], t["parts"])]
        if hit:
            cands.remove(hit[0])
            c["concatenated"] += 1
            c["deliver" if hit[0][0] == "from" else "submit"] += 1
        elif (t["src"], t["dst"]) in blind:
            c["tolerated"] += 1
        else:
            problem("%s: gsm_sms's parts, joined, do not give it (%s): %r" % (
                where, json.dumps({k: t[k] for k in ("from_raw", "to_raw", "data_coding",
                                                     "text", "parts")}, ensure_ascii=False),
                cands))

    # RP-ACK: the same RP-MR as an RP-DATA from the other end, the other direction's MTI
    data = set()
    for fr in frames:
        rp = one(fr, "gsm_a.rp.msg_type")
        if rp in (RP_DATA_MO, RP_DATA_MT):
            data.add((endpoint(fr, "src"), endpoint(fr, "dst"),
                      one(fr, "gsm_a.rp.rp_message_reference"), rp))
    for fr in frames:
        rp = one(fr, "gsm_a.rp.msg_type")
        if rp not in (RP_ACK_MO, RP_ACK_MT):
            continue
        answers = RP_DATA_MT if rp == RP_ACK_MO else RP_DATA_MO
        if (endpoint(fr, "dst"), endpoint(fr, "src"), one(fr, "gsm_a.rp.rp_message_reference"),
                answers) not in data:
            problem("frame %s: RP-ACK (RP-MTI %s, RP-MR %s) answers no RP-DATA" % (
                one(fr, "frame.number"), rp, one(fr, "gsm_a.rp.rp_message_reference")))
        c["RP-ACK"] += 1
    for t in truth:
        if sms3gpp(t) or (t["proto"] == "sip" and not sip_line(t)):
            c["GSM 7-bit" if t["data_coding"] == 0 else "UCS-2"] += 1
            if t["data_coding"] == 0 and any(ch in "^{}\\[~]|€" for ch in t["text"]):
                c["GSM escape"] += 1
            if any(ord(ch) > 0xFFFF for ch in t["text"]):
                c["text outside the BMP"] += 1
            if t["data_coding"] == 8 and all(ord(ch) < 0x100 for ch in t["text"]):
                c["Latin-1 text"] += 1
    need(c, needs, name)
    return c


def check_smpp(truth, frames, by_ts):
    want = collections.Counter()
    for t in truth:
        if t["proto"] == "smpp":
            want[(t["op"], t["from_raw"], t["to_raw"], t["data_coding"])] += t["parts"]
    got = collections.Counter()
    for fr in frames:
        sms = [SMPP_OPS[c] for c in (int(x, 16) for x in fr.get("smpp.command_id", []))
               if c in SMPP_OPS]
        if not sms:
            continue
        srcs, dsts = fr.get("smpp.source_addr", []), fr.get("smpp.destination_addr", [])
        dcs = fr.get("smpp.data_coding", [])
        if not len(srcs) == len(dsts) == len(dcs) == len(sms):
            problem("frame %s: %d SMS PDUs but %d / %d / %d addresses and codings"
                    % (one(fr, "frame.number"), len(sms), len(srcs), len(dsts), len(dcs)))
            continue
        for k in zip(sms, srcs, dsts, (int(d, 16) for d in dcs)):
            got[k] += 1
    for k in sorted(set(want) | set(got), key=str):
        if want[k] != got[k]:
            problem("SMPP %s %s -> %s data_coding %d: truth has %d PDUs, tshark saw %d"
                    % (k[0], k[1], k[2], k[3], want[k], got[k]))

    # the text of single-part SMS; Wireshark reads data_coding 8 as UCS-2,
    # so texts with characters outside the BMP are left out
    texts = 0
    for t in truth:
        if t["proto"] != "smpp" or t["parts"] != 1 or any(ord(c) > 0xFFFF for c in t["text"]):
            continue
        texts += 1
        cands = [fr for fr in by_ts.get(ts_us(t["ts"]), [])
                 if t["from_raw"] in fr.get("smpp.source_addr", [])]
        if not any(t["text"] in fr.get("smpp.message_text", []) for fr in cands):
            problem("SMS %s at %s: text %r, tshark decoded %r" % (
                t["op"], t["ts"], t["text"], [fr.get("smpp.message_text") for fr in cands]))
        elif (endpoint(cands[0], "src"), endpoint(cands[0], "dst")) != (t["src"], t["dst"]):
            problem("SMS at %s: %s -> %s, truth %s -> %s" % (
                t["ts"], endpoint(cands[0], "src"), endpoint(cands[0], "dst"), t["src"],
                t["dst"]))
    return texts


def coverage(truth, frames):
    c = collections.Counter()
    for fr in frames:
        if "0x88a8" in fr.get("eth.type", []):
            c["QinQ"] += 1
        if fr.get("vlan.id"):
            c["VLAN"] += 1
        if fr.get("ipv6.src"):
            c["IPv6"] += 1
        if one(fr, "ip.flags.mf") in ("1", "True", "true"):
            c["IPv4 fragment"] += 1
        if fr.get("ipv6.fragment.count"):
            c["IPv6 reassembled"] += 1
        if fr.get("tcp.analysis.retransmission"):
            c["TCP retransmission"] += 1
        if fr.get("tcp.reassembled.length"):
            c["TCP reassembly"] += 1
        if len(sip_items(fr)) + len(fr.get("smpp.command_id", [])) > 1:
            c["several messages in a segment"] += 1
    for t in truth:
        if t["proto"] == "smpp":
            c["SMS data_coding %d" % t["data_coding"]] += 1
            if t["parts"] > 1:
                c["concatenated SMS"] += 1
        if t.get("op") == "sip_message":
            c["SIP MESSAGE"] += 1
        if t["proto"] == "sip" and t["transport"] == "tcp":
            c["SIP over TCP"] += 1
        if t["truth"]["pattern"] != "normal":
            c["pattern " + t["truth"]["pattern"]] += 1
        if t.get("from_uri", "").startswith("tel:"):
            c["tel: URI"] += 1
    return c


def need(c, keys, name):
    for k in keys:
        if c[k] == 0:
            problem("%s has no %s: the test would not cover what it claims" % (name, k))


# ---- capture B: TCP streams rebuilt from sequence numbers --------------

def cstr(b, i):
    j = b.index(b"\0", i)
    return b[i:j].decode("latin-1"), j + 1


def sip_messages(data, where):
    """Split a SIP byte stream into (call_id, key) by Content-Length."""
    out, i = [], 0
    while i < len(data):
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            problem("%s: SIP stream ends inside a header section at byte %d" % (where, i))
            break
        head = data[i:end].decode("utf-8", "replace").split("\r\n")
        hdrs = collections.defaultdict(list)
        for line in head[1:]:
            name, _, val = line.partition(":")
            hdrs[name.strip().lower()].append(val.strip())
        cl = (hdrs.get("content-length") or hdrs.get("l") or ["0"])[0]
        cid = (hdrs.get("call-id") or hdrs.get("i") or [None])[0]
        first = head[0].split(" ")
        key = ("S", int(first[1])) if first[0] == "SIP/2.0" else ("M", first[0])
        out.append((cid, key))
        i = end + 4 + int(cl)
    return out


GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
            0x3E: "]", 0x40: "|", 0x65: "€"}


def sms_text(dc, units):
    """Decode SMPP short_message units (GSM 7-bit one septet per octet, Latin-1, UCS-2)."""
    if dc == 8:
        return units.decode("utf-16-be")
    if dc == 3:
        return units.decode("latin-1")
    out, esc = [], False
    for u in units:
        if esc:
            out.append(GSM7_EXT.get(u, "?"))
            esc = False
        elif u == 0x1B:
            esc = True
        else:
            out.append(GSM7[u])
    return "".join(out)


def smpp_pdus(data, where):
    """Split an SMPP byte stream by command_length; for each SMS PDU return
    (op, source, destination, data_coding, concat key or None, seq, total, units)."""
    out, i = [], 0
    while i < len(data):
        if len(data) - i < 16:
            problem("%s: SMPP stream ends inside a PDU header at byte %d" % (where, i))
            break
        length, cmd = struct.unpack(">II", data[i:i + 8])
        if length < 16 or i + length > len(data):
            problem("%s: SMPP command_length %d at byte %d does not fit" % (where, length, i))
            break
        pdu, i = data[i:i + length], i + length
        if cmd not in SMPP_OPS:
            continue
        _, j = cstr(pdu, 16)              # service_type
        src, j = cstr(pdu, j + 2)         # after source TON, NPI
        dst, j = cstr(pdu, j + 2)         # after destination TON, NPI
        esm = pdu[j]
        if cmd == 0x103:                  # data_sm: esm, registered_delivery, dc
            dc, j, units = pdu[j + 2], j + 3, b""
        else:                             # esm, pid, priority, 2 times, rd, replace, dc, def
            _, j = cstr(pdu, j + 3)
            _, j = cstr(pdu, j)
            dc, smlen = pdu[j + 2], pdu[j + 4]
            units, j = pdu[j + 5:j + 5 + smlen], j + 5 + smlen
        key, seq, total = None, 1, 1
        tlv = {}
        while j + 4 <= len(pdu):
            tag, tl = struct.unpack(">HH", pdu[j:j + 4])
            tlv[tag], j = pdu[j + 4:j + 4 + tl], j + 4 + tl
        if 0x0424 in tlv:
            units = tlv[0x0424]
        if 0x020C in tlv:
            key = ("sar", struct.unpack(">H", tlv[0x020C])[0])
            total, seq = tlv[0x020E][0], tlv[0x020F][0]
        if esm & 0x40:
            udhl, k = units[0], 1
            while k < 1 + udhl:
                iei, iel = units[k], units[k + 1]
                v = units[k + 2:k + 2 + iel]
                if iei == 0x00:
                    key, total, seq = ("udh8", v[0]), v[1], v[2]
                elif iei == 0x08:
                    key, total, seq = ("udh16", v[0] << 8 | v[1]), v[2], v[3]
                k += 2 + iel
            units = units[1 + udhl:]
        out.append((SMPP_OPS[cmd], src, dst, dc, key, seq, total, units))
    return out


def check_streams(truth, segs):
    """Rebuild each TCP direction from its SYN and the segments' sequence numbers."""
    streams = collections.defaultdict(lambda: {"isn": None, "segs": []})
    for fr in segs:
        if one(fr, "tcp.seq_raw") is None:
            continue  # UDP
        key = (one(fr, "tcp.stream"), one(fr, "tcp.srcport"), one(fr, "tcp.dstport"))
        st = streams[key]
        seq = int(one(fr, "tcp.seq_raw"))
        if one(fr, "tcp.flags.syn") in ("1", "True", "true"):
            st["isn"] = seq
        payload = one(fr, "tcp.payload")
        if payload:
            st["segs"].append((seq, bytes.fromhex(payload.replace(":", "")),
                               one(fr, "frame.number")))
    sip_got, sms_got, texts_got = collections.Counter(), collections.Counter(), \
        collections.Counter()
    kinds = collections.Counter()
    resent = 0
    for key, st in streams.items():
        if not st["segs"]:
            continue
        where = "TCP stream %s %s->%s" % key
        if st["isn"] is None:
            problem(where + ": data without a SYN")
            continue
        base = (st["isn"] + 1) & 0xFFFFFFFF
        buf, have = bytearray(), []
        for seq, data, frame in st["segs"]:
            off = (seq - base) & 0xFFFFFFFF
            if off + len(data) > len(buf):
                buf.extend(b"\0" * (off + len(data) - len(buf)))
            old = [h for h in have if h[0] < off + len(data) and off < h[1]]
            for lo, hi, _ in old:
                a, b = max(lo, off), min(hi, off + len(data))
                if bytes(buf[a:b]) != data[a - off:b - off]:
                    problem("%s: frame %s resends bytes %d-%d differently" % (where, frame, a, b))
                resent += 1
            buf[off:off + len(data)] = data
            have.append((off, off + len(data), frame))
        covered, pos = sorted(have), 0
        for lo, hi, frame in covered:
            if lo > pos:
                problem("%s: bytes %d-%d never sent (before frame %s)" % (where, pos, lo, frame))
            pos = max(pos, hi)
        if "5060" in key[1:]:
            for cid, k in sip_messages(bytes(buf), where):
                sip_got[(cid, k)] += 1
        elif "2775" in key[1:]:
            parts = collections.defaultdict(dict)
            for op, src, dst, dc, ck, seq, total, units in smpp_pdus(bytes(buf), where):
                sms_got[(op, src, dst)] += 1
                kinds[ck[0] if ck else "single"] += 1
                if ck is None:
                    texts_got[(op, src, dst, sms_text(dc, units))] += 1
                    continue
                p = parts[(op, src, dst, dc, ck, total)]
                p[seq] = units
                if len(p) == total:
                    whole = b"".join(p[n] for n in range(1, total + 1))
                    texts_got[(op, src, dst, sms_text(dc, whole))] += 1
                    del parts[(op, src, dst, dc, ck, total)]
            for k in parts:
                problem("%s: concatenated SMS %r never completed" % (where, k))
        else:
            problem(where + ": neither SIP nor SMPP")
    sip_want = collections.Counter((t["call_id"], sip_key(t)) for t in truth
                                   if sip_line(t) and t["transport"] == "tcp")
    sip_want += part_requests(truth, "tcp")
    sms_want, texts_want = collections.Counter(), collections.Counter()
    for t in truth:
        if t["proto"] == "smpp":
            sms_want[(t["op"], t["from_raw"], t["to_raw"])] += t["parts"]
            texts_want[(t["op"], t["from_raw"], t["to_raw"], t["text"])] += 1
    for want, got, what in ((sip_want, sip_got, "SIP"), (sms_want, sms_got, "SMPP"),
                            (texts_want, texts_got, "SMS text")):
        for k in sorted(set(want) | set(got), key=str):
            if want[k] != got[k]:
                problem("rebuilt TCP streams: %s %s: truth has %d, the streams hold %d"
                        % (what, k, want[k], got[k]))
    for t in truth:
        if t["proto"] == "smpp" and any(ord(c) > 0xFFFF for c in t["text"]):
            kinds["text outside the BMP"] += 1
        if t["proto"] == "smpp" and t["data_coding"] == 0 and any(c in "^{}\\[~]|€"
                                                                   for c in t["text"]):
            kinds["GSM escape"] += 1
    kinds["out-of-order segment"] = sum(1 for fr in segs if fr.get("tcp.analysis.out_of_order"))
    need(kinds, ["udh8", "udh16", "sar", "single", "text outside the BMP", "GSM escape",
                 "out-of-order segment"], "capture B")
    return sum(sip_got.values()), sum(sms_got.values()), sum(texts_got.values()), resent


# ---- main ----------------------------------------------------------------

def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    gen = args[0]
    keep = args[2] if len(args) >= 3 and args[1] == "--keep" else None
    tshark, capinfos = shutil.which("tshark"), shutil.which("capinfos")
    if not tshark:
        print("tshark_check: tshark not installed: SKIP")
        return 77
    if not capinfos:
        sys.exit("tshark_check: tshark is installed but capinfos is not")

    work = keep or tempfile.mkdtemp(prefix="afgw-tshark-")
    os.makedirs(work, exist_ok=True)
    path = lambda n: os.path.join(work, n)  # noqa: E731
    try:
        # A: reproducibility, capinfos, field-by-field comparison
        packets = generate(gen, GEN_A, path("a.pcap"), path("a.jsonl"))
        generate(gen, GEN_A, path("a2.pcap"), path("a2.jsonl"))
        generate(gen, GEN_A, path("a3.pcap"))
        for x, y in (("a.pcap", "a2.pcap"), ("a.jsonl", "a2.jsonl"), ("a.pcap", "a3.pcap")):
            with open(path(x), "rb") as fx, open(path(y), "rb") as fy:
                if fx.read() != fy.read():
                    problem("%s and %s differ: the output is not reproducible" % (x, y))
        check_capinfos(capinfos, path("a.pcap"), packets)
        truth = load_truth(path("a.jsonl"))
        frames = dissect(tshark, path("a.pcap"), FIELDS)
        if len(frames) != packets:
            problem("tshark read %d frames, afgw-gen wrote %d" % (len(frames), packets))
        by_ts = collections.defaultdict(list)
        for fr in frames:
            by_ts[epoch_us(one(fr, "frame.time_epoch"))].append(fr)
        sip_checked, early, singles = check_sip(truth, frames, by_ts)
        texts = check_smpp(truth, frames, by_ts)
        s3 = check_sms3gpp(truth, frames, singles, "capture A's SMS over IP",
                           ["submit", "deliver", "RP-ACK", "GSM 7-bit", "UCS-2"])
        tolerated_a = check_clean(frames, "capture A")
        cov = coverage(truth, frames)
        need(cov, ["QinQ", "VLAN", "IPv6", "IPv4 fragment", "IPv6 reassembled",
                   "TCP retransmission", "TCP reassembly", "several messages in a segment",
                   "concatenated SMS", "SMS data_coding 0", "SMS data_coding 8",
                   "SIP MESSAGE", "SIP over TCP", "pattern wangiri", "pattern mass_call",
                   "pattern blacklisted", "tel: URI"], "capture A")

        # B: TCP cut anywhere, reordered, resent
        generate(gen, GEN_B, path("b.pcap"), path("b.jsonl"))
        truth_b = load_truth(path("b.jsonl"))
        segs = dissect(tshark, path("b.pcap"), STREAM_FIELDS)
        nsip_b, nsms_b, ntext_b, resent = check_streams(truth_b, segs)
        tolerated_b = check_clean(segs, "capture B")
        if resent == 0:
            problem("capture B has no resent segment")

        # D: SMS over IP at the encodings' edges, against gsm_sms
        with open(path("d.tsv"), "w", encoding="utf-8") as f:
            for row in CORPUS_D:
                f.write("\t".join(row) + "\n")
        generate(gen, GEN_D + ["--corpus", path("d.tsv")], path("d.pcap"), path("d.jsonl"))
        truth_d = load_truth(path("d.jsonl"))
        frames_d = dissect(tshark, path("d.pcap"), FIELDS)
        by_ts_d = collections.defaultdict(list)
        for fr in frames_d:
            by_ts_d[epoch_us(one(fr, "frame.time_epoch"))].append(fr)
        _, _, singles_d = check_sip(truth_d, frames_d, by_ts_d)
        s3d = check_sms3gpp(truth_d, frames_d, singles_d, "capture D",
                            ["submit", "deliver", "concatenated", "udh 8-bit ref",
                             "udh 16-bit ref", "RP-ACK", "GSM 7-bit", "UCS-2", "GSM escape",
                             "text outside the BMP", "Latin-1 text", "alphanumeric TP-OA",
                             "alphanumeric digits"])
        if s3d["tolerated"]:
            problem("capture D: %d SMS over IP not compared (no TCP write is cut there)"
                    % s3d["tolerated"])
        check_clean(frames_d, "capture D")

        # C: damage
        generate(gen, GEN_C, path("c.pcap"), path("c.jsonl"))
        kinds = collections.Counter(t["truth"]["bad"] for t in load_truth(path("c.jsonl"))
                                    if t["truth"]["bad"])
        if sum(kinds.values()) < 50 or len(kinds) < 8:
            problem("--bad 0.1: only %r damaged lines in the truth" % dict(kinds))
        flagged = sum(1 for fr in dissect(tshark, path("c.pcap"), FIELDS) if hurt(fr))
        if flagged == 0:
            problem("--bad 0.1: tshark sees no malformed frame at all")

        if problems:
            for p in problems[:80]:
                print("tshark_check: " + p)
            if len(problems) > 80:
                print("tshark_check: ... and %d more" % (len(problems) - 80))
            return 1
        nsip = sum(1 for t in truth if sip_line(t))
        nsms = sum(1 for t in truth if t["proto"] == "smpp")
        print("tshark_check: A: %d frames, %d SIP messages (%d field by field, %d shown early by "
              "Wireshark for a compact l:), %d SMS (%d texts compared), %d compact-l: frames "
              "tolerated as malformed" % (len(frames), nsip, sip_checked, early, nsms, texts,
                                          tolerated_a))
        print("tshark_check: A: SMS over IP against gsm_sms: %d single, %d concatenated (%d "
              "parts: %s), %d RP-ACK, %d tolerated (compact l: over TCP)" % (
                  s3["single"], s3["concatenated"], s3["udh 8-bit ref"] + s3["udh 16-bit ref"],
                  ", ".join("%s %d" % (k, s3[k]) for k in ("udh 8-bit ref", "udh 16-bit ref")),
                  s3["RP-ACK"], s3["tolerated"]))
        print("tshark_check: A covers: " + ", ".join("%s %d" % kv for kv in sorted(cov.items())))
        print("tshark_check: B: TCP streams rebuilt: %d SIP messages, %d SMS PDUs, %d SMS texts "
              "reassembled and decoded, %d resent segments, %d compact-l: frames tolerated"
              % (nsip_b, nsms_b, ntext_b, resent, tolerated_b))
        print("tshark_check: C: damage %s; %d frames flagged by tshark" % (dict(kinds), flagged))
        print("tshark_check: D: SMS over IP at the encodings' edges: %d frames, %d single, %d "
              "concatenated (%d parts), %d RP-ACK; covers %s" % (
                  len(frames_d), s3d["single"], s3d["concatenated"],
                  s3d["udh 8-bit ref"] + s3d["udh 16-bit ref"], s3d["RP-ACK"],
                  ", ".join("%s %d" % kv for kv in sorted(s3d.items()))))
        return 0
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
