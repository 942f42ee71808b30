"""Bypass class 5 (issue 9): forged Authentication-Results (and
X-Sender-Compliance) fields that survive. A field whose authserv-id is ours
next to a control byte ("\\x0bmx.test; dmarc=pass") was kept, and Perl's
Mail::AuthenticationResults reads it as ours with dmarc=pass. Every field
below claims our id in a way some reader could accept (control bytes before,
inside and after it, case, trailing dots, quotes, comments, versions,
no-break and zero-width spaces, folds, white space before the colon); each
must be removed, through the daemon over the milter protocol and through a
real Postfix, and what Perl's and Python's parsers read is checked against
it. Fields of other hosts stay.
Run: /usr/bin/python3 test_forged_ar.py BUILDDIR"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
from attack import AUTHSERV, World, main                      # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
HERE = os.path.dirname(os.path.abspath(__file__))
W = World(BUILD, "forged-ar")
AR, COMP = "Authentication-Results", "X-Sender-Compliance"

# every C0 control but NUL, TAB, LF, CR (libmilter ends a value at NUL;
# TAB, CR LF are white space and folds), and DEL
CONTROLS = [bytes([c]) for c in list(range(1, 9)) + [11, 12] + list(range(14, 32)) + [127]]
CLAIM = b"; dkim=pass header.d=victim.test; dmarc=pass header.from=victim.test"


def forged_values():
    out = []
    for c in CONTROLS:
        out += [b" " + c + b"mx.test" + CLAIM, b" mx.test" + c + CLAIM, b" mx." + c + b"test" + CLAIM]
    for v in [b" MX.TEST", b" mx.test.", b" Mx.Test..", b' "mx.test"', b' "mx.te\\st"', b' "MX.test."',
              b" (ours) mx.test (really)", b" mx.test 1", b" mx.test(;) ", b" mx.test/2", b" mx.test\r\n\t",
              b" \r\n mx.test", b" mx.test\xc2\xa0", b" mx.test\xa0", b" \xe2\x80\x8bmx.test",
              b" mx.test\xef\xbb\xbf", b" (a;b) mx.test", b' "mx.test;"', b" mx.test.\x0b", b" mx . test",
              b" \x0b\x0cMX.TEST.\x1b", b" x mx.test", b" mx.test\t(comment", b" mx.test=pass"]:
        out.append(v + CLAIM)
    out += [b" mx.test", b" mx.test;", b" \x0bmx.test"]      # no results, or no ';' at all
    return out


FOREIGN = [b" mx.other.test; spf=pass", b" mx.test.other.test; dmarc=pass header.from=victim.test",
           b" other.test; dmarc=pass header.from=mx.test", b" test; spf=pass", b" mx; spf=pass",
           b" mx-test; dmarc=pass"]


def perl_ids(values):
    p = subprocess.run(["perl", os.path.join(HERE, "ar_ids.pl")], input=b"\0".join(values),
                       capture_output=True, check=True, timeout=60)
    return [None if l == "-" else bytes.fromhex(l) for l in p.stdout.decode().splitlines()]


def python_id(value):
    import authres
    try:
        return authres.AuthenticationResultsHeader.parse(
            "Authentication-Results:" + value.decode("latin-1")).authserv_id.encode("latin-1")
    except Exception:
        return None


def normalized(i):
    """The issue's comparison: CFWS, control bytes and a trailing dot dropped, any case."""
    if i is None:
        return None
    i = re.sub(rb"\([^)]*\)", b"", i)
    i = bytes(c for c in i if 0x20 < c < 0x7f and c not in b'"')
    return i.rstrip(b".").lower()


def readers_say_ours(values):
    ours = AUTHSERV.encode()
    return [normalized(a) == ours or normalized(b) == ours
            for a, b in zip(perl_ids(values), [python_id(v) for v in values])]


def honest(extra):
    return W.message("news@good.test", sign="good.test", first=extra)


@case
def parsers_read_the_forgeries_as_ours():
    """The oracle: Perl's or Python's parser takes most forgeries for ours
    (the rest are removed anyway: when in doubt), and no foreign field."""
    vals = forged_values()
    said = readers_say_ours(vals)
    print("  readers take %d of %d forged values for %s" % (sum(said), len(vals), AUTHSERV))
    check(sum(said) > len(vals) // 2, "the readers take most forgeries for ours: %d" % sum(said))
    check(not any(readers_say_ours(FOREIGN)), "no reader takes a foreign field for ours")


@case
def milter_removes_every_forgery():
    vals = forged_values()
    missed = []
    for i, v in enumerate(vals):
        name = AR if i % 4 else COMP         # a quarter as the compliance field
        W.variant(5, (name, v))
        r = W.send(honest([(name, v.decode("latin-1"))]), mail_from="<bounce@good.test>")
        if name not in r["deleted_fields"] or "removed_forged=1" not in (r["log"] or ""):
            missed.append((name, v))
    check(not missed, "%d forged fields kept, e.g. %r" % (len(missed), missed[:4]))


@case
def milter_removes_every_spelling_of_the_names():
    for name in ("authentication-results", "AUTHENTICATION-RESULTS", "Authentication-Results ",
                 "Authentication-Results\t", "x-sender-compliance", "X-SENDER-COMPLIANCE "):
        W.variant(5, (name, "name"))
        r = W.send(honest([(name, " \x0bmx.test" + CLAIM.decode())]), mail_from="<bounce@good.test>")
        contains(r["log"], "removed_forged=1", "field %r" % name)
        check(r["deleted_fields"], "deleted: %r" % name)


@case
def milter_keeps_foreign_fields():
    for v in FOREIGN:
        r = W.send(honest([(AR, v.decode("latin-1"))]), mail_from="<bounce@good.test>")
        eq(r["deleted_fields"], [], "foreign field %r" % v)
        check("removed_forged" not in r["log"], "nothing removed: %s" % r["log"])


@case
def milter_removes_the_right_index():
    """Forged fields among foreign ones: the index is counted as the MTA counts it."""
    fields = [(AR, FOREIGN[0].decode()), (AR, " \x0bmx.test" + CLAIM.decode()),
              ("Authentication-Results ", FOREIGN[1].decode()), (AR, " mx.test."),
              (COMP, " mx.other.test; google=pass"), (COMP, " MX.TEST; google=pass")]
    r = W.send(honest(fields), mail_from="<bounce@good.test>")
    contains(r["log"], "removed_forged=3", "three removed")


def delivered_fields(data):
    """Our fields' (name, value) in a message as smtp-sink writes it (LF line ends)."""
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    out = []
    for line in re.split(rb"\n(?![ \t])", head):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (AR.lower().encode(), COMP.lower().encode()):
            out.append((name, value))
    return out


@case
def postfix_delivers_no_forgery():
    """One message carrying every forgery and the foreign fields through a
    real Postfix: what smtp-sink receives holds our two fields and the
    foreign ones, nothing any reader takes for ours but our own."""
    vals = forged_values()
    fields = [(AR if i % 4 else COMP, v.decode("latin-1")) for i, v in enumerate(vals)]
    fields += [("Authentication-Results ", " \x0bmx.test" + CLAIM.decode())]
    fields += [(AR, v.decode("latin-1")) for v in FOREIGN]
    token = "T" + os.urandom(5).hex()
    msg = W.message("news@good.test", sign="good.test", first=fields, body="token %s\n" % token)
    _, final, line = W.smtp("<bounce@good.test>", msg)
    check(final.startswith("250"), "accepted: %s" % final)
    got = W.sink.wait_for(token)
    check(got, "delivered")
    kept = delivered_fields(got[0])
    ours = [(n, v) for n, v in kept if any(readers_say_ours([v]))]
    check(len(ours) == 2, "only our own two fields read as ours, not %d: %r" % (len(ours), ours[:4]))
    check(all(v.lstrip(b" ").startswith(b"mx.test;\n\t") for _, v in ours), "ours are the ones we wrote: %r" % ours)
    eq(sorted(v for _, v in kept if v not in [o[1] for o in ours]), sorted(FOREIGN), "foreign fields kept")
    contains(line, "removed_forged=%d" % (len(vals) + 1), "the log counts them")


if __name__ == "__main__":
    main(W, "attacks: class 5, forged Authentication-Results", World.start_postfix)
