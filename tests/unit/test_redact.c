/*
 * test_redact.c — credentials out of server text: whole forms, base64
 * echoes (whole and cut short), case, short forms as words only, the
 * reply code kept, the output bound.
 */
#include <string.h>

#include "auth.h"
#include "check.h"
#include "redact.h"

static const char *
apply(const struct redact *r, const char *text)
{
	static char out[1024];

	redact_apply(r, text, strlen(text), out, sizeof(out));
	return out;
}

static void
test_secrets(void)
{
	struct redact *r = redact_new();
	char plain[AUTH_LINE_MAX];
	int n;

	CHECK(r != NULL);
	CHECK_INT(redact_add_secret(r, "alice", 5), 0);
	CHECK_INT(redact_add_secret(r, "s3cret-Pass", 11), 0);
	n = auth_plain_response("alice", "s3cret-Pass", plain, sizeof(plain));
	CHECK_INT(redact_add_b64(r, plain, (size_t)n), 0);

	/* The PLAIN blob echoed whole, and cut short. */
	CHECK_STR(apply(r, "535 5.7.8 AUTH PLAIN AGFsaWNlAHMzY3JldC1QYXNz "
	    "rejected"), "535 5.7.8 AUTH PLAIN <redacted> rejected");
	CHECK_STR(apply(r, "535 5.7.8 AUTH PLAIN AGFsaWNlAHM... rejected"),
	    "535 5.7.8 AUTH PLAIN <redacted>... rejected");
	/* LOGIN's answers (base64 of each), and the decoded values in any
	 * case. */
	CHECK_STR(apply(r, "535 user YWxpY2U= pass czNjcmV0LVBhc3M="),
	    "535 user <redacted> pass <redacted>");
	CHECK_STR(apply(r, "535 5.7.8 ALICE/S3CRET-PASS refused"),
	    "535 5.7.8 <redacted>/<redacted> refused");
	/* The start of a long password is a run of it. */
	CHECK_STR(apply(r, "535 bad password s3cret-P"),
	    "535 bad password <redacted>");
	/* Adjacent forms make one mark. */
	CHECK_STR(apply(r, "535 alices3cret-Pass"), "535 <redacted>");
	/* Nothing of the kind: unchanged. */
	CHECK_STR(apply(r, "250-mx.example.test Hello [127.0.0.1]"),
	    "250-mx.example.test Hello [127.0.0.1]");
	CHECK_STR(apply(r, "334 VXNlcm5hbWU6"), "334 VXNlcm5hbWU6");
	redact_free(r);
}

static void
test_edges(void)
{
	struct redact *r = redact_new();
	char out[16];

	CHECK_INT(redact_add_secret(r, "jo", 2), 0);
	CHECK_INT(redact_add_secret(r, "535", 3), 0);
	CHECK_INT(redact_add_secret(r, "", 0), 0);
	/* A two-byte form only as a word of its own. */
	CHECK_STR(apply(r, "550 no user jo here, john"),
	    "550 no user <redacted> here, john");
	/* The reply code stays, even when it is a secret. */
	CHECK_STR(apply(r, "535 5.7.8 535"), "535 5.7.8 <redacted>");
	/* The output bound: a mark is never cut, text after it is left
	 * out. */
	CHECK_INT(redact_apply(r, "535 jo jo jo jo", 15, out, sizeof(out)),
	    15);
	CHECK_STR(out, "535 <redacted> ");
	CHECK_INT(redact_apply(r, "abc", 3, out, 1), 0);
	CHECK_STR(out, "");
	/* No set: a copy. */
	CHECK_STR(apply(NULL, "535 jo"), "535 jo");
	redact_free(r);
	redact_free(NULL);
}

int
main(void)
{
	test_secrets();
	test_edges();
	return check_report("test_redact");
}
