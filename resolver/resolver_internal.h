/*
 * resolver_internal.h — the pure helpers of the resolver module, exposed
 * only so that tests/unit/test_resolver.c can exercise them without a
 * network.  Nothing here touches c-ares state or the event loop; none of it
 * allocates except resolver_mx_fill's caller-owned input.  Not part of the
 * public interface: other modules include resolver.h only.
 */
#ifndef SMTPPROBE_RESOLVER_INTERNAL_H
#define SMTPPROBE_RESOLVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolver.h"

/* Randomness source for the RFC 5321 §5.1 shuffle; injectable for tests. */
typedef uint32_t (*resolver_rand_fn)(void *ctx);

/* One MX record as c-ares gave it, before ordering. */
struct resolver_mx_in {
	uint16_t	 pref;
	const char	*host;		/* as expanded; "" or "." for the root */
	size_t		 seq;		/* set by resolver_mx_fill (stable sort key) */
};

/*
 * Order n MX records into res: stable sort by preference, shuffle each run
 * of equal preference with rnd (NULL: keep the server's order), detect the
 * null MX (RFC 7505 §3) and the mixed case, keep RESOLVER_MAX_MX, count the
 * rest (and names that do not fit RESOLVER_NAME_MAX) in res->truncated.
 * Reorders in[].  Sets n, mx, truncated, null_mx, null_mx_mixed only.
 */
void	resolver_mx_fill(struct resolver_mx_result *res,
	    struct resolver_mx_in *in, size_t n, resolver_rand_fn rnd, void *ctx);

/* Copy a domain name without its trailing (unescaped) dot; "." becomes "".
 * False, with dst set to "", when it does not fit in dstlen. */
bool	resolver_name_copy(char *dst, size_t dstlen, const char *src);
/* Domain name equality: ASCII case-insensitive (RFC 4343 §3), a trailing
 * dot ignored. */
bool	resolver_name_eq(const char *a, const char *b);

/*
 * Follow the CNAME chain of qname inside a raw DNS answer (at most
 * RESOLVER_CNAME_HOPS hops, RESOLVER_CNAME_PAIRS CNAME records looked at)
 * and copy the final name into out.  1: a CNAME was found; 2: the chain
 * loops (a name comes back; out is the name where it does, RFC 1034
 * §3.6.2 calls this an error); 0: none; -1: the packet is malformed (out
 * is "" then).
 */
#define RESOLVER_CNAME_HOPS	8
#define RESOLVER_CNAME_PAIRS	16
int	resolver_find_cname(const unsigned char *abuf, size_t alen,
	    const char *qname, char *out, size_t outlen);

/*
 * Call fn with the RDATA of every answer record of type (class IN) owned
 * by qname or by the end of its CNAME chain in the packet.  The number of
 * such records, or -1 when the packet is malformed (fn may have been
 * called for the records before the fault).  RDATA lies inside abuf.
 */
typedef void (*resolver_rdata_fn)(const unsigned char *rdata, size_t len,
	    void *arg);
int	resolver_wire_answers(const unsigned char *abuf, size_t alen,
	    const char *qname, unsigned type, resolver_rdata_fn fn, void *arg);

/* The rcode of the answer (RFC 1035 §4.1.1), and in ad its AD bit
 * (RFC 4035 §3.2.3); -1 when abuf is no DNS message. */
int	resolver_wire_header(const unsigned char *abuf, size_t alen, bool *ad);

/* The reverse-lookup name of sa: "1.2.0.192.in-addr.arpa" (RFC 1035
 * §3.5) or the nibble form under ip6.arpa (RFC 3596 §2.5).  IPv4-mapped
 * IPv6 addresses are looked up under in-addr.arpa.  0 or -1. */
int	resolver_ptr_name(const struct sockaddr *sa, char *buf, size_t len);

/* One parsed --dns-server entry. */
struct resolver_server {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network order; 4 bytes used for AF_INET */
	uint16_t	port;		/* host order; 53 when not given */
};

/* Parse "IP", "IP:PORT", "IPv6" or "[IPv6]:PORT" / "[IPv6]".  0, or -1
 * with a message in err. */
int	resolver_parse_server(const char *s, struct resolver_server *out,
	    char *err, size_t errlen);

/* c-ares status (ARES_*) to resolver status. */
enum resolver_status resolver_status_from_ares(int ares_status);

/* The overall status of an address lookup; see resolver.c for the rule. */
enum resolver_status resolver_addr_combine(bool asked_aaaa,
	    enum resolver_status aaaa, bool asked_a, enum resolver_status a,
	    size_t naddrs);

#endif
