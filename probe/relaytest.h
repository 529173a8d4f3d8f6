/*
 * relaytest.h — `--relay-test`: does a server relay mail to outside
 * domains?
 *
 * One server (--server, or the MX of a domain found as an ordinary probe
 * finds it) is asked, on one connection, a short fixed list of envelopes:
 * MAIL FROM the configured sender, RCPT TO an outside address in the forms
 * open-relay testers use (plain, the %-hack, a bang path, a quoted local
 * part, a source route), RSET after each.  Never DATA: nothing can be
 * delivered.  Without --auth-user that is one connection; with it, a
 * second one authenticates first.  An outside recipient accepted without
 * authentication makes an open relay.
 */
#ifndef SMTPPROBE_RELAYTEST_H
#define SMTPPROBE_RELAYTEST_H

#include <stdbool.h>

#include "probe.h"
#include "result.h"

enum relay_variant {
	RV_PLAIN,		/* user@outside */
	RV_PERCENT,		/* user%outside@server */
	RV_BANG,		/* outside!user@server */
	RV_QUOTED,		/* "user@outside"@server */
	RV_SOURCE_ROUTE,	/* @server:user@outside (RFC 5321 §4.1.1.3, obsolete) */
	RV_COUNT
};

/* Stable word ("plain", "percent_hack", "bang_path", "quoted",
 * "source_route") and words for people. */
const char *relaytest_variant_name(enum relay_variant v);
const char *relaytest_variant_label(enum relay_variant v);

enum relay_status {
	RELAY_UNKNOWN,		/* no answer, a 4xx, or MAIL refused */
	RELAY_ACCEPTED,		/* RCPT got 2xx */
	RELAY_REFUSED		/* RCPT got 5xx */
};

/* "unknown", "accepted", "refused". */
const char *relaytest_status_name(enum relay_status s);

/* One envelope of the test and its answers (taken from the plan's
 * records once the connection is over; the replies are owned here). */
struct relaytest_txn {
	char			 from[LIMIT_ADDRESS * 4 + 8];
	char			 rcpt[LIMIT_ADDRESS * 4 + 8];
	bool			 asked;		/* MAIL was sent */
	struct rec_reply	 mail;		/* .reply NULL when none came */
	struct rec_reply	 rcpt_reply;	/* .reply NULL when not asked */
};

/* One connection: unauthenticated, or authenticated with --auth-user. */
struct relaytest_pass {
	bool			 authenticated;	/* AUTH was asked for */
	bool			 ran;
	struct probe_result	*res;		/* owned; stages, findings, transcript */
	struct relaytest_txn	 txns[RV_COUNT];	/* one envelope per variant */
	enum relay_status	 status[RV_COUNT];
	char			 note[RV_COUNT][160];
	bool			 auth_ok;	/* the auth stage succeeded */
	size_t			 naccepted;
	size_t			 nrefused;
};

struct relaytest_result {
	char			 target[LIMIT_ADDRESS * 4 + 8];	/* as given, "" with --server alone */
	char			 server_domain[LIMIT_DOMAIN + 16];	/* the domain in the variants */
	char			 from[LIMIT_ADDRESS * 4 + 8];
	char			 outside[LIMIT_ADDRESS * 4 + 8];	/* the outside recipient */
	size_t			 npass;
	struct relaytest_pass	 pass[2];
	int			 open_relay;	/* 1 yes, 0 no, -1 could not tell */
	int			 auth_relay;	/* authenticated: 1 relays, 0 not, -1 unknown or not tried */
	char			 conclusion[1024];
	int			 exit_code;	/* 0 closed, 1 open, 2 could not tell, 64, 65, 70 */
	char			 error[256];
};

/*
 * Run the test; target is a domain or an address (its domain's MX is
 * tested) or NULL with --server.  outside is --relay-rcpt, or NULL for
 * relay-test@example.net.  Runs the event loop until done.  Free with
 * relaytest_clear().
 */
void relaytest_run(struct probe_ctx *ctx, const char *target,
    const char *outside, struct relaytest_result *rt);
void relaytest_clear(struct relaytest_result *rt);

#endif
