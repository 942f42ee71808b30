/*
 * domain: domain names as the checks compare and look them up, for DMARC,
 * SPF's envelope domain and the From domain a mail client shows.
 *
 * domain_normalize gives the one form every check uses: lower-case
 * A-labels (U-labels converted with libidn2, IDNA2008 / UTS#46
 * non-transitional), no trailing dot, labels of letters, digits, '-' and
 * '_' of 1..63 octets, 253 octets in all. Equal names are equal strings.
 *
 * domain_recover reads a domain as written by a sender (after the '@' of
 * a From address) that may not be a valid name, and finds the name a
 * reader would take it for: the longest valid prefix, when what follows
 * it cannot continue the name (control bytes, a no-break space, 8-bit
 * junk, '/', '=', a trailing dot: "victim.example\x01" is victim.example).
 * When what follows holds letters or digits ("victim\x01.example",
 * "victim.example/other.example"), or the prefix has a single label, or
 * nothing valid starts the text, no name can be said to be the one shown,
 * and it returns DOMAIN_NONE. A domain literal "[...]" holding a domain
 * name yields that name; one holding an address yields DOMAIN_NONE.
 *
 * Recovery tries at most one candidate name per octet of the first
 * DOMAIN_RECOVER_SCAN octets. Nothing is allocated but a name's copy for
 * libidn2; the functions write only out (outlen bytes, NUL included) and
 * why. Errors are values with a reason a person can read.
 */
#ifndef SC_DOMAIN_H
#define SC_DOMAIN_H

#include <stddef.h>

#define DOMAIN_MAX		253	/* octets of a name, without NUL */
#define DOMAIN_RECOVER_SCAN	300	/* octets of written text recovery looks at */

/* Normalizes a NUL-terminated name into out; 0, or -1 with a reason. */
int domain_normalize(const char *in, char *out, size_t outlen, char *why, size_t whylen);

/*
 * A sender's name (HELO, a client name, a domain) as a record may keep it:
 * the normalized name, or an address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]") as written. 0, or -1 (out "") for anything else.
 */
int domain_name_or_literal(const char *in, char *out, size_t outlen);

enum domain_recovery {
	DOMAIN_NONE = -1,	/* no name can be said to be the one meant */
	DOMAIN_VALID = 0,	/* the text is a valid name (normalized into out) */
	DOMAIN_RECOVERED = 1	/* out is the name a reader takes the text for */
};

/*
 * Recovers the name meant by text (len octets, any bytes). out gets the
 * normalized name for DOMAIN_VALID and DOMAIN_RECOVERED, "" otherwise;
 * why says what was wrong for DOMAIN_RECOVERED and DOMAIN_NONE.
 */
enum domain_recovery domain_recover(const char *text, size_t len, char *out, size_t outlen,
    char *why, size_t whylen);

#endif
