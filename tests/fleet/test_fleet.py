"""A fleet of MX hosts (issue 15): three sendercheck daemons sharing one
real Redis (SharedState) and one real PostgreSQL (StatsDB), all started
by this test on loopback ports in a temporary directory, against unbound.
The PostgreSQL cluster is private (initdb as an unprivileged user), with
password authentication over TCP; the daemons read the password from a
password file (passfile= in the URI).

Redis: a domain's messages split over the three hosts cross BulkThreshold
in total but on no host alone, and are judged bulk (volume) on every host
from then on, with the fleet-wide count in the reason; the sticky bulk
mark; exact totals with parallel senders; Redis killed and restarted
(empty), and hung (SIGSTOP): no mail waits, the counts made meanwhile are
written when it is back, nothing twice; wrong password, bad URIs.

PostgreSQL: every message of every daemon stored once, with its host;
sendercheck-stats per host and for the site, and the same JSON from an
SQLite and a PostgreSQL store fed the same mail; three daemons started at
once against an empty database; the server stopped and started (the queue
holds, then drops, the metrics say so; mail never waits); a database of an
older schema upgraded in place; a wrong password stops the start, naming
the URI and not the password; sqldb's unit test against the real server.
Run: /usr/bin/python3 test_fleet.py BUILDDIR [CASE...]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import mail                                                   # noqa: E402
from milter import Sendercheck, run_session                   # noqa: E402
import servers                                                # noqa: E402
import testdns                                                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
DAEMON = os.path.join(BUILD, "milter", "sendercheck")
TOOL = os.path.join(BUILD, "tools", "sendercheck-stats")
PG_PASSWORD = "fl33t-pw"
WORK = tempfile.mkdtemp(prefix="sc-fleet-")
GOOD_IP = "192.0.2.10"
DOMAINS = ("good.test", "par.test", "sticky.test", "old.test", "down.test", "hung.test",
           "unix.test", "auth.test", "reload.test", "restart.test", "lost.test")
THRESHOLD = 10
# SharedStateTimeout. Large on purpose: the message path never talks to
# Redis, and a check that did would wait the whole timeout, which a loaded
# (ASan, 2-core) machine's ordinary delays of tens of ms never reach.
TIMEOUT_MS = 500
HOSTS = ("mx1", "mx2", "mx3")
DB = 3          # the Redis database the fleet uses
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


class Ctx:
    pass


CTX = Ctx()


def pg_uri(db="stats", passfile=None):
    return "postgresql://sc@127.0.0.1:%d/%s?passfile=%s" % (CTX.pg.port, db, passfile or CTX.passfile)


def daemon_options(host, extra=None):
    o = {"Nameservers": CTX.dns.address, "BulkDetection": "volume", "BulkThreshold": str(THRESHOLD),
         "SharedState": "%s/%d" % (CTX.redis.uri, DB), "SharedStateTimeout": "%g" % (TIMEOUT_MS / 1000),
         "HostName": host, "LogFormat": "json", "StatsDB": pg_uri(),
         "MetricsSocket": "inet:%d@127.0.0.1" % servers.free_port()}
    o.update(extra or {})
    return o


def daemon(host, extra=None, name=None):
    """A sendercheck (not started) that knows its HostName and metrics port."""
    opts = daemon_options(host, extra)
    sc = Sendercheck(BUILD, WORK, opts, name=name or host)
    sc.host_name = opts["HostName"]
    sc.metrics_port = int(opts["MetricsSocket"].split(":")[1].split("@")[0])
    sc.stats_db = opts.get("StatsDB", "")
    return sc


def setup():
    c = CTX
    z = testdns.Zone()
    c.key = mail.RSAKey(2048, WORK)
    for d in DOMAINS:
        z.txt(d, "v=spf1 ip4:%s -all" % GOOD_IP)
        z.txt("s1._domainkey." + d, c.key.record())
        z.txt("_dmarc." + d, "v=DMARC1; p=none")
    z.add("10.2.0.192.in-addr.arpa", "PTR", "mail.good.test")
    z.add("mail.good.test", "A", GOOD_IP)
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.redis = servers.Redis(WORK).start()
    c.pg = servers.Postgres(WORK).init().start()
    c.pg.psql(["CREATE ROLE sc LOGIN PASSWORD '%s'" % PG_PASSWORD] +
              ["CREATE DATABASE %s OWNER sc" % d for d in ("stats", "race", "old", "cmp")])
    c.passfile = os.path.join(WORK, "pgpass")
    with open(c.passfile, "w") as f:
        f.write("127.0.0.1:%d:*:sc:%s\n" % (c.pg.port, PG_PASSWORD))
    os.chmod(c.passfile, 0o600)
    c.sent = []         # (HostName, queue id) of every message a daemon writing to "stats" took
    c.hosts = [daemon(h).start() for h in HOSTS]
    return c


def teardown(c):
    for sc in getattr(c, "hosts", []):
        sc.stop()
    for s in ("redis", "pg", "dns"):
        obj = getattr(c, s, None)
        if obj is not None:
            (obj.stop if s == "dns" else obj.shutdown)()
    if os.environ.get("KEEP_TMP") is None:
        shutil.rmtree(WORK, ignore_errors=True)


def msg(domain):
    hdrs = [("From", " news@" + domain), ("To", " rcpt@example.net"), ("Subject", " offer"),
            ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
            ("Message-ID", " <%s@%s>" % (os.urandom(6).hex(), domain))]
    return mail.sign(mail.message(hdrs, "Hello.\n"), domain, "s1", CTX.key, headers=SIGNED)


def send(sc, domain, rcpts=1, tls=True):
    """One message through sc; returns (reply, compliance field, seconds, queue id)."""
    headers, body = mail.split(msg(domain))
    qid = "FL" + os.urandom(4).hex().upper()
    t0 = time.time()
    r = run_session(sc.socket, ip=GOOD_IP, helo="mail.good.test", mail_from="<b@%s>" % domain,
                    rcpts=["<r%d@example.net>" % i for i in range(rcpts)], headers=headers,
                    body=body, macros=dict({"i": qid}, **({"{tls_version}": "TLSv1.3"} if tls else {})),
                    workdir=WORK)
    took = time.time() - t0
    check(r["rc"] == 0, "miltertest: %s %s" % (r["stdout"], r["stderr"]))
    if getattr(sc, "stats_db", "").startswith("postgresql://") and "/stats?" in sc.stats_db:
        CTX.sent.append((sc.host_name, qid))
    return r["eom"], r["headers"].get("X-Sender-Compliance", ""), took, qid


def fleet_total(domain, db=DB, redis=None):
    """The fleet's count of domain as Redis holds it: the sum of every run's fields."""
    out = (redis or CTX.redis).cli("HGETALL", "sendercheck:vol:" + domain, db=db).split()
    return sum(int(v) for v in out[1::2])


def wait_total(domain, want, timeout=10, db=DB, redis=None):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        try:
            got = fleet_total(domain, db, redis)
        except RuntimeError:
            got = None
        if got == want:
            return got
        time.sleep(0.05)
    return got


def scrape(sc):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % sc.metrics_port, timeout=10) as r:
        return r.read().decode()


def metric(text, name, labels='backend="redis"'):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    check(m, "%s{%s} in the metrics" % (name, labels))
    return float(m.group(1))


def wait_metric(sc, name, want, timeout=5, labels='backend="redis"'):
    deadline = time.time() + timeout
    while True:
        got = metric(scrape(sc), name, labels)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.05)


def log_records(sc):
    out = {}
    for line in sc.read_log().splitlines():
        i = line.find("{")
        if i >= 0 and '"queue_id"' in line:
            rec = json.loads(line[i:])
            out[rec.get("queue_id")] = rec
    return out


# ---- Redis: the fleet's counts ----

@case
def split_over_hosts_crosses_threshold_in_total():
    """9 messages, 3 per host: no host and not the fleet at 10 yet. Then one
    more per host, each a second apart: the fleet count (10, 11, 12) is
    bulk on every host, though each host has counted only 4."""
    for i in range(9):
        eom, comp, _, _ = send(CTX.hosts[i % 3], "good.test")
        eq(eom, "a", "accepted")
        contains(comp, "bulk=no", "message %d: under the threshold" % (i + 1))
    eq(wait_total("good.test", 9), 9, "the fleet's total in Redis")
    for n, sc in zip((10, 11, 12), CTX.hosts):
        time.sleep(1.0)     # a count made on one daemon is seen by the others within 1 s
        eom, comp, _, _ = send(sc, "good.test")
        contains(comp, "bulk=yes", "%s judges by the fleet's count" % sc.socket)
        contains(comp, "%d messages from good.test in 24 h" % n, "the reason carries the fleet-wide count")
    eq(wait_total("good.test", 12), 12, "every message counted once")


@case
def keys_readable_with_redis_cli():
    keys = CTX.redis.cli("KEYS", "sendercheck:*", db=DB).split()
    check("sendercheck:vol:good.test" in keys, "the org domain is in the key name: %r" % keys)
    fields = CTX.redis.cli("HKEYS", "sendercheck:vol:good.test", db=DB).split()
    hour = int(time.time()) // 3600
    for h in HOSTS:
        check(any(re.fullmatch(r"%d:%s:[0-9a-f]{8}" % (hour, h), f) for f in fields),
              "a field HOUR:%s:RUN in %r" % (h, fields))
    ttl = int(CTX.redis.cli("TTL", "sendercheck:vol:good.test", db=DB))
    check(86400 < ttl <= 90000, "counts expire after 25 h (TTL %d)" % ttl)
    score = CTX.redis.cli("ZSCORE", "sendercheck:bulk", "good.test", db=DB).strip()
    check(score and abs(float(score) - time.time()) < 120, "good.test marked bulk now: %r" % score)
    check(CTX.redis.cli("ZSCORE", "sendercheck:recent", "good.test", db=DB).strip(), "in the changed set")
    eq(CTX.redis.cli("DBSIZE", db=0).strip(), "0", "nothing in database 0: the URI's /3 is used")


@case
def sticky_bulk_mark():
    """good.test, marked a moment ago, is bulk on a host that joins the
    fleet now and has never seen it. Marks from the past (as a host that
    joins finds them): 100 days old is bulk with one message, 400 days old
    is not (BulkStickyDays 365)."""
    now = int(time.time())
    CTX.redis.cli("ZADD", "sendercheck:bulk", now - 100 * 86400, "sticky.test", db=DB)
    CTX.redis.cli("ZADD", "sendercheck:bulk", now - 400 * 86400, "old.test", db=DB)
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 100 * 86400))
    sc = daemon("mx4").start()
    try:
        time.sleep(0.5)
        _, comp, _, _ = send(sc, "good.test")
        contains(comp, "13 messages from good.test in 24 h", "the fleet's count on a new host")
        _, comp, _, _ = send(sc, "sticky.test")
        contains(comp, "bulk=yes", "sticky mark")
        contains(comp, "sticky.test reached BulkThreshold on %s" % day, "reason")
        _, comp, _, _ = send(sc, "old.test")
        contains(comp, "bulk=no", "a mark older than BulkStickyDays")
    finally:
        eq(sc.stop(), 0, "clean exit")
    eq(wait_total("good.test", 13), 13, "the new host's count written")


@case
def parallel_senders_exact_total():
    """30 messages (2 recipients each) at once over the three hosts: the
    fleet's total is exactly 60."""
    errors = []

    def worker(sc, k):
        try:
            for _ in range(k):
                eom, _, _, _ = send(sc, "par.test", rcpts=2)
                if eom != "a":
                    errors.append(eom)
        except Exception as e:      # reported below
            errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(CTX.hosts[i % 3], 5)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(errors, [], "every message accepted")
    eq(wait_total("par.test", 60), 60, "recipients counted once each")


def outage_messages(domain, k, during):
    """k messages spread over the hosts while during() holds; returns the
    daemons' per-message check times (ms) and the wall times (s)."""
    ms, walls = [], []
    qids = []
    for i in range(k):
        sc = CTX.hosts[i % 3]
        eom, comp, took, qid = send(sc, domain)
        eq(eom, "a", "accepted while Redis is %s" % during)
        walls.append(took)
        qids.append((sc, qid))
    for sc, qid in qids:
        rec = log_records(sc).get(qid)
        check(rec is not None, "log record of %s" % qid)
        ms.append(rec["ms"])
    return ms, walls


@case
def redis_killed_and_restarted():
    """Before: 6 counted. Redis killed (its data is lost with it): 9 more,
    none waiting past SharedStateTimeout, judged on local counts, one
    warning per host. Redis back, empty: every daemon writes its counts
    again, the total is exactly 15."""
    for i in range(6):
        send(CTX.hosts[i % 3], "down.test")
    eq(wait_total("down.test", 6), 6, "before the outage")
    before = [metric(scrape(sc), "sendercheck_backend_fallbacks_total") for sc in CTX.hosts]
    # what the three running hosts counted of good.test (mx4 has left)
    earlier = sum(int(v) for f, v in zip(*[iter(CTX.redis.cli(
        "HGETALL", "sendercheck:vol:good.test", db=DB).split())] * 2) if ":mx4:" not in f)
    CTX.redis.kill()
    try:
        # each host notices within a tick or two (its next write or fetch)
        for sc in CTX.hosts:
            wait_metric(sc, "sendercheck_backend_up", 0)
        ms, walls = outage_messages("down.test", 9, "down")
        check(max(ms) < TIMEOUT_MS, "no check waited for Redis: %r ms" % ms)
        for sc, b in zip(CTX.hosts, before):
            text = scrape(sc)
            eq(metric(text, "sendercheck_backend_up"), 0, "up is 0 while Redis is down")
            eq(metric(text, "sendercheck_backend_fallbacks_total") - b, 3,
               "the host's 3 messages judged on local counts")
            check(metric(text, "sendercheck_backend_outages_total") >= 1, "the outage counted")
            check(metric(text, "sendercheck_backend_queue_length") >= 1, "counts waiting to be written")
    finally:
        CTX.redis.start()       # same port, empty
    eq(wait_total("down.test", 15), 15, "counts made during the outage written, nothing twice")
    # (mx4 has left: its count went with Redis's data)
    eq(wait_total("good.test", earlier), earlier, "earlier counts written again into the empty Redis")
    for sc in CTX.hosts:
        eq(wait_metric(sc, "sendercheck_backend_up", 1), 1, "up again")
        log = sc.read_log()
        eq(log.count("unreachable"), 1, "one warning for the outage on %s" % sc.socket)
        contains(log, "is back after", "recovery logged")
    time.sleep(1.0)         # the last host's write is seen by the others within 1 s
    _, comp, _, _ = send(CTX.hosts[1], "down.test")
    contains(comp, "16 messages from down.test in 24 h", "counts resume on the fleet's total")


@case
def redis_hung_then_resumes():
    """SIGSTOP: connections stay open and nothing answers. Mail goes on
    without waiting; writes sent into the hung server are sent again after
    it wakes (and it runs the first ones too): absolute values, so the
    total stays exact."""
    for i in range(3):
        send(CTX.hosts[i % 3], "hung.test")
    eq(wait_total("hung.test", 3), 3, "before")
    CTX.redis.stop()
    try:
        ms, _ = outage_messages("hung.test", 9, "hung")
        check(max(ms) < TIMEOUT_MS, "no check waited for the hung Redis: %r ms" % ms)
        time.sleep(0.5)
    finally:
        CTX.redis.cont()
    eq(wait_total("hung.test", 12), 12, "exactly 12 after it wakes")
    time.sleep(1.2)
    eq(fleet_total("hung.test"), 12, "and still 12 later")


@case
def backend_metrics_valid():
    """The Redis and PostgreSQL round-trip histograms are there, each
    backend's queue, and promtool takes the text."""
    text = scrape(CTX.hosts[0])
    for backend in ("redis", "postgresql"):
        label = 'backend="%s"' % backend
        count = metric(text, "sendercheck_backend_roundtrip_seconds_count", label)
        check(count > 2, "%s round trips measured: %s" % (backend, count))
        inf = metric(text, "sendercheck_backend_roundtrip_seconds_bucket", label + ',le="+Inf"')
        eq(inf, count, "%s: +Inf bucket equals the count" % backend)
        eq(metric(text, "sendercheck_backend_up", label), 1, "%s up" % backend)
        metric(text, "sendercheck_backend_queue_length", label)
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
    eq(p.returncode, 0, "promtool check metrics: %s" % (p.stdout + p.stderr).decode())


@case
def unix_socket_and_database():
    sc = daemon("mx9", {"SharedState": "unix:%s?db=5" % CTX.redis.socket}, name="unix").start()
    try:
        send(sc, "unix.test")
        eq(wait_total("unix.test", 1, db=5), 1, "counted through the unix socket in database 5")
    finally:
        eq(sc.stop(), 0, "clean exit")


@case
def password_file():
    r = servers.Redis(WORK, password="s3cret pass", name="redis-auth").start()
    good = os.path.join(WORK, "redis-pass")
    bad = os.path.join(WORK, "redis-wrong")
    with open(good, "w") as f:
        f.write("default s3cret pass\n")
    with open(bad, "w") as f:
        f.write("wrong\n")
    try:
        sc = daemon("mx8", {"SharedState": r.uri, "SharedStatePasswordFile": bad}, name="auth-bad")
        p = evidence.run([DAEMON, "-f", "-c", sc.conf], expect=1, timeout=30,
                         what="sendercheck with a wrong password")
        err = p.stderr.decode()
        contains(err, "SharedState %s" % r.uri, "the URI named")
        contains(err, "AUTH refused (password from %s)" % bad, "why")
        check("s3cret" not in err and "wrong\n" not in err, "no password in the message: %r" % err)
        sc = daemon("mx8", {"SharedState": r.uri, "SharedStatePasswordFile": good}, name="auth-good").start()
        try:
            send(sc, "auth.test")
            eq(wait_total("auth.test", 1, db=0, redis=r), 1, "counted with AUTH user password")
        finally:
            eq(sc.stop(), 0, "clean exit")
    finally:
        r.shutdown()


@case
def bad_uris_are_config_errors():
    for value, why in (("rediss://127.0.0.1:6380", "no TLS"),
                       ("redis://:pw@127.0.0.1", "SharedStatePasswordFile"),
                       ("unix:relative.sock", "unix:/absolute/path"),
                       ("redis://127.0.0.1:0", "port"),
                       ("redis://127.0.0.1/x", "database"),
                       ("http://127.0.0.1", "expected redis://")):
        conf = os.path.join(WORK, "bad.conf")
        with open(conf, "w") as f:
            f.write("SharedState %s\n" % value)
        p = evidence.run([DAEMON, "-n", "-c", conf], expect=1, timeout=30,
                         what="sendercheck -n with SharedState %s" % value)
        contains(p.stderr.decode(), why, "the reason for %s" % value)


@case
def redis_down_at_start_is_not_fatal():
    """A daemon started while Redis is away counts locally and writes its
    counts once Redis answers."""
    r = servers.Redis(WORK, name="redis-late")
    sc = daemon("mx7", {"SharedState": r.uri}, name="late").start()
    try:
        for _ in range(2):
            eom, comp, _, _ = send(sc, "unix.test")
            eq(eom, "a", "accepted")
        contains(sc.read_log(), "not reachable at start", "the start says so")
        r.start()
        eq(wait_total("unix.test", 2, db=0, redis=r), 2, "written once Redis is there")
    finally:
        eq(sc.stop(), 0, "clean exit")
        r.shutdown()


@case
def restarted_daemon_counts_once_and_keeps_its_file():
    """SharedState and VolumeFile together, across a restart of the daemon.
    Redis kept: the earlier run's counts stay in Redis and the new run adds
    its own, nothing twice. Redis lost while the daemon was down: the
    VolumeFile is the floor, so the host still judges on every message it
    took (the earlier run's counts are not written again: README)."""
    r = servers.Redis(WORK, name="redis-restart").start()
    sc = daemon("mx6", {"SharedState": r.uri}, name="restart").start()
    try:
        for _ in range(4):
            send(sc, "restart.test")
        eq(wait_total("restart.test", 4, db=0, redis=r), 4, "the first run's count")
        eq(sc.stop(), 0, "clean exit")
        sc.start()
        send(sc, "restart.test")
        eq(wait_total("restart.test", 5, db=0, redis=r), 5, "the second run adds its own, nothing twice")
        time.sleep(1.2)
        eq(fleet_total("restart.test", db=0, redis=r), 5, "and still 5 later")

        for _ in range(THRESHOLD - 1):
            eom, comp, _, _ = send(sc, "lost.test")
        contains(comp, "bulk=no", "under BulkThreshold")
        eq(wait_total("lost.test", THRESHOLD - 1, db=0, redis=r), THRESHOLD - 1, "counted in Redis")
        eq(sc.stop(), 0, "clean exit")
        r.kill()                # its data is gone with it
        sc.start()
        contains(sc.read_log(), "not reachable at start", "the start says so")
        eom, comp, _, _ = send(sc, "lost.test")
        eq(eom, "a", "accepted without Redis")
        contains(comp, "bulk=yes", "bulk on the restarted host")
        contains(comp, "%d messages from lost.test in 24 h" % THRESHOLD,
                 "the VolumeFile's counts are the floor without Redis")
        r.start()               # empty
        eq(wait_total("lost.test", 1, db=0, redis=r), 1, "the new run writes its own count only")
        time.sleep(1.2)         # fetched back: the local floor still holds
        eom, comp, _, _ = send(sc, "lost.test")
        contains(comp, "%d messages from lost.test in 24 h" % (THRESHOLD + 1), "the floor with Redis back")
    finally:
        if sc.proc is not None:
            eq(sc.stop(), 0, "clean exit")
        r.shutdown()


# ---- PostgreSQL: the site's statistics ----

def pg_rows(sql, db="stats"):
    return CTX.pg.query(sql, db=db)


def wait_pg(sql, want, db="stats", timeout=15):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = pg_rows(sql, db)
        if got == want:
            return got
        time.sleep(0.1)
    return got


def tool(*args, expect_rc=0):
    p = subprocess.run([TOOL] + list(args), capture_output=True, timeout=60)
    eq(p.returncode, expect_rc, "sendercheck-stats %s (stderr %r)" % (" ".join(args), p.stderr[-400:]))
    return p.stdout.decode()


@case
def reload_keeps_the_shared_state():
    """SIGHUP on a host: each new configuration carries on the same shared
    state (one Redis connection, its counts); messages after two reloads
    still count in the fleet's total, and a changed SharedStateTimeout is
    named as waiting for a restart."""
    import signal
    sc = CTX.hosts[0]
    before = fleet_total("reload.test")
    text = open(sc.conf).read()
    for level, timeout in (("debug", "0.2"), ("info", "0.3")):
        lines = [l for l in text.splitlines()
                 if not l.startswith(("LogLevel ", "SharedStateTimeout "))]
        lines += ["LogLevel " + level, "SharedStateTimeout " + timeout]
        with open(sc.conf + ".new", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(sc.conf + ".new", sc.conf)
        n = sc.read_log().count("reloaded ")
        sc.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and sc.read_log().count("reloaded ") == n:
            time.sleep(0.05)
        contains(sc.read_log(), "(changed: LogLevel)", "the reload applied")
    contains(sc.read_log(), "SharedStateTimeout changed", "SharedStateTimeout waits for a restart")
    for _ in range(3):
        eq(send(sc, "reload.test")[0], "a", "accepted")
    eq(wait_total("reload.test", before + 3), before + 3, "counted in the fleet after the reloads")


def unit_test_on_server(name, db):
    """Runs the unit test tests/unit/NAME with its PostgreSQL half pointed
    at database db of the test's server; checks it passed, returns its output."""
    env = dict(os.environ, SC_TEST_PG_URI=pg_uri(db))
    p = subprocess.run([os.path.join(BUILD, "tests", "unit", name)], env=env, capture_output=True, timeout=120)
    out = p.stdout.decode() + p.stderr.decode()
    eq(p.returncode, 0, "%s: %s" % (name, out[-2000:]))
    return out


@case
def sqldb_driver_against_the_server():
    """sqldb's unit test, its PostgreSQL half against the real server,
    whose backend it terminates at every point of a batch."""
    out = unit_test_on_server("test_sqldb", "cmp")
    contains(out, "[       OK ] test_postgresql\n", "the PostgreSQL half ran")
    contains(out, "[       OK ] test_postgresql_server_away", "the server went away at each point of a batch")
    CTX.pg.psql(["DROP TABLE m", "DROP TABLE f", "DROP TABLE d", "DROP TABLE c", "DROP TABLE sendercheck_meta"],
                db="cmp")


@case
def large_batches_stored_once():
    """statsdb's unit test of large batches (the messages by
    COPY, the totals as multi-row upserts, the messages' ids drawn up
    front), against the real server, in a database of its own."""
    CTX.pg.psql("CREATE DATABASE batch OWNER sc")
    try:
        out = unit_test_on_server("test_stats", "batch")
        contains(out, "[       OK ] test_db_batch_stored_once_postgresql", "the PostgreSQL half ran")
        contains(out, "[       OK ] test_db_prune_in_chunks_postgresql", "pruning in chunks on the server")
    finally:
        CTX.pg.psql("DROP DATABASE batch")


@case
def every_message_once_with_its_host():
    """Every message the daemons took is in PostgreSQL once, under the
    host that took it; the schema is version 6."""
    want = sorted([h, q] for h, q in CTX.sent)
    check(len(want) >= 40, "enough messages sent so far: %d" % len(want))
    got = wait_pg("SELECT count(*) FROM messages", [[str(len(want))]])
    eq(got, [[str(len(want))]], "one row per message")
    rows = sorted(pg_rows("SELECT host, queue_id FROM messages"))
    eq(rows, want, "each message under its host")
    eq(pg_rows("SELECT key, value FROM sendercheck_meta ORDER BY key"),
       [["application_id", str(0x53434b31)], ["min_writer", "4"], ["version", "6"]], "schema")
    eq(pg_rows("SELECT count(*) FROM batches WHERE id NOT LIKE 'mx%'"), [["0"]], "batch ids name the host")
    # the daily totals agree with the rows
    eq(pg_rows("SELECT sum(messages) FROM daily"), [[str(len(want))]], "daily totals")


def per_host_domain_counts():
    counts = {}
    for h, q in CTX.sent:
        counts.setdefault(h, 0)
        counts[h] += 1
    return counts


@case
def stats_per_host_and_for_the_site():
    """sendercheck-stats --db postgresql://: the site, and each host alone;
    the hosts add up to the site, domain by domain."""
    site = json.loads(tool("--db", pg_uri(), "domains", "--since", "all", "--format", "json"))
    check("host" not in site, "no host in the site's report")
    site_dom = {d["domain"]: d["messages"] for d in site["domains"]}
    eq(sum(site_dom.values()), len(CTX.sent), "the site's messages")
    summed = {}
    for h, n in sorted(per_host_domain_counts().items()):
        one = json.loads(tool("--db", pg_uri(), "domains", "--since", "all", "--format", "json",
                              "--host", h))
        eq(one["host"], h, "the report names its host")
        eq(sum(d["messages"] for d in one["domains"]), n, "messages of %s" % h)
        for d in one["domains"]:
            summed[d["domain"]] = summed.get(d["domain"], 0) + d["messages"]
    eq(summed, site_dom, "the hosts add up to the site")
    text = tool("--db", pg_uri(), "domains", "--since", "all", "--host", "mx1")
    contains(text, "since all on mx1", "the text report says which host")
    for report in ("rules", "trend"):
        site_r = json.loads(tool("--db", pg_uri(), report, "--since", "all", "--format", "json"))
        one = json.loads(tool("--db", pg_uri(), report, "--since", "all", "--format", "json", "--host", "mx2"))
        eq(one["host"], "mx2", "%s names its host" % report)
        if report == "trend":
            total = sum(d["messages"] for d in site_r["days"])
            eq(total, len(CTX.sent), "the site's days")
            eq(sum(d["messages"] for d in one["days"]), per_host_domain_counts()["mx2"], "mx2's days")


@case
def same_json_from_sqlite_and_postgresql():
    """The same mail into an SQLite store and a PostgreSQL store: the same
    rows from sendercheck-stats --format json, report by report."""
    lite = os.path.join(WORK, "cmp.db")
    extra = {"SharedState": "", "BulkDetection": "headers", "HostName": "cmp"}
    a = daemon("cmp", dict(extra, StatsDB=lite), name="cmp-lite").start()
    b = daemon("cmp", dict(extra, StatsDB=pg_uri("cmp")), name="cmp-pg").start()
    try:
        for i, d in enumerate(("good.test", "par.test", "good.test", "old.test", "good.test")):
            for sc in (a, b):
                send(sc, d, rcpts=1 + i % 2, tls=i % 2 == 0)   # without TLS: Google's rule fails
        wait_pg("SELECT count(*) FROM messages", [["5"]], db="cmp")
        time.sleep(0.5)     # the SQLite writer commits within 0.2 s
        for report in ("domains", "rules", "trend", "ips", "selectors"):
            for extra_args in ((), ("--host", "cmp"), ("--domain", "good.test")):
                args = (report, "--since", "all", "--format", "json") + extra_args
                x = json.loads(tool("--db", lite, *args))
                y = json.loads(tool("--db", pg_uri("cmp"), *args))
                eq(y, x, "%s %s: PostgreSQL as SQLite" % (report, " ".join(extra_args)))
                if not extra_args:
                    check(any(x.get(k) for k in ("domains", "rules", "days", "ips", "selectors")),
                          "%s has rows" % report)
        eq(tool("--db", pg_uri("cmp"), "domains", "--since", "all", "--format", "csv"),
           tool("--db", lite, "domains", "--since", "all", "--format", "csv"), "CSV too")
        p = subprocess.run([TOOL, "--db", pg_uri("cmp"), "backup", os.path.join(WORK, "pg-copy.db")],
                           capture_output=True, timeout=60)
        eq(p.returncode, 1, "backup of a PostgreSQL store")
        contains(p.stderr.decode(), "pg_dump", "points at the tool for it")
    finally:
        eq(a.stop(), 0, "clean exit")
        eq(b.stop(), 0, "clean exit")


@case
def three_daemons_at_once_on_an_empty_database():
    """Started together against an empty database: one creates the schema,
    the others wait for it; all three write."""
    hosts = [daemon("r%d" % i, {"StatsDB": pg_uri("race")}, name="race%d" % i) for i in range(3)]
    for sc in hosts:
        sc.logf = open(sc.log, "ab")
    procs = [subprocess.Popen([DAEMON, "-f", "-c", sc.conf], stdout=sc.logf, stderr=subprocess.STDOUT)
             for sc in hosts]
    try:
        for sc, p in zip(hosts, procs):
            sc.proc = p
            deadline = time.time() + 20
            while not sc._accepts():
                check(p.poll() is None and time.time() < deadline, "race daemon: %s" % sc.read_log())
                time.sleep(0.05)
        for sc in hosts:
            eom, _, _, _ = send(sc, "good.test")
            eq(eom, "a", "accepted")
        eq(wait_pg("SELECT host, count(*) FROM messages GROUP BY host ORDER BY host", [["r0", "1"], ["r1", "1"],
                   ["r2", "1"]], db="race"), [["r0", "1"], ["r1", "1"], ["r2", "1"]], "each wrote its row")
        eq(pg_rows("SELECT value FROM sendercheck_meta WHERE key = 'version'", db="race"), [["6"]], "version")
    finally:
        for sc in hosts:
            eq(sc.stop(), 0, "clean exit")
    for sc in hosts:
        log = sc.read_log()
        bad = [line for line in log.splitlines() if re.match(r"sendercheck: (error|warning):", line)]
        eq(bad, [], "no error or warning at the start")


@case
def postgresql_stopped_and_started():
    """PostgreSQL stopped: mail goes on without waiting; the daemon's writer
    keeps its batch, the queue (StatsQueueSize 5) fills, then verdicts are
    dropped from the statistics, counted; one warning. Started again: what
    waited is written, in order, and the metrics say so."""
    sc = daemon("mx5", {"StatsQueueSize": "5", "SharedState": ""}).start()
    pgl = 'backend="postgresql"'
    sent = 12
    try:
        send(sc, "good.test")
        eq(wait_pg("SELECT count(*) FROM messages WHERE host = 'mx5'", [["1"]]), [["1"]], "written before")
        CTX.pg.stop()
        try:
            qids, ms = [], []
            for i in range(sent):
                eom, _, took, qid = send(sc, "good.test")
                eq(eom, "a", "accepted while PostgreSQL is down")
                qids.append(qid)
                ms.append(log_records(sc)[qid]["ms"])
                if i == 4:
                    # the queue is full: the writer takes it at once as its
                    # batch (held while the server is away); the next five
                    # queue behind it. Waiting for the take keeps a slow
                    # wake-up under load from dropping the sixth instead
                    # of the eleventh
                    deadline = time.time() + 5
                    while time.time() < deadline and \
                            re.search(r"^sendercheck_stats_queue_length 0$", scrape(sc), re.M) is None:
                        time.sleep(0.02)
            # a check that waited for the server would wait its whole
            # timeout (SQLDB_PG_TIMEOUT_MS, 5 s); load alone adds tens of ms
            check(max(ms) < 1000, "no check waited for PostgreSQL: %r ms" % ms)
            text = scrape(sc)
            eq(metric(text, "sendercheck_backend_up", pgl), 0, "down")
            waiting = int(metric(text, "sendercheck_backend_queue_length", pgl))
            dropped = int(re.search(r"^sendercheck_stats_dropped_total (\d+)$", text, re.M).group(1))
            queued = int(re.search(r"^sendercheck_stats_queue_length (\d+)$", text, re.M).group(1))
            lost = int(re.search(r"^sendercheck_stats_lost_total (\d+)$", text, re.M).group(1))
            why = "(lost %d; the daemon's log ends: %s)" % (lost, sc.read_log()[-3000:])
            eq(lost, 0, "nothing lost while the server was away " + why)
            eq(queued, 5, "the queue full " + why)
            eq(waiting + dropped, sent, "each message waits (being written or queued) or was dropped " + why)
            check(dropped >= 1, "then dropped: %d" % dropped)
            check(metric(text, "sendercheck_backend_outages_total", pgl) >= 1, "outage counted")
        finally:
            CTX.pg.start()
        # what waited, and not what was dropped: the first ones, in order
        want = str(1 + waiting)
        eq(wait_pg("SELECT count(*) FROM messages WHERE host = 'mx5'", [[want]], timeout=20), [[want]],
           "what waited was written")
        stored = {r[0] for r in pg_rows("SELECT queue_id FROM messages WHERE host = 'mx5'")}
        eq([q in stored for q in qids], [True] * waiting + [False] * dropped,
           "the first %d written, the last %d dropped" % (waiting, dropped))
        CTX.sent = [x for x in CTX.sent if x[1] not in qids[waiting:]]     # not stored: dropped
        eq(wait_metric(sc, "sendercheck_backend_up", 1, labels=pgl), 1, "up again")
        eq(metric(scrape(sc), "sendercheck_backend_queue_length", pgl), 0, "nothing waits")
        log = sc.read_log()
        eq(log.count("store unavailable"), 1, "one warning: %s" % log[-2000:])
        contains(log, "store back after", "recovery logged")
    finally:
        eq(sc.stop(), 0, "clean exit")
    # the main daemons' connections broke too: they write again
    eom, _, _, qid = send(CTX.hosts[0], "good.test")
    check(wait_pg("SELECT count(*) FROM messages WHERE queue_id = '%s'" % qid, [["1"]]) == [["1"]],
          "mx1 writes after the restart")


V2_SCHEMA_PG = [
    "CREATE TABLE messages (id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, day TEXT NOT NULL,"
    " domain TEXT NOT NULL, queue_id TEXT, client_ip TEXT, client_name TEXT, helo TEXT,"
    " mail_from_domain TEXT, from_domain TEXT, dkim TEXT, dkim_pass BIGINT, spf TEXT, dmarc TEXT,"
    " aligned BIGINT, iprev TEXT, tls TEXT, oneclick TEXT, bulk BIGINT, google TEXT, google_failed TEXT,"
    " yahoo TEXT, yahoo_failed TEXT, microsoft TEXT, microsoft_failed TEXT, action TEXT, cause TEXT,"
    " skipped BIGINT NOT NULL DEFAULT 0, dns_queries BIGINT, dns_timeouts BIGINT, elapsed_ms BIGINT)",
    "CREATE TABLE failures (msg_id BIGINT NOT NULL, time BIGINT NOT NULL, domain TEXT NOT NULL,"
    " profile TEXT NOT NULL, rule TEXT NOT NULL)",
    "CREATE INDEX failures_time ON failures(time)",
    "CREATE INDEX failures_msg ON failures(msg_id)",
    "CREATE TABLE daily (day TEXT NOT NULL, domain TEXT NOT NULL, messages BIGINT NOT NULL DEFAULT 0,"
    " spf_pass BIGINT NOT NULL DEFAULT 0, dkim_pass BIGINT NOT NULL DEFAULT 0,"
    " dmarc_pass BIGINT NOT NULL DEFAULT 0, aligned BIGINT NOT NULL DEFAULT 0,"
    " bulk BIGINT NOT NULL DEFAULT 0, bulk_oneclick BIGINT NOT NULL DEFAULT 0,"
    " google_n BIGINT NOT NULL DEFAULT 0, google_pass BIGINT NOT NULL DEFAULT 0,"
    " yahoo_n BIGINT NOT NULL DEFAULT 0, yahoo_pass BIGINT NOT NULL DEFAULT 0,"
    " microsoft_n BIGINT NOT NULL DEFAULT 0, microsoft_pass BIGINT NOT NULL DEFAULT 0,"
    " accepted BIGINT NOT NULL DEFAULT 0, rejected BIGINT NOT NULL DEFAULT 0,"
    " tempfailed BIGINT NOT NULL DEFAULT 0, quarantined BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, domain))",
    "CREATE TABLE daily_rules (day TEXT NOT NULL, domain TEXT NOT NULL, profile TEXT NOT NULL,"
    " rule TEXT NOT NULL, failures BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (day, domain, profile, rule))",
    "CREATE TABLE sendercheck_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO sendercheck_meta VALUES ('version', 2), ('application_id', %d)" % 0x53434b31,
]


@case
def schema_upgrade_on_postgresql():
    """A database at schema 2: a daemon upgrades it in place (the host
    column, the batches table, no failure rows, no messages_host_time
    index, ids in blocks) and keeps its rows; the report tool reads
    both; a reader alone does not upgrade."""
    now = int(time.time())
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 3600))
    CTX.pg.psql(["SET ROLE sc"] + V2_SCHEMA_PG + [
        "INSERT INTO messages (time, day, domain, from_domain, spf, dkim_pass, dmarc, aligned, bulk,"
        " google, yahoo, microsoft, action) VALUES (%d, '%s', 'kept.test', 'kept.test', 'pass', 1,"
        " 'pass', 1, 0, 'pass', 'pass', 'pass', 'accept')" % (now - 3600, day),
        "INSERT INTO daily (day, domain, messages) VALUES ('%s', 'kept.test', 1)" % day], db="old")
    p = subprocess.run([TOOL, "--db", pg_uri("old")], capture_output=True, timeout=60)
    eq(p.returncode, 1, "a reader does not upgrade")
    contains(p.stderr.decode(), "older than 6", "and says why")
    sc = daemon("mx6", {"StatsDB": pg_uri("old"), "SharedState": ""}).start()
    try:
        send(sc, "good.test", tls=False)     # Google's TLS rule fails
        got = wait_pg("SELECT domain, host FROM messages ORDER BY domain", [["good.test", "mx6"], ["kept.test", ""]],
                      db="old")
        eq(got, [["good.test", "mx6"], ["kept.test", ""]], "old row kept (no host), new row with its host")
    finally:
        eq(sc.stop(), 0, "clean exit")
    eq(pg_rows("SELECT value FROM sendercheck_meta WHERE key = 'version'", db="old"), [["6"]], "upgraded")
    eq(pg_rows("SELECT count(*) FROM messages WHERE host = 'mx6' AND google_failed IS NOT NULL", db="old"),
       [["1"]], "the new message failed a rule")
    eq(pg_rows("SELECT count(*) FROM failures", db="old"), [["0"]],
       "but no failure row since version 6 (the messages' failed lists say it; the table stays for"
       " daemons of older versions still running)")
    eq(pg_rows("SELECT indexname FROM pg_indexes WHERE tablename = 'messages' ORDER BY 1", db="old"),
       [["messages_pkey"]], "no index of messages by host since version 5 (version 3 made it)")
    eq(pg_rows("SELECT increment_by FROM pg_sequences WHERE sequencename = 'messages_id_seq'", db="old"),
       [["1000"]], "since version 5 the messages' ids are drawn in blocks of 1000")
    got = json.loads(tool("--db", pg_uri("old"), "domains", "--since", "all", "--format", "json"))
    eq(sorted(d["domain"] for d in got["domains"]), ["good.test", "kept.test"], "report after the upgrade")
    eq(pg_rows("SELECT value FROM sendercheck_meta WHERE key = 'min_writer'", db="old"), [["4"]],
       "the oldest version whose writer is right for this schema, for daemons to come")


@case
def newer_schema_on_postgresql():
    """A fleet upgraded host by host: a daemon of this version restarting
    against a store a newer version upgraded writes into it if that version
    declared this one's writer still right (min_writer), and is refused
    with a reason if it did not."""
    def meta(version, min_writer):
        CTX.pg.psql(["UPDATE sendercheck_meta SET value = %d WHERE key = 'version'" % version,
                     "DELETE FROM sendercheck_meta WHERE key = 'min_writer'"] +
                    (["INSERT INTO sendercheck_meta VALUES ('min_writer', %d)" % min_writer]
                     if min_writer else []), db="old")

    try:
        meta(7, 6)
        sc = daemon("mx7", {"StatsDB": pg_uri("old"), "SharedState": ""}).start()
        try:
            eom, _, _, qid = send(sc, "good.test")
            eq(wait_pg("SELECT host FROM messages WHERE queue_id = '%s'" % qid, [["mx7"]], db="old"),
               [["mx7"]], "written into the newer store")
            contains(sc.read_log(), "schema version 7, newer than this sendercheck's (6), declares"
                     " writers of version 6 and later right for it", "logged")
        finally:
            eq(sc.stop(), 0, "clean exit")
        eq(pg_rows("SELECT value FROM sendercheck_meta WHERE key = 'version'", db="old"), [["7"]],
           "left at its version")
        got = json.loads(tool("--db", pg_uri("old"), "domains", "--since", "all", "--format", "json"))
        check("good.test" in [d["domain"] for d in got["domains"]], "the report tool reads it")
        for min_writer, why in ((7, "newer than this sendercheck's (6), and its writers must be of that"
                                    " version or later"),
                                (0, "schema version 7 is newer than this sendercheck's (6)")):
            meta(7, min_writer)
            sc = daemon("mx7", {"StatsDB": pg_uri("old"), "SharedState": ""}, name="mx7-refused")
            p = subprocess.run([DAEMON, "-f", "-c", sc.conf], capture_output=True, timeout=60)
            eq(p.returncode, 1, "min_writer %d: the start stops" % min_writer)
            contains(p.stderr.decode(), why, "min_writer %d: why" % min_writer)
    finally:
        meta(6, 4)


@case
def wrong_password_stops_the_start():
    bad = os.path.join(WORK, "pgpass-wrong")
    with open(bad, "w") as f:
        f.write("127.0.0.1:%d:*:sc:not-the-password\n" % CTX.pg.port)
    os.chmod(bad, 0o600)
    uri = pg_uri("stats", passfile=bad)
    sc = daemon("mx9", {"StatsDB": uri, "SharedState": ""}, name="pgbad")
    p = subprocess.run([DAEMON, "-f", "-c", sc.conf], capture_output=True, timeout=60)
    err = p.stderr.decode()
    eq(p.returncode, 1, "the start stops: %s" % err)
    contains(err, "StatsDB %s" % uri, "the URI named")
    contains(err, 'password authentication failed for user "sc"', "why")
    check("not-the-password" not in err and PG_PASSWORD not in err, "no password shown: %s" % err)
    # a password in the URI itself is refused by the config check
    conf = os.path.join(WORK, "pwuri.conf")
    with open(conf, "w") as f:
        f.write("StatsDB postgresql://sc:%s@127.0.0.1:%d/stats\n" % (PG_PASSWORD, CTX.pg.port))
    p = subprocess.run([DAEMON, "-n", "-c", conf], capture_output=True, timeout=30)
    eq(p.returncode, 1, "sendercheck -n")
    contains(p.stderr.decode(), "no password in the URI", "why")
    check(PG_PASSWORD not in p.stderr.decode(), "the password not repeated")
    # the report tool: a clear error too
    p = subprocess.run([TOOL, "--db", uri], capture_output=True, timeout=60)
    eq(p.returncode, 1, "sendercheck-stats")
    contains(p.stderr.decode(), "password authentication failed", "why")


if __name__ == "__main__":
    sys.exit(run("fleet: three daemons sharing Redis and PostgreSQL", setup, teardown))
