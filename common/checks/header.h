/*
 * header: the message's header fields as received, and the RFC 5322
 * helpers the checks need (unfolding, splitting a message file).
 *
 * Values are stored as received (leading white space kept, which
 * c=simple DKIM needs) with every line break normalised to CRLF, so
 * folded values are "...CRLF WSP...". The list is bounded: at most
 * HEADER_MAX_FIELDS fields and HEADER_MAX_BYTES in all. Postfix sets no
 * bound on the number of fields (header_size_limit bounds each one,
 * message_size_limit the whole), so a message can go past these: the
 * fields a verdict cannot do without (header_kept_past_limits: From, the
 * DMARC identity) are still kept, up to HEADER_MAX_KEPT_PAST of them and
 * HEADER_KEPT_PAST_BYTES; any other field past the limits is refused with
 * a reason and counted in dropped (an essential one in dropped_essential),
 * so that the check knows what it did not see. Adding a field costs the
 * same whatever the list holds (no per-name counting on the way in).
 */
#ifndef SC_HEADER_H
#define SC_HEADER_H

#include <stddef.h>

#define HEADER_MAX_FIELDS	10000
#define HEADER_MAX_BYTES	(1024 * 1024)
#define HEADER_MAX_KEPT_PAST	100
#define HEADER_KEPT_PAST_BYTES	(1024 * 1024)

struct header {
	char *name;
	char *value;		/* as received, CRLF folds, no trailing CRLF */
	size_t value_len;
};

struct header_list {
	size_t n, cap;
	struct header *v;
	size_t bytes;			/* names and values within the limits */
	size_t kept_past, kept_past_bytes;	/* essential fields kept past them */
	size_t dropped;			/* fields refused past the limits */
	size_t dropped_essential;	/* of which essential */
};

void header_list_init(struct header_list *l);
void header_list_free(struct header_list *l);
/* 0, or -1 with why: past the limits (counted in dropped), or out of memory */
int header_list_add(struct header_list *l, const char *name, const char *value,
    size_t value_len, char *why, size_t whylen);
/* Whether a field named name is kept past the limits: From. */
int header_kept_past_limits(const char *name);
/* Number of fields named name (case-insensitive). */
unsigned header_count(const struct header_list *l, const char *name);
/* The nth (1-based) field named name, or NULL. One scan from the top: to
 * visit every field of a name use header_next, not header_get in a loop
 * (quadratic in a flood of that name). */
const struct header *header_get(const struct header_list *l, const char *name, unsigned nth);
/* The first field named name after prev (NULL: from the top), or NULL:
 * for (h = header_next(l, n, NULL); h; h = header_next(l, n, h)) is one
 * pass over the list. */
const struct header *header_next(const struct header_list *l, const char *name,
    const struct header *prev);

/*
 * Unfolds a value (RFC 5322 §2.2.3: CRLF before WSP removed) and trims
 * white space at both ends. Returns a malloc'd string (NULL on no memory).
 */
char *header_unfold(const char *value, size_t len);

/* A valid field name: 1..996 printable ASCII characters except ':'. */
int header_name_valid(const char *name);

/*
 * Splits a whole message (as read from a file) into header fields and
 * body. Bare LF line ends are read as CRLF. *body points into *storage,
 * a malloc'd copy with CRLF line ends that the caller frees. Returns 0, or
 * -1 with a reason for input that is not a message.
 */
int message_split(const char *data, size_t len, struct header_list *hl,
    char **storage, const char **body, size_t *bodylen, char *why, size_t whylen);

/*
 * The same, handing each field to cb (name, value as received with CRLF
 * folds, its length) instead of storing it; a cb that returns -1 stops
 * the parse with its reason in why.
 */
typedef int (*header_field_cb)(const char *name, const char *value, size_t len, void *arg,
    char *why, size_t whylen);
int message_parse(const char *data, size_t len, header_field_cb cb, void *arg,
    char **storage, const char **body, size_t *bodylen, char *why, size_t whylen);

#endif
