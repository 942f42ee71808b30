/*
 * dkim_opendkim: the libopendkim 2.11 engine of dkim.h (DKIMEngine
 * libopendkim), key lookups through the dns module.
 *
 * What this file promises (see dkim.h for the interface):
 * - One DKIM_LIB per dkim_verifier, shared by all threads; one DKIM handle
 *   per dkim_msg.
 * - libopendkim's own resolver is never used: its DNS hooks are replaced by
 *   dk_q_start/dk_q_wait/dk_q_cancel below, which look keys up synchronously
 *   with dns_query() on the dns_ctx of the message being verified, so every
 *   lookup is charged to that message's time budget.
 * - One result per DKIM-Signature in header order. Signatures past
 *   max_signatures are not evaluated (no DNS) and are listed as neutral.
 * - What libopendkim costs is bounded by what it is given ("shapes"
 *   below): it sets up and hashes every DKIM-Signature it sees, whatever
 *   the prescreen says, picks the fields of each h= name by a walk over the
 *   whole header, and keeps a signature's tags in lists it searches on each
 *   insertion. So only the first max_signatures DKIM-Signature fields are
 *   given to it, and of those only ones with at most DK_MAX_TAGS tags whose
 *   h= names times the header's fields stay within DK_MAX_PAIRS; the others
 *   are permerror with the bound in the reason (never temperror: that
 *   would lift a DMARC policy). Nor is one whose text names
 *   DKIM-Signature as often as DKIM-Signature fields are given: its h=
 *   could take every header field, past which libopendkim's header
 *   selection writes beyond its array (dk_names_signature).
 * - Body hashes are computed here, not by libopendkim, unless a signature
 *   has l= ("body hashes" below); the verdicts are libopendkim's.
 * - pass needs DKIM_SIGFLAG_PASSED and a matching body hash. RFC 8301:
 *   a signature that verified or failed with rsa-sha1, or with an RSA key
 *   under 1024 bits, is DKIM_RES_POLICY ("policy" outranks "fail" so that
 *   the reason names the rule; the failure is kept in why).
 * - Missing key (NXDOMAIN / NODATA) is permerror "no key"; DNS timeout,
 *   SERVFAIL, a reply that cannot be used (malformed, truncated over TCP)
 *   and local DNS failures are temperror "DNS error: ...".
 * - Malformed signatures or keys never crash: all DKIM_STAT_* returns are
 *   handled and libopendkim's per-signature error codes become a reason.
 * - Untrusted strings are copied with bounds (dkim_copy); nothing exits.
 * - libopendkim decodes the key (d2i_PUBKEY_bio) for every signature it
 *   verifies; nothing here interposes on libcrypto to cache it (the
 *   builtin engine keeps decoded keys, dkim_key.c).
 */
#include "config.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_engine.h"
#include "dkim_tags.h"
#include "dnsname.h"
#include "dns.h"
#include "header.h"
#include "log.h"

#define DK_MAX_LOOKUPS	DKIM_MAX_LISTED	/* key lookups remembered per message */
#define DK_NAMELEN	256		/* s._domainkey.d, DNS limit + NUL */

/*
 * Shapes libopendkim is given (see "shapes" below). DK_HLIST: the bytes
 * of h= it reads (its DKIM_MAXHEADER, NUL included), so at most
 * DK_HLIST / 2 names. DK_MAX_PAIRS: names x fields its header selection
 * visits for one signature; a signature with up to 128 names is within it
 * in any header the header list keeps.
 */
#define DK_HLIST	4096
#define DK_MAX_TAGS	DKIM_TAGS_MAX
#define DK_HNAMES	128
#define DK_MAX_PAIRS	((unsigned long)DK_HNAMES * (HEADER_MAX_FIELDS + HEADER_MAX_KEPT_PAST))

/* What became of one DKIM-Signature field (by its place among them). */
enum dk_fate {
	DK_PENDING = 0,	/* kept here until the end of the header */
	DK_GIVEN,	/* given to libopendkim: its result is libopendkim's */
	DK_KEPT_BACK,	/* not given: its result is already in res[] */
};

struct dk_sig {
	enum dk_fate fate;
	char *field;		/* DK_PENDING: "DKIM-Signature:value" */
	size_t len;
	size_t vofs;		/* where value starts in field */
	size_t names;		/* names in h=, an upper bound (libopendkim's reading) */
};

struct odk_verifier {
	DKIM_LIB *lib;
	unsigned max_signatures;
};

/* The outcome of one key lookup, kept to explain KEYFAIL / NOKEY later. */
struct dk_lookup {
	char name[DK_NAMELEN];
	enum dns_status status;
	char why[160];
};

/*
 * One body hash computed here (see "body hashes" below): one per
 * (body canonicalisation, hash) pair in use, shared by the signatures
 * that have that pair. The canonicaliser state is libopendkim's.
 */
#define DK_NBH		4	/* {simple, relaxed} x {sha256, sha1} */
#define DK_OUTBUF	4096	/* canonical bytes gathered per digest update */
#define DK_LIBHASHBUF	4096	/* libopendkim's DKIM_HASHBUFSIZE */

struct dk_bh {
	int used;
	int canon;		/* DKIM_CANON_SIMPLE or DKIM_CANON_RELAXED */
	int sha1;		/* SHA-1 (rsa-sha1), else SHA-256 */
	int failed;		/* an EVP call failed: the hash never matches */
	int done;
	int order;		/* 1 + place among libopendkim's body canons; 0: none */
	EVP_MD_CTX *ctx;
	/* canonicaliser state, as libopendkim's DKIM_CANON */
	unsigned char lastchar;
	int blankline;
	unsigned long blanks;
	int state;		/* relaxed: 0 line start, 1 WSP, 2 CR, 3 word */
	int pending;		/* relaxed: a word not yet ended by WSP or CRLF */
	unsigned long mark;	/* relaxed: total when the pending word began */
	/* libopendkim's count of bytes flushed from its 4 KB hash buffer */
	size_t libbuffered;
	unsigned long libwrote;
	unsigned long total;	/* canonical bytes hashed */
	size_t outlen;
	unsigned char out[DK_OUTBUF];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
};

struct odk_msg {
	struct odk_verifier *v;
	struct dns_ctx *dns;
	DKIM *dkim;
	char id[64];
	int nosig;		/* libopendkim saw no signature at EOH */
	int finished;
	int ownbody;		/* body hashes computed here, not by libopendkim */
	int unterminated;	/* and libopendkim's dkim_eom failed on it */
	struct dk_bh bh[DK_NBH];
	DKIM_STAT eoh_stat;
	size_t nfields;		/* other fields given to libopendkim */
	size_t nsigfields;	/* DKIM-Signature fields seen, listed or not */
	struct dk_sig sigs[DKIM_MAX_LISTED];
	size_t nlookups;
	struct dk_lookup lookups[DK_MAX_LOOKUPS];
	size_t nres;
	struct dkim_sig_result res[DKIM_MAX_LISTED];
};

/* A query handle: the reply (or error) waiting for dk_q_wait. */
struct dk_query {
	enum dns_status status;
	unsigned char *reply;	/* wire-format reply, malloc'ed */
	size_t replylen;
	unsigned char *buf;	/* libopendkim's answer buffer */
	size_t buflen;
};

/*
 * The message whose DNS lookups this thread is doing right now.
 *
 * libopendkim calls the DNS hooks with only the service handle registered
 * on the shared DKIM_LIB (the verifier), never with the DKIM handle, so the
 * hooks cannot tell which message (and dns_ctx) a lookup belongs to. Every
 * libopendkim call that can look up keys (dkim_eoh, dkim_eom,
 * dkim_sig_process) runs inside dk_enter()/dk_leave(), which set this
 * thread-local pointer for the duration of that one call on this thread and
 * clear it afterwards. Lookups are synchronous, so the pointer is never
 * needed after the call returns, and other threads have their own.
 * A hook called with no current message fails the lookup (temperror).
 */
static _Thread_local struct odk_msg *dk_current;

static void
dk_enter(struct odk_msg *m)
{
	dk_current = m;
}

static void
dk_leave(void)
{
	dk_current = NULL;
}

/* ---- DNS hooks ---------------------------------------------------- */

static int
dk_put16(unsigned char *p, size_t cap, size_t *off, unsigned v)
{
	if (*off + 2 > cap)
		return -1;
	p[(*off)++] = (unsigned char)(v >> 8);
	p[(*off)++] = (unsigned char)v;
	return 0;
}

/* Encodes a presentation-form name (no escapes) as DNS labels. */
static int
dk_put_name(unsigned char *p, size_t cap, size_t *off, const char *name)
{
	const char *s = name, *dot;
	size_t n;

	while (*s != '\0') {
		dot = strchr(s, '.');
		n = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63 || *off + 1 + n > cap)
			return -1;
		p[(*off)++] = (unsigned char)n;
		memcpy(p + *off, s, n);
		*off += n;
		s += n;
		if (*s == '.')
			s++;
	}
	if (*off + 1 > cap)
		return -1;
	p[(*off)++] = 0;
	return 0;
}

/* One TXT record: its data cut into character-strings of <= 255 bytes. */
static int
dk_put_txt(unsigned char *p, size_t cap, size_t *off, const struct dns_rr *rr)
{
	size_t rdlen = rr->len + (rr->len + 254) / 255, done = 0, n;

	if (rr->len == 0)
		rdlen = 1;
	if (rdlen > 0xffff || dk_put16(p, cap, off, 0xc00c) < 0 ||
	    dk_put16(p, cap, off, DNS_T_TXT) < 0 || dk_put16(p, cap, off, 1) < 0 ||
	    dk_put16(p, cap, off, rr->ttl >> 16) < 0 ||
	    dk_put16(p, cap, off, rr->ttl & 0xffff) < 0 ||
	    dk_put16(p, cap, off, (unsigned)rdlen) < 0 || *off + rdlen > cap)
		return -1;
	do {
		n = rr->len - done > 255 ? 255 : rr->len - done;
		p[(*off)++] = (unsigned char)n;
		memcpy(p + *off, rr->data + done, n);
		*off += n;
		done += n;
	} while (done < rr->len);
	return 0;
}

/*
 * Builds a reply from the parsed result, for when the dns module gives no
 * wire copy (or one too big for libopendkim's buffer): header, question,
 * and the TXT records. rcode NXDOMAIN for DNS_NXDOMAIN, else NOERROR.
 */
static int
dk_synth_reply(const char *qname, const struct dns_result *r,
    unsigned char *p, size_t cap, size_t *outlen)
{
	size_t off = 0, i;
	unsigned rcode = r->status == DNS_NXDOMAIN ? 3 : 0;
	size_t an = r->status == DNS_OK ? r->n : 0;

	if (cap < 12 || an > 0xffff)
		return -1;
	memset(p, 0, 12);
	p[2] = 0x81;			/* QR, RD */
	p[3] = (unsigned char)(0x80 | rcode);	/* RA */
	p[5] = 1;			/* QDCOUNT */
	p[6] = (unsigned char)(an >> 8);
	p[7] = (unsigned char)an;
	off = 12;
	if (dk_put_name(p, cap, &off, qname) < 0 ||
	    dk_put16(p, cap, &off, DNS_T_TXT) < 0 || dk_put16(p, cap, &off, 1) < 0)
		return -1;
	for (i = 0; i < an; i++)
		if (r->rr[i].type == DNS_T_TXT && dk_put_txt(p, cap, &off, &r->rr[i]) < 0)
			return -1;
	*outlen = off;
	return 0;
}

static void
dk_remember(struct odk_msg *m, const char *name, const struct dns_result *r)
{
	struct dk_lookup *l;

	if (m->nlookups >= DK_MAX_LOOKUPS)
		return;
	l = &m->lookups[m->nlookups++];
	dkim_copy(l->name, sizeof l->name, name, (size_t)-1);
	l->status = r->status;
	dkim_copy(l->why, sizeof l->why,
	    r->why[0] != '\0' ? r->why : dns_status_str(r->status), (size_t)-1);
}

/* Keeps the reply for dk_q_wait: the wire copy if it fits, else rebuilt. */
static int
dk_keep_reply(struct dk_query *q, const char *name, const struct dns_result *r)
{
	size_t cap = q->buflen;

	q->reply = malloc(cap > 0 ? cap : 1);
	if (q->reply == NULL)
		return -1;
	if (r->wire != NULL && r->wirelen >= 12 && r->wirelen <= cap) {
		memcpy(q->reply, r->wire, r->wirelen);
		q->replylen = r->wirelen;
		return 0;
	}
	return dk_synth_reply(name, r, q->reply, cap, &q->replylen);
}

/*
 * query_start hook: performs the whole lookup now, on the current
 * message's dns_ctx. Returns 0 with *qh set, or -1 (libopendkim: KEYFAIL).
 */
static int
dk_q_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct odk_msg *m = dk_current;
	struct dk_query *q;
	struct dns_result r;
	const char *name = (const char *)query;

	(void)srv;
	*qh = NULL;
	if (m == NULL || type != DNS_T_TXT || buf == NULL)
		return -1;
	q = calloc(1, sizeof *q);
	if (q == NULL)
		return -1;
	q->buf = buf;
	q->buflen = buflen;
	dns_query(m->dns, name, DNS_T_TXT, &r);
	dk_remember(m, name, &r);
	q->status = r.status;
	if ((r.status == DNS_OK || r.status == DNS_NXDOMAIN ||
	    r.status == DNS_NODATA) && dk_keep_reply(q, name, &r) < 0)
		q->status = DNS_ERROR;
	dns_result_free(&r);
	*qh = q;
	return 0;
}

/*
 * query_waitreply hook: hands over the reply kept by dk_q_start. A missing
 * key travels as the reply itself (libopendkim reads NXDOMAIN / no answer
 * as NOKEY); SERVFAIL and local errors as DKIM_DNS_ERROR, timeouts as
 * DKIM_DNS_EXPIRED (both KEYFAIL; dkim_msg_finish explains them).
 */
static int
dk_q_wait(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error,
    int *dnssec)
{
	struct dk_query *q = qh;

	(void)srv;
	(void)to;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (q->status == DNS_TIMEOUT)
		return DKIM_DNS_EXPIRED;
	if (q->reply == NULL || q->replylen > q->buflen)
		return DKIM_DNS_ERROR;
	memcpy(q->buf, q->reply, q->replylen);
	if (bytes != NULL)
		*bytes = q->replylen;
	return DKIM_DNS_SUCCESS;
}

/* query_cancel hook: frees the handle (libopendkim cancels every query). */
static int
dk_q_cancel(void *srv, void *qh)
{
	struct dk_query *q = qh;

	(void)srv;
	if (q != NULL) {
		free(q->reply);
		free(q);
	}
	return DKIM_DNS_SUCCESS;
}

/* ---- verifier ------------------------------------------------------- */

static const char *dk_tag(DKIM_SIGINFO *sig, const char *tag);

/* Whether s is digits only (white space around them allowed), at most 76. */
static int
dk_number(const char *s)
{
	size_t digits = 0;

	s += strspn(s, " \t\r\n");
	while (*s >= '0' && *s <= '9') {
		s++;
		digits++;
	}
	s += strspn(s, " \t\r\n");
	return *s == '\0' && digits > 0 && digits <= 76;
}

/*
 * What libopendkim takes unchecked, checked as the builtin engine does:
 * d= a domain name (else it looks the key up under any text) and l=
 * digits (else "-5" is read as a huge length). libopendkim hands over the
 * values with white space taken out. NULL, or the permerror's reason.
 */
static const char *
dk_bad_tags(DKIM_SIGINFO *sig)
{
	const char *d = dk_tag(sig, "d"), *l = dk_tag(sig, "l");

	/* (an empty d= is libopendkim's own error) */
	if (d != NULL && d[0] != '\0' && !dns_name_ok(d, DNS_NAME_HOST_UTF8))
		return "signature syntax: d= is not a domain name";
	if (l != NULL && !dk_number(l))
		return "body length value invalid";
	return NULL;
}

/*
 * prescreen callback: signatures dk_bad_tags refuses are ignored by
 * libopendkim (no key lookup); dkim_msg_finish lists them as permerror.
 * (Signatures past the limit never reach libopendkim: see "shapes".)
 */
static DKIM_CBSTAT
dk_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	int i;

	(void)dkim;
	for (i = 0; i < nsigs; i++)
		if (dk_bad_tags(sigs[i]) != NULL)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static int
dk_setopt(DKIM_LIB *lib, int opt, void *val, size_t len, const char *name,
    char *why, size_t whylen)
{
	if (dkim_options(lib, DKIM_OP_SETOPT, opt, val, len) == DKIM_STAT_OK)
		return 0;
	snprintf(why, whylen, "libopendkim: cannot set option %s", name);
	return -1;
}

/*
 * Library options. The sizes must match libopendkim's fields exactly:
 * flags uint32_t, minkeybits and timeout u_int. No TMPFILES/KEEPFILES
 * (nothing written to disk), BADSIGHANDLES so malformed signatures are
 * still listed, no VERIFYONE so every signature is checked, no ACCEPTV05.
 * MINKEYBITS is 1 so libopendkim still verifies small keys and we can
 * report them ourselves as policy (RFC 8301).
 */
static int
dk_configure(DKIM_LIB *lib, char *why, size_t whylen)
{
	uint32_t flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = 1;
	unsigned int timeout = 10;

	if (dk_setopt(lib, DKIM_OPTS_FLAGS, &flags, sizeof flags, "flags",
	    why, whylen) < 0 ||
	    dk_setopt(lib, DKIM_OPTS_MINKEYBITS, &minbits, sizeof minbits,
	    "minkeybits", why, whylen) < 0 ||
	    dk_setopt(lib, DKIM_OPTS_TIMEOUT, &timeout, sizeof timeout,
	    "timeout", why, whylen) < 0)
		return -1;
	if (dkim_set_prescreen(lib, dk_prescreen) != DKIM_STAT_OK) {
		snprintf(why, whylen, "libopendkim: cannot set prescreen");
		return -1;
	}
	return 0;
}

/* Replaces the resolver; NULL close/init or dkim_close calls res_nclose. */
static void
dk_hook_dns(struct odk_verifier *v)
{
	(void)dkim_dns_set_query_service(v->lib, v);
	dkim_dns_set_query_start(v->lib, dk_q_start);
	dkim_dns_set_query_waitreply(v->lib, dk_q_wait);
	dkim_dns_set_query_cancel(v->lib, dk_q_cancel);
	dkim_dns_set_init(v->lib, NULL);
	dkim_dns_set_close(v->lib, NULL);
}

static void odk_verifier_free(struct odk_verifier *v);

static struct odk_verifier *
odk_verifier_new(unsigned max_signatures, char *why, size_t whylen)
{
	struct odk_verifier *v;

	v = calloc(1, sizeof *v);
	if (v == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	v->max_signatures = max_signatures;
	v->lib = dkim_init(NULL, NULL);
	if (v->lib == NULL) {
		snprintf(why, whylen, "libopendkim: dkim_init failed");
		free(v);
		return NULL;
	}
	dk_hook_dns(v);
	if (dk_configure(v->lib, why, whylen) < 0) {
		odk_verifier_free(v);
		return NULL;
	}
	return v;
}

static void
odk_verifier_free(struct odk_verifier *v)
{
	if (v == NULL)
		return;
	dkim_close(v->lib);
	free(v);
}

/* ---- body hashes, computed here ------------------------------------- */

/*
 * libopendkim canonicalises the body a byte at a time through a growing
 * string: a third of the milter's CPU under `make bench`. So when every
 * signature allows it, the body is not given to libopendkim at all: it
 * still verifies the header signature (DKIM_SIGFLAG_PASSED does not depend
 * on the body) and compares the empty body's hash with bh=, which sets
 * DKIM_SIGBH_MISMATCH and DKIM_SIGERROR_BADSIG; dk_own_bh() puts back what
 * the real body gives. Each signature's body hash is computed here while
 * the body streams in, one hash per (body canonicalisation, hash) pair.
 *
 * "Same verdicts" means libopendkim's canonicaliser, quirks included, not
 * RFC 6376's: the state machines below are dkim_canon_bodychunk() of
 * libopendkim 2.11 without DKIM_LIBFLAGS_FIXCRLF, made to move over runs
 * of ordinary bytes, and its verdict is a string comparison of base64
 * (bh= must be the canonical encoding). Quirks kept, among others: simple
 * drops a line's CRLF after a bare LF in it, writes a CR left over from the
 * previous chunk before the pending empty lines, and adds a CRLF at the end
 * only when nothing had left its 4 KB hash buffer yet (a short body without
 * a final CRLF gets one, a long one does not); relaxed drops a bare CR
 * before a non-space. A relaxed body that ends inside a word makes
 * libopendkim's dkim_eom fail ("CRLF at end of body missing"): there, one
 * byte "x" is given to libopendkim so that it fails the same way, and every
 * signature whose body hash it then leaves untested stays untested; the
 * lengths reported are what libopendkim had written by then (dk_bh_len).
 * Checked against the old way (body to libopendkim) on random bodies of
 * those bytes cut into random chunks: same results, reasons and lengths.
 *
 * A message with an l= signature keeps the old way (libopendkim hashes
 * the body): given no body, libopendkim would call every l= too large
 * (DKIM_SIGERROR_TOOLARGE_L). So does one with a signature whose hash or
 * canonicalisation this code does not know.
 * Memory: DK_NBH fixed buffers per message, whatever the body.
 */
static bool dk_setup_error(int err);
static const char *dk_tag(DKIM_SIGINFO *sig, const char *tag);

/* SP, HTAB, CR: the bytes that end a run in a relaxed word */
static const unsigned char dk_rx_stop[256] = {
	['\t'] = 1, [' '] = 1, ['\r'] = 1,
};

static void
dk_bh_flushout(struct dk_bh *g)
{
	if (g->outlen > 0 && !g->failed &&
	    EVP_DigestUpdate(g->ctx, g->out, g->outlen) != 1)
		g->failed = 1;
	g->outlen = 0;
}

/* Hashes n canonical bytes. */
static void
dk_bh_emit(struct dk_bh *g, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	g->total += n;
	if (n >= 256) {
		dk_bh_flushout(g);
		if (!g->failed && EVP_DigestUpdate(g->ctx, p, n) != 1)
			g->failed = 1;
		return;
	}
	if (g->outlen + n > sizeof g->out)
		dk_bh_flushout(g);
	memcpy(g->out + g->outlen, p, n);
	g->outlen += n;
}

/*
 * dkim_canon_buffer() for "simple": hashes the bytes and keeps
 * libopendkim's count of bytes written out of its hash buffer (n == 0 is
 * its flush), which decides the CRLF added at the end.
 */
static void
dk_bh_put(struct dk_bh *g, const unsigned char *p, size_t n)
{
	if (n == 0) {
		g->libwrote += g->libbuffered;
		g->libbuffered = 0;
		return;
	}
	if (g->libbuffered + n > DK_LIBHASHBUF) {
		g->libwrote += g->libbuffered;
		g->libbuffered = 0;
	}
	if (n >= DK_LIBHASHBUF)
		g->libwrote += n;
	else
		g->libbuffered += n;
	dk_bh_emit(g, p, n);
}

static void
dk_bh_flushblanks(struct dk_bh *g, int simple)
{
	for (; g->blanks > 0; g->blanks--) {
		if (simple)
			dk_bh_put(g, (const unsigned char *)"\r\n", 2);
		else
			dk_bh_emit(g, (const unsigned char *)"\r\n", 2);
	}
}

/* dkim_canon_bodychunk(), DKIM_CANON_SIMPLE */
static void
dk_bh_simple(struct dk_bh *g, const unsigned char *start, size_t len)
{
	const unsigned char *p = start, *end = start + len, *wrote = start, *q;
	size_t wlen = 0;

	while (p < end) {
		if (*p == '\n') {
			if (g->lastchar == '\r') {
				if (g->blankline)
					g->blanks++;
				else if (wlen == 1 || p == start)
					dk_bh_put(g, (const unsigned char *)"\r\n", 2);
				else
					dk_bh_put(g, wrote, wlen + 1);
				wrote = p + 1;
				wlen = 0;
				g->blankline = 1;
			}
			/* a bare LF is not counted in wlen (libopendkim) */
			g->lastchar = '\n';
			p++;
			continue;
		}
		if (p == start && g->lastchar == '\r')
			dk_bh_put(g, (const unsigned char *)"\r", 1);
		q = memchr(p, '\n', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (g->blankline) {
			const unsigned char *c;

			for (c = p; c < q && *c == '\r'; c++)
				;
			if (c < q) {
				dk_bh_flushblanks(g, 1);
				g->blankline = 0;
			}
		}
		wlen += (size_t)(q - p);
		g->lastchar = q[-1];
		p = q;
	}
	if (wlen > 0 && wrote[wlen - 1] == '\r')
		wlen--;
	dk_bh_put(g, wrote, wlen);
}

/* A word starts: libopendkim writes pending empty lines before it. */
static void
dk_bh_word(struct dk_bh *g)
{
	if (!g->pending) {
		g->mark = g->total;
		dk_bh_flushblanks(g, 0);
		g->pending = 1;
	}
	g->blankline = 0;
}

/* dkim_canon_bodychunk(), DKIM_CANON_RELAXED, words written as they come */
static void
dk_bh_relaxed(struct dk_bh *g, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *q, *last;

	while (p < end) {
		unsigned char c = *p;

		switch (g->state) {
		case 0:		/* start of line */
		case 1:		/* after WSP */
			if (c == ' ' || c == '\t') {
				g->state = 1;
				p++;
			} else if (c == '\r') {
				g->state = 2;
				p++;
			} else {
				if (g->state == 1) {
					dk_bh_flushblanks(g, 0);
					dk_bh_emit(g, (const unsigned char *)" ", 1);
				}
				dk_bh_word(g);
				g->state = 3;
			}
			break;
		case 2:		/* after CR */
			if (c == '\n') {
				if (g->blankline) {
					g->blanks++;
				} else {
					dk_bh_flushblanks(g, 0);
					dk_bh_emit(g, (const unsigned char *)"\r\n", 2);
					g->pending = 0;
					g->blankline = 1;
				}
				g->state = 0;
				p++;
			} else if (c == '\r') {
				dk_bh_word(g);
				dk_bh_emit(g, p, 1);
				p++;
			} else if (c == ' ' || c == '\t') {
				dk_bh_flushblanks(g, 0);
				g->pending = 0;
				g->state = 1;
				p++;
			} else {
				/* the CR is dropped (libopendkim) */
				dk_bh_word(g);
				g->state = 3;
			}
			break;
		default:	/* in a word */
			/*
			 * A single SP between two words comes out as it went
			 * in: the run goes on over it (the next word is the
			 * pending one from there).
			 */
			last = NULL;
			for (q = p; q < end; q++) {
				if (!dk_rx_stop[*q])
					continue;
				if (*q == ' ' && q + 1 < end && !dk_rx_stop[q[1]]) {
					last = q + 1;
					continue;
				}
				break;
			}
			if (last != NULL)
				g->mark = g->total + (unsigned long)(last - p);
			dk_bh_emit(g, p, (size_t)(q - p));
			p = q;
			if (p == end)
				break;
			if (*p == '\r') {
				g->state = 2;
			} else {
				g->pending = 0;
				g->state = 1;
			}
			p++;
			break;
		}
	}
}

static void
dk_bh_free(struct odk_msg *m)
{
	for (size_t i = 0; i < DK_NBH; i++) {
		EVP_MD_CTX_free(m->bh[i].ctx);
		m->bh[i].ctx = NULL;
		m->bh[i].used = 0;
	}
	m->ownbody = 0;
}

/* The hash for this signature's body canonicalisation and algorithm. */
static struct dk_bh *
dk_bh_find(struct odk_msg *m, DKIM_SIGINFO *sig, int create)
{
	dkim_canon_t hc = DKIM_CANON_SIMPLE, bc = DKIM_CANON_SIMPLE;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	int sha1;
	struct dk_bh *g;

	if (dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK ||
	    dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		return NULL;
	if (bc != DKIM_CANON_SIMPLE && bc != DKIM_CANON_RELAXED)
		return NULL;
	if (alg == DKIM_SIGN_RSASHA1)
		sha1 = 1;
	else if (alg == DKIM_SIGN_RSASHA256 || alg == DKIM_SIGN_ED25519SHA256)
		sha1 = 0;
	else
		return NULL;
	g = &m->bh[(bc == DKIM_CANON_RELAXED ? 2 : 0) + sha1];
	if (!g->used && !create)
		return NULL;
	if (!g->used) {
		memset(g, 0, sizeof *g);
		g->canon = bc;
		g->sha1 = sha1;
		g->blankline = 1;
		g->ctx = EVP_MD_CTX_new();
		if (g->ctx == NULL || EVP_DigestInit_ex(g->ctx,
		    sha1 ? EVP_sha1() : EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(g->ctx);
			g->ctx = NULL;
			return NULL;
		}
		g->used = 1;
	}
	return g;
}

/*
 * At EOH: one hash per pair in use, or the old way (ownbody stays 0).
 * Signatures libopendkim could not set up have no body hash in
 * libopendkim; they are hashed here too when their tags allow, which costs
 * time but cannot change a verdict.
 */
static void
dk_bh_setup(struct odk_msg *m)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i, order = 0;

	if (m->eoh_stat != DKIM_STAT_OK ||
	    dkim_getsiglist(m->dkim, &sigs, &nsigs) != DKIM_STAT_OK ||
	    sigs == NULL || nsigs <= 0)
		return;
	for (i = 0; i < nsigs; i++) {
		bool broken = dk_setup_error(dkim_sig_geterror(sigs[i]));
		struct dk_bh *g;

		if (dk_tag(sigs[i], "l") != NULL) {
			dk_bh_free(m);
			return;
		}
		g = dk_bh_find(m, sigs[i], 1);
		if (g == NULL && !broken) {
			dk_bh_free(m);
			return;
		}
		if (g != NULL && !broken && g->order == 0)
			g->order = ++order;
	}
	m->ownbody = 1;
}

static void
dk_bh_body(struct odk_msg *m, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < DK_NBH; i++) {
		struct dk_bh *g = &m->bh[i];

		if (!g->used)
			continue;
		if (g->canon == DKIM_CANON_SIMPLE)
			dk_bh_simple(g, p, n);
		else
			dk_bh_relaxed(g, p, n);
	}
}

/* dkim_canon_closebody(); returns 1 if libopendkim's would fail. */
static int
dk_bh_close(struct odk_msg *m)
{
	int unterminated = 0;

	for (size_t i = 0; i < DK_NBH; i++) {
		struct dk_bh *g = &m->bh[i];

		if (!g->used || g->done)
			continue;
		if (g->canon == DKIM_CANON_RELAXED && g->pending && g->order > 0)
			unterminated = 1;
		if (g->canon == DKIM_CANON_SIMPLE && g->libwrote == 0)
			dk_bh_emit(g, (const unsigned char *)"\r\n", 2);
		dk_bh_flushout(g);
		if (!g->failed &&
		    EVP_DigestFinal_ex(g->ctx, g->digest, &g->dlen) != 1)
			g->failed = 1;
		g->done = 1;
	}
	return unterminated;
}

/*
 * What libopendkim's dkim_sig_getcanonlen() would have said: all the bytes
 * hashed; but when its dkim_eom failed on an unterminated relaxed body, what
 * it had written by then: a relaxed hash, up to the pending word (and the
 * empty lines before it); a simple one, all of it if it was closed before
 * the first relaxed one in libopendkim's order, else what had left its 4 KB
 * buffer.
 */
static unsigned long
dk_bh_len(const struct odk_msg *m, const struct dk_bh *g)
{
	int first = 0;

	if (!g->done)
		return 0;
	if (!m->unterminated)
		return g->total;
	if (g->canon == DKIM_CANON_RELAXED)
		return g->pending ? g->mark : g->total;
	for (size_t i = 0; i < DK_NBH; i++)
		if (m->bh[i].used && m->bh[i].canon == DKIM_CANON_RELAXED &&
		    m->bh[i].order > 0 && (first == 0 || m->bh[i].order < first))
			first = m->bh[i].order;
	return g->order < first ? g->total : g->libwrote;
}

/*
 * Our verdict on a signature's body hash, in libopendkim's terms. It
 * compares base64(digest) with bh= as a string (strcmp) and, on mismatch,
 * sets DKIM_SIGERROR_BADSIG beside DKIM_SIGBH_MISMATCH; on a match an
 * UNKNOWN error becomes OK. Given no body, its own comparison was made with
 * the empty body's hash: *bh and *err are rewritten to what they would have
 * been with the body. Left alone: the old way, a signature not verified or
 * whose body hash libopendkim left untested (dkim_eom failed), and an error
 * set after the comparison (t=s, DKIM_SIGERROR_SUBDOMAIN).
 */
static void
dk_own_bh(struct odk_msg *m, DKIM_SIGINFO *sig, unsigned flags, int *bh,
    int *err)
{
	const char *tag;
	struct dk_bh *g;
	unsigned char enc[((EVP_MAX_MD_SIZE + 2) / 3) * 4 + 1];
	int match = 0;

	if (!m->ownbody || *bh == DKIM_SIGBH_UNTESTED ||
	    (flags & DKIM_SIGFLAG_PASSED) == 0)
		return;
	g = dk_bh_find(m, sig, 0);
	tag = dk_tag(sig, "bh");
	if (g != NULL && g->done && !g->failed && tag != NULL &&
	    g->dlen > 0 && g->dlen <= EVP_MAX_MD_SIZE) {
		EVP_EncodeBlock(enc, g->digest, (int)g->dlen);
		match = strcmp((const char *)enc, tag) == 0;
	}
	*bh = match ? DKIM_SIGBH_MATCH : DKIM_SIGBH_MISMATCH;
	if (*err == DKIM_SIGERROR_BADSIG || *err == DKIM_SIGERROR_OK ||
	    *err == DKIM_SIGERROR_UNKNOWN)
		*err = match ? DKIM_SIGERROR_OK : DKIM_SIGERROR_BADSIG;
}

/* ---- one message ---------------------------------------------------- */

static struct odk_msg *
odk_msg_new(struct odk_verifier *v, struct dns_ctx *dns, const char *id)
{
	struct odk_msg *m;
	DKIM_STAT st = DKIM_STAT_OK;

	if (v == NULL || dns == NULL)
		return NULL;
	/* ~175 KB, mostly result and lookup slots filled as they are used:
	 * zero only what comes before them (a profile found the whole
	 * calloc at 5 % of the CPU per message) */
	m = malloc(sizeof *m);
	if (m == NULL)
		return NULL;
	memset(m, 0, offsetof(struct odk_msg, lookups));
	m->nres = 0;
	m->v = v;
	m->dns = dns;
	m->eoh_stat = DKIM_STAT_OK;
	dkim_copy(m->id, sizeof m->id, id != NULL && id[0] != '\0' ? id : "-", (size_t)-1);
	m->dkim = dkim_verify(v->lib, (const unsigned char *)m->id, NULL, &st);
	if (m->dkim == NULL) {
		log_err("dkim %s: dkim_verify: %s", m->id, dkim_getresultstr(st));
		free(m);
		return NULL;
	}
	(void)dkim_set_user_context(m->dkim, m);
	return m;
}

static void
dk_log_stat(const struct odk_msg *m, const char *what, DKIM_STAT st)
{
	const char *err = dkim_geterror(m->dkim);

	log_debug("dkim %s: %s: %s%s%s", m->id, what, dkim_getresultstr(st),
	    err != NULL ? ": " : "", err != NULL ? err : "");
}

/* ---- shapes ---------------------------------------------------------- */

/*
 * libopendkim 2.11's costs, read in its source and measured (README, "DKIM
 * engines"), all before any key lookup and for every DKIM-Signature it is
 * given, ignored by the prescreen or not:
 * - dkim_canon_selecthdrs() walks the whole header list once for every
 *   name of h= (up to 2048 in the 4 KB it reads): names x fields;
 * - dkim_add_plist() searches the tags kept so far that start with the
 *   same character for each new one: tags squared per field;
 * - each signature gets its own header hash, and a body hash for each l=.
 * So the DKIM-Signature fields are kept here as they come, and at the end
 * of the header only the first max_signatures of them are given to
 * libopendkim, if they are within DK_MAX_TAGS tags and DK_MAX_PAIRS; the
 * others get their result here and libopendkim never sees them.
 *
 * Giving them after the other fields changes no hash: libopendkim takes
 * the fields of a name from the bottom up among the fields of that name
 * only, so only the order among DKIM-Signature fields counts, and it is
 * kept. What does change is which DKIM-Signature fields an h= that names
 * "DKIM-Signature" gets when some were kept back: dk_signs_kept_back()
 * finds such a signature and its verdict is not taken (permerror).
 */

static int
dk_is_signature(const char *name, size_t nl)
{
	/* libopendkim's test: white space before the colon does not count */
	while (nl > 0 && isspace((unsigned char)name[nl - 1]))
		nl--;
	return nl == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0;
}

/*
 * A signature not given to libopendkim: listed with what its tags say; the
 * caller sets result and reason in the result returned.
 */
static struct dkim_sig_result *
dk_keep_back(struct odk_msg *m, size_t pos, const char *value, size_t vl)
{
	struct dk_sig *s = &m->sigs[pos];
	struct dkim_sig_result *r = &m->res[pos];
	struct dkim_tags tags;

	free(s->field);
	s->field = NULL;
	s->fate = DK_KEPT_BACK;
	memset(r, 0, sizeof *r);
	if (dkim_tags_parse(value, vl, &tags, r->why, sizeof r->why) == 0)
		dkim_result_tags(r, &tags);
	r->why[0] = '\0';
	return r;
}

/* A refused signature's reason (permerror, which no DMARC policy escapes). */
static void
dk_refuse(struct odk_msg *m, struct dkim_sig_result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
dk_refuse(struct odk_msg *m, struct dkim_sig_result *r, const char *fmt, ...)
{
	va_list ap;

	r->result = DKIM_RES_PERMERROR;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	log_debug("dkim %s: d=%s s=%s: %s: %s", m->id, r->domain, r->selector,
	    dkim_res_str(r->result), r->why);
}

/* A DKIM-Signature field: kept for the end of the header, or refused. */
static void
dk_signature_field(struct odk_msg *m, const char *name, size_t nl,
    const char *value, size_t vl)
{
	size_t pos = m->nsigfields++;
	struct dkim_tags_shape shape;
	struct dk_sig *s;

	if (pos >= DKIM_MAX_LISTED)
		return;		/* neither given nor listed */
	s = &m->sigs[pos];
	if (pos >= m->v->max_signatures) {
		dkim_result_not_checked(dk_keep_back(m, pos, value, vl), m->v->max_signatures);
		return;
	}
	dkim_tags_shape(value, vl, &shape);
	if (shape.tags > DK_MAX_TAGS) {
		dk_refuse(m, dk_keep_back(m, pos, value, vl),
		    "signature syntax: more than %d tags", DK_MAX_TAGS);
		return;
	}
	s->names = shape.h_names < DK_HLIST / 2 ? shape.h_names : DK_HLIST / 2;
	if ((s->field = malloc(nl + vl + 2)) == NULL) {
		dk_refuse(m, dk_keep_back(m, pos, value, vl),
		    "signature not evaluated (out of memory)");
		return;
	}
	memcpy(s->field, name, nl);
	s->field[nl] = ':';
	memcpy(s->field + nl + 1, value, vl + 1);
	s->len = nl + vl + 1;
	s->vofs = nl + 1;
	s->fate = DK_PENDING;
}

/* One field to libopendkim. */
static void
dk_give(struct odk_msg *m, unsigned char *field, size_t len)
{
	DKIM_STAT st = dkim_header(m->dkim, field, len);

	if (st != DKIM_STAT_OK)
		dk_log_stat(m, "header", st);
}

/*
 * How often text names DKIM-Signature, in any case, white space left out
 * (at least as often as its h= does).
 *
 * libopendkim 2.11's dkim_canon_selecthdrs() keeps the fields an h=
 * selects in an array of one slot per header field, and clears the slot
 * after the last one taken for every name of h=: once every field is
 * taken, each name left over writes one pointer past the array (a heap
 * overflow, which glibc aborts on). Every field includes every
 * DKIM-Signature field given, so an h= that names DKIM-Signature fewer
 * times than that cannot take them all; a signature that might is refused.
 */
static size_t
dk_names_signature(const char *text, size_t len)
{
	static const char want[] = "dkim-signature";
	size_t n = 0, k = 0;

	for (size_t i = 0; i < len; i++) {
		int c = tolower((unsigned char)text[i]);

		if (isspace(c))
			continue;
		if (c == want[k])
			k++;
		else
			k = c == want[0];	/* 'd' is in want only once */
		if (k == sizeof want - 1) {
			n++;
			k = 0;
		}
	}
	return n;
}

/* A pending signature refused instead of given. */
static void
dk_refuse_pending(struct odk_msg *m, size_t pos, const char *why)
{
	struct dk_sig *s = &m->sigs[pos];
	char *copy = s->field;

	s->field = NULL;
	dk_refuse(m, dk_keep_back(m, pos, copy + s->vofs, s->len - s->vofs), "%s", why);
	free(copy);
}

/* At the end of the header: the kept signatures within the bounds, in order. */
static void
dk_give_signatures(struct odk_msg *m)
{
	size_t n = m->nsigfields < DKIM_MAX_LISTED ? m->nsigfields : DKIM_MAX_LISTED;
	size_t fields = m->nfields, pos, given;
	char why[160];
	int again;

	for (pos = 0; pos < n; pos++)
		fields += m->sigs[pos].fate == DK_PENDING;
	for (pos = 0; pos < n; pos++) {
		struct dk_sig *s = &m->sigs[pos];

		if (s->fate == DK_PENDING && s->names > 0 && s->names * fields > DK_MAX_PAIRS) {
			snprintf(why, sizeof why, "not verified: h= of %zu names over %zu "
			    "header fields is past the bound of %lu (libopendkim engine)",
			    s->names, fields, DK_MAX_PAIRS);
			dk_refuse_pending(m, pos, why);
		}
	}
	/* dk_names_signature: until no signature left could take them all */
	do {
		again = 0;
		for (given = 0, pos = 0; pos < n; pos++)
			given += m->sigs[pos].fate == DK_PENDING;
		for (pos = 0; pos < n; pos++) {
			struct dk_sig *s = &m->sigs[pos];

			if (s->fate == DK_PENDING &&
			    dk_names_signature(s->field + s->vofs, s->len - s->vofs) >= given) {
				dk_refuse_pending(m, pos, "not verified: h= may name every "
				    "DKIM-Signature field (libopendkim engine)");
				again = 1;
			}
		}
	} while (again);
	for (pos = 0; pos < n; pos++) {
		struct dk_sig *s = &m->sigs[pos];

		if (s->fate != DK_PENDING)
			continue;
		dk_give(m, (unsigned char *)s->field, s->len);
		free(s->field);
		s->field = NULL;
		s->fate = DK_GIVEN;
	}
}

/*
 * Whether the h= libopendkim read for sig names DKIM-Signature fields some
 * of which were kept back: it takes the last k DKIM-Signature fields for k
 * such names, and would have hashed others than the signer's.
 */
static int
dk_signs_kept_back(const struct odk_msg *m, DKIM_SIGINFO *sig)
{
	const char *p = dk_tag(sig, "h"), *end, *item;
	size_t k = 0, total = m->nsigfields, pos, n;

	if (p == NULL)
		return 0;
	end = p + strnlen(p, DK_HLIST - 1);	/* what libopendkim selects by */
	while (dkim_list_item(&p, end, &item, &n))
		k += dk_is_signature(item, n);
	if (k == 0)
		return 0;
	for (pos = total > k ? total - k : 0; pos < total; pos++)
		if (pos >= DKIM_MAX_LISTED || m->sigs[pos].fate != DK_GIVEN)
			return 1;
	return 0;
}

static void
odk_msg_header(struct odk_msg *m, const char *name, const char *value)
{
	size_t nl, vl;
	unsigned char *buf;

	if (m == NULL || m->finished || name == NULL || value == NULL)
		return;
	nl = strlen(name);
	vl = strlen(value);
	/* no limit of its own: a field the header list took is verified as
	 * it is, whatever its size (a signed 100 KB Cc that Postfix passed) */
	if (nl == 0)
		return;
	if (dk_is_signature(name, nl)) {
		dk_signature_field(m, name, nl, value, vl);
		return;
	}
	buf = malloc(nl + vl + 2);
	if (buf == NULL)
		return;
	memcpy(buf, name, nl);
	buf[nl] = ':';
	memcpy(buf + nl + 1, value, vl + 1);
	dk_give(m, buf, nl + vl + 1);
	m->nfields++;
	free(buf);
}

static void
odk_msg_eoh(struct odk_msg *m)
{
	DKIM_STAT st;

	if (m == NULL || m->finished)
		return;
	dk_give_signatures(m);
	dk_enter(m);
	st = dkim_eoh(m->dkim);
	dk_leave();
	m->eoh_stat = st;
	if (st == DKIM_STAT_NOSIG)
		m->nosig = 1;
	else if (st != DKIM_STAT_OK)
		dk_log_stat(m, "end of headers", st);
	else
		dk_bh_setup(m);
}

static void
odk_msg_body(struct odk_msg *m, const unsigned char *p, size_t n)
{
	DKIM_STAT st;

	if (m == NULL || m->finished || m->nosig || p == NULL || n == 0)
		return;
	if (m->ownbody) {
		dk_bh_body(m, p, n);
		return;
	}
	/* dkim_body does not write to the buffer; its prototype lacks const */
	st = dkim_body(m->dkim, (unsigned char *)(uintptr_t)p, n);
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG)
		dk_log_stat(m, "body", st);
}

/* ---- results -------------------------------------------------------- */

static const char *
dk_tag(DKIM_SIGINFO *sig, const char *tag)
{
	return (const char *)dkim_sig_gettagvalue(sig, false,
	    (unsigned char *)(uintptr_t)tag);
}

static void
dk_fill_identity(struct dkim_sig_result *r, const char *i)
{
	unsigned char dec[sizeof r->identity];
	int n;

	if (i == NULL) {
		if (r->domain[0] != '\0')
			snprintf(r->identity, sizeof r->identity, "@%s", r->domain);
		return;
	}
	n = dkim_qp_decode((unsigned char *)(uintptr_t)i, dec, (int)sizeof dec - 1);
	if (n < 0 || (size_t)n >= sizeof dec) {
		dkim_copy(r->identity, sizeof r->identity, i, (size_t)-1);
		return;
	}
	dec[n] = '\0';
	dkim_copy(r->identity, sizeof r->identity, (const char *)dec, (size_t)-1);
}

/* Errors found while reading the signature, before a canon was set up. */
static bool
dk_setup_error(int err)
{
	switch (err) {
	case DKIM_SIGERROR_VERSION: case DKIM_SIGERROR_DOMAIN:
	case DKIM_SIGERROR_EXPIRED: case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_TIMESTAMPS: case DKIM_SIGERROR_INVALID_HC:
	case DKIM_SIGERROR_INVALID_BC: case DKIM_SIGERROR_MISSING_A:
	case DKIM_SIGERROR_INVALID_A: case DKIM_SIGERROR_MISSING_H:
	case DKIM_SIGERROR_INVALID_L: case DKIM_SIGERROR_INVALID_Q:
	case DKIM_SIGERROR_INVALID_QO: case DKIM_SIGERROR_MISSING_D:
	case DKIM_SIGERROR_EMPTY_D: case DKIM_SIGERROR_MISSING_S:
	case DKIM_SIGERROR_EMPTY_S: case DKIM_SIGERROR_MISSING_B:
	case DKIM_SIGERROR_EMPTY_B: case DKIM_SIGERROR_CORRUPT_B:
	case DKIM_SIGERROR_MISSING_BH: case DKIM_SIGERROR_EMPTY_BH:
	case DKIM_SIGERROR_EMPTY_H: case DKIM_SIGERROR_INVALID_H:
	case DKIM_SIGERROR_MISSING_V: case DKIM_SIGERROR_EMPTY_V:
		return true;
	default:
		return false;
	}
}

/* Tags, key size and lengths; never reads what setup did not build. */
static void
dk_fill_tags(struct odk_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r)
{
	const char *l = dk_tag(sig, "l");
	unsigned int bits = 0;
	ssize_t canon = 0, signlen = 0;

	dkim_copy(r->domain, sizeof r->domain, dk_tag(sig, "d"), (size_t)-1);
	dkim_copy(r->selector, sizeof r->selector, dk_tag(sig, "s"), (size_t)-1);
	dkim_copy(r->algorithm, sizeof r->algorithm, dk_tag(sig, "a"), (size_t)-1);
	dkim_copy(r->b_prefix, 9, dk_tag(sig, "b"), (size_t)-1);
	dk_fill_identity(r, dk_tag(sig, "i"));
	{
		const char *h = dk_tag(sig, "h");

		dkim_sig_set_hlist(r, h, h != NULL ? strlen(h) : 0);
	}
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK &&
	    strncmp(r->algorithm, "rsa-", 4) == 0)
		r->key_bits = bits;
	if (l != NULL) {
		r->has_length = 1;
		if (dk_number(l))
			r->length = strtoul(l, NULL, 10);
	}
	/* dkim_sig_getcanonlen dereferences the body canon: only after setup */
	if (!dk_setup_error(dkim_sig_geterror(sig)) &&
	    (dkim_sig_getflags(sig) & DKIM_SIGFLAG_IGNORE) == 0 &&
	    dkim_sig_getcanonlen(m->dkim, sig, NULL, &canon, &signlen) ==
	    DKIM_STAT_OK && canon > 0)
		r->body_len = (unsigned long)canon;
	/* libopendkim hashed no body: the length is ours */
	if (m->ownbody && !dk_setup_error(dkim_sig_geterror(sig)) &&
	    (dkim_sig_getflags(sig) & DKIM_SIGFLAG_IGNORE) == 0) {
		struct dk_bh *g = dk_bh_find(m, sig, 0);

		r->body_len = g != NULL ? dk_bh_len(m, g) : 0;
	}
}

static const struct dk_lookup *
dk_find_lookup(const struct odk_msg *m, const char *name)
{
	for (size_t i = m->nlookups; i > 0; i--)
		if (strcasecmp(m->lookups[i - 1].name, name) == 0)
			return &m->lookups[i - 1];
	return NULL;
}

/*
 * KEYFAIL: libopendkim only knows the lookup failed; the dns module why.
 * The key name is made from the signature's own s= and d=, not from r's
 * copies (cut at their sizes), so that a name that cannot be looked up is
 * permerror whether or not a lookup was made and kept.
 */
static void
dk_keyfail(const struct odk_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r)
{
	const char *sel = dk_tag(sig, "s"), *dom = dk_tag(sig, "d");
	const struct dk_lookup *l;
	char name[DK_NAMELEN], shown[DK_NAMELEN];
	int n;

	r->result = DKIM_RES_PERMERROR;
	n = snprintf(name, sizeof name, "%s._domainkey.%s", sel != NULL ? sel : "",
	    dom != NULL ? dom : "");
	if (n < 0 || (size_t)n >= sizeof name) {
		dkim_why(r, "invalid key name (too long)");
		return;
	}
	dkim_copy(shown, sizeof shown, name, (size_t)-1);
	if (!dns_name_ok(name, DNS_NAME_HOST | DNS_NAME_FINAL_DOT)) {
		/* the signature names an impossible key: not worth a retry */
		dkim_why(r, "invalid key name %s", shown);
		return;
	}
	l = dk_find_lookup(m, name);
	if (l != NULL && (l->status == DNS_NXDOMAIN || l->status == DNS_NODATA)) {
		dkim_why(r, "no key for %s", l->name);
		return;
	}
	if (l != NULL && l->status == DNS_BADNAME) {
		dkim_why(r, "invalid key name %s", l->name);
		return;
	}
	r->result = DKIM_RES_TEMPERROR;
	if (l == NULL)
		dkim_why(r, "DNS error: key lookup failed");
	else
		dkim_why(r, "DNS error: %s", l->why);
}

static void
dk_perm(struct dkim_sig_result *r, const char *prefix, int err)
{
	const char *s = dkim_sig_geterrorstr(err);

	r->result = DKIM_RES_PERMERROR;
	dkim_why(r, "%s%s", prefix,
	    s != NULL ? s : "unknown error");
}

/* Maps libopendkim's per-signature error code to result and reason. */
static void
dk_map_error(const struct odk_msg *m, DKIM_SIGINFO *sig,
    struct dkim_sig_result *r)
{
	int err = dkim_sig_geterror(sig);

	r->result = DKIM_RES_PERMERROR;
	switch (err) {
	case DKIM_SIGERROR_NOKEY:
		dkim_why(r, "no key for %s._domainkey.%s",
		    r->selector, r->domain);
		break;
	case DKIM_SIGERROR_KEYFAIL:
		dk_keyfail(m, sig, r);
		break;
	case DKIM_SIGERROR_KEYREVOKED:
		dkim_why(r, "key revoked (empty p=)");
		break;
	case DKIM_SIGERROR_EXPIRED:
		dkim_why(r, "signature expired");
		break;
	case DKIM_SIGERROR_FUTURE:
		dkim_why(r, "signature in the future");
		break;
	case DKIM_SIGERROR_INVALID_A:
	case DKIM_SIGERROR_MISSING_A:
		dkim_why(r, "unsupported algorithm");
		break;
	case DKIM_SIGERROR_VERSION:
		dkim_why(r, "unsupported signature version");
		break;
	case DKIM_SIGERROR_MULTIREPLY:
		dkim_why(r, "key syntax: more than one key record");
		break;
	case DKIM_SIGERROR_DNSSYNTAX: case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH: case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_NOTEMAILKEY: case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN: case DKIM_SIGERROR_KEYDECODE:
		dk_perm(r, "key syntax: ", err);
		break;
	case DKIM_SIGERROR_BADSIG:
		r->result = DKIM_RES_FAIL;
		dkim_why(r, "signature did not verify");
		break;
	case DKIM_SIGERROR_UNKNOWN:
		dkim_why(r, "signature not evaluated");
		break;
	default:
		dk_perm(r, "", err);
		break;
	}
}

/* libopendkim's own words about a signature that did not pass. */
static void
dk_log_sig(const struct odk_msg *m, DKIM_SIGINFO *sig,
    const struct dkim_sig_result *r)
{
	const char *ssl = dkim_sig_getsslbuf(sig);

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	log_debug("dkim %s: d=%s s=%s: %s: %s%s%s", m->id, r->domain,
	    r->selector, dkim_res_str(r->result), r->why,
	    ssl != NULL && ssl[0] != '\0' ? "; openssl: " : "",
	    ssl != NULL ? ssl : "");
}

static void
dk_evaluate(struct odk_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r)
{
	unsigned flags = dkim_sig_getflags(sig);
	int bh = dkim_sig_getbh(sig);
	int err = dkim_sig_geterror(sig);

	dk_own_bh(m, sig, flags, &bh, &err);
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH &&
	    (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_UNKNOWN)) {
		r->result = DKIM_RES_PASS;
		r->why[0] = '\0';
	} else if ((flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    bh == DKIM_SIGBH_MISMATCH) {
		r->result = DKIM_RES_FAIL;
		dkim_why(r, "body hash mismatch (body altered)");
	} else {
		dk_map_error(m, sig, r);
	}
	r->testing = (flags & DKIM_SIGFLAG_TESTKEY) != 0;
	dkim_result_rules(r);
	if (r->result != DKIM_RES_PASS)
		dk_log_sig(m, sig, r);
}

/* Runs signatures libopendkim left unprocessed (it stops at EOH errors). */
static void
dk_process_rest(struct odk_msg *m, DKIM_SIGINFO **sigs, int nsigs)
{
	int i;
	DKIM_STAT st;

	for (i = 0; i < nsigs; i++) {
		unsigned flags = dkim_sig_getflags(sigs[i]);

		if ((flags & (DKIM_SIGFLAG_IGNORE | DKIM_SIGFLAG_PROCESSED)) != 0 ||
		    dkim_sig_geterror(sigs[i]) != DKIM_SIGERROR_UNKNOWN)
			continue;
		dk_enter(m);
		st = dkim_sig_process(m->dkim, sigs[i]);
		dk_leave();
		if (st != DKIM_STAT_OK)
			dk_log_stat(m, "signature", st);
	}
}

/* libopendkim's verdict on one signature it was given. */
static void
dk_collect_one(struct odk_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r)
{
	const char *bad;

	memset(r, 0, sizeof *r);
	dk_fill_tags(m, sig, r);
	/* libopendkim's own syntax errors first, as the builtin engine's order */
	if (!dk_setup_error(dkim_sig_geterror(sig)) && (bad = dk_bad_tags(sig)) != NULL) {
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "%s", bad);
		dkim_result_rules(r);
		dk_log_sig(m, sig, r);
		return;
	}
	dk_evaluate(m, sig, r);
	/* a verdict on other DKIM-Signature fields than the signer's (shapes) */
	if ((r->result == DKIM_RES_PASS || r->result == DKIM_RES_FAIL ||
	    r->result == DKIM_RES_POLICY) && dk_signs_kept_back(m, sig)) {
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "not verified: h= names DKIM-Signature fields past the "
		    "limit of %u signatures", m->v->max_signatures);
		dk_log_sig(m, sig, r);
	}
}

/*
 * One result per DKIM-Signature field in header order (up to
 * DKIM_MAX_LISTED): libopendkim's list holds the given ones, in order; the
 * others have theirs already. Should libopendkim have listed another
 * number (it failed to keep one, out of memory), no verdict is matched to
 * a signature it may not belong to.
 */
static void
dk_collect(struct odk_msg *m, DKIM_SIGINFO **sigs, int nsigs)
{
	size_t n = m->nsigfields < DKIM_MAX_LISTED ? m->nsigfields : DKIM_MAX_LISTED;
	size_t given = 0;
	int k = 0;

	for (size_t pos = 0; pos < n; pos++)
		given += m->sigs[pos].fate == DK_GIVEN;
	if (given != (size_t)nsigs) {
		if (given > 0)
			log_err("dkim %s: libopendkim lists %d of the %zu signatures given",
			    m->id, nsigs, given);
		nsigs = 0;
	}
	for (size_t pos = 0; pos < n; pos++) {
		struct dk_sig *s = &m->sigs[pos];
		struct dkim_sig_result *r = &m->res[pos];

		if (s->fate == DK_KEPT_BACK)
			continue;
		if (s->fate == DK_GIVEN && k < nsigs) {
			dk_collect_one(m, sigs[k++], r);
			continue;
		}
		/* never given (no end of header), or not matched to libopendkim's list */
		free(s->field);
		s->field = NULL;
		memset(r, 0, sizeof *r);
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "signature not evaluated");
	}
	m->nres = n;
}

static int
odk_msg_finish(struct odk_msg *m, const struct dkim_sig_result **res,
    size_t *nres, const char **why)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	DKIM_STAT st;

	*res = NULL;
	*nres = 0;
	*why = NULL;
	if (m == NULL) {
		*why = "no message";
		return -1;
	}
	if (!m->finished) {
		m->finished = 1;
		/* see "body hashes": libopendkim must fail as it would have */
		if (m->ownbody && (m->unterminated = dk_bh_close(m)) != 0)
			(void)dkim_body(m->dkim, (unsigned char *)(uintptr_t)"x", 1);
		if (!m->nosig) {
			dk_enter(m);
			st = dkim_eom(m->dkim, NULL);
			dk_leave();
			if (st != DKIM_STAT_OK)
				dk_log_stat(m, "end of message", st);
		}
		if (dkim_getsiglist(m->dkim, &sigs, &nsigs) != DKIM_STAT_OK ||
		    sigs == NULL || nsigs < 0)
			nsigs = 0;
		if (nsigs > 0)
			dk_process_rest(m, sigs, nsigs);
		dk_collect(m, sigs, nsigs);
	}
	*res = m->res;
	*nres = m->nres;
	return 0;
}

static void
odk_msg_free(struct odk_msg *m)
{
	if (m == NULL)
		return;
	if (m->dkim != NULL)
		(void)dkim_free(m->dkim);
	dk_bh_free(m);
	for (size_t i = 0; i < DKIM_MAX_LISTED; i++)
		free(m->sigs[i].field);
	free(m);
}

/* ---- the engine's entry points (dkim_engine.h) ---- */

static void *
ops_verifier_new(unsigned max_signatures, char *why, size_t whylen)
{
	return odk_verifier_new(max_signatures, why, whylen);
}

static void
ops_verifier_free(void *v)
{
	odk_verifier_free(v);
}

static void *
ops_msg_new(void *v, struct dns_ctx *dns, const char *id)
{
	return odk_msg_new(v, dns, id);
}

static void
ops_header(void *m, const char *name, const char *value)
{
	odk_msg_header(m, name, value);
}

static void
ops_eoh(void *m)
{
	odk_msg_eoh(m);
}

static void
ops_body(void *m, const unsigned char *p, size_t n)
{
	odk_msg_body(m, p, n);
}

static int
ops_finish(void *m, const struct dkim_sig_result **res, size_t *nres,
    const char **why)
{
	return odk_msg_finish(m, res, nres, why);
}

static void
ops_msg_free(void *m)
{
	odk_msg_free(m);
}

const struct dkim_engine_ops dkim_opendkim_ops = {
	.name = "libopendkim",
	.verifier_new = ops_verifier_new,
	.verifier_free = ops_verifier_free,
	.msg_new = ops_msg_new,
	.header = ops_header,
	.eoh = ops_eoh,
	.body = ops_body,
	.finish = ops_finish,
	.msg_free = ops_msg_free,
};
