/*
 * dkimkey: see dkimkey.h.
 */
#include "config.h"

#include <string.h>

#include "dkimkey.h"
#include "dnsname.h"

#define KEY_NAME_MAX	253

static int
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies value p..e without folding white space into out; -1 if too long. */
static int
copy_tight(const char *p, const char *e, char *out, size_t outlen)
{
	size_t n = 0;

	for (; p < e; p++) {
		if (is_fws((unsigned char)*p))
			continue;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *p;
	}
	out[n] = '\0';
	return 0;
}

enum { T_V, T_A, T_B, T_BH, T_D, T_H, T_S, T_Q, T_N };

static int
tag_index(const char *p, size_t n)
{
	static const char *const names[T_N] = { "v", "a", "b", "bh", "d", "h", "s", "q" };
	int i;

	for (i = 0; i < T_N; i++)
		if (strlen(names[i]) == n && memcmp(names[i], p, n) == 0)
			return i;
	return -1;
}

int
dkim_key_name(const char *value, size_t len, char *out, size_t outlen)
{
	const char *p = value, *end = value + len, *semi, *eq, *ns, *ne;
	char v[8], d[KEY_NAME_MAX + 1], s[KEY_NAME_MAX + 1], q[16];
	unsigned seen = 0;
	int t;

	if (value == NULL || out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	d[0] = s[0] = v[0] = '\0';
	while (p < end) {
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		while (p < semi && is_fws((unsigned char)*p))
			p++;
		if (p == semi) {	/* empty (a trailing ';') */
			p = semi + 1;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(semi - p))) == NULL)
			return -1;
		ns = p;
		for (ne = eq; ne > ns && is_fws((unsigned char)ne[-1]); ne--)
			;
		if ((t = tag_index(ns, (size_t)(ne - ns))) >= 0) {
			if (seen & (1u << t))
				return -1;	/* a tag given twice */
			seen |= 1u << t;
			if ((t == T_V && copy_tight(eq + 1, semi, v, sizeof(v)) < 0) ||
			    (t == T_D && copy_tight(eq + 1, semi, d, sizeof(d)) < 0) ||
			    (t == T_S && copy_tight(eq + 1, semi, s, sizeof(s)) < 0) ||
			    (t == T_Q && copy_tight(eq + 1, semi, q, sizeof(q)) < 0))
				return -1;
		}
		p = semi + 1;
	}
	if ((seen & ((1u << T_Q) - 1)) != (1u << T_Q) - 1 || strcmp(v, "1") != 0)
		return -1;
	if ((seen & (1u << T_Q)) && strcmp(q, "dns/txt") != 0)
		return -1;
	if (!dns_name_ok(d, DNS_NAME_HOST) || !dns_name_ok(s, DNS_NAME_HOST) || strlen(s) + strlen(d) + 12 > KEY_NAME_MAX ||
	    strlen(s) + strlen(d) + 13 > outlen)
		return -1;
	strcpy(out, s);
	strcat(out, "._domainkey.");
	strcat(out, d);
	return 0;
}
