/*
 * keyrecord: what a sender's DKIM key record (RFC 6376 3.6.1, RFC 8463)
 * says, for sendercheck-test --dns-check: its tags, its key type and
 * size, and every problem a receiver would have with it, as sentences
 * (problems: no receiver accepts a signature with it; warnings: some will
 * not, or it is weaker than advised). The text is sender-controlled DNS
 * data: it is only read, within len, and never trusted to be terminated.
 */
#ifndef SC_KEYRECORD_H
#define SC_KEYRECORD_H

#include <stddef.h>

#define KEYREC_MAX_NOTES 8

struct keyrecord {
	char k[16];		/* key type as written ("rsa" when absent) */
	unsigned bits;		/* RSA modulus bits, 256 for ed25519, 0 if unknown */
	int revoked;		/* p= empty */
	int testing;		/* t=y */
	size_t n_problems, n_warnings;
	char problems[KEYREC_MAX_NOTES][160];
	char warnings[KEYREC_MAX_NOTES][160];
};

void keyrecord_check(const char *text, size_t len, struct keyrecord *out);

#endif
