/*
 * mtasts_facts.h — what MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) say for
 * a domain: the policy and record parsers (pure, exposed for the unit
 * tests and the fuzz target), the states of a domain's look-up, and the
 * facts a result holds (struct mtasts_info).  The look-ups and the fetch
 * that fill them are engine/mtasts.h.
 */
#ifndef SMTPPROBE_MTASTS_FACTS_H
#define SMTPPROBE_MTASTS_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"
#include "resolver.h"

enum mtasts_mode {
	MTASTS_MODE_UNSET,
	MTASTS_MODE_ENFORCE,
	MTASTS_MODE_TESTING,
	MTASTS_MODE_NONE
};

/* "unset", "enforce", "testing", "none". */
const char *mtasts_mode_name(enum mtasts_mode m);

/* A policy as RFC 8461 §3.2 writes it. */
struct mtasts_policy {
	bool		 valid;
	char		 error[128];	/* why not, when not */
	enum mtasts_mode mode;
	long		 max_age;	/* seconds; -1 when absent */
	size_t		 nmx;
	size_t		 mx_more;	/* mx lines past LIMIT_MTASTS_MX */
	char		 mx[LIMIT_MTASTS_MX][RESOLVER_NAME_MAX];
};

/* Parse a policy body (len bytes, not NUL-terminated); the result says
 * whether it is valid. */
void mtasts_parse_policy(const char *text, size_t len,
    struct mtasts_policy *p);

/* RFC 8461 §4.1: host fits pattern ("mx.example.com", or "*.example.com"
 * for exactly one more label on the left); case-insensitive, trailing
 * dots ignored. */
bool mtasts_mx_match(const char *pattern, const char *host);

/* A TXT record of _mta-sts (RFC 8461 §3.1): 1 "v=STSv1" with a valid id
 * (copied into id), 0 another record (not STSv1), -1 STSv1 but invalid
 * (why says so). */
int mtasts_parse_txt(const char *txt, size_t len, char *id, size_t idlen,
    char *why, size_t whylen);

/* A TXT record of _smtp._tls (RFC 8460 §3): 1 "v=TLSRPTv1" with at
 * least one rua URI (mailto: or https:), copied into rua; 0 another
 * record; -1 TLSRPTv1 but invalid. */
int tlsrpt_parse_txt(const char *txt, size_t len, char *rua, size_t rualen,
    char *why, size_t whylen);

/* What was learnt about the domain. */
enum mtasts_state {
	MTASTS_NOT_LOOKED_UP,
	MTASTS_LOOKUP_FAILED,	/* the TXT look-up failed */
	MTASTS_NO_RECORD,	/* no _mta-sts record: no MTA-STS */
	MTASTS_RECORD_INVALID,	/* STSv1 record(s), but not exactly one valid */
	MTASTS_NOT_FETCHED,	/* --no-mta-sts */
	MTASTS_FETCH_FAILED,	/* no policy: TLS, HTTP, size, time, redirect */
	MTASTS_POLICY_INVALID,
	MTASTS_POLICY		/* a valid policy */
};

/* "not_looked_up", "lookup_failed", "no_record", "record_invalid",
 * "not_fetched", "fetch_failed", "policy_invalid", "policy". */
const char *mtasts_state_name(enum mtasts_state s);

struct mtasts_info {
	enum mtasts_state	 state;
	char			 record[RESOLVER_TXT_MAX + 1];	/* the STSv1 TXT */
	char			 id[33];
	char			 detail[192];	/* lookup, record or fetch error */
	char			 url[RESOLVER_NAME_MAX + 40];
	int			 http_status;	/* 0: no answer */
	struct mtasts_policy	 policy;
	/* TLS-RPT */
	enum resolver_status	 rpt_status;
	int			 rpt_valid;	/* tlsrpt_parse_txt(), or 0 none */
	char			 rpt_record[RESOLVER_TXT_MAX + 1];
	char			 rpt_rua[RESOLVER_TXT_MAX + 1];
};

/* A copy of src for another result; NULL without memory. */
struct mtasts_info *mtasts_info_dup(const struct mtasts_info *src);

#endif
