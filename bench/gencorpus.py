#!/usr/bin/python3
"""Benchmark corpus and DNS zone for `make bench` (run by bench/run.sh).

    gencorpus.py OUTDIR [--messages N] [--seed S]

Writes into OUTDIR:
  corpus.bin     the messages as an MTA would hand them to a milter
  corpus-ar.bin  the same messages, each with an Authentication-Results field
                 of the trusted authserv-id "upstream.bench" carrying the DKIM
                 results, as OpenDKIM in front of OpenDMARC would add it
  zone.txt       "owner TYPE rdata" lines for tests/lib/testdns.py
  summary.txt    what the corpus holds

Mix (issue 5): bodies of ~2 KB / 20 KB / 200 KB in 70/25/5 %; RSA-2048
signatures mostly, some ed25519, some with two signatures, some unsigned or
broken; half with one-click List-Unsubscribe headers (signed); 20 sender
domains with SPF (an include), DMARC and keys; client addresses in
192.0.2.0/24 with PTR and A records so that iprev passes, a few from
198.51.100.0/24 outside SPF and without PTR.

corpus.bin format: "SCBENCH1 N\n", then per message one line
"IP CLIENTNAME HELO MAILFROM RCPT LENGTH\n" followed by LENGTH bytes of the
message (CRLF line ends, header fields, empty line, body).
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import mail  # noqa: E402

N_DOMAINS = 20
WORDS = ("offer newsletter account update order shipped invoice weekly digest your the a "
         "and of to in for on with our new sale summer winter event reminder product "
         "customer service team please click here view online unsubscribe privacy policy "
         "terms delivery tracking number payment received thank you").split()


def body_text(rng, size):
    """Plain-text body of about size bytes, lines of ~72 characters."""
    out, n, line = [], 0, []
    while n < size:
        w = rng.choice(WORDS)
        line.append(w)
        if sum(len(x) + 1 for x in line) > 70:
            s = " ".join(line)
            out.append(s)
            n += len(s) + 2
            line = []
    return "\n".join(out) + "\n"


def pick(rng, table):
    r = rng.random()
    acc = 0.0
    for p, v in table:
        acc += p
        if r < acc:
            return v
    return table[-1][1]


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: gencorpus.py OUTDIR [--messages N] [--seed S]")
    out = args[0]
    n_msgs = 600
    seed = 5
    if "--messages" in args:
        n_msgs = int(args[args.index("--messages") + 1])
    if "--seed" in args:
        seed = int(args[args.index("--seed") + 1])
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    keydir = os.path.join(out, "keys")

    zone = []
    domains = []
    for i in range(1, N_DOMAINS + 1):
        d = "brand%02d.example" % i
        ip = "192.0.2.%d" % (10 + i)
        host = "mta%d.%s" % (i % 3 + 1, d)
        rsa = mail.RSAKey(2048, keydir)
        ed = mail.Ed25519Key()
        policy = ("none", "quarantine", "reject")[i % 3]
        zone += [
            (d, "TXT", "v=spf1 include:_spf.%s -all" % d),
            ("_spf." + d, "TXT", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all"),
            ("_dmarc." + d, "TXT", "v=DMARC1; p=%s; rua=mailto:dmarc@%s; adkim=r; aspf=r" % (policy, d)),
            ("s2048._domainkey." + d, "TXT", rsa.record()),
            ("ed._domainkey." + d, "TXT", ed.record()),
            (d, "MX", "10 mx.%s" % d),
            ("mx." + d, "A", "192.0.2.200"),
            (host, "A", ip),
            ("%s.2.0.192.in-addr.arpa" % (10 + i), "PTR", host),
        ]
        domains.append({"d": d, "ip": ip, "host": host, "rsa": rsa, "ed": ed})
    # the receiving side and a few outside clients (no PTR, not in SPF)
    zone += [("mx.receiver.example", "A", "192.0.2.250")]

    kinds = [(0.75, "rsa"), (0.08, "ed25519"), (0.07, "two"), (0.05, "unsigned"), (0.05, "broken")]
    counts = {}
    msgs = []
    sizes = [2000] * int(n_msgs * 0.70) + [20000] * int(n_msgs * 0.25)
    sizes += [200000] * (n_msgs - len(sizes))
    rng.shuffle(sizes)
    for k in range(n_msgs):
        dom = domains[k % N_DOMAINS]
        d = dom["d"]
        kind = pick(rng, kinds)
        oneclick = k % 2 == 0
        outside = rng.random() < 0.03
        ip, client, helo = dom["ip"], dom["host"], dom["host"]
        if outside:
            ip = "198.51.100.%d" % (1 + k % 200)
            client, helo = "unknown", "relay.outside.example"
        bounce = ("bounce+%04d@bounce.%s" % (k, d)) if k % 4 == 1 else ("news@%s" % d)
        if k % 4 == 1:
            zone.append(("bounce." + d, "TXT", "v=spf1 include:_spf.%s -all" % d))
        size = sizes[k]
        hdrs = [
            ("Received", " from %s (%s [%s])\r\n\tby mx.receiver.example (Postfix) with ESMTPS id 4Q%06dX\r\n"
             "\tfor <user%d@receiver.example>; Wed, 25 Nov 2026 10:%02d:%02d +0000" %
             (helo, client, ip, k, k, k % 60, k % 60)),
            ("From", " \"Brand %s\" <news@%s>" % (d[5:7], d)),
            ("To", " <user%d@receiver.example>" % k),
            ("Subject", " %s %s %d" % (rng.choice(WORDS).title(), rng.choice(WORDS), k)),
            ("Date", " Wed, 25 Nov 2026 10:%02d:%02d +0000" % (k % 60, (k * 7) % 60)),
            ("Message-ID", " <%d.%s@%s>" % (k, os.urandom(6).hex(), d)),
            ("MIME-Version", " 1.0"),
            ("Content-Type", " text/plain; charset=utf-8"),
        ]
        signed = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
        if oneclick:
            hdrs += [("List-Unsubscribe", " <https://%s/u/%d-%s>,\r\n <mailto:unsub@%s?subject=u%d>" %
                      (d, k, os.urandom(4).hex(), d, k)),
                     ("List-Unsubscribe-Post", " List-Unsubscribe=One-Click"),
                     ("List-Id", " Brand news <news.%s>" % d)]
            signed += [b"list-unsubscribe", b"list-unsubscribe-post", b"list-id"]
        msg = mail.message(hdrs, body_text(rng, size))
        ar = []
        if kind in ("rsa", "two", "broken"):
            msg = mail.sign(msg, d, "s2048", dom["rsa"], headers=signed)
            ar.append("dkim=pass header.d=%s header.s=s2048" % d)
        if kind in ("ed25519", "two"):
            msg = mail.sign(msg, d, "ed", dom["ed"], headers=signed)
            ar.append("dkim=pass header.d=%s header.s=ed" % d)
        if kind == "broken":
            # changed in transit: the body hash no longer matches
            msg = msg.replace(b"\r\n\r\n", b"\r\n\r\nFooter added by a list.\r\n", 1)
            ar = ["dkim=fail header.d=%s header.s=s2048" % d]
        if not ar:
            ar = ["dkim=none"]
        counts[kind] = counts.get(kind, 0) + 1
        counts["oneclick"] = counts.get("oneclick", 0) + oneclick
        counts["outside"] = counts.get("outside", 0) + outside
        counts[size] = counts.get(size, 0) + 1
        env = (ip, client, helo, bounce, "user%d@receiver.example" % k)
        ar_field = ("Authentication-Results: upstream.bench;\r\n\t%s\r\n" % ";\r\n\t".join(ar)).encode()
        msgs.append((env, msg, ar_field + msg))

    for name, idx in (("corpus.bin", 1), ("corpus-ar.bin", 2)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"SCBENCH1 %d\n" % len(msgs))
            for m in msgs:
                f.write(("%s %s %s %s %s %d\n" % (m[0] + (len(m[idx]),))).encode())
                f.write(m[idx])
    with open(os.path.join(out, "zone.txt"), "w") as f:
        for owner, rtype, rdata in dict.fromkeys(zone):
            f.write("%s %s %s\n" % (owner, rtype, rdata))
    total = sum(len(m[1]) for m in msgs)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write("%d messages, %.1f MB, %d domains; %s\n" % (
            len(msgs), total / 1e6, N_DOMAINS,
            ", ".join("%s=%d" % (k, v) for k, v in sorted(counts.items(), key=lambda x: str(x[0])))))
    print(open(os.path.join(out, "summary.txt")).read().strip())


if __name__ == "__main__":
    main()
