"""sendercheck-test --dns-check DOMAIN [--selector S]: what a sender
publishes, checked without a message, against unbound on loopback with
zones written here: SPF (as --spf-only), each DKIM key's syntax and size,
the DMARC record with its discovery and every problem, and fixes that are
the records to publish.
Run: /usr/bin/python3 test_dnscheck.py BUILDDIR"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="sc-dnscheck-")


class Ctx:
    pass


def setup():
    c = Ctx()
    k2048, k1024, k512 = (mail.RSAKey(b, WORK) for b in (2048, 1024, 512))
    ed = mail.Ed25519Key()
    z = testdns.Zone()
    z.txt("good.test", "v=spf1 ip4:192.0.2.10 -all")
    z.txt("s1._domainkey.good.test", k2048.record())
    z.txt("_dmarc.good.test", "v=DMARC1; p=reject; rua=mailto:r@good.test")
    z.txt("weak.test", "v=spf1 include:a.weak.test include:b.weak.test ~all")
    z.txt("a.weak.test", "v=spf1 ip4:192.0.2.1 -all")
    z.txt("b.weak.test", "v=spf1 ip4:192.0.2.2 -all")
    z.txt("s1._domainkey.weak.test", k1024.record())
    z.txt("s2._domainkey.weak.test", k512.record())
    z.txt("s3._domainkey.weak.test", "v=DKIM1; k=rsa; p=")
    z.txt("s4._domainkey.weak.test", k2048.record("t=y; "))
    z.txt("s5._domainkey.weak.test", "v=DKIM1; k=rsa; k=rsa; p=" + k2048.public_b64)
    z.txt("s6._domainkey.weak.test", k2048.record())
    z.txt("s6._domainkey.weak.test", k1024.record())
    z.txt("s7._domainkey.weak.test", "v=DKIM1; k=rsa; p=not*base64")
    z.txt("s8._domainkey.weak.test", "v=DKIM1; k=rsa; h=sha1; p=" + k2048.public_b64)
    z.txt("ed._domainkey.weak.test", ed.record())
    z.txt("_dmarc.weak.test", "v=DMARC1; rua=mailto:r@weak.test; pct=50")
    z.txt("_dmarc.two.test", "v=DMARC1; p=none")
    z.txt("_dmarc.two.test", "v=DMARC1; p=reject")
    z.txt("default._domainkey.found.test", k2048.record())
    z.txt("_dmarc.found.test", "v=DMARC1; p=none")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.conf = os.path.join(WORK, "sc.conf")
    with open(c.conf, "w") as f:
        f.write("Nameservers %s\nDNSTimeout 3\n" % c.dns.address)
    return c


def teardown(c):
    if getattr(c, "dns", None):
        c.dns.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def dns_check(c, domain, *args):
    p = evidence.run([TOOL, "-c", c.conf, "--dns-check", domain] + list(args), timeout=60)
    return p.stdout.decode()


def section(out, head):
    """The lines of the section that starts with head, up to the next one."""
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l.startswith(head):
            j = i + 1
            while j < len(lines) and lines[j].startswith(" "):
                j += 1
            return "\n".join(lines[i:j])
    raise AssertionError("no section %r in:\n%s" % (head, out))


@case
def good_domain_has_no_problems(c):
    out = dns_check(c, "good.test", "--selector", "s1", "--ip", "192.0.2.10")
    contains(out, "Domain:     good.test", "header")
    contains(section(out, "SPF:"), "pass", "SPF for the sender's own address")
    dk = section(out, "DKIM s1._domainkey.good.test:")
    contains(dk, "key: rsa, 2048 bits", "key size")
    check("problem" not in dk and "warning" not in dk, dk)
    dm = section(out, "DMARC:")
    contains(dm, "record at _dmarc.good.test", "record")
    contains(dm, 'v=DMARC1; p=reject; rua=mailto:r@good.test', "record text")
    contains(dm, "policy: p=reject", "policy")
    check(out.rstrip().endswith("0 problems found"), out)


@case
def weak_keys_each_with_their_problem(c):
    sels = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "ed", "missing"]
    args = []
    for s in sels:
        args += ["--selector", s]
    out = dns_check(c, "weak.test", *args)
    want = {
        "s1": "warning: RSA key of 1024 bits: 2048 is advised",
        "s2": "problem: RSA key of 512 bits: receivers reject keys under 1024 bits (RFC 8301)",
        "s3": "problem: p= is empty: the key is revoked",
        "s4": "warning: t=y: testing mode",
        "s5": "problem: tag k= appears twice",
        "s6": "problem: 2 TXT records",
        "s7": "problem: p= is not valid base64",
        "s8": "problem: h= does not allow sha256",
        "ed": "warning: ed25519 only",
        "missing": "no key record",
    }
    for s, w in want.items():
        contains(section(out, "DKIM %s._domainkey.weak.test:" % s), w, "selector " + s)
    contains(section(out, "DKIM s2._domainkey.weak.test:"),
             'fix: publish a new 2048-bit RSA key: s2._domainkey.weak.test TXT "v=DKIM1; k=rsa; p=BASE64KEY"',
             "copy-paste fix")
    contains(section(out, "DKIM missing._domainkey.weak.test:"),
             'fix: publish the key of selector missing: missing._domainkey.weak.test TXT "v=DKIM1; k=rsa; '
             'p=BASE64KEY"', "fix for a missing key")
    contains(section(out, "DKIM ed._domainkey.weak.test:"), "key: ed25519, 256 bits", "ed25519")
    dm = section(out, "DMARC:")
    contains(dm, "problem: no p= tag", "no p=")
    contains(dm, 'fix: add "p=none;" right after "v=DMARC1;" at _dmarc.weak.test', "fix")
    contains(dm, "pct=50", "pct warning")
    # SPF without --ip: checked for a client no term matches, with the lookups counted
    contains(section(out, "SPF:"), "DNS lookups 2 of 10", "SPF lookups")


@case
def dmarc_found_at_the_organizational_domain(c):
    out = dns_check(c, "mail.sub.good.test", "--selector", "s1")
    dm = section(out, "DMARC:")
    contains(dm, "organizational domain good.test", "org domain")
    contains(dm, "looked at _dmarc.mail.sub.good.test: no record, then the organizational domain", "path")
    contains(dm, "record at _dmarc.good.test", "found at the org domain")


@case
def two_dmarc_records_and_none(c):
    dm = section(dns_check(c, "two.test", "--selector", "x"), "DMARC:")
    contains(dm, "problem: 2 DMARC records at _dmarc.two.test", "two")
    dm = section(dns_check(c, "none.test", "--selector", "x"), "DMARC:")
    contains(dm, "problem: no DMARC record", "none")
    contains(dm, 'fix: publish _dmarc.none.test TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@none.test"',
             "copy-paste")


@case
def without_selector_common_ones_are_tried(c):
    out = dns_check(c, "found.test")
    contains(out, "DKIM default._domainkey.found.test:", "found at a common selector")
    out = dns_check(c, "none.test")
    contains(out, "no key at the common selectors", "none found")


@case
def usage_errors(c):
    for args in (["--dns-check", "bad domain"], ["--dns-check", "a..b"], ["--selector", "s1"],
                 ["--dns-check", "good.test", "--json"], ["--dns-check", "good.test", "x.eml"],
                 ["--dns-check", "good.test", "--ip", "1.2.3"]):
        p = evidence.run([TOOL, "-c", c.conf] + args, expect=2, what="sendercheck-test %r" % args)
        eq(p.stdout, b"", "stdout for %r" % args)


if __name__ == "__main__":
    sys.exit(run("sendercheck-test --dns-check (%s)" % BUILD, setup, teardown))
