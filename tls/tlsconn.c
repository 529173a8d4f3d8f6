/*
 * tlsconn.c — OpenSSL client side: context, STARTTLS filter, inspection.
 *
 * Owns the SSL_CTX it creates (freed by tlsconn_ctx_free) and hands each
 * SSL object to the filter bufferevent (BEV_OPT_CLOSE_ON_FREE frees it).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tlsconn.h"

/* The reason of the oldest OpenSSL error queued; never NULL (OpenSSL has
 * no text for some codes, and printf's "%s" must not get NULL). */
static const char *
ssl_reason(void)
{
	const char *reason = ERR_reason_error_string(ERR_get_error());

	return reason != NULL ? reason : "unknown error";
}

SSL_CTX *
tlsconn_ctx_new(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create the TLS context: %s",
		    ssl_reason());
		return NULL;
	}
	/* RFC 8996 retired TLS 1.0 and 1.1. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Verify, but never abort the handshake for it: the result is read
	 * afterwards with SSL_get_verify_result() and reported. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(err, errlen, "cannot load trust anchors from "
			    "%s: %s", cafile, ssl_reason());
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot load the system's trust "
		    "anchors: %s", ssl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tlsconn_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* A host name to send as SNI and check the certificate against: not
 * empty, not an IP address (RFC 6066 §3: SNI carries host names only). */
static bool
is_host_name(const char *s)
{
	unsigned char buf[16];

	return s != NULL && *s != '\0' && inet_pton(AF_INET, s, buf) != 1 &&
	    inet_pton(AF_INET6, s, buf) != 1;
}

struct bufferevent *
tlsconn_wrap(struct event_base *base, SSL_CTX *ctx, struct bufferevent *under,
    const char *servername, SSL_SESSION *resume, char *err, size_t errlen)
{
	const char *was;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		snprintf(err, errlen, "cannot create a TLS session: %s",
		    ssl_reason());
		return NULL;
	}
	if (is_host_name(servername)) {
		SSL_set_tlsext_host_name(ssl, servername);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(ssl, servername);
	}
	/* The certificate of a resumed session is not checked again: only
	 * a session made for the same name is offered (its verdict and the
	 * name check stay right). */
	was = resume != NULL ? SSL_SESSION_get0_hostname(resume) : NULL;
	if (resume != NULL && (was != NULL ? is_host_name(servername) &&
	    strcmp(was, servername) == 0 : !is_host_name(servername)))
		SSL_set_session(ssl, resume);
	bev = bufferevent_openssl_filter_new(base, under, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		snprintf(err, errlen, "cannot set up the TLS filter");
		return NULL;
	}
	/* A peer that closes without close_notify is common among MTAs. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void
asn1_time_iso(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	buf[0] = '\0';
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return;
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
collect_names(X509 *cert, char *buf, size_t len)
{
	GENERAL_NAMES *gens;
	int i, n;
	size_t o = 0;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return;
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int dl, w;

		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		dl = ASN1_STRING_length(g->d.dNSName);
		w = snprintf(buf + o, len - o, "%s%.*s", o ? "," : "", dl, d);
		if (w < 0 || (size_t)w >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)w;
	}
	GENERAL_NAMES_free(gens);
}

void
tlsconn_inspect(struct bufferevent *bev, const char *servername,
    struct tlsconn_info *info)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert;
	long vr;

	memset(info, 0, sizeof(*info));
	if (ssl == NULL)
		return;
	snprintf(info->version, sizeof(info->version), "%s",
	    SSL_get_version(ssl));
	snprintf(info->cipher, sizeof(info->cipher), "%s",
	    SSL_get_cipher_name(ssl));
	info->resumed = SSL_session_reused(ssl) == 1;
	vr = SSL_get_verify_result(ssl);
	info->verify_code = (int)vr;
	if (vr != X509_V_OK)
		snprintf(info->verify_error, sizeof(info->verify_error), "%s",
		    X509_verify_cert_error_string(vr));

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(info->verify_error, sizeof(info->verify_error),
		    "the server sent no certificate");
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(cert), info->subject,
	    sizeof(info->subject));
	X509_NAME_oneline(X509_get_issuer_name(cert), info->issuer,
	    sizeof(info->issuer));
	asn1_time_iso(X509_get0_notBefore(cert), info->not_before,
	    sizeof(info->not_before));
	asn1_time_iso(X509_get0_notAfter(cert), info->not_after,
	    sizeof(info->not_after));
	collect_names(cert, info->names, sizeof(info->names));
	info->expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
	info->not_yet_valid =
	    X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
	info->self_signed = (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;

	/* The chain verdict apart from the name: OpenSSL reports the first
	 * error it meets, so a name mismatch hides nothing else only when
	 * it is the error given. */
	info->chain_ok = vr == X509_V_OK || vr == X509_V_ERR_HOSTNAME_MISMATCH;
	if (is_host_name(servername)) {
		info->name_checked = true;
		info->name_match = X509_check_host(cert, servername, 0,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	}
	info->verified = vr == X509_V_OK &&
	    (!info->name_checked || info->name_match);
	X509_free(cert);
}

SSL_SESSION *
tlsconn_session(struct bufferevent *bev)
{
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	SSL_SESSION *cur, *sess;
	const char *name;

	if (ssl == NULL || (cur = SSL_get1_session(ssl)) == NULL)
		return NULL;
	/* A copy: freeing an SSL that did not send close_notify (the
	 * connection ends with QUIT) marks its own session not resumable. */
	sess = SSL_SESSION_is_resumable(cur) ? SSL_SESSION_dup(cur) : NULL;
	SSL_SESSION_free(cur);
	if (sess == NULL)
		return NULL;
	/* The name it was made for (a client's TLS 1.3 session does not
	 * keep its SNI): tlsconn_wrap() resumes it for that name only. */
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name != NULL && SSL_SESSION_set1_hostname(sess, name) != 1) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return sess;
}

const char *
tlsconn_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e, best = 0, pseudo = 0;

	/*
	 * libevent queues both OpenSSL error codes and, for some failures,
	 * the bare SSL_get_error() value (library 0).  Prefer the first real
	 * OpenSSL error: it is the most specific one.
	 */
	while (bev != NULL && (e = bufferevent_get_openssl_error(bev)) != 0) {
		if (ERR_GET_LIB(e) != 0) {
			if (best == 0)
				best = e;
		} else if (pseudo == 0)
			pseudo = e;
	}
	while ((e = ERR_get_error()) != 0)
		if (best == 0 && ERR_GET_LIB(e) != 0)
			best = e;
	if (best != 0) {
		const char *reason = ERR_reason_error_string(best);

		if (reason != NULL)
			snprintf(buf, len, "%s", reason);
		else
			ERR_error_string_n(best, buf, len);
	} else if (pseudo == SSL_ERROR_SYSCALL || pseudo == SSL_ERROR_ZERO_RETURN
	    || pseudo == 0)
		snprintf(buf, len, "the connection closed during the handshake");
	else
		snprintf(buf, len, "TLS protocol error (SSL error %lu)", pseudo);
	return buf;
}
