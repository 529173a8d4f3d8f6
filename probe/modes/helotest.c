/*
 * helotest.c — `--helo-test`: the same envelope, once per HELO name.
 *
 * One probe per candidate name (probe_start_request() with the name as
 * the HELO and the same one-recipient plan), strictly one after another
 * with HELOTEST_PAUSE_MS between them, each bounded by the ordinary stage
 * timeouts.  The first candidate's probe finds the server as any probe
 * does (--server, an address literal, or the domain's MX in order with
 * the usual fallback and TLS retry), moving on only while no server has
 * greeted with 2xx; every later candidate is asked on the server it ended
 * on.  The candidates that depend on an earlier connection (the address
 * literal of our end, the server's own name from its greeting) are made
 * when their turn comes; a name equal to an earlier one is not tested
 * again.  Owns one probe_result per tested candidate.  Never sends DATA.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "diag.h"
#include "helotest.h"
#include "record.h"

struct ht_run {
	struct probe_ctx	*ctx;
	struct helotest_result	*ht;
	const char		*machine_fqdn;
	/* The mailbox the probe engine finds the server by: the address,
	 * postmaster@domain, or postmaster@ the --server given. */
	char			 carrier[LIMIT_ADDRESS * 4 + 32];
	struct sockaddr_storage	 addr;		/* the server, with the port */
	socklen_t		 addrlen;	/* 0 until one is known */
	struct sockaddr_storage	 local;		/* our end, from a connection */
	socklen_t		 locallen;
	size_t			 next;		/* next candidate to start */
	size_t			 current;
	bool			 started;	/* the first candidate ran */
	struct plan		 plan;		/* the envelope every candidate asks */
	struct plan_txn		 txn;
	struct plan_rcpt	 rcpt;
	char			 intro[LIMIT_HELO_NAME + 64];
	bool			 done;
};

static void
finish(struct ht_run *run)
{
	if (run->done)
		return;
	run->done = true;
	event_base_loopbreak(run->ctx->base);
}

/* The server could not be found: the test cannot run. */
static void
cannot_run(struct ht_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cannot_run(struct ht_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->ht->error, sizeof(run->ht->error), fmt, ap);
	va_end(ap);
	run->ht->exit_code = EXIT_UNKNOWN;
	finish(run);
}

static bool
has_dot(const char *s)
{
	return strchr(s, '.') != NULL;
}

/* First label of name into buf; false when it is not a usable label. */
static bool
first_label(const char *name, char *buf, size_t len)
{
	size_t n = strcspn(name, ".");

	if (name[0] == '[' || n == 0 || n >= len)
		return false;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return address_hostname_ok(buf) && strcasecmp(buf, "localhost") != 0;
}

/* The address literal of sa (RFC 5321 §4.1.3). */
static bool
address_literal(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	char ip[64];

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in s4;

			memset(&s4, 0, sizeof(s4));
			s4.sin_family = AF_INET;
			memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			resolver_addr_str((struct sockaddr *)&s4, ip,
			    sizeof(ip));
			return snprintf(buf, len, "[%s]", ip) < (int)len;
		}
		resolver_addr_str((const struct sockaddr *)sa, ip, sizeof(ip));
		return snprintf(buf, len, "[IPv6:%s]", ip) < (int)len;
	}
	if (sa->ss_family == AF_INET) {
		resolver_addr_str((const struct sockaddr *)sa, ip, sizeof(ip));
		return snprintf(buf, len, "[%s]", ip) < (int)len;
	}
	return false;
}

/*
 * No connection has told us our address yet (every earlier one failed):
 * ask the kernel which source address it would use, with a UDP socket
 * that is connected but never sends.
 */
static bool
local_addr_guess(struct ht_run *run)
{
	const struct probe_config *cfg = run->ctx->cfg;
	int fd;
	socklen_t len = sizeof(run->local);

	if (cfg->source_len > 0) {
		/* --source-ip: that is our end. */
		run->local = cfg->source;
		run->locallen = cfg->source_len;
		return true;
	}
	if ((fd = socket(run->addr.ss_family, SOCK_DGRAM, 0)) < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&run->addr, run->addrlen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&run->local, &len) != 0) {
		close(fd);
		return false;
	}
	close(fd);
	run->locallen = len;
	return true;
}

/* A name a greeting or EHLO reply gives: a host name with a dot, or an
 * address literal; anything else is not a name to announce. */
static bool
server_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LIMIT_HELO_NAME)
		return false;
	if (s[0] == '[') {
		for (size_t i = 1; i < n - 1; i++)
			if (!(s[i] >= '0' && s[i] <= '9') &&
			    !(s[i] >= 'a' && s[i] <= 'f') &&
			    !(s[i] >= 'A' && s[i] <= 'Z') &&
			    s[i] != '.' && s[i] != ':')
				return false;
		return n > 2 && s[n - 1] == ']';
	}
	return has_dot(s) && address_hostname_ok(s);
}

/* Learn the server's own name from a session's greeting, else from its
 * EHLO reply.  RFC 5321 §4.2 and §3.8: the greeting starts with the
 * server's name, and so do its 421 and 554 greetings ("421 <domain>
 * Service not available"); an enhanced code before it is skipped. */
static void
learn_server_name(struct helotest_result *ht, const struct probe_result *r)
{
	const struct stage_rec *g = &r->stages[STAGE_GREETING];
	char word[LIMIT_HELO_NAME + 2];

	if (ht->server_name[0] != '\0')
		return;
	if (g->nreplies > 0 && g->replies[0].reply->nlines > 0) {
		const char *t = g->replies[0].reply->lines[0].text;
		size_t n = strlen(t), k;

		if ((k = codes_enhanced_parse(t, n, NULL, NULL, NULL)) > 0)
			t += k + strspn(t + k, " \t");
		n = strcspn(t, " \t");

		if (n < sizeof(word)) {
			memcpy(word, t, n);
			word[n] = '\0';
			if (server_name_ok(word)) {
				snprintf(ht->server_name,
				    sizeof(ht->server_name), "%s", word);
				return;
			}
		}
	}
	if (r->caps != NULL && server_name_ok(r->caps->name))
		snprintf(ht->server_name, sizeof(ht->server_name), "%s",
		    r->caps->name);
}

/* Make the name of candidate i; false when it cannot be tested. */
static bool
make_name(struct ht_run *run, struct helotest_candidate *c)
{
	struct helotest_result *ht = run->ht;
	const char *cfg_helo = run->ctx->cfg->helo;
	char label[64];
	unsigned char rnd[4];

	switch (c->kind) {
	case HT_CONFIGURED:
		snprintf(c->name, sizeof(c->name), "%s", cfg_helo);
		break;
	case HT_FQDN:
		/* A machine name without a domain part is no FQDN: the
		 * unqualified candidate tests it under its own label. */
		if (!has_dot(run->machine_fqdn)) {
			snprintf(c->note, sizeof(c->note), "this machine's "
			    "name%s%s has no domain part, so it has no FQDN; "
			    "it is tested as the unqualified name",
			    run->machine_fqdn[0] ? " " : "", run->machine_fqdn);
			return false;
		}
		snprintf(c->name, sizeof(c->name), "%s", run->machine_fqdn);
		break;
	case HT_ADDRESS_LITERAL:
		if (run->locallen == 0 && !local_addr_guess(run)) {
			snprintf(c->note, sizeof(c->note), "the local address "
			    "is not known");
			return false;
		}
		if (!address_literal(&run->local, c->name, sizeof(c->name))) {
			snprintf(c->note, sizeof(c->note), "the local address "
			    "has no literal form");
			c->name[0] = '\0';
			return false;
		}
		if (ht->local_ip[0] == '\0')
			resolver_addr_str((struct sockaddr *)&run->local,
			    ht->local_ip, sizeof(ht->local_ip));
		break;
	case HT_LOCALHOST:
		snprintf(c->name, sizeof(c->name), "localhost");
		break;
	case HT_UNQUALIFIED:
		/* The short form of the name this host would use, so that
		 * only the missing domain differs. */
		if ((has_dot(cfg_helo) && first_label(cfg_helo, label,
		    sizeof(label))) || (has_dot(run->machine_fqdn) &&
		    first_label(run->machine_fqdn, label, sizeof(label))))
			snprintf(c->name, sizeof(c->name), "%s", label);
		else if (run->machine_fqdn[0] != '\0' &&
		    address_hostname_ok(run->machine_fqdn))
			snprintf(c->name, sizeof(c->name), "%s",
			    run->machine_fqdn);
		else
			snprintf(c->name, sizeof(c->name), "mailhost");
		break;
	case HT_UNRESOLVABLE:
		/* RFC 6761 §6.4: names under .invalid never resolve; the
		 * random part keeps a cache from knowing it. */
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			memset(rnd, 0x5a, sizeof(rnd));
		snprintf(c->name, sizeof(c->name),
		    "nonexistent-%02x%02x%02x%02x.invalid", rnd[0], rnd[1],
		    rnd[2], rnd[3]);
		break;
	case HT_SERVER_NAME:
		if (ht->server_name[0] == '\0') {
			snprintf(c->note, sizeof(c->note), "the server gave "
			    "no host name in its greeting or EHLO reply");
			return false;
		}
		snprintf(c->name, sizeof(c->name), "%s", ht->server_name);
		break;
	default:
		return false;
	}
	return c->name[0] != '\0';
}

/* ---- running the sessions ---------------------------------------------- */

static void start_candidate(struct ht_run *run);

/* The first candidate's probe found no server to compare names on. */
static void
no_server(struct ht_run *run, const struct probe_result *r)
{
	const struct probe_config *cfg = run->ctx->cfg;
	struct helotest_result *ht = run->ht;
	const char *name = ht->server_host[0] ? ht->server_host : ht->domain;

	if (r->local_error)
		cannot_run(run, "%s", r->local_error_msg);
	else if (r->dns_status == RESOLVER_NXDOMAIN)
		cannot_run(run, "the domain %s does not exist", name);
	else if (r->null_mx)
		cannot_run(run, "%s publishes a null MX: it takes no mail",
		    name);
	else if (r->stages[STAGE_DNS].status == STATUS_FAIL &&
	    resolver_status_temporary(r->dns_status))
		cannot_run(run, "the MX look-up failed for now (%s)",
		    resolver_status_name(r->dns_status));
	else if (cfg->source_len > 0)
		cannot_run(run, "%s has no address of the family of "
		    "--source-ip %s", name, cfg->source_ip);
	else
		cannot_run(run, "%s has no usable address", name);
}

/* The first candidate's probe ended on a server: every other name is
 * asked there (the one that greeted, or else the last one tried). */
static void
lock_server(struct ht_run *run, const struct probe_result *r)
{
	struct helotest_result *ht = run->ht;
	size_t i;

	run->addr = r->server_addr;
	run->addrlen = r->server_addrlen;
	ht->has_server = true;
	snprintf(ht->server_host, sizeof(ht->server_host), "%s",
	    r->server_host);
	snprintf(ht->server_ip, sizeof(ht->server_ip), "%s", r->server_ip);
	ht->server_port = r->server_port;
	ht->dns_done = r->dns_done;
	ht->dns_status = r->dns_status;
	ht->implicit_mx = r->implicit_mx;
	for (i = 0; ht->via_mx && i < r->nmx; i++)
		if (strcasecmp(r->mx[i].host, r->server_host) == 0) {
			ht->mx_index = i;
			break;
		}
}

static void
candidate_done(void *arg, struct probe_result *r)
{
	struct ht_run *run = arg;
	struct helotest_candidate *c = &run->ht->cand[run->current];

	c->outcome = r->outcome;
	if (run->locallen == 0 && r->local_addrlen > 0) {
		run->local = r->local_addr;
		run->locallen = r->local_addrlen;
		resolver_addr_str((struct sockaddr *)&run->local,
		    run->ht->local_ip, sizeof(run->ht->local_ip));
	}
	learn_server_name(run->ht, r);
	if (run->addrlen == 0) {
		if (!r->has_server) {
			no_server(run, r);
			return;
		}
		lock_server(run, r);
	}
	if (r->outcome == OUTCOME_LOCAL_ERROR || (r->local_error &&
	    r->outcome == OUTCOME_NONE)) {
		run->ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(run->ht->error, sizeof(run->ht->error), "%s",
		    r->local_error_msg[0] ? r->local_error_msg :
		    "local error");
		finish(run);
		return;
	}
	start_candidate(run);
}

/* The next candidate that needs a connection, or NULL at the end. */
static struct helotest_candidate *
next_candidate(struct ht_run *run)
{
	struct helotest_result *ht = run->ht;
	struct helotest_candidate *c;
	size_t j;

	for (; run->next < ht->ncand; run->next++) {
		c = &ht->cand[run->next];
		if (!make_name(run, c))
			continue;
		for (j = 0; j < run->next; j++)
			if (ht->cand[j].same_as < 0 && ht->cand[j].name[0] &&
			    strcasecmp(ht->cand[j].name, c->name) == 0)
				break;
		if (j == run->next)
			return c;
		c->same_as = (int)j;
		snprintf(c->note, sizeof(c->note), "same name as the %s; "
		    "tested once", helotest_kind_label(ht->cand[j].kind));
	}
	return NULL;
}

/* Probe the next candidate name (after the pause), or finish.  The
 * first one finds the server as any probe does (MX order, fallback,
 * TLS retry); the others go to the server it ended on. */
static void
start_candidate(struct ht_run *run)
{
	struct helotest_result *ht = run->ht;
	struct probe_request req;
	struct helotest_candidate *c;

	if ((c = next_candidate(run)) == NULL) {
		finish(run);
		return;
	}
	run->current = run->next++;
	if ((c->res = malloc(sizeof(*c->res))) == NULL) {
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "out of memory");
		finish(run);
		return;
	}
	c->tested = true;
	snprintf(run->intro, sizeof(run->intro), "HELO test: %s candidate "
	    "\"%s\"", helotest_kind_label(c->kind), c->name);
	memset(&req, 0, sizeof(req));
	req.plan = &run->plan;
	req.own_first = true;
	req.helo = c->name;
	req.no_identity = true;
	req.no_tls_policy = true;
	req.stay_after_greeting = true;
	req.intro = run->intro;
	if (run->addrlen > 0) {
		req.server = &run->addr;
		req.server_host = ht->server_host;
	}
	req.delay_ms = run->started ? HELOTEST_PAUSE_MS : 0;
	run->started = true;
	if (probe_start_request(run->ctx, run->carrier, c->res, &req,
	    candidate_done, run) == NULL) {
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "%s",
		    c->res->local_error_msg[0] ? c->res->local_error_msg :
		    "cannot start a probe");
		finish(run);
	}
}

/* ---- entry points ------------------------------------------------------ */

/* Parse the target; false (with ht->error, exit 65) when it is bad. */
static bool
parse_target(struct helotest_result *ht, const char *target,
    struct address *a)
{
	char buf[LIMIT_ADDRESS * 4 + 32], why[256];
	bool bare;

	if (target == NULL || target[0] == '\0') {
		/* RFC 5321 §4.1.1.3: "postmaster" without a domain must be
		 * accepted by every server. */
		snprintf(ht->rcpt, sizeof(ht->rcpt), "postmaster");
		return true;
	}
	snprintf(ht->target, sizeof(ht->target), "%s", target);
	bare = strchr(target, '@') == NULL;
	if (bare)
		snprintf(buf, sizeof(buf), "postmaster@%s", target);
	else
		snprintf(buf, sizeof(buf), "%s", target);
	if (address_parse(buf, a, why, sizeof(why)) != ADDRESS_OK) {
		snprintf(ht->error, sizeof(ht->error), "%s", why);
		ht->exit_code = EXIT_BAD_ADDRESS;
		return false;
	}
	snprintf(ht->domain, sizeof(ht->domain), "%s", a->literal ?
	    a->domain : a->domain_ascii);
	snprintf(ht->rcpt, sizeof(ht->rcpt), "%s", a->mailbox);
	ht->need_smtputf8 = a->local_utf8;
	return true;
}

void
helotest_run(struct probe_ctx *ctx, const char *target,
    const char *machine_fqdn, struct helotest_result *ht)
{
	const struct probe_config *cfg = ctx->cfg;
	struct ht_run *run;
	struct address *a;
	size_t i;

	memset(ht, 0, sizeof(*ht));
	snprintf(ht->from, sizeof(ht->from), "%s", cfg->from);
	for (i = 0; i < HT_KIND_COUNT; i++) {
		ht->cand[i].kind = (enum helotest_kind)i;
		ht->cand[i].same_as = -1;
	}
	ht->ncand = HT_KIND_COUNT;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (run = calloc(1, sizeof(*run))) == NULL) {
		free(a);
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "out of memory");
		return;
	}
	if (!parse_target(ht, target, a)) {
		free(a);
		free(run);
		return;
	}
	run->ctx = ctx;
	run->ht = ht;
	run->machine_fqdn = machine_fqdn != NULL ? machine_fqdn : "";
	run->rcpt.mailbox = ht->rcpt;
	run->txn.from = ht->from;
	run->txn.need_smtputf8 = ht->need_smtputf8;
	run->txn.rcpts = &run->rcpt;
	run->txn.nrcpts = 1;
	run->plan.txns = &run->txn;
	run->plan.ntxns = 1;

	if (cfg->use_server) {
		snprintf(ht->server_host, sizeof(ht->server_host), "%s",
		    cfg->server_host);
		probe_carrier_address(cfg->server_host, run->carrier,
		    sizeof(run->carrier));
	} else if (ht->domain[0] != '\0') {
		ht->via_mx = !a->literal;
		snprintf(run->carrier, sizeof(run->carrier), "%s", ht->rcpt);
	} else {
		snprintf(ht->error, sizeof(ht->error), "no server: give "
		    "--server or an address or domain");
		ht->exit_code = EXIT_USAGE;
		run->done = true;
	}
	free(a);

	if (!run->done) {
		start_candidate(run);
		if (!run->done)
			event_base_dispatch(ctx->base);
	}
	if (!run->done) {
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "internal error: the "
		    "test stopped without an outcome");
	}
	plan_clear(&run->plan);
	free(run);
	if (ht->error[0] == '\0')
		diag_helo_test(ht);
}

void
helotest_clear(struct helotest_result *ht)
{
	for (size_t i = 0; i < HT_KIND_COUNT; i++) {
		if (ht->cand[i].res != NULL) {
			result_clear(ht->cand[i].res);
			free(ht->cand[i].res);
		}
		ht->cand[i].res = NULL;
	}
}
