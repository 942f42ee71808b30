"""Test DNS servers on loopback ports (run under /usr/bin/python3).

Zone: records written by the tests (owner, type, rdata text).
Unbound: Debian's unbound serving those records as a static local zone on
127.0.0.1:PORT, started and stopped by the tests.
Blackhole: a UDP+TCP listener that reads queries and never answers, for
DNS timeout tests.
"""
import os
import random
import socket
import subprocess
import threading
import time

import dnslib


_given = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1, for a server the test
    starts a moment later:
    - below the kernel's ephemeral range, so that no outgoing connection
      and no bind to port 0 (the kernel's pick) takes it in between (a
      port picked from that range was once taken before the server bound
      it, and SlowDNS could not start);
    - never one this process was given before: callers pick several
      ports before anything binds them (two Postfix services given one
      port: master.cf's last entry took both)."""
    low = _ephemeral_low()
    first = 16384 if low - 16384 >= 2048 else 1024
    while True:
        port = random.randrange(first, low)
        if port in _given:
            continue
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", port))
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        _given.add(port)
        return port


def _txt_rdata(text):
    """TXT rdata in zone syntax: 255-octet strings, quoted and escaped."""
    data = text.encode() if isinstance(text, str) else text
    parts = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
    out = []
    for p in parts:
        s = ""
        for b in p:
            c = chr(b)
            if c in '"\\':
                s += "\\" + c
            elif 32 <= b < 127:
                s += c
            else:
                s += "\\%03d" % b
        out.append('"%s"' % s)
    return " ".join(out)


class Zone:
    def __init__(self):
        self.records = []   # (owner, type, rdata-in-zone-syntax, ttl)
        self.refused = []   # names answered with REFUSED (a DNS error)

    def refuse(self, name):
        """Every query at or below name gets REFUSED: a server-side DNS error."""
        self.refused.append(name.rstrip(".") + ".")
        return self

    def add(self, owner, rtype, rdata, ttl=300):
        owner = owner.rstrip(".") + "."
        rtype = rtype.upper()
        if rtype in ("TXT", "SPF"):
            rdata = _txt_rdata(rdata)
        elif rtype in ("PTR", "CNAME", "NS"):
            rdata = rdata.rstrip(".") + "."
        elif rtype == "MX":
            pref, host = rdata.split()
            rdata = "%s %s." % (pref, host.rstrip("."))
        self.records.append((owner, rtype, rdata, ttl))
        return self

    def txt(self, owner, text, ttl=300):
        return self.add(owner, "TXT", text, ttl)


class Unbound:
    """unbound answering only from a Zone, on 127.0.0.1:port."""

    def __init__(self, zone, workdir, port=None):
        self.zone = zone
        self.dir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.proc = None

    def _conf(self):
        lines = [
            "server:",
            "  interface: 127.0.0.1@%d" % self.port,
            "  port: %d" % self.port,
            "  do-daemonize: no",
            '  chroot: ""',
            '  username: ""',
            '  directory: "%s"' % self.dir,
            '  pidfile: "%s/unbound.pid"' % self.dir,
            '  logfile: "%s/unbound.log"' % self.dir,
            "  use-syslog: no",
            "  verbosity: 0",
            "  do-ip6: no",
            '  module-config: "iterator"',
            "  num-threads: 1",
            "  msg-cache-size: 1m",
            "  rrset-cache-size: 1m",
            '  local-zone: "." static',
        ]
        # unbound ships default local zones (localhost, 127.in-addr.arpa,
        # ...); make them plain static zones holding only our data.
        for z in ("localhost.", "127.in-addr.arpa.", "1.0.0.127.in-addr.arpa.",
                  "10.in-addr.arpa.", "168.192.in-addr.arpa.",
                  "ip6.arpa.", "in-addr.arpa."):
            lines.append('  local-zone: "%s" static' % z)
        for name in self.zone.refused:
            lines.append('  local-zone: "%s" refuse' % name)
        for owner, rtype, rdata, ttl in self.zone.records:
            rr = "%s %d IN %s %s" % (owner, ttl, rtype, rdata)
            lines.append("  local-data: '%s'" % rr.replace("'", "\\'"))
        lines += ["remote-control:", "  control-enable: no", ""]
        return "\n".join(lines)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(self._conf())
        chk = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
        if chk.returncode != 0:
            raise RuntimeError("unbound config rejected: " + chk.stdout + chk.stderr)
        self.proc = subprocess.Popen(["unbound", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited; see %s/unbound.log" % self.dir)
            if self.answers():
                return self
            time.sleep(0.05)
        raise RuntimeError("unbound did not answer on port %d" % self.port)

    def answers(self):
        q = dnslib.DNSRecord.question("probe.invalid", "A")
        try:
            q.send("127.0.0.1", self.port, timeout=0.2)
            return True
        except (socket.timeout, OSError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


class Blackhole:
    """Accepts DNS queries over UDP and TCP and never answers."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.queries = 0
        self.names = []         # the questions asked over UDP, lower case
        self._stop = False
        self._held = []
        threading.Thread(target=self._udp_loop, daemon=True).start()
        threading.Thread(target=self._tcp_loop, daemon=True).start()

    def _udp_loop(self):
        self.udp.settimeout(0.2)
        while not self._stop:
            try:
                data, _ = self.udp.recvfrom(65535)
                self.queries += 1
                try:
                    self.names.append(str(dnslib.DNSRecord.parse(data).q.qname).lower())
                except Exception:   # noqa: BLE001 - a query it cannot read is counted only
                    pass
            except socket.timeout:
                pass
            except OSError:
                return

    def _tcp_loop(self):
        self.tcp.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
                self._held.append(c)
                self.queries += 1
            except socket.timeout:
                pass
            except OSError:
                return

    def stop(self):
        self._stop = True
        time.sleep(0.3)
        for s in [self.udp, self.tcp] + self._held:
            s.close()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


if __name__ == "__main__":
    # Manual use: testdns.py ZONEFILE WORKDIR  (lines "owner TYPE rdata")
    import sys
    z = Zone()
    for line in open(sys.argv[1]):
        line = line.strip()
        if line and not line.startswith("#"):
            owner, rtype, rdata = line.split(None, 2)
            z.add(owner, rtype, rdata)
    u = Unbound(z, sys.argv[2]).start()
    print(u.address, flush=True)
    try:
        u.proc.wait()
    except KeyboardInterrupt:
        u.stop()
