/* Unit tests of options.c: defaults, parsing, errors with FILE:LINE, and
 * the sample config documenting every option of the table. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "spf.h"

static int
load(struct sc_config *c, const char *text, struct sbuf *errs)
{
	sbuf_init(errs, 1 << 16);
	return config_load_string(c, "t.conf", text, errs);
}

static void
test_defaults(void **state)
{
	struct sc_config c;
	struct sbuf e;

	(void)state;
	assert_int_equal(load(&c, "", &e), 0);
	assert_string_equal(c.socket, "inet:8894@127.0.0.1");
	assert_int_equal(c.dns_timeout_ms, 8000);
	assert_int_equal(c.n_nameservers, 0);
	assert_int_equal(c.on_spf_fail, ACT_ACCEPT);
	assert_int_equal(c.on_dns_error, ACT_ACCEPT);
	assert_int_equal(c.max_signatures, 5);
	assert_int_equal(c.internal_hosts.n, 2);
	assert_true(c.authserv_id[0] != '\0');	/* the host name */
	config_free(&c);
	sbuf_free(&e);
}

static void
test_values(void **state)
{
	struct sc_config c;
	struct sbuf e;
	const char *text =
	    "# comment\n"
	    "Socket unix:/run/sc.sock   # trailing comment\n"
	    "authservid mx.example.net\n"
	    "Nameservers 127.0.0.1:5353 [::1]:53 192.0.2.1\n"
	    "DNSTimeout 2.5\n"
	    "InternalHosts none\n"
	    "On-SPFFail reject\n"
	    "On-DNSError tempfail\n"
	    "AddReceivedSPF yes\n"
	    "  MaxSignatures\t3\n";

	(void)state;
	assert_int_equal(load(&c, text, &e), 0);
	assert_string_equal(c.socket, "unix:/run/sc.sock");
	assert_string_equal(c.authserv_id, "mx.example.net");
	assert_int_equal(c.n_nameservers, 3);
	assert_int_equal(c.dns_timeout_ms, 2500);
	assert_int_equal(c.internal_hosts.n, 0);
	assert_int_equal(c.on_spf_fail, ACT_REJECT);
	assert_int_equal(c.on_dns_error, ACT_TEMPFAIL);
	assert_int_equal(c.add_received_spf, 1);
	assert_int_equal(c.max_signatures, 3);
	config_free(&c);
	sbuf_free(&e);
}

static void
test_errors_name_file_and_line(void **state)
{
	struct sc_config c;
	struct sbuf e;
	const char *text =
	    "Socket inet:99999@localhost\n"	/* 1: bad port */
	    "Bogus 1\n"				/* 2: unknown */
	    "On-SPFFail maybe\n"		/* 3: bad action */
	    "DNSTimeout -1\n"			/* 4: bad seconds */
	    "Nameservers 300.1.1.1\n"		/* 5: bad address */
	    "On-SPFFail reject\n"		/* 6: repeated */
	    "MaxSignatures 0\n"			/* 7: out of range */
	    "Syslog perhaps\n"			/* 8: bad bool */
	    "InternalHosts 10.0.0.1/8\n"	/* 9: host bits */
	    "DNSCacheSize nan\n";		/* 10: not a number */

	(void)state;
	assert_int_equal(load(&c, text, &e), 10);
	assert_non_null(strstr(e.s, "t.conf:1: Socket:"));
	assert_non_null(strstr(e.s, "t.conf:2: unknown option 'Bogus'"));
	assert_non_null(strstr(e.s, "t.conf:3: On-SPFFail: 'maybe' is not one of"));
	assert_non_null(strstr(e.s, "t.conf:4: DNSTimeout:"));
	assert_non_null(strstr(e.s, "t.conf:5: Nameservers:"));
	assert_non_null(strstr(e.s, "t.conf:6: On-SPFFail given again (first on line 3)"));
	assert_non_null(strstr(e.s, "t.conf:7: MaxSignatures:"));
	assert_non_null(strstr(e.s, "t.conf:8: Syslog:"));
	assert_non_null(strstr(e.s, "t.conf:9: InternalHosts:"));
	config_free(&c);
	sbuf_free(&e);
}

static void
test_dns_timeout_bounds(void **state)
{
	static const char *const bad[] = { "nan", "0", "0.0001", "1e-9", "601", "-1", "5s", "" };
	struct sc_config c;
	struct sbuf e;
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "DNSTimeout %s\n", bad[i]);
		assert_int_equal(load(&c, line, &e), 1);
		config_free(&c);
		sbuf_free(&e);
	}
	assert_int_equal(load(&c, "DNSTimeout 0.001\n", &e), 0);
	assert_int_equal(c.dns_timeout_ms, 1);
	config_free(&c);
	sbuf_free(&e);
}

static void
test_missing_file(void **state)
{
	struct sc_config c;
	struct sbuf e;

	(void)state;
	sbuf_init(&e, 4096);
	assert_int_equal(config_load(&c, "/nonexistent/sc.conf", &e), 1);
	/* the file and errno's text, never a stale errno ("Success") */
	assert_non_null(strstr(e.s, "/nonexistent/sc.conf: cannot open: No such file or directory"));
	config_free(&c);
	sbuf_free(&e);
}

/* Only a regular file is a config file: a directory, a FIFO or a device is
 * an error that names the file, and reading never waits or runs past the
 * 1 MiB cap. */
static void
test_not_a_regular_file(void **state)
{
	static const char *const paths[] = { "/tmp", "/dev/zero", "/dev/null" };
	char fifo[64] = "/tmp/sc-config-fifo-XXXXXX";
	struct sc_config c;
	struct sbuf e;
	char want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		sbuf_init(&e, 4096);
		assert_int_equal(config_load(&c, paths[i], &e), 1);
		snprintf(want, sizeof(want), "%s: not a regular file (", paths[i]);
		if (strstr(e.s, want) == NULL)
			fail_msg("%s: %s", paths[i], e.s);
		config_free(&c);
		sbuf_free(&e);
	}
	assert_non_null(mkdtemp(fifo));
	strcat(fifo, "/f");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	sbuf_init(&e, 4096);
	assert_int_equal(config_load(&c, fifo, &e), 1);	/* no writer: must not wait */
	assert_non_null(strstr(e.s, "not a regular file (a FIFO)"));
	config_free(&c);
	sbuf_free(&e);
	unlink(fifo);
	*strrchr(fifo, '/') = '\0';
	rmdir(fifo);
}

/* A regular file over the cap is refused after reading 1 MiB, not all of it. */
static void
test_file_over_cap(void **state)
{
	char path[] = "/tmp/sc-config-big-XXXXXX";
	int fd = mkstemp(path);
	struct sc_config c;
	struct sbuf e;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)1 << 40), 0);	/* sparse: 1 TiB of NULs */
	close(fd);
	sbuf_init(&e, 4096);
	assert_int_equal(config_load(&c, path, &e), 1);
	assert_non_null(strstr(e.s, "not a text file of at most 1 MiB"));
	config_free(&c);
	sbuf_free(&e);
	unlink(path);
}

/* config_option_equal tells a reload which options changed. */
static void
test_option_equal(void **state)
{
	struct sc_config a, b;
	struct sbuf e;
	const char *changed[] = { "Socket", "Nameservers", "InternalHosts", "On-SPFFail", "Profiles",
		"DNSTimeout", "MilterMaxSessions", "LogLevel" };

	(void)state;
	assert_int_equal(load(&a, "", &e), 0);
	sbuf_free(&e);
	assert_int_equal(load(&b, "Socket unix:/run/x.sock\nNameservers 127.0.0.1:53\n"
	    "InternalHosts 10.0.0.0/8\nOn-SPFFail reject\nProfiles google\nDNSTimeout 3\n"
	    "MilterMaxSessions 7\nLogLevel debug\n", &e), 0);
	sbuf_free(&e);
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];
		int want = 1;

		for (size_t k = 0; k < sizeof(changed) / sizeof(changed[0]); k++)
			if (strcmp(o->name, changed[k]) == 0)
				want = 0;
		if (config_option_equal(o, &a, &b) != want)
			fail_msg("%s: equal should be %d", o->name, want);
		assert_true(config_option_equal(o, &a, &a));
	}
	config_free(&a);
	config_free(&b);
}

static void
test_bad_authserv_id(void **state)
{
	struct sc_config c;
	struct sbuf e;

	(void)state;
	assert_int_equal(load(&c, "AuthservID a;b\n", &e), 1);
	assert_non_null(strstr(e.s, "AuthservID"));
	config_free(&c);
	sbuf_free(&e);
	assert_int_equal(load(&c, "AuthservID mx(1).example\n", &e), 1);
	config_free(&c);
	sbuf_free(&e);
	assert_int_equal(load(&c, "AuthservID mx-1.example_2.net\n", &e), 0);
	config_free(&c);
	sbuf_free(&e);
}

/* The sample file documents every option with the table's doc and default,
 * and loads cleanly as it is. */
static void
test_sample_documents_every_option(void **state)
{
	const char *path = SRCDIR "/conf/sendercheck.conf";
	struct sc_config c;
	struct sbuf e, text;
	char buf[4096], line[1024];
	size_t n;
	FILE *f = fopen(path, "r");

	(void)state;
	assert_non_null(f);
	sbuf_init(&text, 1 << 20);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&text, buf, n);
	fclose(f);
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];

		snprintf(line, sizeof(line), "## %s: %s\n## Default: %s\n%s", o->name, o->doc,
		    o->def[0] ? o->def : "(empty)",
		    (o->flags & OPTF_RESTART) ? "## Changes take effect at restart, not at reload.\n" : "#");
		if (strstr(text.s, line) == NULL)
			fail_msg("%s does not document %s as the table does:\n%s", path, o->name, line);
	}
	sbuf_init(&e, 1 << 16);
	assert_int_equal(config_load(&c, path, &e), 0);
	config_free(&c);
	sbuf_free(&e);
	sbuf_free(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_dns_timeout_bounds),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_file_over_cap),
		cmocka_unit_test(test_option_equal),
		cmocka_unit_test(test_bad_authserv_id),
		cmocka_unit_test(test_sample_documents_every_option),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
