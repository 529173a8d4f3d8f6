/*
 * conn.h — one TCP connection under an SMTP session: connect (optionally
 * from a bound source address), bounded line reads, writes (secrets by
 * reference, wiped once sent), the STARTTLS wrap, and events in plain
 * words: connected, TLS ready, a line, a line over the hard limit, closed
 * or failed.  Knows nothing of SMTP replies, stages or modes.
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

#include <openssl/ssl.h>

struct event_base;
struct bufferevent;
struct conn;

struct conn_cbs {
	void	(*connected)(void *arg);
	void	(*tls_ready)(void *arg);
	/* One line without its end (CRLF or bare LF; crlf says which). */
	void	(*line)(void *arg, const char *line, size_t len, bool crlf);
	void	(*line_too_long)(void *arg);
	/* The connection ended: eof (the peer closed; lines before it were
	 * delivered), or failed with why (err: the socket error, 0 if none;
	 * during the handshake, OpenSSL's reason). */
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

/* Wrap the connection in TLS (servername: SNI and the name to check,
 * "" for none; resume: an earlier session to offer, or NULL); tls_ready
 * or closed follows.  -1 with a message. */
int conn_starttls(struct conn *c, SSL_CTX *ctx, const char *servername,
    SSL_SESSION *resume, char *err, size_t errlen);

/* The TLS bufferevent, for tlsconn_inspect(); NULL without TLS. */
struct bufferevent *conn_tls_bev(struct conn *c);

/* Our end, once connected; 0, or -1 when unknown. */
int conn_local_addr(const struct conn *c, struct sockaddr_storage *ss,
    socklen_t *len);

/* Close now (pending writes are dropped); no callback follows. */
void conn_close(struct conn *c);
void conn_free(struct conn *c);

#endif
