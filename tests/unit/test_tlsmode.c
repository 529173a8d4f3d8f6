/*
 * test_tlsmode.c — how the command line picks the TLS mode and the
 * transport: --tls dane and implicit, and port 465 meaning implicit TLS
 * (RFC 8314) unless --tls says opportunistic or never.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"

/* Parse "smtpprobe --helo h.example ARGS... user@example.test". */
static int
parse(struct cli *cli, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	char *argv[9];
	char err[256];
	int argc = 0, rc;

	argv[argc++] = (char *)"smtpprobe";
	argv[argc++] = (char *)"--helo";
	argv[argc++] = (char *)"probe.example.test";
	if (a1 != NULL)
		argv[argc++] = (char *)a1;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	if (a3 != NULL)
		argv[argc++] = (char *)a3;
	if (a4 != NULL)
		argv[argc++] = (char *)a4;
	argv[argc++] = (char *)"user@example.test";
	argv[argc] = NULL;
	rc = cli_parse(argc, argv, cli, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "cli_parse: %s\n", err);
	return rc;
}

static void
test_modes(void)
{
	struct cli cli;

	CHECK_INT(parse(&cli, NULL, NULL, NULL, NULL), 0);
	CHECK_INT(cli.cfg.tls_mode, TLS_OPPORTUNISTIC);
	CHECK(!cli.cfg.implicit_tls);

	CHECK_INT(parse(&cli, "--tls", "dane", NULL, NULL), 0);
	CHECK_INT(cli.cfg.tls_mode, TLS_DANE);
	CHECK(!cli.cfg.implicit_tls);

	CHECK_INT(parse(&cli, "--tls", "implicit", NULL, NULL), 0);
	CHECK_INT(cli.cfg.tls_mode, TLS_OPPORTUNISTIC);
	CHECK(cli.cfg.implicit_tls);

	CHECK(parse(&cli, "--tls", "sometimes", NULL, NULL) != 0);
}

static void
test_port_465(void)
{
	struct cli cli;

	CHECK_INT(parse(&cli, "--port", "465", NULL, NULL), 0);
	CHECK(cli.cfg.implicit_tls);
	CHECK_INT(cli.cfg.tls_mode, TLS_OPPORTUNISTIC);

	CHECK_INT(parse(&cli, "--server", "mail.example.test:465", NULL,
	    NULL), 0);
	CHECK(cli.cfg.implicit_tls);

	/* --server's port is the one used, whatever --port says. */
	CHECK_INT(parse(&cli, "--server", "mail.example.test:25", "--port",
	    "465"), 0);
	CHECK(!cli.cfg.implicit_tls);

	CHECK_INT(parse(&cli, "--port", "465", "--tls", "required"), 0);
	CHECK(cli.cfg.implicit_tls);
	CHECK_INT(cli.cfg.tls_mode, TLS_REQUIRED);

	CHECK_INT(parse(&cli, "--port", "465", "--tls", "dane"), 0);
	CHECK(cli.cfg.implicit_tls);

	CHECK_INT(parse(&cli, "--port", "465", "--tls", "opportunistic"), 0);
	CHECK(!cli.cfg.implicit_tls);

	CHECK_INT(parse(&cli, "--port", "465", "--tls", "never"), 0);
	CHECK(!cli.cfg.implicit_tls);
	CHECK_INT(cli.cfg.tls_mode, TLS_NEVER);

	CHECK_INT(parse(&cli, "--port", "587", NULL, NULL), 0);
	CHECK(!cli.cfg.implicit_tls);
}

int
main(void)
{
	test_modes();
	test_port_465();
	return check_report("test_tlsmode");
}
