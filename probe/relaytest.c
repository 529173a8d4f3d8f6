/*
 * relaytest.c — `--relay-test`: the open-relay check.
 *
 * Builds the envelope list (one per recipient form of relaytest.h), then
 * runs an ordinary probe with it: the probe finds the server as it always
 * does (--server, or the domain's MX in order, with the usual fallbacks,
 * TLS and identity checks), and the session asks these envelopes instead
 * of its one MAIL/RCPT pair.  A second probe, after a pause, does the same
 * after AUTH when --auth-user is given.  Then every answer is classified
 * and summed up: open relay yes / no / could not tell.  Owns the
 * probe_result and the envelopes of each pass.  Never DATA.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "relaytest.h"

/* RFC 2606 §3: example.net is reserved; a recipient there can never
 * receive anything, and no DATA is sent anyway. */
#define RELAYTEST_DEFAULT_RCPT	"relay-test@example.net"

static const char *const variant_names[RV_COUNT] = {
	"plain", "percent_hack", "bang_path", "quoted", "source_route",
};
static const char *const variant_labels[RV_COUNT] = {
	"outside address", "%-hack", "bang path", "quoted local part",
	"source route",
};

const char *
relaytest_variant_name(enum relay_variant v)
{
	return (unsigned)v < RV_COUNT ? variant_names[v] : "unknown";
}

const char *
relaytest_variant_label(enum relay_variant v)
{
	return (unsigned)v < RV_COUNT ? variant_labels[v] : "unknown";
}

const char *
relaytest_status_name(enum relay_status s)
{
	switch (s) {
	case RELAY_ACCEPTED: return "accepted";
	case RELAY_REFUSED: return "refused";
	default: return "unknown";
	}
}

/* The recipient of variant v: local@outdom routed through server. */
static void
make_rcpt(enum relay_variant v, const char *local, const char *outdom,
    const char *server, char *buf, size_t len)
{
	switch (v) {
	case RV_PERCENT:
		snprintf(buf, len, "%s%%%s@%s", local, outdom, server);
		break;
	case RV_BANG:
		snprintf(buf, len, "%s!%s@%s", outdom, local, server);
		break;
	case RV_QUOTED:
		snprintf(buf, len, "\"%s@%s\"@%s", local, outdom, server);
		break;
	case RV_SOURCE_ROUTE:
		snprintf(buf, len, "@%s:%s@%s", server, local, outdom);
		break;
	default:
		snprintf(buf, len, "%s@%s", local, outdom);
		break;
	}
}

/* The answer to one envelope. */
static void
classify(struct relaytest_pass *p, size_t i)
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
	if (r->code / 100 == 2) {
		p->status[i] = RELAY_ACCEPTED;
		p->naccepted++;
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

static void
summarise(struct relaytest_result *rt)
{
	struct relaytest_pass *u = &rt->pass[0], *a = &rt->pass[1];
	char acc[200], ev[512];
	size_t i, n;

	for (i = 0; i < rt->npass; i++)
		for (size_t v = 0; v < RV_COUNT; v++)
			classify(&rt->pass[i], v);

	rt->auth_relay = -1;
	if (u->naccepted > 0) {
		rt->open_relay = 1;
		rt->exit_code = 1;
		list_variants(u, RELAY_ACCEPTED, acc, sizeof(acc));
		for (i = 0; i < RV_COUNT; i++)
			if (u->status[i] == RELAY_ACCEPTED) {
				snprintf(ev, sizeof(ev), "RCPT TO:<%s> -> %d",
				    u->txns[i].rcpt,
				    u->txns[i].rcpt_reply.reply->code);
				break;
			}
		result_finding(u->res, FINDING_RELAY_OPEN, STAGE_RCPT, ev,
		    "the server accepts a recipient in an outside domain "
		    "without authentication (%s): anyone can send mail through "
		    "it", acc);
		snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: "
		    "yes; accepted without authentication: %s%s", acc,
		    u->status[RV_PLAIN] == RELAY_ACCEPTED ? "" : " (only "
		    "forms at the server's own domain: an open relay if it "
		    "routes them outside, else a catch-all for its own "
		    "domain; look where such mail would go)");
	} else if (u->ran && u->nrefused == RV_COUNT) {
		rt->open_relay = 0;
		rt->exit_code = 0;
		snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: "
		    "no; every outside recipient was refused without "
		    "authentication");
	} else {
		rt->open_relay = -1;
		rt->exit_code = EXIT_UNKNOWN;
		snprintf(rt->conclusion, sizeof(rt->conclusion), "open relay: "
		    "could not tell; %zu of %d recipient forms got a definite "
		    "answer without authentication%s%s", u->nrefused,
		    RV_COUNT, u->res != NULL && u->res->summary[0] &&
		    u->res->outcome != OUTCOME_ANSWERED ? ": " : "",
		    u->res != NULL && u->res->outcome != OUTCOME_ANSWERED ?
		    u->res->summary : "");
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

/* The plan of one pass: one transaction per form, and where its
 * answers go back to. */
struct pass_plan {
	struct plan		 plan;
	struct plan_txn		 txns[RV_COUNT];
	struct plan_rcpt	 rcpts[RV_COUNT];
};

static void
pass_plan_init(struct pass_plan *pp, struct relaytest_pass *p)
{
	size_t i;

	memset(pp, 0, sizeof(*pp));
	for (i = 0; i < RV_COUNT; i++) {
		pp->rcpts[i].mailbox = p->txns[i].rcpt;
		pp->txns[i].from = p->txns[i].from;
		pp->txns[i].rcpts = &pp->rcpts[i];
		pp->txns[i].nrcpts = 1;
	}
	pp->plan.txns = pp->txns;
	pp->plan.ntxns = RV_COUNT;
}

/* The answers of the last connection, out of the plan's records. */
static void
pass_plan_take(struct pass_plan *pp, struct relaytest_pass *p)
{
	size_t i;

	for (i = 0; i < RV_COUNT; i++) {
		struct relaytest_txn *t = &p->txns[i];

		t->asked = pp->txns[i].state == PLAN_TXN_ASKED;
		t->mail = pp->txns[i].mail;
		t->rcpt_reply = pp->rcpts[i].reply;
		memset(&pp->txns[i].mail, 0, sizeof(pp->txns[i].mail));
		memset(&pp->rcpts[i].reply, 0, sizeof(pp->rcpts[i].reply));
	}
}

/* One connection, with or without AUTH. */
static bool
run_pass(struct probe_ctx *ctx, const char *address,
    struct relaytest_pass *p, bool with_auth, int delay_ms)
{
	struct probe_request req;
	struct pass_plan *pp;

	if ((pp = malloc(sizeof(*pp))) == NULL ||
	    (p->res = malloc(sizeof(*p->res))) == NULL) {
		free(pp);
		return false;
	}
	pass_plan_init(pp, p);
	memset(&req, 0, sizeof(req));
	req.plan = &pp->plan;
	req.no_auth = !with_auth;
	req.kind = RESULT_RELAY_PASS;
	req.delay_ms = delay_ms;
	p->authenticated = with_auth;
	probe_request_sync(ctx, address, p->res, &req);
	pass_plan_take(pp, p);
	plan_clear(&pp->plan);
	free(pp);
	p->ran = true;
	p->auth_ok = with_auth &&
	    p->res->stages[STAGE_AUTH].status == STATUS_OK;
	return true;
}

void
relaytest_run(struct probe_ctx *ctx, const char *target,
    const char *outside, struct relaytest_result *rt)
{
	const struct probe_config *cfg = ctx->cfg;
	char address[LIMIT_ADDRESS * 4 + 32], local[LIMIT_LOCAL_PART * 4 + 3];
	char outdom[LIMIT_DOMAIN + 1], why[256];
	struct address *a;
	const char *at;
	size_t i, p;

	memset(rt, 0, sizeof(*rt));
	rt->open_relay = -1;
	rt->auth_relay = -1;
	snprintf(rt->from, sizeof(rt->from), "%s", cfg->from);
	snprintf(rt->outside, sizeof(rt->outside), "%s",
	    outside != NULL && outside[0] ? outside : RELAYTEST_DEFAULT_RCPT);
	at = strrchr(rt->outside, '@');
	if (at == NULL || (size_t)(at - rt->outside) >= sizeof(local) ||
	    strlen(at + 1) >= sizeof(outdom)) {
		rt->exit_code = EXIT_USAGE;
		snprintf(rt->error, sizeof(rt->error), "bad outside recipient");
		return;
	}
	memcpy(local, rt->outside, (size_t)(at - rt->outside));
	local[at - rt->outside] = '\0';
	snprintf(outdom, sizeof(outdom), "%s", at + 1);

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rt->exit_code = EXIT_LOCAL_ERROR;
		snprintf(rt->error, sizeof(rt->error), "out of memory");
		return;
	}
	if (target != NULL && target[0] != '\0') {
		snprintf(rt->target, sizeof(rt->target), "%s", target);
		snprintf(address, sizeof(address), strchr(target, '@') ?
		    "%s" : "postmaster@%s", target);
	} else
		probe_carrier_address(cfg->server_host, address,
		    sizeof(address));
	if (address_parse(address, a, why, sizeof(why)) != ADDRESS_OK) {
		free(a);
		rt->exit_code = EXIT_BAD_ADDRESS;
		snprintf(rt->error, sizeof(rt->error), "%s", why);
		return;
	}
	snprintf(rt->server_domain, sizeof(rt->server_domain), "%s",
	    a->literal ? a->domain : a->domain_ascii);
	free(a);

	rt->npass = cfg->auth_user[0] != '\0' ? 2 : 1;
	for (p = 0; p < rt->npass; p++)
		for (i = 0; i < RV_COUNT; i++) {
			struct relaytest_txn *t = &rt->pass[p].txns[i];

			snprintf(t->from, sizeof(t->from), "%s", cfg->from);
			make_rcpt((enum relay_variant)i, local, outdom,
			    rt->server_domain, t->rcpt, sizeof(t->rcpt));
		}
	for (p = 0; p < rt->npass; p++) {
		if (p > 0) {
			const struct probe_result *r0 = rt->pass[0].res;

			/* No second connection to a server that could not be
			 * reached at all. */
			if (!r0->has_server ||
			    r0->outcome == OUTCOME_CONNECT_FAILED ||
			    r0->outcome == OUTCOME_CONNECT_TIMEOUT ||
			    r0->outcome == OUTCOME_LOCAL_ERROR ||
			    r0->stages[STAGE_DNS].status == STATUS_FAIL)
				break;
		}
		if (!run_pass(ctx, address, &rt->pass[p], p == 1,
		    p > 0 ? RELAYTEST_PAUSE_MS : 0)) {
			rt->exit_code = EXIT_LOCAL_ERROR;
			snprintf(rt->error, sizeof(rt->error), "out of memory");
			return;
		}
		if (rt->pass[p].res->local_error) {
			rt->exit_code = EXIT_LOCAL_ERROR;
			snprintf(rt->error, sizeof(rt->error), "%s",
			    rt->pass[p].res->local_error_msg);
			return;
		}
	}
	summarise(rt);
}

void
relaytest_clear(struct relaytest_result *rt)
{
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < RV_COUNT; i++) {
			struct relaytest_txn *t = &rt->pass[p].txns[i];

			reply_free(t->mail.reply);
			reply_free(t->rcpt_reply.reply);
			t->mail.reply = t->rcpt_reply.reply = NULL;
		}
		if (rt->pass[p].res != NULL) {
			result_clear(rt->pass[p].res);
			free(rt->pass[p].res);
			rt->pass[p].res = NULL;
		}
	}
}
