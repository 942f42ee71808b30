"""Sending DMARC aggregate reports safely (issue 13 item 1: reportsend).

Real components only: Debian's unbound on a loopback port serves the
DMARC and _report._dmarc records written here; a throwaway Postfix
(tests/lib/postfix.py) takes the report mail over SMTP (ReportSMTP) or
from its sendmail command, refuses one destination with 550 and defers
another with 450 (check_recipient_access), and relays the rest to
smtp-sink, the capture mailbox whose files are read here; the state
tables live in an SQLite file and, in one case, a PostgreSQL server
started here. Sendmail 8 (Debian's packages unpacked as the sendmail
group does, tests/lib/sendmail.py) runs as ReportSendmail for the exit
statuses only a real MTA's sendmail gives (EX_NOUSER for an unknown local
user). tests/reports/reportsend_drive runs reportsend_run on report
files made here, with the rua= values each case needs. The last cases run
the whole chain: a daemon with StatsDB behind the same Postfix, mail for
policy domains sent with swaks, then sendercheck-reports without --out
sending through that Postfix and that daemon, so that the report mail
itself is filtered, stored and (as a report) never reported. Run as root:
    /usr/bin/python3 test_reports_send.py BUILDDIR
"""
import email
import email.policy
import glob
import gzip
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run, skip, built_with   # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck                                # noqa: E402
import postfix                                                # noqa: E402
from postfix import Postfix, SmtpSink, swaks, data_reply      # noqa: E402
import sendmail                                               # noqa: E402
import servers                                                # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
# Sendmail 8 (tests/lib/sendmail.py) refuses files below a directory others can write to
SM_BASE = "/run" if os.path.isdir("/run") and not os.stat("/run").st_mode & 0o022 else None
SM_DEBS = os.environ.get("SC_SENDMAIL_DEBS", "/var/cache/sendercheck-tests/sendmail")
DRIVE = os.path.join(BUILD, "tests", "reports", "reportsend_drive")
TOOL = os.path.join(BUILD, "tools", "sendercheck-reports")
WORK = tempfile.mkdtemp(prefix="sc-rsend-")
RECEIVER = "mx.receiver.test"
EMAIL = "dmarc-reports@receiver.test"
SENDER = "bounces@receiver.test"
DAY = "2026-12-01"
BEGIN, END = 1764547200, 1764633599


class Ctx:
    pass


CTX = Ctx()


def start_all():
    c = CTX
    fp = testdns.free_port
    postfix.open_up(WORK)
    z = testdns.Zone()
    z.txt("_dmarc.pol.test", "v=DMARC1; p=none; rua=mailto:dmarc@pol.test")
    z.txt("pol.test._report._dmarc.thirdparty.test", "v=DMARC1")
    z.txt("pol.test._report._dmarc.refuser.test", "v=DMARC1;")
    z.txt("pol.test._report._dmarc.notdmarc.test", "v=DMARC10")
    z.txt("pol.test._report._dmarc.spfonly.test", "v=spf1 -all")
    # a domain Sendmail 8 delivers locally (LOCAL_DOMAIN): it knows its users
    z.txt("pol.test._report._dmarc.local8.test", "v=DMARC1")
    # authorizes another policy domain, not pol.test
    z.txt("other.test._report._dmarc.wrongauth.test", "v=DMARC1")
    z.refuse("broken.test")
    # the whole chain: two policy domains with mail, the receiver's own domain
    z.txt("a.test", "v=spf1 ip4:127.0.0.1 -all")
    z.txt("_dmarc.a.test", "v=DMARC1; p=none; rua=mailto:dmarc@a.test")
    z.txt("b.test", "v=spf1 ip4:127.0.0.1 -all")
    z.txt("_dmarc.b.test", "v=DMARC1; p=reject; rua=mailto:agg@ext.test,mailto:no@unauth2.test")
    z.txt("b.test._report._dmarc.ext.test", "v=DMARC1")
    z.txt("receiver.test", "v=spf1 ip4:127.0.0.1 -all")
    z.txt("_dmarc.receiver.test", "v=DMARC1; p=none; rua=mailto:dmarc@receiver.test")
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.sink = SmtpSink(os.path.join(WORK, "sink"), fp()).start()
    access = os.path.join(WORK, "rcpt_access")
    with open(access, "w") as f:
        f.write("refuse@refuser.test 550 5.7.1 no reports wanted here\n"
                "later@pol.test 450 4.2.0 mailbox busy, try later\n")
    c.smtp_port, c.mx_port = fp(), fp()
    c.store = os.path.join(WORK, "stats.db")
    c.sc = Sendercheck(BUILD, WORK, {
        "Nameservers": c.dns.address, "VolumeFile": "", "StatsDB": c.store, "AuthservID": RECEIVER,
        "ReportOrgName": "Test Receiver", "ReportEmail": EMAIL, "ReportSender": SENDER,
        "ReportSMTP": "127.0.0.1:%d" % c.mx_port}, socket_spec="inet:%d@127.0.0.1" % fp(), name="mx")
    c.sc.start()
    milter = "inet:127.0.0.1:%s" % c.sc.socket.split(":")[1].split("@")[0]
    c.pf = Postfix(os.path.join(WORK, "postfix"), c.sink.port,
                   [(c.smtp_port, {}), (c.mx_port, {"smtpd_milters": milter})], main={
        "smtpd_recipient_restrictions": "check_recipient_access texthash:%s permit_mynetworks reject"
                                        % access}).start()
    return c


def teardown(c):
    if getattr(c, "pf", None):
        c.pf.stop()
    if getattr(c, "sc", None):
        c.sc.stop()
    for x in ("sink", "dns", "pg"):
        if getattr(c, x, None):
            getattr(c, x).stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)
        if getattr(c, "sm_dir", None):
            shutil.rmtree(c.sm_dir, ignore_errors=True)
    else:
        print("kept " + WORK)


# ---- helpers ----

def conf(name, **opts):
    o = {"AuthservID": RECEIVER, "Nameservers": CTX.dns.address, "VolumeFile": "",
         "ReportSMTP": "127.0.0.1:%d" % CTX.smtp_port, "ReportSender": SENDER, "DNSTimeout": "3"}
    o.update({k.replace("_", "-") if k.startswith("On") else k: v for k, v in opts.items()})
    path = os.path.join(WORK, name + ".conf")
    with open(path, "w") as f:
        for k, v in o.items():
            if v is not None:
                f.write("%s %s\n" % (k, v))
    return path


def report(domain, rid, size=None):
    """A report file: gzip of a small XML document, or of size random
    (incompressible) octets."""
    name = "%s!%s!%d!%d!%s.xml.gz" % (RECEIVER, domain, BEGIN, END, rid)
    path = os.path.join(WORK, name)
    body = os.urandom(size) if size else (
        '<?xml version="1.0"?><feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">'
        '<report_metadata><report_id>%s</report_id></report_metadata></feedback>' % rid).encode()
    with open(path, "wb") as f:
        f.write(gzip.compress(body))
    return path


def drive(cfg, db, reports, flags=(), env=None, email_addr=EMAIL, expect=0):
    """reports: (domain, rua, path) triples. The driver must exit with
    expect (reportsend_exit_status: 0 all done, 75 some postponed, 1 some
    failed; 2 nothing could be done) and without a sanitizer report.
    Returns (exit status, output)."""
    args = [DRIVE, cfg, db, email_addr] + list(flags)
    for domain, rua, path in reports:
        args += [domain, DAY, rua, path]
    p = evidence.run(args, expect=expect, text=True, timeout=120,
                     env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout + p.stderr


def db(name):
    return os.path.join(WORK, name + ".db")


def arrived(rid, n=1, timeout=15):
    """The captured report messages with Report-ID rid (waits for n)."""
    import time
    deadline = time.time() + timeout
    while True:
        got = CTX.sink.find("Report-ID: <%s>" % rid)
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


def settle():
    """Lets Postfix hand on what it queued (the sink is then complete)."""
    import time
    deadline = time.time() + 15
    while CTX.pf.queue_entries() and time.time() < deadline:
        time.sleep(0.1)


def rid():
    return "r" + os.urandom(6).hex()


def counts(out):
    line = [x for x in out.splitlines() if x.startswith("counts ")][-1]
    return dict(kv.split("=") for kv in line.split()[1:])


# ---- cases ----

@case
def message_has_rfc9990_shape():
    """One report to the domain's own address: the captured message has the
    RFC 9990 subject and MIME shape, the attachment is the report file
    octet for octet, the envelope sender is ReportSender, From ReportEmail,
    and Auto-Submitted keeps auto-responders quiet."""
    r = rid()
    path = report("pol.test", r)
    rc, out = drive(conf("shape"), db("shape"), [("pol.test", "mailto:dmarc@pol.test", path)])
    eq(rc, 0, "exit status\n" + out)
    got = arrived(r)
    eq(len(got), 1, "messages captured")
    raw = got[0]
    contains(raw.decode(), "X-Mail-Args: <%s>\n" % SENDER, "envelope sender")
    contains(raw.decode(), "X-Rcpt-Args: <dmarc@pol.test>", "envelope recipient")
    msg = email.message_from_bytes(raw[raw.index(b"From: "):], policy=email.policy.default)
    eq(msg["Subject"], "Report Domain: pol.test Submitter: %s Report-ID: <%s>" % (RECEIVER, r),
       "Subject")
    eq(msg["From"], EMAIL, "From")
    eq(msg["To"], "dmarc@pol.test", "To")
    eq(msg["Auto-Submitted"], "auto-generated", "Auto-Submitted")
    eq(msg.get_content_type(), "multipart/mixed", "top type")
    parts = list(msg.iter_parts())
    eq([p.get_content_type() for p in parts], ["text/plain", "application/gzip"], "parts")
    eq(parts[1].get_filename(), os.path.basename(path), "attachment name")
    eq(parts[1].get_content_disposition(), "attachment", "disposition")
    eq(parts[1].get_content(), open(path, "rb").read(), "attachment octets")
    contains(gzip.decompress(parts[1].get_content()).decode(), r, "report inside")


@case
def second_run_sends_nothing_force_sends_again():
    """The state table: a day goes once per destination; a re-run sends
    nothing, --force sends again, --dry-run sends nothing and stores nothing."""
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("again"), db("again")
    reps = [("pol.test", "mailto:dmarc@pol.test,mailto:copy@pol.test", path)]
    rc, out = drive(cfg, d, reps)
    eq((rc, counts(out)["sent"]), (0, "2"), "first run\n" + out)
    rc, out = drive(cfg, d, reps)
    eq((rc, counts(out)["sent"], counts(out)["skipped"]), (0, "0", "2"), "second run\n" + out)
    rc, out = drive(cfg, d, reps, ["--dry-run", "--force"])
    eq(counts(out)["sent"], "0", "dry run\n" + out)
    contains(out, "would send pol.test dmarc@pol.test", "dry run says what")
    rc, out = drive(cfg, d, reps, ["--force"])
    eq((rc, counts(out)["sent"]), (0, "2"), "forced run\n" + out)
    settle()
    eq(len(arrived(r, 4)), 4, "messages captured (2 + 2 forced)")
    rows = sqlite3.connect(d).execute("SELECT destination, status FROM report_sends ORDER BY 1").fetchall()
    eq(rows, [("copy@pol.test", "sent"), ("dmarc@pol.test", "sent")], "state rows")
    # a dry run on a fresh store stores nothing
    d2 = db("again-dry")
    drive(cfg, d2, reps, ["--dry-run"])
    eq(sqlite3.connect(d2).execute("SELECT count(*) FROM report_sends").fetchone()[0], 0,
       "rows after a dry run")


@case
def external_destinations_need_authorization():
    """A destination outside the policy domain's organization gets mail only
    when POLICY._report._dmarc.DEST has a v=DMARC1 record; inside it (a
    subdomain) needs none. A DNS failure postpones, never sends."""
    r = rid()
    path = report("pol.test", r)
    rua = ("mailto:a@thirdparty.test, mailto:b@unauth.test, mailto:c@notdmarc.test,"
           "mailto:d@spfonly.test")
    rua2 = "mailto:e@wrongauth.test,mailto:f@reports.pol.test,mailto:g@broken.test"
    for disc in ("treewalk", "psl"):
        cfgp = conf("ext-" + disc, DMARCDiscovery=disc)
        rc, out = drive(cfgp, db("ext-" + disc), [("pol.test", rua, path), ("pol.test", rua2, path)],
                        ["--force"], expect=75)
        eq(rc, 75, "exit status (one postponed: not an error)\n" + out)
        eq(counts(out), {"sent": "2", "queued": "0", "skipped": "4", "postponed": "1", "refused": "0",
                         "failed": "0"},
           "counts (%s)\n%s" % (disc, out))
        for who in ("b@unauth.test", "c@notdmarc.test", "d@spfonly.test", "e@wrongauth.test"):
            contains(out, "unauthorized pol.test " + who, "refused destination")
        contains(out, "postponed pol.test g@broken.test", "DNS failure")
    settle()
    got = arrived(r, 4)
    rcpts = sorted(line.split(b"<")[1].split(b">")[0].decode() for m in got
                   for line in m.splitlines() if line.startswith(b"X-Rcpt-Args:"))
    eq(rcpts, ["a@thirdparty.test", "a@thirdparty.test", "f@reports.pol.test", "f@reports.pol.test"],
       "recipients reached")


@case
def size_limits():
    """!size in rua= and ReportMaxSize: a larger message is not sent (and
    noted once); the same report goes to a destination whose limit it fits."""
    r = rid()
    path = report("pol.test", r, size=6000)
    cfg, d = conf("size"), db("size")
    rua = "mailto:small@pol.test!4k, mailto:big@pol.test!1m, mailto:exact@pol.test!9000"
    rc, out = drive(cfg, d, [("pol.test", rua, path)])
    eq(counts(out)["sent"], "1", "sent\n" + out)
    contains(out, "too-large pol.test small@pol.test", "!4k")
    contains(out, "too-large pol.test exact@pol.test", "!9000 (the message with base64 is larger)")
    rows = dict(sqlite3.connect(d).execute("SELECT destination, status FROM report_sends").fetchall())
    eq(rows, {"small@pol.test": "too-large", "big@pol.test": "sent", "exact@pol.test": "too-large"},
       "state")
    rc, out = drive(conf("size-max", ReportMaxSize="4096"), db("size-max"),
                    [("pol.test", "mailto:big@pol.test!1m", path)])
    eq(counts(out)["sent"], "0", "ReportMaxSize\n" + out)
    contains(out, "ReportMaxSize", "reason")
    settle()
    got = arrived(r, 1)
    eq(len(got), 1, "messages captured")
    contains(got[0].decode(), "X-Rcpt-Args: <big@pol.test>", "the one that fits")


@case
def refusing_destination_skipped_for_a_day():
    """A 5xx reply: the destination is remembered and skipped (even with
    --force) at the next run; a 4xx reply is tried again at the next run."""
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("refuse"), db("refuse")
    reps = [("pol.test", "mailto:refuse@refuser.test,mailto:later@pol.test", path)]
    rc, out = drive(cfg, d, reps, expect=75)
    eq((counts(out)["refused"], counts(out)["postponed"], counts(out)["failed"]), ("1", "1", "0"),
       "counts\n" + out)
    contains(out, "refused pol.test refuse@refuser.test", "5xx")
    contains(out, "550", "the reply")
    rows = sqlite3.connect(d).execute("SELECT destination, reply FROM report_refusals").fetchall()
    eq([x[0] for x in rows], ["refuse@refuser.test"], "refusals")
    rc, out = drive(cfg, d, reps, ["--force"], expect=75)
    contains(out, "skipped pol.test refuse@refuser.test: refused earlier", "second run")
    contains(out, "postponed pol.test later@pol.test", "4xx tried again")
    log = CTX.pf.read_log()
    rejects = [x for x in log.splitlines() if "reject: RCPT" in x]
    eq(len([x for x in rejects if "<refuse@refuser.test>" in x]), 1,
       "RCPT attempts for the refusing destination")
    eq(len([x for x in rejects if "<later@pol.test>" in x]), 2,
       "RCPT attempts for the deferring destination")
    # a refusal alone is an answer, recorded: the run is done (exit 0)
    rc, out = drive(cfg, db("refuse-only"), [("pol.test", "mailto:refuse@refuser.test", path)])
    eq((rc, counts(out)["refused"], counts(out)["postponed"]), (0, "1", "0"),
       "a refused destination only\n" + out)


@case
def max_per_run():
    """ReportMaxPerRun 2 with five destinations: 2, 2, then 1 per run."""
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("max", ReportMaxPerRun="2"), db("max")
    rua = ",".join("mailto:m%d@pol.test" % i for i in range(4))
    reps = [("pol.test", rua, path), ("pol.test", "mailto:m9@pol.test", path)]
    got = []
    for expect in (75, 75, 0):
        rc, out = drive(cfg, d, reps, expect=expect)
        got.append(counts(out)["sent"])
    eq(got, ["2", "2", "1"], "sent per run")
    settle()
    eq(len(arrived(r, 5)), 5, "messages captured")


@case
def hostile_rua_sends_nothing():
    """rua= values made to inject: a sendmail option, a header line, a
    second recipient, another scheme: no destination, nothing sent."""
    r = rid()
    path = report("pol.test", r)
    rua = ("mailto:-oQ/tmp/x@pol.test,mailto:a%0d%0aBcc:%20x@pol.test,"
           "mailto:a@pol.test%3e%20TO:%3cb@pol.test,mailto:a,b@pol.test!1k,https://pol.test/r,"
           "mailto:a@pol.test!10q")
    rc, out = drive(conf("hostile"), db("hostile"), [("pol.test", rua, path)])
    eq((rc, counts(out)["sent"]), (0, "0"), "nothing sent\n" + out)
    contains(out, "no-destination pol.test", "said")
    settle()
    eq(arrived(r, 1, timeout=1), [], "messages captured")


@case
def copy_and_sendmail_transport():
    """Without ReportSMTP the message goes to /usr/sbin/sendmail -i -f
    ReportSender (Postfix's, pointed at the test instance by MAIL_CONFIG);
    ReportCopyTo gets the same message. sendmail only queues: the run says
    queued, not sent, and that a refusal would come back as a bounce (the
    destination's answer is not known here), in its output, its log and
    the state row."""
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("sendmail", ReportSMTP=None, ReportCopyTo="archive@receiver.test"), db("sendmail")
    reps = [("pol.test", "mailto:dmarc@pol.test", path)]
    rc, out = drive(cfg, d, reps, env={"MAIL_CONFIG": CTX.pf.etc})
    eq((rc, counts(out)["sent"], counts(out)["queued"]), (0, "0", "1"), "queued\n" + out)
    contains(out, "queued pol.test dmarc@pol.test", "the message line")
    contains(out, "a refusal comes back as a bounce to %s" % SENDER, "what is not known, said")
    contains(out, "whether the destination accepts it is not known here", "the log line")
    rows = sqlite3.connect(d).execute("SELECT status, detail FROM report_sends").fetchall()
    eq([x[0] for x in rows], ["queued"], "state rows")
    contains(rows[0][1], "queued by /usr/sbin/sendmail; a refusal by the destination is a bounce to "
             + SENDER, "the state row's detail")
    rc, out = drive(cfg, d, reps, env={"MAIL_CONFIG": CTX.pf.etc})
    eq((rc, counts(out)["queued"], counts(out)["skipped"]), (0, "0", "1"),
       "queued counts as done for the day\n" + out)
    CTX.pf.flush()
    got = arrived(r, 2, timeout=30)
    eq(len(got), 2, "messages captured (report and copy)")
    text = b"".join(got).decode()
    contains(text, "X-Rcpt-Args: <dmarc@pol.test>", "destination")
    contains(text, "X-Rcpt-Args: <archive@receiver.test>", "copy")
    contains(text, "X-Mail-Args: <%s>\n" % SENDER, "envelope sender")


def sendmail8():
    """ReportSendmail for a real Sendmail 8 (Debian's, unpacked as the
    sendmail group does; interactive delivery, relaying to the sink, the
    domain local8.test its own): a script that runs its sendmail binary
    with the test's sendmail.cf in its DNS-confined namespace, arguments
    as given. Made once; the case skips when the packages are not here."""
    if getattr(CTX, "sm_wrapper", None):
        return CTX.sm_wrapper
    CTX.sm_dir = tempfile.mkdtemp(prefix="sc-rsend-sm-", dir=SM_BASE)
    root = os.path.join(CTX.sm_dir, "root")
    try:
        sendmail.extract(SM_DEBS, root)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        skip("no Sendmail 8 packages: %s" % e)
    sm = sendmail.Sendmail(os.path.join(CTX.sm_dir, "sm"), root, CTX.sink.port, [],
                           ["LOCAL_DOMAIN(`local8.test')dnl"])
    path = os.path.join(CTX.sm_dir, "sendmail")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s \"$@\"\n"
                % (shlex.quote(sm.env["LD_LIBRARY_PATH"]), " ".join(shlex.quote(a) for a in sm.command())))
    os.chmod(path, 0o755)
    CTX.sm_wrapper = path
    return path


@case
def sendmail8_unknown_user_is_a_refusal():
    """Real Sendmail 8 as ReportSendmail: a recipient it will never take
    (a user its local domain does not have) exits 67, EX_NOUSER: recorded
    as a refusal with a readable reason and skipped for a day, --force or
    not, like a 5xx; the run's other destination is queued and arrives."""
    wrapper = sendmail8()
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("sm8", ReportSMTP=None, ReportSendmail=wrapper), db("sm8")
    reps = [("pol.test", "mailto:nosuch@local8.test,mailto:dmarc@pol.test", path)]
    rc, out = drive(cfg, d, reps)
    eq((counts(out)["queued"], counts(out)["refused"], counts(out)["postponed"]), ("1", "1", "0"),
       "counts\n" + out)
    contains(out, "refused pol.test nosuch@local8.test: %s exit 67 (EX_NOUSER: addressee unknown)"
             % wrapper, "the refusal, readable")
    rows = sqlite3.connect(d).execute("SELECT destination, reply FROM report_refusals").fetchall()
    eq([x[0] for x in rows], ["nosuch@local8.test"], "refusals")
    contains(rows[0][1], "EX_NOUSER: addressee unknown", "the stored reason")
    rc, out = drive(cfg, d, reps, ["--force"])
    contains(out, "skipped pol.test nosuch@local8.test: refused earlier", "skipped the next run")
    eq(counts(out)["queued"], "1", "the other destination, forced\n" + out)
    # Sendmail 8 also mails the refusal back to ReportSender (a DSN holding the report)
    got = arrived(r, 3)
    rcpts = sorted(m.split(b"X-Rcpt-Args: <", 1)[1].split(b">", 1)[0].decode() for m in got)
    eq(rcpts, [SENDER, "dmarc@pol.test", "dmarc@pol.test"], "what Sendmail delivered to the sink")


@case
def sendmail8_without_its_configuration_is_a_local_fault():
    """Real Sendmail 8 whose sendmail.cf is not there exits 72 (EX_OSFILE):
    a fault of the local mail system, the same for every destination: each
    report is postponed with the status named, no destination is skipped,
    and the error is logged once per run, not once per destination."""
    wrapper = sendmail8()
    broken = os.path.join(CTX.sm_dir, "sendmail-nocf")
    with open(wrapper) as f:
        text = f.read()
    with open(broken, "w") as f:
        f.write(text.replace(os.path.join(CTX.sm_dir, "sm", "sendmail.cf"),
                             os.path.join(CTX.sm_dir, "no-such.cf")))
    os.chmod(broken, 0o755)
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("sm8-nocf", ReportSMTP=None, ReportSendmail=broken), db("sm8-nocf")
    reps = [("pol.test", "mailto:c1@pol.test,mailto:c2@pol.test", path)]
    rc, out = drive(cfg, d, reps, expect=75)
    eq((counts(out)["postponed"], counts(out)["refused"]), ("2", "0"), "counts\n" + out)
    contains(out, "postponed pol.test c2@pol.test: %s exit 72 (EX_OSFILE: critical OS file missing);"
             " a fault of the local mail system, not of the destination" % broken, "named")
    said = [x for x in out.splitlines() if "said once per run" in x]
    eq(len(said), 1, "the error, once\n" + out)
    con = sqlite3.connect(d)
    eq(con.execute("SELECT count(*) FROM report_refusals").fetchone()[0], 0, "refusals")
    eq(con.execute("SELECT count(*) FROM report_sends").fetchone()[0], 0, "state rows")
    con.close()


@case
def postfix_sendmail_faults_are_postponed_never_refusals():
    """Real Postfix sendmail failing for a reason of its own, the same for
    every destination (a main.cf value it cannot use; Postfix's sendmail
    exits 75, EX_TEMPFAIL, for each of its fatal errors, whatever status
    its source names): postponed, never a refusal (no destination skipped,
    nothing stored: once fixed, the next run sends), the status named."""
    r = rid()
    path = report("pol.test", r)
    bad = os.path.join(WORK, "pf-bad-etc")
    shutil.copytree(CTX.pf.etc, bad)
    with open(os.path.join(bad, "main.cf"), "a") as f:
        f.write("sendmail_fix_line_endings = bogus\n")
    cfg, d = conf("pfbad", ReportSMTP=None), db("pfbad")
    reps = [("pol.test", "mailto:p1@pol.test,mailto:p2@pol.test", path)]
    rc, out = drive(cfg, d, reps, env={"MAIL_CONFIG": bad}, expect=75)
    eq((counts(out)["postponed"], counts(out)["refused"]), ("2", "0"), "counts\n" + out)
    contains(out, "postponed pol.test p1@pol.test: /usr/sbin/sendmail exit 75 (EX_TEMPFAIL: temporary"
             " failure)", "the status named")
    contains(out, "invalid sendmail_fix_line_endings value", "Postfix's own message (its stderr)")
    con = sqlite3.connect(d)
    eq(con.execute("SELECT count(*) FROM report_refusals").fetchone()[0], 0, "refusals")
    eq(con.execute("SELECT count(*) FROM report_sends").fetchone()[0], 0, "state rows")
    con.close()
    rc, out = drive(cfg, d, reps, env={"MAIL_CONFIG": CTX.pf.etc})
    eq(counts(out)["queued"], "2", "fixed: the next run queues both\n" + out)


@case
def sendmail_not_installed_said_once():
    """ReportSendmail not there (exec fails in our own child): a fault
    here, said once per run as an error that says what to do, every report
    of the run failed (exit status 1), nothing stored and no destination
    skipped: once a sendmail is there, the next run sends them all."""
    r = rid()
    path = report("pol.test", r)
    missing = os.path.join(WORK, "no-mta", "sendmail")
    d = db("nosm")
    reps = [("pol.test", "mailto:n1@pol.test,mailto:n2@pol.test", path),
            ("pol.test", "mailto:n3@pol.test", path)]
    rc, out = drive(conf("nosm", ReportSMTP=None, ReportSendmail=missing), d, reps, expect=1)
    eq((counts(out)["failed"], counts(out)["postponed"], counts(out)["refused"]), ("3", "0", "0"),
       "counts\n" + out)
    said = [x for x in out.splitlines() if "said once per run" in x]
    eq(len(said), 1, "the error, once\n" + out)
    contains(said[0], "%s cannot be run (No such file or directory)" % missing, "what")
    contains(said[0], "ReportSMTP", "what to do")
    contains(out, "failed pol.test n3@pol.test: %s cannot be run" % missing, "each report's line")
    con = sqlite3.connect(d)
    eq(con.execute("SELECT count(*) FROM report_refusals").fetchone()[0], 0, "refusals")
    eq(con.execute("SELECT count(*) FROM report_sends").fetchone()[0], 0, "state rows")
    con.close()
    rc, out = drive(conf("nosm-fixed", ReportSMTP=None), d, reps, env={"MAIL_CONFIG": CTX.pf.etc})
    eq(counts(out)["queued"], "3", "installed: the next run queues them\n" + out)


@case
def sendmail_busy_is_postponed_not_missing():
    """ReportSendmail there but not startable for a passing reason (ETXTBSY:
    the file is open for writing, as while a package upgrade replaces it):
    each report is postponed (exit status 75, the timer tries again), none
    failed, nothing stored; the next run sends them."""
    r = rid()
    path = report("pol.test", r)
    busy = os.path.join(WORK, "busy-mta", "sendmail")
    os.makedirs(os.path.dirname(busy), exist_ok=True)
    shutil.copy("/usr/sbin/sendmail", busy)
    os.chmod(busy, 0o755)
    d = db("busy")
    reps = [("pol.test", "mailto:b1@pol.test", path), ("pol.test", "mailto:b2@pol.test", path)]
    writer = os.open(busy, os.O_WRONLY)     # exec now fails with ETXTBSY
    try:
        rc, out = drive(conf("busy", ReportSMTP=None, ReportSendmail=busy), d, reps, expect=75)
    finally:
        os.close(writer)
    eq((counts(out)["failed"], counts(out)["postponed"]), ("0", "2"), "counts\n" + out)
    contains(out, "%s could not be started: Text file busy" % busy, "the reason")
    check("said once per run" not in out, "not taken for a missing sendmail\n" + out)
    con = sqlite3.connect(d)
    eq(con.execute("SELECT count(*) FROM report_sends").fetchone()[0], 0, "state rows")
    con.close()
    rc, out = drive(conf("busy-fixed", ReportSMTP=None), d, reps, env={"MAIL_CONFIG": CTX.pf.etc})
    eq(counts(out)["queued"], "2", "the next run queues them\n" + out)


@case
def one_sending_run_at_a_time():
    """A run that holds the lock (the timer's, say) keeps a second one from
    sending the same day twice; a lock left by a run that died long ago is
    taken over; a dry run needs none."""
    r = rid()
    path = report("pol.test", r)
    cfg, d = conf("lock"), db("lock")
    reps = [("pol.test", "mailto:dmarc@pol.test", path)]
    drive(cfg, d, reps, ["--dry-run"])       # makes the tables
    con = sqlite3.connect(d)
    con.execute("INSERT INTO report_run_lock VALUES ('send', 'other:1:1', ?)", (int(time.time()),))
    con.commit()
    rc, out = drive(cfg, d, reps, expect=75)
    contains(out, "another sendercheck-reports run is sending", "refused, to be tried again later")
    rc, out = drive(cfg, d, reps, ["--dry-run"])
    contains(out, "would send pol.test dmarc@pol.test", "a dry run goes on")
    con.execute("UPDATE report_run_lock SET at = ?", (int(time.time()) - 13 * 3600,))
    con.commit()
    rc, out = drive(cfg, d, reps)
    eq(counts(out)["sent"], "1", "stale lock taken over\n" + out)
    eq(con.execute("SELECT count(*) FROM report_run_lock").fetchone()[0], 0, "lock released")
    con.close()
    settle()
    eq(len(arrived(r)), 1, "messages captured")


@case
def refuses_to_run_without_report_email():
    path = report("pol.test", rid())
    rc, out = drive(conf("noemail"), db("noemail"), [("pol.test", "mailto:a@pol.test", path)],
                    email_addr="", expect=2)
    contains(out, "ReportEmail is not set", "reason")


@case
def state_on_postgresql():
    """The same state table on PostgreSQL: sent once, then skipped."""
    if not built_with(BUILD, "LIBPQ"):
        skip("built without libpq")
    try:
        CTX.pg = servers.Postgres(WORK).init().start()
    except (RuntimeError, OSError) as e:
        skip("no PostgreSQL here: %s" % e)
    CTX.pg.psql(["CREATE ROLE sc LOGIN PASSWORD 'pw'", "CREATE DATABASE stats OWNER sc"])
    passfile = os.path.join(WORK, "pgpass")
    with open(passfile, "w") as f:
        f.write("127.0.0.1:%d:*:sc:pw\n" % CTX.pg.port)
    os.chmod(passfile, 0o600)
    uri = "postgresql://sc@127.0.0.1:%d/stats?passfile=%s" % (CTX.pg.port, passfile)
    r = rid()
    path = report("pol.test", r)
    reps = [("pol.test", "mailto:dmarc@pol.test", path)]
    rc, out = drive(conf("pg"), uri, reps)
    eq((rc, counts(out)["sent"]), (0, "1"), "first run\n" + out)
    rc, out = drive(conf("pg"), uri, reps)
    eq((rc, counts(out)["sent"], counts(out)["skipped"]), (0, "0", "1"), "second run\n" + out)
    eq(CTX.pg.query("SELECT destination, status FROM report_sends", db="stats"),
       [["dmarc@pol.test", "sent"]], "rows")


# ---- the whole chain: daemon, store, sendercheck-reports ----

def tool(*args, expect=0):
    p = evidence.run([TOOL] + list(args), expect=expect, timeout=120, text=True,
                     what="sendercheck-reports " + " ".join(args))
    return p.stdout + p.stderr


def stored(n, timeout=15):
    """Waits until the store holds n messages (the writer batches)."""
    deadline = time.time() + timeout
    while True:
        con = sqlite3.connect("file:%s?mode=ro" % CTX.store, uri=True, timeout=5)
        try:
            got = con.execute("SELECT count(*) FROM messages").fetchone()[0]
        except sqlite3.OperationalError:
            got = 0
        con.close()
        if got >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


def send_mail(from_addr, mail_from):
    tok = "T" + os.urandom(5).hex()
    m = mail.message([("From", " " + from_addr), ("To", " rcpt@example.net"),
                      ("Subject", " offer " + tok), ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
                      ("Message-ID", " <%s@x.test>" % tok)], "Hello.\n")
    path = os.path.join(WORK, tok + ".eml")
    with open(path, "wb") as f:
        f.write(m)
    rc, t = swaks(CTX.mx_port, path, mail_from, "rcpt@example.net")
    contains(data_reply(t), "250", "message accepted")


def captured_reports(domain):
    """(recipient, XML root) of each report message about domain that arrived."""
    out = []
    for raw in CTX.sink.find("Subject: Report Domain: %s Submitter" % domain):
        rcpt = raw.split(b"X-Rcpt-Args: <", 1)[1].split(b">", 1)[0].decode()
        msg = email.message_from_bytes(raw[raw.index(b"From: "):], policy=email.policy.default)
        att = [p for p in msg.iter_parts() if p.get_content_type() == "application/gzip"][0]
        out.append((rcpt, ET.fromstring(gzip.decompress(att.get_content()))))
    return sorted(out, key=lambda x: x[0])


def message_count(root):
    ns = "{urn:ietf:params:xml:ns:dmarc-2.0}"
    return sum(int(r.find(ns + "row/" + ns + "count").text) for r in root.iter(ns + "record"))


@case
def tool_sends_the_days_reports_once_and_never_about_reports():
    """sendercheck-reports without --out: the day's reports go to the rua=
    destinations through the MTA (authorized external one included, the
    unauthorized one not), each counting the messages sent; the report mail
    passes the daemon, which stores it as report mail: the next run finds
    no report about it (the receiver's own domain publishes rua= too),
    sends nothing again, and --force sends again."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    base = stored(0, timeout=0)
    for _ in range(2):
        send_mail("news@a.test", "bounce@a.test")
    send_mail("ceo@b.test", "ceo@b.test")
    eq(stored(base + 3), base + 3, "messages stored")
    conf = CTX.sc.conf
    out = tool("-c", conf, "--day", day)
    contains(out, "2 sent, 0 queued, 1 skipped, 0 postponed", "the run's counts")
    contains(out, "unauthorized b.test no@unauth2.test", "no _report._dmarc record")
    settle()
    a = captured_reports("a.test")
    b = captured_reports("b.test")
    eq([r for r, _ in a], ["dmarc@a.test"], "a.test's destinations")
    eq([r for r, _ in b], ["agg@ext.test"], "b.test's destinations")
    eq(message_count(a[0][1]), 2, "a.test's report counts the messages sent")
    eq(message_count(b[0][1]), 1, "b.test's report counts the messages sent")
    # the two report messages went through the daemon into the store
    eq(stored(base + 5), base + 5, "report mail stored")
    con = sqlite3.connect("file:%s?mode=ro" % CTX.store, uri=True, timeout=5)
    eq(con.execute("SELECT count(*) FROM messages WHERE dmarc_report_msg = 1").fetchone()[0], 2,
       "stored as report mail (a Subject of RFC 9990's form, DMARC pass)")
    con.close()
    check(not CTX.sink.find("Report Domain: receiver.test"), "a report about report mail")
    out = tool("-c", conf, "--day", day)
    contains(out, "0 sent", "second run\n" + out)
    check("receiver.test" not in out, "the second run reports report mail:\n" + out)
    outdir = os.path.join(WORK, "out-after")
    os.mkdir(outdir)
    tool("-c", conf, "--day", day, "--out", outdir)
    eq(sorted(f.split("!")[1] for f in os.listdir(outdir)), ["a.test", "b.test"],
       "reports of the day after the report mail")
    out = tool("-c", conf, "--day", day, "--force")
    contains(out, "2 sent", "forced run")
    settle()
    eq(len(captured_reports("a.test")) + len(captured_reports("b.test")), 4, "report messages in all")


@case
def tool_dry_run_and_yesterday():
    """--dry-run without --out says what would be sent and sends nothing;
    --day yesterday is the UTC day before today (the timer's argument)."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    before = len(glob.glob(os.path.join(CTX.sink.dir, "m.*")))
    out = tool("-c", CTX.sc.conf, "--day", day, "--dry-run", "--force")
    contains(out, "would send a.test dmarc@a.test", "dry run")
    out = tool("-c", CTX.sc.conf, "--day", "yesterday", "--dry-run")
    check("a.test" not in out, "yesterday is another day:\n" + out)
    settle()
    eq(len(glob.glob(os.path.join(CTX.sink.dir, "m.*"))), before, "messages after dry runs")


@case
def postponed_run_exits_75_until_done():
    """A postponement is not an error: with ReportMaxPerRun 1 the day's
    three destinations take three runs; each that leaves one for later
    exits 75 (EX_TEMPFAIL: run again) and says so, the run that finishes
    exits 0 (the unauthorized destination is done: skipped by a rule)."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    store = os.path.join(WORK, "postponed.db")
    shutil.copy(CTX.store, store)
    con = sqlite3.connect(store)
    con.execute("DELETE FROM report_sends")
    con.commit()
    con.close()
    conf = os.path.join(WORK, "postponed.conf")
    with open(CTX.sc.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text + "\nReportMaxPerRun 1\n")
    got = []
    for expect in (75, 75, 0):
        out = tool("-c", conf, "--db", store, "--day", day, expect=expect)
        got.append([x for x in out.splitlines() if " sent, " in x][0])
        if expect == 75:
            contains(out, "postponed reports are sent by a later run of --day %s" % day,
                     "a postponing run says what to do")
    eq(got, ["1 sent, 0 queued, 0 skipped, 2 postponed, 0 refused, 0 failed",
             "1 sent, 0 queued, 1 skipped, 1 postponed, 0 refused, 0 failed",
             "0 sent, 0 queued, 3 skipped, 0 postponed, 0 refused, 0 failed"], "the runs' counts")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("needs root (a throwaway Postfix)\n0 passed, 1 failed")
        sys.exit(1)
    if not os.path.exists(DRIVE):
        print("%s not built (make check TESTS=)\n0 passed, 1 failed" % DRIVE)
        sys.exit(1)
    sys.exit(run("report sending (%s)" % os.path.basename(BUILD),
                 start_all, teardown, context=CTX))
