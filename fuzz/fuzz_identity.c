/*
 * fuzz_identity.c — the pure helpers of probe/core/identity.h that read server
 * text: the first word of a greeting or EHLO line (the name a server
 * gives itself) and the bracketed address in it ("[203.0.113.5]",
 * "(IPv6:2001:db8::1)"), which the client self-audit takes for the
 * address the server sees.  The input is one reply line, with or without
 * its first word skipped; what comes out must be a canonical address
 * (it parses again to itself) and a terminated name.
 */
#include <arpa/inet.h>
#include <string.h>

#include "fuzz.h"
#include "identity.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ip[64], tiny[8], word[RESOLVER_NAME_MAX], again[64];
	unsigned char bin[16];
	const char *text = (const char *)data;
	int skip, fam;

	for (skip = 0; skip < 2; skip++) {
		if (identity_find_bracketed_ip(text, size, skip, ip,
		    sizeof(ip))) {
			fam = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
			FUZZ_ASSERT(inet_pton(fam, ip, bin) == 1);
			FUZZ_ASSERT(inet_ntop(fam, bin, again,
			    sizeof(again)) != NULL);
			FUZZ_ASSERT(strcmp(ip, again) == 0);
			(void)identity_ip_private(ip);
		} else
			FUZZ_ASSERT(ip[0] == '\0');
		/* Too small for most addresses: must fail cleanly. */
		(void)identity_find_bracketed_ip(text, size, skip, tiny,
		    sizeof(tiny));
		FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
	}
	if (identity_first_word(text, size, word, sizeof(word))) {
		FUZZ_ASSERT(word[0] != '\0');
		FUZZ_ASSERT(strlen(word) < sizeof(word));
		(void)identity_hostname_valid(word);
		(void)identity_name_eq(word, "mx1.example.test.");
		(void)identity_name_eq(word, word);
	} else
		FUZZ_ASSERT(word[0] == '\0');
	(void)identity_first_word(text, size, tiny, sizeof(tiny));
	FUZZ_ASSERT(strlen(tiny) < sizeof(tiny));
	return 0;
}
