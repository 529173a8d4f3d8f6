/*
 * fuzz.h — what every fuzz target in fuzz/ shares.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() for one pure parser.
 * Built with -DSMTPPROBE_FUZZ=ON and clang, it links against libFuzzer;
 * otherwise replay_main.c supplies main() and runs the target over its
 * seed corpus and a fixed series of mutations (ctest label "fuzz").
 * FUZZ_ASSERT checks a parser's promises (bounds, NUL termination) beyond
 * what the sanitizers see: a broken promise aborts, as a crash would.
 */
#ifndef SMTPPROBE_FUZZ_H
#define SMTPPROBE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* A NUL-terminated copy of data (at most max bytes), to be freed. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size, size_t max)
{
	char *s;
	size_t n = size < max ? size : max;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
