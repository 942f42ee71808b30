"""A throwaway Sendmail for end-to-end tests (/usr/bin/python3, as root).

Debian's sendmail-bin conflicts with postfix, so it is never installed:
extract() fetches sendmail-bin, sendmail-base, sendmail-cf and m4 with
"apt-get download" (into a cache directory reused
between runs) and unpacks them with "dpkg-deb -x" into a private root.
Sendmail then runs from there, as root, with a sendmail.cf that m4 builds
from the test's .mc with that root's cf/ files, its queue, PID and status
files in the work directory, daemons on loopback ports, and everything
relayed to a sink (SMART_HOST). It runs in its own mount namespace whose
/etc/resolv.conf names 127.0.0.1 only (and whose /etc/hosts qualifies this
machine's name), and its service switch says "hosts files": no DNS query
can leave the machine (outside such a namespace it asks the system's
resolver for its own name).
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import time

from postfix import wait_port

# sendmail-bin's libraries (libwrap0, liblockfile1, ...) are test
# dependencies in dev.sh: they install beside postfix
PACKAGES = ["sendmail-bin", "sendmail-base", "sendmail-cf", "m4"]
BIN = "usr/libexec/sendmail/sendmail"
CFDIR = "usr/share/sendmail/cf"


def extract(cache, root):
    """Downloads (once per cache) and unpacks the packages into root."""
    os.makedirs(cache, exist_ok=True)
    os.chmod(cache, 0o755)          # apt's _apt user writes here
    missing = [p for p in PACKAGES if not glob.glob(os.path.join(cache, p + "_*.deb"))]
    if missing:
        p = subprocess.run(["apt-get", "download"] + missing, cwd=cache, capture_output=True, text=True)
        if p.returncode != 0:
            # stale package lists on a fresh machine
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            p = subprocess.run(["apt-get", "download"] + missing, cwd=cache, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("apt-get download %s: %s" % (" ".join(missing), p.stderr[-1000:]))
    for p in PACKAGES:
        debs = sorted(glob.glob(os.path.join(cache, p + "_*.deb")))
        subprocess.run(["dpkg-deb", "-x", debs[-1], root], check=True)
    binary = os.path.join(root, BIN)
    # setgid binaries ignore LD_LIBRARY_PATH (libwrap comes from root); we run as root anyway
    os.chmod(binary, 0o755)
    return binary


class Sendmail:
    """daemons: [(port, name, input_mail_filters or None for the global list)].
    mc_lines: the MTA snippet lines (INPUT_MAIL_FILTER, macro lists)."""

    def __init__(self, workdir, root, sink_port, daemons, mc_lines, cert=None, key=None, extra=""):
        self.dir = workdir
        self.root = root
        self.bin = os.path.join(root, BIN)
        self.daemons = daemons
        os.makedirs(workdir, exist_ok=True)
        self.queue = os.path.join(workdir, "mqueue")
        os.makedirs(self.queue, mode=0o700, exist_ok=True)
        self.cf = os.path.join(workdir, "sendmail.cf")
        self.env = dict(os.environ, LD_LIBRARY_PATH=":".join(
            [os.path.join(root, "usr/lib/x86_64-linux-gnu"), os.path.join(root, "lib/x86_64-linux-gnu")]))
        with open(os.path.join(workdir, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        with open(os.path.join(workdir, "hosts"), "w") as f:
            # Sendmail sleeps and retries while its own host name is not
            # qualified: give this machine's name a domain here
            host = socket.gethostname().split(".")[0]
            f.write("127.0.0.1 localhost mta.test\n127.0.1.1 %s.test %s\n" % (host, host))
        with open(os.path.join(workdir, "aliases"), "w") as f:
            f.write("postmaster: root\n")
        with open(os.path.join(workdir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        w = workdir
        mc = [
            "divert(-1)", "divert(0)dnl",
            "VERSIONID(`sendercheck test')dnl",
            "OSTYPE(`linux')dnl",
            "define(`confDOMAIN_NAME', `mta.test')dnl",
            "define(`confSERVICE_SWITCH_FILE', `%s/service.switch')dnl" % w,
            "define(`confHOSTS_FILE', `%s/hosts')dnl" % w,
            "define(`QUEUE_DIR', `%s')dnl" % self.queue,
            "define(`confPID_FILE', `%s/sendmail.pid')dnl" % w,
            "define(`STATUS_FILE', `%s/statistics')dnl" % w,
            "define(`ALIAS_FILE', `%s/aliases')dnl" % w,
            "define(`HELP_FILE', `%s/helpfile')dnl" % w,
            "define(`confDONT_PROBE_INTERFACES', `True')dnl",
            "define(`confDELIVERY_MODE', `interactive')dnl",
            "define(`confTO_IDENT', `0')dnl",
            "define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl",
            "define(`confLOG_LEVEL', `9')dnl",
            "define(`confMILTER_LOG_LEVEL', `9')dnl",
            "define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl",
            "define(`ESMTP_MAILER_ARGS', `TCP $h %d')dnl" % sink_port,
            "FEATURE(`nocanonify')dnl",
            "FEATURE(`accept_unresolvable_domains')dnl",
            "FEATURE(`accept_unqualified_senders')dnl",
            "FEATURE(`promiscuous_relay')dnl",
            "FEATURE(`no_default_msa')dnl",
        ]
        if cert:
            mc += ["define(`confCACERT_PATH', `%s')dnl" % os.path.dirname(cert),
                   "define(`confCACERT', `%s')dnl" % cert,
                   "define(`confSERVER_CERT', `%s')dnl" % cert,
                   "define(`confSERVER_KEY', `%s')dnl" % key]
        mc += list(mc_lines)
        for port, name, filters in daemons:
            opts = "Port=%d, Addr=127.0.0.1, Name=%s" % (port, name)
            if filters is not None:
                opts += ", InputMailFilters=%s" % filters
            mc.append("DAEMON_OPTIONS(`%s')dnl" % opts)
        mc += [extra, "MAILER(`smtp')dnl"]
        self.mc = os.path.join(workdir, "test.mc")
        with open(self.mc, "w") as f:
            f.write("\n".join(mc) + "\n")
        cfdir = os.path.join(root, CFDIR) + "/"
        p = subprocess.run([os.path.join(root, "usr/bin/m4"), "-D_CF_DIR_=" + cfdir,
                            os.path.join(cfdir, "m4", "cf.m4"), self.mc], capture_output=True, text=True)
        if p.returncode != 0 or "ERROR" in p.stderr:
            raise RuntimeError("m4: %s" % p.stderr)
        with open(self.cf, "w") as f:
            f.write(p.stdout)
        self.proc = None
        self.logf = None

    def command(self, *args):
        """sendmail with this cf, in a namespace with the private resolv.conf."""
        script = ("mount --bind {0}/resolv.conf /etc/resolv.conf && mount --bind {0}/hosts /etc/hosts && "
                  "exec \"$@\"").format(self.dir)
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                self.bin, "-C", self.cf] + list(args)

    def start(self):
        self.logf = open(os.path.join(self.dir, "sendmail.out"), "ab")
        self.proc = subprocess.Popen(self.command("-bD", "-O", "LogLevel=9"), env=self.env,
                                     stdout=self.logf, stderr=self.logf)
        for port, _, _ in self.daemons:
            wait_port(port, self.proc, what="sendmail")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.logf:
            self.logf.close()

    def run(self, *args):
        return subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True, timeout=60)

    def queue_files(self, prefix="qf"):
        return sorted(glob.glob(os.path.join(self.queue, prefix + "*")))

    def output(self):
        try:
            return open(os.path.join(self.dir, "sendmail.out"), "rb").read().decode("utf-8", "replace")
        except OSError:
            return ""
