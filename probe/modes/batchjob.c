/*
 * batchjob.c — the batch's connections (docs/BATCH.md "Grouping by
 * server").
 *
 * A job is one probe run: the addresses of the domains that wait on one
 * server address (their first server, struct slot), one transaction per
 * domain (never two domains in one: big providers refuse it), each of
 * up to --rcpt-per-transaction recipients, at most BATCH_CONN_RCPT
 * recipients and BATCH_CONN_TXNS transactions per connection.  The
 * first domain leads: the run walks its servers (probe.c, from its DNS
 * facts), and the other domains' transactions are asked only on the
 * group's server (probe_request.group_server); when the walk goes
 * elsewhere they are put back, never sent to another domain's fallback.
 * A domain with no usable server runs alone (a solo job), so that the
 * engine states why.
 *
 * When the run is done every address gets its result from the records
 * (probe_group_result(), the verdict is diag.c's) or goes back to wait:
 * not asked (the error budget, a slow server, the connection ended),
 * too many recipients, or turned away (421: after the back-off, counted
 * against --retries).  The first address of a job always gets an answer
 * or uses a try, so the run always ends.  Owns the job, its plan and
 * records; the items go back to batch.c.
 */
#include <stdlib.h>
#include <string.h>

#include "batchint.h"
#include "diag.h"
#include "record.h"

/* What one pass over the waiting domains takes for a job. */
struct pick {
	size_t		 ntxns, nitems, nctl;
};

/* Will domain d's next transaction ask the catch-all control? */
static bool
wants_control(const struct batch *b, const struct dom *d)
{
	return b->ctx->cfg->catch_all && d->catch_all_code == 0 &&
	    !d->control_out;
}

/*
 * Walk the domains of the job (the solo one, or those waiting on s) and
 * take their addresses into transactions, as the limits allow: counting
 * only (j NULL), or filling j, whose arrays were sized by a counting
 * pass over the same state.
 */
static void
pick(struct batch *b, struct slot *s, struct dom *solo, size_t max_items,
    size_t txn_cap, struct job *j, struct pick *pk)
{
	struct dom *d, *dn;
	struct item *it;
	bool ctl;

	memset(pk, 0, sizeof(*pk));
	for (d = solo != NULL ? solo : TAILQ_FIRST(&s->ready); d != NULL &&
	    pk->nitems < max_items && pk->ntxns < BATCH_CONN_TXNS; d = dn) {
		dn = solo != NULL ? NULL : TAILQ_NEXT(d, rlink);
		ctl = wants_control(b, d);
		it = TAILQ_FIRST(&d->items);
		while (it != NULL && pk->nitems < max_items &&
		    pk->ntxns < BATCH_CONN_TXNS) {
			struct jtxn *jt = j != NULL ? &j->jt[pk->ntxns] : NULL;
			bool utf8 = it->utf8;
			size_t n = 0;

			if (jt != NULL) {
				jt->dom = d;
				jt->first = pk->nitems;
				jt->control = ctl;
				if (ctl)
					d->control_out = true;
			}
			/* One transaction: addresses of one domain, all
			 * needing SMTPUTF8 or none. */
			while (it != NULL && n < txn_cap &&
			    pk->nitems < max_items && it->utf8 == utf8) {
				struct item *nx = TAILQ_NEXT(it, link);

				if (j != NULL) {
					TAILQ_REMOVE(&d->items, it, link);
					j->items[pk->nitems] = it;
					it->tries++;
				}
				pk->nitems++;
				n++;
				it = nx;
			}
			if (jt != NULL)
				jt->n = n;
			pk->nctl += ctl;
			ctl = false;
			pk->ntxns++;
			if (j != NULL && j->lead == d)
				j->group_from = pk->ntxns;
		}
	}
}

/* The plan of job j, from its transactions: sender, recipients (the
 * catch-all control last where one is asked), the session's rules. */
static void
job_plan(struct batch *b, struct job *j, struct slot *s)
{
	const struct probe_config *cfg = b->ctx->cfg;
	char why[256];
	size_t i, k, r = 0;

	for (i = 0; i < j->ntxns; i++) {
		struct jtxn *jt = &j->jt[i];
		struct plan_txn *t = &j->txns[i];

		t->from = cfg->from;
		t->rcpts = &j->rcpts[r];
		t->need_smtputf8 = j->items[jt->first]->utf8;
		for (k = 0; k < jt->n; k++)
			j->rcpts[r++].mailbox = j->items[jt->first + k]->mailbox;
		if (jt->control && address_parse(j->items[jt->first]->address,
		    b->scratch_addr, why, sizeof(why)) == ADDRESS_OK &&
		    (jt->ctl = malloc(LIMIT_ADDRESS * 4 + 8)) != NULL) {
			probe_control_mailbox(b->scratch_addr, jt->ctl,
			    LIMIT_ADDRESS * 4 + 8);
			j->rcpts[r].mailbox = jt->ctl;
			j->rcpts[r++].if_accepted = true;
		} else
			jt->control = false;
		t->nrcpts = (size_t)(&j->rcpts[r] - t->rcpts);
	}
	j->plan.txns = j->txns;
	j->plan.ntxns = j->ntxns;
	j->plan.max_rejected = (unsigned)b->opt->error_budget;
	j->plan.carry_over = true;
	j->plan.pipelining = s == NULL || !s->one_by_one;
	/* A reply much slower than the server's usual one is a tarpit:
	 * stop asking there (batchserver.c slows the server down). */
	j->plan.slow_reply_ms = BATCH_SLOW_MIN_MS;
	if (s != NULL && s->lat_ms * BATCH_SLOW_FACTOR * 2 > BATCH_SLOW_MIN_MS)
		j->plan.slow_reply_ms = (unsigned)(s->lat_ms *
		    BATCH_SLOW_FACTOR * 2);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	plan_clear(&j->plan);
	for (size_t i = 0; j->jt != NULL && i < j->ntxns; i++)
		free(j->jt[i].ctl);
	if (j->res != NULL) {
		result_clear(j->res);
		free(j->res);
	}
	free(j->txns);
	free(j->jt);
	free(j->rcpts);
	free(j->items);
	free(j);
}

/* A job with room for what pk counted; NULL without memory. */
static struct job *
job_new(struct batch *b, const struct pick *pk)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->res = malloc(sizeof(*j->res))) == NULL ||
	    (j->txns = calloc(pk->ntxns, sizeof(*j->txns))) == NULL ||
	    (j->jt = calloc(pk->ntxns, sizeof(*j->jt))) == NULL ||
	    (j->rcpts = calloc(pk->nitems + pk->nctl,
	    sizeof(*j->rcpts))) == NULL ||
	    (j->items = calloc(pk->nitems, sizeof(*j->items))) == NULL) {
		job_free(j);
		return NULL;
	}
	result_init(j->res, "");
	j->b = b;
	j->ntxns = pk->ntxns;
	j->nitems = pk->nitems;
	return j;
}

static void job_done(void *arg, struct probe_result *res);

/*
 * Start a connection: to server s for the domains waiting on it, or for
 * the domain solo that has no usable server.  false when nothing may
 * start now (the --rate bucket is empty, no memory).
 */
bool
job_start(struct batch *b, struct slot *s, struct dom *solo, double now)
{
	struct probe_request req;
	struct pick pk;
	struct job *j;
	size_t txn_cap = (size_t)b->opt->rcpt_per_txn, got;
	struct dom *d;

	if (s != NULL && s->rcpt_cap > 0 && (size_t)s->rcpt_cap < txn_cap)
		txn_cap = (size_t)s->rcpt_cap;
	(void)rate_take(b, now, BATCH_CONN_RCPT, &got);
	if (got == 0)
		return false;
	pick(b, s, solo, got, txn_cap, NULL, &pk);
	if (pk.nitems == 0 || (j = job_new(b, &pk)) == NULL) {
		rate_put(b, got);
		if (pk.nitems > 0)
			b->stopping = true;	/* no memory */
		return false;
	}
	rate_put(b, got - pk.nitems);
	j->slot = s;
	j->lead = solo != NULL ? solo : TAILQ_FIRST(&s->ready);
	pick(b, s, solo, got, txn_cap, j, &pk);
	job_plan(b, j, s);
	/* Domains left without waiting addresses leave the server's list;
	 * those with more go to its end, for the others' turn. */
	for (size_t i = 0; i < j->ntxns; i++) {
		d = j->jt[i].dom;
		if ((i > 0 && j->jt[i - 1].dom == d) || !d->in_ready)
			continue;	/* a domain's transactions are together */
		if (d->slot != NULL)
			TAILQ_REMOVE(&d->slot->ready, d, rlink);
		else
			TAILQ_REMOVE(&b->solo, d, rlink);
		d->in_ready = false;
		dom_place(b, d);
	}
	memset(&req, 0, sizeof(req));
	req.plan = &j->plan;
	req.resolved = j->lead->dns;
	req.kind = RESULT_ADDRESS;
	if (s != NULL) {
		req.group_server = s->ip;
		req.group_from = j->group_from;
	}
	TAILQ_INSERT_TAIL(&b->jobs, j, link);
	b->njobs++;
	if (s != NULL) {
		s->pending++;	/* until its run asks leave to connect */
		s->njobs++;
	}
	b->starting = j;
	j->run = probe_start_request(b->ctx, j->items[0]->address, j->res,
	    &req, job_done, j);
	b->starting = NULL;
	if (j->run == NULL)
		/* res holds the local error: every address shares it. */
		job_done(j, j->res);
	return true;
}

/* ---- when the connection is over ---------------------------------------- */

/* When an address turned away by server s may be tried again. */
static double
backoff_end(struct batch *b, const struct slot *s)
{
	double now = monotonic_ms();

	return s != NULL && s->backoff_until > now ? s->backoff_until :
	    now + b->opt->backoff_ms;
}

/* The catch-all answers of job j: each domain's control, into its
 * domain; each transaction learns the code its addresses are judged
 * with (that connection's answer, or the one known). */
static void
job_controls(struct job *j, int *codes)
{
	size_t i;

	for (i = 0; i < j->ntxns; i++) {
		struct jtxn *jt = &j->jt[i];
		struct plan_txn *t = &j->txns[i];
		const struct reply *rp;

		codes[i] = jt->dom->catch_all_code;
		if (!jt->control)
			continue;
		jt->dom->control_out = false;
		rp = t->rcpts[t->nrcpts - 1].reply.reply;
		codes[i] = rp != NULL ? rp->code : 0;
		if (codes[i] / 100 == 2 || codes[i] / 100 == 5)
			jt->dom->catch_all_code = codes[i];
	}
	for (i = 0; i < j->ntxns; i++)
		if (!j->jt[i].control && j->jt[i].dom->catch_all_code != 0)
			codes[i] = j->jt[i].dom->catch_all_code;
}

/* The result of item it, built from the connection and handed on. */
static void
item_result(struct batch *b, struct job *j, struct item *it,
    struct plan_txn *t, struct plan_rcpt *r, int code, size_t pos,
    bool rate)
{
	struct probe_result *out = b->scratch;
	/* Its own domain's DNS facts, unless the connection's are. */
	const struct probe_dns *dns = t != NULL &&
	    (size_t)(t - j->txns) >= j->group_from ? it->dom->dns : NULL;

	probe_group_result(j->res, dns, t, r, it->address, code, pos, out);
	if (rate)
		diag_rate_limited(out, it->tries);
	if (pos > 1)
		b->st->shared++;
	batch_finish_item(b, it, out);
}

/* An address the server turned away (421): after the back-off, or
 * reported rate_limited when its tries are used up. */
static void
item_turned(struct batch *b, struct job *j, struct item *it,
    struct plan_txn *t, struct plan_rcpt *r, int code, size_t pos)
{
	if (it->tries > b->opt->retries || b->stopping) {
		item_result(b, j, it, t, r, code, pos, true);
		return;
	}
	b->st->retries++;
	batch_requeue(b, it, backoff_end(b, j->slot));
}

/* Not this try's fault (not asked, no answer): asked again soon. */
static void
item_again(struct batch *b, struct item *it)
{
	it->tries--;
	batch_requeue(b, it, 0);
}

/* Did the lead domain's transactions get as far as MAIL anywhere? */
static bool
lead_asked(const struct job *j)
{
	size_t i;

	for (i = 0; i < j->group_from && i < j->ntxns; i++)
		if (j->txns[i].state != PLAN_TXN_NOT_ASKED)
			return true;
	return false;
}

/* An address that got no answer of its own: turned away with the server
 * (a 421), else reported as the connection left it when it is the
 * connection's first, else asked again. */
static void
item_unanswered(struct batch *b, struct job *j, struct item *it,
    struct plan_txn *t, struct plan_rcpt *r, int code, size_t pos,
    bool turned)
{
	if (turned)
		item_turned(b, j, it, t, r, code, pos);
	else if (pos == 1)
		item_result(b, j, it, t, r, code, pos, false);
	else
		item_again(b, it);
}

/* What becomes of item k of transaction ti. */
static void
job_item(struct batch *b, struct job *j, size_t ti, size_t k, int code,
    bool closing)
{
	struct jtxn *jt = &j->jt[ti];
	struct plan_txn *t = &j->txns[ti];
	struct plan_rcpt *r = &t->rcpts[k];
	struct item *it = j->items[jt->first + k];
	size_t pos = jt->first + k + 1;
	bool lead = ti < j->group_from;	/* the lead's come first */
	bool mail421 = t->mail.reply != NULL && t->mail.reply->code == 421;

	if (lead && !lead_asked(j)) {
		/* No server of the domain got as far as MAIL: what
		 * happened is the answer for all of its addresses here. */
		if (batch_rate_limited(j->res) &&
		    it->tries <= b->opt->retries && !b->stopping) {
			b->st->retries++;
			batch_requeue(b, it, backoff_end(b, slot_get(b,
			    j->res->server_ip[0] != '\0' ? j->res->server_ip :
			    j->res->server_host, false)));
		} else
			item_result(b, j, it, NULL, NULL, code, pos,
			    batch_rate_limited(j->res));
		return;
	}
	if (!lead && t->state == PLAN_TXN_NOT_ASKED) {
		/* Not asked on the group's server: never elsewhere. */
		if (j->group_turned)
			item_turned(b, j, it, t, r, code, pos);
		else
			item_again(b, it);
		return;
	}
	switch (r->state) {
	case PLAN_RCPT_ANSWERED:
		item_result(b, j, it, t, r, code, pos, false);
		return;
	case PLAN_RCPT_CLOSED:
		item_turned(b, j, it, t, r, code, pos);
		return;
	case PLAN_RCPT_NOT_ASKED:
		if (record_txn_refused(t) && !mail421)
			item_result(b, j, it, t, r, code, pos, false);
		else
			item_unanswered(b, j, it, t, r, code, pos,
			    mail421 || closing);
		return;
	case PLAN_RCPT_NO_ANSWER:
		/* Sent in a group behind a 421: turned away with it. */
		item_unanswered(b, j, it, t, r, code, pos, closing);
		return;
	case PLAN_RCPT_TOO_MANY:
	default:
		item_again(b, it);
		return;
	}
}

/* A 421 on the connection's last session: the server is closing. */
static bool
job_closing(const struct job *j)
{
	size_t i, k;

	if (!j->res->local_error && turned_away(j->res, j->res->outcome))
		return true;
	for (i = 0; i < j->ntxns; i++)
		for (k = 0; k < j->txns[i].nrcpts; k++)
			if (j->txns[i].rcpts[k].state == PLAN_RCPT_CLOSED)
				return true;
	return false;
}

static void
job_done(void *arg, struct probe_result *res)
{
	struct job *j = arg;
	struct batch *b = j->b;
	int *codes;
	size_t i, k;
	bool closing = job_closing(j);

	(void)res;
	TAILQ_REMOVE(&b->jobs, j, link);
	if (j->slot != NULL && !j->asked)
		j->slot->pending--;
	batch_note_network(b, j->res);
	b->njobs--;
	for (i = 0; i < j->ntxns; i++)
		b->st->transactions += j->txns[i].state != PLAN_TXN_NOT_ASKED;
	if (j->res->tls_done) {
		b->st->tls_sessions++;
		b->st->tls_resumed += result_tls_info(j->res)->resumed;
	}
	b->st->pipelined += j->plan.pipelined;
	if ((codes = calloc(j->ntxns, sizeof(*codes))) == NULL) {
		b->st->exit_code = EXIT_LOCAL_ERROR;
		b->stopping = true;
	} else
		job_controls(j, codes);
	for (i = 0; i < j->ntxns; i++) {
		/* RFC 5321 §4.5.3.1.10: the server took this many in one
		 * transaction; ask it no more from now on. */
		if (j->slot != NULL && j->txns[i].took > 0 &&
		    (j->slot->rcpt_cap == 0 ||
		    (size_t)j->slot->rcpt_cap > j->txns[i].took))
			j->slot->rcpt_cap = (int)j->txns[i].took;
		for (k = 0; k < j->jt[i].n; k++)
			job_item(b, j, i, k, codes != NULL ? codes[i] : 0,
			    closing);
	}
	free(codes);
	slot_after_job(b, j);
	if (j->slot != NULL)
		j->slot->njobs--;	/* it may be forgotten from now on */
	job_free(j);
	batch_pump(b);
}

/* Interrupted: the addresses of job j, reported as not finished; the
 * run is left as it is (batch.h). */
void
job_abandon(struct batch *b, struct job *j)
{
	size_t i;

	for (i = 0; i < j->nitems; i++)
		batch_emit_unfinished(b, j->items[i], REASON_INTERRUPTED,
		    "The probe was stopped by an interruption (SIGINT or "
		    "SIGTERM) before it finished.");
}
