#!/usr/bin/env python3
"""classification_golden.py — the classification corpus through the real
binary: every case of tests/data/classification.tsv is given to
`smtpprobe explain --json` on standard input (lines ending in CRLF, as on
the wire), with `--after COMMAND` unless the command is "-", and the JSON
object must state what the corpus states: the reply code, the enhanced
code, the command, permanence, blame and category, and must match
docs/schema/explain.schema.json.

The file's format is described in its header and in docs/TESTING.md; this
reader follows the same rules as tests/unit/test_codes.c, and a line that
breaks them is a failure with its line number.  The run only checks:
nothing here rewrites the corpus.

usage: classification_golden.py --binary PATH/TO/smtpprobe [-v] CORPUS
exit status: 0 every case matched, 1 otherwise.
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "harness"))
import schemacheck  # noqa: E402  (path set up above)

COMMANDS = ("GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT",
            "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT")
ENHANCED = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}\Z")
REPLY_LINE = re.compile(r"([0-9]{3})(?:[ -]|\Z)")
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


class Malformed(Exception):
    pass


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] != "\\":
            out.append(s[i])
            i += 1
            continue
        if s[i + 1:i + 2] not in ESCAPES:
            raise Malformed("unknown escape in REPLY (only \\n, \\t, \\\\)")
        out.append(ESCAPES[s[i + 1]])
        i += 2
    return "".join(out)


def parse_line(text):
    """One data line -> dict of what the case states, or Malformed."""
    if any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7f
           for ch in text):
        raise Malformed("raw control byte (write \\n or \\t in REPLY)")
    f = text.split("\t")
    if not 6 <= len(f) <= 8:
        raise Malformed("not six to eight TAB-separated fields")
    if "" in f:
        raise Malformed("empty field")
    cmd, perm, blame, category, enh, reply = f[:6]
    if cmd != "-" and cmd not in COMMANDS:
        raise Malformed("unknown COMMAND")
    if enh != "-" and not ENHANCED.match(enh):
        raise Malformed("ENHANCED is neither \"-\" nor an enhanced "
                        "status code")
    reply = unescape(reply)
    lines = reply.split("\n")
    for ln in lines:
        m = REPLY_LINE.match(ln)
        if not m:
            raise Malformed("a line of REPLY does not start with a code")
        if m.group(1) != lines[0][:3]:
            raise Malformed("the lines of REPLY carry different codes")
    case = {"cmd": cmd, "reply": reply, "explained": True,
            "want": {"code": int(reply[:3]),
                     "enhanced": None if enh == "-" else enh,
                     "command": None if cmd == "-" else cmd,
                     "command_source": None if cmd == "-" else "option",
                     "permanence": perm, "blame": blame,
                     "category": category}}
    for opt in f[6:]:
        if opt == "explain=none":
            case["explained"] = False
        elif (opt.startswith("explain_enhanced=") and
              ENHANCED.match(opt[len("explain_enhanced="):])):
            case["want"]["enhanced"] = opt[len("explain_enhanced="):]
        else:
            raise Malformed("unknown OPTION")
    return case


def read_corpus(path):
    """Yields (line number, case or Malformed)."""
    with open(path, "rb") as fp:
        for no, raw in enumerate(fp, 1):
            raw = raw[:-1] if raw.endswith(b"\n") else raw
            if raw == b"" or raw.startswith(b"#"):
                continue
            try:
                yield no, parse_line(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield no, Malformed("not UTF-8")
            except Malformed as e:
                yield no, e


def explain(binary, case):
    args = [binary, "explain", "--json"]
    if case["cmd"] != "-":
        args += ["--after", case["cmd"]]
    stdin = "".join(ln + "\r\n" for ln in case["reply"].split("\n"))
    p = subprocess.run(args, input=stdin.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return args, p


def check(binary, case):
    """The differences between the binary's answer and the case."""
    args, p = explain(binary, case)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if not case["explained"]:
        if p.returncode != 65 or out:
            return ["explain=none: exit %d, stdout %r; want exit 65 and "
                    "no output" % (p.returncode, out[:200])]
        return []
    if p.returncode != 0 or err:
        return ["exit %d, stderr %r; want 0 and nothing"
                % (p.returncode, err[:200])]
    objs = []
    for line in out.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            return ["bad JSON line %r: %s" % (line[:200], e)]
    if len(objs) != 1 or not isinstance(objs[0], dict):
        return ["%d JSON objects, want one: %s" % (len(objs), out[:400])]
    return ["%s: got %r, want %r" % (k, objs[0].get(k, "(absent)"), v)
            for k, v in case["want"].items() if objs[0].get(k, KeyError) !=
            v] + ["docs/schema/explain.schema.json: %s" % e for e in
                  schemacheck.validate(objs[0], schemacheck.load("explain"))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list every case, not only the failing ones")
    ap.add_argument("corpus")
    a = ap.parse_args()

    cases = failed = 0
    for no, case in read_corpus(a.corpus):
        where = "%s:%d" % (a.corpus, no)
        if isinstance(case, Malformed):
            failed += 1
            print("%s: malformed line: %s" % (where, case), file=sys.stderr)
            continue
        cases += 1
        diffs = check(a.binary, case)
        if diffs:
            failed += 1
            print("%s: %s %r" % (where, case["cmd"], case["reply"]),
                  file=sys.stderr)
            for d in diffs:
                print("  " + d, file=sys.stderr)
        elif a.verbose:
            print("%s: ok" % where)
    if cases == 0:
        failed += 1
        print("%s: no cases" % a.corpus, file=sys.stderr)
    print("%d cases, %d failed" % (cases, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
