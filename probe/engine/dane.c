/*
 * dane.c — the TLSA look-ups of one probe and their meaning (dane.h).
 *
 * Owns one entry per host asked (the records of an authenticated answer,
 * converted for tlsconn) and a reference count: the probe holds one, each
 * query out one more, so that a late answer finds the run and drops it.
 * At most DANE_MAX_HOSTS hosts; the records of one host are bounded by
 * RESOLVER_MAX_TLSA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dane.h"
#include "resolver.h"

#define DANE_MAX_HOSTS	(RESOLVER_MAX_MX + 1)

_Static_assert(RESOLVER_TLSA_DATA_MAX <= TLSCONN_TLSA_MAX,
    "a TLSA record the resolver keeps must fit tlsconn's");

struct dane_host {
	char			 host[RESOLVER_NAME_MAX];
	bool			 pending;
	bool			 failed;
	enum dane_state		 state;		/* for the host's MX entry */
	unsigned		 ntlsa;
	char			 text[sizeof(((struct mx_info *)0)->tlsa)];
	char			 detail[sizeof(((struct mx_info *)0)->dane_detail)];
	size_t			 n;		/* authenticated records */
	struct tlsconn_tlsa	*tlsa;
	void			(*go)(void *);	/* waiting for the answer */
	void			*go_arg;
};

struct dane_run {
	struct resolver		*resolver;
	struct probe_result	*res;		/* NULL once released */
	enum tls_mode		 mode;
	int			 port;
	int			 refs;
	size_t			 nhosts;
	struct dane_host	 hosts[DANE_MAX_HOSTS];
};

struct dane_query {
	struct dane_run	*dr;
	size_t		 idx;
};

struct dane_run *
dane_run_new(struct resolver *resolver, struct probe_result *res,
    enum tls_mode mode, int port)
{
	struct dane_run *dr;

	if ((dr = calloc(1, sizeof(*dr))) == NULL)
		return NULL;
	dr->resolver = resolver;
	dr->res = res;
	dr->mode = mode;
	dr->port = port;
	dr->refs = 1;
	return dr;
}

static void
unref(struct dane_run *dr)
{
	size_t i;

	if (--dr->refs > 0)
		return;
	for (i = 0; i < dr->nhosts; i++)
		free(dr->hosts[i].tlsa);
	free(dr);
}

void
dane_run_release(struct dane_run *dr)
{
	if (dr == NULL)
		return;
	dr->res = NULL;
	unref(dr);
}

static struct dane_host *
find_host(struct dane_run *dr, const char *host)
{
	size_t i;

	for (i = 0; dr != NULL && i < dr->nhosts; i++)
		if (strcasecmp(dr->hosts[i].host, host) == 0)
			return &dr->hosts[i];
	return NULL;
}

/* The records as text for the report: "3 1 1 0a1b2c3d4e5f6a7b...; ...". */
static void
records_text(const struct resolver_tlsa_result *tr, char *buf, size_t len)
{
	char hex[2 * 8 + 1];
	size_t i, o = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < tr->n && o < len; i++) {
		const struct resolver_tlsa *t = &tr->tlsa[i];

		tlsconn_hex(t->data, t->len < 8 ? t->len : 8, hex, sizeof(hex));
		w = snprintf(buf + o, len - o, "%s%u %u %u %s%s", i > 0 ? "; " :
		    "", t->usage, t->selector, t->mtype, hex, t->len > 8 ?
		    "..." : "");
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Keep the authenticated records for the handshake; false without
 * memory. */
static bool
keep_records(struct dane_host *h, const struct resolver_tlsa_result *tr)
{
	size_t i;

	if ((h->tlsa = calloc(tr->n, sizeof(*h->tlsa))) == NULL)
		return false;
	for (i = 0; i < tr->n; i++) {
		h->tlsa[i].usage = tr->tlsa[i].usage;
		h->tlsa[i].selector = tr->tlsa[i].selector;
		h->tlsa[i].mtype = tr->tlsa[i].mtype;
		h->tlsa[i].len = tr->tlsa[i].len;
		memcpy(h->tlsa[i].data, tr->tlsa[i].data, tr->tlsa[i].len);
	}
	h->n = tr->n;
	return true;
}

/* What the answer means, as the MX entry's state and a finding. */
static enum dane_state
judge(struct dane_run *dr, struct dane_host *h,
    const struct resolver_tlsa_result *tr, const char *owner)
{
	struct probe_result *res = dr->res;
	size_t i, usable = 0;

	if (tr->status == RESOLVER_NXDOMAIN || tr->status == RESOLVER_NODATA)
		return DANE_NO_TLSA;
	if (tr->status != RESOLVER_OK) {
		h->failed = true;
		result_finding_sev(res, FINDING_DANE_LOOKUP_FAILED,
		    dr->mode == TLS_DANE ? SEV_ERROR : SEV_WARNING, STAGE_TLS,
		    "RFC 7672 §2.2", tr->detail, "the TLSA look-up for %s "
		    "failed (%s): whether %s uses DANE is unknown%s", owner,
		    resolver_status_name(tr->status), h->host,
		    dr->mode == TLS_DANE ? "; with --tls dane the server "
		    "cannot be authenticated" : "");
		return DANE_LOOKUP_FAILED;
	}
	if (!tr->authenticated) {
		result_finding(res, FINDING_DANE_UNAUTHENTICATED, STAGE_TLS,
		    owner, "%s has %zu TLSA record%s, but the DNS server did "
		    "not mark the answer authenticated (no AD bit): they are "
		    "not used (smtpprobe does not validate DNSSEC itself; "
		    "the DNS server must)", owner, tr->n, tr->n == 1 ? "" :
		    "s");
		return DANE_UNAUTHENTICATED;
	}
	if (!keep_records(h, tr)) {
		h->failed = true;	/* out of memory: as if it had failed */
		return DANE_LOOKUP_FAILED;
	}
	for (i = 0; i < h->n; i++)
		if (tlsconn_tlsa_usable(&h->tlsa[i]))
			usable++;
	if (usable == 0) {
		result_finding(res, FINDING_DANE_UNUSABLE, STAGE_TLS, owner,
		    "none of the %zu authenticated TLSA record%s of %s is "
		    "usable for SMTP (usage 2 or 3, selector 0 or 1, matching "
		    "type 0, 1 or 2 with data of the right length, RFC 7672 "
		    "§3.1.3): TLS is required but not authenticated", h->n,
		    h->n == 1 ? "" : "s", owner);
		return DANE_UNUSABLE;
	}
	return DANE_USABLE;
}

static void
on_tlsa(void *arg, const struct resolver_tlsa_result *tr)
{
	struct dane_query *q = arg;
	struct dane_run *dr = q->dr;
	struct dane_host *h = &dr->hosts[q->idx];
	char owner[RESOLVER_NAME_MAX + 16];
	void (*go)(void *) = h->go;

	free(q);
	h->pending = false;
	h->go = NULL;
	if (dr->res != NULL) {
		snprintf(owner, sizeof(owner), "_%d._tcp.%s", dr->port,
		    h->host);
		result_transcriptf(dr->res, 'i', "DNS: TLSA %s: %s, %zu "
		    "record(s)%s", owner, resolver_status_name(tr->status),
		    tr->n, tr->authenticated ? ", authenticated (AD)" : "");
		h->state = judge(dr, h, tr, owner);
		h->ntlsa = (unsigned)tr->n;
		records_text(tr, h->text, sizeof(h->text));
		if (h->state == DANE_LOOKUP_FAILED)
			snprintf(h->detail, sizeof(h->detail), "%s",
			    tr->detail);
		if (go != NULL)
			go(h->go_arg);
	}
	unref(dr);
}

void
dane_lookup(struct dane_run *dr, const char *host)
{
	struct dane_host *h;
	struct dane_query *q;
	char owner[RESOLVER_NAME_MAX + 16];

	if (dr == NULL || host[0] == '\0' || find_host(dr, host) != NULL ||
	    dr->nhosts == DANE_MAX_HOSTS)
		return;
	if ((q = malloc(sizeof(*q))) == NULL)
		return;
	h = &dr->hosts[dr->nhosts];
	memset(h, 0, sizeof(*h));
	snprintf(h->host, sizeof(h->host), "%s", host);
	q->dr = dr;
	q->idx = dr->nhosts++;
	h->pending = true;
	dr->refs++;
	snprintf(owner, sizeof(owner), "_%d._tcp.%s", dr->port, host);
	resolver_query_tlsa(dr->resolver, owner, on_tlsa, q);
}

bool
dane_ready(struct dane_run *dr, const char *host, void (*go)(void *),
    void *arg)
{
	struct dane_host *h = find_host(dr, host);

	if (h == NULL || !h->pending)
		return true;
	h->go = go;
	h->go_arg = arg;
	return false;
}

const struct tlsconn_tlsa *
dane_records(struct dane_run *dr, const char *host, size_t *n, bool *failed)
{
	struct dane_host *h = find_host(dr, host);

	*n = 0;
	*failed = false;
	if (h == NULL)
		return NULL;
	*failed = h->failed;
	*n = h->n;
	return h->n > 0 ? h->tlsa : NULL;
}

void
dane_session_done(struct dane_run *dr, const char *host)
{
	struct probe_result *res = dr != NULL ? dr->res : NULL;
	const struct tlsconn_info *ti;
	struct dane_host *h;

	if (res == NULL || !res->tls_done || (h = find_host(dr, host)) == NULL)
		return;
	ti = result_tls_info(res);
	if (ti->dane == TLSCONN_DANE_MATCH) {
		h->state = DANE_MATCH;
		snprintf(h->detail, sizeof(h->detail), "%u %u %u %s (depth %d)",
		    ti->dane_usage, ti->dane_selector, ti->dane_mtype,
		    ti->dane_data, ti->dane_depth);
	} else if (ti->dane == TLSCONN_DANE_MISMATCH) {
		h->state = DANE_MISMATCH;
		snprintf(h->detail, sizeof(h->detail), "presented: %s, public "
		    "key SHA-256 %s", ti->subject, ti->nchain > 0 ?
		    ti->chain[0].spki_sha256 : "unknown");
	}
}

void
dane_fill(struct dane_run *dr)
{
	struct probe_result *res = dr != NULL ? dr->res : NULL;
	struct dane_host *h;
	size_t i;

	for (i = 0; res != NULL && i < res->nmx; i++) {
		struct mx_info *m = &res->mx[i];

		if ((h = find_host(dr, m->host)) == NULL || h->pending)
			continue;
		m->dane = h->state;
		m->ntlsa = h->ntlsa;
		memcpy(m->tlsa, h->text, sizeof(m->tlsa));
		memcpy(m->dane_detail, h->detail, sizeof(m->dane_detail));
	}
}
