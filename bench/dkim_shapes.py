#!/usr/bin/python3
"""Instructions both DKIM engines spend on hostile signature shapes,
counted by callgrind (a figure the machine's load does not move).

    dkim_shapes.py --builddir DIR [--base BUILDDIR] [--only NAME]

Each message below is checked by sendercheck-test with DKIMEngine builtin
and with DKIMEngine libopendkim under callgrind, which counts the whole
run, every thread (the configuration, the header list, SPF, ARC and DMARC
cost the same for both engines: "plain" shows that floor). Every selector has a key (an unbound on loopback
serves one RSA-2048 key under every name), so both engines hash the
header and check the signature, which fails. Printed: instructions per
message for each engine and the ratio libopendkim / builtin; --base adds
another build's libopendkim engine (before/after pairs in one
invocation).

Shapes, all within what Postfix delivers to a milter (fields cut at 60,000
octets, no bound on their number) and what the header list keeps (10,000
fields, 1 MiB):
  plain         one signature, five fields
  hlist1        one signature, h= of 2,046 names (the 4 KB libopendkim
                reads) that no field has, 10,000 fields of one letter
  hlist5        five such signatures
  hlistmax      as many such signatures as fit in 1 MiB (~240)
  sigs1000      1,000 signatures with h=from
  tags17        17 signatures of 59,000 octets, ~8,000 tags each that
                start with the same letter
  lbody5/200    5 and 200 signatures each with its own l=, 2 MB body
  bound128      five signatures of 128 names over 10,000 fields, and
  bound2047     five of 2,047 names over 631 fields: the most the
                libopendkim engine is given (h= names x fields)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import insns  # noqa: E402
import mail  # noqa: E402
import testdns  # noqa: E402

CAP = 1024 * 1024
MAXF = 10000
BASE = [("From", " a@evil.test"), ("To", " b@example.net"), ("Subject", " x"),
        ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <x@evil.test>")]


B = "A" * 342 + "=="        # 256 bytes: an RSA-2048 signature's size (it does not verify)


def sig(i, h, extra=""):
    return ("DKIM-Signature", " v=1; a=rsa-sha256; c=relaxed/relaxed; d=evil.test; s=s%d;%s"
            " h=%s; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=%s" % (i, extra, h, B))


def hlist(name="b"):
    h = "from"
    while len(h) + 1 + len(name) <= 4095:
        h += ":" + name
    return h


def size(fields):
    return sum(len(n) + len(v) for n, v in fields)


def with_pad(fields):
    room = min(MAXF - len(fields), (CAP - size(fields)) // 3)
    return fields + [("a", " x")] * room


def hlist_max():
    s = sig(0, hlist())
    n = 1
    while (n + 1) * size([s]) + size(BASE) + (MAXF - n - 6) * 3 <= CAP:
        n += 1
    return with_pad([sig(i, hlist()) for i in range(n)] + BASE)


def tags(nfields):
    out = []
    for k in range(nfields):
        v = (" v=1; a=rsa-sha256; d=evil.test; s=s%d; h=from; "
             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=%s" % (k, B))
        i = 0
        while len(v) < 58990:
            v += "; x%d=" % i
            i += 1
        out.append(("DKIM-Signature", v))
    return out + BASE


def lbody(nsigs, bodylen):
    body = ("y" * 70 + "\r\n") * (bodylen // 72)
    return [sig(i, "from:to:subject", " l=%d;" % (len(body) - i)) for i in range(nsigs)] + BASE, body


def shapes():
    """[(name, fields, body)]"""
    out = [("plain", [sig(0, "from:to:subject")] + BASE, "hello\r\n"),
           ("hlist1", with_pad([sig(0, hlist())] + BASE), "hello\r\n"),
           ("hlist5", with_pad([sig(i, hlist()) for i in range(5)] + BASE), "hello\r\n"),
           ("hlistmax", hlist_max(), "hello\r\n"),
           ("sigs1000", [sig(i, "from") for i in range(1000)] + BASE, "hello\r\n"),
           ("tags17", tags(17), "hello\r\n")]
    for n in (5, 200):
        f, b = lbody(n, 2000000)
        out.append(("lbody%d" % n, f, b))
    for names, nfields in ((128, MAXF), (2047, 631)):
        f = [sig(i, "from" + ":b" * (names - 1)) for i in range(5)] + BASE
        out.append(("bound%d" % names, f + [("a", " x")] * (nfields - len(f)), "hello\r\n"))
    return out


def run(tool, conf, path, out):
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no",
                    "--callgrind-out-file=" + out, tool, "-c", conf, "--ip", "192.0.2.1",
                    "--mail-from", "a@evil.test", path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
    return insns.total_ir(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--base", help="another build: its libopendkim engine too")
    ap.add_argument("--only", action="append", help="shape name (repeatable)")
    opt = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("dkim_shapes: valgrind missing (./dev.sh bench installs it)")
    tools = [("builtin", os.path.join(os.path.abspath(opt.builddir), "tools", "sendercheck-test"),
              "builtin"),
             ("libopendkim", os.path.join(os.path.abspath(opt.builddir), "tools", "sendercheck-test"),
              "libopendkim")]
    if opt.base:
        tools.append(("base libopendkim", os.path.join(os.path.abspath(opt.base), "tools",
                                                       "sendercheck-test"), "libopendkim"))
    work = tempfile.mkdtemp(prefix="sc-dkimshapes-")
    dns = None
    try:
        key = mail.RSAKey(2048, work)
        zone = testdns.Zone()
        for i in range(1000):
            zone.txt("s%d._domainkey.evil.test" % i, key.record())
        dns = testdns.Unbound(zone, os.path.join(work, "dns")).start()
        print("instructions per message, sendercheck-test's whole run (callgrind):")
        print("  %-9s %7s %9s  %s" % ("shape", "fields", "hdr bytes",
                                      "  ".join("%15s" % t[0] for t in tools) + "  odk/builtin"))
        for name, fields, body in shapes():
            if opt.only and name not in opt.only:
                continue
            path = os.path.join(work, name + ".eml")
            with open(path, "w") as f:
                f.write("".join("%s:%s\r\n" % x for x in fields) + "\r\n" + body)
            counts = []
            for label, tool, engine in tools:
                conf = os.path.join(work, engine + ".conf")
                with open(conf, "w") as f:
                    f.write("DKIMEngine %s\nNameservers %s\nDNSTimeout 5\n" % (engine, dns.address))
                counts.append(run(tool, conf, path, os.path.join(work, "cg.out")))
            print("  %-9s %7d %9d  %s  %10.1f" % (name, len(fields), size(fields),
                                                "  ".join("%15d" % c for c in counts),
                                                counts[1] / max(counts[0], 1)))
            sys.stdout.flush()
    finally:
        if dns:
            dns.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
