/*
 * report_relay.c — the `--relay-test` report: a table of recipient forms
 * with the server's answers and the verdict line, or one JSON object
 * (docs/REPORT-FORMAT.md, "--relay-test").  Reads a relaytest_result;
 * every string from a server or the user goes through the escapers.
 */
#include <stdlib.h>
#include <string.h>

#include "relaytest.h"
#include "report.h"

#define js report_json_cstr
#define jsn report_json_cstr_nonempty

static const char *
tri(int v)
{
	return v > 0 ? "true" : v == 0 ? "false" : "null";
}

/* The probe object of one pass, on the same line (no newline). */
static void
json_pass(FILE *out, const struct probe_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (mem == NULL) {
		fputs("null", out);
		return;
	}
	report_json(mem, r);
	fclose(mem);
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	fwrite(buf, 1, len, out);
	free(buf);
}

void
report_relaytest_json(FILE *out, const struct relaytest_result *rt)
{
	const struct probe_result *r0 = rt->npass > 0 ? rt->pass[0].res : NULL;
	bool first = true;
	size_t p, i;

	fputs("{\"mode\":\"relay_test\",\"target\":", out);
	jsn(out, rt->target);
	fputs(",\"server_domain\":", out);
	jsn(out, rt->server_domain);
	fputs(",\"from\":", out);
	js(out, rt->from);
	fputs(",\"relay_rcpt\":", out);
	js(out, rt->outside);
	fputs(",\"server\":", out);
	if (r0 != NULL && r0->has_server) {
		fputs("{\"host\":", out);
		jsn(out, r0->server_host);
		fputs(",\"ip\":", out);
		js(out, r0->server_ip);
		fprintf(out, ",\"port\":%d}", r0->server_port);
	} else
		fputs("null", out);
	fprintf(out, ",\"open_relay\":%s,\"authenticated_relay\":%s,"
	    "\"exit_code\":%d,\"error\":", tri(rt->open_relay),
	    tri(rt->auth_relay), rt->exit_code);
	jsn(out, rt->error);
	fputs(",\"conclusion\":", out);
	jsn(out, rt->conclusion);
	fputs(",\"relay_test\":[", out);
	for (p = 0; p < rt->npass; p++) {
		const struct relaytest_pass *ps = &rt->pass[p];

		for (i = 0; i < RV_COUNT; i++) {
			const struct relaytest_txn *t = &ps->txns[i];

			fputs(first ? "{\"variant\":" : ",{\"variant\":", out);
			first = false;
			js(out, relaytest_variant_name((enum relay_variant)i));
			fprintf(out, ",\"authenticated\":%s,\"rcpt\":",
			    ps->authenticated ? "true" : "false");
			js(out, t->rcpt);
			fputs(",\"status\":", out);
			js(out, relaytest_status_name(ps->status[i]));
			fprintf(out, ",\"accepted\":%s,\"mail\":",
			    ps->status[i] == RELAY_ACCEPTED ? "true" :
			    ps->status[i] == RELAY_REFUSED ? "false" : "null");
			report_json_reply(out, &t->mail);
			fputs(",\"reply\":", out);
			report_json_reply(out, &t->rcpt_reply);
			fputs(",\"note\":", out);
			jsn(out, ps->note[i]);
			fputc('}', out);
		}
	}
	fputs("],\"findings\":[", out);
	first = true;
	for (p = 0; p < rt->npass; p++) {
		const struct probe_result *r = rt->pass[p].res;

		for (i = 0; r != NULL && i < r->nfindings; i++) {
			const struct finding *f = &r->findings[i];

			fputs(first ? "{\"id\":" : ",{\"id\":", out);
			first = false;
			js(out, finding_name(f->id));
			fputs(",\"severity\":", out);
			js(out, severity_name(f->severity));
			fputs(",\"stage\":", out);
			js(out, stage_name(f->stage));
			fprintf(out, ",\"authenticated\":%s,\"message\":",
			    rt->pass[p].authenticated ? "true" : "false");
			js(out, f->message);
			fputs(",\"evidence\":", out);
			jsn(out, f->evidence);
			fputs(",\"ref\":", out);
			jsn(out, f->ref);
			fputc('}', out);
		}
	}
	fputs("],\"sessions\":[", out);
	for (p = 0; p < rt->npass; p++) {
		if (p > 0)
			fputc(',', out);
		if (rt->pass[p].res == NULL || !rt->pass[p].ran)
			fputs("null", out);
		else
			json_pass(out, rt->pass[p].res);
	}
	fputs("]}\n", out);
}

/* "554 5.7.1 Relay access denied" cut at width, or "-". */
static void
put_reply(FILE *out, const struct reply *rp, size_t width)
{
	size_t n;

	if (rp == NULL) {
		fputs("-", out);
		return;
	}
	fprintf(out, "%d", rp->code);
	if (rp->nlines > 0) {
		n = rp->lines[0].len;
		fputc(' ', out);
		report_put_text(out, rp->lines[0].text, n > width ? width : n);
		if (n > width || rp->nlines > 1)
			fputs(" ...", out);
	}
}

static void
text_stage(FILE *out, const struct probe_result *r, enum stage st)
{
	const struct stage_rec *s = &r->stages[st];

	if (s->status == STATUS_OK || s->status == STATUS_SKIPPED)
		return;
	fprintf(out, "    %s %s", stage_name(st),
	    stage_status_name(s->status));
	if (s->nreplies > 0) {
		fputs(": ", out);
		put_reply(out, s->replies[s->nreplies - 1].reply, 100);
	} else if (s->error[0] != '\0') {
		fputs(": ", out);
		report_put_text(out, s->error, strlen(s->error));
	}
	fputc('\n', out);
	if (s->expl.present) {
		fputs("      meaning: ", out);
		report_put_text(out, s->expl.meaning, strlen(s->expl.meaning));
		fputs("\n      action:  ", out);
		report_put_text(out, s->expl.action, strlen(s->expl.action));
		fputc('\n', out);
	}
}

void
report_relaytest_text(FILE *out, const struct relaytest_result *rt,
    bool verbose)
{
	const struct probe_result *r0 = rt->npass > 0 ? rt->pass[0].res : NULL;
	size_t p, i, j;

	fputs("smtpprobe --relay-test", out);
	if (rt->target[0]) {
		fputs(": ", out);
		report_put_text(out, rt->target, strlen(rt->target));
	}
	fputc('\n', out);
	if (r0 != NULL && r0->has_server)
		fprintf(out, "  server:   %s%s%s port %d\n", r0->server_host,
		    r0->server_host[0] ? " " : "", r0->server_ip,
		    r0->server_port);
	fprintf(out, "  sender:   MAIL FROM:<%s>; outside recipient %s; "
	    "server domain %s\n", rt->from, rt->outside, rt->server_domain);
	if (rt->error[0]) {
		fputs("  error:    ", out);
		report_put_text(out, rt->error, strlen(rt->error));
		fputc('\n', out);
	}
	if (rt->npass > 0 && rt->pass[0].ran) {
		fprintf(out, "  %-18s %-4s %-48s %-8s %s\n", "variant", "auth",
		    "RCPT TO", "accepted", "reply");
		for (p = 0; p < rt->npass; p++) {
			const struct relaytest_pass *ps = &rt->pass[p];

			if (!ps->ran)
				continue;
			for (i = 0; i < RV_COUNT; i++) {
				const struct relaytest_txn *t = &ps->txns[i];
				const struct reply *shown =
				    t->rcpt_reply.reply != NULL ?
				    t->rcpt_reply.reply : t->mail.reply;

				fprintf(out, "  %-18s %-4s <",
				    relaytest_variant_label(
				    (enum relay_variant)i),
				    ps->authenticated ? "yes" : "no");
				report_put_text(out, t->rcpt, strlen(t->rcpt));
				fprintf(out, ">%*s %-8s ", strlen(t->rcpt) <
				    46 ? (int)(46 - strlen(t->rcpt)) : 0, "",
				    ps->status[i] == RELAY_ACCEPTED ? "yes" :
				    ps->status[i] == RELAY_REFUSED ? "no" :
				    "unknown");
				if (shown == t->mail.reply && shown != NULL)
					fputs("MAIL ", out);
				put_reply(out, shown, 60);
				fputc('\n', out);
				if (ps->note[i][0]) {
					fputs("      note: ", out);
					report_put_text(out, ps->note[i],
					    strlen(ps->note[i]));
					fputc('\n', out);
				}
			}
			if (ps->res != NULL) {
				for (j = STAGE_CONNECT; j < STAGE_MAIL; j++)
					text_stage(out, ps->res, (enum stage)j);
			}
		}
	}
	fprintf(out, "  open relay: %s\n", rt->open_relay > 0 ? "yes" :
	    rt->open_relay == 0 ? "no" : "could not tell");
	if (rt->conclusion[0]) {
		fputs("  conclusion: ", out);
		report_put_text(out, rt->conclusion, strlen(rt->conclusion));
		fputc('\n', out);
	}
	for (p = 0; p < rt->npass; p++) {
		const struct probe_result *r = rt->pass[p].res;

		if (r == NULL || r->nfindings == 0)
			continue;
		fprintf(out, "  findings (%s):\n", rt->pass[p].authenticated ?
		    "authenticated" : "unauthenticated");
		for (i = 0; i < r->nfindings; i++)
			report_finding_line(out, &r->findings[i]);
	}
	if (!verbose)
		return;
	for (p = 0; p < rt->npass; p++) {
		const struct probe_result *r = rt->pass[p].res;

		if (r == NULL)
			continue;
		fprintf(out, "  transcript (%s):\n", rt->pass[p].authenticated ?
		    "authenticated" : "unauthenticated");
		for (j = 0; j < r->ntranscript; j++) {
			const struct transcript_entry *e = &r->transcript[j];

			fprintf(out, "    %8.1f %s ", e->t_ms, e->dir == 's' ?
			    "->" : e->dir == 'r' ? "<-" : "**");
			report_put_text(out, e->text, e->len);
			fputc('\n', out);
		}
	}
}
