/*
 * mtasts_facts.c — what MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) records
 * and policies say (mtasts_facts.h): the pure parsers, the names of the
 * states and modes, and the copy of a domain's facts.  No I/O: the
 * look-ups and the fetch are the engine's (engine/mtasts.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtasts_facts.h"
#include "names.h"

#define MTASTS_MAX_AGE_MAX	31557600L	/* RFC 8461 §3.2: one year */

const char *
mtasts_mode_name(enum mtasts_mode m)
{
	static const char *const names[] = {
		"unset", "enforce", "testing", "none"
	};

	return NAME_OF(names, m, "unset");
}

const char *
mtasts_state_name(enum mtasts_state s)
{
	static const char *const names[] = {
		"not_looked_up", "lookup_failed", "no_record", "record_invalid",
		"not_fetched", "fetch_failed", "policy_invalid", "policy"
	};

	return NAME_OF(names, s, "unknown");
}

/* ---- the pure parsers ------------------------------------------------- */

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A host name pattern of an "mx" line: an optional "*." and labels of
 * letters, digits and hyphens (RFC 8461 §3.2, RFC 1123 §2.1). */
static bool
valid_pattern(const char *p, size_t n)
{
	size_t i, label = 0;

	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		p += 2;
		n -= 2;
	}
	if (n == 0 || n >= RESOLVER_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)p[i]) || p[i] == '-') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return true;
}

static bool
fail_policy(struct mtasts_policy *p, const char *why, size_t line)
{
	snprintf(p->error, sizeof(p->error), "line %zu: %s", line, why);
	return false;
}

/* val[0..len) is all ASCII digits (val need not end with a NUL). */
static bool
all_digits(const char *val, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (val[i] < '0' || val[i] > '9')
			return false;
	return true;
}

/* One "key: value" line; false when it makes the policy invalid. */
static bool
policy_field(struct mtasts_policy *p, const char *key, size_t klen,
    const char *val, size_t vlen, size_t line, unsigned *seen)
{
	char *end;
	char num[16];

	if (klen == 7 && strncasecmp(key, "version", 7) == 0) {
		if (!(*seen & 1) && (vlen != 5 || strncmp(val, "STSv1", 5) != 0))
			return fail_policy(p, "version is not STSv1", line);
		*seen |= 1;
	} else if (klen == 4 && strncasecmp(key, "mode", 4) == 0) {
		if (*seen & 2)
			return true;	/* the first of a field counts */
		if (vlen == 7 && strncasecmp(val, "enforce", 7) == 0)
			p->mode = MTASTS_MODE_ENFORCE;
		else if (vlen == 7 && strncasecmp(val, "testing", 7) == 0)
			p->mode = MTASTS_MODE_TESTING;
		else if (vlen == 4 && strncasecmp(val, "none", 4) == 0)
			p->mode = MTASTS_MODE_NONE;
		else
			return fail_policy(p, "mode is not enforce, testing or "
			    "none", line);
		*seen |= 2;
	} else if (klen == 7 && strncasecmp(key, "max_age", 7) == 0) {
		if (*seen & 4)
			return true;
		if (vlen == 0 || vlen > 10 || !all_digits(val, vlen))
			return fail_policy(p, "max_age is not a number of "
			    "seconds", line);
		memcpy(num, val, vlen);
		num[vlen] = '\0';
		p->max_age = strtol(num, &end, 10);
		if (p->max_age > MTASTS_MAX_AGE_MAX)
			return fail_policy(p, "max_age is over 31557600 (one "
			    "year)", line);
		*seen |= 4;
	} else if (klen == 2 && strncasecmp(key, "mx", 2) == 0) {
		if (vlen > 0 && val[vlen - 1] == '.')
			vlen--;
		if (!valid_pattern(val, vlen))
			return fail_policy(p, "an mx pattern is not a host name "
			    "or *.domain", line);
		if (p->nmx == LIMIT_MTASTS_MX)
			p->mx_more++;
		else
			snprintf(p->mx[p->nmx++], sizeof(p->mx[0]), "%.*s",
			    (int)vlen, val);
	}
	/* Any other key is an extension: ignored (§3.2). */
	return true;
}

void
mtasts_parse_policy(const char *text, size_t len, struct mtasts_policy *p)
{
	const char *line = text, *end = text + len, *nl, *colon, *v;
	size_t n, ln = 0, vlen;
	unsigned seen = 0;

	memset(p, 0, sizeof(*p));
	p->max_age = -1;
	for (; line < end; line = nl < end ? nl + 1 : end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		n = (size_t)(nl - line);
		ln++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		while (n > 0 && is_wsp(line[n - 1]))
			n--;
		if (n == 0)
			continue;
		if ((colon = memchr(line, ':', n)) == NULL || colon == line) {
			fail_policy(p, "not \"key: value\"", ln);
			return;
		}
		for (v = colon + 1; v < line + n && is_wsp(*v); v++)
			;
		vlen = (size_t)(line + n - v);
		if (!policy_field(p, line, (size_t)(colon - line), v, vlen, ln,
		    &seen))
			return;
	}
	if (!(seen & 1))
		snprintf(p->error, sizeof(p->error), "no version field");
	else if (!(seen & 2))
		snprintf(p->error, sizeof(p->error), "no mode field");
	else if (!(seen & 4))
		snprintf(p->error, sizeof(p->error), "no max_age field");
	else if (p->nmx == 0 && p->mode != MTASTS_MODE_NONE)
		snprintf(p->error, sizeof(p->error), "no mx field");
	else
		p->valid = true;
}

/* len of name without its trailing dots. */
static size_t
bare_len(const char *name)
{
	size_t n = strlen(name);

	while (n > 0 && name[n - 1] == '.')
		n--;
	return n;
}

bool
mtasts_mx_match(const char *pattern, const char *host)
{
	size_t pl = bare_len(pattern), hl = bare_len(host), sl;

	if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com": one label, then ".example.com". */
		sl = pl - 1;
		return hl > sl && strncasecmp(host + hl - sl, pattern + 1,
		    sl) == 0 && memchr(host, '.', hl - sl) == NULL;
	}
	return pl == hl && strncasecmp(pattern, host, pl) == 0;
}

/*
 * A TXT record of "v=VERSION; k=v; ..." (RFC 8461 §3.1, RFC 8460 §3):
 * 0 when it does not start with the version (case-sensitive, then ";",
 * white space or the end), else the fields are handed to field(); -1
 * when one is malformed (why says so).
 */
static int
tagged_record(const char *txt, size_t len, const char *version,
    bool (*field)(const char *k, size_t kl, const char *v, size_t vl,
    void *arg), void *arg, char *why, size_t whylen)
{
	size_t vl = strlen(version), i = vl, ks, ke, vs, ve;

	if (len < vl || memcmp(txt, version, vl) != 0 || (len > vl &&
	    txt[vl] != ';' && !is_wsp(txt[vl])))
		return 0;
	while (i < len) {
		while (i < len && (is_wsp(txt[i]) || txt[i] == ';'))
			i++;
		if (i == len)
			break;
		for (ks = i; i < len && txt[i] != '=' && txt[i] != ';'; i++)
			;
		for (ke = i; ke > ks && is_wsp(txt[ke - 1]); ke--)
			;
		if (i == len || txt[i] != '=' || ke == ks) {
			snprintf(why, whylen, "a field is not key=value");
			return -1;
		}
		for (vs = ++i; i < len && txt[i] != ';'; i++)
			;
		for (ve = i; ve > vs && is_wsp(txt[ve - 1]); ve--)
			;
		while (vs < ve && is_wsp(txt[vs]))
			vs++;
		if (!field(txt + ks, ke - ks, txt + vs, ve - vs, arg)) {
			snprintf(why, whylen, "the %.*s field is not valid",
			    (int)(ke - ks < 32 ? ke - ks : 32), txt + ks);
			return -1;
		}
	}
	return 1;
}

struct one_field {
	const char	*name;
	char		*out;
	size_t		 outlen;
	bool		 found;
	bool		 (*valid)(const char *v, size_t vl);
};

static bool
take_field(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	struct one_field *f = arg;

	if (kl != strlen(f->name) || strncmp(k, f->name, kl) != 0)
		return true;	/* another field: ignored */
	if (f->found)
		return true;	/* the first one counts */
	if (!f->valid(v, vl))
		return false;
	snprintf(f->out, f->outlen, "%.*s", (int)vl, v);
	f->found = true;
	return true;
}

/* sts-id = 1*32(ALPHA / DIGIT) (RFC 8461 §3.1) */
static bool
valid_id(const char *v, size_t vl)
{
	size_t i;

	for (i = 0; i < vl; i++)
		if (!isalnum((unsigned char)v[i]))
			return false;
	return vl >= 1 && vl <= 32;
}

/* One or more URIs, mailto: or https: (RFC 8460 §3). */
static bool
valid_rua(const char *v, size_t vl)
{
	size_t i = 0, s;

	while (i < vl) {
		for (s = i; i < vl && v[i] != ','; i++)
			;
		while (s < i && is_wsp(v[s]))
			s++;
		if (!((i - s > 7 && strncasecmp(v + s, "mailto:", 7) == 0) ||
		    (i - s > 8 && strncasecmp(v + s, "https://", 8) == 0)))
			return false;
		i++;
	}
	return vl > 0;
}

/* A tagged record of version whose one field that counts, name, is
 * required; its value, checked by valid(), goes to out. */
static int
one_field_record(const char *txt, size_t len, const char *version,
    const char *name, bool (*valid)(const char *v, size_t vl), char *out,
    size_t outlen, char *why, size_t whylen)
{
	struct one_field f = { name, out, outlen, false, valid };
	int rc;

	out[0] = '\0';
	rc = tagged_record(txt, len, version, take_field, &f, why, whylen);
	if (rc == 1 && !f.found) {
		snprintf(why, whylen, "no %s field", name);
		return -1;
	}
	return rc;
}

int
mtasts_parse_txt(const char *txt, size_t len, char *id, size_t idlen,
    char *why, size_t whylen)
{
	return one_field_record(txt, len, "v=STSv1", "id", valid_id, id,
	    idlen, why, whylen);
}

int
tlsrpt_parse_txt(const char *txt, size_t len, char *rua, size_t rualen,
    char *why, size_t whylen)
{
	return one_field_record(txt, len, "v=TLSRPTv1", "rua", valid_rua, rua,
	    rualen, why, whylen);
}

struct mtasts_info *
mtasts_info_dup(const struct mtasts_info *src)
{
	struct mtasts_info *mi;

	if (src == NULL || (mi = malloc(sizeof(*mi))) == NULL)
		return NULL;
	memcpy(mi, src, sizeof(*mi));
	return mi;
}
