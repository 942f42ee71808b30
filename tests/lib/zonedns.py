"""A tiny authoritative DNS server for one OpenSPF test-suite scenario.

Run it with /usr/bin/python3 (it needs Debian's python3-dnslib).

It serves a scenario's `zonedata` (the RFC 7208 suite's format, see
$SENDERCHECK_TESTDATA/spf/README.md) on 127.0.0.1:PORT over UDP and TCP:

- A, AAAA, MX, PTR, CNAME, TXT and SPF (type 99) records;
- a TXT/SPF value given as a list is one record of several
  character-strings, kept separate on the wire;
- a name with SPF entries and no TXT entries also serves them as TXT
  (RFC 7208 checkers query TXT only); "TXT: NONE" means no TXT record;
- a name not in the zone is NXDOMAIN; other types are NODATA (NOERROR,
  empty answer); a CNAME is followed inside the zone;
- a TIMEOUT entry: a query for that name is never answered (the client
  times out) unless a record of the asked type comes before the entry,
  as in the suite's own driver; a missing name under "error." too.

Unbound cannot do this: it has no per-name timeouts and refuses some of
the suite's records, so the rest of the tests use it (testdns.py) and
the SPF suite uses this.

Use as a module (ZoneServer(zonedata).start() ... .stop()) or run
`zonedns.py ZONEFILE [PORT]` with ZONEFILE holding the zonedata mapping
in YAML or JSON; it prints the port it listens on.
"""
import socket
import socketserver
import struct
import sys
import threading

import dnslib
from dnslib import QTYPE, RCODE, RR, A, AAAA, CNAME, MX, PTR, TXT

QTYPE_SPF = 99
TIMEOUT = -1       # marker in a node's record list


def _norm(name):
    """Lower-case text form without the trailing dot. Query names are
    taken label by label: str() of a dnslib name escapes spaces."""
    if isinstance(name, dnslib.DNSLabel):
        return b".".join(name.label).decode("utf-8", "replace").lower()
    return str(name).rstrip(".").lower()


def _bytes(s):
    return s if isinstance(s, bytes) else str(s).encode("utf-8")


class Zone:
    """zonedata -> {name: {"rrs": [(qtype or TIMEOUT, rdata)]}}"""

    def __init__(self, zonedata):
        self.names = {}
        for name, entries in (zonedata or {}).items():
            node = self.names.setdefault(_norm(name), {"rrs": []})
            self._load(node, entries or [])

    def _load(self, node, entries):
        # Entries stay in order, TIMEOUT markers included (see answer()).
        spf, has_txt = [], False
        for e in entries:
            if isinstance(e, str):
                if e.upper() == "TIMEOUT":
                    node["rrs"].append((TIMEOUT, None))
                continue
            for rtype, value in e.items():
                rtype = rtype.upper()
                if value == "TIMEOUT":      # "TYPE: TIMEOUT": that type only
                    node["rrs"].append((TIMEOUT, self._qtype(rtype)))
                elif rtype == "SPF":
                    spf.append(value)
                    node["rrs"].append((QTYPE_SPF, self._txt(value)))
                elif rtype == "TXT":
                    has_txt = True
                    if value != "NONE":
                        node["rrs"].append((QTYPE.TXT, self._txt(value)))
                else:
                    node["rrs"].append(self._other(rtype, value))
        if not has_txt:
            for value in spf:
                node["rrs"].append((QTYPE.TXT, self._txt(value)))

    @staticmethod
    def _qtype(rtype):
        return QTYPE_SPF if rtype == "SPF" else getattr(QTYPE, rtype)

    @staticmethod
    def _txt(value):
        parts = value if isinstance(value, list) else [value]
        strings = []
        for p in parts:
            b = _bytes(p)
            # One character-string holds at most 255 octets.
            strings += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
        return TXT(strings)

    @staticmethod
    def _other(rtype, value):
        if rtype == "A":
            return (QTYPE.A, A(value))
        if rtype == "AAAA":
            return (QTYPE.AAAA, AAAA(value))
        if rtype == "MX":
            return (QTYPE.MX, MX(value[1], int(value[0])))
        if rtype == "PTR":
            return (QTYPE.PTR, PTR(value))
        if rtype == "CNAME":
            return (QTYPE.CNAME, CNAME(value))
        raise ValueError("unsupported record type %s" % rtype)

    def answer(self, request):
        """A reply for request, or None to stay silent (TIMEOUT)."""
        reply = request.reply()
        reply.header.aa = 1
        reply.header.ra = 0
        qname, qtype = request.q.qname, request.q.qtype
        name = _norm(qname)
        for _ in range(8):      # CNAME chain inside the zone
            node = self.names.get(name)
            if node is None:
                if name.startswith("error."):
                    return None     # as the suite's own driver does
                if not reply.rr:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            rrs = self._before_timeout(node["rrs"], qtype)
            if rrs is None:
                return None
            cname = [r for t, r in rrs if t == QTYPE.CNAME]
            if cname and qtype != QTYPE.CNAME:
                reply.add_answer(RR(name + ".", QTYPE.CNAME, rdata=cname[0], ttl=300))
                name = _norm(cname[0].label)
                continue
            for t, rdata in rrs:
                if t == qtype:
                    reply.add_answer(RR(name + ".", t, rdata=rdata, ttl=300))
            return reply
        return reply

    @staticmethod
    def _before_timeout(rrs, qtype):
        """The records before a TIMEOUT marker, or None (stay silent).

        As in the suite's own driver (pyspf testspf.py): a TIMEOUT entry
        times out a query unless a record of the asked type (or a CNAME)
        comes before it; records after it are not served."""
        out = []
        for t, rdata in rrs:
            if t == TIMEOUT:
                if rdata is not None and rdata != qtype:
                    continue
                if not any(x == qtype or x == QTYPE.CNAME for x, _ in out):
                    return None
                return out
            out.append((t, rdata))
        return out


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        out = self.server.zone_reply(data, 512)
        if out is not None:
            sock.sendto(out, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            while True:
                hdr = self._read(2)
                if hdr is None:
                    return
                data = self._read(struct.unpack("!H", hdr)[0])
                if data is None:
                    return
                out = self.server.zone_reply(data, 65535)
                if out is None:
                    continue    # TIMEOUT: stay silent, keep the connection
                self.request.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            return

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


class _Mixin:
    daemon_threads = True
    allow_reuse_address = True

    def zone_reply(self, data, limit):
        try:
            request = dnslib.DNSRecord.parse(data)
        except Exception:   # not a DNS message we can read: ignore it
            return None
        reply = self.zone.answer(request)
        if reply is None:
            return None
        out = reply.pack()
        if len(out) > limit:
            reply = request.reply()
            reply.header.aa = 1
            reply.header.tc = 1
            out = reply.pack()
        return out


class _UDP(_Mixin, socketserver.ThreadingUDPServer):
    pass


class _TCP(_Mixin, socketserver.ThreadingTCPServer):
    pass


class ZoneServer:
    """Serves one zone on 127.0.0.1:port (UDP and TCP) from threads."""

    def __init__(self, zonedata, port=0):
        self.zone = Zone(zonedata)
        self.port = port
        self.servers = []

    def start(self):
        for _ in range(50):
            try:
                udp = _UDP(("127.0.0.1", self.port), _UDPHandler)
            except OSError:
                continue
            port = udp.server_address[1]
            try:
                tcp = _TCP(("127.0.0.1", port), _TCPHandler)
            except OSError:
                udp.server_close()
                if self.port:
                    raise
                continue
            self.port = port
            self.servers = [udp, tcp]
            break
        else:
            raise RuntimeError("no free port for the zone server")
        for s in self.servers:
            s.zone = self.zone
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True).start()
        return self

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


def main(argv):
    import yaml     # Debian python3-yaml; JSON is valid YAML
    if len(argv) < 2:
        sys.stderr.write("usage: zonedns.py ZONEFILE [PORT]\n")
        return 2
    with open(argv[1], "rb") as f:
        zonedata = yaml.safe_load(f)
    srv = ZoneServer(zonedata, int(argv[2]) if len(argv) > 2 else 0).start()
    print(srv.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
