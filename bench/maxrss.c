/*
 * maxrss OUT PROGRAM [ARG...] — run PROGRAM, then write its peak resident
 * set size (ru_maxrss from wait4, KiB), its exit status and the CPU time it
 * used (user + system, seconds) to the file OUT.
 *
 * The benchmark needs this small middleman: a child's ru_maxrss also counts
 * the memory of the process it was forked from, so measuring a C program
 * forked straight from Python would report Python's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: maxrss OUT PROGRAM [ARG...]\n");
		return 64;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 70;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status;
	struct rusage usage;
	while (wait4(pid, &status, 0, &usage) < 0)
		;
	int code = WIFEXITED(status) ? WEXITSTATUS(status)
				     : -WTERMSIG(status);
	FILE *out = fopen(argv[1], "w");
	if (out == NULL) {
		perror(argv[1]);
		return 70;
	}
	fprintf(out, "%ld %d %.3f\n", usage.ru_maxrss, code,
	    (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	    (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
	fclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
