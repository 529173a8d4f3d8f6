/*
 * probe.h — probing one address: address check -> DNS -> connections ->
 * SMTP session(s) -> diagnosis.
 *
 * struct probe_ctx is the one context of a run (event loop, resolver, TLS
 * context, configuration); there is no other global state.  The engine
 * knows nothing of argv or output formats: cli.c fills the configuration
 * and report.c prints the results.
 */
#ifndef SMTPPROBE_PROBE_H
#define SMTPPROBE_PROBE_H

#include <stdbool.h>

#include "resolver.h"
#include "result.h"
#include "session.h"

struct event_base;
struct mtasts_cache;

struct probe_config {
	char			 from[LIMIT_ADDRESS * 4 + 8];	/* "" = null sender */
	char			 helo[LIMIT_HELO_NAME + 1];
	bool			 use_server;
	char			 server_host[RESOLVER_NAME_MAX];	/* name or IP, no brackets */
	int			 server_port;	/* 0 = port */
	int			 port;
	struct resolver_config	 dns;
	int			 timeout_ms[STAGE_COUNT];
	enum tls_mode		 tls_mode;
	bool			 implicit_tls;	/* TLS from the connect (RFC 8314) */
	bool			 no_mta_sts;	/* --no-mta-sts: no policy fetch */
	const char		*ca_file;
	int			 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	bool			 catch_all;	/* also ask for a random address */
	bool			 self_check;	/* --self-check: the full client audit */
	/* --quit-after: the last stage asked, QUIT then; STAGE_ADDRESS (0)
	 * for none.  Up to STAGE_AUTH it is the session's stop point, at
	 * STAGE_MAIL the plan's transaction has no recipient. */
	enum stage		 quit_after;
	char			 source_ip[64];	/* --source-ip, "" for none */
	struct sockaddr_storage	 source;	/* that address, port 0 */
	socklen_t		 source_len;	/* 0 for none */
	/* --auth-user, the password (--auth-password-file or
	 * SMTPPROBE_PASSWORD; wiped by probe_config_wipe()), --auth-mech,
	 * --auth-plaintext.  auth_user "" for no AUTH. */
	char			 auth_user[AUTH_USER_MAX + 1];
	char			 auth_password[AUTH_PASSWORD_MAX + 1];
	enum auth_mech		 auth_mech;
	bool			 auth_plaintext;
	/* --proxy (or SMTPPROBE_PROXY): every connection goes through this
	 * SOCKS 5 proxy; the password from --proxy-password-file or
	 * SMTPPROBE_PROXY_PASSWORD (wiped by probe_config_wipe()). */
	bool			 use_proxy;
	struct socks_url	 proxy;
	char			 proxy_password[SOCKS_PASSWORD_MAX + 1];
};

/* Wipe the secrets of cfg (OPENSSL_cleanse). */
void probe_config_wipe(struct probe_config *cfg);

/* Defaults: port 25, opportunistic TLS, both families, the stage
 * timeouts of limits.h. */
void probe_config_defaults(struct probe_config *cfg);

/*
 * Optional hooks around every connection (batch mode's politeness, see
 * probe/batch.c); all NULL for a plain run.  A server is named by its
 * address in text, or by its host name when a proxy resolves it
 * (socks5h).  conn_acquire asks leave to
 * connect to server: it returns a token and later calls go(go_arg) from the
 * event loop (never from inside conn_acquire), or returns NULL to let the
 * connection go ahead at once.  Every token is handed back exactly once:
 * with conn_release when the session ended (outcome and the result as the
 * session left it, so a 421 can be seen, and PROBE_CONN_* flags), or with
 * conn_cancel when go was not called yet.  conn_skip (may be NULL) tells
 * a probe to leave a server address out (it timed out earlier in the
 * run); it is asked before conn_acquire and again when go is called.
 */
#define PROBE_CONN_STALLED	0x1u	/* the server stopped answering */
#define PROBE_CONN_CLOSING	0x2u	/* 421 to a further recipient */

struct probe_hooks {
	void	*(*conn_acquire)(void *arg, const char *server,
		    void (*go)(void *), void *go_arg);
	void	 (*conn_release)(void *arg, void *token,
		    enum session_outcome outcome,
		    const struct probe_result *res, unsigned flags);
	void	 (*conn_cancel)(void *arg, void *token);
	bool	 (*conn_skip)(void *arg, const char *server);
	/* TLS resumption (both may be NULL): tls_get gives a session kept
	 * for server (borrowed, or NULL), tls_put hands one over to keep
	 * (the hook owns it). */
	SSL_SESSION *(*tls_get)(void *arg, const char *server);
	void	 (*tls_put)(void *arg, const char *server, SSL_SESSION *sess);
	void	*arg;
};

struct probe_ctx {
	struct event_base		*base;
	struct resolver			*resolver;
	SSL_CTX				*ssl_ctx;
	SSL_CTX				*https_ctx;	/* the MTA-STS fetch's,
							 * made on first use */
	struct mtasts_cache		*mtasts_cache;	/* policies already had */
	const struct probe_config	*cfg;
	struct probe_hooks		 hooks;		/* zeroed by probe_ctx_init */
	/* cfg->proxy with its address; NULL without a proxy. */
	const struct conn_proxy		*proxy;
	struct conn_proxy		 proxy_conn;
	char				 proxy_url[SOCKS_NAME_MAX +
					    SOCKS_USER_MAX + 32];
};

/* 0, or -1 with a message in err.  A proxy given by name is looked up
 * here, once (the system's resolver, as for any configured host). */
int probe_ctx_init(struct probe_ctx *ctx, const struct probe_config *cfg,
    char *err, size_t errlen);
void probe_ctx_free(struct probe_ctx *ctx);

/* Probe one address and fill res (result_init() is done here); runs the
 * event loop until the probe is finished. */
void probe_address(struct probe_ctx *ctx, const char *address,
    struct probe_result *res);

/*
 * The asynchronous form: start probing address into res and return; the
 * probe runs on ctx->base beside any others.  done(arg, res) is called
 * once, from the event loop (never from inside probe_start), when res
 * holds the verdict; by then the probe has let go of res and freed its
 * own state, so done may print, clear or reuse res.  Returns NULL only
 * when nothing could be set up: res then already holds a local error and
 * done is not called.  A run in flight is not cancelled: every stage is
 * bounded by its timeout.
 */
struct probe_run;
typedef void (*probe_done_cb)(void *arg, struct probe_result *res);
struct probe_run *probe_start(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, probe_done_cb done, void *arg);

/*
 * What each connection of a probe asks, when it is not the address alone
 * (probe_start() asks the address, and --catch-all's made-up control
 * recipient once the address is accepted).  The plan is the caller's
 * (plan.h) and must outlive the run; its records hold the answers of the
 * last connection when done is called.
 *
 * own_first: the plan's first recipient is the address itself (a batch
 * group: the further recipients follow it), its answers fill the result's
 * MAIL and RCPT stages and make the verdict; a last recipient marked
 * if_accepted is the catch-all control.  Otherwise (the relay test's
 * forms) the records stay with the caller, and the result keeps the
 * connection's stages and the findings about the replies.
 * catch_all_code: the control's answer known from an earlier connection
 * (0: none), used when the plan has no control.
 */
struct probe_request {
	struct plan	*plan;
	bool		 own_first;
	int		 catch_all_code;
	bool		 no_auth;	/* no AUTH even with --auth-user */
	int		 delay_ms;	/* pause before the first connection */
	const char	*helo;		/* EHLO/HELO name; NULL: --helo */
	/* Talk to this server address (with its port) only, no DNS: */
	const struct sockaddr_storage *server;
	const char	*server_host;	/* its name, "" for none */
	bool		 stay_after_greeting;	/* move on to the next server only
					 * when this one never greeted */
	bool		 no_identity;	/* no reverse-DNS or HELO-name checks */
	bool		 no_tls_policy;	/* no DANE or MTA-STS look-ups */
	const char	*intro;		/* first transcript line, or NULL */
	enum result_kind kind;		/* what the verdict is about */
	/* The servers, found earlier by a resolve_only probe of the same
	 * domain (its DNS facts, result_dns_save(), kept by the caller
	 * until done): no DNS. */
	const struct probe_dns *resolved;
	/* Find the servers and stop: the result holds the DNS facts (and,
	 * when DNS gives no server, the verdict); nothing is connected. */
	bool		 resolve_only;
	/* Transactions from group_from on are other domains' whose first
	 * server is group_server too: they are asked only on a connection
	 * to it.  Any other server the walk reaches gets the plan without
	 * them.  NULL: the whole plan goes wherever the walk goes. */
	const char	*group_server;	/* its name for the hooks (probe_hooks) */
	size_t		 group_from;
};

struct probe_run *probe_start_request(struct probe_ctx *ctx,
    const char *address, struct probe_result *res,
    const struct probe_request *req, probe_done_cb done, void *arg);

/* "postmaster@HOST" for a server given by name or address (an address
 * in brackets, RFC 5321 §4.1.3): a mailbox that only carries the server
 * to the probe (self-check, relay and HELO tests). */
void probe_carrier_address(const char *host, char *buf, size_t len);

/* The made-up control recipient of --catch-all for address a: a random
 * local part at a's domain. */
void probe_control_mailbox(const struct address *a, char *buf, size_t len);

/* probe_start_request(), and the event loop run until it is done. */
void probe_request_sync(struct probe_ctx *ctx, const char *address,
    struct probe_result *res, const struct probe_request *req);

/*
 * The result of address (as given) asked as recipient r of transaction t
 * on the connection whose result is conn: the connection's stages
 * (connection, greeting, EHLO, TLS, AUTH), attempts, identity and the
 * transcript up to the first transaction are copied from conn, the DNS
 * facts from dns (the address's domain, when conn's is another; NULL:
 * conn's), the MAIL stage is t's answer, the RCPT stage is r's own reply
 * (taken from r), and the verdict is made as for a single probe.  When
 * t's MAIL was refused, that refusal is the answer.  position is r's
 * place on the connection (1 for its first recipient; later ones get the
 * finding batch.shared_connection).  With r NULL the address was not
 * asked and shares the connection's fate: its result is conn's, for this
 * address (an address of conn's domain when no server answered).  out is
 * initialised here.
 */
void probe_group_result(const struct probe_result *conn,
    const struct probe_dns *dns, struct plan_txn *t, struct plan_rcpt *r,
    const char *address, int catch_all_code, size_t position,
    struct probe_result *out);

/* The first server a probe of resolved's domain would connect to (as the
 * hooks name it: its address, or its name when the proxy resolves it;
 * servers ctx->hooks.conn_skip leaves out are passed over) into key;
 * false when there is none. */
bool probe_first_target(struct probe_ctx *ctx,
    const struct probe_dns *resolved, char *key, size_t keylen);

/* --self-check without a mailbox: target is a bare domain (its MX is
 * greeted: connect, EHLO, STARTTLS, QUIT, no MAIL), or NULL for the
 * --server given, or, without one, for no server at all (the local
 * address towards the DNS server, its reverse DNS and the HELO name).
 * The verdict is "unknown", reason "self_check"; exit_code is 0 when the
 * audit found nothing wrong, 1 when it found a problem, 2 when it could
 * not check. */
void probe_self_check(struct probe_ctx *ctx, const char *target,
    struct probe_result *res);

/* --quit-after before MAIL without a mailbox: target is a bare domain
 * (its MX hosts are tried) or NULL for the --server given; the session
 * stops where cfg->quit_after says, and the verdict is about what was
 * asked (reason not_checked), never about an address. */
void probe_opening(struct probe_ctx *ctx, const char *target,
    struct probe_result *res);

#endif
