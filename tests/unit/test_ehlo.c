/*
 * test_ehlo.c — the EHLO keyword parser (ehlo_parse in probe/core/reply.c):
 * the replies of common servers, AUTH in both forms, the SIZE argument,
 * the capability flags, duplicates, the keyword limit, whitespace.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "limits.h"
#include "reply.h"

/* Parse a CRLF stream holding one complete reply. */
static struct reply *
parse(const char *s)
{
	struct reply_parser p;
	struct reply *r = NULL;
	enum reply_status st = REPLY_MORE;

	reply_parser_init(&p);
	while (*s != '\0') {
		const char *eol = strchr(s, '\n');
		size_t n = eol != NULL ? (size_t)(eol - s) : strlen(s);
		bool crlf = n > 0 && s[n - 1] == '\r';

		st = reply_parser_line(&p, s, crlf ? n - 1 : n, crlf, &r);
		s += n + (eol != NULL);
		if (st != REPLY_MORE)
			break;
	}
	CHECK_INT(st, REPLY_DONE);
	CHECK(*s == '\0');
	reply_parser_reset(&p);
	return r;
}

static void
caps_of(const char *s, struct ehlo_caps *c)
{
	struct reply *r = parse(s);

	memset(c, 0xa5, sizeof(*c));	/* ehlo_parse must clear it */
	if (r == NULL) {
		memset(c, 0, sizeof(*c));
		return;
	}
	ehlo_parse(r, c);
	reply_free(r);
}

/* Flags as a bit string, for compact tables. */
enum {
	F_STARTTLS = 1 << 0, F_PIPELINING = 1 << 1, F_8BITMIME = 1 << 2,
	F_SMTPUTF8 = 1 << 3, F_ESC = 1 << 4, F_CHUNKING = 1 << 5,
	F_DSN = 1 << 6, F_REQUIRETLS = 1 << 7, F_SIZE = 1 << 8
};

static unsigned
flags(const struct ehlo_caps *c)
{
	return (c->starttls ? F_STARTTLS : 0) |
	    (c->pipelining ? F_PIPELINING : 0) |
	    (c->eightbitmime ? F_8BITMIME : 0) |
	    (c->smtputf8 ? F_SMTPUTF8 : 0) |
	    (c->enhancedstatuscodes ? F_ESC : 0) |
	    (c->chunking ? F_CHUNKING : 0) | (c->dsn ? F_DSN : 0) |
	    (c->requiretls ? F_REQUIRETLS : 0) | (c->has_size ? F_SIZE : 0);
}

/* Keywords joined by spaces. */
static const char *
kwlist(const struct ehlo_caps *c, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < c->nkeywords; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "",
		    c->keywords[i]);
	return buf;
}

static const struct server_case {
	const char		*what;
	const char		*reply;
	const char		*name;
	unsigned		 flags;
	unsigned long long	 size;
	const char		*auth;
	const char		*keywords;
} servers[] = {
	{ "Postfix",
	    "250-mail.example.com\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n"
	    "250-VRFY\r\n"
	    "250-ETRN\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN\r\n"
	    "250-AUTH=PLAIN LOGIN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n"
	    "250-DSN\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 CHUNKING\r\n",
	    "mail.example.com",
	    F_STARTTLS | F_PIPELINING | F_8BITMIME | F_SMTPUTF8 | F_ESC |
	    F_CHUNKING | F_DSN | F_SIZE, 10240000, "PLAIN LOGIN",
	    "PIPELINING SIZE VRFY ETRN STARTTLS AUTH AUTH=PLAIN "
	    "ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING" },
	{ "Exim",
	    "250-mx.example.org Hello client.example.net [192.0.2.10]\r\n"
	    "250-SIZE 52428800\r\n"
	    "250-8BITMIME\r\n"
	    "250-PIPELINING\r\n"
	    "250-PIPECONNECT\r\n"
	    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
	    "250-CHUNKING\r\n"
	    "250-STARTTLS\r\n"
	    "250-PRDR\r\n"
	    "250 HELP\r\n",
	    "mx.example.org",
	    F_STARTTLS | F_PIPELINING | F_8BITMIME | F_CHUNKING | F_SIZE,
	    52428800, "PLAIN LOGIN CRAM-MD5",
	    "SIZE 8BITMIME PIPELINING PIPECONNECT AUTH CHUNKING STARTTLS "
	    "PRDR HELP" },
	{ "Exchange",
	    "250-EX01.contoso.com Hello [192.0.2.10]\r\n"
	    "250-SIZE 37748736\r\n"
	    "250-PIPELINING\r\n"
	    "250-DSN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-STARTTLS\r\n"
	    "250-X-ANONYMOUSTLS\r\n"
	    "250-AUTH NTLM\r\n"
	    "250-X-EXPS GSSAPI NTLM\r\n"
	    "250-8BITMIME\r\n"
	    "250-BINARYMIME\r\n"
	    "250-CHUNKING\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 XRDST\r\n",
	    "EX01.contoso.com",
	    F_STARTTLS | F_PIPELINING | F_8BITMIME | F_SMTPUTF8 | F_ESC |
	    F_CHUNKING | F_DSN | F_SIZE, 37748736, "NTLM",
	    "SIZE PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS "
	    "AUTH X-EXPS 8BITMIME BINARYMIME CHUNKING SMTPUTF8 XRDST" },
	{ "Gmail",
	    "250-mx.google.com at your service, [192.0.2.10]\r\n"
	    "250-SIZE 157286400\r\n"
	    "250-8BITMIME\r\n"
	    "250-STARTTLS\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-PIPELINING\r\n"
	    "250-CHUNKING\r\n"
	    "250 SMTPUTF8\r\n",
	    "mx.google.com",
	    F_STARTTLS | F_PIPELINING | F_8BITMIME | F_SMTPUTF8 | F_ESC |
	    F_CHUNKING | F_SIZE, 157286400, "",
	    "SIZE 8BITMIME STARTTLS ENHANCEDSTATUSCODES PIPELINING CHUNKING "
	    "SMTPUTF8" },
	/* lower case, as some small servers send it */
	{ "lower case",
	    "250-smtp.example.net\r\n250-starttls\r\n250-pipelining\r\n"
	    "250-8bitmime\r\n250-smtputf8\r\n250-enhancedstatuscodes\r\n"
	    "250-chunking\r\n250-dsn\r\n250-requiretls\r\n"
	    "250-size 1000\r\n250 auth plain login\r\n",
	    "smtp.example.net",
	    F_STARTTLS | F_PIPELINING | F_8BITMIME | F_SMTPUTF8 | F_ESC |
	    F_CHUNKING | F_DSN | F_REQUIRETLS | F_SIZE, 1000, "PLAIN LOGIN",
	    "STARTTLS PIPELINING 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES "
	    "CHUNKING DSN REQUIRETLS SIZE AUTH" },
	{ "REQUIRETLS alone", "250-a.example\r\n250 REQUIRETLS\r\n",
	    "a.example", F_REQUIRETLS, 0, "", "REQUIRETLS" },
	/* only the greeting line */
	{ "no keywords", "250 mx.example.test\r\n", "mx.example.test", 0, 0,
	    "", "" },
	{ "no text", "250\r\n", "", 0, 0, "", "" },
	/* whitespace around keywords and arguments; empty lines skipped */
	{ "whitespace",
	    "250-  mx.example.test  greets you\r\n"
	    "250-PIPELINING \t\r\n"
	    "250-\tSTARTTLS\r\n"
	    "250-SIZE\t2048 \t\r\n"
	    "250-\r\n"
	    "250- \t \r\n"
	    "250 AUTH  PLAIN\t LOGIN  \r\n",
	    "mx.example.test", F_STARTTLS | F_PIPELINING | F_SIZE, 2048,
	    "PLAIN LOGIN", "PIPELINING STARTTLS SIZE AUTH" },
	/* whole keywords only, never a prefix or a suffix */
	{ "look-alikes",
	    "250-a.example\r\n250-STARTTLSX\r\n250-XSTARTTLS\r\n"
	    "250-PIPELINING2\r\n250-SIZEX 100\r\n250-AUTHX PLAIN\r\n"
	    "250 X-AUTH LOGIN\r\n",
	    "a.example", 0, 0, "",
	    "STARTTLSX XSTARTTLS PIPELINING2 SIZEX AUTHX X-AUTH" },
	/* duplicates: listed as sent, flags set once, mechanisms once */
	{ "duplicates",
	    "250-a.example\r\n250-STARTTLS\r\n250-STARTTLS\r\n"
	    "250-SIZE 100\r\n250-SIZE 200\r\n250-AUTH PLAIN\r\n"
	    "250-AUTH PLAIN LOGIN plain\r\n250 PIPELINING\r\n",
	    "a.example", F_STARTTLS | F_SIZE | F_PIPELINING, 200,
	    "PLAIN LOGIN",
	    "STARTTLS STARTTLS SIZE SIZE AUTH AUTH PIPELINING" },
};

static void
test_servers(void)
{
	size_t i;
	struct ehlo_caps c;
	char buf[2048];

	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		const struct server_case *t = &servers[i];

		caps_of(t->reply, &c);
		CHECK_STR(c.name, t->name);
		CHECK_INT(flags(&c), t->flags);
		CHECK(c.size == t->size);
		CHECK_STR(c.auth, t->auth);
		CHECK_STR(kwlist(&c, buf, sizeof(buf)), t->keywords);
		CHECK_INT(c.keywords_dropped, 0);
		if (flags(&c) != t->flags || c.size != t->size)
			fprintf(stderr, "  case: %s\n", t->what);
	}
}

static const struct size_case {
	const char		*line;
	unsigned long long	 size;
} sizes[] = {
	{ "SIZE 10240000", 10240000 },
	{ "SIZE", 0 },				/* no fixed limit */
	{ "SIZE 0", 0 },
	{ "SIZE -1", 0 },
	{ "SIZE abc", 0 },
	{ "SIZE 12abc", 0 },
	{ "SIZE +100", 0 },
	{ "SIZE 0x100", 0 },
	{ "SIZE 1000 extra", 1000 },
	{ "SIZE 007", 7 },
	{ "SIZE 99999999999999999999999", 0 },	/* must not wrap */
	{ "SIZE 18446744073709551616", 0 },	/* 2^64 */
	{ "SIZE 18446744073709551615", 18446744073709551615ULL },
	{ "SIZE 18446744073709551609", 18446744073709551609ULL },
	{ "SIZE 18446744073709551610", 18446744073709551610ULL },
	{ "SIZE 1844674407370955161", 1844674407370955161ULL },
	{ "SIZE 184467440737095516150", 0 },
	{ "SIZE 36893488147419103232", 0 },	/* 2^65 */
};

static void
test_size(void)
{
	size_t i;
	struct ehlo_caps c;
	char buf[128];

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(buf, sizeof(buf), "250-a.example\r\n250 %s\r\n",
		    sizes[i].line);
		caps_of(buf, &c);
		CHECK(c.has_size);
		CHECK(c.size == sizes[i].size);
		CHECK_INT(c.nkeywords, 1);
		CHECK_STR(c.keywords[0], "SIZE");
		if (c.size != sizes[i].size)
			fprintf(stderr, "  case: %s -> %llu\n", sizes[i].line,
			    c.size);
	}
	caps_of("250-a.example\r\n250 PIPELINING\r\n", &c);
	CHECK(!c.has_size);
	CHECK(c.size == 0);
}

static const struct auth_case {
	const char	*lines;
	const char	*auth;
} auths[] = {
	{ "250 AUTH PLAIN LOGIN\r\n", "PLAIN LOGIN" },
	{ "250 AUTH=LOGIN\r\n", "LOGIN" },
	{ "250 AUTH=LOGIN PLAIN\r\n", "LOGIN PLAIN" },
	{ "250-AUTH PLAIN LOGIN\r\n250 AUTH=LOGIN\r\n", "PLAIN LOGIN" },
	{ "250-AUTH=LOGIN\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n",
	    "LOGIN PLAIN XOAUTH2" },
	{ "250 AUTH\r\n", "" },
	{ "250 AUTH=\r\n", "" },
	{ "250 auth cram-md5 Digest-MD5\r\n", "CRAM-MD5 DIGEST-MD5" },
	{ "250 AUTH LOGIN LOG LOGINX\r\n", "LOGIN LOG LOGINX" },
	{ "250 AUTH PLAIN\x01X\r\n", "PLAIN?X" },
	{ "250 AUTH GSSAPI NTLM GSSAPI\r\n", "GSSAPI NTLM" },
};

static void
test_auth(void)
{
	size_t i;
	struct ehlo_caps c;
	char buf[256], mech[16];

	for (i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
		snprintf(buf, sizeof(buf), "250-a.example\r\n%s",
		    auths[i].lines);
		caps_of(buf, &c);
		CHECK_STR(c.auth, auths[i].auth);
	}

	/* Mechanisms beyond the 255 bytes of caps.auth are left out. */
	{
		char big[4096];
		size_t o, k;

		o = (size_t)snprintf(big, sizeof(big), "250-a.example\r\n"
		    "250 AUTH");
		for (k = 0; k < 40; k++)
			o += (size_t)snprintf(big + o, sizeof(big) - o,
			    " MECH-%04zu", k);
		snprintf(big + o, sizeof(big) - o, "\r\n");
		caps_of(big, &c);
		/* "MECH-0000" is 9 bytes: 25 of them with 24 spaces = 249 */
		CHECK_INT(strlen(c.auth), 249);
		CHECK(strncmp(c.auth, "MECH-0000 MECH-0001 ", 20) == 0);
		snprintf(mech, sizeof(mech), " MECH-%04d", 24);
		CHECK(strcmp(c.auth + 249 - 10, mech) == 0);
	}
}

static void
test_limits(void)
{
	struct ehlo_caps c;
	struct reply r;
	char *s;
	size_t o, k, n = LIMIT_EHLO_KEYWORDS + 6;

	/* More keywords than kept: counted; flags still read. */
	s = malloc(32 * (n + 2));
	if (s == NULL)
		abort();
	o = (size_t)sprintf(s, "250-big.example\r\n");
	for (k = 0; k < n - 1; k++)
		o += (size_t)sprintf(s + o, "250-X-KW%03zu\r\n", k);
	sprintf(s + o, "250 STARTTLS\r\n");
	caps_of(s, &c);
	CHECK_INT(c.nkeywords, LIMIT_EHLO_KEYWORDS);
	CHECK_INT(c.keywords_dropped, 6);
	CHECK(c.starttls);
	CHECK_STR(c.keywords[0], "X-KW000");
	CHECK_STR(c.keywords[LIMIT_EHLO_KEYWORDS - 1], "X-KW063");
	free(s);

	/* Exactly the limit: nothing dropped. */
	s = malloc(32 * (LIMIT_EHLO_KEYWORDS + 2));
	if (s == NULL)
		abort();
	o = (size_t)sprintf(s, "250-big.example\r\n");
	for (k = 0; k < LIMIT_EHLO_KEYWORDS - 1; k++)
		o += (size_t)sprintf(s + o, "250-x-kw%03zu\r\n", k);
	sprintf(s + o, "250 dsn\r\n");
	caps_of(s, &c);
	CHECK_INT(c.nkeywords, LIMIT_EHLO_KEYWORDS);
	CHECK_INT(c.keywords_dropped, 0);
	CHECK_STR(c.keywords[0], "X-KW000");
	CHECK_STR(c.keywords[LIMIT_EHLO_KEYWORDS - 1], "DSN");
	CHECK(c.dsn);
	free(s);

	/* A keyword longer than its slot is cut, not overflowed. */
	caps_of("250-a.example\r\n250 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "\r\n", &c);
	CHECK_INT(c.nkeywords, 1);
	CHECK_STR(c.keywords[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234");

	/* A greeting name longer than LIMIT_HELO_NAME is cut. */
	s = malloc(LIMIT_HELO_NAME + 64);
	if (s == NULL)
		abort();
	memcpy(s, "250 ", 4);
	memset(s + 4, 'h', LIMIT_HELO_NAME + 10);
	memcpy(s + 4 + LIMIT_HELO_NAME + 10, "\r\n", 3);
	caps_of(s, &c);
	CHECK_INT(strlen(c.name), LIMIT_HELO_NAME);
	free(s);

	/* A reply with no lines kept. */
	memset(&r, 0, sizeof(r));
	r.code = 250;
	memset(&c, 0x5a, sizeof(c));
	ehlo_parse(&r, &c);
	CHECK_STR(c.name, "");
	CHECK_INT(c.nkeywords, 0);
	CHECK_INT(flags(&c), 0);
	CHECK_STR(c.auth, "");
}

int
main(void)
{
	test_servers();
	test_size();
	test_auth();
	test_limits();
	return check_report("test_ehlo");
}
