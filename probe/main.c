/*
 * main.c — smtpprobe: wires the command line, the engine and the reports.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "explain.h"
#include "helotest.h"
#include "probe.h"
#include "report.h"

#ifndef SMTPPROBE_VERSION
#define SMTPPROBE_VERSION "0.0.0"
#endif

/* --helo-test: one server, one connection per candidate HELO name. */
static int
helo_test(struct probe_ctx *ctx, const struct cli *cli)
{
	struct helotest_result *ht;
	int status;

	if ((ht = malloc(sizeof(*ht))) == NULL) {
		fprintf(stderr, "smtpprobe: out of memory\n");
		return EXIT_LOCAL_ERROR;
	}
	helotest_run(ctx, cli->naddresses > 0 ? cli->addresses[0] : NULL,
	    cli->machine_fqdn, ht);
	if (ht->error[0] != '\0')
		fprintf(stderr, "smtpprobe: --helo-test: %s\n", ht->error);
	if (cli->json)
		report_helotest_json(stdout, ht);
	else
		report_helotest_text(stdout, ht, cli->verbose);
	fflush(stdout);
	status = ht->exit_code;
	helotest_clear(ht);
	free(ht);
	return status;
}

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

	/* "smtpprobe explain ...": offline, no probe context needed. */
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 1, argv + 1, stdin, stdout, stderr);

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
	if (cli.helo_test) {
		status = helo_test(&ctx, &cli);
		free(res);
		probe_ctx_free(&ctx);
		return status;
	}
	color = !cli.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") ==
	    NULL;
	for (i = 0; i < cli.naddresses || (i == 0 && cli.cfg.self_check);
	    i++) {
		const char *a = i < cli.naddresses ? cli.addresses[i] : NULL;

		/* --self-check with no mailbox: no MAIL, no RCPT. */
		if (cli.cfg.self_check && (a == NULL || strchr(a, '@') == NULL))
			probe_self_check(&ctx, a, res);
		else
			probe_address(&ctx, a, res);
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
