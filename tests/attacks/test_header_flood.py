"""Bypass class 2 (issue 9): a header flood. Past the engine's header
limits (10,000 fields, 1 MiB) a spoof of a p=reject domain was "not
checkable", an internal error, and On-Error (accept) applied. Postfix sets
no bound on the number of fields and cuts each at 60,000 octets when milters
are configured (cleanup's KLUDGE_HEADER_LIMIT; header_size_limit, 102,400,
without milters), so all of the floods below reach the daemon through it.
Each must still be judged on what is known (the envelope, every From
field) and get the From domain's policy: never a milder action. An honest
flood (aligned SPF) stays accepted. (miltertest overflows its stack on
fields over ~4 KB: floods of large fields are spoken by milterproto.py.)
Run: /usr/bin/python3 test_header_flood.py BUILDDIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
from attack import World, main                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "flood")
COUNT = 10001                  # one more field than the engine keeps
BIG = 59000                    # under Postfix's 60,000 per field with milters


def pad(n, size=0, name="X-Pad"):
    return [("%s-%d" % (name, i), " " + ("%d" % i if not size else "y" * size)) for i in range(n)]


def spoof(from_value="ceo@victim.test", first=(), extra=()):
    """Signed by evil.test, From victim.test: DMARC fails, p=reject."""
    return W.message(from_value, first=first, extra=extra)


FORGED_AR = [("Authentication-Results", " mx.test; dmarc=pass header.from=victim.test")] * COUNT
DKIM_JUNK = [("DKIM-Signature", " v=1; a=rsa-sha256; d=victim.test; s=s%d; h=from; bh=x; b=y" % i)
             for i in range(COUNT)]

# (name, message builder, expected action, expected cause)
FLOODS = [
    ("count after From", lambda: spoof(extra=pad(COUNT)), "reject", "dmarc-fail"),
    ("count before From", lambda: spoof(first=pad(COUNT)), "reject", "dmarc-fail"),
    ("bytes after From", lambda: spoof(extra=pad(20, BIG)), "reject", "dmarc-fail"),
    ("bytes before From", lambda: spoof(first=pad(20, BIG)), "reject", "dmarc-fail"),
    ("count and bytes", lambda: spoof(first=pad(5000) + pad(15, BIG, "X-Big")), "reject", "dmarc-fail"),
    ("second From past the limit", lambda: spoof("a@evil.test", extra=pad(COUNT) + [("From", " ceo@victim.test")]),
     "reject", "dmarc-fail"),
    ("forged A-R flood", lambda: spoof(first=FORGED_AR), "reject", "dmarc-fail"),
    ("DKIM-Signature flood", lambda: spoof(first=DKIM_JUNK), "reject", "dmarc-fail"),
    ("From fields past what is kept", lambda: spoof("a@evil.test", extra=pad(COUNT) +
                                                    [("From", " a%d@evil.test" % i) for i in range(150)] +
                                                    [("From", " ceo@victim.test")]), "reject", "bad-from"),
    ("one From with 3000 addresses", lambda: spoof(", ".join("a%d@evil.test" % i for i in range(3000)) +
                                                   ", ceo@victim.test"), "reject", "bad-from"),
    ("p=quarantine domain", lambda: spoof("ceo@quar.test", first=pad(COUNT)), "quarantine", "dmarc-fail"),
]


def big(msg):
    """A field over 3,500 octets: miltertest cannot send it."""
    import re
    head = msg.split(b"\r\n\r\n", 1)[0]
    return max(len(f) for f in re.split(rb"\r\n(?![ \t])", head)) > 3500


@case
def milter_judges_floods_by_policy():
    for name, build, action, cause in FLOODS:
        msg = build()
        W.variant(2, name)
        r = W.send_raw(msg) if big(msg) else W.send(msg)
        eq((r["action"], r["cause"]), (action, cause), "%s (%s)" % (name, (r["log"] or "")[:400]))
        check(" cause=error" not in r["log"], "%s: not an internal error" % name)


# fields past Postfix's 60,000-octet cut (Sendmail, or an MTA with other
# limits): only over the milter protocol, up to MilterMaxData (1 MiB)
MILTER_ONLY = [
    ("100 KB fields", lambda: spoof(first=pad(12, 100000, "X-Huge")), "reject", "dmarc-fail"),
    ("one field of 1,000,000 octets", lambda: spoof(first=pad(1, 1000000, "X-Huge")), "reject", "dmarc-fail"),
    ("a 900 KB From behind 1 MiB", lambda: spoof(b"ceo@victim.test (" + b"x" * 900000 + b")",
                                                    first=pad(12, 100000, "X-Huge")), "reject", "dmarc-fail"),
]


@case
def milter_judges_fields_postfix_would_cut():
    for name, build, action, cause in MILTER_ONLY:
        W.variant(2, name)
        r = W.send_raw(build())
        eq((r["action"], r["cause"]), (action, cause), "%s (%s)" % (name, (r["log"] or "")[:400]))


@case
def milter_names_what_it_did_not_check():
    """The A-R of a reporting daemon: DKIM neutral (not verified), DMARC
    fail for victim.test; python3-authres and Perl parse it."""
    import subprocess
    import authres
    r = W.send(spoof(first=pad(COUNT)), sc=W.report)
    ar = r["headers"]["Authentication-Results"]
    contains(ar, "dkim=neutral reason=\"not verified: more than 10000 header fields", "DKIM not verified")
    contains(ar, "dmarc=fail", "DMARC judged")
    contains(ar, "header.from=victim.test", "the From domain")
    check("dkim=pass" not in ar, "no DKIM pass")
    authres.AuthenticationResultsHeader.parse("Authentication-Results: " + ar.replace("\n", "\r\n"))
    p = subprocess.run(["perl", os.path.join(os.path.dirname(__file__), "..", "lib", "parse_ar.pl")],
                       input=ar.encode(), capture_output=True)
    eq(p.returncode, 0, "Mail::AuthenticationResults parses it: %s" % p.stdout)
    contains(r["log"], 'input="more than 10000 header fields"', "the log says why")


@case
def milter_honest_flood_accepted():
    """Aligned SPF is known whatever the size: DMARC passes, mail flows."""
    for first in (pad(COUNT), pad(20, BIG)):
        m = W.message("news@good.test", sign="good.test", first=first)
        r = (W.send_raw if big(m) else W.send)(m, mail_from="<bounce@good.test>")
        eq(r["action"], "accept", "honest flood (%s)" % r["log"][:300])
        contains(r["log"], "dmarc=pass header.from=good.test", "DMARC pass on SPF")


@case
def postfix_passes_floods_and_the_policy_holds():
    for name, build, action, cause in FLOODS:
        W.variant(2, name)
        mail_reply, final, line = W.smtp("<bounce@evil.test>", build())
        # a multi-line reply (the filter folds Gmail's texts) starts "550-"
        want = {"reject": ("550 5.7.26", "550-5.7.26", "550 5.7.1", "550-5.7.1"),
                "quarantine": ("250",)}[action]
        check(final.startswith(want), "%s through Postfix: %s" % (name, final))
        check(line is not None and " action=%s cause=%s" % (action, cause) in line,
              "%s: the daemon's verdict: %s" % (name, line))
    for first in (pad(COUNT), pad(20, BIG)):
        _, final, line = W.smtp("<bounce@good.test>", W.message("news@good.test", sign="good.test",
                                                                first=first))
        check(final.startswith("250") and " action=accept" in line, "honest flood through Postfix: %s" % final)


def prepare(w):
    w.report = w.daemon("report", {})
    w.start_postfix()


if __name__ == "__main__":
    main(W, "attacks: class 2, header floods", prepare)
