#!/bin/sh
# Runs the OpenSPF RFC 7208 suite against one build's spfcheck.
#   tests/spf/run.sh BUILDDIR [run_rfc7208.py options, e.g. --engine builtin]
# Needs Debian python3-yaml, python3-dnslib and (for the suite file)
# python3-spf; uses /usr/bin/python3 on purpose (the first python3 on
# PATH may not see Debian's packages).
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILDDIR [options]" >&2
	exit 2
fi
builddir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
spfcheck="$builddir/tests/spf/spfcheck"
if [ ! -x "$spfcheck" ]; then
	echo "$0: $spfcheck not built (make check builds it)" >&2
	exit 2
fi
# Under AddressSanitizer (configure --enable-sanitizers) a leak or a
# sanitizer error makes spfcheck exit non-zero, and the runner fails.
exec /usr/bin/python3 "$here/run_rfc7208.py" --spfcheck "$spfcheck" "$@"
