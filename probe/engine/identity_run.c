/*
 * identity_run.c — the look-ups behind the identity facts (identity_run.h):
 * reverse DNS and forward confirmation of every server address and of the
 * client's, the HELO name's addresses, the names the servers give, and the
 * findings drawn from them.
 *
 * Owns the identity_run and its query contexts.  A run counts one
 * reference for its owner and one per query out; a query that answers
 * after the owner let go (identity_run_release) or after the guard timer
 * gave up only drops its reference.  Limits: IDENT_MAX_PTR names per
 * address (each forward-checked), IDENT_MAX_SERVERS server addresses,
 * IDENT_MAX_HELO_ADDRS addresses of the HELO name; the guard timer bounds
 * the wait after the last session.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "address.h"
#include "identity_run.h"
#include "result.h"

/* Slots for the client's own addresses among the look-up targets. */
#define TARGET_LOCAL	(-1)
#define TARGET_PUBLIC	(-2)

struct identity_run {
	struct event_base	*base;
	struct resolver		*resolver;
	struct probe_result	*res;		/* NULL once released */
	int			 refs;		/* owner + queries out */
	int			 outstanding;	/* queries out that still count */
	bool			 gave_up;	/* guard timer fired */
	unsigned		 gen_local;	/* bumped when the audited address changes */
	unsigned		 gen_public;
	struct event		*guard;
	void			(*done)(void *);
	void			*done_arg;
};

enum iq_kind {
	IQ_PTR,
	IQ_FWD,
	IQ_HELO
};

struct iq {
	struct identity_run	*ir;
	enum iq_kind		 kind;
	int			 target;	/* server index, TARGET_LOCAL, TARGET_PUBLIC */
	unsigned		 gen;
	size_t			 ptr_index;	/* IQ_FWD: which PTR name */
};

/*
 * Where the facts go.
 */

static struct ident_rdns *
rdns_of(struct probe_result *res, int target)
{
	struct ident_client *c;
	struct ident_rdns **rd;

	if (target >= 0 && (size_t)target < res->ident.nservers)
		return &res->ident.servers[target].rdns;
	if ((target != TARGET_LOCAL && target != TARGET_PUBLIC) ||
	    (c = result_client(res)) == NULL)
		return NULL;
	/* The client's records are made when first looked up. */
	rd = target == TARGET_LOCAL ? &c->local_rdns : &c->public_rdns;
	if (*rd == NULL && (*rd = calloc(1, sizeof(**rd))) == NULL)
		res->nomem_dropped++;
	return *rd;
}

/*
 * The look-up engine.
 */

static void
run_unref(struct identity_run *ir)
{
	if (--ir->refs > 0)
		return;
	if (ir->guard != NULL)
		event_free(ir->guard);
	free(ir);
}

static void
check_idle(struct identity_run *ir)
{
	void (*done)(void *) = ir->done;

	if (done == NULL || ir->outstanding > 0)
		return;
	ir->done = NULL;
	if (ir->guard != NULL)
		evtimer_del(ir->guard);
	done(ir->done_arg);
}

static struct iq *
iq_new(struct identity_run *ir, enum iq_kind kind, int target, unsigned gen)
{
	struct iq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->ir = ir;
	q->kind = kind;
	q->target = target;
	q->gen = gen;
	ir->refs++;
	ir->outstanding++;
	return q;
}

/* May the answer of q still be written into the result? */
static bool
iq_live(const struct iq *q)
{
	const struct identity_run *ir = q->ir;

	if (ir->res == NULL || ir->gave_up)
		return false;
	if (q->target == TARGET_LOCAL && q->gen != ir->gen_local)
		return false;
	if (q->target == TARGET_PUBLIC && q->gen != ir->gen_public)
		return false;
	return true;
}

static void
iq_finish(struct iq *q)
{
	struct identity_run *ir = q->ir;
	bool counted = !ir->gave_up;

	free(q);
	if (counted && ir->outstanding > 0)
		ir->outstanding--;
	if (ir->res != NULL)
		check_idle(ir);
	run_unref(ir);
}

static void
rdns_step_done(struct ident_rdns *rd)
{
	if (rd->pending > 0)
		rd->pending--;
	if (rd->pending > 0)
		return;
	rd->done = true;
	if (rd->fcrdns == IDENT_UNCHECKED && rd->ptr_status == RESOLVER_OK)
		rd->fcrdns = resolver_status_temporary(rd->fwd_status) ?
		    IDENT_UNKNOWN : IDENT_NO;
}

static int
family_of(const char *ip)
{
	return strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
}

static void
on_fwd(void *arg, const struct resolver_addr_result *ar)
{
	struct iq *q = arg;
	struct ident_rdns *rd;
	char ip[64];
	size_t i;

	if (!iq_live(q) || (rd = rdns_of(q->ir->res, q->target)) == NULL) {
		iq_finish(q);
		return;
	}
	/* ar->cname is the name at the end of the chain: the PTR name
	 * itself is what must be confirmed, and it is (through the alias). */
	for (i = 0; i < ar->n; i++) {
		resolver_addr_str((const struct sockaddr *)&ar->addrs[i], ip,
		    sizeof(ip));
		if (strcmp(ip, rd->ip) == 0 && rd->fcrdns != IDENT_YES) {
			rd->fcrdns = IDENT_YES;
			if (q->ptr_index < rd->nptr)
				snprintf(rd->fcrdns_name,
				    sizeof(rd->fcrdns_name), "%s",
				    rd->ptr[q->ptr_index]);
			break;
		}
	}
	if (ar->status != RESOLVER_OK && resolver_status_temporary(ar->status))
		rd->fwd_status = ar->status;
	rdns_step_done(rd);
	iq_finish(q);
}

static void
start_fwd(struct identity_run *ir, struct ident_rdns *rd, int target,
    unsigned gen, size_t k)
{
	struct iq *q = iq_new(ir, IQ_FWD, target, gen);

	if (q == NULL) {
		rd->fwd_status = RESOLVER_ERROR;
		return;
	}
	q->ptr_index = k;
	rd->pending++;
	resolver_query_addrs(ir->resolver, rd->ptr[k], family_of(rd->ip),
	    on_fwd, q);
}

static void
on_ptr(void *arg, const struct resolver_ptr_result *pr)
{
	struct iq *q = arg;
	struct identity_run *ir = q->ir;
	struct ident_rdns *rd;
	size_t i;

	if (!iq_live(q) || (rd = rdns_of(ir->res, q->target)) == NULL) {
		iq_finish(q);
		return;
	}
	rd->ptr_status = pr->status;
	for (i = 0; i < pr->n && rd->nptr < IDENT_MAX_PTR; i++) {
		snprintf(rd->ptr[rd->nptr], sizeof(rd->ptr[0]), "%s",
		    pr->names[i]);
		rd->ptr_valid[rd->nptr] = identity_hostname_valid(pr->names[i]);
		rd->nptr++;
	}
	if (pr->status == RESOLVER_OK && rd->nptr == 0)
		rd->ptr_status = RESOLVER_NODATA;
	if (rd->ptr_status == RESOLVER_OK) {
		/* Forward-confirm every name (RFC 8601 §3 "iprev": any one
		 * name resolving back is enough).  Names that are not host
		 * names are looked up too: they may still resolve. */
		for (i = 0; i < rd->nptr; i++)
			if (address_hostname_ok(rd->ptr[i]))
				start_fwd(ir, rd, q->target, q->gen, i);
	} else
		rd->fcrdns = resolver_status_temporary(rd->ptr_status) ?
		    IDENT_UNKNOWN : IDENT_NO;
	rdns_step_done(rd);
	iq_finish(q);
}

static void
start_rdns(struct identity_run *ir, int target, unsigned gen,
    const struct sockaddr *sa)
{
	struct ident_rdns *rd = rdns_of(ir->res, target);
	struct iq *q;

	if (rd == NULL)
		return;
	memset(rd, 0, sizeof(*rd));
	resolver_addr_str(sa, rd->ip, sizeof(rd->ip));
	rd->asked = true;
	/* What stays if no answer ever comes. */
	rd->ptr_status = RESOLVER_TIMEOUT;
	rd->fwd_status = RESOLVER_OK;
	if ((q = iq_new(ir, IQ_PTR, target, gen)) == NULL) {
		rd->ptr_status = RESOLVER_ERROR;
		rd->fcrdns = IDENT_UNKNOWN;
		rd->done = true;
		return;
	}
	rd->pending = 1;
	resolver_query_ptr(ir->resolver, sa, on_ptr, q);
}


static void
on_helo(void *arg, const struct resolver_addr_result *ar)
{
	struct iq *q = arg;
	struct ident_client *c;
	size_t i;

	if (!iq_live(q)) {
		iq_finish(q);
		return;
	}
	if ((c = result_client(q->ir->res)) == NULL) {
		iq_finish(q);
		return;
	}
	c->helo_done = true;
	c->helo_status = ar->status;
	for (i = 0; i < ar->n && c->nhelo_addrs < IDENT_MAX_HELO_ADDRS; i++)
		resolver_addr_str((const struct sockaddr *)&ar->addrs[i],
		    c->helo_addrs[c->nhelo_addrs++], sizeof(c->helo_addrs[0]));
	if (ar->status == RESOLVER_OK)
		c->helo_resolves = IDENT_YES;
	else
		c->helo_resolves = resolver_status_temporary(ar->status) ?
		    IDENT_UNKNOWN : IDENT_NO;
	iq_finish(q);
}

struct identity_run *
identity_run_new(struct event_base *base, struct resolver *resolver,
    struct probe_result *res, const char *helo, const char *source_ip,
    int family)
{
	struct identity_run *ir;
	struct ident_client *c;
	size_t n;

	(void)family;
	if ((ir = calloc(1, sizeof(*ir))) == NULL)
		return NULL;
	ir->base = base;
	ir->resolver = resolver;
	ir->res = res;
	ir->refs = 1;
	if ((c = result_client(res)) == NULL)
		return ir;	/* no room for the client audit */
	snprintf(c->helo, sizeof(c->helo), "%s", helo != NULL ? helo : "");
	snprintf(c->source_ip, sizeof(c->source_ip), "%s",
	    source_ip != NULL ? source_ip : "");
	n = strlen(c->helo);
	if (n >= 2 && c->helo[0] == '[' && c->helo[n - 1] == ']') {
		/* RFC 5321 §4.1.3: an address literal; nothing to look up. */
		c->helo_literal = true;
		if (identity_parse_ip(c->helo + 1, n - 2, c->helo_addrs[0],
		    sizeof(c->helo_addrs[0])))
			c->nhelo_addrs = 1;
		c->helo_done = true;
		return ir;
	}
	c->helo_fqdn = identity_hostname_valid(c->helo);
	if (address_hostname_ok(c->helo)) {
		struct iq *q = iq_new(ir, IQ_HELO, 0, 0);

		if (q != NULL) {
			c->helo_asked = true;
			c->helo_status = RESOLVER_TIMEOUT;
			c->helo_resolves = IDENT_UNKNOWN;
			/* Both families: the HELO name must match whichever
			 * address the connection uses. */
			resolver_query_addrs(resolver, c->helo, AF_UNSPEC,
			    on_helo, q);
		}
	} else
		c->helo_done = true;
	return ir;
}

int
identity_server_start(struct identity_run *ir, const char *host,
    const struct sockaddr *addr)
{
	struct identity *id;
	struct ident_server *sv;
	char ip[64];
	size_t i;

	if (ir == NULL || ir->res == NULL)
		return -1;
	id = &ir->res->ident;
	ip[0] = '\0';
	if (addr != NULL)
		resolver_addr_str(addr, ip, sizeof(ip));
	for (i = 0; i < id->nservers; i++)
		if (strcmp(id->servers[i].rdns.ip, ip) == 0 &&
		    (addr != NULL || strcmp(id->servers[i].host, host) == 0))
			return (int)i;
	if ((sv = result_append(&id->servers, &id->servers_cap, &id->nservers,
	    IDENT_MAX_SERVERS, sizeof(*id->servers),
	    &ir->res->nomem_dropped)) == NULL)
		return -1;
	snprintf(sv->host, sizeof(sv->host), "%s", host);
	/* A server only the proxy has the address of has no reverse DNS
	 * to look up. */
	if (addr != NULL)
		start_rdns(ir, (int)(id->nservers - 1), 0, addr);
	return (int)(id->nservers - 1);
}

void
identity_connected(struct identity_run *ir, int idx,
    const struct sockaddr *local)
{
	struct ident_client *c;
	char ip[64];

	if (ir == NULL || ir->res == NULL)
		return;
	c = result_client(ir->res);
	resolver_addr_str(local, ip, sizeof(ip));
	if (idx >= 0 && (size_t)idx < ir->res->ident.nservers)
		snprintf(ir->res->ident.servers[idx].local_ip,
		    sizeof(ir->res->ident.servers[0].local_ip), "%s", ip);
	if (c == NULL)
		return;
	snprintf(c->local_ip, sizeof(c->local_ip), "%s", ip);
	c->local_private = identity_ip_private(ip);
	if (c->local_private)
		return;	/* the server sees another address (NAT) */
	if (c->local_rdns != NULL && c->local_rdns->asked &&
	    strcmp(c->local_rdns->ip, ip) == 0)
		return;
	ir->gen_local++;
	start_rdns(ir, TARGET_LOCAL, ir->gen_local, local);
}

/* The text of line i of rp with a leading enhanced code skipped. */
static const char *
line_text(const struct reply *rp, size_t i, size_t *len)
{
	const char *t = rp->lines[i].text;
	size_t n = rp->lines[i].len, k = 0;

	if (rp->esc_class != 0) {
		while (k < n && (isdigit((unsigned char)t[k]) || t[k] == '.'))
			k++;
		if (k > 0 && k < n && t[k] == ' ') {
			t += k + 1;
			n -= k + 1;
		}
	}
	*len = n;
	return t;
}

/* Look for our address in the replies of stage st; first lines of
 * greeting and EHLO replies start with the server's own name. */
static bool
seen_ip_in_stage(const struct stage_rec *s, bool twos_only, char *out,
    size_t outlen)
{
	size_t i, l, n;

	for (i = 0; i < s->nreplies; i++) {
		const struct reply *rp = s->replies[i].reply;
		bool named = s->replies[i].cmd == CODES_CMD_GREETING ||
		    s->replies[i].cmd == CODES_CMD_EHLO ||
		    s->replies[i].cmd == CODES_CMD_HELO;

		if (rp == NULL || (twos_only && rp->code / 100 != 2))
			continue;
		for (l = 0; l < rp->nlines; l++) {
			const char *t = line_text(rp, l, &n);
			if (identity_find_bracketed_ip(t, n, named && l == 0,
			    out, outlen))
				return true;
		}
	}
	return false;
}

void
identity_session_done(struct identity_run *ir, int idx)
{
	struct probe_result *res;
	struct ident_server *sv;
	struct ident_client *c;
	const struct stage_rec *g, *e;
	char seen[64];
	size_t i, n;

	if (ir == NULL || (res = ir->res) == NULL || idx < 0 ||
	    (size_t)idx >= res->ident.nservers)
		return;
	sv = &res->ident.servers[idx];
	c = result_client(res);
	g = &res->stages[STAGE_GREETING];
	if (g->nreplies > 0 && g->replies[0].reply->code / 100 == 2 &&
	    g->replies[0].reply->nlines > 0) {
		const char *t = line_text(g->replies[0].reply, 0, &n);

		sv->greeted = true;
		(void)identity_first_word(t, n, sv->banner_name,
		    sizeof(sv->banner_name));
	}
	for (e = &res->stages[STAGE_EHLO]; e != NULL;
	    e = e == &res->stages[STAGE_EHLO] ? &res->stages[STAGE_TLS] :
	    NULL) {
		for (i = 0; i < e->nreplies && sv->ehlo_name[0] == '\0'; i++) {
			const struct reply *rp = e->replies[i].reply;
			if (rp->code != 250 || rp->nlines == 0)
				continue;
			const char *t = line_text(rp, 0, &n);
			(void)identity_first_word(t, n, sv->ehlo_name,
			    sizeof(sv->ehlo_name));
		}
	}
	/* The address the server says it sees: the EHLO reply is the
	 * usual place (Exim, Sendmail, Microsoft, Google), then the
	 * greeting, then refusals ("Client host rejected: ..., [x]"). */
	seen[0] = '\0';
	if (!seen_ip_in_stage(&res->stages[STAGE_EHLO], true, seen,
	    sizeof(seen)) &&
	    !seen_ip_in_stage(&res->stages[STAGE_TLS], true, seen,
	    sizeof(seen)) &&
	    !seen_ip_in_stage(g, false, seen, sizeof(seen)) &&
	    !seen_ip_in_stage(&res->stages[STAGE_EHLO], false, seen,
	    sizeof(seen)) &&
	    !seen_ip_in_stage(&res->stages[STAGE_MAIL], false, seen,
	    sizeof(seen)) &&
	    !seen_ip_in_stage(&res->stages[STAGE_RCPT], false, seen,
	    sizeof(seen)))
		return;
	/* A server that names its own address is not naming ours. */
	if (strcmp(seen, sv->rdns.ip) == 0)
		return;
	snprintf(sv->client_ip_seen, sizeof(sv->client_ip_seen), "%s", seen);
	if (c == NULL || strcmp(seen, c->public_ip) == 0)
		return;
	snprintf(c->public_ip, sizeof(c->public_ip), "%s", seen);
	if (strcmp(seen, c->local_ip) != 0) {
		struct sockaddr_storage ss;

		if (resolver_addr_parse(seen, &ss)) {
			ir->gen_public++;
			start_rdns(ir, TARGET_PUBLIC, ir->gen_public,
			    (struct sockaddr *)&ss);
		}
	} else if ((c->local_rdns == NULL || !c->local_rdns->asked) &&
	    c->local_private) {
		/* The server sees our private address (same network):
		 * audit it after all. */
		struct sockaddr_storage ss;

		if (resolver_addr_parse(seen, &ss)) {
			ir->gen_local++;
			start_rdns(ir, TARGET_LOCAL, ir->gen_local,
			    (struct sockaddr *)&ss);
		}
	}
}

bool
identity_pending(const struct identity_run *ir)
{
	return ir != NULL && !ir->gave_up && ir->outstanding > 0;
}

static void
give_up_rdns(struct ident_rdns *rd)
{
	if (rd == NULL || !rd->asked || rd->done)
		return;
	rd->done = true;
	rd->pending = 0;
	if (rd->fcrdns != IDENT_YES && rd->fcrdns != IDENT_NO)
		rd->fcrdns = IDENT_UNKNOWN;
	if (rd->fwd_status == RESOLVER_OK)
		rd->fwd_status = RESOLVER_TIMEOUT;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct identity_run *ir = arg;
	struct identity *id;
	struct ident_client *c;
	size_t i;

	(void)fd;
	(void)what;
	if (ir->res == NULL)
		return;
	id = &ir->res->ident;
	ir->gave_up = true;
	ir->outstanding = 0;
	for (i = 0; i < id->nservers; i++)
		give_up_rdns(&id->servers[i].rdns);
	if ((c = id->client) != NULL) {
		give_up_rdns(c->local_rdns);
		give_up_rdns(c->public_rdns);
		if (c->helo_asked && !c->helo_done) {
			c->helo_done = true;
			c->helo_resolves = IDENT_UNKNOWN;
		}
	}
	check_idle(ir);
}

void
identity_when_idle(struct identity_run *ir, int timeout_ms,
    void (*done)(void *), void *arg)
{
	struct timeval tv;

	if (ir == NULL || ir->res == NULL || !identity_pending(ir)) {
		done(arg);
		return;
	}
	ir->done = done;
	ir->done_arg = arg;
	if (ir->guard == NULL &&
	    (ir->guard = evtimer_new(ir->base, on_guard, ir)) == NULL) {
		/* Without a timer the resolver's own timeouts bound the
		 * wait. */
		return;
	}
	if (timeout_ms < 1)
		timeout_ms = 1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(ir->guard, &tv);
}

void
identity_run_release(struct identity_run *ir)
{
	if (ir == NULL)
		return;
	ir->res = NULL;
	ir->done = NULL;
	if (ir->guard != NULL) {
		event_free(ir->guard);
		ir->guard = NULL;
	}
	run_unref(ir);
}

/*
 * Findings.
 */

static bool
name_in_ptr(const struct ident_rdns *rd, const char *name)
{
	size_t i;

	for (i = 0; i < rd->nptr; i++)
		if (identity_name_eq(rd->ptr[i], name))
			return true;
	return false;
}

static const char *
first_ptr(const struct ident_rdns *rd)
{
	return rd->nptr > 0 ? rd->ptr[0] : "";
}

/* "a, b, c" of the PTR names. */
static void
ptr_list(const struct ident_rdns *rd, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < rd->nptr && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		    rd->ptr[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* What a reverse DNS can call for, in the order the findings come. */
enum rdns_fault {
	RDNS_NO_PTR,		/* NXDOMAIN or NODATA */
	RDNS_UNCHECKED,		/* the PTR look-up failed */
	RDNS_NAME_INVALID,	/* PTR name i is not a valid host name */
	RDNS_NOT_CONFIRMED,	/* no PTR name resolves back */
	RDNS_CONFIRM_UNCHECKED	/* the look-ups back failed */
};

/* The finding of fault f of rd in the words of the server or of this
 * host; names: the PTR names, "a, b". */
typedef void rdns_say_fn(struct probe_result *res,
    const struct ident_rdns *rd, enum rdns_fault f, size_t i,
    const char *names);

/* The findings of the reverse DNS rd: the same checks for a server and
 * for this host, each in its own words. */
static void
rdns_findings(struct probe_result *res, const struct ident_rdns *rd,
    rdns_say_fn *say)
{
	char names[4 * RESOLVER_NAME_MAX];
	size_t i;

	ptr_list(rd, names, sizeof(names));
	if (rd->ptr_status == RESOLVER_NXDOMAIN ||
	    rd->ptr_status == RESOLVER_NODATA) {
		say(res, rd, RDNS_NO_PTR, 0, names);
		return;
	}
	if (rd->ptr_status != RESOLVER_OK) {
		say(res, rd, RDNS_UNCHECKED, 0, names);
		return;
	}
	/* Only an answer (RESOLVER_OK) has names. */
	for (i = 0; i < rd->nptr; i++)
		if (!rd->ptr_valid[i])
			say(res, rd, RDNS_NAME_INVALID, i, names);
	if (rd->fcrdns == IDENT_NO)
		say(res, rd, RDNS_NOT_CONFIRMED, 0, names);
	else if (rd->fcrdns == IDENT_UNKNOWN)
		say(res, rd, RDNS_CONFIRM_UNCHECKED, 0, names);
}

static void
server_rdns_say(struct probe_result *res, const struct ident_rdns *rd,
    enum rdns_fault f, size_t i, const char *names)
{
	switch (f) {
	case RDNS_NO_PTR:
		result_finding(res, FINDING_IDENTITY_NO_PTR, STAGE_CONNECT,
		    NULL, "the server address %s has no reverse DNS (PTR) "
		    "record; if this host also sends mail, many receivers "
		    "will refuse it", rd->ip);
		break;
	case RDNS_UNCHECKED:
		result_finding(res, FINDING_IDENTITY_UNCHECKED, STAGE_CONNECT,
		    NULL, "could not check the reverse DNS of %s (%s)", rd->ip,
		    resolver_status_name(rd->ptr_status));
		break;
	case RDNS_NAME_INVALID:
		result_finding(res, FINDING_IDENTITY_PTR_INVALID_NAME,
		    STAGE_CONNECT, NULL, "the PTR record of %s names \"%s\", "
		    "%s", rd->ip, rd->ptr[i],
		    identity_ptr_name_fault(rd->ptr[i]));
		break;
	case RDNS_NOT_CONFIRMED:
		result_finding(res, FINDING_IDENTITY_PTR_NOT_CONFIRMED,
		    STAGE_CONNECT, names, "the PTR name of %s (%s) does not "
		    "resolve back to %s: the reverse DNS is not "
		    "forward-confirmed", rd->ip, names, rd->ip);
		break;
	case RDNS_CONFIRM_UNCHECKED:
		result_finding(res, FINDING_IDENTITY_UNCHECKED, STAGE_CONNECT,
		    names, "could not check whether the PTR name of %s "
		    "resolves back to it (%s)", rd->ip,
		    resolver_status_name(rd->fwd_status));
		break;
	}
}

static void
server_findings(struct probe_result *res, struct ident_server *sv)
{
	struct ident_rdns *rd = &sv->rdns;
	char names[4 * RESOLVER_NAME_MAX];

	if (rd->asked)
		rdns_findings(res, rd, server_rdns_say);

	if (sv->greeted && sv->banner_name[0] == '\0') {
		/* RFC 5321 §4.3.1: the greeting names the server ("220 "
		 * alone, or a bare "220", names nothing). */
		sv->banner_valid = IDENT_NO;
		result_finding(res, FINDING_IDENTITY_BANNER_INVALID_NAME,
		    STAGE_GREETING, NULL, "the greeting gives no host name at "
		    "all");
	}
	if (sv->banner_name[0] != '\0') {
		const char *b = sv->banner_name;
		bool literal = b[0] == '[';

		sv->banner_valid = identity_hostname_valid(b) || literal ?
		    IDENT_YES : IDENT_NO;
		if (sv->banner_valid == IDENT_NO)
			result_finding(res,
			    FINDING_IDENTITY_BANNER_INVALID_NAME,
			    STAGE_GREETING, b, "the greeting does not start "
			    "with the server's host name (it says \"%s\")", b);
		if (sv->host[0] != '\0')
			sv->banner_matches_mx = identity_name_eq(b, sv->host) ?
			    IDENT_YES : IDENT_NO;
		if (rd->ptr_status == RESOLVER_OK && rd->nptr > 0) {
			sv->banner_matches_ptr = name_in_ptr(rd, b) ?
			    IDENT_YES : IDENT_NO;
			ptr_list(rd, names, sizeof(names));
			if (sv->banner_matches_ptr == IDENT_NO &&
			    sv->banner_valid == IDENT_YES)
				result_finding(res,
				    FINDING_IDENTITY_BANNER_MISMATCH,
				    STAGE_GREETING, names, "the greeting "
				    "announces %s, but the PTR name of %s is "
				    "%s", b, rd->ip, first_ptr(rd));
		} else if (rd->asked && resolver_status_temporary(
		    rd->ptr_status))
			sv->banner_matches_ptr = IDENT_UNKNOWN;
	}
	if (sv->host[0] != '\0' && rd->ptr_status == RESOLVER_OK &&
	    rd->nptr > 0)
		sv->ptr_matches_mx = name_in_ptr(rd, sv->host) ? IDENT_YES :
		    IDENT_NO;
	if (sv->banner_name[0] != '\0' && sv->ehlo_name[0] != '\0') {
		sv->ehlo_matches_banner = identity_name_eq(sv->banner_name,
		    sv->ehlo_name) ? IDENT_YES : IDENT_NO;
		if (sv->ehlo_matches_banner == IDENT_NO)
			result_finding(res, FINDING_IDENTITY_EHLO_NAME_MISMATCH,
			    STAGE_EHLO, NULL, "the greeting announces %s but "
			    "the EHLO reply says %s", sv->banner_name,
			    sv->ehlo_name);
	}
}

static bool
ip_in_helo(const struct ident_client *c, const char *ip)
{
	size_t i;

	for (i = 0; i < c->nhelo_addrs; i++)
		if (strcmp(c->helo_addrs[i], ip) == 0)
			return true;
	return false;
}

static void
client_rdns_say(struct probe_result *res, const struct ident_rdns *rd,
    enum rdns_fault f, size_t i, const char *names)
{
	switch (f) {
	case RDNS_NO_PTR:
		result_finding(res, FINDING_CLIENT_NO_PTR, STAGE_EHLO, NULL,
		    "this host's address %s has no PTR record; many servers "
		    "refuse or defer clients without reverse DNS", rd->ip);
		break;
	case RDNS_UNCHECKED:
		result_finding(res, FINDING_CLIENT_UNCHECKED, STAGE_EHLO, NULL,
		    "could not check the reverse DNS of this host's address "
		    "%s (%s)", rd->ip, resolver_status_name(rd->ptr_status));
		break;
	case RDNS_NAME_INVALID:
		result_finding(res, FINDING_CLIENT_PTR_INVALID_NAME, STAGE_EHLO,
		    NULL, "the PTR name of this host's address %s is \"%s\", "
		    "%s", rd->ip, rd->ptr[i],
		    identity_ptr_name_fault(rd->ptr[i]));
		break;
	case RDNS_NOT_CONFIRMED:
		result_finding(res, FINDING_CLIENT_PTR_NOT_CONFIRMED,
		    STAGE_EHLO, names, "the PTR name of this host's address %s "
		    "(%s) does not resolve back to it; servers that check "
		    "forward-confirmed reverse DNS treat it as having none",
		    rd->ip, names);
		break;
	case RDNS_CONFIRM_UNCHECKED:
		result_finding(res, FINDING_CLIENT_UNCHECKED, STAGE_EHLO, names,
		    "could not check whether the PTR name of this host's "
		    "address %s resolves back to it", rd->ip);
		break;
	}
}

/* The reverse DNS of this host's address (rd NULL: none was looked up). */
static void
client_rdns_findings(struct probe_result *res, const struct ident_rdns *rd)
{
	const struct ident_client *c = identity_client(&res->ident);

	if (rd != NULL)
		rdns_findings(res, rd, client_rdns_say);
	else if (c->local_private && c->public_ip[0] == '\0')
		result_finding(res, FINDING_CLIENT_ADDRESS_PRIVATE, STAGE_EHLO,
		    NULL, "this host's address %s is private: servers see the "
		    "public address of the network's NAT instead, and none of "
		    "them stated it, so its reverse DNS was not checked",
		    c->local_ip);
}

/* The HELO name against DNS, this host's address ip (NULL: unknown) and
 * its PTR names. */
static void
client_helo_findings(struct probe_result *res, const struct ident_rdns *rd,
    const char *ip)
{
	struct ident_client *c = res->ident.client;

	if (c == NULL || c->helo[0] == '\0')
		return;
	if (c->helo_literal) {
		if (ip != NULL && c->nhelo_addrs > 0)
			c->helo_matches_ip = ip_in_helo(c, ip) ? IDENT_YES :
			    IDENT_NO;
		if (c->helo_matches_ip == IDENT_NO)
			result_finding(res,
			    FINDING_CLIENT_HELO_LITERAL_MISMATCH, STAGE_EHLO,
			    NULL, "the HELO address literal %s is not this "
			    "host's address %s", c->helo, ip);
		return;
	}
	if (!c->helo_fqdn) {
		result_finding(res, FINDING_CLIENT_HELO_NOT_FQDN, STAGE_EHLO,
		    NULL, "the HELO name \"%s\" is not a fully qualified host "
		    "name; servers that check it (Postfix "
		    "reject_non_fqdn_helo_hostname) refuse it", c->helo);
	} else if (c->helo_resolves == IDENT_NO) {
		result_finding(res, FINDING_CLIENT_HELO_NO_ADDRESS, STAGE_EHLO,
		    NULL, "the HELO name %s has no address in DNS (%s); "
		    "servers that check it (Postfix "
		    "reject_unknown_helo_hostname) refuse it", c->helo,
		    resolver_status_name(c->helo_status));
	} else if (c->helo_resolves == IDENT_UNKNOWN) {
		result_finding(res, FINDING_CLIENT_UNCHECKED, STAGE_EHLO, NULL,
		    "could not check whether the HELO name %s resolves (%s)",
		    c->helo, resolver_status_name(c->helo_status));
	}
	if (c->helo_resolves == IDENT_YES && ip != NULL) {
		c->helo_matches_ip = ip_in_helo(c, ip) ? IDENT_YES : IDENT_NO;
		if (c->helo_matches_ip == IDENT_NO)
			result_finding(res, FINDING_CLIENT_HELO_MISMATCH,
			    STAGE_EHLO, NULL, "the HELO name %s resolves to "
			    "%s%s, not to this host's address %s", c->helo,
			    c->helo_addrs[0], c->nhelo_addrs > 1 ?
			    " (and others)" : "", ip);
	}
	if (rd != NULL && rd->ptr_status == RESOLVER_OK && rd->nptr > 0) {
		c->helo_matches_ptr = name_in_ptr(rd, c->helo) ? IDENT_YES :
		    IDENT_NO;
		if (c->helo_matches_ptr == IDENT_NO)
			result_finding(res, FINDING_CLIENT_HELO_PTR_MISMATCH,
			    STAGE_EHLO, NULL, "the HELO name %s differs from "
			    "the PTR name of this host's address (%s)", c->helo,
			    first_ptr(rd));
	}
}

static void
client_findings(struct probe_result *res)
{
	const struct ident_rdns *rd = identity_client_rdns(&res->ident);

	client_rdns_findings(res, rd);
	client_helo_findings(res, rd, identity_client_ip(&res->ident));
}

void
identity_findings(struct probe_result *res)
{
	size_t i;

	for (i = 0; i < res->ident.nservers; i++)
		server_findings(res, &res->ident.servers[i]);
	client_findings(res);
}
