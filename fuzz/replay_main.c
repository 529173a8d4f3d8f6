/*
 * replay_main.c — runs one fuzz target without libFuzzer: over every file
 * of the seed corpus, then over a fixed series of mutations of them
 * (bit flips, interesting bytes, insertions, deletions, repeated slices,
 * SMTP tokens, splices of two seeds).  The series depends only on the
 * seed number and the corpus, so a failure repeats on every run; the
 * failing input is written to a file and shown in hex on stderr.  This
 * is what ctest runs (label "fuzz") in the normal and sanitizer builds.
 *
 *	replay_TARGET [-n MUTATIONS] [-s SEED] [-m MAXLEN] [-o DIR] PATH...
 *
 * PATH is a corpus directory or a single input file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET_NAME
#define FUZZ_TARGET_NAME "target"
#endif

/* Seeds are small; mutations never grow an input past this. */
#define REPLAY_MAXLEN_DEFAULT	8192
#define REPLAY_SEEDS_MAX	4096
#define REPLAY_FILE_MAX		(1024 * 1024)

struct seed {
	char	*path;
	uint8_t	*data;
	size_t	 len;
};

static struct seed seeds[REPLAY_SEEDS_MAX];
static size_t nseeds;

/* What runs now, for the report written when it fails. */
static const uint8_t *cur_data;
static size_t cur_len;
static char cur_what[512];
static const char *out_dir = ".";

/* Written with write(2) only: this runs from a signal handler or from
 * the sanitizer's death callback. */
static void
put(int fd, const char *s)
{
	ssize_t w;
	size_t n = strlen(s);

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

static void
report_input(void)
{
	static const char hex[] = "0123456789abcdef";
	static char path[1024], line[80];
	size_t i, k;
	int fd;

	if (cur_data == NULL)
		return;
	put(2, "\nreplay_" FUZZ_TARGET_NAME ": failed on ");
	put(2, cur_what);
	put(2, "\n");
	path[0] = '\0';
	strncat(path, out_dir, sizeof(path) - 64);
	strcat(path, "/crash-" FUZZ_TARGET_NAME);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		ssize_t w = write(fd, cur_data, cur_len);

		(void)w;
		close(fd);
		put(2, "replay_" FUZZ_TARGET_NAME ": input written to ");
		put(2, path);
		put(2, "\n");
	}
	for (i = 0; i < cur_len && i < 512; i += 32) {
		char *o = line;

		for (k = i; k < cur_len && k < i + 32; k++) {
			*o++ = hex[cur_data[k] >> 4];
			*o++ = hex[cur_data[k] & 0xf];
		}
		*o++ = '\n';
		*o = '\0';
		put(2, line);
	}
	cur_data = NULL;
}

static void
on_signal(int sig)
{
	report_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Present when linked with a sanitizer runtime (gcc's or clang's). */
extern void __sanitizer_set_death_callback(void (*)(void))
    __attribute__((weak));

/* splitmix64: small, fast, the same everywhere. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rng() % n);
}

static bool
read_file(const char *path, struct seed *s)
{
	FILE *f;
	size_t got;

	if ((f = fopen(path, "rb")) == NULL)
		return false;
	if ((s->data = malloc(REPLAY_FILE_MAX)) == NULL)
		abort();
	got = fread(s->data, 1, REPLAY_FILE_MAX, f);
	fclose(f);
	s->len = got;
	if ((s->data = realloc(s->data, got > 0 ? got : 1)) == NULL)
		abort();
	if ((s->path = strdup(path)) == NULL)
		abort();
	return true;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct seed *)a)->path,
	    ((const struct seed *)b)->path);
}

static void
add_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char sub[4096];

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_TARGET_NAME, path,
		    strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (nseeds < REPLAY_SEEDS_MAX && read_file(path, &seeds[nseeds]))
			nseeds++;
		return;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay_%s: %s: %s\n", FUZZ_TARGET_NAME, path,
		    strerror(errno));
		exit(2);
	}
	while ((de = readdir(d)) != NULL && nseeds < REPLAY_SEEDS_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) &&
		    read_file(sub, &seeds[nseeds]))
			nseeds++;
	}
	closedir(d);
}

/* Run the target on an exact-size copy, so that a read past the end is
 * caught by AddressSanitizer. */
static void
run(const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	cur_data = copy;
	cur_len = len;
	(void)LLVMFuzzerTestOneInput(copy, len);
	cur_data = NULL;
	free(copy);
}

static const char *const tokens[] = {
	"\r\n", "\n", "\r", " ", "-", ".", "250-", "250 ", "220 ", "550 ",
	"421 ", "550-5.1.1 ", "5.1.1", "4.7.1", "#5.0.0", "[", "]", "(", ")",
	"[IPv6:", "IPv6:", "::ffff:", "127.0.0.1", "2001:db8::1", "@", "<",
	">", "\"", "\\", "#", "AUTH ", "AUTH=", "SIZE ", "STARTTLS",
	"PIPELINING", "said: ", "(in reply to RCPT TO command)",
	"Diagnostic-Code: smtp; ", "\xc3\xa9", "\xef\xbb\xbf", "\xc0\xc1",
	"xn--", "\xc0\x0c", "\x00\x05", "\x00\x0f",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

static const uint8_t interesting[] = {
	0x00, 0x01, '\t', '\n', '\r', ' ', '"', '#', '(', ')', '-', '.', '0',
	'2', '5', '9', ':', '<', '>', '@', '[', '\\', ']', 0x7f, 0x80, 0xc0,
	0xff,
};

/* One mutation of buf[0..*len) in place (cap bytes available). */
static void
mutate_once(uint8_t *buf, size_t *len, size_t cap)
{
	size_t n = *len, pos, k, from;
	const char *t;

	switch (below(n == 0 ? 3 : 9)) {
	case 0:		/* insert a token */
		t = tokens[below(NTOKENS)];
		k = strlen(t);
		if (t[0] == '\0')
			k = 2;		/* "\x00\x05": the bytes, not the C string */
		if (n + k > cap)
			return;
		pos = below(n + 1);
		memmove(buf + pos + k, buf + pos, n - pos);
		memcpy(buf + pos, t, k);
		*len = n + k;
		return;
	case 1:		/* insert an interesting byte */
		if (n + 1 > cap)
			return;
		pos = below(n + 1);
		memmove(buf + pos + 1, buf + pos, n - pos);
		buf[pos] = interesting[below(sizeof(interesting))];
		*len = n + 1;
		return;
	case 2:		/* insert random bytes */
		k = 1 + below(8);
		if (n + k > cap)
			return;
		pos = below(n + 1);
		memmove(buf + pos + k, buf + pos, n - pos);
		for (from = 0; from < k; from++)
			buf[pos + from] = (uint8_t)rng();
		*len = n + k;
		return;
	case 3:		/* flip a bit */
		buf[below(n)] ^= (uint8_t)(1u << below(8));
		return;
	case 4:		/* overwrite with an interesting byte */
		buf[below(n)] = interesting[below(sizeof(interesting))];
		return;
	case 5:		/* delete a range */
		pos = below(n);
		k = 1 + below(n - pos < 16 ? n - pos : 16);
		memmove(buf + pos, buf + pos + k, n - pos - k);
		*len = n - k;
		return;
	case 6:		/* repeat a slice (long lines, many lines) */
		from = below(n);
		k = 1 + below(n - from);
		pos = below(n + 1);
		for (; n + k <= cap && below(4) != 0; n += k) {
			memmove(buf + pos + k, buf + pos, n - pos);
			memmove(buf + pos, buf + (from < pos ? from : from + k),
			    k);
		}
		*len = n;
		return;
	case 7:		/* splice in part of another seed */
		{
			const struct seed *o = &seeds[below(nseeds)];

			if (o->len == 0)
				return;
			from = below(o->len);
			k = 1 + below(o->len - from);
			pos = below(n + 1);
			if (pos + k > cap)
				k = cap - pos;
			memcpy(buf + pos, o->data + from, k);
			if (pos + k > n)
				*len = pos + k;
		}
		return;
	default:	/* cut the end */
		*len = below(n + 1);
		return;
	}
}

int
main(int argc, char **argv)
{
	unsigned long mutations = 2000, seed = 1, i, k, nmut;
	size_t maxlen = REPLAY_MAXLEN_DEFAULT, len;
	struct timespec t0, t1;
	uint8_t *buf;
	int c;

	while ((c = getopt(argc, argv, "n:s:m:o:")) != -1) {
		switch (c) {
		case 'n':
			mutations = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			maxlen = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			out_dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: replay_%s [-n MUTATIONS] "
			    "[-s SEED] [-m MAXLEN] [-o DIR] PATH...\n",
			    FUZZ_TARGET_NAME);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "replay_%s: no corpus given\n",
		    FUZZ_TARGET_NAME);
		return 2;
	}
	for (; optind < argc; optind++)
		add_path(argv[optind]);
	if (nseeds == 0) {
		fprintf(stderr, "replay_%s: the corpus is empty\n",
		    FUZZ_TARGET_NAME);
		return 2;
	}
	qsort(seeds, nseeds, sizeof(seeds[0]), by_path);

	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGABRT, on_signal);
	signal(SIGFPE, on_signal);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(report_input);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nseeds; i++) {
		snprintf(cur_what, sizeof(cur_what), "seed %s", seeds[i].path);
		run(seeds[i].data, seeds[i].len);
	}

	if ((buf = malloc(maxlen + 1)) == NULL)
		abort();
	rng_state = seed;
	for (i = 0; i < mutations; i++) {
		const struct seed *s = &seeds[below(nseeds)];

		len = s->len < maxlen ? s->len : maxlen;
		memcpy(buf, s->data, len);
		nmut = 1 + below(4);
		for (k = 0; k < nmut; k++)
			mutate_once(buf, &len, maxlen);
		snprintf(cur_what, sizeof(cur_what), "mutation %lu of seed %s "
		    "(-s %lu)", i + 1, s->path, seed);
		run(buf, len);
	}
	free(buf);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("replay_%s: %zu seeds, %lu mutations (seed %lu): ok in %.2f s\n",
	    FUZZ_TARGET_NAME, nseeds, mutations, seed,
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (i = 0; i < nseeds; i++) {
		free(seeds[i].data);
		free(seeds[i].path);
	}
	return 0;
}
