"""Bypass class 7: a trusted ARC sealer's results read from a cut copy.

A trusted sealer (TrustedARCSealers) lifts the DMARC policy when its
ARC-Authentication-Results say DMARC, or aligned SPF or DKIM, passed for
the message's From domain. Those results were kept in a fixed buffer
(1,023 octets) and read from what fitted: a result cut at the buffer's end
was read as if whole. The attacker makes the sealer write a long
ARC-Authentication-Results (long selectors, several signatures of its own:
a real sealer writes one result each) that ends with a pass for its own
domain victim.test.evil.test, placed so that the cut falls right after
"victim.test"; then it takes the sealed message (from a list it is on, or
a forward to itself), puts "From: ceo@victim.test" on top (the sealer's
message signature covers the bottom From, so the chain still passes) and
sends it to us. DMARC fails for victim.test, and the cut claim said it
passed: the policy was lifted. Now a result cut at the end is never read
(only whole results count), so each spoof is rejected by victim.test's
policy; a sealer's long results that fit still vouch.

Through the daemon over the milter protocol (tests/milter/milterproto.py: miltertest cannot send fields this long), the sealer's
set made with dkimpy's arc_sign. Run: /usr/bin/python3 test_arc_claims.py BUILDDIR"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, eq                            # noqa: E402
from attack import World, main                                 # noqa: E402
import mail                                                    # noqa: E402

import dkim                                                    # noqa: E402  (python3-dkim)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
SEALER = "lists.test"
CLAIMS_KEPT = 1023       # what arc.c's claims buffer held of the unfolded results


def zone(z):
    z.txt("arc._domainkey." + SEALER, W.sealer_key.record())
    z.txt("_dmarc.victim.test.evil.test", "v=DMARC1; p=none")


class ArcWorld(World):
    def _start(self):
        self.sealer_key = mail.RSAKey(2048, self.work)
        super()._start()
        self.trusting = self.daemon("trusting", dict(self.options, TrustedARCSealers=SEALER))


W = ArcWorld(BUILD, "arcclaims", zone=zone)


def padding(n):
    """Exactly n octets of results a sealer writes for the sender's own
    signatures (n >= 100): one each, long selectors."""
    out, i = "", 0
    while n - len(out) > 200:
        out += "dkim=pass header.d=evil.test header.s=s%d%s; " % (i, "x" * 40)
        i += 1
    head = "dkim=pass header.d=evil.test header.s=last"
    out += head + "y" * (n - len(out) - len(head) - 2) + "; "
    eq(len(out), n, "padding length")
    return out


def results_cut_after(claim, keep):
    """Results that end with claim, whose first keep octets of claim end
    exactly at the old buffer's edge."""
    return padding(CLAIMS_KEPT - keep) + claim


def sealed(results, froms_on_top=("ceo@victim.test",), author="ceo@victim.test.evil.test"):
    """A message from author signed by evil.test, sealed by the trusted
    sealer with these results, then given more From fields on top."""
    m = W.message(author, sign="evil.test")
    m = ("Authentication-Results: %s; %s\r\n" % (SEALER, results)).encode() + m
    sets = dkim.arc_sign(m, b"arc", SEALER.encode(), W.sealer_key.private, SEALER.encode(),
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    check(sets, "dkimpy sealed the message")
    m = b"".join(sets) + m
    return b"".join(b"From: " + f.encode() + b"\r\n" for f in froms_on_top) + m


def aar_claims(msg):
    """The sealer's results as the daemon unfolds them (after 'i=1; lists.test;')."""
    v = re.search(rb"ARC-Authentication-Results:(.*?)\r\n(?![ \t])", msg, re.S).group(1)
    text = b" ".join(v.split()).decode()
    return text.split(";", 2)[2].strip()


CUT = [   # (what, the claim at the end, octets of it before the old cut)
    ("dmarc header.from", "dmarc=pass header.from=victim.test.evil.test",
     len("dmarc=pass header.from=victim.test")),
    ("dkim header.d", "dkim=pass header.d=victim.test.evil.test",
     len("dkim=pass header.d=victim.test")),
    ("dkim header.i", "dkim=pass header.i=@victim.test.evil.test",
     len("dkim=pass header.i=@victim.test")),
    ("spf smtp.mailfrom", "spf=pass smtp.mailfrom=bounce@victim.test.evil.test",
     len("spf=pass smtp.mailfrom=bounce@victim.test")),
    ("dmarc, quoted", 'dmarc=pass header.from="victim.test.evil.test"',
     len('dmarc=pass header.from="victim.test')),
]


@case
def cut_claims_never_vouch():
    bad = []
    for what, claim, keep in CUT:
        W.variant(7, what)
        m = sealed(results_cut_after(claim, keep))
        claims = aar_claims(m)
        check(len(claims) > CLAIMS_KEPT and claims[:CLAIMS_KEPT].endswith(claim[:keep]),
              "%s: the sealer's results reach past the old edge, cut after victim.test: %r"
              % (what, claims[CLAIMS_KEPT - 60:CLAIMS_KEPT + 20]))
        r = W.send_raw(m, sc=W.trusting)
        got = (r["action"], r["cause"])
        if got != ("reject", "dmarc-fail") or "arc_trusted=" in (r["log"] or ""):
            bad.append("%s: %r (%s)" % (what, got, r["log"]))
    check(not bad, "%d of %d cut claims vouched:\n  %s" % (len(bad), len(CUT), "\n  ".join(bad)))


@case
def control_long_results_that_fit_still_vouch():
    # the sealer saw the honest author of victim.test... here: the claim for
    # victim.test whole, after long results; the chain is untouched
    results = padding(700) + "dmarc=pass header.from=victim.test"
    m = sealed(results, froms_on_top=(), author="ceo@victim.test")
    check(len(aar_claims(m)) < CLAIMS_KEPT, "the results fit")
    r = W.send_raw(m, sc=W.trusting)
    eq(r["action"], "accept", "a whole claim vouches (%s)" % r["log"])
    check("arc_trusted=%s" % SEALER in (r["log"] or ""), "vouched by the sealer: %s" % r["log"])
    # the same message without the trust: the policy applies
    r = W.send_raw(m)
    eq((r["action"], r["cause"]), ("reject", "dmarc-fail"), "untrusted (%s)" % r["log"])


@case
def control_a_whole_claim_before_the_edge_still_vouches():
    # results past the edge are dropped whole; the claim before them counts
    results = padding(300) + "dmarc=pass header.from=victim.test; " + padding(CLAIMS_KEPT)[:-2]
    m = sealed(results, froms_on_top=(), author="ceo@victim.test")
    check(len(aar_claims(m)) > CLAIMS_KEPT, "the results reach past the edge")
    r = W.send_raw(m, sc=W.trusting)
    eq(r["action"], "accept", "the whole claim before the edge vouches (%s)" % r["log"])
    check("arc_trusted=%s" % SEALER in (r["log"] or ""), "vouched by the sealer: %s" % r["log"])


@case
def control_a_claim_past_the_edge_is_not_read():
    # a whole pass for victim.test past the edge: not kept, so no vouch
    results = padding(CLAIMS_KEPT + 50) + "dmarc=pass header.from=victim.test"
    m = sealed(results, froms_on_top=(), author="ceo@victim.test")
    r = W.send_raw(m, sc=W.trusting)
    eq((r["action"], r["cause"]), ("reject", "dmarc-fail"), "not vouched (%s)" % r["log"])
    check("arc_trusted=" not in (r["log"] or ""), "no sealer named: %s" % r["log"])


if __name__ == "__main__":
    main(W, "attacks: a trusted ARC sealer's results read from a cut copy (class 7)")
