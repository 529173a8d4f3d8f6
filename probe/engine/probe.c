/*
 * probe.c — one address from start to verdict.
 *
 * Checks the address, finds the servers (MX per RFC 5321 §5.1, implicit
 * MX, null MX per RFC 7505, or the server given on the command line),
 * then tries them in order, one session at a time, moving on after a
 * connection failure, a refused or temporary greeting, or a dropped
 * connection before the envelope, and stopping at the first definite
 * answer.  Owns the running sessions; everything learned goes into the
 * caller's probe_result.  probe_start() runs a probe asynchronously on
 * the context's loop (several at once in batch mode; ctx->hooks, when
 * set, gives leave for each connection); probe_address() is the
 * synchronous wrapper.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "dane.h"
#include "diag.h"
#include "identity_run.h"
#include "mtasts.h"
#include "probe.h"
#include "record.h"

/* A server to try: an address (with the port), or, when the proxy
 * resolves names (socks5h), a host name alone (addrlen 0). */
struct target {
	char			host[RESOLVER_NAME_MAX];
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	int			port;
};

/* The servers to try, in order (grown up to LIMIT_TARGETS), and those
 * -4, -6 or --source-ip left out. */
struct tlist {
	struct target	*t;
	size_t		 n;
	size_t		 cap;
	size_t		 dropped;	/* not kept for want of memory */
	size_t		 nexcluded;
	char		 excluded[192];	/* the first few, for the finding */
};

struct host_addr {
	size_t			mx_index;
	struct sockaddr_storage	addr;
};

struct run {
	struct probe_ctx	*ctx;
	struct probe_result	*res;
	/* The MX hosts' addresses as DNS gave them, binary, until the
	 * target list is built from them. */
	struct host_addr	*haddrs;
	size_t			 nhaddrs;
	size_t			 haddrs_cap;
	struct tlist		 tl;
	size_t			 next;		/* next target to try */
	size_t			 tried;
	bool			 retry_plain;	/* same target again, no STARTTLS */
	size_t			 current;
	int			 pending;	/* DNS queries under way */
	struct session		*session;
	struct probe_request	 req;		/* req.plan: what each connection asks */
	struct plan		 cut;		/* req.plan without the group's
						 * other domains */
	bool			 cut_used;	/* the session runs cut */
	struct plan		 own_plan;	/* the address alone (no plan given) */
	struct plan_txn		 own_txn;
	struct plan_rcpt	 own_rcpts[2];	/* the address, the control */
	int			 catch_all_code;
	char			 catch_all_rcpt[LIMIT_ADDRESS * 4 + 8];
	bool			 done;
	struct identity_run	*ident;		/* reverse DNS, client audit */
	struct dane_run		*dane;		/* TLSA look-ups; NULL: no DANE */
	bool			 dane_waiting;	/* a connection waits for one */
	struct mtasts_run	*mtasts;	/* the domain's MTA-STS, TLS-RPT */
	bool			 mtasts_waiting;
	int			 ident_idx;	/* server entry of the session */
	bool			 ident_waiting;
	bool			 ident_idle;
	/* asynchronous API: done_cb runs from deliver_ev, then run is freed */
	probe_done_cb		 done_cb;
	void			*done_arg;
	struct event		*deliver_ev;
	struct event		*delay_ev;	/* req.delay_ms before connecting */
	void			*gate_token;	/* ctx->hooks: connection permit */
	bool			 gate_waiting;
	size_t			 fast_failed;	/* refused/unreachable at once */
	bool			 no_ipv6;	/* IPv6 has no route: skip it */
	size_t			 nstalled;	/* targets skipped: timed out before */
};

struct host_query {
	struct run	*run;
	size_t		 mx_index;
};

void
probe_config_defaults(struct probe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 25;
	cfg->tls_mode = TLS_OPPORTUNISTIC;
	cfg->family = AF_UNSPEC;
	cfg->timeout_ms[STAGE_ADDRESS] = 1000;
	cfg->timeout_ms[STAGE_DNS] = TIMEOUT_DNS_MS;
	cfg->timeout_ms[STAGE_CONNECT] = TIMEOUT_CONNECT_MS;
	cfg->timeout_ms[STAGE_PROXY] = TIMEOUT_PROXY_MS;
	cfg->timeout_ms[STAGE_GREETING] = TIMEOUT_GREETING_MS;
	cfg->timeout_ms[STAGE_EHLO] = TIMEOUT_EHLO_MS;
	cfg->timeout_ms[STAGE_STARTTLS] = TIMEOUT_STARTTLS_MS;
	cfg->timeout_ms[STAGE_TLS] = TIMEOUT_TLS_MS;
	cfg->timeout_ms[STAGE_MAIL] = TIMEOUT_MAIL_MS;
	cfg->timeout_ms[STAGE_RCPT] = TIMEOUT_RCPT_MS;
	cfg->timeout_ms[STAGE_QUIT] = TIMEOUT_QUIT_MS;
	cfg->timeout_ms[STAGE_AUTH] = TIMEOUT_AUTH_MS;
}

void
probe_config_wipe(struct probe_config *cfg)
{
	auth_wipe(cfg->auth_password, sizeof(cfg->auth_password));
	auth_wipe(cfg->proxy_password, sizeof(cfg->proxy_password));
}

/* The proxy's address (the first the system's resolver gives for a
 * name); 0, or -1 with a message. */
static int
proxy_address(struct probe_ctx *ctx, char *err, size_t errlen)
{
	const struct probe_config *cfg = ctx->cfg;
	struct conn_proxy *p = &ctx->proxy_conn;
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", cfg->proxy.port);
	if ((rc = getaddrinfo(cfg->proxy.host, port, &hints, &ai)) != 0 ||
	    ai == NULL || ai->ai_addrlen > sizeof(p->addr)) {
		snprintf(err, errlen, "--proxy: cannot find the address of %s: "
		    "%s", cfg->proxy.host, rc != 0 ? gai_strerror(rc) :
		    "no address");
		if (ai != NULL)
			freeaddrinfo(ai);
		return -1;
	}
	memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
	p->addrlen = (socklen_t)ai->ai_addrlen;
	freeaddrinfo(ai);
	p->user = cfg->proxy.user;
	p->password = cfg->proxy_password;
	socks_url_str(&cfg->proxy, ctx->proxy_url, sizeof(ctx->proxy_url));
	ctx->proxy = p;
	return 0;
}

int
probe_ctx_init(struct probe_ctx *ctx, const struct probe_config *cfg,
    char *err, size_t errlen)
{
	struct resolver_config rc = cfg->dns;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	if ((ctx->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		return -1;
	}
	/* c-ares tries each server `tries` times; spread the DNS stage's
	 * time over them. */
	if (rc.tries == 0)
		rc.tries = 2;
	if (rc.timeout_ms == 0)
		rc.timeout_ms = cfg->timeout_ms[STAGE_DNS] / (2 * rc.tries);
	if (rc.timeout_ms < 100)
		rc.timeout_ms = 100;
	if (cfg->use_proxy && proxy_address(ctx, err, errlen) != 0) {
		probe_ctx_free(ctx);
		return -1;
	}
	if ((ctx->resolver = resolver_new(ctx->base, &rc, err, errlen)) ==
	    NULL) {
		probe_ctx_free(ctx);
		return -1;
	}
	if (cfg->tls_mode != TLS_NEVER &&
	    (ctx->ssl_ctx = tlsconn_ctx_new(cfg->ca_file, err, errlen)) ==
	    NULL) {
		probe_ctx_free(ctx);
		return -1;
	}
	/* Without memory there is no cache: every probe asks again. */
	ctx->mtasts_cache = mtasts_cache_new();
	return 0;
}

void
probe_ctx_free(struct probe_ctx *ctx)
{
	resolver_free(ctx->resolver);
	ctx->resolver = NULL;
	if (ctx->ssl_ctx != NULL)
		tlsconn_ctx_free(ctx->ssl_ctx);
	ctx->ssl_ctx = NULL;
	if (ctx->https_ctx != NULL)
		tlsconn_ctx_free(ctx->https_ctx);
	ctx->https_ctx = NULL;
	mtasts_cache_free(ctx->mtasts_cache);
	ctx->mtasts_cache = NULL;
	if (ctx->base != NULL)
		event_base_free(ctx->base);
	ctx->base = NULL;
}

/* The code of the last reply recorded in stage st, 0 when none. */
static int
last_code(const struct probe_result *res, enum stage st)
{
	const struct stage_rec *sr = &res->stages[st];

	if (sr->nreplies == 0 || sr->replies[sr->nreplies - 1].reply == NULL)
		return 0;
	return sr->replies[sr->nreplies - 1].reply->code;
}

static void start_next(struct run *run);
static void open_target(struct run *run);

static void
delay_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	open_target(arg);
}
static struct plan_rcpt *control_of(const struct run *run);
static void finish_run(struct run *run);

static void
ident_idle(void *arg)
{
	struct run *run = arg;

	run->ident_idle = true;
	finish_run(run);
}

static void
mtasts_idle(void *arg)
{
	struct run *run = arg;

	run->mtasts_waiting = false;
	finish_run(run);
}

static void
finish_run(struct run *run)
{
	if (run->done)
		return;
	/* The MTA-STS look-ups and fetch: at most TIMEOUT_MTASTS_MS in
	 * all, begun with the MX look-up. */
	if (mtasts_pending(run->mtasts) || run->mtasts_waiting) {
		if (!run->mtasts_waiting) {
			run->mtasts_waiting = true;
			mtasts_when_idle(run->mtasts, mtasts_idle, run);
		}
		return;
	}
	/* Reverse DNS and HELO look-ups still out: wait for them, at most
	 * one DNS timeout more. */
	if (run->ident != NULL && !run->ident_idle) {
		if (!run->ident_waiting) {
			run->ident_waiting = true;
			identity_when_idle(run->ident,
			    run->ctx->cfg->timeout_ms[STAGE_DNS], ident_idle,
			    run);
		}
		return;
	}
	run->done = true;
	dane_fill(run->dane);
	if (run->mtasts != NULL)
		mtasts_cache_put(run->ctx->mtasts_cache,
		    run->res->addr.domain_ascii, run->res->mtasts);
	mtasts_findings(run->res);
	if (!run->req.no_identity)
		identity_findings(run->res);
	run->catch_all_code = control_of(run) != NULL ?
	    run->res->catch_all_code : run->req.catch_all_code;
	run->res->skipped_stalled = run->nstalled;
	run->res->elapsed_ms = monotonic_ms() - run->res->t0;
	diag_finish(run->res, run->catch_all_code);
	/* The caller hears of it from a fresh loop turn, never from inside
	 * a callback of the run's own objects. */
	event_active(run->deliver_ev, EV_TIMEOUT, 0);
}

/* The port servers are asked on: --server's, else --port. */
static int
server_port(const struct probe_config *cfg)
{
	return cfg->use_server && cfg->server_port > 0 ? cfg->server_port :
	    cfg->port;
}

/* A new target for host, its port set; NULL at the limit or without
 * memory. */
static struct target *
new_target(const struct probe_config *cfg, struct tlist *tl, const char *host)
{
	struct target *t;

	if ((t = result_append(&tl->t, &tl->cap, &tl->n, LIMIT_TARGETS,
	    sizeof(*tl->t), &tl->dropped)) == NULL)
		return NULL;
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->port = server_port(cfg);
	return t;
}

/* A server the proxy resolves (socks5h): its name only. */
static void
add_name_target(const struct probe_ctx *ctx, struct tlist *tl,
    const char *host)
{
	(void)new_target(ctx->cfg, tl, host);
}

static void
add_target(const struct probe_ctx *ctx, struct tlist *tl, const char *host,
    const struct sockaddr *sa)
{
	const struct probe_config *cfg = ctx->cfg;
	struct target *t;

	if (tl->n >= LIMIT_TARGETS)
		return;
	/* -4/-6, and --source-ip, which binds one family (the family of
	 * the connection to the proxy, when there is one). */
	if ((cfg->family != AF_UNSPEC && sa->sa_family != cfg->family) ||
	    (cfg->source_len > 0 && ctx->proxy == NULL &&
	    sa->sa_family != cfg->source.ss_family)) {
		char ip[64];
		size_t n = strlen(tl->excluded);

		if (tl->nexcluded++ < 3 && n + 4 < sizeof(tl->excluded)) {
			resolver_addr_str(sa, ip, sizeof(ip));
			snprintf(tl->excluded + n, sizeof(tl->excluded) - n,
			    "%s%s%s%s", n > 0 ? ", " : "", host, host[0] ?
			    " " : "", ip);
		}
		return;
	}
	if ((t = new_target(cfg, tl, host)) == NULL)
		return;
	memcpy(&t->addr, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	t->addrlen = resolver_addr_set_port(&t->addr, t->port);
}

/* The target's address in text, "" for a name the proxy resolves. */
static void
target_ip(const struct target *t, char *buf, size_t len)
{
	buf[0] = '\0';
	if (t->addrlen > 0)
		resolver_addr_str((const struct sockaddr *)&t->addr, buf, len);
}

/* How the politeness hooks name the target: its address, else its
 * name. */
static void
target_key(const struct target *t, char *buf, size_t len)
{
	if (t->addrlen > 0)
		target_ip(t, buf, len);
	else
		snprintf(buf, len, "%s", t->host);
}

/* socks5h: the proxy looks up the servers' names, the probe does not. */
static bool
proxy_resolves(const struct probe_ctx *ctx)
{
	return ctx->proxy != NULL && ctx->cfg->proxy.remote_dns;
}

/* The targets of the MX hosts' addresses haddrs: in MX order, each
 * host's IPv6 addresses first (pass 0), then its IPv4 ones, each family
 * in the order DNS gave them. */
static void
targets_from_haddrs(const struct probe_ctx *ctx, const struct mx_info *mx,
    size_t nmx, const struct host_addr *haddrs, size_t nhaddrs,
    struct tlist *tl)
{
	size_t i, j;

	for (i = 0; i < nmx * 2; i++)
		for (j = 0; j < nhaddrs; j++) {
			const struct host_addr *h = &haddrs[j];

			/* An address as MX target has no name to check a
			 * certificate against. */
			if (h->mx_index == i / 2 &&
			    (h->addr.ss_family == AF_INET6) == (i % 2 == 0))
				add_target(ctx, tl, mx[i / 2].is_ip ? "" :
				    mx[i / 2].host,
				    (const struct sockaddr *)&h->addr);
		}
}

/* The one target that needs no DNS: --server given as an address (or as
 * a name the proxy resolves), or an address literal (RFC 5321 §5.1: it
 * names the host).  false when there is none. */
static bool
target_fixed(const struct probe_ctx *ctx, bool literal,
    const struct sockaddr_storage *literal_addr, struct tlist *tl)
{
	const struct probe_config *cfg = ctx->cfg;
	struct sockaddr_storage ss;

	if (cfg->use_server && resolver_addr_parse(cfg->server_host, &ss))
		add_target(ctx, tl, "", (struct sockaddr *)&ss);
	else if (cfg->use_server && proxy_resolves(ctx))
		add_name_target(ctx, tl, cfg->server_host);
	else if (!cfg->use_server && literal)
		add_target(ctx, tl, "", (const struct sockaddr *)literal_addr);
	else
		return false;
	return true;
}

/* The MX hosts' addresses of DNS facts found earlier (the report's
 * text, read back); false without memory. */
static bool
haddrs_of(const struct probe_dns *d, struct host_addr **haddrs, size_t *n,
    size_t *cap)
{
	size_t i, k;

	for (i = 0; i < d->nmx; i++)
		for (k = 0; k < d->mx[i].naddrs; k++) {
			if (!result_grow(haddrs, cap, *n, RESOLVER_MAX_MX *
			    RESOLVER_MAX_ADDRS, sizeof(**haddrs)))
				return false;
			if (!resolver_addr_parse(d->mx[i].addrs[k],
			    &(*haddrs)[*n].addr))
				continue;
			(*haddrs)[(*n)++].mx_index = i;
		}
	return true;
}

/*
 * The targets of DNS facts found earlier (batch mode,
 * probe_request.resolved), in the order the walk tries them: a fixed
 * one (target_fixed()), else the MX hosts by name when the proxy
 * resolves them, and the MX hosts' addresses.
 */
static void
targets_of(const struct probe_ctx *ctx, const struct probe_dns *d,
    struct tlist *tl)
{
	struct host_addr *haddrs = NULL;
	size_t i, n = 0, cap = 0;

	if (target_fixed(ctx, d->literal, &d->literal_addr, tl))
		return;
	/* As resolve_hosts() and hosts_resolved() list them: through a
	 * proxy that resolves names, the MX hosts by name first; then the
	 * addresses known (only those of MX records that are addresses,
	 * then). */
	if (proxy_resolves(ctx))
		for (i = 0; i < d->nmx; i++)
			if (!d->mx[i].is_ip)
				add_name_target(ctx, tl, d->mx[i].host);
	if (!haddrs_of(d, &haddrs, &n, &cap))
		tl->dropped++;
	targets_from_haddrs(ctx, d->mx, d->nmx, haddrs, n, tl);
	free(haddrs);
}

/* Every address found was ruled out by -4, -6 or --source-ip. */
static void
no_target_in_family(struct run *run)
{
	const struct probe_config *cfg = run->ctx->cfg;
	struct probe_result *res = run->res;
	int fam = cfg->source_len > 0 ? cfg->source.ss_family : cfg->family;
	const char *want = fam == AF_INET6 ? "IPv6" : "IPv4";
	const char *other = fam == AF_INET6 ? "IPv4" : "IPv6";
	char why[96];

	if (cfg->source_len > 0)
		snprintf(why, sizeof(why), "--source-ip %s is an %s address",
		    cfg->source_ip, want);
	else
		snprintf(why, sizeof(why), "%s asks for %s only",
		    fam == AF_INET6 ? "-6" : "-4", want);
	result_finding(res, FINDING_CONNECT_NO_ADDRESS_IN_FAMILY, STAGE_CONNECT,
	    run->tl.excluded, "no server address to connect to: %s, and the %s "
	    "only %s address%s (%s%s)", why, res->addr.literal ||
	    cfg->use_server ? "server has" : "mail hosts have", other,
	    run->tl.nexcluded == 1 ? "" : "es", run->tl.excluded, run->tl.nexcluded > 3 ?
	    ", ..." : "");
	res->stages[STAGE_CONNECT].status = STATUS_FAIL;
	result_stage_error(res, STAGE_CONNECT, "no %s address to connect to",
	    want);
}

static void
dns_stage(struct probe_result *res, enum stage_status st, double ms)
{
	res->stages[STAGE_DNS].status = st;
	res->stages[STAGE_DNS].elapsed_ms = ms;
}

/* Keep the addresses of MX host i (as the report shows them, and binary
 * for the target list). */
static void
keep_host_addrs(struct run *run, size_t i,
    const struct resolver_addr_result *ar)
{
	struct mx_info *m = &run->res->mx[i];
	size_t k;

	for (k = 0; k < ar->n && m->naddrs < RESOLVER_MAX_ADDRS; k++) {
		if (!result_grow(&run->haddrs, &run->haddrs_cap, run->nhaddrs,
		    RESOLVER_MAX_MX * RESOLVER_MAX_ADDRS,
		    sizeof(*run->haddrs))) {
			run->res->nomem_dropped++;
			return;
		}
		run->haddrs[run->nhaddrs].mx_index = i;
		run->haddrs[run->nhaddrs++].addr = ar->addrs[k];
		resolver_addr_str((const struct sockaddr *)&ar->addrs[k],
		    m->addrs[m->naddrs++], sizeof(m->addrs[0]));
	}
}

/* All address look-ups of the MX hosts are in: build the target list. */
static void
hosts_resolved(struct run *run)
{
	struct probe_result *res = run->res;
	bool temp = false;
	size_t i;

	for (i = 0; i < res->nmx; i++) {
		struct mx_info *m = &res->mx[i];
		/* RFC 5321 §5.1 lets an implicit MX be an alias. */
		if (m->cname[0] != '\0' && !res->implicit_mx)
			result_finding(res, FINDING_DNS_MX_IS_CNAME, STAGE_DNS,
			    m->cname, "the MX host %s is an alias (CNAME) of "
			    "%s; an MX must name the host itself, and some "
			    "senders refuse aliases", m->host, m->cname);
		if (m->status == RESOLVER_OK || m->is_ip)
			continue;
		if (resolver_status_temporary(m->status)) {
			temp = true;
			result_finding_sev(res, FINDING_DNS_TEMPORARY,
			    SEV_WARNING, STAGE_DNS, NULL, NULL,
			    "could not look up the addresses of %s (%s); it "
			    "was skipped", m->host,
			    resolver_status_name(m->status));
		} else
			result_finding(res, FINDING_DNS_MX_NO_ADDRESS,
			    STAGE_DNS, NULL, "the mail host %s has no address "
			    "(%s)", m->host, resolver_status_name(m->status));
	}
	targets_from_haddrs(run->ctx, res->mx, res->nmx, run->haddrs,
	    run->nhaddrs, &run->tl);
	res->nomem_dropped += run->tl.dropped;
	/* Addresses only of the family ruled out: start_next() says so. */
	if (run->tl.n == 0 && run->tl.nexcluded == 0) {
		if (temp) {
			res->dns_status = RESOLVER_SERVFAIL;
			dns_stage(res, STATUS_FAIL, 0);
		} else {
			result_finding(res, FINDING_DNS_NO_MAIL_HOST, STAGE_DNS,
			    NULL, "none of the mail hosts of %s has a usable "
			    "address", res->addr.domain_ascii);
			res->dns_status = RESOLVER_NODATA;
			dns_stage(res, STATUS_FAIL, 0);
		}
		res->dns_done = true;
		finish_run(run);
		return;
	}
	if (res->stages[STAGE_DNS].status == STATUS_SKIPPED)
		res->stages[STAGE_DNS].status = STATUS_OK;
	if (temp || res->nfindings > 0)
		for (i = 0; i < res->nfindings; i++)
			if (res->findings[i].stage == STAGE_DNS &&
			    res->findings[i].severity >= SEV_WARNING)
				res->stages[STAGE_DNS].status = STATUS_WARN;
	res->dns_done = true;
	start_next(run);
}

static void
on_host_addrs(void *arg, const struct resolver_addr_result *ar)
{
	struct host_query *hq = arg;
	struct run *run = hq->run;
	size_t hq_index = hq->mx_index;
	struct mx_info *m = &run->res->mx[hq_index];

	free(hq);
	m->status = ar->status;
	snprintf(m->cname, sizeof(m->cname), "%s", ar->cname);
	if (ar->cname_loop && ar->n == 0) {
		/* Skipped like a host without an address; the verdict says
		 * when no other host is left (diag.c). */
		result_transcriptf(run->res, 'i', "DNS: %s: CNAME loop at %s",
		    m->host, ar->cname);
		result_finding_sev(run->res, FINDING_DNS_CNAME_LOOP,
		    SEV_WARNING, STAGE_DNS, "RFC 1034 §3.6.2", ar->cname,
		    "the mail host %s is an alias (CNAME) whose chain of "
		    "aliases loops back on itself at %s, so it has no address",
		    m->host, ar->cname);
		m->cname[0] = '\0';
	} else if (m->cname[0] != '\0')
		result_transcriptf(run->res, 'i', "DNS: %s is an alias of %s",
		    m->host, m->cname);
	keep_host_addrs(run, hq_index, ar);
	result_transcriptf(run->res, 'i', "DNS: %s has %zu address(es) (%s)",
	    m->host, ar->n, resolver_status_name(ar->status));
	if (--run->pending == 0 && !run->done)
		hosts_resolved(run);
}


static void
resolve_hosts(struct run *run)
{
	size_t i;

	run->pending = (int)run->res->nmx;
	if (run->pending == 0) {
		hosts_resolved(run);
		return;
	}
	for (i = 0; i < run->res->nmx; i++) {
		struct mx_info *m = &run->res->mx[i];
		struct sockaddr_storage ss;
		struct resolver_addr_result ar;
		struct host_query *hq;

		if (!run->res->addr.literal && !run->ctx->cfg->use_server &&
		    !run->res->implicit_mx &&
		    resolver_addr_parse(m->host, &ss)) {
			/* RFC 5321 §5.1 and RFC 2181 §10.3: an MX names a
			 * host, never an address.  Most MTAs still reach
			 * the address (their look-up of the "name" gives it
			 * back), so the probe asks what they would reach,
			 * and reports the mistake. */
			memset(&ar, 0, sizeof(ar));
			ar.status = RESOLVER_OK;
			ar.n = 1;
			ar.addrs[0] = ss;
			m->is_ip = true;
			m->status = RESOLVER_OK;
			keep_host_addrs(run, i, &ar);
			result_finding(run->res, FINDING_DNS_MX_IS_IP,
			    STAGE_DNS, NULL, "the MX record of %s points to "
			    "the IP address %s instead of a host name (RFC "
			    "5321 §5.1); most mail servers still deliver "
			    "there, some (Exim by default) refuse to",
			    run->res->addr.domain_ascii, m->host);
			if (--run->pending == 0)
				hosts_resolved(run);
			continue;
		}
		/* DANE: the TLSA records come beside the addresses. */
		dane_lookup(run->dane, m->host);
		if (proxy_resolves(run->ctx)) {
			/* In MX order (RFC 5321 §5.1), each host once. */
			add_name_target(run->ctx, &run->tl, m->host);
			result_transcriptf(run->res, 'i', "DNS: %s is left to "
			    "the proxy to resolve", m->host);
			if (--run->pending == 0)
				hosts_resolved(run);
			continue;
		}
		hq = malloc(sizeof(*hq));
		if (hq == NULL) {
			run->res->local_error = true;
			snprintf(run->res->local_error_msg,
			    sizeof(run->res->local_error_msg), "out of memory");
			run->res->mx[i].status = RESOLVER_ERROR;
			if (--run->pending == 0)
				hosts_resolved(run);
			continue;
		}
		hq->run = run;
		hq->mx_index = i;
		/* Both families, even with -4/-6: add_target() filters, and
		 * the report can say what the restriction left out. */
		resolver_query_addrs(run->ctx->resolver, run->res->mx[i].host,
		    AF_UNSPEC, on_host_addrs, hq);
	}
}

static void
on_mx(void *arg, const struct resolver_mx_result *mr)
{
	struct run *run = arg;
	struct probe_result *res = run->res;
	const char *d = res->addr.domain_ascii;
	struct mx_info *m;
	size_t i;

	res->dns_status = mr->status;
	snprintf(res->dns_detail, sizeof(res->dns_detail), "%s", mr->detail);
	if (!mr->cname_loop)
		snprintf(res->dns_cname, sizeof(res->dns_cname), "%s",
		    mr->cname);
	if (res->dns_cname[0] != '\0')
		result_transcriptf(res, 'i', "DNS: %s is an alias of %s", d,
		    res->dns_cname);
	result_transcriptf(res, 'i', "DNS: MX %s: %s, %zu record(s)", d,
	    resolver_status_name(mr->status), mr->n);
	res->stages[STAGE_DNS].elapsed_ms = mr->elapsed_ms;
	if (mr->cname_loop && mr->n == 0) {
		/* RFC 1034 §3.6.2: a loop of aliases is an error; there is
		 * no MX, and no address either, behind it. */
		result_transcriptf(res, 'i', "DNS: %s: CNAME loop at %s", d,
		    mr->cname);
		result_finding(res, FINDING_DNS_CNAME_LOOP, STAGE_DNS,
		    mr->cname, "the domain %s is an alias (CNAME) whose chain "
		    "of aliases loops back on itself at %s, so no mail server "
		    "can be found through it", d, mr->cname);
		dns_stage(res, STATUS_FAIL, mr->elapsed_ms);
		res->dns_done = true;
		finish_run(run);
		return;
	}

	switch (mr->status) {
	case RESOLVER_OK:
		break;
	case RESOLVER_NXDOMAIN:
		result_finding(res, FINDING_DNS_NXDOMAIN, STAGE_DNS, NULL,
		    "the domain %s does not exist (NXDOMAIN)", d);
		dns_stage(res, STATUS_FAIL, mr->elapsed_ms);
		res->dns_done = true;
		finish_run(run);
		return;
	case RESOLVER_NODATA:
		/* RFC 5321 §5.1: no MX records at all -> the domain itself
		 * is the mail host, with preference 0. */
		res->implicit_mx = true;
		if ((m = result_add_mx(res)) != NULL)
			snprintf(m->host, sizeof(m->host), "%s", d);
		result_finding(res, FINDING_DNS_IMPLICIT_MX, STAGE_DNS, NULL,
		    "%s has no MX records; mail goes to the domain's own "
		    "address (implicit MX)", d);
		resolve_hosts(run);
		return;
	default:
		result_finding(res, FINDING_DNS_TEMPORARY, STAGE_DNS,
		    mr->detail, "the MX look-up for %s failed for now (%s)", d,
		    resolver_status_name(mr->status));
		dns_stage(res, STATUS_FAIL, mr->elapsed_ms);
		res->dns_done = true;
		finish_run(run);
		return;
	}

	if (mr->null_mx) {
		res->null_mx = true;
		result_finding(res, FINDING_DNS_NULL_MX, STAGE_DNS, NULL,
		    "%s publishes a null MX (\"0 .\"): it accepts no mail at "
		    "all", d);
		dns_stage(res, STATUS_FAIL, mr->elapsed_ms);
		res->dns_done = true;
		finish_run(run);
		return;
	}
	for (i = 0; i < mr->n && res->nmx < RESOLVER_MAX_MX; i++) {
		if (mr->mx[i].host[0] == '\0')
			continue;	/* a stray "." among real MX records */
		if ((m = result_add_mx(res)) == NULL)
			break;
		m->pref = mr->mx[i].pref;
		snprintf(m->host, sizeof(m->host), "%s", mr->mx[i].host);
	}
	if (mr->null_mx_mixed)
		result_finding(res, FINDING_DNS_NULL_MX_MIXED, STAGE_DNS, NULL,
		    "%s publishes a null MX beside other MX records; the null "
		    "MX is ignored", d);
	if (res->nmx == 0) {
		result_finding(res, FINDING_DNS_NO_MAIL_HOST, STAGE_DNS, NULL,
		    "%s has MX records but none names a host", d);
		dns_stage(res, STATUS_FAIL, mr->elapsed_ms);
		res->dns_done = true;
		finish_run(run);
		return;
	}
	resolve_hosts(run);
}

static void
on_server_addrs(void *arg, const struct resolver_addr_result *ar)
{
	struct run *run = arg;
	struct probe_result *res = run->res;
	struct mx_info *m;

	res->dns_status = ar->status;
	if ((m = result_add_mx(res)) != NULL) {
		snprintf(m->host, sizeof(m->host), "%s",
		    run->ctx->cfg->server_host);
		m->status = ar->status;
		keep_host_addrs(run, res->nmx - 1, ar);
	}
	if (ar->status == RESOLVER_NXDOMAIN)
		result_finding_sev(res, FINDING_DNS_NXDOMAIN, SEV_ERROR,
		    STAGE_DNS, NULL, NULL, "the server name %s does not exist",
		    run->ctx->cfg->server_host);
	hosts_resolved(run);
}

/*
 * An IPv6 connection failed with cerr.  No route, no source address or
 * no IPv6 in the kernel means every other IPv6 address would fail the
 * same way: say so once, and skip them (skip_unusable()).
 */
static void
ipv6_failed(struct run *run, int cerr)
{
	size_t i, left = 0;

	if (run->no_ipv6 || (cerr != ENETUNREACH && cerr != EHOSTUNREACH &&
	    cerr != EADDRNOTAVAIL && cerr != EAFNOSUPPORT))
		return;
	run->no_ipv6 = true;
	for (i = run->next; i < run->tl.n; i++)
		if (run->tl.t[i].addr.ss_family == AF_INET6)
			left++;
	result_finding(run->res, FINDING_CONNECT_IPV6_UNREACHABLE,
	    STAGE_CONNECT, strerror(cerr), "IPv6 is not usable from %s (%s "
	    "connecting to %s): %zu more IPv6 address%s not tried; IPv4 "
	    "addresses still are", run->ctx->proxy != NULL ? "the proxy" :
	    "this host", strerror(cerr), run->res->server_ip, left,
	    left == 1 ? "" : "es");
	result_transcriptf(run->res, 'i', "IPv6 unreachable (%s): skipping "
	    "%zu more IPv6 address%s", strerror(cerr), left,
	    left == 1 ? "" : "es");
}

/* Move run->next past targets that cannot work (IPv6 without a route). */
static void
skip_unusable(struct run *run)
{
	while (run->no_ipv6 && run->next < run->tl.n &&
	    run->tl.t[run->next].addr.ss_family == AF_INET6)
		run->next++;
}

/* ---- the plan's answers into the result ------------------------------- */

/* The catch-all control of the run's plan: the last recipient of the
 * first transaction, marked if_accepted; NULL when there is none. */
static struct plan_rcpt *
control_of(const struct run *run)
{
	struct plan_txn *t;

	if (!run->req.own_first || run->req.plan->ntxns == 0)
		return NULL;
	t = &run->req.plan->txns[0];
	if (t->nrcpts < 2 || !t->rcpts[t->nrcpts - 1].if_accepted)
		return NULL;
	return &t->rcpts[t->nrcpts - 1];
}

/* PROBE_CONN_* flags of a session's end, from what its records say. */
static unsigned
conn_flags(const struct run *run, enum session_outcome o)
{
	const struct plan *p = run->req.plan;
	unsigned flags = 0;
	size_t i, j;

	if (o == OUTCOME_TIMEOUT || o == OUTCOME_CONNECT_TIMEOUT)
		flags |= PROBE_CONN_STALLED;
	for (i = 0; i < p->ntxns; i++)
		for (j = 0; j < p->txns[i].nrcpts; j++) {
			const struct plan_rcpt *r = &p->txns[i].rcpts[j];

			if (r->state == PLAN_RCPT_NO_ANSWER && r->timed_out)
				flags |= PROBE_CONN_STALLED;
			if (r->state == PLAN_RCPT_CLOSED)
				flags |= PROBE_CONN_CLOSING;
		}
	return flags;
}

/* After a session: the answers that belong to the result. */
static void
file_records(struct run *run)
{
	struct probe_result *res = run->res;
	struct plan *p = run->req.plan;
	struct plan_rcpt *ctl = control_of(run);

	if (!run->req.own_first) {
		record_forms(res, p);
		return;
	}
	record_address(res, p);
	if (ctl != NULL && ctl->reply.reply != NULL) {
		/* A control answer out of step, or cut off, says nothing of
		 * the domain; one cut off fails the stage (the session gave
		 * up there). */
		if (ctl->reply.reply->incomplete)
			res->stages[STAGE_RCPT].status = STATUS_FAIL;
		else if (!ctl->reply.untrusted)
			res->catch_all_code = ctl->reply.reply->code;
		(void)result_file_reply(res, STAGE_RCPT, &ctl->reply);
	}
}

/* The session's TLS session to the politeness layer, for the next
 * connection to the same server. */
static void
keep_tls_session(struct run *run, struct session *s)
{
	SSL_SESSION *sess;
	char key[RESOLVER_NAME_MAX];

	if (run->ctx->hooks.tls_put == NULL ||
	    (sess = session_tls_session(s)) == NULL)
		return;
	target_key(&run->tl.t[run->current], key, sizeof(key));
	run->ctx->hooks.tls_put(run->ctx->hooks.arg, key, sess);
}

/* The server never greeted with 2xx on this connection: it refused or
 * timed out the connection, cut it or stayed silent before the greeting,
 * or greeted with 4xx (421 included).  A 5xx greeting is an answer. */
static bool
never_greeted(const struct probe_result *r, enum session_outcome o)
{
	switch (o) {
	case OUTCOME_CONNECT_FAILED:
	case OUTCOME_CONNECT_TIMEOUT:
	case OUTCOME_GREETING_TEMPORARY:
		return true;
	case OUTCOME_TIMEOUT:
	case OUTCOME_LOST:
	case OUTCOME_PROTOCOL_ERROR:
		return r->outcome_stage <= STAGE_GREETING;
	default:
		return false;
	}
}

static void
session_done(void *arg, struct session *s, enum session_outcome o)
{
	struct run *run = arg;
	struct probe_result *res = run->res;
	struct attempt *a;
	bool move_on;
	int cerr = 0;

	if (s == run->session && s != NULL && run->cut_used) {
		/* What the session wrote about the plan as a whole. */
		run->req.plan->rejected = run->cut.rejected;
		run->req.plan->stopped = run->cut.stopped;
		run->req.plan->nreplies = run->cut.nreplies;
		run->req.plan->pipelined = run->cut.pipelined;
		run->req.plan->reply_ms = run->cut.reply_ms;
		run->req.plan->slowest_ms = run->cut.slowest_ms;
	}
	if (s == run->session && s != NULL)
		file_records(run);
	if (run->gate_token != NULL) {
		/* The connection permit goes back with what happened (a 421
		 * makes the politeness layer back off from this server, a
		 * timeout marks it stalled). */
		run->ctx->hooks.conn_release(run->ctx->hooks.arg,
		    run->gate_token, o, res, conn_flags(run, o));
		run->gate_token = NULL;
	}
	if (s == run->session && s != NULL) {
		struct sockaddr_storage local;
		socklen_t ll = sizeof(local);

		cerr = session_connect_errno(s);
		if (session_local_addr(s, &local, &ll) == 0) {
			res->local_addr = local;
			res->local_addrlen = ll;
		}
		identity_session_done(run->ident, run->ident_idx);
		dane_session_done(run->dane, res->server_host);
		keep_tls_session(run, s);
		session_free(s);
		run->session = NULL;
	}
	if ((a = result_add_attempt(res)) != NULL) {
		snprintf(a->host, sizeof(a->host), "%s", res->server_host);
		snprintf(a->ip, sizeof(a->ip), "%s", res->server_ip);
		a->port = res->server_port;
		snprintf(a->outcome, sizeof(a->outcome), "%s",
		    session_outcome_name(o));
		const char *err = stage_error(&res->stages[res->outcome_stage]);
		size_t n = strnlen(err, sizeof(a->detail) - 1);

		memcpy(a->detail, err, n);
		a->detail[n] = '\0';
	}

	switch (o) {
	case OUTCOME_TLS_RETRY_PLAIN:
		/* An opportunistic sender falls back to plain text after a
		 * failed handshake, on a new connection (the old one is
		 * unusable).  Once. */
		if (!run->retry_plain) {
			run->retry_plain = true;
			start_next(run);
			return;
		}
		move_on = true;
		break;
	case OUTCOME_ANSWERED:
		/* A 421 to MAIL or RCPT is no answer about the address: the
		 * server is closing (RFC 5321 §3.8), and an MTA would try the
		 * next MX.  A politeness layer (batch mode's hooks) has its
		 * own back-off for it. */
		move_on = run->ctx->hooks.conn_release == NULL &&
		    last_code(res, res->outcome_stage) == 421;
		break;
	case OUTCOME_LOCAL_ERROR:
	case OUTCOME_AUTH_FAILED:	/* the same credentials would fail again */
	case OUTCOME_PROXY_FAILED:	/* the same proxy would fail again */
		move_on = false;
		break;
	default:
		/* No definite answer from this server: as an MTA would,
		 * try the next address, unless the envelope was already
		 * answered (or, for a caller that compares answers of one
		 * server, unless it greeted). */
		move_on = run->req.stay_after_greeting ? never_greeted(res, o) :
		    res->outcome_stage < STAGE_MAIL;
		break;
	}
	if (o == OUTCOME_CONNECT_FAILED) {
		/* Refused or unreachable: no time spent, so it counts as a
		 * fast failure, not as an attempt (limits.h). */
		if (!run->retry_plain && run->tried > 0)
			run->tried--;
		run->fast_failed++;
		if (run->tl.t[run->current].addr.ss_family == AF_INET6)
			ipv6_failed(run, cerr);
	}
	run->retry_plain = false;
	skip_unusable(run);
	if (move_on && run->next < run->tl.n &&
	    run->tried < LIMIT_ATTEMPTS && run->fast_failed < LIMIT_FAST_FAILURES)
		start_next(run);
	else
		finish_run(run);
}

/* The session's connection is made: the client's address checks (its
 * reverse DNS) start now, beside the dialogue, not after it. */
static void
session_connected(void *arg, const struct sockaddr *local)
{
	struct run *run = arg;

	identity_connected(run->ident, run->ident_idx, local);
}

/* Open the session to the current target (after the permit, if any). */
static void
connect_target(struct run *run)
{
	struct probe_result *res = run->res;
	const struct probe_config *cfg = run->ctx->cfg;
	struct session_params sp;
	struct target *t = &run->tl.t[run->current];
	char key[RESOLVER_NAME_MAX];

	memset(&sp, 0, sizeof(sp));
	sp.base = run->ctx->base;
	sp.ssl_ctx = run->ctx->ssl_ctx;
	snprintf(sp.host, sizeof(sp.host), "%s", t->host);
	sp.addr = t->addr;
	sp.addrlen = t->addrlen;
	sp.port = t->port;
	sp.proxy = run->ctx->proxy;
	sp.helo = run->req.helo != NULL ? run->req.helo : cfg->helo;
	sp.plan = run->req.plan;
	target_key(t, key, sizeof(key));
	run->cut_used = run->req.group_server != NULL &&
	    run->req.group_from < run->req.plan->ntxns &&
	    strcmp(key, run->req.group_server) != 0;
	if (run->cut_used) {
		/* Another server than the group's (the first one failed):
		 * only this domain's transactions go there. */
		run->cut = *run->req.plan;
		run->cut.ntxns = run->req.group_from;
		sp.plan = &run->cut;
	}
	if (cfg->quit_after < STAGE_MAIL)
		sp.stop_after = cfg->quit_after;
	sp.tls_mode = run->ctx->ssl_ctx != NULL ? cfg->tls_mode : TLS_NEVER;
	sp.implicit_tls = cfg->implicit_tls && sp.tls_mode != TLS_NEVER;
	sp.no_starttls = run->retry_plain;
	sp.tlsa = dane_records(run->dane, t->host, &sp.ntlsa, &sp.dane_failed);
	memcpy(sp.timeout_ms, cfg->timeout_ms, sizeof(sp.timeout_ms));
	if (cfg->source_len > 0) {
		sp.source = &cfg->source;
		sp.source_len = cfg->source_len;
	}
	sp.auth_user = run->req.no_auth ? NULL : cfg->auth_user;
	sp.auth_password = cfg->auth_password;
	sp.auth_mech = cfg->auth_mech;
	sp.auth_plaintext = cfg->auth_plaintext;
	if (run->ctx->hooks.tls_get != NULL)
		sp.tls_resume = run->ctx->hooks.tls_get(run->ctx->hooks.arg,
		    key);
	sp.connected = session_connected;
	sp.connected_arg = run;

	run->session = session_start(&sp, res, session_done, run);
	if (run->session == NULL) {
		if (run->gate_token != NULL) {
			run->ctx->hooks.conn_release(run->ctx->hooks.arg,
			    run->gate_token, OUTCOME_LOCAL_ERROR, res, 0);
			run->gate_token = NULL;
		}
		res->local_error = true;
		finish_run(run);
	}
}

/* Batch: target i timed out for an earlier address; record the skip. */
static bool
target_stalled(struct run *run, size_t i)
{
	struct probe_result *res = run->res;
	struct target *t = &run->tl.t[i];
	struct attempt *a;
	char ip[64], key[RESOLVER_NAME_MAX];

	target_key(t, key, sizeof(key));
	if (run->ctx->hooks.conn_skip == NULL || !run->ctx->hooks.conn_skip(
	    run->ctx->hooks.arg, key))
		return false;
	run->nstalled++;
	target_ip(t, ip, sizeof(ip));
	if ((a = result_add_attempt(res)) != NULL) {
		snprintf(a->host, sizeof(a->host), "%s", t->host);
		snprintf(a->ip, sizeof(a->ip), "%s", ip);
		a->port = t->port;
		snprintf(a->outcome, sizeof(a->outcome), "skipped_stalled");
		snprintf(a->detail, sizeof(a->detail), "not tried: it did "
		    "not answer an earlier address of this run in time");
	}
	result_transcriptf(res, 'i', "skipping %s: it timed out earlier in "
	    "this run", key);
	return true;
}

/* The politeness layer lets this connection go ahead. */
static void
gate_go(void *arg)
{
	struct run *run = arg;

	run->gate_waiting = false;
	if (run->done)
		return;
	if (!run->retry_plain && target_stalled(run, run->current)) {
		/* It timed out for another probe while this one waited. */
		run->ctx->hooks.conn_cancel(run->ctx->hooks.arg,
		    run->gate_token);
		run->gate_token = NULL;
		if (run->tried > 0)
			run->tried--;
		start_next(run);
		return;
	}
	connect_target(run);
}

static void
start_next(struct run *run)
{
	struct probe_result *res = run->res;
	struct target *t;
	bool plain = run->retry_plain;

	if (run->req.resolve_only) {
		/* The servers are found: that is all that was asked. */
		if (run->tl.n == 0 && run->tl.nexcluded > 0)
			no_target_in_family(run);
		finish_run(run);
		return;
	}
	if (!plain) {
		while (run->next < run->tl.n &&
		    target_stalled(run, run->next))
			run->next++;
		if (run->next >= run->tl.n || run->tried >= LIMIT_ATTEMPTS) {
			if (run->tl.n == 0 && run->tl.nexcluded > 0)
				no_target_in_family(run);
			finish_run(run);
			return;
		}
		run->current = run->next++;
		run->tried++;
	}
	t = &run->tl.t[run->current];
	result_reset_session(res);
	res->transcript_session = res->ntranscript;
	res->has_server = true;
	res->server_addr = t->addr;
	res->server_addrlen = t->addrlen;
	snprintf(res->server_host, sizeof(res->server_host), "%s", t->host);
	target_ip(t, res->server_ip, sizeof(res->server_ip));
	res->server_port = t->port;
	res->outcome = OUTCOME_NONE;

	/* The server's reverse DNS is looked up while the session runs
	 * (not when only the proxy knows its address). */
	run->ident_idx = identity_server_start(run->ident, t->host,
	    t->addrlen > 0 ? (struct sockaddr *)&t->addr : NULL);
	if (run->req.delay_ms > 0 && run->delay_ev == NULL) {
		/* The caller's pause before the first connection (the relay
		 * test's second pass), on the loop like everything else. */
		struct timeval tv = { run->req.delay_ms / 1000,
		    (run->req.delay_ms % 1000) * 1000 };

		run->delay_ev = evtimer_new(run->ctx->base, delay_over, run);
		if (run->delay_ev != NULL && evtimer_add(run->delay_ev,
		    &tv) == 0)
			return;
	}
	open_target(run);
}

static void
dane_go(void *arg)
{
	struct run *run = arg;

	run->dane_waiting = false;
	if (!run->done)
		open_target(run);
}

/* Ask the politeness layer (if any) for leave, then connect; first the
 * target host's TLSA answer, when it is still out (the handshake needs
 * it, RFC 7672 §2.2). */
static void
open_target(struct run *run)
{
	struct target *t = &run->tl.t[run->current];

	if (!dane_ready(run->dane, t->host, dane_go, run)) {
		run->dane_waiting = true;
		return;
	}
	if (run->ctx->hooks.conn_acquire != NULL) {
		/* Batch mode: one connection per server at a time, a pause
		 * between them, a back-off after 421 (probe/batch.c). */
		char key[RESOLVER_NAME_MAX];

		target_key(t, key, sizeof(key));
		run->gate_waiting = true;
		run->gate_token = run->ctx->hooks.conn_acquire(
		    run->ctx->hooks.arg, key, gate_go, run);
		if (run->gate_token != NULL)
			return;
		run->gate_waiting = false;
	}
	connect_target(run);
}

void
probe_carrier_address(const char *host, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (resolver_addr_parse(host, &ss) && ss.ss_family == AF_INET6)
		snprintf(buf, len, "postmaster@[IPv6:%s]", host);
	else if (ss.ss_family == AF_INET)
		snprintf(buf, len, "postmaster@[%s]", host);
	else
		snprintf(buf, len, "postmaster@%s", host);
}

void
probe_control_mailbox(const struct address *a, char *buf, size_t len)
{
	unsigned char rnd[8];
	char hex[17];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(buf, len, "smtpprobe-%s@%s", hex, a->literal ? a->domain :
	    a->domain_ascii);
}

/* The plan of the address alone: it, and with --catch-all the made-up
 * control recipient; no transaction at all for a self-check. */
static void
own_plan(struct run *run)
{
	const struct probe_config *cfg = run->ctx->cfg;
	struct probe_result *res = run->res;
	struct plan_txn *t = &run->own_txn;

	t->from = cfg->from;
	t->need_smtputf8 = res->addr.local_utf8;
	t->rcpts = run->own_rcpts;
	t->nrcpts = 1;
	run->own_rcpts[0].mailbox = res->addr.mailbox;
	if (cfg->catch_all) {
		probe_control_mailbox(&res->addr, run->catch_all_rcpt,
		    sizeof(run->catch_all_rcpt));
		run->own_rcpts[1].mailbox = run->catch_all_rcpt;
		run->own_rcpts[1].if_accepted = true;
		t->nrcpts = 2;
	}
	/* --quit-after: before MAIL no transaction; at MAIL one without a
	 * recipient (MAIL FROM, RSET). */
	if (cfg->quit_after == STAGE_MAIL)
		t->nrcpts = 0;
	run->own_plan.txns = t;
	run->own_plan.ntxns = run->req.kind == RESULT_SELF_CHECK ||
	    (cfg->quit_after != STAGE_ADDRESS && cfg->quit_after < STAGE_MAIL) ?
	    0 : 1;
	run->req.plan = &run->own_plan;
	run->req.own_first = true;
}

/* Let go of everything the run holds but the caller's result. */
static void
run_release(struct run *run)
{
	if (run->gate_token != NULL) {
		if (run->gate_waiting)
			run->ctx->hooks.conn_cancel(run->ctx->hooks.arg,
			    run->gate_token);
		else
			run->ctx->hooks.conn_release(run->ctx->hooks.arg,
			    run->gate_token, OUTCOME_LOCAL_ERROR, run->res, 0);
		run->gate_token = NULL;
	}
	if (run->session != NULL)
		session_free(run->session);
	run->session = NULL;
	identity_run_release(run->ident);
	run->ident = NULL;
	dane_run_release(run->dane);
	run->dane = NULL;
	mtasts_run_release(run->mtasts);
	run->mtasts = NULL;
	if (run->deliver_ev != NULL)
		event_free(run->deliver_ev);
	if (run->delay_ev != NULL)
		event_free(run->delay_ev);
	free(run->tl.t);
	free(run->haddrs);
	free(run);
}

static void
run_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;
	probe_done_cb cb = run->done_cb;
	void *cb_arg = run->done_arg;
	struct probe_result *res = run->res;

	(void)fd;
	(void)what;
	/* Nothing may write into res once the caller has it. */
	run_release(run);
	cb(cb_arg, res);
}

/* The port every connection of the run goes to. */
static int
target_port(const struct probe_config *cfg, const struct probe_request *req)
{
	if (req->server != NULL)
		return resolver_addr_port(req->server);
	return cfg->use_server && cfg->server_port > 0 ? cfg->server_port :
	    cfg->port;
}

/*
 * DANE whenever TLS may be used, MTA-STS and TLS-RPT for the domain
 * (once per domain in a run), beside the MX look-up; neither when the
 * mode asks about something else (the relay and HELO tests).
 */
static void
tls_policy_start(struct run *run)
{
	struct probe_ctx *ctx = run->ctx;
	const struct probe_config *cfg = ctx->cfg;
	struct probe_result *res = run->res;
	const char *domain = res->addr.domain_ascii;

	if (run->req.no_tls_policy)
		return;
	if (ctx->ssl_ctx != NULL)
		run->dane = dane_run_new(ctx->resolver, res, cfg->tls_mode,
		    target_port(cfg, &run->req));
	if (res->addr.literal || domain[0] == '\0')
		return;
	if ((res->mtasts = mtasts_cache_get(ctx->mtasts_cache, domain)) !=
	    NULL)
		result_transcriptf(res, 'i', "MTA-STS: %s of %s, as an "
		    "earlier probe of this run found it",
		    mtasts_state_name(res->mtasts->state), domain);
	else
		run->mtasts = mtasts_run_new(ctx->base, ctx->resolver,
		    &ctx->https_ctx, cfg->ca_file, res, domain,
		    !cfg->no_mta_sts, cfg->family);
}

static struct run *
run_start(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, const struct probe_request *req,
    probe_done_cb done, void *done_arg)
{
	static const struct probe_request plain;
	struct run *run = NULL;
	const struct probe_config *cfg = ctx->cfg;

	if (req == NULL)
		req = &plain;
	result_init(res, address);
	res->kind = req->kind;
	res->stop_after = cfg->quit_after;
	res->ident.self_check = cfg->self_check ||
	    req->kind == RESULT_SELF_CHECK;
	if ((ctx->proxy != NULL && !result_use_proxy(res, ctx->proxy_url,
	    cfg->proxy.remote_dns)) ||
	    (run = calloc(1, sizeof(*run))) == NULL ||
	    (run->deliver_ev = event_new(ctx->base, -1, 0, run_deliver,
	    run)) == NULL) {
		free(run);
		res->local_error = true;
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "out of memory");
		diag_finish(res, 0);
		return NULL;
	}
	run->ctx = ctx;
	run->res = res;
	run->req = *req;
	run->ident_idx = -1;
	run->done_cb = done;
	run->done_arg = done_arg;

	res->addr_error = address_parse(address, &res->addr, res->addr_why,
	    sizeof(res->addr_why));
	if (res->addr_error != ADDRESS_OK) {
		result_finding(res, res->addr_error == ADDRESS_CONTROL ?
		    FINDING_ADDRESS_CONTROL_CHARACTER : FINDING_ADDRESS_INVALID,
		    STAGE_ADDRESS, NULL, "%s", res->addr_why);
		res->stages[STAGE_ADDRESS].status = STATUS_FAIL;
		diag_finish(res, 0);
		run->done = true;
		event_active(run->deliver_ev, EV_TIMEOUT, 0);
		return run;
	}
	res->stages[STAGE_ADDRESS].status = STATUS_OK;

	if (req->intro != NULL)
		result_transcriptf(res, 'i', "%s", req->intro);
	if (req->resolve_only)
		run->req.no_identity = true;
	/* The HELO name is looked up from the start, beside the MX. */
	if (!run->req.no_identity) {
		run->ident = identity_run_new(ctx->base, ctx->resolver, res,
		    cfg->helo, cfg->source_ip, cfg->family);
		res->identity_checked = true;
	}
	if (run->req.plan == NULL)
		own_plan(run);
	tls_policy_start(run);

	if (req->server != NULL) {
		if (req->server_host != NULL)
			dane_lookup(run->dane, req->server_host);
		add_target(ctx, &run->tl, req->server_host != NULL ?
		    req->server_host : "", (const struct sockaddr *)req->server);
		res->stages[STAGE_DNS].status = STATUS_SKIPPED;
		res->dns_done = true;
		start_next(run);
	} else if (req->resolved != NULL) {
		/* The servers were found earlier (batch mode): no DNS.  The
		 * times count from that look-up. */
		result_copy_dns(res, req->resolved);
		res->t0 = req->resolved->t0;
		for (size_t i = 0; i < req->resolved->nmx; i++)
			if (!req->resolved->mx[i].is_ip)
				dane_lookup(run->dane, req->resolved->mx[i].host);
		targets_of(ctx, req->resolved, &run->tl);
		res->nomem_dropped += run->tl.dropped;
		start_next(run);
	} else if (target_fixed(ctx, res->addr.literal,
	    &res->addr.literal_addr, &run->tl)) {
		/* No DNS is involved. */
		if (cfg->use_server)
			res->stages[STAGE_DNS].status = STATUS_SKIPPED;
		res->dns_done = true;
		start_next(run);
	} else if (cfg->use_server) {
		dane_lookup(run->dane, cfg->server_host);
		resolver_query_addrs(ctx->resolver, cfg->server_host,
		    AF_UNSPEC, on_server_addrs, run);
	} else
		resolver_query_mx(ctx->resolver, res->addr.domain_ascii, on_mx,
		    run);
	return run;
}

struct probe_run *
probe_start(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, probe_done_cb done, void *arg)
{
	return (struct probe_run *)run_start(ctx, address, res, NULL, done,
	    arg);
}

struct probe_run *
probe_start_request(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, const struct probe_request *req,
    probe_done_cb done, void *arg)
{
	return (struct probe_run *)run_start(ctx, address, res, req, done,
	    arg);
}

/* The answers of recipient r of transaction t into out (initialised
 * with its connection's facts): MAIL, then RCPT or the refused MAIL. */
static void
group_answers(struct probe_result *out, const struct probe_result *conn,
    struct plan_txn *t, struct plan_rcpt *r)
{
	struct stage_rec *sr = &out->stages[STAGE_RCPT];
	const struct rec_reply *rr;

	result_transcript_rec(out, &t->mail, conn->t0);
	record_txn_mail(out, t);
	out->outcome_stage = STAGE_RCPT;
	if (r->state == PLAN_RCPT_NOT_ASKED && record_txn_refused(t)) {
		/* The refused MAIL (or a server without SMTPUTF8) answers
		 * for every recipient of the transaction. */
		out->outcome = OUTCOME_ANSWERED;
		out->outcome_stage = t->state == PLAN_TXN_ASKED ? STAGE_MAIL :
		    STAGE_RCPT;
		return;
	}
	result_transcript_rec(out, &r->reply, conn->t0);
	if ((rr = record_rcpt(out, r)) == NULL) {
		/* Sent and never answered, or never sent. */
		sr->status = STATUS_FAIL;
		sr->timed_out = r->timed_out;
		result_stage_error(out, STAGE_RCPT, "%s", r->why[0] ? r->why :
		    "not asked: the connection ended before");
		out->outcome = r->timed_out ? OUTCOME_TIMEOUT : OUTCOME_LOST;
	} else
		out->outcome = rr->legality == CODES_ILLEGAL ||
		    rr->untrusted || rr->reply->incomplete ?
		    OUTCOME_PROTOCOL_ERROR : OUTCOME_ANSWERED;
}

void
probe_group_result(const struct probe_result *conn,
    const struct probe_dns *dns, struct plan_txn *t, struct plan_rcpt *r,
    const char *address, int catch_all_code, size_t position,
    struct probe_result *out)
{
	result_init(out, address);
	out->addr_error = address_parse(address, &out->addr, out->addr_why,
	    sizeof(out->addr_why));
	if (r == NULL)
		/* conn's fate, facts and all: the verdict will be the same. */
		result_copy_shared(out, conn);
	else
		result_copy_connection(out, conn, dns);
	if (out->local_error || r == NULL) {
		diag_finish(out, catch_all_code);
		return;
	}
	if (position > 1)
		result_finding(out, FINDING_BATCH_SHARED_CONNECTION,
		    STAGE_RCPT, conn->addr.mailbox, "asked on the same SMTP "
		    "connection as %s (recipient %zu on it); the stages before "
		    "MAIL are that connection's", conn->addr.mailbox, position);
	group_answers(out, conn, t, r);
	diag_finish(out, catch_all_code);
}

bool
probe_first_target(struct probe_ctx *ctx, const struct probe_dns *resolved,
    char *key, size_t keylen)
{
	struct tlist tl;
	size_t i;
	bool found = false;

	memset(&tl, 0, sizeof(tl));
	targets_of(ctx, resolved, &tl);
	for (i = 0; i < tl.n && !found; i++) {
		target_key(&tl.t[i], key, keylen);
		found = ctx->hooks.conn_skip == NULL ||
		    !ctx->hooks.conn_skip(ctx->hooks.arg, key);
	}
	free(tl.t);
	return found;
}

struct sync_wait {
	struct event_base	*base;
	bool			 done;
};

static void
sync_done(void *arg, struct probe_result *res)
{
	struct sync_wait *w = arg;

	(void)res;
	w->done = true;
	event_base_loopbreak(w->base);
}

/* Run one probe to its end on the loop: the synchronous API. */
void
probe_request_sync(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, const struct probe_request *req)
{
	struct sync_wait w = { ctx->base, false };
	struct run *run;

	if ((run = run_start(ctx, address, res, req, sync_done, &w)) == NULL)
		return;
	while (!w.done)
		if (event_base_dispatch(ctx->base) != 0 ||
		    (!w.done && !event_base_got_break(ctx->base)))
			break;
	if (!w.done) {
		/* The loop ran dry without an outcome: a bug, but never a
		 * hang or a silent success. */
		run_release(run);
		res->local_error = true;
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "internal error: the probe stopped without an outcome");
		diag_finish(res, 0);
	}
}

void
probe_address(struct probe_ctx *ctx, const char *address,
    struct probe_result *res)
{
	probe_request_sync(ctx, address, res, NULL);
}

/* The local address the system would use towards ip (a UDP "connect"
 * sends nothing; it only picks the route and the source address). */
static bool
route_source(const char *ip, struct sockaddr_storage *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;
	bool ok;

	if (!resolver_addr_parse(ip, &ss))
		return false;
	len = resolver_addr_set_port(&ss, 53);
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
	len = sizeof(*out);
	ok = ok && getsockname(fd, (struct sockaddr *)out, &len) == 0;
	close(fd);
	return ok;
}

/* The address part of a --dns-server entry ("IP", "IP:PORT",
 * "[IPv6]:PORT"). */
static void
dns_server_ip(const char *s, char *out, size_t len)
{
	const char *end;
	size_t n;

	if (s[0] == '[' && (end = strchr(s, ']')) != NULL) {
		s++;
		n = (size_t)(end - s);
	} else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':') ==
	    NULL)
		n = (size_t)(end - s);
	else
		n = strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static void
self_check_idle(void *arg)
{
	struct probe_ctx *ctx = arg;

	event_base_loopbreak(ctx->base);
}

/* No server at all: the local address towards the DNS server (or the
 * Internet), its reverse DNS, and the HELO name. */
static void
self_check_offline(struct probe_ctx *ctx, struct probe_result *res)
{
	const struct probe_config *cfg = ctx->cfg;
	struct identity_run *ir;
	struct sockaddr_storage local;
	char ip[64];
	bool have = false;

	result_init(res, "");
	res->self_check_only = true;
	res->ident.self_check = true;
	res->stages[STAGE_ADDRESS].status = STATUS_SKIPPED;
	ir = identity_run_new(ctx->base, ctx->resolver, res, cfg->helo,
	    cfg->source_ip, cfg->family);
	memset(&local, 0, sizeof(local));
	if (ctx->proxy != NULL) {
		/* Servers see the proxy's address, which only a connection
		 * through it can tell. */
		(void)result_use_proxy(res, ctx->proxy_url,
		    cfg->proxy.remote_dns);
		result_transcriptf(res, 'i', "through the proxy %s servers see "
		    "its address, not this host's: give a domain to learn it",
		    ctx->proxy_url);
	} else if (cfg->source_len > 0) {
		memcpy(&local, &cfg->source, sizeof(local));
		have = true;
	} else {
		if (cfg->dns.nservers > 0) {
			dns_server_ip(cfg->dns.servers[0], ip, sizeof(ip));
			have = route_source(ip, &local);
		}
		/* Documentation addresses (RFC 5737, RFC 3849): only the
		 * route is asked, nothing is sent. */
		if (!have && cfg->family != AF_INET6)
			have = route_source("192.0.2.1", &local);
		if (!have && cfg->family != AF_INET)
			have = route_source("2001:db8::1", &local);
	}
	if (have)
		identity_connected(ir, -1, (struct sockaddr *)&local);
	else if (ctx->proxy == NULL)
		result_transcriptf(res, 'i', "no route: the local address "
		    "could not be found");
	if (ir != NULL && identity_pending(ir)) {
		identity_when_idle(ir, cfg->timeout_ms[STAGE_DNS],
		    self_check_idle, ctx);
		event_base_dispatch(ctx->base);
	}
	identity_findings(res);
	res->dns_done = false;
	res->kind = RESULT_SELF_CHECK_LOCAL;
	res->identity_checked = true;
	diag_finish(res, 0);
	identity_run_release(ir);
}

/* Probe target — a bare domain (its MX hosts are tried), or NULL for the
 * --server given — through a mailbox made up only to carry it, which
 * the plan never asks for: the result shows target, and its address
 * stage is skipped, since no address was checked. */
static void
probe_carried(struct probe_ctx *ctx, const char *target,
    const struct probe_request *req, struct probe_result *res)
{
	const char *shown = target != NULL ? target : ctx->cfg->server_host;
	char address[LIMIT_ADDRESS * 4 + 8];

	probe_carrier_address(shown, address, sizeof(address));
	probe_request_sync(ctx, address, res, req);
	result_set_input(res, shown, strlen(shown));
	if (res->stages[STAGE_ADDRESS].status == STATUS_OK)
		res->stages[STAGE_ADDRESS].status = STATUS_SKIPPED;
}

void
probe_self_check(struct probe_ctx *ctx, const char *target,
    struct probe_result *res)
{
	static const struct probe_request req = { .kind = RESULT_SELF_CHECK };

	if (target == NULL && !ctx->cfg->use_server) {
		self_check_offline(ctx, res);
		return;
	}
	/* No MAIL or RCPT is sent: the plan has no transaction. */
	probe_carried(ctx, target, &req, res);
	res->self_check_only = true;
}

void
probe_opening(struct probe_ctx *ctx, const char *target,
    struct probe_result *res)
{
	static const struct probe_request req = { .kind = RESULT_ADDRESS };

	probe_carried(ctx, target, &req, res);
}
