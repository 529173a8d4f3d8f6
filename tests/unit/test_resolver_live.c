/*
 * test_resolver_live.c — end-to-end test of the resolver against an
 * in-process DNS responder: a UDP socket on 127.0.0.1 (port chosen by the
 * kernel) served by the same event_base, answering canned wire-format
 * replies by query name.  Checks c-ares 1.18's status conversions as seen
 * through the resolver (NXDOMAIN, SERVFAIL, REFUSED, NODATA, timeout,
 * connection refused), MX ordering and null MX, CNAME reporting, A+AAAA
 * combination and ordering, PTR, caps, deferred callbacks,
 * cancellation and the cache.  Loopback traffic only; no external process.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "resolver.h"

#define T_A	1
#define T_CNAME	5
#define T_PTR	12
#define T_MX	15
#define T_AAAA	28

/*
 * The responder.
 */
struct pkt {
	unsigned char	b[2048];
	size_t		n;
	unsigned	an;
};

struct responder {
	int		 fd;
	struct event	*ev;
	int		 lfd;		/* TCP listener on the same port */
	struct event	*lev;
	int		 port;
	int		 queries;
	int		 tcp_queries;
};

struct tcpconn {
	struct responder	*rs;
	int			 fd;
	struct event		*ev;
};

static void
put16(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)(v >> 8);
	p->b[p->n++] = (unsigned char)v;
}

static void
put_name(struct pkt *p, const char *name)
{
	const char *dot;
	size_t len;

	if (strcmp(name, ".") == 0)
		name = "";
	while (*name != '\0') {
		dot = strchr(name, '.');
		len = dot != NULL ? (size_t)(dot - name) : strlen(name);
		p->b[p->n++] = (unsigned char)len;
		memcpy(p->b + p->n, name, len);
		p->n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	p->b[p->n++] = 0;
}

/* Start an RR (owner NULL: a pointer to the question name); returns the
 * offset of RDLENGTH for rr_end. */
static size_t
rr_begin(struct pkt *p, const char *owner, unsigned type)
{
	size_t off;

	if (owner == NULL)
		put16(p, 0xc00c);
	else
		put_name(p, owner);
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	off = p->n;
	put16(p, 0);
	p->an++;
	return off;
}

static void
rr_end(struct pkt *p, size_t off)
{
	size_t len = p->n - off - 2;

	p->b[off] = (unsigned char)(len >> 8);
	p->b[off + 1] = (unsigned char)len;
}

static void
add_mx(struct pkt *p, const char *owner, unsigned pref, const char *host)
{
	size_t off = rr_begin(p, owner, T_MX);

	put16(p, pref);
	put_name(p, host);
	rr_end(p, off);
}

static void
add_name_rr(struct pkt *p, const char *owner, unsigned type, const char *t)
{
	size_t off = rr_begin(p, owner, type);

	put_name(p, t);
	rr_end(p, off);
}

static void
add_a(struct pkt *p, const char *owner, const char *ip)
{
	size_t off = rr_begin(p, owner, T_A);

	inet_pton(AF_INET, ip, p->b + p->n);
	p->n += 4;
	rr_end(p, off);
}

static void
add_aaaa(struct pkt *p, const char *owner, const char *ip)
{
	size_t off = rr_begin(p, owner, T_AAAA);

	inet_pton(AF_INET6, ip, p->b + p->n);
	p->n += 16;
	rr_end(p, off);
}

/* The canned zone.  Returns the rcode, -1 for "stay silent". */
static int
answer(struct pkt *p, const char *q, unsigned type, bool tcp)
{
	char ip[32];
	int i;

	if (strcmp(q, "silent.test") == 0)
		return -1;
	if (strcmp(q, "nx.test") == 0 || strcmp(q, "nx.ptr.test") == 0)
		return 3;
	if (strcmp(q, "servfail.test") == 0)
		return 2;
	if (strcmp(q, "refused.test") == 0)
		return 5;
	if (strcmp(q, "formerr.test") == 0)
		return 1;
	if (strcmp(q, "nodata.test") == 0)
		return 0;
	if (strcmp(q, "mx.test") == 0 && type == T_MX) {
		add_mx(p, NULL, 10, "a.mx.test.");
		add_mx(p, NULL, 20, "b.mx.test");
		add_mx(p, NULL, 10, "c.mx.test");
		add_mx(p, NULL, 5, "e.mx.test");
		add_mx(p, NULL, 10, "d.mx.test");
	} else if (strcmp(q, "nullmx.test") == 0 && type == T_MX) {
		add_mx(p, NULL, 0, ".");
	} else if (strcmp(q, "mixed.test") == 0 && type == T_MX) {
		add_mx(p, NULL, 10, "mx.mixed.test");
		add_mx(p, NULL, 0, ".");
	} else if (strcmp(q, "malias.test") == 0) {
		add_name_rr(p, NULL, T_CNAME, "mx.test");
		if (type == T_MX)
			add_mx(p, "mx.test", 10, "a.mx.test");
	} else if (strcmp(q, "dangling.test") == 0) {
		/* An alias to a name that does not exist. */
		add_name_rr(p, NULL, T_CNAME, "gone.test");
		return 3;
	} else if (strcmp(q, "host.test") == 0) {
		if (type == T_A) {
			add_a(p, NULL, "192.0.2.1");
			add_a(p, NULL, "192.0.2.2");
		} else if (type == T_AAAA)
			add_aaaa(p, NULL, "2001:db8::1");
	} else if (strcmp(q, "alias.test") == 0) {
		add_name_rr(p, NULL, T_CNAME, "host.test");
		if (type == T_A)
			add_a(p, "host.test", "192.0.2.1");
	} else if (strcmp(q, "v6only.test") == 0) {
		if (type == T_AAAA)
			add_aaaa(p, NULL, "2001:db8::6");
	} else if (strcmp(q, "halfbroken.test") == 0) {
		/* A fails temporarily, AAAA is NODATA: not "no address". */
		if (type == T_A)
			return 2;
	} else if (strcmp(q, "halfok.test") == 0) {
		if (type == T_A)
			add_a(p, NULL, "192.0.2.9");
		else
			return 2;
	} else if (strcmp(q, "many.test") == 0 && type == T_A) {
		for (i = 0; i < RESOLVER_MAX_ADDRS + 4; i++) {
			snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
			add_a(p, NULL, ip);
		}
	} else if (strcmp(q, "big.test") == 0 && type == T_MX) {
		/* Over 512 octets: truncated over UDP, whole over TCP. */
		if (!tcp) {
			p->b[2] |= 0x02;	/* TC */
			return 0;
		}
		for (i = 0; i < RESOLVER_MAX_MX + 8; i++) {
			snprintf(ip, sizeof(ip), "mx%d.big.test", i);
			add_mx(p, NULL, (unsigned)(i % 4) * 10, ip);
		}
	} else if (strcmp(q, "bad.test") == 0) {
		/* ANCOUNT 1 and an RR cut in the middle. */
		put16(p, 0xc00c);
		put16(p, type);
		p->an++;
	} else if (strcmp(q, "1.2.0.192.in-addr.arpa") == 0 && type == T_PTR) {
		add_name_rr(p, NULL, T_PTR, "host.test.");
		add_name_rr(p, NULL, T_PTR, "other.test");
	} else if (strcmp(q, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "8.b.d.0.1.0.0.2.ip6.arpa") == 0 && type == T_PTR) {
		add_name_rr(p, NULL, T_PTR, "host6.test");
	} else if (strcmp(q, "99.2.0.192.in-addr.arpa") == 0) {
		return 3;
	}
	return 0;
}

/* Build the reply to query q into p; false to stay silent. */
static bool
build_reply(const unsigned char *q, size_t n, struct pkt *p, bool tcp)
{
	char name[256];
	size_t off, o, qend, i;
	unsigned type, len;
	int rcode;

	if (n < 12)
		return false;
	/* The question: uncompressed labels, lower-cased for matching. */
	off = 12;
	o = 0;
	while (off < n && (len = q[off]) != 0) {
		if (len > 63 || off + 1 + len >= n || o + len + 1 >= sizeof(name))
			return false;
		if (o > 0)
			name[o++] = '.';
		for (i = 0; i < len; i++) {
			char c = (char)q[off + 1 + i];

			name[o++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
		}
		off += 1 + len;
	}
	name[o] = '\0';
	qend = off + 5;
	if (qend > n)
		return false;
	type = ((unsigned)q[off + 1] << 8) | q[off + 2];

	memset(p, 0, sizeof(*p));
	memcpy(p->b, q, qend);	/* header, question */
	p->n = qend;
	p->b[2] = 0x80 | (q[2] & 0x01);		/* QR, RD copied */
	rcode = answer(p, name, type, tcp);
	if (rcode < 0)
		return false;
	p->b[3] = (unsigned char)(0x80 | rcode);	/* RA, RCODE */
	p->b[4] = 0;
	p->b[5] = 1;
	p->b[6] = (unsigned char)(p->an >> 8);
	p->b[7] = (unsigned char)p->an;
	p->b[8] = p->b[9] = p->b[10] = p->b[11] = 0;
	return true;
}

static void
responder_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *rs = arg;
	unsigned char q[512];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	struct pkt p;
	ssize_t n;

	(void)what;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
	if (n <= 0)
		return;
	rs->queries++;
	if (build_reply(q, (size_t)n, &p, false))
		(void)sendto(fd, p.b, p.n, 0, (struct sockaddr *)&from,
		    fromlen);
}

/* DNS over TCP (RFC 1035 §4.2.2): a 2-octet length, then the message.
 * c-ares writes both at once, so one read per query suffices here. */
static void
tcpconn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcpconn *c = arg;
	unsigned char q[514], out[2 + sizeof(((struct pkt *)0)->b)];
	struct pkt p;
	ssize_t n;
	size_t qlen;

	(void)what;
	n = recv(fd, q, sizeof(q), 0);
	if (n <= 0) {
		event_free(c->ev);
		close(c->fd);
		free(c);
		return;
	}
	if (n < 2 || (qlen = ((size_t)q[0] << 8 | q[1])) != (size_t)n - 2)
		return;
	c->rs->tcp_queries++;
	if (!build_reply(q + 2, qlen, &p, true))
		return;
	out[0] = (unsigned char)(p.n >> 8);
	out[1] = (unsigned char)p.n;
	memcpy(out + 2, p.b, p.n);
	(void)send(fd, out, p.n + 2, 0);
}

static void
listener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *rs = arg;
	struct tcpconn *c;
	int cfd;

	(void)what;
	if ((cfd = accept(fd, NULL, NULL)) < 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(cfd);
		return;
	}
	c->rs = rs;
	c->fd = cfd;
	evutil_make_socket_nonblocking(cfd);
	c->ev = event_new(event_get_base(rs->lev), cfd, EV_READ | EV_PERSIST,
	    tcpconn_cb, c);
	event_add(c->ev, NULL);
}

/* A UDP socket and a TCP listener on the same free loopback port.  The
 * kernel picks the UDP port; another test running at the same time may
 * hold that port number over TCP, so try again with a new one. */
static int
bind_pair(struct responder *rs)
{
	struct sockaddr_in sin;
	socklen_t sl;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		sl = sizeof(sin);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((rs->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
			return -1;
		if (bind(rs->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    getsockname(rs->fd, (struct sockaddr *)&sin, &sl) != 0) {
			close(rs->fd);
			return -1;
		}
		if ((rs->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
			close(rs->fd);
			return -1;
		}
		if (bind(rs->lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(rs->lfd, 8) == 0) {
			rs->port = ntohs(sin.sin_port);
			return 0;
		}
		close(rs->lfd);
		close(rs->fd);
	}
	return -1;
}

static int
responder_start(struct responder *rs, struct event_base *base)
{
	memset(rs, 0, sizeof(*rs));
	if (bind_pair(rs) != 0)
		return -1;
	evutil_make_socket_nonblocking(rs->fd);
	rs->ev = event_new(base, rs->fd, EV_READ | EV_PERSIST, responder_cb, rs);
	if (rs->ev == NULL || event_add(rs->ev, NULL) != 0)
		return -1;
	evutil_make_socket_nonblocking(rs->lfd);
	rs->lev = event_new(base, rs->lfd, EV_READ | EV_PERSIST, listener_cb,
	    rs);
	return rs->lev != NULL && event_add(rs->lev, NULL) == 0 ? 0 : -1;
}

/* A loopback UDP port with nobody behind it. */
static int
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, port;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		port = 9;
	else
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * The client side: each query gets a slot that copies its result.
 */
struct slot {
	const char			*what;
	bool				 done;
	int				 calls;
	int				 seq;	/* 1 for the first callback run */
	struct resolver_mx_result	 mx;
	struct resolver_addr_result	 addr;
	struct resolver_ptr_result	 ptr;
};

static struct event_base *base;
static int pending;
static bool in_submit;		/* set around resolver_query_* */
static int sync_calls;		/* callbacks run from inside a query call */
static int delivered;		/* callbacks run so far */

static void
slot_done(struct slot *s)
{
	if (in_submit)
		sync_calls++;
	s->calls++;
	if (!s->done) {
		s->done = true;
		s->seq = ++delivered;
		if (--pending == 0)
			event_base_loopbreak(base);
	}
}

static void
mx_cb(void *arg, const struct resolver_mx_result *res)
{
	struct slot *s = arg;

	s->mx = *res;
	slot_done(s);
}

static void
addr_cb(void *arg, const struct resolver_addr_result *res)
{
	struct slot *s = arg;

	s->addr = *res;
	slot_done(s);
}

static void
ptr_cb(void *arg, const struct resolver_ptr_result *res)
{
	struct slot *s = arg;

	s->ptr = *res;
	slot_done(s);
}

static void
ask_mx(struct resolver *r, struct slot *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->what = name;
	pending++;
	in_submit = true;
	resolver_query_mx(r, name, mx_cb, s);
	in_submit = false;
}

static void
ask_addr(struct resolver *r, struct slot *s, const char *name, int family)
{
	memset(s, 0, sizeof(*s));
	s->what = name;
	pending++;
	in_submit = true;
	resolver_query_addrs(r, name, family, addr_cb, s);
	in_submit = false;
}

static void
ask_ptr(struct resolver *r, struct slot *s, const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &sin->sin_addr);
	}
	memset(s, 0, sizeof(*s));
	s->what = ip;
	pending++;
	in_submit = true;
	resolver_query_ptr(r, (struct sockaddr *)&ss, ptr_cb, s);
	in_submit = false;
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "watchdog: %d queries still pending\n", pending);
	event_base_loopbreak(base);
}

/* Run the loop until every pending query has called back (5 s cap). */
static void
run(void)
{
	struct timeval tv = { 5, 0 };
	struct event *wd = evtimer_new(base, watchdog_cb, NULL);

	evtimer_add(wd, &tv);
	if (pending > 0)
		event_base_dispatch(base);
	event_free(wd);
	CHECK_INT(pending, 0);
	pending = 0;
}

static const char *
astr(const struct resolver_addr_result *res, size_t i, char *buf, size_t len)
{
	return resolver_addr_str((const struct sockaddr *)&res->addrs[i], buf,
	    len);
}

/* Queries of every kind against the canned zone. */
static struct slot s_mx, s_null, s_mixed, s_malias, s_dangling, s_nx, s_sf,
    s_ref, s_fe, s_nd, s_bad, s_badname;
static struct slot s_host, s_host4, s_host6, s_alias, s_v6, s_half, s_halfok,
    s_many, s_andx, s_and;
static struct slot s_ptr4, s_ptr6, s_ptrnx, s_ptrmapped;

static void
test_zone(struct resolver *r)
{
	char buf[64];

	ask_mx(r, &s_mx, "mx.test");
	ask_mx(r, &s_null, "nullmx.test");
	ask_mx(r, &s_mixed, "mixed.test");
	ask_mx(r, &s_malias, "malias.test");
	ask_mx(r, &s_dangling, "dangling.test");
	ask_mx(r, &s_nx, "nx.test");
	ask_mx(r, &s_sf, "servfail.test");
	ask_mx(r, &s_ref, "refused.test");
	ask_mx(r, &s_fe, "formerr.test");
	ask_mx(r, &s_nd, "nodata.test");
	ask_mx(r, &s_bad, "bad.test");
	ask_mx(r, &s_badname, "a..b");	/* c-ares fails it synchronously */
	ask_addr(r, &s_host, "host.test", AF_UNSPEC);
	ask_addr(r, &s_host4, "host.test", AF_INET);
	ask_addr(r, &s_host6, "host.test", AF_INET6);
	ask_addr(r, &s_alias, "alias.test", AF_UNSPEC);
	ask_addr(r, &s_v6, "v6only.test", AF_UNSPEC);
	ask_addr(r, &s_half, "halfbroken.test", AF_UNSPEC);
	ask_addr(r, &s_halfok, "halfok.test", AF_UNSPEC);
	ask_addr(r, &s_many, "many.test", AF_INET);
	ask_addr(r, &s_andx, "nx.test", AF_UNSPEC);
	ask_addr(r, &s_and, "nodata.test", AF_UNSPEC);
	ask_ptr(r, &s_ptr4, "192.0.2.1");
	ask_ptr(r, &s_ptr6, "2001:db8::1");
	ask_ptr(r, &s_ptrnx, "192.0.2.99");
	ask_ptr(r, &s_ptrmapped, "::ffff:192.0.2.1");
	run();
	CHECK_INT(sync_calls, 0);

	/* MX: sorted, equal preferences kept together, no trailing dot. */
	CHECK_INT(s_mx.mx.status, RESOLVER_OK);
	CHECK_INT(s_mx.mx.n, 5);
	CHECK_STR(s_mx.mx.mx[0].host, "e.mx.test");
	CHECK_INT(s_mx.mx.mx[1].pref, 10);
	CHECK_INT(s_mx.mx.mx[3].pref, 10);
	CHECK(strchr("acd", s_mx.mx.mx[1].host[0]) != NULL);
	CHECK_STR(s_mx.mx.mx[4].host, "b.mx.test");
	CHECK(!s_mx.mx.null_mx && !s_mx.mx.null_mx_mixed);
	CHECK_STR(s_mx.mx.cname, "");
	CHECK(s_mx.mx.elapsed_ms >= 0.0 && s_mx.mx.elapsed_ms < 5000.0);

	CHECK_INT(s_null.mx.status, RESOLVER_OK);
	CHECK(s_null.mx.null_mx);
	CHECK_INT(s_null.mx.n, 1);
	CHECK_STR(s_null.mx.mx[0].host, "");
	CHECK(s_mixed.mx.null_mx_mixed);
	CHECK(!s_mixed.mx.null_mx);
	CHECK_INT(s_mixed.mx.mx[0].pref, 0);
	CHECK_STR(s_mixed.mx.mx[1].host, "mx.mixed.test");

	CHECK_INT(s_malias.mx.status, RESOLVER_OK);
	CHECK_STR(s_malias.mx.cname, "mx.test");
	CHECK_STR(s_malias.mx.mx[0].host, "a.mx.test");
	CHECK_INT(s_dangling.mx.status, RESOLVER_NXDOMAIN);
	CHECK_STR(s_dangling.mx.cname, "gone.test");

	/* c-ares 1.18: rcode 3 → ENOTFOUND, empty NOERROR → ENODATA,
	 * SERVFAIL/REFUSED surface only with ARES_FLAG_NOCHECKRESP. */
	CHECK_INT(s_nx.mx.status, RESOLVER_NXDOMAIN);
	CHECK_INT(s_sf.mx.status, RESOLVER_SERVFAIL);
	CHECK_INT(s_ref.mx.status, RESOLVER_REFUSED);
	CHECK_INT(s_fe.mx.status, RESOLVER_BADRESP);
	CHECK_INT(s_nd.mx.status, RESOLVER_NODATA);
	CHECK_INT(s_bad.mx.status, RESOLVER_BADRESP);
	CHECK_INT(s_badname.mx.status, RESOLVER_ERROR);
	CHECK(s_sf.mx.detail[0] != '\0');
	fprintf(stderr, "  nx: %s | servfail: %s | badname: %s\n",
	    s_nx.mx.detail, s_sf.mx.detail, s_badname.mx.detail);

	/* Addresses: AAAA first, then A in the server's order. */
	CHECK_INT(s_host.addr.status, RESOLVER_OK);
	CHECK_INT(s_host.addr.status_a, RESOLVER_OK);
	CHECK_INT(s_host.addr.status_aaaa, RESOLVER_OK);
	CHECK_INT(s_host.addr.n, 3);
	CHECK_STR(astr(&s_host.addr, 0, buf, sizeof(buf)), "2001:db8::1");
	CHECK_STR(astr(&s_host.addr, 1, buf, sizeof(buf)), "192.0.2.1");
	CHECK_STR(astr(&s_host.addr, 2, buf, sizeof(buf)), "192.0.2.2");
	CHECK_INT(((struct sockaddr_in *)&s_host.addr.addrs[1])->sin_port, 0);
	CHECK_STR(s_host.addr.cname, "");
	CHECK_INT(s_host4.addr.n, 2);
	CHECK_STR(astr(&s_host4.addr, 0, buf, sizeof(buf)), "192.0.2.1");
	CHECK_INT(s_host6.addr.n, 1);
	CHECK_STR(astr(&s_host6.addr, 0, buf, sizeof(buf)), "2001:db8::1");

	CHECK_INT(s_alias.addr.status, RESOLVER_OK);
	CHECK_INT(s_alias.addr.n, 1);
	CHECK_STR(s_alias.addr.cname, "host.test");
	CHECK_INT(s_alias.addr.status_aaaa, RESOLVER_NODATA);

	CHECK_INT(s_v6.addr.status, RESOLVER_OK);
	CHECK_INT(s_v6.addr.status_a, RESOLVER_NODATA);
	CHECK_INT(s_v6.addr.n, 1);

	CHECK_INT(s_half.addr.status, RESOLVER_SERVFAIL);
	CHECK_INT(s_half.addr.status_a, RESOLVER_SERVFAIL);
	CHECK_INT(s_half.addr.status_aaaa, RESOLVER_NODATA);
	fprintf(stderr, "  halfbroken: %s\n", s_half.addr.detail);
	CHECK(strstr(s_half.addr.detail, "SERVFAIL") != NULL);

	CHECK_INT(s_halfok.addr.status, RESOLVER_OK);
	CHECK_INT(s_halfok.addr.status_aaaa, RESOLVER_SERVFAIL);
	CHECK_INT(s_halfok.addr.n, 1);

	CHECK_INT(s_many.addr.status, RESOLVER_OK);
	CHECK_INT(s_many.addr.n, RESOLVER_MAX_ADDRS);
	CHECK_INT(s_many.addr.truncated, 4);

	CHECK_INT(s_andx.addr.status, RESOLVER_NXDOMAIN);
	CHECK_INT(s_and.addr.status, RESOLVER_NODATA);

	/* PTR: all names, once each, no trailing dot. */
	CHECK_INT(s_ptr4.ptr.status, RESOLVER_OK);
	CHECK_INT(s_ptr4.ptr.n, 2);
	CHECK(strcmp(s_ptr4.ptr.names[0], "host.test") == 0 ||
	    strcmp(s_ptr4.ptr.names[1], "host.test") == 0);
	CHECK(strcmp(s_ptr4.ptr.names[0], "other.test") == 0 ||
	    strcmp(s_ptr4.ptr.names[1], "other.test") == 0);
	CHECK_INT(s_ptr6.ptr.status, RESOLVER_OK);
	CHECK_INT(s_ptr6.ptr.n, 1);
	CHECK_STR(s_ptr6.ptr.names[0], "host6.test");
	CHECK_INT(s_ptrnx.ptr.status, RESOLVER_NXDOMAIN);
	CHECK_INT(s_ptrmapped.ptr.status, RESOLVER_OK);
	CHECK_INT(s_ptrmapped.ptr.n, 2);
}

/* RFC 5321 §5.1 in practice: the pref-10 run comes out in several orders. */
static void
test_shuffle(struct resolver *r)
{
	static struct slot s[16];
	char orders[16][4];
	size_t i, j, distinct = 0;

	for (i = 0; i < 16; i++)
		ask_mx(r, &s[i], "mx.test");
	run();
	for (i = 0; i < 16; i++) {
		CHECK_INT(s[i].mx.n, 5);
		for (j = 0; j < 3; j++)
			orders[i][j] = s[i].mx.mx[j + 1].host[0];
		orders[i][3] = '\0';
		for (j = 0; j < i; j++)
			if (strcmp(orders[i], orders[j]) == 0)
				break;
		if (j == i)
			distinct++;
	}
	/* P(one order 16 times) = 6^-15. */
	CHECK(distinct >= 2);
}

/* TC over UDP: c-ares 1.18 retries over TCP (no ARES_FLAG_IGNTC). */
static void
test_tcp(struct resolver *r, struct responder *rs)
{
	static struct slot s;
	size_t i;
	bool sorted = true;

	ask_mx(r, &s, "big.test");
	run();
	CHECK_INT(s.mx.status, RESOLVER_OK);
	CHECK_INT(s.mx.n, RESOLVER_MAX_MX);
	CHECK_INT(s.mx.truncated, 8);
	for (i = 1; i < s.mx.n; i++)
		sorted = sorted && s.mx.mx[i - 1].pref <= s.mx.mx[i].pref;
	CHECK(sorted);
	CHECK_INT(s.mx.mx[0].pref, 0);
	CHECK_INT(s.mx.mx[RESOLVER_MAX_MX - 1].pref, 30);
	CHECK(rs->tcp_queries >= 1);
}

static void
test_timeout(struct resolver *r)
{
	static struct slot s;

	ask_mx(r, &s, "silent.test");
	run();
	CHECK_INT(s.mx.status, RESOLVER_TIMEOUT);
	CHECK(s.mx.elapsed_ms >= 150.0 && s.mx.elapsed_ms < 3000.0);
	fprintf(stderr, "  timeout after %.0f ms: %s\n", s.mx.elapsed_ms,
	    s.mx.detail);
}

static void
test_refused_port(void)
{
	static struct slot s;
	struct resolver_config cfg;
	struct resolver *r;
	char srv[32], err[160];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", closed_port());
	cfg.servers[0] = srv;
	cfg.nservers = 1;
	cfg.timeout_ms = 500;
	cfg.tries = 1;
	r = resolver_new(base, &cfg, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	ask_addr(r, &s, "host.test", AF_UNSPEC);
	run();
	CHECK_INT(s.addr.status, RESOLVER_TIMEOUT);
	fprintf(stderr, "  closed port after %.0f ms: %s\n", s.addr.elapsed_ms,
	    s.addr.detail);
	CHECK(strstr(s.addr.detail, "refused") != NULL);
	resolver_free(r);
}

/* Freeing with queries in flight, and freeing from inside a callback. */
static struct slot c_pending, c_first, c_second, c_late;
static struct resolver *free_me;

static void
free_in_cb(void *arg, const struct resolver_mx_result *res)
{
	struct slot *s = arg;

	s->mx = *res;
	slot_done(s);
	resolver_free(free_me);
	/* The other query was cancelled before resolver_free returned. */
	CHECK(c_second.done);
	CHECK_INT(c_second.mx.status, RESOLVER_CANCELLED);
}

/* A resolver asking 127.0.0.1:port, one try; cache_entries 0: no cache. */
static struct resolver *
new_resolver(int port, int timeout_ms, size_t cache_entries)
{
	struct resolver_config cfg;
	struct resolver *r;
	char srv[32], err[160];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	cfg.servers[0] = srv;
	cfg.nservers = 1;
	cfg.timeout_ms = timeout_ms;
	cfg.tries = 1;
	cfg.cache_entries = cache_entries;
	r = resolver_new(base, &cfg, err, sizeof(err));
	if (r == NULL)
		fprintf(stderr, "resolver_new: %s\n", err);
	return r;
}

static void
test_cancel(int port)
{
	struct resolver *r;

	/* Freed before the loop ever ran. */
	r = new_resolver(port, 1000, 0);
	CHECK(r != NULL);
	ask_mx(r, &c_pending, "silent.test");
	ask_addr(r, &c_late, "host.test", AF_UNSPEC);
	CHECK(!c_pending.done);
	resolver_free(r);
	CHECK(c_pending.done);
	CHECK_INT(c_pending.calls, 1);
	CHECK_INT(c_pending.mx.status, RESOLVER_CANCELLED);
	CHECK(c_late.done);
	CHECK_INT(c_late.addr.status, RESOLVER_CANCELLED);
	pending = 0;

	/* Freed from a callback while another query waits. */
	free_me = new_resolver(port, 1000, 0);
	CHECK(free_me != NULL);
	memset(&c_first, 0, sizeof(c_first));
	pending++;
	resolver_query_mx(free_me, "mx.test", free_in_cb, &c_first);
	ask_mx(free_me, &c_second, "silent.test");
	run();
	CHECK(c_first.done);
	CHECK_INT(c_first.mx.status, RESOLVER_OK);
	CHECK_INT(c_second.calls, 1);
}

/*
 * The cache: equal queries made while one is out wait for it and get a
 * copy (the latest first, then the one sent); a later one is answered
 * from the cache; the least recently used entry goes first.
 */
static void
test_cache(struct responder *rs)
{
	static struct slot lead, f1, f2, hit, m1, m2, n1, h2, m3;
	struct resolver *r;
	int q0;

	r = new_resolver(rs->port, 1000, 2);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	q0 = rs->queries;
	ask_addr(r, &lead, "host.test", AF_UNSPEC);
	ask_addr(r, &f1, "HOST.test", AF_UNSPEC);
	ask_addr(r, &f2, "host.test", AF_UNSPEC);
	run();
	CHECK_INT(rs->queries - q0, 2);		/* AAAA and A, once */
	CHECK_INT(lead.addr.n, 3);
	CHECK_INT(f1.addr.n, 3);
	CHECK(!lead.addr.cached && f1.addr.cached && f2.addr.cached);
	CHECK(f2.seq < f1.seq && f1.seq < lead.seq);
	ask_addr(r, &hit, "host.test", AF_UNSPEC);
	run();
	CHECK_INT(rs->queries - q0, 2);
	CHECK(hit.addr.cached);
	CHECK_INT(hit.addr.n, 3);
	/* The cache keeps the records in use only: the same ones come
	 * back, and nothing past them. */
	CHECK(memcmp(hit.addr.addrs, lead.addr.addrs,
	    3 * sizeof(hit.addr.addrs[0])) == 0);
	CHECK_INT(hit.addr.addrs[3].ss_family, 0);
	CHECK_INT(hit.addr.status_a, lead.addr.status_a);
	CHECK_INT(hit.addr.status_aaaa, lead.addr.status_aaaa);

	/* [mx, host], then host used: [host, mx]; nullmx evicts mx. */
	ask_mx(r, &m1, "mx.test");
	run();
	ask_addr(r, &h2, "host.test", AF_UNSPEC);
	run();
	CHECK(h2.addr.cached);
	ask_mx(r, &n1, "nullmx.test");
	run();
	CHECK_INT(rs->queries - q0, 4);
	ask_mx(r, &m2, "mx.test");
	run();
	CHECK(!m2.mx.cached);
	CHECK_INT(rs->queries - q0, 5);
	CHECK_INT(m2.mx.n, 5);
	/* [mx, nullmx]: host went this time. */
	ask_addr(r, &h2, "host.test", AF_UNSPEC);
	run();
	CHECK(!h2.addr.cached);
	CHECK_INT(rs->queries - q0, 7);
	ask_mx(r, &m3, "mx.test");
	run();
	CHECK(m3.mx.cached);
	CHECK_INT(m3.mx.n, 5);
	CHECK(memcmp(m3.mx.mx, m2.mx.mx, 5 * sizeof(m3.mx.mx[0])) == 0);
	CHECK(m3.mx.mx[5].host[0] == '\0' && m3.mx.mx[5].pref == 0);
	CHECK(strcmp(m3.mx.cname, m2.mx.cname) == 0);
	CHECK(m3.mx.null_mx == m2.mx.null_mx);
	resolver_free(r);
}

int
main(void)
{
	struct responder rs;
	struct resolver *r;

	base = event_base_new();
	CHECK(base != NULL);
	if (responder_start(&rs, base) != 0) {
		fprintf(stderr, "cannot bind a loopback UDP socket\n");
		return 1;
	}
	r = new_resolver(rs.port, 200, 0);
	CHECK(r != NULL);
	if (r == NULL)
		return check_report("test_resolver_live");

	test_zone(r);
	test_shuffle(r);
	test_tcp(r, &rs);
	test_timeout(r);
	resolver_free(r);
	test_refused_port();
	test_cache(&rs);
	test_cancel(rs.port);
	CHECK_INT(sync_calls, 0);
	CHECK(rs.queries > 0);

	event_free(rs.ev);
	close(rs.fd);
	event_free(rs.lev);
	close(rs.lfd);
	event_base_free(base);
	return check_report("test_resolver_live");
}
