/*
 * test_codes.c — unit tests of codes/: table integrity, the command table,
 * enhanced-code parsing, lookups, and the classification of real replies
 * (texts as Postfix, Exim, Sendmail, Exchange/Microsoft 365, Gmail, Yahoo,
 * Outlook.com, Mimecast and Proofpoint write them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codes.h"

#define P_OK	CODES_SUCCESS
#define P_TMP	CODES_TRANSIENT
#define P_PERM	CODES_PERMANENT

static void
test_basic_table(void)
{
	static const int required[] = {
		101, 111, 200, 211, 214, 220, 221, 250, 251, 252, 253, 354,
		355, 420, 421, 422, 431, 432, 441, 442, 446, 447, 449, 450,
		451, 452, 453, 454, 455, 458, 459, 465, 471, 500, 501, 502,
		503, 504, 510, 511, 512, 513, 515, 517, 521, 522, 523, 530,
		531, 533, 534, 535, 538, 540, 541, 542, 543, 546, 547, 550,
		551, 552, 553, 554, 555, 556, 571
	};
	size_t	 i, n = codes_basic_count();
	int	 prev = 0;

	CHECK(n >= sizeof(required) / sizeof(required[0]));
	for (i = 0; i < n; i++) {
		const struct codes_basic *b = codes_basic_at(i);

		CHECK(b != NULL);
		if (b == NULL)
			continue;
		/* Sorted and unique: a duplicate would show as equal. */
		CHECK(b->code > prev);
		prev = b->code;
		CHECK(b->meaning != NULL && b->meaning[0] != '\0');
		CHECK(b->origin != NULL && b->origin[0] != '\0');
		CHECK(b->causes != NULL && b->causes[0] != '\0');
		CHECK(b->advice != NULL && b->advice[0] != '\0');
		CHECK(codes_basic_lookup(b->code) == b);
		if (b->code < 200)
			CHECK_INT(b->permanence, CODES_NOT_A_REPLY);
		else
			CHECK_INT(b->permanence, b->code / 100 - 2);
	}
	CHECK(codes_basic_at(n) == NULL);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (codes_basic_lookup(required[i]) == NULL) {
			fprintf(stderr, "basic code %d missing\n", required[i]);
			CHECK(0);
		}
	}
	CHECK(codes_basic_lookup(599) == NULL);
	CHECK_STR(codes_basic_lookup(101)->origin, "client pseudo-code");
	CHECK_STR(codes_basic_lookup(111)->origin, "client pseudo-code");
	CHECK(strstr(codes_basic_lookup(420)->origin, "GroupWise") != NULL);
	CHECK(strstr(codes_basic_lookup(449)->origin, "Exchange") != NULL);
	CHECK_INT(codes_basic_lookup(421)->permanence, CODES_TRANSIENT);
	CHECK_INT(codes_basic_lookup(550)->permanence, CODES_PERMANENT);
	CHECK_INT(codes_basic_lookup(101)->permanence, CODES_NOT_A_REPLY);

	/* RFC 5321 §4.2.1 fallback on the first two digits. */
	CHECK(strstr(codes_basic_generic(559), "permanent") != NULL);
	CHECK(strstr(codes_basic_generic(559), "mail system") != NULL);
	CHECK(strstr(codes_basic_generic(409), "syntax") != NULL);
	CHECK(strstr(codes_basic_generic(429), "transmission channel") != NULL);
	CHECK(strstr(codes_basic_generic(218), "informational") != NULL);
	CHECK(strstr(codes_basic_generic(437), "transient") != NULL);
	CHECK(codes_basic_generic(999) != NULL);
	CHECK(codes_basic_generic(0) != NULL);
	CHECK(codes_basic_generic(-5) != NULL);
}

static void
test_enhanced_table(void)
{
	/* RFC 3463 and the IANA registry: subject, last detail. */
	static const int registry[][2] = {
		{ 0, 0 }, { 1, 10 }, { 2, 4 }, { 3, 6 }, { 4, 7 }, { 5, 6 },
		{ 6, 10 }, { 7, 30 }
	};
	size_t	 i, n = codes_enhanced_count();
	int	 d, ps = -1, pd = -1;

	for (i = 0; i < n; i++) {
		const struct codes_enhanced *e = codes_enhanced_at(i);

		CHECK(e != NULL);
		if (e == NULL)
			continue;
		CHECK(e->subject > ps || (e->subject == ps && e->detail > pd));
		ps = e->subject;
		pd = e->detail;
		CHECK(e->title != NULL && e->title[0] != '\0');
		CHECK(e->meaning != NULL && e->meaning[0] != '\0');
		CHECK(e->advice != NULL && e->advice[0] != '\0');
		CHECK(e->ref != NULL && e->ref[0] != '\0');
		CHECK(e->vendor_note == NULL || e->vendor_note[0] != '\0');
		CHECK(codes_enhanced_lookup(e->subject, e->detail) == e);
	}
	CHECK(codes_enhanced_at(n) == NULL);
	for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		for (d = 0; d <= registry[i][1]; d++) {
			const struct codes_enhanced *e;

			e = codes_enhanced_lookup(registry[i][0], d);
			if (e == NULL || e->detail != d) {
				fprintf(stderr, "enhanced X.%d.%d missing\n",
				    registry[i][0], d);
				CHECK(0);
			}
		}
	}
	CHECK_STR(codes_enhanced_lookup(1, 1)->title,
	    "Bad destination mailbox address");
	CHECK_STR(codes_enhanced_lookup(7, 26)->title,
	    "Multiple authentication checks failed");
	CHECK_STR(codes_enhanced_lookup(7, 8)->title,
	    "Authentication credentials invalid");
	CHECK_STR(codes_enhanced_lookup(1, 10)->ref, "RFC 7505, RFC 7504");
	/* Vendor families: Microsoft 5.7.606 banned sending IP. */
	{
		const struct codes_enhanced *e = codes_enhanced_lookup(7, 606);

		CHECK(e != NULL);
		if (e != NULL) {
			CHECK(e->vendor_note != NULL);
			CHECK(e->vendor_note != NULL &&
			    strstr(e->vendor_note, "banned sending IP") != NULL);
			CHECK(strstr(e->title, "Microsoft") != NULL);
		}
		e = codes_enhanced_lookup(7, 649);
		CHECK(e != NULL && strstr(e->title, "banned") != NULL);
		e = codes_enhanced_lookup(7, 650);
		CHECK(e != NULL && e->vendor_note != NULL);
		e = codes_enhanced_lookup(7, 511);
		CHECK(e != NULL && e->detail == 511);
	}
	CHECK(codes_enhanced_lookup(9, 9) == NULL);
	CHECK(codes_enhanced_lookup(7, 999) == NULL);
	CHECK(codes_enhanced_range_count() > 0);
	for (i = 0; i < codes_enhanced_range_count(); i++) {
		const struct codes_enhanced *e = codes_enhanced_range_at(i, &d);

		CHECK(e != NULL && d > e->detail);
		CHECK(e != NULL && e->vendor_note != NULL);
	}
	CHECK(codes_enhanced_range_at(codes_enhanced_range_count(), &d) == NULL);

	CHECK_STR(codes_enhanced_class_name(2), "Success");
	CHECK_STR(codes_enhanced_class_name(4), "Persistent transient failure");
	CHECK_STR(codes_enhanced_class_name(5), "Permanent failure");
	CHECK_STR(codes_enhanced_class_name(3), "unknown");
	CHECK_STR(codes_enhanced_subject_name(1), "Addressing");
	CHECK_STR(codes_enhanced_subject_name(2), "Mailbox");
	CHECK_STR(codes_enhanced_subject_name(7), "Security or policy");
	CHECK_STR(codes_enhanced_subject_name(8), "unknown");
	CHECK_STR(codes_enhanced_subject_name(-1), "unknown");
}

static void
test_enhanced_parse(void)
{
	int	 c = -1, s = -1, d = -1;

	CHECK_INT(codes_enhanced_parse("5.1.1 User unknown", 18, &c, &s, &d), 5);
	CHECK_INT(c, 5);
	CHECK_INT(s, 1);
	CHECK_INT(d, 1);
	CHECK_INT(codes_enhanced_parse("4.7.28", 6, &c, &s, &d), 6);
	CHECK_INT(d, 28);
	CHECK_INT(codes_enhanced_parse("2.0.0\tok", 8, &c, &s, &d), 5);
	CHECK_INT(codes_enhanced_parse("5.7.606 Access", 14, &c, &s, &d), 7);
	CHECK_INT(d, 606);
	CHECK_INT(codes_enhanced_parse("5.123.4 x", 9, &c, &s, &d), 7);
	CHECK_INT(s, 123);
	/* len bounds the scan: "5.1.1" followed by more digits is cut. */
	CHECK_INT(codes_enhanced_parse("5.1.12", 5, &c, &s, &d), 5);
	CHECK_INT(codes_enhanced_parse("5.1.1.", 6, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("6.1.1", 5, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("3.1.1", 5, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1234.1", 8, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1.1234", 8, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("55.1.1", 6, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5..1", 4, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1", 3, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1.", 4, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1.1x", 6, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("User", 4, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("", 0, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse(NULL, 0, &c, &s, &d), 0);
	CHECK_INT(codes_enhanced_parse("5.1.1", 5, NULL, NULL, NULL), 5);
}

static void
test_commands(void)
{
	const char	*ref = "x";
	size_t		 i;
	int		 cmd, code, seen[CODES_CMD_COUNT];
	enum codes_legality l;

	for (i = 0; i < CODES_CMD_COUNT; i++) {
		const char *name = codes_cmd_name((enum codes_cmd)i);

		CHECK(name != NULL && name[0] != '\0');
		CHECK_INT(codes_cmd_parse(name), (int)i);
		seen[i] = 0;
	}
	CHECK(codes_cmd_name(CODES_CMD_COUNT) == NULL);
	CHECK_STR(codes_cmd_name(CODES_CMD_GREETING), "GREETING");
	CHECK_INT(codes_cmd_parse("mail from"), CODES_CMD_MAIL);
	CHECK_INT(codes_cmd_parse("RCPT TO"), CODES_CMD_RCPT);
	CHECK_INT(codes_cmd_parse("connect"), CODES_CMD_GREETING);
	CHECK_INT(codes_cmd_parse("ehlo"), CODES_CMD_EHLO);
	CHECK_INT(codes_cmd_parse("TURN"), -1);
	CHECK_INT(codes_cmd_parse(""), -1);
	CHECK_INT(codes_cmd_parse(NULL), -1);

	/* Every row well formed; every command has rows; no duplicates. */
	for (i = 0; codes_cmd_rule_at(i, &cmd, &code, &l, &ref); i++) {
		size_t j;
		int cmd2, code2;

		CHECK(cmd >= -1 && cmd < CODES_CMD_COUNT);
		CHECK(code >= 200 && code <= 599);
		CHECK(ref != NULL && ref[0] != '\0');
		CHECK(l != CODES_ILLEGAL);
		if (cmd >= 0)
			seen[cmd]++;
		for (j = i + 1; codes_cmd_rule_at(j, &cmd2, &code2, NULL, NULL);
		    j++)
			CHECK(!(cmd2 == cmd && code2 == code));
	}
	CHECK_INT(i, codes_cmd_rule_count());
	for (i = 0; i < CODES_CMD_COUNT; i++)
		CHECK(seen[i] > 0);

	CHECK_INT(codes_check(CODES_CMD_RCPT, 354, &ref), CODES_ILLEGAL);
	CHECK(ref == NULL);
	CHECK_INT(codes_check(CODES_CMD_RCPT, 550, &ref), CODES_LEGAL);
	CHECK(ref != NULL && strstr(ref, "5321") != NULL);
	for (i = 0; i < CODES_CMD_COUNT; i++) {
		CHECK_INT(codes_check((enum codes_cmd)i, 421, NULL), CODES_LEGAL);
		CHECK_INT(codes_check((enum codes_cmd)i, 500, NULL), CODES_LEGAL);
		CHECK_INT(codes_check((enum codes_cmd)i, 501, NULL), CODES_LEGAL);
		CHECK_INT(codes_check((enum codes_cmd)i, 999, NULL),
		    CODES_ILLEGAL);
	}
	CHECK_INT(codes_check(CODES_CMD_GREETING, 220, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_GREETING, 554, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_GREETING, 521, &ref),
	    CODES_LEGAL_EXTENSION);
	CHECK(ref != NULL && strstr(ref, "7504") != NULL);
	CHECK_INT(codes_check(CODES_CMD_GREETING, 250, NULL), CODES_ILLEGAL);
	CHECK_INT(codes_check(CODES_CMD_NOOP, 250, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_NOOP, 200, NULL), CODES_COMMON);
	CHECK_INT(codes_check(CODES_CMD_RSET, 200, NULL), CODES_COMMON);
	CHECK_INT(codes_check(CODES_CMD_MAIL, 530, &ref),
	    CODES_LEGAL_EXTENSION);
	CHECK(ref != NULL && strstr(ref, "3207") != NULL);
	CHECK_INT(codes_check(CODES_CMD_STARTTLS, 220, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_STARTTLS, 454, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_AUTH, 334, &ref),
	    CODES_LEGAL_EXTENSION);
	CHECK(ref != NULL && strstr(ref, "4954") != NULL);
	CHECK_INT(codes_check(CODES_CMD_AUTH, 235, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_AUTH, 535, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_EHLO, 550, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_EHLO, 554, NULL), CODES_COMMON);
	CHECK_INT(codes_check(CODES_CMD_HELO, 502, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_RCPT, 554, NULL), CODES_COMMON);
	CHECK_INT(codes_check(CODES_CMD_RCPT, 556, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_RCPT, 251, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_MAIL, 554, NULL), CODES_COMMON);
	CHECK_INT(codes_check(CODES_CMD_MAIL, 552, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_MAIL, 555, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_MAIL, 251, NULL), CODES_ILLEGAL);
	CHECK_INT(codes_check(CODES_CMD_DATA, 354, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_BDAT, 354, NULL), CODES_ILLEGAL);
	CHECK_INT(codes_check(CODES_CMD_BDAT, 250, NULL),
	    CODES_LEGAL_EXTENSION);
	CHECK_INT(codes_check(CODES_CMD_QUIT, 221, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_QUIT, 550, NULL), CODES_ILLEGAL);
	CHECK_INT(codes_check(CODES_CMD_HELP, 214, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_VRFY, 252, NULL), CODES_LEGAL);
	CHECK_INT(codes_check(CODES_CMD_EXPN, 251, NULL), CODES_ILLEGAL);
	CHECK_INT(codes_check(CODES_CMD_COUNT, 250, &ref), CODES_ILLEGAL);
	CHECK(ref == NULL);
	CHECK_INT(codes_check((enum codes_cmd)-1, 421, NULL), CODES_ILLEGAL);

	CHECK_STR(codes_legality_name(CODES_LEGAL), "legal");
	CHECK_STR(codes_legality_name(CODES_LEGAL_EXTENSION),
	    "legal_extension");
	CHECK_STR(codes_legality_name(CODES_COMMON), "common");
	CHECK_STR(codes_legality_name(CODES_ILLEGAL), "illegal");
}

static void
test_names(void)
{
	size_t		 i, j;
	enum codes_blame b;

	CHECK_STR(codes_permanence_name(CODES_SUCCESS), "success");
	CHECK_STR(codes_permanence_name(CODES_INTERMEDIATE), "intermediate");
	CHECK_STR(codes_permanence_name(CODES_TRANSIENT), "transient");
	CHECK_STR(codes_permanence_name(CODES_PERMANENT), "permanent");
	CHECK_STR(codes_permanence_name(CODES_NOT_A_REPLY), "not_a_reply");
	CHECK_STR(codes_blame_name(CODES_BLAME_NONE), "none");
	CHECK_STR(codes_blame_name(CODES_BLAME_CLIENT_IP_REPUTATION),
	    "client_ip_reputation");
	CHECK_STR(codes_blame_name(CODES_BLAME_PROTOCOL), "protocol");
	for (i = 0; i < CODES_BLAME_COUNT; i++) {
		const char *n = codes_blame_name((enum codes_blame)i);

		CHECK(n != NULL && n[0] != '\0');
		for (j = 0; j < i; j++)
			CHECK(strcmp(n, codes_blame_name((enum codes_blame)j)) != 0);
	}
	CHECK(codes_category_count() >= 30);
	for (i = 0; i < codes_category_count(); i++) {
		const char *n = codes_category_at(i, &b);

		CHECK(n != NULL && n[0] != '\0');
		CHECK((int)b >= 0 && b < CODES_BLAME_COUNT);
		for (j = 0; j < i; j++)
			CHECK(strcmp(n, codes_category_at(j, NULL)) != 0);
	}
	CHECK(codes_category_at(codes_category_count(), NULL) == NULL);
	CHECK(codes_pattern_count() > 20);
	for (i = 0; i < codes_pattern_count(); i++) {
		const char *n = codes_pattern_id(i);

		CHECK(n != NULL && n[0] != '\0');
		for (j = 0; j < i; j++)
			CHECK(strcmp(n, codes_pattern_id(j)) != 0);
	}
}

/*
 * Classify one reply written as on the wire ("550-5.1.1 text\n550 5.1.1
 * more"): the code from the first line, the enhanced code from the first
 * line when present, the text of all lines joined by '\n'.
 */
static void
expect(int cmd, const char *reply, enum codes_permanence perm,
    enum codes_blame blame, const char *category, int line)
{
	struct codes_diagnosis	 d;
	char			 text[2048];
	const char		*p = reply;
	size_t			 tl = 0, n;
	int			 code, cls = 0, subj = 0, det = 0, first = 1;

	code = atoi(reply);
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
		const char *t = p + 4 < p + linelen ? p + 4 : p + linelen;
		int c2, s2, d2;

		n = codes_enhanced_parse(t, linelen - (size_t)(t - p), &c2, &s2,
		    &d2);
		if (n > 0) {
			if (first) {
				cls = c2;
				subj = s2;
				det = d2;
			}
			t += n;
			while (*t == ' ')
				t++;
		}
		first = 0;
		if (tl > 0 && tl < sizeof(text) - 1)
			text[tl++] = '\n';
		n = linelen - (size_t)(t - p);
		if (tl + n >= sizeof(text))
			n = sizeof(text) - 1 - tl;
		memcpy(text + tl, t, n);
		tl += n;
		p = eol ? eol + 1 : p + linelen;
	}
	text[tl] = '\0';
	memset(&d, 0, sizeof(d));
	codes_classify(cmd, code, cls, subj, det, text, &d);
	check_count++;
	if (d.permanence != perm || d.blame != blame ||
	    strcmp(codes_category_name(d.category), category) != 0) {
		check_failures++;
		fprintf(stderr, "%s:%d: classify \"%s\"\n  got %s/%s/%s (rule %s)"
		    ", want %s/%s/%s\n", __FILE__, line, reply,
		    codes_permanence_name(d.permanence),
		    codes_blame_name(d.blame), codes_category_name(d.category),
		    d.rule,
		    codes_permanence_name(perm), codes_blame_name(blame),
		    category);
	}
	CHECK(d.meaning != NULL && d.meaning[0] != '\0');
	CHECK(d.cause != NULL);
	CHECK(d.advice != NULL && d.advice[0] != '\0');
	CHECK(d.rule != NULL);
}

#define X(cmd, reply, perm, blame, cat) \
	expect((cmd), (reply), (perm), CODES_BLAME_##blame, (cat), __LINE__)

static void
test_classify_real(void)
{
	const int G = CODES_CMD_GREETING, E = CODES_CMD_EHLO,
	    S = CODES_CMD_STARTTLS, A = CODES_CMD_AUTH, M = CODES_CMD_MAIL,
	    R = CODES_CMD_RCPT, D = CODES_CMD_DATA, Q = CODES_CMD_QUIT,
	    U = -1;

	/* Success and intermediate replies. */
	X(G, "220 mx.example.net ESMTP Postfix", P_OK, NONE, "accepted");
	X(R, "250 2.1.5 Ok", P_OK, NONE, "accepted");
	X(Q, "221 2.0.0 Bye", P_OK, NONE, "accepted");
	X(A, "235 2.7.0 Authentication successful", P_OK, NONE, "accepted");
	X(D, "354 End data with <CR><LF>.<CR><LF>", CODES_INTERMEDIATE, NONE,
	    "accepted");

	/* Postfix. */
	X(R, "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in local recipient table",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "450 4.1.1 <a@b.example>: Recipient address rejected: unverified address: host mx.b.example[192.0.2.7] said: 550 5.1.1 User unknown",
	    P_TMP, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "450 4.7.1 <unknown[192.0.2.10]>: Client host rejected: cannot find your hostname, [192.0.2.10]",
	    P_TMP, CLIENT_IDENTITY, "rdns_missing");
	X(R, "550 5.7.1 <unknown[192.0.2.10]>: Client host rejected: cannot find your reverse hostname, [192.0.2.10]",
	    P_PERM, CLIENT_IDENTITY, "rdns_missing");
	X(R, "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "450 4.7.1 <probe.local>: Helo command rejected: Host not found",
	    P_TMP, CLIENT_IDENTITY, "helo_rejected");
	X(E, "501 5.5.2 <bad_name>: Helo command rejected: Invalid name",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.example.html",
	    P_TMP, NONE, "greylisted");
	X(R, "554 5.7.1 <a@b.example>: Relay access denied",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "454 4.7.1 <a@b.example>: Relay access denied",
	    P_TMP, RELAY_POLICY, "relay_denied");
	X(M, "553 5.1.8 <x@nxdomain.example>: Sender address rejected: Domain not found",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "450 4.1.8 <x@nxdomain.example>: Sender address rejected: Domain not found",
	    P_TMP, SENDER_ADDRESS, "sender_rejected");
	X(M, "530 Must issue a STARTTLS command first",
	    P_PERM, CLIENT_AUTH_TLS, "starttls_required");
	X(R, "452 4.5.3 Error: too many recipients",
	    P_TMP, RATE_LIMIT, "too_many_recipients");
	X(D, "552 5.3.4 Error: message file too big",
	    P_PERM, CONTENT, "message_too_big");
	X(M, "452 4.3.1 Insufficient system storage",
	    P_TMP, SERVER, "insufficient_storage");
	X(G, "421 4.7.0 mx.example.net Error: too many connections from 192.0.2.1",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(R, "451 4.3.0 <a@b.example>: Temporary lookup failure",
	    P_TMP, SERVER, "temporary_failure");
	X(R, "503 5.5.1 Error: need MAIL command",
	    P_PERM, PROTOCOL, "bad_sequence");
	X(M, "503 5.5.1 Error: send HELO/EHLO first",
	    P_PERM, PROTOCOL, "bad_sequence");
	X(R, "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied",
	    P_PERM, CLIENT_IP_REPUTATION, "policy_rejected");
	X(G, "521 5.5.1 Protocol error", P_PERM, PROTOCOL, "protocol_error");
	X(R, "550 5.7.23 <a@b.example>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=x@y;ip=192.0.2.1;r=a@b.example",
	    P_PERM, SENDER_AUTHENTICATION, "spf_fail");
	X(A, "535 5.7.8 Error: authentication failed: authentication failure",
	    P_PERM, CLIENT_AUTH_TLS, "auth_failed");
	X(R, "550 5.1.0 <x@y.example>: Sender address rejected: User unknown in local recipient table",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(M, "421 4.3.2 All server ports are busy",
	    P_TMP, SERVER, "service_unavailable");

	/* Gmail. */
	X(R, "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
	    "550-5.1.1 double-checking the recipient's email address for typos or\n"
	    "550-5.1.1 unnecessary spaces. Learn more at\n"
	    "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser x1si1234.1 - gsmtp",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "552-5.2.2 The email account that you tried to reach is over quota. Please direct\n"
	    "552 5.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaPerm",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "452-4.2.2 The email account that you tried to reach is over quota.",
	    P_TMP, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "550-5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
	    "550 5.2.1 https://support.google.com/mail/?p=DisabledUser",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of\n"
	    "421-4.7.28 unsolicited mail originating from your IP address. To protect our\n"
	    "421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited.",
	    P_TMP, CLIENT_IP_REPUTATION, "rate_limited");
	X(D, "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
	    "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "550-5.7.26 Unauthenticated email from example.com is not accepted due to\n"
	    "550 5.7.26 domain's DMARC policy.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "550-5.7.25 [192.0.2.1] The IP address sending this message does not have a\n"
	    "550 5.7.25 PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.",
	    P_PERM, CLIENT_IDENTITY, "rdns_missing");
	X(D, "550-5.7.1 [192.0.2.1] Our system has detected that this message is\n"
	    "550 5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
	    P_PERM, CONTENT, "content_rejected");
	X(R, "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
	    "450 4.2.1 prevents additional messages from being delivered.",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(A, "535-5.7.8 Username and Password not accepted. Learn more at\n"
	    "535 5.7.8 https://support.google.com/mail/?p=BadCredentials",
	    P_PERM, CLIENT_AUTH_TLS, "auth_failed");
	X(M, "530-5.7.0 Authentication Required. Learn more at\n"
	    "530 5.7.0 https://support.google.com/mail/?p=WantAuthError",
	    P_PERM, CLIENT_AUTH_TLS, "auth_required");
	X(E, "421 4.7.0 Try again later, closing connection. (EHLO)",
	    P_TMP, SERVER, "service_unavailable");

	/* Microsoft 365 / Exchange / Outlook.com. */
	X(R, "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.7.606 Access denied",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR01FT012.eop-EUR01.prod.protection.outlook.com]",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.7.1 Unable to relay",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "550 5.7.64 TenantAttribution; Relay Access Denied",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(M, "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful",
	    P_PERM, CLIENT_AUTH_TLS, "auth_failed");
	X(M, "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
	    P_PERM, CLIENT_AUTH_TLS, "auth_required");
	X(R, "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)",
	    P_TMP, CLIENT_IP_REPUTATION, "rate_limited");
	X(R, "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [DM6NAM10FT012.eop-nam10.prod.protection.outlook.com]",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(D, "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a DMARC policy of reject.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(R, "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.2.2 Mailbox full",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(D, "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
	    P_PERM, SENDER_AUTHENTICATION, "spf_fail");
	X(R, "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714)",
	    P_TMP, SERVER, "service_unavailable");
	X(R, "550 5.7.511 Access denied, banned sender[192.0.2.1]. To request removal from this list, forward this message to delist@microsoft.com.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "421 RP-001 (BAY004-MC1F8) Unfortunately, some messages from 192.0.2.1 weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day.",
	    P_TMP, RATE_LIMIT, "rate_limited");

	/* Yahoo / AOL. */
	X(R, "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1003.mail.ne1.yahoo.com",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "554 30 Sorry, your message to x@yahoo.com cannot be delivered. This mailbox is disabled (554.30).",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
	    P_TMP, CLIENT_IP_REPUTATION, "rate_limited");
	X(G, "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(D, "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
	    P_PERM, RELAY_POLICY, "policy_rejected");

	/* Exim (and cPanel). */
	X(R, "550 No Such User Here", P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 Unrouteable address", P_PERM, RECIPIENT_ADDRESS,
	    "user_unknown");
	X(R, "550 relay not permitted", P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "550-Please turn on SMTP Authentication in your mail client, or login to the\n"
	    "550-IMAP/POP3 server before sending your message. mx.example.net\n"
	    "550 [192.0.2.1]:4321 is not permitted to relay through this server without authentication.",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "550 Verification failed for <x@y.example>\n550 Sender verify failed",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "550 rejected because 192.0.2.1 is in a black list at zen.spamhaus.org",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(E, "501 Syntactically invalid EHLO argument(s)",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "451 Temporary local problem - please try later",
	    P_TMP, SERVER, "temporary_failure");
	X(D, "552 Message size exceeds maximum permitted",
	    P_PERM, CONTENT, "message_too_big");
	X(R, "550 Administrative prohibition", P_PERM, RELAY_POLICY,
	    "policy_rejected");
	X(G, "554 SMTP synchronization error", P_PERM, PROTOCOL,
	    "protocol_error");
	X(R, "451 4.7.1 Greylisted for 300 seconds (see http://greylist.example.net/)",
	    P_TMP, NONE, "greylisted");

	/* Sendmail. */
	X(R, "550 5.1.1 <a@b.example>... User unknown",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.7.1 <a@b.example>... Relaying denied. Proper authentication required.",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(M, "553 5.1.8 <x@y.example>... Domain of sender address x@y.example does not exist",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(M, "451 4.1.8 Domain of sender address x@y.example does not resolve",
	    P_TMP, SENDER_ADDRESS, "sender_rejected");
	X(R, "553 5.3.0 <a@b.example>... Spam blocked see: http://spamcop.net/bl.shtml?192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "554 5.7.1 Rejected 192.0.2.1 found in dnsbl.sorbs.net",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(M, "452 4.4.5 Insufficient disk space; try again later",
	    P_TMP, SERVER, "insufficient_storage");
	X(R, "503 5.0.0 Need MAIL before RCPT", P_PERM, PROTOCOL,
	    "bad_sequence");
	X(R, "550 5.2.1 <a@b.example>... Mailbox disabled for this recipient",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(G, "421 4.3.2 Connection rate limit exceeded.",
	    P_TMP, RATE_LIMIT, "rate_limited");

	/* Mimecast. */
	X(R, "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [aBcD.us1]",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "451 Internal resource temporarily unavailable - https://community.mimecast.com/docs/DOC-1369#451",
	    P_TMP, NONE, "greylisted");
	X(R, "550 Envelope blocked - User Entry - https://community.mimecast.com/docs/DOC-1369#550",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(G, "554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554",
	    CODES_PERMANENT, RELAY_POLICY, "policy_rejected");

	/* Proofpoint. */
	X(G, "554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.1.1 User Unknown", P_PERM, RECIPIENT_ADDRESS,
	    "user_unknown");
	X(R, "550 5.7.1 Relaying denied", P_PERM, RELAY_POLICY,
	    "relay_denied");
	X(D, "550 5.7.1 Message blocked due to spam content in the message",
	    P_PERM, CONTENT, "content_rejected");

	/* Other providers and appliances. */
	X(G, "554-mx1.mailhostbox.com ESMTP not accepting connections",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.7.1 Mail from 192.0.2.10 refused by blackhole site dnsbl.example.net",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 [SUSPEND] Mailbox currently suspended",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "552 sorry, mailbox someone@example.com is over quota temporarily (#5.1.1)",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "522 5.7.1 <a@b.example>: Recipient address rejected: exceeded storage allocation",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "550 5.4.6 <a@b.example>: Recipient address rejected: Hourly sending quota exceeded",
	    P_PERM, RATE_LIMIT, "rate_limited");
	X(R, "550 5.7.1 <a@b.example>: Helo command rejected: You aren't localhost.",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(M, "553 5.7.1 <x@example.com>: Sender address rejected: not owned by user x@example.com",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "554 5.7.1 <a@b.example>: Recipient address rejected: USER IS SUSPENDED",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "530 5.7.0 <a@b.example>: Recipient address rejected: Authentication Required.",
	    P_PERM, CLIENT_AUTH_TLS, "auth_required");
	X(R, "550 5.3.2 Service currently unavailable",
	    P_PERM, SERVER, "service_unavailable");
	X(R, "556 5.1.10 Recipient address has null MX",
	    P_PERM, RECIPIENT_ADDRESS, "null_mx");
	X(M, "550 5.7.27 Sender address has null MX",
	    P_PERM, SENDER_ADDRESS, "null_mx");
	X(S, "454 4.7.0 TLS not available due to local problem",
	    P_TMP, SERVER, "tls_unavailable");
	X(A, "538 5.7.11 Encryption required for requested authentication mechanism",
	    P_PERM, CLIENT_AUTH_TLS, "tls_required");
	X(U, "550 5.7.1 Rejected by DKIM policy: no valid signature",
	    P_PERM, SENDER_AUTHENTICATION, "dkim_fail");

	/* No text: the codes and the command decide. */
	X(R, "550", P_PERM, RECIPIENT_ADDRESS, "recipient_rejected");
	X(M, "550", P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(E, "550", P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(G, "554", P_PERM, CLIENT_IP_REPUTATION, "service_unavailable");
	X(U, "421", P_TMP, SERVER, "service_unavailable");
	X(R, "451", P_TMP, SERVER, "temporary_failure");
	X(R, "450", P_TMP, SERVER, "temporary_failure");
	X(R, "552", P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(M, "552", P_PERM, CONTENT, "message_too_big");
	X(M, "530", P_PERM, CLIENT_AUTH_TLS, "auth_required");
	X(A, "530", P_PERM, CLIENT_AUTH_TLS, "starttls_required");
	X(U, "500", P_PERM, PROTOCOL, "syntax_error");
	X(U, "502", P_PERM, PROTOCOL, "command_not_implemented");
	X(U, "503", P_PERM, PROTOCOL, "bad_sequence");
	X(R, "550 5.1.1", P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(M, "550 5.1.1", P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "550 5.2.1", P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "452 4.2.2", P_TMP, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "550 5.7.25", P_PERM, CLIENT_IDENTITY, "rdns_missing");
	X(R, "550 5.7.23", P_PERM, SENDER_AUTHENTICATION, "spf_fail");
	X(R, "550 5.7.1", P_PERM, RELAY_POLICY, "policy_rejected");
	X(R, "451 4.4.3", P_TMP, SERVER, "server_error");
	X(R, "451 4.3.0", P_TMP, SERVER, "server_error");
	X(R, "452 4.5.3", P_TMP, RATE_LIMIT, "too_many_recipients");
	X(R, "550 5.9.9 something new", P_PERM, RECIPIENT_ADDRESS,
	    "recipient_rejected");
	X(U, "599", P_PERM, NONE, "unknown");
	X(U, "459", P_TMP, RELAY_POLICY, "policy_rejected");
	X(R, "451 4.7.1 Please try again later", P_TMP, NONE, "greylisted");
	X(R, "450 4.7.1 Please try again later", P_TMP, NONE, "greylisted");
	X(U, "111 Connection refused", CODES_NOT_A_REPLY, SERVER,
	    "connection_failed");
	X(U, "999 what", CODES_NOT_A_REPLY, NONE, "unknown");
}

/* More replies as MTAs, providers and appliances document them. */
static void
test_classify_more(void)
{
	const int G = CODES_CMD_GREETING, E = CODES_CMD_EHLO,
	    A = CODES_CMD_AUTH, M = CODES_CMD_MAIL, R = CODES_CMD_RCPT,
	    D = CODES_CMD_DATA, U = -1;

	/* Apple iCloud. */
	X(R, "550 5.1.1 <a@icloud.com>: user does not exist",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.1.1 <a@icloud.com>: inactive email address",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "552 5.2.2 <a@icloud.com>: user is over quota",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "421 4.7.1 Messages to a@icloud.com deferred due to excessive volume. Try again later - https://support.apple.com/en-us/HT204137",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(D, "550 5.7.1 Your message was rejected due to example.com DMARC policy.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "550 5.7.1 Your email was rejected due to having a domain present in the Spamhaus DBL -- see https://www.spamhaus.org/dbl/",
	    P_PERM, SENDER_ADDRESS, "blocklisted_domain");
	X(D, "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
	    P_PERM, RELAY_POLICY, "policy_rejected");
	X(G, "421 4.7.0 me.com Error: too many errors",
	    P_TMP, PROTOCOL, "protocol_error");

	/* Barracuda. */
	X(R, "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(D, "550 permanent failure for one or more recipients (a@b.example:blocked)",
	    P_PERM, RELAY_POLICY, "policy_rejected");
	X(D, "554 5.7.1 Message blocked due to spam content in the message.",
	    P_PERM, CONTENT, "content_rejected");
	X(R, "550 5.7.1 <a@b.example>: Recipient address rejected: The user does not exist",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");

	/* Cisco Secure Email (IronPort). */
	X(R, "550 #5.1.0 Address rejected.", P_PERM, RECIPIENT_ADDRESS,
	    "recipient_rejected");
	X(G, "554 Access to this mail system was refused because of the poor reputation of the sending MTA.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(G, "421 Too many concurrent SMTP connections; please try again later.",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(R, "452 Too many recipients received this hour",
	    P_TMP, RATE_LIMIT, "too_many_recipients");
	X(D, "552 #5.3.4 message header size exceeds limit",
	    P_PERM, CONTENT, "message_too_big");

	/* Proofpoint. */
	X(R, "550 5.7.1 Sender Denied", P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(G, "554 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "421 4.7.0 192.0.2.1 Throttled - try again later. Please see https://www.proofpoint.com/us/products/email-protection/dynamic-reputation",
	    P_TMP, RATE_LIMIT, "rate_limited");

	/* Mimecast. */
	X(D, "550 Rejected by header based Anti-Spoofing policy: a@b.example - https://community.mimecast.com/docs/DOC-1369#550",
	    P_PERM, SENDER_AUTHENTICATION, "sender_rejected");
	X(R, "550 Administrative prohibition - envelope blocked - https://community.mimecast.com/docs/DOC-1369#550",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(G, "554 Mimecast IP reputation - https://community.mimecast.com/docs/DOC-1369#554",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 Attempted to relay through Mimecast - https://community.mimecast.com/docs/DOC-1369#550",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(D, "554 Message rejected due to spam (Mimecast Anti-Spam) - https://community.mimecast.com/docs/DOC-1369#554",
	    P_PERM, CONTENT, "content_rejected");

	/* Exchange Online / Outlook.com, more of the documented NDR codes. */
	X(R, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed as sender not authenticated",
	    P_PERM, SENDER_ADDRESS, "policy_rejected");
	X(R, "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized",
	    P_PERM, SENDER_ADDRESS, "policy_rejected");
	X(M, "550 5.7.1 Client does not have permissions to send as this sender",
	    P_PERM, SENDER_ADDRESS, "policy_rejected");
	X(R, "554 5.2.0 STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_full");
	X(D, "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients",
	    P_PERM, RATE_LIMIT, "rate_limited");
	X(D, "550 5.2.122 The recipient has exceeded their limit for the number of messages they can receive per hour",
	    P_PERM, RATE_LIMIT, "rate_limited");
	X(R, "550 5.4.310 DNS domain b.example does not exist",
	    P_PERM, RECIPIENT_ADDRESS, "recipient_rejected");
	X(U, "451 4.4.316 Connection refused [Message=Socket error code 10061]",
	    P_TMP, SERVER, "server_error");
	X(D, "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds",
	    P_PERM, PROTOCOL, "protocol_error");
	X(R, "550 5.7.705 Access denied, tenant has exceeded threshold",
	    P_PERM, RATE_LIMIT, "rate_limited");
	X(R, "550 5.7.520 Access denied, Your organization does not allow external forwarding.",
	    P_PERM, RELAY_POLICY, "policy_rejected");
	X(R, "550 5.7.515 Access denied, sending domain example.com doesn't meet the required authentication level.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(E, "550 5.7.506 Access Denied, Bad HELO",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "550 5.7.510 Access denied, the recipient does not accept email over IPv6",
	    P_PERM, CLIENT_IP_REPUTATION, "policy_rejected");
	X(G, "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(R, "550 SC-001 (BAY004-MC1F8) Unfortunately, messages from 192.0.2.1 weren't sent. Please contact your Internet service provider since part of their network is on our block list.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 DY-001 (COL0-MC5-F28) Unfortunately, messages from 192.0.2.1 weren't sent. Please contact your Internet service provider. You can tell them that Hotmail does not relay dynamically-assigned IP ranges.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 OU-002 (COL004-MC1F41) Unfortunately, messages from 192.0.2.1 weren't sent. Please contact your Internet service provider since part of their network is on our block list.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "554 5.4.14 Hop count exceeded - possible mail loop ATTR34",
	    P_PERM, SERVER, "server_error");

	/* Gmail, 2024 sender requirements and others. */
	X(D, "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. Gmail requires all bulk email senders to authenticate with SPF.",
	    P_TMP, SENDER_AUTHENTICATION, "spf_fail");
	X(D, "550-5.7.27 This mail has been blocked because the sender is unauthenticated. Gmail requires all bulk senders to authenticate with SPF.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "421-4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message. Gmail requires all bulk email senders to authenticate with DKIM.",
	    P_TMP, SENDER_AUTHENTICATION, "dkim_fail");
	X(D, "550-5.7.32 The From: header isn't aligned with either the authenticated SPF or DKIM organizational domain.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "550 5.7.32", P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "421 4.7.40", P_TMP, SENDER_AUTHENTICATION, "dmarc_fail");
	X(D, "421-4.7.29 Your email has been rate limited because this message wasn't sent over a TLS connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections.",
	    P_TMP, CLIENT_AUTH_TLS, "starttls_required");
	X(R, "550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to send email directly to our servers. Please use the SMTP relay at your service provider instead.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(D, "550-5.7.1 [192.0.2.1] Gmail has detected that this message is likely suspicious due to the very low reputation of the sending domain.",
	    P_PERM, SENDER_ADDRESS, "blocklisted_domain");
	X(D, "421-4.7.0 [192.0.2.1] Our system has detected that this message is suspicious due to the very low reputation of the sending IP address.",
	    P_TMP, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(D, "550-5.7.1 [192.0.2.1] Messages missing a valid address in From: header, or having no From: header, are not accepted.",
	    P_PERM, CONTENT, "content_rejected");
	X(D, "550-5.7.1 [192.0.2.1] Our system has detected that this message is not RFC 5322 compliant.",
	    P_PERM, CONTENT, "content_rejected");
	X(D, "552-5.7.0 This message was blocked because its content presents a potential security issue.",
	    P_PERM, CONTENT, "content_rejected");
	X(D, "552-5.2.3 Your message exceeded Google's message size limits.",
	    P_PERM, CONTENT, "message_too_big");
	X(A, "454-4.7.0 Too many login attempts, please try again later.",
	    P_TMP, CLIENT_AUTH_TLS, "rate_limited");
	X(R, "421-4.3.0 Temporary System Problem. Try again later.",
	    P_TMP, SERVER, "temporary_failure");
	X(M, "550 5.4.5 Daily user sending quota exceeded.",
	    P_PERM, RATE_LIMIT, "rate_limited");
	X(G, "421-4.4.5 Server busy, try again later.",
	    P_TMP, SERVER, "service_unavailable");
	X(D, "451-4.3.0 Mail server temporarily rejected message.",
	    P_TMP, SERVER, "server_error");

	/* Yahoo / AOL. */
	X(R, "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints - 4.16.55.1",
	    P_TMP, CLIENT_IP_REPUTATION, "rate_limited");
	X(D, "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.",
	    P_PERM, SENDER_AUTHENTICATION, "dmarc_fail");
	X(M, "451 Message temporarily deferred due to unresolvable RFC.5321 from domain; see https://postmaster.yahooinc.com/error-codes",
	    P_TMP, SENDER_ADDRESS, "sender_rejected");
	X(R, "554 delivery error: dd This account has been disabled or discontinued [#102]. - mta1.mail.ne1.yahoo.com",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "552 1 Requested mail action aborted, mailbox not found",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(G, "421 Max message per connection exceeded, closing transmission channel",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(G, "421 4.7.1 : (DYN:T1) https://postmaster.aol.com/error-codes#421dynt1",
	    P_TMP, CLIENT_IP_REPUTATION, "blocklisted_ip");

	/* Postfix, more of its stock texts. */
	X(R, "554 5.7.1 <a@b.example>: Recipient address rejected: Access denied",
	    P_PERM, RECIPIENT_ADDRESS, "recipient_rejected");
	X(R, "450 4.1.2 <a@nx.example>: Recipient address rejected: Domain not found",
	    P_TMP, RECIPIENT_ADDRESS, "recipient_rejected");
	X(R, "554 5.7.1 <probe.example>: Helo command rejected: Host not found",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]",
	    P_TMP, CLIENT_IDENTITY, "rdns_missing");
	X(R, "554 5.7.1 <x@y.example>: Sender address rejected: Access denied",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(M, "452 4.3.1 Insufficient system storage", P_TMP, SERVER,
	    "insufficient_storage");
	X(G, "421 4.7.0 mx.example.net Error: too many errors",
	    P_TMP, PROTOCOL, "protocol_error");
	X(R, "550 5.5.0 <a@b.example>: Recipient address rejected: User unknown in relay recipient table",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(G, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using dnsbl-1.uceprotect.net; IP 192.0.2.1 is UCEPROTECT-Level 1 listed.",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "554 5.7.1 Service unavailable; Sender address [x@bad.example] blocked using dbl.spamhaus.org",
	    P_PERM, SENDER_ADDRESS, "blocklisted_domain");

	/* Exim. */
	X(R, "550 Verification failed for <x@y.example>\n550 Unrouteable address\n550 Sender verify failed",
	    P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "451 Could not complete sender verify", P_TMP, SENDER_ADDRESS,
	    "sender_rejected");
	X(G, "550 HELO/EHLO impersonating mx.b.example",
	    P_PERM, CLIENT_IDENTITY, "helo_rejected");
	X(R, "550 Your IP is blacklisted at SORBS, see http://www.sorbs.net/lookup.shtml?192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "451 4.7.1 Please try again later (greylisting)",
	    P_TMP, NONE, "greylisted");
	X(D, "550 This message scored 12.3 spam points.",
	    P_PERM, CONTENT, "content_rejected");
	X(R, "550-5.7.1 192.0.2.1 is listed by Cloudmark CSI; see https://csi.cloudmark.com/reset-request/?ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");

	/* Sendmail. */
	X(R, "550 5.7.1 <a@b.example>... we do not relay <x@y.example>",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "553 5.3.0 <a@b.example>... Addressee unknown, relay=[192.0.2.1]",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(G, "554 5.7.1 Rejected 192.0.2.1 found in cbl.abuseat.org",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "450 4.4.0 <a@b.example>... Host unknown (Name server: b.example: host not found)",
	    P_TMP, SERVER, "server_error");
	X(R, "553 5.7.1 sorry, b.example is not in my list of allowed rcpthosts",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "550 5.7.1 Mail from 192.0.2.1 refused - see http://www.spamhaus.org/query/bl?ip=192.0.2.1",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");

	/* qmail and others from bounce lore. */
	X(R, "553 sorry, relaying denied from your location [192.0.2.1] (#5.7.1)",
	    P_PERM, RELAY_POLICY, "relay_denied");
	X(R, "550 mailbox temporarily disabled",
	    P_PERM, RECIPIENT_MAILBOX, "mailbox_disabled");
	X(R, "550 Mailbox is inactive", P_PERM, RECIPIENT_MAILBOX,
	    "mailbox_disabled");
	X(G, "554 IMTA11.emeryville.ca.mail.comcast.net 192.0.2.1 was found on one or more DNSBLs, see http://help.comcast.net/content/faq/BL000010",
	    P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.1.1 <a@b.example>: Email address could not be found, or was misspelled (G8)",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "550 5.1.1 This mailbox has been deleted",
	    P_PERM, RECIPIENT_ADDRESS, "user_unknown");
	X(R, "452 4.2.2 Mailbox full", P_TMP, RECIPIENT_MAILBOX, "mailbox_full");
	X(R, "421 4.7.0 Connection refused - too many connections from your IP",
	    P_TMP, RATE_LIMIT, "rate_limited");
	X(D, "554 5.7.1 The message was rejected because it contains prohibited virus or spam content",
	    P_PERM, CONTENT, "content_rejected");
	X(D, "552 5.7.0 Our system detected an illegal attachment on your message.",
	    P_PERM, CONTENT, "content_rejected");

	/* Codes alone: the subject speaks when the detail is unknown. */
	X(R, "550 5.7.99", P_PERM, RELAY_POLICY, "policy_rejected");
	X(R, "550 5.2.99", P_PERM, RECIPIENT_MAILBOX, "recipient_rejected");
	X(R, "550 5.6.99", P_PERM, CONTENT, "content_rejected");
	X(R, "451 4.3.99", P_TMP, SERVER, "server_error");
	X(R, "421 4.7.650", P_TMP, CLIENT_IP_REPUTATION, "rate_limited");
	X(R, "550 5.7.640", P_PERM, CLIENT_IP_REPUTATION, "blocklisted_ip");
	X(R, "550 5.7.9", P_PERM, CLIENT_AUTH_TLS, "auth_failed");
	X(R, "550 5.1.3", P_PERM, RECIPIENT_ADDRESS, "syntax_error");
	X(M, "553 5.1.7", P_PERM, SENDER_ADDRESS, "sender_rejected");
	X(R, "553 5.6.7", P_PERM, RECIPIENT_ADDRESS, "non_ascii_address");
	X(G, "421", P_TMP, SERVER, "service_unavailable");
	X(G, "521", P_PERM, SERVER, "service_unavailable");
	X(R, "556", P_PERM, RECIPIENT_ADDRESS, "null_mx");
	X(R, "422", P_TMP, RECIPIENT_MAILBOX, "mailbox_full");
	X(U, "420", P_TMP, SERVER, "temporary_failure");
	X(U, "101", CODES_NOT_A_REPLY, SERVER, "connection_failed");
	X(U, "571 Delivery not authorized", P_PERM, RELAY_POLICY,
	    "policy_rejected");
	X(U, "535 5.7.8", P_PERM, CLIENT_AUTH_TLS, "auth_failed");
}

static void
test_classify_edges(void)
{
	struct codes_diagnosis	 d;

	codes_classify(CODES_CMD_RCPT, 550, 5, 1, 1, NULL, &d);
	CHECK_INT(d.category, CODES_CAT_USER_UNKNOWN);
	CHECK_STR(d.rule, "");
	codes_classify(99, 550, 0, 0, 0, "", &d);
	CHECK_INT(d.category, CODES_CAT_RECIPIENT_REJECTED);
	codes_classify(CODES_CMD_RCPT, 550, 5, 1, 1, "User unknown", &d);
	CHECK_STR(d.rule, "user-unknown");
	/* A 2yz reply is accepted whatever its text says. */
	codes_classify(CODES_CMD_RCPT, 250, 2, 1, 5, "user unknown", &d);
	CHECK_INT(d.category, CODES_CAT_ACCEPTED);
	CHECK_INT(d.blame, CODES_BLAME_NONE);
	/* The basic code decides permanence, even against the enhanced
	 * class (RFC 2034 §4 says they must agree; the checker flags it). */
	codes_classify(CODES_CMD_RCPT, 550, 4, 7, 1, "try again later", &d);
	CHECK_INT(d.permanence, CODES_PERMANENT);
	/* A RCPT refusal naming the client is not about the recipient. */
	codes_classify(CODES_CMD_RCPT, 550, 5, 1, 1,
	    "Recipient address rejected: Client host [192.0.2.1] blocked using "
	    "zen.spamhaus.org", &d);
	CHECK(d.blame != CODES_BLAME_RECIPIENT_ADDRESS);
	CHECK_INT(d.category, CODES_CAT_BLOCKLISTED_IP);
	codes_classify(-1, 550, 5, 7, 1, "you aren't localhost", &d);
	CHECK_INT(d.blame, CODES_BLAME_CLIENT_IDENTITY);
	codes_classify(CODES_CMD_RCPT, 550, 0, 0, 0, "PTRS are fine", &d);
	CHECK(d.category != CODES_CAT_RDNS_MISSING);

	/* Additions beyond RFC 5321: connection-time blocklist refusals. */
	CHECK_INT(codes_check(CODES_CMD_GREETING, 553, NULL), CODES_COMMON);
	/* Vendor codes kept exactly, and families kept as ranges. */
	{
		const struct codes_enhanced *e;

		e = codes_enhanced_lookup(7, 32);
		CHECK(e != NULL && e->vendor_note != NULL &&
		    strstr(e->vendor_note, "Gmail") != NULL);
		e = codes_enhanced_lookup(4, 312);
		CHECK(e != NULL && strstr(e->title, "Microsoft") != NULL);
		e = codes_enhanced_lookup(4, 310);
		CHECK(e != NULL && e->detail == 310);
		e = codes_enhanced_lookup(7, 27);
		CHECK(e != NULL && e->vendor_note != NULL &&
		    strstr(e->vendor_note, "SPF") != NULL);
		CHECK(codes_enhanced_lookup(7, 99) == NULL);
	}
	/* The category list holds the domain blocklist case. */
	{
		size_t i;
		int found = 0;

		for (i = 0; i < codes_category_count(); i++)
			found |= strcmp(codes_category_at(i, NULL),
			    "blocklisted_domain") == 0;
		CHECK(found);
	}
	/* The enum follows the table: each name at its own number. */
	CHECK_INT(codes_category_count(), CODES_CAT_COUNT);
	CHECK_STR(codes_category_name(CODES_CAT_BLOCKLISTED_DOMAIN),
	    "blocklisted_domain");
	CHECK_STR(codes_category_at(CODES_CAT_NULL_MX, NULL), "null_mx");
	CHECK_STR(codes_category_name(CODES_CAT_COUNT), "unknown");
}

int
main(void)
{
	test_basic_table();
	test_enhanced_table();
	test_enhanced_parse();
	test_commands();
	test_names();
	test_classify_real();
	test_classify_more();
	test_classify_edges();
	return check_report("test_codes");
}
