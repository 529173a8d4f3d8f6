/*
 * report.c — the text and JSON reports of a probe and of --helo-test.
 *
 * Owns nothing; reads a probe_result.  Every string that came from a
 * server, or from the user, goes through an escaper: report_put_text()
 * here for text, the JSON writer (json.c) for JSON.
 */
#include <string.h>

#include "batch.h"
#include "helotest.h"
#include "json.h"
#include "report.h"
#include "utf8.h"

/* An IPv6 address is shown in brackets ("[::1] port 25"), so that its
 * colons do not run into what follows. */
#define V6L(ip)	(strchr((ip), ':') != NULL ? "[" : "")
#define V6R(ip)	(strchr((ip), ':') != NULL ? "]" : "")

void
report_put_text(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;
	unsigned cp;

	while (i < len) {
		if (u[i] < 0x20 || u[i] == 0x7f) {
			fprintf(out, "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (u[i] == '\\') {
			fputs("\\\\", out);
			i++;
			continue;
		}
		l = utf8_decode(u + i, len - i, &cp);
		if (l == 0) {
			fprintf(out, "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (utf8_invisible(cp)) {
			fprintf(out, "\\u{%04X}", cp);
			i += l;
			continue;
		}
		fwrite(u + i, 1, l, out);
		i += l;
	}
}

void
report_put_cstr(FILE *out, const char *s)
{
	report_put_text(out, s, strlen(s));
}

void
report_put_field(FILE *out, const char *pre, const char *s, const char *post)
{
	fputs(pre, out);
	report_put_cstr(out, s);
	fputs(post, out);
}

void
report_finding_line(FILE *out, const struct finding *f)
{
	fprintf(out, "    %-7s %s: ", severity_name(f->severity),
	    finding_name(f->id));
	report_put_cstr(out, f->message);
	if (f->ref != NULL)
		fprintf(out, " [%s]", f->ref);
	fputc('\n', out);
}

/* ---- JSON ---------------------------------------------------------------- */

void
report_json_reply(struct json_writer *w, const struct rec_reply *rr)
{
	const struct reply *rp = rr != NULL ? rr->reply : NULL;
	char esc[16];
	size_t i;
	unsigned b;

	if (rp == NULL) {
		json_null(w);
		return;
	}
	json_object(w);
	json_kv_str_nonempty(w, "command", rr->command);
	json_kv_int(w, "code", rp->code);
	json_kv_str_nonempty(w, "enhanced", reply_esc_str(rp, esc,
	    sizeof(esc)));
	json_kv_array(w, "lines");
	for (i = 0; i < rp->nlines; i++)
		json_strn(w, rp->lines[i].text, rp->lines[i].len);
	json_array_end(w);
	json_kv_ms(w, "elapsed_ms", rr->elapsed_ms);
	json_kv_str(w, "legality", codes_legality_name(rr->legality));
	json_kv_array(w, "deviations");
	for (b = 0; b < REPLY_DEV_COUNT; b++)
		if (rp->deviations & (1u << b))
			json_str(w, reply_deviation_name(b));
	json_array_end(w);
	json_object_end(w);
}

void
report_json_finding(struct json_writer *w, const struct finding *f,
    int authenticated)
{
	json_object(w);
	json_kv_str(w, "id", finding_name(f->id));
	json_kv_str(w, "severity", severity_name(f->severity));
	json_kv_str(w, "stage", stage_name(f->stage));
	if (authenticated >= 0)
		json_kv_bool(w, "authenticated", authenticated > 0);
	json_kv_str(w, "message", f->message);
	json_kv_str_nonempty(w, "evidence", f->evidence);
	json_kv_str_nonempty(w, "ref", f->ref);
	json_object_end(w);
}

void
report_json_server(struct json_writer *w, const char *host, const char *ip,
    int port)
{
	json_kv_object(w, "server");
	json_kv_str_nonempty(w, "host", host);
	json_kv_str_nonempty(w, "ip", ip);	/* none: a proxy resolved it */
	json_kv_int(w, "port", port);
}

/* "transcript": every entry of r, or none for NULL. */
static void
json_transcript(struct json_writer *w, const struct probe_result *r)
{
	size_t i;

	json_kv_array(w, "transcript");
	for (i = 0; r != NULL && i < r->ntranscript; i++) {
		const struct transcript_entry *e = &r->transcript[i];

		json_object(w);
		json_kv_ms(w, "t_ms", e->t_ms);
		json_kv_str(w, "dir", transcript_dir_name(e->dir));
		json_kv_strn(w, "text", e->text, e->len);
		json_object_end(w);
	}
	json_array_end(w);
}

static void
json_explanation(struct json_writer *w, const struct explanation *e)
{
	json_kv_object(w, "explanation");
	json_kv_str(w, "meaning", e->meaning);
	json_kv_str(w, "cause", e->cause);
	json_kv_str(w, "action", e->action);
	json_kv_str(w, "category", expl_category_name(e->category));
	json_kv_str(w, "blame", codes_blame_name(e->blame));
	json_kv_str(w, "permanence", codes_permanence_name(e->permanence));
	json_object_end(w);
}

static void
json_caps(struct json_writer *w, const struct probe_result *r)
{
	const struct ehlo_caps *c = r->caps;

	if (c == NULL) {
		json_kv_null(w, "ehlo");
		return;
	}
	json_kv_object(w, "ehlo");
	json_kv_str_nonempty(w, "name", c->name);
	JSON_KV_STR_ROWS(w, "keywords", c->keywords, c->nkeywords);
	json_kv_bool(w, "starttls", c->starttls);
	json_kv_bool(w, "smtputf8", c->smtputf8);
	json_kv_bool(w, "pipelining", c->pipelining);
	if (c->has_size)
		json_kv_uint(w, "size", c->size);
	else
		json_kv_null(w, "size");
	json_kv_str_nonempty(w, "auth", c->auth);
	json_object_end(w);
}

/* A line number, or null for 0 (the command line). */
static void
json_kv_line(struct json_writer *w, unsigned long line)
{
	if (line > 0)
		json_kv_uint(w, "line", line);
	else
		json_kv_null(w, "line");
}

/* Batch mode: where the address came from and how often it was tried. */
static void
json_batch_info(struct json_writer *w, const struct batch_item_info *info)
{
	json_kv_uint(w, "index", info->index);
	json_kv_line(w, info->line);
	if (info->duplicate) {
		json_kv_object(w, "duplicate_of");
		json_kv_uint(w, "index", info->dup_index);
		json_kv_line(w, info->dup_line);
		json_object_end(w);
	} else
		json_kv_null(w, "duplicate_of");
	json_kv_int(w, "tries", info->tries);
}

static void
json_dns(struct json_writer *w, const struct probe_result *r)
{
	size_t i;

	json_kv_object(w, "dns");
	json_kv_str(w, "status", r->dns_done ?
	    resolver_status_name(r->dns_status) : NULL);
	json_kv_bool(w, "implicit_mx", r->implicit_mx);
	json_kv_bool(w, "null_mx", r->null_mx);
	json_kv_str_nonempty(w, "cname", r->dns_cname);
	json_kv_array(w, "mx");
	for (i = 0; i < r->nmx; i++) {
		const struct mx_info *m = &r->mx[i];

		json_object(w);
		json_kv_uint(w, "preference", m->pref);
		json_kv_str(w, "host", m->host);
		json_kv_str(w, "status", resolver_status_name(m->status));
		JSON_KV_STR_ROWS(w, "addresses", m->addrs, m->naddrs);
		json_kv_str_nonempty(w, "cname", m->cname);
		json_kv_bool(w, "is_ip", m->is_ip);
		report_tls_json_mx(w, m);
		json_object_end(w);
	}
	json_array_end(w);
	json_object_end(w);
}

static void
json_attempts(struct json_writer *w, const struct probe_result *r)
{
	size_t i;

	json_kv_array(w, "attempts");
	for (i = 0; i < r->nattempts; i++) {
		const struct attempt *a = &r->attempts[i];

		json_object(w);
		json_kv_str_nonempty(w, "host", a->host);
		json_kv_str_nonempty(w, "ip", a->ip);
		json_kv_int(w, "port", a->port);
		json_kv_str(w, "outcome", a->outcome);
		json_kv_str_nonempty(w, "detail", a->detail);
		json_object_end(w);
	}
	json_array_end(w);
}

static void
json_stages(struct json_writer *w, const struct probe_result *r)
{
	size_t i;
	int st;

	json_kv_array(w, "stages");
	for (st = 0; st < STAGE_COUNT; st++) {
		const struct stage_rec *s = &r->stages[st];

		if (!stage_reported(r, (enum stage)st))
			continue;
		json_object(w);
		json_kv_str(w, "name", stage_name((enum stage)st));
		json_kv_str(w, "status", stage_status_name(s->status));
		if (s->elapsed_ms > 0)
			json_kv_ms(w, "elapsed_ms", s->elapsed_ms);
		if (stage_error(s)[0])
			json_kv_str(w, "error", stage_error(s));
		if (s->nreplies > 0) {
			json_kv_array(w, "replies");
			for (i = 0; i < s->nreplies; i++)
				report_json_reply(w, &s->replies[i]);
			json_array_end(w);
		}
		if (s->expl.present &&
		    (s->status == STATUS_WARN || s->status == STATUS_FAIL))
			json_explanation(w, &s->expl);
		json_object_end(w);
	}
	json_array_end(w);
}

/* "proxy": what the SOCKS proxy of the last connection said; only with
 * --proxy. */
static void
json_proxy(struct json_writer *w, const struct probe_result *r)
{
	const struct proxy_info *p = r->proxy;

	if (p == NULL)
		return;
	json_kv_object(w, "proxy");
	json_kv_str(w, "url", p->url);
	json_kv_bool(w, "remote_dns", p->remote_dns);
	json_kv_str_nonempty(w, "step", p->step);
	if (p->method >= 0)
		json_kv_str(w, "method", socks_method_name(p->method));
	else
		json_kv_null(w, "method");
	if (p->auth_status >= 0)
		json_kv_int(w, "auth_status", p->auth_status);
	else
		json_kv_null(w, "auth_status");
	if (p->reply >= 0) {
		json_kv_int(w, "reply", p->reply);
		json_kv_str(w, "reply_name", socks_rep_name(p->reply));
	} else {
		json_kv_null(w, "reply");
		json_kv_null(w, "reply_name");
	}
	if (p->bound[0] != '\0') {
		json_kv_object(w, "bound");
		json_kv_str(w, "address", p->bound);
		json_kv_int(w, "port", p->bound_port);
		json_object_end(w);
	} else
		json_kv_null(w, "bound");
	json_object_end(w);
}

/* "reachability": the self-check's line about port 25; only then. */
static void
json_reach(struct json_writer *w, const struct probe_result *r)
{
	const struct reachability *re = r->reach;

	if (re == NULL)
		return;
	json_kv_object(w, "reachability");
	json_kv_bool(w, "checked", re->checked);
	json_kv_bool(w, "reachable", re->reachable);
	json_kv_bool(w, "smtp", re->smtp);
	if (re->reachable)
		json_kv_strn(w, "first_bytes", r->first_bytes,
		    r->first_bytes_len);
	else
		json_kv_null(w, "first_bytes");
	json_kv_str(w, "text", re->text);
	json_object_end(w);
}

void
report_json_value(struct json_writer *w, const struct probe_result *r,
    const struct batch_item_info *info)
{
	size_t i;

	json_report_object(w);
	json_kv_strn(w, "address", r->input, r->input_len);
	if (info != NULL)
		json_batch_info(w, info);
	json_kv_str_nonempty(w, "domain", r->addr.domain);
	json_kv_str_nonempty(w, "domain_ascii", r->addr.domain_ascii);
	json_kv_str(w, "verdict", verdict_name(r->verdict));
	json_kv_str(w, "reason", reason_name(r->reason));
	json_kv_str(w, "summary", r->summary);
	json_kv_int(w, "exit_code", r->exit_code);
	json_kv_str(w, "quit_after", r->stop_after != STAGE_ADDRESS ?
	    stage_name(r->stop_after) : NULL);
	json_kv_ms(w, "elapsed_ms", r->elapsed_ms);
	if (r->has_server) {
		report_json_server(w, r->server_host, r->server_ip,
		    r->server_port);
		json_object_end(w);
	} else
		json_kv_null(w, "server");
	json_proxy(w, r);
	json_reach(w, r);
	report_tls_json(w, r);
	json_caps(w, r);
	json_dns(w, r);
	report_tls_json_domain(w, r);
	report_identity_json(w, r);
	json_attempts(w, r);
	json_stages(w, r);
	json_kv_array(w, "findings");
	for (i = 0; i < r->nfindings; i++)
		report_json_finding(w, &r->findings[i], -1);
	json_array_end(w);
	json_kv_uint(w, "findings_dropped", r->findings_dropped);
	json_transcript(w, r);
	json_kv_uint(w, "transcript_dropped", r->transcript_dropped);
	json_object_end(w);
}

/* One JSON document on a line of its own. */
static void
json_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info)
{
	struct json_writer w;

	json_init(&w, out);
	report_json_value(&w, r, info);
	json_finish(&w);
}

void
report_json(FILE *out, const struct probe_result *r)
{
	json_line(out, r, NULL);
}

void
report_json_batch(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info)
{
	json_line(out, r, info);
}

/* ---- text ---------------------------------------------------------------- */

/* "CODE X.Y.Z first line ..." on one line, the text cut at width. */
static void
put_reply_short(FILE *out, const struct reply *rp, size_t width)
{
	char esc[16];

	fprintf(out, "%d", rp->code);
	if (rp->esc_class)
		fprintf(out, " %s", reply_esc_str(rp, esc, sizeof(esc)));
	if (rp->nlines > 0) {
		size_t n = rp->lines[0].len;
		const char *t = rp->lines[0].text;
		size_t k = rp->esc_class ? strlen(esc) : 0;

		if (k > 0 && n >= k && memcmp(t, esc, k) == 0) {
			t += k;
			n -= k;
			while (n > 0 && *t == ' ') {
				t++;
				n--;
			}
		}
		fputc(' ', out);
		report_put_text(out, t, n > width ? width : n);
		if (n > width || rp->nlines > 1)
			fputs(" ...", out);
	}
}

/* A short fact for a stage that has no reply to show. */
static void
stage_fact(const struct probe_result *r, enum stage st, char *buf,
    size_t len)
{
	const struct stage_rec *s = &r->stages[st];

	buf[0] = '\0';
	if (s->status == STATUS_NOT_ASKED) {
		snprintf(buf, len, "not asked (--quit-after %s)",
		    stage_name(r->stop_after));
		return;
	}
	switch (st) {
	case STAGE_ADDRESS:
		if (s->status == STATUS_OK)
			snprintf(buf, len, "%s", r->addr.mailbox);
		break;
	case STAGE_DNS:
		if (!r->dns_done)
			break;
		if (r->null_mx)
			snprintf(buf, len, "null MX (the domain takes no mail)");
		else if (r->implicit_mx)
			snprintf(buf, len, "no MX; the domain's own address "
			    "is its mail host");
		else if (r->nmx > 0)
			snprintf(buf, len, "%zu MX host%s", r->nmx,
			    r->nmx == 1 ? "" : "s");
		else
			snprintf(buf, len, "%s", resolver_status_name(
			    r->dns_status));
		break;
	case STAGE_CONNECT:
		if (s->status == STATUS_OK && r->proxy != NULL)
			snprintf(buf, len, "the proxy");
		else if (s->status == STATUS_OK && r->has_server)
			snprintf(buf, len, "%s%s%s port %d", V6L(r->server_ip),
			    r->server_ip, V6R(r->server_ip), r->server_port);
		break;
	case STAGE_PROXY:
		if (s->status == STATUS_OK && r->has_server)
			snprintf(buf, len, "through it to %s%s%s port %d",
			    V6L(r->server_ip), r->server_ip[0] ?
			    r->server_ip : r->server_host, V6R(r->server_ip),
			    r->server_port);
		break;
	default:
		break;
	}
}

static const char *
status_mark(enum stage_status s)
{
	switch (s) {
	case STATUS_OK: return "ok  ";
	case STATUS_WARN: return "WARN";
	case STATUS_FAIL: return "FAIL";
	default: return "  - ";
	}
}

static void
wrap(FILE *out, const char *label, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	fprintf(out, "      %-8s ", label);
	report_put_cstr(out, text);
	fputc('\n', out);
}

void
report_text_transcript(FILE *out, const struct probe_result *r)
{
	size_t i;

	for (i = 0; i < r->ntranscript; i++) {
		const struct transcript_entry *e = &r->transcript[i];

		fprintf(out, "    %8.1f %s ", e->t_ms,
		    transcript_dir_mark(e->dir));
		report_put_text(out, e->text, e->len);
		fputc('\n', out);
	}
}

/* The terminal colours of the verdict: green, red or yellow. */
static void
verdict_colors(const struct probe_result *r, bool color, const char **vcol,
    const char **reset)
{
	*vcol = *reset = "";
	if (!color)
		return;
	*reset = "\033[0m";
	switch (r->verdict) {
	case VERDICT_DELIVERABLE: *vcol = "\033[32m"; break;
	case VERDICT_UNDELIVERABLE: *vcol = "\033[31m"; break;
	default: *vcol = "\033[33m"; break;
	}
}

void
report_text_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info, bool color)
{
	const char *vcol, *reset;

	verdict_colors(r, color, &vcol, &reset);
	fprintf(out, "%s%-13s%s %-18s ", vcol, verdict_name(r->verdict), reset,
	    reason_name(r->reason));
	report_put_text(out, r->input, r->input_len);
	if (r->input_cut)
		fputs("...", out);
	if (info != NULL && info->line > 0)
		fprintf(out, " (line %lu)", info->line);
	report_put_field(out, ": ", r->summary, "\n");
}

/* What was probed, the verdict and the summary. */
static void
text_head(FILE *out, const struct probe_result *r, bool color)
{
	const char *vcol, *reset;

	verdict_colors(r, color, &vcol, &reset);
	/* A self-check has no address: name the mode and what was greeted,
	 * if anything. */
	fputs(r->self_check_only ? "smtpprobe --self-check" : "smtpprobe",
	    out);
	if (!r->self_check_only || r->input[0] != '\0') {
		fputs(": ", out);
		report_put_text(out, r->input, r->input_len);
	}
	fputc('\n', out);
	if (r->reason == REASON_SELF_CHECK)
		/* No address was asked: the audit's result, as the exit
		 * status says it, not "verdict: unknown". */
		fprintf(out, "  self-check: %s%s%s\n", vcol, r->exit_code == 0 ?
		    "nothing wrong found" : r->exit_code == 1 ?
		    "problems found" : "could not check", reset);
	else
		fprintf(out, "  verdict: %s%s%s (%s)\n", vcol,
		    verdict_name(r->verdict), reset, reason_name(r->reason));
	report_put_field(out, "  ", r->summary, "\n");
	if (r->addr.domain_idn) {
		report_put_field(out, "  domain:  ", r->addr.domain, "");
		fprintf(out, " (%s)\n", r->addr.domain_ascii);
	}
}

/* "NAME is an alias of TARGET (CNAME)" after indent. */
static void
text_alias(FILE *out, const char *indent, const char *name,
    const char *target)
{
	report_put_field(out, indent, name, "");
	report_put_field(out, " is an alias of ", target, " (CNAME)\n");
}

/* The MX hosts with their addresses. */
static void
text_mx(FILE *out, const struct probe_result *r)
{
	size_t i, j;

	if (r->nmx == 0)
		return;
	fprintf(out, "  %s:\n", r->implicit_mx ? "mail host (implicit MX)" :
	    r->addr.literal ? "host" : "MX");
	for (i = 0; i < r->nmx; i++) {
		const struct mx_info *m = &r->mx[i];

		fprintf(out, "    %3u %s", m->pref, m->host);
		for (j = 0; j < m->naddrs; j++)
			fprintf(out, "%s%s", j ? ", " : "  [", m->addrs[j]);
		fprintf(out, "%s%s\n", m->naddrs ? "]" : "", m->is_ip ?
		    "  (an IP address, not a host name)" : m->naddrs ? "" :
		    m->status != RESOLVER_OK ? "  (no address)" :
		    r->proxy != NULL && r->proxy->remote_dns ?
		    "  (resolved by the proxy)" : "");
		if (m->cname[0] != '\0')
			text_alias(out, "        ", m->host, m->cname);
	}
}

/* The domain's alias, the server that answered, the servers tried. */
static void
text_route(FILE *out, const struct probe_result *r)
{
	size_t i;

	if (r->dns_cname[0] != '\0')
		text_alias(out, "  alias:   ", r->addr.domain_ascii,
		    r->dns_cname);
	if (r->has_server)
		fprintf(out, "  server:  %s%s%s%s%s port %d\n", r->server_host,
		    r->server_host[0] && r->server_ip[0] ? " " : "",
		    V6L(r->server_ip), r->server_ip, V6R(r->server_ip),
		    r->server_port);
	if (r->proxy != NULL) {
		fprintf(out, "  proxy:   %s", r->proxy->url);
		if (r->proxy->bound[0] != '\0')
			report_put_field(out, " (its address: ",
			    r->proxy->bound, ")");
		fputc('\n', out);
	}
	if (r->reach != NULL)
		report_put_field(out, "  reach:   ", r->reach->text, "\n");
	if (r->nattempts <= 1)
		return;
	fputs("  attempts:\n", out);
	for (i = 0; i < r->nattempts; i++) {
		const struct attempt *a = &r->attempts[i];

		fprintf(out, "    %s%s%s%s%s: %s", a->host,
		    a->host[0] && a->ip[0] ? " " : "", V6L(a->ip), a->ip,
		    V6R(a->ip), a->outcome);
		if (a->detail[0])
			report_put_field(out, " (", a->detail, ")");
		fputc('\n', out);
	}
}

/* Is the stage left out of the text report? */
static bool
stage_hidden(const struct probe_result *r, enum stage st)
{
	const struct stage_rec *s = &r->stages[st];

	/* A self-check lists only the stages it went through: it has no
	 * address of its own (the one it uses to greet a server is made
	 * up), and often no server at all. */
	if ((r->self_check_only && s->status == STATUS_SKIPPED) ||
	    !stage_reported(r, st))
		return true;
	/* AUTH is only tried on request; an unused auth stage is noise for
	 * people (JSON keeps every stage). */
	return st == STAGE_AUTH && s->status == STATUS_SKIPPED &&
	    s->nreplies == 0 && !s->expl.present;
}

/* A time in the column of the stage lines: "12.3 ms", or blanks when
 * there is none. */
static void
time_column(FILE *out, double ms)
{
	char t[32] = "";

	if (ms > 0)
		snprintf(t, sizeof(t), "%.1f ms", ms);
	fprintf(out, " %10s", t);
}

/*
 * The tls row: the handshake's outcome (the protocol, the cipher, whether
 * the certificate was verified), not the EHLO reply that follows it; that
 * one only when it was not a success.
 */
static void
text_tls_row(FILE *out, const struct probe_result *r)
{
	const struct stage_rec *s = &r->stages[STAGE_TLS];
	const struct rec_reply *ehlo = s->nreplies > 0 ?
	    &s->replies[s->nreplies - 1] : NULL;
	const struct tlsconn_info *t = result_tls_info(r);

	fprintf(out, " handshake done: %s %s, certificate %s", t->version,
	    t->cipher, t->verified ? "verified" : "NOT verified");
	if (ehlo != NULL && ehlo->reply->code / 100 != 2) {
		fputs("\n                             then EHLO: ", out);
		put_reply_short(out, ehlo->reply, 90);
	}
}

/* Word of the answer to one recipient. */
static const char *
rcpt_word(const struct rec_reply *rr)
{
	int c = rr->reply->code / 100;

	return c == 2 ? "accepted" : c == 4 ? "deferred" : c == 5 ?
	    "refused" : "unclear";
}

/*
 * The rcpt row with --catch-all: the address's own reply under the
 * stage's mark, then the made-up control's, each with its own answer, so
 * that the control's refusal is not shown as the address's.
 */
static void
text_rcpt_rows(FILE *out, const struct probe_result *r)
{
	const struct stage_rec *s = &r->stages[STAGE_RCPT];
	const struct rec_reply *own = &s->replies[0], *ctl = &s->replies[1];
	const char *lt = strchr(ctl->command, '<');

	fprintf(out, " %s: ", rcpt_word(own));
	put_reply_short(out, own->reply, 90);
	fprintf(out, "\n                      control  %s: ",
	    rcpt_word(ctl));
	put_reply_short(out, ctl->reply, 70);
	report_put_field(out, " (", lt != NULL ? lt : ctl->command, "");
	fprintf(out, ", made up: %s)", ctl->reply->code / 100 == 2 ?
	    "the domain accepts any address" : "the domain does not take "
	    "just any address");
}

/* One stage: its mark, its time, its last reply (or error, or a fact),
 * and for a warning or a failure the explanation. */
static void
text_stage(FILE *out, const struct probe_result *r, enum stage st)
{
	const struct stage_rec *s = &r->stages[st];
	char fact[300];

	fprintf(out, "    [%s] %-8s", status_mark(s->status), stage_name(st));
	time_column(out, s->elapsed_ms);
	if (st == STAGE_TLS && r->tls_done)
		text_tls_row(out, r);
	else if (st == STAGE_RCPT && s->nreplies > 1)
		text_rcpt_rows(out, r);
	else if (s->nreplies > 0) {
		fputc(' ', out);
		put_reply_short(out, s->replies[s->nreplies - 1].reply, 100);
	} else if (stage_error(s)[0]) {
		fputc(' ', out);
		report_put_cstr(out, stage_error(s));
	} else {
		stage_fact(r, st, fact, sizeof(fact));
		if (fact[0] != '\0') {
			fputc(' ', out);
			report_put_cstr(out, fact);
		}
	}
	fputc('\n', out);
	if (s->expl.present &&
	    (s->status == STATUS_WARN || s->status == STATUS_FAIL)) {
		wrap(out, "meaning:", s->expl.meaning);
		wrap(out, "cause:", s->expl.cause);
		wrap(out, "action:", s->expl.action);
	}
}

void
report_text(FILE *out, const struct probe_result *r, bool verbose, bool color)
{
	size_t i;
	int st;
	bool stages_shown = false;

	text_head(out, r, color);
	text_mx(out, r);
	text_route(out, r);
	report_identity_text(out, r);
	report_tls_text(out, r);
	for (st = 0; st < STAGE_COUNT; st++) {
		if (stage_hidden(r, (enum stage)st))
			continue;
		if (!stages_shown) {
			fputs("  stages:\n", out);
			stages_shown = true;
		}
		text_stage(out, r, (enum stage)st);
	}
	if (stages_shown && r->elapsed_ms > 0) {
		/* The whole probe, in the stages' time column. */
		fprintf(out, "    %-15s", "total");
		time_column(out, r->elapsed_ms);
		fputc('\n', out);
	}
	if (r->nfindings > 0) {
		fputs("  findings:\n", out);
		for (i = 0; i < r->nfindings; i++)
			report_finding_line(out, &r->findings[i]);
	}
	if (verbose && r->ntranscript > 0) {
		fputs("  transcript:\n", out);
		report_text_transcript(out, r);
		if (r->transcript_dropped)
			fprintf(out, "    (%zu more entries not kept)\n",
			    r->transcript_dropped);
	}
}

/* ---- --helo-test --------------------------------------------------------- */

static const struct helotest_candidate *
ht_source(const struct helotest_result *ht,
    const struct helotest_candidate *c)
{
	return c->same_as >= 0 ? &ht->cand[c->same_as] : c;
}

static void
json_kind_list(struct json_writer *w, const char *key,
    const struct helotest_result *ht, enum helotest_status want,
    bool answered_unknown)
{
	json_kv_array(w, key);
	for (size_t i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *o = ht_source(ht,
		    &ht->cand[i]);

		if (!o->tested || o->status != want ||
		    (want == HT_UNKNOWN && o->answered != answered_unknown))
			continue;
		json_str(w, helotest_kind_name(ht->cand[i].kind));
	}
	json_array_end(w);
}

/* One candidate of the "helo_test" list. */
static void
json_candidate(struct json_writer *w, const struct helotest_result *ht,
    const struct helotest_candidate *c)
{
	const struct helotest_candidate *o = ht_source(ht, c);

	json_object(w);
	json_kv_str(w, "kind", helotest_kind_name(c->kind));
	json_kv_str_nonempty(w, "name", c->name);
	json_kv_bool(w, "tested", c->tested);
	json_kv_str(w, "same_as", c->same_as >= 0 ?
	    helotest_kind_name(o->kind) : NULL);
	json_kv_str(w, "status", helotest_status_name(o->status));
	json_kv_tri(w, "accepted", !o->tested || o->status == HT_UNKNOWN ?
	    -1 : o->status == HT_ACCEPTED);
	json_kv_bool(w, "answered", o->answered);
	json_kv_str(w, "outcome", o->tested ?
	    session_outcome_name(o->outcome) : NULL);
	json_kv_str(w, "refused_at", o->refusal != NULL ?
	    stage_name(o->refused_at) : NULL);
	json_kv_bool(w, "temporary", o->temporary);
	json_kv_bool(w, "about_helo", o->about_helo);
	json_key(w, "refusal");
	report_json_reply(w, o->refusal);
	json_key(w, "ehlo");
	report_json_reply(w, o->ehlo);
	json_key(w, "helo");
	report_json_reply(w, o->helo);
	json_key(w, "mail");
	report_json_reply(w, o->mail);
	json_key(w, "rcpt");
	report_json_reply(w, o->rcpt);
	json_kv_bool(w, "tls", o->res != NULL && o->res->tls_done);
	json_kv_str_nonempty(w, "note", c->note[0] ? c->note : o->note);
	json_transcript(w, c->tested ? c->res : NULL);
	json_object_end(w);
}

void
report_helotest_json(FILE *out, const struct helotest_result *ht)
{
	struct json_writer w;
	size_t i;

	json_init(&w, out);
	json_report_object(&w);
	json_kv_str(&w, "mode", "helo_test");
	json_kv_str_nonempty(&w, "target", ht->target);
	json_kv_str_nonempty(&w, "domain", ht->domain);
	json_kv_str(&w, "from", ht->from);
	json_kv_str_nonempty(&w, "rcpt", ht->rcpt);
	if (ht->has_server) {
		report_json_server(&w, ht->server_host, ht->server_ip,
		    ht->server_port);
		json_kv_bool(&w, "first_mx", ht->via_mx && ht->mx_index == 0);
		json_kv_bool(&w, "implicit_mx", ht->implicit_mx);
		json_object_end(&w);
	} else
		json_kv_null(&w, "server");
	json_kv_str(&w, "dns_status", ht->dns_done ?
	    resolver_status_name(ht->dns_status) : NULL);
	json_kv_str_nonempty(&w, "local_ip", ht->local_ip);
	json_kv_str_nonempty(&w, "server_name", ht->server_name);
	json_kv_int(&w, "exit_code", ht->exit_code);
	json_kv_str_nonempty(&w, "error", ht->error);
	json_kv_str_nonempty(&w, "conclusion", ht->conclusion);
	json_kind_list(&w, "rejects", ht, HT_REJECTED, false);
	json_kind_list(&w, "accepts", ht, HT_ACCEPTED, false);
	json_kind_list(&w, "same_refusal", ht, HT_UNKNOWN, true);
	json_kind_list(&w, "no_answer", ht, HT_UNKNOWN, false);
	json_kv_array(&w, "helo_test");
	for (i = 0; i < ht->ncand; i++)
		json_candidate(&w, ht, &ht->cand[i]);
	json_array_end(&w);
	json_object_end(&w);
	json_finish(&w);
}

/* "250", "550 HELO 250", or "-" into buf. */
static const char *
ht_hello_col(const struct helotest_candidate *o, char *buf, size_t len)
{
	if (o->ehlo == NULL)
		snprintf(buf, len, "-");
	else if (o->helo != NULL)
		snprintf(buf, len, "%d HELO %d", o->ehlo->reply->code,
		    o->helo->reply->code);
	else
		snprintf(buf, len, "%d", o->ehlo->reply->code);
	return buf;
}

static const char *
ht_code_col(const struct rec_reply *rr, char *buf, size_t len)
{
	if (rr == NULL)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%d", rr->reply->code);
	return buf;
}

/* The server, the envelope, the local address and any error. */
static void
ht_text_head(FILE *out, const struct helotest_result *ht)
{
	fputs("smtpprobe --helo-test", out);
	if (ht->target[0])
		report_put_field(out, ": ", ht->target, "");
	fputc('\n', out);
	if (ht->has_server) {
		fputs("  server:   ", out);
		if (ht->server_host[0])
			fprintf(out, "%s ", ht->server_host);
		fprintf(out, "%s%s%s port %d", V6L(ht->server_ip),
		    ht->server_ip, V6R(ht->server_ip), ht->server_port);
		if (ht->via_mx && ht->mx_index > 0)
			fprintf(out, " (MX host %zu of %s)", ht->mx_index + 1,
			    ht->domain);
		else if (ht->via_mx)
			fprintf(out, " (%s of %s)", ht->implicit_mx ?
			    "implicit MX" : "first MX", ht->domain);
		fputc('\n', out);
	}
	fprintf(out, "  envelope: MAIL FROM:<%s> RCPT TO:<%s>\n", ht->from,
	    ht->rcpt);
	if (ht->local_ip[0] || ht->server_name[0]) {
		fprintf(out, "  local address: %s", ht->local_ip[0] ?
		    ht->local_ip : "unknown");
		if (ht->server_name[0])
			report_put_field(out, "; the server calls itself ",
			    ht->server_name, "");
		fputc('\n', out);
	}
	if (ht->error[0])
		report_put_field(out, "  error:    ", ht->error, "\n");
}

/* One row of the table (w: the width of the name column), with the
 * refusal and the note under it. */
static void
ht_text_row(FILE *out, const struct helotest_result *ht,
    const struct helotest_candidate *c, size_t w)
{
	const struct helotest_candidate *o = ht_source(ht, c);
	size_t n = strlen(c->name);
	const char *note = c->note[0] ? c->note : o->note;
	char b1[32], b2[16], b3[16];

	fprintf(out, "  %-18s ", helotest_kind_label(c->kind));
	if (n == 0)
		fputs("-", out);
	else
		report_put_text(out, c->name, n);
	if (n < w)
		fprintf(out, "%*s", (int)(w - (n ? n : 1)), "");
	fprintf(out, " %-13s %-4s %-4s %s\n", ht_hello_col(o, b1, sizeof(b1)),
	    ht_code_col(o->mail, b2, sizeof(b2)),
	    ht_code_col(o->rcpt, b3, sizeof(b3)),
	    !o->tested ? "-" : o->status == HT_ACCEPTED ? "yes" :
	    o->status == HT_REJECTED ? "no" : "unknown");
	if (o->refusal != NULL && c->same_as < 0) {
		fprintf(out, "      refused at %s: ",
		    o->refused_at == STAGE_EHLO ? "EHLO/HELO" :
		    o->refused_at == STAGE_MAIL ? "MAIL" : "RCPT");
		put_reply_short(out, o->refusal->reply, 120);
		fputc('\n', out);
	}
	if (note[0])
		report_put_field(out, "      note: ", note, "\n");
}

void
report_helotest_text(FILE *out, const struct helotest_result *ht,
    bool verbose)
{
	size_t i, w = 4;

	ht_text_head(out, ht);
	for (i = 0; i < ht->ncand && !ht->cand[i].tested; i++)
		;
	if (i == ht->ncand && ht->error[0]) {
		fputs("  conclusion: the test could not run\n", out);
		return;
	}
	for (i = 0; i < ht->ncand; i++) {
		size_t n = strlen(ht->cand[i].name);
		if (n > w)
			w = n > 40 ? 40 : n;
	}
	fprintf(out, "  %-18s %-*s %-13s %-4s %-4s %s\n", "candidate", (int)w,
	    "name", "EHLO", "MAIL", "RCPT", "accepted");
	for (i = 0; i < ht->ncand; i++)
		ht_text_row(out, ht, &ht->cand[i], w);
	report_put_field(out, "  conclusion: ", ht->conclusion[0] ?
	    ht->conclusion : "the test could not run", "\n");
	if (!verbose)
		return;
	for (i = 0; i < ht->ncand; i++) {
		const struct probe_result *r = ht->cand[i].res;

		if (r == NULL || !ht->cand[i].tested)
			continue;
		fprintf(out, "  transcript (%s):\n",
		    helotest_kind_label(ht->cand[i].kind));
		report_text_transcript(out, r);
	}
}
