#!/usr/bin/python3
"""ARC chains made at test time, judged by sendercheck-test and by dkimpy.

    /usr/bin/python3 test_arc_chains.py BUILDDIR [--count N] [--seed S] [CASE...]

Each chain is made hop by hop as forwarders and lists make them: the hop
verifies what it received (dkimpy's arc_verify), writes its
Authentication-Results with that arc= result, maybe changes the message
(a Subject tag, a footer, a List-Id field, as lists do), and seals it with
dkimpy's arc_sign (python3-dkim: an independent implementation). 1 to 5
hops, sealers with RSA keys of 1024 and 2048 bits; some hops sign with a
key that is not published. Then the delivered message is maybe damaged:
body or a signed header changed, a seal's or a message signature's b=
broken, a seal's cv= changed, a set removed; or the keys are served by a
DNS server that never answers.

sendercheck-test's arc result (and oldest-pass on a pass) must be what
dkimpy's arc_verify says of the same message with the same keys (dkimpy's
"chain terminated", None, is "fail": RFC 8617 5.2 step 2). One case per
chain; the count of chains compared is printed.
"""
import base64
import json
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, eq, run  # noqa: E402
import evidence  # noqa: E402
import mail  # noqa: E402
import testdns  # noqa: E402

import dkim  # noqa: E402  (python3-dkim)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")


def _opt(name, default):
    if name in sys.argv:
        k = sys.argv.index(name)
        v = int(sys.argv[k + 1])
        del sys.argv[k:k + 2]
        return v
    return default


COUNT = _opt("--count", 150)
SEED = _opt("--seed", int(time.time()))
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="arc-chains-")
SEALERS = ["fwd.example", "lists.example", "relay.example", "corp.example", "mx.example"]


class World:
    """Keys of every sealer, published in one zone (and a dict for dkimpy)."""

    def __init__(self):
        self.records = {}
        self.keys = {}
        for dom in SEALERS:
            for sel, bits in (("k2048", 2048), ("k1024", 1024)):
                k = mail.RSAKey(bits, os.path.join(WORK, "keys"))
                self.keys[(dom, sel)] = k
                self.records["%s._domainkey.%s" % (sel, dom)] = k.record()
            # signs, but its key is not in DNS
            self.keys[(dom, "gone")] = mail.RSAKey(1024, os.path.join(WORK, "keys"))

    def zone(self):
        z = testdns.Zone()
        for owner, rec in self.records.items():
            z.txt(owner, rec)
        return z

    def dnsfunc(self, dead=False):
        def f(name, timeout=5):
            if dead:
                raise dkim.DKIMException("DNS timed out")
            n = name.decode() if isinstance(name, bytes) else name
            rec = self.records.get(n.rstrip(".").lower())
            return rec.encode() if rec else None
        return f


def dkimpy_cv(msg, world, timeout=False):
    cv, results, why = dkim.arc_verify(msg, dnsfunc=world.dnsfunc(timeout))
    cv = {dkim.CV_Pass: "pass", dkim.CV_Fail: "fail", dkim.CV_None: "none"}.get(cv, "fail")
    oldest = None
    if cv == "pass":
        # results: newest first; oldest-pass: back while the AMSs verify
        oldest = 0
        for r in results:
            if not r["ams-valid"]:
                oldest = r["instance"] + 1
                break
    return cv, oldest, why


BODY = b"Hello,\r\n\r\nthe minutes of the meeting are below.\r\n\r\n-- \r\nA.\r\n"


def original(rng):
    hdrs = [("From", " Alice <alice@origin.example>"), ("To", " team@lists.example"),
            ("Subject", " Minutes %d" % rng.randint(1, 999)),
            ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
            ("Message-ID", " <%x@origin.example>" % rng.getrandbits(40))]
    return b"".join(("%s:%s\r\n" % h).encode() for h in hdrs) + b"\r\n" + BODY


def hop(rng, world, msg, n, facts):
    dom = SEALERS[(n - 1) % len(SEALERS)]
    sel = rng.choice(["k2048", "k2048", "k1024"] + (["gone"] if rng.random() < 0.06 else []))
    facts.append("hop%d:%s/%s" % (n, dom, sel))
    cv, _, _ = dkimpy_cv(msg, world)
    ar = ("Authentication-Results: %s; arc=%s; spf=pass smtp.mailfrom=origin.example;\r\n"
          "\tdkim=pass header.d=origin.example; dmarc=pass header.from=origin.example\r\n"
          % (dom, cv)).encode()
    msg = ar + msg
    change = rng.random()
    head, _, body = msg.partition(b"\r\n\r\n")
    if change < 0.25:
        head = head.replace(b"Subject: ", b"Subject: [team] ", 1)
        facts.append("subject-tag")
    elif change < 0.5:
        body += b"_______________\r\nteam mailing list\r\n"
        facts.append("footer")
    elif change < 0.6:
        head += b"\r\nList-Id: <team.lists.example>"
        facts.append("list-id")
    msg = head + b"\r\n\r\n" + body
    key = world.keys[(dom, sel)]
    sets = dkim.arc_sign(msg, sel.encode(), dom.encode(), key.private, dom.encode(),
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                          b"list-id"])
    if not sets:
        facts.append("not-sealed")
        return msg
    return b"".join(sets) + msg


def field_span(msg, name, nth=0):
    """(start, end) of the nth field (top first) named name in the header."""
    head = msg.partition(b"\r\n\r\n")[0] + b"\r\n"
    pos, seen = 0, 0
    while pos < len(head):
        end = head.find(b"\r\n", pos)
        while end >= 0 and head[end + 2:end + 3] in (b" ", b"\t"):
            end = head.find(b"\r\n", end + 2)
        if head[pos:pos + len(name) + 1].lower() == name.lower() + b":":
            if seen == nth:
                return pos, end
            seen += 1
        pos = end + 2
    return None


def damage(rng, msg, facts):
    r = rng.random()
    if r < 0.35:
        return msg
    kind = rng.choice(["body", "subject", "seal-b", "old-seal-b", "ams-b", "cv", "drop-set",
                       "header-added"])
    facts.append("damage:" + kind)
    if kind == "body":
        return msg + b"appended after the last seal\r\n"
    if kind == "subject":
        return msg.replace(b"Subject: ", b"Subject: Re: ", 1)
    if kind == "header-added":
        head, _, body = msg.partition(b"\r\n\r\n")
        return head + b"\r\nTo: someone@else.example\r\n\r\n" + body
    name = {"seal-b": b"ARC-Seal", "old-seal-b": b"ARC-Seal", "ams-b": b"ARC-Message-Signature",
            "cv": b"ARC-Seal", "drop-set": b"ARC-Seal"}[kind]
    span = field_span(msg, name, 1 if kind == "old-seal-b" else 0)
    if span is None:
        return msg
    s, e = span
    field = msg[s:e]
    if kind == "cv":
        field = field.replace(b"cv=pass", b"cv=none").replace(b"cv=none", b"cv=pass", 1) \
            if b"cv=pass" in field else field.replace(b"cv=none", b"cv=pass")
    elif kind == "drop-set":
        return msg[:s] + msg[e + 2:]
    else:
        k = field.find(b" b=") if field.find(b" b=") >= 0 else field.find(b";b=")
        p = k + 8
        if k < 0 or p >= len(field):
            return msg
        field = field[:p] + (b"A" if field[p:p + 1] != b"A" else b"B") + field[p + 1:]
    return msg[:s] + field + msg[e:]


class Ctx:
    pass


def setup():
    c = Ctx()
    c.world = World()
    c.dns = testdns.Unbound(c.world.zone(), os.path.join(WORK, "dns")).start()
    c.blackhole = testdns.Blackhole()
    c.conf = os.path.join(WORK, "sc.conf")
    with open(c.conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\n" % c.dns.address)
    c.conf_dead = os.path.join(WORK, "dead.conf")
    with open(c.conf_dead, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nDNSTimeout 1\n"
                % c.blackhole.address)
    print("seed %d (re-run with --seed %d), %d chains" % (SEED, SEED, COUNT))
    return c


def teardown(c):
    if c is not None:
        for s in ("dns", "blackhole"):
            if getattr(c, s, None):
                getattr(c, s).stop()
    shutil.rmtree(WORK, ignore_errors=True)


def ours(c, msg, conf):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(msg)
    p = evidence.run([TOOL, "-c", conf, "--ip", "192.0.2.10", "--helo", "mx.example",
                      "--mail-from", "bounce@lists.example", "--json", path], timeout=60)
    os.unlink(path)
    return json.loads(p.stdout)["arc"]


def _chain_case(n):
    def fn(c):
        rng = random.Random(SEED * 1000 + n)
        facts = []
        msg = original(rng)
        for h in range(1, rng.randint(1, 5) + 1):
            msg = hop(rng, c.world, msg, h, facts)
        msg = damage(rng, msg, facts)
        dead = rng.random() < 0.05
        if dead:
            facts.append("dns-timeout")
        cv, oldest, why = dkimpy_cv(msg, c.world, timeout=dead)
        got = ours(c, msg, c.conf_dead if dead else c.conf)
        eq(got["result"], cv, "arc result (chain %s; dkimpy: %s; ours: %s)"
           % (" ".join(facts), why, got.get("reason")))
        if cv == "pass":
            eq(got.get("oldest_pass"), oldest, "oldest-pass (chain %s)" % " ".join(facts))
        if dead and dkimpy_cv(msg, c.world)[0] == "pass":
            # it fails only for want of keys: that must show
            check(got.get("dns_trouble") is True, "a DNS timeout is noted as DNS trouble")
    fn.__name__ = "chain_%03d" % n
    return case(fn)


for _n in range(COUNT):
    _chain_case(_n)


if __name__ == "__main__":
    sys.exit(run("ARC chains made by dkimpy, judged by sendercheck-test and dkimpy (%s)" % BUILD,
                 setup, teardown))
