/*
 * fuzz_batchinput.c — the batch list reader (probe/modes/batchinput.h): the
 * input is a whole --batch file, read through batch_reader_next() from a
 * memory stream, as batch mode reads a file or standard input.  Every
 * line is classified; each address goes through the address checker and
 * into the duplicate table, as batch.c does.  Checks the promises of the
 * header: line numbers count up by one, an address line is trimmed, holds
 * no NUL or CR and is at most BATCH_LINE_MAX bytes, an invalid line says
 * why.  The same input is read a second time as a CSV list whose
 * addresses are in the column "email" (--column), with the same checks.
 */
#include <string.h>

#include "address.h"
#include "batchinput.h"
#include "fuzz.h"

/* One pass over the input: a plain list (column NULL) or CSV. */
static void
one_pass(const uint8_t *data, size_t size, const char *column)
{
	static struct batch_reader rd;
	static struct batch_line line;
	static struct address a;
	struct batch_seen seen;
	struct batch_seen_entry *e;
	char why[256], key[LIMIT_ADDRESS * 4 + 16];
	unsigned long expect = 1;
	uint32_t index = 0;
	size_t klen;
	bool dup;
	FILE *in;

	if ((in = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		abort();
	batch_reader_init(&rd, in, column);
	batch_seen_init(&seen);
	while (batch_reader_next(&rd, &line) == 1) {
		FUZZ_ASSERT(line.lineno == expect);
		expect++;
		FUZZ_ASSERT(line.len < sizeof(line.text));
		FUZZ_ASSERT(line.text[line.len] == '\0');
		FUZZ_ASSERT(memchr(line.why, '\0', sizeof(line.why)) != NULL);
		switch (line.kind) {
		case BATCH_LINE_SKIP:
			break;
		case BATCH_LINE_INVALID:
			FUZZ_ASSERT(line.why[0] != '\0');
			break;
		case BATCH_LINE_ADDRESS:
			FUZZ_ASSERT(line.len > 0 && line.len <= BATCH_LINE_MAX);
			FUZZ_ASSERT(memchr(line.text, '\0', line.len) == NULL);
			FUZZ_ASSERT(memchr(line.text, '\r', line.len) == NULL);
			FUZZ_ASSERT(line.text[0] != ' ' && line.text[0] != '\t');
			FUZZ_ASSERT(line.text[line.len - 1] != ' ' &&
			    line.text[line.len - 1] != '\t');
			if (address_parse(line.text, &a, why, sizeof(why)) !=
			    ADDRESS_OK)
				break;
			klen = batch_dup_key(a.local, a.domain_ascii, key,
			    sizeof(key));
			e = batch_seen_put(&seen, key, klen, index,
			    (uint32_t)line.lineno, &dup);
			FUZZ_ASSERT(e != NULL);
			FUZZ_ASSERT(batch_seen_get(&seen, key, klen) == e);
			if (!dup)
				index++;
			break;
		default:
			FUZZ_ASSERT(!"unknown line kind");
		}
	}
	FUZZ_ASSERT(rd.error == 0 || rd.no_column);
	FUZZ_ASSERT(seen.n == index);
	batch_seen_free(&seen);
	fclose(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	one_pass(data, size, NULL);
	one_pass(data, size, "email");
	return 0;
}
