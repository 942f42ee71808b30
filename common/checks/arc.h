/*
 * arc: verification of the Authenticated Received Chain (RFC 8617).
 *
 * For one message: the ARC sets (ARC-Authentication-Results, ARC-Message-
 * Signature, ARC-Seal with the same i=) are found among the header fields;
 * their structure is checked (instances 1..N without gaps, one field of
 * each kind per instance, at most ARC_MAX_SETS sets, cv=none at i=1 and
 * pass above, no cv=fail); the newest ARC-Message-Signature and every
 * ARC-Seal are verified with the DKIM code (dkim_tags, dkim_canon,
 * dkim_key: the same tag rules, canonicalisation, key records and key
 * cache), and the older ARC-Message-Signatures for oldest-pass. Any
 * structural error or failed signature makes the chain "fail" with a
 * reason; a message without ARC fields is "none".
 *
 * Algorithms: rsa-sha256 and ed25519-sha256 (rsa-sha1 and RSA keys under
 * 1024 bits fail, RFC 8301). Seals are not judged by age (t= must only be
 * a number). A key that cannot be fetched because of DNS trouble fails
 * the chain too (RFC 8617 knows no temporary result), with dns_trouble
 * set so that callers can tell.
 *
 * The chain proves who handled the message and what each one said, not
 * that what they said is true: which sealers to believe is the caller's
 * decision (TrustedARCSealers).
 *
 * Threads: one arc_msg per message, used by one thread at a time; its
 * key lookups are charged to the dns_ctx it was made with.
 */
#ifndef SC_ARC_H
#define SC_ARC_H

#include <stddef.h>

#include "dns.h"
#include "header.h"

#define ARC_MAX_SETS	50	/* RFC 8617 4.2.1 */

enum arc_result { ARC_RES_NONE = 0, ARC_RES_PASS, ARC_RES_FAIL, ARC_RES_COUNT };

/* "none", "pass", "fail" */
const char *arc_res_str(enum arc_result r);

/* What became of one signature of a set. */
enum arc_check { ARC_CHECK_SKIPPED = 0, ARC_CHECK_PASS, ARC_CHECK_FAIL, ARC_CHECK_COUNT };

/* "not checked", "pass", "fail" */
const char *arc_check_str(enum arc_check c);

/* One ARC set, as found and as judged. */
struct arc_set {
	unsigned instance;
	enum arc_result cv;		/* what the seal says of the chain before it */
	char seal_domain[256];		/* ARC-Seal d= */
	char seal_selector[64];		/* s= */
	char seal_algorithm[32];	/* a= */
	enum arc_check seal;
	char ams_domain[256];		/* ARC-Message-Signature d= */
	char ams_selector[64];
	enum arc_check ams;
	char why[160];			/* why a signature of this set failed, "" if none */
	char authserv_id[256];		/* the ARC-Authentication-Results' */
	char claims[1024];		/* its results, unfolded, as the sealer wrote them;
					 * whole ones only: cut at the last ';' that fits */
};

struct arc_outcome {
	enum arc_result result;		/* the chain validation status */
	char why[200];			/* why it failed; "" otherwise */
	unsigned n_sets;		/* sets in the chain (0: none) */
	unsigned oldest_pass;		/* the oldest instance whose AMS and all newer
					 * ones verify; 0 when all do (RFC 8617 5.2) */
	int dns_trouble;		/* it failed because a key could not be fetched */
	const struct arc_set *sets;	/* n_sets sets, sets[0] is i=1; owned by the arc_msg */
};

struct arc_msg;
struct dkim_bodies;

/* id: a label for logs (queue id). NULL on no memory. */
struct arc_msg *arc_msg_new(struct dns_ctx *dns, const char *id);
/*
 * Reads the chain from the message's header fields (values as received,
 * CRLF folds), which must stay as they are until arc_msg_free; sets up the
 * body hashes the signatures need.
 */
void arc_msg_eoh(struct arc_msg *m, const struct header_list *hl);
/*
 * Before arc_msg_eoh: the body hashes are taken from l (dkim_canon.h),
 * shared with others; the caller feeds l the body and arc_msg_body does
 * nothing. l must outlive m's arc_msg_finish.
 */
void arc_msg_share_bodies(struct arc_msg *m, struct dkim_bodies *l);
void arc_msg_body(struct arc_msg *m, const unsigned char *p, size_t n);
/* Verifies (key lookups happen here) and fills *out. */
void arc_msg_finish(struct arc_msg *m, struct arc_outcome *out);
void arc_msg_free(struct arc_msg *m);

/*
 * For a sealer (arc_seal.h), after arc_msg_eoh: the number of sets and the
 * newest seal's cv; -1 when the chain's structure is broken (or a seal's
 * tags are), so that no set may be added.
 */
struct dkim_field;
int arc_msg_chain(const struct arc_msg *m, unsigned *n, enum arc_result *newest_cv);
/* The message's fields as the signatures see them. */
const struct dkim_field *arc_msg_fields(const struct arc_msg *m, size_t *n);
/* Set inst's field: kind 0 ARC-Authentication-Results, 1 AMS, 2 ARC-Seal. */
#define ARC_FIELD_AAR	0
#define ARC_FIELD_AMS	1
#define ARC_FIELD_AS	2
const struct dkim_field *arc_msg_set_field(const struct arc_msg *m, unsigned inst, int kind);

#endif
