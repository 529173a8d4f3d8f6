/*
 * test_batchinput.c — the batch-mode line reader (blank and comment
 * lines, trimming, CRLF, NUL, bare CR, over-long lines, the byte-order
 * mark), CSV lists (--column) and the duplicate table.
 */
#include <stdlib.h>
#include <string.h>

#include "batchinput.h"
#include "check.h"

/* Read every line of input[0..len) through a memory stream. */
static size_t
read_all(const char *input, size_t len, struct batch_line *out, size_t max)
{
	struct batch_reader r;
	FILE *f = fmemopen((void *)input, len, "r");
	size_t n = 0;

	if (f == NULL)
		return 0;
	batch_reader_init(&r, f, NULL);
	while (n < max && batch_reader_next(&r, &out[n]) == 1)
		n++;
	CHECK_INT(r.error, 0);
	fclose(f);
	return n;
}

static void
test_basic(void)
{
	static struct batch_line l[16];
	const char in[] = "a@example.test\n\n# comment\n  b@example.test\t \n"
	    "   # indented comment\nc@example.test\r\n\t\n" "d@example.test";
	size_t n = read_all(in, sizeof(in) - 1, l, 16);

	CHECK_INT(n, 8);
	CHECK_INT(l[0].kind, BATCH_LINE_ADDRESS);
	CHECK_STR(l[0].text, "a@example.test");
	CHECK_INT(l[0].lineno, 1);
	CHECK_INT(l[1].kind, BATCH_LINE_SKIP);
	CHECK_INT(l[2].kind, BATCH_LINE_SKIP);
	CHECK_STR(l[3].text, "b@example.test");
	CHECK_INT(l[3].len, 14);
	CHECK_INT(l[4].kind, BATCH_LINE_SKIP);
	CHECK_INT(l[5].kind, BATCH_LINE_ADDRESS);
	CHECK_STR(l[5].text, "c@example.test");	/* CRLF */
	CHECK_INT(l[6].kind, BATCH_LINE_SKIP);
	CHECK_STR(l[7].text, "d@example.test");	/* no final LF */
	CHECK_INT(l[7].lineno, 8);
}

static void
test_invalid(void)
{
	static struct batch_line l[8];
	const char in[] = "x@exa\0mple.test\n" "y@ex\rample.test\n"
	    "z@example.test\r\r\n" "\xef\xbb\xbfw@example.test\n";
	size_t n = read_all(in, sizeof(in) - 1, l, 8);

	CHECK_INT(n, 4);
	CHECK_INT(l[0].kind, BATCH_LINE_INVALID);
	CHECK(strstr(l[0].why, "NUL byte at column 6") != NULL);
	/* The bytes as they were, NUL and all: the reports escape it. */
	CHECK_INT(l[0].len, 15);
	CHECK(memcmp(l[0].text, "x@exa\0mple.test", 16) == 0);
	CHECK_INT(l[1].kind, BATCH_LINE_INVALID);
	CHECK(strstr(l[1].why, "carriage return") != NULL);
	CHECK(strstr(l[1].why, "column 5") != NULL);
	CHECK_INT(l[2].kind, BATCH_LINE_INVALID);	/* CR before the CRLF */
	/* The byte-order mark counts only on line 1. */
	CHECK_INT(l[3].kind, BATCH_LINE_ADDRESS);
	CHECK(strncmp(l[3].text, "\xef\xbb\xbf", 3) == 0);

	n = read_all("\xef\xbb\xbfv@example.test\n", 18, l, 8);
	CHECK_INT(n, 1);
	CHECK_STR(l[0].text, "v@example.test");
}

static void
test_long(void)
{
	static struct batch_line l[4];
	size_t big = 3 * BATCH_LINE_MAX, n;
	char *in = malloc(big + 64);

	if (in == NULL)
		return;
	/* Exactly at the limit: kept whole (the address checker judges). */
	memset(in, 'a', BATCH_LINE_MAX);
	in[BATCH_LINE_MAX] = '\n';
	n = read_all(in, BATCH_LINE_MAX + 1, l, 4);
	CHECK_INT(n, 1);
	CHECK_INT(l[0].kind, BATCH_LINE_ADDRESS);
	CHECK_INT(l[0].len, BATCH_LINE_MAX);
	/* One over, with CRLF: still fine (the CR is the line end). */
	in[BATCH_LINE_MAX] = '\r';
	in[BATCH_LINE_MAX + 1] = '\n';
	n = read_all(in, BATCH_LINE_MAX + 2, l, 4);
	CHECK_INT(l[0].kind, BATCH_LINE_ADDRESS);
	/* Over the limit: invalid, never cut; the next line is intact. */
	memset(in, 'b', big);
	in[big] = '\n';
	memcpy(in + big + 1, "ok@example.test\n", 16);
	n = read_all(in, big + 17, l, 4);
	CHECK_INT(n, 2);
	CHECK_INT(l[0].kind, BATCH_LINE_INVALID);
	CHECK(strstr(l[0].why, "3072 bytes") != NULL);
	CHECK_STR(l[1].text, "ok@example.test");
	CHECK_INT(l[1].lineno, 2);
	/* A NUL far past what is kept is still found. */
	memset(in, 'c', big);
	in[2 * BATCH_LINE_MAX] = '\0';
	in[big] = '\n';
	n = read_all(in, big + 1, l, 4);
	CHECK_INT(l[0].kind, BATCH_LINE_INVALID);
	CHECK(strstr(l[0].why, "NUL") != NULL);
	/* A long comment is a comment. */
	memset(in, 'd', big);
	in[0] = '#';
	in[big] = '\n';
	n = read_all(in, big + 1, l, 4);
	CHECK_INT(l[0].kind, BATCH_LINE_SKIP);
	free(in);
}

static void
test_classify(void)
{
	struct batch_line l;

	batch_line_classify("  a@b.test \r", 12, 12, -1, 11, false, 5, &l);
	CHECK_INT(l.kind, BATCH_LINE_ADDRESS);
	CHECK_STR(l.text, "a@b.test");
	batch_line_classify("", 0, 0, -1, -1, true, 1, &l);
	CHECK_INT(l.kind, BATCH_LINE_SKIP);
	batch_line_classify("\r", 1, 1, -1, -1, false, 2, &l);
	CHECK_INT(l.kind, BATCH_LINE_SKIP);
	batch_line_classify("a\x1b@b.test", 9, 9, -1, -1, false, 3, &l);
	CHECK_INT(l.kind, BATCH_LINE_ADDRESS);	/* the address checker refuses it */
}

static void
test_seen(void)
{
	struct batch_seen s;
	struct batch_seen_entry *e;
	char key[600];
	size_t n;
	bool dup;
	uint32_t i;

	batch_seen_init(&s);
	n = batch_dup_key("User", "Example.TEST", key, sizeof(key));
	CHECK_STR(key, "User@example.test");
	e = batch_seen_put(&s, key, n, 0, 1, &dup);
	CHECK(e != NULL && !dup);
	n = batch_dup_key("User", "example.test", key, sizeof(key));
	e = batch_seen_put(&s, key, n, 5, 9, &dup);
	CHECK(e != NULL && dup);
	CHECK_INT(e->index, 0);
	CHECK_INT(e->line, 1);
	/* The local part is case-sensitive (RFC 5321 §2.4). */
	n = batch_dup_key("user", "example.test", key, sizeof(key));
	e = batch_seen_put(&s, key, n, 6, 10, &dup);
	CHECK(e != NULL && !dup);
	/* Growth keeps every entry. */
	for (i = 0; i < 5000; i++) {
		n = (size_t)snprintf(key, sizeof(key), "u%u@d%u.test", i, i % 7);
		e = batch_seen_put(&s, key, n, 100 + i, i, &dup);
		CHECK(e != NULL && !dup);
	}
	for (i = 0; i < 5000; i += 97) {
		n = (size_t)snprintf(key, sizeof(key), "u%u@d%u.test", i, i % 7);
		e = batch_seen_get(&s, key, n);
		CHECK(e != NULL && e->index == 100 + i);
	}
	CHECK_INT(s.n, 5002);
	batch_seen_free(&s);
}

/* --column: CSV fields, the header, rows through the reader. */
static void
test_csv(void)
{
	static const char row[] = "a, \"b,c\" ,\"d \"\"e\"\"\",,  f  ";
	static const char list[] = "\xef\xbb\xbfName,E-Mail,Note\r\n"
	    "Alice,alice@example.test,x\r\n"
	    "\"Bob, B\",\" bob@example.test\",\"y, \"\"z\"\"\"\r\n"
	    "Carl\r\n"
	    "Dora,,\r\n"
	    "Eve,\"eve@example.test\r\n"
	    "# a comment\r\n";
	struct batch_reader r;
	struct batch_line l;
	char out[64];
	FILE *f;

	CHECK_INT(batch_csv_field(row, strlen(row), 0, out, sizeof(out)), 1);
	CHECK_STR(out, "a");
	CHECK_INT(batch_csv_field(row, strlen(row), 1, out, sizeof(out)), 1);
	CHECK_STR(out, "b,c");
	CHECK_INT(batch_csv_field(row, strlen(row), 2, out, sizeof(out)), 1);
	CHECK_STR(out, "d \"e\"");
	CHECK_INT(batch_csv_field(row, strlen(row), 3, out, sizeof(out)), 1);
	CHECK_STR(out, "");
	CHECK_INT(batch_csv_field(row, strlen(row), 4, out, sizeof(out)), 1);
	CHECK_STR(out, "f");
	CHECK_INT(batch_csv_field(row, strlen(row), 5, out, sizeof(out)), 0);
	CHECK_INT(batch_csv_field("\"open,x", 7, 1, out, sizeof(out)), -1);
	CHECK_INT(batch_csv_column("a,Email,b", 9, "email"), 1);
	CHECK_INT(batch_csv_column("a,b", 3, "email"), -1);

	f = fmemopen((void *)list, sizeof(list) - 1, "r");
	CHECK(f != NULL);
	batch_reader_init(&r, f, "e-mail");
	CHECK_INT(batch_reader_next(&r, &l), 1);	/* the header */
	CHECK_INT(l.kind, BATCH_LINE_SKIP);
	CHECK_INT(r.col, 1);
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_INT(l.kind, BATCH_LINE_ADDRESS);
	CHECK_STR(l.text, "alice@example.test");
	CHECK_INT(l.lineno, 2);
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_STR(l.text, "bob@example.test");
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_INT(l.kind, BATCH_LINE_INVALID);	/* no such column */
	CHECK(strstr(l.why, "no column e-mail") != NULL);
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_INT(l.kind, BATCH_LINE_SKIP);	/* an empty cell */
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_INT(l.kind, BATCH_LINE_INVALID);	/* a quote not closed */
	CHECK_INT(batch_reader_next(&r, &l), 1);
	CHECK_INT(l.kind, BATCH_LINE_SKIP);
	CHECK_INT(batch_reader_next(&r, &l), 0);
	CHECK_INT(r.error, 0);
	fclose(f);

	f = fmemopen((void *)list, sizeof(list) - 1, "r");
	batch_reader_init(&r, f, "address");
	CHECK_INT(batch_reader_next(&r, &l), 0);
	CHECK(r.no_column);
	fclose(f);
}

int
main(void)
{
	test_basic();
	test_invalid();
	test_long();
	test_classify();
	test_seen();
	test_csv();
	return check_report("test_batchinput");
}
