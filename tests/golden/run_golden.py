#!/usr/bin/env python3
"""Golden tests: `afgw decode` of each tests/golden/*.pcap against the expected output.

usage: run_golden.py AFGW GOLDEN_DIR [--update]

For X.pcap the expected events are X.expected.jsonl (compared line by line as
JSON objects) and the expected counter summary is X.expected.summary (the
decoder's stderr).  --update rewrites the expected files from the current
output: review every change by hand before committing it.
"""
import json
import os
import subprocess
import sys


def main():
    afgw, gdir = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    failed = passed = 0
    for name in sorted(os.listdir(gdir)):
        if not name.endswith(".pcap"):
            continue
        base = os.path.join(gdir, name[:-5])
        r = subprocess.run([afgw, "decode", os.path.join(gdir, name)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        out = r.stdout.decode("utf-8")
        err = r.stderr.decode("utf-8")
        if update:
            open(base + ".expected.jsonl", "w", encoding="utf-8").write(out)
            open(base + ".expected.summary", "w", encoding="utf-8").write(err)
            print(f"updated {name}")
            continue
        ok = r.returncode == 0
        if not ok:
            print(f"{name}: exit status {r.returncode}: {err.strip()}")
        want = [json.loads(l) for l in open(base + ".expected.jsonl", encoding="utf-8")]
        got = [json.loads(l) for l in out.splitlines()]
        if len(want) != len(got):
            print(f"{name}: {len(got)} events, expected {len(want)}")
            ok = False
        for i, (w, g) in enumerate(zip(want, got)):
            if w != g:
                ok = False
                diff = {k: (w.get(k), g.get(k)) for k in sorted(set(w) | set(g)) if w.get(k) != g.get(k)}
                print(f"{name}: event {i + 1} differs (expected, got): {json.dumps(diff, ensure_ascii=False)}")
        want_err = open(base + ".expected.summary", encoding="utf-8").read()
        if want_err != err:
            ok = False
            print(f"{name}: summary differs\n--- expected\n{want_err}--- got\n{err}")
        if ok:
            passed += 1
        else:
            failed += 1
    if not update:
        print(f"{passed} passed, {failed} failed")
    return 1 if failed or (not passed and not update) else 0


if __name__ == "__main__":
    sys.exit(main())
