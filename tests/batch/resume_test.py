#!/usr/bin/env python3
"""--output and --resume against SIGKILL, on loopback servers.

Usage::

    python3 tests/batch/resume_test.py --binary build/probe/smtpprobe [-v]

Starts the scripted DNS responder and SMTP servers of tests/harness/ on
127.0.0.x (five servers for forty domains, every RCPT answered after a
short delay, some refused) and a list of addresses with duplicates and an
invalid line.  Checks:

* killed with SIGKILL at several moments and resumed each time with the
  same command, the run ends with one line per entry of the list: every
  index exactly once, the duplicates reported as duplicates of their
  first occurrence (also when that one was answered before a kill);
* a last line cut short (as a crash in the middle of a write leaves it)
  is removed by --resume, which says so, and the run completes;
* the same with --format csv (a header, then one row per entry);
* --resume with another list refuses to go on (exit status 64).

Exit status 0 when every check passed, 1 otherwise.
"""

import csv
import json
import os
import random
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

DOMAINS = 40
SERVERS = 5
ADDRESSES = 400


def zone():
    data = {}
    for d in range(DOMAINS):
        data["d%d.test" % d] = {"MX": "10 mx%d.test" % (d % SERVERS)}
    for m in range(SERVERS):
        data["mx%d.test" % m] = {"A": "127.0.0.%d" % (m + 2)}
    return data


def servers():
    return [{"name": "mx%d.test" % m, "ip": "127.0.0.%d" % (m + 2),
             "delay": {"RCPT": 0.01},
             "replies": {"RCPT": ["250 2.1.5 Ok", "250 2.1.5 Ok",
                                  "550 5.1.1 No such user"]}}
            for m in range(SERVERS)]


def write_list(path, shift=0):
    """ADDRESSES addresses, then duplicates and an invalid line."""
    entries = ["u%d@d%d.test" % (i + shift, i % DOMAINS)
               for i in range(ADDRESSES)]
    entries += ["u0@D0.TEST", "u%d@d%d.test" % (ADDRESSES - 1 + shift,
                                                 (ADDRESSES - 1) % DOMAINS),
                "not an address"]
    with open(path, "w", encoding="ascii") as handle:
        handle.write("\n".join(entries) + "\n")
    return len(entries)


class Case(Checks):
    def __init__(self, binary, verbose):
        super().__init__(verbose)
        self.binary = binary

    def command(self, dns, smtp, listfile, out, extra=()):
        return [self.binary, "--dns-server", "127.0.0.1:%d" % dns.port,
                "--port", str(smtp.port), "--helo", "probe.test.invalid",
                "--from", "probe@test.invalid", "--tls", "never",
                "--batch", listfile, "--output", out, "--resume",
                "--delay", "0", "--error-budget", "3"] + list(extra)

    @staticmethod
    def lines(path):
        try:
            with open(path, "rb") as handle:
                return handle.read().count(b"\n")
        except OSError:
            return 0

    def run_killed(self, cmd, out, kills, cut=None):
        """Run cmd, SIGKILL it `kills` times while it writes (after a few
        more lines each time, a random number), then let it finish."""
        rng = random.Random(7)
        killed = 0
        for _ in range(kills + 20):
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            if killed < kills:
                goal = self.lines(out) + rng.randint(5, 60)
                deadline = time.monotonic() + 30
                while proc.poll() is None and self.lines(out) < goal and \
                        time.monotonic() < deadline:
                    time.sleep(0.002)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    killed += 1
            try:
                _stdout, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _stdout, err = proc.communicate()
                return None, err, killed
            if proc.returncode != -signal.SIGKILL:
                return proc.returncode, err, killed
            if cut is not None:
                cut()
        return None, b"never finished", killed

    def rows(self, out, fmt):
        if fmt == "csv":
            with open(out, newline="", encoding="utf-8") as handle:
                text = handle.read()
            self.check("csv: header first",
                       text.startswith("index,line,address,verdict,"),
                       text[:80])
            return [dict(r, index=int(r["index"]),
                         duplicate_of=int(r["duplicate_of"])
                         if r["duplicate_of"] else None)
                    for r in csv.DictReader(text.splitlines())]
        rows = []
        with open(out, encoding="utf-8") as handle:
            for line in handle:
                try:
                    obj = json.loads(line)
                except ValueError:
                    self.check("output lines are JSON", False, repr(line))
                    continue
                dup = obj.get("duplicate_of")
                obj["duplicate_of"] = dup["index"] if dup else None
                rows.append(obj)
        return rows

    def exactly_once(self, name, rows, entries):
        indexes = [r["index"] for r in rows]
        self.check(name + ": one line per entry", len(rows) == entries,
                   "%d lines for %d entries" % (len(rows), entries))
        self.check(name + ": no index twice",
                   len(set(indexes)) == len(indexes),
                   repr(sorted(i for i in set(indexes)
                               if indexes.count(i) > 1))[:200])
        self.check(name + ": every index",
                   set(indexes) == set(range(entries)),
                   repr(sorted(set(range(entries)) - set(indexes)))[:200])
        dups = {r["index"]: r["duplicate_of"] for r in rows
                if r["duplicate_of"] is not None}
        self.check(name + ": duplicates of their first occurrence",
                   dups == {ADDRESSES: 0, ADDRESSES + 1: ADDRESSES - 1},
                   repr(dups))
        verdicts = {r["index"]: r["verdict"] for r in rows}
        self.check(name + ": a duplicate has its first one's verdict",
                   all(verdicts.get(i) == verdicts.get(f)
                       for i, f in dups.items()), repr(dups))

    def killed_and_resumed(self, dns, smtp, tmp, fmt):
        name = "SIGKILL and --resume (%s)" % fmt
        listfile = os.path.join(tmp, "list-%s.txt" % fmt)
        out = os.path.join(tmp, "out.%s" % fmt)
        entries = write_list(listfile)
        cmd = self.command(dns, smtp, listfile, out, ["--format", fmt])
        t0 = time.monotonic()
        rc, err, killed = self.run_killed(cmd, out, 4)
        self.check(name + ": killed 4 times", killed == 4,
                   "%d" % killed)
        self.check(name + ": ends", rc in (0, 1, 2), "%r %s" % (rc, err))
        self.exactly_once(name, self.rows(out, fmt), entries)
        if self.verbose:
            print("   %s: %d kills, %.1f s" % (name, killed,
                                                time.monotonic() - t0))

    def cut_line(self, dns, smtp, tmp):
        name = "cut last line"
        listfile = os.path.join(tmp, "list-cut.txt")
        out = os.path.join(tmp, "out-cut.jsonl")
        entries = write_list(listfile)
        cuts = []

        def cut():
            # What a crash in the middle of a write leaves.
            with open(out, "ab") as handle:
                handle.write(b'{"address":"u1@d1.test","index":1,"li')
            cuts.append(1)

        cmd = self.command(dns, smtp, listfile, out)
        rc, err, _killed = self.run_killed(cmd, out, 2, cut)
        self.check(name + ": ends", rc in (0, 1, 2), "%r %s" % (rc, err))
        self.check(name + ": the resumed run says it removed it",
                   b"cut short" in err or not cuts, err.decode()[-300:])
        self.exactly_once(name, self.rows(out, "json"), entries)

    def other_list(self, dns, smtp, tmp):
        name = "--resume with another list"
        listfile = os.path.join(tmp, "list-a.txt")
        other = os.path.join(tmp, "list-b.txt")
        out = os.path.join(tmp, "out-a.jsonl")
        write_list(listfile)
        write_list(other, shift=1000)
        subprocess.run(self.command(dns, smtp, listfile, out),
                       capture_output=True, timeout=60)
        proc = subprocess.run(self.command(dns, smtp, other, out),
                              capture_output=True, timeout=60)
        self.check(name + ": exit status 64", proc.returncode == 64,
                   "%r %s" % (proc.returncode, proc.stderr[-300:]))
        self.check(name + ": says why", b"same list" in proc.stderr,
                   proc.stderr.decode()[-300:])


def main():
    args = arguments(__doc__)
    case = Case(os.path.abspath(args.binary), args.verbose)
    tmp = tempfile.mkdtemp(prefix="smtpprobe-resume-")
    dns = fakedns.FakeDNS(zone()).start()
    smtp = fakesmtp.FakeSMTPGroup(servers(), tmp).start()
    try:
        case.killed_and_resumed(dns, smtp, tmp, "json")
        case.killed_and_resumed(dns, smtp, tmp, "csv")
        case.cut_line(dns, smtp, tmp)
        case.other_list(dns, smtp, tmp)
    finally:
        smtp.stop()
        dns.stop()
    for server in smtp.servers:
        case.check("no DATA on %s" % server.name, not server.data_lines,
                   repr(server.data_lines))
    return case.report()


if __name__ == "__main__":
    sys.exit(main())
