/*
 * statshtml: HTML + SVG report page; see statshtml.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "statshtml.h"

#define CHART_W 760
#define CHART_H 300
#define PAD_L 48
#define PAD_R 150
#define PAD_T 20
#define PAD_B 56

/* a line per profile, then DMARC pass (a profile added without a colour fails to compile) */
static const char *const colors[PROFILE_COUNT + 1] = { "#1a73e8", "#6001d2", "#107c10", "#d93025" };
_Static_assert(sizeof(colors) / sizeof(colors[0]) == 4, "one colour per profile and one for DMARC");

static void
esc(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': sbuf_addstr(b, "&lt;"); break;
		case '>': sbuf_addstr(b, "&gt;"); break;
		case '&': sbuf_addstr(b, "&amp;"); break;
		case '"': sbuf_addstr(b, "&quot;"); break;
		case '\'': sbuf_addstr(b, "&#39;"); break;
		default:
			if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
				sbuf_addc(b, '?');
			else
				sbuf_addc(b, *s);
		}
	}
}

static void
pct_cell(struct sbuf *b, long num, long den)
{
	if (den <= 0) {
		sbuf_addstr(b, "<td class=n>&ndash;</td>");
		return;
	}
	double p = 100.0 * (double)num / (double)den;
	sbuf_printf(b, "<td class=\"n %s\">%.1f</td>", p >= 99.95 ? "ok" : p >= 90 ? "warn" : "bad", p);
}

/* The sum of the rows shown, as the table's foot. */
static void
totals_row(struct sbuf *b, const struct statshtml_input *in)
{
	struct statsdb_counts t;

	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < in->n_domains; i++) {
		const struct statsdb_counts *c = &in->domains[i].c;

		t.messages += c->messages;
		t.spf_pass += c->spf_pass;
		t.dkim_pass += c->dkim_pass;
		t.dmarc_pass += c->dmarc_pass;
		t.aligned += c->aligned;
		t.bulk += c->bulk;
		t.bulk_oneclick += c->bulk_oneclick;
		for (int p = 0; p < PROFILE_COUNT; p++) {
			t.judged[p] += c->judged[p];
			t.compliant[p] += c->compliant[p];
		}
	}
	sbuf_printf(b, "<tfoot><tr class=total><th>all %zu domains</th><td class=n>%ld</td>",
	    in->n_domains, t.messages);
	pct_cell(b, t.spf_pass, t.messages);
	pct_cell(b, t.dkim_pass, t.messages);
	pct_cell(b, t.dmarc_pass, t.messages);
	pct_cell(b, t.aligned, t.messages);
	pct_cell(b, t.bulk_oneclick, t.bulk);
	for (int p = 0; p < PROFILE_COUNT; p++)
		if (in->profiles & (1u << p))
			pct_cell(b, t.compliant[p], t.judged[p]);
	sbuf_printf(b, "<td class=n>%ld</td></tr></tfoot>", t.bulk);
}

/* What the milter did with the messages of the rows shown. */
static void
actions_table(struct sbuf *b, const struct statshtml_input *in)
{
	long n[ACT_COUNT] = { 0 }, all = 0;

	for (size_t i = 0; i < in->n_domains; i++)
		for (int a = 0; a < ACT_COUNT; a++) {
			n[a] += in->domains[i].c.action[a];
			all += in->domains[i].c.action[a];
		}
	sbuf_addstr(b, "<h2>Actions</h2>\n<table id=actions><thead><tr><th>action</th><th>messages</th>"
	    "<th>%</th></tr></thead><tbody>\n");
	for (int a = 0; a < ACT_COUNT; a++) {
		sbuf_printf(b, "<tr><td>%s</td><td class=n>%ld</td>", action_str((enum action)a), n[a]);
		if (all > 0)
			sbuf_printf(b, "<td class=n>%.1f</td></tr>\n", 100.0 * (double)n[a] / (double)all);
		else
			sbuf_addstr(b, "<td class=n>&ndash;</td></tr>\n");
	}
	sbuf_addstr(b, "</tbody></table>\n");
}

static void
domains_table(struct sbuf *b, const struct statshtml_input *in)
{
	sbuf_addstr(b, "<h2>Sending domains</h2>\n<table id=domains><thead><tr><th>domain</th>"
	    "<th>messages</th><th>SPF&nbsp;%</th><th>DKIM&nbsp;%</th><th>DMARC&nbsp;%</th>"
	    "<th>aligned&nbsp;%</th><th>one-click&nbsp;%<br><small>of bulk</small></th>");
	for (int p = 0; p < PROFILE_COUNT; p++)
		if (in->profiles & (1u << p))
			sbuf_printf(b, "<th>%s&nbsp;%%</th>", profile_name((enum profile_id)p));
	sbuf_addstr(b, "<th>bulk</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < in->n_domains; i++) {
		const struct statsdb_counts *c = &in->domains[i].c;

		sbuf_addstr(b, "<tr><td>");
		esc(b, in->domains[i].domain);
		sbuf_printf(b, "</td><td class=n>%ld</td>", c->messages);
		pct_cell(b, c->spf_pass, c->messages);
		pct_cell(b, c->dkim_pass, c->messages);
		pct_cell(b, c->dmarc_pass, c->messages);
		pct_cell(b, c->aligned, c->messages);
		pct_cell(b, c->bulk_oneclick, c->bulk);
		for (int p = 0; p < PROFILE_COUNT; p++)
			if (in->profiles & (1u << p))
				pct_cell(b, c->compliant[p], c->judged[p]);
		sbuf_printf(b, "<td>%s</td></tr>\n", c->bulk > 0 ? "yes" : "no");
	}
	if (in->n_domains == 0)
		sbuf_addstr(b, "<tr><td colspan=12>no messages in this window</td></tr>\n");
	sbuf_addstr(b, "</tbody>");
	if (in->n_domains > 1)
		totals_row(b, in);
	sbuf_addstr(b, "</table>\n");
	actions_table(b, in);
}

static void
rules_table(struct sbuf *b, const struct statshtml_input *in)
{
	sbuf_printf(b, "<h2>Rules failed, per profile</h2>\n<table id=rules><thead><tr><th>rule</th>"
	    "<th>messages</th><th>%% of %ld</th>", in->rule_messages);
	for (int p = 0; p < PROFILE_COUNT; p++)
		if (in->profiles & (1u << p))
			sbuf_printf(b, "<th>%s</th>", profile_name((enum profile_id)p));
	sbuf_addstr(b, "<th>domains failing it most</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < in->n_rules; i++) {
		const struct statsdb_rule *r = &in->rules[i];

		sbuf_addstr(b, "<tr><td>");
		esc(b, r->rule);
		sbuf_printf(b, "</td><td class=n>%ld</td>", r->messages);
		if (in->rule_messages > 0)
			sbuf_printf(b, "<td class=n>%.1f</td>", 100.0 * (double)r->messages / (double)in->rule_messages);
		else
			sbuf_addstr(b, "<td class=n>&ndash;</td>");
		for (int p = 0; p < PROFILE_COUNT; p++)
			if (in->profiles & (1u << p))
				sbuf_printf(b, "<td class=n>%ld</td>", r->per_profile[p]);
		sbuf_addstr(b, "<td>");
		for (size_t k = 0; k < r->n_top; k++) {
			sbuf_addstr(b, k ? ", " : "");
			esc(b, r->top[k].domain);
			sbuf_printf(b, " (%ld)", r->top[k].n);
		}
		sbuf_addstr(b, "</td></tr>\n");
	}
	if (in->n_rules == 0)
		sbuf_addstr(b, "<tr><td colspan=8>no rule failed in this window</td></tr>\n");
	sbuf_addstr(b, "</tbody></table>\n");
}

static void
days_table(struct sbuf *b, const struct statshtml_input *in)
{
	sbuf_addstr(b, "<h2>Per day</h2>\n<table id=trend><thead><tr><th>day (UTC)</th><th>messages</th>"
	    "<th>SPF&nbsp;%</th><th>DKIM&nbsp;%</th><th>DMARC&nbsp;%</th><th>aligned&nbsp;%</th>"
	    "<th>one-click&nbsp;%</th>");
	for (int p = 0; p < PROFILE_COUNT; p++)
		if (in->profiles & (1u << p))
			sbuf_printf(b, "<th>%s&nbsp;%%</th>", profile_name((enum profile_id)p));
	sbuf_addstr(b, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < in->n_days; i++) {
		const struct statsdb_counts *c = &in->days[i].c;

		sbuf_printf(b, "<tr><td>%s</td><td class=n>%ld</td>", in->days[i].day, c->messages);
		pct_cell(b, c->spf_pass, c->messages);
		pct_cell(b, c->dkim_pass, c->messages);
		pct_cell(b, c->dmarc_pass, c->messages);
		pct_cell(b, c->aligned, c->messages);
		pct_cell(b, c->bulk_oneclick, c->bulk);
		for (int p = 0; p < PROFILE_COUNT; p++)
			if (in->profiles & (1u << p))
				pct_cell(b, c->compliant[p], c->judged[p]);
		sbuf_addstr(b, "</tr>\n");
	}
	sbuf_addstr(b, "</tbody></table>\n");
}

/*
 * Series often coincide (every profile at 100 %): each has its own dash
 * pattern, and its points a radius of their own, the first series the
 * largest, so that points on the same spot show as rings, none hidden.
 */
static const char *const dashes[PROFILE_COUNT + 1] = { "none", "8 4", "3 3", "10 3 2 3" };

static double
radius(int series)
{
	return 2.5 + 1.5 * (double)(PROFILE_COUNT - series);
}

/* Compliance per day: one line per profile and one for DMARC pass, 0..100 %. */
static void
day_chart(struct sbuf *b, const struct statshtml_input *in)
{
	const int w = CHART_W - PAD_L - PAD_R, h = CHART_H - PAD_T - PAD_B;
	size_t n = in->n_days;
	double step = n > 1 ? (double)w / (double)(n - 1) : 0;
	int series = 0;

	sbuf_printf(b, "<h2>Compliance per day</h2>\n<svg id=chart-days xmlns=\"http://www.w3.org/2000/svg\""
	    " width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=img"
	    " aria-label=\"compliance per day\">\n", CHART_W, CHART_H, CHART_W, CHART_H);
	sbuf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", CHART_W, CHART_H);
	for (int pct = 0; pct <= 100; pct += 25) {
		double y = PAD_T + h - h * pct / 100.0;
		sbuf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
		    "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%d%%</text>\n",
		    PAD_L, y, PAD_L + w, y, PAD_L - 6, y + 4, pct);
	}
	/* x labels: at most about 10 */
	size_t every = n > 10 ? (n + 9) / 10 : 1;
	for (size_t i = 0; i < n; i += every) {
		double x = PAD_L + (n > 1 ? step * (double)i : w / 2.0);
		/* slanting down to the right from their day: the first one used to
		 * run off the left edge (anchored at its end, slanting left) */
		sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"start\""
		    " transform=\"rotate(35 %.1f %d)\">%s</text>\n", x, PAD_T + h + 14, x, PAD_T + h + 14,
		    in->days[i].day);
	}
	for (int s = 0; s <= PROFILE_COUNT; s++) {
		const char *name = s < PROFILE_COUNT ? profile_name((enum profile_id)s) : "DMARC pass";
		int started = 0;

		if (s < PROFILE_COUNT && !(in->profiles & (1u << s)))
			continue;
		sbuf_printf(b, "<g class=series data-name=\"%s\">", name);
		sbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\""
		    " points=\"", colors[s], dashes[s]);
		for (size_t i = 0; i < n; i++) {
			const struct statsdb_counts *c = &in->days[i].c;
			long num = s < PROFILE_COUNT ? c->compliant[s] : c->dmarc_pass;
			long den = s < PROFILE_COUNT ? c->judged[s] : c->messages;

			if (den <= 0)
				continue;
			sbuf_printf(b, "%s%.1f,%.1f", started++ ? " " : "",
			    PAD_L + (n > 1 ? step * (double)i : w / 2.0),
			    PAD_T + h - h * (double)num / (double)den);
		}
		sbuf_addstr(b, "\"/>");
		for (size_t i = 0; i < n; i++) {
			const struct statsdb_counts *c = &in->days[i].c;
			long num = s < PROFILE_COUNT ? c->compliant[s] : c->dmarc_pass;
			long den = s < PROFILE_COUNT ? c->judged[s] : c->messages;

			if (den <= 0)
				continue;
			sbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" stroke=\"#fff\""
			    " stroke-width=\"1\"><title>%s %s: %.1f%% of %ld</title></circle>",
			    PAD_L + (n > 1 ? step * (double)i : w / 2.0),
			    PAD_T + h - h * (double)num / (double)den, radius(s), colors[s], in->days[i].day, name,
			    100.0 * (double)num / (double)den, den);
		}
		sbuf_addstr(b, "</g>\n");
		sbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		    "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n", PAD_L + w + 16,
		    PAD_T + series * 20, colors[s], PAD_L + w + 34, PAD_T + series * 20 + 11, name);
		series++;
	}
	if (n == 0)
		sbuf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\">no data</text>\n", PAD_L + 20, PAD_T + h / 2);
	sbuf_addstr(b, "</svg>\n");
}

/* Failures per rule: horizontal bars, longest first. */
static void
rule_chart(struct sbuf *b, const struct statshtml_input *in)
{
	const int row = 26, label = 130, w = CHART_W - label - 80;
	int height = PAD_T + row * (int)(in->n_rules ? in->n_rules : 1) + 20;
	long max = 1;

	for (size_t i = 0; i < in->n_rules; i++)
		if (in->rules[i].messages > max)
			max = in->rules[i].messages;
	sbuf_printf(b, "<h2>Failures per rule</h2>\n<svg id=chart-rules xmlns=\"http://www.w3.org/2000/svg\""
	    " width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=img aria-label=\"failures per rule\">\n",
	    CHART_W, height, CHART_W, height);
	sbuf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", CHART_W, height);
	for (size_t i = 0; i < in->n_rules; i++) {
		const struct statsdb_rule *r = &in->rules[i];
		double len = (double)w * (double)r->messages / (double)max;
		int y = PAD_T + row * (int)i;

		sbuf_addstr(b, "<g class=bar><text x=\"");
		sbuf_printf(b, "%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">", label - 8, y + 15);
		esc(b, r->rule);
		sbuf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"#d93025\">"
		    "<title>", label, y + 2, len < 1 ? 1 : len);
		esc(b, r->rule);
		sbuf_printf(b, ": %ld messages</title></rect><text x=\"%.1f\" y=\"%d\" font-size=\"12\">%ld</text></g>\n",
		    r->messages, label + len + 6, y + 15, r->messages);
	}
	if (in->n_rules == 0)
		sbuf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\">no rule failed</text>\n", label, PAD_T + 14);
	sbuf_addstr(b, "</svg>\n");
}

char *
statshtml_render(const struct statshtml_input *in)
{
	struct sbuf b;

	sbuf_init(&b, 64u << 20);
	sbuf_addstr(&b, "<!DOCTYPE html>\n<html lang=en><head><meta charset=\"utf-8\">\n<title>");
	esc(&b, in->title);
	sbuf_addstr(&b, "</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:24px;color:#202124;background:#fff}\n"
	    "h1{font-size:22px}h2{font-size:17px;margin-top:28px}\n"
	    "table{border-collapse:collapse;font-size:13px}\n"
	    "th,td{border:1px solid #dadce0;padding:4px 8px;text-align:left}\n"
	    "th{background:#f1f3f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	    "td.ok{color:#137333}td.warn{color:#b06000}td.bad{color:#c5221f;font-weight:bold}\n"
	    "p.meta{color:#5f6368;font-size:13px}svg{border:1px solid #dadce0;display:block}\n"
	    "tfoot th,tfoot td{font-weight:bold;background:#f8f9fa}\n"
	    "</style></head><body>\n<h1>");
	esc(&b, in->title);
	sbuf_addstr(&b, "</h1>\n<p class=meta>");
	if (in->domain) {
		sbuf_addstr(&b, "Domain ");
		esc(&b, in->domain);
		sbuf_addstr(&b, ", ");
	}
	esc(&b, in->window);
	sbuf_addstr(&b, "; generated ");
	esc(&b, in->generated);
	sbuf_addstr(&b, ". Percentages are of the messages judged; one-click is of bulk messages;"
	    " days are UTC.</p>\n");
	day_chart(&b, in);
	rule_chart(&b, in);
	domains_table(&b, in);
	rules_table(&b, in);
	days_table(&b, in);
	sbuf_addstr(&b, "</body></html>\n");
	if (b.overflow) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}
