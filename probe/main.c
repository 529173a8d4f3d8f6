/*
 * main.c — smtpprobe: wires the command line, the engine and the reports.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "probe.h"
#include "report.h"

#ifndef SMTPPROBE_VERSION
#define SMTPPROBE_VERSION "0.0.0"
#endif

int
main(int argc, char **argv)
{
	struct cli cli;
	struct probe_ctx ctx;
	struct probe_result *res;
	char err[512];
	int i, status = EXIT_DELIVERABLE;
	bool color;

	/* A peer that resets the connection must not kill us on write. */
	signal(SIGPIPE, SIG_IGN);

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpprobe: %s\n", err);
		fprintf(stderr, "Try 'smtpprobe --help'.\n");
		return EXIT_USAGE;
	}
	if (cli.help) {
		cli_usage(stdout);
		return 0;
	}
	if (cli.version) {
		printf("smtpprobe %s\n", SMTPPROBE_VERSION);
		return 0;
	}
	if (probe_ctx_init(&ctx, &cli.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpprobe: %s\n", err);
		return EXIT_LOCAL_ERROR;
	}
	if ((res = malloc(sizeof(*res))) == NULL) {
		fprintf(stderr, "smtpprobe: out of memory\n");
		probe_ctx_free(&ctx);
		return EXIT_LOCAL_ERROR;
	}
	color = !cli.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") ==
	    NULL;
	for (i = 0; i < cli.naddresses; i++) {
		probe_address(&ctx, cli.addresses[i], res);
		if (res->addr_error != ADDRESS_OK)
			fprintf(stderr, "smtpprobe: invalid address: %s\n",
			    res->addr_why);
		if (cli.json)
			report_json(stdout, res);
		else {
			if (i > 0)
				fputc('\n', stdout);
			report_text(stdout, res, cli.verbose, color);
		}
		fflush(stdout);
		status = diag_exit_combine(status, res->exit_code);
		result_clear(res);
	}
	free(res);
	probe_ctx_free(&ctx);
	return status;
}
