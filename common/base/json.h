/*
 * json: a small JSON writer over sbuf for the machine-readable outputs.
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are
 * written as U+FFFD so the output always parses. Commas are placed by the
 * writer; callers open and close objects and arrays in order.
 */
#ifndef SC_JSON_H
#define SC_JSON_H

#include "sbuf.h"

struct json {
	struct sbuf *b;
	int depth;
	unsigned char need_comma[32];
};

void json_init(struct json *j, struct sbuf *b);
void json_obj_begin(struct json *j, const char *key);	/* key NULL inside arrays */
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);	/* v NULL: null */
void json_int(struct json *j, const char *key, long v);
void json_bool(struct json *j, const char *key, int v);

#endif
