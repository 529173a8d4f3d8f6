#!/usr/bin/env python3
"""SIGINT and SIGTERM in batch mode, against loopback servers.

Usage::

    python3 tests/batch/sigint_test.py --binary build/probe/smtpprobe [-v]

Starts the scripted DNS responder and SMTP servers of tests/harness/ on
127.0.0.x: one server that answers, one whose greeting never comes.  A
batch with many addresses of the hanging server is started; once the
first address is reported, the probe gets a signal.  Checks:

* SIGINT: no new probe starts, the probes in flight are reported with
  reason "interrupted" after the grace period, the summary (stderr with
  --json) says "interrupted", the exit status is 130, all within a few
  seconds although the stage timeouts are a minute;
* SIGTERM: the same;
* a second SIGINT ends the process at once (exit status 130);
* probes that finish within the grace period are reported normally.

Exit status 0 when every check passed, 1 otherwise.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import fakedns  # noqa: E402
import fakesmtp  # noqa: E402
from checks import Checks, arguments  # noqa: E402

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")
HANGING = 120       # addresses whose server never greets: more than one
                    # connection carries (BATCH_CONN_TXNS domains)


def zone():
    data = {
        "fast.test": {"MX": "10 mx.fast.test"},
        "mx.fast.test": {"A": "127.0.0.2"},
        "slow.test": {"MX": "10 mx.slow.test"},
        "mx.slow.test": {"A": "127.0.0.3"},
        "mx.hang.test": {"A": "127.0.0.4"},
    }
    for i in range(HANGING):
        data["hang%d.test" % i] = {"MX": "10 mx.hang.test"}
    return data


SERVERS = [
    {"name": "mx.fast.test", "ip": "127.0.0.2"},
    {"name": "mx.slow.test", "ip": "127.0.0.3", "delay": {"RCPT": 1.0}},
    {"name": "mx.hang.test", "ip": "127.0.0.4", "greeting": "none",
     "idle_timeout": 120},
]


class Case(Checks):
    def __init__(self, binary, verbose):
        super().__init__(verbose)
        self.binary = binary

    def start(self, dns, smtp, addresses, extra=()):
        cmd = [self.binary, "--json", "--dns-server",
               "127.0.0.1:%d" % dns.port, "--port", str(smtp.port),
               "--helo", "probe.test.invalid", "--from",
               "probe@test.invalid", "--batch", "-", "--parallel", "4",
               "--delay", "0"] + list(extra)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdin.write(("\n".join(addresses) + "\n").encode())
        proc.stdin.close()
        proc.stdin = None
        return proc

    def first_line(self, proc, limit=10.0):
        """Wait for the first JSON object on stdout."""
        deadline = time.monotonic() + limit
        os.set_blocking(proc.stdout.fileno(), False)
        buf = b""
        while time.monotonic() < deadline:
            chunk = proc.stdout.read()
            if chunk:
                buf += chunk
                if b"\n" in buf:
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        os.set_blocking(proc.stdout.fileno(), True)
        return buf

    def finish(self, proc, buf, limit):
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return None, buf + out, err
        return proc.returncode, buf + out, err

    def objects(self, name, text):
        objs = []
        for line in text.decode(errors="replace").splitlines():
            try:
                objs.append(json.loads(line))
            except ValueError:
                self.check(name + " stdout is JSON", False, repr(line))
        return objs

    def common(self, name, rc, elapsed, limit, err):
        serr = err.decode(errors="replace")
        self.check(name + " exit status 130", rc == 130, "got %r" % rc)
        self.check(name + " ends quickly", elapsed < limit,
                   "%.1f s" % elapsed)
        self.check(name + " no sanitizer report",
                   not any(m in serr for m in SANITIZER_MARKERS), serr)
        return serr

    def run_signal(self, dns, smtp, sig, name):
        addrs = ["a@fast.test"] + ["h%d@hang%d.test" % (i, i)
                                   for i in range(HANGING)]
        t0 = time.monotonic()
        proc = self.start(dns, smtp, addrs)
        buf = self.first_line(proc)
        time.sleep(0.5)          # let the hanging probes connect
        sent = time.monotonic()
        proc.send_signal(sig)
        rc, out, err = self.finish(proc, buf, 15)
        elapsed = time.monotonic() - sent
        serr = self.common(name, rc, elapsed, 5.0, err)
        objs = self.objects(name, out)
        reasons = [o.get("reason") for o in objs]
        self.check(name + " first address reported",
                   any(o.get("address") == "a@fast.test" and
                       o.get("verdict") == "deliverable" for o in objs),
                   repr(reasons))
        self.check(name + " in-flight probes reported interrupted",
                   "interrupted" in reasons, repr(reasons))
        self.check(name + " no new probe after the signal",
                   len(objs) < len(addrs), "%d objects" % len(objs))
        self.check(name + " summary says interrupted",
                   "summary:" in serr and "interrupted:" in serr, serr)
        if self.verbose:
            print("   %s: %d objects, %.1f s after the signal, %.1f s in "
                  "all" % (name, len(objs), elapsed,
                           time.monotonic() - t0))

    def run_twice(self, dns, smtp):
        name = "second SIGINT"
        addrs = ["a@fast.test"] + ["h%d@hang%d.test" % (i, i)
                                   for i in range(HANGING)]
        proc = self.start(dns, smtp, addrs)
        buf = self.first_line(proc)
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        rc, out, err = self.finish(proc, buf, 15)
        elapsed = time.monotonic() - sent
        serr = self.common(name, rc, elapsed, 1.5, err)
        self.check(name + " says so", "interrupted again" in serr, serr)

    def run_grace(self, dns, smtp):
        """A probe in flight that ends within the grace is reported as
        usual; nothing is reported interrupted."""
        name = "grace"
        addrs = ["a@fast.test", "s@slow.test"]
        proc = self.start(dns, smtp, addrs)
        buf = self.first_line(proc)
        time.sleep(0.2)          # s@slow.test waits 1 s for its RCPT reply
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc, out, err = self.finish(proc, buf, 15)
        elapsed = time.monotonic() - sent
        serr = self.common(name, rc, elapsed, 3.0, err)
        objs = self.objects(name, out)
        self.check(name + " both reported normally",
                   sorted(o.get("verdict") for o in objs) ==
                   ["deliverable", "deliverable"],
                   repr([(o.get("address"), o.get("reason"))
                         for o in objs]))
        self.check(name + " summary says interrupted",
                   "interrupted: 0 probes in flight stopped" in serr, serr)

    def run(self):
        with tempfile.TemporaryDirectory(prefix="smtpprobe-sigint-") as tmp:
            dns = fakedns.FakeDNS(zone()).start()
            smtp = fakesmtp.FakeSMTPGroup(SERVERS, tmp).start()
            try:
                self.run_signal(dns, smtp, signal.SIGINT, "SIGINT")
                self.run_signal(dns, smtp, signal.SIGTERM, "SIGTERM")
                self.run_twice(dns, smtp)
                self.run_grace(dns, smtp)
            finally:
                smtp.stop()
                dns.stop()
        for s in smtp.servers:
            for conn in getattr(s, "connections", []):
                for line in getattr(conn, "lines", []):
                    if line.upper().startswith(("DATA", "BDAT")):
                        self.check("no DATA or BDAT", False, line)
        return not self.failures


def main():
    args = arguments(__doc__)
    case = Case(os.path.abspath(args.binary), args.verbose)
    case.run()
    return case.report()


if __name__ == "__main__":
    sys.exit(main())
