/*
 * batchint.h — the batch scheduler's own structures, shared by its files
 * (not an interface: batch.h is).
 *
 *   batch.c        the input, the addresses and their domains, results,
 *                  signals, the run
 *   batchjob.c     connections: which addresses ride on one (grouped by
 *                  server, one transaction per domain), the plan, and
 *                  what becomes of each address when it is over
 *   batchserver.c  the server table and the politeness rules: one entry
 *                  per server address (connections at once, the pause,
 *                  the back-off, adaptive), the engine's connection hooks,
 *                  the --rate bucket
 *
 * Lifetimes: an item lives from the line it was read on until its result
 * is handed to the caller; a domain while items of it are alive (its DNS
 * facts) and then as a few remembered facts (catch-all answer), at most
 * BATCH_DOMAINS_MAX; a server entry while it has work or something to
 * remember (a back-off, a stall).
 */
#ifndef SMTPPROBE_BATCHINT_H
#define SMTPPROBE_BATCHINT_H

#include <sys/queue.h>

#include <stdint.h>

#include "batch.h"
#include "batchinput.h"
#include "diag.h"

struct event;
struct batch;
struct dom;
struct job;
struct slot;

/* One address of the input. */
struct item {
	TAILQ_ENTRY(item)	 link;		/* in one list at a time */
	struct batch		*b;
	unsigned long		 index;
	unsigned long		 line;
	char			*address;	/* as given (trimmed) */
	char			*mailbox;	/* the RCPT TO argument */
	char			*key;		/* duplicate key; NULL if none */
	size_t			 keylen;
	struct dom		*dom;		/* NULL: not a valid address */
	bool			 utf8;		/* needs SMTPUTF8 */
	int			 tries;		/* transactions it was asked in */
	double			 not_before;	/* retry, greylisting: monotonic ms */
	unsigned long		 dup_index;	/* a duplicate: of ... */
	unsigned long		 dup_line;
	bool			 grey_retried;	/* --greylist-retry used */
	char			*grey_first;	/* the first answer's summary */
};

TAILQ_HEAD(itemq, item);

enum dom_state {
	DOM_NEW,		/* waiting for a DNS slot */
	DOM_RESOLVING,
	DOM_READY,		/* dns holds the servers */
	DOM_IDLE		/* no address alive: facts only */
};

/* A domain of the input (A-label form). */
struct dom {
	struct dom		*hnext;		/* hash chain */
	TAILQ_ENTRY(dom)	 link;		/* resolve queue, or idle LRU */
	TAILQ_ENTRY(dom)	 rlink;		/* in its server's ready list */
	struct batch		*b;
	char			*name;
	uint64_t		 hash;
	enum dom_state		 state;
	struct probe_dns	*dns;		/* its DNS facts (result_dns_save) */
	struct slot		*slot;		/* its first server; NULL: none usable */
	bool			 in_ready;	/* on slot->ready or b->solo */
	double			 ready_at;	/* when it was put there */
	struct itemq		 items;		/* ready to be asked */
	size_t			 alive;		/* items of it anywhere */
	int			 catch_all_code;	/* a definite answer; 0 */
	bool			 control_out;	/* the control is being asked */
};

TAILQ_HEAD(domq, dom);

/* A wait for leave to connect (probe hooks). */
struct waiter {
	struct waiter		*next;
	struct slot		*slot;
	struct job		*job;		/* NULL: not one of ours */
	void			(*go)(void *);
	void			*go_arg;
	bool			 granted;
};

/* One server address. */
struct slot {
	struct slot		*hnext;
	TAILQ_ENTRY(slot)	 link;		/* b->busy_slots when it has work */
	struct batch		*b;
	/* The server as the engine's hooks name it: its address, or its
	 * name when the proxy resolves it (socks5h). */
	char			 ip[RESOLVER_NAME_MAX];
	char			 host[RESOLVER_NAME_MAX];	/* its name, once known */
	bool			 in_busy;
	int			 active;	/* connections granted */
	int			 waiting;	/* waiters queued */
	int			 pending;	/* jobs started, not asking yet (their
						 * run waits for DNS, DANE) */
	int			 njobs;		/* jobs in flight that name it */
	int			 limit;		/* connections at once, adaptive */
	int			 good;		/* good connections in a row */
	double			 pause_ms;	/* between connections, adaptive */
	double			 free_at;
	double			 backoff_until;
	int			 level;		/* back-offs in a row */
	bool			 stalled;	/* timed out: not tried again */
	int			 refusals;	/* this host refused, in a row */
	bool			 refuses;	/* BATCH_CLIENT_REFUSALS reached:
						 * not asked again */
	char			 refusal[400];	/* the first of the row */
	double			 lat_ms;	/* usual MAIL/RCPT reply time */
	int			 rcpt_cap;	/* recipients per transaction; 0 any */
	bool			 one_by_one;	/* no PIPELINING: after a tarpit, or
						 * replies out of step */
	struct waiter		*wq_head, *wq_tail;
	struct event		*timer;
	struct domq		 ready;		/* domains with addresses to ask */
	unsigned long		 conns;
	unsigned		 slowed;	/* times it slowed down */
	char			 why[128];	/* the last reason, with the time */
	SSL_SESSION		*tls;		/* for resumption, or NULL */
};

TAILQ_HEAD(slotq, slot);

/* What one transaction of a connection holds. */
struct jtxn {
	struct dom		*dom;
	size_t			 first;		/* its items: job->items[first..] */
	size_t			 n;
	bool			 control;	/* the catch-all control is last */
	char			*ctl;		/* its mailbox (owned) */
};

/* One connection (one probe run) and the addresses it asks. */
struct job {
	TAILQ_ENTRY(job)	 link;
	struct batch		*b;
	struct slot		*slot;		/* the group's server; NULL: solo */
	struct dom		*lead;
	struct probe_result	*res;		/* the connection's result */
	struct probe_run	*run;
	struct plan		 plan;
	struct plan_txn		*txns;
	struct jtxn		*jt;
	size_t			 ntxns;
	size_t			 group_from;	/* the first other domain's txn */
	struct plan_rcpt	*rcpts;
	struct item		**items;
	size_t			 nitems;
	bool			 group_turned;	/* the group server turned us away */
	bool			 asked;		/* its run asked for the group's server */
};

TAILQ_HEAD(jobq, job);

#define BATCH_HASH	1024

struct batch {
	struct probe_ctx		*ctx;
	const struct batch_options	*opt;
	batch_result_cb			 cb;
	void				*cb_arg;
	struct batch_stats		*st;

	char				**addrs;
	int				 naddrs;
	int				 next_arg;
	struct batch_reader		*reader;	/* NULL: no list */
	bool				 input_done;
	unsigned long			 next_index;
	size_t				 alive;		/* items in memory */

	struct itemq			 dupwait;	/* duplicates of unfinished ones */
	struct itemq			 retry;		/* waiting for a back-off */
	struct itemq			 grey;		/* waiting to retry greylisting */
	size_t				 nretry, ngrey, ndupwait;
	struct jobq			 jobs;		/* in flight */
	size_t				 njobs;
	struct job			*starting;	/* being started */
	struct batch_seen		 seen;
	struct address			*scratch_addr;
	struct probe_result		*scratch;	/* results built one at a time */
	struct batch_line		 line;

	struct dom			*dhash[BATCH_HASH];
	struct domq			 resolveq;	/* DOM_NEW, in order */
	struct domq			 idle;		/* DOM_IDLE, oldest first */
	struct domq			 solo;		/* ready, no usable server */
	size_t				 ndoms, nidle, nresolving, nheld;

	struct slot			*shash[BATCH_HASH];
	struct slotq			 busy_slots;	/* with domains ready */
	size_t				 nslots;

	double				 tokens;	/* --rate */
	double				 tokens_at;

	/* port 25 blocked, interception (batch_note_network()) */
	char				 (*blocked)[RESOLVER_NAME_MAX];
	size_t				 nblocked;
	struct greeter			*greeters;
	size_t				 ngreeters;

	struct event			*wake;
	struct event			*sigint, *sigterm, *grace;
	bool				 stopping;
	bool				 finished;
	double				 t0;
	double				 last_progress;
};

/* batch.c */
uint64_t	 batch_hash64(const char *s);
void		 batch_notify(struct batch *b, enum batch_event event,
		    struct batch_notice *n);
void		 batch_pump(struct batch *b);
void		 batch_note_answer(struct batch *b,
		    const struct probe_result *res);
void		 batch_settle_refused(struct batch *b, struct slot *s);
void		 batch_pump_soon(struct batch *b);
void		 batch_finish_item(struct batch *b, struct item *it,
		    struct probe_result *res);
void		 batch_item_free(struct batch *b, struct item *it);
void		 batch_requeue(struct batch *b, struct item *it, double when);
void		 batch_emit_unfinished(struct batch *b, struct item *it,
		    enum reason reason, const char *summary);
void		 dom_release(struct batch *b, struct dom *d);
void		 dom_place(struct batch *b, struct dom *d);
bool		 batch_rate_limited(const struct probe_result *res);

/* batchjob.c */
bool		 job_start(struct batch *b, struct slot *s, struct dom *solo,
		    double now);
void		 job_abandon(struct batch *b, struct job *j);

/* batchserver.c */
struct slot	*slot_get(struct batch *b, const char *ip, bool create);
bool		 slot_can_start(const struct slot *s, double now,
		    double *when);
void		 slot_after_job(struct batch *b, struct job *j);
void		 slots_install_hooks(struct batch *b);
void		 slots_free(struct batch *b);
double		 rate_take(struct batch *b, double now, size_t want,
		    size_t *got);
void		 rate_put(struct batch *b, size_t n);
double		 rate_ready(struct batch *b, double now);
bool		 turned_away(const struct probe_result *res,
		    enum session_outcome o);
void		 batch_server_summary(struct batch *b);
void		 batch_note_network(struct batch *b, struct probe_result *res);

#endif
