/*
 * conn.c — the connection under a session (conn.h).
 *
 * Owns the bufferevent (plain, then the TLS filter that owns the plain
 * one) and nothing else.  Lines are cut from the input buffer with
 * evbuffer_search_eol(); nothing past LIMIT_REPLY_LINE_HARD bytes
 * without a line end is ever copied.  Secrets leave by reference from a
 * copy that is wiped when libevent lets go of it.
 */
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
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

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

int
conn_write_secret(struct conn *c, char *line, size_t len)
{
	char *copy = c->bev != NULL ? malloc(len + 2) : NULL;

	if (copy != NULL) {
		memcpy(copy, line, len);
		memcpy(copy + len, "\r\n", 2);
	}
	auth_wipe(line, len);
	if (copy == NULL || evbuffer_add_reference(bufferevent_get_output(
	    c->bev), copy, len + 2, wipe_sent, NULL) != 0) {
		if (copy != NULL)
			wipe_sent(copy, len + 2, NULL);
		return -1;
	}
	return 0;
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

int
conn_starttls(struct conn *c, SSL_CTX *ctx, const char *servername,
    SSL_SESSION *resume, char *err, size_t errlen)
{
	struct bufferevent *bev;

	bev = tlsconn_wrap(c->base, ctx, c->bev, servername, resume, err,
	    errlen);
	if (bev == NULL)
		return -1;
	c->bev = bev;
	c->handshaking = true;
	bufferevent_setcb(bev, on_read, NULL, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return 0;
}

struct bufferevent *
conn_tls_bev(struct conn *c)
{
	return c->tls ? c->bev : NULL;
}

int
conn_local_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
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

/* Deliver every complete line waiting, while the owner wants them. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[LIMIT_REPLY_LINE_HARD + 2];

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

	c->connecting = false;
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&c->local,
	    &ll) == 0)
		c->locallen = ll;
	c->cbs.connected(c->arg);
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
		c->stopped = true;
		c->cbs.closed(c->arg, true, "the server closed the connection",
		    0);
		return;
	}
	if (c->handshaking)
		tlsconn_error(bev, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s",
		    err ? evutil_socket_error_to_string(err) : "network error");
	c->stopped = true;
	c->cbs.closed(c->arg, false, why, c->connecting ? err : 0);
}
