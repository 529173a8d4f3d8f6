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
 * answer is classified and summed up: open relay yes / no / could not
 * tell.  Owns the probe_result and the envelopes of each pass.  Never
 * DATA.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "identity.h"
#include "names.h"
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
	return NAME_OF(variant_names, v, "unknown");
}

const char *
relaytest_variant_label(enum relay_variant v)
{
	return NAME_OF(variant_labels, v, "unknown");
}

bool
relaytest_variant_outside(enum relay_variant v)
{
	return v == RV_PLAIN || v == RV_SOURCE_ROUTE;
}

const char *
relaytest_domain_source_name(enum relay_domain_source s)
{
	switch (s) {
	case RD_TARGET: return "target";
	case RD_OPTION: return "option";
	case RD_GREETING: return "greeting";
	default: return "server";
	}
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

static void
summarise(struct relaytest_result *rt)
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
