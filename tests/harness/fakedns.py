"""Scripted loopback DNS responder for the smtpprobe scenario tests.

The zone is a plain dict, normally the ``[dns]`` table of a scenario file::

    {
        "example.test":     {"MX": ["10 mx1.example.test"]},
        "mx1.example.test": {"A": "127.0.0.2"},
        "broken.test":      {"action": "servfail"},
        "half.test":        {"A": "127.0.0.9", "action": {"MX": "timeout"}},
    }

Keys are owner names (case-insensitive, trailing dot optional).  An owner
written as an IP address stands for its reverse name, so ``"::1"`` is
``1.0.0.0. ... .0.ip6.arpa`` and ``"127.0.0.2"`` is ``2.0.0.127.in-addr.arpa``
(handy for PTR records).  Each entry may hold:

* record types ``A``, ``AAAA``, ``MX`` (``"PREF HOST"``; the null MX is
  ``"0 ."``), ``PTR``, ``CNAME``, ``TXT``, ``TLSA`` (``"USAGE SELECTOR
  MTYPE HEX"``, RFC 6698 §2.2): a string or a list of strings;
* ``ad``: true to set the AD bit (RFC 4035 §3.2.3) in answers to queries
  for this name, as a validating resolver does for data it validated
  (nothing is signed or validated here: the bit is all a stub sees);
* ``action``: what to do instead of answering normally, either for every
  query type (a string) or per type (a table ``{TYPE = action}``).  Actions:
  ``nxdomain`` (rcode 3), ``servfail`` (rcode 2), ``refused`` (rcode 5),
  ``timeout`` (drop the query silently), ``truncate`` (over UDP: TC bit and
  an empty answer, so the client retries over TCP, where the answer is
  given in full), ``ok`` (answer normally);
* ``ttl``: the TTL of its records (default 300);
* ``cname_loop``: how a CNAME chain that starts at this name and loops is
  answered: ``"servfail"`` (the default, as recursive resolvers do) or
  ``"answer"`` (rcode 0 with the chain up to where a name comes back, as
  some authoritative servers give it).

A name that is not in the zone and is not the parent of a name in the zone
gets NXDOMAIN.  A name that exists but has no record of the asked type gets
NODATA (rcode 0, empty answer).  Negative answers carry an SOA record in the
authority section.  A CNAME is followed inside the zone (at most 8 hops) and
the whole chain goes into the answer, as real servers do.

The responder listens on UDP and TCP on the same loopback port, runs in
daemon threads, and stops when ``stop()`` is called.  Every query is logged
(``queries``: a list of ``(transport, TYPE, name)``).  Packets that cannot be
parsed are ignored.
"""

import ipaddress
import select
import socket
import struct
import threading

# Resource record types and their numbers (RFC 1035, RFC 3596).
TYPE_NUMBERS = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
    "AAAA": 28, "SRV": 33, "OPT": 41, "TLSA": 52, "ANY": 255,
}
TYPE_NAMES = {number: name for name, number in TYPE_NUMBERS.items()}
SUPPORTED_TYPES = ("A", "AAAA", "MX", "PTR", "CNAME", "TXT", "TLSA")
CLASS_IN = 1

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_REFUSED = 5

ACTIONS = ("ok", "nxdomain", "servfail", "refused", "timeout", "truncate")

DEFAULT_TTL = 300
MAX_CNAME_HOPS = 8
MAX_UDP_PAYLOAD = 512          # answer size beyond which UDP answers truncate
MAX_POINTERS = 16              # compression pointers followed per name
POLL_SECONDS = 0.2             # how often the loops look at the stop flag
TCP_IDLE_SECONDS = 10.0        # a TCP client silent for this long is dropped


class FormatError(Exception):
    """A packet that is not a DNS query we can parse."""


def normalize_name(name):
    """Return NAME lower-cased, without the trailing dot ('' is the root)."""
    name = name.strip().lower()
    if name.endswith("."):
        name = name[:-1]
    return name


def owner_name(name):
    """Normalize a zone owner; an IP address stands for its reverse name."""
    try:
        return ipaddress.ip_address(name.strip()).reverse_pointer.lower()
    except ValueError:
        return normalize_name(name)


def encode_name(name):
    """Encode a dotted name as DNS labels, uncompressed."""
    out = bytearray()
    name = name[:-1] if name.endswith(".") else name
    if name:
        for label in name.split("."):
            raw = label.encode("ascii")
            if not 0 < len(raw) < 64:
                raise ValueError("bad label in %r" % name)
            out.append(len(raw))
            out += raw
    out.append(0)
    return bytes(out)


def decode_name(packet, offset):
    """Decode a (possibly compressed) name at OFFSET.

    Returns (labels as bytes list, offset just after the name in the
    original position).  Raises FormatError on loops, overruns or bad
    label types.
    """
    labels = []
    end = None
    pointers = 0
    total = 0
    while True:
        if offset >= len(packet):
            raise FormatError("name runs past the packet")
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(packet):
                raise FormatError("truncated pointer")
            pointers += 1
            if pointers > MAX_POINTERS:
                raise FormatError("compression loop")
            target = ((length & 0x3F) << 8) | packet[offset + 1]
            if end is None:
                end = offset + 2
            if target >= len(packet):
                raise FormatError("pointer past the packet")
            offset = target
            continue
        if length & 0xC0:
            raise FormatError("unknown label type")
        offset += 1
        if length == 0:
            break
        if offset + length > len(packet):
            raise FormatError("label runs past the packet")
        labels.append(bytes(packet[offset:offset + length]))
        total += length + 1
        if total > 255:
            raise FormatError("name too long")
        offset += length
    return labels, (end if end is not None else offset)


def parse_query(packet):
    """Parse a query: return (id, flags, qname bytes labels, qtype, qclass).

    Only the header and the first question are looked at; additional
    records such as an EDNS OPT record are ignored.
    """
    if len(packet) < 12:
        raise FormatError("short header")
    qid, flags, qdcount, _an, _ns, _ar = struct.unpack("!6H", packet[:12])
    if flags & 0x8000:
        raise FormatError("a response, not a query")
    if (flags >> 11) & 0xF != 0:
        raise FormatError("not a standard query")
    if qdcount != 1:
        raise FormatError("question count %d" % qdcount)
    labels, offset = decode_name(packet, 12)
    if offset + 4 > len(packet):
        raise FormatError("truncated question")
    qtype, qclass = struct.unpack("!2H", packet[offset:offset + 4])
    return qid, flags, labels, qtype, qclass


def _rdata(rtype, value):
    """Encode the RDATA of one record given as text."""
    value = value.strip()
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "MX":
        pref, host = value.split(None, 1)
        return struct.pack("!H", int(pref)) + encode_name(host.strip())
    if rtype in ("PTR", "CNAME"):
        return encode_name(value)
    if rtype == "TLSA":
        usage, selector, mtype, data = value.split(None, 3)
        return bytes([int(usage), int(selector), int(mtype)]) + \
            bytes.fromhex("".join(data.split()))
    if rtype == "TXT":
        raw = value.encode("utf-8")
        chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
        return b"".join(bytes([len(c)]) + c for c in chunks)
    raise ValueError("unsupported record type %s" % rtype)


def _soa_rdata(zone):
    """An SOA RDATA for negative answers (RFC 2308)."""
    mname = encode_name("ns." + zone if zone else "ns.invalid")
    rname = encode_name("hostmaster." + zone if zone else "hostmaster.invalid")
    return mname + rname + struct.pack("!5I", 1, 3600, 600, 86400, 60)


def _rr(owner, rtype, ttl, rdata):
    """One resource record in wire format."""
    return (encode_name(owner)
            + struct.pack("!HHIH", TYPE_NUMBERS[rtype], CLASS_IN, ttl,
                          len(rdata))
            + rdata)


class Zone:
    """The zone data, normalized, and the answering logic."""

    def __init__(self, data):
        self.entries = {}
        for name, entry in (data or {}).items():
            key = owner_name(name)
            if key in self.entries:
                raise ValueError("zone entry %r given twice" % name)
            norm = {}
            for field, value in (entry or {}).items():
                upper = field.upper()
                if upper in SUPPORTED_TYPES:
                    values = [value] if isinstance(value, str) else list(value)
                    for text in values:
                        _rdata(upper, text)  # validate early
                    norm[upper] = values
                elif field == "action":
                    norm["action"] = self._check_action(value, key)
                elif field == "ttl":
                    norm["ttl"] = int(value)
                elif field == "cname_loop":
                    if value not in ("servfail", "answer"):
                        raise ValueError("zone entry %r: cname_loop must "
                                         "be servfail or answer" % name)
                    norm["cname_loop"] = value
                elif field == "ad":
                    norm["ad"] = bool(value)
                else:
                    raise ValueError("zone entry %r: unknown key %r"
                                     % (name, field))
            self.entries[key] = norm

    @staticmethod
    def _check_action(value, name):
        if isinstance(value, str):
            if value.lower() not in ACTIONS:
                raise ValueError("zone entry %r: unknown action %r"
                                 % (name, value))
            return value.lower()
        out = {}
        for rtype, action in value.items():
            if action.lower() not in ACTIONS:
                raise ValueError("zone entry %r: unknown action %r"
                                 % (name, action))
            out[rtype.upper()] = action.lower()
        return out

    def exists(self, name):
        """True when NAME is in the zone or is the parent of a zone name."""
        if name in self.entries:
            return True
        suffix = "." + name if name else ""
        return any(key.endswith(suffix) for key in self.entries)

    def action(self, name, qtype_name):
        entry = self.entries.get(name)
        if not entry or "action" not in entry:
            return "ok"
        action = entry["action"]
        if isinstance(action, str):
            return action
        return action.get(qtype_name, action.get("*", "ok"))

    def authenticated(self, name):
        """True when answers about NAME carry the AD bit."""
        return bool(self.entries.get(name, {}).get("ad", False))

    def soa_owner(self, name):
        """The owner of the SOA in negative answers: the name's last label."""
        return name.rsplit(".", 1)[-1] if name else ""

    def answer(self, name, qtype_name):
        """Resolve NAME/QTYPE: return (action, rcode, answer RRs, authority).

        ACTION is the action of the first name (timeout, truncate, ...);
        RRS are lists of encoded records.
        """
        first_action = self.action(name, qtype_name)
        answers = []
        current = name
        visited = set()
        loop_answer = self.entries.get(name, {}).get("cname_loop") == "answer"
        for _hop in range(MAX_CNAME_HOPS + 1):
            if current in visited and loop_answer:
                return first_action, RCODE_NOERROR, answers, []
            visited.add(current)
            action = self.action(current, qtype_name)
            if current != name and action in ("timeout", "truncate"):
                action = "servfail"
            if action == "nxdomain":
                return first_action, RCODE_NXDOMAIN, answers, \
                    self._negative(current)
            if action == "servfail":
                return first_action, RCODE_SERVFAIL, [], []
            if action == "refused":
                return first_action, RCODE_REFUSED, [], []
            if not self.exists(current):
                return first_action, RCODE_NXDOMAIN, answers, \
                    self._negative(current)
            entry = self.entries.get(current, {})
            ttl = entry.get("ttl", DEFAULT_TTL)
            if qtype_name == "ANY":
                for rtype in SUPPORTED_TYPES:
                    for text in entry.get(rtype, []):
                        answers.append(_rr(current, rtype, ttl,
                                           _rdata(rtype, text)))
                return first_action, RCODE_NOERROR, answers, []
            if qtype_name != "CNAME" and "CNAME" in entry:
                target = entry["CNAME"][0]
                answers.append(_rr(current, "CNAME", ttl,
                                   _rdata("CNAME", target)))
                current = normalize_name(target)
                continue
            records = entry.get(qtype_name, []) \
                if qtype_name in SUPPORTED_TYPES else []
            for text in records:
                answers.append(_rr(current, qtype_name, ttl,
                                   _rdata(qtype_name, text)))
            if not records and not answers:
                return first_action, RCODE_NOERROR, [], \
                    self._negative(current)
            return first_action, RCODE_NOERROR, answers, []
        return first_action, RCODE_SERVFAIL, [], []  # CNAME loop

    def _negative(self, name):
        owner = self.soa_owner(name)
        return [_rr(owner, "SOA", 60, _soa_rdata(owner))]


def build_response(zone, packet, transport, log=None):
    """Build the response to PACKET, or None to stay silent."""
    try:
        qid, flags, labels, qtype, qclass = parse_query(packet)
        qname_text = ".".join(l.decode("ascii", "replace") for l in labels)
    except FormatError:
        return None
    qtype_name = TYPE_NAMES.get(qtype, "TYPE%d" % qtype)
    name = normalize_name(qname_text)
    if log is not None:
        log.append((transport, qtype_name, name))
    # Echo the question exactly as asked (keeps 0x20 case randomization).
    question = b"".join(bytes([len(l)]) + l for l in labels) + b"\0" \
        + struct.pack("!2H", qtype, qclass)
    rd = flags & 0x0100
    if qclass != CLASS_IN:
        action, rcode, answers, authority = "ok", RCODE_REFUSED, [], []
    else:
        action, rcode, answers, authority = zone.answer(name, qtype_name)
    if action == "timeout":
        return None
    tc = 0
    if action == "truncate" and transport == "udp":
        answers, authority, tc = [], [], 0x0200
    ad = 0x0020 if zone.authenticated(name) else 0
    out_flags = 0x8000 | 0x0400 | tc | rd | 0x0080 | ad | rcode  # QR AA TC RD RA AD
    header = struct.pack("!6H", qid, out_flags, 1, len(answers),
                         len(authority), 0)
    response = header + question + b"".join(answers) + b"".join(authority)
    if transport == "udp" and len(response) > MAX_UDP_PAYLOAD:
        header = struct.pack("!6H", qid, out_flags | 0x0200, 1, 0, 0, 0)
        response = header + question
    return response


class FakeDNS:
    """UDP and TCP DNS responder on one loopback port.

    Create it (it binds at once; PORT 0 picks a free port common to UDP and
    TCP), call start(), read .port, and stop() at the end.
    """

    def __init__(self, zone_data, host="127.0.0.1", port=0):
        self.zone = Zone(zone_data)
        self.host = host
        self.queries = []
        self.errors = []
        self._stop = threading.Event()
        self._threads = []
        self.udp, self.tcp = self._bind(host, port)
        self.port = self.udp.getsockname()[1]

    @staticmethod
    def _bind(host, port):
        """Bind UDP and TCP sockets to the same port (retrying if needed)."""
        last = None
        for _try in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                udp.bind((host, port))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((host, udp.getsockname()[1]))
                tcp.listen(16)
                return udp, tcp
            except OSError as exc:
                last = exc
                udp.close()
                tcp.close()
                if port:
                    break
        raise OSError("cannot bind the DNS responder: %s" % last)

    def start(self):
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, daemon=True,
                                      name="fakedns-" + target.__name__)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in (self.udp, self.tcp):
            try:
                sock.close()
            except OSError:
                pass

    def _serve_udp(self):
        while not self._stop.is_set():
            ready, _, _ = select.select([self.udp], [], [], POLL_SECONDS)
            if not ready:
                continue
            try:
                packet, peer = self.udp.recvfrom(65535)
            except OSError:
                continue
            try:
                response = build_response(self.zone, packet, "udp",
                                          self.queries)
                if response is not None:
                    self.udp.sendto(response, peer)
            except Exception as exc:  # keep serving; report at the end
                self.errors.append("udp: %r" % exc)

    def _serve_tcp(self):
        while not self._stop.is_set():
            ready, _, _ = select.select([self.tcp], [], [], POLL_SECONDS)
            if not ready:
                continue
            try:
                conn, _peer = self.tcp.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._tcp_client, args=(conn,),
                                      daemon=True, name="fakedns-tcp-client")
            thread.start()
            self._threads.append(thread)

    def _tcp_client(self, conn):
        """Answer length-prefixed queries until EOF, idle timeout or stop."""
        buf = b""
        idle = 0.0
        with conn:
            conn.settimeout(POLL_SECONDS)
            while not self._stop.is_set() and idle < TCP_IDLE_SECONDS:
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    idle += POLL_SECONDS
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                idle = 0.0
                buf += chunk
                while len(buf) >= 2:
                    length = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + length:
                        break
                    packet, buf = buf[2:2 + length], buf[2 + length:]
                    try:
                        response = build_response(self.zone, packet, "tcp",
                                                  self.queries)
                        if response is not None:
                            conn.sendall(struct.pack("!H", len(response))
                                         + response)
                    except Exception as exc:
                        self.errors.append("tcp: %r" % exc)
                        return
