/*
 * identity_diag.c — the client self-audit in the diagnosis
 * (identity_diag.h): whether the audit found a problem, and the facts
 * added to the explanation of a refusal aimed at the probing host (its
 * reverse DNS, its HELO name) with what to change.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "identity_diag.h"
#include "result.h"

int
identity_client_status(const struct probe_result *res)
{
	static const enum finding_id bad[] = {
		FINDING_CLIENT_NO_PTR, FINDING_CLIENT_PTR_NOT_CONFIRMED,
		FINDING_CLIENT_PTR_INVALID_NAME, FINDING_CLIENT_HELO_NOT_FQDN,
		FINDING_CLIENT_HELO_NO_ADDRESS,
		FINDING_CLIENT_HELO_LITERAL_MISMATCH,
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (result_has_finding(res, bad[i]))
			return 1;
	if (identity_client_rdns(&res->ident) == NULL ||
	    result_has_finding(res, FINDING_CLIENT_UNCHECKED))
		return 2;
	return 0;
}

/*
 * Explanations of refusals aimed at the probing host.
 */

/* What the reverse DNS of our address looks like, in a sentence. */
static void
rdns_facts(const struct identity *id, char *buf, size_t len)
{
	const struct ident_client *c = identity_client(id);
	const struct ident_rdns *rd = identity_client_rdns(id);
	const char *seen = c->public_ip[0] ? " (as the server sees it)" : "";

	if (rd == NULL) {
		if (c->local_private)
			snprintf(buf, len, "This host's address %s is private; "
			    "the server sees the public address of your NAT, "
			    "which it did not state, so its reverse DNS could "
			    "not be checked.", c->local_ip);
		else
			snprintf(buf, len, "This host's address is not known, "
			    "so its reverse DNS could not be checked.");
		return;
	}
	if (rd->ptr_status == RESOLVER_NXDOMAIN ||
	    rd->ptr_status == RESOLVER_NODATA)
		snprintf(buf, len, "Your address %s%s has no PTR record.",
		    rd->ip, seen);
	else if (rd->ptr_status != RESOLVER_OK)
		snprintf(buf, len, "The reverse DNS of your address %s%s "
		    "could not be checked (%s).", rd->ip, seen,
		    resolver_status_name(rd->ptr_status));
	else if (rd->fcrdns == IDENT_NO)
		snprintf(buf, len, "Your address %s%s has the PTR name %s, but "
		    "that name does not resolve back to %s.", rd->ip, seen,
		    rd->ptr[0], rd->ip);
	else if (rd->fcrdns == IDENT_YES)
		snprintf(buf, len, "Your address %s%s has the PTR name %s, "
		    "which resolves back to it: the reverse DNS looks right "
		    "from here, so the server's DNS may have failed, or it "
		    "wants more (a HELO name that matches).", rd->ip, seen,
		    rd->ptr[0]);
	else
		snprintf(buf, len, "Your address %s%s has the PTR name %s; "
		    "whether it resolves back could not be checked.", rd->ip,
		    seen, rd->ptr[0]);
}

static void
helo_facts(const struct identity *id, char *buf, size_t len)
{
	const struct ident_client *c = identity_client(id);
	const struct ident_rdns *rd = identity_client_rdns(id);
	const char *ip = identity_client_ip(id);

	if (c->helo_literal)
		snprintf(buf, len, "The HELO name is the address literal %s; "
		    "many servers want a host name.", c->helo);
	else if (!c->helo_fqdn)
		snprintf(buf, len, "The HELO name \"%s\" is not a fully "
		    "qualified host name.", c->helo);
	else if (c->helo_resolves == IDENT_NO)
		snprintf(buf, len, "The HELO name %s does not resolve (%s).",
		    c->helo, resolver_status_name(c->helo_status));
	else if (c->helo_resolves == IDENT_UNKNOWN)
		snprintf(buf, len, "Whether the HELO name %s resolves could "
		    "not be checked.", c->helo);
	else if (c->helo_matches_ip == IDENT_NO && ip != NULL)
		snprintf(buf, len, "The HELO name %s resolves to %s, not to "
		    "your address %s.", c->helo, c->helo_addrs[0], ip);
	else if (c->helo_matches_ptr == IDENT_NO && rd != NULL &&
	    rd->nptr > 0)
		snprintf(buf, len, "The HELO name %s resolves, but differs "
		    "from your PTR name %s.", c->helo, rd->ptr[0]);
	else
		snprintf(buf, len, "The HELO name %s resolves%s.", c->helo,
		    c->helo_matches_ip == IDENT_YES ? " to your address" : "");
}

/* A name to suggest for --helo: the confirmed PTR name, if any. */
static const char *
suggested_helo(const struct identity *id)
{
	const struct ident_rdns *rd = identity_client_rdns(id);
	size_t i;

	if (rd == NULL || rd->ptr_status != RESOLVER_OK ||
	    rd->fcrdns != IDENT_YES)
		return NULL;
	for (i = 0; i < rd->nptr; i++)
		if (rd->ptr_valid[i])
			return rd->ptr[i];
	return NULL;
}

static bool
rdns_is_problem(const struct identity *id)
{
	const struct ident_rdns *rd = identity_client_rdns(id);

	return rd != NULL && (rd->ptr_status == RESOLVER_NXDOMAIN ||
	    rd->ptr_status == RESOLVER_NODATA || rd->fcrdns == IDENT_NO);
}

/* Put facts in front of e's cause and make action (NULL: keep it) its
 * action; bounded as every explanation text. */
static void
prepend_cause(struct explanation *e, const char *facts, const char *action)
{
	char cause[EXPL_TEXT_MAX];

	snprintf(cause, sizeof(cause), "%s%s%s", facts, e->cause[0] ? " " : "",
	    e->cause);
	expl_set(e, e->category, e->blame, e->permanence, e->meaning, cause,
	    action != NULL ? action : e->action);
}

static void
explain_stage(struct probe_result *res, struct explanation *e)
{
	const struct identity *id = &res->ident;
	const struct ident_client *c = identity_client(id);
	const char *ip = identity_client_ip(id);
	const char *helo = suggested_helo(id);
	char facts[512], more[256], action[512];
	bool rdns = e->category == CODES_CAT_RDNS_MISSING;
	bool heloc = e->category == CODES_CAT_HELO_REJECTED;
	bool client = e->blame == CODES_BLAME_CLIENT_IDENTITY ||
	    e->blame == CODES_BLAME_CLIENT_IP_REPUTATION;

	if (!rdns && !heloc && !client)
		return;
	if (heloc) {
		helo_facts(id, facts, sizeof(facts));
		if (helo != NULL && !identity_name_eq(helo, c->helo))
			snprintf(action, sizeof(action), "Send a fully "
			    "qualified name that resolves to your address: "
			    "--helo %s (the PTR name of %s) would do.", helo,
			    ip != NULL ? ip : "your address");
		else
			snprintf(action, sizeof(action), "Send a fully "
			    "qualified host name that resolves to your address "
			    "%s (--helo NAME), ideally the PTR name of that "
			    "address; publish an A/AAAA record for it if it "
			    "has none.", ip != NULL ? ip : "");
	} else {
		rdns_facts(id, facts, sizeof(facts));
		if (!rdns) {
			/* A block or a reputation matter: the facts say
			 * which address to look up in blocklists, and
			 * show an identity problem if there is one; the
			 * advice of the reply's category stands. */
			helo_facts(id, more, sizeof(more));
			snprintf(facts + strlen(facts), sizeof(facts) -
			    strlen(facts), " %s", more);
			prepend_cause(e, facts, NULL);
			return;
		}
		snprintf(action, sizeof(action), "Ask whoever runs the address "
		    "%s (your ISP or hosting provider) to publish a PTR record "
		    "for it naming a host name whose A/AAAA record points "
		    "back to %s, and use that name with --helo; or probe from "
		    "a host with proper reverse DNS.", ip != NULL ? ip :
		    "of this host", ip != NULL ? ip : "it");
		if (!rdns_is_problem(id) && identity_client_rdns(id) != NULL &&
		    identity_client_rdns(id)->fcrdns == IDENT_YES)
			snprintf(action, sizeof(action), "Check the reverse "
			    "DNS of %s from outside (dig -x %s), and send "
			    "its PTR name as HELO name (--helo %s); if both "
			    "are right, ask the server's administrator.", ip,
			    ip, helo != NULL ? helo : "NAME");
	}
	prepend_cause(e, facts, action);
}

void
identity_explain(struct probe_result *res)
{
	int st;
	bool explained = false;

	for (st = 0; st < STAGE_COUNT; st++) {
		struct stage_rec *s = &res->stages[st];

		if (!s->expl.present || (s->status != STATUS_WARN &&
		    s->status != STATUS_FAIL))
			continue;
		explain_stage(res, &s->expl);
		explained = true;
	}
	if (explained && res->reason == REASON_CLIENT_REJECTED) {
		char facts[512];
		size_t n = strlen(res->summary);

		if (rdns_is_problem(&res->ident))
			rdns_facts(&res->ident, facts, sizeof(facts));
		else
			helo_facts(&res->ident, facts, sizeof(facts));
		if (n + 1 + strlen(facts) < sizeof(res->summary))
			snprintf(res->summary + n, sizeof(res->summary) - n,
			    " %s", facts);
	}
}
