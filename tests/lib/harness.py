"""A minimal test harness for the Python-driven tests (/usr/bin/python3).

Cases are plain functions registered with @case (or case(fn) for cases made
in a loop: one case per input, never one per assertion); run() executes
them in order, prints "ok NAME", "FAIL NAME: why" or "skip NAME: why" for
each, and ends with the line "N passed, N failed, N skipped" that
tests/run-all.sh reads. Exit status 1 if any failed.

A case skips itself with skip("why") (e.g. data it needs is absent: see
testdata()). A whole group that cannot run says so with skip_group().

Processes: run binaries with evidence.run() (exit status and sanitizer
reports checked); daemons report their stop to evidence.stopped() (see
tests/lib/milter.py). A problem found while a case runs fails that case;
one found during set-up or tear-down fails the group's "clean_exits" case.
"""
import os
import sys
import time
import traceback

import evidence

_cases = []

# The optional folder of third-party test data (a copy of the project's
# shared testdata: dkim/, spf/, arc/, ...). tests/run-all.sh, dev.sh test
# and .ci/run point it at ../shared/testdata next to the clone.
TESTDATA_ENV = "SENDERCHECK_TESTDATA"


def case(fn):
    _cases.append(fn)
    return fn


Failure = evidence.Failure


class Skip(Exception):
    pass


def skip(why):
    raise Skip(why)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def contains(text, part, what):
    if text is None or part not in text:
        raise Failure("%s: %r not found in %r" % (what, part, text))


def testdata(*parts):
    """The path of parts under $SENDERCHECK_TESTDATA; the running case is
    skipped when the variable is unset or the path does not exist."""
    base = os.environ.get(TESTDATA_ENV)
    if not base:
        skip("%s is not set (optional third-party data)" % TESTDATA_ENV)
    path = os.path.join(base, *parts)
    if not os.path.exists(path):
        skip("%s not found (%s=%s)" % (os.path.join(*parts), TESTDATA_ENV, base))
    return path


def testdata_or_none(*parts):
    """Like testdata(), but None instead of a skip (for set-up code)."""
    try:
        return testdata(*parts)
    except Skip:
        return None


def built_with(build, feature):
    """Whether BUILD's config.h defines HAVE_<feature> (configure's optional
    parts: SQLITE3, MHD, CMOCKA, ...)."""
    try:
        with open(os.path.join(build, "config.h")) as f:
            return ("#define HAVE_%s 1" % feature) in f.read()
    except OSError:
        return False


def skip_group(title, why):
    """For a group that cannot run at all: prints the result line with one
    skipped case and returns the exit status 0."""
    print("== %s" % title)
    print("skip %s: %s" % (title, why))
    print("0 passed, 0 failed, 1 skipped", flush=True)
    return 0


def _new_problems(since):
    return evidence.problems[since:]


def run(title, setup=None, teardown=None, context=None):
    """setup() returns the context the cases get; context (optional) is
    the object setup fills as it starts things: if setup fails half way,
    teardown gets that partial context, so that what did start is stopped
    (a detached Postfix master would outlive the group)."""
    passed = failed = skipped = 0
    only = sys.argv[1:]
    print("== %s" % title, flush=True)
    outside = []        # daemon problems seen outside any case
    stops_outside = 0   # daemon stops checked outside any case
    mark, stops = len(evidence.problems), len(evidence.stops)
    ctx = context
    try:
        ctx = setup() if setup else context
        outside += _new_problems(mark)
        stops_outside += len(evidence.stops) - stops
        for fn in _cases:
            if only and fn.__name__ not in only:
                continue
            t0 = time.time()
            mark = len(evidence.problems)
            try:
                fn(ctx) if fn.__code__.co_argcount else fn()
                bad = _new_problems(mark)
                if bad:
                    raise Failure("\n".join(bad))
                passed += 1
                print("ok   %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
            except Skip as e:
                skipped += 1
                print("skip %s: %s" % (fn.__name__, e), flush=True)
            except Exception as e:   # a failed case must not stop the others
                failed += 1
                detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
                # a daemon's report recorded before the failing check (a
                # sanitizer's exit status fails first) is part of the why
                detail = "\n".join([detail] + _new_problems(mark))
                print("FAIL %s: %s" % (fn.__name__, detail), flush=True)
    finally:
        mark, stops = len(evidence.problems), len(evidence.stops)
        if teardown:
            try:
                teardown(ctx)
            except Exception:
                outside.append("tear-down: " + traceback.format_exc())
        outside += _new_problems(mark)
        stops_outside += len(evidence.stops) - stops
    if outside:
        failed += 1
        print("FAIL clean_exits: %s" % "\n".join(outside), flush=True)
    elif stops_outside:
        passed += 1
        print("ok   clean_exits (%d daemons stopped: exit status 0, no sanitizer report)"
              % stops_outside, flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    return 1 if failed else 0
