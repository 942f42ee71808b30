#!/usr/bin/python3
"""sendercheck-test --spf-only: the SPF walk and the lint for senders.

    test_lint.py BUILDDIR

Serves a zone with tests/lib/zonedns.py and checks, in the text report and
in --json: the walk of records with lookups used of 10 and voids of 2, the
deciding term, and the warnings (over the lookup limit, duplicate SPF
records, deprecated ptr, +all, ?all, too many void lookups).
One case per record shape; prints "N passed, N failed, N skipped".
Run with /usr/bin/python3.
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import evidence  # noqa: E402
from harness import case, check, contains, eq, run  # noqa: E402
from zonedns import ZoneServer  # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")

IP = "192.0.2.10"
ZONE = {
    "good.test": [{"SPF": "v=spf1 include:_spf.good.test -all"}],
    "_spf.good.test": [{"SPF": "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"}],
    "over.test": [{"SPF": "v=spf1 include:l1.test include:l2.test include:l3.test -all"}],
    "l1.test": [{"SPF": "v=spf1 a a a a ?all"}, {"A": "198.18.0.1"}],
    "l2.test": [{"SPF": "v=spf1 a a a a ?all"}, {"A": "198.18.0.1"}],
    "l3.test": [{"SPF": "v=spf1 a a a a ip4:192.0.2.10 ?all"}, {"A": "198.18.0.1"}],
    "early.test": [{"SPF": "v=spf1 ip4:192.0.2.10 include:l1.test include:l2.test "
                              "include:l3.test -all"}],
    "dup.test": [{"SPF": "v=spf1 ip4:192.0.2.10 -all"}, {"SPF": "v=spf1 -all"}],
    "ptr.test": [{"SPF": "v=spf1 ptr -all"}],
    "plusall.test": [{"SPF": "v=spf1 mx +all"}],
    "neutral.test": [{"SPF": "v=spf1 ip4:198.51.100.0/24 ?all"}],
    "voids.test": [{"SPF": "v=spf1 a:nx1.test a:nx2.test a:nx3.test -all"}],
    "syntax.test": [{"SPF": "v=spf1 ip4:192.0.2.300 -all"}],
}


class Ctx:
    pass


CTX = Ctx()


def tool(*args, expect=0):
    """sendercheck-test -c CONF ARGS: (stdout, stderr), exit status expect."""
    p = evidence.run([os.path.join(BUILD, "tools", "sendercheck-test"), "-c", CTX.conf] + list(args),
                     expect=expect, timeout=60)
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def spf_json(domain, ip=IP):
    return json.loads(tool("--spf-only", domain, "--ip", ip, "--json")[0])["spf"]


def lint(j, part, what):
    check(any(part in w for w in j.get("lint", [])), "%s: %r not in the warnings %r"
          % (what, part, j.get("lint")))


@case
def text_report():
    out, _ = tool("--spf-only", "good.test", "--ip", IP)
    contains(out, "SPF:        pass for good.test", "result")
    contains(out, "DNS lookups 1 of 10, void lookups 0 of 2", "lookups of 10")
    contains(out, "decided by 'ip4:192.0.2.0/24' in _spf.good.test", "deciding term")
    contains(out, "include _spf.good.test: v=spf1 ip4:192.0.2.0/24", "the walk shows the include")
    check("warning:" not in out, "no warnings for a clean record: " + out)


@case
def json_report():
    j = spf_json("good.test")
    for k in ("result", "identity", "domain", "reason", "explanation", "engine", "dns_lookups",
              "dns_lookups_limit", "void_lookups", "void_lookups_limit", "term", "walk", "lint"):
        check(k in j, "key %s in %r" % (k, j))
    eq([w["domain"] for w in j["walk"]], ["good.test", "_spf.good.test"], "walk")
    eq((j["walk"][1]["via"], j["walk"][1]["depth"]), ("include", 1), "walk step")
    eq(j.get("worst_case", {}).get("over_limits"), False, "clean record: worst case within limits")


@case
def over_the_lookup_limit():
    j = spf_json("over.test")
    eq(j.get("result"), "permerror", "result")
    eq(j.get("dns_lookups"), 11, "lookups counted")
    lint(j, "limit of 10 DNS lookups", "flagged")
    eq((j.get("term"), j.get("term_domain")), ("include:l3.test", "over.test"), "the 11th term")
    check(not any("?all" in w for w in j.get("lint", [])), "?all inside includes not flagged: %r" % j)


@case
def early_match_worst_case():
    """Passes early for its own IP, over the limit for everyone else."""
    j = spf_json("early.test")
    eq((j.get("result"), j.get("dns_lookups")), ("pass", 0), "pass with few lookups")
    w = j.get("worst_case", {})
    eq((w.get("over_limits"), w.get("result"), w.get("dns_lookups")), (True, "permerror", 11),
       "worst case")
    out, _ = tool("--spf-only", "early.test", "--ip", IP)
    contains(out, "worst case (a client no term matches): permerror", "text")
    contains(out, "warning: over the limits for senders matched late", "text")


@case
def duplicate_records():
    j = spf_json("dup.test")
    eq(j.get("result"), "permerror", "result")
    lint(j, "2 SPF records", "flagged")


@case
def ptr_deprecated():
    lint(spf_json("ptr.test"), "'ptr' is deprecated", "flagged")


@case
def plus_all():
    j = spf_json("plusall.test")
    eq(j.get("result"), "pass", "result")
    lint(j, "'+all'", "flagged")


@case
def neutral_all():
    lint(spf_json("neutral.test"), "'?all'", "flagged")


@case
def void_lookups():
    j = spf_json("voids.test")
    eq((j.get("result"), j.get("void_lookups"), j.get("term")), ("permerror", 3, "a:nx3.test"),
       "permerror on the 3rd")
    lint(j, "void lookups", "flagged")


@case
def syntax_error():
    j = spf_json("syntax.test")
    eq(j.get("result"), "permerror", "result")
    contains(j.get("reason", ""), "term 1 'ip4:192.0.2.300' at offset", "term and offset in the reason")


@case
def usage_errors():
    tool("--spf-only", "good.test", expect=2)                      # no --ip
    tool("--spf-only", "good.test", "--ip", IP, "msg.eml", expect=2)   # and a MESSAGE


def setup():
    CTX.srv = ZoneServer(ZONE).start()
    f = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    f.write("Nameservers %s\nDNSTimeout 3\nSyslog no\n" % CTX.srv.address)
    f.close()
    CTX.conf = f.name
    return CTX


def teardown(c):
    if getattr(c, "srv", None):
        c.srv.stop()
    if getattr(c, "conf", None):
        os.unlink(c.conf)


if __name__ == "__main__":
    sys.exit(run("sendercheck-test --spf-only (%s)" % BUILD, setup, teardown))
