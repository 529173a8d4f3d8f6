/*
 * report_batch.c — what a batch says besides its results: the summary
 * at the end (counts per verdict and reason, connections, politeness,
 * what was left out) and the events while it runs (the progress line,
 * interruption, outbound port 25 blocked).  Text for people, on the
 * stream the caller picks.
 */
#include <signal.h>
#include <stdio.h>

#include "batch.h"
#include "diag.h"
#include "report.h"

/* Counts per verdict and per reason, and the time taken. */
void
report_batch_summary(FILE *out, const struct batch_stats *st,
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
	if (st->servers_refusing > 0) {
		fprintf(out, "  %lu server%s refused this host %d times in a "
		    "row and %s not asked again: %lu address%s not asked "
		    "(batch.client_refused); the first:\n    ",
		    st->servers_refusing, st->servers_refusing == 1 ? "" : "s",
		    BATCH_CLIENT_REFUSALS, st->servers_refusing == 1 ? "was" :
		    "were", st->client_refused, st->client_refused == 1 ? "" :
		    "es");
		report_put_cstr(out, st->refusal_note);
		fputc('\n', out);
	}
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

void
report_batch_notice(FILE *out, const struct batch_notice *n, bool tty)
{
	const struct batch_stats *st = n->st;

	switch (n->event) {
	case BATCH_EVENT_PROGRESS:
		fprintf(out, "%ssmtpprobe: %lu done (%lu deliverable, %lu "
		    "undeliverable, %lu risky, %lu unknown), %zu connection%s "
		    "open, %zu waiting, %.0f s%s", tty ? "\r" : "", st->total,
		    st->verdicts[VERDICT_DELIVERABLE],
		    st->verdicts[VERDICT_UNDELIVERABLE],
		    st->verdicts[VERDICT_RISKY], st->verdicts[VERDICT_UNKNOWN],
		    n->open, n->open == 1 ? "" : "s", n->waiting,
		    n->elapsed_ms / 1000, tty && !n->last ? "   " : "\n");
		break;
	case BATCH_EVENT_INTERRUPTED:
		fprintf(out, "smtpprobe: %s: starting no new connection; "
		    "waiting up to %d s for the %zu open (again to quit at "
		    "once)\n", n->signal == SIGTERM ? "terminated" :
		    "interrupted", n->grace_ms / 1000, n->open);
		break;
	case BATCH_EVENT_INTERRUPTED_AGAIN:
		fprintf(out, "smtpprobe: interrupted again: exiting now\n");
		break;
	case BATCH_EVENT_BLOCKED:
		fprintf(out, "smtpprobe: %s\nsmtpprobe: starting no new probe: "
		    "the rest of the list would time out the same way "
		    "(--keep-going probes it all)\n", n->text);
		break;
	}
	fflush(out);
}
