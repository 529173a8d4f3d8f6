/*
 * fuzz_socks.c — the SOCKS 5 parsers (probe/core/socks.h) fed as conn.c feeds
 * them: the proxy's bytes arrive in chunks (the first input byte picks
 * the chunk size and whether username/password was offered), and the
 * three answers — method choice, RFC 1929 status, CONNECT reply — are
 * parsed in turn from one stream, each from the bytes left by the one
 * before.  Also the --proxy URL parser over the whole input as a string,
 * and the builders over what it gives.  Checks the promises of the
 * header: a parser never says it used more bytes than it was given, a
 * bound address is NUL-terminated text without control bytes, a URL
 * that parses has a port in range and prints back within bounds.
 */
#include <string.h>

#include "fuzz.h"
#include "socks.h"

/* The answer to parse next, as the handshake goes. */
enum step {
	STEP_HELLO,
	STEP_AUTH,
	STEP_REPLY,
	STEP_DONE
};

static enum socks_status
parse_step(enum step *st, const uint8_t *buf, size_t len, bool userpass,
    size_t *used)
{
	struct socks_reply r;
	char why[160];
	int v = -1;
	enum socks_status s;

	why[0] = '\0';
	switch (*st) {
	case STEP_HELLO:
		s = socks_hello_reply(buf, len, userpass, used, &v, why,
		    sizeof(why));
		if (s == SOCKS_DONE) {
			FUZZ_ASSERT(v == SOCKS_METHOD_NONE ||
			    v == SOCKS_METHOD_REFUSED ||
			    (userpass && v == SOCKS_METHOD_USERPASS));
			*st = v == SOCKS_METHOD_USERPASS ? STEP_AUTH :
			    STEP_REPLY;
		}
		break;
	case STEP_AUTH:
		s = socks_auth_reply(buf, len, used, &v, why, sizeof(why));
		if (s == SOCKS_DONE)
			*st = STEP_REPLY;
		break;
	default:
		s = socks_connect_reply(buf, len, used, &r, why, sizeof(why));
		if (s == SOCKS_DONE) {
			FUZZ_ASSERT(strlen(r.bound) < sizeof(r.bound));
			for (size_t i = 0; r.bound[i] != '\0'; i++)
				FUZZ_ASSERT((unsigned char)r.bound[i] >= 0x20 &&
				    r.bound[i] != 0x7f);
			FUZZ_ASSERT(r.port >= 0 && r.port <= 65535);
			FUZZ_ASSERT(socks_rep_text(r.rep) != NULL &&
			    socks_rep_name(r.rep) != NULL);
			*st = STEP_DONE;
		} else
			(void)socks_reply_code(buf, len, &v);
		break;
	}
	if (s == SOCKS_DONE)
		FUZZ_ASSERT(*used > 0 && *used <= len);
	if (s == SOCKS_BAD)
		FUZZ_ASSERT(why[0] != '\0' && strlen(why) < sizeof(why));
	return s;
}

static void
fuzz_url(const uint8_t *data, size_t size)
{
	struct socks_url u;
	uint8_t b[SOCKS_REQUEST_MAX];
	char err[512], shown[SOCKS_NAME_MAX * 2 + 64], *s;

	s = fuzz_strndup(data, size, 2048);
	if (socks_url_parse(s, &u, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(u.port >= 1 && u.port <= 65535);
		FUZZ_ASSERT(u.host[0] != '\0');
		socks_url_str(&u, shown, sizeof(shown));
		FUZZ_ASSERT(strlen(shown) < sizeof(shown));
		(void)socks_connect_name(u.host, u.port, b, sizeof(b));
		if (u.user[0] != '\0')
			(void)socks_auth(u.user, u.host, b, sizeof(b));
	} else
		FUZZ_ASSERT(err[0] != '\0');
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pending[SOCKS_REPLY_MAX + 256];
	enum step st = STEP_HELLO;
	size_t chunk, off, plen = 0, used;
	bool userpass;

	if (size == 0)
		return 0;
	fuzz_url(data, size);
	/* Bytes per read 1..128; the top bit: username/password offered. */
	chunk = (data[0] & 0x7f) + 1;
	userpass = (data[0] & 0x80) != 0;
	data++;
	size--;
	for (off = 0; off < size && st != STEP_DONE; ) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (n > sizeof(pending) - plen)
			n = sizeof(pending) - plen;
		memcpy(pending + plen, data + off, n);
		plen += n;
		off += n;
		for (;;) {
			enum socks_status s;

			used = 0;
			s = parse_step(&st, pending, plen, userpass, &used);
			if (s == SOCKS_BAD)
				return 0;
			if (s == SOCKS_MORE || st == STEP_DONE)
				break;
			memmove(pending, pending + used, plen - used);
			plen -= used;
		}
		/* conn.c gives up once a reply could not be complete. */
		if (plen >= SOCKS_REPLY_MAX)
			return 0;
	}
	return 0;
}
