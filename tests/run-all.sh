#!/bin/bash
# run-all.sh BUILDDIR... [--tsan TSANDIR]: every test group against each
# build directory (plain, then AddressSanitizer+UBSan), the threaded groups
# (DNS, milter, daemon, stats) against a ThreadSanitizer build, then one
# total line "N passed, N failed, N skipped" that CI reads. Exit 1 if
# anything failed. Each group prints its own "N passed, N failed[, N
# skipped]" line, one count per case; a group run by hand is the same
# command as below.
#
# Optional third-party data (the Mail::DKIM corpus, RFC 8463 vectors, ...):
# the folder named by SENDERCHECK_TESTDATA (dev.sh test points it at
# ../shared/testdata next to the clone). Without it, the cases that need it
# are counted as skipped, never as passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
total_pass=0
total_fail=0
total_skip=0
failed_groups=()
group_secs=()	# "SECONDS NAME[BUILD]" per group, for the list of the slowest
builds=()
tsan=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tsan) tsan=${2:?--tsan needs a build directory}; shift 2 ;;
	*) builds+=("$1"); shift ;;
	esac
done
set -- "${builds[@]}"

# the same as tests/lib/evidence.py sets for a group run by hand
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1"

# tests/lib/evidence.py: the one judge of exit statuses and sanitizer reports
evidence() {
	"$PY" "$here/lib/evidence.py" "$@"
}

# group NAME BUILD CMD...: runs CMD, takes its last "N passed, N failed"
# line; a sanitizer report anywhere in its output fails the group even if
# the group itself did not notice (tests/lib/evidence.py scan)
group() {
	local name=$1 build=$2; shift 2
	local log p f s line rc t0
	log=$(mktemp)
	echo "---- $name [$(basename "$build")]"
	t0=$SECONDS
	"$@" >"$log" 2>&1
	rc=$?
	group_secs+=("$((SECONDS - t0)) $name[$(basename "$build")]")
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		p=0; f=1; s=0
		echo "  no result line (exit $rc); output:"
		tail -n 40 "$log" | sed 's/^/  | /'
	else
		p=${line%% passed*}
		f=${line#*passed, }; f=${f%% failed*}
		s=0
		case $line in *skipped*) s=${line##*failed, }; s=${s%% skipped*} ;; esac
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 && echo "  exit status $rc with no failed case counted"
		# each failure with what follows it (a traceback, a sanitizer report)
		grep -E -A 12 '^(FAIL|  FAIL|not ok|\[  FAILED|\[  ERROR)' "$log" | head -n 80 | sed 's/^/  /'
		grep -E 'known gaps of' "$log" | sed 's/^/  /'
		grep -E '^skip ' "$log" | head -n 5 | sed 's/^/  /'
		if ! evidence scan "$log" >/dev/null; then
			evidence scan "$log" | head -n 20 | sed 's/^/  /'
			[ "$f" -eq 0 ] && f=1 && echo "  a sanitizer report with no failed case counted"
		fi
		echo "  $line"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	[ "$f" -gt 0 ] && failed_groups+=("$name[$(basename "$build")]")
	rm -f "$log"
}

# cmocka binaries print "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)";
# run through evidence.py: a sanitizer report fails the binary
cmocka() {
	local out rc p f
	out=$(evidence run "$@" 2>&1); rc=$?
	echo "$out"
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	p=${p:-0}; f=${f:-0}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "$p passed, $f failed"
}

# the live DNS test needs its rogue server: run_dns_live.sh starts it
cmocka_live() {
	cmocka "$here/unit/run_dns_live.sh" "$1"
}

for build in "$@"; do
	build=$(cd "$build" && pwd)
	for t in "$build"/tests/*/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*_live) continue ;; esac
		group "unit/$(basename "$t")" "$build" cmocka "$t"
	done
	group "dns-live" "$build" cmocka_live "$build/tests/unit/test_dns_live"
	group "engine-live" "$build" cmocka_live "$build/tests/unit/test_engine_live"
	# the RFC 7208 suite through both engines (builtin: 203/203, no gaps)
	group "spf-rfc7208-builtin" "$build" "$here/spf/run.sh" "$build" --engine builtin
	group "spf-rfc7208-libspf2" "$build" "$here/spf/run.sh" "$build" --engine libspf2
	group "spf-differential" "$build" $PY "$here/spf/diff_engines.py" --spfcheck "$build/tests/spf/spfcheck"
	group "spf-lint" "$build" $PY "$here/spf/test_lint.py" "$build"
	group "dkim-vectors" "$build" "$here/dkim/run.sh" "$build"
	group "dkim-vectors-libopendkim" "$build" "$here/dkim/run.sh" "$build" --engine libopendkim
	# both DKIM engines on the vectors and on 2000 generated, damaged messages
	group "dkim-differential" "$build" $PY "$here/dkim/diff_engines.py" --dkimcheck "$build/tests/dkim/dkimcheck"
	# the libopendkim engine's body hashing against libopendkim's, random messages cut at random (~1-2 min)
	group "dkim-bodyhash" "$build" $PY "$here/dkim/test_bodyhash.py" "$build"
	# ARC: the open ARC test suite's validation scenarios (from
	# SENDERCHECK_TESTDATA) and chains made at test time by dkimpy
	group "arc-suite" "$build" $PY "$here/arc/test_arc_suite.py" "$build"
	group "arc-chains" "$build" $PY "$here/arc/test_arc_chains.py" "$build"
	group "arc-trust" "$build" $PY "$here/arc/test_arc_trust.py" "$build"
	# ARCSign: the suite's signing scenarios and chains of 1-5 hops sealed over
	# the milter protocol, verified by dkimpy and sendercheck-test
	group "arc-seal" "$build" $PY "$here/arc/test_arc_seal.py" "$build"
	group "dmarc-iprev" "$build" "$here/dmarc/run.sh" "$build"
	group "milter" "$build" $PY "$here/milter/test_milter.py" "$build"
	# limits, negotiation per connection, SIGHUP reload, files, PID file
	group "daemon" "$build" $PY "$here/milter/test_daemon.py" "$build"
	group "cli" "$build" $PY "$here/cli/test_cli.py" "$build"
	group "dns-check" "$build" $PY "$here/cli/test_dnscheck.py" "$build"
	group "compliance" "$build" $PY "$here/compliance/test_compliance.py" "$build"
	# issue 9: every spoofing bypass class tried as an attacker would
	group "attacks" "$build" "$here/attacks/run.sh" "$build"
	# a throwaway Postfix (as root, under a temp dir) + smtp-sink + OpenDKIM: ~25 s per build
	group "postfix" "$build" $PY "$here/postfix/test_postfix.py" "$build"
	# two throwaway Postfix: a mailing list sealing (ARCSign), an MX trusting it or not (~10 s)
	group "postfix-arc" "$build" $PY "$here/postfix/test_arc_list.py" "$build"
	# each provider's exact reply, through the milter and a real Postfix (~40 s)
	group "replies" "$build" $PY "$here/postfix/test_replies.py" "$build"
	group "stats" "$build" $PY "$here/stats/test_stats.py" "$build"
	# DMARC aggregate reports (sendercheck-reports --out) from two daemons'
	# store behind a throwaway Postfix: schema, counts, Mail::DMARC (~30 s)
	group "reports-build" "$build" $PY "$here/reports/test_reports_build.py" "$build"
	# DMARC report mail (reportsend): unbound, a throwaway Postfix + smtp-sink, Sendmail 8's
	# sendmail command, one PostgreSQL (~15 s)
	group "reports-send" "$build" $PY "$here/reports/test_reports_send.py" "$build"
	# a real Sendmail 8.17 extracted from Debian's packages (~10 s per build)
	group "sendmail" "$build" $PY "$here/sendmail/test_sendmail.py" "$build"
	# -n, start errors, logging, Type=notify (as root: unshare, setuid)
	group "admin" "$build" $PY "$here/admin/test_admin.py" "$build"
	# three daemons sharing a real Redis (and PostgreSQL) started by the test
	group "fleet" "$build" $PY "$here/fleet/test_fleet.py" "$build"
done

# ThreadSanitizer: the groups whose code runs on several threads at once
# (the resolver, libmilter's workers, reload, the stats writer, SharedState,
# the checks' shared contexts: DKIM verifier and key cache, DMARC's, libspf2's): ~8 min
if [ -n "$tsan" ]; then
	tsan=$(cd "$tsan" && pwd)
	for t in dns fields spf dmarc; do
		bin=$(ls "$tsan"/tests/*/test_$t)
		group "unit/test_$t" "$tsan" cmocka "$bin"
	done
	group "dkim-vectors" "$tsan" "$here/dkim/run.sh" "$tsan"
	group "dkim-vectors-libopendkim" "$tsan" "$here/dkim/run.sh" "$tsan" --engine libopendkim
	group "dns-live" "$tsan" cmocka_live "$tsan/tests/unit/test_dns_live"
	group "engine-live" "$tsan" cmocka_live "$tsan/tests/unit/test_engine_live"
	group "milter" "$tsan" $PY "$here/milter/test_milter.py" "$tsan"
	group "daemon" "$tsan" $PY "$here/milter/test_daemon.py" "$tsan"
	group "stats" "$tsan" $PY "$here/stats/test_stats.py" "$tsan"
	# SharedState's thread and the PostgreSQL writer against the message path (~1 min)
	group "fleet" "$tsan" $PY "$here/fleet/test_fleet.py" "$tsan"
fi

# man pages (lint, sections, options), make install, the systemd unit
# (systemd-analyze verify / security): once, on the first build
group "install" "$1" $PY "$here/install/test_install.py" "$(cd "$1" && pwd)"

# the Debian package: dpkg-buildpackage in a copy of the tree (~1.5 min on
# 2 cores), lintian, dpkg -i on this machine, -n/-V and a message through
# the installed daemon, purge (~2.5 min in all)
group "deb" "pkg" $PY "$here/deb/test_deb.py" "$1"

# make distcheck on the first build directory: the tarball carries every
# tracked file, builds, and passes make check (the unit tests) from itself
group "distcheck" "dist" $PY "$here/dist/test_dist.py" "$(cd "$1" && pwd)"

# bench/insns.py prints only the tables it measured (null filter, strace, ~15 s)
group "bench-insns" "$1" $PY "$here/bench/test_insns.py" "$(cd "$1" && pwd)"

# common/ layers: no lower layer includes a higher one
group "check-layers" "src" sh "$here/check-layers.sh" "$here/.."

# fuzz smoke run of the parsers (~2.5 min, a target per core at once):
# builds its own clang/libFuzzer binaries, so once, not per build directory
group "fuzz-smoke" "fuzz" "$here/fuzz/run.sh" 10

echo
echo "slowest groups (seconds):"
printf '%s\n' "${group_secs[@]}" | sort -rn | head -n 12 | sed 's/^/  /'
echo "all groups: $SECONDS s"
if [ ${#failed_groups[@]} -gt 0 ]; then
	echo "failed groups: ${failed_groups[*]}"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
