/*
 * report.c — the text and JSON reports.
 *
 * Owns nothing; reads a probe_result.  Every string that came from a
 * server, or from the user, goes through an escaper.
 */
#include <string.h>

#include "batch.h"
#include "helotest.h"
#include "report.h"

/* An IPv6 address is shown in brackets ("[::1] port 25"), so that its
 * colons do not run into what follows. */
#define V6L(ip)	(strchr((ip), ':') != NULL ? "[" : "")
#define V6R(ip)	(strchr((ip), ':') != NULL ? "]" : "")

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0; the
 * code point goes to *cpp. */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cpp)
{
	size_t len, i;
	unsigned cp;

	*cpp = s[0];
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cpp = cp;
	return len;
}

/*
 * Characters that are valid UTF-8 but must not reach a terminal or a log
 * as they are: C1 controls (U+0080-U+009F; U+009B is CSI to some
 * terminals), zero-width characters, and the bidirectional overrides that
 * can make server text read differently from what it is.  Shown escaped.
 */
static bool
invisible(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
	    (cp >= 0xfff9 && cp <= 0xfffb);
}

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
		l = utf8_seq(u + i, len - i, &cp);
		if (l == 0) {
			fprintf(out, "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (invisible(cp)) {
			fprintf(out, "\\u{%04X}", cp);
			i += l;
			continue;
		}
		fwrite(u + i, 1, l, out);
		i += l;
	}
}

void
report_put_json_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;
	unsigned cp;

	fputc('"', out);
	while (i < len) {
		unsigned char c = u[i];
		switch (c) {
		case '"': fputs("\\\"", out); i++; continue;
		case '\\': fputs("\\\\", out); i++; continue;
		case '\n': fputs("\\n", out); i++; continue;
		case '\r': fputs("\\r", out); i++; continue;
		case '\t': fputs("\\t", out); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		l = utf8_seq(u + i, len - i, &cp);
		if (l == 0) {
			/* Not UTF-8: keep the byte's value visible. */
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		if (invisible(cp)) {
			fprintf(out, "\\u%04x", cp);
			i += l;
			continue;
		}
		fwrite(u + i, 1, l, out);
		i += l;
	}
	fputc('"', out);
}

void
report_json_cstr(FILE *out, const char *s)
{
	if (s == NULL)
		fputs("null", out);
	else
		report_put_json_string(out, s, strlen(s));
}

/* A JSON string, or null when empty. */
void
report_json_cstr_nonempty(FILE *out, const char *s)
{
	report_json_cstr(out, s != NULL && *s != '\0' ? s : NULL);
}

#define js report_json_cstr
#define jsn report_json_cstr_nonempty

void
report_finding_line(FILE *out, const struct finding *f)
{
	fprintf(out, "    %-7s %s: ", severity_name(f->severity),
	    finding_name(f->id));
	report_put_text(out, f->message, strlen(f->message));
	if (f->ref != NULL)
		fprintf(out, " [%s]", f->ref);
	fputc('\n', out);
}

void
report_json_reply(FILE *out, const struct rec_reply *rr)
{
	const struct reply *rp = rr != NULL ? rr->reply : NULL;
	char esc[16];
	size_t i;
	unsigned b;
	bool first = true;

	if (rp == NULL) {
		fputs("null", out);
		return;
	}
	fputs("{\"command\":", out);
	jsn(out, rr->command);
	fprintf(out, ",\"code\":%d,\"enhanced\":", rp->code);
	jsn(out, reply_esc_str(rp, esc, sizeof(esc)));
	fputs(",\"lines\":[", out);
	for (i = 0; i < rp->nlines; i++) {
		if (i > 0)
			fputc(',', out);
		report_put_json_string(out, rp->lines[i].text,
		    rp->lines[i].len);
	}
	fprintf(out, "],\"elapsed_ms\":%.1f,\"legality\":", rr->elapsed_ms);
	js(out, codes_legality_name(rr->legality));
	fputs(",\"deviations\":[", out);
	for (b = 0; b < REPLY_DEV_COUNT; b++) {
		if (!(rp->deviations & (1u << b)))
			continue;
		if (!first)
			fputc(',', out);
		first = false;
		js(out, reply_deviation_name(b));
	}
	fputs("]}", out);
}

static void
json_explanation(FILE *out, const struct explanation *e)
{
	fputs("{\"meaning\":", out);
	js(out, e->meaning);
	fputs(",\"cause\":", out);
	js(out, e->cause);
	fputs(",\"action\":", out);
	js(out, e->action);
	fputs(",\"category\":", out);
	js(out, expl_category_name(e->category));
	fputs(",\"blame\":", out);
	js(out, codes_blame_name(e->blame));
	fputs(",\"permanence\":", out);
	js(out, codes_permanence_name(e->permanence));
	fputc('}', out);
}

static void
json_tls(FILE *out, const struct probe_result *r)
{
	const struct tlsconn_info *t = &r->tls;

	if (!r->tls_done) {
		fputs("null", out);
		return;
	}
	fputs("{\"version\":", out);
	jsn(out, t->version);
	fputs(",\"cipher\":", out);
	jsn(out, t->cipher);
	fprintf(out, ",\"verified\":%s,\"chain_ok\":%s,\"verify_error\":",
	    t->verified ? "true" : "false", t->chain_ok ? "true" : "false");
	jsn(out, t->verify_error);
	fputs(",\"name_match\":", out);
	fputs(!t->name_checked ? "null" : t->name_match ? "true" : "false",
	    out);
	fprintf(out, ",\"expired\":%s,\"subject\":",
	    t->expired ? "true" : "false");
	jsn(out, t->subject);
	fputs(",\"issuer\":", out);
	jsn(out, t->issuer);
	fputs(",\"names\":", out);
	jsn(out, t->names);
	fputs(",\"not_before\":", out);
	jsn(out, t->not_before);
	fputs(",\"not_after\":", out);
	jsn(out, t->not_after);
	fputc('}', out);
}

static void
json_caps(FILE *out, const struct probe_result *r)
{
	const struct ehlo_caps *c = &r->caps;
	size_t i;

	if (!r->has_caps) {
		fputs("null", out);
		return;
	}
	fputs("{\"name\":", out);
	jsn(out, c->name);
	fputs(",\"keywords\":[", out);
	for (i = 0; i < c->nkeywords; i++) {
		if (i > 0)
			fputc(',', out);
		js(out, c->keywords[i]);
	}
	fprintf(out, "],\"starttls\":%s,\"smtputf8\":%s,\"pipelining\":%s,"
	    "\"size\":", c->starttls ? "true" : "false",
	    c->smtputf8 ? "true" : "false", c->pipelining ? "true" : "false");
	if (c->has_size)
		fprintf(out, "%llu", c->size);
	else
		fputs("null", out);
	fputs(",\"auth\":", out);
	jsn(out, c->auth);
	fputc('}', out);
}

static void report_json_impl(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info);

void
report_json(FILE *out, const struct probe_result *r)
{
	report_json_impl(out, r, NULL);
}

void
report_json_batch(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info)
{
	report_json_impl(out, r, info);
}

static void
report_json_impl(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info)
{
	size_t i, j;
	int st;

	fputs("{\"address\":", out);
	report_put_json_string(out, r->input, strlen(r->input));
	if (info != NULL) {
		fprintf(out, ",\"index\":%lu,\"line\":", info->index);
		if (info->line > 0)
			fprintf(out, "%lu", info->line);
		else
			fputs("null", out);
		if (info->duplicate) {
			fprintf(out, ",\"duplicate_of\":{\"index\":%lu,"
			    "\"line\":", info->dup_index);
			if (info->dup_line > 0)
				fprintf(out, "%lu}", info->dup_line);
			else
				fputs("null}", out);
		} else
			fputs(",\"duplicate_of\":null", out);
		fprintf(out, ",\"tries\":%d", info->tries);
	}
	fputs(",\"domain\":", out);
	jsn(out, r->addr.domain);
	fputs(",\"domain_ascii\":", out);
	jsn(out, r->addr.domain_ascii);
	fputs(",\"verdict\":", out);
	js(out, verdict_name(r->verdict));
	fputs(",\"reason\":", out);
	js(out, reason_name(r->reason));
	fputs(",\"summary\":", out);
	js(out, r->summary);
	fprintf(out, ",\"exit_code\":%d", r->exit_code);

	fputs(",\"server\":", out);
	if (r->has_server) {
		fputs("{\"host\":", out);
		jsn(out, r->server_host);
		fputs(",\"ip\":", out);
		jsn(out, r->server_ip);
		fprintf(out, ",\"port\":%d}", r->server_port);
	} else
		fputs("null", out);

	fputs(",\"tls\":", out);
	json_tls(out, r);
	fputs(",\"ehlo\":", out);
	json_caps(out, r);

	fputs(",\"dns\":{\"status\":", out);
	js(out, r->dns_done ? resolver_status_name(r->dns_status) : NULL);
	fprintf(out, ",\"implicit_mx\":%s,\"null_mx\":%s,\"cname\":",
	    r->implicit_mx ? "true" : "false", r->null_mx ? "true" : "false");
	jsn(out, r->dns_cname);
	fputs(",\"mx\":[", out);
	for (i = 0; i < r->nmx; i++) {
		const struct mx_info *m = &r->mx[i];
		fprintf(out, "%s{\"preference\":%u,\"host\":", i ? "," : "",
		    m->pref);
		js(out, m->host);
		fputs(",\"status\":", out);
		js(out, resolver_status_name(m->status));
		fputs(",\"addresses\":[", out);
		for (j = 0; j < m->naddrs; j++) {
			if (j > 0)
				fputc(',', out);
			js(out, m->addrs[j]);
		}
		fputs("],\"cname\":", out);
		jsn(out, m->cname);
		fprintf(out, ",\"is_ip\":%s}", m->is_ip ? "true" : "false");
	}
	fputs("]}", out);
	report_identity_json(out, r);

	fputs(",\"attempts\":[", out);
	for (i = 0; i < r->nattempts; i++) {
		const struct attempt *a = &r->attempts[i];
		fputs(i ? ",{\"host\":" : "{\"host\":", out);
		jsn(out, a->host);
		fputs(",\"ip\":", out);
		jsn(out, a->ip);
		fprintf(out, ",\"port\":%d,\"outcome\":", a->port);
		js(out, a->outcome);
		fputs(",\"detail\":", out);
		jsn(out, a->detail);
		fputc('}', out);
	}
	fputs("]", out);

	fputs(",\"stages\":[", out);
	for (st = 0; st < STAGE_COUNT; st++) {
		const struct stage_rec *s = &r->stages[st];

		if (!stage_reported(r, (enum stage)st))
			continue;
		fputs(st ? ",{\"name\":" : "{\"name\":", out);
		js(out, stage_name((enum stage)st));
		fputs(",\"status\":", out);
		js(out, stage_status_name(s->status));
		if (s->elapsed_ms > 0)
			fprintf(out, ",\"elapsed_ms\":%.1f", s->elapsed_ms);
		if (s->error[0]) {
			fputs(",\"error\":", out);
			js(out, s->error);
		}
		if (s->nreplies > 0) {
			fputs(",\"replies\":[", out);
			for (i = 0; i < s->nreplies; i++) {
				if (i > 0)
					fputc(',', out);
				report_json_reply(out, &s->replies[i]);
			}
			fputc(']', out);
		}
		if (s->expl.present &&
		    (s->status == STATUS_WARN || s->status == STATUS_FAIL)) {
			fputs(",\"explanation\":", out);
			json_explanation(out, &s->expl);
		}
		fputc('}', out);
	}
	fputc(']', out);

	fputs(",\"findings\":[", out);
	for (i = 0; i < r->nfindings; i++) {
		const struct finding *f = &r->findings[i];
		fputs(i ? ",{\"id\":" : "{\"id\":", out);
		js(out, finding_name(f->id));
		fputs(",\"severity\":", out);
		js(out, severity_name(f->severity));
		fputs(",\"stage\":", out);
		js(out, stage_name(f->stage));
		fputs(",\"message\":", out);
		js(out, f->message);
		fputs(",\"evidence\":", out);
		jsn(out, f->evidence);
		fputs(",\"ref\":", out);
		jsn(out, f->ref);
		fputc('}', out);
	}
	fprintf(out, "],\"findings_dropped\":%zu", r->findings_dropped);

	fputs(",\"transcript\":[", out);
	for (i = 0; i < r->ntranscript; i++) {
		const struct transcript_entry *e = &r->transcript[i];
		fprintf(out, "%s{\"t_ms\":%.1f,\"dir\":\"%s\",\"text\":",
		    i ? "," : "", e->t_ms, e->dir == 's' ? "send" :
		    e->dir == 'r' ? "recv" : "info");
		report_put_json_string(out, e->text, e->len);
		fputc('}', out);
	}
	fprintf(out, "],\"transcript_dropped\":%zu}\n", r->transcript_dropped);
}

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
		if (s->status == STATUS_OK && r->has_server)
			snprintf(buf, len, "%s%s%s port %d in %.1f ms",
			    V6L(r->server_ip), r->server_ip,
			    V6R(r->server_ip), r->server_port, s->elapsed_ms);
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
	report_put_text(out, text, strlen(text));
	fputc('\n', out);
}

void
report_text_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info, bool color)
{
	const char *vcol = "", *reset = "";

	if (color) {
		reset = "\033[0m";
		switch (r->verdict) {
		case VERDICT_DELIVERABLE: vcol = "\033[32m"; break;
		case VERDICT_UNDELIVERABLE: vcol = "\033[31m"; break;
		default: vcol = "\033[33m"; break;
		}
	}
	fprintf(out, "%s%-13s%s %-18s ", vcol, verdict_name(r->verdict), reset,
	    reason_name(r->reason));
	report_put_text(out, r->input, strlen(r->input));
	if (r->input_cut)
		fputs("...", out);
	if (info != NULL && info->line > 0)
		fprintf(out, " (line %lu)", info->line);
	fputs(": ", out);
	report_put_text(out, r->summary, strlen(r->summary));
	fputc('\n', out);
}

void
report_text(FILE *out, const struct probe_result *r, bool verbose, bool color)
{
	const char *vcol = "", *reset = "";
	size_t i;
	int st;
	bool stages_shown = false;

	if (color) {
		reset = "\033[0m";
		switch (r->verdict) {
		case VERDICT_DELIVERABLE: vcol = "\033[32m"; break;
		case VERDICT_UNDELIVERABLE: vcol = "\033[31m"; break;
		default: vcol = "\033[33m"; break;
		}
	}
	/* A self-check has no address: name the mode and what was greeted,
	 * if anything. */
	fputs(r->self_check_only ? "smtpprobe --self-check" : "smtpprobe",
	    out);
	if (!r->self_check_only || r->input[0] != '\0') {
		fputs(": ", out);
		report_put_text(out, r->input, strlen(r->input));
	}
	fputc('\n', out);
	fprintf(out, "  verdict: %s%s%s (%s)\n", vcol,
	    verdict_name(r->verdict), reset, reason_name(r->reason));
	fputs("  ", out);
	report_put_text(out, r->summary, strlen(r->summary));
	fputc('\n', out);
	if (r->addr.domain_idn) {
		fputs("  domain:  ", out);
		report_put_text(out, r->addr.domain, strlen(r->addr.domain));
		fprintf(out, " (%s)\n", r->addr.domain_ascii);
	}
	if (r->nmx > 0) {
		fprintf(out, "  %s:\n", r->implicit_mx ? "mail host (implicit "
		    "MX)" : r->addr.literal ? "host" : "MX");
		for (i = 0; i < r->nmx; i++) {
			size_t j;
			fprintf(out, "    %3u %s", r->mx[i].pref, r->mx[i].host);
			for (j = 0; j < r->mx[i].naddrs; j++)
				fprintf(out, "%s%s", j ? ", " : "  [",
				    r->mx[i].addrs[j]);
			fprintf(out, "%s\n", r->mx[i].naddrs ? "]" :
			    r->mx[i].is_ip ? "  (an IP address, not a host "
			    "name: not used)" : r->mx[i].status != RESOLVER_OK ?
			    "  (no address)" : "");
			if (r->mx[i].cname[0] != '\0') {
				fputs("        ", out);
				report_put_text(out, r->mx[i].host,
				    strlen(r->mx[i].host));
				fputs(" is an alias of ", out);
				report_put_text(out, r->mx[i].cname,
				    strlen(r->mx[i].cname));
				fputs(" (CNAME)\n", out);
			}
		}
	}
	if (r->dns_cname[0] != '\0') {
		fputs("  alias:   ", out);
		report_put_text(out, r->addr.domain_ascii,
		    strlen(r->addr.domain_ascii));
		fputs(" is an alias of ", out);
		report_put_text(out, r->dns_cname, strlen(r->dns_cname));
		fputs(" (CNAME)\n", out);
	}
	if (r->has_server)
		fprintf(out, "  server:  %s%s%s%s%s port %d\n", r->server_host,
		    r->server_host[0] ? " " : "", V6L(r->server_ip),
		    r->server_ip, V6R(r->server_ip), r->server_port);
	if (r->nattempts > 1) {
		fputs("  attempts:\n", out);
		for (i = 0; i < r->nattempts; i++) {
			fprintf(out, "    %s %s%s%s: %s", r->attempts[i].host,
			    V6L(r->attempts[i].ip), r->attempts[i].ip,
			    V6R(r->attempts[i].ip), r->attempts[i].outcome);
			if (r->attempts[i].detail[0]) {
				fputs(" (", out);
				report_put_text(out, r->attempts[i].detail,
				    strlen(r->attempts[i].detail));
				fputc(')', out);
			}
			fputc('\n', out);
		}
	}
	report_identity_text(out, r);
	if (r->tls_done)
		fprintf(out, "  tls:     %s %s, certificate %s\n",
		    r->tls.version, r->tls.cipher, r->tls.verified ?
		    "verified" : "NOT verified");

	for (st = 0; st < STAGE_COUNT; st++) {
		const struct stage_rec *s = &r->stages[st];
		const struct rec_reply *last = NULL;

		/* A self-check lists only the stages it went through: it has
		 * no address of its own (the one it uses to greet a server
		 * is made up), and often no server at all. */
		if ((r->self_check_only && s->status == STATUS_SKIPPED) ||
		    !stage_reported(r, (enum stage)st))
			continue;
		/* AUTH is only tried on request; an unused auth stage is
		 * noise for people (JSON keeps every stage). */
		if (st == STAGE_AUTH && s->status == STATUS_SKIPPED &&
		    s->nreplies == 0 && !s->expl.present)
			continue;
		if (!stages_shown) {
			fputs("  stages:\n", out);
			stages_shown = true;
		}
		for (i = 0; i < s->nreplies; i++)
			last = &s->replies[i];
		fprintf(out, "    [%s] %-8s", status_mark(s->status),
		    stage_name((enum stage)st));
		if (last != NULL) {
			fputc(' ', out);
			put_reply_short(out, last->reply, 100);
		} else if (s->error[0]) {
			fputc(' ', out);
			report_put_text(out, s->error, strlen(s->error));
		} else {
			char fact[300];

			stage_fact(r, (enum stage)st, fact, sizeof(fact));
			if (fact[0] != '\0') {
				fputc(' ', out);
				report_put_text(out, fact, strlen(fact));
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

	if (r->nfindings > 0) {
		fputs("  findings:\n", out);
		for (i = 0; i < r->nfindings; i++) {
			report_finding_line(out, &r->findings[i]);
		}
	}
	if (verbose && r->ntranscript > 0) {
		fputs("  transcript:\n", out);
		for (i = 0; i < r->ntranscript; i++) {
			const struct transcript_entry *e = &r->transcript[i];
			fprintf(out, "    %8.1f %s ", e->t_ms, e->dir == 's' ?
			    "->" : e->dir == 'r' ? "<-" : "**");
			report_put_text(out, e->text, e->len);
			fputc('\n', out);
		}
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
json_kind_list(FILE *out, const struct helotest_result *ht,
    enum helotest_status want, bool answered_unknown)
{
	bool first = true;

	fputc('[', out);
	for (size_t i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *o = ht_source(ht,
		    &ht->cand[i]);

		if (!o->tested || o->status != want ||
		    (want == HT_UNKNOWN && o->answered != answered_unknown))
			continue;
		if (!first)
			fputc(',', out);
		first = false;
		js(out, helotest_kind_name(ht->cand[i].kind));
	}
	fputc(']', out);
}

void
report_helotest_json(FILE *out, const struct helotest_result *ht)
{
	size_t i, j;

	fputs("{\"mode\":\"helo_test\",\"target\":", out);
	jsn(out, ht->target);
	fputs(",\"domain\":", out);
	jsn(out, ht->domain);
	fputs(",\"from\":", out);
	js(out, ht->from);
	fputs(",\"rcpt\":", out);
	jsn(out, ht->rcpt);
	fputs(",\"server\":", out);
	if (ht->has_server) {
		fputs("{\"host\":", out);
		jsn(out, ht->server_host);
		fputs(",\"ip\":", out);
		js(out, ht->server_ip);
		fprintf(out, ",\"port\":%d,\"first_mx\":%s,\"implicit_mx\":%s}",
		    ht->server_port, ht->via_mx && ht->mx_index == 0 ?
		    "true" : "false",
		    ht->implicit_mx ? "true" : "false");
	} else
		fputs("null", out);
	fputs(",\"dns_status\":", out);
	js(out, ht->dns_done ? resolver_status_name(ht->dns_status) : NULL);
	fputs(",\"local_ip\":", out);
	jsn(out, ht->local_ip);
	fputs(",\"server_name\":", out);
	jsn(out, ht->server_name);
	fprintf(out, ",\"exit_code\":%d,\"error\":", ht->exit_code);
	jsn(out, ht->error);
	fputs(",\"conclusion\":", out);
	jsn(out, ht->conclusion);
	fputs(",\"rejects\":", out);
	json_kind_list(out, ht, HT_REJECTED, false);
	fputs(",\"accepts\":", out);
	json_kind_list(out, ht, HT_ACCEPTED, false);
	fputs(",\"same_refusal\":", out);
	json_kind_list(out, ht, HT_UNKNOWN, true);
	fputs(",\"no_answer\":", out);
	json_kind_list(out, ht, HT_UNKNOWN, false);

	fputs(",\"helo_test\":[", out);
	for (i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *c = &ht->cand[i];
		const struct helotest_candidate *o = ht_source(ht, c);

		fputs(i ? ",{\"kind\":" : "{\"kind\":", out);
		js(out, helotest_kind_name(c->kind));
		fputs(",\"name\":", out);
		jsn(out, c->name);
		fprintf(out, ",\"tested\":%s,\"same_as\":",
		    c->tested ? "true" : "false");
		js(out, c->same_as >= 0 ? helotest_kind_name(o->kind) : NULL);
		fputs(",\"status\":", out);
		js(out, helotest_status_name(o->status));
		fprintf(out, ",\"accepted\":%s,\"answered\":%s,\"outcome\":",
		    !o->tested || o->status == HT_UNKNOWN ? "null" :
		    o->status == HT_ACCEPTED ? "true" : "false",
		    o->answered ? "true" : "false");
		js(out, o->tested ? session_outcome_name(o->outcome) : NULL);
		fputs(",\"refused_at\":", out);
		js(out, o->refusal != NULL ? stage_name(o->refused_at) : NULL);
		fprintf(out, ",\"temporary\":%s,\"about_helo\":%s,"
		    "\"refusal\":", o->temporary ? "true" : "false",
		    o->about_helo ? "true" : "false");
		report_json_reply(out, o->refusal);
		fputs(",\"ehlo\":", out);
		report_json_reply(out, o->ehlo);
		fputs(",\"helo\":", out);
		report_json_reply(out, o->helo);
		fputs(",\"mail\":", out);
		report_json_reply(out, o->mail);
		fputs(",\"rcpt\":", out);
		report_json_reply(out, o->rcpt);
		fprintf(out, ",\"tls\":%s,\"note\":",
		    o->res != NULL && o->res->tls_done ? "true" : "false");
		jsn(out, c->note[0] ? c->note : o->note);
		fputs(",\"transcript\":[", out);
		if (c->tested && c->res != NULL) {
			const struct probe_result *r = c->res;

			for (j = 0; j < r->ntranscript; j++) {
				const struct transcript_entry *e =
				    &r->transcript[j];
				fprintf(out, "%s{\"t_ms\":%.1f,\"dir\":\"%s\","
				    "\"text\":", j ? "," : "", e->t_ms,
				    e->dir == 's' ? "send" : e->dir == 'r' ?
				    "recv" : "info");
				report_put_json_string(out, e->text, e->len);
				fputc('}', out);
			}
		}
		fputs("]}", out);
	}
	fputs("]}\n", out);
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

static void
ht_reply_line(FILE *out, const struct rec_reply *rr)
{
	put_reply_short(out, rr->reply, 120);
}

void
report_helotest_text(FILE *out, const struct helotest_result *ht,
    bool verbose)
{
	size_t i, j, w = 4;
	char b1[32], b2[16], b3[16];

	fputs("smtpprobe --helo-test", out);
	if (ht->target[0]) {
		fputs(": ", out);
		report_put_text(out, ht->target, strlen(ht->target));
	}
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
		if (ht->server_name[0]) {
			fputs("; the server calls itself ", out);
			report_put_text(out, ht->server_name,
			    strlen(ht->server_name));
		}
		fputc('\n', out);
	}
	if (ht->error[0]) {
		fputs("  error:    ", out);
		report_put_text(out, ht->error, strlen(ht->error));
		fputc('\n', out);
	}
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
	for (i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *c = &ht->cand[i];
		const struct helotest_candidate *o = ht_source(ht, c);
		size_t n = strlen(c->name);
		const char *note = c->note[0] ? c->note : o->note;

		fprintf(out, "  %-18s ", helotest_kind_label(c->kind));
		if (n == 0)
			fputs("-", out);
		else
			report_put_text(out, c->name, n);
		if (n < w)
			fprintf(out, "%*s", (int)(w - (n ? n : 1)), "");
		fprintf(out, " %-13s %-4s %-4s %s\n",
		    ht_hello_col(o, b1, sizeof(b1)),
		    ht_code_col(o->mail, b2, sizeof(b2)),
		    ht_code_col(o->rcpt, b3, sizeof(b3)),
		    !o->tested ? "-" : o->status == HT_ACCEPTED ? "yes" :
		    o->status == HT_REJECTED ? "no" : "unknown");
		if (o->refusal != NULL && c->same_as < 0) {
			fprintf(out, "      refused at %s: ",
			    o->refused_at == STAGE_EHLO ? "EHLO/HELO" :
			    o->refused_at == STAGE_MAIL ? "MAIL" : "RCPT");
			ht_reply_line(out, o->refusal);
			fputc('\n', out);
		}
		if (note[0]) {
			fputs("      note: ", out);
			report_put_text(out, note, strlen(note));
			fputc('\n', out);
		}
	}
	fputs("  conclusion: ", out);
	report_put_text(out, ht->conclusion[0] ? ht->conclusion :
	    "the test could not run", ht->conclusion[0] ?
	    strlen(ht->conclusion) : strlen("the test could not run"));
	fputc('\n', out);
	if (!verbose)
		return;
	for (i = 0; i < ht->ncand; i++) {
		const struct probe_result *r = ht->cand[i].res;

		if (r == NULL || !ht->cand[i].tested)
			continue;
		fprintf(out, "  transcript (%s):\n",
		    helotest_kind_label(ht->cand[i].kind));
		for (j = 0; j < r->ntranscript; j++) {
			const struct transcript_entry *e = &r->transcript[j];
			fprintf(out, "    %8.1f %s ", e->t_ms, e->dir == 's' ?
			    "->" : e->dir == 'r' ? "<-" : "**");
			report_put_text(out, e->text, e->len);
			fputc('\n', out);
		}
	}
}
