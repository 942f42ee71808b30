#!/usr/bin/python3
"""Instructions per message, counted by callgrind: figures that do not
depend on the machine's load (bench.py's CPU times do).

    insns.py --builddir DIR [--messages N] [--conc 4,32] [--per-conn 1]
             [--filters sendercheck,opendkim,null] [--top N] [--keep]
             [--no-callgrind] [--no-syscalls] [--no-events] [--base BINARY]

Same corpus, zone and configurations as bench.py's throughput part, over
inet. Each filter runs under valgrind --tool=callgrind; miltergen sends
the whole corpus once (warming the DNS caches), the counters are zeroed,
then miltergen -m N sends exactly N messages with CONC sessions (one
message per connection unless --per-conn 0) and the counters are dumped.
Prints, per filter and concurrency, the user-space instructions per message
(the kernel's work for the filter's system calls is not in it), with
the share of each library, and the ratios to OpenDKIM; --top N adds the
N functions with the most instructions of their own.

Callgrind runs one thread at a time, so lock contention and cache effects
are not in these counts; the order of work is.

Then the system calls per message (the kernel's share of the CPU): each
filter runs natively, warmed the same way, strace -c -f is attached for
N messages with 4 sessions, one per connection, and the calls are counted.

Last the page faults, context switches and CPU per message: each filter
runs natively, warmed the same way, and perf stat counts N messages
(see count_events). --base BINARY adds the
filter sc-base: another build's sendercheck with the same configuration,
for before/after pairs in one invocation.
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

PY = "/usr/bin/python3"
VALGRIND = ["valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no",
            "--trace-children=no"]


def callgrind_control(args, pid):
    subprocess.run(["callgrind_control"] + args + [str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def wait_dump(outbase, before, timeout=120):
    """The newest dump file of outbase that was not there before."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = os.path.dirname(outbase)
        files = [os.path.join(d, f) for f in os.listdir(d)
                 if f.startswith(os.path.basename(outbase)) and os.path.join(d, f) not in before]
        done = [f for f in files if "totals:" in open(f, errors="replace").read()[-4096:] or
                "summary:" in open(f, errors="replace").read()]
        if done:
            return max(done, key=os.path.getmtime)
        time.sleep(0.2)
    raise RuntimeError("no callgrind dump from " + outbase)


def objects_and_functions(dump):
    """Self instructions per object (library) and per function, read from
    the callgrind file (name compression, calls= lines carry inclusive
    costs of callees and are skipped)."""
    names = {"ob": {}, "fn": {}}
    per_obj, per_fn = collections.Counter(), collections.Counter()
    ob = fn = "?"
    skip_next = False

    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    for line in open(dump, errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        c = line[0]
        if c.isdigit() or c in "+-*":
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2:
                k = int(parts[1])
                per_obj[ob] += k
                per_fn[(fn, ob)] += k
            continue
        key, _, rest = line.partition("=")
        if key == "ob":
            ob = os.path.basename(name("ob", rest))
        elif key == "fn":
            fn = name("fn", rest)
        elif key in ("cob", "cfn"):
            name(key[1:], rest)
        elif key == "calls":
            skip_next = True
    return per_obj, collections.Counter({"%s [%s]" % k: v for k, v in per_fn.items()})


def total_ir(dump):
    for line in open(dump, errors="replace"):
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError("no totals in " + dump)


def group(obj):
    if obj in ("sendercheck",):
        return "sendercheck (ours)"
    for k, name in (("libc.so", "libc"), ("libcrypto", "OpenSSL"), ("libssl", "OpenSSL"),
                    ("libopendkim", "libopendkim"), ("libmilter", "libmilter"),
                    ("libspf2", "libspf2"), ("libpsl", "libpsl"), ("ld-linux", "ld.so"),
                    ("libunbound", "libunbound"), ("opendkim", "opendkim"),
                    ("vgpreload", "malloc (valgrind's)")):
        if k in obj:
            return name
    return obj.split(".so")[0]


def measure(opt, work, build, args_of, filters, gen, corpus, n_corpus):
    """Runs each filter under callgrind: one warming pass over the corpus,
    then for each concurrency the counters are zeroed, opt.messages
    messages sent and the counters dumped. Returns {(filter, conc): ...}."""
    results = {}
    for fname in filters:
        sock = "inet:%d@127.0.0.1" % bench.free_tcp_port()
        outbase = os.path.join(work, "cg.%s" % fname)
        cmd = VALGRIND + ["--callgrind-out-file=" + outbase] + args_of[fname](sock)
        logp = os.path.join(work, "%s.callgrind.log" % fname)
        logf = open(logp, "ab")
        proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, start_new_session=True)
        try:
            bench.wait_socket(sock, proc, fname, timeout=120, logs=[logp])
            # warm the caches with every message the runs will send (7 ...)
            warm = min(n_corpus, opt.messages + 8)
            subprocess.run([gen, "-s", sock, "-c", corpus, "-m", str(warm), "-n", "4", "-k", "1"],
                           check=True, capture_output=True, timeout=3600)
            for conc in [int(x) for x in opt.conc.split(",")]:
                callgrind_control(["-z"], proc.pid)
                cmdm = [gen, "-s", sock, "-c", corpus, "-m", str(opt.messages), "-n", str(conc),
                        "-r", "7"]
                if opt.per_conn:
                    cmdm += ["-k", str(opt.per_conn)]
                out = subprocess.run(cmdm, check=True, capture_output=True, text=True,
                                     timeout=3600).stdout
                kv = dict(x.split("=", 1) for x in out.split())
                before = set(os.path.join(work, f) for f in os.listdir(work))
                callgrind_control(["-d"], proc.pid)
                dump = wait_dump(outbase, before)
                n = int(kv["msgs"])
                per_obj, per_fn = objects_and_functions(dump)
                results[(fname, conc)] = (total_ir(dump) / n, per_obj, per_fn, n, int(kv["errors"]))
                print("insns: %-11s %2d sessions: %d messages, %.0f instructions each" %
                      (fname, conc, n, total_ir(dump) / n), file=sys.stderr, flush=True)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            print("insns: %s: %s" % (fname, e), file=sys.stderr, flush=True)
        finally:
            bench.stop_group(proc)
            logf.close()
    return results


def syscalls_of(strace_out):
    """{syscall: calls} and the total from strace -c's summary."""
    calls, total = {}, 0
    for line in open(strace_out, errors="replace"):
        parts = line.split()
        if len(parts) < 5 or not parts[0].replace(".", "").isdigit():
            continue
        name = parts[-1]
        # errors column may be empty: calls is the 4th field
        n = int(parts[3])
        if name == "total":
            total = n
        else:
            calls[name] = n
    return calls, total


def run_counted(opt, work, args_of, fname, gen, corpus, n_corpus, conc, tool):
    """Runs filter fname natively, warms it with the corpus, attaches
    tool(pid, work) -> Popen (which returns once the tool counts), sends
    opt.messages messages (one per connection) and stops the tool with
    SIGINT. Returns the messages sent."""
    sock = "inet:%d@127.0.0.1" % bench.free_tcp_port()
    logp = os.path.join(work, "%s.native.log" % fname)
    logf = open(logp, "ab")
    proc = subprocess.Popen(args_of[fname](sock), stdout=logf, stderr=logf, start_new_session=True)
    st = None
    try:
        bench.wait_socket(sock, proc, fname, timeout=30, logs=[logp])
        warm = min(n_corpus, opt.messages + 8)
        subprocess.run([gen, "-s", sock, "-c", corpus, "-m", str(warm), "-n", str(conc), "-k", "1"],
                       check=True, capture_output=True, timeout=600)
        st = tool(proc.pid)
        r = subprocess.run([gen, "-s", sock, "-c", corpus, "-m", str(opt.messages), "-n", str(conc),
                            "-r", "7", "-k", "1"], check=True, capture_output=True, text=True,
                           timeout=1800).stdout
        st.send_signal(signal.SIGINT)
        st.wait(60)
        st = None
        return int(dict(x.split("=", 1) for x in r.split())["msgs"])
    finally:
        if st is not None and st.poll() is None:
            st.kill()
            st.wait()
        bench.stop_group(proc)
        logf.close()


def count_syscalls(opt, work, args_of, filters, gen, corpus, n_corpus, conc=4):
    """System calls per message: each filter runs natively, is warmed with
    the corpus, then strace -c -f is attached while opt.messages messages
    are sent (one per connection), and detached. Counts, unlike times, do
    not depend on the machine's load (only a little: a poll or futex that
    need not wait under one schedule may under another)."""
    results = {}
    if shutil.which("strace") is None:
        print("insns: strace missing: no system call counts", file=sys.stderr)
        return results
    for fname in filters:
        out = os.path.join(work, "strace.%s" % fname)

        def strace(pid):
            errf = out + ".err"
            with open(errf, "wb") as ef:
                st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                                      stdout=subprocess.DEVNULL, stderr=ef)
            # attached (to every thread) before the first message
            deadline = time.time() + 30
            while "attached" not in open(errf, errors="replace").read():
                if time.time() > deadline or st.poll() is not None:
                    st.kill()
                    raise RuntimeError("strace did not attach: " + open(errf).read().strip())
                time.sleep(0.1)
            return st

        try:
            n = run_counted(opt, work, args_of, fname, gen, corpus, n_corpus, conc, strace)
            calls, total = syscalls_of(out)
            results[fname] = (total / n, {k: v / n for k, v in calls.items()}, n)
            print("insns: %-11s %d messages, %.1f system calls each" % (fname, n, total / n),
                  file=sys.stderr, flush=True)
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
            print("insns: strace %s: %s" % (fname, e), file=sys.stderr, flush=True)
    return results


def perf_counts(out):
    """{event: count} from perf stat -x, output."""
    c = {}
    for line in open(out, errors="replace"):
        parts = line.strip().split(",")
        if len(parts) >= 3 and parts[0].replace(".", "").isdigit():
            c[parts[2]] = float(parts[0])
    return c


def count_events(opt, work, args_of, filters, gen, corpus, n_corpus, conc=4):
    """Page faults, context switches and CPU per message: each filter runs
    natively, is warmed with the corpus, then perf stat is attached (to
    every thread, and to the threads made while it counts: libmilter's
    workers come and go, and /proc's per-thread counts leave with them)
    while opt.messages messages are sent, one per connection. Faults and
    switches hardly depend on the load (a futex that need not wait under
    one schedule may under another); the CPU time (task-clock) does."""
    results = {}
    if shutil.which("perf") is None:
        print("insns: perf missing (linux-perf): no fault and context switch counts", file=sys.stderr)
        return results
    for fname in filters:
        out = os.path.join(work, "perfstat.%s" % fname)

        def perf(pid):
            st = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e",
                                   "page-faults,context-switches,cpu-migrations,task-clock",
                                   "-p", str(pid)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the first message
            return st

        try:
            n = run_counted(opt, work, args_of, fname, gen, corpus, n_corpus, conc, perf)
            c = perf_counts(out)
            per = {k: c.get(k, 0.0) / n for k in ("page-faults", "context-switches", "cpu-migrations",
                                                   "task-clock")}
            results[fname] = (per, n)
            print("insns: %-11s %d messages, %.2f page faults, %.2f context switches each" %
                  (fname, n, per["page-faults"], per["context-switches"]), file=sys.stderr, flush=True)
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
            print("insns: events %s: %s" % (fname, e), file=sys.stderr, flush=True)
    return results


def report_events(results, opt):
    if not results:
        return
    print()
    print("page faults, context switches, CPU migrations and CPU time per message (perf stat, natively), "
          "inet, one message per connection, 4 sessions, warm DNS cache (CPU time: load-dependent):")
    print("%-11s %8s %8s %8s %8s" % ("filter", "faults", "switches", "migr", "cpu ms"))
    for fname, (per, n) in results.items():
        print("%-11s %8.2f %8.2f %8.2f %8.3f  (%d messages)" % (
            fname, per["page-faults"], per["context-switches"], per["cpu-migrations"],
            per["task-clock"], n))


def report_syscalls(results, opt):
    if not results:
        return
    print()
    print("system calls per message (strace -c -f attached after warming), inet, one message per "
          "connection, 4 sessions, warm DNS cache:")
    for fname, (per, calls, n) in results.items():
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
        print("%-11s %6.1f  (%s; %d messages)" % (fname, per, ", ".join("%s %.1f" % kv for kv in top), n))
    sc, od = results.get("sendercheck"), results.get("opendkim")
    if sc and od:
        print("sendercheck/OpenDKIM system calls per message %.2f" % (sc[0] / od[0]))


def parser():
    """The options; bench.py takes its instructions part's options from
    here too, so that each option has its default in one place."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--messages", type=int, default=300, help="messages counted per run")
    ap.add_argument("--corpus", type=int, default=600, help="messages in the corpus")
    ap.add_argument("--conc", default="4,32")
    ap.add_argument("--per-conn", type=int, default=1, help="messages per connection (0: one long one)")
    ap.add_argument("--filters", default="sendercheck,opendkim,null")
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-syscalls", dest="syscalls", action="store_false",
                    help="skip the system call counts (strace)")
    ap.add_argument("--no-callgrind", dest="callgrind", action="store_false",
                    help="skip the instruction counts (callgrind)")
    ap.add_argument("--no-events", dest="events", action="store_false",
                    help="skip the page fault and context switch counts")
    ap.add_argument("--base", help="a sendercheck binary of another build: the filter sc-base")
    return ap


def main():
    opt = parser().parse_args()

    build = os.path.abspath(opt.builddir)
    gen = os.path.join(build, "bench", "miltergen")
    if opt.callgrind and (shutil.which("valgrind") is None or shutil.which("callgrind_control") is None):
        sys.exit("insns: valgrind missing (./dev.sh bench installs it; --no-callgrind runs without)")
    work = tempfile.mkdtemp(prefix="sc-insns-")
    os.chmod(work, 0o755)
    dns = None
    try:
        subprocess.run([PY, os.path.join(HERE, "gencorpus.py"), work, "--messages", str(opt.corpus)],
                       check=True, stdout=subprocess.DEVNULL)
        extra = bench.random_loopback()
        dns = subprocess.Popen([PY, os.path.join(HERE, "benchdns.py"), os.path.join(work, "zone.txt"),
                                os.path.join(work, "dns"), extra], stdout=subprocess.PIPE, text=True)
        port = int(dns.stdout.readline())
        args_of = bench.filter_args(work, build, port, extra, opt.base and os.path.abspath(opt.base))
        results = {}
        if opt.callgrind:
            results = measure(opt, work, build, args_of, opt.filters.split(","), gen,
                              os.path.join(work, "corpus.bin"), opt.corpus)
        sys_results = {}
        if opt.syscalls:
            sys_results = count_syscalls(opt, work, args_of, opt.filters.split(","), gen,
                                         os.path.join(work, "corpus.bin"), opt.corpus)
        ev_results = {}
        if opt.events:
            ev_results = count_events(opt, work, args_of, opt.filters.split(","), gen,
                                      os.path.join(work, "corpus.bin"), opt.corpus)
        report(results, opt)
        report_syscalls(sys_results, opt)
        report_events(ev_results, opt)
    finally:
        bench.stop_process(dns)
        if opt.keep:
            print("insns: kept", work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(results, opt):
    """The instructions table: nothing when it was not measured
    (--no-callgrind), a line saying so when every run failed."""
    if not opt.callgrind:
        return
    print()
    if not results:
        print("instructions per message (callgrind): no figures, every run failed (errors above)")
        return
    print("instructions per message (callgrind, user space only), inet, %s, warm DNS cache:" %
          ("one message per connection" if opt.per_conn == 1 else
           "long connections" if opt.per_conn == 0 else "%d messages per connection" % opt.per_conn))
    print("%-11s %4s %6s %12s  %s" % ("filter", "conc", "msgs", "Ir/msg", "by library (share)"))
    for (fname, conc), (ir, per_obj, _, n, errors) in sorted(results.items()):
        groups = collections.Counter()
        for obj, k in per_obj.items():
            groups[group(obj)] += k
        tot = sum(groups.values()) or 1
        parts = ", ".join("%s %.0f%%" % (g, 100.0 * k / tot) for g, k in groups.most_common(7))
        print("%-11s %4d %6d %12.0f  %s%s" % (fname, conc, n, ir, parts,
                                              "  (%d errors)" % errors if errors else ""))
    for conc in sorted({c for _, c in results}):
        sc, od = results.get(("sendercheck", conc)), results.get(("opendkim", conc))
        if sc and od:
            print("%2d sessions: sendercheck/OpenDKIM instructions per message %.2f" %
                  (conc, sc[0] / od[0]))
    if opt.top:
        for (fname, conc), (ir, _, per_fn, n, _) in sorted(results.items()):
            if fname not in getattr(opt, "top_filters", (fname,)):
                continue
            print()
            print("%s, %d sessions: top functions by own instructions per message" % (fname, conc))
            for fn, k in per_fn.most_common(opt.top):
                print("%10.0f  %s" % (k / n, fn))


if __name__ == "__main__":
    main()
