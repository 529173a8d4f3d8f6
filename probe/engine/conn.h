/*
 * conn.h — one TCP connection under an SMTP session: connect (optionally
 * from a bound source address, optionally through a SOCKS 5 proxy),
 * bounded line reads, writes (secrets by reference, wiped once sent), the
 * TLS wrap (after STARTTLS, or right after the connect for implicit TLS,
 * RFC 8314), and events in plain words: proxy reached, connected, TLS
 * ready, a line, a line over the hard limit, closed or failed.  Sockets
 * get TCP_NODELAY and quick ACKs.  Knows nothing of SMTP replies, stages
 * or modes.
 *
 * Through a proxy (RFC 1928, RFC 1929: socks.h) the TCP connection goes
 * to the proxy; proxy_open says it is up, then the SOCKS handshake runs
 * here (method, username/password, CONNECT), and connected comes only
 * once the proxy has connected to the server: above that, a tunnelled
 * connection is like any other.  The handshake reads at most
 * SOCKS_REPLY_MAX bytes at a time; bytes after the proxy's reply are the
 * server's.
 *
 * The connection owns its bufferevent (after STARTTLS the TLS filter,
 * which owns the plain one).  Callbacks run from libevent; the owner may
 * call conn_close() or conn_starttls() from inside any of them, and no
 * further line is delivered after that.  A line is at most
 * LIMIT_REPLY_LINE_HARD bytes: past that the owner hears line_too_long
 * and nothing more is read.
 */
#ifndef SMTPPROBE_CONN_H
#define SMTPPROBE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "tlsconn.h"

#include "socks.h"

struct event_base;
struct bufferevent;
struct conn;

struct conn_cbs {
	/* Through a proxy: the TCP connection to it is up and the SOCKS
	 * handshake starts (NULL: not told). */
	void	(*proxy_open)(void *arg);
	void	(*connected)(void *arg);
	void	(*tls_ready)(void *arg);
	/* One line without its end (CRLF or bare LF; crlf says which). */
	void	(*line)(void *arg, const char *line, size_t len, bool crlf);
	void	(*line_too_long)(void *arg);
	/* The connection ended: eof (the peer closed; lines before it were
	 * delivered), or failed with why (err: the socket error, 0 if none;
	 * during the TLS handshake, OpenSSL's reason; during the SOCKS
	 * handshake, what the proxy said, and conn_proxy_state() has the
	 * details). */
	void	(*closed)(void *arg, bool eof, const char *why, int err);
};

/* A connection not yet started; NULL with a message in err.  source:
 * bind there first (NULL for any). */
struct conn *conn_new(struct event_base *base,
    const struct sockaddr_storage *source, socklen_t source_len,
    const struct conn_cbs *cbs, void *arg, char *err, size_t errlen);

/* Start connecting; 0, or the socket error when it failed at once (the
 * owner reports it, no callback follows). */
int conn_connect(struct conn *c, const struct sockaddr *addr,
    socklen_t len);

/* A SOCKS 5 proxy (socks.h).  user NULL or "" for no authentication;
 * the strings must outlive the connection. */
struct conn_proxy {
	struct sockaddr_storage	 addr;		/* the proxy, with its port */
	socklen_t		 addrlen;
	const char		*user;
	const char		*password;
};

/* How far the SOCKS handshake got: where it stopped, on a failure. */
enum conn_proxy_step {
	CONN_PROXY_CONNECTING,	/* TCP to the proxy */
	CONN_PROXY_HELLO,	/* methods offered, waiting for its choice */
	CONN_PROXY_AUTH,	/* user name and password sent (RFC 1929) */
	CONN_PROXY_REQUEST,	/* CONNECT sent, waiting for its reply */
	CONN_PROXY_DONE		/* the proxy connected to the server */
};

struct conn_proxy_state {
	enum conn_proxy_step	 step;
	int			 method;	/* the proxy's choice; -1 none yet */
	int			 auth_status;	/* RFC 1929 status; -1 none */
	int			 rep;		/* CONNECT reply code; -1 none */
	bool			 not_socks;	/* its answer was not SOCKS 5 */
	struct socks_reply	 reply;		/* bound address when rep 0 */
};

/* Start connecting through proxy p to target (an address with its port)
 * or, with target NULL, to host:port resolved by the proxy (ATYP
 * domain).  0, or the socket error when the connection to the proxy
 * failed at once, as conn_connect(). */
int conn_connect_proxy(struct conn *c, const struct conn_proxy *p,
    const struct sockaddr *target, const char *host, int port);

/* The handshake's facts; NULL for a direct connection. */
const struct conn_proxy_state *conn_proxy_state(const struct conn *c);

void conn_write_line(struct conn *c, const char *line, size_t len);

/* Send a line that carries a secret: from a copy that is wiped and freed
 * once written (or when the connection is freed); line is wiped here.
 * -1 without memory. */
int conn_write_secret(struct conn *c, char *line, size_t len);

/* Bytes received and not yet delivered as lines. */
size_t conn_pending(struct conn *c);
/* Copy up to len of them into buf (a NUL is added; len >= 1), then drop
 * them all; the number dropped. */
size_t conn_drop_pending(struct conn *c, char *buf, size_t len);

/* Copy up to len of them into buf without dropping them; the number
 * copied. */
size_t conn_peek_pending(struct conn *c, unsigned char *buf, size_t len);

/* Wrap the connection in TLS, after STARTTLS or right after the connect
 * (implicit TLS): tp as for tlsconn_wrap() (its peek is the
 * connection's own); tls_ready or closed follows.  -1 with a message. */
int conn_starttls(struct conn *c, SSL_CTX *ctx,
    const struct tlsconn_params *tp, char *err, size_t errlen);

/* The first bytes received during the handshake (a TLS record header,
 * or what a peer speaking clear text sent instead). */
const struct tlsconn_peek *conn_tls_peek(const struct conn *c);

/* The TLS bufferevent, for tlsconn_inspect(); NULL without TLS. */
struct bufferevent *conn_tls_bev(struct conn *c);

/* Our end, once connected; 0, or -1 when unknown.  Through a proxy:
 * the address the proxy says it connected from (its egress, BND.ADDR
 * of RFC 1928 §6), -1 when it gave none (0.0.0.0 or ::). */
int conn_local_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len);

/* Close now (pending writes are dropped); no callback follows. */
void conn_close(struct conn *c);
void conn_free(struct conn *c);

#endif
