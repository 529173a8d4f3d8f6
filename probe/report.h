/*
 * report.h — printing results: text for people, JSON for programs.
 *
 * Server text is untrusted: every byte of it is escaped on the way out
 * (control bytes and invalid UTF-8 shown as \xNN in text, \u00NN in
 * JSON), so a hostile reply cannot drive the terminal or break the JSON.
 * The format is documented in docs/REPORT-FORMAT.md.
 */
#ifndef SMTPPROBE_REPORT_H
#define SMTPPROBE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "result.h"

void report_text(FILE *out, const struct probe_result *r, bool verbose,
    bool color);
void report_json(FILE *out, const struct probe_result *r);

/* Batch mode: the JSON object with "index", "line", "duplicate_of" and
 * "tries" after "address"; and the one-line text form (verdict, reason,
 * address, line, summary). */
struct batch_item_info;
void report_json_batch(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info);
void report_text_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info, bool color);

/* --helo-test: the table and conclusion, or one JSON object. */
struct helotest_result;
void report_helotest_text(FILE *out, const struct helotest_result *ht,
    bool verbose);
void report_helotest_json(FILE *out, const struct helotest_result *ht);

/* --relay-test (report_relay.c): the table and verdict, or one JSON
 * object. */
struct relaytest_result;
void report_relaytest_text(FILE *out, const struct relaytest_result *rt,
    bool verbose);
void report_relaytest_json(FILE *out, const struct relaytest_result *rt);

/* The identity part (report_identity.c): JSON writes ",\"identity\":{...}". */
void report_identity_json(FILE *out, const struct probe_result *r);
void report_identity_text(FILE *out, const struct probe_result *r);

/* Escapers, exposed for the unit tests. */
void report_put_text(FILE *out, const char *s, size_t len);
void report_put_json_string(FILE *out, const char *s, size_t len);
/* A C string as JSON, null for NULL (the _nonempty form: also for ""). */
void report_json_cstr(FILE *out, const char *s);
void report_json_cstr_nonempty(FILE *out, const char *s);
/* A recorded reply as the REPLY object of docs/REPORT-FORMAT.md; null
 * for NULL or a reply not received. */
void report_json_reply(FILE *out, const struct rec_reply *rr);
/* One finding as a line of the text report's findings list. */
void report_finding_line(FILE *out, const struct finding *f);

#endif
