/*
 * spf_record: the SPF record parser of the builtin engine (RFC 7208
 * section 12 ABNF, sections 4.5, 5 and 6).
 *
 * Promises:
 * - spf_record_is_spf() says whether a TXT string is an SPF version 1
 *   record ("v=spf1" followed by a space or the end, case-insensitive);
 * - spf_record_parse() accepts exactly the ABNF's `record`: terms
 *   separated by one or more SP (and nothing else: a TAB, CR, NUL or a
 *   non-ASCII octet anywhere is a syntax error), known mechanisms with
 *   their argument rules, domain-specs that end in a macro or a valid
 *   toplabel, CIDR lengths in range with no leading zeros (/0 allowed),
 *   redirect= and exp= at most once, unknown modifiers with a valid
 *   macro-string; on error it says which term, where, and why;
 * - the record keeps its own copy of the text; terms point into it by
 *   offset, so a parsed record needs no other storage.
 *
 * Errors are values (-1 and a message); nothing aborts. Memory is one
 * copy of the text and one array of terms, freed by spf_record_free().
 */
#ifndef SC_SPF_RECORD_H
#define SC_SPF_RECORD_H

#include <stddef.h>

enum spf_mech {
	SPF_M_ALL = 0, SPF_M_INCLUDE, SPF_M_A, SPF_M_MX, SPF_M_PTR,
	SPF_M_IP4, SPF_M_IP6, SPF_M_EXISTS
};

enum spf_term_kind {
	SPF_T_MECH = 0, SPF_T_REDIRECT, SPF_T_EXP, SPF_T_UNKNOWN_MOD
};

struct spf_term {
	enum spf_term_kind kind;
	enum spf_mech mech;	/* SPF_T_MECH */
	char qual;		/* '+', '-', '~', '?' (mechanisms) */
	size_t pos, len;	/* the whole term in the record text */
	size_t spec, spec_len;	/* domain-spec / modifier value; spec_len 0: none */
	int cidr4, cidr6;	/* -1: not given */
	unsigned char addr[16];	/* ip4 (4 bytes) / ip6 network */
};

struct spf_record {
	char *text;		/* own copy, NUL-terminated */
	size_t len;
	struct spf_term *terms;
	size_t n;
	int redirect;		/* index in terms, or -1 */
	int exp;		/* index in terms, or -1 */
};

/* 1 if txt[0..len) is an SPF version 1 record, else 0. */
int spf_record_is_spf(const char *txt, size_t len);

/* The name of a mechanism ("all", "include", ...). */
const char *spf_mech_name(enum spf_mech m);

/*
 * Parses txt[0..len) (which must pass spf_record_is_spf) into *rec.
 * Returns 0, or -1 with err holding e.g. "syntax error in term 3
 * 'ip4:1.2.3' at offset 14: ip4 address is not a.b.c.d"; *rec is then
 * empty (free it anyway: spf_record_free is safe on it).
 */
int spf_record_parse(const char *txt, size_t len, struct spf_record *rec,
    char *err, size_t errlen);
void spf_record_free(struct spf_record *rec);

/* Writes the term as text (cut to fit) into buf. */
void spf_term_text(const struct spf_record *rec, size_t i, char *buf,
    size_t buflen);

#endif
