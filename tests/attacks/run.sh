#!/bin/sh
# The attacks group: every tests/attacks/test_*.py against one build, each a
# class of spoofing bypass (issue 9) tried as an attacker would, through the
# built daemon over the milter protocol and through a real Postfix.
#   tests/attacks/run.sh BUILDDIR [TEST_FILE...]
# Sums the "N passed, N failed, N skipped" line of each file; a file that
# prints no such line (it crashed, or its setup failed) counts as one
# failure. Each file also prints "attack variants: class N: M" (distinct
# attack inputs it tried per bypass class); their sums per class are
# printed at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILDDIR [TEST_FILE...]}
shift
PY=/usr/bin/python3
pass=0
fail=0
skip=0
variants=$(mktemp)
trap 'rm -f "$variants"' EXIT
files=$*
[ -n "$files" ] || files=$(ls "$here"/test_*.py 2>/dev/null)
for t in $files; do
	log=$(mktemp)
	$PY "$t" "$build" >"$log" 2>&1
	rc=$?
	cat "$log"
	grep -E '^attack variants: class [^:]+: [0-9]+$' "$log" >>"$variants"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $(basename "$t"): no result line (exit $rc); its last lines:"
		tail -n 12 "$log" | sed 's/^/  | /'
		rm -f "$log"
		fail=$((fail + 1))
		continue
	fi
	rm -f "$log"
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	s=0
	case $line in *skipped*) s=${line##*failed, }; s=${s%% skipped*} ;; esac
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $(basename "$t"): exit status $rc with no failed case counted"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
done
awk -F': ' '{ n[$2] += $3 } END { for (c in n) print "attack variants in all: " c ": " n[c] }' \
    "$variants" | sort
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
