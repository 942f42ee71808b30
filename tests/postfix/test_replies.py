"""Each provider's exact reply, through the milter and through a real Postfix.

For every reply of policy_reply.c's table that a message can draw (Gmail's
per rule and per cause, permanent and temporary; Outlook.com's 5.7.515;
Yahoo's 5.7.9 by section) a message is made to break exactly that rule
first, and is sent twice: to the daemon over the milter protocol
(miltertest, the reply checked as the filter writes it) and through a
throwaway Postfix (tests/lib/postfix.py) with swaks, where the SMTP client
sees the code, the enhanced code and every line of the text. The expected
replies are written out here from the providers' documents, not read from
the code. Run as root:
    /usr/bin/python3 test_replies.py BUILDDIR [CASE...]
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, eq, run                      # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, run_session                   # noqa: E402
import postfix                                                # noqa: E402
from postfix import Postfix, SmtpSink, swaks, reply_after_data   # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
WORK = tempfile.mkdtemp(prefix="sc-replies-")
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]

G_GUIDE = ("To learn more about Gmail requirements for bulk email senders, visit "
           "https://support.google.com/a/answer/81126.")
G_RFC = ("For more information, go to https://support.google.com/mail/?p=RfcMessageNonCompliant "
         "and review RFC 5322 specifications.")

# ---- the replies, from Gmail's "SMTP errors and codes" (support.google.com/a/answer/3726730),
# Outlook.com's high-volume sender post (techcommunity.microsoft.com, 2025), Yahoo's "SMTP
# Error Codes" (senders.yahooinc.com/smtp-error-codes) and help article SLN7253

GMAIL = {
    "spf": ("550", "5.7.27", "This message was blocked because it didn't pass SPF authentication. "
            "Gmail requires bulk email senders to authenticate their email with SPF. Authentication "
            "results: SPF with 127.0.0.1 = did not pass. To set up SPF for your sending domains, "
            "visit https://support.google.com/a/answer/33786. " + G_GUIDE),
    "spf-temp": ("421", "4.7.27", "Your email has been rate limited because SPF authentication "
                 "didn't pass for this message. Gmail requires all bulk email senders to "
                 "authenticate their email with SPF. Authentication results: SPF bad.test with IP "
                 "address: 127.0.0.1 = Did not pass. To set up SPF for your sending domains, visit "
                 "https://support.google.com/a/answer/33786. " + G_GUIDE),
    "dkim": ("550", "5.7.30", "This message was blocked because it didn't pass DKIM authentication. "
             "Gmail requires bulk email senders to authenticate their email with DKIM. "
             "Authentication results: DKIM = did not pass. To set up DKIM for your sending "
             "domains, visit https://support.google.com/a/answer/174124. " + G_GUIDE),
    "dkim-temp": ("421", "4.7.30", "Your email has been rate limited because DKIM authentication "
                  "didn't pass for this message. Gmail requires all email bulk senders to "
                  "authenticate their email with DKIM. Authentication results: DKIM = Did not "
                  "pass. To set up DKIM for your sending domains, visit "
                  "https://support.google.com/a/answer/174124. " + G_GUIDE),
    "auth-any": ("550", "5.7.26", "This email has been blocked because the sender is "
                 "unauthenticated. Gmail requires all senders to authenticate with either SPF or "
                 "DKIM. Authentication results: DKIM = did not pass SPF [bad.test] with ip: "
                 "[127.0.0.1] = did not pass. For instructions on setting up authentication, go to "
                 "https://support.google.com/mail/answer/81126#authentication."),
    "auth-any-temp": ("421", "4.7.26", "This email has been rate limited because it is "
                      "unauthenticated. Gmail requires all senders to authenticate with either SPF "
                      "or DKIM. Authentication results: DKIM = did not pass SPF bad.test with ip: "
                      "127.0.0.1 = did not pass. To resolve this issue, go to "
                      "https://support.google.com/mail/answer/81126#authentication."),
    "dmarc-record": ("550", "5.7.40", "Your message was blocked because the sending domain "
                     "doesn't have a DMARC record or the DMARC record doesn't specify a DMARC "
                     "policy. Gmail requires all bulk email senders to add a DMARC record to their "
                     "sending domain. See Set up DMARC: https://support.google.com/a/answer/2466580. "
                     + G_GUIDE),
    "dmarc-record-temp": ("421", "4.7.40", "Your email has been rate limited because the sending "
                          "domain doesn't have a DMARC record, or the DMARC record doesn't specify "
                          "a DMARC policy. Gmail requires all bulk email senders to add a DMARC "
                          "record to their sending domain. See Set up DMARC: "
                          "https://support.google.com/a/answer/2466580. " + G_GUIDE),
    "dmarc-align": ("550", "5.7.32", "Your email was blocked because the From: header (RFC5322) in "
                    "this message isn't aligned with either the authenticated SPF or DKIM "
                    "organizational domain. Learn more about DMARC alignment: "
                    "https://support.google.com/a/answer/2466580#dmarc-alignment. " + G_GUIDE),
    "dmarc-align-temp": ("421", "4.7.32", "Your email has been rate limited because the From: "
                         "header (RFC5322) in this message isn't aligned with either the "
                         "authenticated SPF or DKIM organizational domain. Learn more about DMARC "
                         "alignment: https://support.google.com/a/answer/2466580#dmarc-alignment. "
                         + G_GUIDE),
    "iprev": ("550", "5.7.25", "This message was blocked because the sending IP address doesn't "
              "have a PTR record, or the forwarding DNS entry doesn't reference the sending IP "
              "address. Gmail requires that sending IP addresses have a PTR record. Learn more "
              "about requirements for sending IP addresses: "
              "https://support.google.com/a?p=sender-guidelines-ip. " + G_GUIDE),
    "iprev-temp": ("451", "4.7.23", "127.0.0.2 The sending IP address for this message doesn't "
                   "have a PTR record, or the PTR record's forward DNS entry doesn't match the "
                   "sending IP address. To protect users from spam, your email has been "
                   "temporarily rate limited. To learn more about IP address requirements for "
                   "sending to Gmail, visit https://support.google.com/a/answer/81126#ip. "
                   + G_GUIDE),
    "tls": ("550", "5.7.29", "This message was blocked because it wasn't sent over a TLS "
            "connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP "
            "connections. To set up TLS for email, visit https://support.google.com/a/answer/100181. "
            + G_GUIDE),
    "tls-temp": ("421", "4.7.29", "Your email has been rate limited because you're not using a TLS "
                 "connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP "
                 "connections. To set up TLS for email, visit "
                 "https://support.google.com/a/answer/100181. " + G_GUIDE),
    "format-duplicate": ("550", "5.7.1", "This message is not RFC 5322 compliant. There are "
                         "multiple Subject headers. To reduce the amount of spam sent to Gmail, "
                         "this message has been blocked. " + G_RFC),
    "format-msgid": ("550", "5.7.1", "Messages missing a valid Message-ID: header are not "
                     "accepted. " + G_RFC),
    "dmarc-policy": ("550", "5.7.26", "Unauthenticated email from reject.test is not accepted due "
                     "to domain's DMARC policy. Contact the administrator of reject.test domain if "
                     "this was legitimate email. To learn about the DMARC initiative, go to "
                     "https://support.google.com/mail/answer/2451690."),
    "dmarc-dns": ("451", "4.7.26", "Unauthenticated email from tempdmarc.test is not accepted due "
                  "to domain's DMARC policy, but temporary DNS failures prevent authentication. "
                  "Please contact the administrator of tempdmarc.test domain if this was a "
                  "legitimate email. To learn about the DMARC initiative, go to "
                  "https://support.google.com/mail/?p=DmarcRejection."),
}

MICROSOFT = {
    "good.test": ("550", "5.7.515", "Access denied, sending domain [GOOD.TEST] does not meet the "
                  "required authentication level."),
    "nodmarc.test": ("550", "5.7.515", "Access denied, sending domain [NODMARC.TEST] does not meet "
                     "the required authentication level."),
    "temp": ("451", "4.7.515", "Access denied, sending domain [GOOD.TEST] does not meet the "
             "required authentication level."),
}

YAHOO = {
    "auth": ("554", "5.7.9", "Message not accepted for policy reasons. See "
             "https://senders.yahooinc.com/smtp-error-codes/#authentication-failures"),
    "rfc": ("554", "5.7.9", "Message not accepted for policy reasons. See "
            "https://senders.yahooinc.com/smtp-error-codes/#rfc-compliance-failures"),
    "other": ("554", "5.7.9", "Message not accepted for policy reasons. See "
              "https://senders.yahooinc.com/smtp-error-codes/#5xx"),
    "temp": ("421", "4.7.9", "Message temporarily deferred for policy reasons. See "
             "https://senders.yahooinc.com/smtp-error-codes/#4xx"),
}


class Ctx:
    pass


CTX = Ctx()

# the daemons: name -> options (each behind its own Postfix smtpd)
BULK = {"BulkDetection": "always", "On-Noncompliant": "reject"}
DAEMONS = {
    "google": dict(BULK, Profiles="google"),
    "google_tf": dict(BULK, Profiles="google", **{"On-Noncompliant": "tempfail"}),
    "google_all": {"Profiles": "google", "BulkDetection": "never", "On-Noncompliant": "reject"},
    "google_all_tf": {"Profiles": "google", "BulkDetection": "never", "On-Noncompliant": "tempfail"},
    "yahoo": dict(BULK, Profiles="yahoo"),
    "yahoo_tf": dict(BULK, Profiles="yahoo", **{"On-Noncompliant": "tempfail"}),
    "microsoft": dict(BULK, Profiles="microsoft"),
    "microsoft_tf": dict(BULK, Profiles="microsoft", **{"On-Noncompliant": "tempfail"}),
    "causes": {"Profiles": "google", "On-DMARCFail": "policy", "On-DNSError": "tempfail"},
    # one cause per message, each acted on: the reply is that cause's
    "causes2": {"Profiles": "google", "On-SPFFail": "reject", "On-SPFSoftFail": "reject",
                "On-DKIMFail": "reject", "On-BadFrom": "reject", "On-DNSError": "tempfail"},
}


def start_all():
    c = CTX
    c.daemons = {}
    fp = testdns.free_port
    postfix.open_up(WORK)
    c.key = mail.RSAKey(2048, WORK)
    z = testdns.Zone()
    for d in ("good.test", "nodmarc.test", "other.test", "reject.test", "tempdmarc.test",
              "nop.test", "lowerv.test", "order.test", "twice.test"):
        z.txt(d, "v=spf1 ip4:127.0.0.0/8 -all")
        z.txt("s1._domainkey." + d, c.key.record())
    for d in ("good.test", "other.test", "bad.test"):
        z.txt("_dmarc." + d, "v=DMARC1; p=none")
    z.txt("_dmarc.reject.test", "v=DMARC1; p=reject")
    # Gmail's 5.7.40 is also "the DMARC record doesn't specify a DMARC policy":
    # a record with neither a valid p= nor a valid rua=, and TXT records at
    # _dmarc that were discarded (not DMARC1 exactly, v= not first, several)
    z.txt("_dmarc.nop.test", "v=DMARC1; sp=reject; adkim=r")
    z.txt("_dmarc.lowerv.test", "v=dmarc1; p=none")
    z.txt("_dmarc.order.test", "p=none; v=DMARC1")
    z.txt("_dmarc.twice.test", "v=DMARC1; p=none")
    z.txt("_dmarc.twice.test", "v=DMARC1; p=none; rua=mailto:d@twice.test")
    z.refuse("_dmarc.tempdmarc.test")
    z.txt("bad.test", "v=spf1 -all")
    z.txt("soft.test", "v=spf1 ~all")
    z.txt("tempspf.test", "v=spf1 include:broken.tempspf.test -all")
    z.refuse("broken.tempspf.test")
    z.refuse("s1._domainkey.tempkey.test")
    c.weak = mail.RSAKey(512, WORK)
    z.txt("weak._domainkey.good.test", c.weak.record())
    # iprev: 127.0.0.1 resolves both ways, 127.0.0.2 has no PTR
    z.add("1.0.0.127.in-addr.arpa", "PTR", "client.good.test")
    z.add("client.good.test", "A", "127.0.0.1")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.sink = SmtpSink(os.path.join(WORK, "sink"), fp()).start()
    c.cert, c.certkey = postfix.make_cert(WORK)
    # local_header_rewrite_clients empty: the loopback clients are treated as
    # a remote MX's clients are (Postfix would add a missing Message-ID for
    # its own, which it counts 127.0.0.1 among by default)
    smtpds, main = [], {"smtpd_tls_cert_file": c.cert, "smtpd_tls_key_file": c.certkey,
                        "smtpd_tls_security_level": "may", "local_header_rewrite_clients": ""}
    c.ports = {}
    for name, opts in DAEMONS.items():
        o = {"Nameservers": c.dns.address, "VolumeFile": ""}
        o.update(opts)
        s = Sendercheck(BUILD, WORK, o, socket_spec="inet:%d@127.0.0.1" % fp(), name=name)
        c.daemons[name] = s.start()
        port = s.socket.split(":")[1].split("@")[0]
        main["m_" + name] = "inet:127.0.0.1:" + port
        c.ports[name] = fp()
        smtpds.append((c.ports[name], {"smtpd_milters": "$m_" + name}))
    c.pf = Postfix(os.path.join(WORK, "postfix"), c.sink.port, smtpds, main=main).start()
    return c


def teardown(c):
    if getattr(c, "pf", None):
        c.pf.stop()
    for s in getattr(c, "daemons", {}).values():
        s.stop()
    for x in ("sink", "dns"):
        if getattr(c, x, None):
            getattr(c, x).stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def message(frm="news@good.test", sign="good.test", drop=(), dup=(), extra=()):
    tok = "R" + os.urandom(5).hex()
    hdrs = [("From", " " + frm), ("To", " rcpt@example.net"), ("Subject", " test " + tok),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <%s@good.test>" % tok)]
    hdrs = [h for h in hdrs if h[0] not in drop] + [h for h in hdrs if h[0] in dup] + list(extra)
    m = mail.message(hdrs, "Hello.\nend of %s\n" % tok)
    if sign:
        m = mail.sign(m, sign, "s1", CTX.key,
                      headers=SIGNED + [n.lower().encode() for n, _ in extra])
    return tok, m


def both(daemon, want, m, mail_from="b@good.test", tls=True, ip="127.0.0.1"):
    """The reply want (code, xcode, text) for message m, through the milter
    (miltertest) and through Postfix (the SMTP client's transcript)."""
    headers, body = mail.split(m)
    macros = {"i": "RQ" + os.urandom(3).hex().upper()}
    if tls:
        macros.update({"{tls_version}": "TLSv1.3", "{cipher}": "TLS_AES_256_GCM_SHA384"})
    r = run_session(CTX.daemons[daemon].socket, ip=ip, helo="client.good.test",
                    mail_from="<%s>" % mail_from, headers=headers, body=body, macros=macros,
                    expect_reply=want, workdir=WORK)
    check(r["reply_match"], "%s through the milter: want %r\n%s" % (daemon, want, r["stdout"]))
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(CTX.ports[daemon], path, mail_from, "rcpt@example.net", tls=tls,
                  local=None if ip == "127.0.0.1" else ip)
    eq(reply_after_data(t), want, "%s through Postfix (the client's transcript)" % daemon)


def accepted(daemon, m, mail_from="b@good.test", tls=True, ip="127.0.0.1"):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(CTX.ports[daemon], path, mail_from, "rcpt@example.net", tls=tls,
                  local=None if ip == "127.0.0.1" else ip)
    eq((rc, (reply_after_data(t) or ("",))[0]), (0, "250"), "%s accepts: %s" % (daemon, t[-600:]))


# ---- Gmail, rule by rule (the Google profile, bulk mail) ----

@case
def gmail_spf():
    both("google", GMAIL["spf"], message()[1], mail_from="b@bad.test")
    both("google_tf", GMAIL["spf-temp"], message()[1], mail_from="b@bad.test")


@case
def gmail_dkim():
    both("google", GMAIL["dkim"], message(sign=None)[1])
    both("google_tf", GMAIL["dkim-temp"], message(sign=None)[1])


@case
def gmail_unauthenticated():
    # not bulk: only "SPF or DKIM" binds
    both("google_all", GMAIL["auth-any"], message(sign=None)[1], mail_from="b@bad.test")
    both("google_all_tf", GMAIL["auth-any-temp"], message(sign=None)[1], mail_from="b@bad.test")


@case
def gmail_no_dmarc_record():
    m = message("news@nodmarc.test", sign="nodmarc.test")[1]
    both("google", GMAIL["dmarc-record"], m, mail_from="b@nodmarc.test")
    both("google_tf", GMAIL["dmarc-record-temp"], m, mail_from="b@nodmarc.test")


@case
def gmail_not_aligned():
    m = message(sign="other.test")[1]
    both("google", GMAIL["dmarc-align"], m, mail_from="b@other.test")
    both("google_tf", GMAIL["dmarc-align-temp"], m, mail_from="b@other.test")


@case
def gmail_ptr():
    both("google", GMAIL["iprev"], message()[1], ip="127.0.0.2")
    both("google_tf", GMAIL["iprev-temp"], message()[1], ip="127.0.0.2")


@case
def gmail_tls():
    both("google", GMAIL["tls"], message()[1], tls=False)
    both("google_tf", GMAIL["tls-temp"], message()[1], tls=False)


@case
def gmail_rfc5322():
    both("google", GMAIL["format-duplicate"], message(dup=("Subject",))[1])
    both("google", GMAIL["format-msgid"], message(drop=("Message-ID",))[1])


@case
def gmail_dmarc_policy_and_dns():
    # causes other than a profile's: the domain's p=reject, DMARC DNS trouble
    both("causes", GMAIL["dmarc-policy"], message("news@reject.test", sign="other.test")[1],
         mail_from="b@other.test")
    both("causes", GMAIL["dmarc-dns"], message("news@tempdmarc.test", sign="good.test")[1])


@case
def gmail_no_dmarc_policy():
    """5.7.40 / 4.7.40 also for a record that names no policy and for TXT
    records at _dmarc that discovery discarded (RFC 9989: not "v=DMARC1"
    first and exactly, or several at one name), not 5.7.26; the control,
    a p=none record, passes."""
    for d in ("nop.test", "lowerv.test", "order.test", "twice.test"):
        m = message("news@" + d, sign=d)[1]
        both("google", GMAIL["dmarc-record"], m, mail_from="b@" + d)
        both("google_tf", GMAIL["dmarc-record-temp"], m, mail_from="b@" + d)
    accepted("google", message(extra=ONECLICK)[1])


MAILTO = [("List-Unsubscribe", " <mailto:unsub@good.test?subject=unsubscribe>")]
ONECLICK = [("List-Unsubscribe", " <https://good.test/u/1>"),
            ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click")]


@case
def gmail_mailto_only_is_not_one_click():
    want = ("550", "5.7.1", "Message does not meet Google's sender requirements: mailto-only: "
            "List-Unsubscribe has only mailto: URIs. " + G_GUIDE)
    both("google", want, message(extra=MAILTO)[1])
    both("google_tf", ("451", "4.7.1", want[2] + "; try again later"), message(extra=MAILTO)[1])


@case
def gmail_rfc5322_by_kind():
    """Each RFC 5322 problem with Gmail's words for it (mail that is not
    bulk: format is the first rule it breaks), and the temporary twin."""
    blocked = " To reduce the amount of spam sent to Gmail, this message has been blocked. " + G_RFC
    both("google_all", ("550", "5.7.1", "This message is not RFC 5322 compliant because the "
                        "From: header is missing." + blocked), message(drop=("From",))[1])
    both("google_all", ("550", "5.7.1", "This message is not RFC 5322 compliant because it has "
                        "multiple From: headers." + blocked), message(dup=("From",))[1])
    both("google_all", ("554", "5.6.0", "Email message is malformed. Not accepted. " + G_RFC),
         message(drop=("Date",))[1])
    both("google_all_tf", ("451", "4.7.1", "This message is not RFC 5322 compliant. There are "
                           "multiple Subject headers." + blocked), message(dup=("Subject",))[1])


@case
def gmail_causes_each_acted_on():
    """The causes that are not a profile's rule, each acted on alone, with
    Gmail's reply for the same cause (ours where Gmail has none)."""
    both("causes2", ("550", "5.7.26", "The (E)MAIL FROM domain [bad.test] has an SPF record with "
                     "a hard fail policy (-all) but it fails to pass SPF checks with the ip: "
                     "[127.0.0.1]. To best protect our users from spam and phishing, the message "
                     "has been blocked. For more information, go to "
                     "https://support.google.com/mail/answer/81126#authentication."),
         message()[1], mail_from="b@bad.test")
    both("causes2", GMAIL["spf"], message()[1], mail_from="b@soft.test")
    # a body changed after signing: DKIM fail
    tok, m = message()
    both("causes2", GMAIL["dkim"], m.replace(b"end of", b"END OF"))
    # a 512-bit key: never a pass (RFC 8301), Gmail's DKIM reply too
    tok, m = message(sign=None)
    both("causes2", GMAIL["dkim"], mail.sign(m, "good.test", "weak", CTX.weak, headers=SIGNED))
    both("causes2", ("550", "5.7.1", "Messages missing a valid address in the From: header, or "
                     "having no From: header, are not accepted: From domain '[192.0.2.1]' is a "
                     "domain literal that names no domain. " + G_RFC),
         message("news@[192.0.2.1]")[1])
    both("causes2", ("451", "4.7.27", "DNS failure checking the SPF record of tempspf.test (DNS "
                     "query refused (REFUSED)); try again later"),
         message(sign=None)[1], mail_from="b@tempspf.test")
    both("causes2", ("451", "4.7.30", "DNS failure fetching the DKIM key of tempkey.test (DNS "
                     "query refused (REFUSED)); try again later"),
         message("news@tempkey.test", sign="tempkey.test")[1], mail_from="b@nospf.test")


# ---- Outlook.com: 5.7.515 for its three requirements, nothing else ----

@case
def microsoft_515():
    both("microsoft", MICROSOFT["good.test"], message(sign=None)[1])
    both("microsoft", MICROSOFT["nodmarc.test"], message("news@nodmarc.test",
                                                         sign="nodmarc.test")[1],
         mail_from="b@nodmarc.test")
    both("microsoft", MICROSOFT["good.test"], message(sign="other.test")[1],
         mail_from="b@other.test")
    both("microsoft_tf", MICROSOFT["temp"], message(sign=None)[1])


@case
def microsoft_515_each_requirement():
    """SPF pass and DKIM pass are each required, even where DMARC passes on
    the other one; DMARC p=none aligned passes; the control is accepted."""
    # SPF fails (bad.test -all), DKIM of good.test passes aligned: DMARC pass
    both("microsoft", MICROSOFT["good.test"], message()[1], mail_from="b@bad.test")
    # DKIM fails (a signature of a key not published), SPF passes aligned
    m = message(sign="good.test")[1].replace(b"s=s1;", b"s=s9;", 1)
    both("microsoft", MICROSOFT["good.test"], m)
    # the record exists but names no policy: not "DMARC at least p=none"
    both("microsoft", ("550", "5.7.515", "Access denied, sending domain [NOP.TEST] does not "
                       "meet the required authentication level."),
         message("news@nop.test", sign="nop.test")[1], mail_from="b@nop.test")
    accepted("microsoft", message()[1])


@case
def microsoft_recommendations_are_not_515():
    """Reverse DNS, TLS and RFC 5322 are general recommendations of
    Outlook.com, not part of its high-volume requirements."""
    accepted("microsoft", message()[1], ip="127.0.0.2")
    accepted("microsoft", message()[1], tls=False)
    accepted("microsoft", message(dup=("Subject",))[1])


# ---- Yahoo: its published codes, the section of its page ----

@case
def yahoo_replies():
    both("yahoo", YAHOO["auth"], message(sign=None)[1])
    both("yahoo", YAHOO["auth"], message("news@nodmarc.test", sign="nodmarc.test")[1],
         mail_from="b@nodmarc.test")
    both("yahoo", YAHOO["rfc"], message(dup=("Subject",))[1])
    both("yahoo", YAHOO["other"], message()[1], ip="127.0.0.2")
    both("yahoo_tf", YAHOO["temp"], message(sign=None)[1])


@case
def yahoo_dmarc_must_pass_mailto_is_enough():
    """Bulk mail must pass DMARC, not only publish a record: a p=none
    record with SPF and DKIM passing for another domain fails; a mailto:
    List-Unsubscribe is acceptable to Yahoo (Google wants one-click)."""
    both("yahoo", YAHOO["auth"], message(sign="other.test")[1], mail_from="b@other.test")
    both("yahoo", YAHOO["auth"], message("news@lowerv.test", sign="lowerv.test")[1],
         mail_from="b@lowerv.test")
    accepted("yahoo", message(extra=MAILTO)[1])
    accepted("yahoo", message(extra=ONECLICK)[1])


if __name__ == "__main__":
    sys.exit(run("provider replies through the milter and Postfix on %s" % BUILD,
                 start_all, teardown, context=CTX))
