"""Messages, keys and DKIM signatures made at test time (/usr/bin/python3).

Keys are generated fresh with openssl (RSA) and PyNaCl (ed25519); messages
are signed by dkimpy (Debian python3-dkim), a real, independent signer.
"""
import base64
import os
import subprocess

import dkim
import nacl.signing


class RSAKey:
    def __init__(self, bits, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.path = os.path.join(workdir, "rsa%d-%s.pem" % (bits, os.urandom(4).hex()))
        subprocess.run(["openssl", "genrsa", "-out", self.path, str(bits)],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", self.path, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.private = open(self.path, "rb").read()
        self.public_b64 = base64.b64encode(der).decode()
        self.algorithm = b"rsa-sha256"
        self.bits = bits

    def record(self, extra=""):
        return "v=DKIM1; k=rsa; %sp=%s" % (extra, self.public_b64)


class Ed25519Key:
    def __init__(self):
        sk = nacl.signing.SigningKey.generate()
        self.private = base64.b64encode(bytes(sk))          # dkimpy wants the seed
        self.public_b64 = base64.b64encode(bytes(sk.verify_key)).decode()
        self.algorithm = b"ed25519-sha256"
        self.bits = 0

    def record(self, extra=""):
        return "v=DKIM1; k=ed25519; %sp=%s" % (extra, self.public_b64)


def message(headers, body):
    """headers: list of (name, value) with value as it follows the colon."""
    out = b""
    for name, value in headers:
        out += ("%s:%s\r\n" % (name, value)).encode()
    return out + b"\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def simple_message(from_addr="sender@example.com", subject="test", extra=(), body="Hello.\n"):
    hdrs = [("From", " " + from_addr), ("To", " rcpt@example.net"),
            ("Subject", " " + subject), ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
            ("Message-ID", " <%s@example.com>" % os.urandom(6).hex())]
    return message(hdrs + list(extra), body)


def sign(msg, domain, selector, key, headers=(b"from", b"to", b"subject", b"date", b"message-id"),
         canon=(b"relaxed", b"relaxed"), length=False, algorithm=None):
    """Returns msg with a DKIM-Signature prepended (dkimpy)."""
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key.private,
                    include_headers=list(headers), canonicalize=canon, length=length,
                    signature_algorithm=algorithm or key.algorithm)
    return sig + msg


def split(msg):
    """(headers [(name, value)], body) of a CRLF message; values keep folds."""
    head, _, body = msg.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return [(n.decode(), v.decode("latin-1")) for n, v in fields], body


def address_list(size):
    """An address field value of about size octets, one address per folded
    line. Long local parts keep it far from Postfix's
    header_address_token_limit (10240 tokens, 5 an address here), past
    which Postfix drops the rest of the field."""
    out, n, i = [], 0, 0
    while n < size:
        a = "announcementlistfortheautumnmeetingrecipient%05d@example.net" % i
        out.append(a)
        n += len(a) + 4
        i += 1
    return " " + ",\r\n ".join(out)
