/*
 * test_socks.c — the SOCKS 5 messages (RFC 1928, RFC 1929) and the
 * --proxy URL: built byte for byte, parsed whole, in pieces, cut short
 * and wrong.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "socks.h"

static void
test_url(void)
{
	struct socks_url u;
	char err[256], s[600];

	CHECK_INT(socks_url_parse("socks5://127.0.0.1:1080", &u, err,
	    sizeof(err)), 0);
	CHECK(!u.remote_dns);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 1080);
	CHECK_STR(u.user, "");
	CHECK_INT(socks_url_parse("SOCKS5H://alice@proxy.example.test:9050/",
	    &u, err, sizeof(err)), 0);
	CHECK(u.remote_dns);
	CHECK_STR(u.host, "proxy.example.test");
	CHECK_STR(u.user, "alice");
	CHECK_INT(u.port, 9050);
	socks_url_str(&u, s, sizeof(s));
	CHECK_STR(s, "socks5h://alice@proxy.example.test:9050");
	CHECK_INT(socks_url_parse("socks5://a%40b@[2001:db8::1]", &u, err,
	    sizeof(err)), 0);
	CHECK_STR(u.user, "a@b");
	CHECK_STR(u.host, "2001:db8::1");
	CHECK_INT(u.port, SOCKS_DEFAULT_PORT);
	socks_url_str(&u, s, sizeof(s));
	CHECK_STR(s, "socks5://a@b@[2001:db8::1]:1080");
	/* The last '@' ends the user name. */
	CHECK_INT(socks_url_parse("socks5://me@example.test@proxy:1", &u, err,
	    sizeof(err)), 0);
	CHECK_STR(u.user, "me@example.test");
	CHECK_STR(u.host, "proxy");

	/* A password on the command line is refused, and not echoed. */
	CHECK_INT(socks_url_parse("socks5://alice:s3cret@proxy:1080", &u, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "password") != NULL);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK_INT(socks_url_parse("http://proxy:8080", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks4://proxy:1080", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://", &u, err, sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://proxy:0", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://proxy:65536", &u, err,
	    sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://proxy:", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://proxy:12x", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://proxy/path", &u, err,
	    sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://[::1", &u, err, sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://[::1]x", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://[not-v6]:1", &u, err,
	    sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://@proxy", &u, err, sizeof(err)),
	    -1);
	CHECK_INT(socks_url_parse("socks5://a%0ab@proxy", &u, err,
	    sizeof(err)), -1);
	CHECK_INT(socks_url_parse("socks5://pro xy:1", &u, err, sizeof(err)),
	    -1);
}

static void
test_hello(void)
{
	uint8_t b[8];
	size_t used = 0;
	int m = -1;
	char why[160];

	CHECK_INT(socks_hello(false, b, sizeof(b)), 3);
	CHECK(memcmp(b, "\x05\x01\x00", 3) == 0);
	CHECK_INT(socks_hello(true, b, sizeof(b)), 4);
	CHECK(memcmp(b, "\x05\x02\x00\x02", 4) == 0);
	CHECK_INT(socks_hello(true, b, 3), 0);

	CHECK_INT(socks_hello_reply((const uint8_t *)"", 0, false, &used, &m,
	    why, sizeof(why)), SOCKS_MORE);
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x05", 1, false, &used,
	    &m, why, sizeof(why)), SOCKS_MORE);
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x05\x00", 2, false,
	    &used, &m, why, sizeof(why)), SOCKS_DONE);
	CHECK_INT(m, SOCKS_METHOD_NONE);
	CHECK_INT(used, 2);
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x05\xff", 2, true,
	    &used, &m, why, sizeof(why)), SOCKS_DONE);
	CHECK_INT(m, SOCKS_METHOD_REFUSED);
	/* Username/password chosen although not offered. */
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x05\x02", 2, false,
	    &used, &m, why, sizeof(why)), SOCKS_BAD);
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x05\x01", 2, true,
	    &used, &m, why, sizeof(why)), SOCKS_BAD);
	CHECK_INT(socks_hello_reply((const uint8_t *)"\x04\x5a", 2, false,
	    &used, &m, why, sizeof(why)), SOCKS_BAD);
	CHECK(strstr(why, "version 4") != NULL);
	CHECK_INT(socks_hello_reply((const uint8_t *)"HTTP/1.1 400", 12,
	    false, &used, &m, why, sizeof(why)), SOCKS_BAD);
	CHECK(strstr(why, "HTTP proxy") != NULL);
}

static void
test_auth(void)
{
	uint8_t b[SOCKS_AUTH_MAX];
	char longer[300];
	size_t used = 0;
	int st = -1;
	char why[160];

	CHECK_INT(socks_auth("alice", "pw", b, sizeof(b)), 10);
	CHECK(memcmp(b, "\x01\x05" "alice" "\x02" "pw", 10) == 0);
	CHECK_INT(socks_auth("", "pw", b, sizeof(b)), 0);
	CHECK_INT(socks_auth("alice", "", b, sizeof(b)), 0);
	CHECK_INT(socks_auth("alice", "pw", b, 9), 0);
	memset(longer, 'x', sizeof(longer));
	longer[SOCKS_PASSWORD_MAX] = '\0';
	CHECK_INT(socks_auth(longer, longer, b, sizeof(b)), SOCKS_AUTH_MAX);
	longer[SOCKS_PASSWORD_MAX] = 'x';
	longer[SOCKS_PASSWORD_MAX + 1] = '\0';
	CHECK_INT(socks_auth("alice", longer, b, sizeof(b)), 0);

	CHECK_INT(socks_auth_reply((const uint8_t *)"\x01", 1, &used, &st, why,
	    sizeof(why)), SOCKS_MORE);
	CHECK_INT(socks_auth_reply((const uint8_t *)"\x01\x00", 2, &used, &st,
	    why, sizeof(why)), SOCKS_DONE);
	CHECK_INT(st, 0);
	CHECK_INT(socks_auth_reply((const uint8_t *)"\x05\x01", 2, &used, &st,
	    why, sizeof(why)), SOCKS_DONE);
	CHECK_INT(st, 1);
	CHECK_INT(socks_auth_reply((const uint8_t *)"\x02\x00", 2, &used, &st,
	    why, sizeof(why)), SOCKS_BAD);
}

static void
test_connect(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	uint8_t b[SOCKS_REQUEST_MAX];
	char name[300];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
	CHECK_INT(socks_connect_addr((struct sockaddr *)&sin, b, sizeof(b)),
	    10);
	CHECK(memcmp(b, "\x05\x01\x00\x01\xc0\x00\x02\x0a\x00\x19", 10) == 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(587);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	CHECK_INT(socks_connect_addr((struct sockaddr *)&sin6, b, sizeof(b)),
	    22);
	CHECK(b[3] == SOCKS_ATYP_IPV6 && b[4] == 0x20 && b[5] == 0x01 &&
	    b[19] == 1 && b[20] == 0x02 && b[21] == 0x4b);
	CHECK_INT(socks_connect_addr((struct sockaddr *)&sin6, b, 21), 0);

	CHECK_INT(socks_connect_name("mx.example.test", 25, b, sizeof(b)), 22);
	CHECK(memcmp(b, "\x05\x01\x00\x03\x0f" "mx.example.test" "\x00\x19",
	    22) == 0);
	CHECK_INT(socks_connect_name("", 25, b, sizeof(b)), 0);
	CHECK_INT(socks_connect_name("a b", 25, b, sizeof(b)), 0);
	CHECK_INT(socks_connect_name("mx", 0, b, sizeof(b)), 0);
	memset(name, 'a', sizeof(name));
	name[SOCKS_NAME_MAX] = '\0';
	CHECK_INT(socks_connect_name(name, 25, b, sizeof(b)),
	    SOCKS_REQUEST_MAX);
	name[SOCKS_NAME_MAX] = 'a';
	name[SOCKS_NAME_MAX + 1] = '\0';
	CHECK_INT(socks_connect_name(name, 25, b, sizeof(b)), 0);
}

static void
test_reply(void)
{
	static const uint8_t ok4[] = { 5, 0, 0, 1, 203, 0, 113, 5, 0x9c, 0x40 };
	static const uint8_t ok6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1 };
	static const uint8_t dom[] = { 5, 2, 0, 3, 3, 'a', '\n', 'c', 0, 80 };
	static const uint8_t badtype[] = { 5, 0, 0, 7, 0, 0, 0, 0, 0, 0 };
	struct socks_reply r;
	size_t used = 0, i;
	char why[160];
	int rep = -1;

	for (i = 0; i < sizeof(ok4); i++)
		CHECK_INT(socks_connect_reply(ok4, i, &used, &r, why,
		    sizeof(why)), SOCKS_MORE);
	CHECK_INT(socks_connect_reply(ok4, sizeof(ok4), &used, &r, why,
	    sizeof(why)), SOCKS_DONE);
	CHECK_INT(used, sizeof(ok4));
	CHECK_INT(r.rep, SOCKS_REP_SUCCEEDED);
	CHECK_STR(r.bound, "203.0.113.5");
	CHECK_INT(r.port, 40000);
	CHECK_INT(socks_connect_reply(ok6, sizeof(ok6), &used, &r, why,
	    sizeof(why)), SOCKS_DONE);
	CHECK_STR(r.bound, "2001:db8::9");
	CHECK_INT(r.port, 1);
	CHECK_INT(socks_connect_reply(dom, sizeof(dom), &used, &r, why,
	    sizeof(why)), SOCKS_DONE);
	CHECK_INT(r.rep, SOCKS_REP_NOT_ALLOWED);
	CHECK_STR(r.bound, "a?c");
	CHECK_INT(r.port, 80);
	CHECK_INT(socks_connect_reply(badtype, sizeof(badtype), &used, &r, why,
	    sizeof(why)), SOCKS_BAD);
	CHECK_INT(socks_connect_reply((const uint8_t *)"\x00\x5b", 2, &used,
	    &r, why, sizeof(why)), SOCKS_BAD);

	CHECK(socks_reply_code((const uint8_t *)"\x05\x05", 2, &rep));
	CHECK_INT(rep, 5);
	CHECK(!socks_reply_code((const uint8_t *)"\x05", 1, &rep));
	CHECK(!socks_reply_code((const uint8_t *)"\x04\x5b", 2, &rep));

	CHECK_STR(socks_rep_text(SOCKS_REP_NOT_ALLOWED),
	    "connection not allowed by ruleset");
	CHECK_STR(socks_rep_name(SOCKS_REP_TTL_EXPIRED), "ttl_expired");
	CHECK_STR(socks_rep_name(9), "unassigned");
	CHECK_STR(socks_rep_text(-1), "unassigned reply code");
	CHECK_STR(socks_method_name(SOCKS_METHOD_USERPASS),
	    "username_password");
	CHECK_STR(socks_method_name(0x80), "other");
}

int
main(void)
{
	test_url();
	test_hello();
	test_auth();
	test_connect();
	test_reply();
	return check_report("test_socks");
}
