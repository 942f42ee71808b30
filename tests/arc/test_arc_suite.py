#!/usr/bin/python3
"""The open ARC test suite's validation scenarios through sendercheck-test.

    /usr/bin/python3 test_arc_suite.py BUILDDIR [CASE...]

Reads $SENDERCHECK_TESTDATA/arc/arc-draft-validation-tests.yml (the group
skips itself without it). Each scenario's txt-records are served by
Debian's unbound on a loopback port; each test's message (LF line ends,
read as CRLF) goes through sendercheck-test --json, whose "arc" result must
be the scenario's cv. One case per test.

The suite writes an empty cv where the newest seal says cv=fail (dkimpy
then reports no status: "the chain is terminated"); RFC 8617 5.2 step 2
calls that chain "fail", and so do we.
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import case, check, eq, run, skip_group, testdata_or_none  # noqa: E402
import evidence  # noqa: E402
import testdns  # noqa: E402

import yaml  # noqa: E402  (python3-yaml)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
WORK = tempfile.mkdtemp(prefix="arc-suite-")
SUITE = testdata_or_none("arc", "arc-draft-validation-tests.yml")
WANT = {"None": "none", "Pass": "pass", "Fail": "fail", "": "fail", None: "fail"}


class Ctx:
    pass


def scenarios():
    return list(yaml.safe_load_all(open(SUITE))) if SUITE else []


def setup():
    c = Ctx()
    z = testdns.Zone()
    seen = {}
    for sc in scenarios():
        for owner, rdata in (sc.get("txt-records") or {}).items():
            text = "".join(rdata.split("\n")) if "\n" in rdata.strip() else rdata.strip()
            if owner.lower() in seen:
                check(seen[owner.lower()] == text, "two records for %s" % owner)
                continue
            seen[owner.lower()] = text
            z.txt(owner, text)
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    c.conf = os.path.join(WORK, "sc.conf")
    with open(c.conf, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.test\nDNSTimeout 5\n"
                % c.dns.address)
    return c


def teardown(c):
    if c is not None and getattr(c, "dns", None):
        c.dns.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def verdict(c, msg):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(msg.encode("utf-8", "surrogateescape"))
    p = evidence.run([TOOL, "-c", c.conf, "--ip", "192.0.2.10", "--helo", "relay.test",
                      "--mail-from", "bounce@relay.test", "--json", path], timeout=60)
    return json.loads(p.stdout)


def _suite_case(name, test):
    def fn(c):
        msg = test.get("message") or ""
        if not msg.strip() or msg.startswith("\n"):
            # no header fields: sendercheck-test refuses a file that is no
            # message (exit 2, "not a message"); there is no chain in it
            path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
            with open(path, "w") as f:
                f.write(msg)
            p = evidence.run([TOOL, "-c", c.conf, "--ip", "192.0.2.10", "--mail-from", "a@b.test",
                              "--json", path], expect=2, timeout=60)
            check("not a message" in p.stderr.decode() or not msg.strip(),
                  "refused as no message: %r" % p.stderr)
            eq(WANT[test.get("cv")], "none", "a message without header fields has no chain")
            return
        v = verdict(c, msg)
        arc = v.get("arc") or {}
        eq(arc.get("result"), WANT[test.get("cv")],
           "cv of %s (%s; ours: %s)" % (name, (test.get("description") or "").strip(),
                                        arc.get("reason")))
    fn.__name__ = name
    return case(fn)


for _sc in scenarios():
    for _name, _test in _sc["tests"].items():
        _suite_case(_name, _test)


if __name__ == "__main__":
    if SUITE is None:
        sys.exit(skip_group("ARC test suite (validation)",
                            "$SENDERCHECK_TESTDATA/arc/arc-draft-validation-tests.yml not found"))
    sys.exit(run("ARC test suite, validation (sendercheck-test on %s)" % BUILD, setup, teardown))
