/*
 * arc_seal: this host's ARC set (RFC 8617 5.1) on a message it passes on
 * (ARCSign): ARC-Authentication-Results (i=N; the results this host wrote
 * in its own Authentication-Results), ARC-Message-Signature over the
 * message as it leaves, ARC-Seal over the whole chain, with the same
 * canonicalisation code the verifiers use (dkim_canon) and OpenSSL's EVP.
 *
 * The signer (key, domain, selector) is loaded once at start and shared
 * read-only by all threads. The key file is a PEM private key (RSA of at
 * least 1024 bits: rsa-sha256; Ed25519: ed25519-sha256, RFC 8463); it must
 * be a regular file that other users cannot read. Errors name the file.
 *
 * Per message: the body is hashed as it streams (relaxed, SHA-256); at the
 * end the caller gives the header fields as received, the chain as found
 * (arc.h: its fields are sealed over again), the chain validation status
 * to write (cv) and the results text. Instance N is the number of sets
 * found plus one. No set is made (an error with the reason) when the
 * newest seal already says cv=fail, when the chain is broken in structure,
 * when the chain has ARC_MAX_SETS sets, or when the results say nothing of
 * the chain and there is one: RFC 8617 5.1 adds nothing to a failed chain.
 * With cv=fail the new seal covers only its own set (RFC 8617 5.1.2).
 *
 * The AMS signs the fields a list or forwarder must not change (From,
 * oversigned, so that no second From can be added; To, Cc, Subject, Date,
 * Message-ID, Reply-To, threading, MIME and List-* fields), each as often as
 * it occurs; never Authentication-Results, ARC fields or Received.
 */
#ifndef SC_ARC_SEAL_H
#define SC_ARC_SEAL_H

#include <stddef.h>

#include "arc.h"
#include "header.h"

struct arc_signer;

/* NULL with why (naming the file) when the key cannot be used. */
struct arc_signer *arc_signer_new(const char *keyfile, const char *domain,
    const char *selector, char *why, size_t whylen);
void arc_signer_free(struct arc_signer *s);
/* "rsa-sha256" or "ed25519-sha256" */
const char *arc_signer_algorithm(const struct arc_signer *s);

/* The new set's field values, folded with "\n\t" (as libmilter wants). */
struct arc_new_set {
	char *aar, *ams, *as;
	unsigned instance;
	enum arc_result cv;
};

struct arc_seal_msg;

/* NULL on no memory. */
struct arc_seal_msg *arc_seal_msg_new(const struct arc_signer *s);
/* Before the body: our body hash is taken from l (dkim_canon.h), shared
 * with the verifiers; the caller feeds l and arc_seal_msg_body does
 * nothing. l must outlive m's arc_seal_msg_finish. */
void arc_seal_msg_share_bodies(struct arc_seal_msg *m, struct dkim_bodies *l);
void arc_seal_msg_body(struct arc_seal_msg *m, const unsigned char *p, size_t n);
/*
 * hl: the fields as received (CRLF folds); chain: the arc_msg read from
 * the same fields (arc_msg_eoh done). results: "authserv-id; method=result
 * ..." as in Authentication-Results (folds "\n\t" or CRLF). cv: the chain's
 * status as this host judged it; ARC_RES_COUNT to take it from the arc=
 * result in results. now: seconds since the epoch (t=). Returns 0 with
 * *out filled (free with arc_new_set_free), or -1 with why.
 */
int arc_seal_msg_finish(struct arc_seal_msg *m, const struct header_list *hl,
    const struct arc_msg *chain, const char *results, enum arc_result cv, long long now,
    struct arc_new_set *out, char *why, size_t whylen);
void arc_seal_msg_free(struct arc_seal_msg *m);
void arc_new_set_free(struct arc_new_set *s);

/*
 * The results of the Authentication-Results fields of hl written by
 * authserv_id (its authserv-id exactly, case-insensitive), merged in their
 * order as "authserv-id; r1; r2 ..." (the signing suite's ar_merged): what
 * this host said when the message arrived, for a message it seals on its
 * way out again (a list's re-injection). malloc'd; NULL when there is none.
 */
char *arc_seal_own_results(const struct header_list *hl, const char *authserv_id);

#endif
