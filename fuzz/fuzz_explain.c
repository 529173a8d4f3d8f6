/*
 * fuzz_explain.c — `smtpprobe explain`'s input parser (explain_parse in
 * probe/explain.h) on pasted text, then the whole subcommand as a user
 * runs it: the input on standard input (text output), and as a
 * command-line argument with its backslash escapes (JSON output).  Output goes to
 * /dev/null; what matters is that nothing reads or writes out of bounds,
 * that every reply found has a terminated text within EXPLAIN_TEXT_MAX,
 * and that the classification always has words to print.
 */
#include <string.h>

#include "codes.h"
#include "explain.h"
#include "fuzz.h"

static FILE *devnull;

static void
run_main(const uint8_t *data, size_t size, bool json)
{
	char *argv[3] = { "explain", "--json", NULL };
	FILE *in;

	/* fmemopen needs a non-empty buffer on older C libraries. */
	if (size == 0)
		return;
	if ((in = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		abort();
	(void)explain_main(json ? 2 : 1, argv, in, devnull, devnull);
	fclose(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct explain_reply out[EXPLAIN_REPLIES_MAX];
	struct codes_diagnosis d;
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
		codes_classify(r->cmd, r->code != 0 ? r->code :
		    r->esc_class * 100, r->esc_class, r->esc_subject,
		    r->esc_detail, r->text, &d);
		FUZZ_ASSERT((unsigned)d.category < CODES_CAT_COUNT &&
		    d.meaning != NULL && d.cause != NULL && d.advice != NULL);
	}

	/* On standard input with text output; as an argument (a C string
	 * with \n escapes, "--" so that a leading '-' is text) with JSON. */
	run_main(data, size, false);
	arg = fuzz_strndup(data, size, EXPLAIN_INPUT_MAX + 16);
	argv[0] = "explain";
	argv[1] = "--json";
	argv[2] = "--";
	argv[3] = arg;
	(void)explain_main(4, argv, NULL, devnull, devnull);
	free(arg);
	return 0;
}
