#!/usr/bin/env python3
"""Speed and memory benchmark of smtpprobe against loopback servers.

Usage::

    python3 bench/run.py --binary build/probe/smtpprobe [-n 1000]
                         [--domains 10] [--timeout 3] [--only NAME ...]

Measures, with the real binary, the scripted DNS responder and SMTP servers
of tests/harness/ (fakedns, fakesmtp) and a few hostile servers written
here, all on 127.0.0.0/8:

* throughput: one invocation probing N addresses spread over several
  domains (each domain its own MX on its own address; half the domains
  accept every recipient, the others answer 550 5.1.1): wall time, time per
  address, and that every address got its JSON object;
* batch throughput: the same N addresses as one list on standard input
  (``--batch - --json --parallel P --delay 0``), once with one connection
  per address (``--rcpt-per-connection 1``) and once with the default of
  5 addresses of a domain per connection;
* peak memory (the child's ru_maxrss from wait4) for --version, for one
  address and for N addresses;
* hostile servers, probed with --timeout T: a greeting that is an endless
  multi-line reply, an endless multi-line EHLO reply, a greeting that is one
  endless line without a newline, a greeting trickled one byte per second,
  and an endless multi-line greeting at one line per 0.2 s.  Each must end
  within the target time and stay under the memory target.

Prints a table; exit status 0 when every target was met, 1 otherwise.  Not
part of the test suite: timings depend on the machine.  Results and targets
are recorded in docs/BENCHMARKS.md.
"""

import argparse
import atexit
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))

import fakedns  # noqa: E402  (path set up above)
import fakesmtp  # noqa: E402

HELO_NAME = "probe.bench.invalid"
MAIL_FROM = "probe@bench.invalid"

# Targets (see docs/BENCHMARKS.md).
RSS_TARGET_MIB = 16          # peak RSS, whatever the server does
PER_ADDRESS_TARGET_MS = 10   # mean wall time per address, local servers
HOSTILE_SLACK = 1.5          # seconds allowed past the bound below
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")


def free_port(ips):
    """A port free on every one of IPS."""
    for _try in range(50):
        first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        first.bind((ips[0], 0))
        port = first.getsockname()[1]
        first.close()
        ok = True
        for ip in ips[1:]:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((ip, port))
            except OSError:
                ok = False
            finally:
                sock.close()
        if ok:
            return port
    raise OSError("no common free port")


_MAXRSS = None


def maxrss_helper():
    """Compile bench/maxrss.c once (the C compiler is a build dependency)."""
    global _MAXRSS
    if _MAXRSS is None:
        outdir = tempfile.mkdtemp(prefix="smtpprobe-bench-")
        atexit.register(shutil.rmtree, outdir, True)
        _MAXRSS = os.path.join(outdir, "maxrss")
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", _MAXRSS,
                        os.path.join(HERE, "maxrss.c")], check=True)
    return _MAXRSS


def run_measured(cmd, wall_limit, stdin_bytes=None):
    """Run CMD (with STDIN_BYTES on its standard input, if given); return
    its status, output, wall time and peak RSS (KiB)."""
    helper = maxrss_helper()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile() as report, \
            tempfile.TemporaryFile() as inp:
        if stdin_bytes is not None:
            inp.write(stdin_bytes)
            inp.seek(0)
        started = time.monotonic()
        proc = subprocess.Popen([helper, report.name] + cmd,
                                stdin=inp if stdin_bytes is not None else
                                subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=wall_limit)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            killed = True
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        fields = open(report.name).read().split()
    rss, status, cpu = (int(fields[0]), int(fields[1]), float(fields[2])) \
        if len(fields) == 3 else (0, None, 0.0)
    return {"status": status, "stdout": stdout, "stderr": stderr,
            "seconds": elapsed, "rss_kib": rss, "killed": killed,
            "cpu": cpu}


def parse_json_lines(text):
    results = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                results.append(json.loads(line))
            except ValueError:
                results.append(None)
    return results


# --------------------------------------------------------------------------
# hostile servers


class HostileServer:
    """A TCP server on one loopback address that misbehaves on purpose.

    BEHAVIOUR(sock, stats) runs per connection in its own thread; it writes
    until the client goes away or stop() is called.
    """

    def __init__(self, ip, port, behaviour):
        self.ip = ip
        self.behaviour = behaviour
        self.stop_event = threading.Event()
        self.sent = 0
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                client, _peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,),
                             daemon=True).start()

    def _serve(self, client):
        try:
            client.settimeout(5)
            self.behaviour(self, client)
        except OSError:
            pass
        finally:
            client.close()

    def send(self, client, data):
        if self.stop_event.is_set():
            raise OSError("stopped")
        client.sendall(data)
        self.sent += len(data)

    def stop(self):
        self.stop_event.set()
        self.sock.close()
        self.thread.join(timeout=2)


def flood_greeting(server, client):
    chunk = b"220-mx.hostile.test endless greeting line\r\n" * 256
    while True:
        server.send(client, chunk)


def flood_ehlo(server, client):
    server.send(client, b"220 mx.hostile.test ESMTP\r\n")
    buf = b""
    while b"\n" not in buf:
        data = client.recv(1024)
        if not data:
            return
        buf += data
    chunk = b"250-ENDLESS-KEYWORD-XXXXXXXXXXXXXXXXXXXXXXXX\r\n" * 256
    while True:
        server.send(client, chunk)


def endless_line(server, client):
    server.send(client, b"220 ")
    chunk = b"A" * 65536
    while True:
        server.send(client, chunk)


def trickle_greeting(server, client):
    for byte in b"220 mx.hostile.test ESMTP a greeting sent one byte " \
                b"per second\r\n":
        server.send(client, bytes([byte]))
        if server.stop_event.wait(1.0):
            return


def slow_endless_lines(server, client):
    while True:
        server.send(client, b"220-mx.hostile.test still greeting\r\n")
        if server.stop_event.wait(0.2):
            return


HOSTILE = [
    # name, behaviour, description, slow (probed with fewer addresses:
    # the probe takes addresses one after the other, so N addresses at a
    # server that stalls take N timeouts)
    ("flood_multiline_greeting", flood_greeting,
     "greeting: endless 220- lines, as fast as possible", False),
    ("flood_multiline_ehlo", flood_ehlo,
     "EHLO reply: endless 250- lines, as fast as possible", False),
    ("endless_line", endless_line,
     "greeting: one endless line, no newline", False),
    ("trickle_greeting", trickle_greeting,
     "greeting trickled one byte per second", True),
    ("slow_endless_multiline", slow_endless_lines,
     "greeting: endless 220- lines, one per 0.2 s", True),
]
SLOW_ADDRESSES = 3


# --------------------------------------------------------------------------


def bench_throughput(binary, n, domains, wall, chatty=False, parallel=10):
    zone = {}
    specs = []
    ips = []
    for d in range(domains):
        domain = "d%d.bench.test" % d
        mx = "mx.%s" % domain
        ip = "127.0.0.%d" % (60 + d)
        zone[domain] = {"MX": "10 %s" % mx}
        zone[mx] = {"A": ip}
        spec = {"name": mx, "ip": ip}
        if d % 2:
            spec["replies"] = {"RCPT": "550 5.1.1 <x>: User unknown"}
        if chatty:
            # Replies as long as the probe keeps: 100-line greeting and
            # EHLO replies, RCPT text near the line limit.
            filler = "x" * 400
            spec["greeting"] = "\n".join(["220-%s %s" % (mx, filler)] * 99
                                         + ["220 %s ESMTP" % mx])
            spec.setdefault("replies", {})["EHLO"] = "\n".join(
                ["250-%s" % mx] + ["250-X-KEYWORD-%d %s" % (k, filler)
                                   for k in range(98)] + ["250 8BITMIME"])
        specs.append(spec)
        ips.append(ip)
    dns = fakedns.FakeDNS(zone).start()
    rows = []
    with tempfile.TemporaryDirectory(prefix="smtpprobe-bench-") as tmp:
        group = fakesmtp.FakeSMTPGroup(specs, tmp).start()
        try:
            base = [binary, "--json", "--dns-server",
                    "127.0.0.1:%d" % dns.port, "--port", str(group.port),
                    "--helo", HELO_NAME, "--from", MAIL_FROM]
            label = " (chatty servers)" if chatty else ""
            if not chatty:
                rows.append(("--version (baseline)",
                             run_measured([binary, "--version"], wall),
                             None, 0))
            one = run_measured(base + ["user0@d0.bench.test"], wall)
            rows.append(("1 address" + label, one,
                         parse_json_lines(one["stdout"]), 1))
            addresses = ["user%d@d%d.bench.test" % (i, i % domains)
                         for i in range(n)]
            many = run_measured(base + addresses, wall)
            rows.append(("%d addresses%s" % (n, label), many,
                         parse_json_lines(many["stdout"]), n))
            if not chatty:
                # The same list in batch mode: concurrently, one
                # connection per address, then several RCPTs per
                # connection (the default).
                listing = ("\n".join(addresses) + "\n").encode()
                for k in (1, 5):
                    run = run_measured(
                        base + ["--batch", "-", "--parallel",
                                str(parallel), "--delay", "0",
                                "--rcpt-per-connection", str(k)], wall,
                        stdin_bytes=listing)
                    rows.append(("batch -P%d, %d rcpt/conn" % (parallel, k),
                                 run, parse_json_lines(run["stdout"]), n))
        finally:
            group.stop()
            dns.stop()
    return rows


def bench_hostile(binary, timeout, wall, only, counts):
    dns = fakedns.FakeDNS({}).start()
    rows = []
    try:
        for index, (name, behaviour, description, slow) in \
                enumerate(HOSTILE):
            if only and name not in only:
                continue
            for count in (sorted({1, SLOW_ADDRESSES}) if slow else counts):
                ip = "127.0.0.%d" % (90 + index)
                port = free_port([ip])
                server = HostileServer(ip, port, behaviour)
                try:
                    cmd = [binary, "--json", "--dns-server",
                           "127.0.0.1:%d" % dns.port, "--server", ip,
                           "--port", str(port), "--helo", HELO_NAME,
                           "--from", MAIL_FROM, "--timeout", str(timeout),
                           "--tls", "never"]
                    cmd += ["user%d@hostile.test" % i for i in range(count)]
                    result = run_measured(cmd, wall)
                finally:
                    server.stop()
                result["server_sent"] = server.sent
                result["count"] = count
                rows.append((name, description, result,
                             parse_json_lines(result["stdout"])))
    finally:
        dns.stop()
    return rows


def mib(kib):
    return kib / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("-n", type=int, default=1000,
                        help="addresses in the throughput run (1000)")
    parser.add_argument("--domains", type=int, default=10,
                        help="domains (and servers) they are spread over")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="--timeout given to the probe in the hostile "
                        "cases (3 s)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these hostile cases (names as in "
                        "the table); 'none' skips them")
    parser.add_argument("--hostile-addresses", type=int, default=100,
                        help="also probe this many addresses at once "
                        "against each hostile server (100)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--parallel", type=int, default=10,
                        help="--parallel of the batch throughput runs (10)")
    opts = parser.parse_args()
    binary = os.path.abspath(opts.binary)
    if not (1 <= opts.domains <= 30):
        parser.error("--domains must be 1..30")
    ok = True

    print("smtpprobe benchmark: %s" % binary)
    print("machine: %s, %d CPUs, Python %s" % (
        platform.platform(), os.cpu_count() or 0, platform.python_version()))
    print()

    if not opts.skip_throughput:
        wall = max(120.0, opts.n * 0.5)
        rows = bench_throughput(binary, opts.n, opts.domains, wall,
                                parallel=opts.parallel)
        rows += bench_throughput(binary, opts.n, opts.domains, wall,
                                 chatty=True)
        print("%d addresses over %d domains, one server each; odd domains "
              "answer RCPT with 550 5.1.1" % (opts.n, opts.domains))
        print("%-32s %4s %8s %11s %8s %10s  %s" % (
            "run", "exit", "wall s", "per addr ms", "CPU s", "peak RSS",
            "check"))
        for label, res, results, expected in rows:
            notes = []
            if expected:
                complete = (len(results) == expected and
                            all(r is not None for r in results))
                verdicts = {}
                for r in results:
                    if r:
                        verdicts[r.get("verdict")] = \
                            verdicts.get(r.get("verdict"), 0) + 1
                if not complete:
                    notes.append("only %d/%d JSON objects"
                                 % (len(results), expected))
                    ok = False
                notes.append(", ".join("%s %d" % kv for kv in
                                       sorted(verdicts.items())))
            per = res["seconds"] * 1000.0 / expected if expected else None
            if expected and expected >= 100 and "chatty" not in label \
                    and per > PER_ADDRESS_TARGET_MS:
                notes.append("SLOWER than %d ms/address"
                             % PER_ADDRESS_TARGET_MS)
                ok = False
            if mib(res["rss_kib"]) > RSS_TARGET_MIB:
                notes.append("OVER %d MiB" % RSS_TARGET_MIB)
                ok = False
            if res["killed"]:
                notes.append("KILLED after %.0f s" % wall)
                ok = False
            print("%-32s %4s %8.3f %11s %8.3f %6.1f MiB  %s" % (
                label, res["status"], res["seconds"],
                "%.2f" % per if per is not None else "-", res["cpu"],
                mib(res["rss_kib"]), "; ".join(notes) or "ok"))
        print()

    if opts.only != ["none"]:
        per_address = 2 * opts.timeout
        rows = bench_hostile(binary, opts.timeout,
                             per_address * max(opts.hostile_addresses,
                                               SLOW_ADDRESSES) + 60,
                             opts.only, sorted({1, opts.hostile_addresses}))
        print("hostile servers, --timeout %g: each address must end within "
              "%.1f s (one stage timeout and the QUIT timeout; %.1f s slack "
              "per run), peak RSS under %d MiB"
              % (opts.timeout, per_address, HOSTILE_SLACK, RSS_TARGET_MIB))
        print("%-24s %5s %6s %8s %10s %12s %-16s %s" % (
            "case", "addrs", "exit", "wall s", "peak RSS", "server sent",
            "reason", "check"))
        print("(server sent: bytes the server wrote, kernel socket buffers "
              "included)")
        for name, _description, res, results in rows:
            notes = []
            bound = res["count"] * per_address + HOSTILE_SLACK
            if res["seconds"] > bound:
                notes.append("TOO SLOW")
                ok = False
            if mib(res["rss_kib"]) > RSS_TARGET_MIB:
                notes.append("OVER %d MiB" % RSS_TARGET_MIB)
                ok = False
            if res["status"] != 2:
                notes.append("exit status %s, expected 2" % res["status"])
                ok = False
            if any(marker in res["stderr"] for marker in SANITIZER_MARKERS):
                notes.append("SANITIZER REPORT")
                ok = False
            if res["killed"] or res["status"] is None or res["status"] < 0:
                notes.append("KILLED (status %s)" % res["status"])
                ok = False
            reasons = sorted({r.get("reason") for r in results if r})
            if len(results) != res["count"] or None in results:
                notes.append("%d/%d JSON objects" % (len(results),
                                                     res["count"]))
                ok = False
            reason = ",".join(reasons) or "(no JSON)"
            print("%-24s %5d %6s %8.2f %6.1f MiB %9.1f MiB %-16s %s" % (
                name, res["count"], res["status"], res["seconds"],
                mib(res["rss_kib"]),
                res["server_sent"] / 1048576.0, reason,
                "; ".join(notes) or "ok"))
        print()
        for name, _behaviour, description, _slow in HOSTILE:
            print("  %-24s %s" % (name, description))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
