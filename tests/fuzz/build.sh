#!/bin/sh
# Builds the libFuzzer targets (run.sh runs them): SPF record parser and
# macro expander, address parser (and From domain recovery),
# List-Unsubscribe parser, DKIM key name, DKIM key record (--dns-check),
# incoming A-R reader, MAIL FROM
# path reader, header splitter (and From domains), DMARC record parser,
# DKIM body canonicalization, DMARC report Subject, aggregate report writer,
# the builtin and the libopendkim DKIM engines on whole messages.
#   tests/fuzz/build.sh OUTDIR
# clang (Debian's clang package) with -fsanitize=fuzzer,address,undefined;
# the needed common/*.c are compiled in directly (no automake). OUTDIR
# gets one fuzz_* binary per target.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$1
mkdir -p "$out"
CC=${CC:-clang}
# The modules include "config.h" first; all they need from it is this.
cat > "$out/config.h" <<'H'
#define _GNU_SOURCE 1
#define PACKAGE_VERSION "fuzz"
H
flags="-std=c11 -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined -I$out -I$top/common/base -I$top/common/dns -I$top/common/checks"
common="$top/common/checks/spf_record.c $top/common/checks/spf_macro.c $top/common/base/sbuf.c"
for t in fuzz_spf_record fuzz_spf_macro; do
	$CC $flags -o "$out/$t" "$here/$t.c" $common
done
echo "built $out/fuzz_spf_record $out/fuzz_spf_macro"
# domain.c and what it needs (name checks, address literals)
domain="$top/common/checks/domain.c $top/common/dns/dnsname.c $top/common/base/netaddr.c"
# the resolver and what it needs, in one list for every target that links
# it (a module it starts to use is added here once)
resolver="$top/common/dns/dns.c $top/common/dns/dns_io.c $top/common/dns/dnsname.c
  $top/common/base/htable.c $top/common/base/log.c $top/common/base/sbuf.c
  $top/common/base/thread.c"
# address/format/unsub targets: fuzz_address (address.c, format.c's date
# parser) and fuzz_unsub (unsub.c, with header.c; dkim_res_str is stubbed
# in the target so libopendkim is not needed).
$CC $flags -o "$out/fuzz_address" "$here/fuzz_address.c" "$top/common/base/rfc5322.c" \
    "$top/common/checks/address.c" "$top/common/checks/format.c" "$top/common/checks/header.c" \
    $domain -lidn2
$CC $flags -o "$out/fuzz_unsub" "$here/fuzz_unsub.c" "$top/common/base/rfc5322.c" \
    "$top/common/checks/unsub.c" "$top/common/checks/header.c" "$top/common/base/sbuf.c"
echo "built $out/fuzz_address $out/fuzz_unsub"
# the DKIM-Signature key-name reader behind the engine's early key lookups
$CC $flags -o "$out/fuzz_dkimkey" "$here/fuzz_dkimkey.c" "$top/common/checks/dkimkey.c" \
    "$top/common/checks/dkim_tags.c" "$top/common/dns/dnsname.c"
echo "built $out/fuzz_dkimkey"
# the DKIM key record check of sendercheck-test --dns-check (OpenSSL)
$CC $flags -I$top/tools -o "$out/fuzz_keyrecord" "$here/fuzz_keyrecord.c" "$top/tools/keyrecord.c" -lcrypto
echo "built $out/fuzz_keyrecord"
# issue 9: the readers of what a spoofer writes - incoming A-R fields
# (authres.c), the MAIL FROM path (smtppath.c), a whole message's header
# (header.c) with the From domains (author.c), and DMARC records (dmarc.c,
# which needs the resolver, libpsl and libidn2 to link, not to run here)
$CC $flags -o "$out/fuzz_authres" "$here/fuzz_authres.c" "$top/common/checks/authres.c" \
    "$top/common/base/sbuf.c" "$top/common/dns/dnsname.c" "$top/common/base/rfc5322.c"
$CC $flags -o "$out/fuzz_smtppath" "$here/fuzz_smtppath.c" "$top/common/checks/smtppath.c" \
    "$top/common/checks/address.c" "$top/common/base/rfc5322.c" "$top/common/base/sbuf.c" $domain -lidn2
$CC $flags -o "$out/fuzz_header" "$here/fuzz_header.c" "$top/common/checks/header.c" \
    "$top/common/checks/author.c" "$top/common/checks/address.c" "$top/common/base/rfc5322.c" \
    $domain -lidn2
$CC $flags -o "$out/fuzz_dmarc_record" "$here/fuzz_dmarc_record.c" "$top/common/checks/dmarc.c" \
    "$top/common/checks/domain.c" "$top/common/base/netaddr.c" $resolver -lpsl -lidn2 -lresolv -lpthread
echo "built $out/fuzz_authres $out/fuzz_smtppath $out/fuzz_header $out/fuzz_dmarc_record"
# DKIM targets: fuzz_dkim_tags (tag lists, base64, quoted-printable, key
# records, canonicalisation) and fuzz_dkim_verify (the builtin verifier on a whole message,
# keys from keyserver.h, a DNS server in the target); OpenSSL's libcrypto and libsodium, no libopendkim.
dkim="$top/common/checks/dkim.c $top/common/checks/dkim_builtin.c $top/common/checks/dkim_tags.c
  $top/common/checks/dkim_canon.c $top/common/checks/dkim_key.c"
$CC $flags -o "$out/fuzz_dkim_tags" "$here/fuzz_dkim_tags.c" "$top/common/checks/dkim_tags.c" \
    "$top/common/checks/dkim_canon.c" \
    "$top/common/checks/dkim_key.c" $resolver -lcrypto -lsodium -lresolv -lpthread
$CC $flags -o "$out/fuzz_dkim_verify" "$here/fuzz_dkim_verify.c" $dkim \
    "$top/common/checks/header.c" $resolver -lcrypto -lsodium -lresolv -lpthread
# body canonicalization alone, cut anywhere, against tests/lib/canon_ref.h
$CC $flags -o "$out/fuzz_dkim_body" "$here/fuzz_dkim_body.c" "$top/common/checks/dkim_canon.c" \
    "$top/common/checks/dkim_tags.c" -lcrypto
echo "built $out/fuzz_dkim_tags $out/fuzz_dkim_verify $out/fuzz_dkim_body"
# fuzz_dkim_opendkim: fuzz_dkim_verify.c again, through the libopendkim
# engine (dkim_opendkim.c; Debian's libopendkim-dev, not instrumented)
$CC $flags $(pkg-config --cflags opendkim) -o "$out/fuzz_dkim_opendkim" \
    "$here/fuzz_dkim_opendkim.c" $dkim "$top/common/checks/dkim_opendkim.c" \
    "$top/common/checks/header.c" $resolver $(pkg-config --libs opendkim) -lcrypto -lsodium \
    -lresolv -lpthread
echo "built $out/fuzz_dkim_opendkim"
# ARC chain verification on whole messages (keys from keyserver.h), and sealing
$CC $flags -o "$out/fuzz_arc" "$here/fuzz_arc.c" "$top/common/checks/arc.c" "$top/common/checks/arc_seal.c" \
    "$top/common/checks/authres.c" "$top/common/base/rfc5322.c" \
    "$top/common/checks/dkim_tags.c" "$top/common/checks/dkim_canon.c" "$top/common/checks/dkim_key.c" \
    "$top/common/checks/header.c" $resolver -lcrypto -lsodium -lresolv -lpthread
echo "built $out/fuzz_arc"
# DMARC aggregate reports: the Subject that marks report mail (reportmsg.c)
# and the report writer on hostile stored values (dmarcreport.c: libxml2, zlib)
$CC $flags -o "$out/fuzz_reportmsg" "$here/fuzz_reportmsg.c" "$top/common/checks/reportmsg.c" \
    $domain -lidn2
$CC $flags -I$top/common/verdict -I$top/common/engine -I$top/common/service \
    $(pkg-config --cflags libxml-2.0) -o "$out/fuzz_dmarcreport" "$here/fuzz_dmarcreport.c" \
    "$top/common/service/dmarcreport.c" "$top/common/base/sbuf.c" $(pkg-config --libs libxml-2.0 zlib)
echo "built $out/fuzz_reportmsg $out/fuzz_dmarcreport"
# the rua= destination list of DMARC records (report addresses)
$CC $flags -o "$out/fuzz_rua" "$here/fuzz_rua.c" "$top/common/checks/rua.c" "$top/common/dns/dnsname.c"
echo "built $out/fuzz_rua"
