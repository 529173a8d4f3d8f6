#!/usr/bin/env python3
"""Resident memory per address in flight, in batch mode.

Usage::

    python3 bench/inflight.py --binary build/probe/smtpprobe [--binary OLD ...]
                              [--parallel 100] [--hold 2]

Every address of the list has its own domain, and every domain's MX is
the same loopback server, which holds each greeting for HOLD seconds.
With ``--parallel P`` the batch then keeps P probes started at once (one
connected, the others waiting for leave to connect to that server), each
with its result and its run, for about P × HOLD seconds.  The peak RSS of
that run minus the peak RSS of the same list at ``--parallel 1``, divided
by P - 1, is what one more address in flight costs.  Several binaries
(e.g. an older build) are measured side by side in one run.

Not part of the test suite: the numbers depend on the machine and the C
library's allocator.  Results are recorded in docs/BENCHMARKS.md.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))

import fakedns  # noqa: E402
import fakesmtp  # noqa: E402
from run import run_measured, mib  # noqa: E402


def measure(binary, dns_port, smtp_port, count, parallel, hold):
    listing = "".join("user@d%d.inflight.test\n" % i
                      for i in range(count)).encode()
    cmd = [binary, "--batch", "-", "--json", "--parallel", str(parallel),
           "--delay", "0", "--tls", "never", "--dns-server",
           "127.0.0.1:%d" % dns_port, "--port", str(smtp_port),
           "--helo", "probe.bench.invalid", "--from", "probe@bench.invalid"]
    return run_measured(cmd, wall_limit=count * (hold + 5) + 60,
                        stdin_bytes=listing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", action="append", required=True)
    ap.add_argument("--parallel", type=int, default=100)
    ap.add_argument("--hold", type=float, default=2.0,
                    help="seconds the server holds each greeting")
    args = ap.parse_args()

    count = args.parallel
    zone = {"mx.inflight.test": {"A": "127.0.0.90"}}
    for i in range(count):
        zone["d%d.inflight.test" % i] = {"MX": "10 mx.inflight.test"}
    dns = fakedns.FakeDNS(zone).start()
    spec = {"name": "mx.inflight.test", "ip": "127.0.0.90",
            "greeting_delay": args.hold}
    print("%-40s %9s %9s %12s %s" % ("binary", "P=1 RSS", "P=%d RSS" % count,
                                     "per address", "check"))
    with tempfile.TemporaryDirectory(prefix="smtpprobe-inflight-") as tmp:
        group = fakesmtp.FakeSMTPGroup([spec], tmp).start()
        try:
            for binary in args.binary:
                # P=1 with the same list would take count × hold: two
                # addresses are enough for the baseline.
                one = measure(binary, dns.port, group.port, 2, 1, args.hold)
                many = measure(binary, dns.port, group.port, count,
                               count, args.hold)
                lines = [ln for ln in many["stdout"].splitlines() if ln]
                per = (many["rss_kib"] - one["rss_kib"]) * 1024.0 / \
                    max(1, count - 1)
                print("%-40s %9s %9s %10.1f KiB %s" % (
                    binary[-40:], mib(one["rss_kib"]), mib(many["rss_kib"]),
                    per / 1024.0, "%d results" % len(lines)))
        finally:
            group.stop()
            dns.stop()


if __name__ == "__main__":
    main()
