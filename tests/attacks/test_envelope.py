"""Bypass class 4 (issue 9): an envelope sender read differently from the
way the MTA routes it. MAIL FROM:<"x@evil.test>"@victim.test> once made
SPF judge evil.test (pass) while bounces go to victim.test. Every path
below routes to victim.test, whose SPF fails for the client: each must be
judged as victim.test (SPF fail, On-SPFFail reject) and named so in
Authentication-Results, through the daemon over the milter protocol, the
offline checker and a real Postfix; honest quoted local parts, routes and
the null path stay accepted.
Run: /usr/bin/python3 test_envelope.py BUILDDIR"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
import evidence                                               # noqa: E402
from attack import World, main                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "envelope")

# (path as the client writes it, does Postfix 3.7 take it at MAIL FROM?)
ATTACKS = [
    ('<"x@evil.test>"@victim.test>', True),          # the input
    ('<"x@evil.test>\\"@victim.test>', False),       # an escaped quote before the '>'
    ('<"a\\"@evil.test>"@victim.test>', True),
    ('<"<evil.test>"@victim.test>', True),
    ('<"@evil.test"@victim.test>', True),
    ('<"x@evil.test"@victim.test>', True),
    ('<"x>y@evil.test"@victim.test>', True),
    ('<"x\\>@evil.test"@victim.test>', True),
    ('<"x" @evil.test@victim.test>', True),
    ('<x@evil.test@victim.test>', True),              # several '@': the last one routes
    ('<"x"@evil.test@victim.test>', True),
    ('<x(@evil.test)@victim.test>', True),            # a comment naming the other domain
    ('<@evil.test:x@victim.test>', True),             # source route (ignored)
    ('<@evil.test,@[192.0.2.10]:x@victim.test>', True),
    ('<@evil.test,@mail.evil.test:"x@evil.test>"@victim.test>', True),
    ('<x@evil.test>@victim.test>', False),            # Postfix refuses it; other MTAs may not
    ('<x@victim.test.>', True),                       # trailing dot
    ('<X@VICTIM.TEST>', True),
    ('x@victim.test', True),                          # no angle brackets
    ('< x@victim.test >', True),
    ('<x@Victim.Test>', True),
    ('<"' + "x" * 1100 + '"@victim.test>', True),    # past every local-part limit
    ('<' + "x" * 300 + '@victim.test>', True),
    ('<"' + "@evil.test" * 100 + '"@victim.test>', True),
]

CONTROLS = ['<bounce@good.test>', '<"john doe"@good.test>', '<"x@y>z"@good.test>',
            '<"a\\"b"@good.test>', '<@relay.test:bounce@good.test>', '<>']


def honest():
    return W.message("news@good.test", sign="good.test")


def mailfrom_domain(ar):
    """The domain of smtp.mailfrom as python3-authres reads our A-R."""
    import authres
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + ar.replace("\n", "\r\n"))
    for r in h.results:
        if r.method == "spf":
            for p in r.properties:
                if (p.type, p.name) == ("smtp", "mailfrom"):
                    return p.value.rsplit("@", 1)[-1]
    return None


@case
def milter_judges_the_routing_domain():
    """(miltertest overflows its stack on a MAIL FROM over ~1,000 octets:
    the longest paths are spoken by milterproto.py.)"""
    for path, _ in ATTACKS:
        W.variant(4, path)
        send = W.send_raw if len(path) > 900 else W.send
        r = send(honest(), mail_from=path)
        eq(r["action"], "reject", "MAIL FROM %s: action (%s)" % (path, r["log"]))
        eq(r["cause"], "spf-fail", "MAIL FROM %s: cause" % path)
        contains(r["log"], " spf=fail domain=victim.test ", "MAIL FROM %s: SPF domain" % path)
        # A-R of a daemon that only reports
        r = send(honest(), mail_from=path, sc=W.report)
        ar = r["headers"].get("Authentication-Results", "")
        contains(ar, "spf=fail", "MAIL FROM %s: A-R" % path)
        eq(mailfrom_domain(ar), "victim.test", "MAIL FROM %s: smtp.mailfrom in %r" % (path, ar))
        check("evil.test" not in ar.split("smtp.mailfrom=")[1].split(";")[0],
              "MAIL FROM %s: A-R names no other domain: %r" % (path, ar))


@case
def offline_checker_reads_the_same():
    path = os.path.join(W.work, "honest.eml")
    with open(path, "wb") as f:
        f.write(honest())
    for mf, _ in ATTACKS[:6] + ATTACKS[9:13] + ATTACKS[-3:]:
        p = evidence.run([os.path.join(BUILD, "tools", "sendercheck-test"), "-c", W.sc.conf,
                          "--ip", "192.0.2.10", "--helo", "mail.evil.test", "--mail-from", mf,
                          "--json", path], timeout=60)
        v = json.loads(p.stdout)
        eq((v["spf"]["result"], v["spf"]["domain"]), ("fail", "victim.test"), "--mail-from %s" % mf)
        eq(v["action"]["action"], "reject", "--mail-from %s: action" % mf)


@case
def milter_controls_accepted():
    for path in CONTROLS:
        r = W.send(honest(), mail_from=path)
        eq(r["action"], "accept", "MAIL FROM %s (%s)" % (path, r["log"]))
        check(path == "<>" or " spf=pass domain=good.test " in r["log"], "SPF pass for good.test: %s" % r["log"])


@case
def postfix_judges_the_routing_domain():
    """What Postfix 3.7 takes at MAIL FROM is as ATTACKS says; everything it
    takes reaches the daemon and is rejected by SPF for victim.test."""
    for path, passes in ATTACKS:
        W.variant(4, path)
        mail_reply, final, line = W.smtp(path, honest())
        if not passes:
            check(mail_reply.startswith("501"), "Postfix refuses MAIL FROM %s: %s" % (path, mail_reply))
            continue
        check(mail_reply.startswith("250"), "Postfix takes MAIL FROM %s: %s" % (path, mail_reply))
        # Gmail's reply to an SPF hard fail: 550 5.7.26, the domain named
        check(re.match(r"550[ -]5\.7\.26 The \(E\)MAIL FROM domain \[victim\.test\]", final),
              "MAIL FROM %s: rejected by SPF for victim.test: %s" % (path, final))
        contains(line, " spf=fail domain=victim.test ", "MAIL FROM %s: the daemon's log" % path)


@case
def postfix_controls_accepted():
    for path in CONTROLS:
        mail_reply, final, line = W.smtp(path, honest())
        check(final.startswith("250") and "queued" in final, "MAIL FROM %s accepted: %s / %s" %
              (path, final, line))


def prepare(w):
    w.report = w.daemon("report", {})
    w.start_postfix()


if __name__ == "__main__":
    main(W, "attacks: class 4, envelope sender paths", prepare)
