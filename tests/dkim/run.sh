#!/bin/sh
# Runs the DKIM test vectors against BUILDDIR/tests/dkim/dkimcheck (built by
# `make check`; this script builds nothing).
#   tests/dkim/run.sh BUILDDIR [--engine builtin|libopendkim] [CASE...]
# Uses Debian's /usr/bin/python3 (python3-dkim, python3-dnslib, python3-nacl)
# and unbound; the optional vectors come from $SENDERCHECK_TESTDATA.
# Under --enable-sanitizers builds, LSan reads lsan.supp.
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILDDIR [CASE...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS
exec /usr/bin/python3 "$here/test_vectors.py" "$@"
