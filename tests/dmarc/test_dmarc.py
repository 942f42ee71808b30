"""DMARC and iprev against real DNS: tests/dmarc/dmarccheck and iprevcheck
(built by `make check`) asking Debian's unbound on a loopback port, which
serves the zone written below (tests/lib/testdns.py). Names such as
x.com, t.co or shop.co.uk exist only in that local zone; nothing leaves
the machine. Timeouts come from a Blackhole server; DNS errors from
Zone.refuse() (REFUSED answers).

Run: /usr/bin/python3 test_dmarc.py BUILDDIR [CASE...]
Prints "N passed, N failed, N skipped"; exits 1 on any failure. Under a
sanitizer build a leak or a runtime error makes the check program fail its
case (tests/lib/evidence.py).
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
DMARCCHECK = os.path.join(BUILD, "tests", "dmarc", "dmarccheck")
IPREVCHECK = os.path.join(BUILD, "tests", "dmarc", "iprevcheck")
WORK = tempfile.mkdtemp(prefix="sc-dmarc-")

BUECHER = "b\u00fccher.example"          # U-label form of xn--bcher-kva.example


def build_zone():
    z = testdns.Zone()
    t = z.txt
    # plain relaxed policy, org-domain fallback for subdomains
    t("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    # strict alignment
    t("_dmarc.strict-example.com", "v=DMARC1; p=quarantine; adkim=s; aspf=s")
    # subdomain policy
    t("_dmarc.sub-example.com", "v=DMARC1; p=reject; sp=quarantine")
    # np (RFC 9989): ghost.np-example.com does not exist, real. does,
    # txtonly. holds only TXT (NODATA for A/AAAA/MX: non-existent too)
    t("_dmarc.np-example.com", "v=DMARC1; p=none; sp=quarantine; np=reject")
    z.add("real.np-example.com", "A", "192.0.2.80")
    t("txtonly.np-example.com", "hello")
    # np existence check meets a DNS error
    t("_dmarc.npref-example.com", "v=DMARC1; p=none; np=reject")
    # (REFUSED for ghost's A/AAAA/MX; its _dmarc name answers, not DMARC)
    z.refuse("ghost.npref-example.com")
    t("_dmarc.ghost.npref-example.com", "not a DMARC record")
    # several records; one DMARC record next to another TXT
    t("_dmarc.multi-example.com", "v=DMARC1; p=none")
    t("_dmarc.multi-example.com", "v=DMARC1; p=reject")
    t("_dmarc.mixed-example.com", "v=spf1 -all")
    t("_dmarc.mixed-example.com", "v=DMARC1; p=quarantine")
    # a TXT that is not DMARC (lower-case version) counts as no record
    t("_dmarc.lowerv-example.com", "v=dmarc1; p=reject")
    # p missing; p invalid without / with rua; broken grammar
    t("_dmarc.nop-example.com", "v=DMARC1; rua=mailto:x@nop-example.com")
    t("_dmarc.badp-example.com", "v=DMARC1; p=bogus")
    t("_dmarc.badprua-example.com", "v=DMARC1; p=bogus; rua=mailto:a@badprua-example.com")
    t("_dmarc.broken-example.com", "v=DMARC1; p=none; p=reject")
    # record split over two character-strings (TXT data is concatenated)
    t("_dmarc.split-example.com", "v=DMARC1; p=reject; rua=mailto:" + "a" * 300 +
      "@split-example.com; " + "x" * 300 + "=1")
    # under a multi-label public suffix
    t("_dmarc.shop.co.uk", "v=DMARC1; p=reject")
    # one-character first labels
    t("_dmarc.x.com", "v=DMARC1; p=reject")
    t("_dmarc.t.co", "v=DMARC1; p=reject")
    # IDN (A-labels in DNS)
    t("_dmarc.xn--bcher-kva.example", "v=DMARC1; p=quarantine")
    # --- where the PSL and the RFC 9989 tree walk disagree ---
    # (a) blogspot.com is a PSL suffix, but publishes a record
    t("_dmarc.blogspot.com", "v=DMARC1; p=reject")
    # (b) psd=n makes a subdomain its own org domain
    t("_dmarc.dept.corp-example.com", "v=DMARC1; p=reject; psd=n")
    t("_dmarc.corp-example.com", "v=DMARC1; p=none")
    # (c) psd=y on a name the PSL calls registrable: a shared host
    t("_dmarc.sharedhost.com", "v=DMARC1; p=quarantine; psd=y")
    # 8-label cap: the 8-label name is skipped by the walk
    t("_dmarc.d.e.f.g.h.i.deep-example.com", "v=DMARC1; p=none")
    t("_dmarc.deep-example.com", "v=DMARC1; p=reject")
    # the tree walk's org domain is the shortest name with a record
    t("_dmarc.a.walk-example.com", "v=DMARC1; p=quarantine")
    t("_dmarc.walk-example.com", "v=DMARC1; p=reject")
    # --- RFC 9989 vs RFC 7489 ---
    # pct= (gone in 9989) and t= (new in 9989)
    t("_dmarc.pct-example.com", "v=DMARC1; p=reject; pct=50")
    t("_dmarc.test-example.com", "v=DMARC1; p=reject; t=y")
    t("_dmarc.testq-example.com", "v=DMARC1; p=quarantine; t=y; pct=100")
    # psd=y at the starting name stops the walk: sub. is its own org domain
    t("_dmarc.sub.psdtop-example.com", "v=DMARC1; p=reject; psd=y")
    t("_dmarc.psdtop-example.com", "v=DMARC1; p=none")
    # a public suffix domain's record: used when the org domain has none
    t("_dmarc.bank.example", "v=DMARC1; p=none; sp=reject; psd=y")
    t("_dmarc.giant.bank.example", "v=DMARC1; p=none")
    # several records at a subdomain, one record at its parent
    t("_dmarc.dup.walk2-example.com", "v=DMARC1; p=none")
    t("_dmarc.dup.walk2-example.com", "v=DMARC1; p=quarantine")
    t("_dmarc.walk2-example.com", "v=DMARC1; p=reject")
    # records found and discarded, and why
    t("_dmarc.order-example.com", "p=reject; v=DMARC1")
    t("_dmarc.space-example.com", " v=DMARC1; p=reject")
    t("_dmarc.vbroken-example.com", "v=DMARC1 p=reject")
    # no p= and no rua=: no policy applies (RFC 7489 6.6.3, RFC 9989 4.10.1)
    t("_dmarc.nopnorua-example.com", "v=DMARC1; adkim=s")
    # DNS errors
    z.refuse("_dmarc.refused-example.com")
    t("_dmarc.refused2-example.com", "v=DMARC1; p=none")
    z.refuse("_dmarc.a.refused2-example.com")
    z.refuse("_dmarc.tw-refused.test")

    # --- iprev ---
    z.add("1.2.0.192.in-addr.arpa", "PTR", "mail.good-example.com")
    z.add("mail.good-example.com", "A", "192.0.2.1")
    z.add("2.2.0.192.in-addr.arpa", "PTR", "mail.bad-example.com")
    z.add("mail.bad-example.com", "A", "192.0.2.99")
    # 3: no PTR
    z.add("4.2.0.192.in-addr.arpa", "PTR", "refused.iprev-example.com")
    z.refuse("refused.iprev-example.com")
    z.add("5.2.0.192.in-addr.arpa", "PTR", "refused.iprev-example.com")
    z.add("5.2.0.192.in-addr.arpa", "PTR", "ok5.iprev-example.com")
    z.add("ok5.iprev-example.com", "A", "192.0.2.5")
    for i in range(12):
        z.add("6.2.0.192.in-addr.arpa", "PTR", "n%d.iprev-example.com" % i)
        z.add("n%d.iprev-example.com" % i, "A", "198.51.100.%d" % (i + 1))
    z.refuse("7.2.0.192.in-addr.arpa")
    z.add("8.2.0.192.in-addr.arpa", "PTR", "gone.iprev-example.com")   # NXDOMAIN forward
    z.add("9.2.0.192.in-addr.arpa", "PTR", "name-only-v6.iprev-example.com")
    z.add("name-only-v6.iprev-example.com", "AAAA", "2001:db8::9")
    rev6 = lambda last: ".".join(reversed(("20010db8" + "0" * 20 + last))) + ".ip6.arpa"
    z.add(rev6("0025"), "PTR", "mail6.good-example.com")
    z.add("mail6.good-example.com", "AAAA", "2001:db8::25")
    z.add(rev6("0026"), "PTR", "mail6.bad-example.com")
    z.add("mail6.bad-example.com", "AAAA", "2001:db8::99")
    z.add(rev6("0027"), "PTR", "v4only.iprev-example.com")
    z.add("v4only.iprev-example.com", "A", "192.0.2.27")
    return z


class Ctx:
    pass


def setup():
    c = Ctx()
    c.dns = testdns.Unbound(build_zone(), os.path.join(WORK, "dns")).start()
    c.hole = testdns.Blackhole()
    return c


def teardown(c):
    if getattr(c, "dns", None):
        c.dns.stop()
    if getattr(c, "hole", None):
        c.hole.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def _run(cmd, lines):
    p = evidence.run(cmd, input="".join(l + "\n" for l in lines), text=True, timeout=120)
    return [json.loads(l) for l in p.stdout.splitlines()]


def dmarc(c, rows, discovery="psl", ns=None, extra=(), standard="rfc9989"):
    """rows: (from, spf, dkim) tuples, fields as dmarccheck reads them."""
    lines = ["%d\t%s\t%s\t%s" % (i, f, s, d) for i, (f, s, d) in enumerate(rows)]
    cmd = [DMARCCHECK, "--ns", ns or c.dns.address, "--standard", standard]
    if discovery:
        cmd += ["--discovery", discovery]
    return _run(cmd + list(extra), lines)


def one(c, frm, spf="-", dkim="-", discovery="psl", **kw):
    return dmarc(c, [(frm, spf, dkim)], discovery, **kw)[0]


def std(c, frm, standard, spf="-", dkim="-"):
    """A check under a standard with its own discovery (rfc9989: tree walk)."""
    o = dmarc(c, [(frm, spf, dkim)], None, standard=standard)[0]
    eq(o["standard"], standard, "standard")
    eq(o["discovery"], "treewalk" if standard == "rfc9989" else "psl", "discovery")
    return o


def org(c, names, discovery):
    lines = ["%d\t%s" % (i, n) for i, n in enumerate(names)]
    return [o["org"] for o in _run([DMARCCHECK, "--ns", c.dns.address, "--discovery",
                                    discovery, "--org"], lines)]


def iprev(c, ips, ns=None, extra=()):
    lines = ["%d\t%s" % (i, ip) for i, ip in enumerate(ips)]
    return _run([IPREVCHECK, "--ns", ns or c.dns.address] + list(extra), lines)


def expect(o, **want):
    for k, v in want.items():
        eq(o.get(k), v, "%s (why: %s)" % (k, o.get("why")))


BOTH = ("psl", "treewalk")

# ---- alignment ----------------------------------------------------------


@case
def aligned_relaxed_dkim_and_spf(c):
    for d in BOTH:
        o = one(c, "example.com", dkim="pass:example.com", discovery=d)
        expect(o, result="pass", dkim_aligned=True, dkim_domain="example.com",
               policy="reject", policy_tag="p", record_domain="example.com",
               org="example.com", n_records=1)
        o = one(c, "example.com", spf="pass:bounce.example.com", discovery=d)
        expect(o, result="pass", spf_aligned=True, spf_domain="bounce.example.com",
               dkim_aligned=False)
        o = one(c, "example.com", dkim="pass:mail.example.com", discovery=d)
        expect(o, result="pass", dkim_domain="mail.example.com")


@case
def unaligned_and_failed_auth(c):
    for d in BOTH:
        o = one(c, "example.com", spf="pass:other.net", dkim="pass:other.net", discovery=d)
        expect(o, result="fail", spf_aligned=False, dkim_aligned=False, policy="reject")
        contains(o["why"], "no aligned pass", "why")
        # authentication failed for the right domain: no pass to align
        o = one(c, "example.com", spf="softfail:example.com",
                dkim="fail:example.com,permerror:example.com", discovery=d)
        expect(o, result="fail")
        # look-alike name is not a subdomain
        o = one(c, "example.com", dkim="pass:notexample.com", discovery=d)
        expect(o, result="fail")


@case
def strict_alignment(c):
    for d in BOTH:
        o = one(c, "strict-example.com", dkim="pass:mail.strict-example.com",
                spf="pass:bounce.strict-example.com", discovery=d)
        expect(o, result="fail", policy="quarantine")
        contains(o["why"], "aspf=s, adkim=s", "why")
        expect(one(c, "strict-example.com", dkim="pass:strict-example.com", discovery=d),
               result="pass")
        expect(one(c, "strict-example.com", spf="pass:STRICT-example.com.", discovery=d),
               result="pass", spf_domain="strict-example.com")


@case
def subdomain_policy_and_org_fallback(c):
    for d in BOTH:
        o = one(c, "news.example.com", dkim="pass:example.com", discovery=d)
        expect(o, result="pass", record_domain="example.com", org="example.com",
               policy_tag="p")
        eq(o["from"], "news.example.com", "from")
        o = one(c, "a.sub-example.com", discovery=d)
        expect(o, result="fail", policy="quarantine", policy_tag="sp",
               record_domain="sub-example.com")
        o = one(c, "sub-example.com", discovery=d)
        expect(o, result="fail", policy="reject", policy_tag="p")
        # relaxed: sibling subdomains share the org domain
        o = one(c, "a.sub-example.com", dkim="pass:b.sub-example.com", discovery=d)
        expect(o, result="pass")


@case
def np_for_non_existent_subdomains(c):
    for st in ("rfc9989", "rfc7489"):
        o = std(c, "ghost.np-example.com", st)          # NXDOMAIN
        expect(o, result="fail", policy="reject", policy_tag="np", from_exists=0)
    # a name holding only TXT: RFC 9989 (RFC 8020) says it exists (NODATA
    # is not NXDOMAIN): sp applies; RFC 9091's np= (with 7489) read NODATA
    # for A, AAAA and MX as non-existent
    o = std(c, "txtonly.np-example.com", "rfc9989")
    expect(o, result="fail", policy="quarantine", policy_tag="sp", from_exists=1)
    o = std(c, "txtonly.np-example.com", "rfc7489")
    expect(o, result="fail", policy="reject", policy_tag="np", from_exists=0)
    o = one(c, "real.np-example.com")
    expect(o, result="fail", policy="quarantine", policy_tag="sp", from_exists=1)
    o = one(c, "np-example.com")                  # at the record: p, no existence check
    expect(o, result="fail", policy="none", policy_tag="p", from_exists=-1)
    # existence check meets REFUSED: a fail cannot pick its policy
    o = one(c, "ghost.npref-example.com")
    expect(o, result="temperror", from_exists=-1)
    contains(o["why"], "np=", "why")
    o = one(c, "ghost.npref-example.com", dkim="pass:npref-example.com")
    expect(o, result="pass")
    contains(o["why"], "np= not applied", "why")


# ---- records ------------------------------------------------------------


@case
def several_records_permerror_7489(c):
    # RFC 7489 6.6.3: several records: no DMARC applies (permerror)
    for d in BOTH:
        o = one(c, "multi-example.com", dkim="pass:multi-example.com", discovery=d,
                standard="rfc7489")
        expect(o, result="permerror", n_records=2, record_domain="multi-example.com",
               have_record=False)
        contains(o["why"], "2 DMARC records at _dmarc.multi-example.com", "why")
    # also when found at the org domain (the public suffix list's: the
    # tree walk passes over a name with several records)
    o = one(c, "a.multi-example.com", discovery="psl", standard="rfc7489")
    expect(o, result="permerror", n_records=2)
    o = one(c, "dup.walk2-example.com", standard="rfc7489")
    expect(o, result="permerror", n_records=2, record_domain="dup.walk2-example.com")
    o = one(c, "mixed-example.com", dkim="pass:mixed-example.com")
    expect(o, result="pass", n_records=1, policy="quarantine")


@case
def several_records_discarded_9989(c):
    # RFC 9989 4.10: several records at a name are all discarded and the
    # search goes on; the outcome says so
    for d in BOTH:
        o = one(c, "multi-example.com", dkim="pass:multi-example.com", discovery=d)
        expect(o, result="none", n_records=0, have_record=False, record_domain="")
        contains(o["discarded"], "2 DMARC records at _dmarc.multi-example.com were all discarded",
                 "discarded")
        contains(o["why"], "were all discarded", "why")
        # the parent's record applies to the subdomain with two records
        o = one(c, "dup.walk2-example.com", discovery=d)
        expect(o, result="fail", record_domain="walk2-example.com", policy="reject",
               policy_tag="p", have_record=True)
        contains(o["why"], "_dmarc.dup.walk2-example.com were all discarded", "why")


@case
def no_record_none(c):
    o = one(c, "nodmarc-example.com", dkim="pass:nodmarc-example.com")
    expect(o, result="none", record_domain="", n_records=0, have_record=False,
           policy="unset")
    contains(o["why"], "no DMARC record at _dmarc.nodmarc-example.com", "why")
    o = one(c, "a.b.nodmarc-example.com")
    expect(o, result="none", org="nodmarc-example.com")
    contains(o["why"], "_dmarc.a.b.nodmarc-example.com or _dmarc.nodmarc-example.com", "why")
    # v=dmarc1 (lower case) is not a DMARC record; the reason says so
    o = one(c, "lowerv-example.com")
    expect(o, result="none")
    contains(o["why"], "\"v=dmarc1; p=reject\" at _dmarc.lowerv-example.com is not a DMARC record:"
             " its version is \"dmarc1\": it must be v=DMARC1, in capitals", "why")
    o = one(c, "a.b.nodmarc-example.com", discovery="treewalk")
    expect(o, result="none", org="a.b.nodmarc-example.com")


@case
def p_missing_and_invalid(c):
    o = one(c, "nop-example.com")
    expect(o, result="fail", policy="none", have_record=True)
    eq(o["record"]["p_present"], False, "p_present")
    contains(o["why"], "no p= with a valid rua=: acts as p=none", "why")
    o = one(c, "nop-example.com", dkim="pass:nop-example.com")
    expect(o, result="pass")
    eq(o["record"]["p_present"], False, "p_present")
    o = one(c, "badp-example.com")
    expect(o, result="permerror")
    contains(o["why"], "invalid p=", "why")
    o = one(c, "badprua-example.com")
    expect(o, result="fail", policy="none")
    contains(o["why"], "acts as p=none", "why")
    eq(o["record"]["p_present"], True, "p_present")
    # no p= and no valid rua=: no policy (both standards)
    for st in ("rfc9989", "rfc7489"):
        o = std(c, "nopnorua-example.com", st, dkim="pass:nopnorua-example.com")
        expect(o, result="permerror", have_record=True)
        contains(o["why"], "no p= in the DMARC record at _dmarc.nopnorua-example.com and no valid rua=",
                 "why")
    # a tag given twice: RFC 7489 (as this program did) permerror; RFC 9989
    # keeps the first and ignores the bad term (section 4.8)
    o = std(c, "broken-example.com", "rfc7489", dkim="pass:broken-example.com")
    expect(o, result="permerror")
    contains(o["why"], "DMARC record syntax: tag p= given twice", "why")
    o = std(c, "broken-example.com", "rfc9989")
    expect(o, result="fail", policy="none", have_record=True)
    contains(o["why"], "bad terms of the record were ignored (RFC 9989 4.8): DMARC record syntax:"
             " tag p= given twice", "why")
    o = one(c, "split-example.com")    # over 255 octets: two character-strings
    expect(o, result="fail", policy="reject")
    eq(len(o["record"]["rua"]), 7 + 300 + 18, "rua length")


@case
def org_domain_multi_label_suffix(c):
    o = one(c, "mail.shop.co.uk", dkim="pass:shop.co.uk")
    expect(o, result="pass", org="shop.co.uk", record_domain="shop.co.uk")
    o = one(c, "shop.co.uk", dkim="pass:other.co.uk")
    expect(o, result="fail")
    eq(org(c, ["a.b.example.co.uk", "co.uk", "x.com", "mail.x.com", "t.co"], "psl"),
       ["example.co.uk", "co.uk", "x.com", "x.com", "t.co"], "psl org domains")


@case
def one_character_labels(c):
    for d in BOTH:
        # the libopendmarc failure: x.com's org domain is not "com", so a
        # signature of attacker.com must not align
        o = one(c, "x.com", spf="pass:attacker.com", dkim="pass:attacker.com", discovery=d)
        expect(o, result="fail", org="x.com", policy="reject", record_domain="x.com")
        o = one(c, "mail.x.com", dkim="pass:x.com", discovery=d)
        expect(o, result="pass", org="x.com", record_domain="x.com")
        o = one(c, "t.co", dkim="pass:evil.co", discovery=d)
        expect(o, result="fail", org="t.co")
        expect(one(c, "t.co", dkim="pass:s1.t.co", discovery=d), result="pass")


@case
def idn_a_labels(c):
    for d in BOTH:
        o = one(c, BUECHER, dkim="pass:xn--bcher-kva.example", discovery=d)
        expect(o, result="pass", **{"from": "xn--bcher-kva.example"})
        o = one(c, "Mail." + BUECHER.upper(),
                dkim="pass:xn--bcher-kva.example", discovery=d)
        expect(o, result="pass", record_domain="xn--bcher-kva.example",
               org="xn--bcher-kva.example", policy="quarantine")
        o = one(c, "XN--BCHER-KVA.example", spf="pass:" + BUECHER, discovery=d)
        expect(o, result="pass", spf_domain="xn--bcher-kva.example")


@case
def from_domains_not_one(c):
    o = one(c, "example.com,other.org")
    expect(o, result="permerror", n_from=2)
    contains(o["why"], "message has 2 From addresses (example.com, other.org)", "why")
    expect(one(c, "-"), result="permerror", n_from=0)
    o = one(c, "Example.com,example.COM.", dkim="pass:example.com")
    expect(o, result="pass", n_from=1)
    expect(one(c, "bad domain.example"), result="permerror")


# ---- PSL vs RFC 9989 tree walk -----------------------------------------


@case
def psl_and_treewalk_differ(c):
    # (a) blogspot.com is a public suffix: under the PSL, evil.blogspot.com
    # is its own org domain with no record -> none; the tree walk finds
    # blogspot.com's record -> fail under p=reject.
    p = one(c, "evil.blogspot.com", discovery="psl")
    t = one(c, "evil.blogspot.com", discovery="treewalk")
    expect(p, result="none", org="evil.blogspot.com")
    expect(t, result="fail", record_domain="blogspot.com", policy="reject", org="blogspot.com")
    # (b) psd=n at dept.corp-example.com: the walk makes it its own org
    # domain, so corp-example.com's signature no longer aligns.
    p = one(c, "dept.corp-example.com", dkim="pass:corp-example.com", discovery="psl")
    t = one(c, "dept.corp-example.com", dkim="pass:corp-example.com", discovery="treewalk")
    expect(p, result="pass", org="corp-example.com")
    expect(t, result="fail", org="dept.corp-example.com", policy="reject")
    # ... and the other way round: dept's signature does not align with
    # corp-example.com under the walk
    p = one(c, "corp-example.com", dkim="pass:dept.corp-example.com", discovery="psl")
    t = one(c, "corp-example.com", dkim="pass:dept.corp-example.com", discovery="treewalk")
    expect(p, result="pass", org="corp-example.com")
    expect(t, result="fail", org="corp-example.com", policy="none")
    # (c) psd=y at sharedhost.com: each customer is an org domain; bob's
    # signature does not speak for alice under the walk.
    p = one(c, "alice.sharedhost.com", dkim="pass:bob.sharedhost.com", discovery="psl")
    t = one(c, "alice.sharedhost.com", dkim="pass:bob.sharedhost.com", discovery="treewalk")
    expect(p, result="pass", org="sharedhost.com")
    expect(t, result="fail", org="alice.sharedhost.com", record_domain="sharedhost.com",
           policy="quarantine", policy_tag="p")
    eq(org(c, ["evil.blogspot.com", "dept.corp-example.com", "alice.sharedhost.com",
               "x.y.alice.sharedhost.com"], "treewalk"),
       ["blogspot.com", "dept.corp-example.com", "alice.sharedhost.com",
        "alice.sharedhost.com"], "treewalk org domains")
    eq(org(c, ["evil.blogspot.com", "dept.corp-example.com", "alice.sharedhost.com"], "psl"),
       ["evil.blogspot.com", "corp-example.com", "sharedhost.com"], "psl org domains")


@case
def treewalk_policy_and_org(c):
    # RFC 9989 4.10.1: the policy record is the From domain's, else its
    # org domain's (the shortest name with a record), never one in between
    # (the draft this was first built from took the first record walking up)
    o = one(c, "b.a.walk-example.com", discovery="treewalk")
    expect(o, result="fail", record_domain="walk-example.com", policy="reject", policy_tag="p",
           org="walk-example.com")
    o = one(c, "a.walk-example.com", discovery="treewalk")
    expect(o, result="fail", record_domain="a.walk-example.com", policy="quarantine",
           org="walk-example.com")
    o = one(c, "b.a.walk-example.com", dkim="pass:walk-example.com", discovery="treewalk")
    expect(o, result="pass")
    # 8-label cap: from 11 labels the walk jumps to the last 7, skipping
    # the record on the 8-label name
    deep = "a.b.c.d.e.f.g.h.i.deep-example.com"
    o = one(c, deep, discovery="treewalk")
    expect(o, result="fail", record_domain="deep-example.com", policy="reject")
    o = one(c, "d.e.f.g.h.i.deep-example.com", discovery="treewalk")
    expect(o, result="fail", record_domain="d.e.f.g.h.i.deep-example.com", policy="none")


@case
def pct_and_t_per_standard(c):
    # pct= is gone in RFC 9989 (ignored, noted); RFC 7489 applies it (one
    # level milder while sampling)
    o = std(c, "pct-example.com", "rfc9989")
    expect(o, result="fail", policy="reject", applied="reject", pct=100, testing=False)
    contains(o["why"], "pct=50 ignored (not part of RFC 9989)", "why")
    o = std(c, "pct-example.com", "rfc7489")
    expect(o, result="fail", policy="reject", applied="quarantine", pct=50, testing=False)
    # t=y (RFC 9989 4.7): one level milder; RFC 7489 does not know t=
    o = std(c, "test-example.com", "rfc9989")
    expect(o, result="fail", policy="reject", applied="quarantine", testing=True)
    contains(o["why"], "t=y: the domain tests its policy, quarantine applied instead of reject",
             "why")
    o = std(c, "test-example.com", "rfc7489")
    expect(o, result="fail", policy="reject", applied="reject", testing=False)
    contains(o["why"], "t= ignored (not part of RFC 7489)", "why")
    o = std(c, "testq-example.com", "rfc9989")
    expect(o, result="fail", policy="quarantine", applied="none", testing=True)
    # a pass is a pass whatever the options
    o = std(c, "test-example.com", "rfc9989", dkim="pass:test-example.com")
    expect(o, result="pass", applied="quarantine")


@case
def psd_tags_per_rfc9989(c):
    # psd=y at the starting name: the walk stops there (RFC 9989 4.10 step
    # 2) and the name is its own org domain, so its parent's signature does
    # not align; the draft's walk went on to psdtop-example.com
    o = std(c, "sub.psdtop-example.com", "rfc9989", dkim="pass:psdtop-example.com")
    expect(o, result="fail", org="sub.psdtop-example.com", record_domain="sub.psdtop-example.com",
           policy="reject")
    # below it, sub.psdtop-example.com is a public suffix domain
    eq(org(c, ["sub.psdtop-example.com", "x.sub.psdtop-example.com", "y.x.sub.psdtop-example.com"],
           "treewalk"),
       ["sub.psdtop-example.com", "x.sub.psdtop-example.com", "x.sub.psdtop-example.com"],
       "org domains")
    # the PSD's record applies to a name whose org domain has no record
    o = std(c, "mail.mega.bank.example", "rfc9989")
    expect(o, result="fail", org="mega.bank.example", record_domain="bank.example",
           policy="reject", policy_tag="sp")
    # ... but never where the org domain published one (RFC 9989 4.10.1)
    o = std(c, "x.giant.bank.example", "rfc9989")
    expect(o, result="fail", org="giant.bank.example", record_domain="giant.bank.example",
           policy="none", policy_tag="p")
    # the public suffix list knows no bank.example: its org domain is
    # bank.example, whose sp=reject applies
    o = std(c, "x.giant.bank.example", "rfc7489")
    expect(o, result="fail", org="bank.example", record_domain="bank.example",
           policy="reject", policy_tag="sp")
    eq(o["org_other"], "giant.bank.example", "org_other (the tree walk's)")


@case
def discarded_records_say_why(c):
    for st in ("rfc9989", "rfc7489"):
        o = std(c, "order-example.com", st)
        expect(o, result="none", have_record=False)
        contains(o["why"], "\"p=reject; v=DMARC1\" at _dmarc.order-example.com is not a DMARC"
                 " record: v=DMARC1 is not its first tag", "why")
        o = std(c, "space-example.com", st)
        expect(o, result="none")
        contains(o["discarded"], "starts with white space, not with v=DMARC1", "discarded")
    # a broken version term: RFC 9989 discards the record, RFC 7489 (as
    # this program did) gives permerror
    o = std(c, "vbroken-example.com", "rfc9989")
    expect(o, result="none")
    contains(o["why"], "the record at _dmarc.vbroken-example.com was discarded: DMARC record"
             " syntax: no ';' after v=DMARC1", "why")
    o = std(c, "vbroken-example.com", "rfc7489")
    expect(o, result="permerror")


@case
def psl_and_treewalk_disagreement_flagged(c):
    # each method computes the other's org domain and says when they differ
    o = std(c, "evil.blogspot.com", "rfc9989")
    expect(o, org="blogspot.com", org_other="evil.blogspot.com")
    o = std(c, "evil.blogspot.com", "rfc7489")
    expect(o, org="evil.blogspot.com", org_other="blogspot.com", result="none")
    o = std(c, "dept.corp-example.com", "rfc9989")
    expect(o, org="dept.corp-example.com", org_other="corp-example.com")
    # the same org domain both ways: nothing to flag
    for st in ("rfc9989", "rfc7489"):
        expect(std(c, "news.example.com", st), org="example.com", org_other="")
    # no record under either method: DMARC applies under neither, no flag
    expect(std(c, "a.b.nodmarc-example.com", "rfc9989"), org_other="")


# ---- DNS trouble --------------------------------------------------------


# every From domain of the zone above, unauthenticated and with an aligned
# DKIM pass, judged under both standards (each with its own discovery)
STANDARD_CASES = [
    "example.com", "news.example.com", "strict-example.com", "a.sub-example.com",
    "np-example.com", "ghost.np-example.com", "real.np-example.com", "txtonly.np-example.com",
    "multi-example.com", "mixed-example.com", "lowerv-example.com", "nop-example.com",
    "badp-example.com", "badprua-example.com", "broken-example.com", "split-example.com",
    "a.shop.co.uk", "x.com", "t.co", "xn--bcher-kva.example", "evil.blogspot.com",
    "dept.corp-example.com", "x.dept.corp-example.com", "a.sharedhost.com",
    "j.d.e.f.g.h.i.deep-example.com", "b.a.walk-example.com", "pct-example.com",
    "test-example.com", "testq-example.com", "sub.psdtop-example.com",
    "x.sub.psdtop-example.com", "x.giant.bank.example", "mail.mega.bank.example",
    "dup.walk2-example.com", "order-example.com", "space-example.com",
    "vbroken-example.com", "nopnorua-example.com", "nodmarc-example.com",
]

# where RFC 9989 answers otherwise than RFC 7489, and why (all other
# cases must agree): (From, "-" unauthenticated or "dkim" aligned pass)
# -> (rfc9989's (result, policy), rfc7489's)
STANDARDS_DIFFER = {
    # pct=50: ignored by 9989; 7489 one level milder while pct < 100
    ("pct-example.com", "-"): (("fail", "reject"), ("fail", "quarantine")),
    ("pct-example.com", "dkim"): (("pass", "reject"), ("pass", "quarantine")),
    # t=y: one level milder under 9989, unknown to 7489
    ("test-example.com", "-"): (("fail", "quarantine"), ("fail", "reject")),
    ("test-example.com", "dkim"): (("pass", "quarantine"), ("pass", "reject")),
    ("testq-example.com", "-"): (("fail", "none"), ("fail", "quarantine")),
    ("testq-example.com", "dkim"): (("pass", "none"), ("pass", "quarantine")),
    # several records: discarded and discovery goes on (9989), permerror (7489)
    ("multi-example.com", "-"): (("none", None), ("permerror", None)),
    ("multi-example.com", "dkim"): (("none", None), ("permerror", None)),
    ("dup.walk2-example.com", "-"): (("fail", "reject"), ("permerror", None)),
    ("dup.walk2-example.com", "dkim"): (("pass", "reject"), ("permerror", None)),
    # a bad term (p= twice) left out (9989), permerror (7489)
    ("broken-example.com", "-"): (("fail", "none"), ("permerror", None)),
    ("broken-example.com", "dkim"): (("pass", "none"), ("permerror", None)),
    # "v=DMARC1 p=reject": not a record (discarded, 9989), permerror (7489)
    ("vbroken-example.com", "-"): (("none", None), ("permerror", None)),
    ("vbroken-example.com", "dkim"): (("none", None), ("permerror", None)),
    # the tree walk finds a record the PSL walks past: blogspot.com (a PSL
    # suffix that publishes one)
    ("evil.blogspot.com", "-"): (("fail", "reject"), ("none", None)),
    ("evil.blogspot.com", "dkim"): (("pass", "reject"), ("none", None)),
    # psd=n makes dept.corp-example.com its own org domain (9989)
    ("x.dept.corp-example.com", "-"): (("fail", "reject"), ("fail", "none")),
    ("x.dept.corp-example.com", "dkim"): (("pass", "reject"), ("pass", "none")),
    # psd=y at sub.psdtop-example.com: its own org domain (9989)
    ("x.sub.psdtop-example.com", "-"): (("fail", "reject"), ("fail", "none")),
    ("x.sub.psdtop-example.com", "dkim"): (("pass", "reject"), ("pass", "none")),
    # the org domain's record before the public suffix domain's sp=reject (9989)
    ("x.giant.bank.example", "-"): (("fail", "none"), ("fail", "reject")),
    ("x.giant.bank.example", "dkim"): (("pass", "none"), ("pass", "reject")),
    # np=: a TXT-only name exists under 9989 (RFC 8020), not under 9091
    ("txtonly.np-example.com", "-"): (("fail", "quarantine"), ("fail", "reject")),
    ("txtonly.np-example.com", "dkim"): (("pass", "quarantine"), ("pass", "reject")),
}


@case
def standards_differ_only_where_rfc9989_changed(c):
    """Every From domain of the zone under both standards: the result and
    the policy applied are the same except where RFC 9989 changed the
    answer (STANDARDS_DIFFER, each with its reason); a listed difference
    that no longer differs fails too, so the list stays true."""
    rows = []
    for frm in STANDARD_CASES:
        rows.append((frm, "-", "-"))
        rows.append((frm, "-", "pass:" + frm))
    got = {}
    for st in ("rfc9989", "rfc7489"):
        for (frm, _, dk), o in zip(rows, dmarc(c, rows, None, standard=st)):
            applied = o["applied"] if o["applied"] != "unset" else None
            got.setdefault((frm, "dkim" if dk != "-" else "-"), {})[st] = (o["result"], applied)
    seen = set()
    for key, by in sorted(got.items()):
        if key in STANDARDS_DIFFER:
            seen.add(key)
            eq((by["rfc9989"], by["rfc7489"]), STANDARDS_DIFFER[key], "%s %s" % key)
        else:
            eq(by["rfc9989"], by["rfc7489"], "%s %s: the standards agree" % key)
    eq(sorted(set(STANDARDS_DIFFER) - seen), [], "listed differences that were judged")


@case
def temperror_refused(c):
    for d in BOTH:
        o = one(c, "refused-example.com", dkim="pass:refused-example.com", discovery=d)
        expect(o, result="temperror")
        contains(o["why"], "_dmarc.refused-example.com", "why")
        o = one(c, "a.refused2-example.com", dkim="pass:refused2-example.com", discovery=d)
        expect(o, result="temperror")
        o = one(c, "a.b.tw-refused.test", discovery=d)
        expect(o, result="temperror")


@case
def temperror_timeout(c):
    for d in BOTH:
        t0 = time.time()
        o = one(c, "example.com", dkim="pass:example.com", discovery=d,
                ns=c.hole.address, extra=("--timeout-ms", "400"))
        expect(o, result="temperror")
        contains(o["why"].lower(), "timeout", "why")
        check(time.time() - t0 < 10, "timeout took %.1fs" % (time.time() - t0))


@case
def threads_share_one_context(c):
    rows = [("example.com", "-", "pass:example.com"), ("x.com", "pass:attacker.com", "-"),
            ("mail.shop.co.uk", "-", "pass:shop.co.uk"), ("multi-example.com", "-", "-"),
            ("ghost.np-example.com", "-", "-"), (BUECHER, "-", "pass:xn--bcher-kva.example"),
            ("alice.sharedhost.com", "-", "pass:bob.sharedhost.com")]
    for d in BOTH:
        out = dmarc(c, rows, discovery=d, extra=("--threads", "8"))
        eq(len(out), len(rows), "rows")
        eq(out[0]["result"], "pass", "first row")


# ---- iprev --------------------------------------------------------------


@case
def iprev_pass_fail_noptr(c):
    o = iprev(c, ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.8", "not-an-ip"])
    expect(o[0], result="pass", name="mail.good-example.com", ip="192.0.2.1")
    expect(o[1], result="fail", name="", names=["mail.bad-example.com"])
    expect(o[2], result="permerror", n_ptr=0)
    contains(o[2]["why"], "no PTR", "why")
    expect(o[3], result="fail", names=["gone.iprev-example.com"])
    expect(o[4], result="permerror")


@case
def iprev_temperror_and_mixed(c):
    o = iprev(c, ["192.0.2.4", "192.0.2.5", "192.0.2.7"])
    expect(o[0], result="temperror")
    expect(o[1], result="pass", name="ok5.iprev-example.com", n_ptr=2)
    expect(o[2], result="temperror")
    t0 = time.time()
    o = iprev(c, ["192.0.2.1"], ns=c.hole.address, extra=("--timeout-ms", "400"))
    expect(o[0], result="temperror")
    check(time.time() - t0 < 10, "timeout took %.1fs" % (time.time() - t0))


@case
def iprev_bounded_names(c):
    o = iprev(c, ["192.0.2.6"])[0]
    expect(o, result="fail", n_ptr=12)
    eq(len(o["names"]), 10, "names tried")


@case
def iprev_ipv6_and_mapped(c):
    o = iprev(c, ["2001:db8::25", "2001:DB8:0:0::26", "2001:db8::27", "::ffff:192.0.2.1",
                  "192.0.2.9"])
    expect(o[0], result="pass", name="mail6.good-example.com", ip="2001:db8::25")
    expect(o[1], result="fail")
    expect(o[2], result="fail", names=["v4only.iprev-example.com"])   # A only, client v6
    expect(o[3], result="pass", ip="192.0.2.1", name="mail.good-example.com")
    expect(o[4], result="fail")                                        # AAAA only, client v4


if __name__ == "__main__":
    for prog in (DMARCCHECK, IPREVCHECK):
        if not os.access(prog, os.X_OK):
            print("%s not built (make check builds it)" % prog)
            print("0 passed, 1 failed, 0 skipped")
            sys.exit(1)
    sys.exit(run("dmarc/iprev on %s" % BUILD, setup, teardown))
