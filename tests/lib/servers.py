"""Real backend servers for tests (/usr/bin/python3), each started by the
test in a temporary directory on a loopback port, never the system's.

Redis: Debian's redis-server, no persistence (a restart loses its data, as
an outage may), with a unix socket beside it; kill(), stop() (SIGSTOP: a
server that hangs), cont() and restart() on the same port for the fault
tests; cli() runs redis-cli against it.

Postgres: a private PostgreSQL cluster (Debian's postgresql), made with
initdb in the temporary directory as an unprivileged user and listening on
127.0.0.1:PORT only, with password (scram) authentication for TCP; stop()
and start() for the fault tests; psql() runs SQL as the superuser.
"""
import glob
import os
import pwd
import signal
import socket
import subprocess
import time

import testdns


def free_port():
    return testdns.free_port()


def _wait_port(port, proc=None, timeout=15, what="server"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on 127.0.0.1:%d" % (what, port))


class Redis:
    def __init__(self, workdir, password=None, name="redis"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "redis.sock")
        self.password = password
        self.proc = None

    @property
    def uri(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--unixsocket", self.socket, "--unixsocketperm", "700",
                "--logfile", os.path.join(self.dir, "redis.log"), "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, what="redis-server")
        return self

    def kill(self):
        """SIGKILL: the data (no persistence) is gone with it."""
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self):
        """SIGSTOP: connections stay open, nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        self.kill()
        return self.start()

    def cli(self, *args, db=None):
        cmd = ["redis-cli", "-p", str(self.port), "--no-auth-warning"]
        if self.password:
            cmd += ["-a", self.password]
        if db is not None:
            cmd += ["-n", str(db)]
        p = subprocess.run(cmd + [str(a) for a in args], capture_output=True, timeout=20)
        if p.returncode != 0:
            raise RuntimeError("redis-cli %s: %s" % (args, p.stderr.decode()))
        return p.stdout.decode()

    def shutdown(self):
        self.kill()


def _pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("no PostgreSQL server (apt-get install postgresql)")
    return dirs[-1]


def _unprivileged_user():
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


class Postgres:
    """A private cluster. superuser 'postgres' over the unix socket (trust);
    over TCP every role needs its password (scram-sha-256)."""

    def __init__(self, workdir, name="pg"):
        self.bindir = _pg_bindir()
        self.top = os.path.join(workdir, name)
        self.data = os.path.join(self.top, "data")
        self.sockdir = os.path.join(self.top, "run")
        self.port = free_port()
        self.user = _unprivileged_user()
        self.proc = None
        os.makedirs(self.sockdir, exist_ok=True)
        for d in (self.top, self.sockdir):
            os.chown(d, self.user.pw_uid, self.user.pw_gid)
        # the cluster's user must reach its directory through the temp dir
        d = os.path.dirname(self.top)
        while d not in ("/", ""):
            st = os.stat(d)
            if st.st_uid == 0 and not st.st_mode & 0o001:
                os.chmod(d, (st.st_mode & 0o7777) | 0o711)
            d = os.path.dirname(d)

    def _as_user(self):
        uid, gid = self.user.pw_uid, self.user.pw_gid

        def demote():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        return demote

    def _run(self, args, **kw):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", HOME=self.top)
        return subprocess.run(args, preexec_fn=self._as_user(), env=env, capture_output=True,
                              timeout=kw.pop("timeout", 120), cwd=self.top, **kw)

    def init(self):
        p = self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
                       "-A", "trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        if p.returncode != 0:
            raise RuntimeError("initdb: %s" % (p.stdout + p.stderr).decode())
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 50\nshared_buffers = 32MB\n" % (self.port, self.sockdir))
        return self

    def start(self):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        self.log = open(os.path.join(self.top, "postgres.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "postgres"), "-D", self.data],
                                     preexec_fn=self._as_user(), env=env, stdout=self.log,
                                     stderr=self.log, cwd=self.top)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: %s" % open(self.log.name, "rb").read()[-2000:])
            if self.psql("SELECT 1", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres did not start")

    def stop(self):
        """Fast shutdown (SIGINT): clients are disconnected."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def psql(self, sql, db="postgres", check=True):
        """sql: one statement, or a list run one after the other (each in
        its own transaction: CREATE DATABASE cannot run in one)."""
        cmds = []
        for stmt in ([sql] if isinstance(sql, str) else sql):
            cmds += ["-c", stmt]
        p = self._run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v",
                       "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(self.port), "-U", "postgres",
                       "-d", db] + cmds, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, p.stderr.decode()))
        return p

    def query(self, sql, db="postgres"):
        """Rows as lists of strings ('|' separated output of psql -A -t)."""
        out = self.psql(sql, db).stdout.decode()
        return [line.split("|") for line in out.splitlines() if line != ""]

    def shutdown(self):
        self.stop()
