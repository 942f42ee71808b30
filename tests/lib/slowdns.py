"""A DNS forwarder on loopback that is slow or dead for chosen names (run
under /usr/bin/python3; needs Debian's python3-dnslib).

SlowDNS(upstream_port, rules).start() listens on 127.0.0.1:PORT (UDP and
TCP) and passes every query to the real server on 127.0.0.1:upstream_port
(tests/lib/testdns.py's unbound), then answers as the first matching rule
says; rules are (name suffix, action), the suffix matched on whole labels,
case-insensitively:

    "drop"    never answers (a dead name server)
    "tc"      answers with the TC bit and no records, over UDP and TCP
              alike (a reply the resolver cannot use)
    N (int)   answers N ms late (a slow name server)

Names no rule matches are answered at once (or after default_ms). Each
query is handled on a thread of its own, so a dead name never holds up
another. The counts of queries per name are kept (queries()).
"""
import socket
import struct
import threading
import time

import dnslib

import testdns


class SlowDNS:
    def __init__(self, upstream_port, rules=(), default_ms=0):
        self.upstream = ("127.0.0.1", upstream_port)
        self.rules = [(s.lower().rstrip("."), a) for s, a in rules]
        self.default_ms = default_ms
        self.port = testdns.free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.address = "127.0.0.1:%d" % self.port
        self.stopping = False
        self.counts = {}
        self.lock = threading.Lock()

    def start(self):
        for target in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=target, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        for s in (self.udp, self.tcp):
            try:
                s.close()
            except OSError:
                pass

    def queries(self, name):
        with self.lock:
            return self.counts.get(name.lower().rstrip("."), 0)

    def _action(self, qname):
        n = qname.lower().rstrip(".")
        with self.lock:
            self.counts[n] = self.counts.get(n, 0) + 1
        for suffix, action in self.rules:
            if n == suffix or n.endswith("." + suffix):
                return action
        return self.default_ms

    def _answer(self, data):
        """The reply to the query data (bytes), or None for no reply."""
        try:
            req = dnslib.DNSRecord.parse(data)
            qname = str(req.q.qname)
        except Exception:   # not a DNS query: no reply, as a dead server
            return None
        action = self._action(qname)
        if action == "drop":
            return None
        if action == "tc":
            rep = req.reply()
            rep.header.tc = 1
            rep.header.ra = 1
            return rep.pack()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        try:
            s.sendto(data, self.upstream)
            rep, _ = s.recvfrom(65535)
        except OSError:
            return None
        finally:
            s.close()
        if action:
            time.sleep(action / 1000.0)
        return rep

    def _udp_loop(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            threading.Thread(target=self._udp_one, args=(data, peer), daemon=True).start()

    def _udp_one(self, data, peer):
        rep = self._answer(data)
        if rep is not None and not self.stopping:
            try:
                self.udp.sendto(rep, peer)
            except OSError:
                pass

    def _tcp_loop(self):
        while not self.stopping:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_one, args=(c,), daemon=True).start()

    def _tcp_one(self, c):
        try:
            c.settimeout(10)
            hdr = c.recv(2)
            if len(hdr) < 2:
                return
            n = struct.unpack("!H", hdr)[0]
            data = b""
            while len(data) < n:
                more = c.recv(n - len(data))
                if not more:
                    return
                data += more
            rep = self._answer(data)
            if rep is not None:
                c.sendall(struct.pack("!H", len(rep)) + rep)
        except OSError:
            pass
        finally:
            c.close()
