#!/usr/bin/python3
"""PostgreSQL's CPU per message for the statistics writer alone, in a
private cluster: what a schema or writer change costs the server, without
the daemon, the DNS server and the client sharing the cores (fleet.py
times all of them together).

    statswrite.py --rows STORE.db --builddir DIR [--builddir DIR2 ...]
                  [--rounds 5] [--batches 40] [--size 1000] [--variant NAME=SQL ...]

--rows: an SQLite statistics store a benchmark filled (fleet.py --configs
sqlite --runs 1 --keep leaves one in its directory: stats.db), whose
messages are exported and written again, so that the rows are the
verdicts of the benchmark's corpus. Each build (its bench/statswrite: make
bench/statswrite) and each --variant (SQL run on a build's fresh store
before the counted batches, e.g. "nodom=DROP INDEX messages_domain_time",
with the last build) writes into a database of its own, made anew each
round, the builds in turn round after round; one batch first (schema,
connection), then --batches batches of --size messages (the daemon's full
batch is 1000) counted. Prints per build the PostgreSQL backend's CPU per
message (/proc/PID/schedstat: not the 10 ms ticks of utime) as the median
and minimum of the rounds, and the writer's own CPU per message.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import bench                  # noqa: E402
import servers                # noqa: E402


def copy_text(v):
    if v is None:
        return "\\N"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def export(store, out):
    """The messages of an SQLite store as COPY text with a header line."""
    con = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    cur = con.execute("SELECT * FROM messages ORDER BY id LIMIT 100000")
    names = [d[0] for d in cur.description]
    n = 0
    with open(out, "w") as f:
        f.write("\t".join(names) + "\n")
        for row in cur:
            f.write("\t".join(copy_text(v) for v in row) + "\n")
            n += 1
    con.close()
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True, help="an SQLite statistics store to take the messages from")
    ap.add_argument("--builddir", action="append", required=True)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=SQL")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--size", type=int, default=1000)
    opt = ap.parse_args()

    runs = []
    for b in (os.path.abspath(b) for b in opt.builddir):
        name = os.path.join(os.path.basename(os.path.dirname(b)), os.path.basename(b))
        runs.append((name if name not in [x[0] for x in runs] else b, os.path.join(b, "bench", "statswrite"), ""))
    for v in opt.variant:
        name, sql = v.split("=", 1)
        runs.append((name, runs[-1][1], sql))
    work = tempfile.mkdtemp(prefix="sc-statswrite-")
    os.chmod(work, 0o755)
    pg = None
    got = {name: [] for name, _, _ in runs}
    load_start = bench.loadavg()
    try:
        rows = os.path.join(work, "rows.txt")
        n = export(opt.rows, rows)
        os.chmod(rows, 0o644)
        pg = servers.Postgres(work).init().start()
        pg.psql("CREATE ROLE sc LOGIN")
        bench.log("postgresql on %d, %d rows from %s" % (pg.port, n, opt.rows))
        for r in range(opt.rounds):
            for k, (name, binary, sql) in enumerate(runs):
                db = "w%d_%d" % (r, k)
                pg.psql("CREATE DATABASE %s OWNER sc" % db)
                uri = "postgresql:///%s?host=%s&port=%d&user=sc" % (db, pg.sockdir, pg.port)
                subprocess.run([binary, uri, rows, "0", str(opt.size)], check=True)
                if sql:
                    pg.psql(["SET ROLE sc"] + [s for s in sql.split(";") if s.strip()], db=db)
                p = subprocess.run([binary, uri, rows, str(opt.batches), str(opt.size)], check=True,
                                   capture_output=True, text=True)
                f = p.stdout.split()
                got[name].append((float(f[3]), float(f[5])))
                pg.psql("DROP DATABASE %s" % db)
            bench.log("round %d of %d done" % (r + 1, opt.rounds))
    finally:
        if pg is not None:
            pg.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    print("\nstatistics writer alone into PostgreSQL: %d rounds of %d batches of %d messages (after one)"
          % (opt.rounds, opt.batches, opt.size))
    print("%-28s %12s %12s %12s" % ("build / variant", "pg ms med", "pg ms min", "writer ms"))
    for name, _, _ in runs:
        pgms = [x[0] for x in got[name]]
        print("%-28s %12.4f %12.4f %12.4f" % (name, statistics.median(pgms), min(pgms),
                                            statistics.median(x[1] for x in got[name])))
    print("(pg ms: the PostgreSQL backend's CPU per message; writer ms: statswrite's own, the daemon's"
          " writer thread's work; load average at the start %s, at the end %s)"
          % (load_start, bench.loadavg()))


if __name__ == "__main__":
    main()
