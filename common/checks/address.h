/*
 * address: RFC 5322 address parsing for From, Sender and Reply-To, so
 * that DMARC gets the one author domain exactly as a receiver must see it.
 *
 * addr_parse reads a header value as received (leading white space,
 * CRLF folds) as an address-list (RFC 5322 §3.4): mailboxes, with or
 * without display names and angle brackets, and groups
 * ("undisclosed-recipients:;"). Comments (nested, with quoted-pairs) are
 * allowed wherever CFWS is. The obsolete forms of §4.4 that mail in the
 * wild uses are accepted: CFWS around the dots of local parts and
 * domains, "." in display names (John Q. Public), empty list elements
 * (",a@example.com,,"), source routes (<@relay:user@example.com>), and
 * control characters inside quoted strings and comments. Octets over 127
 * are accepted where RFC 6532 allows UTF-8 (atoms, quoted strings,
 * comments), not in domain literals. Encoded-words stay as they are.
 *
 * What is not accepted, each an error: an empty list; a bare word that
 * is not an address ("Doe, John <j@example.com>" fails at "Doe"); two
 * words in a local part without a dot ("john doe@example.com"); leading,
 * trailing or doubled dots in local parts and domains; a quoted string
 * as a domain; "<>"; unterminated quoted strings, comments, literals and
 * angle addresses; groups inside groups; NUL anywhere; a line break that
 * is not a fold (not followed by white space), except at the very end.
 *
 * Invariants: the parser is one pass without recursion (comment nesting
 * is a counter), linear in the input, and writes only into the fixed
 * arrays of struct addr_list. It never allocates. At most
 * ADDR_MAX_MAILBOXES mailboxes are stored; further ones are still
 * parsed and counted in n_total (truncated is set). A local part longer
 * than ADDR_LOCAL_MAX or a domain longer than ADDR_DOMAIN_MAX octets is
 * an error (neither can be delivered or looked up); a display name longer
 * than ADDR_DISPLAY_MAX is cut and display_truncated set.
 *
 * Errors: addr_parse returns -1 with error_pos (octet offset into the
 * value as given) and a one-line reason in why; the mailboxes stored up
 * to the error stay in the list. It returns 0 otherwise.
 */
#ifndef SC_ADDRESS_H
#define SC_ADDRESS_H

#include <stddef.h>

#define ADDR_MAX_MAILBOXES	16
#define ADDR_LOCAL_MAX		256
#define ADDR_DOMAIN_MAX		255
#define ADDR_DISPLAY_MAX	256

struct addr_mailbox {
	/*
	 * Local part without CFWS: atoms and dots as written; a quoted
	 * string keeps its quotes and backslashes, folds removed.
	 */
	char local[ADDR_LOCAL_MAX + 1];
	/*
	 * Domain lower-cased (ASCII only), without CFWS. A domain literal
	 * keeps its brackets: "[192.0.2.1]", "[ipv6:2001:db8::1]".
	 */
	char domain[ADDR_DOMAIN_MAX + 1];
	/* display name as written (quotes, comments inside kept), folds removed */
	char display[ADDR_DISPLAY_MAX + 1];
	int domain_literal;
	int local_quoted;	/* the local part has a quoted string */
	int has_display;
	int display_truncated;
	int angle;		/* written as <addr-spec> */
	int route;		/* had an obsolete source route (ignored) */
	int in_group;		/* 1-based number of the group it is in, 0 if none */
	size_t pos;		/* offset of the mailbox in the value */
};

struct addr_list {
	size_t n;			/* mailboxes stored in v */
	size_t n_total;			/* mailboxes in the value */
	int truncated;			/* n_total > ADDR_MAX_MAILBOXES */
	unsigned n_groups;		/* groups in the value */
	struct addr_mailbox v[ADDR_MAX_MAILBOXES];
	size_t error_pos;		/* on error: octet offset */
	char why[160];			/* on error: reason */
};

/*
 * Parses value (len octets, need not be NUL-terminated) as an
 * address-list. Returns 0, or -1 with out->error_pos and out->why.
 */
int addr_parse(const char *value, size_t len, struct addr_list *out);

#endif
