/*
 * fuzz_resolver.c — the resolver's pure parsing (resolver/
 * resolver_internal.h) on a raw DNS answer, as the MX callback sees it:
 * the CNAME chain of the queried name (resolver_find_cname, which walks
 * the packet itself), then c-ares' MX parser and resolver_mx_fill (order,
 * shuffle, null MX), and the TLSA and TXT walk (resolver_wire_answers,
 * resolver_wire_header).  The queried name is the question's own name
 * when the packet has one, else a fixed one.  The same bytes, as a C
 * string, go through the --dns-server parser.
 */
#include <netinet/in.h>
#include <string.h>

#include <ares.h>

#include "fuzz.h"
#include "resolver_internal.h"

/* A fixed sequence instead of the resolver's random one. */
static uint32_t
fixed_rand(void *ctx)
{
	uint32_t *x = ctx;

	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

static void
mx(const uint8_t *data, size_t size, const char *qname)
{
	static struct resolver_mx_result res;
	struct ares_mx_reply *list = NULL, *m;
	struct resolver_mx_in *in;
	char cname[RESOLVER_NAME_MAX];
	size_t n, i;
	uint32_t seed = 1;
	int rc;

	rc = resolver_find_cname(data, size, qname, cname, sizeof(cname));
	FUZZ_ASSERT(rc >= -1 && rc <= 2);
	FUZZ_ASSERT(memchr(cname, '\0', sizeof(cname)) != NULL);
	if (rc <= 0)
		FUZZ_ASSERT(cname[0] == '\0');
	/* c-ares takes an int length; DNS messages are at most 65535. */
	if (size > 65535 || ares_parse_mx_reply(data, (int)size, &list) !=
	    ARES_SUCCESS)
		return;
	for (n = 0, m = list; m != NULL; m = m->next)
		n++;
	if ((in = calloc(n > 0 ? n : 1, sizeof(*in))) == NULL)
		abort();
	for (i = 0, m = list; m != NULL; m = m->next, i++) {
		in[i].pref = m->priority;
		in[i].host = m->host;
	}
	memset(&res, 0, sizeof(res));
	resolver_mx_fill(&res, in, n, (n & 1) ? fixed_rand : NULL, &seed);
	FUZZ_ASSERT(res.n <= RESOLVER_MAX_MX);
	FUZZ_ASSERT(res.n + res.truncated == n);
	for (i = 0; i < res.n; i++) {
		FUZZ_ASSERT(memchr(res.mx[i].host, '\0',
		    sizeof(res.mx[i].host)) != NULL);
		if (i > 0)
			FUZZ_ASSERT(res.mx[i - 1].pref <= res.mx[i].pref);
	}
	FUZZ_ASSERT(!(res.null_mx && res.null_mx_mixed));
	free(in);
	ares_free_data(list);
}

/* Every RDATA handed out lies inside the packet. */
struct span {
	const uint8_t	*data;
	size_t		 size;
	size_t		 n;
};

static void
in_packet(const unsigned char *rd, size_t len, void *arg)
{
	struct span *sp = arg;

	FUZZ_ASSERT(rd >= sp->data && len <= sp->size &&
	    (size_t)(rd - sp->data) <= sp->size - len);
	sp->n++;
}

static void
wire(const uint8_t *data, size_t size, const char *qname)
{
	static const unsigned types[] = { 52, 16, 15 };
	struct span sp = { data, size, 0 };
	size_t i;
	bool ad;
	int rc;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		sp.n = 0;
		rc = resolver_wire_answers(data, size, qname, types[i],
		    in_packet, &sp);
		FUZZ_ASSERT(rc == -1 || (size_t)rc == sp.n);
	}
	rc = resolver_wire_header(data, size, &ad);
	FUZZ_ASSERT(rc >= -1 && rc <= 15);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolver_server srv;
	struct sockaddr_in6 sin6;
	char err[256], qname[RESOLVER_NAME_MAX], ptr[128], *s, *name = NULL;
	long enclen = 0;

	/* The name in the question section (offset 12), if there is one. */
	strcpy(qname, "example.test");
	if (size > 12 && ares_expand_name(data + 12, data, (int)(size > 65535 ?
	    65535 : size), &name, &enclen) == ARES_SUCCESS) {
		(void)resolver_name_copy(qname, sizeof(qname), name);
		ares_free_string(name);
	}
	mx(data, size, qname);
	mx(data, size, "example.test");
	wire(data, size, qname);

	s = fuzz_strndup(data, size, 512);
	err[0] = '\0';
	if (resolver_parse_server(s, &srv, err, sizeof(err)) == 0)
		FUZZ_ASSERT((srv.family == AF_INET || srv.family == AF_INET6) &&
		    srv.port != 0);
	else
		FUZZ_ASSERT(err[0] != '\0');
	(void)resolver_name_eq(s, qname);
	free(s);

	/* The reverse name of any 16 bytes as an IPv6 address. */
	if (size >= 16) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, data, 16);
		FUZZ_ASSERT(resolver_ptr_name((struct sockaddr *)&sin6, ptr,
		    sizeof(ptr)) == 0);
		FUZZ_ASSERT(strlen(ptr) < sizeof(ptr));
	}
	return 0;
}
