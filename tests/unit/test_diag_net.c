/*
 * test_diag_net.c — diag.c's judgements about the network between the
 * probe and the servers: when every connection failed (port 25 blocked),
 * the statement about it, and when two servers' greetings betray an
 * interceptor rather than one provider.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"

static struct probe_result *
result_with(const char *const outcomes[], size_t n)
{
	struct probe_result *r = malloc(sizeof(*r));
	size_t i;

	if (r == NULL)
		abort();
	result_init(r, "user@example.test");
	r->stages[STAGE_DNS].status = STATUS_OK;
	for (i = 0; i < n; i++) {
		struct attempt *a = result_add_attempt(r);

		if (a == NULL)
			abort();
		snprintf(a->ip, sizeof(a->ip), "192.0.2.%zu", i + 1);
		a->port = 25;
		snprintf(a->outcome, sizeof(a->outcome), "%s", outcomes[i]);
	}
	return r;
}

static void
release(struct probe_result *r)
{
	result_clear(r);
	free(r);
}

static void
test_connect_all_failed(void)
{
	static const char *const failed[] = {
		"connect_timeout", "connect_failed", "skipped_stalled"
	};
	static const char *const one_greeted[] = {
		"connect_timeout", "answered"
	};
	struct probe_result *r;
	size_t n = 99;

	r = result_with(failed, 3);
	CHECK(diag_connect_all_failed(r, &n));
	CHECK_INT(n, 3);
	/* A proxy's rules refusing port 25 are not the network. */
	CHECK(result_use_proxy(r, "socks5://proxy.example.test:1080", false));
	r->proxy->reply = 2;
	CHECK(!diag_connect_all_failed(r, &n));
	r->proxy->reply = 4;
	CHECK(diag_connect_all_failed(r, &n));
	/* DNS did not work: nothing is known about port 25. */
	r->stages[STAGE_DNS].status = STATUS_FAIL;
	CHECK(!diag_connect_all_failed(r, &n));
	release(r);

	r = result_with(one_greeted, 2);
	CHECK(!diag_connect_all_failed(r, &n));
	release(r);
	r = result_with(NULL, 0);
	CHECK(!diag_connect_all_failed(r, &n));
	CHECK_INT(n, 0);
	release(r);
}

static void
test_port_blocked_text(void)
{
	char buf[512];

	diag_port_blocked_text(buf, sizeof(buf), 25, false, 4, 3);
	CHECK(strncmp(buf, "outbound port 25 appears to be blocked from this "
	    "host: 4 servers of 3 domains did not answer; this is usual on "
	    "cloud and home networks. What to do: ", 120) == 0);
	CHECK(strstr(buf, "--proxy") != NULL);
	CHECK(strstr(buf, "one domain alone") == NULL);
	diag_port_blocked_text(buf, sizeof(buf), 25, false, 1, 1);
	CHECK(strstr(buf, "1 server of 1 domain did not answer") != NULL);
	CHECK(strstr(buf, "one domain alone cannot tell") != NULL);
	diag_port_blocked_text(buf, sizeof(buf), 587, true, 2, 2);
	CHECK(strstr(buf, "port 587 appears to be blocked from the proxy") !=
	    NULL);
	diag_port_blocked_text(buf, 16, 25, false, 1, 1);
	CHECK_INT(strlen(buf), 15);
}

static struct greeter
greeter(const char *domain, const char *mx, const char *ip,
    const char *banner, const char *ptr)
{
	struct greeter g;

	memset(&g, 0, sizeof(g));
	snprintf(g.domain, sizeof(g.domain), "%s", domain);
	snprintf(g.mx, sizeof(g.mx), "%s", mx);
	snprintf(g.ip, sizeof(g.ip), "%s", ip);
	snprintf(g.banner, sizeof(g.banner), "%s", banner);
	snprintf(g.ptr, sizeof(g.ptr), "%s", ptr);
	return g;
}

static void
test_intercepted_pair(void)
{
	struct greeter a = greeter("alpha.test", "mx.alpha.test", "192.0.2.1",
	    "smtp.isp.test", "mx.alpha.test");
	struct greeter b = greeter("bravo.test", "mx.bravo.test", "192.0.2.2",
	    "smtp.isp.test", "mx.bravo.test");
	struct greeter c;
	char text[600];

	CHECK(diag_intercepted_pair(&a, &b));
	CHECK(diag_intercepted_pair(&b, &a));
	diag_intercepted_text(text, sizeof(text), &a, &b);
	CHECK(strstr(text, "both greet as smtp.isp.test, which is neither's "
	    "reverse DNS name (mx.alpha.test, mx.bravo.test)") != NULL);

	/* One address, or one MX name: one server. */
	c = b;
	snprintf(c.ip, sizeof(c.ip), "%s", a.ip);
	CHECK(!diag_intercepted_pair(&a, &c));
	c = b;
	snprintf(c.mx, sizeof(c.mx), "%s", a.mx);
	CHECK(!diag_intercepted_pair(&a, &c));
	/* Other greeting names. */
	c = b;
	snprintf(c.banner, sizeof(c.banner), "smtp2.isp.test");
	CHECK(!diag_intercepted_pair(&a, &c));
	/* The greeting name is a PTR name, or a PTR is unknown: nothing
	 * proven. */
	c = b;
	c.banner_is_ptr = true;
	CHECK(!diag_intercepted_pair(&a, &c));
	c = b;
	c.ptr[0] = '\0';
	CHECK(!diag_intercepted_pair(&a, &c));
	/* One provider: its greeting name shares a parent domain with the
	 * MX names (every Google MX greets as mx.google.com). */
	a = greeter("alpha.test", "aspmx.provider.test", "192.0.2.1",
	    "mx.provider.test", "in-f1.provider-net.test");
	b = greeter("bravo.test", "alt1.aspmx.provider.test", "192.0.2.2",
	    "mx.provider.test", "in-f2.provider-net.test");
	CHECK(!diag_intercepted_pair(&a, &b));
	/* Two MX names under one parent domain: related. */
	a = greeter("alpha.test", "mx1.hosting.test", "192.0.2.1",
	    "gw.isp.test", "a.example.test");
	b = greeter("bravo.test", "mx2.hosting.test", "192.0.2.2",
	    "gw.isp.test", "b.other.test");
	CHECK(!diag_intercepted_pair(&a, &b));
	/* Not a host name: a server that names nothing proves nothing. */
	a = greeter("alpha.test", "mx.alpha.test", "192.0.2.1", "ESMTP",
	    "mx.alpha.test");
	b = greeter("bravo.test", "mx.bravo.test", "192.0.2.2", "ESMTP",
	    "mx.bravo.test");
	CHECK(!diag_intercepted_pair(&a, &b));
}

int
main(void)
{
	test_connect_all_failed();
	test_port_blocked_text();
	test_intercepted_pair();
	return check_report("test_diag_net");
}
