/*
 * relayfacts.h — what the relay test (modes/relaytest.h) learns: the
 * recipient forms asked, the answer to each on each connection, and the
 * conclusion diag_relay_test() draws from them.
 */
#ifndef SMTPPROBE_RELAYFACTS_H
#define SMTPPROBE_RELAYFACTS_H

#include <stdbool.h>
#include <stddef.h>

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

/* Whether the form is an outside recipient as such (plain, source
 * route), whose acceptance proves an open relay; the others are local
 * parts at the server's domain. */
bool relaytest_variant_outside(enum relay_variant v);

/* One envelope of the test and its answers (taken from the plan's
 * records once the connection is over; the replies are owned here). */
struct relaytest_txn {
	char			 from[LIMIT_ADDRESS * 4 + 8];
	char			 rcpt[LIMIT_ADDRESS * 4 + 8];
	bool			 asked;		/* MAIL was sent */
	struct rec_reply	 mail;		/* .reply NULL when none came */
	struct rec_reply	 rcpt_reply;	/* .reply NULL when not asked */
	struct rec_reply	 control;	/* the made-up local part, asked
						 * after an accepted local form;
						 * .reply NULL when not asked */
};

/* Where the domain of the forms comes from. */
enum relay_domain_source {
	RD_TARGET,		/* the domain (or address) given */
	RD_OPTION,		/* --relay-domain */
	RD_GREETING,		/* the name in the server's greeting or EHLO */
	RD_SERVER		/* --server's name, or its address literal */
};

/* "target", "option", "greeting", "server". */
const char *relaytest_domain_source_name(enum relay_domain_source s);

/* One connection: unauthenticated, or authenticated with --auth-user. */
struct relaytest_pass {
	bool			 authenticated;	/* AUTH was asked for */
	bool			 ran;
	struct probe_result	*res;		/* owned; stages, findings, transcript */
	struct relaytest_txn	 txns[RV_COUNT];	/* one envelope per variant */
	enum relay_status	 status[RV_COUNT];
	char			 note[RV_COUNT][320];
	bool			 auth_ok;	/* the auth stage succeeded */
	size_t			 naccepted;	/* outside rcpts accepted */
	size_t			 nlocal;	/* local forms accepted, their
						 * control refused */
	size_t			 nrefused;
	bool			 any_local_part;	/* a control accepted */
	bool			 syntax;	/* a form refused as syntax */
};

struct relaytest_result {
	char			 target[LIMIT_ADDRESS * 4 + 8];	/* as given, "" with --server alone */
	char			 server_domain[LIMIT_DOMAIN + 16];	/* the domain in the variants */
	enum relay_domain_source domain_source;
	/* The made-up local part asked after an accepted local form. */
	char			 control[LIMIT_ADDRESS * 4 + 8];
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

#endif
