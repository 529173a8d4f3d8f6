/*
 * test_identity.c — the pure helpers of probe/core/identity.c: the client
 * address stated in greetings and EHLO replies, first words, name
 * comparison and validity, private ranges.
 */
#include <string.h>

#include "check.h"
#include "identity.h"

static const char *
find(const char *text, bool skip)
{
	static char out[64];

	if (!identity_find_bracketed_ip(text, strlen(text), skip, out,
	    sizeof(out)))
		return "";
	return out;
}

static void
test_bracketed_ip(void)
{
	/* Exim, Sendmail, Google, Microsoft, Postfix rejections. */
	CHECK_STR(find("mx.example.com Hello probe.test [203.0.113.5]", true),
	    "203.0.113.5");
	CHECK_STR(find("mx.example.com Hello host [192.0.2.7] (may be "
	    "forged), pleased to meet you", true), "192.0.2.7");
	CHECK_STR(find("mx.google.com at your service, [203.0.113.5]", true),
	    "203.0.113.5");
	CHECK_STR(find("EX01.example.com Hello [198.51.100.20]", true),
	    "198.51.100.20");
	CHECK_STR(find("Client host rejected: cannot find your hostname, "
	    "[192.0.2.7]", false), "192.0.2.7");
	CHECK_STR(find("mx Hello (203.0.113.9)", true), "203.0.113.9");
	CHECK_STR(find("mx Hello x [IPv6:2001:DB8::0:1]", true),
	    "2001:db8::1");
	CHECK_STR(find("mx Hello x [2001:db8::5]", true), "2001:db8::5");
	CHECK_STR(find("mx Hello x (ipv6:2001:db8::5)", true), "2001:db8::5");
	/* The server's own literal as first word is skipped. */
	CHECK_STR(find("[192.0.2.1] ESMTP ready", true), "");
	CHECK_STR(find("[192.0.2.1] Hello [192.0.2.9]", true), "192.0.2.9");
	/* Not addresses. */
	CHECK_STR(find("mx ESMTP (Postfix)", true), "");
	CHECK_STR(find("mx Hello [not.an.ip]", true), "");
	CHECK_STR(find("mx Hello [999.1.1.1]", true), "");
	CHECK_STR(find("mx Hello [192.0.2.1", true), "");
	CHECK_STR(find("mx Hello [[192.0.2.1]", true), "192.0.2.1");
	CHECK_STR(find("mx Hello (see [192.0.2.3])", true), "192.0.2.3");
	CHECK_STR(find("", false), "");
	CHECK_STR(find("[", false), "");
	CHECK_STR(find("[]", false), "");
	CHECK_STR(find("()", false), "");
	/* Over-long bracket contents are not scanned without bound. */
	{
		char big[600];
		memset(big, '1', sizeof(big));
		big[0] = '[';
		big[sizeof(big) - 2] = ']';
		big[sizeof(big) - 1] = '\0';
		CHECK_STR(find(big, false), "");
	}
	/* A NUL inside the text is just a byte. */
	{
		const char t[] = "mx Hello \0 [192.0.2.4]";
		char out[64];
		CHECK(identity_find_bracketed_ip(t, sizeof(t) - 1, true, out,
		    sizeof(out)));
		CHECK_STR(out, "192.0.2.4");
	}
	/* A tiny output buffer fails cleanly. */
	{
		char out[4];
		CHECK(!identity_find_bracketed_ip("[192.0.2.4]", 11, false, out,
		    sizeof(out)));
	}
}

static void
test_first_word(void)
{
	char w[16];

	CHECK(identity_first_word("mx.example.com ESMTP", 20, w, sizeof(w)));
	CHECK_STR(w, "mx.example.com");
	CHECK(identity_first_word("  mx.example.com.", 17, w, sizeof(w)));
	CHECK_STR(w, "mx.example.com");
	CHECK(!identity_first_word("", 0, w, sizeof(w)));
	CHECK_STR(w, "");
	CHECK(!identity_first_word("   ", 3, w, sizeof(w)));
	CHECK(identity_first_word("a-very-long-name.example.com x", 30, w,
	    sizeof(w)));
	CHECK_INT(strlen(w), sizeof(w) - 1);
	CHECK(identity_first_word("mx\tESMTP", 8, w, sizeof(w)));
	CHECK_STR(w, "mx");
}

static void
test_names(void)
{
	CHECK(identity_name_eq("MX.Example.COM", "mx.example.com."));
	CHECK(identity_name_eq("mx.example.com.", "mx.example.com"));
	CHECK(!identity_name_eq("mx.example.com", "mx.example.co"));
	CHECK(!identity_name_eq("", ""));
	CHECK(!identity_name_eq(".", "."));

	CHECK(identity_hostname_valid("mx1.example.com"));
	CHECK(identity_hostname_valid("xn--bcher-kva.example"));
	CHECK(!identity_hostname_valid("localhost"));
	CHECK(!identity_hostname_valid("mail_server.example.com"));
	CHECK(!identity_hostname_valid("192.0.2.1"));
	CHECK(!identity_hostname_valid("-bad.example.com"));
	CHECK(!identity_hostname_valid("bad-.example.com"));
	CHECK(!identity_hostname_valid("a..example.com"));
	CHECK(!identity_hostname_valid(""));
	CHECK(!identity_hostname_valid(NULL));
	CHECK(!identity_hostname_valid("host name.example.com"));
}

static void
test_private(void)
{
	CHECK(identity_ip_private("10.1.2.3"));
	CHECK(identity_ip_private("172.16.0.1"));
	CHECK(identity_ip_private("172.31.255.255"));
	CHECK(!identity_ip_private("172.32.0.1"));
	CHECK(identity_ip_private("192.168.1.1"));
	CHECK(identity_ip_private("100.64.0.1"));
	CHECK(!identity_ip_private("100.128.0.1"));
	CHECK(identity_ip_private("169.254.1.1"));
	CHECK(identity_ip_private("fd00::1"));
	CHECK(identity_ip_private("fe80::1"));
	CHECK(!identity_ip_private("2001:db8::1"));
	CHECK(!identity_ip_private("203.0.113.5"));
	CHECK(!identity_ip_private("127.0.0.1"));
	CHECK(!identity_ip_private("not an address"));
}

int
main(void)
{
	test_bracketed_ip();
	test_first_word();
	test_names();
	test_private();
	CHECK_STR(ident_check_name(IDENT_YES), "yes");
	CHECK_STR(ident_check_name(IDENT_UNKNOWN), "unknown");
	return check_report("test_identity");
}
