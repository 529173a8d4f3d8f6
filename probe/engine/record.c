/*
 * record.c — a plan's answers into a probe_result (record.h).
 *
 * The session writes what the server answered into the plan's records;
 * the mode then says which records are an address's own, and this file
 * files them into that address's result: the reply in its stage (checked
 * against the command table, with the findings its deviations call for),
 * the stage's status, and the finding that names a refusal.  The verdict
 * is diag.c's.
 */
#include "record.h"

static void
worse(struct stage_rec *sr, enum stage_status st)
{
	if (sr->status == STATUS_SKIPPED || st > sr->status)
		sr->status = st;
}

/*
 * A reply that cannot be taken as the answer to its command, so the stage
 * cannot be ok and the verdict cannot rest on it: one that never ended
 * (cut at smtpprobe's limits, or a line that is no reply; the reply
 * checker has said which) answers nothing, and one taken after the
 * server had sent a reply nobody asked for (the session's
 * session.unsolicited_reply) may answer another command.
 */
static bool
not_an_answer(struct probe_result *res, enum stage st,
    const struct rec_reply *rr, const char *what)
{
	if (rr->reply->incomplete) {
		worse(&res->stages[st], STATUS_FAIL);
		return true;
	}
	if (!rr->untrusted)
		return false;
	worse(&res->stages[st], STATUS_WARN);
	result_finding(res, FINDING_REPLY_OUT_OF_STEP, st, NULL, "the reply %d "
	    "to %s came when the server's replies were out of step with the "
	    "commands: it may be the answer to another command",
	    rr->reply->code, what);
	return true;
}

/* The answer to MAIL FROM of transaction t, into the MAIL stage: moved
 * out of the record, or with copy a copy of it. */
static void
record_mail(struct probe_result *res, struct plan_txn *t, bool copy)
{
	struct stage_rec *sr = &res->stages[STAGE_MAIL];
	const struct rec_reply *rr;
	int code;

	if (t->state == PLAN_TXN_NO_SMTPUTF8) {
		result_finding(res, FINDING_RCPT_SMTPUTF8_UNSUPPORTED,
		    STAGE_RCPT, NULL, "the address has a non-ASCII local part, "
		    "and this server does not offer SMTPUTF8, so it cannot "
		    "accept mail for it");
		worse(&res->stages[STAGE_RCPT], STATUS_FAIL);
		return;
	}
	if ((rr = copy ? result_copy_reply(res, STAGE_MAIL, &t->mail) :
	    result_file_reply(res, STAGE_MAIL, &t->mail)) == NULL)
		return;
	code = rr->reply->code;
	sr->elapsed_ms = rr->elapsed_ms;
	if (not_an_answer(res, STAGE_MAIL, rr, "MAIL FROM"))
		return;
	if (code / 100 == 2 && rr->legality != CODES_ILLEGAL) {
		worse(sr, STATUS_OK);
		return;
	}
	worse(sr, STATUS_FAIL);
	if (rr->legality != CODES_ILLEGAL)
		result_finding(res, code / 100 == 4 ? FINDING_MAIL_TEMPORARY :
		    FINDING_MAIL_REJECTED, STAGE_MAIL, NULL, "the server %s "
		    "the sender <%s> with %d", code / 100 == 4 ? "deferred" :
		    "refused", t->from, code);
}

/* The answer to recipient r, into the RCPT stage; NULL when none came. */
const struct rec_reply *
record_rcpt(struct probe_result *res, struct plan_rcpt *r)
{
	struct stage_rec *sr = &res->stages[STAGE_RCPT];
	const struct rec_reply *rr;
	int code;

	if ((rr = result_file_reply(res, STAGE_RCPT, &r->reply)) == NULL)
		return NULL;
	code = rr->reply->code;
	sr->elapsed_ms = rr->elapsed_ms;
	if (not_an_answer(res, STAGE_RCPT, rr, "RCPT TO"))
		return rr;
	if (rr->legality == CODES_ILLEGAL)
		worse(sr, STATUS_FAIL);
	else if (code / 100 == 2)
		worse(sr, STATUS_OK);
	else {
		worse(sr, STATUS_FAIL);
		result_finding(res, code / 100 == 4 ? FINDING_RCPT_TEMPORARY :
		    FINDING_RCPT_REJECTED, STAGE_RCPT, NULL, "the server %s "
		    "the recipient with %d", code / 100 == 4 ? "deferred" :
		    "refused", code);
	}
	return rr;
}

/* Records that stay with the caller (the relay test's forms): the
 * result gets the findings about the replies, and the MAIL and RCPT
 * stages say whether every reply was one the command may get. */
void
record_forms(struct probe_result *res, const struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->ntxns; i++) {
		const struct plan_txn *t = &p->txns[i];

		if (t->mail.reply == NULL)
			continue;
		result_note_reply(res, STAGE_MAIL, &t->mail);
		(void)not_an_answer(res, STAGE_MAIL, &t->mail, "MAIL FROM");
		worse(&res->stages[STAGE_MAIL], t->mail.legality ==
		    CODES_ILLEGAL ? STATUS_FAIL : STATUS_OK);
		for (j = 0; j < t->nrcpts; j++) {
			const struct rec_reply *rr = &t->rcpts[j].reply;

			if (rr->reply == NULL)
				continue;
			result_note_reply(res, STAGE_RCPT, rr);
			(void)not_an_answer(res, STAGE_RCPT, rr, "RCPT TO");
			worse(&res->stages[STAGE_RCPT], rr->legality ==
			    CODES_ILLEGAL ? STATUS_FAIL : STATUS_OK);
		}
	}
}

void
record_address(struct probe_result *res, struct plan *p)
{
	if (p->ntxns == 0)
		return;
	record_mail(res, &p->txns[0], false);
	if (p->txns[0].nrcpts > 0)
		(void)record_rcpt(res, &p->txns[0].rcpts[0]);
}

void
record_txn_mail(struct probe_result *res, struct plan_txn *t)
{
	if (t->state != PLAN_TXN_NOT_ASKED)
		record_mail(res, t, true);
}

bool
record_txn_refused(const struct plan_txn *t)
{
	return t->state == PLAN_TXN_NO_SMTPUTF8 ||
	    (t->state == PLAN_TXN_ASKED && t->mail.reply != NULL &&
	    !t->mail.untrusted && t->mail.reply->code / 100 != 2);
}
