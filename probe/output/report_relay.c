/*
 * report_relay.c — the `--relay-test` report: a table of recipient forms
 * with the server's answers and the verdict line, or one JSON object
 * (docs/REPORT-FORMAT.md, "--relay-test").  Reads a relaytest_result;
 * every string from a server or the user goes through the escapers.
 */
#include <string.h>

#include "json.h"
#include "relaytest.h"
#include "report.h"

/* One envelope of the "relay_test" list. */
static void
json_variant(struct json_writer *w, const struct relaytest_pass *ps,
    size_t i)
{
	const struct relaytest_txn *t = &ps->txns[i];

	json_object(w);
	json_kv_str(w, "variant",
	    relaytest_variant_name((enum relay_variant)i));
	json_kv_bool(w, "authenticated", ps->authenticated);
	json_kv_str(w, "rcpt", t->rcpt);
	json_kv_str(w, "status", relaytest_status_name(ps->status[i]));
	json_kv_tri(w, "accepted", ps->status[i] == RELAY_ACCEPTED ? 1 :
	    ps->status[i] == RELAY_REFUSED ? 0 : -1);
	json_key(w, "mail");
	report_json_reply(w, &t->mail);
	json_key(w, "reply");
	report_json_reply(w, &t->rcpt_reply);
	/* The made-up local part asked after an accepted local form. */
	json_key(w, "control");
	report_json_reply(w, &t->control);
	json_kv_str_nonempty(w, "note", ps->note[i]);
	json_object_end(w);
}

/* "relay_test", "findings" and "sessions": every pass's envelopes, its
 * findings marked with the pass, and its whole probe object. */
static void
json_passes(struct json_writer *w, const struct relaytest_result *rt)
{
	size_t p, i;

	json_kv_array(w, "relay_test");
	for (p = 0; p < rt->npass; p++)
		for (i = 0; i < RV_COUNT; i++)
			json_variant(w, &rt->pass[p], i);
	json_array_end(w);
	json_kv_array(w, "findings");
	for (p = 0; p < rt->npass; p++) {
		const struct probe_result *r = rt->pass[p].res;

		for (i = 0; r != NULL && i < r->nfindings; i++)
			report_json_finding(w, &r->findings[i],
			    rt->pass[p].authenticated);
	}
	json_array_end(w);
	json_kv_array(w, "sessions");
	for (p = 0; p < rt->npass; p++) {
		if (rt->pass[p].res == NULL || !rt->pass[p].ran)
			json_null(w);
		else
			report_json_value(w, rt->pass[p].res, NULL);
	}
	json_array_end(w);
}

void
report_relaytest_json(FILE *out, const struct relaytest_result *rt)
{
	const struct probe_result *r0 = rt->npass > 0 ? rt->pass[0].res : NULL;
	struct json_writer w;

	json_init(&w, out);
	json_report_object(&w);
	json_kv_str(&w, "mode", "relay_test");
	json_kv_str_nonempty(&w, "target", rt->target);
	json_kv_str_nonempty(&w, "server_domain", rt->server_domain);
	json_kv_str(&w, "server_domain_from",
	    relaytest_domain_source_name(rt->domain_source));
	json_kv_str_nonempty(&w, "control", rt->control);
	json_kv_str(&w, "from", rt->from);
	json_kv_str(&w, "relay_rcpt", rt->outside);
	if (r0 != NULL && r0->has_server) {
		report_json_server(&w, r0->server_host, r0->server_ip,
		    r0->server_port);
		json_object_end(&w);
	} else
		json_kv_null(&w, "server");
	json_kv_tri(&w, "open_relay", rt->open_relay);
	json_kv_tri(&w, "authenticated_relay", rt->auth_relay);
	json_kv_int(&w, "exit_code", rt->exit_code);
	json_kv_str_nonempty(&w, "error", rt->error);
	json_kv_str_nonempty(&w, "conclusion", rt->conclusion);
	json_passes(&w, rt);
	json_object_end(&w);
	json_finish(&w);
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
	} else if (stage_error(s)[0] != '\0')
		report_put_field(out, ": ", stage_error(s), "");
	fputc('\n', out);
	if (s->expl.present) {
		report_put_field(out, "      meaning: ", s->expl.meaning, "\n");
		report_put_field(out, "      action:  ", s->expl.action, "\n");
	}
}

/* One row of the table: the envelope, whether it was accepted, the
 * reply that says so (MAIL's when RCPT was never answered), a note. */
static void
text_variant(FILE *out, const struct relaytest_pass *ps, size_t i)
{
	const struct relaytest_txn *t = &ps->txns[i];
	const struct reply *shown = t->rcpt_reply.reply != NULL ?
	    t->rcpt_reply.reply : t->mail.reply;
	size_t n = strlen(t->rcpt);

	fprintf(out, "  %-18s %-4s <",
	    relaytest_variant_label((enum relay_variant)i),
	    ps->authenticated ? "yes" : "no");
	report_put_cstr(out, t->rcpt);
	fprintf(out, ">%*s %-8s ", n < 46 ? (int)(46 - n) : 0, "",
	    ps->status[i] == RELAY_ACCEPTED ? "yes" :
	    ps->status[i] == RELAY_REFUSED ? "no" : "unknown");
	if (shown == t->mail.reply && shown != NULL)
		fputs("MAIL ", out);
	put_reply(out, shown, 60);
	fputc('\n', out);
	if (t->control.reply != NULL) {
		report_put_field(out, "      control ", t->control.command, ": ");
		put_reply(out, t->control.reply, 60);
		fputc('\n', out);
	}
	if (ps->note[i][0])
		report_put_field(out, "      note: ", ps->note[i], "\n");
}

void
report_relaytest_text(FILE *out, const struct relaytest_result *rt,
    bool verbose)
{
	const struct probe_result *r0 = rt->npass > 0 ? rt->pass[0].res : NULL;
	size_t p, i, j;

	fputs("smtpprobe --relay-test", out);
	if (rt->target[0])
		report_put_field(out, ": ", rt->target, "");
	fputc('\n', out);
	if (r0 != NULL && r0->has_server)
		fprintf(out, "  server:   %s%s%s port %d\n", r0->server_host,
		    r0->server_host[0] ? " " : "", r0->server_ip,
		    r0->server_port);
	fprintf(out, "  sender:   MAIL FROM:<%s>; outside recipient %s; "
	    "server domain %s\n", rt->from, rt->outside, rt->server_domain);
	if (rt->error[0])
		report_put_field(out, "  error:    ", rt->error, "\n");
	if (rt->npass > 0 && rt->pass[0].ran) {
		fprintf(out, "  %-18s %-4s %-48s %-8s %s\n", "variant", "auth",
		    "RCPT TO", "accepted", "reply");
		for (p = 0; p < rt->npass; p++) {
			const struct relaytest_pass *ps = &rt->pass[p];

			if (!ps->ran)
				continue;
			for (i = 0; i < RV_COUNT; i++)
				text_variant(out, ps, i);
			if (ps->res != NULL) {
				for (j = STAGE_CONNECT; j < STAGE_MAIL; j++)
					text_stage(out, ps->res, (enum stage)j);
			}
		}
	}
	fprintf(out, "  open relay: %s\n", rt->open_relay > 0 ? "yes" :
	    rt->open_relay == 0 ? "no" : "could not tell");
	if (rt->conclusion[0])
		report_put_field(out, "  conclusion: ", rt->conclusion, "\n");
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
		report_text_transcript(out, r);
	}
}
