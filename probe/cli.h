/*
 * cli.h — the command line, parsed into a probe configuration.
 *
 * Pure apart from reading the host name for the default HELO name: no
 * network, no output but the error message it returns.
 */
#ifndef SMTPPROBE_CLI_H
#define SMTPPROBE_CLI_H

#include <stdbool.h>

#include "batch.h"
#include "probe.h"

struct cli {
	struct probe_config	 cfg;
	bool			 json;
	bool			 verbose;
	bool			 help;
	bool			 version;
	bool			 helo_test;	/* --helo-test */
	char			 machine_fqdn[LIMIT_HELO_NAME + 1];	/* set with helo_test */
	int			 naddresses;
	char			**addresses;	/* into argv */
	/* --batch FILE ("-" for standard input), --parallel, --delay,
	 * --retries, --progress */
	bool			 batch;
	const char		*batch_file;
	struct batch_options	 bopt;
	/* --output FILE, --resume, --format (--json is --format json) */
	const char		*output;
	bool			 resume;
	enum batch_format	 format;
	/* --relay-test, --relay-rcpt, --relay-domain */
	bool			 relay_test;
	char			 relay_rcpt[LIMIT_ADDRESS * 4 + 8];	/* "" for the default */
	char			 relay_domain[LIMIT_DOMAIN * 4 + 1];	/* or "" */
};

/* 0 on success; -1 with a message in err (exit status 64). */
int cli_parse(int argc, char **argv, struct cli *cli, char *err,
    size_t errlen);

void cli_usage(FILE *out);

/* Parse "HOST", "HOST:PORT", "[IPv6]", "[IPv6]:PORT" or a bare IPv6
 * address; 0 or -1. */
int cli_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
