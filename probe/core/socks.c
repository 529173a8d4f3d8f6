/*
 * socks.c — SOCKS 5 messages and the proxy URL (socks.h).
 *
 * RFC 1928 §3 (method negotiation), §4 (requests), §5 (addressing), §6
 * (replies); RFC 1929 §2 (username/password).  Pure functions over
 * caller buffers; every length taken from the proxy is checked against
 * the bytes at hand before it is used.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socks.h"

static void
why_set(char *why, size_t whylen, const char *text)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", text);
}

/* What a first byte other than 5 says about the answering service. */
static enum socks_status
bad_version(const uint8_t *buf, size_t len, int want, char *why,
    size_t whylen)
{
	char msg[160];

	if (buf[0] == 4)
		snprintf(msg, sizeof(msg), "the proxy answered with SOCKS "
		    "version 4, not %d (it does not speak SOCKS 5)", want);
	else if (len >= 4 && memcmp(buf, "HTTP", 4) == 0)
		snprintf(msg, sizeof(msg), "the proxy answered in HTTP: it "
		    "is an HTTP proxy, not a SOCKS 5 proxy");
	else
		snprintf(msg, sizeof(msg), "the proxy answered with version "
		    "byte %u, not %d: not a SOCKS 5 answer", buf[0], want);
	why_set(why, whylen, msg);
	return SOCKS_BAD;
}

/* The start of an answer of version want: SOCKS_DONE once its first
 * need bytes are in, SOCKS_MORE before, SOCKS_BAD for another version.
 * A 5 passes for any want (socks_auth_reply() needs that). */
static enum socks_status
reply_head(const uint8_t *buf, size_t len, size_t need, int want, char *why,
    size_t whylen)
{
	if (len < 1)
		return SOCKS_MORE;
	if (buf[0] != want && buf[0] != SOCKS_VERSION)
		return bad_version(buf, len, want, why, whylen);
	return len < need ? SOCKS_MORE : SOCKS_DONE;
}

/* ---- the URL ------------------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The user part, %XX decoded; -1 when it is not acceptable. */
static int
url_user(const char *s, size_t n, char *out, size_t outlen, char *err,
    size_t errlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == ':') {
			snprintf(err, errlen, "--proxy: the URL must not "
			    "hold a password (others can read the command line "
			    "and the environment of a process); give it with "
			    "--proxy-password-file FILE or in "
			    "SMTPPROBE_PROXY_PASSWORD");
			return -1;
		}
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= outlen) {
			snprintf(err, errlen, "--proxy: the user name must be "
			    "1-%d bytes without control characters",
			    SOCKS_USER_MAX);
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o == 0) {
		snprintf(err, errlen, "--proxy: an empty user name before "
		    "'@'");
		return -1;
	}
	return 0;
}

/* host[:port] or [IPv6][:port]; -1 when it is not acceptable. */
static int
url_hostport(const char *s, size_t n, struct socks_url *u, char *err,
    size_t errlen)
{
	const char *port = NULL, *end = s + n;
	size_t hn;
	unsigned char ab[16];
	long p = 0;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			goto bad;
		hn = (size_t)(close - s - 1);
		if (hn == 0 || hn >= sizeof(u->host))
			goto bad;
		memcpy(u->host, s + 1, hn);
		u->host[hn] = '\0';
		if (inet_pton(AF_INET6, u->host, ab) != 1)
			goto bad;
		if (close + 1 < end && close[1] != ':')
			goto bad;
		port = close + 1 < end ? close + 2 : NULL;
	} else {
		const char *colon = memchr(s, ':', n);

		hn = colon != NULL ? (size_t)(colon - s) : n;
		if (hn == 0 || hn >= sizeof(u->host))
			goto bad;
		memcpy(u->host, s, hn);
		u->host[hn] = '\0';
		for (size_t i = 0; i < hn; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
			    s[i] != '-' && s[i] != '_')
				goto bad;
		port = colon != NULL ? colon + 1 : NULL;
	}
	u->port = SOCKS_DEFAULT_PORT;
	if (port != NULL) {
		if (port >= end || end - port > 5)
			goto bad;
		for (const char *c = port; c < end; c++) {
			if (!isdigit((unsigned char)*c))
				goto bad;
			p = p * 10 + (*c - '0');
		}
		if (p < 1 || p > 65535)
			goto bad;
		u->port = (int)p;
	}
	return 0;
bad:
	snprintf(err, errlen, "--proxy: give the proxy as HOST, HOST:PORT or "
	    "[IPv6]:PORT (a port from 1 to 65535)");
	return -1;
}

int
socks_url_parse(const char *s, struct socks_url *u, char *err,
    size_t errlen)
{
	const char *rest, *at;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "socks5h://", 10) == 0) {
		u->remote_dns = true;
		rest = s + 10;
	} else if (strncasecmp(s, "socks5://", 9) == 0)
		rest = s + 9;
	else {
		snprintf(err, errlen, "--proxy: give socks5://[USER@]HOST:PORT "
		    "or socks5h://[USER@]HOST:PORT (SOCKS 5 only)");
		return -1;
	}
	n = strlen(rest);
	if (n > 0 && rest[n - 1] == '/')
		n--;
	if (n == 0 || memchr(rest, '/', n) != NULL ||
	    memchr(rest, '?', n) != NULL || memchr(rest, '#', n) != NULL) {
		snprintf(err, errlen, "--proxy: give socks5://[USER@]HOST:PORT "
		    "or socks5h://[USER@]HOST:PORT, nothing after the port");
		return -1;
	}
	/* The last '@' ends the user part: a name of the host never holds
	 * one. */
	at = NULL;
	for (size_t i = 0; i < n; i++)
		if (rest[i] == '@')
			at = rest + i;
	if (at != NULL) {
		if (url_user(rest, (size_t)(at - rest), u->user,
		    sizeof(u->user), err, errlen) != 0)
			return -1;
		n -= (size_t)(at + 1 - rest);
		rest = at + 1;
	}
	return url_hostport(rest, n, u, err, errlen);
}

void
socks_url_str(const struct socks_url *u, char *buf, size_t len)
{
	bool v6 = strchr(u->host, ':') != NULL;

	snprintf(buf, len, "%s://%s%s%s%s%s:%d", u->remote_dns ? "socks5h" :
	    "socks5", u->user, u->user[0] ? "@" : "", v6 ? "[" : "", u->host,
	    v6 ? "]" : "", u->port);
}

/* ---- method negotiation (RFC 1928 §3) ----------------------------------- */

size_t
socks_hello(bool userpass, uint8_t *buf, size_t len)
{
	size_t n = userpass ? 4 : 3;

	if (len < n)
		return 0;
	buf[0] = SOCKS_VERSION;
	buf[1] = userpass ? 2 : 1;
	buf[2] = SOCKS_METHOD_NONE;
	if (userpass)
		buf[3] = SOCKS_METHOD_USERPASS;
	return n;
}

enum socks_status
socks_hello_reply(const uint8_t *buf, size_t len, bool userpass,
    size_t *used, int *method, char *why, size_t whylen)
{
	enum socks_status st;

	if ((st = reply_head(buf, len, 2, SOCKS_VERSION, why, whylen)) !=
	    SOCKS_DONE)
		return st;
	*method = buf[1];
	*used = 2;
	if (buf[1] == SOCKS_METHOD_NONE || buf[1] == SOCKS_METHOD_REFUSED ||
	    (userpass && buf[1] == SOCKS_METHOD_USERPASS))
		return SOCKS_DONE;
	why_set(why, whylen, "the proxy chose an authentication method "
	    "that was not offered");
	return SOCKS_BAD;
}

/* ---- username/password (RFC 1929 §2) ------------------------------------ */

size_t
socks_auth(const char *user, const char *password, uint8_t *buf, size_t len)
{
	size_t ul = strlen(user), pl = strlen(password);

	if (ul == 0 || ul > SOCKS_USER_MAX || pl == 0 ||
	    pl > SOCKS_PASSWORD_MAX || len < 3 + ul + pl)
		return 0;
	buf[0] = SOCKS_AUTH_VERSION;
	buf[1] = (uint8_t)ul;
	memcpy(buf + 2, user, ul);
	buf[2 + ul] = (uint8_t)pl;
	memcpy(buf + 3 + ul, password, pl);
	return 3 + ul + pl;
}

enum socks_status
socks_auth_reply(const uint8_t *buf, size_t len, size_t *used, int *status,
    char *why, size_t whylen)
{
	enum socks_status st;

	/* RFC 1929 §2 says version 1; a few servers answer with 5. */
	if ((st = reply_head(buf, len, 2, SOCKS_AUTH_VERSION, why, whylen)) !=
	    SOCKS_DONE)
		return st;
	*status = buf[1];
	*used = 2;
	return SOCKS_DONE;
}

/* ---- CONNECT (RFC 1928 §4, §5) ------------------------------------------ */

size_t
socks_connect_addr(const struct sockaddr *sa, uint8_t *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	size_t alen;

	if (sa->sa_family == AF_INET)
		alen = 4;
	else if (sa->sa_family == AF_INET6)
		alen = 16;
	else
		return 0;
	if (len < 6 + alen)
		return 0;
	buf[0] = SOCKS_VERSION;
	buf[1] = 1;		/* CONNECT */
	buf[2] = 0;		/* RSV */
	if (alen == 4) {
		buf[3] = SOCKS_ATYP_IPV4;
		memcpy(buf + 4, &sin->sin_addr, 4);
		memcpy(buf + 8, &sin->sin_port, 2);
	} else {
		buf[3] = SOCKS_ATYP_IPV6;
		memcpy(buf + 4, &sin6->sin6_addr, 16);
		memcpy(buf + 20, &sin6->sin6_port, 2);
	}
	return 6 + alen;
}

size_t
socks_connect_name(const char *host, int port, uint8_t *buf, size_t len)
{
	size_t n = strlen(host);

	if (n == 0 || n > SOCKS_NAME_MAX || port < 1 || port > 65535 ||
	    len < 7 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == 0x7f)
			return 0;
	buf[0] = SOCKS_VERSION;
	buf[1] = 1;		/* CONNECT */
	buf[2] = 0;
	buf[3] = SOCKS_ATYP_DOMAIN;
	buf[4] = (uint8_t)n;
	memcpy(buf + 5, host, n);
	buf[5 + n] = (uint8_t)(port >> 8);
	buf[6 + n] = (uint8_t)(port & 0xff);
	return 7 + n;
}

enum socks_status
socks_connect_reply(const uint8_t *buf, size_t len, size_t *used,
    struct socks_reply *r, char *why, size_t whylen)
{
	enum socks_status st;
	size_t alen, i;

	if ((st = reply_head(buf, len, 5, SOCKS_VERSION, why, whylen)) !=
	    SOCKS_DONE)
		return st;
	memset(r, 0, sizeof(*r));
	r->rep = buf[1];
	r->atyp = buf[3];
	/* RSV (buf[2]) is not checked: it carries nothing. */
	switch (buf[3]) {
	case SOCKS_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS_ATYP_DOMAIN:
		alen = 1 + (size_t)buf[4];
		break;
	default:
		why_set(why, whylen, "the proxy's reply has an unknown "
		    "address type");
		return SOCKS_BAD;
	}
	if (len < 4 + alen + 2)
		return SOCKS_MORE;
	if (buf[3] == SOCKS_ATYP_DOMAIN) {
		for (i = 0; i < alen - 1; i++)
			r->bound[i] = buf[5 + i] < 0x20 || buf[5 + i] >= 0x7f ?
			    '?' : (char)buf[5 + i];
		r->bound[alen - 1] = '\0';
	} else
		inet_ntop(alen == 4 ? AF_INET : AF_INET6, buf + 4, r->bound,
		    sizeof(r->bound));
	r->port = buf[4 + alen] << 8 | buf[5 + alen];
	*used = 4 + alen + 2;
	return SOCKS_DONE;
}

bool
socks_reply_code(const uint8_t *buf, size_t len, int *rep)
{
	if (len < 2 || buf[0] != SOCKS_VERSION)
		return false;
	*rep = buf[1];
	return true;
}

/* ---- names ---------------------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*text;
} reps[] = {
	{ "succeeded", "succeeded" },
	{ "general_failure", "general SOCKS server failure" },
	{ "not_allowed", "connection not allowed by ruleset" },
	{ "network_unreachable", "network unreachable" },
	{ "host_unreachable", "host unreachable" },
	{ "connection_refused", "connection refused" },
	{ "ttl_expired", "TTL expired" },
	{ "command_not_supported", "command not supported" },
	{ "address_type_not_supported", "address type not supported" },
};

const char *
socks_rep_text(int rep)
{
	return rep >= 0 && (size_t)rep < sizeof(reps) / sizeof(reps[0]) ?
	    reps[rep].text : "unassigned reply code";
}

const char *
socks_rep_name(int rep)
{
	return rep >= 0 && (size_t)rep < sizeof(reps) / sizeof(reps[0]) ?
	    reps[rep].name : "unassigned";
}

const char *
socks_method_name(int method)
{
	switch (method) {
	case SOCKS_METHOD_NONE: return "none";
	case SOCKS_METHOD_USERPASS: return "username_password";
	case SOCKS_METHOD_REFUSED: return "no_acceptable_method";
	default: return "other";
	}
}
