/*
 * test_json.c — unit tests of the JSON writer (probe/output/json.h): string
 * escaping (control bytes, invalid UTF-8, invisible characters, long
 * strings), nesting and commas, a report's outer object with its
 * "schema" key, the value helpers, arrays of a table's strings, and
 * misuse.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

/* A writer over a memory stream; out() closes it and keeps the text. */
struct cap {
	char			*buf;
	size_t			 len;
	FILE			*f;
	struct json_writer	 w;
};

static void
cap_open(struct cap *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	if (c->f == NULL) {
		perror("open_memstream");
		exit(1);
	}
	json_init(&c->w, c->f);
}

/* The text written so far; the caller frees it. */
static char *
cap_close(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

/* s[0..len) through the escaper alone. */
static char *
escaped(const char *s, size_t len)
{
	struct cap c;

	cap_open(&c);
	json_put_string(c.f, s, len);
	return cap_close(&c);
}

#define CHECK_ESC(in, want) do {					\
	char *got_ = escaped((in), sizeof(in) - 1);			\
	CHECK_STR(got_, (want));					\
	free(got_);							\
} while (0)

static void
test_escape_ascii(void)
{
	CHECK_ESC("", "\"\"");
	CHECK_ESC("plain text 123", "\"plain text 123\"");
	CHECK_ESC("say \"hi\"", "\"say \\\"hi\\\"\"");
	CHECK_ESC("a\\b", "\"a\\\\b\"");
	CHECK_ESC("/", "\"/\"");		/* no need to escape '/' */
	CHECK_ESC("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
}

static void
test_escape_controls(void)
{
	CHECK_ESC("\x01", "\"\\u0001\"");
	CHECK_ESC("\x1b[31m", "\"\\u001b[31m\"");
	CHECK_ESC("\x1f", "\"\\u001f\"");
	CHECK_ESC("\x7f", "\"\\u007f\"");
	CHECK_ESC("\b\f", "\"\\u0008\\u000c\"");
	/* A counted string may hold NUL. */
	CHECK_ESC("a\0b", "\"a\\u0000b\"");
}

static void
test_escape_utf8(void)
{
	/* Valid UTF-8 is copied: 2, 3 and 4 bytes. */
	CHECK_ESC("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	CHECK_ESC("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	CHECK_ESC("\xf0\x9d\x84\x9e", "\"\xf0\x9d\x84\x9e\"");
	/* Not UTF-8: each byte as \u00XX. */
	CHECK_ESC("\xff", "\"\\u00ff\"");
	CHECK_ESC("a\x80z", "\"a\\u0080z\"");
	CHECK_ESC("\xc3", "\"\\u00c3\"");		/* cut at the end */
	CHECK_ESC("\xc3(", "\"\\u00c3(\"");		/* bad continuation */
	CHECK_ESC("\xc0\x80", "\"\\u00c0\\u0080\"");	/* overlong NUL */
	CHECK_ESC("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
	CHECK_ESC("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");	/* surrogate */
	CHECK_ESC("\xf4\x90\x80\x80",
	    "\"\\u00f4\\u0090\\u0080\\u0080\"");	/* past U+10FFFF */
	CHECK_ESC("\xe2\x82", "\"\\u00e2\\u0082\"");
}

static void
test_escape_invisible(void)
{
	CHECK_ESC("\xc2\x85", "\"\\u0085\"");		/* NEL, C1 */
	CHECK_ESC("\xc2\x9b" "31m", "\"\\u009b31m\"");	/* CSI, C1 */
	CHECK_ESC("\xc2\xa0", "\"\xc2\xa0\"");		/* NBSP is shown */
	CHECK_ESC("a\xe2\x80\x8b" "b", "\"a\\u200bb\"");	/* ZWSP */
	CHECK_ESC("\xe2\x80\xae", "\"\\u202e\"");	/* RLO */
	CHECK_ESC("ex\xc2\xad" "ample", "\"ex\\u00adample\"");	/* SHY */
	/* A tag character, past U+FFFF: a surrogate pair. */
	CHECK_ESC("\xf3\xa0\x80\x81", "\"\\udb40\\udc01\"");
	CHECK_ESC("\xe2\x80\xa8", "\"\\u2028\"");	/* LINE SEPARATOR */
	CHECK_ESC("\xe2\x81\xa6", "\"\\u2066\"");	/* LRI */
	CHECK_ESC("\xe2\x81\xa0", "\"\\u2060\"");	/* WORD JOINER */
	CHECK_ESC("\xef\xbb\xbf", "\"\\ufeff\"");	/* BOM */
	CHECK_ESC("\xef\xbf\xb9", "\"\\ufff9\"");
	CHECK_ESC("\xef\xbf\xbc", "\"\xef\xbf\xbc\"");	/* U+FFFC is shown */
	CHECK_ESC("\xe2\x80\x8a", "\"\xe2\x80\x8a\"");	/* HAIR SPACE */
}

static void
test_long_string(void)
{
	size_t n = 200000, i;
	char *in = malloc(n), *got;
	size_t want;

	if (in == NULL) {
		CHECK(0);
		return;
	}
	/* Every 1000th byte a quote (2 bytes out), the rest 'a'. */
	for (i = 0; i < n; i++)
		in[i] = i % 1000 == 0 ? '"' : 'a';
	got = escaped(in, n);
	want = 2 + n + n / 1000;
	CHECK_INT(strlen(got), want);
	CHECK(got[0] == '"' && got[1] == '\\' && got[2] == '"');
	CHECK(got[want - 1] == '"' && got[want - 2] == 'a');
	free(got);
	free(in);
}

static void
test_nesting(void)
{
	struct cap c;
	char *got;

	cap_open(&c);
	json_object(&c.w);
	json_kv_str(&c.w, "a", "x");
	json_kv_array(&c.w, "list");
	json_int(&c.w, 1);
	json_object(&c.w);
	json_object_end(&c.w);
	json_array(&c.w);
	json_array_end(&c.w);
	json_str(&c.w, "s");
	json_array_end(&c.w);
	json_kv_object(&c.w, "o");
	json_kv_object(&c.w, "p");
	json_kv_null(&c.w, "q");
	json_object_end(&c.w);
	json_kv_array(&c.w, "e");
	json_array_end(&c.w);
	json_object_end(&c.w);
	json_kv_int(&c.w, "z", -1);
	json_object_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{\"a\":\"x\",\"list\":[1,{},[],\"s\"],"
	    "\"o\":{\"p\":{\"q\":null},\"e\":[]},\"z\":-1}\n");
	free(got);

	/* Empty containers, and an array as the whole document. */
	cap_open(&c);
	json_object(&c.w);
	json_object_end(&c.w);
	CHECK(json_finish(&c.w));
	json_array(&c.w);
	json_array(&c.w);
	json_array_end(&c.w);
	json_array(&c.w);
	json_array_end(&c.w);
	json_array_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{}\n[[],[]]\n");
	free(got);
}

/* A report's outer object starts with its format's version, wherever it
 * is written (a nested report carries it too). */
static void
test_report_object(void)
{
	struct cap c;
	char *got;

	cap_open(&c);
	json_report_object(&c.w);
	json_kv_int(&c.w, "n", 1);
	json_kv_array(&c.w, "nested");
	json_report_object(&c.w);
	json_object_end(&c.w);
	json_array_end(&c.w);
	json_object_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{\"schema\":\"" JSON_SCHEMA "\",\"n\":1,"
	    "\"nested\":[{\"schema\":\"" JSON_SCHEMA "\"}]}\n");
	CHECK(strncmp(JSON_SCHEMA, "smtpprobe/", 10) == 0);
	free(got);
}

static void
test_values(void)
{
	struct cap c;
	char *got;

	cap_open(&c);
	json_object(&c.w);
	json_kv_str(&c.w, "null", NULL);
	json_kv_str(&c.w, "empty", "");
	json_kv_str_nonempty(&c.w, "ne_empty", "");
	json_kv_str_nonempty(&c.w, "ne_null", NULL);
	json_kv_str_nonempty(&c.w, "ne", "v");
	json_kv_strn(&c.w, "n", "abcdef", 3);
	json_kv_int(&c.w, "min", -9223372036854775807LL - 1);
	json_kv_uint(&c.w, "max", 18446744073709551615ULL);
	json_kv_ms(&c.w, "ms", 12.34);
	json_kv_ms(&c.w, "zero", 0);
	json_kv_ms(&c.w, "neg", -0.26);
	json_kv_ms(&c.w, "inf", INFINITY);
	json_kv_ms(&c.w, "nan", NAN);
	json_kv_bool(&c.w, "t", true);
	json_kv_bool(&c.w, "f", false);
	json_kv_tri(&c.w, "t3", 5);
	json_kv_tri(&c.w, "f3", 0);
	json_kv_tri(&c.w, "n3", -1);
	json_kv_str(&c.w, "k\"ey", "v");	/* keys are escaped too */
	json_object_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{\"null\":null,\"empty\":\"\",\"ne_empty\":null,"
	    "\"ne_null\":null,\"ne\":\"v\",\"n\":\"abc\","
	    "\"min\":-9223372036854775808,\"max\":18446744073709551615,"
	    "\"ms\":12.3,\"zero\":0.0,\"neg\":-0.3,\"inf\":null,\"nan\":null,"
	    "\"t\":true,\"f\":false,\"t3\":true,\"f3\":false,\"n3\":null,"
	    "\"k\\\"ey\":\"v\"}\n");
	free(got);
}

/* The strings of a table of rows, as many as counted; none: []. */
static void
test_str_rows(void)
{
	char rows[3][8] = { "a", "b\"c", "unused" };
	struct cap c;
	char *got;

	cap_open(&c);
	json_object(&c.w);
	JSON_KV_STR_ROWS(&c.w, "two", rows, 2);
	JSON_KV_STR_ROWS(&c.w, "none", rows, 0);
	json_object_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{\"two\":[\"a\",\"b\\\"c\"],\"none\":[]}\n");
	free(got);
}

/* A misuse stops the writer: what comes after is not written, and
 * json_finish() says so; the writer then starts a new document. */
static void
test_misuse(void)
{
	struct cap c;
	char *got;
	int i;

	cap_open(&c);
	json_object(&c.w);
	json_int(&c.w, 1);		/* a value without its key */
	json_kv_int(&c.w, "a", 2);
	json_object_end(&c.w);
	CHECK(!json_finish(&c.w));
	json_array(&c.w);
	json_key(&c.w, "a");		/* a key in an array */
	json_int(&c.w, 3);
	json_array_end(&c.w);
	CHECK(!json_finish(&c.w));
	json_array(&c.w);
	json_object_end(&c.w);		/* the wrong bracket */
	CHECK(!json_finish(&c.w));
	json_object(&c.w);
	json_key(&c.w, "k");
	json_object_end(&c.w);		/* a key without its value */
	CHECK(!json_finish(&c.w));
	json_object(&c.w);		/* left open */
	CHECK(!json_finish(&c.w));
	CHECK(!json_finish(&c.w));	/* nothing written */
	json_int(&c.w, 1);
	json_int(&c.w, 2);		/* two documents on one line */
	CHECK(!json_finish(&c.w));
	json_array_end(&c.w);		/* nothing open */
	CHECK(!json_finish(&c.w));
	json_int(&c.w, 7);		/* and the writer works again */
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_STR(got, "{\n[\n[\n{\"k\":\n{\n\n1\n\n7\n");
	free(got);

	/* Nesting past JSON_DEPTH_MAX. */
	cap_open(&c);
	for (i = 0; i < JSON_DEPTH_MAX + 4; i++)
		json_array(&c.w);
	for (i = 0; i < JSON_DEPTH_MAX + 4; i++)
		json_array_end(&c.w);
	CHECK(!json_finish(&c.w));
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		json_array(&c.w);
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		json_array_end(&c.w);
	CHECK(json_finish(&c.w));
	got = cap_close(&c);
	CHECK_INT(strlen(got), JSON_DEPTH_MAX + 1 + 2 * JSON_DEPTH_MAX + 1);
	CHECK(strncmp(got + JSON_DEPTH_MAX, "\n[", 2) == 0);
	free(got);
}

int
main(void)
{
	test_escape_ascii();
	test_escape_controls();
	test_escape_utf8();
	test_escape_invisible();
	test_long_string();
	test_nesting();
	test_report_object();
	test_values();
	test_str_rows();
	test_misuse();
	return check_report("test_json");
}
