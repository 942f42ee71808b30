#!/bin/bash
# dev.sh: the two Quick start commands of the README.
#   ./dev.sh run    install build deps, build, start the milter with conf/sendercheck.conf
#   ./dev.sh test   install build + test deps, build plain, with ASan/UBSan and with TSan,
#                   run every test
#   ./dev.sh bench  install build + bench deps, build, run make bench (not a test)
# Run as root on Debian 12 (packages come from apt).
set -eu
cd "$(dirname "$0")"
top=$(pwd)

BUILD_DEPS="build-essential autoconf automake libtool pkg-config libmilter-dev libspf2-dev
  libopendkim-dev libpsl-dev publicsuffix libidn2-dev libcmocka-dev libsqlite3-dev libmicrohttpd-dev
  libsystemd-dev libhiredis-dev libpq-dev"
# libcrypto (OpenSSL 3): the builtin DKIM verifier and ARC
BUILD_DEPS="$BUILD_DEPS libssl-dev"
# libsodium: their Ed25519 signature checks (2.2 times faster than OpenSSL 3.0's)
BUILD_DEPS="$BUILD_DEPS libsodium-dev"
# sendercheck-reports: libxml2 writes the DMARC aggregate reports, zlib gzips them
BUILD_DEPS="$BUILD_DEPS libxml2-dev zlib1g-dev"
# libcurl: sendercheck-reports hands report mail to ReportSMTP HOST:PORT
BUILD_DEPS="$BUILD_DEPS libcurl4-openssl-dev"
TEST_DEPS="miltertest unbound openssl python3 python3-dkim python3-authres python3-dnslib
  python3-spf python3-dnspython python3-yaml python3-nacl libmail-authenticationresults-perl clang
  postfix swaks libnet-ssleay-perl opendkim opendkim-tools chromium prometheus
  mandoc man-db systemd util-linux debhelper dpkg-dev lintian adduser
  libwrap0 liblockfile1 libldap-2.5-0 libsasl2-2 libnsl2 libdb5.3"
# the reports group: xmllint validates the reports against RFC 9990's
# schema, Mail::DMARC parses them as a receiver of reports would
TEST_DEPS="$TEST_DEPS libxml2-utils libmail-dmarc-perl"
# the fleet group's servers, started by the tests on loopback ports
TEST_DEPS="$TEST_DEPS redis-server postgresql"
# the bench-insns group: bench/insns.py's system call table (strace -c)
TEST_DEPS="$TEST_DEPS strace"
BENCH_DEPS="opendkim opendmarc rspamd unbound python3 python3-dkim python3-nacl python3-dnslib openssl
  publicsuffix linux-perf valgrind strace"
# bench/fleet.py: the fleet's backends
BENCH_DEPS="$BENCH_DEPS redis-server postgresql"

apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "dev.sh: installing ${missing[*]}"
	# Test servers (unbound, ...) are started by the tests on loopback ports:
	# keep the packages' own services from starting system-wide.
	local guard=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		guard=1
	fi
	# postfix asks what kind of mail system to set up; the tests run their
	# own instance from a temporary config directory, so the system one
	# gets "No configuration" (no /etc/postfix/main.cf, nothing started).
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
	return 0
}

build() {	# build DIR [configure args]
	local dir=$1 t0=$SECONDS; shift
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } && make -s -j"$(nproc)" && make -s -j"$(nproc)" check TESTS=) >/dev/null
	echo "dev.sh: built $(basename "$dir") in $((SECONDS - t0)) s"
}

case "${1:-}" in
run)
	apt_install $BUILD_DEPS
	build "$top/build"
	# the sample config runs it as its own user (UserID sendercheck)
	getent passwd sendercheck >/dev/null || useradd --system --user-group --home-dir /var/lib/sendercheck \
		--no-create-home --shell /usr/sbin/nologin sendercheck
	echo "dev.sh: starting sendercheck with conf/sendercheck.conf (logs to syslog; -f to stay in front)"
	"$top/build/milter/sendercheck" -c "$top/conf/sendercheck.conf"
	sleep 0.5
	pgrep -x sendercheck >/dev/null && echo "dev.sh: sendercheck is running" ;;
test)
	apt_install $BUILD_DEPS $TEST_DEPS
	build "$top/build"
	build "$top/build-asan" --enable-sanitizers
	build "$top/build-tsan" --enable-tsan
	# optional third-party test data, next to the clone (README: Tests)
	export SENDERCHECK_TESTDATA="${SENDERCHECK_TESTDATA-$top/../shared/testdata}"
	exec "$top/tests/run-all.sh" "$top/build" "$top/build-asan" --tsan "$top/build-tsan" ;;
bench)	# make bench: sendercheck vs OpenDKIM / OpenDMARC / a do-nothing filter
	apt_install $BUILD_DEPS $BENCH_DEPS
	build "$top/build"
	exec make -s -C "$top/build" bench ;;
*)
	echo "usage: ./dev.sh run|test|bench" >&2
	exit 2 ;;
esac
