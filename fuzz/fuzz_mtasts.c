/*
 * fuzz_mtasts.c — the MTA-STS and TLS-RPT parsers (probe/core/mtasts_facts.h) on
 * any bytes: as a policy file (RFC 8461 §3.2), as the _mta-sts and
 * _smtp._tls TXT records, and each line of it as an mx pattern matched
 * against a few host names.  The promises checked: what is kept is
 * NUL-terminated and within its bounds, a valid policy has a mode and
 * a max_age, and an mx pattern matches the host it names.
 */
#include <string.h>

#include "fuzz.h"
#include "mtasts.h"

static void
policy(const uint8_t *data, size_t size)
{
	static struct mtasts_policy p;
	size_t i;

	mtasts_parse_policy((const char *)data, size, &p);
	FUZZ_ASSERT(memchr(p.error, '\0', sizeof(p.error)) != NULL);
	FUZZ_ASSERT(p.nmx <= LIMIT_MTASTS_MX);
	if (p.valid) {
		FUZZ_ASSERT(p.mode != MTASTS_MODE_UNSET);
		FUZZ_ASSERT(p.max_age >= 0 && p.max_age <= 31557600L);
		FUZZ_ASSERT(p.nmx > 0 || p.mode == MTASTS_MODE_NONE);
	}
	for (i = 0; i < p.nmx; i++) {
		FUZZ_ASSERT(memchr(p.mx[i], '\0', sizeof(p.mx[i])) != NULL);
		/* A pattern without a wildcard names its one host. */
		if (p.mx[i][0] != '*')
			FUZZ_ASSERT(mtasts_mx_match(p.mx[i], p.mx[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[33], why[96], rua[RESOLVER_TXT_MAX + 1], *s;
	int rc;

	policy(data, size);
	rc = mtasts_parse_txt((const char *)data, size, id, sizeof(id), why,
	    sizeof(why));
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	if (rc == 1)
		FUZZ_ASSERT(strlen(id) >= 1 && strlen(id) <= 32);
	rc = tlsrpt_parse_txt((const char *)data, size, rua, sizeof(rua), why,
	    sizeof(why));
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	FUZZ_ASSERT(memchr(rua, '\0', sizeof(rua)) != NULL);

	s = fuzz_strndup(data, size, RESOLVER_NAME_MAX);
	(void)mtasts_mx_match(s, "mx1.example.com");
	(void)mtasts_mx_match("*.example.com", s);
	(void)mtasts_mx_match(s, s);
	free(s);
	return 0;
}
