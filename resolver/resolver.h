/*
 * resolver.h — asynchronous DNS for smtpprobe: c-ares driven by libevent.
 *
 * One resolver owns one c-ares channel and registers its sockets with the
 * caller's event_base (ARES_OPT_SOCK_STATE_CB + ares_process_fd +
 * ares_timeout: the c-ares 1.18 API, no event thread).  It knows nothing of
 * SMTP beyond the MX rules of RFC 5321 §5.1 and RFC 7505.
 *
 * Every callback is called exactly once per query, from the event loop
 * (never from inside the query function), also when the resolver is freed
 * with queries pending (status RESOLVER_CANCELLED).  Results are bounded
 * by the RESOLVER_MAX_* limits; what does not fit is counted in
 * `truncated`, never silently dropped.
 */
#ifndef SMTPPROBE_RESOLVER_H
#define SMTPPROBE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct resolver;

#define RESOLVER_MAX_MX		32	/* MX records kept per domain */
#define RESOLVER_MAX_ADDRS	16	/* addresses kept per host name */
#define RESOLVER_MAX_PTR	8	/* PTR names kept per address */
#define RESOLVER_MAX_SERVERS	8	/* --dns-server entries */
#define RESOLVER_NAME_MAX	256	/* a domain name, with its NUL (RFC 1035 §2.3.4: 255 octets) */

enum resolver_status {
	RESOLVER_OK,		/* at least one record */
	RESOLVER_NODATA,	/* the name exists, no record of that type */
	RESOLVER_NXDOMAIN,	/* the name does not exist (permanent) */
	RESOLVER_SERVFAIL,	/* server failure (temporary) */
	RESOLVER_REFUSED,	/* the server refused to answer */
	RESOLVER_TIMEOUT,	/* no answer in time (temporary) */
	RESOLVER_BADRESP,	/* malformed answer */
	RESOLVER_CANCELLED,	/* the resolver was freed first */
	RESOLVER_ERROR		/* anything else; see detail */
};

/* "ok", "nodata", "nxdomain", "servfail", "refused", "timeout", "badresp",
 * "cancelled", "error". */
const char *resolver_status_name(enum resolver_status st);
/* True for statuses that may go away on retry (servfail, refused, timeout,
 * error, cancelled). */
bool resolver_status_temporary(enum resolver_status st);

struct resolver_config {
	/* Up to RESOLVER_MAX_SERVERS "IP", "IP:PORT" or "[IPv6]:PORT"
	 * entries; none means the system's resolv.conf. */
	const char	*servers[RESOLVER_MAX_SERVERS];
	size_t		 nservers;
	int		 timeout_ms;	/* per try; 0 = default (2000) */
	int		 tries;		/* 0 = default (3) */
	/* Answers kept for re-use (0 = no cache): a later query for the
	 * same name, type and family gets the stored answer, and queries
	 * made while the same one is out wait for it instead of asking
	 * again.  Definite answers (records, NODATA, NXDOMAIN) are kept
	 * RESOLVER_CACHE_MAX_AGE_MS at most, temporary failures
	 * RESOLVER_CACHE_FAIL_AGE_MS; TTLs shorter than that are not
	 * honoured (for runs of a few minutes at most, such as a batch).
	 * At most RESOLVER_CACHE_MAX entries; the least recently used goes
	 * first. */
	size_t		 cache_entries;
};

#define RESOLVER_CACHE_MAX		4096
#define RESOLVER_CACHE_MAX_AGE_MS	300000
#define RESOLVER_CACHE_FAIL_AGE_MS	30000

/* Create a resolver on base.  NULL on failure, with a message in err. */
struct resolver *resolver_new(struct event_base *base,
    const struct resolver_config *cfg, char *err, size_t errlen);
/* Cancel pending queries (their callbacks run with RESOLVER_CANCELLED
 * before this returns) and free.  NULL is allowed. */
void resolver_free(struct resolver *r);

struct resolver_mx {
	uint16_t	pref;
	char		host[RESOLVER_NAME_MAX];	/* no trailing dot; "" for the null MX target "." */
};

/* In each result the record array comes last: the cache keeps only the
 * records in use (resolver_result_used() in resolver.c). */
struct resolver_mx_result {
	enum resolver_status	status;
	char			detail[128];	/* c-ares message for failures */
	size_t			n;
	size_t			truncated;	/* records past RESOLVER_MAX_MX */
	bool			null_mx;	/* exactly one MX, "0 ." (RFC 7505 §3) */
	bool			null_mx_mixed;	/* a "." target among other MX records (misconfiguration) */
	char			cname[RESOLVER_NAME_MAX];	/* the domain was an alias of this name; "" if not */
	bool			cname_loop;	/* its aliases loop (cname: where) */
	double			elapsed_ms;
	bool			cached;		/* from the cache or a shared query */
	struct resolver_mx	mx[RESOLVER_MAX_MX];	/* by preference; equal preferences shuffled (RFC 5321 §5.1) */
};

typedef void (*resolver_mx_cb)(void *arg, const struct resolver_mx_result *res);

/* Look up the MX records of domain (an A-label name, no trailing dot).
 * No implicit MX here: NODATA is returned as such and the caller applies
 * RFC 5321 §5.1. */
void resolver_query_mx(struct resolver *r, const char *domain,
    resolver_mx_cb cb, void *arg);

struct resolver_addr_result {
	enum resolver_status	status;		/* OK when either family gave an address */
	enum resolver_status	status_a;	/* the A query's own status */
	enum resolver_status	status_aaaa;	/* the AAAA query's own status */
	char			detail[128];
	size_t			n;
	size_t			truncated;
	char			cname[RESOLVER_NAME_MAX];	/* final name when the host was an alias; "" if not */
	bool			cname_loop;	/* its aliases loop (cname: where) */
	double			elapsed_ms;
	bool			cached;		/* from the cache or a shared query */
	struct sockaddr_storage	addrs[RESOLVER_MAX_ADDRS];	/* in the order the server gave, port 0 */
};

typedef void (*resolver_addr_cb)(void *arg, const struct resolver_addr_result *res);

/* Look up the addresses of host.  family is AF_INET, AF_INET6 or AF_UNSPEC
 * (both; A and AAAA are asked in parallel; IPv6 addresses come first in
 * the result, as in RFC 6724's default policy, the A addresses after). */
void resolver_query_addrs(struct resolver *r, const char *host, int family,
    resolver_addr_cb cb, void *arg);

struct resolver_ptr_result {
	enum resolver_status	status;
	char			detail[128];
	size_t			n;
	size_t			truncated;
	double			elapsed_ms;
	bool			cached;		/* from the cache or a shared query */
	char			names[RESOLVER_MAX_PTR][RESOLVER_NAME_MAX];	/* no trailing dot */
};

typedef void (*resolver_ptr_cb)(void *arg, const struct resolver_ptr_result *res);

/* Reverse lookup (in-addr.arpa / ip6.arpa) of an IPv4 or IPv6 address. */
void resolver_query_ptr(struct resolver *r, const struct sockaddr *sa,
    resolver_ptr_cb cb, void *arg);

/*
 * TLSA records (RFC 6698) for DANE, asked with the DNSSEC OK bit
 * (RFC 3225) and the AD bit (RFC 6840 §5.7).  The resolver does not
 * validate DNSSEC itself: `authenticated` is the AD bit of the answer,
 * the word of the DNS server the probe asks, which must be a validating
 * resolver the probe can trust (on the host or reached over a trusted
 * path).
 */
#define RESOLVER_MAX_TLSA	8	/* TLSA records kept per name */
#define RESOLVER_TLSA_DATA_MAX	512	/* bytes of one record's data kept */

struct resolver_tlsa {
	uint8_t		usage;
	uint8_t		selector;
	uint8_t		mtype;
	uint16_t	len;
	unsigned char	data[RESOLVER_TLSA_DATA_MAX];
};

struct resolver_tlsa_result {
	enum resolver_status	status;
	char			detail[128];
	bool			authenticated;	/* the answer's AD bit */
	size_t			n;
	size_t			truncated;	/* records past RESOLVER_MAX_TLSA, or
						 * with more data than kept */
	size_t			malformed;	/* RDATA shorter than 4 octets */
	double			elapsed_ms;
	bool			cached;
	struct resolver_tlsa	tlsa[RESOLVER_MAX_TLSA];
};

typedef void (*resolver_tlsa_cb)(void *arg,
    const struct resolver_tlsa_result *res);

/* Look up the TLSA records of name ("_25._tcp.mx.example.com"). */
void resolver_query_tlsa(struct resolver *r, const char *name,
    resolver_tlsa_cb cb, void *arg);

/* TXT records (RFC 1035 §3.3.14), each record's strings joined. */
#define RESOLVER_MAX_TXT	8	/* records kept per name */
#define RESOLVER_TXT_MAX	512	/* bytes kept of one record */

struct resolver_txt_result {
	enum resolver_status	status;
	char			detail[128];
	size_t			n;
	size_t			len[RESOLVER_MAX_TXT];	/* may hold NUL bytes */
	size_t			truncated;	/* records past RESOLVER_MAX_TXT, or
						 * cut at RESOLVER_TXT_MAX */
	double			elapsed_ms;
	bool			cached;
	char			txt[RESOLVER_MAX_TXT][RESOLVER_TXT_MAX + 1];
};

typedef void (*resolver_txt_cb)(void *arg,
    const struct resolver_txt_result *res);

void resolver_query_txt(struct resolver *r, const char *name,
    resolver_txt_cb cb, void *arg);

/* Format sa's address (no port) into buf: "192.0.2.1" or "2001:db8::1". */
const char *resolver_addr_str(const struct sockaddr *sa, char *buf, size_t len);
/* The inverse: an IPv4 or IPv6 address in text into ss (port 0); false
 * when s is not one. */
bool resolver_addr_parse(const char *s, struct sockaddr_storage *ss);
/* The port of an IPv4 or IPv6 address (0 for another family). */
int resolver_addr_port(const struct sockaddr_storage *ss);
/* Set the port of an IPv4 or IPv6 address; its length. */
socklen_t resolver_addr_set_port(struct sockaddr_storage *ss, int port);

#endif
