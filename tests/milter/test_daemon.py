"""The daemon as an admin runs it: libmilter limits (slow clients, session
bound, data size), header fields as large as Postfix passes, what each MTA
negotiated kept per connection, signals and reload, config files that are
not regular files, the PID file. The built daemon over the milter protocol
(milterproto, miltertest) against unbound, messages signed by dkimpy.
Run: /usr/bin/python3 test_daemon.py BUILDDIR
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, uid_of                        # noqa: E402
import milterproto                                            # noqa: E402
from milterproto import Session, Closed                       # noqa: E402
import testdns                                                # noqa: E402
import world                                                  # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
WORK = tempfile.mkdtemp(prefix="sc-daemon-")
DAEMON = os.path.join(BUILD, "milter", "sendercheck")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")


def _sanitized(build):
    try:
        return "-fsanitize" in open(os.path.join(build, "Makefile")).read()
    except OSError:
        return False


# sanitizer builds run several times slower: scale waits, never the limits
SLOW = 4 if _sanitized(BUILD) else 1


class Ctx:
    pass


def setup():
    c = Ctx()
    z, c.keys = world.build(WORK)
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.daemons = []
    return c


def teardown(c):
    for s in getattr(c, "daemons", []):
        rc = s.stop()
        if rc not in (0, None):
            print("note: %s exited %s; log:\n%s" % (s.conf, rc, s.read_log()[-3000:]))
    if getattr(c, "dns", None):
        c.dns.stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def daemon(c, name, options=None, start=True):
    opts = {"Nameservers": c.dns.address}
    opts.update(options or {})
    s = Sendercheck(BUILD, WORK, opts, name=name)
    c.daemons.append(s)
    return s.start() if start else s


def stopped_cleanly(s):
    """SIGTERM: status 0 (evidence.stopped, through stop(), also fails the
    case on a sanitizer report in its log)."""
    eq(s.stop(), 0, "exit status")


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def wait_until(cond, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def log_has(s, text, timeout=5):
    return wait_until(lambda: text in s.read_log(), timeout * SLOW)


def one_message(spec, msg, sender="<user@dkim.test>", offer=milterproto.POSTFIX, qid=None):
    """One session, one message: (final reply command, added fields)."""
    sess = Session(spec, offer=offer, timeout=30 * SLOW)
    try:
        sess.negotiate()
        sess.conn()
        sess.helo()
        headers, body = mail.split(msg)
        final, added, _ = sess.message(headers, body, sender=sender,
                                       qid=qid or "Q" + os.urandom(4).hex().upper())
        return final[0], added
    finally:
        sess.close()


# ---- header fields as large as Postfix lets through ----

def big_field_message(keys, size, name="Cc"):
    m = mail.simple_message("user@dkim.test", extra=[(name, mail.address_list(size))])
    return mail.sign(m, "dkim.test", "r2048", keys["r2048"],
                     headers=(b"from", b"to", b"subject", b"date", b"message-id", name.lower().encode()))


@case
def big_signed_fields_verify_through_the_milter(c):
    """A signed Cc of 68 KB (the reported case), 100 KB (just under Postfix's
    header_size_limit 102400) and 300 KB (an admin who raised it) passes DKIM
    as dkimpy verifies it: no internal limit below what the MTA passes."""
    import dkim
    sc = daemon(c, "bigfields")
    for size in (68 * 1024, 100 * 1024, 300 * 1024):
        msg = big_field_message(c.keys, size)
        check(dkim.verify(msg, dnsfunc=lambda name, timeout=5: c.keys["r2048"].record().encode()),
              "dkimpy verifies the %d-byte case" % size)
        cmd, added = one_message(sc.socket, msg)
        eq(cmd, b"a", "accepted (%d bytes)" % size)
        ar = added.get("Authentication-Results", "")
        contains(ar, "dkim=pass", "A-R for a %d-byte signed Cc" % size)
    stopped_cleanly(sc)


@case
def big_signed_fields_verify_offline(c):
    """The same messages through sendercheck-test (same engine, from a file)."""
    conf = os.path.join(WORK, "tool.conf")
    with open(conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\n" % c.dns.address)
    for size in (68 * 1024, 100 * 1024, 300 * 1024):
        path = os.path.join(WORK, "big-%d.eml" % size)
        with open(path, "wb") as f:
            f.write(big_field_message(c.keys, size, name="Cc" if size != 100 * 1024 else "X-Long"))
        p = subprocess.run([TOOL, "-c", conf, "--ip", world.CLIENT, "--helo", "client.test",
                            "--mail-from", "user@dkim.test", path], capture_output=True, text=True,
                           timeout=60 * SLOW)
        eq(p.returncode, 0, "sendercheck-test exit (%s)" % p.stderr[-500:])
        contains(p.stdout, "dkim=pass", "offline verdict for a %d-byte signed field" % size)


# ---- libmilter limits ----

def stalled_clients(spec, n):
    """n connections stalled three ways: half a length prefix, half a
    negotiation, and a negotiated session stuck inside a header command.
    Returns [(socket, time it stalled)]."""
    import struct
    out = []
    for i in range(n):
        if i % 3 == 2:
            sess = Session(spec, timeout=60)
            sess.negotiate()
            sess.conn()
            sess.sock.sendall(milterproto.packet(b"L", b"Subject\0" + b"x" * 5000 + b"\0")[:2000])
            out.append((sess.sock, time.time()))
            continue
        s = milterproto.connect(spec, timeout=60)
        if i % 3 == 0:
            s.sendall(b"\x00\x00")
        else:
            s.sendall(milterproto.packet(b"O", struct.pack("!III", 6, 0x1ff, 0x1fffff))[:9])
        out.append((s, time.time()))
    return out


def wait_dropped(stalled, timeout):
    """{socket: seconds from its stall to the filter closing it}."""
    import select
    dropped = {}
    deadline = time.time() + timeout
    while len(dropped) < len(stalled) and time.time() < deadline:
        ready, _, _ = select.select([s for s, _ in stalled if s not in dropped], [], [], 0.05)
        now = time.time()
        for s in ready:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                dropped[s] = now - dict(stalled)[s]
    return dropped


# A stalled client's clock starts when it stalls, MilterTimeout's when a
# libmilter worker starts reading its command. In between lies the worker
# pool's dispatch (worker.c; Debian builds libmilter with the pool): a
# session that turns ready while the pool counts an idle worker is marked
# for that worker, and when many turn ready in one round (the pool's
# threads were not scheduled meanwhile: load) they are all marked for the
# few idle workers, each of which then takes them one after the other, so
# the k-th stalled session in such a queue is dropped k MilterTimeouts
# after it stalled. Made visible by stopping the daemon (SIGSTOP) while 40
# clients stall, then letting it go on: drops at 3, 3, 6, 6, 9, 9 ... 57 s
# with MilterTimeout 3 (two idle workers). Unloaded, every session gets a
# worker of its own at once (all 150 dropped at 3.0 s); at load ~12 one
# was dropped after 18 s. So the typical client (the median) must be
# dropped close to MilterTimeout, which shows the setting at work (its
# default is 7210 s), and every one within this many MilterTimeouts.
LIBMILTER_QUEUE_TIMEOUTS = 10


@case
def slow_clients_neither_block_others_nor_hold_threads(c):
    """150 clients stall mid-command (what held 800 threads for 2 hours).
    Others are served meanwhile; each stalled client is dropped after
    MilterTimeout (the median close to it, none before it, none later than
    libmilter's worker queue explains: LIBMILTER_QUEUE_TIMEOUTS), and the
    worker threads it held are given back."""
    timeout = 3
    sc = daemon(c, "slow", {"MilterTimeout": str(timeout)})
    pid = sc.proc.pid
    # one session first: the socket listens before libmilter's pool runs
    eq(one_message(sc.socket, mail.simple_message("user@spf-pass.test"),
                   sender="<user@spf-pass.test>")[0], b"a", "warm-up message")
    before = threads(pid)
    peak = [before]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            try:
                peak[0] = max(peak[0], threads(pid))
            except OSError:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stalled = stalled_clients(sc.socket, 150)
    # others are served while the stalled ones wait
    t1 = time.time()
    cmd, added = one_message(sc.socket, mail.simple_message("user@spf-pass.test"),
                             sender="<user@spf-pass.test>")
    served_in = time.time() - t1
    eq(cmd, b"a", "a normal session is answered")
    contains(added.get("Authentication-Results"), "spf=pass", "and judged")
    latest = LIBMILTER_QUEUE_TIMEOUTS * timeout + 5 * SLOW
    dropped = wait_dropped(stalled, latest + 10 * SLOW)
    sampling.set()
    sampler.join()
    for s, _ in stalled:
        s.close()
    # libmilter lets idle workers go after ~10 s with nothing to do
    released = wait_until(lambda: threads(pid) <= before + 3, 25 * SLOW, step=0.5)
    after = threads(pid)
    times = sorted(dropped.values())
    median = times[len(times) // 2] if times else -1
    print("  figures: threads %d idle, %d at most with 150 stalled clients, %d after; stalled clients "
          "dropped %.1f-%.1f s (median %.1f) after they stalled (MilterTimeout %d); a normal session "
          "meanwhile served in %.2f s" % (before, peak[0], after, times[0] if times else -1,
                                         times[-1] if times else -1, median, timeout, served_in))
    check(served_in < timeout, "served in %.2f s, before the stalled ones time out" % served_in)
    eq(len(dropped), len(stalled), "stalled clients dropped")
    check(times[0] >= timeout - 0.5, "dropped %.2f s after stalling: before MilterTimeout" % times[0])
    check(median <= timeout + 5 * SLOW, "the median client dropped %.2f s after stalling: long after "
          "MilterTimeout" % median)
    check(times[-1] <= latest, "dropped %.2f s after stalling: later than %d MilterTimeouts in "
          "libmilter's worker queue explain" % (times[-1], LIBMILTER_QUEUE_TIMEOUTS))
    check(peak[0] >= before + 30, "the stalled clients did hold workers (%d -> %d)" % (before, peak[0]))
    check(released, "threads back to %d (+3), still %d" % (before, after))
    stopped_cleanly(sc)


def open_session(spec):
    sess = Session(spec, timeout=20 * SLOW)
    sess.negotiate()
    return sess, sess.conn()


def served(sess, reply):
    """A session within MilterMaxSessions: CONNECT negotiated as a no-reply
    step (the filter answers nothing there), the rest of it works."""
    if not sess.steps & milterproto.SMFIP_NR_CONN or reply is not None:
        return False
    sess.helo()
    sess.macro(b"M", {"i": "QBOUND"})
    sess.mail("<user@spf-pass.test>")
    sess.rcpt("<rcpt@example.net>")
    return sess.data() == (b"c", b"")


@case
def session_bound_tempfails_the_excess(c):
    """MilterMaxSessions 3: a fourth session is told to try again later
    (451 4.3.2) at connect: for it alone CONNECT is negotiated with a reply
    (the others need none there); once one ends, a new one is served."""
    sc = daemon(c, "bound", {"MilterMaxSessions": "3"})
    held = [open_session(sc.socket) for _ in range(3)]
    for sess, reply in held:
        check(served(sess, reply), "sessions within the bound continue, no reply at connect")
    extra, reply = open_session(sc.socket)
    check(not extra.steps & milterproto.SMFIP_NR_CONN, "the fourth session: connect with a reply")
    eq(reply[0], b"y", "the fourth session gets a reply code")
    contains(reply[1].decode(), "451 4.3.2", "tempfail with 4.3.2")
    extra.close()
    held[0][0].close()
    ok = wait_until(lambda: served(*open_session(sc.socket)), 5 * SLOW, step=0.2)
    check(ok, "a session is served again once one ended")
    for sess, _ in held[1:]:
        sess.close()
    check(log_has(sc, "MilterMaxSessions 3 reached"), "the log says why")
    stopped_cleanly(sc)


@case
def data_size_admits_postfix_header_size_limit(c):
    """libmilter's default 64 KB command limit dropped the connection on any
    larger field (then Postfix applies milter_default_action). An unsigned
    100 KB field is taken and judged like any message."""
    sc = daemon(c, "datasize")
    msg = mail.simple_message("user@spf-pass.test", extra=[("X-Big", " " + "y" * (100 * 1024 - 10))])
    cmd, added = one_message(sc.socket, msg, sender="<user@spf-pass.test>")
    eq(cmd, b"a", "accepted")
    contains(added.get("Authentication-Results"), "spf=pass", "judged")
    stopped_cleanly(sc)


# ---- InternalHosts: accepted unchecked, at the first step that replies ----

def internal_session(c, offer, nmsg=2):
    """Sessions from an InternalHosts client (127.0.0.0/8): the replies at
    connect and at DATA of each message, and the daemon's log."""
    sc = daemon(c, "internal-%x" % offer[1], {"InternalHosts": "127.0.0.0/8", "LogLevel": "debug"})
    sess = Session(sc.socket, offer=offer, timeout=20 * SLOW)
    try:
        sess.negotiate()
        at_connect = sess.conn(ip="127.0.0.5")
        at_data = []
        for i in range(nmsg if at_connect in (None, (b"c", b"")) else 0):
            if i == 0:
                sess.helo()
            sess.macro(b"M", {"i": "QINT%d" % i})
            sess.mail("<user@spf-fail.test>")
            sess.rcpt("<rcpt@example.net>")
            at_data.append(sess.data())
    finally:
        sess.close()
    log_has(sc, "not checked")
    return sess, at_connect, at_data, sc


@case
def internal_client_accepted_at_data_with_no_reply_connect(c):
    """Postfix (CONNECT negotiated as a no-reply step): an InternalHosts
    client's every message is accepted unchecked at DATA, so the MTA sends
    neither header nor body."""
    sess, at_connect, at_data, sc = internal_session(c, milterproto.POSTFIX)
    check(sess.steps & milterproto.SMFIP_NR_CONN, "CONNECT negotiated as a no-reply step")
    eq(at_connect, None, "nothing answered at connect")
    eq(at_data, [(b"a", b""), (b"a", b"")], "each message accepted at DATA")
    contains(sc.read_log(), "client 127.0.0.5 is in InternalHosts: not checked", "the log says why")
    stopped_cleanly(sc)


@case
def internal_client_accepted_at_data_without_no_reply_connect(c):
    """An MTA that does not offer a no-reply CONNECT (one that offers the
    other no-reply steps, and one without any) gets "continue" at connect
    (libmilter answers for the no-reply step it cannot give that MTA) and
    each message accepted unchecked at DATA."""
    for offer in ((0x1ff, 0x1fffff & ~milterproto.SMFIP_NR_CONN), milterproto.OLD_MTA):
        sess, at_connect, at_data, sc = internal_session(c, offer)
        check(not sess.steps & milterproto.SMFIP_NR_CONN, "no no-reply CONNECT (offer %#x)" % offer[1])
        eq(at_connect, (b"c", b""), "continue at connect (offer %#x)" % offer[1])
        eq(at_data, [(b"a", b""), (b"a", b"")], "each message accepted at DATA (offer %#x)" % offer[1])
        stopped_cleanly(sc)


@case
def connect_is_no_reply_only_where_offered(c):
    """CONNECT is a no-reply step with an MTA that offers it, and answered
    ("continue") for one that does not; a message goes through either way."""
    sc = daemon(c, "nrconn")
    without = (0x1ff, 0x1fffff & ~milterproto.SMFIP_NR_CONN)
    for offer, want in ((milterproto.POSTFIX, None), (without, (b"c", b"")),
                        (milterproto.OLD_MTA, (b"c", b""))):
        sess = Session(sc.socket, offer=offer, timeout=20 * SLOW)
        try:
            sess.negotiate()
            eq(sess.conn(ip="192.0.2.10"), want, "reply at connect (offer %#x)" % offer[1])
            sess.helo()
            headers, body = mail.split(mail.simple_message("user@spf-pass.test"))
            final, added, _ = sess.message(headers, body, sender="<user@spf-pass.test>")
            eq(final[0], b"a", "accepted (offer %#x)" % offer[1])
            contains(added.get("Authentication-Results"), "spf=pass", "judged (offer %#x)" % offer[1])
        finally:
            sess.close()
    stopped_cleanly(sc)


# ---- what each MTA negotiated is kept per connection ----

@case
def negotiated_options_are_per_connection(c):
    """An MTA without macro requests (older Sendmail) negotiates first, then
    Postfix (with them). The first one's message still counts a missing
    {tls_version} as "unknown", not "no TLS"; Postfix's as "no"; and the
    old MTA gets a reply for every step it sent."""
    sc = daemon(c, "negotiation")
    old = Session(sc.socket, offer=milterproto.OLD_MTA)
    old.negotiate()
    pf = Session(sc.socket)
    pf.negotiate()
    check(not old.steps & milterproto.SMFIP_NR_HELO, "the old MTA was not offered no-reply steps")
    check(pf.steps & milterproto.SMFIP_NR_HELO, "Postfix gets no-reply steps")
    eq(old.conn()[0], b"c", "old MTA: connect answered")
    pf.conn()
    eq(old.helo()[0], b"c", "old MTA: HELO answered after Postfix negotiated no-reply HELO")
    pf.helo()
    headers, body = mail.split(mail.simple_message("user@spf-pass.test"))
    final_old, added_old, _ = old.message(headers, body, sender="<user@spf-pass.test>", qid="OLDMTA1")
    final_pf, added_pf, _ = pf.message(headers, body, sender="<user@spf-pass.test>", qid="POSTFIX1")
    eq(final_old[0], b"a", "old MTA's message accepted")
    eq(final_pf[0], b"a", "Postfix's message accepted")
    old.close()
    pf.close()
    check(log_has(sc, "POSTFIX1"), "log lines written")
    lines = sc.read_log().splitlines()
    old_line = [l for l in lines if "OLDMTA1" in l]
    pf_line = [l for l in lines if "POSTFIX1" in l]
    check(old_line and pf_line, "one log line each")
    contains(old_line[0], "tls=unknown", "the MTA that takes no macro requests: TLS unknown")
    contains(pf_line[0], "tls=no", "Postfix sent no {tls_version} when asked: no TLS")
    stopped_cleanly(sc)


# ---- signals and reload ----

def write_conf(s, options):
    """Writes s's config file anew, as Sendercheck() first did, with options."""
    name = os.path.basename(s.conf)[:-len(".conf")]
    opts = {"Socket": s.socket, "AuthservID": "mx.test", "InternalHosts": "none",
            "Syslog": "no", "LogLevel": "info",
            "VolumeFile": os.path.join(os.path.abspath(WORK), name + "-volume.txt")}
    opts.update(options)
    tmp = s.conf + ".new"
    with open(tmp, "w") as f:
        for k, v in opts.items():
            f.write("%s %s\n" % (k, v))
    os.replace(tmp, s.conf)          # an admin's editor writes a whole new file


def reload(s, expect="reloaded", timeout=10):
    n = s.read_log().count(expect)
    s.proc.send_signal(signal.SIGHUP)
    ok = wait_until(lambda: s.read_log().count(expect) > n, timeout * SLOW)
    check(ok, "%r after SIGHUP; log:\n%s" % (expect, s.read_log()[-2000:]))


def spf_fail(spec, qid=None):
    return one_message(spec, mail.simple_message("user@spf-fail.test"), sender="<user@spf-fail.test>",
                       qid=qid)


@case
def sighup_reloads_and_never_stops(c):
    """SIGHUP re-reads the file: the daemon keeps running, new sessions get
    the new configuration, a session open across the reload keeps the one it
    started with. SIGUSR1 does the same; SIGTERM stops with status 0."""
    ns = {"Nameservers": c.dns.address}
    sc = daemon(c, "hup", ns)
    eq(spf_fail(sc.socket)[0], b"a", "On-SPFFail accept at first")
    early = Session(sc.socket, timeout=20 * SLOW)
    early.negotiate()
    early.conn()
    early.helo()
    write_conf(sc, dict(ns, **{"On-SPFFail": "reject"}))
    for _ in range(3):
        reload(sc)
    check(sc.proc.poll() is None, "still running after SIGHUP")
    eq(spf_fail(sc.socket)[0], b"y", "a new session is judged by the new file (reject)")
    headers, body = mail.split(mail.simple_message("user@spf-fail.test"))
    final, added, _ = early.message(headers, body, sender="<user@spf-fail.test>")
    eq(final[0], b"a", "the session opened before the reload keeps the old configuration")
    early.close()
    write_conf(sc, ns)
    n = sc.read_log().count("reloaded")
    sc.proc.send_signal(signal.SIGUSR1)
    check(wait_until(lambda: sc.read_log().count("reloaded") > n, 10 * SLOW), "SIGUSR1 reloads")
    eq(spf_fail(sc.socket)[0], b"a", "back to accept")
    contains(sc.read_log(), "configuration #5 for new sessions (changed: On-SPFFail)",
             "the log names what changed")
    check("libmilter's signal thread did not come through" not in sc.read_log(),
          "SIGHUP is kept from libmilter's signal thread")
    stopped_cleanly(sc)


@case
def stop_lets_a_verdict_in_progress_finish(c):
    """SIGTERM while a message is being checked (its DNS never answers;
    DNSTimeout 2): the check finishes and the MTA gets its verdict, a
    message that reaches its end afterwards is told to try again, a session
    whose SMTP steps all come after the stop is told so too and leaves the
    engine alone (no DNS question about its client or sender), and the
    daemon exits 0 with its socket file gone."""
    bh = testdns.Blackhole()
    try:
        sc = daemon(c, "graceful", {"Nameservers": bh.address, "DNSTimeout": "2"})
        headers, body = mail.split(mail.simple_message("user@spf-pass.test"))
        busy, late = (Session(sc.socket, timeout=30 * SLOW) for _ in range(2))
        for sess in (busy, late):
            sess.negotiate()
            sess.conn()
            sess.helo()
            sess.macro(b"M", {"i": "STOPQ" + os.urandom(3).hex()})
            sess.mail("<user@spf-pass.test>")
            sess.rcpt("<rcpt@example.net>")
            sess.data()
            for name, value in headers:
                sess.header(name, value)
            sess.eoh()
            sess.body(body)
        fresh = Session(sc.socket, timeout=30 * SLOW)   # connected, no step yet
        fresh.negotiate()
        busy.send(b"E")
        time.sleep(0.5)                     # the check is waiting on DNS now
        sc.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        late.send(b"E")
        fresh.conn(ip="192.0.2.77")
        fresh.helo()
        fresh.mail("<user@fresh-after-stop.test>")
        fresh.rcpt("<rcpt@example.net>")
        fresh.data()
        for name, value in headers:
            fresh.header(name, value.replace("spf-pass.test", "fresh-after-stop.test"))
        fresh.eoh()
        fresh.body(body)
        final, _ = fresh.eom()
        eq(final[0], b"y", "a session begun after the stop: a reply code")
        contains(final[1].decode(), "451 4.3.2", "try again later")
        asked = [n for n in bh.names if "77.2.0.192" in n or "fresh-after-stop" in n]
        eq(asked, [], "DNS questions about the session begun after the stop")
        final, mods = busy.eom(send=False)
        eq(final[0], b"a", "the message being checked gets its verdict")
        check(any(cmd in (b"h", b"i") for cmd, _ in mods), "with its header fields")
        final, _ = late.eom(send=False)
        eq(final[0], b"y", "a message ending after the stop began: a reply code")
        contains(final[1].decode(), "451 4.3.2", "try again later")
        rc = sc.proc.wait(30 * SLOW)
        sc.proc = None
        check(evidence.stopped(sc.what(), rc, sc.read_log()) is None, "stopped cleanly, status 0")
        check(not os.path.exists(sc.socket.partition(":")[2]), "socket file removed")
        contains(sc.read_log(), "sendercheck stopped", "log")
    finally:
        bh.stop()


@case
def reload_with_a_broken_file_keeps_the_old_configuration(c):
    """Every problem is logged as FILE:LINE and nothing of the new file is
    used; a FIFO in place of the file neither stalls nor breaks the daemon."""
    ns = {"Nameservers": c.dns.address}
    sc = daemon(c, "broken", dict(ns, **{"On-SPFFail": "reject"}))
    write_conf(sc, dict(ns, **{"On-SPFFail": "accept", "AddReceivedSPF": "maybe", "Bogus": "1"}))
    reload(sc, expect="reload of %s failed" % sc.conf)
    log = sc.read_log()
    contains(log, "reload: %s:" % sc.conf, "FILE:LINE reasons")
    contains(log, "AddReceivedSPF: 'maybe' is not yes or no", "the bad value")
    contains(log, "unknown option 'Bogus'", "the unknown key")
    eq(spf_fail(sc.socket)[0], b"y", "still the old configuration: reject (no half of the new one)")
    os.unlink(sc.conf)
    os.mkfifo(sc.conf)
    reload(sc, expect="not a regular file (a FIFO)")
    eq(spf_fail(sc.socket)[0], b"y", "still serving")
    os.unlink(sc.conf)
    os.mkdir(sc.conf)
    reload(sc, expect="not a regular file (a directory)")
    os.rmdir(sc.conf)
    write_conf(sc, dict(ns, **{"On-SPFFail": "accept"}))
    reload(sc)
    eq(spf_fail(sc.socket)[0], b"a", "a good file is taken again")
    stopped_cleanly(sc)


@case
def reload_names_options_that_need_a_restart(c):
    ns = {"Nameservers": c.dns.address}
    sc = daemon(c, "restartonly", ns)
    write_conf(sc, dict(ns, **{"Socket": "unix:" + os.path.join(WORK, "elsewhere.sock"),
                               "MilterTimeout": "30", "LogLevel": "debug"}))
    reload(sc)
    log = sc.read_log()
    contains(log, "Socket changed in %s: takes effect at restart; still \"%s\"" % (sc.conf, sc.socket),
             "Socket named")
    contains(log, "MilterTimeout changed in %s: takes effect at restart" % sc.conf, "MilterTimeout named")
    contains(log, "(changed: LogLevel)", "only LogLevel applied")
    check(not os.path.exists(os.path.join(WORK, "elsewhere.sock")), "no new socket")
    eq(one_message(sc.socket, mail.simple_message("user@spf-pass.test"),
                   sender="<user@spf-pass.test>")[0], b"a", "still served on the old socket")
    stopped_cleanly(sc)


@case
def reload_under_load_loses_nothing_and_mixes_nothing(c):
    """Eight clients send messages without pause, several per session, while
    the file flips between two configurations and a broken one, with a
    reload every 50 ms. Every message is answered, and each verdict comes
    from one whole configuration: its authserv-id and its Received-SPF
    (AddReceivedSPF) agree, and a session's messages share one."""
    ns = {"Nameservers": c.dns.address}
    conf_a = dict(ns, **{"AuthservID": "gen-a.test", "AddReceivedSPF": "no"})
    conf_b = dict(ns, **{"AuthservID": "gen-b.test", "AddReceivedSPF": "yes"})
    sc = daemon(c, "load", conf_a)
    stop = threading.Event()
    results, errors = [], []
    headers, body = mail.split(mail.simple_message("user@spf-pass.test"))

    def client(k):
        n = 0
        while not stop.is_set():
            try:
                sess = Session(sc.socket, timeout=30 * SLOW)
                sess.negotiate()
                sess.conn()
                sess.helo()
                seen = []
                for _ in range(3):
                    n += 1
                    final, added, _ = sess.message(headers, body, sender="<user@spf-pass.test>",
                                                   qid="L%d-%d" % (k, n))
                    ar = added.get("Authentication-Results", "")
                    seen.append((final[0], ar.split(";")[0].strip(), "Received-SPF" in added))
                sess.close()
                results.append(seen)
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append("client %d: %r" % (k, e))
                return

    workers = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for w in workers:
        w.start()
    confs = [conf_b, conf_a, dict(conf_b, **{"On-SPFFail": "sometimes"})]
    reloads = 0
    t_end = time.time() + 6 * SLOW
    while time.time() < t_end:
        write_conf(sc, confs[reloads % 3])
        sc.proc.send_signal(signal.SIGHUP)
        reloads += 1
        time.sleep(0.05)
    stop.set()
    for w in workers:
        w.join(60 * SLOW)
    check(not errors, "clients failed: %s" % errors[:3])
    msgs = sum(len(r) for r in results)
    check(msgs >= 50, "messages sent: %d" % msgs)
    for seen in results:
        for cmd, authserv, rspf in seen:
            eq(cmd, b"a", "every message answered and accepted")
            check((authserv, rspf) in (("gen-a.test", False), ("gen-b.test", True)),
                  "a verdict from one whole configuration: %r, Received-SPF %r" % (authserv, rspf))
        check(len(set(s[1] for s in seen)) == 1, "one configuration per session: %r" % seen)
    kinds = set(s[1] for seen in results for s in seen)
    log = sc.read_log()
    print("  figures: %d reloads (every third file broken), %d sessions, %d messages, configurations "
          "seen: %s, %d reloads logged as failed" % (reloads, len(results), msgs, sorted(kinds),
                                                      log.count("failed: still running")))
    check(kinds == {"gen-a.test", "gen-b.test"}, "both configurations were served: %r" % kinds)
    check(sc.proc.poll() is None, "still running")
    stopped_cleanly(sc)


# ---- files ----

@case
def config_path_must_be_a_regular_file(c):
    """-c /dev/zero, a FIFO or a directory: an error naming the file, at
    once (no spinning, no waiting for a FIFO's writer), with -n and without."""
    fifo = os.path.join(WORK, "fifo.conf")
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "a character device"), (fifo, "a FIFO"), (WORK, "a directory")):
        for args in (["-n", "-c", path], ["-f", "-c", path]):
            p = subprocess.run([DAEMON] + args, capture_output=True, text=True, timeout=10 * SLOW)
            eq(p.returncode, 1, "%s: exit status" % " ".join(args))
            contains(p.stderr, "%s: not a regular file (%s)" % (path, kind), " ".join(args))
            check("configuration OK" not in p.stdout, "not OK: " + " ".join(args))


@case
def pid_file_replaced_whole(c):
    """The PID file is written beside and renamed over the old one: a stale
    file's longer content is gone, a symlink at its name is replaced (its
    target untouched), and no temporary file is left in the directory."""
    d = os.path.join(WORK, "piddir")
    os.mkdir(d)
    victim = os.path.join(WORK, "pid-victim.txt")
    with open(victim, "w") as f:
        f.write("victim\n")
    for name, stale in (("stale", "stale"), ("link", "link")):
        pidf = os.path.join(d, name + ".pid")
        if stale == "stale":
            with open(pidf, "w") as f:
                f.write("4294967295 and more\n")
        else:
            os.symlink(victim, pidf)
        sc = daemon(c, "pid" + name, {"PidFile": pidf})
        check(wait_until(lambda: os.path.isfile(pidf) and not os.path.islink(pidf) and
                         open(pidf).read() == "%d\n" % sc.proc.pid, 5 * SLOW),
              "%s: the PID file holds exactly the daemon's PID" % name)
        eq(os.listdir(d), [name + ".pid"], "%s: files in the PID file's directory" % name)
        eq(open(victim).read(), "victim\n", "the symlink's target untouched")
        stopped_cleanly(sc)
        eq(os.listdir(d), [], "%s: the PID file removed at the stop" % name)


@case
def pid_file_removed_after_dropping_privileges(c):
    """With UserID the daemon cannot remove a PID file in a root-only
    directory: its keeper does, on SIGTERM and even after SIGKILL, and the
    keeper does not hold the milter socket open."""
    if os.geteuid() != 0:
        raise AssertionError("this test runs as root (the README's test command does)")
    import pwd
    nobody = pwd.getpwnam("nobody").pw_uid
    for how in (signal.SIGTERM, signal.SIGKILL):
        pidf = os.path.join(WORK, "keep-%d.pid" % how)
        sc = daemon(c, "keep%d" % how, {"UserID": "nobody", "PidFile": pidf})
        # the socket listens a moment before the file is written
        check(wait_until(lambda: os.path.exists(pidf) and open(pidf).read().endswith("\n"),
                         5 * SLOW), "PID file written")
        eq(int(open(pidf).read()), sc.proc.pid, "PidFile content")
        check(wait_until(lambda: uid_of(sc.proc.pid) == nobody, 5 * SLOW), "runs as UserID")
        eq(os.stat(pidf).st_uid, 0, "the PID file stays root's")
        sc.proc.send_signal(how)
        rc = sc.proc.wait(15 * SLOW)
        if how == signal.SIGTERM:
            check(evidence.stopped(sc.what(), rc, sc.read_log()) is None, "stopped cleanly, status 0")
        check(wait_until(lambda: not os.path.exists(pidf), 5 * SLOW),
              "PID file removed after %s" % signal.Signals(how).name)
        path = sc.socket.partition(":")[2]
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            raise AssertionError("something still listens on the milter socket")
        except (ConnectionRefusedError, FileNotFoundError):
            pass
        sc.proc = None


if __name__ == "__main__":
    sys.exit(run("daemon: limits, negotiation, reload, files", setup, teardown))
