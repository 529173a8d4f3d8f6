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
 * the facts in r (its kind says what the verdict is about); with them
 * the findings about the network (port 25 blocked, interception among
 * r's own servers) and, for a self-check, r->reach. */
void diag_finish(struct probe_result *r, int catch_all_code);

/* Batch mode: the servers kept refusing with 421 / 4xx at the greeting
 * (rate limits) through every try: finding batch.rate_limited, and the
 * verdict a single probe gives that refusal (unknown; rate_limited, or
 * client_rejected or greylisted when the reply says so), with the number
 * of tries.  After diag_finish(). */
void diag_rate_limited(struct probe_result *r, int tries);

/* Batch mode, for a result made without a probe of its own (r holds the
 * address only).  diag_duplicate(): the address repeats entry dup_index
 * (line dup_line of the list; 0: the command line), probed once with
 * verdict v, reason why and exit status exit_code: the same answer,
 * said to be the first one's.  diag_unfinished(): it was not (or not
 * fully) probed — interrupted, dropped, its second try cancelled —
 * summary says what happened: verdict unknown for reason why. */
void diag_duplicate(struct probe_result *r, enum verdict v, enum reason why,
    int exit_code, unsigned long dup_index, unsigned long dup_line);
void diag_unfinished(struct probe_result *r, enum reason why,
    const char *summary);
/* Batch mode: the address was not asked because its server (host, ip)
 * refused this probing host n times in a row earlier in the run;
 * evidence is the first of those refusals.  Finding
 * batch.client_refused, verdict unknown, reason client_rejected. */
void diag_client_refused(struct probe_result *r, const char *host,
    const char *ip, const char *evidence, int n);

/* The relay test and the HELO test (core/relayfacts.h,
 * core/helofacts.h): their answers classified and the conclusion, exit
 * status and findings written, once every connection is over. */
struct relaytest_result;
struct helotest_result;
void diag_relay_test(struct relaytest_result *rt);
void diag_helo_test(struct helotest_result *ht);

/*
 * Outbound port 25 blocked.  diag_connect_all_failed(): r's facts say it
 * may be: DNS worked, and every server address tried failed to connect
 * (refused, unreachable, timed out, or skipped after timing out earlier;
 * through a proxy, the proxy could not reach it), none refused by a
 * proxy's rules; *nservers: the addresses tried.  diag_finish() then
 * files the finding network.port_blocked for this domain.
 * diag_port_blocked_text() is the statement with what to do, for
 * nservers of ndomains domains: the finding's, and a batch's summary and
 * stop message across domains.
 */
bool diag_connect_all_failed(const struct probe_result *r, size_t *nservers);
void diag_port_blocked_text(char *buf, size_t len, int port, bool proxy,
    size_t nservers, size_t ndomains);

/*
 * Interception: a network that answers every connection to port 25
 * itself greets with one name for every destination.  A greeter is one
 * server that greeted, as that judgement needs it; diag_greeters() lists
 * those of r (at most max).  diag_intercepted_pair() is true when a and
 * b are unrelated servers (other addresses; MX, PTR and greeting names
 * under different parent domains) that greeted with the same host name,
 * which is neither's PTR name (both PTRs known): what one interceptor
 * does and independent servers do not.  diag_intercepted() adds the
 * finding network.intercepted to r and makes its verdict say so (a
 * single probe's own servers are compared in diag_finish(); batch mode
 * compares across domains); diag_intercepted_text() is the statement,
 * for the finding and a batch's summary.
 */
struct greeter {
	char	domain[LIMIT_DOMAIN + 1];	/* the mail domain */
	char	mx[RESOLVER_NAME_MAX];		/* the MX host name */
	char	ip[64];
	char	banner[RESOLVER_NAME_MAX];	/* first word of the 220 */
	char	ptr[RESOLVER_NAME_MAX];		/* first PTR name; "" unknown */
	bool	banner_is_ptr;			/* among its PTR names */
	char	cert[256];			/* certificate subject, "" none */
};
size_t diag_greeters(const struct probe_result *r, struct greeter *out,
    size_t max);
bool diag_intercepted_pair(const struct greeter *a, const struct greeter *b);
void diag_intercepted(struct probe_result *r, const struct greeter *a,
    const struct greeter *b, bool across_domains);
void diag_intercepted_text(char *buf, size_t len, const struct greeter *a,
    const struct greeter *b);

/* Combine exit statuses of several addresses: the worst wins, in the order
 * 70, 65, 2, 1, 3, 0. */
int diag_exit_combine(int a, int b);

#endif
