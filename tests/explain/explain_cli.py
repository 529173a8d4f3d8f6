#!/usr/bin/env python3
"""explain_cli.py — runs the real `smtpprobe explain` and checks its text
and JSON output, its exit status, and its behaviour on hostile input
(control bytes, NUL, invalid UTF-8, input over the 64 KiB cap).  Every
JSON object must match docs/schema/explain.schema.json.

usage: explain_cli.py --binary PATH/TO/smtpprobe
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "harness"))
import schemacheck  # noqa: E402  (path set up above)

FAILURES = []


def run(binary, args, stdin=b""):
    p = subprocess.run([binary, "explain"] + args, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, file=sys.stderr)


def json_lines(out, what):
    objs = []
    try:
        text = out.decode("utf-8")  # strict: invalid UTF-8 fails here
    except UnicodeDecodeError as e:
        check(False, "%s: output is not UTF-8: %s" % (what, e))
        return objs
    for line in text.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            check(False, "%s: bad JSON line %r: %s" % (what, line[:200], e))
            continue
        for error in schemacheck.validate(objs[-1],
                                          schemacheck.load("explain")):
            check(False, "%s: docs/schema/explain.schema.json: %s"
                  % (what, error))
    return objs


def no_raw_controls(out, what):
    bad = [b for b in out if (b < 0x20 and b not in (0x0a,)) or b == 0x7f]
    check(not bad, "%s: raw control bytes in output: %r" % (what, bad[:8]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    b = ap.parse_args().binary

    # A Postfix bounce line, as text.
    rc, out, err = run(b, ["host mx.example.com[192.0.2.7] said: 550 5.1.1 "
                           "<a@b.example>: Recipient address rejected: User "
                           "unknown (in reply to RCPT TO command)"])
    t = out.decode()
    check(rc == 0, "postfix text: exit %d" % rc)
    for want in ("permanence:  permanent", "category:    user_unknown",
                 "blame:       recipient_address", "RCPT (named in the input)",
                 "legal in reply to RCPT", "Bad destination mailbox address",
                 "advice:"):
        check(want in t, "postfix text: missing %r in\n%s" % (want, t))

    # The same as JSON.
    rc, out, err = run(b, ["--json", "host mx.example.com[192.0.2.7] said: "
                           "550 5.1.1 <a@b.example>: Recipient address "
                           "rejected: User unknown (in reply to RCPT TO "
                           "command)"])
    objs = json_lines(out, "postfix json")
    check(rc == 0 and len(objs) == 1, "postfix json: rc %d, %d objects"
          % (rc, len(objs)))
    if objs:
        o = objs[0]
        for k, v in (("code", 550), ("enhanced", "5.1.1"),
                     ("command", "RCPT"), ("command_source", "input"),
                     ("legality", "legal"), ("permanence", "permanent"),
                     ("category", "user_unknown"),
                     ("blame", "recipient_address")):
            check(o.get(k) == v, "postfix json: %s = %r, want %r"
                  % (k, o.get(k), v))
        check(o["enhanced_info"]["title"] == "Bad destination mailbox address",
              "postfix json: enhanced title")
        check("in reply to" not in o["text"], "postfix json: text tail")

    # --after decides the command and the legality check.
    rc, out, _ = run(b, ["--json", "--after", "RCPT", "354 go ahead"])
    o = (json_lines(out, "354 after rcpt") or [{}])[0]
    check(o.get("legality") == "illegal", "354 to RCPT is illegal: %r" % o)
    check(o.get("command_source") == "option", "--after source: %r" % o)
    rc, out, _ = run(b, ["--json", "--after=ehlo", "554 5.7.1 go away"])
    o = (json_lines(out, "554 after ehlo") or [{}])[0]
    check(o.get("legality") == "common", "554 to EHLO is common: %r" % o)
    rc, out, _ = run(b, ["--json", "--after", "greeting", "521 5.3.2 no mail"])
    o = (json_lines(out, "521 greeting") or [{}])[0]
    check(o.get("legality") == "legal_extension", "521 greeting: %r" % o)
    rc, out, _ = run(b, ["--after", "NOOP", "200 ok"])
    check("common in the wild" in out.decode(), "200 to NOOP text")

    # Several replies, several inputs.
    rc, out, _ = run(b, ["--json", "550 5.1.1 nope", "452 4.5.3 Too many recipients"])
    objs = json_lines(out, "two inputs")
    check(rc == 0 and [o.get("input") for o in objs] == [1, 2],
          "two inputs: %r" % objs)
    if len(objs) == 2:
        check(objs[1]["category"] == "too_many_recipients", "452 4.5.3")
    rc, out, _ = run(b, ["--json"], b"550-5.1.1 The email account that you tried\r\n"
                     b"550 5.1.1 to reach does not exist. - gsmtp\r\n")
    objs = json_lines(out, "multiline stdin")
    check(rc == 0 and len(objs) == 1 and objs[0]["category"] == "user_unknown",
          "multi-line reply on stdin: %r" % objs)
    # A literal "\n" in an argument separates lines.
    rc, out, _ = run(b, ["--json", "550-5.7.26 Unauthenticated email\\n550 5.7.26 "
                         "is not accepted due to domain's DMARC policy"])
    objs = json_lines(out, "escaped newline")
    check(len(objs) == 1 and objs[0]["category"] == "dmarc_fail",
          "backslash-n argument: %r" % objs)

    # Bare enhanced code, unknown codes, pseudo-codes.
    rc, out, _ = run(b, ["--json", "5.7.1"])
    o = (json_lines(out, "bare 5.7.1") or [{}])[0]
    check(rc == 0 and o.get("code") is None and o.get("enhanced") == "5.7.1"
          and o.get("permanence") == "permanent", "bare 5.7.1: %r" % o)
    rc, out, _ = run(b, ["559 something"])
    check(rc == 0 and "first two digits" in out.decode(), "unknown 559")
    rc, out, _ = run(b, ["--json", "550 5.7.999 new policy"])
    o = (json_lines(out, "5.7.999") or [{}])[0]
    check(o.get("enhanced_info", {}).get("known") is False and
          o["enhanced_info"]["subject"] == "Security or policy",
          "unknown detail falls back to subject: %r" % o)
    rc, out, _ = run(b, ["111 Connection refused"])
    check(rc == 0 and "not_a_reply" in out.decode(), "111")
    rc, out, _ = run(b, ["--json", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]"])
    o = (json_lines(out, "5.7.606") or [{}])[0]
    check(o.get("category") == "blocklisted_ip" and
          "banned" in (o.get("enhanced_info", {}).get("vendor_note") or ""),
          "5.7.606 vendor note: %r" % o)

    # Exit statuses.
    rc, out, err = run(b, [], b"hello, no reply here\n")
    check(rc == 65 and out == b"" and b"no recognisable" in err,
          "no reply: rc %d" % rc)
    rc, _, _ = run(b, [], b"")
    check(rc == 65, "empty stdin: rc %d" % rc)
    rc, out, _ = run(b, ["550 ok", "nothing"])
    check(rc == 65 and b"550" in out, "one of two inputs empty: rc %d" % rc)
    for args in (["--bogus"], ["--after"], ["--after", "TURN", "550"],
                 ["-x", "550"]):
        rc, out, err = run(b, args)
        check(rc == 64 and out == b"", "usage error %r: rc %d" % (args, rc))
    rc, out, _ = run(b, ["--help"])
    check(rc == 0 and b"usage: smtpprobe explain" in out, "--help")
    rc, out, _ = run(b, ["--", "--json"])
    check(rc == 65, "-- ends options: rc %d" % rc)

    # Hostile input: control bytes, NUL, escape sequences, invalid UTF-8.
    hostile = (b"550 5.1.1 \x1b[2J\x1b]0;pwned\x07 user\x00unknown \xff\xfe "
               b"\xc3\x28 \x9b31m caf\xc3\xa9\r\n")
    rc, out, _ = run(b, [], hostile)
    check(rc == 0, "hostile text: rc %d" % rc)
    no_raw_controls(out, "hostile text")
    check(b"\\x1b" in out, "hostile text: ESC shown as \\x1b")
    check("caf\u00e9".encode() in out, "hostile text: valid UTF-8 kept")
    rc, out, _ = run(b, ["--json"], hostile)
    objs = json_lines(out, "hostile json")
    no_raw_controls(out, "hostile json")
    check(rc == 0 and len(objs) == 1 and objs[0]["code"] == 550,
          "hostile json: %r" % objs)

    # Huge input: cut at 64 KiB, and said so.
    huge = b"550 5.7.1 " + b"A" * (300 * 1024) + b"\n"
    rc, out, err = run(b, ["--json"], huge)
    objs = json_lines(out, "huge")
    check(rc == 0 and len(objs) == 1 and objs[0]["input_truncated"] is True
          and objs[0]["text_truncated"] is True and b"cut at" in err,
          "huge input: rc %d err %r" % (rc, err[:200]))
    check(len(out) < 64 * 1024, "huge input: output bounded (%d)" % len(out))
    rc, out, err = run(b, [], b"\x00" * (200 * 1024))
    check(rc == 65 and b"cut at" in err, "NUL flood: rc %d" % rc)
    many = b"".join(b"550 5.1.1 user%d unknown\n" % i for i in range(500))
    rc, out, err = run(b, ["--json"], many)
    objs = json_lines(out, "many")
    check(rc == 0 and 0 < len(objs) <= 32 and b"only the first" in err,
          "many replies capped: %d" % len(objs))
    rc, out, _ = run(b, ["550 5.1.1 " + "\u00e9" * 40000])
    check(rc == 0, "huge argument: rc %d" % rc)

    if FAILURES:
        print("%d failure(s)" % len(FAILURES), file=sys.stderr)
        return 1
    print("explain_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
