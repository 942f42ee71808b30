"""A minimal test harness for the Python-driven tests (/usr/bin/python3).

Cases are plain functions registered with @case; run() executes them in
order, prints "ok NAME" or "FAIL NAME: why" for each, and ends with the line
"N passed, N failed" that the CI reads. Exit status 1 if any failed.
"""
import sys
import time
import traceback

_cases = []


def case(fn):
    _cases.append(fn)
    return fn


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def contains(text, part, what):
    if text is None or part not in text:
        raise Failure("%s: %r not found in %r" % (what, part, text))


def run(title, setup=None, teardown=None):
    passed = failed = 0
    only = sys.argv[1:]
    print("== %s" % title, flush=True)
    ctx = setup() if setup else None
    try:
        for fn in _cases:
            if only and fn.__name__ not in only:
                continue
            t0 = time.time()
            try:
                fn(ctx) if fn.__code__.co_argcount else fn()
                passed += 1
                print("ok   %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
            except Exception as e:   # a failed case must not stop the others
                failed += 1
                detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
                print("FAIL %s: %s" % (fn.__name__, detail), flush=True)
    finally:
        if teardown:
            teardown(ctx)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0
