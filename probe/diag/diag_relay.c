/*
 * diag_relay.c — the relay test's answers judged (diag.h): each recipient
 * form's reply classified (accepted, refused, or why it proves nothing:
 * out of step, cut off, contradicting itself, a syntax refusal, a local
 * form whose made-up control was accepted too), then the conclusion —
 * open relay yes / no / could not tell, and the same after AUTH — with
 * its findings and exit status.  Only an outside recipient accepted as
 * such, without authentication, proves an open relay.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "relayfacts.h"

/*
 * A refusal of the form's syntax, not of relaying: 500/501, an enhanced
 * code for bad syntax (X.1.3, X.5.2, X.5.4), or a text about syntax or
 * address literals ("501 domain literals not allowed").
 */
static bool
syntax_refusal(const struct reply *r)
{
	char text[1024];

	if (r->code == 500 || r->code == 501)
		return true;
	if (r->esc_class == 5 && ((r->esc_subject == 1 && r->esc_detail == 3) ||
	    (r->esc_subject == 5 && (r->esc_detail == 2 ||
	    r->esc_detail == 4))))
		return true;
	reply_text_join(r, text, sizeof(text));
	return strcasestr(text, "syntax") != NULL ||
	    strcasestr(text, "literal") != NULL;
}

/* A local form (%-hack, bang path, quoted) was accepted: its control
 * decides what that means. */
static void
classify_local(struct relaytest_pass *p, size_t i)
{
	const struct reply *c = p->txns[i].control.reply;

	if (c != NULL && c->code / 100 == 2 && !reply_contradicts(c)) {
		p->any_local_part = true;
		snprintf(p->note[i], sizeof(p->note[i]), "could not tell: the "
		    "domain accepts any local part (a made-up one was "
		    "accepted too), so accepting this form proves nothing; "
		    "whether it relays depends on what the server later does "
		    "with it, which RCPT cannot show");
	} else if (c != NULL && c->code / 100 == 5) {
		p->status[i] = RELAY_ACCEPTED;
		p->nlocal++;
		snprintf(p->note[i], sizeof(p->note[i]), "accepted while a "
		    "made-up local part at the same domain was refused (%d): "
		    "the server gives this form a meaning of its own; it is "
		    "an open relay if it sends such mail to the outside "
		    "domain, which RCPT cannot show", c->code);
	} else
		snprintf(p->note[i], sizeof(p->note[i]), "accepted, but the "
		    "made-up local part asked as a control got no clear "
		    "answer, so whether the domain takes any local part is "
		    "not known");
}

/* The answer to one envelope. */
static void
classify(struct relaytest_pass *p, size_t i, bool literal)
{
	const struct relaytest_txn *t = &p->txns[i];
	const struct reply *m = t->mail.reply, *r = t->rcpt_reply.reply;

	p->status[i] = RELAY_UNKNOWN;
	if (!t->asked || m == NULL) {
		snprintf(p->note[i], sizeof(p->note[i]), "not asked: %s",
		    p->res->outcome == OUTCOME_AUTH_FAILED ? "AUTH failed" :
		    "no answer on the connection");
		return;
	}
	if (t->mail.untrusted || t->rcpt_reply.untrusted) {
		/* A reply nobody asked for came first: this one may be the
		 * answer to another command (reply.out_of_step). */
		snprintf(p->note[i], sizeof(p->note[i]), "not trusted: the "
		    "server's replies were out of step with the commands");
		return;
	}
	if (m->incomplete || (r != NULL && r->incomplete)) {
		/* A reply that never ended answers nothing. */
		snprintf(p->note[i], sizeof(p->note[i]), "no answer: the "
		    "reply was cut off or was not an SMTP reply");
		return;
	}
	if (m->code / 100 != 2) {
		snprintf(p->note[i], sizeof(p->note[i]), "MAIL FROM was "
		    "refused (%d), so the recipient was not asked", m->code);
		return;
	}
	if (r == NULL) {
		snprintf(p->note[i], sizeof(p->note[i]), "no answer to RCPT");
		return;
	}
	if (t->rcpt_reply.legality == CODES_ILLEGAL) {
		snprintf(p->note[i], sizeof(p->note[i]), "%d is not a valid "
		    "reply to RCPT", r->code);
		return;
	}
	if (reply_contradicts(r)) {
		snprintf(p->note[i], sizeof(p->note[i]), "the reply (%d) "
		    "contradicts itself, so it proves nothing", r->code);
		return;
	}
	if (r->code / 100 == 2 && relaytest_variant_outside(
	    (enum relay_variant)i)) {
		p->status[i] = RELAY_ACCEPTED;
		p->naccepted++;
	} else if (r->code / 100 == 2)
		classify_local(p, i);
	else if (r->code / 100 == 5 && syntax_refusal(r)) {
		p->syntax = true;
		snprintf(p->note[i], sizeof(p->note[i]), "could not tell: the "
		    "server refused the form's syntax (%d), which is no "
		    "answer about relaying%s", r->code, literal ? "; the form "
		    "was built at an address literal: give --relay-domain "
		    "with the server's mail domain" : "");
	} else if (r->code / 100 == 5) {
		p->status[i] = RELAY_REFUSED;
		p->nrefused++;
	} else
		snprintf(p->note[i], sizeof(p->note[i]), "a temporary "
		    "refusal (%d) says nothing yet", r->code);
}

/* "plain, %-hack" into buf: the variants of pass p with status want. */
static void
list_variants(const struct relaytest_pass *p, enum relay_status want,
    char *buf, size_t len)
{
	size_t i, n;

	buf[0] = '\0';
	for (i = 0; i < RV_COUNT; i++) {
		if (p->status[i] != want)
			continue;
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
		    relaytest_variant_label((enum relay_variant)i));
	}
}

/* Could not tell: say why, form by form kind. */
static void
not_told(struct relaytest_result *rt)
{
	struct relaytest_pass *u = &rt->pass[0];
	char acc[200];
	size_t n;

	list_variants(u, RELAY_REFUSED, acc, sizeof(acc));
	snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: could "
	    "not tell; %zu of %d recipient forms were refused without "
	    "authentication%s%s", u->nrefused, RV_COUNT, acc[0] ? " (" : "",
	    acc);
	n = strlen(rt->conclusion);
	if (acc[0] != '\0' && n + 1 < sizeof(rt->conclusion)) {
		rt->conclusion[n++] = ')';
		rt->conclusion[n] = '\0';
	}
	if (u->nlocal > 0) {
		list_variants(u, RELAY_ACCEPTED, acc, sizeof(acc));
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n, "; "
		    "it accepts %s while refusing a made-up local part: an "
		    "open relay if it sends such mail outside, which RCPT "
		    "cannot show (look where it goes)", acc);
		n = strlen(rt->conclusion);
	}
	if (u->any_local_part) {
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n, "; "
		    "the domain accepts any local part, so the %%-hack, bang "
		    "path and quoted forms prove nothing");
		n = strlen(rt->conclusion);
	}
	if (u->syntax) {
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n, "; "
		    "some forms were refused as syntax, which is no answer "
		    "about relaying");
		n = strlen(rt->conclusion);
	}
	if (u->res != NULL && u->res->outcome != OUTCOME_ANSWERED &&
	    u->res->summary[0])
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n, ": %s",
		    u->res->summary);
}

void
diag_relay_test(struct relaytest_result *rt)
{
	struct relaytest_pass *u = &rt->pass[0], *a = &rt->pass[1];
	bool literal = rt->server_domain[0] == '[';
	char acc[200], ev[512];
	size_t i, n;

	for (i = 0; i < rt->npass; i++)
		for (size_t v = 0; v < RV_COUNT; v++)
			classify(&rt->pass[i], v, literal);

	rt->auth_relay = -1;
	if (u->naccepted > 0) {
		/* Only an outside recipient accepted as such is proof. */
		rt->open_relay = 1;
		rt->exit_code = 1;
		acc[0] = '\0';
		ev[0] = '\0';
		for (i = 0; i < RV_COUNT; i++) {
			if (u->status[i] != RELAY_ACCEPTED ||
			    !relaytest_variant_outside((enum relay_variant)i))
				continue;
			n = strlen(acc);
			snprintf(acc + n, sizeof(acc) - n, "%s%s", n ? ", " :
			    "", relaytest_variant_label((enum relay_variant)i));
			if (ev[0] == '\0')
				snprintf(ev, sizeof(ev), "RCPT TO:<%s> -> %d",
				    u->txns[i].rcpt,
				    u->txns[i].rcpt_reply.reply->code);
		}
		result_finding(u->res, FINDING_RELAY_OPEN, STAGE_RCPT, ev,
		    "the server accepts a recipient in an outside domain "
		    "without authentication (%s): anyone can send mail through "
		    "it", acc);
		snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: "
		    "yes; accepted without authentication: %s", acc);
	} else if (u->ran && u->nrefused == RV_COUNT) {
		rt->open_relay = 0;
		rt->exit_code = 0;
		snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: "
		    "no; every outside recipient was refused without "
		    "authentication");
	} else {
		rt->open_relay = -1;
		rt->exit_code = EXIT_UNKNOWN;
		not_told(rt);
	}
	if (rt->npass < 2 || !a->ran)
		return;
	n = strlen(rt->conclusion);
	if (!a->auth_ok) {
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n,
		    "; authenticated: AUTH failed, not tested");
		return;
	}
	if (a->naccepted > 0) {
		rt->auth_relay = 1;
		list_variants(a, RELAY_ACCEPTED, acc, sizeof(acc));
		result_finding(a->res, FINDING_RELAY_AUTHENTICATED, STAGE_RCPT,
		    NULL, "after AUTH the server accepts recipients in outside "
		    "domains (%s), as a submission server should", acc);
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n,
		    "; authenticated: relays (%s)", acc);
	} else if (a->nrefused == RV_COUNT) {
		rt->auth_relay = 0;
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n,
		    "; authenticated: refused too");
	} else
		snprintf(rt->conclusion + n, sizeof(rt->conclusion) - n,
		    "; authenticated: could not tell");
}
