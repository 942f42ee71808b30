"""A throwaway Postfix, smtp-sink, OpenDKIM and swaks for end-to-end tests
(/usr/bin/python3, as root).

Postfix runs from its own config directory, queue, data directory and log
file under the test's work directory ("postfix -c DIR start"); nothing in
/etc/postfix is read or written and the system's Postfix is not started.
What that needs, found on Debian 12 (Postfix 3.7):
- As root, "postfix -c DIR", "postqueue -c DIR" and "sendmail -C DIR" take
  any directory: alternate_config_directories in /etc/postfix/main.cf is
  only consulted for other users (postqueue as nobody reads
  /etc/postfix/main.cf and fails when it is absent, as with Debian's
  "No configuration"). The tests run as root, so nothing is registered.
- queue_directory and data_directory are per instance; the data directory
  must belong to mail_owner (master's lock file) and every directory above
  them must be searchable by the postfix user (mkdtemp makes 0700).
  "postfix start" creates the queue's subdirectories itself.
- maillog_file (with postlogd in master.cf) keeps the log under the work
  directory; its path must start with one of maillog_file_prefixes.
- No DNS: relayhost = [127.0.0.1]:PORT (brackets: no MX lookup),
  smtp_dns_support_level = disabled, smtpd_peername_lookup = no (the
  client is "unknown"), inet_protocols = ipv4, empty mydestination and
  alias_maps (no local delivery), and no chroot in master.cf.

SmtpSink is Postfix's smtp-sink writing each delivered transaction to its
own file (-d). OpenDKIM is Debian's opendkim in signing mode. swaks() sends
one message with swaks and returns its transcript.
"""
import glob
import json
import os
import re
import pwd
import signal
import socket
import subprocess
import time

POSTFIX_USER = "postfix"


def wait_port(port, proc=None, timeout=15, what="server"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on port %d" % (what, port))


def open_up(path):
    """Makes path and its parents searchable by the daemons' users."""
    path = os.path.abspath(path)
    while path not in ("/", ""):
        st = os.stat(path)
        if st.st_mode & 0o001 == 0:
            os.chmod(path, st.st_mode | 0o011)
        path = os.path.dirname(path)


def make_cert(workdir, cn="mx.test"):
    """A self-signed certificate and key made at test time."""
    cert = os.path.join(workdir, "cert.pem")
    key = os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + cn, "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One Postfix instance under workdir. smtpds: list of (port, {param:
    value}) - one smtpd listener on 127.0.0.1:port each, with -o overrides
    (a value must not contain spaces or commas: use main.cf parameters and
    $name for those). main: extra main.cf parameters."""

    def __init__(self, workdir, relay_port, smtpds, main=None, master_extra=""):
        self.dir = os.path.abspath(workdir)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "maillog")
        for d in (self.etc, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        pw = pwd.getpwnam(POSTFIX_USER)
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        open_up(self.dir)
        params = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": POSTFIX_USER,
            "setgid_group": "postdrop",
            "myhostname": "mx.test",
            "mydomain": "mx.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": "[127.0.0.1]:%d" % relay_port,
            "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "maillog_file": self.log,
            "maillog_file_prefixes": self.dir,
            # short timers: a deferred message is retried within seconds
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connect_timeout": "5s",
            "smtpd_error_sleep_time": "0",
            "smtp_tls_security_level": "none",
        }
        params.update(main or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in params.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            for port, overrides in smtpds:
                f.write("127.0.0.1:%d inet n - n - - smtpd\n" % port)
                for k, v in overrides.items():
                    if any(c in str(v) for c in " ,"):
                        raise ValueError("-o %s=%r: no spaces or commas" % (k, v))
                    f.write("  -o %s=%s\n" % (k, v))
            f.write(MASTER_CF)
            f.write(master_extra)
        self.ports = [p for p, _ in smtpds]

    def cmd(self, *args, check=True):
        p = subprocess.run(["postfix", "-c", self.etc] + list(args), capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: %s%s\n%s" % (" ".join(args), p.stdout, p.stderr,
                                                          self.read_log()[-3000:]))
        return p

    def start(self):
        self.cmd("check")
        self.cmd("start")
        for port in self.ports:
            wait_port(port, what="postfix smtpd")
        return self

    def master_pid(self):
        try:
            return int(open(os.path.join(self.queue, "pid", "master.pid")).read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        pid = self.master_pid()
        self.cmd("stop", check=False)
        deadline = time.time() + 10
        while pid and time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def flush(self):
        subprocess.run(["postqueue", "-c", self.etc, "-f"], check=True, capture_output=True)

    def queue_entries(self):
        """postqueue -j: one dict per queued message."""
        p = subprocess.run(["postqueue", "-c", self.etc, "-j"], check=True, capture_output=True,
                           text=True)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def read_log(self):
        try:
            return open(self.log, encoding="utf-8", errors="replace").read()
        except OSError:
            return ""


class SmtpSink:
    """smtp-sink on 127.0.0.1:port writing each transaction to dir/m.XXXX."""

    def __init__(self, workdir, port):
        self.dir = os.path.abspath(workdir)
        self.port = port
        os.makedirs(self.dir, exist_ok=True)
        pw = pwd.getpwnam("nobody")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        open_up(self.dir)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", os.path.join(self.dir, "m."),
                                      "-c", "127.0.0.1:%d" % self.port, "64"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, what="smtp-sink")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None

    def find(self, token):
        """Contents (bytes) of the delivered transactions that contain token."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "m.*"))):
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            if token.encode() in data:
                out.append(data)
        return out

    def wait_for(self, token, timeout=15):
        deadline = time.time() + timeout
        while True:
            found = self.find(token)
            # smtp-sink writes while the transaction runs: wait for a
            # complete file (its message ends with the body we sent)
            if found or time.time() > deadline:
                return found
            time.sleep(0.1)


class OpenDKIM:
    """opendkim signing for domain with selector on inet:port@127.0.0.1."""

    def __init__(self, workdir, port, domain, selector, internal="127.0.0.0/8"):
        self.dir = os.path.abspath(workdir)
        self.port = port
        os.makedirs(self.dir, exist_ok=True)
        open_up(self.dir)
        subprocess.run(["opendkim-genkey", "-b", "2048", "-d", domain, "-s", selector,
                        "-D", self.dir], check=True, capture_output=True)
        self.key = os.path.join(self.dir, selector + ".private")
        pw = pwd.getpwnam("opendkim")
        os.chown(self.key, pw.pw_uid, pw.pw_gid)
        os.chmod(self.key, 0o600)
        txt = open(os.path.join(self.dir, selector + ".txt")).read()
        # selector._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=..." "..." )
        parts = txt[txt.index("(") + 1:txt.rindex(")")]
        self.record = "".join(p for p in parts.split('"')[1::2])
        self.conf = os.path.join(self.dir, "opendkim.conf")
        self.log = os.path.join(self.dir, "opendkim.log")
        with open(self.conf, "w") as f:
            f.write("Mode s\nDomain %s\nSelector %s\nKeyFile %s\n" % (domain, selector, self.key))
            f.write("Socket inet:%d@127.0.0.1\nBackground no\nUserID opendkim\n" % port)
            f.write("PidFile %s/opendkim.pid\nInternalHosts %s\n" % (self.dir, internal))
            f.write("Canonicalization relaxed/simple\nSyslog no\n")
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", self.conf], stdout=self.logf,
                                     stderr=self.logf)
        wait_port(self.port, self.proc, what="opendkim")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def swaks(port, msg_path, mail_from, rcpt, helo="client.good.test", tls=False, timeout=60,
          local=None):
    """Sends the message file with swaks (from the loopback address local,
    if given); returns (exit status, transcript)."""
    args = ["swaks", "--server", "127.0.0.1", "--port", str(port), "--helo", helo,
            "--from", mail_from, "--to", rcpt, "--data", msg_path, "--timeout", "30"]
    if tls:
        args.append("--tls")
    if local:
        args += ["--local-interface", local]
    p = subprocess.run(args, capture_output=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def reply_after_data(transcript):
    """The server's whole reply to the end of DATA (or else the first error
    reply) as (code, xcode, text): a multi-line reply's texts joined with
    one space, as the filter folded one text into lines."""
    lines = transcript.splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.strip() in ("-> .", "~> .") and i + 1 < len(lines):
            start = i + 1
            break
    if start is None:
        for i, line in enumerate(lines):
            if line.lstrip().startswith(("<**", "<~*")):
                start = i
                break
    if start is None:
        return None
    code = xcode = None
    texts = []
    for line in lines[start:]:
        parts = line.strip().split(None, 1)
        if len(parts) < 2 or not parts[0].startswith("<"):
            break
        m = re.match(r"(\d{3})([ -])(\d\.\d{1,3}\.\d{1,3})?\s?(.*)$", parts[1])
        if m is None:
            break
        code, more, xcode, text = m.group(1), m.group(2), m.group(3), m.group(4)
        texts.append(text)
        if more == " ":
            break
    return code, xcode, " ".join(texts)


def data_reply(transcript):
    """The server's reply to the end of DATA, or else the first error reply,
    as 'CODE text' (swaks marks server lines <-, <~ with TLS, <** errors)."""
    lines = transcript.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("-> .", "~> .") and i + 1 < len(lines):
            return lines[i + 1].strip().split(None, 1)[1]
    for line in lines:
        if line.lstrip().startswith(("<**", "<~*")):
            return line.strip().split(None, 1)[1]
    return None
