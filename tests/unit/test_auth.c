/*
 * test_auth.c — SASL encoding for SMTP AUTH: base64, PLAIN, CRAM-MD5
 * (the example of RFC 2195 §2), mechanism choice.
 */
#include <string.h>

#include "auth.h"
#include "check.h"

static void
test_base64(void)
{
	char out[64];
	unsigned char back[64];

	CHECK_INT(auth_b64_encode((const unsigned char *)"alice", 5, out,
	    sizeof(out)), 8);
	CHECK_STR(out, "YWxpY2U=");
	CHECK_INT(auth_b64_decode("YWxpY2U=", 8, back, sizeof(back)), 5);
	CHECK(memcmp(back, "alice", 5) == 0);
	CHECK_INT(auth_b64_decode("VXNlcm5hbWU6", 12, back, sizeof(back)), 9);
	CHECK(memcmp(back, "Username:", 9) == 0);
	CHECK_INT(auth_b64_decode("not base64!", 11, back, sizeof(back)), -1);
	CHECK_INT(auth_b64_encode((const unsigned char *)"abcdef", 6, out, 8),
	    -1);
	CHECK_INT(auth_b64_decode("YWxpY2U=", 8, back, 3), -1);
}

static void
test_plain(void)
{
	char out[AUTH_LINE_MAX], user[AUTH_USER_MAX + 2];

	CHECK(auth_plain_response("alice", "s3cret-Pass", out,
	    sizeof(out)) > 0);
	CHECK_STR(out, "AGFsaWNlAHMzY3JldC1QYXNz");
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	CHECK_INT(auth_plain_response(user, "x", out, sizeof(out)), -1);
}

static void
test_cram_md5(void)
{
	char out[256];
	const char *chal = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1"
	    "jaS5uZXQ+";

	CHECK(auth_cram_md5_response("tim", "tanstaaftanstaaf", chal,
	    strlen(chal), out, sizeof(out)) > 0);
	CHECK_STR(out, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	CHECK_INT(auth_cram_md5_response("tim", "x", "!!", 2, out,
	    sizeof(out)), -1);
}

static void
test_choose(void)
{
	CHECK_INT(auth_choose(AUTH_MECH_AUTO, "LOGIN PLAIN", true),
	    AUTH_MECH_PLAIN);
	CHECK_INT(auth_choose(AUTH_MECH_AUTO, "LOGIN", true), AUTH_MECH_LOGIN);
	CHECK_INT(auth_choose(AUTH_MECH_AUTO, "PLAIN CRAM-MD5", false),
	    AUTH_MECH_CRAM_MD5);
	CHECK_INT(auth_choose(AUTH_MECH_AUTO, "PLAIN CRAM-MD5", true),
	    AUTH_MECH_PLAIN);
	CHECK_INT(auth_choose(AUTH_MECH_AUTO, "XOAUTH2 GSSAPI", true),
	    AUTH_MECH_AUTO);
	CHECK_INT(auth_choose(AUTH_MECH_LOGIN, "PLAIN", true), AUTH_MECH_AUTO);
	CHECK_INT(auth_choose(AUTH_MECH_LOGIN, "PLAIN LOGIN", true),
	    AUTH_MECH_LOGIN);
	/* A longer word does not match a shorter one. */
	CHECK_INT(auth_choose(AUTH_MECH_PLAIN, "PLAINX", true), AUTH_MECH_AUTO);
	CHECK_INT(auth_mech_parse("cram-md5"), AUTH_MECH_CRAM_MD5);
	CHECK_INT(auth_mech_parse("DIGEST-MD5"), -1);
}

int
main(void)
{
	test_base64();
	test_plain();
	test_cram_md5();
	test_choose();
	return check_report("test_auth");
}
