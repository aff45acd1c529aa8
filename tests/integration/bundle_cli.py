#!/usr/bin/env python3
"""afgwctl bundle end to end: keys, build, sign twice, verify, show, tamper.

usage: bundle_cli.py AFGWCTL

In a temporary directory: two police keys and one outsider key
(afgwctl keygen police), a bundle built from a rule file and a numbers
list, signed by both police keys, verified against a threshold-2 keyring
(and refused by a keyring that wants a signature it lacks), shown, and
then tampered with: a flipped signature byte is 'refused: bad_signature',
a flipped part byte 'refused: part_hash', a truncated file 'refused:
truncated'.  Also: build never overwrites, a second signature by the same
key is refused, and usage errors exit 2.  The bundle is also rebuilt here
in Python from the documented layout (rules/README.md "Bundles") and must
equal afgwctl's bytes.  Python standard library only.
"""
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile

RULES = """version: 1
rules:
  - id: cli.test.refund
    kind: text
    pattern: 'refund-cli-test'
    weight: 60
    category: fake_cs
    desc_zh: 测试
    desc_en: a test rule
    match:
      - 'your refund-cli-test is ready'
    nomatch:
      - 'hello'
"""
NUMBERS = "# police list\n13800138000 black 90 investment\n95588 allow 0 bank 2030-01-01\n"
NOW = 1800000000

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def run(ctl, *args, want=None):
    p = subprocess.run([ctl] + list(args), capture_output=True, text=True)
    if want is not None and p.returncode != want:
        check(False, "afgwctl %s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
              % (" ".join(args), p.returncode, want, p.stdout, p.stderr))
    return p


def key_id(pub_path):
    for line in open(pub_path):
        if line.startswith("afgw-sign-public-v1 "):
            return line.split()[1]
    raise ValueError(pub_path)


def layout(serial, issued, expires, scope, parts):
    """The unsigned bundle, from rules/README.md "Bundles"."""
    payload = b"".join(d for _, _, d in parts)
    h = bytearray(1152)
    struct.pack_into("<8sIIQqqQ", h, 0, b"AFGWBNDL", 1, len(parts), serial, issued, expires,
                     len(payload))
    h[48:48 + len(scope)] = scope.encode()
    for i, (t, name, d) in enumerate(parts):
        struct.pack_into("<B7xQ16s32s", h, 128 + 64 * i, t, len(d), name.encode(),
                         hashlib.blake2b(d, digest_size=32).digest())
    return bytes(h) + bytes(1160) + payload


def main():
    ctl = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="afgw-bundle-cli-") as tmp:
        os.chdir(tmp)
        for k in ("police1", "police2", "outsider"):
            run(ctl, "keygen", "police", "-o", k, want=0)
        id1, id2, id3 = key_id("police1.pub"), key_id("police2.pub"), key_id("outsider.pub")
        os.mkdir("src")
        with open("src/10_cli.yaml", "w") as f:
            f.write(RULES)
        with open("src/police.numbers", "w") as f:
            f.write(NUMBERS)
        with open("ring2", "w") as f:
            f.write(open("police1.pub").read() + open("police2.pub").read() + "threshold 2\n")
        with open("ring-outsider", "w") as f:
            f.write(open("outsider.pub").read())

        issued, expires = NOW - 3600, NOW + 30 * 86400
        p = run(ctl, "bundle", "build", "src", "--serial", "42", "--issued", str(issued),
                "--expires", str(expires), "-o", "b.bundle", want=0)
        check("serial 42, 2 parts" in p.stdout, "build summary: " + p.stdout)
        data = open("b.bundle", "rb").read()
        want = layout(42, issued, expires, "*",
                      [(1, "10_cli.yaml", RULES.encode()), (2, "police.numbers", NUMBERS.encode())])
        check(data == want, "afgwctl's bundle differs from the documented layout")
        p = run(ctl, "bundle", "build", "src", "--serial", "43", "-o", "b.bundle", want=1)
        check("not overwriting" in p.stderr, "build overwrote: " + p.stderr)

        # unsigned: refused; then two signers; the same key twice is refused
        p = run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring2", "--now", str(NOW),
                want=1)
        check(p.stdout.startswith("refused: unsigned"), p.stdout)
        run(ctl, "bundle", "sign", "b.bundle", "--key", "police1.key", want=0)
        p = run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring2", "--now", str(NOW),
                want=1)
        check(p.stdout.startswith("refused: threshold:"), p.stdout)
        run(ctl, "bundle", "sign", "b.bundle", "--key", "police2.key", want=0)
        p = run(ctl, "bundle", "sign", "b.bundle", "--key", "police2.key", want=1)
        check("already signed" in p.stderr, p.stderr)
        p = run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring2", "--now", str(NOW),
                want=0)
        hh = hashlib.blake2b(want[:1152], digest_size=32).hexdigest()
        check(p.stdout.strip() == "ok serial 42 hash %s signed by %s,%s" % (hh, id1, id2),
              "verify: " + p.stdout)
        p = run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring-outsider", "--now",
                str(NOW), want=1)
        check(p.stdout.startswith("refused: unknown_key:"), p.stdout)
        p = run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring2", "--now",
                str(expires), want=1)
        check(p.stdout.startswith("refused: expired:"), p.stdout)

        p = run(ctl, "bundle", "show", "b.bundle", want=0)
        check(re.search(r"^serial +42$", p.stdout, re.M) is not None, "show: " + p.stdout)
        check("signatures not verified" in p.stdout, "show says nothing about verification")
        check(id1 in p.stdout and id2 in p.stdout and id3 not in p.stdout, "show: key ids")
        check("10_cli.yaml" in p.stdout and "police.numbers" in p.stdout, "show: parts")

        # tampering
        signed = open("b.bundle", "rb").read()
        for name, pos, reason in (("sig", 1160 + 8 + 5, "bad_signature"),
                                  ("part", len(signed) - 3, "part_hash"),
                                  ("serial", 16, "bad_signature")):
            t = bytearray(signed)
            t[pos] ^= 0x01
            with open("t-%s.bundle" % name, "wb") as f:
                f.write(t)
            p = run(ctl, "bundle", "verify", "t-%s.bundle" % name, "--trust", "ring2", "--now",
                    str(NOW), want=1)
            check(p.stdout.startswith("refused: %s:" % reason), name + ": " + p.stdout)
        with open("t-short.bundle", "wb") as f:
            f.write(signed[:-1])
        p = run(ctl, "bundle", "verify", "t-short.bundle", "--trust", "ring2", "--now",
                str(NOW), want=1)
        check(p.stdout.startswith("refused: truncated:"), p.stdout)
        p = run(ctl, "bundle", "show", "t-short.bundle", want=2)

        # usage errors
        run(ctl, "bundle", want=2)
        run(ctl, "bundle", "frob", want=2)
        run(ctl, "bundle", "build", "src", "-o", "x.bundle", want=2)          # no --serial
        run(ctl, "bundle", "build", "src", "--serial", "0", "-o", "x.bundle", want=2)
        run(ctl, "bundle", "verify", "b.bundle", want=2)                       # no --trust
        run(ctl, "bundle", "verify", "b.bundle", "--trust", "ring2", "--key", "k", want=2)
        run(ctl, "bundle", "sign", "b.bundle", "--key", "police1.pub", want=2)  # not a secret key
        run(ctl, "bundle", "push", "b.bundle", "--redis", "unix://" + tmp + "/none.sock",
            want=1)
        p = run(ctl, "bundle", "--help", want=0)
        check("bundle build DIR" in p.stdout, "help")
    if failures:
        print("%d failure(s)" % failures, file=sys.stderr)
        return 1
    print("bundle_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
