#!/bin/bash
# run.sh BUILDDIR [bench.py options]: the body of `make bench`.
# Needs root (OpenDMARC gets its own resolv.conf in a private mount
# namespace; peak RSS is reset through /proc/PID/clear_refs), opendkim,
# opendmarc and unbound (./dev.sh bench installs them). Prints one table,
# the ratios and the targets; everything runs in a temporary directory that
# is removed at the end. BENCH_OPTS adds options (e.g. "--runs 1").
# Then bench/fleet.py (SharedState + PostgreSQL vs the local defaults;
# redis-server and postgresql); BENCH_ONLY=main or BENCH_ONLY=fleet runs one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILDDIR}
shift
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (mount namespace for OpenDMARC, /proc/PID/clear_refs)" >&2
	exit 1
fi
for p in /usr/sbin/opendkim /usr/sbin/opendmarc /usr/sbin/unbound; do
	[ -x "$p" ] || { echo "bench: $p missing: run ./dev.sh bench" >&2; exit 1; }
done
if [ "${BENCH_ONLY:-}" != fleet ]; then
	/usr/bin/python3 "$here/bench.py" --builddir "$build" ${BENCH_OPTS:-} "$@"
fi
# the fleet's backends (Redis, PostgreSQL) against the local defaults
if [ "${BENCH_ONLY:-}" != main ]; then
	/usr/bin/python3 "$here/fleet.py" --builddir "$build" ${FLEET_BENCH_OPTS:-}
fi
