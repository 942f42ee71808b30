/*
 * escape: untrusted text written into text outputs that others parse:
 * the key=value log line, sendercheck-test's report, CSV for spreadsheets.
 *
 * escape_text appends v so that it stays one value: octets outside
 * printable ASCII (control bytes, DEL, every octet over 127), '"' and '\\'
 * become \xNN, and so does a space. No sender can then end a value, start
 * a forged key=value pair, split a line, or send a terminal an escape
 * sequence. Printable ASCII is written as it is. Flags keep what the
 * caller's syntax allows: ESCAPE_KEEP_SPACE a space (the value sits inside
 * quotes the caller writes), ESCAPE_KEEP_QUOTES '"' and '\\' (text for
 * people, not for a parser), ESCAPE_KEEP_LAYOUT a TAB and a line feed
 * (a report whose values are folded header fields).
 *
 * escape_csv_cell appends v as one RFC 4180 cell that a spreadsheet shows
 * as text: a cell starting with '=', '+', '-', '@', a TAB or a CR (which
 * spreadsheets run as a formula) gets a leading "'" (OWASP's CSV injection
 * advice), and a cell with ',', '"', CR or LF (or that prefix) is quoted
 * with '"' doubled.
 *
 * Both append to an sbuf (its bound applies) and never fail otherwise.
 */
#ifndef SC_ESCAPE_H
#define SC_ESCAPE_H

#include "sbuf.h"

#define ESCAPE_KEEP_SPACE	1
#define ESCAPE_KEEP_QUOTES	2
#define ESCAPE_KEEP_LAYOUT	4

void escape_text(struct sbuf *b, const char *v, unsigned flags);
void escape_csv_cell(struct sbuf *b, const char *v);

#endif
