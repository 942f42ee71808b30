"""A DNS server on loopback that misbehaves on purpose, per name.

Run with /usr/bin/python3 (Debian's python3-dnslib). Names under
rogue.test select the behaviour (see ROGUE_HELP below); it answers over
UDP and TCP on 127.0.0.1:PORT and, when available, [::1]:PORT.

    /usr/bin/python3 tests/lib/rogue_dns.py [--port N] [--no-ipv6] [--blackhole]

prints one line when ready, e.g.
    ROGUE=127.0.0.1:5301 ROGUE6=[::1]:5301 BLACKHOLE=127.0.0.1:5302
(ROGUE6 is "" when ::1 cannot be used; BLACKHOLE only with --blackhole:
testdns.Blackhole, which reads queries and never answers) and serves
until SIGTERM or SIGINT.
"""
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

import dnslib
from dnslib import A, AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, SOA, TXT

ROGUE_HELP = """
a            A 192.0.2.1 + 192.0.2.2, AAAA 2001:db8::1, TXT in 2 strings, MX 10/20
1.2.0.192.in-addr.arpa  PTR a.rogue.test
cname        CNAME c2 -> CNAME a (whole chain in the answer)
loop         CNAME loop (loop -> loop2 -> loop)
nx           NXDOMAIN with SOA (minimum 120)
nodata       A only; other types: NOERROR, empty, SOA
servfail     SERVFAIL           refused     REFUSED
tc           UDP: TC set, no answer; TCP: TXT "over tcp"
huge         TXT of 3000 bytes (UDP gets TC when over the EDNS size)
huge64       TXT of ~64000 bytes (TCP only)
wrongid      A 6.6.6.6 with a wrong ID first, then the right reply (50 ms)
wrongq       right ID, other question (A 6.6.6.6) first, then the right reply
wrongsrc     A 6.6.6.6 from another port and from 127.0.0.2 first,
             then A 192.0.2.99 from the right address after 200 ms
upper        echoes the question name in upper case
garbage      random bytes (one with the right ID), never a real reply
malformed    right header and question, ANCOUNT 3, answer cut short
silent       never answers
delayN       answers A 192.0.2.3 after N ms (e.g. delay300)
noedns       FORMERR (no question) to queries with EDNS, else A 192.0.2.53
tcpcut       UDP: TC; TCP: one byte of the length, then close
tcpshort     UDP: TC; TCP: length 500, 20 bytes, then close
tctcp*       TC set and no answer over UDP and over TCP (a cut reply is
             not "no records"; tctcp-key._domainkey... for DKIM)
count*       TXT "<n>" = queries for this name so far (TTL 300)
ttl0*        like count but TTL 0
"""

ZONE = "rogue.test"
SOA_RR = RR(ZONE, QTYPE.SOA, ttl=3600,
            rdata=SOA("ns." + ZONE, "hostmaster." + ZONE,
                      (1, 3600, 600, 86400, 120)))

counts = {}
count_lock = threading.Lock()


def label(qname):
    """The part of qname before .rogue.test ('' when outside the zone)."""
    n = qname.lower().rstrip(".")
    if n.endswith("." + ZONE):
        return n[:-len(ZONE) - 1]
    return n


def bump(name):
    with count_lock:
        counts[name] = counts.get(name, 0) + 1
        return counts[name]


def edns_size(req):
    for ar in req.ar:
        if ar.rtype == QTYPE.OPT:
            return max(512, ar.rclass)
    return None


def answer(req, tcp):
    """The reply (a DNSRecord) for req, or None for no reply."""
    q = req.q
    qn = str(q.qname)
    lab = label(qn)
    qt = q.qtype
    rep = req.reply()
    rep.header.ra = 1

    def add(rtype, rdata, ttl=300, owner=None):
        rep.add_answer(RR(owner or qn, rtype, rdata=rdata, ttl=ttl))

    if lab == "a":
        if qt == QTYPE.A:
            add(QTYPE.A, A("192.0.2.1"))
            add(QTYPE.A, A("192.0.2.2"), ttl=60)
        elif qt == QTYPE.AAAA:
            add(QTYPE.AAAA, AAAA("2001:db8::1"))
        elif qt == QTYPE.TXT:
            add(QTYPE.TXT, TXT([b"v=spf1 ", b"ip4:192.0.2.0/24 -all"]))
        elif qt == QTYPE.MX:
            add(QTYPE.MX, MX("mx1." + ZONE, 10))
            add(QTYPE.MX, MX("Mx2." + ZONE, 20))
        else:
            rep.add_auth(SOA_RR)
    elif lab == "1.2.0.192.in-addr.arpa" and qt == QTYPE.PTR:
        add(QTYPE.PTR, PTR("a." + ZONE))
    elif lab == "cname":
        add(QTYPE.CNAME, CNAME("c2." + ZONE))
        add(QTYPE.CNAME, CNAME("a." + ZONE), owner="c2." + ZONE)
        if qt == QTYPE.A:
            add(QTYPE.A, A("192.0.2.1"), owner="a." + ZONE)
    elif lab in ("loop", "loop2"):
        add(QTYPE.CNAME, CNAME("loop2." + ZONE), owner="loop." + ZONE)
        add(QTYPE.CNAME, CNAME("loop." + ZONE), owner="loop2." + ZONE)
    elif lab == "nx":
        rep.header.rcode = RCODE.NXDOMAIN
        rep.add_auth(SOA_RR)
    elif lab == "nodata":
        if qt == QTYPE.A:
            add(QTYPE.A, A("192.0.2.4"))
        else:
            rep.add_auth(SOA_RR)
    elif lab == "servfail":
        rep.header.rcode = RCODE.SERVFAIL
    elif lab == "refused":
        rep.header.rcode = RCODE.REFUSED
    elif lab == "tc":
        if tcp:
            add(QTYPE.TXT, TXT([b"over tcp"]))
        else:
            rep.header.tc = 1
    elif lab in ("tcpcut", "tcpshort") or lab.startswith("tctcp"):
        rep.header.tc = 1
    elif lab == "wrongsrc":
        add(QTYPE.A, A("192.0.2.99"))
    elif lab == "huge":
        add(QTYPE.TXT, TXT([b"h" * 250] * 12))
    elif lab == "huge64":
        add(QTYPE.TXT, TXT([b"H" * 255] * 248))
    elif lab in ("wrongid", "wrongq"):
        add(QTYPE.A, A("192.0.2.1"))
    elif lab == "upper":
        add(QTYPE.A, A("192.0.2.5"))
    elif lab == "noedns":
        add(QTYPE.A, A("192.0.2.53"))
    elif lab.startswith("count") or lab.startswith("ttl0"):
        n = bump(lab)
        add(QTYPE.TXT, TXT([str(n).encode()]),
            ttl=0 if lab.startswith("ttl0") else 300)
    elif lab.startswith("delay"):
        add(QTYPE.A, A("192.0.2.3"))
    else:
        rep.header.rcode = RCODE.NXDOMAIN
        rep.add_auth(SOA_RR)
    return rep


def pack_udp(req, rep):
    """Packs rep for UDP, truncating (TC, no records) when too big."""
    wire = rep.pack()
    limit = edns_size(req) or 512
    if len(wire) > limit:
        rep.rr = []
        rep.auth = []
        rep.ar = []
        rep.header.tc = 1
        wire = rep.pack()
    return wire


def upper_question(wire):
    """Upper-cases the letters of the question name in place."""
    b = bytearray(wire)
    i = 12
    while i < len(b) and b[i]:
        n = b[i]
        for j in range(i + 1, i + 1 + n):
            if 97 <= b[j] <= 122:
                b[j] -= 32
        i += n + 1
    return bytes(b)


class Server:
    def __init__(self, port=0, ipv6=True):
        self.udp = []
        self.tcp = []
        self.stop = False
        self.port, self.v6 = self._bind(port, ipv6)
        for s in self.udp:
            threading.Thread(target=self._udp_loop, args=(s,),
                             daemon=True).start()
        for s in self.tcp:
            threading.Thread(target=self._tcp_accept, args=(s,),
                             daemon=True).start()

    def _bind(self, port, ipv6):
        for _ in range(50):
            socks = []
            try:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind(("127.0.0.1", port))
                p = u.getsockname()[1]
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(t)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind(("127.0.0.1", p))
            except OSError:
                for s in socks:
                    s.close()
                if port:
                    raise
                continue
            v6 = []
            if ipv6:
                try:
                    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                    v6.append(u6)
                    u6.bind(("::1", p))
                    t6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                    v6.append(t6)
                    t6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    t6.bind(("::1", p))
                except OSError as e:
                    for s in v6:
                        s.close()
                    if e.errno == 98 and not port:   # port taken on ::1
                        for s in socks:
                            s.close()
                        continue
                    print("rogue_dns: no IPv6 loopback: %s" % e,
                          file=sys.stderr)
                    v6 = []
            all_ = socks + v6
            self.udp = [s for s in all_ if s.type == socket.SOCK_DGRAM]
            self.tcp = [s for s in all_ if s.type == socket.SOCK_STREAM]
            for s in self.tcp:
                s.listen(16)
            return p, bool(v6)
        raise RuntimeError("no free port")

    # --- UDP ---

    def _udp_loop(self, sock):
        while not self.stop:
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                return
            try:
                req = dnslib.DNSRecord.parse(data)
            except Exception:
                continue
            try:
                self._udp_one(sock, req, data, peer)
            except Exception as e:  # keep serving; report
                print("rogue_dns: %r" % e, file=sys.stderr)

    def _later(self, ms, fn, *args):
        t = threading.Timer(ms / 1000.0, fn, args)
        t.daemon = True
        t.start()

    def _udp_one(self, sock, req, data, peer):
        lab = label(str(req.q.qname))
        fam = sock.family
        if lab == "silent":
            return
        if lab == "garbage":
            junk = bytes(random.getrandbits(8) for _ in range(40))
            sock.sendto(junk, peer)
            sock.sendto(data[:2] + b"\x81\x80" + junk, peer)
            return
        if lab == "malformed":
            rep = answer(req, False)
            rep.add_answer(RR(str(req.q.qname), QTYPE.A, rdata=A("192.0.2.1")))
            wire = bytearray(rep.pack())
            wire[6:8] = struct.pack(">H", 3)
            sock.sendto(bytes(wire[:-3]), peer)
            return
        if lab == "noedns" and edns_size(req) is not None:
            hdr = bytearray(data[:12])
            hdr[2] = 0x80 | (data[2] & 0x01)
            hdr[3] = 0x01                   # FORMERR
            hdr[4:12] = b"\0" * 8           # no sections at all
            sock.sendto(bytes(hdr), peer)
            return
        wire = pack_udp(req, answer(req, False))
        if lab == "wrongid":
            other = req.reply()
            other.header.id = req.header.id ^ 0x5555
            other.add_answer(RR(str(req.q.qname), QTYPE.A, rdata=A("6.6.6.6")))
            sock.sendto(other.pack(), peer)
            self._later(50, sock.sendto, wire, peer)
            return
        if lab == "wrongq":
            other = dnslib.DNSRecord.question("a." + ZONE, "A")
            other.header.id = req.header.id
            orep = other.reply()
            orep.add_answer(RR("a." + ZONE, QTYPE.A, rdata=A("6.6.6.6")))
            sock.sendto(orep.pack(), peer)
            self._later(100, sock.sendto, wire, peer)
            return
        if lab == "wrongsrc":
            self._spoof(req, peer, fam)
            self._later(200, sock.sendto, wire, peer)
            return
        if lab == "upper":
            wire = upper_question(wire)
        if lab.startswith("delay"):
            try:
                ms = int(lab[5:])
            except ValueError:
                ms = 0
            self._later(ms, sock.sendto, wire, peer)
            return
        sock.sendto(wire, peer)

    def _spoof(self, req, peer, fam):
        rep = req.reply()
        rep.add_answer(RR(str(req.q.qname), QTYPE.A, rdata=A("6.6.6.6")))
        wire = rep.pack()
        srcs = [("::1", 0)] if fam == socket.AF_INET6 else \
            [("127.0.0.1", 0), ("127.0.0.2", self.port)]
        for src in srcs:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                s.bind(src)
                s.sendto(wire, peer)
            except OSError:
                pass
            finally:
                s.close()

    # --- TCP ---

    def _tcp_accept(self, sock):
        while not self.stop:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,),
                             daemon=True).start()

    @staticmethod
    def _read(c, n):
        buf = b""
        while len(buf) < n:
            d = c.recv(n - len(buf))
            if not d:
                return None
            buf += d
        return buf

    def _tcp_conn(self, c):
        try:
            while True:
                h = self._read(c, 2)
                if h is None:
                    return
                data = self._read(c, struct.unpack(">H", h)[0])
                if data is None:
                    return
                req = dnslib.DNSRecord.parse(data)
                lab = label(str(req.q.qname))
                if lab == "silent":
                    time.sleep(30)
                    return
                if lab == "tcpcut":
                    c.sendall(b"\x01")
                    return
                if lab == "tcpshort":
                    c.sendall(struct.pack(">H", 500) + data[:2] + b"\x81\x80" +
                              b"\0" * 16)
                    return
                wire = answer(req, True).pack()
                c.sendall(struct.pack(">H", len(wire)) + wire)
        except Exception as e:
            print("rogue_dns tcp: %r" % e, file=sys.stderr)
        finally:
            c.close()

    def close(self):
        self.stop = True
        for s in self.udp + self.tcp:
            try:
                s.close()
            except OSError:
                pass


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="misbehaving DNS server",
                                 epilog=ROGUE_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--no-ipv6", action="store_true")
    ap.add_argument("--blackhole", action="store_true")
    a = ap.parse_args(argv)
    srv = Server(a.port, not a.no_ipv6)
    bh = None
    if a.blackhole:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import testdns
        bh = testdns.Blackhole()
    line = "ROGUE=127.0.0.1:%d ROGUE6=%s" % (
        srv.port, "[::1]:%d" % srv.port if srv.v6 else "")
    if bh:
        line += " BLACKHOLE=%s" % bh.address
    print(line, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    done.wait()
    srv.close()
    if bh:
        bh.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
