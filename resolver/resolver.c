/*
 * resolver.c — c-ares 1.18 channel driven by a libevent 2.1 event_base.
 *
 * A resolver owns one ares_channel, one libevent event per socket c-ares
 * asks to watch (ARES_OPT_SOCK_STATE_CB), one timer re-armed from
 * ares_timeout() after every processing step, and one "deliver" event
 * through which every user callback runs.  Queries are ares_query() only
 * (no search domains, no hosts file).  Each pending query owns one
 * heap block of bounded size (its result); nothing else is allocated per
 * query.  No global state besides c-ares' own ares_library_init refcount
 * (c-ares 1.18's counter is not thread-safe: create and free resolvers
 * from one thread).
 *
 * Why a deliver event: user callbacks never run inside ares_query() nor
 * inside ares_process_fd(), so a callback may start new queries or free
 * the resolver without re-entering c-ares.  event_base_once() is not used
 * for the deferral because a once-event cannot be cancelled: resolver_free
 * before the loop ran would leave it pointing at freed memory.
 *
 * Limits: c-ares 1.18 sends no EDNS (answers over 512 octets come back
 * truncated and are retried over TCP, RFC 7766); SERVFAIL and REFUSED are
 * reported as such instead of failing over to the next server (see
 * ARES_FLAG_NOCHECKRESP below).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>

#include "resolver.h"
#include "resolver_internal.h"

#define RESOLVER_DEFAULT_TIMEOUT_MS	2000
#define RESOLVER_DEFAULT_TRIES		3
#define RESOLVER_MAX_TIMEOUT_MS		60000
#define RESOLVER_MAX_TRIES		10

/* glibc's <sys/queue.h> has no _SAFE iterators (the BSDs' have). */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct resolver_sock {
	struct resolver		*r;
	ares_socket_t		 fd;
	struct event		*ev;
	LIST_ENTRY(resolver_sock) entry;
};

enum resolver_kind {
	RESOLVER_KIND_MX,
	RESOLVER_KIND_ADDR,
	RESOLVER_KIND_PTR,
	RESOLVER_KIND_TLSA,
	RESOLVER_KIND_TXT
};

/* Index of a family in struct resolver_query's addr parts; AAAA first
 * because that is the order of the merged result. */
#define PART_AAAA	0
#define PART_A		1

struct resolver_part {
	struct resolver_query	*q;
	int			 family;
	bool			 asked;
	enum resolver_status	 status;
	char			 detail[56];
	size_t			 n;
	size_t			 more;
	struct sockaddr_storage	 addrs[RESOLVER_MAX_ADDRS];
	char			 cname[RESOLVER_NAME_MAX];
	bool			 cname_loop;
};

TAILQ_HEAD(resolver_query_list, resolver_query);

/* A query's callback and result, of the query's kind. */
union resolver_cb {
	resolver_mx_cb		mx;
	resolver_addr_cb	addr;
	resolver_ptr_cb		ptr;
	resolver_tlsa_cb	tlsa;
	resolver_txt_cb		txt;
};

union resolver_any_result {
	struct resolver_mx_result	mx;
	struct resolver_addr_result	addr;
	struct resolver_ptr_result	ptr;
	struct resolver_tlsa_result	tlsa;
	struct resolver_txt_result	txt;
};

struct resolver_query {
	struct resolver		*r;
	enum resolver_kind	 kind;
	union resolver_cb	 cb;
	void			*arg;
	char			 name[RESOLVER_NAME_MAX];
	struct timespec		 t0;
	int			 outstanding;	/* c-ares callbacks still due */
	/* PTR: the address in network order, for ares_parse_ptr_reply. */
	unsigned char		 ptr_addr[16];
	int			 ptr_addrlen;
	int			 ptr_family;
	struct resolver_part	 part[2];
	union resolver_any_result *res;	/* sized for kind */
	/* on the done list, or on its leader's followers */
	TAILQ_ENTRY(resolver_query) entry;
	/* cache: a query sent to c-ares is a leader; equal queries made
	 * meanwhile are its followers and get a copy of its answer */
	int			 family;	/* ADDR: AF_INET, AF_INET6, AF_UNSPEC */
	bool			 leader;
	LIST_ENTRY(resolver_query) inflight_entry;	/* when leader */
	struct resolver_query_list followers;	/* the latest first */
};

struct resolver_cache_entry {
	TAILQ_ENTRY(resolver_cache_entry) entry;	/* most recent first */
	enum resolver_kind		 kind;
	int				 family;
	char				 name[RESOLVER_NAME_MAX];
	double				 expires;	/* monotonic ms */
	union resolver_any_result	*res;		/* its first size bytes */
	size_t				 size;		/* resolver_result_used() */
};

struct resolver {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;
	struct event		*deliver;
	LIST_HEAD(resolver_sock_list, resolver_sock) socks;
	struct resolver_query_list done;	/* to deliver, in order */
	int			 timeout_ms;
	int			 tries;
	uint64_t		 rng;
	int			 delivering;	/* resolver_drain depth */
	bool			 freeing;
	bool			 free_pending;	/* freed from a callback */
	size_t			 cache_max;	/* 0: no cache */
	size_t			 cache_n;
	TAILQ_HEAD(resolver_cache, resolver_cache_entry) cache;
	LIST_HEAD(resolver_inflight, resolver_query) inflight;	/* leaders, when caching */
};

static void	resolver_rearm(struct resolver *);
static void	resolver_drain(struct resolver *);

const char *
resolver_status_name(enum resolver_status st)
{
	switch (st) {
	case RESOLVER_OK:		return "ok";
	case RESOLVER_NODATA:		return "nodata";
	case RESOLVER_NXDOMAIN:		return "nxdomain";
	case RESOLVER_SERVFAIL:		return "servfail";
	case RESOLVER_REFUSED:		return "refused";
	case RESOLVER_TIMEOUT:		return "timeout";
	case RESOLVER_BADRESP:		return "badresp";
	case RESOLVER_CANCELLED:	return "cancelled";
	case RESOLVER_ERROR:		return "error";
	}
	return "error";
}

bool
resolver_status_temporary(enum resolver_status st)
{
	switch (st) {
	case RESOLVER_SERVFAIL:
	case RESOLVER_REFUSED:
	case RESOLVER_TIMEOUT:
	case RESOLVER_ERROR:
	case RESOLVER_CANCELLED:
		return true;
	default:
		return false;
	}
}

enum resolver_status
resolver_status_from_ares(int st)
{
	switch (st) {
	case ARES_SUCCESS:	return RESOLVER_OK;
	/* ares_query turns rcode NXDOMAIN into ARES_ENOTFOUND and NOERROR
	 * with an empty answer into ARES_ENODATA (ares_query.c qcallback);
	 * the parsers say ENODATA when no record of the type is there. */
	case ARES_ENOTFOUND:	return RESOLVER_NXDOMAIN;
	case ARES_ENODATA:	return RESOLVER_NODATA;
	case ARES_ESERVFAIL:	return RESOLVER_SERVFAIL;
	case ARES_EREFUSED:	return RESOLVER_REFUSED;
	case ARES_ETIMEOUT:
	case ARES_ECONNREFUSED:	return RESOLVER_TIMEOUT;
	case ARES_EBADRESP:
	case ARES_EFORMERR:	return RESOLVER_BADRESP;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:	return RESOLVER_CANCELLED;
	default:		return RESOLVER_ERROR;
	}
}

/* Fill a failure status and its human detail from a c-ares status. */
static void
resolver_describe(const struct resolver *r, int st, int timeouts,
    enum resolver_status *status, char *detail, size_t len)
{
	int n;

	*status = resolver_status_from_ares(st);
	switch (st) {
	case ARES_ENOTFOUND:
		snprintf(detail, len, "NXDOMAIN: the name does not exist");
		break;
	case ARES_ENODATA:
		snprintf(detail, len, "no record of that type");
		break;
	case ARES_ESERVFAIL:
		snprintf(detail, len, "SERVFAIL from the DNS server");
		break;
	case ARES_EREFUSED:
		snprintf(detail, len, "REFUSED by the DNS server");
		break;
	case ARES_ETIMEOUT:
		n = timeouts > 0 ? timeouts : r->tries;
		snprintf(detail, len, "no answer after %d %s of %d ms", n,
		    n == 1 ? "try" : "tries", r->timeout_ms);
		break;
	case ARES_ECONNREFUSED:
		snprintf(detail, len, "connection to the DNS server refused");
		break;
	case ARES_EFORMERR:
		snprintf(detail, len, "FORMERR: the server rejected the query");
		break;
	case ARES_ENOTIMP:
		snprintf(detail, len, "NOTIMP from the DNS server");
		break;
	case ARES_EBADNAME:
		snprintf(detail, len, "invalid domain name");
		break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		snprintf(detail, len, "resolver freed");
		break;
	default:
		snprintf(detail, len, "c-ares: %s", ares_strerror(st));
		break;
	}
}

/*
 * Server entries.  Parsed here rather than by ares_set_servers_ports_csv
 * because 1.18's CSV parser is lenient (it accepts "1.2.3.4:x" as port 0
 * and joins entries on stray commas), and the user deserves a message
 * naming the bad entry.  The parsed list goes to ares_set_servers_ports.
 */
static int
resolver_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
resolver_parse_server(const char *s, struct resolver_server *out,
    char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *p, *port = NULL, *orig = s;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	out->port = 53;
	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen, "empty DNS server entry");
		return -1;
	}
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL)
			goto bad;
		hlen = (size_t)(p - s - 1);
		if (p[1] == ':')
			port = p + 2;
		else if (p[1] != '\0')
			goto bad;
		out->family = AF_INET6;
		s++;
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		hlen = (size_t)(p - s);
		port = p + 1;
		out->family = AF_INET;
	} else {
		/* No colon: IPv4; two or more: a bare IPv6 address. */
		hlen = strlen(s);
		out->family = p == NULL ? AF_INET : AF_INET6;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(out->family, host, out->addr) != 1)
		goto bad;
	if (port != NULL && resolver_parse_port(port, &out->port) != 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "bad DNS server \"%.64s\": expected IP, IP:PORT "
	    "or [IPv6]:PORT (port 1-65535)", orig);
	return -1;
}

/*
 * Address result combination, when the queries of both families are done:
 *   - any address at all: OK (the failing family keeps its own status in
 *     status_a / status_aaaa);
 *   - else NXDOMAIN if either family said so: the name does not exist,
 *     whatever the type (RFC 8020 §2);
 *   - else the first temporary failure (AAAA's, then A's): one family
 *     timing out while the other says NODATA proves nothing about the
 *     first, so the caller must say "could not check", never "no address";
 *   - else BADRESP if either answer was malformed (same reasoning);
 *   - else NODATA (both — or the one asked — said NODATA).
 * A family that was not asked does not take part.
 */
enum resolver_status
resolver_addr_combine(bool asked_aaaa, enum resolver_status aaaa,
    bool asked_a, enum resolver_status a, size_t naddrs)
{
	enum resolver_status st[2];
	size_t i, n = 0;

	if (naddrs > 0)
		return RESOLVER_OK;
	if (asked_aaaa)
		st[n++] = aaaa;
	if (asked_a)
		st[n++] = a;
	for (i = 0; i < n; i++)
		if (st[i] == RESOLVER_NXDOMAIN)
			return RESOLVER_NXDOMAIN;
	for (i = 0; i < n; i++)
		if (resolver_status_temporary(st[i]))
			return st[i];
	for (i = 0; i < n; i++)
		if (st[i] == RESOLVER_BADRESP)
			return RESOLVER_BADRESP;
	/* OK without an address cannot come from c-ares; NODATA it is. */
	return RESOLVER_NODATA;
}

bool
resolver_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL)
		return false;
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

int
resolver_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

socklen_t
resolver_addr_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return sizeof(struct sockaddr_in);
	}
	((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return sizeof(struct sockaddr_in6);
}

const char *
resolver_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a;

	if (buf == NULL || len == 0)
		return "";
	buf[0] = '\0';
	if (sa == NULL)
		return buf;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return buf;
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
	return buf;
}

/* xorshift64*: the RFC 5321 §5.1 shuffle needs spread, not secrecy. */
static uint32_t
resolver_rand(void *ctx)
{
	struct resolver *r = ctx;
	uint64_t x = r->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return (uint32_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 32);
}

static double
resolver_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Event plumbing.
 */
static void
resolver_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_sock *s = arg;
	struct resolver *r = s->r;

	/* s may be freed inside ares_process_fd (the socket closed). */
	ares_process_fd(r->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	/* No fd ready: ares_process_fd only expires timed-out queries
	 * (which resends them or ends them with ARES_ETIMEOUT). */
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void
resolver_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	resolver_drain(arg);
}

static void
resolver_rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	if (r->channel == NULL)
		return;
	tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(r->timer);
	else
		evtimer_add(r->timer, tvp);
}

static void
resolver_sock_free(struct resolver_sock *s)
{
	LIST_REMOVE(s, entry);
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

/* The socket fd's entry, or NULL when it has none. */
static struct resolver_sock *
resolver_sock_find(struct resolver *r, ares_socket_t fd)
{
	struct resolver_sock *s;

	LIST_FOREACH(s, &r->socks, entry)
		if (s->fd == fd)
			return s;
	return NULL;
}

/* ARES_OPT_SOCK_STATE_CB: c-ares says which sockets to watch, and how. */
static void
resolver_sock_state_cb(void *data, ares_socket_t fd, int readable,
    int writable)
{
	struct resolver *r = data;
	struct resolver_sock *s = resolver_sock_find(r, fd);
	short what;

	if (!readable && !writable) {
		if (s != NULL)
			resolver_sock_free(s);
		return;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;	/* its queries will time out via the timer */
		s->r = r;
		s->fd = fd;
		LIST_INSERT_HEAD(&r->socks, s, entry);
	} else if (s->ev != NULL) {
		if (event_get_events(s->ev) == what)
			return;
		event_free(s->ev);
		s->ev = NULL;
	}
	s->ev = event_new(r->base, fd, what, resolver_sock_cb, s);
	if (s->ev != NULL && event_add(s->ev, NULL) != 0) {
		event_free(s->ev);
		s->ev = NULL;
	}
}

/*
 * The cache (off unless cache_entries is set).  Entries are found by a
 * linear walk: a few thousand entries at most, compared with the cost of
 * one DNS round trip that is nothing.
 */
static double
resolver_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static size_t
resolver_result_size(enum resolver_kind kind)
{
	switch (kind) {
	case RESOLVER_KIND_MX:
		return sizeof(struct resolver_mx_result);
	case RESOLVER_KIND_ADDR:
		return sizeof(struct resolver_addr_result);
	case RESOLVER_KIND_TLSA:
		return sizeof(struct resolver_tlsa_result);
	case RESOLVER_KIND_TXT:
		return sizeof(struct resolver_txt_result);
	default:
		return sizeof(struct resolver_ptr_result);
	}
}

/* The array of records is each result's last member (resolver.h). */
#define RESOLVER_ARRAY_LAST(type, member)				\
	_Static_assert(sizeof(type) - offsetof(type, member) -		\
	    sizeof(((type *)0)->member) < _Alignof(type),		\
	    #member " must be the last member of " #type)
RESOLVER_ARRAY_LAST(struct resolver_mx_result, mx);
RESOLVER_ARRAY_LAST(struct resolver_addr_result, addrs);
RESOLVER_ARRAY_LAST(struct resolver_ptr_result, names);
RESOLVER_ARRAY_LAST(struct resolver_tlsa_result, tlsa);
RESOLVER_ARRAY_LAST(struct resolver_txt_result, txt);

/* The bytes of res in use: up to the last record held.  A cached answer
 * keeps only those: a domain's MX answer is sized for RESOLVER_MAX_MX
 * hosts (8 KiB) and most have one or two. */
static size_t
resolver_result_used(enum resolver_kind kind,
    const union resolver_any_result *res)
{
#define USED(type, member, n) (offsetof(type, member) +			\
	((n) < sizeof(((type *)0)->member) / sizeof(((type *)0)->member[0]) ? \
	(n) : sizeof(((type *)0)->member) / sizeof(((type *)0)->member[0])) * \
	sizeof(((type *)0)->member[0]))
	switch (kind) {
	case RESOLVER_KIND_MX:
		return USED(struct resolver_mx_result, mx, res->mx.n);
	case RESOLVER_KIND_ADDR:
		return USED(struct resolver_addr_result, addrs, res->addr.n);
	case RESOLVER_KIND_TLSA:
		return USED(struct resolver_tlsa_result, tlsa, res->tlsa.n);
	case RESOLVER_KIND_TXT:
		return USED(struct resolver_txt_result, txt, res->txt.n);
	default:
		return USED(struct resolver_ptr_result, names, res->ptr.n);
	}
#undef USED
}

static enum resolver_status
resolver_result_status(const struct resolver_query *q)
{
	switch (q->kind) {
	case RESOLVER_KIND_MX:
		return q->res->mx.status;
	case RESOLVER_KIND_ADDR:
		return q->res->addr.status;
	case RESOLVER_KIND_TLSA:
		return q->res->tlsa.status;
	case RESOLVER_KIND_TXT:
		return q->res->txt.status;
	default:
		return q->res->ptr.status;
	}
}

static void
resolver_result_mark_cached(struct resolver_query *q)
{
	switch (q->kind) {
	case RESOLVER_KIND_MX:
		q->res->mx.cached = true;
		break;
	case RESOLVER_KIND_ADDR:
		q->res->addr.cached = true;
		break;
	case RESOLVER_KIND_TLSA:
		q->res->tlsa.cached = true;
		break;
	case RESOLVER_KIND_TXT:
		q->res->txt.cached = true;
		break;
	default:
		q->res->ptr.cached = true;
		break;
	}
}

static bool
resolver_same_key(enum resolver_kind kind, int family, const char *name,
    enum resolver_kind kind2, int family2, const char *name2)
{
	return kind == kind2 && family == family2 &&
	    strcasecmp(name, name2) == 0;
}

static void
resolver_cache_drop(struct resolver *r, struct resolver_cache_entry *e)
{
	TAILQ_REMOVE(&r->cache, e, entry);
	r->cache_n--;
	free(e->res);
	free(e);
}

/* Store a leader's answer (a cancelled or failed-locally query is not
 * an answer). */
static void
resolver_cache_store(struct resolver_query *q)
{
	struct resolver *r = q->r;
	struct resolver_cache_entry *e, *next;
	enum resolver_status st = resolver_result_status(q);
	double age;

	if (st == RESOLVER_CANCELLED || st == RESOLVER_ERROR || r->freeing)
		return;
	age = resolver_status_temporary(st) ? RESOLVER_CACHE_FAIL_AGE_MS :
	    RESOLVER_CACHE_MAX_AGE_MS;
	TAILQ_FOREACH_SAFE(e, &r->cache, entry, next)
		if (resolver_same_key(e->kind, e->family, e->name, q->kind,
		    q->family, q->name))
			resolver_cache_drop(r, e);
	while (r->cache_n >= r->cache_max && !TAILQ_EMPTY(&r->cache))
		resolver_cache_drop(r, TAILQ_LAST(&r->cache, resolver_cache));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->size = resolver_result_used(q->kind, q->res);
	if ((e->res = malloc(e->size)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->res, q->res, e->size);
	e->kind = q->kind;
	e->family = q->family;
	memcpy(e->name, q->name, sizeof(e->name));
	e->expires = resolver_now_ms() + age;
	TAILQ_INSERT_HEAD(&r->cache, e, entry);
	r->cache_n++;
}

static void
resolver_cache_free(struct resolver *r)
{
	struct resolver_cache_entry *e;

	while ((e = TAILQ_FIRST(&r->cache)) != NULL)
		resolver_cache_drop(r, e);
}

static void resolver_query_done(struct resolver_query *q);

/*
 * With the cache on: answer q from the cache, or make it wait for an
 * equal query already out (true: q is taken care of), or make q a leader
 * that the caller sends (false).
 */
static bool
resolver_cache_join(struct resolver_query *q)
{
	struct resolver *r = q->r;
	struct resolver_cache_entry *e, *next;
	struct resolver_query *l;
	double now;

	if (r->cache_max == 0)
		return false;
	now = resolver_now_ms();
	TAILQ_FOREACH_SAFE(e, &r->cache, entry, next) {
		if (!resolver_same_key(e->kind, e->family, e->name, q->kind,
		    q->family, q->name))
			continue;
		if (e->expires <= now) {
			resolver_cache_drop(r, e);
			break;
		}
		memcpy(q->res, e->res, e->size);
		memset((char *)q->res + e->size, 0,
		    resolver_result_size(q->kind) - e->size);
		resolver_result_mark_cached(q);
		TAILQ_REMOVE(&r->cache, e, entry);
		TAILQ_INSERT_HEAD(&r->cache, e, entry);
		resolver_query_done(q);
		return true;
	}
	LIST_FOREACH(l, &r->inflight, inflight_entry)
		if (resolver_same_key(l->kind, l->family, l->name, q->kind,
		    q->family, q->name)) {
			TAILQ_INSERT_HEAD(&l->followers, q, entry);
			return true;
		}
	q->leader = true;
	LIST_INSERT_HEAD(&r->inflight, q, inflight_entry);
	return false;
}

/* A leader is done: store its answer and hand copies to its followers. */
static void
resolver_cache_leader_done(struct resolver_query *q)
{
	struct resolver_query *f;

	LIST_REMOVE(q, inflight_entry);
	q->leader = false;
	resolver_cache_store(q);
	while ((f = TAILQ_FIRST(&q->followers)) != NULL) {
		TAILQ_REMOVE(&q->followers, f, entry);
		memcpy(f->res, q->res, resolver_result_size(q->kind));
		resolver_result_mark_cached(f);
		resolver_query_done(f);
	}
}

/*
 * Query life cycle: resolver_query_new → ares_query → c-ares callback(s)
 * → resolver_query_done (onto the done list) → resolver_drain → user
 * callback → free.
 */
/* Set a failure of kind in res: status (for addresses, of both
 * families) and detail. */
static void
resolver_result_fail(enum resolver_kind kind, union resolver_any_result *res,
    enum resolver_status st, const char *detail)
{
	char *d;
	size_t dlen;

	switch (kind) {
	case RESOLVER_KIND_MX:
		res->mx.status = st;
		d = res->mx.detail;
		dlen = sizeof(res->mx.detail);
		break;
	case RESOLVER_KIND_ADDR:
		res->addr.status = res->addr.status_a = res->addr.status_aaaa =
		    st;
		d = res->addr.detail;
		dlen = sizeof(res->addr.detail);
		break;
	case RESOLVER_KIND_TLSA:
		res->tlsa.status = st;
		d = res->tlsa.detail;
		dlen = sizeof(res->tlsa.detail);
		break;
	case RESOLVER_KIND_TXT:
		res->txt.status = st;
		d = res->txt.detail;
		dlen = sizeof(res->txt.detail);
		break;
	default:
		res->ptr.status = st;
		d = res->ptr.detail;
		dlen = sizeof(res->ptr.detail);
		break;
	}
	snprintf(d, dlen, "%s", detail);
}

static void
resolver_call(enum resolver_kind kind, union resolver_cb cb, void *arg,
    const union resolver_any_result *res)
{
	switch (kind) {
	case RESOLVER_KIND_MX:
		cb.mx(arg, &res->mx);
		break;
	case RESOLVER_KIND_ADDR:
		cb.addr(arg, &res->addr);
		break;
	case RESOLVER_KIND_PTR:
		cb.ptr(arg, &res->ptr);
		break;
	case RESOLVER_KIND_TLSA:
		cb.tlsa(arg, &res->tlsa);
		break;
	case RESOLVER_KIND_TXT:
		cb.txt(arg, &res->txt);
		break;
	}
}

/* The one exception to "never from inside": without memory there is
 * nothing to defer the callback with. */
static void
resolver_out_of_memory(enum resolver_kind kind, union resolver_cb cb,
    void *arg)
{
	union resolver_any_result res;

	memset(&res, 0, sizeof(res));
	resolver_result_fail(kind, &res, RESOLVER_ERROR, "out of memory");
	resolver_call(kind, cb, arg, &res);
}

/* A new query; NULL when out of memory, after cb was called with that. */
static struct resolver_query *
resolver_query_new(struct resolver *r, enum resolver_kind kind,
    union resolver_cb cb, void *arg)
{
	struct resolver_query *q;

	/* The answer is sized for its kind: an MX answer is ten times an
	 * address answer, and a batch has many queries out at once. */
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->res = calloc(1, resolver_result_size(kind))) == NULL) {
		free(q);
		resolver_out_of_memory(kind, cb, arg);
		return NULL;
	}
	q->r = r;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	TAILQ_INIT(&q->followers);
	clock_gettime(CLOCK_MONOTONIC, &q->t0);
	return q;
}

static void
resolver_query_done(struct resolver_query *q)
{
	struct resolver *r = q->r;
	double ms = resolver_ms_since(&q->t0);

	if (q->leader)
		resolver_cache_leader_done(q);
	switch (q->kind) {
	case RESOLVER_KIND_MX:
		q->res->mx.elapsed_ms = ms;
		break;
	case RESOLVER_KIND_ADDR:
		q->res->addr.elapsed_ms = ms;
		break;
	case RESOLVER_KIND_PTR:
		q->res->ptr.elapsed_ms = ms;
		break;
	case RESOLVER_KIND_TLSA:
		q->res->tlsa.elapsed_ms = ms;
		break;
	case RESOLVER_KIND_TXT:
		q->res->txt.elapsed_ms = ms;
		break;
	}
	TAILQ_INSERT_TAIL(&r->done, q, entry);
	event_active(r->deliver, EV_TIMEOUT, 0);
}

static void
resolver_query_deliver(struct resolver_query *q)
{
	resolver_call(q->kind, q->cb, q->arg, q->res);
	free(q->res);
	free(q);
}

static void
resolver_destroy(struct resolver *r)
{
	struct resolver_sock *s;

	while ((s = LIST_FIRST(&r->socks)) != NULL)
		resolver_sock_free(s);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->deliver != NULL)
		event_free(r->deliver);
	resolver_cache_free(r);
	free(r);
	ares_library_cleanup();
}

/* Run the callbacks of finished queries.  A callback may free the
 * resolver: resolver_free then drains the rest itself and leaves the
 * final free to the outermost drain (free_pending). */
static void
resolver_drain(struct resolver *r)
{
	struct resolver_query *q;

	r->delivering++;
	while ((q = TAILQ_FIRST(&r->done)) != NULL) {
		TAILQ_REMOVE(&r->done, q, entry);
		resolver_query_deliver(q);
	}
	r->delivering--;
	if (r->free_pending && r->delivering == 0)
		resolver_destroy(r);
}

/* Fail a query that never reached c-ares (still delivered from the loop). */
static void
resolver_query_fail(struct resolver_query *q, enum resolver_status st,
    const char *detail)
{
	resolver_result_fail(q->kind, q->res, st, detail);
	resolver_query_done(q);
}

/* Common checks of resolver_query_*; false when q was failed. */
static bool
resolver_query_start(struct resolver_query *q, const char *name)
{
	if (q->r->freeing) {
		resolver_query_fail(q, RESOLVER_CANCELLED, "resolver freed");
		return false;
	}
	if (name == NULL || name[0] == '\0' ||
	    strlen(name) >= sizeof(q->name)) {
		resolver_query_fail(q, RESOLVER_ERROR, "invalid domain name");
		return false;
	}
	memcpy(q->name, name, strlen(name) + 1);
	return true;
}

/* Send a query of one record type for name, unless it was failed or the
 * cache takes care of it. */
static void
resolver_query_send(struct resolver_query *q, const char *name, int type,
    ares_callback cb)
{
	if (!resolver_query_start(q, name) || resolver_cache_join(q))
		return;
	q->outstanding = 1;
	/* ares_query, not ares_search: the name is final, no search list
	 * (RFC 1536 §6 on the dangers of partial names). */
	ares_query(q->r->channel, q->name, ns_c_in, type, cb, q);
	resolver_rearm(q->r);
}

/*
 * MX.
 */
static void
resolver_mx_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct resolver_query *q = arg;
	struct resolver_mx_result *res = &q->res->mx;
	struct ares_mx_reply *mx = NULL, *m;
	struct resolver_mx_in *in;
	size_t n, i;

	/* The CNAME is worth reporting even when the alias leads nowhere
	 * (NXDOMAIN / NODATA answers still carry the chain). */
	if (abuf != NULL && alen > 0 && (status == ARES_SUCCESS ||
	    status == ARES_ENODATA || status == ARES_ENOTFOUND))
		res->cname_loop = resolver_find_cname(abuf, (size_t)alen,
		    q->name, res->cname, sizeof(res->cname)) == 2;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status != ARES_SUCCESS) {
		resolver_describe(q->r, status, timeouts, &res->status,
		    res->detail, sizeof(res->detail));
		goto out;
	}
	/* The count is bounded by the packet (one MX RR is >= 13 octets). */
	for (n = 0, m = mx; m != NULL; m = m->next)
		n++;
	if ((in = calloc(n, sizeof(*in))) == NULL) {
		res->status = RESOLVER_ERROR;
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		goto out;
	}
	for (i = 0, m = mx; m != NULL; m = m->next, i++) {
		in[i].pref = m->priority;
		in[i].host = m->host;
	}
	resolver_mx_fill(res, in, n, resolver_rand, q->r);
	free(in);
	res->status = RESOLVER_OK;
out:
	if (mx != NULL)
		ares_free_data(mx);
	resolver_query_done(q);
}

void
resolver_query_mx(struct resolver *r, const char *domain, resolver_mx_cb cb,
    void *arg)
{
	struct resolver_query *q;

	if (r == NULL || cb == NULL)
		return;
	if ((q = resolver_query_new(r, RESOLVER_KIND_MX,
	    (union resolver_cb){ .mx = cb }, arg)) == NULL)
		return;
	resolver_query_send(q, domain, ns_t_mx, resolver_mx_ares_cb);
}

/*
 * A and AAAA.
 */
static void
resolver_addr_finish(struct resolver_query *q)
{
	struct resolver_addr_result *res = &q->res->addr;
	struct resolver_part *p;
	size_t i, k, dl;

	res->n = 0;
	res->truncated = 0;
	res->detail[0] = '\0';
	for (k = 0; k < 2; k++) {
		p = &q->part[k];
		if (!p->asked)
			continue;
		for (i = 0; i < p->n; i++) {
			if (res->n < RESOLVER_MAX_ADDRS)
				res->addrs[res->n++] = p->addrs[i];
			else
				res->truncated++;
		}
		res->truncated += p->more;
		if (res->cname[0] == '\0')
			memcpy(res->cname, p->cname, sizeof(res->cname));
		res->cname_loop = res->cname_loop || p->cname_loop;
		if (p->status != RESOLVER_OK) {
			dl = strlen(res->detail);
			snprintf(res->detail + dl, sizeof(res->detail) - dl,
			    "%s%s: %s", dl > 0 ? "; " : "",
			    k == PART_AAAA ? "AAAA" : "A", p->detail);
		}
	}
	res->status_aaaa = q->part[PART_AAAA].status;
	res->status_a = q->part[PART_A].status;
	res->status = resolver_addr_combine(q->part[PART_AAAA].asked,
	    res->status_aaaa, q->part[PART_A].asked, res->status_a, res->n);
	resolver_query_done(q);
}

static void
resolver_addr_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct resolver_part *p = arg;
	struct resolver_query *q = p->q;
	struct hostent *he = NULL;
	char loop_at[RESOLVER_NAME_MAX];
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t i, want;

	if (status == ARES_SUCCESS) {
		if (p->family == AF_INET)
			status = ares_parse_a_reply(abuf, alen, &he, NULL, NULL);
		else
			status = ares_parse_aaaa_reply(abuf, alen, &he, NULL,
			    NULL);
	}
	if (status == ARES_SUCCESS && he != NULL) {
		want = p->family == AF_INET ? sizeof(struct in_addr) :
		    sizeof(struct in6_addr);
		for (i = 0; he->h_addr_list != NULL &&
		    he->h_addr_list[i] != NULL; i++) {
			if (he->h_addrtype != p->family ||
			    (size_t)he->h_length != want)
				break;
			if (p->n == RESOLVER_MAX_ADDRS) {
				p->more++;
				continue;
			}
			if (p->family == AF_INET) {
				sin = (struct sockaddr_in *)(void *)
				    &p->addrs[p->n];
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, he->h_addr_list[i], want);
			} else {
				sin6 = (struct sockaddr_in6 *)(void *)
				    &p->addrs[p->n];
				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, he->h_addr_list[i],
				    want);
			}
			p->n++;
		}
		/* The parsers follow the CNAME chain in the answer and name
		 * the hostent after its end. */
		if (he->h_name != NULL && !resolver_name_eq(he->h_name, q->name))
			(void)resolver_name_copy(p->cname, sizeof(p->cname),
			    he->h_name);
		ares_free_hostent(he);
		if (p->n + p->more > 0)
			p->status = RESOLVER_OK;
		else {
			p->status = RESOLVER_NODATA;
			snprintf(p->detail, sizeof(p->detail),
			    "no usable address");
			/* A chain of aliases that loops ends nowhere. */
			if (resolver_find_cname(abuf, (size_t)alen, q->name,
			    loop_at, sizeof(loop_at)) == 2) {
				p->cname_loop = true;
				memcpy(p->cname, loop_at, sizeof(p->cname));
			}
		}
	} else {
		if (he != NULL)
			ares_free_hostent(he);
		if (abuf != NULL && alen > 0 && (status == ARES_ENODATA ||
		    status == ARES_ENOTFOUND))
			p->cname_loop = resolver_find_cname(abuf,
			    (size_t)alen, q->name, p->cname,
			    sizeof(p->cname)) == 2;
		resolver_describe(q->r, status, timeouts, &p->status,
		    p->detail, sizeof(p->detail));
	}
	if (--q->outstanding == 0)
		resolver_addr_finish(q);
}

void
resolver_query_addrs(struct resolver *r, const char *host, int family,
    resolver_addr_cb cb, void *arg)
{
	struct resolver_query *q;
	int k;

	if (r == NULL || cb == NULL)
		return;
	if ((q = resolver_query_new(r, RESOLVER_KIND_ADDR,
	    (union resolver_cb){ .addr = cb }, arg)) == NULL)
		return;
	if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC) {
		resolver_query_fail(q, RESOLVER_ERROR, "bad address family");
		return;
	}
	q->family = family;
	if (!resolver_query_start(q, host) || resolver_cache_join(q))
		return;
	q->part[PART_AAAA].family = AF_INET6;
	q->part[PART_A].family = AF_INET;
	for (k = 0; k < 2; k++) {
		q->part[k].q = q;
		/* A family not asked reports NODATA in status_a/_aaaa. */
		q->part[k].status = RESOLVER_NODATA;
		q->part[k].asked = family == AF_UNSPEC ||
		    family == q->part[k].family;
		if (q->part[k].asked)
			q->outstanding++;
	}
	/* Count first, then send: a synchronous failure of the first query
	 * must not finish the whole lookup before the second is sent. */
	for (k = 0; k < 2; k++)
		if (q->part[k].asked)
			ares_query(r->channel, q->name, ns_c_in,
			    q->part[k].family == AF_INET ? ns_t_a : ns_t_aaaa,
			    resolver_addr_ares_cb, &q->part[k]);
	resolver_rearm(r);
}

/*
 * PTR.
 */
static void
resolver_ptr_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct resolver_query *q = arg;
	struct resolver_ptr_result *res = &q->res->ptr;
	struct hostent *he = NULL;
	char name[RESOLVER_NAME_MAX];
	const char *cand;
	size_t i, j;
	int k;

	if (status == ARES_SUCCESS)
		status = ares_parse_ptr_reply(abuf, alen, q->ptr_addr,
		    q->ptr_addrlen, q->ptr_family, &he);
	if (status != ARES_SUCCESS || he == NULL) {
		if (status == ARES_SUCCESS)
			status = ARES_ENODATA;
		resolver_describe(q->r, status, timeouts, &res->status,
		    res->detail, sizeof(res->detail));
		goto out;
	}
	/* 1.18 gives one PTR in h_name and the PTRs again (or the others)
	 * in h_aliases: collect all, once each. */
	for (k = -1; ; k++) {
		if (k < 0)
			cand = he->h_name;
		else if (he->h_aliases == NULL ||
		    (cand = he->h_aliases[k]) == NULL)
			break;
		if (cand == NULL)
			continue;
		if (!resolver_name_copy(name, sizeof(name), cand)) {
			res->truncated++;	/* does not fit */
			continue;
		}
		if (name[0] == '\0')
			continue;
		for (j = 0; j < res->n; j++)
			if (resolver_name_eq(res->names[j], name))
				break;
		if (j < res->n)
			continue;
		if (res->n == RESOLVER_MAX_PTR) {
			res->truncated++;
			continue;
		}
		memcpy(res->names[res->n++], name, sizeof(name));
	}
	i = res->n;
	res->status = i > 0 ? RESOLVER_OK : RESOLVER_NODATA;
	if (i == 0)
		snprintf(res->detail, sizeof(res->detail), "no usable name");
out:
	if (he != NULL)
		ares_free_hostent(he);
	resolver_query_done(q);
}

void
resolver_query_ptr(struct resolver *r, const struct sockaddr *sa,
    resolver_ptr_cb cb, void *arg)
{
	struct resolver_query *q;
	char name[RESOLVER_NAME_MAX];
	const struct in6_addr *a6;

	if (r == NULL || cb == NULL)
		return;
	if ((q = resolver_query_new(r, RESOLVER_KIND_PTR,
	    (union resolver_cb){ .ptr = cb }, arg)) == NULL)
		return;
	if (resolver_ptr_name(sa, name, sizeof(name)) != 0) {
		resolver_query_fail(q, RESOLVER_ERROR, "not an IP address");
		return;
	}
	if (sa->sa_family == AF_INET) {
		q->ptr_family = AF_INET;
		q->ptr_addrlen = 4;
		memcpy(q->ptr_addr,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else {
		a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			q->ptr_family = AF_INET;
			q->ptr_addrlen = 4;
			memcpy(q->ptr_addr, a6->s6_addr + 12, 4);
		} else {
			q->ptr_family = AF_INET6;
			q->ptr_addrlen = 16;
			memcpy(q->ptr_addr, a6->s6_addr, 16);
		}
	}
	resolver_query_send(q, name, ns_t_ptr, resolver_ptr_ares_cb);
}

/*
 * TLSA and TXT: queries built here and sent with ares_send, so that the
 * TLSA query carries EDNS0 with the DNSSEC OK bit, which c-ares 1.18's
 * ares_query cannot set; the answers are read by wire.c.
 */
#define DNS_T_TLSA	52	/* RFC 6698 §7.1 */
#define EDNS_UDP_SIZE	1232	/* the DNS Flag Day 2020 size */

/* rcode (RFC 1035 §4.1.1) and count of records to resolver status, as
 * c-ares' ares_query does for its own queries. */
static int
resolver_rcode_status(int rcode, int nrecords)
{
	switch (rcode) {
	case 0:
		return nrecords > 0 ? ARES_SUCCESS : ARES_ENODATA;
	case 1:
		return ARES_EFORMERR;
	case 2:
		return ARES_ESERVFAIL;
	case 3:
		return ARES_ENOTFOUND;
	case 4:
		return ARES_ENOTIMP;
	case 5:
		return ARES_EREFUSED;
	default:
		return ARES_EBADRESP;
	}
}

/* Build and send a query of type for q->name; dnssec: EDNS0 with DO
 * (RFC 3225 §3) and AD (RFC 6840 §5.7) set. */
static void
resolver_send_raw(struct resolver_query *q, const char *name, int type,
    bool dnssec, ares_callback cb)
{
	unsigned char *qbuf = NULL;
	unsigned short id;
	int qlen = 0;

	if (!resolver_query_start(q, name) || resolver_cache_join(q))
		return;
	/* c-ares 1.18's ares_send keeps the query's ID as given: it must
	 * be unpredictable (RFC 5452 §9.2), as ares_query's own are. */
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (unsigned short)resolver_rand(q->r);
	if (ares_create_query(q->name, ns_c_in, type, id, 1, &qbuf, &qlen,
	    dnssec ? EDNS_UDP_SIZE : 0) != ARES_SUCCESS || qlen < 12 + 11) {
		if (qbuf != NULL)
			ares_free_string(qbuf);
		resolver_query_fail(q, RESOLVER_ERROR, "cannot build the query");
		return;
	}
	if (dnssec) {
		qbuf[3] |= 0x20;		/* AD */
		qbuf[qlen - 4] |= 0x80;		/* DO: the OPT record is last */
	}
	q->outstanding = 1;
	ares_send(q->r->channel, qbuf, qlen, cb, q);
	ares_free_string(qbuf);
	resolver_rearm(q->r);
}

/* The answer of a raw query: its status in *st (a c-ares status), the
 * number of records of type handed to fn, the AD bit. */
static int
resolver_raw_answer(struct resolver_query *q, int status,
    const unsigned char *abuf, int alen, unsigned type, resolver_rdata_fn fn,
    void *arg, bool *ad)
{
	int rcode, n;

	*ad = false;
	if (status != ARES_SUCCESS)
		return status;
	if ((rcode = resolver_wire_header(abuf, (size_t)alen, ad)) < 0 ||
	    (n = resolver_wire_answers(abuf, (size_t)alen, q->name, type, fn,
	    arg)) < 0)
		return ARES_EBADRESP;
	return resolver_rcode_status(rcode, n);
}

/* The status of a raw query's result: OK, or the failure described. */
static void
resolver_raw_status(struct resolver_query *q, int status, int timeouts,
    enum resolver_status *st, char *detail, size_t len)
{
	if (status != ARES_SUCCESS)
		resolver_describe(q->r, status, timeouts, st, detail, len);
	else
		*st = RESOLVER_OK;
}

/* A raw query of type for name, answered through acb. */
static void
resolver_start_raw(struct resolver *r, enum resolver_kind kind,
    union resolver_cb cb, void *arg, const char *name, int type,
    bool dnssec, ares_callback acb)
{
	struct resolver_query *q;

	if (r == NULL)
		return;
	if ((q = resolver_query_new(r, kind, cb, arg)) == NULL)
		return;
	resolver_send_raw(q, name, type, dnssec, acb);
}

/* RFC 6698 §2.1: usage, selector, matching type, data. */
static void
resolver_tlsa_rr(const unsigned char *rd, size_t len, void *arg)
{
	struct resolver_tlsa_result *res = arg;
	struct resolver_tlsa *t;

	if (len < 4) {
		res->malformed++;
		return;
	}
	if (res->n == RESOLVER_MAX_TLSA || len - 3 > RESOLVER_TLSA_DATA_MAX) {
		res->truncated++;
		return;
	}
	t = &res->tlsa[res->n++];
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	t->len = (uint16_t)(len - 3);
	memcpy(t->data, rd + 3, len - 3);
}

static void
resolver_tlsa_ares_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct resolver_query *q = arg;
	struct resolver_tlsa_result *res = &q->res->tlsa;

	status = resolver_raw_answer(q, status, abuf, alen, DNS_T_TLSA,
	    resolver_tlsa_rr, res, &res->authenticated);
	if (status == ARES_SUCCESS && res->n == 0)
		status = ARES_ENODATA;	/* only malformed or oversized */
	resolver_raw_status(q, status, timeouts, &res->status, res->detail,
	    sizeof(res->detail));
	resolver_query_done(q);
}

void
resolver_query_tlsa(struct resolver *r, const char *name,
    resolver_tlsa_cb cb, void *arg)
{
	if (cb != NULL)
		resolver_start_raw(r, RESOLVER_KIND_TLSA,
		    (union resolver_cb){ .tlsa = cb }, arg, name, DNS_T_TLSA,
		    true, resolver_tlsa_ares_cb);
}

/* RFC 1035 §3.3.14: one or more character-strings, joined. */
static void
resolver_txt_rr(const unsigned char *rd, size_t len, void *arg)
{
	struct resolver_txt_result *res = arg;
	size_t off = 0, o = 0, slen, n;
	char *out;
	bool cut = false;

	if (res->n == RESOLVER_MAX_TXT) {
		res->truncated++;
		return;
	}
	out = res->txt[res->n];
	while (off < len) {
		slen = rd[off++];
		if (slen > len - off)
			slen = len - off;	/* past RDATA: keep what is there */
		n = slen;
		if (n > RESOLVER_TXT_MAX - o) {
			n = RESOLVER_TXT_MAX - o;
			cut = true;
		}
		memcpy(out + o, rd + off, n);
		o += n;
		off += slen;
	}
	out[o] = '\0';
	res->len[res->n++] = o;
	if (cut)
		res->truncated++;
}

static void
resolver_txt_ares_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct resolver_query *q = arg;
	struct resolver_txt_result *res = &q->res->txt;
	bool ad;

	status = resolver_raw_answer(q, status, abuf, alen, ns_t_txt,
	    resolver_txt_rr, res, &ad);
	resolver_raw_status(q, status, timeouts, &res->status, res->detail,
	    sizeof(res->detail));
	resolver_query_done(q);
}

void
resolver_query_txt(struct resolver *r, const char *name, resolver_txt_cb cb,
    void *arg)
{
	if (cb != NULL)
		resolver_start_raw(r, RESOLVER_KIND_TXT,
		    (union resolver_cb){ .txt = cb }, arg, name, ns_t_txt,
		    false, resolver_txt_ares_cb);
}

/*
 * Creation and destruction.
 */
/* The configuration checked: timeout and tries (0: the default) and the
 * server list parsed into srv.  0, or -1 with a message in err. */
static int
resolver_check_config(const struct resolver_config *cfg, int *timeout_ms,
    int *tries, struct resolver_server *srv, size_t *nsrv, char *err,
    size_t errlen)
{
	size_t i;

	*timeout_ms = cfg != NULL ? cfg->timeout_ms : 0;
	*tries = cfg != NULL ? cfg->tries : 0;
	*nsrv = 0;
	if (*timeout_ms == 0)
		*timeout_ms = RESOLVER_DEFAULT_TIMEOUT_MS;
	if (*tries == 0)
		*tries = RESOLVER_DEFAULT_TRIES;
	if (*timeout_ms < 0 || *timeout_ms > RESOLVER_MAX_TIMEOUT_MS) {
		snprintf(err, errlen, "DNS timeout must be 1-%d ms",
		    RESOLVER_MAX_TIMEOUT_MS);
		return -1;
	}
	if (*tries < 0 || *tries > RESOLVER_MAX_TRIES) {
		snprintf(err, errlen, "DNS tries must be 1-%d",
		    RESOLVER_MAX_TRIES);
		return -1;
	}
	if (cfg == NULL)
		return 0;
	if (cfg->nservers > RESOLVER_MAX_SERVERS) {
		snprintf(err, errlen, "at most %d DNS servers",
		    RESOLVER_MAX_SERVERS);
		return -1;
	}
	for (i = 0; i < cfg->nservers; i++)
		if (resolver_parse_server(cfg->servers[i], &srv[i], err,
		    errlen) != 0)
			return -1;
	*nsrv = cfg->nservers;
	return 0;
}

/* The c-ares channel of r, driven by r's events.  0, or -1 with a
 * message in err. */
static int
resolver_open_channel(struct resolver *r, char *err, size_t errlen)
{
	struct ares_options opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	/*
	 * NOCHECKRESP: c-ares 1.18 otherwise swallows SERVFAIL / REFUSED /
	 * NOTIMP answers, moves to the next server and, when none is left,
	 * ends the query with the ARES_ECONNREFUSED it started with — a
	 * diagnostic tool must say "SERVFAIL", not "connection refused".
	 * The price: no fail-over to a second server on those rcodes.
	 * NOSEARCH: belt and braces; ares_query never searches anyway.
	 * No EDNS: 1.18 does not retry without it when an old server or
	 * middlebox answers FORMERR; truncation falls back to TCP instead.
	 */
	opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
	opts.timeout = r->timeout_ms;
	opts.tries = r->tries;
	opts.sock_state_cb = resolver_sock_state_cb;
	opts.sock_state_cb_data = r;
	rc = ares_init_options(&r->channel, &opts, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares channel: %s", ares_strerror(rc));
		r->channel = NULL;
		return -1;
	}
	return 0;
}

/* The --dns-server list instead of resolv.conf's.  0, or -1 with a
 * message in err. */
static int
resolver_set_servers(struct resolver *r, const struct resolver_server *srv,
    size_t nsrv, char *err, size_t errlen)
{
	struct ares_addr_port_node nodes[RESOLVER_MAX_SERVERS];
	size_t i;
	int rc;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < nsrv; i++) {
		nodes[i].next = i + 1 < nsrv ? &nodes[i + 1] : NULL;
		nodes[i].family = srv[i].family;
		if (srv[i].family == AF_INET)
			memcpy(&nodes[i].addr.addr4, srv[i].addr, 4);
		else
			memcpy(&nodes[i].addr.addr6, srv[i].addr, 16);
		nodes[i].udp_port = nodes[i].tcp_port = srv[i].port;
	}
	if ((rc = ares_set_servers_ports(r->channel, nodes)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares servers: %s", ares_strerror(rc));
		return -1;
	}
	return 0;
}

struct resolver *
resolver_new(struct event_base *base, const struct resolver_config *cfg,
    char *err, size_t errlen)
{
	struct resolver_server srv[RESOLVER_MAX_SERVERS];
	struct resolver *r;
	uint64_t seed = 0;
	size_t nsrv;
	int rc, timeout_ms, tries;
	char dummy[1];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (base == NULL) {
		snprintf(err, errlen, "resolver: no event base");
		return NULL;
	}
	if (resolver_check_config(cfg, &timeout_ms, &tries, srv, &nsrv, err,
	    errlen) != 0)
		return NULL;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares init: %s", ares_strerror(rc));
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		ares_library_cleanup();
		return NULL;
	}
	r->base = base;
	LIST_INIT(&r->socks);
	TAILQ_INIT(&r->done);
	TAILQ_INIT(&r->cache);
	LIST_INIT(&r->inflight);
	r->cache_max = cfg != NULL ? cfg->cache_entries : 0;
	if (r->cache_max > RESOLVER_CACHE_MAX)
		r->cache_max = RESOLVER_CACHE_MAX;
	r->timeout_ms = timeout_ms;
	r->tries = tries;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
	r->rng = seed != 0 ? seed : UINT64_C(0x9E3779B97F4A7C15);

	r->timer = evtimer_new(base, resolver_timer_cb, r);
	r->deliver = event_new(base, -1, 0, resolver_deliver_cb, r);
	if (r->timer == NULL || r->deliver == NULL) {
		snprintf(err, errlen, "libevent: cannot create events");
		resolver_destroy(r);
		return NULL;
	}
	if (resolver_open_channel(r, err, errlen) != 0) {
		resolver_destroy(r);
		return NULL;
	}
	if (nsrv > 0 && resolver_set_servers(r, srv, nsrv, err, errlen) != 0) {
		ares_destroy(r->channel);
		r->channel = NULL;
		resolver_destroy(r);
		return NULL;
	}
	return r;
}

void
resolver_free(struct resolver *r)
{
	ares_channel ch;

	if (r == NULL || r->freeing)
		return;
	r->freeing = true;
	/* ares_destroy ends every pending query with ARES_EDESTRUCTION
	 * (→ RESOLVER_CANCELLED, queued) and closes its sockets through
	 * the sock-state callback.  The channel pointer is cleared first so
	 * that resolver_rearm does not touch it meanwhile. */
	ch = r->channel;
	r->channel = NULL;
	if (ch != NULL)
		ares_destroy(ch);
	evtimer_del(r->timer);
	/* Callbacks run before we return, as the header promises. */
	resolver_drain(r);
	if (r->delivering > 0)
		r->free_pending = true;	/* inside a callback: the outer
					 * drain frees once it unwinds */
	else
		resolver_destroy(r);
}
