#!/bin/sh
# Runs a live DNS test: starts tests/lib/rogue_dns.py (with a blackhole
# server) on free loopback ports, runs test_dns_live (or the test given,
# e.g. test_engine_live) against it, stops the servers and exits with the
# test's status.
#   usage: run_dns_live.sh [PATH/TO/test_dns_live]
# Default binary: tests/unit/test_dns_live under the current directory
# (the build directory).
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-./tests/unit/test_dns_live}
py=/usr/bin/python3

if [ ! -x "$bin" ]; then
	echo "run_dns_live: no test binary at $bin (build with make check)" >&2
	exit 2
fi
tmp=$(mktemp -d) || exit 2
"$py" "$srcdir/tests/lib/rogue_dns.py" --blackhole >"$tmp/ready" 2>"$tmp/log" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

i=0
while [ ! -s "$tmp/ready" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "run_dns_live: rogue_dns.py did not start:" >&2
		cat "$tmp/log" >&2
		exit 2
	fi
	sleep 0.1
done
line=$(head -n 1 "$tmp/ready")
for kv in $line; do
	case $kv in
	ROGUE=*)	SC_TEST_DNS=${kv#ROGUE=} ;;
	ROGUE6=*)	SC_TEST_DNS6=${kv#ROGUE6=} ;;
	BLACKHOLE=*)	SC_TEST_BLACKHOLE=${kv#BLACKHOLE=} ;;
	esac
done
[ -n "$SC_TEST_DNS6" ] || echo "run_dns_live: ::1 not usable, IPv6 case will be skipped" >&2
export SC_TEST_DNS SC_TEST_DNS6 SC_TEST_BLACKHOLE
echo "run_dns_live: SC_TEST_DNS=$SC_TEST_DNS SC_TEST_DNS6=$SC_TEST_DNS6 SC_TEST_BLACKHOLE=$SC_TEST_BLACKHOLE"
"$bin"
rc=$?
if [ -s "$tmp/log" ]; then
	echo "run_dns_live: rogue_dns.py said:" >&2
	cat "$tmp/log" >&2
fi
exit $rc
