/*
 * test_mtasts.c — the MTA-STS and TLS-RPT parsers: the policy file
 * (RFC 8461 §3.2), the mx patterns (§4.1), the _mta-sts record (§3.1)
 * and the _smtp._tls record (RFC 8460 §3).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mtasts.h"

static void
parse(const char *text, struct mtasts_policy *p)
{
	mtasts_parse_policy(text, strlen(text), p);
}

static void
test_policy(void)
{
	struct mtasts_policy p;
	char big[LIMIT_MTASTS_MX * 40 + 128];
	size_t i, o;

	parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	    "mx: *.example.net\r\nmx: backupmx.example.com.\r\n"
	    "max_age: 604800\r\n", &p);
	CHECK(p.valid);
	CHECK_INT(p.mode, MTASTS_MODE_ENFORCE);
	CHECK_INT(p.max_age, 604800);
	CHECK_INT(p.nmx, 3);
	CHECK_STR(p.mx[1], "*.example.net");
	CHECK_STR(p.mx[2], "backupmx.example.com");

	/* LF only, blank lines, white space after the colon, case of the
	 * keys and modes, an unknown field: all fine. */
	parse("\nVersion:STSv1\nMODE:\t testing\nmx:mx.example.org  \n"
	    "max_age: 0\nextension: whatever\n\n", &p);
	CHECK(p.valid);
	CHECK_INT(p.mode, MTASTS_MODE_TESTING);
	CHECK_INT(p.max_age, 0);

	/* mode none needs no mx. */
	parse("version: STSv1\nmode: none\nmax_age: 86400\n", &p);
	CHECK(p.valid);
	CHECK_INT(p.mode, MTASTS_MODE_NONE);

	parse("version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p);
	CHECK(!p.valid);
	CHECK(strstr(p.error, "STSv1") != NULL);
	parse("version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n", &p);
	CHECK(!p.valid);
	parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n",
	    &p);
	CHECK(!p.valid);
	parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -5\n", &p);
	CHECK(!p.valid);
	parse("version: STSv1\nmode: enforce\nmax_age: 86400\n", &p);
	CHECK(!p.valid);
	CHECK_STR(p.error, "no mx field");
	parse("mode: enforce\nmx: a.b\nmax_age: 86400\n", &p);
	CHECK_STR(p.error, "no version field");
	parse("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", &p);
	CHECK(!p.valid);
	parse("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", &p);
	CHECK(!p.valid);
	parse("version: STSv1\nthis line has no colon\n", &p);
	CHECK(!p.valid);
	CHECK(strstr(p.error, "line 2") != NULL);
	mtasts_parse_policy("", 0, &p);
	CHECK(!p.valid);
	/* A NUL inside a line: not a valid pattern. */
	{
		static const char nul[] = "version: STSv1\nmode: enforce\n"
		    "mx: a\0b\nmax_age: 1\n";

		mtasts_parse_policy(nul, sizeof(nul) - 1, &p);
		CHECK(!p.valid);
		CHECK(strstr(p.error, "line 3") != NULL);
	}

	/* More mx lines than kept are counted. */
	o = (size_t)snprintf(big, sizeof(big), "version: STSv1\nmode: "
	    "enforce\nmax_age: 60\n");
	for (i = 0; i < LIMIT_MTASTS_MX + 3; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "mx: mx%zu.example.com\n", i);
	parse(big, &p);
	CHECK(p.valid);
	CHECK_INT(p.nmx, LIMIT_MTASTS_MX);
	CHECK_INT(p.mx_more, 3);
}

static void
test_match(void)
{
	CHECK(mtasts_mx_match("mail.example.com", "mail.example.com"));
	CHECK(mtasts_mx_match("mail.example.com", "MAIL.Example.COM."));
	CHECK(!mtasts_mx_match("mail.example.com", "mail2.example.com"));
	CHECK(mtasts_mx_match("*.example.com", "mx1.example.com"));
	CHECK(!mtasts_mx_match("*.example.com", "mx1.eu.example.com"));
	CHECK(!mtasts_mx_match("*.example.com", "example.com"));
	CHECK(!mtasts_mx_match("*.example.com", ".example.com"));
	CHECK(!mtasts_mx_match("*.example.com", "mx1.example.comx"));
	CHECK(!mtasts_mx_match("*.example.com", "mx1.xexample.com"));
}

static void
test_records(void)
{
	char id[33], why[96], rua[256];
	const char *t;

	t = "v=STSv1; id=20160831085700Z;";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), 1);
	CHECK_STR(id, "20160831085700Z");
	t = "v=STSv1;id=abc; ext=1";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), 1);
	CHECK_STR(id, "abc");
	t = "v=spf1 -all";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), 0);
	t = "v=STSv10; id=abc";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), 0);
	t = "v=STSv1;";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), -1);
	CHECK_STR(why, "no id field");
	t = "v=STSv1; id=not-alnum";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), -1);
	t = "v=STSv1; id=123456789012345678901234567890123";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), -1);
	t = "v=STSv1; junk";
	CHECK_INT(mtasts_parse_txt(t, strlen(t), id, sizeof(id), why,
	    sizeof(why)), -1);

	t = "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x";
	CHECK_INT(tlsrpt_parse_txt(t, strlen(t), rua, sizeof(rua), why,
	    sizeof(why)), 1);
	CHECK_STR(rua, "mailto:tls@example.com,https://r.example.com/x");
	t = "v=TLSRPTv1; rua=ftp://example.com";
	CHECK_INT(tlsrpt_parse_txt(t, strlen(t), rua, sizeof(rua), why,
	    sizeof(why)), -1);
	t = "v=TLSRPTv1";
	CHECK_INT(tlsrpt_parse_txt(t, strlen(t), rua, sizeof(rua), why,
	    sizeof(why)), -1);
	t = "v=STSv1; id=1";
	CHECK_INT(tlsrpt_parse_txt(t, strlen(t), rua, sizeof(rua), why,
	    sizeof(why)), 0);
}

int
main(void)
{
	test_policy();
	test_match();
	test_records();
	return check_report("test_mtasts");
}
