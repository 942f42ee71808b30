/* libFuzzer target: ARC chain verification (arc.c, on dkim_tags,
 * dkim_canon and dkim_key) on a whole message: header fields as header.c
 * splits them, the body in two chunks cut where the first byte says. Key
 * lookups go to keyserver.h's DNS server on 127.0.0.1 (keys made at the
 * start, private halves thrown away), so the header hashes and the
 * signature checks run too. Checks that the outcome is one of the results,
 * with a reason on a failure, that nothing passes (no input can hold a
 * good signature) and that
 * the sets it lists are within bounds. Then the same message is sealed
 * (arc_seal.c, with an Ed25519 key made at the first run): the results
 * read back from its Authentication-Results fields (the list case) and the
 * set written on top of whatever chain it holds; a set, when made, has
 * the next instance and all three values. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "arc.h"
#include "arc_seal.h"
#include "dns.h"
#include "header.h"
#include "keyserver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_resolver *res;
static struct arc_signer *signer;

/* An Ed25519 key in a private file, loaded as ARCKeyFile would be. */
static struct arc_signer *
make_signer(void)
{
	char path[] = "/tmp/fuzz-arc-key-XXXXXX", why[300];
	int fd = mkstemp(path);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct arc_signer *s;

	if (k == NULL || f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
	EVP_PKEY_free(k);
	s = arc_signer_new(path, "fuzz.test", "arc", why, sizeof why);
	unlink(path);
	if (s == NULL)
		abort();
	return s;
}

static void
seal(const struct header_list *hl, const struct arc_msg *m, const char *body, size_t bodylen)
{
	struct arc_seal_msg *sm = arc_seal_msg_new(signer);
	struct arc_new_set set;
	char *results = arc_seal_own_results(hl, "mx.fuzz");
	char why[200];
	unsigned n;
	enum arc_result cv;

	if (sm == NULL)
		abort();
	arc_seal_msg_body(sm, (const unsigned char *)body, bodylen);
	if (arc_seal_msg_finish(sm, hl, m, results ? results : "mx.fuzz; none", ARC_RES_COUNT,
	    1700000000, &set, why, sizeof why) == 0) {
		if (arc_msg_chain(m, &n, &cv) < 0 || set.instance != n + 1 || set.aar == NULL ||
		    set.ams == NULL || set.as == NULL)
			abort();
		arc_new_set_free(&set);
	} else if (why[0] == '\0') {
		abort();
	}
	free(results);
	arc_seal_msg_free(sm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_list hl;
	struct dns_ctx ctx;
	struct arc_msg *m;
	struct arc_outcome o;
	const char *body;
	char *storage = NULL, err[160];
	size_t bodylen, cut;

	if (res == NULL)
		res = ks_resolver();
	if (signer == NULL)
		signer = make_signer();
	if (size < 1)
		return 0;
	header_list_init(&hl);
	if (message_split((const char *)data + 1, size - 1, &hl, &storage, &body, &bodylen,
	    err, sizeof err) < 0) {
		header_list_free(&hl);
		free(storage);
		return 0;
	}
	dns_ctx_init(&ctx, res, 2000);
	m = arc_msg_new(&ctx, "fuzz");
	if (m == NULL)
		abort();
	arc_msg_eoh(m, &hl);
	cut = bodylen > 0 ? data[0] % (bodylen + 1) : 0;
	arc_msg_body(m, (const unsigned char *)body, cut);
	arc_msg_body(m, (const unsigned char *)body + cut, bodylen - cut);
	arc_msg_finish(m, &o);
	if (o.result >= ARC_RES_COUNT || o.result == ARC_RES_PASS || o.n_sets > ARC_MAX_SETS ||
	    (o.result == ARC_RES_FAIL && o.why[0] == '\0') ||
	    (o.n_sets > 0 && o.sets == NULL))
		abort();
	for (size_t i = 0; i < o.n_sets; i++)
		if (o.sets[i].instance != i + 1 || o.sets[i].seal >= ARC_CHECK_COUNT)
			abort();
	seal(&hl, m, body, bodylen);
	arc_msg_free(m);
	header_list_free(&hl);
	free(storage);
	return 0;
}
