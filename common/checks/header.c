/*
 * header: header field list, unfolding, message splitting; see header.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"

void
header_list_init(struct header_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
header_list_free(struct header_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	header_list_init(l);
}

int
header_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++)
		if ((unsigned char)name[n] <= ' ' || (unsigned char)name[n] >= 0x7f || name[n] == ':')
			return 0;
	return n > 0 && n <= 996;
}

/* Copies value with every bare LF or bare CR made CRLF. */
static char *
crlf_copy(const char *v, size_t len, size_t *outlen)
{
	char *out = malloc(2 * len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			i++;
		} else if (v[i] == '\n' || v[i] == '\r') {
			*o++ = '\r';
			*o++ = '\n';
		} else {
			*o++ = v[i];
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

int
header_kept_past_limits(const char *name)
{
	return strcasecmp(name, "From") == 0;
}

/* Whether the field fits the limits; past them, whether it is kept anyway. */
static int
admit(struct header_list *l, const char *name, size_t size, int *past, char *why, size_t whylen)
{
	*past = 0;
	if (l->n - l->kept_past >= HEADER_MAX_FIELDS)
		snprintf(why, whylen, "more than %d header fields", HEADER_MAX_FIELDS);
	else if (size > HEADER_MAX_BYTES - l->bytes)
		snprintf(why, whylen, "header section larger than %d bytes", HEADER_MAX_BYTES);
	else
		return 1;
	if (header_kept_past_limits(name) && l->kept_past < HEADER_MAX_KEPT_PAST &&
	    size <= HEADER_KEPT_PAST_BYTES - l->kept_past_bytes) {
		*past = 1;
		return 1;
	}
	l->dropped++;
	if (header_kept_past_limits(name))
		l->dropped_essential++;
	return 0;
}

int
header_list_add(struct header_list *l, const char *name, const char *value,
    size_t value_len, char *why, size_t whylen)
{
	struct header h;
	size_t nlen = strlen(name);
	int past;

	if (!admit(l, name, nlen + value_len, &past, why, whylen))
		return -1;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		struct header *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return snprintf(why, whylen, "out of memory"), -1;
		l->v = nv;
		l->cap = ncap;
	}
	h.name = strdup(name);
	h.value = crlf_copy(value, value_len, &h.value_len);
	if (h.name == NULL || h.value == NULL) {
		free(h.name);
		free(h.value);
		return snprintf(why, whylen, "out of memory"), -1;
	}
	l->v[l->n++] = h;
	if (past) {
		l->kept_past++;
		l->kept_past_bytes += nlen + value_len;
	} else {
		l->bytes += nlen + value_len;
	}
	return 0;
}

unsigned
header_count(const struct header_list *l, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0)
			n++;
	return n;
}

const struct header *
header_get(const struct header_list *l, const char *name, unsigned nth)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0 && --nth == 0)
			return &l->v[i];
	return NULL;
}

const struct header *
header_next(const struct header_list *l, const char *name, const struct header *prev)
{
	for (size_t i = prev == NULL ? 0 : (size_t)(prev - l->v) + 1; i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

char *
header_unfold(const char *value, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i = 0;

	if (out == NULL)
		return NULL;
	while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
		i++;
	for (; i < len; i++)
		if (value[i] != '\r' && value[i] != '\n')
			*o++ = value[i];
	while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
		o--;
	*o = '\0';
	return out;
}

static int
add_to_list(const char *name, const char *value, size_t len, void *arg, char *why, size_t whylen)
{
	return header_list_add(arg, name, value, len, why, whylen);
}

int
message_split(const char *data, size_t len, struct header_list *hl,
    char **storage, const char **body, size_t *bodylen, char *why, size_t whylen)
{
	return message_parse(data, len, add_to_list, hl, storage, body, bodylen, why, whylen);
}

int
message_parse(const char *data, size_t len, header_field_cb cb, void *arg,
    char **storage, const char **body, size_t *bodylen, char *why, size_t whylen)
{
	size_t n, pos = 0;
	char *s = crlf_copy(data, len, &n);

	*storage = s;
	if (s == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	/* An mbox "From " line is not a header field: skip it. */
	if (n >= 5 && strncmp(s, "From ", 5) == 0) {
		char *eol = strstr(s, "\r\n");
		pos = eol ? (size_t)(eol - s) + 2 : n;
	}
	while (pos < n) {
		size_t start = pos, colon, end;
		char *name;
		int rc;

		if (n - pos >= 2 && s[pos] == '\r' && s[pos + 1] == '\n') {
			pos += 2;
			break;
		}
		/* one field: up to a CRLF not followed by WSP */
		end = pos;
		for (;;) {
			char *eol = memmem(s + end, n - end, "\r\n", 2);
			if (eol == NULL) {
				end = n;
				break;
			}
			end = (size_t)(eol - s);
			if (end + 2 < n && (s[end + 2] == ' ' || s[end + 2] == '\t')) {
				end += 2;
				continue;
			}
			break;
		}
		for (colon = start; colon < end && s[colon] != ':'; colon++)
			;
		if (colon == end || colon == start) {
			snprintf(why, whylen, "line %.40s... is not a header field (no 'name:')",
			    s + start);
			return -1;
		}
		if ((name = strndup(s + start, colon - start)) == NULL)
			return snprintf(why, whylen, "out of memory"), -1;
		if (!header_name_valid(name)) {
			snprintf(why, whylen, "invalid header field name '%.60s'", name);
			free(name);
			return -1;
		}
		rc = cb(name, s + colon + 1, end - colon - 1, arg, why, whylen);
		free(name);
		if (rc < 0)
			return -1;
		pos = end + 2 <= n ? end + 2 : n;
	}
	*body = s + pos;
	*bodylen = n - pos;
	return 0;
}
