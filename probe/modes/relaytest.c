/*
 * relaytest.c — `--relay-test`: the open-relay check.
 *
 * Builds the envelope list (one per recipient form of relaytest.h), then
 * runs an ordinary probe with it: the probe finds the server as it always
 * does (--server, or the domain's MX in order, with the usual fallbacks,
 * TLS and identity checks), and the session asks these envelopes instead
 * of its one MAIL/RCPT pair.  The forms that are local parts at the
 * server's domain carry a control recipient, a made-up local part asked
 * only once the form was accepted.  With --server alone and no
 * --relay-domain, a first connection that asks nothing learns the name the
 * server gives itself, to build the forms at.  A second probe, after a
 * pause, asks the forms after AUTH when --auth-user is given.  Then every
 * answer is handed to the diagnosis (diag_relay_test()), which
 * classifies it and sums it up: open relay yes / no / could not
 * tell.  Owns the probe_result and the envelopes of each pass.  Never
 * DATA.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "identity.h"
#include "relaytest.h"

/* RFC 2606 §3: example.net is reserved; a recipient there can never
 * receive anything, and no DATA is sent anyway. */
#define RELAYTEST_DEFAULT_RCPT	"relay-test@example.net"

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

/* The plan of one pass: one transaction per form (the local forms with
 * the control after them), and where its answers go back to. */
struct pass_plan {
	struct plan		 plan;
	struct plan_txn		 txns[RV_COUNT];
	struct plan_rcpt	 rcpts[RV_COUNT][2];
};

static void
pass_plan_init(struct pass_plan *pp, struct relaytest_pass *p,
    const char *control)
{
	size_t i;

	memset(pp, 0, sizeof(*pp));
	for (i = 0; i < RV_COUNT; i++) {
		pp->rcpts[i][0].mailbox = p->txns[i].rcpt;
		pp->txns[i].from = p->txns[i].from;
		pp->txns[i].rcpts = pp->rcpts[i];
		pp->txns[i].nrcpts = 1;
		if (!relaytest_variant_outside((enum relay_variant)i)) {
			/* plan.h: asked only once the form is accepted. */
			pp->rcpts[i][1].mailbox = control;
			pp->rcpts[i][1].if_accepted = true;
			pp->txns[i].nrcpts = 2;
		}
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
		t->rcpt_reply = pp->rcpts[i][0].reply;
		t->control = pp->rcpts[i][1].reply;
		memset(&pp->txns[i].mail, 0, sizeof(pp->txns[i].mail));
		memset(&pp->rcpts[i][0].reply, 0,
		    sizeof(pp->rcpts[i][0].reply));
		memset(&pp->rcpts[i][1].reply, 0,
		    sizeof(pp->rcpts[i][1].reply));
	}
}

/* One connection, with or without AUTH. */
static bool
run_pass(struct probe_ctx *ctx, const char *address, const char *control,
    struct relaytest_pass *p, bool with_auth, int delay_ms)
{
	struct probe_request req;
	struct pass_plan *pp;

	if ((pp = malloc(sizeof(*pp))) == NULL ||
	    (p->res = malloc(sizeof(*p->res))) == NULL) {
		free(pp);
		return false;
	}
	pass_plan_init(pp, p, control);
	memset(&req, 0, sizeof(req));
	req.plan = &pp->plan;
	req.no_auth = !with_auth;
	req.kind = RESULT_RELAY_PASS;
	req.no_tls_policy = true;
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

/*
 * With --server alone the forms would be built at the server's address
 * literal, which many servers refuse as syntax (Exim: "501 domain literals
 * not allowed", then a hang-up for too many syntax errors).  A first
 * connection that asks nothing (a plan without transactions) learns the
 * name the server gives itself in its greeting or EHLO reply (RFC 5321
 * §4.2, §4.1.1.1); true when it found one.
 */
static bool
learn_domain(struct probe_ctx *ctx, const char *address,
    struct relaytest_result *rt)
{
	static struct plan none;
	struct probe_request req;
	struct probe_result *res;
	const struct ident_server *sv;
	bool found = false;

	if ((res = malloc(sizeof(*res))) == NULL)
		return false;
	memset(&req, 0, sizeof(req));
	req.plan = &none;
	req.no_auth = true;
	req.kind = RESULT_RELAY_PASS;
	probe_request_sync(ctx, address, res, &req);
	if (res->ident.nservers > 0) {
		sv = &res->ident.servers[res->ident.nservers - 1];
		if (identity_hostname_valid(sv->banner_name)) {
			snprintf(rt->server_domain, sizeof(rt->server_domain),
			    "%s", sv->banner_name);
			found = true;
		} else if (identity_hostname_valid(sv->ehlo_name)) {
			snprintf(rt->server_domain, sizeof(rt->server_domain),
			    "%s", sv->ehlo_name);
			found = true;
		}
	}
	result_clear(res);
	free(res);
	if (found)
		rt->domain_source = RD_GREETING;
	return found;
}

/* The address the probes carry (its domain finds the server) and the
 * domain of the forms; false (with rt->error) when the target is bad. */
static bool
relay_target(const struct probe_config *cfg, const char *target,
    const char *domain, char *address, size_t len,
    struct relaytest_result *rt)
{
	struct address *a;
	char why[256], buf[LIMIT_DOMAIN + 32];

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rt->exit_code = EXIT_LOCAL_ERROR;
		snprintf(rt->error, sizeof(rt->error), "out of memory");
		return false;
	}
	if (target != NULL && target[0] != '\0') {
		snprintf(rt->target, sizeof(rt->target), "%s", target);
		snprintf(address, len, strchr(target, '@') ? "%s" :
		    "postmaster@%s", target);
		rt->domain_source = RD_TARGET;
	} else {
		probe_carrier_address(cfg->server_host, address, len);
		rt->domain_source = RD_SERVER;
	}
	if (address_parse(address, a, why, sizeof(why)) != ADDRESS_OK) {
		free(a);
		rt->exit_code = EXIT_BAD_ADDRESS;
		snprintf(rt->error, sizeof(rt->error), "%s", why);
		return false;
	}
	snprintf(rt->server_domain, sizeof(rt->server_domain), "%s",
	    a->literal ? a->domain : a->domain_ascii);
	if (domain != NULL && domain[0] != '\0') {
		snprintf(buf, sizeof(buf), "postmaster@%s", domain);
		if (address_parse(buf, a, why, sizeof(why)) != ADDRESS_OK) {
			free(a);
			rt->exit_code = EXIT_USAGE;
			snprintf(rt->error, sizeof(rt->error),
			    "--relay-domain: %s", why);
			return false;
		}
		snprintf(rt->server_domain, sizeof(rt->server_domain), "%s",
		    a->literal ? a->domain : a->domain_ascii);
		rt->domain_source = RD_OPTION;
	}
	free(a);
	return true;
}

/* The forms of every pass, and the control: a made-up local part at the
 * same domain. */
static void
build_forms(const struct probe_config *cfg, const char *local,
    const char *outdom, struct relaytest_result *rt)
{
	struct address *a;
	char buf[LIMIT_DOMAIN + 32], why[256];
	size_t i, p;

	snprintf(buf, sizeof(buf), "postmaster@%s", rt->server_domain);
	if ((a = calloc(1, sizeof(*a))) != NULL &&
	    address_parse(buf, a, why, sizeof(why)) == ADDRESS_OK)
		probe_control_mailbox(a, rt->control, sizeof(rt->control));
	free(a);
	for (p = 0; p < rt->npass; p++)
		for (i = 0; i < RV_COUNT; i++) {
			struct relaytest_txn *t = &rt->pass[p].txns[i];

			snprintf(t->from, sizeof(t->from), "%s", cfg->from);
			make_rcpt((enum relay_variant)i, local, outdom,
			    rt->server_domain, t->rcpt, sizeof(t->rcpt));
		}
}

/* The passes, one connection each; false on a local error. */
static bool
run_passes(struct probe_ctx *ctx, const char *address, int delay_ms,
    struct relaytest_result *rt)
{
	size_t p;

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
		if (!run_pass(ctx, address, rt->control, &rt->pass[p], p == 1,
		    p > 0 ? RELAYTEST_PAUSE_MS : delay_ms)) {
			rt->exit_code = EXIT_LOCAL_ERROR;
			snprintf(rt->error, sizeof(rt->error), "out of memory");
			return false;
		}
		if (rt->pass[p].res->local_error) {
			rt->exit_code = EXIT_LOCAL_ERROR;
			snprintf(rt->error, sizeof(rt->error), "%s",
			    rt->pass[p].res->local_error_msg);
			return false;
		}
	}
	return true;
}

void
relaytest_run(struct probe_ctx *ctx, const char *target,
    const char *outside, const char *domain, struct relaytest_result *rt)
{
	const struct probe_config *cfg = ctx->cfg;
	char address[LIMIT_ADDRESS * 4 + 32], local[LIMIT_LOCAL_PART * 4 + 3];
	char outdom[LIMIT_DOMAIN + 1];
	const char *at;
	int delay_ms = 0;

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

	if (!relay_target(cfg, target, domain, address, sizeof(address), rt))
		return;
	if (rt->domain_source == RD_SERVER && rt->server_domain[0] == '[' &&
	    learn_domain(ctx, address, rt))
		delay_ms = RELAYTEST_PAUSE_MS;
	rt->npass = cfg->auth_user[0] != '\0' ? 2 : 1;
	build_forms(cfg, local, outdom, rt);
	if (run_passes(ctx, address, delay_ms, rt))
		diag_relay_test(rt);
}

void
relaytest_clear(struct relaytest_result *rt)
{
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < RV_COUNT; i++) {
			struct relaytest_txn *t = &rt->pass[p].txns[i];

			reply_free(t->mail.reply);
			reply_free(t->rcpt_reply.reply);
			reply_free(t->control.reply);
			t->mail.reply = t->rcpt_reply.reply = NULL;
			t->control.reply = NULL;
		}
		if (rt->pass[p].res != NULL) {
			result_clear(rt->pass[p].res);
			free(rt->pass[p].res);
			rt->pass[p].res = NULL;
		}
	}
}
