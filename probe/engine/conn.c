/*
 * conn.c — the connection under a session (conn.h).
 *
 * Owns the bufferevent (plain, then the TLS filter that owns the plain
 * one) and, through a proxy, the SOCKS handshake's state.  Lines are cut
 * from the input buffer with evbuffer_search_eol(); nothing past
 * LIMIT_REPLY_LINE_HARD bytes without a line end is ever copied, and the
 * SOCKS answers are parsed from at most SOCKS_REPLY_MAX bytes.  Secrets
 * (the AUTH lines, the proxy password) leave by reference from a copy
 * that is wiped when libevent lets go of it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "auth.h"
#include "conn.h"
#include "limits.h"
#include "tlsconn.h"

struct conn {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct conn_cbs		 cbs;
	void			*arg;
	bool			 connecting;
	bool			 handshaking;
	bool			 tls;
	bool			 stopped;	/* line_too_long or closed: no more reads */
	evutil_socket_t		 fd;		/* the TCP socket, once connected */
	struct tlsconn_peek	 peek;		/* first bytes of the handshake */
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
	/* Through a proxy: it, the target, the handshake. */
	const struct conn_proxy	*proxy;		/* NULL: direct */
	bool			 proxying;	/* the SOCKS handshake runs */
	struct sockaddr_storage	 target;	/* ss_family 0: by name */
	char			 target_host[SOCKS_NAME_MAX + 1];
	int			 target_port;
	struct conn_proxy_state	 ps;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/*
 * Acknowledge what the server sent at once.  A command that leaves
 * together with the last handshake message (the client's Finished)
 * reaches the server while its TLS 1.3 session tickets are still
 * unacknowledged; its Nagle algorithm then holds the reply until our
 * delayed ACK goes out, 40 ms later on Linux.  TCP_QUICKACK is not
 * sticky (the kernel returns to delayed ACKs once the exchange looks
 * interactive) but setting it sends an ACK that is pending, so it is set
 * whenever bytes have been read from the socket: a callback on the plain
 * bufferevent's input sees the TLS records too, session tickets
 * included, which reach nobody above OpenSSL.
 */
static void
on_bytes_in(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn *c = arg;
	int on = 1;

	(void)buf;
	if (info->n_added == 0 || c->fd < 0)
		return;
#ifdef TCP_QUICKACK
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
#else
	(void)on;
#endif
}

struct conn *
conn_new(struct event_base *base, const struct sockaddr_storage *source,
    socklen_t source_len, const struct conn_cbs *cbs, void *arg, char *err,
    size_t errlen)
{
	struct conn *c;
	evutil_socket_t fd = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	c->fd = -1;
	c->cbs = *cbs;
	c->arg = arg;
	if (source != NULL) {
		/* --source-ip: bind before connecting (the socket then
		 * belongs to the bufferevent). */
		fd = socket(source->ss_family, SOCK_STREAM, 0);
		if (fd < 0 || evutil_make_socket_nonblocking(fd) != 0 ||
		    bind(fd, (const struct sockaddr *)source, source_len) != 0) {
			snprintf(err, errlen, "cannot use the source address: "
			    "%s", evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
			if (fd >= 0)
				evutil_closesocket(fd);
			free(c);
			return NULL;
		}
	}
	c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		snprintf(err, errlen, "cannot set up a connection (out of "
		    "memory)");
		if (fd >= 0)
			evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evbuffer_add_cb(bufferevent_get_input(c->bev), on_bytes_in, c);
	return c;
}

int
conn_connect(struct conn *c, const struct sockaddr *addr, socklen_t len)
{
	c->connecting = true;
	if (bufferevent_socket_connect(c->bev, addr, (int)len) != 0) {
		int err = EVUTIL_SOCKET_ERROR();

		c->connecting = false;
		return err != 0 ? err : -1;
	}
	return 0;
}

void
conn_write_line(struct conn *c, const char *line, size_t len)
{
	if (c->bev == NULL)
		return;
	bufferevent_write(c->bev, line, len);
	bufferevent_write(c->bev, "\r\n", 2);
}

static void
wipe_sent(const void *data, size_t len, void *arg)
{
	(void)arg;
	auth_wipe((void *)(uintptr_t)data, len);
	free((void *)(uintptr_t)data);
}

/* Send data (a secret) from a copy wiped once written, with CRLF after
 * it when crlf; data is wiped here.  -1 without memory. */
static int
write_secret(struct conn *c, void *data, size_t len, bool crlf)
{
	size_t n = len + (crlf ? 2 : 0);
	char *copy = c->bev != NULL ? malloc(n) : NULL;

	if (copy != NULL) {
		memcpy(copy, data, len);
		if (crlf)
			memcpy(copy + len, "\r\n", 2);
	}
	auth_wipe(data, len);
	if (copy == NULL || evbuffer_add_reference(bufferevent_get_output(
	    c->bev), copy, n, wipe_sent, NULL) != 0) {
		if (copy != NULL)
			wipe_sent(copy, n, NULL);
		return -1;
	}
	return 0;
}

int
conn_write_secret(struct conn *c, char *line, size_t len)
{
	return write_secret(c, line, len, true);
}

size_t
conn_pending(struct conn *c)
{
	return c->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_input(c->bev)) : 0;
}

size_t
conn_drop_pending(struct conn *c, char *buf, size_t len)
{
	struct evbuffer *in;
	size_t extra, n;

	buf[0] = '\0';
	if (c->bev == NULL)
		return 0;
	in = bufferevent_get_input(c->bev);
	extra = evbuffer_get_length(in);
	n = extra < len - 1 ? extra : len - 1;
	evbuffer_copyout(in, buf, n);
	buf[n] = '\0';
	evbuffer_drain(in, extra);
	return extra;
}

size_t
conn_peek_pending(struct conn *c, unsigned char *buf, size_t len)
{
	ev_ssize_t n;

	if (c->bev == NULL)
		return 0;
	n = evbuffer_copyout(bufferevent_get_input(c->bev), buf, len);
	return n > 0 ? (size_t)n : 0;
}

int
conn_starttls(struct conn *c, SSL_CTX *ctx, const struct tlsconn_params *tp,
    char *err, size_t errlen)
{
	struct tlsconn_params p = *tp;
	struct bufferevent *bev;

	p.peek = &c->peek;
	bev = tlsconn_wrap(c->base, ctx, c->bev, &p, err, errlen);
	if (bev == NULL)
		return -1;
	c->bev = bev;
	c->handshaking = true;
	bufferevent_setcb(bev, on_read, NULL, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return 0;
}

const struct tlsconn_peek *
conn_tls_peek(const struct conn *c)
{
	return &c->peek;
}

struct bufferevent *
conn_tls_bev(struct conn *c)
{
	return c->tls ? c->bev : NULL;
}

int
conn_connect_proxy(struct conn *c, const struct conn_proxy *p,
    const struct sockaddr *target, const char *host, int port)
{
	c->proxy = p;
	c->ps.step = CONN_PROXY_CONNECTING;
	c->ps.method = c->ps.auth_status = c->ps.rep = -1;
	memset(&c->target, 0, sizeof(c->target));
	if (target != NULL)
		memcpy(&c->target, target, target->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	snprintf(c->target_host, sizeof(c->target_host), "%s",
	    host != NULL ? host : "");
	c->target_port = port;
	return conn_connect(c, (const struct sockaddr *)&p->addr,
	    p->addrlen);
}

const struct conn_proxy_state *
conn_proxy_state(const struct conn *c)
{
	return c->proxy != NULL ? &c->ps : NULL;
}

/* The address the proxy connected from (RFC 1928 §6 BND.ADDR), when it
 * names one. */
static int
proxy_bound_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const struct socks_reply *r = &c->ps.reply;

	if (c->ps.step != CONN_PROXY_DONE)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (r->atyp == SOCKS_ATYP_IPV4 &&
	    inet_pton(AF_INET, r->bound, &sin->sin_addr) == 1 &&
	    sin->sin_addr.s_addr != 0) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)r->port);
		*len = sizeof(*sin);
		return 0;
	}
	if (r->atyp == SOCKS_ATYP_IPV6 &&
	    inet_pton(AF_INET6, r->bound, &sin6->sin6_addr) == 1 &&
	    !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)r->port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
conn_local_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	if (c->proxy != NULL)
		return proxy_bound_addr(c, ss, len);
	if (c->locallen == 0)
		return -1;
	*ss = c->local;
	*len = c->locallen;
	return 0;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	c->stopped = true;
	c->fd = -1;
	if (c->bev != NULL) {
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	free(c);
}

/* ---- the SOCKS handshake (RFC 1928 §3-§6, RFC 1929 §2) ----------------- */

static void
proxy_fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The handshake failed: the owner hears why, nothing more is read. */
static void
proxy_fail(struct conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->stopped = true;
	c->proxying = false;
	c->cbs.closed(c->arg, false, why, 0);
}

static bool
proxy_userpass(const struct conn *c)
{
	return c->proxy->user != NULL && c->proxy->user[0] != '\0';
}

static void
proxy_send_request(struct conn *c)
{
	uint8_t buf[SOCKS_REQUEST_MAX];
	size_t n;

	if (c->target.ss_family != 0)
		n = socks_connect_addr((struct sockaddr *)&c->target, buf,
		    sizeof(buf));
	else
		n = socks_connect_name(c->target_host, c->target_port, buf,
		    sizeof(buf));
	if (n == 0) {
		proxy_fail(c, "the server cannot be named in a SOCKS request");
		return;
	}
	c->ps.step = CONN_PROXY_REQUEST;
	bufferevent_write(c->bev, buf, n);
}

static void
proxy_send_auth(struct conn *c)
{
	uint8_t buf[SOCKS_AUTH_MAX];
	size_t n;

	n = socks_auth(c->proxy->user, c->proxy->password != NULL ?
	    c->proxy->password : "", buf, sizeof(buf));
	c->ps.step = CONN_PROXY_AUTH;
	if (n == 0) {
		auth_wipe(buf, sizeof(buf));
		proxy_fail(c, "the proxy asks for a user name and password, "
		    "and the password is missing or longer than %d bytes",
		    SOCKS_PASSWORD_MAX);
		return;
	}
	if (write_secret(c, buf, n, false) != 0)
		proxy_fail(c, "out of memory");
}

/* The proxy's answer to the step the handshake is at. */
static enum socks_status
proxy_parse(struct conn *c, const uint8_t *buf, size_t len, size_t *used,
    int *v, char *why, size_t whylen)
{
	switch (c->ps.step) {
	case CONN_PROXY_HELLO:
		return socks_hello_reply(buf, len, proxy_userpass(c), used, v,
		    why, whylen);
	case CONN_PROXY_AUTH:
		return socks_auth_reply(buf, len, used, v, why, whylen);
	default:
		return socks_connect_reply(buf, len, used, &c->ps.reply, why,
		    whylen);
	}
}

/*
 * One answer of the proxy from the input, and the next message sent;
 * true when another answer may follow at once.  After the CONNECT reply
 * the owner hears connected, and the bytes left are the server's.
 */
static bool
proxy_step(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in), used = 0;
	const uint8_t *buf;
	char why[160];
	int v = -1;
	enum socks_status st;

	if (len > SOCKS_REPLY_MAX)
		len = SOCKS_REPLY_MAX;
	if (len == 0)
		return false;
	if ((buf = evbuffer_pullup(in, (ssize_t)len)) == NULL) {
		proxy_fail(c, "out of memory");
		return false;
	}
	if ((st = proxy_parse(c, buf, len, &used, &v, why, sizeof(why))) ==
	    SOCKS_MORE)
		return false;	/* no answer is longer than SOCKS_REPLY_MAX */
	if (st == SOCKS_BAD) {
		c->ps.not_socks = true;
		proxy_fail(c, "%s", why);
		return false;
	}
	evbuffer_drain(in, used);
	if (c->ps.step == CONN_PROXY_HELLO) {
		c->ps.method = v;
		if (v == SOCKS_METHOD_REFUSED)
			proxy_fail(c, "the proxy accepts none of the "
			    "authentication methods offered (%s)",
			    proxy_userpass(c) ? "none, user name and password" :
			    "none: it wants a user name and password");
		else if (v == SOCKS_METHOD_USERPASS)
			proxy_send_auth(c);
		else
			proxy_send_request(c);
		return !c->stopped;
	}
	if (c->ps.step == CONN_PROXY_AUTH) {
		c->ps.auth_status = v;
		if (v != 0)
			proxy_fail(c, "the proxy refused the user name or "
			    "password (RFC 1929 status %d)", v);
		else
			proxy_send_request(c);
		return !c->stopped;
	}
	c->ps.rep = c->ps.reply.rep;
	if (c->ps.rep != SOCKS_REP_SUCCEEDED) {
		proxy_fail(c, "the proxy reports: %s (SOCKS reply %d)",
		    socks_rep_text(c->ps.rep), c->ps.rep);
		return false;
	}
	c->ps.step = CONN_PROXY_DONE;
	c->proxying = false;
	c->cbs.connected(c->arg);
	return false;
}

/* The proxy closed the connection in the middle of the handshake. */
static void
proxy_eof(struct conn *c, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const uint8_t *buf = len > 0 ? evbuffer_pullup(in, len < 2 ?
	    (ssize_t)len : 2) : NULL;
	int rep;

	/* Some proxies send only VER and REP before closing on a
	 * failure. */
	if (c->ps.step == CONN_PROXY_REQUEST && buf != NULL &&
	    socks_reply_code(buf, len < 2 ? len : 2, &rep) &&
	    rep != SOCKS_REP_SUCCEEDED) {
		c->ps.rep = rep;
		proxy_fail(c, "the proxy reports: %s (SOCKS reply %d)",
		    socks_rep_text(rep), rep);
		return;
	}
	proxy_fail(c, "the proxy closed the connection %s",
	    c->ps.step == CONN_PROXY_HELLO ? "before choosing an "
	    "authentication method" : c->ps.step == CONN_PROXY_AUTH ?
	    "after the user name and password were sent" : "before "
	    "answering the CONNECT request");
}

/* Deliver every complete line waiting, while the owner wants them. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[LIMIT_REPLY_LINE_HARD + 2];

	while (c->proxying && !c->stopped && bev == c->bev &&
	    proxy_step(c, in))
		;
	if (c->proxying)
		return;
	while (!c->stopped && bev == c->bev && !c->handshaking) {
		struct evbuffer_ptr eol;
		size_t len;
		bool crlf;

		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) <= LIMIT_REPLY_LINE_HARD)
				return;
			len = LIMIT_REPLY_LINE_HARD + 1;
		} else
			len = (size_t)eol.pos;
		if (len > LIMIT_REPLY_LINE_HARD) {
			c->stopped = true;
			c->cbs.line_too_long(c->arg);
			return;
		}
		evbuffer_remove(in, line, len + 1);
		crlf = len > 0 && line[len - 1] == '\r';
		if (crlf)
			len--;
		line[len] = '\0';
		c->cbs.line(c->arg, line, len, crlf);
	}
}

static void
on_connected(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	socklen_t ll = sizeof(c->local);
	uint8_t hello[SOCKS_HELLO_MAX];
	size_t n;
	int on = 1;

	c->connecting = false;
	c->fd = fd;
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&c->local,
	    &ll) == 0)
		c->locallen = ll;
	/* Every command is one small write that waits for its reply:
	 * nothing is gained by holding it back (Nagle). */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	if (c->proxy == NULL) {
		c->cbs.connected(c->arg);
		return;
	}
	/* The proxy is reached: offer the methods (RFC 1928 §3). */
	c->proxying = true;
	c->ps.step = CONN_PROXY_HELLO;
	if (c->cbs.proxy_open != NULL)
		c->cbs.proxy_open(c->arg);
	if (c->stopped || c->bev == NULL)
		return;
	n = socks_hello(proxy_userpass(c), hello, sizeof(hello));
	bufferevent_write(c->bev, hello, n);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[256];
	int err = EVUTIL_SOCKET_ERROR();

	if (bev != c->bev || c->stopped)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->connecting)
			on_connected(c);
		else if (c->handshaking) {
			c->handshaking = false;
			c->tls = true;
			c->cbs.tls_ready(c->arg);
			/* Lines may already wait in the TLS input. */
			if (!c->stopped && c->bev != NULL)
				on_read(c->bev, c);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whatever arrived before the close is still a line. */
		on_read(bev, c);
		if (c->stopped || bev != c->bev)
			return;
		if (c->proxying) {
			proxy_eof(c, bev);
			return;
		}
		c->stopped = true;
		c->cbs.closed(c->arg, true, "the server closed the connection",
		    0);
		return;
	}
	if (c->handshaking)
		tlsconn_error(bev, why, sizeof(why));
	else if (c->proxying)
		snprintf(why, sizeof(why), "the connection to the proxy "
		    "failed: %s", err ? evutil_socket_error_to_string(err) :
		    "network error");
	else
		snprintf(why, sizeof(why), "%s",
		    err ? evutil_socket_error_to_string(err) : "network error");
	c->stopped = true;
	c->proxying = false;
	c->cbs.closed(c->arg, false, why, c->connecting ? err : 0);
}
