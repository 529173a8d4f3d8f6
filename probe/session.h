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

#include "auth.h"
#include "result.h"

struct event_base;
struct session;

enum tls_mode {
	TLS_OPPORTUNISTIC,
	TLS_REQUIRED,
	TLS_NEVER
};

/*
 * --relay-test: an envelope asked on the connection instead of the one
 * MAIL/RCPT pair: MAIL FROM:<from>, RCPT TO:<rcpt> when MAIL is accepted,
 * then RSET.  The replies are kept here (owned by the record; free with
 * session_txn_clear()), not in the result's stages.
 */
struct session_txn {
	char			 from[LIMIT_ADDRESS * 4 + 8];
	char			 rcpt[LIMIT_ADDRESS * 4 + 8];
	bool			 asked;		/* MAIL was sent */
	struct rec_reply	 mail;		/* .reply NULL when none came */
	struct rec_reply	 rcpt_reply;	/* .reply NULL when not asked */
};

void session_txn_clear(struct session_txn *t);

/*
 * Batch mode: further recipients asked in the same transaction, after
 * the first one (RCPT TO), one command at a time (never pipelined).  The
 * session writes the outcome of each into its record; the reply is owned
 * by the record (free with session_rcpt_clear()), not by the result.
 */
enum session_rcpt_state {
	RCPT_NOT_ASKED,		/* not sent: the session ended before */
	RCPT_ANSWERED,		/* reply holds the answer */
	RCPT_TOO_MANY,		/* 452 / X.5.3: ask again in a new transaction */
	RCPT_CLOSED,		/* 421: the server closes the connection */
	RCPT_NO_ANSWER		/* sent; the connection was lost or timed out */
};

struct session_rcpt {
	const char		*mailbox;	/* the RCPT TO argument */
	enum session_rcpt_state	 state;
	struct reply		*reply;		/* owned; NULL when none came */
	double			 elapsed_ms;
	bool			 timed_out;	/* RCPT_NO_ANSWER by a timeout */
	char			 why[128];	/* RCPT_NO_ANSWER: what happened */
};

void session_rcpt_clear(struct session_rcpt *r);

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
	/* AUTH (RFC 4954) after the last EHLO when auth_user is set; never
	 * on a connection without TLS unless auth_plaintext. */
	const char		*auth_user;	/* NULL or "" for no AUTH */
	const char		*auth_password;
	enum auth_mech		 auth_mech;
	bool			 auth_plaintext;
	/* --relay-test: these envelopes instead of from/rcpt (ntxns 0: the
	 * ordinary MAIL/RCPT). */
	struct session_txn	*txns;
	size_t			 ntxns;
	/* Batch mode: further recipients after rcpt (nmore 0: none). */
	struct session_rcpt	*more;
	size_t			 nmore;
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
