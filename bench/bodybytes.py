#!/usr/bin/python3
"""Instructions per body byte of the engine's body path, counted by
callgrind (a figure the machine's load does not move).

    bodybytes.py --builddir DIR [--size BYTES] [--top N]

For each kind of body, one message of about --size bytes (default 200 KB,
the corpus's largest, which sets p99) is checked by sendercheck-test
under callgrind with collection on only inside check_body(): everything
the engine does per body byte (DKIM body canonicalization and hashing for
each body hash the signatures need, ARC's, the line length scan) and
nothing per message. Printed: instructions per body byte, all and without
OpenSSL's (valgrind's CPU has no SHA-NI, so OpenSSL's SHA-256 runs its
~28 instructions per byte there; with SHA-NI it costs ~2 cycles per
byte), and with --top the functions that spend them. make bench prints
them after the instructions per message (bench.py).

Kinds: text bodies as the benchmark corpus has them (words, lines of ~72
octets) with a relaxed or a simple signature (ed25519-sha256: the body
hash is the same for RSA) or none; "indented" is an HTML-like body whose
lines start with runs of SP and HTAB and end in white space, the worst
common case for relaxed canonicalization; "dkim+arc" a list-forwarded
message with a DKIM signature and an ARC set, whose body hashes are one.
"""
import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import gencorpus  # noqa: E402
import insns  # noqa: E402
import mail  # noqa: E402


def indented_text(rng, size):
    """HTML-like lines: leading SP/HTAB runs, words, white space at the end."""
    out, n = [], 0
    while n < size:
        lead = "".join(rng.choice(" \t") for _ in range(rng.randrange(0, 12)))
        words = " ".join(rng.choice(gencorpus.WORDS) for _ in range(rng.randrange(1, 9)))
        s = lead + "<td>" + words + "</td>" + " " * rng.randrange(0, 3)
        out.append(s)
        n += len(s) + 2
    return "\n".join(out) + "\n"


def messages(size, keydir):
    """[(kind, message bytes, body length)]"""
    rng = random.Random(11)
    key = mail.Ed25519Key()
    hdrs = [("From", " <news@brand.example>"), ("To", " <user@receiver.example>"),
            ("Subject", " body bytes"), ("Date", " Wed, 25 Nov 2026 10:00:00 +0000"),
            ("Message-ID", " <1@brand.example>")]
    text = gencorpus.body_text(rng, size)
    html = indented_text(rng, size)
    out = []
    for kind, body, canon in (("relaxed", text, b"relaxed"), ("simple", text, b"simple"),
                              ("unsigned", text, None), ("indented relaxed", html, b"relaxed")):
        msg = mail.message(hdrs, body)
        if canon is not None:
            msg = mail.sign(msg, "brand.example", "ed", key, canon=(b"relaxed", canon))
        out.append((kind, msg, len(msg.partition(b"\r\n\r\n")[2])))
    # forwarded by a list that sealed it: the DKIM signature and the ARC
    # message signature need the same body hash (relaxed, SHA-256)
    msg = mail.sign(mail.message(hdrs, text), "brand.example", "ed", key)
    msg = (b"Authentication-Results: list.example; dkim=pass header.d=brand.example; "
           b"arc=none\r\n" + msg)
    rsa = mail.RSAKey(2048, keydir)     # dkimpy seals with RSA only
    sets = dkim.arc_sign(msg, b"arc", b"list.example", rsa.private, b"list.example",
                         include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    out.append(("dkim+arc relaxed", b"".join(sets) + msg, len(msg.partition(b"\r\n\r\n")[2])))
    return out


def measure(build, size=200000):
    """[(kind, body bytes, instructions, {function: instructions})]"""
    tool = os.path.join(os.path.abspath(build), "tools", "sendercheck-test")
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind missing (./dev.sh bench installs it)")
    work = tempfile.mkdtemp(prefix="sc-bodybytes-")
    rows = []
    try:
        conf = os.path.join(work, "sc.conf")
        # nothing answers on this port: the keys are asked only after the body
        with open(conf, "w") as f:
            f.write("AuthservID mx.receiver.example\nNameservers 127.0.0.1:9\nDNSTimeout 1\n")
        for kind, msg, blen in messages(size, work):
            path = os.path.join(work, "msg.eml")
            with open(path, "wb") as f:
                f.write(msg)
            out = os.path.join(work, "cg.out")
            subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no",
                            "--collect-atstart=no", "--toggle-collect=check_body",
                            "--callgrind-out-file=" + out, tool, "-c", conf, "--ip", "192.0.2.1",
                            "--mail-from", "news@brand.example", path],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=600)
            rows.append((kind, blen, insns.total_ir(out), insns.objects_and_functions(out)[1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def report(rows, top=0):
    print()
    print("instructions per body byte in check_body() (callgrind; SHA-256 is OpenSSL's code "
          "without SHA-NI under valgrind):")
    print("  %-17s %8s %12s %9s %9s" % ("body", "bytes", "instructions", "per byte", "ours+libc"))
    for kind, blen, total, per_fn in rows:
        crypto = sum(k for fn, k in per_fn.items() if "libcrypto" in fn)
        print("  %-17s %8d %12d %9.2f %9.2f" % (kind, blen, total, total / blen,
                                                (total - crypto) / blen))
        for fn, k in collections.Counter(per_fn).most_common(top):
            print("      %6.2f  %s" % (k / blen, fn))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--size", type=int, default=200000)
    ap.add_argument("--top", type=int, default=0)
    opt = ap.parse_args()
    try:
        rows = measure(opt.builddir, opt.size)
    except RuntimeError as e:
        sys.exit("bodybytes: %s" % e)
    report(rows, opt.top)


if __name__ == "__main__":
    main()
