/*
 * diag.h — facts to findings, explanations and a verdict.
 *
 * The one place where policy lives: the engine records what happened;
 * diag_finish() decides what it means for the address (verdict, reason,
 * summary, exit status) and explains every stage that is not ok, in plain
 * words, with the help of codes_classify().
 */
#ifndef SMTPPROBE_DIAG_H
#define SMTPPROBE_DIAG_H

#include "result.h"

/* Exit statuses (docs/REPORT-FORMAT.md). */
#define EXIT_DELIVERABLE	0
#define EXIT_UNDELIVERABLE	1
#define EXIT_UNKNOWN		2
#define EXIT_RISKY		3
#define EXIT_USAGE		64
#define EXIT_BAD_ADDRESS	65
#define EXIT_LOCAL_ERROR	70

/* Fill verdict, reason, summary, exit_code and the explanations, from
 * the facts in r (its kind says what the verdict is about). */
void diag_finish(struct probe_result *r, int catch_all_code);

/* Batch mode: the servers kept refusing with 421 / 4xx at the greeting
 * (rate limits) through every try; verdict unknown, reason
 * "rate_limited", finding batch.rate_limited.  After diag_finish(). */
void diag_rate_limited(struct probe_result *r, int tries);

/* Combine exit statuses of several addresses: the worst wins, in the order
 * 70, 65, 2, 1, 3, 0. */
int diag_exit_combine(int a, int b);

#endif
