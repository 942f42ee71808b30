#!/usr/bin/python3
"""The benchmark's DNS server: Debian's unbound serving bench zone.txt.

    benchdns.py ZONEFILE WORKDIR [EXTRA_ADDR] [--ttl N]

Starts unbound (tests/lib/testdns.py) on 127.0.0.1:PORT and, with
EXTRA_ADDR, also on EXTRA_ADDR:53 (for OpenDMARC, whose libresolv and
libspf2 lookups can only go to port 53 of the nameserver in resolv.conf).
Records get TTL N (default 86400; 0 for the DNS latency mode, so that no
filter's own cache keeps an answer). Prints "PORT" on stdout once it
answers and runs until SIGTERM.
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
    args = sys.argv[1:]
    ttl = 86400
    if "--ttl" in args:
        i = args.index("--ttl")
        ttl = int(args[i + 1])
        del args[i:i + 2]
    zone = testdns.Zone()
    for line in open(args[0]):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            owner, rtype, rdata = line.split(None, 2)
            zone.add(owner, rtype, rdata, ttl=ttl)
    u = BenchUnbound(zone, args[1], args[2] if len(args) > 2 else None).start()
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
