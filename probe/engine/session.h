/*
 * session.h — one SMTP conversation with one server address.
 *
 * The opening (greeting -> EHLO (HELO fallback) -> STARTTLS -> EHLO ->
 * [AUTH]), then the plan's transactions (MAIL -> RCPT... -> RSET each),
 * then QUIT, each step with its own timeout.  The opening's replies are
 * recorded and checked in the probe_result; the transactions' answers go
 * into the plan's records (plan.h).  The session never sends DATA or
 * BDAT: there is no state that would.  It knows no mode, nothing of argv
 * or of output formats.
 */
#ifndef SMTPPROBE_SESSION_H
#define SMTPPROBE_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "conn.h"
#include "plan.h"
#include "result.h"

struct event_base;
struct session;

/* How the certificate is judged (the transport is implicit_tls). */
enum tls_mode {
	TLS_OPPORTUNISTIC,	/* STARTTLS when offered; checks reported */
	TLS_REQUIRED,		/* TLS with a verified certificate, or stop */
	TLS_NEVER,
	TLS_DANE		/* RFC 7672: authenticated usable TLSA records
				 * make TLS mandatory and a mismatch fatal (as
				 * Postfix's smtp_tls_security_level = dane);
				 * opportunistic otherwise */
};

struct session_params {
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;
	char			 host[RESOLVER_NAME_MAX];	/* name the certificate must match; "" for none */
	struct sockaddr_storage	 addr;				/* with the port */
	socklen_t		 addrlen;	/* 0: by host name, through a proxy
					 * that resolves it (socks5h) */
	int			 port;		/* the server's port */
	const struct conn_proxy	*proxy;		/* SOCKS 5 proxy; NULL: direct */
	const char		*helo;
	struct plan		*plan;		/* what to ask after the opening */
	/* A stop point: QUIT as soon as this stage of the opening is done
	 * (STAGE_CONNECT: close once connected to the server, through the
	 * proxy if there is one, sending nothing, since no command may come
	 * before the greeting; STAGE_TLS: after STARTTLS,
	 * the handshake and the EHLO inside TLS, or where they would have
	 * been).  STAGE_ADDRESS (0) for none: the plan decides. */
	enum stage		 stop_after;
	enum tls_mode		 tls_mode;
	bool			 implicit_tls;	/* TLS from the connect (RFC 8314), no STARTTLS */
	bool			 no_starttls;	/* retry after a failed handshake */
	/* DANE: records of an authenticated TLSA answer for this server
	 * (host), matched in the handshake; ntlsa 0 for none. */
	const struct tlsconn_tlsa *tlsa;
	size_t			 ntlsa;
	bool			 dane_failed;	/* the TLSA look-up failed */
	int			 timeout_ms[STAGE_COUNT];
	const struct sockaddr_storage *source;	/* bind here before connect; NULL for any */
	socklen_t		 source_len;
	/* AUTH (RFC 4954) after the last EHLO when auth_user is set; never
	 * on a connection without TLS unless auth_plaintext. */
	const char		*auth_user;	/* NULL or "" for no AUTH */
	const char		*auth_password;
	enum auth_mech		 auth_mech;
	bool			 auth_plaintext;
	/* A TLS session of an earlier connection to this server, offered
	 * for resumption (borrowed; NULL for none). */
	SSL_SESSION		*tls_resume;
	/* Called when the TCP connection is made, with our end of it, so
	 * that look-ups about it run beside the dialogue; may be NULL. */
	void			(*connected)(void *arg,
				    const struct sockaddr *local);
	void			*connected_arg;
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

/* The session's TLS session, for resumption on a later connection to
 * the server (the caller owns it: SSL_SESSION_free()); NULL without
 * TLS.  Once the session is done. */
SSL_SESSION *session_tls_session(struct session *s);

/* The errno of a failed connection attempt (refused, unreachable, ...);
 * 0 when the connection was made or failed otherwise (timeout).  Through
 * a proxy, the errno its CONNECT reply stands for (RFC 1928 §6: network
 * or host unreachable, refused; an IPv6 address it cannot use). */
int session_connect_errno(const struct session *s);

/* Our end of the connection (getsockname once connected); 0, or -1 when
 * the session never connected.  Valid until session_free(). */
int session_local_addr(const struct session *s, struct sockaddr_storage *ss,
    socklen_t *len);

#endif
