/*
 * auth.c — SASL for SMTP AUTH: mechanism choice and message encoding.
 *
 * PLAIN (RFC 4616) sends user and password in one base64 blob; LOGIN
 * sends them one after the other in answer to two 334 prompts; CRAM-MD5
 * (RFC 2195) answers the server's challenge with an HMAC-MD5 keyed by
 * the password, so the password itself never crosses the wire.  Every
 * intermediate buffer that held the password or a message derived from
 * it is wiped with OPENSSL_cleanse() before returning.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "names.h"

static const char *const mech_names[AUTH_MECH_COUNT] = {
	"auto", "PLAIN", "LOGIN", "CRAM-MD5",
};

const char *
auth_mech_name(enum auth_mech m)
{
	return NAME_OF(mech_names, m, "unknown");
}

int
auth_mech_parse(const char *s)
{
	for (int i = 0; i < AUTH_MECH_COUNT; i++)
		if (strcasecmp(s, mech_names[i]) == 0)
			return i;
	return -1;
}

/* Is word w in the space-separated list? */
static bool
offers(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

enum auth_mech
auth_choose(enum auth_mech want, const char *offered, bool encrypted)
{
	static const enum auth_mech tls_order[] = {
		AUTH_MECH_PLAIN, AUTH_MECH_LOGIN, AUTH_MECH_CRAM_MD5,
	};
	/* Without TLS, CRAM-MD5 first: it keeps the password off the wire. */
	static const enum auth_mech plain_order[sizeof(tls_order) /
	    sizeof(tls_order[0])] = {
		AUTH_MECH_CRAM_MD5, AUTH_MECH_PLAIN, AUTH_MECH_LOGIN,
	};
	const enum auth_mech *order = encrypted ? tls_order : plain_order;

	if (offered == NULL)
		return AUTH_MECH_AUTO;
	if (want != AUTH_MECH_AUTO)
		return offers(offered, auth_mech_name(want)) ? want :
		    AUTH_MECH_AUTO;
	for (size_t i = 0; i < sizeof(tls_order) / sizeof(tls_order[0]); i++)
		if (offers(offered, auth_mech_name(order[i])))
			return order[i];
	return AUTH_MECH_AUTO;
}

int
auth_b64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t need = 4 * ((n + 2) / 3) + 1;

	if (need > outlen || n > 0x10000)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
auth_b64_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	size_t o = 0, i;
	unsigned acc = 0;
	int bits = 0, v;

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if ((v = b64_value(in[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)o;
}

int
auth_plain_response(const char *user, const char *password, char *out,
    size_t outlen)
{
	unsigned char msg[AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2];
	size_t ul = strlen(user), pl = strlen(password);
	int n;

	if (ul > AUTH_USER_MAX || pl > AUTH_PASSWORD_MAX)
		return -1;
	/* RFC 4616 §2: [authzid] NUL authcid NUL passwd; no authzid. */
	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, password, pl);
	n = auth_b64_encode(msg, ul + pl + 2, out, outlen);
	OPENSSL_cleanse(msg, sizeof(msg));
	return n;
}

int
auth_cram_md5_response(const char *user, const char *password,
    const char *challenge_b64, size_t challenge_len, char *out,
    size_t outlen)
{
	unsigned char chal[512], md[EVP_MAX_MD_SIZE];
	char resp[AUTH_USER_MAX + 2 + 2 * 16 + 1];
	unsigned mdlen = 0;
	int cl, n = -1;
	size_t ul = strlen(user), i;

	if (ul > AUTH_USER_MAX ||
	    (cl = auth_b64_decode(challenge_b64, challenge_len, chal,
	    sizeof(chal))) <= 0)
		return -1;
	if (HMAC(EVP_md5(), password, (int)strlen(password), chal,
	    (size_t)cl, md, &mdlen) == NULL || mdlen != 16)
		goto out;
	memcpy(resp, user, ul);
	resp[ul] = ' ';
	for (i = 0; i < 16; i++)
		snprintf(resp + ul + 1 + 2 * i, 3, "%02x", md[i]);
	n = auth_b64_encode((unsigned char *)resp, ul + 1 + 32, out, outlen);
out:
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(resp, sizeof(resp));
	return n;
}

void
auth_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
