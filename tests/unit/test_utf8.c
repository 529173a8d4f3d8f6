/*
 * test_utf8.c — unit tests of the UTF-8 decoder and the invisible set
 * (probe/utf8.h), and of the text escaper that uses them
 * (report_put_text()); the JSON escaper is in test_json.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report.h"
#include "utf8.h"

struct dcase {
	int		 line;
	const char	*in;
	size_t		 n;
	size_t		 len;		/* expected length, 0: invalid */
	unsigned	 cp;		/* expected code point (or the byte) */
};

#define D(in, len, cp)	{ __LINE__, in, sizeof(in) - 1, len, cp }

static const struct dcase dcases[] = {
	D("A", 1, 0x41),
	D("\x7f", 1, 0x7f),
	D("\xc2\x80", 2, 0x80),
	D("\xdf\xbf", 2, 0x7ff),
	D("\xe0\xa0\x80", 3, 0x800),
	D("\xed\x9f\xbf", 3, 0xd7ff),
	D("\xee\x80\x80", 3, 0xe000),
	D("\xef\xbf\xbf", 3, 0xffff),
	D("\xf0\x90\x80\x80", 4, 0x10000),
	D("\xf4\x8f\xbf\xbf", 4, 0x10ffff),
	D("\xc3\xa9zz", 2, 0xe9),		/* reads no further */
	/* Invalid: the byte's value comes back. */
	D("\x80", 0, 0x80),			/* stray continuation */
	D("\xbf", 0, 0xbf),
	D("\xc0\x80", 0, 0xc0),			/* overlong */
	D("\xc1\xbf", 0, 0xc1),
	D("\xe0\x9f\xbf", 0, 0xe0),
	D("\xf0\x8f\xbf\xbf", 0, 0xf0),
	D("\xed\xa0\x80", 0, 0xed),		/* surrogates */
	D("\xed\xbf\xbf", 0, 0xed),
	D("\xf4\x90\x80\x80", 0, 0xf4),		/* past U+10FFFF */
	D("\xf5\x80\x80\x80", 0, 0xf5),
	D("\xff", 0, 0xff),
	D("\xc3", 0, 0xc3),			/* cut */
	D("\xe2\x82", 0, 0xe2),
	D("\xf0\x9d\x84", 0, 0xf0),
	D("\xc3(", 0, 0xc3),			/* bad continuation */
	D("\xe2(\xac", 0, 0xe2),
	D("\xf0\x9d\x84(", 0, 0xf0),
};

static void
test_decode(void)
{
	size_t i;
	unsigned cp;

	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		size_t got;

		cp = 0xdeadbeef;
		got = utf8_decode((const unsigned char *)c->in, c->n, &cp);
		if (got != c->len || cp != c->cp) {
			check_failures++;
			fprintf(stderr, "test_utf8.c:%d: utf8_decode: length "
			    "%zu, U+%04X; want %zu, U+%04X\n", c->line, got, cp,
			    c->len, c->cp);
		}
		check_count++;
		/* Without a place for the code point, the same length. */
		CHECK_INT(utf8_decode((const unsigned char *)c->in, c->n,
		    NULL), c->len);
	}
	/* A sequence cut by n, not by the bytes. */
	CHECK_INT(utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, NULL),
	    0);
	CHECK_INT(utf8_decode((const unsigned char *)"", 0, &cp), 0);
}

static void
test_invisible(void)
{
	/* C1, Zl, Zp and every Cf character (the soft hyphen, the Arabic
	 * number signs, the deprecated format characters U+206A-U+206F,
	 * the tags ...). */
	static const unsigned yes[] = { 0x80, 0x85, 0x9b, 0x9f, 0xad, 0x600,
	    0x605, 0x61c, 0x6dd, 0x70f, 0x890, 0x8e2, 0x180e, 0x200b,
	    0x200f, 0x2028, 0x202e, 0x2060, 0x2064, 0x2066, 0x2069, 0x206a,
	    0x206f, 0xfeff, 0xfff9, 0xfffb, 0x110bd, 0x13430, 0x1343f,
	    0x1bca0, 0x1d173, 0x1d17a, 0xe0001, 0xe0020, 0xe007f };
	static const unsigned no[] = { 0x41, 0x7e, 0xa0, 0xac, 0xae, 0xe9,
	    0x5ff, 0x606, 0x200a, 0x2010, 0x2027, 0x202f, 0x205f, 0x2065,
	    0x2070, 0xfefe, 0xfff8, 0xfffc, 0x1f600, 0xe0000, 0xe0080 };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(utf8_invisible(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!utf8_invisible(no[i]));
}

/* s[0..len) through the text escaper. */
static char *
text(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL) {
		perror("open_memstream");
		exit(1);
	}
	report_put_text(f, s, len);
	fclose(f);
	return buf;
}

#define CHECK_TEXT(in, want) do {					\
	char *got_ = text((in), sizeof(in) - 1);			\
	CHECK_STR(got_, (want));					\
	free(got_);							\
} while (0)

static void
test_text_escaper(void)
{
	CHECK_TEXT("plain \"quoted\"", "plain \"quoted\"");
	CHECK_TEXT("a\\b", "a\\\\b");
	CHECK_TEXT("a\r\nb\tc\0d", "a\\x0d\\x0ab\\x09c\\x00d");
	CHECK_TEXT("\x1b[2J\x7f", "\\x1b[2J\\x7f");
	CHECK_TEXT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
	CHECK_TEXT("\xff\xc3", "\\xff\\xc3");
	CHECK_TEXT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	CHECK_TEXT("\xc2\x9b" "31m", "\\u{009B}31m");
	CHECK_TEXT("a\xe2\x80\xae" "b", "a\\u{202E}b");
	CHECK_TEXT("\xef\xbb\xbf", "\\u{FEFF}");
	CHECK_TEXT("ex\xc2\xad" "ample", "ex\\u{00AD}ample");
	CHECK_TEXT("\xf3\xa0\x80\x81", "\\u{E0001}");
}

int
main(void)
{
	test_decode();
	test_invisible();
	test_text_escaper();
	return check_report("test_utf8");
}
