"""The built sendercheck daemon and miltertest, for tests (/usr/bin/python3).

Sendercheck starts the daemon in the foreground with a config written by the
test and waits until its socket accepts connections. run_session() writes a
miltertest Lua script for one SMTP transaction, runs it and returns what the
filter did: the reply to each step, the header fields it added, whether it
deleted fields ("deleted": an Authentication-Results; "deleted_fields": the
names of our fields it deleted), and whether a given SMTP reply matched.
"""
import os
import signal
import socket
import subprocess
import time

import evidence


class Sendercheck:
    def __init__(self, builddir, workdir, options, socket_spec=None, name="sc"):
        self.bin = os.path.join(builddir, "milter", "sendercheck")
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        if socket_spec is None:
            socket_spec = "unix:%s/%s.sock" % (os.path.abspath(workdir), name)
        self.socket = socket_spec
        self.conf = os.path.join(workdir, name + ".conf")
        self.log = os.path.join(workdir, name + ".log")
        opts = {"Socket": socket_spec, "AuthservID": "mx.test", "InternalHosts": "none",
                "Syslog": "no", "LogLevel": "info",
                "VolumeFile": os.path.join(os.path.abspath(workdir), name + "-volume.txt")}
        opts.update(options)
        with open(self.conf, "w") as f:
            for k, v in opts.items():
                f.write("%s %s\n" % (k, v))
        self.proc = None

    def start(self):
        """Starts the daemon and waits until it is ready: its socket
        accepts and it has logged that it listens, which it does after
        opening its statistics file and metrics socket (the socket itself
        accepts earlier)."""
        self.logf = open(self.log, "ab")
        self.log_start = self.logf.tell()
        self.proc = subprocess.Popen([self.bin, "-f", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                log = self.read_log()
                self.proc = None
                evidence.stopped(self.what(), rc, log)
                raise RuntimeError("sendercheck exited %s:\n%s" % (rc, log))
            if self._accepts() and self._ready():
                return self
            time.sleep(0.05)
        raise RuntimeError("sendercheck did not listen on " + self.socket)

    def what(self):
        return "sendercheck " + os.path.basename(self.conf)

    def _ready(self):
        """The "listening on" notice, unless LogLevel hides notices."""
        level = "info"
        with open(self.conf) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k.lower() == "loglevel":
                    level = v.strip().lower()
        if level in ("error", "err", "warning", "warn"):
            return True
        return " listening on " in self.read_log()

    def _accepts(self):
        kind, _, rest = self.socket.partition(":")
        try:
            if kind in ("unix", "local"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(rest)
            else:
                port, _, host = rest.partition("@")
                fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.connect((host or "127.0.0.1", int(port)))
            s.close()
            return True
        except OSError:
            return False

    def stop(self, expect=0):
        """SIGTERM, then waits; returns the exit status (None if it was not
        running). The exit status and the log of this run go to
        evidence.stopped(): a daemon that exits with another status than
        expect (or is killed for not stopping) or wrote a sanitizer report
        fails the test that was running."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if rc is not None:
            self.logf.close()
            evidence.stopped(self.what(), rc, self.read_log(), expect)
        return rc

    def read_log(self, whole=False):
        """The log of the current (or last) run; whole=True: of every run."""
        try:
            with open(self.log, "rb") as f:
                if not whole:
                    f.seek(getattr(self, "log_start", 0))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def uid_of(pid):
    """The real user id process pid runs as."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return None


def _lua_str(s):
    """A Lua string literal holding exactly the bytes of s (long brackets
    would turn CRLF into LF)."""
    if isinstance(s, str):
        s = s.encode("latin-1")
    out = []
    for byte in s:
        c = chr(byte)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= byte < 127:
            out.append(c)
        else:
            out.append("\\%03d" % byte)
    return '"%s"' % "".join(out)


def run_lua(lines, workdir="/tmp", timeout=30):
    """Runs miltertest on a script made of lines; returns (rc, stdout)."""
    script = os.path.join(workdir, "script-%d-%s.lua" % (os.getpid(), os.urandom(3).hex()))
    with open(script, "w", encoding="latin-1") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run(["miltertest", "-s", script], capture_output=True, timeout=timeout)
    os.unlink(script)
    return p.returncode, p.stdout.decode("latin-1") + p.stderr.decode("latin-1")


REPLY_LINE = 76


def reply_wire(code, xcode, text):
    """The reply as the filter sends it to the MTA: '%' doubled for
    smfi_setreply, folded at spaces into lines of at most REPLY_LINE
    octets (milter/sendercheck.c's set_reply; a longer word gets a line of
    its own), multi-line as libmilter's smfi_setmlreply writes it."""
    text = text.replace("%", "%%")
    lines = []
    while text:
        if len(text) <= REPLY_LINE:
            lines.append(text)
            break
        cut = text.rfind(" ", 0, REPLY_LINE + 1)
        if cut < 0:
            cut = text.find(" ", REPLY_LINE + 1)
            if cut < 0:
                lines.append(text)
                break
        lines.append(text[:cut])
        text = text[cut + 1:]
    if len(lines) <= 1:
        return "%s %s %s" % (code, xcode, text if not lines else lines[0])
    return "\r\n".join("%s%s%s %s" % (code, "-" if i + 1 < len(lines) else " ", xcode, l)
                        for i, l in enumerate(lines))


def run_session(sock, ip="127.0.0.1", hostname="client.test", helo="client.test",
                mail_from="<sender@example.com>", rcpts=("<rcpt@example.net>",),
                headers=(), body=b"", macros=None, expect_reply=None, timeout=20,
                workdir="/tmp", body_chunk=65536):
    """One transaction through the filter on sock. macros: {"i": "QID",
    "{tls_version}": "TLSv1.3", ...} sent with MAIL FROM. expect_reply:
    (code, xcode, text) checked with MT_SMTPREPLY, as reply_wire() folds it."""
    lines = [
        'local conn = mt.connect(%s, 40, 0.25)' % _lua_str(sock),
        'if conn == nil then error("cannot connect to the filter") end',
        "mt.set_timeout(%d)" % timeout,
        "local r = mt.conninfo(conn, %s, %s)" % (_lua_str(hostname), _lua_str(ip)),
        'if r ~= nil then error("conninfo: " .. r) end',
        'mt.echo("CONNECT " .. string.char(mt.getreply(conn)))',
        "if mt.getreply(conn) == SMFIR_CONTINUE then",
        "  mt.helo(conn, %s)" % _lua_str(helo),
    ]
    m = dict(macros or {})
    if m:
        args = ", ".join("%s, %s" % (_lua_str(k), _lua_str(v)) for k, v in m.items())
        lines.append("  mt.macro(conn, SMFIC_MAIL, %s)" % args)
    lines.append("  mt.mailfrom(conn, %s)" % _lua_str(mail_from))
    for r in rcpts:
        lines.append("  mt.rcptto(conn, %s)" % _lua_str(r))
    for name, value in headers:
        # miltertest puts back the space after the colon itself when the
        # filter negotiates SMFIP_HDR_LEADSPC, as an MTA keeps it: send the
        # value without it.
        if value[:1] == " ":
            value = value[1:]
        lines.append("  mt.header(conn, %s, %s)" % (_lua_str(name), _lua_str(value)))
    lines.append("  mt.eoh(conn)")
    if isinstance(body, str):
        body = body.encode()
    for i in range(0, len(body), body_chunk):
        lines.append("  mt.bodystring(conn, %s)" % _lua_str(body[i:i + body_chunk]))
    lines += [
        "  mt.eom(conn)",
        '  mt.echo("EOM " .. string.char(mt.getreply(conn)))',
    ]
    for name in ("Authentication-Results", "Received-SPF", "X-Sender-Compliance"):
        lines += [
            "  local v = mt.getheader(conn, %s, 0)" % _lua_str(name),
            '  if v ~= nil then mt.echo("HDR %s: " .. string.gsub(v, "\\n", "\\\\n")) end' % name,
        ]
    for name in ("Authentication-Results", "X-Sender-Compliance"):
        lines.append('  if mt.eom_check(conn, MT_HDRDELETE, "%s") then mt.echo("DELETED %s") end'
                     % (name, name))
    lines.append('  if mt.eom_check(conn, MT_QUARANTINE) then mt.echo("QUARANTINED") end')
    if expect_reply:
        wire = reply_wire(*expect_reply)
        lines.append('  if mt.eom_check(conn, MT_SMTPREPLY, %s) then mt.echo("REPLY-MATCH") end'
                     % _lua_str(wire))
    lines += ["end", "mt.disconnect(conn)", ""]
    script = os.path.join(workdir, "session-%d-%s.lua" % (os.getpid(), os.urandom(3).hex()))
    with open(script, "w", encoding="latin-1") as f:
        f.write("\n".join(lines))
    p = subprocess.run(["miltertest", "-s", script], capture_output=True, timeout=timeout + 30)
    out = p.stdout.decode("latin-1")
    res = {"rc": p.returncode, "stdout": out, "stderr": p.stderr.decode("latin-1"),
           "headers": {}, "raw_headers": {}, "deleted": False, "deleted_fields": [], "quarantined": False,
           "reply_match": False,
           "connect": None, "eom": None}
    for line in out.splitlines():
        if line.startswith("CONNECT "):
            res["connect"] = line[8:]
        elif line.startswith("EOM "):
            res["eom"] = line[4:]
        elif line.startswith("HDR "):
            name, _, value = line[4:].partition(": ")
            value = value.replace("\\n", "\n")
            # the filter sends the value with its leading space (it
            # negotiates SMFIP_HDR_LEADSPC, and Sendmail writes "Name:"
            # and the value as given); the MTA shows "Name: value"
            res["raw_headers"][name] = value
            res["headers"][name] = value[1:] if value.startswith(" ") else value
        elif line.startswith("DELETED "):
            res["deleted_fields"].append(line[8:])
            res["deleted"] = res["deleted"] or line[8:] == "Authentication-Results"
        elif line.startswith("QUARANTINED"):
            res["quarantined"] = True
        elif line.startswith("REPLY-MATCH"):
            res["reply_match"] = True
    if os.environ.get("KEEP_TMP") is None:
        os.unlink(script)
    return res
