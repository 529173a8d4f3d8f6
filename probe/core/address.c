/*
 * address.c — RFC 5321 §4.1.2 Mailbox checking, with IDNA 2008 for the
 * domain (libidn2) and RFC 6531 UTF-8 local parts.
 *
 * Owns nothing; writes into the caller's struct address.  Limits: RFC 5321
 * §4.5.3.1 (64-octet local part, 255-octet domain, 254-octet address).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "address.h"
#include "names.h"
#include "utf8.h"

static const char *const error_names[] = {
	[ADDRESS_OK] = "ok",
	[ADDRESS_EMPTY] = "empty",
	[ADDRESS_CONTROL] = "control_character",
	[ADDRESS_BAD_UTF8] = "bad_utf8",
	[ADDRESS_NO_AT] = "no_at_sign",
	[ADDRESS_LOCAL_EMPTY] = "local_part_empty",
	[ADDRESS_LOCAL_TOO_LONG] = "local_part_too_long",
	[ADDRESS_LOCAL_SYNTAX] = "local_part_syntax",
	[ADDRESS_DOMAIN_EMPTY] = "domain_empty",
	[ADDRESS_DOMAIN_TOO_LONG] = "domain_too_long",
	[ADDRESS_DOMAIN_SYNTAX] = "domain_syntax",
	[ADDRESS_DOMAIN_IDNA] = "domain_idna",
	[ADDRESS_LITERAL_SYNTAX] = "address_literal_syntax",
	[ADDRESS_TOO_LONG] = "too_long",
};

const char *
address_error_name(enum address_error e)
{
	return NAME_OF(error_names, e, "unknown");
}

static const char *
control_name(unsigned char c)
{
	switch (c) {
	case '\r': return "carriage return, CR";
	case '\n': return "line feed, LF";
	case '\0': return "NUL";
	case '\t': return "tab";
	case 0x1b: return "escape, ESC";
	case 0x7f: return "DEL";
	default: return NULL;
	}
}

/* RFC 5322 atext, which RFC 5321 §4.1.2 uses for Atom. */
static bool
is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static enum address_error
check_dot_string(const char *s, size_t n, char *why, size_t whylen)
{
	size_t i;
	bool prev_dot = true;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (prev_dot) {
				snprintf(why, whylen, "the local part has %s",
				    i == 0 ? "a leading dot" : "two dots in a row");
				return ADDRESS_LOCAL_SYNTAX;
			}
			prev_dot = true;
			continue;
		}
		prev_dot = false;
		if (c >= 0x80 || is_atext(c))
			continue;
		snprintf(why, whylen, "the local part has '%c' at position "
		    "%zu, which needs quoting (\"...\")", c, i + 1);
		return ADDRESS_LOCAL_SYNTAX;
	}
	if (prev_dot) {
		snprintf(why, whylen, "the local part ends with a dot");
		return ADDRESS_LOCAL_SYNTAX;
	}
	return ADDRESS_OK;
}

/* Quoted-string of RFC 5321 §4.1.2: s starts at the opening quote.
 * Returns the length including both quotes, 0 when malformed. */
static size_t
quoted_len(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (i + 1 >= n || (unsigned char)s[i + 1] < 32 ||
			    (unsigned char)s[i + 1] > 126)
				return 0;
			i++;
		}
	}
	return 0;
}

bool
address_hostname_ok(const char *name)
{
	size_t i, label = 0, n = strlen(name);

	if (n == 0 || n > LIMIT_DOMAIN)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			/* RFC 1123 §2.1: labels start and end with a letter
			 * or digit, at most 63 octets. */
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && name[n - 1] != '-';
}

static enum address_error
parse_literal(const char *d, size_t n, struct address *a, char *why,
    size_t whylen)
{
	char buf[LIMIT_DOMAIN + 1];
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->literal_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->literal_addr;

	if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof(buf)) {
		snprintf(why, whylen, "the address literal must be "
		    "[IPv4] or [IPv6:address]");
		return ADDRESS_LITERAL_SYNTAX;
	}
	memcpy(buf, d + 1, n - 2);
	buf[n - 2] = '\0';
	memset(&a->literal_addr, 0, sizeof(a->literal_addr));
	if (strncasecmp(buf, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, buf + 5, &sin6->sin6_addr) != 1) {
			snprintf(why, whylen, "\"%s\" is not an IPv6 address",
			    buf + 5);
			return ADDRESS_LITERAL_SYNTAX;
		}
		sin6->sin6_family = AF_INET6;
		snprintf(a->domain_ascii, sizeof(a->domain_ascii), "%s",
		    buf + 5);
	} else {
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) {
			snprintf(why, whylen, "\"%s\" is not an IPv4 address "
			    "(IPv6 literals are written [IPv6:...])", buf);
			return ADDRESS_LITERAL_SYNTAX;
		}
		sin->sin_family = AF_INET;
		snprintf(a->domain_ascii, sizeof(a->domain_ascii), "%s", buf);
	}
	a->literal = true;
	return ADDRESS_OK;
}

/*
 * Code points that show nothing and that the UTS #46 mapping of IDNA
 * drops or ignores (soft hyphen, zero-width joiners and spaces, variation
 * selectors, bidirectional and tag characters).  In a domain they change
 * nothing the reader sees, yet the name the probe would ask for is not
 * the one given, and software that maps differently would send elsewhere.
 */
static const struct {
	unsigned	 lo, hi;
	const char	*name;
} invisibles[] = {
	{ 0x00ad, 0x00ad, "SOFT HYPHEN" },
	{ 0x034f, 0x034f, "COMBINING GRAPHEME JOINER" },
	{ 0x061c, 0x061c, "ARABIC LETTER MARK" },
	{ 0x115f, 0x1160, "HANGUL FILLER" },
	{ 0x17b4, 0x17b5, "KHMER INHERENT VOWEL" },
	{ 0x180b, 0x180f, "MONGOLIAN FORMAT CHARACTER" },
	{ 0x200b, 0x200b, "ZERO WIDTH SPACE" },
	{ 0x200c, 0x200c, "ZERO WIDTH NON-JOINER" },
	{ 0x200d, 0x200d, "ZERO WIDTH JOINER" },
	{ 0x200e, 0x200f, "DIRECTIONAL MARK" },
	{ 0x202a, 0x202e, "BIDIRECTIONAL FORMATTING CHARACTER" },
	{ 0x2060, 0x2060, "WORD JOINER" },
	{ 0x2061, 0x2064, "INVISIBLE OPERATOR" },
	{ 0x2066, 0x206f, "INVISIBLE FORMAT CHARACTER" },
	{ 0x3164, 0x3164, "HANGUL FILLER" },
	{ 0xfe00, 0xfe0f, "VARIATION SELECTOR" },
	{ 0xfeff, 0xfeff, "ZERO WIDTH NO-BREAK SPACE" },
	{ 0xffa0, 0xffa0, "HALFWIDTH HANGUL FILLER" },
	{ 0x1bca0, 0x1bca3, "SHORTHAND FORMAT CONTROL" },
	{ 0xe0000, 0xe007f, "TAG CHARACTER" },
	{ 0xe0100, 0xe01ef, "VARIATION SELECTOR" },
};

/* The name of an invisible code point, or NULL. */
static const char *
invisible_name(unsigned cp)
{
	size_t i;

	for (i = 0; i < sizeof(invisibles) / sizeof(invisibles[0]); i++)
		if (cp >= invisibles[i].lo && cp <= invisibles[i].hi)
			return invisibles[i].name;
	return NULL;
}

/*
 * Refuse a domain with an invisible character rather than let IDNA map it
 * away: name the first one by its code point and offer the address
 * without them.  ADDRESS_OK when there is none.
 */
static enum address_error
check_invisible(const char *d, size_t n, const struct address *a, char *why,
    size_t whylen)
{
	char clean[LIMIT_DOMAIN * 4 + 1];
	const char *name = NULL;
	size_t i, l, o = 0, chars = 0, at = 0;
	unsigned cp, first = 0;

	for (i = 0; i < n; i += l) {
		if ((l = utf8_decode((const unsigned char *)d + i, n - i,
		    &cp)) == 0)
			return ADDRESS_OK;	/* check_bytes() refused it */
		chars++;
		if (invisible_name(cp) != NULL) {
			if (name == NULL) {
				name = invisible_name(cp);
				first = cp;
				at = chars;
			}
			continue;
		}
		if (o + l < sizeof(clean)) {
			memcpy(clean + o, d + i, l);
			o += l;
		}
	}
	if (name == NULL)
		return ADDRESS_OK;
	clean[o] = '\0';
	if (o == 0) {
		snprintf(why, whylen, "the domain holds only invisible "
		    "characters (U+%04X %s first): it is empty once converted "
		    "to an ASCII (IDNA) name", first, name);
		return ADDRESS_DOMAIN_IDNA;
	}
	/* Nothing was sent: the address suggested is the one without them,
	 * when that leaves a name and it fits. */
	if (clean[0] == '.' || clean[o - 1] == '.' ||
	    strstr(clean, "..") != NULL ||
	    (size_t)snprintf(why, whylen, "invisible character U+%04X %s in "
	    "the domain (character %zu), which IDNA would drop silently; "
	    "nothing was sent. Without it: %s@%s", first, name, at,
	    a->local, clean) >= whylen)
		snprintf(why, whylen, "invisible character U+%04X %s in the "
		    "domain (character %zu), which IDNA would drop silently; "
		    "nothing was sent", first, name, at);
	return ADDRESS_DOMAIN_IDNA;
}

static enum address_error
parse_domain(const char *d, size_t n, struct address *a, char *why,
    size_t whylen)
{
	size_t i;
	bool ascii = true;

	if (n == 0) {
		snprintf(why, whylen, "there is nothing after the '@'");
		return ADDRESS_DOMAIN_EMPTY;
	}
	memcpy(a->domain, d, n);
	a->domain[n] = '\0';
	if (d[0] == '[')
		return parse_literal(d, n, a, why, whylen);

	for (i = 0; i < n; i++)
		if ((unsigned char)d[i] >= 0x80)
			ascii = false;
	if (ascii) {
		if (n > LIMIT_DOMAIN) {
			snprintf(why, whylen, "the domain is %zu octets long; "
			    "the limit is %d", n, LIMIT_DOMAIN);
			return ADDRESS_DOMAIN_TOO_LONG;
		}
		for (i = 0; i < n; i++)
			a->domain_ascii[i] = (char)tolower((unsigned char)d[i]);
		a->domain_ascii[n] = '\0';
	} else {
		char *out = NULL;
		enum address_error e;
		int rc;

		if ((e = check_invisible(d, n, a, why, whylen)) != ADDRESS_OK)
			return e;
		/* IDNA 2008 with the UTS #46 non-transitional mapping, the
		 * choice of current browsers and mail systems. */
		rc = idn2_to_ascii_8z(a->domain, &out,
		    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK) {
			snprintf(why, whylen, "the domain \"%s\" cannot be "
			    "converted to an ASCII (IDNA) name: %s", a->domain,
			    idn2_strerror(rc));
			return ADDRESS_DOMAIN_IDNA;
		}
		if (strlen(out) > LIMIT_DOMAIN) {
			idn2_free(out);
			snprintf(why, whylen, "the domain is longer than %d "
			    "octets in its ASCII form", LIMIT_DOMAIN);
			return ADDRESS_DOMAIN_TOO_LONG;
		}
		snprintf(a->domain_ascii, sizeof(a->domain_ascii), "%s", out);
		idn2_free(out);
		a->domain_idn = true;
		/* UTS #46 maps some code points to nothing (U+200B ZERO
		 * WIDTH SPACE, U+00AD SOFT HYPHEN): a domain made only of
		 * them has no ASCII form at all. */
		if (a->domain_ascii[0] == '\0') {
			snprintf(why, whylen, "the domain \"%s\" is empty once "
			    "converted to an ASCII (IDNA) name: it holds only "
			    "invisible characters", a->domain);
			return ADDRESS_DOMAIN_IDNA;
		}
	}
	if (a->domain_ascii[strlen(a->domain_ascii) - 1] == '.') {
		snprintf(why, whylen, "the domain ends with a dot; write it "
		    "without the final dot");
		return ADDRESS_DOMAIN_SYNTAX;
	}
	if (!address_hostname_ok(a->domain_ascii)) {
		snprintf(why, whylen, "\"%s\" is not a valid domain name "
		    "(letters, digits and hyphens in dot-separated labels of "
		    "at most 63 characters)", a->domain);
		return ADDRESS_DOMAIN_SYNTAX;
	}
	return ADDRESS_OK;
}

/* No control character, and valid UTF-8, in the n bytes of s. */
static enum address_error
check_bytes(const char *s, size_t n, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			const char *name = control_name(c);

			if (name != NULL)
				snprintf(why, whylen, "the address contains a "
				    "control character (%s) at position %zu; "
				    "refused before anything was sent", name,
				    i + 1);
			else
				snprintf(why, whylen, "the address contains a "
				    "control character (byte 0x%02X) at "
				    "position %zu; refused before anything "
				    "was sent", c, i + 1);
			return ADDRESS_CONTROL;
		}
	}
	for (i = 0; i < n;) {
		size_t l = utf8_decode((const unsigned char *)s + i, n - i,
		    NULL);
		if (l == 0) {
			snprintf(why, whylen, "the address is not valid UTF-8 "
			    "(byte 0x%02x at position %zu)",
			    (unsigned char)s[i], i + 1);
			return ADDRESS_BAD_UTF8;
		}
		i += l;
	}
	return ADDRESS_OK;
}

/* The local part at the start of the n bytes of s (quoted, or a
 * dot-string) into a->local; *at is set to the '@' after it. */
static enum address_error
parse_local(const char *s, size_t n, struct address *a, const char **at,
    char *why, size_t whylen)
{
	size_t i, local_len;
	enum address_error e;

	if (s[0] == '"') {
		local_len = quoted_len(s, n);
		if (local_len == 0) {
			snprintf(why, whylen, "the quoted local part is not "
			    "closed or has a bad backslash escape");
			return ADDRESS_LOCAL_SYNTAX;
		}
		if (local_len >= n || s[local_len] != '@') {
			snprintf(why, whylen, "the quoted local part must be "
			    "followed by '@' and a domain");
			return local_len >= n ? ADDRESS_NO_AT :
			    ADDRESS_LOCAL_SYNTAX;
		}
		*at = s + local_len;
	} else {
		if ((*at = memchr(s, '@', n)) == NULL) {
			snprintf(why, whylen, "the address has no '@'; give a "
			    "full address such as user@example.com");
			return ADDRESS_NO_AT;
		}
		local_len = (size_t)(*at - s);
		if (local_len == 0) {
			snprintf(why, whylen, "there is nothing before the '@'");
			return ADDRESS_LOCAL_EMPTY;
		}
		if ((e = check_dot_string(s, local_len, why, whylen)) !=
		    ADDRESS_OK)
			return e;
	}
	if (local_len > LIMIT_LOCAL_PART) {
		snprintf(why, whylen, "the local part is %zu octets long; the "
		    "limit is %d (RFC 5321 §4.5.3.1.1)", local_len,
		    LIMIT_LOCAL_PART);
		return ADDRESS_LOCAL_TOO_LONG;
	}
	memcpy(a->local, s, local_len);
	a->local[local_len] = '\0';
	for (i = 0; i < local_len; i++)
		if ((unsigned char)s[i] >= 0x80)
			a->local_utf8 = true;
	return ADDRESS_OK;
}

enum address_error
address_parse(const char *s, struct address *a, char *why, size_t whylen)
{
	const char *at;
	enum address_error e;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (whylen > 0)
		why[0] = '\0';
	n = strlen(s);
	if ((e = check_bytes(s, n, why, whylen)) != ADDRESS_OK)
		return e;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n == 0) {
		snprintf(why, whylen, "the address is empty");
		return ADDRESS_EMPTY;
	}
	/* Rough bound first, so the copies below always fit. */
	if (n > LIMIT_ADDRESS * 4) {
		snprintf(why, whylen, "the address is %zu octets long; the "
		    "limit is %d", n, LIMIT_ADDRESS);
		return ADDRESS_TOO_LONG;
	}
	if ((e = parse_local(s, n, a, &at, why, whylen)) != ADDRESS_OK)
		return e;
	if ((e = parse_domain(at + 1, n - (size_t)(at - s) - 1, a, why,
	    whylen)) != ADDRESS_OK)
		return e;

	if (a->literal)
		snprintf(a->mailbox, sizeof(a->mailbox), "%s@%s", a->local,
		    a->domain);
	else
		snprintf(a->mailbox, sizeof(a->mailbox), "%s@%s", a->local,
		    a->domain_ascii);
	if (strlen(a->mailbox) > LIMIT_ADDRESS) {
		snprintf(why, whylen, "the address is %zu octets long; the "
		    "limit is %d (RFC 5321 §4.5.3.1.3)", strlen(a->mailbox),
		    LIMIT_ADDRESS);
		return ADDRESS_TOO_LONG;
	}
	return ADDRESS_OK;
}
