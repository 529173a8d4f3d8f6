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
 * The parsers and the facts are core/mtasts_facts.h.
 * A struct mtasts_run belongs to one probe and outlives it while a
 * look-up is out; facts go into the result (struct mtasts_info, which
 * it owns, and the MX entries' sts_* fields) and its findings.
 */
#ifndef SMTPPROBE_MTASTS_H
#define SMTPPROBE_MTASTS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "mtasts_facts.h"
#include "resolver.h"

struct event_base;
struct probe_result;

/* The test-only environment variable that moves the policy fetch from
 * port 443 to a loopback test server's port. */
#define MTASTS_PORT_ENV	"SMTPPROBE_MTA_STS_PORT"

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
