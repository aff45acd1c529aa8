#!/usr/bin/env python3
"""sms3gpp_check.py - SMS over IP as afgw decodes it, against Wireshark's gsm_sms.

usage: sms3gpp_check.py PATH/TO/afgw [--keep DIR]

In IMS an SMS is a SIP MESSAGE whose body (Content-Type
application/vnd.3gpp.sms, 3GPP TS 24.341) is an RP message (TS 24.011
§7.3) carrying a TPDU (TS 23.040 §9.2).  This test writes a capture of
such MESSAGEs, built here byte by byte from the specs (struct: Ethernet,
IPv4, UDP port 5060), has both tshark and `afgw decode` read it, and
compares them:

  - for every single-part SMS, afgw's from_raw (SMS-DELIVER: TP-OA) or
    to_raw (SMS-SUBMIT: TP-DA), data_coding (TP-DCS) and text must equal
    what tshark's gsm_sms dissector shows (gsm_sms.tp-oa / tp-da / tp-dcs /
    sms_text); 8-bit data must come out binary, text null;
  - for a concatenated SMS (UDH IE 00 8-bit or 08 16-bit reference), afgw's
    one event must carry the texts tshark shows for the parts, joined in
    part order (tshark's reassembly is turned off, so each frame shows its
    own part), with parts = the number of parts, and no event of its own
    for any part;
  - RP-ACK, RP-ERROR, RP-SMMA, SMS-STATUS-REPORT and SMS-COMMAND give a
    plain SIP event (method MESSAGE, no op, no text), a truncated RP-DATA
    an SMS event with valid false and anomalies, and tshark must find that
    body malformed too;
  - every message's expected values (the ground truth this file built)
    must also be what tshark shows, so a wrong test vector is caught here
    and not blamed on either decoder; canonical numbers (`from`, `to`)
    are checked against the truth (tshark has no such notion).

One limit of Wireshark 4.0 is allowed for by name: packet-gsm_sms.c reads
an enhanced TP-VP (TP-VPF 01, 23.040 §9.2.3.12.3: always 7 octets) as
shorter when its functionality indicator is "relative", so the rest of
that SMS-SUBMIT is misread.  That message is checked against the truth
only.

Prints one summary line; exits 0 when everything agrees, 77 (meson's
SKIP) when tshark is missing, 1 with one line per mismatch (message index,
field, both values) otherwise.
"""

import datetime
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

# ---- GSM 7-bit, BCD, UCS-2 (23.038 §6.2.1, §6.1.2.1.1; 24.008 §10.5.4.7) ----

GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
            "]": 0x3E, "|": 0x40, "€": 0x65}


def septets(text):
    out = []
    for ch in text:
        if ch in GSM7_EXT:
            out += [0x1B, GSM7_EXT[ch]]
        else:
            out.append(GSM7.index(ch))
    return out


def pack7(sept, fill=0):
    """Septets packed LSB first after `fill` zero bits."""
    nbits = fill + 7 * len(sept)
    out = bytearray((nbits + 7) // 8)
    for i, s in enumerate(sept):
        for b in range(7):
            if s >> b & 1:
                bit = fill + 7 * i + b
                out[bit // 8] |= 1 << (bit % 8)
    return bytes(out)


def bcd(digits):
    """Semi-octets, low nibble first, 0xF filler for an odd count."""
    code = {"*": 10, "#": 11, "a": 12, "b": 13, "c": 14}
    n = [code[c] if c in code else int(c) for c in digits]
    if len(n) % 2:
        n.append(15)
    return bytes(n[i] | n[i + 1] << 4 for i in range(0, len(n), 2))


TON_UNKNOWN, TON_INTL, TON_NATIONAL, TON_ALNUM = 0, 1, 2, 5


def tp_address(number, ton=TON_INTL, npi=1):
    """TP-OA / TP-DA (23.040 §9.1.2.5): useful semi-octets, TOA, value."""
    if ton == TON_ALNUM:
        sept = septets(number)
        value = pack7(sept)
        return bytes([(7 * len(sept) + 3) // 4, 0x80 | ton << 4]) + value
    return bytes([len(number), 0x80 | ton << 4 | npi]) + bcd(number)


def rp_address(number):
    """RP-OA / RP-DA (24.011 §8.2.5): octets, TOA intl/ISDN, BCD."""
    value = bytes([0x91]) + bcd(number)
    return bytes([len(value)]) + value


SMSC = "8613800100500"
SCTS = bytes([0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23])  # 26-11-21 08:00:00 +08:00


def user_data(text, dcs, udh=b""):
    """(TP-UDL, TP-UD) for text in the alphabet of dcs, after an optional UDH."""
    alphabet = (dcs >> 2) & 3 if dcs < 0xC0 else (1 if dcs & 4 else 0)
    if alphabet == 0:
        hsept = (len(udh) * 8 + 6) // 7
        fill = hsept * 7 - len(udh) * 8
        sept = septets(text)
        return hsept + len(sept), udh + pack7(sept, fill)
    body = text.encode("utf-16-be") if alphabet == 2 else text
    return len(udh) + len(body), udh + body


def submit(da, text, dcs=0x00, ton=TON_INTL, udh=b"", vpf=0, mr=1):
    vp = {0: b"", 2: b"\xA7", 3: SCTS, 1: b"\x01\xA7\x00\x00\x00\x00\x00"}[vpf]
    udl, ud = user_data(text, dcs, udh)
    first = 0x01 | vpf << 3 | (0x40 if udh else 0)
    return (bytes([first, mr]) + tp_address(da, ton) + bytes([0x00, dcs]) + vp +
            bytes([udl]) + ud)


def deliver(oa, text, dcs=0x00, ton=TON_INTL, udh=b""):
    udl, ud = user_data(text, dcs, udh)
    first = 0x04 | (0x40 if udh else 0)
    return bytes([first]) + tp_address(oa, ton) + bytes([0x00, dcs]) + SCTS + bytes([udl]) + ud


def rp_data_mo(tpdu, ref):
    return bytes([0x00, ref, 0x00]) + rp_address(SMSC) + bytes([len(tpdu)]) + tpdu


def rp_data_mt(tpdu, ref):
    return bytes([0x01, ref]) + rp_address(SMSC) + bytes([0x00, len(tpdu)]) + tpdu


def udh8(ref, total, seq):
    return bytes([0x05, 0x00, 0x03, ref, total, seq])


def udh16(ref, total, seq):
    return bytes([0x06, 0x08, 0x04, ref >> 8, ref & 0xFF, total, seq])


# ---- the messages -----------------------------------------------------------

UE = "+8613912345678"        # the subscriber whose phone sends / receives
PSI = "+8613800100500"       # the SMSC / IP-SM-GW public service identity
DOMAIN = "ims.mnc000.mcc460.3gppnetwork.org"


def sms(direction, body, sip_from, sip_to, truth, ctype="application/vnd.3gpp.sms",
        limit=None):
    return {"kind": "sms", "dir": direction, "body": body, "sip_from": sip_from,
            "sip_to": sip_to, "truth": truth, "ctype": ctype, "limit": limit}


def mo(da, text, dcs=0x00, ton=TON_INTL, canon=None, ref=1, **kw):
    """SMS-SUBMIT from the UE: event from = the SIP From, to = TP-DA."""
    limit = kw.pop("limit", None)
    ctype = kw.pop("ctype", "application/vnd.3gpp.sms")
    body = rp_data_mo(submit(da, text, dcs, ton, **kw), ref)
    truth = {"from": UE, "to": canon, "to_raw": da, "data_coding": dcs,
             "text": None if isinstance(text, bytes) else text}
    return sms("mo", body, UE, PSI, truth, ctype, limit)


def mt(oa, text, dcs=0x00, ton=TON_INTL, canon=None, ref=1, to=UE):
    """SMS-DELIVER to the UE: event from = TP-OA, to = the SIP To."""
    body = rp_data_mt(deliver(oa, text, dcs, ton), ref)
    truth = {"from": canon, "from_raw": oa, "to": to, "data_coding": dcs,
             "text": None if isinstance(text, bytes) else text}
    return sms("mt", body, PSI, to, truth)


def concat_mo(da, parts, ref, ref16, dcs=0x00):
    out = []
    for i, text in enumerate(parts, 1):
        h = udh16(ref, len(parts), i) if ref16 else udh8(ref, len(parts), i)
        body = rp_data_mo(submit(da, text, dcs, udh=h, mr=i), 10 + i)
        out.append({"kind": "part", "dir": "mo", "body": body, "sip_from": UE, "sip_to": PSI,
                    "ctype": "application/vnd.3gpp.sms", "group": (ref, ref16), "seq": i,
                    "total": len(parts), "truth": {"to_raw": da, "data_coding": dcs,
                                                   "text": text}})
    return out


def concat_mt(oa, parts, ref, ref16, dcs=0x08, ton=TON_INTL):
    out = []
    for i, text in enumerate(parts, 1):
        h = udh16(ref, len(parts), i) if ref16 else udh8(ref, len(parts), i)
        body = rp_data_mt(deliver(oa, text, dcs, ton, udh=h), 20 + i)
        out.append({"kind": "part", "dir": "mt", "body": body, "sip_from": PSI, "sip_to": UE,
                    "ctype": "application/vnd.3gpp.sms", "group": (ref, ref16), "seq": i,
                    "total": len(parts), "truth": {"from_raw": oa, "data_coding": dcs,
                                                   "text": text}})
    return out


def messages():
    m = [
        mo("13800138000", "Hello, your parcel is waiting at the locker.", ton=TON_NATIONAL,
           canon="+8613800138000"),
        mo("8613800138000", "Pay €50 now [ref 7] {urgent} ~ ^ \\ |", canon="+8613800138000"),
        mo("13800138000", "【快递】您的包裹已到达，请点击链接领取", dcs=0x08, ton=TON_NATIONAL,
           canon="+8613800138000"),
        mo("8613700137000", "Hi 😀 你好 🎉", dcs=0x08, canon="+8613700137000"),
        mo("10086", "CXLL", ton=TON_UNKNOWN, canon="10086"),
        mo("8613700137000", "Validity relative", vpf=2, canon="+8613700137000"),
        mo("8613700137000", "Validity absolute", vpf=3, canon="+8613700137000"),
        mo("8613700137000", "Validity enhanced", vpf=1, canon="+8613700137000",
           limit="enhanced TP-VP"),
        mo("8613700137000", "Flash: call me", dcs=0x10, canon="+8613700137000",
           ctype="Application/VND.3GPP.SMS; charset=binary"),
        mt("8613700137000", "Meeting moved to 10:00, room B.", canon="+8613700137000"),
        mt("ICBC", "【工商银行】您的账户存在异常，请致电核实", dcs=0x08, ton=TON_ALNUM,
           canon="ICBC"),
        mt("Google", "G-123456 is your Google verification code.", ton=TON_ALNUM,
           canon="Google"),
        mt("95588", "Your card ending 1234 was charged ¥5000", ton=TON_UNKNOWN, canon="95588"),
        mt("8613700137000", b"\xde\xad\xbe\xef\x00\x01", dcs=0x04, canon="+8613700137000"),
        mt("8613700137000", "Class 0 UCS-2: 注意安全", dcs=0x18, canon="+8613700137000"),
    ]
    c2 = concat_mo("8613600136000", ["Your account has been frozen. Call ",
                                     "+86 10 5555 0199 now {ref: €100}"], 0xA7, False)
    c3 = concat_mt("8613500135000", ["【中国银行】您的账户", "存在异常，请立即点击",
                                     "链接 http://x.cn 验证😀"], 0x1234, True)
    # RP messages that carry no SMS: a plain SIP event each (rp: tshark's RP-MTI,
    # tp: its TP-MTI when there is a TPDU)
    plain = [
        ({"rp": "0x02"}, bytes([0x02, 0x05]), UE),                    # RP-ACK MS -> network
        ({"rp": "0x05"}, bytes([0x05, 0x06, 0x01, 0x2A]), PSI),        # RP-ERROR, cause 42
        ({"rp": "0x06"}, bytes([0x06, 0x07]), UE),                    # RP-SMMA
        ({"rp": "0x01", "tp": "2"},                                   # SMS-STATUS-REPORT
         rp_data_mt(bytes([0x06, 0x01]) + tp_address("8613700137000") + SCTS + SCTS +
                    bytes([0x00]), 8), PSI),
        ({"rp": "0x00", "tp": "2"},                                   # SMS-COMMAND
         rp_data_mo(bytes([0x02, 0x02, 0x00, 0x01, 0x01]) + tp_address("8613700137000") +
                    bytes([0x00]), 9), UE),
    ]
    plain = [{"kind": "plain", "want": w, "body": b, "sip_from": f,
              "sip_to": PSI if f == UE else UE, "ctype": "application/vnd.3gpp.sms"}
             for w, b, f in plain]
    ack, others = plain[:1], plain[1:]
    # RP-DATA whose RP-User-Data length promises 3 octets more than follow
    broken = {"kind": "broken", "body": rp_data_mt(deliver("8613700137000", "cut"), 9)[:-3],
              "sip_from": PSI, "sip_to": UE, "ctype": "application/vnd.3gpp.sms"}
    # interleave the parts with single messages: the parts must be held
    out = m[:3] + [c2[0]] + m[3:6] + [c3[0], c3[1]] + m[6:9] + ack + [c2[1]] + m[9:12] + \
        [c3[2], broken] + m[12:] + others
    for i, msg in enumerate(out):
        msg["index"] = i
    return out


# ---- the capture ------------------------------------------------------------

BASE_TS = 1795000000  # 2026-11-18
UE_IP, CSCF_IP = bytes([10, 46, 0, 7]), bytes([10, 46, 0, 1])


def sip_message(msg):
    i = msg["index"]
    src_ip = UE_IP if msg["sip_from"] == UE else CSCF_IP
    head = ("MESSAGE sip:%s@%s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-sms%d\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%s@%s>;tag=f%d\r\n"
            "To: <sip:%s@%s>\r\n"
            "Call-ID: sms3gpp-%d@%s\r\n"
            "CSeq: %d MESSAGE\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n") % (
                msg["sip_to"], DOMAIN, ".".join(map(str, src_ip)), i, msg["sip_from"], DOMAIN,
                i, msg["sip_to"], DOMAIN, i, DOMAIN, i + 1, msg["ctype"], len(msg["body"]))
    msg["call_id"] = "sms3gpp-%d@%s" % (i, DOMAIN)
    return head.encode() + msg["body"]


def ip_checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, payload, ident):
    udp = struct.pack("!HHHH", 5060, 5060, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp


def write_pcap(path, msgs):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for msg in msgs:
            i = msg["index"]
            src, dst = (UE_IP, CSCF_IP) if msg["sip_from"] == UE else (CSCF_IP, UE_IP)
            fr = frame(src, dst, sip_message(msg), 0x100 + i)
            sec, usec = BASE_TS + i // 4, (i % 4) * 250000
            when = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
            msg["ts"] = when.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % usec
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)


# ---- the two readers ----------------------------------------------------------

TSHARK_FIELDS = ["frame.number", "sip.Call-ID", "sip.Method", "gsm_a.rp.msg_type",
                 "gsm_sms.tp-mti", "gsm_sms.tp-oa", "gsm_sms.tp-da", "gsm_sms.tp-dcs",
                 "gsm_sms.sms_text", "gsm_sms.udh.mm.msg_id", "gsm_sms.udh.mm.msg_parts",
                 "gsm_sms.udh.mm.msg_part", "_ws.malformed", "_ws.expert.severity",
                 "_ws.expert.message"]
PI_ERROR = 0x00800000


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def tshark_frames(tshark, pcap):
    cmd = [tshark, "-r", pcap, "-o", "gsm_sms.reassemble:FALSE", "-T", "json"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    r = run(cmd)
    if r.returncode != 0:
        sys.exit("sms3gpp_check: tshark failed (%d): %s" % (r.returncode,
                                                           r.stderr.decode(errors="replace")))
    frames = {}
    for p in json.loads(r.stdout.decode("utf-8")):
        layers = p["_source"]["layers"]
        frames[int(layers["frame.number"][0])] = layers
    return frames


def one(fr, key):
    v = fr.get(key)
    return v[0] if v else None


def afgw_events(afgw, pcap):
    r = run([afgw, "decode", "-q", pcap])
    if r.returncode != 0:
        sys.exit("sms3gpp_check: afgw decode failed (%d): %s" % (
            r.returncode, r.stderr.decode(errors="replace")))
    return [json.loads(line) for line in r.stdout.decode("utf-8").splitlines() if line.strip()]


# ---- the comparison -------------------------------------------------------------

problems = []


def problem(msg):
    problems.append(msg)


def agree(where, field, afgw_val, other_val, other="tshark"):
    if afgw_val != other_val:
        problem("message %s: %s: afgw %r, %s %r" % (where, field, afgw_val, other, other_val))
        return False
    return True


def tshark_view(fr, direction):
    """What tshark says of one SMS frame: (party digits, dcs, text)."""
    party = one(fr, "gsm_sms.tp-oa" if direction == "mt" else "gsm_sms.tp-da")
    dcs = one(fr, "gsm_sms.tp-dcs")
    return party, int(dcs, 0) if dcs is not None else None, one(fr, "gsm_sms.sms_text")


def check_truth_vs_tshark(msg, fr):
    """The test's own vector must be what tshark decodes."""
    t = msg["truth"]
    party, dcs, text = tshark_view(fr, msg["dir"])
    want_party = t["from_raw"] if msg["dir"] == "mt" else t["to_raw"]
    agree(msg["index"], "vector's party", want_party, party, "tshark")
    agree(msg["index"], "vector's TP-DCS", t["data_coding"], dcs, "tshark")
    if t["text"] is not None:
        agree(msg["index"], "vector's text", t["text"], text, "tshark")


def main():
    args = sys.argv[1:]
    keep = None
    if "--keep" in args:
        k = args.index("--keep")
        keep = args[k + 1]
        del args[k:k + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    afgw = args[0]
    tshark = shutil.which("tshark")
    if not tshark:
        print("sms3gpp_check: SKIP: tshark is not installed")
        sys.exit(77)

    msgs = messages()
    tmp = tempfile.mkdtemp(prefix="sms3gpp-")
    try:
        pcap = os.path.join(keep or tmp, "sms3gpp.pcap")
        if keep:
            os.makedirs(keep, exist_ok=True)
        write_pcap(pcap, msgs)
        frames = tshark_frames(tshark, pcap)
        events = afgw_events(afgw, pcap)
        if keep:
            with open(os.path.join(keep, "sms3gpp.events.jsonl"), "w", encoding="utf-8") as f:
                for ev in events:
                    f.write(json.dumps(ev, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    by_cid = {}
    for ev in events:
        if ev.get("call_id"):
            by_cid.setdefault(ev["call_id"], []).append(ev)
    joined = [ev for ev in events if ev.get("op") == "sip_message" and not ev.get("call_id")]

    compared = parts_seen = plain_seen = 0
    groups = {}
    for msg in msgs:
        i, fr = msg["index"], frames.get(msg["index"] + 1, {})
        evs = by_cid.get(msg["call_id"], [])
        if one(fr, "sip.Call-ID") != msg["call_id"]:
            problem("message %d: tshark did not see its SIP MESSAGE" % i)
            continue
        if msg["kind"] == "part":
            parts_seen += 1
            check_truth_vs_tshark(msg, fr)
            if evs:
                problem("message %d: a concatenated part has an event of its own: %s" % (
                    i, json.dumps(evs[0], ensure_ascii=False)))
            groups.setdefault(msg["group"], []).append((msg, fr))
            continue
        if len(evs) != 1:
            problem("message %d: %d afgw events with its Call-ID, want 1" % (i, len(evs)))
            continue
        ev = evs[0]
        agree(i, "proto", ev.get("proto"), "sip", "expected")
        agree(i, "method", ev.get("method"), "MESSAGE", "expected")
        if msg["kind"] == "plain":
            want = msg["want"]
            agree(i, "vector's RP-MTI", want["rp"], one(fr, "gsm_a.rp.msg_type"), "tshark")
            agree(i, "vector's TP-MTI", want.get("tp"), one(fr, "gsm_sms.tp-mti"), "tshark")
            agree(i, "op of a message without SMS", ev.get("op"), None, "expected")
            agree(i, "text of a message without SMS", ev.get("text"), None, "expected")
            agree(i, "valid", ev.get("valid"), True, "expected")
            plain_seen += 1
            continue
        if msg["kind"] == "broken":
            tshark_bad = "_ws.malformed" in fr or any(
                int(s) >= PI_ERROR for s in fr.get("_ws.expert.severity", []))
            agree(i, "tshark finds the body malformed", tshark_bad, True, "expected")
            agree(i, "valid of a malformed body", ev.get("valid"), False, "expected")
            if not ev.get("anomalies"):
                problem("message %d: malformed body, afgw lists no anomaly" % i)
            continue
        # a single-part SMS
        t = msg["truth"]
        if msg["limit"] is None:
            check_truth_vs_tshark(msg, fr)
        party, dcs, text = tshark_view(fr, msg["dir"])
        if msg["limit"] is not None:  # tshark cannot read it: the truth stands in
            party = t["from_raw"] if msg["dir"] == "mt" else t["to_raw"]
            dcs, text = t["data_coding"], t["text"]
        raw_key = "from_raw" if msg["dir"] == "mt" else "to_raw"
        agree(i, raw_key, ev.get(raw_key), party)
        agree(i, "data_coding", ev.get("data_coding"), dcs)
        if t["text"] is None:
            agree(i, "binary", ev.get("binary"), True, "expected")
            agree(i, "text of 8-bit data", ev.get("text"), None, "expected")
        else:
            agree(i, "text", ev.get("text"), text)
        agree(i, "op", ev.get("op"), "sip_message", "expected")
        agree(i, "parts", ev.get("parts"), 1, "expected")
        agree(i, "valid", ev.get("valid"), True, "expected")
        agree(i, "anomalies", ev.get("anomalies"), [], "expected")
        agree(i, "from (canonical)", ev.get("from"), t["from"], "truth")
        agree(i, "to (canonical)", ev.get("to"), t["to"], "truth")
        if t["text"] is not None:
            agree(i, "text vs truth", ev.get("text"), t["text"], "truth")
        compared += 1

    # concatenated messages: one event each, when the last part came
    order = sorted(groups.values(), key=lambda g: max(m["index"] for m, _ in g))
    if len(joined) != len(order):
        problem("%d afgw events for concatenated messages, want %d: %s" % (
            len(joined), len(order), [ev.get("text") for ev in joined]))
    for g, ev in zip(order, joined):
        g.sort(key=lambda mf: mf[0]["seq"])
        first, last = g[0][0], max((m for m, _ in g), key=lambda m: m["index"])
        where = "%d-%d (concatenated)" % (first["index"], last["index"])
        texts = [one(fr, "gsm_sms.sms_text") or "" for _, fr in g]
        tparts = {one(fr, "gsm_sms.udh.mm.msg_part") for _, fr in g}
        agree(where, "tshark's part numbers", tparts, {str(k) for k in range(1, len(g) + 1)},
              "expected")
        agree(where, "text (parts joined)", ev.get("text"), "".join(texts))
        agree(where, "text vs truth", ev.get("text"), "".join(m["truth"]["text"] for m, _ in g),
              "truth")
        agree(where, "parts", ev.get("parts"), len(g), "expected")
        party, dcs, _ = tshark_view(g[0][1], first["dir"])
        raw_key = "from_raw" if first["dir"] == "mt" else "to_raw"
        agree(where, raw_key, ev.get(raw_key), party)
        agree(where, "data_coding", ev.get("data_coding"), dcs)
        agree(where, "proto", ev.get("proto"), "sip", "expected")
        agree(where, "method", ev.get("method"), None, "expected (made of several MESSAGEs)")
        agree(where, "ts", ev.get("ts"), last["ts"], "the last part's")
        agree(where, "valid", ev.get("valid"), True, "expected")

    print("sms3gpp_check: %d SIP MESSAGEs (%d single SMS compared with tshark, %d concatenated "
          "from %d parts, %d without SMS, 1 malformed), %d afgw events: %s" % (
              len(msgs), compared, len(order), parts_seen, plain_seen, len(events),
              "all agree" if not problems else "%d mismatches" % len(problems)))
    for p in problems:
        print("  " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
