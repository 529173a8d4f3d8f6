/*
 * main.c — smtpprobe: wires the command line, the engine and the reports.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "batchinput.h"
#include "batchout.h"
#include "cli.h"
#include "diag.h"
#include "explain.h"
#include "helotest.h"
#include "probe.h"
#include "relaytest.h"
#include "report.h"

#ifndef SMTPPROBE_VERSION
#define SMTPPROBE_VERSION "0.0.0"
#endif

/*
 * "smtpprobe: ", what, then text on stderr.  The text may come from the
 * command line, a file or a server, so it goes through the escaper the
 * reports use: control bytes, C1 controls (CSI), the line separators and
 * the format characters (U+202E, the soft hyphen, ...) are written as
 * escapes, as on stdout and in the JSON.
 */
static void
warn_text(const char *what, const char *text)
{
	fprintf(stderr, "smtpprobe: %s", what);
	report_put_cstr(stderr, text);
	fputc('\n', stderr);
}

/* warn_text() of a whole message made from fmt: for the messages that
 * quote a file name or a column name among words of their own. */
static void
warn_fmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
warn_fmt(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warn_text("", buf);
}

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
		warn_text("--helo-test: ", ht->error);
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

/* --relay-test: does the server relay to outside domains? */
static int
relay_test(struct probe_ctx *ctx, const struct cli *cli)
{
	struct relaytest_result *rt;
	int status;

	if ((rt = malloc(sizeof(*rt))) == NULL) {
		fprintf(stderr, "smtpprobe: out of memory\n");
		return EXIT_LOCAL_ERROR;
	}
	relaytest_run(ctx, cli->naddresses > 0 ? cli->addresses[0] : NULL,
	    cli->relay_rcpt, cli->relay_domain, rt);
	if (rt->error[0] != '\0')
		warn_text("--relay-test: ", rt->error);
	if (cli->json)
		report_relaytest_json(stdout, rt);
	else
		report_relaytest_text(stdout, rt, cli->verbose);
	fflush(stdout);
	status = rt->exit_code;
	relaytest_clear(rt);
	free(rt);
	return status;
}

struct batch_print {
	const struct cli	*cli;
	bool			 color;
	unsigned long		 printed;
	bool			 write_error;
	struct batch_out	*out;		/* --output FILE, or NULL */
};

/* Batch mode: print each address as it is finished (to --output FILE,
 * one line each, written at once). */
static bool
batch_print(void *arg, const struct batch_item_info *info,
    struct probe_result *res)
{
	struct batch_print *p = arg;

	if (p->out != NULL) {
		if (!batch_out_write(p->out, res, info)) {
			p->write_error = true;
			return false;
		}
		p->printed++;
		return true;
	}
	if (p->cli->format == FORMAT_CSV) {
		if (p->printed == 0)
			report_csv_header(stdout);
		report_csv_line(stdout, res, info);
	} else if (p->cli->json)
		report_json_batch(stdout, res, info);
	else if (p->cli->verbose || info->only) {
		if (p->printed > 0)
			fputc('\n', stdout);
		report_text(stdout, res, p->cli->verbose, p->color);
	} else
		report_text_line(stdout, res, info, p->color);
	p->printed++;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		p->write_error = true;
		return false;
	}
	return true;
}

/* The batch's events on stderr; a second signal ends the process at
 * once (what is written so far stays: each result went out whole). */
static void
batch_notice(void *arg, const struct batch_notice *n)
{
	(void)arg;
	report_batch_notice(stderr, n, isatty(STDERR_FILENO));
	if (n->event == BATCH_EVENT_INTERRUPTED_AGAIN) {
		fflush(stdout);
		fflush(stderr);
		_exit(BATCH_EXIT_INTERRUPTED);
	}
}

/* --output FILE (and --resume): open it, read back what is done. */
static int
batch_output(const struct cli *cli, struct batch_out *out,
    struct batch_done *done, struct batch_options *opt)
{
	char err[512];

	memset(done, 0, sizeof(*done));
	/* The file is JSON Lines unless --format csv. */
	if (batch_out_open(out, cli->output, cli->format == FORMAT_CSV ?
	    BATCH_FORMAT_CSV : BATCH_FORMAT_JSON, cli->resume, done,
	    err, sizeof(err)) != 0) {
		warn_text("", err);
		return -1;
	}
	if (done->cut > 0)
		warn_fmt("--resume: the last line of %s was cut short (%lu "
		    "bytes, left by a crash): removed", cli->output, done->cut);
	if (cli->resume)
		opt->done = done;
	return 0;
}

/* After the run: the errors, the summary, the exit status. */
static int
batch_report(const struct cli *cli, const struct batch_stats *st,
    const struct batch_print *p)
{
	int status = st->exit_code;

	if (st->no_column) {
		warn_fmt("--column: the first row of %s has no column \"%s\"",
		    cli->batch_file, cli->bopt.column);
		status = EXIT_USAGE;
	} else if (st->read_error != 0) {
		warn_fmt("--batch: reading %s: %s", cli->batch_file,
		    strerror(st->read_error));
		status = EXIT_LOCAL_ERROR;
	}
	if (p->write_error) {
		warn_fmt("cannot write the results%s%s: %s; stopped",
		    cli->output != NULL ? " to " : "", cli->output != NULL ?
		    cli->output : "", strerror(errno));
		status = EXIT_LOCAL_ERROR;
	}
	if (st->resume_mismatch > 0) {
		warn_fmt("--resume: entry %lu of the list is not the address "
		    "%s answered there: is it the same list?",
		    st->resume_mismatch - 1, cli->output);
		status = EXIT_USAGE;
	}
	if (st->dup_table_full)
		fprintf(stderr, "smtpprobe: more than %u distinct addresses: "
		    "duplicates past that are probed again\n",
		    (unsigned)BATCH_SEEN_MAX);
	/* JSON or CSV on stdout keep it for the records; the summary goes to
	 * stderr then. */
	if (st->total > 1 || cli->bopt.progress || st->interrupted ||
	    st->resumed > 0 || cli->bopt.shard_n > 0)
		report_batch_summary((cli->output == NULL && cli->format !=
		    FORMAT_TEXT) || p->write_error ? stderr : stdout, st,
		    &cli->bopt);
	fflush(stdout);
	if (st->interrupted)
		status = BATCH_EXIT_INTERRUPTED;
	return status;
}

static int
batch(struct probe_ctx *ctx, const struct cli *cli)
{
	struct batch_print p;
	struct batch_stats *st;
	struct batch_options opt = cli->bopt;
	struct batch_out out;
	struct batch_done done;
	FILE *list = NULL;
	int status;

	memset(&done, 0, sizeof(done));
	if (strcmp(cli->batch_file, "-") == 0)
		list = stdin;
	else if ((list = fopen(cli->batch_file, "r")) == NULL) {
		fputs("smtpprobe: --batch: cannot open ", stderr);
		report_put_cstr(stderr, cli->batch_file);
		fprintf(stderr, ": %s\n", strerror(errno));
		return EXIT_LOCAL_ERROR;
	}
	if ((st = malloc(sizeof(*st))) == NULL ||
	    (cli->output != NULL && batch_output(cli, &out, &done,
	    &opt) != 0)) {
		if (st == NULL)
			fprintf(stderr, "smtpprobe: out of memory\n");
		free(st);
		if (list != stdin)
			fclose(list);
		return st == NULL ? EXIT_LOCAL_ERROR : EXIT_USAGE;
	}
	memset(&p, 0, sizeof(p));
	p.cli = cli;
	p.out = cli->output != NULL ? &out : NULL;
	p.color = cli->format == FORMAT_TEXT && p.out == NULL &&
	    isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	opt.notice = batch_notice;
	opt.notice_arg = NULL;
	batch_run(ctx, &opt, cli->addresses, cli->naddresses, list,
	    batch_print, &p, st);
	status = batch_report(cli, st, &p);
	if (st->abandoned) {
		/* Probes were left in flight and still point into the
		 * batch's state: nothing may be freed; leave now. */
		fflush(stderr);
		_exit(status);
	}
	if (p.out != NULL && batch_out_close(p.out) != 0) {
		warn_fmt("--output: closing %s: %s", cli->output,
		    strerror(errno));
		status = EXIT_LOCAL_ERROR;
	}
	batch_done_free(&done);
	if (list != stdin)
		fclose(list);
	free(st);
	return status;
}

/* One result in the chosen format; the exit status it gives (for the
 * monitoring formats, the whole run's: they report one probe). */
static int
print_result(const struct cli *cli, const struct probe_result *res,
    bool first, bool color)
{
	switch (cli->format) {
	case FORMAT_JSON:
		report_json(stdout, res);
		break;
	case FORMAT_NAGIOS:
		return report_nagios(stdout, res, &cli->limits);
	case FORMAT_PROMETHEUS:
		/* The status is in the metrics; a cron job or an exporter
		 * takes them when the exit status is 0. */
		(void)report_prometheus(stdout, res, &cli->limits);
		return 0;
	default:
		if (!first)
			fputc('\n', stdout);
		report_text(stdout, res, cli->verbose, color);
		break;
	}
	return res->exit_code;
}

/* The addresses of the command line (or --self-check without one), one
 * after the other. */
static int
probe_addresses(struct probe_ctx *ctx, const struct cli *cli)
{
	struct probe_result *res;
	int i, st, status = EXIT_DELIVERABLE;
	bool color, early, none;

	if ((res = malloc(sizeof(*res))) == NULL) {
		fprintf(stderr, "smtpprobe: out of memory\n");
		return EXIT_LOCAL_ERROR;
	}
	color = cli->format == FORMAT_TEXT && isatty(STDOUT_FILENO) &&
	    getenv("NO_COLOR") == NULL;
	/* --quit-after before MAIL needs no mailbox: a bare domain, or the
	 * --server alone, will do. */
	early = cli->cfg.quit_after != STAGE_ADDRESS &&
	    cli->cfg.quit_after < STAGE_MAIL;
	none = cli->cfg.self_check || (early && cli->cfg.use_server);
	for (i = 0; i < cli->naddresses || (i == 0 && none); i++) {
		const char *a = i < cli->naddresses ? cli->addresses[i] : NULL;
		bool mailbox = a != NULL && strchr(a, '@') != NULL;

		/* --self-check with no mailbox: no MAIL, no RCPT. */
		if (cli->cfg.self_check && !mailbox)
			probe_self_check(ctx, a, res);
		else if (early && !mailbox)
			probe_opening(ctx, a, res);
		else
			probe_address(ctx, a, res);
		if (res->addr_error != ADDRESS_OK)
			warn_text("invalid address: ", res->addr_why);
		st = print_result(cli, res, i == 0, color);
		fflush(stdout);
		status = cli->format == FORMAT_NAGIOS || cli->format ==
		    FORMAT_PROMETHEUS ? st : diag_exit_combine(status, st);
		result_clear(res);
	}
	free(res);
	return status;
}

/* Everything after the "explain" check: the exit status.  The caller
 * wipes the configuration's secrets, whatever happened. */
static int
run(struct cli *cli, int argc, char **argv)
{
	struct probe_ctx ctx;
	char err[512];
	int status;

	if (cli_parse(argc, argv, cli, err, sizeof(err)) != 0) {
		warn_text("", err);
		fprintf(stderr, "Try 'smtpprobe --help'.\n");
		if (cli_wants_nagios(argc, argv)) {
			/* A plugin's usage error is UNKNOWN. */
			report_nagios_unknown(stdout, err);
			return MONITOR_UNKNOWN;
		}
		return EXIT_USAGE;
	}
	if (cli->help) {
		cli_usage(stdout);
		return 0;
	}
	if (cli->version) {
		printf("smtpprobe %s\n", SMTPPROBE_VERSION);
		return 0;
	}
	if (probe_ctx_init(&ctx, &cli->cfg, err, sizeof(err)) != 0) {
		warn_text("", err);
		if (cli->format == FORMAT_NAGIOS) {
			report_nagios_unknown(stdout, err);
			return MONITOR_UNKNOWN;
		}
		return EXIT_LOCAL_ERROR;
	}
	if (cli->relay_test)
		status = relay_test(&ctx, cli);
	else if (cli->helo_test)
		status = helo_test(&ctx, cli);
	else if (cli->batch)
		status = batch(&ctx, cli);
	else
		status = probe_addresses(&ctx, cli);
	probe_ctx_free(&ctx);
	return status;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	int status;

	/* A peer that resets the connection must not kill us on write. */
	signal(SIGPIPE, SIG_IGN);

	/* "smtpprobe explain ...": offline, no probe context needed. */
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 1, argv + 1, stdin, stdout, stderr);

	status = run(&cli, argc, argv);
	/* The one way out (but batch mode's _exit with probes in flight). */
	probe_config_wipe(&cli.cfg);
	return status;
}
