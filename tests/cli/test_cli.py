"""sendercheck-test, the offline checker: the same engine on a message file.
Run: /usr/bin/python3 test_cli.py BUILDDIR"""
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run, testdata, testdata_or_none  # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
import testdns                                                # noqa: E402
import world                                                  # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="sc-cli-")
# dkimpy's test data as Debian's python3-dkim installs it
DKIMPY_DATA = "/usr/lib/python3/dist-packages/dkim/tests/data"


class Ctx:
    pass


def setup():
    c = Ctx()
    z, c.keys = world.build(WORK)
    # the RFC 8463 keys (the same in dkimpy's data and in RFC 8463
    # Appendix A, from the optional test data folder)
    seen = set()
    for dns_txt in (testdata_or_none("dkim", "rfc8463", "dns.txt"),
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dkim",
                                 "dkimpy-dns.txt")):
        if dns_txt is None:
            continue
        for line in open(dns_txt):
            if line.strip() and not line.startswith("#"):
                owner, rdata = line.split(None, 1)
                if owner.lower() not in seen:
                    seen.add(owner.lower())
                    z.txt(owner, rdata.strip())
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.conf = os.path.join(WORK, "sc.conf")
    with open(c.conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nOn-SPFFail reject\n"
                % c.dns.address)
    # the same with the second DKIM engine: the DKIM cases run through both
    c.conf_odk = os.path.join(WORK, "sc-libopendkim.conf")
    with open(c.conf_odk, "w") as f:
        f.write(open(c.conf).read() + "DKIMEngine libopendkim\n")
    return c


def teardown(c):
    if getattr(c, "dns", None):
        c.dns.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def tool(c, msg, *args, json_out=True, mail_from="user@dkim.test", stdin=None, conf=True,
         expect=0, ip=world.CLIENT):
    """conf: True (the test's config), False (none) or a config file."""
    path = "-"
    if msg is not None:
        path = os.path.join(WORK, "m-%s.eml" % os.urandom(3).hex())
        with open(path, "wb") as f:
            f.write(msg)
    if conf is True:
        conf = c.conf
    cmd = [TOOL] + (["-c", conf] if conf else []) + ["--ip", ip, "--helo", "client.test",
                                                       "--mail-from", mail_from]
    cmd += list(args) + (["--json"] if json_out else []) + [path]
    return evidence.run(cmd, expect=expect, input=stdin, timeout=60)


def verdict(c, msg, **kw):
    return json.loads(tool(c, msg, **kw).stdout)


def ar(v):
    for h in v["add_headers"]:
        if h["name"] == "Authentication-Results":
            return h["value"]
    raise AssertionError("no Authentication-Results in %r" % v)


def engine_conf(c, engine):
    return c.conf if engine == "builtin" else c.conf_odk


def _dkim_case(name, build, want, unwanted, engine):
    def fn(c):
        v = verdict(c, build(c.keys), conf=engine_conf(c, engine))
        a = ar(v)
        for w in want:
            contains(a, w, "A-R of %s (%s)" % (name, engine))
        for u in unwanted:
            check(u not in a, "A-R of %s (%s) must not hold %r: %s" % (name, engine, u, a))
    fn.__name__ = "dkim_%s_%s" % (name, engine)
    return case(fn)


for _engine in ("builtin", "libopendkim"):
    for _n, _b, _w, _u in world.DKIM_CASES:
        _dkim_case(_n, _b, _w, _u, _engine)


@case
def dkim_json_details(c):
    v = verdict(c, world.signed(c.keys, "r2048", length=True))
    eq(len(v["dkim"]), 1, "one signature")
    d = v["dkim"][0]
    eq(d["result"], "pass", "result")
    eq(d["domain"], "dkim.test", "d=")
    eq(d["selector"], "r2048", "s=")
    eq(d["algorithm"], "rsa-sha256", "a=")
    eq(d["key_bits"], 2048, "key size")
    check("length" in d, "l= noted: %r" % d)
    for h in ("from", "to", "subject", "date", "message-id"):
        check(h in d["signed_headers"], "%s in h=: %r" % (h, d["signed_headers"]))
    eq(v["spf"]["result"], "pass", "SPF for dkim.test")


@case
def rfc8463_vector_both_pass(c):
    msg = testdata("dkim", "rfc8463", "signed.eml")
    for engine in ("builtin", "libopendkim"):
        v = verdict(c, open(msg, "rb").read(), mail_from="joe@football.example.com",
                    conf=engine_conf(c, engine))
        eq([d["result"] for d in v["dkim"]], ["pass", "pass"],
           "both RFC 8463 signatures (%s)" % engine)
        eq(sorted(d["algorithm"] for d in v["dkim"]), ["ed25519-sha256", "rsa-sha256"],
           "algorithms (%s)" % engine)


@case
def dkimpy_vector_both_pass(c):
    """dkimpy's draft-era copy of the RFC 8463 example (python3-dkim)."""
    msg = os.path.join(DKIMPY_DATA, "rfc6376.signed.msg")
    v = verdict(c, open(msg, "rb").read(), mail_from="joe@football.example.com")
    eq([d["result"] for d in v["dkim"]], ["pass", "pass"], "both signatures")
    eq([d["algorithm"] for d in v["dkim"]], ["ed25519-sha256", "rsa-sha256"], "algorithms")


@case
def lf_only_file_read_as_crlf(c):
    msg = world.signed(c.keys, "r2048", canon=(b"simple", b"simple")).replace(b"\r\n", b"\n")
    v = verdict(c, msg)
    eq(v["dkim"][0]["result"], "pass", "LF-only file verifies as CRLF")


@case
def stdin_message(c):
    p = tool(c, None, stdin=world.signed(c.keys, "ed"))
    eq(json.loads(p.stdout)["dkim"][0]["result"], "pass", "message from stdin")


@case
def null_sender_checks_helo(c):
    v = verdict(c, mail.simple_message("x@client.test"), mail_from="<>")
    eq(v["spf"]["result"], "pass", "SPF of the HELO identity")
    contains(ar(v), "smtp.helo=client.test", "A-R")


@case
def reject_verdict_reported(c):
    v = verdict(c, mail.simple_message("user@spf-fail.test"), mail_from="user@spf-fail.test")
    eq(v["action"]["action"], "reject", "action")
    eq(v["action"]["smtp_code"], "550", "code")
    eq(v["action"]["enhanced_code"], "5.7.26", "enhanced code (Gmail's for an SPF hard fail)")
    contains(v["action"]["text"], "The (E)MAIL FROM domain [spf-fail.test] has an SPF record with a "
             "hard fail policy (-all)", "reply text")


@case
def forged_ar_reported(c):
    msg = mail.simple_message("user@dkim.test", extra=[("Authentication-Results", " mx.test; dkim=pass")])
    v = verdict(c, msg)
    eq(v["remove_headers"], [{"name": "Authentication-Results", "index": 1}], "removal")


@case
def received_spf_quoting(c):
    """Received-SPF values that are not dot-atoms are quoted (RFC 7208 §9.1)."""
    conf = os.path.join(WORK, "rspf.conf")
    with open(conf, "w") as f:
        f.write(open(c.conf).read() + "AddReceivedSPF yes\n")
    p = evidence.run([TOOL, "-c", conf, "--ip", "2001:db8::25", "--helo", "[192.0.2.1]",
                      "--mail-from", '"a b"@spf-pass.test', "--json", "-"],
                     input=mail.simple_message("x@spf-pass.test"))
    v = json.loads(p.stdout)
    rs = [h["value"] for h in v["add_headers"] if h["name"] == "Received-SPF"][0]
    contains(rs, 'client-ip="2001:db8::25"', "IPv6 quoted")
    contains(rs, 'envelope-from="\\"a b\\"@spf-pass.test"', "quoted local part escaped")
    contains(rs, 'helo="[192.0.2.1]"', "literal quoted")
    contains(rs, "receiver=mx.test; identity=mailfrom", "receiver")


@case
def text_report(c):
    p = tool(c, world.signed(c.keys, "r2048"), json_out=False)
    out = p.stdout.decode()
    contains(out, "SPF:        pass", "report")
    contains(out, "DKIM #1:    pass d=dkim.test s=r2048 a=rsa-sha256 key=2048 bits", "report")
    contains(out, "\nAuthentication-Results: mx.test;\n\tspf=pass", "header field as in a message")
    contains(out, "Action:     accept", "report")


@case
def usage_errors_exit_2(c):
    p = evidence.run([TOOL, "--mail-from", "a@b", "-"], expect=2, input=b"")
    contains(p.stderr.decode(), "--ip is required", "message")
    p = evidence.run([TOOL, "--ip", "192.0.2.1", "--mail-from", "a@b", "/nonexistent.eml"],
                     expect=2)
    contains(p.stderr.decode(), "cannot open /nonexistent.eml", "message")
    p = tool(c, b"just some text without a header\n\nbody\n", expect=2)
    contains(p.stderr.decode(), "not a header field", "message")
    bad = os.path.join(WORK, "bad.conf")
    with open(bad, "w") as f:
        f.write("Nameservers 127.0.0.1:99999\n")
    p = evidence.run([TOOL, "-c", bad, "--ip", "192.0.2.1", "--mail-from", "a@b", "-"],
                     expect=2, input=b"From: a@b\r\n\r\n")
    contains(p.stderr.decode(), bad + ":1: Nameservers:", "FILE:LINE in the message")


@case
def hostile_input_no_crash(c):
    """Malformed input gets a result, never a crash."""
    cases = [
        b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; b=\r\nFrom: a@b\r\n\r\nx\r\n",
        b"From: a@b\r\n" + b"X-Long: " + b"a" * 200000 + b"\r\n\r\nbody",
        b"From: a@b\r\nSubject: \xff\xfe\x00\x01\r\n\r\n\x00\x00\r\n",
        b"From: a@b\r\n" + b"DKIM-Signature: v=1; a=ed25519-sha256; d=dkim.test; s=ed; h=from; bh=AA==; b=AA==\r\n" * 40 + b"\r\nx",
        # a surrogate, an overlong form and a stray byte where text reaches the JSON output
        b"DKIM-Signature: v=1; a=rsa-sha256; d=\xed\xa0\x80.\xe0\x80\xaf.\xff; s=x\"; h=from; bh=AA==; b=ab\"c\r\nFrom: a@b\r\n\r\nx\r\n",
    ]
    for m in cases:
        p = tool(c, m)
        v = json.loads(p.stdout.decode("utf-8"))      # strict UTF-8
        import authres
        for h in v["add_headers"]:
            if h["name"] == "Authentication-Results":
                authres.AuthenticationResultsHeader.parse("Authentication-Results: " + h["value"])


@case
def ip_that_is_not_an_address_is_a_usage_error(c):
    """Never a run with empty fields: each of these is exit 2 with a reason;
    each accepted form is the client the checks see."""
    for bad in ("1.2.3", "300.1.2.3", "192.0.2.1/24", "[192.0.2.1]", "::g", "mail.example.com", "",
                "192.0.2.1 "):
        for extra in ([], ["--spf-only", "dkim.test"]):
            cmd = [TOOL, "-c", c.conf, "--ip", bad] + extra
            if not extra:
                cmd += ["--mail-from", "a@dkim.test", "-"]
            p = evidence.run(cmd, expect=2, input=b"From: a@dkim.test\r\n\r\nx\r\n",
                             what="sendercheck-test --ip %r %r" % (bad, extra))
            contains(p.stderr.decode(), "--ip '%s' is not an IPv4 or IPv6 address" % bad, "message")
            eq(p.stdout, b"", "nothing on stdout for --ip %r" % bad)
    # each accepted form is the client the checks see (a v4-mapped IPv6
    # address as the IPv4 one), in the record and in A-R's iprev
    for good, seen in (("192.0.2.10", "192.0.2.10"), ("2001:db8::10", "2001:db8::10"),
                       ("::ffff:192.0.2.10", "192.0.2.10")):
        v = verdict(c, mail.simple_message("user@dkim.test"), ip=good)
        eq(v["client"]["ip"], seen, "client ip for --ip %s" % good)
        check(re.search(r'policy\.iprev="?%s"?$' % re.escape(seen), ar(v), re.M),
              "A-R for --ip %s: %r" % (good, ar(v)))


def unreachable_conf():
    path = os.path.join(WORK, "nodns.conf")
    with open(path, "w") as f:       # nothing listens on that port
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nInternalHosts none\nAuthservID mx.test\n"
                % testdns.free_port())
    return path


@case
def dns_unreachable_said_once_and_no_rule_claimed(c):
    """A signed bulk message with one-click headers while DNS cannot be
    reached: no profile may call a rule failed or passed for lack of an
    answer (one-click rests on the signature whose key could not be had)."""
    lu = [("List-Unsubscribe", " <https://dkim.test/u/1>"),
          ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click")]
    msg = mail.sign(mail.simple_message("user@dkim.test", extra=lu), "dkim.test", "r2048", c.keys["r2048"],
                    headers=(b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe",
                             b"list-unsubscribe-post"))
    path = os.path.join(WORK, "nodns.eml")
    with open(path, "wb") as f:
        f.write(msg)
    p = evidence.run([TOOL, "-c", unreachable_conf(), "--ip", world.CLIENT, "--helo", "client.test",
                      "--mail-from", "user@dkim.test", "--tls", "TLSv1.3", path], timeout=60)
    out = p.stdout.decode()
    eq(out.count("DNS:        trouble:"), 1, "DNS trouble said once at the top:\n" + out)
    check(out.index("DNS:") < out.index("SPF:"), "the DNS line comes before the checks")
    eq(out.count("Not checkable here"), 1, "'Not checkable here' once")
    check("NOT compliant" not in out, "a profile claims a failure for lack of DNS:\n" + out)
    check("compliant so far" not in out, "a profile claims a pass for lack of DNS:\n" + out)
    for prof in ("Google:", "Yahoo:", "Microsoft:"):
        line = [l for l in out.splitlines() if l.startswith(prof)]
        eq(line, ["%-11s not decided (DNS trouble)" % prof], prof)
    check("fix: add \"List-Unsubscribe" not in out, "a fix for one-click headers that are right:\n" + out)
    contains(out, "unknown for lack of DNS answers (neither failed nor passed): ", "unknown rules listed")
    # the same message with DNS answering: one-click passes for every profile
    path2 = os.path.join(WORK, "dns.eml")
    with open(path2, "wb") as f:
        f.write(msg)
    out = evidence.run([TOOL, "-c", c.conf, "--ip", world.CLIENT, "--helo", "client.test", "--mail-from",
                        "user@dkim.test", "--tls", "TLSv1.3", path2]).stdout.decode()
    check("oneclick:" not in out and "DNS:" not in out, "with DNS answering:\n" + out)


@case
def fixes_are_copy_paste_records(c):
    """Where a DNS record is the fix, the fix holds the record to publish."""
    bulk = [("List-Id", " <news.spf-none.test>")]     # bulk: SPF, DKIM, DMARC bind
    text = tool(c, mail.simple_message("user@spf-none.test", extra=bulk), json_out=False,
                mail_from="user@spf-none.test").stdout.decode()
    contains(text, 'spf-none.test TXT "v=spf1 ip4:%s ~all"' % world.CLIENT, "SPF record to publish")
    contains(text, '_dmarc.spf-none.test TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@spf-none.test"',
             "DMARC record to publish")
    contains(text, 'SELECTOR._domainkey.spf-none.test TXT "v=DKIM1; k=rsa; p=BASE64KEY"', "DKIM key record")
    # an address not in the record: the record with the address added
    text = tool(c, mail.simple_message("user@spf-fail.test", extra=bulk), json_out=False,
                mail_from="user@spf-fail.test").stdout.decode()
    contains(text, 'spf-fail.test TXT "v=spf1 ip4:%s ip4:192.0.2.99 -all"' % world.CLIENT, "SPF record")


@case
def missing_message_id_wording_is_not_gmails(c):
    msg = mail.simple_message("user@dkim.test")
    msg = re.sub(rb"Message-ID:[^\r]*\r\n", b"", msg)
    text = tool(c, mail.sign(msg, "dkim.test", "r2048", c.keys["r2048"], headers=(b"from", b"to", b"subject")),
                "--profile", "yahoo", "--profile", "microsoft", json_out=False).stdout.decode()
    check("Gmail" not in text, "Gmail named for Yahoo/Microsoft:\n" + text)
    contains(text, "format: no Message-ID field", "reason")
    contains(text, "fix: add a Message-ID field", "fix")


if __name__ == "__main__":
    sys.exit(run("offline checker (sendercheck-test)", setup, teardown))
