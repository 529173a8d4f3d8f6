/*
 * report_identity.c — the "identity" part of the text and JSON reports:
 * reverse DNS and names of each server tried, and the client self-audit.
 *
 * Owns nothing; reads a probe_result.  Names come from DNS and from
 * servers: every one goes through the report escapers.
 */
#include <string.h>

#include "report.h"

#define js report_json_cstr

static void
jcheck(FILE *out, enum ident_check c)
{
	fputs(c == IDENT_YES ? "true" : c == IDENT_NO ? "false" : "null", out);
}

static void
json_rdns(FILE *out, const struct ident_rdns *rd)
{
	size_t i;

	if (rd == NULL || !rd->asked) {
		fputs("null", out);
		return;
	}
	fputs("{\"ip\":", out);
	js(out, rd->ip);
	fputs(",\"status\":", out);
	js(out, resolver_status_name(rd->ptr_status));
	fputs(",\"names\":[", out);
	for (i = 0; i < rd->nptr; i++) {
		if (i > 0)
			fputc(',', out);
		report_put_json_string(out, rd->ptr[i], strlen(rd->ptr[i]));
	}
	fputs("],\"names_valid\":", out);
	if (rd->nptr == 0)
		fputs("null", out);
	else {
		bool all = true;
		for (i = 0; i < rd->nptr; i++)
			all = all && rd->ptr_valid[i];
		fputs(all ? "true" : "false", out);
	}
	fputs(",\"forward_confirmed\":", out);
	jcheck(out, rd->fcrdns);
	fputs(",\"confirmed_name\":", out);
	js(out, rd->fcrdns_name);
	fputs(",\"check\":", out);
	js(out, ident_check_name(rd->fcrdns));
	fputc('}', out);
}

void
report_identity_json(FILE *out, const struct probe_result *r)
{
	const struct identity *id = &r->ident;
	const struct ident_client *c = &id->client;
	size_t i;

	fputs(",\"identity\":{\"servers\":[", out);
	for (i = 0; i < id->nservers; i++) {
		const struct ident_server *sv = &id->servers[i];

		fputs(i ? ",{\"host\":" : "{\"host\":", out);
		js(out, sv->host);
		fputs(",\"ip\":", out);
		js(out, sv->rdns.ip);
		fputs(",\"local_ip\":", out);
		js(out, sv->local_ip);
		fputs(",\"ptr\":", out);
		json_rdns(out, &sv->rdns);
		fputs(",\"banner_name\":", out);
		js(out, sv->banner_name);
		fputs(",\"ehlo_name\":", out);
		js(out, sv->ehlo_name);
		fputs(",\"client_ip_seen\":", out);
		js(out, sv->client_ip_seen);
		fputs(",\"banner_valid\":", out);
		jcheck(out, sv->banner_valid);
		fputs(",\"banner_matches_ptr\":", out);
		jcheck(out, sv->banner_matches_ptr);
		fputs(",\"banner_matches_mx\":", out);
		jcheck(out, sv->banner_matches_mx);
		fputs(",\"ptr_matches_mx\":", out);
		jcheck(out, sv->ptr_matches_mx);
		fputs(",\"ehlo_matches_banner\":", out);
		jcheck(out, sv->ehlo_matches_banner);
		fputc('}', out);
	}
	fputs("],\"client\":{\"source_ip\":", out);
	js(out, c->source_ip);
	fputs(",\"local_ip\":", out);
	js(out, c->local_ip);
	fprintf(out, ",\"local_private\":%s,\"public_ip\":",
	    c->local_private ? "true" : "false");
	js(out, c->public_ip);
	fputs(",\"checked_ip\":", out);
	js(out, identity_client_rdns(id) != NULL ?
	    identity_client_rdns(id)->ip : NULL);
	fputs(",\"ptr\":", out);
	json_rdns(out, identity_client_rdns(id));
	fputs(",\"helo\":{\"name\":", out);
	js(out, c->helo);
	fprintf(out, ",\"literal\":%s,\"fqdn\":%s,\"status\":",
	    c->helo_literal ? "true" : "false", c->helo_fqdn ? "true" :
	    "false");
	js(out, c->helo_asked ? resolver_status_name(c->helo_status) : NULL);
	fputs(",\"addresses\":[", out);
	for (i = 0; i < c->nhelo_addrs; i++) {
		if (i > 0)
			fputc(',', out);
		js(out, c->helo_addrs[i]);
	}
	fputs("],\"resolves\":", out);
	jcheck(out, c->helo_resolves);
	fputs(",\"matches_ip\":", out);
	jcheck(out, c->helo_matches_ip);
	fputs(",\"matches_ptr\":", out);
	jcheck(out, c->helo_matches_ptr);
	fputs("}}}", out);
}

static void
put(FILE *out, const char *s)
{
	report_put_text(out, s, strlen(s));
}

/* "PTR a, b (forward-confirmed)" or "no PTR" or "PTR not checked". */
static void
text_rdns(FILE *out, const struct ident_rdns *rd)
{
	size_t i;

	if (rd->ptr_status == RESOLVER_NXDOMAIN ||
	    rd->ptr_status == RESOLVER_NODATA) {
		fputs("no PTR record", out);
		return;
	}
	if (rd->ptr_status != RESOLVER_OK) {
		fprintf(out, "PTR could not be checked (%s)",
		    resolver_status_name(rd->ptr_status));
		return;
	}
	fputs("PTR ", out);
	for (i = 0; i < rd->nptr; i++) {
		if (i > 0)
			fputs(", ", out);
		put(out, rd->ptr[i]);
		if (!rd->ptr_valid[i])
			fputs(" (not a valid host name)", out);
	}
	switch (rd->fcrdns) {
	case IDENT_YES:
		fputs(", forward-confirmed", out);
		break;
	case IDENT_NO:
		fputs(", NOT forward-confirmed (the name does not resolve "
		    "back)", out);
		break;
	case IDENT_UNKNOWN:
		fputs(", forward confirmation could not be checked", out);
		break;
	default:
		break;
	}
}

static const char *
yes_no(enum ident_check c, const char *yes, const char *no)
{
	return c == IDENT_YES ? yes : c == IDENT_NO ? no : NULL;
}

static void
text_server(FILE *out, const struct ident_server *sv)
{
	const char *m;

	fputs("    ", out);
	put(out, sv->rdns.ip);
	if (sv->host[0] != '\0') {
		fputs(" (", out);
		put(out, sv->host);
		fputc(')', out);
	}
	fputs(": ", out);
	if (sv->rdns.asked)
		text_rdns(out, &sv->rdns);
	if (sv->ptr_matches_mx == IDENT_NO)
		fputs("; the PTR name is not the MX name", out);
	if (sv->banner_name[0] != '\0') {
		fputs("; greeting names ", out);
		put(out, sv->banner_name);
		if ((m = yes_no(sv->banner_matches_ptr, "matches the PTR",
		    "differs from the PTR")) != NULL)
			fprintf(out, " (%s)", m);
	}
	if (sv->ehlo_matches_banner == IDENT_NO) {
		fputs("; EHLO reply names ", out);
		put(out, sv->ehlo_name);
	}
	fputc('\n', out);
}

static void
text_helo(FILE *out, const struct ident_client *c)
{
	put(out, c->helo);
	if (c->helo_literal)
		fputs(" (an address literal)", out);
	else if (!c->helo_fqdn)
		fputs(" is not a fully qualified host name", out);
	else if (c->helo_resolves == IDENT_NO)
		fprintf(out, " does not resolve (%s)",
		    resolver_status_name(c->helo_status));
	else if (c->helo_resolves == IDENT_UNKNOWN)
		fputs(" (could not be checked)", out);
	else if (c->helo_resolves == IDENT_YES)
		fputs(" resolves", out);
	if (c->helo_matches_ip == IDENT_YES)
		fputs(" to this host's address", out);
	else if (c->helo_matches_ip == IDENT_NO)
		fputs(", but not to this host's address", out);
	if (c->helo_matches_ptr == IDENT_YES)
		fputs("; it is the PTR name", out);
	else if (c->helo_matches_ptr == IDENT_NO)
		fputs("; it is not the PTR name", out);
}

void
report_identity_text(FILE *out, const struct probe_result *r)
{
	const struct identity *id = &r->ident;
	const struct ident_client *c = &id->client;
	const struct ident_rdns *rd = identity_client_rdns(id);
	size_t i;

	if (id->nservers > 0) {
		fputs("  identity:\n", out);
		for (i = 0; i < id->nservers; i++)
			text_server(out, &id->servers[i]);
	}
	if (!id->self_check) {
		/* One line; --self-check gives the whole audit. */
		if (rd == NULL && c->helo[0] == '\0')
			return;
		fputs("  client:  ", out);
		if (rd != NULL) {
			put(out, rd->ip);
			fputs(": ", out);
			text_rdns(out, rd);
		} else if (c->local_ip[0] != '\0') {
			put(out, c->local_ip);
			if (c->local_private)
				fputs(" (private)", out);
		}
		if (c->helo[0] != '\0') {
			fputs(rd != NULL || c->local_ip[0] ? "; HELO " :
			    "HELO ", out);
			text_helo(out, c);
		}
		fputc('\n', out);
		return;
	}
	fputs("  client self-check:\n", out);
	if (c->source_ip[0] != '\0') {
		fputs("    source address:  ", out);
		put(out, c->source_ip);
		fputs(" (--source-ip)\n", out);
	}
	fputs("    local address:   ", out);
	put(out, c->local_ip[0] ? c->local_ip : "(none: no connection)");
	if (c->local_private)
		fputs(" (private: translated by NAT on the way out)", out);
	fputc('\n', out);
	for (i = 0; i < id->nservers; i++) {
		const struct ident_server *sv = &id->servers[i];

		if (sv->local_ip[0] == '\0')
			continue;
		fputs("      to ", out);
		put(out, sv->rdns.ip);
		fputs(" from ", out);
		put(out, sv->local_ip);
		if (sv->client_ip_seen[0] != '\0') {
			fputs("; the server says it sees ", out);
			put(out, sv->client_ip_seen);
		}
		fputc('\n', out);
	}
	fputs("    seen by servers: ", out);
	put(out, c->public_ip[0] ? c->public_ip : "(no server stated it)");
	fputc('\n', out);
	fputs("    reverse DNS:     ", out);
	if (rd != NULL) {
		put(out, rd->ip);
		fputs(": ", out);
		text_rdns(out, rd);
	} else
		fputs("not checked (no public address known)", out);
	fputc('\n', out);
	fputs("    HELO name:       ", out);
	text_helo(out, c);
	if (c->nhelo_addrs > 0 && !c->helo_literal) {
		fputs(" (", out);
		for (i = 0; i < c->nhelo_addrs; i++) {
			if (i > 0)
				fputs(", ", out);
			put(out, c->helo_addrs[i]);
		}
		fputc(')', out);
	}
	fputc('\n', out);
}
