#!/usr/bin/env python3
"""Wall time of one probe with STARTTLS against a minimal client.

Usage::

    python3 bench/starttls.py --binary build/probe/smtpprobe [-n 30]
                              [--server postfix|scripted] [--target 1.2]

Runs, side by side in one run and against the same loopback server:

* smtpprobe: one invocation probing alice@example.test at the server
  (``--server IP:PORT --ca-file CA --dns-server <loopback responder>``),
  wall time from fork to exit (start-up, trust anchors, the dialogue, the
  report, the identity look-ups it waits for); once more without
  --ca-file, with the system's trust anchors (the certificate then does
  not verify, which changes nothing in the time taken);
* smtplib: a minimal client, Python's smtplib doing the same dialogue
  (a TLS context with the same CA file, connect, EHLO, STARTTLS, EHLO,
  MAIL FROM, RCPT TO, RSET, QUIT) as a program of its own, wall time from
  fork to exit like the probe's: the comparison the target is for;
* the same smtplib dialogue inside this process, timed from creating the
  TLS context to the end of QUIT: no interpreter start-up, only the
  dialogue, shown for reference (no program can start at zero cost);
* posttls-finger (Postfix's TLS tester, TLS only: greeting, EHLO,
  STARTTLS, EHLO, QUIT) when the server is Postfix, for reference.

The two alternate, round after round, so that a machine that gets busier
during the run slows both alike.  The server is a real Postfix on
127.0.0.20 when this runs as root and Postfix is installed (the set-up of
tests/integration/run_integration.py), else the scripted server of
tests/harness/fakesmtp.py.  A DNS responder on loopback answers the
probe's look-ups (the server's and this host's reverse DNS, the HELO
name): nothing leaves the machine.

Prints the median, minimum and maximum of each and the ratio of the
medians; exit status 1 when the ratio is above --target.  Results are
recorded in docs/BENCHMARKS.md.
"""

import argparse
import os
import platform
import shutil
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import fakedns  # noqa: E402  (path set up above)
import fakesmtp  # noqa: E402

HELO = "probe.test.invalid"
MAIL_FROM = "probe@test.invalid"
RCPT = "alice@example.test"
MX_NAME = "mx.example.test"
SCRIPTED_IP = "127.0.0.20"


def start_postfix(workdir):
    """A throw-away Postfix as the integration test runs it, or None."""
    if os.geteuid() != 0 or not shutil.which("postfix"):
        return None
    import run_integration as ri  # noqa: E402  (needs the path above)
    try:
        ca_file, leaves = ri.make_certs(workdir, [MX_NAME])
        server = ri.Postfix(workdir, ri.free_port(ri.POSTFIX_IP),
                            *leaves[MX_NAME])
        # Every round leaves a queue file behind RCPT (taken back by
        # RSET) and nothing is ever delivered: without this, Postfix's
        # flow control soon makes each new transaction wait 1 s.
        with open(os.path.join(server.conf, "main.cf"), "a") as handle:
            handle.write("in_flow_delay = 0s\n")
        server.start()
    except (ri.Skip, RuntimeError, KeyError, OSError) as exc:
        print("no Postfix (%s); using the scripted server" % exc,
              file=sys.stderr)
        return None
    return {"kind": "postfix", "ip": ri.POSTFIX_IP, "port": server.port,
            "ca": ca_file, "stop": server.stop, "conf": server.conf}


def start_scripted(workdir):
    group = fakesmtp.FakeSMTPGroup([{"name": MX_NAME, "ip": SCRIPTED_IP,
                                     "tls": {"cert": "valid"}}],
                                   workdir).start()
    return {"kind": "scripted", "ip": SCRIPTED_IP, "port": group.port,
            "ca": group.ca_file, "stop": group.stop}


def probe_once(binary, srv, dns_port, system_anchors=False):
    cmd = [binary, "--server", "%s:%d" % (srv["ip"], srv["port"]),
           "--dns-server", "127.0.0.1:%d" % dns_port, "--helo", HELO,
           "--from", MAIL_FROM, RCPT]
    if not system_anchors:
        cmd[1:1] = ["--ca-file", srv["ca"]]
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or b"deliverable" not in proc.stdout:
        raise RuntimeError("the probe failed (status %d):\n%s%s"
                           % (proc.returncode, proc.stdout.decode(),
                              proc.stderr.decode()))
    return elapsed


def smtplib_once(srv):
    started = time.perf_counter()
    ctx = ssl.create_default_context(cafile=srv["ca"])
    ctx.check_hostname = False      # dialled by address, as the probe is
    with smtplib.SMTP(srv["ip"], srv["port"], local_hostname=HELO,
                      timeout=10) as client:
        client.ehlo()
        client.starttls(context=ctx)
        client.ehlo()
        client.mail(MAIL_FROM)
        code, _msg = client.rcpt(RCPT)
        client.rset()
        client.quit()
    elapsed = time.perf_counter() - started
    if code != 250:
        raise RuntimeError("smtplib: RCPT answered %d" % code)
    return elapsed


SMTPLIB_PROGRAM = """
import smtplib, ssl, sys
ip, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
with smtplib.SMTP(ip, port, local_hostname=%r, timeout=10) as client:
    client.ehlo()
    client.starttls(context=ctx)
    client.ehlo()
    client.mail(%r)
    code, _msg = client.rcpt(%r)
    client.rset()
    client.quit()
sys.exit(0 if code == 250 else 1)
""" % (HELO, MAIL_FROM, RCPT)


def smtplib_process(srv):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", SMTPLIB_PROGRAM, srv["ip"],
                           str(srv["port"]), srv["ca"]],
                          stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("smtplib program failed:\n%s"
                           % proc.stderr.decode())
    return elapsed


def finger_once(srv):
    """posttls-finger against the Postfix under test, or None."""
    if srv["kind"] != "postfix" or not shutil.which("posttls-finger"):
        return None
    env = dict(os.environ, MAIL_CONFIG=srv["conf"])
    started = time.perf_counter()
    proc = subprocess.run(["posttls-finger", "-c", "-l", "secure",
                           "-P", os.path.dirname(srv["ca"]),
                           "[%s]:%d" % (srv["ip"], srv["port"])],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          env=env)
    elapsed = time.perf_counter() - started
    if b"TLS connection established" not in proc.stdout + proc.stderr:
        return None
    return elapsed


def summary(values):
    ms = [v * 1000 for v in values]
    return statistics.median(ms), min(ms), max(ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("-n", type=int, default=30, help="rounds (30)")
    parser.add_argument("--server", choices=("auto", "postfix", "scripted"),
                        default="auto")
    parser.add_argument("--target", type=float, default=1.2,
                        help="highest acceptable ratio of the medians")
    opts = parser.parse_args()
    binary = os.path.abspath(opts.binary)
    workdir = tempfile.mkdtemp(prefix="smtpprobe-bench-tls-")
    os.chmod(workdir, 0o755)     # Postfix's user must reach its files
    dns = fakedns.FakeDNS({}).start()
    srv = None
    try:
        if opts.server in ("auto", "postfix"):
            srv = start_postfix(workdir)
            if srv is None and opts.server == "postfix":
                print("Postfix cannot be started here", file=sys.stderr)
                return 2
        if srv is None:
            srv = start_scripted(workdir)
        # One of each first: process caches, Postfix's smtpd processes.
        probe_once(binary, srv, dns.port)
        smtplib_process(srv)
        smtplib_once(srv)
        finger_once(srv)
        probe_t, proc_t, lib_t, finger_t, sys_t = [], [], [], [], []
        for _round in range(opts.n):
            probe_t.append(probe_once(binary, srv, dns.port))
            sys_t.append(probe_once(binary, srv, dns.port, True))
            proc_t.append(smtplib_process(srv))
            lib_t.append(smtplib_once(srv))
            took = finger_once(srv)
            if took is not None:
                finger_t.append(took)
    finally:
        if srv is not None:
            srv["stop"]()
        dns.stop()
        shutil.rmtree(workdir, True)
    p_med = summary(probe_t)[0]
    s_med = summary(proc_t)[0]
    ratio = p_med / s_med
    print("%s, %s, Python %s; server: %s on %s; %d rounds"
          % (platform.node(), platform.machine(), platform.python_version(),
             srv["kind"], srv["ip"], opts.n))
    print("%-46s %8s %8s %8s" % ("one STARTTLS probe, wall ms", "median",
                                "min", "max"))
    rows = [("smtpprobe (program)", probe_t),
            ("smtpprobe, system trust anchors (program)", sys_t),
            ("smtplib (program)", proc_t),
            ("smtplib (dialogue only, in process)", lib_t)]
    if finger_t:
        rows.append(("posttls-finger (program, TLS only)", finger_t))
    for label, values in rows:
        print("%-46s %8.1f %8.1f %8.1f" % ((label,) + summary(values)))
    print("smtpprobe / smtplib program, medians: %.2f (target %.2f): %s"
          % (ratio, opts.target, "ok" if ratio <= opts.target else "MISSED"))
    print("smtpprobe / smtplib dialogue only, medians: %.2f"
          % (p_med / summary(lib_t)[0]))
    return 0 if ratio <= opts.target else 1


if __name__ == "__main__":
    sys.exit(main())
