/*
 * wire.c — bounded reading of raw DNS answers and reverse-name building.
 *
 * resolver_find_cname walks the answer section of a packet (RFC 1035
 * §4.1) to find the CNAME chain of the queried name, resolver_wire_answers
 * hands out the RDATA of the records of one type that answer a name, and
 * resolver_wire_header reads the rcode and the AD bit; names are expanded by
 * c-ares' ares_expand_name (which bounds compression pointers), every
 * fixed-size field is checked against the packet length here.  At most
 * RESOLVER_CNAME_PAIRS CNAME records and RESOLVER_CNAME_HOPS hops are
 * considered, so a hostile packet costs O(packet length).  Owns nothing
 * past the call.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>

#include "resolver_internal.h"

#define DNS_HDR_LEN	12	/* RFC 1035 §4.1.1 */
#define DNS_RR_FIXED	10	/* TYPE, CLASS, TTL, RDLENGTH: §4.1.3 */
#define DNS_T_CNAME	5
#define DNS_C_IN	1

static unsigned
get16(const unsigned char *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* Length on the wire of the name at off, or 0 when malformed. */
static size_t
wire_name_len(const unsigned char *abuf, size_t alen, size_t off,
    char *copy, size_t copylen, bool *fits)
{
	char *name = NULL;
	long enclen = 0;

	if (off >= alen)
		return 0;
	if (ares_expand_name(abuf + off, abuf, (int)alen, &name, &enclen) !=
	    ARES_SUCCESS || enclen <= 0 || (size_t)enclen > alen - off) {
		if (name != NULL)
			ares_free_string(name);
		return 0;
	}
	if (copy != NULL)
		*fits = resolver_name_copy(copy, copylen, name);
	ares_free_string(name);
	return (size_t)enclen;
}

/* Skip the question section; false when malformed. */
static bool
skip_questions(const unsigned char *abuf, size_t alen, size_t *off)
{
	unsigned i, qdcount = get16(abuf + 4);
	size_t len;

	*off = DNS_HDR_LEN;
	for (i = 0; i < qdcount; i++) {
		if ((len = wire_name_len(abuf, alen, *off, NULL, 0,
		    NULL)) == 0)
			return false;
		*off += len;
		if (alen - *off < 4)
			return false;
		*off += 4;
	}
	return true;
}

/* One resource record at *off (RFC 1035 §4.1.3): its owner (fits says
 * whether it fit in owner), type, class and RDATA; *off moves past it.
 * False when malformed. */
struct wire_rr {
	char		owner[RESOLVER_NAME_MAX];
	bool		fits;
	unsigned	type;
	unsigned	cls;
	size_t		rdoff;
	size_t		rdlen;
};

static bool
next_rr(const unsigned char *abuf, size_t alen, size_t *off,
    struct wire_rr *rr)
{
	size_t len;

	rr->fits = false;
	len = wire_name_len(abuf, alen, *off, rr->owner, sizeof(rr->owner),
	    &rr->fits);
	if (len == 0)
		return false;
	*off += len;
	if (alen - *off < DNS_RR_FIXED)
		return false;
	rr->type = get16(abuf + *off);
	rr->cls = get16(abuf + *off + 2);
	rr->rdlen = get16(abuf + *off + 8);
	*off += DNS_RR_FIXED;
	if (alen - *off < rr->rdlen)
		return false;
	rr->rdoff = *off;
	*off += rr->rdlen;
	return true;
}

/* A DNS message c-ares could have given: a header, at most 65535
 * octets (TCP length prefix, RFC 1035 §4.2.2). */
static bool
plausible(const unsigned char *abuf, size_t alen)
{
	return abuf != NULL && alen >= DNS_HDR_LEN && alen <= 65535;
}

int
resolver_find_cname(const unsigned char *abuf, size_t alen,
    const char *qname, char *out, size_t outlen)
{
	struct {
		char	owner[RESOLVER_NAME_MAX];
		char	target[RESOLVER_NAME_MAX];
	} pairs[RESOLVER_CNAME_PAIRS];
	char cur[RESOLVER_NAME_MAX];
	struct wire_rr rr;
	size_t off, len, npairs, i, seen[RESOLVER_CNAME_HOPS];
	unsigned ancount, hop, h;
	bool fits_target, found, loop;

	if (outlen > 0)
		out[0] = '\0';
	if (!plausible(abuf, alen) || qname == NULL)
		return -1;
	ancount = get16(abuf + 6);
	if (!skip_questions(abuf, alen, &off))
		return -1;

	npairs = 0;
	for (i = 0; i < ancount; i++) {
		if (!next_rr(abuf, alen, &off, &rr))
			return -1;
		if (rr.type != DNS_T_CNAME || rr.cls != DNS_C_IN ||
		    npairs == RESOLVER_CNAME_PAIRS)
			continue;
		fits_target = false;
		len = wire_name_len(abuf, alen, rr.rdoff, pairs[npairs].target,
		    RESOLVER_NAME_MAX, &fits_target);
		/* The target must lie inside RDATA (it may point back into
		 * the packet through compression). */
		if (len == 0 || len > rr.rdlen)
			return -1;
		if (rr.fits && fits_target) {
			memcpy(pairs[npairs].owner, rr.owner, sizeof(rr.owner));
			npairs++;
		}
	}

	if (!resolver_name_copy(cur, sizeof(cur), qname))
		return 0;
	found = loop = false;
	/* Chains longer than RESOLVER_CNAME_HOPS stop where the budget runs
	 * out: the last name reached is reported.  A chain that comes back
	 * to the name asked or to a name it passed is a loop. */
	for (hop = 0; hop < RESOLVER_CNAME_HOPS && !loop; hop++) {
		for (i = 0; i < npairs; i++)
			if (resolver_name_eq(pairs[i].owner, cur))
				break;
		if (i == npairs)
			break;
		seen[hop] = i;
		memcpy(cur, pairs[i].target, sizeof(cur));
		found = true;
		loop = resolver_name_eq(cur, qname);
		for (h = 0; h < hop && !loop; h++)
			loop = resolver_name_eq(cur, pairs[seen[h]].target);
	}
	if (!found)
		return 0;
	if (!resolver_name_copy(out, outlen, cur))
		return 0;
	return loop ? 2 : 1;
}

int
resolver_wire_answers(const unsigned char *abuf, size_t alen,
    const char *qname, unsigned type, resolver_rdata_fn fn, void *arg)
{
	char final[RESOLVER_NAME_MAX];
	struct wire_rr rr;
	size_t off;
	unsigned i, ancount;
	int n = 0;

	if (!plausible(abuf, alen) || qname == NULL)
		return -1;
	/* RFC 7671 §7 (and RFC 1034 §3.6.2): records of an alias's target
	 * answer for the alias. */
	if (resolver_find_cname(abuf, alen, qname, final, sizeof(final)) < 0)
		return -1;
	ancount = get16(abuf + 6);
	if (!skip_questions(abuf, alen, &off))
		return -1;
	for (i = 0; i < ancount; i++) {
		if (!next_rr(abuf, alen, &off, &rr))
			return -1;
		if (rr.type != type || rr.cls != DNS_C_IN || !rr.fits ||
		    (!resolver_name_eq(rr.owner, qname) &&
		    (final[0] == '\0' || !resolver_name_eq(rr.owner, final))))
			continue;
		fn(abuf + rr.rdoff, rr.rdlen, arg);
		n++;
	}
	return n;
}

int
resolver_wire_header(const unsigned char *abuf, size_t alen, bool *ad)
{
	if (!plausible(abuf, alen))
		return -1;
	/* RFC 1035 §4.1.1; AD is RFC 4035 §3.2.3's bit of the second
	 * flags octet. */
	*ad = (abuf[3] & 0x20) != 0;
	return abuf[3] & 0x0f;
}

int
resolver_ptr_name(const struct sockaddr *sa, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b;
	size_t o;
	int i, n;

	if (sa == NULL || buf == NULL || len == 0)
		return -1;
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			/* A dual-stack socket's view of an IPv4 peer: its
			 * PTR lives under in-addr.arpa. */
			b = a6->s6_addr + 12;
		} else {
			/* RFC 3596 §2.5: nibbles, least significant first. */
			if (len < 16 * 4 + sizeof("ip6.arpa"))
				return -1;
			o = 0;
			for (i = 15; i >= 0; i--) {
				buf[o++] = hex[a6->s6_addr[i] & 0xf];
				buf[o++] = '.';
				buf[o++] = hex[a6->s6_addr[i] >> 4];
				buf[o++] = '.';
			}
			memcpy(buf + o, "ip6.arpa", sizeof("ip6.arpa"));
			return 0;
		}
	} else
		return -1;
	n = snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa",
	    b[3], b[2], b[1], b[0]);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}
