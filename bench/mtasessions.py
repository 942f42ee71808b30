#!/usr/bin/python3
"""Time per SMTP session through a real MTA (Postfix, Sendmail) with the
milter over TCP: the figure that shows a delayed-ACK stall (~40 ms) that
the milter's replies (or their absence) can cause between MTA and filter.

    mtasessions.py --builddir DIR [--base BINARY] [--sessions N] [--internal]
                   [--mta postfix,sendmail] [--socket inet|unix]

Starts unbound (the zone of tests/postfix), smtp-sink, and one sendercheck
per binary (this build's, and --base's for a before/after pair) on an inet
socket, each behind its own listener of each MTA: a Postfix smtpd with
smtpd_milters, a Sendmail daemon with conf/sendmail.mc's macro lists and
its own InputMailFilters (Sendmail unpacked from Debian's packages as
tests/lib/sendmail.py does). Then N rounds: in each, one SMTP session per
MTA and binary (connect, EHLO, MAIL, RCPT, DATA with one message, QUIT),
one after the other; prints per MTA and binary the median, p90 and max
milliseconds of a session (a delayed-ACK stall adds ~40 ms to each:
it moves the minimum too). --internal also runs each binary with the
client in InternalHosts (a session that is accepted unchecked).
--socket unix puts each filter on a unix socket instead (no Nagle, no
delayed ACK: the reference). Run as root (throwaway MTAs under a temporary directory); never part of
the tests: it prints figures and judges nothing.
"""
import argparse
import os
import shutil
import smtplib
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import mail                                 # noqa: E402
import postfix                              # noqa: E402
import sendmail                             # noqa: E402
import testdns                              # noqa: E402
from milter import Sendercheck              # noqa: E402


def session_ms(port, msg):
    t0 = time.perf_counter()
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.good.test")
    s.sendmail("b@good.test", ["rcpt@example.net"], msg)
    s.quit()
    return (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--base", help="another build's milter/sendercheck: the 'before'")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--internal", action="store_true")
    ap.add_argument("--mta", default="postfix,sendmail")
    ap.add_argument("--socket", choices=("inet", "unix"), default="inet")
    ap.add_argument("--sendmail-debs", default=os.environ.get(
        "SC_SENDMAIL_DEBS", "/var/cache/sendercheck-tests/sendmail"),
        help="where Debian's sendmail packages are downloaded to (once)")
    a = ap.parse_args()
    mtas = a.mta.split(",")
    work = tempfile.mkdtemp(prefix="sc-mtasessions-", dir="/run" if os.path.isdir("/run") else None)
    started = []
    try:
        postfix.open_up(work)
        key = mail.RSAKey(2048, work)
        z = testdns.Zone()
        z.txt("good.test", "v=spf1 ip4:127.0.0.1 -all")
        z.txt("s1._domainkey.good.test", key.record())
        z.txt("_dmarc.good.test", "v=DMARC1; p=none")
        z.add("1.0.0.127.in-addr.arpa", "PTR", "client.good.test")
        z.add("client.good.test", "A", "127.0.0.1")
        dns = testdns.Unbound(z, os.path.join(work, "dns")).start()
        started.append(dns)
        sink = postfix.SmtpSink(os.path.join(work, "sink"), testdns.free_port()).start()
        started.append(sink)
        builds = [("new", os.path.abspath(a.builddir))]
        if a.base:
            basedir = os.path.join(work, "base")
            os.makedirs(os.path.join(basedir, "milter"))
            shutil.copy(a.base, os.path.join(basedir, "milter", "sendercheck"))
            builds.insert(0, ("base", basedir))
        kinds = [("", "none")] + ([(" internal", "127.0.0.0/8")] if a.internal else [])
        variants, daemons = [], []
        for label, internal in kinds:
            for name, bdir in builds:
                tag = (name + label).replace(" ", "-")
                spec = "inet:%d@127.0.0.1" % testdns.free_port() if a.socket == "inet" else None
                # on a unix socket Postfix's smtpd (user postfix) must reach it
                sc = Sendercheck(bdir, os.path.join(work, tag),
                                 {"Nameservers": dns.address, "VolumeFile": "",
                                  "InternalHosts": internal, "LogLevel": "notice",
                                  "UserID": "nobody:postfix"},
                                 socket_spec=spec, name=tag).start()
                started.append(sc)
                kind, _, rest = sc.socket.partition(":")
                where = rest.split("@")[0] if kind == "inet" else rest
                daemons.append((name + label, tag, where))
        if "postfix" in mtas:
            smtpds = [(testdns.free_port(), {"smtpd_milters": ("inet:127.0.0.1:%s" if a.socket == "inet"
                                                               else "unix:%s") % where})
                      for _, _, where in daemons]
            started.append(postfix.Postfix(os.path.join(work, "postfix"), sink.port, smtpds).start())
            variants += [("postfix " + n, p, []) for (n, _, _), (p, _) in zip(daemons, smtpds)]
        if "sendmail" in mtas:
            root = os.path.join(work, "root")
            sendmail.extract(a.sendmail_debs, root)
            snippet = [l for l in open(os.path.join(HERE, "..", "conf", "sendmail.mc")).read().splitlines()
                       if l.strip() and not l.startswith("dnl") and "INPUT_MAIL_FILTER" not in l]
            t = "T=C:30s;S:1m;R:1m;E:5m"
            filters = ["MAIL_FILTER(`f%d', `S=%s, F=T, %s')dnl"
                       % (i, "inet:%s@127.0.0.1" % where if a.socket == "inet" else "unix:" + where, t)
                       for i, (_, _, where) in enumerate(daemons)]
            listeners = [(testdns.free_port(), "d%d" % i, "f%d" % i) for i in range(len(daemons))]
            started.append(sendmail.Sendmail(os.path.join(work, "sendmail"), root, sink.port, listeners,
                                             snippet, extra="\n".join(filters)).start())
            variants += [("sendmail " + n, p, []) for (n, _, _), (p, _, _) in zip(daemons, listeners)]
        hdrs = [("From", " news@good.test"), ("To", " rcpt@example.net"), ("Subject", " timing"),
                ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"), ("Message-ID", " <t@good.test>")]
        msg = mail.sign(mail.message(hdrs, "Hello.\n"), "good.test", "s1", key,
                        headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        for _, port, _ in variants:         # warm the DNS caches
            session_ms(port, msg)
        for _ in range(a.sessions):
            for _, port, times in variants:
                times.append(session_ms(port, msg))
        print("ms per SMTP session through the MTA, milter over %s (%d sessions each):"
              % (a.socket, a.sessions))
        for name, _, times in variants:
            times.sort()
            print("  %-23s min %6.2f  median %6.2f  p90 %6.2f  max %6.2f"
                  % (name, times[0], statistics.median(times), times[int(len(times) * 0.9) - 1],
                     times[-1]))
    finally:
        for s in reversed(started):
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
