/*
 * fuzz_ehlo.c — the EHLO keyword parser (ehlo_parse in probe/core/reply.h).
 *
 * The input is the text of a 250 reply to EHLO, one line per LF (a CR
 * before it is dropped), the "250-" prefixes already removed, as the
 * reply parser hands it over: each line an exact-size, NUL-terminated
 * copy that may hold NUL bytes.  Checks that the capability set stays
 * within its arrays and that every string in it is terminated.
 */
#include <string.h>

#include "fuzz.h"
#include "reply.h"

static void
check_terminated(const char *s, size_t size)
{
	FUZZ_ASSERT(memchr(s, '\0', size) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reply r;
	static struct ehlo_caps caps;
	size_t off = 0, i, n, k;
	const uint8_t *nl;

	memset(&r, 0, sizeof(r));
	r.code = 250;
	while (off < size && r.nlines < LIMIT_REPLY_LINES) {
		nl = memchr(data + off, '\n', size - off);
		n = nl != NULL ? (size_t)(nl - (data + off)) : size - off;
		k = n > 0 && data[off + n - 1] == '\r' ? n - 1 : n;
		if ((r.lines[r.nlines].text = malloc(k + 1)) == NULL)
			abort();
		if (k > 0)
			memcpy(r.lines[r.nlines].text, data + off, k);
		r.lines[r.nlines].text[k] = '\0';
		r.lines[r.nlines].len = k;
		r.nlines++;
		off += n + (nl != NULL ? 1 : 0);
	}
	r.lines_seen = r.nlines;
	r.bytes = size;

	ehlo_parse(&r, &caps);
	check_terminated(caps.name, sizeof(caps.name));
	check_terminated(caps.auth, sizeof(caps.auth));
	FUZZ_ASSERT(caps.nkeywords <= LIMIT_EHLO_KEYWORDS);
	for (i = 0; i < caps.nkeywords; i++)
		check_terminated(caps.keywords[i], sizeof(caps.keywords[i]));
	/* The names of the capabilities the session acts on are matched
	 * whole, never by prefix. */
	if (caps.starttls) {
		for (i = 0; i < caps.nkeywords; i++)
			if (strcmp(caps.keywords[i], "STARTTLS") == 0)
				break;
		FUZZ_ASSERT(i < caps.nkeywords || caps.keywords_dropped > 0);
	}

	for (i = 0; i < r.nlines; i++)
		free(r.lines[i].text);
	return 0;
}
