/*
 * test_resolver.c — unit tests of the resolver's pure parts: status
 * mapping, MX ordering (injected randomness), null MX, caps, the bounded
 * CNAME walker (also against truncated and looping packets), reverse
 * names, --dns-server parsing, the A/AAAA combination rule, and
 * resolver_new's validation.  No network; the live path is in
 * test_resolver_live.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "check.h"
#include "resolver.h"
#include "resolver_internal.h"

/* A tiny DNS message writer, enough for hand-made answers. */
struct pkt {
	unsigned char	b[1024];
	size_t		n;
};

static void
put16(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)(v >> 8);
	p->b[p->n++] = (unsigned char)v;
}

static void
put_name(struct pkt *p, const char *name)
{
	const char *dot;
	size_t len;

	while (*name != '\0') {
		dot = strchr(name, '.');
		len = dot != NULL ? (size_t)(dot - name) : strlen(name);
		p->b[p->n++] = (unsigned char)len;
		memcpy(p->b + p->n, name, len);
		p->n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	p->b[p->n++] = 0;
}

static void
pkt_header(struct pkt *p, unsigned qd, unsigned an)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, 0x8180);
	put16(p, qd);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
}

/* An RR whose owner is written out, with a name as RDATA. */
static void
put_rr_name(struct pkt *p, const char *owner, unsigned type, const char *target)
{
	size_t rdl;

	put_name(p, owner);
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	rdl = p->n;
	put16(p, 0);
	put_name(p, target);
	p->b[rdl] = (unsigned char)((p->n - rdl - 2) >> 8);
	p->b[rdl + 1] = (unsigned char)(p->n - rdl - 2);
}

static void
test_status(void)
{
	CHECK_STR(resolver_status_name(RESOLVER_OK), "ok");
	CHECK_STR(resolver_status_name(RESOLVER_NXDOMAIN), "nxdomain");
	CHECK_STR(resolver_status_name(RESOLVER_CANCELLED), "cancelled");
	CHECK_STR(resolver_status_name((enum resolver_status)99), "error");
	CHECK(!resolver_status_temporary(RESOLVER_OK));
	CHECK(!resolver_status_temporary(RESOLVER_NODATA));
	CHECK(!resolver_status_temporary(RESOLVER_NXDOMAIN));
	CHECK(!resolver_status_temporary(RESOLVER_BADRESP));
	CHECK(resolver_status_temporary(RESOLVER_SERVFAIL));
	CHECK(resolver_status_temporary(RESOLVER_REFUSED));
	CHECK(resolver_status_temporary(RESOLVER_TIMEOUT));
	CHECK(resolver_status_temporary(RESOLVER_ERROR));
	CHECK(resolver_status_temporary(RESOLVER_CANCELLED));

	CHECK_INT(resolver_status_from_ares(ARES_SUCCESS), RESOLVER_OK);
	CHECK_INT(resolver_status_from_ares(ARES_ENOTFOUND), RESOLVER_NXDOMAIN);
	CHECK_INT(resolver_status_from_ares(ARES_ENODATA), RESOLVER_NODATA);
	CHECK_INT(resolver_status_from_ares(ARES_ESERVFAIL), RESOLVER_SERVFAIL);
	CHECK_INT(resolver_status_from_ares(ARES_EREFUSED), RESOLVER_REFUSED);
	CHECK_INT(resolver_status_from_ares(ARES_ETIMEOUT), RESOLVER_TIMEOUT);
	CHECK_INT(resolver_status_from_ares(ARES_ECONNREFUSED), RESOLVER_TIMEOUT);
	CHECK_INT(resolver_status_from_ares(ARES_EBADRESP), RESOLVER_BADRESP);
	CHECK_INT(resolver_status_from_ares(ARES_EFORMERR), RESOLVER_BADRESP);
	CHECK_INT(resolver_status_from_ares(ARES_EDESTRUCTION),
	    RESOLVER_CANCELLED);
	CHECK_INT(resolver_status_from_ares(ARES_ECANCELLED), RESOLVER_CANCELLED);
	CHECK_INT(resolver_status_from_ares(ARES_ENOMEM), RESOLVER_ERROR);
	CHECK_INT(resolver_status_from_ares(ARES_EBADNAME), RESOLVER_ERROR);
}

static void
test_names(void)
{
	char buf[RESOLVER_NAME_MAX], small[4], longname[400];

	CHECK(resolver_name_copy(buf, sizeof(buf), "mx.example.org."));
	CHECK_STR(buf, "mx.example.org");
	CHECK(resolver_name_copy(buf, sizeof(buf), "mx.example.org"));
	CHECK_STR(buf, "mx.example.org");
	CHECK(resolver_name_copy(buf, sizeof(buf), "."));
	CHECK_STR(buf, "");
	CHECK(resolver_name_copy(buf, sizeof(buf), ""));
	CHECK_STR(buf, "");
	CHECK(resolver_name_copy(buf, sizeof(buf), NULL));
	CHECK_STR(buf, "");
	/* An escaped dot belongs to the label. */
	CHECK(resolver_name_copy(buf, sizeof(buf), "a\\."));
	CHECK_STR(buf, "a\\.");
	CHECK(resolver_name_copy(buf, sizeof(buf), "a\\\\."));
	CHECK_STR(buf, "a\\\\");
	CHECK(resolver_name_copy(small, sizeof(small), "abc."));
	CHECK_STR(small, "abc");
	CHECK(!resolver_name_copy(small, sizeof(small), "abcd"));
	CHECK_STR(small, "");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!resolver_name_copy(buf, sizeof(buf), longname));
	CHECK(!resolver_name_copy(buf, 0, "a"));

	CHECK(resolver_name_eq("Example.ORG", "example.org."));
	CHECK(resolver_name_eq("a.", "A"));
	CHECK(!resolver_name_eq("example.org", "example.com"));
	CHECK(!resolver_name_eq("example.org", "example.or"));
	CHECK(!resolver_name_eq(NULL, "a"));
}

/* Deterministic "randomness" for the shuffle tests. */
static uint32_t
seq_rand(void *ctx)
{
	uint32_t *state = ctx;

	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

static struct resolver_mx_result mxres;

static void
test_mx_order(void)
{
	struct resolver_mx_in in[6];
	const char *hosts[6] = { "a.", "b.", "c.", "d.", "e.", "f." };
	const uint16_t prefs[6] = { 10, 20, 10, 5, 10, 20 };
	char seen[64][8];
	size_t nseen = 0, i, j, trial;
	uint32_t state;
	bool ok;

	/* No randomness: sorted, stable (server order within a pref). */
	for (i = 0; i < 6; i++) {
		in[i].pref = prefs[i];
		in[i].host = hosts[i];
	}
	resolver_mx_fill(&mxres, in, 6, NULL, NULL);
	CHECK_INT(mxres.n, 6);
	CHECK_INT(mxres.truncated, 0);
	CHECK(!mxres.null_mx);
	CHECK(!mxres.null_mx_mixed);
	CHECK_STR(mxres.mx[0].host, "d");
	CHECK_INT(mxres.mx[0].pref, 5);
	CHECK_STR(mxres.mx[1].host, "a");
	CHECK_STR(mxres.mx[2].host, "c");
	CHECK_STR(mxres.mx[3].host, "e");
	CHECK_STR(mxres.mx[4].host, "b");
	CHECK_STR(mxres.mx[5].host, "f");
	CHECK_INT(mxres.mx[5].pref, 20);

	/* With randomness: the preference order holds, each run is a
	 * permutation of its hosts, and several permutations show up. */
	state = 1;
	for (trial = 0; trial < 200; trial++) {
		char key[8];

		for (i = 0; i < 6; i++) {
			in[i].pref = prefs[i];
			in[i].host = hosts[i];
		}
		resolver_mx_fill(&mxres, in, 6, seq_rand, &state);
		ok = mxres.n == 6 && strcmp(mxres.mx[0].host, "d") == 0;
		for (i = 1; i < 4; i++)
			ok = ok && mxres.mx[i].pref == 10 &&
			    strchr("ace", mxres.mx[i].host[0]) != NULL;
		ok = ok && mxres.mx[1].host[0] != mxres.mx[2].host[0] &&
		    mxres.mx[2].host[0] != mxres.mx[3].host[0] &&
		    mxres.mx[1].host[0] != mxres.mx[3].host[0];
		for (i = 4; i < 6; i++)
			ok = ok && mxres.mx[i].pref == 20 &&
			    strchr("bf", mxres.mx[i].host[0]) != NULL;
		CHECK(ok);
		for (i = 0; i < 5; i++)
			key[i] = mxres.mx[i + 1].host[0];
		key[5] = '\0';
		for (j = 0; j < nseen; j++)
			if (strcmp(seen[j], key) == 0)
				break;
		if (j == nseen && nseen < 64)
			memcpy(seen[nseen++], key, sizeof(key));
	}
	/* 3! orders of the pref-10 run times 2 of the pref-20 run. */
	CHECK_INT(nseen, 12);
}

static void
test_mx_null_and_caps(void)
{
	struct resolver_mx_in in[40];
	char names[40][8], longname[300];
	size_t i;

	in[0].pref = 0;
	in[0].host = "";
	resolver_mx_fill(&mxres, in, 1, NULL, NULL);
	CHECK(mxres.null_mx);
	CHECK(!mxres.null_mx_mixed);
	CHECK_INT(mxres.n, 1);
	CHECK_STR(mxres.mx[0].host, "");

	in[0].pref = 0;
	in[0].host = ".";
	resolver_mx_fill(&mxres, in, 1, NULL, NULL);
	CHECK(mxres.null_mx);

	/* A lone "." at a non-zero preference is not RFC 7505's null MX. */
	in[0].pref = 10;
	in[0].host = "";
	resolver_mx_fill(&mxres, in, 1, NULL, NULL);
	CHECK(!mxres.null_mx);
	CHECK(!mxres.null_mx_mixed);

	in[0].pref = 0;
	in[0].host = "";
	in[1].pref = 10;
	in[1].host = "mx.example.org";
	resolver_mx_fill(&mxres, in, 2, NULL, NULL);
	CHECK(!mxres.null_mx);
	CHECK(mxres.null_mx_mixed);
	CHECK_INT(mxres.n, 2);

	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu", i);
		in[i].pref = (uint16_t)(40 - i);
		in[i].host = names[i];
	}
	resolver_mx_fill(&mxres, in, 40, NULL, NULL);
	CHECK_INT(mxres.n, RESOLVER_MAX_MX);
	CHECK_INT(mxres.truncated, 40 - RESOLVER_MAX_MX);
	CHECK_STR(mxres.mx[0].host, "m39");
	CHECK_INT(mxres.mx[0].pref, 1);
	CHECK_INT(mxres.mx[RESOLVER_MAX_MX - 1].pref, RESOLVER_MAX_MX);

	/* A name that does not fit is counted, not cut. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	in[0].pref = 10;
	in[0].host = longname;
	in[1].pref = 20;
	in[1].host = "ok.example";
	resolver_mx_fill(&mxres, in, 2, NULL, NULL);
	CHECK_INT(mxres.n, 1);
	CHECK_INT(mxres.truncated, 1);
	CHECK_STR(mxres.mx[0].host, "ok.example");

	resolver_mx_fill(&mxres, NULL, 0, NULL, NULL);
	CHECK_INT(mxres.n, 0);
}

/* A query for A of a.test answered with the CNAME records pairs[i]
 * (owner, target), through resolver_find_cname(). */
static int
cname_chain(const char *const pairs[][2], size_t n, char *out,
    size_t outlen)
{
	struct pkt p;
	size_t i;

	pkt_header(&p, 1, (unsigned)n);
	put_name(&p, "a.test");
	put16(&p, 1);
	put16(&p, 1);
	for (i = 0; i < n; i++)
		put_rr_name(&p, pairs[i][0], 5, pairs[i][1]);
	return resolver_find_cname(p.b, p.n, "a.test", out, outlen);
}

static void
test_cname(void)
{
	static const char *const loop_back[][2] = {
		{ "a.test", "b.test" }, { "b.test", "a.test" } };
	static const char *const loop_down[][2] = {
		{ "a.test", "b.test" }, { "b.test", "c.test" },
		{ "c.test", "b.test" } };
	static const char *const no_loop[][2] = {
		{ "a.test", "b.test" }, { "b.test", "c.test" },
		{ "c.test", "d.test" } };
	struct pkt p;
	char out[RESOLVER_NAME_MAX];
	size_t full, cut;
	int rc;

	/* alias.test CNAME mid.test; mid.test CNAME Host.Test; MX. */
	pkt_header(&p, 1, 3);
	put_name(&p, "alias.test");
	put16(&p, 15);
	put16(&p, 1);
	put_rr_name(&p, "alias.test", 5, "mid.test");
	put_rr_name(&p, "MID.test", 5, "Host.Test");
	put_rr_name(&p, "host.test", 15, "\x00\x0a" "mx.test");
	rc = resolver_find_cname(p.b, p.n, "Alias.Test", out, sizeof(out));
	CHECK_INT(rc, 1);
	CHECK_STR(out, "Host.Test");
	rc = resolver_find_cname(p.b, p.n, "other.test", out, sizeof(out));
	CHECK_INT(rc, 0);
	CHECK_STR(out, "");

	/* Every truncation of a good packet is rejected or harmless. */
	full = p.n;
	for (cut = 0; cut < full; cut++) {
		rc = resolver_find_cname(p.b, cut, "alias.test", out,
		    sizeof(out));
		CHECK(rc == -1 || rc == 0);
	}

	/* A CNAME loop back to the name asked is reported as a loop ... */
	CHECK_INT(cname_chain(loop_back, 2, out, sizeof(out)), 2);
	CHECK_STR(out, "a.test");
	/* ... and one further down the chain: a -> b -> c -> b. */
	CHECK_INT(cname_chain(loop_down, 3, out, sizeof(out)), 2);
	CHECK_STR(out, "b.test");
	/* A long chain without a loop is not one. */
	CHECK_INT(cname_chain(no_loop, 3, out, sizeof(out)), 1);
	CHECK_STR(out, "d.test");

	/* A compression pointer to itself in the question. */
	pkt_header(&p, 1, 0);
	put16(&p, 0xc00c);
	put16(&p, 1);
	put16(&p, 1);
	CHECK_INT(resolver_find_cname(p.b, p.n, "a.test", out, sizeof(out)),
	    -1);

	/* RDLENGTH past the end, and a huge ANCOUNT on a short packet. */
	pkt_header(&p, 1, 1);
	put_name(&p, "a.test");
	put16(&p, 1);
	put16(&p, 1);
	put_rr_name(&p, "a.test", 5, "b.test");
	p.b[p.n - 9] = 0xff;	/* RDLENGTH high byte */
	CHECK_INT(resolver_find_cname(p.b, p.n, "a.test", out, sizeof(out)),
	    -1);
	pkt_header(&p, 0, 0xffff);
	CHECK_INT(resolver_find_cname(p.b, p.n, "a.test", out, sizeof(out)),
	    -1);
	CHECK_INT(resolver_find_cname(NULL, 0, "a.test", out, sizeof(out)), -1);

	/* A CNAME target longer than RDLENGTH says is rejected. */
	pkt_header(&p, 1, 1);
	put_name(&p, "a.test");
	put16(&p, 1);
	put16(&p, 1);
	put_rr_name(&p, "a.test", 5, "b.test");
	p.b[p.n - 9] = 0;
	p.b[p.n - 8] = 2;	/* RDLENGTH 2 < len("b.test") */
	CHECK_INT(resolver_find_cname(p.b, p.n, "a.test", out, sizeof(out)),
	    -1);
}

/* An RR with raw RDATA. */
static void
put_rr_raw(struct pkt *p, const char *owner, unsigned type,
    const unsigned char *rd, size_t len)
{
	put_name(p, owner);
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	put16(p, (unsigned)len);
	memcpy(p->b + p->n, rd, len);
	p->n += len;
}

struct seen_rdata {
	size_t		n;
	size_t		len[4];
	unsigned char	first[4];
};

static void
note_rdata(const unsigned char *rd, size_t len, void *arg)
{
	struct seen_rdata *s = arg;

	if (s->n < 4) {
		s->len[s->n] = len;
		s->first[s->n] = len > 0 ? rd[0] : 0;
	}
	s->n++;
}

static void
test_wire_answers(void)
{
	static const unsigned char tlsa[35] = { 3, 1, 1, 0xab };
	static const unsigned char addr[4] = { 192, 0, 2, 1 };
	struct seen_rdata seen;
	struct pkt p;
	size_t full, cut;
	bool ad = false;
	int rc;

	/* The owner is an alias (RFC 7671 §7): its target's TLSA answers;
	 * a record of another type or owner does not; AD set. */
	pkt_header(&p, 1, 4);
	p.b[3] |= 0x20;
	put_name(&p, "_25._tcp.mx.test");
	put16(&p, 52);
	put16(&p, 1);
	put_rr_name(&p, "_25._tcp.mx.test", 5, "tlsa.other.test");
	put_rr_raw(&p, "tlsa.other.test", 52, tlsa, sizeof(tlsa));
	put_rr_raw(&p, "tlsa.other.test", 1, addr, sizeof(addr));
	put_rr_raw(&p, "elsewhere.test", 52, tlsa, sizeof(tlsa));
	memset(&seen, 0, sizeof(seen));
	rc = resolver_wire_answers(p.b, p.n, "_25._TCP.mx.test", 52,
	    note_rdata, &seen);
	CHECK_INT(rc, 1);
	CHECK_INT(seen.n, 1);
	CHECK_INT(seen.len[0], 35);
	CHECK_INT(seen.first[0], 3);
	CHECK_INT(resolver_wire_header(p.b, p.n, &ad), 0);
	CHECK(ad);
	p.b[3] = (unsigned char)((p.b[3] & ~0x20) | 3);	/* NXDOMAIN, no AD */
	CHECK_INT(resolver_wire_header(p.b, p.n, &ad), 3);
	CHECK(!ad);
	CHECK_INT(resolver_wire_header(p.b, 5, &ad), -1);

	/* Every truncation is rejected or yields at most the one record. */
	full = p.n;
	for (cut = 0; cut < full; cut++) {
		memset(&seen, 0, sizeof(seen));
		rc = resolver_wire_answers(p.b, cut, "_25._tcp.mx.test", 52,
		    note_rdata, &seen);
		CHECK(rc == -1 || rc <= 1);
	}
}

static void
test_ptr_name(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr sa;
	char buf[RESOLVER_NAME_MAX], small[16];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	CHECK_INT(resolver_ptr_name((struct sockaddr *)&sin, buf, sizeof(buf)),
	    0);
	CHECK_STR(buf, "1.2.0.192.in-addr.arpa");
	CHECK_INT(resolver_ptr_name((struct sockaddr *)&sin, small,
	    sizeof(small)), -1);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::567:89ab", &sin6.sin6_addr);
	CHECK_INT(resolver_ptr_name((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    0);
	/* RFC 3596 §2.5's own example, with 2001:db8:: in place. */
	CHECK_STR(buf, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "8.b.d.0.1.0.0.2.ip6.arpa");
	CHECK_INT(resolver_ptr_name((struct sockaddr *)&sin6, small,
	    sizeof(small)), -1);

	inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr);
	CHECK_INT(resolver_ptr_name((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    0);
	CHECK_STR(buf, "7.100.51.198.in-addr.arpa");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	CHECK_INT(resolver_ptr_name(&sa, buf, sizeof(buf)), -1);
	CHECK_INT(resolver_ptr_name(NULL, buf, sizeof(buf)), -1);
}

static void
test_addr_str(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char buf[64];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	CHECK_STR(resolver_addr_str((struct sockaddr *)&sin, buf, sizeof(buf)),
	    "192.0.2.1");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	CHECK_STR(resolver_addr_str((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    "2001:db8::1");
	CHECK_STR(resolver_addr_str((struct sockaddr *)&sin6, buf, 4), "");
	CHECK_STR(resolver_addr_str(NULL, buf, sizeof(buf)), "");
}

static void
test_servers(void)
{
	static const char *good[] = {
		"192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53", "::1",
		"[::1]", "2001:db8::53", "127.0.0.1:65535",
	};
	static const char *bad[] = {
		"", "foo", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536",
		"192.0.2.1:53x", "192.0.2", "[::1", "[::1]53", "[::1]:",
		"[192.0.2.1]:53", "2001:db8::1:53:", "1.2.3.4,5.6.7.8",
		"fe80::1%lo", "192.0.2.1:+53", "192.0.2.1:123456",
		"[]:53", "ns.example.org",
	};
	struct resolver_server s;
	char err[160];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		CHECK_INT(resolver_parse_server(good[i], &s, err, sizeof(err)),
		    0);
		if (err[0] != '\0')
			fprintf(stderr, "  %s: %s\n", good[i], err);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(resolver_parse_server(bad[i], &s, err, sizeof(err)),
		    -1);
		CHECK(strstr(err, "DNS server") != NULL);
	}
	CHECK_INT(resolver_parse_server(NULL, &s, err, sizeof(err)), -1);

	CHECK_INT(resolver_parse_server("192.0.2.1:5353", &s, err,
	    sizeof(err)), 0);
	CHECK_INT(s.family, AF_INET);
	CHECK_INT(s.port, 5353);
	CHECK_INT(s.addr[0], 192);
	CHECK_INT(s.addr[3], 1);
	CHECK_INT(resolver_parse_server("[2001:db8::1]:853", &s, err,
	    sizeof(err)), 0);
	CHECK_INT(s.family, AF_INET6);
	CHECK_INT(s.port, 853);
	CHECK_INT(s.addr[15], 1);
	CHECK_INT(resolver_parse_server("::1", &s, err, sizeof(err)), 0);
	CHECK_INT(s.family, AF_INET6);
	CHECK_INT(s.port, 53);
	CHECK_INT(resolver_parse_server("192.0.2.7", &s, err, sizeof(err)), 0);
	CHECK_INT(s.port, 53);

	CHECK_INT(resolver_parse_server("nonsense", &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "\"nonsense\"") != NULL);
}

static void
test_combine(void)
{
	const enum resolver_status OK = RESOLVER_OK, ND = RESOLVER_NODATA,
	    NX = RESOLVER_NXDOMAIN, SF = RESOLVER_SERVFAIL,
	    TO = RESOLVER_TIMEOUT, BR = RESOLVER_BADRESP;

	CHECK_INT(resolver_addr_combine(true, OK, true, TO, 1), OK);
	CHECK_INT(resolver_addr_combine(true, SF, true, OK, 2), OK);
	CHECK_INT(resolver_addr_combine(true, ND, true, ND, 0), ND);
	CHECK_INT(resolver_addr_combine(true, NX, true, NX, 0), NX);
	CHECK_INT(resolver_addr_combine(true, NX, true, TO, 0), NX);
	CHECK_INT(resolver_addr_combine(true, ND, true, NX, 0), NX);
	/* A temporary failure beats NODATA: "could not check". */
	CHECK_INT(resolver_addr_combine(true, ND, true, TO, 0), TO);
	CHECK_INT(resolver_addr_combine(true, SF, true, ND, 0), SF);
	CHECK_INT(resolver_addr_combine(true, SF, true, TO, 0), SF);
	CHECK_INT(resolver_addr_combine(true, ND, true, BR, 0), BR);
	CHECK_INT(resolver_addr_combine(true, BR, true, TO, 0), TO);
	/* One family only: the other does not take part. */
	CHECK_INT(resolver_addr_combine(false, TO, true, ND, 0), ND);
	CHECK_INT(resolver_addr_combine(true, NX, false, ND, 0), NX);
	CHECK_INT(resolver_addr_combine(false, NX, true, TO, 0), TO);
}

static void
test_new(void)
{
	struct event_base *base;
	struct resolver_config cfg;
	struct resolver *r;
	char err[200];

	base = event_base_new();
	CHECK(base != NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.servers[0] = "127.0.0.1:5353";
	cfg.servers[1] = "[::1]:53";
	cfg.servers[2] = "192.0.2.1";
	cfg.nservers = 3;
	r = resolver_new(base, &cfg, err, sizeof(err));
	CHECK(r != NULL);
	resolver_free(r);

	cfg.servers[1] = "localhost:53";
	r = resolver_new(base, &cfg, err, sizeof(err));
	CHECK(r == NULL);
	CHECK(strstr(err, "\"localhost:53\"") != NULL);

	cfg.nservers = RESOLVER_MAX_SERVERS + 1;
	CHECK(resolver_new(base, &cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "at most") != NULL);

	memset(&cfg, 0, sizeof(cfg));
	cfg.timeout_ms = -1;
	CHECK(resolver_new(base, &cfg, err, sizeof(err)) == NULL);
	cfg.timeout_ms = 0;
	cfg.tries = 1000;
	CHECK(resolver_new(base, &cfg, err, sizeof(err)) == NULL);

	CHECK(resolver_new(NULL, NULL, err, sizeof(err)) == NULL);
	/* No servers and NULL config: the system's resolv.conf. */
	r = resolver_new(base, NULL, NULL, 0);
	CHECK(r != NULL);
	resolver_free(r);
	resolver_free(NULL);

	event_base_free(base);
}

int
main(void)
{
	test_status();
	test_names();
	test_mx_order();
	test_mx_null_and_caps();
	test_cname();
	test_wire_answers();
	test_ptr_name();
	test_addr_str();
	test_servers();
	test_combine();
	test_new();
	return check_report("test_resolver");
}
