"""The Debian package: built from a copy of the tree with
dpkg-buildpackage -us -uc -b, no compiler warnings, lintian without errors
and with only the warnings explained below; installed on this machine
with dpkg -i (the system user and group, /var/lib/sendercheck and
/run/sendercheck owned by it, /etc/sendercheck.conf a conffile that a
reinstall keeps when edited, man pages found by man, the unit verified);
/usr/sbin/sendercheck -V and -n run from it, and the installed daemon,
started as the unit would start it (as its user, Type=notify), filters a
message; purge removes it again. Needs root.
Run: /usr/bin/python3 test_deb.py BUILDDIR (BUILDDIR is not used: the
package builds in its own copy)"""
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402
import milter                                                 # noqa: E402

sys.argv.pop(1) if len(sys.argv) > 1 else None
SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WORK = tempfile.mkdtemp(prefix="sc-deb-")
os.chmod(WORK, 0o755)

# lintian warnings we accept, each with its reason; any other warning or
# any error fails the test.
EXPLAINED = {
}
# informational tags we know of (printed, never a failure)
INFO_REASONS = {
    "package-supports-alternative-init-but-no-init.d-script":
        "systemd only: the unit carries the hardening, Type=notify and the user; "
        "sysvinit users can run 'sendercheck -c /etc/sendercheck.conf' from their own script",
}


class Ctx:
    deb = None
    installed = False


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def dpkg(*args):
    """dpkg, waiting for the lock while another session's apt holds it."""
    for _ in range(120):
        p = sh(["dpkg"] + list(args))
        if "lock" not in p.stderr or p.returncode == 0:
            return p
        time.sleep(5)
    return p


def copy_tree(dst):
    if os.path.isdir(os.path.join(SRC, ".git")) or os.path.isfile(os.path.join(SRC, ".git")):
        files = sh(["git", "-C", SRC, "ls-files", "-co", "--exclude-standard"]).stdout.split("\n")
    else:
        files = []
        for root, dirs, names in os.walk(SRC):
            dirs[:] = [d for d in dirs if not d.startswith("build") and d != ".git"]
            files += [os.path.relpath(os.path.join(root, n), SRC) for n in names]
    for f in files:
        if not f or not os.path.isfile(os.path.join(SRC, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(os.path.join(SRC, f), os.path.join(dst, f))


def setup():
    c = Ctx()
    if sh(["dpkg-query", "-W", "-f", "${Status}", "sendercheck"]).stdout.startswith("install ok installed"):
        dpkg("--purge", "sendercheck")          # a leftover of an interrupted run
    return c


def teardown(c):
    if c.installed:
        dpkg("--purge", "sendercheck")


@case
def build_depends_name_every_library(c):
    """Build-Depends name every -dev package that dev.sh installs to build
    (its BUILD_DEPS): a clean build (sbuild, a fresh machine) has nothing
    else, and dpkg-checkbuilddeps only checks the packages listed."""
    p = sh(["bash", "-c", "source <(sed -n '1,/^case/p' dev.sh | sed '$d'); echo $BUILD_DEPS"], cwd=SRC)
    eq(p.returncode, 0, "dev.sh's BUILD_DEPS: " + p.stderr)
    wanted = sorted(d for d in p.stdout.split() if d.endswith("-dev"))
    check(len(wanted) >= 10, "dev.sh's BUILD_DEPS read: %r" % wanted)
    with open(os.path.join(SRC, "debian", "control")) as f:
        m = re.search(r"^Build-Depends:(.*?)^\S", f.read(), re.M | re.S)
    check(m, "debian/control has no Build-Depends")
    listed = {re.split(r"[\s(]", d.strip())[0] for d in m.group(1).split(",") if d.strip()}
    eq([d for d in wanted if d not in listed], [], "-dev packages missing from Build-Depends")


@case
def package_builds(c):
    src = os.path.join(WORK, "src")
    copy_tree(src)
    p = sh(["dpkg-checkbuilddeps"], cwd=src)
    eq((p.returncode, p.stderr.strip()), (0, ""), "build dependencies")
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2")
    t0 = time.time()
    p = sh(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env)
    with open(os.path.join(WORK, "build.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    eq(p.returncode, 0, "dpkg-buildpackage: " + (p.stdout + p.stderr)[-3000:])
    print("     dpkg-buildpackage: %.0f s" % (time.time() - t0))
    warnings = [l for l in (p.stdout + p.stderr).splitlines() if re.search(r"\.[ch]:\d+:\d+: warning:", l)]
    eq(warnings, [], "compiler warnings with Debian's hardening flags")
    debs = [f for f in os.listdir(WORK) if re.match(r"sendercheck_[^_]+_\w+\.deb$", f)]
    eq(len(debs), 1, "one package: %r" % os.listdir(WORK))
    c.deb = os.path.join(WORK, debs[0])
    c.changes = os.path.join(WORK, debs[0].replace(".deb", ".changes"))
    # the fleet's backends are in the package: SharedState (hiredis) and StatsDB postgresql:// (libpq)
    deps = sh(["dpkg-deb", "-f", c.deb, "Depends"]).stdout
    for lib in ("libhiredis", "libpq5", "libsqlite3", "libcurl"):
        contains(deps, lib, "the package's Depends")
    names = set(sh(["dpkg-deb", "-c", c.deb]).stdout.split())
    for f in ["./usr/sbin/sendercheck", "./usr/bin/sendercheck-test", "./usr/bin/sendercheck-stats",
              "./usr/bin/sendercheck-reports", "./usr/share/man/man1/sendercheck-reports.1.gz",
              "./etc/sendercheck.conf", "./lib/systemd/system/sendercheck.service",
              "./lib/systemd/system/sendercheck-reports.service",
              "./lib/systemd/system/sendercheck-reports.timer",
              "./usr/share/man/man8/sendercheck.8.gz", "./usr/share/man/man5/sendercheck.conf.5.gz",
              "./usr/share/man/man1/sendercheck-test.1.gz", "./usr/share/man/man1/sendercheck-stats.1.gz",
              "./usr/share/doc/sendercheck/README.Debian", "./usr/lib/tmpfiles.d/sendercheck.conf",
              "./usr/share/doc/sendercheck/examples/sendercheck.conf",
              "./usr/share/doc/sendercheck/examples/sendmail.mc"]:
        check(f in names, "package lacks " + f)


@case
def lintian_clean(c):
    check(c.deb, "no package")
    p = sh(["lintian", "-EvIL", "+pedantic", "--tag-display-limit", "0", c.changes])
    tags = re.findall(r"^([EWIPX]): sendercheck[^:]*: (\S+)(.*)$", p.stdout, re.M)
    errors = [t for t in tags if t[0] == "E"]
    eq(errors, [], "lintian errors")
    unexplained = [t for t in tags if t[0] == "W" and t[1] not in EXPLAINED]
    eq(unexplained, [], "lintian warnings without a reason in EXPLAINED")
    for level, tag, rest in tags:
        why = EXPLAINED.get(tag) or INFO_REASONS.get(tag) or "(pedantic/info, no reason recorded)"
        print("     lintian %s: %s%s -- %s" % (level, tag, rest, why))
    print("     lintian: %d errors, %d warnings, %d info/pedantic" % (
        len(errors), sum(1 for t in tags if t[0] == "W"), sum(1 for t in tags if t[0] in "IP")))


@case
def installs_on_this_machine(c):
    check(c.deb, "no package")
    p = dpkg("-i", c.deb)
    c.installed = True
    eq(p.returncode, 0, "dpkg -i: " + p.stdout + p.stderr)
    u = pwd.getpwnam("sendercheck")
    g = grp.getgrnam("sendercheck")
    check(u.pw_uid < 1000, "a system user: uid %d" % u.pw_uid)
    eq(u.pw_gid, g.gr_gid, "primary group")
    eq(u.pw_shell, "/usr/sbin/nologin", "shell")
    for d in ("/var/lib/sendercheck", "/run/sendercheck"):
        st = os.stat(d)
        eq((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (u.pw_uid, g.gr_gid, 0o750), d)
    conffiles = sh(["dpkg-query", "-W", "-f", "${Conffiles}", "sendercheck"]).stdout
    contains(conffiles, "/etc/sendercheck.conf", "conffiles")
    contains(open("/etc/sendercheck.conf").read(), "\nUserID sendercheck\n", "the config runs it as its user")
    # the daily reports mail other domains: shipped, not enabled
    check(not os.path.exists("/etc/systemd/system/timers.target.wants/sendercheck-reports.timer"),
          "the package enabled sendercheck-reports.timer")


@case
def installed_programs_run(c):
    check(c.installed, "not installed")
    p = evidence.run(["/usr/sbin/sendercheck", "-V"], text=True)
    check(re.match(r"sendercheck \d+\.\d+", p.stdout), "-V: %r" % p.stdout)
    for lib in ("libmilter", "libspf2", "libopendkim"):
        contains(p.stdout, lib, "-V")
    p = evidence.run(["/usr/sbin/sendercheck", "-n"], text=True, what="sendercheck -n as root")
    eq(p.stdout.strip(), "/etc/sendercheck.conf: configuration OK", "-n as root: " + p.stderr)
    # as the unit's ExecStartPre runs it: as the user
    evidence.run(["setpriv", "--reuid=sendercheck", "--regid=sendercheck", "--clear-groups",
                  "/usr/sbin/sendercheck", "-n"], what="sendercheck -n as sendercheck")
    evidence.run(["/usr/bin/sendercheck-test", "--help"])
    evidence.run(["/usr/bin/sendercheck-stats", "--help"])
    evidence.run(["/usr/bin/sendercheck-reports", "--help"])
    for page in ("sendercheck", "sendercheck.conf", "sendercheck-test", "sendercheck-stats"):
        p = sh(["man", "-w", page])
        eq(p.returncode, 0, "man -w " + page)
        check(p.stdout.startswith("/usr/share/man/"), "man -w %s: %r" % (page, p.stdout))
    p = sh(["systemd-analyze", "verify", "--man=no", "/lib/systemd/system/sendercheck-reports.timer",
            "/lib/systemd/system/sendercheck-reports.service"])
    eq((p.returncode, (p.stdout + p.stderr).strip()), (0, ""), "systemd-analyze verify (reports)")
    p = sh(["systemd-analyze", "verify", "--man=no", "/lib/systemd/system/sendercheck.service"])
    eq((p.returncode, (p.stdout + p.stderr).strip()), (0, ""), "systemd-analyze verify")
    p = sh(["systemd-analyze", "security", "--offline=yes", "/lib/systemd/system/sendercheck.service"])
    m = re.search(r"Overall exposure level for sendercheck.service: (\d+\.\d+) (\w+)", p.stdout)
    check(m and float(m.group(1)) <= 2.0, "systemd-analyze security: %s" % p.stdout[-300:])
    print("     systemd-analyze security (installed unit): %s %s" % (m.group(1), m.group(2)))


@case
def installed_daemon_filters_mail_as_the_unit_runs_it(c):
    """ExecStart as the unit has it, as User=sendercheck with NOTIFY_SOCKET,
    on a test socket (the config is the packaged one plus Socket and
    Syslog no, via a copy: the real /etc file stays as installed)."""
    check(c.installed, "not installed")
    unit = open("/lib/systemd/system/sendercheck.service").read()
    cmd = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
    eq(cmd[:3], ["/usr/sbin/sendercheck", "-f", "-c"], "ExecStart")
    d = os.path.join(WORK, "run")
    os.makedirs(d, exist_ok=True)
    shutil.chown(d, "sendercheck", "sendercheck")
    conf = os.path.join(d, "sc.conf")
    text = open("/etc/sendercheck.conf").read()
    with open(conf, "w") as f:
        f.write(text + "\nSocket unix:%s/sc.sock\nSyslog no\nAuthservID mx.deb.test\n"
                "VolumeFile %s/volume.txt\nInternalHosts none\nDNSTimeout 1\nNameservers 127.0.0.1:9\n" % (d, d))
    nsock = os.path.join(WORK, "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(nsock)
    os.chmod(nsock, 0o666)
    rx.settimeout(30)
    proc = subprocess.Popen(["setpriv", "--reuid=sendercheck", "--regid=sendercheck", "--clear-groups",
                             cmd[0], "-f", "-c", conf], env=dict(os.environ, NOTIFY_SOCKET=nsock),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        contains(rx.recv(4096).decode(), "READY=1", "sd_notify")
        r = milter.run_session("unix:%s/sc.sock" % d, ip="192.0.2.10", helo="mail.example.com",
                               mail_from="<a@example.com>", rcpts=["<b@example.net>"],
                               headers=[("From", "a@example.com"), ("Subject", "t")], body="hi\r\n",
                               workdir=d)
        eq(r["eom"], "a", "accepted (%r)" % r["stderr"])
        ar = r["headers"].get("Authentication-Results", "")
        check(ar.lstrip().startswith("mx.deb.test;"), "Authentication-Results: %r" % r)
        contains(r["headers"].get("X-Sender-Compliance", ""), "google=", "compliance field")
    finally:
        rx.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    evidence.check("the installed sendercheck", proc.returncode, 0, err)
    contains(err, "listening on unix:%s/sc.sock" % d, "log on stderr with Syslog no")


@case
def reinstall_keeps_an_edited_config_and_purge_removes_everything(c):
    check(c.installed, "not installed")
    with open("/etc/sendercheck.conf", "a") as f:
        f.write("\nAuthservID mx.edited.test\n")
    p = dpkg("--force-confold", "-i", c.deb)
    eq(p.returncode, 0, "reinstall")
    contains(open("/etc/sendercheck.conf").read(), "AuthservID mx.edited.test", "edited conffile kept")
    p = dpkg("--purge", "sendercheck")
    eq(p.returncode, 0, "purge: " + p.stderr)
    c.installed = False
    for f in ("/etc/sendercheck.conf", "/usr/sbin/sendercheck", "/lib/systemd/system/sendercheck.service",
              "/var/lib/sendercheck"):
        check(not os.path.exists(f), "left after purge: " + f)


if __name__ == "__main__":
    rc = run("the Debian package", setup, teardown)
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(rc)
