/*
 * test_explain.c — unit tests of the `smtpprobe explain` parser: finding
 * replies in raw replies, bounce lines and DSNs (Postfix, Exim, Sendmail,
 * Exchange/Microsoft 365, Gmail, qmail, IronPort), the command they
 * answered, the text without its codes, and hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codes.h"
#include "explain.h"

struct pcase {
	int		 line;
	const char	*in;
	size_t		 nreplies;	/* expected number of replies */
	int		 code;		/* of the first reply */
	const char	*esc;		/* "5.1.1", or "" for none */
	int		 cmd;		/* -1: none named */
	const char	*text_has;	/* substring of the text, or NULL */
	const char	*text_not;	/* must not be in the text, or NULL */
};


static void
run_case(const struct pcase *c)
{
	struct explain_reply	*r;
	size_t			 n;
	char			 esc[32];

	r = calloc(EXPLAIN_REPLIES_MAX, sizeof(*r));
	if (r == NULL) {
		CHECK(0);
		return;
	}
	n = explain_parse(c->in, strlen(c->in), r, EXPLAIN_REPLIES_MAX);
	check_count++;
	if (n != c->nreplies) {
		check_failures++;
		fprintf(stderr, "%s:%d: %zu replies, want %zu\n", __FILE__,
		    c->line, n, c->nreplies);
		free(r);
		return;
	}
	if (n == 0) {
		free(r);
		return;
	}
	esc[0] = '\0';
	if (r[0].esc_class != 0)
		snprintf(esc, sizeof(esc), "%d.%d.%d", r[0].esc_class,
		    r[0].esc_subject, r[0].esc_detail);
	check_count++;
	if (r[0].code != c->code || strcmp(esc, c->esc) != 0 ||
	    r[0].cmd != c->cmd ||
	    (c->text_has != NULL && strstr(r[0].text, c->text_has) == NULL) ||
	    (c->text_not != NULL && strstr(r[0].text, c->text_not) != NULL) ||
	    strlen(r[0].text) != r[0].textlen) {
		check_failures++;
		fprintf(stderr, "%s:%d: got code %d esc '%s' cmd %d text '%s'"
		    "\n  want code %d esc '%s' cmd %d text has '%s' not '%s'\n",
		    __FILE__, c->line, r[0].code, esc, r[0].cmd, r[0].text,
		    c->code, c->esc, c->cmd, c->text_has ? c->text_has : "",
		    c->text_not ? c->text_not : "");
	}
	if (r[0].cmd >= 0)
		CHECK_INT(r[0].cmd_source, EXPLAIN_CMD_INPUT);
	else
		CHECK_INT(r[0].cmd_source, EXPLAIN_CMD_NONE);
	free(r);
}

static void
test_shapes(void)
{
	const int G = CODES_CMD_GREETING, E = CODES_CMD_EHLO,
	    M = CODES_CMD_MAIL, R = CODES_CMD_RCPT, D = CODES_CMD_DATA, U = -1;
	const struct pcase cases[] = {
	/* Raw replies. */
	{ __LINE__, "550 5.1.1 User unknown", 1, 550, "5.1.1", U,
	    "User unknown", "5.1.1" },
	{ __LINE__, "550", 1, 550, "", U, NULL, NULL },
	{ __LINE__, "  421 4.7.0 Try again later, closing connection. (EHLO)\r\n",
	    1, 421, "4.7.0", U, "closing connection", "\r" },
	{ __LINE__, "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
	    "550-5.1.1 Please try double-checking the recipient's email address\r\n"
	    "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp\r\n",
	    1, 550, "5.1.1", U, "does not exist.\nPlease try", "550" },
	{ __LINE__, "250 2.1.5 Ok", 1, 250, "2.1.5", U, "Ok", NULL },
	{ __LINE__, "111 Connection refused", 1, 111, "", U, "refused", NULL },
	{ __LINE__, "554-mx1.example.net ESMTP not accepting connections\n554 bye",
	    1, 554, "", U, "not accepting", NULL },
	/* Two different replies in one paste. */
	{ __LINE__, "220 mx.example.net ESMTP\n550 5.7.1 Relaying denied\n",
	    2, 220, "", U, "ESMTP", NULL },

	/* Postfix bounces. */
	{ __LINE__, "<a@b.example>: host mx.b.example[192.0.2.7] said: 550 5.1.1 <a@b.example>: "
	    "Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
	    1, 550, "5.1.1", R, "User unknown in virtual mailbox table", "in reply to" },
	{ __LINE__, "host mx.b.example[192.0.2.7] said: 552 5.3.4 Error: message file too big "
	    "(in reply to end of DATA command)", 1, 552, "5.3.4", D, "too big", "in reply" },
	{ __LINE__, "host mx.b.example[192.0.2.7] said: 553 5.1.8 <x@y.example>: Sender address "
	    "rejected: Domain not found (in reply to MAIL FROM command)", 1, 553, "5.1.8", M,
	    "Domain not found", NULL },
	{ __LINE__, "host mx.b.example[192.0.2.7] refused to talk to me: 554 5.7.1 Service "
	    "unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
	    1, 554, "5.7.1", G, "zen.spamhaus.org", NULL },
	/* Postfix folds long lines and flattens a multi-line reply. */
	{ __LINE__, "<a@gmail.com>: host gmail-smtp-in.l.google.com[142.250.1.27] said:\n"
	    "    550-5.1.1 The email account that you tried to reach does not exist. Please\n"
	    "    try 550-5.1.1 double-checking the recipient's email address for typos or\n"
	    "    550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1\n"
	    "    https://support.google.com/mail/?p=NoSuchUser x1si - gsmtp (in reply to RCPT\n"
	    "    TO command)\n", 1, 550, "5.1.1", R, "Please try double-checking", "550" },
	{ __LINE__, "host mx.b.example[192.0.2.7] said: 550-5.1.1 The email account that you "
	    "tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's "
	    "email address 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp "
	    "(in reply to RCPT TO command)", 1, 550, "5.1.1", R,
	    "Please try double-checking", "550" },
	/* Postfix with the reply on the next, indented line. */
	{ __LINE__, "<a@b.example>: host mx.b.example[192.0.2.7] said:\n"
	    "    450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted (in reply\n"
	    "    to RCPT TO command)\n", 1, 450, "4.2.0", R, "Greylisted", "in reply" },

	/* Exim. */
	{ __LINE__, "  a@b.example\n    host mx.b.example [192.0.2.7]\n"
	    "    SMTP error from remote mail server after pipelined RCPT TO:<a@b.example>:\n"
	    "    550 5.1.1 <a@b.example>: Recipient address rejected: User unknown\n",
	    1, 550, "5.1.1", R, "User unknown", NULL },
	{ __LINE__, "SMTP error from remote server after RCPT TO:<a@b.example>: "
	    "host mx.b.example [192.0.2.7]: 550 No Such User Here", 1, 550, "", R,
	    "No Such User Here", NULL },
	{ __LINE__, "SMTP error from remote mail server after pipelined RCPT TO:<a@b.example>: "
	    "550 Unrouteable address", 1, 550, "", R, "Unrouteable", NULL },
	{ __LINE__, "SMTP error from remote server after end of data:\n"
	    "    550 Message content rejected\n", 1, 550, "", D, "content rejected", NULL },
	{ __LINE__, "SMTP error from remote server after initial connection:\n"
	    "    554 IMTA11.example.net 192.0.2.1 was found on one or more DNSBLs\n",
	    1, 554, "", G, "DNSBLs", NULL },
	{ __LINE__, "SMTP error from remote mail server after MAIL FROM:<x@y.example> SIZE=1234:\n"
	    "    550 Verification failed for <x@y.example>\n", 1, 550, "", M,
	    "Verification failed", NULL },
	{ __LINE__, "SMTP error from remote server for RCPT TO command, host: mx.b.example "
	    "(192.0.2.7) reason: 550 5.1.1 No such user", 1, 550, "5.1.1", R,
	    "No such user", NULL },
	{ __LINE__, "SMTP error from remote mail server after EHLO probe.example:\n"
	    "    550 5.7.1 Helo command rejected\n", 1, 550, "5.7.1", E, "Helo", NULL },

	/* Exchange / Microsoft 365 NDRs. */
	{ __LINE__, "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
	    "Recipient not found by SMTP address lookup'", 1, 550, "5.1.10", U,
	    "RecipientNotFound", "'" },
	{ __LINE__, "Remote Server returned '550 5.7.1 Unfortunately, messages from [192.0.2.1] "
	    "weren't sent. Please contact your Internet service provider (S3150).'",
	    1, 550, "5.7.1", U, "weren't sent", "(S3150).'" },
	{ __LINE__, "Remote Server returned '<a@b.example> #5.1.1 smtp;550 5.1.1 User unknown>'",
	    1, 550, "5.1.1", U, "User unknown", ">" },
	{ __LINE__, "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", 1, 550,
	    "5.1.1", U, "RecipNotFound", NULL },
	{ __LINE__, "Diagnostic information for administrators:\n\nGenerating server: "
	    "mail.example.com\n\na@b.example\nRemote Server returned '554 5.4.14 Hop count "
	    "exceeded - possible mail loop'\n", 1, 554, "5.4.14", U, "Hop count", NULL },

	/* Gmail's own bounce. */
	{ __LINE__, "The response from the remote server was:\n550 5.1.1 <a@b.example>: "
	    "Email address could not be found, or was misspelled (G8)\n", 1, 550, "5.1.1",
	    U, "could not be found", NULL },
	{ __LINE__, "The response was:\n\n452 4.2.2 The email account that you tried to "
	    "reach is over quota.\n", 1, 452, "4.2.2", U, "over quota", NULL },

	/* Sendmail. */
	{ __LINE__, "a@b.example... Deferred: 451 4.3.0 Temporary system failure",
	    1, 451, "4.3.0", U, "Temporary system failure", NULL },
	{ __LINE__, "----- Transcript of session follows -----\n... while talking to "
	    "mx.b.example.:\n>>> RCPT To:<a@b.example>\n<<< 550 5.1.1 <a@b.example>... "
	    "User unknown\n550 5.1.1 a@b.example... User unknown\n", 1, 550, "5.1.1", R,
	    "User unknown", "<<<" },
	{ __LINE__, "... while talking to mx.b.example.:\n>>> DATA\n<<< 554 5.7.1 Message "
	    "rejected as spam\n554 5.0.0 Service unavailable\n", 2, 554, "5.7.1", D, "spam",
	    NULL },
	{ __LINE__, ">>> .\n<<< 552 5.3.4 Message size exceeds fixed maximum message size\n",
	    1, 552, "5.3.4", D, "fixed maximum", NULL },

	/* DSN fields; the Status line alone does not make a second reply. */
	{ __LINE__, "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n"
	    "Remote-MTA: dns; mx.b.example\nDiagnostic-Code: smtp; 550 5.1.1 <a@b.example>: "
	    "Recipient address rejected: User unknown\n", 1, 550, "5.1.1", U,
	    "User unknown", NULL },
	{ __LINE__, "Diagnostic-Code: smtp; 550-5.7.26 This mail has been blocked because\n"
	    "    the sender is unauthenticated.\n", 1, 550, "5.7.26", U,
	    "sender is unauthenticated", NULL },

	/* qmail, IronPort, PHP mailers. */
	{ __LINE__, "<a@b.example>:\n192.0.2.7 does not like recipient.\nRemote host said: "
	    "550 [SUSPEND] Mailbox currently suspended\nGiving up on 192.0.2.7.\n",
	    1, 550, "", U, "SUSPEND", "Giving up" },
	{ __LINE__, "550 #5.1.0 Address rejected.", 1, 550, "5.1.0", U,
	    "Address rejected", "#" },
	{ __LINE__, "SMTP Error: RCPT TO command failed: 550 5.7.1 Relaying denied", 1,
	    550, "5.7.1", R, "Relaying denied", NULL },
	{ __LINE__, "sorry, mailbox is over quota temporarily (#4.2.2)", 1, 0, "4.2.2", U,
	    NULL, NULL },

	/* Bare enhanced codes. */
	{ __LINE__, "5.7.1", 1, 0, "5.7.1", U, NULL, NULL },
	{ __LINE__, "  4.7.28\n", 1, 0, "4.7.28", U, NULL, NULL },
	{ __LINE__, "Status: 5.2.2 (mailbox full)", 1, 0, "5.2.2", U, "mailbox full", NULL },

	/* Not replies. */
	{ __LINE__, "", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "hello world", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "Call 555-1234 today", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "Arrival-Date: Mon, 15 Jan 2024 10:00:00 +0100\nport 2525 open\n",
	    0, 0, "", U, NULL, NULL },
	{ __LINE__, "version 1.2.3 released", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "100 messages sent", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "IP 192.0.2.250 is fine", 0, 0, "", U, NULL, NULL },
	{ __LINE__, "5.1.1x and 6.1.1 and 5.1", 0, 0, "", U, NULL, NULL },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* Hostile input: NUL and control bytes, endless lines, too many replies,
 * a text longer than the buffer; nothing may crash or overrun. */
static void
test_hostile(void)
{
	struct explain_reply	*r;
	char			*big;
	size_t			 n, i, len;
	static const char nul[] = "550 5.1.1 user\0unknown\x1b[31m\x07";

	r = calloc(EXPLAIN_REPLIES_MAX, sizeof(*r));
	big = malloc(EXPLAIN_INPUT_MAX);
	if (r == NULL || big == NULL) {
		CHECK(0);
		free(r);
		free(big);
		return;
	}

	n = explain_parse(nul, sizeof(nul) - 1, r, EXPLAIN_REPLIES_MAX);
	CHECK_INT(n, 1);
	CHECK_INT(r[0].code, 550);
	CHECK_INT(r[0].textlen, strlen(r[0].text));
	CHECK(strchr(r[0].text, '\x1b') != NULL);	/* kept; escaped on output */
	CHECK(strstr(r[0].text, "user?unknown") != NULL);

	/* One huge line. */
	memset(big, 'A', EXPLAIN_INPUT_MAX);
	memcpy(big, "550 5.7.1 ", 10);
	n = explain_parse(big, EXPLAIN_INPUT_MAX, r, EXPLAIN_REPLIES_MAX);
	CHECK_INT(n, 1);
	CHECK(r[0].text_truncated);
	CHECK(r[0].textlen < EXPLAIN_TEXT_MAX);
	CHECK_INT(r[0].textlen, strlen(r[0].text));

	/* Endless multi-line reply. */
	for (len = 0; len + 16 < EXPLAIN_INPUT_MAX; len += 15)
		memcpy(big + len, "550-5.1.1 xxxx\n", 15);
	n = explain_parse(big, len, r, EXPLAIN_REPLIES_MAX);
	CHECK_INT(n, 1);
	CHECK(r[0].text_truncated);

	/* Many different replies: capped. */
	for (len = 0, i = 0; len + 40 < EXPLAIN_INPUT_MAX; i++)
		len += (size_t)snprintf(big + len, EXPLAIN_INPUT_MAX - len,
		    "550 5.1.1 user %zu unknown\n", i);
	n = explain_parse(big, len, r, EXPLAIN_REPLIES_MAX);
	CHECK_INT(n, EXPLAIN_REPLIES_MAX);
	n = explain_parse(big, len, r, 3);
	CHECK_INT(n, 3);

	/* Only control bytes and NULs. */
	for (i = 0; i < 4096; i++)
		big[i] = (char)(i % 32);
	n = explain_parse(big, 4096, r, EXPLAIN_REPLIES_MAX);
	CHECK_INT(n, 0);

	/* Every byte value in every position around a code. */
	for (i = 0; i < 256; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "x 550%c5.1.1", (int)(i == 0 ? 1 : i));
		buf[5] = (char)i;
		(void)explain_parse(buf, 11, r, EXPLAIN_REPLIES_MAX);
		(void)explain_parse(buf + 2, 9, r, EXPLAIN_REPLIES_MAX);
	}
	CHECK_INT(explain_parse(NULL, 0, r, 4), 0);
	CHECK_INT(explain_parse("550", 3, NULL, 4), 0);
	CHECK_INT(explain_parse("550", 3, r, 0), 0);
	/* Truncated in the middle of a code. */
	CHECK_INT(explain_parse("55", 2, r, 4), 0);
	CHECK_INT(explain_parse("550 5.1.", 8, r, 4), 1);
	CHECK_STR(r[0].text, "5.1.");

	free(r);
	free(big);
}

int
main(void)
{
	test_shapes();
	test_hostile();
	return check_report("test_explain");
}
