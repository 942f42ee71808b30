"""sendercheck-reports --out: DMARC aggregate reports (RFC 9990) built from
the statistics store (issue 13, item 1).

Two daemons (On-DMARCFail policy, and accept) write one SQLite store behind
a throwaway Postfix (tests/lib/postfix.py) that relays to smtp-sink;
unbound serves the policy domains' records; dkimpy signs. Mail for many
policy domains goes through Postfix with swaks: aligned mail, spoofed mail
rejected, quarantined or accepted by local policy, a t=y domain, a
subdomain under its organizational domain's record, report mail (not
counted), a sender with markup characters in its HELO and DKIM selector,
and messages a third daemon tempfailed (On-DMARCFail / On-DNSError
tempfail) that the sending client then retried, or gave up on: only the
attempt that ended the delivery is counted.
Then the daemons stop (SIGTERM flushes the statistics) and
sendercheck-reports --out writes the day's reports. Each report is checked
with xmllint against RFC 9990's schema ($SENDERCHECK_TESTDATA/
dmarc-reports; without it that case is skipped), read by Mail::DMARC's
receiving parser (Debian's libmail-dmarc-perl, tests/reports/
parse_report.pl) and by ElementTree, and its counts are compared with the
messages sent. Hostile values written straight into a store (control
bytes, invalid UTF-8, markup) still give valid reports. Run as root:
    /usr/bin/python3 test_reports_build.py BUILDDIR
"""
import glob
import gzip
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run, skip, testdata   # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck                                # noqa: E402
import postfix                                                # noqa: E402
import servers                                                # noqa: E402
from postfix import Postfix, SmtpSink, swaks, data_reply      # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-reports")
PARSER = os.path.join(HERE, "parse_report.pl")
WORK = tempfile.mkdtemp(prefix="sc-reports-")
NS = "urn:ietf:params:xml:ns:dmarc-2.0"
ORG = "Example Receiver & Co <reports> \"mx\""
EMAIL = "dmarc-reports@mx.test"
HOSTILE_HELO = "evil<&\"'>.test"
HOSTILE_SEL = "x<&\"'y"

# policy domain -> its _dmarc record
RECORDS = {
    "rej.test": "v=DMARC1; p=reject; rua=mailto:dmarc@rej.test",
    "quar.test": "v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=s; "
                 "rua=mailto:a@quar.test,mailto:b@reports.test!10m",
    "none.test": "v=DMARC1; p=none; rua=mailto:r@reports.test",
    "testing.test": "v=DMARC1; p=reject; t=y; rua=mailto:t@testing.test",
    "rep.test": "v=DMARC1; p=none; rua=mailto:x@rep.test",
    "hostile.test": "v=DMARC1; p=none; rua=mailto:h@hostile.test",
    # its own organizational domain by the tree walk (psd=n); shop.test by
    # the public suffix list
    "mail.shop.test": "v=DMARC1; p=none; psd=n; rua=mailto:d@mail.shop.test",
    "norua.test": "v=DMARC1; p=none",
    "idle.test": "v=DMARC1; p=reject; rua=mailto:i@idle.test",
    # tempfailed, then retried; and tempfailed and never retried
    "retry.test": "v=DMARC1; p=reject; rua=mailto:r@retry.test",
    "flaky.test": "v=DMARC1; p=reject; rua=mailto:f@flaky.test",
    "gone.test": "v=DMARC1; p=reject; rua=mailto:g@gone.test",
}
REPORTED = {"rej.test", "quar.test", "none.test", "testing.test", "rep.test", "hostile.test",
            "mail.shop.test", "retry.test", "flaky.test"}


class Ctx:
    pass


CTX = Ctx()


def start_all():
    c = CTX
    c.daemons = []
    c.sent = {}          # policy domain -> messages sent that its report must count
    c.reports_sent = 0   # report mail, never counted
    c.tempfailed = 0     # attempts tempfailed: stored, never counted
    fp = testdns.free_port
    postfix.open_up(WORK)
    c.key = mail.RSAKey(2048, WORK)
    z = testdns.Zone()
    for d in list(RECORDS) + ["spoof.test", "news.none.test"]:
        z.txt(d, "v=spf1 ip4:127.0.0.1 -all")
        z.txt("s1._domainkey." + d, c.key.record())
    for d, rec in RECORDS.items():
        z.txt("_dmarc." + d, rec)
    z.add("news.none.test", "A", "192.0.2.7")
    z.add("1.0.0.127.in-addr.arpa", "PTR", "client.good.test")
    z.add("client.good.test", "A", "127.0.0.1")
    # a DKIM key whose DNS fails: DKIM temperror, so DMARC cannot decide
    z.refuse("dnsfail._domainkey.flaky.test")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.sink = SmtpSink(os.path.join(WORK, "sink"), fp()).start()
    c.db = os.path.join(WORK, "stats.db")
    common = {"Nameservers": c.dns.address, "VolumeFile": "", "StatsDB": c.db,
              "ReportOrgName": ORG, "ReportEmail": EMAIL}
    c.sc_policy = sc("policy", dict(common, **{"On-DMARCFail": "policy", "HostName": "mx-a"}))
    c.sc_accept = sc("accept", dict(common, **{"On-DMARCFail": "accept", "HostName": "mx-b"}))
    # a bulk sender's self-test (Mode outbound) into the same store: its own
    # mail, never in a report
    c.sc_out = sc("outbound", dict(common, **{"Mode": "outbound", "SendingIPs": "192.0.2.10",
                                               "InternalHosts": "none", "HostName": "out"}))
    c.sc_temp = sc("tempfail", dict(common, **{"On-DMARCFail": "tempfail", "On-DNSError": "tempfail",
                                                "HostName": "mx-c"}))
    c.conf = c.sc_policy.conf
    c.ports = {"policy": fp(), "accept": fp(), "out": fp(), "temp": fp()}
    smtpds = [(c.ports["policy"], {"smtpd_milters": "inet:127.0.0.1:%s" % port_of(c.sc_policy)}),
              (c.ports["accept"], {"smtpd_milters": "inet:127.0.0.1:%s" % port_of(c.sc_accept)}),
              (c.ports["out"], {"smtpd_milters": "inet:127.0.0.1:%s" % port_of(c.sc_out)}),
              (c.ports["temp"], {"smtpd_milters": "inet:127.0.0.1:%s" % port_of(c.sc_temp)})]
    c.pf = Postfix(os.path.join(WORK, "postfix"), c.sink.port, smtpds,
                   main={"milter_default_action": "tempfail"}).start()
    send_all(c)
    # SIGTERM: the statistics queue is flushed before the daemons stop
    for s in c.daemons:
        s.stop()
    c.daemons = []
    c.pf.stop()
    c.pf = None
    c.out = os.path.join(WORK, "out")
    os.mkdir(c.out)
    c.days = days_in(c.db)
    c.files = []
    for day in c.days:
        c.run = tool("-c", c.conf, "--day", day, "--out", c.out)
    c.files = sorted(glob.glob(os.path.join(c.out, "*")))
    c.parsed = {f: parse(f) for f in c.files}
    return c


def sc(name, options):
    s = Sendercheck(BUILD, WORK, options, socket_spec="inet:%d@127.0.0.1" % testdns.free_port(),
                    name=name)
    CTX.daemons.append(s)
    return s.start()


def port_of(s):
    return s.socket.split(":")[1].split("@")[0]


def teardown(c):
    if getattr(c, "pf", None):
        c.pf.stop()
    for s in getattr(c, "daemons", []):
        s.stop()
    for x in ("sink", "dns"):
        if getattr(c, x, None):
            getattr(c, x).stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("kept " + WORK)


# ---- sending ----

def message(from_addr, subject="offer", sign=None, selector="s1"):
    tok = "T" + os.urandom(5).hex()
    hdrs = [("From", " " + from_addr), ("To", " rcpt@example.net"), ("Subject", " " + subject),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <%s@x.test>" % tok)]
    m = mail.message(hdrs, "Hello.\nend of %s\n" % tok)
    if sign:
        m = mail.sign(m, sign, selector, CTX.key)
    return m


def send(port, m, mail_from, helo="client.good.test"):
    path = os.path.join(WORK, "msg-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(port, path, mail_from, "rcpt@example.net", helo=helo)
    os.unlink(path)
    reply = data_reply(t)
    check(reply is not None, "no reply to DATA: %s" % t[-1500:])
    return reply


def count(domain, n=1):
    CTX.sent[domain] = CTX.sent.get(domain, 0) + n


def send_all(c):
    pol, acc = c.ports["policy"], c.ports["accept"]
    for _ in range(3):      # aligned: DKIM and SPF pass
        contains(send(pol, message("news@rej.test", sign="rej.test"), "b@rej.test"), "250", "aligned")
        count("rej.test")
    for _ in range(2):      # spoofed: SPF passes for another domain, no signature
        contains(send(pol, message("ceo@rej.test"), "x@spoof.test"), "550", "p=reject applied")
        count("rej.test")
    contains(send(acc, message("ceo@rej.test"), "x@spoof.test"), "250", "accepted by local policy")
    count("rej.test")
    for _ in range(2):
        contains(send(pol, message("a@quar.test", sign="quar.test"), "b@quar.test"), "250", "aligned")
        count("quar.test")
    # relaxed alignment would pass (spoof.test signs? no: quar.test's own
    # subdomain would); strict: a From of quar.test, SPF for spoof.test
    send(pol, message("a@quar.test"), "x@spoof.test")
    count("quar.test")
    for _ in range(2):
        send(acc, message("a@none.test", sign="none.test"), "b@none.test")
        count("none.test")
    # a subdomain without a record of its own: none.test's record applies
    send(acc, message("a@news.none.test", sign="news.none.test"), "b@news.none.test")
    count("none.test")
    # t=y: the policy one level milder (quarantine), reason policy_test_mode
    send(pol, message("a@testing.test"), "x@spoof.test")
    count("testing.test")
    # report mail that passed DMARC is never counted; a spoofed one is
    subj = "Report Domain: example.org Submitter: rep.test Report-ID: <%s@rep.test>"
    for _ in range(2):
        send(acc, message("dmarc@rep.test", subj % os.urandom(4).hex(), sign="rep.test"), "b@rep.test")
        c.reports_sent += 1
    send(acc, message("dmarc@rep.test", subj % "forged"), "x@spoof.test")
    count("rep.test")
    send(acc, message("a@rep.test", sign="rep.test"), "b@rep.test")
    count("rep.test")
    # markup in what a sender chooses: the HELO (SPF's identity for the
    # null sender) and a DKIM selector (a signature whose key cannot be found)
    send(acc, message("a@hostile.test", sign="hostile.test"), "<>", helo=HOSTILE_HELO)
    count("hostile.test")
    send(acc, message("a@hostile.test", sign="hostile.test", selector=HOSTILE_SEL), "b@hostile.test")
    count("hostile.test")
    send(acc, message("a@mail.shop.test", sign="mail.shop.test"), "b@mail.shop.test")
    count("mail.shop.test")
    send(acc, message("a@norua.test", sign="norua.test"), "b@norua.test")
    for _ in range(2):
        send(c.ports["out"], message("news@rej.test", sign="rej.test"), "b@rej.test")
    c.outbound_sent = 2
    send_retried(c)


def tempfail(m, mail_from, what):
    """One attempt the tempfail daemon answers with 4xx: the client keeps m."""
    contains(send(CTX.ports["temp"], m, mail_from)[:1], "4", what)
    CTX.tempfailed += 1


def send_retried(c):
    """A client retrying what was tempfailed, as an MTA does from its queue
    (here the retry reaches another daemon of the site, which ends it)."""
    m = message("ceo@retry.test")
    tempfail(m, "x@spoof.test", "DMARC fail tempfailed")
    tempfail(m, "x@spoof.test", "tempfailed again on the first retry")
    contains(send(c.ports["policy"], m, "x@spoof.test"), "550", "the second retry rejected")
    count("retry.test")
    m = message("ceo@retry.test")
    tempfail(m, "x@spoof.test", "DMARC fail tempfailed")
    contains(send(c.ports["accept"], m, "x@spoof.test"), "250", "the retry accepted by local policy")
    count("retry.test")
    # the DKIM key's DNS fails and SPF is not aligned: DMARC temperror
    # (On-DNSError); the retry is accepted (there, On-DNSError accept)
    m = message("news@flaky.test", sign="flaky.test", selector="dnsfail")
    tempfail(m, "x@spoof.test", "DNS error tempfailed")
    contains(send(c.ports["accept"], m, "x@spoof.test"), "250", "the retry accepted")
    count("flaky.test")
    # tempfailed, and the sender gave up: received by nobody, in no report
    tempfail(message("ceo@gone.test"), "x@spoof.test", "DMARC fail tempfailed, never retried")


def days_in(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    days = [r[0] for r in con.execute("SELECT DISTINCT day FROM messages ORDER BY day")]
    con.close()
    return days


def tool(*args, expect=0):
    p = evidence.run([TOOL] + list(args), expect=expect, timeout=60,
                     what="sendercheck-reports " + " ".join(args))
    return p.stdout.decode() + p.stderr.decode()


# ---- reading reports ----

def parse(path):
    """(ElementTree root, XML bytes) of a .xml.gz report."""
    data = gzip.open(path).read()
    return ET.fromstring(data), data


def q(tag):
    return "{%s}%s" % (NS, tag)


def text(el, path):
    found = el.find("/".join(q(p) for p in path.split("/")))
    return None if found is None else (found.text or "")


def by_domain():
    out = {}
    for f, (root, _) in CTX.parsed.items():
        out.setdefault(text(root, "policy_published/domain"), []).append((f, root))
    return out


def report_of(domain):
    reps = by_domain().get(domain, [])
    eq(len(reps), 1, "reports for %s" % domain)
    return reps[0]


def records(root):
    out = []
    for r in root.findall(q("record")):
        out.append({
            "ip": text(r, "row/source_ip"), "count": int(text(r, "row/count")),
            "disposition": text(r, "row/policy_evaluated/disposition"),
            "dkim": text(r, "row/policy_evaluated/dkim"), "spf": text(r, "row/policy_evaluated/spf"),
            "reasons": [text(x, "type") for x in r.findall("%s/%s/%s" % (q("row"), q("policy_evaluated"),
                                                                         q("reason")))],
            "comments": [text(x, "comment") for x in r.findall("%s/%s/%s" % (q("row"), q("policy_evaluated"),
                                                                           q("reason")))],
            "header_from": text(r, "identifiers/header_from"),
            "envelope_from": text(r, "identifiers/envelope_from"),
            "auth_dkim": [(text(d, "domain"), text(d, "selector"), text(d, "result"))
                          for d in r.findall("%s/%s" % (q("auth_results"), q("dkim")))],
            "auth_spf": [(text(s, "domain"), text(s, "scope"), text(s, "result"))
                         for s in r.findall("%s/%s" % (q("auth_results"), q("spf")))],
        })
    return out


def find(recs, **want):
    return [r for r in recs if all(r[k] == v for k, v in want.items())]


# ---- cases ----

@case
def one_report_per_domain_with_rua_and_mail():
    eq(sorted(by_domain()), sorted(REPORTED), "policy domains reported (no report for "
       "norua.test: no rua=; idle.test: no mail)")
    eq(len(CTX.files), len(REPORTED), "files in --out (nothing else)")
    for d in REPORTED:
        contains(CTX.run, "(%s:" % d, "the tool names each report")


@case
def file_names_and_report_ids():
    ids = set()
    for f, (root, _) in CTX.parsed.items():
        name = os.path.basename(f)
        m = re.fullmatch(r"mx\.test!([a-z0-9.-]+)!(\d+)!(\d+)!([A-Za-z0-9]+)\.xml\.gz", name)
        check(m, "RFC 9990 file name: %r" % name)
        eq(m.group(1), text(root, "policy_published/domain"), "policy domain in the name")
        begin, end = int(text(root, "report_metadata/date_range/begin")), \
            int(text(root, "report_metadata/date_range/end"))
        eq((int(m.group(2)), int(m.group(3))), (begin, end), "BEGIN!END of %s" % name)
        eq(time.strftime("%H:%M:%S", time.gmtime(begin)), "00:00:00", "begin at midnight UTC")
        eq(end - begin, 86399, "end is the day's last second")
        check(time.strftime("%Y-%m-%d", time.gmtime(begin)) in CTX.days, "the day asked for")
        eq(m.group(4), text(root, "report_metadata/report_id"), "unique-id is the report_id")
        ids.add(m.group(4))
    eq(len(ids), len(CTX.files), "report ids are unique")


@case
def metadata_as_configured():
    for f, (root, data) in CTX.parsed.items():
        eq(root.tag, q("feedback"), "root element in the RFC 9990 namespace")
        eq(text(root, "report_metadata/org_name"), ORG, "org_name is ReportOrgName exactly")
        eq(text(root, "report_metadata/email"), EMAIL, "email is ReportEmail")
        contains(text(root, "report_metadata/generator"), "sendercheck", "generator")
        check(b"&amp; Co &lt;reports&gt;" in data, "markup in ReportOrgName escaped: %r" % data[:400])


@case
def schema_valid():
    xsd = testdata("dmarc-reports", "dmarc-xml-0.2.xsd")
    valid = 0
    for f in CTX.files:
        xml = os.path.join(WORK, os.path.basename(f)[:-3])
        with open(xml, "wb") as out:
            out.write(gzip.open(f).read())
        p = subprocess.run(["xmllint", "--noout", "--schema", xsd, xml], capture_output=True, text=True)
        check(p.returncode == 0, "%s does not validate:\n%s" % (os.path.basename(f), p.stderr[-2000:]))
        valid += 1
    print("reports validated against RFC 9990's schema: %d/%d" % (valid, len(CTX.files)))


@case
def counts_equal_messages_sent():
    counted = 0
    for d, n in sorted(CTX.sent.items()):
        _, root = report_of(d)
        got = sum(r["count"] for r in records(root))
        eq(got, n, "messages counted in %s's report" % d)
        counted += got
    con = sqlite3.connect("file:%s?mode=ro" % CTX.db, uri=True)
    out = con.execute("SELECT count(*) FROM messages WHERE host = 'out'").fetchone()[0]
    con.close()
    eq(out, CTX.outbound_sent, "outbound (self-test) messages stored, and left out of the reports")
    print("messages counted vs sent: %d/%d (and %d report messages, %d outbound self-test "
          "messages not counted)" % (counted, sum(CTX.sent.values()), CTX.reports_sent, out))


@case
def tempfailed_attempts_stored_but_not_counted():
    """A tempfailed attempt left the message with its sender: the store
    keeps the verdict (statistics count tempfails), the report counts the
    retry that ended the delivery, once, with that attempt's disposition."""
    con = sqlite3.connect("file:%s?mode=ro" % CTX.db, uri=True)
    stored = con.execute("SELECT count(*) FROM messages WHERE action = 'tempfail'").fetchone()[0]
    con.close()
    eq(stored, CTX.tempfailed, "tempfailed attempts in the store")
    _, root = report_of("retry.test")
    eq(sorted((r["count"], r["disposition"], r["reasons"]) for r in records(root)),
       [(1, "none", ["local_policy"]), (1, "reject", [])],
       "each retried message once, as its last attempt was judged")
    _, root = report_of("flaky.test")
    eq([(r["count"], r["disposition"]) for r in records(root)], [(1, "none")],
       "a message tempfailed for DNS, then accepted: once")
    check("gone.test" not in by_domain(), "no report for a domain whose only message was tempfailed")
    print("tempfailed attempts stored and not counted: %d" % stored)


@case
def policy_published_as_seen():
    want = {
        "rej.test": dict(p="reject", sp="reject", np="reject", adkim="r", aspf="r", testing="n"),
        "quar.test": dict(p="quarantine", sp="none", np="none", adkim="s", aspf="s", testing="n"),
        "none.test": dict(p="none", sp="none", np="none", adkim="r", aspf="r", testing="n"),
        "testing.test": dict(p="reject", sp="reject", np="reject", adkim="r", aspf="r", testing="y"),
    }
    for d, tags in want.items():
        _, root = report_of(d)
        for tag, v in tags.items():
            eq(text(root, "policy_published/" + tag), v, "%s policy_published %s" % (d, tag))
        eq(text(root, "policy_published/discovery_method"), "treewalk", "%s discovery (RFC 9989)" % d)


@case
def aligned_mail_records():
    _, root = report_of("rej.test")
    r = find(records(root), envelope_from="rej.test")
    eq(len(r), 1, "one record for the aligned mail")
    r = r[0]
    eq((r["ip"], r["count"], r["disposition"], r["dkim"], r["spf"]),
       ("127.0.0.1", 3, "pass", "pass", "pass"), "aligned record")
    eq(r["header_from"], "rej.test", "header_from")
    eq(r["auth_dkim"], [("rej.test", "s1", "pass")], "auth_results dkim")
    eq(r["auth_spf"], [("rej.test", "mfrom", "pass")], "auth_results spf")


@case
def spoofed_mail_dispositions():
    _, root = report_of("rej.test")
    recs = find(records(root), envelope_from="spoof.test")
    rejected = find(recs, disposition="reject")
    eq([(r["count"], r["dkim"], r["spf"], r["reasons"]) for r in rejected], [(2, "fail", "fail", [])],
       "p=reject carried out: disposition reject, no reason")
    eq(rejected[0]["auth_spf"], [("spoof.test", "mfrom", "pass")], "SPF passed, for another domain")
    eq(rejected[0]["auth_dkim"], [], "no signature")
    local = find(recs, disposition="none")
    eq([(r["count"], r["reasons"]) for r in local], [(1, ["local_policy"])],
       "accepted although p=reject: reason local_policy")
    contains(local[0]["comments"][0], "accept", "the reason's comment says what was done")
    _, root = report_of("quar.test")
    q_ = find(records(root), envelope_from="spoof.test")
    eq([(r["count"], r["disposition"], r["reasons"]) for r in q_], [(1, "quarantine", [])],
       "p=quarantine carried out")
    _, root = report_of("testing.test")
    t = records(root)
    eq([(r["count"], r["disposition"], r["reasons"]) for r in t], [(1, "quarantine", ["policy_test_mode"])],
       "t=y: one level milder, reason policy_test_mode")


@case
def subdomain_under_its_org_record():
    _, root = report_of("none.test")
    froms = sorted((r["header_from"], r["count"]) for r in records(root))
    eq(froms, [("news.none.test", 1), ("none.test", 2)], "header_from of each record")


@case
def discovery_methods_disagree():
    """RFC 9989: where the public suffix list and the tree walk choose
    different organizational domains, the report says so."""
    _, root = report_of("mail.shop.test")
    contains(text(root, "report_metadata/error"), "1 message from mail.shop.test: the organizational "
             "domain under psl would be shop.test", "the report's error element")
    _, root = report_of("rej.test")
    eq(text(root, "report_metadata/error"), None, "no error where the methods agree")


@case
def report_mail_not_counted():
    _, root = report_of("rep.test")
    recs = records(root)
    eq(sum(r["count"] for r in recs), 2, "report mail that passed DMARC is left out")
    eq(len(find(recs, envelope_from="spoof.test")), 1, "a forged report Subject (DMARC fail) is counted")


@case
def hostile_sender_values_escaped():
    f, root = report_of("hostile.test")
    data = CTX.parsed[f][1]
    recs = records(root)
    spf_domains = [s[0] for r in recs for s in r["auth_spf"]]
    selectors = [d[1] for r in recs for d in r["auth_dkim"]]
    check(HOSTILE_HELO in spf_domains, "the HELO SPF checked for <>, read back exactly: %r" % spf_domains)
    check(HOSTILE_SEL in selectors, "the selector read back exactly: %r" % selectors)
    check(b"<&" not in data and b"evil&lt;&amp;" in data, "markup escaped in the XML")
    null = [r for r in recs if any(s[0] == HOSTILE_HELO for s in r["auth_spf"])]
    eq([r["envelope_from"] for r in null], [None], "no envelope_from for <> whose HELO is not a name")


@case
def mail_dmarc_parses_every_report():
    files = sorted(CTX.parsed)
    p = subprocess.run(["perl", PARSER] + files, capture_output=True, text=True)
    check(p.returncode == 0, "Mail::DMARC could not read a report:\n%s" % p.stderr)
    lines = p.stdout.splitlines()
    eq(len(lines), len(files), "reports read by Mail::DMARC")
    for f, line in zip(files, lines):
        root = CTX.parsed[f][0]
        got = json.loads(line)
        eq(got["org_name"], ORG, "org_name read by Mail::DMARC")
        eq(got["email"], EMAIL, "email")
        eq(got["report_id"], text(root, "report_metadata/report_id"), "report_id")
        eq(got["domain"], text(root, "policy_published/domain"), "policy domain")
        eq((got["p"], got["sp"]), (text(root, "policy_published/p"), text(root, "policy_published/sp")),
           "p, sp")
        ours = records(root)
        eq(len(got["records"]), len(ours), "records in %s" % os.path.basename(f))
        for theirs, mine in zip(got["records"], ours):
            # Mail::DMARC 1.2021 knows no "pass" disposition (RFC 9990's): it reads none
            disp = "none" if mine["disposition"] == "pass" else mine["disposition"]
            eq((theirs["source_ip"], theirs["count"], theirs["disposition"], theirs["dkim"], theirs["spf"],
                theirs["reasons"], theirs["header_from"]),
               (mine["ip"], mine["count"], disp, mine["dkim"], mine["spf"], mine["reasons"],
                mine["header_from"]), "a record as Mail::DMARC read it")
            eq([(d["domain"], d["selector"], d["result"]) for d in theirs["auth_dkim"]], mine["auth_dkim"],
               "DKIM results as Mail::DMARC read them")
            eq([(s["domain"], s["scope"], s["result"]) for s in theirs["auth_spf"]], mine["auth_spf"],
               "SPF results as Mail::DMARC read them")


@case
def hostile_store_values_still_valid():
    """Rows written into a store by anyone: control bytes, invalid UTF-8,
    markup, values outside the schema's lists."""
    xsd = testdata("dmarc-reports", "dmarc-xml-0.2.xsd")
    db = os.path.join(WORK, "hostile.db")
    shutil.copy(CTX.db, db)
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(messages)")]
    row = con.execute("SELECT * FROM messages WHERE dmarc_domain = 'rej.test' LIMIT 1").fetchone()
    bad = {"dmarc_domain": "rej.test", "from_domain": b"a\x01b\xff\xfe<&]]>.test",
           "mail_from_domain": b"\xc3\x28x\x00y", "spf_domain": "\x1b[31m<script>&amp;",
           "spf": "unknown", "dkim": b"d\x7f.test:s\xe2\x82:pass -:x<y:bogus lone",
           "client_ip": "1.2.3.4\x0b", "dmarc_disposition": "discard", "dmarc_override": "because",
           "dmarc_sp": "maybe"}
    vals = list(row)
    vals[cols.index("id")] = None
    for k, v in bad.items():
        vals[cols.index(k)] = v
    con.execute("INSERT INTO messages VALUES (%s)" % ",".join("?" * len(vals)), vals)
    # a policy domain that would be a path, and one with markup
    for dom in ("../../etc/x", "a<b>.test"):
        vals[cols.index("dmarc_domain")] = dom
        con.execute("INSERT INTO messages VALUES (%s)" % ",".join("?" * len(vals)), vals)
    con.commit()
    con.close()
    out = os.path.join(WORK, "out-hostile")
    os.mkdir(out)
    day = days_in(db)[0]
    log = tool("-c", CTX.conf, "--db", db, "--day", day, "--out", out)
    contains(log, "not a domain name", "policy domains that are no names are said")
    files = os.listdir(out)
    check(all(f.startswith("mx.test!") and "/" not in f for f in files), "file names: %r" % files)
    rej = [f for f in files if "!rej.test!" in f]
    eq(len(rej), 1, "rej.test's report")
    xml = os.path.join(out, "rej.xml")
    with open(xml, "wb") as f:
        f.write(gzip.open(os.path.join(out, rej[0])).read())
    p = subprocess.run(["xmllint", "--noout", "--schema", xsd, xml], capture_output=True, text=True)
    check(p.returncode == 0, "hostile values: not valid:\n%s" % p.stderr[-2000:])
    root = ET.parse(xml).getroot()
    err = text(root, "report_metadata/error") or ""
    for part in ("sp=maybe", "unknown", "bogus", "discard"):
        contains(err, part, "the error element names the unusable stored value")
    eq(text(root, "policy_published/sp"), "reject", "an unusable sp is written as p")


def report_content(root):
    """What a report says, less its id."""
    pp = {el.tag: el.text for el in root.find(q("policy_published"))}
    return pp, sorted(json.dumps(r, sort_keys=True) for r in records(root))


@case
def postgresql_store_gives_the_same_reports():
    """The same rows in a PostgreSQL store (its schema made by a daemon):
    the same reports, field for field."""
    pg = servers.Postgres(WORK).init().start()
    try:
        pw = os.urandom(8).hex()
        pg.psql(["CREATE ROLE sc LOGIN PASSWORD '%s'" % pw, "CREATE DATABASE stats OWNER sc"])
        passfile = os.path.join(WORK, "pgpass")
        with open(passfile, "w") as f:
            f.write("127.0.0.1:%d:*:sc:%s\n" % (pg.port, pw))
        os.chmod(passfile, 0o600)
        uri = "postgresql://sc@127.0.0.1:%d/stats?passfile=%s" % (pg.port, passfile)
        d = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": uri}, name="pg").start()
        d.stop()
        con = sqlite3.connect("file:%s?mode=ro" % CTX.db, uri=True)
        cur = con.execute("SELECT * FROM messages")
        cols = [x[0] for x in cur.description]
        csv = os.path.join(pg.top, "messages.csv")

        def cell(v):
            if v is None:
                return "\\N"
            if isinstance(v, int):
                return str(v)
            return '"%s"' % str(v).replace('"', '""')
        with open(csv, "w") as f:
            for row in cur:
                f.write(",".join(cell(v) for v in row) + "\n")
        con.close()
        os.chmod(csv, 0o644)
        pg.psql("\\copy messages (%s) FROM '%s' WITH (FORMAT csv, NULL '\\N')" %
                (", ".join('"%s"' % c for c in cols), csv), db="stats")
        out = os.path.join(WORK, "out-pg")
        os.mkdir(out)
        for day in CTX.days:
            tool("-c", CTX.conf, "--db", uri, "--day", day, "--out", out)
        files = sorted(os.listdir(out))
        eq([f.rsplit("!", 1)[0] for f in files], [os.path.basename(f).rsplit("!", 1)[0] for f in CTX.files],
           "the same reports from PostgreSQL")
        for f, mine in zip(files, CTX.files):
            eq(report_content(parse(os.path.join(out, f))[0]), report_content(CTX.parsed[mine][0]),
               "the content of %s from PostgreSQL" % f)
    finally:
        pg.stop()


@case
def dry_run_and_other_days():
    out = os.path.join(WORK, "out-dry")
    os.mkdir(out)
    log = tool("-c", CTX.conf, "--day", CTX.days[0], "--out", out, "--dry-run")
    eq(os.listdir(out), [], "--dry-run writes nothing")
    contains(log, "would write", "--dry-run says what it would write")
    log = tool("-c", CTX.conf, "--day", "2001-01-01", "--out", out)
    eq(os.listdir(out), [], "a day without mail: no report")
    for bad in ("2026-02-30", "2026-13-01", "tomorrow", "2026-1-01"):   # "yesterday" is a day
        log = tool("-c", CTX.conf, "--day", bad, "--out", out, expect=2)
        contains(log, "not a date", "--day %s refused" % bad)
    log = tool("-c", CTX.conf, "--day", CTX.days[0], "--out", os.path.join(WORK, "nonexistent"),
               expect=2)
    contains(log, "not an existing directory", "--out must exist")
    log = tool("-c", CTX.conf, "--out", out, expect=2)
    contains(log, "--day", "--day is required")


@case
def store_without_report_columns():
    db = os.path.join(WORK, "old.db")
    shutil.copy(CTX.db, db)
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE messages DROP COLUMN dmarc_rua")
    con.commit()
    con.close()
    out = os.path.join(WORK, "out-old")
    os.mkdir(out)
    log = tool("-c", CTX.conf, "--db", db, "--day", CTX.days[0], "--out", out, expect=1)
    contains(log, "no dmarc_rua column", "an older store is named as such")
    eq(os.listdir(out), [], "nothing written")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("== reports-build")
        print("skip reports-build: needs root (a throwaway Postfix)")
        print("0 passed, 0 failed, 1 skipped")
        sys.exit(0)
    sys.exit(run("reports-build",
                 start_all, teardown, context=CTX))
