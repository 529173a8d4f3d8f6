/*
 * explain.c — `smtpprobe explain`: find SMTP replies in pasted text and
 * explain them offline.
 *
 * The parser works line by line over a bounded buffer.  A reply starts
 * either at the beginning of a line (after blanks, a Sendmail "<<<"
 * transcript marker or an Exchange '#') or inside a line, where a bounce
 * quotes it: after "said:", "returned '", "was:", "Deferred:", "smtp;",
 * "reason:", after a colon, or whenever a code is followed by an
 * enhanced status code of the same class.  The command answered is taken
 * from the words around it ("in reply to RCPT TO command", "after RCPT
 * TO:<...>", "after end of data", Sendmail's ">>> RCPT To:" transcript
 * line, "refused to talk to me").  The same reply quoted twice in one
 * bounce (Sendmail's transcript and summary, a DSN's Diagnostic-Code) is
 * explained once.  Owns nothing beyond the input buffer of the command.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "explain.h"
#include "json.h"
#include "report.h"

#define EXPLAIN_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- small helpers over (buffer, length) ------------------------------ */

/* ASCII lower case: the words looked for are ASCII, and tolower() in the
 * C locale does the same through a call. */
#define EXPLAIN_LC(c)	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 'a' : (c))

/* Does s[0..n) start with p (case-insensitive)?  It is asked at every
 * word of the input for a dozen words, so it stops at the first byte
 * that differs rather than measuring p first. */
static bool
ci_prefix(const char *s, size_t n, const char *p)
{
	size_t	 i;

	for (i = 0; p[i] != '\0'; i++)
		if (i >= n || EXPLAIN_LC((unsigned char)s[i]) !=
		    EXPLAIN_LC((unsigned char)p[i]))
			return false;
	return true;
}

/* Does s[0..n) end with p (case-insensitive)? */
static bool
ci_suffix(const char *s, size_t n, const char *p)
{
	size_t	 pl = strlen(p);

	return pl <= n && ci_prefix(s + n - pl, pl, p);
}

/* First position of p in s[0..n) (case-insensitive), or n. */
static size_t
ci_find(const char *s, size_t n, const char *p)
{
	size_t	 i, pl = strlen(p);

	if (pl == 0 || pl > n)
		return n;
	for (i = 0; i + pl <= n; i++)
		if (ci_prefix(s + i, n - i, p))
			return i;
	return n;
}

static bool
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_word(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * An enhanced status code at s[0..n), optionally after a '#' (Exchange
 * and IronPort write "#5.1.1").  Returns the bytes consumed, 0 if none.
 * The code must not run on into a word ("5.1.1x") or another dot-number.
 */
static size_t
enh_at(const char *s, size_t n, int *cls, int *subj, int *det)
{
	char	 buf[16];
	size_t	 off = 0, span = 0, used;

	if (n > 0 && s[0] == '#')
		off = 1;
	while (off + span < n && span < sizeof(buf) - 2 &&
	    (isdigit((unsigned char)s[off + span]) || s[off + span] == '.'))
		span++;
	if (span == 0)
		return 0;
	/* Trailing dot ends a sentence ("... (#5.1.1)."): not part of it. */
	memcpy(buf, s + off, span);
	buf[span] = '\0';
	used = codes_enhanced_parse(buf, span, cls, subj, det);
	if (used == 0 && span > 0 && buf[span - 1] == '.') {
		buf[--span] = '\0';
		used = codes_enhanced_parse(buf, span, cls, subj, det);
	}
	if (used == 0 || used != span)
		return 0;
	if (off + span < n && (is_word(s[off + span])))
		return 0;
	return off + span;
}

/*
 * A reply code at s[i..i+3) of s[0..n): three digits, 2yz-5yz (or the
 * client pseudo-codes 101 and 111), not part of a longer number or word,
 * and followed by the end, a blank, '-' or a closing quote.
 */
static bool
code_at(const char *s, size_t n, size_t i, int *code)
{
	int	 c;

	if (i + 3 > n || !isdigit((unsigned char)s[i]) ||
	    !isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]))
		return false;
	if (i + 3 < n) {
		char nx = s[i + 3];

		if (nx != ' ' && nx != '\t' && nx != '-' && nx != '\'' &&
		    nx != '"' && nx != ')' && nx != '\r' && nx != ',')
			return false;
	}
	c = (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
	if (!(c >= 200 && c <= 599) && c != 101 && c != 111)
		return false;
	*code = c;
	return true;
}

/* ---- which command a piece of text names ------------------------------ */

struct cmd_word {
	const char	*word;
	int		 cmd;
};

/* Longest first where one is a prefix of another. */
static const struct cmd_word cmd_words[] = {
	{ "rcpt to", CODES_CMD_RCPT },
	{ "rcpt", CODES_CMD_RCPT },
	{ "mail from", CODES_CMD_MAIL },
	{ "mail", CODES_CMD_MAIL },
	{ "end of data", CODES_CMD_DATA },
	{ "data", CODES_CMD_DATA },
	{ "bdat", CODES_CMD_BDAT },
	{ "initial connection", CODES_CMD_GREETING },
	{ "connection", CODES_CMD_GREETING },
	{ "greeting", CODES_CMD_GREETING },
	{ "ehlo", CODES_CMD_EHLO },
	{ "helo", CODES_CMD_HELO },
	{ "starttls", CODES_CMD_STARTTLS },
	{ "auth", CODES_CMD_AUTH },
	{ "rset", CODES_CMD_RSET },
	{ "vrfy", CODES_CMD_VRFY },
	{ "expn", CODES_CMD_EXPN },
	{ "help", CODES_CMD_HELP },
	{ "noop", CODES_CMD_NOOP },
	{ "quit", CODES_CMD_QUIT },
};

/* A command word at s[0..n), ending at a word boundary; -1 if none. */
static int
cmd_word_at(const char *s, size_t n)
{
	size_t	 i, wl;

	for (i = 0; i < EXPLAIN_NELEM(cmd_words); i++) {
		wl = strlen(cmd_words[i].word);
		if (!ci_prefix(s, n, cmd_words[i].word))
			continue;
		if (wl < n && is_word(s[wl]))
			continue;
		return cmd_words[i].cmd;
	}
	return -1;
}

/*
 * The command named in s[0..n), or -1.  The last mention wins: in a
 * transcript the command just before a reply is the one it answers.
 */
static int
cmd_named(const char *s, size_t n)
{
	static const char *const lead[] = {
		"in reply to ", "after pipelined ", "after ", ">>> ",
		"for ", "reply to "
	};
	/* The first letters of every phrase below: most words start with
	 * none of them and need no further look. */
	static const char firsts[] = "iaf>rme";
	size_t	 i, k;
	int	 found = -1, c;

	for (i = 0; i < n; i++) {
		if (i > 0 && is_word(s[i - 1]))
			continue;
		c = EXPLAIN_LC((unsigned char)s[i]);
		if (memchr(firsts, c, sizeof(firsts) - 1) == NULL)
			continue;
		for (k = 0; k < EXPLAIN_NELEM(lead); k++) {
			size_t ll = strlen(lead[k]);

			if (!ci_prefix(s + i, n - i, lead[k]))
				continue;
			if (strcmp(lead[k], ">>> ") == 0 &&
			    ci_prefix(s + i + ll, n - i - ll, "."))
				c = CODES_CMD_DATA;	/* end of the data */
			else
				c = cmd_word_at(s + i + ll, n - i - ll);
			/* "for"/"reply to" only with an explicit "command". */
			if (c >= 0 && (k >= 4) &&
			    ci_find(s + i, n - i < 40 ? n - i : 40, "command") ==
			    (n - i < 40 ? n - i : 40))
				c = -1;
			/* "after connection" is too vague; "after mail" is
			 * prose unless followed by "from". */
			if (c >= 0) {
				found = c;
				break;
			}
		}
		if (ci_prefix(s + i, n - i, "refused to talk to me") ||
		    ci_prefix(s + i, n - i, "initial connection"))
			found = CODES_CMD_GREETING;
		else if (ci_prefix(s + i, n - i, "rcpt to:") ||
		    ci_prefix(s + i, n - i, "rcpt to command"))
			found = CODES_CMD_RCPT;
		else if (ci_prefix(s + i, n - i, "mail from:") ||
		    ci_prefix(s + i, n - i, "mail from command"))
			found = CODES_CMD_MAIL;
		else if (ci_prefix(s + i, n - i, "end of data"))
			found = CODES_CMD_DATA;
	}
	return found;
}

/* ---- finding where a reply starts ------------------------------------- */

/* Words after which a bounce quotes the server's reply. */
static const char *const triggers[] = {
	"said:", "said", "returned", "returned:", "was:", "reason:",
	"deferred:", "smtp;", "smtp:", "response:", "error:", "replied:",
	"answered:", "to me:", "responded:", "message:", ">:", "]:",
	"diagnostic-code:"
};

static bool
left_boundary(const char *s, size_t i)
{
	char	 c;

	if (i == 0)
		return true;
	c = s[i - 1];
	return c == ' ' || c == '\t' || c == ':' || c == ';' || c == '\'' ||
	    c == '"' || c == '(' || c == '[' || c == '<' || c == '=' ||
	    c == ',' || c == '#';
}

/* Position after the line-start markers: blanks, "<<<", "#", "S:". */
static size_t
skip_line_prefix(const char *s, size_t n)
{
	size_t	 i = 0;

	while (i < n && is_blank(s[i]))
		i++;
	if (i + 3 <= n && memcmp(s + i, "<<<", 3) == 0)
		i += 3;
	else if (i + 2 <= n && (memcmp(s + i, "S:", 2) == 0 ||
	    memcmp(s + i, "<-", 2) == 0))
		i += 2;
	else if (i < n && s[i] == '#')
		i++;
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

/* Does a reply start at the beginning of line s[0..n)?  *at: its offset. */
static bool
line_start_reply(const char *s, size_t n, size_t *at, int *code)
{
	size_t	 i = skip_line_prefix(s, n);
	int	 c, e1, e2, e3;

	if (!code_at(s, n, i, &c))
		return false;
	/* "555-1234" is a phone number, not a continuation line: after '-'
	 * must come an enhanced code or text. */
	if (i + 3 < n && s[i + 3] == '-' && i + 4 < n &&
	    isdigit((unsigned char)s[i + 4]) &&
	    enh_at(s + i + 4, n - i - 4, &e1, &e2, &e3) == 0)
		return false;
	*at = i;
	*code = c;
	return true;
}

/* The text before position i of s, without trailing blanks and quotes. */
static size_t
pre_trim(const char *s, size_t i)
{
	while (i > 0 && (is_blank(s[i - 1]) || s[i - 1] == '\'' ||
	    s[i - 1] == '"'))
		i--;
	return i;
}

/* A reply quoted inside line s[0..n); *at: its offset. */
static bool
inline_reply(const char *s, size_t n, size_t *at, int *code)
{
	size_t	 i, k, p, j;
	int	 c, e1, e2, e3;

	for (i = 0; i + 3 <= n; i++) {
		if (!left_boundary(s, i) || !code_at(s, n, i, &c))
			continue;
		/* R1: followed by an enhanced code of the same class. */
		j = i + 3;
		if (j < n && (s[j] == ' ' || s[j] == '-')) {
			j++;
			while (j < n && s[j] == ' ')
				j++;
			if (enh_at(s + j, n - j, &e1, &e2, &e3) > 0 &&
			    e1 == c / 100)
				goto found;
		}
		/* R2: right after words that introduce a quoted reply. */
		p = pre_trim(s, i);
		for (k = 0; k < EXPLAIN_NELEM(triggers); k++)
			if (ci_suffix(s, p, triggers[k]) &&
			    (p == strlen(triggers[k]) ||
			    !is_word(s[p - strlen(triggers[k]) - 1]) ||
			    !is_word(triggers[k][0])))
				goto found;
		/* R3: after a colon or semicolon, a plausible code (second
		 * digit 0-5, RFC 5321 §4.2) followed by words. */
		if (p > 0 && (s[p - 1] == ':' || s[p - 1] == ';') &&
		    (c / 10) % 10 <= 5 && i + 4 < n && s[i + 3] == ' ') {
			j = i + 4;
			while (j < n && s[j] == ' ')
				j++;
			if (j < n && (isalpha((unsigned char)s[j]) ||
			    s[j] == '<' || s[j] == '[' || s[j] == '(' ||
			    s[j] == '#'))
				goto found;
		}
		continue;
found:
		*at = i;
		*code = c;
		return true;
	}
	return false;
}

/* ---- assembling one reply's text -------------------------------------- */

struct textbuf {
	char	*buf;
	size_t	 cap;		/* including the NUL */
	size_t	 len;
	bool	 cut;
};

static void
tb_put(struct textbuf *t, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\r')
			continue;
		if (c == '\0')
			c = '?';	/* keeps the text a C string */
		if (t->len + 1 >= t->cap) {
			t->cut = true;
			break;
		}
		t->buf[t->len++] = c;
	}
	t->buf[t->len] = '\0';
}

/* Skip "CODE", "CODE-", "CODE " and an enhanced code at s; returns the
 * offset of the text. */
static size_t
skip_codes(const char *s, size_t n, int code, struct explain_reply *r)
{
	size_t	 i = 0, e;
	int	 c, c1, c2, c3;

	if (code_at(s, n, 0, &c) && c == code) {
		i = 3;
		if (i < n && (s[i] == '-' || s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	while (i < n && is_blank(s[i]))
		i++;
	e = enh_at(s + i, n - i, &c1, &c2, &c3);
	if (e > 0) {
		if (r->esc_class == 0) {
			r->esc_class = c1;
			r->esc_subject = c2;
			r->esc_detail = c3;
		}
		i += e;
		while (i < n && is_blank(s[i]))
			i++;
	}
	return i;
}

/*
 * Remove the codes a bounce left inside a flattened multi-line reply
 * (Postfix writes Gmail's "550-5.1.1 a\n550-5.1.1 b" as "550-5.1.1 a
 * 550-5.1.1 b"), and the " (in reply to ... command)" tail.
 */
static void
clean_text(struct explain_reply *r)
{
	char	*t = r->text;
	size_t	 n = r->textlen, i, w = 0, k;
	int	 c, c1, c2, c3;

	k = ci_find(t, n, "(in reply to ");
	if (k < n) {
		n = k;
	}
	for (i = 0; i < n; ) {
		if (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\n') &&
		    code_at(t, n, i, &c) && c == r->code && i + 3 < n &&
		    (t[i + 3] == '-' || t[i + 3] == ' ')) {
			size_t j = i + 4, e;

			while (j < n && t[j] == ' ')
				j++;
			e = enh_at(t + j, n - j, &c1, &c2, &c3);
			if (t[i + 3] == '-' || e > 0) {
				j += e;
				while (j < n && t[j] == ' ')
					j++;
				i = j;
				continue;
			}
		}
		t[w++] = t[i++];
	}
	/* Trim blanks, and an unbalanced closing '>' or quote left by an
	 * Exchange "returned '<a@b> #5.1.1 smtp;550 ...>'" wrapper. */
	for (;;) {
		while (w > 0 && (is_blank(t[w - 1]) || t[w - 1] == '\n'))
			w--;
		if (w > 0 && (t[w - 1] == '\'' || t[w - 1] == '"')) {
			size_t q = 0;

			for (i = 0; i < w; i++)
				q += t[i] == t[w - 1];
			if (q % 2 == 1) {
				w--;
				continue;
			}
		}
		if (w > 0 && t[w - 1] == '>') {
			size_t lt = 0, gt = 0;

			for (i = 0; i < w; i++) {
				lt += t[i] == '<';
				gt += t[i] == '>';
			}
			if (gt > lt) {
				w--;
				continue;
			}
		}
		break;
	}
	t[w] = '\0';
	r->textlen = w;
}

/* A normalised tail of the text, to recognise the same reply quoted
 * twice: the last 24 letters and digits, lower-cased. */
static void
text_tail(const struct explain_reply *r, char *out, size_t outlen)
{
	size_t	 i = r->textlen, k = 0;
	char	 tmp[25];

	while (i > 0 && k < sizeof(tmp) - 1) {
		unsigned char c = (unsigned char)r->text[--i];

		if (isalnum(c))
			tmp[k++] = (char)tolower(c);
	}
	if (outlen == 0)
		return;
	if (k >= outlen)
		k = outlen - 1;
	out[k] = '\0';
	for (i = 0; i < k; i++)
		out[i] = tmp[i];
}

static bool
same_reply(const struct explain_reply *a, const struct explain_reply *b)
{
	char	 ta[25], tb[25];

	if (a->code != b->code || a->esc_class != b->esc_class ||
	    a->esc_subject != b->esc_subject || a->esc_detail != b->esc_detail)
		return false;
	text_tail(a, ta, sizeof(ta));
	text_tail(b, tb, sizeof(tb));
	return strcmp(ta, tb) == 0;
}

/* ---- the parser --------------------------------------------------------- */

struct line {
	const char	*s;
	size_t		 n;
	size_t		 next;	/* offset of the following line */
};

static bool
get_line(const char *in, size_t len, size_t pos, struct line *l)
{
	const char	*nl;

	if (pos >= len)
		return false;
	l->s = in + pos;
	nl = memchr(in + pos, '\n', len - pos);
	l->n = nl != NULL ? (size_t)(nl - (in + pos)) : len - pos;
	l->next = pos + l->n + (nl != NULL ? 1 : 0);
	if (l->n > 0 && l->s[l->n - 1] == '\r')
		l->n--;
	return true;
}

static bool
line_is_blank(const struct line *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (!is_blank(l->s[i]))
			return false;
	return true;
}

/* Blanks at the start of a line. */
static size_t
indent_of(const struct line *l)
{
	size_t	 i = 0;

	while (i < l->n && is_blank(l->s[i]))
		i++;
	return i;
}

/* Is the reply text still waiting for more: no "(in reply to ...
 * command)" yet, or one that a fold cut before "command"? */
static bool
wants_more(const struct textbuf *t)
{
	size_t	 k = ci_find(t->buf, t->len, "(in reply to ");

	if (t->cut)
		return false;
	if (k == t->len)
		return true;
	return ci_find(t->buf + k, t->len - k, "command") == t->len - k;
}

/*
 * A bounce folds a long reply onto indented lines (Postfix, Exim, DSN
 * header folding).  Take the lines indented by at least min_indent that
 * follow, joined by a space, until a blank line, a less indented line, a
 * line that starts another reply, or the end of "(in reply to ...
 * command)".  Returns the number of lines taken.
 */
static size_t
absorb_folded(const char *in, size_t len, size_t *pos, struct textbuf *tb,
    size_t min_indent, int code)
{
	struct line	 c;
	size_t		 n = 0, a2, tmp;
	int		 code3;

	while (wants_more(tb) && get_line(in, len, *pos, &c) &&
	    !line_is_blank(&c) && indent_of(&c) >= min_indent) {
		if (line_start_reply(c.s, c.n, &tmp, &code3) && code3 != code)
			break;
		a2 = indent_of(&c);
		tb_put(tb, " ", 1);
		tb_put(tb, c.s + a2, c.n - a2);
		*pos = c.next;
		n++;
	}
	return n;
}

/* Store r unless it repeats an earlier reply of the same input. */
static size_t
store(struct explain_reply *out, size_t nout, size_t max,
    const struct explain_reply *r)
{
	size_t	 i;

	for (i = 0; i < nout; i++) {
		if (!same_reply(&out[i], r))
			continue;
		if (out[i].cmd < 0 && r->cmd >= 0) {
			out[i].cmd = r->cmd;
			out[i].cmd_source = r->cmd_source;
		}
		return nout;
	}
	if (nout < max)
		out[nout++] = *r;
	return nout;
}

/* An empty text buffer over r's text. */
static void
tb_init(struct textbuf *tb, struct explain_reply *r)
{
	tb->buf = r->text;
	tb->cap = sizeof(r->text);
	tb->len = 0;
	tb->cut = false;
	tb->buf[0] = '\0';
}

/*
 * The text of a reply's first line (line l, the code at offset at) into
 * tb: after the code and the enhanced code, and for a reply quoted in
 * '...' up to the closing quote.  Returns true when the text ran to the
 * end of the line.
 */
static bool
first_line(const struct line *l, size_t at, int code, bool linestart,
    struct explain_reply *r, struct textbuf *tb)
{
	size_t	 body, end, q;

	body = at + skip_codes(l->s + at, l->n - at, code, r);
	end = l->n;
	if (!linestart && at > 0 &&
	    (l->s[at - 1] == '\'' || l->s[at - 1] == '"')) {
		for (q = l->n; q > body; q--)
			if (l->s[q - 1] == l->s[at - 1]) {
				end = q - 1;
				break;
			}
	}
	if (body < end)
		tb_put(tb, l->s + body, end - body);
	return end == l->n;
}

/*
 * The lines after the first of a reply that starts line l: "550-..."
 * lines up to the one with "550 ", then, for an indented reply (quoted
 * by a bounce), the lines of the same indent it was folded onto.
 * Returns the number of lines taken; *pos moves past them.
 */
static size_t
continuation_lines(const char *in, size_t len, size_t *pos,
    const struct line *l, size_t at, int code, struct explain_reply *r,
    struct textbuf *tb)
{
	struct line	 c;
	size_t		 n = 0, a2;
	int		 code2;
	bool		 more = at + 3 < l->n && l->s[at + 3] == '-';

	while (more && get_line(in, len, *pos, &c)) {
		if (!line_start_reply(c.s, c.n, &a2, &code2) || code2 != code)
			break;
		more = a2 + 3 < c.n && c.s[a2 + 3] == '-';
		a2 += skip_codes(c.s + a2, c.n - a2, code, r);
		tb_put(tb, "\n", 1);
		if (a2 < c.n)
			tb_put(tb, c.s + a2, c.n - a2);
		*pos = c.next;
		n++;
	}
	if (l->n > 0 && is_blank(l->s[0]))
		n += absorb_folded(in, len, pos, tb, indent_of(l), code);
	return n;
}

/*
 * The reply whose code is at offset at of line l, into r; *pos moves past
 * its last line.  pending is the command named before it, or -1; the
 * reply's own "(in reply to RCPT TO command)" overrides it.
 */
static void
take_reply(const char *in, size_t len, size_t *pos, const struct line *l,
    size_t at, int code, bool linestart, int pending,
    struct explain_reply *r)
{
	struct textbuf	 tb;
	size_t		 span = 1, k;
	int		 cmd;
	bool		 to_end;

	memset(r, 0, sizeof(*r));
	r->code = code;
	r->cmd = -1;
	tb_init(&tb, r);
	to_end = first_line(l, at, code, linestart, r, &tb);
	*pos = l->next;
	if (linestart)
		span += continuation_lines(in, len, pos, l, at, code, r, &tb);
	else if (to_end)
		span += absorb_folded(in, len, pos, &tb, 1, code);
	r->textlen = tb.len;
	r->text_truncated = tb.cut;
	r->nlines = span;

	k = ci_find(r->text, r->textlen, "(in reply to ");
	if (k < r->textlen && (cmd = cmd_named(r->text + k + 1,
	    r->textlen - k - 1)) >= 0)
		pending = cmd;
	clean_text(r);
	if (pending >= 0) {
		r->cmd = pending;
		r->cmd_source = EXPLAIN_CMD_INPUT;
	}
}

/*
 * No reply code anywhere: a bare enhanced code ("5.7.1", "Status:
 * 5.1.1", "#5.2.2") is still worth explaining.  The first one goes to
 * *r; returns 1, or 0 when there is none.
 */
static size_t
bare_enhanced(const char *in, size_t len, struct explain_reply *r)
{
	struct textbuf	 tb;
	struct line	 l;
	size_t		 pos, e, b;
	int		 c1, c2, c3, cmd;

	for (pos = 0; pos < len; pos++) {
		if (!left_boundary(in, pos) && !(pos > 0 && in[pos - 1] == '\n'))
			continue;
		if (pos > 0 && in[pos - 1] == '#')
			continue;	/* enh_at() takes the '#' itself */
		e = enh_at(in + pos, len - pos, &c1, &c2, &c3);
		if (e == 0)
			continue;
		memset(r, 0, sizeof(*r));
		r->esc_class = c1;
		r->esc_subject = c2;
		r->esc_detail = c3;
		r->cmd = -1;
		r->nlines = 1;
		get_line(in, len, pos, &l);	/* rest of this line */
		tb_init(&tb, r);
		for (b = e; b < l.n && is_blank(l.s[b]); b++)
			;
		if (b < l.n)
			tb_put(&tb, l.s + b, l.n - b);
		r->textlen = tb.len;
		r->text_truncated = tb.cut;
		clean_text(r);
		if ((cmd = cmd_named(in, len)) >= 0) {
			r->cmd = cmd;
			r->cmd_source = EXPLAIN_CMD_INPUT;
		}
		return 1;
	}
	return 0;
}

size_t
explain_parse(const char *in, size_t len, struct explain_reply *out,
    size_t max)
{
	struct explain_reply	 r;
	struct line		 l;
	size_t			 pos = 0, nout = 0, at;
	int			 pending = -1, code, cmd;
	bool			 linestart;

	if (in == NULL || out == NULL || max == 0)
		return 0;
	while (nout < max && get_line(in, len, pos, &l)) {
		linestart = line_start_reply(l.s, l.n, &at, &code);
		if (!linestart && !inline_reply(l.s, l.n, &at, &code)) {
			/* A line that names a command ("... after RCPT
			 * TO:<a@b>", ">>> RCPT To:") before the reply. */
			if ((cmd = cmd_named(l.s, l.n)) >= 0)
				pending = cmd;
			pos = l.next;
			continue;
		}
		if ((cmd = cmd_named(l.s, at)) >= 0)
			pending = cmd;
		take_reply(in, len, &pos, &l, at, code, linestart, pending, &r);
		pending = -1;
		nout = store(out, nout, max, &r);
	}
	if (nout > 0)
		return nout;
	return bare_enhanced(in, len, out);
}

/* ---- output -------------------------------------------------------------- */

struct explained {
	const struct explain_reply	*r;
	struct codes_diagnosis		 d;
	char				 new_address[EXPLAIN_TEXT_MAX];	/* or "" */
	const struct codes_basic	*basic;
	const struct codes_enhanced	*enh;
	bool				 enh_exact;	/* enh is the detail's own entry */
	int				 classify_code;
	enum codes_legality		 legality;
	const char			*legality_ref;
	bool				 has_legality;
};

static void
explain_one(const struct explain_reply *r, struct explained *x)
{
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->classify_code = r->code;
	if (r->code == 0)
		/* Only an enhanced code: stand for it with the basic code of
		 * its class that says the least (RFC 3463 §3.1: the class
		 * gives the outcome). */
		x->classify_code = r->esc_class * 100 + 50;
	codes_classify(r->cmd, x->classify_code, r->esc_class, r->esc_subject,
	    r->esc_detail, r->text, &x->d);
	if (r->code != 0)
		x->basic = codes_basic_lookup(r->code);
	if (r->esc_class != 0) {
		x->enh = codes_enhanced_lookup(r->esc_subject, r->esc_detail);
		x->enh_exact = x->enh != NULL;
		if (x->enh == NULL)
			/* Unknown detail: fall back on the subject (X.Y.0). */
			x->enh = codes_enhanced_lookup(r->esc_subject, 0);
	}
	if (r->cmd >= 0 && r->code != 0) {
		x->legality = codes_check((enum codes_cmd)r->cmd, r->code,
		    &x->legality_ref);
		x->has_legality = true;
	}
	/* A moved mailbox, or a 251: the address the reply points to. */
	if ((x->d.category == CODES_CAT_MAILBOX_MOVED || r->code == 251 ||
	    r->code == 551) && !codes_text_address(r->text, NULL,
	    x->new_address, sizeof(x->new_address)))
		x->new_address[0] = '\0';
}

static void
put_label(FILE *out, const char *label)
{
	fprintf(out, "  %-13s", label);
}

/* A labelled line of escaped text. */
static void
put_line(FILE *out, const char *label, const char *text)
{
	put_label(out, label);
	report_put_cstr(out, text);
	fputc('\n', out);
}

/* "5.1.1" into buf, or NULL without an enhanced code. */
static const char *
esc_string(const struct explain_reply *r, char *buf, size_t len)
{
	if (r->esc_class == 0)
		return NULL;
	snprintf(buf, len, "%d.%d.%d", r->esc_class, r->esc_subject,
	    r->esc_detail);
	return buf;
}

/* "reply 2 of 3" (or "reply 1.2" with several inputs) and the reply
 * itself: its codes and its text, one input line per output line. */
static void
text_reply(FILE *out, const struct explain_reply *r, const char *esc,
    size_t idx, size_t n, size_t input, size_t ninputs)
{
	size_t	 i, start;

	if (n > 1 || ninputs > 1) {
		fprintf(out, "reply");
		if (ninputs > 1)
			fprintf(out, " %zu.%zu", input, idx + 1);
		else
			fprintf(out, " %zu of %zu", idx + 1, n);
		fputc('\n', out);
	}
	put_label(out, "reply:");
	if (r->code != 0)
		fprintf(out, "%d", r->code);
	if (esc != NULL)
		fprintf(out, "%s%s", r->code != 0 ? " " : "", esc);
	for (i = 0, start = 0; i <= r->textlen; i++) {
		if (i < r->textlen && r->text[i] != '\n')
			continue;
		if (start == 0) {
			if (i > 0)
				fputc(' ', out);
		} else
			fprintf(out, "\n  %-13s", "");
		report_put_text(out, r->text + start, i - start);
		start = i + 1;
	}
	if (r->text_truncated)
		fputs(" [text cut]", out);
	fputc('\n', out);

	put_label(out, "command:");
	if (r->cmd >= 0)
		fprintf(out, "%s (%s)\n", codes_cmd_name((enum codes_cmd)r->cmd),
		    r->cmd_source == EXPLAIN_CMD_OPTION ? "given with --after" :
		    "named in the input");
	else
		fputs("not known (give it with --after COMMAND)\n", out);
}

/* What the reply code means. */
static void
text_code(FILE *out, const struct explained *x)
{
	int	 code = x->r->code;

	put_label(out, "code:");
	if (code == 0) {
		fprintf(out, "none; explained from the enhanced code's class "
		    "as a %d reply\n", x->classify_code);
	} else if (x->basic != NULL) {
		fprintf(out, "%d [%s] ", code, x->basic->origin);
		report_put_cstr(out, x->basic->meaning);
		fputc('\n', out);
		if (code == 101 || code == 111) {
			put_label(out, "");
			fputs("not a reply from a server: a client reports that "
			    "it could not connect\n", out);
		}
	} else {
		fprintf(out, "%d, not a code we know; by its first two digits "
		    "(RFC 5321 §4.2.1): %s\n", code,
		    codes_basic_generic(code));
	}
}

/* What the enhanced status code means (RFC 3463), if there is one. */
static void
text_enhanced(FILE *out, const struct explained *x, const char *esc)
{
	const struct explain_reply *r = x->r;

	if (esc == NULL)
		return;
	put_label(out, "enhanced:");
	fprintf(out, "%s %s / %s", esc,
	    codes_enhanced_class_name(r->esc_class),
	    codes_enhanced_subject_name(r->esc_subject));
	if (x->enh != NULL && x->enh_exact) {
		fputs(": ", out);
		report_put_cstr(out, x->enh->title);
		fprintf(out, " [%s]\n", x->enh->ref);
		put_line(out, "", x->enh->meaning);
	} else if (x->enh != NULL) {
		fprintf(out, "; detail %d is not registered, so only "
		    "the subject speaks: ", r->esc_detail);
		report_put_cstr(out, x->enh->title);
		fputc('\n', out);
	} else
		fputs("; not a registered code\n", out);
	if (x->enh != NULL && x->enh_exact && x->enh->vendor_note != NULL)
		put_line(out, "vendor note:", x->enh->vendor_note);
	if (r->code != 0 && r->esc_class != r->code / 100 &&
	    r->code >= 200) {
		put_label(out, "");
		fputs("the enhanced class differs from the reply code's "
		    "first digit (RFC 3463 §2); the reply code decides\n",
		    out);
	}
}

/* Whether the code may answer the command, when the command is known. */
static void
text_legality(FILE *out, const struct explained *x)
{
	const char *cn;

	if (!x->has_legality)
		return;
	cn = codes_cmd_name((enum codes_cmd)x->r->cmd);
	put_label(out, "legality:");
	switch (x->legality) {
	case CODES_LEGAL:
		fprintf(out, "legal in reply to %s [%s]\n", cn,
		    x->legality_ref);
		break;
	case CODES_LEGAL_EXTENSION:
		fprintf(out, "legal in reply to %s through an extension "
		    "[%s]\n", cn, x->legality_ref);
		break;
	case CODES_COMMON:
		fprintf(out, "not in any RFC for %s, but common in the "
		    "wild [%s]\n", cn, x->legality_ref);
		break;
	case CODES_ILLEGAL:
		fprintf(out, "illegal: no RFC allows %d in reply to %s\n",
		    x->r->code, cn);
		break;
	}
}

static void
print_text(FILE *out, const struct explained *x, size_t idx, size_t n,
    size_t input, size_t ninputs)
{
	char	 esc[32];
	const char *e = esc_string(x->r, esc, sizeof(esc));

	text_reply(out, x->r, e, idx, n, input, ninputs);
	text_code(out, x);
	text_enhanced(out, x, e);
	text_legality(out, x);
	put_label(out, "permanence:");
	fprintf(out, "%s\n", codes_permanence_name(x->d.permanence));
	put_label(out, "category:");
	fprintf(out, "%s\n", codes_category_name(x->d.category));
	put_label(out, "blame:");
	fprintf(out, "%s\n", codes_blame_name(x->d.blame));
	put_line(out, "meaning:", x->d.meaning);
	if (x->new_address[0] != '\0')
		put_line(out, "new address:", x->new_address);
	if (x->d.cause[0] != '\0')
		put_line(out, "cause:", x->d.cause);
	put_line(out, "advice:", x->d.advice);
	if (x->d.rule[0] != '\0')
		put_line(out, "text rule:", x->d.rule);
}

/* "basic": what the reply code means, null without one. */
static void
json_basic(struct json_writer *w, const struct explained *x)
{
	const struct codes_basic *b = x->basic;
	int code = x->r->code;

	if (code == 0) {
		json_kv_null(w, "basic");
		return;
	}
	json_kv_object(w, "basic");
	json_kv_bool(w, "known", b != NULL);
	json_kv_str(w, "origin", b != NULL ? b->origin : NULL);
	json_kv_str(w, "meaning", b != NULL ? b->meaning :
	    codes_basic_generic(code));
	json_kv_str(w, "causes", b != NULL ? b->causes : NULL);
	json_kv_str(w, "advice", b != NULL ? b->advice : NULL);
	json_kv_str(w, "generic", codes_basic_generic(code));
	json_object_end(w);
}

/* "enhanced_info": what the enhanced code means, null without one. */
static void
json_enhanced(struct json_writer *w, const struct explained *x)
{
	const struct explain_reply *r = x->r;
	const struct codes_enhanced *e = x->enh;

	if (r->esc_class == 0) {
		json_kv_null(w, "enhanced_info");
		return;
	}
	json_kv_object(w, "enhanced_info");
	json_kv_str(w, "class", codes_enhanced_class_name(r->esc_class));
	json_kv_str(w, "subject", codes_enhanced_subject_name(r->esc_subject));
	json_kv_bool(w, "known", x->enh_exact);
	json_kv_str(w, "title", e != NULL ? e->title : NULL);
	json_kv_str(w, "meaning", e != NULL ? e->meaning : NULL);
	json_kv_str(w, "advice", e != NULL ? e->advice : NULL);
	json_kv_str(w, "ref", e != NULL ? e->ref : NULL);
	json_kv_str(w, "vendor_note", e != NULL && x->enh_exact ?
	    e->vendor_note : NULL);
	json_object_end(w);
}

/* One explained reply as one JSON object on a line (docs/EXPLAIN.md). */
static void
print_json(FILE *out, const struct explained *x, size_t input,
    bool input_cut)
{
	const struct explain_reply *r = x->r;
	struct json_writer w;
	char	 esc[32];

	json_init(&w, out);
	json_report_object(&w);
	json_kv_uint(&w, "input", input);
	json_kv_bool(&w, "input_truncated", input_cut);
	if (r->code != 0)
		json_kv_int(&w, "code", r->code);
	else
		json_kv_null(&w, "code");
	json_kv_str(&w, "enhanced", esc_string(r, esc, sizeof(esc)));
	json_kv_strn(&w, "text", r->text, r->textlen);
	json_kv_bool(&w, "text_truncated", r->text_truncated);
	json_kv_str(&w, "command", r->cmd >= 0 ?
	    codes_cmd_name((enum codes_cmd)r->cmd) : NULL);
	json_kv_str(&w, "command_source", r->cmd_source == EXPLAIN_CMD_INPUT ?
	    "input" : r->cmd_source == EXPLAIN_CMD_OPTION ? "option" : NULL);
	json_basic(&w, x);
	json_enhanced(&w, x);
	json_kv_str(&w, "legality", x->has_legality ?
	    codes_legality_name(x->legality) : NULL);
	json_kv_str(&w, "legality_ref", x->has_legality ? x->legality_ref :
	    NULL);
	json_kv_str(&w, "permanence", codes_permanence_name(x->d.permanence));
	json_kv_str(&w, "category", codes_category_name(x->d.category));
	json_kv_str(&w, "blame", codes_blame_name(x->d.blame));
	json_kv_str(&w, "meaning", x->d.meaning);
	json_kv_str_nonempty(&w, "new_address", x->new_address);
	json_kv_str(&w, "cause", x->d.cause);
	json_kv_str(&w, "advice", x->d.advice);
	json_kv_str(&w, "rule", x->d.rule);
	json_object_end(&w);
	json_finish(&w);
}

/* ---- the command ----------------------------------------------------------- */

static void
explain_usage(FILE *out)
{
	fputs(
"usage: smtpprobe explain [--after COMMAND] [--json] [REPLY...]\n"
"\n"
"Explains SMTP replies offline: what the code and the enhanced status\n"
"code mean, whether the failure is permanent, who has to act, and what to\n"
"do.  A REPLY may be a raw reply (multi-line too; \"\\n\" in an argument\n"
"separates lines), a line copied from a bounce message, or a bare\n"
"enhanced code such as 5.7.1.  Without REPLY, reads standard input (at\n"
"most 64 KiB).\n"
"\n"
"options:\n"
"  --after COMMAND  the command the reply answers (GREETING, EHLO, HELO,\n"
"                   STARTTLS, AUTH, MAIL, RCPT, DATA, BDAT, RSET, VRFY,\n"
"                   EXPN, HELP, NOOP, QUIT); also checks that the code is\n"
"                   legal for it.  Overrides what the input names.\n"
"  --json           one JSON object per explained reply\n"
"  -h, --help       this help\n"
"\n"
"exit status: 0 explained, 64 usage error, 65 an input holds no\n"
"recognisable reply.\n", out);
}

/* Turn the two characters "\n" of an argument into a line break (a shell
 * argument cannot hold one easily); "\r" is dropped. */
static size_t
unescape_arg(char *s, size_t n)
{
	size_t	 i, w = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'n' ||
		    s[i + 1] == 'r')) {
			if (s[i + 1] == 'n')
				s[w++] = '\n';
			i++;
			continue;
		}
		s[w++] = s[i];
	}
	return w;
}

/* What the command line asks for. */
struct explain_opts {
	FILE	*out;
	FILE	*err;
	int	 after;		/* --after: enum codes_cmd, or -1 */
	bool	 json;
	size_t	 ninputs;	/* REPLY arguments; 0: standard input */
};

/* Explain one input; returns the number of replies explained. */
static size_t
explain_input(const struct explain_opts *o, const char *buf, size_t len,
    bool cut, size_t input)
{
	struct explain_reply	*rs;
	struct explained	 x;
	size_t			 n, i;
	size_t			 ninputs = o->ninputs > 0 ? o->ninputs : 1;

	if ((rs = calloc(EXPLAIN_REPLIES_MAX, sizeof(*rs))) == NULL) {
		fprintf(o->err, "smtpprobe explain: out of memory\n");
		return 0;
	}
	n = explain_parse(buf, len, rs, EXPLAIN_REPLIES_MAX);
	if (n == 0) {
		if (ninputs > 1)
			fprintf(o->err, "smtpprobe explain: input %zu holds no "
			    "recognisable SMTP reply\n", input);
		else
			fprintf(o->err, "smtpprobe explain: no recognisable "
			    "SMTP reply in the input\n");
	}
	for (i = 0; i < n; i++) {
		if (o->after >= 0) {
			rs[i].cmd = o->after;
			rs[i].cmd_source = EXPLAIN_CMD_OPTION;
		}
		explain_one(&rs[i], &x);
		if (o->json)
			print_json(o->out, &x, input, cut);
		else {
			if (i > 0 || input > 1)
				fputc('\n', o->out);
			print_text(o->out, &x, i, n, input, ninputs);
		}
	}
	if (n == EXPLAIN_REPLIES_MAX)
		fprintf(o->err, "smtpprobe explain: only the first %d replies "
		    "of input %zu were explained\n", EXPLAIN_REPLIES_MAX,
		    input);
	free(rs);
	return n;
}

/* "unknown ... 'ARG'" with the argument escaped and cut at 64 bytes. */
static void
bad_arg(FILE *err, const char *what, const char *arg, const char *tail)
{
	fprintf(err, "smtpprobe explain: unknown %s '", what);
	report_put_text(err, arg, strnlen(arg, 64));
	fprintf(err, "'%s\n", tail);
}

/*
 * The options, and the number of REPLY arguments, into o.  Returns -1 to
 * go on, or the exit status: 0 after --help, 64 for a usage error.
 */
static int
explain_options(int argc, char **argv, struct explain_opts *o)
{
	bool	 opts = true;
	int	 i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (opts && strcmp(a, "--") == 0) {
			opts = false;
			continue;
		}
		if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			explain_usage(o->out);
			return 0;
		}
		if (opts && strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (opts && (strcmp(a, "--after") == 0 ||
		    strncmp(a, "--after=", 8) == 0)) {
			v = a[7] == '=' ? a + 8 : NULL;
			if (v == NULL) {
				if (i + 1 >= argc) {
					fprintf(o->err, "smtpprobe explain: "
					    "--after needs a COMMAND\n");
					return 64;
				}
				v = argv[++i];
			}
			if ((o->after = codes_cmd_parse(v)) < 0) {
				bad_arg(o->err, "command", v, " for --after");
				return 64;
			}
			continue;
		}
		if (opts && a[0] == '-' && a[1] != '\0' &&
		    !isdigit((unsigned char)a[1])) {
			bad_arg(o->err, "option", a,
			    "\nTry 'smtpprobe explain --help'.");
			return 64;
		}
		o->ninputs++;
	}
	return -1;
}

/* No REPLY argument: explain standard input, at most EXPLAIN_INPUT_MAX
 * bytes of it.  Returns the exit status. */
static int
explain_stdin(const struct explain_opts *o, FILE *in, char *buf)
{
	size_t	 len = 0, got;
	bool	 cut;

	while (len < EXPLAIN_INPUT_MAX + 1 &&
	    (got = fread(buf + len, 1, EXPLAIN_INPUT_MAX + 1 - len, in)) > 0)
		len += got;
	cut = len > EXPLAIN_INPUT_MAX;
	if (cut) {
		len = EXPLAIN_INPUT_MAX;
		fprintf(o->err, "smtpprobe explain: input cut at %d bytes\n",
		    EXPLAIN_INPUT_MAX);
	}
	return explain_input(o, buf, len, cut, 1) == 0 ? 65 : 0;
}

/* Explain each REPLY argument.  The options were taken by
 * explain_options(): walk the arguments again and skip them.  Returns
 * the exit status. */
static int
explain_args(const struct explain_opts *o, int argc, char **argv, char *buf)
{
	bool	 opts = true, cut;
	size_t	 k = 0, len;
	int	 i, status = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = false;
			continue;
		}
		if (opts && (strcmp(a, "--json") == 0 ||
		    strncmp(a, "--after=", 8) == 0))
			continue;
		if (opts && strcmp(a, "--after") == 0) {
			i++;
			continue;
		}
		k++;
		len = strnlen(a, EXPLAIN_INPUT_MAX + 1);
		cut = len > EXPLAIN_INPUT_MAX;
		if (cut) {
			len = EXPLAIN_INPUT_MAX;
			fprintf(o->err, "smtpprobe explain: input %zu cut at %d "
			    "bytes\n", k, EXPLAIN_INPUT_MAX);
		}
		memcpy(buf, a, len);
		len = unescape_arg(buf, len);
		if (explain_input(o, buf, len, cut, k) == 0)
			status = 65;
	}
	return status;
}

int
explain_main(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	struct explain_opts	 o = { out, err, -1, false, 0 };
	char			*buf;
	int			 status;

	if ((status = explain_options(argc, argv, &o)) >= 0)
		return status;
	if ((buf = malloc(EXPLAIN_INPUT_MAX + 1)) == NULL) {
		fprintf(err, "smtpprobe explain: out of memory\n");
		return 70;
	}
	if (o.ninputs == 0)
		status = explain_stdin(&o, in, buf);
	else
		status = explain_args(&o, argc, argv, buf);
	free(buf);
	return status;
}
