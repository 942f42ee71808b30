"""Bypass class 1 of issue 9, DNS starvation: one slow or dead name must
never turn another check's definite result into temperror.

The attacker spoofs victim.test (SPF -all for the attacker's client,
DMARC p=reject) and adds names it controls that answer slowly or never:
a DKIM-Signature whose key never answers, several of them, keys that
answer late, an SPF include of an unrelated dead name, a dead MAIL FROM or
HELO domain, a client whose PTR never answers, a key whose reply is
truncated over UDP and TCP. Each spoof must still be rejected by
the victim's DMARC policy (dmarc=fail, not temperror), and the message
must not wait longer than DNSTimeout. The honest controls: an aligned
p=reject sender with a dead extra signature passes DMARC; an honest
sender whose own aligned key is dead gets dmarc=temperror (a retry could
pass), never fail.

The daemon asks a real DNS forwarder on loopback (tests/lib/slowdns.py)
that drops or delays the attacker's names, in front of unbound holding the
zone. Run: /usr/bin/python3 test_dns_starvation.py BUILDDIR"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
from attack import CLIENT, World                              # noqa: E402
import mail                                                   # noqa: E402
from slowdns import SlowDNS                                   # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TIMEOUT_S = 3
SLOW_CLIENT = "192.0.2.77"       # its PTR never answers
RULES = [
    ("dead.test", "drop"),                       # every name under it is dead
    ("77.2.0.192.in-addr.arpa", "drop"),
    ("slow.test", 1500),                         # answers, but late
    ("cut._domainkey.evil.test", "tc"),          # truncated over UDP and TCP
]


def zone(z):
    # the attacker's envelope domains: SPF of its own, pointing at dead names
    z.txt("inc-dead.evil.test", "v=spf1 include:spf.dead.test ip4:%s -all" % CLIENT)
    z.txt("inc-slow.evil.test", "v=spf1 include:spf.slow.test -all")
    z.txt("spf.slow.test", "v=spf1 ip4:%s -all" % CLIENT)
    z.txt("sel._domainkey.good.test", "unused")
    z.add("mail.evil.test", "A", SLOW_CLIENT)


class StarvedWorld(World):
    def _start(self):
        super()._start()
        self.fwd = SlowDNS(self.dns.port, RULES).start()
        self.slow = self.daemon("slow", dict(self.options, Nameservers=self.fwd.address,
                                             DNSTimeout=str(TIMEOUT_S), DNSCacheSize="0"))

    def stop(self):
        if getattr(self, "fwd", None):
            self.fwd.stop()
        super().stop()


W = StarvedWorld(BUILD, "starvation", zone=zone)


def sign_dead(msg, domain, selector="s1"):
    """Adds a DKIM-Signature by domain (whose key lookup never answers)."""
    return mail.sign(msg, domain, selector, W.key)


def send(msg, **kw):
    t0 = time.time()
    r = W.send(msg, sc=W.slow, **kw)
    r["secs"] = time.time() - t0
    r["ar"] = r["headers"].get("Authentication-Results", "")
    return r


def method(r, name):
    """The results of method name in the daemon's log line for the message
    (written whatever the action; 'dkim' once per signature)."""
    return re.findall(r"(?<![\w.])%s=(\w+)" % name, r["log"] or "")


def spoof_rejected(r, what):
    W.variant(1, what)
    eq(r["action"], "reject", "%s: action (%s)" % (what, r["log"]))
    eq(method(r, "dmarc"), ["fail"], "%s: DMARC fails on the aligned identifiers alone" % what)
    contains(r["log"], "header.from=victim.test", what)
    check(r["secs"] < TIMEOUT_S + 2.5, "%s: waited %.1f s, DNSTimeout is %d s" %
          (what, r["secs"], TIMEOUT_S))


@case
def dead_dkim_key_of_another_domain():
    m = sign_dead(W.message("ceo@victim.test", sign="evil.test"), "dead.test")
    r = send(m, mail_from="<ceo@victim.test>")
    spoof_rejected(r, "dead key")
    eq(sorted(method(r, "dkim")), ["pass", "temperror"],
       "the dead key's own signature is temperror, the attacker's live one passes")
    eq(method(r, "spf"), ["fail"], "SPF keeps its definite fail")
    eq(method(r, "iprev"), ["pass"], "iprev keeps its definite pass")


@case
def several_dead_keys_wait_once():
    m = W.message("ceo@victim.test", sign=None)
    for i in range(4):
        m = sign_dead(m, "k%d.dead.test" % i)
    r = send(m, mail_from="<ceo@victim.test>")
    spoof_rejected(r, "four dead keys")
    eq(method(r, "dkim"), ["temperror"] * 4, "each dead key is its own temperror")
    eq(method(r, "spf"), ["fail"], "SPF")


@case
def dead_spf_include_of_an_unrelated_domain():
    r = send(W.message("ceo@victim.test", sign="evil.test"), mail_from="<x@inc-dead.evil.test>")
    spoof_rejected(r, "dead include")
    eq(method(r, "spf"), ["temperror"], "SPF of the attacker's own domain is its own temperror")
    eq(method(r, "dkim"), ["pass"], "DKIM")
    eq(method(r, "iprev"), ["pass"], "iprev")


@case
def slow_spf_include_still_counts():
    # 1.5 s late, inside the budget: SPF passes for the attacker's domain,
    # which does not align with victim.test
    r = send(W.message("ceo@victim.test", sign="evil.test"), mail_from="<x@inc-slow.evil.test>")
    spoof_rejected(r, "slow include")
    eq(method(r, "spf"), ["pass"], "a slow answer within DNSTimeout is still an answer")


@case
def dead_ptr_of_the_client():
    r = send(W.message("ceo@victim.test", sign="evil.test"), mail_from="<ceo@victim.test>",
             ip=SLOW_CLIENT)
    spoof_rejected(r, "dead PTR")
    eq(method(r, "iprev"), ["temperror"], "iprev is its own temperror")
    eq(method(r, "spf"), ["fail"], "SPF")


@case
def everything_dead_at_once():
    m = sign_dead(sign_dead(W.message("ceo@victim.test", sign=None), "a.dead.test"), "b.dead.test")
    r = send(m, mail_from="<x@inc-dead.evil.test>", ip=SLOW_CLIENT)
    spoof_rejected(r, "dead keys, include and PTR")


@case
def more_names_that_answer_late_or_never():
    # four signatures whose keys answer 1.5 s late each: 6 s if asked one
    # after another, past the 3 s budget; asked at once, inside it
    slow = W.message("ceo@victim.test", sign="evil.test")
    for i in range(4):
        slow = sign_dead(slow, "k%d.slow.test" % i)
    # the victim's own name with a selector that has no key (a definite
    # answer) beside a dead unaligned one: the aligned DKIM is permerror, and
    # DMARC fails, never temperror
    missing = mail.sign(sign_dead(W.message("ceo@victim.test", sign=None), "dead.test"),
                        "victim.test", "nokey", W.key)
    cases = [
        ("four slow keys", slow, {"mail_from": "<ceo@victim.test>"}),
        ("aligned key missing beside a dead one", missing, {"mail_from": "<ceo@victim.test>"}),
        ("dead MAIL FROM domain", W.message("ceo@victim.test", sign="evil.test"),
         {"mail_from": "<x@mf.dead.test>"}),
        ("null sender, dead HELO name", W.message("ceo@victim.test", sign="evil.test"),
         {"mail_from": "<>", "helo": "mx.dead.test"}),
        ("dead key deep under a name", sign_dead(W.message("ceo@victim.test", sign="evil.test"),
                                                "a.b.c.d.e.f.g.dead.test"), {"mail_from": "<ceo@victim.test>"}),
        ("dead key and slow include", sign_dead(W.message("ceo@victim.test", sign=None), "dead.test"),
         {"mail_from": "<x@inc-slow.evil.test>"}),
    ]
    for what, m, kw in cases:
        r = send(m, **kw)
        spoof_rejected(r, what)
        if m is missing:
            eq(sorted(method(r, "dkim")), ["permerror", "temperror"],
               "the victim's missing key is a permerror of its own: " + r["log"])


@case
def truncated_key_is_temperror_not_no_key():
    m = W.message("ceo@victim.test", sign=None)
    m = mail.sign(m, "evil.test", "cut", W.key)
    r = send(m, mail_from="<ceo@victim.test>")
    eq(method(r, "dkim"), ["temperror"], "a reply cut over UDP and TCP is temporary: " + r["log"])
    spoof_rejected(r, "truncated key")
    # an accepted copy shows the reason in its A-R
    r = send(mail.sign(W.message("news@good.test", sign="good.test"), "evil.test", "cut", W.key),
             mail_from="<bounce@good.test>")
    contains(r["ar"], "dkim=temperror", "A-R of the truncated key")
    check("no key" not in r["ar"], "never 'no key': " + r["ar"])


@case
def control_aligned_mail_with_a_dead_extra_signature_passes():
    m = sign_dead(W.message("news@good.test", sign="good.test"), "dead.test")
    r = send(m, mail_from="<bounce@good.test>")
    eq(method(r, "dmarc"), ["pass"], "aligned pass with a dead unaligned signature beside it")
    eq(r["action"], "accept", "accepted (%s)" % r["log"])


@case
def control_honest_mail_whose_aligned_key_is_dead_is_temperror():
    # good.test signs with a selector whose key never answers, and its
    # envelope is another domain: no aligned pass yet, but one may come
    m = W.message("news@good.test", sign=None)
    m = mail.sign(m, "good.test", "gone", W.key)
    W.fwd.rules.insert(0, ("gone._domainkey.good.test", "drop"))
    r = send(m, mail_from="<bounce@evil.test>")
    eq(method(r, "dmarc"), ["temperror"], "the aligned key is pending: " + r["log"])
    check(r["action"] != "reject", "never rejected as a DMARC fail (%s)" % r["log"])


@case
def early_questions_are_asked_once():
    # single flight and the session: a key asked when its field arrives is
    # not asked again by the verifier, even with the cache off
    n0 = W.fwd.queries("s1._domainkey.evil.test")
    r = send(W.message("ceo@victim.test", sign="evil.test"), mail_from="<ceo@victim.test>")
    spoof_rejected(r, "plain spoof")
    eq(W.fwd.queries("s1._domainkey.evil.test") - n0, 1, "key lookups for one message")


def setup():
    return W.start()


def teardown(_):
    W.stop()


if __name__ == "__main__":
    sys.exit(run("attacks: DNS starvation (issue 9 class 1)", setup, teardown))
