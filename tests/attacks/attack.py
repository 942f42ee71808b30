"""The attacker's world shared by tests/attacks/test_*.py (/usr/bin/python3).

The threat model of the README's "Security" section: a remote sender
controls the message, the envelope and its own DNS. The zone here holds
- victim.test: the domain being spoofed. SPF allows only 192.0.2.99 (not
  the attacker's client), DMARC p=reject. quar.test: the same with
  p=quarantine.
- evil.test: the attacker's own domain. SPF passes for the attacker's
  client (CLIENT), DKIM key at s1, DMARC p=none; messages signed by it
  pass DKIM but are not aligned with victim.test.
- good.test: an honest sender with p=reject whose aligned mail (SPF and
  DKIM for good.test) must be accepted: the control messages.
and a PTR for CLIENT. The daemon runs as an MX would be set up against
spoofing: On-DMARCFail policy, On-SPFFail reject (as issue 9 tried it).

send() runs one SMTP transaction through the daemon over the milter
protocol (miltertest) and returns its outcome: the action and cause from
the daemon's log line for that queue id, the reply, the fields added.
send_raw() does the same with tests/milter/milterproto.py, for what
miltertest cannot send (it overflows its stack on a header field over
~4 KB or a MAIL FROM over ~1 KB).
start_postfix() puts a throwaway Postfix (tests/lib/postfix.py) in front
of the same daemon, relaying to smtp-sink; smtp() talks raw SMTP to it, so
that the envelope and message bytes are exactly the attacker's.

variant(cls, what) notes one attack input tried for a bypass class; each
file prints "attack variants: class N: M" lines at the end (distinct
inputs per class), which run.sh sums for the issue's closing note.
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "milter"))
import mail                                                   # noqa: E402
import milterproto                                            # noqa: E402
from milter import Sendercheck, run_session                   # noqa: E402
import testdns                                                # noqa: E402

CLIENT = "192.0.2.10"            # the attacker's (or the honest sender's) client
HELO = "mail.evil.test"
AUTHSERV = "mx.test"
STRICT = {"On-DMARCFail": "policy", "On-SPFFail": "reject"}
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


class World:
    def __init__(self, build, name, options=None, zone=None):
        """options: more daemon options; zone(z): adds records."""
        self.build = os.path.abspath(build)
        self.work = tempfile.mkdtemp(prefix="sc-attacks-%s-" % name)
        self.options = dict(STRICT, **(options or {}))
        self.extra_zone = zone
        self.daemons = []
        self.dns = None
        self.pf = self.sink = None
        self.variants = {}

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        self.key = mail.RSAKey(2048, self.work)
        z = testdns.Zone()
        z.txt("victim.test", "v=spf1 ip4:192.0.2.99 -all")
        z.txt("_dmarc.victim.test", "v=DMARC1; p=reject")
        z.txt("quar.test", "v=spf1 ip4:192.0.2.99 -all")
        z.txt("_dmarc.quar.test", "v=DMARC1; p=quarantine")
        # the attacker's and the honest sender's mail also comes from
        # 127.0.0.1 when it goes through the test Postfix
        for d in ("evil.test", "good.test"):
            z.txt(d, "v=spf1 ip4:%s ip4:127.0.0.1 -all" % CLIENT)
            z.txt("s1._domainkey." + d, self.key.record())
        z.txt("_dmarc.evil.test", "v=DMARC1; p=none")
        z.txt("_dmarc.good.test", "v=DMARC1; p=reject")
        z.add("10.2.0.192.in-addr.arpa", "PTR", HELO)
        z.add("1.0.0.127.in-addr.arpa", "PTR", HELO)
        z.add(HELO, "A", CLIENT)
        z.add(HELO, "A", "127.0.0.1")
        if self.extra_zone:
            self.extra_zone(z)
        self.dns = testdns.Unbound(z, os.path.join(self.work, "dns")).start()
        self.sc = self.daemon("strict", self.options)

    def daemon(self, name, options, socket_spec=None):
        opts = {"Nameservers": self.dns.address, "AuthservID": AUTHSERV, "VolumeFile": ""}
        opts.update(options)
        s = Sendercheck(self.build, self.work, opts, socket_spec=socket_spec, name=name)
        self.daemons.append(s)
        return s.start()

    def start_postfix(self, options=None, main=None):
        """Postfix on 127.0.0.1:self.pf_port with smtpd_milters = a daemon
        with self.options (+ options) over inet, relaying to smtp-sink."""
        import postfix
        postfix.open_up(self.work)
        self.sink = postfix.SmtpSink(os.path.join(self.work, "sink"), testdns.free_port()).start()
        self.pf_sc = self.daemon("postfix", dict(self.options, **(options or {})),
                                 socket_spec="inet:%d@127.0.0.1" % testdns.free_port())
        port, _, host = self.pf_sc.socket.partition(":")[2].partition("@")
        # local_header_rewrite_clients: the test client connects from
        # 127.0.0.1, which Postfix would take for a local client and whose
        # header addresses it would qualify ("ceo" -> "ceo@mx.test"); an
        # attacker is remote, and a remote client's header is not rewritten
        params = {"milter_default_action": "tempfail", "smtpd_milters": "inet:%s:%s" % (host, port),
                  "local_header_rewrite_clients": ""}
        params.update(main or {})
        self.pf_port = testdns.free_port()
        self.pf = postfix.Postfix(os.path.join(self.work, "postfix"), self.sink.port,
                                  [(self.pf_port, {})], main=params).start()
        return self

    def smtp(self, mail_from, msg, rcpt=b"<ap@example.net>", ehlo=HELO):
        """One raw SMTP transaction with the test Postfix. mail_from: the
        bytes after "MAIL FROM:". Returns (reply to MAIL FROM, final reply,
        the daemon's log line or None); the final reply is the first
        non-2xx/3xx one, or the reply to the end of DATA."""
        if isinstance(mail_from, str):
            mail_from = mail_from.encode("latin-1")
        if isinstance(rcpt, str):
            rcpt = rcpt.encode("latin-1")
        data = re.sub(rb"(?m)^\.", b"..", msg)
        seen = len(self.action_lines(self.pf_sc))
        s = socket.create_connection(("127.0.0.1", self.pf_port), timeout=60)
        f = s.makefile("rb")

        def reply():
            out = []
            while True:
                line = f.readline()
                out.append(line)
                if len(line) < 4 or line[3:4] != b"-":
                    return b"".join(out).decode("latin-1").strip()

        replies = [reply()]
        try:
            for cmd in (b"EHLO " + ehlo.encode(), b"MAIL FROM:" + mail_from, b"RCPT TO:" + rcpt,
                        b"DATA"):
                s.sendall(cmd + b"\r\n")
                replies.append(reply())
                if replies[-1][:1] not in ("2", "3"):
                    break
            else:
                s.sendall(data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
                replies.append(reply())
            s.sendall(b"QUIT\r\n")
        finally:
            s.close()
        line = None
        if len(replies) > 5:            # the message reached the end of DATA: the daemon judged it
            deadline = time.time() + 5
            while line is None and time.time() < deadline:
                lines = self.action_lines(self.pf_sc)
                line = lines[-1] if len(lines) > seen else None
                time.sleep(0.02)
        return replies[2], replies[-1], line

    @staticmethod
    def action_lines(sc):
        return [l for l in sc.read_log().splitlines() if " action=" in l]

    def variant(self, cls, what):
        self.variants.setdefault(cls, set()).add(repr(what))

    def stop(self):
        for cls in sorted(self.variants):
            print("attack variants: class %s: %d" % (cls, len(self.variants[cls])))
        if self.pf:
            self.pf.stop()
            self.pf = None
        if self.sink:
            self.sink.stop()
            self.sink = None
        for s in self.daemons:
            rc = s.stop()
            if rc not in (0, None):
                print("note: sendercheck %s exited %s; log:\n%s" % (s.conf, rc, s.read_log()[-3000:]))
        self.daemons = []
        if self.dns:
            self.dns.stop()
            self.dns = None
        if os.environ.get("KEEP_TMP") is None:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("kept " + self.work)

    # ---- messages ----

    def message(self, from_value, sign="evil.test", extra=(), headers=SIGNED, body="Pay now.\n",
                first=()):
        """A message whose From field is from_value (as it follows the colon,
        without the leading space; str or bytes), signed by sign (evil.test,
        good.test or None). extra: fields after the usual ones, seen by the
        signer; first: fields put on top after signing (any bytes, even
        ones the signer cannot parse). Values are written byte for byte
        (str as latin-1)."""
        def field(name, value):
            b = lambda x: x if isinstance(x, bytes) else x.encode("latin-1")
            return b(name) + b":" + b(value) + b"\r\n"
        hdrs = [("From", b" " + (from_value if isinstance(from_value, bytes) else from_value.encode("latin-1"))),
                ("To", " ap@example.net"), ("Subject", " invoice"),
                ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
                ("Message-ID", " <%s@msg.test>" % os.urandom(6).hex())] + list(extra)
        m = b"".join(field(n, v) for n, v in hdrs) + b"\r\n" + body.replace("\n", "\r\n").encode()
        if sign:
            m = mail.sign(m, sign, "s1", self.key, headers=headers)
        return b"".join(field(n, v) for n, v in first) + m

    def send(self, msg, mail_from="<bounce@evil.test>", sc=None, helo=HELO, ip=CLIENT, **kw):
        """One transaction; returns the run_session result plus 'action',
        'cause' and 'log' (the daemon's line for this message)."""
        sc = sc or self.sc
        if isinstance(msg, (bytes, str)):
            headers, body = mail.split(msg if isinstance(msg, bytes) else msg.encode("latin-1"))
        else:
            headers, body = msg
        qid = "AT" + os.urandom(5).hex().upper()
        r = run_session(sc.socket, ip=ip, helo=helo, mail_from=mail_from, headers=headers,
                        body=body, macros={"i": qid}, workdir=self.work, **kw)
        if r["rc"] != 0:
            raise AssertionError("miltertest failed: %s %s" % (r["stdout"][-2000:], r["stderr"][-2000:]))
        r["log"] = self.log_line(sc, qid)
        m = re.search(r" action=(\w+)", r["log"] or "")
        r["action"] = m.group(1) if m else None
        m = re.search(r" cause=([\w-]+)", r["log"] or "")
        r["cause"] = m.group(1) if m else "none"
        # the log and what the milter told the MTA must agree
        said = {"y": "reply", "r": "reject", "t": "tempfail", "a": "accept", "c": "accept"}.get(r["eom"])
        if r["action"] == "quarantine":
            ok = r["quarantined"]
        elif r["action"] in ("reject", "tempfail"):
            ok = said in ("reply", r["action"])
        else:
            ok = said == "accept" and not r["quarantined"]
        if not ok:
            raise AssertionError("log says action=%s, milter answered %r%s: %s" % (
                r["action"], r["eom"], " (quarantined)" if r["quarantined"] else "", r["log"]))
        return r

    def send_raw(self, msg, mail_from="<bounce@evil.test>", sc=None, helo=HELO, ip=CLIENT):
        """One transaction spoken by milterproto, as Postfix 3.x negotiates;
        returns 'action', 'cause', 'log', 'reply' and 'headers' (added)."""
        sc = sc or self.sc
        headers, body = mail.split(msg)
        qid = "AR" + os.urandom(5).hex().upper()
        s = milterproto.Session(sc.socket, timeout=60)
        try:
            s.negotiate()
            s.conn(hostname="client.test", ip=ip)
            s.helo(helo)
            final, added, mods = s.message(headers, body, sender=mail_from, qid=qid)
        finally:
            s.close()
        r = {"reply": final, "headers": added, "log": self.log_line(sc, qid)}
        m = re.search(r" action=(\w+)", r["log"] or "")
        r["action"] = m.group(1) if m else None
        m = re.search(r" cause=([\w-]+)", r["log"] or "")
        r["cause"] = m.group(1) if m else "none"
        said = {b"y": "reply", b"r": "reject", b"t": "tempfail", b"a": "accept", b"c": "accept"}.get(final[0])
        quarantined = any(cmd == b"q" for cmd, _ in mods)
        ok = quarantined if r["action"] == "quarantine" else \
            said in ("reply", r["action"]) if r["action"] in ("reject", "tempfail") else \
            said == "accept" and not quarantined
        if not ok:
            raise AssertionError("log says action=%s, milter answered %r: %s" % (r["action"], final, r["log"]))
        return r

    @staticmethod
    def log_line(sc, qid, timeout=5):
        deadline = time.time() + timeout
        while True:
            for line in sc.read_log().splitlines():
                if qid + ":" in line and " action=" in line:
                    return line
            if time.time() > deadline:
                return None
            time.sleep(0.02)


def main(world, title, prepare=None):
    """Runs the file's cases (harness.run) with world started, then
    prepare(world) for the file's own daemons or Postfix; stops it all."""
    from harness import run

    def setup():
        world.start()
        if prepare:
            prepare(world)
        return world

    sys.exit(run(title, setup, lambda _: world.stop()))
