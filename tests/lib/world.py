"""The test world shared by the milter and offline-checker tests: DNS zone
data (SPF records, DKIM keys made at test time) and the DKIM cases, each a
message signed by dkimpy and what its Authentication-Results must say."""
import mail
import testdns

# The client address is data in the milter protocol, not traffic: a
# documentation address keeps libspf2 from its "localhost is always allowed".
CLIENT = "192.0.2.10"


def build(workdir):
    """(zone, keys) for the cases below."""
    z = testdns.Zone()
    z.txt("spf-pass.test", "v=spf1 ip4:192.0.2.10 -all")
    z.txt("spf-fail.test", "v=spf1 ip4:192.0.2.99 -all")
    z.txt("spf-soft.test", "v=spf1 ~all")
    z.add("spf-none.test", "A", "192.0.2.50")
    z.txt("spf-perm.test", "v=spf1 ip4:192.0.2.10 foo:bar -all")
    z.txt("spf-temp.test", "v=spf1 include:broken.spf-temp.test -all")
    z.refuse("broken.spf-temp.test")
    z.txt("client.test", "v=spf1 ip4:192.0.2.10 -all")
    # no spaces: libspf2 mangles spaces in exp= text (a known gap of that engine)
    z.txt("exp.spf-fail2.test", "Denied-100%%-for-%{i}")
    z.txt("spf-fail2.test", "v=spf1 -all exp=exp.spf-fail2.test")
    keys = {
        "r2048": mail.RSAKey(2048, workdir),
        "r1024": mail.RSAKey(1024, workdir),
        "r512": mail.RSAKey(512, workdir),
        "ed": mail.Ed25519Key(),
        "revoked": mail.RSAKey(1024, workdir),
    }
    for sel, k in keys.items():
        if sel == "revoked":
            z.txt("revoked._domainkey.dkim.test", "v=DKIM1; k=rsa; p=")
        else:
            z.txt("%s._domainkey.dkim.test" % sel, k.record())
    z.txt("dkim.test", "v=spf1 ip4:192.0.2.10 -all")
    return z, keys


def signed(keys, sel, **kw):
    msg = mail.simple_message("user@dkim.test")
    return mail.sign(msg, "dkim.test", sel, keys[sel], **kw)


def _two_one_bad(keys):
    both = mail.sign(signed(keys, "ed"), "dkim.test", "r2048", keys["r2048"])
    # break the outer (first) signature's b= without touching the inner one
    head, sep, rest = both.partition(b"b=")
    return head + sep + (b"A" if rest[:1] != b"A" else b"B") + rest[1:]


# (name, message builder, substrings the A-R must hold, substrings it must not)
DKIM_CASES = [
    ("pass_rsa2048", lambda k: signed(k, "r2048"),
     ['dkim=pass (2048-bit key) header.d=dkim.test header.s=r2048 header.a=rsa-sha256 header.b="'], []),
    ("pass_rsa1024", lambda k: signed(k, "r1024"),
     ["dkim=pass (1024-bit key) header.d=dkim.test header.s=r1024"], []),
    ("pass_ed25519", lambda k: signed(k, "ed"),
     ["dkim=pass header.d=dkim.test header.s=ed header.a=ed25519-sha256"], []),
    ("pass_simple_canon", lambda k: signed(k, "r2048", canon=(b"simple", b"simple")),
     ["dkim=pass"], []),
    ("two_signatures_one_bad", _two_one_bad,
     ["dkim=fail", "header.s=r2048", "dkim=pass header.d=dkim.test header.s=ed"], []),
    ("body_tampered", lambda k: signed(k, "r2048").replace(b"Hello.", b"Hello!"),
     ["dkim=fail", "body"], ["dkim=pass"]),
    ("header_tampered", lambda k: signed(k, "r2048").replace(b"Subject: test", b"Subject: tesT"),
     ["dkim=fail"], ["dkim=pass"]),
    ("key_missing", lambda k: mail.sign(mail.simple_message("user@dkim.test"), "dkim.test",
                                        "nokey", k["r1024"]),
     ["dkim=permerror", "no key"], []),
    ("key_revoked", lambda k: signed(k, "revoked"), ["dkim=permerror", "revoked"], []),
    ("rsa_sha1", lambda k: signed(k, "r2048", algorithm=b"rsa-sha1"), ["sha1"], ["dkim=pass"]),
    ("rsa_512_bits", lambda k: signed(k, "r512"), ["512"], ["dkim=pass"]),
    ("unsigned", lambda k: mail.simple_message("user@dkim.test"), ["dkim=none"], []),
]
