/*
 * explain.h — `smtpprobe explain`: explain SMTP replies offline.
 *
 * The input is whatever a user has at hand: a raw reply (one line or a
 * multi-line "550-..."/"550 ..." reply), a line copied from a bounce
 * (Postfix, Exim, Sendmail, Exchange/Microsoft 365, Gmail, DSN
 * "Diagnostic-Code:" fields) or a bare enhanced status code.  The parser
 * finds the replies in it, with the command they answered when the text
 * names it; each one is then classified by codes_classify() and printed
 * as text or JSON.  No network, no DNS: everything comes from codes/.
 *
 * Limits (in probe/limits.h): at most EXPLAIN_INPUT_MAX bytes of one
 * input are read (the rest is dropped and the cut is reported), at most
 * EXPLAIN_REPLIES_MAX replies are taken from one input, and each reply's
 * text is capped at EXPLAIN_TEXT_MAX bytes.  Input bytes are untrusted: NUL becomes '?',
 * and every byte printed goes through the report escapers.
 */
#ifndef SMTPPROBE_EXPLAIN_H
#define SMTPPROBE_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "limits.h"	/* EXPLAIN_INPUT_MAX, EXPLAIN_REPLIES_MAX, EXPLAIN_TEXT_MAX */

/* Where the command a reply answers came from. */
enum explain_cmd_source {
	EXPLAIN_CMD_NONE,	/* not known */
	EXPLAIN_CMD_INPUT,	/* named by the input ("in reply to RCPT TO command") */
	EXPLAIN_CMD_OPTION	/* given with --after */
};

struct explain_reply {
	int			 code;		/* 0: only an enhanced code was found */
	int			 esc_class;	/* enhanced code; class 0 when absent */
	int			 esc_subject;
	int			 esc_detail;
	int			 cmd;		/* enum codes_cmd, or -1 */
	enum explain_cmd_source	 cmd_source;
	size_t			 nlines;	/* lines the reply spanned in the input */
	bool			 text_truncated;
	size_t			 textlen;
	char			 text[EXPLAIN_TEXT_MAX];	/* without codes; lines joined by '\n' */
};

/*
 * Find the replies in in[0..len) (which may hold NUL bytes).  Stores at
 * most max replies in out and returns their number; 0 when the input
 * holds no recognisable reply.  Pure: no I/O, no allocation.
 */
size_t explain_parse(const char *in, size_t len, struct explain_reply *out,
    size_t max);

/*
 * The subcommand.  argv[0] is "explain"; the rest are options and
 * replies.  Reads `in` when no reply is given.  Returns the exit status:
 * 0 explained, 64 usage error, 65 an input without a recognisable reply.
 */
int explain_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);

#endif
