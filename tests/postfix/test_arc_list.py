#!/usr/bin/python3
"""The real two-hop ARC test (issue 12): list mail from a p=reject domain
through two throwaway Postfix instances (as root).

    /usr/bin/python3 test_arc_list.py BUILDDIR [CASE...]

Hop 1, the list host (Postfix "lists"): its MX port checks incoming mail
with sendercheck (AuthservID mx.lists.test); team@lists.test is delivered
to a pipe(8) transport running tests/postfix/mailing_list.py, which tags
the Subject, adds List-Id and a footer, and sends the post on from the
list's own envelope (team-bounces@lists.test) to the re-injection port,
where a second sendercheck (same AuthservID, ARCSign yes, the client in
InternalHosts) seals it with the results the MX port wrote. The list's
Postfix relays from 127.0.0.3 (SPF of lists.test).

Hop 2, the receiving MX (Postfix "mx"): two ports, each with sendercheck
and On-DMARCFail policy, one trusting lists.test (TrustedARCSealers), one
not. The author (origin.test, p=reject, SPF 127.0.0.2) posts from
127.0.0.2 with a DKIM signature made by dkimpy; the list's change breaks
it, so DMARC fails at hop 2. Trusted: accepted with arc=pass and
policy.override=arc, delivered to smtp-sink. Untrusted: rejected (550),
which the list host's log records. Controls: a post whose author fails
DMARC at the list is rejected at hop 2 even through the trusted port, and
the same post sent directly (no ARC) is rejected too.
"""
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck                                # noqa: E402
from postfix import Postfix, SmtpSink, open_up, swaks         # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
_base = "/run" if os.path.isdir("/run") and not os.stat("/run").st_mode & 0o022 else None
WORK = tempfile.mkdtemp(prefix="sc-arc-list-", dir=_base)
AUTHOR_IP = "127.0.0.2"
LIST_IP = "127.0.0.3"
fp = testdns.free_port


class Ctx:
    pass


CTX = Ctx()


def milter_spec(s):
    port, _, host = s.socket.partition(":")[2].partition("@")
    return "{ inet:%s:%s, default_action=tempfail, command_timeout=60s, content_timeout=300s }" \
        % (host, port)


def daemon(name, options):
    opts = {"Nameservers": CTX.dns.address, "VolumeFile": "", "InternalHosts": "none"}
    opts.update(options)
    s = Sendercheck(BUILD, os.path.join(WORK, name), opts,
                    socket_spec="inet:%d@127.0.0.1" % fp(), name=name).start()
    CTX.daemons.append(s)
    return s


def start_all():
    c = CTX
    c.daemons = []
    keys = os.path.join(WORK, "keys")
    c.origin = mail.RSAKey(2048, keys)
    c.list_key = mail.RSAKey(2048, keys)
    os.chmod(c.list_key.path, 0o600)
    z = testdns.Zone()
    z.txt("origin.test", "v=spf1 ip4:%s -all" % AUTHOR_IP)
    z.txt("o._domainkey.origin.test", c.origin.record())
    z.txt("_dmarc.origin.test", "v=DMARC1; p=reject")
    z.txt("lists.test", "v=spf1 ip4:%s -all" % LIST_IP)
    z.txt("arc._domainkey.lists.test", c.list_key.record())
    z.txt("spoof.test", "v=spf1 -all")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.sink = SmtpSink(os.path.join(WORK, "sink"), fp()).start()

    # hop 2: the receiving MX
    c.mx_trusting = daemon("mx-trusting", {"AuthservID": "mx.final.test",
                                           "On-DMARCFail": "policy",
                                           "TrustedARCSealers": "lists.test"})
    c.mx_strict = daemon("mx-strict", {"AuthservID": "mx.final.test", "On-DMARCFail": "policy"})
    c.port_trusting, c.port_strict = fp(), fp()
    c.mx = Postfix(os.path.join(WORK, "pf-mx"), c.sink.port, [
        (c.port_trusting, {"smtpd_milters": "$m_trusting"}),
        (c.port_strict, {"smtpd_milters": "$m_strict"}),
    ], main={"myhostname": "mx.final.test", "m_trusting": milter_spec(c.mx_trusting),
             "m_strict": milter_spec(c.mx_strict)}).start()

    # hop 1: the list host
    c.list_in = daemon("list-mx", {"AuthservID": "mx.lists.test"})
    c.list_seal = daemon("list-seal", {"AuthservID": "mx.lists.test",
                                       "InternalHosts": "127.0.0.1/32", "ARCSign": "yes",
                                       "ARCDomain": "lists.test", "ARCSelector": "arc",
                                       "ARCKeyFile": c.list_key.path})
    c.port_list_mx, c.port_reinject = fp(), fp()
    script = os.path.join(WORK, "mailing_list.py")
    shutil.copy(os.path.join(HERE, "mailing_list.py"), script)
    os.chmod(script, 0o755)
    open_up(WORK)
    subscribers = "trusting@mx.final.test strict@mx.final.test"
    c.lists = Postfix(os.path.join(WORK, "pf-lists"), c.sink.port, [
        (c.port_list_mx, {"smtpd_milters": "$m_in"}),
        (c.port_reinject, {"smtpd_milters": "$m_seal"}),
    ], main={
        "myhostname": "mx.lists.test",
        "smtp_bind_address": LIST_IP,
        "m_in": milter_spec(c.list_in), "m_seal": milter_spec(c.list_seal),
        # the list address goes to the pipe; subscribers to the two MX ports
        "transport_maps": "inline:{ team@lists.test=teamlist:, "
                          "trusting@mx.final.test=smtp:[127.0.0.1]:%d, "
                          "strict@mx.final.test=smtp:[127.0.0.1]:%d }"
                          % (c.port_trusting, c.port_strict),
        "teamlist_destination_recipient_limit": "1",
    }, master_extra=(
        "teamlist unix - n n - - pipe flags=q user=nobody argv=/usr/bin/python3 %s %d "
        "team@lists.test team-bounces@lists.test %s\n" % (script, c.port_reinject, subscribers)
    )).start()
    return c


def teardown(c):
    for pf in ("lists", "mx"):
        if getattr(c, pf, None):
            getattr(c, pf).stop()
    for s in getattr(c, "daemons", []):
        s.stop()
    for x in ("sink", "dns"):
        if getattr(c, x, None):
            getattr(c, x).stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def post(c, author="alice@origin.test", sign=True, port=None, to="team@lists.test",
         mail_from=None):
    tok = "T" + os.urandom(5).hex()
    m = mail.message([("From", " Alice <%s>" % author), ("To", " " + to),
                      ("Subject", " Minutes " + tok), ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
                      ("Message-ID", " <%s@origin.test>" % tok)],
                     "Hello team,\nthe minutes of %s are below.\n" % tok)
    if sign:
        m = mail.sign(m, "origin.test", "o", c.origin)
    path = os.path.join(WORK, "post-%s.eml" % tok)
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(port or c.port_list_mx, path, mail_from or author, to, helo="mail.origin.test",
                  local=AUTHOR_IP)
    eq(rc, 0, "the list host accepts the post:\n" + t[-1500:])
    return tok


def wait_log(pf, pattern, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, pf.read_log())
        if m:
            return m
        pf.flush()
        time.sleep(0.5)
    return None


def to_rcpt(c, tok, rcpt):
    """smtp-sink's files of tok for rcpt (bounces to the list quote tok too)."""
    return [m for m in c.sink.find(tok) if b"X-Rcpt-Args: <%s>" % rcpt.encode() in m]


def delivered(c, tok, rcpt):
    deadline = time.time() + 60
    while time.time() < deadline:
        for m in to_rcpt(c, tok, rcpt):
            return m
        c.lists.flush()
        c.mx.flush()
        time.sleep(0.5)
    return None


def field(msg, name):
    """The first field called name, unfolded (smtp-sink writes LF lines)."""
    head = msg.replace(b"\r\n", b"\n").partition(b"\n\n")[0].decode("latin-1")
    m = re.search(r"(?im)^%s:([^\n]*(?:\n[ \t][^\n]*)*)" % re.escape(name), head)
    return re.sub(r"\n[ \t]*", " ", m.group(1)).strip() if m else None


@case
def list_mail_accepted_by_arc_when_the_list_is_trusted(c):
    tok = post(c)
    m = delivered(c, tok, "trusting@mx.final.test")
    check(m is not None, "delivered through the trusting MX:\n%s" % c.mx.read_log()[-3000:])
    contains(m.decode("latin-1"), "Subject: [team] Minutes", "the list's tag")
    contains(m.decode("latin-1"), "team mailing list", "the list's footer")
    ar = field(m, "Authentication-Results")
    contains(ar, "mx.final.test", "hop 2's A-R")
    contains(ar, "arc=pass", "hop 2's A-R")
    contains(ar, "dmarc=fail", "DMARC fails after the list's change")
    contains(ar, "policy.override=arc", "the override")
    contains(ar, "trusted ARC sealer lists.test", "the reason names the sealer")
    seal = field(m, "ARC-Seal")
    contains(seal, "i=1", "one set")
    contains(seal, "d=lists.test", "sealed by the list")
    contains(seal, "cv=none", "cv")
    aar = field(m, "ARC-Authentication-Results")
    for part in ("mx.lists.test", "dmarc=pass", "dkim=pass", "header.d=origin.test", "arc=none"):
        contains(aar, part, "what the list saw")
    contains(c.mx_trusting.read_log(), "DMARC policy of origin.test not applied: ARC sealer "
             "lists.test", "hop 2's log")
    contains(c.list_seal.read_log(), "sealed ARC set i=1 cv=none as lists.test", "the sealer's log")


@case
def list_mail_rejected_when_the_list_is_not_trusted(c):
    tok = post(c)
    m = wait_log(c.lists, r"to=<strict@mx\.final\.test>.*status=bounced \(host 127\.0\.0\.1"
                          r"\[127\.0\.0\.1\] said: (550[^)]*)")
    check(m is not None, "the strict MX refused the list's mail:\n%s" % c.lists.read_log()[-3000:])
    contains(m.group(1), "DMARC", "the reply says why")
    check(not to_rcpt(c, tok, "strict@mx.final.test"), "nothing delivered")
    log = c.mx_strict.read_log()
    check(re.search(r"arc=pass", log) is not None, "the chain passed there too")


@case
def author_failing_dmarc_at_the_list_rejected_even_when_trusted(c):
    """A spoof of origin.test posted to the list (no signature, another
    envelope domain): the list saw DMARC fail, so its seal vouches for
    nothing and the trusting MX applies p=reject."""
    tok = post(c, sign=False, mail_from="x@spoof.test")
    m = wait_log(c.lists, r"to=<trusting@mx\.final\.test>.*status=bounced \(host 127\.0\.0\.1"
                          r"\[127\.0\.0\.1\] said: (550[^)]*)")
    check(m is not None, "the trusting MX refused it:\n%s" % c.lists.read_log()[-3000:])
    check(not to_rcpt(c, tok, "trusting@mx.final.test"), "nothing delivered")


@case
def the_same_post_without_the_list_rejected(c):
    """Sent straight to the receiving MX from the list's address (SPF of
    lists.test passes, DKIM of origin.test broken by the footer, no ARC):
    rejected by DMARC, trusted list or not."""
    tok = "T" + os.urandom(5).hex()
    m = mail.message([("From", " Alice <alice@origin.test>"), ("To", " trusting@mx.final.test"),
                      ("Subject", " [team] Minutes " + tok),
                      ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
                      ("Message-ID", " <%s@origin.test>" % tok)], "changed\n")
    path = os.path.join(WORK, "direct-%s.eml" % tok)
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(c.port_trusting, path, "team-bounces@lists.test", "trusting@mx.final.test",
                  helo="mx.lists.test", local=LIST_IP)
    check(rc != 0, "rejected")
    contains(t, "550", "550 reply")


if __name__ == "__main__":
    sys.exit(run("ARC through a mailing list: two Postfix instances (%s)" % BUILD,
                 start_all, teardown, context=CTX))
