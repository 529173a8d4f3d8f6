/*
 * record.h — a plan's answers into a probe_result.
 */
#ifndef SMTPPROBE_RECORD_H
#define SMTPPROBE_RECORD_H

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

/* Records that stay with the caller (the relay test's forms): the result
 * gets the findings about their replies, and the MAIL and RCPT stages say
 * whether every reply was one the command may get. */
void record_forms(struct probe_result *res, const struct plan *p);

#endif
