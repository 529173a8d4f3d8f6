/*
 * report_identity.c — the "identity" part of the text and JSON reports:
 * reverse DNS and names of each server tried, and the client self-audit.
 *
 * Owns nothing; reads a probe_result.  Names come from DNS and from
 * servers: every one goes through the report escapers.
 */
#include <string.h>

#include "json.h"
#include "report.h"

void
report_json_check(struct json_writer *w, const char *key, enum ident_check c)
{
	json_kv_tri(w, key, c == IDENT_YES ? 1 : c == IDENT_NO ? 0 : -1);
}


static void
json_rdns(struct json_writer *w, const struct ident_rdns *rd)
{
	size_t i;
	bool all = true;

	if (rd == NULL || !rd->asked) {
		json_kv_null(w, "ptr");
		return;
	}
	json_kv_object(w, "ptr");
	json_kv_str(w, "ip", rd->ip);
	json_kv_str(w, "status", resolver_status_name(rd->ptr_status));
	JSON_KV_STR_ROWS(w, "names", rd->ptr, rd->nptr);
	for (i = 0; i < rd->nptr; i++)
		all = all && rd->ptr_valid[i];
	json_kv_tri(w, "names_valid", rd->nptr == 0 ? -1 : all);
	report_json_check(w, "forward_confirmed", rd->fcrdns);
	json_kv_str(w, "confirmed_name", rd->fcrdns_name);
	json_kv_str(w, "check", ident_check_name(rd->fcrdns));
	json_object_end(w);
}

static void
json_server(struct json_writer *w, const struct ident_server *sv)
{
	json_object(w);
	json_kv_str(w, "host", sv->host);
	json_kv_str(w, "ip", sv->rdns.ip);
	json_kv_str(w, "local_ip", sv->local_ip);
	json_rdns(w, &sv->rdns);
	json_kv_str(w, "banner_name", sv->banner_name);
	json_kv_str(w, "ehlo_name", sv->ehlo_name);
	json_kv_str(w, "client_ip_seen", sv->client_ip_seen);
	report_json_check(w, "banner_valid", sv->banner_valid);
	report_json_check(w, "banner_matches_ptr", sv->banner_matches_ptr);
	report_json_check(w, "banner_matches_mx", sv->banner_matches_mx);
	report_json_check(w, "ptr_matches_mx", sv->ptr_matches_mx);
	report_json_check(w, "ehlo_matches_banner", sv->ehlo_matches_banner);
	json_object_end(w);
}

static void
json_helo(struct json_writer *w, const struct ident_client *c)
{
	json_kv_object(w, "helo");
	json_kv_str(w, "name", c->helo);
	json_kv_bool(w, "literal", c->helo_literal);
	json_kv_bool(w, "fqdn", c->helo_fqdn);
	json_kv_str(w, "status", c->helo_asked ?
	    resolver_status_name(c->helo_status) : NULL);
	JSON_KV_STR_ROWS(w, "addresses", c->helo_addrs, c->nhelo_addrs);
	report_json_check(w, "resolves", c->helo_resolves);
	report_json_check(w, "matches_ip", c->helo_matches_ip);
	report_json_check(w, "matches_ptr", c->helo_matches_ptr);
	json_object_end(w);
}

void
report_identity_json(struct json_writer *w, const struct probe_result *r)
{
	const struct identity *id = &r->ident;
	const struct ident_client *c = identity_client(id);
	const struct ident_rdns *crd = identity_client_rdns(id);
	size_t i;

	json_kv_object(w, "identity");
	json_kv_array(w, "servers");
	for (i = 0; i < id->nservers; i++)
		json_server(w, &id->servers[i]);
	json_array_end(w);
	json_kv_object(w, "client");
	json_kv_str(w, "source_ip", c->source_ip);
	json_kv_str(w, "local_ip", c->local_ip);
	json_kv_bool(w, "local_private", c->local_private);
	json_kv_str(w, "public_ip", c->public_ip);
	json_kv_str(w, "checked_ip", crd != NULL ? crd->ip : NULL);
	json_rdns(w, crd);
	json_helo(w, c);
	json_object_end(w);
	json_object_end(w);
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
		report_put_cstr(out, rd->ptr[i]);
		/* A name without a dot (localhost) is valid, but not
		 * fully qualified: wrong for a mail server. */
		if (!rd->ptr_valid[i])
			fputs(address_hostname_ok(rd->ptr[i]) ? " (not fully "
			    "qualified: wrong for a mail server)" : " (not a "
			    "valid host name)", out);
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
	const char *m, *sep;

	fputs("    ", out);
	if (sv->rdns.ip[0] == '\0')	/* only a proxy knew its address */
		report_put_cstr(out, sv->host);
	else {
		report_put_cstr(out, sv->rdns.ip);
		if (sv->host[0] != '\0')
			report_put_field(out, " (", sv->host, ")");
	}
	fputs(": ", out);
	/* Without an address (a proxy resolved the name) there is no
	 * reverse DNS, and the first fact needs no separator. */
	sep = sv->rdns.asked ? "; " : "";
	if (sv->rdns.asked)
		text_rdns(out, &sv->rdns);
	if (sv->ptr_matches_mx == IDENT_NO)
		fputs("; the PTR name is not the MX name", out);
	if (sv->banner_name[0] != '\0') {
		fprintf(out, "%sgreeting names ", sep);
		report_put_cstr(out, sv->banner_name);
		if ((m = yes_no(sv->banner_matches_ptr, "matches the PTR",
		    "differs from the PTR")) != NULL)
			fprintf(out, " (%s)", m);
		sep = "; ";
	}
	if (sv->ehlo_matches_banner == IDENT_NO) {
		fprintf(out, "%sEHLO reply names ", sep);
		report_put_cstr(out, sv->ehlo_name);
		sep = "; ";
	}
	if (sep[0] == '\0')
		fputs("no reverse DNS to check (the proxy resolved the name)",
		    out);
	fputc('\n', out);
}

static void
text_helo(FILE *out, const struct ident_client *c)
{
	report_put_cstr(out, c->helo);
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

/* The client in one line; --self-check gives the whole audit. */
static void
text_client_line(FILE *out, const struct ident_client *c,
    const struct ident_rdns *rd)
{
	if (rd == NULL && c->helo[0] == '\0')
		return;
	fputs("  client:  ", out);
	if (rd != NULL) {
		report_put_cstr(out, rd->ip);
		fputs(": ", out);
		text_rdns(out, rd);
	} else if (c->local_ip[0] != '\0') {
		report_put_cstr(out, c->local_ip);
		if (c->local_private)
			fputs(" (private)", out);
	}
	if (c->helo[0] != '\0') {
		fputs(rd != NULL || c->local_ip[0] ? "; HELO " : "HELO ", out);
		text_helo(out, c);
	}
	fputc('\n', out);
}

/* --self-check: the client's addresses as each server saw them, its
 * reverse DNS and its HELO name. */
static void
text_self_check(FILE *out, const struct identity *id,
    const struct ident_rdns *rd)
{
	const struct ident_client *c = identity_client(id);
	size_t i;

	fputs("  client self-check:\n", out);
	if (c->source_ip[0] != '\0')
		report_put_field(out, "    source address:  ", c->source_ip,
		    " (--source-ip)\n");
	report_put_field(out, "    local address:   ", c->local_ip[0] ?
	    c->local_ip : "(none: no connection)", "");
	if (c->local_private)
		fputs(" (private: translated by NAT on the way out)", out);
	fputc('\n', out);
	for (i = 0; i < id->nservers; i++) {
		const struct ident_server *sv = &id->servers[i];

		if (sv->local_ip[0] == '\0')
			continue;
		report_put_field(out, "      to ", sv->rdns.ip[0] ?
		    sv->rdns.ip : sv->host, "");
		report_put_field(out, " from ", sv->local_ip, "");
		if (sv->client_ip_seen[0] != '\0')
			report_put_field(out, "; the server says it sees ",
			    sv->client_ip_seen, "");
		fputc('\n', out);
	}
	report_put_field(out, "    seen by servers: ", c->public_ip[0] ?
	    c->public_ip : "(no server stated it)", "\n");
	fputs("    reverse DNS:     ", out);
	if (rd != NULL) {
		report_put_cstr(out, rd->ip);
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
			report_put_cstr(out, c->helo_addrs[i]);
		}
		fputc(')', out);
	}
	fputc('\n', out);
}

void
report_identity_text(FILE *out, const struct probe_result *r)
{
	const struct identity *id = &r->ident;
	const struct ident_rdns *rd = identity_client_rdns(id);
	size_t i;

	if (id->nservers > 0) {
		fputs("  identity:\n", out);
		for (i = 0; i < id->nservers; i++)
			text_server(out, &id->servers[i]);
	}
	if (id->self_check)
		text_self_check(out, id, rd);
	else
		text_client_line(out, identity_client(id), rd);
}
