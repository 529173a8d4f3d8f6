/*
 * report_tls.c — the TLS part of the text and JSON reports: the
 * handshake, every certificate of the chain, DANE per MX host, the
 * domain's MTA-STS policy and TLS-RPT record.
 *
 * Owns nothing; reads a probe_result.  Certificate names, DNS records
 * and the policy come from the network: every one goes through the
 * report escapers.
 */
#include <string.h>

#include "json.h"
#include "mtasts_facts.h"
#include "report.h"

static void
json_cert(struct json_writer *w, const struct tlsconn_cert *c)
{
	json_object(w);
	json_kv_str_nonempty(w, "subject", c->subject);
	json_kv_str_nonempty(w, "issuer", c->issuer);
	json_kv_str_nonempty(w, "names", c->names);
	json_kv_str_nonempty(w, "not_before", c->not_before);
	json_kv_str_nonempty(w, "not_after", c->not_after);
	json_kv_int(w, "days_left", c->days_left);
	json_kv_str_nonempty(w, "key_type", c->key_type);
	json_kv_int(w, "key_bits", c->key_bits);
	json_kv_str_nonempty(w, "key_group", c->key_group);
	json_kv_str_nonempty(w, "signature_algorithm", c->sig_alg);
	json_kv_bool(w, "sha1_signature", c->sig_sha1);
	json_kv_bool(w, "self_signed", c->self_signed);
	json_kv_str_nonempty(w, "sha256", c->sha256);
	json_kv_str_nonempty(w, "spki_sha256", c->spki_sha256);
	json_object_end(w);
}

static void
json_dane_match(struct json_writer *w, const struct tlsconn_info *t)
{
	if (t->tlsa_usable == 0) {
		json_kv_null(w, "dane");
		return;
	}
	json_kv_object(w, "dane");
	json_kv_str(w, "state", t->dane == TLSCONN_DANE_MATCH ? "match" :
	    "mismatch");
	json_kv_uint(w, "usable_records", t->tlsa_usable);
	if (t->dane == TLSCONN_DANE_MATCH) {
		json_kv_object(w, "matched");
		json_kv_uint(w, "usage", t->dane_usage);
		json_kv_uint(w, "selector", t->dane_selector);
		json_kv_uint(w, "matching_type", t->dane_mtype);
		json_kv_str(w, "data", t->dane_data);
		json_kv_int(w, "depth", t->dane_depth);
		json_object_end(w);
	} else
		json_kv_null(w, "matched");
	json_object_end(w);
}

void
report_tls_json(struct json_writer *w, const struct probe_result *r)
{
	const struct tlsconn_info *t = result_tls_info(r);
	size_t i;

	if (!r->tls_done) {
		json_kv_null(w, "tls");
		return;
	}
	json_kv_object(w, "tls");
	json_kv_bool(w, "implicit", r->tls_implicit);
	json_kv_str_nonempty(w, "version", t->version);
	json_kv_str_nonempty(w, "cipher", t->cipher);
	json_kv_bool(w, "resumed", t->resumed);
	json_kv_bool(w, "verified", t->verified);
	json_kv_bool(w, "chain_ok", t->chain_ok);
	json_kv_str_nonempty(w, "verify_error", t->verify_error);
	json_kv_tri(w, "name_match", !t->name_checked ? -1 : t->name_match);
	json_kv_str_nonempty(w, "wildcard_mismatch", t->wildcard_miss);
	json_kv_bool(w, "expired", t->expired);
	json_kv_str_nonempty(w, "subject", t->subject);
	json_kv_str_nonempty(w, "issuer", t->issuer);
	json_kv_str_nonempty(w, "names", t->names);
	json_kv_str_nonempty(w, "not_before", t->not_before);
	json_kv_str_nonempty(w, "not_after", t->not_after);
	json_kv_bool(w, "ocsp_stapled", t->ocsp_stapled);
	json_kv_array(w, "chain");
	for (i = 0; i < t->nchain; i++)
		json_cert(w, &t->chain[i]);
	json_array_end(w);
	json_kv_uint(w, "chain_not_kept", t->chain_more);
	json_dane_match(w, t);
	json_object_end(w);
}

void
report_tls_json_mx(struct json_writer *w, const struct mx_info *m)
{
	json_kv_object(w, "dane");
	json_kv_str(w, "state", dane_state_name(m->dane));
	json_kv_uint(w, "records", m->ntlsa);
	json_kv_str_nonempty(w, "tlsa", m->tlsa);
	json_kv_str_nonempty(w, "detail", m->dane_detail);
	json_object_end(w);
	json_kv_object(w, "mta_sts");
	report_json_check(w, "in_policy", m->sts_match);
	report_json_check(w, "tls_ok", m->sts_cert);
	json_object_end(w);
}

static void
json_policy(struct json_writer *w, const struct mtasts_policy *p)
{
	json_kv_object(w, "policy");
	json_kv_bool(w, "valid", p->valid);
	json_kv_str_nonempty(w, "error", p->error);
	json_kv_str(w, "mode", p->mode == MTASTS_MODE_UNSET ? NULL :
	    mtasts_mode_name(p->mode));
	if (p->max_age >= 0)
		json_kv_int(w, "max_age", p->max_age);
	else
		json_kv_null(w, "max_age");
	JSON_KV_STR_ROWS(w, "mx", p->mx, p->nmx);
	json_kv_uint(w, "mx_not_kept", p->mx_more);
	json_object_end(w);
}

void
report_tls_json_domain(struct json_writer *w, const struct probe_result *r)
{
	const struct mtasts_info *mi = r->mtasts;

	if (mi == NULL) {
		json_kv_null(w, "mta_sts");
		json_kv_null(w, "tls_rpt");
		return;
	}
	json_kv_object(w, "mta_sts");
	json_kv_str(w, "state", mtasts_state_name(mi->state));
	json_kv_str_nonempty(w, "record", mi->record);
	json_kv_str_nonempty(w, "id", mi->id);
	json_kv_str_nonempty(w, "url", mi->http_status > 0 ||
	    mi->state == MTASTS_FETCH_FAILED || mi->state >=
	    MTASTS_POLICY_INVALID ? mi->url : "");
	if (mi->http_status > 0)
		json_kv_int(w, "http_status", mi->http_status);
	else
		json_kv_null(w, "http_status");
	json_kv_str_nonempty(w, "detail", mi->detail);
	if (mi->state == MTASTS_POLICY || mi->state == MTASTS_POLICY_INVALID)
		json_policy(w, &mi->policy);
	else
		json_kv_null(w, "policy");
	json_object_end(w);
	if (mi->rpt_valid == 0) {
		json_kv_null(w, "tls_rpt");
		return;
	}
	json_kv_object(w, "tls_rpt");
	json_kv_str(w, "record", mi->rpt_record);
	json_kv_bool(w, "valid", mi->rpt_valid > 0);
	json_kv_str(w, mi->rpt_valid > 0 ? "rua" : "error", mi->rpt_rua);
	json_object_end(w);
}

/* ---- text ----------------------------------------------------------- */

/* "EC 256 (prime256v1)", "RSA 2048". */
static void
key_text(FILE *out, const struct tlsconn_cert *c)
{
	fprintf(out, "%s %d", c->key_type, c->key_bits);
	if (c->key_group[0] != '\0')
		report_put_field(out, " (", c->key_group, ")");
}

static void
text_chain(FILE *out, const struct tlsconn_info *t)
{
	size_t i;

	for (i = 0; i < t->nchain; i++) {
		const struct tlsconn_cert *c = &t->chain[i];

		fprintf(out, "    %zu ", i);
		report_put_cstr(out, c->subject);
		report_put_field(out, "\n        issuer ", c->issuer, "");
		if (c->names[0] != '\0')
			report_put_field(out, "; names ", c->names, "");
		fputs("\n        ", out);
		key_text(out, c);
		report_put_field(out, ", ", c->sig_alg, "");
		fprintf(out, ", until %s (%ld day%s)\n", c->not_after,
		    c->days_left, c->days_left == 1 || c->days_left == -1 ?
		    "" : "s");
		fprintf(out, "        sha256 %s\n        spki sha256 %s\n",
		    c->sha256, c->spki_sha256);
	}
	if (t->chain_more > 0)
		fprintf(out, "    (%zu more not kept)\n", t->chain_more);
}

/* DANE of each MX host that has something to say. */
static void
text_dane(FILE *out, const struct probe_result *r)
{
	size_t i;
	bool head = false;

	for (i = 0; i < r->nmx; i++) {
		const struct mx_info *m = &r->mx[i];

		if (m->dane == DANE_NOT_LOOKED_UP)
			continue;
		if (!head)
			fputs("  dane:\n", out);
		head = true;
		fprintf(out, "    %s: %s", m->host, dane_state_name(m->dane));
		/* A match names its record; else the records found. */
		if (m->tlsa[0] != '\0' && m->dane != DANE_MATCH)
			report_put_field(out, " [", m->tlsa, "]");
		if (m->dane_detail[0] != '\0')
			report_put_field(out, ": ", m->dane_detail, "");
		fputc('\n', out);
	}
}

static void
text_mtasts(FILE *out, const struct probe_result *r)
{
	const struct mtasts_info *mi = r->mtasts;
	const struct mtasts_policy *p;
	size_t i;

	if (mi == NULL || mi->state == MTASTS_NOT_LOOKED_UP)
		return;
	fprintf(out, "  mta-sts: %s", mtasts_state_name(mi->state));
	p = &mi->policy;
	if (mi->state == MTASTS_POLICY) {
		fprintf(out, ", mode %s, max_age %ld, mx ",
		    mtasts_mode_name(p->mode), p->max_age);
		for (i = 0; i < p->nmx; i++)
			report_put_field(out, i > 0 ? ", " : "", p->mx[i], "");
		if (p->mx_more > 0)
			fprintf(out, " (%zu more)", p->mx_more);
	} else if (mi->detail[0] != '\0')
		report_put_field(out, ": ", mi->detail, "");
	fputc('\n', out);
	for (i = 0; mi->state == MTASTS_POLICY && i < r->nmx; i++) {
		const struct mx_info *m = &r->mx[i];

		if (m->sts_match == IDENT_UNCHECKED)
			continue;
		fprintf(out, "    %s: %s the policy%s\n", m->host,
		    m->sts_match == IDENT_YES ? "fits" : "does NOT fit",
		    m->sts_cert == IDENT_YES ? ", TLS and certificate as it "
		    "requires" : m->sts_cert == IDENT_NO ? ", TLS NOT as it "
		    "requires" : "");
	}
	if (mi->rpt_valid != 0)
		report_put_field(out, "  tls-rpt: ", mi->rpt_record, "\n");
}

void
report_tls_text(FILE *out, const struct probe_result *r)
{
	const struct tlsconn_info *t = result_tls_info(r);

	if (r->tls_done) {
		fprintf(out, "  tls:     %s %s%s%s, certificate %s, OCSP %s\n",
		    t->version, t->cipher, r->tls_implicit ? " (implicit)" :
		    "", t->resumed ? " (session resumed)" : "", t->verified ?
		    "verified" : "NOT verified", t->resumed ? "not asked "
		    "(resumed)" : t->ocsp_stapled ? "stapled" : "not stapled");
		if (t->nchain > 0) {
			fputs("  chain:\n", out);
			text_chain(out, t);
		}
	}
	text_dane(out, r);
	text_mtasts(out, r);
}
