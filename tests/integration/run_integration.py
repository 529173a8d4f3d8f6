#!/usr/bin/env python3
"""Probe real mail servers (Postfix, Exim) on loopback with smtpprobe.

Usage::

    run_integration.py --binary PATH/smtpprobe [--mta postfix|exim|all] [-v]
                       [--keep]

For each MTA the runner writes a throw-away configuration into a temporary
directory, starts the real server on its own loopback address (Postfix on
127.0.0.20, Exim on 127.0.0.21, a free port), starts the scripted DNS
responder (tests/harness/fakedns.py) on 127.0.0.1 so that MX resolution
leads to that server, runs the real smtpprobe binary with --json against it
and checks the verdicts, the reply codes, the explanations and who is
blamed, and every JSON object against its schema in docs/schema/.  Last, it reads the server's own log and queue: the probe must never
have sent DATA or BDAT and no message may have been queued.

Both servers use a local domain with one known user (alice), STARTTLS with
a certificate made at test time for the server's name, a rule that refuses
relaying for other domains, and a rule that refuses the HELO name
"localhost" at RCPT time.  Postfix also has a check_recipient_access map
that refuses blocked@example.test and moved@example.test (551 5.1.6), and
a submission service (port 587 when free) that offers AUTH and takes mail
only after it; Exim also has a catch-all domain, catchall.test, for the
relay test.

Postfix comes from Debian's postfix package.  Exim cannot be installed next
to it (both are a mail-transport-agent), so scripts/deps unpacks the
exim4-daemon-light package with `dpkg -x` into /var/cache/smtpprobe/exim4
(or $SMTPPROBE_EXIM_ROOT); the Exim binary wants the user Debian-exim,
which libnss-wrapper provides without touching /etc/passwd.

Needs root (Postfix and Exim start as root and drop privileges).  When not
root, or when a server's files are missing, the runner says why and exits
with status 77, which ctest reports as "skipped".  Exit status 0 when every
check passed, 1 otherwise.  Nothing here talks to anything but loopback.
"""

import argparse
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import fakedns  # noqa: E402  (path set up above)
import fakesmtp  # noqa: E402
import schemacheck  # noqa: E402

SKIP = 77
HELO_NAME = "probe.test.invalid"
MAIL_FROM = "probe@test.invalid"
PROBE_TIMEOUT = "20"          # --timeout for every stage of the probe
PROBE_WALL = 60               # seconds before a probe run is killed
START_WAIT = 20               # seconds for a server to come up
POSTFIX_IP = "127.0.0.20"
EXIM_IP = "127.0.0.21"
DEFAULT_EXIM_ROOT = "/var/cache/smtpprobe/exim4"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer")

# One zone for both servers.  elsewhere.test is deliberately absent: it is
# only ever probed with --server, as a relay attempt.
ZONE = {
    "example.test": {"MX": "10 mx.example.test"},
    "mx.example.test": {"A": POSTFIX_IP},
    # A second domain on the Postfix server, for --batch.
    "shared.test": {"MX": "10 mx.example.test"},
    "exim.test": {"MX": "10 mx2.exim.test"},
    "mx2.exim.test": {"A": EXIM_IP},
    # Exim takes any local part at this domain (a catch-all).
    "catchall.test": {"MX": "10 mx2.exim.test"},
}


class Skip(Exception):
    """The prerequisites for one MTA are missing."""


# --------------------------------------------------------------------------
# helpers


def port_or_free(ip, port):
    """PORT on IP when it is free there, else a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ip, port))
        return port
    except OSError:
        return free_port(ip)
    finally:
        sock.close()


def free_port(ip):
    """A TCP port free on IP (and, as far as we can tell, staying free)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ip, 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def wait_for_listener(ip, port, deadline):
    """Wait until something listens on IP:PORT (checked with /proc)."""
    want = "%s:%04X" % ("".join("%02X" % int(b) for b in
                                reversed(ip.split("."))), port)
    while time.monotonic() < deadline:
        try:
            with open("/proc/net/tcp", encoding="ascii") as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) > 3 and fields[1] == want \
                            and fields[3] == "0A":
                        return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def json_get(obj, path):
    """Follow a dotted path; list elements by index or by their name/id."""
    for key in path.split("."):
        if isinstance(obj, list):
            if key.isdigit():
                index = int(key)
                if index >= len(obj):
                    raise KeyError(path)
                obj = obj[index]
            else:
                for item in obj:
                    if isinstance(item, dict) and key in (item.get("name"),
                                                          item.get("id")):
                        obj = item
                        break
                else:
                    raise KeyError(path)
        elif isinstance(obj, dict):
            if key not in obj:
                raise KeyError(path)
            obj = obj[key]
        else:
            raise KeyError(path)
    return obj


MISSING = object()


def lookup(obj, path):
    try:
        return json_get(obj, path)
    except KeyError:
        return MISSING


class Checker:
    """Collects the results of every check of one MTA run."""

    def __init__(self, name, verbose):
        self.name = name
        self.verbose = verbose
        self.passed = 0
        self.failed = []

    def case(self, title):
        return Case(self, title)

    def report(self):
        print("%s: %d checks passed, %d failed"
              % (self.name, self.passed, len(self.failed)))
        return not self.failed


class Case:
    def __init__(self, checker, title):
        self.checker = checker
        self.title = title
        self.failures = []
        self.context = ""

    def check(self, ok, what):
        if ok:
            self.checker.passed += 1
        else:
            self.failures.append(what)
            self.checker.failed.append("%s: %s" % (self.title, what))
        return ok

    def expect(self, obj, path, expected):
        value = lookup(obj, path)
        if callable(expected):
            ok = value is not MISSING and expected(value)
            shown = getattr(expected, "__doc__", None) or "a predicate"
        else:
            ok = value == expected
            shown = repr(expected)
        return self.check(ok, "%s: expected %s, got %s"
                          % (path, shown,
                             "(absent)" if value is MISSING else repr(value)))

    def done(self):
        status = "ok" if not self.failures else "FAIL"
        print("  [%s] %s" % (status, self.title))
        for failure in self.failures:
            print("        - %s" % failure)
        if self.failures and self.context:
            print(self.context)
        elif self.checker.verbose and self.context:
            print(self.context)
        sys.stdout.flush()


def not_in(*values):
    def predicate(value):
        return value not in values
    predicate.__doc__ = "none of %r" % (values,)
    return predicate


def run_probe(binary, dns_port, port, ca_file, args, helo=HELO_NAME,
              stdin_text=None):
    """STDIN_TEXT: what the probe reads on stdin (--batch -)."""
    cmd = [binary, "--json", "--dns-server", "127.0.0.1:%d" % dns_port,
           "--port", str(port), "--helo", helo, "--from", MAIL_FROM,
           "--timeout", PROBE_TIMEOUT, "--ca-file", ca_file] + list(args)
    started = time.monotonic()
    feed = {"stdin": subprocess.DEVNULL} if stdin_text is None else {
        "input": stdin_text.encode("utf-8")}
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_WALL,
                              **feed)
        status, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status, stdout, stderr = None, exc.stdout or b"", exc.stderr or b""
    elapsed = time.monotonic() - started
    stdout = stdout.decode("utf-8", "replace")
    stderr = stderr.decode("utf-8", "replace")
    results, bad_lines = [], []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        try:
            results.append(json.loads(line))
        except ValueError:
            bad_lines.append(line)
    return {"cmd": cmd, "status": status, "stdout": stdout, "stderr": stderr,
            "results": results, "bad_lines": bad_lines, "elapsed": elapsed}


def probe_case(checker, title, run, exit_status, count=1):
    """Start a Case with the checks every probe run must pass."""
    case = checker.case(title)
    case.context = ("        $ %s\n        exit %s after %.1f s\n"
                    "        stdout: %s\n        stderr: %s"
                    % (" ".join(run["cmd"]), run["status"], run["elapsed"],
                       run["stdout"].strip()[:4000] or "(empty)",
                       run["stderr"].strip()[:2000] or "(empty)"))
    case.check(run["status"] is not None,
               "probe did not finish within %d s" % PROBE_WALL)
    case.check(run["status"] is None or run["status"] >= 0,
               "probe killed by signal %s" % -(run["status"] or 0))
    case.check(run["status"] == exit_status,
               "exit status: expected %d, got %s" % (exit_status,
                                                     run["status"]))
    case.check(not run["bad_lines"],
               "stdout lines that are not JSON: %r" % run["bad_lines"][:3])
    case.check(len(run["results"]) == count,
               "expected %d JSON object(s), got %d"
               % (count, len(run["results"])))
    for marker in SANITIZER_MARKERS:
        case.check(marker not in run["stderr"],
                   "sanitizer report on stderr (%s)" % marker)
    kind = schemacheck.document_kind(run["cmd"][1:])
    for n, result in enumerate(run["results"]):
        for error in schemacheck.validate(result, schemacheck.load(kind)):
            case.check(False, "JSON object %d against docs/schema/%s."
                       "schema.json: %s" % (n, kind, error))
    return case


def rcpt_rejection(case, result, code, enhanced, category, blame):
    case.expect(result, "stages.rcpt.status", "fail")
    case.expect(result, "stages.rcpt.replies.0.code", code)
    case.expect(result, "stages.rcpt.replies.0.enhanced", enhanced)
    case.expect(result, "stages.rcpt.explanation.category", category)
    case.expect(result, "stages.rcpt.explanation.blame", blame)
    case.expect(result, "stages.mail.status", "ok")


def tls_verified(case, result, host):
    case.expect(result, "stages.starttls.status", "ok")
    case.expect(result, "stages.tls.status", "ok")
    case.expect(result, "tls.verified", True)
    case.expect(result, "tls.name_match", True)
    case.expect(result, "server.host", host)


# --------------------------------------------------------------------------
# the scenarios, common to both servers


def common_cases(checker, binary, dns_port, port, ca_file, domain, mx, ip,
                 unknown_code, unknown_enhanced, relay_code, relay_enhanced,
                 helo_code, helo_enhanced, other, tls_resumes):
    """OTHER, TLS_RESUMES: for batch_case."""
    alice = "alice@" + domain
    nobody = "nobody@" + domain

    run = run_probe(binary, dns_port, port, ca_file,
                    ["--tls", "required", alice])
    case = probe_case(checker, "%s: known user, found by MX, STARTTLS "
                      "verified (--tls required)" % alice, run, 0)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "deliverable")
        case.expect(result, "reason", "accepted")
        case.expect(result, "dns.status", "ok")
        case.expect(result, "dns.implicit_mx", False)
        case.expect(result, "dns.mx.0.host", mx)
        case.expect(result, "server.ip", ip)
        case.expect(result, "server.port", port)
        tls_verified(case, result, mx)
        case.expect(result, "stages.rcpt.status", "ok")
        case.expect(result, "stages.rcpt.replies.0.code", 250)
    case.done()

    run = run_probe(binary, dns_port, port, ca_file, [nobody])
    case = probe_case(checker, "%s: unknown user is undeliverable" % nobody,
                      run, 1)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "undeliverable")
        case.expect(result, "reason", "user_unknown")
        rcpt_rejection(case, result, unknown_code, unknown_enhanced,
                       "user_unknown", "recipient_address")
        tls_verified(case, result, mx)
    case.done()

    relay = "someone@elsewhere.test"
    run = run_probe(binary, dns_port, port, ca_file,
                    ["--server", mx, relay])
    case = probe_case(checker, "%s via --server %s: relay denied, blamed "
                      "on relay policy" % (relay, mx), run, 1)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "undeliverable")
        case.expect(result, "reason", "relay_denied")
        rcpt_rejection(case, result, relay_code, relay_enhanced,
                       "relay_denied", "relay_policy")
        case.expect(result, "server.ip", ip)
    case.done()

    run = run_probe(binary, dns_port, port, ca_file, [alice],
                    helo="localhost")
    case = probe_case(checker, "%s with HELO localhost: refused at RCPT, "
                      "blamed on the client's HELO" % alice, run, 2)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "unknown")
        case.expect(result, "reason", "client_rejected")
        case.expect(result, "stages.ehlo.status", "ok")
        rcpt_rejection(case, result, helo_code, helo_enhanced,
                       "helo_rejected", "client_identity")
    case.done()

    run = run_probe(binary, dns_port, port, ca_file, [alice, nobody])
    case = probe_case(checker, "%s and %s in one run: worst status wins"
                      % (alice, nobody), run, 1, count=2)
    if len(run["results"]) == 2:
        case.expect(run["results"][0], "address", alice)
        case.expect(run["results"][0], "verdict", "deliverable")
        case.expect(run["results"][1], "address", nobody)
        case.expect(run["results"][1], "verdict", "undeliverable")
    case.done()

    batch_case(checker, binary, dns_port, port, ca_file, domain, ip, other,
               tls_resumes)


def batch_case(checker, binary, dns_port, port, ca_file, domain, ip,
               other, tls_resumes):
    """--batch on one real server: alice and 20 unknown users of DOMAIN,
    and OTHER, (address, verdict) pairs of another domain with the same
    MX.  The error budget (8 refusals) keeps every connection under the
    server's error limits, so no reply is slowed, also with the
    recipients sent in groups (PIPELINING); the other domain rides a
    connection of DOMAIN in a transaction of its own."""
    entries = [("alice@" + domain, "deliverable")]
    entries += [("nobody%02d@%s" % (n, domain), "undeliverable")
                for n in range(1, 21)]
    entries += list(other)
    run = run_probe(binary, dns_port, port, ca_file, ["--batch", "-"],
                    stdin_text="".join(a + "\n" for a, _v in entries))
    case = probe_case(checker, "--batch: %d addresses of %s and %s on one "
                      "server, grouped, under its error limits"
                      % (len(entries), domain, other[0][0].split("@")[1]),
                      run, 1, count=len(entries))
    by_address = {r.get("address"): r for r in run["results"]}
    slowest = 0.0
    first_of = {}
    for address, verdict in entries:
        result = by_address.get(address)
        case.check(result is not None, "no result for %s" % address)
        if result is None:
            continue
        case.check(result.get("verdict") == verdict, "%s: verdict %s, "
                   "expected %s" % (address, result.get("verdict"),
                                    verdict))
        case.expect(result, "server.ip", ip)
        case.expect(result, "tls.verified", True)
        for stage in result.get("stages", []):
            if stage.get("name") in ("mail", "rcpt"):
                for reply in stage.get("replies", []):
                    slowest = max(slowest, reply.get("elapsed_ms") or 0)
        shared = [f for f in result.get("findings", [])
                  if f.get("id") == "batch.shared_connection"]
        first_of[address] = shared[0]["evidence"] if shared else address
    case.check(slowest < 500, "a MAIL or RCPT reply took %.0f ms (the "
               "server's error delay?)" % slowest)
    mixed = [first for first in set(first_of.values())
             if {a.split("@")[1] for a, f in first_of.items()
                 if f == first} == {domain, other[0][0].split("@")[1]}]
    case.check(mixed, "no connection carried both domains")
    match = re.search(r"([0-9]+) SMTP connection", run["stderr"])
    conns = int(match.group(1)) if match else -1
    case.check(3 <= conns <= 5, "%d SMTP connections for 20 refusals "
               "with an error budget of 8 (expected 3 to 5)" % conns)
    case.check("recipients sent in groups (PIPELINING" in run["stderr"],
               "the recipients were not sent in groups (the server offers "
               "PIPELINING)")
    if tls_resumes:
        case.check(any((r.get("tls") or {}).get("resumed")
                       for r in run["results"]),
                   "no connection resumed the TLS session of another")
    case.done()


def make_certs(workdir, names):
    """CA and one certificate per server name, made with the harness."""
    certdir = os.path.join(workdir, "certs-" + names[0])
    os.makedirs(certdir)
    ca_file, leaves = fakesmtp.make_certificates(
        certdir, [(name, "valid") for name in names])
    os.chmod(certdir, 0o755)
    return ca_file, leaves


def raw_session(ip, port, commands, timeout=10):
    """Talk plain SMTP (no TLS) and return every line received."""
    received = []
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        stream = sock.makefile("rwb")

        def read_reply():
            while True:
                line = stream.readline()
                if not line:
                    return
                received.append(line.decode("utf-8", "replace").rstrip())
                if len(line) < 4 or line[3:4] != b"-":
                    return
        read_reply()
        for command in commands:
            stream.write(command.encode("ascii") + b"\r\n")
            stream.flush()
            read_reply()
    return received


def control_data_session(ip, port, rcpt):
    """A session that does send DATA (then drops before any message text).

    Shows that the log check below would notice DATA; nothing is queued
    because the connection closes before the end-of-data dot.
    """
    return raw_session(ip, port, ["EHLO control.test.invalid",
                                  "MAIL FROM:<control@test.invalid>",
                                  "RCPT TO:<%s>" % rcpt, "DATA"])


# --------------------------------------------------------------------------
# Postfix


POSTFIX_MAIN_CF = """\
# Throw-away Postfix for smtpprobe's integration test: nothing outside
# {d} is written, nothing is ever delivered.
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
# master.cf names the listening address; this only keeps the default off
# the wildcard address.
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = {ip}/32
relay_domains =
virtual_mailbox_domains = example.test shared.test
virtual_mailbox_maps = texthash:{d}/conf/virtual_mailbox
virtual_transport = discard:
alias_maps =
alias_database =
smtpd_banner = $myhostname ESMTP Postfix
smtpd_helo_required = yes
smtpd_relay_restrictions =
smtpd_recipient_restrictions =
    reject_non_fqdn_helo_hostname,
    reject_invalid_helo_hostname,
    check_recipient_access texthash:{d}/conf/recipient_access,
    reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_loglevel = 1
# No lookups of the client's name, no DNS at all.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
maillog_file = {d}/log/postfix.log
maillog_file_prefixes = {d}/log
# Log every command a loopback client sends ("< client: COMMAND").
debug_peer_list = 127.0.0.0/8
debug_peer_level = 1
biff = no
"""

POSTFIX_MASTER_CF = """\
{ip}:{port} inet n - n - - smtpd
# A submission service: AUTH offered, mail only from users who log in.
{ip}:{subport} inet n - n - - smtpd
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
{ip}:{implicit_port} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
discard   unix - - n - - discard
error     unix - - n - - error
retry     unix - - n - - error
showq     unix n - n - - showq
"""


class Postfix:
    def __init__(self, workdir, port, subport, cert, key,
                 implicit_port=None):
        """SUBPORT: the submission service; IMPLICIT_PORT: a second listener
        with implicit TLS (RFC 8314, smtpd_tls_wrappermode), on a free port
        when not given."""
        self.dir = os.path.join(workdir, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        self.log = os.path.join(self.dir, "log", "postfix.log")
        self.port = port
        self.started = False
        os.makedirs(self.conf)
        os.makedirs(os.path.join(self.dir, "log"))
        os.makedirs(os.path.join(self.dir, "queue"), mode=0o755)
        os.makedirs(os.path.join(self.dir, "data"), mode=0o700)
        owner = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), owner.pw_uid, owner.pw_gid)
        for sub in ("", "queue"):
            os.chmod(os.path.join(self.dir, sub), 0o755)
        self.implicit_port = implicit_port or free_port(POSTFIX_IP)
        values = {"d": self.dir, "ip": POSTFIX_IP, "port": port,
                  "subport": subport,
                  "implicit_port": self.implicit_port, "cert": cert,
                  "key": key}
        with open(os.path.join(self.conf, "main.cf"), "w") as handle:
            handle.write(POSTFIX_MAIN_CF.format(**values))
        with open(os.path.join(self.conf, "master.cf"), "w") as handle:
            handle.write(POSTFIX_MASTER_CF.format(**values))
        with open(os.path.join(self.conf, "virtual_mailbox"), "w") as handle:
            handle.write("alice@example.test  example.test/alice/\n"
                         "bob@shared.test  shared.test/bob/\n")
        with open(os.path.join(self.conf, "recipient_access"), "w") as handle:
            handle.write("blocked@example.test  REJECT 5.2.1 Mailbox "
                         "disabled for this recipient\n"
                         "moved@example.test  551 5.1.6 User has moved; "
                         "please try <alice@elsewhere.test>\n")

    def _postfix(self, *args):
        return subprocess.run(["postfix", "-c", self.conf] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)

    def start(self):
        proc = self._postfix("start")
        self.started = True
        deadline = time.monotonic() + START_WAIT
        if proc.returncode != 0 or not wait_for_listener(
                POSTFIX_IP, self.port, deadline) or not wait_for_listener(
                POSTFIX_IP, self.implicit_port, deadline):
            raise RuntimeError("Postfix did not start (status %d):\n%s%s\n"
                               "log:\n%s" % (proc.returncode, proc.stdout,
                                             proc.stderr,
                                             read_text(self.log)))

    def stop(self):
        if not self.started:
            return
        self._postfix("stop")
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                pid = int(read_text(pidfile).split()[0])
                os.kill(pid, 0)
            except (ValueError, IndexError, OSError):
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def queued_files(self):
        found = []
        for sub in ("maildrop", "incoming", "active", "deferred", "hold",
                    "corrupt"):
            for root, _dirs, files in os.walk(
                    os.path.join(self.dir, "queue", sub)):
                found += [os.path.join(root, name) for name in files]
        return found


def access_map_case(checker, binary, dns_port, port, ca_file, rcpt, code,
                    enhanced, category, blame, extra=None):
    """An address the check_recipient_access map refuses: undeliverable,
    with the reason and the stage's category the reply calls for."""
    run = run_probe(binary, dns_port, port, ca_file, [rcpt])
    case = probe_case(checker, "%s: %d %s from check_recipient_access"
                      % (rcpt, code, enhanced), run, 1)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "undeliverable")
        case.expect(result, "reason", category)
        rcpt_rejection(case, result, code, enhanced, category, blame)
        if extra is not None:
            extra(case, result)
    case.done()


def postfix_answers_cases(checker, binary, dns_port, port, subport,
                          ca_file):
    """The access map's refusals (a disabled mailbox, a moved user with
    551 5.1.6) and the submission port without AUTH."""
    def names_new(value):
        """names alice@elsewhere.test"""
        return "alice@elsewhere.test" in value

    def quotes_new_address(case, result):
        case.expect(result, "summary", names_new)
        case.expect(result, "stages.rcpt.explanation.meaning", names_new)

    access_map_case(checker, binary, dns_port, port, ca_file,
                    "blocked@example.test", 554, "5.2.1", "mailbox_disabled",
                    "recipient_mailbox")
    access_map_case(checker, binary, dns_port, port, ca_file,
                    "moved@example.test", 551, "5.1.6", "mailbox_moved",
                    "recipient_address", quotes_new_address)

    run = run_probe(binary, dns_port, port, ca_file,
                    ["--server", "mx.example.test:%d" % subport,
                     "alice@example.test"])
    case = probe_case(checker, "alice@example.test on the submission port "
                      "%d without AUTH: log in first, not undeliverable"
                      % subport, run, 2)
    for result in run["results"][:1]:
        case.expect(result, "verdict", "unknown")
        case.expect(result, "reason", "auth_required")
        case.expect(result, "ehlo.auth", lambda v: bool(v))
        case.expect(result, "stages.rcpt.status", "fail")
        case.expect(result, "stages.rcpt.replies.0.code", 554)
        case.expect(result, "stages.rcpt.explanation.category",
                    "auth_required")
        case.expect(result, "stages.rcpt.explanation.blame",
                    "client_auth_tls")

        def suggests_auth(value):
            """mentions --auth-user"""
            return "--auth-user" in value
        case.expect(result, "stages.rcpt.explanation.action", suggests_auth)
    case.done()


def postfix_log_commands(log_text):
    """The commands loopback clients sent, from the debug_peer log."""
    commands = []
    for line in log_text.splitlines():
        marker = line.find("]: < ")
        if marker < 0 or "postfix/smtpd[" not in line:
            continue
        rest = line[marker + 5:]
        colon = rest.find(": ")
        if colon >= 0:
            commands.append(rest[colon + 2:])
    return commands


def is_data_command(command):
    word = command.strip().split(" ", 1)[0].upper() if command.strip() else ""
    return word in ("DATA", "BDAT")


def run_postfix(binary, workdir, dns_port, verbose):
    if not shutil.which("postfix") or not os.path.exists(
            "/usr/lib/postfix/sbin/master"):
        raise Skip("Postfix is not installed (Debian package postfix; "
                   "scripts/deps installs it)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        raise Skip("the user postfix does not exist (install the postfix "
                   "package)") from None
    checker = Checker("postfix", verbose)
    port = free_port(POSTFIX_IP)
    # The submission service on 587 where it is free (RFC 6409 §3.1).
    subport = port_or_free(POSTFIX_IP, 587)
    ca_file, leaves = make_certs(workdir, ["mx.example.test"])
    server = Postfix(workdir, port, subport, *leaves["mx.example.test"])
    print("postfix: %s, listening on %s:%d, config %s"
          % (subprocess.run(["postconf", "-c", server.conf, "-h",
                             "mail_version"], capture_output=True,
                            text=True).stdout.strip() or "?",
             POSTFIX_IP, port, server.conf))
    sys.stdout.flush()
    try:
        server.start()
        common_cases(checker, binary, dns_port, port, ca_file,
                     "example.test", "mx.example.test", POSTFIX_IP,
                     unknown_code=550, unknown_enhanced="5.1.1",
                     relay_code=554, relay_enhanced="5.7.1",
                     helo_code=504, helo_enhanced="5.5.2",
                     other=[("bob@shared.test", "deliverable"),
                            ("nobody@shared.test", "undeliverable")],
                     tls_resumes=True)

        # Implicit TLS (RFC 8314) on Postfix's wrapper-mode listener:
        # the handshake first, the greeting inside TLS, no STARTTLS.
        run = run_probe(binary, dns_port, server.implicit_port, ca_file,
                        ["--tls", "implicit", "--server", "%s:%d" % (
                            "mx.example.test", server.implicit_port),
                         "alice@example.test"])
        case = probe_case(checker, "alice@example.test over implicit TLS "
                          "(smtpd_tls_wrappermode)", run, 0)
        for result in run["results"][:1]:
            case.expect(result, "verdict", "deliverable")
            case.expect(result, "tls.implicit", True)
            case.expect(result, "tls.verified", True)
            case.expect(result, "tls.name_match", True)
            case.expect(result, "stages.starttls.status", "skipped")
            case.expect(result, "stages.greeting.replies.0.code", 220)
            case.expect(result, "ehlo.starttls", False)
        case.done()

        postfix_answers_cases(checker, binary, dns_port, port, subport,
                              ca_file)

        # What Postfix itself saw.
        time.sleep(0.5)
        log_text = read_text(server.log)
        commands = postfix_log_commands(log_text)
        case = checker.case("Postfix log: commands seen, never DATA or "
                            "BDAT, nothing queued")
        case.check(len(commands) > 0, "no client command in the log "
                   "(debug_peer_list not working?)")
        for rcpt in ("alice@example.test", "nobody@example.test",
                     "someone@elsewhere.test", "blocked@example.test",
                     "moved@example.test"):
            case.check(any(c.upper().startswith("RCPT TO:<%s>" % rcpt.upper())
                           for c in commands),
                       "Postfix never saw RCPT TO:<%s>" % rcpt)
        case.check(any(c.upper() == "STARTTLS" for c in commands),
                   "Postfix never saw STARTTLS")
        data = [c for c in commands if is_data_command(c)]
        case.check(not data, "Postfix received %r" % data[:3])
        for pattern, what in (("Relay access denied", "relay rejection"),
                              ("User unknown in virtual mailbox table",
                               "unknown-user rejection"),
                              ("Helo command rejected", "HELO rejection")):
            case.check("NOQUEUE: reject: RCPT" in log_text and
                       pattern in log_text, "no %s in the log" % what)
        for pattern in ("message-id=", ": from=<", "status=sent"):
            case.check(pattern not in log_text,
                       "the log shows a message (%r)" % pattern)
        case.check(not server.queued_files(), "queue files: %r"
                   % server.queued_files()[:5])
        case.check(" fatal: " not in log_text and " panic: " not in log_text,
                   "Postfix logged a fatal error")
        case.check("too many errors" not in log_text,
                   "Postfix hung up on too many errors")
        case.context = "        log: %s" % server.log
        case.done()

        # Control: a client that does send DATA is seen by the check above.
        control_data_session(POSTFIX_IP, port, "alice@example.test")
        time.sleep(0.3)
        commands = postfix_log_commands(read_text(server.log))
        case = checker.case("control: the log check notices a DATA")
        case.check(any(is_data_command(c) for c in commands),
                   "a DATA sent on purpose does not show in the log")
        case.done()
    finally:
        server.stop()
    return checker.report()


# --------------------------------------------------------------------------
# Exim


EXIM_CONF = """\
# Throw-away Exim for smtpprobe's integration test: nothing outside {d} is
# written, nothing is ever delivered.
primary_hostname = mx2.exim.test
domainlist local_domains = exim.test : catchall.test
local_interfaces = <; {ip}
exim_user = {user}
exim_group = {group}
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
keep_environment =
# No reverse lookups, no ident, no DNS.
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
tls_advertise_hosts = *
tls_certificate = {cert}
tls_privatekey = {key}
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_predata = acl_check_predata
acl_smtp_data = acl_check_data
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number
log_selector = +smtp_connection +incoming_interface +tls_peerdn

begin acl

acl_check_rcpt:
  deny    condition = ${{if eq{{$sender_helo_name}}{{localhost}}}}
          message   = HELO/EHLO name localhost is not acceptable
  require message   = relay not permitted
          domains   = +local_domains
  require verify    = recipient
  accept

# Runs for DATA and for the first BDAT.
acl_check_predata:
  deny    logwrite  = SMTPPROBE-TEST: DATA or BDAT received
          message   = no message data accepted here

acl_check_data:
  deny    message   = no message data accepted here

begin routers

known_user:
  driver = accept
  domains = exim.test
  local_parts = alice
  transport = discard_transport

# Any local part at catchall.test, and no percent_hack_domains: a local
# part with %, ! or quotes is just a local part here.
catch_all:
  driver = accept
  domains = catchall.test
  transport = discard_transport

begin transports

discard_transport:
  driver = appendfile
  file = /dev/null
"""


def find_nss_wrapper():
    for path in sorted(glob.glob("/usr/lib/*/libnss_wrapper.so")) + \
            sorted(glob.glob("/usr/lib/libnss_wrapper.so")):
        return path
    return None


class Exim:
    def __init__(self, workdir, binary, port, cert, key):
        self.binary = binary
        self.dir = os.path.join(workdir, "exim")
        self.port = port
        self.proc = None
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.env = dict(os.environ)
        try:
            user = pwd.getpwnam("Debian-exim")
            uid, gid, name = user.pw_uid, user.pw_gid, "Debian-exim"
        except KeyError:
            # The binary looks the user Debian-exim up before it reads its
            # configuration; nss_wrapper maps it to nobody.
            wrapper = find_nss_wrapper()
            if wrapper is None:
                raise Skip("the user Debian-exim does not exist and "
                           "libnss-wrapper is not installed") from None
            nobody = pwd.getpwnam("nobody")
            uid, gid, name = nobody.pw_uid, nobody.pw_gid, "Debian-exim"
            passwd = os.path.join(self.dir, "passwd")
            group = os.path.join(self.dir, "group")
            with open("/etc/passwd") as src, open(passwd, "w") as dst:
                dst.write(src.read())
                dst.write("Debian-exim:x:%d:%d:Exim:/nonexistent:"
                          "/usr/sbin/nologin\n" % (uid, gid))
            with open("/etc/group") as src, open(group, "w") as dst:
                dst.write(src.read())
                dst.write("Debian-exim:x:%d:\n" % gid)
            self.env.update({"LD_PRELOAD": wrapper,
                             "NSS_WRAPPER_PASSWD": passwd,
                             "NSS_WRAPPER_GROUP": group})
        for sub in ("spool", "log"):
            os.makedirs(os.path.join(self.dir, sub))
            os.chown(os.path.join(self.dir, sub), uid, gid)
        # The receiving process reads the key after giving up root.
        os.chown(key, uid, gid)
        self.log = os.path.join(self.dir, "log", "mainlog")
        self.conf = os.path.join(self.dir, "exim.conf")
        with open(self.conf, "w") as handle:
            handle.write(EXIM_CONF.format(d=self.dir, ip=EXIM_IP, user=name,
                                          group=name, cert=cert, key=key))

    def version(self):
        proc = subprocess.run([self.binary, "-C", self.conf, "-bV"],
                              env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30)
        first = (proc.stdout or proc.stderr).splitlines()
        return first[0] if first else "?"

    def start(self):
        # -bdf: daemon in the foreground, so that we own the process.
        self.proc = subprocess.Popen(
            [self.binary, "-C", self.conf, "-bdf", "-oX", str(self.port)],
            env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_WAIT
        if not wait_for_listener(EXIM_IP, self.port, deadline) or \
                self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("Exim did not start:\n%s\nlog:\n%s"
                               % (self.output, read_text(self.log)))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output = self.proc.stdout.read().decode("utf-8", "replace")
        self.proc.stdout.close()
        self.proc = None

    output = ""

    def queued_files(self):
        found = []
        for sub in ("input", "msglog"):
            for root, _dirs, files in os.walk(
                    os.path.join(self.dir, "spool", sub)):
                found += [os.path.join(root, name) for name in files]
        return found


def exim_relay_cases(checker, binary, dns_port, port, ca_file):
    """The relay test against a catch-all domain, and with --server alone."""
    run = run_probe(binary, dns_port, port, ca_file,
                    ["--relay-test", "catchall.test"])
    case = probe_case(checker, "--relay-test catchall.test: the domain takes "
                      "any local part; the forms at it prove nothing, the "
                      "outside recipient is refused", run, 2)
    # relay_test lists the forms in order: plain, percent_hack, bang_path,
    # quoted, source_route.
    for result in run["results"][:1]:
        case.expect(result, "open_relay", None)
        case.expect(result, "server_domain", "catchall.test")
        case.expect(result, "relay_test.0.status", "refused")
        case.expect(result, "relay_test.4.status", "refused")
        for form in (1, 2, 3):
            case.expect(result, "relay_test.%d.status" % form, "unknown")
            case.expect(result, "relay_test.%d.reply.code" % form, 250)

            def any_local_part(value):
                """says the domain accepts any local part"""
                return "accepts any local part" in (value or "")
            case.expect(result, "relay_test.%d.note" % form, any_local_part)
        case.check(not any(f.get("id") == "relay.open"
                           for f in result.get("findings", [])),
                   "relay.open reported for a catch-all domain")
    case.done()

    run = run_probe(binary, dns_port, port, ca_file,
                    ["--relay-test", "--server", EXIM_IP])
    case = probe_case(checker, "--relay-test --server %s: the forms are built "
                      "at the name in the greeting, not at a domain literal "
                      "Exim refuses; no open relay" % EXIM_IP, run, 0)
    for result in run["results"][:1]:
        case.expect(result, "open_relay", False)
        case.expect(result, "server_domain", "mx2.exim.test")
        case.expect(result, "relay_test.1.rcpt",
                    "relay-test%example.net@mx2.exim.test")
    case.done()


def exim_binary():
    candidates = []
    if os.environ.get("SMTPPROBE_EXIM"):
        candidates.append(os.environ["SMTPPROBE_EXIM"])
    root = os.environ.get("SMTPPROBE_EXIM_ROOT", DEFAULT_EXIM_ROOT)
    candidates += [os.path.join(root, "usr", "sbin", "exim4"),
                   "/usr/sbin/exim4"]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise Skip("no Exim binary (looked at %s); scripts/deps unpacks "
               "exim4-daemon-light there" % ", ".join(candidates))


def run_exim(binary, workdir, dns_port, verbose):
    exim = exim_binary()
    checker = Checker("exim", verbose)
    port = free_port(EXIM_IP)
    ca_file, leaves = make_certs(workdir, ["mx2.exim.test"])
    server = Exim(workdir, exim, port, *leaves["mx2.exim.test"])
    print("exim: %s (%s), listening on %s:%d, config %s"
          % (server.version(), exim, EXIM_IP, port, server.conf))
    sys.stdout.flush()
    try:
        server.start()
        common_cases(checker, binary, dns_port, port, ca_file,
                     "exim.test", "mx2.exim.test", EXIM_IP,
                     unknown_code=550, unknown_enhanced=None,
                     relay_code=550, relay_enhanced=None,
                     helo_code=550, helo_enhanced=None,
                     other=[("anyone@catchall.test", "deliverable"),
                            ("someone@catchall.test", "deliverable")],
                     tls_resumes=False)
        exim_relay_cases(checker, binary, dns_port, port, ca_file)
        time.sleep(0.5)
        log_text = read_text(server.log)
        case = checker.case("Exim log: never DATA or BDAT, nothing queued")
        case.check("rejected RCPT <nobody@exim.test>" in log_text,
                   "the unknown-user rejection is not in the log")
        case.check("relay not permitted" in log_text,
                   "the relay rejection is not in the log")
        case.check("SMTPPROBE-TEST: DATA" not in log_text,
                   "Exim received DATA or BDAT")
        case.check(" <= " not in log_text, "Exim logged a message arrival")
        case.check(not server.queued_files(), "spool files: %r"
                   % server.queued_files()[:5])
        panic = read_text(os.path.join(server.dir, "log", "paniclog"))
        case.check(not panic.strip(), "Exim paniclog: %s" % panic[:500])
        case.context = "        log: %s" % server.log
        case.done()

        control_data_session(EXIM_IP, port, "alice@exim.test")
        time.sleep(0.3)
        case = checker.case("control: the log check notices a DATA")
        case.check("SMTPPROBE-TEST: DATA" in read_text(server.log),
                   "a DATA sent on purpose does not show in the log")
        case.done()
    finally:
        server.stop()
    return checker.report()


# --------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mta", choices=("postfix", "exim", "all"),
                        default="all")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the command line and output of every "
                        "probe run, not only of failing ones")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (configurations "
                        "and server logs)")
    opts = parser.parse_args()
    binary = os.path.abspath(opts.binary)

    if os.geteuid() != 0:
        print("SKIPPED: the integration tests start Postfix and Exim, which "
              "needs root (CI runs ./scripts/test as root)")
        return SKIP
    if not shutil.which("openssl"):
        print("SKIPPED: the openssl command is missing")
        return SKIP
    if not os.access(binary, os.X_OK):
        print("FAILED: no smtpprobe binary at %s" % binary)
        return 1

    mtas = ["postfix", "exim"] if opts.mta == "all" else [opts.mta]
    runners = {"postfix": run_postfix, "exim": run_exim}
    workdir = tempfile.mkdtemp(prefix="smtpprobe-integration-")
    os.chmod(workdir, 0o755)
    dns = fakedns.FakeDNS(ZONE).start()
    outcome = {}
    started = time.monotonic()
    try:
        for mta in mtas:
            try:
                outcome[mta] = runners[mta](binary, workdir, dns.port,
                                            opts.verbose)
            except Skip as exc:
                print("%s: SKIPPED: %s" % (mta, exc))
                outcome[mta] = None
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print("%s: FAILED: %s" % (mta, exc))
                outcome[mta] = False
    finally:
        dns.stop()
        if opts.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if opts.verbose or False in outcome.values():
        print("DNS queries: %s" % ", ".join("%s %s" % (t, n) for _tr, t, n
                                            in dns.queries))
    print("%.1f s" % (time.monotonic() - started))
    if False in outcome.values():
        return 1
    if all(value is None for value in outcome.values()):
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
