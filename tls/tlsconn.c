/*
 * tlsconn.c — OpenSSL client side: context, TLS filter, DANE, inspection.
 *
 * Owns the SSL_CTX it creates (freed by tlsconn_ctx_free) and hands each
 * SSL object to the filter bufferevent (BEV_OPT_CLOSE_ON_FREE frees it).
 * DANE matching is OpenSSL's (SSL_dane_enable, SSL_dane_tlsa_add); the
 * PKIX verdict is then computed apart, so that both can be reported.
 * At most TLSCONN_MAX_CHAIN certificates of a chain are described.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
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

/* A file name made by c_rehash / update-ca-certificates: 8 hex digits,
 * a dot, a number ("3513523f.0"). */
static bool
is_hash_link(const char *name)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	if (name[8] != '.' || name[9] == '\0')
		return false;
	for (i = 9; name[i] != '\0'; i++)
		if (!isdigit((unsigned char)name[i]))
			return false;
	return true;
}

/* True when dir holds hashed certificate links. */
static bool
hashed_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	bool found = false;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = is_hash_link(de->d_name);
	closedir(d);
	return found;
}

/* a and b name the same file (after symbolic links). */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The system's trust anchors.  SSL_CTX_set_default_verify_paths() parses
 * the whole bundle file (about 140 certificates on Debian, 15-20 ms of
 * CPU) at start-up, whether or not a chain is ever checked.  The hashed
 * directory holds the same anchors (update-ca-certificates writes both),
 * looked up by issuer name when a chain is verified and costing nothing
 * before: it is used alone when it is there.  SSL_CERT_FILE naming any
 * other file than the system bundle is the user's choice and is loaded.
 */
static int
load_system_anchors(SSL_CTX *ctx)
{
	const char *file = getenv(X509_get_default_cert_file_env());
	const char *dir = getenv(X509_get_default_cert_dir_env());

	if (dir == NULL)
		dir = X509_get_default_cert_dir();
	if ((file == NULL || same_file(file, X509_get_default_cert_file())) &&
	    hashed_dir(dir))
		return SSL_CTX_load_verify_dir(ctx, dir);
	return SSL_CTX_set_default_verify_paths(ctx);
}

/* The trust anchors: cafile, or the system's. */
static int
load_anchors(SSL_CTX *ctx, const char *cafile, char *err, size_t errlen)
{
	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(err, errlen, "cannot load trust anchors from "
			    "%s: %s", cafile, ssl_reason());
			return -1;
		}
	} else if (load_system_anchors(ctx) != 1) {
		snprintf(err, errlen, "cannot load the system's trust "
		    "anchors: %s", ssl_reason());
		return -1;
	}
	return 0;
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
	/*
	 * A probe must see what a server offers to report it: TLS 1.0 and
	 * 1.1 (retired by RFC 8996), 1024-bit keys and SHA-1 signatures
	 * are accepted here (security level 0) and become findings; an
	 * opportunistic sender would rather use them than clear text.
	 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(ctx, 0);
	/* Verify, but never abort the handshake for it: the result is read
	 * afterwards with SSL_get_verify_result() and reported. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		snprintf(err, errlen, "cannot enable DANE: %s", ssl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (load_anchors(ctx, cafile, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *
tlsconn_ctx_new_verified(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create the TLS context: %s",
		    ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (load_anchors(ctx, cafile, err, errlen) != 0) {
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

SSL *
tlsconn_ssl_verified(SSL_CTX *ctx, const char *host)
{
	SSL *ssl;

	if (!is_host_name(host) || (ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_tlsext_host_name(ssl, host);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

bool
tlsconn_tlsa_usable(const struct tlsconn_tlsa *t)
{
	/* RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP. */
	if ((t->usage != 2 && t->usage != 3) || t->selector > 1)
		return false;
	switch (t->mtype) {
	case 0:
		return t->len > 0;
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return false;
	}
}

/* SSL_set_msg_callback: keep the first record header received. */
static void
on_msg(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct tlsconn_peek *pk = arg;

	(void)version;
	(void)ssl;
	if (write_p || content_type != SSL3_RT_HEADER || pk->n > 0)
		return;
	pk->n = len < sizeof(pk->bytes) ? len : sizeof(pk->bytes);
	memcpy(pk->bytes, buf, pk->n);
}

/* DANE for one handshake (RFC 7672 §3): the TLSA base domain is the MX
 * name; DANE-EE(3) matches skip the name check (§3.1.1). */
static int
dane_setup(SSL *ssl, const struct tlsconn_params *tp)
{
	size_t i;
	int added = 0;

	if (tp->ntlsa == 0 || !is_host_name(tp->servername))
		return 0;
	for (i = 0; i < tp->ntlsa; i++)
		if (tlsconn_tlsa_usable(&tp->tlsa[i]))
			break;
	if (i == tp->ntlsa)
		return 0;
	if (SSL_dane_enable(ssl, tp->servername) <= 0)
		return -1;
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (i = 0; i < tp->ntlsa; i++) {
		const struct tlsconn_tlsa *t = &tp->tlsa[i];

		if (tlsconn_tlsa_usable(t) && SSL_dane_tlsa_add(ssl, t->usage,
		    t->selector, t->mtype, t->data, t->len) > 0)
			added++;
	}
	ERR_clear_error();
	return added;
}

struct bufferevent *
tlsconn_wrap(struct event_base *base, SSL_CTX *ctx, struct bufferevent *under,
    const struct tlsconn_params *tp, char *err, size_t errlen)
{
	const char *was;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		snprintf(err, errlen, "cannot create a TLS session: %s",
		    ssl_reason());
		return NULL;
	}
	if (dane_setup(ssl, tp) < 0) {
		snprintf(err, errlen, "cannot set up DANE: %s",
		    ssl_reason());
		SSL_free(ssl);
		return NULL;
	}
	if (is_host_name(tp->servername)) {
		SSL_set_tlsext_host_name(ssl, tp->servername);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(ssl, tp->servername);
	}
	/* Ask for a stapled OCSP response; whether one came is a fact. */
	SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
	if (tp->peek != NULL) {
		tp->peek->n = 0;
		SSL_set_msg_callback(ssl, on_msg);
		SSL_set_msg_callback_arg(ssl, tp->peek);
	}
	/* A resumed session's certificates are those it kept: only a
	 * session made for the same name is offered, so that they are
	 * right for it. */
	was = tp->resume != NULL ? SSL_SESSION_get0_hostname(tp->resume) :
	    NULL;
	if (tp->resume != NULL && tp->ntlsa == 0 && (was != NULL ?
	    is_host_name(tp->servername) && strcmp(was, tp->servername) == 0 :
	    !is_host_name(tp->servername)))
		SSL_set_session(ssl, tp->resume);
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
tlsconn_hex(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outlen == 0)
		return;
	for (i = 0; i < len && o + 2 < outlen; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 0xf];
	}
	out[o] = '\0';
}

/* "AB:CD:..." as openssl x509 -fingerprint prints it. */
static void
colon_hex(const unsigned char *md, unsigned n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned i;

	for (i = 0; i < n && o + 3 < outlen; i++) {
		if (i > 0)
			out[o++] = ':';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 0xf];
	}
	out[o] = '\0';
}

/* The SHA-256 of the certificate and of its DER SubjectPublicKeyInfo
 * (what a TLSA record with selector 1 hashes, RFC 6698 §2.1.2). */
static void
fingerprints(X509 *cert, struct tlsconn_cert *c)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int n = 0;
	int dl;

	if (X509_digest(cert, EVP_sha256(), md, &n) == 1)
		colon_hex(md, n, c->sha256, sizeof(c->sha256));
	dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (dl > 0 && EVP_Digest(der, (size_t)dl, md, &n, EVP_sha256(),
	    NULL) == 1)
		colon_hex(md, n, c->spki_sha256, sizeof(c->spki_sha256));
	OPENSSL_free(der);
}

static void
key_facts(X509 *cert, struct tlsconn_cert *c)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	const char *t;
	size_t glen = 0;
	int md_nid = NID_undef, pk_nid = NID_undef;
	int sig = X509_get_signature_nid(cert);

	if (pk != NULL) {
		switch (EVP_PKEY_get_base_id(pk)) {
		case EVP_PKEY_RSA:
		case EVP_PKEY_RSA_PSS:
			t = "RSA";
			break;
		case EVP_PKEY_EC:
			t = "EC";
			(void)EVP_PKEY_get_group_name(pk, c->key_group,
			    sizeof(c->key_group), &glen);
			break;
		case EVP_PKEY_ED25519:
			t = "Ed25519";
			break;
		case EVP_PKEY_ED448:
			t = "Ed448";
			break;
		case EVP_PKEY_DSA:
			t = "DSA";
			break;
		default:
			t = "other";
			break;
		}
		snprintf(c->key_type, sizeof(c->key_type), "%s", t);
		c->key_bits = EVP_PKEY_get_bits(pk);
	}
	snprintf(c->sig_alg, sizeof(c->sig_alg), "%s", sig != NID_undef ?
	    OBJ_nid2ln(sig) : "unknown");
	if (OBJ_find_sigid_algs(sig, &md_nid, &pk_nid) == 1)
		c->sig_sha1 = md_nid == NID_sha1 || md_nid == NID_md5;
}

static void
describe_cert(X509 *cert, struct tlsconn_cert *c)
{
	int day = 0, sec = 0;

	X509_NAME_oneline(X509_get_subject_name(cert), c->subject,
	    sizeof(c->subject));
	X509_NAME_oneline(X509_get_issuer_name(cert), c->issuer,
	    sizeof(c->issuer));
	asn1_time_iso(X509_get0_notBefore(cert), c->not_before,
	    sizeof(c->not_before));
	asn1_time_iso(X509_get0_notAfter(cert), c->not_after,
	    sizeof(c->not_after));
	collect_names(cert, c->names, sizeof(c->names));
	if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(cert)) == 1)
		c->days_left = day - (sec < 0 && day <= 0 ? 1 : 0);
	c->self_signed = (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
	key_facts(cert, c);
	fingerprints(cert, c);
}

/*
 * A wildcard name of the certificate that the host name does not fit
 * because it has more labels than the wildcard covers ("*.example.com"
 * covers "mx.example.com", never "mx.eu.example.com", RFC 6125
 * §6.4.3).  Copied into out; "" when there is none.
 */
static void
wildcard_miss(const char *names, const char *host, char *out, size_t len)
{
	const char *p = names, *end;
	size_t hl = strlen(host), n, sl;

	out[0] = '\0';
	while (*p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 2 && p[0] == '*' && p[1] == '.') {
			sl = n - 1;	/* ".example.com" */
			if (hl > sl && strncasecmp(host + hl - sl, p + 1,
			    sl) == 0 && memchr(host, '.', hl - sl) != NULL) {
				snprintf(out, len, "%.*s", (int)n, p);
				return;
			}
		}
		p += n + (end != NULL ? 1 : 0);
	}
}

/*
 * PKIX apart from DANE and from the handshake's security level 0: the
 * chain against the trust anchors, and the name, at security level 1, as
 * OpenSSL's clients (Postfix among them) check by default, so that a
 * SHA-1 signature or a key under 80 bits of strength does not verify.
 * X509_V_OK or the error.
 */
static long
pkix_verify(SSL *ssl, X509 *leaf, const char *name)
{
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	long r = X509_V_ERR_UNSPECIFIED;

	if (sc == NULL)
		return r;
	if (X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(
	    SSL_get_SSL_CTX(ssl)), leaf, SSL_get_peer_cert_chain(ssl)) == 1) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);

		X509_STORE_CTX_set_default(sc, "ssl_server");
		X509_VERIFY_PARAM_set_auth_level(vp, 1);
		if (name != NULL) {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			X509_VERIFY_PARAM_set1_host(vp, name, 0);
		}
		r = X509_verify_cert(sc) == 1 ? X509_V_OK :
		    X509_STORE_CTX_get_error(sc);
	}
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	return r;
}

/* The chain as presented (the leaf first); true when at least the
 * leaf is described. */
static bool
describe_chain(SSL *ssl, X509 *leaf, struct tlsconn_info *info)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);
	size_t i, n = sk != NULL ? (size_t)sk_X509_num(sk) : 0;
	size_t keep = n == 0 ? 1 : n < TLSCONN_MAX_CHAIN ? n :
	    TLSCONN_MAX_CHAIN;

	if ((info->chain = calloc(keep, sizeof(*info->chain))) == NULL) {
		info->chain_more = n > 0 ? n : 1;
		return false;
	}
	info->nchain = keep;
	info->chain_more = n > keep ? n - keep : 0;
	if (n == 0)
		describe_cert(leaf, &info->chain[0]);
	for (i = 0; i < n && i < keep; i++)
		describe_cert(sk_X509_value(sk, (int)i), &info->chain[i]);
	return true;
}

void
tlsconn_info_clear(struct tlsconn_info *info)
{
	free(info->chain);
	memset(info, 0, sizeof(*info));
}

bool
tlsconn_info_copy(struct tlsconn_info *dst, const struct tlsconn_info *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->chain = NULL;
	dst->nchain = 0;
	if (src->nchain == 0)
		return true;
	if ((dst->chain = malloc(src->nchain * sizeof(*dst->chain))) == NULL) {
		dst->chain_more += src->nchain;
		return false;
	}
	memcpy(dst->chain, src->chain, src->nchain * sizeof(*dst->chain));
	dst->nchain = src->nchain;
	return true;
}

static void
dane_facts(SSL *ssl, const struct tlsconn_params *tp,
    struct tlsconn_info *info)
{
	uint8_t u, s, m;
	const unsigned char *data;
	size_t i, dlen;

	for (i = 0; i < tp->ntlsa; i++)
		if (tlsconn_tlsa_usable(&tp->tlsa[i]))
			info->tlsa_usable++;
	if (SSL_get0_dane(ssl) == NULL || info->tlsa_usable == 0)
		return;
	info->dane_depth = SSL_get0_dane_authority(ssl, NULL, NULL);
	if (info->dane_depth < 0 || SSL_get0_dane_tlsa(ssl, &u, &s, &m,
	    &data, &dlen) < 0) {
		info->dane = TLSCONN_DANE_MISMATCH;
		return;
	}
	info->dane = TLSCONN_DANE_MATCH;
	info->dane_usage = u;
	info->dane_selector = s;
	info->dane_mtype = m;
	tlsconn_hex(data, dlen, info->dane_data, sizeof(info->dane_data));
}

void
tlsconn_inspect(struct bufferevent *bev, const struct tlsconn_params *tp,
    struct tlsconn_info *info)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	const unsigned char *ocsp = NULL;
	const char *name = is_host_name(tp->servername) ? tp->servername : NULL;
	X509 *cert;
	long vr, pkix;

	tlsconn_info_clear(info);
	if (ssl == NULL)
		return;
	snprintf(info->version, sizeof(info->version), "%s",
	    SSL_get_version(ssl));
	info->version_num = SSL_version(ssl);
	snprintf(info->cipher, sizeof(info->cipher), "%s",
	    SSL_get_cipher_name(ssl));
	info->resumed = SSL_session_reused(ssl) == 1;
	info->ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0 &&
	    ocsp != NULL;
	vr = SSL_get_verify_result(ssl);
	dane_facts(ssl, tp, info);

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(info->verify_error, sizeof(info->verify_error),
		    "the server sent no certificate");
		info->verify_code = (int)vr;
		return;
	}
	if (describe_chain(ssl, cert, info)) {
		const struct tlsconn_cert *c = &info->chain[0];

		memcpy(info->subject, c->subject, sizeof(info->subject));
		memcpy(info->issuer, c->issuer, sizeof(info->issuer));
		memcpy(info->not_before, c->not_before,
		    sizeof(info->not_before));
		memcpy(info->not_after, c->not_after, sizeof(info->not_after));
		memcpy(info->names, c->names, sizeof(info->names));
		info->self_signed = c->self_signed;
	}
	info->expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
	info->not_yet_valid =
	    X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;

	/* The handshake's verdict is DANE's when DANE is in use, and at
	 * security level 0 in any case; the PKIX one is computed apart. */
	pkix = pkix_verify(ssl, cert, name);
	info->verify_code = (int)pkix;
	if (pkix != X509_V_OK)
		snprintf(info->verify_error, sizeof(info->verify_error), "%s",
		    X509_verify_cert_error_string(pkix));
	/* The chain verdict apart from the name: OpenSSL reports the first
	 * error it meets, so a name mismatch hides nothing else only when
	 * it is the error given. */
	info->chain_ok = pkix == X509_V_OK ||
	    pkix == X509_V_ERR_HOSTNAME_MISMATCH;
	if (name != NULL) {
		info->name_checked = true;
		info->name_match = X509_check_host(cert, name, 0,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
		if (!info->name_match)
			wildcard_miss(info->names, name, info->wildcard_miss,
			    sizeof(info->wildcard_miss));
	}
	if (info->dane == TLSCONN_DANE_MATCH)
		/* RFC 7672 §3.1: the match authenticates the server (the
		 * name is checked for DANE-TA only, by OpenSSL). */
		info->verified = vr == X509_V_OK;
	else if (info->dane == TLSCONN_DANE_MISMATCH)
		/* §2.2: with usable TLSA records, PKIX is no substitute. */
		info->verified = false;
	else
		info->verified = pkix == X509_V_OK &&
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

bool
tlsconn_looks_like_record(const unsigned char *p, size_t n)
{
	/* RFC 8446 §5.1: content type 20-23, legacy version 3.x. */
	return n >= 3 && p[0] >= 20 && p[0] <= 23 && p[1] == 3 && p[2] <= 4;
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
