/*
 * test_reply.c — the SMTP reply parser (probe/core/reply.c): single- and
 * multi-line replies, the enhanced status code, every deviation bit, the
 * line and byte limits, malformed lines, and the same bytes read in
 * chunks of every size giving the same replies.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "limits.h"
#include "reply.h"

#define MAX_OUT 8

/* What a stream of bytes gave, read the way the session reads it. */
struct fed {
	struct reply		*r[MAX_OUT];
	enum reply_status	 st[MAX_OUT];
	size_t			 n;		/* replies handed out */
	bool			 too_long;	/* a line over the hard limit */
	bool			 partial;	/* a reply left unfinished */
};

static void
fed_free(struct fed *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		reply_free(f->r[i]);
	memset(f, 0, sizeof(*f));
}

/*
 * Feed s[0..len) as session.c's on_read does: bytes arrive in chunks
 * (chunks[] sizes, cycled; NULL = all at once), every complete line is
 * taken at its LF, a CR before the LF is stripped and reported, a line
 * (or an unfinished one) over LIMIT_REPLY_LINE_HARD bytes stops it all,
 * and reading ends at the first REPLY_FATAL or REPLY_NOMEM.
 */
static void
feed_chunks(const char *s, size_t len, const size_t *chunks, size_t nchunks,
    struct fed *f)
{
	struct reply_parser p;
	size_t avail = 0, start = 0, ci = 0;
	bool stop = false;

	memset(f, 0, sizeof(*f));
	reply_parser_init(&p);
	while (!stop && avail < len) {
		size_t c = chunks == NULL ? len : chunks[ci++ % nchunks];

		avail = avail + c > len ? len : avail + c;
		while (!stop) {
			const char *eol = memchr(s + start, '\n', avail - start);
			size_t n;
			bool crlf;
			char *line;
			struct reply *r;
			enum reply_status st;

			if (eol == NULL) {
				if (avail - start > LIMIT_REPLY_LINE_HARD) {
					f->too_long = true;
					stop = true;
				}
				break;
			}
			n = (size_t)(eol - (s + start));
			if (n > LIMIT_REPLY_LINE_HARD) {
				f->too_long = true;
				stop = true;
				break;
			}
			crlf = n > 0 && s[start + n - 1] == '\r';
			/* An exact-size copy: a read past the line shows. */
			if ((line = malloc(n > 0 ? n : 1)) == NULL)
				abort();
			memcpy(line, s + start, n);
			st = reply_parser_line(&p, line, crlf ? n - 1 : n, crlf,
			    &r);
			free(line);
			start += n + 1;
			if (st == REPLY_MORE) {
				CHECK(r == NULL);
				continue;
			}
			if (f->n < MAX_OUT) {
				f->st[f->n] = st;
				f->r[f->n++] = r;
			} else
				reply_free(r);
			if (st != REPLY_DONE)
				stop = true;
		}
	}
	f->partial = p.cur != NULL;
	reply_parser_reset(&p);
	CHECK(p.cur == NULL);
}

static void
feed(const char *s, struct fed *f)
{
	feed_chunks(s, strlen(s), NULL, 0, f);
}

/* One reply from a NUL-terminated stream; DONE expected. */
static struct reply *
one(const char *s, struct fed *f)
{
	feed(s, f);
	CHECK_INT(f->n, 1);
	CHECK_INT(f->st[0], REPLY_DONE);
	CHECK(!f->partial);
	if (f->n == 0) {
		static struct reply empty;
		return &empty;
	}
	return f->r[0];
}

static void
test_single_multi(void)
{
	struct fed f;
	struct reply *r;
	char buf[256];

	r = one("220 mx.example.test ESMTP Postfix\r\n", &f);
	CHECK_INT(r->code, 220);
	CHECK_INT(r->esc_class, 0);
	CHECK_INT(r->deviations, 0);
	CHECK_INT(r->nlines, 1);
	CHECK_INT(r->lines_seen, 1);
	CHECK_INT(r->bytes, 35);
	CHECK_STR(r->lines[0].text, "mx.example.test ESMTP Postfix");
	CHECK_INT(r->lines[0].len, 29);
	CHECK_STR(reply_esc_str(r, buf, sizeof(buf)), "");
	CHECK_STR(reply_text_join(r, buf, sizeof(buf)),
	    "mx.example.test ESMTP Postfix");
	fed_free(&f);

	r = one("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
	    &f);
	CHECK_INT(r->code, 250);
	CHECK_INT(r->deviations, 0);
	CHECK_INT(r->nlines, 3);
	CHECK_INT(r->lines_seen, 3);
	CHECK_INT(r->bytes, 51);
	CHECK_STR(r->lines[0].text, "mx.example.test");
	CHECK_STR(r->lines[1].text, "PIPELINING");
	CHECK_STR(r->lines[2].text, "8BITMIME");
	CHECK_STR(reply_text_join(r, buf, sizeof(buf)),
	    "mx.example.test\nPIPELINING\n8BITMIME");
	/* The join is bounded by the buffer. */
	CHECK_STR(reply_text_join(r, buf, 6), "mx.ex");
	buf[0] = 'x';
	CHECK(reply_text_join(r, buf, 0) == buf && buf[0] == 'x');
	fed_free(&f);

	/* Two replies in one read; a reply left open at the end. */
	feed("220 hello\r\n250 ok\r\n250-more\r\n", &f);
	CHECK_INT(f.n, 2);
	CHECK_INT(f.st[0], REPLY_DONE);
	CHECK_INT(f.st[1], REPLY_DONE);
	CHECK_INT(f.r[0]->code, 220);
	CHECK_INT(f.r[1]->code, 250);
	CHECK_STR(f.r[1]->lines[0].text, "ok");
	CHECK(f.partial);
	fed_free(&f);

	/* Directly: a continuation line hands nothing out. */
	{
		struct reply_parser p;
		struct reply *out = (struct reply *)&p;

		reply_parser_init(&p);
		CHECK_INT(reply_parser_line(&p, "250-a", 5, true, &out),
		    REPLY_MORE);
		CHECK(out == NULL);
		CHECK(p.cur != NULL);
		CHECK_INT(reply_parser_line(&p, "250 b", 5, true, &out),
		    REPLY_DONE);
		CHECK(out != NULL && p.cur == NULL);
		if (out != NULL) {
			CHECK_INT(out->nlines, 2);
			CHECK_STR(out->lines[1].text, "b");
		}
		reply_free(out);
		reply_parser_reset(&p);
	}
	reply_free(NULL);
}

/* Bare "NNN", "NNN " and an empty continuation line. */
static void
test_empty_text(void)
{
	static const char *const in[] = { "220\r\n", "220 \r\n" };
	struct fed f;
	struct reply *r;
	size_t i;

	for (i = 0; i < 2; i++) {
		r = one(in[i], &f);
		CHECK_INT(r->code, 220);
		CHECK_INT(r->deviations, 0);
		CHECK_INT(r->nlines, 1);
		CHECK_STR(r->lines[0].text, "");
		CHECK_INT(r->lines[0].len, 0);
		CHECK_INT(r->bytes, strlen(in[i]));
		fed_free(&f);
	}
	r = one("250-\r\n250 x\r\n", &f);
	CHECK_INT(r->deviations, 0);
	CHECK_INT(r->nlines, 2);
	CHECK_STR(r->lines[0].text, "");
	CHECK_STR(r->lines[1].text, "x");
	fed_free(&f);
}

static const struct esc_case {
	const char	*in;
	int		 cls, subj, det;
	uint32_t	 dev;
	const char	*noesc;		/* reply_text_join_noesc */
} esc_cases[] = {
	{ "550 5.1.1 <u@example.test>: Recipient address rejected\r\n",
	    5, 1, 1, 0, "<u@example.test>: Recipient address rejected" },
	{ "250 2.0.0 Ok\r\n", 2, 0, 0, 0, "Ok" },
	{ "550 5.1.1\r\n", 5, 1, 1, 0, "" },
	{ "550 5.1.10\tx\r\n", 5, 1, 10, 0, "x" },
	{ "550 5.123.456 x\r\n", 5, 123, 456, 0, "x" },
	{ "550-5.7.1 first\r\n550 5.7.1 second\r\n", 5, 7, 1, 0,
	    "first\nsecond" },
	/* absent or malformed */
	{ "550 5.1 bad\r\n", 0, 0, 0, 0, "5.1 bad" },
	{ "550 5.1.1000 x\r\n", 0, 0, 0, 0, "5.1.1000 x" },
	{ "550 5.1.1. x\r\n", 0, 0, 0, 0, "5.1.1. x" },
	{ "550 5.1.1x\r\n", 0, 0, 0, 0, "5.1.1x" },
	{ "550 6.1.1 x\r\n", 0, 0, 0, 0, "6.1.1 x" },
	{ "550 05.1.1 x\r\n", 0, 0, 0, 0, "05.1.1 x" },
	{ "550 x 5.1.1\r\n", 0, 0, 0, 0, "x 5.1.1" },
	{ "550 user unknown\r\n", 0, 0, 0, 0, "user unknown" },
	/* only the first line's code counts */
	{ "550-no code here\r\n550 5.1.1 later\r\n", 0, 0, 0, 0,
	    "no code here\nlater" },
	/* 3yz replies carry none (RFC 2034 §3) */
	{ "354 2.0.0 go ahead\r\n", 0, 0, 0, 0, "2.0.0 go ahead" },
	/* class differs from the reply's first digit */
	{ "550 4.7.1 try later\r\n", 4, 7, 1, REPLY_DEV_CLASS_MISMATCH,
	    "try later" },
	{ "250 5.0.0 odd\r\n", 5, 0, 0, REPLY_DEV_CLASS_MISMATCH, "odd" },
	{ "421 4.4.2 timeout\r\n", 4, 4, 2, 0, "timeout" },
};

static void
test_esc(void)
{
	size_t i;
	char buf[256], want[16];

	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		struct fed f;
		struct reply *r = one(c->in, &f);

		CHECK_INT(r->esc_class, c->cls);
		CHECK_INT(r->esc_subject, c->subj);
		CHECK_INT(r->esc_detail, c->det);
		CHECK_INT(r->deviations, c->dev);
		if (c->cls == 0)
			want[0] = '\0';
		else
			snprintf(want, sizeof(want), "%d.%d.%d", c->cls,
			    c->subj, c->det);
		CHECK_STR(reply_esc_str(r, buf, sizeof(buf)), want);
		CHECK_STR(reply_text_join_noesc(r, buf, sizeof(buf)),
		    c->noesc);
		if (r->esc_class != c->cls || r->deviations != c->dev)
			fprintf(stderr, "  case %zu: %s", i, c->in);
		fed_free(&f);
	}
}

static const struct dev_case {
	const char	*in;
	size_t		 len;		/* 0: strlen */
	int		 code;
	uint32_t	 dev;
	size_t		 nlines;
	const char	*last;		/* text of the last kept line */
	size_t		 last_len;
} dev_cases[] = {
	{ "220 hi\n", 0, 220, REPLY_DEV_BARE_LF, 1, "hi", 2 },
	{ "250-a\r\n250 b\n", 0, 250, REPLY_DEV_BARE_LF, 2, "b", 1 },
	{ "250-a\n250 b\r\n", 0, 250, REPLY_DEV_BARE_LF, 2, "b", 1 },
	/* separator */
	{ "250_ok\r\n", 0, 250, REPLY_DEV_BAD_SEPARATOR, 1, "_ok", 3 },
	{ "250ok\r\n", 0, 250, REPLY_DEV_BAD_SEPARATOR, 1, "ok", 2 },
	{ "250-a\r\n250x\r\n", 0, 250, REPLY_DEV_BAD_SEPARATOR, 2, "x", 1 },
	/* control bytes in the text; a tab is fine */
	{ "250 a\tb\r\n", 0, 250, 0, 1, "a\tb", 3 },
	{ "250 a\x01" "b\r\n", 0, 250, REPLY_DEV_CONTROL_CHARS, 1,
	    "a\x01" "b", 3 },
	{ "250 a\x7f\r\n", 0, 250, REPLY_DEV_CONTROL_CHARS, 1, "a\x7f", 2 },
	{ "250 a\x1b[0m\r\n", 0, 250, REPLY_DEV_CONTROL_CHARS, 1,
	    "a\x1b[0m", 5 },
	{ "250 a\0b\r\n", 9, 250, REPLY_DEV_CONTROL_CHARS, 1, "a\0b", 3 },
	/* a CR without its LF stays inside the line */
	{ "250 a\rb\r\n", 0, 250, REPLY_DEV_CONTROL_CHARS, 1, "a\rb", 3 },
	{ "250 a\r\r\n", 0, 250, REPLY_DEV_CONTROL_CHARS, 1, "a\r", 2 },
	{ "250 a\rb\n", 0, 250, REPLY_DEV_CONTROL_CHARS | REPLY_DEV_BARE_LF,
	    1, "a\rb", 3 },
	/* code range: 2yz-5yz, second digit 0-5 */
	{ "199 x\r\n", 0, 199, REPLY_DEV_CODE_RANGE, 1, "x", 1 },
	{ "600 x\r\n", 0, 600, REPLY_DEV_CODE_RANGE, 1, "x", 1 },
	{ "099 x\r\n", 0, 99, REPLY_DEV_CODE_RANGE, 1, "x", 1 },
	{ "260 x\r\n", 0, 260, REPLY_DEV_CODE_RANGE, 1, "x", 1 },
	{ "559 x\r\n", 0, 559, 0, 1, "x", 1 },
	{ "200 x\r\n", 0, 200, 0, 1, "x", 1 },
	/* mixed codes: the last line's code decides, and only the last
	 * line is kept when it differs from the first */
	{ "250-a\r\n251 b\r\n", 0, 251, REPLY_DEV_MIXED_CODES, 1, "b", 1 },
	{ "250-a\r\n251-b\r\n250 c\r\n", 0, 250, REPLY_DEV_MIXED_CODES, 3,
	    "c", 1 },
	{ "250-a\r\n600 b\r\n", 0, 600,
	    REPLY_DEV_MIXED_CODES | REPLY_DEV_CODE_RANGE, 1, "b", 1 },
	/* the out-of-range first line was seen: the bit stays */
	{ "199-a\r\n250 b\r\n", 0, 250,
	    REPLY_DEV_MIXED_CODES | REPLY_DEV_CODE_RANGE, 1, "b", 1 },
	{ "250-a\r\n251-b\r\n", 0, 0, 0, 0, NULL, 0 },	/* unfinished */
};

static void
test_deviations(void)
{
	size_t i;

	for (i = 0; i < sizeof(dev_cases) / sizeof(dev_cases[0]); i++) {
		const struct dev_case *c = &dev_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct fed f;
		struct reply *r;

		feed_chunks(c->in, len, NULL, 0, &f);
		if (c->last == NULL) {
			CHECK_INT(f.n, 0);
			CHECK(f.partial);
			fed_free(&f);
			continue;
		}
		CHECK_INT(f.n, 1);
		if (f.n != 1) {
			fed_free(&f);
			continue;
		}
		r = f.r[0];
		CHECK_INT(f.st[0], REPLY_DONE);
		CHECK_INT(r->code, c->code);
		CHECK_INT(r->deviations, c->dev);
		CHECK_INT(r->nlines, c->nlines);
		CHECK_INT(r->bytes, len);
		CHECK_INT(r->lines[r->nlines - 1].len, c->last_len);
		CHECK(memcmp(r->lines[r->nlines - 1].text, c->last,
		    c->last_len + 1) == 0);
		if (r->deviations != c->dev)
			fprintf(stderr, "  case %zu: %s", i, c->in);
		fed_free(&f);
	}
}

/* The postscreen pattern: a 220- teaser, then a refusal. */
static void
test_mixed_esc(void)
{
	struct fed f;
	struct reply *r;
	char buf[64];

	r = one("220-mx.example.test ESMTP\r\n521 5.7.0 Service "
	    "unavailable\r\n", &f);
	CHECK_INT(r->code, 521);
	CHECK_INT(r->esc_class, 5);
	CHECK_INT(r->esc_subject, 7);
	CHECK_INT(r->esc_detail, 0);
	CHECK_INT(r->deviations, REPLY_DEV_MIXED_CODES);
	CHECK_INT(r->nlines, 1);
	CHECK_INT(r->lines_seen, 2);
	CHECK_STR(reply_text_join_noesc(r, buf, sizeof(buf)),
	    "Service unavailable");
	fed_free(&f);

	/* The first line's code and its class mismatch are dropped with it. */
	r = one("550-4.1.1 a\r\n421 x\r\n", &f);
	CHECK_INT(r->code, 421);
	CHECK_INT(r->esc_class, 0);
	CHECK_INT(r->deviations, REPLY_DEV_MIXED_CODES);
	fed_free(&f);

	r = one("550-5.1.1 a\r\n421 4.4.2 bye\r\n", &f);
	CHECK_INT(r->code, 421);
	CHECK_INT(r->esc_class, 4);
	CHECK_INT(r->esc_subject, 4);
	CHECK_INT(r->esc_detail, 2);
	CHECK_INT(r->deviations, REPLY_DEV_MIXED_CODES);
	fed_free(&f);

	/* Back to the first code at the end: all lines stay, and the last
	 * line's enhanced code is taken when the first had none. */
	r = one("550-a\r\n450-b\r\n550 5.2.2 full\r\n", &f);
	CHECK_INT(r->code, 550);
	CHECK_INT(r->nlines, 3);
	CHECK_INT(r->esc_class, 5);
	CHECK_INT(r->esc_subject, 2);
	CHECK_INT(r->esc_detail, 2);
	CHECK_INT(r->deviations, REPLY_DEV_MIXED_CODES);
	fed_free(&f);

	/* A mixed 354 ending takes no enhanced code. */
	r = one("250-2.0.0 a\r\n354 2.0.0 go\r\n", &f);
	CHECK_INT(r->code, 354);
	CHECK_INT(r->esc_class, 0);
	fed_free(&f);
}

/* Which replies contradict themselves: lines of different classes, or an
 * enhanced code of another class than the reply code. */
static void
test_contradicts(void)
{
	static const struct {
		const char	*in;
		bool		 contradicts;
		int		 first;
	} cases[] = {
		{ "250 2.1.5 Ok\r\n", false, 250 },
		{ "250-a\r\n251 b\r\n", false, 250 },	/* one class */
		{ "250-2.1.5 a\r\n550 5.1.1 b\r\n", true, 250 },
		{ "550-5.1.1 a\r\n250 2.1.5 b\r\n", true, 550 },
		{ "220-teaser\r\n521 5.7.1 no\r\n", true, 220 },
		{ "450-a\r\n550 b\r\n", true, 450 },
		{ "250 5.1.1 x\r\n", true, 250 },
		{ "550 4.7.1 x\r\n", true, 550 },
		{ "550-a\r\n450-b\r\n550 c\r\n", true, 550 },
		{ "354 go ahead\r\n", false, 354 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fed f;
		struct reply *r = one(cases[i].in, &f);

		CHECK_INT(reply_contradicts(r), cases[i].contradicts);
		CHECK_INT(r->first_code, cases[i].first);
		fed_free(&f);
	}
}

/* Build "250-" lines of text length tl, count times, then "250 end". */
static char *
many_lines(size_t count, size_t tl, bool end)
{
	size_t i, o = 0;
	char *s = malloc(count * (tl + 6) + 16);

	if (s == NULL)
		abort();
	for (i = 0; i < count; i++) {
		memcpy(s + o, "250-", 4);
		memset(s + o + 4, 'k', tl);
		memcpy(s + o + 4 + tl, "\r\n", 2);
		o += tl + 6;
	}
	if (end) {
		memcpy(s + o, "250 end\r\n", 9);
		o += 9;
	}
	s[o] = '\0';
	return s;
}

static void
test_line_length(void)
{
	struct fed f;
	struct reply *r;
	char *s;

	/* 510 octets + CRLF = 512: within RFC 5321 §4.5.3.1.5 */
	s = malloc(LIMIT_REPLY_LINE_HARD + 16);
	if (s == NULL)
		abort();

	memcpy(s, "250 ", 4);
	memset(s + 4, 'x', 506);
	memcpy(s + 510, "\r\n", 3);
	r = one(s, &f);
	CHECK_INT(r->deviations, 0);
	CHECK_INT(r->lines[0].len, 506);
	fed_free(&f);

	memset(s + 4, 'x', 507);
	memcpy(s + 511, "\r\n", 3);
	r = one(s, &f);
	CHECK_INT(r->deviations, REPLY_DEV_LINE_TOO_LONG);
	CHECK_INT(r->lines[0].len, 507);
	CHECK_INT(r->bytes, 513);
	fed_free(&f);

	/* Up to the hard limit the line is kept whole. */
	memset(s + 4, 'x', LIMIT_REPLY_LINE_HARD - 4);
	memcpy(s + LIMIT_REPLY_LINE_HARD, "\n", 2);
	r = one(s, &f);
	CHECK_INT(r->deviations,
	    REPLY_DEV_LINE_TOO_LONG | REPLY_DEV_BARE_LF);
	CHECK_INT(r->lines[0].len, LIMIT_REPLY_LINE_HARD - 4);
	fed_free(&f);

	/* Past it (the CR counts, as the session reads it) reading stops
	 * before the parser sees the line. */
	memcpy(s + LIMIT_REPLY_LINE_HARD, "\r\n", 3);
	feed(s, &f);
	CHECK_INT(f.n, 0);
	CHECK(f.too_long);
	CHECK(!f.partial);
	fed_free(&f);

	memset(s + 4, 'x', LIMIT_REPLY_LINE_HARD - 3);
	s[LIMIT_REPLY_LINE_HARD + 1] = '\0';	/* no LF at all */
	feed(s, &f);
	CHECK_INT(f.n, 0);
	CHECK(f.too_long);
	fed_free(&f);

	/* The parser itself takes any length it is given. */
	{
		struct reply_parser p;
		struct reply *out;

		memset(s + 4, 'y', LIMIT_REPLY_LINE_HARD);
		reply_parser_init(&p);
		CHECK_INT(reply_parser_line(&p, s, LIMIT_REPLY_LINE_HARD + 4,
		    true, &out), REPLY_DONE);
		CHECK(out != NULL);
		if (out != NULL) {
			CHECK_INT(out->deviations, REPLY_DEV_LINE_TOO_LONG);
			CHECK_INT(out->lines[0].len, LIMIT_REPLY_LINE_HARD);
		}
		reply_free(out);
	}
	free(s);
}

static void
test_truncated(void)
{
	struct fed f;
	struct reply *r;
	char *s;
	size_t kept;

	/* Exactly LIMIT_REPLY_LINES lines: all kept. */
	s = many_lines(LIMIT_REPLY_LINES - 1, 3, true);
	r = one(s, &f);
	CHECK_INT(r->nlines, LIMIT_REPLY_LINES);
	CHECK_INT(r->deviations, 0);
	fed_free(&f);
	free(s);

	/* One more: counted, not kept. */
	s = many_lines(LIMIT_REPLY_LINES, 3, true);
	r = one(s, &f);
	CHECK_INT(r->nlines, LIMIT_REPLY_LINES);
	CHECK_INT(r->lines_seen, LIMIT_REPLY_LINES + 1);
	CHECK_INT(r->deviations, REPLY_DEV_TRUNCATED);
	CHECK_INT(r->bytes, strlen(s));
	CHECK_STR(r->lines[LIMIT_REPLY_LINES - 1].text, "kkk");
	fed_free(&f);
	free(s);

	/* Bytes: 496-byte texts fill LIMIT_REPLY_BYTES after 33 lines; a
	 * short last line still fits and is kept. */
	kept = LIMIT_REPLY_BYTES / 496;
	s = many_lines(40, 496, true);
	r = one(s, &f);
	CHECK_INT(kept, 33);
	CHECK_INT(r->nlines, kept + 1);
	CHECK_INT(r->lines_seen, 41);
	CHECK_INT(r->deviations, REPLY_DEV_TRUNCATED);
	CHECK_STR(r->lines[kept].text, "end");
	fed_free(&f);
	free(s);

	/* A reply that never ends: given up after 10 x LIMIT_REPLY_LINES,
	 * cut (not malformed). */
	s = many_lines(10 * LIMIT_REPLY_LINES + 5, 1, false);
	feed(s, &f);
	CHECK_INT(f.n, 1);
	CHECK_INT(f.st[0], REPLY_FATAL);
	CHECK(!f.partial);
	if (f.n == 1) {
		CHECK_INT(f.r[0]->lines_seen, LIMIT_REPLY_LINES_HARD + 1);
		CHECK_INT(f.r[0]->nlines, LIMIT_REPLY_LINES);
		CHECK_INT(f.r[0]->deviations, REPLY_DEV_TRUNCATED);
		CHECK_INT(f.r[0]->cut, REPLY_CUT_LINES);
		CHECK(f.r[0]->incomplete);
	}
	fed_free(&f);
	free(s);

	/* ... or past LIMIT_REPLY_BYTES_HARD bytes, with long lines. */
	s = many_lines(40, 4000, false);
	feed(s, &f);
	CHECK_INT(f.n, 1);
	CHECK_INT(f.st[0], REPLY_FATAL);
	if (f.n == 1) {
		CHECK_INT(f.r[0]->lines_seen,
		    LIMIT_REPLY_BYTES_HARD / 4006 + 1);
		CHECK_INT(f.r[0]->cut, REPLY_CUT_BYTES);
		CHECK(f.r[0]->incomplete);
		CHECK(f.r[0]->deviations & REPLY_DEV_TRUNCATED);
		CHECK(!(f.r[0]->deviations & REPLY_DEV_MALFORMED));
	}
	fed_free(&f);
	free(s);

	/* The same bytes in a reply that ends are not cut. */
	s = many_lines(3, 4000, true);
	r = one(s, &f);
	CHECK_INT(r->cut, REPLY_CUT_NONE);
	CHECK(!r->incomplete);
	fed_free(&f);
	free(s);
}

static const struct bad_case {
	const char	*in;
	int		 code;		/* of the partial reply */
	size_t		 nlines;
	const char	*last;
	uint32_t	 dev;
} bad_cases[] = {
	{ "abc\r\n", 0, 1, "abc", REPLY_DEV_MALFORMED },
	{ "25\r\n", 0, 1, "25", REPLY_DEV_MALFORMED },
	{ "\r\n", 0, 1, "", REPLY_DEV_MALFORMED },
	{ "\n", 0, 1, "", REPLY_DEV_MALFORMED | REPLY_DEV_BARE_LF },
	{ "2a0 x\r\n", 0, 1, "2a0 x", REPLY_DEV_MALFORMED },
	{ " 250 x\r\n", 0, 1, " 250 x", REPLY_DEV_MALFORMED },
	{ "HTTP/1.1 400 Bad Request\r\n", 0, 1, "HTTP/1.1 400 Bad Request",
	    REPLY_DEV_MALFORMED },
	{ "250-a\r\nabc\r\n", 250, 2, "abc", REPLY_DEV_MALFORMED },
	{ "250-a\r\n\x01\r\n", 250, 2, "\x01",
	    REPLY_DEV_MALFORMED | REPLY_DEV_CONTROL_CHARS },
};

static void
test_malformed(void)
{
	size_t i;
	struct fed f;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		feed(c->in, &f);
		CHECK_INT(f.n, 1);
		CHECK(!f.partial);
		if (f.n == 1) {
			CHECK_INT(f.st[0], REPLY_FATAL);
			CHECK_INT(f.r[0]->code, c->code);
			CHECK_INT(f.r[0]->nlines, c->nlines);
			CHECK_STR(f.r[0]->lines[f.r[0]->nlines - 1].text,
			    c->last);
			CHECK_INT(f.r[0]->deviations, c->dev);
			/* A reply that never ended answers nothing. */
			CHECK(f.r[0]->incomplete);
		}
		fed_free(&f);
	}

	/* After a fatal line the parser starts afresh. */
	{
		struct reply_parser p;
		struct reply *out;

		reply_parser_init(&p);
		CHECK_INT(reply_parser_line(&p, "250-a", 5, true, &out),
		    REPLY_MORE);
		CHECK_INT(reply_parser_line(&p, "xx", 2, true, &out),
		    REPLY_FATAL);
		CHECK(out != NULL && p.cur == NULL);
		reply_free(out);
		CHECK_INT(reply_parser_line(&p, "220 x", 5, true, &out),
		    REPLY_DONE);
		CHECK(out != NULL);
		if (out != NULL) {
			CHECK_INT(out->code, 220);
			CHECK_INT(out->deviations, 0);
			CHECK_INT(out->lines_seen, 1);
		}
		reply_free(out);
		/* reset with nothing pending, twice */
		reply_parser_reset(&p);
		reply_parser_reset(&p);
		CHECK(p.cur == NULL);
	}
}

static bool
same_reply(const struct reply *a, const struct reply *b)
{
	size_t i;

	if (a->code != b->code || a->esc_class != b->esc_class ||
	    a->esc_subject != b->esc_subject ||
	    a->esc_detail != b->esc_detail ||
	    a->deviations != b->deviations || a->nlines != b->nlines ||
	    a->lines_seen != b->lines_seen || a->bytes != b->bytes)
		return false;
	for (i = 0; i < a->nlines; i++)
		if (a->lines[i].len != b->lines[i].len ||
		    memcmp(a->lines[i].text, b->lines[i].text,
		    a->lines[i].len + 1) != 0)
			return false;
	return true;
}

static bool
same_fed(const struct fed *a, const struct fed *b)
{
	size_t i;

	if (a->n != b->n || a->too_long != b->too_long ||
	    a->partial != b->partial)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->st[i] != b->st[i] || !same_reply(a->r[i], b->r[i]))
			return false;
	return true;
}

/* The same bytes split at every boundary (two reads, three reads, one
 * byte at a time, and every fixed read size) give the same replies. */
static void
test_splits(void)
{
	static const char *const streams[] = {
		"220-mx.example.test ESMTP\r\n220 ready\r\n"
		    "250-mx.example.test\n250-SIZE 1000\r\n250 8BITMIME\r\n"
		    "550 5.1.1 <u@example.test>: no\r\n"
		    "220-teaser\r\n521 5.7.0 bye\r\n250_x\r\n250 a\rb\r\n"
		    "250-",
		"250 ok\r\nabc\r\n220 never read\r\n",
		"220\r\n220 \r\n199 x\n",
	};
	size_t si;

	for (si = 0; si < sizeof(streams) / sizeof(streams[0]); si++) {
		const char *s = streams[si];
		size_t len = strlen(s), i, j, bad = 0;
		size_t ch[3];
		struct fed whole, part;

		feed_chunks(s, len, NULL, 0, &whole);
		CHECK(whole.n > 0);
		for (i = 1; i < len; i++) {
			ch[0] = i;
			ch[1] = len;
			feed_chunks(s, len, ch, 2, &part);
			bad += !same_fed(&whole, &part);
			fed_free(&part);
			for (j = 1; i + j < len; j += 7) {
				ch[1] = j;
				ch[2] = len;
				feed_chunks(s, len, ch, 3, &part);
				bad += !same_fed(&whole, &part);
				fed_free(&part);
			}
			/* every fixed read size */
			feed_chunks(s, len, &i, 1, &part);
			bad += !same_fed(&whole, &part);
			fed_free(&part);
		}
		CHECK_INT(bad, 0);
		fed_free(&whole);
	}
}

static void
test_names(void)
{
	static const char *const names[REPLY_DEV_COUNT] = {
		"bare_lf", "line_too_long", "mixed_codes", "bad_separator",
		"control_characters", "enhanced_class_mismatch",
		"code_out_of_range", "truncated", "malformed",
	};
	unsigned i;

	for (i = 0; i < REPLY_DEV_COUNT; i++)
		CHECK_STR(reply_deviation_name(i), names[i]);
	CHECK_STR(reply_deviation_name(REPLY_DEV_COUNT), "unknown");
	CHECK_STR(reply_deviation_name(~0u), "unknown");
	CHECK_INT(REPLY_DEV_MALFORMED, 1u << (REPLY_DEV_COUNT - 1));
}

int
main(void)
{
	test_single_multi();
	test_empty_text();
	test_esc();
	test_deviations();
	test_mixed_esc();
	test_contradicts();
	test_line_length();
	test_truncated();
	test_malformed();
	test_splits();
	test_names();
	return check_report("test_reply");
}
