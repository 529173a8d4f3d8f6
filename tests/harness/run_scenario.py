#!/usr/bin/env python3
"""Run smtpprobe scenario files against scripted loopback servers.

Usage::

    run_scenario.py --binary PATH/smtpprobe CASE.toml [CASE.toml ...]

For each case the runner starts a DNS responder (fakedns) on
127.0.0.1:<free port> and the case's SMTP servers (fakesmtp), each on its
own 127.0.0.x address and all on one shared free port, runs::

    smtpprobe --json --dns-server 127.0.0.1:<dnsport> --port <smtpport>
              --helo probe.test.invalid --from probe@test.invalid
              [--ca-file <ca.pem>] <args of the case>

under a wall-clock limit (with a ``[socks]`` table, a scripted SOCKS 5
proxy, fakesocks, runs on 127.0.0.1 too; ``{socks}`` in the arguments is
its address), and compares the exit status, the JSON report
(one object per line) and what the servers received with the case's
``[expect]`` table.  Whatever the expectations, a case fails if any server
received DATA or BDAT, or any line after it had sent a 3yz reply (354, or
anything but 334 during AUTH), if the probe died of a signal or printed a
sanitizer report, if a harness server hit an internal error, or if a JSON
object it printed does not match its JSON Schema in docs/schema/ (the kind
of document follows from the arguments: explain, --helo-test,
--relay-test, --batch, else a probe report; ``--no-schema`` turns this
off).

A case with ``requires_ipv6 = true`` is skipped, not failed, when this
host has no usable IPv6 loopback (::1); a server on ::1 needs that key.

Exit status 0 when no case failed, 1 otherwise, and 77 when every case was
skipped (ctest's SKIP_RETURN_CODE); the last line printed is ``N passed, M
failed``, with ``, K skipped`` appended when cases were skipped.

Failure details (expected versus actual, the
probe's stdout and stderr, what each server received, the DNS queries) go
to stderr.  The file format is documented in docs/TESTING.md.
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakedns  # noqa: E402  (path set up above)
import fakehttps  # noqa: E402
import fakesmtp  # noqa: E402
import fakesocks  # noqa: E402
import schemacheck  # noqa: E402

DEFAULT_WALL_TIMEOUT = 60.0
HELO_NAME = "probe.test.invalid"
MAIL_FROM = "probe@test.invalid"
SERVER_SETTLE_SECONDS = 3.0   # time for servers to finish after the probe

TOP_KEYS = {"description", "args", "no_default_args", "no_json",
            "wall_timeout", "dns", "servers", "expect", "env",
            "requires_ipv6", "input_files", "stdin", "https", "socks"}
RESULT_KEYS = {"verdict", "reason", "stages", "findings", "absent_findings",
               "attempts", "json", "transcript_contains"}
EXPECT_KEYS = RESULT_KEYS | {
    "exit", "results", "result_count", "server_received",
    "server_not_received", "connections", "stdout_contains",
    "stdout_not_contains", "stderr_contains", "stderr_not_contains",
    "dns_queried", "dns_not_queried", "dns_query_count", "max_concurrent",
    "transactions", "slowed_replies", "pipelined",
    "results_sort", "secrets", "auth_responses_secret", "https_requested",
    "https_not_requested", "proxy_received", "proxy_not_received",
    "proxy_connections"}
OPERATORS = {"eq", "ne", "contains", "regex", "exists", "null", "len", "ge",
             "le", "gt", "lt", "in"}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer")
MISSING = object()
SKIP_EXIT = 77
# Set to make the runner believe ::1 is not usable (tests of the skip).
NO_IPV6_ENV = "SMTPPROBE_TEST_NO_IPV6"
# The probe's test-only variable: the port of the MTA-STS policy fetch.
MTA_STS_PORT_ENV = "SMTPPROBE_MTA_STS_PORT"
# {cert_sha256:NAME} and the like in the zone, the arguments and the
# expectations: facts of NAME's certificate ("ca" for the test CA).
FINGERPRINT_RE = re.compile(r"\{(cert_sha256|spki_sha256|tlsa_cert|"
                            r"tlsa_spki):([\w.-]+)\}")


class CaseError(Exception):
    """The case file itself is wrong (unknown key, bad value)."""


_IPV6_STATE = {}


def ipv6_loopback_usable():
    """(True, "") when a TCP connection over ::1 works here, else (False, why).

    Containers often run without IPv6, or with it disabled on lo; the
    check binds a listener on ::1 and connects to it, nothing more.
    """
    if os.environ.get(NO_IPV6_ENV):
        return False, "%s is set" % NO_IPV6_ENV
    if "result" not in _IPV6_STATE:
        import socket
        listener = client = None
        try:
            listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            listener.bind(("::1", 0))
            listener.listen(1)
            client = socket.create_connection(listener.getsockname()[:2],
                                              timeout=2)
            _IPV6_STATE["result"] = (True, "")
        except OSError as exc:
            _IPV6_STATE["result"] = (False, "no IPv6 loopback (::1): %s"
                                     % exc)
        finally:
            for sock in (client, listener):
                if sock is not None:
                    sock.close()
    return _IPV6_STATE["result"]


# -- matching helpers ------------------------------------------------------

def text_matches(pattern, text):
    """A plain pattern is a substring; "re:..." is a regex (MULTILINE)."""
    if pattern.startswith("re:"):
        return re.search(pattern[3:], text, re.MULTILINE) is not None
    return pattern in text


def values_equal(expected, actual):
    """Equality that does not confuse booleans with numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return expected == actual


def is_operator_table(value):
    return isinstance(value, dict) and value and set(value) <= OPERATORS


def flatten_json_checks(table, prefix=""):
    """Turn nested TOML tables into dotted paths (operators stay whole)."""
    out = {}
    for key, value in table.items():
        path = prefix + key
        if isinstance(value, dict) and not is_operator_table(value):
            out.update(flatten_json_checks(value, path + "."))
        else:
            out[path] = value
    return out


def resolve_path(obj, segments):
    """Follow dotted-path SEGMENTS in OBJ; MISSING when absent.

    In a list, an integer selects by index; any other segment selects the
    element whose "name", "id", "kind" or "variant" equals it (ids contain
    dots, so longer joins of the following segments are tried too).  In a
    dict, a key with dots is found the same way.
    """
    if not segments:
        return obj
    if isinstance(obj, list):
        head = segments[0]
        if re.fullmatch(r"-?\d+", head):
            index = int(head)
            if -len(obj) <= index < len(obj):
                return resolve_path(obj[index], segments[1:])
            return MISSING
        for n in range(len(segments), 0, -1):
            key = ".".join(segments[:n])
            for item in obj:
                if isinstance(item, dict) and key in (item.get("name"),
                                                      item.get("id"),
                                                      item.get("kind"),
                                                      item.get("variant")):
                    found = resolve_path(item, segments[n:])
                    if found is not MISSING:
                        return found
        return MISSING
    if isinstance(obj, dict):
        for n in range(len(segments), 0, -1):
            key = ".".join(segments[:n])
            if key in obj:
                found = resolve_path(obj[key], segments[n:])
                if found is not MISSING:
                    return found
        return MISSING
    return MISSING


def check_value(expected, actual):
    """Compare one JSON value with an expectation; return None or why not."""
    if not is_operator_table(expected):
        if actual is MISSING:
            return "missing"
        return None if values_equal(expected, actual) else "differs"
    for op, want in expected.items():
        if op == "exists":
            if (actual is not MISSING) != bool(want):
                return "exists is %s" % (actual is not MISSING)
            continue
        if actual is MISSING:
            return "missing"
        if op == "null":
            if (actual is None) != bool(want):
                return "null is %s" % (actual is None)
        elif op == "eq":
            if not values_equal(want, actual):
                return "differs"
        elif op == "ne":
            if values_equal(want, actual):
                return "equal"
        elif op == "contains":
            if isinstance(actual, str):
                ok = want in actual
            elif isinstance(actual, list):
                ok = any(values_equal(want, item) or
                         (isinstance(item, str) and isinstance(want, str)
                          and want in item) for item in actual)
            else:
                ok = False
            if not ok:
                return "does not contain %r" % (want,)
        elif op == "regex":
            if not isinstance(actual, str) or not re.search(want, actual):
                return "does not match /%s/" % want
        elif op == "len":
            if not hasattr(actual, "__len__"):
                return "has no length"
            if is_operator_table(want):
                why = check_value(want, len(actual))
                if why:
                    return "length %d: %s" % (len(actual), why)
            elif len(actual) != want:
                return "length differs"
        elif op == "in":
            if not any(values_equal(item, actual) for item in want):
                return "not one of %r" % (want,)
        elif op in ("ge", "le", "gt", "lt"):
            if not isinstance(actual, (int, float)) or \
                    isinstance(actual, bool):
                return "not a number"
            ok = {"ge": actual >= want, "le": actual <= want,
                  "gt": actual > want, "lt": actual < want}[op]
            if not ok:
                return "not %s %r" % (op, want)
    return None


def short(value, limit=400):
    """A compact JSON rendering for diagnostics."""
    if value is MISSING:
        return "<missing>"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def file_bytes(content, what):
    """The bytes of an input_files entry or of stdin.

    A string is encoded as UTF-8 (TOML escapes give control bytes:
    "\\u0000" is a NUL); {hex = "..."} gives any bytes; {text = "...",
    repeat = N} repeats a text N times (a long list in a few lines).
    """
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, dict) and set(content) == {"hex"}:
        try:
            return bytes.fromhex(content["hex"])
        except (TypeError, ValueError):
            raise CaseError("%s: hex is not hexadecimal" % what)
    if isinstance(content, dict) and set(content) == {"text", "repeat"} \
            and isinstance(content["text"], str) \
            and isinstance(content["repeat"], int) \
            and 0 <= content["repeat"] <= 1000000:
        return content["text"].encode("utf-8") * content["repeat"]
    raise CaseError("%s: a string, {hex = ...} or {text = ..., repeat = N}"
                    % what)


def colon_hex(hexstr):
    """"ab12..." as "AB:12:...", the way openssl x509 -fingerprint
    prints a digest."""
    return ":".join(hexstr[i:i + 2] for i in range(0, len(hexstr),
                                                   2)).upper()


def expand_fingerprints(obj, prints):
    """OBJ (strings, lists, tables) with the fingerprint placeholders
    replaced; PRINTS maps a name to fakesmtp.fingerprints()."""
    if isinstance(obj, str):
        def one(match):
            kind, name = match.groups()
            if name not in prints:
                raise CaseError("%s: no certificate named %r"
                                % (match.group(0), name))
            fp = prints[name]
            return {"cert_sha256": colon_hex(fp["cert"]),
                    "spki_sha256": colon_hex(fp["spki"]),
                    "tlsa_cert": fp["cert"],
                    "tlsa_spki": fp["spki"]}[kind]
        return FINGERPRINT_RE.sub(one, obj)
    if isinstance(obj, list):
        return [expand_fingerprints(x, prints) for x in obj]
    if isinstance(obj, dict):
        return {expand_fingerprints(k, prints): expand_fingerprints(v,
                                                                    prints)
                for k, v in obj.items()}
    return obj


def expand_text(obj, key, value):
    """OBJ with KEY replaced by VALUE in every string, table key too."""
    if isinstance(obj, str):
        return obj.replace(key, value)
    if isinstance(obj, list):
        return [expand_text(x, key, value) for x in obj]
    if isinstance(obj, dict):
        return {expand_text(k, key, value): expand_text(v, key, value)
                for k, v in obj.items()}
    return obj


# -- a case ------------------------------------------------------------------

class Case:
    """One scenario: load, run, check, report."""

    def __init__(self, path, binary, verbose=False, schema=True):
        self.path = path
        self.binary = binary
        self.verbose = verbose
        self.schema = schema
        self.failures = []     # (what, expected, actual)
        self.command = []
        self.returncode = None
        self.stdout = ""
        self.stderr = ""
        self.results = []
        self.dns = None
        self.smtp = None
        self.https = None
        self.socks = None
        with open(path, "rb") as handle:
            self.data = tomllib.load(handle)
        self.validate()

    def fail(self, what, expected, actual):
        self.failures.append((what, expected, actual))

    def validate(self):
        unknown = set(self.data) - TOP_KEYS
        if unknown:
            raise CaseError("unknown top-level keys: %s" % sorted(unknown))
        expect = self.data.get("expect", {})
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise CaseError("unknown [expect] keys: %s" % sorted(unknown))
        for n, result in enumerate(expect.get("results", [])):
            unknown = set(result) - RESULT_KEYS
            if unknown:
                raise CaseError("unknown keys in expect.results[%d]: %s"
                                % (n, sorted(unknown)))
        if not isinstance(self.data.get("requires_ipv6", False), bool):
            raise CaseError("requires_ipv6 must be true or false")
        for server in self.data.get("servers", []):
            if isinstance(server, dict) and ":" in str(server.get("ip", "")) \
                    and not self.data.get("requires_ipv6", False):
                raise CaseError("a server on %s needs requires_ipv6 = true"
                                % server["ip"])
        args = self.data.get("args", [])
        if not isinstance(args, list) or \
                not all(isinstance(a, str) for a in args):
            raise CaseError("args must be a list of strings")
        files = self.data.get("input_files", {})
        if not isinstance(files, dict):
            raise CaseError("input_files must be a table name -> content")
        for name, content in files.items():
            if not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
                raise CaseError("input_files: %r is not a plain file name"
                                % name)
            file_bytes(content, "input_files.%s" % name)
        if "stdin" in self.data:
            file_bytes(self.data["stdin"], "stdin")

    def skip_reason(self):
        """Why this case cannot run on this host, or None."""
        if self.data.get("requires_ipv6", False):
            usable, why = ipv6_loopback_usable()
            if not usable:
                return why
        return None

    # -- running -------------------------------------------------------------

    def build_command(self, ca_file, tmpdir):
        self.subst = subst = {"{port}": str(self.smtp.port),
                 "{socks}": "127.0.0.1:%d" % (self.socks.port if self.socks
                                              else 0),
                 "{dns}": "127.0.0.1:%d" % self.dns.port,
                 "{dns_port}": str(self.dns.port),
                 "{ca}": ca_file or "",
                 "{tmp}": tmpdir}

        def expand(arg):
            for key, value in subst.items():
                arg = arg.replace(key, value)
            return arg

        cmd = [self.binary]
        if not self.data.get("no_default_args", False):
            if not self.data.get("no_json", False):
                cmd.append("--json")
            cmd += ["--dns-server", subst["{dns}"], "--port", subst["{port}"],
                    "--helo", HELO_NAME, "--from", MAIL_FROM]
            if ca_file:
                cmd += ["--ca-file", ca_file]
        cmd += [expand(arg) for arg in self.data.get("args", [])]
        return cmd

    def run(self):
        with tempfile.TemporaryDirectory(prefix="smtpprobe-case-") as tmpdir:
            try:
                # Certificates first: the zone and the expectations may
                # name their fingerprints.
                self.https = fakehttps.FakeHTTPSGroup(
                    self.data.get("https", []))
                self.smtp = fakesmtp.FakeSMTPGroup(
                    self.data.get("servers", []), tmpdir,
                    extra_tls=self.https.tls_specs())
                if FINGERPRINT_RE.search(repr(self.data)):
                    self.data = expand_fingerprints(
                        self.data, fakesmtp.fingerprints(self.smtp))
                # "{port}" in the zone (TLSA owners, _PORT._tcp.HOST) and
                # in the expectations.
                for key in ("dns", "expect"):
                    if key in self.data:
                        self.data[key] = expand_text(self.data[key],
                                                     "{port}",
                                                     str(self.smtp.port))
                self.dns = fakedns.FakeDNS(self.data.get("dns",
                                                         {})).start()
                self.smtp.start()
                if self.https.sites:
                    self.https.start(self.smtp.leaves)
                if "socks" in self.data:
                    self.socks = fakesocks.FakeSOCKS(
                        self.data["socks"], self.data.get("dns", {}),
                        self.smtp.port).start()
                self.command = self.build_command(self.smtp.ca_file, tmpdir)
                for name, content in self.data.get("input_files",
                                                   {}).items():
                    with open(os.path.join(tmpdir, name), "wb") as handle:
                        handle.write(file_bytes(content, name))
                self.execute()
                self.smtp.wait_idle(SERVER_SETTLE_SECONDS)
            finally:
                if self.socks is not None:
                    self.socks.stop()
                if self.smtp is not None:
                    self.smtp.stop()
                if self.https is not None:
                    self.https.stop()
                if self.dns is not None:
                    self.dns.stop()
        self.check()
        return not self.failures

    def execute(self):
        limit = float(self.data.get("wall_timeout", DEFAULT_WALL_TIMEOUT))
        env = dict(os.environ)
        if self.https.sites:
            env[MTA_STS_PORT_ENV] = str(self.https.port)
        for key, value in self.data.get("env", {}).items():
            # The placeholders of args, e.g. SMTPPROBE_PROXY with {socks}.
            value = str(value)
            for name, real in self.subst.items():
                value = value.replace(name, real)
            env[key] = value
        try:
            if "stdin" in self.data:
                feed = {"input": file_bytes(self.data["stdin"], "stdin")}
            else:
                feed = {"stdin": subprocess.DEVNULL}
            proc = subprocess.run(self.command, capture_output=True,
                                  timeout=limit, env=env, **feed)
        except subprocess.TimeoutExpired as exc:
            self.stdout = (exc.stdout or b"").decode("utf-8", "replace")
            self.stderr = (exc.stderr or b"").decode("utf-8", "replace")
            self.fail("wall-clock limit", "exit within %gs" % limit,
                      "killed after %gs" % limit)
            return
        except OSError as exc:
            self.fail("start the binary", self.binary, repr(exc))
            return
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")

    # -- checking ------------------------------------------------------------

    def check(self):
        expect = self.data.get("expect", {})
        self.check_invariants()
        if self.returncode is None:
            return
        if "exit" in expect and self.returncode != expect["exit"]:
            self.fail("exit status", expect["exit"], self.returncode)
        self.check_streams(expect)
        self.check_secrets(expect)
        self.check_servers(expect)
        self.check_proxy(expect)
        self.check_dns(expect)
        self.check_https(expect)
        self.check_schema()
        self.check_results(expect)

    def check_schema(self):
        """Every JSON object on stdout against its schema."""
        if not self.schema:
            return
        kind = schemacheck.document_kind(self.command[1:])
        for n, line in enumerate(self.stdout.splitlines(), 1):
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue    # check_results reports it in JSON mode
            for error in schemacheck.validate(obj, schemacheck.load(kind)):
                self.fail("stdout line %d against docs/schema/%s.schema."
                          "json" % (n, kind), "valid", error)

    def check_invariants(self):
        for server, line in self.smtp.data_lines() if self.smtp else []:
            self.fail("never DATA/BDAT", "no DATA or BDAT",
                      "%s received %r" % (server, line))
        for server, reply, line in \
                self.smtp.after_intermediate() if self.smtp else []:
            self.fail("nothing after a 3yz", "no line after %r" % reply,
                      "%s received %r" % (server, line))
        if self.returncode is not None and self.returncode < 0:
            self.fail("exit status", "a normal exit",
                      "killed by signal %d" % -self.returncode)
        for marker in SANITIZER_MARKERS:
            if marker in self.stderr:
                self.fail("sanitizer", "no sanitizer report",
                          "stderr has %r" % marker)
        errors = (self.smtp.errors() if self.smtp else []) + \
            (self.dns.errors if self.dns else []) + \
            (self.socks.errors if self.socks else [])
        for error in errors:
            self.fail("harness server error", "none", error)
        for server, n in self.smtp.sync_errors() if self.smtp else []:
            self.fail("never talk early", "every command after its turn",
                      "%s saw %d synchronization error(s)" % (server, n))

    def secret_forms(self, expect):
        """The strings that must never be printed: each secret and its
        base64; with auth_responses_secret, every SASL response the client
        sent to a built-in AUTH, and what it decodes to (PLAIN's user and
        password, CRAM-MD5's user and digest)."""
        secrets = expect.get("secrets", [])
        if not isinstance(secrets, list) or \
                not all(isinstance(x, str) and x for x in secrets):
            raise CaseError("secrets must be a list of non-empty strings")
        forms = set()
        for secret in secrets:
            forms |= {secret, base64.b64encode(secret.encode()).decode()}
        if expect.get("auth_responses_secret", False):
            for line in self.smtp.auth_lines():
                forms.add(line)
                try:
                    blob = base64.b64decode(line, validate=True)
                except ValueError:
                    continue
                forms |= {part.decode("latin-1") for part in
                          re.split(rb"[\0 ]", blob) if len(part) > 2}
        return sorted(f for f in forms if f)

    def check_secrets(self, expect):
        """No secret (nor its base64 form) in anything the probe printed,
        as bytes or in a JSON string once decoded."""
        decoded = []

        def strings(value):
            if isinstance(value, str):
                decoded.append(value)
            elif isinstance(value, dict):
                for key, item in value.items():
                    strings(key)
                    strings(item)
            elif isinstance(value, list):
                for item in value:
                    strings(item)

        for line in self.stdout.splitlines():
            try:
                strings(json.loads(line))
            except ValueError:
                continue
        for form in self.secret_forms(expect):
            for name, stream in (("stdout", self.stdout),
                                 ("stderr", self.stderr),
                                 ("the JSON strings", "\n".join(decoded))):
                if form in stream:
                    self.fail("secrets", "%r never printed" % form,
                              "found in %s" % name)

    def check_streams(self, expect):
        for key, stream in (("stdout", self.stdout), ("stderr", self.stderr)):
            for pattern in expect.get(key + "_contains", []):
                if not text_matches(pattern, stream):
                    self.fail(key + "_contains", pattern, "not found")
            for pattern in expect.get(key + "_not_contains", []):
                if text_matches(pattern, stream):
                    self.fail(key + "_not_contains", pattern, "found")

    def server_texts(self, spec):
        """[(label, patterns, text)] for server_received checks."""
        texts = {s.name: "\n".join(line for c in s.connections
                                   for line in c.lines)
                 for s in self.smtp.servers}
        if isinstance(spec, dict):
            out = []
            for name, patterns in spec.items():
                if name not in texts:
                    raise CaseError("server_received: no server %r" % name)
                out.append((name, patterns, [texts[name]]))
            return out
        return [("any server", spec, list(texts.values()))]

    def check_servers(self, expect):
        for label, patterns, texts in self.server_texts(
                expect.get("server_received", [])):
            for pattern in patterns:
                if not any(text_matches(pattern, t) for t in texts):
                    self.fail("server_received (%s)" % label, pattern,
                              "not received")
        for label, patterns, texts in self.server_texts(
                expect.get("server_not_received", [])):
            for pattern in patterns:
                if any(text_matches(pattern, t) for t in texts):
                    self.fail("server_not_received (%s)" % label, pattern,
                              "received")
        if "max_concurrent" in expect:
            want = expect["max_concurrent"]
            most = {s.name: s.max_active for s in self.smtp.servers}
            if isinstance(want, dict):
                for name, n in want.items():
                    if name not in most:
                        raise CaseError("max_concurrent: no server %r"
                                        % name)
                    if most[name] > n:
                        self.fail("max_concurrent on %s" % name,
                                  "at most %d" % n, most[name])
            else:
                for name, n in most.items():
                    if n > want:
                        self.fail("max_concurrent on %s" % name,
                                  "at most %d" % want, n)
        for key, what in (("connections", "_accepted"),
                          ("transactions", "transactions"),
                          ("slowed_replies", "slowed_replies"),
                          ("pipelined", "pipelined")):
            if key not in expect:
                continue
            want = expect[key]
            counts = {s.name: getattr(s, what) for s in self.smtp.servers}
            if isinstance(want, dict):
                for name, n in want.items():
                    if counts.get(name) != n:
                        self.fail("%s to %s" % (key, name), n,
                                  counts.get(name))
            elif sum(counts.values()) != want:
                self.fail("%s (all servers)" % key, want,
                          sum(counts.values()))

    def check_proxy(self, expect):
        """proxy_received / proxy_not_received against the proxy's log,
        proxy_connections against the connections it took."""
        keys = ("proxy_received", "proxy_not_received", "proxy_connections")
        if self.socks is None:
            if any(k in expect for k in keys):
                raise CaseError("proxy expectations need a [socks] table")
            return
        log = "\n".join(self.socks.log).replace(
            "{port}", "%d" % self.smtp.port)
        for pattern in expect.get("proxy_received", []):
            pattern = pattern.replace("{port}", "%d" % self.smtp.port)
            if not text_matches(pattern, log):
                self.fail("proxy_received", pattern, "not in the proxy's "
                          "log")
        for pattern in expect.get("proxy_not_received", []):
            pattern = pattern.replace("{port}", "%d" % self.smtp.port)
            if text_matches(pattern, log):
                self.fail("proxy_not_received", pattern, "in the proxy's "
                          "log")
        if "proxy_connections" in expect and \
                self.socks.connections != expect["proxy_connections"]:
            self.fail("proxy_connections", expect["proxy_connections"],
                      self.socks.connections)

    def check_dns(self, expect):
        asked = {"%s %s" % (qtype, name) for _t, qtype, name in
                 self.dns.queries}

        def norm(item):
            qtype, _, name = item.partition(" ")
            if qtype.upper() == "PTR":    # "PTR ::1" is the reverse name
                return "PTR %s" % fakedns.owner_name(name)
            return "%s %s" % (qtype.upper(), fakedns.normalize_name(name))

        for item in expect.get("dns_queried", []):
            if norm(item) not in asked:
                self.fail("dns_queried", item, sorted(asked))
        for item in expect.get("dns_not_queried", []):
            if norm(item) in asked:
                self.fail("dns_not_queried", item, "asked")
        counts = {}
        for _t, qtype, name in self.dns.queries:
            key = "%s %s" % (qtype, name)
            counts[key] = counts.get(key, 0) + 1
        for item, want in expect.get("dns_query_count", {}).items():
            if counts.get(norm(item), 0) != want:
                self.fail("dns_query_count %s" % item, want,
                          counts.get(norm(item), 0))

    def check_https(self, expect):
        """https_requested / https_not_requested: "HOST PATH" items."""
        asked = {"%s %s" % (name, path) for name, _method, path, _host in
                 self.https.requests()}
        for item in expect.get("https_requested", []):
            if item not in asked:
                self.fail("https_requested", item, sorted(asked))
        for item in expect.get("https_not_requested", []):
            if item in asked:
                self.fail("https_not_requested", item, "requested")

    def parse_results(self):
        results = []
        for n, line in enumerate(self.stdout.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                self.fail("stdout line %d is JSON" % n, "a JSON object",
                          "%s: %r" % (exc, line[:200]))
                continue
            if not isinstance(obj, dict):
                self.fail("stdout line %d is an object" % n, "object",
                          short(obj))
                continue
            results.append(obj)
        return results

    def check_results(self, expect):
        json_mode = not self.data.get("no_json", False) and \
            not self.data.get("no_default_args", False)
        if not json_mode:
            return
        self.results = self.parse_results()
        if "results_sort" in expect:
            # Batch mode prints results as they finish: compare them in
            # the order of a field (such as "index") instead.
            field = expect["results_sort"]
            self.results.sort(key=lambda obj: (
                not isinstance(obj.get(field), (int, float)),
                obj.get(field) if isinstance(obj.get(field), (int, float))
                else 0, str(obj.get(field))))
        per_result = {k: v for k, v in expect.items() if k in RESULT_KEYS}
        listed = expect.get("results")
        if "result_count" in expect and \
                len(self.results) != expect["result_count"]:
            self.fail("number of JSON objects", expect["result_count"],
                      len(self.results))
        if listed is not None:
            if len(self.results) != len(listed):
                self.fail("number of JSON objects", len(listed),
                          len(self.results))
            for n, (want, obj) in enumerate(zip(listed, self.results)):
                merged = dict(per_result)
                merged.update(want)
                self.check_result(merged, obj, "result %d: " % n)
        elif per_result:
            if not self.results:
                self.fail("JSON report", "at least one object",
                          "none on stdout")
            for n, obj in enumerate(self.results):
                label = "" if len(self.results) == 1 else "result %d: " % n
                self.check_result(per_result, obj, label)

    def check_result(self, want, obj, label):
        for key in ("verdict", "reason"):
            if key in want and obj.get(key, MISSING) != want[key]:
                self.fail(label + key, want[key], short(obj.get(key,
                                                                MISSING)))
        stages = {s.get("name"): s for s in obj.get("stages", [])
                  if isinstance(s, dict)}
        for name, status in want.get("stages", {}).items():
            actual = stages.get(name, {}).get("status", MISSING)
            if actual != status:
                self.fail(label + "stages.%s" % name, status, short(actual))
        ids = [f.get("id") for f in obj.get("findings", [])
               if isinstance(f, dict)]
        for fid in want.get("findings", []):
            if fid not in ids:
                self.fail(label + "finding present", fid, short(ids))
        for fid in want.get("absent_findings", []):
            if fid in ids:
                self.fail(label + "finding absent", fid, short(ids))
        if "attempts" in want:
            actual = obj.get("attempts", MISSING)
            n = len(actual) if isinstance(actual, list) else actual
            if n != want["attempts"]:
                self.fail(label + "attempts", want["attempts"], short(n))
        for path, expected in flatten_json_checks(want.get("json",
                                                           {})).items():
            actual = resolve_path(obj, path.split("."))
            why = check_value(expected, actual)
            if why:
                self.fail(label + "json %s (%s)" % (path, why),
                          short(expected), short(actual))
        transcript = "\n".join(str(t.get("text", "")) for t in
                               obj.get("transcript", [])
                               if isinstance(t, dict))
        for pattern in want.get("transcript_contains", []):
            if not text_matches(pattern, transcript):
                self.fail(label + "transcript_contains", pattern,
                          "not found")

    # -- reporting -----------------------------------------------------------

    def report(self, out):
        name = os.path.basename(self.path)
        if not self.failures and not self.verbose:
            return
        status = "FAIL" if self.failures else "PASS"
        print("%s %s" % (status, name), file=out)
        if self.data.get("description"):
            print("  description: %s" % self.data["description"], file=out)
        for what, expected, actual in self.failures:
            print("  - %s\n      expected: %s\n      actual:   %s"
                  % (what, expected, actual), file=out)
        print("  command: %s" % " ".join(repr(a) if not re.fullmatch(
            r"[\w@./:=+,-]+", a) else a for a in self.command), file=out)
        print("  exit status: %s" % self.returncode, file=out)
        print("  --- probe stdout ---\n%s" % self.stdout.rstrip(), file=out)
        print("  --- probe stderr ---\n%s" % self.stderr.rstrip(), file=out)
        if self.smtp is not None:
            print("  --- SMTP servers ---\n%s" % self.smtp.describe(),
                  file=out)
        if self.https is not None and self.https.sites:
            print("  --- HTTPS sites ---\n%s" % self.https.describe(),
                  file=out)
        if self.socks is not None:
            print("  --- SOCKS proxy (%d connection(s)) ---" %
                  self.socks.connections, file=out)
            for line in self.socks.log:
                print("    %s" % line, file=out)
        if self.dns is not None:
            print("  --- DNS queries ---", file=out)
            for transport, qtype, qname in self.dns.queries:
                print("    %s %s %s" % (transport, qtype, qname), file=out)
        print("", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True,
                        help="the smtpprobe executable")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print the details of passing cases too")
    parser.add_argument("--no-schema", action="store_true",
                        help="do not check the JSON output against "
                        "docs/schema/")
    parser.add_argument("cases", nargs="+", metavar="CASE.toml")
    opts = parser.parse_args(argv)
    binary = os.path.abspath(opts.binary)
    passed = failed = skipped = 0
    for path in opts.cases:
        try:
            case = Case(path, binary, opts.verbose, not opts.no_schema)
            why = case.skip_reason()
            if why is not None:
                print("SKIP %s: %s" % (os.path.basename(path), why),
                      file=sys.stderr)
                skipped += 1
                continue
            ok = case.run()
            case.report(sys.stderr)
        except (CaseError, fakesmtp.SpecError, fakesocks.SpecError,
                schemacheck.SchemaError, ValueError,
                tomllib.TOMLDecodeError, OSError,
                subprocess.SubprocessError) as exc:
            print("FAIL %s\n  - the case could not be run: %s\n"
                  % (os.path.basename(path), exc), file=sys.stderr)
            ok = False
        except Exception:  # a harness bug or a wrongly typed value
            print("FAIL %s\n  - the case could not be run (harness "
                  "exception):\n%s" % (os.path.basename(path),
                                       traceback.format_exc()),
                  file=sys.stderr)
            ok = False
        if ok:
            passed += 1
        else:
            failed += 1
    sys.stderr.flush()
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped
                                      if skipped else ""))
    if failed:
        return 1
    return SKIP_EXIT if skipped and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
