/*
 * batch.h — many addresses on one event loop, politely (--batch).
 *
 * Addresses come from the command line and from a list (one per line,
 * batchinput.h).  Up to `parallel` probes run at once on the context's
 * loop, with these rules (docs/BATCH.md):
 *
 *  - one address per domain at a time: a domain's addresses are probed
 *    one after another, never in parallel;
 *  - one connection per server address at a time, whatever the domain
 *    (domains that share their MX hosts share this), with `delay_ms`
 *    between the end of one connection and the start of the next;
 *  - after a 421 or another 4xx at the greeting or EHLO ("too many
 *    connections", rate limits), the server is left alone for a back-off
 *    that doubles on each such answer (backoff_ms .. backoff_max_ms), and
 *    the address is tried again, at most `retries` more times; then it is
 *    reported "unknown", reason "rate_limited";
 *  - DNS answers are shared through the resolver's cache, so a domain's
 *    MX and address look-ups are made once.
 *
 * A duplicate (same local part, same domain in any case) is probed once
 * and reported as a duplicate of the first.  Results are handed to the
 * caller as each address is finished, in the order they finish; the
 * per-address state is freed right after.  Memory is bounded: at most
 * BATCH_WINDOW addresses are read ahead of the probes, at most `parallel`
 * results exist at once, the server table and the DNS cache are capped.
 * The engine knows nothing of output formats: the caller prints.
 */
#ifndef SMTPPROBE_BATCH_H
#define SMTPPROBE_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "probe.h"

#define BATCH_PARALLEL_DEFAULT	10
#define BATCH_PARALLEL_MAX	100
/* Pause between connections to one server address. */
#define BATCH_DELAY_DEFAULT_MS	1000
#define BATCH_DELAY_MAX_MS	3600000
/* Back-off after a 421 / 4xx greeting: first wait, cap, tries more. */
#define BATCH_BACKOFF_MS	5000
#define BATCH_BACKOFF_MAX_MS	300000
#define BATCH_RETRIES_DEFAULT	3
#define BATCH_RETRIES_MAX	10
/* Addresses read ahead of the probes (waiting for their domain or a
 * free slot). */
#define BATCH_WINDOW		512
/* Server addresses remembered (busy, pause, back-off). */
#define BATCH_SERVERS_MAX	4096
/* DNS answers kept by the resolver in batch mode. */
#define BATCH_DNS_CACHE		512
/* Recipients asked in one SMTP transaction (--rcpt-per-connection):
 * the default stays under the error counts at which common servers
 * start slowing a client down or disconnecting it (Postfix
 * smtpd_soft_error_limit 10, smtpd_hard_error_limit 20), since many
 * addresses of a list may be unknown; the maximum is the 100 recipients
 * RFC 5321 §4.5.3.1.8 asks every server to take. */
#define BATCH_RCPT_DEFAULT	5
#define BATCH_RCPT_MAX		100
/* --greylist-retry: the longest delay, and how many addresses may wait
 * for their second try at once (past that they are reported after one). */
#define BATCH_GREYLIST_MAX_MS	3600000
#define BATCH_GREYLIST_WAITING	4096
/* Domains remembered: the --catch-all answer, the recipients a server
 * took in one transaction. */
#define BATCH_DOMAINS_MAX	4096
/* Outbound port 25 blocked: after this many unrelated domains (no server
 * address in common) whose every server failed to connect, with no
 * connection made at all in the run, the batch starts no more probes
 * (unless --keep-going): the rest of the list would only time out the
 * same way.  Three rules out one domain's outage and a coincidence of
 * two. */
#define BATCH_BLOCKED_DOMAINS	3
/* Server addresses remembered for telling those domains apart. */
#define BATCH_BLOCKED_SERVERS	256
/* Servers that greeted, remembered to compare other domains' greetings
 * with (interception, diag_intercepted_pair()). */
#define BATCH_GREETERS_MAX	64
/* After SIGINT or SIGTERM: how long the probes in flight may still run. */
#define BATCH_INTERRUPT_GRACE_MS 2000
/* Exit status of an interrupted batch (128 + SIGINT, as shells do). */
#define BATCH_EXIT_INTERRUPTED	130

struct batch_options {
	int	parallel;	/* 1 .. BATCH_PARALLEL_MAX */
	int	delay_ms;	/* 0 .. BATCH_DELAY_MAX_MS */
	int	retries;	/* 0 .. BATCH_RETRIES_MAX */
	int	backoff_ms;	/* first back-off */
	int	backoff_max_ms;
	bool	progress;	/* a status line on stderr */
	int	rcpt_per_conn;	/* 1 .. BATCH_RCPT_MAX */
	int	greylist_ms;	/* 0: no second try after greylisting */
	bool	keep_going;	/* no stop when port 25 looks blocked */
};

void batch_options_defaults(struct batch_options *o);

/* Where an address came from, for the report. */
struct batch_item_info {
	unsigned long	 index;		/* 0-based position among all entries */
	unsigned long	 line;		/* line in the list; 0: command line */
	bool		 duplicate;
	unsigned long	 dup_index;	/* the first occurrence */
	unsigned long	 dup_line;
	bool		 invalid_line;	/* NUL, bare CR, too long */
	int		 tries;		/* probes made for it (retries + 1) */
	bool		 only;		/* the input holds no other entry */
};

/* Called for each address when it is finished; res is freed (or reused)
 * after the call.  Return false to stop: nothing new is started, the
 * probes under way are finished and reported. */
typedef bool (*batch_result_cb)(void *arg, const struct batch_item_info *info,
    struct probe_result *res);

struct batch_stats {
	unsigned long	 total;		/* results reported */
	unsigned long	 verdicts[4];	/* enum verdict */
	unsigned long	 duplicates;
	unsigned long	 invalid_lines;
	unsigned long	 retries;	/* probes repeated after a back-off */
	unsigned long	 lines;		/* lines read from the list */
	size_t		 nreasons;	/* reasons seen, in reason_order */
	unsigned char	 reason_order[REASON_COUNT];	/* enum reason, first seen first */
	unsigned long	 reason_count[REASON_COUNT];	/* by enum reason */
	double		 elapsed_ms;
	int		 exit_code;	/* the worst, diag_exit_combine */
	int		 read_error;	/* errno of a read error of the list */
	bool		 dup_table_full;
	bool		 stopped;	/* the callback asked to stop */
	unsigned long	 connections;	/* SMTP connections made */
	unsigned long	 shared;	/* addresses asked on another's connection */
	unsigned long	 stalled;	/* reported without trying: servers stalled */
	unsigned long	 grey_retried;	/* greylisted, tried again */
	unsigned long	 grey_verdicts[4];	/* their second answers */
	unsigned long	 grey_not_retried;	/* too many waiting */
	bool		 interrupted;	/* SIGINT / SIGTERM */
	bool		 abandoned;	/* probes were left unfinished: exit now */
	unsigned long	 abandoned_n;	/* reported "interrupted" */
	unsigned long	 not_finished;	/* read or retried, then dropped */
	/* Outbound port 25: unrelated domains whose every server failed
	 * to connect, their servers, the port; whether any connection was
	 * made in the run, and whether the batch stopped early for it. */
	unsigned long	 blocked_domains;
	unsigned long	 blocked_servers;
	int		 blocked_port;
	bool		 blocked_proxy;
	bool		 connected;
	bool		 blocked_stop;
	/* Results flagged network.intercepted across domains, and the
	 * statement about the first pair, for the summary. */
	unsigned long	 intercepted;
	char		 intercept_text[600];
};

/*
 * Probe addrs[0..naddrs) and then every address of list (NULL for none)
 * on ctx, calling cb for each.  Installs ctx->hooks and switches on the
 * resolver's cache for the run (ctx must have been made from a config
 * whose dns.cache_entries is set for that; see cli.c).  Returns when
 * everything is reported.
 *
 * SIGINT and SIGTERM are handled while it runs: no new probe starts, the
 * ones in flight get BATCH_INTERRUPT_GRACE_MS to finish, and stats says
 * interrupted.  When some did not finish, they are reported with reason
 * "interrupted", stats->abandoned is set, and the probes' state is left
 * as it is: the caller must then print and exit without freeing ctx.
 * A second signal ends the process at once with BATCH_EXIT_INTERRUPTED.
 */
void batch_run(struct probe_ctx *ctx, const struct batch_options *opt,
    char **addrs, int naddrs, FILE *list, batch_result_cb cb, void *arg,
    struct batch_stats *stats);

#endif
