/*
 * result.c — the per-address record, and the reply checker that compares
 * every (command, reply) pair with the command table in codes/.
 *
 * Owns the replies and transcript entries stored in a probe_result.
 * Limits: LIMIT_FINDINGS, LIMIT_STAGE_REPLIES, LIMIT_TRANSCRIPT_BYTES.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "result.h"

static const char *const stage_names[STAGE_COUNT] = {
	"address", "dns", "connect", "proxy", "greeting", "ehlo", "starttls",
	"tls",
	"auth", "mail", "rcpt", "quit",
};
_Static_assert(sizeof(stage_names) / sizeof(stage_names[0]) == STAGE_COUNT,
    "stage name table");

const char *
stage_name(enum stage s)
{
	return (unsigned)s < STAGE_COUNT ? stage_names[s] : "unknown";
}

bool
stage_reported(const struct probe_result *r, enum stage s)
{
	return s != STAGE_PROXY || r->proxy.used;
}

const char *
stage_status_name(enum stage_status s)
{
	switch (s) {
	case STATUS_OK: return "ok";
	case STATUS_WARN: return "warn";
	case STATUS_FAIL: return "fail";
	default: return "skipped";
	}
}

const char *
severity_name(enum severity s)
{
	switch (s) {
	case SEV_ERROR: return "error";
	case SEV_WARNING: return "warning";
	default: return "info";
	}
}

const char *
verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_DELIVERABLE: return "deliverable";
	case VERDICT_UNDELIVERABLE: return "undeliverable";
	case VERDICT_RISKY: return "risky";
	default: return "unknown";
	}
}

const char *
session_outcome_name(enum session_outcome o)
{
	static const char *const names[] = {
		"none", "connect_failed", "connect_timeout",
		"greeting_rejected", "greeting_temporary", "tls_retry_plain",
		"tls_required_failed", "helo_rejected", "answered", "timeout",
		"lost", "protocol_error", "local_error", "auth_failed",
		"proxy_failed",
	};
	if ((size_t)o >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[o];
}

double
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void
result_init(struct probe_result *r, const char *input)
{
	size_t n = strlen(input);

	memset(r, 0, sizeof(*r));
	if (n >= sizeof(r->input)) {
		n = sizeof(r->input) - 1;
		r->input_cut = true;
	}
	memcpy(r->input, input, n);
	r->input[n] = '\0';
	r->t0 = monotonic_ms();
	r->verdict = VERDICT_UNKNOWN;
	r->proxy.method = r->proxy.auth_status = r->proxy.reply = -1;
}

static void
clear_stage(struct stage_rec *s)
{
	size_t i;

	for (i = 0; i < s->nreplies; i++)
		reply_free(s->replies[i].reply);
	memset(s, 0, sizeof(*s));
}

void
result_reset_session(struct probe_result *r)
{
	int st;

	for (st = STAGE_CONNECT; st < STAGE_COUNT; st++)
		clear_stage(&r->stages[st]);
	r->has_caps = false;
	r->tls_done = false;
	memset(&r->tls, 0, sizeof(r->tls));
	/* The proxy's facts are the connection's; that one is used stays. */
	r->proxy.step[0] = '\0';
	r->proxy.method = r->proxy.auth_status = r->proxy.reply = -1;
	r->proxy.not_socks = r->proxy.timed_out = false;
	r->proxy.bound[0] = '\0';
	r->proxy.bound_port = 0;
	r->first_bytes_len = 0;
	r->first_bytes[0] = '\0';
}

void
result_clear(struct probe_result *r)
{
	size_t i;
	int st;

	for (st = 0; st < STAGE_COUNT; st++)
		clear_stage(&r->stages[st]);
	for (i = 0; i < r->ntranscript; i++)
		free(r->transcript[i].text);
	free(r->transcript);
	r->transcript = NULL;
	r->ntranscript = r->transcript_cap = 0;
}

void
result_finding(struct probe_result *r, const char *id, enum severity sev,
    enum stage st, const char *ref, const char *evidence, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	if (r->nfindings >= LIMIT_FINDINGS) {
		r->findings_dropped++;
		return;
	}
	f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->severity = sev;
	f->stage = st;
	f->ref = ref;
	if (evidence != NULL)
		snprintf(f->evidence, sizeof(f->evidence), "%s", evidence);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

bool
result_has_finding(const struct probe_result *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].id, id) == 0)
			return true;
	return false;
}

void
result_transcript(struct probe_result *r, char dir, const char *text,
    size_t len)
{
	struct transcript_entry *e;

	if (len > LIMIT_TRANSCRIPT_ENTRY)
		len = LIMIT_TRANSCRIPT_ENTRY;
	if (r->transcript_bytes + len > LIMIT_TRANSCRIPT_BYTES) {
		r->transcript_dropped++;
		return;
	}
	if (r->ntranscript == r->transcript_cap) {
		size_t cap = r->transcript_cap ? r->transcript_cap * 2 : 32;
		void *p = realloc(r->transcript, cap * sizeof(*e));
		if (p == NULL) {
			r->transcript_dropped++;
			return;
		}
		r->transcript = p;
		r->transcript_cap = cap;
	}
	e = &r->transcript[r->ntranscript];
	if ((e->text = malloc(len + 1)) == NULL) {
		r->transcript_dropped++;
		return;
	}
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	e->dir = dir;
	e->t_ms = monotonic_ms() - r->t0;
	r->ntranscript++;
	r->transcript_bytes += len;
}

void
result_transcriptf(struct probe_result *r, char dir, const char *fmt, ...)
{
	char buf[LIMIT_TRANSCRIPT_ENTRY];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	result_transcript(r, dir, buf,
	    (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/*
 * The reply checker: facts about one reply, as findings.  Policy (what a
 * fact means for the verdict) is diag.c's business, not this one's.
 */
static void
check_reply(struct probe_result *r, enum stage st, const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;
	char ev[256], first[200];
	const char *what = rr->cmd == CODES_CMD_GREETING ? "the greeting" :
	    codes_cmd_name((enum codes_cmd)rr->cmd);

	snprintf(first, sizeof(first), "%.*s",
	    rp->nlines > 0 ? (int)(rp->lines[0].len < 150 ?
	    rp->lines[0].len : 150) : 0,
	    rp->nlines > 0 ? rp->lines[0].text : "");
	snprintf(ev, sizeof(ev), "%d %s", rp->code, first);

	if (rr->legality == CODES_ILLEGAL)
		result_finding(r, "reply.illegal_code", SEV_ERROR, st,
		    "RFC 5321 §4.3.2", ev, "%d is not a valid reply to %s",
		    rp->code, what);
	else if (rr->legality == CODES_COMMON)
		result_finding(r, "reply.nonstandard_code", SEV_INFO, st,
		    "RFC 5321 §4.3.2", ev, "%d is not a standard reply to %s, "
		    "though servers often use it", rp->code, what);
	if (rp->deviations & REPLY_DEV_CLASS_MISMATCH)
		result_finding(r, "reply.enhanced_class_mismatch", SEV_WARNING,
		    st, "RFC 2034 §4 / RFC 3463 §2", ev, "the enhanced status "
		    "code %d.%d.%d does not agree with the reply code %d (its "
		    "first digit must be %d)", rp->esc_class, rp->esc_subject,
		    rp->esc_detail, rp->code, rp->code / 100);
	if (rp->deviations & REPLY_DEV_MIXED_CODES)
		result_finding(r, "reply.mixed_codes", SEV_WARNING, st,
		    "RFC 5321 §4.2.1", ev, "the lines of one reply to %s carry "
		    "different reply codes", what);
	if (rp->deviations & REPLY_DEV_BAD_SEPARATOR)
		result_finding(r, "reply.bad_separator", SEV_WARNING, st,
		    "RFC 5321 §4.2", ev, "a reply line to %s has neither a "
		    "space nor a hyphen after its code", what);
	if (rp->deviations & REPLY_DEV_LINE_TOO_LONG)
		result_finding(r, "reply.line_too_long", SEV_WARNING, st,
		    "RFC 5321 §4.5.3.1.5", ev, "a reply line to %s is longer "
		    "than 512 octets", what);
	if (rp->deviations & REPLY_DEV_BARE_LF)
		result_finding(r, "reply.bare_lf", SEV_WARNING, st,
		    "RFC 5321 §2.3.8", ev, "the reply to %s ends lines with "
		    "a bare LF instead of CRLF", what);
	if (rp->deviations & REPLY_DEV_CONTROL_CHARS)
		result_finding(r, "reply.control_characters", SEV_WARNING, st,
		    "RFC 5321 §4.2", ev, "the reply to %s contains control "
		    "characters", what);
	if (rp->deviations & (REPLY_DEV_MALFORMED | REPLY_DEV_CODE_RANGE))
		result_finding(r, "reply.malformed", SEV_ERROR, st,
		    "RFC 5321 §4.2", ev, "the reply to %s is not a valid SMTP "
		    "reply", what);
	if (rp->deviations & REPLY_DEV_TRUNCATED)
		result_finding(r, "reply.too_long", SEV_WARNING, st,
		    "RFC 5321 §4.5.3.1", ev, "the reply to %s had more lines "
		    "or bytes than smtpprobe keeps (%d lines, %d bytes)", what,
		    LIMIT_REPLY_LINES, LIMIT_REPLY_BYTES);
}

void
rec_reply_set(struct rec_reply *rr, int cmd, const char *command,
    struct reply *rp, double elapsed_ms)
{
	memset(rr, 0, sizeof(*rr));
	rr->cmd = cmd;
	snprintf(rr->command, sizeof(rr->command), "%s",
	    command != NULL ? command : "");
	rr->reply = rp;
	rr->elapsed_ms = elapsed_ms;
	if (rp->deviations & REPLY_DEV_MALFORMED)
		rr->legality = CODES_ILLEGAL;
	else
		rr->legality = codes_check((enum codes_cmd)cmd, rp->code,
		    &rr->legality_ref);
}

void
result_note_reply(struct probe_result *r, enum stage st,
    const struct rec_reply *rr)
{
	if (rr->reply != NULL)
		check_reply(r, st, rr);
}

struct rec_reply *
result_file_reply(struct probe_result *r, enum stage st,
    struct rec_reply *rr)
{
	struct reply *rp = rr->reply;

	if (rp == NULL)
		return NULL;
	rr->reply = NULL;
	return result_add_reply(r, st, rr->cmd, rr->command, rp,
	    rr->elapsed_ms);
}

static void
fill_reply(struct probe_result *r, enum stage st, struct rec_reply *rr,
    int cmd, const char *command, struct reply *rp, double elapsed_ms)
{
	rec_reply_set(rr, cmd, command, rp, elapsed_ms);
	check_reply(r, st, rr);
}

struct rec_reply *
result_add_reply(struct probe_result *r, enum stage st, int cmd,
    const char *command, struct reply *rp, double elapsed_ms)
{
	struct stage_rec *s = &r->stages[st];
	struct rec_reply *rr;

	if (s->nreplies >= LIMIT_STAGE_REPLIES) {
		/* Still checked, so deviations are reported, but not kept. */
		struct rec_reply tmp;

		memset(&tmp, 0, sizeof(tmp));
		fill_reply(r, st, &tmp, cmd, command, rp, elapsed_ms);
		s->replies_dropped++;
		reply_free(rp);
		return NULL;
	}
	rr = &s->replies[s->nreplies];
	memset(rr, 0, sizeof(*rr));
	fill_reply(r, st, rr, cmd, command, rp, elapsed_ms);
	s->nreplies++;
	return rr;
}

/* A deep copy of rp; NULL without memory. */
static struct reply *
reply_dup(const struct reply *rp)
{
	struct reply *c;
	size_t i;

	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memcpy(c, rp, sizeof(*c));
	for (i = 0; i < c->nlines; i++) {
		c->lines[i].text = malloc(rp->lines[i].len + 1);
		if (c->lines[i].text == NULL) {
			c->nlines = i;
			reply_free(c);
			return NULL;
		}
		memcpy(c->lines[i].text, rp->lines[i].text,
		    rp->lines[i].len + 1);
	}
	return c;
}

void
result_copy_shared(struct probe_result *dst, const struct probe_result *src)
{
	struct probe_result *keep;
	size_t i, j, n;
	int st;

	/* The address fields of dst are its own; everything else is the
	 * session's.  The only pointers in a result are the stage replies
	 * and the transcript: both are copied deeply below. */
	if ((keep = malloc(sizeof(*keep))) == NULL) {
		dst->local_error = true;
		snprintf(dst->local_error_msg, sizeof(dst->local_error_msg),
		    "out of memory");
		return;
	}
	memcpy(keep, dst, sizeof(*keep));
	result_clear(dst);
	memcpy(dst, src, sizeof(*dst));
	memcpy(dst->input, keep->input, sizeof(dst->input));
	dst->input_cut = keep->input_cut;
	dst->addr = keep->addr;
	dst->addr_error = keep->addr_error;
	memcpy(dst->addr_why, keep->addr_why, sizeof(dst->addr_why));
	dst->t0 = keep->t0;
	free(keep);

	dst->verdict = VERDICT_UNKNOWN;
	dst->reason[0] = dst->summary[0] = '\0';
	dst->exit_code = 0;
	for (st = 0; st < STAGE_COUNT; st++) {
		struct stage_rec *s = &dst->stages[st];

		if (st == STAGE_RCPT) {
			memset(s, 0, sizeof(*s));
			continue;
		}
		for (i = 0, n = 0; i < s->nreplies; i++) {
			s->replies[n] = s->replies[i];
			s->replies[n].reply = reply_dup(s->replies[i].reply);
			if (s->replies[n].reply != NULL)
				n++;
			else
				s->replies_dropped++;
		}
		s->nreplies = n;
	}
	/* The findings about the first address's own RCPT are not ours. */
	for (i = 0, j = 0; i < dst->nfindings; i++)
		if (dst->findings[i].stage != STAGE_RCPT)
			dst->findings[j++] = dst->findings[i];
	dst->nfindings = j;
	dst->transcript = NULL;
	dst->ntranscript = dst->transcript_cap = dst->transcript_bytes = 0;
	if (src->ntranscript > 0 &&
	    (dst->transcript = malloc(src->ntranscript *
	    sizeof(*dst->transcript))) != NULL) {
		dst->transcript_cap = src->ntranscript;
		for (i = 0; i < src->ntranscript; i++) {
			const struct transcript_entry *e = &src->transcript[i];
			struct transcript_entry *d =
			    &dst->transcript[dst->ntranscript];

			if ((d->text = malloc(e->len + 1)) == NULL) {
				dst->transcript_dropped++;
				continue;
			}
			memcpy(d->text, e->text, e->len + 1);
			d->len = e->len;
			d->dir = e->dir;
			d->t_ms = e->t_ms;
			dst->ntranscript++;
			dst->transcript_bytes += e->len;
		}
	} else if (src->ntranscript > 0)
		dst->transcript_dropped += src->ntranscript;
}
