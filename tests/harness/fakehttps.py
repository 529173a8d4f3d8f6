"""Scripted loopback HTTPS sites for the smtpprobe scenario tests.

A site serves the MTA-STS policy of a domain (RFC 8461 §3.3) at
``https://mta-sts.<domain>/.well-known/mta-sts.txt``.  Each site is
described by a dict, normally one ``[[https]]`` table of a scenario file::

    {
        "name": "mta-sts.example.test",   # host name: the certificate's SAN
        "ip": "127.0.0.30",               # loopback address to listen on
        "policy": "version: STSv1\\nmode: enforce\\nmx: mx1.example.test\\n"
                  "max_age: 86400\\n",
        "status": 200,                    # HTTP status of the answer
        "content_type": "text/plain",
        "location": None,                 # a Location header (redirects)
        "delay": 0,                       # seconds before answering
        "tls": {"cert": "valid"},         # as fakesmtp's tls table
    }

Every path other than /.well-known/mta-sts.txt gets 404.  Requests are
logged (``requests``: a list of (method, path, Host header)).  The
certificate comes from the same throw-away CA as the SMTP servers'
(fakesmtp.FakeSMTPGroup's extra_tls); all sites of a case listen on one
shared port, which the probe is told through the test-only environment
variable SMTPPROBE_MTA_STS_PORT.  Sites run in daemon threads and stop
when ``stop()`` is called.
"""

import http.server
import ipaddress
import threading
import time

import fakesmtp

SITE_KEYS = ("name", "ip", "policy", "status", "content_type", "location",
             "delay", "tls")
POLICY_PATH = "/.well-known/mta-sts.txt"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):    # quiet: requests are logged
        pass

    def do_GET(self):  # noqa: N802  (http.server's naming)
        site = self.server.site
        site.requests.append(("GET", self.path,
                              self.headers.get("Host", "")))
        time.sleep(site.delay)
        if self.path != POLICY_PATH:
            body, status, ctype = b"not found\n", 404, "text/plain"
        else:
            body = site.policy.encode("utf-8")
            status, ctype = site.status, site.content_type
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if site.location:
            self.send_header("Location", site.location)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeHTTPSSite:
    """One HTTPS site on one loopback address."""

    def __init__(self, spec, index=0):
        unknown = set(spec) - set(SITE_KEYS)
        if unknown:
            raise fakesmtp.SpecError("https site %d: unknown keys %s"
                                     % (index, sorted(unknown)))
        self.name = spec.get("name", "mta-sts.example.test")
        self.ip = spec.get("ip", "127.0.0.%d" % (30 + index))
        try:
            loopback = ipaddress.ip_address(self.ip).is_loopback
        except ValueError:
            loopback = False
        if not loopback or ":" in self.ip:
            raise fakesmtp.SpecError("https site %s: only IPv4 loopback "
                                     "addresses (127.0.0.0/8)" % self.name)
        self.policy = spec.get("policy", "")
        self.status = int(spec.get("status", 200))
        self.content_type = spec.get("content_type", "text/plain")
        self.location = spec.get("location")
        self.delay = float(spec.get("delay", 0))
        self.tls = fakesmtp.check_tls_spec("https site %s" % self.name,
                                           spec.get("tls", "valid"))
        self.requests = []
        self.httpd = None
        self.port = None
        self.thread = None

    def bind(self, port, cert, key):
        ctx = fakesmtp.server_tls_context(cert, key, self.tls)
        httpd = _Server((self.ip, port), _Handler, bind_and_activate=False)
        try:
            httpd.server_bind()
            httpd.server_activate()
        except OSError:
            httpd.server_close()
            raise
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=True)
        httpd.site = self
        self.httpd = httpd
        self.port = httpd.server_address[1]
        return self.port

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True,
                                       name="fakehttps-%s" % self.ip)
        self.thread.start()

    def stop(self):
        if self.httpd is None:
            return
        if self.thread is not None:
            self.httpd.shutdown()   # returns once serve_forever has
            self.thread = None
        self.httpd.server_close()
        self.httpd = None


class FakeHTTPSGroup:
    """The HTTPS sites of a case, on one shared port."""

    def __init__(self, specs):
        self.sites = [FakeHTTPSSite(spec, i) for i, spec in
                      enumerate(specs or [])]
        ips = [s.ip for s in self.sites]
        if len(set(ips)) != len(ips):
            raise fakesmtp.SpecError("two https sites on the same address")
        self.port = None

    def tls_specs(self):
        """(name, tls spec) of every site, for the certificates."""
        return [(site.name, site.tls) for site in self.sites]

    def start(self, leaves):
        """Bind every site to one free port and serve; LEAVES maps a site
        name to its (cert, key) files."""
        last = None
        for _try in range(50):
            bound = []
            try:
                port = 0
                for site in self.sites:
                    port = site.bind(port, *leaves[site.name])
                    bound.append(site)
                self.port = port
                break
            except OSError as exc:
                last = exc
                for site in bound:
                    site.stop()
        else:
            raise OSError("cannot bind the HTTPS sites: %s" % last)
        for site in self.sites:
            site.start()
        return self

    def stop(self):
        for site in self.sites:
            site.stop()

    def requests(self):
        return [(site.name,) + r for site in self.sites
                for r in site.requests]

    def describe(self):
        out = []
        for site in self.sites:
            out.append("https site %s (%s:%s): %d request(s)"
                       % (site.name, site.ip, site.port, len(site.requests)))
            for method, path, host in site.requests:
                out.append("    %s %s (Host: %s)" % (method, path, host))
        return "\n".join(out)
