"""Bypass class 3 (issue 9): a malformed From domain. ceo@victim.test
followed by a control byte, '/', '\\', '=', a no-break space or an 8-bit
byte, or written as a domain literal, gave dmarc=permerror and no policy.
Now the domain a mail client shows (the longest valid prefix, lower case,
A-label) is judged and its policy applies; where no domain can be found
the message is treated at least as strictly as a DMARC fail (cause
bad-from, On-BadFrom, by default On-DMARCFail's action, "policy" meaning
reject), with an A-R reason that says what was wrong. Several addresses
follow one rule whether they come in one From field or in several.
Through the daemon over the milter protocol and through a real Postfix.
Run: /usr/bin/python3 test_from_domain.py BUILDDIR"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
from attack import World, main                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "from")

# what follows the domain: a reader still sees victim.test
JUNK = [b"\x01", b"\x0b", b"\x1b", b"\x7f", b"/", b"\\", b"=", b".", b"..", b"\xc2\xa0", b"\xa0", b"\xff",
        b"!", b"#", b"?", b"%", b"}", b"\x01\x02", b"\xe2\x80\x8b", b"\xef\xbb\xbf", b"/\x01"]


def recovered_values():
    out = []
    for j in JUNK:
        out += [b"ceo@victim.test" + j, b"Boss <ceo@victim.test" + j + b">",
                b'"Boss" <ceo@VICTIM.TEST' + j + b">"]
    out += [b"ceo@[victim.test]", b"Boss <ceo@[Victim.Test]>", b"ceo@vic\xc2\xadtim.test",
            b"ceo@victim.test (the boss)\x01", b"ceo@victim.test>", b"ceo@victim.test>>"]
    return out


# no domain can stand for the address: bad-from
UNUSABLE = [b"ceo@[192.0.2.1]", b"Boss <ceo@[IPv6:2001:db8::1]>", b"ceo@victim\x01.test",
            b"ceo@\x01victim.test", b"ceo@victim.test/evil.test", b"ceo@victim..test", b"ceo",
            b"undisclosed-recipients:;", b"ceo@", b"Boss <ceo@>", b"ceo@.victim.test",
            b"ceo@victim\xc2\xa0.test", b"ceo@victim\x00.test",
            b", ".join(b"a@d%d.evil.test" % i for i in range(8)) + b", ceo@victim.test",
            b", ".join(b"a%d@evil.test" % i for i in range(64)) + b", ceo@victim.test"]

# (From fields, expected cause): the same addresses in one field or in several
SEVERAL = [
    ([b"a@evil.test, ceo@victim.test"], "dmarc-fail"),
    ([b"a@evil.test", b"ceo@victim.test"], "dmarc-fail"),
    ([b"ceo@victim.test", b"a@evil.test"], "dmarc-fail"),
    ([b"a@evil.test, ceo@victim.test\x01"], "dmarc-fail"),
    ([b"a@evil.test", b"ceo@victim.test\x01"], "dmarc-fail"),
    ([b"a@evil.test, Boss <ceo@[victim.test]>"], "dmarc-fail"),
    ([b"a@evil.test", b"Boss <ceo@[victim.test]>"], "dmarc-fail"),
    ([b"a@evil.test, ceo@[192.0.2.1]"], "bad-from"),
    ([b"a@evil.test", b"ceo@[192.0.2.1]"], "bad-from"),
    ([b"a@good.test, b@good.test", b"c@good.test"], "dmarc-fail"),     # aligned? no: signed by evil
]


def spoof_fields(froms, sign="evil.test"):
    """A message with these From fields (the first as From, the others added)."""
    if not froms:
        m = W.message(b"x@evil.test", sign=sign)
        return m.replace(b"\r\nFrom: x@evil.test\r\n", b"\r\n", 1)
    return W.message(froms[0], sign=sign, extra=[("From", b" " + f) for f in froms[1:]])


def judged(r, what, action, cause):
    eq((r["action"], r["cause"]), (action, cause), "%s (%s)" % (what, (r["log"] or "")[:300]))


@case
def milter_judges_the_domain_a_reader_sees():
    for v in recovered_values():
        W.variant(3, v)
        r = W.send(spoof_fields([v]))
        judged(r, "From %r" % v, "reject", "dmarc-fail")
        contains(r["log"], "dmarc=fail header.from=victim.test", "From %r: judged as victim.test" % v)
    W.variant(3, b"quar")
    judged(W.send(spoof_fields([b"ceo@quar.test\x01"])), "p=quarantine", "quarantine", "dmarc-fail")


@case
def milter_unusable_from_is_strict():
    for v in UNUSABLE:
        W.variant(3, v)
        r = W.send(spoof_fields([v]))
        judged(r, "From %r" % v, "reject", "bad-from")
    W.variant(3, "no From field")
    judged(W.send(spoof_fields([])), "no From field", "reject", "bad-from")


@case
def milter_reply_and_ar_say_what_was_wrong():
    r = W.send(spoof_fields([b"ceo@[192.0.2.1]"]), expect_reply=(
        "550", "5.7.1", "Messages missing a valid address in the From: header, or having no From: "
        "header, are not accepted: From domain '[192.0.2.1]' is a domain literal that names no "
        "domain. For more information, go to "
        "https://support.google.com/mail/?p=RfcMessageNonCompliant and review RFC 5322 "
        "specifications."))
    check(r["reply_match"], "the reply names the cause: %s" % r["stdout"][-500:])
    r = W.send(spoof_fields([b"ceo@[192.0.2.1]"]), sc=W.report)
    ar = r["headers"]["Authentication-Results"]
    contains(ar, "dmarc=permerror reason=\"From domain '[192.0.2.1]' is a domain literal", "A-R reason")
    r = W.send(spoof_fields([b"ceo@victim.test\x01"]), sc=W.report)
    ar = r["headers"]["Authentication-Results"]
    contains(ar, "dmarc=fail", "A-R: DMARC fails")
    contains(ar, "header.from=victim.test", "for the domain a reader sees")
    contains(ar, 'read as victim.test', "with the note")
    import authres
    for v in (b"ceo@[192.0.2.1]", b"ceo@victim.test\x01", b"ceo@victim\x01.test"):
        ar = W.send(spoof_fields([v]), sc=W.report)["headers"]["Authentication-Results"]
        authres.AuthenticationResultsHeader.parse("Authentication-Results: " + ar.replace("\n", "\r\n"))
        p = subprocess.run(["perl", os.path.join(os.path.dirname(__file__), "..", "lib", "parse_ar.pl")],
                           input=ar.encode(), capture_output=True)
        eq(p.returncode, 0, "Perl parses the A-R for %r: %s" % (v, p.stdout))


@case
def milter_one_rule_for_one_field_or_several():
    for froms, cause in SEVERAL:
        W.variant(3, tuple(froms))
        judged(W.send(spoof_fields(froms)), "From fields %r" % froms, "reject", cause)


@case
def bad_from_action_follows_the_options():
    """On-BadFrom inherit follows On-DMARCFail (its "policy" means reject);
    an explicit On-BadFrom wins."""
    msg = spoof_fields([b"ceo@[192.0.2.1]"])
    judged(W.send(msg, sc=W.report), "On-DMARCFail accept", "accept", "bad-from")
    judged(W.send(msg, sc=W.quarantine), "On-DMARCFail quarantine", "quarantine", "bad-from")
    judged(W.send(msg, sc=W.tempfail), "On-BadFrom tempfail", "tempfail", "bad-from")


@case
def postfix_passes_odd_from_fields_and_the_policy_holds():
    for v in recovered_values():
        _, final, line = W.smtp("<bounce@evil.test>", spoof_fields([v]))
        check(re.match(r"550[ -]5\.7\.26 Unauthenticated email from victim\.test ", final),
              "From %r through Postfix: %s" % (v, final))
        contains(line, "dmarc=fail header.from=victim.test", "From %r: the daemon's verdict" % v)
    for v in UNUSABLE:
        _, final, line = W.smtp("<bounce@evil.test>", spoof_fields([v]))
        check(re.match(r"550[ -]5\.7\.1 Messages missing a valid address", final),
              "From %r through Postfix: %s" % (v, final))
    for froms, cause in SEVERAL:
        _, final, line = W.smtp("<bounce@evil.test>", spoof_fields(froms))
        check(final.startswith("550") and " cause=%s" % cause in line, "From fields %r through Postfix: %s" % (froms, final))
    _, final, line = W.smtp("<bounce@evil.test>", spoof_fields([]))
    check(final.startswith("550"), "no From field through Postfix: %s / %s" % (final, line))


@case
def postfix_controls_accepted():
    for v in (b'"Doe, John (CEO)" <news@good.test>', b"news@good.test (Good News)",
              b'"ceo@victim.test" <news@good.test>', b"=?utf-8?q?Caf=C3=A9?= <news@GOOD.test>"):
        _, final, line = W.smtp("<bounce@good.test>", W.message(v, sign="good.test"))
        check(final.startswith("250") and " action=accept" in line, "From %r: %s / %s" % (v, final, line))


def prepare(w):
    w.report = w.daemon("report", {})
    w.quarantine = w.daemon("quarantine", {"On-DMARCFail": "quarantine"})
    w.tempfail = w.daemon("tempfail", {"On-DMARCFail": "policy", "On-BadFrom": "tempfail"})
    w.start_postfix()


if __name__ == "__main__":
    main(W, "attacks: class 3, malformed From domains", prepare)
