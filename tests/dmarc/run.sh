#!/bin/sh
# Runs the DMARC and iprev DNS tests against one build's check programs
# (BUILDDIR/tests/dmarc/dmarccheck and iprevcheck, built by `make check`;
# this script builds nothing).
#   tests/dmarc/run.sh BUILDDIR [CASE...]
# Uses Debian's /usr/bin/python3 (python3-dnslib) and unbound on loopback.
# Under --enable-sanitizers builds a leak or a runtime error fails a case.
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILDDIR [CASE...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
exec /usr/bin/python3 "$here/test_dmarc.py" "$@"
