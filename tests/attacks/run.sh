#!/bin/sh
# The attacks group: every tests/attacks/test_*.py against one build, each a
# class of spoofing bypass (issue 9) tried as an attacker would, through the
# built daemon over the milter protocol and through a real Postfix.
#   tests/attacks/run.sh BUILDDIR [TEST_FILE...]
# Sums the "N passed, N failed" line of each file; a file that prints no
# such line (it crashed, or its setup failed) counts as one failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILDDIR [TEST_FILE...]}
shift
PY=/usr/bin/python3
pass=0
fail=0
files=$*
[ -n "$files" ] || files=$(ls "$here"/test_*.py 2>/dev/null)
for t in $files; do
	log=$(mktemp)
	$PY "$t" "$build" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "FAIL $(basename "$t"): no result line (exit $rc)"
		fail=$((fail + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $(basename "$t"): exit status $rc with no failed case counted"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
