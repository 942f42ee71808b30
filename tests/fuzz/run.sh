#!/bin/sh
# Fuzz smoke run: builds the targets (build.sh) and runs each for a while:
# every parser of sender-controlled text - SPF records and macros, RFC 5322
# addresses (with the From domain recovery), List-Unsubscribe, the
# DKIM-Signature key name, the DKIM key record check of --dns-check,
# incoming Authentication-Results, the MAIL FROM path, a message's header
# with its From domains, DMARC records, DKIM tag lists and key records, the
# builtin and libopendkim DKIM engines and ARC chain verification on whole
# messages, DKIM body canonicalization cut anywhere against a plain
# reference, the Subject that marks DMARC report mail and the aggregate
# report writer, the rua= report destinations of DMARC records.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]     (default 10; one target per core at once:
#                                               ~2.5 min in all on 2 cores)
# Seeds: tests/fuzz/corpus/<target>/ (small, our own; fuzz_dkim_opendkim
# takes fuzz_dkim_verify's, the same messages; arcsuite-*: the
# messages and fields of the open ARC test suite, MIT licence, that add
# coverage) plus the SPF
# records and explanation strings of the RFC 7208 suite (Debian
# python3-spf), written at run time. Prints "N passed, N failed": a
# target passes when it ran its time with no crash, leak or sanitizer
# report.
# A longer run (documented in the README):
#   tests/fuzz/build.sh /tmp/fz && tests/fuzz/run.sh 3600
set -u
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-10}
work=$(mktemp -d /tmp/spf-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
if ! command -v "${CC:-clang}" >/dev/null 2>&1; then
	echo "clang not found (apt-get install clang)"
	echo "0 passed, 1 failed"
	exit 1
fi
"$here/build.sh" "$work/bin" >"$work/build.log" 2>&1 || {
	cat "$work/build.log"
	echo "0 passed, 1 failed"
	exit 1
}
# Seeds from the suite: every TXT/SPF value, as a record and (with a
# flags byte) as a macro-string.
mkdir -p "$work/seed/record" "$work/seed/macro"
/usr/bin/python3 - "$work/seed" <<'PY' || true
import gzip, os, sys, yaml, hashlib
out = sys.argv[1]
path = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
if os.path.exists(path):
    for d in yaml.safe_load_all(gzip.open(path)):
        for name, rrs in ((d or {}).get("zonedata") or {}).items():
            for rr in rrs:
                if not isinstance(rr, dict):
                    continue
                v = rr.get("SPF", rr.get("TXT"))
                if isinstance(v, list):
                    v = "".join(v)
                if not isinstance(v, str) or v == "NONE":
                    continue
                b = v.encode("utf-8", "surrogateescape")
                h = hashlib.sha1(b).hexdigest()[:16]
                open(os.path.join(out, "record", h), "wb").write(b)
                open(os.path.join(out, "macro", h), "wb").write(b"\x01" + b)
PY
TARGETS="fuzz_spf_record fuzz_spf_macro fuzz_address fuzz_unsub fuzz_dkimkey fuzz_keyrecord
    fuzz_authres fuzz_smtppath fuzz_header fuzz_dmarc_record fuzz_dkim_tags fuzz_dkim_verify
    fuzz_dkim_body fuzz_arc fuzz_reportmsg fuzz_dmarcreport fuzz_rua fuzz_dkim_opendkim"

# run_one TARGET: fuzzes one target, its "ok" or "FAIL" lines on stdout
run_one() {
	target=$1
	t=${target#fuzz_}
	t=${t#spf_}
	mkdir -p "$work/corpus/$t" "$work/seed/$t"
	c=$t
	[ "$t" = dkim_opendkim ] && c=dkim_verify
	seeds=""
	[ -d "$here/corpus/$c" ] && seeds="$here/corpus/$c"
	log="$work/$t.log"
	# Seeds over 16 KB (regression inputs such as dkim_verify/h-flood) run
	# once each at full length first; fuzzing then makes inputs of up to
	# 16 KB (-max_len cuts those seeds there), as fast as without them.
	big=""
	[ -n "$seeds" ] && big=$(find "$seeds" -type f -size +16k | sort)
	maxlen=""
	rc=0
	if [ -n "$big" ]; then
		maxlen=-max_len=16384
		ASAN_OPTIONS=detect_leaks=1 "$work/bin/$target" -timeout=10 -rss_limit_mb=2048 \
		    -artifact_prefix="$work/crash-$t-" $big >"$log.big" 2>&1 || rc=$?
		# libFuzzer's alarm does not always stop an input given as a file
		# (a thread other than the fuzzing one may take it): over 10 s fails
		slow=$(awk '/^Executed .* in [0-9]+ ms$/ && $(NF-1) > 10000' "$log.big")
		if [ -n "$slow" ]; then
			echo "ERROR: libFuzzer: timeout (over 10 s): $slow" >>"$log.big"
			rc=1
		fi
	fi
	[ $rc -eq 0 ] && ASAN_OPTIONS=detect_leaks=1 "$work/bin/$target" -max_total_time="$secs" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $maxlen \
	    -artifact_prefix="$work/crash-$t-" \
	    "$work/corpus/$t" $seeds "$work/seed/$t" >"$log" 2>&1 || rc=$?
	[ -e "$log.big" ] && cat "$log.big" >>"$log"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -eq 0 ] && ! grep -q 'ERROR: libFuzzer' "$log" &&
	    /usr/bin/python3 "$here/../lib/evidence.py" scan "$log" >/dev/null; then
		echo "ok   $target: ${runs:-?} runs in ${secs}s, no crash"
	else
		echo "FAIL $target (exit $rc):"
		grep -E 'ERROR|runtime error|SUMMARY|#0 |#1 |#2 ' "$log" | head -n 20 | sed 's/^/  /'
		for a in "$work"/crash-$t-*; do
			[ -e "$a" ] && cp "$a" "$here/" && echo "  reproducer kept: tests/fuzz/$(basename "$a")"
		done
	fi
}

# as many targets at once as there are cores (FUZZ_JOBS to choose), each
# its full time; the results in the order above
jobs=${FUZZ_JOBS:-$(nproc)}
running=""
for target in $TARGETS; do
	run_one "$target" >"$work/$target.out" 2>&1 &
	running="$running $!"
	set -- $running
	if [ $# -ge "$jobs" ]; then
		wait "$1"
		shift
		running="$*"
	fi
done
wait
pass=0
fail=0
for target in $TARGETS; do
	cat "$work/$target.out"
	if grep -q "^ok   $target:" "$work/$target.out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
