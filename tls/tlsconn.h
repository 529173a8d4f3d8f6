/*
 * tlsconn.h — OpenSSL for smtpprobe: the client context, the TLS filter
 * over a libevent bufferevent (STARTTLS or implicit TLS), DANE matching,
 * and the certificate facts.
 *
 * It never aborts a handshake because a certificate does not verify: the
 * chain, the name and the TLSA records are checked, recorded, and left
 * for the caller to judge (the posttls-finger way), since a probe must
 * report what it saw.  Knows nothing of SMTP.
 */
#ifndef SMTPPROBE_TLSCONN_H
#define SMTPPROBE_TLSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

#define TLSCONN_MAX_CHAIN	8	/* certificates described per handshake */
#define TLSCONN_MAX_TLSA	8	/* TLSA records given to one handshake */
#define TLSCONN_TLSA_MAX	512	/* bytes of one TLSA record's data */
#define TLSCONN_FP_LEN		96	/* "AB:CD:..." for SHA-256, with NUL */
#define TLSCONN_FIRST_BYTES	8	/* first bytes received, kept */

/*
 * A client context: TLS 1.0 or later at security level 0, so that a
 * server stuck on old protocols or weak keys can still be seen (and
 * reported); system trust anchors or cafile; DANE enabled.  NULL on
 * failure with a message in err.
 */
SSL_CTX *tlsconn_ctx_new(const char *cafile, char *err, size_t errlen);
void tlsconn_ctx_free(SSL_CTX *ctx);

/* A context for HTTPS with full verification (the MTA-STS policy, RFC
 * 8461 §3.3): TLS 1.2 or later at the default security level, the chain
 * and the name checked during the handshake, which fails without them.
 * Same trust anchors as tlsconn_ctx_new(). */
SSL_CTX *tlsconn_ctx_new_verified(const char *cafile, char *err,
    size_t errlen);

/* A client session for host on a verified context: SNI and the name to
 * check set.  NULL on failure. */
SSL *tlsconn_ssl_verified(SSL_CTX *ctx, const char *host);

/* One TLSA record (RFC 6698 §2.1). */
struct tlsconn_tlsa {
	uint8_t		usage;		/* 2 DANE-TA, 3 DANE-EE (RFC 7218) */
	uint8_t		selector;	/* 0 full certificate, 1 SubjectPublicKeyInfo */
	uint8_t		mtype;		/* 0 exact, 1 SHA-256, 2 SHA-512 */
	size_t		len;
	unsigned char	data[TLSCONN_TLSA_MAX];
};

/* The first bytes the peer sent in the handshake (a record header). */
struct tlsconn_peek {
	unsigned char	bytes[TLSCONN_FIRST_BYTES];
	size_t		n;
};

/* What one handshake is asked. */
struct tlsconn_params {
	/* SNI and the name the certificate must match; NULL, "" or an IP
	 * address: no SNI, no name check. */
	const char			*servername;
	/* DANE (RFC 7672): records from an authenticated TLSA answer,
	 * matched instead of the PKIX chain; none when ntlsa is 0.  Only
	 * usages 2 and 3 are used; servername is the TLSA base domain. */
	const struct tlsconn_tlsa	*tlsa;
	size_t				 ntlsa;
	/* Filled during the handshake with the first bytes received, to
	 * explain a peer that does not speak TLS; NULL for none.  Must
	 * outlive the bufferevent. */
	struct tlsconn_peek		*peek;
	/* A session of an earlier connection to the same server
	 * (tlsconn_session()), offered for resumption (RFC 8446 §2.2, RFC
	 * 5077) so that the handshake is cut short: only when it was made
	 * for the same servername, and never with DANE (whose match is
	 * made in a full handshake).  NULL for none. */
	SSL_SESSION			*resume;
};

/*
 * Wrap the connected bufferevent under in a TLS client filter.  On
 * success the new bufferevent owns under (BEV_OPT_CLOSE_ON_FREE) and the
 * SSL object.
 */
struct bufferevent *tlsconn_wrap(struct event_base *base, SSL_CTX *ctx,
    struct bufferevent *under, const struct tlsconn_params *tp, char *err,
    size_t errlen);

/* The session of the TLS bufferevent bev, to resume on a later
 * connection (a reference the caller frees with SSL_SESSION_free());
 * NULL when it cannot be resumed. */
SSL_SESSION *tlsconn_session(struct bufferevent *bev);

/* One certificate as the server presented it. */
struct tlsconn_cert {
	char	subject[256];
	char	issuer[256];
	char	names[512];		/* DNS subjectAltNames, comma-separated */
	char	not_before[32];		/* ISO 8601, UTC */
	char	not_after[32];
	long	days_left;		/* whole days until notAfter; < 0 once expired */
	char	key_type[16];		/* "RSA", "EC", "Ed25519", "Ed448", "DSA" */
	int	key_bits;
	char	key_group[32];		/* EC curve: "prime256v1"; "" otherwise */
	char	sig_alg[48];		/* "ecdsa-with-SHA256" */
	bool	sig_sha1;		/* signed with SHA-1 (or MD5) */
	bool	self_signed;
	char	sha256[TLSCONN_FP_LEN];		/* as openssl x509 -fingerprint -sha256 */
	char	spki_sha256[TLSCONN_FP_LEN];	/* of the DER SubjectPublicKeyInfo */
};

enum tlsconn_dane {
	TLSCONN_DANE_NONE,	/* no usable TLSA record was given */
	TLSCONN_DANE_MATCH,
	TLSCONN_DANE_MISMATCH
};

struct tlsconn_info {
	char	version[16];		/* "TLSv1.3" */
	int	version_num;		/* TLS1_3_VERSION, ... */
	char	cipher[64];
	bool	verified;		/* chain (or DANE) and name both good */
	bool	chain_ok;		/* PKIX: chain to a trusted anchor */
	int	verify_code;		/* X509_V_OK or the X509_V_ERR_* code */
	char	verify_error[128];	/* X509_verify_cert_error_string() */
	bool	name_checked;		/* a name was given to check */
	bool	name_match;		/* the certificate is valid for it */
	char	wildcard_miss[256];	/* a wildcard name that covers the name's
					 * parent only (one label); "" if none */
	bool	expired;
	bool	not_yet_valid;
	bool	self_signed;
	char	subject[256];		/* the leaf's, as in chain[0] */
	char	issuer[256];
	char	not_before[32];
	char	not_after[32];
	char	names[512];
	bool	ocsp_stapled;		/* a stapled OCSP response came (RFC 6066 §8) */
	bool	resumed;		/* an earlier session was resumed: the
					 * certificates are those it kept, and
					 * no OCSP response is stapled */
	/* The chain as presented, the leaf first: nchain entries allocated
	 * here (tlsconn_info_clear() frees them); certificates past
	 * TLSCONN_MAX_CHAIN, or without memory, are counted in chain_more. */
	struct tlsconn_cert *chain;
	size_t	nchain;
	size_t	chain_more;
	/* DANE */
	size_t	tlsa_usable;		/* records OpenSSL took */
	enum tlsconn_dane dane;
	int	dane_depth;		/* chain depth of the match */
	uint8_t	dane_usage, dane_selector, dane_mtype;	/* the record that matched */
	char	dane_data[136];		/* its data in hex (cut) */
};

/* Describe the finished handshake of the TLS bufferevent bev; tp as
 * given to tlsconn_wrap().  info is overwritten (cleared first when it
 * held a chain, tlsconn_info_clear()). */
void tlsconn_inspect(struct bufferevent *bev, const struct tlsconn_params *tp,
    struct tlsconn_info *info);

/* Free info's chain and zero it all. */
void tlsconn_info_clear(struct tlsconn_info *info);

/* Make dst a copy of src with a chain of its own; false (dst without a
 * chain, counted in chain_more) when memory is short. */
bool tlsconn_info_copy(struct tlsconn_info *dst,
    const struct tlsconn_info *src);

/* The latest OpenSSL error of the TLS bufferevent bev (or of the thread's
 * queue) as text, for a failed handshake. */
const char *tlsconn_error(struct bufferevent *bev, char *buf, size_t len);

/* True when the record may be given to OpenSSL: usage 2 or 3, selector
 * 0 or 1, matching type 0 (some data), 1 (32 bytes) or 2 (64 bytes). */
bool tlsconn_tlsa_usable(const struct tlsconn_tlsa *t);

/* True when p starts like a TLS record (content type 20-23, version
 * 3.x): a peer speaking TLS where clear text was expected. */
bool tlsconn_looks_like_record(const unsigned char *p, size_t n);

/* Hex of len bytes into out (lower case, cut to fit, NUL-terminated). */
void tlsconn_hex(const unsigned char *p, size_t len, char *out,
    size_t outlen);

#endif
