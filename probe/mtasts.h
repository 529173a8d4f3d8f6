/*
 * mtasts.h — MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) for the domain
 * of a probe: the TXT record _mta-sts.<domain>, the policy fetched from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, whether each MX host
 * fits it and whether the certificate seen is valid for it, and the
 * reporting record _smtp._tls.<domain>.
 *
 * The fetch is bounded: one deadline for the look-ups and the fetch
 * (TIMEOUT_MTASTS_MS), a policy of at most LIMIT_MTASTS_POLICY bytes,
 * full certificate verification, no redirect followed (RFC 8461 §3.3).
 * The pure parsers are exposed for the unit tests and the fuzz target.
 * A struct mtasts_run belongs to one probe and outlives it while a
 * look-up is out; facts go into the result (struct mtasts_info, which
 * it owns, and the MX entries' sts_* fields) and its findings.
 */
#ifndef SMTPPROBE_MTASTS_H
#define SMTPPROBE_MTASTS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "limits.h"
#include "resolver.h"

struct event_base;
struct probe_result;

/* The test-only environment variable that moves the policy fetch from
 * port 443 to a loopback test server's port. */
#define MTASTS_PORT_ENV	"SMTPPROBE_MTA_STS_PORT"

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

struct mtasts_run;

/*
 * Start the look-ups for domain (an A-label name) into res->mtasts
 * (allocated here).  fetch: fetch the policy when there is a record
 * (false for --no-mta-sts); https_ctx: where the verified TLS context is
 * created on first use, with cafile (NULL: the system's anchors); family:
 * AF_UNSPEC, AF_INET or AF_INET6 for the policy host.  NULL when nothing
 * could be set up (the probe goes on without).
 */
struct mtasts_run *mtasts_run_new(struct event_base *base,
    struct resolver *resolver, SSL_CTX **https_ctx, const char *cafile,
    struct probe_result *res, const char *domain, bool fetch, int family);

/* True while a look-up or the fetch is out. */
bool mtasts_pending(const struct mtasts_run *mr);

/* Call cb(arg) from the event loop once nothing is out (at once, from a
 * fresh loop turn, when nothing is). */
void mtasts_when_idle(struct mtasts_run *mr, void (*cb)(void *),
    void *arg);

/* With the MX list and the last handshake in res: each MX host against
 * the policy, and the findings. */
void mtasts_findings(struct probe_result *res);

/* Let go; what is still out is cancelled or dropped. */
void mtasts_run_release(struct mtasts_run *mr);

/* A copy of src for another result; NULL without memory. */
struct mtasts_info *mtasts_info_dup(const struct mtasts_info *src);

/*
 * What earlier probes of one run (a batch, several addresses) learnt of
 * a domain, so that its policy is fetched once: at most MTASTS_CACHE_MAX
 * domains, each for MTASTS_CACHE_MS (a failed fetch MTASTS_CACHE_FAIL_MS;
 * a failed look-up is not kept).  For runs of minutes, like the DNS
 * cache: the policy's max_age (days, usually) is not waited out.
 */
#define MTASTS_CACHE_MAX	64
#define MTASTS_CACHE_MS		300000
#define MTASTS_CACHE_FAIL_MS	30000

struct mtasts_cache;
struct mtasts_cache *mtasts_cache_new(void);
void mtasts_cache_free(struct mtasts_cache *c);
/* A copy of what is kept for domain (to be freed), or NULL. */
struct mtasts_info *mtasts_cache_get(struct mtasts_cache *c,
    const char *domain);
void mtasts_cache_put(struct mtasts_cache *c, const char *domain,
    const struct mtasts_info *mi);

#endif
