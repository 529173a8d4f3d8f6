/*
 * batch.c — the batch scheduler and its politeness rules (batch.h,
 * docs/BATCH.md).
 *
 * Owns: the addresses read ahead (the window, at most BATCH_WINDOW, with
 * the duplicates waiting for their first occurrence), the ones waiting
 * for a back-off to end (retry), the ones being probed (in flight, at
 * most `parallel`, each with its probe_result), and the server table
 * (one entry per server address: busy or not, when it may be used again,
 * its back-off).  The probes themselves are probe.c's; this file decides
 * when each may start and, through ctx->hooks, when each connection may
 * be opened.  Everything runs on the context's event loop.
 */
#include <sys/time.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "batchinput.h"
#include "diag.h"

struct item {
	struct item		*prev, *next;
	unsigned long		 index;
	unsigned long		 line;
	bool			 has_domain;
	uint64_t		 dhash;		/* of domain_ascii */
	char			*address;	/* as given (trimmed) */
	char			*key;		/* duplicate key; NULL if none */
	size_t			 keylen;
	int			 tries;
	double			 not_before;	/* retry: monotonic ms */
	unsigned long		 dup_index;	/* duplicate waiting for ... */
	unsigned long		 dup_line;
	struct probe_result	*res;		/* while in flight */
	struct batch		*b;
	bool			 groupable;	/* may share a transaction */
	char			*mailbox;	/* as a further recipient */
	/* As the first address of a transaction: the further ones (out of
	 * every list while in flight) and their records. */
	struct item		**fol;
	size_t			 nfol;
	/* What its connection asks: it, the further ones, and the
	 * catch-all control when the domain's answer is not known yet. */
	struct plan		 plan;
	struct plan_txn		 txn;
	struct plan_rcpt	*rcpts;
	bool			 ask_catch_all;
	int			 catch_all_known;	/* from an earlier connection */
	char			 control[LIMIT_ADDRESS * 4 + 8];
	bool			 grey_retried;	/* --greylist-retry used */
	char			*grey_first;	/* the first answer's summary */
};

/* What the run learned about a domain. */
struct dom {
	struct dom	*next;
	uint64_t	 dhash;
	int		 catch_all_code;	/* a definite answer; 0 unknown */
	int		 rcpt_cap;	/* recipients per transaction; 0 any */
};

struct list {
	struct item	*head, *tail;
	size_t		 n;
};

struct waiter;

struct slot {
	struct slot	*next;
	struct batch	*b;
	char		 ip[RESOLVER_NAME_MAX];	/* or a name the proxy resolves */
	bool		 busy;
	bool		 stalled;	/* timed out: not tried again this run */
	double		 free_at;	/* last connection's end + delay */
	double		 backoff_until;
	int		 level;		/* back-offs in a row */
	struct waiter	*wq_head, *wq_tail;
	struct event	*timer;
};

struct waiter {
	struct waiter	*next;
	struct slot	*slot;
	void		(*go)(void *);
	void		*go_arg;
	bool		 granted;
};

struct batch {
	struct probe_ctx		*ctx;
	const struct batch_options	*opt;
	batch_result_cb			 cb;
	void				*cb_arg;
	struct batch_stats		*st;

	char				**addrs;
	int				 naddrs;
	int				 next_arg;
	struct batch_reader		*reader;	/* NULL: no list */
	bool				 input_done;
	unsigned long			 next_index;

	struct list			 window;	/* not started */
	struct list			 dupwait;	/* duplicates of unfinished ones */
	struct list			 retry;		/* waiting for a back-off */
	struct list			 grey;		/* waiting to retry greylisting */
	struct list			 inflight;
	struct batch_seen		 seen;
	struct address			*scratch_addr;
	struct probe_result		*scratch;	/* invalid lines, duplicates */
	struct batch_line		 line;

	struct slot			*slots;
	size_t				 nslots;
	/* port 25 blocked, interception (note_network()) */
	char				 (*blocked)[RESOLVER_NAME_MAX];
	size_t				 nblocked;
	struct greeter			*greeters;
	size_t				 ngreeters;
	struct dom			*doms;
	size_t				 ndoms;

	struct event			*wake;
	struct event			*sigint, *sigterm, *grace;
	bool				 stopping;
	bool				 finished;
	double				 t0;
	double				 last_progress;
};

/* ---- lists ------------------------------------------------------------ */

static void
list_push(struct list *l, struct item *it)
{
	it->next = NULL;
	it->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
}

static void
list_remove(struct list *l, struct item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	it->prev = it->next = NULL;
	l->n--;
}

static void
item_free(struct item *it)
{
	if (it == NULL)
		return;
	if (it->res != NULL) {
		result_clear(it->res);
		free(it->res);
	}
	free(it->address);
	free(it->key);
	free(it->mailbox);
	free(it->grey_first);
	free(it->fol);
	plan_clear(&it->plan);
	free(it->rcpts);
	free(it);
}

void
batch_options_defaults(struct batch_options *o)
{
	memset(o, 0, sizeof(*o));
	o->parallel = BATCH_PARALLEL_DEFAULT;
	o->delay_ms = BATCH_DELAY_DEFAULT_MS;
	o->retries = BATCH_RETRIES_DEFAULT;
	o->backoff_ms = BATCH_BACKOFF_MS;
	o->backoff_max_ms = BATCH_BACKOFF_MAX_MS;
	o->rcpt_per_conn = BATCH_RCPT_DEFAULT;
}

static uint64_t
hash64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

/* ---- statistics ------------------------------------------------------- */

static void
count(struct batch *b, const struct probe_result *res)
{
	struct batch_stats *st = b->st;

	st->total++;
	if ((unsigned)res->verdict < 4)
		st->verdicts[res->verdict]++;
	if ((unsigned)res->reason < REASON_COUNT &&
	    st->reason_count[res->reason]++ == 0)
		st->reason_order[st->nreasons++] = (unsigned char)res->reason;
	st->exit_code = diag_exit_combine(st->exit_code, res->exit_code);
}

static void
progress(struct batch *b, bool last)
{
	const struct batch_stats *st = b->st;
	double now = monotonic_ms();
	bool tty = isatty(STDERR_FILENO);

	if (!b->opt->progress || (!last && now - b->last_progress < 1000))
		return;
	b->last_progress = now;
	fprintf(stderr, "%ssmtpprobe: %lu done (%lu deliverable, %lu "
	    "undeliverable, %lu risky, %lu unknown), %zu in flight, %zu "
	    "waiting, %.0f s%s", tty ? "\r" : "", st->total,
	    st->verdicts[VERDICT_DELIVERABLE],
	    st->verdicts[VERDICT_UNDELIVERABLE], st->verdicts[VERDICT_RISKY],
	    st->verdicts[VERDICT_UNKNOWN], b->inflight.n, b->window.n +
	    b->retry.n + b->dupwait.n + b->grey.n, (now - b->t0) / 1000,
	    tty && !last ?
	    "   " : "\n");
	fflush(stderr);
}

/* Hand one result to the caller. */
static void
emit(struct batch *b, const struct batch_item_info *info,
    struct probe_result *res)
{
	count(b, res);
	if (!b->cb(b->cb_arg, info, res))
		b->stopping = b->st->stopped = true;
	progress(b, false);
}

/* ---- the server table: one connection per server address ---------------- */

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
	if (s->busy || (w = s->wq_head) == NULL)
		return;
	if (monotonic_ms() + 1 < ready) {
		slot_kick(s);
		return;
	}
	s->wq_head = w->next;
	if (s->wq_head == NULL)
		s->wq_tail = NULL;
	w->next = NULL;
	w->granted = true;
	s->busy = true;
	w->go(w->go_arg);
}

/* Arm the slot's timer for its first waiter, if it has one and is free. */
static void
slot_kick(struct slot *s)
{
	double ready, wait;
	struct timeval tv;

	if (s->busy || s->wq_head == NULL)
		return;
	ready = s->free_at > s->backoff_until ? s->free_at : s->backoff_until;
	wait = ready - monotonic_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec * 1000) * 1000);
	evtimer_add(s->timer, &tv);
}

static bool
slot_idle(const struct slot *s, double now)
{
	return !s->busy && !s->stalled && s->wq_head == NULL &&
	    now >= s->free_at && now >= s->backoff_until;
}

static void
slot_free(struct slot *s)
{
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

/* Forget servers with nothing to remember; with force, also those in a
 * back-off (only when the table is full). */
static void
slots_sweep(struct batch *b, bool force)
{
	struct slot **pp = &b->slots, *s;
	double now = monotonic_ms();

	while ((s = *pp) != NULL) {
		if (slot_idle(s, now) || (force && !s->busy &&
		    s->wq_head == NULL)) {
			*pp = s->next;
			slot_free(s);
			b->nslots--;
		} else
			pp = &s->next;
	}
}

static struct slot *
slot_get(struct batch *b, const char *ip, bool create)
{
	struct slot *s;

	for (s = b->slots; s != NULL; s = s->next)
		if (strcmp(s->ip, ip) == 0)
			return s;
	if (!create)
		return NULL;
	if (b->nslots >= 256)
		slots_sweep(b, false);
	if (b->nslots >= BATCH_SERVERS_MAX)
		slots_sweep(b, true);
	if (b->nslots >= BATCH_SERVERS_MAX || (s = calloc(1, sizeof(*s))) ==
	    NULL)
		return NULL;
	if ((s->timer = evtimer_new(b->ctx->base, slot_timer, s)) == NULL) {
		free(s);
		return NULL;
	}
	s->b = b;
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->next = b->slots;
	b->slots = s;
	b->nslots++;
	return s;
}

static void *
hook_acquire(void *arg, const char *server, void (*go)(void *),
    void *go_arg)
{
	struct batch *b = arg;
	struct slot *s;
	struct waiter *w;

	/* Without a slot (no memory): the connection goes ahead. */
	if ((s = slot_get(b, server, true)) == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->slot = s;
	w->go = go;
	w->go_arg = go_arg;
	if (s->wq_tail != NULL)
		s->wq_tail->next = w;
	else
		s->wq_head = w;
	s->wq_tail = w;
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
static bool
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
	double wait;

	s->busy = false;
	s->free_at = now + b->opt->delay_ms;
	if (o != OUTCOME_CONNECT_FAILED && o != OUTCOME_CONNECT_TIMEOUT &&
	    o != OUTCOME_LOCAL_ERROR && o != OUTCOME_PROXY_FAILED)
		b->st->connections++;
	if (flags & PROBE_CONN_STALLED)
		s->stalled = true;	/* for the rest of the run */
	if (turned_away(res, o) || (flags & PROBE_CONN_CLOSING)) {
		wait = (double)b->opt->backoff_ms;
		for (int i = 0; i < s->level && wait < b->opt->backoff_max_ms;
		    i++)
			wait *= 2;
		if (wait > b->opt->backoff_max_ms)
			wait = b->opt->backoff_max_ms;
		s->level++;
		s->backoff_until = now + wait;
	} else if (o == OUTCOME_ANSWERED)
		s->level = 0;
	free(w);
	slot_kick(s);
}

/* A server address that timed out earlier in the run is not tried. */
static bool
hook_skip(void *arg, const char *server)
{
	struct batch *b = arg;
	struct slot *s;

	s = slot_get(b, server, false);
	return s != NULL && s->stalled;
}

static void
hook_cancel(void *arg, void *token)
{
	struct waiter *w = token, **pp;
	struct slot *s = w->slot;

	(void)arg;
	if (w->granted) {
		s->busy = false;
		s->free_at = monotonic_ms() + s->b->opt->delay_ms;
	} else {
		for (pp = &s->wq_head; *pp != NULL; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		s->wq_tail = NULL;
		for (struct waiter *x = s->wq_head; x != NULL; x = x->next)
			s->wq_tail = x;
	}
	free(w);
	slot_kick(s);
}

/* ---- results that need no probe ---------------------------------------- */

/* A line that is not an address at all (NUL, bare CR, too long). */
static void
emit_invalid_line(struct batch *b, const struct batch_line *l)
{
	struct probe_result *res = b->scratch;
	struct batch_item_info info;

	memset(&info, 0, sizeof(info));
	info.index = b->next_index++;
	info.line = l->lineno;
	info.invalid_line = true;
	result_init(res, "");
	result_set_input(res, l->text, l->len);
	if (l->len > 254)
		res->input_cut = true;
	res->addr_error = strstr(l->why, "bytes long") != NULL ?
	    ADDRESS_TOO_LONG : ADDRESS_CONTROL;
	snprintf(res->addr_why, sizeof(res->addr_why), "%s", l->why);
	result_finding(res, res->addr_error == ADDRESS_CONTROL ?
	    FINDING_ADDRESS_CONTROL_CHARACTER : FINDING_ADDRESS_INVALID,
	    STAGE_ADDRESS, NULL, "%s", l->why);
	res->stages[STAGE_ADDRESS].status = STATUS_FAIL;
	diag_finish(res, 0);
	b->st->invalid_lines++;
	emit(b, &info, res);
	result_clear(res);
}

/* A duplicate whose first occurrence is finished. */
static void
emit_duplicate(struct batch *b, struct item *it,
    const struct batch_seen_entry *e)
{
	struct probe_result *res = b->scratch;
	struct batch_item_info info;
	enum reason reason = (enum reason)e->reason;

	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.duplicate = true;
	info.dup_index = it->dup_index;
	info.dup_line = it->dup_line;
	result_init(res, it->address);
	res->addr_error = address_parse(it->address, &res->addr,
	    res->addr_why, sizeof(res->addr_why));
	res->stages[STAGE_ADDRESS].status = STATUS_OK;
	res->verdict = (enum verdict)e->verdict;
	res->reason = reason;
	res->exit_code = e->exit_code;
	if (it->dup_line > 0)
		snprintf(res->summary, sizeof(res->summary), "A duplicate of "
		    "line %lu, which was probed once: %s (%s).", it->dup_line,
		    verdict_name(res->verdict), reason_name(reason));
	else
		snprintf(res->summary, sizeof(res->summary), "A duplicate of "
		    "entry %lu, which was probed once: %s (%s).", it->dup_index,
		    verdict_name(res->verdict), reason_name(reason));
	b->st->duplicates++;
	emit(b, &info, res);
	result_clear(res);
}

/* ---- reading ahead ---------------------------------------------------- */

/* The next entry of the input: 1 with *text, *line set; 0 at the end. */
static int
next_entry(struct batch *b, const char **text, unsigned long *line)
{
	for (;;) {
		if (b->next_arg < b->naddrs) {
			*text = b->addrs[b->next_arg++];
			*line = 0;
			return 1;
		}
		if (b->reader == NULL ||
		    batch_reader_next(b->reader, &b->line) != 1) {
			if (b->reader != NULL)
				b->st->read_error = b->reader->error;
			return 0;
		}
		b->st->lines = b->line.lineno;
		if (b->line.kind == BATCH_LINE_SKIP)
			continue;
		if (b->line.kind == BATCH_LINE_INVALID) {
			emit_invalid_line(b, &b->line);
			if (b->stopping)
				return 0;
			continue;
		}
		*text = b->line.text;
		*line = b->line.lineno;
		return 1;
	}
}

static void
refill(struct batch *b)
{
	const char *text;
	unsigned long line;
	char key[LIMIT_ADDRESS * 8 + 16], why[256];
	struct batch_seen_entry *e;
	struct item *it;
	bool dup;
	size_t n;

	while (!b->input_done && !b->stopping &&
	    b->window.n + b->dupwait.n < BATCH_WINDOW) {
		if (next_entry(b, &text, &line) != 1) {
			b->input_done = true;
			break;
		}
		if ((it = calloc(1, sizeof(*it))) == NULL ||
		    (it->address = strdup(text)) == NULL) {
			free(it);
			b->st->exit_code = EXIT_LOCAL_ERROR;
			b->stopping = true;
			break;
		}
		it->b = b;
		it->index = b->next_index++;
		it->line = line;
		if (address_parse(text, b->scratch_addr, why, sizeof(why)) ==
		    ADDRESS_OK) {
			struct address *a = b->scratch_addr;

			it->has_domain = true;
			it->dhash = hash64(a->domain_ascii);
			it->groupable = !a->local_utf8 && !a->literal;
			n = batch_dup_key(a->local, a->domain_ascii, key,
			    sizeof(key));
			if (n > 0 && (it->key = strdup(key)) != NULL)
				it->keylen = n;
		}
		if (it->key != NULL) {
			e = batch_seen_put(&b->seen, it->key, it->keylen,
			    (uint32_t)it->index, (uint32_t)it->line, &dup);
			if (e == NULL && b->seen.full)
				b->st->dup_table_full = true;
			if (e != NULL && dup) {
				it->dup_index = e->index;
				it->dup_line = e->line;
				if (e->state == 1) {
					emit_duplicate(b, it, e);
					item_free(it);
				} else
					list_push(&b->dupwait, it);
				continue;
			}
		}
		list_push(&b->window, it);
	}
}

/* ---- scheduling ------------------------------------------------------- */

static bool
domain_in(const struct list *l, const struct item *it)
{
	const struct item *x;

	if (!it->has_domain)
		return false;
	for (x = l->head; x != NULL; x = x->next)
		if (x->has_domain && x->dhash == it->dhash)
			return true;
	return false;
}

/* The domain's entry (created when asked; the oldest is forgotten when
 * the table is full); NULL without memory. */
static struct dom *
dom_get(struct batch *b, uint64_t dhash, bool create)
{
	struct dom *d, **pp;

	for (d = b->doms; d != NULL; d = d->next)
		if (d->dhash == dhash)
			return d;
	if (!create)
		return NULL;
	if (b->ndoms >= BATCH_DOMAINS_MAX) {
		for (pp = &b->doms; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		free(*pp);
		*pp = NULL;
		b->ndoms--;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->dhash = dhash;
	d->next = b->doms;
	b->doms = d;
	b->ndoms++;
	return d;
}

/* The next address that may start now: a retry whose back-off is over,
 * a greylisted one whose wait is over, else the first waiting one whose
 * domain is not being probed. */
static struct item *
pick(struct batch *b, double now)
{
	struct item *it;

	for (it = b->retry.head; it != NULL; it = it->next)
		if (it->not_before <= now && !domain_in(&b->inflight, it)) {
			list_remove(&b->retry, it);
			return it;
		}
	for (it = b->grey.head; it != NULL; it = it->next)
		if (it->not_before <= now && !domain_in(&b->inflight, it)) {
			list_remove(&b->grey, it);
			return it;
		}
	for (it = b->window.head; it != NULL; it = it->next)
		if (!domain_in(&b->inflight, it) && !domain_in(&b->retry, it)) {
			list_remove(&b->window, it);
			return it;
		}
	return NULL;
}

static void probe_done(void *arg, struct probe_result *res);
static void pump(struct batch *b);

/* --greylist-retry: keep a greylisted address for one more try after
 * the delay, instead of reporting it now. */
static bool
grey_park(struct batch *b, struct item *it)
{
	if (b->opt->greylist_ms <= 0 || it->grey_retried || b->stopping ||
	    it->res->reason != REASON_GREYLISTED)
		return false;
	if (b->grey.n >= BATCH_GREYLIST_WAITING) {
		b->st->grey_not_retried++;
		return false;
	}
	free(it->grey_first);
	it->grey_first = strdup(it->res->summary);
	it->grey_retried = true;
	it->not_before = monotonic_ms() + b->opt->greylist_ms;
	result_clear(it->res);
	free(it->res);
	it->res = NULL;
	b->st->grey_retried++;
	list_push(&b->grey, it);
	return true;
}

/* The result of an address that was not (or not fully) probed. */
static void
emit_unfinished(struct batch *b, struct item *it, enum reason reason,
    const char *summary)
{
	struct probe_result *res = b->scratch;
	struct batch_item_info info;

	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.tries = it->tries;
	result_init(res, it->address);
	res->addr_error = address_parse(it->address, &res->addr,
	    res->addr_why, sizeof(res->addr_why));
	res->stages[STAGE_ADDRESS].status = res->addr_error == ADDRESS_OK ?
	    STATUS_OK : STATUS_FAIL;
	res->verdict = VERDICT_UNKNOWN;
	res->reason = reason;
	snprintf(res->summary, sizeof(res->summary), "%s", summary);
	res->exit_code = EXIT_UNKNOWN;
	emit(b, &info, res);
	result_clear(res);
}

/* Interrupted while waiting for its second try after greylisting. */
static void
emit_grey_cancelled(struct batch *b, struct item *it)
{
	char sum[600];

	snprintf(sum, sizeof(sum), "%s The second try after greylisting "
	    "was cancelled by the interruption.", it->grey_first != NULL ?
	    it->grey_first : "The server greylisted the probe.");
	emit_unfinished(b, it, REASON_GREYLISTED, sum);
}

/* A finished address: remember its verdict for its duplicates, report
 * it, then report the duplicates that waited for it. */
static void
finish_item(struct batch *b, struct item *it)
{
	struct batch_item_info info;
	struct batch_seen_entry *e = NULL;
	struct item *d, *dn;

	if (grey_park(b, it))
		return;
	if (it->grey_retried) {
		result_finding(it->res, FINDING_BATCH_GREYLIST_RETRIED,
		    STAGE_RCPT, it->grey_first, "the first try was greylisted; "
		    "this is the answer to the second try, %.0f s later",
		    b->opt->greylist_ms / 1000.0);
		if ((unsigned)it->res->verdict < 4)
			b->st->grey_verdicts[it->res->verdict]++;
	}
	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.tries = it->tries;
	info.only = b->input_done && b->next_index == 1;
	if (it->key != NULL &&
	    (e = batch_seen_get(&b->seen, it->key, it->keylen)) != NULL &&
	    e->index == (uint32_t)it->index) {
		e->state = 1;
		e->verdict = (uint8_t)it->res->verdict;
		e->exit_code = (uint8_t)it->res->exit_code;
		e->reason = (uint8_t)it->res->reason;
	} else
		e = NULL;
	emit(b, &info, it->res);
	result_clear(it->res);
	free(it->res);
	it->res = NULL;
	if (e != NULL)
		for (d = b->dupwait.head; d != NULL; d = dn) {
			dn = d->next;
			if (d->keylen == it->keylen &&
			    memcmp(d->key, it->key, it->keylen) == 0) {
				list_remove(&b->dupwait, d);
				emit_duplicate(b, d, e);
				item_free(d);
			}
		}
	item_free(it);
}

/*
 * --rcpt-per-connection: take up to K - 1 more addresses of lead's domain
 * that may start now (due retries, due greylisted ones, then waiting
 * ones, in list order) as further recipients of its transaction.
 */
static void
gather(struct batch *b, struct item *lead, double now)
{
	struct list *lists[3] = { &b->retry, &b->grey, &b->window };
	size_t cap = (size_t)b->opt->rcpt_per_conn, n = 0, l;
	struct dom *d;
	struct item *it, *nx;
	char why[256];

	if (!lead->groupable || cap <= 1)
		return;
	if ((d = dom_get(b, lead->dhash, false)) != NULL && d->rcpt_cap > 0 &&
	    (size_t)d->rcpt_cap < cap)
		cap = (size_t)d->rcpt_cap;
	if (cap <= 1)
		return;
	if ((lead->fol = calloc(cap - 1, sizeof(*lead->fol))) == NULL)
		return;
	for (l = 0; l < 3; l++)
		for (it = lists[l]->head; it != NULL && n < cap - 1; it = nx) {
			nx = it->next;
			if (!it->groupable || it->dhash != lead->dhash ||
			    (l < 2 && it->not_before > now))
				continue;
			free(it->mailbox);
			it->mailbox = NULL;
			if (address_parse(it->address, b->scratch_addr, why,
			    sizeof(why)) != ADDRESS_OK ||
			    (it->mailbox = strdup(b->scratch_addr->mailbox)) ==
			    NULL)
				continue;
			list_remove(lists[l], it);
			lead->fol[n] = it;
			n++;
		}
	lead->nfol = n;
}

/*
 * The plan of it's connection: one transaction with it, its further
 * recipients and, when the domain's catch-all answer is not known yet,
 * the made-up control recipient last.  false without memory, or when
 * it's own address is not valid (the probe then says why, with no plan).
 */
static bool
build_plan(struct batch *b, struct item *it)
{
	const struct probe_config *cfg = b->ctx->cfg;
	struct address *a = b->scratch_addr;
	char why[256];
	size_t i, n = 0;

	plan_clear(&it->plan);
	free(it->rcpts);
	it->rcpts = NULL;
	free(it->mailbox);
	it->mailbox = NULL;
	if (address_parse(it->address, a, why, sizeof(why)) != ADDRESS_OK ||
	    (it->mailbox = strdup(a->mailbox)) == NULL ||
	    (it->rcpts = calloc(it->nfol + 2, sizeof(*it->rcpts))) == NULL)
		return false;
	it->rcpts[n++].mailbox = it->mailbox;
	for (i = 0; i < it->nfol; i++)
		it->rcpts[n++].mailbox = it->fol[i]->mailbox;
	it->ask_catch_all = cfg->catch_all && it->catch_all_known == 0;
	if (it->ask_catch_all) {
		probe_control_mailbox(a, it->control, sizeof(it->control));
		it->rcpts[n].mailbox = it->control;
		it->rcpts[n++].if_accepted = true;
	}
	it->txn.from = cfg->from;
	it->txn.need_smtputf8 = a->local_utf8;
	it->txn.rcpts = it->rcpts;
	it->txn.nrcpts = n;
	it->plan.txns = &it->txn;
	it->plan.ntxns = 1;
	return true;
}

static void
start_item(struct batch *b, struct item *it)
{
	struct probe_request req;
	struct dom *d;
	size_t i;

	if ((it->res = malloc(sizeof(*it->res))) == NULL) {
		b->st->exit_code = EXIT_LOCAL_ERROR;
		b->stopping = true;
		item_free(it);
		return;
	}
	it->tries++;
	gather(b, it, monotonic_ms());
	for (i = 0; i < it->nfol; i++)
		it->fol[i]->tries++;
	d = it->has_domain ? dom_get(b, it->dhash, false) : NULL;
	it->catch_all_known = d != NULL ? d->catch_all_code : 0;
	memset(&req, 0, sizeof(req));
	req.catch_all_code = it->catch_all_known;
	if (build_plan(b, it)) {
		req.plan = &it->plan;
		req.own_first = true;
	} else
		it->ask_catch_all = false;
	list_push(&b->inflight, it);
	if (probe_start_request(b->ctx, it->address, it->res, &req,
	    probe_done, it) == NULL) {
		/* res holds the local error: report it as it is; the further
		 * recipients wait for another connection. */
		list_remove(&b->inflight, it);
		for (i = 0; i < it->nfol; i++) {
			it->fol[i]->tries--;
			it->fol[i]->not_before = monotonic_ms();
			list_push(&b->retry, it->fol[i]);
		}
		it->nfol = 0;
		finish_item(b, it);
	}
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static void
pump(struct batch *b)
{
	struct item *it;
	double now, next = 0;
	struct timeval tv;

	if (b->finished)
		return;
	refill(b);
	now = monotonic_ms();
	while (!b->stopping && b->inflight.n < (size_t)b->opt->parallel &&
	    (it = pick(b, now)) != NULL) {
		start_item(b, it);
		refill(b);
	}
	if (b->stopping) {
		/* Nothing new: drop what was waiting. */
		while ((it = b->window.head) != NULL) {
			list_remove(&b->window, it);
			item_free(it);
			b->st->not_finished++;
		}
		while ((it = b->retry.head) != NULL) {
			list_remove(&b->retry, it);
			item_free(it);
			b->st->not_finished++;
		}
		while ((it = b->dupwait.head) != NULL) {
			list_remove(&b->dupwait, it);
			item_free(it);
		}
		while ((it = b->grey.head) != NULL) {
			list_remove(&b->grey, it);
			emit_grey_cancelled(b, it);
			item_free(it);
		}
	}
	if (b->inflight.n == 0 && b->window.n == 0 && b->retry.n == 0 &&
	    b->dupwait.n == 0 && b->grey.n == 0 &&
	    (b->input_done || b->stopping)) {
		b->finished = true;
		event_base_loopbreak(b->ctx->base);
		return;
	}
	/* A retry comes due later: wake up for it. */
	for (it = b->retry.head; it != NULL; it = it->next)
		if (next == 0 || it->not_before < next)
			next = it->not_before;
	for (it = b->grey.head; it != NULL; it = it->next)
		if (next == 0 || it->not_before < next)
			next = it->not_before;
	if (next > 0 && b->inflight.n < (size_t)b->opt->parallel) {
		double wait = next - now > 0 ? next - now : 0;

		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec * 1000) *
		    1000);
		evtimer_add(b->wake, &tv);
	}
}

static bool
rate_limited(const struct probe_result *res)
{
	return !res->local_error && turned_away(res, res->outcome);
}

/* When an address turned away by the server at lead may be tried again. */
static double
backoff_end(struct batch *b, const struct probe_result *res)
{
	const char *key = res->server_ip[0] != '\0' ? res->server_ip :
	    res->server_host;
	struct slot *s = key[0] != '\0' ? slot_get(b, key, false) : NULL;

	return s != NULL && s->backoff_until > monotonic_ms() ?
	    s->backoff_until : monotonic_ms() + b->opt->backoff_ms;
}

/*
 * The further recipients of a finished transaction: each answered one is
 * reported with its own result; those turned away (421) wait for the
 * back-off like any rate-limited address; the others (not asked, too
 * many recipients, no answer) are asked again on another connection.
 */
static void
finish_group(struct batch *b, struct item *lead, struct probe_result *res)
{
	bool closing = !res->local_error && turned_away(res, res->outcome);
	struct dom *d = lead->has_domain ? dom_get(b, lead->dhash, true) :
	    NULL;
	int code = lead->ask_catch_all ? res->catch_all_code :
	    lead->catch_all_known;
	struct plan_rcpt *more = lead->rcpts != NULL ? lead->rcpts + 1 : NULL;
	size_t i;

	if (more == NULL)
		lead->nfol = 0;
	for (i = 0; i < lead->nfol; i++)
		if (more[i].state == PLAN_RCPT_CLOSED)
			closing = true;
	if (d != NULL && lead->ask_catch_all &&
	    (code / 100 == 2 || code / 100 == 5))
		d->catch_all_code = code;
	for (i = 0; d != NULL && i < lead->nfol; i++)
		if (more[i].state == PLAN_RCPT_TOO_MANY) {
			/* RFC 5321 §4.5.3.1.10: this server takes i + 1
			 * recipients per transaction; ask no more from now. */
			if (d->rcpt_cap == 0 || d->rcpt_cap > (int)i + 1)
				d->rcpt_cap = (int)i + 1;
			break;
		}
	for (i = 0; i < lead->nfol; i++) {
		struct item *f = lead->fol[i];
		struct plan_rcpt *r = &more[i];
		bool turned = r->state == PLAN_RCPT_CLOSED ||
		    (closing && r->state == PLAN_RCPT_NOT_ASKED);

		lead->fol[i] = NULL;
		if (r->state == PLAN_RCPT_ANSWERED || (turned &&
		    (f->tries > b->opt->retries || b->stopping))) {
			if ((f->res = malloc(sizeof(*f->res))) == NULL) {
				b->st->exit_code = EXIT_LOCAL_ERROR;
				b->stopping = true;
				item_free(f);
				continue;
			}
			probe_group_result(res, r, f->address, code, i + 2,
			    f->res);
			if (turned)
				diag_rate_limited(f->res, f->tries);
			b->st->shared++;
			finish_item(b, f);
			continue;
		}
		if (turned) {
			f->not_before = backoff_end(b, res);
			b->st->retries++;
		} else {
			/* Not this try's fault: the next connection asks. */
			f->tries--;
			f->not_before = monotonic_ms();
		}
		list_push(&b->retry, f);
	}
	lead->nfol = 0;
	free(lead->fol);
	lead->fol = NULL;
	plan_clear(&lead->plan);
	memset(&lead->plan, 0, sizeof(lead->plan));
	free(lead->rcpts);
	lead->rcpts = NULL;
}

/* ---- the network: port 25 blocked, connections intercepted ------------------ */

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
	fprintf(stderr, "smtpprobe: %s\nsmtpprobe: starting no new probe: "
	    "the rest of the list would time out the same way (--keep-going "
	    "probes it all)\n", text);
	fflush(stderr);
	b->stopping = st->blocked_stop = true;
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

static void
probe_done(void *arg, struct probe_result *res)
{
	struct item *it = arg;
	struct batch *b = it->b;

	list_remove(&b->inflight, it);
	/* Before the further recipients' results are made from it. */
	note_greeters(b, res);
	note_blocked(b, res);
	finish_group(b, it, res);
	if (rate_limited(res)) {
		if (it->tries <= b->opt->retries && !b->stopping) {
			/* Again after the server's back-off; the domain's
			 * other addresses wait too. */
			it->not_before = backoff_end(b, res);
			result_clear(res);
			free(res);
			it->res = NULL;
			b->st->retries++;
			list_push(&b->retry, it);
			pump(b);
			return;
		}
		diag_rate_limited(res, it->tries);
	}
	if (result_has_finding(res, FINDING_BATCH_SERVER_STALLED) &&
	    res->reason == REASON_TIMEOUT)
		b->st->stalled++;
	finish_item(b, it);
	pump(b);
}

/* ---- SIGINT, SIGTERM ---------------------------------------------------- */

/* The grace is over: report what is still in flight as interrupted and
 * leave the loop; the probes' state stays as it is (batch.h). */
static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct item *it;
	size_t i;

	(void)fd;
	(void)what;
	for (it = b->inflight.head; it != NULL; it = it->next) {
		emit_unfinished(b, it, REASON_INTERRUPTED,
		    "The probe was stopped by "
		    "an interruption (SIGINT or SIGTERM) before it finished.");
		b->st->abandoned_n++;
		for (i = 0; i < it->nfol; i++) {
			emit_unfinished(b, it->fol[i], REASON_INTERRUPTED,
			    "The "
			    "probe was stopped by an interruption (SIGINT or "
			    "SIGTERM) before it finished.");
			b->st->abandoned_n++;
		}
	}
	b->st->abandoned = b->inflight.n > 0;
	b->finished = true;
	event_base_loopbreak(b->ctx->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct batch *b = arg;
	struct timeval tv;

	(void)what;
	if (b->st->interrupted) {
		fprintf(stderr, "smtpprobe: interrupted again: exiting now\n");
		fflush(stdout);
		fflush(stderr);
		_exit(BATCH_EXIT_INTERRUPTED);
	}
	b->st->interrupted = true;
	b->stopping = true;
	fprintf(stderr, "smtpprobe: %s: starting no new probe; waiting up to "
	    "%d s for the %zu in flight (again to quit at once)\n",
	    sig == SIGTERM ? "terminated" : "interrupted",
	    BATCH_INTERRUPT_GRACE_MS / 1000, b->inflight.n);
	fflush(stderr);
	tv.tv_sec = BATCH_INTERRUPT_GRACE_MS / 1000;
	tv.tv_usec = (BATCH_INTERRUPT_GRACE_MS % 1000) * 1000;
	evtimer_add(b->grace, &tv);
	pump(b);
}

void
batch_run(struct probe_ctx *ctx, const struct batch_options *opt,
    char **addrs, int naddrs, FILE *list, batch_result_cb cb, void *arg,
    struct batch_stats *stats)
{
	struct batch *b;
	struct batch_reader *reader = NULL;
	struct slot *s;

	memset(stats, 0, sizeof(*stats));
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->scratch = malloc(sizeof(*b->scratch))) == NULL ||
	    (b->scratch_addr = malloc(sizeof(*b->scratch_addr))) == NULL ||
	    (list != NULL && (reader = malloc(sizeof(*reader))) == NULL) ||
	    (b->wake = evtimer_new(ctx->base, wake_cb, b)) == NULL ||
	    (b->grace = evtimer_new(ctx->base, on_grace, b)) == NULL ||
	    (b->sigint = evsignal_new(ctx->base, SIGINT, on_signal, b)) ==
	    NULL ||
	    (b->sigterm = evsignal_new(ctx->base, SIGTERM, on_signal, b)) ==
	    NULL) {
		if (b != NULL) {
			if (b->wake != NULL)
				event_free(b->wake);
			if (b->grace != NULL)
				event_free(b->grace);
			if (b->sigint != NULL)
				event_free(b->sigint);
			free(b->scratch);
			free(b->scratch_addr);
			free(b);
		}
		free(reader);
		stats->exit_code = EXIT_LOCAL_ERROR;
		return;
	}
	/* Without memory for them, the network checks are left out. */
	b->blocked = calloc(BATCH_BLOCKED_SERVERS, sizeof(*b->blocked));
	b->greeters = calloc(BATCH_GREETERS_MAX, sizeof(*b->greeters));
	b->ctx = ctx;
	b->opt = opt;
	b->cb = cb;
	b->cb_arg = arg;
	b->st = stats;
	b->addrs = addrs;
	b->naddrs = naddrs;
	if (reader != NULL) {
		batch_reader_init(reader, list);
		b->reader = reader;
	}
	batch_seen_init(&b->seen);
	b->t0 = b->last_progress = monotonic_ms();
	ctx->hooks.conn_acquire = hook_acquire;
	ctx->hooks.conn_release = hook_release;
	ctx->hooks.conn_cancel = hook_cancel;
	ctx->hooks.conn_skip = hook_skip;
	ctx->hooks.arg = b;
	event_add(b->sigint, NULL);
	event_add(b->sigterm, NULL);

	pump(b);
	while (!b->finished) {
		int rc = event_base_dispatch(ctx->base);

		if (!b->finished && rc != 0)
			break;	/* nothing left to wait for: cannot happen */
	}
	stats->elapsed_ms = monotonic_ms() - b->t0;
	progress(b, true);
	if (stats->abandoned)
		return;	/* the runs still point here: the caller exits */

	event_free(b->sigint);	/* the signals' old dispositions return */
	event_free(b->sigterm);
	event_free(b->grace);
	while (b->doms != NULL) {
		struct dom *d = b->doms;

		b->doms = d->next;
		free(d);
	}
	memset(&ctx->hooks, 0, sizeof(ctx->hooks));
	while ((s = b->slots) != NULL) {
		b->slots = s->next;
		slot_free(s);
	}
	event_free(b->wake);
	batch_seen_free(&b->seen);
	free(b->blocked);
	free(b->greeters);
	free(b->scratch);
	free(b->scratch_addr);
	free(reader);
	free(b);
}
