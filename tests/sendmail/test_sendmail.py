"""End to end with a real Sendmail (issue 14): the Postfix test's cases
through Debian's sendmail 8.17, which conflicts with postfix and so is
never installed: tests/lib/sendmail.py downloads sendmail-bin,
sendmail-base, sendmail-cf and m4 (apt-get download), unpacks them
(dpkg-deb -x) into the work directory, builds sendmail.cf with m4 from a
.mc that includes conf/sendmail.mc as documented, and runs it as root on
loopback ports (its queue in the work directory, DNS confined to
loopback), relaying to smtp-sink. swaks sends, with and without STARTTLS;
unbound serves the zones; dkimpy signs. Run as root:
    /usr/bin/python3 test_sendmail.py BUILDDIR
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck                                # noqa: E402
import postfix                                                # noqa: E402
from postfix import SmtpSink, swaks, data_reply, reply_after_data   # noqa: E402
import sendmail                                               # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
SNIPPET = os.path.join(HERE, "..", "..", "conf", "sendmail.mc")
# Sendmail refuses files below a directory others can write to (/tmp is 1777)
_base = "/run" if os.path.isdir("/run") and not os.stat("/run").st_mode & 0o022 else None
WORK = tempfile.mkdtemp(prefix="sc-sendmail-", dir=_base)
# the downloaded packages, kept between runs (SC_SENDMAIL_DEBS overrides)
CACHE = os.environ.get("SC_SENDMAIL_DEBS", "/var/cache/sendercheck-tests/sendmail")
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


class Ctx:
    pass


CTX = Ctx()


def snippet_lines(sc_port):
    """conf/sendmail.mc as an admin would paste it, the socket's port ours."""
    text = open(SNIPPET).read().replace("inet:8894@127.0.0.1", "inet:%d@127.0.0.1" % sc_port)
    return [l for l in text.splitlines() if l.strip() and not l.startswith("dnl")]


def sc(name, options):
    opts = {"Nameservers": CTX.dns.address, "VolumeFile": "", "AuthservID": "mx.test"}
    opts.update(options)
    port = testdns.free_port()
    s = Sendercheck(BUILD, WORK, opts, socket_spec="inet:%d@127.0.0.1" % port, name=name)
    s.port = port
    CTX.daemons.append(s)
    return s.start()


def start_all():
    c = CTX
    c.daemons = []
    c.mtas = []
    fp = testdns.free_port
    postfix.open_up(WORK)
    c.root = os.path.join(WORK, "root")
    sendmail.extract(CACHE, c.root)
    c.key = mail.RSAKey(2048, WORK)
    z = testdns.Zone()
    z.txt("good.test", "v=spf1 ip4:127.0.0.1 -all")
    z.txt("s1._domainkey.good.test", c.key.record())
    z.txt("_dmarc.good.test", "v=DMARC1; p=none")
    z.txt("bad.test", "v=spf1 -all")
    z.txt("_dmarc.bad.test", "v=DMARC1; p=none")
    z.add("1.0.0.127.in-addr.arpa", "PTR", "client.good.test")
    z.add("client.good.test", "A", "127.0.0.1")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.sink = SmtpSink(os.path.join(WORK, "sink"), fp()).start()
    c.cert, c.certkey = postfix.make_cert(WORK)

    c.sc_main = sc("main", {})
    c.sc_strict = sc("strict", {"On-SPFFail": "reject"})
    c.sc_tf = sc("tempfail", {"On-SPFFail": "tempfail"})
    c.sc_q = sc("quarantine", {"On-SPFFail": "quarantine"})
    dead = fp()                           # nothing listens here
    t = "T=C:5s;S:30s;R:30s;E:1m"
    filters = [
        "MAIL_FILTER(`strict', `S=inet:%d@127.0.0.1, F=T, %s')dnl" % (c.sc_strict.port, t),
        "MAIL_FILTER(`tf', `S=inet:%d@127.0.0.1, F=T, %s')dnl" % (c.sc_tf.port, t),
        "MAIL_FILTER(`quar', `S=inet:%d@127.0.0.1, F=T, %s')dnl" % (c.sc_q.port, t),
        "MAIL_FILTER(`deadT', `S=inet:%d@127.0.0.1, F=T, %s')dnl" % (dead, t),
        "MAIL_FILTER(`deadA', `S=inet:%d@127.0.0.1, %s')dnl" % (dead, t),
    ]
    c.ports = {n: fp() for n in ("main", "strict", "tf", "quar", "deadT", "deadA")}
    daemons = [(c.ports["main"], "main", None)] + [(c.ports[n], n, n) for n in
                                                   ("strict", "tf", "quar", "deadT", "deadA")]
    c.sm = sendmail.Sendmail(os.path.join(WORK, "sm"), c.root, c.sink.port, daemons,
                             snippet_lines(c.sc_main.port), c.cert, c.certkey, extra="\n".join(filters))
    c.mtas.append(c.sm)
    c.sm.start()
    # a second Sendmail whose macro lists leave the TLS macros out
    c.sc_nomac = sc("nomacros", {})
    c.ports["nomac"] = fp()
    lines = [l for l in snippet_lines(c.sc_nomac.port) if "confMILTER_MACROS" not in l]
    lines += ["define(`confMILTER_MACROS_HELO', `')dnl", "define(`confMILTER_MACROS_ENVFROM', `i')dnl",
              "define(`confMILTER_MACROS_EOH', `i')dnl", "define(`confMILTER_MACROS_EOM', `{msg_id}, i')dnl"]
    c.sm2 = sendmail.Sendmail(os.path.join(WORK, "sm2"), c.root, c.sink.port,
                              [(c.ports["nomac"], "nomac", None)], lines, c.cert, c.certkey)
    c.mtas.append(c.sm2)
    c.sm2.start()
    return c


def teardown(c):
    for m in getattr(c, "mtas", []):
        m.stop()
    for s in getattr(c, "daemons", []):
        rc = s.stop()
        if rc not in (0, None):
            print("note: sendercheck %s exited %s; log:\n%s" % (s.conf, rc, s.read_log()[-2000:]))
    for x in ("sink", "dns"):
        if getattr(c, x, None):
            getattr(c, x).stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("kept " + WORK)


# ---- helpers ----

def message(from_addr="news@good.test", sign=True):
    tok = "T" + os.urandom(5).hex()
    hdrs = [("From", " " + from_addr), ("To", " rcpt@example.net"), ("Subject", " test " + tok),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <%s@good.test>" % tok)]
    m = mail.message(hdrs, "Hello.\nend of %s\n" % tok)
    if sign:
        m = mail.sign(m, "good.test", "s1", CTX.key, headers=SIGNED)
    return tok, m


def send(port, m, mail_from="b@good.test", tls=False):
    path = os.path.join(WORK, "msg-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(port, path, mail_from, "rcpt@example.net", helo="client.good.test", tls=tls)
    os.unlink(path)
    return rc, t


def delivered(tok, timeout=15):
    found = CTX.sink.wait_for("end of " + tok, timeout)
    eq(len(found), 1, "delivered copies of %s" % tok)
    return found[0].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")


def unfolded(head):
    return re.sub(r"\r?\n[ \t]+", " ", head)


def ours(head, name):
    return [line.split(":", 1)[1] for line in unfolded(head).splitlines()
            if line.lower().startswith(name.lower() + ":") and line.split(":", 1)[1].strip().startswith("mx.test;")]


def queue_id(transcript):
    m = re.search(r"250 2\.0\.0 (\w+) Message accepted", transcript)
    check(m, "no queue id in %r" % transcript[-600:])
    return m.group(1)


def log_line(s, qid):
    lines = [l for l in s.read_log().splitlines() if (qid + ":") in l]
    eq(len(lines), 1, "log lines for %s in %s" % (qid, s.conf))
    return lines[0]


def not_delivered(tok):
    eq(CTX.sink.find("end of " + tok), [], "delivered although refused")


# ---- the cases ----

@case
def accept_with_headers_over_tls():
    tok, m = message()
    rc, t = send(CTX.ports["main"], m, tls=True)
    eq((rc, (data_reply(t) or "")[:3]), (0, "250"), "accepted: %s" % t[-800:])
    contains(t, "STARTTLS", "swaks used STARTTLS")
    head = delivered(tok)
    # Sendmail writes the value as the filter gives it: "Name: value"
    check(re.search(r"^Authentication-Results: mx\.test;", head, re.M), "A-R as written: %r" % head[:600])
    ar = ours(head, "Authentication-Results")
    eq(len(ar), 1, "one A-R of ours")
    for part in ("spf=pass smtp.mailfrom=b@good.test", "dkim=pass", "header.d=good.test header.s=s1",
                 "dmarc=pass", "header.from=good.test", "iprev=pass"):
        contains(ar[0], part, "A-R")
    import authres
    authres.AuthenticationResultsHeader.parse("Authentication-Results:" + ar[0])
    comp = ours(head, "X-Sender-Compliance")
    eq(len(comp), 1, "one compliance field")
    contains(comp[0], "google=pass", "TLS seen through {tls_version}: Google's TLS rule passes")
    # the log line carries Sendmail's queue id (macro i) and tls=yes
    line = log_line(CTX.sc_main, queue_id(t))
    contains(line, "tls=yes", "log")
    contains(line, "client=127.0.0.1", "client address")


@case
def no_tls_fails_googles_tls_rule():
    tok, m = message()
    rc, t = send(CTX.ports["main"], m, tls=False)
    eq(rc, 0, "accepted")
    comp = ours(delivered(tok), "X-Sender-Compliance")
    contains(comp[0], 'google=fail policy.rules="tls"', "no STARTTLS: tls rule fails")
    contains(log_line(CTX.sc_main, queue_id(t)), "tls=no", "log")


@case
def tls_macros_left_out_of_the_lists_are_still_sent_on_request():
    """A Sendmail whose macro lists lack {tls_version}: Sendmail 8.17 still
    sends the macros the filter asks for itself (smfi_setsymlist), so a
    STARTTLS message is seen as TLS; it must never be claimed as without."""
    tok, m = message()
    rc, t = send(CTX.ports["nomac"], m, tls=True)
    eq(rc, 0, "accepted: %s" % t[-500:])
    contains(t, "STARTTLS", "swaks used STARTTLS")
    line = log_line(CTX.sc_nomac, queue_id(t))
    check("tls=no" not in line, "TLS message logged as tls=no: %r" % line)
    contains(line, "tls=yes", "the TLS macro came by the filter's own request")
    comp = ours(delivered(tok), "X-Sender-Compliance")
    check('policy.rules="tls"' not in comp[0], "Google's TLS rule failed for a TLS message: %r" % comp[0])


def refused(port, code, xcode, text):
    """An SPF-failing message to port: refused with the reply (code,
    xcode, text: the start of the text, its lines joined), nothing delivered."""
    tok, m = message(from_addr="news@bad.test", sign=False)
    rc, t = send(port, m, mail_from="b@bad.test")
    reply = reply_after_data(t) or (None, None, "")
    check(reply[:2] == (code, xcode) and reply[2].startswith(text),
          "%s %s %s: %r\n%s" % (code, xcode, text, reply, t[-800:]))
    not_delivered(tok)


@case
def reject_spf_fail():
    # Gmail's reply to an SPF hard fail, folded into lines by the filter
    refused(CTX.ports["strict"], "550", "5.7.26", "The (E)MAIL FROM domain [bad.test] has an SPF "
            "record with a hard fail policy (-all) but it fails to pass SPF checks with the ip: "
            "[127.0.0.1]. To best protect our users from spam and phishing, the message has been "
            "blocked.")
    eq(CTX.sm.queue_files(), [], "nothing queued")


@case
def tempfail_spf_fail():
    refused(CTX.ports["tf"], "421", "4.7.27", "Your email has been rate limited because SPF "
            "authentication didn't pass for this message.")


@case
def quarantine_holds_the_message_in_sendmails_queue():
    tok, m = message(from_addr="news@bad.test", sign=False)
    rc, t = send(CTX.ports["quar"], m, mail_from="b@bad.test")
    eq((rc, (data_reply(t) or "")[:3]), (0, "250"), "accepted into quarantine")
    qid = queue_id(t)
    not_delivered(tok)
    # the queue file is a quarantined one (hf) with the reason on its q line
    held = [f for f in glob.glob(os.path.join(CTX.sm.queue, "*" + qid))]
    check(held, "no queue file for %s: %r" % (qid, os.listdir(CTX.sm.queue)))
    qf = [f for f in held if os.path.basename(f).startswith(("hf", "qf"))]
    text = open(qf[0], "rb").read().decode("latin-1")
    q = [l for l in text.splitlines() if l.startswith("q")]
    check(q and "SPF" in q[0], "quarantine reason in %s: %r" % (qf[0], q))
    p = CTX.sm.run("-bp", "-qQ")
    contains(p.stdout, qid, "mailq -qQ lists it")
    contains(log_line(CTX.sc_q, qid), "action=quarantine", "log")


@case
def milter_down_with_f_t_tempfails():
    tok, m = message()
    rc, t = send(CTX.ports["deadT"], m)
    check(re.search(r"<\*\* *4\d\d", t), "a 4xx while the filter is down (F=T): %s" % t[-800:])
    not_delivered(tok)


@case
def milter_down_without_f_accepts_unchecked():
    tok, m = message()
    rc, t = send(CTX.ports["deadA"], m)
    eq((rc, (data_reply(t) or "")[:3]), (0, "250"), "accepted: %s" % t[-600:])
    head = delivered(tok)
    eq(ours(head, "Authentication-Results"), [], "no A-R from a filter that is down")


if __name__ == "__main__":
    sys.exit(run("a real Sendmail (%s)" % BUILD,
                 start_all, teardown, context=CTX))
