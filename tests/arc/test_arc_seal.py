#!/usr/bin/python3
"""ARC sealing (ARCSign): the built daemon seals over the milter protocol,
dkimpy (python3-dkim) and sendercheck itself verify what it sealed.

    /usr/bin/python3 test_arc_seal.py BUILDDIR [CASE...]

- The open ARC suite's signing scenarios ($SENDERCHECK_TESTDATA/arc/
  arc-draft-sign-tests.yml; those cases skip without it): each message goes
  from an InternalHosts client (a list sending it on) through a daemon with
  the scenario's srv-id as AuthservID and its key, domain and selector; the
  set the daemon adds must have the scenario's instance and cv, and
  dkimpy's arc_verify must pass the result (with cv=fail, where arc_verify
  stops at the status, dkimpy's own canonicalisation and RSA check verify
  the new seal over its own set); where the scenario adds nothing, nothing
  may be added.
- Chains of 1 to 5 hops sealed by sendercheck, alternating RSA and Ed25519
  sealers, as forwarders (checked mail, sealed with the daemon's own
  results) and as lists (a verifying daemon at receipt, the list's change,
  the sealing daemon on re-injection): dkimpy's arc_verify and sendercheck-
  test must pass each; a changed message after a seal, and a sealer whose
  key is not published, make the next hop seal cv=fail.
- Start: a key other users can read, a missing file, a file that is no
  key, ARCSign without its options: the daemon refuses to start (and -n
  reports it), naming the file.

The modifications the daemon sends (insert at index, add, delete) are
applied as an MTA applies them, then the message is verified as received.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
from harness import case, check, contains, eq, run, skip, testdata_or_none  # noqa: E402
import evidence  # noqa: E402
import mail  # noqa: E402
import milter  # noqa: E402
import milterproto  # noqa: E402
import testdns  # noqa: E402

import dkim  # noqa: E402  (python3-dkim)
import dkim.canonicalization  # noqa: E402
import dkim.crypto  # noqa: E402
import nacl.exceptions  # noqa: E402  (python3-nacl)
import nacl.signing  # noqa: E402
import yaml  # noqa: E402  (python3-yaml)

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
TOOL = os.path.join(BUILD, "tools", "sendercheck-test")
DAEMON = os.path.join(BUILD, "milter", "sendercheck")
WORK = tempfile.mkdtemp(prefix="arc-seal-")
SUITE = testdata_or_none("arc", "arc-draft-sign-tests.yml")
ORIGIN_IP = "198.51.100.7"
LIST_IP = "203.0.113.5"


class Ctx:
    pass


class PemKey:
    """A key file for the daemon (mode 0600) and its DNS record."""

    def __init__(self, kind, name):
        self.path = os.path.join(WORK, "keys", name + ".pem")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if kind == "rsa":
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048", "-out", self.path], check=True,
                           capture_output=True)
        else:
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.path],
                           check=True, capture_output=True)
        os.chmod(self.path, 0o600)
        der = subprocess.run(["openssl", "pkey", "-in", self.path, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        # RFC 8463: an Ed25519 key record holds the 32 raw bytes
        self.public_b64 = base64.b64encode(der if kind == "rsa" else der[-32:]).decode()
        self.kind = kind

    def record(self):
        return "v=DKIM1; k=%s; p=%s" % ("rsa" if self.kind == "rsa" else "ed25519",
                                         self.public_b64)


def suite_scenarios():
    return list(yaml.safe_load_all(open(SUITE))) if SUITE else []


def txt_of(rdata):
    return "".join(rdata.split("\n")) if "\n" in rdata.strip() else rdata.strip()


def setup():
    c = Ctx()
    c.keys = {"rsa": PemKey("rsa", "seal-rsa"), "ed": PemKey("ed25519", "seal-ed"),
              "list": PemKey("rsa", "list"), "ghost": PemKey("rsa", "ghost")}
    c.origin = mail.RSAKey(2048, os.path.join(WORK, "keys"))
    c.records = {}
    z = testdns.Zone()

    def txt(owner, text):
        c.records[owner.lower()] = text
        z.txt(owner, text)

    txt("arc._domainkey.seal-rsa.test", c.keys["rsa"].record())
    txt("arc._domainkey.seal-ed.test", c.keys["ed"].record())
    txt("arc._domainkey.lists.test", c.keys["list"].record())
    # ghost.test publishes no key: its seals cannot be verified
    txt("o._domainkey.origin.test", c.origin.record())
    txt("origin.test", "v=spf1 ip4:%s -all" % ORIGIN_IP)
    txt("_dmarc.origin.test", "v=DMARC1; p=reject")
    txt("lists.test", "v=spf1 ip4:%s -all" % LIST_IP)
    for sc in suite_scenarios():
        for owner, rdata in (sc.get("txt-records") or {}).items():
            if owner.lower() not in c.records:
                txt(owner, txt_of(rdata))
    c.dns = testdns.Unbound(z, os.path.join(WORK, "dns")).start()
    base = {"Nameservers": c.dns.address, "DNSTimeout": "5"}
    c.daemons = {}

    def daemon(name, **opts):
        o = dict(base)
        o.update(opts)
        c.daemons[name] = milter.Sendercheck(BUILD, os.path.join(WORK, name), o, name=name).start()

    # forwarders: check, then seal with their own results
    daemon("fwd-rsa", AuthservID="mx.seal-rsa.test", ARCSign="yes", ARCDomain="seal-rsa.test",
           ARCSelector="arc", ARCKeyFile=c.keys["rsa"].path)
    daemon("fwd-ed", AuthservID="mx.seal-ed.test", ARCSign="yes", ARCDomain="seal-ed.test",
           ARCSelector="arc", ARCKeyFile=c.keys["ed"].path)
    daemon("fwd-ghost", AuthservID="mx.ghost.test", ARCSign="yes", ARCDomain="ghost.test",
           ARCSelector="arc", ARCKeyFile=c.keys["ghost"].path)
    # a list: checks at receipt, seals when the list sends the message on
    daemon("list-in", AuthservID="mx.lists.test")
    daemon("list-out", AuthservID="mx.lists.test", InternalHosts="127.0.0.0/8",
           ARCSign="yes", ARCDomain="lists.test", ARCSelector="arc",
           ARCKeyFile=c.keys["list"].path)
    c.checker = os.path.join(WORK, "checker.conf")
    with open(c.checker, "w") as f:
        f.write("Nameservers %s\nInternalHosts none\nAuthservID mx.final.test\nDNSTimeout 5\n"
                % c.dns.address)
    return c


def teardown(c):
    if c is None:
        return
    for d in getattr(c, "daemons", {}).values():
        d.stop()
    if getattr(c, "dns", None):
        c.dns.stop()
    shutil.rmtree(WORK, ignore_errors=True)


def dnsfunc(c):
    def f(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        t = c.records.get(n.rstrip(".").lower())
        return t.encode() if t else None
    return f


def field_line(name, value, leadspc):
    """How an MTA writes an added field: "Name:" and the value as given when
    the filter negotiated the leading space, else "Name: value"; folds as CRLF."""
    value = value.replace("\r\n", "\n").replace("\n", "\r\n")
    return ("%s:%s" % (name, value) if leadspc else "%s: %s" % (name, value)).encode("latin-1")


def apply_mods(msg, mods, leadspc):
    """The message after the filter's replies, in order: insert at an index
    (0: the top), add at the end, change/delete the index-th field of a name."""
    head, _, body = msg.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    for cmd, data in mods:
        if cmd == b"i":
            idx = int.from_bytes(data[:4], "big")
            name, _, value = data[4:].partition(b"\0")
            fields.insert(idx, field_line(name.decode(), value.rstrip(b"\0").decode("latin-1"),
                                          leadspc))
        elif cmd == b"h":
            name, _, value = data.partition(b"\0")
            fields.append(field_line(name.decode(), value.rstrip(b"\0").decode("latin-1"),
                                     leadspc))
        elif cmd == b"m":
            idx = int.from_bytes(data[:4], "big")
            name, _, value = data[4:].partition(b"\0")
            seen = 0
            for k, f in enumerate(fields):
                if f.split(b":", 1)[0].strip().lower() == name.lower():
                    seen += 1
                    if seen == idx:
                        if value.rstrip(b"\0"):
                            fields[k] = field_line(name.decode(),
                                                   value.rstrip(b"\0").decode("latin-1"), leadspc)
                        else:
                            del fields[k]
                        break
    return b"\r\n".join(fields) + b"\r\n\r\n" + body


def through(c, daemon, msg, ip, sender, helo="mail.test"):
    """One message through a daemon over the milter protocol, as Postfix
    sends it: (final reply command, the message as the MTA passes it on)."""
    d = c.daemons[daemon]
    sess = milterproto.Session(d.socket, timeout=60)
    try:
        sess.negotiate()
        sess.conn(hostname=helo, ip=ip)
        sess.helo(helo)
        headers, body = mail.split(msg)
        final, _, mods = sess.message(headers, body, sender=sender,
                                      qid="Q" + os.urandom(4).hex().upper())
        leadspc = bool(sess.steps & milterproto.SMFIP_HDR_LEADSPC)
    finally:
        sess.close()
    return final[0], apply_mods(msg, mods, leadspc)


def arc_fields(msg, name):
    """Values of the fields called name, top first, unfolded."""
    head = msg.partition(b"\r\n\r\n")[0].decode("latin-1")
    out = []
    for m in re.finditer(r"(?im)^%s:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)" % re.escape(name), head):
        out.append(re.sub(r"\r\n", "", m.group(1)).strip())
    return out


def tag(value, t):
    m = re.search(r"(?:^|;)\s*%s\s*=\s*([^;]*)" % t, value)
    return re.sub(r"\s+", "", m.group(1)) if m else None


def dkimpy_arc(c, msg):
    """dkimpy's status; its None ("the chain is terminated": the newest
    seal says cv=fail) is "fail", as RFC 8617 5.2 step 2 has it."""
    cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc(c))
    return (cv or b"fail").decode(), reason


def checker(c, msg, ip="192.0.2.99"):
    path = os.path.join(WORK, "m-%s.eml" % os.urandom(4).hex())
    with open(path, "wb") as f:
        f.write(msg)
    p = evidence.run([TOOL, "-c", c.checker, "--ip", ip, "--helo", "relay.test",
                      "--mail-from", "bounce@relay.test", "--json", path], timeout=60)
    return json.loads(p.stdout)


def newest_seal_by_dkimpy(c, msg):
    """The newest ARC-Seal checked with dkimpy's relaxed canonicalisation and
    its RSA verification (PyNaCl for Ed25519), over the sets it covers: all
    of them, or its own set alone when it says cv=fail (RFC 8617 5.1.2).
    dkimpy's arc_verify stops at a cv=fail seal and knows no Ed25519 seals."""
    sets = {}
    for lname in (b"arc-authentication-results", b"arc-message-signature", b"arc-seal"):
        for n, v in arc_raw(msg, lname):
            sets.setdefault(int(tag(v.decode("latin-1"), "i")), {})[lname] = (n, v)
    newest = max(sets)
    as_ = sets[newest][b"arc-seal"]
    text = as_[1].decode("latin-1")
    covered = [newest] if tag(text, "cv") == "fail" else sorted(sets)
    unsigned = re.sub(rb"(;\s*b=)[^;]*", rb"\1", as_[1])
    fields = []
    for i in covered:
        fields += [sets[i][b"arc-authentication-results"], sets[i][b"arc-message-signature"],
                   sets[i][b"arc-seal"] if i != newest else (as_[0], unsigned)]
    hdrs = dkim.canonicalization.Relaxed.canonicalize_headers(fields)
    data = b"".join(n + b":" + v for n, v in hdrs)
    data = data[:-2] if data.endswith(b"\r\n") else data
    rec = dnsfunc(c)("%s._domainkey.%s" % (tag(text, "s"), tag(text, "d")))
    p = base64.b64decode(dict(x.strip().split("=", 1) for x in rec.decode().split(";")
                              if "=" in x)["p"])
    sig = base64.b64decode(tag(text, "b"))
    digest = hashlib.sha256(data).digest()
    if tag(text, "a") == "ed25519-sha256":
        try:
            nacl.signing.VerifyKey(p).verify(digest, sig)
            return True
        except nacl.exceptions.BadSignatureError:
            return False
    h = hashlib.sha256()
    h.update(data)
    return dkim.crypto.RSASSA_PKCS1_v1_5_verify(h, sig, dkim.crypto.parse_public_key(p))


def arc_raw(msg, lname):
    """(name, value) of the fields called lname as received, top first."""
    headers, _ = mail.split(msg)
    return [(n.encode(), v.encode("latin-1") + b"\r\n") for n, v in headers
            if n.lower().encode() == lname]


# ---- the open ARC suite's signing scenarios ----

def suite_message(text):
    """The suite writes LF lines; a message is CRLF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def suite_daemon(c, sc, srv_id):
    """One daemon per (srv-id, key) of the suite, started when first needed."""
    name = "suite-%s" % re.sub(r"[^a-z0-9]", "-", srv_id.lower())
    if name in c.daemons:
        return name
    key = os.path.join(WORK, "keys", "suite.pem")
    if not os.path.exists(key):
        with open(key, "w") as f:
            f.write(sc["privatekey"])
        os.chmod(key, 0o600)
    o = {"Nameservers": c.dns.address, "DNSTimeout": "5", "AuthservID": srv_id,
         "InternalHosts": "127.0.0.0/8", "ARCSign": "yes", "ARCDomain": sc["domain"],
         "ARCSelector": sc["sel"], "ARCKeyFile": key}
    c.daemons[name] = milter.Sendercheck(BUILD, os.path.join(WORK, name), o, name=name).start()
    return name


def _sign_case(sc, name, test):
    def fn(c):
        if SUITE is None:
            skip("$SENDERCHECK_TESTDATA/arc/arc-draft-sign-tests.yml not found")
        d = suite_daemon(c, sc, test["srv-id"])
        msg = suite_message(test["message"])
        before = len(arc_fields(msg, "ARC-Seal"))
        cmd, out = through(c, d, msg, "127.0.0.1", "<list-bounces@example.org>")
        eq(cmd, b"a", "accepted")
        want_as = (test.get("AS") or "").strip()
        seals = arc_fields(out, "ARC-Seal")
        if not want_as:
            eq(len(seals), before, "no set added to a failed chain")
            c.sign_total += 1
            c.sign_ok += 1
            return
        eq(len(seals), before + 1, "one set added")
        want_i, want_cv = tag(want_as, "i"), tag(want_as, "cv")
        eq(tag(seals[0], "i"), want_i, "instance")
        eq(tag(seals[0], "cv"), want_cv, "cv")
        eq(tag(arc_fields(out, "ARC-Message-Signature")[0], "i"), want_i, "AMS instance")
        aar = arc_fields(out, "ARC-Authentication-Results")[0]
        check(aar.startswith("i=%s; %s" % (want_i, test["srv-id"])), "AAR: %s" % aar)
        for part in ("spf=pass", "dkim=pass", "dmarc=pass"):
            contains(aar, part, "AAR carries the srv-id's results")
        check(out.index(b"ARC-Seal:") < out.index(b"ARC-Message-Signature:") <
              out.index(b"ARC-Authentication-Results:"), "RFC 8617 order at the top")
        c.sign_total += 1
        if want_cv == "fail":
            check(newest_seal_by_dkimpy(c, out), "dkimpy verifies the cv=fail seal over its set")
            eq(dkimpy_arc(c, out)[0], "fail", "dkimpy: the chain failed")
        else:
            cv, reason = dkimpy_arc(c, out)
            eq(cv, "pass", "dkimpy arc_verify (%s)" % reason)
        eq(checker(c, out)["arc"]["result"], "pass" if want_cv != "fail" else "fail",
           "sendercheck-test on the sealed message")
        c.sign_ok += 1
    fn.__name__ = "sign_" + name
    return case(fn)


for _sc in (list(yaml.safe_load_all(open(SUITE))) if SUITE else []):
    for _name, _test in _sc["tests"].items():
        _sign_case(_sc, _name, _test)


@case
def sign_suite_figures(c):
    """Prints the signing figure (all signing cases ran before this one)."""
    if SUITE is None:
        skip("no ARC suite")
    print("ARC suite signing: %d/%d sealed as the scenario wants and verified by dkimpy"
          % (c.sign_ok, c.sign_total))
    check(c.sign_total > 0, "signing scenarios ran")


# ---- chains sealed by sendercheck ----

def original(c, subject="Minutes"):
    msg = mail.message([("From", " Alice <alice@origin.test>"), ("To", " team@lists.test"),
                        ("Subject", " " + subject), ("Date", " Mon, 1 Jan 2024 10:00:00 +0000"),
                        ("Message-ID", " <%s@origin.test>" % os.urandom(6).hex())],
                       "Hello team,\nthe minutes are below.\n")
    return mail.sign(msg, "origin.test", "o", c.origin)


def list_hop(c, msg, ip):
    """A list: checked at receipt, changed (Subject tag, footer, List-Id),
    sent on from its own envelope through the sealing daemon."""
    cmd, msg = through(c, "list-in", msg, ip, "<alice@origin.test>")
    eq(cmd, b"a", "the list's MX accepts")
    head, _, body = msg.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^Subject: ", b"Subject: [team] ", head, count=1)
    head += b"\r\nList-Id: <team.lists.test>"
    body += b"-- \r\nteam mailing list\r\n"
    cmd, out = through(c, "list-out", head + b"\r\n\r\n" + body, "127.0.0.1",
                       "<team-bounces@lists.test>")
    eq(cmd, b"a", "the list's re-injection accepted")
    return out


def fwd_hop(c, msg, which, ip):
    cmd, out = through(c, which, msg, ip, "<team-bounces@lists.test>")
    eq(cmd, b"a", "%s accepts" % which)
    return out


def chain_of(c, hops):
    """hops: "l" (list), "r" (RSA forwarder), "e" (Ed25519 forwarder)."""
    msg, ip = original(c), ORIGIN_IP
    for k, h in enumerate(hops):
        if h == "l":
            msg = list_hop(c, msg, ip)
            ip = LIST_IP
        else:
            msg = fwd_hop(c, msg, {"r": "fwd-rsa", "e": "fwd-ed", "g": "fwd-ghost"}[h], ip)
        eq(len(arc_fields(msg, "ARC-Seal")), k + 1, "hop %d added one set" % (k + 1))
    return msg, ip


def passes_everywhere(c, msg, n):
    cv, reason = dkimpy_arc(c, msg)
    if b"a=ed25519-sha256" in msg:
        # RFC 8617 names rsa-sha256 only; dkimpy refuses other seals, so the
        # Ed25519 seal is checked with its primitives instead
        eq(reason, "unknown signature algorithm: b'ed25519-sha256'", "dkimpy's limit")
        check(newest_seal_by_dkimpy(c, msg), "the newest seal verifies (dkimpy + PyNaCl)")
    else:
        eq(cv, "pass", "dkimpy arc_verify (%s)" % reason)
    v = checker(c, msg)
    eq(v["arc"]["result"], "pass", "sendercheck-test (%s)" % v["arc"].get("reason"))
    eq(v["arc"]["sets"], n, "sets")
    c.chains += 1


def _chain_case(hops):
    def fn(c):
        msg, _ = chain_of(c, hops)
        passes_everywhere(c, msg, len(hops))
        cvs = [tag(s, "cv") for s in reversed(arc_fields(msg, "ARC-Seal"))]
        eq(cvs, ["none"] + ["pass"] * (len(hops) - 1), "cv of each seal, oldest first")
    fn.__name__ = "chain_" + hops
    return case(fn)


for _hops in ("r", "e", "l", "re", "lr", "rel", "lerl", "relre", "lllll"):
    _chain_case(_hops)


@case
def list_seal_carries_what_the_list_saw(c):
    msg, _ = chain_of(c, "l")
    aar = arc_fields(msg, "ARC-Authentication-Results")[0]
    check(aar.startswith("i=1; mx.lists.test"), "AAR: %s" % aar)
    for part in ("arc=none", "spf=pass", "dkim=pass", "dmarc=pass"):
        contains(aar, part, "the list's AAR")
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "a"), "rsa-sha256", "algorithm")
    v = checker(c, msg, ip=LIST_IP)
    eq(v["dmarc"]["result"], "fail", "DMARC fails after the list's change")


@case
def ed25519_seal(c):
    msg, _ = chain_of(c, "e")
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "a"), "ed25519-sha256", "seal algorithm")
    eq(tag(arc_fields(msg, "ARC-Message-Signature")[0], "a"), "ed25519-sha256", "AMS algorithm")


@case
def changed_after_a_seal_next_hop_seals_fail(c):
    msg, ip = chain_of(c, "lr")
    msg = msg.replace(b"the minutes are below", b"wire the money today")
    msg = fwd_hop(c, msg, "fwd-ed", ip)
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "cv"), "fail", "the next hop saw the chain fail")
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "i"), "3", "instance")
    check(newest_seal_by_dkimpy(c, msg), "the cv=fail seal verifies over its own set (dkimpy + PyNaCl)")
    eq(dkimpy_arc(c, msg)[0], "fail", "dkimpy")
    eq(checker(c, msg)["arc"]["result"], "fail", "sendercheck-test")
    # a failed chain gets no further set (RFC 8617 5.1)
    msg2 = fwd_hop(c, msg, "fwd-rsa", ip)
    eq(len(arc_fields(msg2, "ARC-Seal")), 3, "no set added after cv=fail")
    contains(c.daemons["fwd-rsa"].read_log(), "not sealed (ARCSign): the newest seal (i=3) says",
             "the log says why")


@case
def unpublished_sealer_key_next_hop_seals_fail(c):
    msg, ip = chain_of(c, "g")
    eq(dkimpy_arc(c, msg)[0], "fail", "dkimpy: no key for ghost.test")
    msg = fwd_hop(c, msg, "fwd-rsa", ip)
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "cv"), "fail", "the next hop saw the chain fail")


@case
def changed_signed_header_fails_at_the_next_hop(c):
    msg, ip = chain_of(c, "re")
    msg = msg.replace(b"Subject: Minutes", b"Subject: Invoice")
    eq(dkimpy_arc(c, msg)[0], "fail", "dkimpy")
    eq(checker(c, msg)["arc"]["result"], "fail", "sendercheck-test")
    msg = fwd_hop(c, msg, "fwd-rsa", ip)
    eq(tag(arc_fields(msg, "ARC-Seal")[0], "cv"), "fail", "next hop")


@case
def second_from_after_seal_breaks_it(c):
    """From is oversigned: a From added below the sealed one breaks the AMS."""
    msg, _ = chain_of(c, "r")
    head, _, body = msg.partition(b"\r\n\r\n")
    msg = head + b"\r\nFrom: ceo@origin.test\r\n\r\n" + body
    eq(dkimpy_arc(c, msg)[0], "fail", "dkimpy")
    eq(checker(c, msg)["arc"]["result"], "fail", "sendercheck-test")


@case
def rejected_mail_is_not_sealed(c):
    """A spoof of the p=reject domain from elsewhere, to a forwarder that
    applies DMARC policy: rejected, nothing sealed."""
    d = milter.Sendercheck(BUILD, os.path.join(WORK, "strict"), {
        "Nameservers": c.dns.address, "AuthservID": "mx.strict.test", "On-DMARCFail": "policy",
        "ARCSign": "yes", "ARCDomain": "seal-rsa.test", "ARCSelector": "arc",
        "ARCKeyFile": c.keys["rsa"].path}, name="strict").start()
    c.daemons["strict"] = d
    msg = mail.message([("From", " ceo@origin.test"), ("To", " x@y.test"),
                        ("Subject", " pay"), ("Date", " Mon, 1 Jan 2024 10:00:00 +0000")], "pay\n")
    sess = milterproto.Session(d.socket, timeout=60)
    try:
        sess.negotiate()
        sess.conn(ip="192.0.2.66")
        sess.helo("evil.test")
        headers, body = mail.split(msg)
        final, added, mods = sess.message(headers, body, sender="<ceo@origin.test>")
    finally:
        sess.close()
    eq(final[0], b"y", "rejected (SMTP reply)")
    check(not any(m[0] == b"i" for m in mods), "nothing inserted: %r" % mods)


@case
def chains_figure(c):
    print("ARC chains sealed by sendercheck and verified by dkimpy and sendercheck-test: %d"
          % c.chains)
    check(c.chains >= 9, "chains ran")


# ---- the key at start ----

def start_fails(c, name, opts, want):
    o = {"Nameservers": c.dns.address, "AuthservID": "mx.test", "ARCSign": "yes"}
    o.update(opts)
    d = milter.Sendercheck(BUILD, os.path.join(WORK, name), o, name=name)
    p = subprocess.run([DAEMON, "-n", "-c", d.conf], capture_output=True, timeout=60)
    check(p.returncode != 0, "-n refuses (%s)" % name)
    contains(p.stderr.decode(), want, "-n names the problem")
    p = subprocess.run([DAEMON, "-f", "-c", d.conf], capture_output=True, timeout=60)
    check(p.returncode != 0, "the daemon refuses to start (%s)" % name)
    contains(p.stderr.decode() + open(d.log).read() if os.path.exists(d.log) else
             p.stderr.decode(), want, "the start error names the problem")


@case
def world_readable_key_refused(c):
    key = os.path.join(WORK, "keys", "open.pem")
    shutil.copy(c.keys["rsa"].path, key)
    os.chmod(key, 0o644)
    start_fails(c, "open", {"ARCDomain": "seal-rsa.test", "ARCSelector": "arc",
                            "ARCKeyFile": key}, key + ": the private key is readable")


@case
def missing_key_file_refused(c):
    key = os.path.join(WORK, "keys", "none.pem")
    start_fails(c, "nokey", {"ARCDomain": "d.test", "ARCSelector": "arc", "ARCKeyFile": key},
                key + ": No such file")


@case
def not_a_key_refused(c):
    key = os.path.join(WORK, "keys", "junk.pem")
    with open(key, "w") as f:
        f.write("hello\n")
    os.chmod(key, 0o600)
    start_fails(c, "junk", {"ARCDomain": "d.test", "ARCSelector": "arc", "ARCKeyFile": key},
                key + ": not a PEM private key")


@case
def sign_without_options_refused(c):
    start_fails(c, "bare", {}, "ARCSign needs ARCKeyFile, ARCDomain and ARCSelector")


def _setup():
    c = setup()
    c.sign_ok = c.sign_total = 0
    c.chains = 0
    return c


if __name__ == "__main__":
    sys.exit(run("ARC sealing (the daemon over the milter protocol on %s)" % BUILD, _setup,
                 teardown))
