/*
 * mx.c — pure MX post-processing and domain-name string helpers.
 *
 * Turns the MX records of one answer into the ordered, bounded list of
 * struct resolver_mx_result: sorted by preference, equal preferences
 * shuffled (RFC 5321 §5.1), null MX recognised (RFC 7505).  Owns nothing;
 * the only allocation is qsort's.  Randomness comes from the caller.
 */
#include <stdlib.h>
#include <string.h>

#include "resolver_internal.h"

static size_t
resolver_name_len(const char *s)
{
	size_t len, nbs;

	len = strlen(s);
	if (len == 0 || s[len - 1] != '.')
		return len;
	/* "a\." ends in an escaped dot that belongs to the label; only an
	 * even number of backslashes before the dot leaves it a separator. */
	for (nbs = 0; nbs < len - 1 && s[len - 2 - nbs] == '\\'; nbs++)
		;
	return (nbs % 2 == 0) ? len - 1 : len;
}

bool
resolver_name_copy(char *dst, size_t dstlen, const char *src)
{
	size_t len;

	if (dstlen == 0)
		return false;
	dst[0] = '\0';
	if (src == NULL)
		return true;
	len = resolver_name_len(src);
	if (len >= dstlen)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

static int
resolver_lower(int c)
{
	/* ASCII only: DNS case-insensitivity does not extend beyond it
	 * (RFC 4343 §3). */
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

bool
resolver_name_eq(const char *a, const char *b)
{
	size_t la, lb, i;

	if (a == NULL || b == NULL)
		return false;
	la = resolver_name_len(a);
	lb = resolver_name_len(b);
	if (la != lb)
		return false;
	for (i = 0; i < la; i++)
		if (resolver_lower((unsigned char)a[i]) !=
		    resolver_lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool
resolver_mx_is_root(const char *host)
{
	return host == NULL || host[0] == '\0' || strcmp(host, ".") == 0;
}

static int
resolver_mx_cmp(const void *va, const void *vb)
{
	const struct resolver_mx_in *a = va, *b = vb;

	/* qsort is not stable; the arrival index makes it so. */
	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

void
resolver_mx_fill(struct resolver_mx_result *res, struct resolver_mx_in *in,
    size_t n, resolver_rand_fn rnd, void *ctx)
{
	struct resolver_mx_in tmp;
	size_t i, j, k, m, nroot;

	res->n = 0;
	res->truncated = 0;
	res->null_mx = false;
	res->null_mx_mixed = false;
	if (in == NULL || n == 0)
		return;

	nroot = 0;
	for (i = 0; i < n; i++) {
		in[i].seq = i;
		if (resolver_mx_is_root(in[i].host))
			nroot++;
	}
	/* RFC 7505 §3: a null MX is the only MX record, "0 .".  A "." next
	 * to other records is a misconfiguration worth reporting. */
	if (n == 1 && nroot == 1 && in[0].pref == 0)
		res->null_mx = true;
	else if (nroot > 0 && n > 1)
		res->null_mx_mixed = true;

	qsort(in, n, sizeof(*in), resolver_mx_cmp);

	/* RFC 5321 §5.1: hosts of equal preference are tried in random
	 * order to spread the load.  Fisher-Yates within each run; the
	 * modulo bias of a 32-bit source over <= 2^16 items is negligible. */
	if (rnd != NULL) {
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && in[j].pref == in[i].pref; j++)
				;
			for (k = j - i - 1; k > 0; k--) {
				m = (size_t)rnd(ctx) % (k + 1);
				tmp = in[i + k];
				in[i + k] = in[i + m];
				in[i + m] = tmp;
			}
		}
	}

	/* Truncate after shuffling, so that a run cut by the cap still
	 * keeps a random subset of its hosts. */
	for (i = 0; i < n; i++) {
		if (res->n == RESOLVER_MAX_MX ||
		    !resolver_name_copy(res->mx[res->n].host,
		    sizeof(res->mx[res->n].host), in[i].host)) {
			res->truncated++;
			continue;
		}
		res->mx[res->n].pref = in[i].pref;
		res->n++;
	}
}
