/*
 * plan.h — what one SMTP connection is asked to do, and what it answered.
 *
 * A plan is the unit every mode builds: after the opening (greeting,
 * EHLO, STARTTLS, AUTH, which the session parameters describe) it lists
 * transactions, each a sender and its recipients.  The session runs them
 * in order — MAIL FROM, one RCPT TO per recipient (in groups with
 * PIPELINING when the plan allows it), RSET — and then says
 * QUIT; it writes every answer into the plan's own records and knows
 * nothing of the mode that made the plan.  A plan with no transaction
 * stops after the opening (self-check, --quit-after).
 *
 *   single probe  1 transaction: the address (+ the made-up control
 *                 recipient with --catch-all, asked only once a recipient
 *                 was accepted)
 *   batch group   1 transaction per domain (RSET between): the domains
 *                 whose first server is the same address
 *   relay test    1 transaction per recipient form
 *
 * The caller owns the plan, its arrays and the strings they point to,
 * and must keep them until the session is done.  Records own the replies
 * they hold (plan_clear() frees them).  Never DATA: a transaction always
 * ends with RSET, or with QUIT.
 */
#ifndef SMTPPROBE_PLAN_H
#define SMTPPROBE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

enum plan_rcpt_state {
	PLAN_RCPT_NOT_ASKED,	/* not sent: the session ended before, or
				 * a control whose condition did not hold */
	PLAN_RCPT_ANSWERED,	/* reply holds the answer */
	PLAN_RCPT_TOO_MANY,	/* 452 / X.5.3: ask again in a new transaction */
	PLAN_RCPT_CLOSED,	/* 421: the server closes the connection */
	PLAN_RCPT_NO_ANSWER	/* sent; the connection was lost or timed out */
};

struct plan_rcpt {
	const char		*mailbox;	/* the RCPT TO argument */
	bool			 if_accepted;	/* a control: ask only once an
						 * earlier recipient of the
						 * transaction was accepted */
	/* Written by the session: */
	enum plan_rcpt_state	 state;
	struct rec_reply	 reply;		/* .reply owned; NULL when none came */
	bool			 timed_out;	/* NO_ANSWER by a timeout */
	char			 why[128];	/* NO_ANSWER: what happened */
};

enum plan_txn_state {
	PLAN_TXN_NOT_ASKED,	/* the session ended before MAIL */
	PLAN_TXN_NO_SMTPUTF8,	/* not asked: it needs SMTPUTF8, the server
				 * does not offer it (RFC 6531 §3.2) */
	PLAN_TXN_ASKED		/* MAIL was sent; mail holds its answer */
};

struct plan_txn {
	const char		*from;		/* MAIL FROM argument; "" for <> */
	bool			 need_smtputf8;	/* a recipient has a UTF-8 local part */
	struct plan_rcpt	*rcpts;
	size_t			 nrcpts;
	/* Written by the session: */
	enum plan_txn_state	 state;
	struct rec_reply	 mail;		/* .reply NULL when none came */
	size_t			 accepted;	/* recipients accepted */
	size_t			 took;		/* accepted under one MAIL before
						 * a 452 "too many"; 0: none */
};

/* Why the session stopped asking before the end of the plan. */
enum plan_stop {
	PLAN_STOP_NONE,
	PLAN_STOP_BUDGET,	/* max_rejected refusals reached */
	PLAN_STOP_SLOW		/* a reply slower than slow_reply_ms */
};

struct plan {
	struct plan_txn		*txns;
	size_t			 ntxns;		/* 0: QUIT after the opening */
	/*
	 * Rules for the session; 0 or false for none.  max_rejected: stop
	 * asking (RSET, QUIT) once this many MAIL and RCPT commands were
	 * refused (4xx or 5xx) on the connection: servers count errors per
	 * session and slow down or drop the client past a limit (Postfix
	 * smtpd_soft_error_limit 10, smtpd_hard_error_limit 20).
	 * slow_reply_ms: stop asking after a MAIL or RCPT reply that took
	 * longer (a server that tarpits).  carry_over: after a 452 "too
	 * many recipients" (RFC 5321 §4.5.3.1.10), ask the rest of the
	 * transaction in a new one on the same connection (RSET, MAIL,
	 * RCPT...) instead of leaving them TOO_MANY.  pipelining: when the
	 * server offers PIPELINING, send the recipients of a transaction in
	 * groups without waiting for each answer (RFC 2920 §3.1), never
	 * more at once than the refusals max_rejected has left; the
	 * answers still go one to one to their commands, in order.
	 */
	unsigned		 max_rejected;
	unsigned		 slow_reply_ms;
	bool			 carry_over;
	bool			 pipelining;
	/* Written by the session: */
	unsigned		 rejected;	/* MAIL and RCPT refused */
	enum plan_stop		 stopped;
	unsigned		 nreplies;	/* MAIL and RCPT replies */
	unsigned		 pipelined;	/* RCPT sent before the answer
						 * to the one before it */
	double			 reply_ms;	/* their time, summed */
	double			 slowest_ms;	/* the slowest of them */
};

/* Forget every answer (before the plan is run again on a new
 * connection); the requests stay. */
void plan_reset(struct plan *p);
/* Free the replies the records hold (as plan_reset()). */
void plan_clear(struct plan *p);

/* The state's word: "not_asked", "answered", ... */
const char *plan_rcpt_state_name(enum plan_rcpt_state s);

#endif
