/*
 * batch.h — many addresses on one event loop, politely and fast
 * (--batch, docs/BATCH.md).
 *
 * Addresses come from the command line and from a list (one per line,
 * batchinput.h).  Every domain is resolved once; its addresses then wait
 * on the first server its probe would try, and connections are made per
 * server, not per domain: one connection asks one transaction per domain
 * (RSET between), each of up to `rcpt_per_txn` recipients.  Politeness
 * is kept per server address (batchserver.c): connections at once (1 up
 * to `per_server`) and the pause between them (from `delay_ms`) adapt to
 * what the server shows; a 421 or a refused greeting starts a back-off
 * that doubles (backoff_ms .. backoff_max_ms) and the addresses turned
 * away are tried again, at most `retries` more times, then reported
 * "unknown", reason "rate_limited".  A connection stops asking before
 * the server's error limits (`error_budget` refusals) and its remaining
 * addresses go on a fresh one.  `rate` caps the recipients asked per
 * second over the whole run.
 *
 * A duplicate (same local part, same domain in any case) is probed once
 * and reported as a duplicate of the first.  Results are handed to the
 * caller as each address is finished, in the order they finish; the
 * per-address state is freed right after.  Memory is bounded: at most
 * BATCH_WINDOW addresses and BATCH_DOMAINS_HELD domains' DNS facts are
 * held, one result is built at a time, the tables are capped.  The
 * engine knows nothing of output formats: the caller prints.
 */
#ifndef SMTPPROBE_BATCH_H
#define SMTPPROBE_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "batchdone.h"
#include "probe.h"

/* Connections open at once, over every server. */
#define BATCH_PARALLEL_DEFAULT	32
#define BATCH_PARALLEL_MAX	500
/* Connections at once to one server address (the most the adaptive rule
 * allows). */
#define BATCH_PER_SERVER_DEFAULT 2
#define BATCH_PER_SERVER_MAX	20
/* The least pause between connections to one server address
 * (--delay); the adaptive pause starts at BATCH_PAUSE_START_MS (or
 * --delay when longer). */
#define BATCH_DELAY_DEFAULT_MS	0
#define BATCH_DELAY_MAX_MS	3600000
#define BATCH_PAUSE_START_MS	50
/* The adaptive rule (batchserver.c): the pause shrinks by a step after a
 * good connection, one more connection at once after a streak of good
 * ones; a slow-down doubles the pause, to at least BATCH_SLOW_PAUSE_MS,
 * at most BATCH_PAUSE_MAX_MS. */
#define BATCH_PAUSE_STEP_MS	25
#define BATCH_GOOD_STREAK	1
#define BATCH_SLOW_PAUSE_MS	1000
#define BATCH_PAUSE_MAX_MS	60000
/* A tarpit: a MAIL or RCPT reply slower than BATCH_SLOW_MIN_MS and than
 * BATCH_SLOW_FACTOR times the server's usual (twice that ends the
 * session). */
#define BATCH_SLOW_MIN_MS	1000
#define BATCH_SLOW_FACTOR	4
/* Back-off after a 421 / 4xx greeting: first wait, cap, tries more. */
#define BATCH_BACKOFF_MS	5000
#define BATCH_BACKOFF_MAX_MS	300000
#define BATCH_RETRIES_DEFAULT	3
#define BATCH_RETRIES_MAX	10
/* Addresses held in memory (read ahead, waiting, being asked). */
#define BATCH_WINDOW		4096
/* How long a server's first domain waits for others that may share the
 * server while their look-ups are under way. */
#define BATCH_GATHER_MS		200
/* Addresses waiting aside for a back-off or greylisting, at most. */
#define BATCH_PARKED_MAX	16384
/* Domains whose DNS facts are held at once, and looked up at once. */
#define BATCH_DOMAINS_HELD	2048
#define BATCH_RESOLVING		64
/* Server addresses remembered. */
#define BATCH_SERVERS_MAX	4096
/* DNS answers kept by the resolver in batch mode. */
#define BATCH_DNS_CACHE		2048
/* Recipients per transaction (--rcpt-per-transaction): 50 stays under
 * the 100 RFC 5321 §4.5.3.1.8 asks every server to take, and the rest
 * carries over on 452 "too many recipients". */
#define BATCH_RCPT_DEFAULT	50
#define BATCH_RCPT_MAX		100
/* Per connection: the recipients planned, and the transactions — each
 * ends with RSET, which Postfix counts as a junk command past
 * smtpd_junk_command_limit (100). */
#define BATCH_CONN_RCPT		100
#define BATCH_CONN_TXNS		50
/* Refused MAIL and RCPT commands after which a connection stops asking
 * (--error-budget): under the 10 errors at which Postfix starts delaying
 * every reply (smtpd_soft_error_limit) and the 20 at which it hangs up
 * (smtpd_hard_error_limit); Exim and others count alike. */
#define BATCH_ERROR_BUDGET_DEFAULT 8
#define BATCH_ERROR_BUDGET_MAX	100
/* Permanent refusals of this host (reason client_rejected, a 5xx: its
 * address is blocklisted, its reverse DNS or HELO name refused) from one
 * server address, in a row with no address answered between them, after
 * which the server is not asked again in the run: its waiting addresses
 * are reported without asking (batch.client_refused).  Asking on would
 * only add to what the server holds against this host. */
#define BATCH_CLIENT_REFUSALS	3
/* --rate: recipients per second, at most. */
#define BATCH_RATE_MAX		100000
/* --greylist-retry: the longest delay, and how many addresses may wait
 * for their second try at once (past that they are reported after one). */
#define BATCH_GREYLIST_MAX_MS	3600000
#define BATCH_GREYLIST_WAITING	4096
/* Domains remembered after their last address: the --catch-all answer. */
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
/* --shard K/N: the most shards. */
#define BATCH_SHARDS_MAX	100000
/* Servers named in the summary as slowed down. */
#define BATCH_SLOW_NOTES	8

/* What the batch tells its caller while it runs, for the caller to show
 * (the batch itself prints nothing). */
enum batch_event {
	BATCH_EVENT_PROGRESS,	/* counts so far (at most once a second
				 * with --progress; last: the final one) */
	BATCH_EVENT_INTERRUPTED,	/* SIGINT/SIGTERM: no new connection;
					 * the open ones get grace_ms */
	BATCH_EVENT_INTERRUPTED_AGAIN,	/* a second signal: the probes in
					 * flight are abandoned at once (the
					 * caller may exit right away) */
	BATCH_EVENT_BLOCKED	/* outbound port 25 looks blocked: no new
				 * probe starts (text says why) */
};

struct batch_stats;

struct batch_notice {
	enum batch_event	 event;
	const struct batch_stats *st;	/* the counts so far */
	bool			 last;		/* PROGRESS: the run is over */
	int			 signal;	/* INTERRUPTED*: which */
	size_t			 open;		/* connections open */
	size_t			 waiting;	/* addresses read, not finished */
	double			 elapsed_ms;
	int			 grace_ms;	/* INTERRUPTED */
	const char		*text;		/* BLOCKED: the statement */
};

typedef void (*batch_notice_cb)(void *arg, const struct batch_notice *n);

struct batch_options {
	int	parallel;	/* connections at once: 1 .. BATCH_PARALLEL_MAX */
	int	per_server;	/* at once to one server: 1 .. */
	int	delay_ms;	/* least pause: 0 .. BATCH_DELAY_MAX_MS */
	int	retries;	/* 0 .. BATCH_RETRIES_MAX */
	int	backoff_ms;	/* first back-off */
	int	backoff_max_ms;
	bool	progress;	/* BATCH_EVENT_PROGRESS while running */
	int	rcpt_per_txn;	/* 1 .. BATCH_RCPT_MAX */
	int	error_budget;	/* refusals per connection */
	double	rate;		/* recipients per second; 0: no cap */
	int	greylist_ms;	/* 0: no second try after greylisting */
	/* --resume: the entries answered before (batchout.h), skipped;
	 * NULL for none. */
	const struct batch_done *done;
	/* --column NAME: the list is CSV, the addresses in that column;
	 * NULL for a plain list. */
	const char *column;
	/* --shard K/N: only the entries whose domain falls in shard K of N
	 * (batch_shard()); shard_n 0 for all. */
	unsigned long shard_k, shard_n;
	bool	keep_going;	/* no stop when port 25 looks blocked */
	/* Told of the events above; NULL: nobody is. */
	batch_notice_cb notice;
	void	*notice_arg;
};

/* The shard (0 .. n-1) of an entry: FNV-1a (64 bits) of its domain in
 * lower-case A-label form (the address literal as written; the whole
 * entry when it has no valid domain), modulo n.  Stable across runs,
 * machines and versions: the shards of one list are always the same. */
unsigned long batch_shard(const char *domain, unsigned long n);

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
	unsigned long	 transactions;	/* MAIL transactions asked */
	unsigned long	 tls_sessions;	/* connections that ended in TLS */
	unsigned long	 tls_resumed;	/* ... whose handshake was resumed */
	unsigned long	 shared;	/* addresses asked on another's connection */
	unsigned long	 pipelined;	/* RCPT sent in a group (PIPELINING) */
	unsigned long	 servers_slowed;	/* servers the rule slowed down */
	size_t		 nslow_notes;
	char		 slow_notes[BATCH_SLOW_NOTES][384];	/* "host ip: why" */
	unsigned long	 stalled;	/* reported without trying: servers stalled */
	unsigned long	 client_refused;	/* not asked: their server
						 * refused this host */
	unsigned long	 servers_refusing;	/* servers that did */
	char		 refusal_note[700];	/* the first: "host ip: reply" */
	unsigned long	 grey_retried;	/* greylisted, tried again */
	unsigned long	 grey_verdicts[4];	/* their second answers */
	unsigned long	 grey_not_retried;	/* too many waiting */
	bool		 interrupted;	/* SIGINT / SIGTERM */
	bool		 abandoned;	/* probes were left unfinished: exit now */
	unsigned long	 abandoned_n;	/* reported "interrupted" */
	unsigned long	 not_finished;	/* read or retried, then dropped */
	unsigned long	 resumed;	/* answered before: skipped */
	unsigned long	 other_shards;	/* entries of the other shards */
	bool		 no_column;	/* --column: not in the header */
	unsigned long	 resume_mismatch;	/* entry whose address is not
						 * the one answered; 0: none */
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
 * A second signal abandons the probes in flight at once (stats says so);
 * the caller, told by BATCH_EVENT_INTERRUPTED_AGAIN, may also end the
 * process right away with BATCH_EXIT_INTERRUPTED.
 */
void batch_run(struct probe_ctx *ctx, const struct batch_options *opt,
    char **addrs, int naddrs, FILE *list, batch_result_cb cb, void *arg,
    struct batch_stats *stats);

#endif
