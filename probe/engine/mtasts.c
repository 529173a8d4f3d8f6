/*
 * mtasts.c — MTA-STS and TLS-RPT for one probe's domain (mtasts.h).
 *
 * Owns the run (a reference per look-up out, so that a late answer finds
 * it), the HTTP connection of the policy fetch (libevent's evhttp over an
 * OpenSSL bufferevent, at most one at a time, freed from a fresh loop
 * turn since evhttp must not lose it inside its own callback), and the
 * deadline.  The policy text is parsed in place from evhttp's buffer,
 * which its size limit bounds.  The result owns struct mtasts_info.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mtasts.h"
#include "result.h"
#include "tlsconn.h"

#define MTASTS_PATH		"/.well-known/mta-sts.txt"
#define MTASTS_ADDRS		4	/* addresses of the policy host tried */
/* ---- the look-ups and the fetch ----------------------------------------- */

struct mtasts_run {
	struct event_base	*base;
	struct resolver		*resolver;
	SSL_CTX			**https_ctx;
	const char		*cafile;
	struct probe_result	*res;		/* NULL once released */
	struct mtasts_info	*mi;		/* res->mtasts */
	char			 host[RESOLVER_NAME_MAX + 8];	/* mta-sts.<domain> */
	int			 port;
	int			 family;
	bool			 fetch;
	int			 refs;		/* the probe, and each look-up out */
	int			 out;		/* steps not finished */
	bool			 fetching;	/* the policy fetch is under way */
	bool			 expired;	/* the deadline passed */
	struct event		*deadline;
	struct event		*tick;		/* a fresh loop turn: free the
						 * connection, tell the caller */
	void			(*idle_cb)(void *);
	void			*idle_arg;
	struct evhttp_connection *conn;
	bool			 conn_done;	/* to be freed at the tick */
	bool			 retry;		/* then try the next address */
	int			 http_error;	/* enum evhttp_request_error + 1 */
	struct sockaddr_storage	 addrs[MTASTS_ADDRS];
	size_t			 naddrs;
	size_t			 next_addr;
};

static void start_fetch(struct mtasts_run *mr);

static void
unref(struct mtasts_run *mr)
{
	if (--mr->refs == 0)
		free(mr);
}

/* One step (a look-up, the fetch) finished. */
static void
step_done(struct mtasts_run *mr)
{
	if (--mr->out == 0)
		event_active(mr->tick, EV_TIMEOUT, 0);
}

bool
mtasts_pending(const struct mtasts_run *mr)
{
	return mr != NULL && mr->out > 0 && !mr->expired;
}

static void
fetch_failed(struct mtasts_run *mr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The fetch gave up: the step is done. */
static void
fetch_failed(struct mtasts_run *mr, const char *fmt, ...)
{
	va_list ap;

	mr->mi->state = MTASTS_FETCH_FAILED;
	va_start(ap, fmt);
	vsnprintf(mr->mi->detail, sizeof(mr->mi->detail), fmt, ap);
	va_end(ap);
	mr->fetching = false;
	step_done(mr);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_run *mr = arg;
	void (*cb)(void *) = mr->idle_cb;

	(void)fd;
	(void)what;
	if (mr->conn_done) {
		/* evhttp may not lose the connection inside its own
		 * callback; here it is no longer in use. */
		mr->conn_done = false;
		evhttp_connection_free(mr->conn);
		mr->conn = NULL;
		if (mr->retry) {
			mr->retry = false;
			start_fetch(mr);
		}
	}
	if (mtasts_pending(mr) || cb == NULL)
		return;
	mr->idle_cb = NULL;
	cb(mr->idle_arg);
}

void
mtasts_when_idle(struct mtasts_run *mr, void (*cb)(void *), void *arg)
{
	mr->idle_cb = cb;
	mr->idle_arg = arg;
	if (!mtasts_pending(mr))
		event_active(mr->tick, EV_TIMEOUT, 0);
}

/* TIMEOUT_MTASTS_MS for everything: what is still out is given up. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_run *mr = arg;
	struct mtasts_info *mi = mr->mi;

	(void)fd;
	(void)what;
	mr->expired = true;
	if (mi->state == MTASTS_NOT_LOOKED_UP) {
		mi->state = MTASTS_LOOKUP_FAILED;
		snprintf(mi->detail, sizeof(mi->detail), "no answer within "
		    "%d s", TIMEOUT_MTASTS_MS / 1000);
	} else if (mr->fetching) {
		mi->state = MTASTS_FETCH_FAILED;
		snprintf(mi->detail, sizeof(mi->detail), "no policy within "
		    "%d s from %s", TIMEOUT_MTASTS_MS / 1000, mi->url);
		mr->fetching = false;
	}
	if (mr->conn != NULL && !mr->conn_done) {
		evhttp_connection_free(mr->conn);
		mr->conn = NULL;
	}
	event_active(mr->tick, EV_TIMEOUT, 0);
}

/* Why a request got no HTTP answer: the TLS verdict first. */
static void
no_answer(struct mtasts_run *mr, char *buf, size_t len)
{
	static const char *const why[] = {
		"timeout", "the connection closed", "an invalid header",
		"a buffer error", "cancelled", "a policy over the size limit"
	};
	struct bufferevent *bev = mr->conn != NULL ?
	    evhttp_connection_get_bufferevent(mr->conn) : NULL;
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char tls[128];

	if (vr != X509_V_OK)
		snprintf(buf, len, "the certificate of %s does not verify: "
		    "%s", mr->host, X509_verify_cert_error_string(vr));
	else if (mr->http_error > 0 && (size_t)mr->http_error <=
	    sizeof(why) / sizeof(why[0]) && mr->http_error != 2)
		snprintf(buf, len, "%s", why[mr->http_error - 1]);
	else
		snprintf(buf, len, "%s", tlsconn_error(bev, tls, sizeof(tls)));
}

/* A 200 answer: the media type, then the policy. */
static void
take_policy(struct mtasts_run *mr, struct evhttp_request *req)
{
	struct mtasts_info *mi = mr->mi;
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	size_t len = evbuffer_get_length(body);
	const char *text;

	/* RFC 8461 §3.3: served as text/plain (parameters allowed). */
	if (ctype == NULL || strncasecmp(ctype, "text/plain", 10) != 0 ||
	    (ctype[10] != '\0' && ctype[10] != ';' && ctype[10] != ' ' &&
	    ctype[10] != '\t')) {
		fetch_failed(mr, "%s was served as %.60s, not text/plain",
		    mi->url, ctype != NULL ? ctype : "no media type");
		return;
	}
	text = len > 0 ? (const char *)evbuffer_pullup(body, -1) : "";
	mtasts_parse_policy(text, len, &mi->policy);
	mi->state = mi->policy.valid ? MTASTS_POLICY : MTASTS_POLICY_INVALID;
	if (!mi->policy.valid)
		snprintf(mi->detail, sizeof(mi->detail), "%s",
		    mi->policy.error);
	mr->fetching = false;
	step_done(mr);
}

static void
on_http_error(enum evhttp_request_error err, void *arg)
{
	struct mtasts_run *mr = arg;

	mr->http_error = (int)err + 1;
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct mtasts_run *mr = arg;
	struct mtasts_info *mi = mr->mi;
	const char *loc;
	char why[160];
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	mr->conn_done = true;
	event_active(mr->tick, EV_TIMEOUT, 0);
	if (mr->expired || !mr->fetching)
		return;
	if (code == 0) {
		no_answer(mr, why, sizeof(why));
		if (mr->next_addr < mr->naddrs &&
		    strstr(why, "verify") == NULL) {
			mr->retry = true;	/* the next address, at the tick */
			return;
		}
		fetch_failed(mr, "%s: %s", mi->url, why);
		return;
	}
	mi->http_status = code;
	if (code >= 300 && code < 400) {
		loc = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Location");
		fetch_failed(mr, "%s answered %d, a redirect%s%.100s, which is "
		    "not followed (RFC 8461 §3.3)", mi->url, code, loc != NULL ?
		    " to " : "", loc != NULL ? loc : "");
	} else if (code != 200)
		fetch_failed(mr, "%s answered HTTP %d", mi->url, code);
	else
		take_policy(mr, req);
}

/* GET the policy from the next address of the policy host. */
static void
start_fetch(struct mtasts_run *mr)
{
	struct mtasts_info *mi = mr->mi;
	struct evhttp_request *req;
	struct bufferevent *bev;
	struct evkeyvalq *h;
	char ip[64], err[256];
	SSL *ssl;

	if (*mr->https_ctx == NULL && (*mr->https_ctx =
	    tlsconn_ctx_new_verified(mr->cafile, err, sizeof(err))) == NULL) {
		fetch_failed(mr, "%s", err);
		return;
	}
	resolver_addr_str((struct sockaddr *)&mr->addrs[mr->next_addr++], ip,
	    sizeof(ip));
	mr->http_error = 0;
	if ((ssl = tlsconn_ssl_verified(*mr->https_ctx, mr->host)) == NULL ||
	    (bev = bufferevent_openssl_socket_new(mr->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		fetch_failed(mr, "cannot set up TLS for %s", mr->host);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	mr->conn = evhttp_connection_base_bufferevent_new(mr->base, NULL, bev,
	    ip, (unsigned short)mr->port);
	req = evhttp_request_new(on_response, mr);
	if (mr->conn == NULL || req == NULL) {
		if (req != NULL)
			evhttp_request_free(req);
		if (mr->conn == NULL)
			bufferevent_free(bev);
		fetch_failed(mr, "cannot set up HTTP for %s", mr->host);
		return;
	}
	evhttp_connection_set_timeout(mr->conn, TIMEOUT_MTASTS_MS / 1000);
	evhttp_connection_set_max_body_size(mr->conn, LIMIT_MTASTS_POLICY);
	evhttp_connection_set_max_headers_size(mr->conn, 16 * 1024);
	evhttp_connection_set_retries(mr->conn, 0);
	evhttp_request_set_error_cb(req, on_http_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", mr->host);
	evhttp_add_header(h, "User-Agent", "smtpprobe");
	evhttp_add_header(h, "Connection", "close");
	result_transcriptf(mr->res, 'i', "MTA-STS: GET %s (%s port %d)",
	    mi->url, ip, mr->port);
	if (evhttp_make_request(mr->conn, req, EVHTTP_REQ_GET,
	    MTASTS_PATH) != 0)
		fetch_failed(mr, "cannot send the request for %s", mi->url);
}

static void
on_policy_host(void *arg, const struct resolver_addr_result *ar)
{
	struct mtasts_run *mr = arg;
	size_t i;

	if (mr->res != NULL && !mr->expired) {
		for (i = 0; i < ar->n && mr->naddrs < MTASTS_ADDRS; i++)
			mr->addrs[mr->naddrs++] = ar->addrs[i];
		if (mr->naddrs == 0)
			fetch_failed(mr, "%s has no address (%s)", mr->host,
			    resolver_status_name(ar->status));
		else
			start_fetch(mr);
	}
	unref(mr);
}

/* A TXT answer: take() reads it unless the run is over, and the step
 * is done; the look-up's reference goes either way. */
static void
txt_answer(void *arg, const struct resolver_txt_result *tr,
    void (*take)(struct mtasts_run *, const struct resolver_txt_result *))
{
	struct mtasts_run *mr = arg;

	if (mr->res != NULL && !mr->expired) {
		take(mr, tr);
		step_done(mr);
	}
	unref(mr);
}

/* RFC 8461 §3.1: exactly one TXT record starting "v=STSv1", valid. */
static void
take_sts_txt(struct mtasts_run *mr, const struct resolver_txt_result *tr)
{
	struct mtasts_info *mi = mr->mi;
	char id[sizeof(mi->id)], why[96];
	size_t i, nsts = 0;
	int rc;

	if (tr->status != RESOLVER_OK && tr->status != RESOLVER_NODATA &&
	    tr->status != RESOLVER_NXDOMAIN) {
		mi->state = MTASTS_LOOKUP_FAILED;
		snprintf(mi->detail, sizeof(mi->detail), "%s", tr->detail);
	} else
		mi->state = MTASTS_NO_RECORD;
	for (i = 0; i < tr->n; i++) {
		rc = mtasts_parse_txt(tr->txt[i], tr->len[i], id, sizeof(id),
		    why, sizeof(why));
		if (rc == 0)
			continue;
		if (nsts++ == 0) {
			snprintf(mi->record, sizeof(mi->record), "%s",
			    tr->txt[i]);
			memcpy(mi->id, id, sizeof(mi->id));
		}
		mi->state = rc == 1 && nsts == 1 ? MTASTS_NOT_FETCHED :
		    MTASTS_RECORD_INVALID;
		if (rc < 0)
			snprintf(mi->detail, sizeof(mi->detail), "%s", why);
		else if (nsts > 1)
			snprintf(mi->detail, sizeof(mi->detail), "%zu STSv1 "
			    "records; there must be one", nsts);
	}
	result_transcriptf(mr->res, 'i', "DNS: TXT _mta-sts.%s: %s, %s",
	    mr->host + 8, resolver_status_name(tr->status),
	    mtasts_state_name(mi->state));
	if (mi->state == MTASTS_NOT_FETCHED && mr->fetch) {
		mr->out++;
		mr->fetching = true;
		mr->refs++;
		resolver_query_addrs(mr->resolver, mr->host, mr->family,
		    on_policy_host, mr);
	}
}

static void
on_sts_txt(void *arg, const struct resolver_txt_result *tr)
{
	txt_answer(arg, tr, take_sts_txt);
}

/* RFC 8460 §3: the reporting address. */
static void
take_rpt_txt(struct mtasts_run *mr, const struct resolver_txt_result *tr)
{
	struct mtasts_info *mi = mr->mi;
	char rua[sizeof(mi->rpt_rua)], why[96];
	size_t i;
	int rc;

	mi->rpt_status = tr->status;
	for (i = 0; i < tr->n && mi->rpt_valid == 0; i++) {
		rc = tlsrpt_parse_txt(tr->txt[i], tr->len[i], rua,
		    sizeof(rua), why, sizeof(why));
		if (rc == 0)
			continue;
		mi->rpt_valid = rc;
		snprintf(mi->rpt_record, sizeof(mi->rpt_record), "%s",
		    tr->txt[i]);
		snprintf(mi->rpt_rua, sizeof(mi->rpt_rua), "%s",
		    rc == 1 ? rua : why);
	}
}

static void
on_rpt_txt(void *arg, const struct resolver_txt_result *tr)
{
	txt_answer(arg, tr, take_rpt_txt);
}

/* The port of the policy fetch: 443, or the test-only override. */
static int
policy_port(void)
{
	const char *s = getenv(MTASTS_PORT_ENV);
	char *end;
	long p;

	if (s == NULL || *s == '\0')
		return 443;
	p = strtol(s, &end, 10);
	return *end == '\0' && p >= 1 && p <= 65535 ? (int)p : 443;
}

struct mtasts_run *
mtasts_run_new(struct event_base *base, struct resolver *resolver,
    SSL_CTX **https_ctx, const char *cafile, struct probe_result *res,
    const char *domain, bool fetch, int family)
{
	struct timeval tv = { TIMEOUT_MTASTS_MS / 1000,
	    (TIMEOUT_MTASTS_MS % 1000) * 1000 };
	struct mtasts_run *mr;
	char name[RESOLVER_NAME_MAX + 16];

	if (strlen(domain) + 9 >= sizeof(mr->host) ||
	    (mr = calloc(1, sizeof(*mr))) == NULL)
		return NULL;
	if ((res->mtasts = calloc(1, sizeof(*res->mtasts))) == NULL ||
	    (mr->tick = event_new(base, -1, 0, on_tick, mr)) == NULL ||
	    (mr->deadline = evtimer_new(base, on_deadline, mr)) == NULL) {
		if (mr->tick != NULL)
			event_free(mr->tick);
		free(mr);
		return NULL;
	}
	mr->base = base;
	mr->resolver = resolver;
	mr->https_ctx = https_ctx;
	mr->cafile = cafile;
	mr->res = res;
	mr->mi = res->mtasts;
	mr->fetch = fetch;
	mr->family = family;
	mr->port = policy_port();
	snprintf(mr->host, sizeof(mr->host), "mta-sts.%s", domain);
	snprintf(mr->mi->url, sizeof(mr->mi->url), "https://%s%s", mr->host,
	    MTASTS_PATH);
	evtimer_add(mr->deadline, &tv);
	mr->refs = 3;		/* the probe, two TXT look-ups */
	mr->out = 2;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	resolver_query_txt(resolver, name, on_sts_txt, mr);
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	resolver_query_txt(resolver, name, on_rpt_txt, mr);
	return mr;
}

void
mtasts_run_release(struct mtasts_run *mr)
{
	if (mr == NULL)
		return;
	if (mr->conn != NULL)
		evhttp_connection_free(mr->conn);
	mr->conn = NULL;
	event_free(mr->tick);
	event_free(mr->deadline);
	mr->res = NULL;
	mr->expired = true;	/* nothing more is written */
	unref(mr);
}

/* ---- what it means for the MX hosts ------------------------------------ */

/* Whether the last handshake, with the server res names, satisfies RFC
 * 8461 §4.2: TLS, a certificate chaining to a trusted root, valid now,
 * for the MX name.  IDENT_UNCHECKED when TLS was not tried. */
static enum ident_check
tls_for_policy(const struct probe_result *res, char *why, size_t len)
{
	const struct tlsconn_info *t = result_tls_info(res);

	why[0] = '\0';
	if (!res->tls_done) {
		if (result_has_finding(res, FINDING_STARTTLS_NOT_OFFERED)) {
			snprintf(why, len, "it does not offer STARTTLS");
			return IDENT_NO;
		}
		if (res->stages[STAGE_TLS].status == STATUS_FAIL) {
			snprintf(why, len, "the TLS handshake failed");
			return IDENT_NO;
		}
		return IDENT_UNCHECKED;
	}
	if (t->expired)
		snprintf(why, len, "its certificate expired on %s",
		    t->not_after);
	else if (!t->chain_ok)
		snprintf(why, len, "its certificate does not chain to a "
		    "trusted authority (%s)", t->verify_error);
	else if (t->name_checked && !t->name_match)
		snprintf(why, len, "its certificate does not name it (it "
		    "names %s)", t->names[0] ? t->names : t->subject);
	return why[0] == '\0' ? IDENT_YES : IDENT_NO;
}

static void
policy_findings(struct probe_result *res, const struct mtasts_info *mi)
{
	const struct mtasts_policy *p = &mi->policy;
	enum severity sev = p->mode == MTASTS_MODE_ENFORCE ? SEV_ERROR :
	    SEV_WARNING;
	const char *effect = p->mode == MTASTS_MODE_ENFORCE ? "senders that "
	    "honour the policy will not deliver to it" : "testing mode: "
	    "senders report this (TLS-RPT) but still deliver";
	char why[192];
	size_t i, j;

	for (i = 0; i < res->nmx; i++) {
		struct mx_info *m = &res->mx[i];

		if (m->host[0] == '\0' || m->is_ip)
			continue;
		m->sts_match = IDENT_NO;
		for (j = 0; j < p->nmx && m->sts_match == IDENT_NO; j++)
			if (mtasts_mx_match(p->mx[j], m->host))
				m->sts_match = IDENT_YES;
		if (m->sts_match == IDENT_NO && p->mode != MTASTS_MODE_NONE)
			result_finding_sev(res, FINDING_MTASTS_MX_NOT_IN_POLICY,
			    sev, STAGE_TLS, "RFC 8461 §4.1", m->host, "the MX "
			    "host %s fits none of the mx patterns of the "
			    "MTA-STS policy (mode %s): %s", m->host,
			    mtasts_mode_name(p->mode), effect);
		if (!res->has_server || strcasecmp(m->host,
		    res->server_host) != 0)
			continue;
		m->sts_cert = tls_for_policy(res, why, sizeof(why));
		if (m->sts_cert == IDENT_NO && p->mode != MTASTS_MODE_NONE)
			result_finding_sev(res, FINDING_MTASTS_TLS_INVALID, sev,
			    STAGE_TLS, "RFC 8461 §4.2", m->host, "the MTA-STS "
			    "policy (mode %s) requires TLS with a certificate "
			    "valid for %s, but %s: %s",
			    mtasts_mode_name(p->mode), m->host, why, effect);
	}
}

void
mtasts_findings(struct probe_result *res)
{
	const struct mtasts_info *mi = res->mtasts;

	if (mi == NULL)
		return;
	switch (mi->state) {
	case MTASTS_LOOKUP_FAILED:
		result_finding(res, FINDING_MTASTS_LOOKUP_FAILED, STAGE_TLS,
		    mi->detail, "whether %s publishes an MTA-STS policy could "
		    "not be told: the TXT look-up failed (%s)",
		    res->addr.domain_ascii, mi->detail);
		break;
	case MTASTS_RECORD_INVALID:
		result_finding(res, FINDING_MTASTS_RECORD_INVALID, STAGE_TLS,
		    mi->record, "the MTA-STS record of %s is not valid (%s): "
		    "senders take the domain for one without a policy",
		    res->addr.domain_ascii, mi->detail);
		break;
	case MTASTS_FETCH_FAILED:
		result_finding(res, FINDING_MTASTS_FETCH_FAILED, STAGE_TLS,
		    mi->url, "%s announces MTA-STS (id %s) but its policy "
		    "could not be fetched: %s; a sender without a cached "
		    "policy delivers as if there were none",
		    res->addr.domain_ascii, mi->id, mi->detail);
		break;
	case MTASTS_POLICY_INVALID:
		result_finding(res, FINDING_MTASTS_POLICY_INVALID, STAGE_TLS,
		    mi->url, "the MTA-STS policy of %s is not valid (%s)",
		    res->addr.domain_ascii, mi->detail);
		break;
	case MTASTS_POLICY:
		policy_findings(res, mi);
		break;
	default:
		break;
	}
	if (mi->rpt_valid < 0)
		result_finding(res, FINDING_TLSRPT_INVALID, STAGE_TLS,
		    mi->rpt_record, "the TLS-RPT record of %s is not valid "
		    "(%s): senders send no TLS reports", res->addr.domain_ascii,
		    mi->rpt_rua);
	else if (mi->rpt_valid == 0 && mi->state >= MTASTS_RECORD_INVALID &&
	    mi->rpt_status != RESOLVER_TIMEOUT &&
	    mi->rpt_status != RESOLVER_SERVFAIL)
		result_finding(res, FINDING_TLSRPT_MISSING, STAGE_TLS, NULL,
		    "%s uses MTA-STS but publishes no TLS-RPT record "
		    "(_smtp._tls.%s): nobody hears of senders' TLS failures",
		    res->addr.domain_ascii, res->addr.domain_ascii);
}

/* ---- what earlier probes of the run learnt ----------------------------- */

struct mtasts_cache_entry {
	char			 domain[RESOLVER_NAME_MAX];
	double			 expires;	/* monotonic ms */
	struct mtasts_info	*mi;
};

struct mtasts_cache {
	size_t				 n;
	struct mtasts_cache_entry	 e[MTASTS_CACHE_MAX];
};

struct mtasts_cache *
mtasts_cache_new(void)
{
	return calloc(1, sizeof(struct mtasts_cache));
}

void
mtasts_cache_free(struct mtasts_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		free(c->e[i].mi);
	free(c);
}

struct mtasts_info *
mtasts_cache_get(struct mtasts_cache *c, const char *domain)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcasecmp(c->e[i].domain, domain) == 0 &&
		    c->e[i].expires > monotonic_ms())
			return mtasts_info_dup(c->e[i].mi);
	return NULL;
}

void
mtasts_cache_put(struct mtasts_cache *c, const char *domain,
    const struct mtasts_info *mi)
{
	struct mtasts_cache_entry *e = NULL;
	struct mtasts_info *copy;
	size_t i;

	/* Only an answer: a failed look-up may succeed for the next. */
	if (c == NULL || mi == NULL || mi->state == MTASTS_NOT_LOOKED_UP ||
	    mi->state == MTASTS_LOOKUP_FAILED ||
	    strlen(domain) >= sizeof(e->domain) ||
	    (copy = mtasts_info_dup(mi)) == NULL)
		return;
	for (i = 0; i < c->n && e == NULL; i++)
		if (strcasecmp(c->e[i].domain, domain) == 0)
			e = &c->e[i];
	if (e == NULL && c->n < MTASTS_CACHE_MAX)
		e = &c->e[c->n++];
	if (e == NULL) {
		/* Full: the entry that ends first goes. */
		e = &c->e[0];
		for (i = 1; i < c->n; i++)
			if (c->e[i].expires < e->expires)
				e = &c->e[i];
	}
	free(e->mi);
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	e->mi = copy;
	e->expires = monotonic_ms() + (mi->state == MTASTS_FETCH_FAILED ?
	    MTASTS_CACHE_FAIL_MS : MTASTS_CACHE_MS);
}
