/*
 * batch.c — the batch scheduler (batch.h, docs/BATCH.md): the input, the
 * addresses and their domains, the results, signals, the run.
 *
 * Owns the addresses read (struct item: at most BATCH_WINDOW alive, from
 * their line until their result is handed on), the domains (struct dom:
 * their DNS facts while addresses of them are alive, at most
 * BATCH_DOMAINS_HELD; then a few facts, at most BATCH_DOMAINS_MAX), the
 * addresses waiting for a back-off, for greylisting or for their first
 * occurrence, and the duplicate table.  Every domain is resolved once (a
 * resolve_only probe); its addresses then wait on its first server,
 * where batchjob.c groups them into connections and batchserver.c says
 * when one may start.  Everything runs on the context's event loop.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batchint.h"
#include "diag.h"

void
batch_options_defaults(struct batch_options *o)
{
	memset(o, 0, sizeof(*o));
	o->parallel = BATCH_PARALLEL_DEFAULT;
	o->delay_ms = BATCH_DELAY_DEFAULT_MS;
	o->retries = BATCH_RETRIES_DEFAULT;
	o->backoff_ms = BATCH_BACKOFF_MS;
	o->backoff_max_ms = BATCH_BACKOFF_MAX_MS;
	o->rcpt_per_txn = BATCH_RCPT_DEFAULT;
	o->per_server = BATCH_PER_SERVER_DEFAULT;
	o->error_budget = BATCH_ERROR_BUDGET_DEFAULT;
}

unsigned long
batch_shard(const char *domain, unsigned long n)
{
	return n > 0 ? (unsigned long)(batch_hash64(domain) % n) : 0;
}

/* --shard: does the entry whose domain (or text) is key belong here? */
static bool
in_shard(const struct batch *b, const char *key)
{
	return b->opt->shard_n == 0 ||
	    batch_shard(key, b->opt->shard_n) == b->opt->shard_k;
}

uint64_t
batch_hash64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

/* ---- statistics and results ------------------------------------------- */

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

/* Tell the caller of an event (batch.h), with the counts so far. */
void
batch_notify(struct batch *b, enum batch_event event,
    struct batch_notice *n)
{
	if (b->opt->notice == NULL)
		return;
	n->event = event;
	n->st = b->st;
	n->open = b->njobs;
	n->waiting = b->alive;
	n->elapsed_ms = monotonic_ms() - b->t0;
	b->opt->notice(b->opt->notice_arg, n);
}

static void
progress(struct batch *b, bool last)
{
	struct batch_notice n;
	double now = monotonic_ms();

	if (!b->opt->progress || (!last && now - b->last_progress < 1000))
		return;
	b->last_progress = now;
	memset(&n, 0, sizeof(n));
	n.last = last;
	batch_notify(b, BATCH_EVENT_PROGRESS, &n);
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

void
batch_item_free(struct batch *b, struct item *it)
{
	if (it == NULL)
		return;
	if (it->dom != NULL && --it->dom->alive == 0)
		dom_release(b, it->dom);
	b->alive--;
	free(it->address);
	free(it->mailbox);
	free(it->key);
	free(it->grey_first);
	free(it);
}

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

/* The scratch result of an address reported without a probe of its
 * own, holding the address as parsed. */
static struct probe_result *
item_result(struct batch *b, const struct item *it)
{
	struct probe_result *res = b->scratch;

	result_init(res, it->address);
	res->addr_error = address_parse(it->address, &res->addr,
	    res->addr_why, sizeof(res->addr_why));
	res->stages[STAGE_ADDRESS].status = res->addr_error == ADDRESS_OK ?
	    STATUS_OK : STATUS_FAIL;
	return res;
}

/* A duplicate whose first occurrence is finished. */
static void
emit_duplicate(struct batch *b, struct item *it,
    const struct batch_seen_entry *e)
{
	struct probe_result *res;
	struct batch_item_info info;

	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.duplicate = true;
	info.dup_index = it->dup_index;
	info.dup_line = it->dup_line;
	res = item_result(b, it);
	diag_duplicate(res, (enum verdict)e->verdict, (enum reason)e->reason,
	    e->exit_code, it->dup_index, it->dup_line);
	b->st->duplicates++;
	emit(b, &info, res);
	result_clear(res);
}

/* The result of an address that was not (or not fully) probed. */
void
batch_emit_unfinished(struct batch *b, struct item *it, enum reason reason,
    const char *summary)
{
	struct probe_result *res;
	struct batch_item_info info;

	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.tries = it->tries;
	res = item_result(b, it);
	diag_unfinished(res, reason, summary);
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
	batch_emit_unfinished(b, it, REASON_GREYLISTED, sum);
}

static struct dom *dom_get(struct batch *b, const char *name);

/*
 * Item it waits aside (a back-off, greylisting) in q: it lets go of its
 * domain meanwhile, so that waiting addresses do not hold domains' DNS
 * facts (nor the window): unpark() finds the domain again.
 */
static void
park(struct batch *b, struct item *it, struct itemq *q, size_t *n)
{
	struct dom *d = it->dom;

	it->dom = NULL;
	if (--d->alive == 0)
		dom_release(b, d);
	TAILQ_INSERT_TAIL(q, it, link);
	(*n)++;
}

/* A parked item goes back to its domain (looked up again if it was
 * forgotten meanwhile); false without memory. */
static bool
unpark(struct batch *b, struct item *it)
{
	char why[256];
	const char *name;

	if (address_parse(it->address, b->scratch_addr, why, sizeof(why)) !=
	    ADDRESS_OK)
		return false;
	name = b->scratch_addr->literal ? b->scratch_addr->domain :
	    b->scratch_addr->domain_ascii;
	if ((it->dom = dom_get(b, name)) == NULL)
		return false;
	it->dom->alive++;
	TAILQ_INSERT_TAIL(&it->dom->items, it, link);
	dom_place(b, it->dom);
	return true;
}

/* --greylist-retry: keep a greylisted address for one more try after
 * the delay, instead of reporting it now. */
static bool
grey_park(struct batch *b, struct item *it, const struct probe_result *res)
{
	if (b->opt->greylist_ms <= 0 || it->grey_retried || b->stopping ||
	    res->reason != REASON_GREYLISTED)
		return false;
	if (b->ngrey >= BATCH_GREYLIST_WAITING) {
		b->st->grey_not_retried++;
		return false;
	}
	free(it->grey_first);
	it->grey_first = strdup(res->summary);
	it->grey_retried = true;
	it->not_before = monotonic_ms() + b->opt->greylist_ms;
	b->st->grey_retried++;
	park(b, it, &b->grey, &b->ngrey);
	return true;
}

/*
 * Item it is finished with result res: remember its verdict for its
 * duplicates, report it, then report the duplicates that waited for it.
 * it is freed here (or kept for its second try after greylisting); res
 * is cleared.
 */
void
batch_finish_item(struct batch *b, struct item *it, struct probe_result *res)
{
	struct batch_item_info info;
	struct batch_seen_entry *e = NULL;
	struct item *d, *dn;

	if (grey_park(b, it, res)) {
		result_clear(res);
		return;
	}
	if (it->grey_retried) {
		result_finding(res, FINDING_BATCH_GREYLIST_RETRIED,
		    STAGE_RCPT, it->grey_first, "the first try was greylisted; "
		    "this is the answer to the second try, %.0f s later",
		    b->opt->greylist_ms / 1000.0);
		if ((unsigned)res->verdict < 4)
			b->st->grey_verdicts[res->verdict]++;
	}
	if (result_has_finding(res, FINDING_BATCH_SERVER_STALLED) &&
	    res->reason == REASON_TIMEOUT)
		b->st->stalled++;
	batch_note_answer(b, res);
	memset(&info, 0, sizeof(info));
	info.index = it->index;
	info.line = it->line;
	info.tries = it->tries;
	info.only = b->input_done && b->next_index == 1;
	if (it->key != NULL &&
	    (e = batch_seen_get(&b->seen, it->key, it->keylen)) != NULL &&
	    e->index == (uint32_t)it->index) {
		e->state = 1;
		e->verdict = (uint8_t)res->verdict;
		e->exit_code = (uint8_t)res->exit_code;
		e->reason = (uint8_t)res->reason;
	} else
		e = NULL;
	emit(b, &info, res);
	result_clear(res);
	if (e != NULL)
		for (d = TAILQ_FIRST(&b->dupwait); d != NULL; d = dn) {
			dn = TAILQ_NEXT(d, link);
			if (d->keylen == it->keylen &&
			    memcmp(d->key, it->key, it->keylen) == 0) {
				TAILQ_REMOVE(&b->dupwait, d, link);
				b->ndupwait--;
				emit_duplicate(b, d, e);
				batch_item_free(b, d);
			}
		}
	batch_item_free(b, it);
}

/* ---- domains ------------------------------------------------------------ */

static void dom_resolved(void *arg, struct probe_result *res);

/* Domain d's entry, created (waiting for its DNS turn) when absent;
 * NULL without memory. */
static struct dom *
dom_get(struct batch *b, const char *name)
{
	uint64_t h = batch_hash64(name);
	struct dom *d;

	for (d = b->dhash[h % BATCH_HASH]; d != NULL; d = d->hnext)
		if (d->hash == h && strcmp(d->name, name) == 0)
			break;
	if (d != NULL && d->state == DOM_IDLE) {
		TAILQ_REMOVE(&b->idle, d, link);
		b->nidle--;
		d->state = DOM_NEW;
		TAILQ_INSERT_TAIL(&b->resolveq, d, link);
		b->nheld++;
	}
	if (d != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strdup(name)) == NULL) {
		free(d);
		return NULL;
	}
	d->b = b;
	d->hash = h;
	TAILQ_INIT(&d->items);
	d->hnext = b->dhash[h % BATCH_HASH];
	b->dhash[h % BATCH_HASH] = d;
	b->ndoms++;
	d->state = DOM_NEW;
	TAILQ_INSERT_TAIL(&b->resolveq, d, link);
	b->nheld++;
	return d;
}

static void
dom_free(struct batch *b, struct dom *d)
{
	struct dom **pp;

	for (pp = &b->dhash[d->hash % BATCH_HASH]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	result_dns_free(d->dns);
	free(d->name);
	free(d);
	b->ndoms--;
}

/* No address of d is alive: forget its DNS facts, keep the rest for a
 * while (the oldest idle domain goes when there are too many). */
void
dom_release(struct batch *b, struct dom *d)
{
	if (d->state == DOM_RESOLVING)
		return;		/* dom_resolved() comes back here */
	if (d->in_ready) {
		if (d->slot != NULL)
			TAILQ_REMOVE(&d->slot->ready, d, rlink);
		else
			TAILQ_REMOVE(&b->solo, d, rlink);
		d->in_ready = false;
	}
	if (d->state == DOM_NEW)
		TAILQ_REMOVE(&b->resolveq, d, link);
	result_dns_free(d->dns);
	d->dns = NULL;
	d->slot = NULL;
	d->state = DOM_IDLE;
	b->nheld--;
	TAILQ_INSERT_TAIL(&b->idle, d, link);
	if (++b->nidle > BATCH_DOMAINS_MAX) {
		struct dom *old = TAILQ_FIRST(&b->idle);

		TAILQ_REMOVE(&b->idle, old, link);
		b->nidle--;
		dom_free(b, old);
	}
}

/* Start the DNS look-up of d (the resolver's cache shares it). */
static void
dom_resolve(struct batch *b, struct dom *d)
{
	struct probe_request req;
	struct item *it = TAILQ_FIRST(&d->items);
	struct probe_result *res;

	TAILQ_REMOVE(&b->resolveq, d, link);
	d->state = DOM_RESOLVING;
	b->nresolving++;
	if ((res = malloc(sizeof(*res))) == NULL) {
		b->st->exit_code = EXIT_LOCAL_ERROR;
		b->stopping = true;
		d->state = DOM_READY;
		b->nresolving--;
		return;
	}
	memset(&req, 0, sizeof(req));
	req.resolve_only = true;
	if (probe_start_request(b->ctx, it->address, res, &req, dom_resolved,
	    d) == NULL)
		dom_resolved(d, res);	/* the local error stays */
}

/* Put d on the list of its first server (or of those without one). */
void
dom_place(struct batch *b, struct dom *d)
{
	struct slot *s = NULL;
	struct dom *x;
	unsigned long idx;
	char key[RESOLVER_NAME_MAX];

	if (d->in_ready || d->state != DOM_READY || TAILQ_EMPTY(&d->items))
		return;
	if (d->dns != NULL && probe_first_target(b->ctx, d->dns, key,
	    sizeof(key)))
		s = slot_get(b, key, true);
	d->slot = s;
	d->in_ready = true;
	d->ready_at = monotonic_ms();
	if (s == NULL) {
		TAILQ_INSERT_TAIL(&b->solo, d, rlink);
		return;
	}
	/* In the order of the list: the domain of the earliest address
	 * waiting comes first. */
	idx = TAILQ_FIRST(&d->items)->index;
	TAILQ_FOREACH_REVERSE(x, &s->ready, domq, rlink)
		if (TAILQ_FIRST(&x->items)->index <= idx)
			break;
	if (x != NULL)
		TAILQ_INSERT_AFTER(&s->ready, x, d, rlink);
	else
		TAILQ_INSERT_HEAD(&s->ready, d, rlink);
	if (!s->in_busy) {
		TAILQ_INSERT_TAIL(&b->busy_slots, s, link);
		s->in_busy = true;
	}
}

static void
dom_resolved(void *arg, struct probe_result *res)
{
	struct dom *d = arg;
	struct batch *b = d->b;

	/* The facts only: a whole result would cost 17 KiB a domain. */
	if ((d->dns = result_dns_save(res)) == NULL) {
		b->st->exit_code = EXIT_LOCAL_ERROR;
		b->stopping = true;
	}
	result_clear(res);
	free(res);
	d->state = DOM_READY;
	b->nresolving--;
	if (d->alive == 0)
		dom_release(b, d);
	else
		dom_place(b, d);
	batch_pump(b);
}

/* Back to wait: on its domain at once (when is 0 or past), or after a
 * back-off. */
void
batch_requeue(struct batch *b, struct item *it, double when)
{
	if (b->stopping) {
		b->st->not_finished++;
		batch_item_free(b, it);
		return;
	}
	if (when > monotonic_ms()) {
		it->not_before = when;
		park(b, it, &b->retry, &b->nretry);
		return;
	}
	TAILQ_INSERT_TAIL(&it->dom->items, it, link);
	dom_place(b, it->dom);
}

/* ---- reading ahead ---------------------------------------------------- */

/*
 * --resume: entry index (address as given, key its duplicate key or
 * NULL) was answered by an earlier run: skip it, but remember its verdict
 * for its duplicates to come.  A different address there means another
 * list: the run stops.
 */
static bool
resumed(struct batch *b, unsigned long index, unsigned long line,
    const char *address, const char *key, size_t keylen)
{
	struct batch_seen_entry *e;
	enum verdict v;
	enum reason r;
	int ex;
	uint8_t check;
	bool dup;

	if (!batch_done_get(b->opt->done, index, &v, &r, &ex, &check))
		return false;
	if (check != 0 && check != batch_done_check(address)) {
		b->st->resume_mismatch = index + 1;
		b->stopping = true;
		return true;
	}
	if (key != NULL && (e = batch_seen_put(&b->seen, key, keylen,
	    (uint32_t)index, (uint32_t)line, &dup)) != NULL && !dup) {
		e->state = 1;
		e->verdict = (uint8_t)v;
		e->reason = (uint8_t)r;
		e->exit_code = (uint8_t)ex;
	}
	b->st->resumed++;
	return true;
}

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
		if (b->line.kind == BATCH_LINE_INVALID &&
		    !in_shard(b, b->line.text)) {
			b->next_index++;
			b->st->other_shards++;
			continue;
		}
		if (b->line.kind == BATCH_LINE_INVALID) {
			if (resumed(b, b->next_index, b->line.lineno,
			    b->line.text, NULL, 0)) {
				b->next_index++;
				if (b->stopping)
					return 0;
				continue;
			}
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

/* A duplicate of an address read before: reported now when the first
 * is finished, else when it is.  true when it was a duplicate. */
static bool
take_duplicate(struct batch *b, struct item *it)
{
	struct batch_seen_entry *e;
	bool dup;

	if (it->key == NULL)
		return false;
	e = batch_seen_put(&b->seen, it->key, it->keylen, (uint32_t)it->index,
	    (uint32_t)it->line, &dup);
	if (e == NULL && b->seen.full)
		b->st->dup_table_full = true;
	if (e == NULL || !dup)
		return false;
	it->dup_index = e->index;
	it->dup_line = e->line;
	if (e->state == 1) {
		emit_duplicate(b, it, e);
		batch_item_free(b, it);
	} else {
		TAILQ_INSERT_TAIL(&b->dupwait, it, link);
		b->ndupwait++;
	}
	return true;
}

/* The parsed address of a new item: its mailbox, key and domain (into
 * dname; "" when the address is not valid). */
static void
item_parse(struct batch *b, struct item *it, const char *text, char *dname,
    size_t dlen)
{
	char key[LIMIT_ADDRESS * 8 + 16], why[256];
	struct address *a = b->scratch_addr;
	size_t n;

	dname[0] = '\0';
	if (address_parse(text, a, why, sizeof(why)) != ADDRESS_OK)
		return;
	it->utf8 = a->local_utf8;
	if ((it->mailbox = strdup(a->mailbox)) == NULL)
		return;
	n = batch_dup_key(a->local, a->domain_ascii, key, sizeof(key));
	if (n > 0 && (it->key = strdup(key)) != NULL)
		it->keylen = n;
	/* An address literal is its own "domain": the server it names. */
	snprintf(dname, dlen, "%s", a->literal ? a->domain : a->domain_ascii);
}

/* An address whose syntax is wrong: its result needs no probe. */
static void
emit_invalid(struct batch *b, struct item *it)
{
	struct probe_result *res;

	res = item_result(b, it);
	result_finding(res, res->addr_error == ADDRESS_CONTROL ?
	    FINDING_ADDRESS_CONTROL_CHARACTER : FINDING_ADDRESS_INVALID,
	    STAGE_ADDRESS, NULL, "%s", res->addr_why);
	res->stages[STAGE_ADDRESS].status = STATUS_FAIL;
	diag_finish(res, 0);
	batch_finish_item(b, it, res);
}

static void
refill(struct batch *b)
{
	char dname[LIMIT_DOMAIN + 8];
	const char *text;
	unsigned long line;
	struct item *it;

	/* Addresses waiting aside hold no domain and little memory: they
	 * have a window of their own. */
	while (!b->input_done && !b->stopping && b->alive - b->nretry -
	    b->ngrey < BATCH_WINDOW && b->nretry + b->ngrey < BATCH_PARKED_MAX &&
	    b->nheld < BATCH_DOMAINS_HELD) {
		if (next_entry(b, &text, &line) != 1) {
			b->input_done = true;
			if (b->reader != NULL && b->reader->no_column)
				b->st->no_column = true;
			break;
		}
		if ((it = calloc(1, sizeof(*it))) == NULL ||
		    (it->address = strdup(text)) == NULL) {
			free(it);
			b->st->exit_code = EXIT_LOCAL_ERROR;
			b->stopping = true;
			break;
		}
		b->alive++;
		it->b = b;
		it->index = b->next_index++;
		it->line = line;
		item_parse(b, it, text, dname, sizeof(dname));
		if (!in_shard(b, dname[0] != '\0' ? dname : text)) {
			b->st->other_shards++;
			batch_item_free(b, it);
			continue;
		}
		if (resumed(b, it->index, it->line, it->address, it->key,
		    it->keylen)) {
			batch_item_free(b, it);
			continue;
		}
		if (take_duplicate(b, it))
			continue;
		if (dname[0] == '\0' || (it->dom = dom_get(b, dname)) == NULL) {
			emit_invalid(b, it);
			continue;
		}
		it->dom->alive++;
		TAILQ_INSERT_TAIL(&it->dom->items, it, link);
		dom_place(b, it->dom);
	}
}

/* ---- scheduling ------------------------------------------------------- */

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_pump(arg);
}

void
batch_pump_soon(struct batch *b)
{
	if (!b->finished)
		event_active(b->wake, EV_TIMEOUT, 0);
}

/* The items of list q whose wait is over go back to their domains;
 * *next is the earliest wait still running. */
static void
due_items(struct batch *b, struct itemq *q, size_t *n, double now,
    double *next)
{
	struct item *it, *nx;

	for (it = TAILQ_FIRST(q); it != NULL; it = nx) {
		nx = TAILQ_NEXT(it, link);
		if (it->not_before > now) {
			if (*next == 0 || it->not_before < *next)
				*next = it->not_before;
			continue;
		}
		TAILQ_REMOVE(q, it, link);
		(*n)--;
		if (!unpark(b, it)) {
			b->st->exit_code = EXIT_LOCAL_ERROR;
			b->stopping = true;
			b->st->not_finished++;
			batch_item_free(b, it);
		}
	}
}

/*
 * Server s refused this host BATCH_CLIENT_REFUSALS times in a row: the
 * addresses waiting on it are answered without asking it again.  The
 * last address of a domain releases the domain (and takes it off s's
 * list); a domain that still has addresses in a connection under way
 * only leaves the list.
 */
void
batch_settle_refused(struct batch *b, struct slot *s)
{
	struct probe_result *res;
	struct dom *d;
	struct item *it;

	while ((d = TAILQ_FIRST(&s->ready)) != NULL) {
		while (TAILQ_FIRST(&s->ready) == d &&
		    (it = TAILQ_FIRST(&d->items)) != NULL) {
			TAILQ_REMOVE(&d->items, it, link);
			res = item_result(b, it);
			diag_client_refused(res, s->host, s->ip, s->refusal,
			    s->refusals);
			b->st->client_refused++;
			batch_finish_item(b, it, res);
		}
		if (TAILQ_FIRST(&s->ready) == d) {
			TAILQ_REMOVE(&s->ready, d, rlink);
			d->in_ready = false;
		}
	}
}

/* Server s stalled: its domains wait on their next server instead. */
static void
slot_regroup(struct batch *b, struct slot *s)
{
	struct dom *d;

	while ((d = TAILQ_FIRST(&s->ready)) != NULL) {
		TAILQ_REMOVE(&s->ready, d, rlink);
		d->in_ready = false;
		dom_place(b, d);
	}
}

/*
 * Has server s gathered its domains?  While look-ups are under way, more
 * domains may turn out to share it: its first connection waits for them
 * (BATCH_GATHER_MS at most), unless it has a connection's worth already.
 */
static bool
gathered(const struct batch *b, const struct slot *s, double now,
    double *when)
{
	const struct dom *d;
	size_t n = 0;

	if (b->nresolving == 0 && TAILQ_EMPTY(&b->resolveq))
		return true;
	d = TAILQ_FIRST(&s->ready);
	if (now >= d->ready_at + BATCH_GATHER_MS)
		return true;
	TAILQ_FOREACH(d, &s->ready, rlink) {
		const struct item *it;

		TAILQ_FOREACH(it, &d->items, link)
			if (++n >= BATCH_CONN_RCPT)
				return true;
	}
	*when = TAILQ_FIRST(&s->ready)->ready_at + BATCH_GATHER_MS;
	return false;
}

/* Start what may start; *next is when something else may. */
static void
start_jobs(struct batch *b, double now, double *next)
{
	struct slot *s, *sn;
	struct dom *d;
	double when;
	size_t n;

	if ((when = rate_ready(b, now)) > 0) {
		/* --rate: nothing more for now. */
		if (*next == 0 || when < *next)
			*next = when;
		return;
	}
	while (b->njobs < (size_t)b->opt->parallel &&
	    (d = TAILQ_FIRST(&b->solo)) != NULL)
		if (!job_start(b, NULL, d, now))
			return;
	n = 0;
	for (s = TAILQ_FIRST(&b->busy_slots); s != NULL && n < b->nslots &&
	    b->njobs < (size_t)b->opt->parallel; s = sn, n++) {
		sn = TAILQ_NEXT(s, link);
		if (s->stalled)
			slot_regroup(b, s);
		else if (s->refuses)
			batch_settle_refused(b, s);
		if (TAILQ_EMPTY(&s->ready)) {
			TAILQ_REMOVE(&b->busy_slots, s, link);
			s->in_busy = false;
			continue;
		}
		if (!slot_can_start(s, now, &when) ||
		    !gathered(b, s, now, &when)) {
			if (when > 0 && (*next == 0 || when < *next))
				*next = when;
			continue;
		}
		if (!job_start(b, s, NULL, now)) {
			if ((when = rate_ready(b, now)) > 0 && (*next == 0 ||
			    when < *next))
				*next = when;
			return;
		}
		/* Its turn is over: the others' first. */
		if (s->in_busy) {
			TAILQ_REMOVE(&b->busy_slots, s, link);
			if (TAILQ_EMPTY(&s->ready))
				s->in_busy = false;
			else
				TAILQ_INSERT_TAIL(&b->busy_slots, s, link);
		}
	}
}

/* Stopping: nothing new; what waits is dropped. */
static void
drop_waiting(struct batch *b)
{
	struct item *it;
	struct dom *d;
	size_t i;

	while ((it = TAILQ_FIRST(&b->retry)) != NULL) {
		TAILQ_REMOVE(&b->retry, it, link);
		b->nretry--;
		b->st->not_finished++;
		batch_item_free(b, it);
	}
	while ((it = TAILQ_FIRST(&b->dupwait)) != NULL) {
		TAILQ_REMOVE(&b->dupwait, it, link);
		b->ndupwait--;
		batch_item_free(b, it);
	}
	while ((it = TAILQ_FIRST(&b->grey)) != NULL) {
		TAILQ_REMOVE(&b->grey, it, link);
		b->ngrey--;
		emit_grey_cancelled(b, it);
		batch_item_free(b, it);
	}
	for (i = 0; i < BATCH_HASH; i++)
		for (d = b->dhash[i]; d != NULL; d = d->hnext)
			while ((it = TAILQ_FIRST(&d->items)) != NULL) {
				TAILQ_REMOVE(&d->items, it, link);
				b->st->not_finished++;
				/* May free d (not the chain link read
				 * next: d stays until its look-up ends). */
				d->alive++;
				batch_item_free(b, it);
				d->alive--;
			}
}

void
batch_pump(struct batch *b)
{
	struct dom *d;
	double now, next = 0;
	struct timeval tv;

	if (b->finished)
		return;
	refill(b);
	now = monotonic_ms();
	due_items(b, &b->retry, &b->nretry, now, &next);
	if (!b->stopping)
		due_items(b, &b->grey, &b->ngrey, now, &next);
	while (b->nresolving < BATCH_RESOLVING &&
	    (d = TAILQ_FIRST(&b->resolveq)) != NULL && !b->stopping)
		dom_resolve(b, d);
	if (!b->stopping)
		start_jobs(b, now, &next);
	if (b->stopping)
		drop_waiting(b);
	if (b->njobs == 0 && b->nresolving == 0 && b->alive == 0 &&
	    (b->input_done || b->stopping)) {
		b->finished = true;
		event_base_loopbreak(b->ctx->base);
		return;
	}
	if (next > 0) {
		double wait = next - now > 0 ? next - now : 0;

		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec * 1000) *
		    1000);
		evtimer_add(b->wake, &tv);
	}
}

bool
batch_rate_limited(const struct probe_result *res)
{
	return !res->local_error && turned_away(res, res->outcome);
}

/* ---- SIGINT, SIGTERM ---------------------------------------------------- */

/* The grace is over: report what is still in flight as interrupted and
 * leave the loop; the probes' state stays as it is (batch.h). */
static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct job *j;

	(void)fd;
	(void)what;
	for (j = TAILQ_FIRST(&b->jobs); j != NULL; j = TAILQ_NEXT(j, link)) {
		job_abandon(b, j);
		b->st->abandoned_n += j->nitems;
	}
	b->st->abandoned = b->njobs > 0 || b->nresolving > 0;
	b->finished = true;
	event_base_loopbreak(b->ctx->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct batch *b = arg;
	struct batch_notice n;
	struct timeval tv;

	(void)what;
	memset(&n, 0, sizeof(n));
	n.signal = (int)sig;
	n.grace_ms = BATCH_INTERRUPT_GRACE_MS;
	if (b->st->interrupted) {
		batch_notify(b, BATCH_EVENT_INTERRUPTED_AGAIN, &n);
		on_grace(-1, 0, b);
		return;
	}
	b->st->interrupted = true;
	b->stopping = true;
	batch_notify(b, BATCH_EVENT_INTERRUPTED, &n);
	tv.tv_sec = BATCH_INTERRUPT_GRACE_MS / 1000;
	tv.tv_usec = (BATCH_INTERRUPT_GRACE_MS % 1000) * 1000;
	evtimer_add(b->grace, &tv);
	batch_pump(b);
}

/* ---- the run ---------------------------------------------------------- */

static void
batch_free(struct batch *b)
{
	struct dom *d;
	size_t i;

	if (b->sigint != NULL)
		event_free(b->sigint);	/* the signals' old dispositions */
	if (b->sigterm != NULL)
		event_free(b->sigterm);
	if (b->grace != NULL)
		event_free(b->grace);
	if (b->wake != NULL)
		event_free(b->wake);
	for (i = 0; i < BATCH_HASH; i++)
		while ((d = b->dhash[i]) != NULL)
			dom_free(b, d);
	slots_free(b);
	batch_seen_free(&b->seen);
	free(b->blocked);
	free(b->greeters);
	free(b->scratch);
	free(b->scratch_addr);
	free(b->reader);
	free(b);
}

/* The batch's state; NULL without memory. */
static struct batch *
batch_new(struct probe_ctx *ctx, FILE *list)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	TAILQ_INIT(&b->dupwait);
	TAILQ_INIT(&b->retry);
	TAILQ_INIT(&b->grey);
	TAILQ_INIT(&b->jobs);
	TAILQ_INIT(&b->resolveq);
	TAILQ_INIT(&b->idle);
	TAILQ_INIT(&b->solo);
	TAILQ_INIT(&b->busy_slots);
	b->ctx = ctx;
	if ((b->scratch = malloc(sizeof(*b->scratch))) == NULL ||
	    (b->scratch_addr = malloc(sizeof(*b->scratch_addr))) == NULL ||
	    (list != NULL && (b->reader = malloc(sizeof(*b->reader))) ==
	    NULL) ||
	    (b->wake = evtimer_new(ctx->base, wake_cb, b)) == NULL ||
	    (b->grace = evtimer_new(ctx->base, on_grace, b)) == NULL ||
	    (b->sigint = evsignal_new(ctx->base, SIGINT, on_signal, b)) ==
	    NULL ||
	    (b->sigterm = evsignal_new(ctx->base, SIGTERM, on_signal, b)) ==
	    NULL) {
		batch_free(b);
		return NULL;
	}
	batch_seen_init(&b->seen);
	return b;
}

void
batch_run(struct probe_ctx *ctx, const struct batch_options *opt,
    char **addrs, int naddrs, FILE *list, batch_result_cb cb, void *arg,
    struct batch_stats *stats)
{
	struct batch *b;

	memset(stats, 0, sizeof(*stats));
	if ((b = batch_new(ctx, list)) == NULL) {
		stats->exit_code = EXIT_LOCAL_ERROR;
		return;
	}
	/* Without memory for them, the network checks are left out. */
	b->blocked = calloc(BATCH_BLOCKED_SERVERS, sizeof(*b->blocked));
	b->greeters = calloc(BATCH_GREETERS_MAX, sizeof(*b->greeters));
	b->opt = opt;
	if (b->reader != NULL)
		batch_reader_init(b->reader, list, opt->column);
	b->cb = cb;
	b->cb_arg = arg;
	b->st = stats;
	b->addrs = addrs;
	b->naddrs = naddrs;
	b->t0 = b->last_progress = b->tokens_at = monotonic_ms();
	b->tokens = opt->rate > 1 ? opt->rate : 1;
	slots_install_hooks(b);
	event_add(b->sigint, NULL);
	event_add(b->sigterm, NULL);

	batch_pump(b);
	while (!b->finished) {
		int rc = event_base_dispatch(ctx->base);

		if (!b->finished && rc != 0)
			break;	/* nothing left to wait for: cannot happen */
	}
	stats->elapsed_ms = monotonic_ms() - b->t0;
	batch_server_summary(b);
	progress(b, true);
	if (stats->abandoned)
		return;	/* the runs still point here: the caller exits */
	memset(&ctx->hooks, 0, sizeof(ctx->hooks));
	batch_free(b);
}
