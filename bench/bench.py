#!/usr/bin/python3
"""`make bench`: sendercheck against OpenDKIM (verify only), OpenDMARC and a
do-nothing filter, with one corpus, one DNS server and one MTA-like client.

    bench.py --builddir DIR [--runs N] [--seconds S]
             [--modes latency,throughput,instructions] [--delays 0,5,20,50] [--keep]

Three parts, printed in this order:
- DNS latency mode (latency.py): every DNS answer held D ms, caches off,
  sendercheck against OpenDKIM + OpenDMARC chained and rspamd in milter
  mode; round trips waited after end of message.
- Throughput with a warm DNS cache: one message per connection first (as
  Postfix opens a milter connection per SMTP session), then long
  connections.
- Instructions per message (insns.py): the same filters under callgrind,
  one message per connection over inet, 4 and 32 sessions; user-space
  instruction counts, which the machine's load does not change, and
  sendercheck's 15 costliest functions (the profile of what remains);
  then system calls per message (strace -c), the kernel's part; then
  instructions per body byte of the engine's body path (bodybytes.py).

Run by bench/run.sh. Steps: make the corpus and zone (gencorpus.py), start
unbound on 127.0.0.1:PORT and on ADDR:53 for the filters that cannot take a
port (benchdns.py), then for each filter and socket kind (unix:, inet:) start
the filter, warm its DNS cache with one pass over the corpus, and run
miltergen at concurrency 1, 4 and 32 (messages on long-lived connections)
and at 4 with one connection per message, N times each; print the medians
as one table, the ratios and the targets of issue 5.

Filters:
  sendercheck  every check on (SPF, DKIM, DMARC, one-click, iprev, rules),
               Nameservers 127.0.0.1:PORT, its own shared DNS cache
  sc-odkim     the same with DKIMEngine libopendkim (the builtin DKIM
               engine's effect, in the same invocation)
  sc-base      the same configuration on another build's binary (--base
               BINARY): before/after pairs of a change in one invocation,
               e.g. --filters sc-base,sendercheck,null --modes throughput
  opendkim     Mode v, Nameservers ADDR (port 53 of the same unbound; its
               libunbound caches in process), AlwaysAddARHeader
  opendmarc    SPFSelfValidate (libspf2) and DMARC records through the same
               unbound (resolv.conf bound over /etc/resolv.conf in a private
               mount namespace), DKIM results from an Authentication-Results
               field of a trusted upstream authserv-id (corpus-ar.bin)
  null         bench/nullfilter: no-reply flags, accepts at end of message
"""
import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import testdns  # noqa: E402


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def log_tail(path, lines=30):
    """The last lines of a filter's log (its stderr, or its own log file),
    for the message when it fails: its temporary directory is removed."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode(errors="replace")
    except OSError as e:
        return "--- %s: %s ---" % (path, e.strerror)
    tail = text.splitlines()[-lines:]
    return "--- last %d lines of %s ---\n%s" % (len(tail), path, "\n".join(tail) or "(empty)")


def failed(what, why, logs):
    """A RuntimeError naming what failed, with the tails of its logs."""
    return RuntimeError("\n".join(["%s %s" % (what, why)] + [log_tail(p) for p in logs]))


def wait_socket(spec, proc, what, timeout=10, logs=()):
    """Waits until proc listens on spec: a unix socket that accepts a
    connection, or a TCP port that proc or its process group (started
    with start_new_session) listens on; not merely a port that accepts,
    which may be another process's that took the port meanwhile. If proc
    exits first or the time runs out, raises with the tails of the files
    in logs (its stderr, its own log file)."""
    kind, _, rest = spec.partition(":")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise failed(what, "exited (%s) at start" % proc.returncode, logs)
        if kind == "unix":
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(rest)
                s.close()
                return
            except OSError:
                pass
        elif int(rest.partition("@")[0]) in listening_ports(group_members(proc.pid) or [proc.pid]):
            return
        time.sleep(0.05)
    raise failed(what, "did not listen on %s within %d s" % (spec, timeout), logs)


def listening_ports(pids):
    """The TCP ports the processes pids listen on (their sockets that
    /proc/net/tcp and tcp6 list in state LISTEN)."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def random_loopback():
    """A random 127/8 address, for a server that must be on port 53."""
    rng = random.Random()
    return "127.%d.%d.%d" % (rng.randint(100, 250), rng.randint(1, 250), rng.randint(2, 250))


def opendkim_args(work, name, sock, nameserver, authserv):
    """OpenDKIM verifying only, keys through nameserver (port 53)."""
    conf = os.path.join(work, name + ".conf")
    with open(conf, "w") as f:
        f.write("Mode v\nSocket %s\nAuthservID %s\nNameservers %s\n"
                "AlwaysAddARHeader yes\nSyslog yes\nBackground no\nUMask 000\n"
                % (sock, authserv, nameserver))
    return ["/usr/sbin/opendkim", "-f", "-x", conf]


def opendmarc_args(work, name, sock, resolv):
    """OpenDMARC with its own SPF (libspf2), DKIM results from an A-R of
    the trusted upstream.bench, DNS through resolv (bound over
    /etc/resolv.conf in a private mount namespace)."""
    conf = os.path.join(work, name + ".conf")
    open(os.path.join(work, "ignore"), "a").close()
    with open(conf, "w") as f:
        f.write("Socket %s\nAuthservID mx.receiver.example\nTrustedAuthservIDs upstream.bench\n"
                "SPFSelfValidate true\nSPFIgnoreResults true\nIgnoreHosts %s/ignore\n"
                "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat\n"
                "RejectFailures false\nFailureReports false\nSyslog true\nBackground false\n"
                "UMask 000\n" % (sock, work))
    return ["unshare", "-m", "sh", "-c", "mount --bind %s /etc/resolv.conf && "
            "exec /usr/sbin/opendmarc -f -c %s" % (resolv, conf)]


def free_tcp_port():
    """The tests' free_port: below the kernel's ephemeral range, so that
    no outgoing connection takes it before the filter binds it."""
    return testdns.free_port()


class Filter:
    def __init__(self, name, work, args, corpus, env=None):
        self.name, self.work, self.args, self.corpus, self.env = name, work, args, corpus, env
        self.proc = None

    def start(self, sock):
        path = os.path.join(self.work, "%s.log" % self.name)
        self.log = open(path, "ab")
        self.proc = subprocess.Popen(self.args(sock), stdout=self.log, stderr=self.log,
                                     env=self.env, start_new_session=True)
        try:
            wait_socket(sock, self.proc, self.name, logs=[path])
        except RuntimeError:
            stop_group(self.proc, 10)
            self.proc = None
            self.log.close()
            raise

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()


def filter_args(work, build, port, extra, base=None):
    """How each filter is started on a socket: {name: fn(sock) -> argv}.
    port: the unbound on 127.0.0.1 (sendercheck); extra: its port-53
    address (OpenDKIM, and OpenDMARC through work/resolv.conf); base: a
    sendercheck binary of another build, run as the filter "sc-base" with
    the same configuration (before/after pairs in one invocation)."""
    def sc_args(sock, engine="builtin", binary=os.path.join(build, "milter", "sendercheck"), name="sc"):
        conf = os.path.join(work, "%s-%s.conf" % (name, engine))
        with open(conf, "w") as f:
            f.write("Socket %s\nAuthservID mx.receiver.example\nNameservers 127.0.0.1:%d\n"
                    "InternalHosts none\nSyslog no\nLogLevel info\nVolumeFile\n"
                    "DKIMEngine %s\n" % (sock, port, engine))
        return [binary, "-f", "-c", conf]

    return {
        "sendercheck": sc_args,
        "sc-base": lambda sock: sc_args(sock, binary=base or "sc-base: no --base given", name="sc-base"),
        "sc-odkim": lambda sock: sc_args(sock, "libopendkim"),
        "opendkim": lambda sock: opendkim_args(work, "opendkim", sock, extra, "mx.receiver.example"),
        "opendmarc": lambda sock: opendmarc_args(work, "opendmarc", sock,
                                                 os.path.join(work, "resolv.conf")),
        "null": lambda sock: [os.path.join(build, "bench", "nullfilter"), sock],
    }


def run_gen(gen, sock, corpus, pid, conc, secs, warm, per_conn=0, start=0):
    cmd = [gen, "-s", sock, "-c", corpus, "-n", str(conc), "-t", str(secs), "-w", str(warm),
           "-p", str(pid), "-r", str(start)]
    if per_conn:
        cmd += ["-k", str(per_conn)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + warm + 120)
    if out.returncode != 0:
        raise RuntimeError("miltergen failed: " + out.stderr)
    return dict(kv.split("=", 1) for kv in out.stdout.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.5)
    ap.add_argument("--warm", type=float, default=0.5)
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--filters", default="sendercheck,sc-odkim,opendkim,opendmarc,null")
    ap.add_argument("--sockets", default="unix,inet")
    ap.add_argument("--modes", default="latency,throughput,instructions")
    ap.add_argument("--delays", default="0,5,20,50", help="DNS latency mode: ms per answer")
    ap.add_argument("--lat-seconds", type=float, default=3.0)
    ap.add_argument("--lat-filters", default="sendercheck,opendkim+opendmarc,rspamd")
    ap.add_argument("--insn-messages", type=int, default=200,
                    help="instructions mode: messages counted per filter and concurrency")
    ap.add_argument("--insn-filters", default="sendercheck,opendkim,null")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--base", help="a sendercheck binary of another build: the filter sc-base")
    opt = ap.parse_args()

    build = os.path.abspath(opt.builddir)
    gen = os.path.join(build, "bench", "miltergen")
    for exe in (gen, os.path.join(build, "bench", "nullfilter"),
                os.path.join(build, "milter", "sendercheck")):
        if not os.access(exe, os.X_OK):
            sys.exit("bench: %s is not built" % exe)
    for exe in ("/usr/sbin/opendkim", "/usr/sbin/opendmarc", "/usr/sbin/unbound"):
        if not os.access(exe, os.X_OK):
            sys.exit("bench: %s missing (./dev.sh bench installs it)" % exe)

    work = tempfile.mkdtemp(prefix="sc-bench-")
    os.chmod(work, 0o755)
    dns = None
    started = time.time()
    load_start = loadavg()
    try:
        log("corpus in", work)
        subprocess.run([PY, os.path.join(HERE, "gencorpus.py"), work, "--messages",
                        str(opt.messages)], check=True, stdout=subprocess.DEVNULL)
        summary = open(os.path.join(work, "summary.txt")).read().strip()
        results_lat = {}
        if "latency" in opt.modes:
            sys.path.insert(0, HERE)
            import latency
            results_lat = latency.run(sys.modules[__name__], opt, work, build,
                                      os.path.join(work, "zone.txt"))
        # the port-53 address for OpenDKIM and OpenDMARC: a random loopback one
        extra = random_loopback()
        dns = subprocess.Popen([PY, os.path.join(HERE, "benchdns.py"), os.path.join(work, "zone.txt"),
                                os.path.join(work, "dns"), extra], stdout=subprocess.PIPE, text=True)
        port = int(dns.stdout.readline())
        log("unbound on 127.0.0.1:%d and %s:53" % (port, extra))

        with open(os.path.join(work, "resolv.conf"), "w") as f:
            f.write("nameserver %s\noptions timeout:2 attempts:1\n" % extra)

        args_of = filter_args(work, build, port, extra, opt.base and os.path.abspath(opt.base))
        corpus = os.path.join(work, "corpus.bin")
        corpus_ar = os.path.join(work, "corpus-ar.bin")
        filters = {
            "sendercheck": Filter("sendercheck", work, args_of["sendercheck"], corpus),
            # the same configuration on another build's binary (--base)
            "sc-base": Filter("sc-base", work, args_of["sc-base"], corpus),
            # sendercheck with its other DKIM engine: the builtin engine's effect
            "sc-odkim": Filter("sc-odkim", work, args_of["sc-odkim"], corpus),
            "opendkim": Filter("opendkim", work, args_of["opendkim"], corpus),
            "opendmarc": Filter("opendmarc", work, args_of["opendmarc"], corpus_ar),
            "null": Filter("null", work, args_of["null"], corpus),
        }
        configs = [(4, 1), (32, 1), (1, 0), (4, 0), (32, 0)]
        results = {}
        if "throughput" not in opt.modes:
            configs = []
        for fname in opt.filters.split(",") if configs else []:
            flt = filters[fname]
            for skind in opt.sockets.split(","):
                sock = ("unix:%s/%s.sock" % (work, fname) if skind == "unix"
                        else "inet:%d@127.0.0.1" % free_tcp_port())
                flt.start(sock)
                try:
                    pid = flt.proc.pid
                    # warm the caches: the whole corpus at least once
                    run_gen(gen, sock, flt.corpus, pid, 4, 1.5, 0.2)
                    for r in range(opt.runs):
                        for conc, per_conn in configs:
                            res = run_gen(gen, sock, flt.corpus, pid, conc, opt.seconds, opt.warm,
                                          per_conn, start=r * 997)
                            results.setdefault((fname, skind, conc, per_conn), []).append(res)
                    log("%-11s %-4s done" % (fname, skind))
                finally:
                    flt.stop()
        results_insn, results_sys, results_body = {}, {}, []
        if "instructions" in opt.modes:
            sys.path.insert(0, HERE)
            import insns
            iopt = insns.parser().parse_args(["--builddir", build, "--conc", "4,32", "--per-conn", "1",
                                              "--messages", str(opt.insn_messages), "--top", "15"])
            iopt.top_filters = ("sendercheck",)
            results_insn = insns.measure(iopt, work, build, args_of, opt.insn_filters.split(","), gen,
                                         corpus, opt.messages)
            results_sys = insns.count_syscalls(iopt, work, args_of, opt.insn_filters.split(","), gen,
                                               corpus, opt.messages)
            import bodybytes
            results_body = bodybytes.measure(build)
        if results_lat:
            print()
            latency.report(results_lat, opt)
        if results:
            report(results, opt, summary)
        if results_insn:
            insns.report(results_insn, iopt)
        if results_sys:
            insns.report_syscalls(results_sys, iopt)
        if results_body:
            bodybytes.report(results_body, top=5)
        print()
        print("(%.0f s; load average (1, 5, 15 min) at the start %s, at the end %s: other work on the "
              "machine skews every figure but the instruction counts)"
              % (time.time() - started, load_start, loadavg()))
    finally:
        stop_process(dns)
        if opt.keep:
            log("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def med(runs, key):
    return statistics.median(float(r[key]) for r in runs)


def stop_process(p, timeout=10):
    """SIGTERM, then SIGKILL if p has not ended within timeout seconds; None is nothing."""
    if p is None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()


def group_members(pgid):
    """The live processes of process group pgid (a filter started with
    start_new_session and the children it made: rspamd's workers); not
    zombies, which have ended and wait for their parent."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                out.append(int(p))
    return out


def stop_group(p, timeout=60):
    """A process started with start_new_session (a filter and the threads
    or children it made): SIGTERM to its group, SIGKILL to the group if it
    has not ended within timeout seconds; then no member of the group may
    be left (rspamd's workers can outlive its main process by a moment, or
    be left by a main process that died): they get a few seconds, then
    SIGKILL. None is nothing."""
    if p is None:
        return
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    deadline = time.time() + 5
    while group_members(p.pid) and time.time() < deadline:
        time.sleep(0.1)
    left = group_members(p.pid)
    if left:
        log("process group %d: %s still running after its leader ended; killed" % (p.pid, left))
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def report(results, opt, summary):
    def row(key):
        runs = results.get(key)
        if not runs:
            return None
        return {k: med(runs, k) for k in ("rate", "p50", "p90", "p99", "cpu_ms", "rss_kb", "errors")}

    print()
    print("sendercheck benchmark, %s, %d cores, %s" % (time.strftime("%Y-%m-%d"), os.cpu_count(),
                                                       os.uname().release))
    print("corpus: %s" % summary)
    print("medians of %d runs of %.1f s each; latency from MAIL to the end-of-message reply;"
          % (opt.runs, opt.seconds))
    print()
    hdr = "%-11s %-4s %4s %6s %9s %8s %8s %8s %8s %8s %6s" % (
        "filter", "sock", "conc", "conn", "msgs/s", "p50 ms", "p90 ms", "p99 ms", "cpu ms", "rss MB",
        "errors")
    for title, confs in (("one message per connection (as Postfix opens a milter connection per SMTP "
                          "session), warm DNS cache:", ((4, 1), (32, 1))),
                         ("long connections (all messages on kept connections), warm DNS cache:",
                          ((1, 0), (4, 0), (32, 0)))):
        print(title)
        print(hdr)
        print("-" * len(hdr))
        for fname in opt.filters.split(","):
            for skind in opt.sockets.split(","):
                for conc, per_conn in confs:
                    r = row((fname, skind, conc, per_conn))
                    if r is None:
                        continue
                    print("%-11s %-4s %4d %6s %9.0f %8.2f %8.2f %8.2f %8.3f %8.1f %6d" % (
                        fname, skind, conc, "1/msg" if per_conn else "long", r["rate"], r["p50"],
                        r["p90"], r["p99"], r["cpu_ms"], r["rss_kb"] / 1024.0, r["errors"]))
        print()

    def get(f, s, c, k, pc=0):
        r = row((f, s, c, pc))
        return r[k] if r else None

    def ratio(a, b):
        return "%.2f" % (a / b) if a is not None and b else "n/a"

    def ok(c):
        return "met" if c else "NOT met"

    for skind in opt.sockets.split(","):
        for conc, pc in ((4, 1), (32, 1), (4, 0)):
            sc_rate = get("sendercheck", skind, conc, "rate", pc)
            sc_cpu = get("sendercheck", skind, conc, "cpu_ms", pc)
            print("ratios over %s, %d sessions, %s: sendercheck/OpenDKIM throughput %s, CPU/msg %s; "
                  "/OpenDMARC throughput %s, CPU/msg %s; /do-nothing throughput %s"
                  % (skind, conc, "1/msg" if pc else "long",
                     ratio(sc_rate, get("opendkim", skind, conc, "rate", pc)),
                     ratio(sc_cpu, get("opendkim", skind, conc, "cpu_ms", pc)),
                     ratio(sc_rate, get("opendmarc", skind, conc, "rate", pc)),
                     ratio(sc_cpu, get("opendmarc", skind, conc, "cpu_ms", pc)),
                     ratio(sc_rate, get("null", skind, conc, "rate", pc))))
        odk = get("sc-odkim", skind, 4, "rate", 1)
        if odk is not None:
            print("DKIM engines over %s, 4 sessions, 1/msg: builtin/libopendkim throughput %s, "
                  "CPU/msg %s, p99 %s" % (
                      skind, ratio(get("sendercheck", skind, 4, "rate", 1), odk),
                      ratio(get("sendercheck", skind, 4, "cpu_ms", 1),
                            get("sc-odkim", skind, 4, "cpu_ms", 1)),
                      ratio(get("sendercheck", skind, 4, "p99", 1),
                            get("sc-odkim", skind, 4, "p99", 1))))
    print()
    print("targets (issue 11), one message per connection over inet, warm cache, sendercheck vs "
          "OpenDKIM verify-only:")
    for conc in (4, 32):
        sc = {k: get("sendercheck", "inet", conc, k, 1) for k in ("rate", "cpu_ms", "p99")}
        od = {k: get("opendkim", "inet", conc, k, 1) for k in ("rate", "cpu_ms")}
        if None in sc.values() or None in od.values():
            continue
        print("  %2d sessions: throughput %.2fx (>= 3x: %s); CPU/msg %.2f of OpenDKIM's (<= 1/4: %s); "
              "p99 %.2f ms (<= 2 ms: %s)%s" % (
                  conc, sc["rate"] / od["rate"], ok(sc["rate"] >= 3 * od["rate"]),
                  sc["cpu_ms"] / od["cpu_ms"], ok(sc["cpu_ms"] * 4 <= od["cpu_ms"]),
                  sc["p99"], ok(sc["p99"] <= 2.0), "" if conc == 4 else " (stated, no target)"))
        floor = get("null", "inet", conc, "p99", 1)
        if floor is not None:
            print("               (the do-nothing filter's p99 in this run: %.2f ms, its CPU/msg %.3f ms)"
                  % (floor, get("null", "inet", conc, "cpu_ms", 1)))


if __name__ == "__main__":
    main()
