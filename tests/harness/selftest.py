#!/usr/bin/env python3
"""Self-test of the scenario harness; needs no smtpprobe binary.

    python3 tests/harness/selftest.py [-v]

1. fakedns: raw UDP and TCP queries built here (including a compressed
   question name and garbage packets) for every record type and behaviour.
2. fakesmtp: a socket client does EHLO, STARTTLS (verifying the test CA),
   EHLO, MAIL, RCPT and DATA, and the DATA detector must fire; scripted
   replies, reply lists, bare LF, drop, refuse, STARTTLS injection and the
   bad certificates are checked too.
3. fakesocks: a socket client speaks SOCKS 5 to it (methods,
   username/password, CONNECT by address and by name, scripted and short
   replies, the refused port, loopback only, a non-SOCKS answer), and a
   server with refuse = "timeout" lets a connect time out.
4. run_scenario.py: runs a few scenario files against a tiny mock probe
   (``selftest.py --mock-probe``, a much simplified smtpprobe in Python),
   and checks that a wrong expectation and a DATA command make a case fail,
   and that the mock's reports, which are not what docs/schema/ describes,
   fail the schema check unless it is turned off.
4. schemacheck.py: every schema of docs/schema/ loads, the keywords it
   implements accept and refuse what they should, and, when the jsonschema
   library is installed, the schemas are valid draft 2020-12 schemas and
   both validators agree on sample documents.

Exit status 0 when everything passed.  Only loopback traffic.
"""

import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(os.path.dirname(HERE), "scenarios")
sys.path.insert(0, HERE)

import fakedns  # noqa: E402
import fakehttps  # noqa: E402
import fakesmtp  # noqa: E402
import fakesocks  # noqa: E402
import schemacheck  # noqa: E402


# -- a minimal DNS client ------------------------------------------------------

def build_query(name, qtype, qid=0x1234, compress=False):
    """A standard query with RD; COMPRESS puts the parent behind a pointer."""
    header = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0)
    qtype_num = fakedns.TYPE_NUMBERS[qtype]
    if not compress:
        return header + fakedns.encode_name(name) + struct.pack("!2H",
                                                                qtype_num, 1)
    first, parent = name.split(".", 1)
    # Question: <first label> + pointer to the parent stored after it.
    question_len = 1 + len(first) + 2 + 4
    target = 12 + question_len
    question = bytes([len(first)]) + first.encode() + \
        struct.pack("!H", 0xC000 | target) + struct.pack("!2H", qtype_num, 1)
    return header + question + fakedns.encode_name(parent)


def parse_response(packet):
    """Return (id, flags, question name, answers, authority)."""
    qid, flags, qd, an, ns, _ar = struct.unpack("!6H", packet[:12])
    labels, offset = fakedns.decode_name(packet, 12)
    offset += 4
    sections = []
    for count in (an, ns):
        records = []
        for _ in range(count):
            owner, offset = fakedns.decode_name(packet, offset)
            rtype, _cls, _ttl, rdlen = struct.unpack(
                "!HHIH", packet[offset:offset + 10])
            offset += 10
            rdata = packet[offset:offset + rdlen]
            start = offset
            offset += rdlen
            name = fakedns.TYPE_NAMES.get(rtype, str(rtype))
            if name == "A":
                value = socket.inet_ntop(socket.AF_INET, rdata)
            elif name == "AAAA":
                value = socket.inet_ntop(socket.AF_INET6, rdata)
            elif name == "MX":
                target, _ = fakedns.decode_name(packet, start + 2)
                value = "%d %s" % (struct.unpack("!H", rdata[:2])[0],
                                   b".".join(target).decode() or ".")
            elif name in ("CNAME", "PTR"):
                target, _ = fakedns.decode_name(packet, start)
                value = b".".join(target).decode()
            elif name == "TXT":
                value = rdata[1:1 + rdata[0]].decode()
            else:
                value = rdata
            records.append((b".".join(owner).decode(), name, value))
        sections.append(records)
    return qid, flags, b".".join(labels).decode(), sections[0], sections[1]


def udp_ask(port, packet, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except socket.timeout:
            return None


def tcp_ask(port, packet):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(struct.pack("!H", len(packet)) + packet)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(
                "!H", data[:2])[0]:
            chunk = sock.recv(65535)
            if not chunk:
                break
            data += chunk
        return data[2:]


ZONE = {
    "example.test": {"MX": ["10 mx1.example.test", "20 mx2.example.test"],
                     "TXT": "v=spf1 -all"},
    "mx1.example.test": {"A": "127.0.0.2", "AAAA": "::1"},
    "mx2.example.test": {"A": ["127.0.0.3", "127.0.0.4"]},
    "nullmx.test": {"MX": "0 ."},
    "alias.test": {"CNAME": "mx1.example.test"},
    "dangling.test": {"CNAME": "nowhere.test"},
    "fail.test": {"action": "servfail"},
    "refuse.test": {"action": "refused"},
    "gone.test": {"action": "nxdomain"},
    "slow.test": {"action": "timeout"},
    "half.test": {"A": "127.0.0.5", "action": {"MX": "servfail"}},
    "big.test": {"action": "truncate", "A": "127.0.0.6"},
    "2.0.0.127.in-addr.arpa": {"PTR": "mx1.example.test"},
    "::1": {"PTR": "mx6.example.test"},     # the owner is ::1's ip6.arpa name
    "_25._tcp.mx1.example.test": {"TLSA": "3 1 1 " + "ab" * 32, "ad": True},
    "_25._tcp.mx2.example.test": {"TLSA": ["2 0 1 " + "cd" * 32,
                                           "3 1 2 " + "ef" * 64]},
}


class DNSTest(unittest.TestCase):
    """fakedns answers like a real authoritative server."""

    @classmethod
    def setUpClass(cls):
        cls.server = fakedns.FakeDNS(ZONE).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def ask(self, name, qtype, **kw):
        raw = udp_ask(self.server.port, build_query(name, qtype, **kw))
        self.assertIsNotNone(raw, "no answer for %s %s" % (qtype, name))
        return parse_response(raw)

    def test_a_and_flags(self):
        qid, flags, qname, answers, _ = self.ask("mx1.example.test", "A")
        self.assertEqual(qid, 0x1234)
        self.assertTrue(flags & 0x8000 and flags & 0x0400 and flags & 0x0080)
        self.assertTrue(flags & 0x0100, "RD copied")
        self.assertEqual(flags & 0xF, 0)
        self.assertEqual(qname, "mx1.example.test")
        self.assertEqual(answers, [("mx1.example.test", "A", "127.0.0.2")])

    def test_aaaa_mx_txt_ptr(self):
        self.assertEqual(self.ask("mx1.example.test", "AAAA")[3],
                         [("mx1.example.test", "AAAA", "::1")])
        self.assertEqual([r[2] for r in self.ask("example.test", "MX")[3]],
                         ["10 mx1.example.test", "20 mx2.example.test"])
        self.assertEqual(self.ask("example.test", "TXT")[3][0][2],
                         "v=spf1 -all")
        self.assertEqual(self.ask("2.0.0.127.in-addr.arpa", "PTR")[3][0][2],
                         "mx1.example.test")
        self.assertEqual(len(self.ask("mx2.example.test", "A")[3]), 2)
        v6 = "1." + "0." * 31 + "ip6.arpa"
        self.assertEqual(self.ask(v6, "PTR")[3], [(v6, "PTR",
                                                    "mx6.example.test")])

    def test_tlsa_and_ad(self):
        _, flags, _, answers, _ = self.ask("_25._tcp.mx1.example.test",
                                           "TLSA")
        self.assertTrue(flags & 0x0020, "AD set for a name with ad = true")
        self.assertEqual(answers, [("_25._tcp.mx1.example.test", "TLSA",
                                    bytes([3, 1, 1]) + b"\xab" * 32)])
        _, flags, _, answers, _ = self.ask("_25._tcp.mx2.example.test",
                                           "TLSA")
        self.assertFalse(flags & 0x0020, "no AD without ad = true")
        self.assertEqual([r[2][:3] for r in answers],
                         [bytes([2, 0, 1]), bytes([3, 1, 2])])
        _, flags, _, answers, _ = self.ask("mx1.example.test", "A")
        self.assertFalse(flags & 0x0020)

    def test_null_mx(self):
        self.assertEqual(self.ask("nullmx.test", "MX")[3],
                         [("nullmx.test", "MX", "0 .")])

    def test_case_insensitive_and_echo(self):
        _, _, qname, answers, _ = self.ask("MX1.Example.TEST", "A")
        self.assertEqual(qname, "MX1.Example.TEST")
        self.assertEqual(answers[0][2], "127.0.0.2")

    def test_compressed_question(self):
        _, flags, qname, answers, _ = self.ask("mx1.example.test", "A",
                                               compress=True)
        self.assertEqual(qname, "mx1.example.test")
        self.assertEqual(answers[0][2], "127.0.0.2")

    def test_cname_chain(self):
        _, flags, _, answers, _ = self.ask("alias.test", "A")
        self.assertEqual(answers, [("alias.test", "CNAME",
                                    "mx1.example.test"),
                                   ("mx1.example.test", "A", "127.0.0.2")])
        _, flags, _, answers, auth = self.ask("dangling.test", "A")
        self.assertEqual(flags & 0xF, 3)
        self.assertEqual(answers[0][1], "CNAME")

    def test_negative(self):
        _, flags, _, answers, auth = self.ask("nothere.test", "A")
        self.assertEqual((flags & 0xF, answers), (3, []))
        self.assertEqual(auth[0][1], "SOA")
        self.assertEqual(self.ask("gone.test", "MX")[1] & 0xF, 3)
        _, flags, _, answers, auth = self.ask("mx1.example.test", "MX")
        self.assertEqual((flags & 0xF, answers), (0, []), "NODATA")
        self.assertEqual(auth[0][1], "SOA")
        # A parent of a zone name exists (empty non-terminal): NODATA.
        self.assertEqual(self.ask("test", "A")[1] & 0xF, 0)

    def test_failures(self):
        self.assertEqual(self.ask("fail.test", "A")[1] & 0xF, 2)
        self.assertEqual(self.ask("refuse.test", "MX")[1] & 0xF, 5)
        self.assertEqual(self.ask("half.test", "MX")[1] & 0xF, 2)
        self.assertEqual(self.ask("half.test", "A")[3][0][2], "127.0.0.5")
        self.assertIsNone(udp_ask(self.server.port,
                                  build_query("slow.test", "A"), 0.5))

    def test_garbage_ignored(self):
        for junk in (b"", b"\x00", b"\xff" * 40,
                     build_query("x.test", "A")[:14],
                     struct.pack("!6H", 1, 0x8000, 1, 0, 0, 0)):
            self.assertIsNone(udp_ask(self.server.port, junk, 0.3))
        loop = struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + \
            struct.pack("!2H", 1, 1)
        self.assertIsNone(udp_ask(self.server.port, loop, 0.3))
        self.assertEqual(self.ask("mx1.example.test", "A")[3][0][2],
                         "127.0.0.2")

    def test_truncation_and_tcp(self):
        _, flags, _, answers, _ = self.ask("big.test", "A")
        self.assertTrue(flags & 0x0200)
        self.assertEqual(answers, [])
        resp = parse_response(tcp_ask(self.server.port,
                                      build_query("big.test", "A")))
        self.assertFalse(resp[1] & 0x0200)
        self.assertEqual(resp[3][0][2], "127.0.0.6")
        self.assertIn(("tcp", "A", "big.test"), self.server.queries)


# -- a minimal SMTP client -----------------------------------------------------

class Client:
    """Line-oriented SMTP client over a plain or TLS socket."""

    def __init__(self, ip, port):
        self.sock = socket.create_connection((ip, port), timeout=5)
        self.buf = b""

    def read_reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.read_reply()

    def starttls(self, ca_file, name):
        ctx = ssl.create_default_context(cafile=ca_file)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=name)

    def close(self):
        self.sock.close()


class SMTPTest(unittest.TestCase):
    """fakesmtp follows its script."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        specs = [
            {"name": "mx1.example.test", "tls": {"cert": "valid"}},
            {"name": "mx2.example.test", "bare_lf": True,
             "greeting": "220-mx2 hello\n220 ready",
             "replies": {"EHLO": ["502 5.5.2 no", "250 mx2"],
                         "RCPT": "550 5.1.1 <x>: unknown", "MAIL": "drop"}},
            {"name": "mx3.example.test", "refuse": True},
            {"name": "mx4.example.test", "refuse": "close"},
            {"name": "mx5.example.test", "tls": {"cert": "wrong_name"},
             "starttls_inject": "250 injected"},
            {"name": "mx6.example.test", "tls": {"cert": "expired"},
             "replies": {"NOOP": {"raw": "250 raw\xff\n"},
                         "RSET": {"text": "421 bye", "close": True}}},
            {"name": "mx7.example.test", "tls": {"cert": "self_signed"},
             "greeting": "none", "replies": {"HELO": "hang"}},
            {"name": "mx8.example.test", "ip": "127.0.0.9",
             "replies": {"MAIL": "250 2.1.0 sender ok"},
             "by_helo": [
                 {"match": "LocalHost",
                  "replies": {"RCPT": "504 5.5.2 <{helo}>: Helo command "
                                      "rejected: need fully-qualified "
                                      "hostname"}},
                 {"match": r"re:^sho",
                  "replies": {"EHLO": ["550 5.7.1 <{helo}>: no", "250 x"],
                              "HELO": "550 5.7.1 <{helo}>: no"}}]},
        ]
        cls.group = fakesmtp.FakeSMTPGroup(specs, cls.tmp.name).start()
        cls.port = cls.group.port
        cls.srv = {s.name: s for s in cls.group.servers}

    @classmethod
    def tearDownClass(cls):
        cls.group.stop()
        cls.tmp.cleanup()

    def test_full_dialogue_with_tls_and_data_detector(self):
        c = Client("127.0.0.2", self.port)
        self.assertTrue(c.read_reply()[0].startswith(b"220 mx1.example.test"))
        ehlo = c.cmd("EHLO probe.test.invalid")
        self.assertIn(b"250-STARTTLS\r", ehlo)
        self.assertEqual(ehlo[-1], b"250 8BITMIME\r")
        self.assertEqual(c.cmd("STARTTLS")[0][:3], b"220")
        c.starttls(self.group.ca_file, "mx1.example.test")
        ehlo = c.cmd("EHLO probe.test.invalid")
        self.assertNotIn(b"250-STARTTLS\r", ehlo)
        self.assertEqual(c.cmd("MAIL FROM:<probe@test.invalid>")[0][:3],
                         b"250")
        self.assertEqual(c.cmd("RCPT TO:<user@example.test>")[0][:3], b"250")
        self.assertEqual(c.cmd("data")[0][:3], b"554")
        self.assertEqual(c.cmd("QUIT")[0][:3], b"221")
        c.close()
        self.group.wait_idle(2)
        server = self.srv["mx1.example.test"]
        self.assertEqual(server.data_lines, ["data"])
        conn = server.connections[-1]
        self.assertTrue(conn.tls)
        self.assertEqual(conn.lines[:3], ["EHLO probe.test.invalid",
                                          "STARTTLS",
                                          "EHLO probe.test.invalid"])
        server.data_lines.clear()

    def test_script_lists_bare_lf_drop(self):
        c = Client("127.0.0.3", self.port)
        self.assertEqual(c.read_reply(), [b"220-mx2 hello", b"220 ready"])
        self.assertEqual(c.cmd("EHLO a"), [b"502 5.5.2 no"])
        self.assertEqual(c.cmd("EHLO a"), [b"250 mx2"])
        self.assertEqual(c.cmd("EHLO a"), [b"250 mx2"], "last one repeats")
        self.assertEqual(c.cmd("RCPT TO:<x>")[0][:3], b"550")
        self.assertEqual(c.cmd("FOO")[0][:3], b"502")
        self.assertRaises(EOFError, c.cmd, "MAIL FROM:<>")
        c.close()

    def test_refuse(self):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.4", self.port), timeout=2)
        c = Client("127.0.0.5", self.port)
        self.assertEqual(c.sock.recv(100), b"")
        c.close()

    def test_wrong_name_and_injection(self):
        c = Client("127.0.0.6", self.port)
        c.read_reply()
        c.cmd("EHLO a")
        c.sock.sendall(b"STARTTLS\r\n")
        time.sleep(0.3)
        data = c.sock.recv(4096)
        self.assertEqual(data, b"220 2.0.0 Ready to start TLS\r\n"
                         b"250 injected\r\n")
        with self.assertRaises(ssl.SSLCertVerificationError) as err:
            c.starttls(self.group.ca_file, "mx5.example.test")
        self.assertIn("mismatch", str(err.exception).lower())
        c.close()

    def test_expired_raw_and_close(self):
        c = Client("127.0.0.7", self.port)
        c.read_reply()
        self.assertEqual(c.cmd("NOOP"), [b"250 raw\xff"])
        self.assertEqual(c.cmd("RSET"), [b"421 bye\r"])
        self.assertEqual(c.sock.recv(10), b"")
        c.close()
        c = Client("127.0.0.7", self.port)
        c.read_reply()
        c.cmd("EHLO a")
        c.cmd("STARTTLS")
        with self.assertRaises(ssl.SSLCertVerificationError) as err:
            c.starttls(self.group.ca_file, "mx6.example.test")
        self.assertIn("expired", str(err.exception).lower())
        c.close()

    def test_by_helo(self):
        """Replies chosen by the connection's last EHLO/HELO name."""
        c = Client("127.0.0.9", self.port)
        c.read_reply()
        self.assertEqual(c.cmd("EHLO localhost")[0][:3], b"250",
                         "plain match is the whole name, no case")
        self.assertEqual(c.cmd("MAIL FROM:<>"), [b"250 2.1.0 sender ok\r"])
        self.assertEqual(c.cmd("RCPT TO:<a@b>"), [
            b"504 5.5.2 <localhost>: Helo command rejected: need "
            b"fully-qualified hostname\r"])
        self.assertEqual(c.cmd("EHLO mx.example.test")[0][:3], b"250")
        self.assertEqual(c.cmd("RCPT TO:<a@b>")[0][:3], b"250",
                         "a new EHLO name, no rule")
        self.assertEqual(c.cmd("EHLO short"), [b"550 5.7.1 <short>: no\r"])
        self.assertEqual(c.cmd("HELO short"), [b"550 5.7.1 <short>: no\r"])
        self.assertEqual(c.cmd("EHLO short"), [b"250 x\r"],
                         "rule reply lists advance per connection")
        c.close()
        c = Client("127.0.0.9", self.port)
        c.read_reply()
        self.assertEqual(c.cmd("RCPT TO:<a@b>")[0][:3], b"250",
                         "no rule before any EHLO")
        self.assertEqual(c.cmd("EHLO short")[0][:3], b"550",
                         "lists restart on a new connection")
        c.close()
        with self.assertRaises(fakesmtp.SpecError):
            fakesmtp.FakeSMTPServer({"by_helo": [{"match": "re:("}]})
        with self.assertRaises(fakesmtp.SpecError):
            fakesmtp.FakeSMTPServer({"by_helo": [{"replies": {}}]})

    def test_self_signed_silent_and_hang(self):
        c = Client("127.0.0.8", self.port)
        c.sock.settimeout(0.5)
        self.assertRaises(socket.timeout, c.sock.recv, 10)
        c.sock.settimeout(5)
        c.cmd("EHLO a")
        c.cmd("STARTTLS")
        with self.assertRaises(ssl.SSLCertVerificationError):
            c.starttls(self.group.ca_file, "mx7.example.test")
        c.close()
        c = Client("127.0.0.8", self.port)
        c.sock.sendall(b"HELO a\r\nNOOP\r\n")
        c.sock.settimeout(0.5)
        self.assertRaises(socket.timeout, c.sock.recv, 10)
        c.close()
        self.assertTrue(self.srv["mx7.example.test"].wait_idle(2))
        self.assertEqual(self.srv["mx7.example.test"].connections[-1].lines,
                         ["HELO a", "NOOP"])


# -- the runner, against a mock probe -----------------------------------------

def mock_probe(argv, index=None):
    """A much simplified smtpprobe: enough to exercise the runner.

    With --batch FILE ('-': stdin) it probes each non-blank line, last
    first, and adds "index" to each object (results out of order, as the
    real batch mode may give them).
    """
    import argparse
    parser = argparse.ArgumentParser()
    for opt in ("--dns-server", "--port", "--helo", "--from", "--ca-file",
                "--server", "--timeout", "--tls", "--batch"):
        parser.add_argument(opt)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("address", nargs="?" if "--batch" in argv else None)
    opts = parser.parse_args(argv)
    if opts.batch is not None:
        where = argv.index("--batch")
        rest = argv[:where] + argv[where + 2:]
        src = sys.stdin if opts.batch == "-" else open(opts.batch,
                                                        encoding="utf-8")
        lines = [line.strip() for line in src.read().splitlines()
                 if line.strip()]
        status = 0
        for n in reversed(range(len(lines))):
            status = max(status, mock_probe(rest + [lines[n]], n))
        return status
    if "@" not in opts.address:
        print("smtpprobe: invalid address", file=sys.stderr)
        return 65
    domain = opts.address.rsplit("@", 1)[1]
    dns_ip, dns_port = opts.dns_server.rsplit(":", 1)
    timeout = float(opts.timeout or 5)
    report = {"address": opts.address, "domain": domain, "findings": [],
              "attempts": [], "dns": {"null_mx": False, "implicit_mx": False},
              "stages": [], "transcript": []}

    def finish(verdict, reason, status):
        report.update(verdict=verdict, reason=reason)
        if index is not None:
            report["index"] = index
        print(json.dumps(report))
        return status

    def lookup(name, qtype):
        raw = udp_ask(int(dns_port), build_query(name, qtype))
        if raw is None:
            return 2, []
        resp = parse_response(raw)
        return resp[1] & 0xF, [r[2] for r in resp[3] if r[1] == qtype]

    if opts.server:
        hosts = [(opts.server, [opts.server])]
    else:
        rcode, mx = lookup(domain, "MX")
        if rcode == 3:
            report["findings"].append({"id": "dns.nxdomain"})
            return finish("undeliverable", "domain_not_found", 1)
        if rcode:
            report["findings"].append({"id": "dns.temporary"})
            return finish("unknown", "dns_temporary", 2)
        if mx == ["0 ."]:
            report["dns"]["null_mx"] = True
            report["findings"].append({"id": "dns.null_mx"})
            return finish("undeliverable", "null_mx", 1)
        if not mx:
            report["dns"]["implicit_mx"] = True
            mx = ["0 " + domain]
        names = [m.split()[1] for m in sorted(mx, key=lambda m: int(
            m.split()[0]))]
        hosts = [(n, lookup(n, "A")[1]) for n in names]
    for host, ips in hosts:
        for ip in ips:
            attempt = {"host": host, "ip": ip, "port": int(opts.port)}
            report["attempts"].append(attempt)
            try:
                c = Client(ip, int(opts.port))
                c.sock.settimeout(timeout)
            except OSError:
                report["findings"].append({"id": "connect.failed"})
                continue
            report["server"] = attempt
            greeting = c.read_reply()
            if not greeting[0].startswith(b"2"):
                c.close()
                continue
            ehlo = c.cmd("EHLO " + opts.helo)
            if b"250-STARTTLS" in b"\n".join(ehlo) and opts.tls != "never":
                c.cmd("STARTTLS")
                c.starttls(opts.ca_file, host)
                report["tls"] = {"verified": True}
                c.cmd("EHLO " + opts.helo)
            c.cmd("MAIL FROM:<%s>" % getattr(opts, "from"))
            rcpt = c.cmd("RCPT TO:<%s>" % opts.address)
            if os.environ.get("MOCK_SEND_DATA"):
                c.cmd("DATA")
            c.cmd("QUIT")
            c.close()
            code = int(rcpt[-1][:3])
            report["stages"].append({"name": "rcpt", "status": "ok" if
                                     code < 400 else "fail",
                                     "replies": [{"code": code}]})
            if code < 400:
                return finish("deliverable", "accepted", 0)
            if code >= 500:
                return finish("undeliverable", "user_unknown", 1)
            return finish("unknown", "temporary_failure", 2)
    return finish("unknown", "connect_failed", 2)


class SyncTest(unittest.TestCase):
    """sync_error catches a client that talks out of turn; parts pause."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        spec = {"name": "mx1.example.test",
                "greeting": {"parts": ["220-mx1.example.test ESMTP",
                                       {"delay": 0.5,
                                        "text": "220 mx1.example.test"}]},
                "sync_error": "554 SMTP synchronization error"}
        self.group = fakesmtp.FakeSMTPGroup([spec], self.tmp.name).start()
        self.server = self.group.servers[0]

    def tearDown(self):
        self.group.stop()
        self.tmp.cleanup()

    def test_patient_client(self):
        c = Client("127.0.0.2", self.group.port)
        started = time.monotonic()
        self.assertEqual(c.read_reply(), [b"220-mx1.example.test ESMTP\r",
                                          b"220 mx1.example.test\r"])
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        self.assertEqual(c.cmd("EHLO a")[0][:3], b"250")
        self.assertEqual(c.cmd("QUIT")[0][:3], b"221")
        c.close()
        self.group.wait_idle(2)
        self.assertEqual(self.server.sync_errors, 0)

    def test_talks_during_the_greeting(self):
        c = Client("127.0.0.2", self.group.port)
        first = c.sock.recv(100)
        self.assertTrue(first.startswith(b"220-"))
        c.sock.sendall(b"EHLO early\r\n")
        self.assertEqual(c.read_reply(),
                         [b"554 SMTP synchronization error\r"])
        c.close()
        self.group.wait_idle(2)
        self.assertEqual(self.server.sync_errors, 1)
        self.assertIn("EHLO early", self.server.connections[-1].lines)

    def test_pipelined_commands(self):
        c = Client("127.0.0.2", self.group.port)
        c.read_reply()
        c.sock.sendall(b"EHLO a\r\nMAIL FROM:<>\r\n")
        self.assertEqual(c.read_reply()[0][:3], b"554")
        c.close()
        self.group.wait_idle(2)
        self.assertEqual(self.server.sync_errors, 1)


class SOCKSTest(unittest.TestCase):
    """fakesocks speaks SOCKS 5 (RFC 1928, RFC 1929) as scripted."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.group = fakesmtp.FakeSMTPGroup(
            [{"name": "mx1.example.test", "ip": "127.0.0.2"},
             {"name": "mx2.example.test", "ip": "127.0.0.3",
              "refuse": "timeout"}], cls.tmp.name).start()
        cls.zone = {"mx1.example.test": {"A": "127.0.0.2"}}

    @classmethod
    def tearDownClass(cls):
        cls.group.stop()
        cls.tmp.cleanup()

    def proxy(self, **spec):
        proxy = fakesocks.FakeSOCKS(spec, self.zone, self.group.port)
        self.addCleanup(proxy.stop)
        return proxy.start()

    @staticmethod
    def recv(sock, n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def connect(self, proxy, request, methods=b"\x00", auth=None):
        """The handshake; (socket, reply bytes)."""
        sock = socket.create_connection(("127.0.0.1", proxy.port),
                                        timeout=5)
        sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
        choice = self.recv(sock, 2)
        if choice == b"\x05\x02":
            user, password = auth
            sock.sendall(b"\x01" + bytes([len(user)]) + user +
                         bytes([len(password)]) + password)
            if self.recv(sock, 2) != b"\x01\x00":
                return sock, b""
        elif choice != b"\x05\x00":
            return sock, choice
        sock.sendall(b"\x05\x01\x00" + request)
        return sock, self.recv(sock, 10)

    def ipv4(self, ip, port=None):
        return b"\x01" + socket.inet_aton(ip) + struct.pack(
            "!H", self.group.port if port is None else port)

    def test_connect_and_relay(self):
        proxy = self.proxy()
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"))
        self.assertEqual(reply[:4], b"\x05\x00\x00\x01")
        self.assertTrue(self.recv(sock, 8).startswith(b"220 mx1."))
        sock.close()
        self.assertIn("CONNECT 127.0.0.2:%d" % self.group.port, proxy.log)
        self.assertEqual(proxy.errors, [])

    def test_user_password_and_names(self):
        proxy = self.proxy(user="alice", password="pw")
        sock, reply = self.connect(proxy, b"\x03\x10mx1.example.test" +
                                   struct.pack("!H", self.group.port),
                                   b"\x00\x02", (b"alice", b"pw"))
        self.assertEqual(reply[1], 0)
        sock.close()
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"),
                                   b"\x00\x02", (b"alice", b"bad"))
        self.assertEqual(reply, b"")
        sock.close()
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"))
        self.assertEqual(reply, b"\x05\xff")
        sock.close()
        self.assertIn("AUTH alice ok", proxy.log)
        self.assertIn("AUTH alice bad", proxy.log)
        self.assertNotIn("pw", " ".join(proxy.log))

    def test_scripted_replies(self):
        proxy = self.proxy(replies=[5, 0], short_reply=True)
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"))
        self.assertEqual(reply, b"\x05\x05")
        sock.close()
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"))
        self.assertEqual(reply[1], 0)
        sock.close()

    def test_refuse_port_and_loopback_only(self):
        proxy = self.proxy(refuse_port=True)
        sock, reply = self.connect(proxy, self.ipv4("127.0.0.2"))
        self.assertEqual(reply[1], 2)
        sock.close()
        sock, reply = self.connect(proxy, self.ipv4("192.0.2.1", 25))
        self.assertEqual(reply[1], 2)
        sock.close()
        time.sleep(0.2)
        self.assertTrue(any("not loopback" in e for e in proxy.errors))

    def test_answer_instead_of_socks(self):
        proxy = self.proxy(answer="HTTP/1.1 400 Bad\r\n\r\n")
        sock, reply = self.connect(proxy, b"")
        self.assertTrue(reply.startswith(b"HT"))
        sock.close()

    def test_server_that_times_out(self):
        sock = socket.socket()
        sock.settimeout(1)
        with self.assertRaises(socket.timeout):
            sock.connect(("127.0.0.3", self.group.port))
        sock.close()

    def test_bad_spec(self):
        for spec in ({"hang": "later"}, {"user": "a"}, {"reply": 300},
                     {"source": "192.0.2.1"}, {"typo": 1}):
            with self.assertRaises((fakesocks.SpecError, ValueError)):
                fakesocks.FakeSOCKS(spec)


class IPv6SMTPTest(unittest.TestCase):
    """A scripted server on ::1 (skipped where ::1 is not usable)."""

    def test_server_on_ipv6_loopback(self):
        import run_scenario
        usable, why = run_scenario.ipv6_loopback_usable()
        if not usable:
            self.skipTest(why)
        with tempfile.TemporaryDirectory() as tmp:
            group = fakesmtp.FakeSMTPGroup(
                [{"name": "mx6.example.test", "ip": "::1",
                  "replies": {"EHLO": "250 mx6 Hello [IPv6:{client_ip}]"}},
                 {"name": "mx1.example.test", "ip": "127.0.0.2"}],
                tmp).start()
            try:
                c = Client("::1", group.port)
                self.assertTrue(c.read_reply()[0].startswith(b"220 mx6"))
                self.assertEqual(c.cmd("EHLO x"),
                                 [b"250 mx6 Hello [IPv6:::1]\r"])
                c.cmd("QUIT")
                c.close()
                c = Client("127.0.0.2", group.port)
                self.assertTrue(c.read_reply()[0].startswith(b"220 mx1"))
                c.close()
                group.wait_idle(2)
                self.assertTrue(group.servers[0].connections[0].peer
                                .startswith("[::1]:"))
            finally:
                group.stop()

    def test_refusing_server_on_ipv6_loopback(self):
        import run_scenario
        usable, why = run_scenario.ipv6_loopback_usable()
        if not usable:
            self.skipTest(why)
        with tempfile.TemporaryDirectory() as tmp:
            group = fakesmtp.FakeSMTPGroup(
                [{"name": "mx6.example.test", "ip": "::1", "refuse": True}],
                tmp).start()
            try:
                with self.assertRaises(ConnectionRefusedError):
                    Client("::1", group.port)
            finally:
                group.stop()

    def test_not_loopback_refused(self):
        for ip in ("2001:db8::1", "192.0.2.1", "nonsense"):
            with self.assertRaises(fakesmtp.SpecError):
                fakesmtp.FakeSMTPServer({"ip": ip})


class HTTPSTest(unittest.TestCase):
    """fakehttps serves a policy over TLS from the case's CA."""

    def test_policy_and_404(self):
        with tempfile.TemporaryDirectory() as tmp:
            group = fakehttps.FakeHTTPSGroup([
                {"name": "mta-sts.example.test", "ip": "127.0.0.30",
                 "policy": "version: STSv1\n"},
                {"name": "mta-sts.other.test", "ip": "127.0.0.31",
                 "status": 301, "location": "https://elsewhere.test/"}])
            smtp = fakesmtp.FakeSMTPGroup([], tmp,
                                          extra_tls=group.tls_specs())
            group.start(smtp.leaves)
            try:
                ctx = ssl.create_default_context(cafile=smtp.ca_file)

                def get(ip, host, path):
                    with socket.create_connection((ip, group.port),
                                                  timeout=5) as raw:
                        with ctx.wrap_socket(raw, server_hostname=host) \
                                as sock:
                            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n"
                                          "Connection: close\r\n\r\n"
                                          % (path, host)).encode())
                            data = b""
                            while True:
                                chunk = sock.recv(4096)
                                if not chunk:
                                    return data
                                data += chunk

                data = get("127.0.0.30", "mta-sts.example.test",
                           fakehttps.POLICY_PATH)
                self.assertTrue(data.startswith(b"HTTP/1.1 200"))
                self.assertIn(b"Content-Type: text/plain", data)
                self.assertTrue(data.endswith(b"\r\n\r\nversion: STSv1\n"))
                self.assertIn(b" 404 ", get("127.0.0.30",
                                            "mta-sts.example.test", "/x"))
                data = get("127.0.0.31", "mta-sts.other.test",
                           fakehttps.POLICY_PATH)
                self.assertTrue(data.startswith(b"HTTP/1.1 301"))
                self.assertIn(b"Location: https://elsewhere.test/", data)
                self.assertEqual(group.requests()[0],
                                 ("mta-sts.example.test", "GET",
                                  fakehttps.POLICY_PATH,
                                  "mta-sts.example.test"))
                prints = fakesmtp.fingerprints(smtp)
                self.assertEqual(len(prints["ca"]["cert"]), 64)
                self.assertEqual(set(prints), {"ca", "mta-sts.example.test",
                                               "mta-sts.other.test"})
            finally:
                group.stop()


class RunnerTest(unittest.TestCase):
    """run_scenario.py passes good cases and fails bad ones."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.binary = os.path.join(cls.tmp.name, "mockprobe")
        with open(cls.binary, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\nexec %s %s --mock-probe \"$@\"\n"
                         % (sys.executable, os.path.abspath(__file__)))
        os.chmod(cls.binary, 0o755)

    def run_case(self, path, env=None, schema=False):
        """Run a case against the mock; its reports are not those of
        docs/schema/, so the schema check is off unless asked for."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, os.path.join(HERE, "run_scenario.py"),
             "--binary", self.binary, path] + ([] if schema else
                                              ["--no-schema"]),
            capture_output=True, text=True, timeout=60, env=full_env)

    def write_case(self, text):
        path = os.path.join(self.tmp.name, "case.toml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def test_shipped_scenarios_load(self):
        """Every scenario file loads and passes the runner's key checks.

        Running them is the scenario tests' job (each is its own ctest
        test against the real binary); here only the files are checked,
        so a typo in a key is reported as a harness problem too.
        """
        import run_scenario
        cases = sorted(f for f in os.listdir(SCENARIOS)
                       if f.endswith(".toml"))
        self.assertTrue(cases, "no scenario files")
        for name in cases:
            with self.subTest(case=name):
                run_scenario.Case(os.path.join(SCENARIOS, name),
                                  self.binary)

    CASE = """
args = ["user@example.test"]
[dns."example.test"]
MX = "10 mx1.example.test"
[dns."mx1.example.test"]
A = "127.0.0.2"
[[servers]]
name = "mx1.example.test"
[expect]
exit = %d
verdict = "deliverable"
json = {"stages.rcpt.replies.0.code" = 250, "server.ip" = "127.0.0.2"}
"""

    def test_good_case_passes(self):
        proc = self.run_case(self.write_case(self.CASE % 0))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_wrong_expectation_fails(self):
        proc = self.run_case(self.write_case(self.CASE % 1))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("exit status", proc.stderr)
        self.assertEqual(proc.stdout.strip(), "0 passed, 1 failed")

    BATCH_CASE = """
args = ["--batch", "{tmp}/list.txt"]
[input_files]
"list.txt" = "a@one.test\\nb@one.test\\n"
[dns."one.test"]
MX = "10 mx1.one.test"
[dns."mx1.one.test"]
A = "127.0.0.2"
[[servers]]
name = "mx1.one.test"
[expect]
results_sort = "index"
max_concurrent = %d
dns_query_count = {"MX one.test" = %d}
[[expect.results]]
json = {index = 0, address = "a@one.test"}
[[expect.results]]
json = {index = 1, address = "b@one.test"}
"""

    def test_batch_features(self):
        """input_files, results_sort, max_concurrent, dns_query_count."""
        proc = self.run_case(self.write_case(self.BATCH_CASE % (1, 2)))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.run_case(self.write_case(self.BATCH_CASE % (0, 1)))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("max_concurrent on mx1.one.test", proc.stderr)
        self.assertIn("dns_query_count MX one.test", proc.stderr)
        # Without sorting, the mock's reversed order does not match.
        text = (self.BATCH_CASE % (1, 2)).replace(
            'results_sort = "index"\n', "")
        proc = self.run_case(self.write_case(text))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("json index", proc.stderr)

    def test_stdin_and_bytes(self):
        text = (self.BATCH_CASE % (1, 2)).replace(
            '"{tmp}/list.txt"', '"-"').replace(
            '[input_files]\n"list.txt" =', "stdin =")
        proc = self.run_case(self.write_case(text))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = (self.BATCH_CASE % (1, 2)).replace(
            '"a@one.test\\nb@one.test\\n"',
            '{hex = "614f6f6e652e746573740a"}')
        proc = self.run_case(self.write_case(text))
        self.assertEqual(proc.returncode, 1)   # one result, not two
        self.assertIn("number of JSON objects", proc.stderr)
        proc = self.run_case(self.write_case(text.replace(
            '"614f', '"zz')))
        self.assertIn("could not be run", proc.stderr)

    def test_schema_checked(self):
        """The mock's report lacks most keys: the case fails on it."""
        proc = self.run_case(self.write_case(self.CASE % 0), schema=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("against docs/schema/probe.schema.json", proc.stderr)
        self.assertIn("required key 'schema' is missing", proc.stderr)

    def test_document_kind(self):
        for args, kind in ((["explain", "--json", "550"], "explain"),
                           (["--json", "--helo-test", "a@b.test"],
                            "helo-test"),
                           (["--relay-test", "b.test"], "relay-test"),
                           (["--batch=-"], "batch-line"),
                           (["--batch", "x", "a@b.test"], "batch-line"),
                           (["--json", "a@b.test"], "probe")):
            self.assertEqual(schemacheck.document_kind(args), kind, args)

    def test_data_fails_any_case(self):
        proc = self.run_case(self.write_case(self.CASE % 0),
                             env={"MOCK_SEND_DATA": "1"})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("never DATA/BDAT", proc.stderr)

    IPV6_CASE = """
requires_ipv6 = true
args = ["user@example.test"]
[dns."example.test"]
MX = "10 mx6.example.test"
[dns."mx6.example.test"]
AAAA = "::1"
[[servers]]
name = "mx6.example.test"
ip = "::1"
[expect]
exit = 0
"""

    def test_requires_ipv6_skips_cleanly(self):
        proc = self.run_case(self.write_case(self.IPV6_CASE),
                             env={"SMTPPROBE_TEST_NO_IPV6": "1"})
        self.assertEqual(proc.returncode, 77, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "0 passed, 0 failed, 1 skipped")
        self.assertIn("SKIP case.toml", proc.stderr)

    def test_ipv6_server_needs_requires_ipv6(self):
        text = self.IPV6_CASE.replace("requires_ipv6 = true\n", "")
        proc = self.run_case(self.write_case(text))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("needs requires_ipv6 = true", proc.stderr)

    def test_unknown_key_fails(self):
        proc = self.run_case(self.write_case(self.CASE % 0 + "verdikt = 1\n"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("unknown [expect] keys", proc.stderr)


class SchemaTest(unittest.TestCase):
    """The validator of tests/harness/schemacheck.py and docs/schema/."""

    SCHEMA = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "a": {"type": ["integer", "null"], "minimum": 0,
                  "maximum": 9},
            "b": {"type": "string", "enum": ["x", "y"]},
            "c": {"type": "array", "prefixItems": [{"const": 1}],
                  "items": {"$ref": "#/$defs/s"}, "minItems": 2,
                  "maxItems": 3},
            "d": {"anyOf": [{"type": "boolean"},
                            {"type": "string", "pattern": "^[0-9]+$",
                             "minLength": 2}]},
            "e": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
        },
        "required": ["a", "b"],
        "additionalProperties": False,
        "$defs": {"s": {"type": "string"}},
    }
    GOOD = [
        {"a": 3, "b": "x"},
        {"a": None, "b": "y", "c": [1, "s"], "d": True, "e": 1.5},
        {"a": 0.0, "b": "x", "c": [1, "s", "t"], "d": "42"},
    ]
    BAD = [
        {"a": 3},                           # b missing
        {"a": 3, "b": "z"},                 # not in the enum
        {"a": True, "b": "x"},              # a boolean is no integer
        {"a": 1.5, "b": "x"},               # not an integer
        {"a": 10, "b": "x"},                # above the maximum
        {"a": -1, "b": "x"},                # below the minimum
        {"a": 1, "b": "x", "z": 1},         # additional key
        {"a": 1, "b": "x", "c": [2, "s"]},  # const
        {"a": 1, "b": "x", "c": [1]},       # too few
        {"a": 1, "b": "x", "c": [1, "s", "t", "u"]},    # too many
        {"a": 1, "b": "x", "c": [1, 2]},    # $ref: not a string
        {"a": 1, "b": "x", "d": "4"},       # too short
        {"a": 1, "b": "x", "d": "ab"},      # pattern
        {"a": 1, "b": "x", "e": 2},         # both oneOf choices
        [],                                 # not an object
    ]

    def test_keywords(self):
        schemacheck.check_schema(self.SCHEMA)
        for doc in self.GOOD:
            self.assertEqual(schemacheck.validate(doc, self.SCHEMA), [], doc)
        for doc in self.BAD:
            self.assertNotEqual(schemacheck.validate(doc, self.SCHEMA), [],
                                doc)

    def test_unsupported_keyword_refused(self):
        for bad in ({"type": "object", "patternProperties": {}},
                    {"$ref": "other.json#/x"}, {"type": "text"},
                    {"properties": {"a": {"if": {}}}}):
            with self.assertRaises(schemacheck.SchemaError):
                schemacheck.check_schema(bad)

    def test_shipped_schemas(self):
        """Every file loads; the version is JSON_SCHEMA of output/json.h."""
        with open(os.path.join(os.path.dirname(os.path.dirname(HERE)),
                               "probe", "output", "json.h"),
                  encoding="utf-8") as f:
            version = f.read().split('#define JSON_SCHEMA\t"', 1)[1]
        version = version.split('"', 1)[0]
        for kind in schemacheck.KINDS:
            schema = schemacheck.load(kind)
            self.assertEqual(schema["properties"]["schema"],
                             {"const": version}, kind)

    def test_agrees_with_jsonschema(self):
        try:
            import jsonschema
        except ImportError:
            self.skipTest("the jsonschema library is not installed")
        check = jsonschema.Draft202012Validator
        for kind in schemacheck.KINDS:
            check.check_schema(schemacheck.load(kind))
        for doc in self.GOOD + self.BAD:
            self.assertEqual(
                not schemacheck.validate(doc, self.SCHEMA),
                check(self.SCHEMA).is_valid(doc), doc)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--mock-probe":
        return mock_probe(sys.argv[2:])
    result = unittest.main(exit=False, verbosity=2 if "-v" in sys.argv
                           else 1, argv=[sys.argv[0]]).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
