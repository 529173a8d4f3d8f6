/*
 * fuzz_reply.c — the reply parser (probe/core/reply.h) fed as the session feeds
 * it: bytes arrive in chunks, lines are cut at LF, a line over
 * LIMIT_REPLY_LINE_HARD ends the connection, a CR before the LF is
 * stripped and remembered.  The first input byte picks the chunk size, so
 * a line split across reads is covered.  Each complete reply goes through
 * what the session does with it: recorded and checked against the command
 * table (result_add_reply), classified (codes_classify), its text joined
 * and escaped for the reports.
 */
#include <string.h>

#include "codes.h"
#include "fuzz.h"
#include "json.h"
#include "reply.h"
#include "report.h"
#include "result.h"

/* Successive replies answer these, as in one dialogue. */
static const struct {
	enum stage	 stage;
	int		 cmd;
	const char	*command;
} dialogue[] = {
	{ STAGE_GREETING, CODES_CMD_GREETING, NULL },
	{ STAGE_EHLO, CODES_CMD_EHLO, "EHLO probe.test.invalid" },
	{ STAGE_STARTTLS, CODES_CMD_STARTTLS, "STARTTLS" },
	{ STAGE_EHLO, CODES_CMD_HELO, "HELO probe.test.invalid" },
	{ STAGE_MAIL, CODES_CMD_MAIL, "MAIL FROM:<>" },
	{ STAGE_RCPT, CODES_CMD_RCPT, "RCPT TO:<user@example.test>" },
	{ STAGE_QUIT, CODES_CMD_RSET, "RSET" },
	{ STAGE_QUIT, CODES_CMD_QUIT, "QUIT" },
};
#define NDIALOGUE (sizeof(dialogue) / sizeof(dialogue[0]))

static FILE *devnull;

static void
check_reply(const struct reply *r)
{
	size_t i, kept = 0;
	char small[7], buf[LIMIT_REPLY_BYTES + LIMIT_REPLY_LINES + 1], esc[16];
	char text[2048];
	struct codes_diagnosis d;

	FUZZ_ASSERT(r->nlines <= LIMIT_REPLY_LINES);
	FUZZ_ASSERT(r->nlines <= r->lines_seen);
	FUZZ_ASSERT(r->code >= 0 && r->code <= 999);
	FUZZ_ASSERT(r->esc_class == 0 || r->esc_class == 2 ||
	    r->esc_class == 4 || r->esc_class == 5);
	for (i = 0; i < r->nlines; i++) {
		FUZZ_ASSERT(r->lines[i].text != NULL);
		FUZZ_ASSERT(r->lines[i].text[r->lines[i].len] == '\0');
		kept += r->lines[i].len;
		report_put_text(devnull, r->lines[i].text, r->lines[i].len);
		json_put_string(devnull, r->lines[i].text, r->lines[i].len);
	}
	FUZZ_ASSERT(kept <= LIMIT_REPLY_BYTES);
	for (i = 0; i < REPLY_DEV_COUNT + 1; i++)
		FUZZ_ASSERT(reply_deviation_name((unsigned)i) != NULL);

	reply_text_join(r, small, sizeof(small));
	FUZZ_ASSERT(strlen(small) < sizeof(small));
	reply_text_join(r, buf, sizeof(buf));
	FUZZ_ASSERT(strlen(buf) < sizeof(buf));
	reply_text_join_noesc(r, buf, sizeof(buf));
	FUZZ_ASSERT(strlen(buf) < sizeof(buf));
	reply_esc_str(r, esc, sizeof(esc));
	FUZZ_ASSERT(strlen(esc) < sizeof(esc));
	/* As diag.c classifies it: the text cut at 2 KiB. */
	reply_text_join_noesc(r, text, sizeof(text));
	codes_classify(CODES_CMD_RCPT, r->code, r->esc_class, r->esc_subject,
	    r->esc_detail, text, &d);
	FUZZ_ASSERT((unsigned)d.category < CODES_CAT_COUNT &&
	    d.meaning != NULL && d.cause != NULL && d.advice != NULL &&
	    d.rule != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_result *res;
	static char pending[LIMIT_REPLY_LINE_HARD + 256 + 2];
	struct reply_parser p;
	struct reply *r;
	enum reply_status st;
	size_t chunk, off, plen = 0, nreplies = 0, len, i;
	const char *eol;
	char *line;
	bool crlf, stop = false;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if (res == NULL && (res = malloc(sizeof(*res))) == NULL)
		abort();
	if (size == 0)
		return 0;
	/* Bytes per read: 1..255, or 256 for a 0. */
	chunk = data[0] == 0 ? 256 : data[0];
	data++;
	size--;

	result_init(res, "user@example.test");
	reply_parser_init(&p);
	for (off = 0; off < size && !stop; ) {
		size_t n = size - off < chunk ? size - off : chunk;

		memcpy(pending + plen, data + off, n);
		plen += n;
		off += n;
		/* Take every complete line now in the buffer. */
		while (!stop && (eol = memchr(pending, '\n', plen)) != NULL) {
			len = (size_t)(eol - pending);
			if (len > LIMIT_REPLY_LINE_HARD) {
				stop = true;
				break;
			}
			crlf = len > 0 && pending[len - 1] == '\r';
			if (crlf)
				len--;
			/* An exact-size copy, so that a read past the line
			 * is caught by AddressSanitizer. */
			if ((line = malloc(len > 0 ? len : 1)) == NULL)
				abort();
			memcpy(line, pending, len);
			result_transcript(res, 'r', line, len);
			st = reply_parser_line(&p, line, len, crlf, &r);
			free(line);
			if (crlf)
				len++;
			memmove(pending, pending + len + 1, plen - len - 1);
			plen -= len + 1;
			switch (st) {
			case REPLY_MORE:
				FUZZ_ASSERT(r == NULL);
				break;
			case REPLY_DONE:
				FUZZ_ASSERT(r != NULL);
				check_reply(r);
				i = nreplies++ % NDIALOGUE;
				(void)result_add_reply(res, dialogue[i].stage,
				    dialogue[i].cmd, dialogue[i].command, r,
				    1.0);
				break;
			case REPLY_FATAL:
				FUZZ_ASSERT(r != NULL);
				FUZZ_ASSERT(r->deviations &
				    (REPLY_DEV_MALFORMED | REPLY_DEV_TRUNCATED));
				check_reply(r);
				reply_free(r);
				stop = true;
				break;
			case REPLY_NOMEM:
				stop = true;
				break;
			}
		}
		/* The session gives up on an unterminated tail this long. */
		if (plen > LIMIT_REPLY_LINE_HARD)
			stop = true;
	}
	reply_parser_reset(&p);
	result_clear(res);
	return 0;
}
