/*
 * bodyhash: the libopendkim engine's body hashing (common/checks/
 * dkim_opendkim.c, DKIMEngine libopendkim) held to libopendkim's
 * canonicalisation, on random messages cut at random places. (The builtin
 * engine hashes by RFC 6376 instead; tests/dkim/diff_engines.py compares
 * the two engines.)
 *
 *   bodyhash --ns IP:PORT --key FILE --domain D --selector S
 *            [--count N] [--seed N] [--runs N] [-v]
 *
 * For each of N messages (from the seed): a random body (words, runs of SP
 * and HTAB, empty lines, white space at line ends, lines over 4 KB, bare
 * CR and LF, no final CRLF, empty bodies, some of 200 KB) gets one to three
 * signatures made by libopendkim itself (dkim_sign: its canonicaliser
 * writes bh=), each with a random body canonicalisation (simple or
 * relaxed), hash (rsa-sha256 or rsa-sha1) and, for some, l= (a random
 * length up to the whole canonical body). libopendkim is fed the body in
 * random chunks too. The message is then verified with the dkim module
 * --runs times (default 4), each time with other random chunk boundaries,
 * and each signature must be what libopendkim's own hashing says: pass
 * (policy for rsa-sha1), with the canonical body length libopendkim
 * counted. Some messages get one body byte changed after signing; then
 * libopendkim signs the changed body again, and each signature must pass
 * exactly when that gives the same bh=, and fail with "body hash
 * mismatch" otherwise. A body that libopendkim cannot sign (a relaxed body
 * that ends inside a word: "CRLF at end of body missing") is counted and
 * left out.
 *
 * The key is looked up through the dns module at --ns (the test serves it
 * with unbound). Output: one line per message, "ok ID ..." or
 * "FAIL ID: why", then "messages N, runs N, signatures N (...)".
 * Exit status: 0 all ok, 1 a message failed, 2 usage or set-up error.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "dkim.h"
#include "dns.h"
#include "log.h"
#include "sbuf.h"

#define MAX_SIGS	3
#define BIG_BODY	(200 * 1024)

struct opts {
	const char *ns, *keyfile, *domain, *selector;
	unsigned long count, seed;
	unsigned runs;
	int verbose;
};

/* xorshift64*: the same messages for the same seed, on every machine */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned long
rnd(unsigned long n)
{
	return n ? (unsigned long)(rng() % n) : 0;
}

/* What one signature asks for. */
struct want {
	dkim_canon_t canon;
	dkim_alg_t alg;
	long length;		/* l=, or -1 */
	char bh[128];		/* libopendkim's bh= for the body as sent */
	long canonlen;		/* libopendkim's canonical length */
	char *hdr;		/* DKIM-Signature value (malloc'd) */
};

static const char *const HEADERS[][2] = {
	{ "From", " Alice <alice@example.com>" },
	{ "To", " bob@example.net" },
	{ "Subject", " body hash test" },
	{ "Date", " Mon, 1 Jan 2024 10:00:00 +0000" },
	{ "Message-ID", " <bodyhash@example.com>" },
};
#define N_HEADERS (sizeof(HEADERS) / sizeof(HEADERS[0]))

/* ---- random bodies ---- */

static void
add_word(struct sbuf *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sbuf_addc(b, (char)('a' + rnd(26)));
}

static void
add_wsp(struct sbuf *b)
{
	unsigned long n = 1 + rnd(3);

	while (n-- > 0)
		sbuf_addc(b, rnd(3) ? ' ' : '\t');
}

/* A body of about `target` bytes; `quirks`: bare CR and LF too. */
static void
make_body(struct sbuf *b, size_t target, int quirks)
{
	while (b->len < target) {
		unsigned long r = rnd(100);

		if (r < 45)
			add_word(b, 1 + rnd(12));
		else if (r < 70)
			add_wsp(b);
		else if (r < 85)
			sbuf_addstr(b, "\r\n");
		else if (r < 90) {		/* white space, then the line end */
			add_wsp(b);
			sbuf_addstr(b, "\r\n");
		} else if (r < 94) {		/* empty lines */
			for (unsigned long n = 1 + rnd(4); n > 0; n--) {
				if (rnd(2))
					add_wsp(b);
				sbuf_addstr(b, "\r\n");
			}
		} else if (r < 95) {
			add_word(b, 4000 + rnd(2000));	/* a line over libopendkim's 4 KB buffer */
		} else if (quirks) {
			static const char *const odd[] = { "\r", "\n", "\r\r\n", "\n\r", " \r \n" };

			sbuf_addstr(b, odd[rnd(5)]);
		}
	}
	/* how it ends: mostly a CRLF, sometimes empty lines, sometimes not */
	switch (rnd(20)) {
	case 0:
		break;
	case 1: case 2:
		sbuf_addstr(b, "\r\n\r\n\r\n");
		break;
	default:
		if (b->len < 2 || memcmp(b->s + b->len - 2, "\r\n", 2) != 0)
			sbuf_addstr(b, "\r\n");
	}
}

static size_t
body_size(void)
{
	unsigned long r = rnd(100);

	if (r < 3)
		return 0;
	if (r < 70)
		return rnd(2048);
	if (r < 90)
		return 2048 + rnd(18 * 1024);
	if (r < 98)
		return 20 * 1024 + rnd(40 * 1024);
	return BIG_BODY;
}

/* ---- libopendkim: signing, its canonicaliser writing bh= ---- */

static DKIM_LIB *lib;
static char *secret;

/* Where a body is cut: chunk lengths that add up to its length. */
struct cuts {
	size_t n, cap;
	size_t *len;
};

static void
make_cuts(struct cuts *c, size_t total)
{
	size_t off = 0;

	c->n = 0;
	while (off < total) {
		size_t k;

		switch (rnd(4)) {
		case 0:
			k = 1 + rnd(3);			/* cut CR|LF and runs apart */
			break;
		case 1:
			k = 1 + rnd(64);
			break;
		case 2:
			k = 1 + rnd(8192);
			break;
		default:
			k = total - off;
		}
		if (k > total - off)
			k = total - off;
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			if ((c->len = realloc(c->len, c->cap * sizeof(*c->len))) == NULL)
				abort();
		}
		c->len[c->n++] = k;
		off += k;
	}
}

/* Feeds p[0..n) to fn, cut as c says. */
static void
feed_cuts(const char *p, const struct cuts *c, void (*fn)(void *, const unsigned char *, size_t),
    void *arg)
{
	for (size_t i = 0, off = 0; i < c->n; off += c->len[i++])
		fn(arg, (const unsigned char *)p + off, c->len[i]);
}

static void
lib_body(void *arg, const unsigned char *p, size_t n)
{
	(void)dkim_body(arg, (unsigned char *)(uintptr_t)p, n);
}

/* Copies the value of tag `t` ("bh") from a signature header value. */
static void
tag_value(const char *hdr, const char *t, char *out, size_t outlen)
{
	size_t tl = strlen(t), k = 0;
	const char *p = hdr;

	out[0] = '\0';
	while ((p = strstr(p, t)) != NULL) {
		if ((p == hdr || p[-1] == ' ' || p[-1] == ';' || p[-1] == '\t' || p[-1] == '\n') &&
		    p[tl] == '=') {
			for (p += tl + 1; *p != '\0' && *p != ';' && k + 1 < outlen; p++)
				if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
					out[k++] = *p;
			out[k] = '\0';
			return;
		}
		p += tl;
	}
}

/*
 * Signs body, cut as cuts says, with libopendkim as w asks; fills w->bh,
 * w->canonlen and (with hdr) w->hdr. Returns 0, or -1 when libopendkim
 * cannot sign it.
 */
static int
lib_sign(const struct sbuf *body, const struct cuts *cuts, struct want *w, int hdr,
    const struct opts *o)
{
	DKIM_STAT st;
	DKIM *d = dkim_sign(lib, (const unsigned char *)"bodyhash", NULL,
	    (dkim_sigkey_t)secret, (const unsigned char *)o->selector,
	    (const unsigned char *)o->domain, DKIM_CANON_RELAXED, w->canon, w->alg,
	    w->length, &st);
	unsigned char *sig = NULL;
	size_t siglen = 0;
	ssize_t canonlen = -1;
	int rc = -1;

	if (d == NULL)
		return -1;
	for (size_t i = 0; i < N_HEADERS; i++) {
		char line[256];

		snprintf(line, sizeof(line), "%s:%s", HEADERS[i][0], HEADERS[i][1]);
		dkim_header(d, (unsigned char *)line, strlen(line));
	}
	if (dkim_eoh(d) != DKIM_STAT_OK)
		goto out;
	feed_cuts(body->s, cuts, lib_body, d);
	if (dkim_eom(d, NULL) != DKIM_STAT_OK ||
	    dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &sig, &siglen) != DKIM_STAT_OK ||
	    dkim_sig_getcanonlen(d, dkim_getsignature(d), NULL, &canonlen, NULL) != DKIM_STAT_OK)
		goto out;
	tag_value((const char *)sig, "bh", w->bh, sizeof(w->bh));
	w->canonlen = (long)canonlen;
	if (hdr) {
		/* its folds as CRLF + WSP, as a message carries them */
		struct sbuf h;

		sbuf_init(&h, 64 * 1024);
		for (size_t i = 0; i < siglen; i++) {
			if (sig[i] == '\n' && (i == 0 || sig[i - 1] != '\r'))
				sbuf_addc(&h, '\r');
			sbuf_addc(&h, (char)sig[i]);
		}
		w->hdr = sbuf_detach(&h);
	}
	rc = w->bh[0] != '\0' ? 0 : -1;
out:
	dkim_free(d);
	return rc;
}

/* ---- the dkim module: verifying ---- */

static void
msg_body(void *arg, const unsigned char *p, size_t n)
{
	dkim_msg_body(arg, p, n);
}

/*
 * One verification of (signatures, body) cut as cuts says; checks each
 * result against what libopendkim's hashing of the same cuts gave
 * (mismatch[i]: 0 the same bh= as signature i's, 1 another, 2 the body
 * is shorter than its l=). Returns 0, or -1 with why.
 */
static int
verify_once(struct dkim_verifier *v, struct dns_resolver *res, struct want *w, size_t nw,
    const struct sbuf *body, const struct cuts *cuts, const int *mismatch,
    const long *canonlen, char *why, size_t whylen)
{
	struct dns_ctx ctx;
	struct dkim_msg *m;
	const struct dkim_sig_result *r;
	const char *fail;
	size_t n, i;
	int rc = -1;

	dns_ctx_init(&ctx, res, 5000);
	if ((m = dkim_msg_new(v, &ctx, "bodyhash")) == NULL) {
		snprintf(why, whylen, "dkim_msg_new failed");
		return -1;
	}
	/* the newest signature on top, as a signer prepends it */
	for (i = nw; i-- > 0;)
		dkim_msg_header(m, "DKIM-Signature", w[i].hdr);
	for (i = 0; i < N_HEADERS; i++)
		dkim_msg_header(m, HEADERS[i][0], HEADERS[i][1]);
	dkim_msg_eoh(m);
	feed_cuts(body->s, cuts, msg_body, m);
	if (dkim_msg_finish(m, &r, &n, &fail) < 0) {
		snprintf(why, whylen, "dkim_msg_finish: %s", fail);
		goto out;
	}
	if (n != nw) {
		snprintf(why, whylen, "%zu results for %zu signatures", n, nw);
		goto out;
	}
	for (i = 0; i < nw; i++) {
		const struct dkim_sig_result *s = &r[nw - 1 - i];	/* w[i] is listed from the bottom */
		const struct want *x = &w[i];
		int sha1 = x->alg == DKIM_SIGN_RSASHA1;
		const char *want_res = mismatch[i] == 2 ? "permerror" : sha1 ? "policy" :
		    mismatch[i] ? "fail" : "pass";
		int ok = strcmp(dkim_res_str(s->result), want_res) == 0;

		if (mismatch[i] == 2)
			ok = ok && strstr(s->why, "length tag value exceeds body size") != NULL;
		else if (mismatch[i])
			ok = ok && strstr(s->why, "body hash mismatch") != NULL;
		else if (sha1)
			ok = ok && strcmp(s->why, "rsa-sha1 is not acceptable (RFC 8301)") == 0;
		if (ok && !mismatch[i] && x->length < 0 && (long)s->body_len != canonlen[i])
			ok = 0;
		if (!ok) {
			snprintf(why, whylen, "signature %zu (c=relaxed/%s a=%s%s): %s (%s), body_len %lu; "
			    "libopendkim: %s, canonical length %ld", i,
			    x->canon == DKIM_CANON_SIMPLE ? "simple" : "relaxed",
			    sha1 ? "rsa-sha1" : "rsa-sha256", x->length >= 0 ? " l=" : "",
			    dkim_res_str(s->result), s->why, s->body_len,
			    mismatch[i] == 2 ? "l= past the end of the body" : mismatch[i] ?
			    "another body hash" : "the same body hash", canonlen[i]);
			goto out;
		}
	}
	rc = 0;
out:
	dkim_msg_free(m);
	return rc;
}

/* ---- one message ---- */

struct tally {
	unsigned long messages, runs, sigs, simple, relaxed, sha1, lengths, changed,
	    changed_same, unsignable, quirky, big, cut_dependent;
};

/*
 * Signs a random body with 1..MAX_SIGS signatures and verifies it --runs
 * times, each cut differently (the first as the signer cut it). Before
 * each run libopendkim hashes the body as sent, cut the same way, for
 * each signature: the verifier must agree with that, whatever it is
 * (libopendkim's simple canonicalisation of bare CR and LF depends on
 * where the body is cut; the verifier keeps even that).
 */
static int
one_message(unsigned long id, struct dkim_verifier *v, struct dns_resolver *res,
    const struct opts *o, struct tally *t)
{
	struct sbuf body, changed;
	const struct sbuf *sent = &body;
	struct cuts cuts = { 0, 0, NULL }, vcuts = { 0, 0, NULL };
	struct want w[MAX_SIGS];
	int mismatch[MAX_SIGS] = { 0 }, rc = 0, cut_dependent = 0;
	long canonlen[MAX_SIGS];
	size_t nw = 1 + rnd(MAX_SIGS), i;
	int quirks = rnd(5) == 0, change = rnd(3) == 0;
	char why[600];

	sbuf_init(&body, 4 * BIG_BODY);
	sbuf_init(&changed, 4 * BIG_BODY);
	make_body(&body, body_size(), quirks);
	make_cuts(&cuts, body.len);
	memset(w, 0, sizeof(w));
	for (i = 0; i < nw; i++) {
		w[i].canon = rnd(2) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
		w[i].alg = rnd(5) == 0 ? DKIM_SIGN_RSASHA1 : DKIM_SIGN_RSASHA256;
		w[i].length = -1;
		if (lib_sign(&body, &cuts, &w[i], 1, o) < 0)
			goto unsignable;
		if (rnd(6) == 0) {	/* l=: a part of the canonical body */
			free(w[i].hdr);
			w[i].hdr = NULL;
			w[i].length = (long)rnd((unsigned long)w[i].canonlen + 1);
			if (lib_sign(&body, &cuts, &w[i], 1, o) < 0)
				goto unsignable;
		}
	}
	if (change && body.len > 3) {	/* one byte changed after signing */
		sbuf_add(&changed, body.s, body.len);
		changed.s[rnd(body.len - 2)] = " \tx\r\nA"[rnd(6)];
		sent = &changed;
	} else {
		change = 0;
	}
	for (unsigned run = 0; run < o->runs && rc == 0; run++) {
		int any_mismatch = 0;

		if (run == 0 && sent == &body) {
			/* as the signer cut it */
			free(vcuts.len);
			vcuts.n = cuts.n;
			vcuts.cap = cuts.n;
			if ((vcuts.len = malloc((cuts.n ? cuts.n : 1) * sizeof(*vcuts.len))) == NULL)
				abort();
			if (cuts.n > 0)
				memcpy(vcuts.len, cuts.len, cuts.n * sizeof(*vcuts.len));
		} else {
			make_cuts(&vcuts, sent->len);
		}
		for (i = 0; i < nw; i++) {
			struct want again = w[i];

			again.hdr = NULL;
			if (lib_sign(sent, &vcuts, &again, 0, o) < 0) {
				snprintf(why, sizeof(why), "libopendkim cannot hash the body as sent");
				mismatch[i] = 1;
				canonlen[i] = -1;
			} else {
				mismatch[i] = strcmp(again.bh, w[i].bh) != 0;
				canonlen[i] = again.canonlen;
			}
			if (w[i].length >= 0 && mismatch[i] == 1) {
				/* l= past the end of the body as sent: no hash compared */
				struct want whole = again;

				whole.length = -1;
				if (lib_sign(sent, &vcuts, &whole, 0, o) == 0 && whole.canonlen < w[i].length)
					mismatch[i] = 2;
			}
			any_mismatch |= mismatch[i];
		}
		if (!change && any_mismatch)
			cut_dependent = 1;
		if (verify_once(v, res, w, nw, sent, &vcuts, mismatch, canonlen, why, sizeof(why)) < 0) {
			printf("FAIL %lu: run %u of %u, %zu-byte body%s%s: %s\n", id, run + 1, o->runs,
			    body.len, quirks ? " with bare CR/LF" : "", change ? ", one byte changed" : "",
			    why);
			rc = -1;
		}
		t->runs++;
	}
	if (rc == 0)
		printf("ok %lu: %zu signature%s, %zu-byte body%s%s%s\n", id, nw, nw == 1 ? "" : "s",
		    body.len, quirks ? " with bare CR/LF" : "", change ? ", one byte changed" : "",
		    cut_dependent ? " (libopendkim's hash depends on the cuts)" : "");
	t->messages++;
	t->sigs += nw;
	t->quirky += quirks;
	t->big += body.len >= BIG_BODY;
	t->changed += change;
	t->cut_dependent += cut_dependent;
	for (i = 0; i < nw; i++) {
		t->simple += w[i].canon == DKIM_CANON_SIMPLE;
		t->relaxed += w[i].canon == DKIM_CANON_RELAXED;
		t->sha1 += w[i].alg == DKIM_SIGN_RSASHA1;
		t->lengths += w[i].length >= 0;
		t->changed_same += change && !mismatch[i];
	}
	goto done;
unsignable:
	t->unsignable++;
	if (o->verbose)
		printf("skip %lu: libopendkim cannot sign this body (%zu bytes)\n", id, body.len);
done:
	for (i = 0; i < nw; i++)
		free(w[i].hdr);
	free(cuts.len);
	free(vcuts.len);
	sbuf_free(&body);
	sbuf_free(&changed);
	return rc;
}

/* ---- set-up ---- */

static int
usage(void)
{
	fprintf(stderr, "usage: bodyhash --ns IP:PORT --key FILE --domain D --selector S "
	    "[--count N] [--seed N] [--runs N] [-v]\n");
	return 2;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 1200;
	o->seed = 6376;
	o->runs = 4;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-v") == 0)
			o->verbose = 1;
		else if (v == NULL)
			return -1;
		else if (strcmp(a, "--ns") == 0)
			o->ns = v, i++;
		else if (strcmp(a, "--key") == 0)
			o->keyfile = v, i++;
		else if (strcmp(a, "--domain") == 0)
			o->domain = v, i++;
		else if (strcmp(a, "--selector") == 0)
			o->selector = v, i++;
		else if (strcmp(a, "--count") == 0)
			o->count = strtoul(v, NULL, 10), i++;
		else if (strcmp(a, "--seed") == 0)
			o->seed = strtoul(v, NULL, 10), i++;
		else if (strcmp(a, "--runs") == 0)
			o->runs = (unsigned)strtoul(v, NULL, 10), i++;
		else
			return -1;
	}
	return o->ns && o->keyfile && o->domain && o->selector && o->runs > 0 ? 0 : -1;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b;
	int c;

	if (f == NULL)
		return NULL;
	sbuf_init(&b, 64 * 1024);
	while ((c = getc(f)) != EOF)
		sbuf_addc(&b, (char)c);
	fclose(f);
	return sbuf_detach(&b);
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct dns_server srv;
	struct dns_resolver *res;
	struct dkim_verifier *v;
	struct tally t;
	unsigned long failed = 0;
	char why[256];

	if (parse_opts(argc, argv, &o) < 0)
		return usage();
	log_open("bodyhash", 0, 0, LOG_LVL_WARN);
	if ((secret = read_file(o.keyfile)) == NULL) {
		fprintf(stderr, "bodyhash: cannot read %s\n", o.keyfile);
		return 2;
	}
	if (dns_parse_server(o.ns, &srv, why, sizeof(why)) < 0) {
		fprintf(stderr, "bodyhash: %s: %s\n", o.ns, why);
		return 2;
	}
	lib = dkim_init(NULL, NULL);
	res = dns_resolver_new(&srv, 1, 64, why, sizeof(why));
	v = res != NULL ? dkim_verifier_new(DKIM_ENGINE_LIBOPENDKIM, MAX_SIGS, why, sizeof(why)) : NULL;
	if (lib == NULL || v == NULL) {
		fprintf(stderr, "bodyhash: %s\n", lib == NULL ? "dkim_init failed" : why);
		return 2;
	}
	rng_state = 0x9E3779B97F4A7C15ULL ^ o.seed;
	memset(&t, 0, sizeof(t));
	for (unsigned long id = 0; id < o.count; id++)
		failed += one_message(id, v, res, &o, &t) < 0;
	printf("messages %lu (%lu failed), runs %lu, signatures %lu (simple %lu, relaxed %lu, "
	    "rsa-sha1 %lu, l= %lu), bodies with bare CR/LF %lu, of 200 KB %lu, changed after "
	    "signing %lu (signatures still holding %lu), libopendkim's hash depending on the "
	    "cuts %lu, left out (libopendkim cannot sign) %lu\n",
	    t.messages, failed, t.runs, t.sigs, t.simple, t.relaxed, t.sha1, t.lengths, t.quirky,
	    t.big, t.changed, t.changed_same, t.cut_dependent, t.unsignable);
	dkim_verifier_free(v);
	dns_resolver_free(res);
	dkim_close(lib);
	free(secret);
	dns_thread_done();
	return failed ? 1 : 0;
}
