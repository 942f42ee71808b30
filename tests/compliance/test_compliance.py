"""Bulk-sender compliance end to end: messages built and signed at test time
for every rule id, pass and fail, through sendercheck-test (all cases) and
through the milter with miltertest (the compliance field, actions, TLS
macros), against unbound serving the zones written here.
Run: /usr/bin/python3 test_compliance.py BUILDDIR"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, run_session                   # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="sc-compliance-")
GOOD_IP = "192.0.2.10"          # PTR mail.good.test -> 192.0.2.10
BADPTR_IP = "192.0.2.20"        # PTR other.good.test -> 192.0.2.99
NOPTR_IP = "192.0.2.30"         # no PTR
TEMPPTR_IP = "192.0.2.40"       # reverse zone refused: DNS error
ONECLICK = [("List-Unsubscribe", " <https://good.test/u/123>, <mailto:u@good.test>"),
            ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click")]
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
SIGNED_LU = SIGNED + [b"list-unsubscribe", b"list-unsubscribe-post"]


class Ctx:
    pass


CTX = Ctx()


def setup():
    c = CTX
    z = testdns.Zone()
    c.keys = {"k2048": mail.RSAKey(2048, WORK), "k512": mail.RSAKey(512, WORK)}
    spf = "v=spf1 ip4:192.0.2.10 ip4:192.0.2.20 ip4:192.0.2.30 ip4:192.0.2.40 -all"
    for d in ("good.test", "nodmarc.test", "pmissing.test", "twodmarc.test", "orgfb.test",
              "other.test", "x.com", "xn--bcher-kva.test", "strict.test", "tempdmarc.test"):
        z.txt(d, spf)
        z.txt("s1._domainkey." + d, c.keys["k2048"].record())
        z.txt("weak._domainkey." + d, c.keys["k512"].record())
    for d in ("good.test", "other.test", "x.com", "xn--bcher-kva.test"):
        z.txt("_dmarc." + d, "v=DMARC1; p=none; rua=mailto:dmarc@" + d)
    z.txt("_dmarc.pmissing.test", "v=DMARC1; rua=mailto:dmarc@pmissing.test")
    z.txt("_dmarc.twodmarc.test", "v=DMARC1; p=none")
    z.txt("_dmarc.twodmarc.test", "v=DMARC1; p=reject")
    z.txt("_dmarc.orgfb.test", "v=DMARC1; p=reject")
    z.txt("_dmarc.strict.test", "v=DMARC1; p=quarantine; adkim=s; aspf=s")
    for d in ("victim.test", "evil.test", "ramp.test", "testing.test"):
        z.txt(d, spf)
        z.txt("s1._domainkey." + d, c.keys["k2048"].record())
    z.txt("_dmarc.victim.test", "v=DMARC1; p=reject")
    z.txt("_dmarc.evil.test", "v=DMARC1; p=none")
    z.txt("_dmarc.ramp.test", "v=DMARC1; p=reject; pct=10")
    z.txt("_dmarc.testing.test", "v=DMARC1; p=reject; t=y")
    z.refuse("_dmarc.tempdmarc.test")
    # TXT records at _dmarc that discovery discards (issue 13 item 4)
    for d in ("lowerv.test", "order.test"):
        z.txt(d, spf)
        z.txt("s1._domainkey." + d, c.keys["k2048"].record())
    z.txt("_dmarc.lowerv.test", "v=dmarc1; p=reject")
    z.txt("_dmarc.order.test", "p=reject; v=DMARC1")
    # blogspot.com: a public suffix that publishes a record (PSL vs tree walk)
    z.txt("_dmarc.blogspot.com", "v=DMARC1; p=reject")
    z.txt("spf-temp-only.test", "v=spf1 include:broken.spf-temp-only.test -all")
    z.refuse("broken.spf-temp-only.test")
    z.add("10.2.0.192.in-addr.arpa", "PTR", "mail.good.test")
    z.add("mail.good.test", "A", GOOD_IP)
    z.add("20.2.0.192.in-addr.arpa", "PTR", "other.good.test")
    z.add("other.good.test", "A", "192.0.2.99")
    z.refuse("40.2.0.192.in-addr.arpa")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.dead = testdns.Blackhole()      # a nameserver that never answers
    c.conf = os.path.join(WORK, "sc.conf")
    with open(c.conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nVolumeFile\n" % c.dns.address)
    c.milter = Sendercheck(BUILD, WORK, {"Nameservers": c.dns.address}, name="accept").start()
    c.strict = Sendercheck(BUILD, WORK, {"Nameservers": c.dns.address, "On-Noncompliant-Google": "reject",
                                         "On-DMARCFail": "policy"}, name="strict").start()
    return c


def teardown(c):
    for s in ("milter", "strict"):
        if getattr(c, s, None):
            getattr(c, s).stop()
    if getattr(c, "dns", None):
        c.dns.stop()
    if getattr(c, "dead", None):
        c.dead.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def msg(from_addr="news@good.test", extra=(), sign=("good.test", "s1", "k2048"), headers=SIGNED,
        algorithm=None, drop=(), dup=(), body="Hello.\n"):
    hdrs = [("From", " " + from_addr), ("To", " rcpt@example.net"), ("Subject", " offer"),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
            ("Message-ID", " <%s@good.test>" % os.urandom(6).hex())]
    hdrs = [h for h in hdrs if h[0] not in drop] + [h for h in hdrs if h[0] in dup] + list(extra)
    m = mail.message(hdrs, body)
    if sign:
        d, s, k = sign
        m = mail.sign(m, d, s, CTX.keys[k], headers=headers, algorithm=algorithm)
    return m


SEEN = []   # (message, ip, mail_from, tls, verdict) of every default-config case, replayed via the milter


def verdict(m, ip=GOOD_IP, mail_from="bounce@good.test", tls="TLSv1.3", extra_args=()):
    v = _verdict(m, ip, mail_from, tls, extra_args)
    if not extra_args:
        SEEN.append((m, ip, mail_from, tls, v))
    return v


def _verdict(m, ip, mail_from, tls, extra_args):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(3).hex())
    with open(path, "wb") as f:
        f.write(m)
    args = [TOOL, "-c", CTX.conf, "--ip", ip, "--helo", "mail.good.test", "--mail-from", mail_from,
            "--json"] + (["--tls", tls] if tls else ["--no-tls"]) + list(extra_args) + [path]
    return json.loads(evidence.run(args, timeout=60).stdout)


def failed(v, profile):
    return [f["rule"] for f in v["profiles"][profile]["failed"]]


def expect(v, google=(), yahoo=(), microsoft=(), bulk=None):
    for prof, want in (("google", google), ("yahoo", yahoo), ("microsoft", microsoft)):
        if want is None:
            continue
        eq(sorted(failed(v, prof)), sorted(want), "%s failed rules (%s)" % (prof, v["profiles"][prof]))
    if bulk is not None:
        eq(v["bulk"]["bulk"], bulk, "bulk")


def rule(v, name):
    return v["rules"][name]


# ---- each rule: pass and fail (bulk mail unless said) ----

@case
def all_rules_pass_bulk():
    v = verdict(msg(extra=ONECLICK, headers=SIGNED_LU))
    expect(v, (), (), (), bulk=True)
    for r in ("spf", "dkim", "auth-any", "dmarc-record", "dmarc-align", "dkim-key", "iprev", "tls",
              "format"):
        eq(rule(v, r)["state"], "pass", "rule " + r)


@case
def spf_fail():
    v = verdict(msg(extra=ONECLICK, headers=SIGNED_LU), ip="192.0.2.77")
    check("spf" in failed(v, "google") and "spf" in failed(v, "microsoft"), "spf fails: %r" % v["profiles"])
    contains(rule(v, "spf")["fix"], "add 192.0.2.77 to the SPF record of good.test", "fix")


@case
def dkim_fail_unsigned_bulk():
    v = verdict(msg(extra=ONECLICK, sign=None))
    for p in ("google", "yahoo", "microsoft"):
        check("dkim" in failed(v, p), "%s: dkim fails: %r" % (p, failed(v, p)))
    contains(rule(v, "dkim")["fix"], "sign with DKIM as good.test", "fix")


@case
def auth_any_fail_and_not_bulk():
    """Not bulk: only all-sender rules bind; neither SPF nor DKIM passes."""
    v = verdict(msg(sign=None), ip="192.0.2.77")
    expect(v, google=["auth-any", "iprev"], yahoo=["auth-any", "iprev"], microsoft=[], bulk=False)


@case
def auth_any_pass_not_bulk():
    v = verdict(msg())
    expect(v, (), (), (), bulk=False)


@case
def dmarc_record_none():
    v = verdict(msg("news@nodmarc.test", extra=ONECLICK, sign=("nodmarc.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@nodmarc.test")
    eq(failed(v, "google"), ["dmarc-record"], "only dmarc-record fails (alignment holds)")
    # Yahoo: "DMARC must pass" for bulk senders; none is not a pass
    eq(failed(v, "yahoo"), ["dmarc-record", "dmarc-pass"], "yahoo")
    eq(failed(v, "microsoft"), ["dmarc-record"], "microsoft")
    contains(rule(v, "dmarc-record")["fix"], "publish a DMARC record with p=none at _dmarc.nodmarc.test", "fix")
    contains(rule(v, "dmarc-pass")["reason"], "DMARC none: no DMARC record at _dmarc.nodmarc.test", "reason")


@case
def dmarc_record_p_missing():
    v = verdict(msg("news@pmissing.test", extra=ONECLICK, sign=("pmissing.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@pmissing.test")
    eq(failed(v, "google"), ["dmarc-record"], "only dmarc-record fails")
    contains(rule(v, "dmarc-record")["reason"], "no p= tag", "reason")


@case
def dmarc_record_several():
    v = verdict(msg("news@twodmarc.test", extra=ONECLICK, sign=("twodmarc.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@twodmarc.test")
    check("dmarc-record" in failed(v, "google"), "several records fail: %r" % failed(v, "google"))
    # RFC 9989 discards them all (no record: none); RFC 7489 applies no DMARC (permerror)
    eq(v["dmarc"]["result"], "none", "DMARC result")
    contains(v["dmarc"]["discarded"], "2 DMARC records at _dmarc.twodmarc.test were all discarded",
             "discarded")
    contains(rule(v, "dmarc-record")["reason"], "were all discarded", "reason")
    contains(rule(v, "dmarc-record")["fix"], "keep one DMARC record at _dmarc.twodmarc.test", "fix")
    v = verdict_conf(policy_conf("DMARCStandard rfc7489\n"),
                     msg("news@twodmarc.test", extra=ONECLICK, sign=("twodmarc.test", "s1", "k2048"),
                         headers=SIGNED_LU), mail_from="b@twodmarc.test")
    eq(v["dmarc"]["result"], "permerror", "DMARC result under RFC 7489")
    contains(rule(v, "dmarc-record")["fix"], "keep one DMARC record", "fix")


@case
def dmarc_org_domain_fallback():
    v = verdict(msg("news@sub.orgfb.test", extra=ONECLICK, sign=("orgfb.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@orgfb.test")
    eq(v["dmarc"]["record_domain"], "orgfb.test", "record found at the org domain")
    eq(v["dmarc"]["result"], "pass", "relaxed alignment with the org domain")
    expect(v, (), (), ())


@case
def dmarc_one_character_label():
    v = verdict(msg("news@mail.x.com", extra=ONECLICK, sign=("x.com", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@x.com")
    eq(v["dmarc"]["org_domain"], "x.com", "org domain of mail.x.com")
    eq(v["dmarc"]["result"], "pass", "DMARC")


@case
def dmarc_idn_a_label():
    v = verdict(msg("news@xn--bcher-kva.test", extra=ONECLICK, sign=("xn--bcher-kva.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@xn--bcher-kva.test")
    eq(v["dmarc"]["result"], "pass", "DMARC for an A-label domain")
    expect(v, (), (), ())


@case
def dmarc_align_fail_unaligned():
    v = verdict(msg("news@good.test", extra=ONECLICK, sign=("other.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@other.test")
    eq(v["dmarc"]["result"], "fail", "DMARC")
    for p in ("google", "microsoft"):
        eq(failed(v, p), ["dmarc-align"], p)
    eq(failed(v, "yahoo"), ["dmarc-align", "dmarc-pass"], "yahoo: DMARC must pass too")
    contains(rule(v, "dmarc-align")["fix"], "under good.test", "fix")


@case
def dmarc_align_strict_subdomain_fails():
    v = verdict(msg("news@sub.strict.test", extra=ONECLICK, sign=("strict.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@strict.test")
    eq(v["dmarc"]["result"], "fail", "strict alignment: a subdomain does not align")
    check("dmarc-align" in failed(v, "google"), "dmarc-align fails")


@case
def dmarc_temperror():
    v = verdict(msg("news@tempdmarc.test", extra=ONECLICK, sign=("tempdmarc.test", "s1", "k2048"),
                    headers=SIGNED_LU), mail_from="b@tempdmarc.test")
    eq(v["dmarc"]["result"], "temperror", "DMARC on a DNS error")
    eq(rule(v, "dmarc-record")["state"], "temperror", "record unknown: temperror, not a failure")
    eq(v["profiles"]["google"]["verdict"], "temperror", "verdict temperror")


@case
def dkim_key_fail_sha1_and_small_key():
    v = verdict(msg(algorithm=b"rsa-sha1"))
    check("dkim-key" in failed(v, "google") and "dkim-key" in failed(v, "yahoo"), "sha1: %r" % failed(v, "google"))
    check("dkim-key" not in failed(v, "microsoft"), "not a Microsoft rule")
    v = verdict(msg(sign=("good.test", "weak", "k512")))
    check("dkim-key" in failed(v, "google"), "512-bit key: %r" % failed(v, "google"))
    contains(rule(v, "dkim-key")["fix"], "2048 bits", "fix")


@case
def iprev_pass_fail_noptr_temperror():
    eq(verdict(msg())["iprev"]["result"], "pass", "iprev pass")
    for ip, res, fails in ((BADPTR_IP, "fail", ["iprev"]), (NOPTR_IP, "permerror", ["iprev"]),
                           (TEMPPTR_IP, "temperror", [])):
        v = verdict(msg(), ip=ip)
        eq(v["iprev"]["result"], res, "iprev for " + ip)
        eq(failed(v, "google"), fails, "google for " + ip)
        eq(failed(v, "microsoft"), [], "microsoft binds bulk only")


@case
def tls_present_absent_unknown():
    eq(rule(verdict(msg()), "tls")["state"], "pass", "TLS present")
    v = verdict(msg(), tls=None)
    eq(rule(v, "tls")["state"], "fail", "TLS absent")
    eq(failed(v, "google"), ["tls"], "only Google requires TLS")
    eq(failed(v, "yahoo"), [], "Yahoo")
    path = os.path.join(WORK, "t.eml")
    with open(path, "wb") as f:
        f.write(msg())
    p = evidence.run([TOOL, "-c", CTX.conf, "--ip", GOOD_IP, "--mail-from", "b@good.test", "--json", path])
    v = json.loads(p.stdout)
    eq(rule(v, "tls")["state"], "unknown", "TLS not stated is unknown, never guessed")
    eq(failed(v, "google"), [], "unknown never fails")


def format_case(what, **kw):
    v = verdict(msg(sign=None, **kw))
    check("format" in failed(v, "google"), "%s: format fails: %r" % (what, failed(v, "google")))
    check("format" in failed(v, "yahoo"), "%s: yahoo" % what)
    return v


@case
def format_rules():
    contains(format_case("two From", dup=("From",))["rules"]["format"]["reason"], "From", "names the field")
    contains(format_case("no Date", drop=("Date",))["rules"]["format"]["reason"], "Date", "names the field")
    contains(format_case("no Message-ID", drop=("Message-ID",))["rules"]["format"]["reason"], "Message-ID", "")
    contains(format_case("two Subject", dup=("Subject",))["rules"]["format"]["reason"], "Subject", "")
    v = format_case("long line", extra=[("X-Long", " " + "a" * 1000)])
    contains(v["rules"]["format"]["reason"], "998", "names the limit")
    v = verdict(msg(sign=None, extra=[("X-Long", " " + "a" * 980)]))
    eq(rule(v, "format")["state"], "pass", "a 990-octet line is fine")


def unsub_case(extra, headers=SIGNED_LU, sign=("good.test", "s1", "k2048"), post_process=None):
    m = msg(extra=extra, headers=headers, sign=sign)
    if post_process:
        m = post_process(m)
    return verdict(m)


@case
def oneclick_variants():
    post = ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click")
    cases = [
        ("http", [("List-Unsubscribe", " <http://good.test/u>"), post], ["oneclick"], ["oneclick"]),
        ("mailto only", [("List-Unsubscribe", " <mailto:u@good.test>")], ["mailto-only"], []),
        ("two headers", [("List-Unsubscribe", " <https://good.test/u>"),
                         ("List-Unsubscribe", " <https://good.test/v>"), post], ["oneclick"], ["oneclick"]),
        ("unbracketed", [("List-Unsubscribe", " https://good.test/u"), post], ["oneclick"], ["oneclick"]),
        ("folded", [("List-Unsubscribe", " <https://good.test/u>,\r\n\t<mailto:u@good.test>"), post], [], []),
        ("post other value", [("List-Unsubscribe", " <https://good.test/u>"),
                              ("List-Unsubscribe-Post", " List-Unsubscribe=Yes")], ["oneclick"], ["oneclick"]),
    ]
    for name, extra, g, y in cases:
        v = unsub_case(extra, headers=SIGNED_LU)
        eq(failed(v, "google"), g, "google, " + name)
        eq(failed(v, "yahoo"), y, "yahoo, " + name)
        eq(v["bulk"]["bulk"], True, "List-Unsubscribe makes it bulk: " + name)
    v = unsub_case(ONECLICK, headers=SIGNED + [b"list-unsubscribe"])
    eq(failed(v, "google"), ["oneclick"], "Post not signed")
    # signed once, appearing twice: an unsigned copy can sit on top
    v = unsub_case(ONECLICK, post_process=lambda m: b"List-Unsubscribe: <https://evil.test/x>\r\n" + m)
    eq(failed(v, "google"), ["oneclick"], "header appearing twice but signed once")
    # the only signature covering them failed
    v = unsub_case(ONECLICK, post_process=lambda m: m.replace(b"Hello.", b"Hello!"))
    check("oneclick" in failed(v, "google"), "signature failed: %r" % failed(v, "google"))
    # signed by another domain: passes, reported as not aligned
    v = unsub_case(ONECLICK + [], sign=("other.test", "s1", "k2048"))
    eq(v["unsubscribe"]["oneclick"], "pass", "one-click signed by another domain still counts")
    eq(v["unsubscribe"]["signed_by"], "other.test", "reported d=")
    eq(v["unsubscribe"]["aligned"], False, "reported as not aligned")
    v = unsub_case(ONECLICK)
    eq(v["unsubscribe"]["aligned"], True, "aligned d= reported")


@case
def signed_header_list_read_whole_and_as_hashed():
    """h= longer than the 64 names a result lists: From and List-Unsubscribe
    named after the 64th are still signed; a name with white space inside
    (h=list-unsub scribe) names no field, so a List-Unsubscribe added after
    signing is not taken as signed. Both DKIM engines (their readings of
    such a name differ; neither counts the added fields as signed)."""
    filler = [b"x-filler"] * 66
    for engine in ("builtin", "libopendkim"):
        conf = policy_conf("DKIMEngine %s\n" % engine)
        v = verdict_conf(conf, msg(extra=ONECLICK, headers=filler + SIGNED_LU),
                         mail_from="bounce@good.test")
        eq(v["dkim"][0]["result"], "pass", engine + ": 71 names verify")
        eq(len(v["dkim"][0]["signed_headers"]), 64, engine + ": the first 64 names listed")
        eq(rule(v, "dkim")["state"], "pass", engine + ": From after the 64th name is signed")
        eq(v["unsubscribe"]["oneclick"], "pass", engine + ": List-Unsubscribe after the 64th name")
        eq(failed(v, "google"), [], engine + ": nothing fails")
        # the signer names "list-unsub scribe" and "list-unsubscribe -post"
        # (fields that do not exist); the one-click pair is added afterwards
        m = msg(headers=SIGNED + [b"list-unsub scribe", b"list-unsubscribe\t-post"])
        m = b"".join(b"%s:%s\r\n" % (n.encode(), v_.encode()) for n, v_ in ONECLICK) + m
        v = verdict_conf(conf, m, mail_from="bounce@good.test")
        # builtin: white space inside a value is part of it (RFC 6376 3.2),
        # the names hash nothing and the signature verifies; libopendkim
        # reads the white space out (so do its tag values we list), hashes
        # the added fields and fails. Each lists the names as it hashed them.
        listed = " ".join(v["dkim"][0]["signed_headers"])
        if engine == "builtin":
            eq(v["dkim"][0]["result"], "pass", engine + ": odd names hash nothing")
            contains(listed, "list-unsub?scribe", engine + ": listed as read")
        else:
            eq(v["dkim"][0]["result"], "fail", engine + ": odd names read as the added fields")
            contains(listed, "list-unsubscribe list-unsubscribe-post", engine + ": listed as read")
        eq(v["unsubscribe"]["oneclick"], "fail", engine + ": unsigned List-Unsubscribe is not signed")
        check("oneclick" in failed(v, "google"), engine + ": %r" % failed(v, "google"))


@case
def profile_option_limits_output():
    v = verdict(msg(), extra_args=("--profile", "yahoo"))
    eq(sorted(v["profiles"].keys()), ["yahoo"], "--profile yahoo")


@case
def bulk_by_volume():
    conf = os.path.join(WORK, "vol.conf")
    vf = os.path.join(WORK, "volume.txt")
    with open(conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nBulkThreshold 3\n"
                "BulkDetection volume\nVolumeFile %s\nSocket unix:%s/vol.sock\nSyslog no\n"
                % (CTX.dns.address, vf, WORK))
    sc = Sendercheck.__new__(Sendercheck)
    Sendercheck.__init__(sc, BUILD, WORK, {"Nameservers": CTX.dns.address, "BulkThreshold": "3",
                                           "BulkDetection": "volume", "VolumeFile": vf}, name="vol")
    sc.start()
    try:
        results = []
        for i in range(4):
            headers, body = mail.split(msg())
            r = run_session(sc.socket, ip=GOOD_IP, helo="mail.good.test", mail_from="<b@good.test>",
                            headers=headers, body=body, workdir=WORK)
            results.append(r["headers"].get("X-Sender-Compliance", ""))
        contains(results[1], "bulk=no", "second message not bulk")
        contains(results[2], "bulk=yes", "third message reaches the threshold")
        contains(results[2], "3 messages from good.test in 24 h", "why")
    finally:
        eq(sc.stop(), 0, "exit")
    # kept across restarts: the counts were saved at exit... or by the saver
    sc.start()
    try:
        headers, body = mail.split(msg())
        r = run_session(sc.socket, ip=GOOD_IP, helo="mail.good.test", mail_from="<b@good.test>",
                        headers=headers, body=body, workdir=WORK)
        contains(r["headers"].get("X-Sender-Compliance", ""), "bulk=yes", "counts survive a restart")
    finally:
        sc.stop()


@case
def outbound_mode_judges_sending_ips():
    """Mode outbound: SPF and iprev for SendingIPs, not the submitting
    client; TLS not applicable; nothing rejected by default."""
    conf = os.path.join(WORK, "out.conf")
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read() + "Mode outbound\nSendingIPs %s\n" % GOOD_IP)
    path = os.path.join(WORK, "o.eml")
    with open(path, "wb") as f:
        f.write(msg(extra=ONECLICK, headers=SIGNED_LU))
    # submitted from a LAN address with no SPF standing and no PTR
    p = evidence.run([TOOL, "-c", conf, "--ip", "198.51.100.7", "--helo", "laptop",
                      "--mail-from", "b@good.test", "--json", path])
    v = json.loads(p.stdout)
    eq(v["spf"]["result"], "pass", "SPF judged for the SendingIP")
    eq(v["iprev"]["ip"], GOOD_IP, "iprev judged for the SendingIP")
    eq(v["tls"]["result"], "n/a", "TLS not applicable outbound")
    eq(rule(v, "tls")["state"], "n/a", "TLS rule")
    expect(v, (), (), ())
    eq(v["action"]["action"], "accept", "tag and log")
    # submitters on loopback (InternalHosts by default) are checked outbound
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read().replace("InternalHosts none\n", "") +
                "Mode outbound\nSendingIPs %s\n" % GOOD_IP)
    p = evidence.run([TOOL, "-c", conf, "--ip", "127.0.0.1", "--helo", "laptop",
                      "--mail-from", "b@good.test", "--json", path])
    v = json.loads(p.stdout)
    eq(v["skipped"], False, "InternalHosts does not skip outbound mail")
    eq(v["spf"]["result"], "pass", "judged for the SendingIP")
    # a SendingIP that the SPF record does not list is flagged
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read() + "Mode outbound\nSendingIPs %s 203.0.113.5\n" % GOOD_IP)
    p = evidence.run([TOOL, "-c", conf, "--ip", "198.51.100.7", "--helo", "laptop",
                      "--mail-from", "b@good.test", "--json", path])
    v = json.loads(p.stdout)
    eq(v["spf"]["result"], "fail", "the worst SendingIP counts")
    contains(rule(v, "spf")["fix"], "add 203.0.113.5 to the SPF record of good.test", "fix names it")
    # outbound needs SendingIPs
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read() + "Mode outbound\n")
    p = evidence.run([TOOL, "-c", conf, "--ip", "198.51.100.7", "--mail-from", "b@good.test", path],
                     expect=2)
    contains(p.stderr.decode(), "Mode outbound needs SendingIPs", "message")


# ---- spoofing attempts found in review: none may pass ----

def policy_conf(extra=""):
    conf = os.path.join(WORK, "policy-%s.conf" % os.urandom(3).hex())
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read() + "On-DMARCFail policy\nOn-DNSError tempfail\n" + extra)
    return conf


def verdict_conf(conf, m, mail_from="b@evil.test", ip=GOOD_IP):
    return judge(conf, m, mail_from=mail_from, ip=ip)


def judge(conf, m, helo="mail.good.test", mail_from="b@good.test", ip=GOOD_IP):
    """sendercheck-test's JSON verdict on m under conf."""
    path = os.path.join(WORK, "j-%s.eml" % os.urandom(3).hex())
    with open(path, "wb") as f:
        f.write(m)
    p = evidence.run([TOOL, "-c", conf, "--ip", ip, "--helo", helo, "--mail-from", mail_from,
                      "--tls", "TLSv1.3", "--json", path], timeout=60)
    return json.loads(p.stdout)


def spoof(from_value, extra=()):
    """Signed by evil.test (p=none), From naming victim.test (p=reject)."""
    hdrs = [("From", " " + from_value), ("To", " r@example.net"), ("Subject", " pay"),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <%s@evil.test>" % os.urandom(4).hex())]
    m = mail.message(hdrs + list(extra), "Pay now.\n")
    return mail.sign(m, "evil.test", "s1", CTX.keys["k2048"])


@case
def spoof_multiple_from_cannot_hide_p_reject():
    conf = policy_conf()
    for value in ("a@evil.test, ceo@victim.test", "ceo@victim.test, a@evil.test",
                  ", ".join(["a%d@evil.test" % i for i in range(16)] + ["ceo@victim.test"])):
        v = verdict_conf(conf, spoof(value))
        eq(v["dmarc"]["result"], "fail", "DMARC for From %r" % value[:60])
        eq(v["dmarc"]["from_domain"], "victim.test", "the failing domain is reported")
        eq(v["action"]["action"], "reject", "p=reject honoured for %r" % value[:60])
        eq(v["action"]["enhanced_code"], "5.7.26", "code")


@case
def spoof_unparseable_from_still_judged():
    conf = policy_conf()
    for value in ("ceo@victim.test>", "ceo@victim.test.", "Boss <ceo@victim.test>>"):
        v = verdict_conf(conf, spoof(value))
        eq(v["dmarc"]["result"], "fail", "DMARC for From %r" % value)
        eq(v["action"]["action"], "reject", "p=reject for %r" % value)


@case
def spoof_from_behind_header_limit():
    """A second From behind more fields than the engine keeps: still judged."""
    pad = [("X-Pad", " %d" % i) for i in range(10001)]
    v = verdict_conf(policy_conf(), spoof("a@evil.test", extra=pad + [("From", " ceo@victim.test")]))
    check(all(d["result"] != "pass" for d in v["dkim"]), "no DKIM pass: %r" % v["dkim"])
    eq(v["dmarc"]["result"], "fail", "the From behind the limit is judged")
    eq(v["dmarc"]["from_domain"], "victim.test", "victim.test's policy")
    eq((v["action"]["action"], v["action"]["cause"]), ("reject", "dmarc-fail"), "p=reject applies")
    for p in ("google", "yahoo"):      # Microsoft binds bulk mail only
        eq(v["profiles"][p]["verdict"], "fail", p + " not compliant")
    ar = [h["value"] for h in v["add_headers"] if h["name"] == "Authentication-Results"][0]
    check("dkim=pass" not in ar and "dmarc=pass" not in ar, "A-R writes no DKIM/DMARC pass: " + ar)


@case
def dmarc_pct_and_testing_step_down():
    # RFC 9989 (the default): t=y steps down, pct= is ignored
    conf = policy_conf()
    v = verdict_conf(conf, spoof("ceo@ramp.test"))
    eq((v["dmarc"]["result"], v["action"]["action"]), ("fail", "reject"), "p=reject pct=10 (9989)")
    eq(v["dmarc"]["disposition"], "reject", "disposition")
    v = verdict_conf(conf, spoof("ceo@testing.test"))
    eq((v["dmarc"]["result"], v["action"]["action"]), ("fail", "quarantine"), "p=reject t=y (9989)")
    eq((v["dmarc"]["disposition"], v["dmarc"]["override"]), ("quarantine", "policy_test_mode"),
       "disposition and why")
    v = verdict_conf(conf, spoof("ceo@victim.test"))
    eq((v["dmarc"]["result"], v["action"]["action"]), ("fail", "reject"), "p=reject")
    # RFC 7489: pct= steps down, t= is unknown
    conf = policy_conf("DMARCStandard rfc7489\n")
    v = verdict_conf(conf, spoof("ceo@ramp.test"))
    eq((v["dmarc"]["result"], v["action"]["action"]), ("fail", "quarantine"), "p=reject pct=10 (7489)")
    eq((v["dmarc"]["disposition"], v["dmarc"]["override"]), ("quarantine", "other"), "sampled")
    v = verdict_conf(conf, spoof("ceo@testing.test"))
    eq((v["dmarc"]["result"], v["action"]["action"]), ("fail", "reject"), "p=reject t=y (7489)")


@case
def psl_and_treewalk_disagreement_in_log_and_json():
    """A From domain whose organizational domain differs by method: said in
    the JSON record and the log line, under either standard."""
    m = spoof("ceo@evil.blogspot.com")
    v = verdict_conf(policy_conf(), m)
    eq((v["dmarc"]["result"], v["dmarc"]["org_domain"], v["dmarc"]["org_other"]),
       ("fail", "blogspot.com", "psl:evil.blogspot.com"), "tree walk (rfc9989)")
    contains(v["log"], " org_other=psl:evil.blogspot.com ", "log line")
    v = verdict_conf(policy_conf("DMARCStandard rfc7489\n"), m)
    eq((v["dmarc"]["result"], v["dmarc"]["org_domain"], v["dmarc"]["org_other"]),
       ("none", "evil.blogspot.com", "treewalk:blogspot.com"), "public suffix list (rfc7489)")
    contains(v["log"], " org_other=treewalk:blogspot.com ", "log line")
    v = verdict_conf(policy_conf(), spoof("ceo@victim.test"))
    eq(v["dmarc"]["org_other"], None, "the same org domain both ways: null")
    check(" org_other=" not in v["log"], "not in the log: " + v["log"])


def added(v, name):
    return [h["value"] for h in v["add_headers"] if h["name"] == name][0]


def ar_of(v, method):
    """The resinfo of method in v's Authentication-Results, unfolded (a ';'
    inside a quoted reason does not end it)."""
    ar = " ".join(added(v, "Authentication-Results").split())
    parts, cur, quoted, esc = [], "", False, False
    for ch in ar:
        if esc:
            esc = False
        elif ch == "\\" and quoted:
            esc = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    for part in parts[1:]:
        if part.startswith(method + "="):
            return part
    return ""


@case
def discarded_dmarc_records_say_why():
    """A TXT record at _dmarc that is not a DMARC record is named with why
    it was discarded, in the JSON reason, the rule's reason and A-R, under
    either standard; never only "no DMARC record"."""
    for dom, why in (("lowerv.test", "is not a DMARC record: its version is"),
                     ("order.test", "v=DMARC1 is not its first tag"),
                     ("twodmarc.test", "DMARC records at _dmarc.twodmarc.test")):
        m = msg("news@" + dom, sign=(dom, "s1", "k2048"))
        for std in ("rfc9989", "rfc7489"):
            v = judge(policy_conf("DMARCStandard %s\n" % std), m, mail_from="b@" + dom)
            label = "%s under %s" % (dom, std)
            if dom == "twodmarc.test" and std == "rfc7489":
                # RFC 7489 6.6.3: several records are a permerror, said so
                eq(v["dmarc"]["result"], "permerror", label)
                contains(v["dmarc"]["reason"], "2 DMARC records", label)
                contains(ar_of(v, "dmarc"), "2 DMARC records", label + ": A-R")
                continue
            eq(v["dmarc"]["result"], "none", label)
            contains(v["dmarc"]["reason"], why, label + ": JSON reason")
            contains(rule(v, "dmarc-record")["reason"], why, label + ": rule reason")
            contains(ar_of(v, "dmarc"), why, label + ": A-R reason")
            contains(v["log"], "dmarc=none", label + ": log")


@case
def two_from_fields_and_two_addresses_one_rule():
    """Two From fields and two addresses in one From field are one case:
    the same failed rules per profile, the same DMARC result and reason,
    the same A-R; with one domain in both, DMARC judges it."""
    two_fields = msg(extra=[("From", " other@evil.test")], sign=None)
    two_addresses = msg(from_addr="news@good.test, other@evil.test", sign=None)
    a, b = verdict(two_fields), verdict(two_addresses)
    for prof in ("google", "yahoo", "microsoft"):
        eq(failed(a, prof), failed(b, prof), prof + " failed rules")
    for k in ("result", "reason"):
        eq(a["dmarc"][k], b["dmarc"][k], "dmarc " + k)
    eq(ar_of(a, "dmarc"), ar_of(b, "dmarc"), "A-R dmarc")
    contains(a["dmarc"]["reason"], "2 From domains", "the reason names both domains")
    eq(rule(a, "format")["state"], "fail", "format fails (two fields)")
    eq(rule(b, "format")["state"], "fail", "format fails (two addresses)")
    contains(rule(a, "format")["reason"], "2 From fields: one author address is needed "
             "(DMARC judges one From domain; ", "format reason, two fields")
    contains(rule(b, "format")["reason"], "2 addresses in the From field: one author address is "
             "needed (DMARC judges one From domain; ", "format reason, two addresses")
    for which, m in (("fields", msg(extra=[("From", " other@good.test")], sign=None)),
                     ("addresses", msg(from_addr="news@good.test, other@good.test", sign=None))):
        v = verdict(m)
        eq((v["dmarc"]["result"], v["dmarc"]["from_domain"]), ("pass", "good.test"),
           "one domain in two %s" % which)
        eq(rule(v, "format")["state"], "fail", "format still fails (two %s)" % which)


@case
def null_sender_identity_is_postmaster_at_helo():
    """RFC 7208 2.4: the null sender's MAIL FROM identity is postmaster@HELO,
    as the README says: JSON identity, domain, Received-SPF, A-R."""
    conf = policy_conf("AddReceivedSPF yes\n")
    v = judge(conf, msg(sign=None), mail_from="")
    eq((v["spf"]["result"], v["spf"]["identity"], v["spf"]["domain"]),
       ("none", "postmaster@mail.good.test", "mail.good.test"), "null sender")
    contains(added(v, "Received-SPF"), "identity=mailfrom", "Received-SPF")
    contains(ar_of(v, "spf"), "smtp.helo=mail.good.test", "A-R")
    readme = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README")).read()
    contains(" ".join(readme.split()), "postmaster@HELO for the null sender", "README")
    v = judge(conf, msg(sign=None), mail_from="b@good.test")
    eq((v["spf"]["result"], v["spf"]["identity"]), ("pass", "b@good.test"), "a sender as it is")


@case
def address_literal_is_none_without_lookup():
    """A HELO (for the null sender) or a MAIL FROM domain that is an address
    literal is SPF none with the reason, and nothing is asked: with every
    nameserver dead the result is none, not temperror."""
    conf = os.path.join(WORK, "dead-%s.conf" % os.urandom(3).hex())
    with open(conf, "w") as f:
        f.write("Nameservers %s\nDNSTimeout 2\nInternalHosts none\nAuthservID mx.test\n"
                "VolumeFile\n" % CTX.dead.address)
    for helo, mail_from, what in (("[192.0.2.1]", "", "HELO name '[192.0.2.1]'"),
                                  ("[IPv6:2001:db8::1]", "", "HELO name '[IPv6:2001:db8::1]'"),
                                  ("mail.good.test", "b@[192.0.2.1]",
                                   "MAIL FROM domain '[192.0.2.1]'")):
        v = judge(conf, msg(sign=None), helo=helo, mail_from=mail_from)
        eq(v["spf"]["result"], "none", "%s %s" % (helo, mail_from))
        contains(v["spf"]["reason"], what + " is an address literal", "reason")
        contains(v["spf"]["reason"], "nothing was asked", "reason says no lookup")
        contains(ar_of(v, "spf"), "address literal", "A-R reason")
    # the control: a domain name there is asked, and the dead server makes it temperror
    v = judge(conf, msg(sign=None), helo="mail.good.test", mail_from="")
    eq(v["spf"]["result"], "temperror", "a HELO name is looked up")


@case
def ar_reasons_name_the_dns_cause():
    """A-R reasons say what happened to DNS: a REFUSED answer, a server that
    never answers; never only "temporary DNS failure"."""
    v = judge(policy_conf(), msg(sign=None), mail_from="b@spf-temp-only.test")
    eq(v["spf"]["result"], "temperror", "REFUSED")
    contains(ar_of(v, "spf"), 'reason="DNS query refused (REFUSED)"', "A-R names REFUSED")
    conf = os.path.join(WORK, "dead-%s.conf" % os.urandom(3).hex())
    with open(conf, "w") as f:
        f.write("Nameservers %s\nDNSTimeout 2\nInternalHosts none\nAuthservID mx.test\n"
                "VolumeFile\n" % CTX.dead.address)
    v = judge(conf, msg(), mail_from="b@good.test")
    for method in ("spf", "dkim", "dmarc"):
        r = ar_of(v, method)
        contains(r, "temperror", method)
        check(("DNS time budget used up" in r or "no DNS answer in time" in r) and
              "temporary DNS failure" not in r, "%s names the cause: %s" % (method, r))


@case
def psl_and_treewalk_disagreement_in_report_and_milter_log():
    """The text report of sendercheck-test and the daemon's log line say
    when the other discovery method's organizational domain differs."""
    m = spoof("ceo@evil.blogspot.com")
    path = os.path.join(WORK, "t-%s.eml" % os.urandom(3).hex())
    with open(path, "wb") as f:
        f.write(m)
    p = evidence.run([TOOL, "-c", policy_conf(), "--ip", GOOD_IP, "--helo", "mail.good.test",
                      "--mail-from", "b@evil.test", "--tls", "TLSv1.3", path], timeout=60)
    out = p.stdout.decode() if isinstance(p.stdout, bytes) else p.stdout
    contains(out, "the other method's organizational domain differs: psl:evil.blogspot.com",
             "text report")
    before = CTX.milter.read_log()
    milter_send(CTX.milter, m, mail_from="<b@evil.test>")
    import time
    deadline = time.time() + 5
    while time.time() < deadline and "org_other=psl:evil.blogspot.com" not in CTX.milter.read_log()[len(before):]:
        time.sleep(0.1)
    contains(CTX.milter.read_log()[len(before):], " org_other=psl:evil.blogspot.com ", "milter log")


@case
def ar_dmarc_properties_are_registered_ones():
    """A-R's dmarc carries what RFC 9989 registers: polrec.p, polrec.domain
    when the record is not the From domain's, header.from; never
    policy.dmarc; under rfc7489 header.from only."""
    m = msg("news@sub.orgfb.test", sign=("other.test", "s1", "k2048"))
    v = judge(policy_conf(), m, mail_from="b@other.test")
    r = ar_of(v, "dmarc")
    contains(r, "polrec.p=reject polrec.domain=orgfb.test header.from=sub.orgfb.test", "rfc9989")
    v = judge(policy_conf(), msg(), mail_from="b@good.test")
    r = ar_of(v, "dmarc")
    contains(r, "polrec.p=none header.from=good.test", "the From domain's own record")
    check("polrec.domain" not in r, "no polrec.domain for the From domain's record: " + r)
    v = judge(policy_conf("DMARCStandard rfc7489\n"), m, mail_from="b@other.test")
    r = ar_of(v, "dmarc")
    contains(r, "header.from=sub.orgfb.test", "rfc7489")
    check("polrec." not in r, "no polrec under rfc7489: " + r)
    for v in (judge(policy_conf(), m, mail_from="b@other.test"), verdict(msg())):
        check("policy.dmarc" not in added(v, "Authentication-Results"), "never policy.dmarc")


@case
def dns_trouble_is_temporary_not_noncompliant():
    """SPF temperror with DKIM passing: bulk mail is not rejected for good."""
    conf = policy_conf("On-Noncompliant reject\nBulkDetection always\n")
    v = verdict_conf(conf, msg(extra=ONECLICK, headers=SIGNED_LU), mail_from="b@spf-temp-only.test")
    eq(v["spf"]["result"], "temperror", "SPF")
    eq(rule(v, "spf")["state"], "temperror", "rule state")
    check(v["action"]["action"] != "reject", "no permanent rejection: %r" % v["action"])
    eq(v["profiles"]["google"]["verdict"], "temperror", "google verdict is temperror")
    v = verdict_conf(conf, msg(extra=ONECLICK, headers=SIGNED_LU), ip=TEMPPTR_IP, mail_from="b@good.test")
    eq(rule(v, "iprev")["state"], "temperror", "iprev")
    eq(v["action"]["action"], "accept", "DKIM and SPF pass: DNS trouble elsewhere is not acted on")


@case
def dmarc_temperror_acted_on():
    conf = policy_conf()
    v = verdict_conf(conf, msg("news@tempdmarc.test", sign=("tempdmarc.test", "s1", "k2048")),
                     mail_from="b@tempdmarc.test")
    eq(v["dmarc"]["result"], "temperror", "DMARC")
    eq((v["action"]["action"], v["action"]["cause"]), ("tempfail", "dns-error"), "On-DNSError")
    eq(v["action"]["enhanced_code"], "4.7.26", "code")


@case
def body_line_over_998_fails_format():
    v = verdict(msg(sign=None, body="short\n" + "b" * 999 + "\nend\n"))
    check("format" in failed(v, "google"), "format fails: %r" % failed(v, "google"))
    contains(rule(v, "format")["reason"], "body line", "names the body")
    v = verdict(msg(sign=None, body="short\n" + "b" * 998 + "\nend\n"))
    eq(rule(v, "format")["state"], "pass", "998 octets is fine")


@case
def too_many_sending_ips_is_a_config_error():
    conf = os.path.join(WORK, "many.conf")
    with open(conf, "w") as f:
        f.write(open(CTX.conf).read() + "Mode outbound\nSendingIPs %s\n" %
                " ".join("192.0.2.%d" % i for i in range(1, 10)))
    p = evidence.run([TOOL, "-c", conf, "--ip", GOOD_IP, "--mail-from", "b@good.test", "-"],
                     expect=2, input=msg())
    contains(p.stderr.decode(), "SendingIPs: at most 8", "message")


# ---- through the milter ----

def milter_send(sc, m, tls=True, ip=GOOD_IP, mail_from="<b@good.test>", **kw):
    headers, body = mail.split(m)
    macros = {"i": "CQ" + os.urandom(3).hex().upper()}
    if tls:
        macros["{tls_version}"] = "TLSv1.3"
        macros["{cipher}"] = "TLS_AES_256_GCM_SHA384"
    r = run_session(sc.socket, ip=ip, helo="mail.good.test", mail_from=mail_from, headers=headers,
                    body=body, macros=macros, workdir=WORK, **kw)
    check(r["rc"] == 0, "miltertest: %s %s" % (r["stdout"], r["stderr"]))
    return r


def parse_field(name, value):
    import authres
    return authres.AuthenticationResultsHeader.parse("Authentication-Results: " + value.replace("\n", "\r\n"))


@case
def milter_compliance_field_and_ar():
    r = milter_send(CTX.milter, msg(extra=ONECLICK, headers=SIGNED_LU))
    comp = r["headers"].get("X-Sender-Compliance")
    check(comp is not None, "compliance field added: " + r["stdout"])
    contains(comp, "google=pass", "compliance")
    contains(comp, "bulk=yes (List-Unsubscribe", "bulk with why")
    h = parse_field("X-Sender-Compliance", comp)
    eq([x.method for x in h.results], ["google", "yahoo", "microsoft", "bulk"], "methods")
    ar = r["headers"]["Authentication-Results"]
    contains(ar, "dmarc=pass (p=NONE sp=NONE dis=NONE) polrec.p=none header.from=good.test", "A-R dmarc")
    contains(ar, "iprev=pass (mail.good.test) policy.iprev=192.0.2.10", "A-R iprev")
    parse_field("Authentication-Results", ar)


@case
def milter_tls_macro_absent_fails_google():
    r = milter_send(CTX.milter, msg(), tls=False)
    comp = r["headers"]["X-Sender-Compliance"]
    contains(comp, 'google=fail policy.rules="tls"', "no {tls_version}: TLS rule fails")
    h = parse_field("X-Sender-Compliance", comp)
    eq([(p.type, p.name, p.value) for p in h.results[0].properties], [("policy", "rules", "tls")], "parsed")


@case
def milter_noncompliant_reject_with_gmail_code():
    r = milter_send(CTX.strict, msg(extra=[("List-Unsubscribe", " <mailto:u@good.test>")],
                                    headers=SIGNED_LU),
                    expect_reply=("550", "5.7.1", "Message does not meet Google's sender requirements: "
                                  "mailto-only: List-Unsubscribe has only mailto: URIs. To learn "
                                  "more about Gmail requirements for bulk email senders, visit "
                                  "https://support.google.com/a/answer/81126."))
    check(r["eom"] in ("y", "r"), "rejected: %r" % r["eom"])
    check(r["reply_match"], "reply names the rule: " + r["stdout"])


@case
def milter_dmarc_policy_reject():
    m = msg("news@orgfb.test", sign=("other.test", "s1", "k2048"))
    r = milter_send(CTX.strict, m, mail_from="<b@other.test>",
                    expect_reply=("550", "5.7.26", "Unauthenticated email from orgfb.test is not "
                                  "accepted due to domain's DMARC policy. Contact the administrator "
                                  "of orgfb.test domain if this was legitimate email. To learn about "
                                  "the DMARC initiative, go to "
                                  "https://support.google.com/mail/answer/2451690."))
    check(r["reply_match"], "p=reject honoured with 5.7.26: " + r["stdout"])


@case
def milter_forged_compliance_field_removed():
    m = msg(extra=[("X-Sender-Compliance", " mx.test; google=pass; yahoo=pass; microsoft=pass")])
    headers, body = mail.split(m)
    r = milter_send(CTX.milter, m)
    # our own field is deleted (index 1 of X-Sender-Compliance): checked via the log
    import time
    time.sleep(0.2)
    log = [l for l in CTX.milter.read_log().splitlines() if "removed_forged=1" in l]
    check(log, "forged compliance field removed")


@case
def every_case_again_through_the_milter():
    """Each message judged above by sendercheck-test goes through the milter
    too: its compliance field names the same failed rules per profile, and
    both fields parse with python3-authres."""
    check(len(SEEN) >= 30, "cases seen: %d" % len(SEEN))
    for m, ip, mail_from, tls, v in SEEN:
        r = milter_send(CTX.milter, m, tls=bool(tls), ip=ip, mail_from="<%s>" % mail_from)
        comp = r["headers"].get("X-Sender-Compliance")
        check(comp is not None, "compliance field for a message from %s" % mail_from)
        h = parse_field("X-Sender-Compliance", comp)
        parse_field("Authentication-Results", r["headers"]["Authentication-Results"])
        got = {}
        for res in h.results:
            if res.method in ("google", "yahoo", "microsoft"):
                rules = [p.value for p in res.properties if p.name == "rules"]
                got[res.method] = sorted(rules[0].split(",")) if rules else []
        for prof in ("google", "yahoo", "microsoft"):
            eq(got.get(prof), sorted(failed(v, prof)),
               "%s via the milter vs sendercheck-test (%s, %s)" % (prof, mail_from, comp))


if __name__ == "__main__":
    sys.exit(run("bulk-sender compliance (sendercheck-test and milter)", lambda: setup(), teardown))
