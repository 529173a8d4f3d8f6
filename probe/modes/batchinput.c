/*
 * batchinput.c — the line reader and the duplicate table of batch mode.
 *
 * The reader takes a line byte by byte (getc: the input is a list of
 * short lines, and this keeps the bound simple): at most BATCH_LINE_MAX
 * + 1 bytes are kept, the rest is only counted and scanned for NUL and
 * CR, so a 1 GB line without a line end costs no memory.  Classifying a
 * line is pure (batch_line_classify) and unit-tested.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batchinput.h"

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A copy of raw for display, NUL bytes and all (len says how long): the
 * reports escape every control byte themselves, so a NUL is shown once
 * as \x00 and not as an escape of an escape. */
static void
display(const char *raw, size_t len, struct batch_line *out)
{
	if (len >= sizeof(out->text))
		len = sizeof(out->text) - 1;
	memcpy(out->text, raw, len);
	out->text[len] = '\0';
	out->len = len;
}

void
batch_line_classify(const char *raw, size_t kept, size_t total, long nul_at,
    long cr_at, bool first, unsigned long lineno, struct batch_line *out)
{
	size_t start = 0, end = kept;

	memset(out, 0, offsetof(struct batch_line, text));
	out->text[0] = '\0';
	out->why[0] = '\0';
	out->lineno = lineno;
	/* CRLF: the CR of the line end is not part of the line. */
	if (total > 0 && kept == total && raw[kept - 1] == '\r') {
		end--;
		total--;
		if (cr_at == (long)end)
			cr_at = -1;
	}
	if (end > total)
		end = total;
	if (first && end >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	while (start < end && blank(raw[start]))
		start++;
	/* A comment may be as long as it likes and hold anything. */
	if (start < end && raw[start] == '#') {
		out->kind = BATCH_LINE_SKIP;
		return;
	}
	if (nul_at >= 0) {
		out->kind = BATCH_LINE_INVALID;
		snprintf(out->why, sizeof(out->why), "line %lu holds a NUL byte "
		    "at column %ld", lineno, nul_at + 1);
		display(raw + start, end - start, out);
		return;
	}
	if (cr_at >= 0) {
		out->kind = BATCH_LINE_INVALID;
		snprintf(out->why, sizeof(out->why), "line %lu holds a carriage "
		    "return (CR) at column %ld, not at its end", lineno,
		    cr_at + 1);
		display(raw + start, end - start, out);
		return;
	}
	if (total > BATCH_LINE_MAX) {
		out->kind = BATCH_LINE_INVALID;
		snprintf(out->why, sizeof(out->why), "line %lu is %zu bytes "
		    "long; the limit is %d", lineno, total, BATCH_LINE_MAX);
		display(raw + start, end - start < 254 ? end - start : 254,
		    out);
		return;
	}
	while (end > start && blank(raw[end - 1]))
		end--;
	if (start == end) {
		out->kind = BATCH_LINE_SKIP;
		return;
	}
	out->kind = BATCH_LINE_ADDRESS;
	memcpy(out->text, raw + start, end - start);
	out->text[end - start] = '\0';
	out->len = end - start;
}

void
batch_reader_init(struct batch_reader *r, FILE *in, const char *column)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->column = column;
	r->col = -1;
}

/* ---- CSV lists (--column) ---------------------------------------------- */

int
batch_csv_field(const char *s, size_t len, size_t k, char *out,
    size_t outlen)
{
	size_t i = 0, o = 0, f = 0;
	bool quoted;

	for (;;) {
		while (i < len && blank(s[i]))
			i++;
		quoted = i < len && s[i] == '"';
		i += quoted;
		o = 0;
		for (; i < len; i++) {
			if (quoted && s[i] == '"') {
				if (i + 1 < len && s[i + 1] == '"')
					i++;	/* a doubled quote */
				else {
					quoted = false;
					continue;
				}
			} else if (!quoted && s[i] == ',')
				break;
			if (f == k && o + 1 < outlen)
				out[o++] = s[i];
		}
		if (quoted)
			return -1;
		if (f == k) {
			size_t b0 = 0;

			while (o > 0 && blank(out[o - 1]))
				o--;
			while (b0 < o && blank(out[b0]))
				b0++;
			memmove(out, out + b0, o - b0);
			if (outlen > 0)
				out[o - b0] = '\0';
			return 1;
		}
		if (i >= len)
			return 0;
		i++;	/* the comma */
		f++;
	}
}

long
batch_csv_column(const char *s, size_t len, const char *name)
{
	char field[BATCH_LINE_MAX + 1];
	size_t k;
	int rc;

	for (k = 0; (rc = batch_csv_field(s, len, k, field,
	    sizeof(field))) == 1; k++)
		if (strcasecmp(field, name) == 0)
			return (long)k;
	return -1;
}

/* A CSV list's line (classified as an address line): the header, or the
 * address in the column. */
static void
csv_line(struct batch_reader *r, struct batch_line *out)
{
	char field[sizeof(out->text)];
	int rc;

	if (r->col < 0) {
		if ((r->col = batch_csv_column(out->text, out->len,
		    r->column)) < 0) {
			r->no_column = true;
			r->eof = true;
			r->error = EINVAL;
		}
		out->kind = BATCH_LINE_SKIP;
		return;
	}
	rc = batch_csv_field(out->text, out->len, (size_t)r->col, field,
	    sizeof(field));
	if (rc == 1 && field[0] == '\0') {
		out->kind = BATCH_LINE_SKIP;	/* an empty cell */
		return;
	}
	if (rc != 1) {
		out->kind = BATCH_LINE_INVALID;
		snprintf(out->why, sizeof(out->why), rc == 0 ? "line %lu has "
		    "no column %s" : "line %lu has a quoted field that is not "
		    "closed on the line", out->lineno, r->column);
		return;
	}
	out->len = strlen(field);
	memcpy(out->text, field, out->len + 1);
}

int
batch_reader_next(struct batch_reader *r, struct batch_line *out)
{
	size_t kept = 0, total = 0;
	long nul_at = -1, cr_at = -1;
	bool prev_cr = false;
	int c;

	if (r->eof)
		return 0;
	for (;;) {
		c = getc(r->in);
		if (c == EOF) {
			if (ferror(r->in))
				r->error = errno != 0 ? errno : EIO;
			r->eof = true;
			if (total == 0)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		/* A CR counts as "in the middle" once anything follows it. */
		if (prev_cr && cr_at < 0)
			cr_at = (long)total - 1;
		prev_cr = c == '\r';
		if (c == '\0' && nul_at < 0)
			nul_at = (long)total;
		if (kept < sizeof(r->buf))
			r->buf[kept++] = (char)c;
		total++;
	}
	/* A CR that ends a line kept whole is its CRLF (classify strips it);
	 * a final CR of a line too long to keep is not looked at. */
	r->lineno++;
	batch_line_classify(r->buf, kept, total, nul_at, cr_at,
	    r->lineno == 1, r->lineno, out);
	if (r->column != NULL && out->kind == BATCH_LINE_ADDRESS)
		csv_line(r, out);
	return r->no_column ? 0 : 1;
}

/* ---- duplicates ------------------------------------------------------- */

size_t
batch_dup_key(const char *local, const char *domain, char *out, size_t outlen)
{
	size_t n;
	int w;

	w = snprintf(out, outlen, "%s@", local);
	if (w < 0 || (size_t)w >= outlen)
		return 0;
	n = (size_t)w;
	for (; *domain != '\0' && n + 1 < outlen; domain++)
		out[n++] = (char)tolower((unsigned char)*domain);
	out[n] = '\0';
	return n;
}

/* FNV-1a, 64 bits, from two different starting points: 128 bits in all,
 * so two distinct addresses are never taken for one another. */
static void
hash2(const char *key, size_t len, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = UINT64_C(0xcbf29ce484222325);
	uint64_t b = UINT64_C(0x84222325cbf29ce4) ^ (uint64_t)len;
	size_t i;

	for (i = 0; i < len; i++) {
		a = (a ^ (unsigned char)key[i]) * UINT64_C(0x100000001b3);
		b = (b ^ (unsigned char)key[len - 1 - i]) *
		    UINT64_C(0x100000001b3);
	}
	*h1 = a;
	*h2 = b ^ (b >> 29);
}

void
batch_seen_init(struct batch_seen *s)
{
	memset(s, 0, sizeof(*s));
}

void
batch_seen_free(struct batch_seen *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static struct batch_seen_entry *
lookup(struct batch_seen_entry *slots, size_t nslots, uint64_t h1,
    uint64_t h2)
{
	size_t i = (size_t)(h1 ^ (h2 << 7)) & (nslots - 1);

	while (slots[i].used && !(slots[i].h1 == h1 && slots[i].h2 == h2))
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static bool
grow(struct batch_seen *s)
{
	size_t n = s->nslots == 0 ? 1024 : s->nslots * 2, i;
	struct batch_seen_entry *slots, *e;

	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return false;
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].used) {
			e = lookup(slots, n, s->slots[i].h1, s->slots[i].h2);
			*e = s->slots[i];
		}
	free(s->slots);
	s->slots = slots;
	s->nslots = n;
	return true;
}

struct batch_seen_entry *
batch_seen_get(struct batch_seen *s, const char *key, size_t len)
{
	struct batch_seen_entry *e;
	uint64_t h1, h2;

	if (s->nslots == 0)
		return NULL;
	hash2(key, len, &h1, &h2);
	e = lookup(s->slots, s->nslots, h1, h2);
	return e->used ? e : NULL;
}

struct batch_seen_entry *
batch_seen_put(struct batch_seen *s, const char *key, size_t len,
    uint32_t index, uint32_t line, bool *dup)
{
	struct batch_seen_entry *e;
	uint64_t h1, h2;

	*dup = false;
	if ((e = batch_seen_get(s, key, len)) != NULL) {
		*dup = true;
		return e;
	}
	if (s->n >= BATCH_SEEN_MAX) {
		s->full = true;
		return NULL;
	}
	/* Load factor at most one half: short probe sequences. */
	if ((s->n + 1) * 2 > s->nslots && !grow(s))
		return NULL;
	hash2(key, len, &h1, &h2);
	e = lookup(s->slots, s->nslots, h1, h2);
	memset(e, 0, sizeof(*e));
	e->h1 = h1;
	e->h2 = h2;
	e->index = index;
	e->line = line;
	e->used = 1;
	s->n++;
	return e;
}
