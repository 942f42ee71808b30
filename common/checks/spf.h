/*
 * spf: Sender Policy Framework (RFC 7208) checks behind one interface.
 *
 * An spf_engine is created once (thread-safe to share); each check runs on
 * the caller's dns_ctx, so every lookup goes through the dns module and is
 * charged to that check's DNSTimeout budget. Engines: the project's own
 * RFC 7208 evaluator ("builtin", spf_builtin.c, the default) and libspf2.
 * The builtin engine also reports the walk (every record evaluated, with
 * the lookups and void lookups used of their limits, the term that
 * matched or failed) and lint warnings for senders; libspf2 fills only
 * the result, reason and explanation.
 *
 * Results are always one of the seven RFC 7208 results with a reason a
 * person can read; nothing here aborts on hostile records or answers.
 */
#ifndef SC_SPF_H
#define SC_SPF_H

#include <stddef.h>

#include "dns.h"

enum spf_result {
	SPF_RES_NONE = 0,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
	SPF_RES_COUNT
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *spf_result_str(enum spf_result r);

enum spf_engine_kind { SPF_ENGINE_LIBSPF2 = 0, SPF_ENGINE_BUILTIN };

enum spf_identity { SPF_ID_MAILFROM = 0, SPF_ID_HELO };

struct spf_query {
	const char *client_ip;	/* IPv4, IPv6 or IPv4-mapped IPv6, text */
	const char *helo;	/* HELO/EHLO name, may be "" */
	const char *sender;	/* MAIL FROM without <>; "" = null sender */
	/* its domain as the envelope reader found it (smtppath.h); NULL: what
	 * follows the last '@' of sender, or all of it */
	const char *sender_domain;
	enum spf_identity identity;
};

#define SPF_WALK_MAX	16	/* records kept in the walk (11 can be evaluated) */
#define SPF_LINT_MAX	8
#define SPF_MAX_DNS_TERMS	10	/* RFC 7208 section 4.6.4 */
#define SPF_MAX_VOID	2

/* One SPF record the evaluation looked at. */
struct spf_walk_step {
	unsigned depth;		/* 0: the checked domain; +1 per include/redirect */
	char via[12];		/* "", "include" or "redirect" */
	char domain[256];
	char record[512];	/* the record text (cut to fit, "..." added), "" if none */
	enum spf_result result;	/* what this record evaluated to */
	char why[160];		/* how: the matching term, "no match", an error */
};

struct spf_outcome {
	enum spf_result result;
	/* The identity checked: the sender address (postmaster@HELO for the
	 * null sender) or the HELO name. */
	char identity[512];
	char domain[256];	/* the domain whose policy was evaluated */
	char why[256];		/* reason, e.g. "matched ip4:192.0.2.0/24" */
	char explanation[512];	/* exp= text on fail, else "" */
	unsigned dns_lookups;	/* DNS-querying terms used (builtin engine) */
	unsigned void_lookups;
	/* Added with the builtin engine (libspf2 leaves them empty/0). */
	char engine[12];	/* "builtin" or "libspf2" */
	char term[256];		/* the term that decided (matched, or failed with an error) */
	char term_domain[256];	/* whose record holds it */
	unsigned n_walk;	/* steps in walk[] */
	int walk_truncated;	/* more records than SPF_WALK_MAX */
	struct spf_walk_step walk[SPF_WALK_MAX];
	unsigned n_lint;	/* warnings for the sender in lint[] */
	char lint[SPF_LINT_MAX][200];
};

struct spf_engine;

/* receiver: our host name, used for %{r}. */
struct spf_engine *spf_engine_new(enum spf_engine_kind kind,
    const char *receiver, char *why, size_t whylen);
void spf_engine_free(struct spf_engine *e);

/* Fills *out and returns out->result. Never fails in another way. */
enum spf_result spf_check(struct spf_engine *e, struct dns_ctx *dns,
    const struct spf_query *q, struct spf_outcome *out);

#endif
