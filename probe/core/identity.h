/*
 * identity.h — who the servers are and who the probing host looks like.
 *
 * Server identity: for every server address tried, its reverse DNS (PTR),
 * forward confirmation of the PTR name (FCrDNS: the name's A/AAAA records
 * contain the address), and whether the PTR name, the MX name, the name in
 * the greeting and the name in the EHLO reply agree.
 *
 * Client self-audit: the local address of each connection, the address the
 * server says it sees (the "[203.0.113.5]" in many EHLO replies), the
 * reverse DNS and forward confirmation of that address, and whether the
 * HELO name resolves and matches.  The facts explain rejections that are
 * about the probing host (RFC 7372 X.7.25, "cannot find your hostname",
 * "Helo command rejected", ...).
 *
 * The look-ups run on the caller's event loop through the resolver,
 * concurrently with the SMTP sessions; a struct identity_run tracks them
 * and outlives its probe when a look-up is still out (the late answer is
 * then dropped).  Every name and address stored here is bounded; names
 * from DNS and from servers are untrusted and are escaped by the reports.
 */
#ifndef SMTPPROBE_IDENTITY_H
#define SMTPPROBE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "limits.h"
#include "resolver.h"

struct event_base;
struct probe_result;
struct explanation;

/* PTR names kept per address, forward look-ups per address, addresses
 * kept for the HELO name: a handful is all real DNS ever has, and each
 * costs a query. */
#define IDENT_MAX_PTR		4
#define IDENT_MAX_HELO_ADDRS	8
#define IDENT_MAX_SERVERS	(LIMIT_ATTEMPTS + LIMIT_FAST_FAILURES)

/* The answer to a yes/no identity question. */
enum ident_check {
	IDENT_UNCHECKED,	/* not asked (nothing to compare) */
	IDENT_YES,
	IDENT_NO,
	IDENT_UNKNOWN		/* could not check: timeout, SERVFAIL, ... */
};

/* "unchecked", "yes", "no", "unknown". */
const char *ident_check_name(enum ident_check c);

/* Reverse DNS of one address and forward confirmation of its names. */
struct ident_rdns {
	char			 ip[64];
	bool			 asked;
	bool			 done;		/* every look-up answered (or given up) */
	enum resolver_status	 ptr_status;
	size_t			 nptr;
	char			 ptr[IDENT_MAX_PTR][RESOLVER_NAME_MAX];
	bool			 ptr_valid[IDENT_MAX_PTR];	/* a valid host name */
	enum ident_check	 fcrdns;	/* a PTR name resolves back to ip */
	char			 fcrdns_name[RESOLVER_NAME_MAX];	/* that name */
	enum resolver_status	 fwd_status;	/* first failure of a forward look-up */
	int			 pending;	/* look-ups out */
};

struct ident_server {
	char			 host[RESOLVER_NAME_MAX];	/* MX name; "" for an IP */
	struct ident_rdns	 rdns;
	char			 local_ip[64];	/* our end of the connection */
	bool			 greeted;
	char			 banner_name[RESOLVER_NAME_MAX];	/* first word of the 220 */
	char			 ehlo_name[RESOLVER_NAME_MAX];	/* first word of the EHLO 250 */
	char			 client_ip_seen[64];	/* our address as the server states it */
	enum ident_check	 banner_valid;	/* banner name is a host name */
	enum ident_check	 banner_matches_ptr;
	enum ident_check	 banner_matches_mx;
	enum ident_check	 ptr_matches_mx;
	enum ident_check	 ehlo_matches_banner;
};

struct ident_client {
	char			 source_ip[64];	/* --source-ip, "" if none */
	char			 local_ip[64];	/* of the last connection */
	bool			 local_private;	/* RFC 1918, RFC 6598, ULA, link-local */
	char			 public_ip[64];	/* as a server stated it; "" if none */
	/* Owned, NULL until looked up (once connected): */
	struct ident_rdns	*local_rdns;
	struct ident_rdns	*public_rdns;	/* when public_ip differs from local_ip */
	char			 helo[LIMIT_HELO_NAME + 1];
	bool			 helo_literal;	/* "[192.0.2.1]" */
	bool			 helo_fqdn;	/* a valid host name with a dot */
	bool			 helo_asked;
	bool			 helo_done;
	enum resolver_status	 helo_status;
	size_t			 nhelo_addrs;
	char			 helo_addrs[IDENT_MAX_HELO_ADDRS][64];
	enum ident_check	 helo_resolves;
	enum ident_check	 helo_matches_ip;	/* the HELO name has our address */
	enum ident_check	 helo_matches_ptr;	/* the HELO name is our PTR name */
};

struct identity {
	size_t			 nservers;
	/* At most IDENT_MAX_SERVERS; result_clear() frees them. */
	struct ident_server	*servers;
	size_t			 servers_cap;
	/* Owned, NULL until the audit starts (result_client()); read it
	 * through identity_client(). */
	struct ident_client	*client;
	bool			 self_check;	/* the full client audit was asked for */
};

/* The client audit of id for reading: never NULL, all zero when none
 * was made. */
const struct ident_client *identity_client(const struct identity *id);
/* Free c and its reverse-DNS records (NULL: nothing). */
void identity_client_free(struct ident_client *c);
/* A deep copy of c; NULL when c is NULL or without memory. */
struct ident_client *identity_client_dup(const struct ident_client *c);

/* The address whose reverse DNS speaks for the client: the one a server
 * stated if any, else the local one.  NULL when there is none. */
const struct ident_rdns *identity_client_rdns(const struct identity *id);
/* The client address the servers see (public if stated, else local). */
const char *identity_client_ip(const struct identity *id);

/*
 * Pure helpers (unit-tested).
 */

/* Find the first IPv4 or IPv6 address written in brackets or parentheses
 * in text: "[203.0.113.5]", "(203.0.113.5)", "[IPv6:2001:db8::1]".  With
 * skip_first_word, the first word (the server's own name) is not looked
 * at.  Writes the address in canonical form; false when there is none. */
bool identity_find_bracketed_ip(const char *text, size_t len,
    bool skip_first_word, char *out, size_t outlen);

/* Copy the first word of text (at most outlen - 1 bytes; a trailing dot
 * dropped); false when text is empty. */
bool identity_first_word(const char *text, size_t len, char *out,
    size_t outlen);

/* Case-insensitive name equality, a trailing dot ignored. */
bool identity_name_eq(const char *a, const char *b);

/* A host name usable as a PTR target or HELO name: valid LDH labels, at
 * least two labels, not all-numeric. */
bool identity_hostname_valid(const char *name);

/* True for addresses that are never seen on the public Internet as they
 * are: RFC 1918, RFC 6598 (carrier-grade NAT), fc00::/7, fe80::/10. */
bool identity_ip_private(const char *ip);

/* Parse s (n bytes, no brackets; "IPv6:" allowed) as an address;
 * canonical form to out. */
bool identity_parse_ip(const char *s, size_t n, char *out, size_t outlen);

/* What is wrong with a PTR name identity_hostname_valid() refuses, in
 * words. */
const char *identity_ptr_name_fault(const char *name);

#endif
