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
#include "report.h"

/* --format (--json is FORMAT_JSON). */
enum output_format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_NAGIOS,
	FORMAT_PROMETHEUS,
	FORMAT_CSV		/* batch: one row per address */
};

struct cli {
	struct probe_config	 cfg;
	enum output_format	 format;
	bool			 json;		/* format == FORMAT_JSON */
	/* --warning, --critical, --warning-days, --critical-days */
	struct monitor_limits	 limits;
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
	/* --output FILE (JSON Lines, or CSV with --format csv), --resume */
	const char		*output;
	bool			 resume;
	/* --relay-test, --relay-rcpt, --relay-domain */
	bool			 relay_test;
	char			 relay_rcpt[LIMIT_ADDRESS * 4 + 8];	/* "" for the default */
	char			 relay_domain[LIMIT_DOMAIN * 4 + 1];	/* or "" */
};

/* 0 on success; -1 with a message in err (exit status 64). */
int cli_parse(int argc, char **argv, struct cli *cli, char *err,
    size_t errlen);

/* Does argv ask for --format nagios?  (So that even a usage error is
 * reported as a plugin's UNKNOWN.) */
bool cli_wants_nagios(int argc, char **argv);

void cli_usage(FILE *out);

/* Parse "HOST", "HOST:PORT", "[IPv6]", "[IPv6]:PORT" or a bare IPv6
 * address; 0 or -1. */
int cli_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
