"""Bypass class 9: signature shapes whose verification cost grows faster
than the message, in the libopendkim engine (DKIMEngine libopendkim).

libopendkim 2.11 picks the fields of each name in h= by walking the whole
header (names x fields: h= holds up to 2,048 names in the 4 KB it reads,
the header list up to 10,000 fields), keeps each signature's tags in
lists it searches for every new tag (tags squared), and sets up and
hashes every DKIM-Signature field it is given, also those past
MaxSignatures that the prescreen ignores. A sender's own signature with a
long h= over a few thousand fields, or a header of DKIM-Signature fields,
cost seconds of CPU per message where the builtin engine spends
milliseconds (README, "DKIM engines", has the figures). The glue now gives
libopendkim only the first MaxSignatures DKIM-Signature fields, each with
at most 64 tags and h= names x header fields within 128 x 10,100; the
others are permerror with the bound as the reason (never temperror, which
would lift a DMARC policy). A signature with up to 128 names in h= is never
refused, whatever fields others add.

Speed is the benchmark's business (bench/dkim_shapes.py prints the
instruction counts); this file checks the verdicts: the refused shapes
are permerror with the reason, spoofs stay rejected, honest mail passes.
Through the daemon over the milter protocol, messages signed by dkimpy at
test time. Run: /usr/bin/python3 test_dkim_shape.py BUILDDIR"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                 # noqa: E402
from attack import SIGNED, World, main                         # noqa: E402

import dkim                                                    # noqa: E402  (python3-dkim)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
W = World(BUILD, "dkimshape", options={"DKIMEngine": "libopendkim"})
NAMES = 2000            # names in h=: under the 4 KB libopendkim reads, white space removed


def pad(n, name="X-Pad"):
    return [("%s-%d" % (name, i), " %d" % i) for i in range(n)]


def junk_sigs(n, domain="evil.test", tags=""):
    return [("DKIM-Signature", " v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=j%d;%s"
             " h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA" % (domain, i, tags))
            for i in range(n)]


def sign(msg, domain, headers, also_signatures=False):
    """msg with a DKIM-Signature on top by dkimpy, h= = headers as given."""
    d = dkim.DKIM(msg)
    if also_signatures:
        d.should_not_sign.discard(b"dkim-signature")
    return d.sign(b"s1", domain.encode(), W.key.private, include_headers=list(headers),
                  canonicalize=(b"relaxed", b"relaxed")) + msg


def results(r):
    """[(result, reason, s=)] of the A-R's dkim results, in order."""
    ar = re.sub(r"\s+", " ", (r["headers"] or {}).get("Authentication-Results", ""))
    out = []
    for m in re.finditer(r'dkim=(\w+)(?: reason="([^"]*)")?([^;]*)', ar):
        s = re.search(r"header\.s=([\w-]+)", m.group(3))
        out.append((m.group(1), m.group(2) or "", s.group(1) if s else None))
    return out


def send(msg, mail_from="<bounce@evil.test>", sc=None):
    """r["dkim"]: the A-R's results (none when the message was refused);
    r["logged"]: the results on the daemon's log line."""
    r = W.send_raw(msg, mail_from=mail_from, sc=sc)
    r["dkim"] = results(r)
    r["logged"] = re.findall(r"(?<![\w.])dkim=(\w+)", r["log"] or "")
    return r


def own(headers, first=(), extra=(), frm="news@evil.test"):
    """Signed by evil.test (its own key) with h= headers; first: fields put
    on top after signing."""
    m = W.message(frm, sign=None, extra=extra)
    m = sign(m, "evil.test", headers)
    return b"".join(("%s:%s\r\n" % f).encode() for f in first) + m


# (what, message, the first signature's reason must hold this)
REFUSED = [
    ("h= of 2000 names not present, 1000 fields on top",
     lambda: own([b"from"] + [b"b"] * (NAMES - 1), first=pad(1000)), "past the bound"),
    ("h= of 2000 names, 1000 signed fields of that name",
     lambda: own([b"from"] + [b"x-pad"] * (NAMES - 1), extra=[("X-Pad", " %d" % i) for i in range(1000)]),
     "past the bound"),
    ("h= of 2000 names over 9900 fields",
     lambda: own([b"from"] + [b"b"] * (NAMES - 1), first=pad(9900)), "past the bound"),
    ("h= of 400 names over 9900 fields",
     lambda: own([b"from"] + [b"b"] * 399, first=pad(9900)), "past the bound"),
]


@case
def long_hlists_over_big_headers_are_permerror():
    bad = []
    for what, build, reason in REFUSED:
        W.variant(9, what)
        r = send(build())
        got = r["dkim"][:1]
        if not got or got[0][0] != "permerror" or reason not in got[0][1]:
            bad.append("%s: %s" % (what, got or (r["log"] or "")[:300]))
    check(not bad, "signatures past libopendkim's bound:\n  " + "\n  ".join(bad))


@case
def many_tags_are_permerror():
    W.variant(9, "a DKIM-Signature of 5000 tags")
    tags = "".join(" x%d=;" % i for i in range(5000))
    r = send(W.message("news@evil.test", first=junk_sigs(1, tags=tags)))
    eq(r["dkim"][0][:1], ("permerror",), "the 5000-tag signature (%s)" % r["dkim"])
    contains(r["dkim"][0][1], "more than 64 tags", "its reason")
    eq(r["dkim"][1][0], "pass", "evil.test's own signature below it")


@case
def signatures_past_the_limit_are_listed_not_given():
    W.variant(9, "500 DKIM-Signature fields on top")
    r = send(W.message("news@evil.test", first=junk_sigs(500)))
    eq(len(r["dkim"]), 32, "results listed (DKIM_MAX_LISTED)")
    eq([x[0] for x in r["dkim"][:5]], ["permerror"] * 5, "the five checked (no key)")
    eq({x[0] for x in r["dkim"][5:]}, {"neutral"}, "the rest")
    eq(r["dkim"][5][2], "j5", "listed with its selector")


@case
def spoofs_with_refused_shapes_are_rejected():
    W.variant(9, "spoof: long h= and many signatures")
    spoof = own([b"from"] + [b"b"] * (NAMES - 1), first=pad(1000) + junk_sigs(40, "victim.test"),
                frm="ceo@victim.test")
    r = send(spoof)
    eq((r["action"], r["cause"]), ("reject", "dmarc-fail"), "spoof of victim.test (%s)" % r["log"])
    check(r["logged"] and "pass" not in r["logged"], "no DKIM pass: %s" % r["logged"])


@case
def signer_of_dkim_signature_fields_kept_back_gets_no_pass():
    """good.test (p=reject) signs the DKIM-Signature fields below its own;
    one more below them, past MaxSignatures, changes what its h= covers:
    no pass (it would have been one on the fields libopendkim was given)."""
    base = W.message("news@good.test", sign=None, extra=junk_sigs(4, "good.test"))
    signed = sign(base, "good.test", SIGNED + [b"dkim-signature"], also_signatures=True)
    r = send(signed)
    eq(r["dkim"][0][0], "pass", "as signed, all five given (%s)" % r["dkim"])
    eq(r["action"], "accept", "as signed")
    W.variant(9, "a DKIM-Signature appended below a signer of DKIM-Signature fields")
    head, _, body = signed.partition(b"\r\n\r\n")
    more = head + b"\r\n" + ("DKIM-Signature:%s" % junk_sigs(1, "good.test")[0][1]).encode()
    more += b"\r\n\r\n" + body
    r = send(more)
    eq(r["logged"][:1], ["permerror"], "the signature (%s)" % r["log"])
    eq((r["action"], r["cause"]), ("reject", "dmarc-fail"), "DMARC without its pass")
    r = send(more, sc=W.report)
    eq(r["dkim"][0][0], "permerror", "the signature, reported (%s)" % r["dkim"][:1])
    contains(r["dkim"][0][1], "past the limit of 5 signatures", "its reason")


@case
def control_honest_signatures_pass():
    """Up to 128 names in h= pass over any header the list keeps; an honest
    signature with junk signatures and 9,900 fields added still passes."""
    names = SIGNED + [b"x-none"] * (128 - len(SIGNED))
    r = send(own(names, first=pad(9900)))
    eq(r["dkim"][0][0], "pass", "128 names over 9900 fields (%s)" % r["dkim"][:1])
    m = W.message("news@good.test", sign="good.test", extra=junk_sigs(200, "evil.test"))
    r = send(b"".join(("%s:%s\r\n" % f).encode() for f in pad(9700)) + m)
    eq(r["dkim"][0][0], "pass", "good.test under 200 junk signatures (%s)" % r["dkim"][:2])
    eq(r["action"], "accept", "good.test accepted (%s)" % (r["log"] or "")[:300])


def prepare(w):
    # no actions: the message is accepted and its A-R shows every reason
    w.report = w.daemon("report", {"DKIMEngine": "libopendkim"})


if __name__ == "__main__":
    main(W, "attacks: signature shapes libopendkim pays for (class 9)", prepare)
