"""Man pages and make install: every page lints clean (mandoc -T lint and
man --warnings), has the sections a manual page needs and documents every
command-line option its program accepts (getopt in its source) and lists in
-h, and every installed program has a page; sendercheck.conf(5) lists
exactly the options of the table (through the sample, which a unit test
holds to the table); make install DESTDIR=... puts programs, pages, sample
and unit in place and never overwrites an edited sendercheck.conf.
Run: /usr/bin/python3 test_install.py BUILDDIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq, run            # noqa: E402
import evidence                                               # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WORK = tempfile.mkdtemp(prefix="sc-install-")
PAGES = {"sendercheck.8": "milter/sendercheck", "sendercheck.conf.5": None,
         "sendercheck-test.1": "tools/sendercheck-test",
         "sendercheck-stats.1": "tools/sendercheck-stats",
         "sendercheck-reports.1": "tools/sendercheck-reports"}
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "SIGNALS", "EXIT STATUS",
            "EXAMPLES", "SEE ALSO"]


def page(name):
    return os.path.join(BUILD, "man", name)


def rendered(path):
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], capture_output=True,
                       text=True, env=env)
    return p


@case
def pages_lint_clean():
    for name in PAGES:
        p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page(name)],
                           capture_output=True, text=True)
        eq((p.stdout + p.stderr).strip(), "", "mandoc -T lint " + name)
        r = rendered(page(name))
        eq(r.returncode, 0, "man -l %s exit" % name)
        eq(r.stderr.strip(), "", "man --warnings " + name)


@case
def pages_have_every_section():
    for name in PAGES:
        heads = re.findall(r'^\.SH "?([A-Z ]+)"?$', open(page(name)).read(), re.M)
        eq(heads, SECTIONS, "sections of " + name)


def parsed_options(prog):
    """The options a program's source hands to getopt: the short option
    string and the long option table."""
    src = open(os.path.join(SRC, prog + ".c")).read()
    opts = set()
    for short in re.findall(r'getopt(?:_long)?\(argc, argv, "([^"]*)"', src):
        opts |= {"-" + ch for ch in short if ch.isalnum()}
    opts |= {"--" + n for n in re.findall(r'\{ *"([\w-]+)", *(?:no|required|optional)_argument', src)}
    return opts


@case
def pages_document_every_command_line_option():
    """Every option a program accepts (its getopt calls in the source) is
    in its -h and in its page; every installed program has a page."""
    am = open(os.path.join(SRC, "Makefile.am")).read().replace("\\\n", " ")
    installed = set()
    for value in re.findall(r'^s?bin_PROGRAMS \+?= *(.*)$', am, re.M):
        installed |= set(value.split())
    eq(sorted(installed), sorted(p for p in PAGES.values() if p),
       "installed programs (Makefile.am) vs the pages' programs")
    for name, prog in PAGES.items():
        if prog is None:
            continue
        out = evidence.run([os.path.join(BUILD, prog), "-h"], text=True, what=prog + " -h")
        listed = set(re.findall(r'(?<![\w-])(--?[a-zA-Z][\w-]*)', out.stdout))
        parsed = parsed_options(prog)
        check(parsed, "no getopt call found in %s.c" % prog)
        eq(sorted(parsed - listed), [], "options %s accepts that its -h leaves out" % prog)
        text = rendered(page(name)).stdout
        for o in sorted(listed | parsed):
            check(re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(o), text),
                  "%s documents %s (in its -h) nowhere" % (name, o))


@case
def conf_page_lists_exactly_the_table():
    sample = [n for n in re.findall(r'^## ([\w-]+): ', open(os.path.join(SRC, "conf", "sendercheck.conf")).read(),
                                    re.M) if n != "Default"]
    src = open(page("sendercheck.conf.5")).read()
    opts = src[src.index(".SH OPTIONS"):src.index(".SH FILES")]
    listed = [n.replace("\\-", "-") for n in re.findall(r'^\.TP\n\\fB([^\\]*(?:\\-[^\\]*)*)\\fR', opts, re.M)]
    eq(listed, sample, "options in sendercheck.conf(5) vs the table (via the sample)")
    text = rendered(page("sendercheck.conf.5")).stdout
    # each entry shows its doc line and default, as the sample does
    for m in re.finditer(r'^## ([\w-]+): (.*)\n## Default: (.*)$',
                         open(os.path.join(SRC, "conf", "sendercheck.conf")).read(), re.M):
        flat = " ".join(text.split())
        doc = m.group(2)
        contains(flat, doc[0].upper() + doc[1:], "doc of " + m.group(1))
        want = "Default: empty." if m.group(3) == "(empty)" else "Default: %s." % m.group(3)
        contains(flat, want, "default of " + m.group(1))


def make_install(dest):
    return subprocess.run(["make", "-s", "-C", BUILD, "install", "DESTDIR=" + dest],
                          capture_output=True, text=True)


def configured(var):
    m = re.search(r'^%s = (.*)$' % var, open(os.path.join(BUILD, "Makefile")).read(), re.M)
    return m.group(1).strip()


@case
def make_install_puts_everything_in_place():
    dest = os.path.join(WORK, "root")
    p = make_install(dest)
    eq(p.returncode, 0, "make install: " + p.stderr[-2000:])
    prefix = configured("prefix")
    etc = dest + configured("sysconfdir").replace("${prefix}", prefix)
    root = dest + prefix
    for f in ["sbin/sendercheck", "bin/sendercheck-test", "bin/sendercheck-stats",
              "bin/sendercheck-reports", "share/man/man1/sendercheck-reports.1",
              "share/man/man8/sendercheck.8", "share/man/man5/sendercheck.conf.5",
              "share/man/man1/sendercheck-test.1", "share/man/man1/sendercheck-stats.1",
              "share/doc/sendercheck/examples/sendercheck.conf",
              "share/doc/sendercheck/examples/postfix-main.cf",
              "share/doc/sendercheck/examples/sendmail.mc"]:
        check(os.path.exists(os.path.join(root, f)), "make install did not install " + f)
    conf = os.path.join(etc, "sendercheck.conf")
    eq(open(conf).read(), open(os.path.join(SRC, "conf", "sendercheck.conf")).read(), "installed sample")
    # the installed page names the installed config path
    contains(open(os.path.join(root, "share/man/man8/sendercheck.8")).read(), etc[len(dest):],
             "sendercheck(8) names the config path")
    unitdir = configured("systemdsystemunitdir")
    if unitdir:
        unit = open(dest + unitdir + "/sendercheck.service").read()
        contains(unit, "ExecStart=%s/sbin/sendercheck -f -c %s" % (prefix, etc[len(dest):]), "unit paths")
        check(not re.search(r'@\w+@', unit), "unsubstituted @...@ in the unit")
        reports = open(dest + unitdir + "/sendercheck-reports.service").read()
        contains(reports, "ExecStart=%s/bin/sendercheck-reports -c %s/sendercheck.conf --day yesterday"
                 % (prefix, etc[len(dest):]), "reports unit paths")
        check(not re.search(r'@\w+@', reports), "unsubstituted @...@ in the reports unit")
        contains(open(dest + unitdir + "/sendercheck-reports.timer").read(), "OnCalendar=", "timer")


@case
def make_install_keeps_an_edited_config():
    dest = os.path.join(WORK, "root2")
    eq(make_install(dest).returncode, 0, "first make install")
    etc = dest + configured("sysconfdir").replace("${prefix}", configured("prefix"))
    conf = os.path.join(etc, "sendercheck.conf")
    with open(conf, "w") as f:
        f.write("AuthservID mx.edited.example\n")
    p = make_install(dest)
    eq(p.returncode, 0, "second make install")
    eq(open(conf).read(), "AuthservID mx.edited.example\n", "edited config after make install")
    contains(p.stdout, "keeping", "make install says it kept the config")
    # uninstall leaves the edited file, removes an unchanged one
    subprocess.run(["make", "-s", "-C", BUILD, "uninstall", "DESTDIR=" + dest], capture_output=True)
    check(os.path.exists(conf), "uninstall removed an edited config")
    dest3 = os.path.join(WORK, "root3")
    eq(make_install(dest3).returncode, 0, "make install 3")
    subprocess.run(["make", "-s", "-C", BUILD, "uninstall", "DESTDIR=" + dest3], capture_output=True)
    check(not os.path.exists(dest3 + configured("sysconfdir").replace("${prefix}", configured("prefix"))
                             + "/sendercheck.conf"), "uninstall left an unchanged sample")


def unit_for_host(tmp):
    """The installed unit with its paths pointed at the build's binary, so
    that systemd-analyze can check ExecStart= on this machine."""
    dest = os.path.join(WORK, "unitroot")
    if not os.path.exists(dest):
        eq(make_install(dest).returncode, 0, "make install")
    unitdir = configured("systemdsystemunitdir")
    check(unitdir, "configure found no systemd unit directory")
    text = open(dest + unitdir + "/sendercheck.service").read()
    sbin = configured("sbindir").replace("${exec_prefix}", configured("exec_prefix")).replace(
        "${prefix}", configured("prefix"))
    text = text.replace(sbin + "/sendercheck", dest + sbin + "/sendercheck")
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "sendercheck.service")
    with open(path, "w") as f:
        f.write(text)
    return path


def analyze(*args):
    return subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True)


@case
def unit_passes_systemd_analyze_verify():
    unit = unit_for_host(os.path.join(WORK, "verify"))
    p = analyze("verify", "--man=no", unit)
    eq((p.returncode, p.stdout + p.stderr), (0, ""), "systemd-analyze verify")
    # the check can fail: a unit whose binary is missing does
    bad = os.path.join(WORK, "verify-bad", "sendercheck.service")
    os.makedirs(os.path.dirname(bad), exist_ok=True)
    with open(bad, "w") as f:
        f.write(open(unit).read().replace("/sbin/sendercheck", "/sbin/no-such-sendercheck"))
    p = analyze("verify", "--man=no", bad)
    check(p.returncode != 0 and "not executable" in p.stderr, "verify accepted a missing binary: %r" % p.stderr)


@case
def reports_timer_passes_systemd_analyze_verify():
    """The daily reports: service and timer as installed, the service's
    ExecStart pointed at the installed binary."""
    dest = os.path.join(WORK, "unitroot")
    unit_for_host(os.path.join(WORK, "verify-reports-0"))      # installs into dest
    unitdir = configured("systemdsystemunitdir")
    bindir = configured("bindir").replace("${exec_prefix}", configured("exec_prefix")).replace(
        "${prefix}", configured("prefix"))
    tmp = os.path.join(WORK, "verify-reports")
    os.makedirs(tmp, exist_ok=True)
    for name in ("sendercheck-reports.service", "sendercheck-reports.timer"):
        text = open(dest + unitdir + "/" + name).read()
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text.replace(bindir + "/sendercheck-reports", dest + bindir + "/sendercheck-reports"))
    p = analyze("verify", "--man=no", os.path.join(tmp, "sendercheck-reports.timer"),
                os.path.join(tmp, "sendercheck-reports.service"))
    eq((p.returncode, p.stdout + p.stderr), (0, ""), "systemd-analyze verify")
    p = analyze("calendar", "*-*-* 00:30:00 UTC")
    eq(p.returncode, 0, "the timer's OnCalendar")


@case
def unit_is_hardened():
    unit = unit_for_host(os.path.join(WORK, "security"))
    text = open(unit).read()
    for line in ["Type=notify", "User=sendercheck", "Group=sendercheck", "RuntimeDirectory=sendercheck",
                 "StateDirectory=sendercheck", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                 "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service", "CapabilityBoundingSet=\n"]:
        contains(text, line, "unit")
    p = analyze("security", "--offline=yes", unit)
    m = re.search(r"Overall exposure level for sendercheck.service: (\d+\.\d+) (\w+)", p.stdout)
    check(m, "no score in: %s" % (p.stdout + p.stderr)[-800:])
    print("     systemd-analyze security: %s %s" % (m.group(1), m.group(2)))
    check(float(m.group(1)) <= 2.0, "exposure %s above 2.0" % m.group(1))


if __name__ == "__main__":
    rc = run("man pages and make install (%s)" % BUILD)
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(rc)
