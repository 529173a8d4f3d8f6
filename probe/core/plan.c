/*
 * plan.c — the records of a plan (plan.h): reset and release.
 */
#include <string.h>

#include "names.h"
#include "plan.h"

static void
rec_reset(struct rec_reply *rr)
{
	reply_free(rr->reply);
	memset(rr, 0, sizeof(*rr));
}

void
plan_reset(struct plan *p)
{
	size_t i, j;

	p->rejected = 0;
	p->stopped = PLAN_STOP_NONE;
	p->nreplies = 0;
	p->pipelined = 0;
	p->reply_ms = p->slowest_ms = 0;
	for (i = 0; i < p->ntxns; i++) {
		struct plan_txn *t = &p->txns[i];

		t->state = PLAN_TXN_NOT_ASKED;
		t->accepted = t->took = 0;
		rec_reset(&t->mail);
		for (j = 0; j < t->nrcpts; j++) {
			struct plan_rcpt *r = &t->rcpts[j];

			r->state = PLAN_RCPT_NOT_ASKED;
			r->timed_out = false;
			r->why[0] = '\0';
			rec_reset(&r->reply);
		}
	}
}

void
plan_clear(struct plan *p)
{
	plan_reset(p);
}

const char *
plan_rcpt_state_name(enum plan_rcpt_state s)
{
	static const char *const names[] = {
		[PLAN_RCPT_NOT_ASKED] = "not_asked",
		[PLAN_RCPT_ANSWERED] = "answered",
		[PLAN_RCPT_TOO_MANY] = "too_many",
		[PLAN_RCPT_CLOSED] = "closed",
		[PLAN_RCPT_NO_ANSWER] = "no_answer",
	};

	return NAME_OF(names, s, "unknown");
}
