"""Scripted loopback SMTP servers for the smtpprobe scenario tests.

Each server is described by a dict, normally one ``[[servers]]`` table of a
scenario file (docs/TESTING.md lists every key)::

    {
        "name": "mx1.example.test",       # host name: EHLO default, TLS SAN
        "ip": "127.0.0.2",                # loopback address to listen on
        "greeting": "220 mx1.example.test ESMTP",
        "greeting_delay": 0,
        "replies": {"RCPT": "550 5.1.1 No such user"},
        "delay": {"RCPT": 0.5},
        "bare_lf": False,
        "refuse": False,                  # True, "close" or "timeout"
        "tls": {"cert": "valid"},
        "starttls_inject": "250 injected",
        "by_helo": [{"match": "localhost",
                     "replies": {"RCPT": "504 5.5.2 <{helo}>: no"}}],
    }

A reply specification (greeting, or a value of ``replies``) is one of:

* a string: the reply text, lines separated by "\\r\\n" or "\\n"; each line
  is sent followed by CRLF (LF alone when the server has ``bare_lf``);
* ``"drop"``: close the connection without replying;
* ``"hang"``: never reply again (keep reading and logging until the client
  goes away);
* ``"none"``: send nothing for this command, carry on with the next one;
* a table ``{text = "...", raw = "...", hex = "...", close = bool,
  delay = seconds, action = "drop"|"hang"|"none", repeat = N}``: ``raw``
  is sent byte for byte (characters up to U+00FF as single bytes, else
  UTF-8), ``hex`` is hexadecimal bytes, ``close`` closes the connection
  after the reply, ``delay`` waits before replying, ``repeat`` sends the
  bytes N times in a row (a flood of replies, an endless multi-line reply,
  a line longer than any limit);
* a list of the above: used in order for successive uses of the same verb
  (per connection by default, per server with ``sequence = "server"``); the
  last element repeats.  For the greeting a list is indexed by connection;
* a table ``{parts = [...]}``: the replies of the list sent one after the
  other on one use, each with its own ``delay`` (a greeting whose
  ``220-`` line comes first and its ``220`` line seconds later, as
  postscreen sends it).

``sync_error`` (a reply) makes the server check, as Exim does, that the
client never talks before it has been answered: bytes that arrive before
the greeting is complete, or before the reply to the previous command has
been sent, get that reply and the connection is closed; the event
``synchronization error`` is logged and ``FakeSMTPServer.sync_errors``
counts it (the runner fails the case).

``auth`` makes the server take SMTP AUTH (RFC 4954) itself: ``{user =
"...", password = "...", mechanisms = ["PLAIN", "LOGIN"], tls_only =
true}`` (CRAM-MD5 may be listed too).  The EHLO reply announces ``AUTH``
(only inside TLS with ``tls_only``, the default); AUTH checks the
credentials (``235``, ``535 5.7.8``; ``538 5.7.11`` before TLS with
``tls_only``; ``504`` for a mechanism not listed; ``503`` when already
authenticated; ``501`` when the client cancels with ``*``).  Scripted
``replies.AUTH`` take precedence.  ``echo = true`` makes the built-in
exchange a credential trap: the second LOGIN prompt quotes the client's
first answer, and the final reply (235 or 535) is preceded by lines that
quote every line the client sent in the exchange and what its base64
decodes to (the user name and password of PLAIN and LOGIN, CRAM-MD5's
"user digest").  After a scripted reply starting with
``334`` the next line is the client's response, not a command: it is
logged and answered with the next AUTH reply.  ``after_auth`` (verb ->
reply) gives the replies used once the connection has authenticated
(a 235 was sent), e.g. ``after_auth.RCPT = "250 2.1.5 Ok"``.

``by_helo`` makes the replies depend on the name the client gave in its
last EHLO or HELO on that connection: the first rule whose ``match`` fits
the name (a plain string: the whole name, case-insensitive; ``"re:..."``: a
regular expression searched case-insensitively) and that names the verb
supplies the reply, before ``replies``; "{helo}" in its text becomes the
name.  The rule applies to the EHLO or HELO command itself too.

Every line received is logged (``Connection.lines``), as are connection
events.  Any line starting with DATA or BDAT is recorded in
``FakeSMTPServer.data_lines``: smtpprobe must never send those.  Once a
connection has sent a reply line with a 3yz code (354, or anything but a
334 prompt during AUTH), every line it receives afterwards is recorded in
``FakeSMTPServer.after_intermediate``: a server in that state may be
reading message text, so smtpprobe must not send another line.

Servers run in daemon threads, poll a stop flag, drop idle clients, and stop
when ``stop()`` is called.
"""

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import select
import socket
import ssl
import subprocess
import threading
import time

POLL_SECONDS = 0.1          # how often blocking loops look at the stop flag
IDLE_SECONDS = 30.0         # a client silent this long is dropped
MAX_LINE = 4096             # longer input lines are logged truncated
MAX_CONNECTIONS_LOGGED = 100

VERBS = ("EHLO", "HELO", "STARTTLS", "MAIL", "RCPT", "RSET", "QUIT", "NOOP",
         "AUTH", "VRFY", "EXPN", "HELP", "DATA", "BDAT")
CERT_KINDS = ("valid", "wrong_name", "self_signed", "expired")
WRONG_NAME = "wrong-name.other.invalid"

# Forbidden commands: a probe never sends a message.
DATA_RE = re.compile(rb"^[ \t]*(DATA|BDAT)(?![A-Za-z0-9-])", re.IGNORECASE)
# A reply line with a 3yz code (RFC 5321 §4.2): the server asks for more.
INTERMEDIATE_RE = re.compile(rb"^3[0-9][0-9]([ -]|\r?$)")

SERVER_KEYS = ("name", "ip", "greeting", "greeting_delay", "replies", "delay",
               "bare_lf", "refuse", "tls", "starttls_inject", "sequence",
               "idle_timeout", "by_helo", "sync_error", "auth",
               "after_auth", "rcpt_limit", "error_limits", "tarpit",
               "mailboxes")
ERROR_LIMIT_KEYS = ("soft", "hard", "sleep")
TARPIT_KEYS = ("after", "delay")
AUTH_KEYS = ("user", "password", "mechanisms", "tls_only", "echo")
AUTH_MECHS = ("PLAIN", "LOGIN", "CRAM-MD5")


class SpecError(ValueError):
    """A server description that does not make sense."""


def _encode_raw(text):
    """Encode a raw reply: code points up to U+00FF as single bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def parse_action(value, what):
    """Normalize one reply specification to a dict.

    The dict has ``kind`` (reply, drop, hang, none) and, for replies, either
    ``text`` (lines to be terminated) or ``raw`` (bytes); ``close``,
    ``delay``.
    """
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("drop", "hang", "none"):
            return {"kind": low, "close": low == "drop", "delay": 0.0}
        return {"kind": "reply", "text": value, "close": False, "delay": 0.0}
    if isinstance(value, dict):
        unknown = set(value) - {"text", "raw", "hex", "close", "delay",
                                "action", "parts", "repeat"}
        if unknown:
            raise SpecError("%s: unknown reply keys %s" % (what,
                                                           sorted(unknown)))
        out = {"kind": "reply", "close": bool(value.get("close", False)),
               "delay": float(value.get("delay", 0.0)),
               "repeat": value.get("repeat", 1)}
        if not isinstance(out["repeat"], int) or \
                not 1 <= out["repeat"] <= 1000000:
            raise SpecError("%s: repeat must be a count from 1 to 1000000"
                            % what)
        if "action" in value:
            action = str(value["action"]).lower()
            if action not in ("drop", "hang", "none"):
                raise SpecError("%s: unknown action %r" % (what, action))
            out["kind"] = action
        elif "parts" in value:
            parts = value["parts"]
            if not isinstance(parts, list) or not parts:
                raise SpecError("%s: parts must be a non-empty list" % what)
            out["parts"] = [parse_action(part, what) for part in parts]
        elif "raw" in value:
            out["raw"] = _encode_raw(value["raw"])
        elif "hex" in value:
            out["raw"] = bytes.fromhex(value["hex"])
        elif "text" in value:
            out["text"] = value["text"]
        else:
            raise SpecError("%s: a reply table needs text, raw, hex, "
                            "parts or action" % what)
        return out
    raise SpecError("%s: a reply must be a string, a table or a list" % what)


def helo_matches(pattern, name):
    """A by_helo pattern: the whole name, or "re:..." searched (no case)."""
    if pattern.startswith("re:"):
        return re.search(pattern[3:], name, re.IGNORECASE) is not None
    return pattern.lower() == name.lower()


def parse_by_helo(value, where):
    """Normalize a by_helo list to [(pattern, {VERB: [actions]})]."""
    if not isinstance(value, list):
        raise SpecError("%s: by_helo must be a list of tables" % where)
    rules = []
    for n, rule in enumerate(value):
        what = "%s: by_helo[%d]" % (where, n)
        if not isinstance(rule, dict):
            raise SpecError("%s: must be a table" % what)
        unknown = set(rule) - {"match", "replies"}
        if unknown:
            raise SpecError("%s: unknown keys %s" % (what, sorted(unknown)))
        pattern = rule.get("match")
        if not isinstance(pattern, str) or not pattern:
            raise SpecError("%s: needs a match string" % what)
        if pattern.startswith("re:"):
            try:
                re.compile(pattern[3:])
            except re.error as exc:
                raise SpecError("%s: bad regular expression: %s"
                                % (what, exc)) from exc
        replies = {verb.upper(): parse_reply_spec(v, "%s %s" % (what, verb))
                   for verb, v in (rule.get("replies") or {}).items()}
        rules.append((pattern, replies))
    return rules


def parse_reply_spec(value, what):
    """Return a non-empty list of actions (a single spec is a list of one)."""
    if isinstance(value, list):
        if not value:
            raise SpecError("%s: empty reply list" % what)
        return [parse_action(item, what) for item in value]
    return [parse_action(value, what)]


def _run_openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=30)


TLS_KEYS = ("cert", "days", "key", "names", "sig", "implicit", "max_version",
            "chain")
KEY_KINDS = {
    "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
    "rsa1024": ["-newkey", "rsa:1024"],
    "rsa2048": ["-newkey", "rsa:2048"],
}
TLS_VERSIONS = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2",
                "TLSv1.3": "TLSv1_3"}
LEAF_DAYS = 398             # a "valid" certificate: far from expiry


def check_tls_spec(name, spec):
    """Validate a server's (or HTTPS site's) tls table; return it as a dict.

    A plain string is the certificate kind alone.
    """
    if isinstance(spec, str):
        spec = {"cert": spec}
    if not isinstance(spec, dict):
        raise SpecError("%s: tls must be a table" % name)
    unknown = set(spec) - set(TLS_KEYS)
    if unknown:
        raise SpecError("%s: unknown tls keys %s" % (name, sorted(unknown)))
    if spec.get("cert") not in CERT_KINDS:
        raise SpecError("%s: tls.cert must be one of %s"
                        % (name, ", ".join(CERT_KINDS)))
    if spec.get("key", "ec") not in KEY_KINDS:
        raise SpecError("%s: tls.key must be one of %s"
                        % (name, ", ".join(KEY_KINDS)))
    if spec.get("sig", "sha256") not in ("sha256", "sha1"):
        raise SpecError("%s: tls.sig must be sha256 or sha1" % name)
    if spec.get("max_version", "TLSv1.3") not in TLS_VERSIONS:
        raise SpecError("%s: tls.max_version must be one of %s"
                        % (name, ", ".join(TLS_VERSIONS)))
    names = spec.get("names", [])
    if not isinstance(names, list) or \
            not all(isinstance(n, str) and n for n in names):
        raise SpecError("%s: tls.names must be a list of names" % name)
    days = spec.get("days", LEAF_DAYS)
    if not isinstance(days, int) or days < 1:
        raise SpecError("%s: tls.days must be a positive number" % name)
    return dict(spec)


def make_certificates(directory, servers):
    """Create a throw-away CA and a leaf certificate per TLS server.

    SERVERS is a list of (server name, tls spec): the spec is a kind
    (CERT_KINDS) or a tls table (check_tls_spec: cert, days, key, names,
    sig).  Returns (path of the CA certificate, {server name: (cert path,
    key path)}); the cert file holds the leaf and, unless the spec says
    chain = false or the leaf is self-signed, the CA after it, as servers
    send their chain.  Needs the openssl command.  EC P-256 keys keep it
    fast.
    """
    ca_pem = os.path.join(directory, "ca.pem")
    _run_openssl(["req", "-x509"] + KEY_KINDS["ec"] +
                 ["-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                  "-days", "3650", "-subj", "/CN=smtpprobe scenario test CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                 directory)
    leaves = {}
    for index, (name, spec) in enumerate(servers):
        spec = check_tls_spec("server %s" % name, spec)
        kind = spec["cert"]
        cert_name = WRONG_NAME if kind == "wrong_name" else name
        sans = spec.get("names") or [cert_name]
        days = str(spec.get("days", LEAF_DAYS))
        newkey = KEY_KINDS[spec.get("key", "ec")] + ["-nodes"]
        digest = "-" + spec.get("sig", "sha256")
        base = "leaf%d" % index
        ext = os.path.join(directory, base + ".ext")
        with open(ext, "w", encoding="ascii") as handle:
            handle.write("subjectAltName=%s\n"
                         "basicConstraints=CA:FALSE\n"
                         "keyUsage=critical,digitalSignature%s\n"
                         "extendedKeyUsage=serverAuth\n"
                         % (",".join("DNS:" + n for n in sans),
                            ",keyEncipherment" if spec.get("key", "ec")
                            != "ec" else ""))
        if kind == "self_signed":
            _run_openssl(["req", "-x509", digest] + newkey +
                         ["-keyout", base + ".key", "-out", base + ".pem",
                          "-days", days, "-subj", "/CN=" + cert_name,
                          "-addext", "subjectAltName=" +
                          ",".join("DNS:" + n for n in sans)], directory)
        else:
            _run_openssl(["req", "-new"] + newkey +
                         ["-keyout", base + ".key", "-out", base + ".csr",
                          "-subj", "/CN=" + cert_name], directory)
            _run_openssl(["x509", "-req", digest, "-in", base + ".csr",
                          "-CA", "ca.pem", "-CAkey", "ca.key",
                          "-set_serial", str(1000 + index),
                          "-days", "-1" if kind == "expired" else days,
                          "-extfile", ext, "-out", base + ".pem"], directory)
        cert = os.path.join(directory, base + ".pem")
        if kind != "self_signed" and spec.get("chain", True):
            with open(cert, "a", encoding="ascii") as out, \
                    open(ca_pem, encoding="ascii") as ca:
                out.write(ca.read())
        leaves[name] = (cert, os.path.join(directory, base + ".key"))
    return ca_pem, leaves


def _digest_hex(data):
    return hashlib.sha256(data).hexdigest()


def fingerprints(group):
    """{name: {"cert": hex, "spki": hex}} for every certificate GROUP (a
    FakeSMTPGroup) made, and "ca" for the CA: the SHA-256 of the DER
    certificate as `openssl x509 -fingerprint -sha256` prints it, and of
    its DER SubjectPublicKeyInfo (what TLSA records with selector 0 and
    1 hash, RFC 6698 §2.1.2), with the openssl command."""
    files = {name: cert for name, (cert, _key) in group.leaves.items()}
    if group.ca_file is not None:
        files["ca"] = group.ca_file
    out = {}
    for name, path in files.items():
        # The certificate's digest as `openssl x509 -fingerprint -sha256`
        # prints it ("sha256 Fingerprint=AB:CD:..."; OpenSSL 1.1 says
        # "SHA256 Fingerprint=").
        printed = subprocess.run(["openssl", "x509", "-in", path, "-noout",
                                  "-fingerprint", "-sha256"], check=True,
                                 capture_output=True, text=True,
                                 timeout=30).stdout
        cert = printed.strip().split("=", 1)[1].replace(":", "").lower()
        pub = subprocess.run(["openssl", "x509", "-in", path, "-noout",
                              "-pubkey"], check=True, capture_output=True,
                             timeout=30).stdout
        spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform",
                               "DER"], input=pub, check=True,
                              capture_output=True, timeout=30).stdout
        out[name] = {"cert": cert, "spki": _digest_hex(spki)}
    return out


def server_tls_context(cert, key, spec):
    """A server-side SSLContext for CERT/KEY as SPEC (a tls table) says.

    Security level 0, so that the weak keys, SHA-1 signatures and old
    protocol versions the scenarios ask for are served at all.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    version = spec.get("max_version", "TLSv1.3")
    if version != "TLSv1.3":
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = getattr(ssl.TLSVersion, TLS_VERSIONS[version])
    ctx.load_cert_chain(cert, key)
    return ctx


class Connection:
    """What one client connection did: its lines and events."""

    def __init__(self, peer, index, peer_ip=None):
        self.peer = peer      # "127.0.0.1:40000" or "[::1]:40000"
        self.peer_ip = peer_ip if peer_ip is not None else \
            peer.rsplit(":", 1)[0]
        self.index = index    # 0 for the server's first connection
        self.lines = []       # every line received, decoded latin-1, no EOL
        self.events = []      # "tls established", "closed by client", ...
        self.tls = False
        self.done = threading.Event()

    def event(self, text):
        self.events.append(text)


class _Closed(Exception):
    """The connection is over (client gone, stop requested, drop)."""


class ThreadedServer:
    """What the harness's TCP servers share (fakesmtp, fakesocks): a
    listening socket (self.sock) served by an accept thread, a thread per
    client, and a stop flag (self._stop) their loops poll."""

    def spawn(self, target, name, args=()):
        thread = threading.Thread(target=target, args=args, daemon=True,
                                  name=name)
        thread.start()
        self._threads.append(thread)

    def join_threads(self):
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def accept_loop(self, handle):
        """Call handle(client, peer) for each connection until stopped
        or the socket is closed."""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], POLL_SECONDS)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                client, peer = self.sock.accept()
            except OSError:
                continue
            handle(client, peer)


class FakeSMTPServer(ThreadedServer):
    """One scripted SMTP server on one loopback address."""

    def __init__(self, spec, index=0):
        unknown = set(spec) - set(SERVER_KEYS)
        if unknown:
            raise SpecError("server %d: unknown keys %s"
                            % (index, sorted(unknown)))
        self.index = index
        self.name = spec.get("name", "mx%d.example.test" % (index + 1))
        self.ip = spec.get("ip", "127.0.0.%d" % (index + 2))
        try:
            loopback = ipaddress.ip_address(self.ip).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise SpecError("server %s: only loopback addresses "
                            "(127.0.0.0/8, ::1)" % self.name)
        self.family = socket.AF_INET6 if ":" in self.ip else socket.AF_INET
        self.greeting = parse_reply_spec(
            spec.get("greeting", "220 %s ESMTP smtpprobe-fakesmtp"
                     % self.name), "greeting")
        self.greeting_delay = float(spec.get("greeting_delay", 0))
        self.replies = {}
        for verb, value in (spec.get("replies") or {}).items():
            self.replies[verb.upper()] = parse_reply_spec(value, verb)
        self.delays = {verb.upper(): float(value)
                       for verb, value in (spec.get("delay") or {}).items()}
        self.bare_lf = bool(spec.get("bare_lf", False))
        refuse = spec.get("refuse", False)
        if refuse not in (False, True, "close", "timeout"):
            raise SpecError("server %s: refuse must be true, false, "
                            "\"close\" or \"timeout\"" % self.name)
        self.refuse = refuse
        self.tls = spec.get("tls")
        if self.tls is not None:
            self.tls = check_tls_spec("server %s" % self.name, self.tls)
        self.implicit = bool(self.tls is not None and
                             self.tls.get("implicit", False))
        inject = spec.get("starttls_inject")
        self.starttls_inject = None
        if inject is not None:
            self.starttls_inject = _encode_raw(inject)
            if not self.starttls_inject.endswith(b"\n"):
                self.starttls_inject += b"\r\n"
        self.sequence = spec.get("sequence", "connection")
        if self.sequence not in ("connection", "server"):
            raise SpecError("server %s: sequence must be connection or "
                            "server" % self.name)
        self.idle_timeout = float(spec.get("idle_timeout", IDLE_SECONDS))
        self.by_helo = parse_by_helo(spec.get("by_helo", []),
                                     "server %s" % self.name)
        self.sync_error = None
        if spec.get("sync_error") is not None:
            self.sync_error = parse_action(spec["sync_error"],
                                           "sync_error")
        self.sync_errors = 0
        self.auth = spec.get("auth")
        if self.auth is not None:
            if not isinstance(self.auth, dict) or \
                    set(self.auth) - set(AUTH_KEYS) or \
                    not isinstance(self.auth.get("user"), str) or \
                    not isinstance(self.auth.get("password"), str):
                raise SpecError("server %s: auth needs user and password "
                                "(keys: %s)" % (self.name,
                                                ", ".join(AUTH_KEYS)))
            mechs = [m.upper() for m in
                     self.auth.get("mechanisms", ["PLAIN", "LOGIN"])]
            if not mechs or set(mechs) - set(AUTH_MECHS):
                raise SpecError("server %s: auth mechanisms must be among "
                                "%s" % (self.name, ", ".join(AUTH_MECHS)))
            self.auth = dict(self.auth, mechanisms=mechs,
                             tls_only=bool(self.auth.get("tls_only", True)),
                             echo=bool(self.auth.get("echo", False)))
        self.after_auth = {verb.upper(): parse_reply_spec(value, verb)
                           for verb, value in
                           (spec.get("after_auth") or {}).items()}
        self.mailboxes = spec.get("mailboxes")
        if self.mailboxes is not None and (
                not isinstance(self.mailboxes, list) or
                not all(isinstance(m, str) for m in self.mailboxes)):
            raise SpecError("server %s: mailboxes must be a list of "
                            "strings" % self.name)
        self.rcpt_limit = int(spec.get("rcpt_limit", 0))
        self.error_limits = self._limits(spec, "error_limits",
                                         ERROR_LIMIT_KEYS)
        self.tarpit = self._limits(spec, "tarpit", TARPIT_KEYS)
        self.transactions = 0     # MAIL commands answered with 2xx
        self.slowed_replies = 0   # replies held back (error_limits, tarpit)
        self.pipelined = 0        # commands sent before the reply to the
        #                           one before them (RFC 2920)
        self.ssl_context = None
        self.connections = []
        self.data_lines = []
        self.after_intermediate = []   # lines received after a 3yz reply
        self.auth_lines = []      # what clients sent in AUTH exchanges
        self.errors = []
        self.sock = None
        self.port = None
        self._fillers = []        # refuse = "timeout": the full queue
        self._stop = threading.Event()
        self._threads = []
        self._server_counts = {}
        self._accepted = 0
        self._lock = threading.Lock()
        self.active = 0           # connections open right now
        self.max_active = 0       # the most ever open at once

    def _limits(self, spec, key, keys):
        """A table of numbers among KEYS, or None."""
        value = spec.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - set(keys) or \
                not all(isinstance(v, (int, float)) for v in value.values()):
            raise SpecError("server %s: %s takes numbers %s"
                            % (self.name, key, ", ".join(keys)))
        return dict(value)

    # -- set-up -------------------------------------------------------------

    def set_certificate(self, cert, key):
        """Load the leaf certificate for STARTTLS (or implicit TLS)."""
        self.ssl_context = server_tls_context(cert, key, self.tls)

    def bind(self, port):
        """Bind (and listen unless refusing) on self.ip:PORT; return port.

        A refusing server binds without listening: the port stays reserved
        and the kernel answers connections with a reset.  With refuse =
        "timeout" it listens with the smallest backlog and fills it with
        connections of its own that it never accepts: the kernel then
        drops further SYNs without a word, and a client's connect times
        out, as when a firewall drops port 25.
        """
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((self.ip, port))
            if self.refuse == "timeout":
                sock.listen(0)
            elif self.refuse is not True:
                sock.listen(16)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.port = sock.getsockname()[1]
        if self.refuse == "timeout":
            self._fill_queue()
        return self.port

    def _fill_queue(self):
        """Complete connections until the accept queue is full."""
        for _ in range(3):
            filler = socket.socket(self.family, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect((self.ip, self.port))
            except (BlockingIOError, InterruptedError):
                pass
            self._fillers.append(filler)
        time.sleep(0.05)

    def start(self):
        if self.refuse not in (True, "timeout"):
            self.spawn(lambda: self.accept_loop(self._accepted_one),
                       "fakesmtp-%s" % self.ip)
        return self

    def stop(self):
        self.join_threads()
        for filler in self._fillers:
            filler.close()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def wait_idle(self, timeout):
        """Wait until every connection is finished, at most TIMEOUT s."""
        deadline = time.monotonic() + timeout
        for conn in list(self.connections):
            left = deadline - time.monotonic()
            if left <= 0 or not conn.done.wait(left):
                return False
        return True

    # -- serving ------------------------------------------------------------

    def _accepted_one(self, client, peer):
        if self.family == socket.AF_INET6:
            conn = Connection("[%s]:%d" % peer[:2], self._accepted, peer[0])
        else:
            conn = Connection("%s:%d" % peer[:2], self._accepted, peer[0])
        self._accepted += 1
        if len(self.connections) < MAX_CONNECTIONS_LOGGED:
            self.connections.append(conn)
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if self.refuse == "close":
            conn.event("closed at once (refuse = close)")
            client.close()
            self._closed()
            conn.done.set()
            return
        self.spawn(self._session, "fakesmtp-session-%s" % self.ip,
                   (client, conn))

    def _session(self, client, conn):
        session = _Session(self, client, conn)
        try:
            session.run()
        except _Closed:
            pass
        except Exception as exc:  # report, never crash the runner
            self.errors.append("%s %s: %r" % (self.name, conn.peer, exc))
            conn.event("server error: %r" % exc)
        finally:
            session.close()
            if not session.released:
                self._closed()
            conn.done.set()

    def _closed(self):
        with self._lock:
            self.active -= 1

    def next_action(self, verb, counts, helo=None):
        """The action for the next use of VERB; None means the default.

        HELO is the name of the connection's last EHLO/HELO (None before
        one): a matching ``by_helo`` rule for VERB comes first.
        """
        key = verb
        actions = self.replies.get(verb)
        rule_helo = None
        if helo is not None:
            for n, (pattern, replies) in enumerate(self.by_helo):
                if verb in replies and helo_matches(pattern, helo):
                    key, actions, rule_helo = ("by_helo", n, verb), \
                        replies[verb], helo
                    break
        if actions is None:
            return None
        if self.sequence == "server":
            with self._lock:
                use = self._server_counts.get(key, 0)
                self._server_counts[key] = use + 1
        else:
            use = counts.get(key, 0)
            counts[key] = use + 1
        action = actions[min(use, len(actions) - 1)]
        if rule_helo is not None and "text" in action:
            action = dict(action, text=action["text"].replace("{helo}",
                                                              rule_helo))
        return action

    def next_action_after_auth(self, verb, counts):
        """The after_auth reply for the next use of VERB."""
        actions = self.after_auth[verb]
        key = ("after_auth", verb)
        use = counts.get(key, 0)
        counts[key] = use + 1
        return actions[min(use, len(actions) - 1)]

    def rcpt_reply(self, line):
        """With mailboxes: 250 for an address listed (a plain string, any
        case, or "re:..." searched), 550 5.1.1 for any other."""
        match = re.match(r"RCPT TO:\s*<([^>]*)>", line, re.IGNORECASE)
        rcpt = match.group(1) if match else ""
        for mailbox in self.mailboxes:
            if helo_matches(mailbox, rcpt):
                return "250 2.1.5 Ok"
        return "550 5.1.1 <%s>: Recipient address rejected: User unknown" \
            % rcpt

    def default_reply(self, verb, in_tls):
        """The reply used when the scenario gives none for VERB."""
        if verb == "EHLO":
            lines = ["250-" + self.name, "250-PIPELINING"]
            if self.tls is not None and not in_tls and not self.implicit:
                lines.append("250-STARTTLS")
            if self.auth is not None and (in_tls or
                                          not self.auth["tls_only"]):
                lines.append("250-AUTH " + " ".join(self.auth["mechanisms"]))
            lines.append("250 8BITMIME")
            return "\n".join(lines)
        if verb == "HELO":
            return "250 " + self.name
        if verb == "STARTTLS":
            if self.tls is None:
                return "502 5.5.2 Error: command not recognized"
            if in_tls:
                return "503 5.5.1 Error: TLS already active"
            return "220 2.0.0 Ready to start TLS"
        return {
            "MAIL": "250 2.1.0 Ok",
            "RCPT": "250 2.1.5 Ok",
            "RSET": "250 2.0.0 Ok",
            "QUIT": "221 2.0.0 Bye",
            "NOOP": "250 2.0.0 Ok",
            "DATA": "554 5.5.1 Error: a probe must never send DATA",
            "BDAT": "554 5.5.1 Error: a probe must never send BDAT",
        }.get(verb, "502 5.5.2 Error: command not recognized")


class _Session:
    """One client dialogue, run in its own thread."""

    def __init__(self, server, sock, conn):
        self.server = server
        self.sock = sock
        self.conn = conn
        self.buf = b""
        self.released = False    # no longer counted as open (after QUIT)
        self.counts = {}
        self.in_tls = False
        self.helo = None      # name of the last EHLO/HELO, for by_helo
        self.authenticated = False
        self.rcpt_ok = 0      # recipients accepted since MAIL (rcpt_limit)
        self.rcpts = 0        # RCPT commands on the connection (tarpit)
        self.errors = 0       # 4xx/5xx replies sent (error_limits)
        self.in_auth = False       # inside an AUTH exchange (334 expected)
        self.early = 0             # lines received before a reply was sent
        self.intermediate = None   # the 3yz reply line sent, if any
        sock.settimeout(POLL_SECONDS)

    # -- I/O ------------------------------------------------------------------

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def sleep(self, seconds):
        """Wait SECONDS, but notice a client that leaves meanwhile.

        Bytes the client sends during the wait (talking before the greeting,
        say) are kept for recv_line and noted as an event.
        """
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.server._stop.is_set():
                raise _Closed()
            try:
                ready, _, _ = select.select([self.sock], [], [],
                                            min(left, POLL_SECONDS))
                if not ready:
                    continue
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError, ValueError) as exc:
                self.conn.event("receive failed while waiting: %r" % exc)
                raise _Closed()
            if not chunk:
                self.conn.event("closed by client while the server waited")
                raise _Closed()
            self.conn.event("client sent %d bytes while the server waited"
                            % len(chunk))
            self.buf += chunk

    def send(self, data):
        suffix = getattr(self, "send_suffix", b"")
        if suffix:
            # Injected bytes ride in the same segment as the reply, as a
            # man in the middle appending them would send them.
            data += suffix
            self.send_suffix = b""
        for line in data.split(b"\n"):
            if INTERMEDIATE_RE.match(line) and self.intermediate is None \
                    and not (self.in_auth and line.startswith(b"334")):
                self.intermediate = line.rstrip(b"\r")
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            self.conn.event("send failed: %r" % exc)
            raise _Closed()

    def take_waiting(self):
        """Read what the client sent already, without waiting, and note
        how many whole commands came before this reply (pipelined)."""
        try:
            while True:
                if not (isinstance(self.sock, ssl.SSLSocket) and
                        self.sock.pending()):
                    ready, _, _ = select.select([self.sock], [], [], 0)
                    if not ready:
                        break
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                socket.timeout):
            pass
        except (OSError, ssl.SSLError, ValueError):
            pass
        self.early = max(self.early, self.buf.count(b"\n"))

    def recv_line(self):
        """Return the next line (without EOL) as bytes; raise _Closed."""
        idle = 0.0
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > MAX_LINE:
                line, self.buf = self.buf[:MAX_LINE], b""
                self.conn.event("line over %d bytes truncated" % MAX_LINE)
                return line
            if self.server._stop.is_set():
                raise _Closed()
            if idle >= self.server.idle_timeout:
                self.conn.event("idle timeout")
                raise _Closed()
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                idle += POLL_SECONDS
                continue
            except (OSError, ssl.SSLError) as exc:
                self.conn.event("receive failed: %r" % exc)
                raise _Closed()
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    self.conn.event("unterminated last line")
                    return line
                self.conn.event("closed by client")
                raise _Closed()
            idle = 0.0
            self.buf += chunk

    def log_line(self, line):
        text = line.decode("latin-1")
        self.conn.lines.append(text)
        if DATA_RE.match(line):
            self.server.data_lines.append(text)
        if self.intermediate is not None:
            self.server.after_intermediate.append(
                (self.intermediate.decode("latin-1"), text))
        return text

    # -- dialogue -------------------------------------------------------------

    def encode_reply(self, text):
        eol = b"\n" if self.server.bare_lf else b"\r\n"
        # "{client_ip}": the client's address as this server sees it, as
        # Exim, Sendmail or Microsoft put it in their EHLO reply.
        text = text.replace("{client_ip}", self.conn.peer_ip)
        lines = text.replace("\r\n", "\n").split("\n")
        return b"".join(line.encode("utf-8") + eol for line in lines)

    def sync_check(self):
        """With sync_error: refuse a client that talked before its turn.

        Input already read, or waiting on the socket, before a reply is
        sent means the client did not wait for it (RFC 5321 §4.3.1 for the
        greeting; without PIPELINING, for every command).
        """
        server = self.server
        if server.sync_error is None:
            return
        if not self.buf:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0)
                if ready:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return      # the client left; nothing was early
                    self.buf += chunk
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ssl.SSLError, ValueError):
                return
        if not self.buf:
            return
        server.sync_errors += 1
        self.conn.event("synchronization error: the client sent %r before "
                        "its turn" % self.buf[:80])
        self.log_line(self.buf.split(b"\n", 1)[0].rstrip(b"\r"))
        self.buf = b""
        self.send(self.encode_reply(server.sync_error.get("text",
                                                          "554 SMTP "
                                                          "synchronization "
                                                          "error")))
        raise _Closed()

    def perform(self, action, default_text=None):
        """Carry out ACTION (or send DEFAULT_TEXT); return False to stop."""
        if action is None:
            self.sync_check()
            self.send(self.encode_reply(default_text))
            return True
        if "parts" in action:
            for part in action["parts"]:
                self.perform(part)
            if action["close"]:
                self.conn.event("closed after reply (scripted)")
                raise _Closed()
            return True
        self.sleep(action["delay"])
        kind = action["kind"]
        if kind == "drop":
            self.conn.event("dropped (scripted)")
            raise _Closed()
        if kind == "hang":
            self.conn.event("hanging (scripted)")
            self.hang()
        if kind == "none":
            return True
        self.sync_check()
        if "raw" in action:
            data = action["raw"]
        else:
            data = self.encode_reply(action["text"])
        self.send(data * action.get("repeat", 1))
        if action["close"]:
            self.conn.event("closed after reply (scripted)")
            raise _Closed()
        return True

    def hang(self):
        """Never reply again: log whatever arrives until the client leaves."""
        while True:
            self.log_line(self.recv_line())

    def run(self):
        server = self.server
        if server.implicit:
            # RFC 8314 §3.3: the handshake first, the greeting inside.
            self.handshake()
        self.sleep(server.greeting_delay)
        greeting = server.greeting[min(self.conn.index,
                                       len(server.greeting) - 1)]
        self.perform(greeting)
        while True:
            line = self.recv_line()
            if self.early > 0:
                self.early -= 1
                with server._lock:
                    server.pipelined += 1
            text = self.log_line(line)
            verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb not in VERBS:
                verb = verb if verb in server.replies else "*"
            if verb in ("EHLO", "HELO"):
                parts = text.split(None, 1)
                self.helo = parts[1].strip() if len(parts) > 1 else ""
            self.sleep(server.delays.get(verb, 0.0))
            if verb == "AUTH":
                self.do_auth(text)
                continue
            if self.authenticated and verb in server.after_auth:
                action = server.next_action_after_auth(verb, self.counts)
            else:
                action = server.next_action(verb, self.counts, self.helo)
            default = server.default_reply(verb, self.in_tls)
            if verb == "RCPT" and server.mailboxes is not None:
                default = server.rcpt_reply(text)
            if verb == "STARTTLS" and server.starttls_inject \
                    and not self.in_tls:
                self.send_suffix = server.starttls_inject
            if verb == "QUIT" and not self.released:
                # The session is over once QUIT is answered: stop counting
                # it as open before the 221 goes out, so a client that
                # connects again right after reading it is not seen as a
                # second simultaneous connection.
                self.released = True
                server._closed()
            action = self.limits_before(verb, action)
            if verb not in ("STARTTLS", "QUIT"):
                self.take_waiting()
            self.perform(action, default)
            self.limits_after(verb, default if action is None else
                              action.get("text", ""))
            if verb == "QUIT":
                self.conn.event("closed after QUIT")
                raise _Closed()
            if verb == "STARTTLS":
                sent = default if action is None else action.get("text", "")
                if sent.startswith("220") and server.ssl_context is not None \
                        and not self.in_tls:
                    self.start_tls()

    # -- the server's own limits ---------------------------------------------

    def limits_before(self, verb, action):
        """rcpt_limit, error_limits.soft and tarpit, before a reply."""
        server = self.server
        if verb == "RCPT":
            self.rcpts += 1
            if server.rcpt_limit and self.rcpt_ok >= server.rcpt_limit:
                action = {"kind": "reply", "close": False, "delay": 0.0,
                          "text": "452 4.5.3 Error: too many recipients"}
        delay = 0.0
        limits = server.error_limits
        if limits and self.errors >= limits.get("soft", 10):
            # Postfix: past smtpd_soft_error_limit every reply waits
            # smtpd_error_sleep_time.
            delay = float(limits.get("sleep", 1))
        tarpit = server.tarpit
        if tarpit and verb == "RCPT" and self.rcpts > tarpit.get("after", 0):
            delay = max(delay, float(tarpit.get("delay", 1)))
        if delay > 0:
            with server._lock:
                server.slowed_replies += 1
            self.conn.event("reply held back %.1f s" % delay)
            self.sleep(delay)
        return action

    def limits_after(self, verb, sent):
        """Count transactions, accepted recipients and errors; past
        error_limits.hard say 421 and hang up, as Postfix does."""
        server = self.server
        if verb in ("MAIL", "RSET"):
            self.rcpt_ok = 0
        if verb == "MAIL" and sent.startswith("2"):
            with server._lock:
                server.transactions += 1
        if verb == "RCPT" and sent.startswith("2"):
            self.rcpt_ok += 1
        if sent[:1] in ("4", "5") and verb not in ("EHLO", "QUIT"):
            self.errors += 1
            limits = server.error_limits
            if limits and self.errors >= limits.get("hard", 20):
                self.send(self.encode_reply("421 4.7.0 %s Error: too many "
                                            "errors" % server.name))
                self.conn.event("closed after too many errors")
                raise _Closed()

    # -- AUTH (RFC 4954) ----------------------------------------------------

    def auth_reply(self, text):
        self.perform({"kind": "reply", "text": text, "close": False,
                      "delay": 0.0})

    def auth_line(self):
        """The client's next SASL response line (logged)."""
        return self.log_line(self.recv_line())

    def do_auth(self, text):
        """Answer AUTH: scripted replies first, else the built-in check."""
        self.in_auth = True
        try:
            self.do_auth_exchange(text)
        finally:
            self.in_auth = False

    def do_auth_exchange(self, text):
        server = self.server
        action = server.next_action("AUTH", self.counts, self.helo)
        if action is not None:
            while True:
                self.perform(action)
                sent = action.get("text", "")
                if sent.startswith("235"):
                    self.authenticated = True
                if not sent.startswith("334"):
                    return
                self.auth_line()
                action = server.next_action("AUTH", self.counts, self.helo)
        auth = server.auth
        words = text.split()
        if auth is None:
            self.auth_reply("502 5.5.2 Error: command not recognized")
            return
        if self.authenticated:
            self.auth_reply("503 5.5.1 Error: already authenticated")
            return
        mech = words[1].upper() if len(words) > 1 else ""
        if mech not in auth["mechanisms"]:
            self.auth_reply("504 5.5.4 Unrecognized authentication type")
            return
        if auth["tls_only"] and not self.in_tls:
            self.auth_reply("538 5.7.11 Encryption required for requested "
                            "authentication mechanism")
            return
        self.auth_sent = [text]
        if len(words) > 2:
            server.auth_lines.append(words[2])
        try:
            ok = self.sasl_exchange(mech, words[2] if len(words) > 2
                                    else None)
        except (ValueError, UnicodeDecodeError):
            self.auth_reply("501 5.5.2 Cannot decode response")
            return
        if ok is None:
            self.auth_reply("501 5.7.0 Authentication aborted")
        elif ok:
            self.authenticated = True
            self.auth_reply(self.auth_echo("235", "2.7.0") +
                            "235 2.7.0 Authentication successful")
        else:
            self.auth_reply(self.auth_echo("535", "5.7.8") +
                            "535 5.7.8 Error: authentication failed: "
                            "authentication failure")

    def auth_echo(self, code, esc):
        """With auth.echo: lines quoting what the client sent, decoded."""
        if not self.server.auth["echo"]:
            return ""
        out = []
        for line in self.auth_sent:
            out.append("%s-%s you sent: %s" % (code, esc, line))
            word = line.split()[-1] if line.split() else ""
            try:
                blob = base64.b64decode(word, validate=True)
            except ValueError:
                continue
            if blob:
                out.append("%s-%s that is: %s" % (
                    code, esc, " / ".join(part.decode("latin-1") for part
                                          in blob.split(b"\0") if part)))
        return "\n".join(out) + "\n"

    def sasl_exchange(self, mech, initial):
        """True / False for the credentials, None when cancelled."""
        auth = self.server.auth
        user, password = auth["user"].encode(), auth["password"].encode()

        def ask(prompt):
            if auth["echo"] and len(self.auth_sent) > 1:
                prompt += " (you sent %s)" % self.auth_sent[-1]
            self.auth_reply("334 " + prompt)
            line = self.auth_line()
            self.auth_sent.append(line)
            self.server.auth_lines.append(line.strip())
            if line.strip() == "*":
                return None
            return base64.b64decode(line.strip(), validate=True)

        if mech == "PLAIN":
            blob = base64.b64decode(initial, validate=True) \
                if initial is not None else ask("")
            if blob is None:
                return None
            parts = blob.split(b"\0")
            return len(parts) == 3 and parts[1] == user and \
                parts[2] == password
        if mech == "LOGIN":
            got_user = ask("VXNlcm5hbWU6")
            if got_user is None:
                return None
            got_password = ask("UGFzc3dvcmQ6")
            if got_password is None:
                return None
            return got_user == user and got_password == password
        challenge = ("<%d.%d@%s>" % (os.getpid(), int(time.time()),
                                     self.server.name)).encode()
        answer = ask(base64.b64encode(challenge).decode())
        if answer is None:
            return None
        want = user + b" " + hmac.new(password, challenge,
                                      hashlib.md5).hexdigest().encode()
        return hmac.compare_digest(answer, want)

    def start_tls(self):
        """After 220 to STARTTLS: inject if scripted, then handshake."""
        server = self.server
        if server.starttls_inject:
            self.conn.event("injected %r after 220" % server.starttls_inject)
        if self.buf:
            self.conn.event("client sent %d bytes after STARTTLS before the "
                            "handshake" % len(self.buf))
            self.buf = b""
        self.handshake()

    def handshake(self):
        """The server side of the TLS handshake on this connection."""
        server = self.server
        self.sock.settimeout(10)
        try:
            self.sock = server.ssl_context.wrap_socket(self.sock,
                                                       server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.conn.event("TLS handshake failed: %r" % exc)
            raise _Closed()
        self.sock.settimeout(POLL_SECONDS)
        self.in_tls = True
        self.conn.tls = True
        self.conn.event("TLS established (%s%s)" % (
            self.sock.version(), ", session resumed"
            if self.sock.session_reused else ""))


class FakeSMTPGroup:
    """All servers of a scenario, on one shared port.

    Binds every server to the same port (retrying with a new port when one
    address has it taken), creates certificates when a server asks for TLS,
    starts and stops them together.
    """

    def __init__(self, specs, workdir, port=0, extra_tls=()):
        """EXTRA_TLS: (name, tls spec) of other TLS sites of the case (the
        HTTPS servers of fakehttps) whose certificates come from the same
        CA; their files are in self.leaves too."""
        self.servers = [FakeSMTPServer(spec, i) for i, spec in
                        enumerate(specs or [])]
        ips = [s.ip for s in self.servers]
        if len(set(ips)) != len(ips):
            raise SpecError("two servers on the same address")
        self.ca_file = None
        self.leaves = {}
        tls_servers = [(s.name, s.tls) for s in self.servers
                       if s.tls is not None] + list(extra_tls)
        if tls_servers:
            names = [name for name, _kind in tls_servers]
            if len(set(names)) != len(names):
                raise SpecError("TLS servers need distinct names")
            self.ca_file, self.leaves = make_certificates(workdir,
                                                          tls_servers)
            for server in self.servers:
                if server.tls is not None:
                    server.set_certificate(*self.leaves[server.name])
        self.port = self._bind_all(port)

    def _bind_all(self, port):
        if not self.servers:
            # Nobody listens; still reserve a port nobody uses on 127.0.0.1.
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", port))
            chosen = probe.getsockname()[1]
            probe.close()
            return chosen
        last = None
        for _try in range(50):
            bound = []
            try:
                chosen = self.servers[0].bind(port)
                bound.append(self.servers[0])
                for server in self.servers[1:]:
                    server.bind(chosen)
                    bound.append(server)
                return chosen
            except OSError as exc:
                last = exc
                for server in bound:
                    server.sock.close()
                    server.sock = None
                    for filler in server._fillers:
                        filler.close()
                    server._fillers = []
                if port:
                    break
        raise OSError("cannot bind the SMTP servers: %s" % last)

    def start(self):
        for server in self.servers:
            server.start()
        return self

    def stop(self):
        for server in self.servers:
            server.stop()

    def wait_idle(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        ok = True
        for server in self.servers:
            ok = server.wait_idle(max(0.0, deadline - time.monotonic())) \
                and ok
        return ok

    def received(self):
        """[(server name, line)] for every line every server received."""
        return [(s.name, line) for s in self.servers
                for conn in s.connections for line in conn.lines]

    def data_lines(self):
        return [(s.name, line) for s in self.servers for line in s.data_lines]

    def after_intermediate(self):
        """[(server name, 3yz reply, line)]: lines sent after a 3yz."""
        return [(s.name, reply, line) for s in self.servers
                for reply, line in s.after_intermediate]

    def auth_lines(self):
        """Every SASL response a client sent to the built-in AUTH."""
        return [line for s in self.servers for line in s.auth_lines]

    def errors(self):
        return [e for s in self.servers for e in s.errors]

    def sync_errors(self):
        return [(s.name, s.sync_errors) for s in self.servers
                if s.sync_errors]

    def describe(self):
        """A readable dump of what every server saw, for failure reports."""
        out = []
        for server in self.servers:
            out.append("server %s (%s:%s)%s: %d connection(s)"
                       % (server.name, "[%s]" % server.ip if ":" in
                          server.ip else server.ip, server.port,
                          " refusing" if server.refuse else "",
                          len(server.connections)))
            for n, conn in enumerate(server.connections):
                out.append("  connection %d from %s%s" %
                           (n + 1, conn.peer, " [TLS]" if conn.tls else ""))
                for line in conn.lines:
                    out.append("    C: %r" % line)
                for event in conn.events:
                    out.append("    -- %s" % event)
        return "\n".join(out)
