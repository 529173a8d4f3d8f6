#!/usr/bin/env python3
"""A naive address verifier, the yardstick of bench/mailshot.py.

What a quick script does: for every address, look its domain's first MX
up (once per domain), open a connection, EHLO, MAIL FROM, RCPT TO, QUIT;
eight connections at once, whatever the servers.  No grouping, no
politeness, no TLS, no error handling worth the name.  It gets simple
servers right, which is what makes it a fair yardstick for speed.

    python3 bench/naive.py --dns 127.0.0.1:5353 --port 2525 < list.txt

Prints one line per address ("address verdict code") and, on stderr, the
time taken and the connections opened.
"""

import argparse
import asyncio
import socket
import struct
import sys
import time

HELO = "naive.bench.invalid"
SENDER = "probe@bench.invalid"


def dns_query(server, name, qtype):
    """One UDP query; the answer records' data as (type, bytes, offset,
    packet)."""
    qid = int(time.monotonic() * 1000) & 0xffff
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(packet, server)
        data, _ = sock.recvfrom(4096)
    _qid, _flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(data, pos) + 4
    out = []
    for _ in range(an):
        pos = skip_name(data, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        out.append((rtype, pos, data))
        pos += rdlen
    return out


def skip_name(data, pos):
    while True:
        n = data[pos]
        if n == 0:
            return pos + 1
        if n & 0xc0 == 0xc0:
            return pos + 2
        pos += n + 1


def read_name(data, pos):
    labels = []
    while True:
        n = data[pos]
        if n == 0:
            return ".".join(labels)
        if n & 0xc0 == 0xc0:
            pos = ((n & 0x3f) << 8) | data[pos + 1]
            continue
        labels.append(data[pos + 1:pos + 1 + n].decode())
        pos += n + 1


def resolve(server, domain, cache):
    """The address of the domain's first MX host."""
    if domain in cache:
        return cache[domain]
    mx = sorted((struct.unpack(">H", d[p:p + 2])[0], read_name(d, p + 2))
                for t, p, d in dns_query(server, domain, 15) if t == 15)
    host = mx[0][1] if mx else domain
    addrs = [socket.inet_ntoa(d[p:p + 4])
             for t, p, d in dns_query(server, host, 1) if t == 1]
    cache[domain] = addrs[0] if addrs else None
    return cache[domain]


async def reply(reader):
    """The code of one (multi-line) reply."""
    while True:
        line = await reader.readline()
        if not line:
            return 0
        if line[3:4] != b"-":
            return int(line[:3])


async def verify(address, ip, port):
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        code = await reply(reader)
        for cmd in ("EHLO " + HELO, "MAIL FROM:<%s>" % SENDER,
                    "RCPT TO:<%s>" % address):
            if code // 100 != 2:
                break
            writer.write(cmd.encode() + b"\r\n")
            await writer.drain()
            code = await reply(reader)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        await reply(reader)
    finally:
        writer.close()
    return code


async def run(addresses, dns, port, parallel):
    cache = {}
    sem = asyncio.Semaphore(parallel)
    results = []
    loop = asyncio.get_running_loop()

    async def one(address):
        async with sem:
            domain = address.rsplit("@", 1)[1]
            ip = await loop.run_in_executor(None, resolve, dns, domain, cache)
            try:
                code = await verify(address, ip, port) if ip else 0
            except OSError:
                code = 0
            verdict = ("deliverable" if code // 100 == 2 else
                       "undeliverable" if code // 100 == 5 else "unknown")
            results.append((address, verdict, code))

    await asyncio.gather(*(one(a) for a in addresses))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dns", required=True, help="IP:PORT")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    host, _, dport = args.dns.rpartition(":")
    addresses = [line.strip() for line in sys.stdin if "@" in line]
    t0 = time.monotonic()
    results = asyncio.run(run(addresses, (host, int(dport)), args.port,
                              args.parallel))
    for address, verdict, code in results:
        print(address, verdict, code)
    print("naive: %d addresses, %d connections, %.3f s" % (
        len(results), len(results), time.monotonic() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
