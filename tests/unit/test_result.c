/*
 * test_result.c — struct probe_result holds what it recorded: the arrays
 * grow on first use up to the limits of limits.h (a full one counts what
 * it drops), what a connection produces (capabilities, TLS facts, client
 * audit, error texts) is allocated when recorded and read as empty
 * before, result_clear() frees them, result_copy_shared() copies them
 * deeply; and the tables behind finding ids, reasons and categories.
 *
 * Prints the size of an idle result and the heap a typical finished one
 * uses (docs/BENCHMARKS.md, "Memory of one result").
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "result.h"

/* Bytes allocated, large blocks (mmap) included. */
static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A reply parsed from lines joined by '\n'. */
static struct reply *
reply_of(const char *text)
{
	struct reply_parser p;
	struct reply *out = NULL;
	const char *s = text, *eol;
	enum reply_status st = REPLY_MORE;

	reply_parser_init(&p);
	while (st == REPLY_MORE && *s != '\0') {
		eol = strchr(s, '\n');
		if (eol == NULL)
			eol = s + strlen(s);
		st = reply_parser_line(&p, s, (size_t)(eol - s), true, &out);
		s = *eol != '\0' ? eol + 1 : eol;
	}
	CHECK_INT(st, REPLY_DONE);
	return out;
}

static void
add(struct probe_result *r, enum stage st, int cmd, const char *command,
    const char *text)
{
	char line[256];
	struct reply *rp = reply_of(text);

	if (rp == NULL)
		return;
	CHECK(result_add_reply(r, st, cmd, command, rp, 1.0) != NULL);
	snprintf(line, sizeof(line), "%s", text);
	result_transcript(r, 'r', line, strlen(line));
}

/* What a connection produces besides its replies: the capabilities of
 * the EHLO reply, the TLS facts, the client audit with its reverse DNS. */
static void
connection_facts(struct probe_result *r)
{
	struct ehlo_caps *caps = result_caps(r);
	struct tlsconn_info *tls = result_tls(r);
	struct ident_client *c = result_client(r);

	CHECK(caps != NULL && tls != NULL && c != NULL);
	if (caps == NULL || tls == NULL || c == NULL)
		return;
	ehlo_parse(r->stages[STAGE_EHLO].replies[0].reply, caps);
	r->tls_done = true;
	snprintf(tls->version, sizeof(tls->version), "TLSv1.3");
	snprintf(tls->subject, sizeof(tls->subject), "CN=mx1.example.test");
	snprintf(c->helo, sizeof(c->helo), "probe.example.test");
	snprintf(c->local_ip, sizeof(c->local_ip), "192.0.2.9");
	if ((c->local_rdns = calloc(1, sizeof(*c->local_rdns))) != NULL) {
		snprintf(c->local_rdns->ip, sizeof(c->local_rdns->ip),
		    "192.0.2.9");
		c->local_rdns->asked = true;
	}
}

/* What a probe of a deliverable address at a two-MX domain records. */
static void
typical(struct probe_result *r)
{
	struct mx_info *m;
	struct attempt *a;
	int i;

	r->dns_done = true;
	for (i = 0; i < 2; i++) {
		m = result_add_mx(r);
		CHECK(m != NULL);
		if (m == NULL)
			return;
		m->pref = (unsigned)(10 * (i + 1));
		snprintf(m->host, sizeof(m->host), "mx%d.example.test", i + 1);
		snprintf(m->addrs[m->naddrs++], sizeof(m->addrs[0]),
		    "192.0.2.%d", i + 1);
		snprintf(m->addrs[m->naddrs++], sizeof(m->addrs[0]),
		    "2001:db8::%d", i + 1);
	}
	a = result_add_attempt(r);
	CHECK(a != NULL);
	if (a != NULL)
		snprintf(a->outcome, sizeof(a->outcome), "answered");
	add(r, STAGE_GREETING, CODES_CMD_GREETING, NULL,
	    "220 mx1.example.test ESMTP");
	add(r, STAGE_EHLO, CODES_CMD_EHLO, "EHLO probe.example.test",
	    "250-mx1.example.test\n250-PIPELINING\n250-SIZE 10240000\n"
	    "250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n"
	    "250 SMTPUTF8");
	add(r, STAGE_MAIL, CODES_CMD_MAIL, "MAIL FROM:<>", "250 2.1.0 Ok");
	add(r, STAGE_RCPT, CODES_CMD_RCPT, "RCPT TO:<user@example.test>",
	    "250 2.1.5 Ok");
	add(r, STAGE_QUIT, CODES_CMD_QUIT, "QUIT", "221 2.0.0 Bye");
	connection_facts(r);
	result_finding(r, FINDING_TLS_CERT_UNTRUSTED, STAGE_TLS, NULL,
	    "the certificate does not chain");
	result_finding(r, FINDING_IDENTITY_BANNER_MISMATCH, STAGE_GREETING,
	    "mx1.example.test", "the greeting names another host");
	expl_set(&r->stages[STAGE_TLS].expl, DIAG_CAT_TLS_CERTIFICATE,
	    CODES_BLAME_SERVER, CODES_SUCCESS, "The certificate is not "
	    "trusted.", "A self-signed certificate.", "Nothing to do.");
	r->verdict = VERDICT_DELIVERABLE;
	r->reason = REASON_ACCEPTED;
}

static void
test_sizes(void)
{
	struct probe_result *r;
	size_t before, heap;

	printf("sizeof(struct probe_result) = %zu bytes\n",
	    sizeof(struct probe_result));
	/* An idle result costs a few KiB, not the sum of its limits. */
	CHECK(sizeof(struct probe_result) < 8 * 1024);

	before = heap_used();
	r = malloc(sizeof(*r));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	result_init(r, "user@example.test");
	typical(r);
	heap = heap_used() - before;
	printf("a typical finished result: %zu bytes (%zu in the struct, "
	    "%zu in its arrays, replies and transcript)\n", heap,
	    sizeof(*r), heap - sizeof(*r));
	result_clear(r);
	free(r);
}

static void
test_limits(void)
{
	struct probe_result r;
	int i;

	result_init(&r, "user@example.test");
	CHECK(r.findings == NULL && r.mx == NULL && r.attempts == NULL);
	CHECK(r.caps == NULL && r.tls == NULL && r.ident.client == NULL);
	for (i = 0; i < LIMIT_FINDINGS + 6; i++)
		result_finding(&r, FINDING_REPLY_BARE_LF, STAGE_EHLO, NULL,
		    "finding %d", i);
	CHECK_INT(r.nfindings, LIMIT_FINDINGS);
	CHECK_INT(r.findings_dropped, 6);
	CHECK_STR(r.findings[LIMIT_FINDINGS - 1].message, "finding 63");
	for (i = 0; i < LIMIT_STAGE_REPLIES + 1; i++) {
		struct reply *rp = reply_of("250 ok");

		CHECK((result_add_reply(&r, STAGE_EHLO, CODES_CMD_EHLO, "NOOP",
		    rp, 1.0) != NULL) == (i < LIMIT_STAGE_REPLIES));
	}
	CHECK_INT(r.stages[STAGE_EHLO].nreplies, LIMIT_STAGE_REPLIES);
	CHECK_INT(r.stages[STAGE_EHLO].replies_dropped, 1);
	CHECK(!r.local_error);
	for (i = 0; i < RESOLVER_MAX_MX; i++)
		CHECK(result_add_mx(&r) != NULL);
	CHECK(result_add_mx(&r) == NULL);
	CHECK_INT(r.nmx, RESOLVER_MAX_MX);
	for (i = 0; i < LIMIT_ATTEMPT_RECORDS; i++)
		CHECK(result_add_attempt(&r) != NULL);
	CHECK(result_add_attempt(&r) == NULL);
	CHECK_INT(r.nomem_dropped, 0);
	/* A new session forgets the per-connection stages. */
	result_reset_session(&r);
	CHECK_INT(r.stages[STAGE_EHLO].nreplies, 0);
	CHECK(r.stages[STAGE_EHLO].replies == NULL);
	result_clear(&r);
	CHECK(r.findings == NULL && r.nfindings == 0 && r.nmx == 0);
}

/* Nothing recorded reads as the zeroed record; what is recorded is
 * allocated then, kept to its size, and freed. */
static void
test_on_demand(void)
{
	struct probe_result r;
	char long_text[STAGE_ERROR_MAX + 100];

	result_init(&r, "user@example.test");
	CHECK(!result_tls_info(&r)->verified);
	CHECK_STR(result_tls_info(&r)->version, "");
	CHECK_STR(identity_client(&r.ident)->helo, "");
	CHECK(identity_client_rdns(&r.ident) == NULL);
	CHECK(identity_client_ip(&r.ident) == NULL);
	CHECK_STR(stage_error(&r.stages[STAGE_CONNECT]), "");
	CHECK(result_tls(&r) != NULL && result_tls(&r) == r.tls);
	CHECK(result_caps(&r) != NULL && result_caps(&r) == r.caps);
	CHECK(result_client(&r) != NULL && r.ident.client != NULL);
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	result_stage_error(&r, STAGE_CONNECT, "%s", long_text);
	CHECK_INT(strlen(stage_error(&r.stages[STAGE_CONNECT])),
	    STAGE_ERROR_MAX - 1);
	/* Its own text given back. */
	result_stage_error(&r, STAGE_CONNECT, "%.3s: %s", "abcdef",
	    r.stages[STAGE_CONNECT].error + STAGE_ERROR_MAX - 3);
	CHECK_STR(stage_error(&r.stages[STAGE_CONNECT]), "abc: xx");
	/* A new session forgets the connection's facts. */
	result_reset_session(&r);
	CHECK(r.caps == NULL && r.tls == NULL);
	CHECK(r.stages[STAGE_CONNECT].error == NULL);
	CHECK(r.ident.client != NULL);	/* the probe's, not the session's */
	CHECK(!r.local_error);
	result_clear(&r);
	CHECK(r.ident.client == NULL);
}

static void
test_copy_shared(void)
{
	struct probe_result src, dst;

	result_init(&src, "first@example.test");
	typical(&src);
	result_finding(&src, FINDING_RCPT_REJECTED, STAGE_RCPT, NULL, "x");
	result_stage_error(&src, STAGE_QUIT, "closed early");
	result_init(&dst, "second@example.test");
	result_copy_shared(&dst, &src);
	/* Nothing is shared: src may go first. */
	result_clear(&src);
	CHECK_STR(dst.input, "second@example.test");
	CHECK_INT(dst.nmx, 2);
	CHECK_STR(dst.mx[1].addrs[1], "2001:db8::2");
	CHECK_INT(dst.nattempts, 1);
	CHECK_INT(dst.nfindings, 2);	/* not the RCPT one */
	CHECK(!result_has_finding(&dst, FINDING_RCPT_REJECTED));
	CHECK(result_has_finding(&dst, FINDING_TLS_CERT_UNTRUSTED));
	CHECK_INT(dst.stages[STAGE_RCPT].nreplies, 0);
	CHECK_INT(dst.stages[STAGE_EHLO].nreplies, 1);
	CHECK_INT(dst.stages[STAGE_EHLO].replies[0].reply->nlines, 7);
	CHECK(dst.stages[STAGE_TLS].expl.present);
	CHECK_STR(dst.stages[STAGE_TLS].expl.cause,
	    "A self-signed certificate.");
	CHECK_INT(dst.reason, REASON_NONE);
	CHECK_INT(dst.ntranscript, 5);
	CHECK(dst.caps != NULL && dst.caps->pipelining);
	CHECK(dst.tls != NULL && dst.tls_done);
	CHECK_STR(result_tls_info(&dst)->subject, "CN=mx1.example.test");
	CHECK_STR(identity_client(&dst.ident)->helo, "probe.example.test");
	CHECK(identity_client_rdns(&dst.ident) != NULL);
	CHECK_STR(identity_client_rdns(&dst.ident)->ip, "192.0.2.9");
	CHECK_STR(stage_error(&dst.stages[STAGE_QUIT]), "closed early");
	result_clear(&dst);
}

static void
test_explanation(void)
{
	struct explanation e;
	char long_text[EXPL_TEXT_MAX + 100];

	memset(&e, 0, sizeof(e));
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	expl_set(&e, CODES_CAT_USER_UNKNOWN, CODES_BLAME_RECIPIENT_ADDRESS,
	    CODES_PERMANENT, "meaning", long_text, "");
	CHECK_INT(strlen(e.cause), EXPL_TEXT_MAX - 1);
	CHECK_STR(e.action, "");
	/* Its own texts given back: the new ones are made first. */
	expl_set(&e, e.category, e.blame, e.permanence, e.meaning, "cause",
	    e.meaning);
	CHECK_STR(e.meaning, "meaning");
	CHECK_STR(e.cause, "cause");
	CHECK_STR(e.action, "meaning");
	CHECK_STR(expl_category_name(e.category), "user_unknown");
	CHECK_STR(expl_category_name(DIAG_CAT_CONNECT_TIMEOUT),
	    "connect_timeout");
	CHECK_STR(expl_category_name(DIAG_CAT_END), "unknown");
	free(e.text);
}

static void
test_tables(void)
{
	CHECK_STR(finding_name(FINDING_TLS_CERT_EXPIRED), "tls.cert_expired");
	CHECK_INT(finding_severity(FINDING_RCPT_REJECTED), SEV_ERROR);
	CHECK_STR(finding_ref(FINDING_DNS_NULL_MX), "RFC 7505");
	CHECK(finding_ref(FINDING_CONNECT_FAILED) == NULL);
	CHECK(finding_stages(FINDING_EHLO_REJECTED) ==
	    (FINDING_STAGE_BIT(STAGE_EHLO) | FINDING_STAGE_BIT(STAGE_TLS)));
	CHECK(finding_stages(FINDING_SESSION_TIMEOUT) == FINDING_ANY_STAGE);
	CHECK_STR(finding_name(FINDING_COUNT), "unknown");
	CHECK_STR(reason_name(REASON_NONE), "");
	CHECK_STR(reason_name(REASON_USER_UNKNOWN), "user_unknown");
	CHECK_STR(reason_name(REASON_COUNT), "unknown");
}

int
main(void)
{
	test_sizes();
	test_limits();
	test_on_demand();
	test_copy_shared();
	test_explanation();
	test_tables();
	return check_report("test_result");
}
