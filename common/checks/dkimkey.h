/*
 * dkimkey: the key a DKIM-Signature field asks for (RFC 6376 3.6.2.1:
 * "s._domainkey.d"), read from the field alone as soon as it arrives, so
 * that the engine can ask for the key while the rest of the message is
 * still coming.
 *
 * Only the tag-list is read (RFC 6376 3.2, by dkim_tags.c, as the builtin
 * verifier reads it): tags separated by ';', values trimmed of folding
 * white space (white space inside a value is kept). A key name is given
 * only for a signature the verifier will look a key up for: a valid tag
 * list with v=1, and a=, b=, bh=, d=, h=, s= present, q= absent or
 * "dns/txt", d= and s= made of letters, digits, '-', '_' and '.', the
 * name at most 253 octets.
 * Anything else gives no name (nothing is asked early; the verifier still
 * judges the signature). Bounded; never writes past out.
 */
#ifndef SC_DKIMKEY_H
#define SC_DKIMKEY_H

#include <stddef.h>

/* 0 with "s._domainkey.d" in out, or -1 (no key to ask for). */
int dkim_key_name(const char *value, size_t len, char *out, size_t outlen);

/*
 * The same for an ARC-Seal or ARC-Message-Signature field (RFC 8617: no
 * v=; i=, a=, b=, d=, s= present, and bh=, h= for a message signature).
 */
int arc_key_name(const char *value, size_t len, int seal, char *out, size_t outlen);

#endif
