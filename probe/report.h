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

/* Escapers, exposed for the unit tests. */
void report_put_text(FILE *out, const char *s, size_t len);
void report_put_json_string(FILE *out, const char *s, size_t len);

#endif
