/*
 * test_address.c — the address checker (probe/core/address.c): dot-string and
 * quoted local parts, address literals, angle brackets, the RFC 5321
 * length limits, domain syntax, control bytes, UTF-8, IDNA, and the
 * names of the errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "check.h"
#include "limits.h"

enum { F_UTF8 = 1, F_IDN = 2, F_LIT = 4 };

static const struct ok_case {
	const char	*in;
	const char	*local;
	const char	*domain;
	const char	*domain_ascii;
	const char	*mailbox;
	unsigned	 flags;
} oks[] = {
	{ "user@example.com", "user", "example.com", "example.com",
	    "user@example.com", 0 },
	{ "first.last+tag@mail.example.org", "first.last+tag",
	    "mail.example.org", "mail.example.org",
	    "first.last+tag@mail.example.org", 0 },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~",
	    "example.com", "example.com", "!#$%&'*+-/=?^_`{|}~@example.com",
	    0 },
	{ "User@Example.COM", "User", "Example.COM", "example.com",
	    "User@example.com", 0 },
	{ "<a@b.example>", "a", "b.example", "b.example", "a@b.example", 0 },
	{ "a@localhost", "a", "localhost", "localhost", "a@localhost", 0 },
	{ "a@123.example", "a", "123.example", "123.example",
	    "a@123.example", 0 },
	{ "a@x-y.example", "a", "x-y.example", "x-y.example",
	    "a@x-y.example", 0 },
	{ "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example",
	    "xn--bcher-kva.example", "a@xn--bcher-kva.example", 0 },
	/* quoted local parts */
	{ "\"john doe\"@example.com", "\"john doe\"", "example.com",
	    "example.com", "\"john doe\"@example.com", 0 },
	{ "\"a\\\"b\"@example.com", "\"a\\\"b\"", "example.com",
	    "example.com", "\"a\\\"b\"@example.com", 0 },
	{ "\"a@b\"@example.com", "\"a@b\"", "example.com", "example.com",
	    "\"a@b\"@example.com", 0 },
	{ "\"a..b.\"@example.com", "\"a..b.\"", "example.com", "example.com",
	    "\"a..b.\"@example.com", 0 },
	{ "\"\"@example.com", "\"\"", "example.com", "example.com",
	    "\"\"@example.com", 0 },
	{ "\"\\\\\"@example.com", "\"\\\\\"", "example.com", "example.com",
	    "\"\\\\\"@example.com", 0 },
	/* address literals */
	{ "a@[192.0.2.1]", "a", "[192.0.2.1]", "192.0.2.1",
	    "a@[192.0.2.1]", F_LIT },
	{ "a@[IPv6:2001:db8::1]", "a", "[IPv6:2001:db8::1]", "2001:db8::1",
	    "a@[IPv6:2001:db8::1]", F_LIT },
	{ "a@[ipv6:2001:DB8::1]", "a", "[ipv6:2001:DB8::1]", "2001:DB8::1",
	    "a@[ipv6:2001:DB8::1]", F_LIT },
	{ "<postmaster@[IPv6:::ffff:192.0.2.1]>", "postmaster",
	    "[IPv6:::ffff:192.0.2.1]", "::ffff:192.0.2.1",
	    "postmaster@[IPv6:::ffff:192.0.2.1]", F_LIT },
	/* UTF-8 (RFC 6531) and IDNA */
	{ "j\xc3\xbcrgen@example.com", "j\xc3\xbcrgen", "example.com",
	    "example.com", "j\xc3\xbcrgen@example.com", F_UTF8 },
	{ "\"j\xc3\xbcrgen m\"@example.com", "\"j\xc3\xbcrgen m\"",
	    "example.com", "example.com", "\"j\xc3\xbcrgen m\"@example.com",
	    F_UTF8 },
	{ "user@b\xc3\xbc" "cher.example", "user", "b\xc3\xbc" "cher.example",
	    "xn--bcher-kva.example", "user@xn--bcher-kva.example", F_IDN },
	{ "user@B\xc3\x9c" "CHER.Example", "user", "B\xc3\x9c" "CHER.Example",
	    "xn--bcher-kva.example", "user@xn--bcher-kva.example", F_IDN },
	{ "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86"
	    "\xe3\x82\xb9\xe3\x83\x88", "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	    "xn--r8jz45g.xn--zckzah", "\xe7\x94\xa8\xe6\x88\xb7@"
	    "xn--r8jz45g.xn--zckzah", F_UTF8 | F_IDN },
	/* 4-byte UTF-8 in the local part */
	{ "\xf0\x9f\x98\x80@example.com", "\xf0\x9f\x98\x80", "example.com",
	    "example.com", "\xf0\x9f\x98\x80@example.com", F_UTF8 },
};

static void
test_ok(void)
{
	size_t i;
	struct address a;
	char why[512];

	for (i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		const struct ok_case *c = &oks[i];
		enum address_error e = address_parse(c->in, &a, why,
		    sizeof(why));

		CHECK_INT(e, ADDRESS_OK);
		if (e != ADDRESS_OK)
			fprintf(stderr, "  case %s: %s\n", c->in, why);
		CHECK_STR(why, "");
		CHECK_STR(a.local, c->local);
		CHECK_STR(a.domain, c->domain);
		CHECK_STR(a.domain_ascii, c->domain_ascii);
		CHECK_STR(a.mailbox, c->mailbox);
		CHECK_INT(a.local_utf8, (c->flags & F_UTF8) != 0);
		CHECK_INT(a.domain_idn, (c->flags & F_IDN) != 0);
		CHECK_INT(a.literal, (c->flags & F_LIT) != 0);
		if (!(c->flags & F_LIT))
			CHECK_INT(a.literal_addr.ss_family, 0);
	}

	/* The literal's address is filled in. */
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.literal_addr;
		struct sockaddr_in6 *sin6 =
		    (struct sockaddr_in6 *)&a.literal_addr;
		struct in6_addr want6;

		CHECK_INT(address_parse("a@[192.0.2.1]", &a, why, sizeof(why)),
		    ADDRESS_OK);
		CHECK_INT(a.literal_addr.ss_family, AF_INET);
		CHECK_INT(ntohl(sin->sin_addr.s_addr), 0xc0000201u);
		CHECK_INT(address_parse("a@[IPv6:2001:db8::1]", &a, why,
		    sizeof(why)), ADDRESS_OK);
		CHECK_INT(a.literal_addr.ss_family, AF_INET6);
		CHECK_INT(inet_pton(AF_INET6, "2001:db8::1", &want6), 1);
		CHECK(memcmp(&sin6->sin6_addr, &want6, sizeof(want6)) == 0);
	}
}

static const struct bad_case {
	const char		*in;
	enum address_error	 e;
	const char		*why;	/* a part of the sentence */
} bads[] = {
	{ "", ADDRESS_EMPTY, "the address is empty" },
	{ "<>", ADDRESS_EMPTY, "the address is empty" },
	{ "user", ADDRESS_NO_AT, "has no '@'" },
	{ "user.example.com", ADDRESS_NO_AT, "has no '@'" },
	{ "<", ADDRESS_NO_AT, "has no '@'" },
	{ "\"ab\"", ADDRESS_NO_AT, "must be followed by '@'" },
	{ "@example.com", ADDRESS_LOCAL_EMPTY, "nothing before the '@'" },
	{ "<@example.com>", ADDRESS_LOCAL_EMPTY, "nothing before the '@'" },
	{ "user@", ADDRESS_DOMAIN_EMPTY, "nothing after the '@'" },
	{ "\"a\"@", ADDRESS_DOMAIN_EMPTY, "nothing after the '@'" },
	/* dots in the local part */
	{ ".a@example.com", ADDRESS_LOCAL_SYNTAX, "a leading dot" },
	{ "a.@example.com", ADDRESS_LOCAL_SYNTAX, "ends with a dot" },
	{ "a..b@example.com", ADDRESS_LOCAL_SYNTAX, "two dots in a row" },
	{ ".@example.com", ADDRESS_LOCAL_SYNTAX, "a leading dot" },
	/* characters that need quoting */
	{ "a b@example.com", ADDRESS_LOCAL_SYNTAX,
	    "has ' ' at position 2, which needs quoting" },
	{ "a(b)@example.com", ADDRESS_LOCAL_SYNTAX, "'(' at position 2" },
	{ "a\\b@example.com", ADDRESS_LOCAL_SYNTAX, "'\\' at position 2" },
	{ "a\"b\"@example.com", ADDRESS_LOCAL_SYNTAX, "'\"' at position 2" },
	{ " a@example.com", ADDRESS_LOCAL_SYNTAX, "' ' at position 1" },
	/* quoted strings */
	{ "\"unclosed@example.com", ADDRESS_LOCAL_SYNTAX, "is not closed" },
	{ "\"a\\\xc3\xa9\"@example.com", ADDRESS_LOCAL_SYNTAX,
	    "bad backslash escape" },
	{ "\"a\\", ADDRESS_LOCAL_SYNTAX, "bad backslash escape" },
	{ "\"ab\"x@example.com", ADDRESS_LOCAL_SYNTAX,
	    "must be followed by '@'" },
	/* angle brackets: one pair only, and whole */
	{ "<<a@b.example>>", ADDRESS_LOCAL_SYNTAX, "'<' at position 1" },
	{ "<a@b.example", ADDRESS_LOCAL_SYNTAX, "'<' at position 1" },
	{ "a@b.example>", ADDRESS_DOMAIN_SYNTAX, "not a valid domain name" },
	/* two '@' outside quotes: the second is in the domain */
	{ "a@b@example.com", ADDRESS_DOMAIN_SYNTAX,
	    "\"b@example.com\" is not a valid domain name" },
	/* domain syntax */
	{ "a@example.com.", ADDRESS_DOMAIN_SYNTAX, "ends with a dot" },
	{ "a@.", ADDRESS_DOMAIN_SYNTAX, "ends with a dot" },
	{ "a@.example.com", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@example..com", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@-x.example", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@x-.example", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@x.-example", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@x.example-", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@_dmarc.example", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@ex ample.com", ADDRESS_DOMAIN_SYNTAX, "not a valid domain" },
	{ "a@b\xc3\xbc" "cher..example", ADDRESS_DOMAIN_SYNTAX,
	    "not a valid domain" },
	{ "a@b\xc3\xbc" "cher.example.", ADDRESS_DOMAIN_SYNTAX,
	    "ends with a dot" },
	/* address literals */
	{ "a@[300.1.1.1]", ADDRESS_LITERAL_SYNTAX,
	    "\"300.1.1.1\" is not an IPv4 address" },
	{ "a@[192.0.2]", ADDRESS_LITERAL_SYNTAX, "is not an IPv4 address" },
	{ "a@[192.0.2.01]", ADDRESS_LITERAL_SYNTAX, "not an IPv4 address" },
	{ "a@[2001:db8::1]", ADDRESS_LITERAL_SYNTAX,
	    "IPv6 literals are written [IPv6:...]" },
	{ "a@[IPv6:zz]", ADDRESS_LITERAL_SYNTAX,
	    "\"zz\" is not an IPv6 address" },
	{ "a@[IPv6:192.0.2.1]", ADDRESS_LITERAL_SYNTAX,
	    "is not an IPv6 address" },
	{ "a@[192.0.2.1", ADDRESS_LITERAL_SYNTAX,
	    "must be [IPv4] or [IPv6:address]" },
	{ "a@[192.0.2.1]x", ADDRESS_LITERAL_SYNTAX,
	    "must be [IPv4] or [IPv6:address]" },
	{ "a@[]", ADDRESS_LITERAL_SYNTAX, "must be [IPv4] or [IPv6:address]" },
	{ "a@[", ADDRESS_LITERAL_SYNTAX, "must be [IPv4] or [IPv6:address]" },
	{ "a@[ 192.0.2.1]", ADDRESS_LITERAL_SYNTAX, "not an IPv4 address" },
	/* invalid UTF-8, with the byte and its position */
	{ "\xc0\xaf" "a@example.com", ADDRESS_BAD_UTF8,
	    "not valid UTF-8 (byte 0xc0 at position 1)" },
	{ "\xc1\xbf@example.com", ADDRESS_BAD_UTF8, "byte 0xc1 at position 1" },
	{ "a\xe0\x80\xaf@example.com", ADDRESS_BAD_UTF8,
	    "byte 0xe0 at position 2" },
	{ "a\xf0\x80\x80\xaf@example.com", ADDRESS_BAD_UTF8,
	    "byte 0xf0 at position 2" },
	{ "a@\xed\xa0\x80.example", ADDRESS_BAD_UTF8,
	    "byte 0xed at position 3" },		/* U+D800 */
	{ "a@\xed\xbf\xbf.example", ADDRESS_BAD_UTF8,
	    "byte 0xed at position 3" },		/* U+DFFF */
	{ "a@\xf4\x90\x80\x80.example", ADDRESS_BAD_UTF8,
	    "byte 0xf4 at position 3" },		/* U+110000 */
	{ "\xf5\x80\x80\x80@example.com", ADDRESS_BAD_UTF8,
	    "byte 0xf5 at position 1" },
	{ "a@example.com\xc3", ADDRESS_BAD_UTF8, "byte 0xc3 at position 14" },
	{ "a@example.com\xe2\x82", ADDRESS_BAD_UTF8,
	    "byte 0xe2 at position 14" },
	{ "\xc3(@example.com", ADDRESS_BAD_UTF8, "byte 0xc3 at position 1" },
	{ "\x80@example.com", ADDRESS_BAD_UTF8, "byte 0x80 at position 1" },
	{ "a\xff@example.com", ADDRESS_BAD_UTF8, "byte 0xff at position 2" },
	{ "a\xfe@example.com", ADDRESS_BAD_UTF8, "byte 0xfe at position 2" },
	/* IDNA */
	{ "user@\xe2\x80\x8b", ADDRESS_DOMAIN_IDNA,
	    "holds only invisible characters" },	/* U+200B only */
	{ "user@\xc2\xad", ADDRESS_DOMAIN_IDNA,
	    "holds only invisible characters" },	/* U+00AD only */
	{ "user@\xe2\x80\x8b\xe2\x80\x8b", ADDRESS_DOMAIN_IDNA,
	    "holds only invisible characters" },
	{ "user@\xe2\x80\x8b.example", ADDRESS_DOMAIN_IDNA,
	    "U+200B ZERO WIDTH SPACE in the domain (character 1), which "
	    "IDNA would drop silently; nothing was sent" },
	/* Invisible characters are refused, not mapped away by IDNA. */
	{ "user@exam\xc2\xad" "ple.com", ADDRESS_DOMAIN_IDNA,
	    "U+00AD SOFT HYPHEN in the domain (character 5), which IDNA "
	    "would drop silently; nothing was sent. Without it: "
	    "user@example.com" },
	{ "user@b\xc3\xbc\xe2\x80\x8d" "cher.example", ADDRESS_DOMAIN_IDNA,
	    "U+200D ZERO WIDTH JOINER in the domain (character 3)" },
	{ "user@\xef\xbb\xbf" "example.com", ADDRESS_DOMAIN_IDNA,
	    "Without it: user@example.com" },
	{ "user@example.com\xe2\x81\xa0", ADDRESS_DOMAIN_IDNA,
	    "U+2060 WORD JOINER" },
	{ "user@\xe2\x98\x83.example", ADDRESS_DOMAIN_IDNA,
	    "cannot be converted to an ASCII (IDNA) name" },	/* U+2603 */
};

static void
test_bad(void)
{
	size_t i;
	struct address a;
	char why[512];

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad_case *c = &bads[i];
		enum address_error e = address_parse(c->in, &a, why,
		    sizeof(why));

		CHECK_INT(e, c->e);
		CHECK(strstr(why, c->why) != NULL);
		if (e != c->e || strstr(why, c->why) == NULL)
			fprintf(stderr, "  case %zu: %s -> %s: %s\n", i, c->in,
			    address_error_name(e), why);
	}

	/* A NUL can only end the C string: what follows it is not seen
	 * (there is no length-taking variant). */
	CHECK_INT(address_parse("a\0b@example.com", &a, why, sizeof(why)),
	    ADDRESS_NO_AT);
	CHECK_INT(address_parse("a@example.com\0\r\nRSET", &a, why,
	    sizeof(why)), ADDRESS_OK);
	CHECK_STR(a.mailbox, "a@example.com");

	/* A small why buffer is cut; a zero-length one is left alone. */
	CHECK_INT(address_parse("user", &a, why, 0), ADDRESS_NO_AT);
	CHECK_INT(address_parse("user", &a, why, 8), ADDRESS_NO_AT);
	CHECK_INT(strlen(why), 7);
}

static void
test_control(void)
{
	static const struct {
		unsigned char	 c;
		const char	*name;
	} named[] = {
		{ '\r', "(carriage return, CR)" }, { '\n', "(line feed, LF)" },
		{ '\t', "(tab)" }, { 0x1b, "(escape, ESC)" }, { 0x7f, "(DEL)" },
	};
	struct address a;
	char in[64], why[512], want[64];
	unsigned c;
	size_t k;

	for (c = 1; c <= 0x7f; c++) {
		const char *name = NULL;

		if (c >= 0x20 && c != 0x7f)
			continue;
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
			if (named[k].c == c)
				name = named[k].name;
		if (name != NULL)
			snprintf(want, sizeof(want), "control character %s at "
			    "position 3;", name);
		else
			snprintf(want, sizeof(want), "control character (byte "
			    "0x%02X) at position 3;", c);

		/* in the local part */
		snprintf(in, sizeof(in), "ab%cc@example.com", (char)c);
		CHECK_INT(address_parse(in, &a, why, sizeof(why)),
		    ADDRESS_CONTROL);
		CHECK(strstr(why, want) != NULL);
		CHECK(strstr(why, "refused before anything was sent") !=
		    NULL);
		/* in the domain, at its end, and before other errors */
		snprintf(in, sizeof(in), "a@example.com%c", (char)c);
		CHECK_INT(address_parse(in, &a, why, sizeof(why)),
		    ADDRESS_CONTROL);
		CHECK(strstr(why, "at position 14;") != NULL);
		snprintf(in, sizeof(in), "\"a %c\"@example.com", (char)c);
		CHECK_INT(address_parse(in, &a, why, sizeof(why)),
		    ADDRESS_CONTROL);
		CHECK(strstr(why, "at position 4;") != NULL);
		snprintf(in, sizeof(in), "..%c\xff", (char)c);
		CHECK_INT(address_parse(in, &a, why, sizeof(why)),
		    ADDRESS_CONTROL);
	}

	/* CR and LF: the smuggling case. */
	CHECK_INT(address_parse("a@example.com\r\nRCPT TO:<b@example.com>",
	    &a, why, sizeof(why)), ADDRESS_CONTROL);
	CHECK(strstr(why, "(carriage return, CR) at position 14") != NULL);
	CHECK_INT(address_parse("a@example.com\nDATA", &a, why, sizeof(why)),
	    ADDRESS_CONTROL);
	CHECK(strstr(why, "(line feed, LF) at position 14") != NULL);
	CHECK_INT(address_parse("<a@example.com>\r", &a, why, sizeof(why)),
	    ADDRESS_CONTROL);
	CHECK(strstr(why, "at position 16") != NULL);
	CHECK_STR(a.mailbox, "");
}

/* RFC 5321 §4.5.3.1: local part, label, domain and address lengths. */
static void
test_lengths(void)
{
	struct address a;
	char in[2048], why[512], local[128], dom[600];
	int k;

	/* local part: 64 octets exactly, then 65 */
	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(in, sizeof(in), "%s@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	CHECK_INT(strlen(a.local), 64);
	snprintf(in, sizeof(in), "%sl@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_LOCAL_TOO_LONG);
	CHECK(strstr(why, "the local part is 65 octets long; the limit is "
	    "64") != NULL);
	/* quoted: the quotes count */
	memset(local, 'q', 62);
	local[62] = '\0';
	snprintf(in, sizeof(in), "\"%s\"@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	snprintf(in, sizeof(in), "\"%sq\"@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_LOCAL_TOO_LONG);
	/* UTF-8: octets, not characters (32 x "é" = 64 octets) */
	local[0] = '\0';
	for (k = 0; k < 32; k++)
		strcat(local, "\xc3\xa9");
	snprintf(in, sizeof(in), "%s@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	CHECK(a.local_utf8);
	snprintf(in, sizeof(in), "%sx@example.com", local);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_LOCAL_TOO_LONG);

	/* labels: 63 octets exactly, then 64 */
	memset(dom, 'd', 63);
	strcpy(dom + 63, ".example");
	snprintf(in, sizeof(in), "a@%s", dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	memset(dom, 'd', 64);
	strcpy(dom + 64, ".example");
	snprintf(in, sizeof(in), "a@%s", dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_DOMAIN_SYNTAX);

	/* whole address: 254 octets exactly (64 + 1 + 189), then 255 */
	memset(local, 'l', 64);
	local[64] = '\0';
	memset(dom, 'd', 189);
	dom[63] = dom[127] = '.';
	dom[189] = '\0';
	snprintf(in, sizeof(in), "%s@%s", local, dom);
	CHECK_INT(strlen(in), 254);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	CHECK_INT(strlen(a.mailbox), 254);
	snprintf(in, sizeof(in), "<%s@%s>", local, dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_OK);
	dom[189] = 'd';
	dom[190] = '\0';
	snprintf(in, sizeof(in), "%s@%s", local, dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_TOO_LONG);
	CHECK(strstr(why, "the address is 255 octets long; the limit is "
	    "254") != NULL);

	/* domain: 255 octets is within the domain limit (so the whole
	 * address is what is too long); 256 is over it */
	memset(dom, 'd', 255);
	dom[63] = dom[127] = dom[191] = '.';
	dom[255] = '\0';
	CHECK(address_hostname_ok(dom));
	snprintf(in, sizeof(in), "a@%s", dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_TOO_LONG);
	dom[255] = 'd';
	dom[256] = '\0';
	CHECK(!address_hostname_ok(dom));
	snprintf(in, sizeof(in), "a@%s", dom);
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_DOMAIN_TOO_LONG);
	CHECK(strstr(why, "the domain is 256 octets long; the limit is 255")
	    != NULL);

	/* far over: refused before any copy */
	memset(in, 'x', 1500);
	in[1] = '@';
	in[1500] = '\0';
	CHECK_INT(address_parse(in, &a, why, sizeof(why)), ADDRESS_TOO_LONG);
	CHECK(strstr(why, "1500 octets long") != NULL);
	/* and just under the rough bound: still refused, nothing overrun */
	memset(in, 'x', LIMIT_ADDRESS * 4);
	in[1] = '@';
	in[LIMIT_ADDRESS * 4] = '\0';
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_DOMAIN_TOO_LONG);
	in[1] = 'x';
	in[2] = '@';
	in[3] = '[';
	in[LIMIT_ADDRESS * 4 - 1] = ']';
	CHECK_INT(address_parse(in, &a, why, sizeof(why)),
	    ADDRESS_LITERAL_SYNTAX);
}

static void
test_hostname(void)
{
	static const struct {
		const char	*name;
		bool		 ok;
	} h[] = {
		{ "example.com", true }, { "a", true }, { "a.b", true },
		{ "123", true }, { "1.2.3.4", true }, { "x-y.example", true },
		{ "xn--bcher-kva.example", true }, { "MX1.Example.COM", true },
		{ "a--b.example", true },
		{ "", false }, { ".", false }, { "example.com.", false },
		{ ".example.com", false }, { "example..com", false },
		{ "-a.example", false }, { "a-.example", false },
		{ "a.-b", false }, { "a.b-", false }, { "-", false },
		{ "a_b.example", false }, { "a b", false }, { "a@b", false },
		{ "[192.0.2.1]", false }, { "b\xc3\xbc" "cher.example", false },
		{ "a\tb", false },
	};
	char name[300];
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		CHECK_INT(address_hostname_ok(h[i].name), h[i].ok);
		if (address_hostname_ok(h[i].name) != h[i].ok)
			fprintf(stderr, "  case %s\n", h[i].name);
	}
	memset(name, 'a', 63);
	name[63] = '\0';
	CHECK(address_hostname_ok(name));
	name[63] = 'a';
	name[64] = '\0';
	CHECK(!address_hostname_ok(name));
	strcpy(name + 64, ".b");
	CHECK(!address_hostname_ok(name));
}

static void
test_names(void)
{
	static const char *const names[] = {
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
	size_t i;

	CHECK_INT(sizeof(names) / sizeof(names[0]), ADDRESS_TOO_LONG + 1);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STR(address_error_name((enum address_error)i), names[i]);
	CHECK_STR(address_error_name((enum address_error)(ADDRESS_TOO_LONG +
	    1)), "unknown");
	CHECK_STR(address_error_name((enum address_error)-1), "unknown");
}

int
main(void)
{
	test_ok();
	test_bad();
	test_control();
	test_lengths();
	test_hostname();
	test_names();
	return check_report("test_address");
}
