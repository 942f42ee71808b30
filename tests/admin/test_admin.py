"""A new admin's first hour with the daemon: sendercheck -n checks what the
start would find (sockets, UserID, state and PID directories, with errno's
reason), the start fails with the real cause (socket, MetricsSocket), logs
go where Syslog says whether or not -f is given (a private /dev/log in a
mount namespace receives them), and systemd's Type=notify readiness comes
once the socket accepts connections.
Run as root: /usr/bin/python3 test_admin.py BUILDDIR"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import built_with, case, check, contains, eq, run  # noqa: E402
import evidence                                               # noqa: E402
from testdns import free_port                                 # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
SC = os.path.join(BUILD, "milter", "sendercheck")
WORK = tempfile.mkdtemp(prefix="sc-admin-")
# A state file whose directory -n checks: StatsDB, or in a build without
# SQLite (where a StatsDB file is itself a problem) VolumeFile.
SQLITE = built_with(BUILD, "SQLITE3")


def state_file(path):
    return {"StatsDB": path} if SQLITE else {"VolumeFile": path}
os.chmod(WORK, 0o755)
NOBODY = pwd.getpwnam("nobody")


def conf(name, **opts):
    base = {"Socket": "unix:%s/%s.sock" % (WORK, name), "AuthservID": "mx.test", "Syslog": "no",
            "VolumeFile": "%s/%s-volume.txt" % (WORK, name)}
    base.update({k.replace("_", "-"): v for k, v in opts.items()})
    path = os.path.join(WORK, name + ".conf")
    with open(path, "w") as f:
        for k, v in base.items():
            f.write("%s %s\n" % (k, v))
    os.chmod(path, 0o644)
    return path


def sc(*args, expect, user=None, env=None, timeout=20):
    """Runs the daemon (-n or a start that must fail): exit status expect,
    no sanitizer report (tests/lib/evidence.py)."""
    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return evidence.run([SC] + list(args), expect=expect, text=True, timeout=timeout,
                        preexec_fn=drop if user else None, env=env,
                        what="sendercheck " + " ".join(args))


def problems(p):
    return [l for l in p.stderr.splitlines() if not l.startswith("sendercheck: ")]


# ---- -n ----

@case
def n_missing_file_names_file_and_errno():
    p = sc("-n", "-c", WORK + "/missing.conf", expect=1)
    contains(p.stderr, WORK + "/missing.conf: cannot open: No such file or directory", "message")
    check("Success" not in p.stderr, "stale errno: %r" % p.stderr)
    os.makedirs(WORK + "/locked", mode=0o700, exist_ok=True)
    shutil.copy(conf("lk"), WORK + "/locked/sc.conf")
    p = sc("-n", "-c", WORK + "/locked/sc.conf", user=NOBODY, expect=1)
    contains(p.stderr, WORK + "/locked/sc.conf: cannot open: Permission denied", "EACCES")


@case
def n_good_config_is_ok():
    p = sc("-n", "-c", conf("good", **state_file(WORK + "/state/stats.db")), expect=0)
    eq(p.stderr, "", "exit, stderr")
    contains(p.stdout, "configuration OK", "stdout")
    check(not os.path.exists(WORK + "/state"), "-n made a directory")
    check(not os.path.exists(WORK + "/good.sock"), "-n left a socket behind")


@case
def n_socket_directory_missing():
    p = sc("-n", "-c", conf("s1", Socket="unix:%s/nodir/sc.sock" % WORK), expect=1)
    contains(p.stderr, "Socket unix:%s/nodir/sc.sock: directory %s/nodir: No such file or directory"
             % (WORK, WORK), "message")


@case
def n_socket_directory_not_writable():
    d = WORK + "/rootonly"
    os.makedirs(d, mode=0o755, exist_ok=True)
    c = conf("s2", Socket="unix:%s/sc.sock" % d, VolumeFile="")
    p = sc("-n", "-c", c, user=NOBODY, expect=1)
    contains(p.stderr, "cannot create a socket in %s: Permission denied" % d, "message")


@case
def n_socket_not_a_local_address():
    p = sc("-n", "-c", conf("s3", Socket="inet:%d@192.0.2.1" % free_port()), expect=1)
    contains(p.stderr, "Cannot assign requested address (the host is not an address of this machine)",
             "message")


@case
def n_privileged_port_as_user():
    p = sc("-n", "-c", conf("s4", Socket="inet:25@127.0.0.1", VolumeFile=""), user=NOBODY, expect=1)
    contains(p.stderr, "Permission denied (a port below 1024 needs root)", "message")


@case
def n_socket_in_use_is_a_note_and_start_fails_with_the_cause():
    port = free_port()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    try:
        c = conf("s5", Socket="inet:%d@127.0.0.1" % port)
        p = sc("-n", "-c", c, expect=0)
        contains(p.stderr, "note: Socket inet:%d@127.0.0.1: Address already in use" % port, "note")
        p = sc("-f", "-c", c, expect=1)
        contains(p.stderr, "cannot listen on inet:%d@127.0.0.1: Address already in use" % port, "start")
        check("no permission?" not in p.stderr, "old guess: %r" % p.stderr)
        # a unix socket someone listens on
        us = socket.socket(socket.AF_UNIX)
        us.bind(WORK + "/busy.sock")
        us.listen(1)
        p = sc("-n", "-c", conf("s6", Socket="unix:%s/busy.sock" % WORK), expect=0)
        contains(p.stderr, "a process listens on it already", "unix in use")
        us.close()
    finally:
        ls.close()


@case
def start_unix_socket_missing_directory():
    p = sc("-f", "-c", conf("s7", Socket="unix:%s/gone/sc.sock" % WORK), expect=1)
    contains(p.stderr, "cannot listen on unix:%s/gone/sc.sock: directory %s/gone: No such file or directory"
             % (WORK, WORK), "message")


@case
def metrics_socket_that_cannot_be_bound_stops_the_start():
    port = free_port()
    ls = socket.socket()
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    try:
        c = conf("m1", MetricsSocket="inet:%d@127.0.0.1" % port)
        p = sc("-n", "-c", c, expect=0)
        contains(p.stderr, "note: MetricsSocket inet:%d@127.0.0.1: Address already in use" % port, "-n note")
        p = sc("-f", "-c", c, expect=1)
        contains(p.stderr, "MetricsSocket inet:%d@127.0.0.1: Address already in use" % port, "message")
        # in the background too: the parent reports it before detaching
        p = sc("-c", conf("m2", MetricsSocket="inet:%d@127.0.0.1" % port), expect=1)
        check(not os.path.exists(WORK + "/m2.sock") or not _accepts(WORK + "/m2.sock"), "still serving")
    finally:
        ls.close()
    p = sc("-n", "-c", conf("m3", MetricsSocket="inet:%d@192.0.2.1" % free_port()), expect=1)
    contains(p.stderr, "MetricsSocket", "message")


@case
def failed_start_frees_what_it_built_at_every_stage():
    """A start that fails at any stage exits 1 with the cause, after the
    engine was built: no leak report on the ASan build (sc() judges), and
    no socket file left behind by a start that opened it."""
    p = sc("-f", "-c", conf("f1", UserID="no-such-user-sc"), expect=1)
    contains(p.stderr, "no such user 'no-such-user-sc'", "user")
    p = sc("-f", "-c", conf("f2", StatsDB="postgresql://sc:secret@127.0.0.1/sc"), expect=1)
    contains(p.stderr, "no password in the URI", "StatsDB")
    port = free_port()
    ls = socket.socket()
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    try:
        p = sc("-f", "-c", conf("f3", MetricsSocket="inet:%d@127.0.0.1" % port), expect=1)
        contains(p.stderr, "Address already in use", "metrics")
        check(not os.path.exists(WORK + "/f3.sock"), "the milter socket file left behind")
    finally:
        ls.close()


def _accepts(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


@case
def n_says_statsdb_needs_a_build_with_its_library():
    """A StatsDB file in a build without SQLite: the daemon would filter
    without statistics, logging an error; -n counts it as a problem."""
    c = conf("q1", StatsDB=WORK + "/q1-stats.db")
    if built_with(BUILD, "SQLITE3"):
        p = sc("-n", "-c", c, expect=0)
        contains(p.stdout, "configuration OK", "-n")
    else:
        p = sc("-n", "-c", c, expect=1)
        contains(p.stderr, "StatsDB %s/q1-stats.db: this sendercheck was built without SQLite" % WORK,
                 "-n")


@case
def n_checks_user_id():
    p = sc("-n", "-c", conf("u1", UserID="no-such-user-sc"), expect=1)
    contains(p.stderr, "UserID: no such user 'no-such-user-sc'", "message")
    p = sc("-n", "-c", conf("u2", UserID="nobody:no-such-group-sc"), expect=1)
    contains(p.stderr, "UserID: no such group 'no-such-group-sc'", "group")


@case
def n_checks_state_dirs_for_the_user_it_runs_as():
    d = WORK + "/rootstate"
    os.makedirs(d, mode=0o755, exist_ok=True)
    # root could write there; UserID nobody cannot
    p = sc("-n", "-c", conf("d1", UserID="nobody", StatsDB=d + "/stats.db", VolumeFile=d + "/v.txt"),
           expect=1)
    contains(p.stderr, "StatsDB %s/stats.db: directory %s is not writable by UserID nobody: Permission denied"
             % (d, d), "StatsDB")
    contains(p.stderr, "VolumeFile %s/v.txt: directory %s is not writable by UserID nobody" % (d, d), "VolumeFile")
    # a writable directory but a file owned by root, mode 644
    w = WORK + "/openstate"
    os.makedirs(w, mode=0o777, exist_ok=True)
    os.chmod(w, 0o777)
    open(w + "/v.txt", "w").close()
    os.chmod(w + "/v.txt", 0o644)
    p = sc("-n", "-c", conf("d2", UserID="nobody", VolumeFile=w + "/v.txt"), expect=1)
    contains(p.stderr, "VolumeFile %s/v.txt: not writable by UserID nobody: Permission denied" % w, "file")
    # a directory the daemon would make, under a parent the user cannot pass
    hidden = WORK + "/hidden"
    os.makedirs(hidden, mode=0o700, exist_ok=True)
    p = sc("-n", "-c", conf("d3", UserID="nobody", StatsDB=hidden + "/new/stats.db"),
           expect=1)
    contains(p.stderr, "%s cannot be reached by UserID nobody" % hidden, "unreachable parent")
    # and one that cannot be made at all
    p = sc("-n", "-c", conf("d4", VolumeFile=WORK + "/no/such/v.txt"), expect=1)
    contains(p.stderr, "directory %s/no/such does not exist and cannot be made in %s/no" % (WORK, WORK), "mkdir")
    # the same directories are fine for root
    p = sc("-n", "-c", conf("d5", VolumeFile=d + "/v.txt", **({"StatsDB": d + "/stats.db"} if SQLITE else {})),
           expect=0)
    eq(p.stderr, "", "as root")


@case
def n_checks_pidfile_directory():
    p = sc("-n", "-c", conf("p1", PidFile=WORK + "/nopid/sc.pid"), expect=1)
    contains(p.stderr, "PidFile %s/nopid/sc.pid: directory %s/nopid: No such file or directory" % (WORK, WORK),
             "message")
    d = WORK + "/rootpid"
    os.makedirs(d, mode=0o755, exist_ok=True)
    p = sc("-n", "-c", conf("p2", PidFile=d + "/sc.pid", VolumeFile=""), user=NOBODY,
           expect=1)
    contains(p.stderr, "PidFile %s/sc.pid: directory %s is not writable by the starting user" % (d, d), "perm")


@case
def every_problem_is_reported_not_only_the_first():
    p = sc("-n", "-c", conf("all", Socket="unix:%s/x1/s.sock" % WORK, PidFile=WORK + "/x2/p.pid",
                            StatsDB="/nonexistent-sc/a/b.db", UserID="no-such-user-sc"), expect=1)
    # UserID fails first and alone (the other checks need the user)
    contains(p.stderr, "no such user", "user")
    p = sc("-n", "-c", conf("all2", Socket="unix:%s/x1/s.sock" % WORK, PidFile=WORK + "/x2/p.pid",
                            **state_file("/nonexistent-sc/a/b.db")), expect=1)
    eq(len(problems(p)), 3, "problem lines: %r" % p.stderr)
    contains(p.stderr, "3 problems", "count")


# ---- logging ----

def start_fg(c, env=None, wrap=None):
    cmd = (wrap or []) + [SC, "-f", "-c", c]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_socket(path, proc, timeout=10):
    t = time.time() + timeout
    while time.time() < t:
        if proc.poll() is not None:
            raise AssertionError("exited %s: %s" % (proc.returncode, proc.stderr.read()))
        if _accepts(path):
            return
        time.sleep(0.05)
    raise AssertionError("no socket " + path)


# A stop must end the process through libmilter, never by the signal's
# default action (SIGTERM blocked from before the socket opens). The exit
# status is not asserted: libmilter's listener can return MI_FAILURE when
# SIGTERM closes its socket just as its accept loop turns around (a race
# inside libmilter, seen here about one stop in five right after a connect).
def stopped_cleanly(rc, err):
    check(rc is not None and rc >= 0, "killed by signal %s (stderr %r)" % (rc, err))
    evidence.check("sendercheck", rc, None, err)      # no sanitizer report


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out, err


@case
def foreground_with_syslog_no_logs_to_stderr():
    c = conf("l1", Syslog="no")
    p = start_fg(c)
    wait_socket(WORK + "/l1.sock", p)
    rc, _, err = stop(p)
    stopped_cleanly(rc, err)
    contains(err, "sendercheck: notice: sendercheck", "start line on stderr")
    contains(err, "listening on unix:%s/l1.sock" % WORK, "listening")


def private_dev_log(logsock):
    """unshare -m: a tmpfs over /dev with null/zero/urandom bound back and
    /dev/log a link to the test's datagram socket."""
    olddev = WORK + "/olddev"
    os.makedirs(olddev, exist_ok=True)
    script = ("mount --bind /dev %s && mount -t tmpfs tmpfs /dev && "
              "for n in null zero urandom random; do touch /dev/$n && mount --bind %s/$n /dev/$n; done && "
              "ln -s %s /dev/log && exec \"$@\"" % (olddev, olddev, logsock))
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]


@case
def foreground_with_syslog_yes_logs_to_syslog_with_facility_and_priority():
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        raise AssertionError("unshare -m does not work here (needs root)")
    for fac, code in (("mail", 2), ("local3", 19)):
        logsock = WORK + "/log-%s.sock" % fac
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(logsock)
        rx.settimeout(10)
        try:
            c = conf("l2" + fac, Syslog="yes", SyslogFacility=fac)
            p = start_fg(c, wrap=private_dev_log(logsock))
            wait_socket(WORK + "/l2%s.sock" % fac, p)
            got = []
            t = time.time() + 10
            while time.time() < t and not any("listening on" in g for g in got):
                got.append(rx.recv(65536).decode("utf-8", "replace"))
            rc, _, err = stop(p)
            line = [g for g in got if "listening on" in g]
            check(line, "no syslog record: %r" % got)
            # <PRI> = facility * 8 + severity (notice = 5); the ident with the pid
            m = re.match(r"<(\d+)>.*sendercheck\[(\d+)\]: sendercheck .* listening on", line[0])
            check(m, "syslog record: %r" % line[0])
            eq(int(m.group(1)), code * 8 + 5, "PRI for facility %s, notice" % fac)
            stopped_cleanly(rc, err)
            check("listening on" not in err, "log line also on stderr: %r" % err)
        finally:
            rx.close()


# ---- systemd readiness ----

@case
def type_notify_ready_after_the_socket_accepts():
    nsock = WORK + "/notify.sock"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(nsock)
    rx.settimeout(30)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=nsock)
        c = conf("n1")
        p = start_fg(c, env=env)
        try:
            msg = rx.recv(4096).decode()
        except socket.timeout:
            p.kill()
            raise AssertionError("no READY=1; daemon: %r" % (p.communicate()[1],))
        contains(msg, "READY=1", "first notification")
        check(_accepts(WORK + "/n1.sock"), "READY=1 before the socket accepts")
        eq(p.poll(), None, "still running")
        p.send_signal(signal.SIGTERM)
        msg = rx.recv(4096).decode()
        contains(msg, "STOPPING=1", "notification at SIGTERM")
        p.wait(timeout=15)
        stopped_cleanly(p.returncode, p.communicate()[1])
    finally:
        rx.close()


if __name__ == "__main__":
    rc = run("the daemon's start, -n, logging and readiness (%s)" % BUILD)
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(rc)
