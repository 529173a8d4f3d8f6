/*
 * auth.h — the client side of SMTP AUTH (RFC 4954): choosing a SASL
 * mechanism among those the server offers, and encoding the messages of
 * PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195).
 *
 * Pure functions, no I/O.  Every buffer that held a secret is wiped with
 * OPENSSL_cleanse() before it is given back; callers wipe the encoded
 * output they receive (auth_wipe()) once it is sent.
 */
#ifndef SMTPPROBE_AUTH_H
#define SMTPPROBE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 4616 §2: authcid and passwd are at most 255 octets each. */
#define AUTH_USER_MAX		255
#define AUTH_PASSWORD_MAX	255
/* The longest line we send: "AUTH PLAIN " and base64 of
 * "\0" user "\0" password, with room to spare (RFC 4954 §4 allows
 * 12288 octets for the whole line). */
#define AUTH_LINE_MAX		1024

enum auth_mech {
	AUTH_MECH_AUTO,		/* the best the server offers */
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN,
	AUTH_MECH_CRAM_MD5,
	AUTH_MECH_COUNT
};

/* "PLAIN", "LOGIN", "CRAM-MD5" ("auto" for AUTH_MECH_AUTO). */
const char *auth_mech_name(enum auth_mech m);
/* Case-insensitive name to mechanism; -1 when unknown. */
int auth_mech_parse(const char *s);

/*
 * The mechanism to use: want when the server offers it (offered is the
 * space-separated list of its EHLO reply), else AUTH_MECH_AUTO (none).
 * With AUTH_MECH_AUTO: PLAIN, then LOGIN; on a connection that is not
 * encrypted CRAM-MD5 comes first, since it does not reveal the password.
 */
enum auth_mech auth_choose(enum auth_mech want, const char *offered,
    bool encrypted);

/* Standard base64 of in[0..n) into out (NUL-terminated); the length, or
 * -1 when out is too small. */
int auth_b64_encode(const unsigned char *in, size_t n, char *out,
    size_t outlen);
/* Decode base64 (no white space); the length, or -1. */
int auth_b64_decode(const char *in, size_t n, unsigned char *out,
    size_t outlen);

/* PLAIN initial response: base64("" NUL user NUL password).  Length of
 * out, or -1. */
int auth_plain_response(const char *user, const char *password, char *out,
    size_t outlen);
/* CRAM-MD5 response to the base64 challenge: base64(user SP hex(HMAC-MD5(
 * password, challenge))).  Length, or -1 (bad challenge, no MD5). */
int auth_cram_md5_response(const char *user, const char *password,
    const char *challenge_b64, size_t challenge_len, char *out,
    size_t outlen);

/* Wipe a buffer that held a secret. */
void auth_wipe(void *p, size_t n);

#endif
