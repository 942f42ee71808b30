/*
 * dkim_tags: the tag=value lists of DKIM (RFC 6376 3.2) that DKIM-Signature,
 * DKIM key records, ARC-Seal and ARC-Message-Signature share, and the
 * base64 with folding white space their b=, bh= and p= values use.
 *
 * Parsing never copies: each tag points into the caller's text, which must
 * outlive the list. Values are trimmed of surrounding white space (and
 * folds); raw_* spans keep the whole value with its white space, for the
 * b= deletion of RFC 6376 3.7. The grammar is RFC 6376's: a tag name is a
 * letter then letters, digits or '_'; a value is printable characters other
 * than ';' (8-bit bytes allowed, for RFC 8616 identities) with white space
 * or folds between them; a name may occur once only; a trailing ';' and
 * white space at either end are accepted. Anything else is an error with a
 * reason, and the list is then unusable as a whole.
 */
#ifndef SC_DKIM_TAGS_H
#define SC_DKIM_TAGS_H

#include <stddef.h>

#define DKIM_TAGS_MAX	64	/* tags per list; more is an error */

struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value;	/* trimmed */
	size_t value_len;
	size_t raw_start;	/* offset of the byte after '=' in the text */
	size_t raw_end;		/* offset of the ';' ending the value (or the end) */
};

struct dkim_tags {
	size_t n;
	struct dkim_tag t[DKIM_TAGS_MAX];
};

/* Returns 0, or -1 with a reason ("tag syntax: ...") in why. */
int dkim_tags_parse(const char *text, size_t len, struct dkim_tags *out,
    char *why, size_t whylen);

/* The tag with this name (case-sensitive, as RFC 6376 says), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name);

/* The value has exactly this text (case-insensitive when nocase). */
int dkim_tag_is(const struct dkim_tag *t, const char *s, int nocase);

/* The value as up to 20 decimal digits: 0 with *out, or -1. */
int dkim_tag_number(const struct dkim_tag *t, unsigned long long *out);

/*
 * The items of a ':'-separated value (h=, s=, t=, q=...) one at a time, the
 * one reading of such lists: *p starts at the value and moves past each
 * item; *item and *len get the item with the white space (SP, HTAB, CR,
 * LF) around it dropped, possibly empty. Returns 0 when *p reached end.
 */
int dkim_list_item(const char **p, const char *end, const char **item, size_t *len);

/*
 * One item of a ':'-separated value is want (case-insensitive), or starts
 * with it (prefix).
 */
int dkim_tag_list_has(const struct dkim_tag *t, const char *want, int prefix);

/*
 * The shape of a tag list as a lenient parser sees it (libopendkim: it
 * keeps every tag, white space inside names and values removed, and splits
 * h= at ':'), for bounding what such a parser is given: an upper bound on
 * the tags it keeps (the ';'-separated parts holding anything but white
 * space) and on the names in its h= (one more than the ':' in the value of
 * the longest part whose name, white space removed, is "h" or "H"; 0
 * without one). One pass over text, no rule checked, never an error.
 * White space here is C's isspace: SP, HTAB, CR, LF, VT, FF.
 */
struct dkim_tags_shape {
	size_t tags;
	size_t h_names;
};

void dkim_tags_shape(const char *text, size_t len, struct dkim_tags_shape *out);

/*
 * Decodes base64 that may hold folding white space (SP, HTAB, CR, LF)
 * anywhere. '=' may only end the data (at most two; missing or short
 * padding is accepted), and the bits left over must be zero. Returns the number of
 * bytes written (at most outlen), or -1 for bad input or too small a
 * buffer. An input of only white space decodes to 0 bytes.
 */
long dkim_b64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen);

/*
 * Decodes dkim-quoted-printable (RFC 6376 2.11: "=XX" escapes, white space
 * ignored) into out, NUL-terminated. Returns the length, or -1 when the
 * input is malformed or does not fit.
 */
long dkim_qp_decode_str(const char *in, size_t inlen, char *out, size_t outlen);

#endif
