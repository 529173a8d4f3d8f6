/*
 * diag_helo.c — the HELO test's answers judged (diag.h): each candidate
 * name accepted (RCPT took it), rejected (refused at EHLO, or refused with
 * words about the name, or refused where another name got through) or
 * unanswered, then one sentence over all of them and the exit status.  A
 * refusal every name got is about the envelope, not the name.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codes.h"
#include "diag.h"
#include "helofacts.h"

static bool
is_about_helo(const struct rec_reply *rr, const char *name)
{
	const struct reply *rp = rr->reply;
	struct codes_diagnosis d;
	char text[2048], pat[LIMIT_HELO_NAME + 3];

	reply_text_join_noesc(rp, text, sizeof(text));
	codes_classify(rr->cmd, rp->code, rp->esc_class, rp->esc_subject,
	    rp->esc_detail, text, &d);
	if (d.category == CODES_CAT_HELO_REJECTED)
		return true;
	/* Postfix names the HELO argument in angle brackets when a HELO
	 * restriction refuses it: "<localhost>: Helo command rejected". */
	snprintf(pat, sizeof(pat), "<%s>", name);
	return strcasestr(text, pat) != NULL;
}

static const struct rec_reply *
find_reply(const struct stage_rec *st, int cmd)
{
	for (size_t i = 0; i < st->nreplies; i++)
		if (st->replies[i].cmd == cmd)
			return &st->replies[i];
	return NULL;
}

/* The last reply to EHLO or HELO, before or inside TLS. */
static const struct rec_reply *
last_hello(const struct probe_result *r)
{
	const struct rec_reply *last = NULL;
	int st, cmds[] = { STAGE_EHLO, STAGE_TLS };

	for (st = 0; st < 2; st++) {
		const struct stage_rec *s = &r->stages[cmds[st]];
		for (size_t i = 0; i < s->nreplies; i++)
			if (s->replies[i].cmd == CODES_CMD_EHLO ||
			    s->replies[i].cmd == CODES_CMD_HELO)
				last = &s->replies[i];
	}
	return last;
}

static void
classify(struct helotest_candidate *c)
{
	const struct probe_result *r = c->res;
	const struct rec_reply *ref = NULL;
	int code;

	c->refused_at = STAGE_ADDRESS;
	c->status = HT_UNKNOWN;
	c->ehlo = find_reply(&r->stages[STAGE_EHLO], CODES_CMD_EHLO);
	c->helo = find_reply(&r->stages[STAGE_EHLO], CODES_CMD_HELO);
	c->mail = r->stages[STAGE_MAIL].nreplies ?
	    &r->stages[STAGE_MAIL].replies[0] : NULL;
	c->rcpt = r->stages[STAGE_RCPT].nreplies ?
	    &r->stages[STAGE_RCPT].replies[0] : NULL;

	if ((c->rcpt != NULL && c->rcpt->untrusted) ||
	    (c->mail != NULL && c->mail->untrusted)) {
		/* A reply nobody asked for came first (reply.out_of_step):
		 * these answers may belong to other commands. */
		snprintf(c->note, sizeof(c->note), "no answer about the name "
		    "(the server's replies were out of step)");
		return;
	}
	if ((c->rcpt != NULL && c->rcpt->reply->incomplete) ||
	    (c->mail != NULL && c->mail->reply->incomplete)) {
		/* A reply that never ended answers nothing. */
		snprintf(c->note, sizeof(c->note), "no answer about the name "
		    "(a reply was cut off or was not an SMTP reply)");
		return;
	}
	if (c->rcpt != NULL && reply_contradicts(c->rcpt->reply)) {
		/* No answer rests on a reply that contradicts itself. */
		snprintf(c->note, sizeof(c->note), "the RCPT reply contradicts "
		    "itself; no answer about the name");
		return;
	}
	if (c->rcpt != NULL && c->rcpt->reply->code / 100 == 2) {
		c->status = HT_ACCEPTED;
		c->answered = true;
		return;
	}
	if (c->rcpt != NULL && c->rcpt->reply->code / 100 >= 4) {
		ref = c->rcpt;
		c->refused_at = STAGE_RCPT;
	} else if (c->mail != NULL && c->mail->reply->code / 100 >= 4) {
		ref = c->mail;
		c->refused_at = STAGE_MAIL;
	} else if (c->outcome == OUTCOME_HELO_REJECTED ||
	    (c->outcome == OUTCOME_GREETING_TEMPORARY &&
	    (r->outcome_stage == STAGE_EHLO || r->outcome_stage == STAGE_TLS))) {
		ref = last_hello(r);
		c->refused_at = STAGE_EHLO;
	}
	if (ref == NULL || (code = ref->reply->code) == 421) {
		/* Nothing about the name: the connection, the greeting, a
		 * timeout, TLS, or a server closing down. */
		const char *err = stage_error(&r->stages[r->outcome_stage]);

		c->refused_at = STAGE_ADDRESS;
		snprintf(c->note, sizeof(c->note), "no answer about the name "
		    "(%s at %s%s%s)", session_outcome_name(c->outcome),
		    stage_name(r->outcome_stage), err[0] ? ": " : "", err);
		return;
	}
	c->refusal = ref;
	c->temporary = code / 100 == 4;
	c->about_helo = is_about_helo(ref, c->name);
	if (c->refused_at == STAGE_EHLO && !c->temporary) {
		/* EHLO and HELO both refused. */
		c->status = HT_REJECTED;
		c->answered = true;
	} else if (c->about_helo) {
		c->status = HT_REJECTED;
		c->answered = true;
	} else if (!c->temporary) {
		/* A permanent refusal that does not name the HELO: decided
		 * below by comparing with the other names. */
		c->answered = true;
	} else
		snprintf(c->note, sizeof(c->note), "a temporary refusal that "
		    "does not mention the HELO name");
}

/* Did some other tested candidate get past stage st? */
static bool
other_passed(const struct helotest_result *ht, size_t self, enum stage st)
{
	for (size_t i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *o = &ht->cand[i];
		const struct rec_reply *rr = st == STAGE_RCPT ? o->rcpt :
		    o->mail;

		if (i != self && o->tested && rr != NULL && !rr->untrusted &&
		    !rr->reply->incomplete && rr->reply->code / 100 == 2)
			return true;
	}
	return false;
}

static void
append_kinds(char *buf, size_t len, const char *title,
    const struct helotest_result *ht, enum helotest_status want,
    bool *first)
{
	bool any = false;
	size_t i, n;

	for (i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *c = &ht->cand[i];
		const struct helotest_candidate *o = c->same_as >= 0 ?
		    &ht->cand[c->same_as] : c;

		if (!o->tested || o->status != want)
			continue;
		if (want == HT_UNKNOWN && o->answered)
			continue;
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", !any ? (*first ? "" : "; ") :
		    ", ", !any ? title : "");
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s", helotest_kind_label(c->kind));
		any = true;
	}
	if (any)
		*first = false;
}

void
diag_helo_test(struct helotest_result *ht)
{
	size_t i, nsame = 0;
	bool first = true;
	const struct rec_reply *same = NULL;

	for (i = 0; i < ht->ncand; i++)
		if (ht->cand[i].tested)
			classify(&ht->cand[i]);
	for (i = 0; i < ht->ncand; i++) {
		struct helotest_candidate *c = &ht->cand[i];

		if (!c->tested)
			continue;
		if (c->answered)
			ht->nanswered++;
		if (!c->answered || c->status != HT_UNKNOWN)
			continue;
		if (other_passed(ht, i, c->refused_at))
			c->status = HT_REJECTED;
		else {
			snprintf(c->note, sizeof(c->note), "every name got "
			    "this refusal at %s: it is about the envelope, "
			    "not the HELO name", stage_name(c->refused_at));
			nsame++;
			same = c->refusal;
		}
	}

	ht->conclusion[0] = '\0';
	if (ht->nanswered == 0) {
		snprintf(ht->conclusion, sizeof(ht->conclusion), "no answer: "
		    "no name got a definite reply to EHLO, MAIL or RCPT");
		ht->exit_code = EXIT_UNKNOWN;
		return;
	}
	ht->exit_code = 0;
	if (nsame > 0 && same != NULL && nsame == ht->nanswered) {
		snprintf(ht->conclusion, sizeof(ht->conclusion), "no "
		    "difference between the names: every one that got an "
		    "answer was refused at %s with %d, which is not about the "
		    "HELO name", same->cmd == CODES_CMD_MAIL ? "MAIL" : "RCPT",
		    same->reply->code);
		return;
	}
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "rejects: ", ht,
	    HT_REJECTED, &first);
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "accepts: ", ht,
	    HT_ACCEPTED, &first);
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "no answer: ",
	    ht, HT_UNKNOWN, &first);
}
