"""Control messages for the attacks group: honest mail that the defences
against spoofing must still accept, through the daemon set up as an MX
against spoofing (On-DMARCFail policy, On-SPFFail reject): aligned mail
from a p=reject domain, quoted display names, comments, legal quoted local
parts in MAIL FROM, 200 ordinary header fields.
Run: /usr/bin/python3 test_controls.py BUILDDIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
from attack import World, main                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "controls")


def accepted(r, what, mail_domain="good.test"):
    eq(r["action"], "accept", "%s: action (%s)" % (what, r["log"]))
    ar = r["headers"].get("Authentication-Results", "")
    contains(ar, "dmarc=pass", what + ": DMARC passes")
    contains(ar, "header.from=good.test", what + ": the From domain")
    contains(ar, "spf=pass", what + ": SPF passes")
    contains(ar, mail_domain, what + ": the MAIL FROM domain in A-R")


@case
def aligned_mail_from_p_reject_domain():
    r = W.send(W.message("news@good.test", sign="good.test"), mail_from="<bounce@good.test>")
    accepted(r, "aligned")
    contains(r["headers"]["Authentication-Results"], "dkim=pass", "DKIM passes")


def accepted_froms(values):
    for value in values:
        r = W.send(W.message(value, sign="good.test"), mail_from="<bounce@good.test>")
        accepted(r, "From %r" % value)


@case
def quoted_display_names():
    accepted_froms(('"Good News" <news@good.test>', '"Doe, John" <news@good.test>',
                    '"ceo@victim.test" <news@good.test>',
                    '"a \\"quoted\\" (not a comment) <x@y>" <news@good.test>',
                    '=?utf-8?q?Caf=C3=A9?= <news@good.test>'))


@case
def comments_in_from():
    accepted_froms(("news@good.test (Good News)", "(the newsletter) news@good.test",
                    "Good News <news@good.test> (team)", "news(x)@(y)good.test",
                    "Good (really) News <news@good.test>"))


@case
def legal_quoted_local_parts_in_mail_from():
    for path in ('<"john doe"@good.test>', '<"a\\"b"@good.test>', '<"x.y"@good.test>',
                 "<@relay.test:bounce@good.test>", "<Bounce@GOOD.TEST>"):
        r = W.send(W.message("news@good.test", sign="good.test"), mail_from=path)
        accepted(r, "MAIL FROM %s" % path)


@case
def two_hundred_ordinary_headers():
    extra = [("X-Trace-%d" % i, " hop %d via relay%d.good.test" % (i, i)) for i in range(200)]
    r = W.send(W.message("news@good.test", sign="good.test", extra=extra), mail_from="<bounce@good.test>")
    accepted(r, "200 fields")
    check("input=" not in (r["log"] or ""), "no input problem logged: %s" % r["log"])


if __name__ == "__main__":
    main(W, "attacks: control messages that must be accepted")
