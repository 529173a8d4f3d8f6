/*
 * fuzz_address.c — the address checker (probe/core/address.h): address_parse
 * on the input as one C string (it stops at a NUL, as argv and the batch
 * reader give it), then the host-name check and the duplicate key on what
 * it accepted.  An accepted address must hold no control byte and fit
 * the RFC 5321 §4.5.3.1 lengths, since it goes onto the wire as RCPT TO.
 */
#include <string.h>

#include "address.h"
#include "batchinput.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address a;
	char why[256], key[LIMIT_ADDRESS * 4 + 16];
	enum address_error e;
	char *s;
	size_t i, n;

	/* Longer input is refused by length anyway; 4 KiB covers that. */
	s = fuzz_strndup(data, size, 4096);
	why[0] = '\0';
	e = address_parse(s, &a, why, sizeof(why));
	FUZZ_ASSERT(address_error_name(e) != NULL);
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	if (e == ADDRESS_OK) {
		n = strlen(a.mailbox);
		FUZZ_ASSERT(n <= LIMIT_ADDRESS);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)a.mailbox[i];
			FUZZ_ASSERT(c >= 0x20 && c != 0x7f);
		}
		FUZZ_ASSERT(strlen(a.domain_ascii) <= LIMIT_DOMAIN);
		FUZZ_ASSERT(a.local[0] != '\0');
		if (!a.literal)
			(void)address_hostname_ok(a.domain_ascii);
		n = batch_dup_key(a.local, a.domain_ascii, key, sizeof(key));
		FUZZ_ASSERT(n < sizeof(key));
	} else
		FUZZ_ASSERT(why[0] != '\0');
	(void)address_hostname_ok(s);
	free(s);
	return 0;
}
