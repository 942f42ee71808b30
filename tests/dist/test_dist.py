"""The release tarball: make distcheck in a configured build directory
(builds the tarball, unpacks it read-only, configures, builds and runs
"make check" - the cmocka unit tests - from it, installs, uninstalls and
cleans), then the tarball itself: every file the repository tracks is in
it (when the sources are a git checkout) and no build product is.
Run: /usr/bin/python3 test_dist.py BUILDDIR"""
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, eq, run, skip                # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
# files a checkout has and a release leaves out on purpose
NOT_SHIPPED = re.compile(r"(^|/)\.gitignore$")


class Ctx:
    pass


def setup():
    c = Ctx()
    p = subprocess.run(["make", "-j2", "-C", BUILD, "distcheck"], capture_output=True, text=True,
                       timeout=3600)
    c.rc, c.out = p.returncode, p.stdout + p.stderr
    version = re.search(r"^PACKAGE_VERSION = (.*)$", open(os.path.join(BUILD, "Makefile")).read(), re.M)
    c.tarball = os.path.join(BUILD, "sendercheck-%s.tar.gz" % version.group(1).strip())
    c.names = []
    if os.path.exists(c.tarball):
        with tarfile.open(c.tarball) as t:
            c.names = [m.name.split("/", 1)[1] for m in t.getmembers() if m.isfile() and "/" in m.name]
    return c


@case
def distcheck(c):
    eq(c.rc, 0, "make distcheck exit status; output ends:\n%s\n" % c.out[-4000:])
    check("archives ready for distribution" in c.out, "distcheck's last word: %s" % c.out[-500:])


@case
def unit_tests_run_from_the_tarball(c):
    """make check inside distcheck ran the cmocka tests and all passed."""
    m = re.search(r"^# TOTAL: (\d+)$", c.out, re.M)
    check(m, "no test suite summary in make distcheck's output")
    total = int(m.group(1))
    passed = int(re.search(r"^# PASS:  ?(\d+)$", c.out, re.M).group(1))
    check(total >= 10, "only %d unit tests ran" % total)
    eq(passed, total, "unit tests passed")
    print("     %d unit tests run by make check from the tarball" % total)


@case
def every_unit_test_is_in_make_check(c):
    """Each cmocka test source (tests/*/test_*.c) ran in make check: a test
    added to check_PROGRAMS instead of UNIT_TESTS in Makefile.am would be
    built and never run there. A live one (test_*_live.c: it needs the
    servers that tests/unit/run_dns_live.sh starts) must be run by
    tests/run-all.sh instead."""
    ran = set(re.findall(r"^PASS: (\S+)$", c.out, re.M))
    with open(os.path.join(TOP, "tests", "run-all.sh")) as f:
        run_all = f.read()
    want, live = set(), set()
    for d in sorted(os.listdir(os.path.join(TOP, "tests"))):
        folder = os.path.join(TOP, "tests", d)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if re.match(r"test_\w+\.c$", f) and \
                    "<cmocka.h>" in open(os.path.join(folder, f), errors="replace").read():
                (live if f.endswith("_live.c") else want).add("tests/%s/%s" % (d, f[:-2]))
    eq(sorted(want - ran), [], "cmocka tests not run by make check (add them to UNIT_TESTS)")
    check("tests/unit/test_dns_live" in live, "the live DNS test found: %r" % sorted(live))
    eq(sorted(t for t in live if "cmocka_live \"$build/%s\"" % t not in run_all), [],
       "live cmocka tests not run by tests/run-all.sh (cmocka_live)")


@case
def tarball_carries_every_tracked_file(c):
    p = subprocess.run(["git", "-C", TOP, "ls-files"], capture_output=True, text=True)
    if p.returncode != 0:
        skip("the sources are not a git checkout")
    tracked = [f for f in p.stdout.splitlines() if not NOT_SHIPPED.search(f)]
    check(c.names, "no tarball at %s" % c.tarball)
    missing = sorted(set(tracked) - set(c.names))
    eq(missing, [], "tracked files missing from %s (Makefile.am: EXTRA_DIST or DIST_TREES)"
       % os.path.basename(c.tarball))
    print("     %d of %d tracked files in the tarball (.gitignore files left out)"
          % (len(tracked) - len(missing), len(tracked)))


@case
def tarball_has_no_build_products(c):
    check(c.names, "no tarball at %s" % c.tarball)
    bad = [n for n in c.names if n.endswith((".o", ".a", ".pyc")) or "/.deps/" in n
           or "__pycache__" in n or n.endswith(".dirstamp")]
    eq(bad, [], "build products in the tarball")


if __name__ == "__main__":
    sys.exit(run("make distcheck and the tarball (%s)" % BUILD, setup))
