"""Bypass class 8: keys that make each verification cost as much as signing.

A sender publishes its own DKIM and ARC keys. RSA verification is cheap
because the public exponent is small (65537: 17 bits); nothing in RFC 8017
makes it so, and OpenSSL accepts any exponent up to the modulus for
moduli up to 3,072 bits. A 3,072-bit key whose exponent has 3,071 bits
makes one verification ~100 times dearer (7.7 ms against 0.08 ms measured
with OpenSSL 3.0 here), and one message carries up to MaxSignatures DKIM
signatures and 50 ARC sets (a seal and a message signature each): about
a second of CPU per message for the price of a few kilobytes. Keys whose
public exponent has more than 64 bits (OpenSSL's own bound for moduli
over 3,072 bits) are refused: DKIM permerror with the reason, an ARC set
that fails. Real keys use 3 or 65537.

Through the daemon over the milter protocol, keys made here, signatures
and seals by dkimpy. Run: /usr/bin/python3 test_key_cost.py BUILDDIR"""
import base64
import math
import os
import re
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import case, check, contains, eq                  # noqa: E402
from attack import World, main                                 # noqa: E402
import mail                                                    # noqa: E402

import dkim                                                    # noqa: E402  (python3-dkim)
from cryptography.hazmat.primitives import serialization       # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa      # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")


class OddKey:
    """An RSA key of bits bits whose public exponent has ebits bits."""

    def __init__(self, bits, ebits):
        while True:     # new primes each time: e = 3 has one candidate only
            base = rsa.generate_private_key(65537, bits).private_numbers()
            p, q = base.p, base.q
            phi = (p - 1) * (q - 1)
            e = secrets.randbits(ebits) | 1 | (1 << (ebits - 1))
            if math.gcd(e, phi) == 1:
                break
        d = pow(e, -1, phi)
        pub = rsa.RSAPublicNumbers(e, p * q)
        key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                    pub).private_key()
        self.private = key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption())
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_b64 = base64.b64encode(der).decode()
        self.ebits = ebits
        self.algorithm = b"rsa-sha256"

    def record(self):
        return "v=DKIM1; k=rsa; p=" + self.public_b64


KEYS = {}    # selector: OddKey


def zone(z):
    for sel, (bits, ebits) in {"e3071": (3072, 3071), "e2047": (2048, 2047),
                               "e65": (2048, 65), "e64": (2048, 64), "e2": (2048, 2)}.items():
        KEYS[sel] = OddKey(bits, ebits)
        z.txt("%s._domainkey.evil.test" % sel, KEYS[sel].record())


W = World(BUILD, "keycost", zone=zone)


def dkim_results(r):
    return re.findall(r"(?<![\w.])dkim=(\w+)", r["log"] or "")


def signed_by(sel):
    m = W.message("news@evil.test", sign=None)
    return mail.sign(m, "evil.test", sel, KEYS[sel])


@case
def dkim_keys_with_huge_exponents_are_refused():
    bad = []
    for sel in ("e3071", "e2047", "e65"):
        W.variant(8, "dkim " + sel)
        r = W.send_raw(signed_by(sel), mail_from="<b@evil.test>")
        ar = r["headers"].get("Authentication-Results", "")
        if dkim_results(r) != ["permerror"] or "exponent" not in ar:
            bad.append("%s: dkim %s (%s)" % (sel, dkim_results(r), ar))
    check(not bad, "keys with a public exponent over 64 bits:\n  " + "\n  ".join(bad))


@case
def arc_keys_with_huge_exponents_are_refused():
    W.variant(8, "arc e3071")
    m = W.message("news@evil.test", sign="evil.test")
    m = b"Authentication-Results: evil.test; dmarc=pass header.from=evil.test\r\n" + m
    sets = dkim.arc_sign(m, b"e3071", b"evil.test", KEYS["e3071"].private, b"evil.test",
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    check(sets, "dkimpy sealed the message")
    r = W.send_raw(b"".join(sets) + m, mail_from="<b@evil.test>")
    m2 = re.search(r" arc=(\w+)", r["log"] or "")
    eq(m2.group(1) if m2 else None, "fail", "the chain whose keys are refused (%s)" % r["log"])


@case
def control_ordinary_exponents_still_verify():
    for sel in ("e64", "e2"):
        r = W.send_raw(signed_by(sel), mail_from="<b@evil.test>")
        eq(dkim_results(r), ["pass"], "%s: %s" % (sel, r["log"]))
    r = W.send_raw(W.message("news@evil.test", sign="evil.test"), mail_from="<b@evil.test>")
    eq(dkim_results(r), ["pass"], "65537: %s" % r["log"])
    contains(r["headers"].get("Authentication-Results", ""), "dkim=pass", "A-R")


if __name__ == "__main__":
    main(W, "attacks: keys whose verification costs as much as signing (class 8)")
