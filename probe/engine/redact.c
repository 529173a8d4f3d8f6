/*
 * redact.c — credentials kept out of server text (redact.h).
 *
 * Owns copies of the forms (wiped with auth_wipe() when freed) and two
 * sorted tables of their windows: every REDACT_B64_RUN bytes of a base64
 * form, every REDACT_PLAIN_RUN bytes (lower-cased) of a plain one, each
 * packed into a 64-bit key.  redact_apply() looks at each position of the
 * text once: the windows that start there (two binary searches) and the
 * whole forms shorter than a window; what they cover is replaced, as one
 * mark per run.  Limits: REDACT_FORMS_MAX forms.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "redact.h"

struct form {
	char	*s;
	size_t	 n;
	bool	 b64;
};

struct redact {
	struct form	 forms[REDACT_FORMS_MAX];
	size_t		 nforms;
	uint64_t	*b64keys;	/* sorted windows of the base64 forms */
	size_t		 nb64;
	uint64_t	*plainkeys;	/* sorted windows of the plain forms */
	size_t		 nplain;
};

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool
alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* The key of the w bytes at s (lower-cased when fold). */
static uint64_t
key(const char *s, size_t w, bool fold)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < w; i++)
		k = (k << 8) | (fold ? lower((unsigned char)s[i]) :
		    (unsigned char)s[i]);
	return k;
}

static int
cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool
has_key(const uint64_t *keys, size_t n, uint64_t k)
{
	return n > 0 && bsearch(&k, keys, n, sizeof(k), cmp_key) != NULL;
}

/* The sorted keys of every window of the forms of one kind (base64
 * forms: REDACT_B64_RUN bytes; plain ones, lower-cased: REDACT_PLAIN_RUN);
 * *keys is NULL when there is none.  -1 without memory. */
static int
window_keys(const struct redact *r, bool b64, uint64_t **keys, size_t *n)
{
	size_t i, j, count = 0, w = b64 ? REDACT_B64_RUN : REDACT_PLAIN_RUN;
	uint64_t *k;

	*keys = NULL;
	*n = 0;
	for (i = 0; i < r->nforms; i++)
		if (r->forms[i].b64 == b64 && r->forms[i].n >= w)
			count += r->forms[i].n - w + 1;
	if (count == 0)
		return 0;
	if ((k = calloc(count, sizeof(*k))) == NULL)
		return -1;
	for (i = 0; i < r->nforms; i++) {
		const struct form *f = &r->forms[i];

		for (j = 0; f->b64 == b64 && j + w <= f->n; j++)
			k[(*n)++] = key(f->s + j, w, !b64);
	}
	qsort(k, *n, sizeof(*k), cmp_key);
	*keys = k;
	return 0;
}

/* Rebuild the window tables from the forms; -1 without memory. */
static int
rebuild(struct redact *r)
{
	uint64_t *b, *p;
	size_t nb, np;

	if (window_keys(r, true, &b, &nb) != 0)
		return -1;
	if (window_keys(r, false, &p, &np) != 0) {
		free(b);
		return -1;
	}
	free(r->b64keys);
	free(r->plainkeys);
	r->b64keys = b;
	r->nb64 = nb;
	r->plainkeys = p;
	r->nplain = np;
	return 0;
}

static int
add_form(struct redact *r, const char *s, size_t n, bool b64)
{
	struct form *f;

	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < r->nforms; i++)
		if (r->forms[i].n == n && r->forms[i].b64 == b64 &&
		    memcmp(r->forms[i].s, s, n) == 0)
			return 0;
	if (r->nforms >= REDACT_FORMS_MAX)
		return -1;
	f = &r->forms[r->nforms];
	if ((f->s = malloc(n)) == NULL)
		return -1;
	memcpy(f->s, s, n);
	f->n = n;
	f->b64 = b64;
	r->nforms++;
	return rebuild(r);
}

struct redact *
redact_new(void)
{
	return calloc(1, sizeof(struct redact));
}

void
redact_free(struct redact *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nforms; i++) {
		auth_wipe(r->forms[i].s, r->forms[i].n);
		free(r->forms[i].s);
	}
	/* The windows are the secrets too, a few bytes at a time. */
	if (r->b64keys != NULL)
		auth_wipe(r->b64keys, r->nb64 * sizeof(*r->b64keys));
	if (r->plainkeys != NULL)
		auth_wipe(r->plainkeys, r->nplain * sizeof(*r->plainkeys));
	free(r->b64keys);
	free(r->plainkeys);
	free(r);
}

int
redact_add_plain(struct redact *r, const char *s, size_t n)
{
	return add_form(r, s, n, false);
}

int
redact_add_b64(struct redact *r, const char *s, size_t n)
{
	return add_form(r, s, n, true);
}

int
redact_add_secret(struct redact *r, const char *s, size_t n)
{
	char b64[(AUTH_USER_MAX + AUTH_PASSWORD_MAX) * 2];
	int k;

	if (n == 0)
		return 0;
	if (redact_add_plain(r, s, n) != 0)
		return -1;
	k = auth_b64_encode((const unsigned char *)s, n, b64, sizeof(b64));
	if (k < 0)
		return -1;
	k = redact_add_b64(r, b64, (size_t)k);
	auth_wipe(b64, sizeof(b64));
	return k;
}

int
redact_add_response(struct redact *r, const char *s, size_t n)
{
	unsigned char dec[AUTH_LINE_MAX];
	int k, rc;
	size_t sp;

	if (redact_add_b64(r, s, n) != 0)
		return -1;
	if ((k = auth_b64_decode(s, n, dec, sizeof(dec))) <= 0)
		return 0;
	rc = redact_add_plain(r, (const char *)dec, (size_t)k);
	/* CRAM-MD5 (RFC 2195 §2): "user SP digest". */
	for (sp = (size_t)k; sp > 0 && dec[sp - 1] != ' '; sp--)
		;
	if (rc == 0 && sp > 0 && sp < (size_t)k)
		rc = redact_add_plain(r, (const char *)dec + sp,
		    (size_t)k - sp);
	auth_wipe(dec, sizeof(dec));
	return rc;
}

/* Bytes covered by a form that starts at text[i]: the longest match of a
 * whole form, or a window. */
static size_t
match_at(const struct redact *r, const char *text, size_t len, size_t i)
{
	size_t best = 0, k, j;

	if (i + REDACT_B64_RUN <= len &&
	    has_key(r->b64keys, r->nb64, key(text + i, REDACT_B64_RUN,
	    false)))
		best = REDACT_B64_RUN;
	if (i + REDACT_PLAIN_RUN <= len &&
	    has_key(r->plainkeys, r->nplain, key(text + i, REDACT_PLAIN_RUN,
	    true)))
		best = REDACT_PLAIN_RUN;
	for (k = 0; k < r->nforms; k++) {
		const struct form *f = &r->forms[k];

		if (f->n <= best || i + f->n > len)
			continue;
		for (j = 0; j < f->n; j++)
			if (f->b64 ? text[i + j] != f->s[j] :
			    lower((unsigned char)text[i + j]) !=
			    lower((unsigned char)f->s[j]))
				break;
		if (j < f->n)
			continue;
		/* One or two bytes only as a word of their own. */
		if (f->n < 3 && ((i > 0 && alnum((unsigned char)text[i - 1])) ||
		    (i + f->n < len && alnum((unsigned char)text[i + f->n]))))
			continue;
		best = f->n;
	}
	return best;
}

size_t
redact_apply(const struct redact *r, const char *text, size_t len,
    char *out, size_t outlen)
{
	size_t i, o = 0, covered = 0, keep = 0, m;
	const size_t mark = sizeof(REDACT_MARK) - 1;
	bool masked = false;	/* the byte before was replaced */

	if (outlen == 0)
		return 0;
	/* A reply code at the start stays as it is. */
	if (len >= 3 && text[0] >= '0' && text[0] <= '9' && text[1] >= '0' &&
	    text[1] <= '9' && text[2] >= '0' && text[2] <= '9')
		keep = 3;
	for (i = 0; i < len; i++) {
		if (r != NULL && i >= keep &&
		    (m = match_at(r, text, len, i)) > 0 && i + m > covered)
			covered = i + m;
		if (i < covered) {
			/* One mark for a run, however many forms in it. */
			if (!masked && o + mark >= outlen)
				break;
			if (!masked) {
				memcpy(out + o, REDACT_MARK, mark);
				o += mark;
			}
			masked = true;
			continue;
		}
		masked = false;
		if (o + 1 >= outlen)
			break;
		out[o++] = text[i];
	}
	out[o] = '\0';
	return o;
}
