#!/usr/bin/env python3
"""Write the golden captures of tests/golden/ (run once; the .pcap files are committed).

Each capture is built packet by packet here so that what it contains is
readable: the SIP text and the SMPP fields are spelled out below.  The
expected decoder output (*.expected.jsonl, *.expected.summary) was checked
by hand against these definitions.

usage: make_pcaps.py OUTDIR
"""
import os
import struct
import sys

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                      "testdata")
T0 = 1795248000  # 2026-11-21T08:00:00Z


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst):
    return bytes(int(x) for x in src.split(".")), bytes(int(x) for x in dst.split("."))


def ipv4(src, dst, proto, payload, ident=1, frag_off=0, more=False):
    s, d = ip4(src, dst)
    flags = (0x2000 if more else 0) | (frag_off // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, 64, proto, 0, s, d)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload):
    import ipaddress
    return (struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) +
            ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, 5 << 4, flags, 65535, 0,
                       0) + data


SYN, FIN, RST, PSH, ACK = 2, 1, 4, 8, 16


def eth(payload, ethertype=0x0800, vlan=None):
    h = bytes.fromhex("020000000001020000000002")
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", ethertype) + payload


def sll2(payload, proto=0x0800):
    return struct.pack("!HHIHBB", proto, 0, 2, 1, 0, 6) + bytes(8) + payload


class Pcap:
    def __init__(self, path, linktype=1):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        self.t = 0

    def add(self, frame, dt_ms=10):
        self.t += dt_ms * 1000
        sec, usec = T0 + self.t // 1000000, self.t % 1000000
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)

    def close(self):
        self.f.close()


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def sip_udp_torture(out):
    """RFC 4475 messages, each in one UDP datagram, 10.0.0.1:5060 -> 10.0.0.2:5060."""
    p = Pcap(os.path.join(out, "sip_udp_torture.pcap"))
    for name in ["wsinv.dat", "esc01.dat", "escnull.dat", "lwsdisp.dat", "badinv01.dat",
                 "mcl01.dat", "multi01.dat", "insuf.dat", "unreason.dat", "noreason.dat"]:
        data = open(os.path.join(SHARED, "rfc4475", name), "rb").read()
        p.add(eth(ipv4("10.0.0.1", "10.0.0.2", 17, udp(5060, 5060, data))))
    # CRLF keep-alive (RFC 5626) and a datagram on the SIP port that is not SIP
    p.add(eth(ipv4("10.0.0.1", "10.0.0.2", 17, udp(5060, 5060, b"\r\n\r\n"))))
    p.add(eth(ipv4("10.0.0.1", "10.0.0.2", 17, udp(5060, 5060, b"\x00\x01binary junk"))))
    p.close()


INVITE = """INVITE sip:+8613900001111@ims.example.cn;user=phone SIP/2.0
Via: SIP/2.0/TCP [2001:db8::10]:5060;branch=z9hG4bK776asdhds
Max-Forwards: 70
From: "=?utf-8?b?5byg5LiJ?=" <sip:008613800138000@[2001:db8::10]>;tag=1928301774
To: <tel:+86-139-0000-1111>
P-Asserted-Identity: <sip:+8613800138000@ims.example.cn;user=phone>
Call-ID: a84b4c76e66710@golden
CSeq: 314159 INVITE
Contact: <sip:alice@[2001:db8::10]:5060;transport=tcp>
User-Agent: Golden-UA/1.0
Content-Type: application/sdp
Content-Length: {cl}

{body}"""

SDP = """v=0
o=- 2890844526 2890844526 IN IP6 2001:db8::10
s=-
c=IN IP6 2001:db8::10
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
"""

MESSAGE = """MESSAGE sip:13900001111@ims.example.cn SIP/2.0
Via: SIP/2.0/TCP [2001:db8::10]:5060;branch=z9hG4bK776asdhdt
Max-Forwards: 70
f: <sip:075512345678@ims.example.cn>;tag=49583
t: <sip:13900001111@ims.example.cn>
i: msg-1@golden
CSeq: 1 MESSAGE
c: text/plain;charset=UTF-8
l: {cl}

{body}"""


def sip_tcp_ipv6(out):
    """One IPv6 TCP flow: the INVITE in three segments sent 2,1,3 with 1 resent,
    then a MESSAGE (Chinese body, compact headers) and a 200 OK in one segment."""
    p = Pcap(os.path.join(out, "sip_tcp_ipv6.pcap"))
    a, b = "2001:db8::10", "2001:db8::20"
    sdp = crlf(SDP)
    inv = crlf(INVITE.format(cl=len(sdp), body="")) + sdp
    body = "【反诈提醒】公检法机关不会通过电话要求转账。".encode()
    msg = crlf(MESSAGE.format(cl=len(body), body="")) + body
    ok = crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TCP [2001:db8::10]:5060;branch=z9hG4bK776asdhdt\n"
              "From: <sip:075512345678@ims.example.cn>;tag=49583\n"
              "To: <sip:13900001111@ims.example.cn>;tag=zz\nCall-ID: msg-1@golden\n"
              "CSeq: 1 MESSAGE\nContent-Length: 0\n\n")

    def seg(src, dst, sport, dport, seq, flags, data=b""):
        return eth(ipv6(src, dst, 6, tcp(sport, dport, seq, 1, flags, data)), 0x86DD)

    c, s = 1000, 5000
    p.add(seg(a, b, 40000, 5060, c, SYN))
    p.add(seg(b, a, 5060, 40000, s, SYN | ACK))
    c += 1
    s += 1
    parts = [inv[:300], inv[300:700], inv[700:]]
    offs = [0, 300, 700]
    p.add(seg(a, b, 40000, 5060, c + offs[1], ACK, parts[1]))
    p.add(seg(a, b, 40000, 5060, c + offs[0], ACK, parts[0]))
    p.add(seg(a, b, 40000, 5060, c + offs[0], ACK, parts[0]))  # retransmission
    p.add(seg(a, b, 40000, 5060, c + offs[2], ACK | PSH, parts[2]))
    c += len(inv)
    p.add(seg(a, b, 40000, 5060, c, ACK | PSH, msg))
    c += len(msg)
    p.add(seg(b, a, 5060, 40000, s, ACK | PSH, ok))
    s += len(ok)
    p.add(seg(a, b, 40000, 5060, c, FIN | ACK))
    p.add(seg(b, a, 5060, 40000, s, FIN | ACK))
    p.close()


def sip_frag_vlan(out):
    """A 2,600-byte INVITE over UDP/IPv4 in VLAN 42, as two fragments sent last
    first; then a datagram whose fragments overlap (discarded, as Linux does)."""
    p = Pcap(os.path.join(out, "sip_frag_vlan.pcap"))
    sdp = crlf(SDP + "".join("a=x-pad%02d:%s\n" % (i, "y" * 60) for i in range(30)))
    inv = INVITE.replace("TCP [2001:db8::10]:5060", "UDP 10.1.1.1:5060")
    inv = inv.replace("[2001:db8::10]", "10.1.1.1").replace("transport=tcp", "transport=udp")
    inv = crlf(inv.format(cl=len(sdp), body="")) + sdp
    dgram = udp(5060, 5060, inv)
    assert len(dgram) > 1480
    f1 = ipv4("10.1.1.1", "10.2.2.2", 17, dgram[:1480], ident=0x4242, frag_off=0, more=True)
    f2 = ipv4("10.1.1.1", "10.2.2.2", 17, dgram[1480:], ident=0x4242, frag_off=1480)
    p.add(eth(f2, vlan=42))
    p.add(eth(f1, vlan=42))
    # overlapping: [0,1480) then [1472, ...) -> whole datagram discarded
    g1 = ipv4("10.1.1.1", "10.2.2.2", 17, dgram[:1480], ident=0x4343, frag_off=0, more=True)
    g2 = ipv4("10.1.1.1", "10.2.2.2", 17, dgram[1472:], ident=0x4343, frag_off=1472)
    p.add(eth(g1, vlan=42))
    p.add(eth(g2, vlan=42))
    p.close()


def cstr(s):
    return s.encode() + b"\0"


def pdu(cmd, seq, body, status=0):
    return struct.pack("!IIII", 16 + len(body), cmd, status, seq) + body


def submit_body(src_ton, src, dst_ton, dst, esm, dc, sm, tlvs=b"", cmd_fields=True):
    return (cstr("") + bytes([src_ton, 1]) + cstr(src) + bytes([dst_ton, 1]) + cstr(dst) +
            bytes([esm, 0, 0]) + cstr("") + cstr("") + bytes([0, 0, dc, 0, len(sm)]) + sm + tlvs)


def tlv(tag, value):
    return struct.pack("!HH", tag, len(value)) + value


def smpp_sll2(out):
    """An SMPP session over TCP, captured on a Linux SLL2 link (tcpdump -i any)."""
    p = Pcap(os.path.join(out, "smpp_sll2.pcap"), linktype=276)
    esme, smsc = "10.20.0.5", "10.30.0.2"
    c, s = 7000, 9000
    stream = []  # (from_esme, bytes)
    bind = pdu(0x09, 1, cstr("esme01") + cstr("secret") + cstr("") + bytes([0x34, 0, 0]) + cstr(""))
    stream.append((True, bind))
    stream.append((False, pdu(0x80000009, 1, cstr("SMSC"))))
    # A two-part UCS-2 SMS with an 8-bit reference UDH (05 00 03 ref total seq), parts 2 then 1.
    text = "【快递】您的包裹已到驿站，取件码 8-3-2041，请凭码领取。如非本人操作请忽略。谢谢🙂"
    u = text.encode("utf-16-be")
    half = 60  # code units per part, even, not inside the surrogate pair at the end
    p1, p2 = u[:half * 2], u[half * 2:]
    udh1 = bytes([5, 0, 3, 0x7A, 2, 1])
    udh2 = bytes([5, 0, 3, 0x7A, 2, 2])
    stream.append((True, pdu(0x04, 2, submit_body(5, "SF-Express", 1, "8613900001111", 0x40, 8, udh2 + p2))))
    stream.append((True, pdu(0x04, 3, submit_body(5, "SF-Express", 1, "8613900001111", 0x40, 8, udh1 + p1))))
    stream.append((False, pdu(0x80000004, 2, cstr("m-1"))))
    stream.append((False, pdu(0x80000004, 3, cstr("m-2"))))
    # GSM 7-bit unpacked with extension characters: "Price: 5€ {promo} [x]" (0x1B escapes)
    gsm = (b"Price: 5\x1b\x65 \x1b\x28promo\x1b\x29 \x1b\x3cx\x1b\x3e")
    stream.append((False, pdu(0x05, 10, submit_body(2, "95588", 2, "13900001111", 0, 0, gsm))))
    stream.append((True, pdu(0x80000005, 10, cstr(""))))
    # A PDU whose command_length lies (0xFFFFFFF0): counted, then the reader resynchronises.
    stream.append((True, struct.pack("!IIII", 0xFFFFFFF0, 4, 0, 4) + b"garbage"))
    # data_sm with message_payload (Latin-1 text)
    body = (cstr("") + bytes([1, 1]) + cstr("447700900123") + bytes([1, 1]) + cstr("8613900001111") +
            bytes([0, 0, 3]) + tlv(0x0424, "Café olé — naïve".encode("latin-1", "replace")))
    stream.append((True, pdu(0x103, 5, body)))
    # Three parts by sar_* TLVs, GSM 7-bit, ref 0x1234
    parts = [b"Your parcel is held ", b"at customs. Pay the fee ", b"at http://dhl-fee.top now"]
    for i, part in enumerate(parts, 1):
        t = (tlv(0x020C, struct.pack("!H", 0x1234)) + tlv(0x020E, bytes([3])) +
             tlv(0x020F, bytes([i])))
        stream.append((True, pdu(0x04, 5 + i, submit_body(1, "447700900999", 1, "8613900001111", 0, 0,
                                                          part, t))))
    stream.append((True, pdu(0x15, 20, b"")))
    stream.append((False, pdu(0x80000015, 20, b"")))
    stream.append((True, pdu(0x06, 21, b"")))
    stream.append((False, pdu(0x80000006, 21, b"")))

    def seg(from_esme, seq, flags, data=b""):
        if from_esme:
            return sll2(ipv4(esme, smsc, 6, tcp(40122, 2775, seq, 1, flags, data)))
        return sll2(ipv4(smsc, esme, 6, tcp(2775, 40122, seq, 1, flags, data)))

    p.add(seg(True, c, SYN))
    p.add(seg(False, s, SYN | ACK))
    c += 1
    s += 1
    # ESME bytes: bind alone; the two submits in one segment; the rest split at odd places.
    esme_bytes = b"".join(b for e, b in stream if e)
    smsc_bytes = b"".join(b for e, b in stream if not e)
    cuts = [len(bind), len(bind) + 7, len(bind) + 300, len(esme_bytes) - 40]
    prev = 0
    for cut in cuts + [len(esme_bytes)]:
        p.add(seg(True, c + prev, ACK | PSH, esme_bytes[prev:cut]))
        prev = cut
    p.add(seg(False, s, ACK | PSH, smsc_bytes))
    p.add(seg(True, c + len(esme_bytes), FIN | ACK))
    p.add(seg(False, s + len(smsc_bytes), FIN | ACK))
    p.close()


AMBIG = """INVITE sip:13900001111@ims.example.cn SIP/2.0
Via: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKamb{n}
Max-Forwards: 70
From: <sip:95588@bank.example>;tag=1
{extra}To: <sip:13900001111@ims.example.cn>
Call-ID: ambiguous-{n}@golden
CSeq: 1 INVITE
Content-Length: 0

"""


def sip_ambiguous(out):
    """Messages a fraudster would use to make two parsers disagree on the caller."""
    p = Pcap(os.path.join(out, "sip_ambiguous.pcap"))
    extras = [
        "From: <sip:13800138000@evil.example>;tag=2\n",      # duplicate From
        "Content-Length: 50\n",                              # conflicting Content-Length
        "P-Asserted-Identity x: <sip:110@police.example>\n",  # junk before the colon
        "Frm <sip:1@x>\n",                                  # a header line without a colon
    ]
    for n, extra in enumerate(extras):
        data = crlf(AMBIG.format(n=n, extra=extra))
        p.add(eth(ipv4("10.9.9.9", "10.0.0.2", 17, udp(5060, 5060, data))))
    p.close()


# ---- SMS over IP (3GPP TS 24.341): SIP MESSAGE, application/vnd.3gpp.sms ----

def bcd(digits):
    """Semi-octets, low nibble first, 0xF filler (TS 23.040 9.1.2.3)."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def tp_address(digits, toa):
    """TP-OA / TP-DA: semi-octet count, type of address, digits (23.040 9.1.2.5)."""
    return bytes([len(digits), toa]) + bcd(digits)


def pack7(septets, fill=0):
    """GSM 7-bit packing (23.038 6.1.2.1.1), after `fill` zero bits."""
    acc, n, out = 0, fill, bytearray()
    for s in septets:
        acc |= s << n
        n += 7
        while n >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            n -= 8
    if n > fill or (n and septets):
        out.append(acc & 0xFF)
    return bytes(out)


def alnum_address(text):
    """An alphanumeric TP-OA: TON 5 (type 0xD0), GSM 7-bit packed, length in semi-octets."""
    return bytes([(len(text) * 7 + 3) // 4, 0xD0]) + pack7([ord(c) for c in text])


def deliver_gsm7(oa, septets, udh=b""):
    """SMS-DELIVER (23.040 9.2.2.1): MTI 00, TP-UDHI when udh; PID 0, DCS 0 (GSM 7-bit)."""
    fill = (7 - len(udh) * 8 % 7) % 7 if udh else 0
    udl = (len(udh) * 8 + fill) // 7 + len(septets)
    first = 0x04 | (0x40 if udh else 0)  # TP-MMS, TP-UDHI
    scts = bytes.fromhex("62211180000000")  # 2026-11-12 08:00:00 +0
    return bytes([first]) + oa + bytes([0x00, 0x00]) + scts + bytes([udl]) + udh + pack7(
        septets, fill)


def submit_ucs2(da, text, udh=b""):
    """SMS-SUBMIT (23.040 9.2.2.2): MTI 01, TP-VPF relative; DCS 0x08 (UCS-2)."""
    ud = udh + text.encode("utf-16-be")
    first = 0x01 | 0x10 | (0x40 if udh else 0)
    return bytes([first, 0x2A]) + da + bytes([0x00, 0x08, 0xA7, len(ud)]) + ud


SMSC = bytes([0x91]) + bcd("8613800100500")  # +8613800100500, type international


def rp_data_mo(ref, tpdu):
    """RP-DATA MS->network (24.011 7.3.1.2): no originator, the SMSC as destination."""
    return bytes([0x00, ref, 0x00, len(SMSC)]) + SMSC + bytes([len(tpdu)]) + tpdu


def rp_data_mt(ref, tpdu):
    """RP-DATA network->MS (24.011 7.3.1.1): the SMSC as originator, no destination."""
    return bytes([0x01, ref, len(SMSC)]) + SMSC + bytes([0x00, len(tpdu)]) + tpdu


SMS_MESSAGE = """MESSAGE {ruri} SIP/2.0
Via: SIP/2.0/UDP 10.40.0.{host}:5060;branch=z9hG4bK3gpp{n}
Max-Forwards: 70
From: <{frm}>;tag=s{n}
To: <{to}>
Call-ID: 3gpp-{n}@10.40.0.{host}
CSeq: {cseq} MESSAGE
Content-Type: application/vnd.3gpp.sms
Content-Length: {length}

"""


def sip_3gpp_sms(out):
    """SMS over IP between an IMS core (10.40.0.1, the SMSC side) and phones."""
    p = Pcap(os.path.join(out, "sip_3gpp_sms.pcap"))
    smsc = "sip:+8613800100500@ims.mnc000.mcc460.3gppnetwork.org"
    ue = "sip:+8613912345678@ims.mnc000.mcc460.3gppnetwork.org;user=phone"
    ue2 = "tel:+8613700001111"
    udh1 = bytes([0x05, 0x00, 0x03, 0x42, 0x02, 0x01])  # concat, 8-bit ref 0x42, part 1 of 2
    udh2 = bytes([0x05, 0x00, 0x03, 0x42, 0x02, 0x02])  # part 2 of 2
    gsm = lambda s: [ord(c) for c in s]
    bodies = [
        # 0: MO SUBMIT from ue, UCS-2, to 13800138000 (type 0x81: unknown, ISDN): fraud text
        (ue, smsc, 2, rp_data_mo(1, submit_ucs2(tp_address("13800138000", 0x81),
                                                "您的账户涉嫌洗钱，请立即将资金转入安全账户配合调查"))),
        # 1: MT DELIVER to ue from the alphanumeric sender "ICBC", GSM 7-bit with
        #    the extension table: 0x1B 0x65 is the euro sign, 0x1B 0x3C '['
        (smsc, ue, 1, rp_data_mt(2, deliver_gsm7(alnum_address("ICBC"), gsm("Code 4821 ") +
                                                 [0x1B, 0x65] + gsm("5 ") + [0x1B, 0x3C] +
                                                 gsm("ok")))),
        # 2, 3: MT DELIVER in two parts from +8617012345678 (type 0x91), joined into one SMS
        (smsc, ue2, 1, rp_data_mt(3, deliver_gsm7(tp_address("8617012345678", 0x91),
                                                  gsm("Your parcel is held, pay the fee "), udh1))),
        (smsc, ue2, 1, rp_data_mt(4, deliver_gsm7(tp_address("8617012345678", 0x91),
                                                  gsm("at parcel-fee.top today"), udh2))),
        # 4: RP-ACK MS->network (RP-MTI 2): signalling, not an SMS
        (ue, smsc, 2, bytes([0x02, 0x02])),
        # 5: RP-DATA MT cut short inside the SMSC address
        (smsc, ue, 1, bytes([0x01, 0x05, 0x08, 0x91, 0x68])),
    ]
    for n, (frm, to, host, body) in enumerate(bodies):
        head = SMS_MESSAGE.format(ruri=to.split(";")[0], host=host, n=n, cseq=n + 1, frm=frm,
                                  to=to, length=len(body))
        src, dst = ("10.40.0.%d" % host, "10.40.0.%d" % (3 - host))
        p.add(eth(ipv4(src, dst, 17, udp(5060, 5060, crlf(head) + body))))
    p.close()


if __name__ == "__main__":
    out = sys.argv[1]
    sip_udp_torture(out)
    sip_tcp_ipv6(out)
    sip_frag_vlan(out)
    smpp_sll2(out)
    sip_ambiguous(out)
    sip_3gpp_sms(out)
