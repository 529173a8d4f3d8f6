"""A scripted SOCKS 5 proxy (RFC 1928, RFC 1929) for the scenario tests.

Described by the ``[socks]`` table of a scenario file (docs/TESTING.md)::

    {
        "user": "alice",           # ask for username/password (RFC 1929)
        "password": "s3cret",
        "reply": 5,                # the CONNECT reply code for every request
        "replies": [5, 0],         # ... or one per request; the last repeats
        "refuse_port": True,       # reply 2 (not allowed by ruleset) to
                                   # requests for the case's SMTP port: a
                                   # proxy that refuses port 25
        "hang": "request",         # never answer "hello", "auth" or "request"
        "short_reply": True,       # failure replies are only VER REP, then
                                   # the proxy closes
        "bound": "0.0.0.0",        # BND.ADDR of a success reply (default:
                                   # the address it connected from)
        "source": "127.0.0.9",     # the address it connects from: its egress
        "answer": "HTTP/1.1 400 Bad Request\\r\\n\\r\\n",
                                   # send this instead of any SOCKS answer
        "hosts": {"mx1.example.test": "127.0.0.2"},
                                   # names for ATYP domain; else the case's
                                   # DNS zone (A, then AAAA records)
    }

The proxy listens on 127.0.0.1 and connects only to loopback addresses: a
request for any other address is refused (reply 2) and recorded as an
error, which fails the case.  A request the proxy accepts is connected,
then relayed both ways until one side closes.  A connection it cannot make
gets reply 5 (refused) or 4 (no answer in time).

Every step is logged (``log``): ``HELLO 00 02`` (the methods offered),
``AUTH alice ok`` or ``AUTH alice bad``, ``CONNECT 127.0.0.2:2525`` or
``CONNECT mx1.example.test:2525``, ``REPLY 2``.  The password itself is
never logged.  Threads poll a stop flag, like the other harness servers.
"""

import ipaddress
import select
import socket
import struct
import threading
import time

import fakedns
from fakesmtp import POLL_SECONDS, ThreadedServer

IDLE_SECONDS = 30.0
CONNECT_SECONDS = 5.0

SOCKS_KEYS = ("user", "password", "reply", "replies", "refuse_port", "hang",
              "short_reply", "bound", "source", "answer", "hosts")
HANG_STEPS = ("hello", "auth", "request")


class SpecError(ValueError):
    """A proxy description that does not make sense."""


class _Closed(Exception):
    """The client went away, or the proxy is stopping."""


class FakeSOCKS(ThreadedServer):
    """One scripted SOCKS 5 proxy on 127.0.0.1."""

    def __init__(self, spec, zone=None, smtp_port=None):
        unknown = set(spec) - set(SOCKS_KEYS)
        if unknown:
            raise SpecError("socks: unknown keys %s" % sorted(unknown))
        self.user = spec.get("user")
        self.password = spec.get("password")
        if (self.user is None) != (self.password is None):
            raise SpecError("socks: user and password go together")
        replies = spec.get("replies", [spec.get("reply", 0)])
        if not isinstance(replies, list) or not replies or \
                not all(isinstance(r, int) and 0 <= r <= 255
                        for r in replies):
            raise SpecError("socks: reply codes are numbers 0-255")
        self.replies = replies
        self.refuse_port = smtp_port if spec.get("refuse_port") else None
        self.hang = spec.get("hang")
        if self.hang is not None and self.hang not in HANG_STEPS:
            raise SpecError("socks: hang must be one of %s"
                            % ", ".join(HANG_STEPS))
        self.short_reply = bool(spec.get("short_reply", False))
        self.bound = spec.get("bound")
        self.source = spec.get("source")
        for what in (self.bound, self.source):
            if what is not None:
                ipaddress.ip_address(what)
        if self.source is not None and \
                not ipaddress.ip_address(self.source).is_loopback:
            raise SpecError("socks: source must be a loopback address")
        answer = spec.get("answer")
        self.answer = answer.encode("latin-1") if answer is not None \
            else None
        self.hosts = {fakedns.normalize_name(k): v for k, v in
                      (spec.get("hosts") or {}).items()}
        self.zone = fakedns.Zone(zone or {})
        self.log = []
        self.errors = []
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    # -- running ----------------------------------------------------------

    def start(self):
        self.spawn(lambda: self.accept_loop(self._accepted_one), "fakesocks")
        return self

    def stop(self):
        self.join_threads()
        try:
            self.sock.close()
        except OSError:
            pass

    def note(self, text):
        with self._lock:
            self.log.append(text)

    def _accepted_one(self, client, _peer):
        with self._lock:
            self.connections += 1
        self.spawn(self._serve, "fakesocks-client", (client,))

    def _serve(self, client):
        upstream = None
        try:
            client.settimeout(POLL_SECONDS)
            upstream = _Dialogue(self, client).run()
        except _Closed:
            pass
        except Exception as exc:  # report, never crash the runner
            self.errors.append("socks: %r" % exc)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    # -- decisions ----------------------------------------------------------

    def next_reply(self):
        with self._lock:
            index = self.requests
            self.requests += 1
        return self.replies[min(index, len(self.replies) - 1)]

    def resolve(self, name):
        """The loopback address of NAME, or None."""
        key = fakedns.normalize_name(name)
        if key in self.hosts:
            return self.hosts[key]
        entry = self.zone.entries.get(key, {})
        for rtype in ("A", "AAAA"):
            if entry.get(rtype):
                return entry[rtype][0]
        return None


class _Dialogue:
    """One client: the handshake, then the relay."""

    def __init__(self, proxy, sock):
        self.proxy = proxy
        self.sock = sock
        self.buf = b""

    def recv_exact(self, n):
        idle = 0.0
        while len(self.buf) < n:
            if self.proxy._stop.is_set() or idle >= IDLE_SECONDS:
                raise _Closed()
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                idle += POLL_SECONDS
                continue
            except OSError:
                raise _Closed()
            if not chunk:
                raise _Closed()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def hang_if(self, step):
        """Say nothing more when the scenario hangs at STEP."""
        if self.proxy.hang != step:
            return
        self.proxy.note("HANG %s" % step)
        while True:
            self.recv_exact(len(self.buf) + 1)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            raise _Closed()

    def run(self):
        proxy = self.proxy
        ver, nmethods = self.recv_exact(2)
        methods = self.recv_exact(nmethods)
        proxy.note("HELLO %s" % " ".join("%02x" % m for m in methods))
        if ver != 5:
            proxy.errors.append("socks: the client sent version %d" % ver)
            raise _Closed()
        if proxy.answer is not None:
            self.send(proxy.answer)
            raise _Closed()
        self.hang_if("hello")
        if proxy.user is not None:
            if 2 not in methods:
                self.send(b"\x05\xff")
                proxy.note("METHOD ff")
                raise _Closed()
            self.send(b"\x05\x02")
            self.authenticate()
        elif 0 in methods:
            self.send(b"\x05\x00")
        else:
            self.send(b"\x05\xff")
            raise _Closed()
        return self.request()

    def authenticate(self):
        proxy = self.proxy
        ver, ulen = self.recv_exact(2)
        user = self.recv_exact(ulen).decode("latin-1")
        plen = self.recv_exact(1)[0]
        password = self.recv_exact(plen).decode("latin-1")
        ok = ver == 1 and user == proxy.user and password == proxy.password
        proxy.note("AUTH %s %s" % (user, "ok" if ok else "bad"))
        self.hang_if("auth")
        self.send(bytes([1, 0 if ok else 1]))
        if not ok:
            raise _Closed()

    def read_request(self):
        """(host text, address or None, port) of a CONNECT."""
        ver, cmd, _rsv, atyp = self.recv_exact(4)
        if ver != 5 or cmd != 1:
            self.proxy.errors.append("socks: not a CONNECT request")
            raise _Closed()
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, self.recv_exact(4))
            addr = host
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, self.recv_exact(16))
            addr = host
        elif atyp == 3:
            host = self.recv_exact(self.recv_exact(1)[0]).decode("latin-1")
            addr = self.proxy.resolve(host)
        else:
            self.proxy.errors.append("socks: address type %d" % atyp)
            raise _Closed()
        port = struct.unpack("!H", self.recv_exact(2))[0]
        return host, addr, port

    def reply(self, code, bound=("0.0.0.0", 0)):
        self.proxy.note("REPLY %d" % code)
        if code != 0 and self.proxy.short_reply:
            self.send(bytes([5, code]))
            raise _Closed()
        ip = ipaddress.ip_address(bound[0])
        atyp = 1 if ip.version == 4 else 4
        self.send(bytes([5, code, 0, atyp]) + ip.packed +
                  struct.pack("!H", bound[1]))
        if code != 0:
            raise _Closed()

    def request(self):
        proxy = self.proxy
        host, addr, port = self.read_request()
        proxy.note("CONNECT %s:%d" % (host if ":" not in host else
                                      "[%s]" % host, port))
        self.hang_if("request")
        code = proxy.next_reply()
        if code == 0 and proxy.refuse_port is not None and \
                port == proxy.refuse_port:
            code = 2
        if code == 0 and addr is None:
            code = 4       # the name does not resolve
        if code == 0 and not ipaddress.ip_address(addr).is_loopback:
            proxy.errors.append("socks: asked for %s, not loopback" % addr)
            code = 2
        if code != 0:
            self.reply(code)
            return None
        upstream, code = self.connect(addr, port)
        if upstream is None:
            self.reply(code)
            return None
        local = upstream.getsockname()
        self.reply(0, (proxy.bound or local[0], local[1]))
        self.relay(upstream)
        return upstream

    def connect(self, addr, port):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        upstream = socket.socket(family, socket.SOCK_STREAM)
        try:
            if self.proxy.source is not None and family == socket.AF_INET:
                upstream.bind((self.proxy.source, 0))
            upstream.settimeout(CONNECT_SECONDS)
            upstream.connect((addr, port))
        except socket.timeout:
            upstream.close()
            return None, 4
        except OSError:
            upstream.close()
            return None, 5
        upstream.settimeout(POLL_SECONDS)
        return upstream, 0

    def relay(self, upstream):
        if self.buf:
            upstream.sendall(self.buf)
            self.buf = b""
        pair = {self.sock: upstream, upstream: self.sock}
        last = time.monotonic()
        while not self.proxy._stop.is_set():
            if time.monotonic() - last > IDLE_SECONDS:
                return
            try:
                ready, _, _ = select.select(list(pair), [], [], POLL_SECONDS)
            except (OSError, ValueError):
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    try:
                        pair[sock].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                last = time.monotonic()
                try:
                    pair[sock].sendall(data)
                except OSError:
                    return
