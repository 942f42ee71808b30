/*
 * smtppath: the one reader of envelope addresses (the MAIL FROM path),
 * so that the domain SPF checks and Authentication-Results names is the
 * domain the MTA sends bounces to.
 *
 * smtp_path_parse reads the argument as the MTA hands it over (libmilter's
 * argv[0], "<...>" with or without the brackets) by RFC 5321 §4.1.2 with
 * the RFC 6531 (SMTPUTF8) extensions:
 *   Path = "<" [ A-d-l ":" ] Mailbox ">" , the null path "<>",
 *   Local-part = Dot-string / Quoted-string (any printable octet and
 *   quoted-pair inside the quotes: "x@a.example>"@b.example is a mailbox
 *   of b.example), Domain / address-literal; a source route
 *   (<@a,@b:user@d>) is read and ignored (RFC 5321 §4.1.1.3, C).
 * Such a path is strict. MTAs accept more (Postfix takes RFC 822 forms:
 * comments, no brackets, a trailing dot, routes it cuts); those are read
 * with the RFC 5322 address parser. Anything else with an '@' is read as
 * Postfix routes it: the domain is what follows the last '@' (its
 * internal form has the quotes removed, so the last '@' separates the
 * domain). Such a path is not strict and why says what was wrong.
 *
 * The domain is normalized (domain.h: lower case, A-labels, no trailing
 * dot) when it is a valid name; otherwise it is kept as written, lower
 * case, and SPF finds it invalid. A domain literal keeps its brackets.
 *
 * Bounds: a local part over SMTP_LOCAL_MAX octets is not kept (local is
 * then "", which SPF reads as "postmaster"), a domain over 255 octets is
 * not a name. RFC 5321's own limits (64, 255, 256 for the path) make a
 * path not strict when passed. The argument is read in one pass plus, for
 * lenient forms, one run of the address parser; nothing is allocated.
 *
 * Returns 0 when the path is the null path or names a domain; -1 (why set)
 * when no domain can be read from it (no '@' outside quotes at all).
 */
#ifndef SC_SMTPPATH_H
#define SC_SMTPPATH_H

#include <stddef.h>

#define SMTP_LOCAL_MAX		250
#define SMTP_DOMAIN_MAX		255

struct smtp_path {
	int null;			/* the null reverse-path "<>" */
	int strict;			/* RFC 5321 syntax, within its limits */
	int literal;			/* the domain is an address literal */
	char local[SMTP_LOCAL_MAX + 1];	/* as written (quoted string with its quotes) */
	char domain[SMTP_DOMAIN_MAX + 1];	/* see above; "" for the null path */
	char why[160];			/* when not strict: what was wrong */
};

int smtp_path_parse(const char *arg, struct smtp_path *out);

#endif
