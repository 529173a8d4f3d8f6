/*
 * record.h — a plan's answers into a probe_result.
 */
#ifndef SMTPPROBE_RECORD_H
#define SMTPPROBE_RECORD_H

#include <stdbool.h>

#include "plan.h"
#include "result.h"

/* The plan's first transaction is the address's own: its MAIL answer and
 * its first recipient's answer go into the MAIL and RCPT stages (the
 * replies move out of the records). */
void record_address(struct probe_result *res, struct plan *p);

/* Recipient r's answer into the RCPT stage (the reply moves); NULL when
 * it got none. */
const struct rec_reply *record_rcpt(struct probe_result *res,
    struct plan_rcpt *r);

/* Transaction t's MAIL answer (or why it was not asked: SMTPUTF8) into
 * the MAIL stage, copied: every recipient of t gets it. */
void record_txn_mail(struct probe_result *res, struct plan_txn *t);

/* Transaction t got no further than MAIL: refused, or not possible
 * without SMTPUTF8.  Its recipients share that answer. */
bool record_txn_refused(const struct plan_txn *t);

/* Records that stay with the caller (the relay test's forms): the result
 * gets the findings about their replies, and the MAIL and RCPT stages say
 * whether every reply was one the command may get. */
void record_forms(struct probe_result *res, const struct plan *p);

#endif
