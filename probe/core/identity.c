/*
 * identity.c — the pure part of the identity facts (identity.h): names
 * and addresses compared, validated and read out of server text, and
 * which of the client's addresses speaks for it; the client audit's
 * records, copied and freed (allocated when the audit starts and when a
 * reverse-DNS look-up is made, result_client()).  The look-ups are the
 * engine's (engine/identity_run.c), the explanations the diagnosis's
 * (diag/identity_diag.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "identity.h"

const char *
ident_check_name(enum ident_check c)
{
	switch (c) {
	case IDENT_YES: return "yes";
	case IDENT_NO: return "no";
	case IDENT_UNKNOWN: return "unknown";
	default: return "unchecked";
	}
}

/*
 * Pure helpers.
 */

bool
identity_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

bool
identity_hostname_valid(const char *name)
{
	const char *last;
	size_t i;
	bool digits_only = true;

	if (name == NULL || !address_hostname_ok(name) ||
	    (last = strrchr(name, '.')) == NULL)
		return false;
	/* RFC 3696 §2: a top-level label is never all digits (that is an
	 * IPv4 address written as a name). */
	for (i = 1; last[i] != '\0'; i++)
		if (!isdigit((unsigned char)last[i]))
			digits_only = false;
	return !digits_only;
}

/*
 * What is wrong with a PTR name identity_hostname_valid() refuses.  A name
 * without a dot ("localhost") is valid (RFC 1123 §2.1) but names no host
 * that others can find: "localhost" is every machine's name for itself,
 * so as a mail server's reverse DNS it says nothing, and servers that
 * check reverse DNS treat it as missing.
 */
const char *
identity_ptr_name_fault(const char *name)
{
	if (strcasecmp(name, "localhost") == 0 ||
	    strcasecmp(name, "localhost.") == 0)
		return "a valid name, but every machine's name for itself: "
		    "it is wrong for a mail server, and servers that check "
		    "reverse DNS treat it as none";
	if (address_hostname_ok(name) && strchr(name, '.') == NULL)
		return "a valid name, but not a fully qualified one: it is "
		    "wrong for a mail server, and servers that check reverse "
		    "DNS treat it as none";
	return "which is not a valid host name (RFC 1123 §2.1)";
}

bool
identity_ip_private(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 10 ||
		    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		    (a[0] == 192 && a[1] == 168) ||
		    (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		    (a[0] == 169 && a[1] == 254);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return (a[0] & 0xfe) == 0xfc ||
		    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	return false;
}

bool
identity_first_word(const char *text, size_t len, char *out, size_t outlen)
{
	size_t i = 0, n = 0;

	if (outlen == 0)
		return false;
	out[0] = '\0';
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	while (i < len && text[i] != ' ' && text[i] != '\t' &&
	    text[i] != '\0') {
		if (n + 1 < outlen)
			out[n++] = text[i];
		i++;
	}
	if (n > 1 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0;
}

bool
identity_parse_ip(const char *s, size_t n, char *out, size_t outlen)
{
	char buf[64];
	unsigned char a[16];

	if (n >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)outlen) != NULL;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return inet_ntop(AF_INET6, a, out, (socklen_t)outlen) != NULL;
	return false;
}

bool
identity_find_bracketed_ip(const char *text, size_t len, bool skip_first_word,
    char *out, size_t outlen)
{
	size_t i = 0, j;

	if (outlen > 0)
		out[0] = '\0';
	if (skip_first_word) {
		while (i < len && text[i] == ' ')
			i++;
		while (i < len && text[i] != ' ')
			i++;
	}
	for (; i < len; i++) {
		char close;

		if (text[i] == '[')
			close = ']';
		else if (text[i] == '(')
			close = ')';
		else
			continue;
		/* An address is at most 45 characters plus "IPv6:". */
		for (j = i + 1; j < len && j - i <= 64 && text[j] != close &&
		    text[j] != '[' && text[j] != '('; j++)
			;
		if (j < len && text[j] == close &&
		    identity_parse_ip(text + i + 1, j - i - 1, out, outlen))
			return true;
	}
	return false;
}

const struct ident_client *
identity_client(const struct identity *id)
{
	static const struct ident_client none;

	return id->client != NULL ? id->client : &none;
}

void
identity_client_free(struct ident_client *c)
{
	if (c == NULL)
		return;
	free(c->local_rdns);
	free(c->public_rdns);
	free(c);
}

/* A copy of rd into *dst (NULL stays NULL); false without memory. */
static bool
rdns_dup(struct ident_rdns **dst, const struct ident_rdns *rd)
{
	*dst = NULL;
	if (rd == NULL)
		return true;
	if ((*dst = malloc(sizeof(**dst))) == NULL)
		return false;
	memcpy(*dst, rd, sizeof(**dst));
	return true;
}

struct ident_client *
identity_client_dup(const struct ident_client *c)
{
	struct ident_client *d;

	if (c == NULL || (d = malloc(sizeof(*d))) == NULL)
		return NULL;
	memcpy(d, c, sizeof(*d));
	if (!rdns_dup(&d->local_rdns, c->local_rdns) ||
	    !rdns_dup(&d->public_rdns, c->public_rdns)) {
		identity_client_free(d);
		return NULL;
	}
	return d;
}

const struct ident_rdns *
identity_client_rdns(const struct identity *id)
{
	const struct ident_client *c = identity_client(id);

	if (c->public_ip[0] != '\0' && c->public_rdns != NULL &&
	    c->public_rdns->asked &&
	    strcmp(c->public_rdns->ip, c->public_ip) == 0)
		return c->public_rdns;
	if (c->local_rdns != NULL && c->local_rdns->asked)
		return c->local_rdns;
	return NULL;
}

const char *
identity_client_ip(const struct identity *id)
{
	const struct ident_client *c = identity_client(id);

	if (c->public_ip[0] != '\0')
		return c->public_ip;
	if (c->local_ip[0] != '\0')
		return c->local_ip;
	return NULL;
}
