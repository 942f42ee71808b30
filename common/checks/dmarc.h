/*
 * dmarc: DMARC evaluation (RFC 7489, with the RFC 9989 additions) for one
 * message, on the SPF and DKIM results the caller already has.
 *
 * What it promises:
 * - The organizational domain comes from libpsl with Debian's public
 *   suffix list (DMARC_DISCOVERY_PSL, RFC 7489 §3.2), or from the RFC 9989
 *   DNS tree walk (DMARC_DISCOVERY_TREEWALK). Names are compared as
 *   lower-case A-labels: U-labels (SMTPUTF8 From) are converted with
 *   libidn2 first. One-character labels (x.com, t.co) are ordinary names.
 * - Record discovery: PSL mode asks _dmarc.<From domain>, then
 *   _dmarc.<org domain> when the first has no DMARC record (RFC 7489
 *   §6.6.3). Tree-walk mode asks _dmarc.<From domain>, then walks up one
 *   label at a time (a name of 8 or more labels jumps to its last 7
 *   labels), at most 8 queries; the policy record is the first one found,
 *   the org domain is the name with psd=n, one label below a psd=y name
 *   (not the From domain itself), else the shortest name with a record,
 *   else the From domain.
 * - A TXT record is a DMARC record when it starts with "v", optional
 *   blanks, "=", optional blanks and "DMARC1" (exact case: RFC 7489 §6.4
 *   writes it as %x44.4d.41.52.43.31) followed by the end, blanks or ";".
 *   Tag names and the keyword values (p=Reject) are case-insensitive.
 * - Result: pass when SPF passed for a domain aligned with the From
 *   domain, or a passing DKIM signature's d= is aligned; none when no
 *   record exists. With a usable record and no aligned pass: temperror
 *   when an aligned identifier's result is pending on DNS (SPF or DKIM
 *   temperror), or DNS trouble in a tree walk leaves a passing
 *   identifier's alignment unknown: a retry could pass (RFC 7489 4.2,
 *   RFC 9989); fail otherwise. An identifier that is not aligned can
 *   never make DMARC pass, so its DNS trouble (a dead key of another
 *   domain, a slow SPF include elsewhere) never turns fail into
 *   temperror. Relaxed = same org domain; strict = same name (RFC 7489
 *   §3.1).
 *
 * Decisions (documented here because the RFCs leave them open):
 * - Not exactly one distinct From domain (none, or several different
 *   ones): permerror, with the domains in why. RFC 7489 §6.6.1 lets a
 *   receiver reject such mail; the message cannot be evaluated, so no
 *   result of the domain owner's policy is claimed. The same From domain
 *   given twice counts once. A From domain that is not a valid domain
 *   name: permerror.
 * - Several DMARC records at the name where the policy record is looked
 *   up: permerror "N DMARC records at _dmarc.D" (n_records = N). RFC 7489
 *   §6.6.3 says to apply no DMARC then; RFC 9989 discards them and walks
 *   on. Both mean the domain owner's policy cannot be read, and the
 *   bulk-sender rules ask for exactly one record, so it is reported as an
 *   error rather than as "none". (In the tree walk's org-domain search, a
 *   name with several records is skipped, as RFC 9989 says.)
 * - A record that starts with v=DMARC1 but breaks the tag-list grammar
 *   (a term without "=", a bad tag name, a tag given twice, a NUL or
 *   control byte): permerror "DMARC record syntax: ...".
 * - p= absent: the record is kept, p_present = 0, the policy is none and
 *   why notes it (RFC 7489 would call the record invalid unless rua= is
 *   valid; RFC 9989 reads it as p=none; Google wants p= written: the rules
 *   layer checks p_present).
 * - p=, sp= or np= with an invalid value: RFC 7489 §6.6.3: with at least
 *   one valid rua= URI the record acts as p=none; without, no policy
 *   applies and the result is permerror "invalid p=...".
 * - Other known tags with bad values (adkim, aspf, pct, fo, t, psd, ri,
 *   rf, rua/ruf without a valid URI): the default is used, the tag's bit
 *   is set in record.invalid, and why notes it. Unknown tags are ignored.
 * - DNS trouble (SERVFAIL/refused, timeout, malformed answer) during
 *   record discovery or a tree walk: temperror. NXDOMAIN/NODATA are "no
 *   record". A _dmarc name over 253 octets is "no record" (never asked).
 * - np= (RFC 9989) applies only when present, the record was found above
 *   the From domain, and A, AAAA and MX for the From domain are all
 *   NXDOMAIN/NODATA. If that check meets DNS trouble the sp/p policy is
 *   used; if the result is then fail, the result is temperror (the
 *   applicable policy is unknown).
 * - pct= (gone in RFC 9989) and t= are reported, not applied: they
 *   affect disposition, not the result.
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
};

/* dmarc_record_parse return values */
#define DMARC_PARSE_OK		0
#define DMARC_PARSE_NOT_DMARC	1	/* not a DMARC record: ignore it */
#define DMARC_PARSE_SYNTAX	(-1)	/* a DMARC record, but broken */

/*
 * Parses one TXT record (len bytes, may hold any byte). On OK, why gets
 * notes on ignored bad values ("" if none); on SYNTAX, the reason.
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
    char *why, size_t whylen);

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
};

struct dmarc_outcome {
	enum dmarc_res result;
	enum dmarc_discovery discovery;
	size_t n_from;		/* distinct From domains */
	char from_domain[DMARC_DOMAIN_MAX];	/* lower-case A-labels; "" if not one */
	char org_domain[DMARC_DOMAIN_MAX];	/* of from_domain */
	char record_domain[DMARC_DOMAIN_MAX];	/* where the record was found, without _dmarc.; "" if none */
	size_t n_records;	/* DMARC records at record_domain */
	int have_record;	/* record holds the one parsed record */
	struct dmarc_record record;
	enum dmarc_policy policy;	/* that applies to this message; UNSET if none */
	const char *policy_tag;	/* "p", "sp", "np" or "" */
	int from_exists;	/* np check: 1 exists, 0 does not, -1 not checked/unknown */
	unsigned pct;
	int testing;		/* t=y */
	int spf_aligned;
	char spf_domain[DMARC_DOMAIN_MAX];	/* aligned SPF domain, "" if none */
	int dkim_aligned;
	char dkim_domain[DMARC_DOMAIN_MAX];	/* d= of the first aligned passing signature */
	char why[512];
};

struct dmarc;

/*
 * Creates the shared evaluator. PSL mode loads the public suffix list with
 * psl_latest(NULL) (Debian's /usr/share/publicsuffix/public_suffix_list.dafsa
 * if present, else the list built into libpsl). NULL with a reason on error.
 */
struct dmarc *dmarc_new(enum dmarc_discovery d, char *why, size_t whylen);
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
 * answer there. Results are not kept; bad names are ignored.
 */
void dmarc_warm(const struct dmarc *d, struct dns_ctx *dns, const char *from_domain,
    const char *const *ids, size_t n_ids);

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

/* "none", "pass", "fail", "temperror", "permerror" */
const char *dmarc_res_str(enum dmarc_res r);
/* "unset", "none", "quarantine", "reject" */
const char *dmarc_policy_str(enum dmarc_policy p);

#endif
