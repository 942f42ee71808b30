/*
 * Unit tests of the builtin DKIM verifier's pieces: tag lists, base64,
 * dkim-quoted-printable (dkim_tags.c), canonicalisation (dkim_canon.c,
 * RFC 6376 3.4.5's example, bodies cut into every pair of chunks and
 * bodies full of edge cases cut anywhere against a plain reference),
 * key records and signature checks against keys made and signatures made
 * by OpenSSL at test time (dkim_key.c) and the h= list of a result (dkim.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "dkim_tags.h"

#include "../lib/canon_ref.h"

static void
test_tags(void **state)
{
	struct dkim_tags t;
	char why[160];
	const char *s = " v=1; a = rsa-sha256 ;\r\n\tb=AB CD\r\n EF; h=from:to ;z=;";
	const struct dkim_tag *b;

	(void)state;
	assert_int_equal(dkim_tags_parse(s, strlen(s), &t, why, sizeof why), 0);
	assert_int_equal(t.n, 5);
	assert_true(dkim_tag_is(dkim_tags_get(&t, "a"), "rsa-sha256", 0));
	assert_true(dkim_tag_is(dkim_tags_get(&t, "z"), "", 0));
	b = dkim_tags_get(&t, "b");
	assert_non_null(b);
	assert_int_equal(b->value_len, strlen("AB CD\r\n EF"));
	assert_memory_equal(s + b->raw_start, "AB CD\r\n EF", 10);
	assert_int_equal(s[b->raw_end], ';');
	assert_null(dkim_tags_get(&t, "A"));	/* names are case-sensitive */

	/* errors: a name twice, an empty tag, no '=', a control byte, a bad name */
	static const char *const bad[] = { "a=1; a=2", "a=1;;b=2", "a=1; b", "a=x\001y",
		"1a=2", "a=1; =2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		assert_int_equal(dkim_tags_parse(bad[i], strlen(bad[i]), &t, why, sizeof why), -1);
		assert_non_null(strstr(why, "tag syntax"));
	}
	assert_int_equal(dkim_tags_parse("", 0, &t, why, sizeof why), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(dkim_tags_parse("a=\xc3\xa9", 4, &t, why, sizeof why), 0);	/* RFC 8616 */
}

/* dkim_tags_shape: upper bounds on what a lenient parser (libopendkim) keeps */
static void
test_tags_shape(void **state)
{
	static const struct {
		const char *text;
		size_t tags, h_names;
	} cases[] = {
		{ "", 0, 0 },
		{ " ;\t; ", 0, 0 },
		{ "v=1; h=from:to:subject; b=x;", 3, 3 },
		{ "h=", 1, 1 },
		{ " h \r\n\t= a : b ::", 1, 4 },	/* folds and spaces around */
		{ "H=a:b; h=a", 2, 2 },			/* the longest of h and H */
		{ "hh=a:b:c; xh=a:b", 2, 0 },		/* not named h */
		{ "h h=a:b", 1, 0 },			/* a name with a space inside */
		{ "\vh=a:b", 1, 2 },			/* isspace, as libopendkim */
		{ "z=From:a|To:b; h=from", 2, 1 },	/* ':' of other tags */
		{ "x0=;x1=;x2=;;x3=", 4, 0 },
		{ "junk without an equals sign", 1, 0 },
	};
	struct dkim_tags_shape sh;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		dkim_tags_shape(cases[i].text, strlen(cases[i].text), &sh);
		assert_int_equal(sh.tags, cases[i].tags);
		assert_int_equal(sh.h_names, cases[i].h_names);
	}
}

static void
test_base64(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(dkim_b64_decode("aGVsbG8=", 8, out, sizeof out), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(dkim_b64_decode("aGVs\r\n bG8", 10, out, sizeof out), 5);	/* folded, no padding */
	assert_int_equal(dkim_b64_decode("aGVsbA==", 8, out, sizeof out), 4);
	assert_int_equal(dkim_b64_decode("aGVsbA=", 7, out, sizeof out), 4);	/* short padding */
	assert_int_equal(dkim_b64_decode("aGVsbG8==", 9, out, sizeof out), 5);
	assert_int_equal(dkim_b64_decode("aGVsbG8=x", 9, out, sizeof out), -1);	/* data after '=' */
	assert_int_equal(dkim_b64_decode("aGVsb", 5, out, sizeof out), -1);	/* 4n+1 */
	assert_int_equal(dkim_b64_decode("aGVsbG9=", 8, out, sizeof out), -1);	/* bits left over */
	assert_int_equal(dkim_b64_decode("aGVs!G8=", 8, out, sizeof out), -1);
	assert_int_equal(dkim_b64_decode("aGVsbG8=", 8, out, 4), -1);		/* does not fit */
	assert_int_equal(dkim_b64_decode(" ", 1, out, sizeof out), 0);
}

static void
test_qp(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(dkim_qp_decode_str("us=40er@ex.org", 14, out, sizeof out), 12);
	assert_string_equal(out, "us@er@ex.org");
	assert_int_equal(dkim_qp_decode_str("a=4", 3, out, sizeof out), -1);
	assert_int_equal(dkim_qp_decode_str("a=zz", 4, out, sizeof out), -1);
	assert_int_equal(dkim_qp_decode_str("abcdef", 6, out, 4), -1);
}

/* SHA-256 of bytes, as hex, for comparing with a canonical form. */
static void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned len = 0;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

static void
header_canon(enum dkim_canon c, const char *name, const char *value, size_t hs, size_t he,
    int crlf, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(dkim_canon_header(ctx, c, name, value, strlen(value), hs, he, crlf), 0);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, &len), 1);
	EVP_MD_CTX_free(ctx);
}

static void
body_canon(enum dkim_canon c, const char *body, size_t len, size_t cut, int limited,
    unsigned long long limit, unsigned char out[32], unsigned long long *total)
{
	struct dkim_body b;

	assert_int_equal(dkim_body_init(&b, c, EVP_sha256(), limited, limit), 0);
	dkim_body_update(&b, (const unsigned char *)body, cut);
	dkim_body_update(&b, (const unsigned char *)body + cut, len - cut);
	assert_int_equal(dkim_body_final(&b), 0);
	memcpy(out, b.digest, 32);
	if (total != NULL)
		*total = b.total;
	dkim_body_free(&b);
}

/* RFC 6376 3.4.5, and the same body cut at every place. */
static void
test_rfc6376_example(void **state)
{
	unsigned char got[32], want[32];
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	const char *relaxed = " C\r\nD E\r\n", *simple = " C \r\nD \t E\r\n";

	(void)state;
	header_canon(CANON_RELAXED, "A", " X", 0, 0, 1, got);
	sha256("a:X\r\n", 5, want);
	assert_memory_equal(got, want, 32);
	header_canon(CANON_RELAXED, "B ", " Y\t\r\n\tZ  ", 0, 0, 1, got);
	sha256("b:Y Z\r\n", 7, want);
	assert_memory_equal(got, want, 32);
	header_canon(CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ", 0, 0, 1, got);
	sha256("B : Y\t\r\n\tZ  \r\n", 14, want);
	assert_memory_equal(got, want, 32);
	/* the b= hole, no final CRLF (the signature's own field) */
	header_canon(CANON_RELAXED, "DKIM-Signature", " a=1; b=xyz ; c=2", 8, 12, 0, got);
	sha256("dkim-signature:a=1; b=; c=2", 27, want);
	assert_memory_equal(got, want, 32);
	for (size_t cut = 0; cut <= strlen(body); cut++) {
		body_canon(CANON_RELAXED, body, strlen(body), cut, 0, 0, got, NULL);
		sha256(relaxed, strlen(relaxed), want);
		assert_memory_equal(got, want, 32);
		body_canon(CANON_SIMPLE, body, strlen(body), cut, 0, 0, got, NULL);
		sha256(simple, strlen(simple), want);
		assert_memory_equal(got, want, 32);
	}
}

static void
test_body_edges(void **state)
{
	static const struct {
		enum dkim_canon c;
		const char *in, *out;
	} cases[] = {
		{ CANON_SIMPLE, "", "\r\n" },			/* empty body: CRLF */
		{ CANON_RELAXED, "", "" },			/* empty stays empty */
		{ CANON_SIMPLE, "\r\n\r\n", "\r\n" },
		{ CANON_RELAXED, " \r\n\t\r\n", "" },		/* only blank lines */
		{ CANON_SIMPLE, "abc", "abc\r\n" },		/* no final CRLF */
		{ CANON_RELAXED, "abc \t", "abc\r\n" },
		{ CANON_SIMPLE, "a\rb\nc\r\n", "a\rb\nc\r\n" },	/* bare CR, LF: bytes */
		{ CANON_RELAXED, "a \rb\r", "a \rb\r\r\n" },
		{ CANON_RELAXED, "\r\n x  y \r\n\r\nz\r\n\r\n", "\r\n x y\r\n\r\nz\r\n" },
	};
	unsigned char got[32], want[32];
	unsigned long long total;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].in);

		sha256(cases[i].out, strlen(cases[i].out), want);
		for (size_t cut = 0; cut <= len; cut++) {
			body_canon(cases[i].c, cases[i].in, len, cut, 0, 0, got, &total);
			assert_memory_equal(got, want, 32);
			assert_int_equal(total, strlen(cases[i].out));
		}
	}
	/* l=: only the first bytes are hashed, all are counted */
	body_canon(CANON_SIMPLE, "hello\r\nworld\r\n", 14, 3, 1, 7, got, &total);
	sha256("hello\r\n", 7, want);
	assert_memory_equal(got, want, 32);
	assert_int_equal(total, 14);
}

/* Relaxed body canonicalization the plain way (RFC 6376 3.4.4) for a body
 * of letters, SP, HTAB and CRLF only: WSP runs one SP, none at line ends,
 * no empty lines at the end, a CRLF after the last line. */
static size_t
relaxed_reference(const char *in, size_t len, char *out)
{
	size_t n = 0, kept = 0;
	int wsp = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			wsp = 0;
			i++;
			continue;
		}
		if (in[i] == ' ' || in[i] == '\t') {
			wsp = 1;
			continue;
		}
		if (wsp)
			out[n++] = ' ';
		wsp = 0;
		out[n++] = in[i];
		kept = n;	/* content: the lines up to here stay */
	}
	if (kept == 0)
		return 0;
	n = kept;
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

/* Long lines and white space across the 2048-byte hash buffer, fed in
 * pieces of every awkward size, against the plain way. */
static void
test_body_relaxed_long(void **state)
{
	static const size_t pieces[] = { 1, 3, 7, 2047, 2048, 2049, 5000, 1 << 20 };
	size_t cap = 64 * 1024, len = 0, wlen = 1, i;
	char *in = malloc(cap), *ref = malloc(cap * 2 + 2);
	unsigned char want[32];
	unsigned seed = 7;

	(void)state;
	assert_non_null(in);
	assert_non_null(ref);
	while (len + 3100 < cap) {
		seed = seed * 1103515245u + 12345u;
		/* words of 1 to ~3000 letters, WSP runs of 1-3, some line ends */
		wlen = (seed >> 8) % 7 == 0 ? 1 + (seed >> 4) % 3000 : 1 + (seed >> 4) % 9;
		for (i = 0; i < wlen; i++, len++)
			in[len] = (char)('a' + len % 26);
		for (i = 0; i < 1 + (seed >> 12) % 3; i++)
			in[len++] = (seed >> (16 + i)) & 1 ? ' ' : '\t';
		if ((seed >> 20) % 5 == 0) {
			in[len++] = '\r';
			in[len++] = '\n';
			if ((seed >> 24) % 3 == 0) {
				in[len++] = '\r';
				in[len++] = '\n';
			}
		}
	}
	memcpy(in + len, " \t\r\n\r\n", 6);
	len += 6;
	sha256(ref, relaxed_reference(in, len, ref), want);
	for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
		struct dkim_body b;

		assert_int_equal(dkim_body_init(&b, CANON_RELAXED, EVP_sha256(), 0, 0), 0);
		for (size_t off = 0; off < len; off += pieces[k])
			dkim_body_update(&b, (const unsigned char *)in + off,
			    len - off < pieces[k] ? len - off : pieces[k]);
		assert_int_equal(dkim_body_final(&b), 0);
		assert_memory_equal(b.digest, want, 32);
		assert_int_equal(b.total, relaxed_reference(in, len, ref));
		dkim_body_free(&b);
	}
	free(in);
	free(ref);
}

/* Feeds body in the chunks whose ends are cuts[0..ncuts) (ascending), with
 * l= limit when limited, and compares with canon_reference (canon_ref.h). */
static void
body_vs_reference(enum dkim_canon c, const char *body, size_t len, const size_t *cuts,
    size_t ncuts, int limited, unsigned long long limit, char *ref)
{
	size_t rlen = canon_reference(c, body, len, ref), off = 0;
	size_t hashed = limited && limit < rlen ? (size_t)limit : rlen;
	unsigned char want[32];
	struct dkim_body b;

	sha256(ref, hashed, want);
	assert_int_equal(dkim_body_init(&b, c, EVP_sha256(), limited, limit), 0);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		/* each chunk in a buffer of its own size: ASan sees a read past it */
		unsigned char *chunk = malloc(to > off ? to - off : 1);

		assert_non_null(chunk);
		memcpy(chunk, body + off, to - off);
		dkim_body_update(&b, chunk, to - off);
		free(chunk);
		off = to;
	}
	assert_int_equal(dkim_body_final(&b), 0);
	if (memcmp(b.digest, want, 32) != 0 || b.total != rlen || b.hashed != hashed) {
		print_error("%s body of %zu bytes, %zu cuts (first %zu), l=%llu%s: "
		    "total %llu hashed %llu, want %zu %zu\n", c == CANON_SIMPLE ? "simple" :
		    "relaxed", len, ncuts, ncuts ? cuts[0] : 0, limit, limited ? "" : " (none)",
		    b.total, b.hashed, rlen, hashed);
		fail();
	}
	dkim_body_free(&b);
}

/* A random body of len bytes from the bytes canonicalization minds: runs
 * of ordinary bytes, SP and HTAB runs, CRLF, empty lines, bare CR and LF. */
static void
random_body(unsigned *seed, char *out, size_t len)
{
	static const char *const pieces[] = { "a", "word", " ", "\t", "  ", " \t ", "\r\n",
	    "\r\n\r\n", "\r", "\n", " \r\n", "\t\r\n\r\n", "\r\r\n", "\n\r", "x y",
	    "0123456789abcdefghijklmnopqrstuvwxyz" };
	size_t n = 0;

	while (n < len) {
		const char *p;

		*seed = *seed * 1103515245u + 12345u;
		p = pieces[(*seed >> 16) % (sizeof pieces / sizeof pieces[0])];
		for (; *p != '\0' && n < len; p++)
			out[n++] = *p;
	}
}

/*
 * The streaming contract: the same body cut at every place (and at every
 * pair of places for short bodies, and at random places into many chunks
 * for long ones), for both canonicalizations, with and without l= (cutting
 * anywhere, inside runs too), hashes as the plain reference does. The
 * bodies are full of edge cases: bare CR and LF, WSP runs at the ends of
 * lines and of chunks, trailing empty lines, no final CRLF.
 */
static void
test_body_splits(void **state)
{
	static const char *const fixed[] = {
		"", "\r\n", "\r\n\r\n\r\n", "\r", "\n", "\r\r\n", "\n\r\n", " ", "\t \t",
		" \r\n \r\n\t\r\n", "a", "a ", "a \t", "a\r\n \r\n", "a  b\t\tc \t\r\n",
		"a \rb\r", "a \nb\n", " lead\r\n\t\tindented  \r\n\r\n", "x\r\n\r\n\r\ny\r\n\r\n",
		"end without crlf  ", "cr at end\r", "\r\n\r\nlate start\r\n\r\n",
		"0123456789abcdef0123456789abcdef  x\t\ty \r\n", "a b c d e f g h i j k l m n o p q r",
		"sixteen bytes...\r\nsixteen bytes...\r\n\r\n", "               \r\n               x",
		"\r\r\r\n\n\n\r\n \r \n \r\n",
	};
	static const enum dkim_canon canons[] = { CANON_SIMPLE, CANON_RELAXED };
	size_t cap = 70000, cuts[64];
	char *body = malloc(cap), *ref = malloc(2 * cap + 2);
	unsigned seed = 1;

	(void)state;
	assert_non_null(body);
	assert_non_null(ref);
	for (size_t k = 0; k < 2; k++) {
		enum dkim_canon c = canons[k];

		for (size_t f = 0; f < sizeof fixed / sizeof fixed[0] + 40; f++) {
			size_t len;

			if (f < sizeof fixed / sizeof fixed[0]) {
				len = strlen(fixed[f]);
				memcpy(body, fixed[f], len);
			} else {
				seed = seed * 1103515245u + 12345u;
				len = (seed >> 16) % 48;
				random_body(&seed, body, len);
			}
			/* every cut, every pair of cuts; l= at every length */
			body_vs_reference(c, body, len, NULL, 0, 0, 0, ref);
			for (size_t i = 0; i <= len; i++) {
				cuts[0] = i;
				body_vs_reference(c, body, len, cuts, 1, 0, 0, ref);
				for (size_t j = i; j <= len; j++) {
					cuts[1] = j;
					body_vs_reference(c, body, len, cuts, 2, 0, 0, ref);
				}
				for (unsigned long long l = 0; l <= 2 * len + 2; l++)
					body_vs_reference(c, body, len, cuts, 1, 1, l, ref);
			}
		}
		/* long bodies: random chunks of 0 to ~3000 bytes, random l= */
		for (int r = 0; r < 60; r++) {
			size_t len, ncuts = 0, rlen;

			seed = seed * 1103515245u + 12345u;
			len = r == 0 ? cap : (seed >> 8) % cap;
			random_body(&seed, body, len);
			for (size_t at = 0; ncuts < sizeof cuts / sizeof cuts[0]; ncuts++) {
				seed = seed * 1103515245u + 12345u;
				at += (seed >> 16) % 4 == 0 ? (seed >> 8) % 3 : (seed >> 8) % 3000;
				if (at > len)
					break;
				cuts[ncuts] = at;
			}
			body_vs_reference(c, body, len, cuts, ncuts, 0, 0, ref);
			rlen = canon_reference(c, body, len, ref);
			body_vs_reference(c, body, len, cuts, ncuts, 1, (seed >> 4) % (rlen + 1), ref);
		}
	}
	free(body);
	free(ref);
}

/* One hash per (canonicalization, hash, l=) in a list, taken before the
 * body begins: what DKIM, ARC and the seal share, fed once. */
static void
test_bodies_shared(void **state)
{
	struct dkim_bodies l = { .n = 0 };
	struct dkim_body *r = dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 0, 0);
	unsigned char want[32];

	(void)state;
	assert_non_null(r);
	assert_ptr_equal(dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 0, 0), r);
	assert_ptr_not_equal(dkim_bodies_get(&l, CANON_SIMPLE, EVP_sha256(), 0, 0), r);
	assert_ptr_not_equal(dkim_bodies_get(&l, CANON_RELAXED, EVP_sha1(), 0, 0), r);
	assert_ptr_not_equal(dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 1, 3), r);
	assert_ptr_equal(dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 1, 3),
	    dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 1, 3));
	assert_int_equal(l.n, 4);
	dkim_bodies_update(&l, (const unsigned char *)"a  b \r\n", 7);
	/* too late for a new hash: it would miss the bytes fed */
	assert_null(dkim_bodies_get(&l, CANON_SIMPLE, EVP_sha1(), 0, 0));
	assert_ptr_equal(dkim_bodies_get(&l, CANON_RELAXED, EVP_sha256(), 0, 0), r);
	dkim_bodies_final(&l);
	sha256("a b\r\n", 5, want);
	assert_memory_equal(r->digest, want, 32);
	assert_int_equal(l.v[3]->hashed, 3);
	dkim_bodies_free(&l);
	assert_int_equal(l.n, 0);
}

/* The fields h= names (RFC 6376 5.4.2): for each name the bottom-most
 * field not taken yet, whatever the case and the white space before the
 * colon; a name with none left, or absent, adds nothing; the signature's
 * own field never counts; then own, without its CRLF. */
static void
test_header_digest(void **state)
{
	static const char *const f[][2] = {
		{ "Received", " 1" }, { "From", " a@example.com" }, { "X", "  y  z " },
		{ "DKIM-Signature", " v=1; h=x" }, { "received ", " 2" }, { "RECEIVED", "\t3" },
	};
	const char *h = "from : Received:received: x :absent:received:received:dkim-signature:from";
	const char *want = "from:a@example.com\r\nreceived:3\r\nreceived:2\r\nx:y z\r\n"
	    "received:1\r\ndkim-signature:v=1; h=x";
	struct dkim_field fields[6];
	unsigned char got[EVP_MAX_MD_SIZE], exp[32];
	unsigned len = 0;

	(void)state;
	for (size_t i = 0; i < 6; i++)
		dkim_field_set(&fields[i], f[i][0], f[i][1], strlen(f[i][1]));
	assert_int_equal(dkim_header_digest(fields, 6, &fields[3], h, strlen(h), 0, 0,
	    CANON_RELAXED, EVP_sha256(), got, &len), 0);
	sha256(want, strlen(want), exp);
	assert_int_equal(len, 32);
	assert_memory_equal(got, exp, 32);
	/* no fields but own; an empty h= */
	assert_int_equal(dkim_header_digest(fields + 3, 1, &fields[3], "", 0, 0, 0,
	    CANON_RELAXED, EVP_sha256(), got, &len), 0);
	sha256("dkim-signature:v=1; h=x", 23, exp);
	assert_memory_equal(got, exp, 32);
}

static void
test_key_records(void **state)
{
	/* RFC 8463 Appendix A's ed25519 key */
	const char *ed = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	static const struct {
		const char *rec;
		enum dkim_alg alg;
		const char *why;	/* NULL: pass */
	} cases[] = {
		{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, NULL },
		{ "k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, NULL },
		{ "v=DKIM2; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, "unknown key version" },
		{ "v=DKIM1; k=ed25519; p=", DKIM_ALG_ED25519_SHA256, "key revoked (empty p=)" },
		{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_RSA_SHA256, "inappropriate key algorithm" },
		{ "v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, "signature-key hash mismatch" },
		{ "v=DKIM1; k=ed25519; h=md5; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, "unknown key hash" },
		{ "v=DKIM1; k=ed25519; s=tlsrpt; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_ALG_ED25519_SHA256, "not an e-mail key" },
		{ "v=DKIM1; k=dsa; p=AAAA", DKIM_ALG_RSA_SHA256, "unknown key type" },
		{ "v=DKIM1; k=ed25519", DKIM_ALG_ED25519_SHA256, "no p= tag" },
		{ "v=DKIM1; k=ed25519; p=!!", DKIM_ALG_ED25519_SHA256, "not base64" },
		{ "v=DKIM1; k=ed25519; p=AAAA", DKIM_ALG_ED25519_SHA256, "unable to apply" },
		{ "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", DKIM_ALG_RSA_SHA256,
		  "unable to apply" },	/* 32 raw bytes are no RSA key */
		{ "v=DKIM1;; p=AAAA", DKIM_ALG_RSA_SHA256, "key syntax" },
		{ "", DKIM_ALG_RSA_SHA256, "empty key record" },
	};
	struct dkim_key key;
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum dkim_res r;

		why[0] = '\0';
		r = dkim_key_parse(cases[i].rec, strlen(cases[i].rec), cases[i].alg, &key,
		    why, sizeof why);
		if (cases[i].why == NULL) {
			assert_int_equal(r, DKIM_RES_PASS);
			assert_true(key.ed25519);	/* every passing record here is ed25519 */
			assert_null(key.pkey);
			assert_int_equal(key.bits, 0);
			dkim_key_release(&key);
		} else {
			assert_int_equal(r, DKIM_RES_PERMERROR);
			assert_null(key.pkey);
			assert_false(key.ed25519);
			if (strstr(why, cases[i].why) == NULL)
				fail_msg("record %zu: '%s' lacks '%s'", i, why, cases[i].why);
		}
	}
	assert_int_equal(dkim_key_parse(ed + 0, strlen(ed), DKIM_ALG_ED25519_SHA256, &key, why,
	    sizeof why), DKIM_RES_PASS);
	assert_int_equal(key.testing, 0);
	dkim_key_release(&key);
	dkim_key_cache_clear();
}

/* ---- signature checks ---- */

/* "v=DKIM1; k=TYPE; p=BASE64(der)" into rec. */
static void
key_record(char *rec, size_t reclen, const char *type, const unsigned char *der, int len)
{
	int n = snprintf(rec, reclen, "v=DKIM1; k=%s; p=", type);

	assert_true(n > 0 && (size_t)n + 4 * ((size_t)len + 2) / 3 + 1 <= reclen);
	EVP_EncodeBlock((unsigned char *)rec + n, der, len);
}

static EVP_PKEY *
new_key(int type, int bits)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	if (bits > 0)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* PKCS#1 v1.5 signature of digest (made with md) into sig; its length. */
static size_t
rsa_sign(EVP_PKEY *k, const EVP_MD *md, const unsigned char *digest, size_t dlen,
    unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, md), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &siglen, digest, dlen), 1);
	EVP_PKEY_CTX_free(c);
	return siglen;
}

static void
parse_ok(const char *rec, enum dkim_alg alg, struct dkim_key *key)
{
	char why[160] = "";

	if (dkim_key_parse(rec, strlen(rec), alg, key, why, sizeof why) != DKIM_RES_PASS)
		fail_msg("'%s': %s", rec, why);
}

/* Ed25519 (RFC 8463) as OpenSSL signs it; what must not verify. */
static void
test_verify_ed25519(void **state)
{
	EVP_PKEY *k = new_key(EVP_PKEY_ED25519, 0), *rsa = new_key(EVP_PKEY_RSA, 1024);
	unsigned char pub[32], digest[32], sig[65], *der = NULL, *cut;
	/* the identity point: with R = identity and S = 0 OpenSSL 3.0 takes
	 * this pair for a signature of every message */
	unsigned char small_key[32] = { 1 }, small_sig[64] = { 1 };
	size_t publen = sizeof pub, siglen = 64;
	char rec[600];
	struct dkim_key key, rkey;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int derlen;

	(void)state;
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &publen), 1);
	sha256("header", 6, digest);
	assert_int_equal(EVP_DigestSignInit(m, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &siglen, digest, sizeof digest), 1);
	key_record(rec, sizeof rec, "ed25519", pub, (int)publen);
	parse_ok(rec, DKIM_ALG_ED25519_SHA256, &key);
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 64), 1);
	/* not for the RSA algorithms, not for another digest or signature */
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_RSA_SHA256, digest, 32, sig, 64), 0);
	digest[31] ^= 1;
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 64), 0);
	digest[31] ^= 1;
	sig[63] ^= 0x10;
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 64), 0);
	sig[63] ^= 0x10;
	/* a signature one byte short (in a buffer of its own size) or long */
	cut = malloc(63);
	assert_non_null(cut);
	memcpy(cut, sig, 63);
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, cut, 63), 0);
	free(cut);
	sig[64] = 0;
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 65), 0);
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 0), 0);
	/* an RSA key does not check an Ed25519 signature */
	derlen = i2d_PUBKEY(rsa, &der);
	assert_true(derlen > 0);
	key_record(rec, sizeof rec, "rsa", der, derlen);
	parse_ok(rec, DKIM_ALG_RSA_SHA256, &rkey);
	assert_int_equal(dkim_key_verify(&rkey, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 64), 0);
	dkim_key_release(&rkey);
	dkim_key_release(&key);
	/* a key of small order verifies nothing */
	key_record(rec, sizeof rec, "ed25519", small_key, sizeof small_key);
	parse_ok(rec, DKIM_ALG_ED25519_SHA256, &key);
	assert_int_equal(dkim_key_verify(&key, DKIM_ALG_ED25519_SHA256, digest, 32, small_sig, 64), 0);
	dkim_key_release(&key);
	assert_int_equal(dkim_key_verify(NULL, DKIM_ALG_ED25519_SHA256, digest, 32, sig, 64), 0);
	OPENSSL_free(der);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k);
	dkim_key_cache_clear();
}

/* RSA, rsa-sha256 from the cached key's context and rsa-sha1; a key
 * handle outlives the cache that gave it. */
static void
test_verify_rsa(void **state)
{
	EVP_PKEY *k = new_key(EVP_PKEY_RSA, 1024);
	unsigned char d256[32], d1[20], s256[256], s1[256], *der = NULL;
	size_t n256, n1;
	char rec[600];
	struct dkim_key a, b, c;
	int derlen;

	(void)state;
	sha256("header", 6, d256);
	assert_int_equal(EVP_Digest("header", 6, d1, NULL, EVP_sha1(), NULL), 1);
	n256 = rsa_sign(k, EVP_sha256(), d256, sizeof d256, s256, sizeof s256);
	n1 = rsa_sign(k, EVP_sha1(), d1, sizeof d1, s1, sizeof s1);
	derlen = i2d_PUBKEY(k, &der);
	assert_true(derlen > 0);
	key_record(rec, sizeof rec, "rsa", der, derlen);
	parse_ok(rec, DKIM_ALG_RSA_SHA256, &a);		/* decoded */
	parse_ok(rec, DKIM_ALG_RSA_SHA256, &b);		/* from the cache */
	parse_ok(rec, DKIM_ALG_RSA_SHA1, &c);
	assert_int_equal(a.bits, 1024);
	assert_non_null(a.verify256);
	assert_non_null(b.verify256);
	assert_ptr_not_equal(a.verify256, b.verify256);
	assert_null(c.verify256);
	dkim_key_cache_clear();
	for (int i = 0; i < 2; i++) {	/* a context checks more than once */
		assert_int_equal(dkim_key_verify(&a, DKIM_ALG_RSA_SHA256, d256, 32, s256, n256), 1);
		assert_int_equal(dkim_key_verify(&b, DKIM_ALG_RSA_SHA256, d256, 32, s256, n256), 1);
		assert_int_equal(dkim_key_verify(&c, DKIM_ALG_RSA_SHA1, d1, 20, s1, n1), 1);
	}
	/* the hash named in the signature must be the one of the algorithm */
	assert_int_equal(dkim_key_verify(&a, DKIM_ALG_RSA_SHA1, d1, 20, s256, n256), 0);
	assert_int_equal(dkim_key_verify(&c, DKIM_ALG_RSA_SHA256, d256, 32, s1, n1), 0);
	assert_int_equal(dkim_key_verify(&a, DKIM_ALG_RSA_SHA256, d256, 32, s256, n256 - 1), 0);
	d256[0] ^= 1;
	assert_int_equal(dkim_key_verify(&a, DKIM_ALG_RSA_SHA256, d256, 32, s256, n256), 0);
	/* and after a failure the context still checks */
	d256[0] ^= 1;
	assert_int_equal(dkim_key_verify(&a, DKIM_ALG_RSA_SHA256, d256, 32, s256, n256), 1);
	assert_int_equal(dkim_key_verify(&a, DKIM_ALG_ED25519_SHA256, d256, 32, s256, 64), 0);
	dkim_key_release(&a);
	dkim_key_release(&b);
	dkim_key_release(&c);
	assert_null(a.pkey);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

/* h= read as the header hash reads it; the rules' fields counted over the
 * whole list however long */
static void
test_hlist(void **state)
{
	struct dkim_sig_result r;
	char h[4096] = "";
	const char *odd = " From :\r\n\tTo::fr om:from\x01:LIST-Unsubscribe : list-unsubscribe-post\t";

	(void)state;
	memset(&r, 0, sizeof r);
	dkim_sig_set_hlist(&r, odd, strlen(odd));
	assert_int_equal(r.n_signed, 6);
	assert_string_equal(r.signed_hdrs[0], "from");
	assert_string_equal(r.signed_hdrs[1], "to");
	assert_string_equal(r.signed_hdrs[2], "fr?om");
	assert_string_equal(r.signed_hdrs[3], "from?");
	assert_string_equal(r.signed_hdrs[4], "list-unsubscribe");
	assert_int_equal(r.signs[DKIM_H_FROM], 1);
	assert_int_equal(r.signs[DKIM_H_LIST_UNSUB], 1);
	assert_int_equal(r.signs[DKIM_H_LIST_UNSUB_POST], 1);

	/* a name longer than the list's room is cut, and never counts as from */
	memset(h, 'x', 100);
	memcpy(h, "from", 4);
	dkim_sig_set_hlist(&r, h, strlen(h));
	assert_int_equal(r.n_signed, 1);
	assert_int_equal(strlen(r.signed_hdrs[0]), sizeof r.signed_hdrs[0] - 1);
	assert_int_equal(r.signs[DKIM_H_FROM], 0);

	/* 300 names (oversigning): the first 64 listed, From at the end counted */
	h[0] = '\0';
	for (int i = 0; i < 299; i++)
		strcat(h, i % 2 ? "to:" : "cc:");
	strcat(h, "from");
	dkim_sig_set_hlist(&r, h, strlen(h));
	assert_int_equal(r.n_signed, DKIM_MAX_SIGNED_HDRS);
	assert_int_equal(r.signs[DKIM_H_FROM], 1);
	/* the length given is the end: a name past it is not read */
	dkim_sig_set_hlist(&r, "to:from", 3);
	assert_int_equal(r.signs[DKIM_H_FROM], 0);
	dkim_sig_set_hlist(&r, NULL, 0);
	assert_int_equal(r.n_signed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_tags_shape),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_rfc6376_example),
		cmocka_unit_test(test_body_edges),
		cmocka_unit_test(test_body_relaxed_long),
		cmocka_unit_test(test_body_splits),
		cmocka_unit_test(test_bodies_shared),
		cmocka_unit_test(test_header_digest),
		cmocka_unit_test(test_key_records),
		cmocka_unit_test(test_verify_ed25519),
		cmocka_unit_test(test_verify_rsa),
		cmocka_unit_test(test_hlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
