#!/usr/bin/python3
"""sendercheck-test --spf-only: the SPF walk and the lint for senders.

    test_lint.py BUILDDIR

Serves a zone with tests/lib/zonedns.py and checks, in the text report and
in --json: the walk of records with lookups used of 10 and voids of 2, the
deciding term, and the warnings (over the lookup limit, duplicate SPF
records, deprecated ptr, +all, ?all, too many void lookups).
Prints "N passed, N failed". Run with /usr/bin/python3.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from zonedns import ZoneServer  # noqa: E402

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

results = []


def check(name, cond, detail=""):
    results.append(cond)
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, "" if cond else ": " + str(detail)))


def run(build, conf, *args):
    p = subprocess.run([os.path.join(build, "tools", "sendercheck-test"), "-c", conf] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def spf_json(build, conf, domain, ip=IP):
    rc, out, err = run(build, conf, "--spf-only", domain, "--ip", ip, "--json")
    if rc != 0:
        return {"error": err}
    return json.loads(out)["spf"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test_lint.py BUILDDIR")
    build = sys.argv[1]
    srv = ZoneServer(ZONE).start()
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("Nameservers %s\nDNSTimeout 3\nSyslog no\n" % srv.address)
    conf.close()
    try:
        rc, out, err = run(build, conf.name, "--spf-only", "good.test", "--ip", IP)
        check("text: exit 0", rc == 0, err)
        check("text: result", "SPF:        pass for good.test" in out, out)
        check("text: lookups of 10", "DNS lookups 1 of 10, void lookups 0 of 2" in out, out)
        check("text: deciding term", "decided by 'ip4:192.0.2.0/24' in _spf.good.test" in out, out)
        check("text: walk shows the include",
              "include _spf.good.test: v=spf1 ip4:192.0.2.0/24" in out, out)
        check("text: no warnings for a clean record", "warning:" not in out, out)

        j = spf_json(build, conf.name, "good.test")
        check("json: keys", all(k in j for k in (
            "result", "identity", "domain", "reason", "explanation", "engine", "dns_lookups",
            "dns_lookups_limit", "void_lookups", "void_lookups_limit", "term", "walk", "lint")), j)
        check("json: walk", [w["domain"] for w in j.get("walk", [])] == ["good.test", "_spf.good.test"]
              and j["walk"][1]["via"] == "include" and j["walk"][1]["depth"] == 1, j)

        j = spf_json(build, conf.name, "over.test")
        check("over the limit: permerror", j.get("result") == "permerror", j)
        check("over the limit: 11 lookups counted", j.get("dns_lookups") == 11, j)
        check("over the limit: flagged", any("limit of 10 DNS lookups" in w for w in j.get("lint", [])), j)
        check("over the limit: the 11th term named", j.get("term") == "include:l3.test" and
              j.get("term_domain") == "over.test", j)
        check("over the limit: ?all inside includes not flagged",
              not any("?all" in w for w in j.get("lint", [])), j)

        # passes early for its own IP, over the limit for everyone else
        j = spf_json(build, conf.name, "early.test")
        check("early match: pass with few lookups", j.get("result") == "pass" and
              j.get("dns_lookups") == 0, j)
        w = j.get("worst_case", {})
        check("early match: worst case over the limit", w.get("over_limits") is True and
              w.get("result") == "permerror" and w.get("dns_lookups") == 11, j)
        rc, out, err = run(build, conf.name, "--spf-only", "early.test", "--ip", IP)
        check("early match: text warns", "worst case (a client no term matches): permerror"
              in out and "warning: over the limits for senders matched late" in out, out)
        j = spf_json(build, conf.name, "good.test")
        check("clean record: worst case within limits",
              j.get("worst_case", {}).get("over_limits") is False, j)

        j = spf_json(build, conf.name, "dup.test")
        check("duplicate records: permerror", j.get("result") == "permerror", j)
        check("duplicate records: flagged", any("2 SPF records" in w for w in j.get("lint", [])), j)

        j = spf_json(build, conf.name, "ptr.test")
        check("ptr: flagged as deprecated", any("'ptr' is deprecated" in w for w in j.get("lint", [])), j)

        j = spf_json(build, conf.name, "plusall.test")
        check("+all: pass", j.get("result") == "pass", j)
        check("+all: flagged", any("'+all'" in w for w in j.get("lint", [])), j)

        j = spf_json(build, conf.name, "neutral.test")
        check("?all: flagged", any("'?all'" in w for w in j.get("lint", [])), j)

        j = spf_json(build, conf.name, "voids.test")
        check("voids: permerror on the 3rd", j.get("result") == "permerror" and
              j.get("void_lookups") == 3 and j.get("term") == "a:nx3.test", j)
        check("voids: flagged", any("void lookups" in w for w in j.get("lint", [])), j)

        j = spf_json(build, conf.name, "syntax.test")
        check("syntax error: term and offset in the reason", j.get("result") == "permerror" and
              "term 1 'ip4:192.0.2.300' at offset" in j.get("reason", ""), j)

        rc, out, err = run(build, conf.name, "--spf-only", "good.test")
        check("--spf-only without --ip: usage error", rc == 2, out + err)
        rc, out, err = run(build, conf.name, "--spf-only", "good.test", "--ip", IP, "msg.eml")
        check("--spf-only with a MESSAGE: usage error", rc == 2, out + err)
    finally:
        srv.stop()
        os.unlink(conf.name)
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
