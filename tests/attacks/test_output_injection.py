"""Output injection (issue 9, hardening): sender-controlled text in the
daemon's outputs. The text log line wrote HELO, MAIL FROM, DKIM d=/s= and
the client's name raw, so a sender could forge a key=value pair ("...
action=accept") or send a terminal an escape sequence; sendercheck-stats
--format csv wrote domains raw, and a cell starting with '=', '+', '-' or
'@' runs as a formula in a spreadsheet; the statistics kept whatever a
sender wrote. Each value below must stay one escaped value in the log,
only validated domains may reach the statistics, and CSV cells are never
formulas.
Run: /usr/bin/python3 test_output_injection.py BUILDDIR"""
import csv
import io
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
import evidence                                               # noqa: E402
from attack import World, main                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "output", zone=lambda z: [z.txt("-2-3.evil.test", "v=spf1 +all"),
                                           z.txt("_dmarc.-2-3.evil.test", "v=DMARC1; p=none")])
FORGE = " spf=pass dmarc=pass action=accept cause=none"
ESC = "\x1b]0;owned\x07\x1b[2J"

# (what the sender controls, how): each a variant
VARIANTS = [
    ("HELO", {"helo": "mail.evil.test" + FORGE}),
    ("HELO escape", {"helo": "mail" + ESC + ".evil.test"}),
    ("HELO newline", {"helo": "mail.evil.test\r\nQ1: action=accept"}),
    ("MAIL FROM quoted", {"mail_from": '<"x' + FORGE + '"@victim.test>'}),
    ("MAIL FROM escape", {"mail_from": '<"' + ESC + '"@victim.test>'}),
    ("MAIL FROM 8-bit", {"mail_from": '<"\xc2\x9b31m"@victim.test>'}),
    ("client name", {"hostname": "client.evil.test" + FORGE}),
    ("client name escape", {"hostname": "client" + ESC}),
]


def fields_of(line):
    """The keys of a log line's key=value pairs, in order."""
    return re.findall(r" ([a-z_.]+)=", line)


def clean(line, what):
    bad = [c for c in line if ord(c) < 0x20 or ord(c) >= 0x7f]
    check(not bad, "%s: raw control or 8-bit octets in the log line: %r" % (what, line))
    keys = fields_of(line)
    for k in ("action", "cause", "spf", "dmarc", "helo", "from"):
        check(keys.count(k) <= 1, "%s: %r appears %d times: %s" % (what, k, keys.count(k), line))


@case
def log_line_values_stay_one_value():
    for what, kw in VARIANTS:
        W.variant("output", what)
        r = W.send(W.message("ceo@victim.test"), **kw)
        check(r["log"] is not None, "%s: a log line" % what)
        clean(r["log"], what)
        eq(r["action"], "reject", "%s: the real action" % what)


@case
def dkim_fields_in_the_log():
    """A DKIM-Signature with d= and s= that carry a space, a pair and an
    escape: the log writes them escaped."""
    sig = ("v=1; a=rsa-sha256 action=accept; d=evil.test" + FORGE.replace(" ", "\t") +
           "; s=s1" + ESC + "; h=from; bh=AAAA; b=AAAA")
    W.variant("output", "DKIM d=/s=/a=")
    r = W.send(W.message("ceo@victim.test", sign=None, first=[("DKIM-Signature", " " + sig)]))
    clean(r["log"], "DKIM fields")


@case
def statistics_keep_validated_domains_and_csv_is_not_a_formula():
    sc = W.stats_sc
    W.variant("output", "stats domains")
    # a From domain a spreadsheet reads as a formula, and junk that is no domain
    for from_value, helo in (("news@-2-3.evil.test", "=cmd|' /C calc'!A0"),
                             ("news@=1+2.evil.test", "+1+2"),
                             ("news@evil.test", "@SUM(1)")):
        W.send(W.message(from_value, sign=None), sc=sc, helo=helo, mail_from="<b@-2-3.evil.test>")
    deadline = time.time() + 10
    while time.time() < deadline:
        rows = sqlite3.connect(W.db).execute(
            "SELECT helo, mail_from_domain, from_domain FROM messages").fetchall()
        if len(rows) >= 3:
            break
        time.sleep(0.1)
    eq(len(rows), 3, "three verdicts stored")
    for helo, mfd, fd in rows:
        check(helo in ("", None), "a HELO that is no domain is not stored: %r" % helo)
        eq(mfd, "-2-3.evil.test", "the MAIL FROM domain, validated")
        check(fd in ("-2-3.evil.test", "evil.test", "", None), "only validated From domains: %r" % fd)
    p = evidence.run([os.path.join(BUILD, "tools", "sendercheck-stats"), "--db", W.db, "domains",
                      "--since", "all", "--format", "csv"], timeout=60)
    out = p.stdout.decode()
    contains(out, "\"'-2-3.evil.test\"", "the cell starting with '-' is neutralised")
    for row in csv.reader(io.StringIO(out)):
        for cell in row:
            check(not cell or cell[0] not in "=+-@\t\r", "no cell is a formula: %r" % cell)


def prepare(w):
    w.db = os.path.join(w.work, "stats.db")
    w.stats_sc = w.daemon("stats", {"StatsDB": w.db})


if __name__ == "__main__":
    main(W, "attacks: output injection (log line, statistics, CSV)", prepare)
