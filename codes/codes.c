/*
 * codes.c — lookups over the reply-code tables and the classifier.
 *
 * The tables themselves are data (the .tsv files in codes/), compiled by gen_codes.py
 * into codes_data.c in the build tree and included below.  This file owns
 * only the logic: the command table check, the basic and enhanced lookups
 * with their fallbacks, the text-pattern matcher and codes_classify().
 * Pure functions over static const data: no I/O, no allocation, no state.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "codes.h"

/* A '*' row of the command table applies to every command (421/500/501,
 * RFC 5321 §4.3.2). */
#define CODES_CMD_ANY	(-1)
#define CODES_CMDBIT(c)	(1u << (c))
#define CODES_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct codes_cmd_rule {
	int			 cmd;
	int			 code;
	enum codes_legality	 legality;
	const char		*ref;
};

/* Default words for a category, used when no pattern gave better ones. */
struct codes_category_row {
	const char		*name;
	enum codes_blame	 blame;
	const char		*meaning;
	const char		*cause;
	const char		*advice;
};

/* A basic code with the category it implies when nothing else is known
 * (category -1: none, decide from the class). */
struct codes_basic_row {
	struct codes_basic	 b;
	int			 category;
	enum codes_blame	 blame;
};

/* An enhanced code (or, in the range table, a vendor family lo..hi). */
struct codes_enhanced_row {
	struct codes_enhanced	 e;
	int			 hi;
	int			 category;	/* enum codes_category; -1: none */
	enum codes_blame	 blame;
};

struct codes_pattern {
	const char		*id;
	int			 strong;	/* strong: beats the enhanced code */
	unsigned		 cmds;		/* CODES_CMDBIT mask; 0: any */
	const char		*classes;	/* "45" etc.; "": any */
	struct {
		int	subject;
		int	detail;
	}			 enh[4];	/* required enhanced code, any of */
	int			 nenh;
	int			 category;
	enum codes_blame	 blame;
	const char		*match;
	const char		*meaning;
	const char		*cause;
	const char		*advice;
};

#include "codes_data.c"

static const char *const codes_cmd_names[CODES_CMD_COUNT] = {
	"GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT",
	"DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT"
};

static const char *const codes_blame_names[CODES_BLAME_COUNT] = {
	"none", "recipient_address", "recipient_mailbox", "sender_address",
	"sender_authentication", "client_ip_reputation", "client_identity",
	"client_auth_tls", "relay_policy", "content", "rate_limit", "server",
	"protocol", "proxy"
};

/* RFC 3463 §3.1-3.9 subject names. */
static const char *const codes_subject_names[] = {
	"Other or undefined status", "Addressing", "Mailbox", "Mail system",
	"Network and routing", "Mail delivery protocol",
	"Message content or media", "Security or policy"
};

const char *
codes_cmd_name(enum codes_cmd cmd)
{
	if ((int)cmd < 0 || cmd >= CODES_CMD_COUNT)
		return NULL;
	return codes_cmd_names[cmd];
}

int
codes_cmd_parse(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	/* Synonyms as they appear in transcripts and bounce messages. */
	if (strcasecmp(name, "MAIL FROM") == 0 ||
	    strcasecmp(name, "MAIL FROM:") == 0)
		return CODES_CMD_MAIL;
	if (strcasecmp(name, "RCPT TO") == 0 ||
	    strcasecmp(name, "RCPT TO:") == 0)
		return CODES_CMD_RCPT;
	if (strcasecmp(name, "CONNECT") == 0 ||
	    strcasecmp(name, "CONNECTION") == 0 ||
	    strcasecmp(name, "BANNER") == 0)
		return CODES_CMD_GREETING;
	for (i = 0; i < CODES_CMD_COUNT; i++)
		if (strcasecmp(name, codes_cmd_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
codes_legality_name(enum codes_legality l)
{
	switch (l) {
	case CODES_LEGAL:
		return "legal";
	case CODES_LEGAL_EXTENSION:
		return "legal_extension";
	case CODES_COMMON:
		return "common";
	case CODES_ILLEGAL:
		return "illegal";
	}
	return "illegal";
}

enum codes_legality
codes_check(enum codes_cmd cmd, int code, const char **ref)
{
	size_t	 i;

	if (ref != NULL)
		*ref = NULL;
	if ((int)cmd < 0 || cmd >= CODES_CMD_COUNT)
		return CODES_ILLEGAL;
	for (i = 0; i < CODES_NELEM(codes_cmd_rules); i++) {
		const struct codes_cmd_rule *r = &codes_cmd_rules[i];

		if (r->code != code)
			continue;
		if (r->cmd != CODES_CMD_ANY && r->cmd != (int)cmd)
			continue;
		if (ref != NULL)
			*ref = r->ref;
		return r->legality;
	}
	return CODES_ILLEGAL;
}

size_t
codes_cmd_rule_count(void)
{
	return CODES_NELEM(codes_cmd_rules);
}

bool
codes_cmd_rule_at(size_t i, int *cmd, int *code, enum codes_legality *l,
    const char **ref)
{
	if (i >= CODES_NELEM(codes_cmd_rules))
		return false;
	if (cmd != NULL)
		*cmd = codes_cmd_rules[i].cmd;
	if (code != NULL)
		*code = codes_cmd_rules[i].code;
	if (l != NULL)
		*l = codes_cmd_rules[i].legality;
	if (ref != NULL)
		*ref = codes_cmd_rules[i].ref;
	return true;
}

const char *
codes_permanence_name(enum codes_permanence p)
{
	switch (p) {
	case CODES_SUCCESS:
		return "success";
	case CODES_INTERMEDIATE:
		return "intermediate";
	case CODES_TRANSIENT:
		return "transient";
	case CODES_PERMANENT:
		return "permanent";
	case CODES_NOT_A_REPLY:
		return "not_a_reply";
	}
	return "not_a_reply";
}

/* Permanence from the first digit (RFC 5321 §4.2.1); anything outside
 * 200-599 is not a server reply (§4.2: such codes MUST NOT be sent). */
static enum codes_permanence
codes_permanence_of(int code)
{
	if (code < 200 || code > 599)
		return CODES_NOT_A_REPLY;
	switch (code / 100) {
	case 2:
		return CODES_SUCCESS;
	case 3:
		return CODES_INTERMEDIATE;
	case 4:
		return CODES_TRANSIENT;
	default:
		return CODES_PERMANENT;
	}
}

static const struct codes_basic_row *
codes_basic_row(int code)
{
	size_t	 lo = 0, hi = CODES_NELEM(codes_basic_table);

	/* The generator sorts the table by code. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (codes_basic_table[mid].b.code == code)
			return &codes_basic_table[mid];
		if (codes_basic_table[mid].b.code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct codes_basic *
codes_basic_lookup(int code)
{
	const struct codes_basic_row *r = codes_basic_row(code);

	return r != NULL ? &r->b : NULL;
}

const char *
codes_basic_generic(int code)
{
	/* RFC 5321 §4.2.1: first digit = outcome, second = subject
	 * (x0z syntax, x1z information, x2z connections, x5z mail system;
	 * x3z and x4z unspecified). */
	static const char *const generic[4][6] = {
		{ "success: syntax-level reply",
		  "success: informational reply",
		  "success concerning the transmission channel",
		  "success (unspecified subject)",
		  "success (unspecified subject)",
		  "success concerning the mail system" },
		{ "intermediate: more input needed (syntax)",
		  "intermediate: informational reply",
		  "intermediate reply concerning the transmission channel",
		  "intermediate reply (unspecified subject)",
		  "intermediate reply (unspecified subject)",
		  "intermediate: the mail system awaits more input" },
		{ "transient failure: syntax or command problem",
		  "transient failure: informational reply",
		  "transient failure concerning the transmission channel",
		  "transient failure (unspecified subject)",
		  "transient failure (unspecified subject)",
		  "transient failure concerning the mail system" },
		{ "permanent failure: syntax error or command not accepted",
		  "permanent failure: informational reply",
		  "permanent failure concerning the transmission channel",
		  "permanent failure (unspecified subject)",
		  "permanent failure (unspecified subject)",
		  "permanent failure concerning the mail system" },
	};
	int	 first, second;

	if (code == 101 || code == 111)
		return "not a server reply: the client could not open the connection";
	if (code < 200 || code > 599)
		return "not a valid SMTP reply code (RFC 5321 allows 2yz-5yz only)";
	first = code / 100;
	second = (code / 10) % 10;
	if (second > 5)
		return first == 5 ? "permanent failure (unspecified subject)" :
		    first == 4 ? "transient failure (unspecified subject)" :
		    first == 3 ? "intermediate reply (unspecified subject)" :
		    "success (unspecified subject)";
	return generic[first - 2][second];
}

size_t
codes_basic_count(void)
{
	return CODES_NELEM(codes_basic_table);
}

const struct codes_basic *
codes_basic_at(size_t i)
{
	if (i >= CODES_NELEM(codes_basic_table))
		return NULL;
	return &codes_basic_table[i].b;
}

size_t
codes_enhanced_parse(const char *s, size_t len, int *cls, int *subject,
    int *detail)
{
	int	 v[3];
	size_t	 i = 0, k, start;

	if (s == NULL)
		return 0;
	/* class "." subject "." detail, RFC 3463 §2 / RFC 2034 §4. */
	for (k = 0; k < 3; k++) {
		start = i;
		v[k] = 0;
		while (i < len && i - start < 4 && isdigit((unsigned char)s[i]))
			v[k] = v[k] * 10 + (s[i++] - '0');
		if (i == start || i - start > 3)
			return 0;
		if (k == 0 && (i - start != 1 ||
		    (v[0] != 2 && v[0] != 4 && v[0] != 5)))
			return 0;
		if (k < 2) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	/* Followed by the end or a separator; "5.1.1." or "5.1.1x" is not
	 * a status code. CR and LF are tolerated as line ends. */
	if (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
	    s[i] != '\n')
		return 0;
	if (cls != NULL)
		*cls = v[0];
	if (subject != NULL)
		*subject = v[1];
	if (detail != NULL)
		*detail = v[2];
	return i;
}

static const struct codes_enhanced_row *
codes_enhanced_row(int subject, int detail)
{
	const struct codes_enhanced_row	*best;
	size_t				 lo = 0, hi = CODES_ENHANCED_EXACT, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct codes_enhanced *e = &codes_enhanced_table[mid].e;

		if (e->subject == subject && e->detail == detail)
			return &codes_enhanced_table[mid];
		if (e->subject < subject ||
		    (e->subject == subject && e->detail < detail))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Vendor families beyond the registry (e.g. Microsoft 5.7.606-649);
	 * ranges may nest, and the narrowest one containing detail wins. */
	best = NULL;
	for (i = 0; i < CODES_ENHANCED_RANGES; i++) {
		const struct codes_enhanced_row *r = &codes_enhanced_ranges[i];

		if (r->e.subject != subject || detail < r->e.detail ||
		    detail > r->hi)
			continue;
		if (best == NULL || r->hi - r->e.detail < best->hi - best->e.detail)
			best = r;
	}
	return best;
}

const struct codes_enhanced *
codes_enhanced_lookup(int subject, int detail)
{
	const struct codes_enhanced_row *r = codes_enhanced_row(subject, detail);

	return r != NULL ? &r->e : NULL;
}

const char *
codes_enhanced_class_name(int cls)
{
	switch (cls) {
	case 2:
		return "Success";
	case 4:
		return "Persistent transient failure";
	case 5:
		return "Permanent failure";
	}
	return "unknown";
}

const char *
codes_enhanced_subject_name(int subject)
{
	if (subject < 0 || (size_t)subject >= CODES_NELEM(codes_subject_names))
		return "unknown";
	return codes_subject_names[subject];
}

size_t
codes_enhanced_count(void)
{
	return CODES_ENHANCED_EXACT;
}

const struct codes_enhanced *
codes_enhanced_at(size_t i)
{
	if (i >= CODES_ENHANCED_EXACT)
		return NULL;
	return &codes_enhanced_table[i].e;
}

size_t
codes_enhanced_range_count(void)
{
	return CODES_ENHANCED_RANGES;
}

const struct codes_enhanced *
codes_enhanced_range_at(size_t i, int *detail_hi)
{
	if (i >= CODES_ENHANCED_RANGES)
		return NULL;
	if (detail_hi != NULL)
		*detail_hi = codes_enhanced_ranges[i].hi;
	return &codes_enhanced_ranges[i].e;
}

const char *
codes_blame_name(enum codes_blame b)
{
	if ((int)b < 0 || b >= CODES_BLAME_COUNT)
		return "none";
	return codes_blame_names[b];
}

size_t
codes_category_count(void)
{
	return CODES_NELEM(codes_categories);
}

const char *
codes_category_at(size_t i, enum codes_blame *blame)
{
	if (i >= CODES_NELEM(codes_categories))
		return NULL;
	if (blame != NULL)
		*blame = codes_categories[i].blame;
	return codes_categories[i].name;
}

size_t
codes_pattern_count(void)
{
	return CODES_NELEM(codes_patterns);
}

const char *
codes_pattern_id(size_t i)
{
	if (i >= CODES_NELEM(codes_patterns))
		return NULL;
	return codes_patterns[i].id;
}

const char *
codes_category_name(enum codes_category c)
{
	if ((unsigned)c >= CODES_CAT_COUNT)
		return "unknown";
	return codes_categories[c].name;
}

/* ---- text patterns --------------------------------------------------- */

static bool
codes_isword(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* ASCII lower case: the terms are ASCII (gen_codes.py refuses others),
 * and in the C locale tolower() does the same, only through a call. */
#define CODES_LC(c)	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 'a' : (c))

/* The first byte of s[0..n) that is c or, for a letter, its other case;
 * NULL when none.  memchr() scans many bytes a step, which is what makes
 * classifying a long text against every pattern cheap. */
static const char *
codes_find_byte(const char *s, size_t n, int c)
{
	const char	*a, *b;
	int		 other = c >= 'a' && c <= 'z' ? c - 'a' + 'A' :
			    c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : -1;

	a = memchr(s, c, n);
	if (other < 0)
		return a;
	b = memchr(s, other, a != NULL ? (size_t)(a - s) : n);
	return b != NULL ? b : a;
}

/*
 * Is the term t[0..tlen) (ASCII, compared without case) in text?  bl/br ask
 * for a word boundary before/after the match, so that "PTR" does not fire
 * inside an unrelated word.
 */
static bool
codes_term_in(const char *text, size_t textlen, const char *t, size_t tlen,
    bool bl, bool br)
{
	const char	*hit;
	size_t		 i, j;

	if (tlen == 0 || tlen > textlen)
		return false;
	for (i = 0; i + tlen <= textlen; i++) {
		/* Skip to the next place the first byte matches. */
		if ((hit = codes_find_byte(text + i, textlen - tlen + 1 - i,
		    (unsigned char)t[0])) == NULL)
			return false;
		i = (size_t)(hit - text);
		for (j = 1; j < tlen; j++)
			if (CODES_LC((unsigned char)text[i + j]) !=
			    CODES_LC((unsigned char)t[j]))
				break;
		if (j < tlen)
			continue;
		if (bl && i > 0 && codes_isword(text[i - 1]))
			continue;
		if (br && i + tlen < textlen && codes_isword(text[i + tlen]))
			continue;
		return true;
	}
	return false;
}

/* The match language (see patterns.tsv): alternatives split by '|', each
 * a conjunction of terms split by '&'; '%' at a term's end asks for a word
 * boundary there. */
static bool
codes_match(const char *text, size_t textlen, const char *m)
{
	const char	*alt = m;

	while (*alt != '\0') {
		const char	*altend = strchr(alt, '|');
		const char	*term = alt;
		bool		 all = true;

		if (altend == NULL)
			altend = alt + strlen(alt);
		while (term < altend) {
			const char	*tend = memchr(term, '&',
			    (size_t)(altend - term));
			const char	*a, *b;
			bool		 bl = false, br = false;

			if (tend == NULL)
				tend = altend;
			a = term;
			b = tend;
			if (a < b && *a == '%') {
				bl = true;
				a++;
			}
			if (a < b && b[-1] == '%') {
				br = true;
				b--;
			}
			if (!codes_term_in(text, textlen, a, (size_t)(b - a),
			    bl, br)) {
				all = false;
				break;
			}
			term = tend + (tend < altend ? 1 : 0);
		}
		if (all)
			return true;
		if (*altend == '\0')
			break;
		alt = altend + 1;
	}
	return false;
}

static bool
codes_pattern_applies(const struct codes_pattern *p, int cmd, int code,
    int subject, int detail)
{
	int	 i;

	/* With the command unknown, a command restriction cannot exclude. */
	if (p->cmds != 0 && cmd >= 0 && cmd < CODES_CMD_COUNT &&
	    (p->cmds & CODES_CMDBIT(cmd)) == 0)
		return false;
	if (p->classes[0] != '\0' &&
	    strchr(p->classes, '0' + code / 100) == NULL)
		return false;
	if (p->nenh > 0) {
		for (i = 0; i < p->nenh; i++)
			if (p->enh[i].subject == subject &&
			    p->enh[i].detail == detail)
				break;
		if (i == p->nenh)
			return false;
	}
	return true;
}

static const struct codes_pattern *
codes_pattern_find(int strong, int cmd, int code, int subject, int detail,
    const char *text)
{
	size_t	 i, len;

	if (text == NULL || *text == '\0')
		return NULL;
	len = strlen(text);
	for (i = 0; i < CODES_NELEM(codes_patterns); i++) {
		const struct codes_pattern *p = &codes_patterns[i];

		if (p->strong != strong)
			continue;
		if (!codes_pattern_applies(p, cmd, code, subject, detail))
			continue;
		if (codes_match(text, len, p->match))
			return p;
	}
	return NULL;
}

bool
codes_text_address(const char *text, const char *skip, char *buf,
    size_t len)
{
	static const char sep[] = " \t\n<>()\"',;";
	const char *p, *w, *e;
	size_t wl;
	bool found = false;

	for (p = text; *p != '\0';) {
		while (*p != '\0' && strchr(sep, *p) != NULL)
			p++;
		for (w = p; *p != '\0' && strchr(sep, *p) == NULL; p++)
			;
		for (e = p; e > w && strchr(".:", e[-1]) != NULL; e--)
			;
		wl = (size_t)(e - w);
		if (wl < 3 || memchr(w, '@', wl) == NULL || w[0] == '@' ||
		    e[-1] == '@')
			continue;
		if (skip != NULL && strlen(skip) == wl &&
		    strncasecmp(w, skip, wl) == 0)
			continue;
		if (len > 0) {
			if (wl >= len)
				wl = len - 1;
			memcpy(buf, w, wl);
			buf[wl] = '\0';
		}
		found = true;
	}
	return found;
}

/* ---- classification -------------------------------------------------- */

/*
 * The diagnosis a basic code implies given the command it answers.  The
 * same code means different things at different stages: 550 to RCPT is
 * about the recipient, to MAIL about the sender, to EHLO about the client's
 * name; 552 to MAIL is the SIZE limit (RFC 1870), to RCPT the mailbox.
 * The first row whose code and command fit wins; cmds 0 fits any command.
 */
#define CTX(c)		CODES_CMDBIT(CODES_CMD_##c)
#define CTX_HELO	(CTX(EHLO) | CTX(HELO))
#define CTX_ANY		0u
#define BLAME(b)	CODES_BLAME_##b
#define CAT(c)		CODES_CAT_##c

static const struct codes_context_row {
	int			 code[2];	/* one or two codes; 0: none */
	unsigned		 cmds;
	enum codes_category	 category;
	enum codes_blame	 blame;
} codes_context[] = {
	{ { 450, 451 }, CTX(GREETING), CAT(SERVICE_UNAVAILABLE), BLAME(SERVER) },
	/* §4.5.3.1.10: 452 is the code for too many recipients, but also
	 * for lack of storage; without text we cannot tell, storage is the
	 * RFC wording. */
	{ { 452, 0 }, CTX(RCPT), CAT(INSUFFICIENT_STORAGE), BLAME(SERVER) },
	/* RFC 3207 §4; RFC 4954 §6 */
	{ { 454, 0 }, CTX(STARTTLS), CAT(TLS_UNAVAILABLE), BLAME(SERVER) },
	{ { 454, 0 }, CTX(AUTH), CAT(TEMPORARY_FAILURE), BLAME(SERVER) },
	{ { 501, 0 }, CTX_HELO, CAT(HELO_REJECTED), BLAME(CLIENT_IDENTITY) },
	{ { 501, 0 }, CTX(RCPT), CAT(SYNTAX_ERROR), BLAME(RECIPIENT_ADDRESS) },
	{ { 501, 0 }, CTX(MAIL), CAT(SYNTAX_ERROR), BLAME(SENDER_ADDRESS) },
	{ { 501, 0 }, CTX(AUTH), CAT(SYNTAX_ERROR), BLAME(CLIENT_AUTH_TLS) },
	{ { 504, 0 }, CTX_HELO, CAT(HELO_REJECTED), BLAME(CLIENT_IDENTITY) },
	/* RFC 4954 §4 */
	{ { 504, 0 }, CTX(AUTH), CAT(COMMAND_NOT_IMPLEMENTED),
	    BLAME(CLIENT_AUTH_TLS) },
	/* RFC 4954: AUTH itself is never answered "authentication
	 * required"; a 530 to AUTH is the RFC 3207 §4 TLS demand. */
	{ { 530, 0 }, CTX(AUTH) | CTX(HELO), CAT(STARTTLS_REQUIRED),
	    BLAME(CLIENT_AUTH_TLS) },
	{ { 530, 0 }, CTX_ANY, CAT(AUTH_REQUIRED), BLAME(CLIENT_AUTH_TLS) },
	{ { 550, 553 }, CTX(GREETING), CAT(SESSION_REFUSED),
	    BLAME(CLIENT_IP_REPUTATION) },
	{ { 550, 553 }, CTX_HELO, CAT(HELO_REJECTED), BLAME(CLIENT_IDENTITY) },
	{ { 550, 553 }, CTX(MAIL), CAT(SENDER_REJECTED), BLAME(SENDER_ADDRESS) },
	{ { 550, 553 }, CTX(RCPT) | CTX(VRFY) | CTX(EXPN), CAT(RECIPIENT_REJECTED),
	    BLAME(RECIPIENT_ADDRESS) },
	{ { 550, 553 }, CTX(DATA) | CTX(BDAT), CAT(CONTENT_REJECTED),
	    BLAME(CONTENT) },
	/* RFC 5321 §3.4: "User not local; please try <forward-path>". */
	{ { 551, 0 }, CTX(RCPT) | CTX(VRFY), CAT(MAILBOX_MOVED),
	    BLAME(RECIPIENT_ADDRESS) },
	{ { 552, 0 }, CTX(RCPT), CAT(MAILBOX_FULL), BLAME(RECIPIENT_MAILBOX) },
	/* RFC 1870 SIZE */
	{ { 552, 0 }, CTX(MAIL) | CTX(DATA) | CTX(BDAT), CAT(MESSAGE_TOO_BIG),
	    BLAME(CONTENT) },
	/* "No SMTP service here": nearly always aimed at the connecting
	 * address (§3.1, §4.3.2). */
	{ { 554, 0 }, CTX(GREETING), CAT(SESSION_REFUSED),
	    BLAME(CLIENT_IP_REPUTATION) },
	{ { 554, 0 }, CTX_HELO, CAT(HELO_REJECTED), BLAME(CLIENT_IDENTITY) },
	{ { 554, 0 }, CTX(MAIL) | CTX(RCPT), CAT(POLICY_REJECTED),
	    BLAME(RELAY_POLICY) },
	{ { 554, 0 }, CTX(DATA) | CTX(BDAT), CAT(CONTENT_REJECTED),
	    BLAME(CONTENT) },
};

#undef CTX
#undef CTX_HELO
#undef CTX_ANY
#undef BLAME
#undef CAT

/* The category of the row of codes_context[] that fits, or
 * CODES_CAT_COUNT to use the basic table's default. */
static enum codes_category
codes_basic_in_context(int cmd, int code, enum codes_blame *blame)
{
	const struct codes_context_row *r;
	size_t i;

	for (i = 0; i < CODES_NELEM(codes_context); i++) {
		r = &codes_context[i];
		if (code == 0 || (r->code[0] != code && r->code[1] != code))
			continue;
		if (r->cmds != 0 && (cmd < 0 || cmd >= CODES_CMD_COUNT ||
		    (r->cmds & CODES_CMDBIT(cmd)) == 0))
			continue;
		*blame = r->blame;
		return r->category;
	}
	return CODES_CAT_COUNT;
}

/* At MAIL the address in question is the sender's, whatever the enhanced
 * code says (RFC 3463 subject 1 details are written for recipients). */
static void
codes_adjust_for_mail(int cmd, enum codes_category *cat,
    enum codes_blame *blame)
{
	if (cmd != CODES_CMD_MAIL)
		return;
	if (*blame == CODES_BLAME_RECIPIENT_ADDRESS ||
	    *blame == CODES_BLAME_RECIPIENT_MAILBOX)
		*blame = CODES_BLAME_SENDER_ADDRESS;
	if (*cat == CODES_CAT_USER_UNKNOWN ||
	    *cat == CODES_CAT_RECIPIENT_REJECTED ||
	    *cat == CODES_CAT_MAILBOX_DISABLED)
		*cat = CODES_CAT_SENDER_REJECTED;
}

/*
 * A permanent refusal of the greeting that names no cause of its own
 * ("554 No SMTP service here", "550 Access denied") is a refusal of
 * the session aimed at the connecting client (RFC 5321 §3.1): it is not
 * "service unavailable, try later".  521 keeps its RFC 7504 meaning.
 */
static void
codes_adjust_for_greeting(int cmd, int code, const struct codes_pattern *p,
    enum codes_category *cat, enum codes_blame *blame)
{
	if (cmd != CODES_CMD_GREETING || code / 100 != 5 || code == 521)
		return;
	/* A generic word ("refused", "denied") is no narrower cause. */
	if (*cat == CODES_CAT_SERVICE_UNAVAILABLE ||
	    *cat == CODES_CAT_UNKNOWN || (*cat == CODES_CAT_POLICY_REJECTED &&
	    (p == NULL || !p->strong))) {
		*cat = CODES_CAT_SESSION_REFUSED;
		*blame = CODES_BLAME_CLIENT_IP_REPUTATION;
	}
}

/*
 * After DATA (and BDAT) the message is what the server judged: a refusal
 * "for policy reasons" there, with no narrower cause, is about the
 * content (headers, format, spam signatures), not about who may relay.
 */
static void
codes_adjust_for_data(int cmd, enum codes_category cat,
    enum codes_blame *blame)
{
	if ((cmd == CODES_CMD_DATA || cmd == CODES_CMD_BDAT) &&
	    *blame == CODES_BLAME_RELAY_POLICY &&
	    cat != CODES_CAT_RELAY_DENIED)
		*blame = CODES_BLAME_CONTENT;
}

/* X.7.0 and X.7.1 say only "refused by policy": servers use them for
 * greylisting, throttling and every kind of block, so even a weak text
 * hint tells more than they do. */
static bool
codes_enhanced_is_generic(const struct codes_enhanced_row *er)
{
	return er->e.subject == 7 && (er->e.detail == 0 || er->e.detail == 1);
}

static void
codes_fill_category(struct codes_diagnosis *out, enum codes_category idx)
{
	const struct codes_category_row *c = &codes_categories[idx];

	out->category = idx;
	out->blame = c->blame;
	out->meaning = c->meaning;
	out->cause = c->cause;
	out->advice = c->advice;
}

/* A reply that is not a failure: a code out of range, or a positive
 * reply, which needs no diagnosis (RFC 5321 §4.2.1: the first digit
 * decides) whatever its text says.  False for a failure. */
static bool
codes_classify_no_failure(const struct codes_basic_row *br,
    struct codes_diagnosis *out)
{
	if (out->permanence == CODES_NOT_A_REPLY) {
		if (br != NULL && br->category >= 0) {
			codes_fill_category(out, br->category);
			out->meaning = br->b.meaning;
			out->cause = br->b.causes;
			out->advice = br->b.advice;
		}
		return true;
	}
	if (out->permanence == CODES_SUCCESS ||
	    out->permanence == CODES_INTERMEDIATE) {
		codes_fill_category(out, CODES_CAT_ACCEPTED);
		if (br != NULL) {
			out->meaning = br->b.meaning;
			out->advice = br->b.advice;
		}
		out->blame = CODES_BLAME_NONE;
		return true;
	}
	return false;
}

/* A failure: the diagnosis from the best evidence there is, in the order
 * below.  Returns the text pattern used, or NULL. */
static const struct codes_pattern *
codes_classify_failure(int cmd, int code, int cls, int subject, int detail,
    const char *text, const struct codes_basic_row *br,
    struct codes_diagnosis *out)
{
	const struct codes_enhanced_row	*er = NULL;
	const struct codes_pattern	*p;
	enum codes_category		 cat;
	enum codes_blame		 blame = CODES_BLAME_NONE;

	if (cls != 0) {
		er = codes_enhanced_row(subject, detail);
		/* An unregistered detail still has a subject (RFC 3463 §3:
		 * "X.Y.0" is the subject's general case): 5.7.99 is a policy
		 * refusal even though nobody registered detail 99. */
		if (er == NULL)
			er = codes_enhanced_row(subject, 0);
	} else
		subject = detail = -1;

	/* 1. A strong text pattern: the most specific evidence there is. */
	p = codes_pattern_find(1, cmd, code, subject, detail, text);
	/* 2. The enhanced code, when it maps to a diagnosis.  3. A weak
	 * pattern (e.g. a bare "try again later"). */
	if (p == NULL && (er == NULL || er->category < 0 ||
	    codes_enhanced_is_generic(er)))
		p = codes_pattern_find(0, cmd, code, subject, detail, text);
	if (p != NULL) {
		codes_fill_category(out, p->category);
		out->blame = p->blame;
		out->meaning = p->meaning;
		out->cause = p->cause;
		out->advice = p->advice;
		out->rule = p->id;
	} else if (er != NULL && er->category >= 0) {
		codes_fill_category(out, er->category);
		out->blame = er->blame;
		out->meaning = er->e.meaning;
		out->advice = er->e.advice;
	} else if ((cat = codes_basic_in_context(cmd, code, &blame)) !=
	    CODES_CAT_COUNT) {
		/* 4. The basic code read in the light of the command. */
		codes_fill_category(out, cat);
		out->blame = blame;
		if (br != NULL)
			out->meaning = br->b.meaning;
	} else if (br != NULL && br->category >= 0) {
		/* 5. The basic table's own default. */
		codes_fill_category(out, br->category);
		out->blame = br->blame;
		out->meaning = br->b.meaning;
		out->cause = br->b.causes;
		out->advice = br->b.advice;
	} else {
		/* 6. Only the class is known (§4.2.1: interpret the first
		 * digit when the code is unrecognised). */
		codes_fill_category(out, out->permanence == CODES_TRANSIENT ?
		    CODES_CAT_TEMPORARY_FAILURE : CODES_CAT_UNKNOWN);
		out->meaning = codes_basic_generic(code);
	}
	return p;
}

void
codes_classify(int cmd, int code, int cls, int subject, int detail,
    const char *text, struct codes_diagnosis *out)
{
	const struct codes_basic_row	*br;
	const struct codes_pattern	*p;
	enum codes_category		 cat;
	enum codes_blame		 blame;

	if (out == NULL)
		return;
	if (cmd < 0 || cmd >= CODES_CMD_COUNT)
		cmd = -1;
	if (text == NULL)
		text = "";
	br = codes_basic_row(code);
	out->permanence = codes_permanence_of(code);
	out->rule = "";
	codes_fill_category(out, CODES_CAT_UNKNOWN);
	out->meaning = br != NULL ? br->b.meaning : codes_basic_generic(code);
	if (codes_classify_no_failure(br, out))
		return;
	p = codes_classify_failure(cmd, code, cls, subject, detail, text, br,
	    out);
	cat = out->category;
	blame = out->blame;
	codes_adjust_for_mail(cmd, &cat, &blame);
	codes_adjust_for_greeting(cmd, code, p, &cat, &blame);
	codes_adjust_for_data(cmd, cat, &blame);
	if (cat != out->category) {
		codes_fill_category(out, cat);
		if (p != NULL && cat != CODES_CAT_SESSION_REFUSED) {
			out->meaning = p->meaning;
			out->rule = p->id;
		}
	}
	out->blame = blame;
}
