/*
 * unsub: one-click unsubscribe (RFC 2369, RFC 8058) for the rules
 * "oneclick" and "mailto-only", and the bulk-mail hints.
 *
 * unsub_parse_list reads a List-Unsubscribe value as received (folds
 * allowed) the way RFC 2369 section 2 tells clients to: a comma-separated
 * list of <URI>s with optional white space and comments between them;
 * white space inside the brackets is ignored (folded long URIs); if the
 * value does not start with '<' it is ignored; characters after a '>'
 * other than a comma end the list; an item that is not in angle brackets
 * ends the list (it and everything after it are ignored). Each URI is
 * classified by its scheme (case-insensitive): https, http, mailto,
 * other; "https:" without "//host" counts as other. The first https URI
 * is kept (up to UNSUB_URI_MAX octets).
 *
 * unsub_check looks at the whole message: it passes ("oneclick") when
 *   - there is exactly one List-Unsubscribe and it has an https URI,
 *   - there is exactly one List-Unsubscribe-Post whose value is exactly
 *     "List-Unsubscribe=One-Click" (RFC 8058 section 3.1), with at most
 *     one SP before it (after the colon) and nothing but SP/HTAB after it
 *     (trailing blanks are tolerated: relaxed DKIM ignores them too and
 *     they carry no meaning; a tab or two spaces before it, a fold, other
 *     case or other text fail),
 *   - a DKIM signature that passed lists both names in h= at least as
 *     often as the fields occur in the message (RFC 8058 section 4; a
 *     field that occurs more often than it is signed may have an unsigned
 *     copy on top, which the receiver could be showing).
 * The covering signature reported is the first passing one that covers
 * both fully; all fully covering passing signatures are listed in
 * covering[] so the caller can pick the one aligned with From. Whether
 * it is aligned is not decided here.
 *
 * Every reason the check fails is a bit in problems and a sentence in
 * reasons[]; notes that do not fail (several https URIs, an http URI next
 * to the https one, ignored items) are in notes[]. The flags has_https,
 * has_http, has_mailto and mailto_only describe the first
 * List-Unsubscribe for the profile rule "mailto-only" (Yahoo accepts a
 * mailto-only List-Unsubscribe, Google does not).
 *
 * Invariants: fixed-size results, no allocation, no recursion; parsing is
 * linear in the value. Nothing is ever fetched or posted.
 */
#ifndef SC_UNSUB_H
#define SC_UNSUB_H

#include <stddef.h>

#include "dkim.h"
#include "header.h"

#define UNSUB_RULE_ONECLICK	"oneclick"
#define UNSUB_RULE_MAILTO_ONLY	"mailto-only"

#define UNSUB_URI_MAX		2048
#define UNSUB_POST_VALUE	"List-Unsubscribe=One-Click"

enum unsub_scheme { UNSUB_OTHER = 0, UNSUB_HTTPS, UNSUB_HTTP, UNSUB_MAILTO };

struct unsub_list {
	size_t n_uris;			/* bracketed URIs read */
	size_t n_https, n_http, n_mailto, n_other;
	int has_https, has_http, has_mailto;
	int mailto_only;		/* URIs read, all mailto: */
	char https[UNSUB_URI_MAX + 1];	/* first https URI, white space removed */
	int https_truncated;		/* it was longer than UNSUB_URI_MAX */
	int stopped;			/* something was ignored (see stop_why) */
	size_t stop_pos;		/* octet offset where reading stopped */
	char stop_why[120];
};

/* Reads a List-Unsubscribe value; returns the number of URIs read. */
size_t unsub_parse_list(const char *value, size_t len, struct unsub_list *out);

/* 1 if a List-Unsubscribe-Post value is acceptable (see above). */
int unsub_post_value_ok(const char *value, size_t len);

/* Why unsub_check fails: bits of unsub_result.problems. */
#define UNSUB_P_NO_LIST_UNSUB	0x0001	/* no List-Unsubscribe */
#define UNSUB_P_DUP_LIST_UNSUB	0x0002	/* more than one List-Unsubscribe */
#define UNSUB_P_NO_URI		0x0004	/* List-Unsubscribe without a bracketed URI */
#define UNSUB_P_NO_HTTPS	0x0008	/* no https URI (see mailto_only, has_http) */
#define UNSUB_P_HTTP_NOT_HTTPS	0x0010	/* http but no https */
#define UNSUB_P_MAILTO_ONLY	0x0020	/* only mailto: URIs */
#define UNSUB_P_NO_POST		0x0040	/* no List-Unsubscribe-Post */
#define UNSUB_P_DUP_POST	0x0080	/* more than one List-Unsubscribe-Post */
#define UNSUB_P_POST_VALUE	0x0100	/* Post value is not List-Unsubscribe=One-Click */
#define UNSUB_P_NOT_SIGNED	0x0200	/* no passing signature has both in h= */
#define UNSUB_P_SIG_FAILED	0x0400	/* only signatures that did not pass have both */
#define UNSUB_P_UNSIGNED_COPY	0x0800	/* more copies in the message than in h= */

#define UNSUB_MAX_REASONS	12
#define UNSUB_MAX_NOTES		4

struct unsub_result {
	unsigned n_list_unsub, n_post;	/* fields in the message */
	struct unsub_list list;		/* the first List-Unsubscribe */
	int has_https, has_http, has_mailto, mailto_only;	/* copies of list's */
	int post_ok;			/* one Post field with the right value */

	/*
	 * The signature the verdict rests on: a passing one covering both
	 * fully, else a passing one covering both but fewer times than they
	 * occur, else a failed one listing both; -1 if none lists both.
	 */
	int sig_index;
	enum dkim_res sig_result;
	char sig_domain[256];		/* its d= */
	size_t n_covering;		/* passing signatures covering both fully */
	size_t covering[DKIM_MAX_LISTED];	/* their indices */

	int pass;			/* oneclick */
	unsigned problems;		/* UNSUB_P_* */
	size_t n_reasons;
	char reasons[UNSUB_MAX_REASONS][160];
	size_t n_notes;
	char notes[UNSUB_MAX_NOTES][160];
};

/* sigs: the DKIM results of the message (nsigs may be 0). */
void unsub_check(const struct header_list *hl, const struct dkim_sig_result *sigs,
    size_t nsigs, struct unsub_result *out);

/* Bulk-mail hints: bits returned by unsub_bulk_hints. */
#define BULK_HINT_LIST_UNSUB	0x1	/* a List-Unsubscribe field */
#define BULK_HINT_LIST_ID	0x2	/* a List-Id field */
#define BULK_HINT_PRECEDENCE	0x4	/* Precedence: bulk or list (trimmed, any case) */
#define BULK_HINT_FEEDBACK_ID	0x8	/* a Feedback-ID field */

/*
 * Which hints the message has; their names, comma-separated
 * ("List-Unsubscribe, List-Id, Precedence, Feedback-ID"), go into names
 * (always NUL-terminated, cut to namelen) when names is not NULL.
 */
unsigned unsub_bulk_hints(const struct header_list *hl, char *names, size_t namelen);

#endif
