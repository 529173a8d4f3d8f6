#!/usr/bin/env python3
"""--shard K/N: the shards of a list are disjoint and complete.

Usage::

    python3 tests/batch/shard_test.py --binary build/probe/smtpprobe [-v]

Runs one list (addresses over many domains, duplicates, an invalid line
and an invalid address) once whole and once as N shards (N = 1, 3, 7),
each shard writing its own --output file, against the scripted loopback
servers.  Checks that the shards' lines together are the whole list,
every index exactly once, that each domain lives in one shard only (so
one domain's politeness stays in one process), that the verdicts are
the unsharded run's, and that --shard refuses K >= N.

Exit status 0 when every check passed, 1 otherwise.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import fakedns  # noqa: E402
import fakesmtp  # noqa: E402
from checks import Checks, arguments  # noqa: E402

DOMAINS = 60


def main():
    args = arguments(__doc__)
    checks = Checks(args.verbose)
    check = checks.check

    zone = {"mx%d.test" % m: {"A": "127.0.0.%d" % (m + 2)} for m in range(4)}
    for d in range(DOMAINS):
        zone["d%d.test" % d] = {"MX": "10 mx%d.test" % (d % 4)}
    servers = [{"name": "mx%d.test" % m, "ip": "127.0.0.%d" % (m + 2),
                "mailboxes": [r"re:^u[0-9]*[02468]@"]}
               for m in range(4)]
    tmp = tempfile.mkdtemp(prefix="smtpprobe-shard-")
    dns = fakedns.FakeDNS(zone).start()
    smtp = fakesmtp.FakeSMTPGroup(servers, tmp).start()
    entries = ["u%d@d%d.test" % (i, (i * 7) % DOMAINS) for i in range(300)]
    entries += ["U5@D35.test", "u5@d35.TEST", "no-at-sign", "a@[300.1.1.1]"]
    listfile = os.path.join(tmp, "list.txt")
    with open(listfile, "w", encoding="ascii") as handle:
        handle.write("# a comment\n" + "\n".join(entries) + "\n")

    def run(out, extra):
        cmd = [args.binary, "--dns-server", "127.0.0.1:%d" % dns.port,
               "--port", str(smtp.port), "--helo", "probe.test.invalid",
               "--from", "probe@test.invalid", "--tls", "never",
               "--batch", listfile, "--output", out] + extra
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        with open(out, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        return proc, rows

    try:
        _proc, whole = run(os.path.join(tmp, "whole.jsonl"), [])
        verdict = {r["index"]: r["verdict"] for r in whole}
        check("whole run: every entry", sorted(verdict) ==
              list(range(len(entries))), "%d" % len(verdict))
        for n in (1, 3, 7):
            seen, domain_shard = [], {}
            for k in range(n):
                proc, rows = run(os.path.join(tmp, "s%d-%d.jsonl" % (n, k)),
                                 ["--shard", "%d/%d" % (k, n)])
                check("%d/%d runs" % (k, n), proc.returncode in (0, 1, 2, 65),
                      proc.stderr.decode()[-300:])
                check("%d/%d summary names the shard" % (k, n),
                      ("shard %d/%d" % (k, n)).encode() in proc.stdout,
                      proc.stdout.decode()[-300:])
                for r in rows:
                    seen.append(r["index"])
                    dom = (r.get("domain_ascii") or r["address"]).lower()
                    domain_shard.setdefault(dom, set()).add(k)
                    check("%d/%d index %d verdict as unsharded" % (
                        k, n, r["index"]),
                        r["verdict"] == verdict.get(r["index"]),
                        "%s != %s" % (r["verdict"], verdict.get(r["index"])))
            check("N=%d: union is the whole list" % n,
                  sorted(set(seen)) == list(range(len(entries))),
                  repr(sorted(set(range(len(entries))) - set(seen)))[:200])
            check("N=%d: disjoint" % n, len(seen) == len(set(seen)),
                  "%d lines, %d distinct" % (len(seen), len(set(seen))))
            check("N=%d: a domain in one shard only" % n,
                  all(len(v) == 1 for v in domain_shard.values()),
                  repr({d: v for d, v in domain_shard.items()
                        if len(v) > 1}))
        proc = subprocess.run([args.binary, "--batch", listfile, "--shard",
                               "3/3"], capture_output=True, timeout=30)
        check("--shard 3/3 refused", proc.returncode == 64,
              "%r" % proc.returncode)
    finally:
        smtp.stop()
        dns.stop()
    return checks.report()


if __name__ == "__main__":
    sys.exit(main())
