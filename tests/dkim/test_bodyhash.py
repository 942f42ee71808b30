#!/usr/bin/python3
"""The DKIM body hashing held to libopendkim's canonicalisation (issue 10):
tests/dkim/bodyhash (see bodyhash.c) signs random messages with libopendkim
- both canonicalisations, rsa-sha256 and rsa-sha1, l= on some, bodies cut
into random chunks - and verifies each several times with the dkim module,
cut elsewhere; every signature must come out as libopendkim's own hashing
says. The key is served by unbound on a loopback port.

    /usr/bin/python3 test_bodyhash.py BUILDDIR [--count N] [--seed N]

One case per message. Prints "N passed, N failed, N skipped".
"""
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import evidence  # noqa: E402
import mail  # noqa: E402
import testdns  # noqa: E402

SELECTOR, DOMAIN = "bh", "bodyhash.test"


def main(argv):
    if len(argv) < 2:
        print("usage: test_bodyhash.py BUILDDIR [--count N] [--seed N]", file=sys.stderr)
        return 2
    build = os.path.abspath(argv[1])
    prog = os.path.join(build, "tests", "dkim", "bodyhash")
    print("== DKIM body hashing against libopendkim (%s)" % build, flush=True)
    work = tempfile.mkdtemp(prefix="sc-bodyhash-")
    dns = None
    try:
        key = mail.RSAKey(1024, work)     # the body hash is the point, not the key
        z = testdns.Zone()
        z.txt("%s._domainkey.%s" % (SELECTOR, DOMAIN), key.record())
        dns = testdns.Unbound(z, os.path.join(work, "dns")).start()
        try:
            p = evidence.run([prog, "--ns", dns.address, "--key", key.path, "--domain", DOMAIN,
                              "--selector", SELECTOR] + argv[2:], expect={0, 1}, timeout=1800,
                             what="bodyhash")
        except evidence.Failure as e:
            print("FAIL bodyhash: %s" % e)
            print("0 passed, 1 failed, 0 skipped")
            return 1
    finally:
        if dns:
            dns.stop()
        shutil.rmtree(work, ignore_errors=True)
    out = p.stdout.decode("utf-8", "replace")
    passed = len(re.findall(r"^ok ", out, re.M))
    failed = re.findall(r"^FAIL .*$", out, re.M)
    for line in failed:
        print(line)
    summary = [l for l in out.splitlines() if l.startswith("messages ")]
    print(summary[-1] if summary else "no summary from bodyhash")
    bad = len(failed) + (0 if summary else 1)
    print("%d passed, %d failed, 0 skipped" % (passed, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
