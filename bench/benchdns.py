#!/usr/bin/python3
"""The benchmark's DNS server: Debian's unbound serving bench zone.txt.

    benchdns.py ZONEFILE WORKDIR [EXTRA_ADDR]

Starts unbound (tests/lib/testdns.py) on 127.0.0.1:PORT and, with
EXTRA_ADDR, also on EXTRA_ADDR:53 (for OpenDMARC, whose libresolv and
libspf2 lookups can only go to port 53 of the nameserver in resolv.conf).
Prints "PORT" on stdout once it answers and runs until SIGTERM.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import testdns  # noqa: E402


class BenchUnbound(testdns.Unbound):
    def __init__(self, zone, workdir, extra=None):
        super().__init__(zone, workdir)
        self.extra = extra

    def _conf(self):
        conf = super()._conf()
        more = ["  num-queries-per-thread: 4096", "  so-reuseport: no"]
        if self.extra:
            more.append("  interface: %s@53" % self.extra)
        return conf.replace("server:\n", "server:\n" + "\n".join(more) + "\n", 1)


def main():
    zone = testdns.Zone()
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            owner, rtype, rdata = line.split(None, 2)
            zone.add(owner, rtype, rdata, ttl=86400)
    u = BenchUnbound(zone, sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None).start()
    print(u.port, flush=True)
    # stop in the main flow: Popen.wait() holds a lock a handler would need
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        u.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        u.stop()


if __name__ == "__main__":
    main()
