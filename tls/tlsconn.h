/*
 * tlsconn.h — OpenSSL for smtpprobe: the client context, STARTTLS
 * wrapping of a libevent bufferevent, and the certificate verdict.
 *
 * It never aborts a handshake because a certificate does not verify: the
 * chain and the name are checked, recorded, and left for the caller to
 * judge (the posttls-finger way), since a probe must report what it saw.
 * Knows nothing of SMTP.
 */
#ifndef SMTPPROBE_TLSCONN_H
#define SMTPPROBE_TLSCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

/* A client context: TLS 1.2 or later, system trust anchors or cafile.
 * NULL on failure with a message in err. */
SSL_CTX *tlsconn_ctx_new(const char *cafile, char *err, size_t errlen);
void tlsconn_ctx_free(SSL_CTX *ctx);

/*
 * Wrap the plain-text bufferevent under in a TLS client filter.
 * servername is sent as SNI and checked against the certificate (NULL
 * or an IP address: no SNI, name check skipped).  resume (NULL for none)
 * is a session of an earlier connection to the same server: it is
 * offered for resumption (RFC 8446 §2.2, RFC 5077) when it was made for
 * the same server name, so that the handshake is cut short.  On success
 * the new bufferevent owns under (BEV_OPT_CLOSE_ON_FREE) and the SSL
 * object.
 */
struct bufferevent *tlsconn_wrap(struct event_base *base, SSL_CTX *ctx,
    struct bufferevent *under, const char *servername, SSL_SESSION *resume,
    char *err, size_t errlen);

/* The session of the TLS bufferevent bev, to resume on a later
 * connection (a reference the caller frees with SSL_SESSION_free());
 * NULL when it cannot be resumed. */
SSL_SESSION *tlsconn_session(struct bufferevent *bev);

struct tlsconn_info {
	char	version[16];		/* "TLSv1.3" */
	char	cipher[64];
	bool	verified;		/* chain and name both good */
	bool	chain_ok;		/* chain to a trusted anchor */
	int	verify_code;		/* X509_V_OK or the X509_V_ERR_* code */
	char	verify_error[128];	/* X509_verify_cert_error_string() */
	bool	name_checked;		/* a name was given to check */
	bool	name_match;		/* the certificate is valid for it */
	bool	expired;
	bool	not_yet_valid;
	bool	self_signed;
	char	subject[256];
	char	issuer[256];
	char	not_before[32];		/* ISO 8601, UTC */
	char	not_after[32];
	char	names[512];		/* DNS subjectAltNames, comma-separated */
	bool	resumed;		/* an earlier session was resumed */
};

/* Describe the finished handshake of the TLS bufferevent bev. */
void tlsconn_inspect(struct bufferevent *bev, const char *servername,
    struct tlsconn_info *info);

/* The latest OpenSSL error of the TLS bufferevent bev (or of the thread's
 * queue) as text, for a failed handshake. */
const char *tlsconn_error(struct bufferevent *bev, char *buf, size_t len);

#endif
