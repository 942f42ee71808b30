"""Every pass is evidence: the one place that decides whether a process a
test ran behaved (/usr/bin/python3).

A binary of ours that a test runs passes only if it exited with the status
the test expects AND printed no sanitizer report (AddressSanitizer,
LeakSanitizer, UndefinedBehaviorSanitizer, ThreadSanitizer) on its output
or into its log. Every test group uses this module; nothing else decides it.

In a Python test (tests/lib/harness.py cases):

    import evidence
    p = evidence.run([TOOL, "--json", path])             # exit 0, no report
    p = evidence.run([TOOL, "bad"], expect=2)            # exit 2, no report

    evidence.run() is subprocess.run(cmd, capture_output=True, ...) that
    raises harness.Failure with the reason. Daemons (tests/lib/milter.py's
    Sendercheck) call evidence.stopped(what, rc, log_text) when they stop;
    a problem found there fails the case that was running, or, during
    set-up and tear-down, the group's "clean_exits" case (harness.run).

From a shell script:

    /usr/bin/python3 tests/lib/evidence.py run CMD [ARG...]
        runs CMD with its output passed through; exits with CMD's status,
        or 1 if the output held a sanitizer report
    /usr/bin/python3 tests/lib/evidence.py scan FILE...
        exits 1 (and shows the report) if a FILE holds one

Importing this module sets the sanitizer options the test suite runs with
(tests/run-all.sh sets the same), unless the environment already has them:
a test group run by hand behaves as in the suite.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# What a sanitizer writes when it found something. "runtime error:" is
# UBSan's line; the others open or close a report.
_REPORT = re.compile(
    r"(ERROR: (?:Address|Leak|Thread|Memory)Sanitizer"
    r"|WARNING: (?:Address|Leak|Thread|Memory)Sanitizer"
    r"|SUMMARY: (?:Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer"
    r"|: runtime error: )")

SANITIZER_ENV = {
    # exitcode 23: a report makes the process fail even where a test
    # forgets to read its output
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "suppressions=%s:print_suppressions=0"
                    % os.path.join(os.path.dirname(HERE), "lsan.supp"),
    "TSAN_OPTIONS": "halt_on_error=0:exitcode=66",
}
for _k, _v in SANITIZER_ENV.items():
    os.environ.setdefault(_k, _v)


class Failure(AssertionError):
    """Raised when a process did not behave; harness.py counts it as the
    running case's failure (harness.Failure is this class)."""


def report_in(text):
    """The sanitizer report in text (str or bytes), or None."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = _REPORT.search(text)
    if m is None:
        return None
    start = text.rfind("\n", 0, max(0, m.start() - 200)) + 1
    return text[start:start + 3000]


def problem(what, rc, expect, output=None):
    """Why the process `what` did not behave, or None. expect: an exit
    status, a collection of them, or None for any."""
    rep = report_in(output)
    if rep is not None:
        return "%s: sanitizer report (exit status %s):\n%s" % (what, rc, rep)
    if expect is not None:
        ok = rc in expect if isinstance(expect, (set, frozenset, list, tuple)) else rc == expect
        if not ok:
            tail = output[-1500:] if isinstance(output, str) else \
                (output or b"")[-1500:].decode("utf-8", "replace")
            return "%s: exit status %s, want %s; output ends:\n%s" % (what, rc, expect, tail)
    return None


def check(what, rc, expect, output=None):
    """Raises Failure if problem() finds one."""
    why = problem(what, rc, expect, output)
    if why is not None:
        raise Failure(why)


def run(cmd, expect=0, what=None, **kw):
    """subprocess.run(cmd, capture_output=True, **kw), then check(): the
    exit status must be `expect` and neither stdout nor stderr may hold a
    sanitizer report. Returns the CompletedProcess."""
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 300)
    p = subprocess.run(cmd, **kw)
    out = _text(p.stdout) + "\n" + _text(p.stderr)
    check(what or os.path.basename(str(cmd[0])), p.returncode, expect, out)
    return p


def _text(b):
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode("utf-8", "replace")


# Problems found when a daemon stopped, waiting for the harness to count
# them (the running case, or the group's clean_exits case).
problems = []
stops = []          # every daemon stop checked, for the clean_exits case


def stopped(what, rc, log_text, expect=0):
    """A daemon stopped with status rc (None: it was never started) and
    wrote log_text: records a problem if it did not behave. Returns the
    problem or None. Never raises, so that a tear-down stops everything."""
    if rc is None:
        return None
    why = problem(what, rc, expect, log_text)
    stops.append(what)
    if why is not None:
        problems.append(why)
    return why


def detached_env(prefix):
    """The environment for a process that detaches from its output (a
    daemon without -f): sanitizers write their reports to files named
    prefix.PID, which check_detached() reads."""
    env = dict(os.environ)
    for k in SANITIZER_ENV:
        env[k] = "%s:log_path=%s" % (env.get(k, SANITIZER_ENV[k]), prefix)
    return env


def check_detached(what, prefix):
    """Raises Failure if a process started with detached_env(prefix) wrote
    a sanitizer report."""
    d, base = os.path.split(prefix)
    for name in sorted(os.listdir(d or ".")):
        if name.startswith(base + "."):
            with open(os.path.join(d, name), "rb") as f:
                rep = report_in(f.read())
            if rep is not None:
                raise Failure("%s: sanitizer report in %s:\n%s" % (what, name, rep))


def _main(argv):
    if len(argv) >= 2 and argv[0] == "run":
        p = subprocess.run(argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode("utf-8", "replace")
        sys.stdout.write(out)
        rep = report_in(out)
        if rep is not None:
            print("FAIL %s: sanitizer report in its output (exit status %d)"
                  % (os.path.basename(argv[1]), p.returncode))
            return 1
        return p.returncode
    if len(argv) >= 2 and argv[0] == "scan":
        bad = 0
        for path in argv[1:]:
            with open(path, "rb") as f:
                rep = report_in(f.read())
            if rep is not None:
                print("sanitizer report in %s:\n%s" % (path, rep))
                bad = 1
        return bad
    print("usage: evidence.py run CMD [ARG...] | scan FILE...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
