"""Compliance statistics end to end: messages through the running milter
(miltertest) against unbound, then sendercheck-stats must show exactly what
was sent, per domain and per rule, in text, JSON and CSV; the HTML report
opened in headless Chromium (no console errors, the SVG charts there, a
screenshot); /metrics scraped and parsed strictly and by promtool; kill -9
while writing leaves a clean file with every committed batch; a full queue
drops statistics, never mail; an old schema is upgraded in place and old
rows pruned; stats on vs off throughput.
Run: /usr/bin/python3 test_stats.py BUILDDIR"""
import calendar
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from harness import built_with, case, check, contains, eq, run, skip_group  # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, run_session                   # noqa: E402
import testdns                                                # noqa: E402
import cdp                                                    # noqa: E402
import lua                                                    # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-stats")
WORK = tempfile.mkdtemp(prefix="sc-stats-")
GOOD_IP = "192.0.2.10"          # PTR mail.good.test -> 192.0.2.10, in every SPF record
BAD_IP = "192.0.2.77"           # outside SPF, no PTR
ONECLICK = [("List-Unsubscribe", " <https://good.test/u/123>, <mailto:u@good.test>"),
            ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click")]
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
SIGNED_LU = SIGNED + [b"list-unsubscribe", b"list-unsubscribe-post"]


class Ctx:
    pass


CTX = Ctx()


def free_port():
    return testdns.free_port()


def setup():
    c = CTX
    z = testdns.Zone()
    c.key = mail.RSAKey(2048, WORK)
    for d in ("good.test", "nodmarc.test", "other.test", "bench.test"):
        z.txt(d, "v=spf1 ip4:192.0.2.10 -all")
        z.txt("s1._domainkey." + d, c.key.record())
    for d in ("good.test", "other.test", "bench.test"):
        z.txt("_dmarc." + d, "v=DMARC1; p=none")
    z.add("10.2.0.192.in-addr.arpa", "PTR", "mail.good.test")
    z.add("mail.good.test", "A", GOOD_IP)
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.db = os.path.join(WORK, "stats.db")
    c.metrics_port = free_port()
    c.milter = Sendercheck(BUILD, WORK, {
        "Nameservers": c.dns.address, "StatsDB": c.db, "LogFormat": "json",
        "MetricsSocket": "inet:%d@127.0.0.1" % c.metrics_port}, name="main").start()
    c.sent = []         # (headers the milter added, json log record) per message
    return c


def teardown(c):
    for s in ("milter",):
        if getattr(c, s, None):
            getattr(c, s).stop()
    if getattr(c, "dns", None):
        c.dns.stop()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def msg(from_addr="news@good.test", extra=(), sign=("good.test", "s1"), headers=SIGNED,
        drop=()):
    hdrs = [("From", " " + from_addr), ("To", " rcpt@example.net"), ("Subject", " offer"),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
            ("Message-ID", " <%s@good.test>" % os.urandom(6).hex())]
    hdrs = [h for h in hdrs if h[0] not in drop] + list(extra)
    m = mail.message(hdrs, "Hello.\n")
    if sign:
        m = mail.sign(m, sign[0], sign[1], CTX.key, headers=headers)
    return m


def send(sc, m, ip=GOOD_IP, mail_from="<b@good.test>", tls=True):
    headers, body = mail.split(m)
    qid = "ST" + os.urandom(4).hex().upper()
    macros = {"i": qid}
    if tls:
        macros["{tls_version}"] = "TLSv1.3"
        macros["{cipher}"] = "TLS_AES_256_GCM_SHA384"
    r = run_session(sc.socket, ip=ip, helo="mail.good.test", mail_from=mail_from, headers=headers,
                    body=body, macros=macros, workdir=WORK)
    check(r["rc"] == 0, "miltertest: %s %s" % (r["stdout"], r["stderr"]))
    r["qid"] = qid
    return r


def tool(*args, expect_rc=0):
    p = evidence.run([TOOL, "--db", CTX.db] + list(args), expect=expect_rc, timeout=60,
                     what="sendercheck-stats " + " ".join(args))
    return p.stdout.decode()


def wait_rows(db, n, timeout=10):
    """Waits until the file holds n messages (the writer commits within ~0.2 s)."""
    deadline = time.time() + timeout
    got = -1
    while time.time() < deadline:
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
            got = con.execute("SELECT count(*) FROM messages").fetchone()[0]
            con.close()
        except sqlite3.Error:
            got = -1
        if got >= n:
            return got
        time.sleep(0.1)
    return got


def log_records(sc):
    out = {}
    for line in sc.read_log().splitlines():
        i = line.find("{")
        if i < 0 or '"queue_id"' not in line:
            continue
        rec = json.loads(line[i:])
        out[rec.get("queue_id")] = rec
    return out


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        eq(r.status, 200, "status")
        contains(r.headers.get("Content-Type", ""), "text/plain; version=0.0.4", "content type")
        return r.read().decode()


# ---- the mail of the main run: 9 messages, 4 domains ----

MAIN = [
    # (from, sign, extra headers, signed header list, ip, tls, mail_from)
    ("news@good.test", ("good.test", "s1"), ONECLICK, SIGNED_LU, GOOD_IP, True, "<b@good.test>"),
    ("news@good.test", ("good.test", "s1"), ONECLICK, SIGNED_LU, GOOD_IP, True, "<b@good.test>"),
    ("news@good.test", ("good.test", "s1"), ONECLICK, SIGNED_LU, GOOD_IP, True, "<b@good.test>"),
    ("ceo@good.test", ("good.test", "s1"), (), SIGNED, GOOD_IP, False, "<b@good.test>"),
    ("news@nodmarc.test", ("nodmarc.test", "s1"), [("List-Unsubscribe", " <mailto:u@nodmarc.test>")],
     SIGNED + [b"list-unsubscribe"], GOOD_IP, True, "<b@nodmarc.test>"),
    ("news@nodmarc.test", ("nodmarc.test", "s1"), [("List-Unsubscribe", " <mailto:u@nodmarc.test>")],
     SIGNED + [b"list-unsubscribe"], GOOD_IP, True, "<b@nodmarc.test>"),
    ("a@other.test", ("other.test", "s1"), (), SIGNED, BAD_IP, True, "<b@other.test>"),
    ("a@other.test", ("other.test", "s1"), (), SIGNED, BAD_IP, True, "<b@other.test>"),
    (None, None, (), SIGNED, GOOD_IP, True, "<b@good.test>"),
]


def expected():
    """Per domain and per rule, from what the milter said about each message:
    its Authentication-Results and compliance fields, and its JSON log record."""
    dom, rules = {}, {}
    for r, rec in CTX.sent:
        ar = r["headers"]["Authentication-Results"]
        comp = r["headers"]["X-Sender-Compliance"]
        d = rec.get("from_domain") or "(none)"
        e = dom.setdefault(d, {"messages": 0, "spf_pass": 0, "dkim_pass": 0, "dmarc_pass": 0,
                               "aligned": 0, "bulk_messages": 0, "oneclick_ok": 0,
                               "google": 0, "yahoo": 0, "microsoft": 0})
        e["messages"] += 1
        e["spf_pass"] += "spf=pass" in ar
        e["dkim_pass"] += "dkim=pass" in ar
        e["dmarc_pass"] += "dmarc=pass" in ar
        e["aligned"] += rec["rules"]["dmarc-align"]["state"] == "pass"
        e["bulk_messages"] += "bulk=yes" in comp
        e["oneclick_ok"] += ("bulk=yes" in comp) and rec["unsubscribe"]["oneclick"] == "pass"
        failed = set()
        for prof in ("google", "yahoo", "microsoft"):
            m = re.search(r"%s=(pass|fail)(?: policy\.rules=\"([^\"]*)\")?" % prof, comp)
            check(m, "%s verdict in %r" % (prof, comp))
            e[prof] += m.group(1) == "pass"
            for rule in (m.group(2) or "").split(","):
                if rule:
                    rules.setdefault(rule, {"messages": set(), "google": 0, "yahoo": 0, "microsoft": 0,
                                            "domains": {}})
                    rules[rule][prof] += 1
                    failed.add(rule)
        for rule in failed:
            rules[rule]["messages"].add(r["qid"])
            rules[rule]["domains"][d] = rules[rule]["domains"].get(d, 0) + 1
    return dom, rules


@case
def send_main_run():
    for frm, sign, extra, hl, ip, tls, mfrom in MAIN:
        drop = ("From",) if frm is None else ()
        m = msg(frm or "x@good.test", extra=extra, sign=sign, headers=hl if frm else SIGNED[1:],
                drop=drop)
        r = send(CTX.milter, m, ip=ip, mail_from=mfrom, tls=tls)
        eq(r["eom"], "a", "accepted")
        CTX.sent.append([r, None])
    eq(wait_rows(CTX.db, len(MAIN)), len(MAIN), "rows committed")
    recs = log_records(CTX.milter)
    for pair in CTX.sent:
        check(pair[0]["qid"] in recs, "a JSON log record for %s" % pair[0]["qid"])
        pair[1] = recs[pair[0]["qid"]]


@case
def json_log_record_fields():
    """LogFormat json writes the summary of the one JSON shape (README: The JSON record)."""
    r, rec = CTX.sent[0]
    eq(rec.get("version"), 1, "shape version")
    for k in ("queue_id", "client", "mail_from", "mail_from_domain", "from_domain", "spf", "dkim",
              "dmarc", "rules", "iprev", "tls", "unsubscribe", "bulk", "profiles", "action", "dns", "ms"):
        check(k in rec, "field %s in %r" % (k, rec))
    eq(rec["client"]["ip"], "192.0.2.10", "client ip")
    eq(rec["from_domain"], "good.test", "from_domain")
    eq(rec["mail_from_domain"], "good.test", "mail_from_domain")
    eq(rec["dkim"][0]["domain"], "good.test", "dkim domain")
    eq(rec["dkim"][0]["result"], "pass", "dkim result")
    eq(rec["rules"]["dmarc-align"]["state"], "pass", "aligned")
    eq(rec["unsubscribe"]["oneclick"], "pass", "one-click")
    eq(rec["bulk"]["bulk"], True, "bulk")
    eq(rec["profiles"]["google"], {"verdict": "pass", "failed": []}, "google")
    eq(rec["tls"]["result"], "yes", "tls")
    # a time stamp of its own (RFC 3339 UTC, ms), close to now
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec.get("time", "")), "time %r" % rec)
    stamp = calendar.timegm(time.strptime(rec["time"][:19], "%Y-%m-%dT%H:%M:%S"))
    check(abs(stamp - time.time()) < 600, "time %s is not about now" % rec["time"])
    # the summary: no detail of sendercheck-test's full record
    check("walk" not in rec["spf"] and "reason" not in rec["rules"]["spf"] and "text" not in rec["action"],
          "summary only: %r" % rec)
    rec6 = CTX.sent[6][1]
    eq(rec6["spf"]["result"], "fail", "spf fail logged")
    eq(rec6["iprev"]["result"], "permerror", "no PTR")
    check("iprev" in [f["rule"] for f in rec6["profiles"]["google"]["failed"]], "google fails iprev: %r" % rec6)


@case
def domains_json_exact():
    want, _ = expected()
    # facts of the mail sent, not only agreement with the milter's own fields
    eq(want["good.test"]["messages"], 4, "good.test messages")
    eq(want["good.test"]["google"], 3, "good.test: the message without TLS fails Google")
    eq(want["good.test"]["bulk_messages"], 3, "good.test bulk")
    eq(want["good.test"]["oneclick_ok"], 3, "good.test one-click")
    eq(want["other.test"]["spf_pass"], 0, "other.test SPF")
    eq(want["nodmarc.test"]["dmarc_pass"], 0, "nodmarc.test DMARC")
    check("(none)" in want, "the message without From counts as (none)")
    got = json.loads(tool("domains", "--format", "json"))
    rows = {d["domain"]: d for d in got["domains"]}
    eq(sorted(rows), sorted(want), "domains")
    for d, w in want.items():
        g = rows[d]
        for k in ("messages", "spf_pass", "dkim_pass", "dmarc_pass", "aligned", "bulk_messages",
                  "oneclick_ok"):
            eq(g[k], w[k], "%s %s" % (d, k))
        for prof in ("google", "yahoo", "microsoft"):
            eq(g["profiles"][prof]["judged"], w["messages"], "%s %s judged" % (d, prof))
            eq(g["profiles"][prof]["compliant"], w[prof], "%s %s compliant" % (d, prof))
        eq(g["bulk"], w["bulk_messages"] > 0, "%s bulk" % d)
        eq(g["spf_pass_pct"], round(100.0 * w["spf_pass"] / w["messages"], 2), "%s spf %%" % d)
    # most messages first
    eq(got["domains"][0]["domain"], "good.test", "order")


@case
def domains_csv_exact():
    want, _ = expected()
    rows = list(csv.DictReader(io.StringIO(tool("domains", "--format", "csv"))))
    eq(sorted(r["domain"] for r in rows), sorted(want), "domains")
    for r in rows:
        w = want[r["domain"]]
        eq(int(r["messages"]), w["messages"], "messages")
        eq(int(r["spf_pass"]), w["spf_pass"], "spf")
        eq(int(r["dkim_pass"]), w["dkim_pass"], "dkim")
        eq(int(r["dmarc_pass"]), w["dmarc_pass"], "dmarc")
        eq(int(r["google_compliant"]), w["google"], "google")
        eq(int(r["microsoft_compliant"]), w["microsoft"], "microsoft")
        eq(r["bulk"], "yes" if w["bulk_messages"] else "no", "bulk")


@case
def domains_text_table():
    want, _ = expected()
    out = tool("domains")
    lines = out.splitlines()
    for line in lines:
        check(len(line) <= 100, "line fits 100 columns: %r" % line)
    head = lines[0].split()
    eq(head[:3], ["DOMAIN", "MSGS", "SPF%"], "header")
    rows = {l.split()[0]: l.split() for l in lines[1:-1]}
    eq(sorted(rows), sorted(want), "rows")
    for d, w in want.items():
        eq(int(rows[d][1]), w["messages"], "%s messages" % d)
        eq(rows[d][2], "%.1f" % (100.0 * w["spf_pass"] / w["messages"]), "%s SPF%%" % d)
        eq(rows[d][7], "%.1f" % (100.0 * w["google"] / w["messages"]), "%s GOOGLE%%" % d)
        eq(rows[d][-1], "yes" if w["bulk_messages"] else "no", "%s bulk" % d)
    contains(lines[-1], "%d messages" % len(MAIN), "total line")
    CTX.domains_table = out


@case
def domains_filters_and_sort():
    got = json.loads(tool("domains", "--format", "json", "--domain", "other.test"))
    eq([d["domain"] for d in got["domains"]], ["other.test"], "--domain")
    got = json.loads(tool("domains", "--format", "json", "--top", "2"))
    eq(len(got["domains"]), 2, "--top 2")
    got = json.loads(tool("domains", "--format", "json", "--sort", "spf"))
    eq(got["domains"][0]["domain"], "other.test", "--sort spf: worst first")
    got = json.loads(tool("domains", "--format", "json", "--sort", "domain"))
    names = [d["domain"] for d in got["domains"]]
    eq(names, sorted(names), "--sort domain")
    got = json.loads(tool("domains", "--format", "json", "--since", "2099-01-01"))
    eq(got["domains"], [], "--since in the future: nothing")
    for rep in ("rules", "trend"):
        tool(rep, "--since", "2099-01-01")
    empty = os.path.join(WORK, "empty.html")
    tool("--html", empty, "--since", "2099-01-01")
    contains(open(empty).read(), "no messages in this window", "empty report")
    for since in ("24h", "7d", "2w", "90m", "all", time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))):
        got = json.loads(tool("domains", "--format", "json", "--since", since))
        eq(sum(d["messages"] for d in got["domains"]), len(MAIN), "--since %s" % since)
    tool("domains", "--since", "yesterday", expect_rc=2)
    tool("domains", "--format", "xml", expect_rc=2)
    tool("bogus", expect_rc=2)


@case
def rules_exact():
    _, want = expected()
    check("dmarc-record" in want and "iprev" in want and "tls" in want, "rules failed: %r" % sorted(want))
    got = json.loads(tool("rules", "--format", "json"))
    eq(got["messages"], len(MAIN), "messages in window")
    rows = {r["rule"]: r for r in got["rules"]}
    eq(sorted(rows), sorted(want), "rules")
    for rule, w in want.items():
        g = rows[rule]
        eq(g["messages"], len(w["messages"]), "%s messages" % rule)
        for prof in ("google", "yahoo", "microsoft"):
            eq(g["profiles"][prof], w[prof], "%s %s" % (rule, prof))
        eq({t["domain"]: t["messages"] for t in g["top_domains"]}, w["domains"], "%s domains" % rule)
    eq(rows["dmarc-record"]["top_domains"][0]["domain"], "nodmarc.test", "dmarc-record fails nodmarc.test")
    # text and csv carry the same numbers
    text = tool("rules")
    for line in text.splitlines():
        check(len(line) <= 100, "fits 100 columns: %r" % line)
    for line in text.splitlines()[1:-1]:
        f = line.split()
        eq(int(f[1]), len(want[f[0]]["messages"]), "text %s" % f[0])
    for r in csv.DictReader(io.StringIO(tool("rules", "--format", "csv"))):
        eq(int(r["messages"]), len(want[r["rule"]]["messages"]), "csv %s" % r["rule"])
        eq(int(r["google"]), want[r["rule"]]["google"], "csv %s google" % r["rule"])


@case
def ips_exact():
    """Per client address: the same counts as per domain, keyed by the IP."""
    got = json.loads(tool("ips", "--format", "json"))
    eq(got["report"], "ips", "report")
    by_ip = {}
    for r, rec in CTX.sent:
        by_ip.setdefault(rec["client"]["ip"] if isinstance(rec.get("client"), dict) else rec["client_ip"],
                         []).append(rec)
    eq(sorted(i["ip"] for i in got["ips"]), sorted(by_ip), "addresses")
    for i in got["ips"]:
        eq(i["messages"], len(by_ip[i["ip"]]), "messages from " + i["ip"])
    text = tool("ips")
    contains(text, "CLIENT IP", "text header")
    contains(text, "%d addresses, %d messages since 7d" % (len(by_ip), len(CTX.sent)), "text total")
    csv_rows = list(csv.DictReader(io.StringIO(tool("ips", "--format", "csv"))))
    eq(sorted(r["ip"] for r in csv_rows), sorted(by_ip), "csv")


@case
def selectors_exact():
    """DKIM signatures per signing domain and selector, from the store."""
    want = {}
    for r, rec in CTX.sent:
        for d in rec["dkim"]:
            k = (d["domain"], d["selector"])
            w = want.setdefault(k, [0, 0])
            w[0] += 1
            w[1] += d["result"] == "pass"
    got = json.loads(tool("selectors", "--format", "json"))
    eq({(s["domain"], s["selector"]): [s["signatures"], s["pass"]] for s in got["selectors"]}, want,
       "per selector")
    check(want, "the run signed messages")
    text = tool("selectors")
    contains(text, "SIGNING DOMAIN", "header")
    contains(text, "good.test", "a row")
    got = json.loads(tool("selectors", "--format", "json", "--domain", "other.test"))
    eq({s["domain"] for s in got["selectors"]}, {"other.test"}, "--domain")


@case
def backup_is_a_complete_copy_even_while_writing():
    dest = os.path.join(WORK, "backup.db")
    out = tool("backup", dest)
    contains(out, "copied to " + dest, "message")
    con = sqlite3.connect(dest)
    eq(con.execute("SELECT count(*) FROM messages").fetchone()[0], len(CTX.sent), "rows in the copy")
    eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "integrity")
    con.close()
    # never over an existing file
    p = subprocess.run([TOOL, "--db", CTX.db, "backup", dest], capture_output=True, text=True)
    eq(p.returncode, 1, "refuses an existing file")
    contains(p.stderr, "File exists", "reason")
    p = subprocess.run([TOOL, "--db", CTX.db, "backup"], capture_output=True, text=True)
    eq(p.returncode, 2, "backup without FILE")
    # while the daemon writes: a copy taken mid-burst holds whole batches and checks ok
    db = os.path.join(WORK, "busy.db")
    sc = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": db}, name="busy").start()
    try:
        t = threading.Thread(target=burst, args=(sc.socket, 200, "B"))
        t.start()
        time.sleep(0.3)
        mid = os.path.join(WORK, "mid.db")
        subprocess.run([TOOL, "--db", db, "backup", mid], check=True, capture_output=True)
        t.join()
    finally:
        sc.stop()
    con = sqlite3.connect(mid)
    eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "mid-write copy integrity")
    n_mid = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    eq(con.execute("SELECT sum(messages) FROM daily").fetchone()[0] or 0, n_mid, "totals agree with rows")
    con.close()
    # a clean stop checkpoints: the file alone (no -wal) holds every row
    wal = db + "-wal"
    check(not os.path.exists(wal) or os.path.getsize(wal) == 0, "WAL left with data after a clean stop")
    plain = os.path.join(WORK, "plain-copy.db")
    shutil.copy(db, plain)
    con = sqlite3.connect(plain)
    eq(con.execute("SELECT count(*) FROM messages").fetchone()[0], 200, "a plain copy after stop is whole")
    con.close()


@case
def trend_today():
    got = json.loads(tool("trend", "--format", "json"))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    eq([d["day"] for d in got["days"]], [today], "one day")
    eq(got["days"][0]["messages"], len(MAIN), "messages today")
    got = json.loads(tool("trend", "--format", "json", "--domain", "good.test"))
    eq(got["days"][0]["messages"], 4, "good.test today")
    eq(got["days"][0]["profiles"]["google"]["compliant"], 3, "good.test google today")
    rows = list(csv.DictReader(io.StringIO(tool("trend", "--format", "csv"))))
    eq(int(rows[0]["messages"]), len(MAIN), "csv")
    for line in tool("trend").splitlines():
        check(len(line) <= 100, "fits 100 columns")


# ---- metrics ----

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                  r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? '
                  r'(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$')


def parse_metrics(text):
    """A strict parser of the text format 0.0.4: every line a HELP, a TYPE or
    a sample of a declared family; histogram buckets cumulative and ending
    in +Inf equal to _count. Returns {(name, labels): value}."""
    check(text.endswith("\n"), "ends with a newline")
    types, samples = {}, {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            check(typ in ("counter", "gauge", "histogram", "summary", "untyped"), "type " + typ)
            check(name not in types, "one TYPE for " + name)
            types[name] = typ
            continue
        m = LINE.match(line)
        check(m, "sample line parses: %r" % line)
        name, labels = m.group(1), m.group(3) or ""
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        check(family in types, "declared family for %s" % name)
        key = (name, labels)
        check(key not in samples, "no duplicate sample %r" % (key,))
        samples[key] = float(m.group(4))
    for fam, typ in types.items():
        if typ == "counter":
            check(fam.endswith("_total"), "counter named _total: " + fam)
        if typ == "histogram":
            buckets = [(k[1], v) for k, v in samples.items() if k[0] == fam + "_bucket"]
            vals = [v for _, v in buckets]
            eq(vals, sorted(vals), "cumulative buckets")
            check(buckets[-1][0] == 'le="+Inf"', "last bucket +Inf")
            eq(buckets[-1][1], samples[(fam + "_count", "")], "+Inf = count")
    return samples


@case
def metrics_match_what_was_sent():
    text = scrape(CTX.metrics_port)
    s = parse_metrics(text)
    n = len(MAIN)
    eq(s[("sendercheck_messages_total", 'action="accept"')], n, "accepted")
    eq(s[("sendercheck_messages_total", 'action="reject"')], 0, "rejected")
    spf_pass = sum("spf=pass" in r["headers"]["Authentication-Results"] for r, _ in CTX.sent)
    eq(s[("sendercheck_results_total", 'method="spf",result="pass"')], spf_pass, "spf pass")
    eq(s[("sendercheck_results_total", 'method="spf",result="fail"')], 2, "spf fail (other.test)")
    eq(s[("sendercheck_results_total", 'method="dmarc",result="none"')], 2, "dmarc none (nodmarc.test)")
    want, _ = expected()
    for prof in ("google", "yahoo", "microsoft"):
        ok = sum(w[prof] for w in want.values())
        eq(s[("sendercheck_verdicts_total", 'profile="%s",verdict="pass"' % prof)], ok, prof + " pass")
        eq(s[("sendercheck_verdicts_total", 'profile="%s",verdict="fail"' % prof)], n - ok, prof + " fail")
    eq(s[("sendercheck_check_duration_seconds_count", "")], n, "histogram count")
    # the sum in seconds at microsecond resolution: never 0 for real work
    # (whole milliseconds made it 0), and at most each check's bucket bound
    hsum = s[("sendercheck_check_duration_seconds_sum", "")]
    check(0 < hsum < n * 10, "histogram sum %r for %d checks" % (hsum, n))
    eq(s[("sendercheck_stats_written_total", "")], n, "stats written")
    eq(s[("sendercheck_stats_dropped_total", "")], 0, "stats dropped")
    check(s[("sendercheck_dns_queries_total", "")] > 0, "dns queries counted")
    check(s[("sendercheck_dns_cache_hits_total", "")] > 0, "dns cache hits counted")
    # promtool (Debian's prometheus) agrees it is valid exposition text
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
        eq(p.returncode, 0, "promtool check metrics: %s" % p.stdout.decode() + p.stderr.decode())
    # only /metrics
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % CTX.metrics_port, timeout=5)
        check(False, "404 expected")
    except urllib.error.HTTPError as e:
        eq(e.code, 404, "other path")


# ---- the HTML report in Chromium ----

@case
def html_report_in_chromium():
    page = os.path.join(WORK, "report.html")
    tool("--html", page)
    html = open(page).read()
    check(not re.search(r'(src|href)=["\']?(https?:|//)', html), "no external assets")
    check("<script" not in html, "no scripts")
    shot = os.path.join(WORK, "report.png")
    exprs = ["document.querySelectorAll('svg#chart-days circle').length",
             "document.querySelectorAll('svg#chart-rules g.bar rect').length",
             "document.querySelectorAll('table#domains tbody tr').length",
             "document.querySelector('svg#chart-days').getBoundingClientRect().width",
             "document.title",
             "document.querySelector('table#domains tfoot td.n').textContent",
             "[...document.querySelectorAll('table#actions tbody tr')].map(r => r.cells[0].textContent"
             " + '=' + r.cells[1].textContent).join(' ')",
             # coinciding points stay visible: every series' points have their own size
             "new Set([...document.querySelectorAll('svg#chart-days circle')].map(c => c.getAttribute('r'))).size",
             "new Set([...document.querySelectorAll('svg#chart-days polyline')].map(c => "
             "c.getAttribute('stroke-dasharray'))).size",
             # the first date label lies inside the chart (it ran off the left edge)
             "document.querySelector('svg#chart-days text[transform]').getBoundingClientRect().left - "
             "document.querySelector('svg#chart-days').getBoundingClientRect().left"]
    r = cdp.load("file://" + page, shot, exprs)
    eq(r["errors"], [], "console errors")
    eq([u for u in r["requests"] if not u.startswith(("file:", "data:", "about:"))], [], "no network")
    v = r["values"]
    eq(v[exprs[0]], 4, "one point per day per series (3 profiles + DMARC)")
    _, rules = expected()
    eq(v[exprs[1]], len(rules), "one bar per failed rule")
    eq(v[exprs[2]], len(expected()[0]), "one row per domain")
    check(v[exprs[3]] > 300, "chart has a size")
    eq(v[exprs[4]], "sendercheck compliance statistics", "title")
    eq(int(v[exprs[5]]), len(CTX.sent), "totals row: every message")
    eq(v[exprs[6]], "accept=%d reject=0 tempfail=0 quarantine=0" % len(CTX.sent), "action counts")
    eq(v[exprs[7]], 4, "a point size per series")
    eq(v[exprs[8]], 4, "a dash pattern per series")
    check(v[exprs[9]] >= 0, "first date label cut off: %r px" % v[exprs[9]])
    with open(shot, "rb") as f:
        png = f.read()
    check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000, "screenshot is a PNG")
    out = os.environ.get("STATS_SCREENSHOT")
    if out:
        shutil.copy(shot, out)
    # the check itself works: a page with an error and a missing asset is caught
    bad = os.path.join(WORK, "bad.html")
    with open(bad, "w") as f:
        f.write('<!DOCTYPE html><p>x</p><script>console.error("e")</script><img src="missing.png">')
    r = cdp.load("file://" + bad)
    check(len(r["errors"]) >= 2, "errors of a broken page are seen: %r" % r["errors"])


# ---- crash, full queue, schema, retention ----

def burst(sock, n, tag, parallel=1, from_domain="good.test"):
    """n messages per process over parallel miltertest processes; returns
    (elapsed seconds, replies)."""
    headers, body = mail.split(msg("news@" + from_domain, extra=ONECLICK, sign=(from_domain, "s1"),
                                   headers=SIGNED_LU))
    procs = []
    scripts = []
    for k in range(parallel):
        script = os.path.join(WORK, "burst-%s-%d.lua" % (tag, k))
        with open(script, "w", encoding="latin-1") as f:
            f.write(lua.burst(sock, n, "%s%d-" % (tag, k), headers, body,
                              mail_from="<b@%s>" % from_domain))
        scripts.append(script)
    t0 = time.time()
    for script in scripts:
        procs.append(subprocess.Popen(["miltertest", "-s", script], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT))
    replies = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        replies += [l[4:] for l in out.decode("latin-1").splitlines() if l.startswith("EOM ")]
    return time.time() - t0, replies


@case
def kill9_while_writing():
    db = os.path.join(WORK, "kill.db")
    sc = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": db,
                                   "LogLevel": "debug"}, name="kill").start()
    # a first burst, committed
    _, replies = burst(sc.socket, 50, "K")
    eq(replies.count("a"), 50, "accepted")
    eq(wait_rows(db, 50), 50, "first burst committed")
    # a second burst, killed in the middle of it
    holder = {}
    t = threading.Thread(target=lambda: holder.update(r=burst(sc.socket, 400, "L", parallel=2)))
    t.start()
    deadline = time.time() + 60
    while time.time() < deadline and wait_rows(db, 120, timeout=0.05) < 120:
        time.sleep(0.02)
    sc.proc.send_signal(signal.SIGKILL)
    sc.proc.wait()
    sc.stop(expect=-signal.SIGKILL)
    t.join(120)
    committed = sum(int(m) for m in re.findall(r"stats: committed (\d+)", sc.read_log()))
    con = sqlite3.connect(db, timeout=5)
    eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "integrity after kill -9")
    rows = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    totals = con.execute("SELECT sum(messages) FROM daily").fetchone()[0]
    failed = [r[1] for r in con.execute("PRAGMA table_info(messages)") if r[1].endswith("_failed")]
    fails = sum(len([t for t in (v or "").split(",") if t])
                for row in con.execute("SELECT %s FROM messages WHERE skipped = 0" % ", ".join(failed))
                for v in row)
    fail_totals = con.execute("SELECT sum(failures) FROM daily_rules").fetchone()[0] or 0
    con.close()
    check(rows >= committed, "every committed batch is there: %d rows, %d logged as committed" % (rows, committed))
    check(rows >= 120, "rows of the bursts: %d" % rows)
    eq(totals, rows, "daily totals agree with the rows: whole batches only")
    eq(fail_totals, fails, "rule totals agree with the messages' failed lists")
    # the daemon opens the file again and goes on counting
    sc2 = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": db}, name="kill2").start()
    try:
        _, replies = burst(sc2.socket, 5, "M")
        eq(replies.count("a"), 5, "accepted after restart")
        eq(wait_rows(db, rows + 5), rows + 5, "counting again")
    finally:
        sc2.stop()


@case
def full_queue_drops_stats_not_mail():
    """Another process holds the write lock for a whole burst: every message
    is accepted at once, and each verdict is either queued or dropped.
    Deterministic under any load: start() returns only once the daemon has
    opened its database (it logs "listening on" after that), so the lock is
    taken after, never before, the daemon's open; the writer holds at most
    one batch taken from the queue, so at most 2 x StatsQueueSize verdicts
    are queued, whenever the writer thread runs."""
    qsize = 3
    db = os.path.join(WORK, "full.db")
    port = free_port()
    sc = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": db, "StatsQueueSize": qsize,
                                   "MetricsSocket": "inet:%d@127.0.0.1" % port}, name="full").start()
    try:
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        elapsed, replies = burst(sc.socket, 30, "F")
        eq(replies.count("a"), 30, "all mail accepted")
        # waiting for the store would take the 2 s busy timeout per message
        check(elapsed < 30, "no message waited for the store (%.1f s for 30)" % elapsed)
        s = parse_metrics(scrape(port))
        dropped = s[("sendercheck_stats_dropped_total", "")]
        queued = s[("sendercheck_stats_queued_total", "")]
        eq(dropped + queued, 30, "each verdict queued or dropped")
        check(1 <= queued <= 2 * qsize, "queued: the queue plus one batch in hand at most: %d" % queued)
        eq(s[("sendercheck_messages_total", 'action="accept"')], 30, "every message counted in metrics")
        con.execute("ROLLBACK")
        con.close()
        eq(wait_rows(db, queued, timeout=30), queued, "what was queued is written once the lock is gone")
        deadline = time.time() + 30
        while time.time() < deadline:
            written = parse_metrics(scrape(port))[("sendercheck_stats_written_total", "")]
            if written >= queued:
                break
            time.sleep(0.1)
        eq(written, queued, "written")
    finally:
        sc.stop()
    contains(sc.read_log(), "dropped (queue full)", "shutdown summary")


V1_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, day TEXT NOT NULL,
 domain TEXT NOT NULL, queue_id TEXT, client_ip TEXT, client_name TEXT, helo TEXT,
 mail_from_domain TEXT, from_domain TEXT, dkim TEXT, dkim_pass INTEGER, spf TEXT, dmarc TEXT,
 aligned INTEGER, iprev TEXT, tls TEXT, oneclick TEXT, bulk INTEGER, google TEXT,
 google_failed TEXT, yahoo TEXT, yahoo_failed TEXT, microsoft TEXT, microsoft_failed TEXT,
 action TEXT, cause TEXT, skipped INTEGER NOT NULL DEFAULT 0);
CREATE INDEX messages_time ON messages(time);
CREATE INDEX messages_domain_time ON messages(domain, time);
CREATE TABLE failures (msg_id INTEGER NOT NULL, time INTEGER NOT NULL, domain TEXT NOT NULL,
 profile TEXT NOT NULL, rule TEXT NOT NULL);
CREATE INDEX failures_time ON failures(time);
CREATE INDEX failures_msg ON failures(msg_id);
CREATE TABLE daily (day TEXT NOT NULL, domain TEXT NOT NULL, messages INTEGER NOT NULL DEFAULT 0,
 spf_pass INTEGER NOT NULL DEFAULT 0, dkim_pass INTEGER NOT NULL DEFAULT 0,
 dmarc_pass INTEGER NOT NULL DEFAULT 0, aligned INTEGER NOT NULL DEFAULT 0,
 bulk INTEGER NOT NULL DEFAULT 0, bulk_oneclick INTEGER NOT NULL DEFAULT 0,
 google_n INTEGER NOT NULL DEFAULT 0, google_pass INTEGER NOT NULL DEFAULT 0,
 yahoo_n INTEGER NOT NULL DEFAULT 0, yahoo_pass INTEGER NOT NULL DEFAULT 0,
 microsoft_n INTEGER NOT NULL DEFAULT 0, microsoft_pass INTEGER NOT NULL DEFAULT 0,
 accepted INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
 tempfailed INTEGER NOT NULL DEFAULT 0, quarantined INTEGER NOT NULL DEFAULT 0,
 PRIMARY KEY (day, domain)) WITHOUT ROWID;
CREATE TABLE daily_rules (day TEXT NOT NULL, domain TEXT NOT NULL, profile TEXT NOT NULL,
 rule TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
 PRIMARY KEY (day, domain, profile, rule)) WITHOUT ROWID;
PRAGMA application_id = 1396919089;
PRAGMA user_version = 1;
"""


def v1_row(con, t, domain):
    day = time.strftime("%Y-%m-%d", time.gmtime(t))
    con.execute("INSERT INTO messages (time, day, domain, from_domain, spf, google, google_failed, action)"
                " VALUES (?, ?, ?, ?, 'pass', 'fail', 'tls', 'accept')", (t, day, domain, domain))
    mid = con.execute("SELECT last_insert_rowid()").fetchone()[0]
    con.execute("INSERT INTO failures VALUES (?, ?, ?, 'google', 'tls')", (mid, t, domain))
    con.execute("INSERT INTO daily (day, domain, messages, spf_pass, google_n) VALUES (?, ?, 1, 1, 1)"
                " ON CONFLICT (day, domain) DO UPDATE SET messages = messages + 1,"
                " spf_pass = spf_pass + 1, google_n = google_n + 1", (day, domain))
    con.execute("INSERT INTO daily_rules VALUES (?, ?, 'google', 'tls', 1) ON CONFLICT DO UPDATE"
                " SET failures = failures + 1", (day, domain))


@case
def schema_v1_upgraded_and_old_rows_pruned():
    db = os.path.join(WORK, "v1.db")
    con = sqlite3.connect(db)
    con.executescript(V1_SCHEMA)
    now = int(time.time())
    v1_row(con, now - 100 * 86400, "old.test")      # past StatsRetention 90
    v1_row(con, now - 3600, "kept.test")
    con.commit()
    con.close()
    # the report tool reads a v1 file only after upgrading it: the daemon does that
    sc = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": db}, name="v1").start()
    try:
        r = send(sc, msg(), tls=False)     # Google's TLS rule fails
        eq(r["eom"], "a", "accepted")
        eq(wait_rows(db, 2), 2, "old row pruned, new row written")
    finally:
        sc.stop()
    con = sqlite3.connect(db)
    eq(con.execute("PRAGMA user_version").fetchone()[0], 6, "upgraded to version 6")
    eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "integrity")
    eq(sorted(r[0] for r in con.execute("SELECT domain FROM messages")), ["good.test", "kept.test"],
       "rows kept")
    eq(con.execute("SELECT count(*) FROM daily WHERE domain = 'old.test'").fetchone()[0], 0, "old totals pruned")
    eq(sorted(r[0] for r in con.execute("SELECT domain FROM failures")), ["kept.test"],
       "no failure row written since version 6 (the messages' failed lists say it); the old"
       " message's pruned with it (by time), the kept one's kept")
    check(con.execute("SELECT count(*) FROM messages WHERE domain = 'good.test' AND google_failed IS NOT NULL")
          .fetchone()[0] == 1, "the new message failed a rule (that a failure row would have said)")
    eq(sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                        " AND tbl_name = 'messages' AND sql IS NOT NULL")),
       ["messages_domain_time", "messages_time"], "no index of messages by host since version 5")
    row = con.execute("SELECT dns_queries, elapsed_ms FROM messages WHERE domain = 'good.test'").fetchone()
    check(row[0] is not None and row[0] > 0, "new columns filled: %r" % (row,))
    hosts = dict(con.execute("SELECT domain, host FROM messages"))
    eq(hosts, {"kept.test": None, "good.test": socket.gethostname()},
       "new rows name the host (HostName, default the system's), rows from before do not")
    con.close()
    got = json.loads(evidence.run([TOOL, "--db", db, "domains", "--format", "json"]).stdout)
    eq(sorted(d["domain"] for d in got["domains"]), ["good.test", "kept.test"], "report after upgrade")
    got = json.loads(evidence.run([TOOL, "--db", db, "rules", "--domain", "kept.test", "--format", "json"]).stdout)
    eq([(r["rule"], r["messages"]) for r in got["rules"]], [("tls", 1)],
       "the kept message's failure in the rules report, the old one's pruned with it")


@case
def foreign_or_missing_file():
    p = evidence.run([TOOL, "--db", os.path.join(WORK, "nothing.db")], expect=1)
    contains(p.stderr.decode(), "no statistics file", "says so")
    foreign = os.path.join(WORK, "foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE x (y)")
    con.commit()
    con.close()
    p = evidence.run([TOOL, "--db", foreign], expect=1)
    contains(p.stderr.decode(), "not a sendercheck statistics file", "says so")
    # the daemon with an unusable StatsDB still filters mail
    sc = Sendercheck(BUILD, WORK, {"Nameservers": CTX.dns.address, "StatsDB": foreign}, name="foreign").start()
    try:
        eq(send(sc, msg())["eom"], "a", "mail goes on without statistics")
    finally:
        sc.stop()
    contains(sc.read_log(), "no statistics:", "logged")
    con = sqlite3.connect(foreign)
    eq([r[0] for r in con.execute("SELECT name FROM sqlite_master")], ["x"], "foreign file untouched")
    con.close()


@case
def config_reads_statsdb():
    conf = os.path.join(WORK, "tool.conf")
    with open(conf, "w") as f:
        f.write("StatsDB %s\nInternalHosts none\n" % CTX.db)
    p = evidence.run([TOOL, "-c", conf, "domains", "--format", "json"])
    eq(sum(d["messages"] for d in json.loads(p.stdout)["domains"]), len(MAIN), "same file")
    with open(conf, "w") as f:
        f.write("MetricsSocket unix:/tmp/x\n")
    p = evidence.run([os.path.join(BUILD, "milter", "sendercheck"), "-n", "-c", conf], expect=1)
    contains(p.stderr.decode(), "MetricsSocket", "names the option")


# ---- throughput: stats on vs off ----

@case
def bursts_with_stats_on_and_off():
    """2 miltertest processes x N messages each, stats (+ metrics + JSON
    log) on vs all off, alternated: every message is accepted and, with
    stats on, stored. Messages per second are printed, not judged (tests
    are not timed)."""
    n = int(os.environ.get("STATS_BENCH_N", "150"))
    rates = {"off": [], "on": []}
    for rnd in range(int(os.environ.get("STATS_BENCH_ROUNDS", "2"))):
        for mode in ("off", "on"):
            opts = {"Nameservers": CTX.dns.address, "LogLevel": "notice"}
            if mode == "on":
                opts.update({"StatsDB": os.path.join(WORK, "bench-%d.db" % rnd), "LogFormat": "json",
                             "MetricsSocket": "inet:%d@127.0.0.1" % free_port()})
            sc = Sendercheck(BUILD, WORK, opts, name="bench-%s-%d" % (mode, rnd)).start()
            try:
                burst(sc.socket, 10, "W%s%d" % (mode, rnd), from_domain="bench.test")   # warm the DNS cache
                elapsed, replies = burst(sc.socket, n, "B%s%d" % (mode, rnd), parallel=2,
                                         from_domain="bench.test")
                eq(replies.count("a"), 2 * n, "accepted")
                rates[mode].append(2 * n / elapsed)
                if mode == "on":    # the warming 10 and the burst, all stored
                    eq(wait_rows(opts["StatsDB"], 10 + 2 * n), 10 + 2 * n, "verdicts stored")
            finally:
                sc.stop()
    off, on = max(rates["off"]), max(rates["on"])
    print("throughput: stats off %.0f msg/s, stats on %.0f msg/s (%+.1f %%); rounds off %s on %s" % (
        off, on, 100.0 * (on - off) / off, ["%.0f" % r for r in rates["off"]],
        ["%.0f" % r for r in rates["on"]]), flush=True)


if __name__ == "__main__":
    TITLE = "compliance statistics (store, sendercheck-stats, HTML, metrics)"
    for feature, lib in (("SQLITE3", "SQLite"), ("MHD", "libmicrohttpd")):
        if not built_with(BUILD, feature):
            sys.exit(skip_group(TITLE, "%s was built without %s" % (BUILD, lib)))
    sys.exit(run(TITLE, lambda: setup(), teardown))
