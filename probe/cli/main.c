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

/* Counts per verdict and per reason, and the time taken. */
static void
batch_summary(FILE *out, const struct batch_stats *st,
    const struct batch_options *o)
{
	double secs = st->elapsed_ms / 1000;
	size_t i;

	fprintf(out, "summary: %lu address%s in %.1f s", st->total,
	    st->total == 1 ? "" : "es", secs);
	if (secs > 0 && st->total > 0)
		fprintf(out, " (%.1f/s)", (double)st->total / secs);
	fprintf(out, ": %lu deliverable, %lu undeliverable, %lu risky, %lu "
	    "unknown\n", st->verdicts[VERDICT_DELIVERABLE],
	    st->verdicts[VERDICT_UNDELIVERABLE], st->verdicts[VERDICT_RISKY],
	    st->verdicts[VERDICT_UNKNOWN]);
	if (st->nreasons > 0) {
		fputs("  by reason:", out);
		for (i = 0; i < st->nreasons; i++)
			fprintf(out, "%s %s %lu", i > 0 ? "," : "",
			    reason_name(st->reason_order[i]),
			    st->reason_count[st->reason_order[i]]);
		fputc('\n', out);
	}
	fprintf(out, "  %lu duplicate%s, %lu invalid line%s, %lu retr%s after "
	    "a back-off\n", st->duplicates, st->duplicates == 1 ? "" : "s",
	    st->invalid_lines, st->invalid_lines == 1 ? "" : "s", st->retries,
	    st->retries == 1 ? "y" : "ies");
	fprintf(out, "  %lu SMTP connection%s, %lu transaction%s; %lu "
	    "address%s asked on another's connection (up to %d per "
	    "transaction)\n", st->connections, st->connections == 1 ? "" :
	    "s", st->transactions, st->transactions == 1 ? "" : "s",
	    st->shared, st->shared == 1 ? "" : "es", o->rcpt_per_txn);
	if (st->pipelined > 0)
		fprintf(out,
		    "  %lu recipient%s sent in groups (PIPELINING, RFC "
		    "2920) without waiting for the answer before\n",
		    st->pipelined, st->pipelined == 1 ? "" : "s");
	if (st->tls_sessions > 0)
		fprintf(out, "  TLS on %lu connection%s, %lu of them resuming the "
		    "session of an earlier one to the same server\n",
		    st->tls_sessions, st->tls_sessions == 1 ? "" : "s",
		    st->tls_resumed);
	fprintf(out, "  politeness per server address: 1 to %d connection%s "
	    "at once, pauses from %.2f s down to %.2f s; faster after good "
	    "connections, slower after a 421, a rate-limit reply, a refused "
	    "connection or a tarpit; %lu server%s slowed down\n",
	    o->per_server, o->per_server == 1 ? "" : "s",
	    (o->delay_ms > BATCH_PAUSE_START_MS ? o->delay_ms :
	    BATCH_PAUSE_START_MS) / 1000.0, o->delay_ms / 1000.0,
	    st->servers_slowed, st->servers_slowed == 1 ? "" : "s");
	for (i = 0; i < st->nslow_notes; i++)
		fprintf(out, "    %s\n", st->slow_notes[i]);
	if (st->servers_slowed > st->nslow_notes)
		fprintf(out, "    (and %lu more)\n",
		    (unsigned long)(st->servers_slowed - st->nslow_notes));
	if (st->stalled > 0)
		fprintf(out, "  %lu address%s not tried: %s servers timed out "
		    "earlier (batch.server_stalled)\n", st->stalled,
		    st->stalled == 1 ? "" : "es", st->stalled == 1 ? "its" :
		    "their");
	if (st->grey_retried > 0 || st->grey_not_retried > 0)
		fprintf(out, "  greylisting: %lu address%s retried after %.0f "
		    "s: %lu deliverable, %lu undeliverable, %lu risky, %lu "
		    "unknown%s; %lu not retried (too many waiting)\n",
		    st->grey_retried, st->grey_retried == 1 ? "" : "es",
		    o->greylist_ms / 1000.0,
		    st->grey_verdicts[VERDICT_DELIVERABLE],
		    st->grey_verdicts[VERDICT_UNDELIVERABLE],
		    st->grey_verdicts[VERDICT_RISKY],
		    st->grey_verdicts[VERDICT_UNKNOWN], st->interrupted ?
		    " (before the interruption)" : "", st->grey_not_retried);
	if (st->blocked_domains >= BATCH_BLOCKED_DOMAINS && !st->connected) {
		char text[512];

		diag_port_blocked_text(text, sizeof(text), st->blocked_port,
		    st->blocked_proxy, st->blocked_servers, st->blocked_domains);
		fprintf(out, "  %s (network.port_blocked)\n", text);
		if (st->blocked_stop)
			fprintf(out, "  stopped early: the rest of the list was "
			    "not probed (%lu address%s read ahead dropped); "
			    "--keep-going probes the whole list\n",
			    st->not_finished, st->not_finished == 1 ? "" : "es");
	}
	if (st->intercepted > 0)
		fprintf(out, "  %lu address%s: %s (network.intercepted)\n",
		    st->intercepted, st->intercepted == 1 ? "" : "es",
		    st->intercept_text);
	if (o->shard_n > 0)
		fprintf(out, "  shard %lu/%lu: %lu entr%s of the other shards "
		    "left out\n", o->shard_k, o->shard_n, st->other_shards,
		    st->other_shards == 1 ? "y" : "ies");
	if (st->resumed > 0)
		fprintf(out, "  resumed: %lu entr%s answered before, skipped\n",
		    st->resumed, st->resumed == 1 ? "y" : "ies");
	if (st->interrupted)
		fprintf(out, "  interrupted: %lu probe%s in flight stopped "
		    "(reason interrupted), %lu address%s read or waiting not "
		    "finished, the rest of the list not read; exit status "
		    "%d\n", st->abandoned_n, st->abandoned_n == 1 ? "" : "s",
		    st->not_finished, st->not_finished == 1 ? "" : "es",
		    BATCH_EXIT_INTERRUPTED);
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
		batch_summary((cli->output == NULL && cli->format !=
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
