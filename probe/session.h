/*
 * session.h — one SMTP conversation with one server address.
 *
 * greeting -> EHLO (HELO fallback) -> STARTTLS -> EHLO -> MAIL -> RCPT ->
 * RSET -> QUIT, each with its own timeout, every reply recorded and checked
 * in the probe_result.  The session never sends DATA or BDAT: there is no
 * state that would.  It knows nothing of argv or of output formats.
 */
#ifndef SMTPPROBE_SESSION_H
#define SMTPPROBE_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "result.h"

struct event_base;
struct session;

enum tls_mode {
	TLS_OPPORTUNISTIC,
	TLS_REQUIRED,
	TLS_NEVER
};

struct session_params {
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;
	char			 host[RESOLVER_NAME_MAX];	/* name the certificate must match; "" for none */
	struct sockaddr_storage	 addr;				/* with the port */
	socklen_t		 addrlen;
	const char		*helo;
	const char		*from;		/* "" for the null sender */
	const char		*rcpt;
	enum tls_mode		 tls_mode;
	bool			 no_starttls;	/* retry after a failed handshake */
	bool			 need_smtputf8;	/* the address has a UTF-8 local part */
	bool			 catch_all;	/* also ask for a random address */
	const char		*catch_all_rcpt;
	int			 timeout_ms[STAGE_COUNT];
	const struct sockaddr_storage *source;	/* bind here before connect; NULL for any */
	socklen_t		 source_len;
	bool			 hello_only;	/* QUIT after EHLO (and STARTTLS): no MAIL, no RCPT */
};

typedef void (*session_done_cb)(void *arg, struct session *s,
    enum session_outcome outcome);

/*
 * Start a session; its events run on params->base.  Facts go into res.
 * done is called once, from the event loop (never from inside
 * session_start), after the connection is closed; the callee then frees
 * the session with session_free().  NULL when nothing could be set up
 * (res->local_error_msg says why).
 */
struct session *session_start(const struct session_params *params,
    struct probe_result *res, session_done_cb done, void *arg);
void session_free(struct session *s);

/* The catch-all probe's RCPT reply (code, or 0 when not asked). */
int session_catch_all_code(const struct session *s);

/* The errno of a failed connection attempt (refused, unreachable, ...);
 * 0 when the connection was made or failed otherwise (timeout). */
int session_connect_errno(const struct session *s);

/* Our end of the connection (getsockname once connected); 0, or -1 when
 * the session never connected.  Valid until session_free(). */
int session_local_addr(const struct session *s, struct sockaddr_storage *ss,
    socklen_t *len);

#endif
