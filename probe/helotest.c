/*
 * helotest.c — `--helo-test`: the same envelope, once per HELO name.
 *
 * Finds the one server to ask (--server, an address literal, or the first
 * MX of the domain: its first address, IPv6 first), then runs one session per
 * candidate name, strictly one after another with HELOTEST_PAUSE_MS
 * between them, each bounded by the ordinary stage timeouts.  The
 * candidates that depend on an earlier connection (the address literal of
 * our end, the server's own name from its greeting) are made when their
 * turn comes; a name equal to an earlier one is not tested again.  Until
 * a server has greeted with 2xx, a connection that fails, times out, is
 * cut before the greeting or gets a 4xx greeting moves the first
 * candidate on to the next address (of that MX host, then of the next MX
 * host, at most HELOTEST_MAX_SERVERS), so one dead server does not leave
 * the whole test without an answer; the first server that greets is then
 * used for every candidate.  Owns
 * the running session and one probe_result per tested candidate.  Never
 * sends DATA: the sessions have no state that would.
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

static const char *const kind_names[HT_KIND_COUNT] = {
	"configured", "fqdn", "address_literal", "localhost", "unqualified",
	"unresolvable", "server_name",
};
static const char *const kind_labels[HT_KIND_COUNT] = {
	"configured name", "FQDN", "address literal", "localhost",
	"unqualified name", "unresolvable name", "server's own name",
};

const char *
helotest_kind_name(enum helotest_kind k)
{
	return (unsigned)k < HT_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *
helotest_kind_label(enum helotest_kind k)
{
	return (unsigned)k < HT_KIND_COUNT ? kind_labels[k] : "unknown";
}

const char *
helotest_status_name(enum helotest_status s)
{
	switch (s) {
	case HT_ACCEPTED: return "accepted";
	case HT_REJECTED: return "rejected";
	default: return "unknown";
	}
}

/* A server address to try, with the host name it came from. */
struct ht_target {
	char			 host[RESOLVER_NAME_MAX];	/* "" for an IP given */
	struct sockaddr_storage	 addr;		/* with the port */
	socklen_t		 addrlen;
	size_t			 mx_index;
};

struct ht_run {
	struct probe_ctx	*ctx;
	struct helotest_result	*ht;
	const char		*machine_fqdn;
	struct sockaddr_storage	 addr;		/* the server, with the port */
	socklen_t		 addrlen;
	/* Fallback before a server has greeted: the addresses known so
	 * far, the one in use, the MX hosts still to look up. */
	struct ht_target	 targets[HELOTEST_MAX_SERVERS];
	size_t			 ntargets;
	size_t			 tindex;
	bool			 locked;	/* a server greeted: stay with it */
	bool			 started;	/* the first session was started */
	size_t			 nmx;
	size_t			 mxi;		/* MX host being looked up */
	char			 mxhosts[RESOLVER_MAX_MX][RESOLVER_NAME_MAX];
	struct sockaddr_storage	 local;		/* our end, from a connection */
	socklen_t		 locallen;
	size_t			 next;		/* next candidate to start */
	size_t			 current;
	bool			 retry_plain;
	struct session		*session;
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

static void
set_port(struct sockaddr_storage *ss, socklen_t *len, int port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
	}
}

/* "192.0.2.1" or "2001:db8::1" to a sockaddr; false if neither. */
static bool
parse_ip(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s,
	    &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return true;
	}
	return false;
}

/* ---- the candidates ---------------------------------------------------- */

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

/* Learn the server's own name from a session's greeting (RFC 5321 §4.2:
 * "220 domain ..."), else from its EHLO reply. */
static void
learn_server_name(struct helotest_result *ht, const struct probe_result *r)
{
	const struct stage_rec *g = &r->stages[STAGE_GREETING];
	char word[LIMIT_HELO_NAME + 2];

	if (ht->server_name[0] != '\0')
		return;
	if (g->nreplies > 0 && g->replies[0].reply->code == 220 &&
	    g->replies[0].reply->nlines > 0) {
		const char *t = g->replies[0].reply->lines[0].text;
		size_t n = strcspn(t, " \t");

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
	if (r->has_caps && server_name_ok(r->caps.name))
		snprintf(ht->server_name, sizeof(ht->server_name), "%s",
		    r->caps.name);
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
		snprintf(c->name, sizeof(c->name), "%s", run->machine_fqdn);
		if (!has_dot(c->name))
			snprintf(c->note, sizeof(c->note), "this machine's "
			    "name has no domain part");
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

static void
on_pause(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_candidate(arg);
}

static void schedule_candidate(struct ht_run *run);
static bool next_target(struct ht_run *run);
static void resolve_next_host(struct ht_run *run);

/* The server never greeted with 2xx on this connection: it refused or
 * timed out the connection, cut it or stayed silent before the greeting,
 * or greeted with 4xx (421 included).  A 5xx greeting is an answer. */
static bool
server_dead(const struct probe_result *r, enum session_outcome o)
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
	struct ht_run *run = arg;
	struct helotest_candidate *c = &run->ht->cand[run->current];

	if (s != NULL) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (run->locallen == 0 &&
		    session_local_addr(s, &ss, &len) == 0) {
			run->local = ss;
			run->locallen = len;
			resolver_addr_str((struct sockaddr *)&ss,
			    run->ht->local_ip, sizeof(run->ht->local_ip));
		}
		if (s == run->session)
			run->session = NULL;
		session_free(s);
	}
	c->outcome = o;
	learn_server_name(run->ht, c->res);
	if (!run->locked && o != OUTCOME_LOCAL_ERROR) {
		if (!server_dead(c->res, o))
			run->locked = true;	/* it greeted: keep it */
		else {
			/* This server did not get as far as a greeting: the
			 * same candidate on the next address. */
			result_transcriptf(c->res, 'i', "HELO test: no "
			    "greeting from %s (%s); trying the next address",
			    run->ht->server_ip, session_outcome_name(o));
			run->retry_plain = false;
			run->next = run->current;
			if (next_target(run))
				schedule_candidate(run);
			else
				resolve_next_host(run);
			return;
		}
	}
	if (o == OUTCOME_TLS_RETRY_PLAIN && !run->retry_plain) {
		/* As an opportunistic sender would: the same name again
		 * without STARTTLS, on a new connection. */
		run->retry_plain = true;
		run->next = run->current;
	} else
		run->retry_plain = false;
	if (o == OUTCOME_LOCAL_ERROR) {
		run->ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(run->ht->error, sizeof(run->ht->error), "%s",
		    c->res->local_error_msg[0] ? c->res->local_error_msg :
		    "local error");
		finish(run);
		return;
	}
	schedule_candidate(run);
}

/* The next connection, after the pause; or the end. */
static void
schedule_candidate(struct ht_run *run)
{
	struct timeval tv;

	if (run->next >= run->ht->ncand) {
		finish(run);
		return;
	}
	tv.tv_sec = HELOTEST_PAUSE_MS / 1000;
	tv.tv_usec = (HELOTEST_PAUSE_MS % 1000) * 1000;
	if (event_base_once(run->ctx->base, -1, EV_TIMEOUT, on_pause, run,
	    &tv) != 0)
		start_candidate(run);
}

/* Start the next candidate that needs a connection, or finish. */
static void
start_candidate(struct ht_run *run)
{
	struct helotest_result *ht = run->ht;
	const struct probe_config *cfg = run->ctx->cfg;
	struct session_params sp;
	struct helotest_candidate *c;
	size_t j;

	for (;;) {
		if (run->next >= ht->ncand) {
			finish(run);
			return;
		}
		c = &ht->cand[run->next];
		if (run->retry_plain)
			break;
		if (!make_name(run, c)) {
			run->next++;
			continue;
		}
		for (j = 0; j < run->next; j++)
			if (ht->cand[j].same_as < 0 && ht->cand[j].name[0] &&
			    strcasecmp(ht->cand[j].name, c->name) == 0)
				break;
		if (j < run->next) {
			c->same_as = (int)j;
			snprintf(c->note, sizeof(c->note), "same name as the "
			    "%s; tested once", helotest_kind_label(
			    ht->cand[j].kind));
			run->next++;
			continue;
		}
		break;
	}
	run->current = run->next++;
	if (c->res == NULL) {
		if ((c->res = malloc(sizeof(*c->res))) == NULL) {
			ht->exit_code = EXIT_LOCAL_ERROR;
			snprintf(ht->error, sizeof(ht->error), "out of memory");
			finish(run);
			return;
		}
		result_init(c->res, c->name);
	} else
		result_reset_session(c->res);
	c->tested = true;
	c->res->has_server = true;
	snprintf(c->res->server_host, sizeof(c->res->server_host), "%s",
	    ht->server_host);
	snprintf(c->res->server_ip, sizeof(c->res->server_ip), "%s",
	    ht->server_ip);
	c->res->server_port = ht->server_port;
	c->res->outcome = OUTCOME_NONE;
	result_transcriptf(c->res, 'i', "HELO test: %s candidate \"%s\"",
	    helotest_kind_label(c->kind), c->name);

	memset(&sp, 0, sizeof(sp));
	sp.base = run->ctx->base;
	sp.ssl_ctx = run->ctx->ssl_ctx;
	snprintf(sp.host, sizeof(sp.host), "%s", ht->server_host);
	sp.addr = run->addr;
	sp.addrlen = run->addrlen;
	sp.helo = c->name;
	sp.from = ht->from;
	sp.rcpt = ht->rcpt;
	sp.tls_mode = run->ctx->ssl_ctx != NULL ? cfg->tls_mode : TLS_NEVER;
	sp.no_starttls = run->retry_plain;
	sp.need_smtputf8 = ht->need_smtputf8;
	memcpy(sp.timeout_ms, cfg->timeout_ms, sizeof(sp.timeout_ms));
	if (cfg->source_len > 0) {
		sp.source = &cfg->source;
		sp.source_len = cfg->source_len;
	}

	run->session = session_start(&sp, c->res, session_done, run);
	if (run->session == NULL) {
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "%s",
		    c->res->local_error_msg[0] ? c->res->local_error_msg :
		    "cannot start a session");
		finish(run);
	}
}

/* ---- finding the server ------------------------------------------------ */

/* May a server of family fam be used (-4, -6, --source-ip)? */
static bool
family_ok(const struct probe_config *cfg, int fam)
{
	return (cfg->family == AF_UNSPEC || cfg->family == fam) &&
	    (cfg->source_len == 0 || cfg->source.ss_family == fam);
}

/* Add a server address to the list (port set here). */
static void
add_target(struct ht_run *run, const char *host, const struct sockaddr *sa)
{
	const struct probe_config *cfg = run->ctx->cfg;
	struct ht_target *t;
	int port = cfg->use_server && cfg->server_port > 0 ?
	    cfg->server_port : cfg->port;

	if (run->ntargets >= HELOTEST_MAX_SERVERS ||
	    !family_ok(cfg, sa->sa_family))
		return;
	t = &run->targets[run->ntargets++];
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	memcpy(&t->addr, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	set_port(&t->addr, &t->addrlen, port);
	t->mx_index = run->mxi;
}

/* Make target i the server every following session talks to. */
static void
use_target(struct ht_run *run, size_t i)
{
	struct helotest_result *ht = run->ht;
	const struct ht_target *t = &run->targets[i];

	run->tindex = i;
	run->addr = t->addr;
	run->addrlen = t->addrlen;
	ht->has_server = true;
	snprintf(ht->server_host, sizeof(ht->server_host), "%s", t->host);
	resolver_addr_str((const struct sockaddr *)&t->addr, ht->server_ip,
	    sizeof(ht->server_ip));
	ht->server_port = ntohs(t->addr.ss_family == AF_INET ?
	    ((const struct sockaddr_in *)&t->addr)->sin_port :
	    ((const struct sockaddr_in6 *)&t->addr)->sin6_port);
	ht->mx_index = t->mx_index;
}

/* The first session starts, or the first candidate moves to the next
 * address; false when there is none (yet). */
static bool
next_target(struct ht_run *run)
{
	size_t i = run->started ? run->tindex + 1 : 0;

	if (i >= run->ntargets)
		return false;
	use_target(run, i);
	return true;
}

static void resolve_next_host(struct ht_run *run);
static void schedule_candidate(struct ht_run *run);

/* Every address known has been tried or looked up. */
static void
no_more_targets(struct ht_run *run)
{
	const struct probe_config *cfg = run->ctx->cfg;

	if (!run->started) {
		if (cfg->source_len > 0)
			cannot_run(run, "%s has no address of the family of "
			    "--source-ip %s", run->ht->server_host[0] ?
			    run->ht->server_host : run->ht->domain,
			    cfg->source_ip);
		else
			cannot_run(run, "%s has no usable address",
			    run->ht->server_host);
		return;
	}
	/* No server greeted: the other candidates go to the first one, and
	 * are reported as they fare there. */
	run->locked = true;
	run->next = run->current + 1;
	use_target(run, 0);
	schedule_candidate(run);
}

/* A session for the first candidate may start (or start again). */
static void
target_ready(struct ht_run *run)
{
	if (!run->started) {
		run->started = true;
		start_candidate(run);
	} else
		schedule_candidate(run);
}

static void
on_addrs(void *arg, const struct resolver_addr_result *ar)
{
	struct ht_run *run = arg;
	const char *host;
	size_t i;
	int pass;

	if (run->done)
		return;
	if (!run->ht->via_mx) {
		run->ht->dns_done = true;
		run->ht->dns_status = ar->status;
	}
	host = run->nmx > 0 ? run->mxhosts[run->mxi] : run->ht->server_host;
	/* IPv6 first, as the probe does; the family filter is in
	 * add_target(). */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ar->n; i++)
			if ((ar->addrs[i].ss_family == AF_INET6) == (pass == 0))
				add_target(run, host,
				    (const struct sockaddr *)&ar->addrs[i]);
	if (next_target(run))
		target_ready(run);
	else
		resolve_next_host(run);
}

/* Look up the addresses of the next MX host, or give up. */
static void
resolve_next_host(struct ht_run *run)
{
	if (run->nmx > 0 && run->mxi + 1 < run->nmx &&
	    run->ntargets < HELOTEST_MAX_SERVERS) {
		run->mxi++;
		if (run->started)
			result_transcriptf(run->ht->cand[run->current].res, 'i',
			    "HELO test: trying the next MX host, %s",
			    run->mxhosts[run->mxi]);
		resolver_query_addrs(run->ctx->resolver,
		    run->mxhosts[run->mxi], run->ctx->cfg->family, on_addrs,
		    run);
		return;
	}
	no_more_targets(run);
}

static void
on_mx(void *arg, const struct resolver_mx_result *mr)
{
	struct ht_run *run = arg;
	struct helotest_result *ht = run->ht;
	size_t i;

	if (run->done)
		return;
	ht->dns_done = true;
	ht->dns_status = mr->status;
	switch (mr->status) {
	case RESOLVER_OK:
		if (mr->null_mx) {
			cannot_run(run, "%s publishes a null MX: it takes no "
			    "mail", ht->domain);
			return;
		}
		for (i = 0; i < mr->n && run->nmx < RESOLVER_MAX_MX; i++)
			if (mr->mx[i].host[0] != '\0')
				snprintf(run->mxhosts[run->nmx++],
				    sizeof(run->mxhosts[0]), "%s",
				    mr->mx[i].host);
		if (run->nmx == 0) {
			cannot_run(run, "%s has MX records but none names a "
			    "host", ht->domain);
			return;
		}
		break;
	case RESOLVER_NODATA:
		/* RFC 5321 §5.1: no MX, the domain is its own mail host. */
		ht->implicit_mx = true;
		snprintf(run->mxhosts[run->nmx++], sizeof(run->mxhosts[0]),
		    "%s", ht->domain);
		break;
	case RESOLVER_NXDOMAIN:
		cannot_run(run, "the domain %s does not exist", ht->domain);
		return;
	default:
		cannot_run(run, "the MX look-up failed for now (%s)",
		    resolver_status_name(mr->status));
		return;
	}
	snprintf(ht->server_host, sizeof(ht->server_host), "%s",
	    run->mxhosts[0]);
	run->mxi = 0;
	resolver_query_addrs(run->ctx->resolver, run->mxhosts[0],
	    run->ctx->cfg->family, on_addrs, run);
}

/* An address given directly (--server IP, an address literal). */
static void
use_address(struct ht_run *run, const struct sockaddr *sa)
{
	const struct probe_config *cfg = run->ctx->cfg;

	add_target(run, "", sa);
	if (run->ntargets == 0) {
		if (cfg->source_len > 0)
			cannot_run(run, "the server address and --source-ip "
			    "%s are of different families", cfg->source_ip);
		else
			cannot_run(run, "the server address is not of the "
			    "family asked for (%s)", cfg->family == AF_INET ?
			    "-4" : "-6");
		return;
	}
	use_target(run, 0);
	run->started = true;
	start_candidate(run);
}

/* ---- deciding ---------------------------------------------------------- */

static bool
is_about_helo(const struct rec_reply *rr, const char *name)
{
	const struct reply *rp = rr->reply;
	struct codes_diagnosis d;
	char text[2048], pat[LIMIT_HELO_NAME + 3];

	reply_text_join_noesc(rp, text, sizeof(text));
	codes_classify(rr->cmd, rp->code, rp->esc_class, rp->esc_subject,
	    rp->esc_detail, text, &d);
	if (d.category == CODES_CAT_HELO_REJECTED)
		return true;
	/* Postfix names the HELO argument in angle brackets when a HELO
	 * restriction refuses it: "<localhost>: Helo command rejected". */
	snprintf(pat, sizeof(pat), "<%s>", name);
	return strcasestr(text, pat) != NULL;
}

static const struct rec_reply *
find_reply(const struct stage_rec *st, int cmd)
{
	for (size_t i = 0; i < st->nreplies; i++)
		if (st->replies[i].cmd == cmd)
			return &st->replies[i];
	return NULL;
}

/* The last reply to EHLO or HELO, before or inside TLS. */
static const struct rec_reply *
last_hello(const struct probe_result *r)
{
	const struct rec_reply *last = NULL;
	int st, cmds[] = { STAGE_EHLO, STAGE_TLS };

	for (st = 0; st < 2; st++) {
		const struct stage_rec *s = &r->stages[cmds[st]];
		for (size_t i = 0; i < s->nreplies; i++)
			if (s->replies[i].cmd == CODES_CMD_EHLO ||
			    s->replies[i].cmd == CODES_CMD_HELO)
				last = &s->replies[i];
	}
	return last;
}

static void
classify(struct helotest_candidate *c)
{
	const struct probe_result *r = c->res;
	const struct rec_reply *ref = NULL;
	int code;

	c->refused_at = STAGE_ADDRESS;
	c->status = HT_UNKNOWN;
	c->ehlo = find_reply(&r->stages[STAGE_EHLO], CODES_CMD_EHLO);
	c->helo = find_reply(&r->stages[STAGE_EHLO], CODES_CMD_HELO);
	c->mail = r->stages[STAGE_MAIL].nreplies ?
	    &r->stages[STAGE_MAIL].replies[0] : NULL;
	c->rcpt = r->stages[STAGE_RCPT].nreplies ?
	    &r->stages[STAGE_RCPT].replies[0] : NULL;

	if (c->rcpt != NULL && c->rcpt->reply->code / 100 == 2) {
		c->status = HT_ACCEPTED;
		c->answered = true;
		return;
	}
	if (c->rcpt != NULL && c->rcpt->reply->code / 100 >= 4) {
		ref = c->rcpt;
		c->refused_at = STAGE_RCPT;
	} else if (c->mail != NULL && c->mail->reply->code / 100 >= 4) {
		ref = c->mail;
		c->refused_at = STAGE_MAIL;
	} else if (c->outcome == OUTCOME_HELO_REJECTED ||
	    (c->outcome == OUTCOME_GREETING_TEMPORARY &&
	    (r->outcome_stage == STAGE_EHLO || r->outcome_stage == STAGE_TLS))) {
		ref = last_hello(r);
		c->refused_at = STAGE_EHLO;
	}
	if (ref == NULL || (code = ref->reply->code) == 421) {
		/* Nothing about the name: the connection, the greeting, a
		 * timeout, TLS, or a server closing down. */
		const char *err = r->stages[r->outcome_stage].error;

		c->refused_at = STAGE_ADDRESS;
		snprintf(c->note, sizeof(c->note), "no answer about the name "
		    "(%s at %s%s%s)", session_outcome_name(c->outcome),
		    stage_name(r->outcome_stage), err[0] ? ": " : "", err);
		return;
	}
	c->refusal = ref;
	c->temporary = code / 100 == 4;
	c->about_helo = is_about_helo(ref, c->name);
	if (c->refused_at == STAGE_EHLO && !c->temporary) {
		/* EHLO and HELO both refused. */
		c->status = HT_REJECTED;
		c->answered = true;
	} else if (c->about_helo) {
		c->status = HT_REJECTED;
		c->answered = true;
	} else if (!c->temporary) {
		/* A permanent refusal that does not name the HELO: decided
		 * below by comparing with the other names. */
		c->answered = true;
	} else
		snprintf(c->note, sizeof(c->note), "a temporary refusal that "
		    "does not mention the HELO name");
}

/* Did some other tested candidate get past stage st? */
static bool
other_passed(const struct helotest_result *ht, size_t self, enum stage st)
{
	for (size_t i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *o = &ht->cand[i];
		const struct rec_reply *rr = st == STAGE_RCPT ? o->rcpt :
		    o->mail;

		if (i != self && o->tested && rr != NULL &&
		    rr->reply->code / 100 == 2)
			return true;
	}
	return false;
}

static void
append_kinds(char *buf, size_t len, const char *title,
    const struct helotest_result *ht, enum helotest_status want,
    bool *first)
{
	bool any = false;
	size_t i, n;

	for (i = 0; i < ht->ncand; i++) {
		const struct helotest_candidate *c = &ht->cand[i];
		const struct helotest_candidate *o = c->same_as >= 0 ?
		    &ht->cand[c->same_as] : c;

		if (!o->tested || o->status != want)
			continue;
		if (want == HT_UNKNOWN && o->answered)
			continue;
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", !any ? (*first ? "" : "; ") :
		    ", ", !any ? title : "");
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s", helotest_kind_label(c->kind));
		any = true;
	}
	if (any)
		*first = false;
}

static void
summarise(struct helotest_result *ht)
{
	size_t i, nsame = 0;
	bool first = true;
	const struct rec_reply *same = NULL;

	for (i = 0; i < ht->ncand; i++)
		if (ht->cand[i].tested)
			classify(&ht->cand[i]);
	for (i = 0; i < ht->ncand; i++) {
		struct helotest_candidate *c = &ht->cand[i];

		if (!c->tested)
			continue;
		if (c->answered)
			ht->nanswered++;
		if (!c->answered || c->status != HT_UNKNOWN)
			continue;
		if (other_passed(ht, i, c->refused_at))
			c->status = HT_REJECTED;
		else {
			snprintf(c->note, sizeof(c->note), "every name got "
			    "this refusal at %s: it is about the envelope, "
			    "not the HELO name", stage_name(c->refused_at));
			nsame++;
			same = c->refusal;
		}
	}

	ht->conclusion[0] = '\0';
	if (ht->nanswered == 0) {
		snprintf(ht->conclusion, sizeof(ht->conclusion), "no answer: "
		    "no name got a definite reply to EHLO, MAIL or RCPT");
		ht->exit_code = EXIT_UNKNOWN;
		return;
	}
	ht->exit_code = 0;
	if (nsame > 0 && same != NULL && nsame == ht->nanswered) {
		snprintf(ht->conclusion, sizeof(ht->conclusion), "no "
		    "difference between the names: every one that got an "
		    "answer was refused at %s with %d, which is not about the "
		    "HELO name", same->cmd == CODES_CMD_MAIL ? "MAIL" : "RCPT",
		    same->reply->code);
		return;
	}
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "rejects: ", ht,
	    HT_REJECTED, &first);
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "accepts: ", ht,
	    HT_ACCEPTED, &first);
	append_kinds(ht->conclusion, sizeof(ht->conclusion), "no answer: ",
	    ht, HT_UNKNOWN, &first);
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
	struct sockaddr_storage ss;
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

	if (cfg->use_server) {
		snprintf(ht->server_host, sizeof(ht->server_host), "%s",
		    cfg->server_host);
		if (parse_ip(cfg->server_host, &ss)) {
			ht->server_host[0] = '\0';
			use_address(run, (struct sockaddr *)&ss);
		} else
			resolver_query_addrs(ctx->resolver, cfg->server_host,
			    cfg->family, on_addrs, run);
	} else if (ht->domain[0] != '\0' && a->literal) {
		use_address(run, (struct sockaddr *)&a->literal_addr);
	} else if (ht->domain[0] != '\0') {
		ht->via_mx = true;
		resolver_query_mx(ctx->resolver, ht->domain, on_mx, run);
	} else {
		snprintf(ht->error, sizeof(ht->error), "no server: give "
		    "--server or an address or domain");
		ht->exit_code = EXIT_USAGE;
		run->done = true;
	}
	free(a);

	if (!run->done)
		event_base_dispatch(ctx->base);
	if (!run->done) {
		ht->exit_code = EXIT_LOCAL_ERROR;
		snprintf(ht->error, sizeof(ht->error), "internal error: the "
		    "test stopped without an outcome");
	}
	if (run->session != NULL)
		session_free(run->session);
	free(run);
	if (ht->error[0] == '\0')
		summarise(ht);
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
