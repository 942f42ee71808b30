/*
 * dmarc: DMARC evaluation for one message, on the SPF and DKIM results the
 * caller already has, under RFC 9989 (the default) or RFC 7489.
 *
 * What it promises:
 * - The organizational domain comes from the RFC 9989 DNS tree walk
 *   (DMARC_DISCOVERY_TREEWALK) or from libpsl with Debian's public suffix
 *   list (DMARC_DISCOVERY_PSL, RFC 7489 section 3.2). Names are compared
 *   as lower-case A-labels: U-labels (SMTPUTF8 From) are converted with
 *   libidn2 first. One-character labels (x.com, t.co) are ordinary names.
 * - The tree walk (RFC 9989 4.10): ask _dmarc.<name>, then walk up one
 *   label at a time (a name of 8 or more labels jumps to its last 7
 *   labels), at most 8 queries, and stop at a usable record with psd=n or
 *   psd=y (also at the starting name). The organizational domain is the
 *   name with psd=n; else one label below a psd=y name other than the
 *   start; else the shortest name with a usable record; else the name.
 * - Policy discovery: the record at the From domain; else (PSL) the one at
 *   its organizational domain (RFC 7489 6.6.3); else (tree walk, RFC 9989
 *   4.10.1) the one at its organizational domain, else the one of its
 *   public suffix domain (a psd=y record found by the walk). Records in
 *   between are never the policy record.
 * - A TXT record is a DMARC record when it starts with "v", optional
 *   blanks, "=", optional blanks and "DMARC1" (exact case) followed by the
 *   end, blanks or ";". Other TXT records at a _dmarc name are discarded,
 *   and when one looks like a DMARC record (v=dmarc1, "p=reject;
 *   v=DMARC1", a blank before v=) the outcome says which and why
 *   (outcome.discarded), instead of a bare "no DMARC record".
 * - Result: pass when SPF passed for a domain aligned with the From
 *   domain, or a passing DKIM signature's d= is aligned; none when no
 *   policy record applies. With a usable record and no aligned pass:
 *   temperror when an aligned identifier's result is pending on DNS (SPF
 *   or DKIM temperror), or DNS trouble in a tree walk leaves a passing
 *   identifier's alignment unknown: a retry could pass; fail otherwise.
 *   An identifier that is not aligned can never make DMARC pass, so its
 *   DNS trouble never turns fail into temperror. Relaxed = same
 *   organizational domain; strict = same name.
 *
 * Where the two standards differ (DMARC_STD_RFC9989 / DMARC_STD_RFC7489):
 * - Several DMARC records at a name: 9989 discards them all and discovery
 *   goes on (the walk to the organizational domain); 7489 applies no
 *   DMARC: permerror "N DMARC records at _dmarc.D" (n_records = N).
 * - A record that breaks the tag-list grammar (a term without "=", a bad
 *   tag name, a tag given twice, a control byte): 9989 discards the bad
 *   terms and uses the rest (a tag given twice keeps its first value),
 *   with a note; 7489 (as before): permerror "DMARC record syntax: ...".
 *   A record whose version term itself is broken ("v=DMARC1 p=none") is
 *   discarded under 9989.
 * - pct= (gone in RFC 9989) is ignored under 9989, applied under 7489 as
 *   one policy level milder while pct < 100; t=y (RFC 9989) makes the
 *   applied policy one level milder under 9989 and is ignored under 7489.
 *   outcome.applied is the policy after these options.
 * - np= (non-existent subdomains): 9989: the From domain does not exist
 *   when a query for it gets NXDOMAIN (RFC 8020); 7489 (with RFC 9091's
 *   np=): NXDOMAIN or NODATA for A, AAAA and MX. np= applies only when the
 *   record was found above the From domain. DNS trouble in that check:
 *   the sp/p policy is used; if the result is then fail, it is temperror.
 * - A-R: RFC 9989 registers polrec.p and polrec.domain (the record's p=
 *   and where it was found), RFC 7489 neither; policy.dmarc is registered
 *   for no DMARC method (fields.c writes polrec.* only under 9989).
 *
 * Both standards:
 * - Not exactly one distinct From domain (none, or several different
 *   ones): permerror, with the domains in why. The same From domain given
 *   twice counts once. A From domain that is not a valid domain name:
 *   permerror.
 * - p= absent or invalid, or sp=/np= invalid: with at least one valid
 *   rua= URI the record acts as p=none; without, no policy applies:
 *   permerror (RFC 7489 6.6.3, RFC 9989 4.10.1). p_present = 0 records a
 *   missing p= (Google wants p= written: the rules layer checks it).
 * - Other known tags with bad values (adkim, aspf, pct, fo, t, psd, ri,
 *   rf, rua/ruf without a valid URI): the default is used, the tag's bit
 *   is set in record.invalid, and why notes it. Unknown tags are ignored.
 * - DNS trouble (SERVFAIL/refused, timeout, malformed answer) during
 *   record discovery or a tree walk: temperror. NXDOMAIN/NODATA are "no
 *   record". A _dmarc name over 253 octets is "no record" (never asked).
 * - The organizational domain the other method would choose is computed
 *   too (PSL mode: the tree walk, through DNS; tree-walk mode: the public
 *   suffix list); org_other holds it when the two differ: a receiver on
 *   the other method judges such a message differently.
 *
 * Threads: a struct dmarc is created once, is read-only afterwards and
 * may be shared by all threads; every lookup goes through the caller's
 * dns_ctx (one per check and thread). Errors are values with a reason a
 * person can read; nothing here exits or aborts.
 */
#ifndef SC_DMARC_H
#define SC_DMARC_H

#include <stddef.h>

#include "dkim.h"
#include "dns.h"
#include "spf.h"

#define DMARC_DOMAIN_MAX	256	/* 253 octets + NUL, rounded */
#define DMARC_URI_MAX		512	/* rua= / ruf= value kept (longer: truncated, noted) */
#define DMARC_MAX_FROM		16	/* From domains looked at; more: permerror */
#define DMARC_WALK_MAX		8	/* tree-walk queries per name (RFC 9989) */

enum dmarc_discovery { DMARC_DISCOVERY_PSL = 0, DMARC_DISCOVERY_TREEWALK };
enum dmarc_standard { DMARC_STD_RFC9989 = 0, DMARC_STD_RFC7489 };

enum dmarc_res {
	DMARC_RES_NONE = 0,	/* no DMARC record for the From domain */
	DMARC_RES_PASS,
	DMARC_RES_FAIL,
	DMARC_RES_TEMPERROR,	/* DNS trouble */
	DMARC_RES_PERMERROR,	/* several records, broken record, not one From domain */
	DMARC_RES_COUNT
};

enum dmarc_policy {
	DMARC_POLICY_UNSET = 0,	/* tag absent / no policy applies */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
	DMARC_POLICY_COUNT
};

enum dmarc_align { DMARC_ALIGN_RELAXED = 0, DMARC_ALIGN_STRICT };

enum dmarc_psd { DMARC_PSD_U = 0, DMARC_PSD_Y, DMARC_PSD_N };

/* Bits for dmarc_record.present / .invalid */
#define DMARC_TAG_P	0x0001u
#define DMARC_TAG_SP	0x0002u
#define DMARC_TAG_NP	0x0004u
#define DMARC_TAG_ADKIM	0x0008u
#define DMARC_TAG_ASPF	0x0010u
#define DMARC_TAG_PCT	0x0020u
#define DMARC_TAG_RUA	0x0040u
#define DMARC_TAG_RUF	0x0080u
#define DMARC_TAG_FO	0x0100u
#define DMARC_TAG_T	0x0200u
#define DMARC_TAG_PSD	0x0400u
#define DMARC_TAG_RF	0x0800u
#define DMARC_TAG_RI	0x1000u

/* One parsed DMARC record. Absent or invalid tags hold their defaults. */
struct dmarc_record {
	unsigned present;	/* DMARC_TAG_* seen */
	unsigned invalid;	/* DMARC_TAG_* whose value was not valid */
	int p_present;		/* a p= tag was written (valid or not) */
	enum dmarc_policy p, sp, np;	/* UNSET when absent or invalid */
	enum dmarc_align adkim, aspf;	/* default relaxed */
	unsigned pct;		/* 0..100, default 100 */
	int testing;		/* t=y (RFC 9989), default n */
	enum dmarc_psd psd;	/* default u */
	unsigned long ri;	/* default 86400 */
	char fo[32];		/* as written, default "0" */
	char rua[DMARC_URI_MAX];	/* as written (trimmed), "" if absent */
	char ruf[DMARC_URI_MAX];
	int rua_valid;		/* at least one syntactically valid URI */
	int ruf_valid;
	/* grammar problems (dmarc_record_parse returned DMARC_PARSE_SYNTAX):
	 * the first one; the terms were left out of the values above.
	 * version_broken: the version term itself ("v=DMARC1 p=none") */
	char syntax[160];
	int version_broken;
};

/* dmarc_record_parse return values */
#define DMARC_PARSE_OK		0
#define DMARC_PARSE_NOT_DMARC	1	/* not a DMARC record: ignore it */
#define DMARC_PARSE_SYNTAX	(-1)	/* a DMARC record, but broken */

/*
 * Parses one TXT record (len bytes, may hold any byte). On OK, why gets
 * notes on ignored bad values ("" if none); on SYNTAX, the reason (also in
 * rec->syntax), and rec holds the values of the terms that were good.
 * NOT_DMARC: why says why the text is not a DMARC record.
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
    char *why, size_t whylen);

struct dmarc_memo;

struct dmarc_input {
	const char *const *from_domains;	/* RFC5322.From domain of each address */
	size_t n_from;
	/* The domain SPF checked: the MAIL FROM domain, or the HELO name for
	 * the null sender; NULL/"" if none. Aligns only when spf_result is
	 * SPF_RES_PASS. */
	const char *spf_domain;
	enum spf_result spf_result;
	const struct dkim_sig_result *dkim;	/* may be NULL when n_dkim == 0 */
	size_t n_dkim;
	struct dmarc_memo *memo;	/* NULL, or the message's (dmarc_memo_new) */
};

struct dmarc_outcome {
	enum dmarc_res result;
	enum dmarc_standard standard;
	enum dmarc_discovery discovery;
	size_t n_from;		/* distinct From domains */
	char from_domain[DMARC_DOMAIN_MAX];	/* lower-case A-labels; "" if not one */
	char org_domain[DMARC_DOMAIN_MAX];	/* of from_domain */
	char record_domain[DMARC_DOMAIN_MAX];	/* where the record was found, without _dmarc.; "" if none */
	size_t n_records;	/* DMARC records at record_domain */
	int have_record;	/* record holds the one parsed record */
	struct dmarc_record record;
	enum dmarc_policy policy;	/* that applies to this message; UNSET if none */
	/* policy after the record's options (t=y under 9989, pct < 100 under
	 * 7489: one level milder); what On-DMARCFail policy applies */
	enum dmarc_policy applied;
	const char *policy_tag;	/* "p", "sp", "np" or "" */
	int from_exists;	/* np check: 1 exists, 0 does not, -1 not checked/unknown */
	unsigned pct;		/* as published (7489); 100 when absent or ignored (9989) */
	int testing;		/* t=y honoured (9989 only) */
	/* TXT records found at a _dmarc name and discarded, and why (the first
	 * one; "" if none): 'v=dmarc1; p=reject' (the version is DMARC1 in
	 * capitals), several records (9989), a broken version term */
	char discarded[300];
	char discarded_domain[DMARC_DOMAIN_MAX];	/* whose _dmarc name that was at */
	size_t discarded_records;	/* 2 or more: several records discarded (9989) */
	/* the organizational domain of from_domain under the other discovery
	 * method when it differs from org_domain; "" when the same or unknown */
	char org_other[DMARC_DOMAIN_MAX];
	int spf_aligned;
	char spf_domain[DMARC_DOMAIN_MAX];	/* aligned SPF domain, "" if none */
	int dkim_aligned;
	char dkim_domain[DMARC_DOMAIN_MAX];	/* d= of the first aligned passing signature */
	char why[512];
};

struct dmarc;

/*
 * Creates the shared evaluator. The public suffix list is loaded with
 * psl_latest(NULL) (Debian's /usr/share/publicsuffix/public_suffix_list.dafsa
 * if present, else the list built into libpsl): PSL mode needs it (NULL
 * with a reason without it); tree-walk mode uses it only to tell where the
 * two methods differ. NULL with a reason on error.
 */
struct dmarc *dmarc_new(enum dmarc_standard std, enum dmarc_discovery d, char *why,
    size_t whylen);
void dmarc_free(struct dmarc *d);

/* Which suffix list is in use, for -V and logs: "file PATH",
 * "libpsl builtin (...)", or "none (tree walk)". */
const char *dmarc_psl_source(const struct dmarc *d);

/* Fills *out and returns out->result. dns may be NULL only when the input
 * gives no single valid From domain (no lookup is made then). */
enum dmarc_res dmarc_check(const struct dmarc *d, struct dns_ctx *dns,
    const struct dmarc_input *in, struct dmarc_outcome *out);

/*
 * Asks now what dmarc_check will ask for this From domain: the record
 * discovery (PSL mode: _dmarc.D and _dmarc.ORG; tree walk: the walk),
 * the np= existence check, and in tree-walk mode the org-domain walks of
 * the identifiers ids (SPF domain, DKIM d=) that are at or below the From
 * domain's org domain (names in the From domain's own tree; alignment
 * needs them when they pass). For early questions: run it on a dns_ctx
 * bound to the message's dns_session, and dmarc_check later finds every
 * answer there, or in memo (may be NULL). Bad names are ignored.
 */
void dmarc_warm(const struct dmarc *d, struct dns_ctx *dns, struct dmarc_memo *memo,
    const char *from_domain, const char *const *ids, size_t n_ids);

/*
 * One message's memo of the _dmarc names read and what they held (DNS
 * trouble is not kept): dmarc_warm fills it and dmarc_check, given the
 * same memo in its input, reads each name once for the whole message.
 * One thread at a time; NULL when out of memory (then nothing is kept).
 */
struct dmarc_memo *dmarc_memo_new(void);
void dmarc_memo_free(struct dmarc_memo *m);

/*
 * The organizational domain of domain (any case, U- or A-labels) into out,
 * as lower-case A-labels. The tree walk needs dns; PSL mode ignores it
 * (may be NULL). Returns 0, DMARC_ORG_EINVAL (not a domain name, out too
 * small) or DMARC_ORG_ETEMP (DNS trouble in the walk; dns NULL in
 * tree-walk mode). out is "" on error.
 */
#define DMARC_ORG_EINVAL	(-1)
#define DMARC_ORG_ETEMP		(-2)
int dmarc_org_domain(const struct dmarc *d, struct dns_ctx *dns,
    const char *domain, char *out, size_t outlen);

/*
 * Whether two domains are aligned (RFC 7489 §3.1) in mode; -1 on DNS
 * trouble (tree walk) or an invalid name. For tests and other modules.
 */
int dmarc_aligned(const struct dmarc *d, struct dns_ctx *dns,
    const char *from_domain, const char *other, enum dmarc_align mode);

/*
 * Lower-case A-label form of a domain name (trailing dot removed,
 * U-labels converted with IDNA2008/UTS#46 non-transitional). Labels of
 * letters, digits, '-' and '_', 1..63 octets, 253 in all. Returns 0, or
 * -1 with a reason.
 */
int dmarc_domain_normalize(const char *in, char *out, size_t outlen,
    char *why, size_t whylen);

/* "rfc9989", "rfc7489" */
const char *dmarc_standard_str(enum dmarc_standard s);
/* "psl", "treewalk" (RFC 9990's discovery_method) */
const char *dmarc_discovery_str(enum dmarc_discovery d);

/* "none", "pass", "fail", "temperror", "permerror" */
const char *dmarc_res_str(enum dmarc_res r);
/* "unset", "none", "quarantine", "reject" */
const char *dmarc_policy_str(enum dmarc_policy p);

#endif
