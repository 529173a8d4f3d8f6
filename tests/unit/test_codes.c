/*
 * test_codes.c — unit tests of codes/: table integrity, the command table,
 * enhanced-code parsing, lookups, and the classification of real replies.
 * The replies and their expected diagnosis are data, not code: the corpus
 * tests/data/classification.tsv, read at run time (its path is compiled
 * in by tests/CMakeLists.txt; a first argument overrides it).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codes.h"

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
 * The classification corpus, tests/data/classification.tsv (its header
 * and docs/TESTING.md describe the format): real replies with the
 * diagnosis codes_classify() must give.  Each case is classified as the
 * session's reply reader would hand it over; a line that does not follow
 * the format fails with its line number instead of being skipped.
 */
#ifndef SMTPPROBE_CLASSIFICATION_CORPUS
#error "SMTPPROBE_CLASSIFICATION_CORPUS (the corpus path) is set by CMake"
#endif

#define CORPUS_FIELDS_MAX	8	/* six columns and the options */

enum corpus_column { COL_COMMAND, COL_PERMANENCE, COL_BLAME, COL_CATEGORY };

struct corpus_case {
	int			 cmd;		/* -1: not known */
	enum codes_permanence	 perm;
	enum codes_blame	 blame;
	const char		*category;
	int			 cls, subj, det; /* ENHANCED; cls 0 for "-" */
	const char		*reply;		/* unescaped, lines split by '\n' */
};

/* The value that name s stands for in column col; -1 when unknown. */
static int
corpus_word(enum corpus_column col, const char *s)
{
	const char	*n;
	int		 i;

	if (col == COL_COMMAND && strcmp(s, "-") == 0)
		return -1;
	for (i = 0;; i++) {
		switch (col) {
		case COL_COMMAND:
			n = i < CODES_CMD_COUNT ?
			    codes_cmd_name((enum codes_cmd)i) :
			    NULL;
			break;
		case COL_PERMANENCE:
			n = i <= CODES_NOT_A_REPLY ?
			    codes_permanence_name((enum codes_permanence)i) :
			    NULL;
			break;
		case COL_BLAME:
			n = i < CODES_BLAME_COUNT ?
			    codes_blame_name((enum codes_blame)i) :
			    NULL;
			break;
		default:
			n = codes_category_at((size_t)i, NULL);
			break;
		}
		if (n == NULL)
			return col == COL_COMMAND ? -2 : -1;
		if (strcmp(n, s) == 0)
			return i;
	}
}

/* True when s is exactly one enhanced status code ("5.1.1"). */
static int
corpus_enhanced(const char *s, int *cls, int *subj, int *det)
{
	size_t	 len = strlen(s);

	return len > 0 && codes_enhanced_parse(s, len, cls, subj, det) == len;
}

/* Decode \n, \t and \\ in place; NULL, or why s is malformed. */
static const char *
corpus_unescape(char *s)
{
	char	*w = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		s++;
		if (*s == 'n')
			*w++ = '\n';
		else if (*s == 't')
			*w++ = '\t';
		else if (*s == '\\')
			*w++ = '\\';
		else
			return "unknown escape in REPLY (only \\n, \\t, \\\\)";
	}
	*w = '\0';
	return NULL;
}

/* Every line of the reply starts with the same three-digit code,
 * followed by the end, a space or '-' (RFC 5321 §4.2). */
static const char *
corpus_reply_lines(const char *r)
{
	const char	*p, *nl;

	for (p = r;; p = nl + 1) {
		if (strspn(p, "0123456789") < 3 ||
		    (p[3] != '\0' && p[3] != ' ' && p[3] != '-' &&
		    p[3] != '\n'))
			return "a line of REPLY does not start with a code";
		if (strncmp(p, r, 3) != 0)
			return "the lines of REPLY carry different codes";
		if ((nl = strchr(p, '\n')) == NULL)
			return NULL;
	}
}

/* The options after REPLY: for `smtpprobe explain` only, checked here
 * for their form. */
static const char *
corpus_option(const char *o)
{
	int	 c, s, d;

	if (strcmp(o, "explain=none") == 0)
		return NULL;
	if (strncmp(o, "explain_enhanced=", 17) == 0 &&
	    corpus_enhanced(o + 17, &c, &s, &d))
		return NULL;
	return "unknown OPTION";
}

/* Split and check one data line (modified in place); NULL, or why it is
 * malformed. */
static const char *
corpus_parse(char *line, struct corpus_case *c)
{
	char		*f[CORPUS_FIELDS_MAX], *p;
	const char	*why;
	size_t		 nf = 0, i;
	int		 v;

	for (p = line; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "raw control byte (write \\n or \\t in REPLY)";
	for (p = line; nf < CORPUS_FIELDS_MAX; p++) {
		f[nf++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p = '\0';
	}
	if (p != NULL || nf < 6)
		return "not six to eight TAB-separated fields";
	for (i = 0; i < nf; i++)
		if (f[i][0] == '\0')
			return "empty field";
	if ((c->cmd = corpus_word(COL_COMMAND, f[0])) < -1)
		return "unknown COMMAND";
	if ((v = corpus_word(COL_PERMANENCE, f[1])) < 0)
		return "unknown PERMANENCE";
	c->perm = (enum codes_permanence)v;
	if ((v = corpus_word(COL_BLAME, f[2])) < 0)
		return "unknown BLAME";
	c->blame = (enum codes_blame)v;
	if (corpus_word(COL_CATEGORY, f[3]) < 0)
		return "unknown CATEGORY";
	c->category = f[3];
	c->cls = c->subj = c->det = 0;
	if (strcmp(f[4], "-") != 0 &&
	    !corpus_enhanced(f[4], &c->cls, &c->subj, &c->det))
		return "ENHANCED is neither \"-\" nor an enhanced status code";
	if ((why = corpus_unescape(f[5])) != NULL ||
	    (why = corpus_reply_lines(f[5])) != NULL)
		return why;
	c->reply = f[5];
	for (i = 6; i < nf; i++)
		if ((why = corpus_option(f[i])) != NULL)
			return why;
	return NULL;
}

/*
 * Split a reply as the session's reader does: the code and the enhanced
 * code from the first line, the text of every line without its codes,
 * joined by '\n'.  Returns the reply code.
 */
static int
corpus_split(const char *reply, int *cls, int *subj, int *det, char *text,
    size_t textsz)
{
	const char	*p = reply;
	size_t		 tl = 0, n;
	int		 first = 1;

	*cls = *subj = *det = 0;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
		const char *t = p + 4 < p + linelen ? p + 4 : p + linelen;
		int c2, s2, d2;

		n = codes_enhanced_parse(t, linelen - (size_t)(t - p), &c2, &s2,
		    &d2);
		if (n > 0) {
			if (first) {
				*cls = c2;
				*subj = s2;
				*det = d2;
			}
			t += n;
			while (*t == ' ')
				t++;
		}
		first = 0;
		if (tl > 0 && tl < textsz - 1)
			text[tl++] = '\n';
		n = linelen - (size_t)(t - p);
		if (tl + n >= textsz)
			n = textsz - 1 - tl;
		memcpy(text + tl, t, n);
		tl += n;
		p = eol ? eol + 1 : p + linelen;
	}
	text[tl] = '\0';
	return atoi(reply);
}

/* Classify one case and compare with what the corpus states. */
static void
corpus_check(const char *path, int line, const struct corpus_case *c)
{
	struct codes_diagnosis	 d;
	char			 text[2048];
	int			 code, cls, subj, det;

	code = corpus_split(c->reply, &cls, &subj, &det, text, sizeof(text));
	check_count++;
	if (cls != c->cls || subj != c->subj || det != c->det) {
		check_failures++;
		fprintf(stderr, "%s:%d: \"%s\": enhanced code %d.%d.%d, "
		    "ENHANCED says %d.%d.%d (0.0.0: none)\n", path, line,
		    c->reply, cls, subj, det, c->cls, c->subj, c->det);
	}
	memset(&d, 0, sizeof(d));
	codes_classify(c->cmd, code, cls, subj, det, text, &d);
	check_count++;
	if (d.permanence != c->perm || d.blame != c->blame ||
	    strcmp(codes_category_name(d.category), c->category) != 0) {
		check_failures++;
		fprintf(stderr, "%s:%d: classify \"%s\"\n  got %s/%s/%s (rule %s)"
		    ", want %s/%s/%s\n", path, line, c->reply,
		    codes_permanence_name(d.permanence),
		    codes_blame_name(d.blame), codes_category_name(d.category),
		    d.rule, codes_permanence_name(c->perm),
		    codes_blame_name(c->blame), c->category);
	}
	CHECK(d.meaning != NULL && d.meaning[0] != '\0');
	CHECK(d.cause != NULL);
	CHECK(d.advice != NULL && d.advice[0] != '\0');
	CHECK(d.rule != NULL);
}

static void
test_classify_corpus(const char *path)
{
	struct corpus_case	 c;
	FILE			*f;
	char			*buf = NULL;
	const char		*why;
	size_t			 cap = 0;
	ssize_t			 len;
	int			 line = 0, cases = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: cannot open the corpus\n", path);
		CHECK(f != NULL);
		return;
	}
	while ((len = getline(&buf, &cap, f)) != -1) {
		line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		if ((size_t)len != strlen(buf))
			why = "NUL byte";
		else
			why = corpus_parse(buf, &c);
		if (why != NULL) {
			check_count++;
			check_failures++;
			fprintf(stderr, "%s:%d: malformed line: %s\n", path,
			    line, why);
			continue;
		}
		corpus_check(path, line, &c);
		cases++;
	}
	CHECK(!ferror(f));
	fclose(f);
	free(buf);
	printf("%s: %d cases\n", path, cases);
	CHECK(cases > 0);
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

/* The address a moved mailbox's or a 251's text points to. */
static void
test_text_address(void)
{
	char buf[64];

	CHECK(codes_text_address("User not local; please try "
	    "<new@example.net>", NULL, buf, sizeof(buf)));
	CHECK_STR(buf, "new@example.net");
	/* The recipient itself is skipped, the last other one wins. */
	CHECK(codes_text_address("<old@example.org>: Recipient address "
	    "rejected: User has moved to new@example.net.", "old@example.org",
	    buf, sizeof(buf)));
	CHECK_STR(buf, "new@example.net");
	CHECK(codes_text_address("will forward to \"a@b.example\"", NULL,
	    buf, sizeof(buf)));
	CHECK_STR(buf, "a@b.example");
	CHECK(!codes_text_address("User unknown", NULL, buf, sizeof(buf)));
	CHECK(!codes_text_address("<x@y.example>: gone", "X@Y.example", buf,
	    sizeof(buf)));
	CHECK(!codes_text_address("mail to @ or a@ is odd", NULL, buf,
	    sizeof(buf)));
	/* Cut to the buffer, always terminated. */
	CHECK(codes_text_address("try averylongname@example.net", NULL, buf,
	    8));
	CHECK_STR(buf, "averylo");
}

int
main(int argc, char **argv)
{
	test_basic_table();
	test_enhanced_table();
	test_enhanced_parse();
	test_commands();
	test_names();
	test_classify_corpus(
	    argc > 1 ? argv[1] : SMTPPROBE_CLASSIFICATION_CORPUS);
	test_classify_edges();
	test_text_address();
	return check_report("test_codes");
}
