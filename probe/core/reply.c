/*
 * reply.c — tolerant, bounded parser of SMTP replies and EHLO keywords.
 *
 * Owns the replies it assembles until it hands them out.  Limits: lines
 * per reply (LIMIT_REPLY_LINES), bytes kept per reply (LIMIT_REPLY_BYTES);
 * the line length itself is bounded by the caller (conn layer), which
 * never passes more than LIMIT_REPLY_LINE_HARD bytes.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "names.h"
#include "reply.h"

static const char *const deviation_names[REPLY_DEV_COUNT] = {
	"bare_lf", "line_too_long", "mixed_codes", "bad_separator",
	"control_characters", "enhanced_class_mismatch", "code_out_of_range",
	"truncated", "malformed",
};

const char *
reply_deviation_name(unsigned bit_index)
{
	return NAME_OF(deviation_names, bit_index, "unknown");
}

void
reply_parser_init(struct reply_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static void
free_lines(struct reply *r)
{
	size_t i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i].text);
	r->nlines = 0;
}

void
reply_free(struct reply *r)
{
	if (r == NULL)
		return;
	free_lines(r);
	free(r);
}

void
reply_parser_reset(struct reply_parser *p)
{
	reply_free(p->cur);
	p->cur = NULL;
	p->kept_bytes = 0;
}

/* Three digits at the start of line; -1 when there are not. */
static int
line_code(const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39 */
static bool
code_in_range(int code)
{
	int first = code / 100, second = (code / 10) % 10;

	return first >= 2 && first <= 5 && second <= 5;
}

static bool
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static enum reply_status
keep_line(struct reply_parser *p, const char *text, size_t len)
{
	struct reply *r = p->cur;
	struct reply_line *l;

	if (r->nlines >= LIMIT_REPLY_LINES ||
	    p->kept_bytes + len > LIMIT_REPLY_BYTES) {
		r->deviations |= REPLY_DEV_TRUNCATED;
		return REPLY_MORE;
	}
	l = &r->lines[r->nlines];
	if ((l->text = malloc(len + 1)) == NULL)
		return REPLY_NOMEM;
	memcpy(l->text, text, len);
	l->text[len] = '\0';
	l->len = len;
	r->nlines++;
	p->kept_bytes += len;
	return REPLY_MORE;
}

/* The reply the line belongs to (a new one after the last ended), with
 * the line counted and its deviations recorded; NULL without memory. */
static struct reply *
line_reply(struct reply_parser *p, const char *line, size_t len, bool crlf)
{
	struct reply *r;

	if (p->cur == NULL) {
		if ((p->cur = calloc(1, sizeof(*p->cur))) == NULL)
			return NULL;
		p->kept_bytes = 0;
	}
	r = p->cur;
	r->lines_seen++;
	r->bytes += len + (crlf ? 2 : 1);
	if (!crlf)
		r->deviations |= REPLY_DEV_BARE_LF;
	if (len + 2 > LIMIT_REPLY_LINE_RFC)
		r->deviations |= REPLY_DEV_LINE_TOO_LONG;
	if (has_control(line, len))
		r->deviations |= REPLY_DEV_CONTROL_CHARS;
	return r;
}

/*
 * RFC 5321 §4.2.1: "NNN-" goes on, "NNN SP" or a bare "NNN" ends (clients
 * must accept the SP being left out).  Anything else after the code is a
 * bad separator; we take such a line as the last.  True for the last
 * line; *skip is the length of the code and separator.
 */
static bool
line_is_last(struct reply *r, const char *line, size_t len, size_t *skip)
{
	if (len == 3) {
		*skip = 3;
		return true;
	}
	if (line[3] == '-') {
		*skip = 4;
		return false;
	}
	if (line[3] == ' ') {
		*skip = 4;
		return true;
	}
	r->deviations |= REPLY_DEV_BAD_SEPARATOR;
	*skip = 3;
	return true;
}

/*
 * Mixed codes, already recorded: the last line ends the reply and its
 * code stands.  Postfix postscreen sends a "220-" teaser and, when it
 * then drops the client, a final "521" line: that refusal, not the
 * teaser, is the answer.  The earlier lines stay in the transcript only.
 */
static void
restart_at_last_line(struct reply_parser *p, struct reply *r, int code)
{
	free_lines(r);
	p->kept_bytes = 0;
	r->code = code;
	r->esc_class = r->esc_subject = r->esc_detail = 0;
	r->deviations &= ~REPLY_DEV_CLASS_MISMATCH;
	if (!code_in_range(code))
		r->deviations |= REPLY_DEV_CODE_RANGE;
}

/* The enhanced status code at the start of text, if there is one. */
static void
take_enhanced(struct reply *r, const char *text, size_t len)
{
	int cls, subj, det;

	if (codes_enhanced_parse(text, len, &cls, &subj, &det) == 0)
		return;
	r->esc_class = cls;
	r->esc_subject = subj;
	r->esc_detail = det;
	if (cls != r->code / 100)
		r->deviations |= REPLY_DEV_CLASS_MISMATCH;
}

/* Hand the reply out, ending it with st. */
static enum reply_status
hand_out(struct reply_parser *p, struct reply **out, enum reply_status st)
{
	*out = p->cur;
	p->cur = NULL;
	if (st == REPLY_FATAL && *out != NULL)
		(*out)->incomplete = true;
	return st;
}

enum reply_status
reply_parser_line(struct reply_parser *p, const char *line, size_t len,
    bool crlf, struct reply **out)
{
	struct reply *r;
	enum reply_status st;
	int code;
	bool last;
	size_t skip;

	*out = NULL;
	if ((r = line_reply(p, line, len, crlf)) == NULL)
		return REPLY_NOMEM;
	code = line_code(line, len);
	if (code < 0) {
		r->deviations |= REPLY_DEV_MALFORMED;
		(void)keep_line(p, line, len);
		return hand_out(p, out, REPLY_FATAL);
	}
	if (r->lines_seen == 1) {
		r->code = r->first_code = code;
		if (!code_in_range(code))
			r->deviations |= REPLY_DEV_CODE_RANGE;
	} else if (code != r->code)
		r->deviations |= REPLY_DEV_MIXED_CODES;
	r->classes |= 1u << (code / 100);

	last = line_is_last(r, line, len, &skip);
	if (last && r->lines_seen > 1 && code != r->code)
		restart_at_last_line(p, r, code);
	if ((r->lines_seen == 1 || (last && r->esc_class == 0 &&
	    code == r->code && (r->deviations & REPLY_DEV_MIXED_CODES))) &&
	    r->code / 100 != 3)
		take_enhanced(r, line + skip, len - skip);

	if ((st = keep_line(p, line + skip, len - skip)) != REPLY_MORE)
		return st;
	if (!last) {
		/* A reply that never ends would be cut off by the stage
		 * timeout; these bound the work done for it before that. */
		if (r->lines_seen > LIMIT_REPLY_LINES_HARD)
			r->cut = REPLY_CUT_LINES;
		else if (r->bytes > LIMIT_REPLY_BYTES_HARD)
			r->cut = REPLY_CUT_BYTES;
		if (r->cut != REPLY_CUT_NONE) {
			r->deviations |= REPLY_DEV_TRUNCATED;
			return hand_out(p, out, REPLY_FATAL);
		}
		return REPLY_MORE;
	}
	return hand_out(p, out, REPLY_DONE);
}

bool
reply_contradicts(const struct reply *r)
{
	if (r->classes & ~(1u << (r->code / 100)))
		return true;
	return r->esc_class != 0 && r->esc_class != r->code / 100;
}

const char *
reply_esc_str(const struct reply *r, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if (r->esc_class == 0)
		buf[0] = '\0';
	else
		snprintf(buf, len, "%d.%d.%d", r->esc_class, r->esc_subject,
		    r->esc_detail);
	return buf;
}

static const char *
join(const struct reply *r, char *buf, size_t len, bool noesc)
{
	size_t i, j, o = 0;

	if (len == 0)
		return buf;
	for (i = 0; i < r->nlines; i++) {
		const char *t = r->lines[i].text;
		size_t n = r->lines[i].len;
		int c1, c2, c3;

		if (noesc && r->code / 100 != 3) {
			size_t k = codes_enhanced_parse(t, n, &c1, &c2, &c3);
			if (k > 0) {
				t += k;
				n -= k;
				while (n > 0 && (*t == ' ' || *t == '\t')) {
					t++;
					n--;
				}
			}
		}
		if (i > 0 && o + 1 < len)
			buf[o++] = '\n';
		for (j = 0; j < n && o + 1 < len; j++)
			buf[o++] = t[j] == '\0' ? '?' : t[j];
	}
	buf[o] = '\0';
	return buf;
}

const char *
reply_text_join(const struct reply *r, char *buf, size_t len)
{
	return join(r, buf, len, false);
}

const char *
reply_text_join_noesc(const struct reply *r, char *buf, size_t len)
{
	return join(r, buf, len, true);
}

/* Whether the space-separated list has w in it. */
static bool
has_word(const char *list, const char *w)
{
	size_t wl = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[wl] == '\0' || p[wl] == ' '))
			return true;
		p += wl;
	}
	return false;
}

/* Copy the first whitespace-delimited word of s[0..n) into dst. */
static size_t
word(const char *s, size_t n, char *dst, size_t dstlen)
{
	size_t i = 0, o = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (i < n && s[i] != ' ' && s[i] != '\t') {
		if (o + 1 < dstlen)
			dst[o++] = s[i];
		i++;
	}
	if (dstlen > 0)
		dst[o] = '\0';
	return i;
}

/* Append the space-separated mechanisms in s[0..n) to caps->auth,
 * upper-cased, each once, control bytes shown as '?'. */
static void
add_mechanisms(struct ehlo_caps *caps, const char *s, size_t n)
{
	char mech[64];
	size_t used, k, o;

	while (n > 0) {
		used = word(s, n, mech, sizeof(mech));
		s += used;
		n -= used;
		if (mech[0] == '\0')
			break;
		for (k = 0; mech[k] != '\0'; k++) {
			unsigned char c = (unsigned char)mech[k];
			mech[k] = (c < 0x20 || c == 0x7f) ? '?' :
			    (char)toupper(c);
		}
		if (has_word(caps->auth, mech))
			continue;
		o = strlen(caps->auth);
		if (o + strlen(mech) + 2 > sizeof(caps->auth))
			break;
		snprintf(caps->auth + o, sizeof(caps->auth) - o, "%s%s",
		    o > 0 ? " " : "", mech);
	}
}

/* The SIZE argument (RFC 1870 §4): digits only; anything else, or a
 * number too large for 64 bits, reads as 0, "no limit announced". */
static unsigned long long
size_value(const char *num)
{
	unsigned long long v = 0;
	const char *p;

	if (*num == '\0')
		return 0;
	for (p = num; *p != '\0'; p++) {
		unsigned long long d;

		if (*p < '0' || *p > '9')
			return 0;
		d = (unsigned long long)(*p - '0');
		if (v > (~0ULL - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

/* The keywords that only say "supported". */
static const struct {
	const char	*keyword;
	size_t		 flag;		/* offset of its bool in ehlo_caps */
} ehlo_flags[] = {
	{ "STARTTLS", offsetof(struct ehlo_caps, starttls) },
	{ "PIPELINING", offsetof(struct ehlo_caps, pipelining) },
	{ "8BITMIME", offsetof(struct ehlo_caps, eightbitmime) },
	{ "SMTPUTF8", offsetof(struct ehlo_caps, smtputf8) },
	{ "ENHANCEDSTATUSCODES", offsetof(struct ehlo_caps,
	    enhancedstatuscodes) },
	{ "CHUNKING", offsetof(struct ehlo_caps, chunking) },
	{ "DSN", offsetof(struct ehlo_caps, dsn) },
	{ "REQUIRETLS", offsetof(struct ehlo_caps, requiretls) },
};

/* Set the flag of keyword kw (upper case); false when it has none. */
static bool
ehlo_flag(struct ehlo_caps *caps, const char *kw)
{
	size_t i;

	for (i = 0; i < sizeof(ehlo_flags) / sizeof(ehlo_flags[0]); i++)
		if (strcmp(kw, ehlo_flags[i].keyword) == 0) {
			*(bool *)(void *)((char *)caps + ehlo_flags[i].flag) =
			    true;
			return true;
		}
	return false;
}

void
ehlo_parse(const struct reply *r, struct ehlo_caps *caps)
{
	size_t i, k;

	memset(caps, 0, sizeof(*caps));
	if (r->nlines == 0)
		return;
	(void)word(r->lines[0].text, r->lines[0].len, caps->name,
	    sizeof(caps->name));

	/* RFC 5321 §4.1.1.1: each line after the first is
	 * ehlo-keyword *(SP ehlo-param). */
	for (i = 1; i < r->nlines; i++) {
		const char *t = r->lines[i].text;
		size_t n = r->lines[i].len, used;
		char kw[32];

		used = word(t, n, kw, sizeof(kw));
		if (kw[0] == '\0')
			continue;
		for (k = 0; kw[k] != '\0'; k++)
			kw[k] = (char)toupper((unsigned char)kw[k]);
		if (caps->nkeywords < LIMIT_EHLO_KEYWORDS) {
			memcpy(caps->keywords[caps->nkeywords], kw, sizeof(kw));
			caps->nkeywords++;
		} else
			caps->keywords_dropped++;

		if (ehlo_flag(caps, kw))
			continue;
		if (strcmp(kw, "SIZE") == 0) {
			char num[32];
			caps->has_size = true;
			(void)word(t + used, n - used, num, sizeof(num));
			caps->size = size_value(num);
		} else if (strncmp(kw, "AUTH", 4) == 0 &&
		    (kw[4] == '\0' || kw[4] == '=')) {
			/* "AUTH=" is the pre-RFC 4954 form some servers
			 * still send beside the standard one. */
			while (n > 0 && (*t == ' ' || *t == '\t')) {
				t++;
				n--;
			}
			t += 4;
			n -= 4;
			if (n > 0 && *t == '=') {
				t++;
				n--;
			}
			add_mechanisms(caps, t, n);
		}
	}
}
