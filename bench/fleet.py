#!/usr/bin/python3
"""`make bench`, part 2: sendercheck with the fleet's backends (SharedState
in Redis + StatsDB in PostgreSQL) against the local defaults, in one run.

    fleet.py --builddir DIR [--runs N] [--seconds S] [--keep]
    fleet.py --builddir DIR --insns N [--configs ...] [--top K]

Same corpus, DNS server and MTA-like client as bench.py (miltergen, unix
socket, 4 connections). A real redis-server and a private PostgreSQL
cluster are started in the temporary directory on loopback ports. Three
daemon configurations, run in turn round after round so that load on the
machine falls on all of them alike (medians of N rounds):

  local     the defaults: volume counts in VolumeFile, no statistics
  sqlite    local + StatsDB in an SQLite file
  fleet     SharedState redis://, StatsDB postgresql://, VolumeFile as the fallback

Prints throughput and latency per configuration, 4 connections (saturated:
on one machine Redis and PostgreSQL take CPU from the daemon, so the
servers' CPU per message is printed too) and one connection (a message at
a time: the delay the backends add to a message), fleet vs local (target
of issue 15: within 10 % throughput and 1 ms p99), and what reached the
backends: statistics rows in PostgreSQL against messages sent (none may be
missing when the queue did not overflow), the fleet's counts in Redis.

--insns N counts instead of timing, figures the machine's load barely
moves: each configuration's daemon runs under callgrind, is warmed, then N
messages are sent and what they cost is read: the daemon's instructions
per message (every thread: the statistics writer and the Redis thread
too), the PostgreSQL and Redis servers' CPU per message (/proc, their
processes' utime+stime) and, per statement kind, PostgreSQL's calls, rows
and execution time (pg_stat_statements). Under callgrind a message takes
~50 times as long, so the writer's batches (what gathered in its linger
time) are a few messages instead of hundreds: --hold stops PostgreSQL
while the N messages are sent and starts it again, so that they are
written as one batch, as at full speed (the servers' CPU is then not
counted: the restart would be in it). With --insns the daemon reaches
PostgreSQL over its unix socket without a password: the writer's
reconnect after --hold would otherwise count SCRAM's key derivation
(~68M instructions under callgrind, ~230,000 a message at N = 300).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import bench                  # noqa: E402
import insns                  # noqa: E402
import servers                # noqa: E402

PY = "/usr/bin/python3"
CONFIGS = ("local", "sqlite", "fleet")
EXTRA_CONFIGS = ("redis", "pg")     # --configs: one backend at a time, to see which costs what


def servers_cpu(roots):
    """CPU seconds used so far by the servers this run started (roots: name ->
    pid; a process counts with its descendants, as PostgreSQL's backends are
    the postmaster's children). On one machine they share its cores with the
    daemon; on a site they do not. Other sessions' servers are not counted."""
    tck = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(d)] = int(rest[1])
        cpu[int(d)] = (int(rest[11]) + int(rest[12])) / tck
    out = {}
    for name, root in roots.items():
        total = 0.0
        for pid in cpu:
            p = pid
            while p > 1 and p != root:
                p = parent.get(p, 0)
            if p == root:
                total += cpu[pid]
        out[name] = total
    return out


def metric(port, name, labels=""):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    want = "%s%s " % (name, "{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(want):
            return float(line.split()[-1])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--warm", type=float, default=0.5)
    ap.add_argument("--settle", type=float, default=90.0,
                    help="at most S seconds waiting for the load average to fall below 1 first")
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="of %s" % ", ".join(CONFIGS + EXTRA_CONFIGS))
    ap.add_argument("--insns", type=int, default=0, metavar="N",
                    help="count instructions and server CPU for N messages instead of timing")
    ap.add_argument("--top", type=int, default=0, help="--insns: the K costliest functions")
    ap.add_argument("--hold", action="store_true",
                    help="--insns: PostgreSQL stopped while the messages are sent (one batch)")
    opt = ap.parse_args()
    configs = opt.configs.split(",")

    build = os.path.abspath(opt.builddir)
    gen = os.path.join(build, "bench", "miltergen")
    daemon = os.path.join(build, "milter", "sendercheck")
    work = tempfile.mkdtemp(prefix="sc-fleetbench-")
    os.chmod(work, 0o755)
    dns = redis = pg = None
    started = time.time()
    load_start = bench.loadavg()
    try:
        subprocess.run([PY, os.path.join(HERE, "gencorpus.py"), work, "--messages", str(opt.messages)],
                       check=True, stdout=subprocess.DEVNULL)
        summary = open(os.path.join(work, "summary.txt")).read().strip()
        dns = subprocess.Popen([PY, os.path.join(HERE, "benchdns.py"), os.path.join(work, "zone.txt"),
                                os.path.join(work, "dns")], stdout=subprocess.PIPE, text=True)
        port = int(dns.stdout.readline())
        redis = servers.Redis(work).start()
        pg = servers.Postgres(work).init()
        if opt.insns:
            with open(os.path.join(pg.data, "postgresql.conf"), "a") as f:
                f.write("shared_preload_libraries = 'pg_stat_statements'\n")
        pg.start()
        pg.psql(["CREATE ROLE sc LOGIN PASSWORD 'bench'", "CREATE DATABASE stats OWNER sc"])
        if opt.insns:
            pg.psql("CREATE EXTENSION pg_stat_statements", db="stats")
        passfile = os.path.join(work, "pgpass")
        with open(passfile, "w") as f:
            f.write("127.0.0.1:%d:stats:sc:bench\n" % pg.port)
        os.chmod(passfile, 0o600)
        pg_uri = "postgresql://sc@127.0.0.1:%d/stats?passfile=%s" % (pg.port, passfile)
        if opt.insns:
            # the cluster's unix socket (trust): a connection made in the
            # counted window (--hold's reconnect) would otherwise count
            # SCRAM's 4096 rounds of HMAC-SHA-256, ~68M instructions
            pg_uri = "postgresql:///stats?host=%s&port=%d&user=sc" % (pg.sockdir, pg.port)
        bench.log("redis on %d, postgresql on %d, unbound on %d" % (redis.port, pg.port, port))
        roots = {"postgres": pg.proc.pid, "redis-server": redis.proc.pid}

        metrics_port = {c: bench.free_tcp_port() for c in configs}

        def args_for(config):
            def args(sock):
                conf = os.path.join(work, "%s.conf" % config)
                lines = ["Socket %s" % sock, "AuthservID mx.receiver.example",
                         "Nameservers 127.0.0.1:%d" % port, "InternalHosts none", "Syslog no",
                         "LogLevel notice", "VolumeFile %s/%s-volume.txt" % (work, config),
                         "MetricsSocket inet:%d@127.0.0.1" % metrics_port[config]]
                if config == "sqlite":
                    lines.append("StatsDB %s/stats.db" % work)
                if config in ("fleet", "redis"):
                    lines += ["SharedState %s/0" % redis.uri, "HostName bench1"]
                if config in ("fleet", "pg"):
                    lines += ["StatsDB %s" % pg_uri]
                with open(conf, "w") as f:
                    f.write("\n".join(lines) + "\n")
                return [daemon, "-f", "-c", conf]
            return args

        corpus = os.path.join(work, "corpus.bin")
        if opt.insns:
            count(opt, work, configs, args_for, gen, corpus, roots, pg)
            return
        # make bench runs this right after the main benchmark: its first
        # rounds then strayed (fleet vs local 0.69-0.71 where the later ones
        # and runs on a quiet machine gave 0.9-1.0); wait for the machine
        # to settle first, and say how settled it was
        deadline = time.time() + opt.settle
        while os.getloadavg()[0] > 1.0 and time.time() < deadline:
            time.sleep(2)
        bench.log("settled: load average %s" % bench.loadavg())
        load_start = bench.loadavg()
        results = {c: [] for c in configs}
        queued = {c: 0 for c in configs}
        for r in range(opt.runs):
            for config in configs:
                flt = bench.Filter(config, work, args_for(config), corpus)
                sock = "unix:%s/%s.sock" % (work, config)
                flt.start(sock)
                try:
                    bench.run_gen(gen, sock, corpus, flt.proc.pid, 4, 1.0, 0.2)  # warm DNS and backends
                    before = servers_cpu(roots)
                    res = bench.run_gen(gen, sock, corpus, flt.proc.pid, 4, opt.seconds, opt.warm,
                                        start=r * 997)
                    time.sleep(0.3)     # the last batch
                    after = servers_cpu(roots)
                    for k in after:
                        res["%s_ms" % k] = (after[k] - before[k]) * 1000 / max(1.0, float(res["msgs"]))
                    # one connection: what a message waits, without the queueing of a saturated run
                    one = bench.run_gen(gen, sock, corpus, flt.proc.pid, 1, opt.seconds / 2, opt.warm,
                                        start=r * 997 + 500)
                    for k in ("rate", "p50", "p99"):
                        res["one_" + k] = one[k]
                    results[config].append(res)
                    queued[config] = metric(metrics_port[config], "sendercheck_stats_queued_total") or 0
                finally:
                    if config == "fleet":
                        results.setdefault("fleet-metrics", []).append({
                            "dropped": metric(metrics_port[config], "sendercheck_stats_dropped_total"),
                            "queued": queued[config],
                            "redis_rtt_count": metric(metrics_port[config],
                                                      "sendercheck_backend_roundtrip_seconds_count",
                                                      'backend="redis"'),
                            "redis_fallbacks": metric(metrics_port[config],
                                                      "sendercheck_backend_fallbacks_total",
                                                      'backend="redis"')})
                    flt.stop()
            bench.log("round %d of %d done" % (r + 1, opt.runs))
        rows = int(pg.query("SELECT count(*) FROM messages WHERE host = 'bench1'", db="stats")[0][0]) \
            if "fleet" in configs else 0     # the fleet configuration's rows (pg writes there too)
        report(results, opt, configs, summary, rows, redis, time.time() - started, load_start)
    finally:
        for s in (redis, pg):
            if s is not None:
                s.shutdown()
        bench.stop_process(dns)
        if opt.keep:
            bench.log("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def pg_rows(pg):
    """Statistics rows in PostgreSQL (0 before the first daemon made the table)."""
    if not pg.query("SELECT to_regclass('messages')", db="stats"):
        return 0
    return int(pg.query("SELECT count(*) FROM messages", db="stats")[0][0])


def count(opt, work, configs, args_for, gen, corpus, roots, pg):
    """--insns: each configuration under callgrind, N messages counted."""
    print()
    print("fleet backends, counted (callgrind; /proc; pg_stat_statements), %d messages, unix socket,"
          " 4 sessions, long connections" % opt.insns)
    print("%-7s %12s %9s %9s" % ("config", "Ir/msg", "pg ms", "redis ms"))
    tops = {}
    for config in configs:
        sock = "unix:%s/%s.cg.sock" % (work, config)
        outbase = os.path.join(work, "cg.%s" % config)
        logp = os.path.join(work, "%s.callgrind.log" % config)
        logf = open(logp, "ab")
        proc = subprocess.Popen(insns.VALGRIND + ["--callgrind-out-file=" + outbase] +
                                args_for(config)(sock), stdout=logf, stderr=logf, start_new_session=True)
        try:
            bench.wait_socket(sock, proc, config, timeout=120, logs=[logp])
            subprocess.run([gen, "-s", sock, "-c", corpus, "-m", str(opt.insns + 8), "-n", "4"],
                           check=True, capture_output=True, timeout=3600)
            time.sleep(3)       # the warming's last batch and Redis writes
            hold = opt.hold and config in ("fleet", "pg")
            rows0 = pg_rows(pg) if hold else 0
            pg.psql("SELECT pg_stat_statements_reset()", db="stats")
            if hold:
                pg.stop()
            before = servers_cpu(roots)
            insns.callgrind_control(["-z"], proc.pid)
            out = subprocess.run([gen, "-s", sock, "-c", corpus, "-m", str(opt.insns), "-n", "4", "-r", "7"],
                                 check=True, capture_output=True, text=True, timeout=3600).stdout
            if hold:
                pg.start()
                roots["postgres"] = pg.proc.pid
                deadline = time.time() + 120
                while pg_rows(pg) < rows0 + opt.insns and time.time() < deadline:
                    time.sleep(0.5)
            time.sleep(3)       # the last batch (linger, under callgrind)
            seen = set(os.path.join(work, f) for f in os.listdir(work))
            insns.callgrind_control(["-d"], proc.pid)
            dump = insns.wait_dump(outbase, seen)
            after = servers_cpu(roots)
            n = int(dict(x.split("=", 1) for x in out.split())["msgs"])
            cpu = {k: (after[k] - before[k]) * 1000 / n for k in after}
            print("%-7s %12.0f %9s %9.3f%s" % (config, insns.total_ir(dump) / n,
                                                "-" if hold else "%.3f" % cpu["postgres"], cpu["redis-server"],
                                                "  (PostgreSQL held: %d rows written after)" % (pg_rows(pg) - rows0)
                                                if hold else ""), flush=True)
            if opt.top:
                tops[config] = (insns.objects_and_functions(dump)[1], n)
            if config in ("fleet", "pg"):
                rows = pg.query("SELECT calls, rows, round(total_exec_time::numeric, 1),"
                                " left(regexp_replace(query, '\\s+', ' ', 'g'), 70)"
                                " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12", db="stats")
                print("  PostgreSQL, per statement kind: calls, rows, exec ms for %d messages" % n)
                for r in rows:
                    print("  %7s %7s %9s  %s" % tuple(r[:3] + ["|".join(r[3:])]))
        finally:
            bench.stop_group(proc)
            logf.close()
    for config, (per_fn, n) in tops.items():
        print()
        print("%s: top functions by own instructions per message" % config)
        for fn, k in per_fn.most_common(opt.top):
            print("%10.0f  %s" % (k / n, fn))


def report(results, opt, configs, summary, pg_rows, redis, elapsed, load_start):
    def med(config, key):
        return statistics.median(float(r[key]) for r in results[config])

    print()
    print("fleet backends (issue 15), %s, %d cores; corpus: %s" % (time.strftime("%Y-%m-%d"),
                                                                    os.cpu_count(), summary))
    print("unix socket, 4 connections, medians of %d rounds of %.1f s, configurations in turn"
          % (opt.runs, opt.seconds))
    print()
    hdr = "%-7s %9s %8s %8s %8s %8s %8s %8s %6s" % ("config", "msgs/s", "p50 ms", "p90 ms", "p99 ms",
                                                     "cpu ms", "pg ms", "redis ms", "errors")
    print(hdr)
    print("-" * len(hdr))
    for c in configs:
        print("%-7s %9.0f %8.2f %8.2f %8.2f %8.3f %8.3f %8.3f %6d" % (
            c, med(c, "rate"), med(c, "p50"), med(c, "p90"), med(c, "p99"), med(c, "cpu_ms"),
            med(c, "postgres_ms"), med(c, "redis-server_ms"), med(c, "errors")))
    print("(cpu ms: the daemon's CPU per message; pg ms, redis ms: the servers' CPU per message,"
          " on the same 2 cores here)")
    print()
    print("one connection (a message at a time, %.1f s per round):" % (opt.seconds / 2))
    hdr = "%-7s %9s %8s %8s" % ("config", "msgs/s", "p50 ms", "p99 ms")
    print(hdr)
    print("-" * len(hdr))
    for c in configs:
        print("%-7s %9.0f %8.2f %8.2f" % (c, med(c, "one_rate"), med(c, "one_p50"), med(c, "one_p99")))
    print()
    if "fleet" not in configs or "local" not in configs:
        return
    rate_ratio = med("fleet", "rate") / med("local", "rate")
    p99_diff = med("fleet", "p99") - med("local", "p99")
    one_p99_diff = med("fleet", "one_p99") - med("local", "one_p99")
    print("fleet vs local: throughput %.3f (%+.1f %%), p99 %+.2f ms (4 connections, saturated);"
          " one connection: p99 %+.2f ms" % (rate_ratio, (rate_ratio - 1) * 100, p99_diff, one_p99_diff))
    if "sqlite" in configs:
        print("fleet vs sqlite: throughput %.3f, p99 %+.2f ms" % (
            med("fleet", "rate") / med("sqlite", "rate"), med("fleet", "p99") - med("sqlite", "p99")))
    # round by round (local and fleet ran one after the other in each): how
    # far one round's pair strays from the medians, the noise of this run
    pairs = list(zip(results["local"], results["fleet"]))
    print("round by round, fleet vs local: throughput %s; p99 %s ms" % (
        " ".join("%.3f" % (float(f["rate"]) / max(1.0, float(lo["rate"]))) for lo, f in pairs),
        " ".join("%+.2f" % (float(f["p99"]) - float(lo["p99"])) for lo, f in pairs)))
    print("target: within 10 %% throughput: %s; within 1 ms p99: %s saturated, %s with one connection" % (
        "met" if rate_ratio >= 0.9 else "NOT met", "met" if p99_diff <= 1.0 else "NOT met",
        "met" if one_p99_diff <= 1.0 else "NOT met"))
    fm = results.get("fleet-metrics", [])
    sent = sum(int(m["queued"] or 0) for m in fm)
    dropped = sum(int(m["dropped"] or 0) for m in fm)
    print("PostgreSQL: %d rows for %d verdicts queued (%d dropped from the statistics: queue full)"
          % (pg_rows, sent, dropped))
    print("Redis: %d pipelines in the last round, %d messages judged on local counts; keys now: %s"
          % (int(fm[-1]["redis_rtt_count"] or 0) if fm else 0, int(fm[-1]["redis_fallbacks"] or 0) if fm else 0,
             redis.cli("DBSIZE").strip()))
    print("(%.0f s; load average at the start %s, at the end %s: other work on the machine slows"
          " every configuration alike, the rounds alternate)" % (elapsed, load_start, bench.loadavg()))


if __name__ == "__main__":
    main()
