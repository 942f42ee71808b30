"""Bypass class 6: the victim's own SPF record reaches the attacker's DNS.

Some SPF terms make the receiver ask names the connecting client chooses:
the ptr mechanism and the %{p} macro ask the client's PTR (the attacker
runs its reverse zone) and the address records of the names it returns.
RFC 7208 (5.5, 7.3) makes a DNS error there "no match" / "unknown", never
temperror. But an answer that never comes still costs time; if it used up
the SPF check's DNS budget, the victim's next term (an include, mx, a)
would get "budget used up", SPF temperror for an aligned MAIL FROM, DMARC
temperror, and On-DNSError (accept by default) instead of the victim's
p=reject. Each spoof below must be rejected by the victim's policy with
SPF fail, and honest mail from the victim's own server must still pass.

The daemon asks a real DNS forwarder on loopback (tests/lib/slowdns.py)
that drops the attacker's names, in front of unbound holding the zone.
Run: /usr/bin/python3 test_spf_reach.py BUILDDIR"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, eq, run                      # noqa: E402
from attack import World                                      # noqa: E402
from slowdns import SlowDNS                                   # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TIMEOUT_S = 3
DEAD_PTR = "192.0.2.77"      # its PTR never answers
DEAD_NAME = "192.0.2.78"     # its PTR names a host whose address never answers
SLOW_PTR = "192.0.2.79"      # its PTR answers 1 s late
HONEST = "192.0.2.99"        # the victims' own server (their SPF allows it)
HONEST_SLOW = "192.0.2.80"   # another of ptr-inc.test's servers, its PTR 1 s late
RULES = [
    ("77.2.0.192.in-addr.arpa", "drop"),
    ("dead.test", "drop"),
    ("79.2.0.192.in-addr.arpa", 1000),
    ("80.2.0.192.in-addr.arpa", 1000),
]
# the victims: p=reject, an SPF record whose first terms ask the client's
# names, then a term that needs DNS of the victim's own
VICTIMS = {
    "ptr-inc.test": "v=spf1 ptr include:_spf.ptr-inc.test -all",
    "ptr-mx.test": "v=spf1 ptr mx -all",
    "ptr-a.test": "v=spf1 ptr:ptr-a.test a:out.ptr-a.test -all",
    "pmac.test": "v=spf1 exists:%{p}.allow.pmac.test include:_spf.pmac.test -all",
    "pmac-a.test": "v=spf1 a:%{p} a:out.pmac-a.test -all",
    "ptr-ptr.test": "v=spf1 ptr ptr:x.ptr-ptr.test ptr:y.ptr-ptr.test include:_spf.ptr-ptr.test -all",
    "exp.test": "v=spf1 ptr a:out.exp.test -all exp=why.%{p}.exp.test",
}


def zone(z):
    for d, spf in VICTIMS.items():
        z.txt(d, spf)
        z.txt("_dmarc." + d, "v=DMARC1; p=reject")
        z.txt("_spf." + d, "v=spf1 ip4:%s -all" % HONEST)
        z.add("out." + d, "A", HONEST)
        z.add(d, "MX", "10 out." + d)
    z.add("78.2.0.192.in-addr.arpa", "PTR", "host.dead.test")
    z.add("79.2.0.192.in-addr.arpa", "PTR", "host.evil.test")
    z.add("host.evil.test", "A", SLOW_PTR)
    z.add("99.2.0.192.in-addr.arpa", "PTR", "out.ptr-inc.test")
    z.add("80.2.0.192.in-addr.arpa", "PTR", "out2.ptr-inc.test")
    z.add("out2.ptr-inc.test", "A", HONEST_SLOW)


class ReachWorld(World):
    def _start(self):
        super()._start()
        self.fwd = SlowDNS(self.dns.port, RULES).start()
        opts = dict(self.options, Nameservers=self.fwd.address, DNSTimeout=str(TIMEOUT_S),
                    DNSCacheSize="0")
        self.slow = self.daemon("slow", opts)
        self.libspf2 = self.daemon("libspf2", dict(opts, SPFEngine="libspf2"))

    def stop(self):
        if getattr(self, "fwd", None):
            self.fwd.stop()
        super().stop()


W = ReachWorld(BUILD, "spfreach", zone=zone)


def method(r, name):
    return re.findall(r"(?<![\w.])%s=(\w+)" % name, r["log"] or "")


def send(victim, ip, helo="mail.evil.test", mail_from=None, sign="evil.test", sc=None):
    t0 = time.time()
    r = W.send(W.message("ceo@" + victim, sign=sign), sc=sc or W.slow, ip=ip, helo=helo,
               mail_from=mail_from or "<ceo@%s>" % victim)
    r["secs"] = time.time() - t0
    return r


def spoof_rejected(victim, ip, what, **kw):
    """'' when the spoof was rejected as it must be, else what went wrong."""
    W.variant(6, (victim, ip, what))
    r = send(victim, ip, **kw)
    if kw.get("sc") is W.libspf2:
        what += " (SPFEngine libspf2)"
    got = (r["action"], method(r, "spf"), method(r, "dmarc"))
    if got != ("reject", ["fail"], ["fail"]):
        return "%s, %s: action, spf, dmarc %r (%s)" % (victim, what, got, r["log"])
    if r["secs"] >= TIMEOUT_S + 2.5:
        return "%s, %s: waited %.1f s, DNSTimeout is %d s" % (victim, what, r["secs"], TIMEOUT_S)
    return ""


def all_rejected(tries):
    """Each (victim, ip, what, kw) tried; fails with every spoof not rejected."""
    bad = [b for b in (spoof_rejected(v, ip, what, **kw) for v, ip, what, kw in tries) if b]
    check(not bad, "%d of %d spoofs not rejected:\n  %s" % (len(bad), len(tries), "\n  ".join(bad)))


@case
def dead_ptr_does_not_starve_the_victims_record():
    all_rejected([(v, DEAD_PTR, "PTR never answers", {}) for v in sorted(VICTIMS)])


@case
def dead_ptr_name_does_not_starve_the_victims_record():
    all_rejected([(v, DEAD_NAME, "the PTR's name never answers", {}) for v in sorted(VICTIMS)])


@case
def null_sender_helo_is_the_victim():
    all_rejected([(v, DEAD_PTR, "null sender, HELO %s" % v, {"helo": v, "mail_from": "<>"})
                  for v in ("ptr-inc.test", "pmac.test")])


@case
def slow_ptr_still_counts():
    # answered 1 s late, inside the budget: the terms after it still run
    all_rejected([(v, SLOW_PTR, "PTR 1 s late", {}) for v in ("ptr-inc.test", "pmac.test")])


@case
def libspf2_engine_too():
    all_rejected([(v, ip, what, {"sc": W.libspf2}) for v in sorted(VICTIMS)
                  for ip, what in ((DEAD_PTR, "PTR never answers"),
                                   (DEAD_NAME, "the PTR's name never answers"))])


@case
def control_the_victims_own_server_passes():
    for sc in (W.slow, W.libspf2):
        for v in ("ptr-inc.test", "ptr-mx.test", "ptr-a.test", "pmac.test", "pmac-a.test"):
            r = send(v, HONEST, sign=None, sc=sc)
            eq((method(r, "spf"), method(r, "dmarc"), r["action"]), (["pass"], ["pass"], "accept"),
               "%s from its own server (%s)" % (v, r["log"]))
        # a PTR answered late, inside the share the client's names may wait
        r = send("ptr-inc.test", HONEST_SLOW, sign=None, sc=sc)
        eq((method(r, "spf"), r["action"]), (["pass"], "accept"),
           "ptr-inc.test from its server with a slow PTR (%s)" % r["log"])


def setup():
    return W.start()


def teardown(_):
    W.stop()


if __name__ == "__main__":
    sys.exit(run("attacks: the victim's SPF reaches the attacker's DNS (class 6)", setup, teardown))
