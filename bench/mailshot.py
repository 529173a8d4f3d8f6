#!/usr/bin/env python3
"""Batch mode at mailshot scale: smtpprobe against loopback servers, with
a naive verifier side by side.

Usage::

    python3 bench/mailshot.py --binary build/probe/smtpprobe [--only CASE ...]

Cases (docs/BENCHMARKS.md, "Batch at mailshot scale"):

* ``many``: 2,000 addresses over 400 domains hosted on 32 servers, once
  against Postfix's ``smtp-sink`` (32 processes on 127.0.1.1-32) and once
  against the scripted servers of tests/harness/ (which count the
  connections, the transactions and the most connections open at once per
  server).  Target: at least 2,000 verdicts/s, at most one connection per
  server at a time, about 2 connections per server in all.  The naive
  verifier (bench/naive.py: one connection per address, 8 at once) does
  the same list in the same run.
* ``big``: 200 addresses (half unknown) on one real Postfix with the
  default error limits (needs root and the postfix package; the set-up of
  tests/integration/).  Target: every verdict right, under 1 s, no reply
  held back by Postfix's error sleep (its log has no "too many errors").
  The naive verifier in the same run.
* ``huge``: 100,000 addresses over 1,000 domains on 32 smtp-sink servers,
  JSON to a file.  Target: peak RSS under 64 MiB; verdicts/s and
  connections are reported.
* ``resume``: 10,000 addresses with --output, killed with SIGKILL three
  times and resumed.  Target: lines = entries of the list, no index twice.

Every server and the DNS responder listen on 127.0.0.0/8; every probe
gets --dns-server pointing at the scripted responder.  Exit status 0
when every target was met, 1 otherwise; not a test (timings depend on
the machine).
"""

import argparse
import json
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import fakedns  # noqa: E402
import fakesmtp  # noqa: E402
from run import free_port, run_measured  # noqa: E402

HELO = "probe.bench.invalid"
SENDER = "probe@bench.invalid"
SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def sink_ips(n):
    return ["127.0.1.%d" % (i + 1) for i in range(n)]


class Sinks:
    """n smtp-sink processes, one per address, all on one port."""

    def __init__(self, ips, port):
        self.procs = []
        for ip in ips:
            cmd = [SINK, "-u", "nobody", "%s:%d" % (ip, port), "1024"]
            if os.geteuid() != 0:
                cmd = [SINK, "%s:%d" % (ip, port), "1024"]
            self.procs.append(subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        for ip in ips:
            while True:
                try:
                    socket.create_connection((ip, port), 0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("smtp-sink did not start")
                    time.sleep(0.05)

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait()


def zone(domains, ips):
    data = {"mx%d.bench.test" % i: {"A": ip} for i, ip in enumerate(ips)}
    for d in range(domains):
        data["d%d.bench.test" % d] = {"MX": "10 mx%d.bench.test" %
                                      (d % len(ips))}
    return data


def addresses(n, domains):
    return ["user%d@d%d.bench.test" % (i, i % domains) for i in range(n)]


def probe_cmd(binary, dns, port, extra):
    return [binary, "--dns-server", "127.0.0.1:%d" % dns.port, "--port",
            str(port), "--helo", HELO, "--from", SENDER] + extra


def summary_number(text, pattern):
    """The number before `pattern` in the probe's summary."""
    import re
    match = re.search(r"([0-9]+) %s" % pattern, text)
    return int(match.group(1)) if match else -1


def run_naive(dns, port, lines):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(HERE, "naive.py"),
                           "--dns", "127.0.0.1:%d" % dns.port, "--port",
                           str(port)], input="\n".join(lines).encode(),
                          capture_output=True, timeout=600)
    seconds = time.monotonic() - started
    verdicts = {}
    for line in proc.stdout.decode().splitlines():
        address, verdict, _code = line.split()
        verdicts[address] = verdict
    return seconds, verdicts


def setup(tmp, name, n, domains, servers):
    """The servers' addresses, their port, the DNS responder and the
    list file of a case."""
    ips = sink_ips(servers)
    port = free_port(ips)
    dns = fakedns.FakeDNS(zone(domains, ips)).start()
    listfile = os.path.join(tmp, name + ".txt")
    with open(listfile, "w") as handle:
        handle.write("\n".join(addresses(n, domains)) + "\n")
    return ips, port, dns, listfile


def target_met(ok, met, what):
    ok.append(met)
    print("  target %s: %s" % (what, "met" if met else "MISSED"))


def row(name, n, seconds, extra):
    print("  %-34s %7d %8.3f %9.0f  %s" % (name, n, seconds,
                                          n / seconds if seconds else 0,
                                          extra))


def header(title):
    print()
    print(title)
    print("  %-34s %7s %8s %9s  %s" % ("run", "addrs", "wall s", "addr/s",
                                       "notes"))


# ---- many domains ---------------------------------------------------------


def case_many(binary, tmp, ok):
    n, domains, servers = 2000, 400, 32
    ips, port, dns, _listfile = setup(tmp, "many", n, domains, servers)
    lines = addresses(n, domains)
    header("many domains: %d addresses over %d domains on %d servers" % (
        n, domains, servers))
    sinks = Sinks(ips, port)
    try:
        res = run_measured(probe_cmd(binary, dns, port, [
            "--batch", "-", "--json"]), 300, "\n".join(lines).encode())
        objs = [json.loads(x) for x in res["stdout"].splitlines()]
        conns = summary_number(res["stderr"], "SMTP connection")
        rate = len(objs) / res["seconds"]
        good = len(objs) == n and all(o["verdict"] == "deliverable"
                                      for o in objs)
        row("smtpprobe, smtp-sink", len(objs), res["seconds"],
            "%d connections (%.1f per server), CPU %.2f s, RSS %.1f MiB%s" % (
                conns, conns / servers, res["cpu"], res["rss_kib"] / 1024,
                "" if good else ", WRONG VERDICTS"))
        nsec, nverd = run_naive(dns, port, lines)
        row("naive, 8 at once, smtp-sink", len(nverd), nsec,
            "%d connections; smtpprobe %.1fx as fast" % (
                len(nverd), nsec / res["seconds"]))
        target_met(ok, rate >= 2000 and good and conns <= servers * 2,
                   ">= 2,000 verdicts/s, <= 2 connections per server")
    finally:
        sinks.stop()
    # The same against the scripted servers, which count.
    group = fakesmtp.FakeSMTPGroup(
        [{"name": "mx%d.bench.test" % i, "ip": ip} for i, ip in
         enumerate(ips)], tmp, port).start()
    try:
        res = run_measured(probe_cmd(binary, dns, port, [
            "--batch", "-", "--json"]), 300, "\n".join(lines).encode())
        objs = [json.loads(x) for x in res["stdout"].splitlines()]
        most = max(s.max_active for s in group.servers)
        conns = sum(s._accepted for s in group.servers)
        txns = sum(s.transactions for s in group.servers)
        row("smtpprobe, scripted servers", len(objs), res["seconds"],
            "%d connections, %d transactions, most at once on a server "
            "%d" % (conns, txns, most))
        target_met(ok, most == 1 and conns <= servers * 2 and
                   len(objs) == n, "one connection per server at a time")
    finally:
        group.stop()
        dns.stop()


# ---- one big server (real Postfix) ----------------------------------------


def case_big(binary, tmp, ok):
    header("one big server: 200 addresses (half unknown) on Postfix")
    try:
        import run_integration as ri
    except ImportError as exc:
        print("  skipped: %s" % exc)
        return
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("  skipped: needs root and the postfix package")
        return
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        print("  skipped: no postfix user")
        return
    port = ri.free_port(ri.POSTFIX_IP)
    ca, leaves = ri.make_certs(tmp, ["mx.example.test"])
    cert, key = leaves["mx.example.test"]
    # Its other listeners (submission, implicit TLS) on free ports.
    postfix = ri.Postfix(tmp, port, ri.free_port(ri.POSTFIX_IP), cert, key)
    users = ["user%d@example.test" % i for i in range(0, 200, 2)]
    with open(os.path.join(postfix.conf, "virtual_mailbox"), "w") as handle:
        handle.writelines("%s  example.test/%s/\n" % (u, u.split("@")[0])
                          for u in users)
    main_cf = os.path.join(postfix.conf, "main.cf")
    with open(main_cf) as handle:
        text = handle.read()
    # The integration test logs every command; a mailshot's server does
    # not.  Every error limit stays at its default.
    text = text.replace("debug_peer_list = 127.0.0.0/8\n", "")
    with open(main_cf, "w") as handle:
        handle.write(text)
    dns = fakedns.FakeDNS({"example.test": {"MX": "10 mx.example.test"},
                           "mx.example.test": {"A": ri.POSTFIX_IP}}).start()
    lines = ["user%d@example.test" % i for i in range(200)]
    postfix.start()
    try:
        time.sleep(0.5)
        res = run_measured(probe_cmd(binary, dns, port, [
            "--batch", "-", "--json", "--ca-file", ca]), 300,
            "\n".join(lines).encode())
        objs = [json.loads(x) for x in res["stdout"].splitlines()]
        right = sum(1 for o in objs if o["verdict"] == (
            "deliverable" if o["address"] in users else "undeliverable"))
        worst = 0.0
        for o in objs:
            for stage in o.get("stages") or []:
                if stage.get("name") not in ("mail", "rcpt"):
                    continue
                for rep in stage.get("replies") or []:
                    worst = max(worst, rep.get("elapsed_ms") or 0)
        log = ri.read_text(postfix.log)
        conns = summary_number(res["stderr"], "SMTP connection")
        resumed = sum(1 for o in objs if (o.get("tls") or {}).get(
            "resumed") and "batch.shared_connection" not in
            [f["id"] for f in o["findings"]])
        row("smtpprobe, Postfix, STARTTLS", len(objs), res["seconds"],
            "%d/%d right, %d connections (%d TLS resumed), slowest "
            "MAIL/RCPT reply %.0f ms%s" % (right, len(lines), conns,
                                          resumed, worst,
                    "" if "too many errors" not in log else
                    ", POSTFIX SAW TOO MANY ERRORS"))
        nsec, nverd = run_naive(dns, port, lines)
        nright = sum(1 for a, v in nverd.items() if v == (
            "deliverable" if a in users else "undeliverable"))
        row("naive, 8 at once, Postfix", len(nverd), nsec,
            "%d/%d right, %d connections; smtpprobe %.1fx as fast" % (
                nright, len(lines), len(nverd), nsec / res["seconds"]))
        target_met(ok, right == len(lines) and res["seconds"] < 1.0 and
                   worst < 500 and "too many errors" not in log,
                   "all right, < 1 s, no reply over 0.5 s")
    finally:
        postfix.stop()
        dns.stop()


# ---- 100,000 addresses ----------------------------------------------------


def case_huge(binary, tmp, ok, n=100000):
    domains, servers = 1000, 32
    header("huge: %d addresses over %d domains on %d servers" % (
        n, domains, servers))
    ips, port, dns, listfile = setup(tmp, "huge", n, domains, servers)
    out = os.path.join(tmp, "huge.jsonl")
    sinks = Sinks(ips, port)
    try:
        res = run_measured(probe_cmd(binary, dns, port, [
            "--batch", listfile, "--output", out]), 1800)
        with open(out) as handle:
            lines = sum(1 for _ in handle)
        conns = summary_number(res["stdout"], "SMTP connection")
        row("smtpprobe, smtp-sink", lines, res["seconds"],
            "peak RSS %.1f MiB, CPU %.1f s, %d connections" % (
                res["rss_kib"] / 1024, res["cpu"], conns))
        target_met(ok, lines == n and res["rss_kib"] < 64 * 1024,
                   "peak RSS < 64 MiB, every address")
    finally:
        sinks.stop()
        dns.stop()


# ---- killed and resumed ----------------------------------------------------


def case_resume(binary, tmp, ok):
    n, domains, servers = 10000, 200, 8
    header("resume: %d addresses, killed three times, resumed" % n)
    ips, port, dns, listfile = setup(tmp, "resume", n, domains, servers)
    out = os.path.join(tmp, "resume.jsonl")
    cmd = probe_cmd(binary, dns, port, ["--batch", listfile, "--output", out,
                                        "--resume", "--error-budget", "2"])
    sinks = Sinks(ips, port)
    started = time.monotonic()
    kills = 0
    try:
        for goal in (1500, 4000, 7000, None):
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            while goal is not None and proc.poll() is None:
                try:
                    with open(out, "rb") as handle:
                        if handle.read().count(b"\n") >= goal:
                            break
                except OSError:
                    pass
                time.sleep(0.01)
            if goal is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        with open(out) as handle:
            idx = [json.loads(line)["index"] for line in handle]
        seconds = time.monotonic() - started
        row("smtpprobe, %d kills" % kills, len(idx), seconds,
            "%d lines, %d distinct, %d entries" % (len(idx), len(set(idx)),
                                                  n))
        target_met(ok, len(idx) == n and len(set(idx)) == n,
                   "lines = entries, no duplicate")
    finally:
        sinks.stop()
        dns.stop()


CASES = {"many": case_many, "big": case_big, "huge": case_huge,
         "resume": case_resume}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--only", nargs="*", default=list(CASES),
                        choices=list(CASES))
    parser.add_argument("--huge", type=int, default=100000,
                        help="addresses of the huge case (100,000)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    print("smtpprobe mailshot benchmark: %s" % binary)
    print("machine: %s, %d CPUs, Python %s" % (
        platform.platform(), os.cpu_count() or 0, platform.python_version()))
    if not os.path.exists(SINK):
        print("smtp-sink not found (Debian: the postfix package)")
        return 1
    ok = []
    tmp = tempfile.mkdtemp(prefix="smtpprobe-mailshot-")
    os.chmod(tmp, 0o755)    # Postfix's own users walk into it
    try:
        for name in args.only:
            if name == "huge":
                case_huge(binary, tmp, ok, args.huge)
            else:
                CASES[name](binary, tmp, ok)
    finally:
        shutil.rmtree(tmp, True)
    print()
    print("%d of %d targets met" % (sum(ok), len(ok)))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
