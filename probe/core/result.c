/*
 * result.c — the per-address record, and the reply checker that compares
 * every (command, reply) pair with the command table in codes/.
 *
 * Owns the arrays of a probe_result (replies, findings, MX hosts,
 * attempts, explanation texts, server identities, transcript): each is
 * allocated on first use and grown by doubling up to its limit.  What a
 * connection produces (capabilities, TLS facts, the client audit, a
 * stage's error text) is allocated when it is produced.  Without
 * memory a fact is dropped and counted, never written out of bounds.
 * Limits: LIMIT_FINDINGS, LIMIT_STAGE_REPLIES, RESOLVER_MAX_MX,
 * LIMIT_ATTEMPT_RECORDS, IDENT_MAX_SERVERS, LIMIT_TRANSCRIPT_BYTES.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts_facts.h"
#include "names.h"
#include "result.h"

/* A row of findings.tsv. */
struct finding_row {
	const char	*id;
	enum severity	 severity;
	unsigned	 stages;
	const char	*ref;
};

#include "probe_tables.c"

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
	return NAME_OF(stage_names, s, "unknown");
}

bool
stage_reported(const struct probe_result *r, enum stage s)
{
	return s != STAGE_PROXY || r->proxy != NULL;
}

const char *
stage_status_name(enum stage_status s)
{
	switch (s) {
	case STATUS_OK: return "ok";
	case STATUS_WARN: return "warn";
	case STATUS_FAIL: return "fail";
	case STATUS_NOT_ASKED: return "not_asked";
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
	return NAME_OF(names, o, "unknown");
}

const char *
finding_name(enum finding_id id)
{
	return (unsigned)id < FINDING_COUNT ? finding_rows[id].id : "unknown";
}

enum severity
finding_severity(enum finding_id id)
{
	return (unsigned)id < FINDING_COUNT ? finding_rows[id].severity :
	    SEV_INFO;
}

unsigned
finding_stages(enum finding_id id)
{
	return (unsigned)id < FINDING_COUNT ? finding_rows[id].stages : 0;
}

const char *
finding_ref(enum finding_id id)
{
	return (unsigned)id < FINDING_COUNT ? finding_rows[id].ref : NULL;
}

const char *
reason_name(enum reason r)
{
	return NAME_OF(reason_names, r, "unknown");
}

const char *
expl_category_name(int category)
{
	if (category >= 0 && category < CODES_CAT_COUNT)
		return codes_category_name((enum codes_category)category);
	if (category >= CODES_CAT_COUNT && category < DIAG_CAT_END)
		return diag_category_names[category - CODES_CAT_COUNT];
	return "unknown";
}

void
expl_set(struct explanation *e, int category, enum codes_blame blame,
    enum codes_permanence permanence, const char *meaning, const char *cause,
    const char *action)
{
	const char *in[3] = { meaning, cause, action };
	size_t len[3], i, off = 0;
	char *text;

	/* The new block is made before the old one is freed: the texts
	 * may be e's own. */
	for (i = 0; i < 3; i++)
		len[i] = strnlen(in[i], EXPL_TEXT_MAX - 1);
	text = malloc(len[0] + len[1] + len[2] + 3);
	e->present = true;
	e->category = category;
	e->blame = blame;
	e->permanence = permanence;
	if (text != NULL)
		for (i = 0; i < 3; i++) {
			memcpy(text + off, in[i], len[i]);
			text[off + len[i]] = '\0';
			off += len[i] + 1;
		}
	free(e->text);
	e->text = text;
	e->meaning = text != NULL ? text : "";
	e->cause = text != NULL ? text + len[0] + 1 : "";
	e->action = text != NULL ? text + len[0] + len[1] + 2 : "";
}

bool
result_grow(void *arrp, size_t *cap, size_t n, size_t max, size_t elem)
{
	void *arr, *p;
	size_t ncap;

	if (n >= max)
		return false;
	if (n < *cap)
		return true;
	ncap = *cap > 0 ? *cap * 2 : 1;
	if (ncap > max)
		ncap = max;
	memcpy(&arr, arrp, sizeof(arr));
	if ((p = realloc(arr, ncap * elem)) == NULL)
		return false;
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return true;
}

void *
result_append(void *arrp, size_t *cap, size_t *n, size_t max, size_t elem,
    size_t *nomem)
{
	char *arr;

	if (!result_grow(arrp, cap, *n, max, elem)) {
		if (*n < max && nomem != NULL)
			(*nomem)++;
		return NULL;
	}
	memcpy(&arr, arrp, sizeof(arr));
	arr += (*n)++ * elem;
	memset(arr, 0, elem);
	return arr;
}

/* The out-of-memory note diag.c turns into reason local_error. */
static void
result_nomem(struct probe_result *r)
{
	r->local_error = true;
	snprintf(r->local_error_msg, sizeof(r->local_error_msg),
	    "out of memory");
}

struct mx_info *
result_add_mx(struct probe_result *r)
{
	struct mx_info *m;

	/* An MX host lost for want of memory would turn into a false
	 * verdict: a local error instead. */
	if ((m = result_append(&r->mx, &r->mx_cap, &r->nmx, RESOLVER_MAX_MX,
	    sizeof(*r->mx), &r->nomem_dropped)) == NULL &&
	    r->nmx < RESOLVER_MAX_MX)
		result_nomem(r);
	return m;
}

struct attempt *
result_add_attempt(struct probe_result *r)
{
	return result_append(&r->attempts, &r->attempts_cap, &r->nattempts,
	    LIMIT_ATTEMPT_RECORDS, sizeof(*r->attempts), &r->nomem_dropped);
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
	memset(r, 0, sizeof(*r));
	result_set_input(r, input, strlen(input));
	r->t0 = monotonic_ms();
	r->verdict = VERDICT_UNKNOWN;
}

void
result_set_input(struct probe_result *r, const char *input, size_t len)
{
	if (len >= sizeof(r->input)) {
		len = sizeof(r->input) - 1;
		r->input_cut = true;
	}
	memcpy(r->input, input, len);
	r->input[len] = '\0';
	r->input_len = len;
}

/* A connection's facts about the proxy, before it has said anything. */
static void
proxy_reset(struct proxy_info *p)
{
	p->step[0] = '\0';
	p->method = p->auth_status = p->reply = -1;
	p->not_socks = p->timed_out = false;
	p->bound[0] = '\0';
	p->bound_port = 0;
}

bool
result_use_proxy(struct probe_result *r, const char *url, bool remote_dns)
{
	if (r->proxy == NULL && (r->proxy = calloc(1, sizeof(*r->proxy))) ==
	    NULL) {
		result_nomem(r);
		return false;
	}
	snprintf(r->proxy->url, sizeof(r->proxy->url), "%s", url);
	r->proxy->remote_dns = remote_dns;
	proxy_reset(r->proxy);
	return true;
}

static void
clear_stage(struct stage_rec *s)
{
	size_t i;

	for (i = 0; i < s->nreplies; i++)
		reply_free(s->replies[i].reply);
	free(s->replies);
	free(s->expl.text);
	free(s->error);
	memset(s, 0, sizeof(*s));
}

const char *
stage_error(const struct stage_rec *s)
{
	return s->error != NULL ? s->error : "";
}

void
result_stage_error(struct probe_result *r, enum stage st, const char *fmt,
    ...)
{
	struct stage_rec *s = &r->stages[st];
	char buf[STAGE_ERROR_MAX];
	va_list ap;

	/* Formatted before the old text goes: it may be an argument. */
	va_start(ap, fmt);
	if (vsnprintf(buf, sizeof(buf), fmt, ap) < 0)
		buf[0] = '\0';
	va_end(ap);
	free(s->error);
	if ((s->error = strdup(buf)) == NULL)
		result_nomem(r);
}

struct ehlo_caps *
result_caps(struct probe_result *r)
{
	if (r->caps == NULL && (r->caps = calloc(1, sizeof(*r->caps))) ==
	    NULL)
		result_nomem(r);
	return r->caps;
}

void
result_drop_caps(struct probe_result *r)
{
	free(r->caps);
	r->caps = NULL;
}

struct tlsconn_info *
result_tls(struct probe_result *r)
{
	if (r->tls == NULL && (r->tls = calloc(1, sizeof(*r->tls))) == NULL)
		result_nomem(r);
	return r->tls;
}

const struct tlsconn_info *
result_tls_info(const struct probe_result *r)
{
	static const struct tlsconn_info none;

	return r->tls != NULL ? r->tls : &none;
}

/* Forget the TLS facts and free them. */
static void
drop_tls(struct probe_result *r)
{
	if (r->tls != NULL)
		tlsconn_info_clear(r->tls);
	free(r->tls);
	r->tls = NULL;
}

struct ident_client *
result_client(struct probe_result *r)
{
	if (r->ident.client == NULL && (r->ident.client = calloc(1,
	    sizeof(*r->ident.client))) == NULL)
		r->nomem_dropped++;
	return r->ident.client;
}

void
result_reset_session(struct probe_result *r)
{
	int st;

	for (st = STAGE_CONNECT; st < STAGE_COUNT; st++)
		clear_stage(&r->stages[st]);
	result_drop_caps(r);
	r->tls_done = false;
	r->tls_implicit = false;
	drop_tls(r);
	/* The proxy's facts are the connection's; that one is used stays. */
	if (r->proxy != NULL)
		proxy_reset(r->proxy);
	r->first_bytes_len = 0;
	r->first_bytes[0] = '\0';
	r->catch_all_code = 0;	/* asked again on the new connection */
}

/* Free an array grown by result_grow() (arrp: the address of its
 * pointer, as there) and forget its size. */
static void
drop_array(void *arrp, size_t *n, size_t *cap)
{
	void *arr;

	memcpy(&arr, arrp, sizeof(arr));
	free(arr);
	arr = NULL;
	memcpy(arrp, &arr, sizeof(arr));
	*n = *cap = 0;
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
	drop_array(&r->transcript, &r->ntranscript,
	    &r->transcript_cap);
	drop_array(&r->findings, &r->nfindings, &r->findings_cap);
	drop_array(&r->mx, &r->nmx, &r->mx_cap);
	drop_array(&r->attempts, &r->nattempts, &r->attempts_cap);
	drop_array(&r->ident.servers, &r->ident.nservers,
	    &r->ident.servers_cap);
	identity_client_free(r->ident.client);
	r->ident.client = NULL;
	result_drop_caps(r);
	drop_tls(r);
	free(r->mtasts);
	r->mtasts = NULL;
	free(r->proxy);
	r->proxy = NULL;
	free(r->reach);
	r->reach = NULL;
}

static void
vfinding(struct probe_result *r, enum finding_id id, enum severity sev,
    enum stage st, const char *ref, const char *evidence, const char *fmt,
    va_list ap)
{
	struct finding *f;

	if ((f = result_append(&r->findings, &r->findings_cap, &r->nfindings,
	    LIMIT_FINDINGS, sizeof(*r->findings), NULL)) == NULL) {
		r->findings_dropped++;
		return;
	}
	f->id = id;
	f->severity = sev;
	f->stage = st;
	f->ref = ref;
	if (evidence != NULL)
		snprintf(f->evidence, sizeof(f->evidence), "%s", evidence);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
}

void
result_finding(struct probe_result *r, enum finding_id id, enum stage st,
    const char *evidence, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfinding(r, id, finding_severity(id), st, finding_ref(id), evidence,
	    fmt, ap);
	va_end(ap);
}

void
result_finding_sev(struct probe_result *r, enum finding_id id,
    enum severity sev, enum stage st, const char *ref, const char *evidence,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfinding(r, id, sev, st, ref, evidence, fmt, ap);
	va_end(ap);
}

bool
result_has_finding(const struct probe_result *r, enum finding_id id)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (r->findings[i].id == id)
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

const char *
transcript_dir_name(char dir)
{
	switch (dir) {
	case 's': return "send";
	case 'r': return "recv";
	case 'e': return "early";
	default: return "info";
	}
}

const char *
transcript_dir_mark(char dir)
{
	switch (dir) {
	case 's': return "->";
	case 'r': return "<-";
	case 'e': return "<!";
	default: return "**";
	}
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
		result_finding(r, FINDING_REPLY_ILLEGAL_CODE, st, ev,
		    "%d is not a valid reply to %s", rp->code, what);
	else if (rr->legality == CODES_COMMON)
		result_finding(r, FINDING_REPLY_NONSTANDARD_CODE, st, ev,
		    "%d is not a standard reply to %s, though servers often "
		    "use it", rp->code, what);
	if (rp->deviations & REPLY_DEV_CLASS_MISMATCH)
		result_finding(r, FINDING_REPLY_ENHANCED_CLASS_MISMATCH, st, ev,
		    "the enhanced status code %d.%d.%d does not agree with the "
		    "reply code %d (its first digit must be %d)", rp->esc_class,
		    rp->esc_subject, rp->esc_detail, rp->code, rp->code / 100);
	if (rp->deviations & REPLY_DEV_MIXED_CODES)
		result_finding(r, FINDING_REPLY_MIXED_CODES, st, ev,
		    "the lines of one reply to %s carry different reply codes",
		    what);
	if (rp->deviations & REPLY_DEV_BAD_SEPARATOR)
		result_finding(r, FINDING_REPLY_BAD_SEPARATOR, st, ev,
		    "a reply line to %s has neither a space nor a hyphen after "
		    "its code", what);
	if (rp->deviations & REPLY_DEV_LINE_TOO_LONG)
		result_finding(r, FINDING_REPLY_LINE_TOO_LONG, st, ev,
		    "a reply line to %s is longer than 512 octets", what);
	if (rp->deviations & REPLY_DEV_BARE_LF)
		result_finding(r, FINDING_REPLY_BARE_LF, st, ev, "the reply to "
		    "%s ends lines with a bare LF instead of CRLF", what);
	if (rp->deviations & REPLY_DEV_CONTROL_CHARS)
		result_finding(r, FINDING_REPLY_CONTROL_CHARACTERS, st, ev,
		    "the reply to %s contains control characters", what);
	if (rp->deviations & (REPLY_DEV_MALFORMED | REPLY_DEV_CODE_RANGE))
		result_finding(r, FINDING_REPLY_MALFORMED, st, ev,
		    "the reply to %s is not a valid SMTP reply", what);
	if (rp->cut != REPLY_CUT_NONE) {
		/* Our limit cut it, not a fault of its form: the evidence
		 * names the limit (diag.c quotes it in the verdict). */
		snprintf(ev, sizeof(ev), "%d %s", rp->cut == REPLY_CUT_LINES ?
		    LIMIT_REPLY_LINES_HARD : LIMIT_REPLY_BYTES_HARD,
		    rp->cut == REPLY_CUT_LINES ? "lines" : "bytes");
		result_finding(r, FINDING_REPLY_OVER_LIMIT, st, ev, "the reply "
		    "to %s went on past smtpprobe's limit of %s and was cut "
		    "there; smtpprobe gave up the connection", what, ev);
	} else if (rp->deviations & REPLY_DEV_TRUNCATED)
		result_finding(r, FINDING_REPLY_TOO_LONG, st, ev,
		    "the reply to %s had more lines or bytes than smtpprobe "
		    "keeps (%d lines, %d bytes)", what, LIMIT_REPLY_LINES,
		    LIMIT_REPLY_BYTES);
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

/* Reply rp (ownership taken) recorded for stage st as rr was. */
static struct rec_reply *
add_reply_as(struct probe_result *r, enum stage st,
    const struct rec_reply *rr, struct reply *rp)
{
	struct rec_reply *filed;

	filed = result_add_reply(r, st, rr->cmd, rr->command, rp,
	    rr->elapsed_ms);
	if (filed != NULL)
		filed->untrusted = rr->untrusted;
	return filed;
}

struct rec_reply *
result_file_reply(struct probe_result *r, enum stage st,
    struct rec_reply *rr)
{
	struct reply *rp = rr->reply;

	if (rp == NULL)
		return NULL;
	rr->reply = NULL;
	return add_reply_as(r, st, rr, rp);
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

	if (!result_grow(&s->replies, &s->replies_cap, s->nreplies,
	    LIMIT_STAGE_REPLIES, sizeof(*s->replies))) {
		/* Still checked, so deviations are reported, but not kept.
		 * Short of memory the dialogue cannot go on either. */
		struct rec_reply tmp;

		memset(&tmp, 0, sizeof(tmp));
		fill_reply(r, st, &tmp, cmd, command, rp, elapsed_ms);
		s->replies_dropped++;
		if (s->nreplies < LIMIT_STAGE_REPLIES)
			result_nomem(r);
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

/* A copy of the n elements of elem bytes at p; NULL when n is 0 or
 * without memory. */
static void *
dup_array(const void *p, size_t n, size_t elem)
{
	void *c;

	if (n == 0 || (c = malloc(n * elem)) == NULL)
		return NULL;
	memcpy(c, p, n * elem);
	return c;
}

/* d becomes a deep copy of stage s (d's own contents are gone). */
static void
copy_stage(struct stage_rec *d, const struct stage_rec *s)
{
	size_t i;

	*d = *s;
	d->replies = NULL;
	d->nreplies = d->replies_cap = 0;
	d->expl.text = NULL;
	/* Without memory the copy has no error text. */
	d->error = s->error != NULL ? strdup(s->error) : NULL;
	if (s->expl.present)
		expl_set(&d->expl, s->expl.category, s->expl.blame,
		    s->expl.permanence, s->expl.meaning, s->expl.cause,
		    s->expl.action);
	if (s->nreplies == 0)
		return;
	if ((d->replies = malloc(s->nreplies * sizeof(*d->replies))) ==
	    NULL) {
		d->replies_dropped += s->nreplies;
		return;
	}
	d->replies_cap = s->nreplies;
	for (i = 0; i < s->nreplies; i++) {
		d->replies[d->nreplies] = s->replies[i];
		d->replies[d->nreplies].reply = reply_dup(s->replies[i].reply);
		if (d->replies[d->nreplies].reply != NULL)
			d->nreplies++;
		else
			d->replies_dropped++;
	}
}

/* Append src's findings filed under a stage of mask (FINDING_STAGE_BIT)
 * to dst's. */
static void
copy_findings(struct probe_result *dst, const struct probe_result *src,
    unsigned mask)
{
	size_t i;

	for (i = 0; i < src->nfindings; i++) {
		if ((FINDING_STAGE_BIT(src->findings[i].stage) & mask) == 0)
			continue;
		if (!result_grow(&dst->findings, &dst->findings_cap,
		    dst->nfindings, LIMIT_FINDINGS, sizeof(*dst->findings))) {
			dst->findings_dropped++;
			continue;
		}
		dst->findings[dst->nfindings++] = src->findings[i];
	}
}

/* Append the transcript entries [from, to) of src to dst's. */
static void
copy_transcript(struct probe_result *dst, const struct probe_result *src,
    size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && i < src->ntranscript; i++) {
		const struct transcript_entry *e = &src->transcript[i];
		struct transcript_entry *d;

		if (!result_grow(&dst->transcript, &dst->transcript_cap,
		    dst->ntranscript, SIZE_MAX, sizeof(*dst->transcript)) ||
		    (dst->transcript[dst->ntranscript].text = malloc(e->len +
		    1)) == NULL) {
			dst->transcript_dropped++;
			continue;
		}
		d = &dst->transcript[dst->ntranscript++];
		memcpy(d->text, e->text, e->len + 1);
		d->len = e->len;
		d->dir = e->dir;
		d->t_ms = e->t_ms;
		dst->transcript_bytes += e->len;
	}
}

/* A copy of src's n elements of elem bytes into *dstp (counted in *ndst
 * and *cap); what memory does not allow is dropped and counted. */
static void
copy_list(void *dstp, size_t *ndst, size_t *cap, const void *src, size_t n,
    size_t elem, struct probe_result *dst)
{
	void *c = dup_array(src, n, elem);

	*(void **)dstp = c;
	*ndst = *cap = c != NULL ? n : 0;
	dst->nomem_dropped += n - *ndst;
}

/* The MX hosts of mxsrc; the attempts, server identities, proxy facts
 * and reachability of src. */
static void
copy_lists(struct probe_result *dst, const struct probe_result *src,
    const struct probe_result *mxsrc)
{
	copy_list(&dst->mx, &dst->nmx, &dst->mx_cap, mxsrc->mx, mxsrc->nmx,
	    sizeof(*mxsrc->mx), dst);
	copy_list(&dst->attempts, &dst->nattempts, &dst->attempts_cap,
	    src->attempts, src->nattempts, sizeof(*src->attempts), dst);
	copy_list(&dst->ident.servers, &dst->ident.nservers,
	    &dst->ident.servers_cap, src->ident.servers, src->ident.nservers,
	    sizeof(*src->ident.servers), dst);
	dst->proxy = src->proxy != NULL ? dup_array(src->proxy, 1,
	    sizeof(*src->proxy)) : NULL;
	dst->reach = src->reach != NULL ? dup_array(src->reach, 1,
	    sizeof(*src->reach)) : NULL;
	if (dst->nmx < mxsrc->nmx || (src->proxy != NULL &&
	    dst->proxy == NULL) || (src->reach != NULL && dst->reach == NULL))
		result_nomem(dst);
}

/*
 * dst (its input and address set) takes src's plain facts: server,
 * capabilities, TLS, identity, outcome.  Every array of dst is its own
 * and empty afterwards, the stages cleared, the verdict unset.  False
 * without memory (dst then says so).
 */
static bool
copy_plain(struct probe_result *dst, const struct probe_result *src)
{
	struct probe_result *keep;

	if ((keep = malloc(sizeof(*keep))) == NULL) {
		result_nomem(dst);
		return false;
	}
	memcpy(keep, dst, sizeof(*keep));
	result_clear(dst);
	memcpy(dst, src, sizeof(*dst));
	memcpy(dst->input, keep->input, sizeof(dst->input));
	dst->input_len = keep->input_len;
	dst->input_cut = keep->input_cut;
	dst->addr = keep->addr;
	dst->addr_error = keep->addr_error;
	memcpy(dst->addr_why, keep->addr_why, sizeof(dst->addr_why));
	dst->t0 = keep->t0;
	free(keep);
	memset(dst->stages, 0, sizeof(dst->stages));
	dst->findings = NULL;
	dst->nfindings = dst->findings_cap = dst->findings_dropped = 0;
	dst->transcript = NULL;
	dst->ntranscript = dst->transcript_cap = dst->transcript_bytes = 0;
	dst->transcript_dropped = 0;
	dst->mx = NULL;
	dst->attempts = NULL;
	dst->ident.servers = NULL;
	dst->proxy = NULL;
	dst->reach = NULL;
	/* The capabilities, the TLS facts with their chain, the client
	 * audit and the MTA-STS facts, copied deeply. */
	dst->caps = NULL;
	if (src->caps != NULL && (dst->caps = dup_array(src->caps, 1,
	    sizeof(*src->caps))) == NULL)
		result_nomem(dst);
	dst->tls = NULL;
	if (src->tls != NULL && (result_tls(dst) == NULL ||
	    !tlsconn_info_copy(dst->tls, src->tls)))
		dst->nomem_dropped++;
	dst->ident.client = identity_client_dup(src->ident.client);
	if (src->ident.client != NULL && dst->ident.client == NULL)
		dst->nomem_dropped++;
	dst->mtasts = NULL;
	if (src->mtasts != NULL && (dst->mtasts =
	    mtasts_info_dup(src->mtasts)) == NULL)
		dst->nomem_dropped++;
	dst->verdict = VERDICT_UNKNOWN;
	dst->reason = REASON_NONE;
	dst->summary[0] = '\0';
	dst->exit_code = 0;
	return true;
}

void
result_copy_shared(struct probe_result *dst, const struct probe_result *src)
{
	int st;

	/* The address fields of dst are its own; everything else is the
	 * session's, copied deeply: no pointer of src is shared. */
	if (!copy_plain(dst, src))
		return;
	for (st = 0; st < STAGE_COUNT; st++)
		if (st != STAGE_RCPT)
			copy_stage(&dst->stages[st], &src->stages[st]);
	dst->findings_dropped = src->findings_dropped;
	copy_findings(dst, src, FINDING_ANY_STAGE &
	    ~FINDING_STAGE_BIT(STAGE_RCPT));
	copy_lists(dst, src, src);
	dst->transcript_dropped = src->transcript_dropped;
	copy_transcript(dst, src, 0, src->ntranscript);
}

struct probe_dns *
result_dns_save(const struct probe_result *r)
{
	struct probe_dns *d;
	struct probe_result *tmp;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->literal = r->addr.literal;
	d->literal_addr = r->addr.literal_addr;
	d->dns_done = r->dns_done;
	d->dns_status = r->dns_status;
	memcpy(d->dns_detail, r->dns_detail, sizeof(d->dns_detail));
	d->implicit_mx = r->implicit_mx;
	d->null_mx = r->null_mx;
	memcpy(d->dns_cname, r->dns_cname, sizeof(d->dns_cname));
	d->local_error = r->local_error;
	memcpy(d->local_error_msg, r->local_error_msg,
	    sizeof(d->local_error_msg));
	d->t0 = r->t0;
	copy_stage(&d->stage, &r->stages[STAGE_DNS]);
	if (r->mtasts != NULL && (d->mtasts = mtasts_info_dup(r->mtasts)) ==
	    NULL)
		d->nomem_dropped++;
	/* The arrays through a result's own copy helpers. */
	if ((tmp = calloc(1, sizeof(*tmp))) == NULL) {
		result_dns_free(d);
		return NULL;
	}
	copy_list(&tmp->mx, &tmp->nmx, &tmp->mx_cap, r->mx, r->nmx,
	    sizeof(*r->mx), tmp);
	copy_findings(tmp, r, FINDING_STAGE_BIT(STAGE_DNS));
	copy_transcript(tmp, r, 0, r->ntranscript);
	d->mx = tmp->mx;
	d->nmx = tmp->nmx;
	d->findings = tmp->findings;
	d->nfindings = tmp->nfindings;
	d->transcript = tmp->transcript;
	d->ntranscript = tmp->ntranscript;
	d->nomem_dropped = tmp->nomem_dropped + r->nmx - tmp->nmx;
	free(tmp);	/* its arrays are d's now */
	return d;
}

void
result_dns_free(struct probe_dns *d)
{
	size_t i;

	if (d == NULL)
		return;
	clear_stage(&d->stage);
	free(d->mtasts);
	free(d->mx);
	free(d->findings);
	for (i = 0; i < d->ntranscript; i++)
		free(d->transcript[i].text);
	free(d->transcript);
	free(d);
}

/* The DNS fields of d into dst. */
static void
copy_dns_fields(struct probe_result *dst, const struct probe_dns *d)
{
	dst->dns_done = d->dns_done;
	dst->dns_status = d->dns_status;
	memcpy(dst->dns_detail, d->dns_detail, sizeof(dst->dns_detail));
	dst->implicit_mx = d->implicit_mx;
	dst->null_mx = d->null_mx;
	memcpy(dst->dns_cname, d->dns_cname, sizeof(dst->dns_cname));
}

/* d's findings and transcript entries appended to dst's. */
static void
append_dns_lists(struct probe_result *dst, const struct probe_dns *d)
{
	struct probe_result view;

	/* A result that shows d's arrays, for the copy helpers. */
	memset(&view, 0, sizeof(view));
	view.findings = d->findings;
	view.nfindings = d->nfindings;
	view.transcript = d->transcript;
	view.ntranscript = d->ntranscript;
	copy_findings(dst, &view, FINDING_STAGE_BIT(STAGE_DNS));
	copy_transcript(dst, &view, 0, view.ntranscript);
}

void
result_copy_dns(struct probe_result *dst, const struct probe_dns *d)
{
	copy_dns_fields(dst, d);
	clear_stage(&dst->stages[STAGE_DNS]);
	copy_stage(&dst->stages[STAGE_DNS], &d->stage);
	free(dst->mx);
	copy_list(&dst->mx, &dst->nmx, &dst->mx_cap, d->mx, d->nmx,
	    sizeof(*d->mx), dst);
	dst->nomem_dropped += d->nomem_dropped;
	if (dst->nmx < d->nmx)
		result_nomem(dst);
	/* The domain's MTA-STS facts, unless the run has them already. */
	if (dst->mtasts == NULL && d->mtasts != NULL && (dst->mtasts =
	    mtasts_info_dup(d->mtasts)) == NULL)
		dst->nomem_dropped++;
	if (d->local_error) {
		dst->local_error = true;
		memcpy(dst->local_error_msg, d->local_error_msg,
		    sizeof(dst->local_error_msg));
	}
	append_dns_lists(dst, d);
}

/* The first MAIL FROM sent in r's last session (its index), or the end
 * of the transcript. */
static size_t
first_mail(const struct probe_result *r)
{
	size_t i;

	for (i = r->transcript_session; i < r->ntranscript; i++)
		if (r->transcript[i].dir == 's' &&
		    strncmp(r->transcript[i].text, "MAIL FROM:", 10) == 0)
			return i;
	return r->ntranscript;
}

void
result_copy_connection(struct probe_result *dst,
    const struct probe_result *conn, const struct probe_dns *dns)
{
	unsigned mask = FINDING_ANY_STAGE & ~FINDING_STAGE_BIT(STAGE_MAIL) &
	    ~FINDING_STAGE_BIT(STAGE_RCPT);
	int st;

	if (!copy_plain(dst, conn))
		return;
	if (dns != NULL) {
		copy_dns_fields(dst, dns);
		mask &= ~FINDING_STAGE_BIT(STAGE_DNS);
	}
	for (st = 0; st < STAGE_COUNT; st++)
		if (st != STAGE_MAIL && st != STAGE_RCPT)
			copy_stage(&dst->stages[st], dns != NULL &&
			    st == STAGE_DNS ? &dns->stage : &conn->stages[st]);
	copy_lists(dst, conn, conn);
	/* The transcript up to the first transaction: the address's own
	 * lines follow (result_transcript_rec()), not the others'. */
	if (dns != NULL) {
		free(dst->mx);
		copy_list(&dst->mx, &dst->nmx, &dst->mx_cap, dns->mx, dns->nmx,
		    sizeof(*dns->mx), dst);
		/* The MTA-STS facts are its domain's, not the connection's. */
		free(dst->mtasts);
		dst->mtasts = NULL;
		if (dns->mtasts != NULL && (dst->mtasts =
		    mtasts_info_dup(dns->mtasts)) == NULL)
			dst->nomem_dropped++;
		append_dns_lists(dst, dns);
		copy_findings(dst, conn, mask);
		copy_transcript(dst, conn, conn->transcript_session,
		    first_mail(conn));
	} else {
		copy_findings(dst, conn, mask);
		copy_transcript(dst, conn, 0, first_mail(conn));
	}
}

struct rec_reply *
result_copy_reply(struct probe_result *r, enum stage st,
    const struct rec_reply *rr)
{
	struct reply *rp;

	if (rr->reply == NULL)
		return NULL;
	if ((rp = reply_dup(rr->reply)) == NULL) {
		result_nomem(r);
		return NULL;
	}
	return add_reply_as(r, st, rr, rp);
}

/* One transcript entry at t_ms. */
static void
transcript_at(struct probe_result *r, char dir, const char *text, size_t len,
    double t_ms)
{
	size_t n = r->ntranscript;

	result_transcript(r, dir, text, len);
	if (r->ntranscript > n)
		r->transcript[n].t_ms = t_ms;
}

void
result_transcript_rec(struct probe_result *r, const struct rec_reply *rr,
    double t0)
{
	const struct reply *rp = rr->reply;
	char line[LIMIT_TRANSCRIPT_ENTRY];
	double sent = rr->sent_ms > 0 ? rr->sent_ms - t0 : 0;
	size_t i;
	int n;

	if (rr->command[0] != '\0')
		transcript_at(r, 's', rr->command, strlen(rr->command), sent);
	for (i = 0; rp != NULL && i < rp->nlines; i++) {
		n = snprintf(line, sizeof(line), "%d%c%.*s", rp->code,
		    i + 1 < rp->nlines ? '-' : ' ', (int)rp->lines[i].len,
		    rp->lines[i].text);
		if (n > 0)
			transcript_at(r, 'r', line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1, sent +
			    rr->elapsed_ms);
	}
}

const char *
dane_state_name(enum dane_state d)
{
	static const char *const names[] = {
		"not_looked_up", "lookup_failed", "no_tlsa", "unauthenticated",
		"unusable", "usable", "match", "mismatch"
	};

	return NAME_OF(names, d, "unknown");
}
