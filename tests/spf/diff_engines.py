#!/usr/bin/python3
"""Differential test: the builtin SPF engine against libspf2 and pyspf.

    diff_engines.py --spfcheck PATH [--seed N] [--domains N] [-v]

Generates real-world shaped SPF records (nested includes, macros, a/mx/ptr,
redirects, IPv6, the limits), serves them with tests/lib/zonedns.py, and
runs every (record, client) pair through spfcheck --engine builtin, spfcheck
--engine libspf2 and pyspf (Debian python3-spf, an independent RFC 7208
implementation that passes the whole RFC 7208 suite, asking the same
server over loopback).

One case per generated record; it passes when, for every client:
- the builtin engine gives pyspf's result: the RFC 7208 answer, also where
  libspf2 is known to be wrong (a loopback client, the void-lookup limit,
  ...) and where both C engines would agree on a wrong answer;
- libspf2 gives the builtin result, or the difference is explained by a
  listed libspf2 gap (the categories of tests/spf/libspf2-known-gaps.txt,
  plus "localhost is always allowed"): the generator tags each record with
  the gap features its evaluation can touch, and a difference is explained
  only when the record (or one it includes or redirects to) carries one.
Anything else fails the case. spfcheck must exit 0 with no sanitizer
report (tests/lib/evidence.py).

Run with /usr/bin/python3 (Debian's python3-dnslib, python3-spf and
python3-dnspython).
"""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import evidence  # noqa: E402
from zonedns import ZoneServer  # noqa: E402

import dns.resolver  # noqa: E402  (python3-dnspython: pyspf's DNS library)
import spf  # noqa: E402  (python3-spf: pyspf)

BASE = "diff.test"
MATCH4 = "192.0.2.10"        # listed in ip4: terms
HOST4 = "198.51.100.7"       # the A record of a/mx hosts
OTHER4 = "203.0.113.5"       # matches nothing
MATCH6 = "2001:db8::10"
HOST6 = "2001:db8:1::7"
PTR_NAME = "7.100.51.198.in-addr.arpa"
CLIENTS = [MATCH4, HOST4, OTHER4, MATCH6, HOST6, "::ffff:" + MATCH4, "127.0.0.2"]

# gap feature -> (what libspf2 does, the builtin result the RFC wants)
GAPS = {
    "lookup-limit": ("the 10-term limit restarts inside each include",
                     {"permerror"}),
    "void-limit": ("no limit of 2 void lookups", {"permerror"}),
    "redirect-order": ("redirect= evaluated where it stands, not after the mechanisms",
                       None),   # builtin follows the mechanisms; any result
    "cidr-zero": ("a CIDR length of /0 is a syntax error", None),
    "syntax": ("syntax errors not detected", {"permerror"}),
    "ptr-names": ("more than 10 PTR names is an error instead of using the first 10",
                  None),
    # Found by this test (not by the RFC 7208 suite): %{dN} with N >= the
    # number of labels loses the first character ("a.x.test" with
    # %{d3} becomes ".x.test"-like garbage), so the target does not exist.
    "macro-digits": ("%{dN} with N >= the label count loses the first character",
                     None),
}


class Gen:
    """Builds zonedata: {name: [records]} and {domain: set(features)}."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.zone = {}
        self.features = {}
        self.links = {}      # domain -> domains it includes/redirects to
        self.n = 0

    def name(self, kind):
        self.n += 1
        return "%s%d.%s" % (kind, self.n, BASE)

    def add(self, name, *rrs):
        self.zone.setdefault(name, []).extend(rrs)

    def spf(self, name, text, feats=(), links=()):
        self.add(name, {"SPF": text})
        self.features.setdefault(name, set()).update(feats)
        self.links.setdefault(name, set()).update(links)
        return name

    def host(self, v6=False):
        h = self.name("host")
        self.add(h, {"A": HOST4})
        if v6 or self.r.random() < 0.5:
            self.add(h, {"AAAA": HOST6})
        return h

    def q(self):
        return self.r.choice(["-", "~", "?", "-", "~"])

    # ---- record shapes ----
    def plain(self):
        terms = ["ip4:%s/%d" % ("192.0.2.0", self.r.choice([24, 28, 32]) if False else 24),
                 "ip6:2001:db8::/%d" % self.r.choice([32, 48, 64])]
        self.r.shuffle(terms)
        return self.spf(self.name("plain"), "v=spf1 %s %sall" % (" ".join(terms), self.q()))

    def a_mx(self):
        d = self.name("amx")
        self.add(d, {"A": HOST4})
        mx = [self.host() for _ in range(self.r.randint(1, 3))]
        for i, h in enumerate(mx):
            self.add(d, {"MX": [10 * (i + 1), h]})
        form = self.r.choice(["a mx", "mx", "a/24 mx/24", "a:%s" % mx[0], "mx//64 a//48"])
        return self.spf(d, "v=spf1 %s %sall" % (form, self.q()))

    def include_chain(self, depth):
        leaf = self.r.choice([self.plain, self.a_mx])()
        cur = leaf
        for _ in range(depth):
            d = self.name("inc")
            # an address for both families: an "a" term is not a void
            # lookup here (void limits have their own shape)
            self.add(d, {"A": "198.18.0.9"}, {"AAAA": "2001:db8:ffff::9"})
            cur = self.spf(d, "v=spf1 include:%s %s %sall" % (
                cur, self.r.choice(["ip4:198.18.0.0/15", "a", "ip6:2001:db8:ffff::/48"]),
                self.q()), links=[cur])
        return cur

    def redirect(self):
        tgt = self.r.choice([self.plain, self.a_mx])()
        return self.spf(self.name("redir"), "v=spf1 ip4:198.18.0.0/15 redirect=%s" % tgt,
                        links=[tgt])

    def macros(self):
        d = self.name("macro")
        # exists: a DNSBL-style lookup on the client address
        self.add("%s.%s" % ("10.2.0.192", "allow." + BASE), {"A": "127.0.0.2"})
        nib = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        self.add("%s.allow6.%s" % (nib, BASE), {"A": "127.0.0.2"})
        self.add("user.users.%s" % BASE, {"A": HOST4})
        inc = self.spf("_spf.%s" % d, "v=spf1 ip4:192.0.2.0/24 -all")
        form = self.r.choice([
            "exists:%%{ir}.allow.%s exists:%%{ir}.allow6.%s" % (BASE, BASE),
            "a:%%{l}.users.%s" % BASE,
            "include:_spf.%{d}",
            "exists:%%{i}.%%{v}.x.%s include:_spf.%%{d3}" % BASE,
        ])
        feats = ["macro-digits"] if "%{d3}" in form else []
        return self.spf(d, "v=spf1 %s %sall exp=why.%%{d}" % (form, self.q()), links=[inc],
                        feats=feats)

    def ptr(self):
        d = self.name("ptr")
        h = "mail.%s" % d
        self.add(h, {"A": HOST4}, {"AAAA": HOST6})
        self.add(PTR_NAME, {"PTR": h})
        return self.spf(d, "v=spf1 ptr %sall" % self.q(), feats=["ptr"])

    # ---- shapes that hit libspf2 gaps ----
    def over_limit(self):
        incs = []
        for _ in range(3):
            d = self.name("lim")
            self.add(d, {"A": "198.18.0.1"})
            incs.append(self.spf(d, "v=spf1 a a a a ?all"))
        return self.spf(self.name("over"), "v=spf1 %s ip4:%s -all" % (
            " ".join("include:" + i for i in incs), MATCH4),
            feats=["lookup-limit"], links=incs)

    def voids(self):
        names = " ".join("a:nx%d.%s" % (i, BASE) for i in range(3))
        return self.spf(self.name("void"), "v=spf1 %s ip4:%s -all" % (names, MATCH4),
                        feats=["void-limit"])

    def redirect_first(self):
        tgt = self.plain()
        return self.spf(self.name("redirfirst"), "v=spf1 redirect=%s ip4:%s" % (tgt, HOST4),
                        feats=["redirect-order"], links=[tgt])

    def cidr_zero(self):
        d = self.name("cidr0")
        self.add(d, {"A": "10.0.0.1"})
        return self.spf(d, "v=spf1 a//0 -all", feats=["cidr-zero"])

    def bad_syntax(self):
        return self.spf(self.name("syntax"), self.r.choice([
            "v=spf1 ip4:%s exp=a.%s exp=b.%s -all" % (MATCH4, BASE, BASE),
            "v=spf1 a:museum ip4:%s -all" % MATCH4,
            "v=spf1 ip4:%s/032 -all" % MATCH4,
        ]), feats=["syntax"])

    def build(self, count):
        shapes = [self.plain, self.a_mx, lambda: self.include_chain(self.r.randint(1, 3)),
                  self.redirect, self.macros, self.ptr]
        gap_shapes = [self.over_limit, self.voids, self.redirect_first, self.cidr_zero,
                      self.bad_syntax]
        doms = [s() for s in gap_shapes]
        while len(doms) < count:
            doms.append(self.r.choice(shapes)())
        self.add("why.%s" % BASE, {"TXT": "%{i} is not one of our servers"})
        return doms

    def feats_of(self, d, seen=None):
        seen = seen or set()
        if d in seen:
            return set()
        seen.add(d)
        out = set(self.features.get(d, ()))
        if "ptr" in out:
            out.discard("ptr")
            if len([r for r in self.zone.get(PTR_NAME, []) if "PTR" in r]) > 10:
                out.add("ptr-names")
        for x in self.links.get(d, ()):
            out |= self.feats_of(x, seen)
        return out


def run_engine(spfcheck, engine, ns, lines):
    """{case id: (result, why)}, or raises evidence.Failure."""
    p = evidence.run([spfcheck, "--ns", ns, "--engine", engine, "--timeout-ms", "1500"],
                     input=("\n".join(lines) + "\n").encode(), what="spfcheck --engine " + engine)
    out = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) >= 2:
            out[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return out


class RFCQuery(spf.query):
    """pyspf with the reading of RFC 7208 section 4.6.4 that the builtin
    engine follows: a void lookup is a term's own lookup that found
    nothing. pyspf also counts an MX host's empty address lookup (a host
    with no AAAA for an IPv6 client), which makes "mx" records of
    IPv4-only hosts a permerror for IPv6 clients; that is the only change."""

    def dns_mx(self, domainname):
        mxnames = self.dns(domainname, "MX")
        if len(mxnames) > spf.MAX_MX:
            raise spf.PermError("More than %d MX records returned" % spf.MAX_MX)
        mxnames.sort()
        return [a for mx in mxnames for a in self.dns(mx[1], self.A, ignore_void=True)]


def run_pyspf(port, cases):
    """{case id: (result, why)} from pyspf asking 127.0.0.1:port."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = port
    r.lifetime = r.timeout = 5
    dns.resolver.default_resolver = r
    out = {}
    for cid, (d, ip) in cases.items():
        q = RFCQuery(i=ip, s="user@" + d, h="mail." + BASE, strict=True, timeout=10)
        res, _, why = q.check()
        out[cid] = (res, why)
    return out


def explain(gen, dom, ip, b, l):
    """The known libspf2 gap behind a disagreement, or None."""
    if ip.startswith("127.") and l[0] == "pass":
        return "libspf2 gap: a loopback client always passes (\"localhost is always allowed\")"
    for f in sorted(gen.feats_of(dom)):
        what, want = GAPS[f]
        if want is None or b[0] in want:
            return "libspf2 gap %s: %s" % (f, what)
    return None


def judge(gen, d, clients, res_b, res_l, res_p, verbose):
    """(ok, lines) for one record: its clients' results by the three."""
    ok, lines, known = True, [], []
    for cid, ip in clients:
        b = res_b.get(cid, ("(no output)", ""))
        lb = res_l.get(cid, ("(no output)", ""))
        py = res_p.get(cid, ("(no output)", ""))
        if b[0] != py[0]:
            ok = False
            lines.append("  from %s: builtin %s (%s), RFC 7208 (pyspf) %s (%s)"
                         % (ip, b[0], b[1], py[0], py[1]))
        if b[0] == lb[0]:
            continue
        cause = explain(gen, d, ip, b, lb)
        if cause is None:
            ok = False
            lines.append("  from %s: builtin %s (%s), libspf2 %s (%s), no listed gap explains it"
                         % (ip, b[0], b[1], lb[0], lb[1]))
        else:
            known.append("  from %s: builtin %s, libspf2 %s -- %s" % (ip, b[0], lb[0], cause))
    if not ok:
        lines.append("  record: %s" % [r["SPF"] for r in gen.zone.get(d, []) if "SPF" in r])
    if verbose or not ok:
        lines += known
    return ok, lines, known


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spfcheck", required=True)
    ap.add_argument("--seed", type=int, default=7208)
    ap.add_argument("--domains", type=int, default=60)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    gen = Gen(args.seed)
    doms = gen.build(args.domains)
    cases, lines, by_dom = {}, [], {}
    for i, d in enumerate(doms):
        for k, ip in enumerate(CLIENTS):
            cid = "c%d_%d" % (i, k)
            cases[cid] = (d, ip)
            by_dom.setdefault(d, []).append((cid, ip))
            lines.append("\t".join([cid, ip, "mail." + BASE, "user@" + d]))
    srv = ZoneServer(gen.zone).start()
    try:
        try:
            res_b = run_engine(args.spfcheck, "builtin", srv.address, lines)
            res_l = run_engine(args.spfcheck, "libspf2", srv.address, lines)
        except evidence.Failure as e:
            print("FAIL spfcheck: %s" % e)
            print("0 passed, 1 failed, 0 skipped")
            return 1
        res_p = run_pyspf(srv.port, cases)
    finally:
        srv.stop()

    passed = failed = 0
    by_cause = {}
    for d in doms:
        ok, out, known = judge(gen, d, by_dom[d], res_b, res_l, res_p, args.verbose)
        for k in known:
            cause = k.split(" -- ", 1)[1]
            by_cause[cause] = by_cause.get(cause, 0) + 1
        print("%s %s" % ("ok  " if ok else "FAIL", d))
        for line in out:
            print(line)
        passed += ok
        failed += not ok
    print("%d records x %d clients: %d records right; %d client results where libspf2 "
          "differs by a listed gap" % (len(doms), len(CLIENTS), passed, sum(by_cause.values())))
    for cause, n in sorted(by_cause.items()):
        print("  %3d  %s" % (n, cause))
    print("%d passed, %d failed, 0 skipped" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
