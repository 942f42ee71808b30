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
"""
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mail                                                   # noqa: E402
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
        for d in ("evil.test", "good.test"):
            z.txt(d, "v=spf1 ip4:%s -all" % CLIENT)
            z.txt("s1._domainkey." + d, self.key.record())
        z.txt("_dmarc.evil.test", "v=DMARC1; p=none")
        z.txt("_dmarc.good.test", "v=DMARC1; p=reject")
        z.add("10.2.0.192.in-addr.arpa", "PTR", HELO)
        z.add(HELO, "A", CLIENT)
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

    def stop(self):
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
        without the leading space), signed by sign (evil.test, good.test or
        None). first: fields before From."""
        hdrs = list(first) + [("From", " " + from_value), ("To", " ap@example.net"),
                              ("Subject", " invoice"), ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
                              ("Message-ID", " <%s@msg.test>" % os.urandom(6).hex())] + list(extra)
        m = mail.message(hdrs, body)
        if sign:
            m = mail.sign(m, sign, "s1", self.key, headers=headers)
        return m

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

