/*
 * report.h — printing results: text for people, JSON for programs,
 * status lines and metrics for monitoring systems.
 *
 * Server text is untrusted: every byte of it is escaped on the way out
 * (control bytes and invalid UTF-8 shown as \xNN in text, \u00NN in
 * JSON, json.h), so a hostile reply cannot drive the terminal or break
 * the JSON.  The format is documented in docs/REPORT-FORMAT.md.
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

/* Batch mode, --format csv (report_csv.c): the header row, and one row
 * per address. */
void report_csv_header(FILE *out);
void report_csv_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info);

/* --helo-test: the table and conclusion, or one JSON object. */
/* A batch's summary, and its events while it runs (report_batch.c);
 * tty: out is a terminal (the progress line rewrites itself). */
struct batch_stats;
struct batch_options;
struct batch_notice;
void report_batch_summary(FILE *out, const struct batch_stats *st,
    const struct batch_options *o);
void report_batch_notice(FILE *out, const struct batch_notice *n, bool tty);

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

/*
 * For monitoring systems (report_monitor.c): the thresholds of --warning,
 * --critical (the whole probe's time; 0 for none), --warning-days and
 * --critical-days (fewer days left on the server's certificate; -1 for
 * none), and the statuses of a Nagios plugin, which are its exit
 * statuses too.
 */
struct monitor_limits {
	int	warning_ms;
	int	critical_ms;
	int	warning_days;
	int	critical_days;
};

enum monitor_status {
	MONITOR_OK,
	MONITOR_WARNING,
	MONITOR_CRITICAL,
	MONITOR_UNKNOWN
};

/* --format nagios: "SMTPPROBE STATUS - ... | performance data" and the
 * stages that warn or fail on the lines after; returns the status. */
int report_nagios(FILE *out, const struct probe_result *r,
    const struct monitor_limits *lim);
/* "SMTPPROBE UNKNOWN - why": a usage or local error. */
void report_nagios_unknown(FILE *out, const char *why);
/* --format prometheus: the same figures as gauges in the text
 * exposition format; returns the status. */
int report_prometheus(FILE *out, const struct probe_result *r,
    const struct monitor_limits *lim);

/* The pieces shared by the JSON reports, written through the JSON writer
 * (json.h). */
struct json_writer;
/* The probe's object, as report_json() writes it, as a value of w; info
 * as for report_json_batch(), or NULL. */
void report_json_value(struct json_writer *w, const struct probe_result *r,
    const struct batch_item_info *info);
/* The "identity" member (report_identity.c). */
void report_identity_json(struct json_writer *w, const struct probe_result *r);
/* A recorded reply as the REPLY object of docs/REPORT-FORMAT.md; null
 * for NULL or a reply not received. */
void report_json_reply(struct json_writer *w, const struct rec_reply *rr);
/* One finding object; authenticated >= 0 adds "authenticated" (false for
 * 0, true above), the pass of a relay test it was found in. */
void report_json_finding(struct json_writer *w, const struct finding *f,
    int authenticated);
/* Opens the "server" member with its "host", "ip" and "port"; the caller
 * may add members and closes it. */
void report_json_server(struct json_writer *w, const char *host,
    const char *ip, int port);

/* The TLS parts (report_tls.c): the "tls" member; the "dane" and
 * "mta_sts" members of an MX host; the domain's "mta_sts" and "tls_rpt"
 * members; and the text lines (tls, chain, dane, mta-sts, tls-rpt). */
void report_tls_json(struct json_writer *w, const struct probe_result *r);
void report_tls_json_mx(struct json_writer *w, const struct mx_info *m);
void report_tls_json_domain(struct json_writer *w,
    const struct probe_result *r);
void report_tls_text(FILE *out, const struct probe_result *r);

/* key: true, false, or null when it could not be checked or was not
 * asked (report_identity.c). */
void report_json_check(struct json_writer *w, const char *key,
    enum ident_check c);

/* The identity part of the text report (report_identity.c). */
void report_identity_text(FILE *out, const struct probe_result *r);

/* The text escaper, exposed for the unit tests: control bytes and bytes
 * that are not UTF-8 as \xNN, '\\' doubled, invisible characters as
 * \u{XXXX}. */
void report_put_text(FILE *out, const char *s, size_t len);
/* The same for a C string. */
void report_put_cstr(FILE *out, const char *s);
/* pre and post as they are, s escaped between them: a labelled value
 * ("  error:    ", s, "\n") or one in brackets (" (", s, ")"). */
void report_put_field(FILE *out, const char *pre, const char *s,
    const char *post);
/* Every transcript entry of r, one indented line each ("-> EHLO ..."). */
void report_text_transcript(FILE *out, const struct probe_result *r);
/* One finding as a line of the text report's findings list. */
void report_finding_line(FILE *out, const struct finding *f);

#endif
