/*
 * batchserver.c — the batch's server table and politeness rules
 * (docs/BATCH.md "Politeness").
 *
 * Owns one entry (struct slot) per server address: the connections open
 * to it and the waits for leave to open one, how many it may have at
 * once and the pause between them (both adapted to what the server
 * shows), its back-off after a refusal, whether it stalled, how many
 * recipients it takes per transaction, its TLS session for resumption,
 * and the domains whose addresses wait to be asked on it.  Also the
 * global --rate bucket.  The engine asks leave through ctx->hooks
 * (probe.h) before every connection and hands it back with the outcome;
 * batchjob.c reports each finished connection with slot_after_job().
 *
 * The adaptive rule, per server address: start with one connection at a
 * time and a pause of BATCH_PAUSE_START_MS (or --delay when longer)
 * between the end of one and the start of the next.  A connection that
 * went well (every answer came, quickly, no refusal of the client)
 * shortens the pause by a step, down to --delay, and after
 * BATCH_GOOD_STREAK of them in a row one more connection at once is
 * allowed, up to --per-server.  A 421 or another temporary
 * refusal at the greeting, a rate-limit reply (4.7.x "too many ..."), a
 * refused connection or a tarpit (a reply much slower than the server's
 * usual) halves the connections at once and doubles the pause (at least
 * BATCH_SLOW_PAUSE_MS); a 421 or a refused greeting also starts a
 * back-off that doubles on each such answer in a row.  Each slow-down is
 * noted, with its reason and time, for the summary.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "batchint.h"
#include "codes.h"
#include "identity.h"

/* ---- the table ---------------------------------------------------------- */

static void slot_kick(struct slot *s);

static void
slot_timer(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;
	struct waiter *w;
	double ready = s->free_at > s->backoff_until ? s->free_at :
	    s->backoff_until;

	(void)fd;
	(void)what;
	if ((w = s->wq_head) == NULL)
		return;
	if (w->job == NULL && s->active >= s->limit)
		return;	/* another's fallback: waits for a free place */
	if (monotonic_ms() + 1 < ready) {
		slot_kick(s);
		return;
	}
	s->wq_head = w->next;
	if (s->wq_head == NULL)
		s->wq_tail = NULL;
	w->next = NULL;
	w->granted = true;
	s->waiting--;
	s->active++;
	w->go(w->go_arg);
}

/* Arm the slot's timer for its first waiter, if it may go. */
static void
slot_kick(struct slot *s)
{
	double ready, wait;
	struct timeval tv;

	if (s->wq_head == NULL)
		return;
	if (s->wq_head->job == NULL && s->active >= s->limit)
		return;
	ready = s->free_at > s->backoff_until ? s->free_at : s->backoff_until;
	wait = ready - monotonic_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec * 1000) * 1000);
	evtimer_add(s->timer, &tv);
}

/* Nothing to remember: no work, no wait, no back-off, no stall. */
static bool
slot_idle(const struct slot *s, double now)
{
	return s->active == 0 && s->waiting == 0 && s->njobs == 0 &&
	    !s->stalled &&
	    TAILQ_EMPTY(&s->ready) && now >= s->free_at &&
	    now >= s->backoff_until && s->slowed == 0;
}

static void
slot_free(struct slot *s)
{
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->tls != NULL)
		SSL_SESSION_free(s->tls);
	free(s);
}

/* Forget servers with nothing to remember. */
static void
slots_sweep(struct batch *b)
{
	double now = monotonic_ms();
	struct slot **pp, *s;
	size_t i;

	for (i = 0; i < BATCH_HASH; i++)
		for (pp = &b->shash[i]; (s = *pp) != NULL;) {
			if (slot_idle(s, now)) {
				*pp = s->hnext;
				slot_free(s);
				b->nslots--;
			} else
				pp = &s->hnext;
		}
}

struct slot *
slot_get(struct batch *b, const char *ip, bool create)
{
	size_t h = batch_hash64(ip) % BATCH_HASH;
	struct slot *s;

	for (s = b->shash[h]; s != NULL; s = s->hnext)
		if (strcmp(s->ip, ip) == 0)
			return s;
	if (!create)
		return NULL;
	if (b->nslots >= BATCH_SERVERS_MAX)
		slots_sweep(b);
	if (b->nslots >= BATCH_SERVERS_MAX || (s = calloc(1, sizeof(*s))) ==
	    NULL)
		return NULL;
	if ((s->timer = evtimer_new(b->ctx->base, slot_timer, s)) == NULL) {
		free(s);
		return NULL;
	}
	s->b = b;
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->limit = 1;
	s->pause_ms = b->opt->delay_ms > BATCH_PAUSE_START_MS ?
	    b->opt->delay_ms : BATCH_PAUSE_START_MS;
	TAILQ_INIT(&s->ready);
	s->hnext = b->shash[h];
	b->shash[h] = s;
	b->nslots++;
	return s;
}

void
slots_free(struct batch *b)
{
	struct slot *s;
	size_t i;

	for (i = 0; i < BATCH_HASH; i++)
		while ((s = b->shash[i]) != NULL) {
			b->shash[i] = s->hnext;
			slot_free(s);
		}
	b->nslots = 0;
}

/*
 * May a connection of a group start on s now?  When not only because of
 * its pause or back-off, *when is the time it may.
 */
bool
slot_can_start(const struct slot *s, double now, double *when)
{
	double ready = s->free_at > s->backoff_until ? s->free_at :
	    s->backoff_until;

	*when = 0;
	if (s->stalled || s->active + s->waiting + s->pending >= s->limit)
		return false;
	if (now + 1 < ready) {
		*when = ready;
		return false;
	}
	return true;
}

/* ---- the adaptive rule -------------------------------------------------- */

/* The time of day now, "14:02:11", for the notes of the summary. */
static void
clock_text(char *at, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(at, len, "%H:%M:%S", &tm) == 0)
		snprintf(at, len, "?");
}

/* Slow down: fewer connections at once, a longer pause; note why. */
static void
slow_down(struct slot *s, const char *why)
{
	const struct batch_options *o = s->b->opt;
	char at[16];

	s->good = 0;
	s->limit = s->limit > 1 ? s->limit / 2 : 1;
	s->pause_ms *= 2;
	if (s->pause_ms < BATCH_SLOW_PAUSE_MS)
		s->pause_ms = BATCH_SLOW_PAUSE_MS;
	if (s->pause_ms > BATCH_PAUSE_MAX_MS)
		s->pause_ms = BATCH_PAUSE_MAX_MS > o->delay_ms ?
		    BATCH_PAUSE_MAX_MS : o->delay_ms;
	s->slowed++;
	clock_text(at, sizeof(at));
	snprintf(s->why, sizeof(s->why), "slowed down after %s at %s", why,
	    at);
}

/* A connection that went well: a shorter pause; after a streak, one
 * more connection at once. */
static void
speed_up(struct slot *s)
{
	const struct batch_options *o = s->b->opt;

	s->pause_ms -= BATCH_PAUSE_STEP_MS;
	if (s->pause_ms < o->delay_ms)
		s->pause_ms = o->delay_ms;
	if (++s->good >= BATCH_GOOD_STREAK && s->limit < o->per_server) {
		s->limit++;
		s->good = 0;
	}
}

/* A 421 or a temporary refusal of the session: leave the server alone
 * for a back-off that doubles on each one in a row. */
static void
back_off(struct slot *s, double now)
{
	const struct batch_options *o = s->b->opt;
	double wait = (double)o->backoff_ms;
	int i;

	for (i = 0; i < s->level && wait < o->backoff_max_ms; i++)
		wait *= 2;
	if (wait > o->backoff_max_ms)
		wait = o->backoff_max_ms;
	s->level++;
	s->backoff_until = now + wait;
}

/* A reply to MAIL or RCPT that says the client goes too fast (a rate or
 * volume limit, RFC 3463 X.7.x with such a text, "too many ..."). */
static bool
rate_reply(const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;
	struct codes_diagnosis d;
	char text[512];

	if (rp == NULL || rp->code / 100 == 2)
		return false;
	codes_classify(rr->cmd, rp->code, rp->esc_class, rp->esc_subject,
	    rp->esc_detail, reply_text_join_noesc(rp, text, sizeof(text)), &d);
	return d.category == CODES_CAT_RATE_LIMITED;
}

/* Why the connection j made to its group's server was not a good one,
 * NULL when it was. */
static const char *
job_trouble(const struct job *j, double *mean)
{
	const struct plan *p = &j->plan;
	const struct slot *s = j->slot;
	size_t i, k;

	*mean = p->nreplies > 0 ? p->reply_ms / p->nreplies : 0;
	if (p->stopped == PLAN_STOP_SLOW)
		return "slow replies (a tarpit)";
	if (p->nreplies > 0 && s->lat_ms > 0 && *mean > BATCH_SLOW_MIN_MS &&
	    *mean > BATCH_SLOW_FACTOR * s->lat_ms)
		return "slow replies (a tarpit)";
	for (i = 0; i < j->ntxns; i++) {
		if (rate_reply(&j->txns[i].mail))
			return "a rate-limit reply";
		for (k = 0; k < j->txns[i].nrcpts; k++)
			if (rate_reply(&j->txns[i].rcpts[k].reply))
				return "a rate-limit reply";
	}
	return NULL;
}

/* Did the session see the server's replies out of step? */
static bool
out_of_step(const struct probe_result *res)
{
	size_t i;

	for (i = 0; i < res->nfindings; i++)
		if (res->findings[i].id == FINDING_SESSION_UNSOLICITED_REPLY)
			return true;
	return false;
}

/*
 * A connection of a group is over and its records are read: adapt the
 * group's server to what it showed (the session-level refusals were
 * seen by hook_release already).
 */
void
slot_after_job(struct batch *b, struct job *j)
{
	struct slot *s = j->slot;
	const char *why;
	double mean;

	(void)b;
	/* Only what its own server answered (not a fallback's). */
	if (s == NULL || j->plan.nreplies == 0 || j->group_turned ||
	    strcmp(j->res->server_ip, s->ip) != 0)
		return;
	if (out_of_step(j->res))
		/* Its replies got out of step with the commands: from now
		 * on they come one by one, where a stray one shows. */
		s->one_by_one = true;
	if ((why = job_trouble(j, &mean)) != NULL) {
		/* A group would wait for every one of its slow answers. */
		s->one_by_one = true;
		slow_down(s, why);
		return;
	}
	/* The server's usual reply time: a moving average of good
	 * connections, the yardstick of a tarpit. */
	s->lat_ms = s->lat_ms == 0 ? mean : 0.8 * s->lat_ms + 0.2 * mean;
	speed_up(s);
}

/* ---- the hooks ------------------------------------------------------------ */

static struct job *
job_of(struct batch *b, void *go_arg)
{
	struct job *j;

	TAILQ_FOREACH(j, &b->jobs, link)
		if ((void *)j->run == go_arg)
			return j;
	return b->starting;
}

static void *
hook_acquire(void *arg, const char *server, void (*go)(void *),
    void *go_arg)
{
	struct batch *b = arg;
	struct slot *s;
	struct waiter *w;
	struct job *j;

	/* Without a slot (no memory): the connection goes ahead. */
	if ((s = slot_get(b, server, true)) == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->slot = s;
	w->go = go;
	w->go_arg = go_arg;
	/* The group's own connection was counted when its job started;
	 * a fallback of another domain waits for a free place. */
	if ((j = job_of(b, go_arg)) != NULL && j->slot == s) {
		w->job = j;
		if (!j->asked) {
			j->asked = true;
			s->pending--;
		}
	}
	if (s->wq_tail != NULL)
		s->wq_tail->next = w;
	else
		s->wq_head = w;
	s->wq_tail = w;
	s->waiting++;
	slot_kick(s);
	return w;
}

/* A reply code anywhere in a stage of the last session. */
static bool
stage_has_code(const struct probe_result *res, enum stage st, int code)
{
	const struct stage_rec *sr = &res->stages[st];
	size_t i;

	for (i = 0; i < sr->nreplies; i++)
		if (sr->replies[i].reply != NULL &&
		    sr->replies[i].reply->code == code)
			return true;
	return false;
}

/* The server turned us away for now at the session level: a 4xx
 * greeting or EHLO (session.c's "greeting temporary"), or a 421 — the
 * "closing transmission channel" code of rate limits — anywhere. */
bool
turned_away(const struct probe_result *res, enum session_outcome o)
{
	int st;

	if (o == OUTCOME_GREETING_TEMPORARY)
		return true;
	for (st = STAGE_GREETING; st < STAGE_COUNT; st++)
		if (stage_has_code(res, (enum stage)st, 421))
			return true;
	return false;
}

static void
hook_release(void *arg, void *token, enum session_outcome o,
    const struct probe_result *res, unsigned flags)
{
	struct batch *b = arg;
	struct waiter *w = token;
	struct slot *s = w->slot;
	double now = monotonic_ms();

	s->active--;
	s->free_at = now + s->pause_ms;
	if (res->server_host[0] != '\0')
		snprintf(s->host, sizeof(s->host), "%s", res->server_host);
	if (o != OUTCOME_CONNECT_FAILED && o != OUTCOME_CONNECT_TIMEOUT &&
	    o != OUTCOME_LOCAL_ERROR && o != OUTCOME_PROXY_FAILED) {
		b->st->connections++;
		s->conns++;
	}
	if (flags & PROBE_CONN_STALLED)
		s->stalled = true;	/* for the rest of the run */
	if (turned_away(res, o) || (flags & PROBE_CONN_CLOSING)) {
		if (w->job != NULL)
			w->job->group_turned = true;
		slow_down(s, stage_has_code(res, STAGE_GREETING, 421) ||
		    (flags & PROBE_CONN_CLOSING) || stage_has_code(res,
		    STAGE_MAIL, 421) ? "421" : "a temporary refusal");
		back_off(s, now);
	} else if (o == OUTCOME_CONNECT_FAILED)
		slow_down(s, "a refused connection");
	else if (o == OUTCOME_ANSWERED)
		s->level = 0;
	free(w);
	slot_kick(s);
	batch_pump_soon(b);
}

/* A server address that timed out earlier in the run is not tried. */
static bool
hook_skip(void *arg, const char *server)
{
	struct batch *b = arg;
	struct slot *s = slot_get(b, server, false);

	return s != NULL && s->stalled;
}

static void
hook_cancel(void *arg, void *token)
{
	struct batch *b = arg;
	struct waiter *w = token, **pp;
	struct slot *s = w->slot;

	if (w->granted) {
		s->active--;
		s->free_at = monotonic_ms() + s->pause_ms;
	} else {
		for (pp = &s->wq_head; *pp != NULL; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		s->wq_tail = NULL;
		for (struct waiter *x = s->wq_head; x != NULL; x = x->next)
			s->wq_tail = x;
		s->waiting--;
	}
	free(w);
	slot_kick(s);
	batch_pump_soon(b);
}

/* TLS resumption: the last resumable session of a server address. */
static SSL_SESSION *
hook_tls_get(void *arg, const char *server)
{
	struct slot *s = slot_get(arg, server, false);

	return s != NULL ? s->tls : NULL;
}

static void
hook_tls_put(void *arg, const char *server, SSL_SESSION *sess)
{
	struct slot *s;

	if ((s = slot_get(arg, server, true)) == NULL) {
		SSL_SESSION_free(sess);
		return;
	}
	if (s->tls != NULL)
		SSL_SESSION_free(s->tls);
	s->tls = sess;
}

void
slots_install_hooks(struct batch *b)
{
	b->ctx->hooks.conn_acquire = hook_acquire;
	b->ctx->hooks.conn_release = hook_release;
	b->ctx->hooks.conn_cancel = hook_cancel;
	b->ctx->hooks.conn_skip = hook_skip;
	b->ctx->hooks.tls_get = hook_tls_get;
	b->ctx->hooks.tls_put = hook_tls_put;
	b->ctx->hooks.arg = b;
}

/* ---- --rate --------------------------------------------------------------- */

/*
 * Take up to want recipients' worth of the global rate (a bucket of one
 * second's worth, refilled continuously); *got is what may be asked now.
 * Returns 0, or when nothing may: the time one more may.
 */
double
rate_take(struct batch *b, double now, size_t want, size_t *got)
{
	double rate = b->opt->rate;

	if (rate <= 0) {
		*got = want;
		return 0;
	}
	b->tokens += (now - b->tokens_at) * rate / 1000;
	if (b->tokens > (rate > 1 ? rate : 1))
		b->tokens = rate > 1 ? rate : 1;
	b->tokens_at = now;
	if (b->tokens < 1) {
		*got = 0;
		return now + (1 - b->tokens) * 1000 / rate;
	}
	*got = (double)want < b->tokens ? want : (size_t)b->tokens;
	b->tokens -= (double)*got;
	return 0;
}

/* 0 when the --rate bucket holds one recipient's worth, else when it
 * will. */
double
rate_ready(struct batch *b, double now)
{
	size_t got;
	double when = rate_take(b, now, 1, &got);

	rate_put(b, got);
	return when;
}

/* Recipients taken and not asked after all. */
void
rate_put(struct batch *b, size_t n)
{
	if (b->opt->rate > 0)
		b->tokens += (double)n;
}

/* ---- the network: port 25 blocked, connections intercepted ------------- */

static bool
blocked_seen(const struct batch *b, const char *server)
{
	size_t i;

	for (i = 0; i < b->nblocked; i++)
		if (strcmp(b->blocked[i], server) == 0)
			return true;
	return false;
}

/* The server of attempt a, as the politeness table names it. */
static const char *
attempt_server(const struct attempt *a)
{
	return a->ip[0] != '\0' ? a->ip : a->host;
}

/* A connection was made: the server (or through a proxy, the tunnel)
 * was reached, whatever happened next. */
static bool
attempt_connected(const struct attempt *a)
{
	static const char *const none[] = {
		"connect_failed", "connect_timeout", "skipped_stalled",
		"proxy_failed"
	};
	size_t i;

	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (strcmp(a->outcome, none[i]) == 0)
			return false;
	return true;
}

/*
 * Port 25 blocked (diag_connect_all_failed): count res's domain when
 * none of its servers counted for an earlier one (domains that share
 * servers prove nothing more).  Once BATCH_BLOCKED_DOMAINS of them are
 * in and the run never connected anywhere, start no more probes unless
 * --keep-going: the rest of the list would time out the same way.
 */
static void
note_blocked(struct batch *b, const struct probe_result *res)
{
	struct batch_stats *st = b->st;
	struct batch_notice note;
	char text[512];
	size_t i, n;

	if (!diag_connect_all_failed(res, &n)) {
		for (i = 0; i < res->nattempts; i++)
			if (attempt_connected(&res->attempts[i]))
				st->connected = true;
		return;
	}
	for (i = 0; i < res->nattempts; i++)
		if (blocked_seen(b, attempt_server(&res->attempts[i])))
			return;
	for (i = 0; i < res->nattempts && b->blocked != NULL &&
	    b->nblocked < BATCH_BLOCKED_SERVERS; i++)
		snprintf(b->blocked[b->nblocked++], sizeof(b->blocked[0]), "%s",
		    attempt_server(&res->attempts[i]));
	st->blocked_domains++;
	st->blocked_servers += n;
	st->blocked_port = res->attempts[0].port;
	st->blocked_proxy = res->proxy != NULL;
	if (st->blocked_domains != BATCH_BLOCKED_DOMAINS || st->connected ||
	    b->opt->keep_going || b->stopping)
		return;
	diag_port_blocked_text(text, sizeof(text), st->blocked_port,
	    st->blocked_proxy, st->blocked_servers, st->blocked_domains);
	b->stopping = st->blocked_stop = true;
	memset(&note, 0, sizeof(note));
	note.text = text;
	batch_notify(b, BATCH_EVENT_BLOCKED, &note);
}

/* Interception across domains: res's greeters against those of the
 * domains before it; then they join the table. */
static void
note_greeters(struct batch *b, struct probe_result *res)
{
	struct greeter g[4];
	size_t n = diag_greeters(res, g, 4), i, j;
	bool flagged = false;

	if (b->greeters == NULL)
		return;
	for (i = 0; i < n && !flagged; i++)
		for (j = 0; j < b->ngreeters && !flagged; j++) {
			if (identity_name_eq(b->greeters[j].domain,
			    g[i].domain) ||
			    !diag_intercepted_pair(&b->greeters[j], &g[i]))
				continue;
			diag_intercepted(res, &b->greeters[j], &g[i], true);
			if (b->st->intercepted++ == 0)
				diag_intercepted_text(b->st->intercept_text,
				    sizeof(b->st->intercept_text),
				    &b->greeters[j], &g[i]);
			flagged = true;
		}
	for (i = 0; i < n && b->ngreeters < BATCH_GREETERS_MAX; i++) {
		for (j = 0; j < b->ngreeters; j++)
			if (strcmp(b->greeters[j].ip, g[i].ip) == 0)
				break;
		if (j == b->ngreeters)
			b->greeters[b->ngreeters++] = g[i];
	}
}

/*
 * The answer of one address, for the server that gave it: a permanent
 * refusal of this host (reason client_rejected and a 5xx) counts, an
 * address answered (deliverable or undeliverable) starts the count
 * again.  At BATCH_CLIENT_REFUSALS in a row the server is not asked
 * again in this run (batch_settle_refused()).
 */
void
batch_note_answer(struct batch *b, const struct probe_result *res)
{
	const char *key = res->server_ip[0] != '\0' ? res->server_ip :
	    res->server_host;
	const struct stage_rec *sr = &res->stages[res->outcome_stage];
	const struct rec_reply *rr = sr->nreplies > 0 ?
	    &sr->replies[sr->nreplies - 1] : NULL;
	char at[16], text[256];
	struct slot *s;

	if (key[0] == '\0' || (s = slot_get(b, key, false)) == NULL ||
	    s->refuses)
		return;
	if (res->verdict == VERDICT_DELIVERABLE ||
	    res->verdict == VERDICT_UNDELIVERABLE) {
		s->refusals = 0;
		return;
	}
	if (res->reason != REASON_CLIENT_REJECTED || rr == NULL ||
	    rr->reply == NULL || rr->reply->code / 100 != 5 ||
	    rr->reply->incomplete || rr->untrusted)
		return;
	if (s->refusals++ == 0) {
		clock_text(at, sizeof(at));
		reply_text_join(rr->reply, text, sizeof(text));
		snprintf(s->refusal, sizeof(s->refusal), "%s %d %s (to %s, "
		    "at %s)", rr->cmd == CODES_CMD_MAIL ? "MAIL" : rr->cmd ==
		    CODES_CMD_RCPT ? "RCPT" : stage_name(res->outcome_stage),
		    rr->reply->code, text, res->input, at);
	}
	if (s->refusals >= BATCH_CLIENT_REFUSALS) {
		s->refuses = true;
		if (b->st->servers_refusing++ == 0)
			snprintf(b->st->refusal_note,
			    sizeof(b->st->refusal_note), "%s%s%s: %s",
			    s->host, s->host[0] != '\0' ? " " : "", s->ip,
			    s->refusal);
	}
}

/* What the connection res tells about the network (before the
 * addresses' results are made from it). */
void
batch_note_network(struct batch *b, struct probe_result *res)
{
	note_greeters(b, res);
	note_blocked(b, res);
}

/* ---- the summary ---------------------------------------------------------- */

/* The servers that slowed down, for the summary (the first few). */
void
batch_server_summary(struct batch *b)
{
	struct batch_stats *st = b->st;
	struct slot *s;
	size_t i;

	for (i = 0; i < BATCH_HASH; i++)
		for (s = b->shash[i]; s != NULL; s = s->hnext) {
			if (s->slowed == 0)
				continue;
			st->servers_slowed++;
			if (st->nslow_notes >= BATCH_SLOW_NOTES)
				continue;
			snprintf(st->slow_notes[st->nslow_notes++],
			    sizeof(st->slow_notes[0]), "%s%s%s: %s (%u time%s; "
			    "now %d at once, %.2f s apart)", s->host,
			    s->host[0] ? " " : "", s->ip, s->why, s->slowed,
			    s->slowed == 1 ? "" : "s", s->limit,
			    s->pause_ms / 1000);
		}
}
