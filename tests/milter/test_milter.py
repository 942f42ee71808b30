"""The built sendercheck daemon driven over the milter protocol by miltertest,
against Debian's unbound serving zones written here, with messages signed
at test time by dkimpy. Run: /usr/bin/python3 test_milter.py BUILDDIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, run_lua, run_session, uid_of  # noqa: E402
import pwd                                                    # noqa: E402
import testdns                                                # noqa: E402
import world                                                  # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
WORK = tempfile.mkdtemp(prefix="sc-milter-")
CLIENT = world.CLIENT
ARLIST = []            # every A-R value written, checked by the parsers at the end


class Ctx:
    pass


def setup():
    c = Ctx()
    z, c.keys = world.build(WORK)
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.blackhole = testdns.Blackhole()
    ns = c.dns.address
    c.accept = Sendercheck(BUILD, WORK, {"Nameservers": ns}, name="accept").start()
    # the second DKIM engine: every DKIM case runs through both
    c.odk = Sendercheck(BUILD, WORK, {"Nameservers": ns, "DKIMEngine": "libopendkim"},
                        name="odk").start()
    port = testdns.free_port()
    c.strict = Sendercheck(BUILD, WORK, {
        "Nameservers": ns, "On-SPFFail": "reject", "On-SPFSoftFail": "quarantine",
        "On-DKIMFail": "tempfail", "On-DNSError": "tempfail", "AddReceivedSPF": "yes"},
        socket_spec="inet:%d@127.0.0.1" % port, name="strict").start()
    c.slow = Sendercheck(BUILD, WORK, {
        "Nameservers": c.blackhole.address, "DNSTimeout": "2", "On-DNSError": "tempfail"},
        name="slow").start()
    return c


def teardown(c):
    for d in ("accept", "odk", "strict", "slow"):
        s = getattr(c, d, None)
        if s:
            s.stop()        # exit status and log judged by evidence.stopped()
    if getattr(c, "dns", None):
        c.dns.stop()
    if getattr(c, "blackhole", None):
        c.blackhole.stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def send(sc, msg, mail_from="<sender@example.com>", ip=CLIENT, helo="client.test", **kw):
    headers, body = mail.split(msg)
    r = run_session(sc.socket, ip=ip, helo=helo, mail_from=mail_from, headers=headers,
                    body=body, macros={"i": "QID%s" % os.urandom(3).hex().upper()},
                    workdir=WORK, **kw)
    check(r["rc"] == 0, "miltertest failed: %s %s" % (r["stdout"], r["stderr"]))
    ar = r["headers"].get("Authentication-Results")
    if ar:
        ARLIST.append(ar)
    return r


def ar_of(r):
    ar = r["headers"].get("Authentication-Results")
    check(ar is not None, "no Authentication-Results added: %s" % r["stdout"])
    return ar


def spf_case(c, domain, want):
    msg = mail.simple_message("user@" + domain)
    r = send(c.accept, msg, mail_from="<user@%s>" % domain)
    eq(r["eom"], "a", "EOM reply (accept)")
    contains(ar_of(r), "spf=%s" % want, "A-R for " + domain)
    contains(ar_of(r), "smtp.mailfrom=user@" + domain, "A-R identity")
    return r


@case
def spf_pass(c):
    r = spf_case(c, "spf-pass.test", "pass")
    check(ar_of(r).startswith("mx.test;"), "authserv-id first: " + ar_of(r))


@case
def spf_fail(c):
    spf_case(c, "spf-fail.test", "fail")


@case
def spf_softfail(c):
    spf_case(c, "spf-soft.test", "softfail")


@case
def spf_none(c):
    spf_case(c, "spf-none.test", "none")


@case
def spf_temperror(c):
    spf_case(c, "spf-temp.test", "temperror")


@case
def spf_permerror(c):
    spf_case(c, "spf-perm.test", "permerror")


@case
def spf_null_sender_uses_helo(c):
    msg = mail.simple_message("user@client.test")
    r = send(c.accept, msg, mail_from="<>", helo="client.test")
    contains(ar_of(r), "spf=pass", "A-R")
    contains(ar_of(r), "smtp.helo=client.test", "A-R identity for the null sender")


@case
def spf_ipv4_mapped_client(c):
    msg = mail.simple_message("user@spf-pass.test")
    r = send(c.accept, msg, mail_from="<user@spf-pass.test>", ip="::ffff:192.0.2.10")
    contains(ar_of(r), "spf=pass", "IPv4-mapped client checked as IPv4")


def dkim_send(c, msg, sc=None):
    r = send(sc or c.accept, msg, mail_from="<user@dkim.test>")
    return r, ar_of(r)


def _dkim_case(name, build, want, unwanted, engine):
    def fn(c):
        _, ar = dkim_send(c, build(c.keys), sc=c.accept if engine == "builtin" else c.odk)
        for w in want:
            contains(ar, w, "A-R of %s (%s)" % (name, engine))
        for u in unwanted:
            check(u not in ar, "A-R of %s (%s) must not hold %r: %s" % (name, engine, u, ar))
    fn.__name__ = "dkim_%s_%s" % (name, engine)
    return case(fn)


for _engine in ("builtin", "libopendkim"):
    for _name, _build, _want, _unwanted in world.DKIM_CASES:
        _dkim_case(_name, _build, _want, _unwanted, _engine)


@case
def forged_ar_removed(c):
    msg = mail.simple_message("user@spf-pass.test", extra=[
        ("Authentication-Results", " mx.test; spf=pass smtp.mailfrom=spf-pass.test; dkim=pass header.d=bank.test")])
    r = send(c.accept, msg, mail_from="<user@spf-pass.test>")
    check(r["deleted"], "A-R with our authserv-id must be deleted: " + r["stdout"])


@case
def forged_ar_removed_in_any_spelling(c):
    """The authserv-id is a domain name: a forger who writes it in another
    case, after a comment, with a version or a trailing dot is still
    matched (RFC 8601 2.5; RFC 1035 names compare without case)."""
    for spelling in ("MX.TEST", "Mx.Test", "mx.TEST", "(relay) mx.test", "mx.test 1",
                     "mx.test.", "MX.Test."):
        msg = mail.simple_message("user@spf-pass.test", extra=[
            ("Authentication-Results", " %s; dkim=pass header.d=bank.test" % spelling)])
        r = send(c.accept, msg, mail_from="<user@spf-pass.test>")
        check(r["deleted"], "A-R from %r must be deleted: %s" % (spelling, r["stdout"]))


@case
def forged_ar_removed_after_many_fields(c):
    """A forged A-R behind more fields than the header list keeps, and
    many forged copies: every copy is deleted."""
    extra = [("X-Filler", " %d" % i) for i in range(1100)]
    extra += [("Authentication-Results", " mx.test; dkim=pass header.d=bank.test")] * 70
    msg = mail.simple_message("user@spf-pass.test", extra=extra)
    headers, body = mail.split(msg)
    sc = c.accept
    lines = ['local conn = mt.connect("%s", 40, 0.25)' % sc.socket, "mt.set_timeout(60)",
             'mt.conninfo(conn, "client.test", "192.0.2.10")', 'mt.helo(conn, "client.test")',
             'mt.mailfrom(conn, "<user@spf-pass.test>")', 'mt.rcptto(conn, "<r@example.net>")']
    for n, v in headers:
        lines.append('mt.header(conn, "%s", "%s")' % (n, v.strip()))
    lines += ['mt.eoh(conn)', 'mt.bodystring(conn, "x\\r\\n")', 'mt.eom(conn)']
    lines.append('if mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") then '
                 'mt.echo("deleted-any") end')
    lines.append("mt.disconnect(conn)")
    rc, out = run_lua(lines, WORK, timeout=60)
    eq(rc, 0, "miltertest: " + out[-500:])
    contains(out, "deleted-any", "forged copies deleted")
    time.sleep(0.2)
    log = [l for l in sc.read_log().splitlines() if "removed_forged=" in l]
    check(log, "log notes removals")
    contains(log[-1], "removed_forged=70", "all 70 forged copies removed")


@case
def foreign_ar_kept(c):
    msg = mail.simple_message("user@spf-pass.test", extra=[
        ("Authentication-Results", " other.example; spf=pass smtp.mailfrom=spf-pass.test")])
    r = send(c.accept, msg, mail_from="<user@spf-pass.test>")
    check(not r["deleted"], "A-R of another authserv-id must stay: " + r["stdout"])


GMAIL_SPF_ALL = ("The (E)MAIL FROM domain [%s] has an SPF record with a hard fail policy (-all) "
                 "but it fails to pass SPF checks with the ip: [192.0.2.10]. To best protect "
                 "our users from spam and phishing, the message has been blocked. For more "
                 "information, go to https://support.google.com/mail/answer/81126#authentication.")


@case
def reject_on_spf_fail_inet_socket(c):
    msg = mail.simple_message("user@spf-fail.test")
    r = send(c.strict, msg, mail_from="<user@spf-fail.test>",
             expect_reply=("550", "5.7.26", GMAIL_SPF_ALL % "spf-fail.test"))
    check(r["eom"] in ("y", "r"), "EOM must reject, got %r" % r["eom"])
    check(r["reply_match"], "Gmail's reply to an SPF hard fail, 550 5.7.26: " + r["stdout"])


@case
def reject_text_with_percent(c):
    """An exp= text with '%' reaches the MTA intact: smfi_setreply would
    void a lone '%', so the milter writes it as '%%' (reply_wire doubles it
    here too). RFC 7208 6.2: the domain's explanation goes with the reply."""
    msg = mail.simple_message("user@spf-fail2.test")
    r = send(c.strict, msg, mail_from="<user@spf-fail2.test>",
             expect_reply=("550", "5.7.26", (GMAIL_SPF_ALL % "spf-fail2.test") +
                           " Explanation from spf-fail2.test: Denied-100%-for-192.0.2.10"))
    check(r["eom"] in ("y", "r"), "EOM must reject, got %r" % r["eom"])
    check(r["reply_match"], "reply text with '%%' kept: " + r["stdout"])


@case
def quarantine_on_softfail(c):
    msg = mail.simple_message("user@spf-soft.test")
    r = send(c.strict, msg, mail_from="<user@spf-soft.test>")
    check(r["quarantined"], "quarantine requested: " + r["stdout"])
    contains(r["headers"].get("Received-SPF"), "softfail", "Received-SPF added")


@case
def tempfail_on_dkim_fail(c):
    msg = world.signed(c.keys, "r2048").replace(b"Hello.", b"Hellx.")
    r = send(c.strict, msg, mail_from="<user@dkim.test>",
             expect_reply=("421", "4.7.30", "Your email has been rate limited because DKIM "
                           "authentication didn't pass for this message. Gmail requires all email "
                           "bulk senders to authenticate their email with DKIM. Authentication "
                           "results: DKIM = Did not pass. To set up DKIM for your sending domains, "
                           "visit https://support.google.com/a/answer/174124. To learn more about "
                           "Gmail requirements for bulk email senders, visit "
                           "https://support.google.com/a/answer/81126."))
    check(r["eom"] in ("y", "t"), "EOM must tempfail, got %r" % r["eom"])
    check(r["reply_match"], "Gmail's temporary DKIM reply, 421 4.7.30: " + r["stdout"])


@case
def received_spf_written(c):
    msg = mail.simple_message("user@spf-pass.test")
    r = send(c.strict, msg, mail_from="<user@spf-pass.test>")
    rs = r["headers"].get("Received-SPF")
    contains(rs, "pass", "Received-SPF")
    contains(rs, "client-ip=192.0.2.10", "Received-SPF")
    contains(rs, "envelope-from=\"user@spf-pass.test\"", "Received-SPF")


@case
def dns_timeout_within_budget(c):
    msg = mail.simple_message("user@spf-pass.test")
    t0 = time.time()
    r = send(c.slow, msg, mail_from="<user@spf-pass.test>", expect_reply=(
        "451", "4.7.27", "DNS failure checking the SPF record of spf-pass.test (no DNS answer in "
        "time); try again later"))
    took = time.time() - t0
    check(r["eom"] in ("y", "t"), "tempfail on DNS timeout, got %r: %s" % (r["eom"], r["stdout"]))
    check(r["reply_match"], "451 4.7.27 reply: " + r["stdout"])
    check(took < 2.0 + 1.5, "DNSTimeout 2 s must bound the check, took %.2f s" % took)


@case
def log_line_per_message(c):
    msg = mail.simple_message("user@spf-pass.test")
    send(c.accept, msg, mail_from="<user@spf-pass.test>")
    time.sleep(0.2)
    log = c.accept.read_log()
    lines = [l for l in log.splitlines() if "client=192.0.2.10" in l and "from=<user@spf-pass.test>" in l]
    check(lines, "a log line per message: " + log[-2000:])
    contains(lines[-1], "spf=pass", "log line")
    contains(lines[-1], "QID", "log line has the queue id")
    contains(lines[-1], "action=accept", "log line")


@case
def ar_headers_parse(c):
    """Every Authentication-Results written above parses with python3-authres
    and with Mail::AuthenticationResults."""
    import authres
    check(len(ARLIST) >= 10, "collected A-R values: %d" % len(ARLIST))
    for v in ARLIST:
        field = "Authentication-Results: " + v.replace("\n", "\r\n")
        try:
            authres.AuthenticationResultsHeader.parse(field)
        except Exception as e:
            raise AssertionError("python3-authres rejects %r: %s" % (v, e))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "parse_ar.pl")
    p = subprocess.run(["perl", script], input="\0".join(ARLIST).encode(), capture_output=True)
    check(p.returncode == 0, "Mail::AuthenticationResults: %s %s" % (p.stdout, p.stderr))


@case
def negotiates_no_reply_steps_and_actions(c):
    """Only the actions and steps it needs, with no-reply wherever it never
    answers early, and header values with their leading space."""
    opts = ["SMFIP_NR_HELO", "SMFIP_NR_MAIL", "SMFIP_NR_RCPT", "SMFIP_NR_HDR", "SMFIP_NR_EOH",
            "SMFIP_NR_BODY", "SMFIP_HDR_LEADSPC", "SMFIP_NOUNKNOWN"]
    # DATA is taken with a reply: its reply acknowledges the macros Postfix
    # sends for it, which otherwise stall the message ~40 ms over TCP
    not_opts = ["SMFIP_NODATA", "SMFIP_NR_DATA"]
    acts = ["SMFIF_ADDHDRS", "SMFIF_CHGHDRS", "SMFIF_QUARANTINE"]
    not_acts = ["SMFIF_CHGBODY", "SMFIF_ADDRCPT", "SMFIF_DELRCPT", "SMFIF_CHGFROM"]
    lines = ['local conn = mt.connect(%s, 40, 0.25)' % repr(c.accept.socket).replace("'", '"'),
             'if conn == nil then error("connect") end',
             'mt.conninfo(conn, "client.test", "192.0.2.10")']
    for o in opts + not_opts:
        lines.append('if mt.test_option(conn, %s) then mt.echo("opt %s") end' % (o, o))
    for a in acts + not_acts:
        lines.append('if mt.test_action(conn, %s) then mt.echo("act %s") end' % (a, a))
    lines.append("mt.disconnect(conn)")
    rc, out = run_lua(lines, WORK)
    eq(rc, 0, "miltertest: " + out)
    for o in opts:
        contains(out, "opt " + o, "negotiated step")
    for o in not_opts:
        check("opt " + o not in out, "must not negotiate " + o)
    for a in acts:
        contains(out, "act " + a, "negotiated action")
    for a in not_acts:
        check("act " + a not in out, "must not ask for " + a)


@case
def config_check_mode(c):
    sc = os.path.join(BUILD, "milter", "sendercheck")
    p = evidence.run([sc, "-n", "-c", c.accept.conf], text=True)
    contains(p.stdout, "configuration OK", "-n output")
    bad = os.path.join(WORK, "bad.conf")
    with open(bad, "w") as f:
        f.write("Socket inet:99999@127.0.0.1\n# comment\nOn-DKIMFail bounce\nNoSuchKey 1\n")
    p = evidence.run([sc, "-n", "-c", bad], expect=1, text=True)
    for want in (bad + ":1: Socket:", bad + ":3: On-DKIMFail:", bad + ":4: unknown option 'NoSuchKey'",
                 "3 problems in " + bad):
        contains(p.stderr, want, "-n errors")
    bad = os.path.join(WORK, "baduser.conf")
    with open(bad, "w") as f:
        f.write("UserID no-such-user-here\n")
    p = evidence.run([sc, "-n", "-c", bad], expect=1, text=True)
    contains(p.stderr, "no such user 'no-such-user-here'", "-n names the user")
    p = evidence.run([sc, "-V"], text=True)
    for lib in ("sendercheck ", "libmilter ", "libspf2 1.2.", "libopendkim 2."):
        contains(p.stdout, lib, "-V output")


@case
def drops_privileges_and_writes_pid_file(c):
    if os.geteuid() != 0:
        raise AssertionError("this test runs as root (the README's test command does)")
    pidf = os.path.join(WORK, "user.pid")
    sc = Sendercheck(BUILD, WORK, {"Nameservers": c.dns.address, "UserID": "nobody",
                                   "PidFile": pidf}, name="user").start()
    try:
        # the socket listens a moment before the PID file and the switch
        nobody = pwd.getpwnam("nobody").pw_uid
        deadline = time.time() + 10
        while time.time() < deadline and not (os.path.exists(pidf) and uid_of(sc.proc.pid) == nobody):
            time.sleep(0.05)
        eq(int(open(pidf).read()), sc.proc.pid, "PidFile content")
        eq(uid_of(sc.proc.pid), nobody, "runs as UserID")
        r = send(sc, mail.simple_message("user@spf-pass.test"), mail_from="<user@spf-pass.test>")
        contains(ar_of(r), "spf=pass", "works after dropping privileges")
    finally:
        eq(sc.stop(), 0, "exit status")


def _optneg_v6(port):
    """Milter option negotiation over IPv6 by hand (miltertest has no inet6):
    returns the filter's reply command and its protocol flags."""
    import socket
    import struct
    s = socket.create_connection(("::1", port), timeout=10)
    try:
        body = b"O" + struct.pack("!III", 6, 0x1ff, 0x1fffff)
        s.sendall(struct.pack("!I", len(body)) + body)
        n = struct.unpack("!I", s.recv(4))[0]
        data = b""
        while len(data) < n:
            data += s.recv(n - len(data))
        return data[:1], struct.unpack("!III", data[1:13])
    finally:
        s.close()


@case
def inet6_socket(c):
    port = testdns.free_port()
    sc = Sendercheck(BUILD, WORK, {"Nameservers": c.dns.address},
                     socket_spec="inet6:%d@::1" % port, name="six").start()
    try:
        cmd, (version, actions, proto) = _optneg_v6(port)
        eq(cmd, b"O", "option negotiation reply over inet6")
        check(actions & 0x01, "asks to add headers: %#x" % actions)
        check(proto & 0x80, "no reply for headers: %#x" % proto)
    finally:
        eq(sc.stop(), 0, "exit status")


@case
def background_mode(c):
    """Without -f it detaches, writes the PID file, and logs to syslog."""
    pidf = os.path.join(WORK, "bg.pid")
    sock = os.path.join(WORK, "bg.sock")
    conf = os.path.join(WORK, "bg.conf")
    with open(conf, "w") as f:
        f.write("Socket unix:%s\nPidFile %s\nNameservers %s\nInternalHosts none\nVolumeFile\n"
                % (sock, pidf, c.dns.address))
    san = os.path.join(WORK, "bg-sanitizer")
    evidence.run([os.path.join(BUILD, "milter", "sendercheck"), "-c", conf], timeout=20,
                 env=evidence.detached_env(san), what="sendercheck (parent)")
    deadline = time.time() + 10
    # the file exists before its line is written: wait for the whole line
    while time.time() < deadline and not (os.path.exists(sock) and os.path.exists(pidf)
                                          and open(pidf).read().endswith("\n")):
        time.sleep(0.05)
    pid = int(open(pidf).read())
    try:
        r = run_session("unix:" + sock, ip=world.CLIENT, mail_from="<user@spf-pass.test>",
                        headers=mail.split(mail.simple_message("user@spf-pass.test"))[0],
                        body=b"x\r\n", workdir=WORK)
        contains(r["headers"].get("Authentication-Results"), "spf=pass", "background daemon answers")
    finally:
        os.kill(pid, 15)
        deadline = time.time() + 15
        while time.time() < deadline and os.path.exists("/proc/%d" % pid):
            time.sleep(0.1)
    check(not os.path.exists("/proc/%d" % pid), "daemon ended on SIGTERM")
    check(not os.path.exists(pidf), "PID file removed at exit")
    evidence.check_detached("sendercheck in the background", san)


@case
def daemons_stop_cleanly(c):
    """SIGTERM ends each daemon with status 0 and no sanitizer report
    (judged by evidence.stopped(), which fails this case otherwise)."""
    for d in ("accept", "odk", "strict", "slow"):
        getattr(c, d).proc.send_signal(15)
    for d in ("accept", "odk", "strict", "slow"):
        eq(getattr(c, d).stop(), 0, "%s exit status" % d)


if __name__ == "__main__":
    sys.exit(run("milter protocol (miltertest)", setup, teardown))
