#!/usr/bin/env python3
"""Show smtpprobe at work against scripted loopback servers.

Usage::

    demo.py --binary PATH/smtpprobe [CASE.toml ...]

Starts each case's loopback DNS responder and scripted SMTP servers (the
same ones the scenario tests use), runs the real binary against them with
the text report (``-v`` adds the transcript when given), and prints what it
says.  Nothing leaves the machine: every address involved is on 127.0.0.0/8.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fakedns  # noqa: E402
import fakesmtp  # noqa: E402

DEFAULT_CASES = ["starttls_valid", "unknown_user", "greylisted",
                 "greeting_421_then_second_mx", "rdns_client_rejected_at_rcpt"]


def run_case(binary, path, verbose):
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    with tempfile.TemporaryDirectory(prefix="smtpprobe-demo-") as tmpdir:
        dns = fakedns.FakeDNS(data.get("dns", {})).start()
        smtp = None
        try:
            smtp = fakesmtp.FakeSMTPGroup(data.get("servers", []),
                                          tmpdir).start()
            cmd = [binary, "--dns-server", "127.0.0.1:%d" % dns.port,
                   "--port", str(smtp.port), "--helo", "probe.test.invalid",
                   "--from", "probe@test.invalid"]
            if smtp.ca_file:
                cmd += ["--ca-file", smtp.ca_file]
            if verbose:
                cmd.append("-v")
            cmd += data.get("args", [])
            print("=" * 72)
            print("# %s" % data.get("description", os.path.basename(path)))
            print("$ smtpprobe %s" % " ".join(data.get("args", [])))
            sys.stdout.flush()
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=120)
            print("(exit status %d)" % proc.returncode)
            print()
        finally:
            if smtp is not None:
                smtp.stop()
            dns.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("cases", nargs="*", metavar="CASE.toml")
    opts = parser.parse_args()
    cases = opts.cases or [os.path.join(HERE, "..", "scenarios", n + ".toml")
                           for n in DEFAULT_CASES]
    for path in cases:
        run_case(os.path.abspath(opts.binary), path, opts.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
