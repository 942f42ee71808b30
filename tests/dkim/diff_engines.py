#!/usr/bin/python3
"""Differential test of the two DKIM engines (builtin and libopendkim).

    diff_engines.py --dkimcheck BUILDDIR/tests/dkim/dkimcheck
                    [--count N] [--seed S] [--vectors TESTDATA_DKIM] [--keep DIR]

Every message goes through both engines (dkimcheck --diff) with keys served
by Debian's unbound on a loopback port, and the two lists of results must
agree: the same number of signatures, and per signature the same result and
the same reason. Messages:

- the DKIM vectors: dkimpy's (as python3-dkim installs them), and RFC 8463
  and Mail::DKIM's from TESTDATA_DKIM ($SENDERCHECK_TESTDATA/dkim) if set;
- N messages generated here from a seeded random source: random headers
  (folded, odd white space, repeated fields, 8-bit, sometimes a 68 KB Cc)
  and bodies (white space runs, blank lines, no final CRLF, empty), signed
  by dkimpy (python3-dkim, its own signing code; a hook varies the tags it
  writes: x=, t=, unknown tags, white space, order), with every key kind
  and key record rule of the zone below, 1 to 3 signatures, and then
  randomly damaged (body bytes, appended text, white space, refolding,
  added, removed or reordered fields, flipped b= / bh=, bare CR / LF,
  truncated signatures).

A disagreement is allowed only when it is one the README explains (KNOWN
below, each with the condition that identifies it); any other one fails
the test, and the message is kept (--keep) to be looked at. Prints the
count of messages compared, the count of known disagreements by kind, and
"N passed, N failed" (one case per message).
"""
import argparse
import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import mail  # noqa: E402
import testdns  # noqa: E402

import dkim  # noqa: E402  (python3-dkim)
import nacl.encoding  # noqa: E402
import nacl.signing  # noqa: E402

DOMAIN = "example.org"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

# ---- keys and the zone ------------------------------------------------------


class Keys:
    def __init__(self, work):
        self.r2048 = mail.RSAKey(2048, work)
        self.r1024 = mail.RSAKey(1024, work)
        self.r512 = mail.RSAKey(512, work)
        self.ed = mail.Ed25519Key()
        # selector -> (key used to sign with it, record published)
        r, e = self.r2048, self.ed
        spki = r.public_b64
        self.sel = {
            "r2048": (r, r.record()),
            "r1024": (self.r1024, self.r1024.record()),
            "r512": (self.r512, self.r512.record()),
            "ed": (e, e.record()),
            "nov": (r, "k=rsa; p=" + spki),                     # no v=, k=
            "bare": (r, "p=" + spki),                           # only p=
            "spaced": (r, "v=DKIM1; k=rsa; p=" + " ".join(
                spki[i:i + 60] for i in range(0, len(spki), 60))),
            "revoked": (r, "v=DKIM1; k=rsa; p="),
            "garbage": (r, "v=DKIM1; k=rsa; p=!!notbase64!!"),
            "sha1only": (r, "v=DKIM1; h=sha1; k=rsa; p=" + spki),
            "sha256only": (r, "v=DKIM1; h=sha256; k=rsa; p=" + spki),
            "bothhash": (r, "v=DKIM1; h=sha1:sha256; k=rsa; p=" + spki),
            "unkhash": (r, "v=DKIM1; h=md5; k=rsa; p=" + spki),
            "svcother": (r, "v=DKIM1; s=other; k=rsa; p=" + spki),
            "svcmail": (r, "v=DKIM1; s=email:*; k=rsa; p=" + spki),
            "testing": (r, "v=DKIM1; t=y; k=rsa; p=" + spki),
            "strict": (r, "v=DKIM1; t=s; k=rsa; p=" + spki),
            "flags": (r, "v=DKIM1; t=y:s:x; k=rsa; p=" + spki),
            "ktype": (r, "v=DKIM1; k=dsa; p=" + spki),
            "kmismatch": (r, "v=DKIM1; k=ed25519; p=" + spki),
            "edasrsa": (e, "v=DKIM1; k=rsa; p=" + e.public_b64),
            "v2": (r, "v=DKIM2; k=rsa; p=" + spki),
            "unknowntag": (r, "v=DKIM1; k=rsa; n=notes here; foo=bar; p=" + spki),
            "badsyntax": (r, "v=DKIM1; k=rsa; p=" + spki + "; ;"),
            "multi": (r, None),                                  # two TXT records
            "missing": (r, None),                                # no record
        }

    def zone(self):
        z = testdns.Zone()
        for sel, (_, rec) in self.sel.items():
            owner = "%s._domainkey.%s" % (sel, DOMAIN)
            if sel == "multi":
                z.txt(owner, self.r2048.record())
                z.txt(owner, self.r1024.record())
            elif rec is not None:
                z.txt(owner, rec)
        # the same key for the subdomain's own signatures
        z.txt("r2048._domainkey.sub." + DOMAIN, self.r2048.record())
        return z


# ---- signing (dkimpy) --------------------------------------------------------

def dkimpy_sign(msg, key, selector, alg, canon, headers, length, identity, domain, mutate):
    """dkimpy's DKIM.sign, with `mutate` given the tag list before signing."""
    d = dkim.DKIM(msg)
    d.should_not_sign = set()
    d.signature_algorithm = alg
    if alg == b"ed25519-sha256":
        pk = nacl.signing.SigningKey(key.private, encoder=nacl.encoding.Base64Encoder)
    else:
        pk = dkim.parse_pem_private_key(key.private)
    policy = dkim.CanonicalizationPolicy.from_c_value(b"/".join(canon))
    body = policy.canonicalize_body(d.body)
    d.hasher = dkim.HASH_ALGORITHMS[alg]
    h = d.hasher()
    h.update(body)
    fields = [
        (b"v", b"1"), (b"a", alg), (b"c", policy.to_c_value()), (b"d", domain),
        (b"i", identity or b"@" + domain),
        length and (b"l", str(len(body)).encode()),
        (b"q", b"dns/txt"), (b"s", selector),
        (b"t", str(int(time.time())).encode()),
        (b"h", b" : ".join(headers)),
        (b"bh", base64.b64encode(h.digest())),
        (b"b", b"0" * 60),
    ]
    fields = [f for f in fields if f]
    if mutate is not None:
        fields = mutate(fields)
    return b"DKIM-Signature: " + d.gen_header(fields, list(headers), policy,
                                               b"DKIM-Signature", pk) + msg


# ---- random messages ---------------------------------------------------------

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon phi chi psi omega").split()


def ws(rng):
    return rng.choice([" ", " ", " ", "  ", "\t", " \t ", "   "])


def words(rng, n):
    out = ""
    for i in range(n):
        out += (ws(rng) if i else "") + rng.choice(WORDS)
    return out


def header_value(rng):
    v = words(rng, rng.randint(1, 8))
    r = rng.random()
    if r < 0.15:
        v = v.replace(" ", "\r\n\t", 1)              # folded
    elif r < 0.25:
        v += rng.choice([" ", "\t", "  "])           # trailing white space
    elif r < 0.3:
        v = "caf\xc3\xa9 " + v                        # 8-bit (UTF-8 bytes)
    lead = rng.choice([" ", " ", " ", "", "\t", "  "])
    return lead + v


def make_message(rng, tags):
    hdrs = [("Received", " from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000"),
            ("From", " %s <user@%s>" % (rng.choice(WORDS).title(), DOMAIN)),
            ("To", " rcpt@example.net"),
            ("Subject", header_value(rng)),
            ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
            ("Message-ID", " <%x@%s>" % (rng.getrandbits(48), DOMAIN))]
    for _ in range(rng.randint(0, 4)):
        hdrs.insert(rng.randint(1, len(hdrs)), (rng.choice(["X-Extra", "Received", "Comments",
                                                            "X-Mailer", "Keywords"]),
                                                header_value(rng)))
    if rng.random() < 0.02:
        # a Cc over 64 KB (Postfix accepts 102400 bytes per field)
        addrs = ", ".join("person%d@example.net" % i for i in range(3200))
        hdrs.append(("Cc", " " + addrs.replace(", ", ",\r\n ", 3199)[:70000]))
        tags.add("big-field")
    lines = []
    for _ in range(rng.randint(0, 30)):
        r = rng.random()
        if r < 0.15:
            lines.append("")
        elif r < 0.25:
            lines.append(rng.choice([" ", "\t", "  \t"]))
        else:
            line = words(rng, rng.randint(1, 12))
            if rng.random() < 0.2:
                line += rng.choice([" ", "\t", " \t "])
            if rng.random() < 0.1:
                line = rng.choice([" ", "\t"]) + line
            lines.append(line)
    body = "\r\n".join(lines)
    r = rng.random()
    if lines and r < 0.7:
        body += "\r\n"
    elif lines and r < 0.85:
        body += "\r\n" * rng.randint(2, 4)
    raw = b""
    for name, value in hdrs:
        raw += name.encode() + b":" + value.encode("latin-1") + b"\r\n"
    return raw + b"\r\n" + body.encode("latin-1"), [h[0] for h in hdrs]


SELECTORS_COMMON = ["r2048"] * 6 + ["r1024"] * 3 + ["ed"] * 4 + ["r512"]
SELECTORS_RULES = ["nov", "bare", "spaced", "revoked", "garbage", "sha1only", "sha256only",
                   "bothhash", "unkhash", "svcother", "svcmail", "testing", "strict", "flags",
                   "ktype", "kmismatch", "edasrsa", "v2", "unknowntag", "badsyntax", "multi",
                   "missing"]


def mutator(rng, tags):
    """A change to the tag list before signing, or None."""
    r = rng.random()
    now = int(time.time())

    def setv(name, value):
        def f(fields):
            out = [(k, value) if k == name else (k, v) for k, v in fields]
            if name not in [k for k, _ in fields]:
                out.insert(-1, (name, value))
            return out
        return f

    choices = [
        ("x-past", setv(b"x", str(now - 3600).encode())),
        ("x-future", setv(b"x", str(now + 3600).encode())),
        ("x-before-t", lambda f: setv(b"x", str(now - 10).encode())(setv(b"t", str(now - 5).encode())(f))),
        ("t-future", setv(b"t", str(now + 7200).encode())),
        ("t-old", setv(b"t", b"1000000000")),
        ("t-tiny", setv(b"t", b"12")),
        ("unknown-tag", lambda f: f[:2] + [(b"z", b"From:a=40b|To:c"), (b"foo", b"bar")] + f[2:]),
        ("no-q", lambda f: [x for x in f if x[0] != b"q"]),
        ("no-t", lambda f: [x for x in f if x[0] != b"t"]),
        ("no-i", lambda f: [x for x in f if x[0] != b"i"]),
        ("reordered", lambda f: [x for x in f if x[0] != b"b"][::-1] + [x for x in f if x[0] == b"b"]),
        ("tag-ws", lambda f: [(k, v) if k in (b"b", b"bh") else (k, b" " + v + b"\t") for k, v in f]),
        ("v2", setv(b"v", b"2")),
        ("a-unknown", setv(b"a", b"rsa-sha512")),
        ("c-bad", setv(b"c", b"relaxed/fancy")),
        ("c-bad-header", setv(b"c", b"loose/simple")),
        ("c-header-only", setv(b"c", b"relaxed")),
        ("q-other", setv(b"q", b"dns/other")),
        ("i-other-domain", setv(b"i", b"@other.example")),
        ("i-subdomain", setv(b"i", b"user@sub." + DOMAIN.encode())),
        ("i-no-at", setv(b"i", DOMAIN.encode())),
        ("i-qp", setv(b"i", b"us=3Der@" + DOMAIN.encode())),
        ("d-upper", setv(b"d", DOMAIN.upper().encode())),
        ("s-upper", lambda f: [(k, v.upper() if k == b"s" else v) for k, v in f]),
        ("l-bad", setv(b"l", b"12x")),
        ("h-no-from", lambda f: [(k, b"to : subject" if k == b"h" else v) for k, v in f]),
        ("h-empty-item", lambda f: [(k, v + b" : : date" if k == b"h" else v) for k, v in f]),
        ("dup-tag", lambda f: f[:1] + [(b"s", b"r2048")] + f[1:]),
        ("no-v", lambda f: [x for x in f if x[0] != b"v"]),
        ("d-empty", setv(b"d", b"")),
        ("bad-d", setv(b"d", b"exa mple.org")),
    ]
    if r < 0.35:
        name, fn = rng.choice(choices)
        tags.add("mut:" + name)
        return fn
    return None


def sign_random(rng, msg, names, keys, tags, nsig):
    for n in range(nsig):
        if rng.random() < 0.15:
            sel = rng.choice(SELECTORS_RULES)
        else:
            sel = rng.choice(SELECTORS_COMMON)
        key, _ = keys.sel[sel]
        if isinstance(key, mail.Ed25519Key):
            alg = b"ed25519-sha256"
        else:
            alg = b"rsa-sha1" if rng.random() < 0.1 else b"rsa-sha256"
        canon = (rng.choice([b"simple", b"relaxed"]), rng.choice([b"simple", b"relaxed"]))
        present = sorted(set(x.lower() for x in names))
        hdrs = [b"from"] + [x.encode() for x in rng.sample(present, rng.randint(0, len(present)))
                            if x != "from"]
        if rng.random() < 0.2:
            hdrs.append(rng.choice([b"from", b"subject", b"reply-to", b"list-id"]))   # oversigned / absent
        if rng.random() < 0.15 and n > 0:
            hdrs.append(b"dkim-signature")
        rng.shuffle(hdrs)
        length = rng.random() < 0.15
        identity = None
        domain = DOMAIN.encode()
        if rng.random() < 0.1:
            identity = rng.choice([b"user@" + domain, b"@sub." + domain])
        if rng.random() < 0.05:
            domain = b"sub." + domain
            sel = "r2048"
            key = keys.r2048
            alg = b"rsa-sha256"
        mut = mutator(rng, tags)
        if length:
            tags.add("l=")
        try:
            msg = dkimpy_sign(msg, key, sel.encode(), alg, canon, hdrs, length, identity,
                              domain, mut)
        except Exception as e:  # noqa: BLE001  (dkimpy refused: keep unsigned)
            tags.add("sign-error:%s" % type(e).__name__)
        tags.add("sel:" + sel)
    return msg


def damage(rng, msg, tags):
    head, _, body = msg.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kind = rng.choice(["body-byte", "body-append", "body-ws", "body-blank-end", "hdr-ws",
                       "hdr-case", "hdr-refold", "hdr-add-top", "hdr-add-bottom", "hdr-delete",
                       "b-flip", "bh-flip", "sig-ws", "bare-cr", "bare-lf", "sig-trunc",
                       "body-crlf-end", "sig-case", "hdr-8bit"])
    tags.add("dmg:" + kind)
    if kind == "body-byte" and body:
        i = rng.randrange(len(body))
        body = body[:i] + bytes([(body[i] + 1) % 256 or 65]) + body[i + 1:]
    elif kind == "body-append":
        body += b"-- \r\nappended footer\r\n"
    elif kind == "body-ws" and body:
        body = body.replace(b" ", b"  ", 1).replace(b"\r\n", b" \r\n", 1)
    elif kind == "body-blank-end":
        body += b"\r\n\r\n"
    elif kind == "body-crlf-end":
        body = body.rstrip(b"\r\n")
    elif kind == "bare-cr" and body:
        i = rng.randrange(len(body) + 1)
        body = body[:i] + b"\r" + body[i:]
    elif kind == "bare-lf" and body:
        i = rng.randrange(len(body) + 1)
        body = body[:i] + b"\n" + body[i:]
    elif kind in ("hdr-ws", "hdr-case", "hdr-refold", "hdr-delete", "hdr-8bit"):
        idx = [i for i, l in enumerate(lines) if l[:1] not in (b" ", b"\t") and
               not l.lower().startswith(b"dkim-signature")]
        if idx:
            i = rng.choice(idx)
            name, _, value = lines[i].partition(b":")
            if kind == "hdr-ws":
                lines[i] = name + b":" + value.replace(b" ", b"   ", 1) + b" "
            elif kind == "hdr-case":
                lines[i] = name.swapcase() + b":" + value
            elif kind == "hdr-refold":
                lines[i] = name + b":" + value.replace(b" ", b"\r\n ", 1)
            elif kind == "hdr-8bit":
                lines[i] = name + b":" + value + b" \xff\xfe"
            else:
                j = i + 1
                while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
                    j += 1
                del lines[i:j]
    elif kind == "hdr-add-top":
        lines.insert(0, rng.choice([b"From: Evil <evil@example.org>", b"Subject: injected",
                                    b"To: other@example.net"]))
    elif kind == "hdr-add-bottom":
        lines.append(rng.choice([b"From: Evil <evil@example.org>", b"Subject: injected",
                                 b"Date: Tue, 2 Jan 2024 10:00:00 +0000"]))
    elif kind in ("b-flip", "bh-flip", "sig-ws", "sig-trunc", "sig-case"):
        head = b"\r\n".join(lines)
        key = b" b=" if kind == "b-flip" else b"bh="
        start = head.find(b"DKIM-Signature:")
        if start >= 0:
            end = head.find(b"\r\n", start)
            while end >= 0 and head[end + 2:end + 3] in (b" ", b"\t"):
                end = head.find(b"\r\n", end + 2)
            end = len(head) if end < 0 else end
            field = head[start:end]
            if kind in ("b-flip", "bh-flip"):
                k = field.find(key)
                if k >= 0:
                    p = k + len(key) + 2
                    if p < len(field):
                        c = field[p:p + 1]
                        field = field[:p] + (b"A" if c != b"A" else b"B") + field[p + 1:]
            elif kind == "sig-ws":
                field = field.replace(b"; ", b";  ", 1)
            elif kind == "sig-case":
                field = field.replace(b"a=", b"A=", 1)
            else:
                field = field[:rng.randint(16, max(16, len(field) - 1))]
            head = head[:start] + field + head[end:]
        lines = head.split(b"\r\n")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def generate(rng, keys):
    tags = set()
    msg, names = make_message(rng, tags)
    nsig = rng.choice([1, 1, 1, 1, 2, 2, 3])
    msg = sign_random(rng, msg, names, keys, tags, nsig)
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        msg = damage(rng, msg, tags)
    return msg, tags


# ---- what is allowed to differ ------------------------------------------------

def facts(msg):
    """What the explanations below look at, from the message itself."""
    f = set()
    head, sep, body = msg.partition(b"\r\n\r\n")
    if body and not body.endswith(b"\r\n"):
        f.add("body-unterminated")
    stripped = body.replace(b"\r\n", b"")
    if b"\r" in stripped:
        f.add("bare-cr")
    if b"\n" in stripped:
        f.add("bare-lf")
    for line in re.sub(rb"\r\n([ \t])", rb"\1", head).split(b"\r\n"):
        if not line.lower().startswith(b"dkim-signature"):
            continue
        t = re.search(rb"(?:^|[:;])\s*t\s*=\s*(\d+)", line)
        if t and int(t.group(1)) < 300:
            f.add("t-below-300")
        b = re.search(rb"[:;]\s*b\s*=([^;]*)", line)
        if b and re.fullmatch(rb"[A-Za-z0-9+/]{2}", re.sub(rb"[ \t]", b"", b.group(1))):
            f.add("b-two-chars")
        if b"dkim-signature" in re.sub(rb"\s", b"", line.partition(b":")[2].lower()):
            f.add("sig-names-signature")
    field = 0
    for line in head.split(b"\r\n"):
        field = field + len(line) + 2 if line[:1] in (b" ", b"\t") else len(line)
        if field > 64 * 1024:
            f.add("field-over-64k")
    return f


BODY_WORDS = ("body hash", "length tag value exceeds body size", "signature not evaluated")


def _body_related(b, o):
    return any(w in b["why"] or w in o["why"] for w in BODY_WORDS) or \
        "pass" in (b["result"], o["result"])


# kind -> condition on (message facts, builtin result, libopendkim result).
# Each kind is explained in the README ("DKIM engines: where they differ").
KNOWN = [
    # a body that does not end in CRLF: RFC 6376 3.4.3/3.4.4 add the CRLF
    # (relaxed after dropping the last line's trailing white space).
    # libopendkim's dkim_eom fails on a relaxed body that ends inside a word
    # (its signatures stay unevaluated), keeps trailing white space before
    # the end, and adds the CRLF in simple only to bodies under 4 KB.
    ("unterminated-body", lambda f, b, o: "body-unterminated" in f and
     _body_related(b, o)),
    # bare CR / LF in a body: RFC 6376 does not define them; libopendkim's
    # canonicaliser drops or moves some of them, ours keeps them as bytes.
    ("bare-cr-lf-in-body", lambda f, b, o: ("bare-cr" in f or "bare-lf" in f) and
     _body_related(b, o)),
    # the libopendkim engine passes header fields up to 64 KB only (its
    # canonicaliser's limit); the builtin one has no limit of its own.
    ("field-over-64k", lambda f, b, o: "field-over-64k" in f and
     "signature did not verify" in o["why"]),
    # libopendkim computes t= minus its 300 s of clock drift without sign,
    # so any t= under 300 is "in the future" to it.
    ("t-below-300", lambda f, b, o: "t-below-300" in f and
     o["why"] == "signature in the future"),
    # RFC 6376 3.2: a tag named twice makes the tag list invalid;
    # libopendkim takes one of the values.
    ("duplicate-tag", lambda f, b, o: b["result"] == "permerror" and
     "appears twice" in b["why"]),
    # RFC 6376 6.1.2 step 7: k= must match a=; libopendkim decodes the key
    # by a= and ignores k=.
    ("key-type-mismatch", lambda f, b, o: "inappropriate key algorithm" in b["why"]),
    # RFC 6376 3.2 keeps white space inside values; libopendkim deletes it,
    # so "d=exa mple.org" is example.org to it and no domain to us.
    ("space-inside-d", lambda f, b, o: b["why"] == "signature syntax: d= is not a domain name"),
    # a tag list that does not parse: we say where; libopendkim names the
    # first required tag its partial parse lacks. Both permerror.
    ("signature-syntax-reason", lambda f, b, o: b["result"] == o["result"] == "permerror" and
     b["why"].startswith("signature syntax:")),
    # a key record that is not usable: we say why ("p= is not base64",
    # "empty tag", ...), libopendkim says "key DNS reply corrupt". Both permerror.
    ("key-syntax-reason", lambda f, b, o: b["result"] == o["result"] == "permerror" and
     b["why"].startswith("key syntax:") and o["why"].startswith("key syntax:")),
    # b= that is not base64 by RFC 6376's grammar (cut short, bad
    # padding): permerror for us; libopendkim decodes what it can, goes on
    # to the key (and reports its problems) and the signature never verifies.
    ("corrupt-b", lambda f, b, o: b["why"] == "signature data corrupt" and
     o["result"] != "pass"),
    # b= of two base64 characters and no padding: one byte to RFC 6376, and
    # no signature of it verifies; libopendkim's decoder wants room for
    # three bytes in a buffer the size of the text and calls it corrupt.
    ("two-char-b", lambda f, b, o: "b-two-chars" in f and
     o["why"] == "signature data corrupt" and b["why"].endswith("signature did not verify")),
    # the libopendkim engine refuses a signature whose text names
    # DKIM-Signature as often as DKIM-Signature fields are given: its h=
    # could take every field, past which libopendkim 2.11 writes beyond an
    # array. The builtin engine checks it (RFC 6376 3.5: never its own field).
    ("h-names-every-signature", lambda f, b, o: "sig-names-signature" in f and
     o["why"] == "not verified: h= may name every DKIM-Signature field (libopendkim engine)"),
    # bh= that is not base64 of a digest: permerror for us; libopendkim
    # compares it as a string and reports a body hash mismatch.
    ("corrupt-bh", lambda f, b, o: b["why"] == "body hash corrupt"),
]


def explain(f, b, o):
    for kind, cond in KNOWN:
        if cond(f, b, o):
            return kind
    return None


# ---- running ------------------------------------------------------------------

def run_batch(dkimcheck, ns, files):
    cmd = [dkimcheck, "--ns", ns, "--diff", "--raw", "--max-sigs", "5", "--budget-ms", "4000"]
    p = subprocess.run(cmd + files, capture_output=True, timeout=600)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or any(m in err for m in SANITIZER_MARKS):
        raise RuntimeError("dkimcheck failed (exit %d): %s" % (p.returncode, err[-3000:]))
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def compare(f, b, o):
    """(kinds explained, problem or None) for one message's two result lists."""
    if len(b) != len(o):
        return [], "%d results vs %d" % (len(b), len(o))
    kinds = []
    for i, (x, y) in enumerate(zip(b, o)):
        if x["result"] == y["result"] and x["why"] == y["why"]:
            continue
        kind = explain(f, x, y)
        if kind is None:
            return kinds, "sig %d: builtin %s (%s) / libopendkim %s (%s)" % (
                i, x["result"], x["why"], y["result"], y["why"])
        kinds.append(kind)
    return kinds, None


DKIMPY_DATA = "/usr/lib/python3/dist-packages/dkim/tests/data"   # python3-dkim


def vector_files(data):
    out = []
    dirs = [DKIMPY_DATA]
    if data and os.path.isdir(data):
        dirs += [os.path.join(data, sub) for sub in ("rfc8463", "dkimpy", "mail-dkim/corpus")]
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if os.path.isfile(path) and (name.endswith((".eml", ".msg", ".txt", ".message"))):
                out.append(path)
    return out


def load_vector_zone(z, data):
    paths = [os.path.join(HERE, "dkimpy-dns.txt")]
    if data:
        paths += [os.path.join(data, rel) for rel in ("rfc8463/dns.txt", "dkimpy/dns.txt",
                                                      "mail-dkim/FAKE_DNS.dat")]
    seen = set()
    for path in paths:
        if not os.path.isfile(path):
            continue
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            owner, rdata = line.split(None, 1)
            rdata = rdata.strip()
            if rdata == "NXDOMAIN" or rdata.startswith("~~") or owner.lower() in seen:
                continue
            seen.add(owner.lower())
            z.txt(owner, "" if rdata == '""' else rdata)


def crlf(data):
    out = bytearray()
    prev = 0
    for c in data:
        if c == 10 and prev != 13:
            out += b"\r"
        out.append(c)
        prev = c
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dkimcheck", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--vectors", default=os.environ.get("SENDERCHECK_TESTDATA") and
                    os.path.join(os.environ["SENDERCHECK_TESTDATA"], "dkim"))
    ap.add_argument("--keep", default=None, help="keep disagreeing messages here")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    print("seed %d (re-run with --seed %d)" % (seed, seed))
    work = tempfile.mkdtemp(prefix="dkim-diff-")
    keys = Keys(work)
    z = keys.zone()
    vectors = vector_files(a.vectors)
    load_vector_zone(z, a.vectors)
    if not a.vectors:
        print("note: only python3-dkim's vectors (SENDERCHECK_TESTDATA is not set)")
    dns = testdns.Unbound(z, os.path.join(work, "dns")).start()
    passed = failed = 0
    known = {}
    compared = 0
    try:
        items = []
        for n, path in enumerate(vectors):
            dst = os.path.join(work, "v%04d.eml" % n)
            open(dst, "wb").write(crlf(open(path, "rb").read()))
            items.append((dst, {"vector:" + os.path.basename(path)}))
        for n in range(a.count):
            msg, tags = generate(rng, keys)
            dst = os.path.join(work, "g%05d.eml" % n)
            open(dst, "wb").write(msg)
            items.append((dst, tags))
        for start in range(0, len(items), 200):
            batch = items[start:start + 200]
            out = run_batch(a.dkimcheck, dns.address, [p for p, _ in batch])
            if len(out) != len(batch):
                raise RuntimeError("dkimcheck gave %d results for %d files" % (len(out), len(batch)))
            for (path, tags), res in zip(batch, out):
                compared += 1
                kinds, problem = compare(facts(open(path, "rb").read()), res["builtin"],
                                         res["libopendkim"])
                for kind in set(kinds):
                    known[kind] = known.get(kind, 0) + 1
                if problem is None:
                    passed += 1
                    continue
                diff = problem
                failed += 1
                print("FAIL %s %s: %s" % (os.path.basename(path), sorted(tags), diff))
                if a.keep:
                    os.makedirs(a.keep, exist_ok=True)
                    shutil.copy(path, a.keep)
    finally:
        dns.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("messages compared: %d (%d vectors, %d generated)" % (compared, len(vectors), a.count))
    for kind, n in sorted(known.items()):
        print("known disagreement %-26s in %d messages" % (kind, n))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
