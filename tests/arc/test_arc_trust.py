#!/usr/bin/python3
"""Trusted ARC sealers (TrustedARCSealers) through sendercheck-test.

    /usr/bin/python3 test_arc_trust.py BUILDDIR [CASE...]

A message from origin.example (DMARC p=reject, DKIM-signed by it) goes
through a mailing list, lists.example, that tags the Subject, adds a footer
(breaking origin's signature) and sends it on from its own envelope: at
our receiver DMARC fails. The list seals the message with ARC (dkimpy's
arc_sign) after writing what it saw in its Authentication-Results. With
On-DMARCFail policy, the message must be accepted, with arc=pass and
dmarc=fail ... policy.override=arc, when lists.example is a trusted
sealer and its ARC-Authentication-Results say DMARC (or aligned SPF or
DKIM) passed for origin.example; and rejected in every other case: the
list not trusted, the chain broken after sealing, the list saying DMARC
failed or passed for another domain, an untrusted sealer vouching on a
chain a trusted one also sealed. Keys are made here and served by unbound.
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run  # noqa: E402
import evidence  # noqa: E402
import mail  # noqa: E402
import testdns  # noqa: E402

import dkim  # noqa: E402  (python3-dkim)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="arc-trust-")
CLIENT = "192.0.2.10"   # the list's server, as our MX sees it


class Ctx:
    pass


def setup():
    c = Ctx()
    keydir = os.path.join(WORK, "keys")
    c.origin = mail.RSAKey(2048, keydir)
    c.lists = mail.RSAKey(2048, keydir)
    c.fwd = mail.RSAKey(2048, keydir)
    z = testdns.Zone()
    z.txt("_dmarc.origin.example", "v=DMARC1; p=reject")
    z.txt("origin.example", "v=spf1 ip4:198.51.100.7 -all")
    z.txt("o._domainkey.origin.example", c.origin.record())
    z.txt("lists.example", "v=spf1 ip4:%s -all" % CLIENT)
    z.txt("arc._domainkey.lists.example", c.lists.record())
    z.txt("fwd.example", "v=spf1 ip4:%s -all" % CLIENT)
    z.txt("arc._domainkey.fwd.example", c.fwd.record())
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    base = ("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nOn-DMARCFail policy\n"
            % c.dns.address)
    c.conf = {}
    for name, extra in (("trusted", "TrustedARCSealers lists.example, other.example\n"),
                        ("untrusted", "TrustedARCSealers other.example\n"),
                        ("none", ""),
                        ("fwd", "TrustedARCSealers fwd.example\n"),
                        ("both", "TrustedARCSealers lists.example fwd.example\n")):
        path = os.path.join(WORK, name + ".conf")
        with open(path, "w") as f:
            f.write(base + extra)
        c.conf[name] = path
    return c


def teardown(c):
    if c is not None and getattr(c, "dns", None):
        c.dns.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def original(c):
    msg = mail.message([("From", " Alice <alice@origin.example>"), ("To", " team@lists.example"),
                        ("Subject", " Minutes"), ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
                        ("Message-ID", " <m1@origin.example>")],
                       "Hello team,\nthe minutes are below.\n")
    return mail.sign(msg, "origin.example", "o", c.origin)


def seal(msg, domain, key, results, modify=True):
    """What a list does: note what it saw, change the message, seal it."""
    msg = ("Authentication-Results: %s; %s\r\n" % (domain, results)).encode() + msg
    if modify:
        head, _, body = msg.partition(b"\r\n\r\n")
        head = head.replace(b"Subject: ", b"Subject: [team] ", 1)
        body += b"-- \r\nteam mailing list\r\n"
        msg = head + b"\r\n\r\n" + body
    sets = dkim.arc_sign(msg, b"arc", domain.encode(), key.private, domain.encode(),
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    check(sets, "dkimpy sealed the message")
    return b"".join(sets) + msg


PASSED = ("arc=none; spf=pass smtp.mailfrom=origin.example; dkim=pass header.d=origin.example; "
          "dmarc=pass header.from=origin.example")


def verdict(c, msg, conf):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(msg)
    p = evidence.run([TOOL, "-c", c.conf[conf], "--ip", CLIENT, "--helo", "mail.lists.example",
                      "--mail-from", "team-bounces@lists.example", "--json", path], timeout=60)
    return json.loads(p.stdout)


def ar(v):
    for h in v["add_headers"]:
        if h["name"] == "Authentication-Results":
            return h["value"]
    raise AssertionError("no Authentication-Results")


def accepted_by_arc(v, sealer="lists.example"):
    eq(v["dmarc"]["result"], "fail", "DMARC fails at our MX")
    eq(v["arc"]["result"], "pass", "the chain passes")
    eq(v["arc"].get("trusted_sealer"), sealer, "the sealer that vouched")
    eq(v["action"]["action"], "accept", "action")
    eq(v["dmarc"].get("override"), "trusted_forwarder", "RFC 9990 policy override")
    a = ar(v)
    contains(a, "arc=pass", "A-R")
    contains(a, "policy.override=arc", "A-R")
    contains(a, "trusted ARC sealer %s" % sealer, "A-R reason names the sealer")
    contains(v["log"], "arc_trusted=%s" % sealer, "log line")
    eq(v["rules"]["dmarc-align"]["state"], "n/a", "forwarded mail need not be aligned")


def rejected_for_dmarc(v, arc_result):
    eq(v["dmarc"]["result"], "fail", "DMARC fails at our MX")
    eq(v["arc"]["result"], arc_result, "arc result")
    check(v["arc"].get("trusted_sealer") is None, "no sealer vouched: %r" % v["arc"])
    eq(v["action"]["action"], "reject", "action")
    eq(v["action"]["cause"], "dmarc-fail", "cause")
    check("policy.override" not in ar(v), "no override in A-R: %s" % ar(v))


@case
def trusted_list_dmarc_pass_accepted(c):
    accepted_by_arc(verdict(c, seal(original(c), "lists.example", c.lists, PASSED), "trusted"))


@case
def untrusted_list_rejected(c):
    rejected_for_dmarc(verdict(c, seal(original(c), "lists.example", c.lists, PASSED),
                               "untrusted"), "pass")


@case
def no_trust_list_rejected(c):
    rejected_for_dmarc(verdict(c, seal(original(c), "lists.example", c.lists, PASSED), "none"),
                       "pass")


@case
def trusted_list_chain_broken_rejected(c):
    msg = seal(original(c), "lists.example", c.lists, PASSED)
    rejected_for_dmarc(verdict(c, msg.replace(b"the minutes", b"THE minutes"), "trusted"), "fail")


@case
def trusted_list_saw_dmarc_fail_rejected(c):
    saw = "arc=none; spf=fail smtp.mailfrom=origin.example; dmarc=fail header.from=origin.example"
    rejected_for_dmarc(verdict(c, seal(original(c), "lists.example", c.lists, saw), "trusted"),
                       "pass")


@case
def trusted_list_vouches_for_another_domain_rejected(c):
    saw = "arc=none; dmarc=pass header.from=elsewhere.example"
    rejected_for_dmarc(verdict(c, seal(original(c), "lists.example", c.lists, saw), "trusted"),
                       "pass")


@case
def trusted_list_aligned_dkim_accepted(c):
    saw = "arc=none; spf=none smtp.mailfrom=origin.example; dkim=pass (2048-bit key) header.d=origin.example"
    v = verdict(c, seal(original(c), "lists.example", c.lists, saw), "trusted")
    accepted_by_arc(v)
    contains(v["arc"].get("trusted_claim"), "dkim=pass header.d=origin.example", "claim")


@case
def trusted_list_aligned_spf_accepted(c):
    saw = "arc=none; spf=pass smtp.mailfrom=alice@mail.origin.example"
    v = verdict(c, seal(original(c), "lists.example", c.lists, saw), "trusted")
    accepted_by_arc(v)
    contains(v["arc"].get("trusted_claim"), "spf=pass", "claim")


@case
def trusted_first_hop_then_untrusted_forwarder_accepted(c):
    """lists (trusted, saw dmarc=pass) -> fwd (not trusted, saw dmarc=fail):
    the list's word still counts on a passing chain."""
    msg = seal(original(c), "lists.example", c.lists, PASSED)
    msg = seal(msg, "fwd.example", c.fwd,
               "arc=pass; spf=pass smtp.mailfrom=lists.example; dmarc=fail header.from=origin.example",
               modify=False)
    v = verdict(c, msg, "trusted")
    accepted_by_arc(v)
    eq(v["arc"]["sets"], 2, "two sets")
    eq(v["arc"].get("trusted_instance"), 1, "the list's set")


@case
def untrusted_first_hop_trusted_forwarder_saw_fail_rejected(c):
    """lists (untrusted here) says dmarc=pass; fwd (trusted) saw the changed
    message fail: nobody trusted vouches."""
    msg = seal(original(c), "lists.example", c.lists, PASSED)
    msg = seal(msg, "fwd.example", c.fwd,
               "arc=pass; spf=pass smtp.mailfrom=lists.example; dmarc=fail header.from=origin.example",
               modify=False)
    rejected_for_dmarc(verdict(c, msg, "fwd"), "pass")


def grafted(c, sealer, key):
    """A spoofer keeps the trusted list's set of a real post, rewrites the
    body, and seals the result itself claiming the chain passed (cv=pass)."""
    msg = seal(original(c), "lists.example", c.lists, PASSED)
    msg = msg.replace(b"the minutes are below", b"wire the money today")
    return seal(msg, sealer, key, "arc=pass; dmarc=fail header.from=origin.example",
                modify=False)


@case
def trusted_set_grafted_under_untrusted_seal_rejected(c):
    v = verdict(c, grafted(c, "fwd.example", c.fwd), "trusted")
    rejected_for_dmarc(v, "pass")
    eq(v["arc"]["sets"], 2, "two sets")


@case
def trusted_set_grafted_under_trusted_seal_accepted(c):
    """A trusted newer sealer said cv=pass: its word on the chain counts."""
    v = verdict(c, grafted(c, "fwd.example", c.fwd), "both")
    accepted_by_arc(v)
    eq(v["arc"].get("trusted_instance"), 1, "the list's set")


@case
def newest_seal_trusted_but_message_signature_fails_rejected(c):
    """The newest set is by the trusted list, but the message changed after
    it signed: the chain fails, nothing is lifted."""
    msg = seal(original(c), "lists.example", c.lists, PASSED)
    msg = msg.replace(b"Subject: [team] Minutes", b"Subject: [team] Invoice")
    rejected_for_dmarc(verdict(c, msg, "trusted"), "fail")


@case
def direct_mail_untouched(c):
    """No chain, DMARC passes: nothing to override, accepted as always."""
    p = os.path.join(WORK, "direct.eml")
    with open(p, "wb") as f:
        f.write(original(c))
    out = evidence.run([TOOL, "-c", c.conf["trusted"], "--ip", "198.51.100.7", "--helo",
                        "mail.origin.example", "--mail-from", "alice@origin.example", "--json", p],
                       timeout=60)
    v = json.loads(out.stdout)
    eq(v["dmarc"]["result"], "pass", "DMARC")
    eq(v["arc"]["result"], "none", "no chain")
    check(v["arc"].get("trusted_sealer") is None, "no override")


if __name__ == "__main__":
    sys.exit(run("trusted ARC sealers (sendercheck-test on %s)" % BUILD, setup, teardown))
