/*
 * helofacts.h — what the HELO test (modes/helotest.h) learns: the
 * candidate names, each one's probe result and answer, and the
 * conclusion diag_helo_test() draws from them.
 */
#ifndef SMTPPROBE_HELOFACTS_H
#define SMTPPROBE_HELOFACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

enum helotest_kind {
	HT_CONFIGURED,		/* --helo, or the machine's FQDN */
	HT_FQDN,		/* the machine's fully qualified name */
	HT_ADDRESS_LITERAL,	/* [192.0.2.1] / [IPv6:...] of our end */
	HT_LOCALHOST,
	HT_UNQUALIFIED,		/* a name without a dot */
	HT_UNRESOLVABLE,	/* nonexistent-<hex>.invalid (RFC 6761 §6.4) */
	HT_SERVER_NAME,		/* the name the server gives in its greeting */
	HT_KIND_COUNT
};

/* Stable word ("configured", "fqdn", "address_literal", "localhost",
 * "unqualified", "unresolvable", "server_name") and words for people. */
const char *helotest_kind_name(enum helotest_kind k);
const char *helotest_kind_label(enum helotest_kind k);

enum helotest_status {
	HT_UNKNOWN,	/* no answer about the name */
	HT_ACCEPTED,	/* RCPT was accepted with this name */
	HT_REJECTED	/* refused at EHLO/HELO, MAIL or RCPT because of it */
};

/* "unknown", "accepted", "rejected". */
const char *helotest_status_name(enum helotest_status s);

struct helotest_candidate {
	enum helotest_kind	 kind;
	char			 name[LIMIT_HELO_NAME + 1];	/* "" when none could be made */
	bool			 tested;	/* a connection was made with this name */
	int			 same_as;	/* candidate with the same name, or -1 */
	char			 note[256];	/* why not tested, or a remark */
	struct probe_result	*res;		/* owned; NULL when not tested */
	enum session_outcome	 outcome;
	enum helotest_status	 status;
	bool			 answered;	/* a definite reply to EHLO, MAIL or RCPT */
	bool			 temporary;	/* the refusal was a 4xx */
	bool			 about_helo;	/* the refusal's text is about the HELO name */
	enum stage		 refused_at;	/* STAGE_EHLO, STAGE_MAIL, STAGE_RCPT; STAGE_ADDRESS for none */
	const struct rec_reply	*refusal;	/* into res, or NULL */
	const struct rec_reply	*ehlo;		/* first reply to EHLO */
	const struct rec_reply	*helo;		/* reply to the HELO fallback */
	const struct rec_reply	*mail;
	const struct rec_reply	*rcpt;
};

struct helotest_result {
	char			 target[LIMIT_ADDRESS * 4 + 8];	/* ADDRESS as given, "" for none */
	char			 domain[LIMIT_DOMAIN + 1];	/* A-labels; "" when none */
	char			 rcpt[LIMIT_ADDRESS * 4 + 8];
	char			 from[LIMIT_ADDRESS * 4 + 8];
	bool			 need_smtputf8;

	bool			 via_mx;	/* the server is one of the domain's MX */
	size_t			 mx_index;	/* which one: 0 for the first */
	bool			 dns_done;
	enum resolver_status	 dns_status;
	bool			 implicit_mx;
	bool			 has_server;
	char			 server_host[RESOLVER_NAME_MAX];
	char			 server_ip[64];
	int			 server_port;
	char			 local_ip[64];	/* our end, "" when unknown */
	char			 server_name[LIMIT_HELO_NAME + 1];	/* from the greeting */

	size_t			 ncand;
	struct helotest_candidate cand[HT_KIND_COUNT];
	size_t			 nanswered;
	char			 conclusion[1024];

	int			 exit_code;	/* 0, 2, 64, 65, 70 */
	char			 error[256];	/* why the test could not run */
};

#endif
