/*
 * fuzz_explain.c — `smtpprobe explain`'s input parser (explain_parse in
 * probe/cli/explain.h) on pasted text, then the whole subcommand as a user
 * runs it: an input of odd length on standard input (text output), one
 * of even length as a command-line argument with its backslash escapes
 * (JSON output).  Output goes to /dev/null; what matters is that nothing
 * reads or writes out of bounds, that every reply found has a terminated
 * text within EXPLAIN_TEXT_MAX, and that the classification always has
 * words to print.
 *
 * One run of the subcommand per input, not both, and no classification
 * of our own beside its: classifying every reply against every text
 * pattern was most of the cost (three times per reply, about 170 inputs a
 * second), the length's parity still sends each input's mutations down
 * both paths, and fuzz_reply checks codes_classify()'s promises on any
 * text.  The subcommand prints every word of the classification, so a
 * missing one still crashes here.
 */
#include <string.h>

#include "codes.h"
#include "explain.h"
#include "fuzz.h"

static FILE *devnull;

/* The subcommand with the input on standard input, text output. */
static void
run_stdin(const uint8_t *data, size_t size)
{
	char *argv[2] = { "explain", NULL };
	FILE *in;

	/* fmemopen needs a non-empty buffer on older C libraries. */
	if (size == 0)
		return;
	if ((in = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		abort();
	(void)explain_main(1, argv, in, devnull, devnull);
	fclose(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct explain_reply out[EXPLAIN_REPLIES_MAX];
	size_t n, i, len;
	char *arg, *argv[4];

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	len = size < EXPLAIN_INPUT_MAX ? size : EXPLAIN_INPUT_MAX;
	n = explain_parse((const char *)data, len, out, EXPLAIN_REPLIES_MAX);
	FUZZ_ASSERT(n <= EXPLAIN_REPLIES_MAX);
	for (i = 0; i < n; i++) {
		const struct explain_reply *r = &out[i];

		FUZZ_ASSERT(r->textlen < sizeof(r->text));
		FUZZ_ASSERT(r->text[r->textlen] == '\0');
		FUZZ_ASSERT(strlen(r->text) == r->textlen);
		FUZZ_ASSERT(r->code == 0 || r->code == 101 || r->code == 111 ||
		    (r->code >= 200 && r->code <= 599));
		FUZZ_ASSERT(r->esc_class == 0 || r->esc_class == 2 ||
		    r->esc_class == 4 || r->esc_class == 5);
		FUZZ_ASSERT(r->code != 0 || r->esc_class != 0);
		FUZZ_ASSERT(r->cmd >= -1 && r->cmd < CODES_CMD_COUNT);
	}

	/* On standard input with text output; or as an argument (a C
	 * string with \n escapes, "--" so that a leading '-' is text) with
	 * JSON. */
	if (size % 2 == 1) {
		run_stdin(data, size);
		return 0;
	}
	arg = fuzz_strndup(data, size, EXPLAIN_INPUT_MAX + 16);
	argv[0] = "explain";
	argv[1] = "--json";
	argv[2] = "--";
	argv[3] = arg;
	(void)explain_main(4, argv, NULL, devnull, devnull);
	free(arg);
	return 0;
}
